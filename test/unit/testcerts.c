/* testcerts.c: a tiny CA for unit tests: certificates, chains and key/chain sets made with OpenSSL. */
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <apr_strings.h>

#include "acme_x509.h"
#include "testcerts.h"
#include "testutil.h"

static void set_time(ASN1_TIME *t, apr_time_t when)
{
    ck_assert(ASN1_TIME_set(t, (time_t)apr_time_sec(when)) != NULL);
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    ck_assert(ext != NULL);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
}

/* A certificate for key, signed by issuer (or self-signed when NULL). */
X509 *make_cert(const char *cn, const char *san, const acme_key_t *key, const ca_t *issuer,
                apr_time_t nb, apr_time_t na, int is_ca)
{
    unsigned char rnd[7];
    long serial;
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();

    ck_assert(x && name);
    ck_assert(RAND_bytes(rnd, sizeof(rnd)) == 1);
    serial = ((long)rnd[0] << 48) | ((long)rnd[1] << 40) | ((long)rnd[2] << 32)
             | ((long)rnd[3] << 24) | ((long)rnd[4] << 16) | ((long)rnd[5] << 8) | rnd[6];
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial + 1);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_subject_name(x, name);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer->cert) : name);
    set_time(X509_getm_notBefore(x), nb);
    set_time(X509_getm_notAfter(x), na);
    X509_set_pubkey(x, acme_key_evp(key));
    add_ext(x, issuer ? issuer->cert : x, NID_subject_key_identifier, "hash");
    add_ext(x, issuer ? issuer->cert : x, NID_authority_key_identifier, "keyid:always");
    if (is_ca) add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
    if (san) add_ext(x, x, NID_subject_alt_name, san);
    ck_assert(X509_sign(x, acme_key_evp(issuer ? issuer->key : key), EVP_sha256()) > 0);
    X509_NAME_free(name);
    return x;
}

char *pem_of_p(apr_pool_t *p, X509 *x)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data, *out;
    long n;
    ck_assert(PEM_write_bio_X509(b, x) == 1);
    n = BIO_get_mem_data(b, &data);
    out = apr_pstrndup(p, data, (apr_size_t)n);
    BIO_free(b);
    return out;
}

char *pem_of(X509 *x)
{
    return pem_of_p(pool, x);
}

ca_t *make_ca(const char *cn, const ca_t *parent)
{
    ca_t *ca = apr_pcalloc(pool, sizeof(*ca));
    apr_time_t now = apr_time_now();
    ck_assert_int_eq(acme_key_generate(pool, ACME_KEY_EC256, &ca->key), APR_SUCCESS);
    ca->cert = make_cert(cn, NULL, ca->key, parent, now - DAY, now + 3650 * DAY, 1);
    acme_cert_wrap(pool, ca->cert);   /* freed with the pool */
    return ca;
}



set_t make_set(const ca_t *inter, acme_key_type_e kt, const char *san,
               apr_time_t nb, apr_time_t na)
{
    set_t s;
    acme_key_t *key;
    apr_size_t len;
    X509 *leaf;

    ck_assert_int_eq(acme_key_generate(pool, kt, &key), APR_SUCCESS);
    leaf = make_cert("leaf", san, key, inter, nb, na, 0);
    s.leaf = pem_of(leaf);
    s.chain = apr_pstrcat(pool, s.leaf, pem_of(inter->cert), NULL);
    X509_free(leaf);
    ck_assert_int_eq(acme_key_to_pem(pool, key, &s.key, &len), APR_SUCCESS);
    return s;
}

acme_domain_t *domain2(void)
{
    acme_domain_t *d = acme_domain_create(pool, "example.org");

    APR_ARRAY_PUSH(d->names, const char *) = "www.example.org";
    APR_ARRAY_PUSH(d->key_types, acme_key_type_e) = ACME_KEY_EC384;
    return d;
}
