/* acme_keeper.c: the lease keeper thread of acme_keeper.h. */
#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>
#include "acme_keeper.h"

#define RETRY apr_time_from_sec(1)

struct acme_kept_t {
    struct acme_kept_t *prev, *next_kept;   /* the keeper's list (under its mutex) */
    acme_keeper_t *k;
    apr_pool_t *pool;
    acme_lease_t lease;             /* expires is the keeper's, under its mutex */
    apr_time_t next;                /* next extension */
    int lost;
    int urgent;                     /* the holder waits for an extension now */
    int busy;                       /* being extended (the thread holds a copy) */
    int linked;
    apr_status_t last;              /* the last extension's status */
};

struct acme_keeper_t {
    apr_pool_t *pool;
    apr_thread_mutex_t *mutex;
    apr_thread_cond_t *cond;        /* the thread waits for work, holders for results */
    apr_thread_t *thread;
    acme_kept_t *head;              /* kept leases (a plain list: APR_RING's macros
                                     * subtract from a null pointer, which clang refuses) */
    acme_keeper_extend_fn *extend;
    void *baton;
    const acme_logger_t *log;
    apr_interval_time_t ttl, every;
    int stop;
};

/* The kept lease due first; NULL when none. Called with the mutex held. */
static acme_kept_t *first_due(acme_keeper_t *k, apr_time_t *when)
{
    acme_kept_t *e, *best = NULL;

    for (e = k->head; e; e = e->next_kept) {
        apr_time_t t = e->urgent ? 0 : e->next;
        if (e->lost || e->busy) continue;
        if (!best || t < *when) {
            best = e;
            *when = t;
        }
    }
    return best;
}

/* One extension of e, made without the mutex (the engine may be slow). */
static void extend_one(acme_keeper_t *k, acme_kept_t *e)
{
    acme_lease_t copy = e->lease;
    apr_status_t rv;

    e->busy = 1;
    apr_thread_mutex_unlock(k->mutex);
    rv = k->extend(k->baton, &copy, k->ttl);
    apr_thread_mutex_lock(k->mutex);
    e->busy = 0;
    e->urgent = 0;
    e->last = rv;
    if (rv == APR_SUCCESS) {
        e->lease.expires = copy.expires;
        e->next = apr_time_now() + k->every;
    }
    else if (rv == ACME_FLEET_EFENCED || acme_lease_left(&e->lease, apr_time_now()) == 0) {
        e->lost = 1;
        acme_log(k->log, ACME_LOG_WARN, rv, "the lease of %s (token %" APR_UINT64_T_FMT
                 ") is lost: %s", e->lease.scope, e->lease.token,
                 rv == ACME_FLEET_EFENCED ? "another holder has it" : "it ran out before it "
                 "could be extended");
    }
    else {
        acme_log(k->log, ACME_LOG_DEBUG, rv, "extending the lease of %s failed; trying again",
                 e->lease.scope);
        e->next = apr_time_now() + RETRY;
    }
    apr_thread_cond_broadcast(k->cond);
}

static void *APR_THREAD_FUNC run(apr_thread_t *th, void *data)
{
    acme_keeper_t *k = data;

    apr_thread_mutex_lock(k->mutex);
    while (!k->stop) {
        apr_time_t when = 0, now = apr_time_now();
        acme_kept_t *e = first_due(k, &when);

        if (e && when <= now) {
            extend_one(k, e);
            continue;
        }
        apr_thread_cond_timedwait(k->cond, k->mutex, e ? when - now : apr_time_from_sec(60));
    }
    apr_thread_mutex_unlock(k->mutex);
    (void)th;       /* not apr_thread_exit: pthread_exit trips ASan's thread teardown */
    return NULL;
}

void acme_keeper_stop(acme_keeper_t *k)
{
    apr_status_t st;

    if (!k || !k->thread) return;
    apr_thread_mutex_lock(k->mutex);
    k->stop = 1;
    apr_thread_cond_broadcast(k->cond);
    apr_thread_mutex_unlock(k->mutex);
    apr_thread_join(&st, k->thread);
    k->thread = NULL;
}

static apr_status_t keeper_cleanup(void *data)
{
    acme_keeper_stop(data);
    return APR_SUCCESS;
}

