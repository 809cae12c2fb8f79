/* mod_acme_warn.c: expiry warnings while httpd runs: every managed domain inside its ACMEWarnWindow, and (ACMEWatchStatic) every vhost's own SSLCertificateFile, logged and notified at most once a day each. */
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <apr_strings.h>

#include "acme_json.h"
#include "acme_log.h"
#include "acme_status.h"
#include "acme_time.h"
#include "mod_acme_config.h"
#include "mod_acme_notify.h"
#include "mod_acme_warn.h"

APLOG_USE_MODULE(acme);

#define WARN_RECHECK apr_time_from_sec(3600)
#define WARN_EVERY apr_time_from_sec(24 * 3600)  /* one `expiring` event a day per certificate */
/* The watchdog's record of the last warnings, in the store's state group
 * (a "_" entry is never a domain's). */
#define WARN_ENTRY "_watch"
#define WARN_ITEM "warned.json"

struct am_warn_t {
    am_runtime_t *rt;
    apr_pool_t *pool;
    apr_time_t next;                    /* next look; 0: at once */
    json_t *warned;                     /* during a look: "domain:<id>" | "static:<file>"
                                         * -> RFC 3339 of the last event */
    apr_array_header_t *events;         /* during a look: warn_event_t of each `expiring` due */
};

/* ---- static certificates ---------------------------------------------------- */

void am_warn_note_static(am_runtime_t *rt, server_rec *s, const apr_array_header_t *cert_files)
{
    int i, j;

    if (!am_cfg_watch_static(rt->g) || !cert_files) {
        return;
    }
    if (!rt->static_certs) {
        rt->static_certs = apr_array_make(rt->pool, 4, sizeof(am_static_cert_t *));
    }
    for (i = 0; i < cert_files->nelts; i++) {
        const char *f = APR_ARRAY_IDX(cert_files, i, const char *);
        am_static_cert_t *sc;

        for (j = 0; j < rt->static_certs->nelts; j++) {
            if (!strcmp(APR_ARRAY_IDX(rt->static_certs, j, am_static_cert_t *)->file, f)) {
                break;
            }
        }
        if (!f || j < rt->static_certs->nelts) {
            continue;
        }
        sc = apr_pcalloc(rt->pool, sizeof(*sc));
        sc->file = apr_pstrdup(rt->pool, f);
        sc->vhost = apr_psprintf(rt->pool, "%s:%d", s->server_hostname ? s->server_hostname
                                 : "?", s->addrs ? s->addrs->host_port : 0);
        APR_ARRAY_PUSH(rt->static_certs, am_static_cert_t *) = sc;
    }
}

json_t *am_warn_static_json(const am_runtime_t *rt, apr_pool_t *p, apr_time_t now)
{
    json_t *arr = acme_json_own(p, json_array());
    int pct = rt->g->dc.warn_set ? rt->g->dc.warn_pct : 0;
    apr_interval_time_t window = rt->g->dc.warn_set ? rt->g->dc.warn_window : 0;
    int i;

    for (i = 0; rt->static_certs && i < rt->static_certs->nelts; i++) {
        const am_static_cert_t *sc = APR_ARRAY_IDX(rt->static_certs, i, am_static_cert_t *);
        json_t *one = NULL;

        if (acme_status_cert_file(p, sc->file, pct, window, now, &one) != APR_SUCCESS) {
            continue;       /* e.g. a PKCS#11 URI, or unreadable for the User */
        }
        json_object_set_new(one, "vhost", json_string(sc->vhost));
        json_array_append(arr, one);
    }
    return arr;
}

/* ---- the watch ------------------------------------------------------------------ */

/* An `expiring` event to run once the record is saved. */
typedef struct {
    const char *domain;
    const char *vars[7];                /* NAME, value pairs, NULL-terminated */
} warn_event_t;

am_warn_t *am_warn_create(am_runtime_t *rt, apr_pool_t *pool)
{
    am_warn_t *w = apr_pcalloc(pool, sizeof(*w));

    w->rt = rt;
    w->pool = pool;
    return w;
}

