/* acme_x509_self.c: certificates made here: self-signed ones (fallback, tests) and the tls-alpn-01 challenge certificate. */
#include <string.h>
#include <apr_strings.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include "acme_x509.h"
#include "acme_x509_int.h"

#define ACME_IDENTIFIER_OID "1.3.6.1.5.5.7.1.31"

static int add_ext(X509 *x, X509_EXTENSION *ext)
{
    int ok = ext && X509_add_ext(x, ext, -1);

    X509_EXTENSION_free(ext);
    return ok;
}

/* An extension from its config text (e.g. "critical,CA:FALSE"), with x as issuer and subject. */
static int add_conf_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX ctx;

    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    return add_ext(x, X509V3_EXT_conf_nid(NULL, &ctx, nid, value));
}

static int set_random_serial(X509 *x)
{
    unsigned char rnd[16];
    BIGNUM *bn;
    int ok;

    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        return 0;
    }
    rnd[0] &= 0x7f;  /* positive, at most 16 octets in DER */
    rnd[0] |= 0x01;  /* never zero */
    bn = BN_bin2bn(rnd, sizeof(rnd), NULL);
    ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    return ok;
}

struct acme_selfsigner_t {
    const acme_key_t *key;
    X509_PUBKEY *pub;                   /* key's SubjectPublicKeyInfo, encoded once */
};

static apr_status_t selfsigner_cleanup(void *data)
{
    X509_PUBKEY_free(((acme_selfsigner_t *)data)->pub);
    return APR_SUCCESS;
}

apr_status_t acme_selfsigner_create(apr_pool_t *p, const acme_key_t *key, acme_selfsigner_t **ss)
{
    acme_selfsigner_t *s;

    if (!acme_key_evp(key)) {
        return APR_EINVAL;
    }
    s = apr_pcalloc(p, sizeof(*s));
    s->key = key;
    /* OpenSSL 3 encodes and decodes the key here: costly, so once per key */
    if (!X509_PUBKEY_set(&s->pub, acme_key_evp(key))) {
        return APR_EGENERAL;
    }
    apr_pool_cleanup_register(p, s, selfsigner_cleanup, apr_pool_cleanup_null);
    *ss = s;
    return APR_SUCCESS;
}

/* The certificate's public key as a copy of the encoded one (no re-encoding). */
static int copy_pubkey(X509 *x, const X509_PUBKEY *from)
{
    X509_PUBKEY *to = X509_get_X509_PUBKEY(x);
    ASN1_OBJECT *alg;
    X509_ALGOR *from_alg, *to_alg;
    const unsigned char *pk;
    unsigned char *enc;
    int pklen;

    if (!X509_PUBKEY_get0_param(&alg, &pk, &pklen, &from_alg, from) || pklen <= 0
        || !(enc = OPENSSL_memdup(pk, (size_t)pklen))) {
        return 0;
    }
    if (!X509_PUBKEY_set0_param(to, OBJ_dup(alg), V_ASN1_UNDEF, NULL, enc, pklen)) {
        OPENSSL_free(enc);
        return 0;
    }
    return X509_PUBKEY_get0_param(NULL, NULL, NULL, &to_alg, to)
           && X509_ALGOR_copy(to_alg, from_alg);
}

