/* acme_ca.h: one ACME server as seen by the client: directory, nonce pool, signed requests and problem documents. Thread-safe. */
#ifndef ACME_CA_H
#define ACME_CA_H

#include <apr_pools.h>
#include <apr_thread_mutex.h>
#include <jansson.h>
#include "acme_http.h"
#include "acme_key.h"
#include "acme_log.h"

/* RFC 7807 problem document (or a local failure described the same way). */
typedef struct acme_problem_t {
    const char *type;               /* "urn:ietf:params:acme:error:badNonce", ... */
    const char *detail;
    int status;                     /* HTTP status, 0 for local failures */
    apr_interval_time_t retry_after;/* from Retry-After, 0 when absent */
    apr_array_header_t *subproblems;/* struct acme_problem_t*: with "identifier" in `identifier` */
    const char *identifier;         /* subproblem's identifier value */
} acme_problem_t;

/* Parse a problem document body; fills what is there, never fails on
 * missing members (type defaults to "about:blank"). */
apr_status_t acme_problem_parse(apr_pool_t *p, const char *body, apr_size_t len,
                                int status, acme_problem_t **prob);
/* "type: detail (status N) [identifier: type: detail]..." for logs and status. */
const char *acme_problem_str(apr_pool_t *p, const acme_problem_t *prob);
/* True when prob->type is "urn:ietf:params:acme:error:<name>". */
int acme_problem_is(const acme_problem_t *prob, const char *name);

typedef struct acme_ca_t acme_ca_t;

/* A CA for one directory URL. The http handle may be shared by several CAs. */
apr_status_t acme_ca_create(apr_pool_t *p, const char *directory_url, acme_http_t *http,
                            const acme_logger_t *log, acme_ca_t **ca);
const char *acme_ca_url(const acme_ca_t *ca);
/* True when url may be requested from this CA: an http(s) URL with the
 * directory URL's scheme (any host). Every request of acme_ca checks it and
 * refuses others with a problem of type ACME_PROBLEM_BAD_URL, before
 * anything is sent. */
int acme_ca_url_allowed(const acme_ca_t *ca, const char *url);
#define ACME_PROBLEM_BAD_URL "urn:mod_acme:badUrl"
/* Store-safe identifier of this CA: host[_port] + short hash of the URL. */
const char *acme_ca_id(const acme_ca_t *ca);

/* Directory (fetched once, refetched after failures). The JSON is owned by
 * the CA. Endpoint names: "newNonce", "newAccount", "newOrder", "revokeCert",
 * "keyChange", "renewalInfo" (NULL when absent). */
apr_status_t acme_ca_directory(acme_ca_t *ca, apr_pool_t *p, json_t **dir, acme_problem_t **prob);
const char *acme_ca_endpoint(acme_ca_t *ca, const char *name);
/* meta.termsOfService, meta.externalAccountRequired, profile offered in meta.profiles. */
const char *acme_ca_terms(acme_ca_t *ca);
int acme_ca_eab_required(acme_ca_t *ca);
int acme_ca_has_profile(acme_ca_t *ca, const char *profile);

/* Nonce pool: every Replay-Nonce is kept (bounded); HEAD newNonce only when empty. */
apr_status_t acme_ca_nonce_take(acme_ca_t *ca, apr_pool_t *p, const char **nonce);
void acme_ca_nonce_put(acme_ca_t *ca, const char *nonce);

/* A signed POST (JWS with kid when kid != NULL, else jwk). payload NULL is
 * POST-as-GET. badNonce is retried with a fresh nonce (bounded). A response
 * >= 400 is parsed into *prob and returns APR_EGENERAL; transport failures
 * also fill *prob (type "urn:mod_acme:transport", status 0). Retry-After of
 * 429/503 lands in prob->retry_after. */
apr_status_t acme_ca_post(acme_ca_t *ca, apr_pool_t *p, const char *url,
                          const acme_key_t *key, const char *kid, const char *payload,
                          acme_http_response_t **resp, acme_problem_t **prob);
/* acme_ca_post + strict JSON body parse (content type application/json or
 * application/problem+json checked). */
apr_status_t acme_ca_post_json(acme_ca_t *ca, apr_pool_t *p, const char *url,
                               const acme_key_t *key, const char *kid, const char *payload,
                               acme_http_response_t **resp, json_t **json, acme_problem_t **prob);
/* Unsigned GET (directory, renewalInfo). */
apr_status_t acme_ca_get_json(acme_ca_t *ca, apr_pool_t *p, const char *url,
                              acme_http_response_t **resp, json_t **json, acme_problem_t **prob);

/* Who watches a CA's traffic (metrics). Called from the requesting thread;
 * must be thread-safe and cheap. request: every HTTP request, status 0 when
 * no response came; endpoint is the directory's name of the URL
 * ("directory", "newNonce", "newAccount", "newOrder", "revokeCert",
 * "keyChange", "renewalInfo") or NULL. object: every JSON object a request
 * answered with, and the Location header, so URLs can be told apart. */
typedef struct acme_ca_observer_t {
    void (*request)(void *baton, const char *ca_url, const char *url, const char *endpoint,
                    int status);
    void (*object)(void *baton, const char *url, const char *location, const json_t *obj);
    void *baton;
} acme_ca_observer_t;

/* Set before the CA is shared between threads. NULL: none. */
void acme_ca_set_observer(acme_ca_t *ca, const acme_ca_observer_t *obs);

/* Serializes account setup per CA across threads (acme_account_ensure). */
apr_status_t acme_ca_account_lock(acme_ca_t *ca);
void acme_ca_account_unlock(acme_ca_t *ca);
/* URL of the account already confirmed with this CA in this process (NULL:
 * none); set under the account lock. */
const char *acme_ca_account_verified(acme_ca_t *ca);
void acme_ca_account_set_verified(acme_ca_t *ca, const char *url);

#endif
