/* fuzz_pem.c: libFuzzer target for certificate chain and private key PEM parsing and the facts read from them. */
/* fuzz: max_len=65536 */
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include "acme_jws.h"
#include "acme_key.h"
#include "acme_x509.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    apr_initialize();
    return 0;
}

static void check_cert(apr_pool_t *p, acme_cert_t *c, acme_cert_t *next)
{
    acme_cert_info_t *info;
    const char *id;
    char *pem;
    apr_size_t len;
    apr_array_header_t *back;

    if (acme_cert_info(p, c, &info) == APR_SUCCESS) {
        acme_cert_covers(c, info->dns_names);
        acme_cert_covers(c, info->ip_addrs);
    }
    acme_cert_ari_id(p, c, &id);
    if (next) {
        acme_cert_issued_by(c, next);
    }
    /* A certificate we accepted must survive a round trip through PEM. */
    if (acme_cert_to_pem(p, c, &pem, &len) != APR_SUCCESS
        || acme_certs_from_pem(p, pem, len, &back) != APR_SUCCESS || back->nelts != 1) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    apr_pool_t *p;
    apr_array_header_t *certs = NULL;
    acme_key_t *key;
    int i;

    if (apr_pool_create(&p, NULL) != APR_SUCCESS) {
        return 0;
    }
    if (acme_certs_from_pem(p, (const char *)data, size, &certs) == APR_SUCCESS) {
        for (i = 0; i < certs->nelts; i++) {
            check_cert(p, APR_ARRAY_IDX(certs, i, acme_cert_t *),
                       i + 1 < certs->nelts ? APR_ARRAY_IDX(certs, i + 1, acme_cert_t *) : NULL);
        }
    }
    /* Key decoding is slow in OpenSSL 3; only try where a key block may be. */
    if (memmem(data, size, "PRIVATE KEY", 11)
        && acme_key_from_pem(p, (const char *)data, size, &key) == APR_SUCCESS) {
        json_t *jwk;
        char *pem;
        apr_size_t len;
        if (acme_key_to_pem(p, key, &pem, &len) != APR_SUCCESS) {
            abort();
        }
        acme_jwk_public(p, key, &jwk);
        if (certs) {
            acme_cert_matches_key(APR_ARRAY_IDX(certs, 0, acme_cert_t *), key);
        }
    }
    apr_pool_destroy(p);
    return 0;
}
