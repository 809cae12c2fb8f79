/* acme_plan.c: when to renew (share of lifetime, absolute window, or a pick inside an ARI window) and the retry backoff. */
#include "acme_plan.h"

apr_time_t acme_plan_whole_sec(apr_time_t t)
{
    apr_time_t r = t % APR_USEC_PER_SEC;

    return t - (r < 0 ? r + APR_USEC_PER_SEC : r);
}

apr_time_t acme_plan_renew_at(apr_time_t not_before, apr_time_t not_after,
                              int pct, apr_interval_time_t window)
{
    apr_interval_time_t lifetime = not_after - not_before;
    apr_interval_time_t before;

    if (window > 0) {
        return acme_plan_whole_sec(not_after - window);
    }
    if (lifetime <= 0) {
        return acme_plan_whole_sec(not_before);
    }
    if (pct < 0) {
        pct = 0;
    }
    else if (pct > 100) {
        pct = 100;
    }
    /* Split the product so a century-long lifetime cannot overflow. */
    before = (lifetime / 100) * pct + ((lifetime % 100) * pct) / 100;
    return acme_plan_whole_sec(not_after - before);
}

apr_time_t acme_plan_ari_pick(apr_time_t start, apr_time_t end, double rand01)
{
    double span;

    if (end <= start) {
        return acme_plan_whole_sec(start);
    }
    if (!(rand01 >= 0.0)) {         /* also catches NaN */
        rand01 = 0.0;
    }
    else if (rand01 >= 1.0) {
        rand01 = 0.999999;
    }
    span = (double)(end - start) * rand01;
    return acme_plan_whole_sec(start + (apr_time_t)span);
}

apr_interval_time_t acme_plan_backoff(apr_interval_time_t first, int failures,
                                      apr_interval_time_t retry_after)
{
    apr_interval_time_t d = first > 0 ? first : apr_time_from_sec(1);

    if (d > ACME_PLAN_BACKOFF_CAP) {
        d = ACME_PLAN_BACKOFF_CAP;
    }
    for (int i = 1; i < failures && d < ACME_PLAN_BACKOFF_CAP; i++) {
        d = (d > ACME_PLAN_BACKOFF_CAP / 2) ? ACME_PLAN_BACKOFF_CAP : d * 2;
    }
    if (retry_after > d) {
        d = retry_after > ACME_PLAN_BACKOFF_CAP ? ACME_PLAN_BACKOFF_CAP : retry_after;
    }
    return d;
}
