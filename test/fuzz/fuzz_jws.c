/* fuzz_jws.c: libFuzzer target for the JWK parser (thumbprints, public keys), the protected header JWS signing writes, and the tests' JWS verifier (test/unit/testjws.c) on flattened JSON. */
/* fuzz: max_len=16384 also=test/unit/testjws.c */
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include "acme_base64.h"
#include "acme_json.h"
#include "acme_jws.h"
#include "testjws.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    apr_initialize();
    return 0;
}

/* Signing with the input's "url", "nonce" and "kid" strings (any escapes) must
 * give exactly the header Jansson writes for them, and one that verifies. The
 * key is made per run: a long-lived one would keep its prepared signing context
 * in pool memory, which LeakSanitizer does not scan. */
static void check_sign(apr_pool_t *p, const json_t *in)
{
    const char *url, *nonce, *kid, *prot, *want, *payload;
    acme_key_t *sign_key;
    json_t *jws, *hdr;
    unsigned char *text;
    apr_size_t len, plen;

    if (acme_json_get_str(in, "url", &url) != APR_SUCCESS) {
        return;
    }
    if (acme_key_generate(p, ACME_KEY_EC256, &sign_key) != APR_SUCCESS) {
        abort();
    }
    if (acme_json_get_str(in, "nonce", &nonce) != APR_SUCCESS) {
        nonce = NULL;
    }
    if (acme_json_get_str(in, "kid", &kid) != APR_SUCCESS) {
        kid = "k";
    }
    if (acme_jws_sign(p, sign_key, kid, nonce, url, "{}", &jws) != APR_SUCCESS) {
        abort();
    }
    hdr = acme_json_own(p, json_pack("{s:s,s:s*,s:s,s:s}", "alg", "ES256", "nonce", nonce,
                                     "url", url, "kid", kid));
    want = acme_json_dump(p, hdr, 0);
    if (!want || acme_json_get_str(jws, "protected", &prot) != APR_SUCCESS
        || acme_b64u_decode(p, prot, strlen(prot), &text, &len) != APR_SUCCESS
        || len != strlen(want) || memcmp(text, want, len) != 0
        || tu_jws_verify(p, jws, sign_key, NULL, 0, &payload, &plen, NULL) != APR_SUCCESS) {
        abort();
    }
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
        if (tu_jws_verify(p, jws, NULL, hkey, sizeof(hkey) - 1, &payload, &plen, &hdr) == APR_SUCCESS) {
            if (!payload || payload[plen] != '\0' || !json_is_object(hdr)) {
                abort();
            }
        }
        check_sign(p, jws);
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
