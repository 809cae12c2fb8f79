/* testhttp.h: a loopback HTTP/1.1 server on a thread for unit tests (a handler writes each reply, the last request is kept for the test to read), and a minimal ACME CA on it. */
#ifndef ACME_TESTHTTP_H
#define ACME_TESTHTTP_H

#include <apr_pools.h>

typedef struct tu_http_req_t {
    const char *method;
    const char *path;
    const char *head;           /* request line and headers as received */
    const char *body;           /* NUL-terminated */
    apr_size_t body_len;
} tu_http_req_t;

/* Writes the whole reply to fd (tu_http_reply does). Runs on the server's
 * thread: no check assertions here, record what the test needs in baton. */
typedef void (*tu_http_handler_f)(void *baton, int fd, const tu_http_req_t *req);

typedef struct tu_http_t tu_http_t;

/* Listens on 127.0.0.1, a free port; stopped at the cleanup of p at the latest. */
tu_http_t *tu_http_start(apr_pool_t *p, tu_http_handler_f handler, void *baton);
/* "http://127.0.0.1:<port>" followed by path. */
const char *tu_http_url(tu_http_t *s, apr_pool_t *p, const char *path);
/* Requests served so far. */
int tu_http_count(tu_http_t *s);
/* A copy of the last request (NULL before the first). */
tu_http_req_t *tu_http_last(tu_http_t *s, apr_pool_t *p);
void tu_http_stop(tu_http_t *s);

/* A reply with Content-Length and "Connection: close"; headers are
 * "Name: value\r\n" lines or NULL. */
void tu_http_reply(int fd, int status, const char *headers, const char *body, apr_size_t len);

/* A CA that serves /dir (newNonce, newAccount, newOrder, revokeCert,
 * keyChange; meta.termsOfService when terms is set) and /nonce, and answers
 * every POST with status, location and body (application/json) and a fresh
 * Replay-Nonce. Set the fields before the request that needs them. */
typedef struct tu_acme_ca_t {
    tu_http_t *srv;
    const char *dir_url;
    const char *terms;
    int status;
    const char *location;
    const char *body;
    /* when set, the body of a POST to this path (status 200), or NULL for the
     * fields above; runs on the server's thread */
    const char *(*body_for)(struct tu_acme_ca_t *ca, const char *path);
    void *baton;
} tu_acme_ca_t;

tu_acme_ca_t *tu_acme_ca_start(apr_pool_t *p);

#endif
