/* acmectl_import.c: the import verb, which takes over mod_md's or certbot's accounts, active certificates and keys and renewal settings into the store (a dry run unless --apply). */
#include <stdio.h>
#include <string.h>

#include <apr_file_info.h>
#include <apr_strings.h>

#include "acme_account.h"
#include "acme_activate.h"
#include "acme_ca.h"
#include "acme_domain.h"
#include "acme_drive.h"
#include "acme_import.h"
#include "acme_json.h"
#include "acme_key.h"
#include "acme_plan.h"
#include "acme_store.h"
#include "acme_time.h"
#include "acme_x509.h"
#include "acmectl.h"

#define STATUS_ITEM "status.json"
#define META_ITEM "meta.json"
#define DEFAULT_WINDOW_PCT 33       /* ACMERenewWindow's default */

const char usage_import[] =
    "usage: acmectl [-s STORE] import (--from-mod-md DIR | --from-certbot DIR) [--apply]\n"
    "  Take over the accounts (same key, same account URL), the active certificates\n"
    "  and keys and the renewal settings of mod_md's store (e.g. /etc/apache2/md) or\n"
    "  of certbot's directory (e.g. /etc/letsencrypt), so that switching issues\n"
    "  nothing until renewal is due. Prints per account and domain what is taken and\n"
    "  what is not, and why. Without --apply nothing is written (a dry run).\n"
    "  --from-mod-md DIR   mod_md's store (its MDStoreDir)\n"
    "  --from-certbot DIR  certbot's configuration directory (/etc/letsencrypt)\n"
    "  --apply             write what is taken into the store\n"
    "  See README \"Switching from mod_md\" and \"Switching from certbot\".\n";

enum { OPT_FROM_MD = 300, OPT_FROM_CERTBOT, OPT_APPLY };

typedef struct {
    ctl_t *c;
    const acme_import_t *imp;
    acme_store_t *store;        /* NULL in a dry run on a store that does not exist yet */
    acme_ca_registry_t *cas;
    int apply;
    int accounts_taken, domains_taken, not_taken, already;
} import_t;

/* "taken", or "to take" in a dry run. */
static const char *verdict(const import_t *im)
{
    return im->apply ? "taken" : "to take (dry run)";
}

/* ---- accounts -------------------------------------------------------------- */

/* How many of the source's domains use account a. */
static int uses_of(const import_t *im, const acme_import_account_t *a)
{
    int n = 0;

    for (int i = 0; i < im->imp->domains->nelts; i++) {
        n += acme_import_account_of(im->imp, APR_ARRAY_IDX(im->imp->domains, i,
                                                           acme_import_domain_t *)) == a;
    }
    return n;
}

/* mod_acme keeps one account per CA: of several usable ones, the most used. */
static const acme_import_account_t *chosen_for(const import_t *im, const char *ca_url)
{
    const acme_import_account_t *best = NULL;
    int best_uses = -1;

    for (int i = 0; i < im->imp->accounts->nelts; i++) {
        const acme_import_account_t *a = APR_ARRAY_IDX(im->imp->accounts, i,
                                                       acme_import_account_t *);
        int uses;

        if (a->why_not || strcmp(a->ca_url, ca_url) != 0) {
            continue;
        }
        if ((uses = uses_of(im, a)) > best_uses) {
            best = a;
            best_uses = uses;
        }
    }
    return best;
}

/* The store's account for a CA, or NULL. */
static acme_account_t *stored_account(import_t *im, acme_ca_t *ca)
{
    acme_account_t *acct = NULL;

    if (im->store && acme_account_load(im->store, im->c->p, ca, &acct) != APR_SUCCESS) {
        acct = NULL;
    }
    return acct;
}

static json_t *account_object(const acme_import_account_t *a)
{
    json_t *obj = json_pack("{s:s}", "status", "valid");

    if (obj && a->contact) {
        json_object_set(obj, "contact", a->contact);
    }
    return obj;
}

