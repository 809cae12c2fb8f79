/* acme_drive_renew.c: whether a domain needs a drive now (staged sets, the active set's fitness, the renewal window or ARI, renew marks, backoff) and when to look again. */
#include <stdlib.h>
#include <string.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include "acme_activate.h"
#include "acme_drive.h"
#include "acme_drive_int.h"
#include "acme_fleet_sync.h"
#include "acme_json.h"
#include "acme_plan.h"
#include "acme_record.h"
#include "acme_time.h"
#include "acme_x509.h"

#define ARI_ERROR_RETRY apr_time_from_sec(3600)
#define MAX_EXPLANATION_URL 1024

typedef struct {
    acme_drive_env_t *env;
    apr_pool_t *p;
    const acme_domain_t *d;
    const char *entry;
    const char *hash;
    apr_time_t now;
    json_t *status;
    int dirty;                   /* status changed: save it */
    int can_save;                /* we hold the lock */
    int ask_ca;                  /* ARI is due but env->no_ca_requests */
} need_t;

/* What waits in staging. A set whose copy is active was activated: it is
 * removed. One made for another configuration or that no longer verifies
 * would never be activated: it is removed too (with the reason), so a new
 * drive replaces it. 1 while a sound set for this configuration waits. */
static int staged_waiting(need_t *n)
{
    acme_store_t *st = n->env->store;
    acme_cert_set_t *set = NULL;
    json_t *meta = NULL;
    const char *h, *bad = NULL;
    apr_status_t rv = acme_set_read(st, n->p, ACME_SG_STAGING, n->d, 1, &set, &bad);

    if (APR_STATUS_IS_ENOENT(rv)) {
        return 0;
    }
    if (rv == APR_SUCCESS && acme_set_same(st, n->p, set, ACME_SG_DOMAINS, 1)) {
        if (n->can_save) {
            st->remove(st, n->p, ACME_SG_STAGING, n->entry, NULL, NULL);
        }
        return 0;
    }
    if (rv == APR_SUCCESS) {
        if (acme_store_load_json(st, n->p, ACME_SG_STAGING, n->entry, ACME_SET_META, &meta)
                != APR_SUCCESS || !(h = json_str(meta, "config_hash")) || strcmp(h, n->hash)) {
            bad = "they were made for another configuration";
        }
        else if (!(bad = acme_set_verify(n->p, set, n->now))) {
            return 1;
        }
    }
    if (n->can_save) {
        acme_log(n->env->log, ACME_LOG_WARN, 0, "%s: the staged certificates are removed, "
                 "they cannot be activated: %s", n->d->id, bad ? bad : "unknown reason");
        st->remove(st, n->p, ACME_SG_STAGING, n->entry, NULL, NULL);
    }
    return 0;
}

/* Active certificates: loads each key type's chain; the reason when one is unfit. */
static const char *active_unfit(need_t *n, apr_array_header_t **primary)
{
    acme_store_t *st = n->env->store;
    json_t *meta = NULL;
    const char *h;
    int i;

    for (i = 0; i < n_key_types(n->d); ++i) {
        const char *t = key_type_at(n->d, i);
        apr_array_header_t *certs = NULL;
        acme_cert_info_t *info = NULL;
        apr_status_t rv = load_chain(st, n->p, ACME_SG_DOMAINS, n->entry,
                                     acme_store_chain_item(n->p, t), &certs, NULL, NULL);
        if (rv != APR_SUCCESS) return apr_psprintf(n->p, "no %s certificate yet", t);
        if (leaf_info(n->p, certs, &info) != APR_SUCCESS) {
            return apr_psprintf(n->p, "the %s certificate cannot be read", t);
        }
        if (info->not_after <= n->now) return apr_psprintf(n->p, "the %s certificate expired", t);
        if (!acme_cert_covers(APR_ARRAY_IDX(certs, 0, acme_cert_t *), n->d->names)) {
            return apr_psprintf(n->p, "the %s certificate does not cover all names", t);
        }
        if (i == 0) *primary = certs;
    }
    if (acme_store_load_json(st, n->p, ACME_SG_DOMAINS, n->entry, ACME_SET_META, &meta)
            == APR_SUCCESS
        && (h = json_str(meta, "config_hash")) && strcmp(h, n->hash)) {
        return "the configuration changed";
    }
    return NULL;
}

static apr_time_t window_at(need_t *n, const apr_array_header_t *certs)
{
    acme_cert_info_t *info = NULL;
    if (leaf_info(n->p, certs, &info) != APR_SUCCESS) return n->now;
    return acme_plan_renew_at(info->not_before, info->not_after, n->d->renew_window_pct,
                              n->d->renew_window);
}

static double random01(void)
{
    unsigned char b[4];
    apr_uint32_t v;
    if (apr_generate_random_bytes(b, sizeof(b)) != APR_SUCCESS) return 0.5;
    v = ((apr_uint32_t)b[0] << 24) | ((apr_uint32_t)b[1] << 16) | ((apr_uint32_t)b[2] << 8) | b[3];
    return (double)v / 4294967296.0;
}