/* Common body of a self-signed leaf: version 3, serial, names, validity, key. */
static X509 *selfsigned_base(const apr_array_header_t *names, const acme_selfsigner_t *ss,
                             long not_before_adj, apr_interval_time_t valid)
{
    const acme_key_t *key = ss->key;
    X509 *x = X509_new();
    long secs = (long)apr_time_sec(valid);
    const char *cn = acme_x509_subject_cn(names);

    if (!cn && names->nelts > 0 && strlen(APR_ARRAY_IDX(names, 0, const char *)) <= CN_MAX_LEN) {
        cn = APR_ARRAY_IDX(names, 0, const char *);
    }
    if (!x || !X509_set_version(x, 2) || !set_random_serial(x)
        || !acme_x509_set_cn(X509_get_subject_name(x), cn)
        || !X509_set_issuer_name(x, X509_get_subject_name(x))
        || !X509_gmtime_adj(X509_getm_notBefore(x), not_before_adj)
        || !X509_time_adj_ex(X509_getm_notAfter(x), (int)(secs / 86400), secs % 86400, NULL)
        || !copy_pubkey(x, ss->pub)
        || !add_ext(x, acme_x509_san_extension(names, cn == NULL))
        || !add_conf_ext(x, NID_basic_constraints, "critical,CA:FALSE")
        || !add_conf_ext(x, NID_key_usage, EVP_PKEY_is_a(acme_key_evp(key), "RSA")
                         ? "critical,digitalSignature,keyEncipherment" : "critical,digitalSignature")
        || !add_conf_ext(x, NID_ext_key_usage, "serverAuth")
        || !add_conf_ext(x, NID_subject_key_identifier, "hash")) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* Sign x with key and return it as PEM from p; x is freed in any case. */
static apr_status_t sign_to_pem(apr_pool_t *p, X509 *x, const acme_key_t *key, char **pem)
{
    acme_cert_t *c = acme_cert_wrap(p, x);

    if (X509_sign(x, acme_key_evp(key), acme_x509_md_for_key(key)) <= 0) {
        return APR_EGENERAL;
    }
    return acme_cert_to_pem(p, c, pem, NULL);
}

/* The critical id-pe-acmeIdentifier extension: OCTET STRING (SHA-256(keyauth)). */
static X509_EXTENSION *acme_identifier_ext(const char *keyauth)
{
    unsigned char md[32], der[2 + 32];
    unsigned int mdlen = 0;
    ASN1_OBJECT *obj;
    ASN1_OCTET_STRING *val;
    X509_EXTENSION *ext = NULL;

    if (!EVP_Digest(keyauth, strlen(keyauth), md, &mdlen, EVP_sha256(), NULL) || mdlen != 32) {
        return NULL;
    }
    der[0] = V_ASN1_OCTET_STRING;
    der[1] = 32;
    memcpy(der + 2, md, 32);
    obj = OBJ_txt2obj(ACME_IDENTIFIER_OID, 1);
    val = ASN1_OCTET_STRING_new();
    if (obj && val && ASN1_OCTET_STRING_set(val, der, sizeof(der))) {
        ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 1, val);
    }
    ASN1_OBJECT_free(obj);
    ASN1_OCTET_STRING_free(val);
    return ext;
}

apr_status_t acme_tls_alpn01_cert(apr_pool_t *p, const char *name, const char *keyauth,
                                  const acme_key_t *key, char **pem)
{
    apr_array_header_t *names;
    acme_selfsigner_t *ss;
    X509 *x;

    if (!name || !keyauth || !*keyauth || acme_selfsigner_create(p, key, &ss) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    names = apr_array_make(p, 1, sizeof(const char *));
    APR_ARRAY_PUSH(names, const char *) = name;
    /* Short-lived: it only has to live through the CA's validation. */
    x = selfsigned_base(names, ss, -3600, apr_time_from_sec(7 * 86400));
    if (!x) {
        return APR_EINVAL;
    }
    if (!add_ext(x, acme_identifier_ext(keyauth))) {
        X509_free(x);
        return APR_EGENERAL;
    }
    return sign_to_pem(p, x, key, pem);
}

apr_status_t acme_selfsigner_cert(apr_pool_t *p, const acme_selfsigner_t *ss,
                                  const apr_array_header_t *names, apr_interval_time_t valid,
                                  char **pem)
{
    X509 *x;

    if (!ss || !acme_x509_names_ok(names) || valid <= 0) {
        return APR_EINVAL;
    }
    x = selfsigned_base(names, ss, -60, valid);
    if (!x) {
        return APR_EINVAL;
    }
    return sign_to_pem(p, x, ss->key, pem);
}

apr_status_t acme_selfsigned_cert(apr_pool_t *p, const apr_array_header_t *names,
                                  const acme_key_t *key, apr_interval_time_t valid, char **pem)
{
    acme_selfsigner_t *ss;

    if (acme_selfsigner_create(p, key, &ss) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    return acme_selfsigner_cert(p, ss, names, valid, pem);
}
