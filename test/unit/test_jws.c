/* test_jws.c: unit tests of JWK, thumbprints and JWS against the RFC 7515 Appendix A and RFC 7638 vectors. */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include "acme_base64.h"
#include "acme_json.h"
#include "acme_jws.h"
#include "testjws.h"
#include "testutil.h"

/* --- vectors copied from RFC 7515 Appendix A and RFC 7638 §3.1 ------------ */

/* A.1: protected header octets (with CRLF and a space) and the payload. */
static const unsigned char a1_header[] = {
    123, 34, 116, 121, 112, 34, 58, 34, 74, 87, 84, 34, 44, 13, 10, 32,
    34, 97, 108, 103, 34, 58, 34, 72, 83, 50, 53, 54, 34, 125 };
static const unsigned char a_payload[] = {
    123, 34, 105, 115, 115, 34, 58, 34, 106, 111, 101, 34, 44, 13, 10,
    32, 34, 101, 120, 112, 34, 58, 49, 51, 48, 48, 56, 49, 57, 51, 56,
    48, 44, 13, 10, 32, 34, 104, 116, 116, 112, 58, 47, 47, 101, 120, 97,
    109, 112, 108, 101, 46, 99, 111, 109, 47, 105, 115, 95, 114, 111,
    111, 116, 34, 58, 116, 114, 117, 101, 125 };
#define A1_HEADER_B64 "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
#define A_PAYLOAD_B64 "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt" \
                      "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
#define A1_KEY "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"
#define A1_SIG "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

#define A2_HEADER_B64 "eyJhbGciOiJSUzI1NiJ9"
static const char *const a2_jwk[][2] = {
    { "n", "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddx"
           "HmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMs"
           "D1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSH"
           "SXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdV"
           "MTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8"
           "NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ" },
    { "e", "AQAB" },
    { "d", "Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97I"
           "jlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2NXOoAJe46sui395IW_GO-pWJ1O0"
           "BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn"
           "439X0M_V51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYT"
           "CBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLh"
           "BOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRuOopznQ" },
    { "p", "4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdi"
           "YrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2KKDcmnPG"
           "BY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc" },
    { "q", "uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxa"
           "ewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_HlB-TnBA"
           "-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc" },
    { "dp", "BwKfV3Akq5_MFZDFZCnW-wzl-CCo83WoZvnLQwCTeDv8uzluRSnm71I3Q"
            "CLdhrqE2e9YkxvuxdBfpT_PI7Yz-FOKnu1R6HsJeDCjn12Sk3vmAktV2zb"
            "34MCdy7cpdTh_YVr7tss2u6vneTwrA86rZtu5Mbr1C1XsmvkxHQAdYo0" },
    { "dq", "h_96-mK1R_7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa"
            "7I9xXDoRwbKgB719rrmI2oKr6N3Do9U0ajaHF-NKJnwgjMd2w9cjz3_-ky"
            "NlxAr2v4IKhGNpmM5iIgOS1VZnOZ68m6_pbLBSp3nssTdlqvd0tIiTHU" },
    { "qi", "IYd7DHOhrWvxkwPQsRM2tOgrjbcrfvtQJipd-DlcxyVuuM9sQLdgjVk2o"
            "y26F0EmpScGLq2MowX7fhd_QJQ3ydy5cY7YIBi87w93IKLEdfnbJtoOPLU"
            "W0ITrJReOgo1cq9SbsxYawBgfp_gh6A5603k2-ZQwVK0JKSHuLFkuQ3U" },
};
#define A2_SIG "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7" \
               "AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4" \
               "BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K" \
               "0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqv" \
               "hJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrB" \
               "p0igcN_IoypGlUPQGe77Rw"

#define A3_HEADER_B64 "eyJhbGciOiJFUzI1NiJ9"
#define A3_X "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
#define A3_Y "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
#define A3_D "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"
#define A3_SIG "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSA" \
               "pmWQxfKTUJqPP3-Kg6NU1Q"

#define RFC7638_N "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
#define RFC7638_THUMB "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

/* --- helpers --------------------------------------------------------------- */

static unsigned char *b64d(const char *s, apr_size_t *len)
{
    unsigned char *out;

    ck_assert_int_eq(acme_b64u_decode(pool, s, strlen(s), &out, len), APR_SUCCESS);
    return out;
}

static BIGNUM *b64_bn(const char *s)
{
    apr_size_t len;
    unsigned char *b = b64d(s, &len);

    return BN_bin2bn(b, (int)len, NULL);
}

/* Test-only: an RSA private key from the RFC's JWK members. */
static acme_key_t *rsa_private_from_jwk(const char *const members[][2], size_t n)
{
    static const char *const names[][2] = {
        { "n", OSSL_PKEY_PARAM_RSA_N }, { "e", OSSL_PKEY_PARAM_RSA_E },
        { "d", OSSL_PKEY_PARAM_RSA_D }, { "p", OSSL_PKEY_PARAM_RSA_FACTOR1 },
        { "q", OSSL_PKEY_PARAM_RSA_FACTOR2 }, { "dp", OSSL_PKEY_PARAM_RSA_EXPONENT1 },
        { "dq", OSSL_PKEY_PARAM_RSA_EXPONENT2 }, { "qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1 },
    };
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    BIGNUM *bns[8] = { 0 };
    OSSL_PARAM *params;
    EVP_PKEY_CTX *ctx;
    EVP_PKEY *pkey = NULL;
    size_t i, j;

    for (i = 0; i < 8; i++) {
        for (j = 0; j < n; j++) {
            if (!strcmp(members[j][0], names[i][0])) bns[i] = b64_bn(members[j][1]);
        }
        ck_assert(bns[i] != NULL);
        ck_assert(OSSL_PARAM_BLD_push_BN(bld, names[i][1], bns[i]));
    }
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    ck_assert(EVP_PKEY_fromdata_init(ctx) > 0);
    ck_assert(EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) > 0);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    for (i = 0; i < 8; i++) BN_free(bns[i]);
    return acme_key_wrap(pool, pkey);
}

