/* acme_redis.c: the Redis fleet engine on hiredis (a stub that says how to get it when built without hiredis). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "acme_redis.h"

#define NO_TLS_MSG \
    "rediss:// (Redis over TLS) is not available: hiredis 0.14 (Debian 12) has no TLS. " \
    "Run a local TLS tunnel to the Redis server (stunnel or spiped listening on 127.0.0.1) " \
    "and use redis://127.0.0.1:PORT (README \"Running a fleet\")"
#define NO_HIREDIS_MSG \
    "mod_acme was built without hiredis, so the Redis store is not available: install the " \
    "Debian package libhiredis-dev and build again (configure finds it; with apxs add " \
    "-DACME_HAVE_HIREDIS -lhiredis)"

#ifdef ACME_HAVE_HIREDIS

#include <errno.h>
#include <poll.h>
#include <hiredis/hiredis.h>
#include <openssl/evp.h>
#include "acme_redis_lua.h"

#define FLEET_CHANNEL "acme:fleet"
#define KEY_SEQ "acme:{fleet}:seq"
#define KEY_PUBLISHED "acme:{fleet}:published"
#define KEY_NODES "acme:{fleet}:nodes"
#define KEY_SEEN "acme:{fleet}:seen"
#define FN(name) ACME_REDIS_LIBRARY "_" name
#define MAX_ARGS 4096               /* items per call, with their keys and arguments */

struct acme_redis_t {
    apr_pool_t *pool;
    acme_redis_url_t url;
    const char *shown;              /* the URL without password, for messages */
    acme_redis_opts_t opts;
    const acme_logger_t *log;
    redisContext *c;                /* NULL while disconnected */
    int watching;                   /* c is subscribed to the hint channel */
    char err[512];
};

/* ---- errors ----------------------------------------------------------- */

/* Records what failed (prefixed with the server) and returns rv. */
static apr_status_t fail(acme_redis_t *r, apr_status_t rv, const char *fmt, ...) ACME_PRINTF(3, 4);
static apr_status_t fail(acme_redis_t *r, apr_status_t rv, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(r->err, sizeof(r->err), "Redis %s: ", r->shown);

    if (n < 0 || (apr_size_t)n >= sizeof(r->err)) n = 0;
    va_start(ap, fmt);
    vsnprintf(r->err + n, sizeof(r->err) - (apr_size_t)n, fmt, ap);
    va_end(ap);
    return rv;
}

/* A server's text, safe to log: control characters replaced, cut short. */
static const char *printable(apr_pool_t *p, const char *s, apr_size_t len)
{
    char *out;
    apr_size_t i;

    if (len > 200) len = 200;
    out = apr_pstrmemdup(p, s, len);
    for (i = 0; i < len; i++) {
        if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] >= 0x7f) out[i] = '?';
    }
    return out;
}

static apr_status_t io_status(int err, int saved_errno)
{
    if (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK || saved_errno == ETIMEDOUT
        || saved_errno == EINPROGRESS) {
        return APR_TIMEUP;
    }
    if (saved_errno == ECONNREFUSED) return APR_ECONNREFUSED;
    if (err == REDIS_ERR_EOF) return APR_EOF;
    if (err == REDIS_ERR_OOM) return APR_ENOMEM;
    return saved_errno ? APR_FROM_OS_ERROR(saved_errno) : APR_EGENERAL;
}

/* ---- connection ------------------------------------------------------- */

static struct timeval timeval_of(apr_interval_time_t t)
{
    struct timeval tv;

    tv.tv_sec = (time_t)apr_time_sec(t);
    tv.tv_usec = (suseconds_t)apr_time_usec(t);
    return tv;
}

static void drop(acme_redis_t *r)
{
    if (r->c) {
        redisFree(r->c);
        r->c = NULL;
    }
    r->watching = 0;
}

/* Sends one command on the open connection. A transport failure closes the
 * connection; *closed says it was closed under us (EOF, reset), not a
 * timeout: sending again on a new connection is sound then. */
static apr_status_t send_cmd(acme_redis_t *r, const char *what, int argc, const char **argv,
                             const size_t *lens, redisReply **out, int *closed)
{
    redisReply *reply;
    int saved, kind;
    apr_status_t rv;

    if (closed) *closed = 0;
    errno = 0;
    reply = redisCommandArgv(r->c, argc, argv, lens);
    if (reply) {
        *out = reply;
        return APR_SUCCESS;
    }
    saved = errno;
    kind = r->c->err;
    rv = io_status(kind, saved);
    fail(r, rv, "%s: %s", what, rv == APR_TIMEUP ? "no answer in time" : r->c->errstr);
    if (closed) *closed = rv != APR_TIMEUP && (kind == REDIS_ERR_EOF || kind == REDIS_ERR_IO);
    drop(r);
    return rv;
}

/* Maps an error reply to a status (and frees it); other replies pass. */
static apr_status_t check_reply(acme_redis_t *r, apr_pool_t *p, const char *what, redisReply *reply)
{
    const char *s;
    apr_status_t rv = APR_EGENERAL;

    if (reply->type != REDIS_REPLY_ERROR) return APR_SUCCESS;
    s = reply->str ? reply->str : "";
    if (!strncmp(s, "ACME_FENCED", 11)) rv = ACME_FLEET_EFENCED;
    else if (!strncmp(s, "ACME_STALE", 10)) rv = ACME_FLEET_ESTALE;
    else if (!strncmp(s, "NOAUTH", 6) || !strncmp(s, "WRONGPASS", 9) || !strncmp(s, "NOPERM", 6)) rv = APR_EACCES;
    else if (!strncmp(s, "OOM", 3)) rv = APR_ENOSPC;
    else if (!strncmp(s, "LOADING", 7) || !strncmp(s, "BUSY", 4)) rv = APR_EAGAIN;
    else if (!strncmp(s, "READONLY", 8)) rv = APR_EACCES;
    fail(r, rv, "%s: %s", what, printable(p, s, reply->len));
    freeReplyObject(reply);
    return rv;
}

static apr_status_t unexpected(acme_redis_t *r, const char *what, redisReply *reply)
{
    if (reply) freeReplyObject(reply);
    return fail(r, APR_EGENERAL, "unexpected answer to %s", what);
}

