/* acme_redis_lease.c: the Redis fleet engine's calls to its function library: leases (fencing tokens), fenced item writes and reads, publishing and the published index, publish hints, and node heartbeats. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "acme_redis.h"

#ifdef ACME_HAVE_HIREDIS

#include "acme_redis_int.h"

/* ---- replies ---------------------------------------------------------- */

/* A decimal integer without sign, at most 2^63 - 1. */
static int parse_u64(const char *s, apr_size_t len, apr_uint64_t *v)
{
    apr_uint64_t x = 0;
    apr_size_t i;

    if (len == 0 || len > 19) return 0;
    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        x = x * 10 + (apr_uint64_t)(s[i] - '0');
    }
    if (x > (apr_uint64_t)APR_INT64_MAX) return 0;
    *v = x;
    return 1;
}

static int reply_u64(const redisReply *x, apr_uint64_t *v)
{
    if (x && x->type == REDIS_REPLY_INTEGER && x->integer >= 0) {
        *v = (apr_uint64_t)x->integer;
        return 1;
    }
    return acme_rd_is_str(x) && parse_u64(x->str, x->len, v);
}

/* Splits a lease id "<token> <owner> <nonce>". */
static int parse_lease_id(apr_pool_t *p, const char *id, apr_size_t len, apr_uint64_t *token,
                          const char **owner)
{
    const char *sp1 = memchr(id, ' ', len), *sp2;

    if (!sp1 || !parse_u64(id, (apr_size_t)(sp1 - id), token) || *token == 0) return 0;
    sp2 = memchr(sp1 + 1, ' ', len - (apr_size_t)(sp1 + 1 - id));
    if (!sp2 || sp2 == sp1 + 1 || sp2 + 1 == id + len) return 0;
    *owner = apr_pstrmemdup(p, sp1 + 1, (apr_size_t)(sp2 - sp1 - 1));
    return acme_fleet_name_ok(*owner);
}

static apr_status_t copy_value(acme_redis_t *r, apr_pool_t *p, const char *what,
                               const redisReply *x, char **data, apr_size_t *len)
{
    if (!acme_rd_is_str(x)) return acme_rd_fail(r, APR_EGENERAL, "unexpected answer to %s", what);
    if (x->len > r->opts.max_reply) {
        return acme_rd_fail(r, APR_ENOSPC, "%s: %lu bytes, more than the limit of %lu", what,
                    (unsigned long)x->len, (unsigned long)r->opts.max_reply);
    }
    *data = apr_pstrmemdup(p, x->str, x->len);
    *len = x->len;
    return APR_SUCCESS;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_item(const void *a, const void *b)
{
    return strcmp(((const acme_fleet_item_t *)a)->name, ((const acme_fleet_item_t *)b)->name);
}

static int cmp_node(const void *a, const void *b)
{
    return strcmp(((const acme_fleet_node_t *)a)->name, ((const acme_fleet_node_t *)b)->name);
}

static apr_status_t bad_arg(acme_redis_t *r, const char *what, const char *name)
{
    return acme_rd_fail(r, APR_EINVAL, "%s: invalid name \"%s\"", what, name ? name : "(null)");
}

apr_status_t acme_redis_acquire(acme_redis_t *r, apr_pool_t *p, const char *scope,
                                const char *owner, apr_interval_time_t ttl,
                                acme_lease_t **lease)
{
    unsigned char rnd[8];
    char nonce[17];
    acme_rd_args_t *a = acme_rd_args(p);
    redisReply *reply, *e0;
    apr_time_t t0 = apr_time_now();
    apr_uint64_t flag, token;
    apr_status_t rv;
    acme_lease_t *l;
    int i;

    if (!acme_fleet_scope_ok(scope)) return bad_arg(r, "acquire", scope);
    if (!acme_fleet_name_ok(owner)) return bad_arg(r, "acquire", owner);
    if (apr_time_as_msec(ttl) < 1) return acme_rd_fail(r, APR_EINVAL, "acquire %s: a lease of less than 1 ms", scope);
    if ((rv = apr_generate_random_bytes(rnd, sizeof(rnd))) != APR_SUCCESS) {
        return acme_rd_fail(r, rv, "acquire %s: no random bytes", scope);
    }
    for (i = 0; i < 8; i++) snprintf(nonce + 2 * i, 3, "%02x", rnd[i]);
    acme_rd_arg_s(a, acme_rd_key(p, scope, "lock"));
    acme_rd_arg_s(a, acme_rd_key(p, scope, "fence"));
    acme_rd_arg_s(a, owner);
    acme_rd_arg_s(a, nonce);
    acme_rd_arg_s(a, acme_rd_msec(p, ttl));
    if ((rv = acme_rd_fcall(r, p, FN("acquire"), 0, 2, a, &reply)) != APR_SUCCESS) return rv;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 2 || !reply_u64(reply->element[0], &flag)
        || !acme_rd_is_str(reply->element[1])) {
        return acme_rd_unexpected(r, "acquire", reply);
    }
    e0 = reply->element[1];
    if (flag == 0) {
        const char *holder = "?";
        apr_uint64_t ms = 0;
        parse_lease_id(p, e0->str, e0->len, &token, &holder);
        if (reply->elements > 2) reply_u64(reply->element[2], &ms);
        acme_rd_fail(r, APR_EBUSY, "%s is held by %s (token %s) for %lu ms more", scope, holder,
             acme_rd_printable(p, e0->str, strcspn(e0->str, " ")), (unsigned long)ms);
        freeReplyObject(reply);
        return APR_EBUSY;
    }
    l = apr_pcalloc(p, sizeof(*l));
    if (!parse_lease_id(p, e0->str, e0->len, &l->token, &l->owner) || strcmp(l->owner, owner)) {
        return acme_rd_unexpected(r, "acquire", reply);
    }
    l->scope = apr_pstrdup(p, scope);
    l->id = apr_pstrmemdup(p, e0->str, e0->len);
    l->expires = t0 + ttl;
    freeReplyObject(reply);
    *lease = l;
    return APR_SUCCESS;
}