/* Test-only: the P-256 private key of A.3. */
static acme_key_t *ec_private_a3(void)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    BIGNUM *d = b64_bn(A3_D);
    apr_size_t xl, yl;
    unsigned char *x = b64d(A3_X, &xl), *y = b64d(A3_Y, &yl);
    unsigned char pt[65];
    OSSL_PARAM *params;
    EVP_PKEY_CTX *ctx;
    EVP_PKEY *pkey = NULL;

    pt[0] = 4;
    memcpy(pt + 1, x, 32);
    memcpy(pt + 33, y, 32);
    ck_assert(OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0));
    ck_assert(OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt)));
    ck_assert(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d));
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    ck_assert(EVP_PKEY_fromdata_init(ctx) > 0);
    ck_assert(EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) > 0);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(d);
    return acme_key_wrap(pool, pkey);
}

static json_t *jparse(const char *s)
{
    json_t *j;

    ck_assert_int_eq(acme_json_parse(pool, s, strlen(s), &j, NULL), APR_SUCCESS);
    return j;
}

static json_t *flat(const char *prot, const char *payload, const char *sig)
{
    return acme_json_own(pool, json_pack("{s:s,s:s,s:s}", "protected", prot,
                                         "payload", payload, "signature", sig));
}

/* The protected header of a flattened JWS, decoded as text. */
static const char *protected_text(const json_t *jws)
{
    const char *b64;
    apr_size_t len;

    ck_assert_int_eq(acme_json_get_str(jws, "protected", &b64), APR_SUCCESS);
    return (const char *)b64d(b64, &len);
}

/* --- RFC 7515 Appendix A ------------------------------------------------- */

START_TEST(rfc7515_a1_hs256)
{
    apr_size_t klen, maclen, plen;
    unsigned char *k = b64d(A1_KEY, &klen), *mac;
    const char *input, *payload;

    ck_assert_str_eq(acme_b64u_encode(pool, a1_header, sizeof(a1_header)), A1_HEADER_B64);
    ck_assert_str_eq(acme_b64u_encode(pool, a_payload, sizeof(a_payload)), A_PAYLOAD_B64);
    input = A1_HEADER_B64 "." A_PAYLOAD_B64;
    ck_assert_int_eq(acme_jws_hmac(pool, "HS256", k, klen, input, strlen(input), &mac, &maclen),
                     APR_SUCCESS);
    ck_assert_uint_eq(maclen, 32);
    ck_assert_str_eq(acme_b64u_encode(pool, mac, maclen), A1_SIG);

    ck_assert_int_eq(tu_jws_verify(pool, flat(A1_HEADER_B64, A_PAYLOAD_B64, A1_SIG), NULL,
                                     k, klen, &payload, &plen, NULL), APR_SUCCESS);
    ck_assert_uint_eq(plen, sizeof(a_payload));
    ck_assert_mem_eq(payload, a_payload, plen);
    /* Wrong key, no key. */
    k[0] ^= 1;
    ck_assert_int_eq(tu_jws_verify(pool, flat(A1_HEADER_B64, A_PAYLOAD_B64, A1_SIG), NULL,
                                     k, klen, &payload, &plen, NULL), APR_EINVAL);
    ck_assert_int_eq(tu_jws_verify(pool, flat(A1_HEADER_B64, A_PAYLOAD_B64, A1_SIG), NULL,
                                     NULL, 0, &payload, &plen, NULL), APR_EINVAL);
    ck_assert_int_eq(acme_jws_hmac(pool, "HS1", k, klen, "x", 1, &mac, &maclen), APR_EINVAL);
    ck_assert_int_eq(acme_jws_hmac(pool, "RS256", k, klen, "x", 1, &mac, &maclen), APR_EINVAL);
}
END_TEST

START_TEST(rfc7515_a2_rs256)
{
    acme_key_t *key = rsa_private_from_jwk(a2_jwk, sizeof(a2_jwk) / sizeof(a2_jwk[0]));
    acme_key_t *pub;
    const char *input = A2_HEADER_B64 "." A_PAYLOAD_B64, *payload;
    unsigned char *sig;
    apr_size_t siglen, plen;
    json_t *jwk, *hdr;

    ck_assert_str_eq(acme_jws_alg(key), "RS256");
    ck_assert_int_eq(acme_key_type(key), ACME_KEY_RSA2048);
    /* RSASSA-PKCS1-v1_5 is deterministic: byte for byte the RFC's signature. */
    ck_assert_int_eq(acme_jws_signature(pool, key, input, strlen(input), &sig, &siglen), APR_SUCCESS);
    ck_assert_uint_eq(siglen, 256);
    ck_assert_str_eq(acme_b64u_encode(pool, sig, siglen), A2_SIG);

    /* Our public JWK equals the RFC's n and e; verify with a key made from it. */
    ck_assert_int_eq(acme_jwk_public(pool, key, &jwk), APR_SUCCESS);
    ck_assert_str_eq(json_string_value(json_object_get(jwk, "n")), a2_jwk[0][1]);
    ck_assert_str_eq(json_string_value(json_object_get(jwk, "e")), "AQAB");
    ck_assert_str_eq(json_string_value(json_object_get(jwk, "kty")), "RSA");
    ck_assert_int_eq(acme_jwk_to_key(pool, jwk, &pub), APR_SUCCESS);
    ck_assert_int_eq(tu_jws_verify(pool, flat(A2_HEADER_B64, A_PAYLOAD_B64, A2_SIG), pub,
                                     NULL, 0, &payload, &plen, &hdr), APR_SUCCESS);
    ck_assert_mem_eq(payload, a_payload, sizeof(a_payload));
    ck_assert_str_eq(json_string_value(json_object_get(hdr, "alg")), "RS256");
    /* The header claims RS256 but the payload was changed. */
    ck_assert_int_eq(tu_jws_verify(pool, flat(A2_HEADER_B64, A1_HEADER_B64, A2_SIG), pub,
                                     NULL, 0, &payload, &plen, NULL), APR_EINVAL);
}
END_TEST

