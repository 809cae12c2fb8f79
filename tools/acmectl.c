/* acmectl.c: the command-line tool over the ACME core: status, renew, revoke, issue and account maintenance on a store (acmectl(1)). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <unistd.h>

#include <apr_file_info.h>
#include <apr_general.h>
#include <apr_getopt.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_uri.h>
#include <openssl/crypto.h>

#include "acme_account.h"
#include "acme_activate.h"
#include "acme_ca.h"
#include "acme_domain.h"
#include "acme_drive.h"
#include "acme_file.h"
#include "acme_json.h"
#include "acme_key.h"
#include "acme_log.h"
#include "acme_mark.h"
#include "acme_order.h"
#include "acme_responder.h"
#include "acme_seal.h"
#include "acme_status.h"
#include "acme_store.h"
#include "acme_time.h"
#include "acme_tkauth.h"
#include "acme_tnauth.h"
#include "acme_version.h"
#include "acme_x509.h"
#include "acmectl.h"

#define DEFAULT_STORE "acme"
#define STATUS_ITEM "status.json"
#define META_ITEM "meta.json"
#define EAB_FILE_MAX 4096

typedef struct {
    const char *name;
    verb_fn *fn;
    const char *usage;
} verb_t;

/* ---------- output ---------- */

/* The one line a failing run ends with. */
int fail(int code, const char *fmt, ...)
{
    va_list ap;

    fputs("acmectl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

/* The core's log on stderr. A failure reaches the user once, as the run's
 * last line (fail()): the core's error lines repeat it and are shown only
 * with -v. */
static void log_to_stderr(void *baton, acme_log_level_e level, apr_status_t rv, const char *msg)
{
    static const char *const names[] = { "error", "warn", "notice", "info", "debug", "trace" };
    const acme_logger_t *log = baton;
    const char *name = (level >= ACME_LOG_ERR && level <= ACME_LOG_TRACE)
                       ? names[level - ACME_LOG_ERR] : "log";
    char err[128];

    if (level == ACME_LOG_ERR && log && log->level < ACME_LOG_INFO) {
        return;
    }
    /* APR_EGENERAL says nothing the message does not */
    if (rv != APR_SUCCESS && rv != APR_EGENERAL) {
        fprintf(stderr, "[%s] %s (%s)\n", name, msg, apr_strerror(rv, err, sizeof(err)));
    }
    else {
        fprintf(stderr, "[%s] %s\n", name, msg);
    }
}

const char *errstr(ctl_t *c, apr_status_t rv)
{
    char buf[128];

    return apr_pstrdup(c->p, apr_strerror(rv, buf, sizeof(buf)));
}

static int print_json(ctl_t *c, const json_t *j)
{
    char *s = acme_json_dump(c->p, j, JSON_INDENT(2));

    if (s == NULL) {
        return fail(1, "cannot serialize the status");
    }
    printf("%s\n", s);
    return 0;
}

/* ---------- option parsing ---------- */

/* Collects apr_getopt's message instead of letting it print its own. */
static void opt_errfn(void *arg, const char *fmt, ...)
{
    ctl_t *c = arg;
    va_list ap;
    apr_size_t n;

    va_start(ap, fmt);
    apr_vsnprintf(c->opt_err, sizeof(c->opt_err), fmt, ap);
    va_end(ap);
    n = strlen(c->opt_err);
    while (n > 0 && (c->opt_err[n - 1] == '\n' || c->opt_err[n - 1] == ' ')) {
        c->opt_err[--n] = '\0';
    }
}

apr_getopt_t *opt_init(ctl_t *c, int argc, const char *const *argv, int interleave)
{
    apr_getopt_t *os;

    apr_getopt_init(&os, c->p, argc, argv);
    os->errfn = opt_errfn;
    os->errarg = c;
    os->interleave = interleave;
    c->opt_err[0] = '\0';
    return os;
}

int usage_error(ctl_t *c, const char *verb)
{
    const char *msg = c->opt_err[0] ? c->opt_err : "bad arguments";

    /* apr_getopt names the program first; "acmectl: " is added by fail(). */
    if (strncmp(msg, "acmectl: ", 9) == 0) {
        msg += 9;
    }
    return fail(EXIT_USAGE, "%s (see 'acmectl %s--help')", msg, verb ? verb : "");
}

/* Remaining positional arguments after option parsing. */
apr_array_header_t *positional(ctl_t *c, apr_getopt_t *os)
{
    apr_array_header_t *a = apr_array_make(c->p, 4, sizeof(const char *));

    for (int i = os->ind; i < os->argc; i++) {
        APR_ARRAY_PUSH(a, const char *) = os->argv[i];
    }
    return a;
}

/* ---------- shared setup ---------- */

int open_store(ctl_t *c, acme_store_t **store)
{
    acme_store_spec_t spec;
    acme_seal_keys_t *keys = NULL;
    const char *err = NULL;
    apr_status_t rv;

    memset(&spec, 0, sizeof(spec));
    spec.dir = c->store_dir;
    spec.log = &c->log;
    if (c->store_url) {
        /* the same key file as the fleet's httpd (README "Running a fleet") */
        if (c->store_key_file
            && (rv = acme_seal_keys_read(c->p, c->store_key_file,
                                         geteuid() == 0 ? ACME_SEAL_ROOT_OWNED : 0, &keys, &err))
               != APR_SUCCESS) {
            return fail(1, "--store-key-file %s: %s", c->store_key_file, err);
        }
        spec.url = c->store_url;
        spec.keys = keys;
        spec.node = apr_psprintf(c->p, "acmectl:%s", c->store_dir);
    }
    rv = acme_store_open(c->p, &spec, store, &err);
    if (rv != APR_SUCCESS && c->store_url) {
        return fail(1, "cannot open the store %s: %s", c->store_url, err ? err : errstr(c, rv));
    }
    return rv == APR_SUCCESS ? 0 : fail(1, "cannot open the store %s: %s", c->store_dir,
                                        errstr(c, rv));
}

/* How to reach the CA: --ca, --ca-cert, --http-proxy (every verb that talks to one). */
typedef struct {
    const char *url, *ca_cert, *proxy;
} ca_opts_t;

static int url_ok(ctl_t *c, const char *s, int proxy)
{
    apr_uri_t u;

    if (apr_uri_parse(c->p, s, &u) != APR_SUCCESS || !u.scheme || !u.hostname || !*u.hostname) {
        return 0;
    }
    return !strcasecmp(u.scheme, "https") || !strcasecmp(u.scheme, "http")
           || (proxy && !strncasecmp(u.scheme, "socks", 5));
}

/* Refused before any request (exit 2): what cannot work. --ca-cert is made
 * absolute, as the store records it for later commands. */
static int ca_opts_check(ctl_t *c, ca_opts_t *co)
{
    apr_finfo_t fi;
    char *abs = NULL;

    if (co->url && !url_ok(c, co->url, 0)) {
        return fail(EXIT_USAGE, "--ca '%s' is not an http(s) URL of an ACME directory", co->url);
    }
    if (co->proxy && !url_ok(c, co->proxy, 1)) {
        return fail(EXIT_USAGE, "--http-proxy '%s' is not a proxy URL (http://host:port)",
                    co->proxy);
    }
    if (co->ca_cert) {
        if (apr_stat(&fi, co->ca_cert, APR_FINFO_TYPE, c->p) != APR_SUCCESS
            || fi.filetype != APR_REG || access(co->ca_cert, R_OK) != 0) {
            return fail(EXIT_USAGE, "--ca-cert '%s' is not a readable file", co->ca_cert);
        }
        if (apr_filepath_merge(&abs, NULL, co->ca_cert, APR_FILEPATH_NOTRELATIVE, c->p)
            == APR_SUCCESS) {
            co->ca_cert = abs;
        }
    }
    return 0;
}

static int make_registry(ctl_t *c, const ca_opts_t *co, const char *ca_cert,
                         acme_ca_registry_t **reg)
{
    acme_http_opts_t opts;
    apr_status_t rv;

    memset(&opts, 0, sizeof(opts));
    opts.ca_file = ca_cert;
    opts.proxy = co->proxy;
    rv = acme_ca_registry_create(c->p, &opts, &c->log, reg);
    return rv == APR_SUCCESS ? 0 : fail(1, "cannot set up the HTTP client: %s", errstr(c, rv));
}

/* The trust file for co->url: --ca-cert, else the one the store recorded
 * for that CA when a certificate was issued from it (NULL: the system's). */
static const char *trust_file(ctl_t *c, acme_store_t *store, const ca_opts_t *co)
{
    acme_ca_registry_t *reg;
    acme_ca_t *ca;

    if (co->ca_cert || !store || make_registry(c, co, NULL, &reg) != 0
        || acme_ca_registry_get(reg, co->url, &ca) != APR_SUCCESS) {
        return co->ca_cert;
    }
    return acme_account_trust_load(store, c->p, ca);
}

static int get_ca(ctl_t *c, acme_store_t *store, const ca_opts_t *co, acme_ca_t **ca)
{
    acme_ca_registry_t *reg;
    apr_status_t rv;
    int code = make_registry(c, co, trust_file(c, store, co), &reg);

    if (code != 0) {
        return code;
    }
    rv = acme_ca_registry_get(reg, co->url, ca);
    return rv == APR_SUCCESS ? 0 : fail(1, "cannot use the CA %s: %s", co->url, errstr(c, rv));
}

static const char *problem_text(ctl_t *c, apr_status_t rv, const acme_problem_t *prob)
{
    return prob ? acme_problem_str(c->p, prob) : errstr(c, rv);
}

/* The store entry of a domain named on the command line, which must exist. */
static int known_entry(ctl_t *c, acme_store_t *store, const char *name, const char **entry)
{
    static const acme_store_group_e groups[] = { ACME_SG_DOMAINS, ACME_SG_STAGING, ACME_SG_STATE };

    *entry = acme_store_entry(c->p, name);
    if (*entry == NULL) {
        return fail(EXIT_USAGE, "invalid domain name '%s'", name);
    }
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
        if (acme_store_has_entry(store, c->p, groups[i], *entry)) {
            return 0;
        }
    }
    return fail(1, "no domain '%s' in the store %s", name, c->store_dir);
}

/* ---------- status ---------- */

static const char usage_status[] =
    "usage: acmectl [-s STORE] status [DOMAIN]\n"
    "  Print the status JSON of every domain in the store, or of one; README's\n"
    "  section \"Status JSON\" explains its fields.\n";

static int verb_status(ctl_t *c, int argc, const char *const *argv)
{
    static const apr_getopt_option_t opts[] = { { "help", 'h', 0, "help" }, { NULL, 0, 0, NULL } };
    apr_getopt_t *os = opt_init(c, argc, argv, 1);
    apr_array_header_t *args;
    acme_store_t *store;
    json_t *out, *one;
    const char *entry, *arg;
    apr_status_t rv;
    int optch, code;

    while ((rv = apr_getopt_long(os, opts, &optch, &arg)) == APR_SUCCESS) {
        if (optch == 'h') {
            fputs(usage_status, stdout);
            return 0;
        }
    }
    args = positional(c, os);
    if (rv != APR_EOF || args->nelts > 1) {
        return usage_error(c, "status ");
    }
    if ((code = open_store(c, &store)) != 0) {
        return code;
    }
    if (args->nelts == 0) {
        rv = acme_status_all(c->p, store, NULL, &out);
        return rv == APR_SUCCESS ? print_json(c, out)
                                 : fail(1, "cannot read the status: %s", errstr(c, rv));
    }
    if ((code = known_entry(c, store, APR_ARRAY_IDX(args, 0, const char *), &entry)) != 0) {
        return code;
    }
    rv = acme_status_domain(c->p, store, entry, NULL, &one);
    if (rv != APR_SUCCESS) {
        return fail(1, "cannot read the status: %s", errstr(c, rv));
    }
    out = acme_json_own(c->p, json_pack("{s:s, s:[O]}", "version", ACME_VERSION, "domains", one));
    return print_json(c, out);
}

/* ---------- renew ---------- */

static const char usage_renew[] =
    "usage: acmectl [-s STORE] renew DOMAIN\n"
    "  Mark DOMAIN for renewal at the next check (httpd's watchdog, woken at once,\n"
    "  or the next 'acmectl issue'), regardless of the renewal window. Until then\n"
    "  status shows the renewal due now, with source \"manual\".\n";

static int verb_renew(ctl_t *c, int argc, const char *const *argv)
{
    static const apr_getopt_option_t opts[] = { { "help", 'h', 0, "help" }, { NULL, 0, 0, NULL } };
    apr_getopt_t *os = opt_init(c, argc, argv, 1);
    apr_array_header_t *args;
    acme_store_t *store;
    const char *entry, *arg;
    apr_status_t rv;
    int optch, code;

    while ((rv = apr_getopt_long(os, opts, &optch, &arg)) == APR_SUCCESS) {
        if (optch == 'h') {
            fputs(usage_renew, stdout);
            return 0;
        }
    }
    args = positional(c, os);
    if (rv != APR_EOF || args->nelts != 1) {
        return usage_error(c, "renew ");
    }
    if ((code = open_store(c, &store)) != 0
        || (code = known_entry(c, store, APR_ARRAY_IDX(args, 0, const char *), &entry)) != 0) {
        return code;
    }
    rv = acme_mark_renew(store, c->p, entry, apr_time_now());
    if (rv != APR_SUCCESS) {
        return fail(1, "cannot mark %s for renewal: %s", entry, errstr(c, rv));
    }
    return 0;
}

/* ---------- revoke ---------- */

static const char usage_revoke[] =
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

enum { OPT_CA = 256, OPT_CA_CERT, OPT_EMAIL, OPT_TOS, OPT_WEBROOT, OPT_DNS, OPT_KEY_TYPE,
       OPT_EAB_KID, OPT_EAB_HMAC, OPT_EAB_HMAC_FILE, OPT_PROFILE, OPT_CHAIN, OPT_REASON,
       OPT_ACCT_KEY_TYPE, OPT_HOOK_TIMEOUT, OPT_TNAUTH, OPT_TOKEN_CMD, OPT_TOKEN_FILE,
       OPT_PROXY, OPT_NO_REISSUE };

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

    if (acme_store_load_json(store, c->p, g, entry, META_ITEM, &st) == APR_SUCCESS
        && acme_json_get_str(st, "ca", &url) == APR_SUCCESS && url) {
        return url;
    }
    if (acme_store_load_json(store, c->p, ACME_SG_STATE, entry, STATUS_ITEM, &st) == APR_SUCCESS
        && acme_json_get_str(st, "ca", &url) == APR_SUCCESS) {
        return url;
    }
    return NULL;
}

