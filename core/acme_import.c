/* acme_import.c: reads mod_md's store and certbot's configuration directory (accounts, active certificates and keys, renewal settings) into an acme_import_t; writes nothing. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <apr_file_info.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <openssl/crypto.h>
#include "acme_base64.h"
#include "acme_domain.h"
#include "acme_drive.h"
#include "acme_file.h"
#include "acme_import.h"
#include "acme_json.h"
#include "acme_jws.h"
#include "acme_x509.h"

/* Limits on what is read: these are small files; anything bigger is not theirs. */
#define JSON_MAX (1024 * 1024)
#define CHAIN_MAX (1024 * 1024)
#define KEY_MAX (64 * 1024)
#define CONF_MAX (256 * 1024)
#define CONF_LINE_MAX 4096
#define DIR_ENTRIES_MAX 100000
#define ACCOUNT_DEPTH_MAX 8
#define NOTE_TEXT_MAX 200

/* ---- small helpers ------------------------------------------------------- */

/* Text from a file, fit for a one-line report: control characters become '?'
 * and it is cut at max characters. */
static const char *printable(apr_pool_t *p, const char *s, apr_size_t max)
{
    apr_size_t n = s ? strlen(s) : 0;
    char *out;

    if (n > max) {
        n = max;
    }
    out = apr_pstrmemdup(p, s ? s : "", n);
    for (char *q = out; *q; q++) {
        if (apr_iscntrl(*q)) {
            *q = '?';
        }
    }
    return out;
}

static void note(apr_pool_t *p, acme_import_domain_t *d, const char *fmt, ...)
    ACME_PRINTF(3, 4);

static void note(apr_pool_t *p, acme_import_domain_t *d, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    APR_ARRAY_PUSH(d->notes, const char *) = apr_pvsprintf(p, fmt, ap);
    va_end(ap);
}

/* rel below dir; an absolute path stays as it is. */
static const char *join(apr_pool_t *p, const char *dir, const char *rel)
{
    return rel[0] == '/' ? rel : apr_pstrcat(p, dir, "/", rel, NULL);
}

/* The file dir/rel, at most max bytes; NULL when it cannot be read (*rv says why). */
static char *read_rel(apr_pool_t *p, const char *dir, const char *rel, apr_size_t max,
                      apr_size_t *len, apr_status_t *rv)
{
    char *data = NULL;

    *rv = acme_file_read(p, join(p, dir, rel), max, &data, len);
    return *rv == APR_SUCCESS ? data : NULL;
}

static const char *read_error(apr_pool_t *p, const char *rel, apr_status_t rv)
{
    char buf[120];

    if (APR_STATUS_IS_ENOENT(rv)) {
        return apr_psprintf(p, "%s is missing", rel);
    }
    if (rv == APR_ENOSPC) {
        return apr_psprintf(p, "%s is too large", rel);
    }
    return apr_psprintf(p, "%s cannot be read (%s)", rel, apr_strerror(rv, buf, sizeof(buf)));
}

static int is_dir(apr_pool_t *p, const char *path)
{
    apr_finfo_t fi;

    /* APR_FINFO_LINK: a symbolic link is not followed into another tree. */
    return apr_stat(&fi, path, APR_FINFO_TYPE | APR_FINFO_LINK, p) == APR_SUCCESS
           && fi.filetype == APR_DIR;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The entries of a directory (no "." and ".."), sorted; only directories
 * (not links to them) when dirs is set. Empty when it cannot be read. */
static apr_array_header_t *list_dir(apr_pool_t *p, const char *path, int dirs)
{
    apr_array_header_t *out = apr_array_make(p, 8, sizeof(const char *));
    apr_dir_t *d;
    apr_finfo_t fi;
    apr_status_t rv;

    if (apr_dir_open(&d, path, p) != APR_SUCCESS) {
        return out;
    }
    while (out->nelts < DIR_ENTRIES_MAX
           && ((rv = apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE | APR_FINFO_LINK, d))
               == APR_SUCCESS || rv == APR_INCOMPLETE)) {
        if (!fi.name || !strcmp(fi.name, ".") || !strcmp(fi.name, "..")) {
            continue;
        }
        if (dirs && !((fi.valid & APR_FINFO_TYPE) ? fi.filetype == APR_DIR
                                                  : is_dir(p, join(p, path, fi.name)))) {
            continue;
        }
        APR_ARRAY_PUSH(out, const char *) = apr_pstrdup(p, fi.name);
    }
    apr_dir_close(d);
    qsort(out->elts, (size_t)out->nelts, sizeof(const char *), name_cmp);
    return out;
}

