/* acme_status.c: builds the status JSON (README "Status JSON", acmectl(1) status) from the active certificates, staging and state/<id>/status.json. */
#include <string.h>

#include <apr_file_info.h>
#include <apr_strings.h>

#include "acme_json.h"
#include "acme_key.h"
#include "acme_mark.h"
#include "acme_plan.h"
#include "acme_redis.h"
#include "acme_status.h"
#include "acme_store_redis.h"
#include "acme_time.h"
#include "acme_version.h"
#include "acme_x509.h"

#define STATUS_ITEM "status.json"
#define DEFAULT_WARN_PCT 10
#define STATIC_FILE_MAX (256 * 1024)

/* What one domain's object is built from. */
typedef struct {
    apr_pool_t *p;
    acme_store_t *store;
    const char *entry;          /* its entry in the store */
    const acme_domain_t *d;     /* may be NULL */
    json_t *state;              /* state/<id>/status.json or NULL */
    apr_time_t now;
} status_ctx_t;

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* Key type names in the order the certificates are shown: the configured
 * order, or the fullchain.<type>.pem files found in domains/<id>/. */
static apr_array_header_t *key_type_names(status_ctx_t *c)
{
    apr_array_header_t *out = apr_array_make(c->p, 4, sizeof(const char *)), *items;

    if (c->d && c->d->key_types && c->d->key_types->nelts > 0) {
        for (int i = 0; i < c->d->key_types->nelts; i++) {
            APR_ARRAY_PUSH(out, const char *)
                = acme_key_type_name(APR_ARRAY_IDX(c->d->key_types, i, acme_key_type_e));
        }
        return out;
    }
    if (c->store->list(c->store, c->p, ACME_SG_DOMAINS, c->entry, &items) != APR_SUCCESS) {
        return out;
    }
    for (int i = 0; i < items->nelts; i++) {
        const char *it = APR_ARRAY_IDX(items, i, const char *);
        apr_size_t n = strlen(it);
        acme_key_type_e kt;

        if (n > 14 && strncmp(it, "fullchain.", 10) == 0 && strcmp(it + n - 4, ".pem") == 0) {
            const char *t = apr_pstrndup(c->p, it + 10, n - 14);

            if (acme_key_type_parse(t, &kt) == APR_SUCCESS) {
                APR_ARRAY_PUSH(out, const char *) = acme_key_type_name(kt);
            }
        }
    }
    return out;
}

/* The leaf of group/<entry>/fullchain.<type>.pem, or APR_ENOENT/APR_EINVAL. */
static apr_status_t load_leaf(status_ctx_t *c, acme_store_group_e g, const char *type,
                              acme_cert_info_t **info)
{
    apr_array_header_t *certs;
    char *pem;
    apr_size_t len;
    apr_status_t rv = c->store->load(c->store, c->p, g, c->entry,
                                     acme_store_chain_item(c->p, type), &pem, &len);

    if (rv == APR_SUCCESS) {
        rv = acme_certs_from_pem(c->p, pem, len, &certs);
    }
    if (rv == APR_SUCCESS) {
        rv = acme_cert_info(c->p, APR_ARRAY_IDX(certs, 0, const acme_cert_t *), info);
    }
    return rv;
}

/* When a certificate enters its warning window. */
static apr_time_t warn_at(const acme_cert_info_t *ci, int pct, apr_interval_time_t window)
{
    if (pct <= 0 && window <= 0) {
        pct = DEFAULT_WARN_PCT;
    }
    return acme_plan_renew_at(ci->not_before, ci->not_after, pct, window);
}

static json_t *cert_json(apr_pool_t *p, const char *type, const acme_cert_info_t *ci,
                         apr_time_t warn, apr_time_t now)
{
    json_t *obj = json_object();

    if (obj && type) {
        json_object_set_new(obj, "key_type", json_string(type));
    }
    if (obj) {
        json_object_set_new(obj, "serial", str_or_null(ci->serial));
        json_object_set_new(obj, "not_before", json_string(acme_time_rfc3339(p, ci->not_before)));
        json_object_set_new(obj, "not_after", json_string(acme_time_rfc3339(p, ci->not_after)));
        json_object_set_new(obj, "issuer", str_or_null(ci->issuer));
        json_object_set_new(obj, "sha256_fingerprint", str_or_null(ci->sha256_fingerprint));
        json_object_set_new(obj, "warn_at", json_string(acme_time_rfc3339(p, warn)));
        json_object_set_new(obj, "expiring", json_boolean(now >= warn));
    }
    return obj;
}

static int in_strings(const json_t *arr, const char *s)
{
    size_t i;
    json_t *v;

    json_array_foreach(arr, i, v) {
        if (s && json_is_string(v) && !strcmp(json_string_value(v), s)) {
            return 1;
        }
    }
    return 0;
}

