/* test_json.c: unit tests of pool-owned JSON parsing, dumping and the typed getters. */
#include <stdlib.h>
#include <string.h>
#include "acme_json.h"
#include "testutil.h"

static json_t *parse_ok(const char *s)
{
    json_t *j = NULL;
    const char *err = NULL;

    ck_assert_msg(acme_json_parse(pool, s, strlen(s), &j, &err) == APR_SUCCESS,
                  "parse failed: %s", err ? err : "?");
    return j;
}

START_TEST(parse_object_and_dump)
{
    json_t *j = parse_ok("{ \"a\" : 1, \"b\": [true, null], \"c\": \"x/y\" }");

    ck_assert_str_eq(acme_json_dump(pool, j, 0), "{\"a\":1,\"b\":[true,null],\"c\":\"x/y\"}");
    ck_assert_str_eq(acme_json_dump(pool, j, JSON_SORT_KEYS), "{\"a\":1,\"b\":[true,null],\"c\":\"x/y\"}");
    ck_assert(acme_json_dump(pool, NULL, 0) == NULL);
    parse_ok("[1,2,3]");
}
END_TEST

START_TEST(parse_not_nul_terminated)
{
    const char buf[] = "{\"k\":\"v\"}GARBAGE";
    json_t *j;

    ck_assert_int_eq(acme_json_parse(pool, buf, 9, &j, NULL), APR_SUCCESS);
    ck_assert_int_eq(acme_json_parse(pool, buf, sizeof(buf) - 1, &j, NULL), APR_EINVAL);
}
END_TEST

START_TEST(parse_rejects)
{
    static const char *bad[] = {
        "", "   ", "\"string\"", "42", "true", "null",  /* not object/array at top */
        "{\"a\":1,\"a\":2}",                              /* duplicate keys */
        "{\"a\":\"x\\u0000y\"}",                           /* escaped NUL */
        "{\"a\":1", "{\"a\":1}}", "{a:1}", "[1,]", "{\"a\":01}", "{'a':1}",
        "{\"a\":\"\xff\"}",                                /* invalid UTF-8 */
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *j = NULL;
        const char *err = NULL;
        ck_assert_msg(acme_json_parse(pool, bad[i], strlen(bad[i]), &j, &err) == APR_EINVAL,
                      "accepted '%s'", bad[i]);
        ck_assert(j == NULL);
        ck_assert(err != NULL && strstr(err, "line") != NULL);
    }
}
END_TEST

START_TEST(parse_rejects_raw_nul)
{
    const char buf[] = "{\"a\":\"x\0y\"}";
    json_t *j;

    ck_assert_int_eq(acme_json_parse(pool, buf, sizeof(buf) - 1, &j, NULL), APR_EINVAL);
    ck_assert_int_eq(acme_json_parse(pool, NULL, 0, &j, NULL), APR_EINVAL);
}
END_TEST

START_TEST(getters_typed)
{
    json_t *j = parse_ok("{\"s\":\"str\",\"i\":-7,\"b\":false,\"o\":{\"x\":1},\"a\":[],\"n\":null,\"f\":1.5}");
    const char *s;
    json_int_t i;
    int b;
    json_t *o;

    ck_assert_int_eq(acme_json_get_str(j, "s", &s), APR_SUCCESS);
    ck_assert_str_eq(s, "str");
    ck_assert_int_eq(acme_json_get_int(j, "i", &i), APR_SUCCESS);
    ck_assert_int_eq(i, -7);
    ck_assert_int_eq(acme_json_get_bool(j, "b", &b), APR_SUCCESS);
    ck_assert_int_eq(b, 0);
    ck_assert_int_eq(acme_json_get_obj(j, "o", &o), APR_SUCCESS);
    ck_assert(json_is_object(o));
    ck_assert_int_eq(acme_json_get_arr(j, "a", &o), APR_SUCCESS);
    ck_assert(json_is_array(o));
}
END_TEST