static acme_import_domain_t *new_domain(apr_pool_t *p, const char *source)
{
    acme_import_domain_t *d = apr_pcalloc(p, sizeof(*d));

    d->source = source;
    d->names = apr_array_make(p, 4, sizeof(const char *));
    d->key_order = apr_array_make(p, 2, sizeof(const char *));
    d->certs = apr_array_make(p, 2, sizeof(acme_import_cert_t *));
    d->notes = apr_array_make(p, 2, sizeof(const char *));
    return d;
}

static int has_name(const apr_array_header_t *names, const char *n)
{
    for (int i = 0; i < names->nelts; i++) {
        if (!strcasecmp(APR_ARRAY_IDX(names, i, const char *), n)) {
            return 1;
        }
    }
    return 0;
}

/* Adds a lower-cased name once; 0 when it is not a valid identifier. */
static int add_name(apr_pool_t *p, apr_array_header_t *names, const char *n)
{
    char *low;

    if (!n || !acme_identifier_valid(n)) {
        return 0;
    }
    low = apr_pstrdup(p, n);
    for (char *q = low; *q; q++) {
        *q = (char)apr_tolower(*q);
    }
    if (!has_name(names, low)) {
        APR_ARRAY_PUSH(names, const char *) = low;
    }
    return 1;
}

/* ---- time spans ------------------------------------------------------------ */

apr_status_t acme_import_md_timespan(apr_pool_t *p, const char *s, char def_unit,
                                     const char **out)
{
    apr_int64_t n = 0;
    const char *q = s;
    int digits = 0;

    if (!s) {
        return APR_EINVAL;
    }
    while (apr_isdigit(*q) && digits < 10) {
        n = n * 10 + (*q++ - '0');
        digits++;
    }
    if (digits == 0 || apr_isdigit(*q) || n <= 0) {
        return APR_EINVAL;
    }
    if (*q == '%') {
        if (q[1] != '\0' || n >= 100) {
            return APR_EINVAL;
        }
        *out = apr_psprintf(p, "%" APR_INT64_T_FMT "%%", n);
        return APR_SUCCESS;
    }
    /* mod_md reads the first letter of the unit (two for "mi" and "ms"). */
    switch (apr_tolower(*q ? *q : def_unit)) {
    case 'd': *out = apr_psprintf(p, "%" APR_INT64_T_FMT "d", n); return APR_SUCCESS;
    case 'h': *out = apr_psprintf(p, "%" APR_INT64_T_FMT "h", n); return APR_SUCCESS;
    case 's': *out = apr_psprintf(p, "%" APR_INT64_T_FMT "s", n); return APR_SUCCESS;
    case 'm':
        if (apr_tolower(q[1]) == 'i') {
            *out = apr_psprintf(p, "%" APR_INT64_T_FMT "m", n);
            return APR_SUCCESS;
        }
        if (apr_tolower(q[1]) == 's') {  /* milliseconds: whole seconds, at least one */
            *out = apr_psprintf(p, "%" APR_INT64_T_FMT "s", (n + 999) / 1000);
            return APR_SUCCESS;
        }
        return APR_EINVAL;
    default:
        return APR_EINVAL;
    }
}

/* certbot's "renew_before_expiry" units (parsedatetime's spellings that have a fixed length). */
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

/* ---- certificates ------------------------------------------------------------ */

