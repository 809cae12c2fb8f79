/* test_http.c: unit tests of the HTTP client (acme_http.c) against the loopback server: media types, repeated headers, the body limit at its edge, no redirects, the proxy setting and curl's proxy variables, what a POST sends, cancelling a request in flight. */
#define _GNU_SOURCE 1
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include "acme_http.h"
#include "acme_version.h"
#include "testhttp.h"
#include "testutil.h"

static char hundred[101];

/* The replies, by path. */
static void handler(void *baton, int fd, const tu_http_req_t *req)
{
    (void)baton;
    if (!strcmp(req->path, "/json")) {
        tu_http_reply(fd, 200, "Content-Type:  Application/JSON ; charset=UTF-8\r\n", "{}", 2);
    }
    else if (!strcmp(req->path, "/twice")) {
        tu_http_reply(fd, 200, "X-Seen: first\r\nx-seen: second\r\nLink: <https://ca/a>;rel=\"up\""
                      "\r\nLink: <https://ca/b>; rel=\"alternate up\"\r\n", NULL, 0);
    }
    else if (!strcmp(req->path, "/100")) {
        tu_http_reply(fd, 200, NULL, hundred, 100);
    }
    else if (!strcmp(req->path, "/101")) {
        tu_http_reply(fd, 200, NULL, hundred, 101);
    }
    else if (!strcmp(req->path, "/slow")) {
        apr_sleep(apr_time_from_sec(3));
        tu_http_reply(fd, 200, NULL, "late", 4);
    }
    else if (!strcmp(req->path, "/moved")) {
        tu_http_reply(fd, 302, "Location: /json\r\n", NULL, 0);
    }
    else {
        tu_http_reply(fd, 201, "Content-Type: text/plain\r\n", "made", 4);
    }
}

static tu_http_t *srv;

static void setup(void)
{
    tu_setup();
    memset(hundred, 'x', 100);
    hundred[100] = 'y';
    srv = tu_http_start(pool, handler, NULL);
    ck_assert_ptr_nonnull(srv);
}

static void teardown(void)
{
    tu_http_stop(srv);
    tu_teardown();
}

static acme_http_t *client(apr_size_t max_body, const char *proxy)
{
    acme_http_opts_t opts = { 0 };
    acme_http_t *http = NULL;

    opts.max_body = max_body;
    opts.proxy = proxy;
    opts.timeout = apr_time_from_sec(20);
    ck_assert_int_eq(acme_http_create(pool, &opts, NULL, &http), APR_SUCCESS);
    return http;
}

static apr_status_t get(acme_http_t *http, const char *url, acme_http_response_t **resp,
                        const char **err)
{
    return acme_http_request(http, pool, "GET", url, NULL, NULL, 0, resp, err);
}