/* The library text and its fingerprint (SHA-256 of the body, 16 hex). */
static const char *library_text(apr_pool_t *p, const char **fp)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char hex[17];
    int i;

    EVP_Digest(acme_redis_lua_body, sizeof(acme_redis_lua_body) - 1, md, &mdlen, EVP_sha256(), NULL);
    for (i = 0; i < 8; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
    *fp = apr_pstrdup(p, hex);
    return apr_pstrcat(p, "#!lua name=" ACME_REDIS_LIBRARY "\nlocal FP = '", hex, "'\n",
                       acme_redis_lua_body, NULL);
}

static int reply_has(const redisReply *reply, const char *text)
{
    return reply->type == REDIS_REPLY_ERROR && reply->str && strstr(reply->str, text);
}

/* Makes sure the server has this build's library: loaded when absent or
 * different (force: load without asking). */
static apr_status_t ensure_library(acme_redis_t *r, apr_pool_t *p, int force)
{
    const char *fp, *text = library_text(p, &fp);
    const char *argv[4];
    size_t lens[4];
    redisReply *reply;
    apr_status_t rv;
    int present = 0;

    if (!force) {
        argv[0] = "FCALL_RO"; argv[1] = FN("version"); argv[2] = "0";
        lens[0] = 8; lens[1] = strlen(argv[1]); lens[2] = 1;
        if ((rv = send_cmd(r, "FCALL_RO " FN("version"), 3, argv, lens, &reply, NULL)) != APR_SUCCESS) {
            return rv;
        }
        if (reply->type == REDIS_REPLY_STRING && reply->len == strlen(fp) && !memcmp(reply->str, fp, reply->len)) {
            freeReplyObject(reply);
            return APR_SUCCESS;
        }
        if (reply_has(reply, "unknown command")) {
            freeReplyObject(reply);
            return fail(r, APR_ENOTIMPL, "Redis 7 or later is needed (this server has no FCALL_RO)");
        }
        present = reply->type == REDIS_REPLY_STRING;
        if (!present && !reply_has(reply, "Function not found")) {
            return check_reply(r, p, "FCALL_RO " FN("version"), reply);
        }
        freeReplyObject(reply);
    }
    argv[0] = "FUNCTION"; argv[1] = "LOAD"; argv[2] = "REPLACE"; argv[3] = text;
    lens[0] = 8; lens[1] = 4; lens[2] = 7; lens[3] = strlen(text);
    if ((rv = send_cmd(r, "FUNCTION LOAD", 4, argv, lens, &reply, NULL)) != APR_SUCCESS) return rv;
    if (reply->type == REDIS_REPLY_ERROR && present && !strncmp(reply->str, "NOPERM", 6)) {
        /* Another build's library stays; its contract has the same name. */
        acme_log(r->log, ACME_LOG_WARN, 0, "Redis %s: library %s differs from this build's and "
                 "this user may not FUNCTION LOAD: using the server's", r->shown, ACME_REDIS_LIBRARY);
        freeReplyObject(reply);
        return APR_SUCCESS;
    }
    if ((rv = check_reply(r, p, "FUNCTION LOAD", reply)) != APR_SUCCESS) return rv;
    freeReplyObject(reply);
    acme_log(r->log, force ? ACME_LOG_NOTICE : ACME_LOG_INFO, 0,
             "Redis %s: function library %s %s (fingerprint %s)", r->shown, ACME_REDIS_LIBRARY,
             force ? "loaded again: the server had lost it (restarted without persistence?)"
                   : present ? "replaced (another build's was loaded)" : "loaded", fp);
    return APR_SUCCESS;
}

/* Connects and prepares a session: TLS, AUTH, SELECT, library. */
static apr_status_t session(acme_redis_t *r)
{
    apr_pool_t *p;
    redisReply *reply;
    const char *argv[3];
    size_t lens[3];
    apr_status_t rv;
    int saved, argc;

    errno = 0;
    r->c = redisConnectWithTimeout(r->url.host, r->url.port, timeval_of(r->opts.connect_timeout));
    saved = errno;
    if (!r->c) return fail(r, APR_ENOMEM, "cannot allocate a connection");
    if (r->c->err) {
        rv = io_status(r->c->err, saved);
        fail(r, rv, "cannot connect: %s", rv == APR_TIMEUP ? "no answer in time" : r->c->errstr);
        drop(r);
        return rv;
    }
    if (redisSetTimeout(r->c, timeval_of(r->opts.timeout)) != REDIS_OK) {
        fail(r, APR_EGENERAL, "cannot set the command timeout: %s", r->c->errstr);
        drop(r);
        return APR_EGENERAL;
    }
    redisEnableKeepAlive(r->c);
    /* TLS goes here once hiredis >= 1.0 (hiredis_ssl) is the floor:
     * redisCreateSSLContext (system trust, server name url.host), then
     * redisInitiateSSLWithContext, before AUTH. acme_redis_open refuses
     * rediss:// until then. */
    apr_pool_create(&p, r->pool);
    if (r->url.password) {
        argc = 0;
        argv[argc] = "AUTH"; lens[argc++] = 4;
        if (r->url.user) { argv[argc] = r->url.user; lens[argc++] = strlen(r->url.user); }
        argv[argc] = r->url.password; lens[argc++] = strlen(r->url.password);
        if ((rv = send_cmd(r, "AUTH", argc, argv, lens, &reply, NULL)) != APR_SUCCESS) goto out;
        if ((rv = check_reply(r, p, "AUTH", reply)) != APR_SUCCESS) goto out;
        freeReplyObject(reply);
    }
    if (r->url.db) {
        argv[0] = "SELECT"; lens[0] = 6;
        argv[1] = apr_itoa(p, r->url.db); lens[1] = strlen(argv[1]);
        if ((rv = send_cmd(r, "SELECT", 2, argv, lens, &reply, NULL)) != APR_SUCCESS) goto out;
        if ((rv = check_reply(r, p, apr_psprintf(p, "SELECT %d", r->url.db), reply)) != APR_SUCCESS) goto out;
        freeReplyObject(reply);
    }
    rv = ensure_library(r, p, 0);
out:
    if (rv != APR_SUCCESS) {
        if (rv == APR_EACCES && !r->url.password && strstr(r->err, "NOAUTH")) {
            fail(r, rv, "the server needs a password: redis://[user]:password@host:port");
        }
        drop(r);
    }
    apr_pool_destroy(p);
    return rv;
}

/* One command, connecting first when needed, sent once more on a new
 * connection when an old one turned out closed. Error replies are returned
 * as replies (check_reply maps them). */
