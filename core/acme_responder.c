/* acme_responder.c: challenge responders: store items for httpd, a webroot directory, a DNS hook command, and a chain of them. */
#include <string.h>
#include <apr_file_io.h>
#include <apr_strings.h>
#include "acme_base64.h"
#include "acme_domain.h"
#include "acme_exec.h"
#include "acme_file.h"
#include "acme_jws.h"
#include "acme_responder.h"
#include "acme_x509.h"

const char *acme_responder_http01_item(apr_pool_t *p, const char *token)
{
    return apr_pstrcat(p, "http-01.", token, NULL);
}

static int is_wildcard(const char *name)
{
    return name[0] == '*' && name[1] == '.';
}

static acme_responder_t *responder_make(apr_pool_t *p, void *baton, const acme_logger_t *log)
{
    acme_responder_t *r = apr_pcalloc(p, sizeof(*r));
    r->baton = baton;
    r->log = log;
    return r;
}

/* ---- store: http-01 answers and tls-alpn-01 certificates for mod_acme ---- */

static int store_can(acme_responder_t *r, const char *type, const char *name)
{
    (void)r;
    if (is_wildcard(name)) return 0;
    return !strcmp(type, "http-01") || !strcmp(type, "tls-alpn-01");
}

static apr_status_t store_entry(apr_pool_t *p, const char *name, const char **entry)
{
    *entry = acme_store_entry(p, name);
    return *entry ? APR_SUCCESS : APR_EINVAL;
}

static apr_status_t tlsalpn_pem(apr_pool_t *p, const char *name, const char *keyauth,
                                char **out, apr_size_t *outlen)
{
    acme_key_t *key = NULL;
    char *cert = NULL, *kpem = NULL;
    apr_size_t klen = 0;
    apr_status_t rv;

    if ((rv = acme_key_generate(p, ACME_KEY_EC256, &key)) != APR_SUCCESS
        || (rv = acme_tls_alpn01_cert(p, name, keyauth, key, &cert)) != APR_SUCCESS
        || (rv = acme_key_to_pem(p, key, &kpem, &klen)) != APR_SUCCESS) {
        return rv;
    }
    *out = apr_pstrcat(p, cert, kpem, NULL);
    *outlen = strlen(*out);
    return APR_SUCCESS;
}

static apr_status_t store_setup(acme_responder_t *r, apr_pool_t *p, const char *type,
                                const char *name, const char *token, const char *keyauth)
{
    acme_store_t *st = r->baton;
    const char *entry;
    char *pem = NULL;
    apr_size_t len = 0;
    apr_status_t rv;

    if ((rv = store_entry(p, name, &entry)) != APR_SUCCESS) return rv;
    if (!strcmp(type, "http-01")) {
        if (!token || !acme_b64u_is_token(token)) return APR_EINVAL;
        /* answers live as long as a pending authorization: atomic, no fsync */
        return st->save(st, p, ACME_SG_CHALLENGES, entry, acme_responder_http01_item(p, token),
                        keyauth, strlen(keyauth), ACME_STORE_REGENERABLE, NULL);
    }
    if (!strcmp(type, "tls-alpn-01")) {
        if ((rv = tlsalpn_pem(p, name, keyauth, &pem, &len)) != APR_SUCCESS) return rv;
        return st->save(st, p, ACME_SG_CHALLENGES, entry, ACME_TLSALPN01_ITEM, pem, len,
                        ACME_STORE_PRIVATE | ACME_STORE_REGENERABLE, NULL);
    }
    return APR_ENOTIMPL;
}

static apr_status_t store_teardown(acme_responder_t *r, apr_pool_t *p, const char *type,
                                   const char *name, const char *token, const char *keyauth)
{
    acme_store_t *st = r->baton;
    apr_array_header_t *left = NULL;
    const char *entry;
    apr_status_t rv;

    (void)keyauth;
    if ((rv = store_entry(p, name, &entry)) != APR_SUCCESS) return rv;
    if (!strcmp(type, "http-01")) {
        if (!token || !acme_b64u_is_token(token)) return APR_EINVAL;
        rv = st->remove(st, p, ACME_SG_CHALLENGES, entry, acme_responder_http01_item(p, token), NULL);
    }
    else if (!strcmp(type, "tls-alpn-01")) {
        rv = st->remove(st, p, ACME_SG_CHALLENGES, entry, ACME_TLSALPN01_ITEM, NULL);
    }
    else {
        return APR_ENOTIMPL;
    }
    /* Drop the identifier's entry once nothing is left in it. */
    if (rv == APR_SUCCESS
        && st->list(st, p, ACME_SG_CHALLENGES, entry, &left) == APR_SUCCESS
        && left->nelts == 0) {
        st->remove(st, p, ACME_SG_CHALLENGES, entry, NULL, NULL);
    }
    return rv;
}

