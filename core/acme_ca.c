/* acme_ca.c: one ACME server: cached directory, bounded nonce pool, JWS-signed POSTs with badNonce retry (its problem documents: acme_ca_problem.c). */
#include <string.h>
#include <strings.h>
#include <apr_strings.h>
#include <apr_lib.h>
#include <apr_uri.h>
#include <apr_allocator.h>
#include <openssl/evp.h>
#include "acme_ca.h"
#include "acme_ca_int.h"
#include "acme_base64.h"
#include "acme_json.h"
#include "acme_jws.h"
#include "acme_time.h"

#define ACME_NONCE_POOL_MAX 16      /* nonces kept per CA */
#define ACME_NONCE_MAX_LEN 256      /* longer Replay-Nonce values are ignored */
/* Attempts of one POST while the CA says badNonce: a CA may reject any
 * share of good nonces (Pebble: 50% in tests), so 20 keeps a whole issuance
 * (~15 POSTs) failing at ~1e-5 even then; each retry costs one round trip. */
#define ACME_BADNONCE_TRIES 20
#define ACME_DIR_MAX_AGE apr_time_from_sec(24 * 3600)

struct acme_ca_t {
    apr_pool_t *pool;               /* own allocator; used under `mutex` only after create */
    const char *url;
    const char *id;
    acme_http_t *http;
    acme_logger_t log;
    apr_thread_mutex_t *mutex;      /* directory, nonces, pool allocations */
    apr_thread_mutex_t *acct_mutex; /* account setup */
    json_t *dir;
    apr_time_t dir_fetched;
    /* Nonce ring: newest taken first (least likely expired); oldest dropped when full. */
    char nonces[ACME_NONCE_POOL_MAX][ACME_NONCE_MAX_LEN + 1];
    int nonce_start, nonce_count;
    const char *acct_verified;
    acme_ca_observer_t obs;         /* request == NULL: nobody watches */
};

/* ---- the CA object ------------------------------------------------------ */

static const char *make_id(apr_pool_t *p, const char *url)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    apr_uri_t uri;
    const char *host = "ca";
    char *id, *s;

    memset(&uri, 0, sizeof(uri));
    if (apr_uri_parse(p, url, &uri) == APR_SUCCESS && uri.hostname && *uri.hostname) {
        host = uri.port_str && *uri.port_str
               ? apr_pstrcat(p, uri.hostname, "_", uri.port_str, NULL) : uri.hostname;
    }
    id = apr_pstrdup(p, host);
    for (s = id; *s; ++s) {
        *s = (char)apr_tolower(*s);
        if (!apr_isalnum(*s) && *s != '.' && *s != '-' && *s != '_') {
            *s = '_';
        }
    }
    if (!EVP_Digest(url, strlen(url), md, &mdlen, EVP_sha256(), NULL) || mdlen < 4) {
        return id;
    }
    return apr_psprintf(p, "%s-%02x%02x%02x%02x", id, md[0], md[1], md[2], md[3]);
}

static int is_http_url(const char *s)
{
    return s && (!strncmp(s, "https://", 8) || !strncmp(s, "http://", 7)) && !strpbrk(s, " \t\r\n");
}

/* The length of "scheme://" of an http(s) URL, 0 for anything else. */
static apr_size_t scheme_len(const char *s)
{
    if (!s || strpbrk(s, " \t\r\n")) {
        return 0;
    }
    if (!strncasecmp(s, "https://", 8)) {
        return 8;
    }
    return strncasecmp(s, "http://", 7) ? 0 : 7;
}

int acme_ca_url_allowed(const acme_ca_t *ca, const char *url)
{
    apr_size_t n = scheme_len(url);

    /* other hosts are fine (CAs use them); another scheme never */
    return n > 0 && n == scheme_len(ca->url) && !strncasecmp(url, ca->url, n);
}

