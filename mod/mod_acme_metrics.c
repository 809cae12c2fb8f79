/* mod_acme_metrics.c: SetHandler acme-metrics answers the Prometheus text exposition (format 0.0.4) of the status and of the counters the watchdog saves in the store. */
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_protocol.h>
#include <apr_strings.h>

#include "acme_metrics.h"
#include "acme_status.h"
#include "mod_acme_config.h"
#include "mod_acme_metrics.h"
#include "mod_acme_status.h"

APLOG_USE_MODULE(acme);

#define HANDLER_NAME "acme-metrics"
#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
/* The counters live beside the watchdog's other records (state/_watch/). */
#define METRICS_ENTRY "_watch"
#define METRICS_ITEM "metrics.json"
#define FLUSH_EVERY apr_time_from_sec(2)

struct am_wd_metrics_t {
    am_runtime_t *rt;
    acme_metrics_t *m;
    apr_time_t flushed;
};

int am_metrics_handler(request_rec *r)
{
    const am_sconf_t *sc;
    const am_runtime_t *rt;
    json_t *status = NULL, *counters = NULL;
    int rc = am_handler_check(r, HANDLER_NAME);

    if (rc != OK) {
        return rc;
    }
    sc = am_sconf(r->server);
    rt = sc ? sc->rt : NULL;
    if (am_status_build(r->pool, rt, &status) != APR_SUCCESS || !status) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (rt && acme_store_load_json(rt->store, r->pool, ACME_SG_STATE, METRICS_ENTRY,
                                   METRICS_ITEM, &counters) != APR_SUCCESS) {
        counters = NULL;        /* no drive has run yet */
    }
    ap_set_content_type(r, CONTENT_TYPE);
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (!r->header_only) {
        ap_rputs(acme_metrics_text(r->pool, status, counters), r);
    }
    return OK;
}

/* ---- the watchdog's side ---------------------------------------------------- */

static void count_activations(am_wd_metrics_t *wm, apr_pool_t *ptemp)
{
    apr_pool_t *p;
    int i;

    apr_pool_create(&p, ptemp);
    for (i = 0; i < wm->rt->domains->nelts; i++) {
        const acme_domain_t *d = APR_ARRAY_IDX(wm->rt->domains, i, acme_domain_t *);
        json_t *dom = NULL;

        apr_pool_clear(p);
        if (acme_status_domain(p, wm->rt->store, d->id, d, &dom) == APR_SUCCESS) {
            json_t *first = json_array_get(json_object_get(dom, "certificates"), 0);
            acme_metrics_active(wm->m, d->id, json_string_value(json_object_get(first, "serial")));
        }
    }
    apr_pool_destroy(p);
}

am_wd_metrics_t *am_wd_metrics_start(am_runtime_t *rt, apr_pool_t *pool,
                                         acme_ca_registry_t *cas)
{
    am_wd_metrics_t *wm = apr_pcalloc(pool, sizeof(*wm));
    acme_ca_observer_t obs;
    json_t *saved = NULL;

    wm->rt = rt;
    if (acme_metrics_create(pool, &wm->m) != APR_SUCCESS) {
        return NULL;
    }
    if (acme_store_load_json(rt->store, pool, ACME_SG_STATE, METRICS_ENTRY, METRICS_ITEM,
                             &saved) == APR_SUCCESS) {
        acme_metrics_restore(wm->m, saved);
    }
    acme_metrics_ca_observer(wm->m, &obs);
    acme_ca_registry_set_observer(cas, &obs);
    count_activations(wm, pool);
    am_wd_metrics_flush(wm, pool, apr_time_now(), 1);
    return wm;
}

void am_wd_metrics_drive(am_wd_metrics_t *wm, apr_interval_time_t took, int ok)
{
    if (wm) {
        acme_metrics_drive(wm->m, took, ok);
    }
}

void am_wd_metrics_flush(am_wd_metrics_t *wm, apr_pool_t *ptemp, apr_time_t now, int final)
{
    acme_store_t *st;
    acme_store_lock_t *lock = NULL;
    apr_pool_t *p;
    json_t *saved = NULL, *merged;
    int changed = 0;
    apr_status_t rv;

    if (!wm) {
        return;
    }
    if (!final) {
        /* the watchdog's tick: its thread alone reads and writes flushed */
        if (now - wm->flushed < FLUSH_EVERY) {
            return;
        }
        wm->flushed = now;
    }
    st = wm->rt->store;
    apr_pool_create(&p, ptemp);
    /* read-add-write under the entry's lock: an old generation's watchdog may
     * still be adding its last counts */
    if ((rv = st->lock(st, p, ACME_SG_STATE, METRICS_ENTRY, apr_time_from_sec(1), &lock))
        != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, rv, wm->rt->s,
                     "mod_acme: metrics counters busy; saved later");
        apr_pool_destroy(p);
        return;
    }
    if (acme_store_load_json(st, p, ACME_SG_STATE, METRICS_ENTRY, METRICS_ITEM, &saved)
        != APR_SUCCESS) {
        saved = NULL;
    }
    merged = acme_metrics_merge(wm->m, p, saved, &changed);
    /* counters are not worth an fsync: a crash costs a few seconds of them */
    if (changed && (rv = acme_store_save_json(st, p, ACME_SG_STATE, METRICS_ENTRY, METRICS_ITEM,
                                              merged, ACME_STORE_REGENERABLE, NULL)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, rv, wm->rt->s,
                     "mod_acme: cannot save the metrics counters in state/%s/", METRICS_ENTRY);
    }
    st->unlock(lock);
    apr_pool_destroy(p);
}