/* Content-Type is reduced to its media type, lower-cased, for strict checks. */
START_TEST(media_type_only)
{
    acme_http_response_t *resp = NULL;
    const char *err = NULL;

    ck_assert_int_eq(get(client(0, NULL), tu_http_url(srv, pool, "/json"), &resp, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(resp->status, 200);
    ck_assert_str_eq(resp->content_type, "application/json");
    ck_assert_uint_eq(resp->body_len, 2);
    ck_assert_str_eq(resp->body, "{}");
}
END_TEST

/* Every value of a repeated header, in order, whatever the name's case. */
START_TEST(repeated_headers_in_order)
{
    acme_http_response_t *resp = NULL;
    apr_array_header_t *v, *up;
    const char *err = NULL;

    ck_assert_int_eq(get(client(0, NULL), tu_http_url(srv, pool, "/twice"), &resp, &err),
                     APR_SUCCESS);
    v = acme_http_header_values(pool, resp, "X-SEEN");
    ck_assert_int_eq(v->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(v, 0, const char *), "first");
    ck_assert_str_eq(APR_ARRAY_IDX(v, 1, const char *), "second");
    ck_assert_int_eq(acme_http_header_values(pool, resp, "X-Absent")->nelts, 0);
    up = acme_http_links(pool, resp, "up");
    ck_assert_int_eq(up->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(up, 0, const char *), "https://ca/a");
    ck_assert_str_eq(APR_ARRAY_IDX(up, 1, const char *), "https://ca/b");
    ck_assert_int_eq(acme_http_links(pool, resp, "alternate")->nelts, 1);
}
END_TEST

/* max_body bytes pass; one more fails, and the message names the URL. */
START_TEST(body_limit_edge)
{
    acme_http_t *http = client(100, NULL);
    acme_http_response_t *resp = NULL;
    const char *err = NULL, *url = tu_http_url(srv, pool, "/101");

    ck_assert_int_eq(get(http, tu_http_url(srv, pool, "/100"), &resp, &err), APR_SUCCESS);
    ck_assert_uint_eq(resp->body_len, 100);
    ck_assert_int_eq(resp->body[100], '\0');
    ck_assert_int_eq(get(http, url, &resp, &err), APR_ENOSPC);
    ck_assert_ptr_nonnull(strstr(err, url));
    ck_assert_ptr_nonnull(strstr(err, "limit of 100 bytes"));
}
END_TEST

/* A redirect is an answer, never followed: the CA's URLs are checked one by one. */
START_TEST(redirect_not_followed)
{
    acme_http_response_t *resp = NULL;
    const char *err = NULL;

    ck_assert_int_eq(get(client(0, NULL), tu_http_url(srv, pool, "/moved"), &resp, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(resp->status, 302);
    ck_assert_str_eq(apr_table_get(resp->headers, "location"), "/json");
    ck_assert_int_eq(tu_http_count(srv), 1);
}
END_TEST

/* curl's proxy variables are ignored: only ACMEHttpProxy / --http-proxy count. */
START_TEST(proxy_variables_ignored)
{
    static const char *const vars[] = { "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY" };
    acme_http_response_t *resp = NULL;
    const char *err = NULL;
    apr_status_t rv;

    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        setenv(vars[i], "http://127.0.0.1:1", 1);
    }
    rv = get(client(0, NULL), tu_http_url(srv, pool, "/json"), &resp, &err);
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        unsetenv(vars[i]);
    }
    ck_assert_msg(rv == APR_SUCCESS, "%s", err ? err : "?");
    ck_assert_str_eq(tu_http_last(srv, pool)->path, "/json");
}
END_TEST

/* The configured proxy gets the request, with the absolute URL. */
START_TEST(configured_proxy_used)
{
    acme_http_response_t *resp = NULL;
    const char *err = NULL;

    ck_assert_int_eq(get(client(0, tu_http_url(srv, pool, "")), "http://ca.invalid/dir", &resp,
                         &err), APR_SUCCESS);
    ck_assert_int_eq(resp->status, 201);
    ck_assert_str_eq(tu_http_last(srv, pool)->path, "http://ca.invalid/dir");
}
END_TEST

/* A POST carries its body and content type, and mod_acme's User-Agent. */
START_TEST(post_sends_body_and_type)
{
    static const char body[] = "{\"protected\":\"e30\",\"payload\":\"\",\"signature\":\"c2ln\"}";
    acme_http_response_t *resp = NULL;
    const char *err = NULL;
    tu_http_req_t *req;

    ck_assert_int_eq(acme_http_request(client(0, NULL), pool, "POST",
                                       tu_http_url(srv, pool, "/new-order"),
                                       "application/jose+json", body, strlen(body), &resp, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(resp->status, 201);
    ck_assert_str_eq(resp->content_type, "text/plain");
    req = tu_http_last(srv, pool);
    ck_assert_str_eq(req->method, "POST");
    ck_assert_str_eq(req->body, body);
    ck_assert_ptr_nonnull(strcasestr(req->head, "\r\nContent-Type: application/jose+json\r\n"));
    ck_assert_ptr_nonnull(strstr(req->head, "\r\nUser-Agent: " ACME_USER_AGENT));
}
END_TEST

/* A refused connection is an error that names the request. */
START_TEST(refused_connection_named)
{
    acme_http_response_t *resp = NULL;
    const char *err = NULL;

    ck_assert_int_ne(get(client(0, NULL), "http://127.0.0.1:1/dir", &resp, &err), APR_SUCCESS);
    ck_assert_ptr_null(resp);
    ck_assert_ptr_nonnull(strstr(err, "GET http://127.0.0.1:1/dir"));
}
END_TEST

static void *APR_THREAD_FUNC cancel_soon(apr_thread_t *t, void *baton)
{
    apr_sleep(apr_time_from_msec(200));
    *(volatile int *)baton = 1;
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

/* A stopping server (the cancel flag set) ends a read in flight with
 * APR_EINTR instead of waiting for the CA's answer or the timeout; a POST
 * already sent is finished, so no order the CA placed is lost. */
START_TEST(cancel_ends_request_in_flight)
{
    acme_http_opts_t opts = { 0 };
    acme_http_t *http = NULL;
    acme_http_response_t *resp = NULL;
    const char *err = NULL;
    volatile int cancel = 0;
    apr_thread_t *t;
    apr_status_t trv;

    opts.timeout = apr_time_from_sec(20);
    opts.cancel = &cancel;
    ck_assert_int_eq(acme_http_create(pool, &opts, NULL, &http), APR_SUCCESS);
    ck_assert_int_eq(get(http, tu_http_url(srv, pool, "/json"), &resp, &err), APR_SUCCESS);
    ck_assert_int_eq(apr_thread_create(&t, NULL, cancel_soon, (void *)&cancel, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(get(http, tu_http_url(srv, pool, "/slow"), &resp, &err), APR_EINTR);
    apr_thread_join(&trv, t);
    ck_assert_ptr_null(resp);
    ck_assert_ptr_nonnull(strstr(err, "cancelled"));

    /* a POST the server has whole may have been acted on: its answer is awaited */
    cancel = 0;
    ck_assert_int_eq(apr_thread_create(&t, NULL, cancel_soon, (void *)&cancel, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_http_request(http, pool, "POST", tu_http_url(srv, pool, "/slow"),
                                       "application/jose+json", "{}", 2, &resp, &err),
                     APR_SUCCESS);
    apr_thread_join(&trv, t);
    ck_assert_int_eq(cancel, 1);
    ck_assert_int_eq(resp->status, 200);
    ck_assert_str_eq(resp->body, "late");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http");
    TCase *tc = tu_tcase(s, "client", 60, setup, teardown);

    tcase_add_test(tc, media_type_only);
    tcase_add_test(tc, repeated_headers_in_order);
    tcase_add_test(tc, body_limit_edge);
    tcase_add_test(tc, redirect_not_followed);
    tcase_add_test(tc, proxy_variables_ignored);
    tcase_add_test(tc, configured_proxy_used);
    tcase_add_test(tc, post_sends_body_and_type);
    tcase_add_test(tc, refused_connection_named);
    tcase_add_test(tc, cancel_ends_request_in_flight);
    return tu_run(s);
}