START_TEST(getters_missing_and_mistyped)
{
    json_t *j = parse_ok("{\"s\":\"str\",\"i\":-7,\"b\":false,\"o\":{},\"a\":[],\"n\":null,\"f\":1.5}");
    json_t *arr = parse_ok("[1]");
    const char *s = "unchanged";
    json_int_t i;
    int b;
    json_t *o;

    ck_assert_int_eq(acme_json_get_str(j, "missing", &s), APR_NOTFOUND);
    ck_assert_int_eq(acme_json_get_str(j, "i", &s), APR_EINVAL);
    ck_assert_int_eq(acme_json_get_str(j, "n", &s), APR_EINVAL);
    ck_assert_int_eq(acme_json_get_int(j, "s", &i), APR_EINVAL);
    ck_assert_int_eq(acme_json_get_int(j, "f", &i), APR_EINVAL);
    ck_assert_int_eq(acme_json_get_int(j, "missing", &i), APR_NOTFOUND);
    ck_assert_int_eq(acme_json_get_bool(j, "i", &b), APR_EINVAL);
    ck_assert_int_eq(acme_json_get_bool(j, "missing", &b), APR_NOTFOUND);
    ck_assert_int_eq(acme_json_get_obj(j, "a", &o), APR_EINVAL);
    ck_assert_int_eq(acme_json_get_obj(j, "missing", &o), APR_NOTFOUND);
    ck_assert_int_eq(acme_json_get_arr(j, "o", &o), APR_EINVAL);
    ck_assert_int_eq(acme_json_get_arr(j, "missing", &o), APR_NOTFOUND);
    /* Not an object at all, or no object. */
    ck_assert_int_eq(acme_json_get_str(arr, "s", &s), APR_NOTFOUND);
    ck_assert_int_eq(acme_json_get_str(NULL, "s", &s), APR_NOTFOUND);
    ck_assert_str_eq(s, "unchanged");
}
END_TEST

START_TEST(optional_string)
{
    json_t *j = parse_ok("{\"s\":\"v\",\"i\":1}");
    const char *s = "x";

    ck_assert_int_eq(acme_json_opt_str(j, "s", &s), APR_SUCCESS);
    ck_assert_str_eq(s, "v");
    ck_assert_int_eq(acme_json_opt_str(j, "missing", &s), APR_SUCCESS);
    ck_assert(s == NULL);
    ck_assert_int_eq(acme_json_opt_str(j, "i", &s), APR_EINVAL);
}
END_TEST

START_TEST(own_releases_at_cleanup)
{
    apr_pool_t *sub;
    json_t *j = json_object();

    json_incref(j);
    apr_pool_create(&sub, pool);
    ck_assert(acme_json_own(sub, j) == j);
    ck_assert_int_eq(j->refcount, 2);
    apr_pool_destroy(sub);
    ck_assert_int_eq(j->refcount, 1);
    json_decref(j);
    ck_assert(acme_json_own(pool, NULL) == NULL);
}
END_TEST

START_TEST(deep_nesting_fails_cleanly)
{
    apr_size_t depth = 100000, i;
    char *s = apr_palloc(pool, 2 * depth + 1);
    json_t *j;

    for (i = 0; i < depth; i++) {
        s[i] = '[';
        s[depth + i] = ']';
    }
    s[2 * depth] = '\0';
    ck_assert_int_eq(acme_json_parse(pool, s, 2 * depth, &j, NULL), APR_EINVAL);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("json");
    TCase *tc = tu_tcase(s, "core", 0, tu_setup, tu_teardown);

    tcase_add_test(tc, parse_object_and_dump);
    tcase_add_test(tc, parse_not_nul_terminated);
    tcase_add_test(tc, parse_rejects);
    tcase_add_test(tc, parse_rejects_raw_nul);
    tcase_add_test(tc, getters_typed);
    tcase_add_test(tc, getters_missing_and_mistyped);
    tcase_add_test(tc, optional_string);
    tcase_add_test(tc, own_releases_at_cleanup);
    tcase_add_test(tc, deep_nesting_fails_cleanly);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
