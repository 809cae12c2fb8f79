/* test_ca.c: unit tests of the HTTP client, the CA transport (nonces, problems, directory, signed POSTs) against a forked local HTTP server. */
#define _GNU_SOURCE 1
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <apr_strings.h>
#include "acme_http.h"
#include "acme_ca.h"
#include "acme_base64.h"
#include "acme_json.h"
#include "acme_key.h"
#include "testutil.h"

/* ---- captured log ------------------------------------------------------- */

typedef struct { char text[65536]; size_t len; } logbuf_t;
static logbuf_t logbuf;

static void log_sink(void *baton, acme_log_level_e level, apr_status_t rv, const char *msg)
{
    logbuf_t *lb = baton;
    size_t n = strlen(msg);

    (void)level; (void)rv;
    if (lb->len + n + 2 < sizeof(lb->text)) {
        memcpy(lb->text + lb->len, msg, n);
        lb->len += n;
        lb->text[lb->len++] = '\n';
        lb->text[lb->len] = '\0';
    }
}

static const acme_logger_t test_log = { log_sink, &logbuf, ACME_LOG_TRACE };

/* ---- a tiny HTTP server in a child process ------------------------------- */

static pid_t srv_pid;
static int srv_port;

static void srv_write(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w <= 0) {
            return;
        }
        s += w;
        n -= (size_t)w;
    }
}

static void srv_reply(int fd, const char *status, const char *headers, const char *body)
{
    char head[8192];
    int n = snprintf(head, sizeof(head), "HTTP/1.1 %s\r\nConnection: close\r\n%sContent-Length: %zu\r\n\r\n",
                     status, headers, strlen(body));
    srv_write(fd, head, (size_t)n);
    srv_write(fd, body, strlen(body));
}