static const char *left_str(apr_pool_t *p, apr_interval_time_t left)
{
    apr_int64_t s = apr_time_sec(left);

    if (s >= 2 * 86400) return apr_psprintf(p, "%" APR_INT64_T_FMT " days", s / 86400);
    if (s >= 7200) return apr_psprintf(p, "%" APR_INT64_T_FMT " hours", s / 3600);
    if (s >= 120) return apr_psprintf(p, "%" APR_INT64_T_FMT " minutes", s / 60);
    return apr_psprintf(p, "%" APR_INT64_T_FMT " seconds", s > 0 ? s : 0);
}

static apr_time_t json_time(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    apr_time_t t = 0;

    return s && acme_time_parse_rfc3339(s, &t) == APR_SUCCESS ? t : 0;
}

/* Once a day per key: 1 when an event is due now (and records it). */
static int due_today(am_warn_t *w, apr_pool_t *p, const char *key, apr_time_t now)
{
    apr_time_t last = json_time(w->warned, key);

    if (last > 0 && last <= now && now - last < WARN_EVERY) {
        return 0;
    }
    json_object_set_new(w->warned, key, json_string(acme_time_rfc3339(p, now)));
    return 1;
}

/* The next look: the earliest window start in the future, else the recheck. */
static void plan(am_warn_t *w, const json_t *cert, apr_time_t now)
{
    apr_time_t at = json_time(cert, "warn_at");

    if (at > now && (w->next == 0 || at < w->next)) {
        w->next = at + apr_time_from_sec(1);
    }
}

/* The soonest not_after of the certificates inside their window, else 0. */
static apr_time_t expiring_cert(am_warn_t *w, const json_t *certs, apr_time_t now)
{
    apr_time_t soonest = 0;
    json_t *c;
    size_t i;

    json_array_foreach(certs, i, c) {
        plan(w, c, now);
        if (json_is_true(json_object_get(c, "expiring"))) {
            apr_time_t na = json_time(c, "not_after");
            if (na && (!soonest || na < soonest)) soonest = na;
        }
    }
    return soonest;
}

/* What the drive says about it, for the admin reading the warning. */
static const char *renewal_note(apr_pool_t *p, const json_t *dom)
{
    const json_t *err = json_object_get(dom, "last_error");
    const char *at = json_string_value(json_object_get(json_object_get(dom, "renewal"), "at"));

    if (json_is_object(err)) {
        const char *next = json_string_value(json_object_get(dom, "next_attempt"));
        const char *detail = json_string_value(json_object_get(err, "detail"));
        /* the CA's words: one line in the log */
        return apr_psprintf(p, "renewal is failing: %s%s%s",
                            detail ? acme_printable(p, detail, 500) : "unknown error",
                            next ? "; next attempt at " : "", next ? next : "");
    }
    if (json_is_true(json_object_get(dom, "staged"))) {
        return "a new certificate is staged and waits for activation (ACMEActivation)";
    }
    return at ? apr_psprintf(p, "renewal is planned for %s", at) : "no renewal is planned";
}

static void warn_domain(am_warn_t *w, apr_pool_t *p, const acme_domain_t *d, apr_time_t now)
{
    json_t *dom = NULL;
    apr_time_t na;

    if (acme_status_domain(p, w->rt->store, d->id, d, &dom) != APR_SUCCESS
        || !(na = expiring_cert(w, json_object_get(dom, "certificates"), now))
        || !due_today(w, p, apr_pstrcat(p, "domain:", d->id, NULL), now)) {
        return;
    }
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, w->rt->s,
                 "ACMEDomain %s: the certificate %s %s (%s), inside ACMEWarnWindow; %s; see "
                 "the status page", d->id, na > now ? "expires at" : "expired at",
                 acme_time_rfc3339(p, na), na > now ? apr_pstrcat(p, left_str(p, na - now),
                 " left", NULL) : "now served expired", renewal_note(p, dom));
    {
        warn_event_t *ev = apr_array_push(w->events);
        const char *vars[] = { "ACME_NOT_AFTER", acme_time_rfc3339(p, na), NULL };

        ev->domain = d->id;
        memcpy(ev->vars, vars, sizeof(vars));
    }
}

