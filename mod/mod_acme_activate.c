/* mod_acme_activate.c: the parent side of activation (staged sets verified and copied into domains/ at startup, the wake-up watcher, graceful restarts per ACMEActivation). */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <mpm_common.h>
#include <unixd.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "acme_activate.h"
#include "acme_domain.h"
#include "acme_store.h"
#include "mod_acme_activate.h"
#include "mod_acme_config.h"
#include "mod_acme_notify.h"

APLOG_USE_MODULE(acme);

/* wake-ups closer together than this cost one check per WATCHER_QUIET */
#define WATCHER_QUIET apr_time_from_sec(1)
/* a watcher that keeps dying without a wake-up is started again ever later */
#define WATCHER_MAX_DELAY apr_time_from_sec(60)
#define WAKE_HELPER "mod_acme_wake"
#define RESTART_AGAIN apr_time_from_sec(60)
/* what one refusal is remembered as (a set's digest, or the reason) */
#define REFUSED_KEY_MAX 96

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

/* ---- staged sets ---------------------------------------------------------- */

static const acme_domain_t *domain_of_entry(const am_runtime_t *rt, const char *entry)
{
    const am_mdomain_t *md = apr_hash_get(rt->by_name, entry, APR_HASH_KEY_STRING);

    return md && !strcmp(md->d->id, entry) ? md->d : NULL;
}

/* A refusal is logged once per generation and staged content: the User can
 * write anything into staging/, and a wake-up or the monitor must not turn
 * that into a log line (or a restart) each time. One slot per domain. */
static int refused_before(am_runtime_t *rt, const acme_domain_t *d, const char *key)
{
    char *slot = apr_hash_get(rt->refused, d->id, APR_HASH_KEY_STRING);

    if (slot && !strncmp(slot, key, REFUSED_KEY_MAX - 1)) {
        return 1;
    }
    if (!slot) {
        slot = apr_palloc(rt->pool, REFUSED_KEY_MAX);
        apr_hash_set(rt->refused, apr_pstrdup(rt->pool, d->id), APR_HASH_KEY_STRING, slot);
    }
    apr_cpystrn(slot, key, REFUSED_KEY_MAX);
    return 0;
}

static void refuse(am_runtime_t *rt, apr_pool_t *p, const acme_domain_t *d, const acme_cert_set_t *set,
                   const char *why)
{
    if (!refused_before(rt, d, set ? set->digest : why)) {
        const char *vars[] = { "ACME_PROBLEM_TYPE", "urn:mod_acme:verifyFailed",
                               "ACME_PROBLEM_DETAIL", why ? why : "unknown reason", NULL };

        ap_log_error(APLOG_MARK, APLOG_ERR, 0, rt->s,
                     "ACMEDomain %s: the staged certificate is NOT activated: %s; the current "
                     "certificate stays in use and the drive will request a new one", d->id,
                     why ? why : "unknown reason");
        am_notify_vars(rt, p, "errored", d->id, vars);
    }
}

/* What staging holds for d, refusals logged once; *set the staged set. */
static acme_staged_e check_staged(am_runtime_t *rt, apr_pool_t *p, const acme_domain_t *d,
                                  acme_cert_set_t **set)
{
    const char *why = NULL;
    acme_staged_e state = acme_activate_check(rt->store, p, d, set, &why);
    const char *slot = apr_hash_get(rt->refused, d->id, APR_HASH_KEY_STRING);

    if (state == ACME_STAGED_BAD) {
        refuse(rt, p, d, *set, why);
    }
    else if (state == ACME_STAGED_NEW && slot && !strcmp(slot, (*set)->digest)) {
        state = ACME_STAGED_BAD;    /* verified, but could not be written: not again */
    }
    return state;
}

/* The configured domains present in staging/ (names only: nothing there is
 * followed), each looked up in the configuration's hash. */
static apr_array_header_t *staged_domains(am_runtime_t *rt, apr_pool_t *p)
{
    apr_array_header_t *staged = NULL, *out = apr_array_make(p, 4, sizeof(acme_domain_t *));
    int i;

    if (rt->store->list(rt->store, p, ACME_SG_STAGING, NULL, &staged) != APR_SUCCESS || !staged) {
        return out;
    }
    for (i = 0; i < staged->nelts; i++) {
        const acme_domain_t *d = domain_of_entry(rt, APR_ARRAY_IDX(staged, i, const char *));

        if (d) {
            APR_ARRAY_PUSH(out, const acme_domain_t *) = d;
        }
    }
    return out;
}

/* ---- activation at startup -------------------------------------------- */

