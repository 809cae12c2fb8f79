/* acme_ca_registry.c: the CAs the drives share (one client per directory URL) and their outage records, so that an unreachable CA costs one attempt per period, not one per domain. */
#include <string.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include "acme_drive.h"
#include "acme_drive_int.h"
#include "acme_plan.h"

struct acme_ca_registry_t {
    apr_pool_t *pool;
    apr_thread_mutex_t *mutex;
    apr_hash_t *cas;
    apr_hash_t *down;           /* url -> ca_down_t*: unreachable until then */
    acme_http_t *http;
    const acme_logger_t *log;
    acme_ca_observer_t obs;
};

apr_status_t acme_ca_registry_create(apr_pool_t *p, const acme_http_opts_t *http_opts,
                                     const acme_logger_t *log, acme_ca_registry_t **reg)
{
    acme_ca_registry_t *r = apr_pcalloc(p, sizeof(*r));
    apr_status_t rv;

    r->pool = p;
    r->log = log;
    r->cas = apr_hash_make(p);
    r->down = apr_hash_make(p);
    if ((rv = apr_thread_mutex_create(&r->mutex, APR_THREAD_MUTEX_DEFAULT, p)) != APR_SUCCESS
        || (rv = acme_http_create(p, http_opts, log, &r->http)) != APR_SUCCESS) {
        return rv;
    }
    *reg = r;
    return APR_SUCCESS;
}

apr_status_t acme_ca_registry_get(acme_ca_registry_t *reg, const char *url, acme_ca_t **ca)
{
    apr_status_t rv = APR_SUCCESS;
    if (!url || !*url) return APR_EINVAL;
    apr_thread_mutex_lock(reg->mutex);
    *ca = apr_hash_get(reg->cas, url, APR_HASH_KEY_STRING);
    if (!*ca) {
        /* Created under the mutex: the registry's pool is not thread-safe. */
        rv = acme_ca_create(reg->pool, url, reg->http, reg->log, ca);
        if (rv == APR_SUCCESS) {
            acme_ca_set_observer(*ca, &reg->obs);
            apr_hash_set(reg->cas, apr_pstrdup(reg->pool, url), APR_HASH_KEY_STRING, *ca);
        }
    }
    apr_thread_mutex_unlock(reg->mutex);
    return rv;
}

void acme_ca_registry_set_observer(acme_ca_registry_t *reg, const acme_ca_observer_t *obs)
{
    apr_thread_mutex_lock(reg->mutex);
    if (obs) reg->obs = *obs;
    apr_thread_mutex_unlock(reg->mutex);
}

/* A CA that could not be reached is left alone for a while: the drives of
 * its other domains wait without a request, so an outage costs one attempt
 * per period, not one per domain. The period is the CA's own backoff (from
 * ACMERetryDelay, doubling, at most CA_DOWN_MAX), never a domain's; any
 * answer from the CA ends it. */
#define CA_DOWN_MAX apr_time_from_sec(600)


/* The record of url, made when missing; call with reg->mutex held. */
static ca_down_t *ca_record(acme_ca_registry_t *reg, const char *url)
{
    ca_down_t *t = apr_hash_get(reg->down, url, APR_HASH_KEY_STRING);

    if (!t) {
        t = apr_pcalloc(reg->pool, sizeof(*t));
        apr_hash_set(reg->down, apr_pstrdup(reg->pool, url), APR_HASH_KEY_STRING, t);
    }
    return t;
}

void acme_careg_unreachable(acme_ca_registry_t *reg, const char *url, apr_time_t now,
                           apr_interval_time_t first_delay, const char *detail)
{
    apr_interval_time_t delay = first_delay > 0 ? first_delay : ACME_DEFAULT_RETRY_DELAY;
    ca_down_t *t;
    int i;

    apr_thread_mutex_lock(reg->mutex);
    t = ca_record(reg, url);
    t->reached = 0;
    if (t->until <= now) t->since = now;        /* a new outage */
    for (i = t->failures++; i > 0 && delay < CA_DOWN_MAX; --i) delay *= 2;
    t->until = acme_plan_whole_sec(now + (delay < CA_DOWN_MAX ? delay : CA_DOWN_MAX));
    apr_cpystrn(t->detail, detail ? detail : "", sizeof(t->detail));
    apr_thread_mutex_unlock(reg->mutex);
}

void acme_careg_answered(acme_ca_registry_t *reg, const char *url)
{
    ca_down_t *t;

    apr_thread_mutex_lock(reg->mutex);
    t = ca_record(reg, url);
    t->until = 0;
    t->failures = 0;
    t->reached = 1;
    apr_thread_mutex_unlock(reg->mutex);
}

#define PROBE_POLL apr_time_from_msec(100)
#define PROBE_WAIT_MAX apr_time_from_sec(300)

/* Before a drive talks to url: while another drive tries a CA whose state is
 * not known, wait for its outcome (bounded; cancel ends the wait). 1 when
 * this drive is the one that tries it now (it calls ca_leave afterwards). */
int acme_careg_enter(acme_ca_registry_t *reg, const char *url, volatile int *cancel)
{
    apr_time_t deadline = apr_time_now() + PROBE_WAIT_MAX;
    ca_down_t *t;
    int probe = 0;

    apr_thread_mutex_lock(reg->mutex);
    t = ca_record(reg, url);
    while (t->probing && !(cancel && *cancel) && apr_time_now() < deadline) {
        apr_thread_mutex_unlock(reg->mutex);
        apr_sleep(PROBE_POLL);
        apr_thread_mutex_lock(reg->mutex);
    }
    if (!t->probing && !t->reached && t->until <= apr_time_now()) {
        t->probing = probe = 1;
    }
    apr_thread_mutex_unlock(reg->mutex);
    return probe;
}

void acme_careg_leave(acme_ca_registry_t *reg, const char *url)
{
    apr_thread_mutex_lock(reg->mutex);
    ca_record(reg, url)->probing = 0;
    apr_thread_mutex_unlock(reg->mutex);
}

/* The mark of url if it is down at now (copied: others may update it). */
int acme_careg_down(acme_ca_registry_t *reg, const char *url, apr_time_t now, ca_down_t *out)
{
    ca_down_t *t;
    int down = 0;

    apr_thread_mutex_lock(reg->mutex);
    t = apr_hash_get(reg->down, url, APR_HASH_KEY_STRING);
    if (t && t->until > now) {
        *out = *t;
        down = 1;
    }
    apr_thread_mutex_unlock(reg->mutex);
    return down;
}
