/* test_redis.c: unit tests of the Redis fleet engine: URL and INFO parsing, and against a real redis-server on a free loopback port: leases, fences, fenced writes of a paused node, publishing, function reload, binary values, AUTH, reconnect, timeouts. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include "acme_redis.h"
#include "acme_redis_pool.h"
#include "acme_store_redis.h"
#include "testutil.h"
#ifdef ACME_HAVE_HIREDIS
#include <hiredis/hiredis.h>
#endif

/* ---- parsing (no server) --------------------------------------------- */

START_TEST(url_valid)
{
    static const struct {
        const char *url, *host, *user, *password;
        int port, db, tls;
    } ok[] = {
        { "redis://127.0.0.1:6380", "127.0.0.1", NULL, NULL, 6380, 0, 0 },
        { "redis://localhost", "localhost", NULL, NULL, 6379, 0, 0 },
        { "REDIS://redis.example.org:1/15", "redis.example.org", NULL, NULL, 1, 15, 0 },
        { "redis://h:65535/", "h", NULL, NULL, 65535, 0, 0 },
        { "redis://:s3cret@10.0.0.1:6379/0", "10.0.0.1", NULL, "s3cret", 6379, 0, 0 },
        { "redis://alice:pw@[::1]:7000/2", "::1", "alice", "pw", 7000, 2, 0 },
        { "redis://[2001:db8::5]", "2001:db8::5", NULL, NULL, 6379, 0, 0 },
        { "redis://al%69ce:p%40ss%3Aw:rd@h", "h", "alice", "p@ss:w:rd", 6379, 0, 0 },
        { "redis://u:!$&'()*+,;=~._-@h:9/9999", "h", "u", "!$&'()*+,;=~._-", 9, 9999, 0 },
        { "rediss://u:p@redis-1.example:6390/1", "redis-1.example", "u", "p", 6390, 1, 1 },
    };
    size_t i;

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        acme_redis_url_t u;
        const char *err = NULL;
        ck_assert_msg(acme_redis_url_parse(pool, ok[i].url, &u, &err) == APR_SUCCESS,
                      "refused %s: %s", ok[i].url, err);
        ck_assert_str_eq(u.host, ok[i].host);
        ck_assert_int_eq(u.port, ok[i].port);
        ck_assert_int_eq(u.db, ok[i].db);
        ck_assert_int_eq(u.tls, ok[i].tls);
        if (ok[i].user) ck_assert_str_eq(u.user, ok[i].user);
        else ck_assert_ptr_null(u.user);
        if (ok[i].password) ck_assert_str_eq(u.password, ok[i].password);
        else ck_assert_ptr_null(u.password);
    }
}
END_TEST

START_TEST(url_hostile)
{
    static const char *bad[] = {
        "", "redis:/h", "http://h:6379", "redis://", "redis://:6379", "redis:///0",
        "redis://h:0", "redis://h:65536", "redis://h:99999999999", "redis://h:-1", "redis://h:+1",
        "redis://h:", "redis://h:06379", "redis://h:6379x", "redis://h/01", "redis://h/10000",
        "redis://h/-1", "redis://h/0/1", "redis://h/a", "redis://h?db=1", "redis://h#f",
        "redis://h:6379/0?x", "redis://h h", "redis://h\n", "redis://h_x", "redis://-h",
        "redis://h-", "redis://a..b", "redis://.h", "redis://h.", "redis://[::1", "redis://[::1]x",
        "redis://[zz::1]", "redis://[]", "redis://[::1]:", "redis://user@h", "redis://u:@h",
        "redis://u:p@q@h", "redis://u:p%4@h", "redis://u:p%zz@h", "redis://u:p%00@h",
        "redis://u:p%0d%0aFLUSHALL@h", "redis://u:p w@h", "redis://u\x01:p@h", "redis://u:p\x7f@h",
        "redis://u:p@", "redis://u:p@:1", "redis://h\xc3\xa9", "redis://u:p[@h",
        "redis://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.h",
        /* RFC 3986 userinfo: '|', '{', '"', '<', '\\', '^', '`' only percent-encoded */
        "redis://u|x:p@h", "redis://u:p{@h", "redis://u\"x:p@h", "redis://u:p<@h",
        "redis://u\\:p@h", "redis://u^:p@h", "redis://u`:p@h",
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        acme_redis_url_t u;
        const char *err = NULL;
        ck_assert_msg(acme_redis_url_parse(pool, bad[i], &u, &err) == APR_EINVAL,
                      "accepted \"%s\"", bad[i]);
        ck_assert_ptr_nonnull(err);
    }
    /* A password never shows in an error. */
    {
        acme_redis_url_t u;
        const char *err = NULL;
        ck_assert_int_eq(acme_redis_url_parse(pool, "redis://u:topsecret@h:99999", &u, &err), APR_EINVAL);
        ck_assert_ptr_null(strstr(err, "topsecret"));
    }
    /* Too long. */
    {
        acme_redis_url_t u;
        const char *err = NULL;
        char *s = apr_pstrcat(pool, "redis://", apr_psprintf(pool, "%03000d", 1), NULL);
        ck_assert_int_eq(acme_redis_url_parse(pool, s, &u, &err), APR_EINVAL);
        ck_assert_int_eq(acme_redis_url_parse(pool, NULL, &u, &err), APR_EINVAL);
    }
}
END_TEST

START_TEST(url_show)
{
    acme_redis_url_t u;

    ck_assert_int_eq(acme_redis_url_parse(pool, "redis://alice:topsecret@[::1]:7000/2", &u, NULL), APR_SUCCESS);
    ck_assert_str_eq(acme_redis_url_show(pool, &u), "redis://alice:***@[::1]:7000/2");
    ck_assert_int_eq(acme_redis_url_parse(pool, "redis://:x@h", &u, NULL), APR_SUCCESS);
    ck_assert_str_eq(acme_redis_url_show(pool, &u), "redis://:***@h:6379/0");
    ck_assert_int_eq(acme_redis_url_parse(pool, "redis://h", &u, NULL), APR_SUCCESS);
    ck_assert_str_eq(acme_redis_url_show(pool, &u), "redis://h:6379/0");
    /* A user name is written back escaped, so the shown URL parses again. */
    ck_assert_int_eq(acme_redis_url_parse(pool, "redis://a%23b%40c%3a~:x@h", &u, NULL), APR_SUCCESS);
    ck_assert_str_eq(u.user, "a#b@c:~");
    ck_assert_str_eq(acme_redis_url_show(pool, &u), "redis://a%23b%40c%3A~:***@h:6379/0");
    ck_assert_int_eq(acme_redis_url_parse(pool, acme_redis_url_show(pool, &u), &u, NULL), APR_SUCCESS);
    ck_assert_str_eq(u.user, "a#b@c:~");
    /* Found by fuzz_redis_text: a long user name of escaped bytes (%AE) grew
     * past the URL limit when shown, so the shown URL did not parse again.
     * User names are bounded (256 bytes); at the bound the shown URL parses. */
    {
        char *user = apr_pstrdup(pool, ""), *url;
        int i;

        for (i = 0; i < 256; i++) user = apr_pstrcat(pool, user, "%AE", NULL);
        url = apr_pstrcat(pool, "rediss://", user, ":p@h", NULL);
        ck_assert_int_eq(acme_redis_url_parse(pool, url, &u, NULL), APR_SUCCESS);
        ck_assert_int_eq(acme_redis_url_parse(pool, acme_redis_url_show(pool, &u), &u, NULL),
                         APR_SUCCESS);
        ck_assert_int_eq(strlen(u.user), 256);
        url = apr_pstrcat(pool, "redis://a", user, ":p@h", NULL);
        ck_assert_int_eq(acme_redis_url_parse(pool, url, &u, NULL), APR_EINVAL);
    }
}
END_TEST

