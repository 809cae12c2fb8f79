/* mod_acme_challenge.c: http-01 answers before any other module sees the request, and tls-alpn-01 answers in the TLS handshake. */
#include <arpa/inet.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <http_ssl.h>
#include <apr_strings.h>
#include <apr_lib.h>

#include "acme_base64.h"
#include "acme_domain.h"
#include "acme_responder.h"
#include "acme_store.h"
#include "mod_acme_challenge.h"
#include "mod_acme_config.h"
#include "mod_acme_serve.h"

APLOG_USE_MODULE(acme);

#define NOTE_ACME_TLS "mod_acme.acme-tls/1"
#define KEYAUTH_MAX 1024
#define TLSALPN_PEM_MAX (64 * 1024)

/* Host as the identifier it names: lower-cased, no trailing dot, no IPv6 brackets. */
static const char *request_host(request_rec *r)
{
    char *h;
    apr_size_t len;

    if (!r->hostname || !*r->hostname) {
        return NULL;
    }
    h = apr_pstrdup(r->pool, r->hostname);
    len = strlen(h);
    if (h[0] == '[' && len > 2 && h[len - 1] == ']') {
        h[len - 1] = '\0';
        h++;
        len -= 2;
    }
    if (len > 1 && h[len - 1] == '.') {
        h[len - 1] = '\0';
    }
    ap_str_tolower(h);
    return h;
}

/* DONE makes httpd finalize the response (EOS) after this hook. */
static int send_keyauth(request_rec *r, const char *data, apr_size_t len)
{
    r->status = HTTP_OK;
    ap_set_content_type(r, "text/plain");
    ap_set_content_length(r, (apr_off_t)len);
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (!r->header_only) {
        ap_rwrite(data, (int)len, r);
    }
    return DONE;
}

static int http01(request_rec *r, am_runtime_t *rt, const char *token)
{
    const char *host = request_host(r);
    char *data;
    apr_size_t len;
    apr_status_t rv;

    /* names we do not manage keep their own /.well-known (e.g. another ACME client) */
    if (!host || !apr_hash_get(rt->by_name, host, APR_HASH_KEY_STRING)) {
        return DECLINED;
    }
    if (r->method_number != M_GET) {
        return HTTP_NOT_FOUND;
    }
    if (strlen(token) > AM_TOKEN_MAX || !acme_b64u_is_token(token)) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "http-01: rejected token for %s", host);
        return HTTP_NOT_FOUND;
    }
    rv = rt->store->load(rt->store, r->pool, ACME_SG_CHALLENGES, host,
                         acme_responder_http01_item(r->pool, token), &data, &len);
    if (rv != APR_SUCCESS || len == 0 || len > KEYAUTH_MAX) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, rv, r, "http-01: no answer for %s token %s",
                      host, token);
        return HTTP_NOT_FOUND;
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "http-01: answered for %s", host);
    return send_keyauth(r, data, len);
}

#define PREFIX_LEN (sizeof(AM_HTTP01_PREFIX) - 1)

static int is_challenge_path(const char *path)
{
    return path && !strncmp(path, AM_HTTP01_PREFIX, PREFIX_LEN);
}

/* The token of a raw challenge path whose last part is not a plain token
 * ("./T", "T%2D"), as httpd's own normalisation spells it; NULL when that is
 * not a challenge path any more ("../../x"): the module answers 404 then. */
static const char *normalised_token(request_rec *r, const char *path)
{
    char *copy = apr_pstrdup(r->pool, path);

    if (!ap_normalize_path(copy, AP_NORMALIZE_NOT_ABOVE_ROOT | AP_NORMALIZE_DECODE_UNRESERVED
                                 | AP_NORMALIZE_MERGE_SLASHES)
        || ap_unescape_url(copy) != OK || !is_challenge_path(copy)) {
        return NULL;
    }
    return copy + PREFIX_LEN;
}

/* The raw path: the usual spelling is answered before any other module runs. */
int am_challenge_post_read_request(request_rec *r)
{
    const am_sconf_t *sc = am_sconf(r->server);
    const char *path;

    if (!sc || !sc->rt) {
        return DECLINED;
    }
    path = r->parsed_uri.path;
    if (is_challenge_path(path)) {
        const char *token = path + PREFIX_LEN;
        int rc;

        if (!acme_b64u_is_token(token) && (token = normalised_token(r, path)) == NULL) {
            token = path + PREFIX_LEN;      /* not a token: 404 for managed names */
        }
        if ((rc = http01(r, sc->rt, token)) != DECLINED) {
            return rc;
        }
    }
    return am_serve_unavailable(r);
}

/* The path as httpd maps it (dot segments, doubled slashes and percent-
 * encoding resolved, r->uri), first of all translate_name hooks: every other
 * spelling of a challenge URL is answered here, never from the file system,
 * by a redirect or another handler. */
int am_challenge_translate_name(request_rec *r)
{
    const am_sconf_t *sc;

    if (!is_challenge_path(r->uri) || r->main || r->proxyreq
        || !(sc = am_sconf(r->server)) || !sc->rt) {
        return DECLINED;
    }
    return http01(r, sc->rt, r->uri + PREFIX_LEN);
}

/* ---- tls-alpn-01 -------------------------------------------------------- */

