/* mod_acme_directives.c: mod_acme(8)'s directive table and the server-wide directives (context S) it names beside the per-domain ones of mod_acme_config_domain.c. */
#include <stddef.h>
#include <stdint.h>
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <apr_strings.h>
#include <apr_uri.h>
#include <apr_lib.h>

#include "acme_domain.h"
#include "acme_key.h"
#include "acme_time.h"
#include "acme_redis.h"
#include "mod_acme_config.h"
#include "mod_acme_config_int.h"

static am_sconf_t *cmd_sconf(cmd_parms *cmd)
{
    return am_sconf(cmd->server);
}

/* S: main server only, not inside <ACMEDomainSet>. */
static const char *need_global(cmd_parms *cmd)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    if (err) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name,
                           ": only allowed in the server config (not in <VirtualHost>)", NULL);
    }
    if (cmd_sconf(cmd)->cur_set) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name,
                           ": not allowed inside <ACMEDomainSet>; put it in the server config", NULL);
    }
    return NULL;
}

/* ---- S settings ------------------------------------------------------------ */

static const char *cmd_ca_file(cmd_parms *cmd, void *d, const char *arg)
{
    const char *err = need_global(cmd);

    return err ? err : am_arg_file(cmd, arg, 0, &cmd_sconf(cmd)->ca_file);
}

static const char *cmd_account_key_type(cmd_parms *cmd, void *d, const char *arg)
{
    const char *err = need_global(cmd);
    acme_key_type_e t;

    if (err || (err = am_arg_key_type(cmd, arg, &t))) {
        return err;
    }
    cmd_sconf(cmd)->account_key_type = (int)t;
    return NULL;
}

static int parse_hhmm(const char *s, int *minutes)
{
    if (strlen(s) != 5 || !apr_isdigit(s[0]) || !apr_isdigit(s[1]) || s[2] != ':'
        || !apr_isdigit(s[3]) || !apr_isdigit(s[4])) {
        return 0;
    }
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    if (h > 23 || m > 59) {
        return 0;
    }
    *minutes = h * 60 + m;
    return 1;
}

static const char *cmd_activation(cmd_parms *cmd, void *d, const char *arg)
{
    am_sconf_t *sc = cmd_sconf(cmd);
    const char *err = need_global(cmd);
    const char *dash;

    if (err) {
        return err;
    }
    if (!strcasecmp(arg, "auto")) {
        sc->activation = AM_ACT_AUTO;
        return NULL;
    }
    if (!strcasecmp(arg, "manual")) {
        sc->activation = AM_ACT_MANUAL;
        return NULL;
    }
    dash = strchr(arg, '-');
    if (!dash || !parse_hhmm(apr_pstrndup(cmd->pool, arg, (apr_size_t)(dash - arg)), &sc->win_start)
        || !parse_hhmm(dash + 1, &sc->win_end) || sc->win_start == sc->win_end) {
        return am_arg_bad(cmd, arg, "expected 'auto', 'manual' or a local time window HH:MM-HH:MM "
                          "(e.g. 02:00-04:30; it may wrap midnight)");
    }
    sc->activation = AM_ACT_WINDOW;
    return NULL;
}

static const char *cmd_notify(cmd_parms *cmd, void *d, const char *arg)
{
    const char *err = need_global(cmd);

    return err ? err : am_arg_file(cmd, arg, 1, &cmd_sconf(cmd)->notify_cmd);
}

static const char *cmd_watch_static(cmd_parms *cmd, void *d, const char *arg)
{
    const char *err = need_global(cmd);

    return err ? err : am_arg_on_off(cmd, arg, &cmd_sconf(cmd)->watch_static);
}

static const char *cmd_store_dir(cmd_parms *cmd, void *d, const char *arg)
{
    const char *err = need_global(cmd);
    const char *path;

    if (err) {
        return err;
    }
    if (!*arg || !(path = ap_server_root_relative(cmd->pool, arg))) {
        return am_arg_bad(cmd, arg, "expected a directory path (relative paths are "
                          "under ServerRoot)");
    }
    cmd_sconf(cmd)->store_dir = path;
    return NULL;
}

