/* mod_acme_config.c: the directives of mod_acme(8), their validation, and the effective global settings (the domains built from them: mod_acme_domains.c). */
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <apr_strings.h>
#include <apr_uri.h>
#include <apr_lib.h>

#include "acme_base64.h"
#include "acme_dns_check.h"
#include "acme_domain.h"
#include "acme_exec.h"
#include "acme_file.h"
#include "acme_key.h"
#include "acme_time.h"
#include "acme_redis.h"
#include "mod_acme_config.h"

APLOG_USE_MODULE(acme);

#define ACME_MAX_NAMES 100
#define ACME_EAB_FILE_MAX 4096

static const char *const challenge_types[] = { "http-01", "tls-alpn-01", "dns-01", NULL };

static void settings_init(am_domain_settings_t *dc)
{
    dc->tos_agreed = AM_UNSET;
    dc->renew_via_ari = AM_UNSET;
    dc->require_https = AM_UNSET;
}

void *am_create_server_config(apr_pool_t *p, server_rec *s)
{
    am_sconf_t *sc = apr_pcalloc(p, sizeof(*sc));

    settings_init(&sc->dc);
    sc->account_key_type = AM_UNSET;
    sc->activation = AM_UNSET;
    sc->max_parallel = AM_UNSET;
    sc->watch_static = AM_UNSET;
    sc->sets = apr_array_make(p, 2, sizeof(am_domain_conf_t *));
    return sc;
}

/* ---- helpers ------------------------------------------------------------ */

static am_sconf_t *cmd_sconf(cmd_parms *cmd)
{
    return am_sconf(cmd->server);
}

static const char *where(cmd_parms *cmd)
{
    if (!cmd->directive) {
        return "?";
    }
    return apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename, cmd->directive->line_num);
}

static const char *bad(cmd_parms *cmd, const char *value, const char *allowed)
{
    return apr_psprintf(cmd->pool, "%s: invalid value '%s': %s", cmd->cmd->name,
                        value ? value : "", allowed);
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

/* S, D: the main server's settings or the set being parsed. */
static const char *domain_conf(cmd_parms *cmd, am_domain_settings_t **dc)
{
    am_sconf_t *sc = cmd_sconf(cmd);

    if (sc->cur_set) {
        *dc = &sc->cur_set->dc;
        return NULL;
    }
    if (ap_check_cmd_context(cmd, GLOBAL_ONLY)) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name,
                           ": only allowed in the server config or inside <ACMEDomainSet>", NULL);
    }
    *dc = &sc->dc;
    return NULL;
}

static const char *file_arg(cmd_parms *cmd, const char *arg, int need_exec, const char **out)
{
    apr_finfo_t fi;
    const char *path = ap_server_root_relative(cmd->pool, arg);

    if (!path || apr_stat(&fi, path, APR_FINFO_TYPE | APR_FINFO_PROT, cmd->pool) != APR_SUCCESS
        || fi.filetype != APR_REG) {
        return bad(cmd, arg, "not an existing regular file");
    }
    if (need_exec && !(fi.protection & (APR_UEXECUTE | APR_GEXECUTE | APR_WEXECUTE))) {
        return bad(cmd, arg, "the program is not executable (chmod +x)");
    }
    *out = path;
    return NULL;
}

static const char *https_url(cmd_parms *cmd, const char *arg, const char **out)
{
    apr_uri_t uri;

    if (!strcmp(arg, "letsencrypt")) {
        *out = ACME_DEFAULT_CA_URL;
        return NULL;
    }
    if (!strcmp(arg, "letsencrypt-staging")) {
        *out = AM_LE_STAGING_URL;
        return NULL;
    }
    if (apr_uri_parse(cmd->pool, arg, &uri) != APR_SUCCESS || !uri.scheme
        || strcasecmp(uri.scheme, "https") || !uri.hostname || !*uri.hostname) {
        return bad(cmd, arg, "expected an https:// directory URL, 'letsencrypt' or "
                   "'letsencrypt-staging'");
    }
    *out = arg;
    return NULL;
}

/* ---- domains ------------------------------------------------------------ */

