/* acme_store_redis.h: the fleet store backend: shared state (accounts, drive progress, challenge answers, status) in Redis under fenced leases, local files for what mod_ssl and the root parent load. */
#ifndef ACME_STORE_REDIS_H
#define ACME_STORE_REDIS_H

#include "acme_log.h"
#include "acme_seal.h"
#include "acme_store.h"

/*
 * Where each group lives (README "Running a fleet"):
 *   domains, staging, archive, fallback   local files under dir, as with the
 *                                          file store (mod_ssl needs files, the
 *                                          root parent never talks to Redis)
 *   accounts <ca>        Redis scope a:<ca>
 *   state <domain>       Redis scope d:<domain>; entries starting with '_'
 *                        (this node's watchdog, metrics and marks) stay local
 *   challenges <name>    local files and Redis scope c:<name>: written to
 *                        both, read locally first and then from Redis through
 *                        the request path's pool (250 ms, circuit breaker)
 * Items saved with ACME_STORE_PRIVATE are sealed (acme_seal.h) for the name
 * "<group>/<entry>/<item>" before they reach Redis; without keys they are
 * refused. A loaded item that holds a private key in clear is refused too.
 *
 * lock() on a Redis scope takes its lease (acme_fleet.h) and keeps it alive
 * on a keeper thread (started on the first lock of a process) until unlock;
 * every write of that scope by this process while the lock is held is a
 * fenced write, refused with ACME_FLEET_EFENCED once the lease is lost.
 */

typedef struct acme_store_redis_opts_t {
    const char *url;                  /* redis://... */
    const char *dir;                  /* the local groups (ACMEStoreDir) */
    int file_flags;                   /* acme_store_file_open_ex flags */
    const acme_seal_keys_t *keys;     /* ACMEStoreKeyFile; NULL: private items refused */
    const char *node;                 /* this node's name (lease owner, heartbeat) */
    apr_interval_time_t lock_ttl;     /* lease TTL; default 120 s */
    const acme_logger_t *log;
} acme_store_redis_opts_t;

/* Nothing is connected here (a node starts while Redis is down). APR_EINVAL
 * or APR_ENOTIMPL (rediss://, no hiredis) with *err saying why. */
apr_status_t acme_store_redis_open(apr_pool_t *p, const acme_store_redis_opts_t *opts,
                                   acme_store_t **store, const char **err);

/* The file store below s that holds its local groups (s itself for a file store). */
acme_store_t *acme_store_local(acme_store_t *s);

/* The Redis URL of a fleet store; NULL for other stores. */
const char *acme_store_redis_url(const acme_store_t *s);

#endif