static const char *cmd_store(cmd_parms *cmd, void *d, const char *arg)
{
    const char *err = need_global(cmd), *why = NULL;
    acme_redis_url_t u;

    if (err) {
        return err;
    }
    if (!strcasecmp(arg, "file")) {
        cmd_sconf(cmd)->store_url = "file";
        return NULL;
    }
    if (acme_redis_url_parse(cmd->pool, arg, &u, &why) != APR_SUCCESS) {
        /* the value is shown unless it may hold a password */
        return apr_psprintf(cmd->pool, "%s %s: expected 'file' or "
                            "'redis://[user:password@]host:port[/db]': %s", cmd->cmd->name,
                            strchr(arg, '@') ? "(a URL with credentials)" : arg, why);
    }
    if (u.tls) {
        return apr_psprintf(cmd->pool, "%s %s: this build's Redis client (hiredis) has no TLS; "
                            "reach Redis over TLS through a local tunnel (stunnel or spiped on "
                            "127.0.0.1) and point redis:// at it (README \"Running a fleet\")",
                            cmd->cmd->name, acme_redis_url_show(cmd->pool, &u));
    }
    cmd_sconf(cmd)->store_url = arg;
    return NULL;
}

static const char *cmd_store_key_file(cmd_parms *cmd, void *d, const char *arg)
{
    const char *err = need_global(cmd), *path;

    if (err) {
        return err;
    }
    if (!*arg || !(path = ap_server_root_relative(cmd->pool, arg))) {
        return am_arg_bad(cmd, arg, "expected a file path (relative paths are under ServerRoot)");
    }
    cmd_sconf(cmd)->store_key_file = path;
    return NULL;
}

static const char *duration_arg(cmd_parms *cmd, const char *arg, apr_interval_time_t *out)
{
    if (acme_duration_parse(arg, out) != APR_SUCCESS) {
        return am_arg_bad(cmd, arg, "expected a duration: a number with an optional suffix s, m, h "
                          "or d (plain numbers are seconds), greater than 0");
    }
    return NULL;
}

/* S-context durations: cmd->info is the field's offset in am_sconf_t (httpd's
 * ap_set_*_slot idiom), so one setter serves every plain interval. */
static const char *cmd_duration_slot(cmd_parms *cmd, void *d, const char *arg)
{
    const char *err = need_global(cmd);
    char *conf = (char *)cmd_sconf(cmd);

    return err ? err : duration_arg(cmd, arg,
                                    (apr_interval_time_t *)(void *)(conf + (uintptr_t)cmd->info));
}

static const char *cmd_fleet_lock_ttl(cmd_parms *cmd, void *d, const char *arg)
{
    const char *err = need_global(cmd);

    if (!err && !(err = duration_arg(cmd, arg, &cmd_sconf(cmd)->fleet_lock_ttl))
        && cmd_sconf(cmd)->fleet_lock_ttl < apr_time_from_sec(3)) {
        return am_arg_bad(cmd, arg, "expected a duration of at least 3 s");
    }
    return err;
}

static const char *cmd_max_parallel(cmd_parms *cmd, void *d, const char *arg)
{
    const char *err = need_global(cmd);
    char *end;
    long v;

    if (err) {
        return err;
    }
    v = strtol(arg, &end, 10);
    if (!apr_isdigit(*arg) || *end || v < 1 || v > 64) {
        return am_arg_bad(cmd, arg, "expected a number of domains from 1 to 64");
    }
    cmd_sconf(cmd)->max_parallel = (int)v;
    return NULL;
}