apr_status_t acme_redis_extend(acme_redis_t *r, acme_lease_t *lease, apr_interval_time_t ttl)
{
    apr_pool_t *p;
    acme_rd_args_t *a;
    redisReply *reply;
    apr_time_t t0 = apr_time_now();
    apr_uint64_t ok;
    apr_status_t rv;

    if (apr_time_as_msec(ttl) < 1) return acme_rd_fail(r, APR_EINVAL, "extend: a lease of less than 1 ms");
    apr_pool_create(&p, r->pool);
    a = acme_rd_args(p);
    acme_rd_arg_s(a, acme_rd_key(p, lease->scope, "lock"));
    acme_rd_arg_s(a, acme_rd_key(p, lease->scope, "fence"));
    acme_rd_arg_s(a, lease->id);
    acme_rd_arg_s(a, acme_rd_msec(p, ttl));
    if ((rv = acme_rd_fcall(r, p, FN("extend"), 0, 2, a, &reply)) == APR_SUCCESS) {
        if (!reply_u64(reply, &ok)) {
            rv = acme_rd_unexpected(r, "extend", reply);
        }
        else {
            freeReplyObject(reply);
            if (ok == 1) lease->expires = t0 + ttl;
            else {
                lease->expires = 0;
                rv = acme_rd_fail(r, ACME_FLEET_EFENCED, "lease %s of %s is lost", lease->id, lease->scope);
            }
        }
    }
    apr_pool_destroy(p);
    return rv;
}

apr_status_t acme_redis_release(acme_redis_t *r, acme_lease_t *lease)
{
    apr_pool_t *p;
    acme_rd_args_t *a;
    redisReply *reply;
    apr_uint64_t ok;
    apr_status_t rv;

    apr_pool_create(&p, r->pool);
    a = acme_rd_args(p);
    acme_rd_arg_s(a, acme_rd_key(p, lease->scope, "lock"));
    acme_rd_arg_s(a, lease->id);
    if ((rv = acme_rd_fcall(r, p, FN("release"), 0, 1, a, &reply)) == APR_SUCCESS) {
        if (!reply_u64(reply, &ok)) {
            rv = acme_rd_unexpected(r, "release", reply);
        }
        else {
            freeReplyObject(reply);
            if (ok != 1) rv = acme_rd_fail(r, ACME_FLEET_EFENCED, "lease %s of %s was already lost",
                                   lease->id, lease->scope);
            lease->expires = 0;
        }
    }
    apr_pool_destroy(p);
    return rv;
}

