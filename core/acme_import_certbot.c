/* acme_import_certbot.c: reads certbot's configuration directory (accounts, live lineages, renewal settings) into an acme_import_t; writes nothing. */
#include <string.h>
#include <apr_file_info.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include "acme_import.h"
#include "acme_import_int.h"
#include "acme_json.h"
#include "acme_jws.h"

#define CONF_MAX (256 * 1024)
#define CONF_LINE_MAX 4096
#define ACCOUNT_DEPTH_MAX 8

static const struct { const char *name; apr_int64_t secs; } interval_units[] = {
    { "seconds", 1 }, { "second", 1 }, { "secs", 1 }, { "sec", 1 }, { "s", 1 },
    { "minutes", 60 }, { "minute", 60 }, { "mins", 60 }, { "min", 60 }, { "m", 60 },
    { "hours", 3600 }, { "hour", 3600 }, { "hrs", 3600 }, { "hr", 3600 }, { "h", 3600 },
    { "days", 86400 }, { "day", 86400 }, { "d", 86400 },
    { "weeks", 604800 }, { "week", 604800 }, { "w", 604800 },
};

apr_status_t acme_import_certbot_interval(apr_pool_t *p, const char *s, const char **out)
{
    apr_int64_t total = 0;
    const char *q = s;
    int parts = 0;

    if (!s) {
        return APR_EINVAL;
    }
    while (*q) {
        apr_int64_t n = 0, unit = 0;
        const char *w;
        int digits = 0;
        size_t i, wl;

        while (*q == ' ' || *q == '\t' || *q == ',') q++;
        if (!*q) break;
        while (apr_isdigit(*q) && digits < 7) {
            n = n * 10 + (*q++ - '0');
            digits++;
        }
        if (digits == 0 || apr_isdigit(*q)) {
            return APR_EINVAL;
        }
        while (*q == ' ' || *q == '\t') q++;
        for (w = q; apr_isalpha(*q); q++) ;
        wl = (size_t)(q - w);
        for (i = 0; i < sizeof(interval_units) / sizeof(interval_units[0]); i++) {
            if (strlen(interval_units[i].name) == wl && !strncasecmp(w, interval_units[i].name, wl)) {
                unit = interval_units[i].secs;
                break;
            }
        }
        if (unit == 0 || ++parts > 8) {
            return APR_EINVAL;  /* months and years have no fixed length */
        }
        total += n * unit;
    }
    if (total <= 0) {
        return APR_EINVAL;
    }
    if (total % 86400 == 0) *out = apr_psprintf(p, "%" APR_INT64_T_FMT "d", total / 86400);
    else if (total % 3600 == 0) *out = apr_psprintf(p, "%" APR_INT64_T_FMT "h", total / 3600);
    else if (total % 60 == 0) *out = apr_psprintf(p, "%" APR_INT64_T_FMT "m", total / 60);
    else *out = apr_psprintf(p, "%" APR_INT64_T_FMT "s", total);
    return APR_SUCCESS;
}

/* ---- certbot ------------------------------------------------------------------ */

static char *trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t') s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) *--e = '\0';
    return s;
}

apr_status_t acme_import_certbot_conf(apr_pool_t *p, const char *data, apr_size_t len,
                                      apr_table_t **pconf)
{
    apr_table_t *conf = apr_table_make(p, 32);
    const char *sections[3] = { NULL, NULL, NULL };
    const char *end = data + len, *line = data;

    *pconf = NULL;
    if (!data || len > CONF_MAX || memchr(data, '\0', len)) {
        return APR_EINVAL;
    }
    while (line < end) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        apr_size_t n = (apr_size_t)((nl ? nl : end) - line);
        char *s, *eq;

        if (n > CONF_LINE_MAX) {
            return APR_EINVAL;
        }
        s = trim(apr_pstrmemdup(p, line, n));
        line = nl ? nl + 1 : end;
        if (*s == '\0' || *s == '#') {
            continue;
        }
        if (*s == '[') {
            /* [section] and ConfigObj's nested [[sub]] */
            int depth = 0;
            char *e;

            while (s[depth] == '[') depth++;
            e = s + strlen(s);
            if (depth > 2 || (size_t)(e - s) < (size_t)(2 * depth + 1)) {
                return APR_EINVAL;
            }
            for (int i = 1; i <= depth; i++) {
                if (e[-i] != ']') return APR_EINVAL;
            }
            e[-depth] = '\0';
            sections[depth] = trim(s + depth);
            if (!*sections[depth] || strpbrk(sections[depth], "[]")) {
                return APR_EINVAL;
            }
            if (depth == 1) sections[2] = NULL;
            else if (!sections[1]) return APR_EINVAL;
            sections[0] = depth == 1 ? sections[1]
                                     : apr_pstrcat(p, sections[1], ".", sections[2], NULL);
            continue;
        }
        if (!(eq = strchr(s, '='))) {
            return APR_EINVAL;
        }
        *eq = '\0';
        {
            char *key = trim(s), *val = trim(eq + 1);
            apr_size_t vl = strlen(val);

            if (!*key) {
                return APR_EINVAL;
            }
            if (vl >= 2 && (val[0] == '"' || val[0] == '\'') && val[vl - 1] == val[0]) {
                val[vl - 1] = '\0';
                val++;
            }
            apr_table_set(conf, sections[0] ? apr_pstrcat(p, sections[0], ".", key, NULL) : key,
                          val);
        }
    }
    *pconf = conf;
    return APR_SUCCESS;
}

