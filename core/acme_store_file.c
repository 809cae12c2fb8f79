/* acme_store_file.c: the file store backend: <dir>/<group>/<entry>/<item> with atomic writes, flock-based entry locks and activation by rename. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "acme_file.h"
#include "acme_store.h"

/* Store items are certificates, keys and small JSON documents. */
#define MAX_ITEM_SIZE (512 * 1024)
#define MAX_NAME 255
/* A temp file younger than this may belong to a writer in another process. */
#define TEMP_MAX_AGE apr_time_from_sec(600)
#define LOCK_ITEM ".lock"
#define DEL_PREFIX ".del."
#define LOCK_POLL apr_time_from_msec(50)

typedef struct {
    const char *dir;
} file_store_t;

struct acme_store_lock_t {
    apr_pool_t *pool;
    int fd;                     /* -1 once released */
};

/* ---------- names and paths ---------- */

/* A name usable as one path component: nothing that escapes or hides. */
static int name_ok(const char *s)
{
    apr_size_t len;

    if (s == NULL || (len = strlen(s)) == 0 || len > MAX_NAME || s[0] == '.'
        || strstr(s, "..") != NULL) {
        return 0;
    }
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c < 0x20 || c == 0x7f || c == '/' || c == '\\') {
            return 0;
        }
    }
    return 1;
}

/* acme_file_write_atomic's temp files are "<name>.tmp.<12 base64url chars>". */
static int is_temp_name(const char *s)
{
    const char *t = NULL, *q = s;

    while ((q = strstr(q, ".tmp.")) != NULL) {
        t = q;
        q++;
    }
    if (t == NULL || strlen(t + 5) != 12) {
        return 0;
    }
    for (q = t + 5; *q; q++) {
        if (!apr_isalnum(*q) && *q != '-' && *q != '_') {
            return 0;
        }
    }
    return 1;
}

static int item_name_ok(const char *s)
{
    return name_ok(s) && !is_temp_name(s);
}

/* SPEC §7: a leading wildcard label is written as "_" on disk. */
static const char *entry_dirname(apr_pool_t *p, const char *entry)
{
    if (!name_ok(entry)) {
        return NULL;
    }
    if (entry[0] == '*' && entry[1] == '.') {
        return apr_pstrcat(p, "_", entry + 1, NULL);
    }
    return entry;
}

static const char *group_path(const file_store_t *fs, apr_pool_t *p, acme_store_group_e g)
{
    const char *name = acme_store_group_name(g);

    return name ? apr_pstrcat(p, fs->dir, "/", name, NULL) : NULL;
}

static apr_status_t entry_path(const file_store_t *fs, apr_pool_t *p, acme_store_group_e g,
                               const char *entry, const char **path)
{
    const char *gp = group_path(fs, p, g);
    const char *e = entry_dirname(p, entry);

    if (gp == NULL || e == NULL) {
        return APR_EINVAL;
    }
    *path = apr_pstrcat(p, gp, "/", e, NULL);
    return APR_SUCCESS;
}

static apr_status_t item_path(const file_store_t *fs, apr_pool_t *p, acme_store_group_e g,
                              const char *entry, const char *item, const char **path)
{
    const char *ep;
    apr_status_t rv;

    if (!item_name_ok(item)) {
        return APR_EINVAL;
    }
    rv = entry_path(fs, p, g, entry, &ep);
    if (rv == APR_SUCCESS) {
        *path = apr_pstrcat(p, ep, "/", item, NULL);
    }
    return rv;
}

static int is_root_group(acme_store_group_e g)
{
    return g == ACME_SG_DOMAINS || g == ACME_SG_ARCHIVE;
}

/* ---------- directories and ownership ---------- */

static apr_status_t stat_errno(void)
{
    return APR_FROM_OS_ERROR(errno);
}

/* Root writing into a group owned by the unprivileged user hands what it
 * creates to that user, so the drive can rewrite it later. */
static apr_status_t adopt_owner(const char *gdir, const char *path)
{
    struct stat gst, st;

    if (geteuid() != 0) {
        return APR_SUCCESS;
    }
    if (stat(gdir, &gst) != 0 || lstat(path, &st) != 0) {
        return stat_errno();
    }
    if (st.st_uid == gst.st_uid && st.st_gid == gst.st_gid) {
        return APR_SUCCESS;
    }
    return lchown(path, gst.st_uid, gst.st_gid) == 0 ? APR_SUCCESS : stat_errno();
}

