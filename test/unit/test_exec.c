/* test_exec.c: unit tests of the program runner (descriptors, environment, exit status, bounded output, timeout killing the process group, cancel, dropping root); the test binary itself is the program it runs. */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <apr_strings.h>
#include "acme_exec.h"
#include "testutil.h"

/* This program's own path: with --probe it is the program the tests run. */
static char self[PATH_MAX];

/* ---- the probe: what a hook sees ----------------------------------------- */

static int probe_fds(void)
{
    struct stat st, null_st;

    for (int fd = 0; fd < 1024; ++fd) {
        if (fcntl(fd, F_GETFD) >= 0) {
            printf("%d ", fd);
        }
    }
    if (fstat(0, &st) == 0 && stat("/dev/null", &null_st) == 0 && st.st_rdev == null_st.st_rdev) {
        printf("stdin=null");
    }
    printf("\n");
    return 0;
}

static int probe_env(void)
{
    extern char **environ;

    for (char **e = environ; *e; ++e) {
        printf("%s\n", *e);
    }
    return 0;
}

/* Forks a grandchild in the same process group, prints its pid, then both hang. */
static int probe_hang(void)
{
    pid_t g = fork();

    if (g == 0) {
        for (;;) pause();
    }
    printf("%ld\n", (long)g);
    fflush(stdout);
    for (;;) pause();
    return 0;
}

static int probe_flood(void)
{
    static char block[65536];

    memset(block, 'x', sizeof(block));
    for (int i = 0; i < 64; ++i) {
        if (fwrite(block, 1, sizeof(block), stdout) != sizeof(block)) return 1;
    }
    fputs("tail\n", stderr);
    return 0;
}

static int probe(int argc, char **argv)
{
    const char *what = argc > 2 ? argv[2] : "";

    if (!strcmp(what, "fds")) return probe_fds();
    if (!strcmp(what, "env")) return probe_env();
    if (!strcmp(what, "hang")) return probe_hang();
    if (!strcmp(what, "flood")) return probe_flood();
    if (!strcmp(what, "ids")) {
        printf("%ld %ld %ld %ld\n", (long)getuid(), (long)geteuid(), (long)getgid(),
               (long)getegid());
        return 0;
    }
    if (!strcmp(what, "say")) {
        /* stdout, stderr with a control character, then the exit status */
        fputs(argv[3], stdout);
        fputs("bad\x1b[31m\nnews\n", stderr);
        return atoi(argv[4]);
    }
    return 99;
}

/* ---- helpers ------------------------------------------------------------- */

static apr_status_t run_probe(const char *what, const char *const *env, apr_interval_time_t timeout,
                              acme_exec_result_t *res)
{
    const char *argv[] = { self, "--probe", what, NULL };
    acme_exec_t x;

    memset(&x, 0, sizeof(x));
    x.argv = argv;
    x.env = env;
    x.timeout = timeout;
    return acme_exec_run(pool, &x, res);
}

static int dead(pid_t pid)
{
    char path[64], buf[512];
    FILE *f;
    char *paren;
    int gone;

    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    if (!(f = fopen(path, "r"))) return 1;
    gone = !fgets(buf, sizeof(buf), f);
    fclose(f);
    if (gone) return 1;
    paren = strrchr(buf, ')');
    return paren && paren[1] == ' ' && paren[2] == 'Z';    /* a zombie is dead too */
}

/* ---- tests --------------------------------------------------------------- */

START_TEST(captures_output_and_status)
{
    const char *argv[] = { self, "--probe", "say", "hello\n", "0", NULL };
    acme_exec_t x;
    acme_exec_result_t res;
    const char *d;

    memset(&x, 0, sizeof(x));
    x.argv = argv;
    ck_assert_int_eq(acme_exec_run(pool, &x, &res), APR_SUCCESS);
    ck_assert(res.started);
    ck_assert_int_eq(res.exit_code, 0);
    ck_assert_str_eq(res.out, "hello\n");
    ck_assert_str_eq(res.err, "bad\x1b[31m\nnews\n");

    argv[4] = "7";
    ck_assert_int_eq(acme_exec_run(pool, &x, &res), APR_EGENERAL);
    ck_assert_int_eq(res.exit_code, 7);
    ck_assert_int_eq(res.signal, 0);
    d = acme_exec_describe(pool, &x, &res);
    /* stderr quoted on one line, the escape character gone */
    ck_assert_str_eq(d, "exited with status 7: bad [31m news");
}
END_TEST

START_TEST(only_stdio_descriptors)
{
    acme_exec_result_t res;
    int pipefd[2], sv[2], fd, high;

    /* inheritable descriptors of every kind, as a server holds them */
    ck_assert_int_eq(pipe(pipefd), 0);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ck_assert_int_ge(fd = open("/dev/null", O_RDWR), 0);
    ck_assert_int_ge(high = dup2(fd, 200), 0);
    ck_assert_int_eq(run_probe("fds", NULL, 0, &res), APR_SUCCESS);
    ck_assert_str_eq(res.out, "0 1 2 stdin=null\n");
    close(pipefd[0]);
    close(pipefd[1]);
    close(sv[0]);
    close(sv[1]);
    close(fd);
    close(high);
}
END_TEST

START_TEST(stdio_closed_in_caller)
{
    acme_exec_result_t res;
    int saved = dup(0);

    /* the runner's own descriptors then land on 0: they must not survive as such */
    close(0);
    ck_assert_int_eq(run_probe("fds", NULL, 0, &res), APR_SUCCESS);
    dup2(saved, 0);
    close(saved);
    ck_assert_str_eq(res.out, "0 1 2 stdin=null\n");
}
END_TEST