static const char *cmd_port_map(cmd_parms *cmd, void *d, int argc, char *const argv[])
{
    am_sconf_t *sc = cmd_sconf(cmd);
    const char *err = need_global(cmd);
    int i, ext, in;

    if (err) {
        return err;
    }
    if (argc == 0) {
        return "ACMEPortMap: needs ext:int pairs, e.g. 80:8080 443:8443";
    }
    for (i = 0; i < argc; i++) {
        const char *colon = strchr(argv[i], ':');

        if (!colon || !acme_port_parse(apr_pstrndup(cmd->pool, argv[i], (apr_size_t)(colon - argv[i])), &ext)
            || !acme_port_parse(colon + 1, &in) || (ext != 80 && ext != 443)) {
            return am_arg_bad(cmd, argv[i], "expected ext:int with ext 80 or 443 (the ports the "
                              "CA connects to) and int the port httpd listens on, e.g. 80:8080 "
                              "443:8443");
        }
        if (ext == 80) {
            sc->port_http = in;
        }
        else {
            sc->port_https = in;
        }
    }
    return NULL;
}

static const char *cmd_http_proxy(cmd_parms *cmd, void *d, const char *arg)
{
    const char *err = need_global(cmd);
    apr_uri_t uri;

    if (err) {
        return err;
    }
    if (apr_uri_parse(cmd->pool, arg, &uri) != APR_SUCCESS || !uri.scheme || !uri.hostname
        || !*uri.hostname) {
        return am_arg_bad(cmd, arg, "expected a proxy URL like http://proxy.example.org:3128");
    }
    cmd_sconf(cmd)->http_proxy = arg;
    return NULL;
}

