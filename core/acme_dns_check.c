/* acme_dns_check.c: the dns-01 propagation check: glibc's resolver finds a zone's authoritative servers, each is asked for the TXT record without recursion. */
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <resolv.h>

#include <apr_lib.h>
#include <apr_network_io.h>
#include <apr_strings.h>

#include "acme_dns_check.h"
#include "acme_domain.h"

#define MSG_MAX 4096                    /* a TXT answer for dns-01 is far smaller */
#define UDP_WAIT apr_time_from_sec(2)
#define UDP_TRIES 2
#define TCP_WAIT apr_time_from_sec(5)
#define MAX_CNAMES 8                    /* CNAME hops followed, as a CA's resolver would */
#define MAX_HOSTS 8                     /* NS hosts asked per zone */
#define MAX_ADDRS 4                     /* addresses tried per NS host */
#define MAX_LABELS 16                   /* parents tried when looking for the zone */

struct acme_dns_check_t {
    const acme_logger_t *log;
    int use_system;                     /* res_nquery with /etc/resolv.conf */
    acme_dns_server_t resolver;         /* otherwise this server */
    int auth_port;                      /* where the authoritative servers are asked */
};

/* ---- addresses --------------------------------------------------------- */

static int is_ip(const char *s, int *family)
{
    unsigned char buf[16];

    if (inet_pton(AF_INET, s, buf) == 1) {
        *family = AF_INET;
        return 1;
    }
    if (inet_pton(AF_INET6, s, buf) == 1) {
        *family = AF_INET6;
        return 1;
    }
    return 0;
}

apr_status_t acme_dns_server_parse(const char *s, acme_dns_server_t *out)
{
    const char *host = s, *colon;
    apr_size_t hlen;
    int family, port = 53;

    if (!s || !*s || strlen(s) >= sizeof(out->host) + 8) {
        return APR_EINVAL;
    }
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || (close[1] && (close[1] != ':' || !acme_port_parse(close + 2, &port)))) {
            return APR_EINVAL;
        }
        host = s + 1;
        hlen = (apr_size_t)(close - host);
    }
    else if ((colon = strchr(s, ':')) != NULL && !strchr(colon + 1, ':')) {
        if (!acme_port_parse(colon + 1, &port)) {
            return APR_EINVAL;
        }
        hlen = (apr_size_t)(colon - s);
    }
    else {
        hlen = strlen(s);
    }
    if (hlen == 0 || hlen >= sizeof(out->host)) {
        return APR_EINVAL;
    }
    memcpy(out->host, host, hlen);
    out->host[hlen] = '\0';
    if (!is_ip(out->host, &family) || (s[0] == '[' && family != AF_INET6)) {
        return APR_EINVAL;
    }
    out->port = port;
    return APR_SUCCESS;
}

/* ---- parsing ------------------------------------------------------------- */

static int same_name(const char *a, const char *b)
{
    apr_size_t la = strlen(a), lb = strlen(b);

    if (la > 0 && a[la - 1] == '.') la--;
    if (lb > 0 && b[lb - 1] == '.') lb--;
    return la == lb && strncasecmp(a, b, la) == 0;
}

/* TXT rdata: one or more <length><bytes> strings, joined. NULL when
 * malformed or holding a NUL (never a dns-01 value). */
static const char *txt_rdata(apr_pool_t *p, const unsigned char *rd, apr_size_t len)
{
    char *out = apr_palloc(p, len + 1);
    apr_size_t i = 0, o = 0;

    while (i < len) {
        apr_size_t n = rd[i++];
        if (n > len - i || memchr(rd + i, 0, n)) {
            return NULL;
        }
        memcpy(out + o, rd + i, n);
        o += n;
        i += n;
    }
    out[o] = '\0';
    return out;
}

static const char *rdata_name(apr_pool_t *p, const ns_msg *msg, const ns_rr *rr)
{
    char name[NS_MAXDNAME];

    if (ns_name_uncompress(ns_msg_base(*msg), ns_msg_end(*msg), ns_rr_rdata(*rr), name,
                           sizeof(name)) < 0) {
        return NULL;
    }
    return apr_pstrdup(p, name);
}