/* One line per account: taken, already there, or why not. */
static int import_account(import_t *im, const acme_import_account_t *a)
{
    ctl_t *c = im->c;
    const acme_import_account_t *chosen;
    acme_account_t *have, acct;
    acme_ca_t *ca;
    apr_status_t rv;

    printf("account %s\n  CA: %s\n  from: %s/%s\n", a->url ? a->url : "(unknown)",
           a->ca_url ? a->ca_url : "(unknown)", im->imp->dir, a->source);
    if (a->why_not) {
        im->not_taken++;
        printf("  not taken: %s\n", a->why_not);
        return 0;
    }
    if ((chosen = chosen_for(im, a->ca_url)) != a) {
        im->not_taken++;
        printf("  not taken: mod_acme keeps one account per CA and takes %s for it\n",
               chosen->url);
        return 0;
    }
    if ((rv = acme_ca_registry_get(im->cas, a->ca_url, &ca)) != APR_SUCCESS) {
        im->not_taken++;
        printf("  not taken: the CA URL is not an http(s) URL\n");
        return 0;
    }
    if ((have = stored_account(im, ca)) != NULL) {
        if (!strcmp(have->url, a->url)) {
            im->already++;
            printf("  already in the store\n");
            return 0;
        }
        im->not_taken++;
        printf("  not taken: the store already has the account %s for this CA\n", have->url);
        return 0;
    }
    printf("  key: %s\n  %s\n", acme_key_type_name(acme_key_type(a->key)), verdict(im));
    im->accounts_taken++;
    if (!im->apply) {
        return 0;
    }
    memset(&acct, 0, sizeof(acct));
    acct.url = a->url;
    acct.key = a->key;
    acct.status = "valid";
    acct.obj = acme_json_own(c->p, account_object(a));
    rv = acme_account_save(im->store, c->p, ca, &acct, NULL);
    return rv == APR_SUCCESS ? 0 : fail(1, "cannot save the account %s: %s", a->url,
                                        errstr(c, rv));
}

/* ---- domains --------------------------------------------------------------- */

static const char *names_text(apr_pool_t *p, const apr_array_header_t *names)
{
    return apr_array_pstrcat(p, names, ' ');
}

/* The key types of the certificates taken, in order: ACMEKeyType's arguments. */
static const char *key_types_text(apr_pool_t *p, const acme_import_domain_t *d)
{
    apr_array_header_t *t = apr_array_make(p, 2, sizeof(const char *));

    for (int i = 0; i < d->certs->nelts; i++) {
        APR_ARRAY_PUSH(t, const char *) = APR_ARRAY_IDX(d->certs, i, acme_import_cert_t *)->key_type;
    }
    return apr_array_pstrcat(p, t, ' ');
}

/* When the primary certificate is due for renewal under the source's window. */
static apr_time_t renew_at(const acme_import_domain_t *d)
{
    const acme_import_cert_t *c = APR_ARRAY_IDX(d->certs, 0, acme_import_cert_t *);
    apr_interval_time_t window = 0;
    int pct = DEFAULT_WINDOW_PCT;

    if (d->renew_window) {
        apr_size_t n = strlen(d->renew_window);

        if (d->renew_window[n - 1] == '%') {
            pct = (int)apr_atoi64(d->renew_window);
        }
        else if (acme_duration_parse(d->renew_window, &window) == APR_SUCCESS) {
            pct = 0;
        }
    }
    return acme_plan_renew_at(c->not_before, c->not_after, pct, window);
}

/* Why the store cannot take d's entry: it has certificates of its own (or
 * the same ones already), a staged set, or a drive holds it. */
static const char *store_conflict(import_t *im, const acme_import_domain_t *d,
                                  const char *entry, int *same)
{
    apr_pool_t *p = im->c->p;
    const acme_import_cert_t *c = APR_ARRAY_IDX(d->certs, 0, acme_import_cert_t *);
    apr_array_header_t *certs;
    acme_cert_info_t *info;
    char *pem;
    apr_size_t len;

    *same = 0;
    if (!im->store) {
        return NULL;
    }
    if (im->store->load(im->store, p, ACME_SG_DOMAINS, entry, "fullchain.pem", &pem, &len)
        == APR_SUCCESS) {
        if (acme_certs_from_pem(p, pem, len, &certs) == APR_SUCCESS
            && acme_cert_info(p, APR_ARRAY_IDX(certs, 0, acme_cert_t *), &info) == APR_SUCCESS
            && !strcmp(info->serial, c->serial)) {
            *same = 1;
            return "already in the store";
        }
        return "the store already has certificates of its own for it";
    }
    if (acme_store_has_entry(im->store, p, ACME_SG_STAGING, entry)) {
        return "the store has new certificates for it waiting for activation";
    }
    return NULL;
}

static json_t *names_json(const apr_array_header_t *names)
{
    json_t *a = json_array();

    for (int i = 0; a && i < names->nelts; i++) {
        json_array_append_new(a, json_string(APR_ARRAY_IDX(names, i, const char *)));
    }
    return a;
}

