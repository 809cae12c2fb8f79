/* acme_drive.c: the domain drive (account, order, challenges, finalize, download, verify, stage) with persisted progress, backoff and CA failover. */
#include <string.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include "acme_account.h"
#include "acme_activate.h"
#include "acme_dns_check.h"
#include "acme_drive.h"
#include "acme_drive_int.h"
#include "acme_fleet.h"
#include "acme_fleet_sync.h"
#include "acme_hint.h"
#include "acme_json.h"
#include "acme_jws.h"
#include "acme_record.h"
#include "acme_order.h"
#include "acme_plan.h"
#include "acme_time.h"
#include "acme_tkauth.h"
#include "acme_tnauth.h"
#include "acme_x509.h"

#define LOCK_WAIT apr_time_from_sec(1)
/* lease left before newOrder or finalize (a fleet lease: at most half its TTL) */
#define LEASE_NEED apr_time_from_sec(30)


/* ---- the drive ---- */

static apr_status_t save_status(drive_t *dr)
{
    return acme_record_save(dr->env->store, dr->p, dr->entry, dr->status);
}

static int order_holds_key(drive_t *dr)
{
    json_t *types = json_object_get(dr->order, "types"), *prog;
    const char *name;

    json_object_foreach(types, name, prog) {
        if (json_str(prog, "key")) return 1;
    }
    return 0;
}

/* Order progress is always atomic; it is durable while it holds what the CA
 * cannot give back, a certificate key (from before its CSR is sent until the
 * drive ends): a power cut may then cost a step, not an issued certificate.
 * Before that, an order URL lost to a power cut is just ordered again. */
static apr_status_t save_order(drive_t *dr)
{
    return acme_record_order_save(dr->env->store, dr->p, dr->entry, dr->order, order_holds_key(dr),
                                  dr->lock);
}

static int has_active(drive_t *dr)
{
    acme_store_t *st = dr->env->store;
    char *data = NULL;
    apr_size_t len = 0;
    return st->load(st, dr->p, ACME_SG_DOMAINS, dr->entry,
                    acme_store_chain_item(dr->p, key_type_at(dr->d, 0)), &data, &len)
           == APR_SUCCESS;
}

static apr_status_t step_account(drive_t *dr, acme_problem_t **prob)
{
    const acme_domain_t *d = dr->d;
    acme_account_req_t req;
    apr_status_t rv;

    memset(&req, 0, sizeof(req));
    req.email = d->contact_email;
    req.tos_agreed = d->tos_agreed;
    req.eab_kid = d->eab_kid;
    req.eab_hmac = d->eab_hmac;
    rv = acme_account_ensure(dr->ca, dr->env->store, dr->p, d->account_key_type, &req,
                             &dr->acct, prob);
    if (rv != APR_SUCCESS) {
        if (*prob && acme_problem_is(*prob, "externalAccountRequired")) {
            dr->hint = hint(dr, ACME_HINT_EAB_REQUIRED, NULL, NULL, NULL);
        }
        else if (*prob && (*prob)->type && !strcmp((*prob)->type, "urn:mod_acme:tosNotAgreed")) {
            dr->hint = hint(dr, ACME_HINT_TOS, acme_ca_terms(dr->ca), NULL, NULL);
        }
        else if (*prob && d->eab_kid && (*prob)->status >= 400
                 && !acme_problem_is(*prob, "rateLimited")) {
            /* some CAs (step-ca) answer a bad binding with 500 serverInternal */
            dr->hint = hint(dr, ACME_HINT_EAB_REJECTED, NULL, NULL, NULL);
        }
        else {
            hint_transport(dr, *prob);
        }
        return fail(dr, "account", prob, problem(dr->p, "urn:mod_acme:account",
                    "cannot get an ACME account"), rv);
    }
    /* acmectl's later commands for this CA find its trust file (README "acmectl") */
    if (acme_account_trust_save(dr->env->store, dr->p, dr->ca, dr->env->ca_file) != APR_SUCCESS) {
        acme_log(dr->env->log, ACME_LOG_WARN, 0, "%s: cannot record the CA's trust file in the "
                 "store", d->id);
    }
    dr->octx.ca = dr->ca;
    dr->octx.acct = dr->acct;
    dr->octx.log = dr->env->log;
    dr->octx.cancel = dr->env->cancel;
    return APR_SUCCESS;
}

