/* acme_metrics.c: counters of CA requests (by CA, endpoint and status class), drive durations and activations, and their Prometheus text exposition with the status JSON. */
#include <stdarg.h>
#include <string.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>

#include "acme_json.h"
#include "acme_metrics.h"
#include "acme_time.h"
#include "acme_version.h"

/* Upper bounds (seconds) of the drive duration histogram's buckets. */
static const double BOUNDS[] = { 1, 2, 5, 10, 30, 60, 120, 300, 600 };
#define NBOUNDS (sizeof(BOUNDS) / sizeof(BOUNDS[0]))
#define MAX_KINDS 4096                  /* URLs remembered before starting over */
#define MAX_SERIES 10000                /* CA/endpoint/class combinations kept */

struct acme_metrics_t {
    apr_thread_mutex_t *mutex;
    json_t *data;           /* increments since the last merge:
                             * {"ca_requests":{ca:{endpoint:{class:n}}},
                             *  "drives":{result:{"buckets":[n...],"sum":s,"count":n}},
                             *  "activations":{domain:{"count":n,"serial":hex}}} */
    json_t *serials;        /* domain -> serial of the active certificate seen last */
    apr_pool_t *kinds_pool; /* URL -> what it is, learned from answers */
    apr_hash_t *kinds;
    int changed;
};

static json_t *fresh_data(void)
{
    return json_pack("{s:{}, s:{}, s:{}}", "ca_requests", "drives", "activations");
}

static apr_status_t metrics_cleanup(void *data)
{
    acme_metrics_t *m = data;

    json_decref(m->data);
    m->data = NULL;
    return APR_SUCCESS;
}

apr_status_t acme_metrics_create(apr_pool_t *p, acme_metrics_t **out)
{
    acme_metrics_t *m = apr_pcalloc(p, sizeof(*m));
    apr_status_t rv;

    if ((rv = apr_thread_mutex_create(&m->mutex, APR_THREAD_MUTEX_DEFAULT, p)) != APR_SUCCESS
        || (rv = apr_pool_create(&m->kinds_pool, p)) != APR_SUCCESS) {
        return rv;
    }
    m->kinds = apr_hash_make(m->kinds_pool);
    m->data = fresh_data();   /* replaced at each merge: freed by the cleanup */
    apr_pool_cleanup_register(p, m, metrics_cleanup, apr_pool_cleanup_null);
    m->serials = acme_json_own(p, json_object());
    *out = m;
    return APR_SUCCESS;
}

/* The member object key of obj, created when missing or not an object. */
static json_t *child(json_t *obj, const char *key)
{
    json_t *c = json_object_get(obj, key);

    if (!json_is_object(c)) {
        c = json_object();
        json_object_set_new(obj, key, c);
    }
    return c;
}

static void add_int(json_t *obj, const char *key, json_int_t n)
{
    json_t *v = json_object_get(obj, key);

    json_object_set_new(obj, key, json_integer((json_is_integer(v) ? json_integer_value(v) : 0) + n));
}

void acme_metrics_restore(acme_metrics_t *m, const json_t *saved)
{
    const char *dom;
    json_t *a;

    apr_thread_mutex_lock(m->mutex);
    json_object_foreach((json_t *)json_object_get(saved, "activations"), dom, a) {
        if (json_is_string(json_object_get(a, "serial"))) {
            json_object_set(m->serials, dom, json_object_get(a, "serial"));
        }
    }
    apr_thread_mutex_unlock(m->mutex);
}

/* ---- CA requests ---------------------------------------------------------- */

static const char *status_class(int status)
{
    static const char *const classes[] = { "1xx", "2xx", "3xx", "4xx", "5xx" };

    return status >= 100 && status <= 599 ? classes[status / 100 - 1] : "error";
}

static void on_request(void *baton, const char *ca, const char *url, const char *endpoint,
                       int status)
{
    acme_metrics_t *m = baton;
    json_t *cas, *eps;

    apr_thread_mutex_lock(m->mutex);
    if (!endpoint) {
        endpoint = apr_hash_get(m->kinds, url, APR_HASH_KEY_STRING);
    }
    cas = child(m->data, "ca_requests");
    if (json_object_size(cas) < MAX_SERIES) {
        eps = child(child(cas, ca), endpoint ? endpoint : "other");
        add_int(eps, status_class(status), 1);
        m->changed = 1;
    }
    apr_thread_mutex_unlock(m->mutex);
}

