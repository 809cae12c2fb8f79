/* test_time.c: unit tests for RFC 3339 timestamps, durations and Retry-After parsing. */
#include <stdlib.h>

#include "acme_time.h"
#include "testutil.h"

/* 2026-11-26T05:43:57Z */
#define T0 apr_time_from_sec(1795671837)

START_TEST(rfc3339_format)
{
    ck_assert_str_eq(acme_time_rfc3339(pool, T0), "2026-11-26T05:43:57Z");
    ck_assert_str_eq(acme_time_rfc3339(pool, T0 + 999999), "2026-11-26T05:43:57Z");
    ck_assert_str_eq(acme_time_rfc3339(pool, 0), "1970-01-01T00:00:00Z");
}
END_TEST

START_TEST(rfc3339_parse)
{
    apr_time_t t;

    ck_assert_int_eq(acme_time_parse_rfc3339("2026-11-26T05:43:57Z", &t), APR_SUCCESS);
    ck_assert_int_eq(t, T0);
    ck_assert_int_eq(acme_time_parse_rfc3339("2026-11-26t05:43:57z", &t), APR_SUCCESS);
    ck_assert_int_eq(t, T0);
    ck_assert_int_eq(acme_time_parse_rfc3339("2026-11-26T07:43:57+02:00", &t), APR_SUCCESS);
    ck_assert_int_eq(t, T0);
    ck_assert_int_eq(acme_time_parse_rfc3339("2026-11-25T23:13:57-06:30", &t), APR_SUCCESS);
    ck_assert_int_eq(t, T0);
    ck_assert_int_eq(acme_time_parse_rfc3339("2026-11-26T05:43:57.25Z", &t), APR_SUCCESS);
    ck_assert_int_eq(t, T0 + 250000);
    ck_assert_int_eq(acme_time_parse_rfc3339("2026-11-26T05:43:57.123456789Z", &t), APR_SUCCESS);
    ck_assert_int_eq(t, T0 + 123456);
    ck_assert_int_eq(acme_time_parse_rfc3339("2024-02-29T00:00:00Z", &t), APR_SUCCESS);
    /* round trip */
    ck_assert_int_eq(acme_time_parse_rfc3339(acme_time_rfc3339(pool, T0), &t), APR_SUCCESS);
    ck_assert_int_eq(t, T0);
}
END_TEST

START_TEST(rfc3339_garbage)
{
    static const char *const bad[] = {
        "", "2026", "2026-11-26", "2026-11-26T05:43:57", "2026-11-26 05:43:57Z",
        "2026-11-26T05:43:57ZZ", "2026-11-26T05:43:57Z ", " 2026-11-26T05:43:57Z",
        "2026-13-26T05:43:57Z", "2026-00-26T05:43:57Z", "2026-11-31T05:43:57Z",
        "2025-02-29T00:00:00Z", "2026-11-26T24:00:00Z", "2026-11-26T05:60:00Z",
        "2026-11-26T05:43:61Z", "2026-11-26T05:43:57.Z", "2026-11-26T05:43:57+0200",
        "2026-11-26T05:43:57+24:00", "2026-11-26T05:43:57+02:60", "1969-12-31T23:59:59Z",
        "2026-1-26T05:43:57Z", "2026-11-26T05:43:5aZ", "+026-11-26T05:43:57Z",
        "2026-11-26T05:43:57.1234567890123456789Z",
    };
    apr_time_t t;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(acme_time_parse_rfc3339(bad[i], &t) == APR_EINVAL, "accepted '%s'", bad[i]);
    }
    ck_assert_int_eq(acme_time_parse_rfc3339(NULL, &t), APR_EINVAL);
}
END_TEST

START_TEST(duration_ok)
{
    apr_interval_time_t d;

    ck_assert_int_eq(acme_duration_parse("30", &d), APR_SUCCESS);
    ck_assert_int_eq(d, apr_time_from_sec(30));
    ck_assert_int_eq(acme_duration_parse("30s", &d), APR_SUCCESS);
    ck_assert_int_eq(d, apr_time_from_sec(30));
    ck_assert_int_eq(acme_duration_parse("5m", &d), APR_SUCCESS);
    ck_assert_int_eq(d, apr_time_from_sec(300));
    ck_assert_int_eq(acme_duration_parse("12h", &d), APR_SUCCESS);
    ck_assert_int_eq(d, apr_time_from_sec(12 * 3600));
    ck_assert_int_eq(acme_duration_parse("7d", &d), APR_SUCCESS);
    ck_assert_int_eq(d, apr_time_from_sec(7 * 86400));
    ck_assert_int_eq(acme_duration_parse("0007d", &d), APR_SUCCESS);
    ck_assert_int_eq(d, apr_time_from_sec(7 * 86400));
}
END_TEST

