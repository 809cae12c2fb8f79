/* acme_jws.c: JWK export/import, RFC 7638 thumbprints, JWS signing in the ACME profile (mod_acme never verifies a JWS; the tests do, test/unit/testjws.c). */
#include <string.h>
#include <apr_strings.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include "acme_base64.h"
#include "acme_json.h"
#include "acme_jws.h"

/* Limits for JWKs (outside input: imported account keys). */
#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 8192

/* EC curve facts used by JWK and JWS: JOSE name, OpenSSL group, coordinate size, digest. */
typedef struct {
    const char *crv;
    const char *group;
    const char *alg;
    apr_size_t size;
} ec_curve_t;

static const ec_curve_t ec_curves[] = {
    { "P-256", "P-256", "ES256", 32 },
    { "P-384", "P-384", "ES384", 48 },
};

static const ec_curve_t *curve_by_crv(const char *crv)
{
    size_t i;

    for (i = 0; crv && i < sizeof(ec_curves) / sizeof(ec_curves[0]); i++) {
        if (!strcmp(crv, ec_curves[i].crv)) return &ec_curves[i];
    }
    return NULL;
}

static const ec_curve_t *curve_of(const acme_key_t *key)
{
    switch (acme_key_type(key)) {
    case ACME_KEY_EC256: return &ec_curves[0];
    case ACME_KEY_EC384: return &ec_curves[1];
    default: return NULL;
    }
}

static int is_rsa(const acme_key_t *key)
{
    return acme_key_evp(key) && EVP_PKEY_is_a(acme_key_evp(key), "RSA");
}

/* base64url of a BIGNUM parameter, big-endian, padded to pad bytes (0: minimal). */
static apr_status_t bn_param_b64u(apr_pool_t *p, EVP_PKEY *pkey, const char *name,
                                  apr_size_t pad, const char **out)
{
    BIGNUM *bn = NULL;
    unsigned char *buf;
    int n;

    if (!EVP_PKEY_get_bn_param(pkey, name, &bn)) {
        return APR_EGENERAL;
    }
    n = pad ? (int)pad : BN_num_bytes(bn);
    if (n <= 0 || BN_num_bytes(bn) > n) {
        BN_free(bn);
        return APR_EGENERAL;
    }
    buf = apr_palloc(p, (apr_size_t)n);
    n = BN_bn2binpad(bn, buf, n);
    BN_free(bn);
    if (n < 0) {
        return APR_EGENERAL;
    }
    *out = acme_b64u_encode(p, buf, (apr_size_t)n);
    return APR_SUCCESS;
}

apr_status_t acme_jwk_public(apr_pool_t *p, const acme_key_t *key, json_t **jwk)
{
    EVP_PKEY *pkey = acme_key_evp(key);
    const ec_curve_t *curve = curve_of(key);
    const char *a, *b;
    apr_status_t rv;

    if (!pkey) {
        return APR_EINVAL;
    }
    if (curve) {
        if ((rv = bn_param_b64u(p, pkey, OSSL_PKEY_PARAM_EC_PUB_X, curve->size, &a)) != APR_SUCCESS
            || (rv = bn_param_b64u(p, pkey, OSSL_PKEY_PARAM_EC_PUB_Y, curve->size, &b)) != APR_SUCCESS) {
            return rv;
        }
        *jwk = acme_json_own(p, json_pack("{s:s,s:s,s:s,s:s}", "kty", "EC",
                                          "crv", curve->crv, "x", a, "y", b));
    }
    else if (is_rsa(key)) {
        if ((rv = bn_param_b64u(p, pkey, OSSL_PKEY_PARAM_RSA_E, 0, &a)) != APR_SUCCESS
            || (rv = bn_param_b64u(p, pkey, OSSL_PKEY_PARAM_RSA_N, 0, &b)) != APR_SUCCESS) {
            return rv;
        }
        *jwk = acme_json_own(p, json_pack("{s:s,s:s,s:s}", "kty", "RSA", "e", a, "n", b));
    }
    else {
        return APR_ENOTIMPL;
    }
    return *jwk ? APR_SUCCESS : APR_ENOMEM;
}

/* A required JWK member that must be a non-empty base64url string. */
static apr_status_t jwk_member(const json_t *jwk, const char *name, const char **out)
{
    apr_status_t rv = acme_json_get_str(jwk, name, out);

    if (rv == APR_SUCCESS && !acme_b64u_is_token(*out)) {
        rv = APR_EINVAL;
    }
    return rv;
}