acme_responder_t *acme_responder_store(apr_pool_t *p, acme_store_t *store, const acme_logger_t *log)
{
    acme_responder_t *r = responder_make(p, store, log);
    r->can = store_can;
    r->setup = store_setup;
    r->teardown = store_teardown;
    return r;
}

/* ---- webroot: <dir>/.well-known/acme-challenge/<token> ---- */

static int webroot_can(acme_responder_t *r, const char *type, const char *name)
{
    (void)r;
    return !strcmp(type, "http-01") && !is_wildcard(name);
}

static const char *webroot_path(apr_pool_t *p, const char *dir, const char *token)
{
    return apr_pstrcat(p, dir, "/.well-known/acme-challenge/", token, NULL);
}

static apr_status_t webroot_setup(acme_responder_t *r, apr_pool_t *p, const char *type,
                                  const char *name, const char *token, const char *keyauth)
{
    const char *dir = r->baton, *cdir;
    apr_status_t rv;

    (void)name;
    if (strcmp(type, "http-01")) return APR_ENOTIMPL;
    if (!token || !acme_b64u_is_token(token)) return APR_EINVAL;
    cdir = apr_pstrcat(p, dir, "/.well-known/acme-challenge", NULL);
    if ((rv = acme_file_mkdirs(p, cdir, APR_FPROT_OS_DEFAULT)) != APR_SUCCESS) {
        acme_log(r->log, ACME_LOG_WARN, rv, "cannot create %s", cdir);
        return rv;
    }
    rv = acme_file_write_atomic(p, webroot_path(p, dir, token), keyauth, strlen(keyauth),
                                APR_FPROT_UREAD | APR_FPROT_UWRITE | APR_FPROT_GREAD
                                | APR_FPROT_WREAD);
    if (rv != APR_SUCCESS) {
        acme_log(r->log, ACME_LOG_WARN, rv, "cannot write %s", webroot_path(p, dir, token));
    }
    return rv;
}

static apr_status_t webroot_teardown(acme_responder_t *r, apr_pool_t *p, const char *type,
                                     const char *name, const char *token, const char *keyauth)
{
    apr_status_t rv;
    (void)name; (void)keyauth;
    if (strcmp(type, "http-01")) return APR_ENOTIMPL;
    if (!token || !acme_b64u_is_token(token)) return APR_EINVAL;
    rv = apr_file_remove(webroot_path(p, r->baton, token), p);
    return APR_STATUS_IS_ENOENT(rv) ? APR_SUCCESS : rv;
}

acme_responder_t *acme_responder_webroot(apr_pool_t *p, const char *dir, const acme_logger_t *log)
{
    acme_responder_t *r = responder_make(p, apr_pstrdup(p, dir), log);
    r->can = webroot_can;
    r->setup = webroot_setup;
    r->teardown = webroot_teardown;
    return r;
}

/* ---- dns-01 through a hook command ---- */

/* A SHA-256 in base64url: what acme_dns01_value makes. */
#define DNS01_VALUE_LEN 43

typedef struct {
    const char *command;
    apr_interval_time_t timeout;
    volatile int *cancel;
} dnscmd_t;

static int dnscmd_can(acme_responder_t *r, const char *type, const char *name)
{
    (void)r;
    return !strcmp(type, "dns-01") && !acme_is_ip(name);
}

static const char *dns_name(apr_pool_t *p, const char *name)
{
    return apr_pstrcat(p, "_acme-challenge.", is_wildcard(name) ? name + 2 : name, NULL);
}

/* What reaches the program's arguments and environment: a valid DNS name
 * (no newline, no shell or nsupdate syntax) and a base64url TXT value. */
static int dnscmd_args_ok(const char *name, const char *value)
{
    return name && acme_identifier_valid(name) && !acme_is_ip(name)
           && value && strlen(value) == DNS01_VALUE_LEN && acme_b64u_is_token(value);
}

