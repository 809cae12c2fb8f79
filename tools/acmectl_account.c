/* acmectl_account.c: the account-deactivate and account-rollover verbs, which maintain the store's account at a CA. */
#include <stdio.h>

#include <apr_strings.h>

#include "acme_account.h"
#include "acme_ca.h"
#include "acme_key.h"
#include "acmectl.h"

const char usage_account_deactivate[] =
    "usage: acmectl [-s STORE] account-deactivate --ca URL [--ca-cert FILE] [--http-proxy URL]\n"
    "  Deactivate the store's account at that CA (irreversible).\n";

const char usage_account_rollover[] =
    "usage: acmectl [-s STORE] account-rollover --ca URL [--ca-cert FILE] [--http-proxy URL]\n"
    "  Replace the store's account key at that CA by a new key of the same type\n"
    "  (RFC 8555 keyChange). When the CA does not implement keyChange, nothing\n"
    "  changes (exit 1).\n";

/* Shared option parsing and account loading of the account-* verbs. */
static int account_setup(ctl_t *c, int argc, const char *const *argv, const char *usage,
                         acme_store_t **store, acme_ca_t **ca, acme_account_t **acct, int *help)
{
    static const apr_getopt_option_t opts[] = {
        { "ca", OPT_CA, 1, "" }, { "ca-cert", OPT_CA_CERT, 1, "" },
        { "http-proxy", OPT_PROXY, 1, "" }, { "help", 'h', 0, "" }, { NULL, 0, 0, NULL } };
    apr_getopt_t *os = opt_init(c, argc, argv, 1);
    ca_opts_t co = { NULL, NULL, NULL };
    const char *arg;
    apr_status_t rv;
    int optch, code;

    *help = 0;
    while ((rv = apr_getopt_long(os, opts, &optch, &arg)) == APR_SUCCESS) {
        switch (optch) {
        case 'h': fputs(usage, stdout); *help = 1; return 0;
        case OPT_CA: co.url = arg; break;
        case OPT_CA_CERT: co.ca_cert = arg; break;
        case OPT_PROXY: co.proxy = arg; break;
        }
    }
    if (rv != APR_EOF || os->ind != os->argc) {
        return usage_error(c, apr_pstrcat(c->p, argv[0], " ", NULL));
    }
    if (co.url == NULL) {
        return fail(EXIT_USAGE, "%s needs --ca URL", argv[0]);
    }
    if ((code = ca_opts_check(c, &co)) != 0 || (code = open_store(c, store)) != 0
        || (code = get_ca(c, *store, &co, ca)) != 0) {
        return code;
    }
    rv = acme_account_load(*store, c->p, *ca, acct);
    if (APR_STATUS_IS_ENOENT(rv)) {
        return fail(1, "the store has no account for %s", co.url);
    }
    return rv == APR_SUCCESS ? 0 : fail(1, "cannot load the account for %s: %s", co.url,
                                        errstr(c, rv));
}

int verb_account_deactivate(ctl_t *c, int argc, const char *const *argv)
{
    acme_store_t *store;
    acme_ca_t *ca;
    acme_account_t *acct;
    acme_problem_t *prob = NULL;
    apr_status_t rv;
    int help, code = account_setup(c, argc, argv, usage_account_deactivate, &store, &ca, &acct,
                                   &help);

    if (code != 0 || help) {
        return code;
    }
    rv = acme_account_deactivate(ca, c->p, acct, &prob);
    if (rv != APR_SUCCESS) {
        return fail(1, "deactivating %s failed: %s", acct->url, problem_text(c, rv, prob));
    }
    acct->status = "deactivated";
    rv = acme_account_save(store, c->p, ca, acct, NULL);
    if (rv != APR_SUCCESS) {
        return fail(1, "deactivated, but the store was not updated: %s", errstr(c, rv));
    }
    printf("deactivated: %s\n", acct->url);
    return 0;
}

int verb_account_rollover(ctl_t *c, int argc, const char *const *argv)
{
    acme_store_t *store;
    acme_ca_t *ca;
    acme_account_t *acct;
    acme_problem_t *prob = NULL;
    acme_key_t *key;
    apr_status_t rv;
    int help, code = account_setup(c, argc, argv, usage_account_rollover, &store, &ca, &acct,
                                   &help);

    if (code != 0 || help) {
        return code;
    }
    rv = acme_key_generate(c->p, acme_key_type(acct->key), &key);
    if (rv != APR_SUCCESS) {
        return fail(1, "cannot generate the new account key: %s", errstr(c, rv));
    }
    rv = acme_account_rollover(ca, c->p, acct, key, &prob);
    if (APR_STATUS_IS_ENOTIMPL(rv) || (prob && prob->status == 501)) {
        /* step-ca 0.19: the directory names keyChange, the request answers 501 */
        return fail(1, "the CA %s does not implement account key rollover (%s); the account "
                    "and its key are unchanged", acme_ca_url(ca),
                    APR_STATUS_IS_ENOTIMPL(rv) ? "no keyChange in its directory"
                                               : "keyChange answered 501 Not Implemented");
    }
    if (rv != APR_SUCCESS) {
        return fail(1, "key rollover of %s failed: %s", acct->url, problem_text(c, rv, prob));
    }
    rv = acme_account_save(store, c->p, ca, acct, NULL);
    if (rv != APR_SUCCESS) {
        /* The CA knows only the new key now: losing it loses the account. */
        return fail(1, "the CA switched %s to a new key but saving it failed: %s", acct->url,
                    errstr(c, rv));
    }
    printf("rolled over: %s\n", acct->url);
    return 0;
}
