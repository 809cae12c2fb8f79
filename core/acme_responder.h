/* acme_responder.h: how a drive publishes challenge answers: into the store (httpd), a webroot, a DNS command, or Authority Tokens (acme_tkauth.h). */
#ifndef ACME_RESPONDER_H
#define ACME_RESPONDER_H

#include <apr_pools.h>
#include <apr_time.h>
#include "acme_key.h"
#include "acme_log.h"
#include "acme_store.h"

typedef struct acme_responder_t acme_responder_t;
struct acme_tkauth_req_t;
struct acme_responder_t {
    /* 1 when this responder can answer `type` ("http-01", "tls-alpn-01",
     * "dns-01") for identifier `name`. */
    int (*can)(acme_responder_t *r, const char *type, const char *name);
    /* Publish the answer; must be reachable by the CA when it returns. */
    apr_status_t (*setup)(acme_responder_t *r, apr_pool_t *p, const char *type,
                          const char *name, const char *token, const char *keyauth);
    apr_status_t (*teardown)(acme_responder_t *r, apr_pool_t *p, const char *type,
                             const char *name, const char *token, const char *keyauth);
    void *baton;
    const acme_logger_t *log;
    /* tkauth-01 (RFC 9447 §3): the Authority Token for req (acme_tkauth.h),
     * unchecked; on failure *why says what went wrong. NULL in responders
     * that answer no tkauth-01. */
    apr_status_t (*token)(acme_responder_t *r, apr_pool_t *p,
                          const struct acme_tkauth_req_t *req, const char **jwt,
                          const char **why);
};

/* http-01 and tls-alpn-01 answers written to the store's CHALLENGES group,
 * where mod_acme's request and ALPN hooks find them:
 *   challenges/<identifier>/http-01.<token>   key authorization
 *   challenges/<identifier>/tls-alpn-01.pem   certificate + private key PEM */
acme_responder_t *acme_responder_store(apr_pool_t *p, acme_store_t *store, const acme_logger_t *log);
/* http-01 written as <dir>/.well-known/acme-challenge/<token> (mode 0644). */
acme_responder_t *acme_responder_webroot(apr_pool_t *p, const char *dir, const acme_logger_t *log);
/* dns-01 through `command setup|teardown NAME VALUE` (NAME = "_acme-challenge.<domain>",
 * VALUE = TXT value), run by acme_exec with ACME_ACTION, ACME_IDENTIFIER,
 * ACME_NAME and ACME_VALUE in its environment; exit 0 is success. Killed
 * after `timeout` (0: ACME_EXEC_DEFAULT_TIMEOUT) or when *cancel is set.
 * A name that is not a valid DNS name or a value that is not base64url
 * never reaches the program (APR_EINVAL). */
acme_responder_t *acme_responder_dnscmd(apr_pool_t *p, const char *command,
                                        apr_interval_time_t timeout, volatile int *cancel,
                                        const acme_logger_t *log);
/* Tries each non-NULL responder in order; the first that `can` answers. */
acme_responder_t *acme_responder_chain(apr_pool_t *p, acme_responder_t *const *list, int n);

/* Item names inside challenges/<identifier>/ shared with the module. */
const char *acme_responder_http01_item(apr_pool_t *p, const char *token);
#define ACME_TLSALPN01_ITEM "tls-alpn-01.pem"

#endif