/* order.json for this CA and configuration, or a fresh one. */
static void load_order_state(drive_t *dr)
{
    json_t *o = NULL;
    if (acme_record_order_load(dr->env->store, dr->p, dr->entry, &o) == APR_SUCCESS
        && json_is_object(o)
        && json_str(o, "ca") && !strcmp(json_str(o, "ca"), dr->ca_url)
        && json_str(o, "config_hash") && !strcmp(json_str(o, "config_hash"), dr->hash)
        && json_is_object(json_object_get(o, "types"))) {
        dr->order = o;
        acme_log(dr->env->log, ACME_LOG_INFO, 0, "%s: resuming the drive from its saved order",
                 dr->d->id);
        return;
    }
    dr->order = acme_json_own(dr->p, json_pack("{s:s,s:s,s:o,s:{}}", "ca", dr->ca_url,
                                               "config_hash", dr->hash, "names", names_json(dr->d),
                                               "types"));
}

static json_t *type_progress(drive_t *dr, const char *tname)
{
    json_t *types = json_object_get(dr->order, "types");
    json_t *prog = json_object_get(types, tname);
    if (!json_is_object(prog)) {
        prog = json_object();
        json_object_set_new(types, tname, prog);
    }
    return prog;
}

/* The ARI id of the active certificate of this type, when the CA has ARI. */
static const char *replaces_id(drive_t *dr, const char *tname)
{
    apr_array_header_t *certs = NULL;
    const char *id = NULL;
    if (!dr->d->renew_via_ari || !acme_ca_endpoint(dr->ca, "renewalInfo")) return NULL;
    if (load_chain(dr->env->store, dr->p, ACME_SG_DOMAINS, dr->entry,
                   acme_store_chain_item(dr->p, tname), &certs, NULL, NULL) != APR_SUCCESS
        || acme_cert_ari_id(dr->p, APR_ARRAY_IDX(certs, 0, acme_cert_t *), &id) != APR_SUCCESS) {
        return NULL;
    }
    return id;
}

/* Before a step the CA must see only once (newOrder, finalize): the lock
 * must hold long enough for its answer to be saved under it. A file lock
 * always does; a fleet lease that cannot be kept stops the drive here. */
static apr_status_t lock_held(drive_t *dr, const char *step, acme_problem_t **prob)
{
    acme_store_t *st = dr->env->store;

    if (!dr->lock || st->hold(dr->lock, LEASE_NEED) == APR_SUCCESS) return APR_SUCCESS;
    return fail(dr, step, prob, problem(dr->p, "urn:mod_acme:fleet", "the domain's lock in "
                "the fleet store is lost or cannot be extended; nothing is sent to the CA"),
                ACME_STORE_ELOST);
}

static apr_status_t new_order(drive_t *dr, const char *tname, json_t *prog,
                              acme_order_t **order, acme_problem_t **prob)
{
    const acme_domain_t *d = dr->d;
    const char *profile = NULL, *replaces = replaces_id(dr, tname);
    apr_status_t rv;

    if ((rv = lock_held(dr, "newOrder", prob)) != APR_SUCCESS) return rv;

    if (d->profile && acme_ca_has_profile(dr->ca, d->profile)) profile = d->profile;
    else if (d->profile && d->profile_mandatory) {
        dr->hint = apr_psprintf(dr->p, "use a profile the CA offers (see \"profiles\" in its "
                                "directory), or drop 'mandatory' from ACMEProfile %s to order "
                                "without one", d->profile);
        return fail(dr, "newOrder", prob, problem(dr->p, "urn:mod_acme:profileUnavailable",
                    apr_psprintf(dr->p, "the CA %s does not offer the profile \"%s\"",
                                 dr->ca_url, d->profile)), APR_ENOTIMPL);
    }
    else if (d->profile) {
        acme_log(dr->env->log, ACME_LOG_WARN, 0, "%s: the CA %s does not offer the profile "
                 "\"%s\"; ordering without a profile", d->id, dr->ca_url, d->profile);
    }
    rv = acme_order_new(&dr->octx, dr->p, d->names, profile, replaces, order, prob);
    if (rv != APR_SUCCESS && replaces && *prob && (*prob)->status >= 400 && (*prob)->status < 500
        && !acme_problem_is(*prob, "rateLimited")) {
        /* e.g. alreadyReplaced, or a certificate from another CA: order afresh. */
        acme_log(dr->env->log, ACME_LOG_INFO, 0, "%s: newOrder with replaces=%s refused (%s); "
                 "ordering without it", d->id, replaces, acme_problem_str(dr->p, *prob));
        *prob = NULL;
        rv = acme_order_new(&dr->octx, dr->p, d->names, profile, NULL, order, prob);
    }
    if (rv != APR_SUCCESS) {
        hint_transport(dr, *prob);
        return fail(dr, "newOrder", prob, NULL, rv);
    }
    json_object_clear(prog);
    json_object_set_new(prog, "order", json_string((*order)->url));
    if ((rv = save_order(dr)) != APR_SUCCESS) {
        return fail(dr, "save order", prob, problem(dr->p, "urn:mod_acme:store",
                    "cannot save the order state"), rv);
    }
    acme_log(dr->env->log, ACME_LOG_INFO, 0, "%s: new %s order %s", d->id, tname, (*order)->url);
    return APR_SUCCESS;
}

