/* test_keeper.c: unit tests of the lease keeper against a fake engine: extensions on schedule while a lease is kept, none after it is dropped, a refused extension or one that cannot reach the engine until the lease ends loses it, a holder's check extends at once. */
#include <apr_atomic.h>
#include <apr_thread_proc.h>
#include "acme_keeper.h"
#include "testutil.h"

#define MS(n) apr_time_from_msec(n)

/* The fake engine: counts extensions and answers what the test says. */
typedef struct {
    volatile apr_uint32_t calls;
    volatile apr_uint32_t answer;   /* 0 ok, 1 fenced, 2 unreachable */
} engine_t;

static apr_status_t fake_extend(void *baton, acme_lease_t *lease, apr_interval_time_t ttl)
{
    engine_t *e = baton;
    apr_time_t t0 = apr_time_now();

    apr_atomic_inc32(&e->calls);
    switch (apr_atomic_read32(&e->answer)) {
    case 0:
        lease->expires = t0 + ttl;
        return APR_SUCCESS;
    case 1:
        lease->expires = 0;
        return ACME_FLEET_EFENCED;
    default:
        return APR_ECONNREFUSED;
    }
}

static acme_keeper_t *start(engine_t *e, int ttl_ms, int every_ms)
{
    acme_keeper_opts_t o = { MS(ttl_ms), MS(every_ms) };
    acme_keeper_t *k = NULL;

    ck_assert_int_eq(acme_keeper_start(pool, &o, fake_extend, e, NULL, &k), APR_SUCCESS);
    return k;
}

static acme_lease_t lease_for(const char *scope, int ttl_ms)
{
    acme_lease_t l;

    l.scope = scope;
    l.id = "1 node-a 0123456789abcdef";
    l.owner = "node-a";
    l.token = 1;
    l.expires = apr_time_now() + MS(ttl_ms);
    return l;
}

START_TEST(defaults)
{
    engine_t e = { 0, 0 };
    acme_keeper_t *k = NULL;

    ck_assert_int_eq(acme_keeper_start(pool, NULL, fake_extend, &e, NULL, &k), APR_SUCCESS);
    ck_assert_int_eq(acme_keeper_ttl(k), apr_time_from_sec(120));
    acme_keeper_stop(k);
    acme_keeper_stop(k);
}
END_TEST

START_TEST(extends_on_schedule)
{
    engine_t e = { 0, 0 };
    acme_keeper_t *k = start(&e, 1000, 50);
    acme_lease_t l = lease_for("d:a.example", 1000);
    acme_kept_t *kept = acme_keeper_add(k, pool, &l);
    apr_uint32_t n;

    /* kept for 2.5 ttls: it never ends */
    apr_sleep(MS(2500));
    ck_assert_int_eq(acme_keeper_check(kept, MS(100)), APR_SUCCESS);
    n = apr_atomic_read32(&e.calls);
    ck_assert_msg(n >= 4, "only %u extensions in 2.5 s at every 50 ms", n);
    ck_assert(acme_keeper_lease(kept).expires > apr_time_now());
    /* dropped: no more extensions */
    acme_keeper_drop(kept);
    n = apr_atomic_read32(&e.calls);
    apr_sleep(MS(300));
    ck_assert_int_eq(apr_atomic_read32(&e.calls), n);
    acme_keeper_stop(k);
}
END_TEST

START_TEST(refused_is_lost)
{
    engine_t e = { 0, 1 };
    acme_keeper_t *k = start(&e, 10000, 50);
    acme_lease_t l = lease_for("d:b.example", 10000);
    acme_kept_t *kept = acme_keeper_add(k, pool, &l);
    apr_time_t t0 = apr_time_now();

    /* the first scheduled extension is refused: lost at once, long before the lease's end */
    while (acme_keeper_check(kept, MS(10)) == APR_SUCCESS) {
        ck_assert_msg(apr_time_now() - t0 < apr_time_from_sec(5), "never lost");
        apr_sleep(MS(10));
    }
    ck_assert_int_eq(acme_keeper_check(kept, 0), ACME_FLEET_EFENCED);
    /* and it stays lost, also when the engine would agree again */
    apr_atomic_set32(&e.answer, 0);
    apr_sleep(MS(200));
    ck_assert_int_eq(acme_keeper_check(kept, 0), ACME_FLEET_EFENCED);
}
END_TEST

START_TEST(unreachable_until_the_end)
{
    engine_t e = { 0, 2 };
    acme_keeper_t *k = start(&e, 2000, 50);
    acme_lease_t l = lease_for("d:c.example", 2000);
    acme_kept_t *kept = acme_keeper_add(k, pool, &l);

    /* extensions fail but the lease has time left: still held */
    apr_sleep(MS(1200));
    ck_assert_int_eq(acme_keeper_check(kept, 0), APR_SUCCESS);
    ck_assert_uint_ge(apr_atomic_read32(&e.calls), 1);
    /* asking for more than is left (~800 ms) needs an extension that cannot be had */
    ck_assert_int_eq(acme_keeper_check(kept, MS(1000)), APR_ECONNREFUSED);
    /* past its end it is lost, and stays lost when the engine is back */
    apr_sleep(MS(1000));
    apr_atomic_set32(&e.answer, 0);
    ck_assert_int_eq(acme_keeper_check(kept, 0), ACME_FLEET_EFENCED);
}
END_TEST

START_TEST(check_extends_now)
{
    engine_t e = { 0, 0 };
    /* scheduled extensions are far apart; the check must not wait for one */
    acme_keeper_t *k = start(&e, 4000, 3000);
    acme_lease_t l = lease_for("d:d.example", 1000);
    acme_kept_t *kept = acme_keeper_add(k, pool, &l);
    acme_lease_t now;

    ck_assert_int_eq(acme_keeper_check(kept, MS(100)), APR_SUCCESS);
    ck_assert_uint_eq(apr_atomic_read32(&e.calls), 0);
    ck_assert_int_eq(acme_keeper_check(kept, MS(1500)), APR_SUCCESS);
    ck_assert_uint_eq(apr_atomic_read32(&e.calls), 1);
    now = acme_keeper_lease(kept);
    ck_assert(acme_lease_left(&now, apr_time_now()) > MS(2000));
    /* more than half the ttl is never asked for: capped */
    ck_assert_int_eq(acme_keeper_check(kept, apr_time_from_sec(3600)), APR_SUCCESS);
}
END_TEST

START_TEST(pool_cleanup_drops)
{
    engine_t e = { 0, 0 };
    acme_keeper_t *k = start(&e, 400, 20);
    apr_pool_t *p;
    acme_lease_t l = lease_for("d:e.example", 400);
    apr_uint32_t n;
    int i;

    /* many holders come and go while extensions run */
    for (i = 0; i < 50; i++) {
        apr_pool_create(&p, pool);
        acme_keeper_add(k, p, &l);
        apr_sleep(MS(5));
        apr_pool_destroy(p);
    }
    n = apr_atomic_read32(&e.calls);
    apr_sleep(MS(200));
    ck_assert_int_eq(apr_atomic_read32(&e.calls), n);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("keeper");
    TCase *tc = tu_tcase(s, "keeper", 30, tu_setup, tu_teardown);

    tcase_add_test(tc, defaults);
    tcase_add_test(tc, extends_on_schedule);
    tcase_add_test(tc, refused_is_lost);
    tcase_add_test(tc, unreachable_until_the_end);
    tcase_add_test(tc, check_extends_now);
    tcase_add_test(tc, pool_cleanup_drops);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