/* Reads a request: method, path and body (Content-Length). */
static int srv_read(int fd, char *method, char *path, char *body, size_t bodymax)
{
    static char buf[65536];
    size_t len = 0, clen = 0;
    char *end = NULL, *cl;

    while (!end && len < sizeof(buf) - 1) {
        ssize_t r = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (r <= 0) {
            return -1;
        }
        len += (size_t)r;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    if (!end || sscanf(buf, "%15s %1023s", method, path) != 2) {
        return -1;
    }
    cl = strcasestr(buf, "\r\nContent-Length:");
    if (cl && cl < end) {
        clen = (size_t)strtoul(cl + 17, NULL, 10);
    }
    end += 4;
    len -= (size_t)(end - buf);
    if (clen >= bodymax) {
        return -1;
    }
    memcpy(body, end, len);
    while (len < clen) {
        ssize_t r = read(fd, body + len, clen - len);
        if (r <= 0) {
            return -1;
        }
        len += (size_t)r;
    }
    body[clen] = '\0';
    return 0;
}

static int acct_posts, alwaysbad_posts, dirbad_gets, nonce_heads;

static void srv_directory(int fd, const char *meta)
{
    char body[2048];
    snprintf(body, sizeof(body),
             "{\"newNonce\":\"http://127.0.0.1:%d/nonce\",\"newAccount\":\"http://127.0.0.1:%d/acct\","
             "\"newOrder\":\"http://127.0.0.1:%d/order\",\"keyChange\":\"http://127.0.0.1:%d/kc\""
             "%s}", srv_port, srv_port, srv_port, srv_port, meta);
    srv_reply(fd, "200 OK", "Content-Type: application/json\r\n", body);
}

static void srv_acct(int fd, const char *body)
{
    static char resp[70000];

    if (++acct_posts == 1) {
        srv_reply(fd, "400 Bad Request", "Content-Type: application/problem+json\r\nReplay-Nonce: fresh1\r\n",
                  "{\"type\":\"urn:ietf:params:acme:error:badNonce\",\"detail\":\"stale\"}");
        return;
    }
    snprintf(resp, sizeof(resp), "{\"status\":\"valid\",\"seen\":%s}", body);
    srv_reply(fd, "201 Created", "Content-Type: application/json\r\nReplay-Nonce: after1\r\n"
              "Location: http://127.0.0.1/acct/1\r\n", resp);
}

static void srv_big(int fd, int with_length)
{
    static char big[5001];
    memset(big, 'x', 5000);
    if (with_length) {
        srv_reply(fd, "200 OK", "Content-Type: text/plain\r\n", big);
    }
    else {
        const char *h = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\n";
        srv_write(fd, h, strlen(h));
        srv_write(fd, big, 5000);
    }
}

static void srv_headers_flood(int fd)
{
    const char *h = "HTTP/1.1 200 OK\r\nConnection: close\r\n";
    char line[64];
    int i;

    srv_write(fd, h, strlen(h));
    for (i = 0; i < 300; i++) {
        int n = snprintf(line, sizeof(line), "X-Flood-%d: yes\r\n", i);
        srv_write(fd, line, (size_t)n);
    }
    srv_write(fd, "Content-Length: 0\r\n\r\n", 21);
}

static void srv_route(int fd, const char *method, const char *path, const char *body)
{
    char count[128];

    if (!strcmp(path, "/dir")) {
        srv_directory(fd, ",\"meta\":{\"termsOfService\":\"http://127.0.0.1/tos\","
                          "\"externalAccountRequired\":true,\"profiles\":{\"classic\":\"x\"}}");
    }
    else if (!strcmp(path, "/dir-plain")) {
        srv_directory(fd, "");
    }
    else if (!strcmp(path, "/dir-mixed")) {
        char mixed[512];
        snprintf(mixed, sizeof(mixed), ",\"renewalInfo\":\"https://127.0.0.1:%d/ari\"", srv_port);
        srv_directory(fd, mixed);
    }
    else if (!strcmp(path, "/dir-bad")) {
        ++dirbad_gets;
        srv_reply(fd, "200 OK", "Content-Type: application/json\r\n",
                  "{\"newNonce\":\"http://x/n\",\"newAccount\":\"http://x/a\"}");
    }
    else if (!strcmp(path, "/nonce")) {
        snprintf(count, sizeof(count), "Replay-Nonce: srvnonce%d\r\n", ++nonce_heads);
        srv_reply(fd, !strcmp(method, "HEAD") ? "200 OK" : "204 No Content", count, "");
    }
    else if (!strcmp(path, "/acct")) {
        srv_acct(fd, body);
    }
    else if (!strcmp(path, "/alwaysbad")) {
        ++alwaysbad_posts;
        srv_reply(fd, "400 Bad Request", "Content-Type: application/problem+json\r\nReplay-Nonce: again\r\n",
                  "{\"type\":\"urn:ietf:params:acme:error:badNonce\",\"detail\":\"stale\"}");
    }
    else if (!strcmp(path, "/ratelimit")) {
        srv_reply(fd, "429 Too Many Requests", "Content-Type: application/problem+json\r\nRetry-After: 120\r\n",
                  "{\"type\":\"urn:ietf:params:acme:error:rateLimited\",\"detail\":\"slow down\"}");
    }
    else if (!strcmp(path, "/count")) {
        snprintf(count, sizeof(count), "{\"acct\":%d,\"alwaysbad\":%d,\"dirbad\":%d,\"nonce\":%d}",
                 acct_posts, alwaysbad_posts, dirbad_gets, nonce_heads);
        srv_reply(fd, "200 OK", "Content-Type: application/json; charset=utf-8\r\n", count);
    }
    else if (!strcmp(path, "/big")) {
        srv_big(fd, 1);
    }
    else if (!strcmp(path, "/bigstream")) {
        srv_big(fd, 0);
    }
    else if (!strcmp(path, "/slow")) {
        sleep(3);
        srv_reply(fd, "200 OK", "", "late");
    }
    else if (!strcmp(path, "/flood")) {
        srv_headers_flood(fd);
    }
    else if (!strcmp(path, "/links")) {
        srv_reply(fd, "200 OK", "Link: <http://a/up>;rel=\"up\", <http://a/alt1>; rel=alternate\r\n"
                  "link: <http://a/alt2>; title=\"x, y; z\"; rel=\"alternate index\"\r\n",  "");
    }
    else if (!strcmp(path, "/html")) {
        srv_reply(fd, "502 Bad Gateway", "Content-Type: text/html\r\n", "<html>oops</html>");
    }
    else if (!strcmp(path, "/badjson")) {
        srv_reply(fd, "200 OK", "Content-Type: application/json\r\n", "{\"a\":");
    }
    else if (!strcmp(path, "/texttype")) {
        srv_reply(fd, "200 OK", "Content-Type: text/plain\r\n", "{}");
    }
    else {
        srv_reply(fd, "404 Not Found", "Content-Type: text/plain\r\n", "no");
    }
}

static void srv_loop(int lfd)
{
    static char body[65536];
    char method[16], path[1024];

    alarm(60);  /* never outlive a crashed test */
    signal(SIGPIPE, SIG_IGN);   /* clients that give up early */
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) {
            continue;
        }
        if (srv_read(fd, method, path, body, sizeof(body)) == 0) {
            srv_route(fd, method, path, body);
        }
        close(fd);
    }
}

