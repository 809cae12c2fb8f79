/* acme_http.c: the core's HTTP client on libcurl, with a locked share handle so threads reuse connections, DNS and TLS sessions. */
#include <string.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <apr_lib.h>
#include <apr_cstr.h>
#include <curl/curl.h>
#include "acme_http.h"
#include "acme_version.h"

/* Limits on what a server may send besides the body. */
#define ACME_HTTP_MAX_HEADER_BYTES (64 * 1024)
#define ACME_HTTP_MAX_HEADERS 100
#define ACME_HTTP_DEFAULT_MAX_BODY (1024 * 1024)
/* Idle connections kept in the shared cache; curl_easy_perform would
 * otherwise cap it at 4 and close connections under concurrency. */
#define ACME_HTTP_MAX_CONNECTS 32L

struct acme_http_t {
    apr_pool_t *pool;
    CURLSH *share;
    /* One mutex per curl_lock_data kind, indexed by the enum value. */
    apr_thread_mutex_t *locks[CURL_LOCK_DATA_LAST];
    acme_http_opts_t opts;
    acme_logger_t log;
};

/* Per-request state filled by curl's callbacks. */
typedef struct http_req_t {
    apr_pool_t *p;
    apr_size_t max_body;
    char *body;
    apr_size_t len, cap;
    int body_over;
    apr_table_t *headers;
    apr_size_t header_bytes;
    int header_count;
    const char *header_err;
    volatile int *cancel;       /* the client's flag, or NULL */
    int sends_body;             /* POST: the CA may act on it once it has the body */
} http_req_t;

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *baton)
{
    acme_http_t *http = baton;

    (void)h; (void)access;
    if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST && http->locks[data]) {
        apr_thread_mutex_lock(http->locks[data]);
    }
}

static void share_unlock(CURL *h, curl_lock_data data, void *baton)
{
    acme_http_t *http = baton;

    (void)h;
    if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST && http->locks[data]) {
        apr_thread_mutex_unlock(http->locks[data]);
    }
}

static apr_status_t http_cleanup(void *baton)
{
    acme_http_t *http = baton;

    if (http->share) {
        curl_share_cleanup(http->share);
        http->share = NULL;
    }
    /* Balances the curl_global_init of acme_http_create (refcounted). */
    curl_global_cleanup();
    return APR_SUCCESS;
}

