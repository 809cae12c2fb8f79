/* test_drive.c: unit tests of the drive without a CA: renewal decisions, what waits in staging, responders, order/authz/ARI parsing and failure bookkeeping. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <apr_strings.h>
#include <apr_file_io.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <apr_thread_proc.h>
#include <apr_network_io.h>
#include "acme_activate.h"
#include "acme_base64.h"
#include "acme_drive.h"
#include "acme_exec.h"
#include "acme_file.h"
#include "acme_json.h"
#include "acme_jws.h"
#include "acme_order.h"
#include "acme_plan.h"
#include "acme_time.h"
#include "acme_x509.h"
#include "testcerts.h"
#include "testutil.h"

static acme_store_t *store;


static void setup(void)
{
    tu_setup();
    tu_scratch_create("test_drive");
    ck_assert_int_eq(acme_store_file_open(pool, apr_pstrcat(pool, tmpdir, "/store", NULL), 0, &store),
                     APR_SUCCESS);
}

static void teardown(void)
{
    tu_scratch_remove();
    tu_teardown();
}

static void put(acme_store_group_e g, const char *entry, const char *item, const char *data,
                int priv)
{
    ck_assert_int_eq(store->save(store, pool, g, entry, item, data, strlen(data), priv, NULL),
                     APR_SUCCESS);
}


static const char *read_item(acme_store_group_e g, const char *entry, const char *item)
{
    char *data = NULL;
    apr_size_t len = 0;
    if (store->load(store, pool, g, entry, item, &data, &len) != APR_SUCCESS) return NULL;
    return data;
}

/* ---- acme_drive_needed ---- */

static acme_drive_env_t env_make(void)
{
    acme_drive_env_t env;
    memset(&env, 0, sizeof(env));
    env.store = store;
    env.retry_delay = apr_time_from_sec(5);
    env.ca_failover_after = 2;
    return env;
}

/* An active set for d; flags (ACME_STORE_REGENERABLE) are added to every save. */
static void activate_ex(const acme_domain_t *d, const ca_t *inter, const char *san,
                        apr_time_t nb, apr_time_t na, int flags)
{
    int i;
    for (i = 0; i < d->key_types->nelts; ++i) {
        const char *t = acme_key_type_name(APR_ARRAY_IDX(d->key_types, i, acme_key_type_e));
        set_t s = make_set(inter, APR_ARRAY_IDX(d->key_types, i, acme_key_type_e), san, nb, na);
        put(ACME_SG_DOMAINS, d->id, acme_store_chain_item(pool, t), s.chain, flags);
        put(ACME_SG_DOMAINS, d->id, acme_store_pkey_item(pool, t), s.key,
            ACME_STORE_PRIVATE | flags);
    }
}

static void activate(const acme_domain_t *d, const ca_t *inter, const char *san,
                     apr_time_t nb, apr_time_t na)
{
    activate_ex(d, inter, san, nb, na, 0);
}

static json_t *status_of(const char *id)
{
    json_t *j = NULL;
    ck_assert_int_eq(acme_store_load_json(store, pool, ACME_SG_STATE, id, "status.json", &j),
                     APR_SUCCESS);
    return j;
}

/* A complete staged set for d's names and key types, as the drive writes it. */
static void stage_for(const acme_domain_t *d, const ca_t *inter, const char *config_hash)
{
    apr_time_t now = apr_time_now();
    const char *san = "";
    json_t *meta;
    int i;

    for (i = 0; i < d->names->nelts; ++i) {
        san = apr_pstrcat(pool, san, i ? "," : "", "DNS:",
                          APR_ARRAY_IDX(d->names, i, const char *), NULL);
    }
    for (i = 0; i < d->key_types->nelts; ++i) {
        const char *t = acme_key_type_name(APR_ARRAY_IDX(d->key_types, i, acme_key_type_e));
        set_t s = make_set(inter, APR_ARRAY_IDX(d->key_types, i, acme_key_type_e), san,
                           now - DAY, now + 89 * DAY);

        put(ACME_SG_STAGING, d->id, acme_store_chain_item(pool, t), s.chain, 0);
        put(ACME_SG_STAGING, d->id, acme_store_pkey_item(pool, t), s.key, 1);
        if (i == 0) {
            put(ACME_SG_STAGING, d->id, "fullchain.pem", s.chain, 0);
            put(ACME_SG_STAGING, d->id, "privkey.pem", s.key, 1);
        }
    }
    meta = json_pack("{s:s,s:s}", "name", d->id, "config_hash", config_hash);
    ck_assert_int_eq(acme_store_save_json(store, pool, ACME_SG_STAGING, d->id, "meta.json", meta,
                                          0, NULL), APR_SUCCESS);
    json_decref(meta);
}

/* What the parent does at a restart: the staged set copied into domains/. */
static void activate_staged(const acme_domain_t *d)
{
    acme_staged_e state;
    const char *why = NULL;

    ck_assert_int_eq(acme_activate(store, pool, d, &state, &why), APR_SUCCESS);
    ck_assert_int_eq(state, ACME_STAGED_NEW);
}

START_TEST(needed_without_certificate)
{
    acme_drive_env_t env = env_make();
    acme_domain_t *d = domain2();
    const char *why = NULL;
    ck_assert_int_eq(acme_drive_needed(&env, pool, d, apr_time_now(), &why), 1);
    ck_assert_ptr_nonnull(strstr(why, "no ec256 certificate"));
}
END_TEST

START_TEST(needed_follows_window)
{
    acme_drive_env_t env = env_make();
    acme_domain_t *d = domain2();
    ca_t *root = make_ca("Test Root", NULL), *inter = make_ca("Test Inter", root);
    apr_time_t now = apr_time_now();
    const char *why = NULL;
    json_t *st, *ren;

    activate(d, inter, SAN2, now - DAY, now + 89 * DAY);
    ck_assert_int_eq(acme_drive_needed(&env, pool, d, now, &why), 0);
    ck_assert_ptr_nonnull(strstr(why, "renewal at"));
    st = status_of("example.org");
    ren = json_object_get(st, "renewal");
    ck_assert_str_eq(json_string_value(json_object_get(ren, "source")), "window");
    /* 33% of 90 days before the end: 60 days after not_before */
    ck_assert_int_eq(acme_drive_needed(&env, pool, d, now + 58 * DAY, &why), 0);
    ck_assert_int_eq(acme_drive_needed(&env, pool, d, now + 60 * DAY, &why), 1);
    ck_assert_ptr_nonnull(strstr(why, "due"));
    ck_assert_int_eq(acme_drive_needed(&env, pool, d, now + 90 * DAY, &why), 1);
    ck_assert_ptr_nonnull(strstr(why, "expired"));
}
END_TEST

START_TEST(needed_marker_staging_backoff_config)
{
    acme_drive_env_t env = env_make();
    acme_domain_t *d = domain2();
    ca_t *root = make_ca("Test Root", NULL), *inter = make_ca("Test Inter", root);
    apr_time_t now = apr_time_now();
    const char *why = NULL;
    json_t *meta, *st;

    activate(d, inter, SAN2, now - DAY, now + 89 * DAY);
    ck_assert_int_eq(acme_drive_needed(&env, pool, d, now, &why), 0);
    /* acmectl renew */
    put(ACME_SG_STATE, "example.org", "renew", "", 0);
    ck_assert_int_eq(acme_drive_needed(&env, pool, d, now, &why), 1);
    ck_assert_str_eq(why, "renewal requested");
    store->remove(store, pool, ACME_SG_STATE, "example.org", "renew", NULL);

    /* names changed: the active certificate no longer covers them */
    APR_ARRAY_PUSH(d->names, const char *) = "new.example.org";
    ck_assert_int_eq(acme_drive_needed(&env, pool, d, now, &why), 1);
    ck_assert_ptr_nonnull(strstr(why, "cover"));
    /* ... but a sound staged set for this configuration is waiting: not needed */
    stage_for(d, inter, acme_domain_config_hash(pool, d));
    ck_assert_int_eq(acme_drive_needed(&env, pool, d, now, &why), 0);
    ck_assert_ptr_nonnull(strstr(why, "staged"));
    /* one that would never be activated is removed, and a drive replaces it:
     * made for another configuration, no longer verifying, or incomplete */
    stage_for(d, inter, "0123");
    ck_assert_int_eq(acme_drive_needed(&env, pool, d, now, &why), 1);
    ck_assert_ptr_null(read_item(ACME_SG_STAGING, "example.org", "meta.json"));
    stage_for(d, inter, acme_domain_config_hash(pool, d));
    put(ACME_SG_STAGING, "example.org", "privkey.ec384.pem",
        make_set(inter, ACME_KEY_EC384, "DNS:example.org", now - DAY, now + DAY).key, 1);
    ck_assert_int_eq(acme_drive_needed(&env, pool, d, now, &why), 1);
    ck_assert_ptr_null(read_item(ACME_SG_STAGING, "example.org", "meta.json"));
    meta = json_pack("{s:s,s:s}", "name", "example.org", "config_hash",
                     acme_domain_config_hash(pool, d));
    ck_assert_int_eq(acme_store_save_json(store, pool, ACME_SG_STAGING, "example.org",
                                          "meta.json", meta, 0, NULL), APR_SUCCESS);
    json_decref(meta);
    ck_assert_int_eq(acme_drive_needed(&env, pool, d, now, &why), 1);
    ck_assert_ptr_null(read_item(ACME_SG_STAGING, "example.org", "meta.json"));

    /* backoff after a failure with this configuration */
    st = json_pack("{s:s,s:i}", "config_hash", acme_domain_config_hash(pool, d), "failures", 2);
    json_object_set_new(st, "next_attempt", json_string(acme_time_rfc3339(pool, now + 3600 * APR_USEC_PER_SEC)));
    ck_assert_int_eq(acme_store_save_json(store, pool, ACME_SG_STATE, "example.org",
                                          "status.json", st, 0, NULL), APR_SUCCESS);
    ck_assert_int_eq(acme_drive_needed(&env, pool, d, now, &why), 0);
    ck_assert_ptr_nonnull(strstr(why, "waiting"));
    ck_assert_int_eq(acme_drive_needed(&env, pool, d, now + 7200 * APR_USEC_PER_SEC, &why), 1);
    /* a changed configuration ends the backoff */
    APR_ARRAY_PUSH(d->names, const char *) = "other.example.org";
    ck_assert_int_eq(acme_drive_needed(&env, pool, d, now, &why), 1);
    json_decref(st);
}
END_TEST

START_TEST(needed_config_hash_of_active_set)
{
    acme_drive_env_t env = env_make();
    acme_domain_t *d = domain2();
    ca_t *root = make_ca("Test Root", NULL), *inter = make_ca("Test Inter", root);
    apr_time_t now = apr_time_now();
    const char *why = NULL;
    json_t *meta = json_pack("{s:s}", "config_hash", "0123");

    activate(d, inter, SAN2, now - DAY, now + 89 * DAY);
    ck_assert_int_eq(acme_store_save_json(store, pool, ACME_SG_DOMAINS, "example.org",
                                          "meta.json", meta, 0, NULL), APR_SUCCESS);
    json_decref(meta);
    ck_assert_int_eq(acme_drive_needed(&env, pool, d, now, &why), 1);
    ck_assert_ptr_nonnull(strstr(why, "configuration"));
}
END_TEST

