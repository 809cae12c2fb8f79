/* test_dns_check.c: unit tests for the dns-01 propagation check: server addresses, DNS responses built byte by byte, and whole checks against an in-process DNS server on loopback. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <resolv.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <apr_strings.h>

#include "acme_dns_check.h"
#include "testutil.h"

/* ---- building messages --------------------------------------------------- */

typedef struct {
    unsigned char b[1024];
    size_t n;
} msg_t;

static void put8(msg_t *m, unsigned v) { m->b[m->n++] = (unsigned char)v; }
static void put16(msg_t *m, unsigned v) { put8(m, v >> 8); put8(m, v & 0xff); }

static void put_name(msg_t *m, const char *name)
{
    while (*name) {
        const char *dot = strchr(name, '.');
        size_t len = dot ? (size_t)(dot - name) : strlen(name);
        put8(m, (unsigned)len);
        memcpy(m->b + m->n, name, len);
        m->n += len;
        name += len + (dot ? 1 : 0);
    }
    put8(m, 0);
}

/* Header + one question. flags: e.g. 0x8400 (response, AA). */
static void begin(msg_t *m, unsigned id, unsigned flags, const char *qname, unsigned qtype,
                  unsigned ancount)
{
    m->n = 0;
    put16(m, id);
    put16(m, flags);
    put16(m, 1);
    put16(m, ancount);
    put16(m, 0);
    put16(m, 0);
    put_name(m, qname);
    put16(m, qtype);
    put16(m, ns_c_in);
}

/* One RR: owner NULL means a pointer to the question's name. */
static void rr(msg_t *m, const char *owner, unsigned type, const void *rdata, size_t len)
{
    if (owner) put_name(m, owner);
    else put16(m, 0xc00c);
    put16(m, type);
    put16(m, ns_c_in);
    put16(m, 0);
    put16(m, 60);
    put16(m, (unsigned)len);
    memcpy(m->b + m->n, rdata, len);
    m->n += len;
}

static void rr_name(msg_t *m, const char *owner, unsigned type, const char *target)
{
    msg_t t = { .n = 0 };
    put_name(&t, target);
    rr(m, owner, type, t.b, t.n);
}

static apr_status_t parse(msg_t *m, const char *qname, int qtype, int id, acme_dns_answer_t **a)
{
    return acme_dns_answer_parse(pool, m->b, m->n, qname, qtype, id, a);
}

START_TEST(server_parse)
{
    acme_dns_server_t s;

    ck_assert_int_eq(acme_dns_server_parse("192.0.2.53", &s), APR_SUCCESS);
    ck_assert_str_eq(s.host, "192.0.2.53");
    ck_assert_int_eq(s.port, 53);
    ck_assert_int_eq(acme_dns_server_parse("127.0.0.1:5353", &s), APR_SUCCESS);
    ck_assert_int_eq(s.port, 5353);
    ck_assert_int_eq(acme_dns_server_parse("2001:db8::53", &s), APR_SUCCESS);
    ck_assert_str_eq(s.host, "2001:db8::53");
    ck_assert_int_eq(s.port, 53);
    ck_assert_int_eq(acme_dns_server_parse("[2001:db8::53]:5300", &s), APR_SUCCESS);
    ck_assert_str_eq(s.host, "2001:db8::53");
    ck_assert_int_eq(s.port, 5300);
    ck_assert_int_eq(acme_dns_server_parse("[::1]", &s), APR_SUCCESS);
    const char *bad[] = { "", "ns1.example.org", "192.0.2.53:0", "192.0.2.53:65536",
                          "192.0.2.53:", "192.0.2.53:x", "[192.0.2.53]:53", "[::1]:",
                          "[::1", "::1]:53", "1.2.3.4.5", "192.0.2.53 ", NULL };
    for (int i = 0; bad[i]; i++) {
        ck_assert_msg(acme_dns_server_parse(bad[i], &s) == APR_EINVAL, "accepted '%s'", bad[i]);
    }
}
END_TEST