/* staging/<entry>/ with every certificate and key, the unsuffixed copies of the first. */
static apr_status_t stage(import_t *im, const acme_import_domain_t *d, const char *entry)
{
    apr_pool_t *p = im->c->p;
    acme_store_t *st = im->store;
    json_t *meta, *types = json_array();
    apr_status_t rv = APR_SUCCESS;

    st->remove(st, p, ACME_SG_STAGING, entry, NULL, NULL);
    for (int i = 0; rv == APR_SUCCESS && i < d->certs->nelts; i++) {
        const acme_import_cert_t *c = APR_ARRAY_IDX(d->certs, i, acme_import_cert_t *);

        json_array_append_new(types, json_string(c->key_type));
        if ((rv = st->save(st, p, ACME_SG_STAGING, entry, acme_store_chain_item(p, c->key_type),
                           c->chain_pem, c->chain_len, 0, NULL)) == APR_SUCCESS
            && (rv = st->save(st, p, ACME_SG_STAGING, entry, acme_store_pkey_item(p, c->key_type),
                              c->key_pem, c->key_len, ACME_STORE_PRIVATE, NULL)) == APR_SUCCESS
            && i == 0
            && (rv = st->save(st, p, ACME_SG_STAGING, entry, "fullchain.pem", c->chain_pem,
                              c->chain_len, 0, NULL)) == APR_SUCCESS) {
            rv = st->save(st, p, ACME_SG_STAGING, entry, "privkey.pem", c->key_pem, c->key_len,
                          ACME_STORE_PRIVATE, NULL);
        }
    }
    /* No config_hash: the configuration it was issued for is the source's. */
    meta = acme_json_own(p, json_pack("{s:s, s:o, s:o, s:s*, s:s, s:s}", "name", d->id,
                                      "names", names_json(d->names), "key_types", types,
                                      "ca", d->ca_url, "imported_from", im->imp->kind,
                                      "created", acme_time_rfc3339(p, apr_time_now())));
    if (rv == APR_SUCCESS) {
        rv = meta ? acme_store_save_json(st, p, ACME_SG_STAGING, entry, META_ITEM, meta, 0, NULL)
                  : APR_ENOMEM;
    }
    return rv;
}

/* The domain as mod_acme will see it, for the staged set's verification. */
static acme_domain_t *as_domain(apr_pool_t *p, const acme_import_domain_t *d)
{
    acme_domain_t *ad = acme_domain_create(p, d->id);

    apr_array_clear(ad->names);
    for (int i = 0; i < d->names->nelts; i++) {
        APR_ARRAY_PUSH(ad->names, const char *) = APR_ARRAY_IDX(d->names, i, const char *);
    }
    apr_array_clear(ad->key_types);
    for (int i = 0; i < d->certs->nelts; i++) {
        acme_key_type_e t;

        (void)acme_key_type_parse(APR_ARRAY_IDX(d->certs, i, acme_import_cert_t *)->key_type, &t);
        APR_ARRAY_PUSH(ad->key_types, acme_key_type_e) = t;
    }
    return ad;
}

/* Writes the set: staged, then activated as httpd's parent activates
 * (acme_activate: read, verified, copied); then the renewal state. NULL on
 * success, else why not. */