static int verb_revoke(ctl_t *c, int argc, const char *const *argv)
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
        && (rv = acme_mark_revoked(store, c->p, entry, serials, reason, apr_time_now(),
                                   reissue)) != APR_SUCCESS && code == 0) {
        return fail(1, "revoked, but the store was not updated (status, renewal): %s",
                    errstr(c, rv));
    }
    return code;
}

/* ---------- issue ---------- */

static const char usage_issue[] =
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
        char *n = apr_pstrdup(c->p, APR_ARRAY_IDX(io->names, i, const char *));
        int dup = 0;

        for (char *q = n; *q; q++) {
            *q = (char)apr_tolower(*q);
        }
        for (int j = 0; j < d->names->nelts; j++) {
            dup = dup || !strcmp(APR_ARRAY_IDX(d->names, j, const char *), n);
        }
        if (!dup) {
            APR_ARRAY_PUSH(d->names, const char *) = n;
        }
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

static int verb_issue(ctl_t *c, int argc, const char *const *argv)
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

/* ---------- account maintenance ---------- */

static const char usage_account_deactivate[] =
    "usage: acmectl [-s STORE] account-deactivate --ca URL [--ca-cert FILE] [--http-proxy URL]\n"
    "  Deactivate the store's account at that CA (irreversible).\n";

