/* mod_acme_watchdog.c: the singleton child watchdog that decides which domains need a drive and runs them in a bounded thread pool. */
#include <unistd.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <mod_watchdog.h>
#include <apr_optional.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <apr_thread_pool.h>

#include "acme_drive.h"
#include "acme_record.h"
#include "acme_time.h"
#include "acme_responder.h"
#include "mod_acme_activate.h"
#include "mod_acme_config.h"
#include "mod_acme_events.h"
#include "mod_acme_fleet.h"
#include "mod_acme_metrics.h"
#include "mod_acme_warn.h"
#include "mod_acme_notify.h"
#include "mod_acme_watchdog.h"

APLOG_USE_MODULE(acme);

#define WD_NAME "mod_acme"
/* cheap when idle; short so a start or a finished backoff is acted on quickly */
#define WD_TICK apr_time_from_msec(200)
/* Several drives finishing close together share one graceful restart. */
#define WAKE_HOLD apr_time_from_sec(10)
#define LEGACY_FALLBACK_ENTRY "_fallback"
#define LEGACY_FALLBACK_ITEM "fallback.pem"
/* Another process (an old generation's child) drives it: look again soon. */
#define BUSY_RECHECK apr_time_from_sec(1)

typedef struct am_wd_t {
    am_runtime_t *rt;
    apr_pool_t *pool;
    apr_thread_mutex_t *mutex;
    apr_thread_pool_t *tp;
    acme_ca_registry_t *cas;
    volatile int cancel;
    int max;
    int running;                /* drives queued or in flight */
    int *busy;                  /* per domain index */
    struct drive_task_t *tasks; /* per domain index: at most one queued at a time */
    int cursor;                 /* next domain of the current pass; -1: no pass */
    apr_time_t next_check;      /* start of the next full pass */
    apr_time_t pass_next;       /* earliest future due time seen in this pass; 0: none */
    apr_time_t marks_seen;      /* acmectl's last mark (renew, revoke) already acted on */
    int wake_pending;           /* staged sets the parent was not told about yet */
    apr_time_t wake_since;
    am_warn_t *warn;          /* expiry warnings (ACMEWarnWindow, ACMEWatchStatic) */
    am_wd_metrics_t *metrics; /* counters behind acme-metrics */
    am_fleet_wd_t *fleet;     /* NULL unless the store is a fleet's */
} am_wd_t;

typedef struct drive_task_t {
    am_wd_t *wd;
    int idx;
    int ask_first;              /* only the CA's renewal information can tell if it is due */
    char why[200];              /* why it needs a drive: "starting a drive", `renewing` */
} drive_task_t;

/* A domain of this pass that needs a drive, and where it goes in the queue. */
typedef struct {
    int idx;                    /* configuration order */
    int ask_first;
    apr_time_t expires;         /* 0: no certificate yet */
    const char *why;
} queued_t;

static void env_init(am_wd_t *wd, acme_drive_env_t *env)
{
    memset(env, 0, sizeof(*env));
    env->store = wd->rt->store;
    env->cas = wd->cas;
    env->log = &wd->rt->log;
    env->retry_delay = am_cfg_retry_delay(wd->rt->g);
    env->ca_failover_after = ACME_DEFAULT_FAILOVER_AFTER;
    env->cancel = &wd->cancel;
    env->ca_file = wd->rt->g->ca_file;
}

/* When the domain's record says to look again (acme_drive_next_look). */
static apr_time_t status_due(am_wd_t *wd, apr_pool_t *p, const acme_domain_t *d,
                             apr_time_t now)
{
    acme_drive_env_t env;

    env_init(wd, &env);
    return acme_drive_next_look(&env, p, d, now);
}

/* When a domain that needs no drive now wants a look again. A lock held only
 * for a moment (another node's look at the same domain, in a fleet) must not
 * put it off until the next check interval. */
static apr_time_t not_needed_due(am_wd_t *wd, apr_pool_t *p, const acme_domain_t *d,
                                 const char *why, apr_time_t now)
{
    if (why && !strcmp(why, ACME_DRIVE_WHY_BUSY)) {
        return now + BUSY_RECHECK;
    }
    return status_due(wd, p, d, now);
}

static void log_need(am_wd_t *wd, const acme_domain_t *d, int need, const char *why)
{
    if (need) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, wd->rt->s, "ACMEDomain %s: starting a drive (%s)",
                     d->id, why && *why ? why : "needed");
    }
    else {
        ap_log_error(APLOG_MARK, APLOG_TRACE1, 0, wd->rt->s, "ACMEDomain %s: no drive needed%s%s",
                     d->id, why && *why ? ": " : "", why ? why : "");
    }
}

