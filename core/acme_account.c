/* acme_account.c: ACME account lifecycle (RFC 8555 §7.3) and its persistence per CA in the store. */
#include <string.h>
#include <apr_strings.h>
#include <apr_lib.h>
#include "acme_account.h"
#include "acme_base64.h"
#include "acme_json.h"
#include "acme_jws.h"
#include "acme_time.h"

#define ACCT_KEY_ITEM "account.pem"
#define ACCT_JSON_ITEM "account.json"
#define TRUST_ITEM "trust.json"
#define ACME_EAB_REQUIRED_TYPE "urn:ietf:params:acme:error:externalAccountRequired"
#define ACCOUNT_LOCK_WAIT apr_time_from_sec(120) /* another process registering */

static acme_problem_t *local_problem(apr_pool_t *p, const char *type, const char *detail)
{
    acme_problem_t *prob = apr_pcalloc(p, sizeof(*prob));

    prob->type = type;
    prob->detail = detail;
    prob->subproblems = apr_array_make(p, 0, sizeof(acme_problem_t *));
    return prob;
}

static apr_status_t payload_dump(apr_pool_t *p, json_t *obj, const char **out)
{
    acme_json_own(p, obj);
    *out = obj ? acme_json_dump(p, obj, 0) : NULL;
    return *out ? APR_SUCCESS : APR_ENOMEM;
}

/* A conservative check: one address, no spaces, separators or controls. */
int acme_account_email_ok(const char *email)
{
    const char *at = strchr(email, '@'), *s;

    if (!at || at == email || !at[1] || strchr(at + 1, '@') || strlen(email) > 254) {
        return 0;
    }
    for (s = email; *s; ++s) {
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f || strchr(",;<>\"()[]\\", *s)) {
            return 0;
        }
    }
    return 1;
}

static apr_status_t contact_array(apr_pool_t *p, const char *email, json_t **arr,
                                  acme_problem_t **prob)
{
    *arr = json_array();
    if (!*arr) {
        return APR_ENOMEM;
    }
    if (email && *email) {
        if (!acme_account_email_ok(email)) {
            json_decref(*arr);
            *prob = local_problem(p, "urn:mod_acme:badContact",
                                  apr_psprintf(p, "invalid contact e-mail address '%s'", email));
            return APR_EINVAL;
        }
        json_array_append_new(*arr, json_string(apr_pstrcat(p, "mailto:", email, NULL)));
    }
    return APR_SUCCESS;
}

/* The account object and URL of a newAccount/account response. */
static apr_status_t account_from_response(acme_ca_t *ca, apr_pool_t *p,
                                          const acme_http_response_t *resp, json_t *obj,
                                          const char *url_hint, acme_key_t *key,
                                          acme_account_t **pacct, acme_problem_t **prob)
{
    acme_account_t *acct = apr_pcalloc(p, sizeof(*acct));
    const char *loc = apr_table_get(resp->headers, "Location");
    const char *status = NULL;

    acct->url = loc && *loc ? loc : url_hint;
    if (!acct->url) {
        *prob = local_problem(p, "urn:mod_acme:malformed", "account response without a Location URL");
        return APR_EINVAL;
    }
    /* the account URL is requested later: the same rule as every request */
    if (!acme_ca_url_allowed(ca, acct->url)) {
        *prob = local_problem(p, ACME_PROBLEM_BAD_URL, apr_psprintf(p, "the account URL %s "
                              "is not an http(s) URL with the scheme of the directory %s",
                              acme_printable(p, acct->url, 300), acme_ca_url(ca)));
        return APR_EINVAL;
    }
    if (acme_json_get_str(obj, "status", &status) != APR_SUCCESS) {
        *prob = local_problem(p, "urn:mod_acme:malformed", "account object without status");
        return APR_EINVAL;
    }
    acct->key = key;
    acct->obj = obj;
    acct->status = status;
    *pacct = acct;
    return APR_SUCCESS;
}

