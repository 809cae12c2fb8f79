/* mod_acme_config.c: mod_acme's server config created with its settings unset, the argument checks all directives share, and the effective global settings (the directive table and server-wide directives: mod_acme_directives.c; per-domain directives: mod_acme_config_domain.c; domains built from them: mod_acme_domains.c). */
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <apr_strings.h>

#include "acme_domain.h"
#include "acme_exec.h"
#include "acme_key.h"
#include "mod_acme_config.h"
#include "mod_acme_config_int.h"

APLOG_USE_MODULE(acme);

void *am_create_server_config(apr_pool_t *p, server_rec *s)
{
    am_sconf_t *sc = apr_pcalloc(p, sizeof(*sc));

    am_settings_init(&sc->dc);
    sc->account_key_type = AM_UNSET;
    sc->activation = AM_UNSET;
    sc->max_parallel = AM_UNSET;
    sc->watch_static = AM_UNSET;
    sc->sets = apr_array_make(p, 2, sizeof(am_domain_conf_t *));
    return sc;
}

/* The per-domain settings as unset. */
void am_settings_init(am_domain_settings_t *dc)
{
    dc->tos_agreed = AM_UNSET;
    dc->renew_via_ari = AM_UNSET;
    dc->require_https = AM_UNSET;
}

/* ---- argument checks (the shared ones: mod_acme_config_int.h) ---------- */

const char *am_arg_bad(cmd_parms *cmd, const char *value, const char *allowed)
{
    return apr_psprintf(cmd->pool, "%s: invalid value '%s': %s", cmd->cmd->name,
                        value ? value : "", allowed);
}

const char *am_arg_file(cmd_parms *cmd, const char *arg, int need_exec, const char **out)
{
    apr_finfo_t fi;
    const char *path = ap_server_root_relative(cmd->pool, arg);

    if (!path || apr_stat(&fi, path, APR_FINFO_TYPE | APR_FINFO_PROT, cmd->pool) != APR_SUCCESS
        || fi.filetype != APR_REG) {
        return am_arg_bad(cmd, arg, "not an existing regular file");
    }
    if (need_exec && !(fi.protection & (APR_UEXECUTE | APR_GEXECUTE | APR_WEXECUTE))) {
        return am_arg_bad(cmd, arg, "the program is not executable (chmod +x)");
    }
    *out = path;
    return NULL;
}

const char *am_arg_key_type(cmd_parms *cmd, const char *arg, acme_key_type_e *t)
{
    if (acme_key_type_parse(arg, t) != APR_SUCCESS) {
        return am_arg_bad(cmd, arg,
                          apr_pstrcat(cmd->pool, "allowed are ", acme_key_type_names(), NULL));
    }
    return NULL;
}

/* on|off (any case) into *flag. */
const char *am_arg_on_off(cmd_parms *cmd, const char *arg, int *flag)
{
    if (!strcasecmp(arg, "on")) {
        *flag = 1;
    }
    else if (!strcasecmp(arg, "off")) {
        *flag = 0;
    }
    else {
        return am_arg_bad(cmd, arg, "expected 'on' or 'off'");
    }
    return NULL;
}

/* ---- effective settings --------------------------------------------------- */

int am_cfg_activation(const am_sconf_t *g)
{
    return g->activation == AM_UNSET ? AM_ACT_AUTO : g->activation;
}

apr_interval_time_t am_cfg_check_interval(const am_sconf_t *g)
{
    return g->check_interval > 0 ? g->check_interval : apr_time_from_sec(12 * 3600);
}

apr_interval_time_t am_cfg_fleet_check_interval(const am_sconf_t *g)
{
    return g->fleet_check_interval > 0 ? g->fleet_check_interval : apr_time_from_sec(30);
}

apr_interval_time_t am_cfg_fleet_lock_ttl(const am_sconf_t *g)
{
    return g->fleet_lock_ttl > 0 ? g->fleet_lock_ttl : apr_time_from_sec(120);
}

apr_interval_time_t am_cfg_retry_delay(const am_sconf_t *g)
{
    return g->retry_delay > 0 ? g->retry_delay : ACME_DEFAULT_RETRY_DELAY;
}

apr_interval_time_t am_cfg_hook_timeout(const am_sconf_t *g)
{
    return g->hook_timeout > 0 ? g->hook_timeout : ACME_EXEC_DEFAULT_TIMEOUT;
}

int am_cfg_max_parallel(const am_sconf_t *g)
{
    return g->max_parallel > 0 ? g->max_parallel : 4;
}

int am_cfg_watch_static(const am_sconf_t *g)
{
    return g->watch_static != 0;
}

int am_cfg_port(const am_sconf_t *g, int ext)
{
    if (ext == 80 && g->port_http) {
        return g->port_http;
    }
    if (ext == 443 && g->port_https) {
        return g->port_https;
    }
    return ext;
}
