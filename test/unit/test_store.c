/* test_store.c: unit tests for the store helpers and the file backend (modes, atomicity, names, whole-entry replacement, sweeps, planted links and special files, locks, ownership). */
#include <dirent.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utime.h>

#include <apr_strings.h>

#include "acme_store.h"
#include "testutil.h"

static acme_store_t *st;

static void setup(void)
{
    tu_setup();
    tu_scratch_create("acme-test-store");
    ck_assert_int_eq(acme_store_file_open(pool, apr_pstrcat(pool, tmpdir, "/store", NULL), 0, &st),
                     APR_SUCCESS);
}

static void teardown(void)
{
    tu_scratch_remove();
    tu_teardown();
}

static const char *spath(const char *rel)
{
    return apr_pstrcat(pool, tmpdir, "/store/", rel, NULL);
}

static int mode_of(const char *rel)
{
    return tu_file_mode(spath(rel));
}

static int exists(const char *rel)
{
    struct stat sb;

    return lstat(spath(rel), &sb) == 0;
}

/* Number of directory entries (hidden ones too) other than . and .. */
static int count_files(const char *rel)
{
    DIR *d = opendir(spath(rel));
    struct dirent *e;
    int n = 0;

    if (d == NULL) {
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    }
    closedir(d);
    return n;
}

static void put(acme_store_group_e g, const char *entry, const char *item, const char *data)
{
    ck_assert_int_eq(st->save(st, pool, g, entry, item, data, strlen(data), 0, NULL), APR_SUCCESS);
}

static const char *get(acme_store_group_e g, const char *entry, const char *item)
{
    char *data;
    apr_size_t len;
    apr_status_t rv = st->load(st, pool, g, entry, item, &data, &len);

    if (rv != APR_SUCCESS) {
        return NULL;
    }
    ck_assert_int_eq(len, strlen(data));
    return data;
}

/* One set of items for replace: name, data pairs; names starting "privkey" private. */
static apr_array_header_t *items_of(const char *const *pairs)
{
    apr_array_header_t *a = apr_array_make(pool, 4, sizeof(acme_store_item_t));

    for (; pairs[0]; pairs += 2) {
        acme_store_item_t *it = apr_array_push(a);

        it->name = pairs[0];
        it->data = pairs[1];
        it->len = strlen(pairs[1]);
        it->flags = strncmp(pairs[0], "privkey", 7) == 0 ? ACME_STORE_PRIVATE : 0;
    }
    return a;
}

static apr_status_t replace(const char *entry, acme_store_group_e archive, const char *const *pairs)
{
    return st->replace(st, pool, ACME_SG_DOMAINS, entry, items_of(pairs), archive, NULL);
}

START_TEST(group_and_item_names)
{
    ck_assert_str_eq(acme_store_group_name(ACME_SG_DOMAINS), "domains");
    ck_assert_str_eq(acme_store_group_name(ACME_SG_STAGING), "staging");
    ck_assert_str_eq(acme_store_group_name(ACME_SG_ARCHIVE), "archive");
    ck_assert_str_eq(acme_store_group_name(ACME_SG_ACCOUNTS), "accounts");
    ck_assert_str_eq(acme_store_group_name(ACME_SG_CHALLENGES), "challenges");
    ck_assert_str_eq(acme_store_group_name(ACME_SG_STATE), "state");
    ck_assert_str_eq(acme_store_group_name(ACME_SG_FALLBACK), "fallback");
    ck_assert_ptr_null(acme_store_group_name(ACME_SG_COUNT));
    ck_assert(acme_store_root_group(ACME_SG_DOMAINS) && acme_store_root_group(ACME_SG_ARCHIVE)
              && acme_store_root_group(ACME_SG_FALLBACK));
    ck_assert(!acme_store_root_group(ACME_SG_STAGING) && !acme_store_root_group(ACME_SG_STATE)
              && !acme_store_root_group(ACME_SG_ACCOUNTS)
              && !acme_store_root_group(ACME_SG_CHALLENGES));
    ck_assert_str_eq(acme_store_chain_item(pool, "ec256"), "fullchain.ec256.pem");
    ck_assert_str_eq(acme_store_pkey_item(pool, "rsa2048"), "privkey.rsa2048.pem");
    ck_assert_str_eq(acme_store_chain_item(pool, NULL), "fullchain.pem");
    ck_assert_str_eq(acme_store_pkey_item(pool, NULL), "privkey.pem");
    ck_assert_str_eq(st->kind, "file");
}
END_TEST

START_TEST(save_load_remove)
{
    apr_array_header_t *names;

    ck_assert_ptr_null(get(ACME_SG_STATE, "example.org", "status.json"));
    ck_assert_int_eq(st->load(st, pool, ACME_SG_STATE, "example.org", "x", &(char *){0},
                              &(apr_size_t){0}), APR_ENOENT);
    put(ACME_SG_STATE, "example.org", "status.json", "{}");
    ck_assert_str_eq(get(ACME_SG_STATE, "example.org", "status.json"), "{}");
    put(ACME_SG_STATE, "example.org", "status.json", "{\"a\":1}");
    ck_assert_str_eq(get(ACME_SG_STATE, "example.org", "status.json"), "{\"a\":1}");
    ck_assert_int_eq(st->save(st, pool, ACME_SG_STATE, "example.org", "empty", "", 0, 0, NULL),
                     APR_SUCCESS);
    ck_assert_str_eq(get(ACME_SG_STATE, "example.org", "empty"), "");
    put(ACME_SG_STATE, "b.example.org", "order.json", "{}");
    put(ACME_SG_STATE, "a.example.org", "order.json", "{}");

    ck_assert_int_eq(st->list(st, pool, ACME_SG_STATE, NULL, &names), APR_SUCCESS);
    ck_assert_int_eq(names->nelts, 3);
    ck_assert_str_eq(APR_ARRAY_IDX(names, 0, const char *), "a.example.org");
    ck_assert_str_eq(APR_ARRAY_IDX(names, 1, const char *), "b.example.org");
    ck_assert_str_eq(APR_ARRAY_IDX(names, 2, const char *), "example.org");
    ck_assert_int_eq(st->list(st, pool, ACME_SG_STATE, "example.org", &names), APR_SUCCESS);
    ck_assert_int_eq(names->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(names, 0, const char *), "empty");
    ck_assert_str_eq(APR_ARRAY_IDX(names, 1, const char *), "status.json");
    ck_assert_int_eq(st->list(st, pool, ACME_SG_STATE, "nothing.org", &names), APR_SUCCESS);
    ck_assert_int_eq(names->nelts, 0);
    ck_assert_int_eq(st->list(st, pool, ACME_SG_ARCHIVE, NULL, &names), APR_SUCCESS);
    ck_assert_int_eq(names->nelts, 0);

    ck_assert(acme_store_has_entry(st, pool, ACME_SG_STATE, "example.org"));
    ck_assert(!acme_store_has_entry(st, pool, ACME_SG_STATE, "nope.org"));
    ck_assert(!acme_store_has_entry(st, pool, ACME_SG_DOMAINS, "example.org"));

    ck_assert_int_eq(st->remove(st, pool, ACME_SG_STATE, "example.org", "empty", NULL), APR_SUCCESS);
    ck_assert_ptr_null(get(ACME_SG_STATE, "example.org", "empty"));
    ck_assert_int_eq(st->remove(st, pool, ACME_SG_STATE, "example.org", "empty", NULL), APR_SUCCESS);
    ck_assert_int_eq(st->remove(st, pool, ACME_SG_STATE, "example.org", NULL, NULL), APR_SUCCESS);
    ck_assert(!exists("state/example.org"));
    ck_assert_int_eq(count_files("state"), 2);      /* no hidden leftovers */
    ck_assert_int_eq(st->remove(st, pool, ACME_SG_STATE, "example.org", NULL, NULL), APR_SUCCESS);
    ck_assert_int_eq(st->remove(st, pool, ACME_SG_STATE, "gone.org", "x", NULL), APR_SUCCESS);
}
END_TEST

