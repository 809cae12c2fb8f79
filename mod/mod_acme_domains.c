/* mod_acme_domains.c: the managed domains built from the directives — each ACMEDomain's effective settings, its names (or its vhost's), and the checks of the whole configuration. */
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <ap_listen.h>
#include <apr_strings.h>

#include "acme_domain.h"
#include "acme_key.h"
#include "mod_acme_config.h"

APLOG_USE_MODULE(acme);

/* ---- the domains ---------------------------------------------------------- */
static const char *default_email(const server_rec *s)
{
    const char *a = s->server_admin;

    if (!a || !strchr(a, '@') || strchr(a, ' ') || strchr(a, '/')) {
        return NULL;
    }
    return !strncasecmp(a, "mailto:", 7) ? a + 7 : a;
}

static int has_wildcard(const apr_array_header_t *names)
{
    int i;

    for (i = 0; i < names->nelts; i++) {
        if (!strncmp(APR_ARRAY_IDX(names, i, const char *), "*.", 2)) {
            return 1;
        }
    }
    return 0;
}

/* set value when set, else server value, else NULL. */
#define PICK(f) (set->dc.f ? set->dc.f : g->dc.f)

static apr_array_header_t *default_challenges(apr_pool_t *p, const am_runtime_t *rt, const char *dnscmd)
{
    apr_array_header_t *a = apr_array_make(p, 3, sizeof(const char *));

    if (rt->can_http01) {
        APR_ARRAY_PUSH(a, const char *) = "http-01";
    }
    if (rt->can_tlsalpn01) {
        APR_ARRAY_PUSH(a, const char *) = "tls-alpn-01";
    }
    if (dnscmd) {
        APR_ARRAY_PUSH(a, const char *) = "dns-01";
    }
    return a;
}

static void apply_settings(acme_domain_t *d, const am_runtime_t *rt, const am_sconf_t *g,
                        const am_domain_conf_t *set, apr_pool_t *p)
{
    apr_array_header_t *a;
    const am_domain_settings_t *eab = set->dc.eab_set ? &set->dc : &g->dc;
    const am_domain_settings_t *rw = set->dc.renew_set ? &set->dc : &g->dc;
    const am_domain_settings_t *ww = set->dc.warn_set ? &set->dc : &g->dc;
    const am_domain_settings_t *dp = set->dc.dns_propagation_set ? &set->dc : &g->dc;
    const am_domain_settings_t *pf = set->dc.profile ? &set->dc : &g->dc;

    if ((a = PICK(ca_urls))) {
        d->ca_urls = a;
    }
    else {
        d->ca_urls = apr_array_make(p, 1, sizeof(const char *));
        APR_ARRAY_PUSH(d->ca_urls, const char *) = ACME_DEFAULT_CA_URL;
    }
    d->contact_email = PICK(contact_email) ? PICK(contact_email) : default_email(rt->s);
    d->tos_agreed = set->dc.tos_agreed != AM_UNSET ? set->dc.tos_agreed
                    : (g->dc.tos_agreed != AM_UNSET ? g->dc.tos_agreed : 0);
    d->eab_kid = eab->eab_set ? eab->eab_kid : NULL;
    d->eab_hmac = eab->eab_set ? eab->eab_hmac : NULL;
    d->dns_command = PICK(dns_command);
    d->challenges = PICK(challenges) ? PICK(challenges) : default_challenges(p, rt, d->dns_command);
    if ((a = PICK(key_types))) {
        d->key_types = a;
    }
    if (rw->renew_set) {
        d->renew_window_pct = rw->renew_pct;
        d->renew_window = rw->renew_window;
    }
    if (ww->warn_set) {
        d->warn_window_pct = ww->warn_pct;
        d->warn_window = ww->warn_window;
    }
    d->profile = pf->profile;
    d->profile_mandatory = pf->profile_mandatory;
    d->renew_via_ari = set->dc.renew_via_ari != AM_UNSET ? set->dc.renew_via_ari
                       : (g->dc.renew_via_ari != AM_UNSET ? g->dc.renew_via_ari : 1);
    d->dns_propagation = dp->dns_propagation;
    d->dns_resolver = PICK(dns_resolver);
    d->preferred_chain = PICK(preferred_chain);
    if (g->account_key_type != AM_UNSET) {
        d->account_key_type = (acme_key_type_e)g->account_key_type;
    }
}

