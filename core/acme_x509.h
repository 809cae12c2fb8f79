/* acme_x509.h: CSRs, certificate parsing and the tls-alpn-01 / fallback self-signed certificates. */
#ifndef ACME_X509_H
#define ACME_X509_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include <openssl/x509.h>
#include "acme_key.h"

/* Wraps an X509; freed by the cleanup of the pool it was made in. */
typedef struct acme_cert_t acme_cert_t;

typedef struct acme_cert_info_t {
    apr_array_header_t *dns_names;  /* const char*, SAN dNSName entries, as written */
    apr_array_header_t *ip_addrs;   /* const char*, SAN iPAddress entries, textual (v4 dotted, v6 RFC 5952) */
    apr_time_t not_before;
    apr_time_t not_after;
    const char *serial;             /* lower-case hex, no leading zeros ("0" for zero) */
    const char *issuer;             /* RFC 2253 one-line, e.g. "CN=Pebble Intermediate CA 1a2b3c" */
    const char *issuer_cn;          /* issuer commonName or NULL */
    const char *subject;
    const char *sha256_fingerprint; /* lower-case hex of SHA-256(DER) */
    const char *tnauthlist;         /* id-pe-TNAuthList content as base64url (RFC 9448 §3), or NULL */
} acme_cert_info_t;

/* Identifiers: "example.org", "*.example.org", "192.0.2.1", "2001:db8::1".
 * Returns 1 when s is a literal IPv4/IPv6 address. */
int acme_is_ip(const char *s);

/* A PKCS#10 CSR signed by key with a SAN extension holding the names (DNS
 * names and IP addresses; the first DNS name, if any, also as CN when short
 * enough). A "TNAuthList:<value>" name (at most one, acme_tnauth.h) becomes
 * the id-pe-TNAuthList extension with exactly that DER, and, without DNS
 * names, CN "SHAKEN <SPC>". Result is DER, allocated from p. */
apr_status_t acme_csr_create(apr_pool_t *p, const acme_key_t *key,
                             const apr_array_header_t *names,
                             unsigned char **der, apr_size_t *derlen);

/* Every CERTIFICATE block of a PEM bundle in order (leaf first for ACME).
 * APR_EINVAL when there is none or a block does not parse; trailing garbage
 * that is not PEM is an error too. Elements are acme_cert_t*. */
apr_status_t acme_certs_from_pem(apr_pool_t *p, const char *pem, apr_size_t len,
                                 apr_array_header_t **certs);
apr_status_t acme_cert_load_chain(apr_pool_t *p, const char *path, apr_array_header_t **certs);
apr_status_t acme_cert_to_pem(apr_pool_t *p, const acme_cert_t *cert, char **pem, apr_size_t *len);

apr_status_t acme_cert_info(apr_pool_t *p, const acme_cert_t *cert, acme_cert_info_t **info);
/* 1 when the certificate's public key is key's. */
int acme_cert_matches_key(const acme_cert_t *cert, const acme_key_t *key);
/* 1 when every name (DNS, wildcard or IP) is in the SANs (exact, case-insensitive)
 * and a "TNAuthList:<value>" name equals the TNAuthList extension (same DER). */
int acme_cert_covers(const acme_cert_t *cert, const apr_array_header_t *names);
/* 1 when child's issuer is parent's subject and parent's key verifies child's signature. */
int acme_cert_issued_by(const acme_cert_t *child, const acme_cert_t *parent);
/* RFC 9773 certificate identifier: b64u(AKI keyIdentifier) "." b64u(serial DER bytes). */
apr_status_t acme_cert_ari_id(apr_pool_t *p, const acme_cert_t *cert, const char **id);

acme_cert_t *acme_cert_wrap(apr_pool_t *p, X509 *x);
X509 *acme_cert_x509(const acme_cert_t *cert);

/* RFC 8737 tls-alpn-01 certificate for one name (DNS or IP): self-signed by
 * key, SAN = name, critical id-pe-acmeIdentifier (1.3.6.1.5.5.7.1.31) holding
 * an OCTET STRING with SHA-256(keyauth). Result as PEM. */
apr_status_t acme_tls_alpn01_cert(apr_pool_t *p, const char *name, const char *keyauth,
                                  const acme_key_t *key, char **pem);

/* A self-signed certificate for names (served before the first real one),
 * valid for `valid` from now, as PEM. */
apr_status_t acme_selfsigned_cert(apr_pool_t *p, const apr_array_header_t *names,
                                  const acme_key_t *key, apr_interval_time_t valid, char **pem);

/* One key prepared for many self-signed certificates (its public key encoded
 * once); lives as long as p, read-only once made. */
typedef struct acme_selfsigner_t acme_selfsigner_t;
apr_status_t acme_selfsigner_create(apr_pool_t *p, const acme_key_t *key, acme_selfsigner_t **ss);
/* acme_selfsigned_cert with a prepared key. */
apr_status_t acme_selfsigner_cert(apr_pool_t *p, const acme_selfsigner_t *ss,
                                  const apr_array_header_t *names, apr_interval_time_t valid,
                                  char **pem);

#endif
