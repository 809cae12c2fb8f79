/* acme_activate.h: the one activation path: a staged certificate set read as bytes, verified, and written as a fresh active set (mod_acme's privileged parent and acmectl). */
#ifndef ACME_ACTIVATE_H
#define ACME_ACTIVATE_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include "acme_domain.h"
#include "acme_store.h"

/* No item of a set is larger (a chain of ten RSA 4096 certificates is ~25 KB). */
#define ACME_SET_ITEM_MAX (64 * 1024)
/* The item that completes a staged set (written last by the drive). */
#define ACME_SET_META "meta.json"

/* The certificate set of one domain, in memory. */
typedef struct acme_cert_set_t {
    const acme_domain_t *d;
    const char *entry;               /* d's store directory name */
    apr_array_header_t *items;       /* acme_store_item_t, in acme_set_item_names order */
    const char *digest;              /* hex SHA-256 over the items' names and bytes */
} acme_cert_set_t;

typedef enum {
    ACME_STAGED_NONE = 0,  /* nothing staged, or not complete yet (no meta.json) */
    ACME_STAGED_ACTIVE,    /* the same bytes as the active set: activated already */
    ACME_STAGED_NEW,       /* verified, and different from the active set */
    ACME_STAGED_BAD        /* refused: *why says what was found and what was expected */
} acme_staged_e;

/* The items of a set of d: per key type fullchain.<type>.pem and
 * privkey.<type>.pem, the first type's again as fullchain.pem and
 * privkey.pem, and meta.json. Nothing else is ever read or written. */
apr_array_header_t *acme_set_item_names(apr_pool_t *p, const acme_domain_t *d);

/* Read d's set from group g with the store's load, which takes only regular
 * files with one link and never follows a link or waits on a FIFO; every
 * item at most ACME_SET_ITEM_MAX. with_keys 0: the public items only (the
 * unprivileged drive cannot read the active keys). APR_ENOENT when meta.json
 * is missing (absent or not complete yet); any other failure sets *why to
 * the store path, what was found and what was expected. */
apr_status_t acme_set_read(acme_store_t *st, apr_pool_t *p, acme_store_group_e g,
                           const acme_domain_t *d, int with_keys, acme_cert_set_t **set,
                           const char **why);

/* Check the bytes of a complete set (with keys) for its domain: each key type's
 * key matches its certificate, the certificate names exactly d's names, the
 * chain is in order and each certificate issued by the next, every one valid
 * at `now` (the leaf not before now + 1 day), the unsuffixed pair the same
 * bytes as the first type's, meta.json an object naming d. NULL when sound,
 * else what is wrong. */
const char *acme_set_verify(apr_pool_t *p, const acme_cert_set_t *set, apr_time_t now);

/* The chain checks of acme_set_verify: an issuer present, each certificate
 * issued by the next, every one valid at `now` (the leaf not before now + 1
 * day). NULL when certs (acme_cert_t*, leaf first) pass, else why not. */
const char *acme_activate_check_chain(apr_pool_t *p, const apr_array_header_t *certs,
                                      apr_time_t now);

/* 1 when group g holds the same bytes for every item of set (public_only:
 * only the chains and meta.json are compared). */
int acme_set_same(acme_store_t *st, apr_pool_t *p, const acme_cert_set_t *set,
                  acme_store_group_e g, int public_only);

/* What staging holds for d: read, compared with the active set, verified.
 * *set (may be NULL) gets the staged set when there is one. */
acme_staged_e acme_activate_check(acme_store_t *st, apr_pool_t *p, const acme_domain_t *d,
                                  acme_cert_set_t **set, const char **why);

/* Write a verified set as d's active set: fresh files owned by the caller,
 * written and synced in a private directory, swapped in atomically; the
 * replaced set goes to archive/. Nothing of staging is moved or kept open. */
apr_status_t acme_activate_install(acme_store_t *st, apr_pool_t *p, const acme_cert_set_t *set);

/* check, then install when ACME_STAGED_NEW: the whole activation of one
 * domain. *state says what was found; APR_SUCCESS unless a staged set was
 * refused (*why) or could not be written. */
apr_status_t acme_activate(acme_store_t *st, apr_pool_t *p, const acme_domain_t *d,
                           acme_staged_e *state, const char **why);

#endif