START_TEST(rfc7515_a3_es256)
{
    json_t *jwk = acme_json_own(pool, json_pack("{s:s,s:s,s:s,s:s}", "kty", "EC", "crv", "P-256",
                                                "x", A3_X, "y", A3_Y));
    acme_key_t *pub, *priv;
    const char *payload, *input = A3_HEADER_B64 "." A_PAYLOAD_B64;
    char *bad;
    apr_size_t plen, siglen;
    unsigned char *sig;
    json_t *ours;

    ck_assert_int_eq(acme_jwk_to_key(pool, jwk, &pub), APR_SUCCESS);
    ck_assert_int_eq(acme_key_type(pub), ACME_KEY_EC256);
    ck_assert_str_eq(acme_jws_alg(pub), "ES256");
    ck_assert_int_eq(tu_jws_verify(pool, flat(A3_HEADER_B64, A_PAYLOAD_B64, A3_SIG), pub,
                                     NULL, 0, &payload, &plen, NULL), APR_SUCCESS);
    ck_assert_mem_eq(payload, a_payload, sizeof(a_payload));
    /* One bit flipped in S. */
    bad = apr_pstrdup(pool, A3_SIG);
    bad[60] = bad[60] == 'A' ? 'B' : 'A';
    ck_assert_int_eq(tu_jws_verify(pool, flat(A3_HEADER_B64, A_PAYLOAD_B64, bad), pub,
                                     NULL, 0, &payload, &plen, NULL), APR_EINVAL);

    /* Our own ES256 signature with the RFC's private key verifies, and our JWK
     * reproduces x and y. */
    priv = ec_private_a3();
    ck_assert_int_eq(acme_jws_signature(pool, priv, input, strlen(input), &sig, &siglen), APR_SUCCESS);
    ck_assert_uint_eq(siglen, 64);
    ck_assert_int_eq(tu_jws_verify(pool, flat(A3_HEADER_B64, A_PAYLOAD_B64,
                                                acme_b64u_encode(pool, sig, siglen)), pub,
                                     NULL, 0, &payload, &plen, NULL), APR_SUCCESS);
    ck_assert_int_eq(acme_jwk_public(pool, priv, &ours), APR_SUCCESS);
    ck_assert_str_eq(acme_json_dump(pool, ours, JSON_SORT_KEYS),
                     "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"" A3_X "\",\"y\":\"" A3_Y "\"}");
}
END_TEST

/* --- RFC 7638 ------------------------------------------------------------ */

START_TEST(rfc7638_thumbprint)
{
    json_t *jwk = jparse("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\","
                         "\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}");
    const char *tp, *tp2;
    acme_key_t *key;

    ck_assert_int_eq(acme_jwk_thumbprint_json(pool, jwk, &tp), APR_SUCCESS);
    ck_assert_str_eq(tp, RFC7638_THUMB);
    ck_assert_int_eq(acme_jwk_to_key(pool, jwk, &key), APR_SUCCESS);
    ck_assert_int_eq(acme_jwk_thumbprint(pool, key, &tp2), APR_SUCCESS);
    ck_assert_str_eq(tp2, RFC7638_THUMB);
}
END_TEST