static void start_server(void)
{
    struct sockaddr_in sa;
    socklen_t slen = sizeof(sa);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);

    ck_assert_int_ge(lfd, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(lfd, 16), 0);
    ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sa, &slen), 0);
    srv_port = ntohs(sa.sin_port);
    srv_pid = fork();
    ck_assert_int_ge(srv_pid, 0);
    if (srv_pid == 0) {
        srv_loop(lfd);
        _exit(0);
    }
    close(lfd);
}

static void stop_server(void)
{
    if (srv_pid > 0) {
        kill(srv_pid, SIGKILL);
        waitpid(srv_pid, NULL, 0);
        srv_pid = 0;
    }
}

static void setup(void)
{
    tu_setup();
    logbuf.len = 0;
    logbuf.text[0] = '\0';
}

static void teardown(void)
{
    stop_server();
    tu_teardown();
}

static const char *url(const char *path)
{
    return apr_psprintf(pool, "http://127.0.0.1:%d%s", srv_port, path);
}

static acme_http_t *make_http(apr_size_t max_body, apr_interval_time_t timeout)
{
    acme_http_opts_t opts;
    acme_http_t *http;

    memset(&opts, 0, sizeof(opts));
    opts.max_body = max_body;
    opts.timeout = timeout;
    ck_assert_int_eq(acme_http_create(pool, &opts, &test_log, &http), APR_SUCCESS);
    return http;
}

static acme_ca_t *make_ca(const char *path)
{
    acme_ca_t *ca;

    ck_assert_int_eq(acme_ca_create(pool, url(path), make_http(0, 0), &test_log, &ca), APR_SUCCESS);
    return ca;
}

/* ---- nonce pool ----------------------------------------------------------- */

START_TEST(nonce_lifo_and_bound)
{
    acme_ca_t *ca;
    const char *n;
    char name[32];
    int i;

    start_server();
    ca = make_ca("/dir");
    acme_ca_nonce_put(ca, "aaa");
    acme_ca_nonce_put(ca, "bbb");
    acme_ca_nonce_put(ca, "not a nonce!");   /* ignored */
    acme_ca_nonce_put(ca, NULL);
    ck_assert_int_eq(acme_ca_nonce_take(ca, pool, &n), APR_SUCCESS);
    ck_assert_str_eq(n, "bbb");   /* newest first */
    ck_assert_int_eq(acme_ca_nonce_take(ca, pool, &n), APR_SUCCESS);
    ck_assert_str_eq(n, "aaa");
    /* Empty: HEAD newNonce. */
    ck_assert_int_eq(acme_ca_nonce_take(ca, pool, &n), APR_SUCCESS);
    ck_assert_str_eq(n, "srvnonce1");
    /* Bounded: 40 puts keep the newest 16. */
    for (i = 0; i < 40; i++) {
        snprintf(name, sizeof(name), "n%d", i);
        acme_ca_nonce_put(ca, name);
    }
    for (i = 39; i >= 24; i--) {
        snprintf(name, sizeof(name), "n%d", i);
        ck_assert_int_eq(acme_ca_nonce_take(ca, pool, &n), APR_SUCCESS);
        ck_assert_str_eq(n, name);
    }
    ck_assert_int_eq(acme_ca_nonce_take(ca, pool, &n), APR_SUCCESS);
    ck_assert_str_eq(n, "srvnonce2");
}
END_TEST

START_TEST(nonce_unreachable)
{
    acme_http_t *http = make_http(0, apr_time_from_msec(500));
    acme_ca_t *ca;
    const char *n = NULL;

    /* Port 1 on loopback: connection refused. */
    ck_assert_int_eq(acme_ca_create(pool, "http://127.0.0.1:1/dir", http, &test_log, &ca), APR_SUCCESS);
    ck_assert_int_ne(acme_ca_nonce_take(ca, pool, &n), APR_SUCCESS);
    ck_assert_ptr_null(n);
    ck_assert_ptr_nonnull(strstr(logbuf.text, "http://127.0.0.1:1/dir"));
}
END_TEST

/* ---- problem documents ----------------------------------------------------- */

