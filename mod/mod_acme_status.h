/* mod_acme_status.h: the acme-status handler (JSON or HTML), mod_status' ACME section, and the startup warning about expiring certificates. */
#ifndef MOD_ACME_STATUS_H
#define MOD_ACME_STATUS_H

#include <httpd.h>
#include "mod_acme_config.h"

/* post_config at startup: warn (and notify "expiring") about active
 * certificates close to their end that were not renewed. The status itself
 * and renewal planning read domains/ directly (chains are public there). */
void acme_status_warn_expiring(acme_rt_t *rt, apr_pool_t *ptemp);

/* Handler for `SetHandler acme-status`. */
int acme_status_handler(request_rec *r);

/* mod_status' status_hook. */
int acme_status_hook(request_rec *r, int flags);

#endif
