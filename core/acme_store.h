/* acme_store.h: the store interface: named items per group and entry, whole-entry replacement, entry locks a backend can fence, and the local files mod_ssl loads; engine-neutral (files today, a shared engine for fleets). */
#ifndef ACME_STORE_H
#define ACME_STORE_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include <jansson.h>

#include "acme_log.h"

/*
 * What the store holds (see README "Store layout and ownership"): ITEMS,
 * named by group, entry and item name. An entry is a domain's id as
 * configured ("example.org", "*.example.org", "tnauthlist-1234"), a CA's id
 * (accounts), an identifier (challenges), or one of the module's own records
 * (names starting with '_'). How a backend spells them (a directory "_.",
 * a key) is its own business: callers never build a path or a key, and
 * never look at a file of the store themselves.
 *
 * Local and shared groups. DOMAINS, ARCHIVE, STAGING and FALLBACK are
 * always local files of this machine: mod_ssl loads files, and the
 * privileged parent, which never talks to the network, reads staged sets
 * and writes what it serves. The other groups may live in a shared engine
 * (a fleet's store); PUBLISHED exists only there.
 *
 * Owners. Only the privileged parent writes DOMAINS, ARCHIVE and FALLBACK
 * (acme_store_root_group); the unprivileged drive writes the others, and
 * the parent never writes or follows anything inside those.
 */
typedef enum {
    ACME_SG_DOMAINS = 0,  /* active sets: fullchain[.type].pem, privkey[.type].pem, meta.json */
    ACME_SG_STAGING,      /* verified new sets waiting for activation */
    ACME_SG_ARCHIVE,      /* replaced active sets, one entry per replacement */
    ACME_SG_ACCOUNTS,     /* per CA: account.pem (key), account.json, trust.json */
    ACME_SG_CHALLENGES,   /* per identifier: http-01 answers, the tls-alpn-01 certificate */
    ACME_SG_STATE,        /* per domain: the drive's record (status, order, marks); the module's
                           * own records in entries starting with '_' */
    ACME_SG_FALLBACK,     /* per domain: the self-signed certificate served before the first
                           * real one; "_shared": their one key */
    ACME_SG_PUBLISHED,    /* shared stores only: each domain's last finished set, for the
                           * other nodes of a fleet; a file store has none (APR_ENOTIMPL) */
    ACME_SG_COUNT
} acme_store_group_e;

/* "domains", "staging", ... (NULL for a value out of range). */
const char *acme_store_group_name(acme_store_group_e g);
/* 1 for the groups only the privileged parent writes (domains, archive, fallback). */
int acme_store_root_group(acme_store_group_e g);
/* 1 for the groups that are local files whatever the backend (domains,
 * archive, staging, fallback). */
int acme_store_local_group(acme_store_group_e g);

/* Flags of save and of an item of replace. */
#define ACME_STORE_PRIVATE 0x1      /* readable by the owner only (a file: 0600) */
#define ACME_STORE_REGENERABLE 0x2  /* atomic, not durable (no fsync): only for
                                     * material rebuilt or fetched again when a
                                     * power cut loses it (fallback certificates,
                                     * challenge answers, records, bare order URLs) */

/* The caller's lock is no longer held (a lease ran out or was taken over):
 * nothing was written; the caller must stop what it does under that lock. */
#define ACME_STORE_ELOST (APR_OS_START_USERERR + 1310)

typedef struct acme_store_t acme_store_t;
typedef struct acme_store_lock_t acme_store_lock_t;
struct acme_seal_keys_t;

/* One item of a whole entry written by replace. */
typedef struct acme_store_item_t {
    const char *name;
    const char *data;
    apr_size_t len;
    int flags;          /* ACME_STORE_PRIVATE */
} acme_store_item_t;

/* A local file of a root group for a consumer that loads files (mod_ssl). */
typedef struct acme_store_file_t {
    const char *path;       /* the file; when refused, what was found unfit */
    const char *version;    /* changes whenever the content may have changed: a memo
                             * keyed by it never needs to read the file again */
    const char *expected;   /* when refused: what was expected instead (for the log) */
} acme_store_file_t;

struct acme_store_t {
    const char *kind;   /* "file", "redis", ... */
    void *baton;

    /* Every operation takes the group, the entry and (where it applies) the
     * item; an entry or item name the backend cannot hold is APR_EINVAL. */

    /* APR_ENOENT when absent. *data is NUL-terminated (not counted in *len). */
    apr_status_t (*load)(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                         const char *entry, const char *item, char **data, apr_size_t *len);
    /* Atomic replace of one item (readers see the old bytes or the new);
     * durable unless ACME_STORE_REGENERABLE. fence: the lock this write is
     * made under, or NULL (see "Locks" below). */
    apr_status_t (*save)(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                         const char *entry, const char *item, const void *data,
                         apr_size_t len, int flags, const acme_store_lock_t *fence);
    /* item NULL removes the whole entry. Absent is not an error. */
    apr_status_t (*remove)(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                           const char *entry, const char *item,
                           const acme_store_lock_t *fence);
    /* entry NULL: the entries of g; otherwise the items of that entry (none
     * when it is absent). Sorted, as given to save. */
    apr_status_t (*list)(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                         const char *entry, apr_array_header_t **names);
    /* Replace entry of g by exactly these items (acme_store_item_t), written
     * fresh, atomically and durably: readers see the old set or the new one,
     * never a mix or none. The replaced entry moves to group `archive`
     * (ACME_SG_COUNT: dropped). Activation of a verified set (acme_activate);
     * a fleet's published set. */
    apr_status_t (*replace)(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                            const char *entry, const apr_array_header_t *items,
                            acme_store_group_e archive, const acme_store_lock_t *fence);
    /* Remove crash leftovers of group g (interrupted deletions and
     * replacements, temp files of writers that died), never following a
     * link. Called by the process that owns g. APR_SUCCESS, or the first
     * thing that could not be removed with *odd saying which and why. */
    apr_status_t (*sweep)(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                          const char **odd);

