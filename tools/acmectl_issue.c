/* acmectl_issue.c: the issue verb, which gets a certificate standalone: its options checked before any request, one drive against the CA, the result activated in the store at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include <apr_file_info.h>
#include <apr_strings.h>

#include "acme_account.h"
#include "acme_activate.h"
#include "acme_domain.h"
#include "acme_drive.h"
#include "acme_file.h"
#include "acme_key.h"
#include "acme_responder.h"
#include "acme_time.h"
#include "acme_tkauth.h"
#include "acme_tnauth.h"
#include "acmectl.h"

#define EAB_FILE_MAX 4096

enum { OPT_EMAIL = OPT_VERB, OPT_TOS, OPT_WEBROOT, OPT_DNS, OPT_KEY_TYPE, OPT_EAB_KID,
       OPT_EAB_HMAC, OPT_EAB_HMAC_FILE, OPT_PROFILE, OPT_CHAIN, OPT_ACCT_KEY_TYPE,
       OPT_HOOK_TIMEOUT, OPT_TNAUTH, OPT_TOKEN_CMD, OPT_TOKEN_FILE };

const char usage_issue[] =
    "usage: acmectl [-s STORE] issue --ca URL [--ca-cert FILE] --email ADDR --agree-tos\n"
    "           (--webroot DIR | --dns-command PATH) [--key-type T ...]\n"
    "           [--eab-kid KID (--eab-hmac-file FILE | --eab-hmac KEY)] [--profile NAME]\n"
    "           [--preferred-chain CN] [--account-key-type T] [--hook-timeout DURATION]\n"
    "           [--http-proxy URL] NAME...\n"
    "       acmectl [-s STORE] issue --ca URL ... --tnauthlist SPC[,TN|FIRST-LAST...]\n"
    "           (--token-command PATH [--hook-timeout DURATION] | --token-file FILE)\n"
    "  Get a certificate for NAME... (DNS names, *.wildcards with dns-01, IP\n"
    "  addresses) and store it as <STORE>/domains/<first name>/fullchain[.T].pem and\n"
    "  privkey[.T].pem. An interrupted run resumes its order when started again.\n"
    "  --ca URL               ACME directory URL\n"
    "  --ca-cert FILE         PEM bundle to trust for the CA's HTTPS server\n"
    "  --email ADDR           account contact\n"
    "  --agree-tos            agree to the CA's terms of service\n"
    "  --webroot DIR          answer http-01 by writing DIR/.well-known/acme-challenge/\n"
    "  --dns-command PATH     answer dns-01 by running 'PATH setup|teardown NAME VALUE'\n"
    "  --hook-timeout D       kill the DNS or token command after D (default 120s)\n"
    "  --key-type T           ec256 (default), ec384, rsa2048, rsa3072, rsa4096; repeat\n"
    "                         for one certificate per type\n"
    "  --eab-kid KID          External Account Binding key id; its base64url MAC key\n"
    "  --eab-hmac-file FILE   from this file,\n"
    "  --eab-hmac KEY         from the command line (visible to every user in ps),\n"
    "                         else from the environment variable ACMECTL_EAB_HMAC\n"
    "  --profile NAME         ACME profile to request\n"
    "  --preferred-chain CN   alternate chain whose top issuer has this common name\n"
    "  --account-key-type T   key type of a new account key (default ec256)\n"
    "  --http-proxy URL       reach the CA through this proxy\n"
    "  --tnauthlist LIST      a STIR/SHAKEN certificate (RFC 9448) for a TNAuthList\n"
    "                         instead of NAME...: the SPC first, then telephone numbers\n"
    "                         and ranges (FIRST-LAST or FIRST+COUNT); 'tn:'/'spc:' mark\n"
    "                         an element. Stored as <STORE>/domains/tnauthlist-<spc>/.\n"
    "  --token-command PATH   answer tkauth-01 with the Authority Token PATH prints for\n"
    "                         'PATH TNAUTHLIST FINGERPRINT TOKEN-AUTHORITY'\n"
    "  --token-file FILE      answer tkauth-01 with the Authority Token in FILE\n"
    "  See README \"STIR/SHAKEN certificates\".\n"
    "  Bad values are refused before anything is sent (exit 2). The CA's URL and\n"
    "  trust file are recorded in the store: revoke, renew and status need only\n"
    "  -s STORE DOMAIN afterwards.\n";

typedef struct {
    const char *ca_url, *ca_cert, *email, *webroot, *dns_cmd, *eab_kid, *eab_hmac;
    const char *eab_hmac_file, *profile, *chain, *proxy;
    const char *tnauth, *token_cmd, *token_file;  /* --tnauthlist and its token source */
    const char *tn_value, *tn_id;                 /* the identifier value and store id */
    apr_interval_time_t hook_timeout;
    int tos;
    acme_key_type_e acct_type;
    apr_array_header_t *key_types;  /* acme_key_type_e */
    apr_array_header_t *names;
} issue_opts_t;

