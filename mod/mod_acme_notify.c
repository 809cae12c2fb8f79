/* mod_acme_notify.c: ACMENotifyCmd: a detached supervisor process runs the program through acme_exec as the httpd User and logs how a failed run ended. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <unixd.h>
#include <apr_strings.h>

#include "acme_exec.h"
#include "acme_jws.h"
#include "acme_log.h"
#include "mod_acme_config.h"
#include "mod_acme_notify.h"

APLOG_USE_MODULE(acme);

/* Everything the supervisor needs, made before the fork. */
#define NOTIFY_ENV_MAX 12           /* ACME_EVENT, ACME_DOMAIN, ACME_NAMES + the event's */
#define NOTIFY_VALUE_MAX 1024        /* a CA's detail is cut there */

typedef struct {
    const char *argv[4];
    const char *env[NOTIFY_ENV_MAX + 1];
    acme_exec_t x;
    int log_fd;                      /* the main error log */
    long gmtoff;                     /* local time's offset, for the log line */
    int info;                        /* LogLevel acme:info or more: log every exit status */
    const char *user;                /* ap_unixd_config, read before the fork */
    uid_t uid;
    gid_t gid;
} notify_run_t;

/* The domain's names, space-separated (its id when it is not configured). */
static const char *names_of(const am_runtime_t *rt, apr_pool_t *p, const char *domain)
{
    const am_mdomain_t *md = rt->by_name ? apr_hash_get(rt->by_name, domain,
                                                          APR_HASH_KEY_STRING) : NULL;
    const char *s = NULL;

    for (int i = 0; md && i < md->d->names->nelts; i++) {
        const char *n = APR_ARRAY_IDX(md->d->names, i, const char *);
        s = s ? apr_pstrcat(p, s, " ", n, NULL) : n;
    }
    return s ? s : domain;
}

static notify_run_t *prepare(const am_runtime_t *rt, apr_pool_t *p, const char *event,
                             const char *domain, const char *const *vars)
{
    notify_run_t *n = apr_pcalloc(p, sizeof(*n));
    apr_time_exp_t now;
    apr_os_file_t fd = 2;
    int e = 0;

    n->argv[0] = rt->g->notify_cmd;
    n->argv[1] = event;
    n->argv[2] = domain;
    n->env[e++] = apr_pstrcat(p, "ACME_EVENT=", event, NULL);
    n->env[e++] = apr_pstrcat(p, "ACME_DOMAIN=", domain, NULL);
    n->env[e++] = apr_pstrcat(p, "ACME_NAMES=", names_of(rt, p, domain), NULL);
    /* the event's own variables, one line each and bounded: a CA's detail too */
    for (int i = 0; vars && vars[i] && vars[i + 1] && e < NOTIFY_ENV_MAX; i += 2) {
        n->env[e++] = apr_pstrcat(p, vars[i], "=", acme_printable(p, vars[i + 1],
                                                                   NOTIFY_VALUE_MAX), NULL);
    }
    n->x.argv = n->argv;
    n->x.env = n->env;
    n->x.timeout = am_cfg_hook_timeout(rt->g);
    if (rt->s->error_log) {
        apr_os_file_get(&fd, rt->s->error_log);
    }
    n->log_fd = fd;
    n->gmtoff = apr_time_exp_lt(&now, apr_time_now()) == APR_SUCCESS ? now.tm_gmtoff : 0;
    n->info = APLOG_IS_LEVEL(rt->s, APLOG_INFO);
    n->user = ap_unixd_config.user_name;
    n->uid = ap_unixd_config.user_id;
    n->gid = ap_unixd_config.group_id;
    return n;
}

/* ---- the supervisor's log line ------------------------------------------ */