/* mkdir with exactly these permissions (the umask does not apply); an
 * existing directory is left as it is. */
static apr_status_t make_dir(const char *path, mode_t mode)
{
    if (mkdir(path, mode) != 0) {
        return errno == EEXIST ? APR_SUCCESS : stat_errno();
    }
    return chmod(path, mode) == 0 ? APR_SUCCESS : stat_errno();
}

/* The unprivileged user owns the entry directories of its groups: a symlink
 * planted there must not lead root's writes elsewhere. */
static apr_status_t real_dir(const char *path)
{
    struct stat st;

    if (lstat(path, &st) != 0) {
        return stat_errno();
    }
    return S_ISDIR(st.st_mode) ? APR_SUCCESS : APR_EINVAL;
}

static apr_status_t ensure_group(const file_store_t *fs, apr_pool_t *p, acme_store_group_e g)
{
    const char *gp = group_path(fs, p, g);

    if (gp == NULL) {
        return APR_EINVAL;
    }
    /* Every group is traversable: in domains/ and archive/ the private keys
     * themselves are 0600, the certificates public (the drive plans from them). */
    return make_dir(gp, 0755);
}

static apr_status_t ensure_entry(const file_store_t *fs, apr_pool_t *p, acme_store_group_e g,
                                 const char *entry, const char **path)
{
    apr_status_t rv = entry_path(fs, p, g, entry, path);

    if (rv == APR_SUCCESS) {
        rv = ensure_group(fs, p, g);
    }
    if (rv == APR_SUCCESS) {
        rv = make_dir(*path, 0755);
    }
    if (rv == APR_SUCCESS) {
        rv = real_dir(*path);
    }
    if (rv == APR_SUCCESS) {
        rv = adopt_owner(group_path(fs, p, g), *path);
    }
    return rv;
}

/* fsync a directory so renames inside it survive a crash. */
static void sync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

typedef apr_status_t tree_fn(const char *path, int is_dir, void *baton);

/* Post-order walk (children before their directory) that never follows
 * symlinks; depth is bounded since the store is at most group/entry/item. */
static apr_status_t walk_tree(apr_pool_t *p, const char *path, int depth,
                              tree_fn *fn, void *baton)
{
    apr_pool_t *sub;
    apr_dir_t *dir;
    apr_finfo_t fi;
    apr_status_t rv, rr;

    if (depth > 4) {
        return APR_EINVAL;
    }
    rv = apr_dir_open(&dir, path, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    apr_pool_create(&sub, p);
    while ((rr = apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE | APR_FINFO_LINK, dir))
           == APR_SUCCESS || rr == APR_INCOMPLETE) {
        const char *child;

        if (strcmp(fi.name, ".") == 0 || strcmp(fi.name, "..") == 0) {
            continue;
        }
        apr_pool_clear(sub);
        child = apr_pstrcat(sub, path, "/", fi.name, NULL);
        if (fi.filetype == APR_DIR) {
            rv = walk_tree(sub, child, depth + 1, fn, baton);
        }
        else {
            rv = fn(child, 0, baton);
        }
        if (rv != APR_SUCCESS) {
            break;
        }
    }
    apr_pool_destroy(sub);
    apr_dir_close(dir);
    return rv == APR_SUCCESS ? fn(path, 1, baton) : rv;
}

static apr_status_t remove_one(const char *path, int is_dir, void *baton)
{
    int r = is_dir ? rmdir(path) : unlink(path);

    (void)baton;
    return (r == 0 || errno == ENOENT) ? APR_SUCCESS : stat_errno();
}

static apr_status_t rm_tree(apr_pool_t *p, const char *path)
{
    apr_status_t rv = walk_tree(p, path, 0, remove_one, NULL);

    return APR_STATUS_IS_ENOENT(rv) ? APR_SUCCESS : rv;
}

/* Take a directory out of sight first (one rename), then delete it: a
 * crash never leaves a half-deleted entry visible. */
