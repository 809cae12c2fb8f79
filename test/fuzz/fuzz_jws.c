/* fuzz_jws.c: libFuzzer target for JWS verification (flattened JSON, key from the header's jwk or an HMAC key). */
/* fuzz: max_len=16384 */
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include "acme_json.h"
#include "acme_jws.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    apr_initialize();
    return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static const unsigned char hkey[] = "fuzz-hmac-key-0123456789abcdef";
    apr_pool_t *p;
    json_t *jws, *hdr, *jwk;
    const char *payload, *tp;
    apr_size_t plen;
    acme_key_t *key;

    if (apr_pool_create(&p, NULL) != APR_SUCCESS) {
        return 0;
    }
    if (acme_json_parse(p, (const char *)data, size, &jws, NULL) == APR_SUCCESS) {
        if (acme_jws_verify(p, jws, NULL, hkey, sizeof(hkey) - 1, &payload, &plen, &hdr) == APR_SUCCESS) {
            if (!payload || payload[plen] != '\0' || !json_is_object(hdr)) {
                abort();
            }
        }
        /* The JWK code on whatever object the input holds. */
        if (acme_json_get_obj(jws, "jwk", &jwk) == APR_SUCCESS) {
            acme_jwk_thumbprint_json(p, jwk, &tp);
            if (acme_jwk_to_key(p, jwk, &key) == APR_SUCCESS
                && acme_jwk_thumbprint(p, key, &tp) != APR_SUCCESS) {
                abort();
            }
        }
    }
    apr_pool_destroy(p);
    return 0;
}