static const char *add_names(cmd_parms *cmd, am_domain_conf_t *set, int argc, char *const argv[])
{
    int i;

    for (i = 0; i < argc; i++) {
        const char *name = acme_name_lower(cmd->pool, argv[i]);

        if (!acme_identifier_valid(name)) {
            return bad(cmd, argv[i], "expected a DNS name (a leading '*.' allowed), "
                       "an IPv4 or an IPv6 address");
        }
        if (!acme_names_has(set->names, name)) {
            if (set->names->nelts >= ACME_MAX_NAMES) {
                return bad(cmd, argv[i], "at most 100 names per certificate");
            }
            APR_ARRAY_PUSH(set->names, const char *) = name;
        }
    }
    return NULL;
}

static am_domain_conf_t *new_set(cmd_parms *cmd)
{
    am_domain_conf_t *set = apr_pcalloc(cmd->pool, sizeof(*set));

    set->names = apr_array_make(cmd->pool, 4, sizeof(const char *));
    set->where = where(cmd);
    set->directive = cmd->directive;
    settings_init(&set->dc);
    return set;
}

static const char *cmd_domain(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    am_sconf_t *sc = cmd_sconf(cmd);
    am_domain_conf_t *set;
    const char *err;

    if (sc->cur_set) {
        return "ACMEDomain: not allowed inside <ACMEDomainSet>; list the names in the "
               "<ACMEDomainSet name ...> line";
    }
    if (ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT)) {
        return "ACMEDomain: only allowed in the server config or a <VirtualHost>";
    }
    if (argc == 0 && !cmd->server->is_virtual) {
        return "ACMEDomain: needs at least one name outside a <VirtualHost> (inside one, "
               "no names means its ServerName and ServerAlias)";
    }
    set = new_set(cmd);
    set->vhost = cmd->server->is_virtual ? cmd->server : NULL;
    if ((err = add_names(cmd, set, argc, argv))) {
        return err;
    }
    APR_ARRAY_PUSH(sc->sets, am_domain_conf_t *) = set;
    return NULL;
}

static const char *cmd_domain_set(cmd_parms *cmd, void *dc, const char *arg)
{
    am_sconf_t *sc = cmd_sconf(cmd);
    const char *endp = ap_strrchr_c(arg, '>');
    const char *args, *err;
    apr_array_header_t *words;
    am_domain_conf_t *set;

    if (ap_check_cmd_context(cmd, GLOBAL_ONLY)) {
        return "<ACMEDomainSet>: only allowed in the server config (not in <VirtualHost>)";
    }
    if (sc->cur_set) {
        return "<ACMEDomainSet>: cannot be nested";
    }
    if (!endp) {
        return "<ACMEDomainSet>: missing closing '>'";
    }
    args = apr_pstrndup(cmd->pool, arg, (apr_size_t)(endp - arg));
    words = apr_array_make(cmd->pool, 4, sizeof(char *));
    while (*args) {
        char *w = ap_getword_conf(cmd->pool, &args);
        if (*w) {
            APR_ARRAY_PUSH(words, char *) = w;
        }
    }
    if (words->nelts == 0) {
        return "<ACMEDomainSet>: needs at least one name, e.g. <ACMEDomainSet example.org "
               "www.example.org>";
    }
    set = new_set(cmd);
    if ((err = add_names(cmd, set, words->nelts, (char *const *)words->elts))) {
        return err;
    }
    sc->cur_set = set;
    err = ap_walk_config(cmd->directive->first_child, cmd, cmd->context);
    sc->cur_set = NULL;
    if (err) {
        return err;
    }
    APR_ARRAY_PUSH(sc->sets, am_domain_conf_t *) = set;
    return NULL;
}

/* ---- S, D settings --------------------------------------------------------- */

static const char *cmd_ca(cmd_parms *cmd, void *d, int argc, char *const argv[])
{
    am_domain_settings_t *dc = NULL;
    const char *err, *url = NULL;
    int i;

    if ((err = domain_conf(cmd, &dc))) {
        return err;
    }
    if (argc == 0) {
        return "ACMECertificateAuthority: needs a directory URL, 'letsencrypt' or "
               "'letsencrypt-staging'";
    }
    dc->ca_urls = apr_array_make(cmd->pool, argc, sizeof(const char *));
    for (i = 0; i < argc; i++) {
        if ((err = https_url(cmd, argv[i], &url))) {
            return err;
        }
        APR_ARRAY_PUSH(dc->ca_urls, const char *) = url;
    }
    return NULL;
}

