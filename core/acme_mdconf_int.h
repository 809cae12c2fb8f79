/* acme_mdconf_int.h: what the mod_md config reader's files (acme_mdconf.c: translation; acme_mdconf_text.c: lines in, lines out) share inside the core; not for mod/ or tools/. */
#ifndef ACME_MDCONF_INT_H
#define ACME_MDCONF_INT_H

#include <apr_tables.h>
#include "acme_log.h"
#include "acme_mdconf.h"

/* One logical line of the input (continuation lines joined). */
typedef struct {
    int lineno;                 /* its first physical line */
    const char *raw;            /* the physical lines, joined by "\n" */
    const char *indent;
    enum { L_OTHER, L_DIRECTIVE, L_OPEN, L_CLOSE } kind;
    const char *name;           /* directive or section name, without '<', '</', '>' */
    apr_array_header_t *args;   /* const char*, unquoted */
} cline_t;

typedef struct {
    apr_pool_t *p;
    apr_array_header_t *lines;      /* cline_t */
    apr_array_header_t *out;        /* const char*: output lines */
    acme_mdconf_t *res;
    /* what the whole file says */
    apr_array_header_t *vhosts;     /* apr_array_header_t* of names, one per <VirtualHost> */
    int members_auto;               /* MDMembers at server level: 1 auto (mod_md's default), 0 manual */
    int global_pkeys;               /* MDPrivateKeys at server level */
    int has_msg_cmd;                /* MDMessageCmd somewhere */
    int mandatory_global;           /* MDProfileMandatory on at server level */
    int keytype_pending;            /* ACMEKeyType rsa2048 (mod_md's default) still to write */
    /* the block being converted */
    int in_set, in_vhost, set_mandatory;
} conv_t;

/* Splits the text into logical lines (cv->lines): a line ending in a backslash continues. */
void acme_mdconf_read_lines(conv_t *cv, const char *data, apr_size_t len);

/* One output line, as it is. */
void acme_mdconf_emit(conv_t *cv, const char *line);

/* words as httpd reads them back, quoted where needed, separated by blanks. */
const char *acme_mdconf_joined(apr_pool_t *p, const apr_array_header_t *words);

/* "# mod_acme: <text>" above a converted line. */
void acme_mdconf_comment(conv_t *cv, const cline_t *l, const char *fmt, ...) ACME_PRINTF(3, 4);

/* A converted line (with ACMEKeyType rsa2048 first when mod_md's default key
 * type still has to be written at server level). */
void acme_mdconf_converted(conv_t *cv, const cline_t *l, const char *text);

/* The converted line "name args..." / "name arg". */
void acme_mdconf_directive(conv_t *cv, const cline_t *l, const char *name,
                           const apr_array_header_t *args);
void acme_mdconf_directive1(conv_t *cv, const cline_t *l, const char *name, const char *arg);

/* The original commented out, with the reason, and noted as a gap. */
void acme_mdconf_gap(conv_t *cv, const cline_t *l, const char *why);

/* A mod_md directive made unneeded by mod_acme's behaviour: a comment stays. */
void acme_mdconf_dropped(conv_t *cv, const cline_t *l, const char *why);

#endif