static apr_status_t order_key(drive_t *dr, const char *tname, json_t *prog, int create,
                              acme_key_t **key)
{
    const char *pem = json_str(prog, "key");
    acme_key_type_e kt;
    char *out = NULL;
    apr_size_t len = 0;
    apr_status_t rv;

    if (pem) return acme_key_from_pem(dr->p, pem, strlen(pem), key);
    if (!create) return APR_ENOENT;
    if ((rv = acme_key_type_parse(tname, &kt)) != APR_SUCCESS
        || (rv = acme_key_generate(dr->p, kt, key)) != APR_SUCCESS
        || (rv = acme_key_to_pem(dr->p, *key, &out, &len)) != APR_SUCCESS) {
        return rv;
    }
    json_object_set_new(prog, "key", json_stringn(out, len));
    return save_order(dr);
}

static apr_status_t step_finalize(drive_t *dr, const char *tname, json_t *prog,
                                  acme_order_t **order, acme_problem_t **prob)
{
    acme_key_t *key = NULL;
    unsigned char *csr = NULL;
    apr_size_t csrlen = 0;
    apr_status_t rv;

    if ((rv = order_key(dr, tname, prog, 1, &key)) != APR_SUCCESS
        || (rv = acme_csr_create(dr->p, key, dr->d->names, &csr, &csrlen)) != APR_SUCCESS) {
        return fail(dr, "finalize", prob, problem(dr->p, "urn:mod_acme:internal",
                    "cannot create the certificate key or CSR"), rv);
    }
    if ((rv = lock_held(dr, "finalize", prob)) != APR_SUCCESS) return rv;
    if ((rv = acme_order_finalize(&dr->octx, dr->p, order, csr, csrlen, prob)) != APR_SUCCESS) {
        hint_transport(dr, *prob);
        return fail(dr, "finalize", prob, NULL, rv);
    }
    json_object_set_new(prog, "finalized", json_true());
    save_order(dr);
    return APR_SUCCESS;
}

static apr_status_t step_download(drive_t *dr, const char *tname, json_t *prog,
                                  const acme_order_t *order, acme_problem_t **prob)
{
    apr_array_header_t *certs = NULL;
    acme_key_t *key = NULL;
    char *pem = NULL;
    apr_size_t len = 0;
    apr_status_t rv;

    if (order_key(dr, tname, prog, 0, &key) != APR_SUCCESS) {
        return fail(dr, "download", prob, problem(dr->p, "urn:mod_acme:lostKey",
                    "the order is valid but its key was not saved"), APR_ENOENT);
    }
    rv = acme_cert_download(&dr->octx, dr->p, order->cert_url, dr->d->preferred_chain,
                            &pem, &len, prob);
    if (rv != APR_SUCCESS) {
        hint_transport(dr, *prob);
        return fail(dr, "download", prob, NULL, rv);
    }
    if (acme_certs_from_pem(dr->p, pem, len, &certs) != APR_SUCCESS
        || !acme_cert_matches_key(APR_ARRAY_IDX(certs, 0, acme_cert_t *), key)) {
        return fail(dr, "download", prob, problem(dr->p, "urn:mod_acme:badCertificate",
                    "the issued certificate does not match the key"), APR_EINVAL);
    }
    json_object_set_new(prog, "chain", json_stringn(pem, len));
    return save_order(dr);
}

/* Carry one order from its current status to a downloaded chain. */
static apr_status_t advance_order(drive_t *dr, const char *tname, json_t *prog,
                                  acme_order_t **order, acme_problem_t **prob)
{
    apr_status_t rv;
    if (!strcmp((*order)->status, "pending")) {
        if ((rv = acme_drive_step_authzs(dr, *order, prob)) != APR_SUCCESS) return rv;
        if ((rv = acme_order_poll(&dr->octx, dr->p, order, prob)) != APR_SUCCESS) {
            return fail(dr, "order", prob, NULL, rv);
        }
    }
    if (drive_cancelled(dr)) return APR_EINTR;
    if (!strcmp((*order)->status, "ready")) {
        if ((rv = step_finalize(dr, tname, prog, order, prob)) != APR_SUCCESS) return rv;
    }
    if (!strcmp((*order)->status, "processing")) {
        if ((rv = acme_order_poll(&dr->octx, dr->p, order, prob)) != APR_SUCCESS) {
            return fail(dr, "order", prob, NULL, rv);
        }
    }
    if (!strcmp((*order)->status, "valid")) return step_download(dr, tname, prog, *order, prob);
    return fail(dr, "order", prob, (*order)->error ? (*order)->error
                : problem(dr->p, "urn:mod_acme:orderFailed",
                          apr_psprintf(dr->p, "order %s is %s", (*order)->url, (*order)->status)),
                APR_EGENERAL);
}

