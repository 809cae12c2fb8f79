/* acme_fallback.h: the self-signed certificates served before a domain's first real one: one shared key, one certificate per domain, kept in the store's fallback group and reused while they fit. */
#ifndef ACME_FALLBACK_H
#define ACME_FALLBACK_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "acme_store.h"

/* Items of the fallback group: the shared key in entry "_shared", each
 * domain's certificate in its own entry. */
#define ACME_FALLBACK_KEY_ENTRY "_shared"
#define ACME_FALLBACK_KEY_ITEM "privkey.pem"
#define ACME_FALLBACK_CERT_ITEM "fallback.pem"

/* How long a fallback certificate is valid, and the time it must have left
 * to be served again. */
#define ACME_FALLBACK_VALID apr_time_from_sec(30 * 24 * 3600)
#define ACME_FALLBACK_MIN_LEFT apr_time_from_sec(2 * 24 * 3600)

/* What a process already checked, kept across passes (httpd: retained data
 * across config passes and graceful restarts): a certificate whose stored
 * version, names and key are unchanged is not read again. */
typedef struct acme_fallback_memo_t acme_fallback_memo_t;
acme_fallback_memo_t *acme_fallback_memo_make(apr_pool_t *pool);

/* One pass over the configured domains; pool lives as long as the pass. */
typedef struct acme_fallback_pass_t acme_fallback_pass_t;
acme_fallback_pass_t *acme_fallback_pass(apr_pool_t *pool, acme_store_t *store,
                                         acme_fallback_memo_t *memo);

/* Makes sure the shared key and a fitting certificate for these names are
 * stored (the key loaded, else made; the certificate reused while it names
 * exactly these names, was made with the shared key and has
 * ACME_FALLBACK_MIN_LEFT left, else made anew). Both are then local files
 * of the store (store->file). */
apr_status_t acme_fallback_prepare(acme_fallback_pass_t *fp, apr_pool_t *p, const char *entry,
                                   const apr_array_header_t *names);

#endif