START_TEST(answer_txt)
{
    const char *q = "_acme-challenge.example.org";
    acme_dns_answer_t *a;
    msg_t m;

    begin(&m, 77, 0x8400, q, ns_t_txt, 3);
    rr(&m, NULL, ns_t_txt, "\x03" "abc" "\x03" "def", 8);           /* joined */
    rr(&m, "_ACME-Challenge.Example.ORG.", ns_t_txt, "\x02" "xy", 3); /* case-insensitive */
    rr(&m, "other.example.org", ns_t_txt, "\x02" "no", 3);            /* not qname's */
    ck_assert_int_eq(parse(&m, q, ns_t_txt, 77, &a), APR_SUCCESS);
    ck_assert_int_eq(a->authoritative, 1);
    ck_assert_int_eq(a->rcode, ns_r_noerror);
    ck_assert_int_eq(a->txt->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(a->txt, 0, const char *), "abcdef");
    ck_assert_str_eq(APR_ARRAY_IDX(a->txt, 1, const char *), "xy");
    ck_assert_ptr_null(a->cname);
    /* a trailing dot in the question's name does not matter */
    ck_assert_int_eq(parse(&m, "_acme-challenge.example.org.", ns_t_txt, 77, &a), APR_SUCCESS);
}
END_TEST

START_TEST(answer_odd_txt)
{
    const char *q = "t.example";
    acme_dns_answer_t *a;
    msg_t m;

    begin(&m, 1, 0x8400, q, ns_t_txt, 2);
    rr(&m, NULL, ns_t_txt, "\x09" "abc", 4);            /* string longer than the rdata */
    rr(&m, NULL, ns_t_txt, "\x03" "a\0b", 4);            /* a NUL: never a dns-01 value */
    ck_assert_int_eq(parse(&m, q, ns_t_txt, 1, &a), APR_SUCCESS);
    ck_assert_int_eq(a->txt->nelts, 0);
}
END_TEST

START_TEST(answer_cname_nxdomain_addresses)
{
    acme_dns_answer_t *a;
    msg_t m;
    unsigned char v4[4] = { 192, 0, 2, 1 }, v6[16] = { 0x20, 0x01, 0x0d, 0xb8 };

    begin(&m, 5, 0x8400, "_acme-challenge.a.test", ns_t_txt, 2);
    rr_name(&m, NULL, ns_t_cname, "x.auth.test");
    rr(&m, "x.auth.test", ns_t_txt, "\x02" "hi", 3);
    ck_assert_int_eq(parse(&m, "_acme-challenge.a.test", ns_t_txt, 5, &a), APR_SUCCESS);
    ck_assert_str_eq(a->cname, "x.auth.test");
    ck_assert_int_eq(a->txt->nelts, 0);

    begin(&m, 6, 0x8403, "nothing.test", ns_t_txt, 0);
    ck_assert_int_eq(parse(&m, "nothing.test", ns_t_txt, 6, &a), APR_SUCCESS);
    ck_assert_int_eq(a->rcode, ns_r_nxdomain);

    begin(&m, 7, 0x8180, "ns.test", ns_t_a, 2);
    rr(&m, NULL, ns_t_a, v4, 4);
    rr(&m, NULL, ns_t_aaaa, v6, 16);
    ck_assert_int_eq(parse(&m, "ns.test", ns_t_a, 7, &a), APR_SUCCESS);
    ck_assert_int_eq(a->authoritative, 0);
    ck_assert_int_eq(a->addrs->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(a->addrs, 0, const char *), "192.0.2.1");
    ck_assert_str_eq(APR_ARRAY_IDX(a->addrs, 1, const char *), "2001:db8::");

    begin(&m, 8, 0x8400, "test", ns_t_ns, 2);
    rr_name(&m, NULL, ns_t_ns, "ns1.test");
    rr_name(&m, NULL, ns_t_soa, "ns1.test");      /* only "an SOA is there" is read */
    ck_assert_int_eq(parse(&m, "test", ns_t_ns, 8, &a), APR_SUCCESS);
    ck_assert_int_eq(a->names->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(a->names, 0, const char *), "ns1.test");
    ck_assert_int_eq(a->soa, 1);
}
END_TEST

