/* acme_metrics.h: counters of CA requests, drives and activations, and the Prometheus text exposition (format 0.0.4) of them and the status JSON. */
#ifndef ACME_METRICS_H
#define ACME_METRICS_H

#include <apr_pools.h>
#include <apr_time.h>
#include <jansson.h>
#include "acme_ca.h"

/* Counters kept by the process that drives (thread-safe) as increments
 * since they were last merged into the saved JSON, so processes that
 * overlap (httpd generations around a graceful restart) add up instead of
 * overwriting each other. */
typedef struct acme_metrics_t acme_metrics_t;

apr_status_t acme_metrics_create(apr_pool_t *p, acme_metrics_t **out);

/* The saved counters' record of the active certificates, so that
 * acme_metrics_active counts only a serial not seen before. */
void acme_metrics_restore(acme_metrics_t *m, const json_t *saved);

/* A CA observer that counts every request by CA, endpoint and status class
 * ("2xx".."5xx", "error" when no response). Endpoints without a directory
 * name are told apart by what earlier answers said they are: "order",
 * "authz", "challenge", "finalize", "certificate", "account", else "other". */
void acme_metrics_ca_observer(acme_metrics_t *m, acme_ca_observer_t *obs);

/* One drive that talked to a CA: its duration and outcome. */
void acme_metrics_drive(acme_metrics_t *m, apr_interval_time_t took, int ok);

/* The active certificate of a domain: a serial other than the one seen last
 * counts as an activation. */
void acme_metrics_active(acme_metrics_t *m, const char *domain, const char *serial);

/* saved (may be NULL or malformed: then a fresh record) plus the increments
 * since the last merge, which are then cleared; owned by p. *changed: there
 * were increments. */
json_t *acme_metrics_merge(acme_metrics_t *m, apr_pool_t *p, const json_t *saved, int *changed);

/* Prometheus text exposition 0.0.4: the status JSON {"domains",
 * "static_certificates"} (see acme_status.h) and a counters snapshot (may be
 * NULL). Only public facts: names, dates, states, counts. */
const char *acme_metrics_text(apr_pool_t *p, const json_t *status, const json_t *counters);

#endif