static apr_status_t create_locks(acme_http_t *http)
{
    apr_status_t rv;
    int i;

    for (i = 0; i < CURL_LOCK_DATA_LAST; ++i) {
        rv = apr_thread_mutex_create(&http->locks[i], APR_THREAD_MUTEX_DEFAULT, http->pool);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

static apr_status_t create_share(acme_http_t *http)
{
    CURLSH *sh = curl_share_init();

    if (!sh) {
        return APR_ENOMEM;
    }
    http->share = sh;
    if (curl_share_setopt(sh, CURLSHOPT_LOCKFUNC, share_lock) != CURLSHE_OK
        || curl_share_setopt(sh, CURLSHOPT_UNLOCKFUNC, share_unlock) != CURLSHE_OK
        || curl_share_setopt(sh, CURLSHOPT_USERDATA, http) != CURLSHE_OK
        || curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK
        || curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK
        || curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) != CURLSHE_OK) {
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

static void copy_opts(acme_http_t *http, const acme_http_opts_t *opts)
{
    if (opts) {
        http->opts.ca_file = opts->ca_file ? apr_pstrdup(http->pool, opts->ca_file) : NULL;
        http->opts.proxy = opts->proxy ? apr_pstrdup(http->pool, opts->proxy) : NULL;
        http->opts.connect_timeout = opts->connect_timeout;
        http->opts.timeout = opts->timeout;
        http->opts.max_body = opts->max_body;
        http->opts.user_agent = opts->user_agent ? apr_pstrdup(http->pool, opts->user_agent) : NULL;
        http->opts.cancel = opts->cancel;
    }
    if (http->opts.connect_timeout <= 0) {
        http->opts.connect_timeout = apr_time_from_sec(10);
    }
    if (http->opts.timeout <= 0) {
        http->opts.timeout = apr_time_from_sec(30);
    }
    if (http->opts.max_body == 0) {
        http->opts.max_body = ACME_HTTP_DEFAULT_MAX_BODY;
    }
    if (!http->opts.user_agent || !*http->opts.user_agent) {
        http->opts.user_agent = ACME_USER_AGENT;
    }
}

/* curl_global_init is refcounted and thread-safe since curl 7.84 (Debian 12
 * has 7.88): each acme_http_t takes one reference and releases it in its pool
 * cleanup, so no process-wide init step is needed from the core's users.
 * httpd/apr_initialize() run before any acme_http_create. */
apr_status_t acme_http_create(apr_pool_t *p, const acme_http_opts_t *opts,
                              const acme_logger_t *log, acme_http_t **phttp)
{
    acme_http_t *http;
    apr_status_t rv;

    *phttp = NULL;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        return APR_EGENERAL;
    }
    http = apr_pcalloc(p, sizeof(*http));
    http->pool = p;
    if (log) {
        http->log = *log;
    }
    copy_opts(http, opts);
    rv = create_locks(http);
    if (rv != APR_SUCCESS) {
        curl_global_cleanup();
        return rv;
    }
    /* Registered after the mutexes, so it runs before they are destroyed. */
    apr_pool_cleanup_register(p, http, http_cleanup, apr_pool_cleanup_null);
    rv = create_share(http);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *phttp = http;
    return APR_SUCCESS;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *baton)
{
    http_req_t *req = baton;
    apr_size_t n = size * nmemb;
    char *nbody;

    if (n > req->max_body || req->len > req->max_body - n) {
        req->body_over = 1;
        return 0;   /* makes curl fail with CURLE_WRITE_ERROR */
    }
    if (req->len + n + 1 > req->cap) {
        apr_size_t cap = req->cap ? req->cap : 4096;
        while (cap < req->len + n + 1) {
            cap *= 2;
        }
        nbody = apr_palloc(req->p, cap);
        if (req->len) {
            memcpy(nbody, req->body, req->len);
        }
        req->body = nbody;
        req->cap = cap;
    }
    memcpy(req->body + req->len, data, n);
    req->len += n;
    req->body[req->len] = '\0';
    return n;
}

static int is_token_char(char c)
{
    return apr_isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* One header line as curl hands it over (with CRLF). */
static const char *parse_header_line(http_req_t *req, const char *line, apr_size_t n)
{
    const char *colon, *v, *end = line + n;
    const char *name;

    while (end > line && (end[-1] == '\r' || end[-1] == '\n')) {
        --end;
    }
    if (end == line) {
        return NULL;    /* blank line after the headers */
    }
    if (n >= 5 && !strncmp(line, "HTTP/", 5)) {
        /* A new status line (after 1xx or a proxy CONNECT): start over. */
        apr_table_clear(req->headers);
        req->header_count = 0;
        return NULL;
    }
    colon = memchr(line, ':', (apr_size_t)(end - line));
    if (!colon || colon == line) {
        return "malformed response header";
    }
    for (v = line; v < colon; ++v) {
        if (!is_token_char(*v)) {
            return "malformed response header name";
        }
    }
    name = apr_pstrmemdup(req->p, line, (apr_size_t)(colon - line));
    for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); ++v)
        ;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t')) {
        --end;
    }
    if (++req->header_count > ACME_HTTP_MAX_HEADERS) {
        return "too many response headers";
    }
    apr_table_addn(req->headers, name, apr_pstrmemdup(req->p, v, (apr_size_t)(end - v)));
    return NULL;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *baton)
{
    http_req_t *req = baton;
    apr_size_t n = size * nmemb;

    req->header_bytes += n;
    if (req->header_bytes > ACME_HTTP_MAX_HEADER_BYTES) {
        req->header_err = "response headers exceed the size limit";
        return 0;
    }
    req->header_err = parse_header_line(req, data, n);
    return req->header_err ? 0 : n;
}

static apr_status_t easy_cleanup(void *baton)
{
    curl_easy_cleanup(baton);
    return APR_SUCCESS;
}

static apr_status_t slist_cleanup(void *baton)
{
    curl_slist_free_all(baton);
    return APR_SUCCESS;
}

static long to_ms(apr_interval_time_t t)
{
    apr_int64_t ms = apr_time_as_msec(t);

    return ms < 1 ? 1 : (ms > 86400000 ? 86400000 : (long)ms);
}

