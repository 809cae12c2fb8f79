/* acmectl.c: the command-line tool over the ACME core (acmectl(1)): its global options, usage and verb table, and what every verb shares (one-line errors, the log on stderr, option parsing, the store). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <unistd.h>

#include <apr_general.h>
#include <apr_getopt.h>
#include <apr_strings.h>

#include "acme_log.h"
#include "acme_seal.h"
#include "acme_store.h"
#include "acme_version.h"
#include "acmectl.h"

#define DEFAULT_STORE "acme"

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

int plain_args(ctl_t *c, int argc, const char *const *argv, const char *verb, const char *usage,
               int min, int max, apr_array_header_t **args)
{
    static const apr_getopt_option_t opts[] = { { "help", 'h', 0, "help" }, { NULL, 0, 0, NULL } };
    apr_getopt_t *os = opt_init(c, argc, argv, 1);
    const char *arg;
    apr_status_t rv;
    int optch;

    while ((rv = apr_getopt_long(os, opts, &optch, &arg)) == APR_SUCCESS) {
        if (optch == 'h') {
            fputs(usage, stdout);
            return 0;
        }
    }
    *args = positional(c, os);
    if (rv != APR_EOF || (*args)->nelts < min || (*args)->nelts > max) {
        return usage_error(c, verb);
    }
    return -1;
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

/* The store entry of a domain named on the command line, which must exist. */
int known_entry(ctl_t *c, acme_store_t *store, const char *name, const char **entry)
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