static acme_responder_t *responder_for(am_wd_t *wd, apr_pool_t *p, const acme_domain_t *d)
{
    acme_responder_t *list[2];
    int n = 0;

    list[n++] = acme_responder_store(p, wd->rt->store, &wd->rt->log);
    if (d->dns_command) {
        list[n++] = acme_responder_dnscmd(p, d->dns_command, am_cfg_hook_timeout(wd->rt->g),
                                          &wd->cancel, &wd->rt->log);
    }
    return n == 1 ? list[0] : acme_responder_chain(p, list, n);
}

/* Tell the parent: now when nothing else runs, else after WAKE_HOLD at the latest. */
static void maybe_wake(am_wd_t *wd, apr_time_t now)
{
    apr_interval_time_t spread = am_fleet_wd_restart_jitter(wd->fleet);

    if (wd->wake_pending && now - wd->wake_since >= spread
        && (wd->running == 0 || now - wd->wake_since >= WAKE_HOLD + spread)) {
        wd->wake_pending = 0;
        am_activate_wake(wd->rt);
    }
}

/* due: when this domain wants a look again (0: nothing known). */
static void drive_done(am_wd_t *wd, int idx, apr_status_t rv, const acme_drive_result_t *res,
                       apr_time_t due)
{
    apr_time_t now = apr_time_now();

    apr_thread_mutex_lock(wd->mutex);
    wd->running--;
    wd->busy[idx] = 0;
    /* the watchdog never sleeps past the domain's next renewal or retry time */
    if (due > 0 && due < wd->next_check) {
        wd->next_check = due;
    }
    if (res->staged) {
        if (!wd->wake_pending) {
            wd->wake_since = now;
        }
        wd->wake_pending = 1;
    }
    else if (APR_STATUS_IS_EBUSY(rv) && now + BUSY_RECHECK < wd->next_check) {
        wd->next_check = now + BUSY_RECHECK;
    }
    else if ((rv != APR_SUCCESS || res->error) && res->next_attempt > 0
             && res->next_attempt < wd->next_check) {
        /* re-check soon after the failure's backoff (or the CA's, APR_EAGAIN) */
        wd->next_check = res->next_attempt;
    }
    maybe_wake(wd, now);
    apr_thread_mutex_unlock(wd->mutex);
}

static void *APR_THREAD_FUNC drive_task(apr_thread_t *thread, void *data)
{
    drive_task_t *t = data;
    am_wd_t *wd = t->wd;
    const acme_domain_t *d = APR_ARRAY_IDX(wd->rt->domains, t->idx, acme_domain_t *);
    acme_drive_env_t env;
    acme_drive_result_t res;
    apr_time_t started;
    apr_pool_t *p;
    apr_status_t rv;

    memset(&res, 0, sizeof(res));
    /* drives run in their own root pool: thread pools must not share a parent */
    if ((rv = apr_pool_create(&p, NULL)) != APR_SUCCESS) {
        drive_done(wd, t->idx, rv, &res, 0);
        return NULL;
    }
    env_init(wd, &env);
    if (t->ask_first && !wd->cancel) {
        /* the request to the CA happens here, in the pool, not in the pass */
        const char *why = NULL;
        int need = acme_drive_needed(&env, p, d, apr_time_now(), &why);

        if (!need) {
            log_need(wd, d, 0, why);
            drive_done(wd, t->idx, APR_SUCCESS, &res,
                       not_needed_due(wd, p, d, why, apr_time_now()));
            apr_pool_destroy(p);
            return NULL;
        }
        apr_cpystrn(t->why, why ? why : "", sizeof(t->why));
    }
    /* logged when it starts, not when it was queued */
    if (!wd->cancel) {
        log_need(wd, d, 1, t->why);
    }
    env.responder = am_notify_responder(wd->rt, p, d->id, responder_for(wd, p, d),
                                          &wd->cancel);
    if (!wd->cancel) {
        am_events_drive_start(wd->rt, p, d, t->why);
    }
    started = apr_time_now();
    rv = wd->cancel ? APR_EINTR : acme_drive_run(&env, p, d, &res);
    if (rv != APR_EINTR && !APR_STATUS_IS_EBUSY(rv) && !APR_STATUS_IS_EAGAIN(rv)) {
        am_wd_metrics_drive(wd->metrics, apr_time_now() - started,
                              rv == APR_SUCCESS && !res.error);
        am_wd_metrics_flush(wd->metrics, p, apr_time_now(), 1);
    }
    if (res.staged) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, wd->rt->s,
                     "ACMEDomain %s: new certificate obtained and verified; it is staged for "
                     "activation", d->id);
    }
    if (res.staged || (!wd->cancel && rv != APR_EINTR && !APR_STATUS_IS_EBUSY(rv)
                       && !APR_STATUS_IS_EAGAIN(rv))) {
        am_events_drive_end(wd->rt, p, d, rv, &res);
    }
    drive_done(wd, t->idx, rv, &res, wd->cancel ? 0 : status_due(wd, p, d, apr_time_now()));
    apr_pool_destroy(p);
    return NULL;
}