/* An account directory of certbot: accounts/<server host[:port]/path>/<id>/. */
static void certbot_account(apr_pool_t *p, acme_import_t *imp, const char *dir, const char *rel,
                            const char *ca_rel, const char *id)
{
    acme_import_account_t *a = acme_import_new_account(p, imp, rel, id);
    const char *rrel = apr_pstrcat(p, rel, "/regr.json", NULL);
    const char *krel = apr_pstrcat(p, rel, "/private_key.json", NULL);
    json_t *regr, *body = NULL, *jwk, *contact = NULL;
    const char *status = NULL;
    char *data;
    apr_size_t len;
    apr_status_t rv;

    a->ca_url = acme_import_printable(p, apr_pstrcat(p, "https://", ca_rel, NULL), 2048);
    if (!(data = acme_import_read_rel(p, dir, rrel, JSON_MAX, &len, &rv))) {
        a->why_not = acme_import_read_error(p, rrel, rv);
        return;
    }
    if (acme_json_parse(p, data, len, &regr, NULL) != APR_SUCCESS || !json_is_object(regr)
        || acme_json_get_str(regr, "uri", &a->url) != APR_SUCCESS) {
        a->why_not = apr_psprintf(p, "%s lacks the account URL (uri)", rrel);
        return;
    }
    a->url = acme_import_printable(p, a->url, 2048);
    if (acme_json_get_obj(regr, "body", &body) == APR_SUCCESS) {
        if (acme_json_get_arr(body, "contact", &contact) == APR_SUCCESS) {
            a->contact = contact;
        }
        if (acme_json_get_str(body, "status", &status) == APR_SUCCESS) {
            a->status = acme_import_printable(p, status, 32);
        }
    }
    if (!(data = acme_import_read_rel(p, dir, krel, KEY_MAX, &len, &rv))) {
        a->why_not = acme_import_read_error(p, krel, rv);
        return;
    }
    rv = acme_json_parse(p, data, len, &jwk, NULL);
    OPENSSL_cleanse(data, len);
    if (rv == APR_SUCCESS) {
        rv = acme_jwk_to_private_key(p, jwk, &a->key);
    }
    acme_import_account_verdict(p, a, rv, krel, "does not hold a private key");
}

/* Walks accounts/ down to the directories holding regr.json. */
static void certbot_accounts(apr_pool_t *p, acme_import_t *imp, const char *dir, const char *rel,
                             int depth)
{
    apr_array_header_t *subs;
    apr_finfo_t fi;

    if (depth > ACCOUNT_DEPTH_MAX) {
        return;
    }
    subs = acme_import_list_dir(p, acme_import_join(p, dir, rel), 1);
    for (int i = 0; i < subs->nelts; i++) {
        const char *name = APR_ARRAY_IDX(subs, i, const char *);
        const char *sub = apr_pstrcat(p, rel, "/", name, NULL);
        const char *link = acme_import_link_reason(p, dir, sub);

        if (link) {
            acme_import_new_account(p, imp, sub, acme_import_printable(p, name, 255))->why_not = link;
        }
        else if (apr_stat(&fi, acme_import_join(p, dir, apr_pstrcat(p, sub, "/regr.json", NULL)), APR_FINFO_TYPE,
                     p) == APR_SUCCESS) {
            /* the server's host and path lie between accounts/ and the id */
            const char *ca_rel = rel + strlen("accounts");

            certbot_account(p, imp, dir, sub, *ca_rel == '/' ? ca_rel + 1 : ca_rel, name);
        }
        else {
            certbot_accounts(p, imp, dir, sub, depth + 1);
        }
    }
}

/* What certbot did for a lineage that mod_acme does another way. */
static void certbot_notes(apr_pool_t *p, acme_import_domain_t *d, apr_table_t *conf)
{
    static const char *const hooks[] = { "pre_hook", "post_hook", "renew_hook", "deploy_hook" };
    const char *auth = apr_table_get(conf, "renewalparams.authenticator"), *v;

    if (auth && (!strncmp(auth, "dns", 3) || !strcmp(auth, "manual"))) {
        acme_import_note(p, d, "certbot answered challenges with its '%s' plugin: for dns-01 set "
                         "ACMEDNSCommand", acme_import_printable(p, auth, 60));
    }
    for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++) {
        if ((v = apr_table_get(conf, apr_pstrcat(p, "renewalparams.", hooks[i], NULL))) && *v) {
            acme_import_note(p, d, "certbot's %s '%s' is not taken: ACMENotifyCmd runs a program on the "
                             "events issued and activated", hooks[i], acme_import_printable(p, v, NOTE_TEXT_MAX));
        }
    }
    if ((v = apr_table_get(conf, "renewalparams.preferred_chain")) && *v) {
        acme_import_note(p, d, "certbot's preferred_chain '%s': set ACMEPreferredChain",
                         acme_import_printable(p, v, NOTE_TEXT_MAX));
    }
    if ((v = apr_table_get(conf, "renewalparams.must_staple")) && !strcasecmp(v, "true")) {
        acme_import_note(p, d, "certbot asked for must-staple certificates: mod_acme does not");
    }
}