static const char *sha256_b64u(apr_pool_t *p, const void *data, apr_size_t len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL)) {
        return NULL;
    }
    return acme_b64u_encode(p, md, mdlen);
}

apr_status_t acme_jwk_thumbprint_json(apr_pool_t *p, const json_t *jwk, const char **b64)
{
    const char *kty, *a, *b, *c, *canon;
    apr_status_t rv;

    if ((rv = acme_json_get_str(jwk, "kty", &kty)) != APR_SUCCESS) {
        return rv == APR_NOTFOUND ? APR_EINVAL : rv;
    }
    /* RFC 7638 §3.2: required members only, lexicographic order, no whitespace.
     * All values are base64url or fixed names, so no JSON escaping is needed. */
    if (!strcmp(kty, "EC")) {
        if ((rv = acme_json_get_str(jwk, "crv", &a)) != APR_SUCCESS || !curve_by_crv(a)
            || (rv = jwk_member(jwk, "x", &b)) != APR_SUCCESS
            || (rv = jwk_member(jwk, "y", &c)) != APR_SUCCESS) {
            return APR_EINVAL;
        }
        canon = apr_psprintf(p, "{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", a, b, c);
    }
    else if (!strcmp(kty, "RSA")) {
        if ((rv = jwk_member(jwk, "e", &a)) != APR_SUCCESS
            || (rv = jwk_member(jwk, "n", &b)) != APR_SUCCESS) {
            return APR_EINVAL;
        }
        canon = apr_psprintf(p, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", a, b);
    }
    else {
        return APR_ENOTIMPL;
    }
    *b64 = sha256_b64u(p, canon, strlen(canon));
    return *b64 ? APR_SUCCESS : APR_EGENERAL;
}

apr_status_t acme_jwk_thumbprint(apr_pool_t *p, const acme_key_t *key, const char **b64)
{
    json_t *jwk;
    apr_status_t rv = acme_jwk_public(p, key, &jwk);

    return rv == APR_SUCCESS ? acme_jwk_thumbprint_json(p, jwk, b64) : rv;
}

/* Decode a base64url JWK member into bytes, with a size limit. */
static apr_status_t jwk_bytes(apr_pool_t *p, const json_t *jwk, const char *name,
                              apr_size_t max, unsigned char **out, apr_size_t *len)
{
    const char *s;
    apr_status_t rv = jwk_member(jwk, name, &s);

    if (rv != APR_SUCCESS) {
        return APR_EINVAL;
    }
    if (strlen(s) > (max * 4) / 3 + 4) {
        return APR_EINVAL;
    }
    rv = acme_b64u_decode(p, s, strlen(s), out, len);
    return (rv == APR_SUCCESS && *len > 0 && *len <= max) ? APR_SUCCESS : APR_EINVAL;
}

/* EVP_PKEY_fromdata for a key of type name ("RSA", "EC") from built params;
 * selection EVP_PKEY_PUBLIC_KEY or EVP_PKEY_KEYPAIR. A key pair must pass
 * OpenSSL's consistency check (private and public halves belong together). */
static EVP_PKEY *pkey_from_params(const char *name, OSSL_PARAM_BLD *bld, int selection)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = params ? EVP_PKEY_CTX_new_from_name(NULL, name, NULL) : NULL;
    EVP_PKEY_CTX *check = NULL;
    EVP_PKEY *pkey = NULL;

    if (ctx && EVP_PKEY_fromdata_init(ctx) > 0) {
        if (EVP_PKEY_fromdata(ctx, &pkey, selection, params) <= 0) {
            pkey = NULL;
        }
    }
    if (pkey && selection == EVP_PKEY_KEYPAIR
        && (!(check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) || EVP_PKEY_check(check) != 1)) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    EVP_PKEY_CTX_free(check);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return pkey;
}

