/* mod_acme_config_domain.c: the directives of one certificate — ACMEDomain and <ACMEDomainSet> that declare it, and the per-domain settings (context S, D) — with their validation. */
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <apr_strings.h>
#include <apr_uri.h>
#include <apr_lib.h>

#include "acme_base64.h"
#include "acme_dns_check.h"
#include "acme_domain.h"
#include "acme_file.h"
#include "acme_key.h"
#include "acme_time.h"
#include "mod_acme_config.h"
#include "mod_acme_config_int.h"

#define ACME_MAX_NAMES 100
#define ACME_EAB_FILE_MAX 4096

static const char *const challenge_types[] = { "http-01", "tls-alpn-01", "dns-01", NULL };

/* ---- helpers ------------------------------------------------------------ */

static const char *where(cmd_parms *cmd)
{
    if (!cmd->directive) {
        return "?";
    }
    return apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename, cmd->directive->line_num);
}

/* S, D: the main server's settings or the set being parsed. */
static const char *domain_conf(cmd_parms *cmd, am_domain_settings_t **dc)
{
    am_sconf_t *sc = am_sconf(cmd->server);

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
        return am_arg_bad(cmd, arg, "expected an https:// directory URL, 'letsencrypt' or "
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
            return am_arg_bad(cmd, argv[i], "expected a DNS name (a leading '*.' allowed), "
                              "an IPv4 or an IPv6 address");
        }
        if (!acme_names_has(set->names, name)) {
            if (set->names->nelts >= ACME_MAX_NAMES) {
                return am_arg_bad(cmd, argv[i], "at most 100 names per certificate");
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
    am_settings_init(&set->dc);
    return set;
}

const char *am_cmd_domain(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    am_sconf_t *sc = am_sconf(cmd->server);
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

const char *am_cmd_domain_set(cmd_parms *cmd, void *dc, const char *arg)
{
    am_sconf_t *sc = am_sconf(cmd->server);
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

const char *am_cmd_ca(cmd_parms *cmd, void *d, int argc, char *const argv[])
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

const char *am_cmd_email(cmd_parms *cmd, void *d, const char *arg)
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
        return am_arg_bad(cmd, arg, "expected an e-mail address like admin@example.org");
    }
    for (p = arg; *p; p++) {
        if (apr_isspace(*p) || apr_iscntrl(*p) || *p == ',' || *p == '<' || *p == '>') {
            return am_arg_bad(cmd, arg, "expected an e-mail address like admin@example.org");
        }
    }
    dc->contact_email = arg;
    return NULL;
}

const char *am_cmd_tos(cmd_parms *cmd, void *d, const char *arg)
{
    am_domain_settings_t *dc = NULL;
    const char *err;

    if ((err = domain_conf(cmd, &dc))) {
        return err;
    }
    if (strcasecmp(arg, "accepted")) {
        return am_arg_bad(cmd, arg, "the only value is 'accepted' (agree to the CA's "
                          "terms of service)");
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
            return am_arg_bad(cmd, arg, "the HMAC key file cannot be read, is empty or is "
                              "larger than 4 KiB");
        }
    }
    if (!*key || acme_b64u_decode(cmd->pool, key, strlen(key), &raw, &rawlen) || rawlen == 0) {
        return am_arg_bad(cmd, strncmp(arg, "file:", 5) ? "(hmac key)" : arg,
                          "the HMAC key must be base64url without padding, as the CA gives it");
    }
    *out = key;
    return NULL;
}

const char *am_cmd_eab(cmd_parms *cmd, void *d, const char *kid, const char *key)
{
    am_domain_settings_t *dc = NULL;
    const char *err;

    if ((err = domain_conf(cmd, &dc))) {
        return err;
    }
    dc->eab_set = 1;
    if (!key) {
        if (strcasecmp(kid, "none")) {
            return am_arg_bad(cmd, kid, "expected 'key-id hmac-key', 'key-id file:path' or 'none'");
        }
        dc->eab_kid = dc->eab_hmac = NULL;
        return NULL;
    }
    if (!*kid) {
        return am_arg_bad(cmd, kid, "the key id must not be empty");
    }
    dc->eab_kid = kid;
    return eab_key_value(cmd, key, &dc->eab_hmac);
}

const char *am_cmd_challenges(cmd_parms *cmd, void *d, int argc, char *const argv[])
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
            return am_arg_bad(cmd, argv[i], "allowed are http-01, tls-alpn-01, dns-01");
        }
        for (j = 0; j < dc->challenges->nelts; j++) {
            if (!strcmp(APR_ARRAY_IDX(dc->challenges, j, const char *), challenge_types[k])) {
                return am_arg_bad(cmd, argv[i], "listed twice");
            }
        }
        APR_ARRAY_PUSH(dc->challenges, const char *) = challenge_types[k];
    }
    return NULL;
}

