/* acme_breaker.c: the circuit breaker of acme_breaker.h. */
#include <apr_thread_mutex.h>
#include "acme_breaker.h"

struct acme_breaker_t {
    apr_thread_mutex_t *mutex;
    acme_breaker_opts_t o;
    int failures;                   /* in a row */
    apr_interval_time_t period;     /* the current open period; 0 while closed */
    apr_time_t until;               /* open until then; 0: closed */
    apr_time_t probe_since;         /* a probe went ahead then; 0: none out */
};

apr_status_t acme_breaker_create(apr_pool_t *p, const acme_breaker_opts_t *opts,
                                 acme_breaker_t **out)
{
    acme_breaker_t *b = apr_pcalloc(p, sizeof(*b));
    apr_status_t rv;

    if (opts) b->o = *opts;
    if (b->o.threshold < 1) b->o.threshold = 2;
    if (b->o.open_min <= 0) b->o.open_min = apr_time_from_sec(1);
    if (b->o.open_max < b->o.open_min) {
        b->o.open_max = b->o.open_min > ACME_BREAKER_OPEN_MAX ? b->o.open_min
                                                              : ACME_BREAKER_OPEN_MAX;
    }
    if ((rv = apr_thread_mutex_create(&b->mutex, APR_THREAD_MUTEX_DEFAULT, p)) != APR_SUCCESS) {
        return rv;
    }
    *out = b;
    return APR_SUCCESS;
}

int acme_breaker_allow(acme_breaker_t *b, apr_time_t now)
{
    int ok = 1;

    apr_thread_mutex_lock(b->mutex);
    if (b->until) {
        if (now < b->until) ok = 0;
        else if (b->probe_since && now - b->probe_since < b->o.open_min) ok = 0;
        else b->probe_since = now;
    }
    apr_thread_mutex_unlock(b->mutex);
    return ok;
}

void acme_breaker_report(acme_breaker_t *b, int ok, apr_time_t now)
{
    apr_thread_mutex_lock(b->mutex);
    if (ok) {
        b->failures = 0;
        b->period = 0;
        b->until = 0;
        b->probe_since = 0;
    }
    else if (b->until) {
        /* the probe failed: open again, longer; a call let through before
         * it opened changes nothing */
        if (b->probe_since) {
            b->period = b->period * 2 > b->o.open_max ? b->o.open_max : b->period * 2;
            b->until = now + b->period;
            b->probe_since = 0;
        }
    }
    else if (++b->failures >= b->o.threshold) {
        b->period = b->o.open_min;
        b->until = now + b->period;
        b->probe_since = 0;
    }
    apr_thread_mutex_unlock(b->mutex);
}

apr_time_t acme_breaker_open_until(acme_breaker_t *b)
{
    apr_time_t t;

    apr_thread_mutex_lock(b->mutex);
    t = b->until;
    apr_thread_mutex_unlock(b->mutex);
    return t;
}