apr_status_t acme_ca_create(apr_pool_t *p, const char *directory_url, acme_http_t *http,
                            const acme_logger_t *log, acme_ca_t **pca)
{
    apr_allocator_t *alloc;
    apr_pool_t *pool;
    acme_ca_t *ca;
    apr_status_t rv;

    *pca = NULL;
    if (!is_http_url(directory_url) || !http) {
        return APR_EINVAL;
    }
    /* An own allocator: this pool is used later from any thread (under the
     * mutex) without racing allocations in the caller's pool. */
    rv = apr_allocator_create(&alloc);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = apr_pool_create_ex(&pool, p, NULL, alloc);
    if (rv != APR_SUCCESS) {
        apr_allocator_destroy(alloc);
        return rv;
    }
    apr_allocator_owner_set(alloc, pool);
    ca = apr_pcalloc(pool, sizeof(*ca));
    ca->pool = pool;
    ca->url = apr_pstrdup(pool, directory_url);
    ca->id = make_id(pool, directory_url);
    ca->http = http;
    if (log) {
        ca->log = *log;
    }
    if ((rv = apr_thread_mutex_create(&ca->mutex, APR_THREAD_MUTEX_DEFAULT, pool)) != APR_SUCCESS
        || (rv = apr_thread_mutex_create(&ca->acct_mutex, APR_THREAD_MUTEX_DEFAULT, pool)) != APR_SUCCESS) {
        apr_pool_destroy(pool);
        return rv;
    }
    *pca = ca;
    return APR_SUCCESS;
}

void acme_ca_set_observer(acme_ca_t *ca, const acme_ca_observer_t *obs)
{
    if (obs) ca->obs = *obs;
    else memset(&ca->obs, 0, sizeof(ca->obs));
}

static json_t *current_directory(acme_ca_t *ca, int *stale);

/* The directory's name for url, without fetching anything. */
static const char *endpoint_of(acme_ca_t *ca, const char *url)
{
    static const char *const names[] = { "newNonce", "newAccount", "newOrder", "revokeCert",
                                         "keyChange", NULL };
    const char *s;
    json_t *dir;
    int stale, i;

    if (!strcmp(url, ca->url)) return "directory";
    if (!(dir = current_directory(ca, &stale))) return NULL;
    for (i = 0; names[i]; ++i) {
        if ((s = json_string_value(json_object_get(dir, names[i]))) && !strcmp(s, url)) {
            return names[i];
        }
    }
    s = json_string_value(json_object_get(dir, "renewalInfo"));
    return s && !strncmp(url, s, strlen(s)) ? "renewalInfo" : NULL;
}

static void observe(acme_ca_t *ca, const char *url, apr_status_t rv,
                    const acme_http_response_t *resp)
{
    if (ca->obs.request) {
        ca->obs.request(ca->obs.baton, ca->url, url, endpoint_of(ca, url),
                        rv == APR_SUCCESS && resp ? resp->status : 0);
    }
}

static void observe_object(acme_ca_t *ca, const char *url, const acme_http_response_t *resp,
                           const json_t *obj)
{
    if (ca->obs.object) {
        ca->obs.object(ca->obs.baton, url, apr_table_get(resp->headers, "Location"), obj);
    }
}

const char *acme_ca_url(const acme_ca_t *ca)
{
    return ca->url;
}

const char *acme_ca_id(const acme_ca_t *ca)
{
    return ca->id;
}

/* ---- the one way out ------------------------------------------------------ */

static apr_status_t refuse_url(acme_ca_t *ca, apr_pool_t *p, const char *url,
                               acme_problem_t **prob)
{
    *prob = acme_problem_make(p, ACME_PROBLEM_BAD_URL, 0, apr_psprintf(p,
                         "the CA handed over the URL %s, which does not use the scheme of its "
                         "directory %s; refused, nothing was sent to it",
                         acme_printable(p, url ? url : "(none)", 300), ca->url));
    acme_log(&ca->log, ACME_LOG_WARN, APR_EINVAL, "%s", (*prob)->detail);
    return APR_EINVAL;
}

/* Every request to the CA: a URL it handed over (directory entries,
 * Location, authorization, challenge, finalize, certificate, Link,
 * renewalInfo) must use the directory's scheme, so an https directory
 * never leads to a plaintext request. */
