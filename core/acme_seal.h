/* acme_seal.h: AES-256-GCM sealing of secrets kept in a shared store (private keys in Redis), bound to the entry they belong to, with keys from a key file that allows rotation. */
#ifndef ACME_SEAL_H
#define ACME_SEAL_H

#include <apr_pools.h>

/*
 * Sealed blob (all of it binary; lengths in bytes):
 *   magic       4   "ACS1"
 *   key-id      1+n+8  n (1..32), the key's name, and the first 8 bytes of
 *                   SHA-256("mod_acme seal key" | key): tells a wrong key
 *                   file (same name, other key) from a moved blob
 *   nonce       12  random for every seal
 *   ciphertext  len of the plaintext
 *   tag         16  GCM tag
 * Associated data (authenticated, not stored): the blob's header (magic,
 * key-id, nonce) | the entry's full name | 0x00 | generation as 8 bytes
 * big-endian (0 for entries that are not published sets). A blob therefore
 * opens only under the name and generation it was sealed for.
 *
 * Key file (ACMEStoreKeyFile): text, one key per line
 *     <key-id> <base64 of 32 random bytes>
 * key-id of [A-Za-z0-9._-], 1..32 characters; '#' lines and blank lines are
 * ignored; at most 64 keys, 64 KiB. The first key seals; every key opens
 * (rotation: put the new key first, keep the old ones until nothing sealed
 * with them is left). Make one with
 *     printf 'k1 %s\n' "$(openssl rand -base64 32)" > FILE; chmod 600 FILE
 */

#define ACME_SEAL_KEY_LEN 32
#define ACME_SEAL_NONCE_LEN 12
#define ACME_SEAL_TAG_LEN 16
#define ACME_SEAL_MAX_ID 32
#define ACME_SEAL_MAX_PLAIN (16 * 1024 * 1024)

/* The blob's key-id names no key of the file, or a key of that name that
 * is not the one it was sealed with. */
#define ACME_SEAL_EWRONGKEY (APR_OS_START_USERERR + 1311)
/* The key is right but the blob does not open: it was sealed for another
 * entry or generation (moved or copied), or altered. */
#define ACME_SEAL_EMISMATCH (APR_OS_START_USERERR + 1312)

typedef struct acme_seal_keys_t acme_seal_keys_t;

/* Flags of acme_seal_keys_read. */
#define ACME_SEAL_ROOT_OWNED 0x1   /* the file must be owned by root */

/* Reads a key file; never follows a symbolic link. A file readable or
 * writable by group or others is refused; with ACME_SEAL_ROOT_OWNED also
 * one not owned by root. The key bytes are wiped when p is cleared.
 * APR_EINVAL/APR_EACCES/... with *err naming the file and the problem. */
apr_status_t acme_seal_keys_read(apr_pool_t *p, const char *path, int flags,
                                 acme_seal_keys_t **keys, const char **err);
/* The same for the file's text (len bytes). */
apr_status_t acme_seal_keys_parse(apr_pool_t *p, const char *text, apr_size_t len,
                                  acme_seal_keys_t **keys, const char **err);
/* The id of the key that seals. */
const char *acme_seal_keys_sealing_id(const acme_seal_keys_t *keys);
/* How many keys the file has. */
int acme_seal_keys_count(const acme_seal_keys_t *keys);

/* Seals len bytes (at most ACME_SEAL_MAX_PLAIN) for entry name (full name,
 * e.g. "accounts/<ca>/account.pem") and generation. */
apr_status_t acme_seal(apr_pool_t *p, const acme_seal_keys_t *keys, const char *name,
                       apr_uint64_t generation, const void *plain, apr_size_t len,
                       unsigned char **blob, apr_size_t *bloblen);
/* acme_seal with a given nonce: for known-answer tests only (a nonce must
 * never be used twice with one key). */
apr_status_t acme_seal_with_nonce(apr_pool_t *p, const acme_seal_keys_t *keys, const char *name,
                                  apr_uint64_t generation, const unsigned char *nonce,
                                  const void *plain, apr_size_t len,
                                  unsigned char **blob, apr_size_t *bloblen);

/* Opens a blob sealed for name and generation. *plain NUL-terminated (not
 * counted). APR_EINVAL (not a sealed blob / malformed), ACME_SEAL_EWRONGKEY,
 * ACME_SEAL_EMISMATCH; *err says which, naming key ids, never key bytes. */
apr_status_t acme_unseal(apr_pool_t *p, const acme_seal_keys_t *keys, const char *name,
                         apr_uint64_t generation, const void *blob, apr_size_t bloblen,
                         char **plain, apr_size_t *len, const char **err);

/* A blob's parts, pointing into it. */
typedef struct acme_seal_blob_t {
    char key_id[ACME_SEAL_MAX_ID + 1];
    const unsigned char *fingerprint;   /* 8 bytes */
    const unsigned char *nonce;         /* ACME_SEAL_NONCE_LEN */
    const unsigned char *ciphertext;
    apr_size_t ciphertext_len;
    const unsigned char *tag;           /* ACME_SEAL_TAG_LEN */
    apr_size_t header_len;              /* magic + key-id + nonce */
} acme_seal_blob_t;

/* Strict parse of a blob's layout (nothing decrypted). APR_EINVAL with *err. */
apr_status_t acme_seal_parse(const void *blob, apr_size_t len, acme_seal_blob_t *out,
                             const char **err);
/* True when data starts like a sealed blob (its magic). */
int acme_seal_is_sealed(const void *data, apr_size_t len);

#endif
