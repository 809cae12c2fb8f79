/* acme_key.c: generation, PEM import/export and typing of RSA and EC private keys on OpenSSL 3 EVP. */
#include <string.h>
#include <apr_atomic.h>
#include <apr_strings.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include "acme_key.h"

/* Private key PEM files are small; anything larger is not a key. */
#define ACME_KEY_PEM_MAX (64 * 1024)

struct acme_key_t {
    EVP_PKEY *pkey;
    acme_key_type_e type;
    /* EVP_MD_CTX after EVP_DigestSignInit, made on first use (acme_key_sign_ctx)
     * and only ever copied from, so threads sharing the key share no mutable state. */
    void *sign_tmpl;
};

static const struct {
    acme_key_type_e type;
    const char *name;
} key_names[] = {
    { ACME_KEY_EC256, "ec256" }, { ACME_KEY_EC384, "ec384" },
    { ACME_KEY_RSA2048, "rsa2048" }, { ACME_KEY_RSA3072, "rsa3072" },
    { ACME_KEY_RSA4096, "rsa4096" },
};

apr_status_t acme_key_type_parse(const char *s, acme_key_type_e *type)
{
    size_t i;

    for (i = 0; s && i < sizeof(key_names) / sizeof(key_names[0]); i++) {
        if (!strcasecmp(s, key_names[i].name)) {
            *type = key_names[i].type;
            return APR_SUCCESS;
        }
    }
    return APR_EINVAL;
}

const char *acme_key_type_name(acme_key_type_e type)
{
    size_t i;

    for (i = 0; i < sizeof(key_names) / sizeof(key_names[0]); i++) {
        if (key_names[i].type == type) {
            return key_names[i].name;
        }
    }
    return "unknown";
}

const char *acme_key_type_names(void)
{
    return "ec256, ec384, rsa2048, rsa3072, rsa4096";
}

/* The list type of an EVP key, ACME_KEY_UNKNOWN for anything else. */
static acme_key_type_e classify(EVP_PKEY *pkey)
{
    if (EVP_PKEY_is_a(pkey, "RSA")) {
        switch (EVP_PKEY_get_bits(pkey)) {
        case 2048: return ACME_KEY_RSA2048;
        case 3072: return ACME_KEY_RSA3072;
        case 4096: return ACME_KEY_RSA4096;
        default: return ACME_KEY_UNKNOWN;
        }
    }
    if (EVP_PKEY_is_a(pkey, "EC")) {
        char group[64];
        size_t glen = 0;
        if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
                                            group, sizeof(group), &glen)) {
            return ACME_KEY_UNKNOWN;
        }
        if (!strcmp(group, "prime256v1") || !strcmp(group, "P-256")) return ACME_KEY_EC256;
        if (!strcmp(group, "secp384r1") || !strcmp(group, "P-384")) return ACME_KEY_EC384;
    }
    return ACME_KEY_UNKNOWN;
}

static apr_status_t key_cleanup(void *data)
{
    acme_key_t *key = data;

    EVP_MD_CTX_free(key->sign_tmpl);
    key->sign_tmpl = NULL;
    EVP_PKEY_free(key->pkey);
    key->pkey = NULL;
    return APR_SUCCESS;
}

acme_key_t *acme_key_wrap(apr_pool_t *p, EVP_PKEY *pkey)
{
    acme_key_t *key = apr_pcalloc(p, sizeof(*key));

    key->pkey = pkey;
    key->type = pkey ? classify(pkey) : ACME_KEY_UNKNOWN;
    apr_pool_cleanup_register(p, key, key_cleanup, apr_pool_cleanup_null);
    return key;
}

EVP_PKEY *acme_key_evp(const acme_key_t *key)
{
    return key ? key->pkey : NULL;
}

acme_key_type_e acme_key_type(const acme_key_t *key)
{
    return key ? key->type : ACME_KEY_UNKNOWN;
}

/* The digest of signatures by key: SHA-384 for P-384, SHA-256 otherwise (RFC 7518 §3.1). */
static const EVP_MD *sign_md(const acme_key_t *key)
{
    return key->type == ACME_KEY_EC384 ? EVP_sha384() : EVP_sha256();
}

/* The key's prepared signing context, made once; a thread that loses the race
 * to publish its own frees it and uses the winner's. */
static EVP_MD_CTX *sign_template(acme_key_t *key)
{
    volatile void **slot = (volatile void **)&key->sign_tmpl;
    EVP_MD_CTX *tmpl = apr_atomic_casptr(slot, NULL, NULL), *won;

    if (tmpl) {
        return tmpl;
    }
    tmpl = EVP_MD_CTX_new();
    if (!tmpl || EVP_DigestSignInit(tmpl, NULL, sign_md(key), NULL, key->pkey) <= 0) {
        EVP_MD_CTX_free(tmpl);
        return NULL;
    }
    won = apr_atomic_casptr(slot, tmpl, NULL);
    if (won) {
        EVP_MD_CTX_free(tmpl);
        return won;
    }
    return tmpl;
}