apr_status_t acme_keeper_start(apr_pool_t *p, const acme_keeper_opts_t *opts,
                               acme_keeper_extend_fn *extend, void *baton,
                               const acme_logger_t *log, acme_keeper_t **out)
{
    acme_keeper_t *k = apr_pcalloc(p, sizeof(*k));
    apr_status_t rv;

    k->pool = p;
    k->extend = extend;
    k->baton = baton;
    k->log = log;
    k->ttl = opts && opts->ttl > 0 ? opts->ttl : apr_time_from_sec(120);
    k->every = opts && opts->every > 0 ? opts->every : k->ttl / 6;
    if (k->every >= k->ttl) k->every = k->ttl / 2;
    if ((rv = apr_thread_mutex_create(&k->mutex, APR_THREAD_MUTEX_DEFAULT, p)) != APR_SUCCESS
        || (rv = apr_thread_cond_create(&k->cond, p)) != APR_SUCCESS
        || (rv = apr_thread_create(&k->thread, NULL, run, k, p)) != APR_SUCCESS) {
        return rv;
    }
    /* before the pool's own cleanups: the thread must not outlive the mutex */
    apr_pool_pre_cleanup_register(p, k, keeper_cleanup);
    *out = k;
    return APR_SUCCESS;
}

apr_interval_time_t acme_keeper_ttl(const acme_keeper_t *k)
{
    return k->ttl;
}

static apr_status_t kept_cleanup(void *data)
{
    acme_kept_t *e = data;
    acme_keeper_t *k = e->k;

    apr_thread_mutex_lock(k->mutex);
    /* an extension in flight holds a copy; wait for it to come back */
    while (e->busy) apr_thread_cond_wait(k->cond, k->mutex);
    if (e->linked) {
        if (e->prev) e->prev->next_kept = e->next_kept;
        else k->head = e->next_kept;
        if (e->next_kept) e->next_kept->prev = e->prev;
        e->linked = 0;
    }
    apr_thread_mutex_unlock(k->mutex);
    return APR_SUCCESS;
}

acme_kept_t *acme_keeper_add(acme_keeper_t *k, apr_pool_t *p, const acme_lease_t *lease)
{
    acme_kept_t *e = apr_pcalloc(p, sizeof(*e));

    e->k = k;
    e->pool = p;
    e->lease = *lease;
    apr_thread_mutex_lock(k->mutex);
    e->next = apr_time_now() + k->every;
    e->next_kept = k->head;
    if (k->head) k->head->prev = e;
    k->head = e;
    e->linked = 1;
    apr_thread_cond_broadcast(k->cond);
    apr_thread_mutex_unlock(k->mutex);
    apr_pool_cleanup_register(p, e, kept_cleanup, apr_pool_cleanup_null);
    return e;
}

void acme_keeper_drop(acme_kept_t *e)
{
    if (e) apr_pool_cleanup_run(e->pool, e, kept_cleanup);
}

apr_status_t acme_keeper_check(acme_kept_t *e, apr_interval_time_t need)
{
    acme_keeper_t *k = e->k;
    apr_status_t rv;
    int asked = 0;

    /* an extension gives ttl: asking for more could never be met */
    if (need > k->ttl / 2) need = k->ttl / 2;
    apr_thread_mutex_lock(k->mutex);
    for (;;) {
        apr_time_t now = apr_time_now();
        apr_interval_time_t left = acme_lease_left(&e->lease, now);

        if (!e->lost && left == 0) e->lost = 1;
        if (e->lost) {
            rv = ACME_FLEET_EFENCED;
            break;
        }
        if (left >= need || k->stop) {
            rv = left >= need ? APR_SUCCESS : ACME_FLEET_EFENCED;
            break;
        }
        if (asked && !e->urgent && !e->busy) {
            /* the extension asked for failed: the engine cannot be reached */
            rv = e->last != APR_SUCCESS ? e->last : APR_EGENERAL;
            break;
        }
        if (!e->urgent && !e->busy) {
            e->urgent = 1;
            asked = 1;
            apr_thread_cond_broadcast(k->cond);
        }
        /* the result, or the lease's end, whichever comes first */
        apr_thread_cond_timedwait(k->cond, k->mutex, left < RETRY ? left : RETRY);
    }
    apr_thread_mutex_unlock(k->mutex);
    return rv;
}

acme_lease_t acme_keeper_lease(acme_kept_t *e)
{
    acme_lease_t l;

    apr_thread_mutex_lock(e->k->mutex);
    l = e->lease;
    apr_thread_mutex_unlock(e->k->mutex);
    return l;
}
