/* acme_plan.h: renewal planning (window or ARI) and the retry backoff after failures. Pure arithmetic. */
#ifndef ACME_PLAN_H
#define ACME_PLAN_H

#include <apr_time.h>

/* The one precision of every time the drive records and compares (renewal
 * times, next attempts): whole seconds, rounded down. A time kept in a
 * record (RFC 3339, whole seconds) then means exactly what was decided. */
apr_time_t acme_plan_whole_sec(apr_time_t t);

/* When to renew a certificate valid [not_before, not_after]: when less than
 * `pct` % of the lifetime remains, or, when window > 0, less than `window`.
 * Whole seconds (acme_plan_whole_sec). */
apr_time_t acme_plan_renew_at(apr_time_t not_before, apr_time_t not_after,
                              int pct, apr_interval_time_t window);

/* A time inside the ARI suggested window [start, end] (uniformly spread by
 * `rand01` in [0,1) so a fleet does not renew at once); start when end <= start.
 * Whole seconds, never before start's second. */
apr_time_t acme_plan_ari_pick(apr_time_t start, apr_time_t end, double rand01);

/* Delay before attempt number `failures`+1 after `failures` failures (>= 1):
 * first * 2^(failures-1), capped at 24 h; a CA's Retry-After (> 0) wins when longer. */
apr_interval_time_t acme_plan_backoff(apr_interval_time_t first, int failures,
                                      apr_interval_time_t retry_after);

#define ACME_PLAN_BACKOFF_CAP apr_time_from_sec(24 * 3600)

#endif