apr_status_t acme_redis_holder(acme_redis_t *r, apr_pool_t *p, const char *scope,
                               acme_fleet_holder_t *holder)
{
    acme_rd_args_t *a = acme_rd_args(p);
    redisReply *reply;
    apr_uint64_t ms;
    apr_status_t rv;

    memset(holder, 0, sizeof(*holder));
    if (!acme_fleet_scope_ok(scope)) return bad_arg(r, "holder", scope);
    acme_rd_arg_s(a, acme_rd_key(p, scope, "lock"));
    acme_rd_arg_s(a, acme_rd_key(p, scope, "fence"));
    if ((rv = acme_rd_fcall(r, p, FN("holder"), 1, 2, a, &reply)) != APR_SUCCESS) return rv;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3
        || !reply_u64(reply->element[2], &holder->fence)) {
        return acme_rd_unexpected(r, "holder", reply);
    }
    if (reply->element[0]->type == REDIS_REPLY_NIL) {
        freeReplyObject(reply);
        return APR_ENOENT;
    }
    if (!acme_rd_is_str(reply->element[0]) || !reply_u64(reply->element[1], &ms)
        || !parse_lease_id(p, reply->element[0]->str, reply->element[0]->len, &holder->token,
                           &holder->owner)) {
        return acme_rd_unexpected(r, "holder", reply);
    }
    holder->left = apr_time_from_msec((apr_int64_t)ms);
    freeReplyObject(reply);
    return APR_SUCCESS;
}

apr_status_t acme_redis_put(acme_redis_t *r, apr_pool_t *p, const char *scope,
                            const acme_lease_t *lease, const acme_fleet_item_t *items,
                            int n, apr_interval_time_t ttl)
{
    acme_rd_args_t *a = acme_rd_args(p);
    redisReply *reply;
    apr_status_t rv;
    int i, nkeys;

    if (!acme_fleet_scope_ok(scope)) return bad_arg(r, "put", scope);
    if (lease && strcmp(lease->scope, scope)) {
        return acme_rd_fail(r, APR_EINVAL, "put: the lease is for %s, not %s", lease->scope, scope);
    }
    if (n < 1 || n > MAX_ARGS / 4) return acme_rd_fail(r, APR_EINVAL, "put: %d items", n);
    if (ttl < 0) ttl = 0;
    if (lease) {
        acme_rd_arg_s(a, acme_rd_key(p, scope, "lock"));
        acme_rd_arg_s(a, acme_rd_key(p, scope, "fence"));
    }
    acme_rd_arg_s(a, acme_rd_key(p, scope, "index"));
    for (i = 0; i < n; i++) {
        if (!acme_fleet_name_ok(items[i].name)) return bad_arg(r, "put", items[i].name);
        if (items[i].data && items[i].len > r->opts.max_reply) {
            return acme_rd_fail(r, APR_ENOSPC, "put: %s is larger than the limit of %lu bytes",
                        items[i].name, (unsigned long)r->opts.max_reply);
        }
        acme_rd_arg_s(a, acme_rd_item_key(p, scope, items[i].name));
    }
    nkeys = a->v->nelts - 3;
    if (lease) acme_rd_arg_s(a, lease->id);
    acme_rd_arg_s(a, acme_rd_msec(p, ttl));
    for (i = 0; i < n; i++) {
        acme_rd_arg_s(a, items[i].data ? "s" : "d");
        acme_rd_arg_s(a, items[i].name);
        acme_rd_arg(a, items[i].data ? items[i].data : "", items[i].data ? items[i].len : 0);
    }
    rv = acme_rd_fcall(r, p, lease ? FN("put") : FN("put_free"), 0, nkeys, a, &reply);
    if (rv == APR_SUCCESS) freeReplyObject(reply);
    return rv;
}

