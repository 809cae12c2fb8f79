/* acmectl.h: what acmectl's verbs share (the run context, one-line errors, option parsing, the store), so verbs can live in files of their own. */
#ifndef ACMECTL_H
#define ACMECTL_H

#include <apr_getopt.h>
#include <apr_pools.h>
#include <apr_tables.h>

#include "acme_log.h"
#include "acme_store.h"

#define EXIT_USAGE 2

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
/* The store: the file store at c->store_dir, or with -s redis://... the
 * fleet's store (its local groups at c->store_dir); the error line when it
 * cannot be opened. */
int open_store(ctl_t *c, acme_store_t **store);

/* Verbs in files of their own. */
extern const char usage_import[];
int verb_import(ctl_t *c, int argc, const char *const *argv);
extern const char usage_convert_config[];
int verb_convert_config(ctl_t *c, int argc, const char *const *argv);

#endif