/* ServerName + ServerAlias of the vhost (wildcard aliases only in "*.x" form). */
static apr_status_t vhost_names(apr_pool_t *p, server_rec *s, const am_domain_conf_t *set,
                                apr_array_header_t **out)
{
    apr_array_header_t *names = apr_array_make(p, 4, sizeof(const char *));
    int i;

    if (s->server_hostname) {
        (void)acme_names_add(p, names, s->server_hostname);
    }
    for (i = 0; s->names && i < s->names->nelts; i++) {
        (void)acme_names_add(p, names, APR_ARRAY_IDX(s->names, i, const char *));
    }
    for (i = 0; s->wild_names && i < s->wild_names->nelts; i++) {
        (void)acme_names_add(p, names, APR_ARRAY_IDX(s->wild_names, i, const char *));
    }
    for (i = 0; i < names->nelts; i++) {
        const char *n = APR_ARRAY_IDX(names, i, const char *);
        if (!acme_identifier_valid(n)) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                         "ACMEDomain at %s: the vhost name '%s' cannot be in a certificate "
                         "(only DNS names, '*.' wildcards and IP addresses); list the names "
                         "explicitly: ACMEDomain name ...", set->where, n);
            return APR_EINVAL;
        }
    }
    if (names->nelts == 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                     "ACMEDomain at %s: the <VirtualHost> has no ServerName; add one or list "
                     "the names: ACMEDomain name ...", set->where);
        return APR_EINVAL;
    }
    *out = names;
    return APR_SUCCESS;
}

static int same_names(const apr_array_header_t *a, const apr_array_header_t *b)
{
    int i;

    if (a->nelts != b->nelts) {
        return 0;
    }
    for (i = 0; i < a->nelts; i++) {
        if (!acme_names_has(b, APR_ARRAY_IDX(a, i, const char *))) {
            return 0;
        }
    }
    return 1;
}

static apr_status_t add_domain(am_runtime_t *rt, apr_pool_t *p, const am_domain_conf_t *set,
                               apr_array_header_t *names)
{
    const char *first = APR_ARRAY_IDX(names, 0, const char *);
    am_mdomain_t *md;
    acme_domain_t *d;
    int i;

    if (!acme_store_entry(p, first)) {
        return APR_EINVAL;
    }
    md = apr_hash_get(rt->by_name, first, APR_HASH_KEY_STRING);
    if (md && same_names(md->d->names, names) && !set->dc.key_types && !md->set->dc.key_types
        && set->names->nelts == 0) {
        /* the same vhost names on :80 and :443 with ACMEDomain in both: one certificate */
        return APR_SUCCESS;
    }
    if (md) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, rt->s,
                     "ACMEDomain at %s: the name '%s' is already managed by another ACMEDomain; "
                     "each name may be in one certificate only", set->where, first);
        return APR_EINVAL;
    }
    d = acme_domain_create(p, first);
    d->names = names;
    apply_settings(d, rt, rt->g, set, p);
    if (has_wildcard(names) && (!d->dns_command || !acme_names_has(d->challenges, "dns-01"))) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, rt->s,
                     "ACMEDomain at %s: a wildcard name (from ServerAlias?) needs dns-01: set "
                     "ACMEDNSCommand, or list the names without the wildcard", set->where);
        return APR_EINVAL;
    }
    md = apr_pcalloc(p, sizeof(*md));
    md->d = d;
    md->set = set;
    md->require_https = set->dc.require_https != AM_UNSET ? set->dc.require_https
                        : (rt->g->dc.require_https != AM_UNSET ? rt->g->dc.require_https
                                                                  : AM_HTTPS_OFF);
    for (i = 0; i < names->nelts; i++) {
        const char *n = APR_ARRAY_IDX(names, i, const char *);
        if (apr_hash_get(rt->by_name, n, APR_HASH_KEY_STRING)) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, rt->s,
                         "ACMEDomain at %s: the name '%s' is also in another ACMEDomain; "
                         "remove it from one of them", set->where, n);
            return APR_EINVAL;
        }
        apr_hash_set(rt->by_name, n, APR_HASH_KEY_STRING, md);
    }
    APR_ARRAY_PUSH(rt->managed, am_mdomain_t *) = md;
    APR_ARRAY_PUSH(rt->domains, acme_domain_t *) = d;
    return APR_SUCCESS;
}

static void warn_challenges(am_runtime_t *rt, const am_mdomain_t *md)
{
    const acme_domain_t *d = md->d;

    if (d->challenges->nelts == 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, rt->s,
                     "ACMEDomain %s (%s): no challenge type can be answered by this server: "
                     "http-01 needs a Listen on port %d, tls-alpn-01 a Listen on port %d "
                     "(see ACMEPortMap), dns-01 an ACMEDNSCommand", d->id, md->set->where,
                     am_cfg_port(rt->g, 80), am_cfg_port(rt->g, 443));
    }
    if (acme_names_has(d->challenges, "http-01") && !rt->can_http01) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, rt->s,
                     "ACMEDomain %s: http-01 is allowed but httpd does not listen on port %d "
                     "where the CA connects for it; add 'Listen %d' or an ACMEPortMap 80:PORT",
                     d->id, am_cfg_port(rt->g, 80), am_cfg_port(rt->g, 80));
    }
    if (acme_names_has(d->challenges, "tls-alpn-01") && !rt->can_tlsalpn01) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, rt->s,
                     "ACMEDomain %s: tls-alpn-01 is allowed but httpd does not listen on port %d "
                     "where the CA connects for it; add 'Listen %d https' or an ACMEPortMap "
                     "443:PORT", d->id, am_cfg_port(rt->g, 443), am_cfg_port(rt->g, 443));
    }
}

