/* mod_acme_metrics.h: SetHandler acme-metrics (Prometheus text format 0.0.4), and the watchdog's counters behind it. */
#ifndef MOD_ACME_METRICS_H
#define MOD_ACME_METRICS_H

#include <httpd.h>
#include "acme_drive.h"
#include "mod_acme_config.h"

/* Handler for `SetHandler acme-metrics`. */
int am_metrics_handler(request_rec *r);

/* The watchdog's counters: CA requests, drive durations, activations. */
typedef struct am_wd_metrics_t am_wd_metrics_t;

/* At the watchdog's start: continues the saved counters, watches the CAs of
 * cas, and counts an activation for each domain whose active certificate is
 * new since the last start. */
am_wd_metrics_t *am_wd_metrics_start(am_runtime_t *rt, apr_pool_t *pool,
                                         acme_ca_registry_t *cas);

/* One drive that talked to the CA. */
void am_wd_metrics_drive(am_wd_metrics_t *wm, apr_interval_time_t took, int ok);

/* Adds the counts since the last call to the saved counters, where any
 * child's handler reads them: from the watchdog's tick at most every few
 * seconds, and with final set at once (after a drive, which may be followed
 * by a restart that ends this child before its watchdog stops). */
void am_wd_metrics_flush(am_wd_metrics_t *wm, apr_pool_t *p, apr_time_t now, int final);

#endif