START_TEST(problem_full)
{
    const char *doc =
        "{\"type\":\"urn:ietf:params:acme:error:rejectedIdentifier\",\"detail\":\"bad names\","
        "\"status\":403,\"subproblems\":["
        "{\"type\":\"urn:ietf:params:acme:error:caa\",\"detail\":\"CAA forbids\","
        " \"identifier\":{\"type\":\"dns\",\"value\":\"a.example\"}},"
        "{\"type\":\"urn:ietf:params:acme:error:dns\",\"detail\":\"NXDOMAIN\\nFAKE LINE\","
        " \"identifier\":{\"type\":\"dns\",\"value\":\"b.example\"}}, 17]}";
    acme_problem_t *prob, *sub;
    const char *s;

    ck_assert_int_eq(acme_problem_parse(pool, doc, strlen(doc), 400, &prob), APR_SUCCESS);
    ck_assert_str_eq(prob->type, "urn:ietf:params:acme:error:rejectedIdentifier");
    ck_assert_str_eq(prob->detail, "bad names");
    ck_assert_int_eq(prob->status, 400);  /* HTTP status wins */
    ck_assert(acme_problem_is(prob, "rejectedIdentifier"));
    ck_assert(!acme_problem_is(prob, "rejected"));
    ck_assert(!acme_problem_is(prob, "caa"));
    ck_assert_int_eq(prob->subproblems->nelts, 2);
    sub = APR_ARRAY_IDX(prob->subproblems, 0, acme_problem_t *);
    ck_assert_str_eq(sub->identifier, "a.example");
    ck_assert(acme_problem_is(sub, "caa"));
    s = acme_problem_str(pool, prob);
    ck_assert_str_eq(s, "urn:ietf:params:acme:error:rejectedIdentifier: bad names (status 400)"
                     " [a.example: urn:ietf:params:acme:error:caa: CAA forbids]"
                     " [b.example: urn:ietf:params:acme:error:dns: NXDOMAIN FAKE LINE]");
}
END_TEST

START_TEST(problem_missing_and_malformed)
{
    acme_problem_t *prob;
    const char *mistyped = "{\"type\":5,\"detail\":[],\"status\":\"x\",\"subproblems\":{}}";

    ck_assert_int_eq(acme_problem_parse(pool, "{}", 2, 0, &prob), APR_SUCCESS);
    ck_assert_str_eq(prob->type, "about:blank");
    ck_assert_ptr_null(prob->detail);
    ck_assert_int_eq(prob->status, 0);
    ck_assert_int_eq(prob->subproblems->nelts, 0);

    ck_assert_int_eq(acme_problem_parse(pool, "{\"status\":429}", 14, 0, &prob), APR_SUCCESS);
    ck_assert_int_eq(prob->status, 429);

    ck_assert_int_eq(acme_problem_parse(pool, mistyped, strlen(mistyped), 500, &prob), APR_SUCCESS);
    ck_assert_str_eq(prob->type, "about:blank");
    ck_assert_int_eq(prob->status, 500);

    ck_assert_int_eq(acme_problem_parse(pool, "{\"type\":", 8, 400, &prob), APR_EINVAL);
    ck_assert_ptr_nonnull(prob);
    ck_assert_str_eq(prob->type, "about:blank");
    ck_assert_ptr_nonnull(strstr(prob->detail, "malformed"));
    ck_assert_int_eq(prob->status, 400);
    ck_assert_int_eq(acme_problem_parse(pool, "[1]", 3, 400, &prob), APR_EINVAL);
    ck_assert_int_eq(acme_problem_parse(pool, NULL, 0, 400, &prob), APR_EINVAL);
    ck_assert(!acme_problem_is(NULL, "badNonce"));
    ck_assert_str_eq(acme_problem_str(pool, NULL), "no problem");
}
END_TEST

/* ---- Link headers ------------------------------------------------------------ */

static acme_http_response_t *synthetic(void)
{
    acme_http_response_t *r = apr_pcalloc(pool, sizeof(*r));
    r->status = 200;
    r->headers = apr_table_make(pool, 4);
    r->body = "";
    return r;
}

START_TEST(links_synthetic)
{
    acme_http_response_t *r = synthetic();
    apr_array_header_t *a;

    apr_table_add(r->headers, "Link", "<https://ca/dir>;rel=\"index\"");
    apr_table_add(r->headers, "link", " <https://ca/alt/1> ; rel=alternate , <https://ca/alt/2>; rel=\"ALTERNATE\"");
    apr_table_add(r->headers, "LINK", "<https://ca/a,b>; title=\"a \\\"q\\\"; rel=up\"; rel=\"up index\"");
    apr_table_add(r->headers, "Link", "garbage <https://ca/nope>; rel=up");
    apr_table_add(r->headers, "Link", "<https://ca/unterminated; rel=up");
    apr_table_add(r->headers, "Link", "<https://ca/badq>; rel=\"up");
    apr_table_add(r->headers, "Link", "<https://ca/upward>; rel=upward");
    apr_table_add(r->headers, "Other", "<https://ca/x>; rel=up");

    a = acme_http_links(pool, r, "alternate");
    ck_assert_int_eq(a->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(a, 0, const char *), "https://ca/alt/1");
    ck_assert_str_eq(APR_ARRAY_IDX(a, 1, const char *), "https://ca/alt/2");
    a = acme_http_links(pool, r, "up");
    ck_assert_int_eq(a->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(a, 0, const char *), "https://ca/a,b");
    a = acme_http_links(pool, r, "index");
    ck_assert_int_eq(a->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(a, 1, const char *), "https://ca/a,b");
    ck_assert_int_eq(acme_http_links(pool, r, "next")->nelts, 0);

    a = acme_http_header_values(pool, r, "LINK");
    ck_assert_int_eq(a->nelts, 7);
    ck_assert_int_eq(acme_http_header_values(pool, r, "Missing")->nelts, 0);
}
END_TEST