static apr_array_header_t *info_warnings(const char *text, apr_status_t want)
{
    apr_array_header_t *w = apr_array_make(pool, 2, sizeof(const char *));

    ck_assert_int_eq(acme_redis_info_warnings(pool, text, strlen(text), w), want);
    return w;
}

START_TEST(info_parse)
{
    apr_array_header_t *w;

    w = info_warnings("# Persistence\r\nloading:0\r\naof_enabled:1\r\n\r\n# Memory\r\n"
                      "maxmemory:0\r\nmaxmemory_policy:noeviction\r\n", APR_SUCCESS);
    ck_assert_int_eq(w->nelts, 0);
    w = info_warnings("# Persistence\r\naof_enabled:0\r\n# Memory\r\nmaxmemory_policy:allkeys-lru\r\n",
                      APR_SUCCESS);
    ck_assert_int_eq(w->nelts, 2);
    ck_assert_ptr_nonnull(strstr(APR_ARRAY_IDX(w, 0, const char *), "appendonly yes"));
    ck_assert_ptr_nonnull(strstr(APR_ARRAY_IDX(w, 1, const char *), "allkeys-lru"));
    ck_assert_ptr_nonnull(strstr(APR_ARRAY_IDX(w, 1, const char *), "noeviction"));
    /* volatile-* policies evict keys with a TTL: leases. */
    w = info_warnings("aof_enabled:1\nmaxmemory_policy:volatile-ttl\n", APR_SUCCESS);
    ck_assert_int_eq(w->nelts, 1);
    /* Missing fields are said; a strange policy is not echoed. */
    w = info_warnings("# Server\r\nredis_version:7.0.15\r\n", APR_SUCCESS);
    ck_assert_int_eq(w->nelts, 2);
    w = info_warnings("aof_enabled:1\nmaxmemory_policy:\x1b[31mevil\n", APR_SUCCESS);
    ck_assert_int_eq(w->nelts, 1);
    ck_assert_ptr_nonnull(strstr(APR_ARRAY_IDX(w, 0, const char *), "(unreadable)"));
    info_warnings("", APR_EINVAL);
    info_warnings("# Persistence\r\n", APR_EINVAL);
    info_warnings("garbage without colon\r\n", APR_EINVAL);
    info_warnings(":value\r\n", APR_EINVAL);
}
END_TEST

#ifndef ACME_HAVE_HIREDIS

START_TEST(not_built)
{
    acme_redis_pool_t *rp = NULL;
    acme_redis_t *r = NULL;
    const char *err = NULL;

    ck_assert_int_eq(acme_redis_open(pool, "redis://127.0.0.1:6379", NULL, NULL, &r, &err), APR_ENOTIMPL);
    ck_assert_ptr_null(r);
    ck_assert_ptr_nonnull(strstr(err, "libhiredis-dev"));
    ck_assert_int_eq(acme_redis_open(pool, "rediss://127.0.0.1:6379", NULL, NULL, &r, &err), APR_ENOTIMPL);
    ck_assert_ptr_nonnull(strstr(err, "stunnel"));
    ck_assert_int_eq(acme_redis_pool_create(pool, "redis://127.0.0.1:6379", NULL, NULL, &rp, &err),
                     APR_ENOTIMPL);
    ck_assert_ptr_nonnull(strstr(err, "libhiredis-dev"));
}
END_TEST

#else

/* ---- a real redis-server ---------------------------------------------- */

typedef struct server_t {
    pid_t pid;
    int port;
    char dir[512];
} server_t;

static server_t main_srv;           /* shared by the tests of the "server" case */
static char redis_bin[512];

static int free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0
        && getsockname(fd, (struct sockaddr *)&a, &len) == 0) {
        port = ntohs(a.sin_port);
    }
    if (fd >= 0) close(fd);
    return port;
}

static int find_redis(void)
{
    static const char *dirs[] = { "/usr/bin", "/usr/local/bin", "/usr/sbin" };
    size_t i;

    for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        snprintf(redis_bin, sizeof(redis_bin), "%s/redis-server", dirs[i]);
        if (access(redis_bin, X_OK) == 0) return 1;
    }
    return 0;
}

static redisContext *raw_connect(int port)
{
    struct timeval tv = { 2, 0 };
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);

    if (c && c->err) {
        redisFree(c);
        return NULL;
    }
    if (c) redisSetTimeout(c, tv);
    return c;
}

/* Starts redis-server on port in dir (no persistence unless extra says so);
 * 1 once it answers PING. It dies with this process (PDEATHSIG). */
static int server_start_on(server_t *s, int port, const char *const *extra)
{
    char portbuf[16], logf[600];
    const char *argv[40];
    int argc = 0, i;
    apr_time_t deadline;

    s->port = port;
    snprintf(portbuf, sizeof(portbuf), "%d", port);
    snprintf(logf, sizeof(logf), "%s/redis.log", s->dir);
    argv[argc++] = redis_bin;
    argv[argc++] = "--port"; argv[argc++] = portbuf;
    argv[argc++] = "--bind"; argv[argc++] = "127.0.0.1";
    argv[argc++] = "--dir"; argv[argc++] = s->dir;
    argv[argc++] = "--logfile"; argv[argc++] = logf;
    argv[argc++] = "--save"; argv[argc++] = "";
    argv[argc++] = "--appendonly"; argv[argc++] = "no";
    argv[argc++] = "--daemonize"; argv[argc++] = "no";
    for (i = 0; extra && extra[i] && argc < 38; i++) argv[argc++] = extra[i];
    argv[argc] = NULL;

    s->pid = fork();
    if (s->pid < 0) return 0;
    if (s->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execv(redis_bin, (char *const *)argv);
        _exit(127);
    }
    deadline = apr_time_now() + apr_time_from_sec(10);
    while (apr_time_now() < deadline) {
        int status;
        redisContext *c;
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            s->pid = 0;
            return 0;       /* exited: the port was taken meanwhile */
        }
        if ((c = raw_connect(port)) != NULL) {
            redisReply *rep = redisCommand(c, "PING");
            int up = rep && (rep->type == REDIS_REPLY_STATUS || rep->type == REDIS_REPLY_ERROR);
            if (rep) freeReplyObject(rep);
            redisFree(c);
            if (up) return 1;
        }
        apr_sleep(apr_time_from_msec(20));
    }
    return 0;
}

static void server_stop(server_t *s, int sig)
{
    int status;

    if (s->pid > 0) {
        kill(s->pid, sig);
        waitpid(s->pid, &status, 0);
        s->pid = 0;
    }
}

/* The shared server's directory is below TMPDIR; a test's own server's is
 * below that one, so the shared server's removal takes it along even when
 * the test failed half-way. */
