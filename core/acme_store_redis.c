/* acme_store_redis.c: the fleet store backend of acme_store_redis.h (Redis for shared groups, the file store for local ones). */
#include <string.h>
#include <unistd.h>

#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>

#include "acme_keeper.h"
#include "acme_redis_pool.h"
#include "acme_store_redis.h"

#define LOCK_POLL apr_time_from_msec(200)
/* the one record of the module's own ('_') that the fleet shares */
#define SHARED_MARKS "_marks"
/* Challenge answers outlive no pending authorization (7 days at most at
 * Let's Encrypt); the drive removes them long before. */
#define ANSWER_TTL apr_time_from_sec(8 * 24 * 3600)

typedef struct redis_store_t {
    apr_pool_t *pool;
    acme_store_t *local;
    const char *url;
    const acme_seal_keys_t *keys;
    const char *node;
    const acme_logger_t *log;
    acme_redis_pool_t *drive;         /* drives, watchdog: 2 s timeouts */
    acme_redis_pool_t *quick;         /* challenge lookups: 250 ms */
    acme_keeper_opts_t kopts;
    apr_thread_mutex_t *mutex;        /* keeper start */
    apr_pool_t *kpool;                /* the keeper's, made on the first lock */
    acme_keeper_t *keeper;
    apr_pool_t *wpool;                /* the watch connection's (watchdog thread only) */
    acme_redis_t *watch;
} redis_store_t;

struct acme_store_lock_t {
    redis_store_t *rs;
    apr_pool_t *pool;
    acme_store_lock_t *local;         /* a local entry's file lock */
    acme_kept_t *kept;                /* a Redis scope's lease */
    const char *scope;
};

/* The Redis scope of an entry of g; NULL for what stays local. */
static const char *scope_of(apr_pool_t *p, acme_store_group_e g, const char *entry)
{
    const char *s = NULL;

    if (!entry || !*entry) return NULL;
    if (g == ACME_SG_ACCOUNTS) s = apr_pstrcat(p, "a:", entry, NULL);
    else if ((g == ACME_SG_STATE && entry[0] != '_') || g == ACME_SG_PUBLISHED) {
        s = apr_pstrcat(p, "d:", entry, NULL);
    }
    /* acmectl's wake-up mark (acme_record.c): every node's watchdog must see it */
    else if (g == ACME_SG_STATE && !strcmp(entry, SHARED_MARKS)) s = "m:marks";
    else if (g == ACME_SG_CHALLENGES) s = apr_pstrcat(p, "c:", entry, NULL);
    return s && acme_fleet_scope_ok(s) ? s : NULL;
}

static int shared_group(acme_store_group_e g)
{
    return g == ACME_SG_ACCOUNTS || g == ACME_SG_STATE || g == ACME_SG_PUBLISHED;
}

/* The name a sealed item is bound to. */
static const char *seal_name(apr_pool_t *p, acme_store_group_e g, const char *entry,
                             const char *item)
{
    return apr_pstrcat(p, acme_store_group_name(g), "/", entry, "/", item, NULL);
}

/* The lease of a fence: NULL for no fence or a local lock; *lost when the
 * lease is gone. */
static const acme_lease_t *fence_lease(const acme_store_lock_t *fence, acme_lease_t *copy,
                                       int *lost)
{
    *lost = 0;
    if (!fence || !fence->kept) {
        *lost = fence && !fence->local;
        return NULL;
    }
    *copy = acme_keeper_lease(fence->kept);
    *lost = acme_keeper_check(fence->kept, 0) != APR_SUCCESS;
    return copy;
}

/* One write of items to scope: fenced with the fence's lease. */
static apr_status_t put_items(redis_store_t *rs, apr_pool_t *p, const char *scope,
                              const acme_fleet_item_t *items, int n, apr_interval_time_t ttl,
                              const acme_store_lock_t *fence)
{
    acme_redis_conn_t *c;
    acme_lease_t copy;
    const acme_lease_t *lease;
    int lost;
    apr_status_t rv;

    lease = fence_lease(fence, &copy, &lost);
    if (lost) {
        acme_log(rs->log, ACME_LOG_ERR, ACME_STORE_ELOST, "fleet store: the lock of %s is "
                 "lost; nothing written", scope);
        return ACME_STORE_ELOST;
    }
    if ((rv = acme_redis_pool_take(rs->drive, &c)) != APR_SUCCESS) return rv;
    rv = acme_redis_put(c->r, p, scope, lease, items, n, ttl);
    if (rv != APR_SUCCESS) {
        acme_log(rs->log, ACME_LOG_ERR, rv, "fleet store: writing %s: %s", scope,
                 acme_redis_error(c->r));
    }
    acme_redis_pool_give(rs->drive, c, rv);
    return rv == ACME_FLEET_EFENCED ? ACME_STORE_ELOST : rv;
}

