/* acme_x509_int.h: what the certificate files (acme_x509.c, acme_x509_info.c, acme_x509_self.c) share inside the core: the certificate object and the name/extension helpers; not for mod/ or tools/. */
#ifndef ACME_X509_INT_H
#define ACME_X509_INT_H

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include "acme_key.h"
#include "acme_x509.h"

#define CN_MAX_LEN 64                 /* RFC 5280 ub-common-name */

struct acme_cert_t {
    X509 *x;
};

/* The subjectAltName extension for names; NULL for no, too many or bad names. */
X509_EXTENSION *acme_x509_san_extension(const apr_array_header_t *names, int critical);

/* CN = the first DNS name when it fits; NULL when none does. */
const char *acme_x509_subject_cn(const apr_array_header_t *names);

/* Add CN cn to xn (nothing when cn is NULL); 0 on failure. */
int acme_x509_set_cn(X509_NAME *xn, const char *cn);

/* The digest that goes with a key: SHA-384 for P-384, SHA-256 otherwise. */
const EVP_MD *acme_x509_md_for_key(const acme_key_t *key);

/* names is a non-empty array, within the SAN limit, without NULLs. */
int acme_x509_names_ok(const apr_array_header_t *names);

/* Copy a memory BIO's contents into p, NUL-terminated. */
char *acme_x509_bio_to_str(apr_pool_t *p, BIO *bio, apr_size_t *len);

#endif