START_TEST(modes)
{
    mode_t old = umask(077);        /* modes must not depend on the umask */

    ck_assert_int_eq(st->save(st, pool, ACME_SG_DOMAINS, "example.org", "privkey.pem", "K", 1, 1, NULL),
                     APR_SUCCESS);
    put(ACME_SG_DOMAINS, "example.org", "fullchain.pem", "C");
    put(ACME_SG_CHALLENGES, "example.org", "http-01.tok", "ka");
    umask(old);
    ck_assert_int_eq(mode_of("domains/example.org/privkey.pem"), 0600);
    ck_assert_int_eq(mode_of("domains/example.org/fullchain.pem"), 0644);
    ck_assert_int_eq(mode_of("challenges/example.org/http-01.tok"), 0644);
    /* active keys are private by their own mode; the groups are traversable */
    ck_assert_int_eq(mode_of("domains"), 0755);
    ck_assert_int_eq(mode_of("archive"), 0755);
    ck_assert_int_eq(mode_of("staging"), 0755);
    ck_assert_int_eq(mode_of("accounts"), 0755);
    ck_assert_int_eq(mode_of("challenges"), 0755);
    ck_assert_int_eq(mode_of("state"), 0755);
    ck_assert_int_eq(mode_of("domains/example.org"), 0755);
    ck_assert_int_eq(mode_of("challenges/example.org"), 0755);
    /* a private item stays private when rewritten */
    ck_assert_int_eq(st->save(st, pool, ACME_SG_DOMAINS, "example.org", "privkey.pem", "KK", 2, 1, NULL),
                     APR_SUCCESS);
    ck_assert_int_eq(mode_of("domains/example.org/privkey.pem"), 0600);
    ck_assert_str_eq(st->where(st, pool, ACME_SG_DOMAINS, "example.org", "privkey.pem"),
                     spath("domains/example.org/privkey.pem"));
}
END_TEST

START_TEST(atomic_no_temp_left)
{
    char big[100000];

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    for (int i = 0; i < 20; i++) {
        put(ACME_SG_STATE, "example.org", "status.json", (i % 2) ? "{}" : big);
    }
    ck_assert_int_eq(count_files("state/example.org"), 1);
    ck_assert_str_eq(get(ACME_SG_STATE, "example.org", "status.json"), "{}");
}
END_TEST

START_TEST(crash_leftovers_swept)
{
    apr_array_header_t *names;
    const char *old = spath("state/example.org/status.json.tmp.AAAAAAAAAAAA");
    const char *fresh = spath("state/example.org/status.json.tmp.BBBBBBBBBBBB");
    struct utimbuf ut = { 1000000000, 1000000000 };
    const char *odd;
    FILE *f;
    acme_store_t *st2;

    put(ACME_SG_STATE, "example.org", "status.json", "{}");
    ck_assert_ptr_nonnull(f = fopen(old, "w"));
    fclose(f);
    ck_assert_int_eq(utime(old, &ut), 0);
    ck_assert_ptr_nonnull(f = fopen(fresh, "w"));
    fclose(f);
    /* an interrupted deletion and an interrupted replacement, old enough */
    ck_assert_int_eq(mkdir(spath("state/.del.x.1.2"), 0755), 0);
    ck_assert_int_eq(mkdir(spath("state/.del.x.1.2/sub"), 0755), 0);
    ck_assert_ptr_nonnull(f = fopen(spath("state/.del.x.1.2/sub/f"), "w"));
    fclose(f);
    ck_assert_int_eq(utime(spath("state/.del.x.1.2"), &ut), 0);
    ck_assert_int_eq(mkdir(spath("domains/.new.AAAAAAAAAAAA"), 0700), 0);
    ck_assert_int_eq(utime(spath("domains/.new.AAAAAAAAAAAA"), &ut), 0);
    /* list hides them and removes nothing (sweeping is the owner's) */
    ck_assert_int_eq(st->list(st, pool, ACME_SG_STATE, "example.org", &names), APR_SUCCESS);
    ck_assert_int_eq(names->nelts, 1);
    ck_assert_int_eq(st->list(st, pool, ACME_SG_STATE, NULL, &names), APR_SUCCESS);
    ck_assert_int_eq(names->nelts, 1);
    ck_assert(exists("state/example.org/status.json.tmp.AAAAAAAAAAAA"));
    /* sweep: the old ones go (their writers are long dead), the fresh one stays */
    ck_assert_int_eq(st->sweep(st, pool, ACME_SG_STATE, &odd), APR_SUCCESS);
    ck_assert(!exists("state/example.org/status.json.tmp.AAAAAAAAAAAA"));
    ck_assert(exists("state/example.org/status.json.tmp.BBBBBBBBBBBB"));
    ck_assert(!exists("state/.del.x.1.2"));
    ck_assert(exists("domains/.new.AAAAAAAAAAAA"));     /* another group */
    ck_assert_int_eq(st->sweep(st, pool, ACME_SG_DOMAINS, &odd), APR_SUCCESS);
    ck_assert(!exists("domains/.new.AAAAAAAAAAAA"));
    /* open sweeps every group too, unless told not to (httpd: each owner sweeps its own) */
    ck_assert_int_eq(utime(fresh, &ut), 0);
    ck_assert_int_eq(acme_store_file_open(pool, spath(""), ACME_STORE_OPEN_NOSWEEP, &st2),
                     APR_SUCCESS);
    ck_assert(exists("state/example.org/status.json.tmp.BBBBBBBBBBBB"));
    ck_assert_int_eq(acme_store_file_open(pool, spath(""), 0, &st2), APR_SUCCESS);
    ck_assert(!exists("state/example.org/status.json.tmp.BBBBBBBBBBBB"));
    ck_assert(exists("state/example.org/status.json"));
    /* temp-like names are not valid items */
    ck_assert_int_eq(st->save(st, pool, ACME_SG_STATE, "example.org", "x.tmp.AAAAAAAAAAAA", "1", 1, 0, NULL),
                     APR_EINVAL);
}
END_TEST