START_TEST(thumbprint_rejects)
{
    const char *tp;

    ck_assert_int_eq(acme_jwk_thumbprint_json(pool, jparse("{\"kty\":\"RSA\",\"e\":\"AQAB\"}"), &tp), APR_EINVAL);
    ck_assert_int_eq(acme_jwk_thumbprint_json(pool, jparse("{\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":5}"), &tp), APR_EINVAL);
    ck_assert_int_eq(acme_jwk_thumbprint_json(pool, jparse("{\"kty\":\"RSA\",\"e\":\"AQ\\\"B\",\"n\":\"AQAB\"}"), &tp), APR_EINVAL);
    ck_assert_int_eq(acme_jwk_thumbprint_json(pool, jparse("{\"kty\":\"EC\",\"crv\":\"P-521\",\"x\":\"AA\",\"y\":\"AA\"}"), &tp), APR_EINVAL);
    ck_assert_int_eq(acme_jwk_thumbprint_json(pool, jparse("{\"kty\":\"oct\",\"k\":\"AA\"}"), &tp), APR_ENOTIMPL);
    ck_assert_int_eq(acme_jwk_thumbprint_json(pool, jparse("{\"crv\":\"P-256\"}"), &tp), APR_EINVAL);
}
END_TEST

START_TEST(jwk_to_key_rejects)
{
    acme_key_t *key;
    /* A point that is not on P-256 (y changed). */
    json_t *off = acme_json_own(pool, json_pack("{s:s,s:s,s:s,s:s}", "kty", "EC", "crv", "P-256",
                                                "x", A3_X, "y", A3_X));
    json_t *short_x = acme_json_own(pool, json_pack("{s:s,s:s,s:s,s:s}", "kty", "EC", "crv", "P-256",
                                                    "x", "AAAA", "y", A3_Y));
    /* A 512-bit RSA modulus is too small. */
    json_t *small = jparse("{\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":\"" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "\"}");

    ck_assert_int_eq(acme_jwk_to_key(pool, off, &key), APR_EINVAL);
    ck_assert_int_eq(acme_jwk_to_key(pool, short_x, &key), APR_EINVAL);
    ck_assert_int_eq(acme_jwk_to_key(pool, small, &key), APR_EINVAL);
    ck_assert_int_eq(acme_jwk_to_key(pool, jparse("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AA\"}"), &key), APR_ENOTIMPL);
    ck_assert_int_eq(acme_jwk_to_key(pool, jparse("{}"), &key), APR_EINVAL);
    ck_assert_int_eq(acme_jwk_to_key(pool, jparse("{\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":\"A=\"}"), &key), APR_EINVAL);
}
END_TEST

/* The RFC's private JWKs (A.2 RSA, A.3 EC) become the same keys the test builds by hand. */
START_TEST(private_jwk_to_key)
{
    json_t *rsa = acme_json_own(pool, json_pack("{s:s}", "kty", "RSA")), *ec, *bad;
    acme_key_t *key, *want = rsa_private_from_jwk(a2_jwk, sizeof(a2_jwk) / sizeof(a2_jwk[0]));
    const char *input = A2_HEADER_B64 "." A_PAYLOAD_B64;
    unsigned char *sig;
    apr_size_t siglen;
    size_t i;

    for (i = 0; i < sizeof(a2_jwk) / sizeof(a2_jwk[0]); i++) {
        json_object_set_new(rsa, a2_jwk[i][0], json_string(a2_jwk[i][1]));
    }
    ck_assert_int_eq(acme_jwk_to_private_key(pool, rsa, &key), APR_SUCCESS);
    ck_assert_int_eq(acme_key_type(key), ACME_KEY_RSA2048);
    ck_assert_int_eq(EVP_PKEY_eq(acme_key_evp(key), acme_key_evp(want)), 1);
    ck_assert_int_eq(acme_jws_signature(pool, key, input, strlen(input), &sig, &siglen), APR_SUCCESS);
    ck_assert_str_eq(acme_b64u_encode(pool, sig, siglen), A2_SIG);

    ec = acme_json_own(pool, json_pack("{s:s,s:s,s:s,s:s,s:s}", "kty", "EC", "crv", "P-256",
                                       "x", A3_X, "y", A3_Y, "d", A3_D));
    ck_assert_int_eq(acme_jwk_to_private_key(pool, ec, &key), APR_SUCCESS);
    ck_assert_int_eq(acme_key_type(key), ACME_KEY_EC256);
    ck_assert_int_eq(EVP_PKEY_eq(acme_key_evp(key), acme_key_evp(ec_private_a3())), 1);

    /* A public JWK is not a private key; a d of another key does not fit x and y. */
    bad = json_deep_copy(ec);
    json_object_del(bad, "d");
    ck_assert_int_eq(acme_jwk_to_private_key(pool, acme_json_own(pool, bad), &key), APR_EINVAL);
    bad = json_deep_copy(ec);
    json_object_set_new(bad, "d", json_string(A3_X));
    ck_assert_int_eq(acme_jwk_to_private_key(pool, acme_json_own(pool, bad), &key), APR_EINVAL);
    bad = json_deep_copy(rsa);
    json_object_del(bad, "qi");
    ck_assert_int_eq(acme_jwk_to_private_key(pool, acme_json_own(pool, bad), &key), APR_EINVAL);
    bad = json_deep_copy(rsa);
    json_object_set_new(bad, "p", json_string(a2_jwk[4][1]));   /* q as p */
    ck_assert_int_eq(acme_jwk_to_private_key(pool, acme_json_own(pool, bad), &key), APR_EINVAL);
    ck_assert_int_eq(acme_jwk_to_private_key(pool, jparse("{\"kty\":\"oct\",\"k\":\"AA\"}"), &key),
                     APR_ENOTIMPL);
}
END_TEST

/* --- ACME profile ---------------------------------------------------------- */

static const acme_key_type_e sign_types[] = { ACME_KEY_EC256, ACME_KEY_EC384, ACME_KEY_RSA2048 };

START_TEST(sign_and_verify_every_type)
{
    acme_key_t *key;
    json_t *jws, *hdr, *jwk;
    const char *payload, *text, *alg;
    apr_size_t plen;

    ck_assert_int_eq(acme_key_generate(pool, sign_types[_i], &key), APR_SUCCESS);
    alg = acme_jws_alg(key);
    ck_assert_int_eq(acme_jws_sign(pool, key, NULL, "nonce-1", "https://ca/new-acct",
                                   "{\"termsOfServiceAgreed\":true}", &jws), APR_SUCCESS);
    ck_assert_uint_eq(json_object_size(jws), 3);
    text = protected_text(jws);
    ck_assert_msg(strncmp(text, apr_psprintf(pool, "{\"alg\":\"%s\",\"nonce\":\"nonce-1\","
                                             "\"url\":\"https://ca/new-acct\",\"jwk\":{", alg),
                          strlen(text) > 60 ? 60 : strlen(text)) == 0, "header %s", text);
    /* Key from the header's jwk. */
    ck_assert_int_eq(tu_jws_verify(pool, jws, NULL, NULL, 0, &payload, &plen, &hdr), APR_SUCCESS);
    ck_assert_str_eq(payload, "{\"termsOfServiceAgreed\":true}");
    ck_assert_int_eq(acme_json_get_obj(hdr, "jwk", &jwk), APR_SUCCESS);
    ck_assert(json_object_get(hdr, "kid") == NULL);
    /* Explicit key. */
    ck_assert_int_eq(tu_jws_verify(pool, jws, key, NULL, 0, &payload, &plen, NULL), APR_SUCCESS);
}
END_TEST

START_TEST(sign_kid_and_post_as_get)
{
    acme_key_t *key;
    json_t *jws;
    const char *payload, *b64;
    apr_size_t plen;

    ck_assert_int_eq(acme_key_generate(pool, ACME_KEY_EC256, &key), APR_SUCCESS);
    ck_assert_int_eq(acme_jws_sign(pool, key, "https://ca/acct/1", "n2", "https://ca/order/7",
                                   NULL, &jws), APR_SUCCESS);
    ck_assert_str_eq(protected_text(jws), "{\"alg\":\"ES256\",\"nonce\":\"n2\",\"url\":\"https://ca/order/7\","
                                          "\"kid\":\"https://ca/acct/1\"}");
    ck_assert_int_eq(acme_json_get_str(jws, "payload", &b64), APR_SUCCESS);
    ck_assert_str_eq(b64, "");
    ck_assert_int_eq(tu_jws_verify(pool, jws, key, NULL, 0, &payload, &plen, NULL), APR_SUCCESS);
    ck_assert_uint_eq(plen, 0);
    ck_assert_str_eq(payload, "");
    /* kid only: no key to verify with. */
    ck_assert_int_eq(tu_jws_verify(pool, jws, NULL, NULL, 0, &payload, &plen, NULL), APR_EINVAL);
    /* Inner keyChange JWS: no nonce. */
    ck_assert_int_eq(acme_jws_sign(pool, key, NULL, NULL, "https://ca/key-change", "{}", &jws), APR_SUCCESS);
    ck_assert(strstr(protected_text(jws), "nonce") == NULL);
    ck_assert_int_eq(acme_jws_sign(pool, key, NULL, "n", NULL, "{}", &jws), APR_EINVAL);
}
END_TEST

/* The protected header Jansson writes for the same members, jwk or kid last. */
static const char *jansson_header(const char *alg, const char *nonce, const char *url,
                                  const char *kid, json_t *jwk)
{
    json_t *o = acme_json_own(pool, json_pack("{s:s,s:s,s:s}", "alg", alg, "nonce", nonce,
                                              "url", url));

    ck_assert(o != NULL);
    ck_assert_int_eq(kid ? json_object_set_new(o, "kid", json_string(kid))
                         : json_object_set(o, "jwk", jwk), 0);
    return acme_json_dump(pool, o, 0);
}

/* The header is written without a Jansson dump: it must still be exactly the
 * compact JSON Jansson writes, escapes included, and refuse what Jansson refuses. */
START_TEST(header_text_is_janssons)
{
    static const char *const members[] = {
        "https://ca/acct/1", "https://ca/acct/\"1\"", "https://ca/a\\b/c", "tab\there\nnl",
        "https://ca/caf\xc3\xa9/\xe2\x82\xac", "del\x7f~", "\x01", "",
    };
    acme_key_t *key;
    json_t *jws, *hdr, *jwk;
    const char *payload, *kid;
    apr_size_t plen;
    size_t i;

    ck_assert_int_eq(acme_key_generate(pool, ACME_KEY_EC256, &key), APR_SUCCESS);
    for (i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
        const char *m = members[i];
        ck_assert_int_eq(acme_jws_sign(pool, key, m, m, m, "{}", &jws), APR_SUCCESS);
        ck_assert_str_eq(protected_text(jws), jansson_header("ES256", m, m, m, NULL));
        ck_assert_int_eq(tu_jws_verify(pool, jws, key, NULL, 0, &payload, &plen, &hdr),
                         APR_SUCCESS);
        ck_assert_int_eq(acme_json_get_str(hdr, "kid", &kid), APR_SUCCESS);
        ck_assert_str_eq(kid, m);
    }
    ck_assert_int_eq(acme_jwk_public(pool, key, &jwk), APR_SUCCESS);
    ck_assert_int_eq(acme_jws_sign(pool, key, NULL, "n\"1", "https://ca/new-acct", "{}", &jws),
                     APR_SUCCESS);
    ck_assert_str_eq(protected_text(jws), jansson_header("ES256", "n\"1", "https://ca/new-acct",
                                                         NULL, jwk));
    /* Not UTF-8: no header at all. */
    ck_assert_int_eq(acme_jws_sign(pool, key, "https://ca/\xff", "n", "https://u", "{}", &jws),
                     APR_EINVAL);
    ck_assert_int_eq(acme_jws_sign(pool, key, "k", "\xc3", "https://u", "{}", &jws), APR_EINVAL);
    ck_assert_int_eq(acme_jws_sign(pool, key, NULL, "n", "https://u/\xe2\x82", "{}", &jws),
                     APR_EINVAL);
}
END_TEST

/* RSASSA-PKCS1-v1_5 is deterministic, so the text form and the dump of the
 * object form of the same JWS can be compared byte for byte. */
START_TEST(sign_text_is_the_dump_of_sign)
{
    acme_key_t *key = rsa_private_from_jwk(a2_jwk, sizeof(a2_jwk) / sizeof(a2_jwk[0]));
    static const char *const kids[] = { "https://ca/acct/1", NULL };
    static const char *const payloads[] = { "{\"csr\":\"MIIB\"}", NULL };
    const char *text, *payload;
    json_t *jws, *parsed;
    apr_size_t plen;
    size_t i, j;

    for (i = 0; i < 2; i++) {
        for (j = 0; j < 2; j++) {
            ck_assert_int_eq(acme_jws_sign(pool, key, kids[i], "n\"1", "https://ca/x", payloads[j],
                                           &jws), APR_SUCCESS);
            ck_assert_int_eq(acme_jws_sign_text(pool, key, kids[i], "n\"1", "https://ca/x",
                                                payloads[j], &text), APR_SUCCESS);
            ck_assert_str_eq(text, acme_json_dump(pool, jws, 0));
            parsed = jparse(text);
            ck_assert_int_eq(tu_jws_verify(pool, parsed, key, NULL, 0, &payload, &plen, NULL),
                             APR_SUCCESS);
            ck_assert_str_eq(payload, payloads[j] ? payloads[j] : "");
        }
    }
    ck_assert_int_eq(acme_jws_sign_text(pool, key, NULL, "n", NULL, "{}", &text), APR_EINVAL);
    ck_assert_int_eq(acme_jws_sign_text(pool, key, "https://ca/\xff", "n", "https://u", "{}", &text),
                     APR_EINVAL);
}
END_TEST

/* Threads signing with one key, as concurrent drives do with the account key. */
#define SIGN_THREADS 4
#define SIGNS_PER_THREAD 25

typedef struct {
    acme_key_t *key;
    apr_pool_t *p;      /* this thread's alone */
    int verified;
} signer_t;

static void *APR_THREAD_FUNC sign_many(apr_thread_t *t, void *baton)
{
    signer_t *s = baton;
    json_t *jws;
    const char *payload;
    apr_size_t plen;
    int i;

    (void)t;
    for (i = 0; i < SIGNS_PER_THREAD; i++) {
        const char *body = apr_psprintf(s->p, "{\"n\":%d}", i);
        if (acme_jws_sign(s->p, s->key, i % 2 ? "https://ca/acct/1" : NULL, "nonce",
                          "https://ca/x", body, &jws) == APR_SUCCESS
            && tu_jws_verify(s->p, jws, s->key, NULL, 0, &payload, &plen, NULL) == APR_SUCCESS
            && !strcmp(payload, body)) {
            s->verified++;
        }
    }
    return NULL;
}

START_TEST(concurrent_signs_with_one_key)
{
    apr_thread_t *threads[SIGN_THREADS];
    signer_t signers[SIGN_THREADS];
    acme_key_t *key;
    apr_status_t trv;
    int i;

    /* A fresh key: the threads also race to prepare its signing context. */
    ck_assert_int_eq(acme_key_generate(pool, sign_types[_i], &key), APR_SUCCESS);
    for (i = 0; i < SIGN_THREADS; i++) {
        signers[i].key = key;
        signers[i].verified = 0;
        ck_assert_int_eq(apr_pool_create(&signers[i].p, NULL), APR_SUCCESS);
    }
    for (i = 0; i < SIGN_THREADS; i++) {
        ck_assert_int_eq(apr_thread_create(&threads[i], NULL, sign_many, &signers[i], pool),
                         APR_SUCCESS);
    }
    for (i = 0; i < SIGN_THREADS; i++) {
        ck_assert_int_eq(apr_thread_join(&trv, threads[i]), APR_SUCCESS);
        ck_assert_int_eq(signers[i].verified, SIGNS_PER_THREAD);
        apr_pool_destroy(signers[i].p);
    }
}
END_TEST

/* Convert R||S to DER and verify with plain OpenSSL, independent of tu_jws_verify. */
static int openssl_verify_raw(acme_key_t *key, const EVP_MD *md, const char *input,
                              const unsigned char *raw, apr_size_t rawlen)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, (int)(rawlen / 2), NULL);
    BIGNUM *s = BN_bin2bn(raw + rawlen / 2, (int)(rawlen / 2), NULL);
    unsigned char *der = NULL;
    int derlen, ok;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    ck_assert(ECDSA_SIG_set0(es, r, s));
    derlen = i2d_ECDSA_SIG(es, &der);
    ck_assert_int_gt(derlen, 0);
    ck_assert(EVP_DigestVerifyInit(ctx, NULL, md, NULL, acme_key_evp(key)) > 0);
    ok = EVP_DigestVerify(ctx, der, (size_t)derlen, (const unsigned char *)input, strlen(input));
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
    return ok;
}

