/* acme_file.c: bounded whole-file reads and crash-safe atomic writes (temp file, fsync, rename), also relative to an open directory so no path can be redirected. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_file_io.h>
#include <apr_general.h>
#include "acme_base64.h"
#include "acme_file.h"

apr_status_t acme_file_read(apr_pool_t *p, const char *path, apr_size_t max,
                            char **data, apr_size_t *len)
{
    apr_file_t *f;
    apr_finfo_t fi;
    apr_status_t rv;
    apr_size_t cap, n = 0;
    char *buf;

    rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, APR_FPROT_OS_DEFAULT, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = apr_file_info_get(&fi, APR_FINFO_SIZE | APR_FINFO_TYPE, f);
    if (rv == APR_SUCCESS && fi.filetype != APR_REG) {
        rv = APR_EINVAL;
    }
    else if (rv == APR_SUCCESS && (apr_size_t)fi.size > max) {
        rv = APR_ENOSPC;
    }
    if (rv != APR_SUCCESS) {
        apr_file_close(f);
        return rv;
    }
    /* Room for the size seen plus one byte, so a file that grew meanwhile is noticed. */
    cap = (apr_size_t)fi.size + 1;
    buf = apr_palloc(p, cap + 1);
    while (n < cap) {
        apr_size_t chunk = cap - n;
        rv = apr_file_read(f, buf + n, &chunk);
        n += chunk;
        if (rv == APR_EOF) {
            rv = APR_SUCCESS;
            break;
        }
        if (rv != APR_SUCCESS) {
            break;
        }
    }
    apr_file_close(f);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (n > max) {
        return APR_ENOSPC;
    }
    if (n == cap) {
        /* Changed under us (not written atomically): the caller may retry. */
        return APR_EAGAIN;
    }
    buf[n] = '\0';
    *data = buf;
    if (len) {
        *len = n;
    }
    return APR_SUCCESS;
}

apr_status_t acme_file_temp_name(apr_pool_t *p, const char *prefix, const char **name)
{
    unsigned char rnd[9];
    apr_status_t rv = apr_generate_random_bytes(rnd, sizeof(rnd));

    if (rv == APR_SUCCESS) {
        *name = apr_pstrcat(p, prefix, acme_b64u_encode(p, rnd, sizeof(rnd)), NULL);
    }
    return rv;
}

static apr_status_t errno_status(void)
{
    return APR_FROM_OS_ERROR(errno);
}

static apr_status_t write_all(int fd, const char *data, apr_size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return n < 0 ? errno_status() : APR_EGENERAL;
        }
        data += n;
        len -= (apr_size_t)n;
    }
    return APR_SUCCESS;
}

/* Some filesystems refuse fsync on directories; the data itself is synced. */
static apr_status_t sync_fd(int fd, int is_dir)
{
    if (fsync(fd) == 0 || (is_dir && errno == EINVAL)) {
        return APR_SUCCESS;
    }
    return errno_status();
}

apr_status_t acme_file_write_at(apr_pool_t *p, int dfd, const char *name, const void *data,
                                apr_size_t len, mode_t mode, int flags, uid_t uid, gid_t gid)
{
    const char *tmp = NULL;
    apr_status_t rv = APR_EEXIST;
    int fd = -1, tries;

    for (tries = 0; tries < 5 && fd < 0 && APR_STATUS_IS_EEXIST(rv); tries++) {
        if ((rv = acme_file_temp_name(p, apr_pstrcat(p, name, ".tmp.", NULL), &tmp))) {
            return rv;
        }
        fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    mode == ACME_FILE_MODE_UMASK ? 0666 : mode);
        rv = fd < 0 ? errno_status() : APR_SUCCESS;
    }
    if (fd < 0) {
        return rv;
    }
    /* exactly mode whatever the umask; the owner before anybody else can see it */
    if ((mode != ACME_FILE_MODE_UMASK && fchmod(fd, mode) != 0)
        || ((uid != (uid_t)-1 || gid != (gid_t)-1) && fchown(fd, uid, gid) != 0)) {
        rv = errno_status();
    }
    if (rv == APR_SUCCESS) {
        rv = write_all(fd, data, len);
    }
    if (rv == APR_SUCCESS && !(flags & ACME_FILE_NOSYNC)) {
        rv = sync_fd(fd, 0);
    }
    if (close(fd) != 0 && rv == APR_SUCCESS) {
        rv = errno_status();
    }
    if (rv == APR_SUCCESS && renameat(dfd, tmp, dfd, name) != 0) {
        rv = errno_status();
    }
    if (rv != APR_SUCCESS) {
        (void)unlinkat(dfd, tmp, 0);
        return rv;
    }
    /* Without fsync the rename is still atomic: readers see old or new, whole. */
    return (flags & (ACME_FILE_NOSYNC | ACME_FILE_NODIRSYNC)) ? APR_SUCCESS : sync_fd(dfd, 1);
}

