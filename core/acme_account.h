/* acme_account.h: ACME accounts: create, find by key, update, deactivate, key rollover, EAB; persisted per CA in the store. */
#ifndef ACME_ACCOUNT_H
#define ACME_ACCOUNT_H

#include <apr_pools.h>
#include <jansson.h>
#include "acme_ca.h"
#include "acme_key.h"
#include "acme_store.h"

typedef struct acme_account_t {
    const char *url;        /* the account URL: the JWS "kid" */
    acme_key_t *key;
    json_t *obj;            /* last account object from the CA */
    const char *status;     /* "valid", "deactivated", "revoked" */
} acme_account_t;

typedef struct acme_account_req_t {
    const char *email;      /* contact "mailto:" + email, or NULL */
    int tos_agreed;
    const char *eab_kid;    /* NULL: no EAB */
    const char *eab_hmac;   /* base64url MAC key */
    const char *eab_alg;    /* default "HS256" */
} acme_account_req_t;

/* newAccount. When the CA has terms and !tos_agreed, fails with a problem of
 * type "urn:mod_acme:tosNotAgreed" (the drive adds the hint, acme_hint.h). */
apr_status_t acme_account_register(acme_ca_t *ca, apr_pool_t *p, acme_key_t *key,
                                   const acme_account_req_t *req,
                                   acme_account_t **acct, acme_problem_t **prob);
/* newAccount with onlyReturnExisting: APR_ENOENT (prob type accountDoesNotExist) when none. */
apr_status_t acme_account_find(acme_ca_t *ca, apr_pool_t *p, acme_key_t *key,
                               acme_account_t **acct, acme_problem_t **prob);
apr_status_t acme_account_update_contact(acme_ca_t *ca, apr_pool_t *p, acme_account_t *acct,
                                         const char *email, acme_problem_t **prob);
apr_status_t acme_account_deactivate(acme_ca_t *ca, apr_pool_t *p, acme_account_t *acct,
                                     acme_problem_t **prob);
/* keyChange with the nested JWS of RFC 8555 §7.3.5; on success acct->key is new_key. */
apr_status_t acme_account_rollover(acme_ca_t *ca, apr_pool_t *p, acme_account_t *acct,
                                   acme_key_t *new_key, acme_problem_t **prob);

/* What newAccount would refuse locally: a contact address it does not accept,
 * an EAB HMAC key that is not base64url (padding and the standard alphabet
 * are tolerated). 1 when fine. Front ends check options with these first. */
int acme_account_email_ok(const char *email);
int acme_account_eab_key_ok(apr_pool_t *p, const char *b64);

/* Load the account kept for this CA from accounts/<ca-id>/ (account.pem,
 * account.json) — APR_ENOENT when none — or save it there (key private);
 * fence: the account's lock when the caller holds it (acme_store.h). */
apr_status_t acme_account_load(acme_store_t *store, apr_pool_t *p, acme_ca_t *ca,
                               acme_account_t **acct);
apr_status_t acme_account_save(acme_store_t *store, apr_pool_t *p, acme_ca_t *ca,
                               const acme_account_t *acct, const acme_store_lock_t *fence);

/* The file that verifies the CA's HTTPS server (its absolute path), kept in
 * accounts/<ca-id>/trust.json by the drive that used it, so that later
 * commands for that CA need not be told again. Load: NULL when none. */
apr_status_t acme_account_trust_save(acme_store_t *store, apr_pool_t *p, acme_ca_t *ca,
                                     const char *ca_file);
const char *acme_account_trust_load(acme_store_t *store, apr_pool_t *p, acme_ca_t *ca);

/* The drive's entry point: the stored account if still valid (checked with
 * the CA at most once per process and CA), else find by key, else register
 * (generating a key of key_type). Serialized per CA across threads. */
apr_status_t acme_account_ensure(acme_ca_t *ca, acme_store_t *store, apr_pool_t *p,
                                 acme_key_type_e key_type, const acme_account_req_t *req,
                                 acme_account_t **acct, acme_problem_t **prob);

#endif