START_TEST(answer_refused)
{
    acme_dns_answer_t *a;
    msg_t m;

    begin(&m, 9, 0x8400, "a.test", ns_t_txt, 1);
    rr(&m, NULL, ns_t_txt, "\x01" "x", 2);
    /* another id, another question, not a response */
    ck_assert_int_eq(parse(&m, "a.test", ns_t_txt, 10, &a), APR_EINVAL);
    ck_assert_int_eq(parse(&m, "b.test", ns_t_txt, 9, &a), APR_EINVAL);
    ck_assert_int_eq(parse(&m, "a.test", ns_t_a, 9, &a), APR_EINVAL);
    m.b[2] &= 0x7f;
    ck_assert_int_eq(parse(&m, "a.test", ns_t_txt, 9, &a), APR_EINVAL);
    m.b[2] |= 0x80;
    /* cut short anywhere: refused, never read past the end */
    for (size_t cut = 0; cut < m.n; cut++) {
        ck_assert_int_eq(acme_dns_answer_parse(pool, m.b, cut, "a.test", ns_t_txt, -1, &a),
                         APR_EINVAL);
    }
    /* a compression pointer in the CNAME target that points at itself */
    begin(&m, 11, 0x8400, "a.test", ns_t_txt, 1);
    rr(&m, NULL, ns_t_cname, "\xc0\x00", 2);
    m.b[m.n - 2] = (unsigned char)(0xc0 | ((m.n - 2) >> 8));
    m.b[m.n - 1] = (unsigned char)((m.n - 2) & 0xff);
    ck_assert_int_eq(parse(&m, "a.test", ns_t_txt, 11, &a), APR_EINVAL);
}
END_TEST

/* ---- an in-process DNS server -------------------------------------------- */

typedef struct {
    const char *owner;
    int type;
    const char *data;               /* name for NS/CNAME/SOA, text for TXT, dotted quad for A */
} zrec_t;

typedef struct {
    int fd, port;
    volatile int stop;
    int authoritative;
    int silent;                     /* answer nothing */
    const zrec_t *zone;
    pthread_t thread;
} fake_dns_t;

static void answer(fake_dns_t *f, const unsigned char *q, int qlen, msg_t *out)
{
    ns_msg msg;
    ns_rr qr;
    const char *qname;
    int qtype, n = 0, i, exists = 0;

    if (ns_initparse(q, qlen, &msg) < 0 || ns_parserr(&msg, ns_s_qd, 0, &qr) < 0) {
        out->n = 0;
        return;
    }
    qname = ns_rr_name(qr);
    qtype = ns_rr_type(qr);
    for (i = 0; f->zone[i].owner; i++) {
        if (!strcasecmp(f->zone[i].owner, qname)) {
            exists = 1;
            n += f->zone[i].type == qtype || f->zone[i].type == ns_t_cname;
        }
    }
    begin(out, ns_msg_id(msg), 0x8000 | (f->authoritative ? 0x0400 : 0)
          | (exists || !strcmp(qname, "test") ? 0 : 3), qname, (unsigned)qtype, (unsigned)n);
    for (i = 0; f->zone[i].owner; i++) {
        const zrec_t *z = &f->zone[i];
        if (strcasecmp(z->owner, qname) || (z->type != qtype && z->type != ns_t_cname)) continue;
        if (z->type == ns_t_txt) {
            char buf[256];
            buf[0] = (char)strlen(z->data);
            memcpy(buf + 1, z->data, strlen(z->data));
            rr(out, NULL, ns_t_txt, buf, strlen(z->data) + 1);
        }
        else if (z->type == ns_t_a) {
            struct in_addr in;
            inet_pton(AF_INET, z->data, &in);
            rr(out, NULL, ns_t_a, &in, 4);
        }
        else {
            rr_name(out, NULL, (unsigned)z->type, z->data);
        }
    }
}