apr_status_t acme_file_read_at(apr_pool_t *p, int dfd, const char *name, apr_size_t max,
                               char **data, apr_size_t *len)
{
    struct stat st;
    apr_size_t n = 0;
    apr_status_t rv = APR_SUCCESS;
    char *buf;
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

    if (fd < 0) {
        /* ELOOP: a symlink; ENXIO: a socket */
        return (errno == ELOOP || errno == ENXIO) ? APR_EINVAL : errno_status();
    }
    if (fstat(fd, &st) != 0) {
        rv = errno_status();
    }
    else if (!S_ISREG(st.st_mode) || st.st_nlink != 1) {
        rv = APR_EINVAL;
    }
    else if ((apr_size_t)st.st_size > max) {
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
            rv = r < 0 ? errno_status() : APR_SUCCESS;
            break;                      /* shrank meanwhile: what is there */
        }
        n += (apr_size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    *data = buf;
    if (len) {
        *len = n;
    }
    return rv;
}

DIR *acme_file_opendir_fd(int fd)
{
    int dup_fd = dup(fd);
    DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;

    if (d == NULL && dup_fd >= 0) {
        int e = errno;

        close(dup_fd);
        errno = e;
    }
    else if (d != NULL) {
        rewinddir(d);   /* the duplicate shares fd's offset: a second stream started at the end */
    }
    return d;
}

/* One pass over a directory's names, each removed below it. */
static apr_status_t remove_children(int fd, int depth_left)
{
    apr_status_t rv = APR_SUCCESS;
    struct dirent *e;
    DIR *d = acme_file_opendir_fd(fd);

    if (d == NULL) {
        return errno_status();
    }
    while ((e = readdir(d)) != NULL) {
        apr_status_t r;

        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) {
            continue;
        }
        r = acme_file_remove_at(fd, e->d_name, depth_left - 1);
        if (rv == APR_SUCCESS) {
            rv = r;
        }
    }
    closedir(d);
    return rv;
}

apr_status_t acme_file_remove_at(int dfd, const char *name, int max_depth)
{
    apr_status_t rv;
    int fd, pass;

    if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT) {
        return APR_SUCCESS;
    }
    if (errno != EISDIR && errno != EPERM) {
        return errno_status();
    }
    if (max_depth <= 0) {
        return APR_EINVAL;
    }
    fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        return errno == ENOENT ? APR_SUCCESS : errno_status();
    }
    /* a second pass for names readdir may have skipped while the first deleted */
    for (pass = 0, rv = APR_SUCCESS; pass < 2; pass++) {
        rv = remove_children(fd, max_depth);
        if (unlinkat(dfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT) {
            rv = APR_SUCCESS;
            break;
        }
        if (rv == APR_SUCCESS) {
            rv = errno_status();
        }
        if (errno != ENOTEMPTY && errno != EEXIST) {
            break;
        }
    }
    close(fd);
    return rv;
}

/* The directory holding path, opened for *at() calls; *base is the name in it. */
static apr_status_t open_parent(apr_pool_t *p, const char *path, int *dfd, const char **base)
{
    const char *slash = strrchr(path, '/');
    const char *dir = slash ? (slash == path ? "/" : apr_pstrndup(p, path, (apr_size_t)(slash - path)))
                            : ".";

    *base = slash ? slash + 1 : path;
    if (**base == '\0') {
        return APR_EINVAL;
    }
    *dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return *dfd < 0 ? errno_status() : APR_SUCCESS;
}