static apr_status_t new_account_url(acme_ca_t *ca, apr_pool_t *p, const char *name,
                                    const char **url, acme_problem_t **prob)
{
    apr_status_t rv = acme_ca_directory(ca, p, NULL, prob);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    *url = acme_ca_endpoint(ca, name);
    if (!*url) {
        *prob = local_problem(p, "urn:mod_acme:unsupported",
                              apr_psprintf(p, "the CA's directory %s has no %s", acme_ca_url(ca), name));
        return APR_ENOTIMPL;
    }
    return APR_SUCCESS;
}

/* EAB keys are base64url; tolerate padding and the standard alphabet. */
static apr_status_t eab_key(apr_pool_t *p, const char *b64, unsigned char **key, apr_size_t *len)
{
    char *s = apr_pstrdup(p, b64), *c;
    apr_size_t n = strlen(s);

    while (n > 0 && s[n - 1] == '=') {
        s[--n] = '\0';
    }
    for (c = s; *c; ++c) {
        *c = *c == '+' ? '-' : (*c == '/' ? '_' : *c);
    }
    return n ? acme_b64u_decode(p, s, n, key, len) : APR_EINVAL;
}

int acme_account_eab_key_ok(apr_pool_t *p, const char *b64)
{
    unsigned char *key;
    apr_size_t len;

    return b64 && eab_key(p, b64, &key, &len) == APR_SUCCESS && len > 0;
}

static apr_status_t add_eab(apr_pool_t *p, const acme_account_req_t *req, const char *url,
                            const acme_key_t *key, json_t *payload, acme_problem_t **prob)
{
    unsigned char *hkey;
    apr_size_t hlen;
    json_t *jwk, *eab;
    apr_status_t rv;

    if (eab_key(p, req->eab_hmac ? req->eab_hmac : "", &hkey, &hlen) != APR_SUCCESS) {
        *prob = local_problem(p, "urn:mod_acme:badEAB", "the EAB HMAC key is not valid base64url");
        return APR_EINVAL;
    }
    rv = acme_jwk_public(p, key, &jwk);
    if (rv == APR_SUCCESS) {
        rv = acme_jws_eab(p, req->eab_alg ? req->eab_alg : "HS256", req->eab_kid, hkey, hlen,
                          url, jwk, &eab);
    }
    if (rv != APR_SUCCESS) {
        *prob = local_problem(p, "urn:mod_acme:badEAB",
                              "cannot build the External Account Binding (unsupported algorithm?)");
        return rv;
    }
    json_object_set(payload, "externalAccountBinding", eab);
    return APR_SUCCESS;
}

