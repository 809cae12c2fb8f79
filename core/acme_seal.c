/* acme_seal.c: AES-256-GCM sealing with OpenSSL 3 EVP, the sealed-blob layout and the key file (see acme_seal.h). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <apr_strings.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include "acme_seal.h"

#define MAGIC "ACS1"
#define MAGIC_LEN 4
#define FP_LEN 8
#define FP_LABEL "mod_acme seal key"
#define MAX_KEYS 64
#define MAX_FILE (64 * 1024)
#define B64_KEY_LEN 44          /* base64 of 32 bytes, with one '=' */
#define MIN_BLOB (MAGIC_LEN + 1 + 1 + FP_LEN + ACME_SEAL_NONCE_LEN + ACME_SEAL_TAG_LEN)

typedef struct seal_key_t {
    char id[ACME_SEAL_MAX_ID + 1];
    unsigned char key[ACME_SEAL_KEY_LEN];
    unsigned char fp[FP_LEN];
} seal_key_t;

struct acme_seal_keys_t {
    int n;
    seal_key_t k[MAX_KEYS];
};

static apr_status_t wipe_keys(void *data)
{
    OPENSSL_cleanse(data, sizeof(acme_seal_keys_t));
    return APR_SUCCESS;
}

static int id_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
           || c == '.' || c == '_' || c == '-';
}

static int fingerprint(const unsigned char *key, unsigned char *fp)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestInit_ex2(ctx, EVP_sha256(), NULL)
             && EVP_DigestUpdate(ctx, FP_LABEL, sizeof(FP_LABEL) - 1)
             && EVP_DigestUpdate(ctx, key, ACME_SEAL_KEY_LEN)
             && EVP_DigestFinal_ex(ctx, md, &mdlen) && mdlen >= FP_LEN;

    EVP_MD_CTX_free(ctx);
    if (ok) memcpy(fp, md, FP_LEN);
    OPENSSL_cleanse(md, sizeof(md));
    return ok;
}

/* Standard base64 of exactly 32 bytes, in its one canonical spelling. */
static int decode_key(const char *s, apr_size_t len, unsigned char *key)
{
    unsigned char buf[48];
    char again[B64_KEY_LEN + 1];
    int ok;

    if (len != B64_KEY_LEN || s[B64_KEY_LEN - 1] != '=' || s[B64_KEY_LEN - 2] == '=') return 0;
    if (EVP_DecodeBlock(buf, (const unsigned char *)s, B64_KEY_LEN) != 33) return 0;
    memcpy(key, buf, ACME_SEAL_KEY_LEN);
    ok = EVP_EncodeBlock((unsigned char *)again, key, ACME_SEAL_KEY_LEN) == B64_KEY_LEN
         && !memcmp(again, s, B64_KEY_LEN);
    OPENSSL_cleanse(buf, sizeof(buf));
    OPENSSL_cleanse(again, sizeof(again));
    return ok;
}

static apr_status_t key_error(apr_pool_t *p, const char **err, int line, const char *why)
{
    if (err) *err = apr_psprintf(p, "line %d: %s", line, why);
    return APR_EINVAL;
}