static const char *cmd_email(cmd_parms *cmd, void *d, const char *arg)
{
    am_domain_settings_t *dc = NULL;
    const char *err, *at, *p;

    if ((err = domain_conf(cmd, &dc))) {
        return err;
    }
    if (!strncasecmp(arg, "mailto:", 7)) {
        arg += 7;
    }
    at = strchr(arg, '@');
    if (!at || at == arg || !at[1] || strchr(at + 1, '@')) {
        return bad(cmd, arg, "expected an e-mail address like admin@example.org");
    }
    for (p = arg; *p; p++) {
        if (apr_isspace(*p) || apr_iscntrl(*p) || *p == ',' || *p == '<' || *p == '>') {
            return bad(cmd, arg, "expected an e-mail address like admin@example.org");
        }
    }
    dc->contact_email = arg;
    return NULL;
}

static const char *cmd_tos(cmd_parms *cmd, void *d, const char *arg)
{
    am_domain_settings_t *dc = NULL;
    const char *err;

    if ((err = domain_conf(cmd, &dc))) {
        return err;
    }
    if (strcasecmp(arg, "accepted")) {
        return bad(cmd, arg, "the only value is 'accepted' (agree to the CA's terms of service)");
    }
    dc->tos_agreed = 1;
    return NULL;
}

static const char *eab_key_value(cmd_parms *cmd, const char *arg, const char **out)
{
    unsigned char *raw;
    apr_size_t rawlen;
    const char *key = arg;

    if (!strncmp(arg, "file:", 5)) {
        const char *path = ap_server_root_relative(cmd->pool, arg + 5);

        if (!path || acme_file_read_secret(cmd->pool, path, ACME_EAB_FILE_MAX, &key)) {
            return bad(cmd, arg, "the HMAC key file cannot be read, is empty or is larger than "
                       "4 KiB");
        }
    }
    if (!*key || acme_b64u_decode(cmd->pool, key, strlen(key), &raw, &rawlen) || rawlen == 0) {
        return bad(cmd, strncmp(arg, "file:", 5) ? "(hmac key)" : arg,
                   "the HMAC key must be base64url without padding, as the CA gives it");
    }
    *out = key;
    return NULL;
}

static const char *cmd_eab(cmd_parms *cmd, void *d, const char *kid, const char *key)
{
    am_domain_settings_t *dc = NULL;
    const char *err;

    if ((err = domain_conf(cmd, &dc))) {
        return err;
    }
    dc->eab_set = 1;
    if (!key) {
        if (strcasecmp(kid, "none")) {
            return bad(cmd, kid, "expected 'key-id hmac-key', 'key-id file:path' or 'none'");
        }
        dc->eab_kid = dc->eab_hmac = NULL;
        return NULL;
    }
    if (!*kid) {
        return bad(cmd, kid, "the key id must not be empty");
    }
    dc->eab_kid = kid;
    return eab_key_value(cmd, key, &dc->eab_hmac);
}

static const char *cmd_challenges(cmd_parms *cmd, void *d, int argc, char *const argv[])
{
    am_domain_settings_t *dc = NULL;
    const char *err;
    int i, j, k;

    if ((err = domain_conf(cmd, &dc))) {
        return err;
    }
    if (argc == 0) {
        return "ACMEChallenges: needs one or more of http-01, tls-alpn-01, dns-01";
    }
    dc->challenges = apr_array_make(cmd->pool, argc, sizeof(const char *));
    for (i = 0; i < argc; i++) {
        for (k = 0; challenge_types[k] && strcasecmp(argv[i], challenge_types[k]); k++)
            ;
        if (!challenge_types[k]) {
            return bad(cmd, argv[i], "allowed are http-01, tls-alpn-01, dns-01");
        }
        for (j = 0; j < dc->challenges->nelts; j++) {
            if (!strcmp(APR_ARRAY_IDX(dc->challenges, j, const char *), challenge_types[k])) {
                return bad(cmd, argv[i], "listed twice");
            }
        }
        APR_ARRAY_PUSH(dc->challenges, const char *) = challenge_types[k];
    }
    return NULL;
}

static const char *cmd_dns_command(cmd_parms *cmd, void *d, const char *arg)
{
    am_domain_settings_t *dc = NULL;
    const char *err;

    if ((err = domain_conf(cmd, &dc))) {
        return err;
    }
    return file_arg(cmd, arg, 1, &dc->dns_command);
}