static const char usage_account_rollover[] =
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

static int verb_account_deactivate(ctl_t *c, int argc, const char *const *argv)
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

static int verb_account_rollover(ctl_t *c, int argc, const char *const *argv)
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

/* ---------- main ---------- */

static const verb_t verbs[] = {
    { "status", verb_status, usage_status },
    { "renew", verb_renew, usage_renew },
    { "revoke", verb_revoke, usage_revoke },
    { "issue", verb_issue, usage_issue },
    { "account-deactivate", verb_account_deactivate, usage_account_deactivate },
    { "account-rollover", verb_account_rollover, usage_account_rollover },
    { "import", verb_import, usage_import },
    { "convert-config", verb_convert_config, usage_convert_config },
};

static void main_usage(FILE *out)
{
    fputs("usage: acmectl [-s STORE] [--store-key-file FILE] [-v] VERB [options] [args]\n"
          "  -s STORE   the store directory (default: $ACME_STORE, else ./" DEFAULT_STORE "),\n"
          "             or a fleet's redis://[user:password@]host:port[/db] (then the\n"
          "             directory is the default's, the local part)\n"
          "  --store-key-file FILE  with redis://: the fleet's ACMEStoreKeyFile\n"
          "  -v         more log output on stderr (info; twice: debug)\n"
          "  --version  print the version\n"
          "verbs (each has --help):\n"
          "  status [DOMAIN]                 the status JSON\n"
          "  renew DOMAIN                    renew at the next check\n"
          "  revoke DOMAIN [--reason N]      revoke the active certificates\n"
          "  issue --ca URL ... NAME...      get a certificate standalone\n"
          "  issue --ca URL ... --tnauthlist SPC --token-command PATH\n"
          "                                  a STIR/SHAKEN certificate (tkauth-01)\n"
          "  account-deactivate --ca URL     deactivate the account at a CA\n"
          "  account-rollover --ca URL       replace the account key at a CA\n"
          "  import --from-mod-md|--from-certbot DIR [--apply]\n"
          "                                  take over mod_md's or certbot's certificates\n"
          "  convert-config FILE             print mod_md's directives as mod_acme's\n"
          "Exit status: 0 success, 1 failure, 2 usage error.\n", out);
}

