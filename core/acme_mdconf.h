/* acme_mdconf.h: translates the mod_md directives of an httpd configuration file into mod_acme's, naming what has no equivalent (acmectl convert-config). */
#ifndef ACME_MDCONF_H
#define ACME_MDCONF_H

#include <apr_pools.h>
#include <apr_tables.h>

/* A mod_md directive that has no mod_acme equivalent. */
typedef struct acme_mdconf_gap_t {
    int line;               /* 1-based line of the input */
    const char *directive;  /* as spelled in the input */
    const char *why;        /* what to do instead */
} acme_mdconf_gap_t;

typedef struct acme_mdconf_t {
    const char *text;           /* the whole configuration with mod_acme's directives */
    int converted;              /* mod_md directives turned into mod_acme's (or made unneeded) */
    apr_array_header_t *gaps;   /* acme_mdconf_gap_t*: commented out, with the reason */
} acme_mdconf_t;

/* Converts len bytes of httpd configuration. Lines without mod_md directives
 * are kept as they are; converted lines keep their indentation; directives
 * without equivalent are commented out with the reason. name (the file's
 * name) goes into the header comment. APR_EINVAL for input that is not text
 * (NUL bytes) or too large (more than 4 MiB), APR_EINVAL with *err for a
 * section that is not closed. */
apr_status_t acme_mdconf_convert(apr_pool_t *p, const char *data, apr_size_t len,
                                 const char *name, acme_mdconf_t **out, const char **err);

#endif
