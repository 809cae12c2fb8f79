/* test_record.c: unit tests of the drive's record in the store: status.json read and written as one object, its members, order progress under the domain's lock, acmectl's renew mark and the watchdog's wake-up. */
#include <string.h>
#include <sys/stat.h>

#include <apr_strings.h>

#include "acme_json.h"
#include "acme_record.h"
#include "acme_time.h"
#include "testutil.h"

static acme_store_t *st;

static void setup(void)
{
    tu_setup();
    tu_scratch_create("acme-test-record");
    ck_assert_int_eq(acme_store_file_open(pool, tmpdir, 0, &st), APR_SUCCESS);
}

static void teardown(void)
{
    tu_scratch_remove();
    tu_teardown();
}

static int exists(const char *rel)
{
    struct stat sb;

    return stat(apr_pstrcat(pool, tmpdir, "/", rel, NULL), &sb) == 0;
}

static json_t *parse(const char *text)
{
    return acme_json_own(pool, json_loads(text, 0, NULL));
}

START_TEST(record_load_save)
{
    json_t *rec;

    ck_assert_int_eq(acme_record_load(st, pool, "example.org", &rec), APR_ENOENT);
    ck_assert_ptr_null(rec);
    ck_assert_int_eq(acme_record_save(st, pool, "*.example.org",
                                      parse("{\"state\":\"pending\"}")), APR_SUCCESS);
    ck_assert(exists("state/_.example.org/status.json"));
    ck_assert_int_eq(acme_record_load(st, pool, "*.example.org", &rec), APR_SUCCESS);
    ck_assert_str_eq(json_string_value(json_object_get(rec, "state")), "pending");
    /* anything but an object is no record */
    ck_assert_int_eq(st->save(st, pool, ACME_SG_STATE, "example.org", ACME_RECORD_STATUS_ITEM,
                              "[1]", 3, 0, NULL), APR_SUCCESS);
    ck_assert_int_eq(acme_record_load(st, pool, "example.org", &rec), APR_EINVAL);
    ck_assert_ptr_null(rec);
}
END_TEST

START_TEST(record_members)
{
    apr_time_t t = apr_time_from_sec(1900000000);
    json_t *rec = parse("{\"ca\":\"https://ca.test/dir\",\"renewal\":{\"at\":"
                        "\"2030-03-17T17:46:40Z\",\"source\":\"window\"},"
                        "\"last_error\":{\"detail\":\"x\",\"hint\":\"open port 80\"}}");

    ck_assert_str_eq(acme_record_ca(rec), "https://ca.test/dir");
    ck_assert_str_eq(acme_record_hint(rec), "open port 80");
    ck_assert_int_eq(acme_record_renewal_at(rec), t);
    ck_assert_int_eq(acme_record_next_attempt(rec), 0);
    acme_record_set_next_attempt(pool, rec, t);
    ck_assert_str_eq(json_string_value(json_object_get(rec, "next_attempt")),
                     "2030-03-17T17:46:40Z");
    ck_assert_int_eq(acme_record_next_attempt(rec), t);
    acme_record_set_next_attempt(pool, rec, 0);
    ck_assert_ptr_null(json_object_get(rec, "next_attempt"));
    /* malformed members read as absent */
    rec = parse("{\"ca\":1,\"renewal\":{\"at\":\"soon\"},\"next_attempt\":5,\"last_error\":\"x\"}");
    ck_assert_ptr_null(acme_record_ca(rec));
    ck_assert_ptr_null(acme_record_hint(rec));
    ck_assert_int_eq(acme_record_renewal_at(rec), 0);
    ck_assert_int_eq(acme_record_next_attempt(rec), 0);
    ck_assert_ptr_null(acme_record_ca(NULL));
}
END_TEST

/* Order progress is private, and written only while the domain's lock is held. */
START_TEST(order_progress)
{
    acme_store_lock_t *lk;
    json_t *o;
    struct stat sb;

    ck_assert_int_eq(acme_record_order_load(st, pool, "example.org", &o), APR_ENOENT);
    ck_assert_int_eq(st->lock(st, pool, ACME_SG_STATE, "example.org", 0, &lk), APR_SUCCESS);
    ck_assert_int_eq(acme_record_order_save(st, pool, "example.org", parse("{\"url\":\"u\"}"), 0,
                                            lk), APR_SUCCESS);
    ck_assert_int_eq(stat(apr_pstrcat(pool, tmpdir, "/state/example.org/order.json", NULL), &sb),
                     0);
    ck_assert_int_eq(sb.st_mode & 0777, 0600);
    ck_assert_int_eq(acme_record_order_save(st, pool, "example.org", parse("{\"url\":\"v\"}"), 1,
                                            lk), APR_SUCCESS);
    ck_assert_int_eq(acme_record_order_load(st, pool, "example.org", &o), APR_SUCCESS);
    ck_assert_str_eq(json_string_value(json_object_get(o, "url")), "v");
    st->unlock(lk);
    ck_assert_int_eq(acme_record_order_drop(st, pool, "example.org", lk), ACME_STORE_ELOST);
    ck_assert_int_eq(acme_record_order_load(st, pool, "example.org", &o), APR_SUCCESS);
    ck_assert_int_eq(acme_record_order_drop(st, pool, "example.org", NULL), APR_SUCCESS);
    ck_assert_int_eq(acme_record_order_load(st, pool, "example.org", &o), APR_ENOENT);
}
END_TEST

START_TEST(renew_mark_and_wake)
{
    apr_time_t now = apr_time_from_sec(apr_time_sec(apr_time_now())), w0, w1;

    ck_assert_int_eq(acme_record_renew_at(st, pool, "example.org"), 0);
    w0 = acme_record_last_mark(st, pool);
    ck_assert_int_eq(w0, 0);
    ck_assert_int_eq(acme_record_mark_renew(st, pool, "example.org", now), APR_SUCCESS);
    ck_assert_int_eq(acme_record_renew_at(st, pool, "example.org"), now);
    w1 = acme_record_last_mark(st, pool);
    ck_assert(w1 != 0);
    /* the same mark again still moves the wake-up */
    apr_sleep(apr_time_from_msec(2));
    ck_assert_int_eq(acme_record_mark_renew(st, pool, "example.org", now), APR_SUCCESS);
    ck_assert(acme_record_last_mark(st, pool) != w1);
    acme_record_renew_done(st, pool, "example.org");
    ck_assert_int_eq(acme_record_renew_at(st, pool, "example.org"), 0);
    /* a mark in another format still asks for a renewal */
    ck_assert_int_eq(st->save(st, pool, ACME_SG_STATE, "example.org", ACME_RECORD_RENEW_ITEM,
                              "now\n", 4, 0, NULL), APR_SUCCESS);
    ck_assert(acme_record_renew_at(st, pool, "example.org") > 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("record");
    TCase *tc = tu_tcase(s, "record", 30, setup, teardown);

    tcase_add_test(tc, record_load_save);
    tcase_add_test(tc, record_members);
    tcase_add_test(tc, order_progress);
    tcase_add_test(tc, renew_mark_and_wake);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
