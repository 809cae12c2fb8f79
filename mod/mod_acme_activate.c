/* mod_acme_activate.c: the parent side of activation (staging -> domains at startup, graceful restarts per ACMEActivation). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <mpm_common.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "acme_domain.h"
#include "acme_drive.h"
#include "acme_store.h"
#include "mod_acme_activate.h"
#include "mod_acme_config.h"
#include "mod_acme_notify.h"

APLOG_USE_MODULE(acme);

#define WATCHER_MAX_FORKS 20
#define WATCHER_QUIET apr_time_from_sec(5)
/* The watcher's exit status that asks the parent for a graceful restart
 * (above any signal number, so it cannot be mistaken for one). */
#define WATCHER_RESTART 75
#define STAGED_SETTLE apr_time_from_sec(3)
#define RESTART_AGAIN apr_time_from_sec(60)

static void reset_signals(void)
{
    sigset_t none;
    int sigs[] = { SIGTERM, SIGHUP, SIGINT, SIGUSR1, SIGWINCH, SIGCHLD, SIGPIPE };
    apr_size_t i;

    for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        signal(sigs[i], SIG_DFL);
    }
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/* ---- activation at startup -------------------------------------------- */

static int in_list(const apr_array_header_t *a, const char *s)
{
    int i;

    for (i = 0; a && i < a->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(a, i, const char *), s)) {
            return 1;
        }
    }
    return 0;
}

static void activate_one(acme_rt_t *rt, apr_pool_t *p, const acme_domain_t *d)
{
    acme_store_t *st = rt->store;
    acme_store_lock_t *lock = NULL;
    const char *why = NULL;
    apr_time_t mtime;
    apr_status_t rv;
    int had_active = 0;

    /* a drive still writing this set: leave it to the monitor */
    if (st->lock(st, p, ACME_SG_STATE, d->id, 0, &lock) != APR_SUCCESS) {
        apr_hash_set(rt->busy, apr_pstrdup(rt->pool, d->id), APR_HASH_KEY_STRING, "1");
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, rt->s,
                     "ACMEDomain %s: a staged certificate is still being written; it will be "
                     "activated shortly", d->id);
        return;
    }
    rv = acme_drive_verify_staged(st, p, d, &why);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, rt->s,
                     "ACMEDomain %s: the staged certificate failed verification (%s); it is "
                     "NOT activated and was removed, the current certificate stays in use and "
                     "a new one will be requested", d->id, why ? why : "unknown reason");
        st->remove(st, p, ACME_SG_STAGING, d->id, NULL);
        {
            const char *vars[] = { "ACME_PROBLEM_TYPE", "urn:mod_acme:verifyFailed",
                                   "ACME_PROBLEM_DETAIL", why ? why : "unknown reason", NULL };
            acme_notify_vars(rt, p, "errored", d->id, vars);
        }
    }
    else if ((had_active = st->mtime(st, p, ACME_SG_DOMAINS, d->id, NULL, &mtime) == APR_SUCCESS),
             (rv = st->promote(st, p, ACME_SG_STAGING, ACME_SG_DOMAINS, ACME_SG_ARCHIVE, d->id))) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, rt->s,
                     "ACMEDomain %s: cannot move the staged certificate into %s/domains/; check "
                     "the store's permissions (domains/ and archive/ must be writable by root)",
                     d->id, rt->store_dir);
    }
    else if (had_active) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, rt->s,
                     "ACMEDomain %s: new certificate activated (the previous one is in %s/archive/)",
                     d->id, rt->store_dir);
        acme_notify(rt, p, "activated", d->id);
    }
    else {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, rt->s,
                     "ACMEDomain %s: first certificate activated", d->id);
        acme_notify(rt, p, "activated", d->id);
    }
    if (lock) {
        st->unlock(lock);
    }
}