apr_status_t acme_key_sign_ctx(const acme_key_t *key, EVP_MD_CTX **ctx)
{
    EVP_MD_CTX *tmpl;

    *ctx = NULL;
    if (!key || !key->pkey) {
        return APR_EINVAL;
    }
    /* The template is a cache behind a const key: the key itself does not change. */
    if (!(tmpl = sign_template((acme_key_t *)key))) {
        return APR_EGENERAL;
    }
    if (!(*ctx = EVP_MD_CTX_new())) {
        return APR_ENOMEM;
    }
    if (!EVP_MD_CTX_copy_ex(*ctx, tmpl)) {
        EVP_MD_CTX_free(*ctx);
        *ctx = NULL;
        return APR_EGENERAL;
    }
    /* One signature per copy: EVP_DigestSignFinal may finish in place
     * instead of duplicating the context once more. */
    EVP_MD_CTX_set_flags(*ctx, EVP_MD_CTX_FLAG_FINALISE);
    return APR_SUCCESS;
}

apr_status_t acme_key_generate(apr_pool_t *p, acme_key_type_e type, acme_key_t **key)
{
    EVP_PKEY *pkey = NULL;

    switch (type) {
    case ACME_KEY_EC256: pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"); break;
    case ACME_KEY_EC384: pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384"); break;
    case ACME_KEY_RSA2048: pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048); break;
    case ACME_KEY_RSA3072: pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072); break;
    case ACME_KEY_RSA4096: pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096); break;
    default: return APR_EINVAL;
    }
    if (!pkey) {
        return APR_EGENERAL;
    }
    *key = acme_key_wrap(p, pkey);
    return APR_SUCCESS;
}

/* The passphrase of an encrypted PEM key, given as bytes (may hold NULs). */
typedef struct {
    const void *data;
    apr_size_t len;
} passphrase_t;

/* Never prompt on a terminal: without a passphrase encrypted keys simply fail. */
static int give_passphrase(char *buf, int size, int rwflag, void *u)
{
    const passphrase_t *pass = u;

    (void)rwflag;
    if (pass == NULL || pass->data == NULL || pass->len > (apr_size_t)size) {
        return -1;
    }
    memcpy(buf, pass->data, pass->len);
    return (int)pass->len;
}

apr_status_t acme_key_from_pem_pass(apr_pool_t *p, const char *pem, apr_size_t len,
                                    const void *pass, apr_size_t pass_len, acme_key_t **key)
{
    passphrase_t pp = { pass, pass_len };
    BIO *bio;
    EVP_PKEY *pkey;

    if (!pem || len == 0 || len > ACME_KEY_PEM_MAX) {
        return APR_EINVAL;
    }
    /* OpenSSL's decoder setup is costly; text without a PEM block is not a key. */
    if (!memmem(pem, len, "-----BEGIN ", 11)) {
        return APR_EINVAL;
    }
    bio = BIO_new_mem_buf(pem, (int)len);
    if (!bio) {
        return APR_ENOMEM;
    }
    pkey = PEM_read_bio_PrivateKey(bio, NULL, give_passphrase, &pp);
    BIO_free(bio);
    if (!pkey) {
        return APR_EINVAL;
    }
    if (classify(pkey) == ACME_KEY_UNKNOWN) {
        EVP_PKEY_free(pkey);
        return APR_ENOTIMPL;
    }
    *key = acme_key_wrap(p, pkey);
    return APR_SUCCESS;
}

apr_status_t acme_key_from_pem(apr_pool_t *p, const char *pem, apr_size_t len, acme_key_t **key)
{
    return acme_key_from_pem_pass(p, pem, len, NULL, 0, key);
}

/* Scrub key material from pool memory before the pool reuses it. */
typedef struct { void *data; apr_size_t len; } scrub_t;

static apr_status_t scrub_cleanup(void *data)
{
    scrub_t *s = data;

    OPENSSL_cleanse(s->data, s->len);
    return APR_SUCCESS;
}

apr_status_t acme_key_to_pem(apr_pool_t *p, const acme_key_t *key, char **pem, apr_size_t *len)
{
    BIO *bio;
    char *mem = NULL;
    long n;
    scrub_t *s;

    if (!key || !key->pkey) {
        return APR_EINVAL;
    }
    bio = BIO_new(BIO_s_secmem());
    if (!bio) {
        return APR_ENOMEM;
    }
    if (!PEM_write_bio_PrivateKey(bio, key->pkey, NULL, NULL, 0, NULL, NULL)
        || (n = BIO_get_mem_data(bio, &mem)) <= 0) {
        BIO_free(bio);
        return APR_EGENERAL;
    }
    s = apr_palloc(p, sizeof(*s));
    s->len = (apr_size_t)n;
    s->data = apr_palloc(p, s->len + 1);
    memcpy(s->data, mem, s->len);
    ((char *)s->data)[s->len] = '\0';
    BIO_free(bio);
    apr_pool_cleanup_register(p, s, scrub_cleanup, apr_pool_cleanup_null);
    *pem = s->data;
    if (len) {
        *len = s->len;
    }
    return APR_SUCCESS;
}