apr_status_t acme_redis_get(acme_redis_t *r, apr_pool_t *p, const char *scope,
                            const char *name, char **data, apr_size_t *len)
{
    const char *argv[2];
    size_t lens[2];
    redisReply *reply;
    apr_status_t rv;

    if (!acme_fleet_scope_ok(scope)) return bad_arg(r, "get", scope);
    if (!acme_fleet_name_ok(name)) return bad_arg(r, "get", name);
    argv[0] = "GET"; lens[0] = 3;
    argv[1] = acme_rd_item_key(p, scope, name); lens[1] = strlen(argv[1]);
    if ((rv = acme_rd_call(r, p, "GET", 2, argv, lens, &reply)) != APR_SUCCESS) return rv;
    if (reply->type == REDIS_REPLY_NIL) rv = APR_ENOENT;
    else rv = copy_value(r, p, apr_pstrcat(p, "GET ", argv[1], NULL), reply, data, len);
    freeReplyObject(reply);
    return rv;
}

apr_status_t acme_redis_list(acme_redis_t *r, apr_pool_t *p, const char *scope,
                             apr_array_header_t **names)
{
    acme_rd_args_t *a = acme_rd_args(p);
    redisReply *reply;
    apr_status_t rv;
    size_t i;

    if (!acme_fleet_scope_ok(scope)) return bad_arg(r, "list", scope);
    acme_rd_arg_s(a, acme_rd_key(p, scope, "index"));
    if ((rv = acme_rd_fcall(r, p, FN("list"), 1, 1, a, &reply)) != APR_SUCCESS) return rv;
    if (reply->type != REDIS_REPLY_ARRAY) return acme_rd_unexpected(r, "list", reply);
    *names = apr_array_make(p, (int)reply->elements + 1, sizeof(const char *));
    for (i = 0; i < reply->elements; i++) {
        const char *name;
        if (!acme_rd_is_str(reply->element[i])) return acme_rd_unexpected(r, "list", reply);
        name = apr_pstrmemdup(p, reply->element[i]->str, reply->element[i]->len);
        if (!acme_fleet_name_ok(name)) return acme_rd_unexpected(r, "list", reply);
        APR_ARRAY_PUSH(*names, const char *) = name;
    }
    freeReplyObject(reply);
    qsort((*names)->elts, (size_t)(*names)->nelts, sizeof(const char *), cmp_str);
    return APR_SUCCESS;
}

/* HGETALL key into pairs, checking types and the size limit. */
static apr_status_t hgetall(acme_redis_t *r, apr_pool_t *p, const char *k, redisReply **out)
{
    const char *argv[2] = { "HGETALL", k };
    size_t lens[2] = { 7, strlen(k) };
    apr_size_t total = 0;
    apr_status_t rv;
    size_t i;

    if ((rv = acme_rd_call(r, p, "HGETALL", 2, argv, lens, out)) != APR_SUCCESS) return rv;
    if ((*out)->type != REDIS_REPLY_ARRAY || (*out)->elements % 2) return acme_rd_unexpected(r, "HGETALL", *out);
    for (i = 0; i < (*out)->elements; i++) {
        if (!acme_rd_is_str((*out)->element[i])) return acme_rd_unexpected(r, "HGETALL", *out);
        total += (*out)->element[i]->len;
    }
    if (total > r->opts.max_reply) {
        freeReplyObject(*out);
        return acme_rd_fail(r, APR_ENOSPC, "HGETALL %s: %lu bytes, more than the limit of %lu", k,
                    (unsigned long)total, (unsigned long)r->opts.max_reply);
    }
    return APR_SUCCESS;
}

