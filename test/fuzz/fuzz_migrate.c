/* fuzz_migrate.c: libFuzzer target for what acmectl import and convert-config read from other tools: mod_md's md.json, certbot's renewal configuration, their time spans, private JWKs and httpd configuration with mod_md directives. */
/* fuzz: max_len=16384 */
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "acme_domain.h"
#include "acme_store.h"
#include "acme_import.h"
#include "acme_json.h"
#include "acme_jws.h"
#include "acme_mdconf.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    apr_initialize();
    return 0;
}

/* A parsed md.json names valid identifiers only, its id first, and a store entry exists for it. */
static void check_md_json(apr_pool_t *p, const char *s, apr_size_t n)
{
    acme_import_domain_t *d;

    if (acme_import_md_json(p, s, n, &d) != APR_SUCCESS) {
        return;
    }
    if (!d->id || d->names->nelts == 0 || strcmp(d->id, APR_ARRAY_IDX(d->names, 0, const char *))
        || d->key_order->nelts == 0 || !acme_store_entry(p, d->id)) {
        abort();
    }
    for (int i = 0; i < d->names->nelts; i++) {
        if (!acme_identifier_valid(APR_ARRAY_IDX(d->names, i, const char *))) {
            abort();
        }
    }
    for (int i = 0; i < d->key_order->nelts; i++) {
        if (strchr(APR_ARRAY_IDX(d->key_order, i, const char *), '/')) {
            abort();    /* a key file suffix must stay inside the domain's directory */
        }
    }
}

/* A time span that converts is one ACMERenewWindow accepts: digits and one unit. */
static void check_span(const char *span)
{
    size_t n = strlen(span), digits = strspn(span, "0123456789");

    if (digits == 0 || digits + 1 != n || !strchr("dhms%", span[n - 1]) || span[0] == '0') {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    apr_pool_t *p;
    const char *s, *out, *err;
    apr_table_t *conf;
    acme_mdconf_t *res;
    acme_key_t *key;
    json_t *j;

    apr_pool_create(&p, NULL);
    s = apr_pstrmemdup(p, (const char *)data, size);
    check_md_json(p, s, size);
    (void)acme_import_certbot_conf(p, s, size, &conf);
    if (size < 64 && acme_import_md_timespan(p, s, 'd', &out) == APR_SUCCESS) {
        check_span(out);
    }
    if (size < 64 && acme_import_certbot_interval(p, s, &out) == APR_SUCCESS) {
        check_span(out);
    }
    if (acme_json_parse(p, s, size, &j, NULL) == APR_SUCCESS) {
        (void)acme_jwk_to_private_key(p, j, &key);
    }
    if (acme_mdconf_convert(p, s, size, "fuzz", &res, &err) == APR_SUCCESS
        && (!res->text || res->converted < 0)) {
        abort();
    }
    apr_pool_destroy(p);
    return 0;
}