/* Resume the saved order for a key type, or start one; a dead saved order
 * (gone, invalid, key lost) is replaced by a new one once. */
static apr_status_t step_type(drive_t *dr, const char *tname, acme_problem_t **prob)
{
    json_t *prog = type_progress(dr, tname);
    acme_order_t *order = NULL;
    const char *url;
    apr_status_t rv;

    if (json_str(prog, "chain")) return APR_SUCCESS;
    if ((url = json_str(prog, "order"))) {
        acme_problem_t *rprob = NULL;
        rv = acme_order_get(&dr->octx, dr->p, url, &order, &rprob);
        if (rv == APR_SUCCESS && strcmp(order->status, "invalid")
            && (!strcmp(order->status, "pending") || !strcmp(order->status, "ready")
                || json_str(prog, "key"))) {
            acme_log(dr->env->log, ACME_LOG_INFO, 0, "%s: resuming %s order %s (%s)",
                     dr->d->id, tname, url, order->status);
            return advance_order(dr, tname, prog, &order, prob);
        }
        if (rv != APR_SUCCESS && rprob && (rprob->status == 0 || rprob->status >= 500
                                           || acme_problem_is(rprob, "rateLimited"))) {
            *prob = rprob;   /* CA unreachable: keep the order for the next attempt */
            hint_transport(dr, rprob);
            return fail(dr, "order", prob, NULL, rv);
        }
        acme_log(dr->env->log, ACME_LOG_INFO, 0, "%s: saved %s order %s is unusable (%s); "
                 "starting a new one", dr->d->id, tname, url,
                 rv == APR_SUCCESS ? order->status : acme_problem_str(dr->p, rprob));
    }
    if ((rv = new_order(dr, tname, prog, &order, prob)) != APR_SUCCESS) return rv;
    return advance_order(dr, tname, prog, &order, prob);
}

static apr_status_t stage_save(drive_t *dr, const char *item, const char *data, int priv)
{
    acme_store_t *st = dr->env->store;
    return st->save(st, dr->p, ACME_SG_STAGING, dr->entry, item, data, strlen(data), priv, NULL);
}

static json_t *key_types_json(const acme_domain_t *d)
{
    json_t *a = json_array();
    int i;
    for (i = 0; i < n_key_types(d); ++i) json_array_append_new(a, json_string(key_type_at(d, i)));
    return a;
}

/* The staged set read back and verified as activation will (acme_activate). */
static apr_status_t verify_staged(drive_t *dr, const char **why)
{
    acme_cert_set_t *set;
    apr_status_t rv = acme_set_read(dr->env->store, dr->p, ACME_SG_STAGING, dr->d, 1, &set, why);

    if (APR_STATUS_IS_ENOENT(rv)) {
        *why = ACME_SET_META " is missing";
        return APR_EINVAL;
    }
    if (rv == APR_SUCCESS && (*why = acme_set_verify(dr->p, set, apr_time_now()))) {
        rv = APR_EINVAL;
    }
    return rv;
}

/* Write the whole set to staging/<id>/ (meta.json last) and verify it there. */
static apr_status_t step_stage(drive_t *dr, acme_problem_t **prob)
{
    acme_store_t *st = dr->env->store;
    json_t *meta;
    const char *why = NULL;
    apr_status_t rv = APR_SUCCESS;
    int i;

    st->remove(st, dr->p, ACME_SG_STAGING, dr->entry, NULL, NULL);
    for (i = 0; rv == APR_SUCCESS && i < n_key_types(dr->d); ++i) {
        const char *t = key_type_at(dr->d, i);
        json_t *prog = type_progress(dr, t);
        const char *chain = json_str(prog, "chain"), *key = json_str(prog, "key");
        if (!chain || !key) { rv = APR_EINVAL; break; }
        if ((rv = stage_save(dr, acme_store_chain_item(dr->p, t), chain, 0)) == APR_SUCCESS
            && (rv = stage_save(dr, acme_store_pkey_item(dr->p, t), key, 1)) == APR_SUCCESS
            && i == 0 && (rv = stage_save(dr, "fullchain.pem", chain, 0)) == APR_SUCCESS) {
            rv = stage_save(dr, "privkey.pem", key, 1);
        }
    }
    if (rv == APR_SUCCESS) {
        meta = acme_json_own(dr->p, json_pack("{s:s,s:o,s:o,s:s,s:s}", "name", dr->d->id,
                                              "names", names_json(dr->d),
                                              "key_types", key_types_json(dr->d),
                                              "config_hash", dr->hash, "ca", dr->ca_url));
        set_time(dr->p, meta, "created", apr_time_now());
        rv = acme_store_save_json(st, dr->p, ACME_SG_STAGING, dr->entry, ACME_SET_META, meta, 0, NULL);
    }
    if (rv != APR_SUCCESS) {
        st->remove(st, dr->p, ACME_SG_STAGING, dr->entry, NULL, NULL);
        return fail(dr, "staging", prob, problem(dr->p, "urn:mod_acme:store",
                    "cannot write the new certificates to staging"), rv);
    }
    if ((rv = verify_staged(dr, &why)) != APR_SUCCESS) {
        st->remove(st, dr->p, ACME_SG_STAGING, dr->entry, NULL, NULL);
        /* A bad result must not be resumed forever. */
        acme_record_order_drop(st, dr->p, dr->entry, dr->lock);
        return fail(dr, "verify", prob, problem(dr->p, "urn:mod_acme:verifyFailed",
                    apr_psprintf(dr->p, "the new certificates failed verification: %s", why)),
                    rv);
    }
    return APR_SUCCESS;
}