apr_status_t acme_redis_published(acme_redis_t *r, apr_pool_t *p, const char *scope,
                                  acme_fleet_set_t **set)
{
    redisReply *reply;
    acme_fleet_set_t *s;
    apr_status_t rv;
    size_t i;
    int have_gen = 0;

    if (!acme_fleet_scope_ok(scope)) return bad_arg(r, "published", scope);
    if ((rv = hgetall(r, p, acme_rd_key(p, scope, "pub"), &reply)) != APR_SUCCESS) return rv;
    if (reply->elements == 0) {
        freeReplyObject(reply);
        return APR_ENOENT;
    }
    s = apr_pcalloc(p, sizeof(*s));
    s->scope = apr_pstrdup(p, scope);
    s->node = "";
    s->items = apr_array_make(p, (int)reply->elements / 2, sizeof(acme_fleet_item_t));
    for (i = 0; i < reply->elements; i += 2) {
        redisReply *f = reply->element[i], *v = reply->element[i + 1];
        apr_uint64_t at;
        if (f->len == 4 && !memcmp(f->str, "@gen", 4)) {
            have_gen = parse_u64(v->str, v->len, &s->generation) && s->generation > 0;
            if (!have_gen) break;
        }
        else if (f->len == 5 && !memcmp(f->str, "@node", 5)) {
            s->node = acme_rd_printable(p, v->str, v->len);
        }
        else if (f->len == 3 && !memcmp(f->str, "@at", 3)) {
            if (parse_u64(v->str, v->len, &at)) s->published = apr_time_from_msec((apr_int64_t)at);
        }
        else if (f->len && f->str[0] != '@') {
            acme_fleet_item_t *it = apr_array_push(s->items);
            it->name = apr_pstrmemdup(p, f->str, f->len);
            if (!acme_fleet_name_ok(it->name)) {
                have_gen = 0;
                break;
            }
            it->data = apr_pstrmemdup(p, v->str, v->len);
            it->len = v->len;
        }
    }
    if (!have_gen) return acme_rd_unexpected(r, "HGETALL (published set)", reply);
    freeReplyObject(reply);
    qsort(s->items->elts, (size_t)s->items->nelts, sizeof(acme_fleet_item_t), cmp_item);
    *set = s;
    return APR_SUCCESS;
}

apr_status_t acme_redis_publish(acme_redis_t *r, apr_pool_t *p, const acme_lease_t *lease,
                                const char *node, apr_uint64_t generation,
                                const acme_fleet_item_t *items, int n, apr_uint64_t *seq)
{
    acme_rd_args_t *a = acme_rd_args(p);
    redisReply *reply;
    apr_uint64_t gen;
    apr_status_t rv;
    int i;

    if (!acme_fleet_name_ok(node)) return bad_arg(r, "publish", node);
    if (generation < 1) return acme_rd_fail(r, APR_EINVAL, "publish %s: generation 0", lease->scope);
    if (n < 1 || n > MAX_ARGS / 4) return acme_rd_fail(r, APR_EINVAL, "publish: %d items", n);
    acme_rd_arg_s(a, acme_rd_key(p, lease->scope, "lock"));
    acme_rd_arg_s(a, acme_rd_key(p, lease->scope, "fence"));
    acme_rd_arg_s(a, acme_rd_key(p, lease->scope, "pub"));
    acme_rd_arg_s(a, lease->id);
    acme_rd_arg_s(a, acme_rd_u64(p, generation));
    acme_rd_arg_s(a, node);
    for (i = 0; i < n; i++) {
        if (!acme_fleet_name_ok(items[i].name) || items[i].name[0] == '@' || !items[i].data) {
            return bad_arg(r, "publish", items[i].name);
        }
        acme_rd_arg_s(a, items[i].name);
        acme_rd_arg(a, items[i].data, items[i].len);
    }
    if ((rv = acme_rd_fcall(r, p, FN("publish"), 0, 3, a, &reply)) != APR_SUCCESS) return rv;
    if (!reply_u64(reply, &gen) || gen != generation) return acme_rd_unexpected(r, "publish", reply);
    freeReplyObject(reply);
    return acme_redis_announce(r, p, lease->scope, generation, seq);
}