static void certbot_lineage(apr_pool_t *p, acme_import_t *imp, const char *dir,
                            const char *file, apr_time_t now)
{
    const char *lineage = apr_pstrmemdup(p, file, strlen(file) - strlen(".conf"));
    const char *rel = apr_pstrcat(p, "renewal/", file, NULL);
    const char *live = apr_pstrcat(p, "live/", lineage, NULL);
    acme_import_domain_t *d = acme_import_new_domain(p, live);
    const char *chain_rel = apr_pstrcat(p, live, "/fullchain.pem", NULL);
    const char *key_rel = apr_pstrcat(p, live, "/privkey.pem", NULL);
    const char *v, *k;
    apr_table_t *conf;
    apr_finfo_t fi;
    apr_size_t len;
    apr_status_t rv;
    char *data;

    d->id = acme_import_printable(p, lineage, 255);
    APR_ARRAY_PUSH(imp->domains, acme_import_domain_t *) = d;
    if (!(data = acme_import_read_rel(p, dir, rel, CONF_MAX, &len, &rv))) {
        d->why_not = acme_import_read_error(p, rel, rv);
        return;
    }
    if (acme_import_certbot_conf(p, data, len, &conf) != APR_SUCCESS) {
        d->why_not = apr_psprintf(p, "%s does not parse", rel);
        return;
    }
    if ((v = apr_table_get(conf, "renewalparams.server")) && *v) {
        d->ca_url = acme_import_printable(p, v, 2048);
    }
    if ((v = apr_table_get(conf, "renewalparams.account")) && *v) {
        d->account_ref = acme_import_printable(p, v, 255);
    }
    if ((v = apr_table_get(conf, "renew_before_expiry")) && *v) {
        if (acme_import_certbot_interval(p, v, &d->renew_window) == APR_SUCCESS) {
            d->renew_window_note = "certbot's renew_before_expiry";
        }
        else {
            d->renew_window_note = apr_psprintf(p, "certbot's renew_before_expiry '%s' has no "
                                                "mod_acme form", acme_import_printable(p, v, 60));
        }
    }
    /* live/<name>/ is certbot's fixed layout; the absolute paths in the
     * conf point at the original directory when DIR is a copy. */
    if (apr_stat(&fi, acme_import_join(p, dir, chain_rel), APR_FINFO_TYPE, p) != APR_SUCCESS
        && (v = apr_table_get(conf, "fullchain")) && *v == '/'
        && (k = apr_table_get(conf, "privkey")) && *k == '/') {
        acme_import_note(p, d, "%s is missing: the files named in %s are read", chain_rel, rel);
        chain_rel = v;
        key_rel = k;
    }
    acme_import_take_pair(p, d, dir, chain_rel, key_rel, NULL, 0, now, lineage);
    if (d->names->nelts > 0) {
        d->id = APR_ARRAY_IDX(d->names, 0, const char *);
    }
    if (d->certs->nelts == 0) {
        d->why_not = "no certificate that can be taken";
        return;
    }
    certbot_notes(p, d, conf);
}

apr_status_t acme_import_certbot(apr_pool_t *p, const char *dir, apr_time_t now,
                                 acme_import_t **pimp, const char **why)
{
    acme_import_t *imp = apr_pcalloc(p, sizeof(*imp));
    apr_array_header_t *files;

    *pimp = NULL;
    imp->kind = "certbot";
    imp->dir = dir;
    imp->accounts = apr_array_make(p, 2, sizeof(acme_import_account_t *));
    imp->domains = apr_array_make(p, 8, sizeof(acme_import_domain_t *));
    if (!acme_import_is_dir(p, acme_import_join(p, dir, "renewal")) && !acme_import_is_dir(p, acme_import_join(p, dir, "accounts"))) {
        *why = apr_psprintf(p, "%s is not a certbot configuration directory (no renewal/ or "
                            "accounts/)", dir);
        return APR_EINVAL;
    }
    certbot_accounts(p, imp, dir, "accounts", 0);
    files = acme_import_list_dir(p, acme_import_join(p, dir, "renewal"), 0);
    for (int i = 0; i < files->nelts; i++) {
        const char *f = APR_ARRAY_IDX(files, i, const char *);
        apr_size_t n = strlen(f);

        if (n > 5 && !strcmp(f + n - 5, ".conf")) {
            certbot_lineage(p, imp, dir, f, now);
        }
    }
    *pimp = imp;
    return APR_SUCCESS;
}
