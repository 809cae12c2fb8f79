/* mod_acme_warn.h: expiry warnings while httpd runs: ACMEWarnWindow for managed domains, ACMEWatchStatic for vhosts with their own SSLCertificateFile. */
#ifndef MOD_ACME_WARN_H
#define MOD_ACME_WARN_H

#include <httpd.h>
#include <jansson.h>
#include "mod_acme_config.h"

/* mod_ssl's ssl_add_cert_files hook (parent, config time): remember the
 * vhost's own certificate files for ACMEWatchStatic. */
void am_warn_note_static(am_runtime_t *rt, server_rec *s, const apr_array_header_t *cert_files);

/* The watched static certificates, as acme_status_cert_file objects with
 * "vhost" added (an array, owned by p; unreadable files are left out). */
json_t *am_warn_static_json(const am_runtime_t *rt, apr_pool_t *p, apr_time_t now);

typedef struct am_warn_t am_warn_t;

/* In the watchdog child, from its own pool. */
am_warn_t *am_warn_create(am_runtime_t *rt, apr_pool_t *pool);

/* From the watchdog's tick: when a look is due (at start, every hour or
 * ACMECheckInterval if shorter, and when a certificate enters its window),
 * warn (log at warn, `expiring` event) about every certificate inside its
 * window, at most once a day each, across restarts. */
void am_warn_tick(am_warn_t *w, apr_pool_t *ptick, apr_time_t now);

#endif
