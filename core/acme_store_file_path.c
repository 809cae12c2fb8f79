/* acme_store_file_path.c: the file store's names on disk and its directories opened by descriptor, shared by the backend (acme_store_file.c) and its upkeep (acme_store_file_owner.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "acme_store.h"
#include "acme_store_file_int.h"

#define MAX_NAME 255

apr_status_t acme_sf_errno_status(void)
{
    return APR_FROM_OS_ERROR(errno);
}

/* ---------- names ---------- */

/* A name usable as one path component: nothing that escapes or hides. */
int acme_sf_name_ok(const char *s)
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

/* acme_file_write_at's temp files are "<name>.tmp.<12 base64url chars>". */
int acme_sf_is_temp_name(const char *s)
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

/* A group this backend holds: every one but PUBLISHED (shared stores only). */
int acme_sf_group_ok(acme_store_group_e g)
{
    return acme_store_group_name(g) != NULL && g != ACME_SG_PUBLISHED;
}

const char *acme_sf_group_path(const file_store_t *fs, apr_pool_t *p, acme_store_group_e g)
{
    return acme_sf_group_ok(g) ? apr_pstrcat(p, fs->dir, "/", acme_store_group_name(g), NULL) : NULL;
}

/* ---------- directories by descriptor ---------- */

int acme_sf_open_dir_at(int dfd, const char *name)
{
    return openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* A link or a file where a directory belongs is refused, never followed. */
apr_status_t acme_sf_dir_error(void)
{
    return errno == ENOENT ? APR_ENOENT
           : (errno == ELOOP || errno == ENOTDIR) ? APR_EINVAL : acme_sf_errno_status();
}

/* The group directory below the store directory (which is the caller's:
 * root's for httpd, see README "Store layout and ownership"). Every group is
 * traversable: in domains/, archive/ and fallback/ the private keys
 * themselves are 0600, the certificates public. */
apr_status_t acme_sf_open_group(const file_store_t *fs, apr_pool_t *p, acme_store_group_e g,
                                int create, int *gfd)
{
    const char *gp = acme_sf_group_path(fs, p, g);
    int made;

    *gfd = -1;
    if (gp == NULL) {
        return g == ACME_SG_PUBLISHED ? APR_ENOTIMPL : APR_EINVAL;
    }
    made = create && mkdir(gp, 0755) == 0;
    if ((*gfd = open(gp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
        return acme_sf_dir_error();
    }
    if (made) {
        (void)fchmod(*gfd, 0755);   /* the umask does not apply */
    }
    return APR_SUCCESS;
}

/* The type of a directory entry without following it. */
int acme_sf_entry_is(int dfd, const struct dirent *de, mode_t type)
{
    struct stat st;

    if (de->d_type != DT_UNKNOWN) {
        return (type == S_IFDIR && de->d_type == DT_DIR) || (type == S_IFREG && de->d_type == DT_REG);
    }
    return fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && (st.st_mode & S_IFMT) == type;
}
