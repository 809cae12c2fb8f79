/* acme_redis_int.h: what the Redis engine's files (acme_redis.c, acme_redis_lease.c) share inside the core: the connection, its commands and function calls, key names and reply checks; hiredis builds only, not for mod/ or tools/. */
#ifndef ACME_REDIS_INT_H
#define ACME_REDIS_INT_H

#include <hiredis/hiredis.h>

#include "acme_redis.h"

/* The function library's name; its function names start with it. A change
 * of the functions' arguments or results needs a new name (acme2), so nodes
 * of two versions never call each other's functions. Its Lua body is in
 * acme_redis_lua.h. */
#define ACME_REDIS_LIBRARY "acme1"

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

/* ---- errors and the connection (acme_redis.c) ---- */

/* Records what failed (prefixed with the server) and returns rv. */
apr_status_t acme_rd_fail(acme_redis_t *r, apr_status_t rv, const char *fmt, ...) ACME_PRINTF(3, 4);
/* A server's text, safe to log: control characters replaced, cut short. */
const char *acme_rd_printable(apr_pool_t *p, const char *s, apr_size_t len);
/* The status for a hiredis error kind and the errno it left. */
apr_status_t acme_rd_io_status(int err, int saved_errno);
/* Closes the connection (the next call connects again). */
void acme_rd_drop(acme_redis_t *r);
/* Frees reply and records an unexpected answer to what. */
apr_status_t acme_rd_unexpected(acme_redis_t *r, const char *what, redisReply *reply);
/* A string or status reply. */
int acme_rd_is_str(const redisReply *x);
/* One command, connecting when needed; error replies come back as replies. */
apr_status_t acme_rd_call_raw(acme_redis_t *r, const char *what, int argc, const char **argv,
                              const size_t *lens, redisReply **out);
/* acme_rd_call_raw for commands that answer with a value (not an error). */
apr_status_t acme_rd_call(acme_redis_t *r, apr_pool_t *p, const char *what, int argc,
                          const char **argv, const size_t *lens, redisReply **out);

/* ---- function calls (acme_redis.c) ---- */

/* A command's arguments (binary-safe). The first three are left for
 * FCALL, the function and the key count (filled by acme_rd_fcall). */
typedef struct acme_rd_args_t {
    apr_array_header_t *v;      /* const char * */
    apr_array_header_t *l;      /* size_t */
} acme_rd_args_t;

acme_rd_args_t *acme_rd_args(apr_pool_t *p);
void acme_rd_arg(acme_rd_args_t *a, const void *s, apr_size_t len);
void acme_rd_arg_s(acme_rd_args_t *a, const char *s);
/* acme:{scope}:suffix and an item's key acme:{scope}:k:name */
const char *acme_rd_key(apr_pool_t *p, const char *scope, const char *suffix);
const char *acme_rd_item_key(apr_pool_t *p, const char *scope, const char *name);
const char *acme_rd_u64(apr_pool_t *p, apr_uint64_t v);
const char *acme_rd_msec(apr_pool_t *p, apr_interval_time_t t);
/* FCALL[_RO] fn with nkeys keys first in a; a library the server lost is
 * loaded again and the call repeated. */
apr_status_t acme_rd_fcall(acme_redis_t *r, apr_pool_t *p, const char *fn, int ro, int nkeys,
                           acme_rd_args_t *a, redisReply **out);

#endif