static const char *key_type_arg(cmd_parms *cmd, const char *arg, acme_key_type_e *t)
{
    if (acme_key_type_parse(arg, t) != APR_SUCCESS) {
        return bad(cmd, arg, apr_pstrcat(cmd->pool, "allowed are ", acme_key_type_names(), NULL));
    }
    return NULL;
}

static const char *cmd_key_type(cmd_parms *cmd, void *d, int argc, char *const argv[])
{
    am_domain_settings_t *dc = NULL;
    const char *err;
    acme_key_type_e t;
    int i, j;

    if ((err = domain_conf(cmd, &dc))) {
        return err;
    }
    if (argc == 0) {
        return apr_pstrcat(cmd->pool, "ACMEKeyType: needs one or more of ",
                           acme_key_type_names(), NULL);
    }
    dc->key_types = apr_array_make(cmd->pool, argc, sizeof(acme_key_type_e));
    for (i = 0; i < argc; i++) {
        if ((err = key_type_arg(cmd, argv[i], &t))) {
            return err;
        }
        for (j = 0; j < dc->key_types->nelts; j++) {
            if (APR_ARRAY_IDX(dc->key_types, j, acme_key_type_e) == t) {
                return bad(cmd, argv[i], "listed twice");
            }
        }
        APR_ARRAY_PUSH(dc->key_types, acme_key_type_e) = t;
    }
    return NULL;
}

/* "33%" or a duration: the share (pct > 0, window 0) or the time (pct 0). */
static const char *window_arg(cmd_parms *cmd, const char *arg, int *pct,
                              apr_interval_time_t *window)
{
    apr_size_t len = strlen(arg);

    if (len > 1 && arg[len - 1] == '%') {
        char *end;
        long v = strtol(arg, &end, 10);

        if (end != arg + len - 1 || v < 1 || v > 99 || !apr_isdigit(arg[0])) {
            return bad(cmd, arg, "a percentage must be between 1% and 99%");
        }
        *pct = (int)v;
        *window = 0;
        return NULL;
    }
    if (acme_duration_parse(arg, window) != APR_SUCCESS) {
        return bad(cmd, arg, "expected a percentage like 33% or a duration like 30d, 12h, 90m, 60s");
    }
    *pct = 0;
    return NULL;
}

static const char *cmd_renew_window(cmd_parms *cmd, void *d, const char *arg)
{
    am_domain_settings_t *dc = NULL;
    const char *err;

    if ((err = domain_conf(cmd, &dc))) {
        return err;
    }
    dc->renew_set = 1;
    return window_arg(cmd, arg, &dc->renew_pct, &dc->renew_window);
}

static const char *cmd_warn_window(cmd_parms *cmd, void *d, const char *arg)
{
    am_domain_settings_t *dc = NULL;
    const char *err;

    if ((err = domain_conf(cmd, &dc))) {
        return err;
    }
    dc->warn_set = 1;
    return window_arg(cmd, arg, &dc->warn_pct, &dc->warn_window);
}

/* on|off (any case) into *flag. */
static const char *on_off(cmd_parms *cmd, const char *arg, int *flag)
{
    if (!strcasecmp(arg, "on")) {
        *flag = 1;
    }
    else if (!strcasecmp(arg, "off")) {
        *flag = 0;
    }
    else {
        return bad(cmd, arg, "expected 'on' or 'off'");
    }
    return NULL;
}

static const char *cmd_renew_via_ari(cmd_parms *cmd, void *d, const char *arg)
{
    am_domain_settings_t *dc = NULL;
    const char *err;

    if ((err = domain_conf(cmd, &dc))) {
        return err;
    }
    return on_off(cmd, arg, &dc->renew_via_ari);
}

static const char *cmd_require_https(cmd_parms *cmd, void *d, const char *arg)
{
    am_domain_settings_t *dc = NULL;
    const char *err;

    if ((err = domain_conf(cmd, &dc))) {
        return err;
    }
    if (!strcasecmp(arg, "off")) {
        dc->require_https = AM_HTTPS_OFF;
    }
    else if (!strcasecmp(arg, "temporary")) {
        dc->require_https = AM_HTTPS_TEMPORARY;
    }
    else if (!strcasecmp(arg, "permanent")) {
        dc->require_https = AM_HTTPS_PERMANENT;
    }
    else {
        return bad(cmd, arg, "expected 'off', 'temporary' (redirect) or 'permanent' (redirect "
                   "and Strict-Transport-Security)");
    }
    return NULL;
}

