/* acme_store_file_owner.c: the file store's upkeep: what crashed writers left behind swept away, and the store's directories given their owners and modes (README "Store layout and ownership"). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_strings.h>

#include "acme_file.h"
#include "acme_store.h"
#include "acme_store_file_int.h"

/* A temp file younger than this may belong to a writer in another process. */
#define TEMP_MAX_AGE apr_time_from_sec(600)

/* ---------- crash leftovers ---------- */

static int old_enough(int dfd, const char *name, apr_time_t now)
{
    struct stat st;

    return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0
           && now - apr_time_from_sec(st.st_mtime) > TEMP_MAX_AGE;
}

/* Remove what a dead writer left, remembering the first failure. */
static void sweep_remove(apr_pool_t *p, int dfd, const char *shown, const char *name,
                         apr_status_t *rv, const char **odd)
{
    apr_status_t r = acme_file_remove_at(dfd, name, REMOVE_DEPTH);

    if (r != APR_SUCCESS && *rv == APR_SUCCESS) {
        char buf[120];

        *rv = r;
        *odd = apr_psprintf(p, "%s/%s: a crash leftover that cannot be removed (%s); expected "
                            "a directory of at most %d levels of plain files", shown, name,
                            r == APR_EINVAL ? "deeper than that"
                                            : apr_strerror(r, buf, sizeof(buf)), REMOVE_DEPTH);
    }
}

/* Temp files of writers that died, in one entry directory. */
static void sweep_entry(apr_pool_t *p, int gfd, const char *shown, const char *name,
                        apr_time_t now, apr_status_t *rv, const char **odd)
{
    struct dirent *de;
    DIR *d;
    int efd = acme_sf_open_dir_at(gfd, name);

    if (efd < 0 || (d = fdopendir(efd)) == NULL) {
        if (efd >= 0) {
            close(efd);
        }
        return;
    }
    while ((de = readdir(d)) != NULL) {
        if (acme_sf_is_temp_name(de->d_name) && old_enough(efd, de->d_name, now)) {
            sweep_remove(p, efd, apr_pstrcat(p, shown, "/", name, NULL), de->d_name, rv, odd);
        }
    }
    closedir(d);
}

/* Interrupted deletions and replacements, and every entry's dead temp files. */
apr_status_t acme_sf_sweep(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                           const char **odd)
{
    const char *shown = acme_store_group_name(g);
    apr_time_t now = apr_time_now();
    apr_status_t rv = APR_SUCCESS;
    struct dirent *de;
    DIR *d;
    int gfd;

    *odd = NULL;
    if (acme_sf_open_group(s->baton, p, g, 0, &gfd) != APR_SUCCESS) {
        return APR_SUCCESS;     /* nothing there yet */
    }
    if ((d = acme_file_opendir_fd(gfd)) == NULL) {
        rv = acme_sf_errno_status();
        close(gfd);
        return rv;
    }
    while ((de = readdir(d)) != NULL) {
        if (!strncmp(de->d_name, DEL_PREFIX, strlen(DEL_PREFIX))
            || !strncmp(de->d_name, NEW_PREFIX, strlen(NEW_PREFIX))) {
            if (old_enough(gfd, de->d_name, now)) {
                sweep_remove(p, gfd, shown, de->d_name, &rv, odd);
            }
        }
        else if (acme_sf_name_ok(de->d_name) && acme_sf_entry_is(gfd, de, S_IFDIR)) {
            sweep_entry(p, gfd, shown, de->d_name, now, &rv, odd);
        }
    }
    closedir(d);
    close(gfd);
    return rv;
}

/* ---------- owners and modes ---------- */

/* The user could change what is in a directory with this owner and mode. */
static int user_can_write(const struct stat *st, uid_t uid, gid_t gid)
{
    return (uid != (uid_t)-1 && st->st_uid == uid)
           || ((st->st_mode & S_IWGRP) && gid != (gid_t)-1 && st->st_gid == gid)
           || (st->st_mode & S_IWOTH);
}

