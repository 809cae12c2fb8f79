/* acme_redis.h: the Redis fleet engine: a connection from a redis:// URL and the acme_fleet.h contract on a Redis 7 function library. */
#ifndef ACME_REDIS_H
#define ACME_REDIS_H

#include <apr_pools.h>
#include <apr_hash.h>
#include <apr_network_io.h>
#include <apr_tables.h>
#include "acme_fleet.h"
#include "acme_log.h"

/*
 * Design note (draft for README "Running a fleet"; the store backend follows it).
 *
 * Engine. Redis >= 7 through hiredis (Debian 12: 0.14.1, no TLS). Built
 * when configure finds hiredis (ACME_HAVE_HIREDIS); otherwise acme_redis_open
 * fails with APR_ENOTIMPL naming the package. rediss:// is parsed but
 * refused: hiredis 0.14 has no TLS; reach Redis over TLS through a local
 * tunnel (stunnel or spiped on 127.0.0.1) and point redis:// at it. With
 * hiredis >= 1.0 the connect step is where redisInitiateSSLWithContext goes.
 *
 * Keys. Everything of one scope shares the hash tag {<scope>}, so one scope
 * is one Redis Cluster slot and each function call touches one slot:
 *   acme:{S}:lock      lease, "<token> <owner> <nonce>", PX ttl
 *   acme:{S}:fence     highest token issued (INCR)
 *   acme:{S}:k:<name>  item (binary-safe string; optional PX ttl)
 *   acme:{S}:index     sorted set of item names, score = expiry in ms (+inf: none)
 *   acme:{S}:pub       hash: the published set: fields <item> and the meta
 *                      fields @gen, @node, @at (ms), @lock (publishing lease)
 * Fleet-wide keys share the tag {fleet}:
 *   acme:{fleet}:seq        fleet sequence number, raised by each announce
 *   acme:{fleet}:published  hash: scope -> announced generation
 *   acme:{fleet}:nodes      hash: node -> its last heartbeat record
 *   acme:{fleet}:seen       sorted set: node -> time of that heartbeat (ms)
 * Pub/sub channel "acme:fleet": messages "<seq> <scope> <generation>".
 *
 * Function library "acme1" (FUNCTION LOAD; loaded at connect when absent or
 * different, loaded again when a call answers "Function not found", e.g.
 * after a restart without persistence). Lua 5.1 in Redis; KEYS are always
 * declared. Refusals are error replies starting with ACME_FENCED or
 * ACME_STALE.
 *   acme1_acquire   K lock fence; A owner nonce ttl_ms
 *                   -> {1, id} taken (also when this owner+nonce holds it:
 *                   a retry), {0, holder id, pttl} held
 *   acme1_extend    K lock fence; A id ttl_ms -> 1, or 0 when not the holder
 *   acme1_release   K lock; A id -> 1 deleted, 0 not the holder
 *   acme1_put       K lock fence index k1..kn; A id ttl_ms (op name value)*n
 *                   fenced: op "s" SETs ki (PX ttl when > 0), "d" DELs it;
 *                   keeps the index -> n
 *   acme1_put_free  K index k1..kn; A ttl_ms (op name value)*n: unfenced
 *   acme1_list      K index (read-only) -> item names not expired, sorted
 *   acme1_publish   K lock fence pub; A id generation node n1 v1 ..
 *                   fenced; generation must be current + 1 -> generation
 *   acme1_announce  K published seq; A scope generation
 *                   raises published[scope] and seq, PUBLISHes the hint when
 *                   the generation is newer -> seq
 *   acme1_holder    K lock fence (read-only) -> {id or false, pttl, fence}
 *   acme1_heartbeat K nodes seen; A node record forget_ms -> 1; drops nodes
 *                   not seen for forget_ms
 *   acme1_nodes     K nodes seen (read-only) -> {node, record, age_ms}...
 *   acme1_version   (read-only) -> fingerprint of the library text
 * Publish is two calls because the domain and the fleet keys are two slots:
 * the fenced acme1_publish, then acme1_announce. A holder that dies between
 * them leaves a set published but not announced; whoever takes that scope's
 * lease next compares acme_redis_published with acme_redis_fleet_index and
 * announces it (acme_redis_announce is idempotent).
 *
 * Redis settings: appendonly yes (leases, fences and progress survive a
 * restart), maxmemory-policy noeviction (an evicted lease or fence breaks
 * mutual exclusion); acme_redis_check warns otherwise. A restricted ACL
 * user needs: ~acme:* &acme:fleet +@read +@write +@scripting +info
 * +subscribe +publish (+function|load unless another node loaded "acme1").
 *
 * Threads. An acme_redis_t is one hiredis connection and is used by one
 * thread at a time: each drive, the watchdog and each challenge lookup
 * take their own (the module keeps a per-child pool). A mutex around one
 * shared connection would make every drive wait behind another's slow
 * command, and the challenge path must never wait behind a drive.
 *
 * Reconnect. A failed connection is closed; the next call connects again
 * (AUTH, SELECT, library check). A call that failed because a reused
 * connection was closed (EOF, reset) is sent once more on a new one: every
 * call is safe to repeat (acquire and publish recognise their own retry).
 * A timeout is not repeated.
 */