/* The DNS names and IP addresses of a leaf, id first: preferred when it is among them. */
static void names_from_leaf(apr_pool_t *p, acme_import_domain_t *d, const acme_cert_info_t *info,
                            const char *preferred)
{
    if (preferred && (has_name(info->dns_names, preferred) || has_name(info->ip_addrs, preferred))) {
        add_name(p, d->names, preferred);
    }
    for (int i = 0; i < info->dns_names->nelts; i++) {
        add_name(p, d->names, APR_ARRAY_IDX(info->dns_names, i, const char *));
    }
    for (int i = 0; i < info->ip_addrs->nelts; i++) {
        add_name(p, d->names, APR_ARRAY_IDX(info->ip_addrs, i, const char *));
    }
}

/* Checks one chain + key pair of d and takes it, or notes why not. With
 * preferred set (certbot) d's names come from the certificate. */
static void take_pair(apr_pool_t *p, acme_import_domain_t *d, const char *dir,
                      const char *rel_chain, const char *rel_key, const void *pass,
                      apr_size_t pass_len, apr_time_t now, const char *preferred)
{
    acme_import_cert_t *c = apr_pcalloc(p, sizeof(*c));
    apr_array_header_t *certs;
    acme_cert_info_t *info;
    acme_key_t *key = NULL;
    char *kdata;
    apr_size_t klen;
    apr_status_t rv;
    const char *why;

    c->source = rel_chain;
    c->chain_pem = read_rel(p, dir, rel_chain, CHAIN_MAX, &c->chain_len, &rv);
    if (!c->chain_pem) {
        note(p, d, "not taken: %s", read_error(p, rel_chain, rv));
        return;
    }
    if (acme_certs_from_pem(p, c->chain_pem, c->chain_len, &certs) != APR_SUCCESS
        || acme_cert_info(p, APR_ARRAY_IDX(certs, 0, acme_cert_t *), &info) != APR_SUCCESS) {
        note(p, d, "not taken: %s does not hold PEM certificates", rel_chain);
        return;
    }
    if (preferred) {
        names_from_leaf(p, d, info, preferred);
        if (d->names->nelts == 0) {
            note(p, d, "not taken: the certificate in %s names no DNS name or IP address",
                 rel_chain);
            return;
        }
    }
    kdata = read_rel(p, dir, rel_key, KEY_MAX, &klen, &rv);
    if (!kdata) {
        note(p, d, "not taken: %s", read_error(p, rel_key, rv));
        return;
    }
    rv = acme_key_from_pem_pass(p, kdata, klen, NULL, 0, &key);
    if (rv == APR_EINVAL && pass) {
        rv = acme_key_from_pem_pass(p, kdata, klen, pass, pass_len, &key);
    }
    OPENSSL_cleanse(kdata, klen);
    if (rv == APR_ENOTIMPL) {
        note(p, d, "not taken: the key in %s is of a type mod_acme does not use (it uses %s)",
             rel_key, acme_key_type_names());
        return;
    }
    if (rv != APR_SUCCESS) {
        note(p, d, "not taken: %s does not hold a readable private key", rel_key);
        return;
    }
    c->key_type = acme_key_type_name(acme_key_type(key));
    if (!acme_cert_matches_key(APR_ARRAY_IDX(certs, 0, acme_cert_t *), key)) {
        note(p, d, "not taken: %s is not the key of the certificate in %s", rel_key, rel_chain);
        return;
    }
    if (!acme_cert_covers(APR_ARRAY_IDX(certs, 0, acme_cert_t *), d->names)) {
        note(p, d, "not taken: the certificate in %s does not cover every name of %s",
             rel_chain, d->id ? d->id : "the domain");
        return;
    }
    if ((why = acme_drive_check_chain(p, certs, now)) != NULL) {
        note(p, d, "not taken: %s: %s", rel_chain, why);
        return;
    }
    for (int i = 0; i < d->certs->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(d->certs, i, acme_import_cert_t *)->key_type, c->key_type)) {
            note(p, d, "not taken: %s is a second %s certificate", rel_chain, c->key_type);
            return;
        }
    }
    if (acme_key_to_pem(p, key, &c->key_pem, &c->key_len) != APR_SUCCESS) {
        note(p, d, "not taken: the key in %s cannot be converted", rel_key);
        return;
    }
    c->serial = info->serial;
    c->not_before = info->not_before;
    c->not_after = info->not_after;
    APR_ARRAY_PUSH(d->certs, acme_import_cert_t *) = c;
}