/* What the unprivileged user may leave in its groups never stops a sweep:
 * a tree too deep is reported (path and what was expected) and left, the
 * rest is removed; FIFOs and sockets are removed without being opened. */
START_TEST(odd_leftovers)
{
    struct utimbuf ut = { 1000000000, 1000000000 };
    char deep[256] = "state/.del.deep.1.2";
    const char *odd = NULL;
    int i;

    for (i = 0; i < 12; i++) {
        ck_assert_int_eq(mkdir(spath(deep), 0755), 0);
        strcat(deep, "/d");
    }
    ck_assert_int_eq(utime(spath("state/.del.deep.1.2"), &ut), 0);
    ck_assert_int_eq(mkdir(spath("state/.del.odd.1.2"), 0755), 0);
    ck_assert_int_eq(mkfifo(spath("state/.del.odd.1.2/fifo"), 0600), 0);
    ck_assert_int_eq(symlink("/etc/passwd", spath("state/.del.odd.1.2/link")), 0);
    ck_assert_int_eq(utime(spath("state/.del.odd.1.2"), &ut), 0);
    put(ACME_SG_STATE, "example.org", "status.json", "{}");
    ck_assert_int_eq(mkfifo(spath("state/example.org/x.tmp.AAAAAAAAAAAA"), 0600), 0);
    ck_assert_int_eq(utime(spath("state/example.org/x.tmp.AAAAAAAAAAAA"), &ut), 0);
    ck_assert_int_ne(st->sweep(st, pool, ACME_SG_STATE, &odd), APR_SUCCESS);
    ck_assert_ptr_nonnull(odd);
    ck_assert_ptr_nonnull(strstr(odd, "state/.del.deep.1.2"));
    ck_assert_ptr_nonnull(strstr(odd, "expected"));
    ck_assert(exists("state/.del.deep.1.2"));
    ck_assert(!exists("state/.del.odd.1.2"));
    ck_assert(!exists("state/example.org/x.tmp.AAAAAAAAAAAA"));
    ck_assert_int_eq(access("/etc/passwd", F_OK), 0);
    ck_assert_str_eq(get(ACME_SG_STATE, "example.org", "status.json"), "{}");
}
END_TEST

/* Regenerable material skips fsync but is still replaced atomically, with the
 * privacy asked for. */
START_TEST(regenerable_save)
{
    struct stat sb;

    ck_assert_int_eq(st->save(st, pool, ACME_SG_STATE, "example.org", "fallback.pem", "one", 3,
                              ACME_STORE_REGENERABLE, NULL), APR_SUCCESS);
    ck_assert_str_eq(get(ACME_SG_STATE, "example.org", "fallback.pem"), "one");
    ck_assert_int_eq(stat(spath("state/example.org/fallback.pem"), &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0644);
    ck_assert_int_eq(st->save(st, pool, ACME_SG_STATE, "example.org", "fallback.pem", "two", 3,
                              ACME_STORE_REGENERABLE | ACME_STORE_PRIVATE, NULL), APR_SUCCESS);
    ck_assert_str_eq(get(ACME_SG_STATE, "example.org", "fallback.pem"), "two");
    ck_assert_int_eq(stat(spath("state/example.org/fallback.pem"), &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0600);
    ck_assert_int_eq(count_files("state/example.org"), 1);
}
END_TEST

START_TEST(hostile_names)
{
    static const char *const bad[] = {
        "", ".", "..", "../x", "a/b", "/abs", ".hidden", "a..b", "a\nb", "a\x01", "a\\b", "a\x7f",
    };
    apr_array_header_t *names;
    acme_store_file_t f;
    char *data;
    apr_size_t len;
    acme_store_lock_t *lk;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *b = bad[i];

        ck_assert_int_eq(st->save(st, pool, ACME_SG_STATE, b, "item", "x", 1, 0, NULL), APR_EINVAL);
        ck_assert_int_eq(st->save(st, pool, ACME_SG_STATE, "ok.org", b, "x", 1, 0, NULL), APR_EINVAL);
        ck_assert_int_eq(st->load(st, pool, ACME_SG_STATE, b, "item", &data, &len), APR_EINVAL);
        ck_assert_int_eq(st->load(st, pool, ACME_SG_STATE, "ok.org", b, &data, &len), APR_EINVAL);
        ck_assert_int_eq(st->remove(st, pool, ACME_SG_STATE, b, NULL, NULL), APR_EINVAL);
        ck_assert_int_eq(st->remove(st, pool, ACME_SG_STATE, "ok.org", b, NULL), APR_EINVAL);
        ck_assert_int_eq(st->list(st, pool, ACME_SG_STATE, b, &names), APR_EINVAL);
        ck_assert_int_eq(replace(b, ACME_SG_ARCHIVE, (const char *const[]){ "a", "x", NULL }),
                         APR_EINVAL);
        ck_assert_int_eq(replace("ok.org", ACME_SG_ARCHIVE, (const char *const[]){ b, "x", NULL }),
                         APR_EINVAL);
        ck_assert_int_eq(st->lock(st, pool, ACME_SG_STATE, b, 0, &lk), APR_EINVAL);
        ck_assert_int_eq(st->file(st, pool, ACME_SG_DOMAINS, b, "item", &f), APR_EINVAL);
        ck_assert_int_eq(st->file(st, pool, ACME_SG_DOMAINS, "ok.org", b, &f), APR_EINVAL);
    }
    ck_assert_int_eq(st->save(st, pool, ACME_SG_COUNT, "ok.org", "item", "x", 1, 0, NULL), APR_EINVAL);
    ck_assert_int_eq(count_files("state"), 0);
    ck_assert_int_eq(count_files(".."), 1);         /* nothing escaped next to the store */
}
END_TEST

START_TEST(wildcard_and_ip_entries)
{
    put(ACME_SG_DOMAINS, "*.example.org", "fullchain.pem", "C");
    ck_assert(exists("domains/_.example.org/fullchain.pem"));
    ck_assert_str_eq(get(ACME_SG_DOMAINS, "_.example.org", "fullchain.pem"), "C");
    ck_assert_str_eq(get(ACME_SG_DOMAINS, "*.example.org", "fullchain.pem"), "C");
    put(ACME_SG_DOMAINS, "2001:db8::1", "fullchain.pem", "C6");
    ck_assert(exists("domains/2001:db8::1/fullchain.pem"));
}
END_TEST

/* Entries are named as configured; how the backend spells them is its own. */
START_TEST(entry_names)
{
    static const char *const bad[] = {
        "", ".", "..", "../etc", "a/b", "/etc/passwd", "a/../b", "a..b", ".hidden",
        "a\\b", "a\nb", "a\tb", "a\x7f", "x\x01y",
    };
    apr_array_header_t *names;
    char longname[300];

    ck_assert_str_eq(acme_store_entry(pool, "example.org"), "example.org");
    ck_assert_str_eq(acme_store_entry(pool, "WWW.Example.Org"), "www.example.org");
    ck_assert_str_eq(acme_store_entry(pool, "*.EXAMPLE.org"), "*.example.org");
    ck_assert_str_eq(acme_store_entry(pool, "_.example.org"), "*.example.org");
    ck_assert_str_eq(acme_store_entry(pool, "_marks"), "_marks");
    ck_assert_str_eq(acme_store_entry(pool, "2001:DB8::1"), "2001:db8::1");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(acme_store_entry(pool, bad[i]) == NULL, "accepted '%s'", bad[i]);
    }
    ck_assert_ptr_null(acme_store_entry(pool, NULL));
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    ck_assert_ptr_null(acme_store_entry(pool, longname));

    /* listed as named, whatever the directory is called */
    put(ACME_SG_STATE, "*.example.org", "status.json", "{}");
    ck_assert(exists("state/_.example.org/status.json"));
    ck_assert_int_eq(st->list(st, pool, ACME_SG_STATE, NULL, &names), APR_SUCCESS);
    ck_assert_int_eq(names->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(names, 0, const char *), "*.example.org");
    ck_assert(acme_store_has_entry(st, pool, ACME_SG_STATE, "*.example.org"));
    ck_assert_str_eq(st->where(st, pool, ACME_SG_STATE, "*.example.org", "status.json"),
                     spath("state/_.example.org/status.json"));
}
END_TEST