START_TEST(needed_and_run_respect_lock)
{
    acme_drive_env_t env = env_make();
    acme_domain_t *d = domain2();
    acme_store_lock_t *lock = NULL;
    acme_drive_result_t res;
    const char *why = NULL;
    acme_http_opts_t opts;

    memset(&opts, 0, sizeof(opts));
    ck_assert_int_eq(acme_ca_registry_create(pool, &opts, NULL, &env.cas), APR_SUCCESS);
    env.responder = acme_responder_store(pool, store, NULL);
    ck_assert_int_eq(store->lock(store, pool, ACME_SG_STATE, "example.org", 0, &lock), APR_SUCCESS);
    ck_assert_int_eq(acme_drive_needed(&env, pool, d, apr_time_now(), &why), 0);
    ck_assert_ptr_nonnull(strstr(why, "progress"));
    ck_assert_int_eq(acme_drive_run(&env, pool, d, &res), APR_EBUSY);
    store->unlock(lock);
}
END_TEST

/* README "Renewal": while the CA is reachable, no managed certificate is
 * served past its renewal time plus one retry delay. A watchdog on a fake
 * clock (it wakes at the next look or after the check interval, seen at its
 * 200 ms tick with a sub-second phase) over odd lifetimes, windows, issue
 * times (also around the DST changes of local time: the arithmetic is UTC)
 * and wake phases: the drive starts no earlier than the renewal time's
 * second, within one retry delay and a tick after it, and before expiry. */
START_TEST(renewal_never_missed_fake_clock)
{
    static const long lifetimes[] = { 31, 47, 100, 361, 3607, 86400 + 7, 90 * 86400 };
    static const long phases_ms[] = { 0, 37, 200, 501, 999 };
    static const int pcts[] = { 33, 80 };
    /* now, and the EU DST changes of 2026 (01:00 UTC) one second away */
    apr_time_t starts[] = { apr_time_from_sec(apr_time_sec(apr_time_now())),
                            apr_time_from_sec(1774745999), apr_time_from_sec(1792889999) };
    const apr_interval_time_t tick = apr_time_from_msec(200);
    const apr_interval_time_t interval = apr_time_from_sec(12 * 3600);   /* the default */
    ca_t *root = make_ca("Test Root", NULL), *inter = make_ca("Test Inter", root);
    acme_drive_env_t env = env_make();
    size_t li, pi, ci, si;
    int n = 0;

    for (li = 0; li < sizeof(lifetimes) / sizeof(lifetimes[0]); ++li)
    for (ci = 0; ci < sizeof(pcts) / sizeof(pcts[0]); ++ci)
    for (si = 0; si < sizeof(starts) / sizeof(starts[0]); ++si)
    for (pi = 0; pi < sizeof(phases_ms) / sizeof(phases_ms[0]); ++pi) {
        apr_interval_time_t life = apr_time_from_sec(lifetimes[li]);
        apr_time_t nb = starts[si], na = nb + life;
        /* the exact time: lifetime * pct / 100 before the end, to the microsecond */
        apr_time_t exact = na - life / 100 * pcts[ci] - life % 100 * pcts[ci] / 100;
        apr_time_t phase = nb + apr_time_from_msec(phases_ms[pi]), t = phase;
        const char *id = apr_psprintf(pool, "r%d.example", n++), *why = NULL;
        acme_domain_t *d = acme_domain_create(pool, id);
        int need = 0, steps = 0;

        d->renew_window_pct = pcts[ci];
        /* no fsync: hundreds of sets */
        activate_ex(d, inter, apr_pstrcat(pool, "DNS:", id, NULL), nb, na,
                    ACME_STORE_REGENERABLE);
        while (steps++ < 1000) {
            apr_time_t next, wake;

            if ((need = acme_drive_needed(&env, pool, d, t, &why)) != 0) {
                break;
            }
            next = acme_drive_next_look(&env, pool, d, t);
            ck_assert_msg(next > t, "%s: no future look (%s)", id, why);
            wake = next < t + interval ? next : t + interval;
            /* the watchdog sees it at its first tick at or after wake */
            t = phase + (wake - phase + tick - 1) / tick * tick;
        }
        ck_assert_msg(need == 1, "%s: never renewed", id);
        ck_assert_msg(t >= acme_plan_whole_sec(exact), "%s (%lds, %d%%): renewed %" APR_TIME_T_FMT
                      " us before its window", id, lifetimes[li], pcts[ci], exact - t);
        ck_assert_msg(t <= exact + env.retry_delay + tick, "%s (%lds, %d%%, phase %ldms): renewed %"
                      APR_TIME_T_FMT " us after its time", id, lifetimes[li], pcts[ci],
                      phases_ms[pi], t - exact);
        ck_assert(t < na);
    }
}
END_TEST

/* A renewal time already past that was not acted on (the watchdog looked a
 * moment before it, or a drive held the domain) is looked at again within
 * the retry delay, never dropped. */
START_TEST(next_look_never_drops_a_past_time)
{
    acme_drive_env_t env = env_make();
    acme_domain_t *d = domain2();
    apr_time_t now = apr_time_from_sec(apr_time_sec(apr_time_now())) + apr_time_from_msec(300);
    json_t *st = json_pack("{s:{s:s,s:s}}", "renewal", "at", acme_time_rfc3339(pool, now),
                           "source", "window");

    ck_assert_int_eq(acme_drive_next_look(&env, pool, d, now), 0);   /* nothing recorded */
    ck_assert_int_eq(acme_store_save_json(store, pool, ACME_SG_STATE, "example.org",
                                          "status.json", st, 0, NULL), APR_SUCCESS);
    ck_assert_int_eq(acme_drive_next_look(&env, pool, d, now), now + env.retry_delay);
    ck_assert_int_eq(acme_drive_next_look(&env, pool, d, now - apr_time_from_sec(10)),
                     now - apr_time_from_msec(300));
    json_object_set_new(st, "next_attempt", json_string(acme_time_rfc3339(pool, now + 2 * DAY)));
    json_object_set_new(json_object_get(st, "renewal"), "at",
                        json_string(acme_time_rfc3339(pool, now + DAY)));
    ck_assert_int_eq(acme_store_save_json(store, pool, ACME_SG_STATE, "example.org",
                                          "status.json", st, 0, NULL), APR_SUCCESS);
    ck_assert_int_eq(acme_drive_next_look(&env, pool, d, now),
                     now - apr_time_from_msec(300) + DAY);
    json_decref(st);
}
END_TEST

/* ---- failures, backoff and CA failover without a reachable CA ---- */

START_TEST(run_failure_backoff_failover)
{
    acme_drive_env_t env = env_make();
    acme_domain_t *d = acme_domain_create(pool, "example.org");
    acme_http_opts_t opts;
    acme_drive_result_t res;
    json_t *st, *err;
    apr_time_t na = 0;

    memset(&opts, 0, sizeof(opts));
    opts.connect_timeout = apr_time_from_sec(2);
    opts.timeout = apr_time_from_sec(5);
    apr_array_clear(d->ca_urls);
    APR_ARRAY_PUSH(d->ca_urls, const char *) = "https://127.0.0.1:1/dir-a";
    APR_ARRAY_PUSH(d->ca_urls, const char *) = "https://127.0.0.1:1/dir-b";
    ck_assert_int_eq(acme_ca_registry_create(pool, &opts, NULL, &env.cas), APR_SUCCESS);
    env.responder = acme_responder_store(pool, store, NULL);

    ck_assert_int_ne(acme_drive_run(&env, pool, d, &res), APR_SUCCESS);
    ck_assert_ptr_nonnull(res.error);
    ck_assert(res.next_attempt > apr_time_now());
    st = status_of("example.org");
    ck_assert_str_eq(json_string_value(json_object_get(st, "state")), "error");
    ck_assert_int_eq(json_integer_value(json_object_get(st, "failures")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(st, "ca_index")), 0);
    ck_assert_str_eq(json_string_value(json_object_get(st, "ca")), "https://127.0.0.1:1/dir-a");
    err = json_object_get(st, "last_error");
    ck_assert_ptr_nonnull(json_string_value(json_object_get(err, "type")));
    ck_assert_ptr_nonnull(json_string_value(json_object_get(err, "detail")));
    ck_assert_int_eq(acme_time_parse_rfc3339(json_string_value(json_object_get(err, "at")), &na),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_time_parse_rfc3339(json_string_value(json_object_get(st, "next_attempt")),
                                             &na), APR_SUCCESS);
    ck_assert_str_eq(json_string_value(json_object_get(st, "config_hash")),
                     acme_domain_config_hash(pool, d));

    /* second failure with the same CA: switch to the next */
    ck_assert_int_ne(acme_drive_run(&env, pool, d, &res), APR_SUCCESS);
    st = status_of("example.org");
    ck_assert_int_eq(json_integer_value(json_object_get(st, "failures")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(st, "ca_index")), 1);
    ck_assert_int_ne(acme_drive_run(&env, pool, d, &res), APR_SUCCESS);
    st = status_of("example.org");
    ck_assert_str_eq(json_string_value(json_object_get(st, "ca")), "https://127.0.0.1:1/dir-b");
    ck_assert_int_eq(json_integer_value(json_object_get(st, "failures")), 3);
}
END_TEST

/* ---- responders ---- */


static acme_domain_t *domain_at(const char *id, const char *ca1, const char *ca2)
{
    acme_domain_t *d = acme_domain_create(pool, id);
    apr_array_clear(d->ca_urls);
    APR_ARRAY_PUSH(d->ca_urls, const char *) = ca1;
    if (ca2) APR_ARRAY_PUSH(d->ca_urls, const char *) = ca2;
    return d;
}

/* An unreachable CA costs one attempt per retry period, not one per domain:
 * the other domains of that CA wait without a request and without writing,
 * a domain with another CA to fail over to still runs. */