static int add_key_type(issue_opts_t *io, const char *arg)
{
    acme_key_type_e t;

    if (acme_key_type_parse(arg, &t) != APR_SUCCESS) {
        return fail(EXIT_USAGE, "unknown key type '%s' (allowed: %s)", arg, acme_key_type_names());
    }
    for (int i = 0; i < io->key_types->nelts; i++) {
        if (APR_ARRAY_IDX(io->key_types, i, acme_key_type_e) == t) {
            return 0;
        }
    }
    APR_ARRAY_PUSH(io->key_types, acme_key_type_e) = t;
    return 0;
}

static int issue_parse(ctl_t *c, int argc, const char *const *argv, issue_opts_t *io, int *help)
{
    static const apr_getopt_option_t opts[] = {
        { "ca", OPT_CA, 1, "" }, { "ca-cert", OPT_CA_CERT, 1, "" }, { "email", OPT_EMAIL, 1, "" },
        { "agree-tos", OPT_TOS, 0, "" }, { "webroot", OPT_WEBROOT, 1, "" },
        { "dns-command", OPT_DNS, 1, "" }, { "key-type", OPT_KEY_TYPE, 1, "" },
        { "eab-kid", OPT_EAB_KID, 1, "" }, { "eab-hmac", OPT_EAB_HMAC, 1, "" },
        { "eab-hmac-file", OPT_EAB_HMAC_FILE, 1, "" },
        { "profile", OPT_PROFILE, 1, "" }, { "preferred-chain", OPT_CHAIN, 1, "" },
        { "account-key-type", OPT_ACCT_KEY_TYPE, 1, "" }, { "http-proxy", OPT_PROXY, 1, "" },
        { "hook-timeout", OPT_HOOK_TIMEOUT, 1, "" }, { "help", 'h', 0, "" },
        { "tnauthlist", OPT_TNAUTH, 1, "" }, { "token-command", OPT_TOKEN_CMD, 1, "" },
        { "token-file", OPT_TOKEN_FILE, 1, "" },
        { NULL, 0, 0, NULL } };
    apr_getopt_t *os = opt_init(c, argc, argv, 1);
    const char *arg;
    apr_status_t rv;
    int optch, code = 0;

    memset(io, 0, sizeof(*io));
    io->key_types = apr_array_make(c->p, 2, sizeof(acme_key_type_e));
    io->acct_type = ACME_KEY_EC256;
    *help = 0;
    while (code == 0 && (rv = apr_getopt_long(os, opts, &optch, &arg)) == APR_SUCCESS) {
        switch (optch) {
        case 'h': *help = 1; return 0;
        case OPT_CA: io->ca_url = arg; break;
        case OPT_CA_CERT: io->ca_cert = arg; break;
        case OPT_EMAIL: io->email = arg; break;
        case OPT_TOS: io->tos = 1; break;
        case OPT_WEBROOT: io->webroot = arg; break;
        case OPT_DNS: io->dns_cmd = arg; break;
        case OPT_KEY_TYPE: code = add_key_type(io, arg); break;
        case OPT_EAB_KID: io->eab_kid = arg; break;
        case OPT_EAB_HMAC: io->eab_hmac = arg; break;
        case OPT_EAB_HMAC_FILE: io->eab_hmac_file = arg; break;
        case OPT_HOOK_TIMEOUT:
            if (acme_duration_parse(arg, &io->hook_timeout) != APR_SUCCESS) {
                code = fail(EXIT_USAGE, "--hook-timeout: '%s' is not a duration (e.g. 30s, "
                            "2m)", arg);
            }
            break;
        case OPT_PROFILE: io->profile = arg; break;
        case OPT_CHAIN: io->chain = arg; break;
        case OPT_PROXY: io->proxy = arg; break;
        case OPT_ACCT_KEY_TYPE:
            if (acme_key_type_parse(arg, &io->acct_type) != APR_SUCCESS) {
                code = fail(EXIT_USAGE, "unknown key type '%s' (allowed: %s)", arg,
                            acme_key_type_names());
            }
            break;
        case OPT_TNAUTH: io->tnauth = arg; break;
        case OPT_TOKEN_CMD: io->token_cmd = arg; break;
        case OPT_TOKEN_FILE: io->token_file = arg; break;
        }
    }
    if (code != 0) {
        return code;
    }
    if (rv != APR_EOF) {
        return usage_error(c, "issue ");
    }
    io->names = positional(c, os);
    return 0;
}

