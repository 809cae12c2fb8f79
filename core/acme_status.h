/* acme_status.h: the status JSON (README "Status JSON"), built from the store for httpd's handler and acmectl. */
#ifndef ACME_STATUS_H
#define ACME_STATUS_H

#include <apr_pools.h>
#include <jansson.h>
#include "acme_domain.h"
#include "acme_store.h"

/* One domain's object {"name","names","state","ca","certificates",
 * "renewal","staged","expiring","last_error","next_attempt"}; each
 * certificate has "warn_at" and "expiring" from d's ACMEWarnWindow. d may be NULL when only
 * the store is known (acmectl): names/ca then come from state/<id>/. */
apr_status_t acme_status_domain(apr_pool_t *p, acme_store_t *store, const char *id,
                                const acme_domain_t *d, json_t **out);

/* {"version", "domains": [...]} for the given domains, or every domain in
 * the store when domains is NULL. */
apr_status_t acme_status_all(apr_pool_t *p, acme_store_t *store,
                             const apr_array_header_t *domains /* acme_domain_t* */,
                             json_t **out);

/* A certificate file mod_acme does not manage (a vhost's own
 * SSLCertificateFile): {"file","names","serial","not_before","not_after",
 * "issuer","sha256_fingerprint","warn_at","expiring","expired"} of its
 * first certificate, the warning window as for a domain (pct 0 and window
 * 0: 10%). */
apr_status_t acme_status_cert_file(apr_pool_t *p, const char *path, int warn_pct,
                                   apr_interval_time_t warn_window, apr_time_t now,
                                   json_t **out);

#endif