static int run(ctl_t *c, int argc, const char *const *argv)
{
    static const apr_getopt_option_t opts[] = {
        { "store", 's', 1, "" }, { "store-key-file", 'K', 1, "" },
        { "verbose", 'v', 0, "" }, { "help", 'h', 0, "" },
        { "version", 'V', 0, "" }, { NULL, 0, 0, NULL } };
    apr_getopt_t *os = opt_init(c, argc, argv, 0);
    const char *arg, *verb;
    apr_status_t rv;
    int optch;

    os->argv[0] = "acmectl";        /* a copy: messages name the tool, not its path */

    while ((rv = apr_getopt_long(os, opts, &optch, &arg)) == APR_SUCCESS) {
        switch (optch) {
        case 's':
            if (!strncasecmp(arg, "redis://", 8) || !strncasecmp(arg, "rediss://", 9)) {
                c->store_url = arg;
            }
            else {
                c->store_dir = arg;
            }
            break;
        case 'K': c->store_key_file = arg; break;
        case 'v': c->log.level = c->log.level < ACME_LOG_INFO ? ACME_LOG_INFO : ACME_LOG_DEBUG; break;
        case 'h': main_usage(stdout); return 0;
        case 'V': printf("acmectl %s\n", ACME_VERSION); return 0;
        }
    }
    if (rv != APR_EOF) {
        return usage_error(c, NULL);
    }
    if (os->ind >= os->argc) {
        main_usage(stderr);
        return fail(EXIT_USAGE, "no verb given");
    }
    verb = os->argv[os->ind];
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
        if (strcmp(verbs[i].name, verb) == 0) {
            return verbs[i].fn(c, os->argc - os->ind, os->argv + os->ind);
        }
    }
    return fail(EXIT_USAGE, "unknown verb '%s' (see 'acmectl --help')", verb);
}

int main(int argc, const char *const *argv)
{
    ctl_t c;
    const char *env;
    int code;

    if (apr_app_initialize(&argc, &argv, NULL) != APR_SUCCESS) {
        return fail(1, "cannot initialize APR");
    }
    memset(&c, 0, sizeof(c));
    apr_pool_create(&c.p, NULL);
    env = getenv("ACME_STORE");
    c.store_dir = (env && *env) ? env : DEFAULT_STORE;
    c.log.fn = log_to_stderr;
    c.log.baton = &c.log;
    c.log.level = ACME_LOG_WARN;
    code = run(&c, argc, argv);
    fflush(stdout);
    apr_pool_destroy(c.p);
    apr_terminate();
    return code;
}
