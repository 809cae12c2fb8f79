/* test_base64.c: unit tests of base64url encoding and its strict decoder. */
#include <stdlib.h>
#include <string.h>
#include "acme_base64.h"
#include "testutil.h"

static apr_status_t dec(const char *s, unsigned char **out, apr_size_t *len)
{
    return acme_b64u_decode(pool, s, strlen(s), out, len);
}

START_TEST(rfc4648_vectors)
{
    static const char *plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
    static const char *enc[] = { "", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy" };
    size_t i;

    for (i = 0; i < 7; i++) {
        unsigned char *out;
        apr_size_t len;
        ck_assert_str_eq(acme_b64u_encode(pool, plain[i], strlen(plain[i])), enc[i]);
        ck_assert_int_eq(dec(enc[i], &out, &len), APR_SUCCESS);
        ck_assert_uint_eq(len, strlen(plain[i]));
        ck_assert_str_eq((char *)out, plain[i]);
    }
}
END_TEST

START_TEST(url_alphabet)
{
    static const unsigned char bytes[] = { 0xfb, 0xff, 0xbf };
    unsigned char *out;
    apr_size_t len;

    ck_assert_str_eq(acme_b64u_encode(pool, bytes, 3), "-_-_");
    ck_assert_int_eq(dec("-_-_", &out, &len), APR_SUCCESS);
    ck_assert_uint_eq(len, 3);
    ck_assert_mem_eq(out, bytes, 3);
}
END_TEST

START_TEST(rejects)
{
    static const char *bad[] = {
        "Zg==", "Zg=", "Zm8=", "=",           /* padding */
        "Zm9v+A", "Zm9v/w", "Zm 9v", "Zm9v\n", "Zm9v!", "Zm\xc3\xa9v", /* alphabet */
        "Z", "Zm9vY", "Zm9vYmFyZ",            /* length 1 mod 4 */
        "Zh", "Zm9", "Zm9vYh", "Zm9vYmF",     /* non-zero trailing bits */
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        unsigned char *out;
        apr_size_t len;
        ck_assert_msg(dec(bad[i], &out, &len) == APR_EINVAL, "accepted \"%s\"", bad[i]);
    }
}
END_TEST

START_TEST(embedded_nul_rejected)
{
    unsigned char *out;
    apr_size_t len;

    ck_assert_int_eq(acme_b64u_decode(pool, "Zm9v\0Zm9v", 9, &out, &len), APR_EINVAL);
    ck_assert_int_eq(acme_b64u_decode(pool, NULL, 0, &out, &len), APR_EINVAL);
}
END_TEST

START_TEST(decode_uses_length_not_nul)
{
    unsigned char *out;
    apr_size_t len;

    ck_assert_int_eq(acme_b64u_decode(pool, "Zm9vYmFy", 4, &out, &len), APR_SUCCESS);
    ck_assert_uint_eq(len, 3);
    ck_assert_str_eq((char *)out, "foo");
}
END_TEST

START_TEST(roundtrip_all_lengths)
{
    unsigned char buf[300];
    apr_size_t n;

    for (n = 0; n < sizeof(buf); n++) {
        buf[n] = (unsigned char)(n * 131 + 7);
    }
    for (n = 0; n <= sizeof(buf); n++) {
        unsigned char *out;
        apr_size_t len;
        char *e = acme_b64u_encode(pool, buf, n);
        ck_assert_uint_eq(strlen(e), (n * 4 + 2) / 3);
        ck_assert(strchr(e, '=') == NULL);
        ck_assert_int_eq(dec(e, &out, &len), APR_SUCCESS);
        ck_assert_uint_eq(len, n);
        ck_assert(n == 0 || memcmp(out, buf, n) == 0);
        ck_assert_int_eq(out[len], 0);
    }
}
END_TEST

START_TEST(is_token)
{
    ck_assert(acme_b64u_is_token("abcXYZ019-_"));
    ck_assert(!acme_b64u_is_token(""));
    ck_assert(!acme_b64u_is_token(NULL));
    ck_assert(!acme_b64u_is_token("../etc/passwd"));
    ck_assert(!acme_b64u_is_token("abc="));
    ck_assert(!acme_b64u_is_token("a b"));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("base64url");
    TCase *tc = tu_tcase(s, "core", 0, tu_setup, tu_teardown);

    tcase_add_test(tc, rfc4648_vectors);
    tcase_add_test(tc, url_alphabet);
    tcase_add_test(tc, rejects);
    tcase_add_test(tc, embedded_nul_rejected);
    tcase_add_test(tc, decode_uses_length_not_nul);
    tcase_add_test(tc, roundtrip_all_lengths);
    tcase_add_test(tc, is_token);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