apr_status_t acme_seal_keys_parse(apr_pool_t *p, const char *text, apr_size_t len,
                                  acme_seal_keys_t **out, const char **err)
{
    acme_seal_keys_t *keys;
    const char *s = text, *end = text + len;
    int line = 0, i;

    if (len > MAX_FILE) {
        if (err) *err = "larger than 64 KiB";
        return APR_EINVAL;
    }
    if (memchr(text, '\0', len)) {
        if (err) *err = "contains a NUL byte";
        return APR_EINVAL;
    }
    keys = apr_pcalloc(p, sizeof(*keys));
    apr_pool_cleanup_register(p, keys, wipe_keys, apr_pool_cleanup_null);
    while (s < end) {
        const char *nl = memchr(s, '\n', (apr_size_t)(end - s));
        const char *e = nl ? nl : end, *id, *b64;
        apr_size_t idlen, b64len;
        seal_key_t *k;

        line++;
        if (e > s && e[-1] == '\r') e--;
        while (s < e && (*s == ' ' || *s == '\t')) s++;
        if (s == e || *s == '#') {
            s = nl ? nl + 1 : end;
            continue;
        }
        id = s;
        while (s < e && id_char(*s)) s++;
        idlen = (apr_size_t)(s - id);
        if (idlen == 0 || idlen > ACME_SEAL_MAX_ID || s == e || (*s != ' ' && *s != '\t')) {
            return key_error(p, err, line, "expected '<key-id> <base64 key>' with a key-id "
                             "of 1..32 characters A-Z a-z 0-9 . _ -");
        }
        while (s < e && (*s == ' ' || *s == '\t')) s++;
        b64 = s;
        while (s < e && *s != ' ' && *s != '\t') s++;
        b64len = (apr_size_t)(s - b64);
        while (s < e && (*s == ' ' || *s == '\t')) s++;
        if (s != e) return key_error(p, err, line, "text after the key");
        if (keys->n == MAX_KEYS) return key_error(p, err, line, "more than 64 keys");
        k = &keys->k[keys->n];
        if (!decode_key(b64, b64len, k->key)) {
            OPENSSL_cleanse(k->key, sizeof(k->key));
            return key_error(p, err, line, "the key is not base64 of 32 bytes "
                             "(make one with: openssl rand -base64 32)");
        }
        memcpy(k->id, id, idlen);
        k->id[idlen] = '\0';
        if (!fingerprint(k->key, k->fp)) return key_error(p, err, line, "SHA-256 failed");
        for (i = 0; i < keys->n; i++) {
            if (!strcmp(keys->k[i].id, k->id)) {
                return key_error(p, err, line, apr_psprintf(p, "key-id %s appears twice", k->id));
            }
            if (!CRYPTO_memcmp(keys->k[i].key, k->key, ACME_SEAL_KEY_LEN)) {
                return key_error(p, err, line, apr_psprintf(p, "the same key as %s", keys->k[i].id));
            }
        }
        keys->n++;
        s = nl ? nl + 1 : end;
    }
    if (keys->n == 0) {
        if (err) *err = "no key in the file (lines '<key-id> <base64 of 32 bytes>')";
        return APR_EINVAL;
    }
    *out = keys;
    return APR_SUCCESS;
}

apr_status_t acme_seal_keys_read(apr_pool_t *p, const char *path, int flags,
                                 acme_seal_keys_t **keys, const char **err)
{
    struct stat st;
    char *buf;
    apr_size_t len = 0;
    apr_status_t rv = APR_SUCCESS;
    const char *why = NULL;
    int fd;

    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        char msg[128];
        int e = errno;
        rv = APR_FROM_OS_ERROR(e);
        if (err) *err = apr_psprintf(p, "key file %s: %s", path, e == ELOOP
                                     ? "is a symbolic link (refused)"
                                     : apr_strerror(rv, msg, sizeof(msg)));
        return rv;
    }
    if (fstat(fd, &st) != 0) {
        rv = APR_FROM_OS_ERROR(errno);
        why = "cannot stat";
    }
    else if (!S_ISREG(st.st_mode)) {
        rv = APR_EINVAL;
        why = "is not a regular file";
    }
    else if (st.st_mode & 077) {
        rv = APR_EACCES;
        why = apr_psprintf(p, "has mode %04o: group or others may access it (chmod 600)",
                           (unsigned)(st.st_mode & 07777));
    }
    else if ((flags & ACME_SEAL_ROOT_OWNED) && st.st_uid != 0) {
        rv = APR_EACCES;
        why = apr_psprintf(p, "is owned by uid %ld, not root (chown root)", (long)st.st_uid);
    }
    else if (st.st_size > MAX_FILE) {
        rv = APR_EINVAL;
        why = "is larger than 64 KiB";
    }
    if (rv != APR_SUCCESS) {
        close(fd);
        if (err) *err = apr_psprintf(p, "key file %s %s", path, why);
        return rv;
    }
    buf = apr_palloc(p, MAX_FILE + 1);
    for (;;) {
        ssize_t n = read(fd, buf + len, MAX_FILE + 1 - len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            rv = APR_FROM_OS_ERROR(errno);
            why = "cannot be read";
            break;
        }
        if (n == 0) break;
        len += (apr_size_t)n;
        if (len > MAX_FILE) {
            rv = APR_EINVAL;
            why = "is larger than 64 KiB";
            break;
        }
    }
    close(fd);
    if (rv == APR_SUCCESS) {
        rv = acme_seal_keys_parse(p, buf, len, keys, &why);
    }
    OPENSSL_cleanse(buf, MAX_FILE + 1);
    if (rv != APR_SUCCESS && err) *err = apr_psprintf(p, "key file %s: %s", path, why);
    return rv;
}

const char *acme_seal_keys_sealing_id(const acme_seal_keys_t *keys)
{
    return keys->k[0].id;
}

int acme_seal_keys_count(const acme_seal_keys_t *keys)
{
    return keys->n;
}

