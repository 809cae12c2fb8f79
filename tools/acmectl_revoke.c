/* acmectl_revoke.c: the revoke verb, which revokes the certificates of a domain in the store at their CA and marks the domain revoked (and due for renewal). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "acme_account.h"
#include "acme_activate.h"
#include "acme_ca.h"
#include "acme_json.h"
#include "acme_key.h"
#include "acme_order.h"
#include "acme_record.h"
#include "acme_x509.h"
#include "acmectl.h"

const char usage_revoke[] =
    "usage: acmectl [-s STORE] revoke DOMAIN [--reason N] [--no-reissue] [--ca URL]\n"
    "           [--ca-cert FILE] [--http-proxy URL]\n"
    "  Revoke the active certificates of DOMAIN (every key type; the staged ones\n"
    "  when none is active) with the account key, or with the certificate's own\n"
    "  key when the store has no account for that CA. Status then says \"revoked\"\n"
    "  and the domain is renewed at the next check (httpd's watchdog, woken at\n"
    "  once, or the next 'acmectl issue').\n"
    "  --reason N        RFC 5280 reason code (0-10, not 7)\n"
    "  --no-reissue      do not renew it\n"
    "  --ca URL          directory URL (default: the CA DOMAIN's certificates are from)\n"
    "  --ca-cert FILE    PEM bundle to trust for the CA's HTTPS server (default: the one\n"
    "                    recorded for that CA when a certificate was issued)\n"
    "  --http-proxy URL  reach the CA through this proxy\n";

enum { OPT_REASON = OPT_VERB, OPT_NO_REISSUE };

/* The certificate chain files of an entry in one group: "fullchain.<type>.pem". */
static apr_array_header_t *chain_items(ctl_t *c, acme_store_t *store, acme_store_group_e g,
                                       const char *entry)
{
    apr_array_header_t *items, *out = apr_array_make(c->p, 4, sizeof(const char *));

    if (store->list(store, c->p, g, entry, &items) != APR_SUCCESS) {
        return out;
    }
    for (int i = 0; i < items->nelts; i++) {
        const char *it = APR_ARRAY_IDX(items, i, const char *);
        apr_size_t n = strlen(it);

        if (n > 14 && !strncmp(it, "fullchain.", 10) && !strcmp(it + n - 4, ".pem")) {
            APR_ARRAY_PUSH(out, const char *) = it;
        }
    }
    return out;
}

/* Revoke one stored chain's leaf; the key next to it signs when there is no account. */
static int revoke_one(ctl_t *c, acme_store_t *store, acme_store_group_e g, const char *entry,
                      const char *item, acme_ca_t *ca, const acme_account_t *acct, int reason,
                      apr_array_header_t *serials)
{
    acme_cert_info_t *info = NULL;
    apr_array_header_t *certs;
    acme_key_t *key = NULL;
    acme_problem_t *prob = NULL;
    char *pem, *kpem;
    apr_size_t len, klen;
    const char *kitem = apr_pstrcat(c->p, "privkey", item + strlen("fullchain"), NULL);
    apr_status_t rv;

    rv = store->load(store, c->p, g, entry, item, &pem, &len);
    if (rv == APR_SUCCESS) {
        rv = acme_certs_from_pem(c->p, pem, len, &certs);
    }
    if (rv != APR_SUCCESS) {
        return fail(1, "cannot read %s of %s: %s", item, entry, errstr(c, rv));
    }
    if (acct == NULL) {
        rv = store->load(store, c->p, g, entry, kitem, &kpem, &klen);
        if (rv == APR_SUCCESS) {
            rv = acme_key_from_pem(c->p, kpem, klen, &key);
        }
        if (rv != APR_SUCCESS) {
            return fail(1, "no account for %s and no certificate key to revoke with: %s",
                        acme_ca_url(ca), errstr(c, rv));
        }
    }
    rv = acme_cert_revoke(ca, c->p, APR_ARRAY_IDX(certs, 0, const acme_cert_t *), reason, acct,
                          key, &prob);
    if (rv != APR_SUCCESS) {
        return fail(1, "revoking %s of %s failed: %s", item, entry, problem_text(c, rv, prob));
    }
    if (acme_cert_info(c->p, APR_ARRAY_IDX(certs, 0, const acme_cert_t *), &info) == APR_SUCCESS
        && info->serial) {
        APR_ARRAY_PUSH(serials, const char *) = info->serial;
    }
    fprintf(stdout, "revoked: %s\n", store->where(store, c->p, g, entry, item));
    return 0;
}

