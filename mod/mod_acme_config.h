/* mod_acme_config.h: mod_acme's configuration (directives: mod_acme(8), README "Directives") and the runtime state shared by its parts. */
#ifndef MOD_ACME_CONFIG_H
#define MOD_ACME_CONFIG_H

#include <httpd.h>
#include <http_config.h>
#include <apr_hash.h>
#include <apr_thread_proc.h>
#include <sys/types.h>

#include "acme_domain.h"
#include "acme_key.h"
#include "acme_log.h"
#include "acme_store.h"

#define AM_UNSET (-1)

/* The per-domain settings, allowed at server level and inside <ACMEDomainSet>
 * (context S, D); one domain's effective value falls back to the server's. */
typedef struct am_domain_settings_t {
    apr_array_header_t *ca_urls;        /* const char*; NULL: unset */
    const char *contact_email;
    int tos_agreed;                     /* AM_UNSET, 0, 1 */
    int eab_set;
    const char *eab_kid;                /* NULL with eab_set: explicitly "none" */
    const char *eab_hmac;
    apr_array_header_t *challenges;     /* const char*; NULL: all this server can answer */
    const char *dns_command;
    apr_array_header_t *key_types;      /* acme_key_type_e */
    int renew_set;
    int renew_pct;
    apr_interval_time_t renew_window;
    const char *profile;
    int profile_mandatory;
    int renew_via_ari;                  /* AM_UNSET, 0, 1 */
    int warn_set;
    int warn_pct;
    apr_interval_time_t warn_window;
    int require_https;                  /* AM_UNSET or am_require_https_e */
    int dns_propagation_set;
    apr_interval_time_t dns_propagation;
    const char *dns_resolver;
    const char *preferred_chain;
} am_domain_settings_t;

/* ACMERequireHttps */
typedef enum { AM_HTTPS_OFF = 0, AM_HTTPS_TEMPORARY, AM_HTTPS_PERMANENT } am_require_https_e;

/* One ACMEDomain / <ACMEDomainSet> as written: its names and own settings. */
typedef struct am_domain_conf_t {
    apr_array_header_t *names;          /* const char*, lower-cased; empty: the vhost's names */
    server_rec *vhost;                  /* declared inside this <VirtualHost>, else NULL */
    const char *where;                  /* "file:line" for messages */
    const ap_directive_t *directive;    /* its place in the configuration tree */
    am_domain_settings_t dc;
} am_domain_conf_t;

typedef enum { AM_ACT_AUTO = 0, AM_ACT_MANUAL, AM_ACT_WINDOW } am_activation_e;

struct am_runtime_t;

/* Per-server configuration; the global (S) settings are read from the main server's. */
typedef struct am_sconf_t {
    am_domain_settings_t dc;
    const char *ca_file;
    int account_key_type;               /* acme_key_type_e or AM_UNSET */
    int activation;                     /* am_activation_e or AM_UNSET */
    int win_start, win_end;             /* minutes after local midnight */
    const char *notify_cmd;
    const char *store_dir;
    const char *store_url;              /* "file" or "redis://..." */
    const char *store_key_file;         /* ACMEStoreKeyFile */
    apr_interval_time_t fleet_check_interval;   /* ACMEFleetCheckInterval; 0: unset */
    apr_interval_time_t fleet_lock_ttl;         /* ACMEFleetLockTTL; 0: unset */
    apr_interval_time_t check_interval; /* 0: unset */
    apr_interval_time_t retry_delay;
    apr_interval_time_t hook_timeout;   /* ACMEHookTimeout; 0: unset */
    int max_parallel;
    int port_http, port_https;          /* where the CA's 80 / 443 arrive; 0: identity */
    const char *http_proxy;
    int watch_static;                   /* ACMEWatchStatic: AM_UNSET, 0, 1 */

    apr_array_header_t *sets;           /* am_domain_conf_t*, declared in this server */
    am_domain_conf_t *cur_set;               /* while parsing <ACMEDomainSet> */

    /* Filled at post_config (parent), read-only in children. */
    struct am_runtime_t *rt;
    struct am_mdomain_t *md;          /* the managed domain this vhost serves */
    int serve_tls_alpn;                 /* propose acme-tls/1 on this vhost */
    int fallback;                       /* SSL vhost on the fallback certificate: answer 503 */
    int ssl_seen;                       /* mod_ssl asked for this vhost's certificates */
    int static_cert;                    /* vhost has its own SSLCertificateFile */
    int require_https;                  /* some name of this vhost is on an ACMERequireHttps
                                         * domain with a certificate: look closer per request */
} am_sconf_t;