/* curl calls this often while a transfer runs, connecting included:
 * non-zero aborts it (httpd is stopping). A POST whose body the CA has whole
 * may have been acted on (an order placed): its answer is awaited, not
 * dropped; reads and POSTs not yet sent end at once. */
static int on_progress(void *baton, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    const http_req_t *req = baton;

    (void)dltotal; (void)dlnow;
    if (!*req->cancel) return 0;
    return req->sends_body && ultotal > 0 && ulnow >= ultotal ? 0 : 1;
}

/* Options shared by every request of this client. */
static int set_common(acme_http_t *http, CURL *c, http_req_t *req, char *errbuf)
{
    int bad = 0;

    bad |= curl_easy_setopt(c, CURLOPT_SHARE, http->share) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_MAXCONNECTS, ACME_HTTP_MAX_CONNECTS) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, to_ms(http->opts.connect_timeout)) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, to_ms(http->opts.timeout)) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)http->opts.max_body) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_USERAGENT, http->opts.user_agent) != CURLE_OK;
    /* "" disables proxies entirely, including http_proxy & co. from the env. */
    bad |= curl_easy_setopt(c, CURLOPT_PROXY, http->opts.proxy ? http->opts.proxy : "") != CURLE_OK;
    if (http->opts.ca_file) {
        bad |= curl_easy_setopt(c, CURLOPT_CAINFO, http->opts.ca_file) != CURLE_OK;
    }
    bad |= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_WRITEDATA, req) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_HEADERDATA, req) != CURLE_OK;
    if (req->cancel) {
        bad |= curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress) != CURLE_OK;
        bad |= curl_easy_setopt(c, CURLOPT_XFERINFODATA, req) != CURLE_OK;
        bad |= curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L) != CURLE_OK;
    }
    return bad;
}

static int set_method(CURL *c, apr_pool_t *p, const char *method, const char *content_type,
                      const char *body, apr_size_t body_len)
{
    struct curl_slist *hdrs = NULL;
    int bad = 0;

    if (!strcmp(method, "GET")) {
        return curl_easy_setopt(c, CURLOPT_HTTPGET, 1L) != CURLE_OK;
    }
    if (!strcmp(method, "HEAD")) {
        return curl_easy_setopt(c, CURLOPT_NOBODY, 1L) != CURLE_OK;
    }
    bad |= curl_easy_setopt(c, CURLOPT_POST, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? body_len : 0)) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "") != CURLE_OK;
    /* No "Expect: 100-continue" round trip. */
    hdrs = curl_slist_append(hdrs, "Expect:");
    if (hdrs && content_type) {
        struct curl_slist *h = curl_slist_append(hdrs, apr_pstrcat(p, "Content-Type: ", content_type, NULL));
        if (!h) {
            curl_slist_free_all(hdrs);
            return 1;
        }
        hdrs = h;
    }
    if (!hdrs) {
        return 1;
    }
    apr_pool_cleanup_register(p, hdrs, slist_cleanup, apr_pool_cleanup_null);
    bad |= curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK;
    return bad;
}

/* "application/JSON; charset=utf-8" -> "application/json". */
static const char *media_type(apr_pool_t *p, const char *v)
{
    const char *end;
    char *mt, *s;

    if (!v) {
        return NULL;
    }
    end = v + strcspn(v, ";");
    while (end > v && (end[-1] == ' ' || end[-1] == '\t')) {
        --end;
    }
    if (end == v) {
        return NULL;
    }
    mt = apr_pstrmemdup(p, v, (apr_size_t)(end - v));
    for (s = mt; *s; ++s) {
        *s = (char)apr_tolower(*s);
    }
    return mt;
}

static const char *failure_cause(apr_pool_t *p, const http_req_t *req, CURLcode cc,
                                 const char *errbuf, const acme_http_opts_t *opts)
{
    if (req->body_over || cc == CURLE_FILESIZE_EXCEEDED) {
        return apr_psprintf(p, "response body exceeds the limit of %" APR_SIZE_T_FMT " bytes",
                            opts->max_body);
    }
    if (req->header_err) {
        return req->header_err;
    }
    if (cc == CURLE_OPERATION_TIMEDOUT) {
        return apr_psprintf(p, "timed out (%s)", errbuf[0] ? errbuf : curl_easy_strerror(cc));
    }
    if (cc == CURLE_ABORTED_BY_CALLBACK) {
        return "cancelled: the server is stopping";
    }
    return errbuf[0] ? apr_pstrdup(p, errbuf) : curl_easy_strerror(cc);
}