static apr_status_t call_raw(acme_redis_t *r, const char *what, int argc, const char **argv,
                             const size_t *lens, redisReply **out)
{
    apr_status_t rv;
    int closed, attempt, fresh;

    if (r->watching) {
        return fail(r, APR_EINVAL, "this connection waits for publish hints; use another for %s", what);
    }
    for (attempt = 0; attempt < 2; attempt++) {
        fresh = !r->c;
        if (fresh && (rv = session(r)) != APR_SUCCESS) return rv;
        rv = send_cmd(r, what, argc, argv, lens, out, &closed);
        /* Only a connection from before this call may have gone stale. */
        if (rv == APR_SUCCESS || !closed || fresh) return rv;
        acme_log(r->log, ACME_LOG_DEBUG, rv, "%s; connecting again", r->err);
    }
    return rv;
}

/* call_raw for commands that answer with a value (not an error). */
static apr_status_t call(acme_redis_t *r, apr_pool_t *p, const char *what, int argc,
                         const char **argv, const size_t *lens, redisReply **out)
{
    apr_status_t rv = call_raw(r, what, argc, argv, lens, out);

    return rv == APR_SUCCESS ? check_reply(r, p, what, *out) : rv;
}

/* ---- arguments -------------------------------------------------------- */

/* A command's arguments (binary-safe). The first three are left for
 * FCALL, the function and the key count (filled by fcall). */
typedef struct args_t {
    apr_array_header_t *v;      /* const char * */
    apr_array_header_t *l;      /* size_t */
} args_t;

static args_t *fargs(apr_pool_t *p)
{
    args_t *a = apr_palloc(p, sizeof(*a));

    a->v = apr_array_make(p, 16, sizeof(const char *));
    a->l = apr_array_make(p, 16, sizeof(size_t));
    APR_ARRAY_PUSH(a->v, const char *) = NULL;
    APR_ARRAY_PUSH(a->v, const char *) = NULL;
    APR_ARRAY_PUSH(a->v, const char *) = NULL;
    APR_ARRAY_PUSH(a->l, size_t) = 0;
    APR_ARRAY_PUSH(a->l, size_t) = 0;
    APR_ARRAY_PUSH(a->l, size_t) = 0;
    return a;
}

static void arg(args_t *a, const void *s, apr_size_t len)
{
    APR_ARRAY_PUSH(a->v, const char *) = s;
    APR_ARRAY_PUSH(a->l, size_t) = len;
}

static void arg_s(args_t *a, const char *s)
{
    arg(a, s, strlen(s));
}

static const char *key(apr_pool_t *p, const char *scope, const char *suffix)
{
    return apr_pstrcat(p, "acme:{", scope, "}:", suffix, NULL);
}

static const char *item_key(apr_pool_t *p, const char *scope, const char *name)
{
    return apr_pstrcat(p, "acme:{", scope, "}:k:", name, NULL);
}

static const char *u64(apr_pool_t *p, apr_uint64_t v)
{
    return apr_psprintf(p, "%" APR_UINT64_T_FMT, v);
}

static const char *msec(apr_pool_t *p, apr_interval_time_t t)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)apr_time_as_msec(t));
}

/* FCALL[_RO] fn with nkeys keys first in a (a->v[0..1] are filled here). A
 * library the server lost is loaded again and the call repeated. */
static apr_status_t fcall(acme_redis_t *r, apr_pool_t *p, const char *fn, int ro, int nkeys,
                          args_t *a, redisReply **out)
{
    const char *what = apr_pstrcat(p, ro ? "FCALL_RO " : "FCALL ", fn, NULL);
    const char **v = (const char **)a->v->elts;
    size_t *l = (size_t *)a->l->elts;
    apr_status_t rv;
    int attempt;

    if (a->v->nelts > MAX_ARGS) return fail(r, APR_EINVAL, "%s: too many items", what);
    v[0] = ro ? "FCALL_RO" : "FCALL";
    l[0] = strlen(v[0]);
    v[1] = fn;
    l[1] = strlen(fn);
    v[2] = apr_itoa(p, nkeys);
    l[2] = strlen(v[2]);
    for (attempt = 0; ; attempt++) {
        if ((rv = call_raw(r, what, a->v->nelts, v, l, out)) != APR_SUCCESS) return rv;
        if (attempt == 0 && reply_has(*out, "Function not found")) {
            freeReplyObject(*out);
            if ((rv = ensure_library(r, p, 1)) != APR_SUCCESS) {
                drop(r);
                return rv;
            }
            continue;
        }
        return check_reply(r, p, what, *out);
    }
}

/* ---- replies ---------------------------------------------------------- */

static int is_str(const redisReply *x)
{
    return x && (x->type == REDIS_REPLY_STRING || x->type == REDIS_REPLY_STATUS);
}

/* A decimal integer without sign, at most 2^63 - 1. */
static int parse_u64(const char *s, apr_size_t len, apr_uint64_t *v)
{
    apr_uint64_t x = 0;
    apr_size_t i;

    if (len == 0 || len > 19) return 0;
    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        x = x * 10 + (apr_uint64_t)(s[i] - '0');
    }
    if (x > (apr_uint64_t)APR_INT64_MAX) return 0;
    *v = x;
    return 1;
}

static int reply_u64(const redisReply *x, apr_uint64_t *v)
{
    if (x && x->type == REDIS_REPLY_INTEGER && x->integer >= 0) {
        *v = (apr_uint64_t)x->integer;
        return 1;
    }
    return is_str(x) && parse_u64(x->str, x->len, v);
}

/* Splits a lease id "<token> <owner> <nonce>". */
static int parse_lease_id(apr_pool_t *p, const char *id, apr_size_t len, apr_uint64_t *token,
                          const char **owner)
{
    const char *sp1 = memchr(id, ' ', len), *sp2;

    if (!sp1 || !parse_u64(id, (apr_size_t)(sp1 - id), token) || *token == 0) return 0;
    sp2 = memchr(sp1 + 1, ' ', len - (apr_size_t)(sp1 + 1 - id));
    if (!sp2 || sp2 == sp1 + 1 || sp2 + 1 == id + len) return 0;
    *owner = apr_pstrmemdup(p, sp1 + 1, (apr_size_t)(sp2 - sp1 - 1));
    return acme_fleet_name_ok(*owner);
}

