/* mod_acme_redirect.c: ACMERequireHttps: plain HTTP for a managed domain's names redirected to HTTPS (challenge requests excepted), and Strict-Transport-Security for `permanent`. */
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_ssl.h>
#include <ap_listen.h>
#include <apr_strings.h>

#include "mod_acme_challenge.h"
#include "mod_acme_config.h"
#include "mod_acme_redirect.h"

APLOG_USE_MODULE(acme);

/* What MDRequireHttps permanent sends: half a year. */
#define HSTS_VALUE "max-age=15768000"

static int domain_requires(const am_mdomain_t *md)
{
    /* only once it has a certificate: never send visitors to the fallback */
    return md && md->require_https != AM_HTTPS_OFF && md->cert_files != NULL;
}

static int name_requires(const am_runtime_t *rt, const char *name)
{
    return name && domain_requires(apr_hash_get(rt->by_name, name, APR_HASH_KEY_STRING));
}

static int vhost_requires(const am_runtime_t *rt, const server_rec *s)
{
    int i;

    if (name_requires(rt, s->server_hostname)) {
        return 1;
    }
    for (i = 0; s->names && i < s->names->nelts; i++) {
        if (name_requires(rt, APR_ARRAY_IDX(s->names, i, const char *))) {
            return 1;
        }
    }
    for (i = 0; s->wild_names && i < s->wild_names->nelts; i++) {
        if (name_requires(rt, APR_ARRAY_IDX(s->wild_names, i, const char *))) {
            return 1;
        }
    }
    return 0;
}

/* The port visitors reach HTTPS on: 443 behind an ACMEPortMap (the map says
 * the outside world uses 443) or when httpd listens there, else the first
 * https listener. 0 means 443 (no port in the URL). */
static int https_port(const am_runtime_t *rt)
{
    ap_listen_rec *lr;
    int first = 0;

    if (rt->g->port_https) {
        return 0;
    }
    for (lr = ap_listeners; lr; lr = lr->next) {
        if (!lr->bind_addr) {
            continue;
        }
        if (lr->bind_addr->port == 443) {
            return 0;
        }
        if (!first && lr->protocol && !strcasecmp(lr->protocol, "https")) {
            first = lr->bind_addr->port;
        }
    }
    return first;
}

int am_redirect_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                              server_rec *s)
{
    am_runtime_t *rt = am_sconf(s)->rt;
    server_rec *v;
    int i, any = 0;

    if (!rt) {
        return OK;
    }
    for (i = 0; i < rt->managed->nelts; i++) {
        any |= domain_requires(APR_ARRAY_IDX(rt->managed, i, am_mdomain_t *));
    }
    if (!any) {
        return OK;
    }
    rt->https_port = https_port(rt);
    for (v = s; v; v = v->next) {
        am_sconf(v)->require_https = vhost_requires(rt, v);
    }
    return OK;
}

/* The request's host as a managed name (lower case, no trailing dot). */
static const am_mdomain_t *request_domain(request_rec *r, const am_runtime_t *rt)
{
    const char *h = r->hostname;
    apr_size_t len;

    if (!h || !*h) {
        return NULL;
    }
    len = strlen(h);
    if (h[len - 1] == '.') {
        h = apr_pstrndup(r->pool, h, len - 1);
    }
    return apr_hash_get(rt->by_name, h, APR_HASH_KEY_STRING);
}

static int redirect(request_rec *r, const am_runtime_t *rt, int permanent)
{
    const char *host = r->hostname, *path = r->unparsed_uri, *loc;
    int get = r->method_number == M_GET;

    /* the normalised path: a challenge request, in any spelling, was answered
     * (or refused) by the hook before; one for another name is never redirected */
    if (r->uri && !strncmp(r->uri, AM_HTTP01_PREFIX, sizeof(AM_HTTP01_PREFIX) - 1)) {
        return DECLINED;
    }
    if (!path || path[0] != '/') {
        /* absolute-form request target: keep only path and query */
        path = r->parsed_uri.path ? r->parsed_uri.path : "/";
        if (r->parsed_uri.query) {
            path = apr_pstrcat(r->pool, path, "?", r->parsed_uri.query, NULL);
        }
    }
    if (strchr(host, ':')) {
        host = apr_pstrcat(r->pool, "[", host, "]", NULL);
    }
    loc = rt->https_port ? apr_psprintf(r->pool, "https://%s:%d%s", host, rt->https_port, path)
                         : apr_pstrcat(r->pool, "https://", host, path, NULL);
    apr_table_setn(r->headers_out, "Location", loc);
    /* GET and HEAD as browsers expect; others keep their method and body */
    if (get) {
        return permanent ? HTTP_MOVED_PERMANENTLY : HTTP_MOVED_TEMPORARILY;
    }
    return permanent ? HTTP_PERMANENT_REDIRECT : HTTP_TEMPORARY_REDIRECT;
}

int am_redirect_translate_name(request_rec *r)
{
    const am_sconf_t *sc = am_sconf(r->server);
    const am_mdomain_t *md;
    int permanent;

    if (!sc || !sc->require_https || r->main || r->proxyreq) {
        return DECLINED;
    }
    md = request_domain(r, sc->rt);
    if (!domain_requires(md)) {
        return DECLINED;
    }
    permanent = md->require_https == AM_HTTPS_PERMANENT;
    if (ap_ssl_conn_is_ssl(r->connection)) {
        if (permanent) {
            /* err_headers_out: on error pages too */
            apr_table_setn(r->err_headers_out, "Strict-Transport-Security", HSTS_VALUE);
        }
        return DECLINED;
    }
    return redirect(r, sc->rt, permanent);
}