static apr_status_t discard_dir(apr_pool_t *p, const char *gdir, const char *path,
                                const char *name)
{
    const char *hidden = apr_psprintf(p, "%s/" DEL_PREFIX "%s.%" APR_PID_T_FMT ".%"
                                      APR_TIME_T_FMT, gdir, name, getpid(), apr_time_now());

    if (rename(path, hidden) != 0) {
        return errno == ENOENT ? APR_SUCCESS : stat_errno();
    }
    return rm_tree(p, hidden);
}

/* ---------- crash leftovers ---------- */

static int old_enough(const char *path, apr_time_t now)
{
    struct stat st;

    return lstat(path, &st) == 0 && now - apr_time_from_sec(st.st_mtime) > TEMP_MAX_AGE;
}

/* Temp files of writers that died, in one entry directory. */
static void sweep_entry(apr_pool_t *p, const char *edir, apr_time_t now)
{
    apr_dir_t *dir;
    apr_finfo_t fi;

    if (apr_dir_open(&dir, edir, p) != APR_SUCCESS) {
        return;
    }
    while (apr_dir_read(&fi, APR_FINFO_NAME, dir) == APR_SUCCESS) {
        if (is_temp_name(fi.name)) {
            const char *path = apr_pstrcat(p, edir, "/", fi.name, NULL);

            if (old_enough(path, now)) {
                (void)unlink(path);
            }
        }
    }
    apr_dir_close(dir);
}

/* Every entry of a group; also finishes deletions a crash interrupted. */
static void sweep_group(apr_pool_t *p, const char *gdir, apr_time_t now)
{
    apr_pool_t *sub;
    apr_dir_t *dir;
    apr_finfo_t fi;
    apr_status_t rv;

    if (apr_dir_open(&dir, gdir, p) != APR_SUCCESS) {
        return;
    }
    apr_pool_create(&sub, p);
    while ((rv = apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, dir)) == APR_SUCCESS
           || rv == APR_INCOMPLETE) {
        const char *path;

        if (fi.filetype != APR_DIR || strcmp(fi.name, ".") == 0 || strcmp(fi.name, "..") == 0) {
            continue;
        }
        apr_pool_clear(sub);
        path = apr_pstrcat(sub, gdir, "/", fi.name, NULL);
        if (strncmp(fi.name, DEL_PREFIX, strlen(DEL_PREFIX)) == 0) {
            if (old_enough(path, now)) {
                (void)rm_tree(sub, path);
            }
        }
        else {
            sweep_entry(sub, path, now);
        }
    }
    apr_pool_destroy(sub);
    apr_dir_close(dir);
}

/* ---------- the vtable ---------- */

/* Read a whole regular file below an open directory, without following a
 * symlink: acme_file_read cannot refuse one, and a drive running as another
 * user may have planted it where root reads (staging before activation). */
