/* acme_store_redis.h: the fleet store backend: shared state (accounts, drive progress, challenge answers, status) in Redis under fenced leases, local files for what mod_ssl and the root parent load. */
#ifndef ACME_STORE_REDIS_H
#define ACME_STORE_REDIS_H

#include "acme_fleet.h"
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
 *                        (this node's watchdog and metrics) stay local, but
 *                        for "_marks" (acmectl's wake-up, scope m:marks)
 *   challenges <name>    local files and Redis scope c:<name>: written to
 *                        both, read locally first and then from Redis through
 *                        the request path's pool (250 ms, circuit breaker)
 * Items saved with ACME_STORE_PRIVATE are sealed (acme_seal.h) for the name
 * "<group>/<entry>/<item>" before they reach Redis; without keys they are
 * refused. A loaded item that holds a private key in clear is refused too.
 *
 * lock() on a Redis scope takes its lease (acme_fleet.h) and keeps it alive
 * on a keeper thread (started on the first lock of a process) until unlock;
 * a write that passes the lock as its fence is a fenced write, refused with
 * ACME_STORE_ELOST once the lease is lost.
 */

/* Opens the fleet store spec names (spec->url a redis:// URL, spec->dir the
 * local groups). Nothing is connected here (a node starts while Redis is
 * down). APR_EINVAL or APR_ENOTIMPL (rediss://, no hiredis) with *err
 * saying why. */
apr_status_t acme_store_redis_open(apr_pool_t *p, const acme_store_spec_t *spec,
                                   acme_store_t **store, const char **err);

/* The published set of a domain's entry (group PUBLISHED): items
 * (acme_store_item_t, sorted, private ones opened), its generation,
 * publishing node and time (at may be NULL), read at once. APR_ENOENT when none; APR_ENOTIMPL for a
 * store that is not a fleet store. A publish is replace(PUBLISHED, entry,
 * items, ACME_SG_COUNT, fence): a fenced write of the next generation,
 * ACME_STORE_ELOST when the lock is lost, ACME_FLEET_ESTALE when another
 * node published since. */
apr_status_t acme_store_published(acme_store_t *s, apr_pool_t *p, const char *entry,
                                  apr_array_header_t **items, apr_uint64_t *generation,
                                  const char **node, apr_time_t *at);

/* The fleet sequence number (raised by every publish); APR_ENOTIMPL for a
 * store that is not a fleet store. */
apr_status_t acme_store_fleet_seq(acme_store_t *s, apr_uint64_t *seq);

/* The Redis server's settings that break the fleet's guarantees (AOF off,
 * a maxmemory-policy that can evict): warnings (const char *) for the log;
 * connects once. APR_ENOTIMPL for a store that is not a fleet store. */
apr_status_t acme_store_fleet_check(acme_store_t *s, apr_pool_t *p,
                                    apr_array_header_t **warnings);

/* Waits up to wait for a publish hint on a connection of its own (made on
 * the first call, one caller thread only: the watchdog): APR_SUCCESS with
 * the hint's sequence, APR_TIMEUP when none came, another status when Redis
 * cannot be reached (the next call connects again). */
apr_status_t acme_store_fleet_watch(acme_store_t *s, apr_interval_time_t wait,
                                    apr_uint64_t *seq);

/* Records this node's heartbeat (record: JSON of its active serials);
 * nodes not heard from for forget drop out of the fleet view. */
apr_status_t acme_store_fleet_heartbeat(acme_store_t *s, apr_pool_t *p, const char *record,
                                        apr_interval_time_t forget);

/* The fleet view for status: nodes (acme_fleet_node_t) and, for each
 * entry given, who holds its lock (acme_fleet_holder_t, owner NULL when
 * nobody). */
apr_status_t acme_store_fleet_nodes(acme_store_t *s, apr_pool_t *p, apr_array_header_t **nodes);
apr_status_t acme_store_fleet_holder(acme_store_t *s, apr_pool_t *p, const char *entry,
                                     acme_fleet_holder_t *holder);

/* This node's name in the fleet (NULL for other stores). */
const char *acme_store_fleet_node(const acme_store_t *s);

/* The Redis URL of a fleet store; NULL for other stores. */
const char *acme_store_redis_url(const acme_store_t *s);

#endif
