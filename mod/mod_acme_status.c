/* mod_acme_status.c: status of the managed domains as JSON or HTML (SetHandler acme-status) and in mod_status' server-status. */
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <mod_status.h>
#include <apr_strings.h>

#include "acme_json.h"
#include "acme_status.h"
#include "acme_store.h"
#include "acme_time.h"
#include "acme_version.h"
#include "acme_x509.h"
#include "mod_acme_config.h"
#include "mod_acme_notify.h"
#include "mod_acme_status.h"

APLOG_USE_MODULE(acme);

#define HANDLER_NAME "acme-status"

/* ---- startup check in the parent --------------------------------------- */

/* The active leaf of one key type when it is readable and unexpired. */
static acme_cert_info_t *active_leaf(acme_rt_t *rt, apr_pool_t *p, const acme_domain_t *d,
                                     const char *kt, apr_time_t now)
{
    apr_array_header_t *certs;
    acme_cert_info_t *info;
    const char *path = rt->store->path
                       ? rt->store->path(rt->store, p, ACME_SG_DOMAINS, d->id,
                                         acme_store_chain_item(p, kt)) : NULL;

    if (!path || acme_cert_load_chain(p, path, &certs) != APR_SUCCESS || certs->nelts < 1
        || acme_cert_info(p, APR_ARRAY_IDX(certs, 0, acme_cert_t *), &info) != APR_SUCCESS
        || info->not_after <= now) {
        return NULL;
    }
    return info;
}

#define EXPIRING_SOON apr_time_from_sec(7 * 24 * 3600)

/* Less than a week left, and (for short-lived certificates) less than a
 * quarter of the lifetime: renewal has been failing for a while. */
static int is_expiring(const acme_cert_info_t *info, apr_time_t now)
{
    apr_interval_time_t soon = (info->not_after - info->not_before) / 4;

    if (soon > EXPIRING_SOON) {
        soon = EXPIRING_SOON;
    }
    return info->not_after - now < soon;
}

/* The end of validity of the first active certificate that is expiring, else 0. */
static apr_time_t expiring_at(acme_rt_t *rt, apr_pool_t *p, const acme_domain_t *d)
{
    apr_time_t now = apr_time_now(), expires = 0;
    int i;

    for (i = 0; i < d->key_types->nelts; i++) {
        const char *kt = acme_key_type_name(APR_ARRAY_IDX(d->key_types, i, acme_key_type_e));
        acme_cert_info_t *info = active_leaf(rt, p, d, kt, now);

        if (info && is_expiring(info, now) && (expires == 0 || info->not_after < expires)) {
            expires = info->not_after;
        }
    }
    return expires;
}

void acme_status_warn_expiring(acme_rt_t *rt, apr_pool_t *ptemp)
{
    apr_pool_t *p;
    int i;

    if (!rt->startup) {
        return;
    }
    apr_pool_create(&p, ptemp);
    for (i = 0; i < rt->domains->nelts; i++) {
        acme_mdomain_t *md = APR_ARRAY_IDX(rt->domains, i, acme_mdomain_t *);
        apr_time_t expires;

        apr_pool_clear(p);
        if ((expires = expiring_at(rt, p, md->d)) > 0) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, rt->s,
                         "ACMEDomain %s: the certificate expires on %s and has not been "
                         "renewed yet; see the status page for the last error", md->d->id,
                         acme_time_rfc3339(p, expires));
            acme_notify(rt, p, "expiring", md->d->id);
        }
    }
    apr_pool_destroy(p);
}

/* ---- request side ------------------------------------------------------- */

static const acme_mdomain_t *find_domain(const acme_rt_t *rt, apr_pool_t *p, const char *name)
{
    char *n = apr_pstrdup(p, name);

    ap_str_tolower(n);
    return apr_hash_get(rt->by_name, n, APR_HASH_KEY_STRING);
}

/* "" for all domains, or the name after <Location>/: core's per-dir config
 * knows the path of the innermost section that matched. */
static const char *requested_name(request_rec *r, const acme_rt_t *rt)
{
    const core_dir_config *cd = ap_get_core_module_config(r->per_dir_config);
    const char *loc = (cd && !cd->r && !cd->d_is_fnmatch) ? cd->d : NULL, *rest = NULL, *slash;
    apr_size_t n;

    if (loc && (n = strlen(loc)) > 0) {
        while (n > 1 && loc[n - 1] == '/') {
            n--;
        }
        if (!strncmp(r->uri, loc, n) && (r->uri[n] == '/' || r->uri[n] == '\0')) {
            rest = r->uri + n;
        }
    }
    if (!rest) {
        /* a regex or <Directory> context: a trailing managed name selects it */
        slash = strrchr(r->uri, '/');
        rest = (slash && rt && find_domain(rt, r->pool, slash + 1)) ? slash : "";
    }
    while (*rest == '/') {
        rest++;
    }
    return rest;
}

static apr_status_t build_json(request_rec *r, const acme_rt_t *rt, const acme_mdomain_t *one,
                               json_t **out)
{
    if (!rt) {
        *out = acme_json_own(r->pool, json_pack("{s:s, s:[]}", "version", ACME_VERSION, "domains"));
        return *out ? APR_SUCCESS : APR_ENOMEM;
    }
    if (one) {
        return acme_status_domain(r->pool, rt->store, one->d->id, one->d, out);
    }
    return acme_status_all(r->pool, rt->store, rt->ddomains, out);
}