static apr_status_t add_record(apr_pool_t *p, const ns_msg *msg, const ns_rr *rr,
                               acme_dns_answer_t *a)
{
    const unsigned char *rd = ns_rr_rdata(*rr);
    apr_size_t rdlen = ns_rr_rdlen(*rr);
    char text[INET6_ADDRSTRLEN];
    const char *s;

    switch (ns_rr_type(*rr)) {
    case ns_t_txt:
        if ((s = txt_rdata(p, rd, rdlen)) != NULL) {
            APR_ARRAY_PUSH(a->txt, const char *) = s;
        }
        return APR_SUCCESS;
    case ns_t_ns:
        if (!(s = rdata_name(p, msg, rr))) return APR_EINVAL;
        APR_ARRAY_PUSH(a->names, const char *) = s;
        return APR_SUCCESS;
    case ns_t_cname:
        if (!(s = rdata_name(p, msg, rr))) return APR_EINVAL;
        a->cname = s;
        return APR_SUCCESS;
    case ns_t_soa:
        a->soa = 1;
        return APR_SUCCESS;
    case ns_t_a:
    case ns_t_aaaa:
        if ((rdlen != 4 && rdlen != 16)
            || !inet_ntop(rdlen == 4 ? AF_INET : AF_INET6, rd, text, sizeof(text))) {
            return APR_EINVAL;
        }
        APR_ARRAY_PUSH(a->addrs, const char *) = apr_pstrdup(p, text);
        return APR_SUCCESS;
    default:
        return APR_SUCCESS;
    }
}

