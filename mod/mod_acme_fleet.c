/* mod_acme_fleet.c: the fleet part of the watchdog (mod_acme_fleet.h). */
#include <unistd.h>

#include <httpd.h>
#include <http_log.h>
#include <apr_strings.h>

#include "acme_activate.h"
#include "acme_json.h"
#include "acme_redis.h"
#include "acme_store_redis.h"
#include "acme_x509.h"
#include "mod_acme_fleet.h"

APLOG_USE_MODULE(acme);

/* a graceful restart for a set another node published waits up to this long */
#define RESTART_JITTER_MAX apr_time_from_sec(10)
/* a node silent for this many check intervals drops out of the fleet view */
#define FORGET_INTERVALS 10

struct am_fleet_wd_t {
    am_runtime_t *rt;
    apr_interval_time_t interval;
    apr_interval_time_t restart_jitter;
    apr_time_t next_poll;
    apr_uint64_t seq;               /* the fleet sequence last looked at */
    int seq_known;
    int checked;                    /* the server's settings were looked at */
    int unreachable;                /* logged that Redis cannot be reached */
};

/* A random time in [0, max). */
static apr_interval_time_t jitter(apr_interval_time_t max)
{
    apr_uint32_t r = 0;

    if (max <= 0 || apr_generate_random_bytes((unsigned char *)&r, sizeof(r)) != APR_SUCCESS) {
        return 0;
    }
    return (apr_interval_time_t)(r % (apr_uint32_t)(max > 0xffffffffLL ? 0xffffffffLL : max));
}

am_fleet_wd_t *am_fleet_wd_create(am_runtime_t *rt, apr_pool_t *pool)
{
    am_fleet_wd_t *f;

    if (!acme_store_redis_url(rt->store)) return NULL;
    f = apr_pcalloc(pool, sizeof(*f));
    f->rt = rt;
    f->interval = am_cfg_fleet_check_interval(rt->g);
    f->restart_jitter = jitter(f->interval / 2 < RESTART_JITTER_MAX ? f->interval / 2
                                                                     : RESTART_JITTER_MAX);
    f->next_poll = apr_time_now();
    return f;
}

apr_interval_time_t am_fleet_wd_restart_jitter(const am_fleet_wd_t *f)
{
    return f ? f->restart_jitter : 0;
}

/* The settings of the Redis server that break the fleet's guarantees: once.
 * 1 when Redis is reachable again after it was not (drives that failed
 * closed meanwhile should run now). */
static int check_server(am_fleet_wd_t *f, apr_pool_t *p)
{
    apr_array_header_t *warnings = NULL;
    const char *url = acme_store_redis_url(f->rt->store);
    apr_status_t rv = acme_store_fleet_check(f->rt->store, p, &warnings);
    acme_redis_url_t u;
    const char *err;
    int i, back;

    if (acme_redis_url_parse(p, url, &u, &err) == APR_SUCCESS) url = acme_redis_url_show(p, &u);
    if (rv != APR_SUCCESS) {
        if (!f->unreachable) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, rv, f->rt->s, "ACMEStore %s: Redis cannot "
                         "be reached; HTTPS is served from the local files, no certificate is "
                         "ordered until it is back (README \"Running a fleet\")", url);
        }
        f->unreachable = 1;
        return 0;
    }
    back = f->unreachable;
    if (back) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, f->rt->s, "ACMEStore %s: Redis is reachable "
                     "again", url);
    }
    f->unreachable = 0;
    for (i = 0; !f->checked && warnings && i < warnings->nelts; i++) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, f->rt->s, "ACMEStore %s: %s (README "
                     "\"Running a fleet\")", url, APR_ARRAY_IDX(warnings, i, const char *));
    }
    f->checked = 1;
    return back;
}

/* This node's record for the fleet view: the serial of each active set. */
static const char *heartbeat_record(am_fleet_wd_t *f, apr_pool_t *p)
{
    acme_store_t *st = f->rt->store;
    json_t *rec = acme_json_own(p, json_object()), *serials = json_object();
    int i;

    for (i = 0; i < f->rt->domains->nelts; i++) {
        const acme_domain_t *d = APR_ARRAY_IDX(f->rt->domains, i, const acme_domain_t *);
        apr_array_header_t *certs = NULL;
        acme_cert_info_t *info = NULL;
        char *pem;
        apr_size_t len;

        if (st->load(st, p, ACME_SG_DOMAINS, d->id, "fullchain.pem", &pem, &len) == APR_SUCCESS
            && acme_certs_from_pem(p, pem, len, &certs) == APR_SUCCESS && certs->nelts > 0
            && acme_cert_info(p, APR_ARRAY_IDX(certs, 0, acme_cert_t *), &info) == APR_SUCCESS) {
            json_object_set_new(serials, d->id, json_string(info->serial));
        }
    }
    json_object_set_new(rec, "serials", serials);
    json_object_set_new(rec, "pid", json_integer((json_int_t)getpid()));
    return acme_json_dump(p, rec, JSON_COMPACT | JSON_SORT_KEYS);
}

int am_fleet_wd_tick(am_fleet_wd_t *f, apr_pool_t *p, apr_time_t now)
{
    acme_store_t *st;
    apr_uint64_t seq = 0;
    const char *rec;
    int changed = 0;

    if (!f) return 0;
    st = f->rt->store;
    /* the hint, between polls: a publish is seen within a tick */
    if (f->checked && !f->unreachable
        && acme_store_fleet_watch(st, apr_time_from_msec(1), &seq) == APR_SUCCESS
        && (!f->seq_known || seq != f->seq)) {
        f->next_poll = now;
    }
    if (now < f->next_poll) return 0;
    f->next_poll = now + f->interval + jitter(f->interval / 5);
    changed = check_server(f, p);
    if (f->unreachable) return 0;
    if (acme_store_fleet_seq(st, &seq) == APR_SUCCESS) {
        changed |= f->seq_known && seq != f->seq;
        f->seq = seq;
        f->seq_known = 1;
    }
    if ((rec = heartbeat_record(f, p)) != NULL) {
        (void)acme_store_fleet_heartbeat(st, p, rec, FORGET_INTERVALS * f->interval);
    }
    if (changed) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, f->rt->s, "mod_acme: the fleet published "
                     "(sequence %" APR_UINT64_T_FMT "); looking at every domain", seq);
    }
    return changed;
}
