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
#include "mod_acme_status.h"
#include "mod_acme_status_html.h"
#include "mod_acme_warn.h"

APLOG_USE_MODULE(acme);

#define HANDLER_NAME "acme-status"

/* ---- request side ------------------------------------------------------- */

static const am_mdomain_t *find_domain(const am_runtime_t *rt, apr_pool_t *p, const char *name)
{
    char *n = apr_pstrdup(p, name);

    ap_str_tolower(n);
    return apr_hash_get(rt->by_name, n, APR_HASH_KEY_STRING);
}

/* "" for all domains, or the name after <Location>/: core's per-dir config
 * knows the path of the innermost section that matched. */
static const char *requested_name(request_rec *r, const am_runtime_t *rt)
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

apr_status_t am_status_build(apr_pool_t *p, const am_runtime_t *rt, json_t **out)
{
    apr_status_t rv;

    if (!rt) {
        *out = acme_json_own(p, json_pack("{s:s, s:[], s:[]}", "version", ACME_VERSION,
                                          "domains", "static_certificates"));
        return *out ? APR_SUCCESS : APR_ENOMEM;
    }
    if ((rv = acme_status_all(p, rt->store, rt->domains, out)) == APR_SUCCESS) {
        json_object_set(*out, "static_certificates",
                        am_warn_static_json(rt, p, apr_time_now()));
    }
    return rv;
}

static apr_status_t build_json(request_rec *r, const am_runtime_t *rt, const am_mdomain_t *one,
                               json_t **out)
{
    if (rt && one) {
        return acme_status_domain(r->pool, rt->store, one->d->id, one->d, out);
    }
    return am_status_build(r->pool, rt, out);
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

int am_handler_check(request_rec *r, const char *handler)
{
    if (!r->handler || strcmp(r->handler, handler)) {
        return DECLINED;
    }
    if (r->method_number != M_GET) {
        r->allowed = AP_METHOD_BIT << M_GET;
        return HTTP_METHOD_NOT_ALLOWED;
    }
    return OK;
}

int am_status_handler(request_rec *r)
{
    const am_sconf_t *sc;
    const am_runtime_t *rt;
    const am_mdomain_t *one = NULL;
    const char *name, *text;
    json_t *obj;

    int rc = am_handler_check(r, HANDLER_NAME);

    if (rc != OK) {
        return rc;
    }
    sc = am_sconf(r->server);
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
        json_t *page = one ? acme_json_own(r->pool, json_pack("{s:[O], s:[]}", "domains", obj,
                                                              "static_certificates")) : obj;
        return am_status_html_page(r, page);
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

int am_status_hook(request_rec *r, int flags)
{
    const am_sconf_t *sc = am_sconf(r->server);
    const am_runtime_t *rt = sc ? sc->rt : NULL;
    json_t *obj, *dom;
    size_t i;

    if (!rt || build_json(r, rt, NULL, &obj) != APR_SUCCESS || !obj) {
        return OK;
    }
    if (flags & AP_STATUS_SHORT) {
        json_array_foreach(json_object_get(obj, "domains"), i, dom) {
            const char *name = json_string_value(json_object_get(dom, "name"));
            const char *state = json_string_value(json_object_get(dom, "state"));
            ap_rprintf(r, "ACMEDomain: %s %s\n", name ? name : "", state ? state : "");
        }
        return OK;
    }
    am_status_html_section(r, obj);
    return OK;
}