static int server_start(server_t *s, const char *const *extra)
{
    const char *base = s == &main_srv ? getenv("TMPDIR") : main_srv.dir;
    int attempt, n = snprintf(s->dir, sizeof(s->dir), "%s/test_redis.XXXXXX",
                              base && *base ? base : "/tmp");

    if (n < 0 || (size_t)n >= sizeof(s->dir) || !mkdtemp(s->dir)) return 0;
    for (attempt = 0; attempt < 5; attempt++) {
        int port = free_port();
        if (port > 0 && server_start_on(s, port, extra)) return 1;
    }
    return 0;
}

static void server_remove(server_t *s)
{
    char cmd[600];

    server_stop(s, SIGTERM);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
    if (system(cmd) != 0) fprintf(stderr, "test_redis: could not remove %s\n", s->dir);
}

static void main_up(void)
{
    if (!server_start(&main_srv, NULL)) {
        fprintf(stderr, "test_redis: redis-server did not start (log in %s)\n", main_srv.dir);
        exit(EXIT_FAILURE);
    }
}

static void main_down(void)
{
    server_remove(&main_srv);
}

static redisReply *raw(int port, const char *fmt, ...)
{
    redisContext *c = raw_connect(port);
    redisReply *rep;
    va_list ap;

    ck_assert_ptr_nonnull(c);
    va_start(ap, fmt);
    rep = redisvCommand(c, fmt, ap);
    va_end(ap);
    redisFree(c);
    ck_assert_ptr_nonnull(rep);
    return rep;
}

static void raw_ok(int port, const char *cmd)
{
    redisReply *rep = raw(port, cmd);

    ck_assert_msg(rep->type != REDIS_REPLY_ERROR, "%s: %s", cmd, rep->str);
    freeReplyObject(rep);
}

/* Log lines of the engine, kept for the assertions. */
static char logged[8192];

static void log_fn(void *baton, acme_log_level_e level, apr_status_t rv, const char *msg)
{
    apr_size_t n = strlen(logged);

    snprintf(logged + n, sizeof(logged) - n, "%d %s\n", (int)level, msg);
}

static const acme_logger_t logger = { log_fn, NULL, ACME_LOG_DEBUG };

static acme_redis_t *open_on(int port, const char *cred)
{
    acme_redis_t *r = NULL;
    const char *err = NULL;
    const char *url = apr_psprintf(pool, "redis://%s127.0.0.1:%d", cred ? cred : "", port);

    ck_assert_msg(acme_redis_open(pool, url, NULL, &logger, &r, &err) == APR_SUCCESS,
                  "open %s: %s", url, err);
    return r;
}

static acme_redis_t *open_main(void)
{
    return open_on(main_srv.port, NULL);
}

static void each_setup(void)
{
    tu_setup();
    logged[0] = '\0';
    raw_ok(main_srv.port, "FLUSHALL");
}

static acme_lease_t *take(acme_redis_t *r, const char *scope, const char *owner, int ttl_ms)
{
    acme_lease_t *l = NULL;
    apr_status_t rv = acme_redis_acquire(r, pool, scope, owner, apr_time_from_msec(ttl_ms), &l);

    ck_assert_msg(rv == APR_SUCCESS, "acquire %s: %s", scope, acme_redis_error(r));
    return l;
}

static apr_status_t put1(acme_redis_t *r, const char *scope, const acme_lease_t *l,
                         const char *name, const char *value)
{
    acme_fleet_item_t it = { name, value, value ? strlen(value) : 0 };

    return acme_redis_put(r, pool, scope, l, &it, 1, 0);
}

static const char *get1(acme_redis_t *r, const char *scope, const char *name)
{
    char *data;
    apr_size_t len;
    apr_status_t rv = acme_redis_get(r, pool, scope, name, &data, &len);

    if (rv == APR_ENOENT) return NULL;
    ck_assert_msg(rv == APR_SUCCESS, "get: %s", acme_redis_error(r));
    return data;
}

START_TEST(lease_cycle)
{
    acme_redis_t *r = open_main(), *r2 = open_main();
    acme_lease_t *a, *b = NULL;
    acme_fleet_holder_t h;
    apr_time_t t0 = apr_time_now();

    a = take(r, "d:example.org", "node-a", 10000);
    ck_assert_uint_eq(a->token, 1);
    ck_assert_str_eq(a->owner, "node-a");
    ck_assert(a->expires > t0 && a->expires <= apr_time_now() + apr_time_from_sec(10));
    ck_assert(acme_lease_left(a, apr_time_now()) > apr_time_from_sec(9));

    /* Held: another node fails at once and learns who holds it. */
    ck_assert_int_eq(acme_redis_acquire(r2, pool, "d:example.org", "node-b", apr_time_from_sec(10), &b),
                     APR_EBUSY);
    ck_assert_ptr_null(b);
    ck_assert_ptr_nonnull(strstr(acme_redis_error(r2), "held by node-a"));
    ck_assert_int_eq(acme_redis_holder(r2, pool, "d:example.org", &h), APR_SUCCESS);
    ck_assert_str_eq(h.owner, "node-a");
    ck_assert_uint_eq(h.token, 1);
    ck_assert_uint_eq(h.fence, 1);
    ck_assert(h.left > apr_time_from_sec(8) && h.left <= apr_time_from_sec(10));

    /* Another scope is independent. */
    b = take(r2, "d:other.example", "node-b", 10000);
    ck_assert_uint_eq(b->token, 1);

    ck_assert_int_eq(acme_redis_extend(r, a, apr_time_from_sec(30)), APR_SUCCESS);
    ck_assert_int_eq(acme_redis_holder(r2, pool, "d:example.org", &h), APR_SUCCESS);
    ck_assert(h.left > apr_time_from_sec(28));
    ck_assert_int_eq(acme_redis_release(r, a), APR_SUCCESS);
    ck_assert_int_eq(acme_redis_holder(r2, pool, "d:example.org", &h), APR_ENOENT);
    ck_assert_uint_eq(h.fence, 1);

    b = take(r2, "d:example.org", "node-b", 10000);
    ck_assert_uint_eq(b->token, 2);

    /* Bad arguments never reach the server. */
    ck_assert_int_eq(acme_redis_acquire(r, pool, "example.org", "n", apr_time_from_sec(1), &a), APR_EINVAL);
    ck_assert_int_eq(acme_redis_acquire(r, pool, "d:{x}", "n", apr_time_from_sec(1), &a), APR_EINVAL);
    ck_assert_int_eq(acme_redis_acquire(r, pool, "d:x", "a b", apr_time_from_sec(1), &a), APR_EINVAL);
    ck_assert_int_eq(acme_redis_acquire(r, pool, "d:x", "n", 10, &a), APR_EINVAL);
}
END_TEST

START_TEST(fence_monotonic)
{
    acme_redis_t *r = open_main();
    apr_uint64_t last = 0;
    int i;

    for (i = 0; i < 6; i++) {
        acme_lease_t *l = take(r, "d:fence.example", i % 2 ? "node-a" : "node-b", i < 3 ? 10000 : 50);
        ck_assert_uint_gt(l->token, last);
        last = l->token;
        if (i < 3) ck_assert_int_eq(acme_redis_release(r, l), APR_SUCCESS);
        else apr_sleep(apr_time_from_msec(120));        /* let it expire instead */
    }
    ck_assert_uint_eq(last, 6);
}
END_TEST

