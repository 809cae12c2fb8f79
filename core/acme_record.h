/* acme_record.h: what acmectl leaves on a domain for the drive and for status (renew now, revoked certificates) and the wake-up the watchdog looks for. */
#ifndef ACME_RECORD_H
#define ACME_RECORD_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include <jansson.h>
#include "acme_store.h"

/* The record (status.json): what the drive last did and what comes next,
 * read by status, the watchdog and acmectl. Written by the drive under the
 * domain's lock, atomically but not durably (it is rebuilt by the next check). */
#define ACME_RECORD_STATUS_ITEM "status.json"
/* The order in progress (order.json), resumed by the next drive. */
#define ACME_RECORD_ORDER_ITEM "order.json"

/* The record of entry: APR_ENOENT when none, APR_EINVAL when it is not a
 * JSON object (*rec NULL then). */
apr_status_t acme_record_load(acme_store_t *store, apr_pool_t *p, const char *entry, json_t **rec);
apr_status_t acme_record_save(acme_store_t *store, apr_pool_t *p, const char *entry,
                              const json_t *rec);

/* Members of a record (0 or NULL when absent or malformed): when the drive
 * tries again after a failure, when the renewal is due, the CA the drive used
 * last, the hint of the last error. */
apr_time_t acme_record_next_attempt(const json_t *rec);
void acme_record_set_next_attempt(apr_pool_t *p, json_t *rec, apr_time_t t);
apr_time_t acme_record_renewal_at(const json_t *rec);
const char *acme_record_ca(const json_t *rec);
const char *acme_record_hint(const json_t *rec);

/* Order progress: durable only while it holds a certificate key (a bare
 * order URL is fetched again); fence: the domain's lock (acme_store.h). */
apr_status_t acme_record_order_load(acme_store_t *store, apr_pool_t *p, const char *entry,
                                    json_t **order);
apr_status_t acme_record_order_save(acme_store_t *store, apr_pool_t *p, const char *entry,
                                    const json_t *order, int durable,
                                    const acme_store_lock_t *fence);
apr_status_t acme_record_order_drop(acme_store_t *store, apr_pool_t *p, const char *entry,
                                    const acme_store_lock_t *fence);

/* Items of state/<entry>/: written by acmectl, never by a drive's status
 * update, so they need no lock and survive a drive running meanwhile. */
#define ACME_RECORD_RENEW_ITEM "renew"            /* RFC 3339 time of the request */
#define ACME_RECORD_REVOKED_ITEM "revoked.json"   /* {"serials": [...], "reason", "at"} */

/* `acmectl renew`: the next check drives the domain whatever its window;
 * status shows renewal {at: now, source: "manual"} until then. Wakes the
 * watchdog. */
apr_status_t acme_record_mark_renew(acme_store_t *store, apr_pool_t *p, const char *entry,
                             apr_time_t now);

/* `acmectl revoke`: these certificates (serials as status shows them) were
 * revoked with reason (-1: none given); status says "revoked" while one of
 * them is active. reissue: also acme_record_mark_renew. */
apr_status_t acme_record_mark_revoked(acme_store_t *store, apr_pool_t *p, const char *entry,
                               const apr_array_header_t *serials, int reason, apr_time_t now,
                               int reissue);

/* The renew request's time (0: none) and the revoked record (NULL: none);
 * the drive drops the renew mark once it succeeded. */
apr_time_t acme_record_renew_at(acme_store_t *store, apr_pool_t *p, const char *entry);
json_t *acme_record_revoked(acme_store_t *store, apr_pool_t *p, const char *entry);
void acme_record_renew_done(acme_store_t *store, apr_pool_t *p, const char *entry);

/* The wake-up: when acmectl last left a mark (0: never). The watchdog looks
 * at this every tick and starts a check when it changed. */
apr_time_t acme_record_last_mark(acme_store_t *store, apr_pool_t *p);

#endif
