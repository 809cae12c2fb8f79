/* mod_acme_serve.c: which certificate each managed vhost serves (active pair, else the fallback) and their hand-over to mod_ssl. */

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_ssl.h>
#include <apr_strings.h>

#include "acme_domain.h"
#include "acme_fallback.h"
#include "acme_key.h"
#include "acme_store.h"
#include "mod_acme_config.h"
#include "mod_acme_serve.h"
#include "mod_acme_warn.h"

APLOG_USE_MODULE(acme);

/* ---- vhost to domain -------------------------------------------------- */

am_mdomain_t *am_serve_domain_of(const am_runtime_t *rt, const char *name, apr_pool_t *p)
{
    char *n, *dot;
    am_mdomain_t *md;

    if (!name) {
        return NULL;
    }
    n = apr_pstrdup(p, name);
    ap_str_tolower(n);
    if ((md = apr_hash_get(rt->by_name, n, APR_HASH_KEY_STRING))) {
        return md;
    }
    /* a wildcard certificate covers one more label */
    if ((dot = strchr(n, '.')) && n[0] != '*') {
        return apr_hash_get(rt->by_name, apr_pstrcat(p, "*", dot, NULL), APR_HASH_KEY_STRING);
    }
    return NULL;
}

static am_mdomain_t *vhost_domain(const am_runtime_t *rt, server_rec *s, apr_pool_t *p)
{
    const am_sconf_t *sc = am_sconf(s);
    am_mdomain_t *md;
    int i;

    if (sc->sets->nelts > 0 && s->is_virtual) {
        const am_domain_conf_t *set = APR_ARRAY_IDX(sc->sets, 0, const am_domain_conf_t *);
        for (i = 0; i < rt->managed->nelts; i++) {
            md = APR_ARRAY_IDX(rt->managed, i, am_mdomain_t *);
            if (md->set == set) {
                return md;
            }
        }
    }
    if ((md = am_serve_domain_of(rt, s->server_hostname, p))) {
        return md;
    }
    for (i = 0; s->names && i < s->names->nelts; i++) {
        if ((md = am_serve_domain_of(rt, APR_ARRAY_IDX(s->names, i, const char *), p))) {
            return md;
        }
    }
    return NULL;
}

static int has_protocol(const apr_array_header_t *a, const char *proto)
{
    int i;

    for (i = 0; i < a->nelts; i++) {
        if (!strcasecmp(APR_ARRAY_IDX(a, i, const char *), proto)) {
            return 1;
        }
    }
    return 0;
}

static int allows_tls_alpn(const acme_domain_t *d)
{
    int i;

    for (i = 0; i < d->challenges->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(d->challenges, i, const char *), "tls-alpn-01")) {
            return 1;
        }
    }
    return 0;
}

/* The admin does not edit Protocols: acme-tls/1 is added on managed vhosts.
 * An empty list means "http/1.1 only", so that is kept explicitly. */
static void enable_acme_tls(server_rec *s, apr_pool_t *p)
{
    core_server_config *csc = ap_get_core_module_config(s->module_config);
    apr_array_header_t *protos;

    if (!csc || (csc->protocols && has_protocol(csc->protocols, "acme-tls/1"))) {
        return;
    }
    /* vhosts share the main server's array when they set none: copy first */
    protos = csc->protocols ? apr_array_copy(p, csc->protocols)
                            : apr_array_make(p, 2, sizeof(const char *));
    if (protos->nelts == 0) {
        APR_ARRAY_PUSH(protos, const char *) = "http/1.1";
    }
    APR_ARRAY_PUSH(protos, const char *) = "acme-tls/1";
    csc->protocols = protos;
}

static void assign_vhosts(am_runtime_t *rt, server_rec *base, apr_pool_t *p)
{
    server_rec *s;

    for (s = base; s; s = s->next) {
        am_sconf_t *sc = am_sconf(s);

        sc->rt = rt;
        sc->md = vhost_domain(rt, s, p);
        if (sc->md && allows_tls_alpn(sc->md->d)) {
            enable_acme_tls(s, p);
            sc->serve_tls_alpn = 1;
        }
    }
}

/* ---- files -------------------------------------------------------------- */

static void push_pair(apr_array_header_t *certs, apr_array_header_t *keys,
                      const char *cert, const char *key)
{
    APR_ARRAY_PUSH(certs, const char *) = cert;
    APR_ARRAY_PUSH(keys, const char *) = key;
}