/* text/html wins when the client lists it before application/json. */
static int wants_html(request_rec *r)
{
    const char *accept = apr_table_get(r->headers_in, "Accept");
    const char *html, *json;

    if (!accept || !(html = ap_strcasestr(accept, "text/html"))) {
        return 0;
    }
    json = ap_strcasestr(accept, "application/json");
    return !json || html < json;
}

static const char *jstr(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

static const char *esc(apr_pool_t *p, const char *s)
{
    return ap_escape_html2(p, s ? s : "", 1);
}

static void html_certs(request_rec *r, const json_t *dom)
{
    json_t *c;
    size_t i;

    json_array_foreach(json_object_get(dom, "certificates"), i, c) {
        ap_rprintf(r, "%s%s until %s", i ? "<br>" : "", esc(r->pool, jstr(c, "key_type")),
                   esc(r->pool, jstr(c, "not_after")));
    }
}

static void html_row(request_rec *r, const json_t *dom)
{
    json_t *names = json_object_get(dom, "names"), *n, *err = json_object_get(dom, "last_error");
    json_t *ren = json_object_get(dom, "renewal");
    size_t i;

    ap_rprintf(r, "<tr><td>%s</td><td>", esc(r->pool, jstr(dom, "name")));
    json_array_foreach(names, i, n) {
        ap_rprintf(r, "%s%s", i ? " " : "", esc(r->pool, json_string_value(n)));
    }
    ap_rprintf(r, "</td><td>%s</td><td>", esc(r->pool, jstr(dom, "state")));
    html_certs(r, dom);
    ap_rprintf(r, "</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
               json_is_object(ren) ? esc(r->pool, apr_pstrcat(r->pool, jstr(ren, "at"), " (",
                                                             jstr(ren, "source"), ")", NULL)) : "",
               json_is_true(json_object_get(dom, "staged")) ? "yes" : "no",
               json_is_object(err) ? esc(r->pool, apr_pstrcat(r->pool, jstr(err, "at"), " ",
                                                             jstr(err, "detail"), NULL)) : "",
               esc(r->pool, jstr(dom, "next_attempt")));
}

static void html_table(request_rec *r, json_t *doms)
{
    json_t *dom;
    size_t i;

    ap_rputs("<table border=\"1\"><tr><th>Domain</th><th>Names</th><th>State</th>"
             "<th>Certificates</th><th>Renewal</th><th>Staged</th><th>Last error</th>"
             "<th>Next attempt</th></tr>\n", r);
    json_array_foreach(doms, i, dom) {
        html_row(r, dom);
    }
    ap_rputs("</table>\n", r);
}

static int send_html(request_rec *r, json_t *obj, int one)
{
    json_t *doms = one ? json_pack("[O]", obj) : json_incref(json_object_get(obj, "domains"));

    acme_json_own(r->pool, doms);
    ap_set_content_type(r, "text/html; charset=utf-8");
    if (r->header_only) {
        return OK;
    }
    ap_rputs(DOCTYPE_HTML_4_01 "<html><head><title>ACME certificates</title></head><body>\n"
             "<h1>ACME certificates (mod_acme " ACME_VERSION ")</h1>\n", r);
    html_table(r, doms);
    ap_rputs("</body></html>\n", r);
    return OK;
}

int acme_status_handler(request_rec *r)
{
    const acme_sconf_t *sc;
    const acme_rt_t *rt;
    const acme_mdomain_t *one = NULL;
    const char *name, *text;
    json_t *obj;

    if (!r->handler || strcmp(r->handler, HANDLER_NAME)) {
        return DECLINED;
    }
    if (r->method_number != M_GET) {
        r->allowed = AP_METHOD_BIT << M_GET;
        return HTTP_METHOD_NOT_ALLOWED;
    }
    sc = acme_sconf(r->server);
    rt = sc ? sc->rt : NULL;
    name = requested_name(r, rt);
    if (*name && (!rt || !(one = find_domain(rt, r->pool, name)))) {
        return HTTP_NOT_FOUND;
    }
    if (build_json(r, rt, one, &obj) != APR_SUCCESS || !obj) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (wants_html(r)) {
        return send_html(r, obj, one != NULL);
    }
    text = acme_json_dump(r->pool, obj, JSON_INDENT(2));
    if (!text) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    ap_set_content_type(r, "application/json");
    if (!r->header_only) {
        ap_rputs(text, r);
        ap_rputs("\n", r);
    }
    return OK;
}

int acme_status_hook(request_rec *r, int flags)
{
    const acme_sconf_t *sc = acme_sconf(r->server);
    const acme_rt_t *rt = sc ? sc->rt : NULL;
    json_t *obj, *dom;
    size_t i;

    if (!rt || build_json(r, rt, NULL, &obj) != APR_SUCCESS || !obj) {
        return OK;
    }
    if (flags & AP_STATUS_SHORT) {
        json_array_foreach(json_object_get(obj, "domains"), i, dom) {
            ap_rprintf(r, "ACMEDomain: %s %s\n", jstr(dom, "name"), jstr(dom, "state"));
        }
        return OK;
    }
    ap_rputs("<hr>\n<h2>ACME certificates (mod_acme)</h2>\n", r);
    html_table(r, json_object_get(obj, "domains"));
    return OK;
}