static const char *cmd_dns_propagation(cmd_parms *cmd, void *d, const char *arg)
{
    am_domain_settings_t *dc = NULL;
    const char *err;

    if ((err = domain_conf(cmd, &dc))) {
        return err;
    }
    dc->dns_propagation_set = 1;
    if (!strcmp(arg, "0") || !strcasecmp(arg, "off")) {
        dc->dns_propagation = 0;
        return NULL;
    }
    if (acme_duration_parse(arg, &dc->dns_propagation) != APR_SUCCESS
        || dc->dns_propagation > apr_time_from_sec(3600)) {
        return bad(cmd, arg, "expected 0 (off) or a duration up to 1h like 60s, 2m");
    }
    return NULL;
}

static const char *cmd_dns_resolver(cmd_parms *cmd, void *d, const char *arg)
{
    am_domain_settings_t *dc = NULL;
    const char *err;
    acme_dns_server_t srv;

    if ((err = domain_conf(cmd, &dc))) {
        return err;
    }
    if (acme_dns_server_parse(arg, &srv) != APR_SUCCESS) {
        return bad(cmd, arg, "expected an IP address with an optional port: 192.0.2.53, "
                   "192.0.2.53:5353, 2001:db8::53 or [2001:db8::53]:5353");
    }
    dc->dns_resolver = arg;
    return NULL;
}

static const char *cmd_profile(cmd_parms *cmd, void *d, const char *arg, const char *flag)
{
    am_domain_settings_t *dc = NULL;
    const char *err, *p;

    if ((err = domain_conf(cmd, &dc))) {
        return err;
    }
    for (p = arg; *p; p++) {
        if (!apr_isalnum(*p) && !strchr("-_.", *p)) {
            break;
        }
    }
    if (!*arg || *p || strlen(arg) > 64) {
        return bad(cmd, arg, "a profile name is letters, digits, '-', '_' and '.' (at most 64)");
    }
    if (flag && strcasecmp(flag, "mandatory")) {
        return bad(cmd, flag, "the only option after the profile name is 'mandatory'");
    }
    dc->profile = arg;
    dc->profile_mandatory = flag != NULL;
    return NULL;
}

static const char *cmd_preferred_chain(cmd_parms *cmd, void *d, const char *arg)
{
    am_domain_settings_t *dc = NULL;
    const char *err;

    if ((err = domain_conf(cmd, &dc))) {
        return err;
    }
    if (!*arg || strlen(arg) > 256) {
        return bad(cmd, arg, "expected the common name of the chain's top issuer");
    }
    dc->preferred_chain = arg;
    return NULL;
}

/* ---- S settings ------------------------------------------------------------ */

static const char *cmd_ca_file(cmd_parms *cmd, void *d, const char *arg)
{
    const char *err = need_global(cmd);

    return err ? err : file_arg(cmd, arg, 0, &cmd_sconf(cmd)->ca_file);
}

static const char *cmd_account_key_type(cmd_parms *cmd, void *d, const char *arg)
{
    const char *err = need_global(cmd);
    acme_key_type_e t;

    if (err || (err = key_type_arg(cmd, arg, &t))) {
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
        return bad(cmd, arg, "expected 'auto', 'manual' or a local time window HH:MM-HH:MM "
                   "(e.g. 02:00-04:30; it may wrap midnight)");
    }
    sc->activation = AM_ACT_WINDOW;
    return NULL;
}

static const char *cmd_notify(cmd_parms *cmd, void *d, const char *arg)
{
    const char *err = need_global(cmd);

    return err ? err : file_arg(cmd, arg, 1, &cmd_sconf(cmd)->notify_cmd);
}

static const char *cmd_watch_static(cmd_parms *cmd, void *d, const char *arg)
{
    const char *err = need_global(cmd);

    return err ? err : on_off(cmd, arg, &cmd_sconf(cmd)->watch_static);
}