/* The private members of an RSA JWK (RFC 7518 §6.3.2), all required. */
static const struct { const char *member, *param; } rsa_private_members[] = {
    { "d", OSSL_PKEY_PARAM_RSA_D }, { "p", OSSL_PKEY_PARAM_RSA_FACTOR1 },
    { "q", OSSL_PKEY_PARAM_RSA_FACTOR2 }, { "dp", OSSL_PKEY_PARAM_RSA_EXPONENT1 },
    { "dq", OSSL_PKEY_PARAM_RSA_EXPONENT2 }, { "qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1 },
};
#define N_RSA_PRIVATE (sizeof(rsa_private_members) / sizeof(rsa_private_members[0]))

/* Pushes a base64url JWK member as a BIGNUM parameter; the BIGNUM is kept in
 * bns[*nbn] until the caller frees it (after OSSL_PARAM_BLD_to_param). */
static int push_bn_member(apr_pool_t *p, const json_t *jwk, const char *member, apr_size_t max,
                          OSSL_PARAM_BLD *bld, const char *param, BIGNUM **bns, int *nbn)
{
    unsigned char *b;
    apr_size_t len;
    BIGNUM *bn;

    if (jwk_bytes(p, jwk, member, max, &b, &len) != APR_SUCCESS
        || !(bn = BN_bin2bn(b, (int)len, NULL))) {
        return 0;
    }
    OPENSSL_cleanse(b, len);
    bns[(*nbn)++] = bn;
    return OSSL_PARAM_BLD_push_BN(bld, param, bn);
}

static apr_status_t rsa_from_jwk(apr_pool_t *p, const json_t *jwk, int with_private,
                                 EVP_PKEY **pkey)
{
    unsigned char *nb, *eb;
    apr_size_t nlen, elen;
    BIGNUM *n = NULL, *e = NULL, *priv[N_RSA_PRIVATE];
    OSSL_PARAM_BLD *bld = NULL;
    int bits, npriv = 0, ok;
    size_t i;

    if (jwk_bytes(p, jwk, "n", RSA_MAX_BITS / 8, &nb, &nlen) != APR_SUCCESS
        || jwk_bytes(p, jwk, "e", 8, &eb, &elen) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    n = BN_bin2bn(nb, (int)nlen, NULL);
    e = BN_bin2bn(eb, (int)elen, NULL);
    bits = n ? BN_num_bits(n) : 0;
    *pkey = NULL;
    ok = e && bits >= RSA_MIN_BITS && BN_is_odd(e) && !BN_is_one(e)
         && (bld = OSSL_PARAM_BLD_new()) != NULL
         && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n)
         && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e);
    for (i = 0; ok && with_private && i < N_RSA_PRIVATE; i++) {
        ok = push_bn_member(p, jwk, rsa_private_members[i].member, RSA_MAX_BITS / 8, bld,
                            rsa_private_members[i].param, priv, &npriv);
    }
    if (ok) {
        *pkey = pkey_from_params("RSA", bld, with_private ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY);
    }
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    while (npriv > 0) {
        BN_clear_free(priv[--npriv]);
    }
    return *pkey ? APR_SUCCESS : APR_EINVAL;
}

static apr_status_t ec_from_jwk(apr_pool_t *p, const json_t *jwk, int with_private,
                                EVP_PKEY **pkey)
{
    const char *crv;
    const ec_curve_t *curve;
    unsigned char *x, *y, *pt;
    apr_size_t xlen, ylen;
    OSSL_PARAM_BLD *bld;
    BIGNUM *d[1];
    int nd = 0;

    if (acme_json_get_str(jwk, "crv", &crv) != APR_SUCCESS || !(curve = curve_by_crv(crv))
        || jwk_bytes(p, jwk, "x", curve->size, &x, &xlen) != APR_SUCCESS
        || jwk_bytes(p, jwk, "y", curve->size, &y, &ylen) != APR_SUCCESS
        || xlen != curve->size || ylen != curve->size) {
        return APR_EINVAL;
    }
    /* Uncompressed point 04||X||Y; OpenSSL rejects points not on the curve. */
    pt = apr_palloc(p, 1 + 2 * curve->size);
    pt[0] = 0x04;
    memcpy(pt + 1, x, curve->size);
    memcpy(pt + 1 + curve->size, y, curve->size);
    *pkey = NULL;
    bld = OSSL_PARAM_BLD_new();
    if (bld && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, curve->group, 0)
        && OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + 2 * curve->size)
        && (!with_private || push_bn_member(p, jwk, "d", curve->size, bld,
                                            OSSL_PKEY_PARAM_PRIV_KEY, d, &nd))) {
        *pkey = pkey_from_params("EC", bld, with_private ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY);
    }
    OSSL_PARAM_BLD_free(bld);
    if (nd) {
        BN_clear_free(d[0]);
    }
    return *pkey ? APR_SUCCESS : APR_EINVAL;
}

