/* test_tnauth.c: unit tests of TNAuthList (RFC 8226 §9): known-answer DER vectors, strict decoding, the acmectl form, identifier values, store ids, and the CSR extension and certificate match. */
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>
#include <openssl/x509v3.h>
#include "acme_base64.h"
#include "acme_domain.h"
#include "acme_tnauth.h"
#include "acme_x509.h"
#include "testutil.h"

/* Known answers, written by hand from RFC 8226's ASN.1 module (Appendix A,
 * EXPLICIT TAGS): each TNEntry is a constructed [n] around the universal type.
 *   SPC "1234":               30 08 A0 06 16 04 "1234"
 *   range 12155550000 + 100:  30 14 A1 12 30 10 16 0B "12155550000" 02 01 64
 *   TN 12155551234:           30 0F A2 0D 16 0B "12155551234"
 *   count 200 needs a sign octet: 02 02 00 C8 */
static const char KA_SPC[] = "3008a006160431323334";
static const char KA_RANGE[] = "3014a1123010160b3132313535353530303030020164";
static const char KA_ONE[] = "300fa20d160b3132313535353531323334";
static const char KA_MIXED[] = "302ba006160431323334a1123010160b3132313535353530303030020164"
                               "a20d160b3132313535353531323334";
static const char KA_COUNT200[] = "3014a1123010160a32303235353530313030020200c8";

static unsigned char *unhex(const char *hex, apr_size_t *len)
{
    apr_size_t n = strlen(hex) / 2;
    unsigned char *b = apr_palloc(pool, n + 1);

    for (apr_size_t i = 0; i < n; i++) {
        unsigned int v;
        ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
        b[i] = (unsigned char)v;
    }
    *len = n;
    return b;
}

static const char *hex(const unsigned char *d, apr_size_t n)
{
    char *s = apr_palloc(pool, 2 * n + 1);
    for (apr_size_t i = 0; i < n; i++) {
        apr_snprintf(s + 2 * i, 3, "%02x", d[i]);
    }
    s[2 * n] = '\0';
    return s;
}

static const char *der_of_spec(const char *spec)
{
    acme_tnauth_t *tl = NULL;
    unsigned char *der = NULL;
    apr_size_t len = 0;
    const char *why = NULL;

    ck_assert_msg(acme_tnauth_parse_spec(pool, spec, &tl, &why) == APR_SUCCESS, "%s: %s", spec,
                  why ? why : "?");
    ck_assert_int_eq(acme_tnauth_to_der(pool, tl, &der, &len), APR_SUCCESS);
    return hex(der, len);
}

START_TEST(known_answers_encode)
{
    ck_assert_str_eq(der_of_spec("1234"), KA_SPC);
    ck_assert_str_eq(der_of_spec("tn:12155550000+100"), KA_RANGE);
    ck_assert_str_eq(der_of_spec("tn:12155550000-12155550099"), KA_RANGE);
    ck_assert_str_eq(der_of_spec("tn:12155551234"), KA_ONE);
    ck_assert_str_eq(der_of_spec("1234,12155550000-12155550099,12155551234"), KA_MIXED);
    ck_assert_str_eq(der_of_spec("spc:1234,tn:12155550000+100,tn:12155551234"), KA_MIXED);
    ck_assert_str_eq(der_of_spec("tn:2025550100+200"), KA_COUNT200);
}
END_TEST

START_TEST(known_answers_decode)
{
    apr_size_t len;
    unsigned char *der = unhex(KA_MIXED, &len);
    acme_tnauth_t *tl = NULL;
    const acme_tn_entry_t *e;

    ck_assert_int_eq(acme_tnauth_from_der(pool, der, len, &tl), APR_SUCCESS);
    ck_assert_int_eq(tl->entries->nelts, 3);
    e = &APR_ARRAY_IDX(tl->entries, 0, acme_tn_entry_t);
    ck_assert_int_eq(e->kind, ACME_TN_SPC);
    ck_assert_str_eq(e->value, "1234");
    e = &APR_ARRAY_IDX(tl->entries, 1, acme_tn_entry_t);
    ck_assert_int_eq(e->kind, ACME_TN_RANGE);
    ck_assert_str_eq(e->value, "12155550000");
    ck_assert(e->count == 100);
    e = &APR_ARRAY_IDX(tl->entries, 2, acme_tn_entry_t);
    ck_assert_int_eq(e->kind, ACME_TN_ONE);
    ck_assert_str_eq(e->value, "12155551234");
    ck_assert_str_eq(acme_tnauth_describe(pool, tl),
                     "SPC 1234, TNs 12155550000-12155550099, TN 12155551234");
    ck_assert_str_eq(acme_tnauth_spc(tl), "1234");

    der = unhex(KA_COUNT200, &len);
    ck_assert_int_eq(acme_tnauth_from_der(pool, der, len, &tl), APR_SUCCESS);
    ck_assert(APR_ARRAY_IDX(tl->entries, 0, acme_tn_entry_t).count == 200);
    ck_assert_ptr_null(acme_tnauth_spc(tl));
    ck_assert_str_eq(acme_tnauth_describe(pool, tl), "TNs 2025550100-2025550299");
}
END_TEST

