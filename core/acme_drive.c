/* acme_drive.c: the domain drive (account, order, challenges, finalize, download, verify, stage) with persisted progress, backoff, CA failover and renewal decisions. */
#include <string.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include "acme_account.h"
#include "acme_activate.h"
#include "acme_dns_check.h"
#include "acme_drive.h"
#include "acme_fleet.h"
#include "acme_fleet_sync.h"
#include "acme_hint.h"
#include "acme_json.h"
#include "acme_jws.h"
#include "acme_mark.h"
#include "acme_order.h"
#include "acme_plan.h"
#include "acme_time.h"
#include "acme_tkauth.h"
#include "acme_tnauth.h"
#include "acme_x509.h"

#define STATUS_ITEM "status.json"
#define ORDER_ITEM "order.json"
#define RENEW_ITEM ACME_MARK_RENEW_ITEM
#define META_ITEM ACME_SET_META
#define LOCK_WAIT apr_time_from_sec(1)
/* lease left before newOrder or finalize (a fleet lease: at most half its TTL) */
#define LEASE_NEED apr_time_from_sec(30)
#define DEFAULT_RETRY_DELAY apr_time_from_sec(5)
#define DEFAULT_FAILOVER_AFTER 3
#define ARI_ERROR_RETRY apr_time_from_sec(3600)
#define MAX_EXPLANATION_URL 1024

static int put_renewal(apr_pool_t *p, json_t *status, apr_time_t at, const char *source);
static apr_time_t ari_ask(acme_ca_t *ca, apr_pool_t *p, const acme_logger_t *log,
                          const char *domain, json_t *status, const char *cert_id, apr_time_t now);

/* ---- CA registry ---- */

struct acme_ca_registry_t {
    apr_pool_t *pool;
    apr_thread_mutex_t *mutex;
    apr_hash_t *cas;
    apr_hash_t *down;           /* url -> ca_down_t*: unreachable until then */
    acme_http_t *http;
    const acme_logger_t *log;
    acme_ca_observer_t obs;
};

apr_status_t acme_ca_registry_create(apr_pool_t *p, const acme_http_opts_t *http_opts,
                                     const acme_logger_t *log, acme_ca_registry_t **reg)
{
    acme_ca_registry_t *r = apr_pcalloc(p, sizeof(*r));
    apr_status_t rv;

    r->pool = p;
    r->log = log;
    r->cas = apr_hash_make(p);
    r->down = apr_hash_make(p);
    if ((rv = apr_thread_mutex_create(&r->mutex, APR_THREAD_MUTEX_DEFAULT, p)) != APR_SUCCESS
        || (rv = acme_http_create(p, http_opts, log, &r->http)) != APR_SUCCESS) {
        return rv;
    }
    *reg = r;
    return APR_SUCCESS;
}

apr_status_t acme_ca_registry_get(acme_ca_registry_t *reg, const char *url, acme_ca_t **ca)
{
    apr_status_t rv = APR_SUCCESS;
    if (!url || !*url) return APR_EINVAL;
    apr_thread_mutex_lock(reg->mutex);
    *ca = apr_hash_get(reg->cas, url, APR_HASH_KEY_STRING);
    if (!*ca) {
        /* Created under the mutex: the registry's pool is not thread-safe. */
        rv = acme_ca_create(reg->pool, url, reg->http, reg->log, ca);
        if (rv == APR_SUCCESS) {
            acme_ca_set_observer(*ca, &reg->obs);
            apr_hash_set(reg->cas, apr_pstrdup(reg->pool, url), APR_HASH_KEY_STRING, *ca);
        }
    }
    apr_thread_mutex_unlock(reg->mutex);
    return rv;
}

void acme_ca_registry_set_observer(acme_ca_registry_t *reg, const acme_ca_observer_t *obs)
{
    apr_thread_mutex_lock(reg->mutex);
    if (obs) reg->obs = *obs;
    apr_thread_mutex_unlock(reg->mutex);
}

/* A CA that could not be reached is left alone for a while: the drives of
 * its other domains wait without a request, so an outage costs one attempt
 * per period, not one per domain. The period is the CA's own backoff (from
 * ACMERetryDelay, doubling, at most CA_DOWN_MAX), never a domain's; any
 * answer from the CA ends it. */
#define CA_DOWN_MAX apr_time_from_sec(600)

typedef struct ca_down_t {
    apr_time_t since, until;    /* this outage; until <= now: reachable */
    int failures;               /* attempts in a row that did not reach it */
    char detail[256];           /* the failure, for the status of waiting domains */
    int reached;                /* the last attempt got an answer */
    int probing;                /* a drive is trying it; the others wait for the outcome */
} ca_down_t;

/* The record of url, made when missing; call with reg->mutex held. */
static ca_down_t *ca_record(acme_ca_registry_t *reg, const char *url)
{
    ca_down_t *t = apr_hash_get(reg->down, url, APR_HASH_KEY_STRING);

    if (!t) {
        t = apr_pcalloc(reg->pool, sizeof(*t));
        apr_hash_set(reg->down, apr_pstrdup(reg->pool, url), APR_HASH_KEY_STRING, t);
    }
    return t;
}

static void ca_unreachable(acme_ca_registry_t *reg, const char *url, apr_time_t now,
                           apr_interval_time_t first_delay, const char *detail)
{
    apr_interval_time_t delay = first_delay > 0 ? first_delay : DEFAULT_RETRY_DELAY;
    ca_down_t *t;
    int i;

    apr_thread_mutex_lock(reg->mutex);
    t = ca_record(reg, url);
    t->reached = 0;
    if (t->until <= now) t->since = now;        /* a new outage */
    for (i = t->failures++; i > 0 && delay < CA_DOWN_MAX; --i) delay *= 2;
    t->until = acme_plan_whole_sec(now + (delay < CA_DOWN_MAX ? delay : CA_DOWN_MAX));
    apr_cpystrn(t->detail, detail ? detail : "", sizeof(t->detail));
    apr_thread_mutex_unlock(reg->mutex);
}