static apr_status_t published_item(acme_store_t *s, apr_pool_t *p, const char *entry,
                                   const char *item, char **data, apr_size_t *len);

static apr_status_t rs_load(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                            const char *entry, const char *item, char **data, apr_size_t *len)
{
    redis_store_t *rs = s->baton;
    const char *scope = scope_of(p, g, entry), *err = NULL;
    acme_redis_pool_t *pool = rs->drive;
    char *raw;
    apr_size_t rawlen;
    apr_status_t rv;

    if (g == ACME_SG_PUBLISHED) return published_item(s, p, entry, item, data, len);
    if (!scope || g == ACME_SG_CHALLENGES) {
        rv = rs->local->load(rs->local, p, g, entry, item, data, len);
        if (!scope || !APR_STATUS_IS_ENOENT(rv)) return rv;
        pool = rs->quick;   /* an answer another node placed: the request path */
    }
    if (!item || !acme_fleet_name_ok(item)) return APR_EINVAL;
    if (pool == rs->quick) {
        rv = acme_redis_pool_get(pool, p, scope, item, &raw, &rawlen);
    }
    else {
        acme_redis_conn_t *c;
        if ((rv = acme_redis_pool_take(pool, &c)) != APR_SUCCESS) return rv;
        rv = acme_redis_get(c->r, p, scope, item, &raw, &rawlen);
        if (rv != APR_SUCCESS && !APR_STATUS_IS_ENOENT(rv)) {
            acme_log(rs->log, ACME_LOG_ERR, rv, "fleet store: reading %s %s: %s", scope, item,
                     acme_redis_error(c->r));
        }
        acme_redis_pool_give(pool, c, rv);
    }
    if (rv != APR_SUCCESS) return rv;
    if (!acme_seal_is_sealed(raw, rawlen)) {
        if (strstr(raw, "PRIVATE KEY")) {
            acme_log(rs->log, ACME_LOG_ERR, APR_EACCES, "fleet store: %s %s holds a private "
                     "key that is not sealed; refused", scope, item);
            return APR_EACCES;
        }
        *data = raw;
        *len = rawlen;
        return APR_SUCCESS;
    }
    if (!rs->keys) {
        acme_log(rs->log, ACME_LOG_ERR, APR_EACCES, "fleet store: %s %s is sealed and no "
                 "ACMEStoreKeyFile is set", scope, item);
        return APR_EACCES;
    }
    rv = acme_unseal(p, rs->keys, seal_name(p, g, entry, item), 0, raw, rawlen, data, len, &err);
    if (rv != APR_SUCCESS) {
        acme_log(rs->log, ACME_LOG_ERR, rv, "fleet store: %s %s: %s", scope, item,
                 err ? err : "cannot be opened");
    }
    return rv;
}

/* The local lock inside a lock of this backend, for the file store. */
static const acme_store_lock_t *local_fence(const acme_store_lock_t *fence)
{
    return fence ? fence->local : NULL;
}

static apr_status_t rs_save(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                            const char *entry, const char *item, const void *data,
                            apr_size_t len, int is_private, const acme_store_lock_t *fence)
{
    redis_store_t *rs = s->baton;
    const char *scope = scope_of(p, g, entry);
    acme_fleet_item_t it;
    apr_status_t rv;

    if (g == ACME_SG_PUBLISHED) return APR_ENOTIMPL;    /* whole sets only: replace */
    if (!scope) {
        return rs->local->save(rs->local, p, g, entry, item, data, len, is_private,
                               local_fence(fence));
    }
    if (!item || !acme_fleet_name_ok(item)) return APR_EINVAL;
    if (g == ACME_SG_CHALLENGES
        && (rv = rs->local->save(rs->local, p, g, entry, item, data, len, is_private, NULL))
           != APR_SUCCESS) {
        return rv;
    }
    it.name = item;
    it.data = data;
    it.len = len;
    if (is_private & ACME_STORE_PRIVATE) {
        unsigned char *blob;
        if (!rs->keys) {
            acme_log(rs->log, ACME_LOG_ERR, APR_EACCES, "fleet store: %s %s is private and "
                     "no ACMEStoreKeyFile is set to seal it; not written", scope, item);
            return APR_EACCES;
        }
        if ((rv = acme_seal(p, rs->keys, seal_name(p, g, entry, item), 0, data, len, &blob,
                            &it.len)) != APR_SUCCESS) {
            return rv;
        }
        it.data = blob;
    }
    return put_items(rs, p, scope, &it, 1, g == ACME_SG_CHALLENGES ? ANSWER_TTL : 0, fence);
}