    /* Locks. An exclusive lock on one entry (a domain's drive: STATE; an
     * account per CA: ACCOUNTS), across processes, threads and, in a shared
     * store, machines: waits up to `wait` (0: try once), APR_TIMEUP while
     * held elsewhere. Released by unlock or by the cleanup of p; a crashed
     * holder never leaves it stuck (a file lock dies with its process, a
     * shared store's is a lease with a time limit).
     * A write that must not happen once the lock is lost (order progress,
     * an account, a published set) passes the lock as `fence`: a backend
     * whose locks are leases refuses it with ACME_STORE_ELOST when the lease
     * is gone or superseded, so a paused holder never overwrites its
     * successor. Writes any holder may make (status, challenge answers)
     * pass NULL. */
    apr_status_t (*lock)(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                         const char *entry, apr_interval_time_t wait,
                         acme_store_lock_t **lock);
    /* The lock is still the caller's with at least `need` left (a leasing
     * backend extends it as far as it can): APR_SUCCESS, else ACME_STORE_ELOST.
     * Asked before a step that must not run twice (newOrder, finalize) and
     * regularly while the holder works. */
    apr_status_t (*hold)(acme_store_lock_t *lock, apr_interval_time_t need);
    apr_status_t (*unlock)(acme_store_lock_t *lock);

    /* The local file of an item of a root group (DOMAINS, FALLBACK) for a
     * consumer that loads files itself: only when the entry is a real
     * directory owned by the caller and writable by nobody else and the item
     * a regular file of the caller's with one link. APR_ENOENT when absent;
     * APR_EINVAL when something else is there (f->path and f->expected say
     * what, for the log); APR_ENOTIMPL for other groups. */
    apr_status_t (*file)(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                         const char *entry, const char *item, acme_store_file_t *f);
    /* How an item (or entry, or group) is named for people: a path, a key.
     * For messages only; nothing is ever opened by it. */
    const char *(*where)(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                         const char *entry, const char *item);
    /* Called by the privileged parent at each (re)start before it reads
     * anything: the local store must be out of reach of the unprivileged
     * user (uid/gid; -1: none), else APR_EACCES with *place the directory
     * and *why what the user could do; then the local groups get their
     * owners (root's groups the caller's, the others the user's), else a
     * failure with *place the group. Never follows a link. */
    apr_status_t (*prepare)(acme_store_t *s, apr_pool_t *p, long uid, long gid,
                            const char **place, const char **why);
};

/* What acme_store_open opens. */
typedef struct acme_store_spec_t {
    const char *dir;            /* the local directory: the whole file store, or the
                                 * local groups of a shared store */
    const char *url;            /* NULL or "file": files only; else the shared engine
                                 * ("redis://..."), for the shared groups */
    int flags;                  /* ACME_STORE_OPEN_* */
    const acme_logger_t *log;   /* may be NULL */
    /* a shared store only: */
    const struct acme_seal_keys_t *keys;  /* seal private items (acme_seal.h); NULL: refused */
    const char *node;           /* this node's name (lock owner, publisher) */
    apr_interval_time_t lock_ttl;   /* lease time of a lock; 0: the engine's default */
    apr_interval_time_t recheck;    /* longest wait before an unreachable engine is tried
                                     * again; 0: the engine's default */
} acme_store_spec_t;

/* Flags of acme_store_spec_t. */
#define ACME_STORE_OPEN_NOSWEEP 0x1  /* leave crash leftovers (old temp files, interrupted
                                      * deletions) to an explicit sweep by their owner */

/* The store spec names. APR_ENOTIMPL for an engine this build does not
 * have; on failure *err (may be NULL) says what, for the log. */
apr_status_t acme_store_open(apr_pool_t *p, const acme_store_spec_t *spec, acme_store_t **store,
                             const char **err);

/* File backend rooted at dir (created 0755 when missing). */
apr_status_t acme_store_file_open(apr_pool_t *p, const char *dir, int flags,
                                  acme_store_t **store);

/* The entry name of a domain or identifier given by a person or another
 * program: lower-case, a leading "_." (a wildcard's directory in a file
 * store) read as "*."; NULL when it cannot name an entry (empty, "/",
 * "..", a leading '.', control characters, longer than 255). */
const char *acme_store_entry(apr_pool_t *p, const char *name);

/* 1 when entry of g holds at least one item. */
int acme_store_has_entry(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                         const char *entry);

/* JSON over load/save (parsed strictly, owned by p; written indented). */
apr_status_t acme_store_load_json(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                                  const char *entry, const char *item, json_t **json);
apr_status_t acme_store_save_json(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                                  const char *entry, const char *item, const json_t *json,
                                  int flags, const acme_store_lock_t *fence);

/* Item names of a certificate set (README "Store layout and ownership", mod_acme(8) STORE). */
const char *acme_store_chain_item(apr_pool_t *p, const char *key_type); /* "fullchain.ec256.pem" */
const char *acme_store_pkey_item(apr_pool_t *p, const char *key_type);  /* "privkey.ec256.pem" */

#endif