static apr_status_t key_from_jwk(apr_pool_t *p, const json_t *jwk, int with_private,
                                 acme_key_t **key)
{
    const char *kty;
    EVP_PKEY *pkey = NULL;
    apr_status_t rv;

    if (acme_json_get_str(jwk, "kty", &kty) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    if (!strcmp(kty, "RSA")) {
        rv = rsa_from_jwk(p, jwk, with_private, &pkey);
    }
    else if (!strcmp(kty, "EC")) {
        rv = ec_from_jwk(p, jwk, with_private, &pkey);
    }
    else {
        return APR_ENOTIMPL;
    }
    if (rv == APR_SUCCESS) {
        *key = acme_key_wrap(p, pkey);
        if (with_private && acme_key_type(*key) == ACME_KEY_UNKNOWN) {
            return APR_ENOTIMPL;    /* a size outside the list: not an account key we sign with */
        }
    }
    return rv;
}

apr_status_t acme_jwk_to_key(apr_pool_t *p, const json_t *jwk, acme_key_t **key)
{
    return key_from_jwk(p, jwk, 0, key);
}

apr_status_t acme_jwk_to_private_key(apr_pool_t *p, const json_t *jwk, acme_key_t **key)
{
    return key_from_jwk(p, jwk, 1, key);
}

const char *acme_jws_alg(const acme_key_t *key)
{
    const ec_curve_t *curve = curve_of(key);

    if (curve) return curve->alg;
    if (is_rsa(key)) return "RS256";
    return NULL;
}

static const EVP_MD *md_for_alg(const char *alg)
{
    if (!strcmp(alg, "RS256") || !strcmp(alg, "ES256") || !strcmp(alg, "HS256")) return EVP_sha256();
    if (!strcmp(alg, "ES384") || !strcmp(alg, "HS384")) return EVP_sha384();
    if (!strcmp(alg, "HS512")) return EVP_sha512();
    return NULL;
}

/* DER ECDSA-Sig-Value -> fixed-size R||S (RFC 7518 §3.4). */
static apr_status_t ecdsa_der_to_raw(apr_pool_t *p, const unsigned char *der, apr_size_t derlen,
                                     apr_size_t size, unsigned char **raw)
{
    const unsigned char *q = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &q, (long)derlen);
    const BIGNUM *r, *s;
    apr_status_t rv = APR_EGENERAL;

    if (!es) {
        return rv;
    }
    ECDSA_SIG_get0(es, &r, &s);
    *raw = apr_palloc(p, 2 * size);
    if (BN_bn2binpad(r, *raw, (int)size) == (int)size
        && BN_bn2binpad(s, *raw + size, (int)size) == (int)size) {
        rv = APR_SUCCESS;
    }
    ECDSA_SIG_free(es);
    return rv;
}

/* Room for the DER ECDSA signature of P-384 (at most 104 bytes). */
#define ECDSA_DER_MAX 128

apr_status_t acme_jws_signature(apr_pool_t *p, const acme_key_t *key,
                                const char *signing_input, apr_size_t len,
                                unsigned char **sig, apr_size_t *siglen)
{
    const ec_curve_t *curve = curve_of(key);
    EVP_MD_CTX *ctx;
    unsigned char der[ECDSA_DER_MAX], *buf;
    size_t n;
    int ok;
    apr_status_t rv;

    if (!acme_jws_alg(key)) {
        return APR_ENOTIMPL;
    }
    /* The largest signature: the modulus size for RSA, the DER size for ECDSA. */
    n = (size_t)EVP_PKEY_get_size(acme_key_evp(key));
    if (n == 0 || (curve && n > sizeof(der))) {
        return APR_EGENERAL;
    }
    buf = curve ? der : apr_palloc(p, n);
    /* The key's signing digest is the alg's: SHA-384 for ES384, SHA-256 otherwise. */
    if ((rv = acme_key_sign_ctx(key, &ctx)) != APR_SUCCESS) {
        return rv;
    }
    ok = EVP_DigestSign(ctx, buf, &n, (const unsigned char *)signing_input, len) > 0;
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        return APR_EGENERAL;
    }
    if (curve) {
        *siglen = 2 * curve->size;
        return ecdsa_der_to_raw(p, der, n, curve->size, sig);
    }
    *sig = buf;
    *siglen = n;
    return APR_SUCCESS;
}