/* APR permission bits (APR_FPROT_*) as a Unix mode. */
static mode_t perms_mode(apr_fileperms_t perms)
{
    return (mode_t)(((perms & 0x0700) >> 2) | ((perms & 0x0070) >> 1) | (perms & 0x0007));
}

apr_status_t acme_file_read_secret(apr_pool_t *p, const char *path, apr_size_t max,
                                   const char **value)
{
    char *data = NULL;
    apr_size_t len = 0;
    apr_status_t rv = acme_file_read(p, path, max, &data, &len);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    while (len > 0 && apr_isspace(data[len - 1])) {
        data[--len] = '\0';
    }
    if (len == 0) {
        return APR_EINVAL;
    }
    *value = data;
    return APR_SUCCESS;
}

apr_status_t acme_file_write_atomic(apr_pool_t *p, const char *path,
                                    const void *data, apr_size_t len,
                                    apr_fileperms_t perms)
{
    return acme_file_write_atomic_ex(p, path, data, len, perms, 0);
}

apr_status_t acme_file_write_atomic_ex(apr_pool_t *p, const char *path,
                                       const void *data, apr_size_t len,
                                       apr_fileperms_t perms, int flags)
{
    const char *base;
    mode_t mode;
    apr_status_t rv;
    int dfd;

    if ((rv = open_parent(p, path, &dfd, &base)) != APR_SUCCESS) {
        return rv;
    }
    mode = perms == APR_FPROT_OS_DEFAULT ? ACME_FILE_MODE_UMASK : perms_mode(perms);
    rv = acme_file_write_at(p, dfd, base, data, len, mode, flags, (uid_t)-1, (gid_t)-1);
    close(dfd);
    return rv;
}

/* The user could rename, replace or add entries in the directory at path. */
static const char *changeable_by(apr_pool_t *p, const char *path, uid_t uid, gid_t gid)
{
    struct stat st;

    if (stat(path, &st) != 0) {
        return NULL;
    }
    if (st.st_uid == uid) {
        return "owned by that user";
    }
    if ((st.st_mode & S_IWGRP) && st.st_gid == gid) {
        return "writable by that user's group";
    }
    if ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX)) {
        return "writable by everybody";
    }
    return NULL;
}

/* Every prefix of an absolute path ("/", "/a", "/a/b", ...). */
static const char *check_prefixes(apr_pool_t *p, const char *path, uid_t uid, gid_t gid,
                                  const char **why)
{
    const char *q, *next;

    if ((*why = changeable_by(p, "/", uid, gid))) {
        return "/";
    }
    for (q = path; q && *q; q = next) {
        const char *prefix;

        next = strchr(q + 1, '/');
        prefix = next ? apr_pstrndup(p, path, (apr_size_t)(next - path)) : path;
        if (strcmp(prefix, "/") && (*why = changeable_by(p, prefix, uid, gid))) {
            return prefix;
        }
    }
    return NULL;
}

const char *acme_file_writable_on_path(apr_pool_t *p, const char *path, uid_t uid, gid_t gid,
                                       const char **why)
{
    char *abs = NULL, *real;
    const char *bad;

    *why = NULL;
    if (apr_filepath_merge(&abs, NULL, path, 0, p) != APR_SUCCESS) {
        return NULL;
    }
    if ((bad = check_prefixes(p, abs, uid, gid, why))) {
        return bad;
    }
    /* where links on the way lead */
    if ((real = realpath(abs, NULL)) != NULL) {
        char *copy = apr_pstrdup(p, real);

        free(real);
        return check_prefixes(p, copy, uid, gid, why);
    }
    return NULL;
}

apr_status_t acme_file_mkdirs(apr_pool_t *p, const char *path, apr_fileperms_t perms)
{
    return apr_dir_make_recursive(path, perms, p);
}