/* A node pauses (SIGSTOP, GC, VM migration) past its lease; another takes
 * over; when the first wakes up, none of its writes get through. */
START_TEST(paused_node_is_fenced)
{
    acme_redis_t *ra = open_main(), *rb = open_main();
    acme_lease_t *a, *b, copy;
    acme_fleet_item_t set = { "fullchain.pem", "A's chain", 9 };
    acme_fleet_holder_t h;

    a = take(ra, "d:pause.example", "node-a", 300);
    ck_assert_int_eq(put1(ra, "d:pause.example", a, "order.json", "{\"by\":\"a\"}"), APR_SUCCESS);
    apr_sleep(apr_time_from_msec(450));                 /* a is "paused" past its TTL */
    ck_assert_uint_eq(acme_lease_left(a, apr_time_now()), 0);
    b = take(rb, "d:pause.example", "node-b", 10000);
    ck_assert_uint_gt(b->token, a->token);
    ck_assert_int_eq(put1(rb, "d:pause.example", b, "order.json", "{\"by\":\"b\"}"), APR_SUCCESS);

    /* a wakes up: every fenced write is refused and changes nothing. */
    copy = *a;
    ck_assert_int_eq(put1(ra, "d:pause.example", a, "order.json", "{\"by\":\"a, late\"}"),
                     ACME_FLEET_EFENCED);
    ck_assert_ptr_nonnull(strstr(acme_redis_error(ra), "no longer the holder"));
    ck_assert_int_eq(put1(ra, "d:pause.example", a, "account.json", "x"), ACME_FLEET_EFENCED);
    ck_assert_int_eq(acme_redis_publish(ra, pool, a, "node-a", 1, &set, 1, NULL), ACME_FLEET_EFENCED);
    ck_assert_int_eq(acme_redis_extend(ra, a, apr_time_from_sec(10)), ACME_FLEET_EFENCED);
    ck_assert_int_eq(acme_redis_release(ra, &copy), ACME_FLEET_EFENCED);
    ck_assert_str_eq(get1(rb, "d:pause.example", "order.json"), "{\"by\":\"b\"}");
    ck_assert_ptr_null(get1(rb, "d:pause.example", "account.json"));
    ck_assert_int_eq(acme_redis_published(rb, pool, "d:pause.example", &(acme_fleet_set_t *){NULL}),
                     APR_ENOENT);
    ck_assert_int_eq(acme_redis_holder(rb, pool, "d:pause.example", &h), APR_SUCCESS);
    ck_assert_str_eq(h.owner, "node-b");

    /* A raised fence (an operator fencing a node out) stops even a live lease. */
    raw_ok(main_srv.port, "INCR acme:{d:pause.example}:fence");
    ck_assert_int_eq(put1(rb, "d:pause.example", b, "order.json", "{}"), ACME_FLEET_EFENCED);
    ck_assert_int_eq(acme_redis_extend(rb, b, apr_time_from_sec(10)), ACME_FLEET_EFENCED);
}
END_TEST

START_TEST(items_binary_safe)
{
    acme_redis_t *r = open_main();
    unsigned char bin[256];
    acme_fleet_item_t items[3];
    apr_array_header_t *names;
    char *data;
    apr_size_t len;
    int i;

    for (i = 0; i < 256; i++) bin[i] = (unsigned char)i;
    items[0] = (acme_fleet_item_t){ "privkey.pem.sealed", bin, sizeof(bin) };
    items[1] = (acme_fleet_item_t){ "empty", "", 0 };
    items[2] = (acme_fleet_item_t){ "crlf", "a\r\n*1\r\n$4\r\nPING\r\n", 18 };
    ck_assert_int_eq(acme_redis_put(r, pool, "c:www.example.org", NULL, items, 3, 0), APR_SUCCESS);
    ck_assert_int_eq(acme_redis_get(r, pool, "c:www.example.org", "privkey.pem.sealed", &data, &len),
                     APR_SUCCESS);
    ck_assert_uint_eq(len, 256);
    ck_assert_mem_eq(data, bin, 256);
    ck_assert_int_eq(acme_redis_get(r, pool, "c:www.example.org", "empty", &data, &len), APR_SUCCESS);
    ck_assert_uint_eq(len, 0);
    ck_assert_int_eq(acme_redis_get(r, pool, "c:www.example.org", "crlf", &data, &len), APR_SUCCESS);
    ck_assert_uint_eq(len, 18);
    ck_assert_mem_eq(data, "a\r\n*1\r\n$4\r\nPING\r\n", 18);
    ck_assert_int_eq(acme_redis_get(r, pool, "c:www.example.org", "none", &data, &len), APR_ENOENT);

    ck_assert_int_eq(acme_redis_list(r, pool, "c:www.example.org", &names), APR_SUCCESS);
    ck_assert_int_eq(names->nelts, 3);
    ck_assert_str_eq(APR_ARRAY_IDX(names, 0, const char *), "crlf");
    ck_assert_str_eq(APR_ARRAY_IDX(names, 2, const char *), "privkey.pem.sealed");

    /* Remove one; an item with a TTL leaves the list when it expires. */
    items[0].data = NULL;
    ck_assert_int_eq(acme_redis_put(r, pool, "c:www.example.org", NULL, items, 1, 0), APR_SUCCESS);
    ck_assert_int_eq(acme_redis_get(r, pool, "c:www.example.org", "privkey.pem.sealed", &data, &len),
                     APR_ENOENT);
    items[0] = (acme_fleet_item_t){ "http-01.tok", "keyauth", 7 };
    ck_assert_int_eq(acme_redis_put(r, pool, "c:www.example.org", NULL, items, 1, apr_time_from_msec(150)),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_redis_list(r, pool, "c:www.example.org", &names), APR_SUCCESS);
    ck_assert_int_eq(names->nelts, 3);
    apr_sleep(apr_time_from_msec(300));
    ck_assert_int_eq(acme_redis_list(r, pool, "c:www.example.org", &names), APR_SUCCESS);
    ck_assert_int_eq(names->nelts, 2);
    ck_assert_ptr_null(get1(r, "c:www.example.org", "http-01.tok"));

    /* Keys carry the scope's hash tag. */
    {
        redisReply *rep = raw(main_srv.port, "EXISTS acme:{c:www.example.org}:k:crlf");
        ck_assert_int_eq(rep->integer, 1);
        freeReplyObject(rep);
    }
    /* Names with spaces never reach the server. */
    items[0].name = "a b";
    ck_assert_int_eq(acme_redis_put(r, pool, "c:www.example.org", NULL, items, 1, 0), APR_EINVAL);
}
END_TEST

START_TEST(size_limits)
{
    acme_redis_opts_t o = { 0, 0, 1024 };
    acme_redis_t *r = NULL;
    char *big = apr_pcalloc(pool, 2000), *data;
    acme_fleet_item_t it = { "big", big, 2000 };
    apr_size_t len;
    const char *err;
    redisReply *rep;

    memset(big, 'x', 1999);
    ck_assert_int_eq(acme_redis_open(pool, apr_psprintf(pool, "redis://127.0.0.1:%d", main_srv.port),
                                     &o, NULL, &r, &err), APR_SUCCESS);
    ck_assert_int_eq(acme_redis_put(r, pool, "d:s", NULL, &it, 1, 0), APR_ENOSPC);
    rep = raw(main_srv.port, "SET acme:{d:s}:k:big %s", big);
    freeReplyObject(rep);
    ck_assert_int_eq(acme_redis_get(r, pool, "d:s", "big", &data, &len), APR_ENOSPC);
    ck_assert_ptr_nonnull(strstr(acme_redis_error(r), "limit"));
}
END_TEST

