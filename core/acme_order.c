/* acme_order.c: ACME orders, authorizations, challenges, finalize, certificate download, revocation and ARI on top of acme_ca. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <apr_strings.h>
#include <apr_time.h>
#include <openssl/x509.h>
#include "acme_base64.h"
#include "acme_domain.h"
#include "acme_json.h"
#include "acme_order.h"
#include "acme_time.h"
#include "acme_tnauth.h"

/* Polls double from 50 ms: a CA that validates or issues in tens of
 * milliseconds is seen at once, a slow one gets 8 polls in its first 13 s,
 * then one every 10 s. */
#define POLL_FIRST_DELAY apr_time_from_msec(50)
#define POLL_MAX_DELAY apr_time_from_sec(10)
#define POLL_MAX_RETRY_AFTER apr_time_from_sec(120)
#define MAX_ALTERNATES 8
#define MAX_AUTHZS 100
#define MAX_CHALLENGES 16

static apr_status_t local_problem(apr_pool_t *p, acme_problem_t **prob, const char *type,
                                  apr_status_t rv, const char *fmt, ...)
    ACME_PRINTF(5, 6);

/* A problem for failures found on our side (malformed answers, timeouts). */
static apr_status_t local_problem(apr_pool_t *p, acme_problem_t **prob, const char *type,
                                  apr_status_t rv, const char *fmt, ...)
{
    va_list ap;
    acme_problem_t *pr = apr_pcalloc(p, sizeof(*pr));
    va_start(ap, fmt);
    pr->type = type;
    pr->detail = apr_pvsprintf(p, fmt, ap);
    va_end(ap);
    if (prob) *prob = pr;
    return rv;
}

#define MALFORMED "urn:mod_acme:malformed"

/* A problem document embedded in a JSON object (order or challenge "error"). */
static acme_problem_t *embedded_problem(apr_pool_t *p, const json_t *obj)
{
    acme_problem_t *pr = NULL;
    char *s = acme_json_dump(p, obj, 0);
    if (!s || acme_problem_parse(p, s, strlen(s), 0, &pr) != APR_SUCCESS || !pr) {
        pr = apr_pcalloc(p, sizeof(*pr));
        pr->type = "about:blank";
        pr->detail = "unparsable error object";
    }
    return pr;
}

static apr_interval_time_t resp_retry_after(const acme_http_response_t *resp)
{
    const char *v;
    apr_interval_time_t d = 0;
    if (!resp || !resp->headers) return 0;
    v = apr_table_get(resp->headers, "Retry-After");
    if (!v || acme_retry_after_parse(v, apr_time_now(), &d) != APR_SUCCESS) return 0;
    return d;
}

static int str_in(const char *s, const char *const *set)
{
    for (; *set; ++set) {
        if (!strcmp(s, *set)) return 1;
    }
    return 0;
}

static apr_interval_time_t ctx_timeout(const acme_order_ctx_t *ctx)
{
    return ctx->poll_timeout > 0 ? ctx->poll_timeout : ACME_ORDER_POLL_TIMEOUT;
}

static int cancelled(const acme_order_ctx_t *ctx)
{
    return ctx->cancel && *ctx->cancel;
}

/* Sleep in short slices so a cancel request is noticed quickly. */
static apr_status_t nap(const acme_order_ctx_t *ctx, apr_interval_time_t d)
{
    apr_time_t until = apr_time_now() + d;
    while (apr_time_now() < until) {
        apr_interval_time_t left = until - apr_time_now();
        if (cancelled(ctx)) return APR_EINTR;
        apr_sleep(left < apr_time_from_msec(100) ? left : apr_time_from_msec(100));
    }
    return cancelled(ctx) ? APR_EINTR : APR_SUCCESS;
}

/* Next poll delay: Retry-After wins (bounded), else exponential. */
static apr_interval_time_t next_delay(apr_interval_time_t *cur, apr_interval_time_t retry_after)
{
    apr_interval_time_t d = *cur;
    *cur = (*cur * 2 > POLL_MAX_DELAY) ? POLL_MAX_DELAY : *cur * 2;
    if (retry_after > 0) d = retry_after > POLL_MAX_RETRY_AFTER ? POLL_MAX_RETRY_AFTER : retry_after;
    return d;
}

static apr_status_t post_json(const acme_order_ctx_t *ctx, apr_pool_t *p, const char *url,
                              const char *payload, acme_http_response_t **resp,
                              json_t **json, acme_problem_t **prob)
{
    if (!ctx->acct || !ctx->acct->key || !ctx->acct->url) {
        return local_problem(p, prob, "urn:mod_acme:noAccount", APR_EINVAL,
                             "no ACME account for %s", url);
    }
    return acme_ca_post_json(ctx->ca, p, url, ctx->acct->key, ctx->acct->url, payload,
                             resp, json, prob);
}

