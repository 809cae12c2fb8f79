/* testjws.c: JWS verification for the unit tests and the JWS fuzz target, on OpenSSL 3 EVP and the core's public JWK and HMAC functions. */
#include <string.h>
#include <apr_strings.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include "acme_base64.h"
#include "acme_json.h"
#include "acme_jws.h"
#include "testjws.h"

/* Limits for a JWS under verification. */
#define MEMBER_MAX (1024 * 1024)
#define RSA_MIN_BITS 2048

/* The algorithms of the ACME profile (RFC 8555 §6.2, and HMAC for EAB). */
static int profile_alg(const char *alg)
{
    static const char *const algs[] = { "RS256", "ES256", "ES384", "HS256", "HS384", "HS512" };

    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        if (!strcmp(alg, algs[i])) return 1;
    }
    return 0;
}

/* A base64url member of the flattened JWS, decoded, with a size limit. */
static apr_status_t jws_member(apr_pool_t *p, const json_t *jws, const char *name,
                               const char **enc, unsigned char **dec, apr_size_t *len)
{
    if (acme_json_get_str(jws, name, enc) != APR_SUCCESS || strlen(*enc) > MEMBER_MAX) {
        return APR_EINVAL;
    }
    return acme_b64u_decode(p, *enc, strlen(*enc), dec, len);
}

/* The key's own algorithm must be alg (no algorithm substitution). */
static int key_fits_alg(const acme_key_t *key, const char *alg)
{
    const char *own = acme_jws_alg(key);

    if (!own || strcmp(own, alg)) {
        return 0;
    }
    return strcmp(alg, "RS256") || EVP_PKEY_get_bits(acme_key_evp(key)) >= RSA_MIN_BITS;
}

/* Fixed-size R||S (RFC 7518 §3.4) -> DER, as OpenSSL's verifier wants it; NULL on failure. */
static unsigned char *ecdsa_der(const unsigned char *raw, apr_size_t rawlen, int *derlen)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, (int)(rawlen / 2), NULL);
    BIGNUM *s = BN_bin2bn(raw + rawlen / 2, (int)(rawlen / 2), NULL);
    unsigned char *der = NULL;

    if (!es || !r || !s || !ECDSA_SIG_set0(es, r, s)) {
        BN_free(r);
        BN_free(s);
    }
    else if ((*derlen = i2d_ECDSA_SIG(es, &der)) <= 0) {
        der = NULL;
    }
    ECDSA_SIG_free(es);
    return der;
}

static apr_status_t verify_sig(const acme_key_t *key, const char *alg, const char *input,
                               const unsigned char *sig, apr_size_t siglen)
{
    unsigned char *der = NULL;
    int derlen = (int)siglen, ok = 0;
    EVP_MD_CTX *ctx;

    if (!key_fits_alg(key, alg)) {
        return APR_EINVAL;
    }
    if (alg[0] == 'E') {
        apr_size_t size = !strcmp(alg, "ES256") ? 32 : 48;

        if (siglen != 2 * size || !(der = ecdsa_der(sig, siglen, &derlen))) {
            return APR_EINVAL;
        }
    }
    ctx = EVP_MD_CTX_new();
    if (ctx && EVP_DigestVerifyInit(ctx, NULL, strcmp(alg, "ES384") ? EVP_sha256() : EVP_sha384(),
                                    NULL, acme_key_evp(key)) > 0) {
        ok = EVP_DigestVerify(ctx, der ? der : sig, (size_t)derlen,
                              (const unsigned char *)input, strlen(input)) == 1;
    }
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    return ok ? APR_SUCCESS : APR_EINVAL;
}

static apr_status_t verify_mac(apr_pool_t *p, const char *alg, const unsigned char *hkey,
                               apr_size_t hkeylen, const char *input,
                               const unsigned char *sig, apr_size_t siglen)
{
    unsigned char *mac;
    apr_size_t maclen;

    if (!hkey || acme_jws_hmac(p, alg, hkey, hkeylen, input, strlen(input), &mac, &maclen)
        != APR_SUCCESS) {
        return APR_EINVAL;
    }
    return (maclen == siglen && !CRYPTO_memcmp(mac, sig, maclen)) ? APR_SUCCESS : APR_EINVAL;
}

apr_status_t tu_jws_verify(apr_pool_t *p, const json_t *jws, const acme_key_t *key,
                           const unsigned char *hkey, apr_size_t hkeylen,
                           const char **payload, apr_size_t *payload_len,
                           json_t **protected_hdr)
{
    const char *prot_b64, *payload_b64, *sig_b64, *alg, *input;
    unsigned char *prot, *body, *sig;
    apr_size_t prot_len, body_len, siglen;
    json_t *hdr, *jwk;
    apr_status_t rv;

    if (!json_is_object(jws)
        || jws_member(p, jws, "protected", &prot_b64, &prot, &prot_len) != APR_SUCCESS
        || jws_member(p, jws, "payload", &payload_b64, &body, &body_len) != APR_SUCCESS
        || jws_member(p, jws, "signature", &sig_b64, &sig, &siglen) != APR_SUCCESS
        || siglen == 0
        || acme_json_parse(p, (const char *)prot, prot_len, &hdr, NULL) != APR_SUCCESS
        || !json_is_object(hdr)
        || acme_json_get_str(hdr, "alg", &alg) != APR_SUCCESS
        || !profile_alg(alg)
        || (json_object_get(hdr, "jwk") && json_object_get(hdr, "kid"))) {
        /* "none" and every algorithm outside the profile are refused;
         * a header with both jwk and kid is ambiguous. */
        return APR_EINVAL;
    }
    input = apr_pstrcat(p, prot_b64, ".", payload_b64, NULL);
    if (alg[0] == 'H') {
        rv = verify_mac(p, alg, hkey, hkeylen, input, sig, siglen);
    }
    else {
        acme_key_t *hdr_key = NULL;

        if (!key && (acme_json_get_obj(hdr, "jwk", &jwk) != APR_SUCCESS
                     || acme_jwk_to_key(p, jwk, &hdr_key) != APR_SUCCESS)) {
            return APR_EINVAL;
        }
        rv = verify_sig(key ? key : hdr_key, alg, input, sig, siglen);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (payload) *payload = (const char *)body;
    if (payload_len) *payload_len = body_len;
    if (protected_hdr) *protected_hdr = hdr;
    return APR_SUCCESS;
}
