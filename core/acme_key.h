/* acme_key.h: private keys (RSA 2048/3072/4096, EC P-256/P-384) on OpenSSL 3 EVP, owned by APR pools. */
#ifndef ACME_KEY_H
#define ACME_KEY_H

#include <apr_pools.h>
#include <openssl/evp.h>

typedef enum {
    ACME_KEY_EC256, ACME_KEY_EC384, ACME_KEY_RSA2048, ACME_KEY_RSA3072, ACME_KEY_RSA4096,
    ACME_KEY_UNKNOWN
} acme_key_type_e;

/* Wraps an EVP_PKEY; freed by the cleanup of the pool it was made in. */
typedef struct acme_key_t acme_key_t;

/* "ec256", "ec384", "rsa2048", "rsa3072", "rsa4096" (case-insensitive). APR_EINVAL otherwise. */
apr_status_t acme_key_type_parse(const char *s, acme_key_type_e *type);
const char *acme_key_type_name(acme_key_type_e type);
/* The allowed names for error messages: "ec256, ec384, rsa2048, rsa3072, rsa4096". */
const char *acme_key_type_names(void);

apr_status_t acme_key_generate(apr_pool_t *p, acme_key_type_e type, acme_key_t **key);
/* PEM private key (PKCS#8 or traditional). Key types outside the list fail with APR_ENOTIMPL. */
apr_status_t acme_key_from_pem(apr_pool_t *p, const char *pem, apr_size_t len, acme_key_t **key);
/* Same for a key that may be encrypted with pass (pass_len bytes, NULs allowed);
 * a wrong passphrase fails with APR_EINVAL. */
apr_status_t acme_key_from_pem_pass(apr_pool_t *p, const char *pem, apr_size_t len,
                                    const void *pass, apr_size_t pass_len, acme_key_t **key);
/* Unencrypted PKCS#8 PEM, allocated from p (scrubbed at pool cleanup). */
apr_status_t acme_key_to_pem(apr_pool_t *p, const acme_key_t *key, char **pem, apr_size_t *len);

/* Takes ownership of pkey (freed with p). */
acme_key_t *acme_key_wrap(apr_pool_t *p, EVP_PKEY *pkey);
EVP_PKEY *acme_key_evp(const acme_key_t *key);
acme_key_type_e acme_key_type(const acme_key_t *key);

/* A new context for one EVP_DigestSign with key and its digest (SHA-384 for
 * EC P-384, SHA-256 otherwise), copied from one the key prepares on first use:
 * cheaper than EVP_DigestSignInit and safe when threads sign with one key.
 * The caller frees *ctx with EVP_MD_CTX_free. */
apr_status_t acme_key_sign_ctx(const acme_key_t *key, EVP_MD_CTX **ctx);

#endif