/* What root wrote into a group before handing it over (acmectl run as root
 * on a new store, import): given to the user, children before their
 * directory, through descriptors. Only called while the group directory is
 * out of the user's reach, so nothing in it can have been planted and names
 * cannot change under us; links and anything else than plain files with one
 * link and directories are left alone. */
static void hand_over(int dfd, uid_t uid, gid_t gid, int depth)
{
    struct dirent *de;
    DIR *d = acme_file_opendir_fd(dfd);

    if (d == NULL) {
        return;
    }
    while ((de = readdir(d)) != NULL) {
        struct stat st;
        int fd;

        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")
            || fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            continue;
        }
        if (S_ISDIR(st.st_mode) && depth > 0 && (fd = acme_sf_open_dir_at(dfd, de->d_name)) >= 0) {
            hand_over(fd, uid, gid, depth - 1);
        }
        else if (S_ISREG(st.st_mode) && st.st_nlink == 1) {
            fd = openat(dfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        }
        else {
            continue;
        }
        if (fd >= 0 && fstat(fd, &st) == 0 && (S_ISDIR(st.st_mode) || st.st_nlink == 1)
            && fchown(fd, uid, gid) != 0) {
            /* Best effort: the group check at startup reports what the
             * user still cannot read. */
        }
        if (fd >= 0) {
            close(fd);
        }
    }
    closedir(d);
}

/* One group directory, owner and mode set on its descriptor when they differ
 * (chown changes ctime even when nothing changes); the mode after the owner,
 * since chown may clear bits. A directory already the user's (or one it
 * could write) is never looked into. */
static apr_status_t settle_group(int sfd, const char *name, uid_t uid, gid_t gid, int to_user)
{
    struct stat st;
    apr_status_t rv = APR_SUCCESS;
    int fd;

    if (mkdirat(sfd, name, 0755) != 0 && errno != EEXIST) {
        return acme_sf_errno_status();
    }
    if ((fd = acme_sf_open_dir_at(sfd, name)) < 0) {
        return acme_sf_dir_error();
    }
    if (fstat(fd, &st) != 0) {
        rv = acme_sf_errno_status();
    }
    else if ((uid != (uid_t)-1 && st.st_uid != uid) || (gid != (gid_t)-1 && st.st_gid != gid)) {
        if (to_user && !user_can_write(&st, uid, gid)) {
            hand_over(fd, uid, gid, REMOVE_DEPTH);
        }
        if (fchown(fd, uid, gid) != 0 || fchmod(fd, 0755) != 0) {
            rv = acme_sf_errno_status();
        }
    }
    else if ((st.st_mode & 07777) != 0755 && fchmod(fd, 0755) != 0) {
        rv = acme_sf_errno_status();
    }
    close(fd);
    return rv;
}

/* The store directory out of the user's reach, then each group directory
 * with its owner: root's groups the caller's, the others the user's. */
apr_status_t acme_sf_prepare(acme_store_t *s, apr_pool_t *p, long uid, long gid,
                             const char **place, const char **why)
{
    file_store_t *fs = s->baton;
    apr_status_t rv = APR_SUCCESS;
    int sfd;

    *place = *why = NULL;
    if (uid != -1 && (*place = acme_file_writable_on_path(p, fs->dir, (uid_t)uid, (gid_t)gid,
                                                           why)) != NULL) {
        return APR_EACCES;
    }
    if ((sfd = open(fs->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        *place = fs->dir;
        return acme_sf_errno_status();
    }
    for (int g = 0; g < ACME_SG_COUNT && rv == APR_SUCCESS; g++) {
        int root = acme_store_root_group((acme_store_group_e)g);

        if (!acme_sf_group_ok((acme_store_group_e)g)) {
            continue;
        }
        rv = settle_group(sfd, acme_store_group_name((acme_store_group_e)g),
                          root ? geteuid() : (uid_t)uid, root ? getegid() : (gid_t)gid,
                          !root && uid != -1);
        if (rv != APR_SUCCESS) {
            *place = acme_sf_group_path(fs, p, (acme_store_group_e)g);
        }
    }
    close(sfd);
    return rv;
}