/* The files mod_ssl loads: only root's own, with a version that follows the content. */
START_TEST(local_files)
{
    acme_store_file_t f;
    const char *v1;

    ck_assert_int_eq(st->file(st, pool, ACME_SG_DOMAINS, "example.org", "fullchain.pem", &f),
                     APR_ENOENT);
    put(ACME_SG_DOMAINS, "example.org", "fullchain.pem", "C");
    ck_assert_int_eq(st->file(st, pool, ACME_SG_DOMAINS, "example.org", "fullchain.pem", &f),
                     APR_SUCCESS);
    ck_assert_str_eq(f.path, spath("domains/example.org/fullchain.pem"));
    ck_assert_ptr_nonnull(f.version);
    v1 = f.version;
    put(ACME_SG_DOMAINS, "example.org", "fullchain.pem", "CC");
    ck_assert_int_eq(st->file(st, pool, ACME_SG_DOMAINS, "example.org", "fullchain.pem", &f),
                     APR_SUCCESS);
    ck_assert_str_ne(f.version, v1);
    ck_assert_int_eq(st->file(st, pool, ACME_SG_DOMAINS, "example.org", "nope.pem", &f),
                     APR_ENOENT);
    /* the drive's groups are never handed to mod_ssl */
    put(ACME_SG_STAGING, "example.org", "fullchain.pem", "C");
    ck_assert_int_eq(st->file(st, pool, ACME_SG_STAGING, "example.org", "fullchain.pem", &f),
                     APR_ENOTIMPL);
    /* a directory others can write, a hard link: refused, and said why */
    ck_assert_int_eq(chmod(spath("domains/example.org"), 0775), 0);
    ck_assert_int_eq(st->file(st, pool, ACME_SG_DOMAINS, "example.org", "fullchain.pem", &f),
                     APR_EINVAL);
    ck_assert_str_eq(f.path, spath("domains/example.org"));
    ck_assert_ptr_nonnull(f.expected);
    ck_assert_int_eq(chmod(spath("domains/example.org"), 0755), 0);
    ck_assert_int_eq(link(spath("domains/example.org/fullchain.pem"),
                          spath("domains/example.org/second")), 0);
    ck_assert_int_eq(st->file(st, pool, ACME_SG_DOMAINS, "example.org", "fullchain.pem", &f),
                     APR_EINVAL);
    ck_assert_ptr_nonnull(f.expected);
}
END_TEST

/* A write fenced by a lock no longer held is refused and changes nothing. */
START_TEST(fenced_writes)
{
    acme_store_lock_t *lk;

    ck_assert_int_eq(st->lock(st, pool, ACME_SG_STATE, "example.org", 0, &lk), APR_SUCCESS);
    ck_assert_int_eq(st->hold(lk, apr_time_from_sec(60)), APR_SUCCESS);
    ck_assert_int_eq(st->save(st, pool, ACME_SG_STATE, "example.org", "order.json", "1", 1, 0, lk),
                     APR_SUCCESS);
    ck_assert_int_eq(st->unlock(lk), APR_SUCCESS);
    ck_assert_int_eq(st->hold(lk, 0), ACME_STORE_ELOST);
    ck_assert_int_eq(st->save(st, pool, ACME_SG_STATE, "example.org", "order.json", "2", 1, 0, lk),
                     ACME_STORE_ELOST);
    ck_assert_int_eq(st->remove(st, pool, ACME_SG_STATE, "example.org", "order.json", lk),
                     ACME_STORE_ELOST);
    ck_assert_str_eq(get(ACME_SG_STATE, "example.org", "order.json"), "1");
}
END_TEST

/* acme_store_open: the file backend; an engine this build lacks (rediss://:
 * hiredis without TLS) is refused. */