static apr_status_t read_nofollow(apr_pool_t *p, int dfd, const char *item,
                                  char **data, apr_size_t *len)
{
    struct stat st;
    apr_size_t n = 0;
    char *buf;
    int fd = openat(dfd, item, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    apr_status_t rv = APR_SUCCESS;

    if (fd < 0) {
        return errno == ELOOP ? APR_EINVAL : stat_errno();
    }
    if (fstat(fd, &st) != 0) {
        rv = stat_errno();
    }
    else if (!S_ISREG(st.st_mode)) {
        rv = APR_EINVAL;
    }
    else if (st.st_size > MAX_ITEM_SIZE) {
        rv = APR_ENOSPC;
    }
    if (rv != APR_SUCCESS) {
        close(fd);
        return rv;
    }
    buf = apr_palloc(p, (apr_size_t)st.st_size + 1);
    while (n < (apr_size_t)st.st_size) {
        ssize_t r = read(fd, buf + n, (apr_size_t)st.st_size - n);

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            rv = r < 0 ? stat_errno() : APR_SUCCESS;
            break;                      /* shrank meanwhile: what is there */
        }
        n += (apr_size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return rv;
}

static apr_status_t fs_load(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                            const char *entry, const char *item, char **data, apr_size_t *len)
{
    const char *edir;
    apr_size_t n = 0;
    apr_status_t rv;
    int dfd;

    if (!item_name_ok(item)) {
        return APR_EINVAL;
    }
    rv = entry_path(s->baton, p, g, entry, &edir);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    dfd = open(edir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0) {
        return (errno == ENOENT || errno == ENOTDIR) ? APR_ENOENT
               : errno == ELOOP ? APR_EINVAL : stat_errno();
    }
    rv = read_nofollow(p, dfd, item, data, &n);
    close(dfd);
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
                            apr_size_t len, int is_private)
{
    file_store_t *fs = s->baton;
    const char *edir, *path;
    apr_status_t rv;

    if (!item_name_ok(item)) {
        return APR_EINVAL;
    }
    rv = ensure_entry(fs, p, g, entry, &edir);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    path = apr_pstrcat(p, edir, "/", item, NULL);
    rv = acme_file_write_atomic_ex(p, path, data, len,
                                   (is_private & ACME_STORE_PRIVATE)
                                   ? (APR_FPROT_UREAD | APR_FPROT_UWRITE)
                                   : (APR_FPROT_UREAD | APR_FPROT_UWRITE | APR_FPROT_GREAD
                                      | APR_FPROT_WREAD),
                                   (is_private & ACME_STORE_REGENERABLE) ? ACME_FILE_NOSYNC : 0);
    if (rv == APR_SUCCESS) {
        rv = adopt_owner(group_path(fs, p, g), path);
    }
    return rv;
}

static apr_status_t fs_remove(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                              const char *entry, const char *item)
{
    file_store_t *fs = s->baton;
    const char *path;
    apr_status_t rv;

    if (item != NULL) {
        rv = item_path(fs, p, g, entry, item, &path);
        if (rv == APR_SUCCESS && unlink(path) != 0 && errno != ENOENT && errno != ENOTDIR) {
            rv = stat_errno();
        }
        return rv;
    }
    rv = entry_path(fs, p, g, entry, &path);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return discard_dir(p, group_path(fs, p, g), path, entry_dirname(p, entry));
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Names in dir of the wanted type, without hidden files and temp files. */
static apr_status_t list_dir(apr_pool_t *p, const char *path, apr_filetype_e want,
                             apr_array_header_t *out)
{
    apr_dir_t *dir;
    apr_finfo_t fi;
    apr_status_t rv;
    apr_time_t now = apr_time_now();

    rv = apr_dir_open(&dir, path, p);
    if (APR_STATUS_IS_ENOENT(rv) || APR_STATUS_IS_ENOTDIR(rv)) {
        return APR_SUCCESS;
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    while ((rv = apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, dir)) == APR_SUCCESS
           || rv == APR_INCOMPLETE) {
        if (fi.name[0] == '.') {
            continue;
        }
        if (is_temp_name(fi.name)) {
            const char *tmp = apr_pstrcat(p, path, "/", fi.name, NULL);

            if (old_enough(tmp, now)) {
                (void)unlink(tmp);
            }
            continue;
        }
        /* Names put there by hand that could not be addressed are left out. */
        if (fi.filetype == want && name_ok(fi.name)) {
            APR_ARRAY_PUSH(out, const char *) = apr_pstrdup(p, fi.name);
        }
    }
    apr_dir_close(dir);
    return APR_STATUS_IS_ENOENT(rv) ? APR_SUCCESS : rv;
}

static apr_status_t fs_list(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                            const char *entry, apr_array_header_t **names)
{
    file_store_t *fs = s->baton;
    const char *path;
    apr_status_t rv;

    *names = apr_array_make(p, 8, sizeof(const char *));
    if (entry == NULL) {
        path = group_path(fs, p, g);
        rv = path ? list_dir(p, path, APR_DIR, *names) : APR_EINVAL;
    }
    else {
        rv = entry_path(fs, p, g, entry, &path);
        if (rv == APR_SUCCESS) {
            rv = list_dir(p, path, APR_REG, *names);
        }
    }
    if (rv == APR_SUCCESS) {
        qsort((*names)->elts, (size_t)(*names)->nelts, sizeof(const char *), cmp_names);
    }
    return rv;
}

static apr_status_t fs_mtime(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                             const char *entry, const char *item, apr_time_t *mtime)
{
    const char *path;
    apr_finfo_t fi;
    apr_status_t rv = item ? item_path(s->baton, p, g, entry, item, &path)
                           : entry_path(s->baton, p, g, entry, &path);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = apr_stat(&fi, path, APR_FINFO_MTIME, p);
    if (APR_STATUS_IS_ENOENT(rv) || APR_STATUS_IS_ENOTDIR(rv)) {
        return APR_ENOENT;
    }
    if (rv == APR_SUCCESS || rv == APR_INCOMPLETE) {
        *mtime = fi.mtime;
        rv = APR_SUCCESS;
    }
    return rv;
}

/* archive/<entry>.<YYYYmmddTHHMMSSZ>[-n]: a name not taken yet. */
static apr_status_t archive_target(apr_pool_t *p, const char *adir, const char *name,
                                   const char **target)
{
    apr_time_exp_t tm;
    const char *base;
    struct stat st;

    apr_time_exp_gmt(&tm, apr_time_now());
    base = apr_psprintf(p, "%s/%s.%04d%02d%02dT%02d%02d%02dZ", adir, name,
                        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                        tm.tm_hour, tm.tm_min, tm.tm_sec);
    *target = base;
    for (int i = 1; lstat(*target, &st) == 0; i++) {
        if (i > 999) {
            return APR_EEXIST;
        }
        *target = apr_psprintf(p, "%s-%d", base, i);
    }
    return APR_SUCCESS;
}

static apr_status_t chown_one(const char *path, int is_dir, void *baton)
{
    const struct stat *owner = baton;
    struct stat st;

    (void)is_dir;
    /* chown changes ctime (an inode write) even when nothing changes: skip */
    if (lstat(path, &st) == 0 && (owner->st_uid == (uid_t)-1 || st.st_uid == owner->st_uid)
        && (owner->st_gid == (gid_t)-1 || st.st_gid == owner->st_gid)) {
        return APR_SUCCESS;
    }
    return lchown(path, owner->st_uid, owner->st_gid) == 0 ? APR_SUCCESS : stat_errno();
}

/* A private key by name, or an item saved private (nothing for group/other). */
static int is_private_file(const char *name, const struct stat *st)
{
    return strncmp(name, "privkey", 7) == 0 || (st->st_mode & 077) == 0;
}

/* Owner (when root) and mode of an open file or directory, changed only
 * when they differ; the mode after the owner, since chown may clear bits. */
static apr_status_t take_fd(int fd, const struct stat *st, const struct stat *owner, mode_t mode)
{
    int chowned = 0;

    if (geteuid() == 0 && (st->st_uid != owner->st_uid || st->st_gid != owner->st_gid)) {
        if (fchown(fd, owner->st_uid, owner->st_gid) != 0) {
            return stat_errno();
        }
        chowned = 1;
    }
    if (chowned || (st->st_mode & 07777) != mode) {
        return fchmod(fd, mode) == 0 ? APR_SUCCESS : stat_errno();
    }
    return APR_SUCCESS;
}

/* One item of a root group's entry: a regular file with one link becomes the
 * owner's (0600 for keys, 0644 else); anything else is removed, never served. */
static apr_status_t settle_item(apr_pool_t *p, int dfd, const char *dir, const char *name,
                                const struct stat *owner)
{
    struct stat st;
    apr_status_t rv;
    int fd;

    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        return errno == ENOENT ? APR_SUCCESS : stat_errno();
    }
    if (S_ISDIR(st.st_mode)) {
        return rm_tree(p, apr_pstrcat(p, dir, "/", name, NULL));
    }
    fd = S_ISREG(st.st_mode) && st.st_nlink == 1
         ? openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) : -1;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
        if (fd >= 0) {
            close(fd);
        }
        /* symlinks, devices, hard links to files elsewhere */
        return (unlinkat(dfd, name, 0) == 0 || errno == ENOENT) ? APR_SUCCESS : stat_errno();
    }
    rv = take_fd(fd, &st, owner, is_private_file(name, &st) ? 0600 : 0644);
    close(fd);
    return rv;
}

