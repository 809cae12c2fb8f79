/* testutil.c: the scaffolding every unit test program shares (see testutil.h). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_file_io.h>
#include "testutil.h"

apr_pool_t *pool;
const char *tmpdir;

void tu_setup(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
}

void tu_teardown(void)
{
    apr_pool_destroy(pool);
    apr_terminate();
}

void tu_scratch_create(const char *prefix)
{
    const char *base = getenv("TMPDIR");
    char *dir = apr_pstrcat(pool, base && *base ? base : "/tmp", "/", prefix, ".XXXXXX", NULL);

    ck_assert_ptr_nonnull(mkdtemp(dir));
    tmpdir = dir;
}

void tu_scratch_remove(void)
{
    tu_remove_tree(tmpdir);
    tmpdir = NULL;
}

void tu_remove_tree(const char *path)
{
    apr_dir_t *dir;
    apr_finfo_t fi;

    if (apr_dir_open(&dir, path, pool) != APR_SUCCESS) {
        apr_file_remove(path, pool);
        return;
    }
    while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, dir) == APR_SUCCESS) {
        const char *child;

        if (!strcmp(fi.name, ".") || !strcmp(fi.name, "..")) continue;
        child = apr_pstrcat(pool, path, "/", fi.name, NULL);
        if (fi.filetype == APR_DIR) tu_remove_tree(child);
        else apr_file_remove(child, pool);
    }
    apr_dir_close(dir);
    apr_dir_remove(path, pool);
}

int tu_file_mode(const char *path)
{
    struct stat sb;

    ck_assert_msg(stat(path, &sb) == 0, "cannot stat %s", path);
    return (int)(sb.st_mode & 07777);
}

TCase *tu_tcase(Suite *s, const char *name, double timeout, SFun setup, SFun teardown)
{
    TCase *tc = tcase_create(name);

    if (timeout > 0) {
        tcase_set_timeout(tc, timeout);
    }
    if (setup || teardown) {
        tcase_add_checked_fixture(tc, setup, teardown);
    }
    suite_add_tcase(s, tc);
    return tc;
}

int tu_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