static int parse_reason(const char *s, int *reason)
{
    char *end;
    long v = strtol(s, &end, 10);

    if (*s == '\0' || *end != '\0' || v < 0 || v > 10 || v == 7) {
        return 0;
    }
    *reason = (int)v;
    return 1;
}

/* The CA DOMAIN's certificates in group g are from (the set's meta.json),
 * else the one its drive used last (state/<entry>/status.json). */
static const char *recorded_ca(ctl_t *c, acme_store_t *store, acme_store_group_e g,
                               const char *entry)
{
    json_t *st;
    const char *url = NULL;

    if (acme_store_load_json(store, c->p, g, entry, ACME_SET_META, &st) == APR_SUCCESS
        && acme_json_get_str(st, "ca", &url) == APR_SUCCESS && url) {
        return url;
    }
    return acme_record_load(store, c->p, entry, &st) == APR_SUCCESS ? acme_record_ca(st) : NULL;
}

int verb_revoke(ctl_t *c, int argc, const char *const *argv)
{
    static const apr_getopt_option_t opts[] = {
        { "reason", OPT_REASON, 1, "reason code" }, { "ca", OPT_CA, 1, "directory URL" },
        { "ca-cert", OPT_CA_CERT, 1, "trust file" }, { "http-proxy", OPT_PROXY, 1, "proxy" },
        { "no-reissue", OPT_NO_REISSUE, 0, "no renewal" }, { "help", 'h', 0, "help" },
        { NULL, 0, 0, NULL } };
    apr_getopt_t *os = opt_init(c, argc, argv, 1);
    apr_array_header_t *args, *items, *serials;
    acme_store_group_e g = ACME_SG_DOMAINS;
    acme_store_t *store;
    acme_ca_t *ca;
    acme_account_t *acct = NULL;
    ca_opts_t co = { NULL, NULL, NULL };
    const char *entry, *arg;
    apr_status_t rv;
    int optch, code, reason = -1, reissue = 1;

    while ((rv = apr_getopt_long(os, opts, &optch, &arg)) == APR_SUCCESS) {
        switch (optch) {
        case 'h': fputs(usage_revoke, stdout); return 0;
        case OPT_REASON:
            if (!parse_reason(arg, &reason)) {
                return fail(EXIT_USAGE, "invalid --reason '%s' (0-10, except 7)", arg);
            }
            break;
        case OPT_CA: co.url = arg; break;
        case OPT_CA_CERT: co.ca_cert = arg; break;
        case OPT_PROXY: co.proxy = arg; break;
        case OPT_NO_REISSUE: reissue = 0; break;
        }
    }
    args = positional(c, os);
    if (rv != APR_EOF || args->nelts != 1) {
        return usage_error(c, "revoke ");
    }
    if ((code = ca_opts_check(c, &co)) != 0 || (code = open_store(c, &store)) != 0
        || (code = known_entry(c, store, APR_ARRAY_IDX(args, 0, const char *), &entry)) != 0) {
        return code;
    }
    items = chain_items(c, store, g, entry);
    if (items->nelts == 0) {
        g = ACME_SG_STAGING;
        items = chain_items(c, store, g, entry);
    }
    if (items->nelts == 0) {
        return fail(1, "%s has no certificate to revoke", entry);
    }
    if (co.url == NULL && (co.url = recorded_ca(c, store, g, entry)) == NULL) {
        return fail(1, "the CA of %s is not recorded in the store: pass --ca URL", entry);
    }
    if ((code = get_ca(c, store, &co, &ca)) != 0) {
        return code;
    }
    rv = acme_account_load(store, c->p, ca, &acct);
    if (rv != APR_SUCCESS && !APR_STATUS_IS_ENOENT(rv)) {
        return fail(1, "cannot load the account for %s: %s", co.url, errstr(c, rv));
    }
    serials = apr_array_make(c->p, 2, sizeof(const char *));
    for (int i = 0; i < items->nelts; i++) {
        code = revoke_one(c, store, g, entry, APR_ARRAY_IDX(items, i, const char *), ca,
                          rv == APR_SUCCESS ? acct : NULL, reason, serials);
        if (code != 0) {
            break;
        }
    }
    /* what was revoked is marked even when a later type failed */
    if (serials->nelts > 0
        && (rv = acme_record_mark_revoked(store, c->p, entry, serials, reason, apr_time_now(),
                                   reissue)) != APR_SUCCESS && code == 0) {
        return fail(1, "revoked, but the store was not updated (status, renewal): %s",
                    errstr(c, rv));
    }
    return code;
}