int acme_seal_is_sealed(const void *data, apr_size_t len)
{
    return len >= MAGIC_LEN && !memcmp(data, MAGIC, MAGIC_LEN);
}

apr_status_t acme_seal_parse(const void *blob, apr_size_t len, acme_seal_blob_t *out,
                             const char **err)
{
    const unsigned char *b = blob;
    apr_size_t idlen, i, pos;

    memset(out, 0, sizeof(*out));
    if (!acme_seal_is_sealed(blob, len)) {
        if (err) *err = "not a sealed blob";
        return APR_EINVAL;
    }
    if (len < MIN_BLOB || len > MIN_BLOB + ACME_SEAL_MAX_ID + ACME_SEAL_MAX_PLAIN) {
        if (err) *err = len < MIN_BLOB ? "sealed blob cut short" : "sealed blob too large";
        return APR_EINVAL;
    }
    idlen = b[MAGIC_LEN];
    if (idlen < 1 || idlen > ACME_SEAL_MAX_ID || len < MIN_BLOB - 1 + idlen) {
        if (err) *err = "sealed blob with an invalid key-id length (or cut short)";
        return APR_EINVAL;
    }
    for (i = 0; i < idlen; i++) {
        if (!id_char((char)b[MAGIC_LEN + 1 + i])) {
            if (err) *err = "sealed blob with an invalid key-id";
            return APR_EINVAL;
        }
    }
    memcpy(out->key_id, b + MAGIC_LEN + 1, idlen);
    out->key_id[idlen] = '\0';
    pos = MAGIC_LEN + 1 + idlen;
    out->fingerprint = b + pos;
    pos += FP_LEN;
    out->nonce = b + pos;
    pos += ACME_SEAL_NONCE_LEN;
    out->header_len = pos;
    out->ciphertext = b + pos;
    out->ciphertext_len = len - pos - ACME_SEAL_TAG_LEN;
    out->tag = b + len - ACME_SEAL_TAG_LEN;
    return APR_SUCCESS;
}

/* The associated data after the header: name | 0x00 | generation (8 bytes, big-endian). */
static int add_aad(EVP_CIPHER_CTX *ctx, int enc, const unsigned char *header, apr_size_t hlen,
                   const char *name, apr_uint64_t generation)
{
    unsigned char tail[9];
    int outl, i;

    tail[0] = 0;
    for (i = 0; i < 8; i++) tail[1 + i] = (unsigned char)(generation >> (56 - 8 * i));
    if (enc) {
        return EVP_EncryptUpdate(ctx, NULL, &outl, header, (int)hlen)
               && EVP_EncryptUpdate(ctx, NULL, &outl, (const unsigned char *)name, (int)strlen(name))
               && EVP_EncryptUpdate(ctx, NULL, &outl, tail, sizeof(tail));
    }
    return EVP_DecryptUpdate(ctx, NULL, &outl, header, (int)hlen)
           && EVP_DecryptUpdate(ctx, NULL, &outl, (const unsigned char *)name, (int)strlen(name))
           && EVP_DecryptUpdate(ctx, NULL, &outl, tail, sizeof(tail));
}

apr_status_t acme_seal_with_nonce(apr_pool_t *p, const acme_seal_keys_t *keys, const char *name,
                                  apr_uint64_t generation, const unsigned char *nonce,
                                  const void *plain, apr_size_t len,
                                  unsigned char **blob, apr_size_t *bloblen)
{
    const seal_key_t *k = &keys->k[0];
    apr_size_t idlen = strlen(k->id), hlen = MAGIC_LEN + 1 + idlen + FP_LEN + ACME_SEAL_NONCE_LEN;
    unsigned char *b, *h;
    EVP_CIPHER_CTX *ctx;
    OSSL_PARAM params[2];
    int outl = 0, finl = 0, ok;

    if (!name || len > ACME_SEAL_MAX_PLAIN || (len && !plain)) return APR_EINVAL;
    b = apr_palloc(p, hlen + len + ACME_SEAL_TAG_LEN);
    h = b;
    memcpy(h, MAGIC, MAGIC_LEN);
    h[MAGIC_LEN] = (unsigned char)idlen;
    memcpy(h + MAGIC_LEN + 1, k->id, idlen);
    memcpy(h + MAGIC_LEN + 1 + idlen, k->fp, FP_LEN);
    memcpy(h + MAGIC_LEN + 1 + idlen + FP_LEN, nonce, ACME_SEAL_NONCE_LEN);

    if (!(ctx = EVP_CIPHER_CTX_new())) return APR_ENOMEM;
    params[0] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG,
                                                  b + hlen + len, ACME_SEAL_TAG_LEN);
    params[1] = OSSL_PARAM_construct_end();
    ok = EVP_EncryptInit_ex2(ctx, EVP_aes_256_gcm(), k->key, nonce, NULL)
         && add_aad(ctx, 1, h, hlen, name, generation)
         && EVP_EncryptUpdate(ctx, b + hlen, &outl, plain ? plain : (const void *)"", (int)len)
         && EVP_EncryptFinal_ex(ctx, b + hlen + outl, &finl)
         && (apr_size_t)(outl + finl) == len
         && EVP_CIPHER_CTX_get_params(ctx, params);
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) return APR_EGENERAL;
    *blob = b;
    *bloblen = hlen + len + ACME_SEAL_TAG_LEN;
    return APR_SUCCESS;
}

