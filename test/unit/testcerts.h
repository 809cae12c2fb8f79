/* testcerts.h: a tiny CA for unit tests (root, intermediate, leaf sets with keys) and the two-name domain they are made for, in the running test's pool. */
#ifndef ACME_TESTCERTS_H
#define ACME_TESTCERTS_H

#include <apr_pools.h>
#include <apr_time.h>
#include <openssl/x509.h>

#include "acme_domain.h"
#include "acme_key.h"

#define DAY apr_time_from_sec(86400)
/* The SANs of domain2's certificates. */
#define SAN2 "DNS:example.org,DNS:www.example.org"

typedef struct {
    acme_key_t *key;
    X509 *cert;
} ca_t;

typedef struct {
    char *chain;   /* leaf + intermediate PEM */
    char *key;     /* leaf key PEM */
    char *leaf;
} set_t;

/* A certificate for key (SAN like "DNS:a,DNS:b", may be NULL), signed by
 * issuer (self-signed when NULL), valid nb..na. */
X509 *make_cert(const char *cn, const char *san, const acme_key_t *key, const ca_t *issuer,
                apr_time_t nb, apr_time_t na, int is_ca);
char *pem_of_p(apr_pool_t *p, X509 *x);
char *pem_of(X509 *x);
/* A CA certificate and key (self-signed when parent is NULL). */
ca_t *make_ca(const char *cn, const ca_t *parent);
/* A new key of type kt and its leaf for san from inter, with the chain. */
set_t make_set(const ca_t *inter, acme_key_type_e kt, const char *san, apr_time_t nb, apr_time_t na);

/* example.org + www.example.org, key types ec256 and ec384. */
acme_domain_t *domain2(void);

#endif