/* ---- orders ---- */

static const char *const ORDER_STATES[] = {
    "pending", "ready", "processing", "valid", "invalid", NULL
};

apr_status_t acme_order_parse(apr_pool_t *p, const json_t *obj, const char *url,
                              acme_order_t **order)
{
    acme_order_t *o = apr_pcalloc(p, sizeof(*o));
    json_t *arr = NULL, *err = NULL;
    size_t i;

    if (acme_json_get_str(obj, "status", &o->status) != APR_SUCCESS
        || !str_in(o->status, ORDER_STATES)
        || acme_json_get_str(obj, "finalize", &o->finalize_url) != APR_SUCCESS
        || acme_json_get_arr(obj, "authorizations", &arr) != APR_SUCCESS
        || json_array_size(arr) > MAX_AUTHZS
        || acme_json_opt_str(obj, "certificate", &o->cert_url) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    o->authz_urls = apr_array_make(p, (int)json_array_size(arr) + 1, sizeof(const char *));
    for (i = 0; i < json_array_size(arr); ++i) {
        json_t *u = json_array_get(arr, i);
        if (!json_is_string(u)) return APR_EINVAL;
        APR_ARRAY_PUSH(o->authz_urls, const char *) = apr_pstrdup(p, json_string_value(u));
    }
    switch (acme_json_get_obj(obj, "error", &err)) {
    case APR_SUCCESS: o->error = embedded_problem(p, err); break;
    case APR_NOTFOUND: break;
    default: return APR_EINVAL;
    }
    if (!strcmp(o->status, "valid") && !o->cert_url) return APR_EINVAL;
    o->finalize_url = apr_pstrdup(p, o->finalize_url);
    o->status = apr_pstrdup(p, o->status);
    if (o->cert_url) o->cert_url = apr_pstrdup(p, o->cert_url);
    o->url = url ? apr_pstrdup(p, url) : NULL;
    o->obj = acme_json_own(p, json_deep_copy(obj));
    *order = o;
    return APR_SUCCESS;
}

static apr_status_t order_from_resp(apr_pool_t *p, const json_t *json, const char *url,
                                    const acme_http_response_t *resp,
                                    acme_order_t **order, acme_problem_t **prob)
{
    if (acme_order_parse(p, json, url, order) != APR_SUCCESS) {
        return local_problem(p, prob, MALFORMED, APR_EINVAL,
                             "malformed order object from %s", url ? url : "newOrder");
    }
    (*order)->retry_after = resp_retry_after(resp);
    return APR_SUCCESS;
}

static json_t *identifiers_json(const apr_array_header_t *names)
{
    json_t *ids = json_array();
    int i;
    for (i = 0; ids && i < names->nelts; ++i) {
        const char *n = APR_ARRAY_IDX(names, i, const char *);
        const char *tn = acme_tnauth_name_value(n);
        json_array_append_new(ids, json_pack("{s:s,s:s}", "type",
                                             tn ? ACME_TNAUTH_ID_TYPE : acme_is_ip(n) ? "ip"
                                             : "dns", "value", tn ? tn : n));
    }
    return ids;
}

apr_status_t acme_order_new(const acme_order_ctx_t *ctx, apr_pool_t *p,
                            const apr_array_header_t *names, const char *profile,
                            const char *replaces, acme_order_t **order,
                            acme_problem_t **prob)
{
    const char *url, *loc;
    json_t *req, *json = NULL;
    acme_http_response_t *resp = NULL;
    char *payload;
    apr_status_t rv;

    if (!names || names->nelts == 0) {
        return local_problem(p, prob, "urn:mod_acme:badConfig", APR_EINVAL, "no names to order");
    }
    if ((rv = acme_ca_directory(ctx->ca, p, &json, prob)) != APR_SUCCESS) return rv;
    if (!(url = acme_ca_endpoint(ctx->ca, "newOrder"))) {
        return local_problem(p, prob, MALFORMED, APR_EINVAL, "directory of %s has no newOrder",
                             acme_ca_url(ctx->ca));
    }
    req = acme_json_own(p, json_object());
    json_object_set_new(req, "identifiers", identifiers_json(names));
    if (profile) json_object_set_new(req, "profile", json_string(profile));
    if (replaces) json_object_set_new(req, "replaces", json_string(replaces));
    if (!(payload = acme_json_dump(p, req, 0))) return APR_ENOMEM;

    if ((rv = post_json(ctx, p, url, payload, &resp, &json, prob)) != APR_SUCCESS) return rv;
    loc = apr_table_get(resp->headers, "Location");
    if (!loc || !*loc) {
        return local_problem(p, prob, MALFORMED, APR_EINVAL, "newOrder answer without Location");
    }
    return order_from_resp(p, json, loc, resp, order, prob);
}

apr_status_t acme_order_get(const acme_order_ctx_t *ctx, apr_pool_t *p, const char *url,
                            acme_order_t **order, acme_problem_t **prob)
{
    acme_http_response_t *resp = NULL;
    json_t *json = NULL;
    apr_status_t rv = post_json(ctx, p, url, NULL, &resp, &json, prob);
    if (rv != APR_SUCCESS) return rv;
    return order_from_resp(p, json, url, resp, order, prob);
}

/* ---- authorizations and challenges ---- */

static const char *const AUTHZ_STATES[] = {
    "pending", "valid", "invalid", "deactivated", "expired", "revoked", NULL
};
static const char *const CHALLENGE_STATES[] = {
    "pending", "processing", "valid", "invalid", NULL
};
static const char *const KNOWN_TYPES[] = { "http-01", "tls-alpn-01", "dns-01", "tkauth-01",
                                            NULL };
/* The challenges whose token names a file or a record (RFC 8555 §8). */
static const char *const TOKEN_TYPES[] = { "http-01", "tls-alpn-01", "dns-01", NULL };
#define TKAUTH_FIELD_MAX 2048

static int field_ok(const char *s)
{
    if (!s) return 1;
    if (strlen(s) > TKAUTH_FIELD_MAX) return 0;
    for (; *s; ++s) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f) return 0;
    }
    return 1;
}