/* Queue a drive: the pool runs ACMEMaxParallel at once and starts the next
 * queued one the moment a drive ends. A task that is cancelled while queued
 * owns nothing to free. */
static apr_status_t submit(am_wd_t *wd, int idx, int ask_first, const char *why)
{
    drive_task_t *t = &wd->tasks[idx];

    t->wd = wd;
    t->idx = idx;
    t->ask_first = ask_first;
    apr_cpystrn(t->why, why ? why : "", sizeof(t->why));
    apr_thread_mutex_lock(wd->mutex);
    wd->busy[idx] = 1;
    wd->running++;
    apr_thread_mutex_unlock(wd->mutex);
    /* apr-util queues the task before it tries to add a thread: an error
     * means no new thread now, the task still runs on a running one. */
    return apr_thread_pool_push(wd->tp, drive_task, t, APR_THREAD_TASK_PRIORITY_NORMAL, wd);
}

static int is_busy(am_wd_t *wd, int idx)
{
    int b;

    apr_thread_mutex_lock(wd->mutex);
    b = wd->busy[idx];
    apr_thread_mutex_unlock(wd->mutex);
    return b;
}

static void due_at(am_wd_t *wd, apr_time_t t, apr_time_t now)
{
    if (t > now && (wd->pass_next == 0 || t < wd->pass_next)) {
        wd->pass_next = t;
    }
}


static void end_pass(am_wd_t *wd)
{
    wd->cursor = -1;
    apr_thread_mutex_lock(wd->mutex);
    if (wd->pass_next > 0 && wd->pass_next < wd->next_check) {
        wd->next_check = wd->pass_next;
    }
    apr_thread_mutex_unlock(wd->mutex);
    wd->pass_next = 0;
}

/* The queue order (README "Many domains"): the certificate that expires
 * soonest first (none yet: first of all), then configuration order. */
static int queue_cmp(const void *a, const void *b)
{
    const queued_t *x = a, *y = b;

    if (x->expires != y->expires) {
        return x->expires < y->expires ? -1 : 1;
    }
    return x->idx - y->idx;
}

/* One pass over the domains: every one that needs a drive is queued, in
 * queue_cmp's order. */
static void run_pass(am_wd_t *wd, apr_pool_t *ptick, apr_time_t now)
{
    apr_array_header_t *domains = wd->rt->domains;
    apr_array_header_t *queue = apr_array_make(ptick, 16, sizeof(queued_t));
    acme_drive_env_t env;
    apr_pool_t *p;
    int i;

    env_init(wd, &env);
    env.no_ca_requests = 1;
    apr_pool_create(&p, ptick);
    while (wd->cursor < domains->nelts && !wd->cancel) {
        int idx = wd->cursor++;
        const acme_domain_t *d = APR_ARRAY_IDX(domains, idx, acme_domain_t *);
        const char *why = NULL;
        apr_time_t ca_wait;
        queued_t *q;
        int need;

        apr_pool_clear(p);
        if (is_busy(wd, idx)) {
            continue;
        }
        /* Its CAs cannot be reached: no need to look closer until they may be.
         * (A domain that needs a drive then shows the outage from its drive.) */
        if ((ca_wait = acme_drive_ca_wait(&env, p, d, now, 0)) != 0) {
            due_at(wd, ca_wait, now);
            continue;
        }
        /* no request to the CA in the pass: an ARI question goes to the pool;
         * a domain whose lock is held (a drive of another process or node)
         * is looked at again after BUSY_RECHECK */
        if (!(need = acme_drive_needed(&env, p, d, now, &why))) {
            log_need(wd, d, 0, why);
            due_at(wd, not_needed_due(wd, p, d, why, now), now);
            continue;
        }
        q = apr_array_push(queue);
        q->idx = idx;
        q->ask_first = need == ACME_DRIVE_ASK_CA;
        q->expires = acme_drive_expires(&env, p, d);
        q->why = apr_pstrdup(ptick, why ? why : "");
    }
    apr_pool_destroy(p);
    qsort(queue->elts, (size_t)queue->nelts, sizeof(queued_t), queue_cmp);
    for (i = 0; i < queue->nelts && !wd->cancel; i++) {
        const queued_t *q = &APR_ARRAY_IDX(queue, i, queued_t);
        apr_status_t rv = submit(wd, q->idx, q->ask_first, q->why);

        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, rv, wd->rt->s,
                         "ACMEDomain %s: cannot add a drive thread; the drive waits for a "
                         "running one", APR_ARRAY_IDX(domains, q->idx, acme_domain_t *)->id);
        }
    }
    if (wd->cursor >= domains->nelts) {
        end_pass(wd);
    }
}