typedef struct acme_redis_url_t {
    const char *host;           /* name, IPv4, or IPv6 without brackets */
    apr_port_t port;            /* default 6379 */
    int db;                     /* SELECT; default 0 */
    const char *user;           /* NULL: AUTH with the password only */
    const char *password;       /* NULL: no AUTH */
    int tls;                    /* rediss:// */
} acme_redis_url_t;

/* Strict: redis[s]://[[user]:password@]host[:port][/db]; user and password
 * percent-decoded (no control characters), host a DNS name, IPv4 or [IPv6],
 * port 1..65535, db 0..9999, nothing else (no query, fragment or path).
 * APR_EINVAL with *err saying what is wrong (never the password). */
apr_status_t acme_redis_url_parse(apr_pool_t *p, const char *url, acme_redis_url_t *u,
                                  const char **err);
/* The URL for logs and status: the password replaced by "***". */
const char *acme_redis_url_show(apr_pool_t *p, const acme_redis_url_t *u);

/* Warnings for an INFO reply (persistence and memory sections): AOF off,
 * a maxmemory-policy that can evict, missing fields. Appended to warnings
 * (const char *). APR_EINVAL when text is not an INFO reply. */
apr_status_t acme_redis_info_warnings(apr_pool_t *p, const char *text, apr_size_t len,
                                      apr_array_header_t *warnings);

typedef struct acme_redis_opts_t {
    apr_interval_time_t connect_timeout;  /* default 2 s; the name lookup before it is
                                           * the resolver's (an address avoids it) */
    apr_interval_time_t timeout;          /* each command; default 2 s */
    apr_size_t max_reply;                 /* largest value or set; default 1 MiB */
} acme_redis_opts_t;

typedef struct acme_redis_t acme_redis_t;

/* Connects, authenticates, selects the db and makes sure the function
 * library is loaded. The connection is closed by acme_redis_close or the
 * cleanup of p. APR_ENOTIMPL for rediss:// and when built without hiredis,
 * APR_EACCES when AUTH is refused, APR_TIMEUP, APR_ECONNREFUSED...; *err
 * says which server and why. opts and log may be NULL. */
apr_status_t acme_redis_open(apr_pool_t *p, const char *url, const acme_redis_opts_t *opts,
                             const acme_logger_t *log, acme_redis_t **r, const char **err);
void acme_redis_close(acme_redis_t *r);
/* What acme_redis_open would refuse before connecting (a bad URL, rediss://,
 * a build without hiredis), without connecting; *err says why. */
apr_status_t acme_redis_usable(apr_pool_t *p, const char *url, const char **err);
/* What the last failed call on r failed with (server named, no password). */
const char *acme_redis_error(const acme_redis_t *r);

/* The server's INFO persistence and memory, as acme_redis_info_warnings. */
apr_status_t acme_redis_check(acme_redis_t *r, apr_pool_t *p, apr_array_header_t **warnings);

