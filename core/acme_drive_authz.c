/* acme_drive_authz.c: the drive's authorization step: a challenge per identifier set up, answered and checked (DNS propagation, tkauth-01 tokens), with the hints a failure gets. */
#include <string.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include "acme_account.h"
#include "acme_activate.h"
#include "acme_dns_check.h"
#include "acme_drive.h"
#include "acme_drive_int.h"
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
apr_status_t acme_drive_step_authzs(drive_t *dr, const acme_order_t *order, acme_problem_t **prob)
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
        /* an answer sent with its payload (tkauth-01) is not sent again as {} */
        rv = acme_authz_poll(&dr->octx, dr->p, APR_ARRAY_IDX(order->authz_urls, i, const char *),
                             started[i]->answered ? NULL : started[i]->ch->url, &a, prob);
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
