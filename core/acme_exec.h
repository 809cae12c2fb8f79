/* acme_exec.h: the one way the core and its users run an outside program (hooks, token commands): descriptors 0-2 only, a minimal environment, its own process group, a timeout and bounded output. */
#ifndef ACME_EXEC_H
#define ACME_EXEC_H

#include <sys/types.h>
#include <apr_pools.h>
#include <apr_time.h>

/* The PATH every program gets; the rest of its environment is what the
 * caller lists in acme_exec_t.env (README "Hooks"). */
#define ACME_EXEC_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define ACME_EXEC_DEFAULT_TIMEOUT apr_time_from_sec(120)
/* Bytes kept of each of stdout and stderr by default; the rest is read and dropped. */
#define ACME_EXEC_DEFAULT_MAX_OUTPUT 4096

typedef struct acme_exec_t {
    /* argv[0] is the program's path (not looked up in PATH); NULL-terminated. */
    const char *const *argv;
    /* "NAME=value" entries after PATH; NULL-terminated; NULL: none. */
    const char *const *env;
    apr_interval_time_t timeout;     /* 0: ACME_EXEC_DEFAULT_TIMEOUT */
    apr_size_t max_output;           /* 0: ACME_EXEC_DEFAULT_MAX_OUTPUT */
    volatile int *cancel;            /* non-NULL and set: the program is killed (APR_EINTR) */
} acme_exec_t;

typedef struct acme_exec_result_t {
    int started;                     /* the program was executed */
    int exit_code;                   /* its exit status; -1 when it did not exit by itself */
    int signal;                      /* the signal that ended it; 0 when it exited */
    int timed_out;                   /* killed at the timeout */
    int cancelled;                   /* killed because *cancel was set */
    char *out;                       /* stdout, NUL-terminated (never NULL after a run) */
    apr_size_t out_len;
    int out_truncated;               /* stdout was longer than max_output */
    char *err;                       /* stderr, same rules */
    apr_size_t err_len;
    int err_truncated;
} acme_exec_result_t;

/* Runs the program and waits for it, as the calling process' user:
 * stdin /dev/null, stdout and stderr captured (bounded), every other
 * descriptor closed, signal dispositions and mask reset, environment
 * PATH=ACME_EXEC_PATH plus x->env, a process group of its own. At the
 * timeout (or on cancel) the whole process group is killed with SIGKILL;
 * on Linux the program is also killed when the calling thread's process
 * ends before it (PR_SET_PDEATHSIG).
 * Safe to call from any thread: the child does only async-signal-safe
 * work before exec.
 * Returns APR_SUCCESS when it exited with 0; APR_EGENERAL when it exited
 * otherwise or died of a signal; APR_TIMEUP; APR_EINTR (cancel); any other
 * status means it could not be started (e.g. ENOENT, EACCES from exec). */
apr_status_t acme_exec_run(apr_pool_t *p, const acme_exec_t *x, acme_exec_result_t *res);

/* How the run ended, for a log line: "exited with status 3: <stderr>",
 * "was killed by signal 9", "timed out after 120 s and was killed",
 * "was cancelled". The program's output (stderr, else stdout) is quoted
 * with control characters replaced by spaces. */
const char *acme_exec_describe(apr_pool_t *p, const acme_exec_t *x, const acme_exec_result_t *res);

/* Closes every descriptor above 2 except `keep` (-1: none): for a
 * process forked to outlive its caller, so it holds no listener, lock or
 * pipe of the server. Async-signal-safe. */
void acme_exec_close_inherited(int keep);

/* For a process running as root that must run programs as an unprivileged
 * user (httpd's User): the supplementary groups of `user` (only `gid` when
 * user is NULL), then gid, then uid, and verified afterwards (real and
 * effective ids are the target's and root cannot be regained). Does
 * nothing when the process is not root. Refuses uid 0 (EPERM). *why
 * says what failed. Not for threaded processes: call it in a forked child. */
apr_status_t acme_exec_become_user(const char *user, uid_t uid, gid_t gid, const char **why);

#endif