/* Make an entry of domains/ or archive/ the owner's: the directory first
 * (0755, so the drive's user can no longer add or swap anything in it),
 * then every item. Used on promote, where the entry was the drive's a moment
 * ago, and by set_owner. Descriptors, not paths, so a planted link is never
 * followed. */
static apr_status_t settle_entry(apr_pool_t *p, const char *dir, const struct stat *owner)
{
    struct stat st;
    apr_dir_t *d;
    apr_finfo_t fi;
    apr_status_t rv;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

    if (dfd < 0) {
        return (errno == ELOOP || errno == ENOTDIR) ? APR_EINVAL : stat_errno();
    }
    rv = fstat(dfd, &st) == 0 ? take_fd(dfd, &st, owner, 0755) : stat_errno();
    if (rv == APR_SUCCESS && (rv = apr_dir_open(&d, dir, p)) == APR_SUCCESS) {
        while (rv == APR_SUCCESS && apr_dir_read(&fi, APR_FINFO_NAME, d) == APR_SUCCESS) {
            if (strcmp(fi.name, ".") != 0 && strcmp(fi.name, "..") != 0) {
                rv = settle_item(p, dfd, dir, fi.name, owner);
            }
        }
        apr_dir_close(d);
    }
    close(dfd);
    return rv;
}