static const char *write_domain(import_t *im, const acme_import_domain_t *d, const char *entry,
                                apr_time_t at)
{
    apr_pool_t *p = im->c->p;
    acme_store_t *st = im->store;
    acme_store_lock_t *lock;
    acme_staged_e state = ACME_STAGED_NONE;
    const char *why = NULL;
    json_t *status;
    apr_status_t rv;

    /* A drive of httpd or acmectl holds this lock while it works on the domain. */
    rv = st->lock(st, p, ACME_SG_STATE, entry, 0, &lock);
    if (rv != APR_SUCCESS) {
        return APR_STATUS_IS_TIMEUP(rv) || APR_STATUS_IS_EBUSY(rv)
               ? "a drive works on it right now: run import again later"
               : apr_psprintf(p, "cannot lock it in the store: %s", errstr(im->c, rv));
    }
    if ((rv = stage(im, d, entry)) != APR_SUCCESS) {
        why = apr_psprintf(p, "cannot write it to the store: %s", errstr(im->c, rv));
    }
    else if ((rv = acme_activate(st, p, as_domain(p, d), &state, &why)) != APR_SUCCESS) {
        why = state == ACME_STAGED_BAD ? apr_psprintf(p, "it failed verification: %s",
                                                      why ? why : "?")
              : apr_psprintf(p, "cannot activate it in the store: %s", errstr(im->c, rv));
    }
    else if (state == ACME_STAGED_NONE) {
        why = "it failed verification: meta.json is missing";
    }
    st->remove(st, p, ACME_SG_STAGING, entry, NULL, NULL);
    if (why) {
        st->unlock(lock);
        return why;
    }
    status = acme_json_own(p, json_pack("{s:o, s:i, s:s, s:i, s:{s:s, s:s}, s:{s:s, s:s, s:s}}",
                                        "names", names_json(d->names), "ca_index", 0,
                                        "state", "valid", "failures", 0,
                                        "renewal", "at", acme_time_rfc3339(p, at),
                                        "source", "window",
                                        "imported", "from", im->imp->kind,
                                        "source", apr_pstrcat(p, im->imp->dir, "/", d->source,
                                                              NULL),
                                        "at", acme_time_rfc3339(p, apr_time_now())));
    if (status && d->ca_url) {
        json_object_set_new(status, "ca", json_string(d->ca_url));
    }
    /* The status is rebuilt by the next check if this write is lost. */
    if (status) {
        (void)acme_store_save_json(st, p, ACME_SG_STATE, entry, STATUS_ITEM, status,
                                   ACME_STORE_REGENERABLE, NULL);
    }
    st->unlock(lock);
    return NULL;
}

/* The account line of a domain: which one renews it. */
static const char *account_text(import_t *im, const acme_import_domain_t *d)
{
    apr_pool_t *p = im->c->p;
    const acme_import_account_t *chosen;
    acme_account_t *have;
    acme_ca_t *ca;

    if (!d->ca_url || acme_ca_registry_get(im->cas, d->ca_url, &ca) != APR_SUCCESS) {
        return "unknown CA: the account of the configured CA is used";
    }
    if ((have = stored_account(im, ca)) != NULL) {
        return apr_psprintf(p, "%s (in the store)", have->url);
    }
    if ((chosen = chosen_for(im, d->ca_url)) != NULL) {
        return apr_psprintf(p, "%s (taken with it)", chosen->url);
    }
    return "none for this CA: mod_acme registers one at the first renewal";
}

static int import_domain(import_t *im, const acme_import_domain_t *d, apr_time_t now)
{
    apr_pool_t *p = im->c->p;
    const char *entry = acme_store_entry(p, d->id), *why, *types;
    apr_time_t at;
    int same;

    printf("domain %s\n  from: %s/%s\n", d->id, im->imp->dir, d->source);
    for (int i = 0; i < d->notes->nelts; i++) {
        printf("  note: %s\n", APR_ARRAY_IDX(d->notes, i, const char *));
    }
    if (d->why_not || !entry) {
        im->not_taken++;
        printf("  not taken: %s\n", d->why_not ? d->why_not : "its name cannot be a store entry");
        return 0;
    }
    printf("  names: %s\n", names_text(p, d->names));
    for (int i = 0; i < d->certs->nelts; i++) {
        const acme_import_cert_t *c = APR_ARRAY_IDX(d->certs, i, acme_import_cert_t *);

        printf("  certificate %s: serial %s, valid until %s\n", c->key_type, c->serial,
               acme_time_rfc3339(p, c->not_after));
    }
    printf("  CA: %s\n  account: %s\n", d->ca_url ? d->ca_url : "(not recorded)",
           account_text(im, d));
    at = renew_at(d);
    printf("  renewal: %s%s, by %s %s\n", acme_time_rfc3339(p, at), at <= now ? " (due now)" : "",
           d->renew_window ? d->renew_window_note : "mod_acme's default window",
           d->renew_window ? d->renew_window : "33%");
    if (!d->renew_window && d->renew_window_note) {
        printf("  note: %s\n", d->renew_window_note);
    }
    types = key_types_text(p, d);
    if (strcmp(types, "ec256") != 0) {
        printf("  configure: ACMEKeyType %s (the key types taken; other types make mod_acme order new certificates at once)\n", types);
    }
    if (d->renew_window && strcmp(d->renew_window, "33%") != 0) {
        printf("  configure: ACMERenewWindow %s (to keep the source's window)\n",
               d->renew_window);
    }
    if ((why = store_conflict(im, d, entry, &same)) != NULL) {
        if (same) {
            im->already++;
        }
        else {
            im->not_taken++;
        }
        printf("  %s%s\n", same ? "" : "not taken: ", why);
        return 0;
    }
    if (im->apply && (why = write_domain(im, d, entry, at)) != NULL) {
        im->not_taken++;
        printf("  not taken: %s\n", why);
        return 0;
    }
    im->domains_taken++;
    printf("  %s\n", verdict(im));
    return 0;
}

