/* fuzz_seal.c: libFuzzer target for sealed blobs (as read back from a shared store) and key files. */
/* fuzz: max_len=4096 */
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "acme_seal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static apr_pool_t *keys_pool;
static acme_seal_keys_t *keys;

/* The key of the seed blobs in corpus/fuzz_seal (bytes 0..31 as "k1"). */
#define KEY_FILE "k2 q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=\n" \
                 "k1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
#define NAME "accounts/ca-1/account.pem"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    apr_initialize();
    apr_pool_create(&keys_pool, NULL);
    if (acme_seal_keys_parse(keys_pool, KEY_FILE, strlen(KEY_FILE), &keys, NULL) != APR_SUCCESS) {
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    apr_pool_t *p;
    acme_seal_blob_t parts;
    acme_seal_keys_t *k;
    const char *err = NULL;
    char *plain;
    apr_size_t len;
    apr_status_t rv;

    if (apr_pool_create(&p, NULL) != APR_SUCCESS) {
        return 0;
    }
    if (acme_seal_parse(data, size, &parts, &err) == APR_SUCCESS) {
        if (parts.header_len + parts.ciphertext_len + ACME_SEAL_TAG_LEN != size
            || parts.tag != data + size - ACME_SEAL_TAG_LEN || !parts.key_id[0]) {
            abort();
        }
    }
    else if (!err) {
        abort();
    }
    rv = acme_unseal(p, keys, NAME, 0, data, size, &plain, &len, &err);
    if (rv == APR_SUCCESS) {
        /* Only a real blob opens (the seeds); it opens nowhere else. */
        if (len + ACME_SEAL_TAG_LEN > size || plain[len] != '\0'
            || acme_unseal(p, keys, NAME, 1, data, size, &plain, &len, &err) != ACME_SEAL_EMISMATCH) {
            abort();
        }
    }
    else if (rv != APR_EINVAL && rv != ACME_SEAL_EWRONGKEY && rv != ACME_SEAL_EMISMATCH) {
        abort();
    }
    if (acme_seal_keys_parse(p, (const char *)data, size, &k, &err) == APR_SUCCESS) {
        unsigned char *blob;
        apr_size_t n;
        /* Any key file that parses seals and opens. */
        if (acme_seal_keys_count(k) < 1
            || acme_seal(p, k, NAME, 2, data, size, &blob, &n) != APR_SUCCESS
            || acme_unseal(p, k, NAME, 2, blob, n, &plain, &len, &err) != APR_SUCCESS
            || len != size || memcmp(plain, data, size)) {
            abort();
        }
    }
    apr_pool_destroy(p);
    return 0;
}