static apr_status_t redis_names(redis_store_t *rs, apr_pool_t *p, const char *scope,
                                apr_array_header_t **names)
{
    acme_redis_conn_t *c;
    apr_status_t rv;

    if ((rv = acme_redis_pool_take(rs->drive, &c)) != APR_SUCCESS) return rv;
    rv = acme_redis_list(c->r, p, scope, names);
    acme_redis_pool_give(rs->drive, c, rv);
    return rv;
}

static apr_status_t rs_remove(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                              const char *entry, const char *item,
                              const acme_store_lock_t *fence)
{
    redis_store_t *rs = s->baton;
    const char *scope = scope_of(p, g, entry);
    apr_array_header_t *names;
    acme_fleet_item_t *items;
    apr_status_t rv;

    if (g == ACME_SG_PUBLISHED) return APR_ENOTIMPL;
    if (!scope || g == ACME_SG_CHALLENGES) {
        rv = rs->local->remove(rs->local, p, g, entry, item, scope ? NULL : local_fence(fence));
        if (!scope || rv != APR_SUCCESS) return rv;
    }
    if (item) {
        names = apr_array_make(p, 1, sizeof(const char *));
        APR_ARRAY_PUSH(names, const char *) = item;
    }
    else if ((rv = redis_names(rs, p, scope, &names)) != APR_SUCCESS) {
        return rv;
    }
    if (names->nelts == 0) return APR_SUCCESS;
    items = apr_pcalloc(p, sizeof(*items) * (apr_size_t)names->nelts);
    for (int i = 0; i < names->nelts; i++) items[i].name = APR_ARRAY_IDX(names, i, const char *);
    return put_items(rs, p, scope, items, names->nelts, 0, fence);
}

static apr_status_t published_names(acme_store_t *s, apr_pool_t *p, const char *entry,
                                    apr_array_header_t **names);

static apr_status_t rs_list(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                            const char *entry, apr_array_header_t **names)
{
    redis_store_t *rs = s->baton;
    const char *scope = scope_of(p, g, entry);

    /* Entries of a group, and a challenge entry's items: what this node has
     * locally (a drive removes its own answers). */
    if (g == ACME_SG_PUBLISHED) return published_names(s, p, entry, names);
    if (!scope || g == ACME_SG_CHALLENGES) return rs->local->list(rs->local, p, g, entry, names);
    return redis_names(rs, p, scope, names);
}

static apr_status_t publish(acme_store_t *s, apr_pool_t *p, const char *entry,
                            const apr_array_header_t *items, const acme_store_lock_t *fence);

static apr_status_t rs_replace(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                               const char *entry, const apr_array_header_t *items,
                               acme_store_group_e archive, const acme_store_lock_t *fence)
{
    redis_store_t *rs = s->baton;

    if (g == ACME_SG_PUBLISHED) return publish(s, p, entry, items, fence);
    if (!acme_store_local_group(g)) return APR_ENOTIMPL;
    return rs->local->replace(rs->local, p, g, entry, items, archive, local_fence(fence));
}

static apr_status_t rs_sweep(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                             const char **odd)
{
    redis_store_t *rs = s->baton;

    return rs->local->sweep(rs->local, p, g, odd);
}

static apr_status_t rs_file(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                            const char *entry, const char *item, acme_store_file_t *f)
{
    redis_store_t *rs = s->baton;

    return rs->local->file(rs->local, p, g, entry, item, f);
}

