/* acme_store.h: the store interface (named objects per group and entry, plus per-entry locks); backends implement the vtable. */
#ifndef ACME_STORE_H
#define ACME_STORE_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include <jansson.h>

/* Groups keep what differs in owner and lifetime apart (see README "Store
 * layout and ownership"): only the privileged parent writes DOMAINS, ARCHIVE
 * and FALLBACK (what it and mod_ssl load); the unprivileged drive writes the
 * others, and the parent never writes or follows a path inside those. */
typedef enum {
    ACME_SG_DOMAINS = 0,  /* active: domains/<id>/fullchain[.type].pem, privkey[.type].pem */
    ACME_SG_STAGING,      /* staging/<id>/: verified new material waiting for activation */
    ACME_SG_ARCHIVE,      /* archive/<id>.<timestamp>/: replaced active material */
    ACME_SG_ACCOUNTS,     /* accounts/<ca-id>/: account.pem (key), account.json */
    ACME_SG_CHALLENGES,   /* challenges/<identifier>/: http-01 answers, tls-alpn-01 cert */
    ACME_SG_STATE,        /* state/<id>/: drive progress (order.json), status.json, schedule */
    ACME_SG_FALLBACK,     /* fallback/<id>/: self-signed certificates served before the first
                           * real one; fallback/_shared/: their key */
    ACME_SG_COUNT
} acme_store_group_e;

const char *acme_store_group_name(acme_store_group_e g);

/* Flags of save (its is_private argument). */
#define ACME_STORE_PRIVATE 0x1      /* readable by the owner only (0600) */
#define ACME_STORE_REGENERABLE 0x2  /* atomic, not durable (no fsync): only for
                                     * material rebuilt or fetched again when a
                                     * power cut loses it (fallback certs,
                                     * challenge answers, drive progress) */

typedef struct acme_store_t acme_store_t;
typedef struct acme_store_lock_t acme_store_lock_t;

/* One item of a whole entry written by replace. */
typedef struct acme_store_item_t {
    const char *name;
    const char *data;
    apr_size_t len;
    int flags;          /* ACME_STORE_PRIVATE */
} acme_store_item_t;

struct acme_store_t {
    const char *kind;   /* "file", "redis" */
    void *baton;
    /* APR_ENOENT when absent. Data NUL-terminated. */
    apr_status_t (*load)(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                         const char *entry, const char *item, char **data, apr_size_t *len);
    /* Atomic replace. is_private: ACME_STORE_PRIVATE (readable by the owner
     * only, 0600; 1 for compatibility), optionally | ACME_STORE_REGENERABLE. */
    apr_status_t (*save)(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                         const char *entry, const char *item, const void *data,
                         apr_size_t len, int is_private);
    /* item NULL removes the whole entry. Absent is not an error. */
    apr_status_t (*remove)(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                           const char *entry, const char *item);
    /* entry NULL: the entries of g; otherwise the items of that entry. Sorted. */
    apr_status_t (*list)(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                         const char *entry, apr_array_header_t **names);
    /* Modification time of an item (or entry when item is NULL). */
    apr_status_t (*mtime)(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                          const char *entry, const char *item, apr_time_t *mtime);
    /* Replace entry of g by exactly these items (acme_store_item_t), written
     * fresh by the caller, atomically and durably: readers see the old set or
     * the new one, never a mix or none. The replaced entry moves to `archive`
     * (ACME_SG_COUNT: dropped). Activation of a verified set (acme_activate). */
    apr_status_t (*replace)(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                            const char *entry, const apr_array_header_t *items,
                            acme_store_group_e archive);
    /* Remove crash leftovers of group g (interrupted deletions and
     * replacements, temp files of writers that died), never following a link.
     * Called by the process that owns g. APR_SUCCESS, or the first thing that
     * could not be removed with *odd saying which and why (for the log). */
    apr_status_t (*sweep)(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                          const char **odd);
    /* Exclusive lock on one entry of a group (a domain's drive: STATE; an
     * account per CA: ACCOUNTS) across processes and threads; waits up to
     * `wait` (0: try once), APR_TIMEUP when held elsewhere. Released by
     * unlock or by cleanup of p; a crashed holder never leaves it stuck. */
    apr_status_t (*lock)(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                         const char *entry, apr_interval_time_t wait,
                         acme_store_lock_t **lock);
    apr_status_t (*unlock)(acme_store_lock_t *lock);
    /* A local file path for an item, for consumers that need files (mod_ssl);
     * NULL when the backend has none. */
    const char *(*path)(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                        const char *entry, const char *item);
};

/* File backend rooted at dir (created 0755 when missing). */
apr_status_t acme_store_file_open(apr_pool_t *p, const char *dir, acme_store_t **store);

/* Flags of acme_store_file_open_ex. */
#define ACME_STORE_OPEN_NOSWEEP 0x1  /* leave crash leftovers (old temp files, interrupted
                                      * deletions) to an explicit sweep by their owner */

/* acme_store_file_open with flags (0 is acme_store_file_open). */
apr_status_t acme_store_file_open_ex(apr_pool_t *p, const char *dir, int flags,
                                     acme_store_t **store);

/* 1 for the groups only the privileged parent writes (domains, archive, fallback). */
int acme_store_root_group(acme_store_group_e g);

/* Create the group directories and give the unprivileged user (uid/gid;
 * -1: unchanged) the ones it writes (staging, challenges, accounts, state),
 * the caller the others; all 0755. Through descriptors, never a link. A
 * directory the user owns or can write is never looked into; only when a
 * group is handed over for the first time (root wrote into it before, e.g.
 * acmectl import) is what root put there handed over too, while the user
 * cannot yet change it. Called by the privileged parent; *failed names the
 * group directory that could not be set. */
apr_status_t acme_store_file_set_owner(acme_store_t *store, apr_pool_t *p, long uid, long gid,
                                       const char **failed);

/* JSON helpers over load/save (parsed strictly, owned by p). */
apr_status_t acme_store_load_json(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                                  const char *entry, const char *item, json_t **json);
apr_status_t acme_store_save_json(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                                  const char *entry, const char *item, const json_t *json,
                                  int is_private);

/* Item names of the certificate files (README "Store layout and ownership", mod_acme(8) STORE). */
const char *acme_store_chain_item(apr_pool_t *p, const char *key_type); /* "fullchain.ec256.pem" */
const char *acme_store_pkey_item(apr_pool_t *p, const char *key_type);  /* "privkey.ec256.pem" */

#endif
