/* acme_tkauth.h: tkauth-01 Authority Tokens (RFC 9447) of the TNAuthList profile (RFC 9448): the account key fingerprint, the token out of what a source gives, its checks before it is sent, and the responder that runs a token command or reads a token file. */
#ifndef ACME_TKAUTH_H
#define ACME_TKAUTH_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include "acme_key.h"
#include "acme_log.h"
#include "acme_responder.h"

#define ACME_TKAUTH_MAX_TOKEN 16384      /* a JWT we send (bytes) */
#define ACME_TKAUTH_MAX_SOURCE 65536     /* what a token file or command may hold/print */

/* What a token source is asked for: one tkauth-01 challenge. */
typedef struct acme_tkauth_req_t {
    const char *id_type;          /* the identifier type, "TNAuthList" (RFC 9448 §3) */
    const char *id_value;         /* the identifier value: base64url DER TNAuthList */
    const char *tkauth_type;      /* the challenge's "tkauth-type" ("atc", RFC 9447 §4), or NULL */
    const char *token_authority;  /* the challenge's "token-authority" hint, or NULL */
    const char *fingerprint;      /* the account key's, acme_tkauth_fingerprint() */
} acme_tkauth_req_t;

/* The account key fingerprint of the "atc" claim (RFC 9448 §5.4): the
 * Thumbprint step of RFC 8555 §8.1 (RFC 7638 JWK thumbprint, SHA-256) written
 * as in RFC 9448's examples, "SHA256 " and upper-case hex pairs joined by ':'. */
apr_status_t acme_tkauth_fingerprint(apr_pool_t *p, const acme_key_t *account_key,
                                     const char **fp);

/* The token in what a source gave (len bytes, `source` names it in
 * messages): a compact JWT, or a Token Authority answer {"status":
 * "success", "token": "..."} (RFC 9447 §5.1); surrounding white space is
 * ignored. APR_EINVAL with *why when it is neither. */
apr_status_t acme_tkauth_token_from(apr_pool_t *p, const char *data, apr_size_t len,
                                    const char *source, const char **jwt, const char **why);

/* Everything a client can check before the CA does (RFC 9448 §5, §6): a JWS
 * compact serialization with an asymmetric "alg" (RFC 8555 §6.2), claims
 * "exp", "jti" and "atc" with tktype "TNAuthList", tkvalue the same DER list
 * as req->id_value, fingerprint req->fingerprint, "ca" absent or false, not
 * expired at now (and "nbf", when present, passed). The signature is the
 * CA's to verify (it knows the Token Authority). On a mismatch APR_EINVAL
 * and *why lists every one found. */
apr_status_t acme_tkauth_check(apr_pool_t *p, const char *jwt, const acme_tkauth_req_t *req,
                               apr_time_t now, const char **why);

/* A tkauth-01 responder for "TNAuthList:<value>" names: runs `command
 * VALUE FINGERPRINT TOKEN-AUTHORITY` (the hint is "" when the challenge has
 * none) through acme_exec, with ACME_IDENTIFIER, ACME_FINGERPRINT,
 * ACME_TOKEN_AUTHORITY and ACME_TKAUTH_TYPE in its environment, killed after
 * timeout (0: ACME_EXEC_DEFAULT_TIMEOUT) or when *cancel is set, and takes
 * the token from its standard output (acme_tkauth_token_from); a failure
 * quotes its stderr. With command NULL it reads `file` anew for each challenge. */
acme_responder_t *acme_responder_tkauth(apr_pool_t *p, const char *command, const char *file,
                                        apr_interval_time_t timeout, volatile int *cancel,
                                        const acme_logger_t *log);

/* The answer of a tkauth-01 challenge: asks r for the token of req, checks it
 * (acme_tkauth_check) and gives the payload {"tkauth": "<token>"} (RFC 9447
 * §3). On failure *why says what is wrong, for people. */
apr_status_t acme_tkauth_answer(acme_responder_t *r, apr_pool_t *p, const acme_tkauth_req_t *req,
                                apr_time_t now, const char **payload, const char **why);

#endif