/* acmectl left a mark (renew, revoke): look at every domain now. */
static int marks_changed(am_wd_t *wd, apr_pool_t *p)
{
    apr_time_t t = acme_record_last_mark(wd->rt->store, p);

    if (t == wd->marks_seen) {
        return 0;
    }
    wd->marks_seen = t;
    return 1;
}

static apr_status_t wd_tick(am_wd_t *wd, apr_pool_t *p)
{
    apr_time_t now = apr_time_now();
    int marked = marks_changed(wd, p) | am_fleet_wd_tick(wd->fleet, p, now);

    apr_thread_mutex_lock(wd->mutex);
    maybe_wake(wd, now);
    if (marked) {
        wd->next_check = now;
    }
    if (wd->cursor < 0 && now >= wd->next_check) {
        wd->cursor = 0;
        wd->next_check = now + am_cfg_check_interval(wd->rt->g);
    }
    apr_thread_mutex_unlock(wd->mutex);
    if (wd->cursor >= 0) {
        run_pass(wd, p, now);
    }
    am_warn_tick(wd->warn, p, now);
    am_wd_metrics_flush(wd->metrics, p, now, 0);
    return APR_SUCCESS;
}

static apr_status_t wd_stop(void *data)
{
    am_wd_t *wd = data;

    wd->cancel = 1;
    if (wd->tp) {
        /* waits for running drives; they stop at their next step */
        apr_thread_pool_destroy(wd->tp);
        wd->tp = NULL;
    }
    am_wd_metrics_flush(wd->metrics, NULL, apr_time_now(), 1);
    return APR_SUCCESS;
}

/* Crash leftovers in the User's groups are the User's to remove: the root
 * parent never walks them. Anything odd found there is logged once per
 * child start and left; nothing here can stop httpd. */
static void sweep_user_groups(am_runtime_t *rt, apr_pool_t *p)
{
    static const acme_store_group_e groups[] = {
        ACME_SG_STAGING, ACME_SG_ACCOUNTS, ACME_SG_CHALLENGES, ACME_SG_STATE
    };
    acme_store_t *st = rt->store;
    const char *odd;
    int i;

    for (i = 0; i < (int)(sizeof(groups) / sizeof(groups[0])); i++) {
        if (st->sweep(st, p, groups[i], &odd) != APR_SUCCESS && odd) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, rt->s, "ACMEStoreDir %s: %s",
                         rt->store_dir, odd);
        }
    }
    /* fallback certificates lived in state/ before they moved to fallback/ */
    if (acme_store_has_entry(st, p, ACME_SG_STATE, LEGACY_FALLBACK_ENTRY)) {
        st->remove(st, p, ACME_SG_STATE, LEGACY_FALLBACK_ENTRY, NULL, NULL);
        for (i = 0; i < rt->domains->nelts; i++) {
            st->remove(st, p, ACME_SG_STATE, APR_ARRAY_IDX(rt->domains, i, acme_domain_t *)->id,
                       LEGACY_FALLBACK_ITEM, NULL);
        }
    }
}

/* mod_watchdog hands STARTING a pool it destroys right after: the drive
 * state lives in its own pool until STOPPING. */