START_TEST(publish_and_watch)
{
    acme_redis_t *r = open_main(), *w = open_main();
    acme_lease_t *l = take(r, "d:pub.example", "node-a", 10000);
    acme_fleet_item_t set[2] = { { "privkey.pem", "sealed\0key", 10 }, { "fullchain.pem", "chain", 5 } };
    acme_fleet_set_t *s;
    apr_hash_t *idx;
    apr_uint64_t seq = 99, hint = 0;

    ck_assert_int_eq(acme_redis_fleet_seq(r, &seq), APR_SUCCESS);
    ck_assert_uint_eq(seq, 0);
    ck_assert_int_eq(acme_redis_published(r, pool, "d:pub.example", &s), APR_ENOENT);
    /* The watcher subscribes; nothing came yet. */
    ck_assert_int_eq(acme_redis_watch(w, apr_time_from_msec(50), &hint), APR_TIMEUP);

    ck_assert_int_eq(acme_redis_publish(r, pool, l, "node-a", 1, set, 2, &seq), APR_SUCCESS);
    ck_assert_uint_eq(seq, 1);
    ck_assert_int_eq(acme_redis_watch(w, apr_time_from_sec(5), &hint), APR_SUCCESS);
    ck_assert_uint_eq(hint, 1);
    ck_assert_int_eq(acme_redis_published(r, pool, "d:pub.example", &s), APR_SUCCESS);
    ck_assert_uint_eq(s->generation, 1);
    ck_assert_str_eq(s->node, "node-a");
    ck_assert(s->published > apr_time_now() - apr_time_from_sec(60));
    ck_assert_int_eq(s->items->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(s->items, 0, acme_fleet_item_t).name, "fullchain.pem");
    ck_assert_uint_eq(APR_ARRAY_IDX(s->items, 1, acme_fleet_item_t).len, 10);
    ck_assert_mem_eq(APR_ARRAY_IDX(s->items, 1, acme_fleet_item_t).data, "sealed\0key", 10);

    /* The same publish again (a retry) is fine and announces nothing new. */
    ck_assert_int_eq(acme_redis_publish(r, pool, l, "node-a", 1, set, 2, &seq), APR_SUCCESS);
    ck_assert_uint_eq(seq, 1);
    /* Only the next generation. */
    ck_assert_int_eq(acme_redis_publish(r, pool, l, "node-a", 3, set, 2, &seq), ACME_FLEET_ESTALE);
    ck_assert_int_eq(acme_redis_publish(r, pool, l, "node-a", 2, set, 1, &seq), APR_SUCCESS);
    ck_assert_uint_eq(seq, 2);
    ck_assert_int_eq(acme_redis_published(r, pool, "d:pub.example", &s), APR_SUCCESS);
    ck_assert_uint_eq(s->generation, 2);
    ck_assert_int_eq(s->items->nelts, 1);       /* the old set's items are gone */
    ck_assert_int_eq(acme_redis_watch(w, apr_time_from_sec(5), &hint), APR_SUCCESS);
    ck_assert_uint_eq(hint, 2);

    ck_assert_int_eq(acme_redis_fleet_index(r, pool, &idx), APR_SUCCESS);
    ck_assert_uint_eq(*(apr_uint64_t *)apr_hash_get(idx, "d:pub.example", APR_HASH_KEY_STRING), 2);
    /* Announcing an older generation changes nothing. */
    ck_assert_int_eq(acme_redis_announce(r, pool, "d:pub.example", 1, &seq), APR_SUCCESS);
    ck_assert_uint_eq(seq, 2);
    /* A watching connection is for nothing else. */
    ck_assert_int_eq(acme_redis_fleet_seq(w, &seq), APR_EINVAL);
    /* Reserved names. */
    set[0].name = "@gen";
    ck_assert_int_eq(acme_redis_publish(r, pool, l, "node-a", 3, set, 1, &seq), APR_EINVAL);
}
END_TEST

START_TEST(heartbeats)
{
    acme_redis_t *r = open_main();
    apr_array_header_t *nodes;
    acme_fleet_node_t *n;

    ck_assert_int_eq(acme_redis_heartbeat(r, pool, "node-b", "{\"serials\":[]}", 14, apr_time_from_sec(60)),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_redis_heartbeat(r, pool, "node-a", "{}", 2, apr_time_from_sec(60)), APR_SUCCESS);
    ck_assert_int_eq(acme_redis_nodes(r, pool, &nodes), APR_SUCCESS);
    ck_assert_int_eq(nodes->nelts, 2);
    n = &APR_ARRAY_IDX(nodes, 0, acme_fleet_node_t);
    ck_assert_str_eq(n->name, "node-a");
    ck_assert_str_eq(n->data, "{}");
    ck_assert(n->age >= 0 && n->age < apr_time_from_sec(5));
    ck_assert_str_eq(APR_ARRAY_IDX(nodes, 1, acme_fleet_node_t).data, "{\"serials\":[]}");
    /* node-b falls silent; node-a's next heartbeat forgets it. */
    apr_sleep(apr_time_from_msec(200));
    ck_assert_int_eq(acme_redis_heartbeat(r, pool, "node-a", "{}", 2, apr_time_from_msec(100)), APR_SUCCESS);
    ck_assert_int_eq(acme_redis_nodes(r, pool, &nodes), APR_SUCCESS);
    ck_assert_int_eq(nodes->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(nodes, 0, acme_fleet_node_t).name, "node-a");
}
END_TEST

START_TEST(function_reload)
{
    acme_redis_t *r = open_main();
    acme_lease_t *l;
    redisReply *rep;

    take(r, "d:f.example", "node-a", 10000);
    /* Redis lost the library (a restart without persistence keeps no functions). */
    raw_ok(main_srv.port, "FUNCTION FLUSH");
    l = take(r, "d:f2.example", "node-a", 10000);
    ck_assert_uint_eq(l->token, 1);
    ck_assert_ptr_nonnull(strstr(logged, "loaded again"));
    rep = raw(main_srv.port, "FUNCTION LIST LIBRARYNAME acme1");
    ck_assert_int_eq(rep->type, REDIS_REPLY_ARRAY);
    ck_assert_uint_eq(rep->elements, 1);
    freeReplyObject(rep);

    /* Another build's library of the same name is replaced at connect. */
    rep = raw(main_srv.port, "FUNCTION LOAD REPLACE %s",
              "#!lua name=acme1\nredis.register_function{function_name='acme1_version', "
              "callback=function() return 'old' end, flags={'no-writes'}}");
    ck_assert_int_ne(rep->type, REDIS_REPLY_ERROR);
    freeReplyObject(rep);
    logged[0] = '\0';
    r = open_main();
    ck_assert_ptr_nonnull(strstr(logged, "replaced"));
    take(r, "d:f3.example", "node-a", 10000);
}
END_TEST