/* --tnauthlist: the list, exactly one token source, nothing of the DNS kind. */
static int tnauth_check(ctl_t *c, issue_opts_t *io)
{
    acme_tnauth_t *tl = NULL;
    const char *why = NULL;

    if (io->names->nelts > 0 || io->webroot || io->dns_cmd) {
        return fail(EXIT_USAGE, "--tnauthlist takes the place of NAME..., --webroot and "
                    "--dns-command");
    }
    if ((io->token_cmd == NULL) == (io->token_file == NULL)) {
        return fail(EXIT_USAGE, "--tnauthlist needs --token-command PATH or --token-file FILE");
    }
    if (acme_tnauth_parse_spec(c->p, io->tnauth, &tl, &why) != APR_SUCCESS) {
        return fail(EXIT_USAGE, "--tnauthlist: %s", why);
    }
    if (acme_tnauth_value(c->p, tl, &io->tn_value) != APR_SUCCESS
        || (io->tn_id = acme_tnauth_domain_id(c->p, tl)) == NULL) {
        return fail(EXIT_USAGE, "--tnauthlist: cannot encode %s", acme_tnauth_describe(c->p, tl));
    }
    if (io->key_types->nelts == 0) {
        APR_ARRAY_PUSH(io->key_types, acme_key_type_e) = ACME_KEY_EC256;  /* SHAKEN's P-256 */
    }
    return 0;
}

/* The EAB MAC key: from a file, the environment or the command line
 * (README "acmectl": argv is public). */
static int eab_key(ctl_t *c, issue_opts_t *io)
{
    const char *env = getenv("ACMECTL_EAB_HMAC");
    apr_status_t rv;

    if (io->eab_hmac && io->eab_hmac_file) {
        return fail(EXIT_USAGE, "--eab-hmac and --eab-hmac-file exclude each other");
    }
    if (io->eab_hmac_file) {
        if ((rv = acme_file_read_secret(c->p, io->eab_hmac_file, EAB_FILE_MAX, &io->eab_hmac))) {
            return fail(EXIT_USAGE, "--eab-hmac-file %s: cannot read a key from it: %s",
                        io->eab_hmac_file, rv == APR_EINVAL ? "empty" : errstr(c, rv));
        }
    }
    else if (!io->eab_hmac && io->eab_kid && env && *env) {
        io->eab_hmac = env;
    }
    if ((io->eab_kid == NULL) != (io->eab_hmac == NULL)) {
        return fail(EXIT_USAGE, "--eab-kid needs a MAC key (--eab-hmac-file FILE, "
                    "$ACMECTL_EAB_HMAC or --eab-hmac KEY) and a MAC key needs --eab-kid");
    }
    if (io->eab_hmac && !acme_account_eab_key_ok(c->p, io->eab_hmac)) {
        return fail(EXIT_USAGE, "the EAB MAC key (--eab-hmac, --eab-hmac-file or "
                    "$ACMECTL_EAB_HMAC) is not base64url, as the CA gave it");
    }
    if (io->eab_kid && !*io->eab_kid) {
        return fail(EXIT_USAGE, "--eab-kid is empty");
    }
    return 0;
}

/* A directory for --webroot, a program for --dns-command. */
static int is_dir(ctl_t *c, const char *path)
{
    apr_finfo_t fi;

    return apr_stat(&fi, path, APR_FINFO_TYPE, c->p) == APR_SUCCESS && fi.filetype == APR_DIR;
}