apr_status_t acme_seal(apr_pool_t *p, const acme_seal_keys_t *keys, const char *name,
                       apr_uint64_t generation, const void *plain, apr_size_t len,
                       unsigned char **blob, apr_size_t *bloblen)
{
    unsigned char nonce[ACME_SEAL_NONCE_LEN];

    if (RAND_bytes(nonce, sizeof(nonce)) != 1) return APR_EGENERAL;
    return acme_seal_with_nonce(p, keys, name, generation, nonce, plain, len, blob, bloblen);
}

static const char *key_ids(apr_pool_t *p, const acme_seal_keys_t *keys)
{
    const char *s = keys->k[0].id;
    int i;

    for (i = 1; i < keys->n; i++) s = apr_pstrcat(p, s, ", ", keys->k[i].id, NULL);
    return s;
}

apr_status_t acme_unseal(apr_pool_t *p, const acme_seal_keys_t *keys, const char *name,
                         apr_uint64_t generation, const void *blob, apr_size_t bloblen,
                         char **plain, apr_size_t *len, const char **err)
{
    acme_seal_blob_t parts;
    const seal_key_t *k = NULL;
    EVP_CIPHER_CTX *ctx;
    OSSL_PARAM params[2];
    unsigned char *out;
    apr_status_t rv;
    int outl = 0, finl = 0, ok, i;

    if (!name) return APR_EINVAL;
    if ((rv = acme_seal_parse(blob, bloblen, &parts, err)) != APR_SUCCESS) return rv;
    for (i = 0; i < keys->n && !k; i++) {
        if (!strcmp(keys->k[i].id, parts.key_id)) k = &keys->k[i];
    }
    if (!k) {
        if (err) *err = apr_psprintf(p, "sealed with key %s, which the key file does not have "
                                     "(it has %s)", parts.key_id, key_ids(p, keys));
        return ACME_SEAL_EWRONGKEY;
    }
    if (CRYPTO_memcmp(k->fp, parts.fingerprint, FP_LEN)) {
        if (err) *err = apr_psprintf(p, "sealed with another key named %s than the key file's: "
                                     "the key file is not the one it was sealed with", k->id);
        return ACME_SEAL_EWRONGKEY;
    }
    out = apr_palloc(p, parts.ciphertext_len + 1);
    if (!(ctx = EVP_CIPHER_CTX_new())) return APR_ENOMEM;
    params[0] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG,
                                                  (void *)parts.tag, ACME_SEAL_TAG_LEN);
    params[1] = OSSL_PARAM_construct_end();
    ok = EVP_DecryptInit_ex2(ctx, EVP_aes_256_gcm(), k->key, parts.nonce, NULL)
         && add_aad(ctx, 0, blob, parts.header_len, name, generation)
         && EVP_DecryptUpdate(ctx, out, &outl, parts.ciphertext, (int)parts.ciphertext_len)
         && EVP_CIPHER_CTX_set_params(ctx, params)
         && EVP_DecryptFinal_ex(ctx, out + outl, &finl) > 0
         && (apr_size_t)(outl + finl) == parts.ciphertext_len;
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) {
        OPENSSL_cleanse(out, parts.ciphertext_len);
        if (err) *err = apr_psprintf(p, "does not open as %s (generation %" APR_UINT64_T_FMT
                                     ") with key %s: it was sealed for another entry or "
                                     "generation, or altered", name, generation, k->id);
        return ACME_SEAL_EMISMATCH;
    }
    out[parts.ciphertext_len] = '\0';
    *plain = (char *)out;
    *len = parts.ciphertext_len;
    return APR_SUCCESS;
}
