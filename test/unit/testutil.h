/* testutil.h: the scaffolding every unit test program shares: APR pool fixture, scratch directory, file modes, test cases and the runner. */
#ifndef ACME_TESTUTIL_H
#define ACME_TESTUTIL_H

#include <check.h>
#include <apr_pools.h>

/* The running test's pool: made by tu_setup, destroyed by tu_teardown. */
extern apr_pool_t *pool;
/* The running test's scratch directory, made by tu_scratch_create. */
extern const char *tmpdir;

/* Fixture: initialises APR and makes the pool. */
void tu_setup(void);
/* Fixture: destroys the pool and terminates APR. */
void tu_teardown(void);

/* Makes a fresh $TMPDIR/<prefix>.XXXXXX (default /tmp) and sets tmpdir to it. */
void tu_scratch_create(const char *prefix);
/* Removes tmpdir and everything below it. */
void tu_scratch_remove(void);
/* rm -r without following links (APR has no recursive remove). */
void tu_remove_tree(const char *path);

/* The permission bits of path, which must exist. */
int tu_file_mode(const char *path);

/* A test case added to s with a checked fixture (either may be NULL) and,
 * when timeout > 0, that many seconds instead of check's default. */
TCase *tu_tcase(Suite *s, const char *name, double timeout, SFun setup, SFun teardown);
/* Runs every test of s; the exit status for main. */
int tu_run(Suite *s);

#endif
