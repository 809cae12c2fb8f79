/* acme_mdconf_text.c: the text side of the mod_md config reader: httpd configuration split into logical lines of words as httpd reads them, and the converted lines, comments and gaps written back. */
#include <stdarg.h>
#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include "acme_mdconf.h"
#include "acme_mdconf_int.h"

#define WORDS_MAX 1000

/* ---- reading ----------------------------------------------------------------- */

/* ap_getword_conf's rules: whitespace separates, "..." and '...' quote, a
 * backslash before the quote character escapes it. */
static const char *getword(apr_pool_t *p, const char **line)
{
    const char *s = *line;
    char *w, *o;

    while (apr_isspace(*s)) s++;
    if (!*s) {
        *line = s;
        return NULL;
    }
    w = o = apr_palloc(p, strlen(s) + 1);
    if (*s == '"' || *s == '\'') {
        char q = *s++;

        while (*s && *s != q) {
            if (*s == '\\' && s[1] == q) s++;
            *o++ = *s++;
        }
        if (*s == q) s++;
    }
    else {
        while (*s && !apr_isspace(*s)) *o++ = *s++;
    }
    *o = '\0';
    *line = s;
    return w;
}

static apr_status_t parse_line(apr_pool_t *p, cline_t *l, const char *text)
{
    const char *s = text, *w;
    apr_size_t n;

    while (*s == ' ' || *s == '\t') s++;
    l->indent = apr_pstrmemdup(p, text, (apr_size_t)(s - text));
    l->args = apr_array_make(p, 4, sizeof(const char *));
    l->kind = L_OTHER;
    if (!*s || *s == '#') {
        return APR_SUCCESS;
    }
    if (s[0] == '<' && s[1] == '/') {
        const char *e = strchr(s, '>');

        l->kind = L_CLOSE;
        l->name = apr_pstrmemdup(p, s + 2, e ? (apr_size_t)(e - s - 2) : strlen(s + 2));
        return APR_SUCCESS;
    }
    if (s[0] == '<') {
        const char *e = strrchr(s, '>');
        char *inner;

        l->kind = L_OPEN;
        inner = apr_pstrmemdup(p, s + 1, e ? (apr_size_t)(e - s - 1) : strlen(s + 1));
        s = inner;
        l->name = getword(p, &s);
        if (!l->name) {
            return APR_EINVAL;
        }
    }
    else {
        l->kind = L_DIRECTIVE;
        l->name = getword(p, &s);
        if (!l->name) {
            return APR_EINVAL;  /* only blanks httpd's reader also skips */
        }
    }
    while ((w = getword(p, &s)) != NULL) {
        if (l->args->nelts >= WORDS_MAX) {
            return APR_EINVAL;
        }
        APR_ARRAY_PUSH(l->args, const char *) = w;
    }
    n = strlen(l->name);
    return n > 0 && n < 256 ? APR_SUCCESS : APR_EINVAL;
}

/* Splits the text into logical lines: a line ending in a backslash continues. */
void acme_mdconf_read_lines(conv_t *cv, const char *data, apr_size_t len)
{
    const char *s = data, *end = data + len;
    int lineno = 0;

    while (s < end) {
        cline_t *l = apr_array_push(cv->lines);
        apr_array_header_t *phys = apr_array_make(cv->p, 1, sizeof(const char *));
        char *logical = "";

        memset(l, 0, sizeof(*l));
        l->lineno = lineno + 1;
        for (;;) {
            const char *nl = memchr(s, '\n', (size_t)(end - s));
            apr_size_t n = (apr_size_t)((nl ? nl : end) - s);
            char *one = apr_pstrmemdup(cv->p, s, n);

            lineno++;
            s = nl ? nl + 1 : end;
            if (n > 0 && one[n - 1] == '\r') one[--n] = '\0';
            APR_ARRAY_PUSH(phys, const char *) = one;
            if (n > 0 && one[n - 1] == '\\' && s < end) {
                logical = apr_pstrcat(cv->p, logical, apr_pstrmemdup(cv->p, one, n - 1), " ", NULL);
                continue;
            }
            logical = apr_pstrcat(cv->p, logical, one, NULL);
            break;
        }
        l->raw = apr_array_pstrcat(cv->p, phys, '\n');
        if (parse_line(cv->p, l, logical) != APR_SUCCESS) {
            l->kind = L_OTHER;      /* not ours to judge: kept as it is */
        }
    }
}