/* In a fleet, the staged set becomes the fleet's only as a fenced publish: a
 * node that lost its lock (paused, cut off) drops what it staged, so every
 * node ends on the set the live lock holder published. */
static apr_status_t step_publish(drive_t *dr, acme_problem_t **prob)
{
    acme_store_t *st = dr->env->store;
    apr_status_t rv = acme_fleet_publish_staged(st, dr->p, dr->d, dr->lock, dr->env->log);

    if (rv == APR_SUCCESS) return APR_SUCCESS;
    st->remove(st, dr->p, ACME_SG_STAGING, dr->entry, NULL, NULL);
    return fail(dr, "publish", prob, problem(dr->p, "urn:mod_acme:fleet",
                rv == ACME_STORE_ELOST ? "this node lost the domain's fleet lock before it "
                "could publish; the set of the node that holds it now is served"
                : rv == ACME_FLEET_ESTALE ? "another node published a set for this domain "
                "first; that one is served" : "the new certificates cannot be published to "
                "the fleet store"), rv);
}

/* After taking the lock: a set another node of the fleet published is taken
 * as it is, no order at the CA. 1 when staged; -1 when the fleet's set
 * cannot be read (the drive must fail closed). */
static int drive_synced(drive_t *dr, acme_drive_result_t *res)
{
    acme_cert_set_t *set = NULL;
    const char *from = NULL;
    apr_status_t rv;
    int newer = acme_fleet_newer(dr->env->store, dr->p, dr->d, apr_time_now(), dr->env->log,
                                 &set, &from);

    if (newer <= 0) {
        return newer;
    }
    if ((rv = acme_fleet_stage(dr->env->store, dr->p, set)) != APR_SUCCESS) {
        acme_log(dr->env->log, ACME_LOG_ERR, rv, "%s: the fleet's set (%s) cannot be staged",
                 dr->d->id, from);
        return 0;
    }
    res->staged = 1;
    acme_log(dr->env->log, ACME_LOG_NOTICE, 0, "%s: certificates published in the fleet (%s) "
             "are staged", dr->d->id, from);
    return 1;
}

static apr_status_t drive_steps(drive_t *dr, acme_problem_t **prob)
{
    apr_status_t rv;
    int i;

    if ((rv = step_account(dr, prob)) != APR_SUCCESS) return rv;
    if (dr->probe_url) {
        /* The CA answers: the drives waiting for that need not wait for the
         * rest of this one (a DNS hook, the propagation check). */
        acme_careg_answered(dr->env->cas, dr->probe_url);
        acme_careg_leave(dr->env->cas, dr->probe_url);
        dr->probe_url = NULL;
    }
    load_order_state(dr);
    for (i = 0; i < n_key_types(dr->d); ++i) {
        if (drive_cancelled(dr)) return APR_EINTR;
        if ((rv = step_type(dr, key_type_at(dr->d, i), prob)) != APR_SUCCESS) return rv;
    }
    if (drive_cancelled(dr)) return APR_EINTR;
    if ((rv = step_stage(dr, prob)) != APR_SUCCESS) return rv;
    return step_publish(dr, prob);
}

static void teardown_all(drive_t *dr)
{
    acme_responder_t *r = dr->env->responder;
    int i;
    for (i = 0; i < dr->setups->nelts; ++i) {
        setup_t *s = APR_ARRAY_IDX(dr->setups, i, setup_t *);
        apr_status_t rv = r->teardown(r, dr->p, s->type, s->name, s->token, s->keyauth);
        if (rv != APR_SUCCESS) {
            acme_log(dr->env->log, ACME_LOG_WARN, rv, "%s: removing the %s answer for %s failed",
                     dr->d->id, s->type, s->name);
        }
    }
}

