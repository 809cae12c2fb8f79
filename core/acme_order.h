/* acme_order.h: ACME orders (RFC 8555 §7.4-7.6): newOrder, authorizations, challenges, finalize, certificate download, revocation and ARI renewalInfo (RFC 9773). */
#ifndef ACME_ORDER_H
#define ACME_ORDER_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include <jansson.h>
#include "acme_account.h"
#include "acme_ca.h"
#include "acme_key.h"
#include "acme_log.h"
#include "acme_responder.h"
#include "acme_x509.h"

/* What every order request needs: the CA, the account that owns the order,
 * a logger, an optional cancel flag and the bound of one polling loop. */
typedef struct acme_order_ctx_t {
    acme_ca_t *ca;
    const acme_account_t *acct;
    const acme_logger_t *log;
    volatile int *cancel;               /* non-NULL and set: polling stops with APR_EINTR */
    apr_interval_time_t poll_timeout;   /* one poll loop; 0: ACME_ORDER_POLL_TIMEOUT */
} acme_order_ctx_t;

#define ACME_ORDER_POLL_TIMEOUT apr_time_from_sec(300)

typedef struct acme_order_t {
    const char *url;                 /* the order URL (Location of newOrder) */
    const char *status;              /* pending, ready, processing, valid, invalid */
    apr_array_header_t *authz_urls;  /* const char* */
    const char *finalize_url;
    const char *cert_url;            /* NULL until valid */
    acme_problem_t *error;           /* the order's "error", NULL when absent */
    apr_interval_time_t retry_after; /* from the last response, 0 when absent */
    json_t *obj;                     /* owned by the pool it was fetched in */
} acme_order_t;

typedef struct acme_challenge_t {
    const char *type;                /* "http-01", "tls-alpn-01", "dns-01", ... */
    const char *url;
    const char *token;               /* validated base64url; NULL for types without one */
    const char *status;              /* pending, processing, valid, invalid */
    acme_problem_t *error;           /* NULL when absent */
    const char *tkauth_type;         /* tkauth-01 (RFC 9447 §3): "tkauth-type", or NULL */
    const char *token_authority;     /* tkauth-01: "token-authority" hint URL, or NULL */
} acme_challenge_t;

typedef struct acme_authz_t {
    const char *url;
    const char *status;              /* pending, valid, invalid, deactivated, expired, revoked */
    const char *id_type;             /* "dns", "ip" or "TNAuthList" */
    const char *id_value;            /* as in the authz (no "*." for wildcards) */
    const char *name;                /* the identifier as ordered ("*." restored for wildcards,
                                      * "TNAuthList:<value>" for a TNAuthList) */
    int wildcard;
    apr_array_header_t *challenges;  /* acme_challenge_t* */
    apr_interval_time_t retry_after;
} acme_authz_t;

/* newOrder for names (DNS names, "*.wildcards", IP addresses, "TNAuthList:<value>"). profile and
 * replaces (an ARI certificate id) are sent when non-NULL. */
apr_status_t acme_order_new(const acme_order_ctx_t *ctx, apr_pool_t *p,
                            const apr_array_header_t *names, const char *profile,
                            const char *replaces, acme_order_t **order,
                            acme_problem_t **prob);
/* POST-as-GET of an order URL. */
apr_status_t acme_order_get(const acme_order_ctx_t *ctx, apr_pool_t *p, const char *url,
                            acme_order_t **order, acme_problem_t **prob);
/* Parse an order object (strict); url may be NULL. */
apr_status_t acme_order_parse(apr_pool_t *p, const json_t *obj, const char *url,
                              acme_order_t **order);

/* POST-as-GET of an authorization, parsed strictly. */
apr_status_t acme_authz_get(const acme_order_ctx_t *ctx, apr_pool_t *p, const char *url,
                            acme_authz_t **authz, acme_problem_t **prob);
apr_status_t acme_authz_parse(apr_pool_t *p, const json_t *obj, const char *url,
                              acme_authz_t **authz);

/* The ordered name (one of `names`: DNS names, "*.wildcards", IP
 * addresses, "TNAuthList:<value>", as ordered) this authorization is for, or
 * NULL when its identifier is not valid (acme_identifier_valid, the right
 * type, no "*." in the value; a DER TNAuthList) or was not ordered. DNS names
 * compare without case, IP addresses and TNAuthLists by their bytes. The
 * drive answers nothing for NULL. */
