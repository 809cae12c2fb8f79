/* test_file.c: unit tests of the file helpers (acme_file.c) the privilege boundary rests on: size limits, secrets, atomic writes with exact modes, reads and writes below a directory descriptor that never follow links or block on FIFOs, bounded removal, and the check for directories another user could change. */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <apr_strings.h>
#include "acme_file.h"
#include "testutil.h"

static void setup(void)
{
    tu_setup();
    tu_scratch_create("test_file");
}

static void teardown(void)
{
    tu_scratch_remove();
    tu_teardown();
}

static const char *at(const char *name)
{
    return apr_pstrcat(pool, tmpdir, "/", name, NULL);
}

static void put(const char *name, const char *text)
{
    ck_assert_int_eq(acme_file_write_atomic(pool, at(name), text, strlen(text), 0644), APR_SUCCESS);
}

static int entries(const char *dir)
{
    apr_dir_t *d;
    apr_finfo_t fi;
    int n = 0;

    ck_assert_int_eq(apr_dir_open(&d, dir, pool), APR_SUCCESS);
    while (apr_dir_read(&fi, APR_FINFO_NAME, d) == APR_SUCCESS) {
        n += strcmp(fi.name, ".") && strcmp(fi.name, "..");
    }
    apr_dir_close(d);
    return n;
}

START_TEST(read_limit_and_secret)
{
    char *data = NULL;
    const char *secret = NULL;
    apr_size_t len = 0;

    put("ten", "0123456789");
    ck_assert_int_eq(acme_file_read(pool, at("ten"), 10, &data, &len), APR_SUCCESS);
    ck_assert_uint_eq(len, 10);
    ck_assert_int_eq(data[10], '\0');
    ck_assert_int_eq(acme_file_read(pool, at("ten"), 9, &data, &len), APR_ENOSPC);
    ck_assert(APR_STATUS_IS_ENOENT(acme_file_read(pool, at("none"), 9, &data, &len)));

    put("key", "a b\t \r\n\n");
    ck_assert_int_eq(acme_file_read_secret(pool, at("key"), 64, &secret), APR_SUCCESS);
    ck_assert_str_eq(secret, "a b");
    put("blank", " \n\t\n");
    ck_assert_int_eq(acme_file_read_secret(pool, at("blank"), 64, &secret), APR_EINVAL);
}
END_TEST

/* The mode holds from creation on whatever the umask; the old file is replaced
 * whole; no temp file stays, also when the write fails. */