START_TEST(open_by_spec)
{
    acme_store_spec_t spec = { spath(""), NULL, ACME_STORE_OPEN_NOSWEEP, NULL };
    acme_store_t *s2;
    const char *err;

    ck_assert_int_eq(acme_store_open(pool, &spec, &s2, &err), APR_SUCCESS);
    ck_assert_str_eq(s2->kind, "file");
    ck_assert_int_eq(s2->save(s2, pool, ACME_SG_PUBLISHED, "example.org", "x", "1", 1, 0, NULL),
                     APR_ENOTIMPL);
    spec.url = "rediss://127.0.0.1:1/";
    ck_assert_int_eq(acme_store_open(pool, &spec, &s2, &err), APR_ENOTIMPL);
    ck_assert_ptr_null(s2);
    ck_assert_ptr_nonnull(err);
}
END_TEST

START_TEST(json_helpers)
{
    json_t *j = json_pack("{s:s, s:i}", "state", "valid", "failures", 2), *back;

    ck_assert_int_eq(acme_store_save_json(st, pool, ACME_SG_STATE, "example.org", "status.json",
                                          j, 0, NULL), APR_SUCCESS);
    json_decref(j);
    ck_assert_int_eq(acme_store_load_json(st, pool, ACME_SG_STATE, "example.org", "status.json",
                                          &back), APR_SUCCESS);
    ck_assert_str_eq(json_string_value(json_object_get(back, "state")), "valid");
    ck_assert_int_eq(json_integer_value(json_object_get(back, "failures")), 2);
    ck_assert_int_eq(acme_store_load_json(st, pool, ACME_SG_STATE, "example.org", "none.json",
                                          &back), APR_ENOENT);
    put(ACME_SG_STATE, "example.org", "bad.json", "{\"a\":");
    ck_assert_int_eq(acme_store_load_json(st, pool, ACME_SG_STATE, "example.org", "bad.json",
                                          &back), APR_EINVAL);
}
END_TEST

START_TEST(replace_and_archive)
{
    apr_array_header_t *names;

    ck_assert_int_eq(replace("example.org", ACME_SG_ARCHIVE,
                             (const char *const[]){ "fullchain.pem", "one", "privkey.pem", "k1",
                                                    NULL }), APR_SUCCESS);
    ck_assert_str_eq(get(ACME_SG_DOMAINS, "example.org", "fullchain.pem"), "one");
    ck_assert_str_eq(get(ACME_SG_DOMAINS, "example.org", "privkey.pem"), "k1");
    ck_assert_int_eq(mode_of("domains/example.org/privkey.pem"), 0600);
    ck_assert_int_eq(mode_of("domains/example.org/fullchain.pem"), 0644);
    ck_assert_int_eq(mode_of("domains/example.org"), 0755);
    ck_assert_int_eq(st->list(st, pool, ACME_SG_ARCHIVE, NULL, &names), APR_SUCCESS);
    ck_assert_int_eq(names->nelts, 0);

    /* the next set has exactly its own items; the first goes to the archive */
    ck_assert_int_eq(replace("example.org", ACME_SG_ARCHIVE,
                             (const char *const[]){ "fullchain.pem", "two", NULL }), APR_SUCCESS);
    ck_assert_str_eq(get(ACME_SG_DOMAINS, "example.org", "fullchain.pem"), "two");
    ck_assert_ptr_null(get(ACME_SG_DOMAINS, "example.org", "privkey.pem"));
    ck_assert_int_eq(st->list(st, pool, ACME_SG_ARCHIVE, NULL, &names), APR_SUCCESS);
    ck_assert_int_eq(names->nelts, 1);
    ck_assert(strncmp(APR_ARRAY_IDX(names, 0, const char *), "example.org.", 12) == 0);
    ck_assert_int_eq(strlen(APR_ARRAY_IDX(names, 0, const char *)), 12 + 16);  /* YYYYmmddTHHMMSSZ */
    ck_assert_str_eq(get(ACME_SG_ARCHIVE, APR_ARRAY_IDX(names, 0, const char *), "fullchain.pem"),
                     "one");
    ck_assert_int_eq(mode_of(apr_pstrcat(pool, "archive/", APR_ARRAY_IDX(names, 0, const char *),
                                         "/privkey.pem", NULL)), 0600);

    /* third within the same second: a distinct archive name */
    ck_assert_int_eq(replace("example.org", ACME_SG_ARCHIVE,
                             (const char *const[]){ "fullchain.pem", "three", NULL }), APR_SUCCESS);
    ck_assert_int_eq(st->list(st, pool, ACME_SG_ARCHIVE, NULL, &names), APR_SUCCESS);
    ck_assert_int_eq(names->nelts, 2);

    /* no archive: the old set is dropped */
    ck_assert_int_eq(replace("example.org", ACME_SG_COUNT,
                             (const char *const[]){ "fullchain.pem", "four", NULL }), APR_SUCCESS);
    ck_assert_str_eq(get(ACME_SG_DOMAINS, "example.org", "fullchain.pem"), "four");
    ck_assert_int_eq(st->list(st, pool, ACME_SG_ARCHIVE, NULL, &names), APR_SUCCESS);
    ck_assert_int_eq(names->nelts, 2);
    ck_assert_int_eq(count_files("domains"), 1);    /* no hidden leftovers */

    /* a link where the entry belongs is replaced, never followed or archived */
    ck_assert_int_eq(mkdir(spath("../outside"), 0755), 0);
    ck_assert_int_eq(symlink(spath("../outside"), spath("domains/link.org")), 0);
    ck_assert_int_eq(replace("link.org", ACME_SG_ARCHIVE,
                             (const char *const[]){ "fullchain.pem", "L", NULL }), APR_SUCCESS);
    ck_assert_int_eq(count_files("../outside"), 0);
    ck_assert_str_eq(get(ACME_SG_DOMAINS, "link.org", "fullchain.pem"), "L");
    ck_assert_int_eq(st->list(st, pool, ACME_SG_ARCHIVE, NULL, &names), APR_SUCCESS);
    ck_assert_int_eq(names->nelts, 2);
    /* nothing to write is not a set */
    ck_assert_int_eq(replace("example.org", ACME_SG_ARCHIVE, (const char *const[]){ NULL }),
                     APR_EINVAL);
}
END_TEST

