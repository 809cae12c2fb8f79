/* acme_store_file.c: the file store backend: <dir>/<group>/<entry>/<item> through directory descriptors (never a path inside a group), atomic writes, flock-based entry locks, whole-entry replacement and the checked files mod_ssl loads; sweeping and ownership are in acme_store_file_owner.c, names and group directories in acme_store_file_path.c. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_strings.h>

#include "acme_file.h"
#include "acme_store.h"
#include "acme_store_file_int.h"

/* Store items are certificates, keys and small JSON documents. */
#define MAX_ITEM_SIZE (512 * 1024)
#define LOCK_ITEM ".lock"
#define LOCK_POLL apr_time_from_msec(50)

struct acme_store_lock_t {
    apr_pool_t *pool;
    int fd;                     /* -1 once released */
};

/* ---------- names ---------- */

static int item_name_ok(const char *s)
{
    return acme_sf_name_ok(s) && !acme_sf_is_temp_name(s);
}

/* A leading wildcard label is written as "_" on disk (README "Store layout
 * and ownership"): "*" has no place in a file name many tools handle. */
static const char *entry_dirname(apr_pool_t *p, const char *entry)
{
    if (!acme_sf_name_ok(entry)) {
        return NULL;
    }
    if (entry[0] == '*' && (entry[1] == '.' || entry[1] == '\0')) {
        return apr_pstrcat(p, "_", entry + 1, NULL);
    }
    return entry;
}

/* The entry a directory name stands for (entry_dirname backwards). */
static const char *dirname_entry(apr_pool_t *p, const char *name)
{
    return name[0] == '_' && name[1] == '.' ? apr_pstrcat(p, "*", name + 1, NULL) : name;
}

/* ---------- directories by descriptor ---------- */

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

/* Root creating something in a group owned by the unprivileged user hands it
 * to that user, so the drive can rewrite it later: the owner to give new
 * files and directories of that group, or -1. */
static void adopt_ids(int gfd, uid_t *uid, gid_t *gid)
{
    struct stat gst;

    *uid = (uid_t)-1;
    *gid = (gid_t)-1;
    if (geteuid() == 0 && fstat(gfd, &gst) == 0
        && (gst.st_uid != geteuid() || gst.st_gid != getegid())) {
        *uid = gst.st_uid;
        *gid = gst.st_gid;
    }
}

/* The entry directory of g (created when asked), through the group's
 * descriptor: a link planted as the entry is never followed. */