static int listens_on(int port)
{
    ap_listen_rec *lr;

    for (lr = ap_listeners; lr; lr = lr->next) {
        if (lr->bind_addr && lr->bind_addr->port == port) {
            return 1;
        }
    }
    return 0;
}

/* Document order of the configuration tree (httpd keeps the vhosts' list
 * in reverse): every directive node -> its position. */
static void number_directives(const ap_directive_t *dir, apr_hash_t *order, int *n)
{
    for (; dir; dir = dir->next) {
        apr_pool_t *p = apr_hash_pool_get(order);
        const ap_directive_t **key = apr_palloc(p, sizeof(*key));  /* the hash keeps it */
        int *pos = apr_palloc(p, sizeof(*pos));

        *key = dir;
        *pos = (*n)++;
        apr_hash_set(order, key, sizeof(*key), pos);   /* keyed by the node's address */
        number_directives(dir->first_child, order, n);
    }
}

typedef struct {
    am_domain_conf_t *set;
    server_rec *s;
    int pos;
} placed_set_t;

static int placed_cmp(const void *a, const void *b)
{
    return ((const placed_set_t *)a)->pos - ((const placed_set_t *)b)->pos;
}

/* Every ACMEDomain / <ACMEDomainSet> with its server, as written. */
static apr_array_header_t *sets_in_order(apr_pool_t *p, server_rec *base)
{
    apr_array_header_t *all = apr_array_make(p, 8, sizeof(placed_set_t));
    apr_hash_t *order = apr_hash_make(p);
    server_rec *s;
    int n = 0, i;

    number_directives(ap_conftree, order, &n);
    for (s = base; s; s = s->next) {
        am_sconf_t *sc = am_sconf(s);

        for (i = 0; i < sc->sets->nelts; i++) {
            placed_set_t *ps = apr_array_push(all);
            const int *pos;

            ps->set = APR_ARRAY_IDX(sc->sets, i, am_domain_conf_t *);
            ps->s = s;
            pos = ps->set->directive ? apr_hash_get(order, &ps->set->directive,
                                                    sizeof(ps->set->directive)) : NULL;
            ps->pos = pos ? *pos : n + all->nelts;
        }
    }
    qsort(all->elts, (size_t)all->nelts, sizeof(placed_set_t), placed_cmp);
    return all;
}

apr_status_t am_config_build_domains(am_runtime_t *rt, apr_pool_t *p, server_rec *base)
{
    apr_array_header_t *sets;
    apr_status_t rv;
    int i;

    rt->managed = apr_array_make(p, 8, sizeof(am_mdomain_t *));
    rt->domains = apr_array_make(p, 8, sizeof(acme_domain_t *));
    rt->by_name = apr_hash_make(p);
    rt->can_http01 = listens_on(am_cfg_port(rt->g, 80));
    rt->can_tlsalpn01 = listens_on(am_cfg_port(rt->g, 443));
    sets = sets_in_order(p, base);
    for (i = 0; i < sets->nelts; i++) {
        const placed_set_t *ps = &APR_ARRAY_IDX(sets, i, placed_set_t);
        apr_array_header_t *names = ps->set->names;

        if (names->nelts == 0 && (rv = vhost_names(p, ps->s, ps->set, &names))) {
            return rv;
        }
        if ((rv = add_domain(rt, p, ps->set, names))) {
            return rv;
        }
    }
    for (i = 0; i < rt->managed->nelts; i++) {
        warn_challenges(rt, APR_ARRAY_IDX(rt->managed, i, am_mdomain_t *));
    }
    return APR_SUCCESS;
}

/* Wildcards need dns-01, implicit names must be usable: checked with the
 * whole config so -t reports it. */
static int check_set(apr_pool_t *p, server_rec *s, const am_sconf_t *g, const am_domain_conf_t *set)
{
    const char *dnscmd = set->dc.dns_command ? set->dc.dns_command : g->dc.dns_command;
    const apr_array_header_t *ch = set->dc.challenges ? set->dc.challenges : g->dc.challenges;
    apr_array_header_t *names = set->names;

    if (names->nelts == 0 && vhost_names(p, s, set, &names) != APR_SUCCESS) {
        return !OK;
    }
    if (!has_wildcard(names)) {
        return OK;
    }
    if (!dnscmd) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     "ACMEDomain at %s: a wildcard name needs dns-01; set ACMEDNSCommand "
                     "(in the server config or inside <ACMEDomainSet>)", set->where);
        return !OK;
    }
    if (ch && !acme_names_has(ch, "dns-01")) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     "ACMEChallenges for ACMEDomain at %s: a wildcard name needs dns-01 in the "
                     "list", set->where);
        return !OK;
    }
    return OK;
}

int am_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    const am_sconf_t *g = am_sconf(s);
    server_rec *v;
    int i;

    for (v = s; v; v = v->next) {
        const am_sconf_t *sc = am_sconf(v);

        for (i = 0; i < sc->sets->nelts; i++) {
            if (check_set(ptemp, v, g, APR_ARRAY_IDX(sc->sets, i, const am_domain_conf_t *)) != OK) {
                return !OK;
            }
        }
    }
    return OK;
}