START_TEST(links_from_server)
{
    acme_http_t *http;
    acme_http_response_t *resp;
    apr_array_header_t *a;
    const char *err;

    start_server();
    http = make_http(0, 0);
    ck_assert_int_eq(acme_http_request(http, pool, "GET", url("/links"), NULL, NULL, 0, &resp, &err), APR_SUCCESS);
    ck_assert_int_eq(resp->status, 200);
    a = acme_http_links(pool, resp, "alternate");
    ck_assert_int_eq(a->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(a, 0, const char *), "http://a/alt1");
    ck_assert_str_eq(APR_ARRAY_IDX(a, 1, const char *), "http://a/alt2");
    a = acme_http_links(pool, resp, "up");
    ck_assert_int_eq(a->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(a, 0, const char *), "http://a/up");
    ck_assert_ptr_nonnull(strstr(logbuf.text, "/links -> 200"));
}
END_TEST

/* ---- HTTP limits ---------------------------------------------------------------- */

START_TEST(http_size_limit)
{
    acme_http_t *http;
    acme_http_response_t *resp;
    const char *err;

    start_server();
    http = make_http(1000, 0);
    ck_assert_int_eq(acme_http_request(http, pool, "GET", url("/big"), NULL, NULL, 0, &resp, &err), APR_ENOSPC);
    ck_assert_ptr_null(resp);
    ck_assert_ptr_nonnull(strstr(err, "/big"));
    ck_assert_ptr_nonnull(strstr(err, "exceeds the limit of 1000 bytes"));
    ck_assert_int_eq(acme_http_request(http, pool, "GET", url("/bigstream"), NULL, NULL, 0, &resp, &err), APR_ENOSPC);
    ck_assert_ptr_nonnull(strstr(err, "exceeds the limit"));
    /* Within the limit is fine on the same client. */
    http = make_http(6000, 0);
    ck_assert_int_eq(acme_http_request(http, pool, "GET", url("/bigstream"), NULL, NULL, 0, &resp, &err), APR_SUCCESS);
    ck_assert_uint_eq(resp->body_len, 5000);
    ck_assert_str_eq(resp->content_type, "text/plain");
}
END_TEST

START_TEST(http_timeout)
{
    acme_http_t *http;
    acme_http_response_t *resp;
    const char *err;
    apr_time_t start;

    start_server();
    http = make_http(0, apr_time_from_msec(400));
    start = apr_time_now();
    ck_assert_int_eq(acme_http_request(http, pool, "GET", url("/slow"), NULL, NULL, 0, &resp, &err), APR_TIMEUP);
    ck_assert(apr_time_now() - start < apr_time_from_sec(2));
    ck_assert_ptr_nonnull(strstr(err, "timed out"));
    ck_assert_ptr_nonnull(strstr(logbuf.text, "/slow failed"));
}
END_TEST

START_TEST(http_header_limit_and_misc)
{
    acme_http_t *http;
    acme_http_response_t *resp;
    const char *err;

    start_server();
    http = make_http(0, 0);
    ck_assert_int_ne(acme_http_request(http, pool, "GET", url("/flood"), NULL, NULL, 0, &resp, &err), APR_SUCCESS);
    ck_assert_ptr_nonnull(strstr(err, "too many response headers"));
    ck_assert_int_eq(acme_http_request(http, pool, "DELETE", url("/x"), NULL, NULL, 0, &resp, &err), APR_EINVAL);
    ck_assert_int_ne(acme_http_request(http, pool, "GET", "ftp://127.0.0.1/x", NULL, NULL, 0, &resp, &err), APR_SUCCESS);
    ck_assert_int_ne(acme_http_request(http, pool, "GET", "file:///etc/passwd", NULL, NULL, 0, &resp, &err), APR_SUCCESS);
    ck_assert_int_eq(acme_http_request(http, pool, "GET", url("/count"), NULL, NULL, 0, &resp, &err), APR_SUCCESS);
    ck_assert_str_eq(resp->content_type, "application/json");
    ck_assert_int_eq(acme_http_request(http, pool, "HEAD", url("/nonce"), NULL, NULL, 0, &resp, &err), APR_SUCCESS);
    ck_assert_str_eq(apr_table_get(resp->headers, "replay-nonce"), "srvnonce1");
    ck_assert_uint_eq(resp->body_len, 0);
}
END_TEST