/* ---- writing ----------------------------------------------------------------- */

void acme_mdconf_emit(conv_t *cv, const char *line)
{
    APR_ARRAY_PUSH(cv->out, const char *) = line;
}

/* A word as httpd reads it back: quoted when it holds blanks or quotes. */
static const char *quote(apr_pool_t *p, const char *w)
{
    char *o, *q;

    if (*w && !strpbrk(w, " \t\"'\\")) {
        return w;
    }
    o = q = apr_palloc(p, 2 * strlen(w) + 3);
    *q++ = '"';
    for (; *w; w++) {
        if (*w == '"' || *w == '\\') *q++ = '\\';
        *q++ = *w;
    }
    *q++ = '"';
    *q = '\0';
    return o;
}

const char *acme_mdconf_joined(apr_pool_t *p, const apr_array_header_t *words)
{
    apr_array_header_t *q = apr_array_make(p, words->nelts, sizeof(const char *));

    for (int i = 0; i < words->nelts; i++) {
        APR_ARRAY_PUSH(q, const char *) = quote(p, APR_ARRAY_IDX(words, i, const char *));
    }
    return apr_array_pstrcat(p, q, ' ');
}

/* "# mod_acme: <text>" above a converted line. */
void acme_mdconf_comment(conv_t *cv, const cline_t *l, const char *fmt, ...)
{
    va_list ap;
    char *text;

    va_start(ap, fmt);
    text = apr_pvsprintf(cv->p, fmt, ap);
    va_end(ap);
    acme_mdconf_emit(cv, apr_pstrcat(cv->p, l->indent, "# mod_acme: ", text, NULL));
}

/* A converted line (with ACMEKeyType rsa2048 first when mod_md's default key
 * type still has to be written at server level). */
void acme_mdconf_converted(conv_t *cv, const cline_t *l, const char *text)
{
    if (cv->keytype_pending && !cv->in_set && !cv->in_vhost) {
        cv->keytype_pending = 0;
        acme_mdconf_comment(cv, l, "mod_md's default key type is RSA 2048 (mod_acme's own is ec256)");
        acme_mdconf_emit(cv, apr_pstrcat(cv->p, l->indent, "ACMEKeyType rsa2048", NULL));
    }
    acme_mdconf_emit(cv, apr_pstrcat(cv->p, l->indent, text, NULL));
    cv->res->converted++;
}

void acme_mdconf_directive(conv_t *cv, const cline_t *l, const char *name,
                           const apr_array_header_t *args)
{
    acme_mdconf_converted(cv, l, apr_pstrcat(cv->p, name, args->nelts ? " " : "", acme_mdconf_joined(cv->p, args), NULL));
}

void acme_mdconf_directive1(conv_t *cv, const cline_t *l, const char *name, const char *arg)
{
    apr_array_header_t *a = apr_array_make(cv->p, 1, sizeof(const char *));

    APR_ARRAY_PUSH(a, const char *) = arg;
    acme_mdconf_directive(cv, l, name, a);
}

/* The original commented out, with the reason, and noted as a gap. */
void acme_mdconf_gap(conv_t *cv, const cline_t *l, const char *why)
{
    acme_mdconf_gap_t *g = apr_pcalloc(cv->p, sizeof(*g));
    const char *s = l->raw;

    g->line = l->lineno;
    g->directive = l->name;
    g->why = why;
    APR_ARRAY_PUSH(cv->res->gaps, acme_mdconf_gap_t *) = g;
    acme_mdconf_emit(cv, apr_pstrcat(cv->p, l->indent, "# no mod_acme equivalent: ", why, NULL));
    while (s) {
        const char *nl = strchr(s, '\n');
        const char *one = nl ? apr_pstrmemdup(cv->p, s, (apr_size_t)(nl - s)) : s;

        while (*one == ' ' || *one == '\t') one++;
        acme_mdconf_emit(cv, apr_pstrcat(cv->p, l->indent, "# ", one, NULL));
        s = nl ? nl + 1 : NULL;
    }
}

/* A mod_md directive made unneeded by mod_acme's behaviour: a comment stays. */
void acme_mdconf_dropped(conv_t *cv, const cline_t *l, const char *why)
{
    acme_mdconf_emit(cv, apr_pstrcat(cv->p, l->indent, "# mod_acme: not needed (", why, "): ",
                                     l->name, " ", acme_mdconf_joined(cv->p, l->args), NULL));
    cv->res->converted++;
}