apr_status_t acme_redis_announce(acme_redis_t *r, apr_pool_t *p, const char *scope,
                                 apr_uint64_t generation, apr_uint64_t *seq)
{
    acme_rd_args_t *a = acme_rd_args(p);
    redisReply *reply;
    apr_uint64_t s;
    apr_status_t rv;

    if (!acme_fleet_scope_ok(scope)) return bad_arg(r, "announce", scope);
    acme_rd_arg_s(a, KEY_PUBLISHED);
    acme_rd_arg_s(a, KEY_SEQ);
    acme_rd_arg_s(a, scope);
    acme_rd_arg_s(a, acme_rd_u64(p, generation));
    if ((rv = acme_rd_fcall(r, p, FN("announce"), 0, 2, a, &reply)) != APR_SUCCESS) return rv;
    if (!reply_u64(reply, &s)) return acme_rd_unexpected(r, "announce", reply);
    freeReplyObject(reply);
    if (seq) *seq = s;
    return APR_SUCCESS;
}

apr_status_t acme_redis_fleet_seq(acme_redis_t *r, apr_uint64_t *seq)
{
    const char *argv[2] = { "GET", KEY_SEQ };
    size_t lens[2] = { 3, sizeof(KEY_SEQ) - 1 };
    redisReply *reply;
    apr_pool_t *p;
    apr_status_t rv;

    apr_pool_create(&p, r->pool);
    if ((rv = acme_rd_call(r, p, "GET " KEY_SEQ, 2, argv, lens, &reply)) == APR_SUCCESS) {
        if (reply->type == REDIS_REPLY_NIL) {
            *seq = 0;
            freeReplyObject(reply);
        }
        else if (!reply_u64(reply, seq)) {
            rv = acme_rd_unexpected(r, "GET " KEY_SEQ, reply);
        }
        else {
            freeReplyObject(reply);
        }
    }
    apr_pool_destroy(p);
    return rv;
}

apr_status_t acme_redis_fleet_index(acme_redis_t *r, apr_pool_t *p, apr_hash_t **gens)
{
    redisReply *reply;
    apr_status_t rv;
    size_t i;

    if ((rv = hgetall(r, p, KEY_PUBLISHED, &reply)) != APR_SUCCESS) return rv;
    *gens = apr_hash_make(p);
    for (i = 0; i < reply->elements; i += 2) {
        apr_uint64_t *g = apr_palloc(p, sizeof(*g));
        const char *scope = apr_pstrmemdup(p, reply->element[i]->str, reply->element[i]->len);
        if (!acme_fleet_scope_ok(scope) || !reply_u64(reply->element[i + 1], g)) {
            return acme_rd_unexpected(r, "HGETALL " KEY_PUBLISHED, reply);
        }
        apr_hash_set(*gens, scope, APR_HASH_KEY_STRING, g);
    }
    freeReplyObject(reply);
    return APR_SUCCESS;
}

/* A hint "<seq> <scope> <generation>" from the channel. */
static int hint_seq(const redisReply *m, apr_uint64_t *seq)
{
    const redisReply *payload;

    if (m->type != REDIS_REPLY_ARRAY || m->elements != 3 || !acme_rd_is_str(m->element[0])
        || m->element[0]->len != 7 || memcmp(m->element[0]->str, "message", 7)) {
        return 0;
    }
    payload = m->element[2];
    return acme_rd_is_str(payload) && parse_u64(payload->str, strcspn(payload->str, " "), seq);
}

apr_status_t acme_redis_watch(acme_redis_t *r, apr_interval_time_t wait, apr_uint64_t *seq)
{
    apr_time_t deadline = apr_time_now() + wait;
    void *rep;
    apr_status_t rv;

    if (!r->watching) {
        const char *argv[2] = { "SUBSCRIBE", FLEET_CHANNEL };
        size_t lens[2] = { 9, sizeof(FLEET_CHANNEL) - 1 };
        redisReply *reply;
        if ((rv = acme_rd_call_raw(r, "SUBSCRIBE", 2, argv, lens, &reply)) != APR_SUCCESS) return rv;
        if (reply->type != REDIS_REPLY_ARRAY) {
            acme_rd_drop(r);
            return acme_rd_unexpected(r, "SUBSCRIBE", reply);
        }
        freeReplyObject(reply);
        r->watching = 1;
    }
    for (;;) {
        struct pollfd pfd;
        apr_interval_time_t left;
        int n;

        rep = NULL;
        if (redisGetReplyFromReader(r->c, &rep) != REDIS_OK) {
            acme_rd_fail(r, APR_EGENERAL, "reading a hint: %s", r->c->errstr);
            acme_rd_drop(r);
            return APR_EGENERAL;
        }
        if (rep) {
            int ok = hint_seq(rep, seq);
            freeReplyObject(rep);
            if (ok) return APR_SUCCESS;
            continue;
        }
        left = deadline - apr_time_now();
        if (left <= 0) return APR_TIMEUP;
        pfd.fd = r->c->fd;
        pfd.events = POLLIN;
        pfd.revents = 0;
        n = poll(&pfd, 1, (int)((left + 999) / 1000));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            rv = APR_FROM_OS_ERROR(errno);
            acme_rd_fail(r, rv, "waiting for a hint: poll failed");
            acme_rd_drop(r);
            return rv;
        }
        if (n == 0) continue;
        if (redisBufferRead(r->c) != REDIS_OK) {
            rv = acme_rd_io_status(r->c->err, errno);
            acme_rd_fail(r, rv, "waiting for a hint: %s", r->c->errstr);
            acme_rd_drop(r);
            return rv;
        }
    }
}

