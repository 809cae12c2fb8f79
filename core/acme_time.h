/* acme_time.h: RFC 3339 timestamps, durations ("30s", "5m", "12h", "7d") and HTTP Retry-After. */
#ifndef ACME_TIME_H
#define ACME_TIME_H

#include <apr_pools.h>
#include <apr_time.h>

/* "2026-11-26T05:43:57Z" (UTC, whole seconds). */
const char *acme_time_rfc3339(apr_pool_t *p, apr_time_t t);
/* Accepts fractional seconds and "Z" or "+hh:mm"/"-hh:mm". APR_EINVAL otherwise. */
apr_status_t acme_time_parse_rfc3339(const char *s, apr_time_t *t);

/* Duration: digits with optional suffix s, m, h, d (plain = seconds); > 0,
 * no overflow, no trailing garbage. APR_EINVAL otherwise. */
apr_status_t acme_duration_parse(const char *s, apr_interval_time_t *out);

/* Retry-After header value: delta-seconds or an HTTP-date. *out is the delay
 * from now (0 for dates in the past), capped at 24h. APR_EINVAL for garbage. */
apr_status_t acme_retry_after_parse(const char *s, apr_time_t now, apr_interval_time_t *out);

#endif
