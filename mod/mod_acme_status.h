/* mod_acme_status.h: the acme-status handler (JSON or HTML), mod_status' ACME section, and the root-side snapshot of active certificates. */
#ifndef MOD_ACME_STATUS_H
#define MOD_ACME_STATUS_H

#include <httpd.h>
#include "mod_acme_config.h"

/* post_config (root): what the unprivileged children cannot read in domains/:
 * each domain's active certificates for the status, and when its active set
 * is due for renewal (md->renew_at). */
void acme_status_snapshot(acme_rt_t *rt, apr_pool_t *ptemp);

/* Handler for `SetHandler acme-status`. */
int acme_status_handler(request_rec *r);

/* mod_status' status_hook. */
int acme_status_hook(request_rec *r, int flags);

#endif
