/* acme_fleet_sync.h: a domain's certificate set between a node and its fleet: publishing what a drive staged, and taking a newer published set into local staging. */
#ifndef ACME_FLEET_SYNC_H
#define ACME_FLEET_SYNC_H

#include "acme_activate.h"
#include "acme_log.h"

/* Publishes d's staged set (read back with its keys) from the drive that
 * holds d's lock (fence). APR_SUCCESS at once for a store that is not a
 * fleet store; ACME_STORE_ELOST / ACME_FLEET_ESTALE when the lock was lost
 * or another node published since (the staged set must then be dropped). */
apr_status_t acme_fleet_publish_staged(acme_store_t *st, apr_pool_t *p, const acme_domain_t *d,
                                       const acme_store_lock_t *fence,
                                       const acme_logger_t *log);

/* A published set of d this node should take: complete for d's current
 * configuration, verified at now, not what is active or staged already,
 * and not older than the active certificate (a node never rolls back).
 * 1 with *set (and *from: "generation N by NODE"), 0 when there is none
 * to take (always for a store that is not a fleet store), -1 when the
 * fleet's set cannot be read or opened (logged): the caller must not order
 * then (a node with a wrong key file or cut off from Redis fails closed). */
int acme_fleet_newer(acme_store_t *st, apr_pool_t *p, const acme_domain_t *d, apr_time_t now,
                     const acme_logger_t *log, acme_cert_set_t **set, const char **from);

/* Writes set to d's staging (meta.json last), as a drive stages its own. */
apr_status_t acme_fleet_stage(acme_store_t *st, apr_pool_t *p, const acme_cert_set_t *set);

#endif