/* ---- mod_md ------------------------------------------------------------------ */

/* The file suffix mod_md gives a key spec: "" for RSA, ".<curve>" for EC. */
static const char *md_spec_suffix(apr_pool_t *p, const json_t *spec)
{
    const char *type = NULL, *curve = NULL;

    if (acme_json_get_str(spec, "type", &type) != APR_SUCCESS) {
        return NULL;
    }
    if (!strcasecmp(type, "RSA") || !strcasecmp(type, "Default")) {
        return "";
    }
    if (!strcasecmp(type, "EC") && acme_json_get_str(spec, "curve", &curve) == APR_SUCCESS
        && *curve && strlen(curve) < 64 && !strpbrk(curve, "/\\") && strcmp(curve, "..")) {
        char *s = apr_pstrcat(p, ".", curve, NULL);

        for (char *q = s; *q; q++) {
            *q = (char)apr_tolower(*q);
        }
        return s;
    }
    return NULL;
}

apr_status_t acme_import_md_json(apr_pool_t *p, const char *data, apr_size_t len,
                                 acme_import_domain_t **pd)
{
    acme_import_domain_t *d = new_domain(p, NULL);
    json_t *md, *domains = NULL, *ca = NULL, *urls = NULL, *pk = NULL;
    const char *name = NULL, *s = NULL;
    size_t i;

    *pd = NULL;
    if (acme_json_parse(p, data, len, &md, NULL) != APR_SUCCESS || !json_is_object(md)
        || acme_json_get_arr(md, "domains", &domains) != APR_SUCCESS
        || json_array_size(domains) == 0 || json_array_size(domains) > 1000
        || acme_json_opt_str(md, "name", &name) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    /* The managed domain's name leads when it is one of its names. */
    for (i = 0; name && i < json_array_size(domains); i++) {
        const char *n = json_string_value(json_array_get(domains, i));

        if (n && !strcasecmp(n, name)) {
            add_name(p, d->names, n);
        }
    }
    for (i = 0; i < json_array_size(domains); i++) {
        if (!add_name(p, d->names, json_string_value(json_array_get(domains, i)))) {
            return APR_EINVAL;
        }
    }
    d->id = APR_ARRAY_IDX(d->names, 0, const char *);
    if (acme_json_get_obj(md, "ca", &ca) == APR_SUCCESS) {
        if (acme_json_opt_str(ca, "url", &d->ca_url) != APR_SUCCESS
            || acme_json_opt_str(ca, "account", &d->account_ref) != APR_SUCCESS) {
            return APR_EINVAL;
        }
        if (!d->ca_url && acme_json_get_arr(ca, "urls", &urls) == APR_SUCCESS) {
            d->ca_url = json_string_value(json_array_get(urls, 0));
        }
    }
    if (acme_json_opt_str(md, "renew-window", &s) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    if (s && acme_import_md_timespan(p, s, 'd', &d->renew_window) != APR_SUCCESS) {
        d->renew_window_note = apr_psprintf(p, "mod_md's renew-window '%s' has no mod_acme form",
                                            printable(p, s, 40));
    }
    else if (s) {
        d->renew_window_note = "mod_md's renew-window";
    }
    pk = json_object_get(md, "privkey");
    if (json_is_object(pk)) {
        if ((s = md_spec_suffix(p, pk)) == NULL) return APR_EINVAL;
        APR_ARRAY_PUSH(d->key_order, const char *) = s;
    }
    else if (json_is_array(pk)) {
        for (i = 0; i < json_array_size(pk) && i < 8; i++) {
            if ((s = md_spec_suffix(p, json_array_get(pk, i))) == NULL) return APR_EINVAL;
            APR_ARRAY_PUSH(d->key_order, const char *) = s;
        }
    }
    else if (pk != NULL) {
        return APR_EINVAL;
    }
    if (d->key_order->nelts == 0) {
        APR_ARRAY_PUSH(d->key_order, const char *) = "";   /* mod_md's default: RSA 2048 */
    }
    *pd = d;
    return APR_SUCCESS;
}

/* An account found at source (relative path), known there as ref. */
static acme_import_account_t *new_account(apr_pool_t *p, acme_import_t *imp, const char *source,
                                          const char *ref)
{
    acme_import_account_t *a = apr_pcalloc(p, sizeof(*a));

    a->source = source;
    a->ref = ref;
    a->status = "valid";
    APR_ARRAY_PUSH(imp->accounts, acme_import_account_t *) = a;
    return a;
}

/* Whether an account can be taken, after reading its key from krel gave rv. */
static void account_verdict(apr_pool_t *p, acme_import_account_t *a, apr_status_t rv,
                            const char *krel, const char *unreadable)
{
    if (rv == APR_ENOTIMPL) {
        a->why_not = apr_psprintf(p, "the key in %s is of a type mod_acme does not sign with", krel);
    }
    else if (rv != APR_SUCCESS) {
        a->why_not = apr_psprintf(p, "%s %s", krel, unreadable);
    }
    else if (strcmp(a->status, "valid") != 0) {
        a->why_not = apr_psprintf(p, "the account is %s", a->status);
    }
}

static void md_account(apr_pool_t *p, acme_import_t *imp, const char *dir, const char *name,
                       const void *pass, apr_size_t pass_len)
{
    const char *rel = apr_pstrcat(p, "accounts/", name, NULL);
    acme_import_account_t *a = new_account(p, imp, rel, name);
    const char *jrel = apr_pstrcat(p, rel, "/account.json", NULL);
    const char *krel = apr_pstrcat(p, rel, "/account.pem", NULL);
    json_t *j = NULL, *contact = NULL;
    char *data;
    apr_size_t len;
    apr_status_t rv;

    if (!(data = read_rel(p, dir, jrel, JSON_MAX, &len, &rv))) {
        a->why_not = read_error(p, jrel, rv);
        return;
    }
    if (acme_json_parse(p, data, len, &j, NULL) != APR_SUCCESS || !json_is_object(j)
        || acme_json_get_str(j, "url", &a->url) != APR_SUCCESS
        || acme_json_get_str(j, "ca-url", &a->ca_url) != APR_SUCCESS
        || acme_json_opt_str(j, "status", &a->status) != APR_SUCCESS) {
        a->why_not = apr_psprintf(p, "%s lacks the account or CA URL", jrel);
        return;
    }
    a->url = printable(p, a->url, 2048);
    a->ca_url = printable(p, a->ca_url, 2048);
    a->status = a->status ? printable(p, a->status, 32) : "valid";
    if (acme_json_get_arr(j, "contact", &contact) == APR_SUCCESS) {
        a->contact = contact;
    }
    if (!(data = read_rel(p, dir, krel, KEY_MAX, &len, &rv))) {
        a->why_not = read_error(p, krel, rv);
        return;
    }
    rv = acme_key_from_pem_pass(p, data, len, pass, pass_len, &a->key);
    OPENSSL_cleanse(data, len);
    account_verdict(p, a, rv, krel, "cannot be decrypted with the key of md_store.json");
}

/* What mod_md's job.json says about the last renewal run. */
static void md_job_notes(apr_pool_t *p, acme_import_domain_t *d, const char *dir)
{
    const char *rel = apr_pstrcat(p, d->source, "/job.json", NULL), *detail = NULL;
    json_t *job, *last = NULL;
    json_int_t errors = 0;
    apr_size_t len;
    apr_status_t rv;
    char *data = read_rel(p, dir, rel, JSON_MAX, &len, &rv);

    if (!data || acme_json_parse(p, data, len, &job, NULL) != APR_SUCCESS) {
        return;
    }
    if (acme_json_get_int(job, "errors", &errors) == APR_SUCCESS && errors > 0) {
        if (acme_json_get_obj(job, "last", &last) == APR_SUCCESS) {
            (void)acme_json_opt_str(last, "detail", &detail);
        }
        note(p, d, "mod_md's last renewal attempt failed (%d errors%s%s); mod_acme starts afresh",
             (int)(errors > 999 ? 999 : errors), detail ? ": " : "",
             detail ? printable(p, detail, NOTE_TEXT_MAX) : "");
    }
}

static void md_domain(apr_pool_t *p, acme_import_t *imp, const char *dir, const char *name,
                      const void *pass, apr_size_t pass_len, apr_time_t now)
{
    const char *rel = apr_pstrcat(p, "domains/", name, NULL);
    const char *jrel = apr_pstrcat(p, rel, "/md.json", NULL);
    acme_import_domain_t *d = NULL;
    char *data;
    apr_size_t len;
    apr_status_t rv;

    if (!(data = read_rel(p, dir, jrel, JSON_MAX, &len, &rv))) {
        d = new_domain(p, rel);
        d->why_not = read_error(p, jrel, rv);
    }
    else if (acme_import_md_json(p, data, len, &d) != APR_SUCCESS) {
        d = new_domain(p, rel);
        d->why_not = apr_psprintf(p, "%s does not describe a managed domain", jrel);
    }
    d->source = rel;
    d->id = d->id ? d->id : printable(p, name, 255);
    APR_ARRAY_PUSH(imp->domains, acme_import_domain_t *) = d;
    if (d->why_not) {
        return;
    }
    if (d->ca_url) {
        d->ca_url = printable(p, d->ca_url, 2048);
    }
    for (int i = 0; i < d->key_order->nelts; i++) {
        const char *sfx = APR_ARRAY_IDX(d->key_order, i, const char *);

        take_pair(p, d, dir, apr_pstrcat(p, rel, "/pubcert", sfx, ".pem", NULL),
                  apr_pstrcat(p, rel, "/privkey", sfx, ".pem", NULL), pass, pass_len, now, NULL);
    }
    if (d->certs->nelts == 0) {
        d->why_not = "no certificate that can be taken";
    }
    else if (d->certs->nelts < d->key_order->nelts) {
        note(p, d, "only %d of its %d key types are taken: mod_acme orders the others when "
             "they are configured", d->certs->nelts, d->key_order->nelts);
    }
    if (is_dir(p, join(p, dir, apr_pstrcat(p, "staging/", name, NULL)))) {
        note(p, d, "staging/%s (a renewal mod_md had not activated yet) is not taken: mod_acme "
             "renews by itself when due", printable(p, name, 255));
    }
    md_job_notes(p, d, dir);
}

apr_status_t acme_import_mod_md(apr_pool_t *p, const char *dir, apr_time_t now,
                                acme_import_t **pimp, const char **why)
{
    acme_import_t *imp = apr_pcalloc(p, sizeof(*imp));
    apr_array_header_t *names;
    const unsigned char *pass = NULL;
    unsigned char *raw = NULL;
    apr_size_t pass_len = 0, len;
    const char *key64 = NULL;
    json_t *store;
    apr_status_t rv;
    char *data;

    *pimp = NULL;
    imp->kind = "mod_md";
    imp->dir = dir;
    imp->accounts = apr_array_make(p, 2, sizeof(acme_import_account_t *));
    imp->domains = apr_array_make(p, 8, sizeof(acme_import_domain_t *));
    if (!(data = read_rel(p, dir, "md_store.json", JSON_MAX, &len, &rv))) {
        *why = apr_psprintf(p, "%s is not a mod_md store: %s", dir,
                            read_error(p, "md_store.json", rv));
        return APR_EINVAL;
    }
    if (acme_json_parse(p, data, len, &store, NULL) != APR_SUCCESS || !json_is_object(store)
        || acme_json_opt_str(store, "key", &key64) != APR_SUCCESS) {
        *why = apr_psprintf(p, "%s/md_store.json does not parse", dir);
        return APR_EINVAL;
    }
    /* Account keys are encrypted with the store's random key (raw bytes) as passphrase. */
    if (key64 && acme_b64u_decode(p, key64, strlen(key64), &raw, &pass_len) == APR_SUCCESS) {
        pass = raw;
    }
    names = list_dir(p, join(p, dir, "accounts"), 1);
    for (int i = 0; i < names->nelts; i++) {
        md_account(p, imp, dir, APR_ARRAY_IDX(names, i, const char *), pass, pass_len);
    }
    names = list_dir(p, join(p, dir, "domains"), 1);
    for (int i = 0; i < names->nelts; i++) {
        md_domain(p, imp, dir, APR_ARRAY_IDX(names, i, const char *), pass, pass_len, now);
    }
    if (raw) {
        OPENSSL_cleanse(raw, pass_len);
    }
    *pimp = imp;
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
    acme_import_account_t *a = new_account(p, imp, rel, id);
    const char *rrel = apr_pstrcat(p, rel, "/regr.json", NULL);
    const char *krel = apr_pstrcat(p, rel, "/private_key.json", NULL);
    json_t *regr, *body = NULL, *jwk, *contact = NULL;
    const char *status = NULL;
    char *data;
    apr_size_t len;
    apr_status_t rv;

    a->ca_url = printable(p, apr_pstrcat(p, "https://", ca_rel, NULL), 2048);
    if (!(data = read_rel(p, dir, rrel, JSON_MAX, &len, &rv))) {
        a->why_not = read_error(p, rrel, rv);
        return;
    }
    if (acme_json_parse(p, data, len, &regr, NULL) != APR_SUCCESS || !json_is_object(regr)
        || acme_json_get_str(regr, "uri", &a->url) != APR_SUCCESS) {
        a->why_not = apr_psprintf(p, "%s lacks the account URL (uri)", rrel);
        return;
    }
    a->url = printable(p, a->url, 2048);
    if (acme_json_get_obj(regr, "body", &body) == APR_SUCCESS) {
        if (acme_json_get_arr(body, "contact", &contact) == APR_SUCCESS) {
            a->contact = contact;
        }
        if (acme_json_get_str(body, "status", &status) == APR_SUCCESS) {
            a->status = printable(p, status, 32);
        }
    }
    if (!(data = read_rel(p, dir, krel, KEY_MAX, &len, &rv))) {
        a->why_not = read_error(p, krel, rv);
        return;
    }
    rv = acme_json_parse(p, data, len, &jwk, NULL);
    OPENSSL_cleanse(data, len);
    if (rv == APR_SUCCESS) {
        rv = acme_jwk_to_private_key(p, jwk, &a->key);
    }
    account_verdict(p, a, rv, krel, "does not hold a private key");
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
    subs = list_dir(p, join(p, dir, rel), 1);
    for (int i = 0; i < subs->nelts; i++) {
        const char *name = APR_ARRAY_IDX(subs, i, const char *);
        const char *sub = apr_pstrcat(p, rel, "/", name, NULL);

        if (apr_stat(&fi, join(p, dir, apr_pstrcat(p, sub, "/regr.json", NULL)), APR_FINFO_TYPE,
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
        note(p, d, "certbot answered challenges with its '%s' plugin: for dns-01 set "
             "ACMEDNSCommand", printable(p, auth, 60));
    }
    for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++) {
        if ((v = apr_table_get(conf, apr_pstrcat(p, "renewalparams.", hooks[i], NULL))) && *v) {
            note(p, d, "certbot's %s '%s' is not taken: ACMENotifyCmd runs a program on the "
                 "events issued and activated", hooks[i], printable(p, v, NOTE_TEXT_MAX));
        }
    }
    if ((v = apr_table_get(conf, "renewalparams.preferred_chain")) && *v) {
        note(p, d, "certbot's preferred_chain '%s': set ACMEPreferredChain",
             printable(p, v, NOTE_TEXT_MAX));
    }
    if ((v = apr_table_get(conf, "renewalparams.must_staple")) && !strcasecmp(v, "true")) {
        note(p, d, "certbot asked for must-staple certificates: mod_acme does not");
    }
}

static void certbot_lineage(apr_pool_t *p, acme_import_t *imp, const char *dir,
                            const char *file, apr_time_t now)
{
    const char *lineage = apr_pstrmemdup(p, file, strlen(file) - strlen(".conf"));
    const char *rel = apr_pstrcat(p, "renewal/", file, NULL);
    const char *live = apr_pstrcat(p, "live/", lineage, NULL);
    acme_import_domain_t *d = new_domain(p, live);
    const char *chain_rel = apr_pstrcat(p, live, "/fullchain.pem", NULL);
    const char *key_rel = apr_pstrcat(p, live, "/privkey.pem", NULL);
    const char *v, *k;
    apr_table_t *conf;
    apr_finfo_t fi;
    apr_size_t len;
    apr_status_t rv;
    char *data;

    d->id = printable(p, lineage, 255);
    APR_ARRAY_PUSH(imp->domains, acme_import_domain_t *) = d;
    if (!(data = read_rel(p, dir, rel, CONF_MAX, &len, &rv))) {
        d->why_not = read_error(p, rel, rv);
        return;
    }
    if (acme_import_certbot_conf(p, data, len, &conf) != APR_SUCCESS) {
        d->why_not = apr_psprintf(p, "%s does not parse", rel);
        return;
    }
    if ((v = apr_table_get(conf, "renewalparams.server")) && *v) {
        d->ca_url = printable(p, v, 2048);
    }
    if ((v = apr_table_get(conf, "renewalparams.account")) && *v) {
        d->account_ref = printable(p, v, 255);
    }
    if ((v = apr_table_get(conf, "renew_before_expiry")) && *v) {
        if (acme_import_certbot_interval(p, v, &d->renew_window) == APR_SUCCESS) {
            d->renew_window_note = "certbot's renew_before_expiry";
        }
        else {
            d->renew_window_note = apr_psprintf(p, "certbot's renew_before_expiry '%s' has no "
                                                "mod_acme form", printable(p, v, 60));
        }
    }
    /* live/<name>/ is certbot's fixed layout; the absolute paths in the
     * conf point at the original directory when DIR is a copy. */
    if (apr_stat(&fi, join(p, dir, chain_rel), APR_FINFO_TYPE, p) != APR_SUCCESS
        && (v = apr_table_get(conf, "fullchain")) && *v == '/'
        && (k = apr_table_get(conf, "privkey")) && *k == '/') {
        note(p, d, "%s is missing: the files named in %s are read", chain_rel, rel);
        chain_rel = v;
        key_rel = k;
    }
    take_pair(p, d, dir, chain_rel, key_rel, NULL, 0, now, lineage);
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
    if (!is_dir(p, join(p, dir, "renewal")) && !is_dir(p, join(p, dir, "accounts"))) {
        *why = apr_psprintf(p, "%s is not a certbot configuration directory (no renewal/ or "
                            "accounts/)", dir);
        return APR_EINVAL;
    }
    certbot_accounts(p, imp, dir, "accounts", 0);
    files = list_dir(p, join(p, dir, "renewal"), 0);
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

/* ---- both ---------------------------------------------------------------------- */

const acme_import_account_t *acme_import_account_of(const acme_import_t *imp,
                                                    const acme_import_domain_t *d)
{
    for (int i = 0; d->account_ref && i < imp->accounts->nelts; i++) {
        const acme_import_account_t *a = APR_ARRAY_IDX(imp->accounts, i, acme_import_account_t *);

        if (a->ref && !strcmp(a->ref, d->account_ref)
            && (!d->ca_url || !a->ca_url || !strcmp(d->ca_url, a->ca_url))) {
            return a;
        }
    }
    return NULL;
}
