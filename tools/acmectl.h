/* acmectl.h: what acmectl's verbs share (the run context, one-line errors, option parsing, the store, reaching a CA), so each verb lives in a file of its own. */
#ifndef ACMECTL_H
#define ACMECTL_H

#include <apr_getopt.h>
#include <apr_pools.h>
#include <apr_tables.h>

#include "acme_ca.h"
#include "acme_drive.h"
#include "acme_log.h"
#include "acme_store.h"

#define EXIT_USAGE 2

/* Long options of the verbs that talk to a CA; a verb numbers its own from OPT_VERB. */
enum { OPT_CA = 256, OPT_CA_CERT, OPT_PROXY, OPT_VERB };

/* Everything a verb needs; lives for the whole run. */
typedef struct {
    apr_pool_t *p;
    const char *store_dir;
    const char *store_url;      /* -s redis://...: a fleet's store (store_dir: its local part) */
    const char *store_key_file; /* --store-key-file: seals private keys kept in Redis */
    acme_logger_t log;
    char opt_err[256];          /* apr_getopt's complaint, for the one-line error */
} ctl_t;

typedef int verb_fn(ctl_t *c, int argc, const char *const *argv);

/* Prints "acmectl: <message>" on stderr and returns code. */
int fail(int code, const char *fmt, ...) ACME_PRINTF(2, 3);
/* apr_strerror's text, allocated from c->p. */
const char *errstr(ctl_t *c, apr_status_t rv);
/* apr_getopt over argv with acmectl's error collection. */
apr_getopt_t *opt_init(ctl_t *c, int argc, const char *const *argv, int interleave);
/* The usage error of verb ("VERB " or NULL) after apr_getopt failed: exit status 2. */
int usage_error(ctl_t *c, const char *verb);
/* The arguments left after option parsing. */
apr_array_header_t *positional(ctl_t *c, apr_getopt_t *os);
/* For verbs whose only option is --help: -1 with the positional arguments in
 * *args when there are min to max of them, else the verb's exit status (0 after
 * --help printed usage, 2 for a usage error naming verb, "VERB "). */
int plain_args(ctl_t *c, int argc, const char *const *argv, const char *verb, const char *usage,
               int min, int max, apr_array_header_t **args);
/* The store: the file store at c->store_dir, or with -s redis://... the
 * fleet's store (its local groups at c->store_dir); the error line when it
 * cannot be opened. */
int open_store(ctl_t *c, acme_store_t **store);
/* The store entry of a domain named on the command line, which must exist
 * (exit 2 for a name that is not one, 1 when the store lacks it). */
int known_entry(ctl_t *c, acme_store_t *store, const char *name, const char **entry);

/* How to reach the CA: --ca, --ca-cert, --http-proxy (every verb that talks to
 * one; acmectl_ca.c). */
typedef struct {
    const char *url, *ca_cert, *proxy;
} ca_opts_t;

/* Refuses (exit 2) what cannot work before any request; makes --ca-cert absolute. */
int ca_opts_check(ctl_t *c, ca_opts_t *co);
/* A CA registry whose HTTP client trusts ca_cert (NULL: the system's). */
int make_registry(ctl_t *c, const ca_opts_t *co, const char *ca_cert, acme_ca_registry_t **reg);
/* The trust file for co->url: --ca-cert, else the one the store recorded. */
const char *trust_file(ctl_t *c, acme_store_t *store, const ca_opts_t *co);
/* The CA at co->url, trusting trust_file(). */
int get_ca(ctl_t *c, acme_store_t *store, const ca_opts_t *co, acme_ca_t **ca);
/* The CA's problem document as text, else rv's. */
const char *problem_text(ctl_t *c, apr_status_t rv, const acme_problem_t *prob);

/* The verbs, each in a file of its own. */
extern const char usage_status[];
int verb_status(ctl_t *c, int argc, const char *const *argv);
extern const char usage_renew[];
int verb_renew(ctl_t *c, int argc, const char *const *argv);
extern const char usage_revoke[];
int verb_revoke(ctl_t *c, int argc, const char *const *argv);
extern const char usage_issue[];
int verb_issue(ctl_t *c, int argc, const char *const *argv);
extern const char usage_account_deactivate[];
int verb_account_deactivate(ctl_t *c, int argc, const char *const *argv);
extern const char usage_account_rollover[];
int verb_account_rollover(ctl_t *c, int argc, const char *const *argv);
extern const char usage_import[];
int verb_import(ctl_t *c, int argc, const char *const *argv);
extern const char usage_convert_config[];
int verb_convert_config(ctl_t *c, int argc, const char *const *argv);

#endif