START_TEST(decode_is_strict)
{
    static const char *const bad[] = {
        "",                                         /* nothing */
        "3000",                                     /* SIZE (1..MAX) */
        "308108a006160431323334",                   /* long-form length for 8 */
        "3008a00616043132333400",                   /* trailing byte */
        "3080a0061604313233340000",                 /* indefinite length (BER) */
        "3106a0041602313200",                       /* SET, not SEQUENCE */
        "3006800431323334",                         /* implicit tag [0] */
        "3008a306160431323334",                     /* no [3] alternative */
        "3008a006040431323334",                     /* OCTET STRING, not IA5String */
        "3011a10f300d160b3132313535353530303030",   /* range without count */
        "3014a1123010160b3132313535353530303030020101",  /* count 1 < 2 */
        "3014a1123010160b31323135353535303030300201ff",  /* count -1 */
        "300fa20d160b31323135353531323361",         /* 'a' in a TN */
        "3014a212161031323334353637383930313233343536",  /* 16 digits */
        "3004a0021600",                             /* empty SPC */
        "3008a006160431320a34",                     /* control character in SPC */
        "3008a006160431320034",                     /* NUL in SPC */
        NULL };
    for (int i = 0; bad[i]; i++) {
        apr_size_t len;
        unsigned char *der = unhex(bad[i], &len);
        acme_tnauth_t *tl = NULL;
        ck_assert_msg(acme_tnauth_from_der(pool, der, len, &tl) != APR_SUCCESS, "accepted %s",
                      bad[i]);
    }
}
END_TEST

START_TEST(spec_errors_name_the_element)
{
    static const char *const bad[][2] = {
        { "", "empty" },
        { ",1234", "empty element" },
        { "1234,,5", "empty element" },
        { "12!4", "'12!4' is not a service provider code" },
        { "1234,12a", "'12a' is not a telephone number" },
        { "1234,1234567890123456", "is not a telephone number" },
        { "1234,200-100", "LAST must have as many digits as FIRST and be larger" },
        { "1234,200-2001", "LAST must have as many digits" },
        { "1234,99+2", "COUNT must be at least 2 and stay within 2-digit numbers" },
        { "1234,5+1", "COUNT must be at least 2" },
        { "1234,1*2-1*9", "is not a telephone number range" },
        { "spc:", "'' is not a service provider code" },
        { NULL, NULL } };
    for (int i = 0; bad[i][0]; i++) {
        acme_tnauth_t *tl = NULL;
        const char *why = NULL;
        ck_assert_msg(acme_tnauth_parse_spec(pool, bad[i][0], &tl, &why) == APR_EINVAL, "%s",
                      bad[i][0]);
        ck_assert_msg(why && strstr(why, bad[i][1]), "%s: %s", bad[i][0], why ? why : "(none)");
    }
}
END_TEST