START_TEST(ecdsa_raw_signature_verifies_with_openssl)
{
    acme_key_t *k256, *k384;
    unsigned char *sig;
    apr_size_t siglen;
    const char *input = "eyJhbGciOiJFUzI1NiJ9.e30";
    int i;

    ck_assert_int_eq(acme_key_generate(pool, ACME_KEY_EC256, &k256), APR_SUCCESS);
    ck_assert_int_eq(acme_key_generate(pool, ACME_KEY_EC384, &k384), APR_SUCCESS);
    /* Repeat: R or S with leading zero bytes must still be fixed size. */
    for (i = 0; i < 50; i++) {
        ck_assert_int_eq(acme_jws_signature(pool, k256, input, strlen(input), &sig, &siglen), APR_SUCCESS);
        ck_assert_uint_eq(siglen, 64);
        ck_assert_int_eq(openssl_verify_raw(k256, EVP_sha256(), input, sig, siglen), 1);
        ck_assert_int_eq(acme_jws_signature(pool, k384, input, strlen(input), &sig, &siglen), APR_SUCCESS);
        ck_assert_uint_eq(siglen, 96);
        ck_assert_int_eq(openssl_verify_raw(k384, EVP_sha384(), input, sig, siglen), 1);
    }
    ck_assert_int_eq(openssl_verify_raw(k384, EVP_sha384(), "other", sig, siglen), 0);
}
END_TEST

