/* acme_import.c: reads mod_md's store (accounts, domains, active certificates and keys, renewal settings) into an acme_import_t, with the helpers the certbot reader (acme_import_certbot.c) shares; writes nothing. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <apr_file_info.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <openssl/crypto.h>
#include "acme_activate.h"
#include "acme_base64.h"
#include "acme_domain.h"
#include "acme_file.h"
#include "acme_import.h"
#include "acme_import_int.h"
#include "acme_json.h"
#include "acme_log.h"
#include "acme_x509.h"

/* Limits on what is read: these are small files; anything bigger is not theirs. */
#define CHAIN_MAX (1024 * 1024)
#define DIR_ENTRIES_MAX 100000

/* ---- small helpers ------------------------------------------------------- */

/* Text from a file, fit for a one-line report: control characters become '?'
 * and it is cut at max characters. */
const char *acme_import_printable(apr_pool_t *p, const char *s, apr_size_t max)
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

void acme_import_note(apr_pool_t *p, acme_import_domain_t *d, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    APR_ARRAY_PUSH(d->notes, const char *) = apr_pvsprintf(p, fmt, ap);
    va_end(ap);
}

/* rel below dir; an absolute path stays as it is. */
const char *acme_import_join(apr_pool_t *p, const char *dir, const char *rel)
{
    return rel[0] == '/' ? rel : apr_pstrcat(p, dir, "/", rel, NULL);
}

/* The file dir/rel, at most max bytes; NULL when it cannot be read (*rv says why). */
char *acme_import_read_rel(apr_pool_t *p, const char *dir, const char *rel, apr_size_t max,
                           apr_size_t *len, apr_status_t *rv)
{
    char *data = NULL;

    *rv = acme_file_read(p, acme_import_join(p, dir, rel), max, &data, len);
    return *rv == APR_SUCCESS ? data : NULL;
}

const char *acme_import_read_error(apr_pool_t *p, const char *rel, apr_status_t rv)
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

int acme_import_is_dir(apr_pool_t *p, const char *path)
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
apr_array_header_t *acme_import_list_dir(apr_pool_t *p, const char *path, int dirs)
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
                                                  : acme_import_is_dir(p, acme_import_join(p, path, fi.name)))) {
            continue;
        }
        APR_ARRAY_PUSH(out, const char *) = apr_pstrdup(p, fi.name);
    }
    apr_dir_close(d);
    qsort(out->elts, (size_t)out->nelts, sizeof(const char *), name_cmp);
    return out;
}

acme_import_domain_t *acme_import_new_domain(apr_pool_t *p, const char *source)
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

