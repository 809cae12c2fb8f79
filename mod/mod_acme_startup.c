/* mod_acme_startup.c: the module's start in the privileged parent: the runtime built from the configuration, the store opened and prepared, staged sets activated, what each vhost serves, the watcher and the watchdog; the report once mod_ssl has seen every vhost. */
#include <string.h>
#include <unistd.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <unixd.h>
#include <apr_strings.h>

#include "acme_seal.h"
#include "acme_store.h"
#include "mod_acme_activate.h"
#include "mod_acme_config.h"
#include "mod_acme_serve.h"
#include "mod_acme_startup.h"
#include "mod_acme_watchdog.h"

APLOG_USE_MODULE(acme);

static void log_to_httpd(void *baton, acme_log_level_e level, apr_status_t rv, const char *msg)
{
    server_rec *s = baton;

    /* no file(line) of this function in every core message; APR_EGENERAL
     * ("Internal error (specific information not available)") says nothing */
    ap_log_error_(NULL, 0, APLOG_MODULE_INDEX, (int)level, rv == APR_EGENERAL ? 0 : rv, s,
                  "%s", msg);
}

static int any_sets(server_rec *base)
{
    server_rec *s;

    for (s = base; s; s = s->next) {
        if (am_sconf(s)->sets->nelts > 0) {
            return 1;
        }
    }
    return 0;
}

/* Once per (re)start, in the pass whose config the children get (the
 * pre-config pass is followed by that one before any child runs): the store
 * directory must be out of the User's reach, since what root and mod_ssl
 * load lives below it; the group directories get their owners; crash
 * leftovers in root's groups are removed. The User's groups are never
 * walked: their leftovers are the children's (mod_acme_watchdog.c). */
static apr_status_t prepare_store(am_runtime_t *rt, apr_pool_t *p)
{
    const char *bad, *why, *odd;
    apr_status_t rv;
    int g;

    if (geteuid() == 0) {
        rv = rt->store->prepare(rt->store, p, (long)ap_unixd_config.user_id,
                                (long)ap_unixd_config.group_id, &bad, &why);
        if (rv == APR_EACCES) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, rt->s,
                         "ACMEStoreDir %s: %s is %s, the httpd User; root loads the "
                         "certificates and keys below it, so it must be a directory that only "
                         "root can change (see README \"Store layout and ownership\")",
                         rt->store_dir, bad, why);
            return APR_EACCES;
        }
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, rv, rt->s,
                         "ACMEStoreDir %s: cannot make %s a directory of the expected owner "
                         "(root for domains, archive and fallback; the httpd User for staging, "
                         "challenges, accounts and state)", rt->store_dir, bad);
            return rv;
        }
    }
    for (g = 0; g < ACME_SG_COUNT; g++) {
        if (acme_store_root_group((acme_store_group_e)g)
            && rt->store->sweep(rt->store, p, (acme_store_group_e)g, &odd) != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, rt->s, "ACMEStoreDir %s: %s",
                         rt->store_dir, odd);
        }
    }
    return APR_SUCCESS;
}

/* This node's name in the fleet: the host and its store directory (several
 * servers on one host have their own stores). */
static const char *node_name(apr_pool_t *p, const char *store_dir)
{
    char host[APRMAXHOSTLEN + 1];
    char *name, *c;

    if (apr_gethostname(host, sizeof(host), p) != APR_SUCCESS) {
        apr_cpystrn(host, "localhost", sizeof(host));
    }
    name = apr_pstrcat(p, host, ":", store_dir, NULL);
    for (c = name; *c; c++) {
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f) *c = '_';
    }
    return name;
}

/* ACMEStore redis://: what the fleet store needs besides its URL (README
 * "Running a fleet"). The key file is read here, by the parent (root), and
 * the children inherit the keys. */
static apr_status_t fleet_spec(am_runtime_t *rt, apr_pool_t *p, acme_store_spec_t *spec)
{
    const am_sconf_t *g = rt->g;
    acme_seal_keys_t *keys = NULL;
    const char *err = NULL;
    apr_status_t rv;

    if (!g->store_key_file) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, rt->s, "ACMEStore %s: ACMEStoreKeyFile is "
                     "required with a Redis store (private keys are kept there only sealed); "
                     "see README \"Running a fleet\"", g->store_url);
        return APR_EINVAL;
    }
    rv = acme_seal_keys_read(p, g->store_key_file, geteuid() == 0 ? ACME_SEAL_ROOT_OWNED : 0,
                             &keys, &err);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, rt->s, "ACMEStoreKeyFile %s: %s",
                     g->store_key_file, err ? err : "cannot be read");
        return rv;
    }
    spec->keys = keys;
    spec->node = node_name(p, rt->store_dir);
    spec->lock_ttl = am_cfg_fleet_lock_ttl(g);
    spec->recheck = am_cfg_fleet_check_interval(g);
    return APR_SUCCESS;
}