void acme_activate_staged(acme_rt_t *rt, apr_pool_t *ptemp)
{
    apr_array_header_t *staged = NULL;
    apr_pool_t *p;
    int i;

    rt->busy = apr_hash_make(rt->pool);
    rt->gen_start = apr_time_now();
    if (rt->store->list(rt->store, ptemp, ACME_SG_STAGING, NULL, &staged) != APR_SUCCESS
        || !staged || staged->nelts == 0) {
        return;
    }
    apr_pool_create(&p, ptemp);
    for (i = 0; i < rt->domains->nelts; i++) {
        const acme_domain_t *d = APR_ARRAY_IDX(rt->domains, i, acme_mdomain_t *)->d;
        const char *dir = acme_domain_dirname(p, d->id);

        if (dir && in_list(staged, dir)) {
            activate_one(rt, p, d);
        }
        apr_pool_clear(p);
    }
    apr_pool_destroy(p);
}

/* ---- the watcher (ACMEActivation auto) ---------------------------------- */

/* Waits for the drive's wake-up, then exits with WATCHER_RESTART: the
 * parent notices within a second (the other-child check of its main loop),
 * logs the restart with the domains and signals itself. */
static void watcher_main(int rfd, int wfd)
{
    char buf[64];

    reset_signals();
    /* httpd signals its process group on restarts; the parent stops us itself */
    signal(SIGUSR1, SIG_IGN);
    signal(SIGWINCH, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    (void)wfd;
    /* Keep only stdio (the error log) and the wake-up pipe: an inherited
     * listener or log would outlive a killed parent and block the next start. */
    close_range(3, (unsigned)rfd - 1, 0);
    close_range((unsigned)rfd + 1, ~0U, 0);
    for (;;) {
        ssize_t n = read(rfd, buf, sizeof(buf));

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0 || getppid() <= 1) {
            _exit(0);
        }
        _exit(WATCHER_RESTART);
    }
}

static apr_status_t fork_watcher(acme_rt_t *rt);
static void request_graceful(acme_rt_t *rt, apr_time_t now);

static void watcher_maint(int reason, void *data, apr_wait_t status)
{
    acme_rt_t *rt = data;

    if (reason == APR_OC_REASON_UNREGISTER) {
        rt->watcher_registered = 0;
    }
    else if (reason == APR_OC_REASON_DEATH || reason == APR_OC_REASON_LOST) {
        int restart = reason == APR_OC_REASON_DEATH && status == WATCHER_RESTART;

        apr_proc_other_child_unregister(rt);   /* sets watcher_registered = 0 */
        rt->watcher = NULL;
        if (restart) {
            apr_time_t now = apr_time_now();

            /* The restart starts a new watcher (a watcher forked now could be
             * told to stop before it even set up its signals). One restart
             * activates everything staged by then. */
            if (!rt->restart_requested || now - rt->restart_requested >= WATCHER_QUIET) {
                request_graceful(rt, now);
            }
        }
        else if (rt->watcher_forks < WATCHER_MAX_FORKS) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, rt->s,
                         "mod_acme: the activation watcher exited; starting it again");
            fork_watcher(rt);
        }
    }
    /* UNREGISTER also comes from APR's own pconf cleanup, before ours: the
     * watcher still runs then and watcher_cleanup stops it */
}

static apr_status_t fork_watcher(acme_rt_t *rt)
{
    apr_proc_t *proc = apr_pcalloc(rt->pool, sizeof(*proc));
    apr_status_t rv;

    rt->watcher_forks++;
    rv = apr_proc_fork(proc, rt->pool);
    if (rv == APR_INCHILD) {
        watcher_main(rt->wake_rfd, rt->wake_wfd);
        _exit(0);
    }
    if (rv != APR_INPARENT) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, rt->s,
                     "mod_acme: cannot start the activation watcher; new certificates will be "
                     "activated by the periodic check instead (within about 10 seconds)");
        return rv;
    }
    rt->watcher = proc;
    apr_proc_other_child_register(proc, watcher_maint, rt, NULL, rt->pool);
    rt->watcher_registered = 1;
    return APR_SUCCESS;
}

