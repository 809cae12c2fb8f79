/* acme_drive_int.h: what the drive's files (acme_drive.c, acme_drive_authz.c, acme_drive_renew.c, acme_ca_registry.c) share inside the core: CA outage records, the drive's state, the renewal record and small helpers; not for mod/ or tools/. */
#ifndef ACME_DRIVE_INT_H
#define ACME_DRIVE_INT_H

#include <apr_strings.h>
#include <jansson.h>

#include "acme_account.h"
#include "acme_drive.h"
#include "acme_hint.h"
#include "acme_json.h"
#include "acme_key.h"
#include "acme_order.h"
#include "acme_time.h"
#include "acme_x509.h"

/* ---- CA outages (acme_ca_registry.c) ---- */

typedef struct ca_down_t {
    apr_time_t since, until;    /* this outage; until <= now: reachable */
    int failures;               /* attempts in a row that did not reach it */
    char detail[256];           /* the failure, for the status of waiting domains */
    int reached;                /* the last attempt got an answer */
    int probing;                /* a drive is trying it; the others wait for the outcome */
} ca_down_t;

/* A drive could not reach url: its outage starts or goes on (the wait
 * doubles from first_delay). */
void acme_careg_unreachable(acme_ca_registry_t *reg, const char *url, apr_time_t now,
                            apr_interval_time_t first_delay, const char *detail);
/* url answered: no outage. */
void acme_careg_answered(acme_ca_registry_t *reg, const char *url);
/* 1 when this drive is the first to try url (the others wait for its
 * answer, ended by acme_careg_leave); 0 otherwise. */
int acme_careg_enter(acme_ca_registry_t *reg, const char *url, volatile int *cancel);
void acme_careg_leave(acme_ca_registry_t *reg, const char *url);
/* 1 and *out when url is in an outage at now. */
int acme_careg_down(acme_ca_registry_t *reg, const char *url, apr_time_t now, ca_down_t *out);

/* ---- the renewal record (acme_drive_renew.c) ---- */

/* Records renewal {at, source} in status; 1 when it changed. */
int acme_drive_put_renewal(apr_pool_t *p, json_t *status, apr_time_t at, const char *source);
/* Asks the CA's renewalInfo for cert_id; the suggested time (0: none), kept in status. */
apr_time_t acme_drive_ari_ask(acme_ca_t *ca, apr_pool_t *p, const acme_logger_t *log,
                              const char *domain, json_t *status, const char *cert_id,
                              apr_time_t now);

/* ---- the drive's state (acme_drive.c, acme_drive_authz.c) ---- */

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

static inline int drive_cancelled(const drive_t *dr)
{
    return dr->env->cancel && *dr->env->cancel;
}

/* The status record is rewritten by every drive: atomic, not worth an fsync. */

static inline apr_status_t fail(drive_t *dr, const char *step, acme_problem_t **prob, acme_problem_t *pr,
                         apr_status_t rv)
{
    dr->step = step;
    if (prob && !*prob) *prob = pr;
    return rv == APR_SUCCESS ? APR_EGENERAL : rv;
}

static inline const char *hint(drive_t *dr, acme_hint_e h, const char *a, const char *b, const char *c)
{
    return acme_hint(dr->p, dr->env->ui, h, a, b, c);
}

static inline void hint_transport(drive_t *dr, const acme_problem_t *pr)
{
    if (pr && pr->type && !strcmp(pr->type, "urn:mod_acme:transport")) {
        dr->hint = hint(dr, ACME_HINT_UNREACHABLE, dr->ca_url, NULL, NULL);
    }
    else if (pr && acme_problem_is(pr, "rateLimited")) {
        dr->hint = hint(dr, ACME_HINT_RATE_LIMITED, NULL, NULL, NULL);
    }
}

/* The order's authorizations: each pending one set up, answered and
 * waited for (acme_drive_authz.c). */
apr_status_t acme_drive_step_authzs(drive_t *dr, const acme_order_t *order, acme_problem_t **prob);

/* ---- small helpers ---- */

static inline const char *key_type_at(const acme_domain_t *d, int i)
{
    return acme_key_type_name(APR_ARRAY_IDX(d->key_types, i, acme_key_type_e));
}

static inline int n_key_types(const acme_domain_t *d)
{
    return d->key_types ? d->key_types->nelts : 0;
}

static inline const char *json_str(const json_t *obj, const char *key)
{
    const char *s = NULL;
    return acme_json_get_str(obj, key, &s) == APR_SUCCESS ? s : NULL;
}

static inline int json_intval(const json_t *obj, const char *key)
{
    json_int_t v = 0;
    if (acme_json_get_int(obj, key, &v) != APR_SUCCESS || v < 0 || v > 1000000) return 0;
    return (int)v;
}

static inline apr_time_t json_time(const json_t *obj, const char *key)
{
    const char *s = json_str(obj, key);
    apr_time_t t = 0;
    if (!s || acme_time_parse_rfc3339(s, &t) != APR_SUCCESS) return 0;
    return t;
}

static inline void set_time(apr_pool_t *p, json_t *obj, const char *key, apr_time_t t)
{
    json_object_set_new(obj, key, json_string(acme_time_rfc3339(p, t)));
}

static inline json_t *names_json(const acme_domain_t *d)
{
    json_t *a = json_array();
    int i;
    for (i = 0; a && d->names && i < d->names->nelts; ++i) {
        json_array_append_new(a, json_string(APR_ARRAY_IDX(d->names, i, const char *)));
    }
    return a;
}

static inline acme_problem_t *problem(apr_pool_t *p, const char *type, const char *detail)
{
    acme_problem_t *pr = apr_pcalloc(p, sizeof(*pr));
    pr->type = type;
    pr->detail = detail;
    return pr;
}

/* Leaf + chain from a PEM item of the store; APR_ENOENT when absent. */
static inline apr_status_t load_chain(acme_store_t *st, apr_pool_t *p, acme_store_group_e g,
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

static inline apr_status_t leaf_info(apr_pool_t *p, const apr_array_header_t *certs,
                              acme_cert_info_t **info)
{
    return acme_cert_info(p, APR_ARRAY_IDX(certs, 0, acme_cert_t *), info);
}

#endif