START_TEST(ca_outage_one_attempt_per_retry)
{
    acme_drive_env_t env = env_make();
    const char *dead = "https://127.0.0.1:1/dir";
    acme_domain_t *a = domain_at("a.example", dead, NULL), *b = domain_at("b.example", dead, NULL);
    acme_domain_t *c = domain_at("c.example", dead, "https://127.0.0.1:1/other");
    acme_http_opts_t opts;
    acme_drive_result_t res;
    apr_time_t wait, na = 0;
    json_t *st, *err;

    memset(&opts, 0, sizeof(opts));
    opts.connect_timeout = apr_time_from_sec(2);
    opts.timeout = apr_time_from_sec(5);
    ck_assert_int_eq(acme_ca_registry_create(pool, &opts, NULL, &env.cas), APR_SUCCESS);
    env.responder = acme_responder_store(pool, store, NULL);
    ck_assert(acme_drive_ca_wait(&env, pool, b, apr_time_now(), 0) == 0);

    ck_assert_int_ne(acme_drive_run(&env, pool, a, &res), APR_SUCCESS);
    ck_assert_str_eq(res.error->type, "urn:mod_acme:transport");
    wait = acme_drive_ca_wait(&env, pool, b, apr_time_now(), 0);
    ck_assert(wait == res.next_attempt);

    ck_assert_int_eq(acme_drive_run(&env, pool, b, &res), APR_EAGAIN);
    ck_assert_ptr_null(res.error);
    ck_assert(res.next_attempt == wait);
    /* b shows the outage: the error of a's attempt and the retry time */
    st = status_of("b.example");
    ck_assert_str_eq(json_string_value(json_object_get(st, "state")), "error");
    err = json_object_get(st, "last_error");
    ck_assert_str_eq(json_string_value(json_object_get(err, "type")), "urn:mod_acme:transport");
    ck_assert_str_eq(json_string_value(json_object_get(err, "at")),
                     json_string_value(json_object_get(json_object_get(status_of("a.example"),
                                                                      "last_error"), "at")));
    ck_assert_int_eq(acme_time_parse_rfc3339(json_string_value(json_object_get(st, "next_attempt")),
                                             &na), APR_SUCCESS);
    ck_assert(apr_time_sec(na) == apr_time_sec(wait));
    /* once per outage: neither b's nor a's own error is written again */
    json_object_set_new(err, "detail", json_string("seen"));
    ck_assert_int_eq(acme_store_save_json(store, pool, ACME_SG_STATE, "b.example", "status.json",
                                          st, 0, NULL), APR_SUCCESS);
    ck_assert_int_eq(acme_drive_run(&env, pool, b, &res), APR_EAGAIN);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(status_of("b.example"),
                     "last_error"), "detail")), "seen");
    st = status_of("a.example");
    json_object_set_new(json_object_get(st, "last_error"), "detail", json_string("own"));
    ck_assert_int_eq(acme_store_save_json(store, pool, ACME_SG_STATE, "a.example", "status.json",
                                          st, 0, NULL), APR_SUCCESS);
    ck_assert_int_eq(acme_drive_run(&env, pool, a, &res), APR_EAGAIN);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(status_of("a.example"),
                     "last_error"), "detail")), "own");

    /* a domain whose status shows another problem is told about the outage */
    put(ACME_SG_STATE, "d.example", "status.json", "{\"state\": \"error\", \"last_error\": "
        "{\"type\": \"urn:ietf:params:acme:error:rateLimited\"}}", 0);
    ck_assert_int_eq(acme_drive_run(&env, pool, domain_at("d.example", dead, NULL), &res),
                     APR_EAGAIN);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(status_of("d.example"),
                     "last_error"), "type")), "urn:mod_acme:transport");

    ck_assert(acme_drive_ca_wait(&env, pool, c, apr_time_now(), 0) == 0);
    ck_assert_int_ne(acme_drive_run(&env, pool, c, &res), APR_EAGAIN);
    ck_assert_ptr_nonnull(res.error);
    /* c's failure at the same CA doubled the CA's own wait (not c's backoff) */
    wait = acme_drive_ca_wait(&env, pool, b, apr_time_now(), 0);
    ck_assert(wait >= res.next_attempt + apr_time_from_sec(4));
    ck_assert(acme_drive_ca_wait(&env, pool, b, wait + 1, 0) == 0);

    /* a domain failing for weeks backs off for a day; its CA's wait stays short */
    ck_assert_int_eq(acme_ca_registry_create(pool, &opts, NULL, &env.cas), APR_SUCCESS);
    put(ACME_SG_STATE, "old.example", "status.json", "{\"failures\": 15}", 0);
    ck_assert_int_ne(acme_drive_run(&env, pool, domain_at("old.example", dead, NULL), &res),
                     APR_SUCCESS);
    ck_assert(res.next_attempt > apr_time_now() + apr_time_from_sec(86000));
    wait = acme_drive_ca_wait(&env, pool, b, apr_time_now(), 0);
    ck_assert(wait > apr_time_now() && wait <= apr_time_now() + apr_time_from_sec(10));
}
END_TEST

START_TEST(store_responder_http01)
{
    acme_responder_t *r = acme_responder_store(pool, store, NULL);
    ck_assert(r->can(r, "http-01", "Example.org"));
    ck_assert(r->can(r, "tls-alpn-01", "192.0.2.1"));
    ck_assert(!r->can(r, "dns-01", "example.org"));
    ck_assert(!r->can(r, "http-01", "*.example.org"));
    ck_assert_int_eq(r->setup(r, pool, "http-01", "Example.org", "tok_en-1", "tok_en-1.thumb"),
                     APR_SUCCESS);
    ck_assert_str_eq(read_item(ACME_SG_CHALLENGES, "example.org",
                               acme_responder_http01_item(pool, "tok_en-1")), "tok_en-1.thumb");
    ck_assert_int_ne(r->setup(r, pool, "http-01", "example.org", "../../x", "k"), APR_SUCCESS);
    ck_assert_int_ne(r->setup(r, pool, "http-01", "../etc", "tok", "k"), APR_SUCCESS);
    ck_assert_int_eq(r->teardown(r, pool, "http-01", "Example.org", "tok_en-1", "tok_en-1.thumb"),
                     APR_SUCCESS);
    ck_assert_ptr_null(read_item(ACME_SG_CHALLENGES, "example.org", "http-01.tok_en-1"));
}
END_TEST

START_TEST(store_responder_tlsalpn01)
{
    acme_responder_t *r = acme_responder_store(pool, store, NULL);
    const char *pem, *path;
    apr_array_header_t *certs = NULL;
    acme_key_t *key = NULL;
    struct stat sb;

    ck_assert_int_eq(r->setup(r, pool, "tls-alpn-01", "example.org", "tok", "tok.thumb"),
                     APR_SUCCESS);
    pem = read_item(ACME_SG_CHALLENGES, "example.org", ACME_TLSALPN01_ITEM);
    ck_assert_ptr_nonnull(pem);
    ck_assert_int_eq(acme_certs_from_pem(pool, pem, strstr(pem, "-----END CERTIFICATE-----")
                                         - pem + 26, &certs), APR_SUCCESS);
    ck_assert_int_eq(acme_key_from_pem(pool, strstr(pem, "-----BEGIN PRIVATE KEY"),
                                       strlen(strstr(pem, "-----BEGIN PRIVATE KEY")), &key),
                     APR_SUCCESS);
    ck_assert(acme_cert_matches_key(APR_ARRAY_IDX(certs, 0, acme_cert_t *), key));
    path = store->where(store, pool, ACME_SG_CHALLENGES, "example.org", ACME_TLSALPN01_ITEM);
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0600);
    ck_assert_int_eq(r->teardown(r, pool, "tls-alpn-01", "example.org", "tok", "tok.thumb"),
                     APR_SUCCESS);
    ck_assert_ptr_null(read_item(ACME_SG_CHALLENGES, "example.org", ACME_TLSALPN01_ITEM));
}
END_TEST

START_TEST(webroot_responder)
{
    const char *root = apr_pstrcat(pool, tmpdir, "/www", NULL);
    acme_responder_t *r = acme_responder_webroot(pool, root, NULL);
    const char *path = apr_pstrcat(pool, root, "/.well-known/acme-challenge/abcDEF_-9", NULL);
    char *data = NULL;
    apr_size_t len = 0;
    struct stat sb;

    ck_assert(r->can(r, "http-01", "example.org"));
    ck_assert(!r->can(r, "tls-alpn-01", "example.org"));
    ck_assert(!r->can(r, "http-01", "*.example.org"));
    ck_assert_int_eq(r->setup(r, pool, "http-01", "example.org", "abcDEF_-9", "abcDEF_-9.tp"),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_file_read(pool, path, 1024, &data, &len), APR_SUCCESS);
    ck_assert_str_eq(data, "abcDEF_-9.tp");
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0644);
    /* The web server (another user) must be able to traverse the directories
     * it creates: once they were made with a garbled mode. */
    ck_assert_int_eq(stat(apr_pstrcat(pool, root, "/.well-known/acme-challenge", NULL), &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0755, 0755);
    ck_assert_int_ne(r->setup(r, pool, "http-01", "example.org", "../../escape", "x"),
                     APR_SUCCESS);
    ck_assert_int_eq(r->teardown(r, pool, "http-01", "example.org", "abcDEF_-9", "x"),
                     APR_SUCCESS);
    ck_assert_int_ne(stat(path, &sb), 0);
    /* removing twice is fine */
    ck_assert_int_eq(r->teardown(r, pool, "http-01", "example.org", "abcDEF_-9", "x"),
                     APR_SUCCESS);
}
END_TEST

static const char *write_script(const char *name, const char *body)
{
    const char *path = apr_pstrcat(pool, tmpdir, "/", name, NULL);
    ck_assert_int_eq(acme_file_write_atomic(pool, path, body, strlen(body),
                                            APR_FPROT_UREAD | APR_FPROT_UWRITE | APR_FPROT_UEXECUTE),
                     APR_SUCCESS);
    return path;
}

START_TEST(dnscmd_responder)
{
    const char *log = apr_pstrcat(pool, tmpdir, "/dns.log", NULL);
    const char *cmd = write_script("hook.sh", apr_pstrcat(pool, "#!/bin/sh\necho \"$1 $2 $3\" >> ",
                                                          log, "\nexit 0\n", NULL));
    acme_responder_t *r = acme_responder_dnscmd(pool, cmd, 0, NULL, NULL);
    const char *value = acme_dns01_value(pool, "tok.thumb");
    char *data = NULL;
    apr_size_t len = 0;

    ck_assert(r->can(r, "dns-01", "*.example.org"));
    ck_assert(!r->can(r, "dns-01", "192.0.2.1"));
    ck_assert(!r->can(r, "http-01", "example.org"));
    ck_assert_int_eq(r->setup(r, pool, "dns-01", "*.example.org", "tok", "tok.thumb"),
                     APR_SUCCESS);
    ck_assert_int_eq(r->teardown(r, pool, "dns-01", "www.example.org", "tok", "tok.thumb"),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_file_read(pool, log, 4096, &data, &len), APR_SUCCESS);
    ck_assert_str_eq(data, apr_pstrcat(pool, "setup _acme-challenge.example.org ", value,
                                       "\nteardown _acme-challenge.www.example.org ", value,
                                       "\n", NULL));
}
END_TEST

static void capture(void *baton, acme_log_level_e level, apr_status_t rv, const char *msg)
{
    char **last = baton;
    (void)level; (void)rv;
    *last = apr_pstrdup(pool, msg);
}

