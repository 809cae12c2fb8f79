/* test_plan.c: unit tests for renewal-time arithmetic (share and absolute windows, ARI picks) and retry backoff. */
#include <stdlib.h>

#include "acme_plan.h"
#include "testutil.h"

#define SEC(n) apr_time_from_sec(n)
#define DAY (SEC(86400))
#define NB (SEC(1795671837))

START_TEST(window_pct)
{
    /* 90 days, 33% -> renew 29.7 days before the end */
    ck_assert_int_eq(acme_plan_renew_at(NB, NB + 90 * DAY, 33, 0),
                     NB + 90 * DAY - (90 * DAY / 100) * 33);
    ck_assert_int_eq(acme_plan_renew_at(NB, NB + 100 * DAY, 50, 0), NB + 50 * DAY);
    ck_assert_int_eq(acme_plan_renew_at(NB, NB + 100 * DAY, 0, 0), NB + 100 * DAY);
    ck_assert_int_eq(acme_plan_renew_at(NB, NB + 100 * DAY, 100, 0), NB);
    /* out of range shares are clamped */
    ck_assert_int_eq(acme_plan_renew_at(NB, NB + 100 * DAY, 150, 0), NB);
    ck_assert_int_eq(acme_plan_renew_at(NB, NB + 100 * DAY, -5, 0), NB + 100 * DAY);
    /* short-lived certificate: 1 h, 33% */
    ck_assert_int_eq(acme_plan_renew_at(NB, NB + SEC(3600), 33, 0), NB + SEC(3600) - SEC(1188));
    /* broken validity: renew at once */
    ck_assert_int_eq(acme_plan_renew_at(NB, NB - DAY, 33, 0), NB);
    /* a century does not overflow */
    ck_assert_int_eq(acme_plan_renew_at(NB, NB + 36500 * DAY, 10, 0), NB + 32850 * DAY);
}
END_TEST

START_TEST(window_absolute)
{
    ck_assert_int_eq(acme_plan_renew_at(NB, NB + 90 * DAY, 33, 30 * DAY), NB + 60 * DAY);
    ck_assert_int_eq(acme_plan_renew_at(NB, NB + 90 * DAY, 0, 7 * DAY), NB + 83 * DAY);
    /* window longer than the lifetime: due before it was even valid */
    ck_assert(acme_plan_renew_at(NB, NB + 6 * DAY, 33, 7 * DAY) < NB);
}
END_TEST

START_TEST(ari_pick)
{
    apr_time_t s = NB, e = NB + 2 * DAY;

    ck_assert_int_eq(acme_plan_ari_pick(s, e, 0.0), s);
    ck_assert_int_eq(acme_plan_ari_pick(s, e, 0.5), s + DAY);
    ck_assert(acme_plan_ari_pick(s, e, 0.999999) < e);
    ck_assert(acme_plan_ari_pick(s, e, 1.0) < e);
    ck_assert_int_eq(acme_plan_ari_pick(s, e, -1.0), s);
    ck_assert_int_eq(acme_plan_ari_pick(s, s, 0.7), s);
    ck_assert_int_eq(acme_plan_ari_pick(e, s, 0.7), e);
    for (int i = 0; i < 1000; i++) {
        apr_time_t t = acme_plan_ari_pick(s, e, (double)rand() / ((double)RAND_MAX + 1.0));

        ck_assert(t >= s && t < e);
    }
}
END_TEST

START_TEST(backoff)
{
    ck_assert_int_eq(acme_plan_backoff(SEC(5), 1, 0), SEC(5));
    ck_assert_int_eq(acme_plan_backoff(SEC(5), 2, 0), SEC(10));
    ck_assert_int_eq(acme_plan_backoff(SEC(5), 3, 0), SEC(20));
    ck_assert_int_eq(acme_plan_backoff(SEC(5), 10, 0), SEC(5 * 512));
    /* cap 24 h, also for huge failure counts */
    ck_assert_int_eq(acme_plan_backoff(SEC(5), 20, 0), ACME_PLAN_BACKOFF_CAP);
    ck_assert_int_eq(acme_plan_backoff(SEC(5), 1000000, 0), ACME_PLAN_BACKOFF_CAP);
    ck_assert_int_eq(acme_plan_backoff(SEC(2 * 86400), 1, 0), ACME_PLAN_BACKOFF_CAP);
    /* failures < 1 behaves like the first */
    ck_assert_int_eq(acme_plan_backoff(SEC(5), 0, 0), SEC(5));
    /* Retry-After wins when longer, not when shorter */
    ck_assert_int_eq(acme_plan_backoff(SEC(5), 2, SEC(3600)), SEC(3600));
    ck_assert_int_eq(acme_plan_backoff(SEC(5), 3, SEC(7)), SEC(20));
    ck_assert_int_eq(acme_plan_backoff(SEC(5), 3, SEC(3 * 86400)), ACME_PLAN_BACKOFF_CAP);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("plan");
    TCase *tc = tu_tcase(s, "plan", 0, NULL, NULL);

    tcase_add_test(tc, window_pct);
    tcase_add_test(tc, window_absolute);
    tcase_add_test(tc, ari_pick);
    tcase_add_test(tc, backoff);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