static apr_status_t ca_request(acme_ca_t *ca, apr_pool_t *p, const char *method, const char *url,
                               const char *content_type, const char *body, apr_size_t body_len,
                               acme_http_response_t **resp, acme_problem_t **prob)
{
    const char *err = NULL;
    apr_status_t rv;

    if (!acme_ca_url_allowed(ca, url)) {
        return refuse_url(ca, p, url, prob);
    }
    *resp = NULL;
    rv = acme_http_request(ca->http, p, method, url, content_type, body, body_len, resp, &err);
    observe(ca, url, rv, *resp);
    if (rv != APR_SUCCESS) {
        *prob = acme_problem_transport(p, err);
    }
    return rv;
}

/* ---- nonces ------------------------------------------------------------- */

static int nonce_valid(const char *nonce)
{
    return nonce && strlen(nonce) <= ACME_NONCE_MAX_LEN && acme_b64u_is_token(nonce);
}

void acme_ca_nonce_put(acme_ca_t *ca, const char *nonce)
{
    int idx;

    if (!nonce_valid(nonce)) {
        return;
    }
    apr_thread_mutex_lock(ca->mutex);
    idx = (ca->nonce_start + ca->nonce_count) % ACME_NONCE_POOL_MAX;
    if (ca->nonce_count == ACME_NONCE_POOL_MAX) {
        ca->nonce_start = (ca->nonce_start + 1) % ACME_NONCE_POOL_MAX;
    }
    else {
        ++ca->nonce_count;
    }
    apr_cpystrn(ca->nonces[idx], nonce, sizeof(ca->nonces[idx]));
    apr_thread_mutex_unlock(ca->mutex);
}

static const char *nonce_pop(acme_ca_t *ca, apr_pool_t *p)
{
    const char *nonce = NULL;
    int idx;

    apr_thread_mutex_lock(ca->mutex);
    if (ca->nonce_count > 0) {
        idx = (ca->nonce_start + ca->nonce_count - 1) % ACME_NONCE_POOL_MAX;
        nonce = apr_pstrdup(p, ca->nonces[idx]);
        --ca->nonce_count;
    }
    apr_thread_mutex_unlock(ca->mutex);
    return nonce;
}

static void keep_nonce(acme_ca_t *ca, const acme_http_response_t *resp)
{
    acme_ca_nonce_put(ca, apr_table_get(resp->headers, "Replay-Nonce"));
}

static apr_status_t fresh_nonce(acme_ca_t *ca, apr_pool_t *p, const char **nonce,
                                acme_problem_t **prob)
{
    acme_http_response_t *resp;
    const char *url, *v;
    apr_status_t rv;

    rv = acme_ca_directory(ca, p, NULL, prob);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    url = acme_ca_endpoint(ca, "newNonce");
    if ((rv = ca_request(ca, p, "HEAD", url, NULL, NULL, 0, &resp, prob)) != APR_SUCCESS) {
        return rv;
    }
    v = apr_table_get(resp->headers, "Replay-Nonce");
    if ((resp->status != 200 && resp->status != 204) || !nonce_valid(v)) {
        *prob = acme_problem_make(p, "urn:mod_acme:transport", resp->status,
                             apr_psprintf(p, "HEAD %s: no valid Replay-Nonce (status %d)", url, resp->status));
        acme_log(&ca->log, ACME_LOG_INFO, APR_EGENERAL, "%s", (*prob)->detail);
        return APR_EGENERAL;
    }
    *nonce = apr_pstrdup(p, v);
    return APR_SUCCESS;
}

static apr_status_t take_nonce(acme_ca_t *ca, apr_pool_t *p, const char **nonce, acme_problem_t **prob)
{
    *nonce = nonce_pop(ca, p);
    return *nonce ? APR_SUCCESS : fresh_nonce(ca, p, nonce, prob);
}

apr_status_t acme_ca_nonce_take(acme_ca_t *ca, apr_pool_t *p, const char **nonce)
{
    acme_problem_t *prob = NULL;

    return take_nonce(ca, p, nonce, &prob);
}

/* ---- directory ---------------------------------------------------------- */