/* A managed domain at runtime. */
typedef struct am_mdomain_t {
    acme_domain_t *d;
    const am_domain_conf_t *set;
    int require_https;                  /* am_require_https_e */
    int ssl_vhosts;                     /* SSL vhosts using it (counted during mod_ssl init) */
    /* Found in the store by this config pass's post_config, for mod_ssl's
     * hooks right after it: active pairs, else the fallback certificate. */
    apr_array_header_t *cert_files, *key_files;     /* const char*; NULL: none */
    const char *fallback_cert;
} am_mdomain_t;

struct am_wd_t;

/* The module's runtime: everything built at post_config (store, domains,
 * logger, activation), allocated from pconf. */
typedef struct am_runtime_t {
    server_rec *s;                      /* main server */
    apr_pool_t *pool;                   /* pconf */
    const am_sconf_t *g;              /* main server's configuration */
    acme_logger_t log;
    acme_store_t *store;
    const char *store_dir;
    apr_array_header_t *managed;        /* am_mdomain_t*: the module's record of each ACMEDomain */
    apr_array_header_t *domains;        /* acme_domain_t*: the core domain of managed[i] */
    apr_hash_t *by_name;                /* lower-cased exact name -> am_mdomain_t* */
    int can_http01, can_tlsalpn01;      /* a listener exists on the mapped port */
    int startup;                        /* the real (second) config pass, not the dry run */
    /* fallback certificate material */
    const char *fallback_key_path;
    /* activation: pipe from the drives (children) to the watcher, a helper
     * run as the User whose exit makes the parent look (mod_acme_activate.c) */
    int wake_rfd, wake_wfd;             /* -1: none; both close-on-exec */
    const char *wake_helper;            /* mod_acme_wake next to the module, or NULL */
    apr_proc_t watcher;                 /* pid 0: not running */
    int watcher_registered;             /* in APR's other-child list */
    int watcher_failures;               /* exits without a wake-up in a row */
    apr_time_t last_wake;
    pid_t parent_pid;
    apr_hash_t *announced;              /* staged ids already logged as ready */
    apr_hash_t *refused;                /* id -> what was refused and logged (char[]) */
    apr_time_t restart_requested;
    /* the child's watchdog; wd_lock serialises its callbacks, which
     * mod_watchdog may call from two threads at child exit */
    struct am_wd_t *wd;
    apr_thread_mutex_t *wd_lock;
    int wd_closed;                      /* the child is exiting: no new start */
    /* SSL vhosts with their own SSLCertificateFile that no ACMEDomain covers
     * (am_static_cert_t*), watched for expiry with ACMEWatchStatic on */
    apr_array_header_t *static_certs;
    int https_port;                     /* in ACMERequireHttps redirects; 0: the default 443 */
} am_runtime_t;

/* A certificate file of a vhost mod_acme does not manage. */
typedef struct am_static_cert_t {
    const char *file;                   /* absolute path of the SSLCertificateFile */
    const char *vhost;                  /* "name:port" of the first vhost using it */
} am_static_cert_t;

extern module AP_MODULE_DECLARE_DATA acme_module;

/* The directive table (mod_acme_directives.c). */
extern const command_rec am_cmds[];
void *am_create_server_config(apr_pool_t *p, server_rec *s);

static inline am_sconf_t *am_sconf(const server_rec *s)
{
    return (am_sconf_t *)ap_get_module_config(s->module_config, &acme_module);
}

/* check_config: what can be checked only with the whole config (also in -t). */
int am_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s);

/* Builds rt->managed and rt->domains from every ACMEDomain with the
 * effective settings, in the order they are written (Includes in place).
 * Implicit names come from the declaring vhost's ServerName/ServerAlias. */
apr_status_t am_config_build_domains(am_runtime_t *rt, apr_pool_t *p, server_rec *base);

/* Effective global settings with defaults. */
int am_cfg_activation(const am_sconf_t *g);
apr_interval_time_t am_cfg_check_interval(const am_sconf_t *g);
apr_interval_time_t am_cfg_fleet_check_interval(const am_sconf_t *g);
apr_interval_time_t am_cfg_fleet_lock_ttl(const am_sconf_t *g);
apr_interval_time_t am_cfg_retry_delay(const am_sconf_t *g);
apr_interval_time_t am_cfg_hook_timeout(const am_sconf_t *g);
int am_cfg_max_parallel(const am_sconf_t *g);
int am_cfg_port(const am_sconf_t *g, int ext);
int am_cfg_watch_static(const am_sconf_t *g);

/* The Let's Encrypt directory URLs behind the short names (production:
 * ACME_DEFAULT_CA_URL). */
#define AM_LE_STAGING_URL "https://acme-staging-v02.api.letsencrypt.org/directory"

#endif