START_TEST(minimal_environment)
{
    const char *env[] = { "ACME_EVENT=issued", "ACME_DOMAIN=example.org", NULL };
    acme_exec_result_t res;

    setenv("SECRET_OF_THE_CALLER", "x", 1);
    ck_assert_int_eq(run_probe("env", env, 0, &res), APR_SUCCESS);
    ck_assert_str_eq(res.out, "PATH=" ACME_EXEC_PATH "\nACME_EVENT=issued\n"
                     "ACME_DOMAIN=example.org\n");
}
END_TEST

START_TEST(timeout_kills_the_group)
{
    acme_exec_result_t res;
    apr_time_t start = apr_time_now();
    const char *d;
    long grandchild;

    ck_assert_int_eq(run_probe("hang", NULL, apr_time_from_msec(700), &res), APR_TIMEUP);
    ck_assert(res.timed_out);
    ck_assert_int_eq(res.exit_code, -1);
    ck_assert(apr_time_now() - start >= apr_time_from_msec(700));
    grandchild = atol(res.out);
    ck_assert_int_gt(grandchild, 1);
    /* the grandchild was in the program's process group: killed too */
    for (int i = 0; i < 100 && !dead((pid_t)grandchild); ++i) {
        apr_sleep(apr_time_from_msec(20));
    }
    ck_assert_msg(dead((pid_t)grandchild), "grandchild %ld survived the timeout", grandchild);
    d = acme_exec_describe(pool, NULL, &res);
    ck_assert_ptr_nonnull(strstr(d, "timed out"));
}
END_TEST

START_TEST(cancel_stops_it)
{
    const char *argv[] = { self, "--probe", "hang", NULL };
    volatile int cancel = 1;
    acme_exec_t x;
    acme_exec_result_t res;

    memset(&x, 0, sizeof(x));
    x.argv = argv;
    x.cancel = &cancel;
    ck_assert_int_eq(acme_exec_run(pool, &x, &res), APR_EINTR);
    ck_assert(res.cancelled);
}
END_TEST

START_TEST(output_is_bounded)
{
    const char *argv[] = { self, "--probe", "flood", NULL };
    acme_exec_t x;
    acme_exec_result_t res;

    memset(&x, 0, sizeof(x));
    x.argv = argv;
    x.max_output = 1000;
    /* 4 MiB written: all of it read (the program is not blocked), 1000 bytes kept */
    ck_assert_int_eq(acme_exec_run(pool, &x, &res), APR_SUCCESS);
    ck_assert_uint_eq(res.out_len, 1000);
    ck_assert(res.out_truncated);
    ck_assert_uint_eq(strlen(res.out), 1000);
    ck_assert_str_eq(res.err, "tail\n");
    ck_assert(!res.err_truncated);
}
END_TEST

START_TEST(cannot_start)
{
    const char *argv[] = { "/nonexistent/hook", "x", NULL };
    char plain[] = "/tmp/acme-exec-test.XXXXXX";
    const char *noexec[] = { plain, NULL };
    acme_exec_t x;
    acme_exec_result_t res;
    apr_status_t rv;
    int fd;

    memset(&x, 0, sizeof(x));
    x.argv = argv;
    rv = acme_exec_run(pool, &x, &res);
    ck_assert(APR_STATUS_IS_ENOENT(rv));
    ck_assert(!res.started);
    /* a file without execute permission */
    ck_assert_int_ge(fd = mkstemp(plain), 0);
    close(fd);
    chmod(plain, 0644);
    x.argv = noexec;
    rv = acme_exec_run(pool, &x, &res);
    unlink(plain);
    ck_assert_int_eq(rv, APR_FROM_OS_ERROR(EACCES));
    x.argv = NULL;
    ck_assert_int_eq(acme_exec_run(pool, &x, &res), APR_EINVAL);
}
END_TEST

START_TEST(become_user_drops_root)
{
    pid_t pid;
    int status;

    if (geteuid() != 0) {
        return;     /* only root can drop; not root: nothing to test */
    }
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        acme_exec_result_t res;
        const char *why = NULL;

        if (acme_exec_become_user(NULL, 0, 0, &why) != APR_FROM_OS_ERROR(EPERM) || !why) _exit(10);
        if (acme_exec_become_user(NULL, 65534, 65534, &why) != APR_SUCCESS) _exit(11);
        if (geteuid() != 65534 || setuid(0) == 0) _exit(12);
        /* the program inherits the dropped ids */
        if (run_probe("ids", NULL, 0, &res) != APR_SUCCESS) _exit(13);
        if (strcmp(res.out, "65534 65534 65534 65534\n")) _exit(14);
        /* not root any more: a further call changes nothing and succeeds */
        if (acme_exec_become_user(NULL, 1, 1, &why) != APR_SUCCESS || getuid() != 65534) _exit(15);
        _exit(0);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
}
END_TEST

static Suite *exec_suite(void)
{
    Suite *s = suite_create("exec");
    TCase *tc = tu_tcase(s, "runner", 30, tu_setup, tu_teardown);

    tcase_add_test(tc, captures_output_and_status);
    tcase_add_test(tc, only_stdio_descriptors);
    tcase_add_test(tc, stdio_closed_in_caller);
    tcase_add_test(tc, minimal_environment);
    tcase_add_test(tc, timeout_kills_the_group);
    tcase_add_test(tc, cancel_stops_it);
    tcase_add_test(tc, output_is_bounded);
    tcase_add_test(tc, cannot_start);
    tcase_add_test(tc, become_user_drops_root);
    return s;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--probe")) {
        return probe(argc, argv);
    }
    if (!realpath(argv[0], self)) {
        perror(argv[0]);
        return 1;
    }
    return tu_run(exec_suite());
}
