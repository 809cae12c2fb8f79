/* acme_file.c: bounded whole-file reads and crash-safe atomic writes (temp file, fsync, rename). */
#include <string.h>
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

/* Open a new, exclusive temp file next to path with perms from creation on. */
static apr_status_t open_temp(apr_pool_t *p, const char *path, apr_fileperms_t perms,
                              apr_file_t **f, const char **tmp)
{
    unsigned char rnd[9];
    apr_status_t rv = APR_EEXIST;
    int tries;

    for (tries = 0; tries < 5 && APR_STATUS_IS_EEXIST(rv); tries++) {
        rv = apr_generate_random_bytes(rnd, sizeof(rnd));
        if (rv != APR_SUCCESS) {
            return rv;
        }
        *tmp = apr_pstrcat(p, path, ".tmp.", acme_b64u_encode(p, rnd, sizeof(rnd)), NULL);
        rv = apr_file_open(f, *tmp, APR_FOPEN_WRITE | APR_FOPEN_CREATE | APR_FOPEN_EXCL
                           | APR_FOPEN_BINARY, perms, p);
    }
    if (rv == APR_SUCCESS && perms != APR_FPROT_OS_DEFAULT) {
        /* The umask may have narrowed perms; set exactly what was asked. */
        rv = apr_file_perms_set(*tmp, perms);
        if (rv == APR_INCOMPLETE || APR_STATUS_IS_ENOTIMPL(rv)) {
            rv = APR_SUCCESS;
        }
        if (rv != APR_SUCCESS) {
            apr_file_close(*f);
            apr_file_remove(*tmp, p);
        }
    }
    return rv;
}

/* fsync of the directory holding path, so the rename itself is durable. */
static apr_status_t sync_dir_of(apr_pool_t *p, const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dir = slash ? (slash == path ? "/" : apr_pstrndup(p, path, (apr_size_t)(slash - path))) : ".";
    apr_file_t *d;
    apr_status_t rv;

    rv = apr_file_open(&d, dir, APR_FOPEN_READ, APR_FPROT_OS_DEFAULT, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = apr_file_sync(d);
    apr_file_close(d);
    /* Some filesystems refuse fsync on directories; the data itself is synced. */
    return APR_STATUS_IS_EINVAL(rv) ? APR_SUCCESS : rv;
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
    int sync = !(flags & ACME_FILE_NOSYNC);

    apr_file_t *f;
    const char *tmp;
    apr_status_t rv;

    rv = open_temp(p, path, perms, &f, &tmp);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = len ? apr_file_write_full(f, data, len, NULL) : APR_SUCCESS;
    if (rv == APR_SUCCESS && sync) {
        rv = apr_file_sync(f);
    }
    if (rv == APR_SUCCESS) {
        rv = apr_file_close(f);
    }
    else {
        apr_file_close(f);
    }
    if (rv == APR_SUCCESS) {
        rv = apr_file_rename(tmp, path, p);
    }
    if (rv != APR_SUCCESS) {
        apr_file_remove(tmp, p);
        return rv;
    }
    /* Without fsync the rename is still atomic: readers see old or new, whole. */
    return sync ? sync_dir_of(p, path) : APR_SUCCESS;
}

apr_status_t acme_file_mkdirs(apr_pool_t *p, const char *path, apr_fileperms_t perms)
{
    return apr_dir_make_recursive(path, perms, p);
}