static int is_program(ctl_t *c, const char *path)
{
    apr_finfo_t fi;

    return apr_stat(&fi, path, APR_FINFO_TYPE, c->p) == APR_SUCCESS && fi.filetype == APR_REG
           && access(path, X_OK) == 0;
}

/* What the options must satisfy beyond their syntax: refused (exit 2) before
 * any request. */
static int issue_check(ctl_t *c, issue_opts_t *io)
{
    ca_opts_t co = { io->ca_url, io->ca_cert, io->proxy };
    int code;

    if (io->ca_url == NULL) {
        return fail(EXIT_USAGE, "issue needs --ca URL");
    }
    if (io->tnauth == NULL && (io->token_cmd || io->token_file)) {
        return fail(EXIT_USAGE, "--token-command and --token-file go with --tnauthlist");
    }
    if (io->tnauth == NULL && io->webroot == NULL && io->dns_cmd == NULL) {
        return fail(EXIT_USAGE, "issue needs --webroot DIR or --dns-command PATH");
    }
    if ((code = eab_key(c, io)) != 0 || (code = ca_opts_check(c, &co)) != 0) {
        return code;
    }
    io->ca_cert = co.ca_cert;
    if (io->email && !acme_account_email_ok(io->email)) {
        return fail(EXIT_USAGE, "--email '%s' is not an e-mail address", io->email);
    }
    if (io->tnauth != NULL) {
        return tnauth_check(c, io);
    }
    if (io->webroot && !is_dir(c, io->webroot)) {
        return fail(EXIT_USAGE, "--webroot '%s' is not a directory", io->webroot);
    }
    if (io->dns_cmd && !is_program(c, io->dns_cmd)) {
        return fail(EXIT_USAGE, "--dns-command '%s' is not an executable file", io->dns_cmd);
    }
    if (io->names->nelts == 0) {
        return fail(EXIT_USAGE, "issue needs at least one NAME");
    }
    for (int i = 0; i < io->names->nelts; i++) {
        const char *n = APR_ARRAY_IDX(io->names, i, const char *);

        if (!acme_identifier_valid(n)) {
            return fail(EXIT_USAGE, "'%s' is not a DNS name, wildcard or IP address", n);
        }
        if (n[0] == '*' && io->dns_cmd == NULL) {
            return fail(EXIT_USAGE, "%s: a wildcard needs dns-01 (--dns-command)", n);
        }
    }
    if (io->key_types->nelts == 0) {
        APR_ARRAY_PUSH(io->key_types, acme_key_type_e) = ACME_KEY_EC256;
    }
    return 0;
}

static acme_domain_t *issue_domain(ctl_t *c, const issue_opts_t *io)
{
    acme_domain_t *d = acme_domain_create(c->p, io->tn_value ? NULL
                                          : APR_ARRAY_IDX(io->names, 0, const char *));

    if (io->tn_value) {
        d->id = io->tn_id;
        APR_ARRAY_PUSH(d->names, const char *) = acme_tnauth_name(c->p, io->tn_value);
    }
    for (int i = 1; i < io->names->nelts; i++) {
        (void)acme_names_add(c->p, d->names, APR_ARRAY_IDX(io->names, i, const char *));
    }
    d->key_types = io->key_types;
    apr_array_clear(d->ca_urls);
    APR_ARRAY_PUSH(d->ca_urls, const char *) = io->ca_url;
    d->contact_email = io->email;
    d->tos_agreed = io->tos;
    d->eab_kid = io->eab_kid;
    d->eab_hmac = io->eab_hmac;
    apr_array_clear(d->challenges);
    if (io->webroot) {
        APR_ARRAY_PUSH(d->challenges, const char *) = "http-01";
    }
    if (io->dns_cmd) {
        APR_ARRAY_PUSH(d->challenges, const char *) = "dns-01";
    }
    if (io->tn_value) {
        APR_ARRAY_PUSH(d->challenges, const char *) = "tkauth-01";
    }
    d->dns_command = io->dns_cmd;
    d->profile = io->profile;
    d->preferred_chain = io->chain;
    d->account_key_type = io->acct_type;
    return d;
}