/* Adds a name once, lower-cased by core's one name normaliser; 0 when it is not a valid identifier. */
static int add_name(apr_pool_t *p, apr_array_header_t *names, const char *n)
{
    if (!n || !acme_identifier_valid(n)) {
        return 0;
    }
    (void)acme_names_add(p, names, n);
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
void acme_import_take_pair(apr_pool_t *p, acme_import_domain_t *d, const char *dir,
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
    c->chain_pem = acme_import_read_rel(p, dir, rel_chain, CHAIN_MAX, &c->chain_len, &rv);
    if (!c->chain_pem) {
        acme_import_note(p, d, "not taken: %s", acme_import_read_error(p, rel_chain, rv));
        return;
    }
    if (acme_certs_from_pem(p, c->chain_pem, c->chain_len, &certs) != APR_SUCCESS
        || acme_cert_info(p, APR_ARRAY_IDX(certs, 0, acme_cert_t *), &info) != APR_SUCCESS) {
        acme_import_note(p, d, "not taken: %s does not hold PEM certificates", rel_chain);
        return;
    }
    if (preferred) {
        names_from_leaf(p, d, info, preferred);
        if (d->names->nelts == 0) {
            acme_import_note(p, d, "not taken: the certificate in %s names no DNS name or IP address",
                             rel_chain);
            return;
        }
    }
    kdata = acme_import_read_rel(p, dir, rel_key, KEY_MAX, &klen, &rv);
    if (!kdata) {
        acme_import_note(p, d, "not taken: %s", acme_import_read_error(p, rel_key, rv));
        return;
    }
    rv = acme_key_from_pem_pass(p, kdata, klen, NULL, 0, &key);
    if (rv == APR_EINVAL && pass) {
        rv = acme_key_from_pem_pass(p, kdata, klen, pass, pass_len, &key);
    }
    OPENSSL_cleanse(kdata, klen);
    if (rv == APR_ENOTIMPL) {
        acme_import_note(p, d, "not taken: the key in %s is of a type mod_acme does not use (it uses %s)",
                         rel_key, acme_key_type_names());
        return;
    }
    if (rv != APR_SUCCESS) {
        acme_import_note(p, d, "not taken: %s does not hold a readable private key", rel_key);
        return;
    }
    c->key_type = acme_key_type_name(acme_key_type(key));
    if (!acme_cert_matches_key(APR_ARRAY_IDX(certs, 0, acme_cert_t *), key)) {
        acme_import_note(p, d, "not taken: %s is not the key of the certificate in %s", rel_key, rel_chain);
        return;
    }
    if (!acme_cert_covers(APR_ARRAY_IDX(certs, 0, acme_cert_t *), d->names)) {
        acme_import_note(p, d, "not taken: the certificate in %s does not cover every name of %s",
                         rel_chain, d->id ? d->id : "the domain");
        return;
    }
    if ((why = acme_activate_check_chain(p, certs, now)) != NULL) {
        acme_import_note(p, d, "not taken: %s: %s", rel_chain, why);
        return;
    }
    for (int i = 0; i < d->certs->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(d->certs, i, acme_import_cert_t *)->key_type, c->key_type)) {
            acme_import_note(p, d, "not taken: %s is a second %s certificate", rel_chain, c->key_type);
            return;
        }
    }
    if (acme_key_to_pem(p, key, &c->key_pem, &c->key_len) != APR_SUCCESS) {
        acme_import_note(p, d, "not taken: the key in %s cannot be converted", rel_key);
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
    acme_import_domain_t *d = acme_import_new_domain(p, NULL);
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
                                            acme_import_printable(p, s, 40));
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
acme_import_account_t *acme_import_new_account(apr_pool_t *p, acme_import_t *imp, const char *source,
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
void acme_import_account_verdict(apr_pool_t *p, acme_import_account_t *a, apr_status_t rv,
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
    acme_import_account_t *a = acme_import_new_account(p, imp, rel, name);
    const char *jrel = apr_pstrcat(p, rel, "/account.json", NULL);
    const char *krel = apr_pstrcat(p, rel, "/account.pem", NULL);
    json_t *j = NULL, *contact = NULL;
    char *data;
    apr_size_t len;
    apr_status_t rv;

    if (!(data = acme_import_read_rel(p, dir, jrel, JSON_MAX, &len, &rv))) {
        a->why_not = acme_import_read_error(p, jrel, rv);
        return;
    }
    if (acme_json_parse(p, data, len, &j, NULL) != APR_SUCCESS || !json_is_object(j)
        || acme_json_get_str(j, "url", &a->url) != APR_SUCCESS
        || acme_json_get_str(j, "ca-url", &a->ca_url) != APR_SUCCESS
        || acme_json_opt_str(j, "status", &a->status) != APR_SUCCESS) {
        a->why_not = apr_psprintf(p, "%s lacks the account or CA URL", jrel);
        return;
    }
    a->url = acme_import_printable(p, a->url, 2048);
    a->ca_url = acme_import_printable(p, a->ca_url, 2048);
    a->status = a->status ? acme_import_printable(p, a->status, 32) : "valid";
    if (acme_json_get_arr(j, "contact", &contact) == APR_SUCCESS) {
        a->contact = contact;
    }
    if (!(data = acme_import_read_rel(p, dir, krel, KEY_MAX, &len, &rv))) {
        a->why_not = acme_import_read_error(p, krel, rv);
        return;
    }
    rv = acme_key_from_pem_pass(p, data, len, pass, pass_len, &a->key);
    OPENSSL_cleanse(data, len);
    acme_import_account_verdict(p, a, rv, krel, "cannot be decrypted with the key of md_store.json");
}

/* What mod_md's job.json says about the last renewal run. */
static void md_job_notes(apr_pool_t *p, acme_import_domain_t *d, const char *dir)
{
    const char *rel = apr_pstrcat(p, d->source, "/job.json", NULL), *detail = NULL;
    json_t *job, *last = NULL;
    json_int_t errors = 0;
    apr_size_t len;
    apr_status_t rv;
    char *data = acme_import_read_rel(p, dir, rel, JSON_MAX, &len, &rv);

    if (!data || acme_json_parse(p, data, len, &job, NULL) != APR_SUCCESS) {
        return;
    }
    if (acme_json_get_int(job, "errors", &errors) == APR_SUCCESS && errors > 0) {
        if (acme_json_get_obj(job, "last", &last) == APR_SUCCESS) {
            (void)acme_json_opt_str(last, "detail", &detail);
        }
        acme_import_note(p, d, "mod_md's last renewal attempt failed (%d errors%s%s); mod_acme starts afresh",
                         (int)(errors > 999 ? 999 : errors), detail ? ": " : "",
                         detail ? acme_import_printable(p, detail, NOTE_TEXT_MAX) : "");
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

    if (!(data = acme_import_read_rel(p, dir, jrel, JSON_MAX, &len, &rv))) {
        d = acme_import_new_domain(p, rel);
        d->why_not = acme_import_read_error(p, jrel, rv);
    }
    else if (acme_import_md_json(p, data, len, &d) != APR_SUCCESS) {
        d = acme_import_new_domain(p, rel);
        d->why_not = apr_psprintf(p, "%s does not describe a managed domain", jrel);
    }
    d->source = rel;
    d->id = d->id ? d->id : acme_import_printable(p, name, 255);
    APR_ARRAY_PUSH(imp->domains, acme_import_domain_t *) = d;
    if (d->why_not) {
        return;
    }
    if (d->ca_url) {
        d->ca_url = acme_import_printable(p, d->ca_url, 2048);
    }
    for (int i = 0; i < d->key_order->nelts; i++) {
        const char *sfx = APR_ARRAY_IDX(d->key_order, i, const char *);

        acme_import_take_pair(p, d, dir, apr_pstrcat(p, rel, "/pubcert", sfx, ".pem", NULL),
                              apr_pstrcat(p, rel, "/privkey", sfx, ".pem", NULL), pass, pass_len, now, NULL);
    }
    if (d->certs->nelts == 0) {
        d->why_not = "no certificate that can be taken";
    }
    else if (d->certs->nelts < d->key_order->nelts) {
        acme_import_note(p, d, "only %d of its %d key types are taken: mod_acme orders the others when "
                         "they are configured", d->certs->nelts, d->key_order->nelts);
    }
    if (acme_import_is_dir(p, acme_import_join(p, dir, apr_pstrcat(p, "staging/", name, NULL)))) {
        acme_import_note(p, d, "staging/%s (a renewal mod_md had not activated yet) is not taken: mod_acme "
                         "renews by itself when due", acme_import_printable(p, name, 255));
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
    if (!(data = acme_import_read_rel(p, dir, "md_store.json", JSON_MAX, &len, &rv))) {
        *why = apr_psprintf(p, "%s is not a mod_md store: %s", dir,
                            acme_import_read_error(p, "md_store.json", rv));
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
    names = acme_import_list_dir(p, acme_import_join(p, dir, "accounts"), 1);
    for (int i = 0; i < names->nelts; i++) {
        md_account(p, imp, dir, APR_ARRAY_IDX(names, i, const char *), pass, pass_len);
    }
    names = acme_import_list_dir(p, acme_import_join(p, dir, "domains"), 1);
    for (int i = 0; i < names->nelts; i++) {
        md_domain(p, imp, dir, APR_ARRAY_IDX(names, i, const char *), pass, pass_len, now);
    }
    if (raw) {
        OPENSSL_cleanse(raw, pass_len);
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
