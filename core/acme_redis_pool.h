/* acme_redis_pool.h: Redis connections for threads that must never wait long (challenge lookups in httpd's request path): a pool with short timeouts behind a circuit breaker. */
#ifndef ACME_REDIS_POOL_H
#define ACME_REDIS_POOL_H

#include "acme_breaker.h"
#include "acme_redis.h"

/*
 * Each call takes a connection of its own from the pool (one hiredis
 * connection serves one thread at a time) and gives it back. Connecting and
 * every command have `timeout` (at most 250 ms); failures feed a circuit
 * breaker, and while it is open a call fails at once with APR_EAGAIN
 * without touching the network. An answer (also "not found") counts as
 * success. Connections are opened on first use, so a pool can be made
 * while Redis is down.
 */

#define ACME_REDIS_POOL_MAX_TIMEOUT apr_time_from_msec(250)

typedef struct acme_redis_pool_opts_t {
    apr_interval_time_t timeout;    /* connect and each command; default and cap 250 ms */
    int max_idle;                   /* connections kept between calls; default 4 */
    acme_breaker_opts_t breaker;    /* 0s: the breaker's defaults (2 failures, 1..30 s) */
    int patient;                    /* for drives, not the request path: timeout not
                                     * capped (default 2 s) */
} acme_redis_pool_opts_t;

typedef struct acme_redis_pool_t acme_redis_pool_t;
/* A connection taken from the pool. */
typedef struct acme_redis_conn_t {
    acme_redis_t *r;
    apr_pool_t *pool;               /* its own root pool */
    long pid;                       /* the process that connected: a connection a
                                     * forked child inherited is never used */
} acme_redis_conn_t;

/* The URL is checked here (APR_EINVAL, APR_ENOTIMPL for rediss:// or a
 * build without hiredis, *err saying why); nothing is connected yet. */
apr_status_t acme_redis_pool_create(apr_pool_t *p, const char *url,
                                    const acme_redis_pool_opts_t *opts,
                                    const acme_logger_t *log, acme_redis_pool_t **pool,
                                    const char **err);

/* A connection for one call; APR_EAGAIN when the breaker is open. Give it
 * back with the call's status. */
apr_status_t acme_redis_pool_take(acme_redis_pool_t *pool, acme_redis_conn_t **c);
void acme_redis_pool_give(acme_redis_pool_t *pool, acme_redis_conn_t *c, apr_status_t rv);

/* acme_redis_get through the pool: APR_ENOENT when absent, APR_EAGAIN when
 * the breaker is open, else what the engine said. */
apr_status_t acme_redis_pool_get(acme_redis_pool_t *pool, apr_pool_t *p, const char *scope,
                                 const char *name, char **data, apr_size_t *len);

/* Until when the breaker keeps calls back (0: it does not). */
apr_time_t acme_redis_pool_open_until(acme_redis_pool_t *pool);

#endif