START_TEST(values_names_and_ids)
{
    acme_tnauth_t *tl = NULL, *back = NULL;
    const char *v = NULL, *why = NULL, *id;

    ck_assert_int_eq(acme_tnauth_parse_spec(pool, "1234", &tl, &why), APR_SUCCESS);
    ck_assert_int_eq(acme_tnauth_value(pool, tl, &v), APR_SUCCESS);
    ck_assert_str_eq(v, "MAigBhYEMTIzNA");
    ck_assert(acme_tnauth_value_eq(pool, v, "MAigBhYEMTIzNA=="));
    ck_assert(!acme_tnauth_value_eq(pool, v, "MAigBhYENTY3OA"));
    ck_assert(!acme_tnauth_value_eq(pool, v, "MAigBhYEMTIzNA==="));
    ck_assert_int_eq(acme_tnauth_from_value(pool, "MAigBhYEMTIzNA==", &back), APR_SUCCESS);
    ck_assert_str_eq(acme_tnauth_describe(pool, back), "SPC 1234");
    ck_assert_str_eq(acme_tnauth_describe_value(pool, "AAAA"), "a value that is no DER TNAuthList");
    ck_assert_str_eq(acme_tnauth_domain_id(pool, tl), "tnauthlist-1234");

    ck_assert_str_eq(acme_tnauth_name(pool, v), "TNAuthList:MAigBhYEMTIzNA");
    ck_assert(acme_tnauth_is_name("TNAuthList:MAigBhYEMTIzNA"));
    ck_assert(!acme_tnauth_is_name("tnauthlist-1234"));
    ck_assert(!acme_tnauth_is_name("example.org"));
    ck_assert_str_eq(acme_tnauth_name_value("TNAuthList:MAigBhYEMTIzNA"), "MAigBhYEMTIzNA");
    ck_assert_ptr_null(acme_tnauth_name_value("example.org"));

    ck_assert_int_eq(acme_tnauth_parse_spec(pool, "123J", &tl, &why), APR_SUCCESS);
    ck_assert_str_eq(acme_tnauth_domain_id(pool, tl), "tnauthlist-123j");
    ck_assert_int_eq(acme_tnauth_parse_spec(pool, "1234,12155550000+100", &tl, &why),
                     APR_SUCCESS);
    id = acme_tnauth_domain_id(pool, tl);
    ck_assert_int_eq((int)strlen(id), (int)strlen("tnauthlist-1234-") + 8);
    ck_assert(!strncmp(id, "tnauthlist-1234-", 16));
    /* Another list with the same first entry gets another id. */
    ck_assert_int_eq(acme_tnauth_parse_spec(pool, "1234,12155550000+101", &tl, &why),
                     APR_SUCCESS);
    ck_assert_str_ne(acme_tnauth_domain_id(pool, tl), id);
    ck_assert_int_eq(acme_tnauth_parse_spec(pool, "tn:*12#", &tl, &why), APR_SUCCESS);
    ck_assert(!strncmp(acme_tnauth_domain_id(pool, tl), "tnauthlist-_12_-", 16));
    /* A decoded SPC may hold anything printable: never ".." or '/' in an id
     * (found by fuzz_tnauth). */
    {
        apr_size_t len;
        unsigned char *der = unhex("3008a00616046a2e2e2f", &len);
        ck_assert_int_eq(acme_tnauth_from_der(pool, der, len, &tl), APR_SUCCESS);
        ck_assert_str_eq(acme_tnauth_domain_id(pool, tl), "tnauthlist-j___");
    }
}
END_TEST

/* Case matters in a base64url value: the config hash keeps it (DNS names fold). */
START_TEST(config_hash_keeps_value_case)
{
    acme_domain_t *a = acme_domain_create(pool, NULL), *b = acme_domain_create(pool, NULL);

    a->id = b->id = "tnauthlist-1234";
    APR_ARRAY_PUSH(a->names, const char *) = "TNAuthList:MAigBhYEMTIzNA";
    APR_ARRAY_PUSH(b->names, const char *) = "TNAuthList:MAIGBHYEMTIZNA";
    ck_assert_str_ne(acme_domain_config_hash(pool, a), acme_domain_config_hash(pool, b));
    APR_ARRAY_IDX(b->names, 0, const char *) = "TNAuthList:MAigBhYEMTIzNA";
    ck_assert_str_eq(acme_domain_config_hash(pool, a), acme_domain_config_hash(pool, b));
}
END_TEST

/* ---- CSR and certificate ---- */

static const char *mixed_name(void)
{
    acme_tnauth_t *tl = NULL;
    const char *why = NULL, *v = NULL;

    ck_assert_int_eq(acme_tnauth_parse_spec(pool, "1234,12155550000-12155550099,12155551234",
                                            &tl, &why), APR_SUCCESS);
    ck_assert_int_eq(acme_tnauth_value(pool, tl, &v), APR_SUCCESS);
    return acme_tnauth_name(pool, v);
}

static apr_array_header_t *one_name(const char *n)
{
    apr_array_header_t *a = apr_array_make(pool, 2, sizeof(const char *));
    APR_ARRAY_PUSH(a, const char *) = n;
    return a;
}

static X509_EXTENSION *tnauth_ext_of(const STACK_OF(X509_EXTENSION) *exts)
{
    ASN1_OBJECT *obj = OBJ_txt2obj(ACME_TNAUTH_OID, 1);
    int idx = X509v3_get_ext_by_OBJ(exts, obj, -1);
    ASN1_OBJECT_free(obj);
    return idx >= 0 ? X509v3_get_ext(exts, idx) : NULL;
}