/* What the certificates of the active set say about the domain. */
typedef struct {
    int expired;                /* one is past not_after */
    int expiring;               /* one is inside its warning window (ACMEWarnWindow) */
    int revoked;                /* `acmectl revoke` recorded one of them */
} cert_flags_t;

/* "certificates" of the active set and their flags. An unreadable or broken
 * file is left out rather than failing the status. */
static json_t *active_certs(status_ctx_t *c, cert_flags_t *f)
{
    apr_array_header_t *types = key_type_names(c);
    json_t *arr = json_array();
    json_t *rec = acme_mark_revoked_get(c->store, c->p, c->entry);
    int pct = c->d ? c->d->warn_window_pct : DEFAULT_WARN_PCT;
    apr_interval_time_t window = c->d ? c->d->warn_window : 0;

    memset(f, 0, sizeof(*f));
    for (int i = 0; i < types->nelts; i++) {
        const char *t = APR_ARRAY_IDX(types, i, const char *);
        acme_cert_info_t *ci;
        apr_time_t warn;

        if (t == NULL || load_leaf(c, ACME_SG_DOMAINS, t, &ci) != APR_SUCCESS) {
            continue;
        }
        if (ci->not_after <= c->now) {
            f->expired = 1;
        }
        if (rec && in_strings(json_object_get(rec, "serials"), ci->serial)) {
            f->revoked = 1;
        }
        warn = warn_at(ci, pct, window);
        if (c->now >= warn) {
            f->expiring = 1;
        }
        json_array_append_new(arr, cert_json(c->p, t, ci, warn, c->now));
    }
    return arr;
}

/* staging/<id>/ holds a certificate chain waiting for activation. */
static int is_staged(status_ctx_t *c)
{
    apr_array_header_t *items;

    if (c->store->list(c->store, c->p, ACME_SG_STAGING, c->entry, &items) != APR_SUCCESS) {
        return 0;
    }
    for (int i = 0; i < items->nelts; i++) {
        if (strncmp(APR_ARRAY_IDX(items, i, const char *), "fullchain.", 10) == 0) {
            return 1;
        }
    }
    return 0;
}