START_TEST(planted_symlinks)
{
    char *data;
    apr_size_t len;
    acme_store_lock_t *lk;
    const char *outside = apr_pstrcat(pool, tmpdir, "/outside", NULL);
    FILE *f;

    ck_assert_int_eq(mkdir(outside, 0755), 0);
    ck_assert_ptr_nonnull(f = fopen(apr_pstrcat(pool, outside, "/secret", NULL), "w"));
    fputs("SECRET", f);
    fclose(f);

    /* a symlinked item is not read */
    put(ACME_SG_STAGING, "example.org", "fullchain.pem", "C");
    ck_assert_int_eq(symlink(apr_pstrcat(pool, outside, "/secret", NULL),
                             spath("staging/example.org/privkey.pem")), 0);
    ck_assert_int_ne(st->load(st, pool, ACME_SG_STAGING, "example.org", "privkey.pem", &data, &len),
                     APR_SUCCESS);
    /* a symlinked entry is neither read nor written through */
    ck_assert_int_eq(symlink(outside, spath("staging/evil.org")), 0);
    ck_assert_int_ne(st->load(st, pool, ACME_SG_STAGING, "evil.org", "secret", &data, &len),
                     APR_SUCCESS);
    ck_assert_int_eq(st->save(st, pool, ACME_SG_STAGING, "evil.org", "dropped", "x", 1, 0, NULL),
                     APR_EINVAL);
    ck_assert_int_ne(access(apr_pstrcat(pool, outside, "/dropped", NULL), F_OK), 0);
    /* a lock file planted as a dangling link creates nothing */
    ck_assert_int_eq(mkdir(spath("state/lock.org"), 0755), 0);
    ck_assert_int_eq(symlink(apr_pstrcat(pool, outside, "/created", NULL),
                             spath("state/lock.org/.lock")), 0);
    ck_assert_int_ne(st->lock(st, pool, ACME_SG_STATE, "lock.org", 0, &lk), APR_SUCCESS);
    ck_assert_int_ne(access(apr_pstrcat(pool, outside, "/created", NULL), F_OK), 0);
    /* only a regular file with one link is read: a hard link could be anybody's
     * file, a FIFO must not block, a socket cannot be opened */
    ck_assert_int_eq(link(apr_pstrcat(pool, outside, "/secret", NULL),
                          spath("staging/example.org/fullchain.ec384.pem")), 0);
    ck_assert_int_eq(st->load(st, pool, ACME_SG_STAGING, "example.org", "fullchain.ec384.pem",
                              &data, &len), APR_EINVAL);
    ck_assert_int_eq(mkfifo(spath("staging/example.org/fifo.pem"), 0644), 0);
    ck_assert_int_eq(st->load(st, pool, ACME_SG_STAGING, "example.org", "fifo.pem", &data, &len),
                     APR_EINVAL);
    {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);

        ck_assert_int_ge(fd, 0);
        apr_cpystrn(sa.sun_path, spath("staging/example.org/sock.pem"), sizeof(sa.sun_path));
        ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        ck_assert_int_eq(st->load(st, pool, ACME_SG_STAGING, "example.org", "sock.pem", &data,
                                  &len), APR_EINVAL);
        close(fd);
    }
    ck_assert_str_eq(get(ACME_SG_STAGING, "example.org", "fullchain.pem"), "C");
    /* a directory where an item belongs is not read either */
    ck_assert_int_eq(mkdir(spath("staging/example.org/sub"), 0755), 0);
    ck_assert_int_ne(st->load(st, pool, ACME_SG_STAGING, "example.org", "sub", &data, &len),
                     APR_SUCCESS);
    ck_assert_int_eq(mode_of("../outside/secret"), 0644);
}
END_TEST

/* Child: try the lock once, exit 0 when got, 1 when busy, 2 otherwise. */
static int child_try_lock(const char *dir, apr_interval_time_t wait)
{
    pid_t pid = fork();
    int status;

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        apr_pool_t *cp;
        acme_store_t *cs;
        acme_store_lock_t *lk;
        apr_status_t rv;

        apr_pool_create(&cp, NULL);
        if (acme_store_file_open(cp, dir, 0, &cs) != APR_SUCCESS) {
            _exit(2);
        }
        rv = cs->lock(cs, cp, ACME_SG_STATE, "example.org", wait, &lk);
        _exit(rv == APR_SUCCESS ? 0 : APR_STATUS_IS_TIMEUP(rv) ? 1 : 2);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    return WEXITSTATUS(status);
}

START_TEST(lock_exclusion)
{
    acme_store_lock_t *lk, *lk2;
    apr_pool_t *sub;

    ck_assert_int_eq(st->lock(st, pool, ACME_SG_STATE, "example.org", 0, &lk), APR_SUCCESS);
    ck_assert_int_eq(child_try_lock(spath(""), 0), 1);
    ck_assert_int_eq(child_try_lock(spath(""), apr_time_from_msec(200)), 1);
    /* another thread of this process (its own open) is excluded too */
    ck_assert_int_eq(st->lock(st, pool, ACME_SG_STATE, "example.org", 0, &lk2), APR_TIMEUP);
    /* other entries are independent */
    ck_assert_int_eq(st->lock(st, pool, ACME_SG_STATE, "other.org", 0, &lk2), APR_SUCCESS);
    ck_assert_int_eq(st->unlock(lk), APR_SUCCESS);
    ck_assert_int_eq(child_try_lock(spath(""), 0), 0);
    ck_assert_int_eq(st->unlock(lk2), APR_SUCCESS);

    /* released by pool cleanup */
    apr_pool_create(&sub, pool);
    ck_assert_int_eq(st->lock(st, sub, ACME_SG_STATE, "example.org", 0, &lk), APR_SUCCESS);
    ck_assert_int_eq(child_try_lock(spath(""), 0), 1);
    apr_pool_destroy(sub);
    ck_assert_int_eq(child_try_lock(spath(""), 0), 0);
    /* the lock file is hidden from list */
    {
        apr_array_header_t *names;

        ck_assert_int_eq(st->list(st, pool, ACME_SG_STATE, "example.org", &names), APR_SUCCESS);
        ck_assert_int_eq(names->nelts, 0);
    }
}
END_TEST