/* ---- directory, CA id ------------------------------------------------------------ */

START_TEST(directory_and_meta)
{
    acme_ca_t *ca;
    acme_problem_t *prob;
    json_t *dir;

    start_server();
    ca = make_ca("/dir");
    ck_assert_int_eq(acme_ca_directory(ca, pool, &dir, &prob), APR_SUCCESS);
    ck_assert(json_is_object(dir));
    ck_assert_str_eq(acme_ca_endpoint(ca, "newAccount"), url("/acct"));
    ck_assert_ptr_null(acme_ca_endpoint(ca, "renewalInfo"));
    ck_assert_str_eq(acme_ca_terms(ca), "http://127.0.0.1/tos");
    ck_assert(acme_ca_eab_required(ca));
    ck_assert(acme_ca_has_profile(ca, "classic"));
    ck_assert(!acme_ca_has_profile(ca, "tlsserver"));

    ca = make_ca("/dir-plain");
    ck_assert_str_eq(acme_ca_endpoint(ca, "newOrder"), url("/order"));   /* fetched on demand */
    ck_assert_ptr_null(acme_ca_terms(ca));
    ck_assert(!acme_ca_eab_required(ca));
}
END_TEST

START_TEST(directory_strict_and_refetch)
{
    acme_ca_t *ca;
    acme_problem_t *prob;
    acme_http_response_t *resp;
    json_t *dir, *count;
    json_int_t n;

    start_server();
    ca = make_ca("/dir-bad");
    ck_assert_int_eq(acme_ca_directory(ca, pool, &dir, &prob), APR_EINVAL);
    ck_assert_str_eq(prob->type, "urn:mod_acme:badDirectory");
    ck_assert_ptr_nonnull(strstr(prob->detail, "newOrder"));
    ck_assert_int_ne(acme_ca_directory(ca, pool, &dir, &prob), APR_SUCCESS);
    ck_assert_int_eq(acme_ca_get_json(ca, pool, url("/count"), &resp, &count, &prob), APR_SUCCESS);
    ck_assert_int_eq(acme_json_get_int(count, "dirbad", &n), APR_SUCCESS);
    ck_assert_int_eq(n, 2);   /* a failed fetch is retried */

    ca = make_ca("/html");
    ck_assert_int_eq(acme_ca_directory(ca, pool, &dir, &prob), APR_EGENERAL);
    ck_assert_int_eq(prob->status, 502);
    ck_assert_ptr_nonnull(strstr(prob->detail, "text/html"));
    ca = make_ca("/badjson");
    ck_assert_int_eq(acme_ca_directory(ca, pool, &dir, &prob), APR_EINVAL);
    ck_assert_str_eq(prob->type, "urn:mod_acme:malformed");
    ca = make_ca("/texttype");
    ck_assert_int_eq(acme_ca_directory(ca, pool, &dir, &prob), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(prob->detail, "text/plain"));
}
END_TEST

/* An https directory never leads to a plaintext request (and an http one
 * never to https): other hosts are fine, another scheme is refused before
 * anything is sent. */