START_TEST(dnscmd_failure)
{
    const char *cmd = write_script("fail.sh", "#!/bin/sh\necho 'no such zone' >&2\nexit 3\n");
    char *last = NULL;
    acme_logger_t lg = { capture, &last, ACME_LOG_DEBUG };
    acme_responder_t *r = acme_responder_dnscmd(pool, cmd, 0, NULL, &lg);
    ck_assert_int_ne(r->setup(r, pool, "dns-01", "example.org", "tok", "tok.thumb"), APR_SUCCESS);
    ck_assert_ptr_nonnull(last);
    ck_assert_ptr_nonnull(strstr(last, "exited with status 3"));
    ck_assert_ptr_nonnull(strstr(last, "no such zone"));
    r = acme_responder_dnscmd(pool, apr_pstrcat(pool, tmpdir, "/missing.sh", NULL), 0, NULL,
                              NULL);
    ck_assert_int_ne(r->setup(r, pool, "dns-01", "example.org", "tok", "tok.thumb"), APR_SUCCESS);
}
END_TEST

/* Names and values that could steer the program never reach it; the
 * program gets the documented ACME_* variables (test_exec: nothing else). */
START_TEST(dnscmd_arguments_checked)
{
    const char *log = apr_pstrcat(pool, tmpdir, "/dns.log", NULL);
    const char *cmd = write_script("env.sh", apr_pstrcat(pool, "#!/bin/sh\necho \"$ACME_ACTION|"
                                   "$ACME_IDENTIFIER|$ACME_NAME|$ACME_VALUE|$PATH\" >> ", log,
                                   "\n", NULL));
    const char *bad[] = { "victim.example\nupdate add evil 60 TXT x", "a b.example",
                          "example.org;rm", "-rf.example", "192.0.2.1", "", NULL };
    char *last = NULL, *data = NULL;
    acme_logger_t lg = { capture, &last, ACME_LOG_DEBUG };
    acme_responder_t *r = acme_responder_dnscmd(pool, cmd, apr_time_from_sec(5), NULL, &lg);
    apr_size_t len = 0;
    char longname[300];
    struct stat sb;
    int i;

    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    for (i = 0; bad[i]; ++i) {
        last = NULL;
        ck_assert_int_eq(r->setup(r, pool, "dns-01", bad[i], "tok", "tok.thumb"), APR_EINVAL);
        ck_assert_ptr_nonnull(last);
        ck_assert_ptr_nonnull(strstr(last, "refusing to run the DNS command"));
        ck_assert_ptr_null(strchr(last, '\n'));
    }
    ck_assert_int_eq(r->setup(r, pool, "dns-01", longname, "tok", "tok.thumb"), APR_EINVAL);
    ck_assert_int_eq(r->teardown(r, pool, "dns-01", "example.org", "tok", NULL), APR_EINVAL);
    ck_assert_int_ne(stat(log, &sb), 0);     /* the program never ran */
    ck_assert_int_eq(r->setup(r, pool, "dns-01", "*.example.org", "tok", "tok.thumb"),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_file_read(pool, log, 4096, &data, &len), APR_SUCCESS);
    ck_assert_str_eq(data, apr_pstrcat(pool, "setup|*.example.org|_acme-challenge.example.org|",
                                       acme_dns01_value(pool, "tok.thumb"), "|", ACME_EXEC_PATH,
                                       "\n", NULL));
}
END_TEST

START_TEST(chain_responder)
{
    const char *root = apr_pstrcat(pool, tmpdir, "/www", NULL);
    const char *cmd = write_script("ok.sh", "#!/bin/sh\nexit 0\n");
    acme_responder_t *list[3];
    acme_responder_t *r;
    struct stat sb;

    list[0] = NULL;
    list[1] = acme_responder_webroot(pool, root, NULL);
    list[2] = acme_responder_dnscmd(pool, cmd, 0, NULL, NULL);
    r = acme_responder_chain(pool, list, 3);
    ck_assert(r->can(r, "http-01", "example.org"));
    ck_assert(r->can(r, "dns-01", "*.example.org"));
    ck_assert(!r->can(r, "tls-alpn-01", "example.org"));
    ck_assert_int_eq(r->setup(r, pool, "http-01", "example.org", "tk", "tk.x"), APR_SUCCESS);
    ck_assert_int_eq(stat(apr_pstrcat(pool, root, "/.well-known/acme-challenge/tk", NULL), &sb), 0);
    ck_assert_int_eq(r->setup(r, pool, "dns-01", "example.org", "tk", "tk.x"), APR_SUCCESS);
    ck_assert_int_ne(r->setup(r, pool, "tls-alpn-01", "example.org", "tk", "tk.x"), APR_SUCCESS);
}
END_TEST

/* ---- parsing and challenge choice ---- */

static json_t *parse(const char *s)
{
    json_t *j = NULL;
    ck_assert_int_eq(acme_json_parse(pool, s, strlen(s), &j, NULL), APR_SUCCESS);
    return j;
}

START_TEST(order_parse)
{
    acme_order_t *o = NULL;
    ck_assert_int_eq(acme_order_parse(pool, parse("{\"status\":\"pending\",\"authorizations\":"
        "[\"https://ca/a/1\",\"https://ca/a/2\"],\"finalize\":\"https://ca/f/1\","
        "\"identifiers\":[]}"), "https://ca/o/1", &o), APR_SUCCESS);
    ck_assert_str_eq(o->status, "pending");
    ck_assert_int_eq(o->authz_urls->nelts, 2);
    ck_assert_str_eq(o->finalize_url, "https://ca/f/1");
    ck_assert_ptr_null(o->cert_url);
    ck_assert_int_eq(acme_order_parse(pool, parse("{\"status\":\"invalid\",\"authorizations\":[],"
        "\"finalize\":\"f\",\"error\":{\"type\":\"urn:ietf:params:acme:error:unauthorized\","
        "\"detail\":\"nope\"}}"), NULL, &o), APR_SUCCESS);
    ck_assert_str_eq(o->error->detail, "nope");
    /* valid without certificate, unknown status, wrong types */
    ck_assert_int_ne(acme_order_parse(pool, parse("{\"status\":\"valid\",\"authorizations\":[],"
        "\"finalize\":\"f\"}"), NULL, &o), APR_SUCCESS);
    ck_assert_int_ne(acme_order_parse(pool, parse("{\"status\":\"weird\",\"authorizations\":[],"
        "\"finalize\":\"f\"}"), NULL, &o), APR_SUCCESS);
    ck_assert_int_ne(acme_order_parse(pool, parse("{\"status\":\"pending\",\"authorizations\":[1],"
        "\"finalize\":\"f\"}"), NULL, &o), APR_SUCCESS);
    ck_assert_int_ne(acme_order_parse(pool, parse("{\"status\":\"pending\",\"authorizations\":[]}"),
                                      NULL, &o), APR_SUCCESS);
}
END_TEST

static const char *AUTHZ =
    "{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\",\"value\":\"example.org\"},"
    "%s\"challenges\":["
    "{\"type\":\"http-01\",\"url\":\"https://ca/c/1\",\"status\":\"pending\",\"token\":\"t1\"},"
    "{\"type\":\"dns-01\",\"url\":\"https://ca/c/2\",\"status\":\"pending\",\"token\":\"t2\"},"
    "{\"type\":\"tls-alpn-01\",\"url\":\"https://ca/c/3\",\"status\":\"pending\",\"token\":\"t3\"},"
    "{\"type\":\"future-01\",\"url\":\"https://ca/c/4\",\"status\":\"pending\"}]}";

static apr_array_header_t *types(const char *a, const char *b)
{
    apr_array_header_t *arr = apr_array_make(pool, 2, sizeof(const char *));
    if (a) APR_ARRAY_PUSH(arr, const char *) = a;
    if (b) APR_ARRAY_PUSH(arr, const char *) = b;
    return arr;
}

START_TEST(authz_parse_and_pick)
{
    acme_authz_t *a = NULL;
    const acme_challenge_t *c;
    acme_responder_t *st = acme_responder_store(pool, store, NULL);

    ck_assert_int_eq(acme_authz_parse(pool, parse(apr_psprintf(pool, AUTHZ, "")), "u", &a),
                     APR_SUCCESS);
    ck_assert_int_eq(a->challenges->nelts, 4);
    ck_assert_str_eq(a->name, "example.org");
    c = acme_authz_pick(a, NULL, NULL);
    ck_assert_str_eq(c->type, "http-01");
    c = acme_authz_pick(a, types("tls-alpn-01", "http-01"), NULL);
    ck_assert_str_eq(c->type, "tls-alpn-01");
    c = acme_authz_pick(a, types("dns-01", "http-01"), st);  /* store cannot dns-01 */
    ck_assert_str_eq(c->type, "http-01");
    ck_assert_ptr_null(acme_authz_pick(a, types("dns-01", NULL), st));

    /* wildcard: dns-01 only */
    ck_assert_int_eq(acme_authz_parse(pool, parse(apr_psprintf(pool, AUTHZ, "\"wildcard\":true,")),
                                      "u", &a), APR_SUCCESS);
    ck_assert_str_eq(a->name, "*.example.org");
    c = acme_authz_pick(a, types("http-01", "dns-01"), NULL);
    ck_assert_str_eq(c->type, "dns-01");
    ck_assert_ptr_null(acme_authz_pick(a, types("http-01", "tls-alpn-01"), NULL));

    /* hostile token */
    ck_assert_int_ne(acme_authz_parse(pool, parse("{\"status\":\"pending\",\"identifier\":"
        "{\"type\":\"dns\",\"value\":\"x\"},\"challenges\":[{\"type\":\"http-01\",\"url\":\"u\","
        "\"status\":\"pending\",\"token\":\"../../etc/passwd\"}]}"), "u", &a), APR_SUCCESS);
    ck_assert_int_ne(acme_authz_parse(pool, parse("{\"status\":\"pending\",\"identifier\":"
        "{\"type\":\"email\",\"value\":\"x\"},\"challenges\":[]}"), "u", &a), APR_SUCCESS);
}
END_TEST

START_TEST(ip_authz_never_dns01)
{
    acme_authz_t *a = NULL;
    ck_assert_int_eq(acme_authz_parse(pool, parse("{\"status\":\"pending\",\"identifier\":"
        "{\"type\":\"ip\",\"value\":\"192.0.2.1\"},\"challenges\":["
        "{\"type\":\"dns-01\",\"url\":\"u\",\"status\":\"pending\",\"token\":\"t\"},"
        "{\"type\":\"http-01\",\"url\":\"v\",\"status\":\"pending\",\"token\":\"t\"}]}"), "u", &a),
        APR_SUCCESS);
    ck_assert_str_eq(acme_authz_pick(a, types("dns-01", "http-01"), NULL)->type, "http-01");
}
END_TEST

static acme_authz_t *authz_for(const char *type, const char *value, int wildcard)
{
    acme_authz_t *a = NULL;
    json_t *j = json_pack("{s:s,s:{s:s,s:s},s:b,s:[]}", "status", "pending", "identifier",
                          "type", type, "value", value, "wildcard", wildcard, "challenges");
    ck_assert_int_eq(acme_authz_parse(pool, j, "https://ca/authz/1", &a), APR_SUCCESS);
    json_decref(j);
    return a;
}