static apr_status_t curl_to_apr(const http_req_t *req, CURLcode cc)
{
    if (req->body_over || cc == CURLE_FILESIZE_EXCEEDED) {
        return APR_ENOSPC;
    }
    if (req->header_err) {
        return APR_EINVAL;
    }
    switch (cc) {
    case CURLE_OPERATION_TIMEDOUT:
        return APR_TIMEUP;
    case CURLE_ABORTED_BY_CALLBACK:
        return APR_EINTR;
    case CURLE_COULDNT_CONNECT:
        return APR_ECONNREFUSED;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return APR_EHOSTUNREACH;
    case CURLE_OUT_OF_MEMORY:
        return APR_ENOMEM;
    default:
        return APR_EGENERAL;
    }
}

static int method_ok(const char *method)
{
    return method && (!strcmp(method, "GET") || !strcmp(method, "HEAD") || !strcmp(method, "POST"));
}

static acme_http_response_t *make_response(apr_pool_t *p, CURL *c, http_req_t *req)
{
    acme_http_response_t *resp = apr_pcalloc(p, sizeof(*resp));
    long code = 0;

    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    resp->status = (int)code;
    resp->headers = req->headers;
    resp->body = req->body ? req->body : apr_pstrdup(p, "");
    resp->body_len = req->len;
    resp->content_type = media_type(p, apr_table_get(req->headers, "Content-Type"));
    return resp;
}

apr_status_t acme_http_request(acme_http_t *http, apr_pool_t *p, const char *method,
                               const char *url, const char *content_type,
                               const char *body, apr_size_t body_len,
                               acme_http_response_t **resp, const char **err)
{
    char errbuf[CURL_ERROR_SIZE];
    http_req_t *req;
    long connects = 0;
    CURL *c;
    CURLcode cc;

    *resp = NULL;
    if (err) {
        *err = NULL;
    }
    if (!method_ok(method) || !url) {
        if (err) {
            *err = apr_psprintf(p, "invalid request %s %s", method ? method : "(null)", url ? url : "(null)");
        }
        return APR_EINVAL;
    }
    c = curl_easy_init();
    if (!c) {
        return APR_ENOMEM;
    }
    apr_pool_cleanup_register(p, c, easy_cleanup, apr_pool_cleanup_null);
    req = apr_pcalloc(p, sizeof(*req));
    req->p = p;
    req->max_body = http->opts.max_body;
    req->headers = apr_table_make(p, 16);
    req->cancel = http->opts.cancel;
    req->sends_body = !strcmp(method, "POST") && body && body_len > 0;
    errbuf[0] = '\0';
    if (set_common(http, c, req, errbuf) || set_method(c, p, method, content_type, body, body_len)
        || curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK) {
        if (err) {
            *err = apr_psprintf(p, "%s %s: cannot set up the request (unsupported URL?)", method, url);
        }
        return APR_EINVAL;
    }
    cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        apr_pool_cleanup_run(p, c, easy_cleanup);
        const char *cause = failure_cause(p, req, cc, errbuf, &http->opts);
        apr_status_t rv = curl_to_apr(req, cc);
        acme_log(&http->log, ACME_LOG_INFO, rv, "%s %s failed: %s", method, url, cause);
        if (err) {
            *err = apr_psprintf(p, "%s %s: %s", method, url, cause);
        }
        return rv;
    }
    *resp = make_response(p, c, req);
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects);
    /* The easy handle holds no pooled connection (the share does): free it now. */
    apr_pool_cleanup_run(p, c, easy_cleanup);
    acme_log(&http->log, ACME_LOG_TRACE, APR_SUCCESS, "%s %s -> %d (%" APR_SIZE_T_FMT " bytes, %s connection)",
             method, url, (*resp)->status, (*resp)->body_len, connects ? "new" : "reused");
    return APR_SUCCESS;
}

struct header_ctx {
    const char *name;
    apr_array_header_t *out;
};