static apr_status_t dnscmd_run(acme_responder_t *r, apr_pool_t *p, const char *verb,
                               const char *name, const char *keyauth)
{
    const dnscmd_t *dc = r->baton;
    const char *value = keyauth ? acme_dns01_value(p, keyauth) : NULL;
    const char *record, *argv[5], *env[5];
    acme_exec_result_t res;
    acme_exec_t x;
    apr_status_t rv;

    if (!dnscmd_args_ok(name, value)) {
        acme_log(r->log, ACME_LOG_ERR, APR_EINVAL, "refusing to run the DNS command for an "
                 "invalid name or value (%s)", acme_printable(p, name ? name : "(none)", 300));
        return APR_EINVAL;
    }
    record = dns_name(p, name);
    argv[0] = dc->command;
    argv[1] = verb;
    argv[2] = record;
    argv[3] = value;
    argv[4] = NULL;
    env[0] = apr_pstrcat(p, "ACME_ACTION=", verb, NULL);
    env[1] = apr_pstrcat(p, "ACME_IDENTIFIER=", name, NULL);
    env[2] = apr_pstrcat(p, "ACME_NAME=", record, NULL);
    env[3] = apr_pstrcat(p, "ACME_VALUE=", value, NULL);
    env[4] = NULL;
    memset(&x, 0, sizeof(x));
    x.argv = argv;
    x.env = env;
    x.timeout = dc->timeout;
    x.cancel = dc->cancel;
    rv = acme_exec_run(p, &x, &res);
    if (rv == APR_SUCCESS) {
        return APR_SUCCESS;
    }
    if (!res.started) {
        acme_log(r->log, ACME_LOG_WARN, rv, "cannot run the DNS command %s", dc->command);
        return rv;
    }
    acme_log(r->log, ACME_LOG_WARN, rv, "DNS command \"%s %s %s\" %s", dc->command, verb, record,
             acme_exec_describe(p, &x, &res));
    return rv;
}

static apr_status_t dnscmd_setup(acme_responder_t *r, apr_pool_t *p, const char *type,
                                 const char *name, const char *token, const char *keyauth)
{
    (void)token;
    if (strcmp(type, "dns-01")) return APR_ENOTIMPL;
    return dnscmd_run(r, p, "setup", name, keyauth);
}

static apr_status_t dnscmd_teardown(acme_responder_t *r, apr_pool_t *p, const char *type,
                                    const char *name, const char *token, const char *keyauth)
{
    (void)token;
    if (strcmp(type, "dns-01")) return APR_ENOTIMPL;
    return dnscmd_run(r, p, "teardown", name, keyauth);
}

acme_responder_t *acme_responder_dnscmd(apr_pool_t *p, const char *command,
                                        apr_interval_time_t timeout, volatile int *cancel,
                                        const acme_logger_t *log)
{
    dnscmd_t *dc = apr_pcalloc(p, sizeof(*dc));
    acme_responder_t *r;

    dc->command = apr_pstrdup(p, command);
    dc->timeout = timeout;
    dc->cancel = cancel;
    r = responder_make(p, dc, log);
    r->can = dnscmd_can;
    r->setup = dnscmd_setup;
    r->teardown = dnscmd_teardown;
    return r;
}

/* ---- chain ---- */

typedef struct {
    acme_responder_t **list;
    int n;
} chain_t;

static acme_responder_t *chain_find(acme_responder_t *r, const char *type, const char *name)
{
    chain_t *c = r->baton;
    int i;
    for (i = 0; i < c->n; ++i) {
        if (c->list[i] && c->list[i]->can(c->list[i], type, name)) return c->list[i];
    }
    return NULL;
}

static int chain_can(acme_responder_t *r, const char *type, const char *name)
{
    return chain_find(r, type, name) != NULL;
}

static apr_status_t chain_setup(acme_responder_t *r, apr_pool_t *p, const char *type,
                                const char *name, const char *token, const char *keyauth)
{
    acme_responder_t *x = chain_find(r, type, name);
    return x ? x->setup(x, p, type, name, token, keyauth) : APR_ENOTIMPL;
}

static apr_status_t chain_teardown(acme_responder_t *r, apr_pool_t *p, const char *type,
                                   const char *name, const char *token, const char *keyauth)
{
    acme_responder_t *x = chain_find(r, type, name);
    return x ? x->teardown(x, p, type, name, token, keyauth) : APR_ENOTIMPL;
}

static apr_status_t chain_token(acme_responder_t *r, apr_pool_t *p,
                                const struct acme_tkauth_req_t *req, const char **jwt,
                                const char **why)
{
    chain_t *c = r->baton;
    int i;
    for (i = 0; i < c->n; ++i) {
        if (c->list[i] && c->list[i]->token) return c->list[i]->token(c->list[i], p, req, jwt, why);
    }
    *why = "no Authority Token source is configured";
    return APR_ENOTIMPL;
}

acme_responder_t *acme_responder_chain(apr_pool_t *p, acme_responder_t *const *list, int n)
{
    chain_t *c = apr_pcalloc(p, sizeof(*c));
    acme_responder_t *r;
    int i;
    c->list = apr_pcalloc(p, sizeof(*c->list) * (apr_size_t)(n > 0 ? n : 1));
    for (i = 0; i < n; ++i) c->list[i] = list[i];
    c->n = n;
    r = responder_make(p, c, NULL);
    for (i = 0; i < n && !r->log; ++i) {
        if (list[i]) r->log = list[i]->log;
    }
    r->can = chain_can;
    r->setup = chain_setup;
    r->teardown = chain_teardown;
    r->token = chain_token;
    return r;
}