static void *serve(void *data)
{
    fake_dns_t *f = data;
    unsigned char q[512];
    struct sockaddr_in from;
    socklen_t fl;
    msg_t out;

    while (!f->stop) {
        ssize_t n;
        fl = sizeof(from);
        n = recvfrom(f->fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
        if (n <= 0 || f->silent) continue;
        answer(f, q, (int)n, &out);
        if (out.n) sendto(f->fd, out.b, out.n, 0, (struct sockaddr *)&from, fl);
    }
    return NULL;
}

static void fake_start(fake_dns_t *f, const zrec_t *zone)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    struct timeval tv = { 0, 100000 };

    memset(f, 0, sizeof(*f));
    f->zone = zone;
    f->authoritative = 1;
    f->fd = socket(AF_INET, SOCK_DGRAM, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(f->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    getsockname(f->fd, (struct sockaddr *)&sa, &len);
    f->port = ntohs(sa.sin_port);
    setsockopt(f->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ck_assert_int_eq(pthread_create(&f->thread, NULL, serve, f), 0);
}

static void fake_stop(fake_dns_t *f)
{
    f->stop = 1;
    pthread_join(f->thread, NULL);
    close(f->fd);
}

#define V1 "kmB0ta0Hc4Uqe2pPjGRl_zJ1bE-0Dnr3TwbQ8p8sX1Q"
#define V2 "Xq3b0vC2cQZkWw7w8f1Yx9t0uT6rSpQ5oN4mL3kJ2iH"

static const zrec_t ZONE[] = {
    { "test", ns_t_soa, "ns.test" },
    { "test", ns_t_ns, "ns.test" },
    { "ns.test", ns_t_a, "127.0.0.1" },
    { "_acme-challenge.a.test", ns_t_txt, V1 },
    { "_acme-challenge.a.test", ns_t_txt, V2 },
    { "_acme-challenge.c.test", ns_t_cname, "x.auth.test" },
    { "x.auth.test", ns_t_txt, V2 },
    { "_acme-challenge.loop.test", ns_t_cname, "_acme-challenge.loop.test" },
    { NULL, 0, NULL }
};

static acme_dns_check_t *checker(fake_dns_t *f)
{
    acme_dns_check_t *c = NULL;

    ck_assert_int_eq(acme_dns_check_create(pool, apr_psprintf(pool, "127.0.0.1:%d", f->port),
                                           NULL, &c), APR_SUCCESS);
    return c;
}

START_TEST(visible)
{
    fake_dns_t f;
    const char *why = NULL;
    acme_dns_check_t *c;

    fake_start(&f, ZONE);
    c = checker(&f);
    ck_assert_int_eq(acme_dns_txt_visible(c, pool, "_acme-challenge.a.test", V1, &why),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_dns_txt_visible(c, pool, "_acme-challenge.a.test", V2, &why),
                     APR_SUCCESS);
    /* through a CNAME, as the CA follows it */
    ck_assert_int_eq(acme_dns_txt_visible(c, pool, "_acme-challenge.c.test", V2, &why),
                     APR_SUCCESS);
    ck_assert_int_eq(acme_dns_txt_visible(c, pool, "_acme-challenge.c.test", V1, &why),
                     APR_EAGAIN);
    ck_assert_msg(strstr(why, "none with the expected value") && strstr(why, "x.auth.test"),
                  "%s", why);
    ck_assert_int_eq(acme_dns_txt_visible(c, pool, "_acme-challenge.b.test", V1, &why),
                     APR_EAGAIN);
    ck_assert_msg(strstr(why, "ns.test (127.0.0.1) has no TXT record for it (NXDOMAIN)"),
                  "%s", why);
    ck_assert_int_eq(acme_dns_txt_visible(c, pool, "_acme-challenge.loop.test", V1, &why),
                     APR_EAGAIN);
    ck_assert_msg(strstr(why, "CNAME"), "%s", why);
    fake_stop(&f);
}
END_TEST

START_TEST(not_visible)
{
    fake_dns_t f;
    const char *why = NULL;
    acme_dns_check_t *c;
    apr_array_header_t *names = apr_array_make(pool, 2, sizeof(const char *));
    apr_array_header_t *values = apr_array_make(pool, 2, sizeof(const char *));
    volatile int cancel = 0;
    apr_time_t start;

    fake_start(&f, ZONE);
    c = checker(&f);
    APR_ARRAY_PUSH(names, const char *) = "_acme-challenge.a.test";
    APR_ARRAY_PUSH(values, const char *) = V1;
    APR_ARRAY_PUSH(names, const char *) = "_acme-challenge.b.test";
    APR_ARRAY_PUSH(values, const char *) = V2;
    start = apr_time_now();
    ck_assert_int_eq(acme_dns_wait(c, pool, names, values, start + apr_time_from_msec(600),
                                   apr_time_from_msec(200), &cancel, &why), APR_TIMEUP);
    ck_assert_msg(strstr(why, "_acme-challenge.b.test:") && strstr(why, "NXDOMAIN"), "%s", why);
    cancel = 1;
    ck_assert_int_eq(acme_dns_wait(c, pool, names, values, apr_time_now() + apr_time_from_sec(30),
                                   apr_time_from_sec(1), &cancel, &why), APR_EINTR);
    ck_assert(apr_time_now() - start < apr_time_from_sec(10));
    /* a server that is not authoritative is no proof; one that says nothing neither */
    f.authoritative = 0;
    ck_assert_int_eq(acme_dns_txt_visible(c, pool, "_acme-challenge.a.test", V1, &why),
                     APR_EAGAIN);
    ck_assert_msg(strstr(why, "no authoritative server") && strstr(why, "not authoritative"),
                  "%s", why);
    f.authoritative = 1;
    f.silent = 1;
    ck_assert_int_eq(acme_dns_txt_visible(c, pool, "_acme-challenge.a.test", V1, &why),
                     APR_ENOENT);
    fake_stop(&f);
}
END_TEST

START_TEST(waits_until_visible)
{
    fake_dns_t f;
    const char *why = NULL;
    acme_dns_check_t *c;
    apr_array_header_t *names = apr_array_make(pool, 1, sizeof(const char *));
    apr_array_header_t *values = apr_array_make(pool, 1, sizeof(const char *));

    fake_start(&f, ZONE);
    c = checker(&f);
    APR_ARRAY_PUSH(names, const char *) = "_acme-challenge.a.test";
    APR_ARRAY_PUSH(values, const char *) = V1;
    APR_ARRAY_PUSH(names, const char *) = "_acme-challenge.c.test";
    APR_ARRAY_PUSH(values, const char *) = V2;
    ck_assert_int_eq(acme_dns_wait(c, pool, names, values, apr_time_now() + apr_time_from_sec(20),
                                   apr_time_from_msec(100), NULL, &why), APR_SUCCESS);
    ck_assert_ptr_null(why);
    fake_stop(&f);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("dns_check");
    TCase *tc = tu_tcase(s, "parse", 0, tu_setup, tu_teardown);

    tcase_add_test(tc, server_parse);
    tcase_add_test(tc, answer_txt);
    tcase_add_test(tc, answer_odd_txt);
    tcase_add_test(tc, answer_cname_nxdomain_addresses);
    tcase_add_test(tc, answer_refused);
    tc = tu_tcase(s, "check", 60, tu_setup, tu_teardown);
    tcase_add_test(tc, visible);
    tcase_add_test(tc, not_visible);
    tcase_add_test(tc, waits_until_visible);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