static apr_status_t challenge_parse(apr_pool_t *p, const json_t *obj, acme_challenge_t **out)
{
    acme_challenge_t *c = apr_pcalloc(p, sizeof(*c));
    json_t *err = NULL;
    const char *tok = NULL;

    if (acme_json_get_str(obj, "type", &c->type) != APR_SUCCESS
        || acme_json_get_str(obj, "url", &c->url) != APR_SUCCESS
        || acme_json_get_str(obj, "status", &c->status) != APR_SUCCESS
        || !str_in(c->status, CHALLENGE_STATES)
        || acme_json_opt_str(obj, "token", &tok) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    /* The token ends up in file names and URLs: only base64url, bounded. */
    if (str_in(c->type, TOKEN_TYPES)
        && (!tok || !acme_b64u_is_token(tok) || strlen(tok) > 256)) {
        return APR_EINVAL;
    }
    /* tkauth-01 (RFC 9447 §3): the token type and the Token Authority hint,
     * passed on to a token command; bounded, no control characters. */
    if (!strcmp(c->type, "tkauth-01")
        && (acme_json_opt_str(obj, "tkauth-type", &c->tkauth_type) != APR_SUCCESS
            || acme_json_opt_str(obj, "token-authority", &c->token_authority) != APR_SUCCESS
            || !field_ok(c->tkauth_type) || !field_ok(c->token_authority))) {
        return APR_EINVAL;
    }
    c->tkauth_type = c->tkauth_type ? apr_pstrdup(p, c->tkauth_type) : NULL;
    c->token_authority = c->token_authority ? apr_pstrdup(p, c->token_authority) : NULL;
    c->type = apr_pstrdup(p, c->type);
    c->url = apr_pstrdup(p, c->url);
    c->status = apr_pstrdup(p, c->status);
    c->token = (tok && acme_b64u_is_token(tok)) ? apr_pstrdup(p, tok) : NULL;
    switch (acme_json_get_obj(obj, "error", &err)) {
    case APR_SUCCESS: c->error = embedded_problem(p, err); break;
    case APR_NOTFOUND: break;
    default: return APR_EINVAL;
    }
    *out = c;
    return APR_SUCCESS;
}

apr_status_t acme_authz_parse(apr_pool_t *p, const json_t *obj, const char *url,
                              acme_authz_t **authz)
{
    acme_authz_t *a = apr_pcalloc(p, sizeof(*a));
    json_t *id = NULL, *chs = NULL;
    size_t i;
    apr_status_t rv;

    if (acme_json_get_str(obj, "status", &a->status) != APR_SUCCESS
        || !str_in(a->status, AUTHZ_STATES)
        || acme_json_get_obj(obj, "identifier", &id) != APR_SUCCESS
        || acme_json_get_str(id, "type", &a->id_type) != APR_SUCCESS
        || acme_json_get_str(id, "value", &a->id_value) != APR_SUCCESS
        || acme_json_get_arr(obj, "challenges", &chs) != APR_SUCCESS
        || json_array_size(chs) > MAX_CHALLENGES) {
        return APR_EINVAL;
    }
    if (!strcmp(a->id_type, ACME_TNAUTH_ID_TYPE)) {
        /* RFC 9448 §3: base64url of a DER TNAuthList. */
        acme_tnauth_t *tl = NULL;
        if (acme_tnauth_from_value(p, a->id_value, &tl) != APR_SUCCESS) return APR_EINVAL;
    }
    else if (strcmp(a->id_type, "dns") && strcmp(a->id_type, "ip")) return APR_EINVAL;
    rv = acme_json_get_bool(obj, "wildcard", &a->wildcard);
    if (rv != APR_SUCCESS && rv != APR_NOTFOUND) return APR_EINVAL;
    if (rv == APR_NOTFOUND) a->wildcard = 0;
    a->challenges = apr_array_make(p, (int)json_array_size(chs) + 1, sizeof(acme_challenge_t *));
    for (i = 0; i < json_array_size(chs); ++i) {
        acme_challenge_t *c;
        if (challenge_parse(p, json_array_get(chs, i), &c) != APR_SUCCESS) return APR_EINVAL;
        APR_ARRAY_PUSH(a->challenges, acme_challenge_t *) = c;
    }
    a->status = apr_pstrdup(p, a->status);
    a->id_type = apr_pstrdup(p, a->id_type);
    a->id_value = apr_pstrdup(p, a->id_value);
    a->name = a->wildcard ? apr_pstrcat(p, "*.", a->id_value, NULL) : a->id_value;
    if (!strcmp(a->id_type, ACME_TNAUTH_ID_TYPE)) {
        if (a->wildcard) return APR_EINVAL;
        a->name = acme_tnauth_name(p, a->id_value);
    }
    a->url = url ? apr_pstrdup(p, url) : NULL;
    *authz = a;
    return APR_SUCCESS;
}

/* Both IP literals, the same address. */
static int same_ip(const char *a, const char *b)
{
    unsigned char x[16], y[16];

    if (inet_pton(AF_INET, a, x) == 1) {
        return inet_pton(AF_INET, b, y) == 1 && !memcmp(x, y, 4);
    }
    return inet_pton(AF_INET6, a, x) == 1 && inet_pton(AF_INET6, b, y) == 1 && !memcmp(x, y, 16);
}

/* The ordered "TNAuthList:<value>" name with the same DER list as value, or NULL. */
static const char *ordered_tnauth(const char *value, const apr_array_header_t *names)
{
    apr_pool_t *tmp;
    const char *found = NULL;
    int i;

    if (!value || apr_pool_create(&tmp, NULL) != APR_SUCCESS) return NULL;
    for (i = 0; !found && names && i < names->nelts; ++i) {
        const char *n = APR_ARRAY_IDX(names, i, const char *);
        const char *v = acme_tnauth_name_value(n);
        acme_tnauth_t *tl = NULL;
        if (v && acme_tnauth_value_eq(tmp, v, value)
            && acme_tnauth_from_value(tmp, value, &tl) == APR_SUCCESS) {
            found = n;
        }
    }
    apr_pool_destroy(tmp);
    return found;
}

const char *acme_authz_ordered_name(const acme_authz_t *a, const apr_array_header_t *names)
{
    int ip = a->id_type && !strcmp(a->id_type, "ip");
    const char *v = a->id_value;
    int i;

    if (a->id_type && !strcmp(a->id_type, ACME_TNAUTH_ID_TYPE)) {
        return a->wildcard ? NULL : ordered_tnauth(v, names);
    }

    if (!v || !acme_identifier_valid(v) || acme_is_ip(v) != ip || !strncmp(v, "*.", 2)
        || (ip && a->wildcard)) {
        return NULL;
    }
    for (i = 0; names && i < names->nelts; ++i) {
        const char *n = APR_ARRAY_IDX(names, i, const char *);
        int wild = !strncmp(n, "*.", 2);

        if (ip ? same_ip(n, v)
               : (!acme_is_ip(n) && wild == a->wildcard && !strcasecmp(wild ? n + 2 : n, v))) {
            return n;
        }
    }
    return NULL;
}

apr_status_t acme_authz_get(const acme_order_ctx_t *ctx, apr_pool_t *p, const char *url,
                            acme_authz_t **authz, acme_problem_t **prob)
{
    acme_http_response_t *resp = NULL;
    json_t *json = NULL;
    apr_status_t rv = post_json(ctx, p, url, NULL, &resp, &json, prob);
    if (rv != APR_SUCCESS) return rv;
    if (acme_authz_parse(p, json, url, authz) != APR_SUCCESS) {
        return local_problem(p, prob, MALFORMED, APR_EINVAL,
                             "malformed authorization object from %s", url);
    }
    (*authz)->retry_after = resp_retry_after(resp);
    return APR_SUCCESS;
}

static const acme_challenge_t *find_challenge(const acme_authz_t *a, const char *type)
{
    int i;
    for (i = 0; i < a->challenges->nelts; ++i) {
        const acme_challenge_t *c = APR_ARRAY_IDX(a->challenges, i, acme_challenge_t *);
        if (!strcmp(c->type, type) && (c->token || !str_in(type, TOKEN_TYPES))
            && strcmp(c->status, "invalid")) {
            return c;
        }
    }
    return NULL;
}

static const acme_challenge_t *pick_type(const acme_authz_t *a, const char *type,
                                         acme_responder_t *r)
{
    if (!str_in(type, KNOWN_TYPES)) return NULL;
    /* A TNAuthList is proven by an Authority Token only (RFC 9448 §4). */
    if (!strcmp(a->id_type, ACME_TNAUTH_ID_TYPE) != !strcmp(type, "tkauth-01")) return NULL;
    if (a->wildcard && strcmp(type, "dns-01")) return NULL;
    if (!strcmp(a->id_type, "ip") && !strcmp(type, "dns-01")) return NULL;
    if (r && !r->can(r, type, a->name)) return NULL;
    return find_challenge(a, type);
}

const acme_challenge_t *acme_authz_pick(const acme_authz_t *authz,
                                        const apr_array_header_t *allowed,
                                        acme_responder_t *responder)
{
    const acme_challenge_t *c;
    int i;
    if (!allowed || allowed->nelts == 0) {
        for (i = 0; KNOWN_TYPES[i]; ++i) {
            if ((c = pick_type(authz, KNOWN_TYPES[i], responder))) return c;
        }
        return NULL;
    }
    for (i = 0; i < allowed->nelts; ++i) {
        if ((c = pick_type(authz, APR_ARRAY_IDX(allowed, i, const char *), responder))) return c;
    }
    return NULL;
}

apr_status_t acme_challenge_respond(const acme_order_ctx_t *ctx, apr_pool_t *p,
                                    const acme_challenge_t *ch, acme_problem_t **prob)
{
    return acme_challenge_answer(ctx, p, ch, "{}", prob);
}

apr_status_t acme_challenge_answer(const acme_order_ctx_t *ctx, apr_pool_t *p,
                                   const acme_challenge_t *ch, const char *payload,
                                   acme_problem_t **prob)
{
    acme_http_response_t *resp = NULL;
    json_t *json = NULL;
    return post_json(ctx, p, ch->url, payload, &resp, &json, prob);
}

/* The error of the failed challenge, or a generic one naming the authz. */
static acme_problem_t *authz_problem(apr_pool_t *p, const acme_authz_t *a)
{
    acme_problem_t *pr;
    int i;
    for (i = 0; i < a->challenges->nelts; ++i) {
        const acme_challenge_t *c = APR_ARRAY_IDX(a->challenges, i, acme_challenge_t *);
        if (c->error) {
            pr = apr_pmemdup(p, c->error, sizeof(*pr));
            if (!pr->identifier) pr->identifier = a->name;
            return pr;
        }
    }
    pr = apr_pcalloc(p, sizeof(*pr));
    pr->type = "urn:ietf:params:acme:error:unauthorized";
    pr->detail = apr_psprintf(p, "authorization for %s is %s", a->name, a->status);
    pr->identifier = a->name;
    return pr;
}

/* A failed poll that is worth repeating: a rejected nonce, a CA hiccup, the network. */
static int transient(const acme_problem_t *pr)
{
    if (!pr) return 0;
    if (acme_problem_is(pr, "badNonce") || pr->status >= 500) return 1;
    return pr->type && !strcmp(pr->type, "urn:mod_acme:transport");
}

#define POLL_MAX_TRANSIENT 5
/* Validation attempts asked for again (RFC 8555 §8.2) before giving up. */
#define CHALLENGE_MAX_RETRIES 3

/* The challenge at url in authz a, or NULL. */
static const acme_challenge_t *challenge_at(const acme_authz_t *a, const char *url)
{
    int i;

    for (i = 0; url && i < a->challenges->nelts; ++i) {
        const acme_challenge_t *c = APR_ARRAY_IDX(a->challenges, i, acme_challenge_t *);
        if (c->url && !strcmp(c->url, url)) return c;
    }
    return NULL;
}

/* A CA may try a validation, fail, and leave the challenge "pending" with
 * the error (step-ca does for a refused connection or an HTTP error): it
 * then waits for the client to ask again (RFC 8555 §8.2) and polling alone
 * would wait for nothing. Asks again a few times, then fails with the CA's
 * error. APR_SUCCESS: keep polling. */
static apr_status_t retry_challenge(const acme_order_ctx_t *ctx, apr_pool_t *p,
                                    const acme_authz_t *a, const char *answered, int *retries,
                                    acme_problem_t **prob)
{
    const acme_challenge_t *c = challenge_at(a, answered);
    apr_status_t rv;

    if (!c || !c->error || strcmp(c->status, "pending")) return APR_SUCCESS;
    if (++*retries > CHALLENGE_MAX_RETRIES) {
        if (prob) *prob = authz_problem(p, a);
        return APR_EGENERAL;
    }
    acme_log(ctx->log, ACME_LOG_INFO, 0, "%s: the CA's %s validation failed and is left "
             "pending (%s); asking it to try again (%d of %d)", a->name, c->type,
             c->error->detail ? c->error->detail : c->error->type ? c->error->type : "no detail",
             *retries, CHALLENGE_MAX_RETRIES);
    if ((rv = acme_challenge_respond(ctx, p, c, prob)) != APR_SUCCESS && !transient(*prob)) {
        return rv;
    }
    return APR_SUCCESS;
}

apr_status_t acme_authz_poll(const acme_order_ctx_t *ctx, apr_pool_t *p, const char *url,
                             const char *answered, acme_authz_t **authz, acme_problem_t **prob)
{
    apr_time_t deadline = apr_time_now() + ctx_timeout(ctx);
    apr_interval_time_t cur = POLL_FIRST_DELAY;
    acme_authz_t *a = NULL;
    apr_status_t rv;
    int errors = 0, retries = 0;

    *authz = NULL;
    for (;;) {
        if ((rv = acme_authz_get(ctx, p, url, &a, prob)) != APR_SUCCESS) {
            if (!transient(*prob) || ++errors >= POLL_MAX_TRANSIENT
                || apr_time_now() >= deadline) {
                return rv;
            }
            if ((rv = nap(ctx, next_delay(&cur, (*prob)->retry_after))) != APR_SUCCESS) return rv;
            continue;
        }
        errors = 0;
        *authz = a;
        if (!strcmp((*authz)->status, "valid")) return APR_SUCCESS;
        if (strcmp((*authz)->status, "pending")) {
            if (prob) *prob = authz_problem(p, *authz);
            return APR_EGENERAL;
        }
        if (apr_time_now() >= deadline) {
            return local_problem(p, prob, "urn:mod_acme:timeout", APR_TIMEUP,
                                 "authorization for %s still pending after %" APR_TIME_T_FMT " s",
                                 (*authz)->name, apr_time_sec(ctx_timeout(ctx)));
        }
        if ((rv = retry_challenge(ctx, p, a, answered, &retries, prob)) != APR_SUCCESS) return rv;
        if ((rv = nap(ctx, next_delay(&cur, (*authz)->retry_after))) != APR_SUCCESS) return rv;
    }
}

apr_status_t acme_order_poll(const acme_order_ctx_t *ctx, apr_pool_t *p,
                             acme_order_t **order, acme_problem_t **prob)
{
    apr_time_t deadline = apr_time_now() + ctx_timeout(ctx);
    apr_interval_time_t cur = POLL_FIRST_DELAY;
    const char *url = (*order)->url;
    acme_order_t *o = NULL;
    apr_status_t rv;
    int errors = 0;
    /* A pending order was read before its authorizations were answered:
     * look again at once, it is normally ready by now. */
    int stale = !strcmp((*order)->status, "pending");

    for (;;) {
        const char *st = (*order)->status;
        if (!strcmp(st, "invalid")) {
            if (prob) {
                *prob = (*order)->error ? (*order)->error : NULL;
                if (!*prob) local_problem(p, prob, "urn:ietf:params:acme:error:orderNotReady",
                                          0, "order %s is invalid", url);
            }
            return APR_EGENERAL;
        }
        if (strcmp(st, "pending") && strcmp(st, "processing")) return APR_SUCCESS;
        if (apr_time_now() >= deadline) {
            return local_problem(p, prob, "urn:mod_acme:timeout", APR_TIMEUP,
                                 "order %s still %s after %" APR_TIME_T_FMT " s", url, st,
                                 apr_time_sec(ctx_timeout(ctx)));
        }
        if (!stale && (rv = nap(ctx, next_delay(&cur, (*order)->retry_after))) != APR_SUCCESS) {
            return rv;
        }
        stale = 0;
        while ((rv = acme_order_get(ctx, p, url, &o, prob)) != APR_SUCCESS) {
            if (!transient(*prob) || ++errors >= POLL_MAX_TRANSIENT
                || apr_time_now() >= deadline) {
                return rv;
            }
            if ((rv = nap(ctx, next_delay(&cur, (*prob)->retry_after))) != APR_SUCCESS) return rv;
        }
        errors = 0;
        *order = o;
    }
}

apr_status_t acme_order_finalize(const acme_order_ctx_t *ctx, apr_pool_t *p,
                                 acme_order_t **order, const unsigned char *csr,
                                 apr_size_t csrlen, acme_problem_t **prob)
{
    acme_http_response_t *resp = NULL;
    json_t *json = NULL;
    const char *url = (*order)->url;
    char *payload = apr_psprintf(p, "{\"csr\":\"%s\"}", acme_b64u_encode(p, csr, csrlen));
    apr_status_t rv = post_json(ctx, p, (*order)->finalize_url, payload, &resp, &json, prob);
    if (rv != APR_SUCCESS) return rv;
    return order_from_resp(p, json, url, resp, order, prob);
}

/* ---- certificates ---- */

static apr_status_t fetch_chain(const acme_order_ctx_t *ctx, apr_pool_t *p, const char *url,
                                acme_http_response_t **resp, apr_array_header_t **certs,
                                acme_problem_t **prob)
{
    apr_status_t rv;
    if (!ctx->acct) {
        return local_problem(p, prob, "urn:mod_acme:noAccount", APR_EINVAL, "no account");
    }
    rv = acme_ca_post(ctx->ca, p, url, ctx->acct->key, ctx->acct->url, NULL, resp, prob);
    if (rv != APR_SUCCESS) return rv;
    if (!(*resp)->content_type
        || strcmp((*resp)->content_type, "application/pem-certificate-chain")) {
        return local_problem(p, prob, MALFORMED, APR_EINVAL,
                             "certificate at %s has content type %s, not "
                             "application/pem-certificate-chain", url,
                             (*resp)->content_type ? (*resp)->content_type : "(none)");
    }
    if (acme_certs_from_pem(p, (*resp)->body, (*resp)->body_len, certs) != APR_SUCCESS) {
        return local_problem(p, prob, MALFORMED, APR_EINVAL,
                             "certificate chain at %s does not parse", url);
    }
    return APR_SUCCESS;
}

/* The issuer CN of the last certificate of the chain (the "top" issuer). */
static int top_issuer_is(apr_pool_t *p, const apr_array_header_t *certs, const char *cn)
{
    acme_cert_info_t *info = NULL;
    const acme_cert_t *top;
    if (certs->nelts == 0) return 0;
    top = APR_ARRAY_IDX(certs, certs->nelts - 1, acme_cert_t *);
    if (acme_cert_info(p, top, &info) != APR_SUCCESS || !info->issuer_cn) return 0;
    return !strcmp(info->issuer_cn, cn);
}

apr_status_t acme_cert_download(const acme_order_ctx_t *ctx, apr_pool_t *p, const char *url,
                                const char *preferred_issuer, char **pem, apr_size_t *len,
                                acme_problem_t **prob)
{
    acme_http_response_t *resp = NULL, *alt_resp = NULL;
    apr_array_header_t *certs = NULL, *alts, *alt_certs = NULL;
    apr_status_t rv;
    int i;

    if ((rv = fetch_chain(ctx, p, url, &resp, &certs, prob)) != APR_SUCCESS) return rv;
    *pem = resp->body;
    *len = resp->body_len;
    if (!preferred_issuer || top_issuer_is(p, certs, preferred_issuer)) return APR_SUCCESS;

    alts = acme_http_links(p, resp, "alternate");
    for (i = 0; alts && i < alts->nelts && i < MAX_ALTERNATES; ++i) {
        const char *alt = APR_ARRAY_IDX(alts, i, const char *);
        acme_problem_t *aprob = NULL;
        if (fetch_chain(ctx, p, alt, &alt_resp, &alt_certs, &aprob) != APR_SUCCESS) {
            acme_log(ctx->log, ACME_LOG_WARN, 0, "alternate chain %s: %s", alt,
                     acme_problem_str(p, aprob));
            continue;
        }
        if (top_issuer_is(p, alt_certs, preferred_issuer)) {
            *pem = alt_resp->body;
            *len = alt_resp->body_len;
            return APR_SUCCESS;
        }
    }
    acme_log(ctx->log, ACME_LOG_INFO, 0,
             "no chain of %s has the preferred issuer \"%s\"; using the default chain",
             url, preferred_issuer);
    return APR_SUCCESS;
}

apr_status_t acme_cert_revoke(acme_ca_t *ca, apr_pool_t *p, const acme_cert_t *cert,
                              int reason, const acme_account_t *acct,
                              const acme_key_t *cert_key, acme_problem_t **prob)
{
    acme_http_response_t *resp = NULL;
    unsigned char *der = NULL;
    const char *url, *payload;
    json_t *dir = NULL;
    apr_status_t rv;
    int dlen;

    if (!acct && !cert_key) {
        return local_problem(p, prob, "urn:mod_acme:noAccount", APR_EINVAL,
                             "revocation needs the account or the certificate key");
    }
    if ((rv = acme_ca_directory(ca, p, &dir, prob)) != APR_SUCCESS) return rv;
    if (!(url = acme_ca_endpoint(ca, "revokeCert"))) {
        return local_problem(p, prob, MALFORMED, APR_ENOTIMPL, "directory of %s has no revokeCert",
                             acme_ca_url(ca));
    }
    dlen = i2d_X509(acme_cert_x509(cert), &der);
    if (dlen <= 0) return APR_EINVAL;
    payload = acme_b64u_encode(p, der, (apr_size_t)dlen);
    OPENSSL_free(der);
    payload = reason >= 0
        ? apr_psprintf(p, "{\"certificate\":\"%s\",\"reason\":%d}", payload, reason)
        : apr_psprintf(p, "{\"certificate\":\"%s\"}", payload);
    if (acct) return acme_ca_post(ca, p, url, acct->key, acct->url, payload, &resp, prob);
    return acme_ca_post(ca, p, url, cert_key, NULL, payload, &resp, prob);
}

/* ---- ARI ---- */

apr_status_t acme_ari_parse(apr_pool_t *p, const json_t *obj, acme_ari_t **ari)
{
    acme_ari_t *a = apr_pcalloc(p, sizeof(*a));
    json_t *win = NULL;
    const char *s = NULL, *e = NULL, *x = NULL;

    if (acme_json_get_obj(obj, "suggestedWindow", &win) != APR_SUCCESS
        || acme_json_get_str(win, "start", &s) != APR_SUCCESS
        || acme_json_get_str(win, "end", &e) != APR_SUCCESS
        || acme_time_parse_rfc3339(s, &a->start) != APR_SUCCESS
        || acme_time_parse_rfc3339(e, &a->end) != APR_SUCCESS
        || a->end < a->start
        || acme_json_opt_str(obj, "explanationURL", &x) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    a->explanation_url = x ? apr_pstrdup(p, x) : NULL;
    a->retry_after = ACME_ARI_DEFAULT_RETRY;
    *ari = a;
    return APR_SUCCESS;
}

/* "b64u.b64u", bounded: it becomes part of a URL path. */
static int ari_id_ok(apr_pool_t *p, const char *id)
{
    const char *dot = strchr(id, '.');
    if (!dot || strlen(id) > 512) return 0;
    return acme_b64u_is_token(apr_pstrndup(p, id, (apr_size_t)(dot - id)))
        && acme_b64u_is_token(dot + 1);
}

apr_status_t acme_ari_fetch(acme_ca_t *ca, apr_pool_t *p, const char *cert_id,
                            acme_ari_t **ari, acme_problem_t **prob)
{
    acme_http_response_t *resp = NULL;
    json_t *dir = NULL, *json = NULL;
    const char *base, *url;
    apr_interval_time_t ra;
    apr_status_t rv;

    if ((rv = acme_ca_directory(ca, p, &dir, prob)) != APR_SUCCESS) return rv;
    if (!(base = acme_ca_endpoint(ca, "renewalInfo"))) return APR_ENOTIMPL;
    if (!cert_id || !ari_id_ok(p, cert_id)) {
        return local_problem(p, prob, "urn:mod_acme:badCertId", APR_EINVAL,
                             "not an ARI certificate id: %s", cert_id ? cert_id : "(null)");
    }
    url = (*base && base[strlen(base) - 1] == '/') ? apr_pstrcat(p, base, cert_id, NULL)
                                                  : apr_pstrcat(p, base, "/", cert_id, NULL);
    if ((rv = acme_ca_get_json(ca, p, url, &resp, &json, prob)) != APR_SUCCESS) return rv;
    if (acme_ari_parse(p, json, ari) != APR_SUCCESS) {
        return local_problem(p, prob, MALFORMED, APR_EINVAL, "malformed renewalInfo from %s", url);
    }
    /* Honour Retry-After, but ask at most about hourly (RFC 9773 §4.3 clamping). */
    if ((ra = resp_retry_after(resp)) > 0) {
        (*ari)->retry_after = ra < ACME_ARI_MIN_RETRY ? ACME_ARI_MIN_RETRY : ra;
    }
    return APR_SUCCESS;
}