/* domains/ and archive/ belong to whoever runs the parent (root). */
static void root_owner(struct stat *owner)
{
    memset(owner, 0, sizeof(*owner));
    owner->st_uid = geteuid();
    owner->st_gid = getegid();
}

/* Every entry of a root group settled, the group itself root's and 0755. */
static apr_status_t settle_group(apr_pool_t *p, const char *gdir)
{
    struct stat owner, st;
    apr_pool_t *sub;
    apr_dir_t *d;
    apr_finfo_t fi;
    apr_status_t rv, rr;
    int gfd = open(gdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

    root_owner(&owner);
    if (gfd < 0) {
        return errno == ELOOP ? APR_EINVAL : stat_errno();
    }
    rv = fstat(gfd, &st) == 0 ? take_fd(gfd, &st, &owner, 0755) : stat_errno();
    close(gfd);
    if (rv != APR_SUCCESS || (rv = apr_dir_open(&d, gdir, p)) != APR_SUCCESS) {
        return rv;
    }
    apr_pool_create(&sub, p);
    while (rv == APR_SUCCESS
           && ((rr = apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE | APR_FINFO_LINK, d))
               == APR_SUCCESS || rr == APR_INCOMPLETE)) {
        if (fi.filetype == APR_DIR && strcmp(fi.name, ".") != 0 && strcmp(fi.name, "..") != 0) {
            apr_pool_clear(sub);
            rv = settle_entry(sub, apr_pstrcat(sub, gdir, "/", fi.name, NULL), &owner);
        }
    }
    apr_pool_destroy(sub);
    apr_dir_close(d);
    return rv;
}

/* Crash-safe order: (1) the old active entry is renamed into the archive,
 * (2) the staged entry is renamed into its place, (3) both directories are
 * synced. Each rename is atomic, so a crash leaves either the old active
 * set, or no active set with the staged one still complete in `from` — and
 * then the next promote simply finishes step (2). Nothing is copied, so no
 * half-written certificate or key can ever become active. */
