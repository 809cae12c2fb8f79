/* mod_acme_notify.c: ACMENotifyCmd: the program runs through acme_exec as the httpd User, detached from the root parent or in the child's drive thread. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <unixd.h>
#include <apr_strings.h>

#include "acme_exec.h"
#include "mod_acme_config.h"
#include "mod_acme_notify.h"

APLOG_USE_MODULE(acme);

typedef struct {
    const char *argv[4];
    const char *env[4];
    acme_exec_t x;
} notify_run_t;

/* The domain's names, space-separated (its id when it is not configured). */
static const char *names_of(const acme_rt_t *rt, apr_pool_t *p, const char *domain)
{
    const acme_mdomain_t *md = rt->by_name ? apr_hash_get(rt->by_name, domain,
                                                          APR_HASH_KEY_STRING) : NULL;
    const char *s = NULL;

    for (int i = 0; md && i < md->d->names->nelts; i++) {
        const char *n = APR_ARRAY_IDX(md->d->names, i, const char *);
        s = s ? apr_pstrcat(p, s, " ", n, NULL) : n;
    }
    return s ? s : domain;
}

static notify_run_t *prepare(const acme_rt_t *rt, apr_pool_t *p, const char *event,
                             const char *domain, volatile int *cancel)
{
    notify_run_t *n = apr_pcalloc(p, sizeof(*n));

    n->argv[0] = rt->g->notify_cmd;
    n->argv[1] = event;
    n->argv[2] = domain;
    n->env[0] = apr_pstrcat(p, "ACME_EVENT=", event, NULL);
    n->env[1] = apr_pstrcat(p, "ACME_DOMAIN=", domain, NULL);
    n->env[2] = apr_pstrcat(p, "ACME_NAMES=", names_of(rt, p, domain), NULL);
    n->x.argv = n->argv;
    n->x.env = n->env;
    n->x.timeout = acme_cfg_hook_timeout(rt->g);
    n->x.cancel = cancel;
    return n;
}

static void run_and_log(const acme_rt_t *rt, apr_pool_t *p, notify_run_t *n)
{
    acme_exec_result_t res;
    apr_status_t rv = acme_exec_run(p, &n->x, &res);

    if (rv == APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, rt->s, "ACMENotifyCmd \"%s %s %s\" done",
                     n->argv[0], n->argv[1], n->argv[2]);
    }
    else if (!res.started) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, rt->s,
                     "ACMENotifyCmd %s: cannot run it for event %s of %s", n->argv[0],
                     n->argv[1], n->argv[2]);
    }
    else if (!res.cancelled) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, rt->s, "ACMENotifyCmd \"%s %s %s\" %s",
                     n->argv[0], n->argv[1], n->argv[2], acme_exec_describe(p, &n->x, &res));
    }
}

/* The detached supervisor: out of httpd's session (a restart signals
 * httpd's process group), default signals, nothing inherited but stdio and
 * the error log, then the httpd User, then the program. */
static void supervise(const acme_rt_t *rt, notify_run_t *n)
{
    struct sigaction dfl;
    sigset_t none;
    apr_os_file_t logfd = -1;
    apr_pool_t *p;
    const char *why = NULL;
    apr_status_t rv;

    (void)setsid();
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    for (int sig = 1; sig < NSIG; ++sig) {
        (void)sigaction(sig, &dfl, NULL);
    }
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (rt->s->error_log) {
        apr_os_file_get(&logfd, rt->s->error_log);
    }
    acme_exec_close_inherited(logfd);
    if ((rv = acme_exec_become_user(ap_unixd_config.user_name, ap_unixd_config.user_id,
                                    ap_unixd_config.group_id, &why)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, rt->s,
                     "ACMENotifyCmd %s: not run for event %s of %s: cannot become the httpd "
                     "User %s: %s", n->argv[0], n->argv[1], n->argv[2],
                     ap_unixd_config.user_name ? ap_unixd_config.user_name : "?", why);
        return;
    }
    if (apr_pool_create_unmanaged_ex(&p, NULL, NULL) != APR_SUCCESS) {
        return;
    }
    run_and_log(rt, p, n);
}

void acme_notify(const acme_rt_t *rt, apr_pool_t *p, const char *event, const char *domain)
{
    notify_run_t *n;
    pid_t mid;
    int status = 0;

    if (!rt->g->notify_cmd) {
        return;
    }
    n = prepare(rt, p, event, domain, NULL);
    /* Double fork: the supervisor is adopted by init, the parent's main
     * loop never waits for the program. */
    if ((mid = fork()) == 0) {
        pid_t sup = fork();

        if (sup == 0) {
            supervise(rt, n);
            _exit(0);
        }
        _exit(sup < 0 ? 1 : 0);
    }
    if (mid < 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, APR_FROM_OS_ERROR(errno), rt->s,
                     "ACMENotifyCmd %s: cannot run it for event %s of %s", n->argv[0], event,
                     domain);
        return;
    }
    while (waitpid(mid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, rt->s,
                     "ACMENotifyCmd %s: cannot start its supervisor for event %s of %s",
                     n->argv[0], event, domain);
    }
}

void acme_notify_here(const acme_rt_t *rt, apr_pool_t *p, const char *event, const char *domain,
                      volatile int *cancel)
{
    if (rt->g->notify_cmd) {
        run_and_log(rt, p, prepare(rt, p, event, domain, cancel));
    }
}