static const char *state_str(status_ctx_t *c, const char *key)
{
    json_t *v = c->state ? json_object_get(c->state, key) : NULL;

    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The state of README "Status JSON": revoked > expired > (with an active
 * certificate) renewing | valid; without one: error after a failed attempt,
 * pending otherwise. */
static const char *overall_state(status_ctx_t *c, int active, int expired, int revoked)
{
    const char *drive = state_str(c, "state");
    int drive_busy = drive && (!strcmp(drive, "pending") || !strcmp(drive, "renewing")
                               || !strcmp(drive, "error"));

    if (active && revoked) {
        return "revoked";
    }
    if (active && expired) {
        return "expired";
    }
    if (active) {
        return drive_busy ? "renewing" : "valid";
    }
    return (drive && !strcmp(drive, "error")) ? "error" : "pending";
}

static json_t *names_json(status_ctx_t *c, const char *name)
{
    json_t *names = c->state ? json_object_get(c->state, "names") : NULL;

    if (c->d && c->d->names && c->d->names->nelts > 0) {
        names = json_array();
        for (int i = 0; i < c->d->names->nelts; i++) {
            json_array_append_new(names, json_string(APR_ARRAY_IDX(c->d->names, i, const char *)));
        }
        return names;
    }
    if (json_is_array(names)) {
        return json_deep_copy(names);
    }
    return json_pack("[s]", name);
}

/* The domain's name: the configured id, else its store entry. */
static const char *domain_name(status_ctx_t *c)
{
    return c->d && c->d->id ? c->d->id : c->entry;
}

/* Copies of status.json members that pass through (only when well-formed). */
static void copy_member(status_ctx_t *c, json_t *obj, const char *key, int (*ok)(const json_t *))
{
    json_t *v = c->state ? json_object_get(c->state, key) : NULL;

    json_object_set_new(obj, key, (v && ok(v)) ? json_deep_copy(v) : json_null());
}

static int is_str(const json_t *v)
{
    return json_is_string(v);
}

static int is_obj(const json_t *v)
{
    return json_is_object(v);
}

static int is_int(const json_t *v)
{
    return json_is_integer(v);
}

static const char *ca_url(status_ctx_t *c)
{
    const char *ca = state_str(c, "ca");

    if (ca == NULL && c->d && c->d->ca_urls && c->d->ca_urls->nelts > 0) {
        ca = APR_ARRAY_IDX(c->d->ca_urls, 0, const char *);
    }
    return ca;
}

apr_status_t acme_status_domain(apr_pool_t *p, acme_store_t *store, const char *id,
                                const acme_domain_t *d, json_t **out)
{
    status_ctx_t c = { p, store, NULL, d, NULL, apr_time_now() };
    json_t *obj, *certs;
    const char *name;
    apr_time_t renew_at;
    cert_flags_t flags;

    *out = NULL;
    if (store == NULL || id == NULL || (c.entry = acme_store_entry(p, id)) == NULL) {
        return APR_EINVAL;
    }
    if (acme_store_load_json(store, p, ACME_SG_STATE, c.entry, STATUS_ITEM, &c.state)
            != APR_SUCCESS || !json_is_object(c.state)) {
        c.state = NULL;     /* never driven yet, or unreadable: report what is on disk */
    }
    name = domain_name(&c);
    certs = active_certs(&c, &flags);
    obj = json_pack("{s:s, s:o, s:s, s:o, s:o, s:b, s:b}", "name", name,
                    "names", names_json(&c, name),
                    "state", overall_state(&c, json_array_size(certs) > 0, flags.expired,
                                           flags.revoked),
                    "ca", str_or_null(ca_url(&c)), "certificates", certs,
                    "staged", is_staged(&c), "expiring", flags.expiring);
    if (obj == NULL) {
        return APR_ENOMEM;
    }
    copy_member(&c, obj, "renewal", is_obj);
    if ((renew_at = acme_mark_renew_at(store, p, c.entry)) != 0) {
        /* `acmectl renew`: due from then on, until a drive takes it */
        json_object_set_new(obj, "renewal", json_pack("{s:s,s:s}", "at",
                            acme_time_rfc3339(p, renew_at), "source", "manual"));
    }
    copy_member(&c, obj, "last_error", is_obj);
    copy_member(&c, obj, "next_attempt", is_str);
    copy_member(&c, obj, "last_success", is_str);
    copy_member(&c, obj, "failures", is_int);
    copy_member(&c, obj, "failing_since", is_str);
    *out = acme_json_own(p, obj);
    return APR_SUCCESS;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every entry known to the store: active, staged or driven at least once. */
static apr_array_header_t *store_entries(apr_pool_t *p, acme_store_t *store)
{
    static const acme_store_group_e groups[] = { ACME_SG_DOMAINS, ACME_SG_STAGING, ACME_SG_STATE };
    apr_array_header_t *all = apr_array_make(p, 16, sizeof(const char *));
    apr_array_header_t *uniq = apr_array_make(p, 16, sizeof(const char *));

    for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
        apr_array_header_t *names;

        if (store->list(store, p, groups[g], NULL, &names) == APR_SUCCESS) {
            apr_array_cat(all, names);
        }
    }
    qsort(all->elts, (size_t)all->nelts, sizeof(const char *), cmp_str);
    for (int i = 0; i < all->nelts; i++) {
        const char *n = APR_ARRAY_IDX(all, i, const char *);
        const char *canon = acme_store_entry(p, n);

        /* Only what a domain maps to; stray entries made by hand and the
         * module's own records ("_marks", "_watch") are not domains. */
        if (canon == NULL || strcmp(canon, n) != 0 || n[0] == '_') {
            continue;
        }
        if (uniq->nelts == 0 || strcmp(APR_ARRAY_IDX(uniq, uniq->nelts - 1, const char *), n)) {
            APR_ARRAY_PUSH(uniq, const char *) = n;
        }
    }
    return uniq;
}

/* The fleet view of a fleet store: this node, every node's heartbeat (its
 * active serials), who holds each domain's lock, each domain's last publish.
 * What Redis cannot answer now is left out ("reachable": false). */
static json_t *fleet_view(apr_pool_t *p, acme_store_t *store, const apr_array_header_t *ids)
{
    apr_array_header_t *nodes = NULL;
    json_t *fleet, *jn = json_array(), *locks = json_array(), *pubs = json_array();
    acme_redis_url_t u;
    const char *err, *url = acme_store_redis_url(store);
    int ok;

    if (acme_redis_url_parse(p, url, &u, &err) == APR_SUCCESS) url = acme_redis_url_show(p, &u);
    ok = acme_store_fleet_nodes(store, p, &nodes) == APR_SUCCESS;
    fleet = json_pack("{s:s,s:s,s:b,s:o,s:o,s:o}", "store", url, "node",
                      acme_store_fleet_node(store), "reachable", ok, "nodes", jn, "locks", locks,
                      "published", pubs);
    for (int i = 0; ok && i < nodes->nelts; i++) {
        const acme_fleet_node_t *n = &APR_ARRAY_IDX(nodes, i, acme_fleet_node_t);
        json_t *rec = NULL;
        json_t *one = json_pack("{s:s,s:I}", "name", n->name, "age_seconds",
                                (json_int_t)apr_time_sec(n->age));
        if (acme_json_parse(p, n->data, n->len, &rec, NULL) == APR_SUCCESS
            && json_is_object(json_object_get(rec, "serials"))) {
            json_object_set(one, "serials", json_object_get(rec, "serials"));
        }
        json_array_append_new(jn, one);
    }
    for (int i = 0; ok && ids && i < ids->nelts; i++) {
        const char *id = APR_ARRAY_IDX(ids, i, const char *);
        acme_fleet_holder_t h;
        apr_array_header_t *items;
        apr_uint64_t gen;
        const char *node;
        apr_time_t at = 0;

        if (acme_store_fleet_holder(store, p, id, &h) == APR_SUCCESS && h.owner) {
            json_array_append_new(locks, json_pack("{s:s,s:s,s:I,s:I}", "domain", id, "holder",
                                                   h.owner, "token", (json_int_t)h.token,
                                                   "left_seconds",
                                                   (json_int_t)apr_time_sec(h.left)));
        }
        if (acme_store_published(store, p, id, &items, &gen, &node, &at) == APR_SUCCESS) {
            json_t *one = json_pack("{s:s,s:I,s:s}", "domain", id, "generation",
                                    (json_int_t)gen, "node", node);
            json_object_set_new(one, "at", json_string(acme_time_rfc3339(p, at)));
            json_array_append_new(pubs, one);
        }
    }
    return fleet;
}

apr_status_t acme_status_all(apr_pool_t *p, acme_store_t *store,
                             const apr_array_header_t *domains, json_t **out)
{
    apr_array_header_t *fleet_ids = apr_array_make(p, 8, sizeof(const char *));

    json_t *arr = json_array(), *obj;
    apr_status_t rv = APR_SUCCESS;

    *out = NULL;
    obj = acme_json_own(p, json_pack("{s:s, s:o}", "version", ACME_VERSION, "domains", arr));
    if (obj == NULL) {
        return APR_ENOMEM;
    }
    if (domains != NULL) {
        for (int i = 0; i < domains->nelts && rv == APR_SUCCESS; i++) {
            const acme_domain_t *d = APR_ARRAY_IDX(domains, i, const acme_domain_t *);
            json_t *one;

            rv = acme_status_domain(p, store, d->id, d, &one);
            if (rv == APR_SUCCESS) {
                json_array_append(arr, one);
            }
            APR_ARRAY_PUSH(fleet_ids, const char *) = d->id;
        }
    }
    else {
        apr_array_header_t *ids = store_entries(p, store);

        for (int i = 0; i < ids->nelts && rv == APR_SUCCESS; i++) {
            json_t *one;

            rv = acme_status_domain(p, store, APR_ARRAY_IDX(ids, i, const char *), NULL, &one);
            if (rv == APR_SUCCESS) {
                json_array_append(arr, one);
            }
        }
        fleet_ids = ids;
    }
    if (rv == APR_SUCCESS && acme_store_redis_url(store)) {
        json_object_set_new(obj, "fleet", fleet_view(p, store, fleet_ids));
    }
    if (rv == APR_SUCCESS) {
        *out = obj;
    }
    return rv;
}

apr_status_t acme_status_cert_file(apr_pool_t *p, const char *path, int warn_pct,
                                   apr_interval_time_t warn_window, apr_time_t now,
                                   json_t **out)
{
    apr_array_header_t *certs = NULL;
    acme_cert_info_t *ci = NULL;
    json_t *obj, *names;
    apr_finfo_t fi;
    apr_status_t rv;

    *out = NULL;
    if ((rv = apr_stat(&fi, path, APR_FINFO_SIZE | APR_FINFO_TYPE, p)) != APR_SUCCESS) {
        return rv;
    }
    if (fi.filetype != APR_REG || fi.size > STATIC_FILE_MAX) {
        return APR_EINVAL;
    }
    if ((rv = acme_cert_load_chain(p, path, &certs)) != APR_SUCCESS
        || (rv = acme_cert_info(p, APR_ARRAY_IDX(certs, 0, const acme_cert_t *), &ci))) {
        return rv;
    }
    obj = cert_json(p, NULL, ci, warn_at(ci, warn_pct, warn_window), now);
    names = json_array();
    for (int i = 0; ci->dns_names && i < ci->dns_names->nelts; i++) {
        json_array_append_new(names, json_string(APR_ARRAY_IDX(ci->dns_names, i, const char *)));
    }
    for (int i = 0; ci->ip_addrs && i < ci->ip_addrs->nelts; i++) {
        json_array_append_new(names, json_string(APR_ARRAY_IDX(ci->ip_addrs, i, const char *)));
    }
    if (!obj) {
        json_decref(names);
        return APR_ENOMEM;
    }
    json_object_set_new(obj, "file", json_string(path));
    json_object_set_new(obj, "names", names);
    json_object_set_new(obj, "expired", json_boolean(ci->not_after <= now));
    *out = acme_json_own(p, obj);
    return APR_SUCCESS;
}