/* Re-sign a JWS with a replaced protected header (key-signed). */
static json_t *with_header(acme_key_t *key, const char *hdr, const char *payload_b64)
{
    const char *prot = acme_b64u_encode(pool, hdr, strlen(hdr));
    const char *input = apr_pstrcat(pool, prot, ".", payload_b64, NULL);
    unsigned char *sig;
    apr_size_t siglen;

    ck_assert_int_eq(acme_jws_signature(pool, key, input, strlen(input), &sig, &siglen), APR_SUCCESS);
    return flat(prot, payload_b64, acme_b64u_encode(pool, sig, siglen));
}

START_TEST(verify_rejects)
{
    acme_key_t *key, *other, *k384;
    json_t *jws, *jwk, *bad;
    const char *payload, *sig;
    apr_size_t plen;
    const char *jwk_s;

    ck_assert_int_eq(acme_key_generate(pool, ACME_KEY_EC256, &key), APR_SUCCESS);
    ck_assert_int_eq(acme_key_generate(pool, ACME_KEY_EC256, &other), APR_SUCCESS);
    ck_assert_int_eq(acme_key_generate(pool, ACME_KEY_EC384, &k384), APR_SUCCESS);
    ck_assert_int_eq(acme_jws_sign(pool, key, NULL, "n", "https://u", "{}", &jws), APR_SUCCESS);
    ck_assert_int_eq(tu_jws_verify(pool, jws, other, NULL, 0, &payload, &plen, NULL), APR_EINVAL);
    ck_assert_int_eq(tu_jws_verify(pool, jws, k384, NULL, 0, &payload, &plen, NULL), APR_EINVAL);
    ck_assert_int_eq(acme_json_get_str(jws, "signature", &sig), APR_SUCCESS);

    /* alg none, unknown alg, alg/key mismatch, both jwk and kid. */
    ck_assert_int_eq(tu_jws_verify(pool, with_header(key, "{\"alg\":\"none\"}", "e30"), key,
                                     NULL, 0, &payload, &plen, NULL), APR_EINVAL);
    ck_assert_int_eq(tu_jws_verify(pool, flat("eyJhbGciOiJub25lIn0", "e30", ""), key,
                                     NULL, 0, &payload, &plen, NULL), APR_EINVAL);
    ck_assert_int_eq(tu_jws_verify(pool, with_header(key, "{\"alg\":\"ES512\"}", "e30"), key,
                                     NULL, 0, &payload, &plen, NULL), APR_EINVAL);
    ck_assert_int_eq(tu_jws_verify(pool, with_header(key, "{\"alg\":\"ES384\"}", "e30"), key,
                                     NULL, 0, &payload, &plen, NULL), APR_EINVAL);
    ck_assert_int_eq(tu_jws_verify(pool, with_header(key, "{\"alg\":\"RS256\"}", "e30"), key,
                                     NULL, 0, &payload, &plen, NULL), APR_EINVAL);
    ck_assert_int_eq(tu_jws_verify(pool, with_header(key, "{\"alg\":\"ES256\"}", "e30"), key,
                                     NULL, 0, &payload, &plen, NULL), APR_SUCCESS);
    ck_assert_int_eq(acme_jwk_public(pool, key, &jwk), APR_SUCCESS);
    jwk_s = acme_json_dump(pool, jwk, 0);
    ck_assert_int_eq(tu_jws_verify(pool, with_header(key, apr_psprintf(pool,
                         "{\"alg\":\"ES256\",\"jwk\":%s,\"kid\":\"x\"}", jwk_s), "e30"), NULL,
                                     NULL, 0, &payload, &plen, NULL), APR_EINVAL);
    ck_assert_int_eq(tu_jws_verify(pool, with_header(key, apr_psprintf(pool,
                         "{\"alg\":\"ES256\",\"jwk\":%s}", jwk_s), "e30"), NULL,
                                     NULL, 0, &payload, &plen, NULL), APR_SUCCESS);
    /* Header not JSON, duplicate alg, header an array. */
    ck_assert_int_eq(tu_jws_verify(pool, with_header(key, "{\"alg\":\"ES256\"", "e30"), key,
                                     NULL, 0, &payload, &plen, NULL), APR_EINVAL);
    ck_assert_int_eq(tu_jws_verify(pool, with_header(key, "{\"alg\":\"none\",\"alg\":\"ES256\"}", "e30"), key,
                                     NULL, 0, &payload, &plen, NULL), APR_EINVAL);
    ck_assert_int_eq(tu_jws_verify(pool, with_header(key, "[\"ES256\"]", "e30"), key,
                                     NULL, 0, &payload, &plen, NULL), APR_EINVAL);

    /* Missing, mistyped and badly encoded members; truncated signature. */
    bad = jparse("{\"protected\":\"eyJhbGciOiJFUzI1NiJ9\",\"payload\":\"e30\"}");
    ck_assert_int_eq(tu_jws_verify(pool, bad, key, NULL, 0, &payload, &plen, NULL), APR_EINVAL);
    bad = jparse("{\"protected\":\"eyJhbGciOiJFUzI1NiJ9\",\"payload\":1,\"signature\":\"AA\"}");
    ck_assert_int_eq(tu_jws_verify(pool, bad, key, NULL, 0, &payload, &plen, NULL), APR_EINVAL);
    ck_assert_int_eq(tu_jws_verify(pool, flat("eyJhbGciOiJFUzI1NiJ9=", "e30", sig), key,
                                     NULL, 0, &payload, &plen, NULL), APR_EINVAL);
    ck_assert_int_eq(tu_jws_verify(pool, flat("eyJhbGciOiJFUzI1NiJ9", "e30", "AAAA"), key,
                                     NULL, 0, &payload, &plen, NULL), APR_EINVAL);
    ck_assert_int_eq(tu_jws_verify(pool, jparse("[]"), key, NULL, 0, &payload, &plen, NULL), APR_EINVAL);
    ck_assert_int_eq(tu_jws_verify(pool, NULL, key, NULL, 0, &payload, &plen, NULL), APR_EINVAL);
}
END_TEST