/* Renewal time of a fresh set: the window rule, or ARI when the CA has it. */
static void record_renewal(drive_t *dr)
{
    json_t *prog = type_progress(dr, key_type_at(dr->d, 0));
    const char *chain = json_str(prog, "chain"), *id = NULL;
    apr_array_header_t *certs = NULL;
    acme_cert_info_t *info = NULL;
    apr_time_t at;

    if (!chain || acme_certs_from_pem(dr->p, chain, strlen(chain), &certs) != APR_SUCCESS
        || leaf_info(dr->p, certs, &info) != APR_SUCCESS) {
        return;
    }
    at = acme_plan_renew_at(info->not_before, info->not_after, dr->d->renew_window_pct,
                            dr->d->renew_window);
    acme_drive_put_renewal(dr->p, dr->status, at, "window");
    if (dr->d->renew_via_ari && acme_ca_endpoint(dr->ca, "renewalInfo")
        && acme_cert_ari_id(dr->p, APR_ARRAY_IDX(certs, 0, acme_cert_t *), &id) == APR_SUCCESS) {
        acme_drive_ari_ask(dr->ca, dr->p, dr->env->log, dr->d->id, dr->status, id, apr_time_now());
    }
}

static void drive_succeeded(drive_t *dr, acme_drive_result_t *res)
{
    acme_store_t *st = dr->env->store;
    apr_time_t now = apr_time_now();

    acme_record_order_drop(st, dr->p, dr->entry, dr->lock);
    acme_record_renew_done(st, dr->p, dr->entry);
    json_object_set_new(dr->status, "state", json_string("valid"));
    json_object_set_new(dr->status, "failures", json_integer(0));
    json_object_del(dr->status, "last_error");
    json_object_del(dr->status, "failing_since");
    acme_record_set_next_attempt(dr->p, dr->status, 0);
    json_object_del(dr->status, "ari");
    set_time(dr->p, dr->status, "last_success", now);
    acme_careg_answered(dr->env->cas, dr->ca_url);
    record_renewal(dr);
    save_status(dr);
    res->staged = 1;
    acme_log(dr->env->log, ACME_LOG_NOTICE, 0, "%s: new certificates from %s are staged and "
             "verified", dr->d->id, dr->ca_url);
}

static void drive_failed(drive_t *dr, acme_problem_t *prob, apr_status_t rv,
                         acme_drive_result_t *res)
{
    acme_drive_env_t *env = dr->env;
    int n = dr->d->ca_urls ? dr->d->ca_urls->nelts : 1;
    int after = env->ca_failover_after > 0 ? env->ca_failover_after : ACME_DEFAULT_FAILOVER_AFTER;
    int failures = json_intval(dr->status, "failures") + 1;
    apr_time_t now = apr_time_now(), next;
    apr_interval_time_t delay;
    const char *msg;
    json_t *err;

    if (!prob) prob = problem(dr->p, "urn:mod_acme:internal", "drive failed");
    delay = acme_plan_backoff(env->retry_delay > 0 ? env->retry_delay : ACME_DEFAULT_RETRY_DELAY,
                              failures, prob->retry_after);
    next = acme_plan_whole_sec(now + delay);
    if (dr->hint && dr->hint_has_detail) {
        msg = apr_psprintf(dr->p, "%s failed at %s (%s): %s", dr->step ? dr->step : "drive",
                           dr->ca_url, prob->type ? prob->type : "about:blank", dr->hint);
    }
    else {
        msg = apr_psprintf(dr->p, "%s failed at %s: %s%s%s", dr->step ? dr->step : "drive",
                           dr->ca_url, acme_problem_str(dr->p, prob), dr->hint ? "; " : "",
                           dr->hint ? dr->hint : "");
    }
    /* the problem says what failed; an APR status next to it says nothing more */
    acme_log(env->log, ACME_LOG_ERR, 0, "%s: %s; next attempt at %s", dr->d->id, msg,
             acme_time_rfc3339(dr->p, next));
    if (n > 1 && failures % after == 0) {
        dr->ca_index = (dr->ca_index + 1) % n;
        acme_record_order_drop(env->store, dr->p, dr->entry, dr->lock);
        acme_log(env->log, ACME_LOG_WARN, 0, "%s: %d failures with %s; switching to %s",
                 dr->d->id, failures, dr->ca_url,
                 APR_ARRAY_IDX(dr->d->ca_urls, dr->ca_index, const char *));
    }
    err = json_pack("{s:s,s:s}", "type", prob->type ? prob->type : "about:blank",
                    "detail", prob->detail ? prob->detail : "");
    set_time(dr->p, err, "at", now);
    if (dr->hint) json_object_set_new(err, "hint", json_string(dr->hint));
    if (dr->step) json_object_set_new(err, "step", json_string(dr->step));
    json_object_set_new(dr->status, "last_error", err);
    json_object_set_new(dr->status, "state", json_string("error"));
    json_object_set_new(dr->status, "failures", json_integer(failures));
    if (!json_str(dr->status, "failing_since")) set_time(dr->p, dr->status, "failing_since", now);
    json_object_set_new(dr->status, "ca_index", json_integer(dr->ca_index));
    json_object_set_new(dr->status, "ca",
                        json_string(APR_ARRAY_IDX(dr->d->ca_urls, dr->ca_index, const char *)));
    acme_record_set_next_attempt(dr->p, dr->status, next);
    save_status(dr);
    if (prob->type && !strcmp(prob->type, "urn:mod_acme:transport")) {
        acme_careg_unreachable(env->cas, dr->ca_url, now, env->retry_delay, prob->detail);
    }
    else {
        acme_careg_answered(env->cas, dr->ca_url);
    }
    res->error = prob;
    res->message = msg;
    res->next_attempt = next;
}