static const char *cmd_store_dir(cmd_parms *cmd, void *d, const char *arg)
{
    const char *err = need_global(cmd);
    const char *path;

    if (err) {
        return err;
    }
    if (!*arg || !(path = ap_server_root_relative(cmd->pool, arg))) {
        return bad(cmd, arg, "expected a directory path (relative paths are under ServerRoot)");
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
        return bad(cmd, arg, "expected a file path (relative paths are under ServerRoot)");
    }
    cmd_sconf(cmd)->store_key_file = path;
    return NULL;
}

static const char *duration_arg(cmd_parms *cmd, const char *arg, apr_interval_time_t *out)
{
    if (acme_duration_parse(arg, out) != APR_SUCCESS) {
        return bad(cmd, arg, "expected a duration: a number with an optional suffix s, m, h "
                   "or d (plain numbers are seconds), greater than 0");
    }
    return NULL;
}

static const char *cmd_check_interval(cmd_parms *cmd, void *d, const char *arg)
{
    const char *err = need_global(cmd);

    return err ? err : duration_arg(cmd, arg, &cmd_sconf(cmd)->check_interval);
}

static const char *cmd_fleet_check_interval(cmd_parms *cmd, void *d, const char *arg)
{
    const char *err = need_global(cmd);

    return err ? err : duration_arg(cmd, arg, &cmd_sconf(cmd)->fleet_check_interval);
}

static const char *cmd_fleet_lock_ttl(cmd_parms *cmd, void *d, const char *arg)
{
    const char *err = need_global(cmd);

    if (!err && !(err = duration_arg(cmd, arg, &cmd_sconf(cmd)->fleet_lock_ttl))
        && cmd_sconf(cmd)->fleet_lock_ttl < apr_time_from_sec(3)) {
        return bad(cmd, arg, "expected a duration of at least 3 s");
    }
    return err;
}

static const char *cmd_retry_delay(cmd_parms *cmd, void *d, const char *arg)
{
    const char *err = need_global(cmd);

    return err ? err : duration_arg(cmd, arg, &cmd_sconf(cmd)->retry_delay);
}

static const char *cmd_hook_timeout(cmd_parms *cmd, void *d, const char *arg)
{
    const char *err = need_global(cmd);

    return err ? err : duration_arg(cmd, arg, &cmd_sconf(cmd)->hook_timeout);
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
        return bad(cmd, arg, "expected a number of domains from 1 to 64");
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
            return bad(cmd, argv[i], "expected ext:int with ext 80 or 443 (the ports the CA "
                       "connects to) and int the port httpd listens on, e.g. 80:8080 443:8443");
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
        return bad(cmd, arg, "expected a proxy URL like http://proxy.example.org:3128");
    }
    cmd_sconf(cmd)->http_proxy = arg;
    return NULL;
}