START_TEST(atomic_write)
{
    struct stat sb;
    char *data = NULL;
    apr_size_t len = 0;
    mode_t old = umask(0);

    ck_assert_int_eq(acme_file_write_atomic(pool, at("k"), "one", 3, APR_FPROT_UREAD
                                            | APR_FPROT_UWRITE), APR_SUCCESS);
    ck_assert_int_eq(acme_file_write_atomic_ex(pool, at("k"), "second", 6, APR_FPROT_UREAD
                                               | APR_FPROT_UWRITE, ACME_FILE_NOSYNC), APR_SUCCESS);
    umask(old);
    ck_assert_int_eq(stat(at("k"), &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0600);
    ck_assert_int_eq(acme_file_read(pool, at("k"), 64, &data, &len), APR_SUCCESS);
    ck_assert_str_eq(data, "second");
    ck_assert_int_eq(entries(tmpdir), 1);
    ck_assert_int_ne(acme_file_write_atomic(pool, at("missing/k"), "x", 1, 0644), APR_SUCCESS);
    ck_assert_int_eq(entries(tmpdir), 1);
}
END_TEST

/* Below a directory descriptor: a link at the name is replaced, never followed. */
START_TEST(write_at_replaces_links)
{
    int dfd;
    struct stat sb;
    char *data = NULL;
    apr_size_t len = 0;
    mode_t old;

    put("outside", "keep");
    ck_assert_int_eq(mkdir(at("d"), 0755), 0);
    ck_assert_int_eq(symlink(at("outside"), at("d/name")), 0);
    ck_assert_int_ge(dfd = open(at("d"), O_RDONLY | O_DIRECTORY), 0);
    ck_assert_int_eq(acme_file_write_at(pool, dfd, "name", "new", 3, 0640, 0, (uid_t)-1,
                                        (gid_t)-1), APR_SUCCESS);
    ck_assert_int_eq(lstat(at("d/name"), &sb), 0);
    ck_assert(S_ISREG(sb.st_mode));
    ck_assert_int_eq(sb.st_mode & 0777, 0640);
    ck_assert_int_eq(acme_file_read(pool, at("outside"), 64, &data, &len), APR_SUCCESS);
    ck_assert_str_eq(data, "keep");
    old = umask(027);
    ck_assert_int_eq(acme_file_write_at(pool, dfd, "u", "x", 1, ACME_FILE_MODE_UMASK, 0,
                                        (uid_t)-1, (gid_t)-1), APR_SUCCESS);
    umask(old);
    ck_assert_int_eq(stat(at("d/u"), &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0640);
    ck_assert_int_eq(entries(at("d")), 2);
    close(dfd);
}
END_TEST

/* Only a regular file with one link is read; a FIFO neither blocks nor is read. */
START_TEST(read_at_takes_only_plain_files)
{
    int dfd;
    char *data = NULL;
    apr_size_t len = 0;

    ck_assert_int_eq(mkdir(at("d"), 0755), 0);
    put("d/plain", "bytes");
    put("outside", "secret");
    ck_assert_int_eq(symlink(at("outside"), at("d/link")), 0);
    ck_assert_int_eq(link(at("outside"), at("d/hard")), 0);
    ck_assert_int_eq(mkfifo(at("d/fifo"), 0644), 0);
    ck_assert_int_eq(mkdir(at("d/sub"), 0755), 0);
    ck_assert_int_ge(dfd = open(at("d"), O_RDONLY | O_DIRECTORY), 0);
    ck_assert_int_eq(acme_file_read_at(pool, dfd, "plain", 64, &data, &len), APR_SUCCESS);
    ck_assert_str_eq(data, "bytes");
    ck_assert_int_eq(acme_file_read_at(pool, dfd, "plain", 4, &data, &len), APR_ENOSPC);
    ck_assert_int_eq(acme_file_read_at(pool, dfd, "link", 64, &data, &len), APR_EINVAL);
    ck_assert_int_eq(acme_file_read_at(pool, dfd, "hard", 64, &data, &len), APR_EINVAL);
    ck_assert_int_eq(acme_file_read_at(pool, dfd, "fifo", 64, &data, &len), APR_EINVAL);
    ck_assert_int_eq(acme_file_read_at(pool, dfd, "sub", 64, &data, &len), APR_EINVAL);
    close(dfd);
}
END_TEST

/* Removal through descriptors: links go, their targets stay; too deep stays. */
START_TEST(remove_at_bounded)
{
    int dfd;
    struct stat sb;

    put("outside", "keep");
    ck_assert_int_eq(mkdir(at("d"), 0755), 0);
    ck_assert_int_eq(mkdir(at("d/t"), 0755), 0);
    ck_assert_int_eq(mkdir(at("d/t/a"), 0755), 0);
    put("d/t/a/f", "x");
    ck_assert_int_eq(symlink(tmpdir, at("d/t/a/up")), 0);
    ck_assert_int_ge(dfd = open(at("d"), O_RDONLY | O_DIRECTORY), 0);
    ck_assert_int_eq(acme_file_remove_at(dfd, "t", 1), APR_EINVAL);
    ck_assert_int_eq(stat(at("d/t/a/f"), &sb), 0);
    ck_assert_int_eq(acme_file_remove_at(dfd, "t", 2), APR_SUCCESS);
    ck_assert_int_ne(lstat(at("d/t"), &sb), 0);
    ck_assert_int_eq(stat(at("outside"), &sb), 0);
    ck_assert_int_eq(acme_file_remove_at(dfd, "t", 2), APR_SUCCESS);     /* absent */
    close(dfd);
}
END_TEST

/* A directory another user could change, anywhere on the way, is found. */
START_TEST(writable_on_path)
{
    const uid_t other = 65534;
    const char *why = NULL, *found;

    ck_assert_int_eq(mkdir(at("a"), 0755), 0);
    ck_assert_int_eq(mkdir(at("a/b"), 0755), 0);
    ck_assert_ptr_null(acme_file_writable_on_path(pool, at("a/b"), other, other, &why));
    ck_assert_int_eq(chmod(at("a"), 01777), 0);           /* sticky: others cannot rename b */
    ck_assert_ptr_null(acme_file_writable_on_path(pool, at("a/b"), other, other, &why));
    ck_assert_int_eq(chmod(at("a"), 0777), 0);
    found = acme_file_writable_on_path(pool, at("a/b"), other, other, &why);
    ck_assert_ptr_nonnull(found);
    ck_assert_str_eq(found, at("a"));
    ck_assert_ptr_nonnull(why);
    ck_assert_int_eq(chmod(at("a"), 0755), 0);
    ck_assert_int_eq(mkdir(at("c"), 0755), 0);
    ck_assert_int_eq(symlink(at("a/b"), at("c/via")), 0);
    ck_assert_int_eq(chmod(at("a/b"), 0775), 0);          /* group-writable, checked as resolved */
    if (geteuid() == 0) {
        ck_assert_int_eq(chown(at("a/b"), 0, other), 0);
        ck_assert_ptr_nonnull(acme_file_writable_on_path(pool, at("c/via"), other, other, &why));
        ck_assert_int_eq(chown(at("a/b"), other, 0), 0);
        ck_assert_int_eq(chmod(at("a/b"), 0755), 0);
        ck_assert_str_eq(acme_file_writable_on_path(pool, at("a/b"), other, 1, &why), at("a/b"));
    }
}
END_TEST

START_TEST(temp_names)
{
    const char *a = NULL, *b = NULL;

    ck_assert_int_eq(acme_file_temp_name(pool, ".tmp-", &a), APR_SUCCESS);
    ck_assert_int_eq(acme_file_temp_name(pool, ".tmp-", &b), APR_SUCCESS);
    ck_assert_uint_eq(strlen(a), 5 + 12);
    ck_assert(!strncmp(a, ".tmp-", 5));
    ck_assert_uint_eq(strspn(a + 5, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                    "0123456789-_"), 12);
    ck_assert_str_ne(a, b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("file");
    TCase *tc = tu_tcase(s, "file", 0, setup, teardown);

    tcase_add_test(tc, read_limit_and_secret);
    tcase_add_test(tc, atomic_write);
    tcase_add_test(tc, write_at_replaces_links);
    tcase_add_test(tc, read_at_takes_only_plain_files);
    tcase_add_test(tc, remove_at_bounded);
    tcase_add_test(tc, writable_on_path);
    tcase_add_test(tc, temp_names);
    return tu_run(s);
}
