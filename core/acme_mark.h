/* acme_mark.h: what acmectl leaves on a domain for the drive and for status (renew now, revoked certificates) and the wake-up the watchdog looks for. */
#ifndef ACME_MARK_H
#define ACME_MARK_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include <jansson.h>
#include "acme_store.h"

/* Items of state/<entry>/: written by acmectl, never by a drive's status
 * update, so they need no lock and survive a drive running meanwhile. */
#define ACME_MARK_RENEW_ITEM "renew"            /* RFC 3339 time of the request */
#define ACME_MARK_REVOKED_ITEM "revoked.json"   /* {"serials": [...], "reason", "at"} */

/* `acmectl renew`: the next check drives the domain whatever its window;
 * status shows renewal {at: now, source: "manual"} until then. Wakes the
 * watchdog. */
apr_status_t acme_mark_renew(acme_store_t *store, apr_pool_t *p, const char *entry,
                             apr_time_t now);

/* `acmectl revoke`: these certificates (serials as status shows them) were
 * revoked with reason (-1: none given); status says "revoked" while one of
 * them is active. reissue: also acme_mark_renew. */
apr_status_t acme_mark_revoked(acme_store_t *store, apr_pool_t *p, const char *entry,
                               const apr_array_header_t *serials, int reason, apr_time_t now,
                               int reissue);

/* The renew request's time (0: none) and the revoked record (NULL: none). */
apr_time_t acme_mark_renew_at(acme_store_t *store, apr_pool_t *p, const char *entry);
json_t *acme_mark_revoked_get(acme_store_t *store, apr_pool_t *p, const char *entry);

/* The wake-up: when acmectl last left a mark (0: never). The watchdog looks
 * at this every tick and starts a check when it changed. */
apr_time_t acme_mark_last(acme_store_t *store, apr_pool_t *p);

#endif