/* status.json as it stands, adjusted for a changed configuration. */
static apr_status_t drive_begin(drive_t *dr)
{
    const acme_domain_t *d = dr->d;
    json_t *st = NULL;
    const char *old;
    int n = d->ca_urls ? d->ca_urls->nelts : 0;
    apr_status_t rv;

    if (n == 0) return APR_EINVAL;
    if (acme_record_load(dr->env->store, dr->p, dr->entry, &st) != APR_SUCCESS) {
        st = acme_json_own(dr->p, json_object());
    }
    dr->status = st;
    old = json_str(st, "config_hash");
    if (old && strcmp(old, dr->hash)) {
        /* New configuration: start over with the first CA and no backoff. */
        json_object_set_new(st, "failures", json_integer(0));
        json_object_set_new(st, "ca_index", json_integer(0));
        json_object_del(st, "ari");
    }
    dr->ca_index = json_intval(st, "ca_index");
    if (dr->ca_index >= n) dr->ca_index = 0;
    dr->ca_url = APR_ARRAY_IDX(d->ca_urls, dr->ca_index, const char *);
    if ((rv = acme_ca_registry_get(dr->env->cas, dr->ca_url, &dr->ca)) != APR_SUCCESS) return rv;
    json_object_set_new(st, "names", names_json(d));
    json_object_set_new(st, "ca", json_string(dr->ca_url));
    json_object_set_new(st, "ca_index", json_integer(dr->ca_index));
    json_object_set_new(st, "config_hash", json_string(dr->hash));
    json_object_set_new(st, "state", json_string(has_active(dr) ? "renewing" : "pending"));
    if (!json_object_get(st, "failures")) json_object_set_new(st, "failures", json_integer(0));
    return save_status(dr);
}

static apr_status_t drive_locked(drive_t *dr, acme_drive_result_t *res)
{
    acme_problem_t *prob = NULL;
    apr_status_t rv = drive_begin(dr);
    int synced;

    if (rv != APR_SUCCESS) {
        acme_log(dr->env->log, ACME_LOG_ERR, rv, "%s: cannot start the drive (CA list or "
                 "store state)", dr->d->id);
        return rv;
    }
    if ((synced = drive_synced(dr, res)) > 0) return APR_SUCCESS;
    if (synced < 0) {
        rv = fail(dr, "fleet", &prob, problem(dr->p, "urn:mod_acme:fleet", "the fleet's "
                  "published certificates cannot be read or opened (see the error above); "
                  "nothing is ordered until they can"), APR_EACCES);
        drive_failed(dr, prob, rv, res);
        return rv;
    }
    rv = drive_steps(dr, &prob);
    teardown_all(dr);
    if (rv == APR_SUCCESS) drive_succeeded(dr, res);
    else if (rv == APR_EINTR || drive_cancelled(dr)) {
        acme_log(dr->env->log, ACME_LOG_INFO, 0, "%s: drive interrupted; it resumes later",
                 dr->d->id);
        rv = APR_EINTR;
    }
    else drive_failed(dr, prob, rv, res);
    return rv;
}

/* A domain waiting for its unreachable CAs shows the outage in its status
 * (state, the error, the retry time) once, not once per retry. */
static void record_ca_wait(acme_drive_env_t *env, apr_pool_t *p, const acme_domain_t *d,
                           const ca_down_t *down, const char *url, apr_time_t until)
{
    acme_store_t *st = env->store;
    acme_store_lock_t *lock = NULL;
    const char *entry = acme_store_entry(p, d->id);
    json_t *status = NULL, *err;

    if (!entry || st->lock(st, p, ACME_SG_STATE, entry, 0, &lock) != APR_SUCCESS) {
        return;
    }
    if (acme_record_load(st, p, entry, &status) != APR_SUCCESS) {
        status = acme_json_own(p, json_object());
    }
    err = json_object_get(status, "last_error");
    /* Written once per outage: not when the status shows an unreachable CA
     * already (this outage, or the one a restarted httpd inherited). */
    if (!json_is_object(err) || !json_str(err, "type")
        || strcmp(json_str(err, "type"), "urn:mod_acme:transport")) {
        err = json_pack("{s:s,s:s,s:s,s:s}", "type", "urn:mod_acme:transport", "detail",
                        down->detail, "step", "directory", "hint",
                        acme_hint(p, env->ui, ACME_HINT_UNREACHABLE, url, NULL, NULL));
        set_time(p, err, "at", down->since);
        json_object_set_new(status, "last_error", err);
        json_object_set_new(status, "state", json_string("error"));
        if (!json_str(status, "failing_since")) set_time(p, status, "failing_since", down->since);
        acme_record_set_next_attempt(p, status, until);
        acme_record_save(st, p, entry, status);
    }
    st->unlock(lock);
}