apr_status_t acme_redis_heartbeat(acme_redis_t *r, apr_pool_t *p, const char *node,
                                  const void *data, apr_size_t len, apr_interval_time_t forget)
{
    acme_rd_args_t *a = acme_rd_args(p);
    redisReply *reply;
    apr_status_t rv;

    if (!acme_fleet_name_ok(node)) return bad_arg(r, "heartbeat", node);
    if (len > r->opts.max_reply) return acme_rd_fail(r, APR_ENOSPC, "heartbeat: record too large");
    if (apr_time_as_msec(forget) < 1) return acme_rd_fail(r, APR_EINVAL, "heartbeat: forget after less than 1 ms");
    acme_rd_arg_s(a, KEY_NODES);
    acme_rd_arg_s(a, KEY_SEEN);
    acme_rd_arg_s(a, node);
    acme_rd_arg(a, data ? data : "", data ? len : 0);
    acme_rd_arg_s(a, acme_rd_msec(p, forget));
    if ((rv = acme_rd_fcall(r, p, FN("heartbeat"), 0, 2, a, &reply)) == APR_SUCCESS) freeReplyObject(reply);
    return rv;
}

apr_status_t acme_redis_nodes(acme_redis_t *r, apr_pool_t *p, apr_array_header_t **nodes)
{
    acme_rd_args_t *a = acme_rd_args(p);
    redisReply *reply;
    apr_status_t rv;
    apr_size_t total = 0;
    size_t i;

    acme_rd_arg_s(a, KEY_NODES);
    acme_rd_arg_s(a, KEY_SEEN);
    if ((rv = acme_rd_fcall(r, p, FN("nodes"), 1, 2, a, &reply)) != APR_SUCCESS) return rv;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements % 3) return acme_rd_unexpected(r, "nodes", reply);
    *nodes = apr_array_make(p, (int)reply->elements / 3 + 1, sizeof(acme_fleet_node_t));
    for (i = 0; i < reply->elements; i += 3) {
        acme_fleet_node_t *nd = apr_array_push(*nodes);
        apr_uint64_t age;
        if (!acme_rd_is_str(reply->element[i]) || !acme_rd_is_str(reply->element[i + 1])
            || !reply_u64(reply->element[i + 2], &age)) {
            return acme_rd_unexpected(r, "nodes", reply);
        }
        total += reply->element[i + 1]->len;
        nd->name = apr_pstrmemdup(p, reply->element[i]->str, reply->element[i]->len);
        nd->data = apr_pstrmemdup(p, reply->element[i + 1]->str, reply->element[i + 1]->len);
        nd->len = reply->element[i + 1]->len;
        nd->age = apr_time_from_msec((apr_int64_t)age);
        if (!acme_fleet_name_ok(nd->name) || total > r->opts.max_reply) return acme_rd_unexpected(r, "nodes", reply);
    }
    freeReplyObject(reply);
    qsort((*nodes)->elts, (size_t)(*nodes)->nelts, sizeof(acme_fleet_node_t), cmp_node);
    return APR_SUCCESS;
}

#endif /* ACME_HAVE_HIREDIS */