static void remember(acme_metrics_t *m, const char *url, const char *kind)
{
    if (!url || !*url || strlen(url) > 2048) {
        return;
    }
    if (apr_hash_count(m->kinds) >= MAX_KINDS) {
        apr_pool_clear(m->kinds_pool);
        m->kinds = apr_hash_make(m->kinds_pool);
    }
    apr_hash_set(m->kinds, apr_pstrdup(m->kinds_pool, url), APR_HASH_KEY_STRING, kind);
}

/* What the URLs in an answer are: an order names its finalize, authorization
 * and certificate URLs; an authorization its challenges'. */
static void on_object(void *baton, const char *url, const char *location, const json_t *obj)
{
    acme_metrics_t *m = baton;
    json_t *v;
    size_t i;

    apr_thread_mutex_lock(m->mutex);
    if (json_is_string(json_object_get(obj, "finalize"))) {
        remember(m, location ? location : url, "order");
        remember(m, json_string_value(json_object_get(obj, "finalize")), "finalize");
        remember(m, json_string_value(json_object_get(obj, "certificate")), "certificate");
        json_array_foreach(json_object_get(obj, "authorizations"), i, v) {
            remember(m, json_string_value(v), "authz");
        }
    }
    else if (json_is_array(json_object_get(obj, "challenges"))) {
        remember(m, url, "authz");
        json_array_foreach(json_object_get(obj, "challenges"), i, v) {
            remember(m, json_string_value(json_object_get(v, "url")), "challenge");
        }
    }
    else if (json_is_string(json_object_get(obj, "token"))) {
        remember(m, url, "challenge");
    }
    else if (location && json_is_object(json_object_get(obj, "key"))) {
        remember(m, location, "account");
    }
    apr_thread_mutex_unlock(m->mutex);
}

void acme_metrics_ca_observer(acme_metrics_t *m, acme_ca_observer_t *obs)
{
    memset(obs, 0, sizeof(*obs));
    obs->request = on_request;
    obs->object = on_object;
    obs->baton = m;
}

/* ---- drives and activations ------------------------------------------------- */

void acme_metrics_drive(acme_metrics_t *m, apr_interval_time_t took, int ok)
{
    double secs = (double)took / APR_USEC_PER_SEC;
    json_t *h, *buckets, *sum;
    size_t b;

    for (b = 0; b < NBOUNDS && secs > BOUNDS[b]; b++)
        ;
    apr_thread_mutex_lock(m->mutex);
    h = child(child(m->data, "drives"), ok ? "success" : "failure");
    buckets = json_object_get(h, "buckets");
    if (!json_is_array(buckets) || json_array_size(buckets) != NBOUNDS + 1) {
        buckets = json_array();
        for (size_t i = 0; i <= NBOUNDS; i++) json_array_append_new(buckets, json_integer(0));
        json_object_set_new(h, "buckets", buckets);
    }
    json_array_set_new(buckets, b, json_integer(json_integer_value(json_array_get(buckets, b)) + 1));
    sum = json_object_get(h, "sum");
    json_object_set_new(h, "sum", json_real((json_is_number(sum) ? json_number_value(sum) : 0) + secs));
    add_int(h, "count", 1);
    m->changed = 1;
    apr_thread_mutex_unlock(m->mutex);
}

void acme_metrics_active(acme_metrics_t *m, const char *domain, const char *serial)
{
    json_t *a;
    const char *seen;

    if (!domain || !serial) {
        return;
    }
    apr_thread_mutex_lock(m->mutex);
    seen = json_string_value(json_object_get(m->serials, domain));
    if (!seen || strcmp(seen, serial)) {
        a = child(child(m->data, "activations"), domain);
        add_int(a, "count", 1);
        json_object_set_new(a, "serial", json_string(serial));
        json_object_set_new(m->serials, domain, json_string(serial));
        m->changed = 1;
    }
    apr_thread_mutex_unlock(m->mutex);
}

/* to += from, member by member: integers and reals add up, strings replace,
 * objects recurse, arrays add element-wise (the histogram's buckets). */