static int collect_header(void *baton, const char *key, const char *value)
{
    struct header_ctx *ctx = baton;

    if (!apr_cstr_casecmp(key, ctx->name)) {
        APR_ARRAY_PUSH(ctx->out, const char *) = value;
    }
    return 1;
}

apr_array_header_t *acme_http_header_values(apr_pool_t *p, const acme_http_response_t *resp,
                                            const char *name)
{
    struct header_ctx ctx;

    ctx.name = name;
    ctx.out = apr_array_make(p, 2, sizeof(const char *));
    if (resp && resp->headers && name) {
        apr_table_do(collect_header, &ctx, resp->headers, NULL);
    }
    return ctx.out;
}

static const char *skip_ws(const char *s)
{
    while (*s == ' ' || *s == '\t') {
        ++s;
    }
    return s;
}

/* A link-param value: quoted-string (with \-escapes) or token. NULL when malformed. */
static const char *param_value(apr_pool_t *p, const char **ps)
{
    const char *s = *ps, *start;
    char *out, *o;

    if (*s == '"') {
        out = o = apr_palloc(p, strlen(s) + 1);
        for (++s; *s && *s != '"'; ++s) {
            if (*s == '\\' && s[1]) {
                ++s;
            }
            *o++ = *s;
        }
        if (*s != '"') {
            return NULL;
        }
        *o = '\0';
        *ps = s + 1;
        return out;
    }
    for (start = s; *s && *s != ';' && *s != ',' && *s != ' ' && *s != '\t'; ++s)
        ;
    *ps = s;
    return apr_pstrmemdup(p, start, (apr_size_t)(s - start));
}

/* rel may hold several space-separated relation types (RFC 8288 §3.3). */
static int rel_matches(apr_pool_t *p, const char *value, const char *rel)
{
    char *copy = apr_pstrdup(p, value), *last = NULL, *tok;

    for (tok = apr_strtok(copy, " \t", &last); tok; tok = apr_strtok(NULL, " \t", &last)) {
        if (!apr_cstr_casecmp(tok, rel)) {
            return 1;
        }
    }
    return 0;
}

/* Parses "; name=value" params after a link target; *matched set when rel fits. */
static const char *parse_params(apr_pool_t *p, const char *s, const char *rel, int *matched)
{
    const char *nstart, *value;
    apr_size_t nlen;

    for (s = skip_ws(s); *s == ';'; s = skip_ws(s)) {
        s = skip_ws(s + 1);
        for (nstart = s; is_token_char(*s); ++s)
            ;
        nlen = (apr_size_t)(s - nstart);
        s = skip_ws(s);
        if (nlen == 0) {
            return NULL;
        }
        if (*s != '=') {
            continue;   /* a parameter without value */
        }
        s = skip_ws(s + 1);
        value = param_value(p, &s);
        if (!value) {
            return NULL;
        }
        if (nlen == 3 && !apr_cstr_casecmpn(nstart, "rel", 3) && rel_matches(p, value, rel)) {
            *matched = 1;
        }
    }
    return s;
}

/* All link-values of one Link header: <target>; params, <target>; params */
static void parse_link_header(apr_pool_t *p, const char *v, const char *rel, apr_array_header_t *out)
{
    const char *s = v, *end;
    int matched;

    while (*s) {
        s = skip_ws(s);
        if (*s == ',') {
            ++s;
            continue;
        }
        if (*s != '<' || !(end = strchr(s, '>'))) {
            return;     /* malformed: ignore the rest of this header */
        }
        matched = 0;
        {
            const char *target = apr_pstrmemdup(p, s + 1, (apr_size_t)(end - s - 1));
            s = parse_params(p, end + 1, rel, &matched);
            if (!s || (*s && *s != ',')) {
                return;
            }
            if (matched && *target) {
                APR_ARRAY_PUSH(out, const char *) = target;
            }
        }
    }
}

apr_array_header_t *acme_http_links(apr_pool_t *p, const acme_http_response_t *resp,
                                    const char *rel)
{
    apr_array_header_t *vals = acme_http_header_values(p, resp, "Link");
    apr_array_header_t *out = apr_array_make(p, 2, sizeof(const char *));
    int i;

    if (!rel) {
        return out;
    }
    for (i = 0; i < vals->nelts; ++i) {
        parse_link_header(p, APR_ARRAY_IDX(vals, i, const char *), rel, out);
    }
    return out;
}