/* An authorization counts only for an identifier that was ordered. */
START_TEST(authz_ordered_name)
{
    apr_array_header_t *names = apr_array_make(pool, 4, sizeof(const char *));
    char longname[400];

    APR_ARRAY_PUSH(names, const char *) = "example.org";
    APR_ARRAY_PUSH(names, const char *) = "*.example.org";
    APR_ARRAY_PUSH(names, const char *) = "192.0.2.1";
    APR_ARRAY_PUSH(names, const char *) = "2001:db8::1";
    ck_assert_str_eq(acme_authz_ordered_name(authz_for("dns", "example.org", 0), names),
                     "example.org");
    /* case differs: our spelling comes back */
    ck_assert_str_eq(acme_authz_ordered_name(authz_for("dns", "EXAMPLE.org", 0), names),
                     "example.org");
    ck_assert_str_eq(acme_authz_ordered_name(authz_for("dns", "example.org", 1), names),
                     "*.example.org");
    ck_assert_str_eq(acme_authz_ordered_name(authz_for("ip", "192.0.2.1", 0), names),
                     "192.0.2.1");
    ck_assert_str_eq(acme_authz_ordered_name(authz_for("ip", "2001:0db8:0:0::0001", 0), names),
                     "2001:db8::1");
    /* foreign, hostile, wrong type, wildcard games */
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    ck_assert_ptr_null(acme_authz_ordered_name(authz_for("dns", "victim.example", 0), names));
    ck_assert_ptr_null(acme_authz_ordered_name(authz_for("dns", "www.example.org", 0), names));
    ck_assert_ptr_null(acme_authz_ordered_name(authz_for("dns", "example.org\nupdate add x", 0),
                                               names));
    ck_assert_ptr_null(acme_authz_ordered_name(authz_for("dns", "example.org ", 0), names));
    ck_assert_ptr_null(acme_authz_ordered_name(authz_for("dns", longname, 0), names));
    ck_assert_ptr_null(acme_authz_ordered_name(authz_for("dns", "*.example.org", 0), names));
    ck_assert_ptr_null(acme_authz_ordered_name(authz_for("dns", "*.example.org", 1), names));
    ck_assert_ptr_null(acme_authz_ordered_name(authz_for("dns", "192.0.2.1", 0), names));
    ck_assert_ptr_null(acme_authz_ordered_name(authz_for("ip", "example.org", 0), names));
    ck_assert_ptr_null(acme_authz_ordered_name(authz_for("ip", "192.0.2.2", 0), names));
    ck_assert_ptr_null(acme_authz_ordered_name(authz_for("ip", "192.0.2.1", 1), names));
    ck_assert_ptr_null(acme_authz_ordered_name(authz_for("dns", "example.org", 0), NULL));
}
END_TEST

START_TEST(ari_parse)
{
    acme_ari_t *a = NULL;
    ck_assert_int_eq(acme_ari_parse(pool, parse("{\"suggestedWindow\":{\"start\":"
        "\"2026-01-01T00:00:00Z\",\"end\":\"2026-01-02T00:00:00Z\"},\"explanationURL\":"
        "\"https://ca/why\"}"), &a), APR_SUCCESS);
    ck_assert(a->end - a->start == DAY);
    ck_assert_str_eq(a->explanation_url, "https://ca/why");
    ck_assert(a->retry_after == ACME_ARI_DEFAULT_RETRY);
    ck_assert_int_ne(acme_ari_parse(pool, parse("{\"suggestedWindow\":{\"start\":"
        "\"2026-01-02T00:00:00Z\",\"end\":\"2026-01-01T00:00:00Z\"}}"), &a), APR_SUCCESS);
    ck_assert_int_ne(acme_ari_parse(pool, parse("{\"suggestedWindow\":{\"start\":\"soon\","
        "\"end\":\"2026-01-01T00:00:00Z\"}}"), &a), APR_SUCCESS);
    ck_assert_int_ne(acme_ari_parse(pool, parse("{}"), &a), APR_SUCCESS);
}
END_TEST

/* ---- a mock ACME CA over plain HTTP, to drive whole orders in-process ---- */

#define MOCK_MAX 16

typedef struct {
    apr_pool_t *pool;            /* the server thread's own pool */
    apr_socket_t *lsock;
    apr_thread_t *thread;
    volatile int stop;
    const char *base;
    acme_store_t *store;
    ca_t *inter, *alt_inter;     /* alt_inter: same key and name, signed by "Alt Root" */
    const char *san;
    int ari, ari_fail, fail_challenge, authz_valid, bad_cert_type;
    const char *authz_value;     /* the identifier the authorizations name; NULL: mock.example */
    int revokes, revoke_kid, revoke_jwk, revoke_reason;
    volatile int *cancel_on_chal;
    int new_orders, chal_posts, finalizes, ri_gets, chal_item_seen, order_reads;
    char replaces[MOCK_MAX][128];
    int order_status[MOCK_MAX];  /* 0 pending, 1 ready, 2 valid, 3 invalid */
    int authz_status[MOCK_MAX];  /* 0 pending, 1 valid, 2 invalid */
    char *leaf_pem[MOCK_MAX];
    int nonce;
} mock_t;

typedef struct {
    int status;
    const char *ctype, *body, *location, *link, *retry_after;
} mock_resp_t;

static mock_resp_t json_resp(apr_pool_t *p, int status, json_t *j)
{
    mock_resp_t r;
    memset(&r, 0, sizeof(r));
    r.status = status;
    r.ctype = "application/json";
    r.body = acme_json_dump(p, j, 0);
    json_decref(j);
    return r;
}

static const char *mock_url(apr_pool_t *p, mock_t *m, const char *what, int n)
{
    return n ? apr_psprintf(p, "%s/%s/%d", m->base, what, n) : apr_pstrcat(p, m->base, "/", what, NULL);
}

static json_t *mock_order_json(apr_pool_t *p, mock_t *m, int n)
{
    static const char *const names[] = { "pending", "ready", "valid", "invalid" };
    json_t *o;
    if (m->order_status[n] == 0 && m->authz_status[n] == 1) m->order_status[n] = 1;
    if (m->authz_status[n] == 2) m->order_status[n] = 3;
    o = json_pack("{s:s,s:[],s:[s],s:s}", "status", names[m->order_status[n]], "identifiers",
                  "authorizations", mock_url(p, m, "authz", n), "finalize",
                  mock_url(p, m, "finalize", n));
    if (m->order_status[n] == 2) {
        json_object_set_new(o, "certificate", json_string(mock_url(p, m, "cert", n)));
    }
    return o;
}

static json_t *mock_challenge_json(apr_pool_t *p, mock_t *m, int n)
{
    static const char *const names[] = { "pending", "valid", "invalid" };
    json_t *c = json_pack("{s:s,s:s,s:s,s:s}", "type", "http-01", "url", mock_url(p, m, "chal", n),
                          "token", apr_psprintf(p, "tok%d", n), "status",
                          names[m->authz_status[n]]);
    if (m->authz_status[n] == 2) {
        json_object_set_new(c, "error", json_pack("{s:s,s:s}", "type",
                            "urn:ietf:params:acme:error:connection", "detail",
                            "connection refused"));
    }
    return c;
}

/* The certificate for the CSR in a finalize payload {"csr": b64u(DER)}. */
static void mock_issue(apr_pool_t *p, mock_t *m, int n, const char *payload)
{
    json_t *j = NULL;
    const char *csr = NULL;
    unsigned char *der = NULL;
    const unsigned char *q;
    apr_size_t len = 0;
    X509_REQ *req;
    apr_time_t now = apr_time_now();
    X509 *leaf;

    if (acme_json_parse(p, payload, strlen(payload), &j, NULL) != APR_SUCCESS
        || acme_json_get_str(j, "csr", &csr) != APR_SUCCESS
        || acme_b64u_decode(p, csr, strlen(csr), &der, &len) != APR_SUCCESS) {
        return;
    }
    q = der;
    req = d2i_X509_REQ(NULL, &q, (long)len);
    if (!req) return;
    leaf = make_cert("leaf", m->san, acme_key_wrap(p, X509_REQ_get_pubkey(req)), m->inter,
                     now - DAY, now + 89 * DAY, 0);
    m->leaf_pem[n] = strdup(pem_of_p(p, leaf));
    X509_free(leaf);
    X509_REQ_free(req);
    m->order_status[n] = 2;
    m->finalizes++;
}

static mock_resp_t mock_post(apr_pool_t *p, mock_t *m, const char *path, const char *payload)
{
    mock_resp_t r;
    int n = 0;
    char what[32] = "";
    json_t *j = NULL;

    memset(&r, 0, sizeof(r));
    if (sscanf(path, "/%31[a-z-]/%d", what, &n) == 2 && (n <= 0 || n >= MOCK_MAX)) n = 0;
    if (!strcmp(path, "/acct") || !strcmp(path, "/acct/1")) {
        r = json_resp(p, !strcmp(path, "/acct") ? 201 : 200, json_pack("{s:s}", "status", "valid"));
        r.location = mock_url(p, m, "acct", 1);
    }
    else if (!strcmp(path, "/new-order") && m->new_orders + 1 < MOCK_MAX) {
        const char *rep = NULL;
        n = ++m->new_orders;
        if (acme_json_parse(p, payload, strlen(payload), &j, NULL) == APR_SUCCESS
            && acme_json_get_str(j, "replaces", &rep) == APR_SUCCESS) {
            apr_cpystrn(m->replaces[n], rep, sizeof(m->replaces[n]));
        }
        m->authz_status[n] = m->authz_valid ? 1 : 0;
        r = json_resp(p, 201, mock_order_json(p, m, n));
        r.location = mock_url(p, m, "order", n);
    }
    else if (n && !strcmp(what, "order")) {
        m->order_reads++;
        r = json_resp(p, 200, mock_order_json(p, m, n));
    }
    else if (n && !strcmp(what, "authz")) {
        static const char *const names[] = { "pending", "valid", "invalid" };
        r = json_resp(p, 200, json_pack("{s:s,s:{s:s,s:s},s:[o]}", "status",
                      names[m->authz_status[n]], "identifier", "type", "dns", "value",
                      m->authz_value ? m->authz_value : "mock.example", "challenges",
                      mock_challenge_json(p, m, n)));
    }
    else if (n && !strcmp(what, "chal")) {
        char *data = NULL;
        apr_size_t len = 0;
        m->chal_posts++;
        if (m->store->load(m->store, p, ACME_SG_CHALLENGES, "mock.example",
                           apr_psprintf(p, "http-01.tok%d", n), &data, &len) == APR_SUCCESS
            && !strncmp(data, apr_psprintf(p, "tok%d.", n), 4)) {
            m->chal_item_seen++;
        }
        m->authz_status[n] = m->fail_challenge ? 2 : 1;
        if (m->cancel_on_chal) *m->cancel_on_chal = 1;
        r = json_resp(p, 200, mock_challenge_json(p, m, n));
    }
    else if (n && !strcmp(what, "finalize")) {
        mock_issue(p, m, n, payload);
        r = json_resp(p, 200, mock_order_json(p, m, n));
    }
    else if (!strcmp(path, "/revoke")) {
        json_int_t reason = -1;
        if (acme_json_parse(p, payload, strlen(payload), &j, NULL) == APR_SUCCESS
            && json_is_string(json_object_get(j, "certificate"))) {
            m->revokes++;
            acme_json_get_int(j, "reason", &reason);
            m->revoke_reason = (int)reason;
        }
        r.status = 200;
    }
    else if (n && (!strcmp(what, "cert") || !strcmp(what, "alt")) && m->leaf_pem[n]) {
        const ca_t *top = !strcmp(what, "alt") ? m->alt_inter : m->inter;
        r.status = 200;
        r.ctype = m->bad_cert_type ? "text/html" : "application/pem-certificate-chain";
        r.body = apr_pstrcat(p, m->leaf_pem[n], pem_of_p(p, top->cert), NULL);
        if (!strcmp(what, "cert") && m->alt_inter) {
            r.link = apr_psprintf(p, "<%s>;rel=\"alternate\"", mock_url(p, m, "alt", n));
        }
    }
    else {
        r.status = 404;
        r.ctype = "application/problem+json";
        r.body = "{\"type\":\"urn:ietf:params:acme:error:malformed\",\"detail\":\"no such resource\"}";
    }
    return r;
}