static acme_responder_t *issue_responder(ctl_t *c, const issue_opts_t *io)
{
    acme_responder_t *list[2];
    int n = 0;

    if (io->webroot) {
        list[n++] = acme_responder_webroot(c->p, io->webroot, &c->log);
    }
    if (io->dns_cmd) {
        list[n++] = acme_responder_dnscmd(c->p, io->dns_cmd, io->hook_timeout, NULL, &c->log);
    }
    if (io->tnauth) {
        return acme_responder_tkauth(c->p, io->token_cmd, io->token_file, io->hook_timeout,
                                     NULL, &c->log);
    }
    return n == 1 ? list[0] : acme_responder_chain(c->p, list, n);
}

/* The failure as one line: the drive's own account of it (what failed, the
 * CA's problem, the hint in acmectl's words), else the status. */
static const char *drive_error(ctl_t *c, apr_status_t rv, const acme_drive_result_t *res)
{
    const char *msg = res->message ? res->message : problem_text(c, rv, res->error);
    char *line = apr_pstrdup(c->p, msg);

    for (char *q = line; *q; q++) {
        if (*q == '\n' || *q == '\r') {
            *q = ' ';
        }
    }
    return line;
}

/* acmectl owns the store, so it activates at once (the same activation as
 * httpd's parent: verified bytes copied into fresh files) and removes the
 * staged set itself. */
static int activate(ctl_t *c, acme_store_t *store, const acme_domain_t *d)
{
    const char *entry = acme_store_entry(c->p, d->id), *why = NULL;
    apr_array_header_t *items;
    acme_staged_e state;
    apr_status_t rv = acme_activate(store, c->p, d, &state, &why);

    if (state == ACME_STAGED_BAD || state == ACME_STAGED_NONE) {
        return fail(1, "the new certificates of %s failed verification: %s", d->id,
                    why ? why : "nothing complete is staged");
    }
    if (rv != APR_SUCCESS) {
        return fail(1, "cannot activate the certificates of %s: %s", d->id, errstr(c, rv));
    }
    (void)store->remove(store, c->p, ACME_SG_STAGING, entry, NULL, NULL);
    if (store->list(store, c->p, ACME_SG_DOMAINS, entry, &items) == APR_SUCCESS) {
        for (int i = 0; i < items->nelts; i++) {
            printf("stored: %s\n", store->where(store, c->p, ACME_SG_DOMAINS, entry,
                                                 APR_ARRAY_IDX(items, i, const char *)));
        }
    }
    return 0;
}

int verb_issue(ctl_t *c, int argc, const char *const *argv)
{
    issue_opts_t io;
    ca_opts_t co;
    acme_drive_env_t env;
    acme_drive_result_t res;
    acme_domain_t *d;
    acme_store_t *store;
    const char *why;
    apr_status_t rv;
    int help, code;

    if ((code = issue_parse(c, argc, argv, &io, &help)) != 0) {
        return code;
    }
    if (help) {
        fputs(usage_issue, stdout);
        return 0;
    }
    if ((code = issue_check(c, &io)) != 0 || (code = open_store(c, &store)) != 0) {
        return code;
    }
    d = issue_domain(c, &io);
    memset(&env, 0, sizeof(env));
    env.store = store;
    env.log = &c->log;
    env.responder = issue_responder(c, &io);
    env.ui = ACME_UI_CLI;
    co.url = io.ca_url;
    co.ca_cert = io.ca_cert;
    co.proxy = io.proxy;
    env.ca_file = trust_file(c, store, &co);
    if ((code = make_registry(c, &co, env.ca_file, &env.cas)) != 0) {
        return code;
    }
    rv = acme_drive_run(&env, c->p, d, &res);
    if (APR_STATUS_IS_EBUSY(rv)) {
        return fail(1, "%s is being driven by another process; try again later", d->id);
    }
    if (rv != APR_SUCCESS || res.error != NULL) {
        return fail(1, "%s: %s", d->id, drive_error(c, rv, &res));
    }
    if (!res.staged) {
        return fail(1, "%s: the drive ended without new certificates", d->id);
    }
    if ((code = activate(c, store, d)) != 0) {
        return code;
    }
    /* Records the renewal schedule (window or the CA's ARI) for status. */
    (void)acme_drive_needed(&env, c->p, d, apr_time_now(), &why);
    return 0;
}