START_TEST(csr_carries_exactly_the_list)
{
    acme_key_t *key = NULL;
    unsigned char *der = NULL;
    const unsigned char *q;
    apr_size_t len = 0;
    X509_REQ *req;
    STACK_OF(X509_EXTENSION) *exts;
    X509_EXTENSION *ext;
    const ASN1_OCTET_STRING *val;
    char cn[64];

    ck_assert_int_eq(acme_key_generate(pool, ACME_KEY_EC256, &key), APR_SUCCESS);
    ck_assert_int_eq(acme_csr_create(pool, key, one_name(mixed_name()), &der, &len),
                     APR_SUCCESS);
    q = der;
    req = d2i_X509_REQ(NULL, &q, (long)len);
    ck_assert_ptr_nonnull(req);
    ck_assert_int_eq(X509_REQ_verify(req, acme_key_evp(key)), 1);
    exts = X509_REQ_get_extensions(req);
    ck_assert_ptr_nonnull(exts);
    ck_assert_int_eq(X509v3_get_ext_by_NID(exts, NID_subject_alt_name, -1), -1);
    ext = tnauth_ext_of(exts);
    ck_assert_ptr_nonnull(ext);
    ck_assert_int_eq(X509_EXTENSION_get_critical(ext), 0);
    val = X509_EXTENSION_get_data(ext);
    ck_assert_str_eq(hex(ASN1_STRING_get0_data(val), (apr_size_t)ASN1_STRING_length(val)),
                     KA_MIXED);
    ck_assert_int_gt(X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(req), NID_commonName,
                                               cn, sizeof(cn)), 0);
    ck_assert_str_eq(cn, "SHAKEN 1234");
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_REQ_free(req);

    /* Two lists, or a value that is no TNAuthList, make no CSR. */
    {
        apr_array_header_t *two = one_name(mixed_name());
        APR_ARRAY_PUSH(two, const char *) = "TNAuthList:MAigBhYEMTIzNA";
        ck_assert_int_eq(acme_csr_create(pool, key, two, &der, &len), APR_EINVAL);
        ck_assert_int_eq(acme_csr_create(pool, key, one_name("TNAuthList:AAAA"), &der, &len),
                         APR_EINVAL);
    }
}
END_TEST

/* A certificate for key, self-signed, with the TNAuthList extension holding der (or none). */
static acme_cert_t *cert_with(acme_key_t *key, const unsigned char *der, apr_size_t len)
{
    X509 *x = X509_new();
    ck_assert(X509_set_version(x, 2));
    ck_assert(ASN1_INTEGER_set(X509_get_serialNumber(x), 7));
    ck_assert(X509_gmtime_adj(X509_getm_notBefore(x), 0));
    ck_assert(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
    ck_assert(X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                                         (const unsigned char *)"SHAKEN 1234", -1, -1, 0));
    ck_assert(X509_set_issuer_name(x, X509_get_subject_name(x)));
    ck_assert(X509_set_pubkey(x, acme_key_evp(key)));
    if (der) {
        ASN1_OBJECT *obj = OBJ_txt2obj(ACME_TNAUTH_OID, 1);
        ASN1_OCTET_STRING *val = ASN1_OCTET_STRING_new();
        X509_EXTENSION *ext;
        ck_assert(ASN1_OCTET_STRING_set(val, der, (int)len));
        ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, val);
        ck_assert(X509_add_ext(x, ext, -1));
        X509_EXTENSION_free(ext);
        ASN1_OCTET_STRING_free(val);
        ASN1_OBJECT_free(obj);
    }
    ck_assert(X509_sign(x, acme_key_evp(key), EVP_sha256()) > 0);
    return acme_cert_wrap(pool, x);
}

START_TEST(certificate_covers_its_list_only)
{
    acme_key_t *key = NULL;
    acme_cert_info_t *info = NULL;
    apr_size_t len;
    unsigned char *der = unhex(KA_MIXED, &len);
    acme_cert_t *cert;

    ck_assert_int_eq(acme_key_generate(pool, ACME_KEY_EC256, &key), APR_SUCCESS);
    cert = cert_with(key, der, len);
    ck_assert_int_eq(acme_cert_info(pool, cert, &info), APR_SUCCESS);
    ck_assert_str_eq(info->tnauthlist, acme_b64u_encode(pool, der, len));
    ck_assert_int_eq(info->dns_names->nelts, 0);
    ck_assert(acme_cert_covers(cert, one_name(mixed_name())));
    ck_assert(!acme_cert_covers(cert, one_name("TNAuthList:MAigBhYEMTIzNA")));
    ck_assert(!acme_cert_covers(cert, one_name("example.org")));

    cert = cert_with(key, NULL, 0);
    ck_assert_int_eq(acme_cert_info(pool, cert, &info), APR_SUCCESS);
    ck_assert_ptr_null(info->tnauthlist);
    ck_assert(!acme_cert_covers(cert, one_name(mixed_name())));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("tnauth");
    TCase *tc = tu_tcase(s, "tnauth", 0, tu_setup, tu_teardown);

    tcase_add_test(tc, known_answers_encode);
    tcase_add_test(tc, known_answers_decode);
    tcase_add_test(tc, decode_is_strict);
    tcase_add_test(tc, spec_errors_name_the_element);
    tcase_add_test(tc, values_names_and_ids);
    tcase_add_test(tc, config_hash_keeps_value_case);
    tcase_add_test(tc, csr_carries_exactly_the_list);
    tcase_add_test(tc, certificate_covers_its_list_only);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
