/* test_metrics.c: unit tests for the counters (CA requests by endpoint, drives, activations, merging into saved counters) and their Prometheus text exposition. */
#include <string.h>

#include <apr_strings.h>

#include "acme_json.h"
#include "acme_metrics.h"
#include "testutil.h"

static json_t *parse(const char *text)
{
    json_t *j = NULL;
    const char *err = NULL;

    ck_assert_msg(acme_json_parse(pool, text, strlen(text), &j, &err) == APR_SUCCESS, "%s", err);
    return j;
}

static json_int_t count(const json_t *merged, const char *ca, const char *ep, const char *cls)
{
    return json_integer_value(json_object_get(json_object_get(json_object_get(
        json_object_get(merged, "ca_requests"), ca), ep), cls));
}

#define CA "https://ca.test/dir"

START_TEST(endpoints)
{
    acme_metrics_t *m;
    acme_ca_observer_t obs;
    json_t *merged, *order, *authz;
    int changed = 0;

    ck_assert_int_eq(acme_metrics_create(pool, &m), APR_SUCCESS);
    acme_metrics_ca_observer(m, &obs);
    obs.request(obs.baton, CA, CA, "directory", 200);
    obs.request(obs.baton, CA, "https://ca.test/new-order", "newOrder", 201);
    order = parse("{\"status\":\"pending\",\"finalize\":\"https://ca.test/fin/1\","
                  "\"authorizations\":[\"https://ca.test/authz/1\",\"https://ca.test/authz/2\"],"
                  "\"identifiers\":[]}");
    obs.object(obs.baton, "https://ca.test/new-order", "https://ca.test/order/1", order);
    authz = parse("{\"status\":\"pending\",\"challenges\":[{\"type\":\"http-01\","
                  "\"url\":\"https://ca.test/chall/1\",\"token\":\"t\"}]}");
    obs.object(obs.baton, "https://ca.test/authz/1", NULL, authz);
    obs.request(obs.baton, CA, "https://ca.test/authz/2", NULL, 200);
    obs.request(obs.baton, CA, "https://ca.test/chall/1", NULL, 200);
    obs.request(obs.baton, CA, "https://ca.test/order/1", NULL, 200);
    obs.request(obs.baton, CA, "https://ca.test/fin/1", NULL, 403);
    obs.request(obs.baton, CA, "https://ca.test/fin/1", NULL, 0);
    obs.request(obs.baton, CA, "https://ca.test/somewhere", NULL, 503);
    merged = acme_metrics_merge(m, pool, NULL, &changed);
    ck_assert_int_eq(changed, 1);
    ck_assert_int_eq(count(merged, CA, "directory", "2xx"), 1);
    ck_assert_int_eq(count(merged, CA, "newOrder", "2xx"), 1);
    ck_assert_int_eq(count(merged, CA, "authz", "2xx"), 1);
    ck_assert_int_eq(count(merged, CA, "challenge", "2xx"), 1);
    ck_assert_int_eq(count(merged, CA, "order", "2xx"), 1);
    ck_assert_int_eq(count(merged, CA, "finalize", "4xx"), 1);
    ck_assert_int_eq(count(merged, CA, "finalize", "error"), 1);
    ck_assert_int_eq(count(merged, CA, "other", "5xx"), 1);
    /* nothing new: nothing to save */
    acme_metrics_merge(m, pool, merged, &changed);
    ck_assert_int_eq(changed, 0);
}
END_TEST

START_TEST(merge_adds_up)
{
    acme_metrics_t *m;
    acme_ca_observer_t obs;
    json_t *saved, *merged, *h;
    int changed;

    ck_assert_int_eq(acme_metrics_create(pool, &m), APR_SUCCESS);
    acme_metrics_ca_observer(m, &obs);
    saved = parse("{\"ca_requests\":{\"" CA "\":{\"newOrder\":{\"2xx\":5}}},"
                  "\"drives\":{\"success\":{\"buckets\":[1,0,0,0,0,0,0,0,0,0],\"sum\":0.5,"
                  "\"count\":1}},\"activations\":{\"a.test\":{\"count\":2,\"serial\":\"aa\"}}}");
    acme_metrics_restore(m, saved);
    obs.request(obs.baton, CA, "https://ca.test/new-order", "newOrder", 201);
    acme_metrics_drive(m, apr_time_from_msec(500), 1);
    acme_metrics_drive(m, apr_time_from_sec(45), 1);
    acme_metrics_drive(m, apr_time_from_sec(4000), 0);
    acme_metrics_active(m, "a.test", "aa");         /* seen before: no activation */
    acme_metrics_active(m, "a.test", "bb");
    acme_metrics_active(m, "b.test", "cc");
    merged = acme_metrics_merge(m, pool, saved, &changed);
    ck_assert_int_eq(count(merged, CA, "newOrder", "2xx"), 6);
    h = json_object_get(json_object_get(merged, "drives"), "success");
    ck_assert_int_eq(json_integer_value(json_object_get(h, "count")), 3);
    ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(h, "buckets"), 0)), 2);
    ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(h, "buckets"), 5)), 1);
    ck_assert(json_real_value(json_object_get(h, "sum")) > 45.9);
    h = json_object_get(json_object_get(merged, "drives"), "failure");
    ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(h, "buckets"), 9)), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(json_object_get(
        merged, "activations"), "a.test"), "count")), 3);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(json_object_get(
        merged, "activations"), "a.test"), "serial")), "bb");
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(json_object_get(
        merged, "activations"), "b.test"), "count")), 1);
    /* a saved file that is not ours starts over instead of failing */
    merged = acme_metrics_merge(m, pool, parse("[1,2]"), &changed);
    ck_assert(json_is_object(json_object_get(merged, "ca_requests")));
}
END_TEST