static void add_into(json_t *to, const json_t *from)
{
    const char *k;
    json_t *v;

    json_object_foreach((json_t *)from, k, v) {
        json_t *cur = json_object_get(to, k);

        if (json_is_object(v)) {
            add_into(child(to, k), v);
        }
        else if (json_is_integer(v)) {
            json_object_set_new(to, k, json_integer(json_integer_value(v)
                                + (json_is_integer(cur) ? json_integer_value(cur) : 0)));
        }
        else if (json_is_real(v)) {
            json_object_set_new(to, k, json_real(json_real_value(v)
                                + (json_is_number(cur) ? json_number_value(cur) : 0)));
        }
        else if (json_is_array(v)) {
            json_t *sum = json_array();
            for (size_t i = 0; i < json_array_size(v); i++) {
                json_t *c = json_array_get(cur, i);
                json_array_append_new(sum, json_integer(json_integer_value(json_array_get(v, i))
                                      + (json_array_size(cur) == json_array_size(v)
                                         ? json_integer_value(c) : 0)));
            }
            json_object_set_new(to, k, sum);
        }
        else {
            json_object_set(to, k, v);
        }
    }
}

json_t *acme_metrics_merge(acme_metrics_t *m, apr_pool_t *p, const json_t *saved, int *changed)
{
    json_t *out = json_is_object(saved) && json_is_object(json_object_get(saved, "ca_requests"))
                  && json_is_object(json_object_get(saved, "drives"))
                  && json_is_object(json_object_get(saved, "activations"))
                  ? json_deep_copy(saved) : fresh_data();

    apr_thread_mutex_lock(m->mutex);
    if (changed) {
        *changed = m->changed;
    }
    if (m->changed) {
        add_into(out, m->data);
        json_decref(m->data);
        m->data = fresh_data();
        m->changed = 0;
    }
    apr_thread_mutex_unlock(m->mutex);
    return acme_json_own(p, out);
}

/* ---- exposition --------------------------------------------------------------- */

typedef struct {
    apr_pool_t *p;
    apr_array_header_t *parts;          /* const char*, joined at the end */
} out_t;

static void put(out_t *o, const char *s)
{
    APR_ARRAY_PUSH(o->parts, const char *) = s;
}

/* Label values: backslash, double quote and newline escaped (format 0.0.4). */
static const char *esc_label(apr_pool_t *p, const char *v)
{
    char *out = apr_palloc(p, strlen(v) * 2 + 1), *o = out;

    for (; *v; v++) {
        if (*v == '\\' || *v == '"') {
            *o++ = '\\';
            *o++ = *v;
        }
        else if (*v == '\n') {
            *o++ = '\\';
            *o++ = 'n';
        }
        else {
            *o++ = *v;
        }
    }
    *o = '\0';
    return out;
}

/* {k1="v1",k2="v2"} from NULL-terminated name/value pairs. */
static const char *labels(apr_pool_t *p, ...)
{
    const char *s = "", *k, *v;
    va_list ap;

    va_start(ap, p);
    while ((k = va_arg(ap, const char *)) != NULL) {
        v = va_arg(ap, const char *);
        s = apr_pstrcat(p, s, *s ? "," : "", k, "=\"", esc_label(p, v ? v : ""), "\"", NULL);
    }
    va_end(ap);
    return *s ? apr_pstrcat(p, "{", s, "}", NULL) : "";
}

static void family(out_t *o, const char *name, const char *type, const char *help)
{
    put(o, apr_psprintf(o->p, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type));
}

static void sample_int(out_t *o, const char *name, const char *lbl, apr_int64_t v)
{
    put(o, apr_psprintf(o->p, "%s%s %" APR_INT64_T_FMT "\n", name, lbl, v));
}

static void sample_real(out_t *o, const char *name, const char *lbl, double v)
{
    put(o, apr_psprintf(o->p, "%s%s %.6f\n", name, lbl, v));
}