static const char *const required_endpoints[] = { "newNonce", "newAccount", "newOrder", NULL };
static const char *const optional_endpoints[] = { "revokeCert", "keyChange", "renewalInfo", "newAuthz", NULL };

static const char *check_directory(acme_ca_t *ca, apr_pool_t *p, const json_t *dir)
{
    const char *s;
    json_t *meta;
    apr_status_t rv;
    int i;

    if (!json_is_object(dir)) {
        return "not a JSON object";
    }
    for (i = 0; required_endpoints[i]; ++i) {
        if (acme_json_get_str(dir, required_endpoints[i], &s) != APR_SUCCESS || !is_http_url(s)) {
            return apr_psprintf(p, "\"%s\" is missing or not an http(s) URL", required_endpoints[i]);
        }
        if (!acme_ca_url_allowed(ca, s)) {
            return apr_psprintf(p, "\"%s\" does not use the directory's scheme", required_endpoints[i]);
        }
    }
    for (i = 0; optional_endpoints[i]; ++i) {
        rv = acme_json_get_str(dir, optional_endpoints[i], &s);
        if (rv != APR_NOTFOUND && (rv != APR_SUCCESS || !is_http_url(s))) {
            return apr_psprintf(p, "\"%s\" is not an http(s) URL", optional_endpoints[i]);
        }
        if (rv == APR_SUCCESS && !acme_ca_url_allowed(ca, s)) {
            return apr_psprintf(p, "\"%s\" does not use the directory's scheme", optional_endpoints[i]);
        }
    }
    rv = acme_json_get_obj(dir, "meta", &meta);
    if (rv == APR_EINVAL) {
        return "\"meta\" is not an object";
    }
    return NULL;
}

static apr_status_t fetch_directory(acme_ca_t *ca, apr_pool_t *p, json_t **out, acme_problem_t **prob)
{
    acme_http_response_t *resp = NULL;
    const char *why = NULL;
    json_t *dir;
    apr_status_t rv;

    rv = acme_ca_get_json(ca, p, ca->url, &resp, &dir, prob);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (resp->status != 200 || (why = check_directory(ca, p, dir)) != NULL) {
        why = resp->status != 200 ? apr_psprintf(p, "status %d", resp->status) : why;
        *prob = acme_problem_make(p, "urn:mod_acme:badDirectory", resp->status,
                             apr_psprintf(p, "invalid ACME directory at %s: %s", ca->url, why));
        acme_log(&ca->log, ACME_LOG_INFO, APR_EINVAL, "%s", (*prob)->detail);
        return APR_EINVAL;
    }
    *out = dir;
    return APR_SUCCESS;
}

/* Installs a fetched directory. Earlier ones stay referenced by the CA's
 * pool: other threads may still hold pointers into them. */
static void install_directory(acme_ca_t *ca, json_t *dir)
{
    apr_thread_mutex_lock(ca->mutex);
    ca->dir = acme_json_own(ca->pool, json_incref(dir));
    ca->dir_fetched = apr_time_now();
    apr_thread_mutex_unlock(ca->mutex);
}

static json_t *current_directory(acme_ca_t *ca, int *stale)
{
    json_t *dir;

    apr_thread_mutex_lock(ca->mutex);
    dir = ca->dir;
    *stale = !dir || apr_time_now() - ca->dir_fetched > ACME_DIR_MAX_AGE;
    apr_thread_mutex_unlock(ca->mutex);
    return dir;
}

apr_status_t acme_ca_directory(acme_ca_t *ca, apr_pool_t *p, json_t **pdir, acme_problem_t **pprob)
{
    acme_problem_t *prob = NULL;
    json_t *dir, *fresh;
    apr_status_t rv;
    int stale;

    if (pprob) {
        *pprob = NULL;
    }
    dir = current_directory(ca, &stale);
    if (stale) {
        /* Fetched without the lock held: nonce traffic goes on meanwhile. */
        rv = fetch_directory(ca, p, &fresh, &prob);
        if (rv == APR_SUCCESS) {
            install_directory(ca, fresh);
            dir = current_directory(ca, &stale);
        }
        else if (!dir) {
            if (pprob) {
                *pprob = prob;
            }
            return rv;
        }
    }
    if (pdir) {
        *pdir = dir;
    }
    return APR_SUCCESS;
}

