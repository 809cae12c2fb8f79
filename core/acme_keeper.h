/* acme_keeper.h: keeps fleet leases alive while their holders work (one thread extends every kept lease on a schedule), and tells a holder when its lease is lost so it stops before its next step. */
#ifndef ACME_KEEPER_H
#define ACME_KEEPER_H

#include <apr_pools.h>
#include "acme_fleet.h"
#include "acme_log.h"

/*
 * A drive holds its domain's lease for as long as it runs, which may be
 * minutes (DNS propagation, a slow CA). The keeper extends each kept lease
 * to `ttl` every `every` through the engine's extend function, on its own
 * thread (and so on its own engine connection). An extension the engine
 * refuses (ACME_FLEET_EFENCED: someone else holds the lease now) loses the
 * lease at once; one that fails for another reason (the engine cannot be
 * reached) is tried again every second until the lease runs out by the
 * local clock, which loses it too. A lost lease stays lost: its holder must
 * stop (its fenced writes would be refused anyway).
 *
 * Before a step that must not be cut short (a new order, finalize), the
 * holder asks for at least `need` of lease left: the keeper extends at once
 * when less is left.
 */

typedef apr_status_t acme_keeper_extend_fn(void *baton, acme_lease_t *lease,
                                           apr_interval_time_t ttl);

typedef struct acme_keeper_opts_t {
    apr_interval_time_t ttl;        /* each extension asks for this much; default 120 s */
    apr_interval_time_t every;      /* extend this often; default ttl / 6 (20 s) */
} acme_keeper_opts_t;

typedef struct acme_keeper_t acme_keeper_t;
typedef struct acme_kept_t acme_kept_t;

/* Starts the thread; it ends with acme_keeper_stop or the cleanup of p.
 * extend is only ever called from that thread. */
apr_status_t acme_keeper_start(apr_pool_t *p, const acme_keeper_opts_t *opts,
                               acme_keeper_extend_fn *extend, void *baton,
                               const acme_logger_t *log, acme_keeper_t **k);
void acme_keeper_stop(acme_keeper_t *k);
/* The lease time the keeper asks for (what acquire should ask for too). */
apr_interval_time_t acme_keeper_ttl(const acme_keeper_t *k);

/* Keeps lease (copied; its strings must live as long as p) until
 * acme_keeper_drop or the cleanup of p. */
acme_kept_t *acme_keeper_add(acme_keeper_t *k, apr_pool_t *p, const acme_lease_t *lease);
void acme_keeper_drop(acme_kept_t *kept);

/* APR_SUCCESS while the lease holds for at least need (at most half the
 * ttl) more, extending it now when less is left; ACME_FLEET_EFENCED once it
 * is lost; the engine's failure when that extension failed. */
apr_status_t acme_keeper_check(acme_kept_t *kept, apr_interval_time_t need);
/* The lease as kept now (its expiry moves with each extension). */
acme_lease_t acme_keeper_lease(acme_kept_t *kept);

#endif