static const char *rs_where(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                            const char *entry, const char *item)
{
    redis_store_t *rs = s->baton;
    const char *scope = scope_of(p, g, entry);

    if (!scope || g == ACME_SG_CHALLENGES) return rs->local->where(rs->local, p, g, entry, item);
    return apr_psprintf(p, "Redis key acme:{%s}:%s%s", scope,
                        g == ACME_SG_PUBLISHED ? "pub" : "k:", item && g != ACME_SG_PUBLISHED
                        ? item : "");
}

static apr_status_t rs_prepare(acme_store_t *s, apr_pool_t *p, long uid, long gid,
                               const char **place, const char **why)
{
    redis_store_t *rs = s->baton;

    return rs->local->prepare(rs->local, p, uid, gid, place, why);
}

/* ---- leases ------------------------------------------------------------ */

static apr_status_t keeper_extend(void *baton, acme_lease_t *lease, apr_interval_time_t ttl)
{
    redis_store_t *rs = baton;
    acme_redis_conn_t *c;
    apr_status_t rv;

    if ((rv = acme_redis_pool_take(rs->drive, &c)) != APR_SUCCESS) return rv;
    rv = acme_redis_extend(c->r, lease, ttl);
    acme_redis_pool_give(rs->drive, c, rv);
    return rv;
}

static apr_status_t stop_keeper(void *data)
{
    redis_store_t *rs = data;

    if (rs->kpool) apr_pool_destroy(rs->kpool);
    rs->kpool = NULL;
    rs->keeper = NULL;
    if (rs->wpool) apr_pool_destroy(rs->wpool);
    rs->wpool = NULL;
    rs->watch = NULL;
    return APR_SUCCESS;
}

/* The keeper thread, started by the first lock of this process (never in
 * the parent before it forks). Called with the mutex held. */
static apr_status_t need_keeper(redis_store_t *rs)
{
    apr_status_t rv;

    if (rs->keeper) return APR_SUCCESS;
    if ((rv = apr_pool_create(&rs->kpool, NULL)) != APR_SUCCESS) return rv;
    rv = acme_keeper_start(rs->kpool, &rs->kopts, keeper_extend, rs, rs->log, &rs->keeper);
    if (rv != APR_SUCCESS) {
        apr_pool_destroy(rs->kpool);
        rs->kpool = NULL;
    }
    return rv;
}

static apr_status_t lease_cleanup(void *data)
{
    acme_store_lock_t *lk = data;
    redis_store_t *rs = lk->rs;
    acme_redis_conn_t *c;
    acme_lease_t lease;
    apr_status_t rv;

    if (!lk->kept) return APR_SUCCESS;
    lease = acme_keeper_lease(lk->kept);
    acme_keeper_drop(lk->kept);
    lk->kept = NULL;
    /* A release that fails leaves the lease to run out by its TTL. */
    if (acme_redis_pool_take(rs->drive, &c) == APR_SUCCESS) {
        rv = acme_redis_release(c->r, &lease);
        acme_redis_pool_give(rs->drive, c, rv);
    }
    return APR_SUCCESS;
}

static apr_status_t rs_lock(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                            const char *entry, apr_interval_time_t wait,
                            acme_store_lock_t **lock)
{
    redis_store_t *rs = s->baton;
    const char *scope = scope_of(p, g, entry);
    apr_time_t deadline = apr_time_now() + (wait > 0 ? wait : 0);
    acme_store_lock_t *lk = apr_pcalloc(p, sizeof(*lk));
    acme_lease_t *lease = NULL;
    const char *owner = apr_psprintf(p, "%s/%" APR_PID_T_FMT, rs->node, getpid());
    apr_status_t rv;

    *lock = NULL;
    lk->rs = rs;
    lk->pool = p;
    if (!scope || !shared_group(g)) {
        if ((rv = rs->local->lock(rs->local, p, g, entry, wait, &lk->local)) == APR_SUCCESS) {
            *lock = lk;
        }
        return rv;
    }
    apr_thread_mutex_lock(rs->mutex);
    rv = need_keeper(rs);
    apr_thread_mutex_unlock(rs->mutex);
    if (rv != APR_SUCCESS) return rv;
    for (;;) {
        acme_redis_conn_t *c;

        if ((rv = acme_redis_pool_take(rs->drive, &c)) != APR_SUCCESS) return rv;
        rv = acme_redis_acquire(c->r, p, scope, owner, rs->kopts.ttl, &lease);
        if (rv != APR_SUCCESS && !APR_STATUS_IS_EBUSY(rv)) {
            acme_log(rs->log, ACME_LOG_ERR, rv, "fleet store: lock %s: %s", scope,
                     acme_redis_error(c->r));
        }
        acme_redis_pool_give(rs->drive, c, rv);
        if (rv == APR_SUCCESS) break;
        if (!APR_STATUS_IS_EBUSY(rv)) return rv;
        if (apr_time_now() >= deadline) return APR_TIMEUP;
        apr_sleep(LOCK_POLL);
    }
    lk->scope = apr_pstrdup(p, scope);
    lk->kept = acme_keeper_add(rs->keeper, p, lease);
    apr_pool_cleanup_register(p, lk, lease_cleanup, apr_pool_cleanup_null);
    acme_log(rs->log, ACME_LOG_DEBUG, APR_SUCCESS, "fleet store: %s locked by %s, token %"
             APR_UINT64_T_FMT, scope, owner, lease->token);
    *lock = lk;
    return APR_SUCCESS;
}