/* status.renewal = {at, source}; 1 when it changed. */
int acme_drive_put_renewal(apr_pool_t *p, json_t *status, apr_time_t at, const char *source)
{
    json_t *old = json_object_get(status, "renewal");
    const char *s = acme_time_rfc3339(p, at);
    if (json_is_object(old) && json_str(old, "at") && !strcmp(json_str(old, "at"), s)
        && json_str(old, "source") && !strcmp(json_str(old, "source"), source)) {
        return 0;
    }
    json_object_set_new(status, "renewal", json_pack("{s:s,s:s}", "at", s, "source", source));
    return 1;
}

/* Ask the CA's renewalInfo about a certificate and record the answer
 * (status.ari, and status.renewal from the window); 0 when unavailable. */
apr_time_t acme_drive_ari_ask(acme_ca_t *ca, apr_pool_t *p, const acme_logger_t *log,
                              const char *domain, json_t *status, const char *cert_id,
                              apr_time_t now)
{
    acme_ari_t *win = NULL;
    acme_problem_t *prob = NULL;
    json_t *ari;
    apr_time_t at;
    apr_status_t rv = acme_ari_fetch(ca, p, cert_id, &win, &prob);

    if (rv == APR_ENOTIMPL) return 0;
    ari = json_pack("{s:s}", "cert_id", cert_id);
    set_time(p, ari, "checked", now);
    if (rv != APR_SUCCESS) {
        acme_log(log, ACME_LOG_INFO, rv, "%s: renewalInfo failed (%s); using the renewal window",
                 domain, acme_problem_str(p, prob));
        set_time(p, ari, "retry_after", now + ARI_ERROR_RETRY);
        json_object_set_new(status, "ari", ari);
        return 0;
    }
    set_time(p, ari, "retry_after", now + win->retry_after);
    json_object_set_new(status, "ari", ari);
    at = acme_plan_ari_pick(win->start, win->end, random01());
    acme_drive_put_renewal(p, status, at, "ari");
    if (win->explanation_url && strlen(win->explanation_url) <= MAX_EXPLANATION_URL
        && (!strncmp(win->explanation_url, "https://", 8)
            || !strncmp(win->explanation_url, "http://", 7))) {
        /* the CA's page about why it wants this renewal (e.g. a mass revocation) */
        json_object_set_new(json_object_get(status, "renewal"), "explanation_url",
                            json_string(win->explanation_url));
    }
    return at;
}

static void set_renewal(need_t *n, apr_time_t at, const char *source)
{
    if (acme_drive_put_renewal(n->p, n->status, at, source)) n->dirty = 1;
}

/* ARI's renewal time for the active certificate: the recorded answer while
 * it is fresh, else asked anew when the CA has renewalInfo; 0 when none. */
static apr_time_t ari_at(need_t *n, const apr_array_header_t *certs)
{
    acme_drive_env_t *env = n->env;
    json_t *ari = json_object_get(n->status, "ari"), *ren = json_object_get(n->status, "renewal");
    const char *id = NULL, *url;
    acme_ca_t *ca = NULL;
    json_t *dir = NULL;
    acme_problem_t *prob = NULL;

    if (!n->d->renew_via_ari
        || acme_cert_ari_id(n->p, APR_ARRAY_IDX(certs, 0, acme_cert_t *), &id) != APR_SUCCESS) {
        return 0;
    }
    if (json_is_object(ari) && json_str(ari, "cert_id") && !strcmp(json_str(ari, "cert_id"), id)
        && n->now < json_time(ari, "retry_after")) {
        /* Asked recently: keep its answer (or the window after an ARI error). */
        if (json_str(ren, "source") && !strcmp(json_str(ren, "source"), "ari")) {
            return json_time(ren, "at");
        }
        return 0;
    }
    if (env->no_ca_requests) {
        n->ask_ca = 1;
        return 0;
    }
    url = json_str(n->status, "ca");
    if (!url && n->d->ca_urls && n->d->ca_urls->nelts) {
        url = APR_ARRAY_IDX(n->d->ca_urls, 0, const char *);
    }
    if (!url || !env->cas || acme_ca_registry_get(env->cas, url, &ca) != APR_SUCCESS
        || acme_ca_directory(ca, n->p, &dir, &prob) != APR_SUCCESS
        || !acme_ca_endpoint(ca, "renewalInfo")) {
        return 0;
    }
    n->dirty = 1;
    return acme_drive_ari_ask(ca, n->p, env->log, n->d->id, n->status, id, n->now);
}

static int renewal_due(need_t *n, const apr_array_header_t *certs, const char **why)
{
    apr_time_t at = ari_at(n, certs);
    const char *source = "ari";
    if (n->ask_ca) {
        *why = "the CA's renewal information is due";
        return ACME_DRIVE_ASK_CA;
    }
    if (at == 0) {
        at = window_at(n, certs);
        source = "window";
    }
    set_renewal(n, at, source);
    if (n->now >= at) {
        *why = apr_psprintf(n->p, "renewal due since %s (%s)", acme_time_rfc3339(n->p, at), source);
        return 1;
    }
    *why = apr_psprintf(n->p, "renewal at %s (%s)", acme_time_rfc3339(n->p, at), source);
    return 0;
}

