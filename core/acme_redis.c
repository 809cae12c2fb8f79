/* acme_redis.c: the Redis fleet engine's connection on hiredis: opening, sessions (AUTH, SELECT, the function library), commands and function calls, and the server check (a stub that says how to get it when built without hiredis); the fleet calls are in acme_redis_lease.c. */
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
#include <openssl/evp.h>
#include "acme_redis_int.h"
#include "acme_redis_lua.h"

/* ---- errors ----------------------------------------------------------- */

apr_status_t acme_rd_fail(acme_redis_t *r, apr_status_t rv, const char *fmt, ...)
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
const char *acme_rd_printable(apr_pool_t *p, const char *s, apr_size_t len)
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

apr_status_t acme_rd_io_status(int err, int saved_errno)
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

void acme_rd_drop(acme_redis_t *r)
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
    rv = acme_rd_io_status(kind, saved);
    acme_rd_fail(r, rv, "%s: %s", what, rv == APR_TIMEUP ? "no answer in time" : r->c->errstr);
    if (closed) *closed = rv != APR_TIMEUP && (kind == REDIS_ERR_EOF || kind == REDIS_ERR_IO);
    acme_rd_drop(r);
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
    acme_rd_fail(r, rv, "%s: %s", what, acme_rd_printable(p, s, reply->len));
    freeReplyObject(reply);
    return rv;
}

apr_status_t acme_rd_unexpected(acme_redis_t *r, const char *what, redisReply *reply)
{
    if (reply) freeReplyObject(reply);
    return acme_rd_fail(r, APR_EGENERAL, "unexpected answer to %s", what);
}

int acme_rd_is_str(const redisReply *x)
{
    return x && (x->type == REDIS_REPLY_STRING || x->type == REDIS_REPLY_STATUS);
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
            return acme_rd_fail(r, APR_ENOTIMPL, "Redis 7 or later is needed (this server has no FCALL_RO)");
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
    if (!r->c) return acme_rd_fail(r, APR_ENOMEM, "cannot allocate a connection");
    if (r->c->err) {
        rv = acme_rd_io_status(r->c->err, saved);
        acme_rd_fail(r, rv, "cannot connect: %s", rv == APR_TIMEUP ? "no answer in time" : r->c->errstr);
        acme_rd_drop(r);
        return rv;
    }
    if (redisSetTimeout(r->c, timeval_of(r->opts.timeout)) != REDIS_OK) {
        acme_rd_fail(r, APR_EGENERAL, "cannot set the command timeout: %s", r->c->errstr);
        acme_rd_drop(r);
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
            acme_rd_fail(r, rv, "the server needs a password: redis://[user]:password@host:port");
        }
        acme_rd_drop(r);
    }
    apr_pool_destroy(p);
    return rv;
}

/* One command, connecting first when needed, sent once more on a new
 * connection when an old one turned out closed. Error replies are returned
 * as replies (check_reply maps them). */
apr_status_t acme_rd_call_raw(acme_redis_t *r, const char *what, int argc, const char **argv,
                              const size_t *lens, redisReply **out)
{
    apr_status_t rv;
    int closed, attempt, fresh;

    if (r->watching) {
        return acme_rd_fail(r, APR_EINVAL, "this connection waits for publish hints; use another for %s", what);
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

/* acme_rd_call_raw for commands that answer with a value (not an error). */
apr_status_t acme_rd_call(acme_redis_t *r, apr_pool_t *p, const char *what, int argc,
                          const char **argv, const size_t *lens, redisReply **out)
{
    apr_status_t rv = acme_rd_call_raw(r, what, argc, argv, lens, out);

    return rv == APR_SUCCESS ? check_reply(r, p, what, *out) : rv;
}

/* ---- arguments -------------------------------------------------------- */

acme_rd_args_t *acme_rd_args(apr_pool_t *p)
{
    acme_rd_args_t *a = apr_palloc(p, sizeof(*a));

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

void acme_rd_arg(acme_rd_args_t *a, const void *s, apr_size_t len)
{
    APR_ARRAY_PUSH(a->v, const char *) = s;
    APR_ARRAY_PUSH(a->l, size_t) = len;
}

void acme_rd_arg_s(acme_rd_args_t *a, const char *s)
{
    acme_rd_arg(a, s, strlen(s));
}

const char *acme_rd_key(apr_pool_t *p, const char *scope, const char *suffix)
{
    return apr_pstrcat(p, "acme:{", scope, "}:", suffix, NULL);
}

const char *acme_rd_item_key(apr_pool_t *p, const char *scope, const char *name)
{
    return apr_pstrcat(p, "acme:{", scope, "}:k:", name, NULL);
}

const char *acme_rd_u64(apr_pool_t *p, apr_uint64_t v)
{
    return apr_psprintf(p, "%" APR_UINT64_T_FMT, v);
}

const char *acme_rd_msec(apr_pool_t *p, apr_interval_time_t t)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)apr_time_as_msec(t));
}

/* FCALL[_RO] fn with nkeys keys first in a (a->v[0..1] are filled here). A
 * library the server lost is loaded again and the call repeated. */
apr_status_t acme_rd_fcall(acme_redis_t *r, apr_pool_t *p, const char *fn, int ro, int nkeys,
                           acme_rd_args_t *a, redisReply **out)
{
    const char *what = apr_pstrcat(p, ro ? "FCALL_RO " : "FCALL ", fn, NULL);
    const char **v = (const char **)a->v->elts;
    size_t *l = (size_t *)a->l->elts;
    apr_status_t rv;
    int attempt;

    if (a->v->nelts > MAX_ARGS) return acme_rd_fail(r, APR_EINVAL, "%s: too many items", what);
    v[0] = ro ? "FCALL_RO" : "FCALL";
    l[0] = strlen(v[0]);
    v[1] = fn;
    l[1] = strlen(fn);
    v[2] = apr_itoa(p, nkeys);
    l[2] = strlen(v[2]);
    for (attempt = 0; ; attempt++) {
        if ((rv = acme_rd_call_raw(r, what, a->v->nelts, v, l, out)) != APR_SUCCESS) return rv;
        if (attempt == 0 && reply_has(*out, "Function not found")) {
            freeReplyObject(*out);
            if ((rv = ensure_library(r, p, 1)) != APR_SUCCESS) {
                acme_rd_drop(r);
                return rv;
            }
            continue;
        }
        return check_reply(r, p, what, *out);
    }
}

/* ---- the engine ------------------------------------------------------- */

static apr_status_t cleanup(void *data)
{
    acme_rd_drop(data);
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
        acme_rd_drop(r);
    }
}

apr_status_t acme_redis_check(acme_redis_t *r, apr_pool_t *p, apr_array_header_t **warnings)
{
    const char *argv[] = { "INFO", "persistence", "memory" };
    size_t lens[] = { 4, 11, 6 };
    redisReply *reply;
    apr_status_t rv;

    *warnings = apr_array_make(p, 2, sizeof(const char *));
    if ((rv = acme_rd_call(r, p, "INFO", 3, argv, lens, &reply)) != APR_SUCCESS) return rv;
    if (!acme_rd_is_str(reply) || reply->len > r->opts.max_reply
        || acme_redis_info_warnings(p, reply->str, reply->len, *warnings) != APR_SUCCESS) {
        return acme_rd_unexpected(r, "INFO", reply);
    }
    freeReplyObject(reply);
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