apr_status_t acme_jws_hmac(apr_pool_t *p, const char *alg,
                           const unsigned char *hkey, apr_size_t hkeylen,
                           const char *signing_input, apr_size_t len,
                           unsigned char **mac, apr_size_t *maclen)
{
    const char *digest;
    unsigned char *buf = apr_palloc(p, EVP_MAX_MD_SIZE);
    size_t n = 0;

    if (!alg) return APR_EINVAL;
    if (!strcmp(alg, "HS256")) digest = "SHA256";
    else if (!strcmp(alg, "HS384")) digest = "SHA384";
    else if (!strcmp(alg, "HS512")) digest = "SHA512";
    else return APR_EINVAL;
    if (!hkey || hkeylen == 0) {
        return APR_EINVAL;
    }
    if (!EVP_Q_mac(NULL, "HMAC", NULL, digest, NULL, hkey, hkeylen,
                   (const unsigned char *)signing_input, len, buf, EVP_MAX_MD_SIZE, &n)) {
        return APR_EGENERAL;
    }
    *mac = buf;
    *maclen = n;
    return APR_SUCCESS;
}

/* The three base64url members of a flattened JWS. */
typedef struct {
    const char *prot, *payload, *sig;
} jws_parts_t;

/* Assemble {"protected","payload","signature"}. All three are base64url,
 * plain ASCII, so Jansson's UTF-8 checks are skipped. */
static apr_status_t flattened(apr_pool_t *p, const jws_parts_t *parts, json_t **jws)
{
    json_t *o = acme_json_own(p, json_object());

    if (!o
        || json_object_set_new_nocheck(o, "protected", json_string_nocheck(parts->prot))
        || json_object_set_new_nocheck(o, "payload", json_string_nocheck(parts->payload))
        || json_object_set_new_nocheck(o, "signature", json_string_nocheck(parts->sig))) {
        return APR_ENOMEM;
    }
    *jws = o;
    return APR_SUCCESS;
}

/* base64url of the compact serialization of a JSON object. */
static const char *json_b64u(apr_pool_t *p, const json_t *j)
{
    const char *s = acme_json_dump(p, j, 0);

    return s ? acme_b64u_encode(p, s, strlen(s)) : NULL;
}

/* s escaped for the inside of a JSON string, as Jansson's compact dump
 * writes it. Printable ASCII without '"' and '\\' (base64url nonces, the URLs
 * CAs use) is s itself; anything else goes through Jansson, which escapes it
 * or, for bad UTF-8, fails (NULL). */
static const char *json_escape(apr_pool_t *p, const char *s)
{
    const unsigned char *c = (const unsigned char *)s;
    char *quoted;
    apr_size_t len;

    while (*c >= 0x20 && *c < 0x7f && *c != '"' && *c != '\\') {
        c++;
    }
    if (!*c) {
        return s;
    }
    quoted = acme_json_dump(p, acme_json_own(p, json_string(s)), JSON_ENCODE_ANY);
    if (!quoted || (len = strlen(quoted)) < 2) {
        return NULL;
    }
    quoted[len - 1] = '\0';
    return quoted + 1;
}

/* The ACME protected header as compact JSON text: alg, nonce (when not NULL),
 * url, then kid or the key's jwk. Written directly rather than dumped from a
 * Jansson object, which costs more than the rest of the JWS around the signature. */
static apr_status_t protected_header(apr_pool_t *p, const acme_key_t *key, const char *alg,
                                     const char *kid, const char *nonce, const char *url,
                                     const char **text)
{
    const char *n = nonce ? json_escape(p, nonce) : "", *u = json_escape(p, url), *id;
    json_t *jwk;
    apr_status_t rv;

    if (kid) {
        id = json_escape(p, kid);
    }
    else if ((rv = acme_jwk_public(p, key, &jwk)) != APR_SUCCESS) {
        return rv;
    }
    else {
        id = acme_json_dump(p, jwk, 0);
    }
    if (!n || !u || !id) {
        return APR_EINVAL;
    }
    *text = apr_pstrcat(p, "{\"alg\":\"", alg, nonce ? "\",\"nonce\":\"" : "", n,
                        "\",\"url\":\"", u, kid ? "\",\"kid\":\"" : "\",\"jwk\":", id,
                        kid ? "\"}" : "}", NULL);
    return APR_SUCCESS;
}