static int needed_locked(need_t *n, const char **why)
{
    acme_store_t *st = n->env->store;
    apr_array_header_t *primary = NULL;
    acme_cert_set_t *set = NULL;
    const char *old, *unfit, *from = NULL;
    int changed;

    (void)acme_record_load(st, n->p, n->entry, &n->status);
    old = n->status ? json_str(n->status, "config_hash") : NULL;
    changed = old && strcmp(old, n->hash);
    if (n->status && !changed && acme_record_next_attempt(n->status) > n->now) {
        *why = apr_psprintf(n->p, "waiting after a failure until %s",
                            json_str(n->status, "next_attempt"));
        return 0;
    }
    if (acme_record_renew_at(st, n->p, n->entry) != 0) {
        *why = "renewal requested";
        return 1;
    }
    if (staged_waiting(n)) {
        *why = "new certificates are staged, waiting for activation";
        return 0;
    }
    if (acme_fleet_newer(st, n->p, n->d, n->now, n->env->log, &set, &from) > 0) {
        *why = apr_psprintf(n->p, "newer certificates were published in the fleet (%s)", from);
        return 1;
    }
    if ((unfit = active_unfit(n, &primary))) {
        *why = unfit;
        return 1;
    }
    if (changed) {
        *why = "the configuration changed";
        return 1;
    }
    if (!n->status) {
        n->status = acme_json_own(n->p, json_pack("{s:o,s:i,s:s,s:s,s:i}", "names",
                                  names_json(n->d), "ca_index", 0, "config_hash", n->hash,
                                  "state", "valid", "failures", 0));
        if (n->d->ca_urls && n->d->ca_urls->nelts) {
            json_object_set_new(n->status, "ca",
                                json_string(APR_ARRAY_IDX(n->d->ca_urls, 0, const char *)));
        }
    }
    return renewal_due(n, primary, why);
}

int acme_drive_needed(acme_drive_env_t *env, apr_pool_t *p, const acme_domain_t *d,
                      apr_time_t now, const char **why)
{
    acme_store_t *st = env->store;
    acme_store_lock_t *lock = NULL;
    need_t n;
    apr_status_t rv;
    int res;

    memset(&n, 0, sizeof(n));
    n.env = env;
    n.p = p;
    n.d = d;
    n.now = now;
    *why = "";
    if (!(n.entry = acme_store_entry(p, d->id)) || n_key_types(d) == 0) {
        *why = "invalid domain";
        return 0;
    }
    /* NULL only when OpenSSL cannot hash (a child shutting down): look later */
    if (!(n.hash = acme_domain_config_hash(p, d))) {
        *why = "the configuration cannot be hashed now";
        return 0;
    }
    rv = st->lock(st, p, ACME_SG_STATE, n.entry, 0, &lock);
    if (rv == APR_TIMEUP || APR_STATUS_IS_EBUSY(rv)) {
        *why = ACME_DRIVE_WHY_BUSY;
        return 0;
    }
    n.can_save = (rv == APR_SUCCESS);
    res = needed_locked(&n, why);
    if (n.dirty && n.can_save && n.status) {
        acme_record_save(st, p, n.entry, n.status);
    }
    if (n.can_save) st->unlock(lock);
    return res;
}

apr_time_t acme_drive_next_look(acme_drive_env_t *env, apr_pool_t *p, const acme_domain_t *d,
                                apr_time_t now)
{
    apr_interval_time_t soon = env->retry_delay > 0 ? env->retry_delay : ACME_DEFAULT_RETRY_DELAY;
    const char *entry = acme_store_entry(p, d->id);
    apr_time_t times[2], next = 0;
    json_t *st = NULL;
    int i;

    if (!entry || acme_record_load(env->store, p, entry, &st) != APR_SUCCESS) {
        return 0;
    }
    times[0] = acme_record_next_attempt(st);
    times[1] = acme_record_renewal_at(st);
    for (i = 0; i < 2; ++i) {
        apr_time_t t = times[i];

        if (t == 0) continue;
        /* past and still not driven (held by something else): soon again, not never */
        if (t <= now) t = now + soon;
        if (next == 0 || t < next) next = t;
    }
    return next;
}

apr_time_t acme_drive_expires(acme_drive_env_t *env, apr_pool_t *p, const acme_domain_t *d)
{
    const char *entry = acme_store_entry(p, d->id);
    apr_time_t first = 0;
    int i;

    for (i = 0; entry && i < n_key_types(d); ++i) {
        apr_array_header_t *certs = NULL;
        acme_cert_info_t *info = NULL;

        if (load_chain(env->store, p, ACME_SG_DOMAINS, entry,
                       acme_store_chain_item(p, key_type_at(d, i)), &certs, NULL, NULL)
                != APR_SUCCESS
            || leaf_info(p, certs, &info) != APR_SUCCESS) {
            return 0;
        }
        if (first == 0 || info->not_after < first) first = info->not_after;
    }
    return first;
}