static apr_status_t copy_value(acme_redis_t *r, apr_pool_t *p, const char *what,
                               const redisReply *x, char **data, apr_size_t *len)
{
    if (!is_str(x)) return fail(r, APR_EGENERAL, "unexpected answer to %s", what);
    if (x->len > r->opts.max_reply) {
        return fail(r, APR_ENOSPC, "%s: %lu bytes, more than the limit of %lu", what,
                    (unsigned long)x->len, (unsigned long)r->opts.max_reply);
    }
    *data = apr_pstrmemdup(p, x->str, x->len);
    *len = x->len;
    return APR_SUCCESS;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_item(const void *a, const void *b)
{
    return strcmp(((const acme_fleet_item_t *)a)->name, ((const acme_fleet_item_t *)b)->name);
}

static int cmp_node(const void *a, const void *b)
{
    return strcmp(((const acme_fleet_node_t *)a)->name, ((const acme_fleet_node_t *)b)->name);
}

static apr_status_t bad_arg(acme_redis_t *r, const char *what, const char *name)
{
    return fail(r, APR_EINVAL, "%s: invalid name \"%s\"", what, name ? name : "(null)");
}

/* ---- the engine ------------------------------------------------------- */

static apr_status_t cleanup(void *data)
{
    drop(data);
    return APR_SUCCESS;
}

static apr_status_t open_engine(acme_redis_t *r)
{
    return session(r);
}

void acme_redis_close(acme_redis_t *r)
{
    if (r) {
        apr_pool_cleanup_kill(r->pool, r, cleanup);
        drop(r);
    }
}

apr_status_t acme_redis_check(acme_redis_t *r, apr_pool_t *p, apr_array_header_t **warnings)
{
    const char *argv[] = { "INFO", "persistence", "memory" };
    size_t lens[] = { 4, 11, 6 };
    redisReply *reply;
    apr_status_t rv;

    *warnings = apr_array_make(p, 2, sizeof(const char *));
    if ((rv = call(r, p, "INFO", 3, argv, lens, &reply)) != APR_SUCCESS) return rv;
    if (!is_str(reply) || reply->len > r->opts.max_reply
        || acme_redis_info_warnings(p, reply->str, reply->len, *warnings) != APR_SUCCESS) {
        return unexpected(r, "INFO", reply);
    }
    freeReplyObject(reply);
    return APR_SUCCESS;
}

apr_status_t acme_redis_acquire(acme_redis_t *r, apr_pool_t *p, const char *scope,
                                const char *owner, apr_interval_time_t ttl,
                                acme_lease_t **lease)
{
    unsigned char rnd[8];
    char nonce[17];
    args_t *a = fargs(p);
    redisReply *reply, *e0;
    apr_time_t t0 = apr_time_now();
    apr_uint64_t flag, token;
    apr_status_t rv;
    acme_lease_t *l;
    int i;

    if (!acme_fleet_scope_ok(scope)) return bad_arg(r, "acquire", scope);
    if (!acme_fleet_name_ok(owner)) return bad_arg(r, "acquire", owner);
    if (apr_time_as_msec(ttl) < 1) return fail(r, APR_EINVAL, "acquire %s: a lease of less than 1 ms", scope);
    if ((rv = apr_generate_random_bytes(rnd, sizeof(rnd))) != APR_SUCCESS) {
        return fail(r, rv, "acquire %s: no random bytes", scope);
    }
    for (i = 0; i < 8; i++) snprintf(nonce + 2 * i, 3, "%02x", rnd[i]);
    arg_s(a, key(p, scope, "lock"));
    arg_s(a, key(p, scope, "fence"));
    arg_s(a, owner);
    arg_s(a, nonce);
    arg_s(a, msec(p, ttl));
    if ((rv = fcall(r, p, FN("acquire"), 0, 2, a, &reply)) != APR_SUCCESS) return rv;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 2 || !reply_u64(reply->element[0], &flag)
        || !is_str(reply->element[1])) {
        return unexpected(r, "acquire", reply);
    }
    e0 = reply->element[1];
    if (flag == 0) {
        const char *holder = "?";
        apr_uint64_t ms = 0;
        parse_lease_id(p, e0->str, e0->len, &token, &holder);
        if (reply->elements > 2) reply_u64(reply->element[2], &ms);
        fail(r, APR_EBUSY, "%s is held by %s (token %s) for %lu ms more", scope, holder,
             printable(p, e0->str, strcspn(e0->str, " ")), (unsigned long)ms);
        freeReplyObject(reply);
        return APR_EBUSY;
    }
    l = apr_pcalloc(p, sizeof(*l));
    if (!parse_lease_id(p, e0->str, e0->len, &l->token, &l->owner) || strcmp(l->owner, owner)) {
        return unexpected(r, "acquire", reply);
    }
    l->scope = apr_pstrdup(p, scope);
    l->id = apr_pstrmemdup(p, e0->str, e0->len);
    l->expires = t0 + ttl;
    freeReplyObject(reply);
    *lease = l;
    return APR_SUCCESS;
}

apr_status_t acme_redis_extend(acme_redis_t *r, acme_lease_t *lease, apr_interval_time_t ttl)
{
    apr_pool_t *p;
    args_t *a;
    redisReply *reply;
    apr_time_t t0 = apr_time_now();
    apr_uint64_t ok;
    apr_status_t rv;

    if (apr_time_as_msec(ttl) < 1) return fail(r, APR_EINVAL, "extend: a lease of less than 1 ms");
    apr_pool_create(&p, r->pool);
    a = fargs(p);
    arg_s(a, key(p, lease->scope, "lock"));
    arg_s(a, key(p, lease->scope, "fence"));
    arg_s(a, lease->id);
    arg_s(a, msec(p, ttl));
    if ((rv = fcall(r, p, FN("extend"), 0, 2, a, &reply)) == APR_SUCCESS) {
        if (!reply_u64(reply, &ok)) {
            rv = unexpected(r, "extend", reply);
        }
        else {
            freeReplyObject(reply);
            if (ok == 1) lease->expires = t0 + ttl;
            else {
                lease->expires = 0;
                rv = fail(r, ACME_FLEET_EFENCED, "lease %s of %s is lost", lease->id, lease->scope);
            }
        }
    }
    apr_pool_destroy(p);
    return rv;
}

