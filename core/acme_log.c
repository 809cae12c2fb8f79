/* acme_log.c: formats core log messages and hands them to the user's sink; makes outside text fit for a log line. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>
#include "acme_log.h"

int acme_log_enabled(const acme_logger_t *lg, acme_log_level_e level)
{
    return lg && lg->fn && level <= lg->level;
}

void acme_log(const acme_logger_t *lg, acme_log_level_e level, apr_status_t rv,
              const char *fmt, ...)
{
    char buf[2048];
    va_list ap;

    if (!acme_log_enabled(lg, level)) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    lg->fn(lg->baton, level, rv, buf);
}

const char *acme_printable(apr_pool_t *p, const char *s, apr_size_t max)
{
    apr_size_t n = s ? strlen(s) : 0;
    int cut = n > max;
    char *out, *o;

    out = apr_pstrmemdup(p, s ? s : "", cut ? max : n);
    for (o = out; *o; ++o) {
        if ((unsigned char)*o < 0x20 || *o == 0x7f) {
            *o = ' ';
        }
    }
    while (o > out && o[-1] == ' ') {
        *--o = '\0';
    }
    return cut ? apr_pstrcat(p, out, " [...]", NULL) : out;
}
