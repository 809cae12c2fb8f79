/* acme_exec.c: runs outside programs with descriptors 0-2 only, a minimal environment, a process group of their own, a timeout and bounded output capture. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <apr_strings.h>

#include "acme_exec.h"
#include "acme_log.h"

/* How often the wait loop looks at the child and the cancel flag. */
#define EXEC_TICK_MS 50
/* Reads per wake-up, so a program that writes without end cannot starve
 * the timeout check; and bytes read after it exited (a grandchild may
 * still write). */
#define EXEC_READS_PER_TICK 16
#define EXEC_DRAIN_MAX (1024 * 1024)

/* APR's apr_proc_create can neither close inherited descriptors (libcurl's
 * sockets, the activation pipe, store locks) nor give the program a process
 * group to kill at the timeout, so this file forks and execs itself. */

typedef struct {
    int fd;                          /* read end, non-blocking; -1 once closed */
    char *buf;
    apr_size_t len, cap;
    int truncated;
} sink_t;

/* Everything the child needs, prepared before fork: after it only
 * async-signal-safe calls are allowed (other threads may hold locks). */
typedef struct {
    const char *path;
    char *const *argv;
    char *const *envp;
    int devnull, out_w, err_w, report_w;
    pid_t parent;
    long max_fd;                     /* fallback when close_range is missing */
    struct sigaction dfl;
    sigset_t empty;
} child_plan_t;

static void close_fds_but(int keep, long max_fd)
{
    int ok;

    /* close_range exists since Linux 5.9; the loop is the fallback */
    if (keep < 3) {
        ok = close_range(3, ~0U, 0) == 0;
    }
    else {
        ok = (keep == 3 || close_range(3, (unsigned)keep - 1, 0) == 0)
             && close_range((unsigned)keep + 1, ~0U, 0) == 0;
    }
    for (long fd = 3; !ok && fd < max_fd; ++fd) {
        if (fd != keep) {
            close((int)fd);
        }
    }
}

static long open_max(void)
{
    long n = sysconf(_SC_OPEN_MAX);

    return n < 0 || n > 65536 ? 65536 : n;
}

void acme_exec_close_inherited(int keep)
{
    close_fds_but(keep, open_max());
}

static void child_report(int fd, int err)
{
    ssize_t n;

    do {
        n = write(fd, &err, sizeof(err));
    } while (n < 0 && errno == EINTR);
    _exit(127);
}

/* In the forked child: no allocation, no locks, no stdio. */
static void child_exec(const child_plan_t *c)
{
    int report, in, out, err;

#ifdef __linux__
    /* a process that ends with the thread waiting for it (an httpd child
     * exiting at a restart, acmectl interrupted) takes the program along */
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != c->parent) {
        _exit(127);
    }
#endif
    (void)setpgid(0, 0);
    for (int sig = 1; sig < NSIG; ++sig) {
        (void)sigaction(sig, &c->dfl, NULL);       /* fails for KILL, STOP: fine */
    }
    (void)sigprocmask(SIG_SETMASK, &c->empty, NULL);
    /* Lift everything above 2 first so the dup2s below cannot clobber a
     * source that happens to be 0, 1 or 2 (a process started with stdio closed). */
    if ((report = fcntl(c->report_w, F_DUPFD_CLOEXEC, 3)) < 0) {
        _exit(127);
    }
    if ((in = fcntl(c->devnull, F_DUPFD, 3)) < 0 || (out = fcntl(c->out_w, F_DUPFD, 3)) < 0
        || (err = fcntl(c->err_w, F_DUPFD, 3)) < 0) {
        child_report(report, errno);
    }
    if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) {
        child_report(report, errno);
    }
    close_fds_but(report, c->max_fd);
    execve(c->path, c->argv, c->envp);
    child_report(report, errno);
}

static apr_status_t os_error(void)
{
    return APR_FROM_OS_ERROR(errno ? errno : EIO);
}

static char *const *make_env(apr_pool_t *p, const char *const *extra)
{
    apr_size_t n = 0, i;
    char **envp;

    while (extra && extra[n]) {
        ++n;
    }
    envp = apr_pcalloc(p, sizeof(*envp) * (n + 2));
    envp[0] = apr_pstrcat(p, "PATH=", ACME_EXEC_PATH, NULL);
    for (i = 0; i < n; ++i) {
        envp[i + 1] = apr_pstrdup(p, extra[i]);
    }
    return envp;
}

static char *const *make_argv(apr_pool_t *p, const char *const *argv)
{
    apr_size_t n = 0, i;
    char **out;

    while (argv[n]) {
        ++n;
    }
    out = apr_pcalloc(p, sizeof(*out) * (n + 1));
    for (i = 0; i < n; ++i) {
        out[i] = apr_pstrdup(p, argv[i]);
    }
    return out;
}