apr_status_t acme_redis_release(acme_redis_t *r, acme_lease_t *lease)
{
    apr_pool_t *p;
    args_t *a;
    redisReply *reply;
    apr_uint64_t ok;
    apr_status_t rv;

    apr_pool_create(&p, r->pool);
    a = fargs(p);
    arg_s(a, key(p, lease->scope, "lock"));
    arg_s(a, lease->id);
    if ((rv = fcall(r, p, FN("release"), 0, 1, a, &reply)) == APR_SUCCESS) {
        if (!reply_u64(reply, &ok)) {
            rv = unexpected(r, "release", reply);
        }
        else {
            freeReplyObject(reply);
            if (ok != 1) rv = fail(r, ACME_FLEET_EFENCED, "lease %s of %s was already lost",
                                   lease->id, lease->scope);
            lease->expires = 0;
        }
    }
    apr_pool_destroy(p);
    return rv;
}

apr_status_t acme_redis_holder(acme_redis_t *r, apr_pool_t *p, const char *scope,
                               acme_fleet_holder_t *holder)
{
    args_t *a = fargs(p);
    redisReply *reply;
    apr_uint64_t ms;
    apr_status_t rv;

    memset(holder, 0, sizeof(*holder));
    if (!acme_fleet_scope_ok(scope)) return bad_arg(r, "holder", scope);
    arg_s(a, key(p, scope, "lock"));
    arg_s(a, key(p, scope, "fence"));
    if ((rv = fcall(r, p, FN("holder"), 1, 2, a, &reply)) != APR_SUCCESS) return rv;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3
        || !reply_u64(reply->element[2], &holder->fence)) {
        return unexpected(r, "holder", reply);
    }
    if (reply->element[0]->type == REDIS_REPLY_NIL) {
        freeReplyObject(reply);
        return APR_ENOENT;
    }
    if (!is_str(reply->element[0]) || !reply_u64(reply->element[1], &ms)
        || !parse_lease_id(p, reply->element[0]->str, reply->element[0]->len, &holder->token,
                           &holder->owner)) {
        return unexpected(r, "holder", reply);
    }
    holder->left = apr_time_from_msec((apr_int64_t)ms);
    freeReplyObject(reply);
    return APR_SUCCESS;
}

apr_status_t acme_redis_put(acme_redis_t *r, apr_pool_t *p, const char *scope,
                            const acme_lease_t *lease, const acme_fleet_item_t *items,
                            int n, apr_interval_time_t ttl)
{
    args_t *a = fargs(p);
    redisReply *reply;
    apr_status_t rv;
    int i, nkeys;

    if (!acme_fleet_scope_ok(scope)) return bad_arg(r, "put", scope);
    if (lease && strcmp(lease->scope, scope)) {
        return fail(r, APR_EINVAL, "put: the lease is for %s, not %s", lease->scope, scope);
    }
    if (n < 1 || n > MAX_ARGS / 4) return fail(r, APR_EINVAL, "put: %d items", n);
    if (ttl < 0) ttl = 0;
    if (lease) {
        arg_s(a, key(p, scope, "lock"));
        arg_s(a, key(p, scope, "fence"));
    }
    arg_s(a, key(p, scope, "index"));
    for (i = 0; i < n; i++) {
        if (!acme_fleet_name_ok(items[i].name)) return bad_arg(r, "put", items[i].name);
        if (items[i].data && items[i].len > r->opts.max_reply) {
            return fail(r, APR_ENOSPC, "put: %s is larger than the limit of %lu bytes",
                        items[i].name, (unsigned long)r->opts.max_reply);
        }
        arg_s(a, item_key(p, scope, items[i].name));
    }
    nkeys = a->v->nelts - 3;
    if (lease) arg_s(a, lease->id);
    arg_s(a, msec(p, ttl));
    for (i = 0; i < n; i++) {
        arg_s(a, items[i].data ? "s" : "d");
        arg_s(a, items[i].name);
        arg(a, items[i].data ? items[i].data : "", items[i].data ? items[i].len : 0);
    }
    rv = fcall(r, p, lease ? FN("put") : FN("put_free"), 0, nkeys, a, &reply);
    if (rv == APR_SUCCESS) freeReplyObject(reply);
    return rv;
}

apr_status_t acme_redis_get(acme_redis_t *r, apr_pool_t *p, const char *scope,
                            const char *name, char **data, apr_size_t *len)
{
    const char *argv[2];
    size_t lens[2];
    redisReply *reply;
    apr_status_t rv;

    if (!acme_fleet_scope_ok(scope)) return bad_arg(r, "get", scope);
    if (!acme_fleet_name_ok(name)) return bad_arg(r, "get", name);
    argv[0] = "GET"; lens[0] = 3;
    argv[1] = item_key(p, scope, name); lens[1] = strlen(argv[1]);
    if ((rv = call(r, p, "GET", 2, argv, lens, &reply)) != APR_SUCCESS) return rv;
    if (reply->type == REDIS_REPLY_NIL) rv = APR_ENOENT;
    else rv = copy_value(r, p, apr_pstrcat(p, "GET ", argv[1], NULL), reply, data, len);
    freeReplyObject(reply);
    return rv;
}

apr_status_t acme_redis_list(acme_redis_t *r, apr_pool_t *p, const char *scope,
                             apr_array_header_t **names)
{
    args_t *a = fargs(p);
    redisReply *reply;
    apr_status_t rv;
    size_t i;

    if (!acme_fleet_scope_ok(scope)) return bad_arg(r, "list", scope);
    arg_s(a, key(p, scope, "index"));
    if ((rv = fcall(r, p, FN("list"), 1, 1, a, &reply)) != APR_SUCCESS) return rv;
    if (reply->type != REDIS_REPLY_ARRAY) return unexpected(r, "list", reply);
    *names = apr_array_make(p, (int)reply->elements + 1, sizeof(const char *));
    for (i = 0; i < reply->elements; i++) {
        const char *name;
        if (!is_str(reply->element[i])) return unexpected(r, "list", reply);
        name = apr_pstrmemdup(p, reply->element[i]->str, reply->element[i]->len);
        if (!acme_fleet_name_ok(name)) return unexpected(r, "list", reply);
        APR_ARRAY_PUSH(*names, const char *) = name;
    }
    freeReplyObject(reply);
    qsort((*names)->elts, (size_t)(*names)->nelts, sizeof(const char *), cmp_str);
    return APR_SUCCESS;
}