static const char *jstr(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* Seconds since the epoch of an RFC 3339 member; 0 when absent or bad. */
static apr_int64_t jsecs(const json_t *obj, const char *key)
{
    const char *s = jstr(obj, key);
    apr_time_t t;

    return s && acme_time_parse_rfc3339(s, &t) == APR_SUCCESS ? apr_time_sec(t) : 0;
}

static const char *const STATES[] = { "valid", "pending", "renewing", "error", "expired",
                                      "revoked", NULL };

static void domain_states(out_t *o, const json_t *doms)
{
    json_t *d;
    size_t i;

    family(o, "acme_domain_state", "gauge",
           "1 for the state the domain is in (valid, pending, renewing, error, expired, revoked)");
    json_array_foreach(doms, i, d) {
        const char *st = jstr(d, "state");
        for (int k = 0; STATES[k]; k++) {
            sample_int(o, "acme_domain_state", labels(o->p, "domain", jstr(d, "name"), "state",
                       STATES[k], NULL), st && !strcmp(st, STATES[k]));
        }
    }
}

/* One gauge family of a time member of each certificate. */
static void cert_times(out_t *o, const json_t *doms, const char *name, const char *key,
                       const char *help)
{
    json_t *d, *c;
    size_t i, j;

    family(o, name, "gauge", help);
    json_array_foreach(doms, i, d) {
        json_array_foreach(json_object_get(d, "certificates"), j, c) {
            sample_int(o, name, labels(o->p, "domain", jstr(d, "name"), "key_type",
                       jstr(c, "key_type"), NULL), jsecs(c, key));
        }
    }
}

static void cert_expiring(out_t *o, const json_t *doms)
{
    json_t *d, *c;
    size_t i, j;

    family(o, "acme_certificate_expiring", "gauge",
           "1 while the certificate is inside its warning window (ACMEWarnWindow)");
    json_array_foreach(doms, i, d) {
        json_array_foreach(json_object_get(d, "certificates"), j, c) {
            sample_int(o, "acme_certificate_expiring", labels(o->p, "domain", jstr(d, "name"),
                       "key_type", jstr(c, "key_type"), NULL),
                       json_is_true(json_object_get(c, "expiring")));
        }
    }
}

/* A per-domain time gauge; domains without the member have no sample. */
static void domain_time(out_t *o, const json_t *doms, const char *name, const char *obj_key,
                        const char *key, const char *help)
{
    json_t *d;
    size_t i;

    family(o, name, "gauge", help);
    json_array_foreach(doms, i, d) {
        const json_t *src = obj_key ? json_object_get(d, obj_key) : d;
        apr_int64_t t = jsecs(src, key);
        if (t) {
            sample_int(o, name, labels(o->p, "domain", jstr(d, "name"), NULL), t);
        }
    }
}

typedef const char *label_fn(out_t *o, const json_t *item);
typedef apr_int64_t value_fn(const json_t *item);

static const char *domain_labels(out_t *o, const json_t *d)
{
    return labels(o->p, "domain", jstr(d, "name"), NULL);
}

static const char *static_labels(out_t *o, const json_t *c)
{
    return labels(o->p, "file", jstr(c, "file"), "vhost", jstr(c, "vhost"), NULL);
}

static apr_int64_t failures_of(const json_t *d)
{
    return json_integer_value(json_object_get(d, "failures"));
}

static apr_int64_t staged_of(const json_t *d)
{
    return json_is_true(json_object_get(d, "staged"));
}

static apr_int64_t expiring_of(const json_t *c)
{
    return json_is_true(json_object_get(c, "expiring"));
}

static apr_int64_t not_after_of(const json_t *c)
{
    return jsecs(c, "not_after");
}

/* A gauge family with one sample per item of arr. */
static void gauge_each(out_t *o, const json_t *arr, const char *name, const char *help,
                       label_fn *lbl, value_fn *val)
{
    json_t *item;
    size_t i;

    family(o, name, "gauge", help);
    json_array_foreach(arr, i, item) {
        sample_int(o, name, lbl(o, item), val(item));
    }
}

static void domain_numbers(out_t *o, const json_t *doms)
{
    gauge_each(o, doms, "acme_domain_consecutive_failures",
               "Failed drives since the last success", domain_labels, failures_of);
    gauge_each(o, doms, "acme_domain_staged",
               "1 while a verified new certificate waits for activation", domain_labels,
               staged_of);
}

static void statics(out_t *o, const json_t *arr)
{
    gauge_each(o, arr, "acme_static_certificate_not_after_seconds",
               "End of validity of a vhost's own SSLCertificateFile (ACMEWatchStatic)",
               static_labels, not_after_of);
    gauge_each(o, arr, "acme_static_certificate_expiring",
               "1 while a vhost's own certificate is inside the warning window", static_labels,
               expiring_of);
}

static void ca_requests(out_t *o, const json_t *counters)
{
    const char *ca, *ep, *cls;
    json_t *eps, *classes, *n;

    family(o, "acme_ca_requests_total", "counter",
           "HTTP requests to the CA by endpoint and status class (error: no response)");
    json_object_foreach((json_t *)json_object_get(counters, "ca_requests"), ca, eps) {
        json_object_foreach(eps, ep, classes) {
            json_object_foreach(classes, cls, n) {
                if (json_is_integer(n)) {
                    sample_int(o, "acme_ca_requests_total", labels(o->p, "ca", ca, "endpoint", ep,
                               "class", cls, NULL), json_integer_value(n));
                }
            }
        }
    }
}

static void drives(out_t *o, const json_t *counters)
{
    static const char *const results[] = { "success", "failure", NULL };
    const char *name = "acme_drive_duration_seconds";

    family(o, name, "histogram", "Duration of drives that talked to the CA, by result");
    for (int r = 0; results[r]; r++) {
        json_t *h = json_object_get(json_object_get(counters, "drives"), results[r]);
        json_t *b = json_object_get(h, "buckets");
        apr_int64_t cum = 0;

        for (size_t k = 0; k <= NBOUNDS; k++) {
            const char *le = k < NBOUNDS ? apr_psprintf(o->p, "%g", BOUNDS[k]) : "+Inf";
            cum += json_integer_value(json_array_get(b, k));
            sample_int(o, "acme_drive_duration_seconds_bucket", labels(o->p, "result",
                       results[r], "le", le, NULL), cum);
        }
        sample_real(o, "acme_drive_duration_seconds_sum", labels(o->p, "result", results[r],
                    NULL), json_number_value(json_object_get(h, "sum")));
        /* _count is the +Inf bucket, whatever a saved file said */
        sample_int(o, "acme_drive_duration_seconds_count", labels(o->p, "result", results[r],
                   NULL), cum);
    }
}

static void activations(out_t *o, const json_t *counters)
{
    const char *dom;
    json_t *a;

    family(o, "acme_activations_total", "counter",
           "New certificates that went live (seen by the watchdog after a restart)");
    json_object_foreach((json_t *)json_object_get(counters, "activations"), dom, a) {
        sample_int(o, "acme_activations_total", labels(o->p, "domain", dom, NULL),
                   json_integer_value(json_object_get(a, "count")));
    }
}

const char *acme_metrics_text(apr_pool_t *p, const json_t *status, const json_t *counters)
{
    out_t o = { p, apr_array_make(p, 64, sizeof(const char *)) };
    const json_t *doms = json_object_get(status, "domains");

    family(&o, "acme_info", "gauge", "mod_acme's version");
    sample_int(&o, "acme_info", labels(p, "version", ACME_VERSION, NULL), 1);
    domain_states(&o, doms);
    cert_times(&o, doms, "acme_certificate_not_after_seconds", "not_after",
               "End of validity of the active certificate (Unix time)");
    cert_times(&o, doms, "acme_certificate_not_before_seconds", "not_before",
               "Start of validity of the active certificate (Unix time)");
    cert_expiring(&o, doms);
    domain_time(&o, doms, "acme_domain_renewal_due_seconds", "renewal", "at",
                "When the domain's certificate is due for renewal (Unix time)");
    domain_time(&o, doms, "acme_domain_last_success_seconds", NULL, "last_success",
                "Last drive that staged a new certificate (Unix time)");
    domain_time(&o, doms, "acme_domain_last_failure_seconds", "last_error", "at",
                "Last failed drive (Unix time)");
    domain_time(&o, doms, "acme_domain_failing_since_seconds", NULL, "failing_since",
                "First failure of the current run of failures (Unix time)");
    domain_time(&o, doms, "acme_domain_next_attempt_seconds", NULL, "next_attempt",
                "When a failed domain is tried again (Unix time)");
    domain_numbers(&o, doms);
    statics(&o, json_object_get(status, "static_certificates"));
    ca_requests(&o, counters);
    drives(&o, counters);
    activations(&o, counters);
    return apr_array_pstrcat(p, o.parts, 0);
}
