/* acme_breaker.h: a circuit breaker that lets a caller stop asking a failing service for a while, so its outage costs the request path nothing after the first failures. */
#ifndef ACME_BREAKER_H
#define ACME_BREAKER_H

#include <apr_pools.h>
#include <apr_time.h>

/*
 * Closed: every call goes ahead. `threshold` failures in a row open it for
 * `open_min`; while open no call goes ahead. When that time is over, one
 * call (the probe) goes ahead and the others still wait: its success closes
 * the breaker, its failure opens it again for twice as long, up to
 * `open_max`. A probe that never reports is given up after open_min.
 * Thread-safe; the clock is the caller's (now), so tests run on a fake one.
 */

typedef struct acme_breaker_t acme_breaker_t;

typedef struct acme_breaker_opts_t {
    int threshold;                  /* failures in a row that open it; default 2 */
    apr_interval_time_t open_min;   /* first open period; default 1 s */
    apr_interval_time_t open_max;   /* longest open period; default 30 s */
} acme_breaker_opts_t;

/* The longest open period when opts leave it 0. */
#define ACME_BREAKER_OPEN_MAX apr_time_from_sec(30)

/* opts may be NULL (the defaults). */
apr_status_t acme_breaker_create(apr_pool_t *p, const acme_breaker_opts_t *opts,
                                 acme_breaker_t **b);
/* 1: make the call and report its outcome; 0: do not (the breaker is open). */
int acme_breaker_allow(acme_breaker_t *b, apr_time_t now);
/* The outcome of a call that acme_breaker_allow let through. */
void acme_breaker_report(acme_breaker_t *b, int ok, apr_time_t now);
/* Until when it stays open (0: closed), for status and logs. */
apr_time_t acme_breaker_open_until(acme_breaker_t *b);

#endif