START_TEST(lock_released_on_death)
{
    int fds[2];
    pid_t pid;
    char c;
    acme_store_lock_t *lk;
    int status;
    apr_time_t start;

    ck_assert_int_eq(pipe(fds), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        apr_pool_t *cp;
        acme_store_t *cs;

        close(fds[0]);
        apr_pool_create(&cp, NULL);
        if (acme_store_file_open(cp, spath(""), 0, &cs) != APR_SUCCESS
            || cs->lock(cs, cp, ACME_SG_STATE, "example.org", 0, &lk) != APR_SUCCESS) {
            _exit(2);
        }
        if (write(fds[1], "L", 1) != 1) {
            _exit(2);
        }
        for (;;) {
            pause();        /* killed below, never unlocks */
        }
    }
    close(fds[1]);
    ck_assert_int_eq(read(fds[0], &c, 1), 1);
    ck_assert_int_eq(st->lock(st, pool, ACME_SG_STATE, "example.org", 0, &lk), APR_TIMEUP);
    kill(pid, SIGKILL);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFSIGNALED(status));
    ck_assert_int_eq(st->lock(st, pool, ACME_SG_STATE, "example.org", 0, &lk), APR_SUCCESS);
    ck_assert_int_eq(st->unlock(lk), APR_SUCCESS);

    /* a waiter gets the lock as soon as a holder exits */
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        apr_pool_t *cp;
        acme_store_t *cs;

        apr_pool_create(&cp, NULL);
        if (acme_store_file_open(cp, spath(""), 0, &cs) != APR_SUCCESS
            || cs->lock(cs, cp, ACME_SG_STATE, "example.org", 0, &lk) != APR_SUCCESS) {
            _exit(2);
        }
        usleep(300000);
        _exit(0);
    }
    usleep(100000);
    start = apr_time_now();
    ck_assert_int_eq(st->lock(st, pool, ACME_SG_STATE, "example.org", apr_time_from_sec(5), &lk), APR_SUCCESS);
    ck_assert(apr_time_now() - start < apr_time_from_sec(2));
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

static int owner_of(const char *rel, uid_t *uid, gid_t *gid)
{
    struct stat sb;

    if (lstat(spath(rel), &sb) != 0) {
        return 0;
    }
    *uid = sb.st_uid;
    *gid = sb.st_gid;
    return 1;
}

/* In a child with uid/gid 65534: what the drive does after set_owner. Exit
 * status 0 when all of it behaves, else the number of the failed step. */
static int run_as_nobody(const char *archived)
{
    pid_t pid = fork();
    int status;

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        apr_pool_t *cp;
        acme_store_t *cs;
        acme_store_lock_t *lk;
        char *data;
        apr_size_t len;

        if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0) {
            _exit(1);
        }
        apr_pool_create(&cp, NULL);
        if (acme_store_file_open(cp, spath(""), 0, &cs) != APR_SUCCESS) {
            _exit(2);
        }
        if (cs->save(cs, cp, ACME_SG_STAGING, "example.org", "fullchain.pem", "x", 1, 0, NULL)
            || cs->save(cs, cp, ACME_SG_STAGING, "example.org", "privkey.pem", "k", 1, 1, NULL)
            || cs->save(cs, cp, ACME_SG_STATE, "nobody.org", "status.json", "{}", 2, 0, NULL)
            || cs->save(cs, cp, ACME_SG_CHALLENGES, "example.org", "http-01.t", "a", 1, 0, NULL)
            || cs->save(cs, cp, ACME_SG_ACCOUNTS, "ca", "account.pem", "k", 1, 1, NULL)) {
            _exit(3);
        }
        if (cs->lock(cs, cp, ACME_SG_STATE, "nobody.org", 0, &lk) != APR_SUCCESS) {
            _exit(4);
        }
        /* the active chains are public, the active keys are not */
        if (cs->load(cs, cp, ACME_SG_DOMAINS, "example.org", "fullchain.pem", &data, &len)
                != APR_SUCCESS || strcmp(data, "C") != 0) {
            _exit(5);
        }
        if (cs->load(cs, cp, ACME_SG_DOMAINS, "example.org", "privkey.pem", &data, &len)
                == APR_SUCCESS
            || cs->load(cs, cp, ACME_SG_DOMAINS, "new.org", "privkey.ec256.pem", &data, &len)
                == APR_SUCCESS
            || cs->load(cs, cp, ACME_SG_ARCHIVE, archived, "privkey.pem", &data, &len)
                == APR_SUCCESS) {
            _exit(6);
        }
        /* nothing there can be written, replaced or removed */
        if (cs->save(cs, cp, ACME_SG_DOMAINS, "example.org", "x", "x", 1, 0, NULL) == APR_SUCCESS
            || cs->save(cs, cp, ACME_SG_DOMAINS, "example.org", "fullchain.pem", "x", 1, 0, NULL)
                == APR_SUCCESS
            || cs->save(cs, cp, ACME_SG_DOMAINS, "evil.org", "fullchain.pem", "x", 1, 0, NULL)
                == APR_SUCCESS
            || cs->save(cs, cp, ACME_SG_ARCHIVE, archived, "x", "x", 1, 0, NULL) == APR_SUCCESS
            || cs->remove(cs, cp, ACME_SG_DOMAINS, "example.org", "privkey.pem", NULL) == APR_SUCCESS
            || cs->remove(cs, cp, ACME_SG_DOMAINS, "example.org", NULL, NULL) == APR_SUCCESS
            || cs->replace(cs, cp, ACME_SG_DOMAINS, "example.org", items_of((const char *const[]){
                               "fullchain.pem", "x", NULL }), ACME_SG_ARCHIVE, NULL) == APR_SUCCESS) {
            _exit(7);
        }
        _exit(0);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 99;
}

/* A root-owned file outside the store with known owner and mode. */
static const char *canary(const char *name)
{
    const char *path = apr_pstrcat(pool, tmpdir, "/", name, NULL);
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    fputs("CANARY", f);
    fclose(f);
    ck_assert_int_eq(chmod(path, 0600), 0);
    return path;
}

static void canary_intact(const char *path)
{
    struct stat sb;

    ck_assert_int_eq(lstat(path, &sb), 0);
    ck_assert(S_ISREG(sb.st_mode) && sb.st_uid == 0 && sb.st_gid == 0);
    ck_assert_int_eq(sb.st_mode & 07777, 0600);
}