/* Days since 1970-01-01 to a civil date (proleptic Gregorian). */
static void civil_from_days(long long z, int *y, int *m, int *d)
{
    long long era, yoe, doe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

/* One line in httpd's error log format. The supervisor may be a fork of a
 * threaded child, where another thread could have held a lock at fork time
 * (localtime_r's, taken by ap_log_error): the time is computed here from the
 * clock and the offset seen before the fork, formatted by apr_snprintf
 * (no locks) and written with one write(2). */
static void sup_log(const notify_run_t *n, const char *level, const char *fmt, ...)
{
    static const char *const days[] = { "Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed" };
    static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
                                          "Aug", "Sep", "Oct", "Nov", "Dec" };
    char line[4096];
    apr_time_t now = apr_time_now();
    long long secs = (long long)apr_time_sec(now) + n->gmtoff;
    long long day = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
    long long rem = secs - day * 86400;
    int y, m, d, len;
    va_list ap;
    ssize_t w;

    civil_from_days(day, &y, &m, &d);
    len = apr_snprintf(line, sizeof(line), "[%s %s %02d %02d:%02d:%02d.%06d %d] [acme:%s] "
                       "[pid %ld] ", days[((day % 7) + 7) % 7], months[m - 1], d,
                       (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60),
                       (int)apr_time_usec(now), y, level, (long)getpid());
    va_start(ap, fmt);
    len += apr_vsnprintf(line + len, sizeof(line) - (apr_size_t)len - 1, fmt, ap);
    va_end(ap);
    line[len++] = '\n';
    do {
        w = write(n->log_fd, line, (size_t)len);
    } while (w < 0 && errno == EINTR);
}

/* An error's text without gettext's locks (glibc's strerror_r translates). */
static const char *errtext(apr_status_t rv, char *buf, apr_size_t len)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 32)
    if (rv > 0 && rv < APR_OS_START_ERROR && strerrordesc_np((int)rv)) {
        return strerrordesc_np((int)rv);
    }
#endif
    if (rv >= APR_OS_START_ERROR && rv < APR_OS_START_USERERR) {
        return apr_strerror(rv, buf, len);     /* APR's own table */
    }
    apr_snprintf(buf, len, "error %d", rv);
    return buf;
}

/* ---- the supervisor ------------------------------------------------------- */

/* Out of httpd's session (a restart signals httpd's process group), default
 * signals, nothing inherited but stdio and the error log, then the httpd
 * User (when started as root), then the program. */
static void supervise(notify_run_t *n)
{
    struct sigaction dfl;
    sigset_t none;
    acme_exec_result_t res;
    apr_pool_t *p;
    const char *why = NULL;
    char err[128];
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
    acme_exec_close_inherited(n->log_fd);
    if ((rv = acme_exec_become_user(n->user, n->uid, n->gid, &why)) != APR_SUCCESS) {
        sup_log(n, "error", "ACMENotifyCmd %s: not run for event %s of %s: cannot become the "
                "httpd User %s: %s (%s)", n->argv[0], n->argv[1], n->argv[2],
                n->user ? n->user : "?", why, errtext(rv, err, sizeof(err)));
        return;
    }
    /* own allocator: no lock another thread held at the fork */
    if (apr_pool_create_unmanaged_ex(&p, NULL, NULL) != APR_SUCCESS) {
        return;
    }
    rv = acme_exec_run(p, &n->x, &res);
    if (rv == APR_SUCCESS) {
        if (n->info) {
            sup_log(n, "info", "ACMENotifyCmd \"%s %s %s\" exited with status 0", n->argv[0],
                    n->argv[1], n->argv[2]);
        }
    }
    else if (!res.started) {
        sup_log(n, "warn", "ACMENotifyCmd %s: cannot run it for event %s of %s: %s",
                n->argv[0], n->argv[1], n->argv[2], errtext(rv, err, sizeof(err)));
    }
    else {
        sup_log(n, "warn", "ACMENotifyCmd \"%s %s %s\" %s", n->argv[0], n->argv[1], n->argv[2],
                acme_exec_describe(p, &n->x, &res));
    }
    apr_pool_destroy(p);
}

void am_notify(const am_runtime_t *rt, apr_pool_t *p, const char *event, const char *domain)
{
    am_notify_vars(rt, p, event, domain, NULL);
}