/* Leases (acme_fleet.h). acquire: APR_EBUSY while held (acme_redis_error
 * names the holder and its time left); ttl at least 1 ms. extend, release:
 * ACME_FLEET_EFENCED when the lease is no longer the caller's (release of a
 * lost lease changes nothing). */
apr_status_t acme_redis_acquire(acme_redis_t *r, apr_pool_t *p, const char *scope,
                                const char *owner, apr_interval_time_t ttl,
                                acme_lease_t **lease);
apr_status_t acme_redis_extend(acme_redis_t *r, acme_lease_t *lease, apr_interval_time_t ttl);
apr_status_t acme_redis_release(acme_redis_t *r, acme_lease_t *lease);
/* APR_ENOENT when nobody holds scope (holder->fence still set). */
apr_status_t acme_redis_holder(acme_redis_t *r, apr_pool_t *p, const char *scope,
                               acme_fleet_holder_t *holder);

/* Writes n items of scope at once: fenced with lease (lease->scope must be
 * scope), unfenced with lease NULL. ttl > 0 makes them expire. */
apr_status_t acme_redis_put(acme_redis_t *r, apr_pool_t *p, const char *scope,
                            const acme_lease_t *lease, const acme_fleet_item_t *items,
                            int n, apr_interval_time_t ttl);
/* APR_ENOENT when absent; *data NUL-terminated (not counted). */
apr_status_t acme_redis_get(acme_redis_t *r, apr_pool_t *p, const char *scope,
                            const char *name, char **data, apr_size_t *len);
/* Names of the live items of scope (const char *), sorted. */
apr_status_t acme_redis_list(acme_redis_t *r, apr_pool_t *p, const char *scope,
                             apr_array_header_t **names);

/* The published set of scope; APR_ENOENT when none. */
apr_status_t acme_redis_published(acme_redis_t *r, apr_pool_t *p, const char *scope,
                                  acme_fleet_set_t **set);
/* Publishes items (names not starting with '@') as generation of
 * lease->scope, then announces it; *seq (may be NULL) is the fleet sequence
 * after that. ACME_FLEET_EFENCED, ACME_FLEET_ESTALE. When the announce
 * fails, the set is published and the call fails with the announce's
 * status: call acme_redis_announce again. */
apr_status_t acme_redis_publish(acme_redis_t *r, apr_pool_t *p, const acme_lease_t *lease,
                                const char *node, apr_uint64_t generation,
                                const acme_fleet_item_t *items, int n, apr_uint64_t *seq);
/* Makes generation of scope known fleet-wide (no change when it is not
 * newer than the announced one); *seq the fleet sequence. */
apr_status_t acme_redis_announce(acme_redis_t *r, apr_pool_t *p, const char *scope,
                                 apr_uint64_t generation, apr_uint64_t *seq);
/* The fleet sequence (0 before the first announce). */
apr_status_t acme_redis_fleet_seq(acme_redis_t *r, apr_uint64_t *seq);
/* scope -> announced generation (apr_uint64_t *). */
apr_status_t acme_redis_fleet_index(acme_redis_t *r, apr_pool_t *p, apr_hash_t **gens);
/* Waits up to wait for a publish hint; APR_SUCCESS with the hint's fleet
 * sequence, APR_TIMEUP when none came. The first call subscribes: from then
 * on r is only for watching. */
apr_status_t acme_redis_watch(acme_redis_t *r, apr_interval_time_t wait, apr_uint64_t *seq);

/* Records node's heartbeat (data: its record, up to max_reply); nodes not
 * heard from for forget are dropped from the list. */
apr_status_t acme_redis_heartbeat(acme_redis_t *r, apr_pool_t *p, const char *node,
                                  const void *data, apr_size_t len, apr_interval_time_t forget);
/* Every node's last heartbeat (acme_fleet_node_t), sorted by name. */
apr_status_t acme_redis_nodes(acme_redis_t *r, apr_pool_t *p, apr_array_header_t **nodes);

#endif