START_TEST(duration_bad)
{
    static const char *const bad[] = {
        "", "0", "0s", "-5", "+5", "5x", "5 s", " 5", "5s ", "5ss", "s", "1.5h", "5S",
        "999999999999999999d", "9223372036854775807", "106751991167d", "99999999999999999999",
        "0x10", "5m5s",
    };
    apr_interval_time_t d;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(acme_duration_parse(bad[i], &d) == APR_EINVAL, "accepted '%s'", bad[i]);
    }
    ck_assert_int_eq(acme_duration_parse(NULL, &d), APR_EINVAL);
    /* The largest that fits is accepted. */
    ck_assert_int_eq(acme_duration_parse("106751d", &d), APR_SUCCESS);
}
END_TEST

START_TEST(retry_after)
{
    apr_interval_time_t d;
    apr_time_t now;

    ck_assert_int_eq(acme_retry_after_parse("120", T0, &d), APR_SUCCESS);
    ck_assert_int_eq(d, apr_time_from_sec(120));
    ck_assert_int_eq(acme_retry_after_parse(" 0 ", T0, &d), APR_SUCCESS);
    ck_assert_int_eq(d, 0);
    ck_assert_int_eq(acme_retry_after_parse("86401", T0, &d), APR_SUCCESS);
    ck_assert_int_eq(d, apr_time_from_sec(86400));
    ck_assert_int_eq(acme_retry_after_parse("99999999999999999999999999", T0, &d), APR_SUCCESS);
    ck_assert_int_eq(d, apr_time_from_sec(86400));
    /* HTTP-date: IMF-fixdate, RFC 850 and asctime */
    ck_assert_int_eq(acme_time_parse_rfc3339("2026-11-26T05:00:00Z", &now), APR_SUCCESS);
    ck_assert_int_eq(acme_retry_after_parse("Thu, 26 Nov 2026 05:10:00 GMT", now, &d), APR_SUCCESS);
    ck_assert_int_eq(d, apr_time_from_sec(600));
    ck_assert_int_eq(acme_retry_after_parse("Thursday, 26-Nov-26 05:01:00 GMT", now, &d), APR_SUCCESS);
    ck_assert_int_eq(d, apr_time_from_sec(60));
    ck_assert_int_eq(acme_retry_after_parse("Thu Nov 26 05:00:30 2026", now, &d), APR_SUCCESS);
    ck_assert_int_eq(d, apr_time_from_sec(30));
    /* past dates: retry now; far future: capped */
    ck_assert_int_eq(acme_retry_after_parse("Wed, 25 Nov 2026 05:10:00 GMT", now, &d), APR_SUCCESS);
    ck_assert_int_eq(d, 0);
    ck_assert_int_eq(acme_retry_after_parse("Sat, 26 Dec 2026 05:10:00 GMT", now, &d), APR_SUCCESS);
    ck_assert_int_eq(d, apr_time_from_sec(86400));
}
END_TEST

START_TEST(retry_after_garbage)
{
    static const char *const bad[] = {
        "", "   ", "-1", "12a", "soon", "1.5", "Thu, 32 Nov 2026 05:10:00 GMT",
        "Thu, 26 Nov 2026 05:10:00 GMT plus some very long trailing garbage that goes on",
        "2026-11-26T05:10:00Z",
    };
    apr_interval_time_t d;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(acme_retry_after_parse(bad[i], T0, &d) == APR_EINVAL, "accepted '%s'", bad[i]);
    }
    ck_assert_int_eq(acme_retry_after_parse(NULL, T0, &d), APR_EINVAL);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("time");
    TCase *tc = tu_tcase(s, "time", 0, tu_setup, tu_teardown);

    tcase_add_test(tc, rfc3339_format);
    tcase_add_test(tc, rfc3339_parse);
    tcase_add_test(tc, rfc3339_garbage);
    tcase_add_test(tc, duration_ok);
    tcase_add_test(tc, duration_bad);
    tcase_add_test(tc, retry_after);
    tcase_add_test(tc, retry_after_garbage);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