apr_time_t acme_drive_ca_wait(acme_drive_env_t *env, apr_pool_t *p, const acme_domain_t *d,
                              apr_time_t now, int record)
{
    apr_time_t first = 0;
    ca_down_t down, at_first;
    int i;

    if (!env->cas || !d->ca_urls || d->ca_urls->nelts == 0) return 0;
    for (i = 0; i < d->ca_urls->nelts; ++i) {
        if (!acme_careg_down(env->cas, APR_ARRAY_IDX(d->ca_urls, i, const char *), now, &down)) return 0;
        if (!first || down.until < first) {
            first = down.until;
            at_first = down;
        }
    }
    if (record) {
        record_ca_wait(env, p, d, &at_first, APR_ARRAY_IDX(d->ca_urls, 0, const char *), first);
    }
    return first;
}

/* The CA the drive of d will use (status.json's ca_index, as drive_begin
 * picks it), read without the lock: whose first attempt to wait for. */
static const char *next_ca_url(acme_drive_env_t *env, apr_pool_t *p, const acme_domain_t *d,
                               const char *entry)
{
    json_t *st = NULL;
    const char *h, *hash;
    int i = 0;

    if (acme_record_load(env->store, p, entry, &st) == APR_SUCCESS
        && !((h = json_str(st, "config_hash")) && (hash = acme_domain_config_hash(p, d))
             && strcmp(h, hash))) {
        i = json_intval(st, "ca_index");
    }
    return APR_ARRAY_IDX(d->ca_urls, i < d->ca_urls->nelts ? i : 0, const char *);
}

/* acme_drive_run once the CA's first attempt (another drive's) is over. */
static apr_status_t drive_gated(drive_t *dr, acme_drive_result_t *res)
{
    acme_drive_env_t *env = dr->env;
    acme_store_t *st = env->store;
    apr_status_t rv;

    if (drive_cancelled(dr)) {
        return APR_EINTR;
    }
    if ((res->next_attempt = acme_drive_ca_wait(env, dr->p, dr->d, apr_time_now(), 1)) != 0) {
        acme_log(env->log, ACME_LOG_DEBUG, 0, "%s: no CA of this domain is reachable; the "
                 "drive waits until %s", dr->d->id, acme_time_rfc3339(dr->p, res->next_attempt));
        return APR_EAGAIN;
    }
    if (!(dr->hash = acme_domain_config_hash(dr->p, dr->d))) {
        return APR_ENOMEM;
    }
    dr->setups = apr_array_make(dr->p, 4, sizeof(setup_t *));
    rv = st->lock(st, dr->p, ACME_SG_STATE, dr->entry, LOCK_WAIT, &dr->lock);
    if (rv == APR_TIMEUP || APR_STATUS_IS_EBUSY(rv)) return APR_EBUSY;
    if (rv != APR_SUCCESS) {
        acme_log(env->log, ACME_LOG_ERR, rv, "%s: cannot lock the store entry", dr->d->id);
        return rv;
    }
    rv = drive_locked(dr, res);
    st->unlock(dr->lock);
    return rv;
}

apr_status_t acme_drive_run(acme_drive_env_t *env, apr_pool_t *p, const acme_domain_t *d,
                            acme_drive_result_t *res)
{
    const char *url;
    drive_t dr;
    apr_status_t rv;
    int probe;

    memset(res, 0, sizeof(*res));
    memset(&dr, 0, sizeof(dr));
    dr.env = env;
    dr.p = p;
    dr.d = d;
    if (!env->store || !env->cas || !env->responder
        || !(dr.entry = acme_store_entry(p, d->id)) || n_key_types(d) == 0
        || !d->names || d->names->nelts == 0 || !d->ca_urls || d->ca_urls->nelts == 0) {
        return APR_EINVAL;
    }
    url = next_ca_url(env, p, d, dr.entry);
    probe = acme_careg_enter(env->cas, url, env->cancel);
    dr.probe_url = probe ? url : NULL;
    rv = drive_gated(&dr, res);
    if (dr.probe_url) {
        acme_careg_leave(env->cas, url);
    }
    return rv;
}