static void activate_one(am_runtime_t *rt, apr_pool_t *p, const acme_domain_t *d)
{
    acme_cert_set_t *set = NULL;
    apr_status_t rv;
    int had_active;

    if (check_staged(rt, p, d, &set) != ACME_STAGED_NEW) {
        return;
    }
    had_active = acme_store_has_entry(rt->store, p, ACME_SG_DOMAINS, d->id);
    if ((rv = acme_activate_install(rt->store, p, set)) != APR_SUCCESS) {
        (void)refused_before(rt, d, set->digest);
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, rt->s,
                     "ACMEDomain %s: cannot write the new certificate into %s/; check "
                     "the store's permissions (domains/ and archive/ must be writable by root)",
                     d->id, rt->store->where(rt->store, p, ACME_SG_DOMAINS, NULL, NULL));
        return;
    }
    if (had_active) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, rt->s,
                     "ACMEDomain %s: new certificate activated (the previous one is in "
                     "%s/)", d->id, rt->store->where(rt->store, p, ACME_SG_ARCHIVE, NULL, NULL));
    }
    else {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, rt->s,
                     "ACMEDomain %s: first certificate activated", d->id);
    }
    am_notify(rt, p, "activated", d->id);
}

void am_activate_staged(am_runtime_t *rt, apr_pool_t *ptemp)
{
    apr_array_header_t *staged;
    apr_pool_t *p;
    int i;

    apr_pool_create(&p, ptemp);
    staged = staged_domains(rt, p);
    for (i = 0; i < staged->nelts; i++) {
        apr_pool_t *one;

        apr_pool_create(&one, p);
        activate_one(rt, one, APR_ARRAY_IDX(staged, i, const acme_domain_t *));
        apr_pool_destroy(one);
    }
    apr_pool_destroy(p);
}

static const char *mode_hint(const am_runtime_t *rt, apr_pool_t *p)
{
    switch (am_cfg_activation(rt->g)) {
    case AM_ACT_MANUAL:
        return "ACMEActivation manual: run 'apachectl graceful' to serve it";
    case AM_ACT_WINDOW:
        return apr_psprintf(p, "it will be activated between %02d:%02d and %02d:%02d local time",
                            rt->g->win_start / 60, rt->g->win_start % 60, rt->g->win_end / 60,
                            rt->g->win_end % 60);
    default:
        return "activating it with a graceful restart";
    }
}

/* The domains whose staged set this process verified itself and that differs
 * from the active one ("a.test, b.test"), NULL when there is none: the only
 * reason for a restart. A wake-up byte is a hint to look. */
static const char *pending_names(am_runtime_t *rt, apr_pool_t *ptemp)
{
    apr_array_header_t *staged;
    const char *names = NULL;
    apr_pool_t *p;
    int i;

    apr_pool_create(&p, ptemp);
    staged = staged_domains(rt, p);
    for (i = 0; i < staged->nelts; i++) {
        const acme_domain_t *d = APR_ARRAY_IDX(staged, i, const acme_domain_t *);
        acme_cert_set_t *set = NULL;
        apr_pool_t *one;

        apr_pool_create(&one, p);
        if (check_staged(rt, one, d, &set) == ACME_STAGED_NEW) {
            names = names ? apr_pstrcat(ptemp, names, ", ", d->id, NULL) : d->id;
            if (!apr_hash_get(rt->announced, d->id, APR_HASH_KEY_STRING)) {
                apr_hash_set(rt->announced, apr_pstrdup(rt->pool, d->id), APR_HASH_KEY_STRING, "1");
                ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, rt->s,
                             "ACMEDomain %s: a new certificate is ready; %s", d->id,
                             mode_hint(rt, one));
            }
        }
        apr_pool_destroy(one);
    }
    apr_pool_destroy(p);
    return names;
}

static void request_graceful(am_runtime_t *rt, apr_time_t now, const char *names)
{
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, rt->s,
                 "mod_acme: graceful restart to activate the new certificates of: %s", names);
    rt->restart_requested = now;
    kill(getpid(), AP_SIG_GRACEFUL);
}

/* Look at staging now and restart when ACMEActivation allows and a set is pending. */
static void look(am_runtime_t *rt, apr_pool_t *ptemp, apr_time_t now)
{
    int mode = am_cfg_activation(rt->g);
    const char *names;

    if (rt->restart_requested && now - rt->restart_requested < RESTART_AGAIN) {
        return;
    }
    if ((names = pending_names(rt, ptemp)) != NULL
        && (mode == AM_ACT_AUTO
            || (mode == AM_ACT_WINDOW
                && am_activate_in_window(rt->g->win_start, rt->g->win_end, now)))) {
        request_graceful(rt, now, names);
    }
}