START_TEST(eab_hs256)
{
    acme_key_t *key;
    json_t *jwk, *jws, *hdr;
    unsigned char hkey[32];
    const char *payload;
    apr_size_t plen;
    static const char *algs[] = { "HS256", "HS384", "HS512" };
    size_t i;

    memset(hkey, 0x5a, sizeof(hkey));
    ck_assert_int_eq(acme_key_generate(pool, ACME_KEY_EC256, &key), APR_SUCCESS);
    ck_assert_int_eq(acme_jwk_public(pool, key, &jwk), APR_SUCCESS);
    for (i = 0; i < 3; i++) {
        ck_assert_int_eq(acme_jws_eab(pool, algs[i], "kid-1", hkey, sizeof(hkey),
                                      "https://ca/new-acct", jwk, &jws), APR_SUCCESS);
        ck_assert_str_eq(protected_text(jws), apr_psprintf(pool,
                         "{\"alg\":\"%s\",\"kid\":\"kid-1\",\"url\":\"https://ca/new-acct\"}", algs[i]));
        ck_assert_int_eq(tu_jws_verify(pool, jws, NULL, hkey, sizeof(hkey), &payload, &plen, &hdr),
                         APR_SUCCESS);
        ck_assert_str_eq(payload, acme_json_dump(pool, jwk, 0));
        ck_assert_int_eq(tu_jws_verify(pool, jws, NULL, hkey, 16, &payload, &plen, &hdr), APR_EINVAL);
    }
    ck_assert_int_eq(acme_jws_eab(pool, "ES256", "kid-1", hkey, sizeof(hkey), "https://ca/new-acct",
                                  jwk, &jws), APR_EINVAL);
}
END_TEST