int am_challenge_protocol_propose(conn_rec *c, request_rec *r, server_rec *s,
                                    const apr_array_header_t *offers,
                                    apr_array_header_t *proposals)
{
    const am_sconf_t *sc = s ? am_sconf(s) : NULL;

    if (r || !sc || !sc->serve_tls_alpn || !ap_array_str_contains(offers, AM_TLS_ALPN_PROTO)
        || !ap_ssl_conn_is_ssl(c)) {
        return DECLINED;
    }
    APR_ARRAY_PUSH(proposals, const char *) = AM_TLS_ALPN_PROTO;
    return OK;
}

int am_challenge_protocol_switch(conn_rec *c, request_rec *r, server_rec *s,
                                   const char *protocol)
{
    const am_sconf_t *sc = s ? am_sconf(s) : NULL;

    if (r || !sc || !sc->serve_tls_alpn || !protocol || strcmp(protocol, AM_TLS_ALPN_PROTO)) {
        return DECLINED;
    }
    apr_table_setn(c->notes, NOTE_ACME_TLS, "1");
    return OK;
}

const char *am_challenge_protocol_get(const conn_rec *c)
{
    return apr_table_get(c->notes, NOTE_ACME_TLS) ? AM_TLS_ALPN_PROTO : NULL;
}

static const char *reverse_v4(apr_pool_t *p, const char *s, apr_size_t len)
{
    char *labels[4], *copy = apr_pstrndup(p, s, len), *last, *tok;
    int n = 0;

    for (tok = apr_strtok(copy, ".", &last); tok; tok = apr_strtok(NULL, ".", &last)) {
        if (n == 4) {
            return NULL;
        }
        labels[n++] = tok;
    }
    return n == 4 ? apr_psprintf(p, "%s.%s.%s.%s", labels[3], labels[2], labels[1], labels[0])
                  : NULL;
}

static const char *reverse_v6(apr_pool_t *p, const char *s, apr_size_t len)
{
    char hex[40], buf[INET6_ADDRSTRLEN];
    unsigned char addr[16];
    int i, j = 0;

    if (len != 63) {
        return NULL;
    }
    for (i = 31; i >= 0; i--) {
        char ch = s[i * 2];
        if (!apr_isxdigit(ch) || (i > 0 && s[i * 2 - 1] != '.')) {
            return NULL;
        }
        hex[j++] = ch;
        if ((32 - i) % 4 == 0 && i > 0) {
            hex[j++] = ':';
        }
    }
    hex[j] = '\0';
    if (inet_pton(AF_INET6, hex, addr) != 1 || !inet_ntop(AF_INET6, addr, buf, sizeof(buf))) {
        return NULL;
    }
    return apr_pstrdup(p, buf);
}

const char *am_challenge_sni_identifier(apr_pool_t *p, const char *sni)
{
    static const char v4[] = ".in-addr.arpa", v6[] = ".ip6.arpa";
    char *n;
    apr_size_t len;
    const char *id;

    if (!sni || !*sni || strlen(sni) > 255) {
        return NULL;
    }
    n = apr_pstrdup(p, sni);
    ap_str_tolower(n);
    len = strlen(n);
    id = n;
    if (len > sizeof(v4) - 1 && !strcmp(n + len - (sizeof(v4) - 1), v4)) {
        id = reverse_v4(p, n, len - (sizeof(v4) - 1));
    }
    else if (len > sizeof(v6) - 1 && !strcmp(n + len - (sizeof(v6) - 1), v6)) {
        id = reverse_v6(p, n, len - (sizeof(v6) - 1));
    }
    return id && acme_identifier_valid(id) ? id : NULL;
}

int am_challenge_answer_tls_alpn(conn_rec *c, const char *server_name,
                                   const char **pcert_pem, const char **pkey_pem)
{
    const am_sconf_t *sc = am_sconf(c->base_server);
    const char *sni, *id;
    char *pem;
    apr_size_t len;
    apr_status_t rv;

    if (!sc || !sc->rt || !apr_table_get(c->notes, NOTE_ACME_TLS)) {
        return DECLINED;
    }
    sni = ap_ssl_var_lookup(c->pool, c->base_server, c, NULL, "SSL_TLS_SNI");
    id = am_challenge_sni_identifier(c->pool, (sni && *sni) ? sni : server_name);
    if (!id) {
        ap_log_cerror(APLOG_MARK, APLOG_DEBUG, 0, c, "tls-alpn-01: no usable SNI");
        return DECLINED;
    }
    rv = sc->rt->store->load(sc->rt->store, c->pool, ACME_SG_CHALLENGES, id,
                             ACME_TLSALPN01_ITEM, &pem, &len);
    if (rv != APR_SUCCESS || len == 0 || len > TLSALPN_PEM_MAX) {
        ap_log_cerror(APLOG_MARK, APLOG_DEBUG, rv, c, "tls-alpn-01: no answer for %s", id);
        return DECLINED;
    }
    ap_log_cerror(APLOG_MARK, APLOG_DEBUG, 0, c, "tls-alpn-01: answering for %s", id);
    *pcert_pem = pem;
    *pkey_pem = NULL;   /* the key is in the same PEM */
    return OK;
}