static apr_status_t wd_start(am_runtime_t *rt)
{
    am_wd_t *wd;
    acme_http_opts_t opts;
    apr_pool_t *pool;
    apr_status_t rv;

    if ((rv = apr_pool_create(&pool, NULL)) != APR_SUCCESS) {
        return rv;
    }
    wd = apr_pcalloc(pool, sizeof(*wd));

    memset(&opts, 0, sizeof(opts));
    opts.ca_file = rt->g->ca_file;
    opts.proxy = rt->g->http_proxy;
    opts.cancel = &wd->cancel;          /* a stopping child does not wait for the CA */
    wd->rt = rt;
    wd->pool = pool;
    wd->max = am_cfg_max_parallel(rt->g);
    wd->busy = apr_pcalloc(pool, sizeof(int) * (apr_size_t)(rt->domains->nelts + 1));
    wd->tasks = apr_pcalloc(pool, sizeof(*wd->tasks) * (apr_size_t)(rt->domains->nelts + 1));
    wd->cursor = -1;
    wd->next_check = apr_time_now();
    wd->marks_seen = acme_record_last_mark(rt->store, pool);
    if ((rv = apr_thread_mutex_create(&wd->mutex, APR_THREAD_MUTEX_DEFAULT, pool))
        || (rv = acme_ca_registry_create(pool, &opts, &rt->log, &wd->cas))
        || (rv = apr_thread_pool_create(&wd->tp, 0, (apr_size_t)wd->max, pool))) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, rt->s,
                     "mod_acme: cannot start the certificate drive in this child; certificates "
                     "are not renewed until the next restart");
        apr_pool_destroy(pool);
        return rv;
    }
    wd->warn = am_warn_create(rt, pool);
    wd->metrics = am_wd_metrics_start(rt, pool, wd->cas);
    wd->fleet = am_fleet_wd_create(rt, pool);
    apr_pool_pre_cleanup_register(pool, wd, wd_stop);
    rt->wd = wd;
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, rt->s,
                 "mod_acme: watchdog started in child %" APR_PID_T_FMT " (%d parallel drives)",
                 getpid(), wd->max);
    return APR_SUCCESS;
}

/* Ends this child's drive: cancels it, waits for a tick in progress (it
 * holds wd_lock) and for the drives, and frees their state. Idempotent. */
static void wd_close(am_runtime_t *rt)
{
    apr_pool_t *wp;

    apr_thread_mutex_lock(rt->wd_lock);
    rt->wd_closed = 1;
    if (rt->wd) {
        wp = rt->wd->pool;
        rt->wd = NULL;
        apr_pool_destroy(wp);     /* runs wd_stop first */
    }
    apr_thread_mutex_unlock(rt->wd_lock);
}

/* At child exit mod_watchdog runs STOPPING from the exiting thread (a pool
 * cleanup at exit()) while its own thread may still be inside a tick, and
 * again from its own thread: wd_lock serialises them, and wd_close is
 * idempotent. */
static apr_status_t wd_callback(int state, void *data, apr_pool_t *pool)
{
    am_runtime_t *rt = data;

    if (state == AP_WATCHDOG_STATE_STOPPING) {
        wd_close(rt);
        return APR_SUCCESS;
    }
    apr_thread_mutex_lock(rt->wd_lock);
    if (state == AP_WATCHDOG_STATE_STARTING && !rt->wd_closed) {
        sweep_user_groups(rt, pool);
        /* the first pass now, not one tick later */
        wd_start(rt);
    }
    if (rt->wd) {
        wd_tick(rt->wd, pool);
    }
    apr_thread_mutex_unlock(rt->wd_lock);
    return APR_SUCCESS;
}

/* mod_watchdog stops its thread only from a cleanup run by exit(), after
 * OpenSSL's own atexit handler has freed its global state: a tick or a
 * drive still running then reads freed memory. The drive therefore ends
 * when the child's pool goes, before exit(). */
static apr_status_t wd_child_exit(void *data)
{
    wd_close(data);
    return APR_SUCCESS;
}

void am_watchdog_child_init(apr_pool_t *pchild, server_rec *s)
{
    am_sconf_t *sc = am_sconf(s);
    am_runtime_t *rt = sc ? sc->rt : NULL;

    if (rt && rt->wd_lock) {
        apr_pool_pre_cleanup_register(pchild, rt, wd_child_exit);
    }
}

apr_status_t am_watchdog_setup(am_runtime_t *rt, apr_pool_t *pconf)
{
    APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) *get_instance;
    APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) *register_cb;
    ap_watchdog_t *w;
    apr_status_t rv;

    if (rt->managed->nelts == 0) {
        return APR_SUCCESS;
    }
    get_instance = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    register_cb = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    if (!get_instance || !register_cb) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, rt->s,
                     "mod_acme needs mod_watchdog to renew certificates: add "
                     "'LoadModule watchdog_module modules/mod_watchdog.so'");
        return APR_ENOTIMPL;
    }
    if ((rv = apr_thread_mutex_create(&rt->wd_lock, APR_THREAD_MUTEX_DEFAULT, pconf))
        || (rv = get_instance(&w, WD_NAME, 0, 1, pconf)) != APR_SUCCESS
        || (rv = register_cb(w, WD_TICK, rt, wd_callback)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, rt->s,
                     "mod_acme: cannot register its background watchdog with mod_watchdog");
        return rv;
    }
    return APR_SUCCESS;
}