static const char *STATUS =
    "{\"version\":\"0\",\"domains\":[{\"name\":\"a.test\",\"state\":\"valid\","
    "\"certificates\":[{\"key_type\":\"ec256\",\"not_before\":\"2030-01-01T00:00:00Z\","
    "\"not_after\":\"2030-04-01T00:00:00Z\",\"expiring\":false}],\"staged\":true,"
    "\"renewal\":{\"at\":\"2030-03-01T00:00:00Z\",\"source\":\"window\"},"
    "\"last_success\":\"2030-01-01T00:00:10Z\",\"failures\":0},"
    "{\"name\":\"b.test\",\"state\":\"error\",\"certificates\":[],\"staged\":false,"
    "\"last_error\":{\"type\":\"x\",\"detail\":\"y\",\"at\":\"2030-01-02T00:00:00Z\"},"
    "\"failing_since\":\"2030-01-01T12:00:00Z\",\"failures\":3}],"
    "\"static_certificates\":[{\"file\":\"/etc/ssl/we\\\"ird\\\\name\\n.pem\","
    "\"vhost\":\"s.test:443\",\"not_after\":\"2030-02-01T00:00:00Z\",\"expiring\":true}]}";

static void has(const char *text, const char *line)
{
    ck_assert_msg(strstr(text, line) != NULL, "missing: %s\nin:\n%s", line, text);
}

START_TEST(exposition)
{
    acme_metrics_t *m;
    json_t *counters;
    const char *t;

    ck_assert_int_eq(acme_metrics_create(pool, &m), APR_SUCCESS);
    acme_metrics_drive(m, apr_time_from_sec(3), 1);
    acme_metrics_drive(m, apr_time_from_sec(700), 1);
    counters = acme_metrics_merge(m, pool, NULL, NULL);
    t = acme_metrics_text(pool, parse(STATUS), counters);
    has(t, "# TYPE acme_certificate_not_after_seconds gauge\n");
    has(t, "\nacme_certificate_not_after_seconds{domain=\"a.test\",key_type=\"ec256\"} "
           "1901232000\n");
    has(t, "\nacme_domain_state{domain=\"a.test\",state=\"valid\"} 1\n");
    has(t, "\nacme_domain_state{domain=\"a.test\",state=\"error\"} 0\n");
    has(t, "\nacme_domain_state{domain=\"b.test\",state=\"error\"} 1\n");
    has(t, "\nacme_domain_renewal_due_seconds{domain=\"a.test\"} 1898553600\n");
    has(t, "\nacme_domain_last_failure_seconds{domain=\"b.test\"} 1893542400\n");
    has(t, "\nacme_domain_failing_since_seconds{domain=\"b.test\"} 1893499200\n");
    has(t, "\nacme_domain_consecutive_failures{domain=\"b.test\"} 3\n");
    has(t, "\nacme_domain_staged{domain=\"a.test\"} 1\n");
    ck_assert_ptr_null(strstr(t, "acme_domain_last_success_seconds{domain=\"b.test\"}"));
    /* label values escaped: backslash, quote, newline */
    has(t, "\nacme_static_certificate_expiring{file=\"/etc/ssl/we\\\"ird\\\\name\\n.pem\","
           "vhost=\"s.test:443\"} 1\n");
    /* histogram: cumulative, +Inf equals _count */
    has(t, "# TYPE acme_drive_duration_seconds histogram\n");
    has(t, "\nacme_drive_duration_seconds_bucket{result=\"success\",le=\"2\"} 0\n");
    has(t, "\nacme_drive_duration_seconds_bucket{result=\"success\",le=\"5\"} 1\n");
    has(t, "\nacme_drive_duration_seconds_bucket{result=\"success\",le=\"600\"} 1\n");
    has(t, "\nacme_drive_duration_seconds_bucket{result=\"success\",le=\"+Inf\"} 2\n");
    has(t, "\nacme_drive_duration_seconds_count{result=\"success\"} 2\n");
    has(t, "\nacme_drive_duration_seconds_sum{result=\"success\"} 703.000000\n");
    has(t, "\nacme_drive_duration_seconds_count{result=\"failure\"} 0\n");
    ck_assert_int_eq(t[strlen(t) - 1], '\n');
    /* without counters (no drive yet) the families are there, empty */
    t = acme_metrics_text(pool, parse(STATUS), NULL);
    has(t, "# TYPE acme_ca_requests_total counter\n");
    has(t, "# TYPE acme_activations_total counter\n");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tu_tcase(s, "metrics", 0, tu_setup, tu_teardown);

    tcase_add_test(tc, endpoints);
    tcase_add_test(tc, merge_adds_up);
    tcase_add_test(tc, exposition);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