/* What root and mod_ssl load: an entry of root's groups that is a real
 * directory (never a link) owned by this process's user and writable by
 * nobody else, and in it a regular file of that user; NULL otherwise,
 * logged once at startup. Nobody else can change anything on that path. */
static const char *root_file(am_runtime_t *rt, apr_pool_t *p, acme_store_group_e g,
                             const char *entry, const char *item, int want_entry,
                             const char **version)
{
    acme_store_file_t f;
    apr_status_t rv = rt->store->file(rt->store, p, g, entry, item, &f);

    if (rv == APR_EINVAL && f.expected && rt->startup && want_entry) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, rt->s,
                     "%s is not what root wrote (expected %s); it is not served", f.path,
                     f.expected);
    }
    if (version) {
        *version = rv == APR_SUCCESS ? f.version : NULL;
    }
    return rv == APR_SUCCESS ? f.path : NULL;
}

/* The active certificate/key pairs of d, one per key type that has both;
 * the key is looked for only next to a certificate. */
static void active_files(am_runtime_t *rt, apr_pool_t *p, const acme_domain_t *d,
                         apr_array_header_t **certs, apr_array_header_t **keys)
{
    int i;

    *certs = *keys = NULL;
    for (i = 0; i < d->key_types->nelts; i++) {
        const char *kt = acme_key_type_name(APR_ARRAY_IDX(d->key_types, i, acme_key_type_e));
        const char *c = root_file(rt, p, ACME_SG_DOMAINS, d->id, acme_store_chain_item(p, kt),
                                  i == 0, NULL);
        const char *k = c ? root_file(rt, p, ACME_SG_DOMAINS, d->id,
                                      acme_store_pkey_item(p, kt), 1, NULL) : NULL;

        if (k) {
            if (!*certs) {
                *certs = apr_array_make(p, 2, sizeof(const char *));
                *keys = apr_array_make(p, 2, sizeof(const char *));
            }
            push_pair(*certs, *keys, c, k);
        }
    }
}

/* Fallback certificates already checked by this process, retained across
 * config passes and graceful restarts. */
#define FALLBACK_MEMO_KEY "mod_acme_fallback_memo_v2"

static acme_fallback_memo_t *fallback_memo(apr_pool_t *pconf)
{
    acme_fallback_memo_t **m = ap_retained_data_get(FALLBACK_MEMO_KEY);

    if (!m) {
        apr_pool_t *pool;

        m = ap_retained_data_create(FALLBACK_MEMO_KEY, sizeof(*m));
        /* pconf's parent lives as long as the process, like retained data */
        apr_pool_create(&pool, apr_pool_parent_get(pconf));
        *m = acme_fallback_memo_make(pool);
    }
    return *m;
}

static apr_array_header_t *copy_strings(apr_pool_t *p, const apr_array_header_t *a)
{
    apr_array_header_t *out = apr_array_make(p, a->nelts, sizeof(const char *));
    int i;

    for (i = 0; i < a->nelts; i++) {
        APR_ARRAY_PUSH(out, const char *) = apr_pstrdup(p, APR_ARRAY_IDX(a, i, const char *));
    }
    return out;
}

/* md's fallback certificate and the shared key, made when missing. */
static apr_status_t fallback_files(am_runtime_t *rt, acme_fallback_pass_t *fp, apr_pool_t *p,
                                   am_mdomain_t *md)
{
    apr_status_t rv = acme_fallback_prepare(fp, p, md->d->id, md->d->names);

    if (rv == APR_SUCCESS && !rt->fallback_key_path) {
        rt->fallback_key_path = root_file(rt, rt->pool, ACME_SG_FALLBACK, ACME_FALLBACK_KEY_ENTRY,
                                          ACME_FALLBACK_KEY_ITEM, 1, NULL);
    }
    if (rv == APR_SUCCESS) {
        md->fallback_cert = root_file(rt, rt->pool, ACME_SG_FALLBACK, md->d->id,
                                      ACME_FALLBACK_CERT_ITEM, 0, NULL);
    }
    return rv;
}

/* What each domain serves in this pass, looked up once for mod_ssl's hooks:
 * its active pairs, else its fallback certificate (made when missing). */