START_TEST(set_owner)
{
    uid_t u;
    gid_t g;
    acme_store_lock_t *lk;
    const char *failed, *why, *c1, *c2, *c3;
    char deep[256] = "state/d1";

    if (geteuid() != 0) {
        return;     /* needs root to chown */
    }
    apr_array_header_t *names;
    const char *archived;

    put(ACME_SG_STATE, "example.org", "status.json", "{}");
    ck_assert_int_eq(replace("example.org", ACME_SG_ARCHIVE,
                             (const char *const[]){ "fullchain.pem", "C", "privkey.pem", "K",
                                                    NULL }), APR_SUCCESS);
    /* a store of an old layout: root-only 0700 groups */
    ck_assert_int_eq(chmod(spath("domains"), 0700), 0);
    ck_assert_int_eq(chmod(spath("archive"), 0700), 0);
    /* what the unprivileged user may have put into its groups: links and a
     * hard link to root's files, a deep tree; none of it is looked at */
    c1 = canary("canary1");
    c2 = canary("canary2");
    c3 = canary("canary3");
    ck_assert_int_eq(symlink(c1, spath("state/evil")), 0);
    ck_assert_int_eq(symlink(c2, spath("staging/example.org")), 0);
    ck_assert_int_eq(link(c3, spath("state/hardlink")), 0);
    for (int i = 0; i < 8; i++) {
        ck_assert_int_eq(mkdir(spath(deep), 0755), 0);
        strcat(deep, "/d");
    }
    ck_assert_int_eq(st->prepare(st, pool, 65534, 65534, &failed, &why), APR_SUCCESS);
    ck_assert(owner_of("state", &u, &g) && u == 65534 && g == 65534);
    ck_assert(owner_of("staging", &u, &g) && u == 65534);
    ck_assert(owner_of("accounts", &u, &g) && u == 65534);
    ck_assert(owner_of("challenges", &u, &g) && u == 65534);
    ck_assert(owner_of("domains", &u, &g) && u == 0);
    ck_assert(owner_of("fallback", &u, &g) && u == 0);
    ck_assert_int_eq(mode_of("domains"), 0755);
    ck_assert_int_eq(mode_of("archive"), 0755);
    ck_assert_int_eq(mode_of("state"), 0755);
    /* handed over for the first time: what root wrote there goes with it
     * (acmectl import as root before httpd's first start), links and hard
     * links never */
    ck_assert(owner_of("state/example.org/status.json", &u, &g) && u == 65534);
    ck_assert(owner_of("state/example.org", &u, &g) && u == 65534);
    ck_assert(owner_of("state/d1", &u, &g) && u == 65534);
    canary_intact(c1);
    canary_intact(c2);
    canary_intact(c3);
    /* once the groups are the user's, nothing inside is looked at again */
    ck_assert_int_eq(link(c1, spath("state/hardlink2")), 0);
    ck_assert_int_eq(symlink(c3, spath("accounts/evil")), 0);
    put(ACME_SG_STATE, "later.org", "x.json", "{}");
    ck_assert_int_eq(lchown(spath("state/later.org/x.json"), 0, 0), 0);
    ck_assert_int_eq(st->prepare(st, pool, 65534, 65534, &failed, &why), APR_SUCCESS);
    ck_assert(owner_of("state/later.org/x.json", &u, &g) && u == 0);
    canary_intact(c1);
    canary_intact(c3);
    /* a link where a group belongs is refused and named */
    ck_assert_int_eq(rename(spath("challenges"), spath("../challenges.real")), 0);
    ck_assert_int_eq(symlink(c1, spath("challenges")), 0);
    ck_assert_int_ne(st->prepare(st, pool, 65534, 65534, &failed, &why), APR_SUCCESS);
    ck_assert_str_eq(failed, spath("challenges"));
    canary_intact(c1);
    ck_assert_int_eq(unlink(spath("challenges")), 0);
    ck_assert_int_eq(rename(spath("../challenges.real"), spath("challenges")), 0);

    /* what root creates later in the drive's groups goes to the drive's user */
    ck_assert_int_eq(unlink(spath("staging/example.org")), 0);
    put(ACME_SG_STAGING, "new.org", "fullchain.pem", "C");
    ck_assert_int_eq(st->save(st, pool, ACME_SG_STAGING, "new.org", "privkey.ec256.pem", "K", 1, 1, NULL),
                     APR_SUCCESS);
    ck_assert(owner_of("staging/new.org", &u, &g) && u == 65534 && g == 65534);
    ck_assert(owner_of("staging/new.org/fullchain.pem", &u, &g) && u == 65534);
    ck_assert_int_eq(st->lock(st, pool, ACME_SG_STATE, "new.org", 0, &lk), APR_SUCCESS);
    ck_assert(owner_of("state/new.org/.lock", &u, &g) && u == 65534);
    /* what replaces an active set is root's */
    ck_assert_int_eq(replace("new.org", ACME_SG_ARCHIVE,
                             (const char *const[]){ "fullchain.pem", "C", "privkey.ec256.pem", "K",
                                                    NULL }), APR_SUCCESS);
    ck_assert(owner_of("domains/new.org", &u, &g) && u == 0);
    ck_assert(owner_of("domains/new.org/privkey.ec256.pem", &u, &g) && u == 0 && g == 0);
    ck_assert_int_eq(mode_of("domains/new.org"), 0755);
    ck_assert_int_eq(mode_of("domains/new.org/fullchain.pem"), 0644);
    ck_assert_int_eq(mode_of("domains/new.org/privkey.ec256.pem"), 0600);
    ck_assert_int_eq(replace("example.org", ACME_SG_ARCHIVE,
                             (const char *const[]){ "fullchain.pem", "C", "privkey.pem", "K",
                                                    NULL }), APR_SUCCESS);
    ck_assert_int_eq(st->list(st, pool, ACME_SG_ARCHIVE, NULL, &names), APR_SUCCESS);
    ck_assert_int_eq(names->nelts, 1);
    archived = APR_ARRAY_IDX(names, 0, const char *);
    /* -1 leaves the owner unchanged */
    ck_assert_int_eq(st->prepare(st, pool, -1, -1, &failed, &why), APR_SUCCESS);
    ck_assert(owner_of("state", &u, &g) && u == 65534);

    /* the unprivileged user works in its groups and cannot touch the active set */
    ck_assert_int_eq(chmod(tmpdir, 0755), 0);
    ck_assert_int_eq(run_as_nobody(archived), 0);
    ck_assert(owner_of("staging/example.org/fullchain.pem", &u, &g) && u == 65534);
    ck_assert_int_eq(mode_of("staging/example.org/privkey.pem"), 0600);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tu_tcase(s, "store", 30, setup, teardown);

    tcase_add_test(tc, group_and_item_names);
    tcase_add_test(tc, save_load_remove);
    tcase_add_test(tc, modes);
    tcase_add_test(tc, atomic_no_temp_left);
    tcase_add_test(tc, crash_leftovers_swept);
    tcase_add_test(tc, odd_leftovers);
    tcase_add_test(tc, regenerable_save);
    tcase_add_test(tc, hostile_names);
    tcase_add_test(tc, wildcard_and_ip_entries);
    tcase_add_test(tc, entry_names);
    tcase_add_test(tc, local_files);
    tcase_add_test(tc, fenced_writes);
    tcase_add_test(tc, open_by_spec);
    tcase_add_test(tc, json_helpers);
    tcase_add_test(tc, replace_and_archive);
    tcase_add_test(tc, planted_symlinks);
    tcase_add_test(tc, lock_exclusion);
    tcase_add_test(tc, lock_released_on_death);
    tcase_add_test(tc, set_owner);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