const command_rec am_cmds[] = {
    AP_INIT_TAKE_ARGV("ACMEDomain", am_cmd_domain, NULL, RSRC_CONF,
                      "Manage a certificate for these names (in a VirtualHost: none = its names)"),
    AP_INIT_RAW_ARGS("<ACMEDomainSet", am_cmd_domain_set, NULL, RSRC_CONF,
                     "A managed certificate with its own settings"),
    AP_INIT_TAKE_ARGV("ACMECertificateAuthority", am_cmd_ca, NULL, RSRC_CONF,
                      "ACME directory URL(s), letsencrypt or letsencrypt-staging"),
    AP_INIT_TAKE1("ACMECACertificateFile", cmd_ca_file, NULL, RSRC_CONF,
                  "PEM bundle to verify the CA's HTTPS server"),
    AP_INIT_TAKE1("ACMEContactEmail", am_cmd_email, NULL, RSRC_CONF, "Account contact e-mail"),
    AP_INIT_TAKE1("ACMETermsOfService", am_cmd_tos, NULL, RSRC_CONF,
                  "'accepted' to agree to the CA's terms of service"),
    AP_INIT_TAKE12("ACMEExternalAccountBinding", am_cmd_eab, NULL, RSRC_CONF,
                   "key-id hmac-key | key-id file:path | none"),
    AP_INIT_TAKE_ARGV("ACMEChallenges", am_cmd_challenges, NULL, RSRC_CONF,
                      "Allowed challenge types in order of preference"),
    AP_INIT_TAKE1("ACMEDNSCommand", am_cmd_dns_command, NULL, RSRC_CONF,
                  "Program for dns-01: path setup|teardown NAME VALUE"),
    AP_INIT_TAKE_ARGV("ACMEKeyType", am_cmd_key_type, NULL, RSRC_CONF,
                      "Certificate key types (one certificate per type)"),
    AP_INIT_TAKE1("ACMEAccountKeyType", cmd_account_key_type, NULL, RSRC_CONF, "Account key type"),
    AP_INIT_TAKE1("ACMERenewWindow", am_cmd_renew_window, NULL, RSRC_CONF,
                  "Renew when less than this share (33%) or time (30d) of the lifetime remains"),
    AP_INIT_TAKE1("ACMEWarnWindow", am_cmd_warn_window, NULL, RSRC_CONF,
                  "Warn when less than this share (10%) or time (7d) of the lifetime remains"),
    AP_INIT_TAKE12("ACMEProfile", am_cmd_profile, NULL, RSRC_CONF,
                   "ACME profile to request; 'mandatory': fail when the CA lacks it"),
    AP_INIT_TAKE1("ACMERenewViaARI", am_cmd_renew_via_ari, NULL, RSRC_CONF,
                  "on | off: use the CA's renewal information (ARI)"),
    AP_INIT_TAKE1("ACMERequireHttps", am_cmd_require_https, NULL, RSRC_CONF,
                  "off | temporary | permanent: redirect plain HTTP to HTTPS (permanent: + HSTS)"),
    AP_INIT_TAKE1("ACMEDNSPropagation", am_cmd_dns_propagation, NULL, RSRC_CONF,
                  "Wait up to this long for dns-01 records at the authoritative servers (0: off)"),
    AP_INIT_TAKE1("ACMEDNSResolver", am_cmd_dns_resolver, NULL, RSRC_CONF,
                  "DNS server (addr[:port]) the dns-01 propagation check asks instead of the "
                  "system's"),
    AP_INIT_TAKE1("ACMEPreferredChain", am_cmd_preferred_chain, NULL, RSRC_CONF,
                  "Common name of the preferred chain's top issuer"),
    AP_INIT_TAKE1("ACMEActivation", cmd_activation, NULL, RSRC_CONF,
                  "auto | manual | HH:MM-HH:MM"),
    AP_INIT_TAKE1("ACMENotifyCmd", cmd_notify, NULL, RSRC_CONF, "Program run as: path EVENT DOMAIN"),
    AP_INIT_TAKE1("ACMEWatchStatic", cmd_watch_static, NULL, RSRC_CONF,
                  "on | off: warn before certificates of unmanaged SSL vhosts expire"),
    AP_INIT_TAKE1("ACMEHookTimeout", cmd_duration_slot,
                  (void *)(uintptr_t)offsetof(am_sconf_t, hook_timeout), RSRC_CONF,
                  "How long ACMEDNSCommand and ACMENotifyCmd may run before they are killed"),
    AP_INIT_TAKE1("ACMEStoreDir", cmd_store_dir, NULL, RSRC_CONF, "File store directory"),
    AP_INIT_TAKE1("ACMEStore", cmd_store, NULL, RSRC_CONF,
                  "file | redis://[user:password@]host:port[/db]"),
    AP_INIT_TAKE1("ACMEStoreKeyFile", cmd_store_key_file, NULL, RSRC_CONF,
                  "Key file that seals private keys kept in Redis (root-owned, 0600)"),
    AP_INIT_TAKE1("ACMEFleetCheckInterval", cmd_duration_slot,
                  (void *)(uintptr_t)offsetof(am_sconf_t, fleet_check_interval), RSRC_CONF,
                  "How often a fleet node polls Redis for newly published certificates"),
    AP_INIT_TAKE1("ACMEFleetLockTTL", cmd_fleet_lock_ttl, NULL, RSRC_CONF,
                  "Lease time of a fleet lock (renewed every sixth of it while a drive runs)"),
    AP_INIT_TAKE1("ACMECheckInterval", cmd_duration_slot,
                  (void *)(uintptr_t)offsetof(am_sconf_t, check_interval), RSRC_CONF,
                  "How often certificates are checked for renewal"),
    AP_INIT_TAKE1("ACMERetryDelay", cmd_duration_slot,
                  (void *)(uintptr_t)offsetof(am_sconf_t, retry_delay), RSRC_CONF,
                  "First retry delay after a failure"),
    AP_INIT_TAKE1("ACMEMaxParallel", cmd_max_parallel, NULL, RSRC_CONF,
                  "Domains driven concurrently"),
    AP_INIT_TAKE_ARGV("ACMEPortMap", cmd_port_map, NULL, RSRC_CONF,
                      "ext:int port pairs (80 and 443 to httpd's ports)"),
    AP_INIT_TAKE1("ACMEHttpProxy", cmd_http_proxy, NULL, RSRC_CONF, "Outbound proxy to the CA"),
    { NULL }
};