/* HGETALL key into pairs, checking types and the size limit. */
static apr_status_t hgetall(acme_redis_t *r, apr_pool_t *p, const char *k, redisReply **out)
{
    const char *argv[2] = { "HGETALL", k };
    size_t lens[2] = { 7, strlen(k) };
    apr_size_t total = 0;
    apr_status_t rv;
    size_t i;

    if ((rv = call(r, p, "HGETALL", 2, argv, lens, out)) != APR_SUCCESS) return rv;
    if ((*out)->type != REDIS_REPLY_ARRAY || (*out)->elements % 2) return unexpected(r, "HGETALL", *out);
    for (i = 0; i < (*out)->elements; i++) {
        if (!is_str((*out)->element[i])) return unexpected(r, "HGETALL", *out);
        total += (*out)->element[i]->len;
    }
    if (total > r->opts.max_reply) {
        freeReplyObject(*out);
        return fail(r, APR_ENOSPC, "HGETALL %s: %lu bytes, more than the limit of %lu", k,
                    (unsigned long)total, (unsigned long)r->opts.max_reply);
    }
    return APR_SUCCESS;
}

apr_status_t acme_redis_published(acme_redis_t *r, apr_pool_t *p, const char *scope,
                                  acme_fleet_set_t **set)
{
    redisReply *reply;
    acme_fleet_set_t *s;
    apr_status_t rv;
    size_t i;
    int have_gen = 0;

    if (!acme_fleet_scope_ok(scope)) return bad_arg(r, "published", scope);
    if ((rv = hgetall(r, p, key(p, scope, "pub"), &reply)) != APR_SUCCESS) return rv;
    if (reply->elements == 0) {
        freeReplyObject(reply);
        return APR_ENOENT;
    }
    s = apr_pcalloc(p, sizeof(*s));
    s->scope = apr_pstrdup(p, scope);
    s->node = "";
    s->items = apr_array_make(p, (int)reply->elements / 2, sizeof(acme_fleet_item_t));
    for (i = 0; i < reply->elements; i += 2) {
        redisReply *f = reply->element[i], *v = reply->element[i + 1];
        apr_uint64_t at;
        if (f->len == 4 && !memcmp(f->str, "@gen", 4)) {
            have_gen = parse_u64(v->str, v->len, &s->generation) && s->generation > 0;
            if (!have_gen) break;
        }
        else if (f->len == 5 && !memcmp(f->str, "@node", 5)) {
            s->node = printable(p, v->str, v->len);
        }
        else if (f->len == 3 && !memcmp(f->str, "@at", 3)) {
            if (parse_u64(v->str, v->len, &at)) s->published = apr_time_from_msec((apr_int64_t)at);
        }
        else if (f->len && f->str[0] != '@') {
            acme_fleet_item_t *it = apr_array_push(s->items);
            it->name = apr_pstrmemdup(p, f->str, f->len);
            if (!acme_fleet_name_ok(it->name)) {
                have_gen = 0;
                break;
            }
            it->data = apr_pstrmemdup(p, v->str, v->len);
            it->len = v->len;
        }
    }
    if (!have_gen) return unexpected(r, "HGETALL (published set)", reply);
    freeReplyObject(reply);
    qsort(s->items->elts, (size_t)s->items->nelts, sizeof(acme_fleet_item_t), cmp_item);
    *set = s;
    return APR_SUCCESS;
}

apr_status_t acme_redis_publish(acme_redis_t *r, apr_pool_t *p, const acme_lease_t *lease,
                                const char *node, apr_uint64_t generation,
                                const acme_fleet_item_t *items, int n, apr_uint64_t *seq)
{
    args_t *a = fargs(p);
    redisReply *reply;
    apr_uint64_t gen;
    apr_status_t rv;
    int i;

    if (!acme_fleet_name_ok(node)) return bad_arg(r, "publish", node);
    if (generation < 1) return fail(r, APR_EINVAL, "publish %s: generation 0", lease->scope);
    if (n < 1 || n > MAX_ARGS / 4) return fail(r, APR_EINVAL, "publish: %d items", n);
    arg_s(a, key(p, lease->scope, "lock"));
    arg_s(a, key(p, lease->scope, "fence"));
    arg_s(a, key(p, lease->scope, "pub"));
    arg_s(a, lease->id);
    arg_s(a, u64(p, generation));
    arg_s(a, node);
    for (i = 0; i < n; i++) {
        if (!acme_fleet_name_ok(items[i].name) || items[i].name[0] == '@' || !items[i].data) {
            return bad_arg(r, "publish", items[i].name);
        }
        arg_s(a, items[i].name);
        arg(a, items[i].data, items[i].len);
    }
    if ((rv = fcall(r, p, FN("publish"), 0, 3, a, &reply)) != APR_SUCCESS) return rv;
    if (!reply_u64(reply, &gen) || gen != generation) return unexpected(r, "publish", reply);
    freeReplyObject(reply);
    return acme_redis_announce(r, p, lease->scope, generation, seq);
}

apr_status_t acme_redis_announce(acme_redis_t *r, apr_pool_t *p, const char *scope,
                                 apr_uint64_t generation, apr_uint64_t *seq)
{
    args_t *a = fargs(p);
    redisReply *reply;
    apr_uint64_t s;
    apr_status_t rv;

    if (!acme_fleet_scope_ok(scope)) return bad_arg(r, "announce", scope);
    arg_s(a, KEY_PUBLISHED);
    arg_s(a, KEY_SEQ);
    arg_s(a, scope);
    arg_s(a, u64(p, generation));
    if ((rv = fcall(r, p, FN("announce"), 0, 2, a, &reply)) != APR_SUCCESS) return rv;
    if (!reply_u64(reply, &s)) return unexpected(r, "announce", reply);
    freeReplyObject(reply);
    if (seq) *seq = s;
    return APR_SUCCESS;
}

apr_status_t acme_redis_fleet_seq(acme_redis_t *r, apr_uint64_t *seq)
{
    const char *argv[2] = { "GET", KEY_SEQ };
    size_t lens[2] = { 3, sizeof(KEY_SEQ) - 1 };
    redisReply *reply;
    apr_pool_t *p;
    apr_status_t rv;

    apr_pool_create(&p, r->pool);
    if ((rv = call(r, p, "GET " KEY_SEQ, 2, argv, lens, &reply)) == APR_SUCCESS) {
        if (reply->type == REDIS_REPLY_NIL) {
            *seq = 0;
            freeReplyObject(reply);
        }
        else if (!reply_u64(reply, seq)) {
            rv = unexpected(r, "GET " KEY_SEQ, reply);
        }
        else {
            freeReplyObject(reply);
        }
    }
    apr_pool_destroy(p);
    return rv;
}

