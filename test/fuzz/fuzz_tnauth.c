/* fuzz_tnauth.c: libFuzzer target for the TNAuthList decoder (strict DER, RFC 8226), the acmectl list form, and the Authority Token extraction and checks of tkauth-01 (RFC 9447/9448). */
/* fuzz: max_len=8192 */
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "acme_base64.h"
#include "acme_domain.h"
#include "acme_store.h"
#include "acme_tkauth.h"
#include "acme_tnauth.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    apr_initialize();
    return 0;
}

#define SPC1234 "MAigBhYEMTIzNA"
#define FP "SHA256 37:36:CB:B1:78:7C:B8:30:9C:77:EE:8C:37:05:C5:E1:6F:FB:9E:85:97:15:90:1F:1E:4C:59:B1:11:82:F5:7B"
#define HDR "{\"typ\":\"JWT\",\"alg\":\"ES256\",\"x5u\":\"https://ta.example/cert\"}"

/* A decoded list encodes back to exactly the input, and everything derived
 * from it works: the decoder accepts DER only. */
static void check_list(apr_pool_t *p, const acme_tnauth_t *tl, const unsigned char *der,
                       apr_size_t len)
{
    unsigned char *again = NULL;
    apr_size_t n = 0;
    const char *value = NULL, *id;
    acme_tnauth_t *back = NULL;

    if (acme_tnauth_to_der(p, tl, &again, &n) != APR_SUCCESS
        || (der && (n != len || memcmp(again, der, n)))
        || acme_tnauth_value(p, tl, &value) != APR_SUCCESS
        || acme_tnauth_from_value(p, value, &back) != APR_SUCCESS
        || back->entries->nelts != tl->entries->nelts
        || !*acme_tnauth_describe(p, tl)
        || !(id = acme_tnauth_domain_id(p, tl)) || !acme_store_entry(p, id)) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    apr_pool_t *p;
    acme_tnauth_t *tl = NULL;
    acme_tkauth_req_t req;
    const char *why = NULL, *jwt = NULL, *in;
    apr_time_t now = apr_time_from_sec(1700000000);

    if (size < 1 || apr_pool_create(&p, NULL) != APR_SUCCESS) {
        return 0;
    }
    memset(&req, 0, sizeof(req));
    req.id_type = "TNAuthList";
    req.id_value = SPC1234;
    req.tkauth_type = "atc";
    req.fingerprint = FP;
    in = apr_pstrmemdup(p, (const char *)data + 1, size - 1);
    /* The first byte picks the parser; the rest is its input. */
    switch (data[0] % 4) {
    case 0:     /* DER from a CA's authorization, certificate or a token's tkvalue */
        if (acme_tnauth_from_der(p, data + 1, size - 1, &tl) == APR_SUCCESS) {
            check_list(p, tl, data + 1, size - 1);
        }
        break;
    case 1:     /* the acmectl form */
        if (acme_tnauth_parse_spec(p, in, &tl, &why) == APR_SUCCESS) {
            check_list(p, tl, NULL, 0);
        }
        else if (!why) {
            abort();
        }
        break;
    case 2:     /* what a token command printed or a token file holds */
        if (acme_tkauth_token_from(p, in, size - 1, "fuzz", &jwt, &why) == APR_SUCCESS) {
            if (acme_tkauth_check(p, jwt, &req, now, &why) != APR_SUCCESS && !why) abort();
        }
        else if (!why) {
            abort();
        }
        break;
    default:    /* the claims of a token, under a good header */
        jwt = apr_pstrcat(p, acme_b64u_encode(p, HDR, strlen(HDR)), ".",
                          acme_b64u_encode(p, data + 1, size - 1), ".c2ln", NULL);
        if (acme_tkauth_check(p, jwt, &req, now, &why) != APR_SUCCESS && !why) abort();
        break;
    }
    apr_pool_destroy(p);
    return 0;
}