static void ca_answered(acme_ca_registry_t *reg, const char *url)
{
    ca_down_t *t;

    apr_thread_mutex_lock(reg->mutex);
    t = ca_record(reg, url);
    t->until = 0;
    t->failures = 0;
    t->reached = 1;
    apr_thread_mutex_unlock(reg->mutex);
}

#define PROBE_POLL apr_time_from_msec(100)
#define PROBE_WAIT_MAX apr_time_from_sec(300)

/* Before a drive talks to url: while another drive tries a CA whose state is
 * not known, wait for its outcome (bounded; cancel ends the wait). 1 when
 * this drive is the one that tries it now (it calls ca_leave afterwards). */
static int ca_enter(acme_ca_registry_t *reg, const char *url, volatile int *cancel)
{
    apr_time_t deadline = apr_time_now() + PROBE_WAIT_MAX;
    ca_down_t *t;
    int probe = 0;

    apr_thread_mutex_lock(reg->mutex);
    t = ca_record(reg, url);
    while (t->probing && !(cancel && *cancel) && apr_time_now() < deadline) {
        apr_thread_mutex_unlock(reg->mutex);
        apr_sleep(PROBE_POLL);
        apr_thread_mutex_lock(reg->mutex);
    }
    if (!t->probing && !t->reached && t->until <= apr_time_now()) {
        t->probing = probe = 1;
    }
    apr_thread_mutex_unlock(reg->mutex);
    return probe;
}

static void ca_leave(acme_ca_registry_t *reg, const char *url)
{
    apr_thread_mutex_lock(reg->mutex);
    ca_record(reg, url)->probing = 0;
    apr_thread_mutex_unlock(reg->mutex);
}

/* The mark of url if it is down at now (copied: others may update it). */
static int ca_down(acme_ca_registry_t *reg, const char *url, apr_time_t now, ca_down_t *out)
{
    ca_down_t *t;
    int down = 0;

    apr_thread_mutex_lock(reg->mutex);
    t = apr_hash_get(reg->down, url, APR_HASH_KEY_STRING);
    if (t && t->until > now) {
        *out = *t;
        down = 1;
    }
    apr_thread_mutex_unlock(reg->mutex);
    return down;
}

/* ---- small helpers ---- */

static const char *key_type_at(const acme_domain_t *d, int i)
{
    return acme_key_type_name(APR_ARRAY_IDX(d->key_types, i, acme_key_type_e));
}

static int n_key_types(const acme_domain_t *d)
{
    return d->key_types ? d->key_types->nelts : 0;
}

static const char *json_str(const json_t *obj, const char *key)
{
    const char *s = NULL;
    return acme_json_get_str(obj, key, &s) == APR_SUCCESS ? s : NULL;
}

static int json_intval(const json_t *obj, const char *key)
{
    json_int_t v = 0;
    if (acme_json_get_int(obj, key, &v) != APR_SUCCESS || v < 0 || v > 1000000) return 0;
    return (int)v;
}

static apr_time_t json_time(const json_t *obj, const char *key)
{
    const char *s = json_str(obj, key);
    apr_time_t t = 0;
    if (!s || acme_time_parse_rfc3339(s, &t) != APR_SUCCESS) return 0;
    return t;
}

static void set_time(apr_pool_t *p, json_t *obj, const char *key, apr_time_t t)
{
    json_object_set_new(obj, key, json_string(acme_time_rfc3339(p, t)));
}

static json_t *names_json(const acme_domain_t *d)
{
    json_t *a = json_array();
    int i;
    for (i = 0; a && d->names && i < d->names->nelts; ++i) {
        json_array_append_new(a, json_string(APR_ARRAY_IDX(d->names, i, const char *)));
    }
    return a;
}

static acme_problem_t *problem(apr_pool_t *p, const char *type, const char *detail)
{
    acme_problem_t *pr = apr_pcalloc(p, sizeof(*pr));
    pr->type = type;
    pr->detail = detail;
    return pr;
}

/* Leaf + chain from a PEM item of the store; APR_ENOENT when absent. */
static apr_status_t load_chain(acme_store_t *st, apr_pool_t *p, acme_store_group_e g,
                               const char *entry, const char *item, apr_array_header_t **certs,
                               char **pem, apr_size_t *len)
{
    char *data = NULL;
    apr_size_t dlen = 0;
    apr_status_t rv = st->load(st, p, g, entry, item, &data, &dlen);
    if (rv != APR_SUCCESS) return rv;
    if (pem) *pem = data;
    if (len) *len = dlen;
    return acme_certs_from_pem(p, data, dlen, certs);
}

static apr_status_t leaf_info(apr_pool_t *p, const apr_array_header_t *certs,
                              acme_cert_info_t **info)
{
    return acme_cert_info(p, APR_ARRAY_IDX(certs, 0, acme_cert_t *), info);
}

/* ---- the drive ---- */

typedef struct {
    const char *type, *name, *token, *keyauth;
    const acme_challenge_t *ch;
    int answered;                /* the CA was told already (tkauth-01) */
} setup_t;

typedef struct {
    acme_drive_env_t *env;
    apr_pool_t *p;
    const acme_domain_t *d;
    const char *entry;
    const char *hash;
    json_t *status;              /* state/<id>/status.json */
    json_t *order;               /* state/<id>/order.json (private: holds keys) */
    acme_ca_t *ca;
    const char *ca_url;
    int ca_index;
    acme_account_t *acct;
    acme_order_ctx_t octx;
    apr_array_header_t *setups;  /* setup_t: challenges to tear down */
    const char *step;            /* what failed */
    const char *hint;            /* what to do about it */
    int hint_has_detail;         /* the hint already quotes the CA's detail */
    const char *probe_url;       /* this drive is the first to try that CA (ca_enter) */
    acme_store_lock_t *lock;     /* the domain's lock: order progress is written under it */
} drive_t;