apr_status_t acme_redis_fleet_index(acme_redis_t *r, apr_pool_t *p, apr_hash_t **gens)
{
    redisReply *reply;
    apr_status_t rv;
    size_t i;

    if ((rv = hgetall(r, p, KEY_PUBLISHED, &reply)) != APR_SUCCESS) return rv;
    *gens = apr_hash_make(p);
    for (i = 0; i < reply->elements; i += 2) {
        apr_uint64_t *g = apr_palloc(p, sizeof(*g));
        const char *scope = apr_pstrmemdup(p, reply->element[i]->str, reply->element[i]->len);
        if (!acme_fleet_scope_ok(scope) || !reply_u64(reply->element[i + 1], g)) {
            return unexpected(r, "HGETALL " KEY_PUBLISHED, reply);
        }
        apr_hash_set(*gens, scope, APR_HASH_KEY_STRING, g);
    }
    freeReplyObject(reply);
    return APR_SUCCESS;
}

/* A hint "<seq> <scope> <generation>" from the channel. */
static int hint_seq(const redisReply *m, apr_uint64_t *seq)
{
    const redisReply *payload;

    if (m->type != REDIS_REPLY_ARRAY || m->elements != 3 || !is_str(m->element[0])
        || m->element[0]->len != 7 || memcmp(m->element[0]->str, "message", 7)) {
        return 0;
    }
    payload = m->element[2];
    return is_str(payload) && parse_u64(payload->str, strcspn(payload->str, " "), seq);
}

apr_status_t acme_redis_watch(acme_redis_t *r, apr_interval_time_t wait, apr_uint64_t *seq)
{
    apr_time_t deadline = apr_time_now() + wait;
    void *rep;
    apr_status_t rv;

    if (!r->watching) {
        const char *argv[2] = { "SUBSCRIBE", FLEET_CHANNEL };
        size_t lens[2] = { 9, sizeof(FLEET_CHANNEL) - 1 };
        redisReply *reply;
        if ((rv = call_raw(r, "SUBSCRIBE", 2, argv, lens, &reply)) != APR_SUCCESS) return rv;
        if (reply->type != REDIS_REPLY_ARRAY) {
            drop(r);
            return unexpected(r, "SUBSCRIBE", reply);
        }
        freeReplyObject(reply);
        r->watching = 1;
    }
    for (;;) {
        struct pollfd pfd;
        apr_interval_time_t left;
        int n;

        rep = NULL;
        if (redisGetReplyFromReader(r->c, &rep) != REDIS_OK) {
            fail(r, APR_EGENERAL, "reading a hint: %s", r->c->errstr);
            drop(r);
            return APR_EGENERAL;
        }
        if (rep) {
            int ok = hint_seq(rep, seq);
            freeReplyObject(rep);
            if (ok) return APR_SUCCESS;
            continue;
        }
        left = deadline - apr_time_now();
        if (left <= 0) return APR_TIMEUP;
        pfd.fd = r->c->fd;
        pfd.events = POLLIN;
        pfd.revents = 0;
        n = poll(&pfd, 1, (int)((left + 999) / 1000));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            rv = APR_FROM_OS_ERROR(errno);
            fail(r, rv, "waiting for a hint: poll failed");
            drop(r);
            return rv;
        }
        if (n == 0) continue;
        if (redisBufferRead(r->c) != REDIS_OK) {
            rv = io_status(r->c->err, errno);
            fail(r, rv, "waiting for a hint: %s", r->c->errstr);
            drop(r);
            return rv;
        }
    }
}

apr_status_t acme_redis_heartbeat(acme_redis_t *r, apr_pool_t *p, const char *node,
                                  const void *data, apr_size_t len, apr_interval_time_t forget)
{
    args_t *a = fargs(p);
    redisReply *reply;
    apr_status_t rv;

    if (!acme_fleet_name_ok(node)) return bad_arg(r, "heartbeat", node);
    if (len > r->opts.max_reply) return fail(r, APR_ENOSPC, "heartbeat: record too large");
    if (apr_time_as_msec(forget) < 1) return fail(r, APR_EINVAL, "heartbeat: forget after less than 1 ms");
    arg_s(a, KEY_NODES);
    arg_s(a, KEY_SEEN);
    arg_s(a, node);
    arg(a, data ? data : "", data ? len : 0);
    arg_s(a, msec(p, forget));
    if ((rv = fcall(r, p, FN("heartbeat"), 0, 2, a, &reply)) == APR_SUCCESS) freeReplyObject(reply);
    return rv;
}

apr_status_t acme_redis_nodes(acme_redis_t *r, apr_pool_t *p, apr_array_header_t **nodes)
{
    args_t *a = fargs(p);
    redisReply *reply;
    apr_status_t rv;
    apr_size_t total = 0;
    size_t i;

    arg_s(a, KEY_NODES);
    arg_s(a, KEY_SEEN);
    if ((rv = fcall(r, p, FN("nodes"), 1, 2, a, &reply)) != APR_SUCCESS) return rv;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements % 3) return unexpected(r, "nodes", reply);
    *nodes = apr_array_make(p, (int)reply->elements / 3 + 1, sizeof(acme_fleet_node_t));
    for (i = 0; i < reply->elements; i += 3) {
        acme_fleet_node_t *nd = apr_array_push(*nodes);
        apr_uint64_t age;
        if (!is_str(reply->element[i]) || !is_str(reply->element[i + 1])
            || !reply_u64(reply->element[i + 2], &age)) {
            return unexpected(r, "nodes", reply);
        }
        total += reply->element[i + 1]->len;
        nd->name = apr_pstrmemdup(p, reply->element[i]->str, reply->element[i]->len);
        nd->data = apr_pstrmemdup(p, reply->element[i + 1]->str, reply->element[i + 1]->len);
        nd->len = reply->element[i + 1]->len;
        nd->age = apr_time_from_msec((apr_int64_t)age);
        if (!acme_fleet_name_ok(nd->name) || total > r->opts.max_reply) return unexpected(r, "nodes", reply);
    }
    freeReplyObject(reply);
    qsort((*nodes)->elts, (size_t)(*nodes)->nelts, sizeof(acme_fleet_node_t), cmp_node);
    return APR_SUCCESS;
}