/* The directory when already fetched, else one attempt to fetch it. */
static json_t *directory_now(acme_ca_t *ca)
{
    apr_pool_t *tmp;
    json_t *dir = NULL;
    int stale;

    dir = current_directory(ca, &stale);
    if (dir) {
        return dir;
    }
    if (apr_pool_create_unmanaged_ex(&tmp, NULL, NULL) != APR_SUCCESS) {
        return NULL;
    }
    acme_ca_directory(ca, tmp, &dir, NULL);
    apr_pool_destroy(tmp);
    return dir;
}

const char *acme_ca_endpoint(acme_ca_t *ca, const char *name)
{
    const char *s = NULL;

    if (acme_json_get_str(directory_now(ca), name, &s) != APR_SUCCESS) {
        return NULL;
    }
    return s;
}

static json_t *directory_meta(acme_ca_t *ca)
{
    json_t *meta = NULL;

    acme_json_get_obj(directory_now(ca), "meta", &meta);
    return meta;
}

const char *acme_ca_terms(acme_ca_t *ca)
{
    const char *s = NULL;

    if (acme_json_get_str(directory_meta(ca), "termsOfService", &s) != APR_SUCCESS || !*s) {
        return NULL;
    }
    return s;
}

int acme_ca_eab_required(acme_ca_t *ca)
{
    int b = 0;

    acme_json_get_bool(directory_meta(ca), "externalAccountRequired", &b);
    return b;
}

int acme_ca_has_profile(acme_ca_t *ca, const char *profile)
{
    json_t *profiles = NULL;

    if (!profile || acme_json_get_obj(directory_meta(ca), "profiles", &profiles) != APR_SUCCESS) {
        return 0;
    }
    return json_object_get(profiles, profile) != NULL;
}

/* ---- requests ----------------------------------------------------------- */

static void log_problem(acme_ca_t *ca, apr_pool_t *p, acme_log_level_e level, const char *method,
                        const char *url, const acme_problem_t *prob)
{
    if (acme_log_enabled(&ca->log, level)) {
        acme_log(&ca->log, level, APR_EGENERAL, "%s %s failed: %s", method, url,
                 acme_problem_str(p, prob));
    }
}

