/* test_breaker.c: unit tests of the circuit breaker on a fake clock: opening after failures in a row, one probe at a time, doubling open periods up to the cap, closing on success, threads. */
#include <apr_thread_proc.h>
#include "acme_breaker.h"
#include "testutil.h"

#define MS(n) apr_time_from_msec(n)
#define T0 apr_time_from_sec(1000000)

static acme_breaker_t *make(int threshold, int min_ms, int max_ms)
{
    acme_breaker_opts_t o = { threshold, MS(min_ms), MS(max_ms) };
    acme_breaker_t *b = NULL;

    ck_assert_int_eq(acme_breaker_create(pool, &o, &b), APR_SUCCESS);
    return b;
}

START_TEST(defaults)
{
    acme_breaker_t *b = NULL;
    apr_time_t t = T0;
    int i;

    ck_assert_int_eq(acme_breaker_create(pool, NULL, &b), APR_SUCCESS);
    /* one failure leaves it closed; the second opens it for 1 s */
    ck_assert(acme_breaker_allow(b, t));
    acme_breaker_report(b, 0, t);
    ck_assert(acme_breaker_allow(b, t));
    acme_breaker_report(b, 0, t);
    ck_assert_int_eq(acme_breaker_open_until(b), t + apr_time_from_sec(1));
    ck_assert(!acme_breaker_allow(b, t + MS(999)));
    /* probes keep failing: 2, 4, ... capped at 30 s */
    for (i = 0; i < 10; i++) {
        t = acme_breaker_open_until(b);
        ck_assert(acme_breaker_allow(b, t));
        acme_breaker_report(b, 0, t);
    }
    ck_assert_int_eq(acme_breaker_open_until(b) - t, apr_time_from_sec(30));
}
END_TEST

START_TEST(closed_resets_count)
{
    acme_breaker_t *b = make(3, 100, 1000);

    /* failures must be in a row: a success in between starts again */
    acme_breaker_report(b, 0, T0);
    acme_breaker_report(b, 0, T0);
    acme_breaker_report(b, 1, T0);
    acme_breaker_report(b, 0, T0);
    acme_breaker_report(b, 0, T0);
    ck_assert_int_eq(acme_breaker_open_until(b), 0);
    ck_assert(acme_breaker_allow(b, T0));
    acme_breaker_report(b, 0, T0);
    ck_assert_int_eq(acme_breaker_open_until(b), T0 + MS(100));
}
END_TEST

START_TEST(one_probe)
{
    acme_breaker_t *b = make(1, 100, 1000);
    apr_time_t t = T0 + MS(100);

    acme_breaker_report(b, 0, T0);
    ck_assert(!acme_breaker_allow(b, T0 + MS(50)));
    /* the period is over: one caller probes, the others still wait */
    ck_assert(acme_breaker_allow(b, t));
    ck_assert(!acme_breaker_allow(b, t));
    ck_assert(!acme_breaker_allow(b, t + MS(99)));
    /* the probe succeeds: closed, everyone goes ahead */
    acme_breaker_report(b, 1, t + MS(10));
    ck_assert_int_eq(acme_breaker_open_until(b), 0);
    ck_assert(acme_breaker_allow(b, t + MS(11)));
}
END_TEST

START_TEST(late_failure_ignored)
{
    acme_breaker_t *b = make(1, 100, 1000);

    acme_breaker_report(b, 0, T0);
    /* more failures of calls that were in flight: the period does not grow */
    acme_breaker_report(b, 0, T0 + MS(1));
    acme_breaker_report(b, 0, T0 + MS(2));
    ck_assert_int_eq(acme_breaker_open_until(b), T0 + MS(100));
}
END_TEST

START_TEST(lost_probe)
{
    acme_breaker_t *b = make(1, 100, 1000);
    apr_time_t t = T0 + MS(100);

    acme_breaker_report(b, 0, T0);
    ck_assert(acme_breaker_allow(b, t));
    /* the probe never reports: another may go after open_min */
    ck_assert(!acme_breaker_allow(b, t + MS(99)));
    ck_assert(acme_breaker_allow(b, t + MS(100)));
    acme_breaker_report(b, 0, t + MS(150));
    ck_assert_int_eq(acme_breaker_open_until(b), t + MS(150) + MS(200));
}
END_TEST

typedef struct {
    acme_breaker_t *b;
    int allowed;
} worker_t;

static void *APR_THREAD_FUNC worker(apr_thread_t *th, void *data)
{
    worker_t *w = data;
    int i;

    for (i = 0; i < 10000; i++) {
        if (acme_breaker_allow(w->b, T0 + MS(500))) {
            w->allowed++;
        }
    }
    (void)th;       /* not apr_thread_exit: pthread_exit trips ASan's thread teardown */
    return NULL;
}

START_TEST(threads_one_probe)
{
    acme_breaker_t *b = make(1, 100, 1000);
    apr_thread_t *th[4];
    worker_t w[4];
    apr_status_t st;
    int i, total = 0;

    acme_breaker_report(b, 0, T0);
    for (i = 0; i < 4; i++) {
        w[i].b = b;
        w[i].allowed = 0;
        ck_assert_int_eq(apr_thread_create(&th[i], NULL, worker, &w[i], pool), APR_SUCCESS);
    }
    for (i = 0; i < 4; i++) {
        apr_thread_join(&st, th[i]);
        total += w[i].allowed;
    }
    /* 40000 tries at the same moment after the period: exactly one probe */
    ck_assert_int_eq(total, 1);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("breaker");
    TCase *tc = tu_tcase(s, "breaker", 0, tu_setup, tu_teardown);

    tcase_add_test(tc, defaults);
    tcase_add_test(tc, closed_resets_count);
    tcase_add_test(tc, one_probe);
    tcase_add_test(tc, late_failure_ignored);
    tcase_add_test(tc, lost_probe);
    tcase_add_test(tc, threads_one_probe);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
