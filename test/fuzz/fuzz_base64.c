/* fuzz_base64.c: libFuzzer target for the strict base64url decoder (decode must be the exact inverse of encode). */
/* fuzz: max_len=4096 */
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include "acme_base64.h"

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
    apr_pool_t *p;
    unsigned char *out;
    apr_size_t len;
    char *s;

    if (apr_pool_create(&p, NULL) != APR_SUCCESS) {
        return 0;
    }
    if (acme_b64u_decode(p, (const char *)data, size, &out, &len) == APR_SUCCESS) {
        /* Strictness means one encoding per value: encoding gives the input back. */
        const char *again = acme_b64u_encode(p, out, len);
        if (strlen(again) != size || memcmp(again, data, size) != 0 || out[len] != '\0') {
            abort();
        }
    }
    /* Encoding arbitrary bytes always decodes back to them. */
    s = acme_b64u_encode(p, data, size);
    if (acme_b64u_decode(p, s, strlen(s), &out, &len) != APR_SUCCESS || len != size
        || (size && memcmp(out, data, size) != 0)) {
        abort();
    }
    apr_pool_destroy(p);
    return 0;
}