void am_notify_vars(const am_runtime_t *rt, apr_pool_t *p, const char *event, const char *domain,
                      const char *const *vars)
{
    notify_run_t *n;
    pid_t mid;
    int status = 0;

    if (!rt->g->notify_cmd) {
        return;
    }
    n = prepare(rt, p, event, domain, vars);
    /* Double fork: the supervisor is adopted by init and outlives this
     * process (an httpd child ends at the next graceful restart); nothing
     * here waits for the program. */
    if ((mid = fork()) == 0) {
        pid_t sup = fork();

        if (sup == 0) {
            supervise(n);
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

apr_status_t am_notify_wait(const am_runtime_t *rt, apr_pool_t *p, const char *event,
                              const char *domain, const char *const *vars, volatile int *cancel,
                              const char **why)
{
    notify_run_t *n;
    acme_exec_result_t res;
    apr_status_t rv;

    *why = NULL;
    if (!rt->g->notify_cmd) {
        return APR_SUCCESS;
    }
    n = prepare(rt, p, event, domain, vars);
    n->x.cancel = cancel;
    rv = acme_exec_run(p, &n->x, &res);
    if (rv == APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, rt->s, "ACMENotifyCmd \"%s %s %s\" exited "
                     "with status 0", n->argv[0], event, domain);
        return APR_SUCCESS;
    }
    *why = res.started ? acme_exec_describe(p, &n->x, &res)
                       : apr_psprintf(p, "could not be started (%pm)", &rv);
    ap_log_error(APLOG_MARK, APLOG_WARNING, res.started ? 0 : rv, rt->s,
                 "ACMENotifyCmd \"%s %s %s\" %s", n->argv[0], event, domain, *why);
    return rv;
}

/* ---- challenge-setup ------------------------------------------------------------ */

typedef struct {
    const am_runtime_t *rt;
    const char *domain;
    acme_responder_t *inner;
    volatile int *cancel;
} notify_responder_t;

static int nr_can(acme_responder_t *r, const char *type, const char *name)
{
    notify_responder_t *nr = r->baton;

    return nr->inner->can(nr->inner, type, name);
}

/* What the program needs to copy the answer elsewhere (another node of a
 * cluster, a load balancer): none of it is secret, the CA shows it to anyone. */
static const char *const *challenge_vars(apr_pool_t *p, const char *type, const char *name,
                                         const char *token, const char *keyauth)
{
    const char **v = apr_pcalloc(p, sizeof(*v) * 11);
    int i = 0;

    v[i++] = "ACME_CHALLENGE_TYPE";
    v[i++] = type;
    v[i++] = "ACME_IDENTIFIER";
    v[i++] = name;
    if (!strcmp(type, "dns-01")) {
        v[i++] = "ACME_NAME";
        v[i++] = apr_pstrcat(p, "_acme-challenge.", strncmp(name, "*.", 2) ? name : name + 2,
                             NULL);
        v[i++] = "ACME_VALUE";
        v[i++] = acme_dns01_value(p, keyauth);
    }
    else {
        v[i++] = "ACME_TOKEN";
        v[i++] = token;
        v[i++] = "ACME_KEY_AUTHORIZATION";
        v[i++] = keyauth;
    }
    return v;
}

static apr_status_t nr_setup(acme_responder_t *r, apr_pool_t *p, const char *type,
                             const char *name, const char *token, const char *keyauth)
{
    notify_responder_t *nr = r->baton;
    const char *why = NULL;
    apr_status_t rv = nr->inner->setup(nr->inner, p, type, name, token, keyauth);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* Waited for: a program that copies the answer elsewhere is done before
     * the CA is told to look. Its failure is logged, not fatal: a notify
     * program written before this event existed may well exit 1 for it. */
    rv = am_notify_wait(nr->rt, p, "challenge-setup", nr->domain,
                          challenge_vars(p, type, name, token, keyauth), nr->cancel, &why);
    if (rv == APR_EINTR) {
        nr->inner->teardown(nr->inner, p, type, name, token, keyauth);
        return rv;
    }
    return APR_SUCCESS;
}

static apr_status_t nr_teardown(acme_responder_t *r, apr_pool_t *p, const char *type,
                                const char *name, const char *token, const char *keyauth)
{
    notify_responder_t *nr = r->baton;

    return nr->inner->teardown(nr->inner, p, type, name, token, keyauth);
}

acme_responder_t *am_notify_responder(const am_runtime_t *rt, apr_pool_t *p, const char *domain,
                                        acme_responder_t *inner, volatile int *cancel)
{
    notify_responder_t *nr;
    acme_responder_t *r;

    if (!rt->g->notify_cmd) {
        return inner;
    }
    nr = apr_pcalloc(p, sizeof(*nr));
    nr->rt = rt;
    nr->domain = domain;
    nr->inner = inner;
    nr->cancel = cancel;
    r = apr_pcalloc(p, sizeof(*r));
    r->baton = nr;
    r->log = inner->log;
    r->can = nr_can;
    r->setup = nr_setup;
    r->teardown = nr_teardown;
    return r;
}
