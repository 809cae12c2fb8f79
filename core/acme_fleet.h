/* acme_fleet.h: the engine-neutral contract of fleet coordination (leases with fencing tokens, fenced writes, published sets, node heartbeats) that Redis (acme_redis.h) and any later engine offer to the store. */
#ifndef ACME_FLEET_H
#define ACME_FLEET_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

/*
 * The contract, whatever the engine:
 *
 * Scope. What one lease covers and what its data lives under: a domain's
 * drive "d:<domain>", a CA's shared account "a:<ca-id>", a name's challenge
 * answers "c:<identifier>". A lowercase letter, ':', then 1..250 printable
 * ASCII characters without space, '{' or '}' (acme_fleet_scope_ok).
 *
 * Lease. acquire(scope) fails with APR_EBUSY while another holder's lease
 * lives; otherwise it raises the scope's fence and returns a lease whose
 * token equals the new fence, so tokens of one scope only ever grow. The
 * lease ends after its TTL unless extended; extend and release act only for
 * the holder (same identity: token, owner and a random nonce, so a token
 * number that comes round again after the engine lost its data is still
 * told apart).
 *
 * Fenced write. A write made with a lease (items, a published set) succeeds
 * only while that lease is the scope's live lease and its token is >= the
 * scope's fence; otherwise nothing is written and the call fails with
 * ACME_FLEET_EFENCED. A node that paused or lost its lease therefore never
 * writes: it must stop its drive. Writes without a lease (challenge answers,
 * status) are for data any node may write.
 *
 * Published set. A scope's finished certificate set carries a generation,
 * 1 for the first and +1 for each publish; publishing generation g succeeds
 * only as a fenced write and only when the current generation is g - 1
 * (ACME_FLEET_ESTALE otherwise); a retry of the same publish by the same
 * lease succeeds again. Publishing also raises a fleet-wide sequence number
 * and sends a hint, so nodes learn of new sets by polling one number.
 * Generations restart when the engine loses its data: a node compares
 * certificates (not generations) before it replaces its active set, and
 * never rolls back.
 *
 * Heartbeat. Each node reports a short record (its active serials, JSON
 * chosen by the caller); readers see every node's record and its age.
 */

/* The caller's lease is gone or superseded: nothing was written; stop. */
#define ACME_FLEET_EFENCED (APR_OS_START_USERERR + 1301)
/* A publish whose generation is not the next one: someone published since. */
#define ACME_FLEET_ESTALE (APR_OS_START_USERERR + 1302)

typedef struct acme_lease_t {
    const char *scope;
    const char *id;         /* the engine's identity of this lease: "<token> <owner> <nonce>" */
    const char *owner;      /* who asked (a node name) */
    apr_uint64_t token;     /* fencing token: greater than every earlier token of scope */
    apr_time_t expires;     /* local clock; measured from before the request was sent,
                             * so never later than the engine's own end of the lease */
} acme_lease_t;

/* Time left on a lease at now; 0 once it ended (by the local clock). */
apr_interval_time_t acme_lease_left(const acme_lease_t *lease, apr_time_t now);

/* An item of a scope; data NULL in a write removes it. */
typedef struct acme_fleet_item_t {
    const char *name;       /* acme_fleet_name_ok */
    const void *data;
    apr_size_t len;
} acme_fleet_item_t;

/* A published certificate set. */
typedef struct acme_fleet_set_t {
    const char *scope;
    apr_uint64_t generation;
    const char *node;               /* who published it */
    apr_time_t published;           /* by the engine's clock */
    apr_array_header_t *items;      /* acme_fleet_item_t, data NUL-terminated, sorted by name */
} acme_fleet_set_t;

/* Who holds a scope's lease. */
typedef struct acme_fleet_holder_t {
    const char *owner;
    apr_uint64_t token;
    apr_interval_time_t left;       /* by the engine's clock */
    apr_uint64_t fence;             /* the scope's fence */
} acme_fleet_holder_t;

/* A node's last heartbeat. */
typedef struct acme_fleet_node_t {
    const char *name;
    const char *data;               /* NUL-terminated */
    apr_size_t len;
    apr_interval_time_t age;        /* since the heartbeat, by the engine's clock */
} acme_fleet_node_t;

/* A scope as described above. */
int acme_fleet_scope_ok(const char *scope);
/* An item, owner or node name: 1..255 printable ASCII characters, no space. */
int acme_fleet_name_ok(const char *name);

#endif