#else /* !ACME_HAVE_HIREDIS: every call says how to get the engine. */


struct acme_redis_t {
    apr_pool_t *pool;
    acme_redis_url_t url;
    const char *shown;
    acme_redis_opts_t opts;
    const acme_logger_t *log;
    char err[512];
};

static apr_status_t open_engine(acme_redis_t *r)
{
    apr_cpystrn(r->err, NO_HIREDIS_MSG, sizeof(r->err));
    return APR_ENOTIMPL;
}

static apr_status_t cleanup(void *data)
{
    return APR_SUCCESS;
}

#define NOT_BUILT(r) (apr_cpystrn((r)->err, NO_HIREDIS_MSG, sizeof((r)->err)), APR_ENOTIMPL)

void acme_redis_close(acme_redis_t *r) { }
apr_status_t acme_redis_check(acme_redis_t *r, apr_pool_t *p, apr_array_header_t **warnings)
{ return NOT_BUILT(r); }
apr_status_t acme_redis_acquire(acme_redis_t *r, apr_pool_t *p, const char *scope,
                                const char *owner, apr_interval_time_t ttl, acme_lease_t **lease)
{ return NOT_BUILT(r); }
apr_status_t acme_redis_extend(acme_redis_t *r, acme_lease_t *lease, apr_interval_time_t ttl)
{ return NOT_BUILT(r); }
apr_status_t acme_redis_release(acme_redis_t *r, acme_lease_t *lease)
{ return NOT_BUILT(r); }
apr_status_t acme_redis_holder(acme_redis_t *r, apr_pool_t *p, const char *scope,
                               acme_fleet_holder_t *holder)
{ return NOT_BUILT(r); }
apr_status_t acme_redis_put(acme_redis_t *r, apr_pool_t *p, const char *scope,
                            const acme_lease_t *lease, const acme_fleet_item_t *items,
                            int n, apr_interval_time_t ttl)
{ return NOT_BUILT(r); }
apr_status_t acme_redis_get(acme_redis_t *r, apr_pool_t *p, const char *scope,
                            const char *name, char **data, apr_size_t *len)
{ return NOT_BUILT(r); }
apr_status_t acme_redis_list(acme_redis_t *r, apr_pool_t *p, const char *scope,
                             apr_array_header_t **names)
{ return NOT_BUILT(r); }
apr_status_t acme_redis_published(acme_redis_t *r, apr_pool_t *p, const char *scope,
                                  acme_fleet_set_t **set)
{ return NOT_BUILT(r); }
apr_status_t acme_redis_publish(acme_redis_t *r, apr_pool_t *p, const acme_lease_t *lease,
                                const char *node, apr_uint64_t generation,
                                const acme_fleet_item_t *items, int n, apr_uint64_t *seq)
{ return NOT_BUILT(r); }
apr_status_t acme_redis_announce(acme_redis_t *r, apr_pool_t *p, const char *scope,
                                 apr_uint64_t generation, apr_uint64_t *seq)
{ return NOT_BUILT(r); }
apr_status_t acme_redis_fleet_seq(acme_redis_t *r, apr_uint64_t *seq)
{ return NOT_BUILT(r); }
apr_status_t acme_redis_fleet_index(acme_redis_t *r, apr_pool_t *p, apr_hash_t **gens)
{ return NOT_BUILT(r); }
apr_status_t acme_redis_watch(acme_redis_t *r, apr_interval_time_t wait, apr_uint64_t *seq)
{ return NOT_BUILT(r); }
apr_status_t acme_redis_heartbeat(acme_redis_t *r, apr_pool_t *p, const char *node,
                                  const void *data, apr_size_t len, apr_interval_time_t forget)
{ return NOT_BUILT(r); }
apr_status_t acme_redis_nodes(acme_redis_t *r, apr_pool_t *p, apr_array_header_t **nodes)
{ return NOT_BUILT(r); }

#endif /* ACME_HAVE_HIREDIS */

apr_status_t acme_redis_open(apr_pool_t *p, const char *url, const acme_redis_opts_t *opts,
                             const acme_logger_t *log, acme_redis_t **out, const char **err)
{
    acme_redis_t *r = apr_pcalloc(p, sizeof(*r));
    const char *why = NULL;
    apr_status_t rv;

    *out = NULL;
    if ((rv = acme_redis_url_parse(p, url, &r->url, &why)) != APR_SUCCESS) {
        if (err) *err = apr_psprintf(p, "invalid Redis URL: %s", why);
        return rv;
    }
    /* The connection's own pool: its scratch pools never touch p again. */
    if ((rv = apr_pool_create(&r->pool, p)) != APR_SUCCESS) return rv;
    r->log = log;
    r->shown = acme_redis_url_show(p, &r->url);
    if (opts) r->opts = *opts;
    if (r->opts.connect_timeout <= 0) r->opts.connect_timeout = apr_time_from_sec(2);
    if (r->opts.timeout <= 0) r->opts.timeout = apr_time_from_sec(2);
    if (r->opts.max_reply == 0) r->opts.max_reply = 1024 * 1024;
    if (r->url.tls) {
        if (err) *err = NO_TLS_MSG;
        return APR_ENOTIMPL;
    }
    apr_pool_cleanup_register(r->pool, r, cleanup, apr_pool_cleanup_null);
    if ((rv = open_engine(r)) != APR_SUCCESS) {
        if (err) *err = apr_pstrdup(p, r->err);
        return rv;
    }
    *out = r;
    return APR_SUCCESS;
}

apr_status_t acme_redis_usable(apr_pool_t *p, const char *url, const char **err)
{
    acme_redis_url_t u;
    const char *why = NULL;
    apr_status_t rv;

    if ((rv = acme_redis_url_parse(p, url, &u, &why)) != APR_SUCCESS) {
        if (err) *err = apr_psprintf(p, "invalid Redis URL: %s", why);
        return rv;
    }
    if (u.tls) {
        if (err) *err = NO_TLS_MSG;
        return APR_ENOTIMPL;
    }
#ifndef ACME_HAVE_HIREDIS
    if (err) *err = NO_HIREDIS_MSG;
    return APR_ENOTIMPL;
#else
    return APR_SUCCESS;
#endif
}

const char *acme_redis_error(const acme_redis_t *r)
{
    return r && r->err[0] ? r->err : "no error";
}
