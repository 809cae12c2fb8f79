/* acme_log.c: formats core log messages and hands them to the user's sink. */
#include <stdarg.h>
#include <stdio.h>
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
