/* mod_acme_events.h: which ACMENotifyCmd event a drive's start and end are (renewing, issued, renew-failed, errored), with their variables. */
#ifndef MOD_ACME_EVENTS_H
#define MOD_ACME_EVENTS_H

#include <httpd.h>
#include "acme_drive.h"
#include "mod_acme_config.h"

/* A drive of d starts: `renewing`, ACME_REASON = why it runs. */
void am_events_drive_start(const am_runtime_t *rt, apr_pool_t *p, const acme_domain_t *d,
                             const char *why);

/* A drive of d ended with rv/res (not for a drive that did not run: busy,
 * waiting for its CA, cancelled): `issued` for a staged set; after a
 * failure `renew-failed` while a valid certificate is still served, else
 * `errored` (none yet, or expired), both with the CA's problem. */
void am_events_drive_end(const am_runtime_t *rt, apr_pool_t *p, const acme_domain_t *d,
                           apr_status_t rv, const acme_drive_result_t *res);

#endif