START_TEST(url_scheme_rule)
{
    acme_http_t *http = make_http(0, 0);
    acme_ca_t *tls, *plain;
    acme_key_t *key;
    acme_problem_t *prob;
    acme_http_response_t *resp;
    json_t *json, *dir, *count;
    json_int_t n;

    ck_assert_int_eq(acme_ca_create(pool, "https://ca.example/dir", http, &test_log, &tls),
                     APR_SUCCESS);
    ck_assert(acme_ca_url_allowed(tls, "https://ca.example/acme/authz/1"));
    ck_assert(acme_ca_url_allowed(tls, "https://cdn.other.example/cert/1"));
    ck_assert(acme_ca_url_allowed(tls, "HTTPS://CA.EXAMPLE/x"));
    ck_assert(!acme_ca_url_allowed(tls, "http://ca.example/acme/authz/1"));
    ck_assert(!acme_ca_url_allowed(tls, "HTTP://ca.example/x"));
    ck_assert(!acme_ca_url_allowed(tls, "ftp://ca.example/x"));
    ck_assert(!acme_ca_url_allowed(tls, "https://ca.example/a b"));
    ck_assert(!acme_ca_url_allowed(tls, "https://ca.example/a\nb"));
    ck_assert(!acme_ca_url_allowed(tls, "//ca.example/x"));
    ck_assert(!acme_ca_url_allowed(tls, ""));
    ck_assert(!acme_ca_url_allowed(tls, NULL));

    start_server();
    plain = make_ca("/dir");
    ck_assert(acme_ca_url_allowed(plain, url("/x")));
    ck_assert(!acme_ca_url_allowed(plain, "https://127.0.0.1/x"));

    /* the plain listener of the test server gets nothing from the https CA */
    ck_assert_int_eq(acme_key_generate(pool, ACME_KEY_EC256, &key), APR_SUCCESS);
    logbuf.len = 0;
    ck_assert_int_eq(acme_ca_post(tls, pool, url("/alwaysbad"), key, "https://ca.example/k/1",
                                  "{}", &resp, &prob), APR_EINVAL);
    ck_assert_str_eq(prob->type, ACME_PROBLEM_BAD_URL);
    ck_assert_ptr_nonnull(strstr(prob->detail, "does not use the scheme of its directory"));
    ck_assert_ptr_nonnull(strstr(logbuf.text, "refused"));
    ck_assert_int_eq(acme_ca_post_json(tls, pool, url("/alwaysbad"), key, NULL, NULL, &resp,
                                       &json, &prob), APR_EINVAL);
    ck_assert_int_eq(acme_ca_get_json(tls, pool, url("/dir"), &resp, &json, &prob), APR_EINVAL);
    ck_assert_str_eq(prob->type, ACME_PROBLEM_BAD_URL);
    ck_assert_int_eq(acme_ca_get_json(plain, pool, url("/count"), &resp, &count, &prob),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_json_get_int(count, "alwaysbad", &n), APR_SUCCESS);
    ck_assert_int_eq(n, 0);

    /* a directory entry with another scheme makes the directory invalid */
    plain = make_ca("/dir-mixed");
    ck_assert_int_eq(acme_ca_directory(plain, pool, &dir, &prob), APR_EINVAL);
    ck_assert_str_eq(prob->type, "urn:mod_acme:badDirectory");
    ck_assert_ptr_nonnull(strstr(prob->detail, "\"renewalInfo\" does not use the directory's "
                                 "scheme"));
}
END_TEST

START_TEST(ca_id)
{
    acme_http_t *http = make_http(0, 0);
    acme_ca_t *ca;
    const char *id;

    ck_assert_int_eq(acme_ca_create(pool, "https://127.0.0.1:14000/dir", http, NULL, &ca), APR_SUCCESS);
    id = acme_ca_id(ca);
    ck_assert_int_eq(strncmp(id, "127.0.0.1_14000-", 16), 0);
    ck_assert_uint_eq(strlen(id), 24);
    ck_assert_str_eq(acme_ca_url(ca), "https://127.0.0.1:14000/dir");
    ck_assert_int_eq(acme_ca_create(pool, "https://ACME-v02.api.letsencrypt.org/directory", http, NULL, &ca), APR_SUCCESS);
    ck_assert_int_eq(strncmp(acme_ca_id(ca), "acme-v02.api.letsencrypt.org-", 29), 0);
    ck_assert_int_eq(acme_ca_create(pool, "https://[::1]:9/d", http, NULL, &ca), APR_SUCCESS);
    ck_assert_ptr_null(strchr(acme_ca_id(ca), ':'));
    ck_assert_ptr_null(strchr(acme_ca_id(ca), '/'));
    ck_assert_int_eq(acme_ca_create(pool, "ftp://x/d", http, NULL, &ca), APR_EINVAL);
}
END_TEST

/* ---- signed POSTs --------------------------------------------------------------------- */