const command_rec am_cmds[] = {
    AP_INIT_TAKE_ARGV("ACMEDomain", cmd_domain, NULL, RSRC_CONF,
                      "Manage a certificate for these names (in a VirtualHost: none = its names)"),
    AP_INIT_RAW_ARGS("<ACMEDomainSet", cmd_domain_set, NULL, RSRC_CONF,
                     "A managed certificate with its own settings"),
    AP_INIT_TAKE_ARGV("ACMECertificateAuthority", cmd_ca, NULL, RSRC_CONF,
                      "ACME directory URL(s), letsencrypt or letsencrypt-staging"),
    AP_INIT_TAKE1("ACMECACertificateFile", cmd_ca_file, NULL, RSRC_CONF,
                  "PEM bundle to verify the CA's HTTPS server"),
    AP_INIT_TAKE1("ACMEContactEmail", cmd_email, NULL, RSRC_CONF, "Account contact e-mail"),
    AP_INIT_TAKE1("ACMETermsOfService", cmd_tos, NULL, RSRC_CONF,
                  "'accepted' to agree to the CA's terms of service"),
    AP_INIT_TAKE12("ACMEExternalAccountBinding", cmd_eab, NULL, RSRC_CONF,
                   "key-id hmac-key | key-id file:path | none"),
    AP_INIT_TAKE_ARGV("ACMEChallenges", cmd_challenges, NULL, RSRC_CONF,
                      "Allowed challenge types in order of preference"),
    AP_INIT_TAKE1("ACMEDNSCommand", cmd_dns_command, NULL, RSRC_CONF,
                  "Program for dns-01: path setup|teardown NAME VALUE"),
    AP_INIT_TAKE_ARGV("ACMEKeyType", cmd_key_type, NULL, RSRC_CONF,
                      "Certificate key types (one certificate per type)"),
    AP_INIT_TAKE1("ACMEAccountKeyType", cmd_account_key_type, NULL, RSRC_CONF, "Account key type"),
    AP_INIT_TAKE1("ACMERenewWindow", cmd_renew_window, NULL, RSRC_CONF,
                  "Renew when less than this share (33%) or time (30d) of the lifetime remains"),
    AP_INIT_TAKE1("ACMEWarnWindow", cmd_warn_window, NULL, RSRC_CONF,
                  "Warn when less than this share (10%) or time (7d) of the lifetime remains"),
    AP_INIT_TAKE12("ACMEProfile", cmd_profile, NULL, RSRC_CONF,
                   "ACME profile to request; 'mandatory': fail when the CA lacks it"),
    AP_INIT_TAKE1("ACMERenewViaARI", cmd_renew_via_ari, NULL, RSRC_CONF,
                  "on | off: use the CA's renewal information (ARI)"),
    AP_INIT_TAKE1("ACMERequireHttps", cmd_require_https, NULL, RSRC_CONF,
                  "off | temporary | permanent: redirect plain HTTP to HTTPS (permanent: + HSTS)"),
    AP_INIT_TAKE1("ACMEDNSPropagation", cmd_dns_propagation, NULL, RSRC_CONF,
                  "Wait up to this long for dns-01 records at the authoritative servers (0: off)"),
    AP_INIT_TAKE1("ACMEDNSResolver", cmd_dns_resolver, NULL, RSRC_CONF,
                  "DNS server (addr[:port]) the dns-01 propagation check asks instead of the "
                  "system's"),
    AP_INIT_TAKE1("ACMEPreferredChain", cmd_preferred_chain, NULL, RSRC_CONF,
                  "Common name of the preferred chain's top issuer"),
    AP_INIT_TAKE1("ACMEActivation", cmd_activation, NULL, RSRC_CONF,
                  "auto | manual | HH:MM-HH:MM"),
    AP_INIT_TAKE1("ACMENotifyCmd", cmd_notify, NULL, RSRC_CONF, "Program run as: path EVENT DOMAIN"),
    AP_INIT_TAKE1("ACMEWatchStatic", cmd_watch_static, NULL, RSRC_CONF,
                  "on | off: warn before certificates of unmanaged SSL vhosts expire"),
    AP_INIT_TAKE1("ACMEHookTimeout", cmd_hook_timeout, NULL, RSRC_CONF,
                  "How long ACMEDNSCommand and ACMENotifyCmd may run before they are killed"),
    AP_INIT_TAKE1("ACMEStoreDir", cmd_store_dir, NULL, RSRC_CONF, "File store directory"),
    AP_INIT_TAKE1("ACMEStore", cmd_store, NULL, RSRC_CONF,
                  "file | redis://[user:password@]host:port[/db]"),
    AP_INIT_TAKE1("ACMEStoreKeyFile", cmd_store_key_file, NULL, RSRC_CONF,
                  "Key file that seals private keys kept in Redis (root-owned, 0600)"),
    AP_INIT_TAKE1("ACMEFleetCheckInterval", cmd_fleet_check_interval, NULL, RSRC_CONF,
                  "How often a fleet node polls Redis for newly published certificates"),
    AP_INIT_TAKE1("ACMEFleetLockTTL", cmd_fleet_lock_ttl, NULL, RSRC_CONF,
                  "Lease time of a fleet lock (renewed every sixth of it while a drive runs)"),
    AP_INIT_TAKE1("ACMECheckInterval", cmd_check_interval, NULL, RSRC_CONF,
                  "How often certificates are checked for renewal"),
    AP_INIT_TAKE1("ACMERetryDelay", cmd_retry_delay, NULL, RSRC_CONF,
                  "First retry delay after a failure"),
    AP_INIT_TAKE1("ACMEMaxParallel", cmd_max_parallel, NULL, RSRC_CONF,
                  "Domains driven concurrently"),
    AP_INIT_TAKE_ARGV("ACMEPortMap", cmd_port_map, NULL, RSRC_CONF,
                      "ext:int port pairs (80 and 443 to httpd's ports)"),
    AP_INIT_TAKE1("ACMEHttpProxy", cmd_http_proxy, NULL, RSRC_CONF, "Outbound proxy to the CA"),
    { NULL }
};

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