static void find_served_files(am_runtime_t *rt, apr_pool_t *ptemp)
{
    apr_pool_t *p;
    acme_fallback_pass_t *fp = acme_fallback_pass(rt->pool, rt->store, fallback_memo(rt->pool));
    int i;

    apr_pool_create(&p, ptemp);
    for (i = 0; i < rt->managed->nelts; i++) {
        am_mdomain_t *md = APR_ARRAY_IDX(rt->managed, i, am_mdomain_t *);
        apr_array_header_t *certs, *keys;
        apr_status_t rv;

        apr_pool_clear(p);
        md->cert_files = md->key_files = NULL;
        md->fallback_cert = NULL;
        active_files(rt, p, md->d, &certs, &keys);
        if (certs) {
            md->cert_files = copy_strings(rt->pool, certs);
            md->key_files = copy_strings(rt->pool, keys);
        }
        else if ((rv = fallback_files(rt, fp, p, md)) != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_ERR, rv, rt->s,
                         "ACMEDomain %s: cannot create the temporary self-signed certificate "
                         "in %s; its vhosts will fail to start TLS until a certificate "
                         "is obtained", md->d->id,
                         rt->store->where(rt->store, p, ACME_SG_FALLBACK, NULL, NULL));
        }
    }
    apr_pool_destroy(p);
}

void am_serve_prepare(am_runtime_t *rt, server_rec *base, apr_pool_t *pconf, apr_pool_t *ptemp)
{
    find_served_files(rt, ptemp);
    assign_vhosts(rt, base, pconf);
}

/* ---- mod_ssl hooks ------------------------------------------------------- */

int am_serve_add_cert_files(server_rec *s, apr_pool_t *p, apr_array_header_t *cert_files,
                              apr_array_header_t *key_files)
{
    am_sconf_t *sc = am_sconf(s);
    const acme_domain_t *d;
    int i;

    if (!sc || !sc->rt) {
        return DECLINED;
    }
    /* every certificate a vhost brings itself is watched (ACMEWatchStatic) */
    am_warn_note_static(sc->rt, s, cert_files);
    if (!sc->md) {
        return DECLINED;
    }
    d = sc->md->d;
    sc->ssl_seen = 1;
    sc->md->ssl_vhosts++;
    if (cert_files->nelts > 0) {
        sc->static_cert = 1;
        if (sc->rt->startup) {
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                         "<VirtualHost> %s (%s:%d) has its own SSLCertificateFile: it keeps "
                         "serving that one (static wins). mod_acme still manages %s in %s/domains/; "
                         "remove SSLCertificateFile to serve it", s->server_hostname, s->defn_name,
                         s->defn_line_number, d->id, sc->rt->store_dir);
        }
        return DECLINED;
    }
    if (!sc->md->cert_files) {
        return DECLINED;
    }
    for (i = 0; i < sc->md->cert_files->nelts; i++) {
        push_pair(cert_files, key_files, APR_ARRAY_IDX(sc->md->cert_files, i, const char *),
                  APR_ARRAY_IDX(sc->md->key_files, i, const char *));
    }
    return OK;
}

/* The fallback goes in as an ordinary certificate, after every other module
 * had its say: through mod_ssl's fallback hook, mod_ssl would log AH10085
 * ("will respond with 503") for each such vhost on each start, although
 * mod_acme answers the 503 itself (am_serve_unavailable). */
int am_serve_add_fallback_last(server_rec *s, apr_pool_t *p, apr_array_header_t *cert_files,
                                 apr_array_header_t *key_files)
{
    am_sconf_t *sc = am_sconf(s);
    const char *cert;

    if (!sc || !sc->rt || !sc->md || sc->static_cert || cert_files->nelts > 0) {
        return DECLINED;
    }
    cert = sc->md->fallback_cert;
    if (!cert || !sc->rt->fallback_key_path) {
        return DECLINED;
    }
    push_pair(cert_files, key_files, cert, sc->rt->fallback_key_path);
    sc->fallback = 1;
    if (sc->rt->startup) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                     "<VirtualHost> %s: no certificate for %s yet; serving a temporary "
                     "self-signed one and answering 503 until it is obtained",
                     s->server_hostname, sc->md->d->id);
    }
    return OK;
}

int am_serve_unavailable(request_rec *r)
{
    const am_sconf_t *sc = am_sconf(r->server);

    if (!sc || !sc->fallback || !ap_ssl_conn_is_ssl(r->connection)) {
        return DECLINED;
    }
    apr_table_setn(r->err_headers_out, "Retry-After", "60");
    ap_custom_response(r, HTTP_SERVICE_UNAVAILABLE,
                       "The certificate for this site is being obtained from the certificate "
                       "authority. Please try again in a minute.\n");
    return HTTP_SERVICE_UNAVAILABLE;
}