START_TEST(post_badnonce_retry)
{
    acme_ca_t *ca;
    acme_key_t *key;
    acme_problem_t *prob;
    acme_http_response_t *resp;
    json_t *json, *seen, *hdr;
    const char *prot, *nonce;
    unsigned char *raw;
    apr_size_t rawlen;

    start_server();
    ca = make_ca("/dir");
    ck_assert_int_eq(acme_key_generate(pool, ACME_KEY_EC256, &key), APR_SUCCESS);
    ck_assert_int_eq(acme_ca_post_json(ca, pool, url("/acct"), key, NULL, "{\"x\":1}", &resp, &json, &prob),
                     APR_SUCCESS);
    ck_assert_int_eq(resp->status, 201);
    ck_assert_str_eq(apr_table_get(resp->headers, "Location"), "http://127.0.0.1/acct/1");
    /* The retry used the nonce of the badNonce answer. */
    ck_assert_int_eq(acme_json_get_obj(json, "seen", &seen), APR_SUCCESS);
    ck_assert_int_eq(acme_json_get_str(seen, "protected", &prot), APR_SUCCESS);
    ck_assert_int_eq(acme_b64u_decode(pool, prot, strlen(prot), &raw, &rawlen), APR_SUCCESS);
    ck_assert_int_eq(acme_json_parse(pool, (char *)raw, rawlen, &hdr, NULL), APR_SUCCESS);
    ck_assert_int_eq(acme_json_get_str(hdr, "nonce", &nonce), APR_SUCCESS);
    ck_assert_str_eq(nonce, "fresh1");
    /* The success's nonce is pooled. */
    ck_assert_int_eq(acme_ca_nonce_take(ca, pool, &nonce), APR_SUCCESS);
    ck_assert_str_eq(nonce, "after1");
    /* No JWS, signature or key material in the log. */
    ck_assert_ptr_null(strstr(logbuf.text, prot));
    ck_assert_ptr_null(strstr(logbuf.text, "signature"));
    ck_assert_ptr_nonnull(strstr(logbuf.text, "POST"));
}
END_TEST

START_TEST(post_badnonce_bounded)
{
    acme_ca_t *ca;
    acme_key_t *key;
    acme_problem_t *prob;
    acme_http_response_t *resp;
    json_t *count;
    json_int_t n;

    start_server();
    ca = make_ca("/dir");
    ck_assert_int_eq(acme_key_generate(pool, ACME_KEY_EC256, &key), APR_SUCCESS);
    ck_assert_int_eq(acme_ca_post(ca, pool, url("/alwaysbad"), key, "http://k/1", NULL, &resp, &prob), APR_EGENERAL);
    ck_assert(acme_problem_is(prob, "badNonce"));
    ck_assert_int_eq(prob->status, 400);
    ck_assert_int_eq(acme_ca_get_json(ca, pool, url("/count"), &resp, &count, &prob), APR_SUCCESS);
    ck_assert_int_eq(acme_json_get_int(count, "alwaysbad", &n), APR_SUCCESS);
    ck_assert_int_eq(n, 20);
    ck_assert_ptr_nonnull(strstr(logbuf.text, "/alwaysbad failed"));
}
END_TEST

START_TEST(post_ratelimit_retry_after)
{
    acme_ca_t *ca;
    acme_key_t *key;
    acme_problem_t *prob;
    acme_http_response_t *resp;
    json_t *json;

    start_server();
    ca = make_ca("/dir");
    ck_assert_int_eq(acme_key_generate(pool, ACME_KEY_EC256, &key), APR_SUCCESS);
    ck_assert_int_eq(acme_ca_post_json(ca, pool, url("/ratelimit"), key, "http://k/1", "{}", &resp, &json, &prob),
                     APR_EGENERAL);
    ck_assert_ptr_null(json);
    ck_assert(acme_problem_is(prob, "rateLimited"));
    ck_assert_int_eq(prob->status, 429);
    ck_assert_int_eq(apr_time_sec(prob->retry_after), 120);
    ck_assert_str_eq(prob->detail, "slow down");
    /* Transport failure: a problem of type urn:mod_acme:transport. */
    ck_assert_int_ne(acme_ca_post(ca, pool, "http://127.0.0.1:1/x", key, "http://k/1", NULL, &resp, &prob), APR_SUCCESS);
    ck_assert_str_eq(prob->type, "urn:mod_acme:transport");
    ck_assert_int_eq(prob->status, 0);
    ck_assert_ptr_nonnull(strstr(prob->detail, "127.0.0.1:1"));
}
END_TEST

static Suite *ca_suite(void)
{
    Suite *s = suite_create("ca");
    TCase *tc = tu_tcase(s, "core", 30, setup, teardown);

    tcase_add_test(tc, nonce_lifo_and_bound);
    tcase_add_test(tc, nonce_unreachable);
    tcase_add_test(tc, problem_full);
    tcase_add_test(tc, problem_missing_and_malformed);
    tcase_add_test(tc, links_synthetic);
    tcase_add_test(tc, links_from_server);
    tcase_add_test(tc, http_size_limit);
    tcase_add_test(tc, http_timeout);
    tcase_add_test(tc, http_header_limit_and_misc);
    tcase_add_test(tc, directory_and_meta);
    tcase_add_test(tc, directory_strict_and_refetch);
    tcase_add_test(tc, url_scheme_rule);
    tcase_add_test(tc, ca_id);
    tcase_add_test(tc, post_badnonce_retry);
    tcase_add_test(tc, post_badnonce_bounded);
    tcase_add_test(tc, post_ratelimit_retry_after);
    return s;
}

int main(void)
{
    return tu_run(ca_suite());
}