static apr_status_t fs_promote(acme_store_t *s, apr_pool_t *p, acme_store_group_e from,
                               acme_store_group_e to, acme_store_group_e archive,
                               const char *entry)
{
    file_store_t *fs = s->baton;
    const char *src, *dst, *name = entry_dirname(p, entry), *tdir = group_path(fs, p, to);
    struct stat st;
    apr_status_t rv;

    if (name == NULL || tdir == NULL || entry_path(fs, p, from, entry, &src) != APR_SUCCESS
        || (archive != ACME_SG_COUNT && acme_store_group_name(archive) == NULL)) {
        return APR_EINVAL;
    }
    if (lstat(src, &st) != 0 || !S_ISDIR(st.st_mode)) {
        return APR_ENOENT;
    }
    if ((rv = ensure_group(fs, p, to)) != APR_SUCCESS) {
        return rv;
    }
    dst = apr_pstrcat(p, tdir, "/", name, NULL);
    if (lstat(dst, &st) == 0) {
        if (archive == ACME_SG_COUNT) {
            rv = discard_dir(p, tdir, dst, name);
        }
        else {
            const char *target;

            rv = ensure_group(fs, p, archive);
            if (rv == APR_SUCCESS) {
                rv = archive_target(p, group_path(fs, p, archive), name, &target);
            }
            if (rv == APR_SUCCESS && rename(dst, target) != 0) {
                rv = stat_errno();
            }
            if (rv == APR_SUCCESS) {
                sync_dir(group_path(fs, p, archive));
            }
        }
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    if (rename(src, dst) != 0) {
        return stat_errno();
    }
    sync_dir(tdir);
    sync_dir(group_path(fs, p, from));
    if (!is_root_group(to)) {
        return APR_SUCCESS;
    }
    root_owner(&st);
    return settle_entry(p, dst, &st);
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
            return stat_errno();
        }
        left = deadline - apr_time_now();
        if (left <= 0) {
            return APR_TIMEUP;
        }
        apr_sleep(left < LOCK_POLL ? left : LOCK_POLL);
    }
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
    file_store_t *fs = s->baton;
    acme_store_lock_t *lk;
    const char *edir, *path;
    apr_status_t rv;
    int fd;

    *lock = NULL;
    rv = ensure_entry(fs, p, g, entry, &edir);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    path = apr_pstrcat(p, edir, "/" LOCK_ITEM, NULL);
    /* Read-only is enough for flock, so root and the drive's user share the
     * file; O_NOFOLLOW keeps root from creating files through a planted link. */
    fd = open(path, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        return errno == ELOOP ? APR_EINVAL : stat_errno();
    }
    (void)adopt_owner(group_path(fs, p, g), path);
    rv = flock_wait(fd, wait);
    if (rv != APR_SUCCESS) {
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

static apr_status_t fs_unlock(acme_store_lock_t *lk)
{
    if (lk == NULL || lk->fd < 0) {
        return APR_EINVAL;
    }
    return apr_pool_cleanup_run(lk->pool, lk, lock_cleanup);
}

static const char *fs_path(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                           const char *entry, const char *item)
{
    const char *path;

    return item_path(s->baton, p, g, entry, item, &path) == APR_SUCCESS ? path : NULL;
}

apr_status_t acme_store_file_open(apr_pool_t *p, const char *dir, acme_store_t **store)
{
    return acme_store_file_open_ex(p, dir, 0, store);
}

apr_status_t acme_store_file_open_ex(apr_pool_t *p, const char *dir, int flags,
                                     acme_store_t **store)
{
    file_store_t *fs;
    acme_store_t *s;
    apr_status_t rv;
    apr_time_t now = apr_time_now();

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
    for (int g = 0; g < ACME_SG_COUNT; g++) {
        /* An unprivileged opener may not create root's groups: not an error. */
        (void)ensure_group(fs, p, (acme_store_group_e)g);
        if (!(flags & ACME_STORE_OPEN_NOSWEEP)) {
            sweep_group(p, group_path(fs, p, (acme_store_group_e)g), now);
        }
    }
    s = apr_pcalloc(p, sizeof(*s));
    s->kind = "file";
    s->baton = fs;
    s->load = fs_load;
    s->save = fs_save;
    s->remove = fs_remove;
    s->list = fs_list;
    s->mtime = fs_mtime;
    s->promote = fs_promote;
    s->lock = fs_lock;
    s->unlock = fs_unlock;
    s->path = fs_path;
    *store = s;
    return APR_SUCCESS;
}

apr_status_t acme_store_file_set_owner(acme_store_t *store, apr_pool_t *p, long uid, long gid)
{
    file_store_t *fs;
    struct stat owner;
    apr_status_t rv = APR_SUCCESS;

    if (store == NULL || strcmp(store->kind, "file") != 0) {
        return APR_EINVAL;
    }
    fs = store->baton;
    owner.st_uid = (uid_t)uid;          /* (uid_t)-1 leaves it unchanged */
    owner.st_gid = (gid_t)gid;
    for (int g = 0; g < ACME_SG_COUNT && rv == APR_SUCCESS; g++) {
        const char *gp = group_path(fs, p, (acme_store_group_e)g);

        rv = ensure_group(fs, p, (acme_store_group_e)g);
        if (rv != APR_SUCCESS) {
            break;
        }
        if (is_root_group((acme_store_group_e)g)) {
            rv = settle_group(p, gp);
        }
        else {
            rv = walk_tree(p, gp, 0, chown_one, &owner);
        }
    }
    return rv;
}
