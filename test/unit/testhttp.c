/* testhttp.c: the loopback HTTP/1.1 server of the unit tests (one thread, one connection at a time, every reply closes its connection). */
#define _GNU_SOURCE 1
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <apr_thread_mutex.h>
#include "testhttp.h"

#define REQ_MAX (256 * 1024)

struct tu_http_t {
    int lfd;
    int port;
    volatile int stop;
    int count;
    tu_http_handler_f handler;
    void *baton;
    apr_thread_t *thread;
    apr_thread_mutex_t *mu;
    apr_pool_t *pool;           /* the server thread's */
    char buf[REQ_MAX + 1];      /* the request being read */
    char last[REQ_MAX + 1];     /* the last request, whole */
    size_t last_len;
    size_t last_head_len;
};

static void send_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}

void tu_http_reply(int fd, int status, const char *headers, const char *body, apr_size_t len)
{
    char head[512];
    int n = snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n", status, (size_t)len);

    send_all(fd, head, (size_t)n);
    if (headers) send_all(fd, headers, strlen(headers));
    send_all(fd, "\r\n", 2);
    if (body) send_all(fd, body, len);
}

/* Reads one request into s->buf; its length, or 0 when it is not one. */
static size_t read_request(tu_http_t *s, int fd, size_t *head_len)
{
    size_t used = 0, want = 0;
    char *end = NULL;

    while (used < REQ_MAX && (!end || used < want)) {
        ssize_t r = recv(fd, s->buf + used, REQ_MAX - used, 0);
        if (r <= 0) return 0;
        used += (size_t)r;
        s->buf[used] = '\0';
        if (!end && (end = strstr(s->buf, "\r\n\r\n")) != NULL) {
            const char *cl = strcasestr(s->buf, "\r\nContent-Length:");
            *head_len = (size_t)(end - s->buf) + 4;
            want = *head_len + (cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
        }
    }
    return end && used >= want ? want : 0;
}

/* The request of len bytes in text, its head head_len of them, copied into p. */
static tu_http_req_t *parse_req(apr_pool_t *p, const char *text, size_t head_len, size_t len)
{
    tu_http_req_t *req = apr_pcalloc(p, sizeof(*req));
    const char *target;

    req->method = apr_pstrndup(p, text, strcspn(text, " \r"));
    target = text + strlen(req->method) + (text[strlen(req->method)] == ' ');
    req->path = apr_pstrndup(p, target, strcspn(target, " \r"));
    req->head = apr_pstrndup(p, text, head_len);
    req->body = apr_pstrndup(p, text + head_len, len - head_len);
    req->body_len = len - head_len;
    return req;
}

static void serve_one(tu_http_t *s, int fd, apr_pool_t *p)
{
    size_t head_len = 0, len = read_request(s, fd, &head_len);

    if (len == 0) return;
    apr_thread_mutex_lock(s->mu);
    memcpy(s->last, s->buf, len);
    s->last[len] = '\0';
    s->last_len = len;
    s->last_head_len = head_len;
    s->count++;
    apr_thread_mutex_unlock(s->mu);
    s->handler(s->baton, fd, parse_req(p, s->buf, head_len, len));
}

static void *APR_THREAD_FUNC server_main(apr_thread_t *t, void *data)
{
    tu_http_t *s = data;
    apr_pool_t *p = s->pool;

    while (!s->stop) {
        struct pollfd pfd = { s->lfd, POLLIN, 0 };
        int fd;

        if (poll(&pfd, 1, 50) <= 0 || (fd = accept(s->lfd, NULL, NULL)) < 0) continue;
        serve_one(s, fd, p);
        shutdown(fd, SHUT_WR);
        close(fd);
        apr_pool_clear(p);
    }
    (void)t;
    return NULL;    /* not apr_thread_exit: pthread_exit trips ASan's thread teardown */
}

static apr_status_t stop_cleanup(void *data)
{
    tu_http_stop(data);
    return APR_SUCCESS;
}

tu_http_t *tu_http_start(apr_pool_t *p, tu_http_handler_f handler, void *baton)
{
    tu_http_t *s = apr_pcalloc(p, sizeof(*s));
    struct sockaddr_in sa = { 0 };
    socklen_t salen = sizeof(sa);

    s->lfd = -1;
    s->handler = handler;
    s->baton = baton;
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if ((s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0
        || bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0
        || listen(s->lfd, 16) != 0
        || getsockname(s->lfd, (struct sockaddr *)&sa, &salen) != 0
        || apr_thread_mutex_create(&s->mu, APR_THREAD_MUTEX_DEFAULT, p) != APR_SUCCESS
        || apr_pool_create(&s->pool, p) != APR_SUCCESS
        || apr_thread_create(&s->thread, NULL, server_main, s, p) != APR_SUCCESS) {
        if (s->lfd >= 0) close(s->lfd);
        return NULL;
    }
    s->port = ntohs(sa.sin_port);
    /* before p's subpools (the thread's) go */
    apr_pool_pre_cleanup_register(p, s, stop_cleanup);
    return s;
}

const char *tu_http_url(tu_http_t *s, apr_pool_t *p, const char *path)
{
    return apr_psprintf(p, "http://127.0.0.1:%d%s", s->port, path);
}

int tu_http_count(tu_http_t *s)
{
    int n;

    apr_thread_mutex_lock(s->mu);
    n = s->count;
    apr_thread_mutex_unlock(s->mu);
    return n;
}

tu_http_req_t *tu_http_last(tu_http_t *s, apr_pool_t *p)
{
    tu_http_req_t *req = NULL;

    apr_thread_mutex_lock(s->mu);
    if (s->count > 0) {
        req = parse_req(p, s->last, s->last_head_len, s->last_len);
    }
    apr_thread_mutex_unlock(s->mu);
    return req;
}

void tu_http_stop(tu_http_t *s)
{
    apr_status_t rv;

    if (s->thread) {
        s->stop = 1;
        apr_thread_join(&rv, s->thread);
        s->thread = NULL;
        close(s->lfd);
    }
}

static void acme_ca_handler(void *baton, int fd, const tu_http_req_t *req)
{
    tu_acme_ca_t *ca = baton;
    const char *base = ca->dir_url;
    size_t blen = strlen(base) - strlen("/dir");
    char nonce[64], headers[1024], dir[2048];
    int n;

    snprintf(nonce, sizeof(nonce), "Replay-Nonce: nonce-%d\r\n", tu_http_count(ca->srv));
    if (!strcmp(req->path, "/dir")) {
        n = snprintf(dir, sizeof(dir), "{\"newNonce\":\"%.*s/nonce\",\"newAccount\":\"%.*s/new-acct\","
                     "\"newOrder\":\"%.*s/new-order\",\"revokeCert\":\"%.*s/revoke\","
                     "\"keyChange\":\"%.*s/key-change\",\"meta\":{%s%s%s}}",
                     (int)blen, base, (int)blen, base, (int)blen, base, (int)blen, base,
                     (int)blen, base, ca->terms ? "\"termsOfService\":\"" : "",
                     ca->terms ? ca->terms : "", ca->terms ? "\"" : "");
        tu_http_reply(fd, 200, "Content-Type: application/json\r\n", dir, (apr_size_t)n);
    }
    else if (!strcmp(req->path, "/nonce")) {
        tu_http_reply(fd, 200, nonce, NULL, 0);
    }
    else {
        const char *body = ca->body_for ? ca->body_for(ca, req->path) : NULL;

        snprintf(headers, sizeof(headers), "%sContent-Type: application/json\r\n%s%s%s", nonce,
                 ca->location ? "Location: " : "", ca->location ? ca->location : "",
                 ca->location ? "\r\n" : "");
        if (body) {
            tu_http_reply(fd, 200, headers, body, strlen(body));
        }
        else {
            tu_http_reply(fd, ca->status, headers, ca->body, ca->body ? strlen(ca->body) : 0);
        }
    }
}

tu_acme_ca_t *tu_acme_ca_start(apr_pool_t *p)
{
    tu_acme_ca_t *ca = apr_pcalloc(p, sizeof(*ca));

    ca->status = 500;
    if (!(ca->srv = tu_http_start(p, acme_ca_handler, ca))) return NULL;
    ca->dir_url = tu_http_url(ca->srv, p, "/dir");
    return ca;
}