static mock_resp_t mock_get(apr_pool_t *p, mock_t *m, const char *method, const char *path)
{
    mock_resp_t r;
    memset(&r, 0, sizeof(r));
    if (!strcmp(path, "/dir")) {
        json_t *d = json_pack("{s:s,s:s,s:s,s:s,s:s,s:{}}", "newNonce", mock_url(p, m, "nonce", 0),
                              "newAccount", mock_url(p, m, "acct", 0), "newOrder",
                              mock_url(p, m, "new-order", 0), "revokeCert",
                              mock_url(p, m, "revoke", 0), "keyChange", mock_url(p, m, "kc", 0),
                              "meta");
        if (m->ari) json_object_set_new(d, "renewalInfo", json_string(mock_url(p, m, "ri", 0)));
        return json_resp(p, 200, d);
    }
    if (!strcmp(path, "/nonce")) {
        r.status = !strcmp(method, "HEAD") ? 200 : 204;
        return r;
    }
    if (!strncmp(path, "/ri/", 4) && m->ari) {
        apr_time_t now = apr_time_now();
        m->ri_gets++;
        if (m->ari_fail) {
            r.status = 503;
            r.ctype = "application/problem+json";
            r.body = "{\"type\":\"urn:ietf:params:acme:error:serverInternal\",\"detail\":\"busy\"}";
            return r;
        }
        r = json_resp(p, 200, json_pack("{s:{s:s,s:s}}", "suggestedWindow", "start",
                      acme_time_rfc3339(p, now + 2 * DAY), "end", acme_time_rfc3339(p, now + 3 * DAY)));
        r.retry_after = "7200";
        return r;
    }
    r.status = 404;
    return r;
}

/* The JWS payload of a POST body (empty for POST-as-GET). */
static const char *jws_payload(apr_pool_t *p, const char *body, apr_size_t len)
{
    json_t *j = NULL;
    const char *b64 = NULL;
    unsigned char *out = NULL;
    apr_size_t olen = 0;
    if (acme_json_parse(p, body, len, &j, NULL) != APR_SUCCESS
        || acme_json_get_str(j, "payload", &b64) != APR_SUCCESS
        || acme_b64u_decode(p, b64, strlen(b64), &out, &olen) != APR_SUCCESS) {
        return "";
    }
    return (const char *)out;
}

/* Whether a revocation was signed with the account (kid) or a key (jwk). */
static void mock_note_signer(apr_pool_t *p, mock_t *m, const char *body, apr_size_t len)
{
    json_t *j = NULL, *hdr = NULL;
    const char *b64 = NULL;
    unsigned char *out = NULL;
    apr_size_t olen = 0;
    if (acme_json_parse(p, body, len, &j, NULL) != APR_SUCCESS
        || acme_json_get_str(j, "protected", &b64) != APR_SUCCESS
        || acme_b64u_decode(p, b64, strlen(b64), &out, &olen) != APR_SUCCESS
        || acme_json_parse(p, (const char *)out, olen, &hdr, NULL) != APR_SUCCESS) {
        return;
    }
    if (json_object_get(hdr, "kid")) m->revoke_kid++;
    if (json_object_get(hdr, "jwk")) m->revoke_jwk++;
}

static void mock_send(apr_pool_t *p, mock_t *m, apr_socket_t *s, const char *method,
                      const mock_resp_t *r)
{
    const char *body = r->body ? r->body : "";
    char *head = apr_psprintf(p, "HTTP/1.1 %d X\r\nConnection: close\r\nReplay-Nonce: nonce%d\r\n"
                              "Content-Length: %d\r\n%s%s%s%s%s%s%s%s%s\r\n", r->status, ++m->nonce,
                              (int)strlen(body), r->ctype ? "Content-Type: " : "",
                              r->ctype ? r->ctype : "", r->ctype ? "\r\n" : "",
                              r->location ? apr_pstrcat(p, "Location: ", r->location, "\r\n", NULL) : "",
                              r->link ? apr_pstrcat(p, "Link: ", r->link, "\r\n", NULL) : "",
                              r->retry_after ? "Retry-After: " : "",
                              r->retry_after ? r->retry_after : "", r->retry_after ? "\r\n" : "", "");
    char *all = apr_pstrcat(p, head, strcmp(method, "HEAD") ? body : "", NULL);
    apr_size_t len = strlen(all);
    apr_socket_send(s, all, &len);
}

static void mock_handle(mock_t *m, apr_socket_t *s, apr_pool_t *p)
{
    char buf[65536], method[16], path[512];
    apr_size_t used = 0, clen = 0;
    char *end = NULL, *cl;
    mock_resp_t r;

    apr_socket_timeout_set(s, apr_time_from_sec(5));
    while (!end && used < sizeof(buf) - 1) {
        apr_size_t n = sizeof(buf) - 1 - used;
        if (apr_socket_recv(s, buf + used, &n) != APR_SUCCESS && n == 0) return;
        used += n;
        buf[used] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    if (!end || sscanf(buf, "%15s %511s", method, path) != 2) return;
    if ((cl = strcasestr(buf, "Content-Length:"))) clen = (apr_size_t)atol(cl + 15);
    while ((apr_size_t)(used - (end + 4 - buf)) < clen && used < sizeof(buf) - 1) {
        apr_size_t n = sizeof(buf) - 1 - used;
        if (apr_socket_recv(s, buf + used, &n) != APR_SUCCESS && n == 0) return;
        used += n;
        buf[used] = '\0';
    }
    if (!strcmp(method, "POST")) {
        if (!strcmp(path, "/revoke")) mock_note_signer(p, m, end + 4, clen);
        r = mock_post(p, m, path, jws_payload(p, end + 4, clen));
    }
    else {
        r = mock_get(p, m, method, path);
    }
    mock_send(p, m, s, method, &r);
}

static void *APR_THREAD_FUNC mock_run(apr_thread_t *t, void *baton)
{
    mock_t *m = baton;
    (void)t;
    while (!m->stop) {
        apr_socket_t *s = NULL;
        apr_pool_t *rp;
        apr_pool_create(&rp, m->pool);
        if (apr_socket_accept(&s, m->lsock, rp) == APR_SUCCESS) {
            mock_handle(m, s, rp);
            apr_socket_close(s);
        }
        apr_pool_destroy(rp);
    }
    return NULL;
}

static mock_t *mock_start(void)
{
    mock_t *m = apr_pcalloc(pool, sizeof(*m));
    apr_sockaddr_t *sa;
    ca_t *root, *alt_root;
    apr_time_t now = apr_time_now();

    root = make_ca("Test Root", NULL);
    alt_root = make_ca("Alt Root", NULL);
    m->inter = make_ca("Test Inter", root);
    m->alt_inter = apr_pcalloc(pool, sizeof(*m->alt_inter));
    m->alt_inter->key = m->inter->key;
    m->alt_inter->cert = make_cert("Test Inter", NULL, m->inter->key, alt_root, now - DAY,
                                   now + 3650 * DAY, 1);
    acme_cert_wrap(pool, m->alt_inter->cert);
    m->san = "DNS:mock.example";
    m->store = store;
    ck_assert_int_eq(apr_pool_create(&m->pool, NULL), APR_SUCCESS);
    ck_assert_int_eq(apr_sockaddr_info_get(&sa, "127.0.0.1", APR_INET, 0, 0, pool), APR_SUCCESS);
    ck_assert_int_eq(apr_socket_create(&m->lsock, APR_INET, SOCK_STREAM, APR_PROTO_TCP, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(apr_socket_bind(m->lsock, sa), APR_SUCCESS);
    ck_assert_int_eq(apr_socket_listen(m->lsock, 16), APR_SUCCESS);
    ck_assert_int_eq(apr_socket_addr_get(&sa, APR_LOCAL, m->lsock), APR_SUCCESS);
    apr_socket_timeout_set(m->lsock, apr_time_from_msec(100));
    m->base = apr_psprintf(pool, "http://127.0.0.1:%d", (int)sa->port);
    ck_assert_int_eq(apr_thread_create(&m->thread, NULL, mock_run, m, pool), APR_SUCCESS);
    return m;
}

static void mock_stop(mock_t *m)
{
    apr_status_t trv;
    int i;
    m->stop = 1;
    apr_thread_join(&trv, m->thread);
    apr_socket_close(m->lsock);
    for (i = 0; i < MOCK_MAX; ++i) free(m->leaf_pem[i]);
    apr_pool_destroy(m->pool);
}

static acme_domain_t *mock_domain(mock_t *m)
{
    acme_domain_t *d = acme_domain_create(pool, "mock.example");
    apr_array_clear(d->ca_urls);
    APR_ARRAY_PUSH(d->ca_urls, const char *) = apr_pstrcat(pool, m->base, "/dir", NULL);
    d->tos_agreed = 1;
    return d;
}

static acme_drive_env_t mock_env(void)
{
    acme_drive_env_t env = env_make();
    acme_http_opts_t opts;
    memset(&opts, 0, sizeof(opts));
    ck_assert_int_eq(acme_ca_registry_create(pool, &opts, NULL, &env.cas), APR_SUCCESS);
    env.responder = acme_responder_store(pool, store, NULL);
    return env;
}

START_TEST(mock_full_drive)
{
    mock_t *m = mock_start();
    acme_drive_env_t env = mock_env();
    acme_domain_t *d = mock_domain(m);
    acme_drive_result_t res;
    apr_array_header_t *left = NULL;
    const char *why = NULL;
    json_t *st;

    ck_assert_int_eq(acme_drive_run(&env, pool, d, &res), APR_SUCCESS);
    ck_assert(res.staged);
    ck_assert_int_eq(m->new_orders, 1);
    ck_assert_int_eq(m->chal_posts, 1);
    ck_assert_int_eq(m->chal_item_seen, 1);   /* the answer was in the store when the CA looked */
    ck_assert_int_eq(acme_activate_check(store, pool, d, NULL, &why), ACME_STAGED_NEW);
    ck_assert_ptr_null(read_item(ACME_SG_STATE, "mock.example", "order.json"));
    /* challenge answers are gone */
    ck_assert(store->list(store, pool, ACME_SG_CHALLENGES, NULL, &left) != APR_SUCCESS
              || left->nelts == 0);
    st = status_of("mock.example");
    ck_assert_str_eq(json_string_value(json_object_get(st, "state")), "valid");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(st, "renewal"), "source")),
                     "window");
    ck_assert_ptr_nonnull(json_object_get(st, "last_success"));
    /* staged and waiting: no new drive */
    ck_assert_int_eq(acme_drive_needed(&env, pool, d, apr_time_now(), &why), 0);
    ck_assert_ptr_nonnull(strstr(why, "staged"));
    /* activated by the parent: the next look removes the staged copy */
    activate_staged(d);
    ck_assert_int_eq(acme_drive_needed(&env, pool, d, apr_time_now(), &why), 0);
    ck_assert_ptr_null(read_item(ACME_SG_STAGING, "mock.example", "meta.json"));
    mock_stop(m);
}
END_TEST