/* The signed parts of an ACME JWS (see acme_jws_sign). */
static apr_status_t sign_parts(apr_pool_t *p, const acme_key_t *key, const char *kid,
                               const char *nonce, const char *url, const char *payload,
                               jws_parts_t *parts)
{
    const char *alg = acme_jws_alg(key), *header, *input;
    unsigned char *sig;
    apr_size_t siglen;
    apr_status_t rv;

    if (!alg || !url) {
        return alg ? APR_EINVAL : APR_ENOTIMPL;
    }
    if ((rv = protected_header(p, key, alg, kid, nonce, url, &header)) != APR_SUCCESS) {
        return rv;
    }
    parts->prot = acme_b64u_encode(p, header, strlen(header));
    parts->payload = payload ? acme_b64u_encode(p, payload, strlen(payload)) : "";
    input = apr_pstrcat(p, parts->prot, ".", parts->payload, NULL);
    if ((rv = acme_jws_signature(p, key, input, strlen(input), &sig, &siglen)) != APR_SUCCESS) {
        return rv;
    }
    parts->sig = acme_b64u_encode(p, sig, siglen);
    return APR_SUCCESS;
}

apr_status_t acme_jws_sign(apr_pool_t *p, const acme_key_t *key, const char *kid,
                           const char *nonce, const char *url, const char *payload,
                           json_t **jws)
{
    jws_parts_t parts;
    apr_status_t rv = sign_parts(p, key, kid, nonce, url, payload, &parts);

    return rv == APR_SUCCESS ? flattened(p, &parts, jws) : rv;
}

apr_status_t acme_jws_sign_text(apr_pool_t *p, const acme_key_t *key, const char *kid,
                                const char *nonce, const char *url, const char *payload,
                                const char **text)
{
    jws_parts_t parts;
    apr_status_t rv = sign_parts(p, key, kid, nonce, url, payload, &parts);

    /* Base64url needs no JSON escaping: this is Jansson's compact dump of the object. */
    if (rv == APR_SUCCESS) {
        *text = apr_pstrcat(p, "{\"protected\":\"", parts.prot, "\",\"payload\":\"",
                            parts.payload, "\",\"signature\":\"", parts.sig, "\"}", NULL);
    }
    return rv;
}

apr_status_t acme_jws_eab(apr_pool_t *p, const char *alg, const char *kid,
                          const unsigned char *hkey, apr_size_t hkeylen,
                          const char *url, const json_t *account_jwk, json_t **jws)
{
    const char *input;
    jws_parts_t parts;
    json_t *prot;
    unsigned char *mac;
    apr_size_t maclen;
    apr_status_t rv;

    if (!alg || !kid || !url || !account_jwk || !md_for_alg(alg) || alg[0] != 'H') {
        return APR_EINVAL;
    }
    prot = acme_json_own(p, json_pack("{s:s,s:s,s:s}", "alg", alg, "kid", kid, "url", url));
    parts.prot = prot ? json_b64u(p, prot) : NULL;
    parts.payload = json_b64u(p, account_jwk);
    if (!parts.prot || !parts.payload) {
        return APR_EINVAL;
    }
    input = apr_pstrcat(p, parts.prot, ".", parts.payload, NULL);
    rv = acme_jws_hmac(p, alg, hkey, hkeylen, input, strlen(input), &mac, &maclen);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    parts.sig = acme_b64u_encode(p, mac, maclen);
    return flattened(p, &parts, jws);
}

apr_status_t acme_key_authorization(apr_pool_t *p, const char *token,
                                    const acme_key_t *account_key, const char **keyauth)
{
    const char *tp;
    apr_status_t rv;

    if (!acme_b64u_is_token(token)) {
        return APR_EINVAL;
    }
    rv = acme_jwk_thumbprint(p, account_key, &tp);
    if (rv == APR_SUCCESS) {
        *keyauth = apr_pstrcat(p, token, ".", tp, NULL);
    }
    return rv;
}

const char *acme_dns01_value(apr_pool_t *p, const char *keyauth)
{
    return keyauth ? sha256_b64u(p, keyauth, strlen(keyauth)) : NULL;
}