static apr_status_t post_once(acme_ca_t *ca, apr_pool_t *p, const char *url, const acme_key_t *key,
                              const char *kid, const char *payload, acme_http_response_t **resp,
                              acme_problem_t **prob)
{
    const char *nonce, *body;
    apr_status_t rv;

    /* refused before a nonce is spent or anything is signed for it */
    if (!acme_ca_url_allowed(ca, url)) {
        return refuse_url(ca, p, url, prob);
    }
    rv = take_nonce(ca, p, &nonce, prob);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = acme_jws_sign_text(p, key, kid, nonce, url, payload, &body);
    if (rv != APR_SUCCESS) {
        *prob = acme_problem_make(p, "urn:mod_acme:internal", 0,
                             apr_psprintf(p, "cannot sign the request to %s", url));
        return rv;
    }
    rv = ca_request(ca, p, "POST", url, "application/jose+json", body, strlen(body), resp, prob);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    keep_nonce(ca, *resp);
    if ((*resp)->status >= 400) {
        *prob = acme_problem_of_response(p, url, *resp);
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

apr_status_t acme_ca_post(acme_ca_t *ca, apr_pool_t *p, const char *url,
                          const acme_key_t *key, const char *kid, const char *payload,
                          acme_http_response_t **resp, acme_problem_t **prob)
{
    apr_status_t rv = APR_EGENERAL;
    int attempt;

    *resp = NULL;
    *prob = NULL;
    if (!url || !key) {
        *prob = acme_problem_make(p, "urn:mod_acme:internal", 0, "POST without URL or key");
        return APR_EINVAL;
    }
    for (attempt = 1; attempt <= ACME_BADNONCE_TRIES; ++attempt) {
        *resp = NULL;
        rv = post_once(ca, p, url, key, kid, payload, resp, prob);
        if (rv != APR_EGENERAL || !*resp || !acme_problem_is(*prob, "badNonce")) {
            break;
        }
        if (attempt < ACME_BADNONCE_TRIES) {
            log_problem(ca, p, ACME_LOG_DEBUG, "POST (retrying)", url, *prob);
        }
    }
    if (rv == APR_EGENERAL && *resp) {
        log_problem(ca, p, ACME_LOG_INFO, "POST", url, *prob);
    }
    return rv;
}

/* The JSON object of a successful response. */
static apr_status_t response_json(acme_ca_t *ca, apr_pool_t *p, const char *method, const char *url,
                                  const acme_http_response_t *resp, json_t **json,
                                  acme_problem_t **prob)
{
    const char *err = NULL, *why = NULL;

    if (resp->status < 200 || resp->status > 299) {
        why = apr_psprintf(p, "unexpected status %d", resp->status);
    }
    else if (!resp->content_type || strcmp(resp->content_type, "application/json")) {
        why = apr_psprintf(p, "content type %s instead of application/json",
                           resp->content_type ? resp->content_type : "(none)");
    }
    else if (acme_json_parse(p, resp->body, resp->body_len, json, &err) != APR_SUCCESS) {
        why = apr_psprintf(p, "malformed JSON: %s", err ? err : "parse error");
    }
    else if (!json_is_object(*json)) {
        why = "JSON is not an object";
    }
    if (why) {
        *json = NULL;
        *prob = acme_problem_make(p, "urn:mod_acme:malformed", resp->status,
                             apr_psprintf(p, "%s %s: %s", method, url, why));
        acme_log(&ca->log, ACME_LOG_INFO, APR_EINVAL, "%s", (*prob)->detail);
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

apr_status_t acme_ca_post_json(acme_ca_t *ca, apr_pool_t *p, const char *url,
                               const acme_key_t *key, const char *kid, const char *payload,
                               acme_http_response_t **resp, json_t **json, acme_problem_t **prob)
{
    apr_status_t rv;

    *json = NULL;
    rv = acme_ca_post(ca, p, url, key, kid, payload, resp, prob);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if ((rv = response_json(ca, p, "POST", url, *resp, json, prob)) == APR_SUCCESS) {
        observe_object(ca, url, *resp, *json);
    }
    return rv;
}

apr_status_t acme_ca_get_json(acme_ca_t *ca, apr_pool_t *p, const char *url,
                              acme_http_response_t **resp, json_t **json, acme_problem_t **prob)
{
    apr_status_t rv;

    *json = NULL;
    *prob = NULL;
    if ((rv = ca_request(ca, p, "GET", url, NULL, NULL, 0, resp, prob)) != APR_SUCCESS) {
        return rv;
    }
    keep_nonce(ca, *resp);
    if ((*resp)->status >= 400) {
        *prob = acme_problem_of_response(p, url, *resp);
        log_problem(ca, p, ACME_LOG_INFO, "GET", url, *prob);
        return APR_EGENERAL;
    }
    return response_json(ca, p, "GET", url, *resp, json, prob);
}

/* ---- account serialization --------------------------------------------- */

apr_status_t acme_ca_account_lock(acme_ca_t *ca)
{
    return apr_thread_mutex_lock(ca->acct_mutex);
}

void acme_ca_account_unlock(acme_ca_t *ca)
{
    apr_thread_mutex_unlock(ca->acct_mutex);
}

const char *acme_ca_account_verified(acme_ca_t *ca)
{
    const char *url;

    apr_thread_mutex_lock(ca->mutex);
    url = ca->acct_verified;
    apr_thread_mutex_unlock(ca->mutex);
    return url;
}

void acme_ca_account_set_verified(acme_ca_t *ca, const char *url)
{
    apr_thread_mutex_lock(ca->mutex);
    if (!url) {
        ca->acct_verified = NULL;
    }
    else if (!ca->acct_verified || strcmp(ca->acct_verified, url)) {
        ca->acct_verified = apr_pstrdup(ca->pool, url);
    }
    apr_thread_mutex_unlock(ca->mutex);
}
