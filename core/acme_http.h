/* acme_http.h: the HTTP client on libcurl: shared connection cache, timeouts, size limits, trust file, proxy. */
#ifndef ACME_HTTP_H
#define ACME_HTTP_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include "acme_log.h"

typedef struct acme_http_opts_t {
    const char *ca_file;              /* PEM bundle to trust instead of the system store; NULL: system */
    const char *proxy;                /* NULL: none (curl's env proxy variables are ignored) */
    apr_interval_time_t connect_timeout;  /* default 10 s */
    apr_interval_time_t timeout;          /* whole request, default 30 s */
    apr_size_t max_body;              /* response body limit, default 1 MiB; over it the request fails */
    const char *user_agent;           /* default ACME_USER_AGENT */
    volatile int *cancel;             /* non-NULL and set: requests end with APR_EINTR, except a
                                       * POST already sent whole (its answer is awaited) */
} acme_http_opts_t;

/* Shared by all threads using one CA: connection cache, DNS and TLS sessions
 * go through a curl share handle with locks. */
typedef struct acme_http_t acme_http_t;

typedef struct acme_http_response_t {
    int status;
    apr_table_t *headers;       /* header names as sent; lookup is case-insensitive */
    char *body;                 /* NUL-terminated */
    apr_size_t body_len;
    const char *content_type;   /* media type only, lower-cased, no parameters; NULL when absent */
} acme_http_response_t;

apr_status_t acme_http_create(apr_pool_t *p, const acme_http_opts_t *opts,
                              const acme_logger_t *log, acme_http_t **http);

/* method "GET", "HEAD" or "POST". body may be NULL. On transport failure
 * (connect, TLS, timeout, size limit) returns non-success and sets *err to a
 * message naming the URL and the cause, allocated from p. */
apr_status_t acme_http_request(acme_http_t *http, apr_pool_t *p, const char *method,
                               const char *url, const char *content_type,
                               const char *body, apr_size_t body_len,
                               acme_http_response_t **resp, const char **err);

/* All values of a header (e.g. several Link headers), in order. */
apr_array_header_t *acme_http_header_values(apr_pool_t *p, const acme_http_response_t *resp,
                                            const char *name);
/* Targets of Link headers with the given rel ("up", "alternate", "index"). */
apr_array_header_t *acme_http_links(apr_pool_t *p, const acme_http_response_t *resp,
                                    const char *rel);

#endif