static apr_status_t open_store(am_runtime_t *rt, apr_pool_t *p)
{
    const am_sconf_t *g = rt->g;
    acme_store_spec_t spec;
    const char *err = NULL;
    int fleet = g->store_url && strcmp(g->store_url, "file");
    apr_status_t rv;

    rt->store_dir = g->store_dir ? g->store_dir : ap_server_root_relative(p, "acme");
    memset(&spec, 0, sizeof(spec));
    spec.dir = rt->store_dir;
    spec.url = g->store_url;
    spec.flags = ACME_STORE_OPEN_NOSWEEP;
    spec.log = &rt->log;
    if (fleet && (rv = fleet_spec(rt, p, &spec)) != APR_SUCCESS) {
        return rv;
    }
    rv = acme_store_open(p, &spec, &rt->store, &err);
    if (rv != APR_SUCCESS && fleet) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, rt->s, "ACMEStore %s: %s", g->store_url,
                     err ? err : "cannot open the fleet store");
        return rv;
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, rt->s,
                     "ACMEStoreDir %s: cannot open or create the certificate store; check "
                     "that the directory is writable by root", rt->store_dir);
        return rv;
    }
    return rt->startup ? prepare_store(rt, p) : APR_SUCCESS;
}

/* ---- post_config ---------------------------------------------------------- */

/* A vhost without our directives shares the main server's struct (httpd's
 * merge without a merger): give each its own for the per-vhost runtime flags. */
static void separate_vhost_configs(apr_pool_t *pconf, server_rec *base)
{
    const am_sconf_t *bsc = am_sconf(base);
    server_rec *s;

    for (s = base->next; s; s = s->next) {
        if (am_sconf(s) == bsc) {
            ap_set_module_config(s->module_config, &acme_module,
                                 am_create_server_config(pconf, s));
        }
    }
}

static apr_status_t make_rt(apr_pool_t *pconf, server_rec *s, am_runtime_t **out)
{
    am_runtime_t *rt = apr_pcalloc(pconf, sizeof(*rt));

    rt->s = s;
    rt->pool = pconf;
    rt->g = am_sconf(s);
    rt->log.fn = log_to_httpd;
    rt->log.baton = s;
    rt->log.level = (acme_log_level_e)ap_get_server_module_loglevel(s, APLOG_MODULE_INDEX);
    rt->startup = ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG;
    rt->announced = apr_hash_make(pconf);
    rt->refused = apr_hash_make(pconf);
    rt->wake_rfd = rt->wake_wfd = -1;
    *out = rt;
    return APR_SUCCESS;
}

int am_startup_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    am_runtime_t *rt;
    apr_status_t rv;

    separate_vhost_configs(pconf, s);
    if (!any_sets(s)) {
        return OK;
    }
    make_rt(pconf, s, &rt);
    if (am_config_build_domains(rt, pconf, s) != APR_SUCCESS) {
        return !OK;
    }
    if ((rv = open_store(rt, pconf)) != APR_SUCCESS) {
        return !OK;
    }
    if (rt->startup) {
        am_activate_staged(rt, ptemp);
    }
    am_serve_prepare(rt, s, pconf, ptemp);
    if (rt->startup) {
        if (am_activate_start(rt, pconf) != APR_SUCCESS) {
            return !OK;
        }
        if (am_watchdog_setup(rt, pconf) != APR_SUCCESS) {
            return !OK;
        }
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                     "mod_acme: %d domain(s) managed, store %s", rt->managed->nelts,
                     rt->store_dir);
    }
    return OK;
}

static void report_vhost(am_runtime_t *rt, server_rec *s, apr_pool_t *p)
{
    const am_sconf_t *sc = am_sconf(s);
    const char *missing = NULL;
    int i;

    if (!sc->md || !sc->ssl_seen || sc->static_cert) {
        return;
    }
    if (s->server_hostname && am_serve_domain_of(rt, s->server_hostname, p) != sc->md) {
        missing = s->server_hostname;
    }
    for (i = 0; s->names && i < s->names->nelts; i++) {
        const char *n = APR_ARRAY_IDX(s->names, i, const char *);
        if (am_serve_domain_of(rt, n, p) != sc->md) {
            missing = missing ? apr_pstrcat(p, missing, ", ", n, NULL) : n;
        }
    }
    if (missing) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "<VirtualHost> %s (%s:%d) is served the certificate of ACMEDomain %s, "
                     "which does not cover %s: browsers will warn for those names; add them "
                     "to that ACMEDomain", s->server_hostname, s->defn_name, s->defn_line_number,
                     sc->md->d->id, missing);
    }
}

int am_startup_report(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    am_runtime_t *rt = am_sconf(s)->rt;
    const char *first = NULL;
    server_rec *v;
    int i, fallback = 0;

    if (!rt || !rt->startup) {
        return OK;
    }
    for (i = 0; i < rt->managed->nelts; i++) {
        const am_mdomain_t *md = APR_ARRAY_IDX(rt->managed, i, am_mdomain_t *);
        if (md->ssl_vhosts == 0) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         "ACMEDomain %s (%s): no SSL <VirtualHost> has one of its names as "
                         "ServerName or ServerAlias, so httpd will not serve this certificate; "
                         "it is still obtained and kept in %s/domains/", md->d->id,
                         md->set->where, rt->store_dir);
        }
    }
    for (v = s; v; v = v->next) {
        report_vhost(rt, v, ptemp);
        if (am_sconf(v)->fallback) {
            fallback++;
            if (!first) first = v->server_hostname;
        }
    }
    if (fallback > 0) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                     "mod_acme: %d SSL <VirtualHost>(s) (%s%s) have no certificate yet: they serve "
                     "a temporary self-signed one and answer 503 until mod_acme obtains theirs",
                     fallback, first ? first : "?", fallback > 1 ? ", ..." : "");
    }
    return OK;
}