START_TEST(mock_resume_same_order)
{
    mock_t *m = mock_start();
    acme_drive_env_t env = mock_env();
    acme_domain_t *d = mock_domain(m);
    acme_drive_result_t res;
    volatile int cancel = 0;
    const char *saved;

    env.cancel = &cancel;
    m->cancel_on_chal = &cancel;   /* stop right after answering the challenge */
    ck_assert_int_eq(acme_drive_run(&env, pool, d, &res), APR_EINTR);
    ck_assert(!res.staged && !res.error);
    saved = read_item(ACME_SG_STATE, "mock.example", "order.json");
    ck_assert_ptr_nonnull(saved);
    ck_assert_ptr_nonnull(strstr(saved, "/order/1"));
    ck_assert_ptr_null(read_item(ACME_SG_STAGING, "mock.example", "meta.json"));

    m->cancel_on_chal = NULL;
    cancel = 0;
    ck_assert_int_eq(acme_drive_run(&env, pool, d, &res), APR_SUCCESS);
    ck_assert(res.staged);
    ck_assert_int_eq(m->new_orders, 1);     /* resumed, not re-ordered */
    ck_assert_int_eq(m->chal_posts, 1);     /* the authz was valid already */
    ck_assert_int_eq(m->finalizes, 1);
    mock_stop(m);
}
END_TEST

/* Once its authorization is valid the order is read again at once, before
 * any poll delay: the cancel raised with the challenge is only noticed after. */
START_TEST(mock_pending_order_read_again_at_once)
{
    mock_t *m = mock_start();
    acme_drive_env_t env = mock_env();
    acme_drive_result_t res;
    volatile int cancel = 0;

    env.cancel = &cancel;
    m->cancel_on_chal = &cancel;
    ck_assert_int_eq(acme_drive_run(&env, pool, mock_domain(m), &res), APR_EINTR);
    ck_assert_int_eq(m->chal_posts, 1);
    ck_assert_int_eq(m->order_reads, 1);
    ck_assert_int_eq(m->finalizes, 0);
    mock_stop(m);
}
END_TEST

/* ---- which writes are made durable ---- */

#define REC_MAX 64
typedef struct {
    acme_store_group_e g;
    char item[64];
    int flags, has_key, finalized;
} rec_save_t;

static struct {
    acme_store_t *inner;
    rec_save_t saves[REC_MAX];
    int n;
} rec;

static apr_status_t rec_save(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                             const char *entry, const char *item, const void *data,
                             apr_size_t len, int flags, const acme_store_lock_t *fence)
{
    (void)s;
    if (rec.n < REC_MAX) {
        rec_save_t *r = &rec.saves[rec.n++];
        const char *text = apr_pstrmemdup(p, data, len);
        r->g = g;
        apr_cpystrn(r->item, item ? item : "", sizeof(r->item));
        r->flags = flags;
        r->has_key = strstr(text, "\"key\"") != NULL;
        r->finalized = strstr(text, "\"finalized\"") != NULL;
    }
    return rec.inner->save(rec.inner, p, g, entry, item, data, len, flags, fence);
}

/* fsync is kept for what a power cut would cost a certificate or an account:
 * the account key, order progress while it holds a certificate key, the
 * staged set. Challenge answers, status and the bare order URL are atomic only. */
START_TEST(mock_durability_policy)
{
    mock_t *m = mock_start();
    acme_drive_env_t env = mock_env();
    acme_store_t recording = *store;
    acme_drive_result_t res;
    int i, key_durable = 0, finalized_durable = 0, staged = 0, challenges = 0;

    memset(&rec, 0, sizeof(rec));
    rec.inner = store;
    recording.save = rec_save;
    env.store = &recording;
    env.responder = acme_responder_store(pool, &recording, NULL);
    ck_assert_int_eq(acme_drive_run(&env, pool, mock_domain(m), &res), APR_SUCCESS);
    ck_assert(res.staged);
    ck_assert_int_lt(rec.n, REC_MAX);
    for (i = 0; i < rec.n; ++i) {
        const rec_save_t *r = &rec.saves[i];
        int durable = !(r->flags & ACME_STORE_REGENERABLE);
        switch (r->g) {
        case ACME_SG_ACCOUNTS:
        case ACME_SG_STAGING:
            ck_assert_msg(durable, "%s must be durable", r->item);
            staged += r->g == ACME_SG_STAGING;
            break;
        case ACME_SG_CHALLENGES:
            ck_assert_msg(!durable, "challenge %s needs no fsync", r->item);
            challenges++;
            break;
        default:
            ck_assert_int_eq(r->g, ACME_SG_STATE);
            if (!strcmp(r->item, "order.json")) {
                ck_assert(r->flags & ACME_STORE_PRIVATE);
                /* durable exactly while it holds a certificate key */
                ck_assert_int_eq(durable, r->has_key);
                key_durable += durable;
                finalized_durable += durable && r->finalized;
            }
            else {
                ck_assert_msg(!durable, "%s needs no fsync", r->item);
            }
        }
        if (r->g != ACME_SG_STATE && strstr(r->item, "key")) {
            ck_assert(r->flags & ACME_STORE_PRIVATE);
        }
    }
    ck_assert_int_ge(key_durable, 3);       /* key, finalized, chain */
    ck_assert_int_ge(finalized_durable, 1);
    ck_assert_int_ge(staged, 4);
    ck_assert_int_eq(challenges, 1);
    mock_stop(m);
}
END_TEST

START_TEST(mock_challenge_failure_then_new_order)
{
    mock_t *m = mock_start();
    acme_drive_env_t env = mock_env();
    acme_domain_t *d = mock_domain(m);
    acme_drive_result_t res;
    json_t *st, *err;

    m->fail_challenge = 1;
    ck_assert_int_ne(acme_drive_run(&env, pool, d, &res), APR_SUCCESS);
    ck_assert_ptr_nonnull(res.error);
    st = status_of("mock.example");
    err = json_object_get(st, "last_error");
    ck_assert_str_eq(json_string_value(json_object_get(err, "type")),
                     "urn:ietf:params:acme:error:connection");
    ck_assert_str_eq(json_string_value(json_object_get(err, "detail")), "connection refused");
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(err, "hint")),
                                 "http://mock.example/.well-known/acme-challenge/tok1"));
    ck_assert_int_eq(json_integer_value(json_object_get(st, "failures")), 1);

    /* the next attempt finds the saved order invalid and orders afresh */
    m->fail_challenge = 0;
    ck_assert_int_eq(acme_drive_run(&env, pool, d, &res), APR_SUCCESS);
    ck_assert_int_eq(m->new_orders, 2);
    st = status_of("mock.example");
    ck_assert_int_eq(json_integer_value(json_object_get(st, "failures")), 0);
    ck_assert_ptr_null(json_object_get(st, "last_error"));
    mock_stop(m);
}
END_TEST

/* A CA that answers with authorizations for other names (or hostile
 * strings) gets nothing: no challenge answer written, no challenge POSTed,
 * a clear error. */
START_TEST(mock_foreign_identifier_refused)
{
    const char *values[] = { "victim.example", "mock.example\nupdate add evil 60 TXT x",
                             NULL, NULL };
    char longname[300];
    int i;

    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    values[2] = longname;
    for (i = 0; values[i]; ++i) {
        mock_t *m = mock_start();
        acme_drive_env_t env = mock_env();
        acme_domain_t *d = mock_domain(m);
        acme_drive_result_t res;
        apr_array_header_t *left = NULL;
        json_t *err;

        m->authz_value = values[i];
        ck_assert_int_ne(acme_drive_run(&env, pool, d, &res), APR_SUCCESS);
        ck_assert(!res.staged);
        ck_assert_int_eq(m->chal_posts, 0);
        ck_assert(store->list(store, pool, ACME_SG_CHALLENGES, NULL, &left) != APR_SUCCESS
                  || left->nelts == 0);
        err = json_object_get(status_of("mock.example"), "last_error");
        ck_assert_str_eq(json_string_value(json_object_get(err, "type")),
                         "urn:mod_acme:badIdentifier");
        ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(err, "detail")),
                                     "not one of the ordered identifiers"));
        ck_assert_ptr_null(strchr(json_string_value(json_object_get(err, "detail")), '\n'));
        mock_stop(m);
    }
}
END_TEST

START_TEST(mock_authz_reuse_and_preferred_chain)
{
    mock_t *m = mock_start();
    acme_drive_env_t env = mock_env();
    acme_domain_t *d = mock_domain(m);
    acme_drive_result_t res;
    apr_array_header_t *certs = NULL;
    acme_cert_info_t *info = NULL;
    const char *chain;

    m->authz_valid = 1;
    d->preferred_chain = "Alt Root";
    ck_assert_int_eq(acme_drive_run(&env, pool, d, &res), APR_SUCCESS);
    ck_assert_int_eq(m->chal_posts, 0);
    chain = read_item(ACME_SG_STAGING, "mock.example", "fullchain.pem");
    ck_assert_int_eq(acme_certs_from_pem(pool, chain, strlen(chain), &certs), APR_SUCCESS);
    ck_assert_int_eq(acme_cert_info(pool, APR_ARRAY_IDX(certs, certs->nelts - 1, acme_cert_t *),
                                    &info), APR_SUCCESS);
    ck_assert_str_eq(info->issuer_cn, "Alt Root");
    mock_stop(m);
}
END_TEST