static apr_status_t rs_hold(acme_store_lock_t *lk, apr_interval_time_t need)
{
    if (lk == NULL) return ACME_STORE_ELOST;
    if (lk->local) return lk->rs->local->hold(lk->local, need);
    /* an extension that cannot be made (Redis unreachable) counts as lost:
     * the step that asked must not start on a lease that may end */
    return lk->kept && acme_keeper_check(lk->kept, need) == APR_SUCCESS ? APR_SUCCESS
                                                                         : ACME_STORE_ELOST;
}

static apr_status_t rs_unlock(acme_store_lock_t *lk)
{
    if (lk == NULL) return APR_EINVAL;
    if (lk->local) {
        apr_status_t rv = lk->rs->local->unlock(lk->local);
        lk->local = NULL;
        return rv;
    }
    if (!lk->kept) return APR_EINVAL;
    return apr_pool_cleanup_run(lk->pool, lk, lease_cleanup);
}

/* ---- published sets ---------------------------------------------------- */

static redis_store_t *fleet_of(acme_store_t *s)
{
    return s && s->kind && !strcmp(s->kind, "redis") ? s->baton : NULL;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static const char *pub_name(apr_pool_t *p, const char *entry, const char *item)
{
    return apr_pstrcat(p, "published/", entry, "/", item, NULL);
}

static apr_status_t publish(acme_store_t *s, apr_pool_t *p, const char *entry,
                            const apr_array_header_t *items, const acme_store_lock_t *fence)
{
    redis_store_t *rs = s->baton;
    const char *scope = scope_of(p, ACME_SG_PUBLISHED, entry);
    acme_fleet_item_t *out;
    acme_fleet_set_t *cur = NULL;
    acme_redis_conn_t *c;
    acme_lease_t copy;
    const acme_lease_t *lease;
    apr_uint64_t gen = 1;
    int lost;
    apr_status_t rv;

    if (!scope) return APR_EINVAL;
    lease = fence_lease(fence, &copy, &lost);
    if (!lease || lost) return ACME_STORE_ELOST;
    if ((rv = acme_redis_pool_take(rs->drive, &c)) != APR_SUCCESS) return rv;
    rv = acme_redis_published(c->r, p, scope, &cur);
    if (rv == APR_SUCCESS) gen = cur->generation + 1;
    else if (APR_STATUS_IS_ENOENT(rv)) rv = APR_SUCCESS;
    out = apr_pcalloc(p, sizeof(*out) * (apr_size_t)(items->nelts ? items->nelts : 1));
    for (int i = 0; rv == APR_SUCCESS && i < items->nelts; i++) {
        const acme_store_item_t *it = &APR_ARRAY_IDX(items, i, acme_store_item_t);
        out[i].name = it->name;
        out[i].data = it->data;
        out[i].len = it->len;
        if (it->flags & ACME_STORE_PRIVATE) {
            unsigned char *blob = NULL;
            if (!rs->keys) rv = APR_EACCES;
            else rv = acme_seal(p, rs->keys, pub_name(p, entry, it->name), gen, it->data,
                                it->len, &blob, &out[i].len);
            out[i].data = blob;
        }
    }
    if (rv == APR_SUCCESS) {
        rv = acme_redis_publish(c->r, p, lease, rs->node, gen, out, items->nelts, NULL);
    }
    if (rv != APR_SUCCESS) {
        acme_log(rs->log, ACME_LOG_ERR, rv, "fleet store: publishing generation %"
                 APR_UINT64_T_FMT " of %s: %s", gen, scope,
                 rv == ACME_FLEET_EFENCED ? "this node's lock is no longer the live one"
                 : rv == ACME_FLEET_ESTALE ? "another node published since"
                 : acme_redis_error(c->r));
    }
    else {
        acme_log(rs->log, ACME_LOG_NOTICE, 0, "%s: published to the fleet as generation %"
                 APR_UINT64_T_FMT, entry, gen);
    }
    acme_redis_pool_give(rs->drive, c, rv);
    return rv == ACME_FLEET_EFENCED ? ACME_STORE_ELOST : rv;
}

static apr_status_t published_item(acme_store_t *s, apr_pool_t *p, const char *entry,
                                   const char *item, char **data, apr_size_t *len)
{
    apr_array_header_t *items;
    apr_uint64_t gen;
    const char *node;
    apr_status_t rv = acme_store_published(s, p, entry, &items, &gen, &node, NULL);

    if (rv != APR_SUCCESS) return rv;
    for (int i = 0; item && i < items->nelts; i++) {
        const acme_store_item_t *it = &APR_ARRAY_IDX(items, i, acme_store_item_t);
        if (!strcmp(it->name, item)) {
            *data = (char *)it->data;
            *len = it->len;
            return APR_SUCCESS;
        }
    }
    return APR_ENOENT;
}

static apr_status_t published_names(acme_store_t *s, apr_pool_t *p, const char *entry,
                                    apr_array_header_t **names)
{
    redis_store_t *rs = s->baton;
    apr_array_header_t *items;
    apr_uint64_t gen;
    const char *node;
    apr_status_t rv;

    *names = apr_array_make(p, 8, sizeof(const char *));
    if (!entry) {
        acme_redis_conn_t *c;
        apr_hash_t *gens = NULL;
        if ((rv = acme_redis_pool_take(rs->drive, &c)) != APR_SUCCESS) return rv;
        rv = acme_redis_fleet_index(c->r, p, &gens);
        acme_redis_pool_give(rs->drive, c, rv);
        for (apr_hash_index_t *hi = gens ? apr_hash_first(p, gens) : NULL; hi;
             hi = apr_hash_next(hi)) {
            const char *scope = apr_hash_this_key(hi);
            if (!strncmp(scope, "d:", 2)) APR_ARRAY_PUSH(*names, const char *) = scope + 2;
        }
        qsort((*names)->elts, (size_t)(*names)->nelts, sizeof(const char *), cmp_names);
        return rv;
    }
    rv = acme_store_published(s, p, entry, &items, &gen, &node, NULL);
    if (APR_STATUS_IS_ENOENT(rv)) return APR_SUCCESS;
    for (int i = 0; rv == APR_SUCCESS && i < items->nelts; i++) {
        APR_ARRAY_PUSH(*names, const char *) = APR_ARRAY_IDX(items, i, acme_store_item_t).name;
    }
    return rv;
}

apr_status_t acme_store_published(acme_store_t *s, apr_pool_t *p, const char *entry,
                                  apr_array_header_t **items, apr_uint64_t *generation,
                                  const char **node, apr_time_t *at)
{
    redis_store_t *rs = fleet_of(s);
    const char *scope = scope_of(p, ACME_SG_PUBLISHED, entry), *err = NULL;
    acme_fleet_set_t *set = NULL;
    acme_redis_conn_t *c;
    apr_status_t rv;

    if (!rs) return APR_ENOTIMPL;
    if (!scope) return APR_EINVAL;
    if ((rv = acme_redis_pool_take(rs->drive, &c)) != APR_SUCCESS) return rv;
    rv = acme_redis_published(c->r, p, scope, &set);
    acme_redis_pool_give(rs->drive, c, rv);
    if (rv != APR_SUCCESS) return rv;
    *items = apr_array_make(p, set->items->nelts, sizeof(acme_store_item_t));
    for (int i = 0; i < set->items->nelts; i++) {
        const acme_fleet_item_t *fi = &APR_ARRAY_IDX(set->items, i, acme_fleet_item_t);
        acme_store_item_t *it = apr_array_push(*items);
        char *plain;

        it->name = fi->name;
        it->data = fi->data;
        it->len = fi->len;
        it->flags = 0;
        if (acme_seal_is_sealed(fi->data, fi->len)) {
            if (!rs->keys) return APR_EACCES;
            rv = acme_unseal(p, rs->keys, pub_name(p, entry, fi->name), set->generation,
                             fi->data, fi->len, &plain, &it->len, &err);
            if (rv != APR_SUCCESS) {
                acme_log(rs->log, ACME_LOG_ERR, rv, "fleet store: published %s %s: %s", scope,
                         fi->name, err ? err : "cannot be opened");
                return rv;
            }
            it->data = plain;
            it->flags = ACME_STORE_PRIVATE;
        }
        else if (strstr(fi->data, "PRIVATE KEY")) {
            acme_log(rs->log, ACME_LOG_ERR, APR_EACCES, "fleet store: published %s %s holds "
                     "a private key that is not sealed; refused", scope, fi->name);
            return APR_EACCES;
        }
    }
    *generation = set->generation;
    *node = set->node;
    if (at) *at = set->published;
    return APR_SUCCESS;
}

apr_status_t acme_store_fleet_seq(acme_store_t *s, apr_uint64_t *seq)
{
    redis_store_t *rs = fleet_of(s);
    acme_redis_conn_t *c;
    apr_status_t rv;

    if (!rs) return APR_ENOTIMPL;
    if ((rv = acme_redis_pool_take(rs->drive, &c)) != APR_SUCCESS) return rv;
    rv = acme_redis_fleet_seq(c->r, seq);
    acme_redis_pool_give(rs->drive, c, rv);
    return rv;
}

/* ---- the fleet view and its watch ------------------------------------ */

apr_status_t acme_store_fleet_check(acme_store_t *s, apr_pool_t *p,
                                    apr_array_header_t **warnings)
{
    redis_store_t *rs = fleet_of(s);
    acme_redis_conn_t *c;
    apr_status_t rv;

    if (!rs) return APR_ENOTIMPL;
    if ((rv = acme_redis_pool_take(rs->drive, &c)) != APR_SUCCESS) return rv;
    rv = acme_redis_check(c->r, p, warnings);
    acme_redis_pool_give(rs->drive, c, rv);
    return rv;
}

apr_status_t acme_store_fleet_watch(acme_store_t *s, apr_interval_time_t wait,
                                    apr_uint64_t *seq)
{
    redis_store_t *rs = fleet_of(s);
    const char *err = NULL;
    apr_status_t rv;

    if (!rs) return APR_ENOTIMPL;
    if (!rs->watch) {
        acme_redis_opts_t o;
        memset(&o, 0, sizeof(o));
        o.connect_timeout = o.timeout = apr_time_from_msec(250);
        if (!rs->wpool && (rv = apr_pool_create(&rs->wpool, NULL)) != APR_SUCCESS) return rv;
        if ((rv = acme_redis_open(rs->wpool, rs->url, &o, rs->log, &rs->watch, &err))
            != APR_SUCCESS) {
            apr_pool_clear(rs->wpool);
            rs->watch = NULL;
            return rv;
        }
    }
    rv = acme_redis_watch(rs->watch, wait, seq);
    if (rv != APR_SUCCESS && !APR_STATUS_IS_TIMEUP(rv)) {
        apr_pool_clear(rs->wpool);
        rs->watch = NULL;
    }
    return rv;
}

apr_status_t acme_store_fleet_heartbeat(acme_store_t *s, apr_pool_t *p, const char *record,
                                        apr_interval_time_t forget)
{
    redis_store_t *rs = fleet_of(s);
    acme_redis_conn_t *c;
    apr_status_t rv;

    if (!rs) return APR_ENOTIMPL;
    if ((rv = acme_redis_pool_take(rs->drive, &c)) != APR_SUCCESS) return rv;
    rv = acme_redis_heartbeat(c->r, p, rs->node, record, strlen(record), forget);
    acme_redis_pool_give(rs->drive, c, rv);
    return rv;
}

apr_status_t acme_store_fleet_nodes(acme_store_t *s, apr_pool_t *p, apr_array_header_t **nodes)
{
    redis_store_t *rs = fleet_of(s);
    acme_redis_conn_t *c;
    apr_status_t rv;

    if (!rs) return APR_ENOTIMPL;
    if ((rv = acme_redis_pool_take(rs->drive, &c)) != APR_SUCCESS) return rv;
    rv = acme_redis_nodes(c->r, p, nodes);
    acme_redis_pool_give(rs->drive, c, rv);
    return rv;
}

apr_status_t acme_store_fleet_holder(acme_store_t *s, apr_pool_t *p, const char *entry,
                                     acme_fleet_holder_t *holder)
{
    redis_store_t *rs = fleet_of(s);
    const char *scope = scope_of(p, ACME_SG_STATE, entry);
    acme_redis_conn_t *c;
    apr_status_t rv;

    memset(holder, 0, sizeof(*holder));
    if (!rs) return APR_ENOTIMPL;
    if (!scope) return APR_EINVAL;
    if ((rv = acme_redis_pool_take(rs->drive, &c)) != APR_SUCCESS) return rv;
    rv = acme_redis_holder(c->r, p, scope, holder);
    acme_redis_pool_give(rs->drive, c, rv);
    if (APR_STATUS_IS_ENOENT(rv)) {
        holder->owner = NULL;
        rv = APR_SUCCESS;
    }
    return rv;
}

const char *acme_store_fleet_node(const acme_store_t *s)
{
    return s && s->kind && !strcmp(s->kind, "redis") ? ((redis_store_t *)s->baton)->node : NULL;
}

/* ---- open -------------------------------------------------------------- */

apr_status_t acme_store_redis_open(apr_pool_t *p, const acme_store_spec_t *spec,
                                   acme_store_t **store, const char **err)
{
    redis_store_t *rs = apr_pcalloc(p, sizeof(*rs));
    acme_redis_pool_opts_t popts;
    acme_store_t *s;
    apr_status_t rv;

    *store = NULL;
    *err = NULL;
    rs->pool = p;
    rs->url = apr_pstrdup(p, spec->url);
    rs->keys = spec->keys;
    rs->node = spec->node && acme_fleet_name_ok(spec->node) ? spec->node : "node";
    rs->log = spec->log;
    rs->kopts.ttl = spec->lock_ttl > 0 ? spec->lock_ttl : apr_time_from_sec(120);
    memset(&popts, 0, sizeof(popts));
    popts.patient = 1;
    /* the drives and the fleet check find Redis back within one check */
    if (spec->recheck > 0 && spec->recheck < ACME_BREAKER_OPEN_MAX) {
        popts.breaker.open_max = spec->recheck;
        if (spec->recheck < apr_time_from_sec(1)) popts.breaker.open_min = spec->recheck;
    }
    if ((rv = acme_redis_pool_create(p, spec->url, &popts, spec->log, &rs->drive, err))
        != APR_SUCCESS) {
        return rv;
    }
    popts.patient = 0;
    /* a short open period: once Redis is back, every child finds answers again
     * within a second (a CA's validation may come right after); during an
     * outage a child spends at most one 250 ms probe per second, and only on
     * challenge requests */
    popts.breaker.open_min = apr_time_from_msec(250);
    popts.breaker.open_max = apr_time_from_sec(1);
    if ((rv = acme_redis_pool_create(p, spec->url, &popts, spec->log, &rs->quick, err))
        != APR_SUCCESS) {
        return rv;
    }
    if ((rv = apr_thread_mutex_create(&rs->mutex, APR_THREAD_MUTEX_DEFAULT, p)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = acme_store_file_open(p, spec->dir, spec->flags, &rs->local)) != APR_SUCCESS) {
        *err = apr_psprintf(p, "cannot open the local store %s", spec->dir);
        return rv;
    }
    apr_pool_cleanup_register(p, rs, stop_keeper, apr_pool_cleanup_null);
    s = apr_pcalloc(p, sizeof(*s));
    s->kind = "redis";
    s->baton = rs;
    s->load = rs_load;
    s->save = rs_save;
    s->remove = rs_remove;
    s->list = rs_list;
    s->replace = rs_replace;
    s->sweep = rs_sweep;
    s->lock = rs_lock;
    s->hold = rs_hold;
    s->unlock = rs_unlock;
    s->file = rs_file;
    s->where = rs_where;
    s->prepare = rs_prepare;
    *store = s;
    return APR_SUCCESS;
}

const char *acme_store_redis_url(const acme_store_t *s)
{
    return s && s->kind && !strcmp(s->kind, "redis") ? ((redis_store_t *)s->baton)->url : NULL;
}
