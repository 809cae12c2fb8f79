/* acme_file.h: whole-file reads with a size limit and crash-safe atomic writes. */
#ifndef ACME_FILE_H
#define ACME_FILE_H

#include <dirent.h>
#include <sys/types.h>

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

/* Flags for acme_file_write_atomic_ex and acme_file_write_at. */
#define ACME_FILE_NOSYNC 0x1     /* atomic but not durable: no fsync of file or directory;
                                  * only for material that is regenerated when lost */
#define ACME_FILE_NODIRSYNC 0x2  /* fsync the file but not the directory (the caller
                                  * syncs it once after several writes) */

/* acme_file_write_atomic with flags (0 is acme_file_write_atomic). */
apr_status_t acme_file_write_atomic_ex(apr_pool_t *p, const char *path,
                                       const void *data, apr_size_t len,
                                       apr_fileperms_t perms, int flags);

/* acme_file_write_atomic below an open directory, by name: the temp file is
 * created exclusively (never through a link) with exactly `mode`, renamed
 * over `name` inside dfd, so nothing outside dfd is ever touched whatever
 * another user does to the paths leading there. uid/gid other than -1:
 * the new file's owner (set on the descriptor before the rename).
 * ACME_FILE_MODE_UMASK as mode: 0666 less the umask. */
#define ACME_FILE_MODE_UMASK ((mode_t)-1)
apr_status_t acme_file_write_at(apr_pool_t *p, int dfd, const char *name, const void *data,
                                apr_size_t len, mode_t mode, int flags, uid_t uid, gid_t gid);

/* Read `name` below an open directory without following a symlink or
 * blocking on a FIFO: only a regular file with exactly one link (a hard
 * link could be anybody's file); APR_EINVAL for anything else, APR_ENOSPC
 * when larger than max. *data is NUL-terminated. */
apr_status_t acme_file_read_at(apr_pool_t *p, int dfd, const char *name, apr_size_t max,
                               char **data, apr_size_t *len);

/* Remove `name` below an open directory: a file, or a directory with what it
 * holds down to max_depth levels, through descriptors only (a symlink is
 * removed, never followed). What cannot be removed is left in place and the
 * first failure returned (APR_EINVAL: deeper than max_depth); absent is
 * not an error. */
apr_status_t acme_file_remove_at(int dfd, const char *name, int max_depth);

/* A DIR stream over a duplicate of an open directory descriptor (fd stays
 * the caller's); NULL with errno set. Close it with closedir. */
DIR *acme_file_opendir_fd(int fd);

/* A random name "<prefix><12 base64url chars>" (temp files and directories). */
apr_status_t acme_file_temp_name(apr_pool_t *p, const char *prefix, const char **name);

/* The first directory leading to path (every ancestor as written and as
 * resolved, and path itself) that the user uid/gid could change: owned by
 * it, writable by its group, or writable by everybody without the sticky
 * bit. NULL when there is none (or path does not exist yet); *why says what
 * was found. */
const char *acme_file_writable_on_path(apr_pool_t *p, const char *path, uid_t uid, gid_t gid,
                                       const char **why);

/* mkdir -p with perms for the directories it creates. */
apr_status_t acme_file_mkdirs(apr_pool_t *p, const char *path, apr_fileperms_t perms);

#endif
