/* acme_domain.c: domain defaults, its config fingerprint and identifier checks. */
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <openssl/evp.h>

#include "acme_domain.h"
#include "acme_tnauth.h"

#define LETSENCRYPT_URL "https://acme-v02.api.letsencrypt.org/directory"

static char *lowercase(apr_pool_t *p, const char *s)
{
    char *r = apr_pstrdup(p, s);

    for (char *c = r; *c; c++) {
        *c = (char)apr_tolower(*c);
    }
    return r;
}

acme_domain_t *acme_domain_create(apr_pool_t *p, const char *first_name)
{
    acme_domain_t *d = apr_pcalloc(p, sizeof(*d));

    d->names = apr_array_make(p, 4, sizeof(const char *));
    if (first_name != NULL) {
        d->id = lowercase(p, first_name);
        APR_ARRAY_PUSH(d->names, const char *) = d->id;
    }
    d->key_types = apr_array_make(p, 2, sizeof(acme_key_type_e));
    APR_ARRAY_PUSH(d->key_types, acme_key_type_e) = ACME_KEY_EC256;
    d->ca_urls = apr_array_make(p, 2, sizeof(const char *));
    APR_ARRAY_PUSH(d->ca_urls, const char *) = LETSENCRYPT_URL;
    d->challenges = apr_array_make(p, 3, sizeof(const char *));
    APR_ARRAY_PUSH(d->challenges, const char *) = "http-01";
    APR_ARRAY_PUSH(d->challenges, const char *) = "tls-alpn-01";
    APR_ARRAY_PUSH(d->challenges, const char *) = "dns-01";
    d->renew_window_pct = 33;
    d->renew_via_ari = 1;
    d->warn_window_pct = 10;
    d->account_key_type = ACME_KEY_EC256;
    return d;
}

/* Length-prefixed so that ("ab","c") and ("a","bc") hash differently. */
static void hash_field(EVP_MD_CTX *ctx, const char *tag, const char *value)
{
    char prefix[64];
    apr_size_t len = value ? strlen(value) : 0;
    int n = apr_snprintf(prefix, sizeof(prefix), "%s:%" APR_SIZE_T_FMT ":", tag, len);

    EVP_DigestUpdate(ctx, prefix, (size_t)n);
    if (len > 0) {
        EVP_DigestUpdate(ctx, value, len);
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Names lower-cased and sorted: order and case do not change the certificate.
 * A TNAuthList value is base64url, where case matters: kept as it is. */
static void hash_names(apr_pool_t *p, EVP_MD_CTX *ctx, const apr_array_header_t *names)
{
    apr_array_header_t *sorted = apr_array_make(p, names ? names->nelts : 1, sizeof(char *));

    for (int i = 0; names && i < names->nelts; i++) {
        const char *n = APR_ARRAY_IDX(names, i, const char *);
        APR_ARRAY_PUSH(sorted, char *) = acme_tnauth_is_name(n) ? apr_pstrdup(p, n)
                                                                : lowercase(p, n);
    }
    qsort(sorted->elts, (size_t)sorted->nelts, sizeof(char *), cmp_str);
    for (int i = 0; i < sorted->nelts; i++) {
        const char *prev = i > 0 ? APR_ARRAY_IDX(sorted, i - 1, const char *) : NULL;
        const char *cur = APR_ARRAY_IDX(sorted, i, const char *);

        if (prev == NULL || strcmp(prev, cur) != 0) {
            hash_field(ctx, "name", cur);
        }
    }
}

const char *acme_domain_config_hash(apr_pool_t *p, const acme_domain_t *d)
{
    EVP_MD_CTX *ctx;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char *hex;
    int ok;

    if (d == NULL || (ctx = EVP_MD_CTX_new()) == NULL) {
        return NULL;
    }
    ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    if (ok) {
        hash_names(p, ctx, d->names);
        for (int i = 0; d->key_types && i < d->key_types->nelts; i++) {
            /* The enum value, not the name: keeps this file free of acme_key.c. */
            char num[16];

            apr_snprintf(num, sizeof(num), "%d", (int)APR_ARRAY_IDX(d->key_types, i,
                                                                     acme_key_type_e));
            hash_field(ctx, "key", num);
        }
        for (int i = 0; d->ca_urls && i < d->ca_urls->nelts; i++) {
            hash_field(ctx, "ca", APR_ARRAY_IDX(d->ca_urls, i, const char *));
        }
        hash_field(ctx, "profile", d->profile);
        ok = EVP_DigestFinal_ex(ctx, md, &mdlen);
    }
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        return NULL;
    }
    hex = apr_palloc(p, mdlen * 2 + 1);
    for (unsigned int i = 0; i < mdlen; i++) {
        apr_snprintf(hex + 2 * i, 3, "%02x", md[i]);
    }
    hex[mdlen * 2] = '\0';
    return hex;
}

static int is_ip_literal(const char *name)
{
    unsigned char buf[16];

    return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

/* One LDH label: 1..63 characters, no hyphen at either end. */
static int label_valid(const char *s, apr_size_t len)
{
    if (len == 0 || len > 63 || s[0] == '-' || s[len - 1] == '-') {
        return 0;
    }
    for (apr_size_t i = 0; i < len; i++) {
        if (!apr_isalnum(s[i]) && s[i] != '-') {
            return 0;
        }
    }
    return 1;
}

static int dns_name_valid(const char *name)
{
    const char *s = name, *dot, *last = name;
    int all_digits = 1;

    if (strncmp(s, "*.", 2) == 0) {
        s += 2;
    }
    if (strlen(s) > 253 || *s == '\0') {
        return 0;
    }
    for (;;) {
        dot = strchr(s, '.');
        if (!label_valid(s, dot ? (apr_size_t)(dot - s) : strlen(s))) {
            return 0;
        }
        last = s;
        if (dot == NULL) {
            break;
        }
        s = dot + 1;
    }
    /* An all-numeric last label is an IP address gone wrong, not a name. */
    for (const char *c = last; *c; c++) {
        all_digits = all_digits && apr_isdigit(*c);
    }
    return !all_digits;
}

int acme_identifier_valid(const char *name)
{
    if (name == NULL || *name == '\0') {
        return 0;
    }
    return is_ip_literal(name) || dns_name_valid(name);
}

int acme_port_parse(const char *s, int *port)
{
    char *end;
    long v;

    if (s == NULL || !apr_isdigit(*s)) {
        return 0;
    }
    v = strtol(s, &end, 10);
    if (*end || v < 1 || v > 65535) {
        return 0;
    }
    *port = (int)v;
    return 1;
}