static apr_status_t watcher_cleanup(void *data)
{
    acme_rt_t *rt = data;
    apr_proc_t *proc = rt->watcher;

    /* children run pool cleanups at exit too: only the parent stops it */
    if (getpid() != rt->parent_pid || !proc) {
        return APR_SUCCESS;
    }
    rt->watcher_forks = WATCHER_MAX_FORKS;  /* no restart from the maintenance callback */
    if (rt->watcher_registered) {
        /* APR dereferences NULL when asked to unregister an unknown child */
        apr_proc_other_child_unregister(rt);
    }
    /* SIGKILL: it holds nothing to clean up, and a just forked one might
     * still run httpd's handler for SIGTERM (which only sets a flag) */
    kill(proc->pid, SIGKILL);
    while (waitpid(proc->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    rt->watcher = NULL;
    return APR_SUCCESS;
}

apr_status_t acme_activate_start(acme_rt_t *rt, apr_pool_t *pconf)
{
    apr_status_t rv;
    int flags;

    rt->wake_rfd = rt->wake_wfd = -1;
    rt->parent_pid = getpid();
    if (acme_cfg_activation(rt->g) != ACME_ACT_AUTO) {
        return APR_SUCCESS;     /* the monitor hook handles windows and manual */
    }
    if ((rv = apr_file_pipe_create(&rt->wake_rd, &rt->wake_wr, pconf)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, rt->s,
                     "mod_acme: cannot create the activation pipe; new certificates will be "
                     "activated by the periodic check instead (within about 10 seconds)");
        return APR_SUCCESS;
    }
    apr_os_file_get(&rt->wake_rfd, rt->wake_rd);
    apr_os_file_get(&rt->wake_wfd, rt->wake_wr);
    /* the drive must never block on a full pipe */
    flags = fcntl(rt->wake_wfd, F_GETFL);
    fcntl(rt->wake_wfd, F_SETFL, flags | O_NONBLOCK);
    apr_pool_cleanup_register(pconf, rt, watcher_cleanup, apr_pool_cleanup_null);
    fork_watcher(rt);
    return APR_SUCCESS;
}

void acme_activate_wake(const acme_rt_t *rt)
{
    if (rt->wake_wfd >= 0) {
        ssize_t n;
        do {
            n = write(rt->wake_wfd, "S", 1);
        } while (n < 0 && errno == EINTR);
    }
}

/* ---- monitor: windows, manual, and the backstop ------------------------- */

int acme_activate_in_window(int start_min, int end_min, apr_time_t now)
{
    apr_time_exp_t tm;
    int m;

    if (apr_time_exp_lt(&tm, now) != APR_SUCCESS) {
        return 0;
    }
    m = tm.tm_hour * 60 + tm.tm_min;
    if (start_min < end_min) {
        return m >= start_min && m < end_min;
    }
    return m >= start_min || m < end_min;
}

static const acme_domain_t *domain_of_entry(const acme_rt_t *rt, apr_pool_t *p, const char *entry)
{
    const char *name = (entry[0] == '_' && entry[1] == '.') ? apr_pstrcat(p, "*", entry + 1, NULL)
                                                             : entry;
    const acme_mdomain_t *md = apr_hash_get(rt->by_name, name, APR_HASH_KEY_STRING);

    return md && !strcmp(md->d->id, name) ? md->d : NULL;
}

static const char *mode_hint(const acme_rt_t *rt, apr_pool_t *p)
{
    switch (acme_cfg_activation(rt->g)) {
    case ACME_ACT_MANUAL:
        return "ACMEActivation manual: run 'apachectl graceful' to serve it";
    case ACME_ACT_WINDOW:
        return apr_psprintf(p, "it will be activated between %02d:%02d and %02d:%02d local time",
                            rt->g->win_start / 60, rt->g->win_start % 60, rt->g->win_end / 60,
                            rt->g->win_end % 60);
    default:
        return "activating it with a graceful restart";
    }
}

/* Staged sets that are new since this generation started (older ones were
 * already tried at startup), settled for a moment. */
static int count_pending(acme_rt_t *rt, apr_pool_t *p, apr_time_t now)
{
    apr_array_header_t *staged = NULL;
    int i, pending = 0;

    if (rt->store->list(rt->store, p, ACME_SG_STAGING, NULL, &staged) != APR_SUCCESS || !staged) {
        return 0;
    }
    for (i = 0; i < staged->nelts; i++) {
        const char *entry = APR_ARRAY_IDX(staged, i, const char *);
        const acme_domain_t *d = domain_of_entry(rt, p, entry);
        apr_time_t mtime;

        if (!d || rt->store->mtime(rt->store, p, ACME_SG_STAGING, d->id, NULL, &mtime)) {
            continue;
        }
        if ((mtime < rt->gen_start && !apr_hash_get(rt->busy, d->id, APR_HASH_KEY_STRING))
            || now - mtime < STAGED_SETTLE) {
            continue;
        }
        pending++;
        if (!apr_hash_get(rt->announced, d->id, APR_HASH_KEY_STRING)) {
            apr_hash_set(rt->announced, apr_pstrdup(rt->pool, d->id), APR_HASH_KEY_STRING, "1");
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, rt->s,
                         "ACMEDomain %s: a new certificate is ready; %s", d->id, mode_hint(rt, p));
        }
    }
    return pending;
}

/* The configured domains with a staged set, "a.test, b.test". */
static const char *staged_names(acme_rt_t *rt, apr_pool_t *p)
{
    apr_array_header_t *staged = NULL;
    const char *names = NULL;
    int i;

    if (rt->store->list(rt->store, p, ACME_SG_STAGING, NULL, &staged) == APR_SUCCESS && staged) {
        for (i = 0; i < staged->nelts; i++) {
            const acme_domain_t *d = domain_of_entry(rt, p, APR_ARRAY_IDX(staged, i, const char *));

            if (d) {
                names = names ? apr_pstrcat(p, names, ", ", d->id, NULL) : d->id;
            }
        }
    }
    return names ? names : "(none staged)";
}

static void request_graceful(acme_rt_t *rt, apr_time_t now)
{
    apr_pool_t *p;

    if (apr_pool_create(&p, rt->pool) == APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, rt->s,
                     "mod_acme: graceful restart to activate the new certificates of: %s",
                     staged_names(rt, p));
        apr_pool_destroy(p);
    }
    rt->restart_requested = now;
    kill(getpid(), AP_SIG_GRACEFUL);
}

int acme_activate_monitor(apr_pool_t *p, server_rec *s)
{
    acme_sconf_t *sc = acme_sconf(s);
    acme_rt_t *rt = sc ? sc->rt : NULL;
    apr_time_t now = apr_time_now();
    apr_pool_t *tmp;
    int mode, pending;

    if (!rt || !rt->startup || !rt->store || getpid() != rt->parent_pid) {
        return DECLINED;
    }
    if (rt->restart_requested && now - rt->restart_requested < RESTART_AGAIN) {
        return DECLINED;
    }
    /* p is the long-lived pconf: work in a pool of our own */
    if (apr_pool_create(&tmp, p) != APR_SUCCESS) {
        return DECLINED;
    }
    pending = count_pending(rt, tmp, now);
    apr_pool_destroy(tmp);
    if (pending == 0) {
        return DECLINED;
    }
    mode = acme_cfg_activation(rt->g);
    if (mode == ACME_ACT_AUTO
        || (mode == ACME_ACT_WINDOW && acme_activate_in_window(rt->g->win_start, rt->g->win_end, now))) {
        request_graceful(rt, now);
    }
    return DECLINED;
}