const char *am_cmd_dns_command(cmd_parms *cmd, void *d, const char *arg)
{
    am_domain_settings_t *dc = NULL;
    const char *err;

    if ((err = domain_conf(cmd, &dc))) {
        return err;
    }
    return am_arg_file(cmd, arg, 1, &dc->dns_command);
}

const char *am_cmd_key_type(cmd_parms *cmd, void *d, int argc, char *const argv[])
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
        if ((err = am_arg_key_type(cmd, argv[i], &t))) {
            return err;
        }
        for (j = 0; j < dc->key_types->nelts; j++) {
            if (APR_ARRAY_IDX(dc->key_types, j, acme_key_type_e) == t) {
                return am_arg_bad(cmd, argv[i], "listed twice");
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
            return am_arg_bad(cmd, arg, "a percentage must be between 1% and 99%");
        }
        *pct = (int)v;
        *window = 0;
        return NULL;
    }
    if (acme_duration_parse(arg, window) != APR_SUCCESS) {
        return am_arg_bad(cmd, arg, "expected a percentage like 33% or a duration like "
                          "30d, 12h, 90m, 60s");
    }
    *pct = 0;
    return NULL;
}

const char *am_cmd_renew_window(cmd_parms *cmd, void *d, const char *arg)
{
    am_domain_settings_t *dc = NULL;
    const char *err;

    if ((err = domain_conf(cmd, &dc))) {
        return err;
    }
    dc->renew_set = 1;
    return window_arg(cmd, arg, &dc->renew_pct, &dc->renew_window);
}

const char *am_cmd_warn_window(cmd_parms *cmd, void *d, const char *arg)
{
    am_domain_settings_t *dc = NULL;
    const char *err;

    if ((err = domain_conf(cmd, &dc))) {
        return err;
    }
    dc->warn_set = 1;
    return window_arg(cmd, arg, &dc->warn_pct, &dc->warn_window);
}

const char *am_cmd_renew_via_ari(cmd_parms *cmd, void *d, const char *arg)
{
    am_domain_settings_t *dc = NULL;
    const char *err;

    if ((err = domain_conf(cmd, &dc))) {
        return err;
    }
    return am_arg_on_off(cmd, arg, &dc->renew_via_ari);
}

const char *am_cmd_require_https(cmd_parms *cmd, void *d, const char *arg)
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
        return am_arg_bad(cmd, arg, "expected 'off', 'temporary' (redirect) or 'permanent' "
                          "(redirect and Strict-Transport-Security)");
    }
    return NULL;
}

const char *am_cmd_dns_propagation(cmd_parms *cmd, void *d, const char *arg)
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
        return am_arg_bad(cmd, arg, "expected 0 (off) or a duration up to 1h like 60s, 2m");
    }
    return NULL;
}

const char *am_cmd_dns_resolver(cmd_parms *cmd, void *d, const char *arg)
{
    am_domain_settings_t *dc = NULL;
    const char *err;
    acme_dns_server_t srv;

    if ((err = domain_conf(cmd, &dc))) {
        return err;
    }
    if (acme_dns_server_parse(arg, &srv) != APR_SUCCESS) {
        return am_arg_bad(cmd, arg, "expected an IP address with an optional port: 192.0.2.53, "
                          "192.0.2.53:5353, 2001:db8::53 or [2001:db8::53]:5353");
    }
    dc->dns_resolver = arg;
    return NULL;
}

const char *am_cmd_profile(cmd_parms *cmd, void *d, const char *arg, const char *flag)
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
        return am_arg_bad(cmd, arg, "a profile name is letters, digits, '-', '_' and '.' "
                          "(at most 64)");
    }
    if (flag && strcasecmp(flag, "mandatory")) {
        return am_arg_bad(cmd, flag, "the only option after the profile name is 'mandatory'");
    }
    dc->profile = arg;
    dc->profile_mandatory = flag != NULL;
    return NULL;
}

const char *am_cmd_preferred_chain(cmd_parms *cmd, void *d, const char *arg)
{
    am_domain_settings_t *dc = NULL;
    const char *err;

    if ((err = domain_conf(cmd, &dc))) {
        return err;
    }
    if (!*arg || strlen(arg) > 256) {
        return am_arg_bad(cmd, arg, "expected the common name of the chain's top issuer");
    }
    dc->preferred_chain = arg;
    return NULL;
}