/* Local checks before newAccount: terms and EAB the CA demands. */
static apr_status_t register_precheck(acme_ca_t *ca, apr_pool_t *p, const acme_account_req_t *req,
                                      acme_problem_t **prob)
{
    const char *terms = acme_ca_terms(ca);

    if (terms && !req->tos_agreed) {
        *prob = local_problem(p, "urn:mod_acme:tosNotAgreed",
            apr_psprintf(p, "the CA %s requires agreement to its terms of service (%s)",
                         acme_ca_url(ca), terms));
        return APR_EGENERAL;
    }
    if (acme_ca_eab_required(ca) && !req->eab_kid) {
        *prob = local_problem(p, ACME_EAB_REQUIRED_TYPE,
            apr_psprintf(p, "the CA %s requires External Account Binding", acme_ca_url(ca)));
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

static apr_status_t register_payload(acme_ca_t *ca, apr_pool_t *p, const char *url,
                                     const acme_key_t *key, const acme_account_req_t *req,
                                     const char **payload, acme_problem_t **prob)
{
    json_t *obj = json_object(), *contact;
    apr_status_t rv;

    if (!obj) {
        return APR_ENOMEM;
    }
    acme_json_own(p, obj);
    rv = contact_array(p, req->email, &contact, prob);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    json_object_set_new(obj, "contact", contact);
    if (req->tos_agreed) {
        json_object_set_new(obj, "termsOfServiceAgreed", json_true());
    }
    if (req->eab_kid) {
        rv = add_eab(p, req, url, key, obj, prob);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    *payload = acme_json_dump(p, obj, 0);
    return *payload ? APR_SUCCESS : APR_ENOMEM;
}

apr_status_t acme_account_register(acme_ca_t *ca, apr_pool_t *p, acme_key_t *key,
                                   const acme_account_req_t *req,
                                   acme_account_t **acct, acme_problem_t **prob)
{
    acme_http_response_t *resp;
    const char *url, *payload;
    json_t *obj;
    apr_status_t rv;

    *acct = NULL;
    *prob = NULL;
    if ((rv = new_account_url(ca, p, "newAccount", &url, prob)) != APR_SUCCESS
        || (rv = register_precheck(ca, p, req, prob)) != APR_SUCCESS
        || (rv = register_payload(ca, p, url, key, req, &payload, prob)) != APR_SUCCESS
        || (rv = acme_ca_post_json(ca, p, url, key, NULL, payload, &resp, &obj, prob)) != APR_SUCCESS) {
        return rv;
    }
    return account_from_response(ca, p, resp, obj, NULL, key, acct, prob);
}

apr_status_t acme_account_find(acme_ca_t *ca, apr_pool_t *p, acme_key_t *key,
                               acme_account_t **acct, acme_problem_t **prob)
{
    acme_http_response_t *resp;
    const char *url, *payload = "{\"onlyReturnExisting\":true}";
    json_t *obj;
    apr_status_t rv;

    *acct = NULL;
    *prob = NULL;
    rv = new_account_url(ca, p, "newAccount", &url, prob);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = acme_ca_post_json(ca, p, url, key, NULL, payload, &resp, &obj, prob);
    if (rv != APR_SUCCESS) {
        return acme_problem_is(*prob, "accountDoesNotExist") ? APR_ENOENT : rv;
    }
    return account_from_response(ca, p, resp, obj, NULL, key, acct, prob);
}

/* POST to the account URL; on success acct->obj/status are the CA's new view. */
static apr_status_t account_post(acme_ca_t *ca, apr_pool_t *p, acme_account_t *acct,
                                 const char *payload, acme_problem_t **prob)
{
    acme_http_response_t *resp;
    acme_account_t *fresh;
    json_t *obj;
    apr_status_t rv;

    *prob = NULL;
    rv = acme_ca_post_json(ca, p, acct->url, acct->key, acct->url, payload, &resp, &obj, prob);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    apr_table_unset(resp->headers, "Location");
    rv = account_from_response(ca, p, resp, obj, acct->url, acct->key, &fresh, prob);
    if (rv == APR_SUCCESS) {
        acct->obj = fresh->obj;
        acct->status = fresh->status;
    }
    return rv;
}

apr_status_t acme_account_update_contact(acme_ca_t *ca, apr_pool_t *p, acme_account_t *acct,
                                         const char *email, acme_problem_t **prob)
{
    json_t *obj = json_object(), *contact;
    const char *payload;
    apr_status_t rv;

    *prob = NULL;
    if (!obj) {
        return APR_ENOMEM;
    }
    acme_json_own(p, obj);
    rv = contact_array(p, email, &contact, prob);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    json_object_set_new(obj, "contact", contact);
    payload = acme_json_dump(p, obj, 0);
    return payload ? account_post(ca, p, acct, payload, prob) : APR_ENOMEM;
}

apr_status_t acme_account_deactivate(acme_ca_t *ca, apr_pool_t *p, acme_account_t *acct,
                                     acme_problem_t **prob)
{
    return account_post(ca, p, acct, "{\"status\":\"deactivated\"}", prob);
}

/* Inner JWS of keyChange: signed by the new key, jwk + url, no nonce. */
static apr_status_t rollover_inner(apr_pool_t *p, const char *url, const acme_account_t *acct,
                                   const acme_key_t *new_key, const char **out)
{
    json_t *inner_payload, *old_jwk, *inner;
    const char *payload;
    apr_status_t rv;

    rv = acme_jwk_public(p, acct->key, &old_jwk);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    inner_payload = json_pack("{s:s, s:O}", "account", acct->url, "oldKey", old_jwk);
    if (payload_dump(p, inner_payload, &payload) != APR_SUCCESS) {
        return APR_ENOMEM;
    }
    rv = acme_jws_sign(p, new_key, NULL, NULL, url, payload, &inner);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *out = acme_json_dump(p, inner, 0);
    return *out ? APR_SUCCESS : APR_ENOMEM;
}

apr_status_t acme_account_rollover(acme_ca_t *ca, apr_pool_t *p, acme_account_t *acct,
                                   acme_key_t *new_key, acme_problem_t **prob)
{
    acme_http_response_t *resp;
    const char *url, *inner;
    apr_status_t rv;

    *prob = NULL;
    rv = new_account_url(ca, p, "keyChange", &url, prob);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = rollover_inner(p, url, acct, new_key, &inner);
    if (rv != APR_SUCCESS) {
        *prob = local_problem(p, "urn:mod_acme:internal", "cannot sign the keyChange request");
        return rv;
    }
    rv = acme_ca_post(ca, p, url, acct->key, acct->url, inner, &resp, prob);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    acct->key = new_key;
    return APR_SUCCESS;
}

/* ---- store -------------------------------------------------------------- */

apr_status_t acme_account_load(acme_store_t *store, apr_pool_t *p, acme_ca_t *ca,
                               acme_account_t **pacct)
{
    acme_account_t *acct;
    json_t *json, *obj = NULL;
    char *pem;
    apr_size_t len;
    apr_status_t rv;

    *pacct = NULL;
    rv = acme_store_load_json(store, p, ACME_SG_ACCOUNTS, acme_ca_id(ca), ACCT_JSON_ITEM, &json);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    acct = apr_pcalloc(p, sizeof(*acct));
    if (acme_json_get_str(json, "url", &acct->url) != APR_SUCCESS
        || acme_json_opt_str(json, "status", &acct->status) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    if (acme_json_get_obj(json, "object", &obj) == APR_EINVAL) {
        return APR_EINVAL;
    }
    acct->obj = obj;
    acct->status = acct->status ? acct->status : "valid";
    rv = store->load(store, p, ACME_SG_ACCOUNTS, acme_ca_id(ca), ACCT_KEY_ITEM, &pem, &len);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = acme_key_from_pem(p, pem, len, &acct->key);
    memset(pem, 0, len);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *pacct = acct;
    return APR_SUCCESS;
}

static apr_status_t save_key(acme_store_t *store, apr_pool_t *p, acme_ca_t *ca, const acme_key_t *key,
                             const acme_store_lock_t *fence)
{
    char *pem;
    apr_size_t len;
    apr_status_t rv;

    rv = acme_key_to_pem(p, key, &pem, &len);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return store->save(store, p, ACME_SG_ACCOUNTS, acme_ca_id(ca), ACCT_KEY_ITEM, pem, len,
                       ACME_STORE_PRIVATE, fence);
}

apr_status_t acme_account_save(acme_store_t *store, apr_pool_t *p, acme_ca_t *ca,
                               const acme_account_t *acct, const acme_store_lock_t *fence)
{
    json_t *json;
    apr_status_t rv;

    rv = save_key(store, p, ca, acct->key, fence);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    json = json_pack("{s:s, s:s, s:s, s:s}", "url", acct->url, "ca", acme_ca_url(ca),
                     "status", acct->status ? acct->status : "valid",
                     "updated", acme_time_rfc3339(p, apr_time_now()));
    if (!json) {
        return APR_ENOMEM;
    }
    acme_json_own(p, json);
    if (acct->obj) {
        json_object_set(json, "object", acct->obj);
    }
    return acme_store_save_json(store, p, ACME_SG_ACCOUNTS, acme_ca_id(ca), ACCT_JSON_ITEM, json, 0,
                                fence);
}

/* ---- ensure ------------------------------------------------------------- */

static int account_usable(const acme_account_t *acct)
{
    return acct && acct->status && !strcmp(acct->status, "valid");
}

static const char *first_contact(const acme_account_t *acct)
{
    json_t *arr = NULL;

    if (acme_json_get_arr(acct->obj, "contact", &arr) != APR_SUCCESS || json_array_size(arr) == 0) {
        return NULL;
    }
    return json_string_value(json_array_get(arr, 0));
}

/* Brings the account's contact in line with the configured e-mail. */
static apr_status_t sync_contact(acme_ca_t *ca, apr_pool_t *p, acme_account_t *acct,
                                 const acme_account_req_t *req, acme_problem_t **prob)
{
    const char *have = first_contact(acct);
    const char *want = req->email && *req->email ? apr_pstrcat(p, "mailto:", req->email, NULL) : NULL;

    if (!want || (have && !strcmp(have, want))) {
        return APR_SUCCESS;
    }
    return acme_account_update_contact(ca, p, acct, req->email, prob);
}

/* The stored key, when account.pem survived without account.json. */
static acme_key_t *stored_key(acme_store_t *store, apr_pool_t *p, acme_ca_t *ca)
{
    acme_key_t *key = NULL;
    char *pem;
    apr_size_t len;

    if (store->load(store, p, ACME_SG_ACCOUNTS, acme_ca_id(ca), ACCT_KEY_ITEM, &pem, &len) == APR_SUCCESS) {
        if (acme_key_from_pem(p, pem, len, &key) != APR_SUCCESS) {
            key = NULL;
        }
        memset(pem, 0, len);
    }
    return key;
}

/* A new key, saved before registering so a crash cannot orphan an account. */
static apr_status_t register_new(acme_ca_t *ca, acme_store_t *store, apr_pool_t *p,
                                 const acme_store_lock_t *lock, acme_key_t *key,
                                 acme_key_type_e key_type, const acme_account_req_t *req,
                                 acme_account_t **acct, acme_problem_t **prob)
{
    apr_status_t rv;

    if (!key) {
        if ((rv = register_precheck(ca, p, req, prob)) != APR_SUCCESS) {
            return rv;
        }
        if ((rv = acme_key_generate(p, key_type, &key)) != APR_SUCCESS
            || (rv = save_key(store, p, ca, key, lock)) != APR_SUCCESS) {
            *prob = local_problem(p, "urn:mod_acme:store", "cannot create and save a new account key");
            return rv;
        }
    }
    return acme_account_register(ca, p, key, req, acct, prob);
}

/* Finds the account of key at the CA, else registers one (with a new key
 * when the old key's account is no longer valid). */
static apr_status_t find_or_register(acme_ca_t *ca, acme_store_t *store, apr_pool_t *p,
                                     const acme_store_lock_t *lock, acme_key_t *key,
                                     acme_key_type_e key_type, const acme_account_req_t *req,
                                     acme_account_t **acct, acme_problem_t **prob)
{
    apr_status_t rv = APR_ENOENT;

    if (key) {
        rv = acme_account_find(ca, p, key, acct, prob);
        if (rv == APR_SUCCESS && account_usable(*acct)) {
            return APR_SUCCESS;
        }
        if (rv == APR_SUCCESS || acme_problem_is(*prob, "unauthorized")) {
            key = NULL;     /* deactivated or revoked: start over with a new key */
        }
        else if (rv != APR_ENOENT) {
            return rv;
        }
    }
    return register_new(ca, store, p, lock, key, key_type, req, acct, prob);
}

static apr_status_t ensure_locked(acme_ca_t *ca, acme_store_t *store, apr_pool_t *p,
                                  const acme_store_lock_t *lock, acme_key_type_e key_type,
                                  const acme_account_req_t *req, acme_account_t **acct,
                                  acme_problem_t **prob)
{
    const char *verified = acme_ca_account_verified(ca);
    acme_account_t *stored = NULL;
    acme_key_t *key;
    apr_status_t rv;

    rv = acme_account_load(store, p, ca, &stored);
    if (rv != APR_SUCCESS && !APR_STATUS_IS_ENOENT(rv) && rv != APR_EINVAL) {
        /* unreadable, not absent or damaged (a fleet's sealed key under a wrong
         * key file, the store unreachable): registering anew would replace the
         * account every other user of this store has */
        *prob = local_problem(p, "urn:mod_acme:store", "the stored account cannot be read");
        return rv;
    }
    if (rv == APR_SUCCESS && account_usable(stored) && verified && !strcmp(verified, stored->url)) {
        *acct = stored;
        return APR_SUCCESS;
    }
    key = stored ? (account_usable(stored) ? stored->key : NULL) : stored_key(store, p, ca);
    rv = find_or_register(ca, store, p, lock, key, key_type, req, acct, prob);
    if (rv == APR_SUCCESS) {
        rv = sync_contact(ca, p, *acct, req, prob);
    }
    if (rv == APR_SUCCESS) {
        rv = acme_account_save(store, p, ca, *acct, lock);
        if (rv != APR_SUCCESS) {
            *prob = local_problem(p, "urn:mod_acme:store", "cannot save the account in the store");
        }
    }
    if (rv == APR_SUCCESS) {
        acme_ca_account_set_verified(ca, (*acct)->url);
    }
    return rv;
}

apr_status_t acme_account_ensure(acme_ca_t *ca, acme_store_t *store, apr_pool_t *p,
                                 acme_key_type_e key_type, const acme_account_req_t *req,
                                 acme_account_t **acct, acme_problem_t **prob)
{
    static const acme_account_req_t no_req = { NULL, 0, NULL, NULL, NULL };
    acme_store_lock_t *lock;
    apr_status_t rv;

    *acct = NULL;
    *prob = NULL;
    rv = acme_ca_account_lock(ca);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* The mutex serializes this process's threads; the store lock serializes
     * processes (acmectl runs, httpd children), so a fresh store gets exactly
     * one account per CA. Registration takes a few round trips. */
    rv = store->lock(store, p, ACME_SG_ACCOUNTS, acme_ca_id(ca), ACCOUNT_LOCK_WAIT, &lock);
    if (rv != APR_SUCCESS) {
        acme_ca_account_unlock(ca);
        return rv;
    }
    rv = ensure_locked(ca, store, p, lock, key_type, req ? req : &no_req, acct, prob);
    store->unlock(lock);
    acme_ca_account_unlock(ca);
    return rv;
}

/* ---- the CA's trust file, kept next to the account ------------------------ */

apr_status_t acme_account_trust_save(acme_store_t *store, apr_pool_t *p, acme_ca_t *ca,
                                     const char *ca_file)
{
    json_t *t = NULL;
    const char *old = NULL;

    if (!ca_file || !*ca_file) {
        return APR_SUCCESS;
    }
    if (acme_store_load_json(store, p, ACME_SG_ACCOUNTS, acme_ca_id(ca), TRUST_ITEM, &t)
            == APR_SUCCESS
        && acme_json_get_str(t, "ca_file", &old) == APR_SUCCESS && old && !strcmp(old, ca_file)) {
        return APR_SUCCESS;
    }
    t = acme_json_own(p, json_pack("{s:s,s:s}", "url", acme_ca_url(ca), "ca_file", ca_file));
    return t ? acme_store_save_json(store, p, ACME_SG_ACCOUNTS, acme_ca_id(ca), TRUST_ITEM, t, 0,
                                    NULL)
             : APR_ENOMEM;
}

const char *acme_account_trust_load(acme_store_t *store, apr_pool_t *p, acme_ca_t *ca)
{
    json_t *t = NULL;
    const char *path = NULL;

    if (acme_store_load_json(store, p, ACME_SG_ACCOUNTS, acme_ca_id(ca), TRUST_ITEM, &t)
            != APR_SUCCESS
        || acme_json_get_str(t, "ca_file", &path) != APR_SUCCESS || !path || path[0] != '/') {
        return NULL;
    }
    return path;
}
