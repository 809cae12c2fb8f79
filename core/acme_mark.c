/* acme_mark.c: acmectl's marks on a domain (renew now, revoked certificates) in state/<entry>/ and the watchdog's wake-up item. */
#include <string.h>
#include <apr_strings.h>

#include "acme_json.h"
#include "acme_mark.h"
#include "acme_time.h"

/* state/_marks/wake: not a domain entry (status lists only names that are) */
#define WAKE_ENTRY "_marks"
#define WAKE_ITEM "wake"

/* The item holds the time it was written in microseconds (the clock, not
 * the mark's own time): a watchdog that saw one mark sees the next as a
 * different value, whatever time the marks carry. */
static apr_status_t wake(acme_store_t *store, apr_pool_t *p)
{
    const char *stamp = apr_psprintf(p, "%" APR_TIME_T_FMT "\n", apr_time_now());

    return store->save(store, p, ACME_SG_STATE, WAKE_ENTRY, WAKE_ITEM, stamp, strlen(stamp),
                       ACME_STORE_REGENERABLE, NULL);
}

apr_status_t acme_mark_renew(acme_store_t *store, apr_pool_t *p, const char *entry,
                             apr_time_t now)
{
    const char *stamp = apr_pstrcat(p, acme_time_rfc3339(p, now), "\n", NULL);
    apr_status_t rv = store->save(store, p, ACME_SG_STATE, entry, ACME_MARK_RENEW_ITEM, stamp,
                                  strlen(stamp), 0, NULL);

    return rv == APR_SUCCESS ? wake(store, p) : rv;
}

apr_status_t acme_mark_revoked(acme_store_t *store, apr_pool_t *p, const char *entry,
                               const apr_array_header_t *serials, int reason, apr_time_t now,
                               int reissue)
{
    json_t *rec = acme_json_own(p, json_pack("{s:[],s:s}", "serials", "at",
                                             acme_time_rfc3339(p, now)));
    json_t *arr = json_object_get(rec, "serials");
    apr_status_t rv;
    int i;

    if (!rec) {
        return APR_ENOMEM;
    }
    for (i = 0; i < serials->nelts; ++i) {
        json_array_append_new(arr, json_string(APR_ARRAY_IDX(serials, i, const char *)));
    }
    if (reason >= 0) {
        json_object_set_new(rec, "reason", json_integer(reason));
    }
    rv = acme_store_save_json(store, p, ACME_SG_STATE, entry, ACME_MARK_REVOKED_ITEM, rec, 0, NULL);
    if (rv == APR_SUCCESS) {
        rv = reissue ? acme_mark_renew(store, p, entry, now) : wake(store, p);
    }
    return rv;
}

apr_time_t acme_mark_renew_at(acme_store_t *store, apr_pool_t *p, const char *entry)
{
    char *data = NULL, *nl;
    apr_size_t len = 0;
    apr_time_t t = 0;

    if (store->load(store, p, ACME_SG_STATE, entry, ACME_MARK_RENEW_ITEM, &data, &len)
        != APR_SUCCESS) {
        return 0;
    }
    if ((nl = strchr(data, '\n'))) *nl = '\0';
    /* a mark in an older format still asks for a renewal: at once */
    if (acme_time_parse_rfc3339(data, &t) != APR_SUCCESS || t <= 0) {
        t = apr_time_from_sec(1);
    }
    return t;
}

json_t *acme_mark_revoked_get(acme_store_t *store, apr_pool_t *p, const char *entry)
{
    json_t *rec = NULL;

    if (acme_store_load_json(store, p, ACME_SG_STATE, entry, ACME_MARK_REVOKED_ITEM, &rec)
            != APR_SUCCESS || !json_is_object(rec)
        || !json_is_array(json_object_get(rec, "serials"))) {
        return NULL;
    }
    return rec;
}

apr_time_t acme_mark_last(acme_store_t *store, apr_pool_t *p)
{
    char *data = NULL, *end = NULL;
    apr_size_t len = 0;
    apr_int64_t t;

    if (store->load(store, p, ACME_SG_STATE, WAKE_ENTRY, WAKE_ITEM, &data, &len) != APR_SUCCESS) {
        return 0;
    }
    t = apr_strtoi64(data, &end, 10);
    /* anything else there is still a mark, if one that never changes */
    return end != data && t > 0 ? (apr_time_t)t : 1;
}