const char *acme_authz_ordered_name(const acme_authz_t *authz, const apr_array_header_t *names);

/* The challenge to use: the first of `allowed` (preference order; NULL or
 * empty: http-01, tls-alpn-01, dns-01, tkauth-01) that the authz offers and the
 * responder can answer; wildcards only with dns-01, TNAuthLists only and
 * always with tkauth-01. NULL when none. */
const acme_challenge_t *acme_authz_pick(const acme_authz_t *authz,
                                        const apr_array_header_t *allowed,
                                        acme_responder_t *responder);

/* Tell the CA the challenge is ready (POST {}). */
apr_status_t acme_challenge_respond(const acme_order_ctx_t *ctx, apr_pool_t *p,
                                    const acme_challenge_t *ch, acme_problem_t **prob);
/* The same with the answer in the payload, e.g. {"tkauth": "<token>"} (RFC 9447 §3). */
apr_status_t acme_challenge_answer(const acme_order_ctx_t *ctx, apr_pool_t *p,
                                   const acme_challenge_t *ch, const char *payload,
                                   acme_problem_t **prob);

/* Poll an authorization until it leaves "pending", backing off and honouring
 * Retry-After, bounded by ctx->poll_timeout (APR_TIMEUP); a few transient
 * failures (badNonce, 5xx, network) are polled through. answered: the URL of
 * the challenge answered with "{}", or NULL; when the CA leaves it pending
 * with an error it is asked again (RFC 8555 §8.2), up to 3 times, then the
 * poll fails with that error. Returns success when valid; APR_EGENERAL with
 * *prob from the failed challenge when the authz ended otherwise (*authz then
 * holds it; it is NULL when the request failed). */
apr_status_t acme_authz_poll(const acme_order_ctx_t *ctx, apr_pool_t *p, const char *url,
                             const char *answered, acme_authz_t **authz, acme_problem_t **prob);

/* Poll an order while it is "pending" or "processing" (same rules; a "pending"
 * order is read again at once: its authorizations were just answered); *order is
 * replaced by the latest state. "invalid" gives APR_EGENERAL with the order's error. */
apr_status_t acme_order_poll(const acme_order_ctx_t *ctx, apr_pool_t *p,
                             acme_order_t **order, acme_problem_t **prob);

/* Finalize with a DER CSR; *order is updated from the answer. */
apr_status_t acme_order_finalize(const acme_order_ctx_t *ctx, apr_pool_t *p,
                                 acme_order_t **order, const unsigned char *csr,
                                 apr_size_t csrlen, acme_problem_t **prob);

/* Download a certificate chain (application/pem-certificate-chain). With a
 * preferred_issuer, the default chain and the Link rel="alternate" chains are
 * tried for one whose top certificate's issuer CN is that name; the default
 * chain when none matches. The PEM is checked to parse. */
apr_status_t acme_cert_download(const acme_order_ctx_t *ctx, apr_pool_t *p, const char *url,
                                const char *preferred_issuer, char **pem, apr_size_t *len,
                                acme_problem_t **prob);

/* revokeCert: signed by the account (acct != NULL, kid) or else by the
 * certificate's own key (cert_key, jwk). reason < 0 omits the reason code. */
apr_status_t acme_cert_revoke(acme_ca_t *ca, apr_pool_t *p, const acme_cert_t *cert,
                              int reason, const acme_account_t *acct,
                              const acme_key_t *cert_key, acme_problem_t **prob);

/* ARI renewalInfo (RFC 9773) for a certificate id (acme_cert_ari_id). */
typedef struct acme_ari_t {
    apr_time_t start;                /* suggestedWindow */
    apr_time_t end;
    apr_interval_time_t retry_after; /* Retry-After within [1 h, 24 h]; default 6 h */
    const char *explanation_url;     /* NULL when absent */
} acme_ari_t;

#define ACME_ARI_DEFAULT_RETRY apr_time_from_sec(6 * 3600)
#define ACME_ARI_MIN_RETRY apr_time_from_sec(3600)

/* APR_ENOTIMPL when the CA's directory has no renewalInfo. */
apr_status_t acme_ari_fetch(acme_ca_t *ca, apr_pool_t *p, const char *cert_id,
                            acme_ari_t **ari, acme_problem_t **prob);
/* Parse a renewalInfo body (strict: both times, end after start). */
apr_status_t acme_ari_parse(apr_pool_t *p, const json_t *obj, acme_ari_t **ari);

#endif
