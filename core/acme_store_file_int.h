/* acme_store_file_int.h: what the file store's files (acme_store_file.c, acme_store_file_owner.c, acme_store_file_path.c) share inside the core: the backend's state, names on disk and directories opened by descriptor; not for mod/ or tools/. */
#ifndef ACME_STORE_FILE_INT_H
#define ACME_STORE_FILE_INT_H

#include <dirent.h>
#include <sys/types.h>

#include "acme_store.h"

#define DEL_PREFIX ".del."
#define NEW_PREFIX ".new."
/* group/entry/item, and what a removed entry may hold beyond that */
#define REMOVE_DEPTH 8

typedef struct {
    const char *dir;
} file_store_t;

/* ---- names and directories (acme_store_file_path.c) ---- */

apr_status_t acme_sf_errno_status(void);
/* A name usable as one path component: nothing that escapes or hides. */
int acme_sf_name_ok(const char *s);
/* acme_file_write_at's temp files are "<name>.tmp.<12 base64url chars>". */
int acme_sf_is_temp_name(const char *s);
/* A group this backend holds: every one but PUBLISHED (shared stores only). */
int acme_sf_group_ok(acme_store_group_e g);
const char *acme_sf_group_path(const file_store_t *fs, apr_pool_t *p, acme_store_group_e g);
int acme_sf_open_dir_at(int dfd, const char *name);
/* A link or a file where a directory belongs is refused, never followed. */
apr_status_t acme_sf_dir_error(void);
/* The group directory below the store directory, created when asked. */
apr_status_t acme_sf_open_group(const file_store_t *fs, apr_pool_t *p, acme_store_group_e g,
                                int create, int *gfd);
/* The type of a directory entry without following it. */
int acme_sf_entry_is(int dfd, const struct dirent *de, mode_t type);

/* ---- upkeep (acme_store_file_owner.c), the vtable's sweep and prepare ---- */

/* Interrupted deletions and replacements, and every entry's dead temp files. */
apr_status_t acme_sf_sweep(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                           const char **odd);
/* The store directory out of the user's reach, then each group directory
 * with its owner: root's groups the caller's, the others the user's. */
apr_status_t acme_sf_prepare(acme_store_t *s, apr_pool_t *p, long uid, long gid,
                             const char **place, const char **why);

#endif
