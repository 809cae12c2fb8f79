/* acme_redis_pool.c: the short-timeout connection pool with its circuit breaker (acme_redis_pool.h). */
#include <unistd.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include "acme_fleet.h"
#include "acme_redis_pool.h"

struct acme_redis_pool_t {
    apr_thread_mutex_t *mutex;
    const char *url;
    acme_redis_opts_t ropts;
    const acme_logger_t *log;
    acme_breaker_t *breaker;
    apr_array_header_t *idle;       /* acme_redis_conn_t * */
    int max_idle;
};

static apr_status_t close_idle(void *data)
{
    acme_redis_pool_t *rp = data;

    while (rp->idle->nelts > 0) {
        acme_redis_conn_t *c = *(acme_redis_conn_t **)apr_array_pop(rp->idle);
        apr_pool_destroy(c->pool);
    }
    return APR_SUCCESS;
}

apr_status_t acme_redis_pool_create(apr_pool_t *p, const char *url,
                                    const acme_redis_pool_opts_t *opts,
                                    const acme_logger_t *log, acme_redis_pool_t **out,
                                    const char **err)
{
    acme_redis_pool_t *rp = apr_pcalloc(p, sizeof(*rp));
    int patient = opts && opts->patient;
    apr_interval_time_t cap = patient ? apr_time_from_sec(2) : ACME_REDIS_POOL_MAX_TIMEOUT;
    apr_interval_time_t t = opts && opts->timeout > 0 ? opts->timeout : cap;
    apr_status_t rv;

    if ((rv = acme_redis_usable(p, url, err)) != APR_SUCCESS) return rv;
    if (t > cap && !patient) t = cap;
    rp->url = apr_pstrdup(p, url);
    rp->ropts.connect_timeout = t;
    rp->ropts.timeout = t;
    rp->log = log;
    rp->max_idle = opts && opts->max_idle > 0 ? opts->max_idle : 4;
    rp->idle = apr_array_make(p, rp->max_idle, sizeof(acme_redis_conn_t *));
    if ((rv = apr_thread_mutex_create(&rp->mutex, APR_THREAD_MUTEX_DEFAULT, p)) != APR_SUCCESS
        || (rv = acme_breaker_create(p, opts ? &opts->breaker : NULL, &rp->breaker))
           != APR_SUCCESS) {
        return rv;
    }
    apr_pool_cleanup_register(p, rp, close_idle, apr_pool_cleanup_null);
    *out = rp;
    return APR_SUCCESS;
}

/* The call reached Redis and got an answer (which may be a refusal). */
static int answered(apr_status_t rv)
{
    return rv == APR_SUCCESS || APR_STATUS_IS_ENOENT(rv) || APR_STATUS_IS_EBUSY(rv)
           || rv == ACME_FLEET_EFENCED || rv == ACME_FLEET_ESTALE || rv == APR_EINVAL;
}

apr_status_t acme_redis_pool_take(acme_redis_pool_t *rp, acme_redis_conn_t **out)
{
    acme_redis_conn_t *c = NULL;
    apr_pool_t *cp;
    const char *err = NULL;
    apr_status_t rv;

    *out = NULL;
    if (!acme_breaker_allow(rp->breaker, apr_time_now())) return APR_EAGAIN;
    apr_thread_mutex_lock(rp->mutex);
    while (rp->idle->nelts > 0 && !c) {
        c = *(acme_redis_conn_t **)apr_array_pop(rp->idle);
        if (c->pid != (long)getpid()) {
            /* the parent's, inherited over fork: its socket is not ours to talk on */
            apr_pool_destroy(c->pool);
            c = NULL;
        }
    }
    apr_thread_mutex_unlock(rp->mutex);
    if (c) {
        *out = c;
        return APR_SUCCESS;
    }
    /* a root pool (the global allocator is thread-safe): connections are
     * made and dropped on whichever thread needs one */
    if ((rv = apr_pool_create(&cp, NULL)) != APR_SUCCESS) return rv;
    c = apr_pcalloc(cp, sizeof(*c));
    c->pool = cp;
    c->pid = (long)getpid();
    if ((rv = acme_redis_open(cp, rp->url, &rp->ropts, rp->log, &c->r, &err)) != APR_SUCCESS) {
        acme_log(rp->log, ACME_LOG_DEBUG, rv, "%s", err ? err : "Redis: cannot connect");
        apr_pool_destroy(cp);
        acme_breaker_report(rp->breaker, 0, apr_time_now());
        return rv;
    }
    *out = c;
    return APR_SUCCESS;
}

void acme_redis_pool_give(acme_redis_pool_t *rp, acme_redis_conn_t *c, apr_status_t rv)
{
    int ok = answered(rv), kept = 0;

    if (!c) return;
    acme_breaker_report(rp->breaker, ok, apr_time_now());
    apr_thread_mutex_lock(rp->mutex);
    if (ok && rp->idle->nelts < rp->max_idle) {
        APR_ARRAY_PUSH(rp->idle, acme_redis_conn_t *) = c;
        kept = 1;
    }
    apr_thread_mutex_unlock(rp->mutex);
    if (!kept) apr_pool_destroy(c->pool);
}

apr_status_t acme_redis_pool_get(acme_redis_pool_t *rp, apr_pool_t *p, const char *scope,
                                 const char *name, char **data, apr_size_t *len)
{
    acme_redis_conn_t *c;
    apr_status_t rv;

    if ((rv = acme_redis_pool_take(rp, &c)) != APR_SUCCESS) return rv;
    rv = acme_redis_get(c->r, p, scope, name, data, len);
    if (rv != APR_SUCCESS && !APR_STATUS_IS_ENOENT(rv)) {
        acme_log(rp->log, ACME_LOG_DEBUG, rv, "%s", acme_redis_error(c->r));
    }
    acme_redis_pool_give(rp, c, rv);
    return rv;
}

apr_time_t acme_redis_pool_open_until(acme_redis_pool_t *rp)
{
    return acme_breaker_open_until(rp->breaker);
}