static apr_status_t check_question(ns_msg *msg, const char *qname, int qtype, int id)
{
    ns_rr q;

    if (ns_msg_id(*msg) != (unsigned)id || !ns_msg_getflag(*msg, ns_f_qr)
        || ns_msg_count(*msg, ns_s_qd) != 1 || ns_parserr(msg, ns_s_qd, 0, &q) < 0
        || (int)ns_rr_type(q) != qtype || ns_rr_class(q) != ns_c_in || !same_name(ns_rr_name(q), qname)) {
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

apr_status_t acme_dns_answer_parse(apr_pool_t *p, const unsigned char *msgbuf, apr_size_t len,
                                   const char *qname, int qtype, int id,
                                   acme_dns_answer_t **out)
{
    acme_dns_answer_t *a;
    ns_msg msg;
    ns_rr rr;
    int i, n;

    *out = NULL;
    if (!msgbuf || len < NS_HFIXEDSZ || len > 65535 || !qname
        || ns_initparse(msgbuf, (int)len, &msg) < 0) {
        return APR_EINVAL;
    }
    if (id >= 0 && check_question(&msg, qname, qtype, id) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    a = apr_pcalloc(p, sizeof(*a));
    a->rcode = ns_msg_getflag(msg, ns_f_rcode);
    a->authoritative = ns_msg_getflag(msg, ns_f_aa);
    a->truncated = ns_msg_getflag(msg, ns_f_tc);
    a->txt = apr_array_make(p, 2, sizeof(const char *));
    a->names = apr_array_make(p, 2, sizeof(const char *));
    a->addrs = apr_array_make(p, 2, sizeof(const char *));
    n = ns_msg_count(msg, ns_s_an);
    for (i = 0; i < n; i++) {
        if (ns_parserr(&msg, ns_s_an, i, &rr) < 0) {
            return APR_EINVAL;
        }
        if (ns_rr_class(rr) != ns_c_in || !same_name(ns_rr_name(rr), qname)) {
            continue;       /* e.g. the records of a CNAME's target */
        }
        if (add_record(p, &msg, &rr, a) != APR_SUCCESS) {
            return APR_EINVAL;
        }
    }
    *out = a;
    return APR_SUCCESS;
}

/* ---- asking ------------------------------------------------------------------ */

static apr_status_t sys_query(apr_pool_t *p, const char *qname, int qtype,
                              acme_dns_answer_t **ans)
{
    struct __res_state *st = apr_pcalloc(p, sizeof(*st));
    unsigned char *buf = apr_palloc(p, MSG_MAX);
    apr_status_t rv;
    int n, herr;

    if (res_ninit(st) != 0) {
        return APR_EGENERAL;
    }
    n = res_nquery(st, qname, ns_c_in, qtype, buf, MSG_MAX);
    herr = st->res_h_errno;
    res_nclose(st);
    if (n < 0) {
        /* glibc answers -1 for NXDOMAIN and for no data too */
        if (herr == HOST_NOT_FOUND || herr == NO_DATA) {
            *ans = apr_pcalloc(p, sizeof(**ans));
            (*ans)->rcode = herr == HOST_NOT_FOUND ? ns_r_nxdomain : ns_r_noerror;
            (*ans)->txt = apr_array_make(p, 1, sizeof(const char *));
            (*ans)->names = apr_array_make(p, 1, sizeof(const char *));
            (*ans)->addrs = apr_array_make(p, 1, sizeof(const char *));
            return APR_SUCCESS;
        }
        return APR_EGENERAL;
    }
    rv = acme_dns_answer_parse(p, buf, (apr_size_t)(n < MSG_MAX ? n : MSG_MAX), qname, qtype,
                               -1, ans);
    return rv;
}

static apr_status_t make_query(apr_pool_t *p, const char *qname, int qtype, int recurse,
                               unsigned char *buf, int *len, int *id)
{
    struct __res_state *st = apr_pcalloc(p, sizeof(*st));

    if (res_ninit(st) != 0) {
        return APR_EGENERAL;
    }
    if (recurse) st->options |= RES_RECURSE;
    else st->options &= ~(unsigned long)RES_RECURSE;
    *len = res_nmkquery(st, ns_o_query, qname, ns_c_in, qtype, NULL, 0, NULL, buf, MSG_MAX);
    res_nclose(st);
    if (*len < NS_HFIXEDSZ) {
        return APR_EINVAL;
    }
    *id = (buf[0] << 8) | buf[1];
    return APR_SUCCESS;
}

static apr_status_t udp_exchange(apr_pool_t *p, apr_sockaddr_t *sa, const unsigned char *q,
                                 int qlen, unsigned char *resp, apr_size_t *rlen)
{
    apr_socket_t *s;
    apr_sockaddr_t *from;
    apr_size_t n;
    apr_status_t rv;
    int tries;

    if ((rv = apr_socket_create(&s, sa->family, SOCK_DGRAM, APR_PROTO_UDP, p)) != APR_SUCCESS) {
        return rv;
    }
    apr_sockaddr_info_get(&from, NULL, sa->family, 0, 0, p);
    apr_socket_timeout_set(s, UDP_WAIT);
    for (tries = 0; tries < UDP_TRIES; tries++) {
        n = (apr_size_t)qlen;
        if ((rv = apr_socket_sendto(s, sa, 0, (const char *)q, &n)) != APR_SUCCESS) {
            break;          /* e.g. no route to an IPv6 server: not worth a retry */
        }
        n = *rlen;
        rv = apr_socket_recvfrom(from, s, 0, (char *)resp, &n);
        if (rv == APR_SUCCESS) {
            *rlen = n;
            break;
        }
    }
    apr_socket_close(s);
    return rv;
}

static apr_status_t read_full(apr_socket_t *s, unsigned char *buf, apr_size_t want)
{
    apr_size_t got = 0, n;
    apr_status_t rv;

    while (got < want) {
        n = want - got;
        rv = apr_socket_recv(s, (char *)buf + got, &n);
        got += n;
        if (rv != APR_SUCCESS && got < want) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

static apr_status_t tcp_exchange(apr_pool_t *p, apr_sockaddr_t *sa, const unsigned char *q,
                                 int qlen, unsigned char *resp, apr_size_t *rlen)
{
    apr_socket_t *s;
    unsigned char hdr[2];
    apr_size_t n, len;
    apr_status_t rv;

    if ((rv = apr_socket_create(&s, sa->family, SOCK_STREAM, APR_PROTO_TCP, p)) != APR_SUCCESS) {
        return rv;
    }
    apr_socket_timeout_set(s, TCP_WAIT);
    hdr[0] = (unsigned char)(qlen >> 8);
    hdr[1] = (unsigned char)qlen;
    n = 2;
    if ((rv = apr_socket_connect(s, sa)) == APR_SUCCESS
        && (rv = apr_socket_send(s, (const char *)hdr, &n)) == APR_SUCCESS) {
        n = (apr_size_t)qlen;
        rv = apr_socket_send(s, (const char *)q, &n);
    }
    if (rv == APR_SUCCESS && (rv = read_full(s, hdr, 2)) == APR_SUCCESS) {
        len = ((apr_size_t)hdr[0] << 8) | hdr[1];
        rv = len > *rlen ? APR_EINVAL : read_full(s, resp, len);
        *rlen = len;
    }
    apr_socket_close(s);
    return rv;
}

/* Ask host:port directly (recursion desired or not); TCP when UDP is truncated. */
static apr_status_t direct_query(apr_pool_t *p, const char *host, int port, const char *qname,
                                 int qtype, int recurse, acme_dns_answer_t **ans)
{
    unsigned char *q = apr_palloc(p, MSG_MAX), *resp = apr_palloc(p, MSG_MAX);
    apr_sockaddr_t *sa;
    apr_size_t rlen = MSG_MAX;
    apr_status_t rv;
    int qlen, id;

    if ((rv = apr_sockaddr_info_get(&sa, host, APR_UNSPEC, (apr_port_t)port, 0, p))
        || (rv = make_query(p, qname, qtype, recurse, q, &qlen, &id))
        || (rv = udp_exchange(p, sa, q, qlen, resp, &rlen))
        || (rv = acme_dns_answer_parse(p, resp, rlen, qname, qtype, id, ans))) {
        return rv;
    }
    if ((*ans)->truncated) {
        rlen = MSG_MAX;
        if ((rv = tcp_exchange(p, sa, q, qlen, resp, &rlen))
            || (rv = acme_dns_answer_parse(p, resp, rlen, qname, qtype, id, ans))) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

/* A lookup through the resolver (the system's or the configured one). */
static apr_status_t lookup(acme_dns_check_t *c, apr_pool_t *p, const char *qname, int qtype,
                           acme_dns_answer_t **ans)
{
    if (c->use_system) {
        return sys_query(p, qname, qtype, ans);
    }
    return direct_query(p, c->resolver.host, c->resolver.port, qname, qtype, 1, ans);
}

apr_status_t acme_dns_check_create(apr_pool_t *p, const char *resolver, const acme_logger_t *log,
                                   acme_dns_check_t **out)
{
    acme_dns_check_t *c = apr_pcalloc(p, sizeof(*c));

    c->log = log;
    c->auth_port = 53;
    c->use_system = resolver == NULL;
    if (resolver) {
        if (acme_dns_server_parse(resolver, &c->resolver) != APR_SUCCESS) {
            return APR_EINVAL;
        }
        c->auth_port = c->resolver.port;
    }
    *out = c;
    return APR_SUCCESS;
}

/* ---- the check ------------------------------------------------------------------ */

/* The closest enclosing zone: the first of name and its parents that has an SOA. */
static const char *find_zone(acme_dns_check_t *c, apr_pool_t *p, const char *name)
{
    const char *cand = name;
    int i;

    for (i = 0; cand && *cand && i < MAX_LABELS; i++) {
        acme_dns_answer_t *a = NULL;
        const char *dot;

        if (lookup(c, p, cand, ns_t_soa, &a) == APR_SUCCESS && a->soa) {
            return cand;
        }
        dot = strchr(cand, '.');
        cand = (dot && dot[1]) ? dot + 1 : NULL;
    }
    return NULL;
}

typedef struct {
    const char *name;                   /* NS host */
    apr_array_header_t *addrs;          /* const char* */
} ns_host_t;

static apr_array_header_t *zone_servers(acme_dns_check_t *c, apr_pool_t *p, const char *zone)
{
    apr_array_header_t *hosts = apr_array_make(p, 4, sizeof(ns_host_t));
    acme_dns_answer_t *ns = NULL;
    int i;

    if (lookup(c, p, zone, ns_t_ns, &ns) != APR_SUCCESS) {
        return hosts;
    }
    for (i = 0; i < ns->names->nelts && hosts->nelts < MAX_HOSTS; i++) {
        ns_host_t *h = apr_array_push(hosts);
        acme_dns_answer_t *a = NULL;

        h->name = APR_ARRAY_IDX(ns->names, i, const char *);
        h->addrs = apr_array_make(p, 2, sizeof(const char *));
        if (lookup(c, p, h->name, ns_t_a, &a) == APR_SUCCESS) {
            apr_array_cat(h->addrs, a->addrs);
        }
        if (lookup(c, p, h->name, ns_t_aaaa, &a) == APR_SUCCESS) {
            apr_array_cat(h->addrs, a->addrs);
        }
    }
    return hosts;
}

static int has_value(const apr_array_header_t *txt, const char *value)
{
    int i;

    for (i = 0; i < txt->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(txt, i, const char *), value)) {
            return 1;
        }
    }
    return 0;
}

typedef enum { HOST_HAS, HOST_LACKS, HOST_CNAME, HOST_SILENT, HOST_LAME } host_result_e;

/* What one NS host says about name; *why describes anything but HOST_HAS. */
static host_result_e ask_host(acme_dns_check_t *c, apr_pool_t *p, const ns_host_t *h,
                              const char *name, const char *value, const char **cname,
                              const char **why)
{
    int i;

    for (i = 0; i < h->addrs->nelts && i < MAX_ADDRS; i++) {
        const char *addr = APR_ARRAY_IDX(h->addrs, i, const char *);
        acme_dns_answer_t *a = NULL;

        if (direct_query(p, addr, c->auth_port, name, ns_t_txt, 0, &a) != APR_SUCCESS) {
            continue;
        }
        if (!a->authoritative) {
            *why = apr_psprintf(p, "%s (%s) is not authoritative for it", h->name, addr);
            return HOST_LAME;
        }
        if (a->cname) {
            *cname = a->cname;
            return HOST_CNAME;
        }
        if (a->rcode == ns_r_noerror && has_value(a->txt, value)) {
            return HOST_HAS;
        }
        if (a->rcode != ns_r_noerror && a->rcode != ns_r_nxdomain) {
            *why = apr_psprintf(p, "%s (%s) answers with DNS error %d", h->name, addr, a->rcode);
        }
        else if (a->txt->nelts == 0) {
            *why = apr_psprintf(p, "%s (%s) has no TXT record for it%s", h->name, addr,
                                a->rcode == ns_r_nxdomain ? " (NXDOMAIN)" : "");
        }
        else {
            *why = apr_psprintf(p, "%s (%s) has %d TXT record(s) for it, none with the "
                                "expected value", h->name, addr, a->txt->nelts);
        }
        return HOST_LACKS;
    }
    *why = apr_psprintf(p, "%s (%s) did not answer", h->name,
                        h->addrs->nelts ? apr_array_pstrcat(p, h->addrs, ',') : "no address");
    return HOST_SILENT;
}

static apr_status_t visible_once(acme_dns_check_t *c, apr_pool_t *p, const char *name,
                                 const char *value, const char **next, const char **why)
{
    const char *zone = find_zone(c, p, name), *cname = NULL, *w = NULL;
    apr_array_header_t *hosts;
    int i, answered = 0;

    *next = NULL;
    if (!zone) {
        *why = apr_psprintf(p, "no DNS zone found for %s (no SOA record at it or a parent)", name);
        return APR_ENOENT;
    }
    hosts = zone_servers(c, p, zone);
    if (hosts->nelts == 0) {
        *why = apr_psprintf(p, "the zone %s has no usable NS records", zone);
        return APR_ENOENT;
    }
    for (i = 0; i < hosts->nelts; i++) {
        switch (ask_host(c, p, &APR_ARRAY_IDX(hosts, i, ns_host_t), name, value, &cname, &w)) {
        case HOST_HAS:
            answered++;
            break;
        case HOST_CNAME:
            *next = cname;
            return APR_SUCCESS;
        case HOST_LAME:
            break;          /* a resolver skips it too */
        default:
            *why = apr_psprintf(p, "at the servers of zone %s: %s", zone, w);
            return APR_EAGAIN;
        }
    }
    if (answered == 0) {
        *why = apr_psprintf(p, "no authoritative server of zone %s answered (%s)", zone,
                            w ? w : "none");
        return APR_EAGAIN;
    }
    return APR_SUCCESS;
}

apr_status_t acme_dns_txt_visible(acme_dns_check_t *c, apr_pool_t *p, const char *name,
                                  const char *value, const char **why)
{
    const char *cur = name, *next = NULL;
    apr_status_t rv;
    int hops;

    *why = NULL;
    for (hops = 0; hops <= MAX_CNAMES; hops++) {
        rv = visible_once(c, p, cur, value, &next, why);
        if (rv != APR_SUCCESS || !next) {
            if (rv != APR_SUCCESS && cur != name) {
                *why = apr_psprintf(p, "%s (following the CNAME to %s)", *why, cur);
            }
            return rv;
        }
        cur = next;
    }
    *why = apr_psprintf(p, "more than %d CNAMEs from %s", MAX_CNAMES, name);
    return APR_EAGAIN;
}

static int sleep_until(apr_time_t until, volatile int *cancel)
{
    while (apr_time_now() < until) {
        apr_interval_time_t left = until - apr_time_now();

        if (cancel && *cancel) {
            return 0;
        }
        apr_sleep(left < apr_time_from_msec(100) ? left : apr_time_from_msec(100));
    }
    return !(cancel && *cancel);
}

apr_status_t acme_dns_wait(acme_dns_check_t *c, apr_pool_t *p, const apr_array_header_t *names,
                           const apr_array_header_t *values, apr_time_t deadline,
                           apr_interval_time_t interval, volatile int *cancel,
                           const char **why)
{
    int n = names->nelts, left = n, i;
    char *done = apr_pcalloc(p, (apr_size_t)n + 1);
    apr_time_t start = apr_time_now();
    apr_pool_t *sub;

    *why = NULL;
    apr_pool_create(&sub, p);
    while (left > 0) {
        const char *first = NULL;

        for (i = 0; i < n; i++) {
            const char *w = NULL, *name = APR_ARRAY_IDX(names, i, const char *);

            if (done[i]) continue;
            apr_pool_clear(sub);
            if (acme_dns_txt_visible(c, sub, name, APR_ARRAY_IDX(values, i, const char *), &w)
                == APR_SUCCESS) {
                done[i] = 1;
                left--;
                acme_log(c->log, ACME_LOG_DEBUG, 0, "dns-01: %s is visible at its authoritative "
                         "servers", name);
            }
            else if (!first) {
                first = apr_psprintf(p, "%s: %s", name, w ? w : "not visible");
            }
        }
        if (left == 0) break;
        *why = first;
        acme_log(c->log, ACME_LOG_DEBUG, 0, "dns-01: waiting for %d TXT record(s) (%s)", left,
                 first);
        if (apr_time_now() + interval > deadline) {
            apr_pool_destroy(sub);
            return APR_TIMEUP;
        }
        if (!sleep_until(apr_time_now() + interval, cancel)) {
            apr_pool_destroy(sub);
            return APR_EINTR;
        }
    }
    apr_pool_destroy(sub);
    *why = NULL;
    acme_log(c->log, ACME_LOG_INFO, 0, "dns-01: %d TXT record(s) visible at the authoritative "
             "servers after %" APR_TIME_T_FMT " ms", n, apr_time_as_msec(apr_time_now() - start));
    return APR_SUCCESS;
}