static int drive_cancelled(const drive_t *dr)
{
    return dr->env->cancel && *dr->env->cancel;
}

/* The status record is rewritten by every drive: atomic, not worth an fsync. */
static apr_status_t save_status(drive_t *dr)
{
    return acme_store_save_json(dr->env->store, dr->p, ACME_SG_STATE, dr->entry, STATUS_ITEM,
                                dr->status, ACME_STORE_REGENERABLE, NULL);
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
    return acme_store_save_json(dr->env->store, dr->p, ACME_SG_STATE, dr->entry, ORDER_ITEM,
                                dr->order, ACME_STORE_PRIVATE
                                | (order_holds_key(dr) ? 0 : ACME_STORE_REGENERABLE), dr->lock);
}

static apr_status_t fail(drive_t *dr, const char *step, acme_problem_t **prob, acme_problem_t *pr,
                         apr_status_t rv)
{
    dr->step = step;
    if (prob && !*prob) *prob = pr;
    return rv == APR_SUCCESS ? APR_EGENERAL : rv;
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

static const char *hint(drive_t *dr, acme_hint_e h, const char *a, const char *b, const char *c)
{
    return acme_hint(dr->p, dr->env->ui, h, a, b, c);
}

static void hint_transport(drive_t *dr, const acme_problem_t *pr)
{
    if (pr && pr->type && !strcmp(pr->type, "urn:mod_acme:transport")) {
        dr->hint = hint(dr, ACME_HINT_UNREACHABLE, dr->ca_url, NULL, NULL);
    }
    else if (pr && acme_problem_is(pr, "rateLimited")) {
        dr->hint = hint(dr, ACME_HINT_RATE_LIMITED, NULL, NULL, NULL);
    }
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
    if (acme_store_load_json(dr->env->store, dr->p, ACME_SG_STATE, dr->entry, ORDER_ITEM, &o)
            == APR_SUCCESS
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

static void challenge_hint(drive_t *dr, const setup_t *s, const acme_problem_t *pr)
{
    const char *detail = pr ? pr->detail : NULL;
    dr->hint_has_detail = 1;
    if (!strcmp(s->type, "http-01")) {
        dr->hint = hint(dr, ACME_HINT_HTTP01, s->name, s->token, detail);
    }
    else if (!strcmp(s->type, "tkauth-01")) {
        dr->hint = hint(dr, ACME_HINT_TKAUTH01,
                        acme_tnauth_describe_value(dr->p, acme_tnauth_name_value(s->name)), NULL,
                        detail);
    }
    else if (!strcmp(s->type, "tls-alpn-01")) {
        dr->hint = hint(dr, ACME_HINT_TLSALPN01, s->name, NULL, detail);
    }
    else {
        dr->hint = hint(dr, ACME_HINT_DNS01, s->name[0] == '*' ? s->name + 2 : s->name, NULL,
                        detail);
    }
}

static const char *offered_types(apr_pool_t *p, const acme_authz_t *a)
{
    const char *s = "";
    int i;
    for (i = 0; i < a->challenges->nelts; ++i) {
        const acme_challenge_t *c = APR_ARRAY_IDX(a->challenges, i, acme_challenge_t *);
        s = apr_pstrcat(p, s, i ? ", " : "", c->type, NULL);
    }
    return s;
}

/* tkauth-01 (RFC 9447 §3): no answer to publish; the Authority Token, checked
 * here first (RFC 9448 §5), travels in the challenge POST. Nothing to tear down. */
static apr_status_t start_tkauth(drive_t *dr, const acme_authz_t *a,
                                 const acme_challenge_t *ch, acme_problem_t **prob)
{
    acme_tkauth_req_t req;
    const char *payload = NULL, *why = NULL;
    apr_status_t rv;

    if (strcmp(ch->status, "pending")) return APR_SUCCESS;  /* answered before a restart */
    memset(&req, 0, sizeof(req));
    req.id_type = a->id_type;
    req.id_value = a->id_value;
    req.tkauth_type = ch->tkauth_type;
    req.token_authority = ch->token_authority;
    if ((rv = acme_tkauth_fingerprint(dr->p, dr->acct->key, &req.fingerprint)) != APR_SUCCESS
        || (rv = acme_tkauth_answer(dr->env->responder, dr->p, &req, apr_time_now(), &payload,
                                    &why)) != APR_SUCCESS) {
        dr->hint = apr_psprintf(dr->p, "the Token Authority must sign an ATC token with "
                                "tkvalue %s and fingerprint \"%s\" (see README \"STIR/SHAKEN "
                                "certificates\")", a->id_value,
                                req.fingerprint ? req.fingerprint : "?");
        return fail(dr, "challenge setup", prob, problem(dr->p, "urn:mod_acme:authorityToken",
                    apr_psprintf(dr->p, "tkauth-01 for %s: %s",
                                 acme_tnauth_describe_value(dr->p, a->id_value),
                                 why ? why : "no Authority Token")), rv);
    }
    if ((rv = acme_challenge_answer(&dr->octx, dr->p, ch, payload, prob)) != APR_SUCCESS) {
        hint_transport(dr, *prob);
        return fail(dr, "challenge", prob, NULL, rv);
    }
    return APR_SUCCESS;
}

/* Set up the answer for one pending authz; records the setup. tkauth-01 is
 * answered here: its token travels in the challenge POST itself. */
static apr_status_t start_authz(drive_t *dr, const acme_authz_t *a, setup_t **out,
                                acme_problem_t **prob)
{
    acme_responder_t *r = dr->env->responder;
    const acme_challenge_t *ch = acme_authz_pick(a, dr->d->challenges, r);
    setup_t *s;
    apr_status_t rv;

    if (!ch) {
        dr->hint = hint(dr, a->wildcard ? ACME_HINT_WILDCARD_DNS
                            : acme_tnauth_is_name(a->name) ? ACME_HINT_TNAUTH_NEEDS_TOKEN
                            : ACME_HINT_NO_CHALLENGE, NULL, NULL, NULL);
        return fail(dr, "challenge", prob, problem(dr->p, "urn:mod_acme:noChallenge",
                    apr_psprintf(dr->p, "no usable challenge for %s (the CA offers: %s)",
                                 a->name, offered_types(dr->p, a))), APR_ENOTIMPL);
    }
    s = apr_pcalloc(dr->p, sizeof(*s));
    s->type = ch->type;
    s->name = a->name;
    s->token = ch->token;
    s->ch = ch;
    if (!strcmp(ch->type, "tkauth-01")) {
        *out = s;
        s->answered = 1;            /* respond_authz has nothing left to do */
        return start_tkauth(dr, a, ch, prob);
    }
    if ((rv = acme_key_authorization(dr->p, ch->token, dr->acct->key, &s->keyauth))
        != APR_SUCCESS) {
        return fail(dr, "challenge", prob, problem(dr->p, "urn:mod_acme:internal",
                    "cannot compute the key authorization"), rv);
    }
    if ((rv = r->setup(r, dr->p, s->type, s->name, s->token, s->keyauth)) != APR_SUCCESS) {
        dr->hint = hint(dr, !strcmp(s->type, "dns-01") ? ACME_HINT_DNS_COMMAND_FAILED
                                                        : ACME_HINT_PUBLISH_FAILED, NULL, NULL, NULL);
        return fail(dr, "challenge setup", prob, problem(dr->p, "urn:mod_acme:challengeSetup",
                    apr_psprintf(dr->p, "%s setup for %s failed", s->type, s->name)), rv);
    }
    APR_ARRAY_PUSH(dr->setups, setup_t *) = s;
    *out = s;
    return APR_SUCCESS;
}

/* Tell the CA to validate (not when it was told before a restart). */
static apr_status_t respond_authz(drive_t *dr, const setup_t *s, acme_problem_t **prob)
{
    apr_status_t rv;

    if (s->answered || strcmp(s->ch->status, "pending")) return APR_SUCCESS;
    if ((rv = acme_challenge_respond(&dr->octx, dr->p, s->ch, prob)) != APR_SUCCESS) {
        hint_transport(dr, *prob);
        return fail(dr, "challenge", prob, NULL, rv);
    }
    return APR_SUCCESS;
}

#define DNS_POLL_INTERVAL apr_time_from_sec(2)

/* ACMEDNSPropagation: the CA is asked to validate a dns-01 answer only once
 * its TXT record is visible at the zone's authoritative servers; a hook that
 * did not publish it fails here, clearly, instead of at the CA. */
static apr_status_t wait_propagation(drive_t *dr, setup_t *const *started, int n,
                                     acme_problem_t **prob)
{
    apr_array_header_t *names = apr_array_make(dr->p, 2, sizeof(const char *));
    apr_array_header_t *values = apr_array_make(dr->p, 2, sizeof(const char *));
    acme_dns_check_t *check = NULL;
    const char *why = NULL;
    apr_status_t rv;
    int i;

    if (dr->d->dns_propagation <= 0) return APR_SUCCESS;
    for (i = 0; i < n; ++i) {
        const setup_t *s = started[i];
        const char *value;
        if (!s || strcmp(s->type, "dns-01") || strcmp(s->ch->status, "pending")) continue;
        if (!(value = acme_dns01_value(dr->p, s->keyauth))) return APR_EINVAL;
        APR_ARRAY_PUSH(names, const char *) = apr_pstrcat(dr->p, "_acme-challenge.",
            strncmp(s->name, "*.", 2) ? s->name : s->name + 2, NULL);
        APR_ARRAY_PUSH(values, const char *) = value;
    }
    if (names->nelts == 0) return APR_SUCCESS;
    if ((rv = acme_dns_check_create(dr->p, dr->d->dns_resolver, dr->env->log, &check))) {
        return fail(dr, "dns propagation", prob, problem(dr->p, "urn:mod_acme:internal",
                    "invalid DNS resolver for the propagation check"), rv);
    }
    rv = acme_dns_wait(check, dr->p, names, values, apr_time_now() + dr->d->dns_propagation,
                       DNS_POLL_INTERVAL, dr->env->cancel, &why);
    if (rv == APR_EINTR) return rv;
    if (rv != APR_SUCCESS) {
        dr->hint = "the DNS command exited 0 but the record did not reach the zone's "
                   "authoritative servers: check what it updates (the zone's primary server, "
                   "the transfer to the secondaries), or allow more time with ACMEDNSPropagation";
        return fail(dr, "dns propagation", prob, problem(dr->p, "urn:mod_acme:dnsPropagation",
                    apr_psprintf(dr->p, "the TXT record was not visible at the authoritative "
                                 "servers within %" APR_TIME_T_FMT " s; %s",
                                 apr_time_sec(dr->d->dns_propagation), why ? why : "")), rv);
    }
    return APR_SUCCESS;
}

/* Nothing is answered for an authorization that is not for an ordered
 * name: a hook or a challenge file for it would act for the CA (or whatever
 * altered its answers) on a name nobody asked for. */
static apr_status_t check_identifier(drive_t *dr, acme_authz_t *a, acme_problem_t **prob)
{
    const char *ordered = acme_authz_ordered_name(a, dr->d->names);

    if (ordered) {
        a->name = ordered;      /* our own spelling from here on */
        return APR_SUCCESS;
    }
    dr->hint = "the CA's answer names an identifier that was not ordered or is not valid; "
               "nothing was answered for it (a misbehaving CA, or something altering its "
               "answers)";
    return fail(dr, "authorization", prob, problem(dr->p, "urn:mod_acme:badIdentifier",
                apr_psprintf(dr->p, "the authorization %s is for %s \"%s\"%s, which is not "
                             "one of the ordered identifiers", acme_printable(dr->p, a->url, 300),
                             acme_printable(dr->p, a->id_type, 20),
                             acme_printable(dr->p, a->name, 300),
                             acme_tnauth_is_name(a->name)
                             ? apr_psprintf(dr->p, " (%s)", acme_tnauth_describe_value(dr->p,
                                            acme_tnauth_name_value(a->name))) : "")),
                APR_EINVAL);
}

/* Every authorization: all fetched and checked first, then valid ones are
 * reused, the answers of the others published, dns-01 ones waited for until
 * visible (ACMEDNSPropagation), the CA told, then all polled. */
static apr_status_t step_authzs(drive_t *dr, const acme_order_t *order, acme_problem_t **prob)
{
    int n = order->authz_urls->nelts, i;
    setup_t **started = apr_pcalloc(dr->p, sizeof(*started) * (apr_size_t)(n + 1));
    acme_authz_t **authzs = apr_pcalloc(dr->p, sizeof(*authzs) * (apr_size_t)(n + 1));
    apr_status_t rv;

    for (i = 0; i < n; ++i) {
        const char *url = APR_ARRAY_IDX(order->authz_urls, i, const char *);
        if (drive_cancelled(dr)) return APR_EINTR;
        if ((rv = acme_authz_get(&dr->octx, dr->p, url, &authzs[i], prob)) != APR_SUCCESS) {
            hint_transport(dr, *prob);
            return fail(dr, "authorization", prob, NULL, rv);
        }
        if ((rv = check_identifier(dr, authzs[i], prob)) != APR_SUCCESS) return rv;
    }
    for (i = 0; i < n; ++i) {
        const acme_authz_t *a = authzs[i];
        if (drive_cancelled(dr)) return APR_EINTR;
        if (!strcmp(a->status, "valid")) continue;  /* reused */
        if (strcmp(a->status, "pending")) {
            return fail(dr, "authorization", prob, problem(dr->p,
                        "urn:ietf:params:acme:error:unauthorized",
                        apr_psprintf(dr->p, "authorization for %s is %s", a->name, a->status)),
                        APR_EGENERAL);
        }
        if ((rv = start_authz(dr, a, &started[i], prob)) != APR_SUCCESS) return rv;
    }
    if ((rv = wait_propagation(dr, started, n, prob)) != APR_SUCCESS) return rv;
    for (i = 0; i < n; ++i) {
        if (started[i] && (rv = respond_authz(dr, started[i], prob)) != APR_SUCCESS) return rv;
    }
    for (i = 0; i < n; ++i) {
        acme_authz_t *a = NULL;
        if (!started[i]) continue;
        rv = acme_authz_poll(&dr->octx, dr->p, APR_ARRAY_IDX(order->authz_urls, i, const char *),
                             &a, prob);
        if (rv == APR_EINTR) return rv;
        if (rv != APR_SUCCESS) {
            if (a && strcmp(a->status, "pending")) challenge_hint(dr, started[i], *prob);
            else hint_transport(dr, *prob);
            return fail(dr, "validation", prob, NULL, rv);
        }
    }
    return APR_SUCCESS;
}

/* The fresh certificate key, generated once and persisted before finalize. */
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
        if ((rv = step_authzs(dr, *order, prob)) != APR_SUCCESS) return rv;
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
        *why = META_ITEM " is missing";
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
        rv = acme_store_save_json(st, dr->p, ACME_SG_STAGING, dr->entry, META_ITEM, meta, 0, NULL);
    }
    if (rv != APR_SUCCESS) {
        st->remove(st, dr->p, ACME_SG_STAGING, dr->entry, NULL, NULL);
        return fail(dr, "staging", prob, problem(dr->p, "urn:mod_acme:store",
                    "cannot write the new certificates to staging"), rv);
    }
    if ((rv = verify_staged(dr, &why)) != APR_SUCCESS) {
        st->remove(st, dr->p, ACME_SG_STAGING, dr->entry, NULL, NULL);
        /* A bad result must not be resumed forever. */
        st->remove(st, dr->p, ACME_SG_STATE, dr->entry, ORDER_ITEM, dr->lock);
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
        ca_answered(dr->env->cas, dr->probe_url);
        ca_leave(dr->env->cas, dr->probe_url);
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
    put_renewal(dr->p, dr->status, at, "window");
    if (dr->d->renew_via_ari && acme_ca_endpoint(dr->ca, "renewalInfo")
        && acme_cert_ari_id(dr->p, APR_ARRAY_IDX(certs, 0, acme_cert_t *), &id) == APR_SUCCESS) {
        ari_ask(dr->ca, dr->p, dr->env->log, dr->d->id, dr->status, id, apr_time_now());
    }
}

static void drive_succeeded(drive_t *dr, acme_drive_result_t *res)
{
    acme_store_t *st = dr->env->store;
    apr_time_t now = apr_time_now();

    st->remove(st, dr->p, ACME_SG_STATE, dr->entry, ORDER_ITEM, dr->lock);
    st->remove(st, dr->p, ACME_SG_STATE, dr->entry, RENEW_ITEM, NULL);
    json_object_set_new(dr->status, "state", json_string("valid"));
    json_object_set_new(dr->status, "failures", json_integer(0));
    json_object_del(dr->status, "last_error");
    json_object_del(dr->status, "failing_since");
    json_object_del(dr->status, "next_attempt");
    json_object_del(dr->status, "ari");
    set_time(dr->p, dr->status, "last_success", now);
    ca_answered(dr->env->cas, dr->ca_url);
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
    int after = env->ca_failover_after > 0 ? env->ca_failover_after : DEFAULT_FAILOVER_AFTER;
    int failures = json_intval(dr->status, "failures") + 1;
    apr_time_t now = apr_time_now(), next;
    apr_interval_time_t delay;
    const char *msg;
    json_t *err;

    if (!prob) prob = problem(dr->p, "urn:mod_acme:internal", "drive failed");
    delay = acme_plan_backoff(env->retry_delay > 0 ? env->retry_delay : DEFAULT_RETRY_DELAY,
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
        env->store->remove(env->store, dr->p, ACME_SG_STATE, dr->entry, ORDER_ITEM, dr->lock);
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
    set_time(dr->p, dr->status, "next_attempt", next);
    save_status(dr);
    if (prob->type && !strcmp(prob->type, "urn:mod_acme:transport")) {
        ca_unreachable(env->cas, dr->ca_url, now, env->retry_delay, prob->detail);
    }
    else {
        ca_answered(env->cas, dr->ca_url);
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
    if (acme_store_load_json(dr->env->store, dr->p, ACME_SG_STATE, dr->entry, STATUS_ITEM, &st)
            != APR_SUCCESS || !json_is_object(st)) {
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
    apr_status_t rv;
    int synced;

    if ((rv = drive_begin(dr)) != APR_SUCCESS) {
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
    if (acme_store_load_json(st, p, ACME_SG_STATE, entry, STATUS_ITEM, &status) != APR_SUCCESS
        || !json_is_object(status)) {
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
        set_time(p, status, "next_attempt", until);
        acme_store_save_json(st, p, ACME_SG_STATE, entry, STATUS_ITEM, status,
                             ACME_STORE_REGENERABLE, NULL);
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
        if (!ca_down(env->cas, APR_ARRAY_IDX(d->ca_urls, i, const char *), now, &down)) return 0;
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

    if (acme_store_load_json(env->store, p, ACME_SG_STATE, entry, STATUS_ITEM, &st) == APR_SUCCESS
        && json_is_object(st)
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
    probe = ca_enter(env->cas, url, env->cancel);
    dr.probe_url = probe ? url : NULL;
    rv = drive_gated(&dr, res);
    if (dr.probe_url) {
        ca_leave(env->cas, url);
    }
    return rv;
}

/* ---- is a drive needed? ---- */

typedef struct {
    acme_drive_env_t *env;
    apr_pool_t *p;
    const acme_domain_t *d;
    const char *entry;
    const char *hash;
    apr_time_t now;
    json_t *status;
    int dirty;                   /* status changed: save it */
    int can_save;                /* we hold the lock */
    int ask_ca;                  /* ARI is due but env->no_ca_requests */
} need_t;

/* What waits in staging. A set whose copy is active was activated: it is
 * removed. One made for another configuration or that no longer verifies
 * would never be activated: it is removed too (with the reason), so a new
 * drive replaces it. 1 while a sound set for this configuration waits. */
static int staged_waiting(need_t *n)
{
    acme_store_t *st = n->env->store;
    acme_cert_set_t *set = NULL;
    json_t *meta = NULL;
    const char *h, *bad = NULL;
    apr_status_t rv = acme_set_read(st, n->p, ACME_SG_STAGING, n->d, 1, &set, &bad);

    if (APR_STATUS_IS_ENOENT(rv)) {
        return 0;
    }
    if (rv == APR_SUCCESS && acme_set_same(st, n->p, set, ACME_SG_DOMAINS, 1)) {
        if (n->can_save) {
            st->remove(st, n->p, ACME_SG_STAGING, n->entry, NULL, NULL);
        }
        return 0;
    }
    if (rv == APR_SUCCESS) {
        if (acme_store_load_json(st, n->p, ACME_SG_STAGING, n->entry, META_ITEM, &meta)
                != APR_SUCCESS || !(h = json_str(meta, "config_hash")) || strcmp(h, n->hash)) {
            bad = "they were made for another configuration";
        }
        else if (!(bad = acme_set_verify(n->p, set, n->now))) {
            return 1;
        }
    }
    if (n->can_save) {
        acme_log(n->env->log, ACME_LOG_WARN, 0, "%s: the staged certificates are removed, "
                 "they cannot be activated: %s", n->d->id, bad ? bad : "unknown reason");
        st->remove(st, n->p, ACME_SG_STAGING, n->entry, NULL, NULL);
    }
    return 0;
}

/* Active certificates: loads each key type's chain; the reason when one is unfit. */
static const char *active_unfit(need_t *n, apr_array_header_t **primary)
{
    acme_store_t *st = n->env->store;
    json_t *meta = NULL;
    const char *h;
    int i;

    for (i = 0; i < n_key_types(n->d); ++i) {
        const char *t = key_type_at(n->d, i);
        apr_array_header_t *certs = NULL;
        acme_cert_info_t *info = NULL;
        apr_status_t rv = load_chain(st, n->p, ACME_SG_DOMAINS, n->entry,
                                     acme_store_chain_item(n->p, t), &certs, NULL, NULL);
        if (rv != APR_SUCCESS) return apr_psprintf(n->p, "no %s certificate yet", t);
        if (leaf_info(n->p, certs, &info) != APR_SUCCESS) {
            return apr_psprintf(n->p, "the %s certificate cannot be read", t);
        }
        if (info->not_after <= n->now) return apr_psprintf(n->p, "the %s certificate expired", t);
        if (!acme_cert_covers(APR_ARRAY_IDX(certs, 0, acme_cert_t *), n->d->names)) {
            return apr_psprintf(n->p, "the %s certificate does not cover all names", t);
        }
        if (i == 0) *primary = certs;
    }
    if (acme_store_load_json(st, n->p, ACME_SG_DOMAINS, n->entry, META_ITEM, &meta)
            == APR_SUCCESS
        && (h = json_str(meta, "config_hash")) && strcmp(h, n->hash)) {
        return "the configuration changed";
    }
    return NULL;
}

static apr_time_t window_at(need_t *n, const apr_array_header_t *certs)
{
    acme_cert_info_t *info = NULL;
    if (leaf_info(n->p, certs, &info) != APR_SUCCESS) return n->now;
    return acme_plan_renew_at(info->not_before, info->not_after, n->d->renew_window_pct,
                              n->d->renew_window);
}

static double random01(void)
{
    unsigned char b[4];
    apr_uint32_t v;
    if (apr_generate_random_bytes(b, sizeof(b)) != APR_SUCCESS) return 0.5;
    v = ((apr_uint32_t)b[0] << 24) | ((apr_uint32_t)b[1] << 16) | ((apr_uint32_t)b[2] << 8) | b[3];
    return (double)v / 4294967296.0;
}

/* status.renewal = {at, source}; 1 when it changed. */
static int put_renewal(apr_pool_t *p, json_t *status, apr_time_t at, const char *source)
{
    json_t *old = json_object_get(status, "renewal");
    const char *s = acme_time_rfc3339(p, at);
    if (json_is_object(old) && json_str(old, "at") && !strcmp(json_str(old, "at"), s)
        && json_str(old, "source") && !strcmp(json_str(old, "source"), source)) {
        return 0;
    }
    json_object_set_new(status, "renewal", json_pack("{s:s,s:s}", "at", s, "source", source));
    return 1;
}

/* Ask the CA's renewalInfo about a certificate and record the answer
 * (status.ari, and status.renewal from the window); 0 when unavailable. */
static apr_time_t ari_ask(acme_ca_t *ca, apr_pool_t *p, const acme_logger_t *log,
                          const char *domain, json_t *status, const char *cert_id, apr_time_t now)
{
    acme_ari_t *win = NULL;
    acme_problem_t *prob = NULL;
    json_t *ari;
    apr_time_t at;
    apr_status_t rv = acme_ari_fetch(ca, p, cert_id, &win, &prob);

    if (rv == APR_ENOTIMPL) return 0;
    ari = json_pack("{s:s}", "cert_id", cert_id);
    set_time(p, ari, "checked", now);
    if (rv != APR_SUCCESS) {
        acme_log(log, ACME_LOG_INFO, rv, "%s: renewalInfo failed (%s); using the renewal window",
                 domain, acme_problem_str(p, prob));
        set_time(p, ari, "retry_after", now + ARI_ERROR_RETRY);
        json_object_set_new(status, "ari", ari);
        return 0;
    }
    set_time(p, ari, "retry_after", now + win->retry_after);
    json_object_set_new(status, "ari", ari);
    at = acme_plan_ari_pick(win->start, win->end, random01());
    put_renewal(p, status, at, "ari");
    if (win->explanation_url && strlen(win->explanation_url) <= MAX_EXPLANATION_URL
        && (!strncmp(win->explanation_url, "https://", 8)
            || !strncmp(win->explanation_url, "http://", 7))) {
        /* the CA's page about why it wants this renewal (e.g. a mass revocation) */
        json_object_set_new(json_object_get(status, "renewal"), "explanation_url",
                            json_string(win->explanation_url));
    }
    return at;
}

static void set_renewal(need_t *n, apr_time_t at, const char *source)
{
    if (put_renewal(n->p, n->status, at, source)) n->dirty = 1;
}

/* ARI's renewal time for the active certificate: the recorded answer while
 * it is fresh, else asked anew when the CA has renewalInfo; 0 when none. */
static apr_time_t ari_at(need_t *n, const apr_array_header_t *certs)
{
    acme_drive_env_t *env = n->env;
    json_t *ari = json_object_get(n->status, "ari"), *ren = json_object_get(n->status, "renewal");
    const char *id = NULL, *url;
    acme_ca_t *ca = NULL;
    json_t *dir = NULL;
    acme_problem_t *prob = NULL;

    if (!n->d->renew_via_ari
        || acme_cert_ari_id(n->p, APR_ARRAY_IDX(certs, 0, acme_cert_t *), &id) != APR_SUCCESS) {
        return 0;
    }
    if (json_is_object(ari) && json_str(ari, "cert_id") && !strcmp(json_str(ari, "cert_id"), id)
        && n->now < json_time(ari, "retry_after")) {
        /* Asked recently: keep its answer (or the window after an ARI error). */
        if (json_str(ren, "source") && !strcmp(json_str(ren, "source"), "ari")) {
            return json_time(ren, "at");
        }
        return 0;
    }
    if (env->no_ca_requests) {
        n->ask_ca = 1;
        return 0;
    }
    url = json_str(n->status, "ca");
    if (!url && n->d->ca_urls && n->d->ca_urls->nelts) {
        url = APR_ARRAY_IDX(n->d->ca_urls, 0, const char *);
    }
    if (!url || !env->cas || acme_ca_registry_get(env->cas, url, &ca) != APR_SUCCESS
        || acme_ca_directory(ca, n->p, &dir, &prob) != APR_SUCCESS
        || !acme_ca_endpoint(ca, "renewalInfo")) {
        return 0;
    }
    n->dirty = 1;
    return ari_ask(ca, n->p, env->log, n->d->id, n->status, id, n->now);
}

static int renewal_due(need_t *n, const apr_array_header_t *certs, const char **why)
{
    apr_time_t at = ari_at(n, certs);
    const char *source = "ari";
    if (n->ask_ca) {
        *why = "the CA's renewal information is due";
        return ACME_DRIVE_ASK_CA;
    }
    if (at == 0) {
        at = window_at(n, certs);
        source = "window";
    }
    set_renewal(n, at, source);
    if (n->now >= at) {
        *why = apr_psprintf(n->p, "renewal due since %s (%s)", acme_time_rfc3339(n->p, at), source);
        return 1;
    }
    *why = apr_psprintf(n->p, "renewal at %s (%s)", acme_time_rfc3339(n->p, at), source);
    return 0;
}

static int needed_locked(need_t *n, const char **why)
{
    acme_store_t *st = n->env->store;
    apr_array_header_t *primary = NULL;
    acme_cert_set_t *set = NULL;
    char *data = NULL;
    apr_size_t len = 0;
    const char *old, *unfit, *from = NULL;
    int changed;

    if (acme_store_load_json(st, n->p, ACME_SG_STATE, n->entry, STATUS_ITEM, &n->status)
            != APR_SUCCESS || !json_is_object(n->status)) {
        n->status = NULL;
    }
    old = n->status ? json_str(n->status, "config_hash") : NULL;
    changed = old && strcmp(old, n->hash);
    if (n->status && !changed && json_time(n->status, "next_attempt") > n->now) {
        *why = apr_psprintf(n->p, "waiting after a failure until %s",
                            json_str(n->status, "next_attempt"));
        return 0;
    }
    if (st->load(st, n->p, ACME_SG_STATE, n->entry, RENEW_ITEM, &data, &len) == APR_SUCCESS) {
        *why = "renewal requested";
        return 1;
    }
    if (staged_waiting(n)) {
        *why = "new certificates are staged, waiting for activation";
        return 0;
    }
    if (acme_fleet_newer(st, n->p, n->d, n->now, n->env->log, &set, &from) > 0) {
        *why = apr_psprintf(n->p, "newer certificates were published in the fleet (%s)", from);
        return 1;
    }
    if ((unfit = active_unfit(n, &primary))) {
        *why = unfit;
        return 1;
    }
    if (changed) {
        *why = "the configuration changed";
        return 1;
    }
    if (!n->status) {
        n->status = acme_json_own(n->p, json_pack("{s:o,s:i,s:s,s:s,s:i}", "names",
                                  names_json(n->d), "ca_index", 0, "config_hash", n->hash,
                                  "state", "valid", "failures", 0));
        if (n->d->ca_urls && n->d->ca_urls->nelts) {
            json_object_set_new(n->status, "ca",
                                json_string(APR_ARRAY_IDX(n->d->ca_urls, 0, const char *)));
        }
    }
    return renewal_due(n, primary, why);
}

int acme_drive_needed(acme_drive_env_t *env, apr_pool_t *p, const acme_domain_t *d,
                      apr_time_t now, const char **why)
{
    acme_store_t *st = env->store;
    acme_store_lock_t *lock = NULL;
    need_t n;
    apr_status_t rv;
    int res;

    memset(&n, 0, sizeof(n));
    n.env = env;
    n.p = p;
    n.d = d;
    n.now = now;
    *why = "";
    if (!(n.entry = acme_store_entry(p, d->id)) || n_key_types(d) == 0) {
        *why = "invalid domain";
        return 0;
    }
    /* NULL only when OpenSSL cannot hash (a child shutting down): look later */
    if (!(n.hash = acme_domain_config_hash(p, d))) {
        *why = "the configuration cannot be hashed now";
        return 0;
    }
    rv = st->lock(st, p, ACME_SG_STATE, n.entry, 0, &lock);
    if (rv == APR_TIMEUP || APR_STATUS_IS_EBUSY(rv)) {
        *why = "a drive is in progress";
        return 0;
    }
    n.can_save = (rv == APR_SUCCESS);
    res = needed_locked(&n, why);
    if (n.dirty && n.can_save && n.status) {
        acme_store_save_json(st, p, ACME_SG_STATE, n.entry, STATUS_ITEM, n.status,
                             ACME_STORE_REGENERABLE, NULL);
    }
    if (n.can_save) st->unlock(lock);
    return res;
}

apr_time_t acme_drive_next_look(acme_drive_env_t *env, apr_pool_t *p, const acme_domain_t *d,
                                apr_time_t now)
{
    apr_interval_time_t soon = env->retry_delay > 0 ? env->retry_delay : DEFAULT_RETRY_DELAY;
    const char *entry = acme_store_entry(p, d->id);
    apr_time_t times[2], next = 0;
    json_t *st = NULL;
    int i;

    if (!entry || acme_store_load_json(env->store, p, ACME_SG_STATE, entry, STATUS_ITEM, &st)
                  != APR_SUCCESS || !json_is_object(st)) {
        return 0;
    }
    times[0] = json_time(st, "next_attempt");
    times[1] = json_time(json_object_get(st, "renewal"), "at");
    for (i = 0; i < 2; ++i) {
        apr_time_t t = times[i];

        if (t == 0) continue;
        /* past and still not driven (held by something else): soon again, not never */
        if (t <= now) t = now + soon;
        if (next == 0 || t < next) next = t;
    }
    return next;
}

apr_time_t acme_drive_expires(acme_drive_env_t *env, apr_pool_t *p, const acme_domain_t *d)
{
    const char *entry = acme_store_entry(p, d->id);
    apr_time_t first = 0;
    int i;

    for (i = 0; entry && i < n_key_types(d); ++i) {
        apr_array_header_t *certs = NULL;
        acme_cert_info_t *info = NULL;

        if (load_chain(env->store, p, ACME_SG_DOMAINS, entry,
                       acme_store_chain_item(p, key_type_at(d, i)), &certs, NULL, NULL)
                != APR_SUCCESS
            || leaf_info(p, certs, &info) != APR_SUCCESS) {
            return 0;
        }
        if (first == 0 || info->not_after < first) first = info->not_after;
    }
    return first;
}