static void sink_init(apr_pool_t *p, sink_t *s, int fd, apr_size_t cap)
{
    s->fd = fd;
    s->cap = cap;
    s->len = 0;
    s->truncated = 0;
    s->buf = apr_palloc(p, cap + 1);
    s->buf[0] = '\0';
}

static void sink_close(sink_t *s)
{
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
}

/* Reads what is there (at most `reads` chunks); keeps up to cap bytes. */
static apr_size_t sink_read(sink_t *s, int reads)
{
    char chunk[4096];
    apr_size_t total = 0;

    while (s->fd >= 0 && reads-- > 0) {
        ssize_t n = read(s->fd, chunk, sizeof(chunk));

        if (n > 0) {
            apr_size_t take = s->cap - s->len < (apr_size_t)n ? s->cap - s->len : (apr_size_t)n;

            memcpy(s->buf + s->len, chunk, take);
            s->len += take;
            s->buf[s->len] = '\0';
            s->truncated |= take < (apr_size_t)n;
            total += (apr_size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        }
        sink_close(s);      /* EOF or error */
    }
    return total;
}

static void kill_group(pid_t pid)
{
    if (pid > 1) {
        (void)kill(-pid, SIGKILL);
        (void)kill(pid, SIGKILL);
    }
}

static void reap(pid_t pid, int *status)
{
    while (waitpid(pid, status, 0) < 0 && errno == EINTR)
        ;
}

/* After exec: the exec report pipe says 0 bytes (exec worked) or an errno. */
static int exec_error(int report_r)
{
    int err = 0;
    ssize_t n;

    do {
        n = read(report_r, &err, sizeof(err));
    } while (n < 0 && errno == EINTR);
    return n == (ssize_t)sizeof(err) ? (err ? err : EIO) : 0;
}

static void result_from_status(acme_exec_result_t *res, int status)
{
    if (WIFEXITED(status)) {
        res->exit_code = WEXITSTATUS(status);
    }
    else if (WIFSIGNALED(status)) {
        res->signal = WTERMSIG(status);
    }
}

/* Collects output until the child exits, the deadline passes or *cancel
 * is set; returns the run's status. */
static apr_status_t supervise(const acme_exec_t *x, pid_t pid, sink_t *sinks,
                              acme_exec_result_t *res)
{
    apr_interval_time_t timeout = x->timeout > 0 ? x->timeout : ACME_EXEC_DEFAULT_TIMEOUT;
    apr_time_t deadline = apr_time_now() + timeout;
    int status = 0;

    for (;;) {
        struct pollfd pfd[2];
        nfds_t n = 0;
        apr_time_t now;
        pid_t w = waitpid(pid, &status, WNOHANG);

        if (w == pid || (w < 0 && errno == ECHILD)) {
            /* what is still in the pipes; a grandchild may keep them open */
            apr_size_t drained = 0;
            for (int i = 0; i < 2; ++i) {
                while (sinks[i].fd >= 0 && drained < EXEC_DRAIN_MAX) {
                    apr_size_t got = sink_read(&sinks[i], 1);
                    if (got == 0) {
                        break;
                    }
                    drained += got;
                }
            }
            if (w == pid) {
                result_from_status(res, status);
            }
            if (res->exit_code == 0) {
                return APR_SUCCESS;
            }
            return APR_EGENERAL;
        }
        now = apr_time_now();
        if (x->cancel && *x->cancel) {
            res->cancelled = 1;
            break;
        }
        if (now >= deadline) {
            res->timed_out = 1;
            break;
        }
        for (int i = 0; i < 2; ++i) {
            if (sinks[i].fd >= 0) {
                pfd[n].fd = sinks[i].fd;
                pfd[n].events = POLLIN;
                pfd[n].revents = 0;
                ++n;
            }
        }
        {
            apr_interval_time_t left = deadline - now;
            int ms = left < apr_time_from_msec(EXEC_TICK_MS)
                     ? (int)apr_time_as_msec(left) + 1 : EXEC_TICK_MS;
            (void)poll(n ? pfd : NULL, n, ms);
        }
        for (int i = 0; i < 2; ++i) {
            (void)sink_read(&sinks[i], EXEC_READS_PER_TICK);
        }
    }
    kill_group(pid);
    reap(pid, &status);
    res->exit_code = -1;
    return res->cancelled ? APR_EINTR : APR_TIMEUP;
}

static void close_if(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

apr_status_t acme_exec_run(apr_pool_t *p, const acme_exec_t *x, acme_exec_result_t *res)
{
    apr_size_t cap = x->max_output > 0 ? x->max_output : ACME_EXEC_DEFAULT_MAX_OUTPUT;
    int out[2] = { -1, -1 }, err[2] = { -1, -1 }, report[2] = { -1, -1 }, devnull = -1;
    child_plan_t plan;
    sink_t sinks[2];
    apr_status_t rv;
    pid_t pid;
    int e;

    memset(res, 0, sizeof(*res));
    res->exit_code = -1;
    res->out = res->err = apr_pcalloc(p, 1);
    if (!x->argv || !x->argv[0] || !*x->argv[0]) {
        return APR_EINVAL;
    }
    memset(&plan, 0, sizeof(plan));
    plan.path = x->argv[0];
    plan.argv = make_argv(p, x->argv);
    plan.envp = make_env(p, x->env);
    plan.max_fd = open_max();
    plan.parent = getpid();
    plan.dfl.sa_handler = SIG_DFL;
    sigemptyset(&plan.dfl.sa_mask);
    sigemptyset(&plan.empty);
    if ((devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0
        || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0
        || pipe2(report, O_CLOEXEC) != 0) {
        rv = os_error();
        goto done;
    }
    plan.devnull = devnull;
    plan.out_w = out[1];
    plan.err_w = err[1];
    plan.report_w = report[1];
    if ((pid = fork()) < 0) {
        rv = os_error();
        goto done;
    }
    if (pid == 0) {
        child_exec(&plan);
    }
    (void)setpgid(pid, pid);     /* also here: no window where a kill misses the group */
    close_if(&out[1]);
    close_if(&err[1]);
    close_if(&report[1]);
    close_if(&devnull);
    if ((e = exec_error(report[0])) != 0) {
        int status;
        reap(pid, &status);
        rv = APR_FROM_OS_ERROR(e);
        goto done;
    }
    res->started = 1;
    (void)fcntl(out[0], F_SETFL, fcntl(out[0], F_GETFL) | O_NONBLOCK);
    (void)fcntl(err[0], F_SETFL, fcntl(err[0], F_GETFL) | O_NONBLOCK);
    sink_init(p, &sinks[0], out[0], cap);
    sink_init(p, &sinks[1], err[0], cap);
    out[0] = err[0] = -1;        /* owned by the sinks now */
    rv = supervise(x, pid, sinks, res);
    sink_close(&sinks[0]);
    sink_close(&sinks[1]);
    res->out = sinks[0].buf;
    res->out_len = sinks[0].len;
    res->out_truncated = sinks[0].truncated;
    res->err = sinks[1].buf;
    res->err_len = sinks[1].len;
    res->err_truncated = sinks[1].truncated;
done:
    close_if(&out[0]);
    close_if(&out[1]);
    close_if(&err[0]);
    close_if(&err[1]);
    close_if(&report[0]);
    close_if(&report[1]);
    close_if(&devnull);
    return rv;
}

const char *acme_exec_describe(apr_pool_t *p, const acme_exec_t *x, const acme_exec_result_t *res)
{
    const char *how, *said = NULL;

    if (res->timed_out) {
        apr_interval_time_t t = x && x->timeout > 0 ? x->timeout : ACME_EXEC_DEFAULT_TIMEOUT;
        how = apr_psprintf(p, "timed out after %" APR_TIME_T_FMT " s and was killed",
                           apr_time_sec(t));
    }
    else if (res->cancelled) {
        how = "was cancelled";
    }
    else if (res->signal) {
        how = apr_psprintf(p, "was killed by signal %d", res->signal);
    }
    else if (!res->started) {
        how = "could not be started";
    }
    else if (res->exit_code < 0) {
        how = "ended with an unknown status";
    }
    else {
        how = apr_psprintf(p, "exited with status %d", res->exit_code);
    }
    if (res->err_len > 0) {
        said = apr_pstrcat(p, acme_printable(p, res->err, res->err_len),
                           res->err_truncated ? " [...]" : "", NULL);
    }
    else if (res->out_len > 0) {
        said = apr_pstrcat(p, acme_printable(p, res->out, res->out_len),
                           res->out_truncated ? " [...]" : "", NULL);
    }
    return said && *said ? apr_pstrcat(p, how, ": ", said, NULL) : how;
}

apr_status_t acme_exec_become_user(const char *user, uid_t uid, gid_t gid, const char **why)
{
    *why = NULL;
    if (geteuid() != 0) {
        return APR_SUCCESS;      /* nothing to give up: programs run as this user */
    }
    if (uid == 0) {
        *why = "refusing to run programs as root (the httpd User is root)";
        return APR_FROM_OS_ERROR(EPERM);
    }
    if ((user ? initgroups(user, gid) : setgroups(1, &gid)) != 0) {
        *why = "cannot set the supplementary groups";
        return os_error();
    }
    if (setgid(gid) != 0) {
        *why = "cannot change the group id";
        return os_error();
    }
    if (setuid(uid) != 0) {
        *why = "cannot change the user id";
        return os_error();
    }
    if (getuid() != uid || geteuid() != uid || getgid() != gid || getegid() != gid) {
        *why = "the user and group ids did not change as asked";
        return APR_FROM_OS_ERROR(EPERM);
    }
    if (setuid(0) == 0 || seteuid(0) == 0) {
        *why = "root could be regained after the change";
        return APR_FROM_OS_ERROR(EPERM);
    }
    return APR_SUCCESS;
}
