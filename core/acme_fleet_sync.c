/* acme_fleet_sync.c: publishing staged sets and taking newer published ones (acme_fleet_sync.h). */
#include <string.h>

#include <apr_strings.h>

#include "acme_fleet.h"
#include "acme_fleet_sync.h"
#include "acme_store_redis.h"
#include "acme_x509.h"

apr_status_t acme_fleet_publish_staged(acme_store_t *st, apr_pool_t *p, const acme_domain_t *d,
                                       const acme_store_lock_t *fence,
                                       const acme_logger_t *log)
{
    acme_cert_set_t *set = NULL;
    const char *why = NULL;
    apr_status_t rv;

    if (!acme_store_redis_url(st)) return APR_SUCCESS;
    if ((rv = acme_set_read(st, p, ACME_SG_STAGING, d, 1, &set, &why)) != APR_SUCCESS) {
        acme_log(log, ACME_LOG_ERR, rv, "%s: the staged set cannot be read for publishing: %s",
                 d->id, why ? why : "incomplete");
        return rv;
    }
    return st->replace(st, p, ACME_SG_PUBLISHED, set->entry, set->items, ACME_SG_COUNT, fence);
}

/* notBefore of the leaf of a chain's PEM; 0 when it cannot be read. */
static apr_time_t leaf_not_before(apr_pool_t *p, const char *pem, apr_size_t len)
{
    apr_array_header_t *certs = NULL;
    acme_cert_info_t *info = NULL;

    if (acme_certs_from_pem(p, pem, len, &certs) != APR_SUCCESS || certs->nelts == 0
        || acme_cert_info(p, APR_ARRAY_IDX(certs, 0, acme_cert_t *), &info) != APR_SUCCESS) {
        return 0;
    }
    return info->not_before;
}

int acme_fleet_newer(acme_store_t *st, apr_pool_t *p, const acme_domain_t *d, apr_time_t now,
                     const acme_logger_t *log, acme_cert_set_t **out, const char **from)
{
    apr_array_header_t *items = NULL, *names;
    acme_cert_set_t *set;
    apr_uint64_t gen = 0;
    const char *node = NULL, *bad, *entry = acme_store_entry(p, d->id);
    const acme_store_item_t *chain = NULL;
    char *active;
    apr_size_t alen;
    apr_status_t rv;
    int i, j;

    *out = NULL;
    if (!acme_store_redis_url(st) || !entry) return 0;
    rv = acme_store_published(st, p, entry, &items, &gen, &node, NULL);
    if (APR_STATUS_IS_ENOENT(rv)) return 0;
    if (rv != APR_SUCCESS) {
        acme_log(log, ACME_LOG_ERR, rv, "%s: the fleet's published set cannot be read; nothing "
                 "is ordered until it can", d->id);
        return -1;
    }
    /* exactly the items of d's set, in its order: another configuration's
     * set (other key types) is not taken */
    set = apr_pcalloc(p, sizeof(*set));
    set->d = d;
    set->entry = entry;
    names = acme_set_item_names(p, d);
    set->items = apr_array_make(p, names->nelts, sizeof(acme_store_item_t));
    for (i = 0; i < names->nelts; i++) {
        const char *name = APR_ARRAY_IDX(names, i, const char *);
        for (j = 0; j < items->nelts; j++) {
            const acme_store_item_t *it = &APR_ARRAY_IDX(items, j, acme_store_item_t);
            if (!strcmp(it->name, name)) {
                *(acme_store_item_t *)apr_array_push(set->items) = *it;
                if (!strcmp(name, "fullchain.pem")) chain = it;
                break;
            }
        }
        if (j == items->nelts) return 0;
    }
    *from = apr_psprintf(p, "generation %" APR_UINT64_T_FMT " by %s", gen, node);
    if ((bad = acme_set_verify(p, set, now))) {
        acme_log(log, ACME_LOG_DEBUG, 0, "%s: the fleet's set (%s) is not taken: %s", d->id,
                 *from, bad);
        return 0;
    }
    if (acme_set_same(st, p, set, ACME_SG_DOMAINS, 1) || acme_set_same(st, p, set,
                                                                       ACME_SG_STAGING, 1)) {
        return 0;
    }
    if (chain && st->load(st, p, ACME_SG_DOMAINS, entry, "fullchain.pem", &active, &alen)
                 == APR_SUCCESS
        && leaf_not_before(p, active, alen) > leaf_not_before(p, chain->data, chain->len)) {
        acme_log(log, ACME_LOG_DEBUG, 0, "%s: the fleet's set (%s) is older than the active "
                 "one; kept", d->id, *from);
        return 0;
    }
    *out = set;
    return 1;
}

apr_status_t acme_fleet_stage(acme_store_t *st, apr_pool_t *p, const acme_cert_set_t *set)
{
    const acme_store_item_t *meta = NULL;
    apr_status_t rv = APR_SUCCESS;
    int i;

    st->remove(st, p, ACME_SG_STAGING, set->entry, NULL, NULL);
    for (i = 0; rv == APR_SUCCESS && i < set->items->nelts; i++) {
        const acme_store_item_t *it = &APR_ARRAY_IDX(set->items, i, acme_store_item_t);
        if (!strcmp(it->name, ACME_SET_META)) {
            meta = it;
            continue;
        }
        rv = st->save(st, p, ACME_SG_STAGING, set->entry, it->name, it->data, it->len,
                      it->flags & ACME_STORE_PRIVATE, NULL);
    }
    if (rv == APR_SUCCESS && meta) {
        rv = st->save(st, p, ACME_SG_STAGING, set->entry, meta->name, meta->data, meta->len, 0,
                      NULL);
    }
    if (rv != APR_SUCCESS) st->remove(st, p, ACME_SG_STAGING, set->entry, NULL, NULL);
    return rv;
}