/* ---- the watcher (ACMEActivation auto) ---------------------------------- */

/* The helper is installed next to mod_acme.so; libtool's build tree keeps the
 * module one directory down, in .libs/. NULL when neither is there. */
static const char *find_wake_helper(apr_pool_t *p)
{
    Dl_info info;
    const char *so, *slash, *dir, *path;

    if (!dladdr((const void *)&acme_module, &info) || !info.dli_fname
        || !(slash = strrchr(so = info.dli_fname, '/'))) {
        return NULL;
    }
    dir = apr_pstrndup(p, so, (apr_size_t)(slash - so));
    path = apr_pstrcat(p, dir, "/" WAKE_HELPER, NULL);
    if (access(path, X_OK) == 0) {
        return path;
    }
    if ((slash = strrchr(dir, '/')) && !strcmp(slash, "/.libs")) {
        path = apr_pstrcat(p, apr_pstrndup(p, dir, (apr_size_t)(slash - dir)), "/" WAKE_HELPER,
                           NULL);
        if (access(path, X_OK) == 0) {
            return path;
        }
    }
    return NULL;
}

/* In the forked child: the helper as the User with the wake-up pipe as
 * descriptor 0 and nothing but 0-2 open; never returns. */
static void exec_helper(const am_runtime_t *rt, apr_interval_time_t delay)
{
    char ms[24];
    char *const argv[] = { (char *)WAKE_HELPER, ms, NULL };

    reset_signals();
    apr_snprintf(ms, sizeof(ms), "%" APR_TIME_T_FMT, apr_time_as_msec(delay));
    if (dup2(rt->wake_rfd, 0) != 0) {
        _exit(127);
    }
    close_range(3, ~0U, 0);
    if (geteuid() == 0
        && (setgroups(0, NULL) != 0 || setgid(ap_unixd_config.group_id) != 0
            || setuid(ap_unixd_config.user_id) != 0)) {
        _exit(127);
    }
    execv(rt->wake_helper, argv);
    _exit(127);
}

static void watcher_maint(int reason, void *data, apr_wait_t status);

static apr_status_t spawn_watcher(am_runtime_t *rt, apr_interval_time_t delay)
{
    apr_status_t rv = apr_proc_fork(&rt->watcher, rt->pool);

    if (rv == APR_INCHILD) {
        exec_helper(rt, delay);
    }
    if (rv != APR_INPARENT) {
        rt->watcher.pid = 0;
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, rt->s,
                     "mod_acme: cannot start the activation watcher; new certificates will be "
                     "activated by the periodic check instead (within about 10 seconds)");
        return rv;
    }
    apr_proc_other_child_register(&rt->watcher, watcher_maint, rt, NULL, rt->pool);
    rt->watcher_registered = 1;
    return APR_SUCCESS;
}

/* Read what the wake-up pipe holds: one look answers a burst. */
static void drain_wakes(const am_runtime_t *rt)
{
    struct pollfd pfd = { rt->wake_rfd, POLLIN, 0 };
    char buf[4096];
    int i;

    for (i = 0; i < 32 && poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN); i++) {
        if (read(rt->wake_rfd, buf, sizeof(buf)) <= 0) {
            break;
        }
    }
}

/* The watcher exited (in the parent, from httpd's main loop): it read a
 * wake-up, or died otherwise. Look at staging, then watch again. */
static void watcher_maint(int reason, void *data, apr_wait_t status)
{
    am_runtime_t *rt = data;
    apr_time_t now = apr_time_now();
    apr_interval_time_t delay = 0;
    apr_pool_t *p;

    if (reason == APR_OC_REASON_UNREGISTER) {
        rt->watcher_registered = 0;
        return;
    }
    /* UNREGISTER also comes from APR's own pconf cleanup, before ours: the
     * watcher still runs then and watcher_cleanup stops it */
    if (reason != APR_OC_REASON_DEATH && reason != APR_OC_REASON_LOST) {
        return;
    }
    apr_proc_other_child_unregister(rt);   /* sets watcher_registered = 0 */
    rt->watcher.pid = 0;
    drain_wakes(rt);
    rt->watcher_failures = (reason == APR_OC_REASON_DEATH && WIFEXITED(status)
                            && WEXITSTATUS(status) == 0) ? 0 : rt->watcher_failures + 1;
    if (apr_pool_create(&p, rt->pool) == APR_SUCCESS) {
        look(rt, p, now);
        apr_pool_destroy(p);
    }
    if (rt->restart_requested == now) {
        return;         /* the next generation starts its own */
    }
    if (rt->watcher_failures > 0) {
        delay = WATCHER_QUIET << (rt->watcher_failures < 6 ? rt->watcher_failures : 6);
        delay = delay < WATCHER_MAX_DELAY ? delay : WATCHER_MAX_DELAY;
    }
    else if (now - rt->last_wake < WATCHER_QUIET) {
        delay = WATCHER_QUIET;
    }
    rt->last_wake = now;
    spawn_watcher(rt, delay);
}

