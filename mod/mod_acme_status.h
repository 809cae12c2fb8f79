/* mod_acme_status.h: the acme-status handler (JSON or HTML) and mod_status' ACME section. */
#ifndef MOD_ACME_STATUS_H
#define MOD_ACME_STATUS_H

#include <httpd.h>
#include "mod_acme_config.h"

#include <jansson.h>

/* The status JSON of every managed domain plus "static_certificates" (the
 * vhosts' own certificates watched with ACMEWatchStatic); owned by p. */
apr_status_t am_status_build(apr_pool_t *p, const am_runtime_t *rt, json_t **out);

/* The start of mod_acme's GET-only handlers: OK when r is for `handler`,
 * DECLINED when it is not, 405 for another method. */
int am_handler_check(request_rec *r, const char *handler);

/* Handler for `SetHandler acme-status`. */
int am_status_handler(request_rec *r);

/* mod_status' status_hook. */
int am_status_hook(request_rec *r, int flags);

#endif