START_TEST(key_authorization_and_dns01)
{
    json_t *jwk = jparse("{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\"}");
    acme_key_t *key;
    const char *ka;

    ck_assert_int_eq(acme_jwk_to_key(pool, jwk, &key), APR_SUCCESS);
    ck_assert_int_eq(acme_key_authorization(pool, "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA", key, &ka),
                     APR_SUCCESS);
    ck_assert_str_eq(ka, "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA." RFC7638_THUMB);
    ck_assert_str_eq(acme_dns01_value(pool, ka), "ZTRx1Ckl1-tM05o5zaizTTA0yUy5AGereMgSNWC6Ll8");
    ck_assert_int_eq(acme_key_authorization(pool, "../x", key, &ka), APR_EINVAL);
    ck_assert_int_eq(acme_key_authorization(pool, "", key, &ka), APR_EINVAL);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("jws");
    TCase *rfc = tu_tcase(s, "rfc-vectors", 0, tu_setup, tu_teardown);
    TCase *acme = tu_tcase(s, "acme-profile", 60, tu_setup, tu_teardown);

    tcase_add_test(rfc, rfc7515_a1_hs256);
    tcase_add_test(rfc, rfc7515_a2_rs256);
    tcase_add_test(rfc, rfc7515_a3_es256);
    tcase_add_test(rfc, rfc7638_thumbprint);
    tcase_add_test(rfc, thumbprint_rejects);
    tcase_add_test(rfc, jwk_to_key_rejects);
    tcase_add_test(rfc, private_jwk_to_key);

    tcase_add_loop_test(acme, sign_and_verify_every_type, 0, (int)(sizeof(sign_types) / sizeof(sign_types[0])));
    tcase_add_test(acme, sign_kid_and_post_as_get);
    tcase_add_test(acme, header_text_is_janssons);
    tcase_add_test(acme, sign_text_is_the_dump_of_sign);
    tcase_add_loop_test(acme, concurrent_signs_with_one_key, 0, (int)(sizeof(sign_types) / sizeof(sign_types[0])));
    tcase_add_test(acme, ecdsa_raw_signature_verifies_with_openssl);
    tcase_add_test(acme, verify_rejects);
    tcase_add_test(acme, eab_hs256);
    tcase_add_test(acme, key_authorization_and_dns01);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