static apr_status_t watcher_cleanup(void *data)
{
    am_runtime_t *rt = data;
    pid_t pid = rt->watcher.pid;

    /* children run pool cleanups at exit too: only the parent stops it */
    if (getpid() != rt->parent_pid || pid <= 0) {
        return APR_SUCCESS;
    }
    if (rt->watcher_registered) {
        /* APR dereferences NULL when asked to unregister an unknown child */
        apr_proc_other_child_unregister(rt);
    }
    rt->watcher.pid = 0;
    /* SIGKILL: it holds nothing, and a SIGTERM sent right after the fork
     * could meet httpd's own handler before the exec */
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    return APR_SUCCESS;
}

static apr_status_t close_wake_pipe(void *data)
{
    am_runtime_t *rt = data;

    if (rt->wake_rfd >= 0) {
        close(rt->wake_rfd);
    }
    if (rt->wake_wfd >= 0) {
        close(rt->wake_wfd);
    }
    rt->wake_rfd = rt->wake_wfd = -1;
    return APR_SUCCESS;
}

apr_status_t am_activate_start(am_runtime_t *rt, apr_pool_t *pconf)
{
    int fds[2];

    rt->wake_rfd = rt->wake_wfd = -1;
    rt->parent_pid = getpid();
    if (am_cfg_activation(rt->g) != AM_ACT_AUTO) {
        return APR_SUCCESS;     /* the monitor hook handles windows and manual */
    }
    if (!(rt->wake_helper = find_wake_helper(pconf))) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, rt->s,
                     "mod_acme: %s is not installed next to mod_acme.so; new certificates will "
                     "be activated by the periodic check (within about 10 seconds) instead of "
                     "at once", WAKE_HELPER);
        return APR_SUCCESS;
    }
    /* Close-on-exec: no program started by httpd, its children or mod_acme
     * inherits it (the watcher gets the read end as its descriptor 0). The
     * drive must never block on a full pipe. */
    if (pipe2(fds, O_CLOEXEC) != 0 || fcntl(fds[1], F_SETFL, O_NONBLOCK) != 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, APR_FROM_OS_ERROR(errno), rt->s,
                     "mod_acme: cannot create the activation pipe; new certificates will be "
                     "activated by the periodic check instead (within about 10 seconds)");
        return APR_SUCCESS;
    }
    rt->wake_rfd = fds[0];
    rt->wake_wfd = fds[1];
    apr_pool_cleanup_register(pconf, rt, close_wake_pipe, apr_pool_cleanup_null);
    /* registered after the pipe's: runs before it */
    apr_pool_cleanup_register(pconf, rt, watcher_cleanup, apr_pool_cleanup_null);
    spawn_watcher(rt, 0);
    return APR_SUCCESS;
}

void am_activate_child_init(apr_pool_t *pchild, server_rec *s)
{
    am_sconf_t *sc = am_sconf(s);
    am_runtime_t *rt = sc ? sc->rt : NULL;

    /* a child only writes wake-ups; reading them is the watcher's */
    if (rt && rt->wake_rfd >= 0) {
        close(rt->wake_rfd);
        rt->wake_rfd = -1;
    }
}

void am_activate_wake(const am_runtime_t *rt)
{
    if (rt->wake_wfd >= 0) {
        ssize_t n;
        do {
            n = write(rt->wake_wfd, "S", 1);
        } while (n < 0 && errno == EINTR);
    }
}

/* ---- monitor: windows, manual, and the backstop ------------------------- */

int am_activate_in_window(int start_min, int end_min, apr_time_t now)
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

int am_activate_monitor(apr_pool_t *p, server_rec *s)
{
    am_sconf_t *sc = am_sconf(s);
    am_runtime_t *rt = sc ? sc->rt : NULL;
    apr_pool_t *tmp;

    if (!rt || !rt->startup || !rt->store || getpid() != rt->parent_pid) {
        return DECLINED;
    }
    /* p is the long-lived pconf: work in a pool of our own */
    if (apr_pool_create(&tmp, p) == APR_SUCCESS) {
        look(rt, tmp, apr_time_now());
        apr_pool_destroy(tmp);
    }
    return DECLINED;
}