static apr_status_t open_entry(const file_store_t *fs, apr_pool_t *p, acme_store_group_e g,
                               const char *entry, int create, int *efd)
{
    const char *e = entry_dirname(p, entry);
    apr_status_t rv;
    int gfd, made = 0;

    *efd = -1;
    if (e == NULL) {
        return APR_EINVAL;
    }
    if ((rv = acme_sf_open_group(fs, p, g, create, &gfd)) != APR_SUCCESS) {
        return rv;
    }
    if (create) {
        made = mkdirat(gfd, e, 0755) == 0;
        if (!made && errno != EEXIST) {
            rv = acme_sf_errno_status();
        }
    }
    if (rv == APR_SUCCESS && (*efd = acme_sf_open_dir_at(gfd, e)) < 0) {
        rv = acme_sf_dir_error();
    }
    if (rv == APR_SUCCESS && made) {
        uid_t uid;
        gid_t gid;

        adopt_ids(gfd, &uid, &gid);
        if (fchmod(*efd, 0755) != 0
            || ((uid != (uid_t)-1) && fchown(*efd, uid, gid) != 0)) {
            rv = acme_sf_errno_status();
            close_fd(efd);
        }
    }
    close(gfd);
    return rv;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Names below dfd of the wanted type (S_IFDIR, S_IFREG), without hidden and
 * temp files and names that could not be addressed. Takes dfd. */
static apr_status_t list_fd(apr_pool_t *p, int dfd, mode_t type, apr_array_header_t *out)
{
    struct dirent *de;
    DIR *d = fdopendir(dfd);

    if (d == NULL) {
        close(dfd);
        return acme_sf_errno_status();
    }
    while ((de = readdir(d)) != NULL) {
        if (item_name_ok(de->d_name) && acme_sf_entry_is(dfd, de, type)) {
            const char *name = apr_pstrdup(p, de->d_name);

            APR_ARRAY_PUSH(out, const char *) = type == S_IFDIR ? dirname_entry(p, name) : name;
        }
    }
    closedir(d);
    return APR_SUCCESS;
}

/* ---------- the vtable ---------- */

/* A write made under a lock needs the lock still held: a flock lasts as long
 * as its descriptor, so only a lock already released is lost. */
static apr_status_t fence_ok(const acme_store_lock_t *fence)
{
    return fence == NULL || fence->fd >= 0 ? APR_SUCCESS : ACME_STORE_ELOST;
}

static apr_status_t fs_load(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                            const char *entry, const char *item, char **data, apr_size_t *len)
{
    apr_size_t n = 0;
    apr_status_t rv;
    int efd;

    if (!item_name_ok(item)) {
        return APR_EINVAL;
    }
    if ((rv = open_entry(s->baton, p, g, entry, 0, &efd)) != APR_SUCCESS) {
        return rv;
    }
    rv = acme_file_read_at(p, efd, item, MAX_ITEM_SIZE, data, &n);
    close(efd);
    if (APR_STATUS_IS_ENOENT(rv) || APR_STATUS_IS_ENOTDIR(rv)) {
        return APR_ENOENT;
    }
    if (rv == APR_SUCCESS && len != NULL) {
        *len = n;
    }
    return rv;
}

static apr_status_t fs_save(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                            const char *entry, const char *item, const void *data,
                            apr_size_t len, int flags, const acme_store_lock_t *fence)
{
    apr_status_t rv;
    uid_t uid;
    gid_t gid;
    int efd;

    if (!item_name_ok(item)) {
        return APR_EINVAL;
    }
    if ((rv = fence_ok(fence)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = open_entry(s->baton, p, g, entry, 1, &efd)) != APR_SUCCESS) {
        return rv;
    }
    adopt_ids(efd, &uid, &gid);
    rv = acme_file_write_at(p, efd, item, data, len,
                            (flags & ACME_STORE_PRIVATE) ? 0600 : 0644,
                            (flags & ACME_STORE_REGENERABLE) ? ACME_FILE_NOSYNC : 0,
                            uid, gid);
    close(efd);
    return rv;
}

/* Take an entry out of sight first (one rename), then delete it: a crash
 * never leaves a half-deleted entry visible, and the sweep finishes it. */
static apr_status_t discard_entry(apr_pool_t *p, int gfd, const char *name)
{
    const char *hidden = apr_psprintf(p, DEL_PREFIX "%s.%" APR_PID_T_FMT ".%" APR_TIME_T_FMT,
                                      name, getpid(), apr_time_now());

    if (renameat(gfd, name, gfd, hidden) != 0) {
        return errno == ENOENT ? APR_SUCCESS : acme_sf_errno_status();
    }
    return acme_file_remove_at(gfd, hidden, REMOVE_DEPTH);
}

static apr_status_t fs_remove(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                              const char *entry, const char *item,
                              const acme_store_lock_t *fence)
{
    const char *e = entry_dirname(p, entry);
    apr_status_t rv;
    int fd;

    if (e == NULL || (item != NULL && !item_name_ok(item))) {
        return APR_EINVAL;
    }
    if ((rv = fence_ok(fence)) != APR_SUCCESS) {
        return rv;
    }
    if (item != NULL) {
        rv = open_entry(s->baton, p, g, entry, 0, &fd);
        if (rv == APR_SUCCESS) {
            if (unlinkat(fd, item, 0) != 0 && errno != ENOENT) {
                rv = acme_sf_errno_status();
            }
            close(fd);
        }
    }
    else if ((rv = acme_sf_open_group(s->baton, p, g, 0, &fd)) == APR_SUCCESS) {
        rv = discard_entry(p, fd, e);
        close(fd);
    }
    return APR_STATUS_IS_ENOENT(rv) ? APR_SUCCESS : rv;
}

static apr_status_t fs_list(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                            const char *entry, apr_array_header_t **names)
{
    apr_status_t rv;
    int fd;

    *names = apr_array_make(p, 8, sizeof(const char *));
    if (entry == NULL) {
        rv = acme_sf_open_group(s->baton, p, g, 0, &fd);
    }
    else {
        rv = open_entry(s->baton, p, g, entry, 0, &fd);
    }
    if (rv == APR_SUCCESS) {
        rv = list_fd(p, fd, entry ? S_IFREG : S_IFDIR, *names);
    }
    else if (APR_STATUS_IS_ENOENT(rv)) {
        rv = APR_SUCCESS;
    }
    if (rv == APR_SUCCESS) {
        qsort((*names)->elts, (size_t)(*names)->nelts, sizeof(const char *), cmp_names);
    }
    return rv;
}

/* archive/<entry>.<YYYYmmddTHHMMSSZ>[-n]: a name not taken yet. */
static apr_status_t archive_target(apr_pool_t *p, int afd, const char *name, const char **target)
{
    apr_time_exp_t tm;
    const char *base;
    struct stat st;

    apr_time_exp_gmt(&tm, apr_time_now());
    base = apr_psprintf(p, "%s.%04d%02d%02dT%02d%02d%02dZ", name, tm.tm_year + 1900,
                        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    *target = base;
    for (int i = 1; fstatat(afd, *target, &st, AT_SYMLINK_NOFOLLOW) == 0; i++) {
        if (i > 999) {
            return APR_EEXIST;
        }
        *target = apr_psprintf(p, "%s-%d", base, i);
    }
    return APR_SUCCESS;
}

/* A new entry in a hidden directory of its group, every item written fresh
 * and synced, the directory 0755 and synced once complete. */
static apr_status_t write_new_entry(apr_pool_t *p, int gfd, const apr_array_header_t *items,
                                    const char **tmp)
{
    apr_status_t rv;
    int tfd, i;

    if ((rv = acme_file_temp_name(p, NEW_PREFIX, tmp)) != APR_SUCCESS) {
        return rv;
    }
    /* root only while it is written */
    if (mkdirat(gfd, *tmp, 0700) != 0 || (tfd = acme_sf_open_dir_at(gfd, *tmp)) < 0) {
        return acme_sf_errno_status();
    }
    for (i = 0; rv == APR_SUCCESS && i < items->nelts; i++) {
        const acme_store_item_t *it = &APR_ARRAY_IDX(items, i, acme_store_item_t);

        rv = acme_file_write_at(p, tfd, it->name, it->data, it->len,
                                (it->flags & ACME_STORE_PRIVATE) ? 0600 : 0644,
                                ACME_FILE_NODIRSYNC, (uid_t)-1, (gid_t)-1);
    }
    if (rv == APR_SUCCESS && (fchmod(tfd, 0755) != 0 || fsync(tfd) != 0)) {
        rv = acme_sf_errno_status();
    }
    close(tfd);
    if (rv != APR_SUCCESS) {
        (void)acme_file_remove_at(gfd, *tmp, 1);
    }
    return rv;
}

/* The replaced entry, now named `old` in gfd, to the archive (or gone). */
static apr_status_t retire(apr_pool_t *p, int gfd, int afd, const char *old, const char *name)
{
    const char *target;
    apr_status_t rv;

    if (afd < 0) {
        return acme_file_remove_at(gfd, old, REMOVE_DEPTH);
    }
    if ((rv = archive_target(p, afd, name, &target)) == APR_SUCCESS
        && renameat(gfd, old, afd, target) != 0) {
        rv = acme_sf_errno_status();
    }
    if (rv == APR_SUCCESS) {
        (void)fsync(afd);
    }
    return rv;
}

/* Crash-safe order: (1) the new set is written completely into a hidden
 * directory and synced, (2) it is exchanged with the active entry in one
 * atomic rename (RENAME_EXCHANGE), (3) the replaced set is moved to the
 * archive. A crash leaves the old set or the new one active, never none;
 * a hidden leftover is removed by the next sweep. Filesystems without
 * RENAME_EXCHANGE archive first and move in second: a crash in between
 * leaves no active set, and the next activation writes it again. */
static apr_status_t fs_replace(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                               const char *entry, const apr_array_header_t *items,
                               acme_store_group_e archive, const acme_store_lock_t *fence)
{
    const char *name = entry_dirname(p, entry), *tmp;
    struct stat st;
    apr_status_t rv;
    int gfd = -1, afd = -1, i;

    if (name == NULL || items == NULL || items->nelts == 0
        || (archive != ACME_SG_COUNT && !acme_sf_group_ok(archive))) {
        return APR_EINVAL;
    }
    if ((rv = fence_ok(fence)) != APR_SUCCESS) {
        return rv;
    }
    for (i = 0; i < items->nelts; i++) {
        if (!item_name_ok(APR_ARRAY_IDX(items, i, acme_store_item_t).name)) {
            return APR_EINVAL;
        }
    }
    if ((rv = acme_sf_open_group(s->baton, p, g, 1, &gfd)) != APR_SUCCESS
        || (archive != ACME_SG_COUNT
            && (rv = acme_sf_open_group(s->baton, p, archive, 1, &afd)) != APR_SUCCESS)
        || (rv = write_new_entry(p, gfd, items, &tmp)) != APR_SUCCESS) {
        close_fd(&gfd);
        close_fd(&afd);
        return rv;
    }
    if (fstatat(gfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode)) {
        /* a link or file where the entry belongs is never archived or followed */
        (void)unlinkat(gfd, name, 0);
    }
    if (renameat2(gfd, tmp, gfd, name, RENAME_EXCHANGE) == 0) {
        (void)fsync(gfd);
        rv = retire(p, gfd, afd, tmp, name);
    }
    else if (errno == ENOENT) {
        /* nothing active yet */
        rv = renameat(gfd, tmp, gfd, name) == 0 ? APR_SUCCESS : acme_sf_errno_status();
    }
    else if (errno == EINVAL || errno == ENOSYS || errno == ENOTSUP) {
        rv = retire(p, gfd, afd, name, name);
        if (APR_STATUS_IS_ENOENT(rv)) {
            rv = APR_SUCCESS;       /* nothing active yet */
        }
        if (rv == APR_SUCCESS && renameat(gfd, tmp, gfd, name) != 0) {
            rv = acme_sf_errno_status();
        }
    }
    else {
        rv = acme_sf_errno_status();
    }
    if (rv != APR_SUCCESS) {
        (void)acme_file_remove_at(gfd, tmp, 1);
    }
    (void)fsync(gfd);
    close_fd(&gfd);
    close_fd(&afd);
    return rv;
}

static apr_status_t lock_cleanup(void *data)
{
    acme_store_lock_t *lk = data;

    if (lk->fd >= 0) {
        /* Explicit unlock: a forked child sharing the descriptor keeps no lock. */
        (void)flock(lk->fd, LOCK_UN);
        close(lk->fd);
        lk->fd = -1;
    }
    return APR_SUCCESS;
}

/* Try flock until it succeeds or `wait` has passed. */
static apr_status_t flock_wait(int fd, apr_interval_time_t wait)
{
    apr_time_t deadline = apr_time_now() + (wait > 0 ? wait : 0);

    for (;;) {
        apr_time_t left;

        if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
            return APR_SUCCESS;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EWOULDBLOCK) {
            return acme_sf_errno_status();
        }
        left = deadline - apr_time_now();
        if (left <= 0) {
            return APR_TIMEUP;
        }
        apr_sleep(left < LOCK_POLL ? left : LOCK_POLL);
    }
}

/* The entry's lock file, created when missing (then handed to the group's
 * owner); only a regular file is ever used. */
static int open_lock_file(int efd)
{
    struct stat st;
    uid_t uid;
    gid_t gid;
    int fd = openat(efd, LOCK_ITEM, O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);

    if (fd >= 0) {
        adopt_ids(efd, &uid, &gid);
        if (uid != (uid_t)-1 && fchown(fd, uid, gid) != 0) {
            close(fd);
            return -1;
        }
        return fd;
    }
    if (errno != EEXIST) {
        return -1;
    }
    fd = openat(efd, LOCK_ITEM, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
        close(fd);
        errno = EINVAL;
        return -1;
    }
    return fd;
}

/* flock(2) on <group>/<entry>/.lock rather than apr_file_lock: APR uses
 * fcntl locks on Linux, which belong to the process and so neither exclude
 * two threads nor survive another descriptor of the file being closed.
 * flock belongs to the open file description: each lock() opens its own. The
 * kernel drops it when the holder dies, so a crash never leaves it stuck. */
static apr_status_t fs_lock(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                            const char *entry, apr_interval_time_t wait,
                            acme_store_lock_t **lock)
{
    acme_store_lock_t *lk;
    apr_status_t rv;
    int efd, fd;

    *lock = NULL;
    if ((rv = open_entry(s->baton, p, g, entry, 1, &efd)) != APR_SUCCESS) {
        return rv;
    }
    fd = open_lock_file(efd);
    rv = fd < 0 ? (errno == ELOOP || errno == EINVAL ? APR_EINVAL : acme_sf_errno_status()) : APR_SUCCESS;
    close(efd);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if ((rv = flock_wait(fd, wait)) != APR_SUCCESS) {
        close(fd);
        return rv;
    }
    lk = apr_pcalloc(p, sizeof(*lk));
    lk->pool = p;
    lk->fd = fd;
    apr_pool_cleanup_register(p, lk, lock_cleanup, apr_pool_cleanup_null);
    *lock = lk;
    return APR_SUCCESS;
}

static apr_status_t fs_hold(acme_store_lock_t *lk, apr_interval_time_t need)
{
    (void)need;     /* a flock has no time limit */
    return lk != NULL && lk->fd >= 0 ? APR_SUCCESS : ACME_STORE_ELOST;
}

static apr_status_t fs_unlock(acme_store_lock_t *lk)
{
    if (lk == NULL || lk->fd < 0) {
        return APR_EINVAL;
    }
    return apr_pool_cleanup_run(lk->pool, lk, lock_cleanup);
}

/* What root and mod_ssl load (README "Store layout and ownership"): nobody
 * but the caller can change anything on the path. Checked by lstat on the
 * path, every directory above the entry being the caller's already (the
 * parent's prepare made sure). */
static apr_status_t fs_file(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                            const char *entry, const char *item, acme_store_file_t *f)
{
    const char *gp = acme_sf_group_path(s->baton, p, g), *e = entry_dirname(p, entry);
    struct stat st;

    memset(f, 0, sizeof(*f));
    if (!acme_store_root_group(g)) {
        return APR_ENOTIMPL;
    }
    if (gp == NULL || e == NULL || !item_name_ok(item)) {
        return APR_EINVAL;
    }
    f->path = apr_pstrcat(p, gp, "/", e, NULL);
    if (lstat(f->path, &st) != 0) {
        return APR_ENOENT;
    }
    if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022)) {
        f->expected = "a directory owned by root and writable by nobody else";
        return APR_EINVAL;
    }
    f->path = apr_pstrcat(p, f->path, "/", item, NULL);
    if (lstat(f->path, &st) != 0) {
        return APR_ENOENT;
    }
    if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || st.st_nlink != 1) {
        f->expected = "a regular file owned by root with one link";
        return APR_EINVAL;
    }
    f->version = apr_psprintf(p, "%lu:%lu:%lld:%lld.%09ld:%lld.%09ld", (unsigned long)st.st_dev,
                              (unsigned long)st.st_ino, (long long)st.st_size,
                              (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
                              (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
    return APR_SUCCESS;
}

static const char *fs_where(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                            const char *entry, const char *item)
{
    const file_store_t *fs = s->baton;
    const char *path = acme_sf_group_path(fs, p, g), *e = entry ? entry_dirname(p, entry) : NULL;

    if (path == NULL) {
        return apr_pstrcat(p, fs->dir, "/", acme_store_group_name(g), NULL);
    }
    if (e) {
        path = apr_pstrcat(p, path, "/", e, item ? "/" : "", item, NULL);
    }
    return path;
}

apr_status_t acme_store_file_open(apr_pool_t *p, const char *dir, int flags,
                                  acme_store_t **store)
{
    file_store_t *fs;
    acme_store_t *s;
    apr_status_t rv;

    *store = NULL;
    if (dir == NULL || *dir == '\0') {
        return APR_EINVAL;
    }
    rv = acme_file_mkdirs(p, dir, APR_FPROT_UREAD | APR_FPROT_UWRITE | APR_FPROT_UEXECUTE
                          | APR_FPROT_GREAD | APR_FPROT_GEXECUTE | APR_FPROT_WREAD
                          | APR_FPROT_WEXECUTE);
    if (rv != APR_SUCCESS && !APR_STATUS_IS_EEXIST(rv)) {
        return rv;
    }
    fs = apr_pcalloc(p, sizeof(*fs));
    fs->dir = apr_pstrdup(p, dir);
    s = apr_pcalloc(p, sizeof(*s));
    s->kind = "file";
    s->baton = fs;
    s->load = fs_load;
    s->save = fs_save;
    s->remove = fs_remove;
    s->list = fs_list;
    s->replace = fs_replace;
    s->sweep = acme_sf_sweep;
    s->lock = fs_lock;
    s->hold = fs_hold;
    s->unlock = fs_unlock;
    s->file = fs_file;
    s->where = fs_where;
    s->prepare = acme_sf_prepare;
    for (int g = 0; g < ACME_SG_COUNT; g++) {
        const char *odd;
        int gfd;

        if (!acme_sf_group_ok((acme_store_group_e)g)) {
            continue;
        }
        /* An unprivileged opener may not create root's groups: not an error. */
        if (acme_sf_open_group(fs, p, (acme_store_group_e)g, 1, &gfd) == APR_SUCCESS) {
            close(gfd);
        }
        if (!(flags & ACME_STORE_OPEN_NOSWEEP)) {
            (void)acme_sf_sweep(s, p, (acme_store_group_e)g, &odd);
        }
    }
    *store = s;
    return APR_SUCCESS;
}
