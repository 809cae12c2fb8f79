/* acme_log.h: the core's logging sink, supplied by its user (httpd's error log, acmectl's stderr). */
#ifndef ACME_LOG_H
#define ACME_LOG_H

#include <apr_errno.h>
#include <apr_pools.h>

/* Levels follow syslog/httpd numbering so the module can map them 1:1. */
typedef enum {
    ACME_LOG_ERR = 3, ACME_LOG_WARN = 4, ACME_LOG_NOTICE = 5,
    ACME_LOG_INFO = 6, ACME_LOG_DEBUG = 7, ACME_LOG_TRACE = 8
} acme_log_level_e;

typedef void acme_log_fn(void *baton, acme_log_level_e level, apr_status_t rv, const char *msg);

/* Passed by value/pointer into every long-lived core object; never global.
 * A NULL logger or fn silently drops messages. */
typedef struct acme_logger_t {
    acme_log_fn *fn;
    void *baton;
    acme_log_level_e level;     /* messages above this are dropped before formatting */
} acme_logger_t;

#if defined(__GNUC__)
#define ACME_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define ACME_PRINTF(f, a)
#endif

void acme_log(const acme_logger_t *lg, acme_log_level_e level, apr_status_t rv,
              const char *fmt, ...) ACME_PRINTF(4, 5);

/* True when a message at this level would be emitted (skip expensive formatting). */
int acme_log_enabled(const acme_logger_t *lg, acme_log_level_e level);

/* Outside text (a CA's answer, a program's output) made fit for one log
 * line: control characters become spaces, trailing ones are dropped, and
 * more than max bytes are cut with " [...]". NULL gives "". */
const char *acme_printable(apr_pool_t *p, const char *s, apr_size_t max);

#endif
