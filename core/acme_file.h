/* acme_file.h: whole-file reads with a size limit and crash-safe atomic writes. */
#ifndef ACME_FILE_H
#define ACME_FILE_H

#include <apr_pools.h>
#include <apr_file_info.h>

/* Read at most max bytes; a larger file fails with APR_ENOSPC (never truncated).
 * *data is NUL-terminated. */
apr_status_t acme_file_read(apr_pool_t *p, const char *path, apr_size_t max,
                            char **data, apr_size_t *len);

/* A secret kept in a file (an EAB HMAC key): acme_file_read, then the
 * trailing whitespace an editor adds dropped. APR_EINVAL when nothing is
 * left. */
apr_status_t acme_file_read_secret(apr_pool_t *p, const char *path, apr_size_t max,
                                   const char **value);

/* Write via a temp file in the same directory, fsync, rename, fsync of the
 * directory. perms applies from creation on (no window with wider modes).
 * On failure nothing is left behind and the old file is untouched. */
apr_status_t acme_file_write_atomic(apr_pool_t *p, const char *path,
                                    const void *data, apr_size_t len,
                                    apr_fileperms_t perms);

/* Flags for acme_file_write_atomic_ex. */
#define ACME_FILE_NOSYNC 0x1  /* atomic but not durable: no fsync of file or directory;
                               * only for material that is regenerated when lost */

/* acme_file_write_atomic with flags (0 is acme_file_write_atomic). */
apr_status_t acme_file_write_atomic_ex(apr_pool_t *p, const char *path,
                                       const void *data, apr_size_t len,
                                       apr_fileperms_t perms, int flags);

/* mkdir -p with perms for the directories it creates. */
apr_status_t acme_file_mkdirs(apr_pool_t *p, const char *path, apr_fileperms_t perms);

#endif