/* ---- the verb ---------------------------------------------------------------- */

/* The store; in a dry run only when it exists already (a dry run creates nothing). */
static int import_store(import_t *im)
{
    ctl_t *c = im->c;
    apr_finfo_t fi;
    apr_status_t rv;

    if (!im->apply && apr_stat(&fi, c->store_dir, APR_FINFO_TYPE, c->p) != APR_SUCCESS) {
        return 0;
    }
    rv = acme_store_file_open(c->p, c->store_dir, im->apply ? 0 : ACME_STORE_OPEN_NOSWEEP,
                              &im->store);
    return rv == APR_SUCCESS ? 0 : fail(1, "cannot open the store %s: %s", c->store_dir,
                                        errstr(c, rv));
}

int verb_import(ctl_t *c, int argc, const char *const *argv)
{
    static const apr_getopt_option_t opts[] = {
        { "from-mod-md", OPT_FROM_MD, 1, "" }, { "from-certbot", OPT_FROM_CERTBOT, 1, "" },
        { "apply", OPT_APPLY, 0, "" }, { "help", 'h', 0, "" }, { NULL, 0, 0, NULL } };
    apr_getopt_t *os = opt_init(c, argc, argv, 1);
    const char *arg, *md_dir = NULL, *certbot_dir = NULL, *why = NULL;
    acme_http_opts_t http_opts;
    acme_import_t *imp;
    apr_time_t now = apr_time_now();
    import_t im;
    apr_status_t rv;
    int optch, code;

    memset(&im, 0, sizeof(im));
    im.c = c;
    while ((rv = apr_getopt_long(os, opts, &optch, &arg)) == APR_SUCCESS) {
        switch (optch) {
        case 'h': fputs(usage_import, stdout); return 0;
        case OPT_FROM_MD: md_dir = arg; break;
        case OPT_FROM_CERTBOT: certbot_dir = arg; break;
        case OPT_APPLY: im.apply = 1; break;
        }
    }
    if (rv != APR_EOF || os->ind != os->argc) {
        return usage_error(c, "import ");
    }
    if ((md_dir == NULL) == (certbot_dir == NULL)) {
        return fail(EXIT_USAGE, "import needs exactly one of --from-mod-md DIR and --from-certbot DIR");
    }
    rv = md_dir ? acme_import_mod_md(c->p, md_dir, now, &imp, &why)
                : acme_import_certbot(c->p, certbot_dir, now, &imp, &why);
    if (rv != APR_SUCCESS) {
        return fail(1, "%s", why ? why : errstr(c, rv));
    }
    im.imp = imp;
    memset(&http_opts, 0, sizeof(http_opts));
    if ((code = import_store(&im)) != 0) {
        return code;
    }
    if ((rv = acme_ca_registry_create(c->p, &http_opts, &c->log, &im.cas)) != APR_SUCCESS) {
        return fail(1, "cannot set up the CA registry: %s", errstr(c, rv));
    }
    printf("import from the %s store %s into %s%s\n", imp->kind, imp->dir, c->store_dir,
           im.apply ? "" : " (dry run: nothing is written; --apply writes)");
    for (int i = 0; i < imp->accounts->nelts; i++) {
        if ((code = import_account(&im, APR_ARRAY_IDX(imp->accounts, i,
                                                      acme_import_account_t *))) != 0) {
            return code;
        }
    }
    for (int i = 0; i < imp->domains->nelts; i++) {
        if ((code = import_domain(&im, APR_ARRAY_IDX(imp->domains, i, acme_import_domain_t *),
                                  now)) != 0) {
            return code;
        }
    }
    printf("%s: %d account%s and %d domain%s; %d not taken; %d already in the store\n",
           im.apply ? "taken" : "to take", im.accounts_taken, im.accounts_taken == 1 ? "" : "s",
           im.domains_taken, im.domains_taken == 1 ? "" : "s", im.not_taken, im.already);
    if (im.apply && im.domains_taken + im.accounts_taken > 0) {
        printf("(re)start httpd to serve them; mod_acme renews them when due\n");
    }
    return 0;
}