START_TEST(reconnect)
{
    acme_redis_t *r = open_main();
    redisReply *rep;

    ck_assert_int_eq(put1(r, "d:re.example", NULL, "x", "1"), APR_SUCCESS);
    /* The server drops every client (a restart, a proxy's idle timeout). */
    rep = raw(main_srv.port, "CLIENT KILL TYPE normal");
    ck_assert_int_ge(rep->integer, 1);
    freeReplyObject(rep);
    ck_assert_str_eq(get1(r, "d:re.example", "x"), "1");
    ck_assert_ptr_nonnull(strstr(logged, "connecting again"));
}
END_TEST

START_TEST(server_warnings)
{
    acme_redis_t *r = open_main();
    apr_array_header_t *w;

    ck_assert_int_eq(acme_redis_check(r, pool, &w), APR_SUCCESS);
    ck_assert_int_eq(w->nelts, 1);
    ck_assert_ptr_nonnull(strstr(APR_ARRAY_IDX(w, 0, const char *), "AOF off"));
    raw_ok(main_srv.port, "CONFIG SET maxmemory-policy allkeys-lru");
    ck_assert_int_eq(acme_redis_check(r, pool, &w), APR_SUCCESS);
    raw_ok(main_srv.port, "CONFIG SET maxmemory-policy noeviction");
    ck_assert_int_eq(w->nelts, 2);
    ck_assert_ptr_nonnull(strstr(APR_ARRAY_IDX(w, 1, const char *), "allkeys-lru"));
}
END_TEST

START_TEST(connect_failures)
{
    acme_redis_opts_t o = { apr_time_from_msec(300), apr_time_from_msec(300), 0 };
    acme_redis_t *r = NULL;
    const char *err = NULL;
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    apr_time_t t0;
    int fd, port = free_port();

    ck_assert_int_eq(acme_redis_open(pool, apr_psprintf(pool, "redis://127.0.0.1:%d", port), &o,
                                     NULL, &r, &err), APR_ECONNREFUSED);
    ck_assert_ptr_null(r);
    ck_assert_ptr_nonnull(strstr(err, apr_psprintf(pool, "127.0.0.1:%d", port)));
    ck_assert_int_eq(acme_redis_open(pool, "rediss://127.0.0.1:6379", &o, NULL, &r, &err), APR_ENOTIMPL);
    ck_assert_ptr_nonnull(strstr(err, "stunnel"));
    ck_assert_int_eq(acme_redis_open(pool, "redis://127.0.0.1:6379?x", &o, NULL, &r, &err), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "invalid Redis URL"));

    /* A server that accepts and never answers: the command timeout ends it. */
    fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(fd, 4), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    t0 = apr_time_now();
    ck_assert_int_eq(acme_redis_open(pool, apr_psprintf(pool, "redis://127.0.0.1:%d", ntohs(a.sin_port)),
                                     &o, NULL, &r, &err), APR_TIMEUP);
    ck_assert(apr_time_now() - t0 < apr_time_from_sec(20));  /* a hang would hit the test timeout */
    ck_assert_ptr_nonnull(strstr(err, "no answer in time"));
    close(fd);
}
END_TEST

START_TEST(auth_and_db)
{
    static const char *const extra[] = {
        "--requirepass", "s3cret", "--user", "alice", "on", ">pw-of-alice", "~*", "&*", "+@all", NULL
    };
    server_t s;
    acme_redis_t *r = NULL;
    const char *err = NULL;
    redisReply *rep;
    redisContext *c;

    ck_assert(server_start(&s, extra));
    ck_assert_int_eq(acme_redis_open(pool, apr_psprintf(pool, "redis://127.0.0.1:%d", s.port),
                                     NULL, NULL, &r, &err), APR_EACCES);
    ck_assert_ptr_nonnull(strstr(err, "needs a password"));
    ck_assert_int_eq(acme_redis_open(pool, apr_psprintf(pool, "redis://:wrong-one@127.0.0.1:%d", s.port),
                                     NULL, NULL, &r, &err), APR_EACCES);
    ck_assert_ptr_null(strstr(err, "wrong-one"));
    ck_assert_ptr_nonnull(strstr(err, ":***@"));
    ck_assert_int_eq(acme_redis_open(pool, apr_psprintf(pool, "redis://alice:s3cret@127.0.0.1:%d", s.port),
                                     NULL, NULL, &r, &err), APR_EACCES);

    r = open_on(s.port, ":s3cret@");
    take(r, "d:auth.example", "node-a", 10000);
    r = NULL;
    ck_assert_int_eq(acme_redis_open(pool, apr_psprintf(pool, "redis://alice:pw-of-alice@127.0.0.1:%d/3",
                                                         s.port), NULL, NULL, &r, &err), APR_SUCCESS);
    ck_assert_int_eq(put1(r, "d:auth.example", NULL, "in-db-3", "yes"), APR_SUCCESS);
    c = raw_connect(s.port);
    rep = redisCommand(c, "AUTH s3cret");
    freeReplyObject(rep);
    rep = redisCommand(c, "EXISTS acme:{d:auth.example}:k:in-db-3");
    ck_assert_int_eq(rep->integer, 0);
    freeReplyObject(rep);
    rep = redisCommand(c, "SELECT 3");
    freeReplyObject(rep);
    rep = redisCommand(c, "EXISTS acme:{d:auth.example}:k:in-db-3");
    ck_assert_int_eq(rep->integer, 1);
    freeReplyObject(rep);
    redisFree(c);
    acme_redis_close(r);
    server_remove(&s);
}
END_TEST

/* Redis restarted without persistence: the library comes back by itself;
 * fences restart at 1, yet a lease from before the restart whose token
 * number comes round again is still not the holder. */
START_TEST(restart_without_persistence)
{
    server_t s;
    acme_redis_t *ra, *rb;
    acme_lease_t *a, *b;

    ck_assert(server_start(&s, NULL));
    ra = open_on(s.port, NULL);
    rb = open_on(s.port, NULL);
    a = take(ra, "d:restart.example", "node-a", 60000);
    ck_assert_uint_eq(a->token, 1);
    server_stop(&s, SIGKILL);
    ck_assert(server_start_on(&s, s.port, NULL));

    b = take(rb, "d:restart.example", "node-b", 60000);
    ck_assert_uint_eq(b->token, 1);
    ck_assert_int_eq(put1(ra, "d:restart.example", a, "order.json", "a"), ACME_FLEET_EFENCED);
    ck_assert_int_eq(put1(rb, "d:restart.example", b, "order.json", "b"), APR_SUCCESS);
    server_remove(&s);
}
END_TEST

/* ---- the request path's pool ------------------------------------------ */

static acme_redis_pool_t *pool_on(int port, int threshold, int open_ms)
{
    acme_redis_pool_opts_t o;
    acme_redis_pool_t *rp = NULL;
    const char *err = NULL;

    memset(&o, 0, sizeof(o));
    o.timeout = apr_time_from_sec(5);       /* capped at 250 ms */
    o.breaker.threshold = threshold;
    o.breaker.open_min = apr_time_from_msec(open_ms);
    ck_assert_msg(acme_redis_pool_create(pool, apr_psprintf(pool, "redis://127.0.0.1:%d", port),
                                         &o, &logger, &rp, &err) == APR_SUCCESS, "pool: %s", err);
    return rp;
}