static void warn_static(am_warn_t *w, apr_pool_t *p, const json_t *one, apr_time_t now)
{
    const char *file = json_string_value(json_object_get(one, "file"));
    const char *vhost = json_string_value(json_object_get(one, "vhost"));
    apr_time_t na = json_time(one, "not_after");
    char *name;

    plan(w, one, now);
    if (!file || !json_is_true(json_object_get(one, "expiring"))
        || !due_today(w, p, apr_pstrcat(p, "static:", file, NULL), now)) {
        return;
    }
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, w->rt->s,
                 "SSLCertificateFile %s of <VirtualHost %s> %s %s (%s): mod_acme does not "
                 "manage it; renew it, or remove SSLCertificateFile and let ACMEDomain manage "
                 "the vhost (ACMEWatchStatic off silences this)", file, vhost,
                 na > now ? "expires at" : "expired at", acme_time_rfc3339(p, na),
                 na > now ? apr_pstrcat(p, left_str(p, na - now), " left", NULL) : "expired");
    /* the event's DOMAIN is the vhost's name */
    name = apr_pstrdup(p, vhost ? vhost : "");
    if (strrchr(name, ':')) *strrchr(name, ':') = '\0';
    {
        warn_event_t *ev = apr_array_push(w->events);
        const char *vars[] = { "ACME_NOT_AFTER", acme_time_rfc3339(p, na), "ACME_CERT_FILE", file,
                               "ACME_VHOST", vhost ? vhost : "", NULL };

        ev->domain = name;
        memcpy(ev->vars, vars, sizeof(vars));
    }
}

void am_warn_tick(am_warn_t *w, apr_pool_t *ptick, apr_time_t now)
{
    apr_interval_time_t recheck = am_cfg_check_interval(w->rt->g);
    acme_store_t *st = w->rt->store;
    acme_store_lock_t *lock = NULL;
    char *before;
    apr_pool_t *p;
    json_t *statics, *one;
    size_t j;
    int i;

    if (w->next > now) {
        return;
    }
    apr_pool_create(&p, ptick);
    /* the record under its lock, read afresh: an old generation's watchdog
     * may be looking at the same time, and one event a day means one */
    if (st->lock(st, p, ACME_SG_STATE, WARN_ENTRY, apr_time_from_sec(1), &lock) != APR_SUCCESS) {
        w->next = now + apr_time_from_sec(1);
        apr_pool_destroy(p);
        return;
    }
    if (acme_store_load_json(st, p, ACME_SG_STATE, WARN_ENTRY, WARN_ITEM, &w->warned)
            != APR_SUCCESS || !json_is_object(w->warned)) {
        w->warned = acme_json_own(p, json_object());
    }
    w->next = 0;
    w->events = apr_array_make(p, 2, sizeof(warn_event_t));
    before = acme_json_dump(p, w->warned, JSON_COMPACT | JSON_SORT_KEYS);
    for (i = 0; i < w->rt->domains->nelts; i++) {
        warn_domain(w, p, APR_ARRAY_IDX(w->rt->domains, i, acme_domain_t *), now);
    }
    statics = am_warn_static_json(w->rt, p, now);
    json_array_foreach(statics, j, one) {
        warn_static(w, p, one, now);
    }
    if (recheck > WARN_RECHECK) recheck = WARN_RECHECK;
    if (w->next == 0 || w->next > now + recheck) w->next = now + recheck;
    if (before && strcmp(before, acme_json_dump(p, w->warned, JSON_COMPACT | JSON_SORT_KEYS))) {
        acme_store_save_json(st, p, ACME_SG_STATE, WARN_ENTRY, WARN_ITEM, w->warned,
                             ACME_STORE_REGENERABLE, NULL);
    }
    st->unlock(lock);
    w->warned = NULL;
    /* the programs run after the record is saved and unlocked */
    for (i = 0; i < w->events->nelts; i++) {
        const warn_event_t *ev = &APR_ARRAY_IDX(w->events, i, warn_event_t);
        am_notify_vars(w->rt, p, "expiring", ev->domain, ev->vars);
    }
    apr_pool_destroy(p);
}