START_TEST(mock_ari_schedule_and_replaces)
{
    mock_t *m = mock_start();
    acme_drive_env_t env = mock_env();
    acme_domain_t *d = mock_domain(m);
    acme_drive_result_t res;
    apr_array_header_t *certs = NULL;
    const char *why = NULL, *id = NULL, *chain;
    apr_time_t at = 0, now = apr_time_now();
    json_t *st, *ren;

    m->ari = 1;
    ck_assert_int_eq(acme_drive_run(&env, pool, d, &res), APR_SUCCESS);
    ck_assert_str_eq(m->replaces[1], "");
    ck_assert_int_eq(m->ri_gets, 1);
    st = status_of("mock.example");
    ren = json_object_get(st, "renewal");
    ck_assert_str_eq(json_string_value(json_object_get(ren, "source")), "ari");
    ck_assert_int_eq(acme_time_parse_rfc3339(json_string_value(json_object_get(ren, "at")), &at),
                     APR_SUCCESS);
    ck_assert(at >= now + 2 * DAY - apr_time_from_sec(5) && at <= now + 3 * DAY + apr_time_from_sec(5));

    /* activation (what the parent does), then the schedule comes from status.json */
    activate_staged(d);
    ck_assert_int_eq(acme_drive_needed(&env, pool, d, now, &why), 0);
    ck_assert_ptr_nonnull(strstr(why, "(ari)"));
    ck_assert_int_eq(m->ri_gets, 1);        /* Retry-After not yet passed */
    /* the watchdog's pass sends nothing: after Retry-After only the CA can tell */
    env.no_ca_requests = 1;
    ck_assert_int_eq(acme_drive_needed(&env, pool, d, now + 3 * 3600 * APR_USEC_PER_SEC, &why),
                     ACME_DRIVE_ASK_CA);
    ck_assert_int_eq(acme_drive_needed(&env, pool, d, now, &why), 0);
    ck_assert_int_eq(m->ri_gets, 1);
    env.no_ca_requests = 0;
    ck_assert_int_eq(acme_drive_needed(&env, pool, d, now + 3 * 3600 * APR_USEC_PER_SEC, &why), 0);
    ck_assert_int_eq(m->ri_gets, 2);        /* asked, the new window is still ahead */
    ck_assert_int_eq(acme_drive_needed(&env, pool, d, now + 4 * DAY, &why), 1);

    /* renewal replaces the active certificate */
    chain = read_item(ACME_SG_DOMAINS, "mock.example", "fullchain.pem");
    ck_assert_int_eq(acme_certs_from_pem(pool, chain, strlen(chain), &certs), APR_SUCCESS);
    ck_assert_int_eq(acme_cert_ari_id(pool, APR_ARRAY_IDX(certs, 0, acme_cert_t *), &id),
                     APR_SUCCESS);
    put(ACME_SG_STATE, "mock.example", "renew", "", 0);
    ck_assert_int_eq(acme_drive_run(&env, pool, d, &res), APR_SUCCESS);
    ck_assert_int_eq(m->new_orders, 2);
    ck_assert_str_eq(m->replaces[2], id);
    ck_assert_ptr_null(read_item(ACME_SG_STATE, "mock.example", "renew"));
    mock_stop(m);
}
END_TEST

START_TEST(mock_ari_failure_falls_back_to_window)
{
    mock_t *m = mock_start();
    acme_drive_env_t env = mock_env();
    acme_domain_t *d = mock_domain(m);
    acme_drive_result_t res;
    const char *why = NULL;
    json_t *st;

    m->ari = 1;
    m->ari_fail = 1;
    ck_assert_int_eq(acme_drive_run(&env, pool, d, &res), APR_SUCCESS);
    activate_staged(d);
    st = status_of("mock.example");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(st, "renewal"), "source")),
                     "window");
    ck_assert_ptr_nonnull(json_object_get(json_object_get(st, "ari"), "retry_after"));
    /* not asked again before its retry time; asked again after it */
    ck_assert_int_eq(acme_drive_needed(&env, pool, d, apr_time_now(), &why), 0);
    ck_assert_ptr_nonnull(strstr(why, "(window)"));
    ck_assert_int_eq(m->ri_gets, 1);
    m->ari_fail = 0;
    ck_assert_int_eq(acme_drive_needed(&env, pool, d, apr_time_now() + apr_time_from_sec(7200),
                                       &why), 0);
    ck_assert_ptr_nonnull(strstr(why, "(ari)"));
    ck_assert_int_eq(m->ri_gets, 2);
    mock_stop(m);
}
END_TEST

START_TEST(mock_revoke_by_account_and_by_key)
{
    mock_t *m = mock_start();
    acme_drive_env_t env = mock_env();
    acme_domain_t *d = mock_domain(m);
    acme_drive_result_t res;
    apr_array_header_t *certs = NULL;
    acme_account_t *acct = NULL;
    acme_problem_t *prob = NULL;
    acme_key_t *key = NULL;
    acme_ca_t *ca = NULL;
    const char *chain, *kpem;
    const acme_cert_t *leaf;

    ck_assert_int_eq(acme_drive_run(&env, pool, d, &res), APR_SUCCESS);
    chain = read_item(ACME_SG_STAGING, "mock.example", "fullchain.pem");
    kpem = read_item(ACME_SG_STAGING, "mock.example", "privkey.pem");
    ck_assert_int_eq(acme_certs_from_pem(pool, chain, strlen(chain), &certs), APR_SUCCESS);
    leaf = APR_ARRAY_IDX(certs, 0, acme_cert_t *);
    ck_assert_int_eq(acme_key_from_pem(pool, kpem, strlen(kpem), &key), APR_SUCCESS);
    ck_assert_int_eq(acme_ca_registry_get(env.cas, APR_ARRAY_IDX(d->ca_urls, 0, const char *),
                                          &ca), APR_SUCCESS);
    ck_assert_int_eq(acme_account_load(store, pool, ca, &acct), APR_SUCCESS);

    ck_assert_int_eq(acme_cert_revoke(ca, pool, leaf, 4, acct, NULL, &prob), APR_SUCCESS);
    ck_assert_int_eq(m->revokes, 1);
    ck_assert_int_eq(m->revoke_kid, 1);
    ck_assert_int_eq(m->revoke_reason, 4);
    ck_assert_int_eq(acme_cert_revoke(ca, pool, leaf, -1, NULL, key, &prob), APR_SUCCESS);
    ck_assert_int_eq(m->revokes, 2);
    ck_assert_int_eq(m->revoke_jwk, 1);
    ck_assert_int_eq(m->revoke_reason, -1);
    ck_assert_int_ne(acme_cert_revoke(ca, pool, leaf, 1, NULL, NULL, &prob), APR_SUCCESS);
    mock_stop(m);
}
END_TEST

START_TEST(mock_wrong_certificate_type_fails_cleanly)
{
    mock_t *m = mock_start();
    acme_drive_env_t env = mock_env();
    acme_domain_t *d = mock_domain(m);
    acme_drive_result_t res;
    json_t *st;

    m->bad_cert_type = 1;
    ck_assert_int_ne(acme_drive_run(&env, pool, d, &res), APR_SUCCESS);
    ck_assert_ptr_nonnull(res.error);
    ck_assert_ptr_nonnull(strstr(res.error->detail, "content type"));
    ck_assert_ptr_null(read_item(ACME_SG_STAGING, "mock.example", "meta.json"));
    st = status_of("mock.example");
    ck_assert_str_eq(json_string_value(json_object_get(st, "state")), "error");
    /* the order (and its key) is kept: the next attempt only downloads again */
    m->bad_cert_type = 0;
    ck_assert_int_eq(acme_drive_run(&env, pool, d, &res), APR_SUCCESS);
    ck_assert_int_eq(m->new_orders, 1);
    ck_assert_int_eq(m->finalizes, 1);
    mock_stop(m);
}
END_TEST

START_TEST(mock_failover_to_second_ca)
{
    mock_t *m = mock_start();
    acme_drive_env_t env = mock_env();
    acme_domain_t *d = mock_domain(m);
    acme_drive_result_t res;
    json_t *st;

    env.ca_failover_after = 1;
    apr_array_clear(d->ca_urls);
    APR_ARRAY_PUSH(d->ca_urls, const char *) = "http://127.0.0.1:1/dir";
    APR_ARRAY_PUSH(d->ca_urls, const char *) = apr_pstrcat(pool, m->base, "/dir", NULL);
    ck_assert_int_ne(acme_drive_run(&env, pool, d, &res), APR_SUCCESS);
    st = status_of("mock.example");
    ck_assert_int_eq(json_integer_value(json_object_get(st, "ca_index")), 1);
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(json_object_get(st,
                                 "last_error"), "hint")), "cannot reach the CA"));
    ck_assert_int_eq(acme_drive_run(&env, pool, d, &res), APR_SUCCESS);
    st = status_of("mock.example");
    ck_assert_str_eq(json_string_value(json_object_get(st, "ca")),
                     APR_ARRAY_IDX(d->ca_urls, 1, const char *));
    ck_assert_str_eq(json_string_value(json_object_get(st, "state")), "valid");
    mock_stop(m);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("drive");
    TCase *tc = tu_tcase(s, "core", 60, setup, teardown);

    tcase_add_test(tc, needed_without_certificate);
    tcase_add_test(tc, needed_follows_window);
    tcase_add_test(tc, needed_marker_staging_backoff_config);
    tcase_add_test(tc, needed_config_hash_of_active_set);
    tcase_add_test(tc, needed_and_run_respect_lock);
    tcase_add_test(tc, renewal_never_missed_fake_clock);
    tcase_add_test(tc, next_look_never_drops_a_past_time);
    tcase_add_test(tc, run_failure_backoff_failover);
    tcase_add_test(tc, ca_outage_one_attempt_per_retry);
    tcase_add_test(tc, store_responder_http01);
    tcase_add_test(tc, store_responder_tlsalpn01);
    tcase_add_test(tc, webroot_responder);
    tcase_add_test(tc, dnscmd_responder);
    tcase_add_test(tc, dnscmd_failure);
    tcase_add_test(tc, dnscmd_arguments_checked);
    tcase_add_test(tc, chain_responder);
    tcase_add_test(tc, order_parse);
    tcase_add_test(tc, authz_parse_and_pick);
    tcase_add_test(tc, authz_ordered_name);
    tcase_add_test(tc, ip_authz_never_dns01);
    tcase_add_test(tc, ari_parse);
    tcase_add_test(tc, mock_full_drive);
    tcase_add_test(tc, mock_pending_order_read_again_at_once);
    tcase_add_test(tc, mock_durability_policy);
    tcase_add_test(tc, mock_resume_same_order);
    tcase_add_test(tc, mock_challenge_failure_then_new_order);
    tcase_add_test(tc, mock_foreign_identifier_refused);
    tcase_add_test(tc, mock_authz_reuse_and_preferred_chain);
    tcase_add_test(tc, mock_ari_schedule_and_replaces);
    tcase_add_test(tc, mock_ari_failure_falls_back_to_window);
    tcase_add_test(tc, mock_revoke_by_account_and_by_key);
    tcase_add_test(tc, mock_wrong_certificate_type_fails_cleanly);
    tcase_add_test(tc, mock_failover_to_second_ca);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