static apr_status_t pool_get1(acme_redis_pool_t *rp, const char *scope, const char *name,
                              const char **value)
{
    char *data = NULL;
    apr_size_t len = 0;
    apr_status_t rv = acme_redis_pool_get(rp, pool, scope, name, &data, &len);

    *value = rv == APR_SUCCESS ? data : NULL;
    return rv;
}

START_TEST(pool_lookups)
{
    acme_redis_t *r = open_main();
    acme_redis_pool_t *rp = pool_on(main_srv.port, 2, 1000);
    const char *v;
    const char *err = NULL;
    int i;

    ck_assert_int_eq(put1(r, "c:pool.example", NULL, "http-01.tok", "tok.thumb"), APR_SUCCESS);
    for (i = 0; i < 10; i++) {
        ck_assert_int_eq(pool_get1(rp, "c:pool.example", "http-01.tok", &v), APR_SUCCESS);
        ck_assert_str_eq(v, "tok.thumb");
        /* absent is an answer: the breaker stays closed */
        ck_assert_int_eq(pool_get1(rp, "c:pool.example", "http-01.other", &v), APR_ENOENT);
    }
    ck_assert_int_eq(acme_redis_pool_open_until(rp), 0);
    /* nothing is connected at creation: a pool for a server that is down is made */
    ck_assert_int_eq(acme_redis_pool_create(pool, apr_psprintf(pool, "redis://127.0.0.1:%d",
                                                               free_port()), NULL, NULL, &rp, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_redis_pool_create(pool, "rediss://127.0.0.1:6379", NULL, NULL, &rp, &err),
                     APR_ENOTIMPL);
    ck_assert_ptr_nonnull(strstr(err, "stunnel"));
}
END_TEST

/* Redis goes away: two failed lookups open the breaker, and from then on a
 * lookup fails at once without a connection attempt until the probe after
 * the open period finds the server back. */
START_TEST(pool_breaker)
{
    server_t s;
    acme_redis_t *r;
    acme_redis_pool_t *rp;
    const char *v;
    apr_time_t t0;
    int i;

    ck_assert(server_start(&s, NULL));
    r = open_on(s.port, NULL);
    rp = pool_on(s.port, 2, 300);
    ck_assert_int_eq(put1(r, "c:brk.example", NULL, "a", "1"), APR_SUCCESS);
    ck_assert_int_eq(pool_get1(rp, "c:brk.example", "a", &v), APR_SUCCESS);
    server_stop(&s, SIGKILL);

    ck_assert_int_ne(pool_get1(rp, "c:brk.example", "a", &v), APR_SUCCESS);
    ck_assert_int_eq(acme_redis_pool_open_until(rp), 0);
    ck_assert_int_ne(pool_get1(rp, "c:brk.example", "a", &v), APR_SUCCESS);
    ck_assert_int_ne(acme_redis_pool_open_until(rp), 0);
    for (i = 0; i < 100; i++) {
        ck_assert_int_eq(pool_get1(rp, "c:brk.example", "a", &v), APR_EAGAIN);
    }

    ck_assert(server_start_on(&s, s.port, NULL));
    r = open_on(s.port, NULL);
    ck_assert_int_eq(put1(r, "c:brk.example", NULL, "a", "2"), APR_SUCCESS);
    t0 = apr_time_now();
    while (pool_get1(rp, "c:brk.example", "a", &v) != APR_SUCCESS) {
        ck_assert_msg(apr_time_now() - t0 < apr_time_from_sec(10), "the breaker never closed");
        apr_sleep(apr_time_from_msec(20));
    }
    ck_assert_str_eq(v, "2");
    ck_assert_int_eq(acme_redis_pool_open_until(rp), 0);
    server_remove(&s);
}
END_TEST

/* A server that stopped answering (SIGSTOP): a lookup ends at the pool's
 * timeout, not the engine's default of 2 s, and then the breaker answers. */
START_TEST(pool_stalled_server)
{
    server_t s;
    acme_redis_t *r;
    acme_redis_pool_t *rp;
    const char *v;
    apr_interval_time_t took;
    apr_time_t t0;

    ck_assert(server_start(&s, NULL));
    r = open_on(s.port, NULL);
    rp = pool_on(s.port, 1, 60000);
    ck_assert_int_eq(put1(r, "c:stall.example", NULL, "a", "1"), APR_SUCCESS);
    ck_assert_int_eq(pool_get1(rp, "c:stall.example", "a", &v), APR_SUCCESS);
    kill(s.pid, SIGSTOP);
    t0 = apr_time_now();
    ck_assert_int_eq(pool_get1(rp, "c:stall.example", "a", &v), APR_TIMEUP);
    took = apr_time_now() - t0;
    /* generous bound (a loaded machine); the engine's default would be 2 s */
    ck_assert_msg(took < apr_time_from_msec(1900), "a stalled lookup took %" APR_TIME_T_FMT " us",
                  took);
    ck_assert_int_eq(pool_get1(rp, "c:stall.example", "a", &v), APR_EAGAIN);
    kill(s.pid, SIGCONT);
    server_remove(&s);
}
END_TEST

/* ---- the fleet store backend ------------------------------------------- */

static acme_store_t *fleet_store(const char *node, const acme_seal_keys_t *keys)
{
    acme_store_spec_t o;
    acme_store_t *st = NULL;
    const char *err = NULL;

    memset(&o, 0, sizeof(o));
    o.url = apr_psprintf(pool, "redis://127.0.0.1:%d", main_srv.port);
    o.dir = apr_pstrcat(pool, tmpdir, "/", node, NULL);
    o.keys = keys;
    o.node = node;
    o.lock_ttl = apr_time_from_sec(5);
    o.log = &logger;
    ck_assert_msg(acme_store_open(pool, &o, &st, &err) == APR_SUCCESS, "open: %s", err);
    return st;
}

START_TEST(store_backend)
{
    static const char pem[] = "-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n";
    const char *ktext = "k1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", *err = NULL;
    acme_seal_keys_t *keys;
    acme_store_t *a, *b, *nokey;
    acme_store_lock_t *la = NULL, *lb = NULL;
    apr_array_header_t *set, *got;
    acme_store_item_t *it;
    apr_uint64_t gen = 0;
    const char *node = NULL;
    redisReply *rep;
    char *data;
    apr_size_t len;

    tu_scratch_create("test_store_redis");
    ck_assert_int_eq(acme_seal_keys_parse(pool, ktext, strlen(ktext), &keys, &err), APR_SUCCESS);
    a = fleet_store("node-a", keys);
    b = fleet_store("node-b", keys);
    nokey = fleet_store("node-c", NULL);
    ck_assert_str_eq(a->kind, "redis");

    /* a private item reaches Redis only sealed, and opens on another node */
    ck_assert_int_eq(a->save(a, pool, ACME_SG_ACCOUNTS, "ca1", "account.pem", pem,
                             strlen(pem), ACME_STORE_PRIVATE, NULL), APR_SUCCESS);
    rep = raw(main_srv.port, "GET acme:{a:ca1}:k:account.pem");
    ck_assert_int_eq(rep->type, REDIS_REPLY_STRING);
    ck_assert_ptr_null(memmem(rep->str, rep->len, "PRIVATE", 7));
    freeReplyObject(rep);
    ck_assert_int_eq(b->load(b, pool, ACME_SG_ACCOUNTS, "ca1", "account.pem", &data, &len),
                     APR_SUCCESS);
    ck_assert_str_eq(data, pem);
    ck_assert_int_eq(nokey->load(nokey, pool, ACME_SG_ACCOUNTS, "ca1", "account.pem", &data,
                                 &len), APR_EACCES);
    ck_assert_int_eq(nokey->save(nokey, pool, ACME_SG_ACCOUNTS, "ca1", "x.pem", pem,
                                 strlen(pem), ACME_STORE_PRIVATE, NULL), APR_EACCES);
    /* moved to another entry: refused */
    raw_ok(main_srv.port, "COPY acme:{a:ca1}:k:account.pem acme:{a:ca2}:k:account.pem");
    raw_ok(main_srv.port, "ZADD acme:{a:ca2}:index +inf account.pem");
    ck_assert_int_eq(b->load(b, pool, ACME_SG_ACCOUNTS, "ca2", "account.pem", &data, &len),
                     ACME_SEAL_EMISMATCH);

    /* one lock holder fleet-wide; writes under it are fenced */
    ck_assert_int_eq(a->lock(a, pool, ACME_SG_STATE, "example.org", 0, &la), APR_SUCCESS);
    ck_assert_int_eq(b->lock(b, pool, ACME_SG_STATE, "example.org", 0, &lb), APR_TIMEUP);
    ck_assert_int_eq(a->save(a, pool, ACME_SG_STATE, "example.org", "order.json", "{}", 2, 0,
                             la), APR_SUCCESS);
    set = apr_array_make(pool, 2, sizeof(acme_store_item_t));
    it = apr_array_push(set);
    it->name = "fullchain.pem"; it->data = "chain"; it->len = 5; it->flags = 0;
    it = apr_array_push(set);
    it->name = "privkey.pem"; it->data = pem; it->len = strlen(pem);
    it->flags = ACME_STORE_PRIVATE;
    ck_assert_int_eq(a->replace(a, pool, ACME_SG_PUBLISHED, "example.org", set, ACME_SG_COUNT,
                                la), APR_SUCCESS);
    rep = raw(main_srv.port, "HGETALL acme:{d:example.org}:pub");
    for (size_t i = 0; i < rep->elements; i++) {
        ck_assert_ptr_null(memmem(rep->element[i]->str, rep->element[i]->len, "PRIVATE", 7));
    }
    freeReplyObject(rep);
    ck_assert_int_eq(acme_store_published(b, pool, "example.org", &got, &gen, &node, NULL),
                     APR_SUCCESS);
    ck_assert_int_eq((int)gen, 1);
    ck_assert_str_eq(node, "node-a");
    ck_assert_int_eq(got->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(got, 1, acme_store_item_t).data, pem);
    ck_assert_int_eq(b->load(b, pool, ACME_SG_PUBLISHED, "example.org", "fullchain.pem", &data,
                             &len), APR_SUCCESS);
    ck_assert_str_eq(data, "chain");
    /* the lease is taken away (as after a pause past its TTL): a's writes fail */
    raw_ok(main_srv.port, "DEL acme:{d:example.org}:lock");
    ck_assert_int_eq(b->lock(b, pool, ACME_SG_STATE, "example.org", 0, &lb), APR_SUCCESS);
    ck_assert_int_eq(a->save(a, pool, ACME_SG_STATE, "example.org", "order.json", "{\"x\":1}",
                             7, 0, la), ACME_STORE_ELOST);
    ck_assert_int_eq(a->replace(a, pool, ACME_SG_PUBLISHED, "example.org", set, ACME_SG_COUNT,
                                la), ACME_STORE_ELOST);
    ck_assert_int_eq(b->load(b, pool, ACME_SG_STATE, "example.org", "order.json", &data, &len),
                     APR_SUCCESS);
    ck_assert_str_eq(data, "{}");
    ck_assert_int_eq(b->hold(lb, apr_time_from_sec(1)), APR_SUCCESS);
    b->unlock(lb);
    a->unlock(la);

    /* a challenge answer placed by a is found by b, which has no local copy */
    ck_assert_int_eq(a->save(a, pool, ACME_SG_CHALLENGES, "example.org", "http-01.tok", "ka",
                             2, ACME_STORE_REGENERABLE, NULL), APR_SUCCESS);
    ck_assert_int_eq(b->load(b, pool, ACME_SG_CHALLENGES, "example.org", "http-01.tok", &data,
                             &len), APR_SUCCESS);
    ck_assert_str_eq(data, "ka");
    ck_assert_int_eq(a->remove(a, pool, ACME_SG_CHALLENGES, "example.org", "http-01.tok", NULL),
                     APR_SUCCESS);
    ck_assert_int_eq(b->load(b, pool, ACME_SG_CHALLENGES, "example.org", "http-01.tok", &data,
                             &len), APR_ENOENT);

    /* what mod_ssl loads stays in local files */
    ck_assert_ptr_nonnull(strstr(a->where(a, pool, ACME_SG_DOMAINS, "example.org", "privkey.pem"),
                                 "node-a"));
    ck_assert_ptr_nonnull(strstr(a->where(a, pool, ACME_SG_STATE, "example.org", "order.json"),
                                 "Redis"));
    tu_scratch_remove();
}
END_TEST

#endif /* ACME_HAVE_HIREDIS */

static Suite *suite(void)
{
    Suite *s = suite_create("redis");
    TCase *tc = tu_tcase(s, "parse", 0, tu_setup, tu_teardown);

    tcase_add_test(tc, url_valid);
    tcase_add_test(tc, url_hostile);
    tcase_add_test(tc, url_show);
    tcase_add_test(tc, info_parse);
#ifndef ACME_HAVE_HIREDIS
    tcase_add_test(tc, not_built);
    fprintf(stderr, "test_redis: built without hiredis: only parsing and the stub are tested\n");
#else
    if (!find_redis()) {
        fprintf(stderr, "test_redis: SKIPPED the tests against a server: redis-server not found "
                "(Debian package redis-server; scripts/check installs it)\n");
        return s;
    }
    tc = tu_tcase(s, "server", 60, each_setup, tu_teardown);
    tcase_add_unchecked_fixture(tc, main_up, main_down);
    tcase_add_test(tc, lease_cycle);
    tcase_add_test(tc, fence_monotonic);
    tcase_add_test(tc, paused_node_is_fenced);
    tcase_add_test(tc, items_binary_safe);
    tcase_add_test(tc, size_limits);
    tcase_add_test(tc, publish_and_watch);
    tcase_add_test(tc, heartbeats);
    tcase_add_test(tc, function_reload);
    tcase_add_test(tc, reconnect);
    tcase_add_test(tc, server_warnings);
    tcase_add_test(tc, connect_failures);
    tcase_add_test(tc, auth_and_db);
    tcase_add_test(tc, restart_without_persistence);
    tcase_add_test(tc, pool_lookups);
    tcase_add_test(tc, pool_breaker);
    tcase_add_test(tc, pool_stalled_server);
    tcase_add_test(tc, store_backend);
#endif
    return s;
}

int main(void)
{
    return tu_run(suite());
}
