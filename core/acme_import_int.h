/* acme_import_int.h: what the importers (acme_import.c for mod_md, acme_import_certbot.c for certbot) share inside the core: limits, file reading, notes, domains and accounts; not for mod/ or tools/. */
#ifndef ACME_IMPORT_INT_H
#define ACME_IMPORT_INT_H

#include <apr_tables.h>
#include <apr_time.h>
#include "acme_import.h"
#include "acme_log.h"

/* Limits on what is read: these are small files; anything bigger is not theirs. */
#define JSON_MAX (1024 * 1024)
#define KEY_MAX (64 * 1024)
#define NOTE_TEXT_MAX 200

/* Text from a file, fit for a one-line report: control characters become '?'
 * and it is cut at max characters. */
const char *acme_import_printable(apr_pool_t *p, const char *s, apr_size_t max);

/* Add a note (why something was or was not taken) to d. */
void acme_import_note(apr_pool_t *p, acme_import_domain_t *d, const char *fmt, ...)
    ACME_PRINTF(3, 4);

/* rel below dir; an absolute path stays as it is. */
const char *acme_import_join(apr_pool_t *p, const char *dir, const char *rel);

/* The file dir/rel, at most max bytes; NULL when it cannot be read (*rv says why). */
char *acme_import_read_rel(apr_pool_t *p, const char *dir, const char *rel, apr_size_t max,
                           apr_size_t *len, apr_status_t *rv);

/* Why rel could not be read, for a note. */
const char *acme_import_read_error(apr_pool_t *p, const char *rel, apr_status_t rv);

int acme_import_is_dir(apr_pool_t *p, const char *path);

/* The entries of a directory (no "." and ".."), sorted; only directories and
 * symbolic links (which callers report, not follow) when dirs is set. Empty
 * when it cannot be read. */
apr_array_header_t *acme_import_list_dir(apr_pool_t *p, const char *path, int dirs);

/* Why rel (under dir) is not taken when it is a symbolic link, else NULL. */
const char *acme_import_link_reason(apr_pool_t *p, const char *dir, const char *rel);

/* A new, empty domain found at source. */
acme_import_domain_t *acme_import_new_domain(apr_pool_t *p, const char *source);

/* Checks one chain + key pair of d and takes it, or notes why not. With
 * preferred set (certbot) d's names come from the certificate. */
void acme_import_take_pair(apr_pool_t *p, acme_import_domain_t *d, const char *dir,
                           const char *rel_chain, const char *rel_key, const void *pass,
                           apr_size_t pass_len, apr_time_t now, const char *preferred);

/* An account found at source (relative path), known there as ref. */
acme_import_account_t *acme_import_new_account(apr_pool_t *p, acme_import_t *imp,
                                               const char *source, const char *ref);

/* Whether an account can be taken, after reading its key from krel gave rv. */
void acme_import_account_verdict(apr_pool_t *p, acme_import_account_t *a, apr_status_t rv,
                                 const char *krel, const char *unreadable);

#endif
