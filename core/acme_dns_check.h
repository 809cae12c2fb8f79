/* acme_dns_check.h: is a dns-01 TXT record visible at its zone's authoritative servers? glibc's resolver finds them; each is asked directly. */
#ifndef ACME_DNS_CHECK_H
#define ACME_DNS_CHECK_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include "acme_log.h"

/* A DNS server as "addr[:port]": 192.0.2.53, 192.0.2.53:5353, 2001:db8::53,
 * [2001:db8::53]:5353. Port 53 when none is given. */
typedef struct acme_dns_server_t {
    char host[64];
    int port;
} acme_dns_server_t;

apr_status_t acme_dns_server_parse(const char *s, acme_dns_server_t *out);

/* What one DNS response says about qname (answer section only). */
typedef struct acme_dns_answer_t {
    int rcode;                    /* ns_r_noerror, ns_r_nxdomain, ... */
    int authoritative;            /* AA bit */
    int truncated;                /* TC bit: ask again over TCP */
    apr_array_header_t *txt;      /* const char*: TXT RRs of qname, character-strings joined */
    apr_array_header_t *names;    /* const char*: NS targets of qname */
    apr_array_header_t *addrs;    /* const char*: A/AAAA of qname as text */
    const char *cname;            /* CNAME target of qname, NULL: none */
    int soa;                      /* an SOA RR owned by qname: qname is a zone apex */
} acme_dns_answer_t;

/* Parse a DNS response (untrusted bytes) for qname: names compared without
 * case, a trailing dot ignored; records of other owners are skipped. When id
 * >= 0, the response must carry that id and one question for qname/qtype.
 * APR_EINVAL for anything malformed. */
apr_status_t acme_dns_answer_parse(apr_pool_t *p, const unsigned char *msg, apr_size_t len,
                                   const char *qname, int qtype, int id,
                                   acme_dns_answer_t **out);

typedef struct acme_dns_check_t acme_dns_check_t;

/* resolver NULL: the system's resolver (/etc/resolv.conf) finds each zone's
 * authoritative servers, which are asked on port 53. Otherwise that server
 * ("addr[:port]") is asked instead, and a port other than 53 is used for the
 * authoritative servers too (test setups where every DNS server listens on
 * one port). */
apr_status_t acme_dns_check_create(apr_pool_t *p, const char *resolver, const acme_logger_t *log,
                                   acme_dns_check_t **out);

/* One look at `name` (e.g. "_acme-challenge.example.org"): APR_SUCCESS when
 * every authoritative server of its zone answers a TXT record with `value`
 * (following CNAMEs, as a CA does); APR_EAGAIN when not (yet), with *why
 * saying what the servers answered; APR_ENOENT when the zone or its servers
 * cannot be found (*why says which). */
apr_status_t acme_dns_txt_visible(acme_dns_check_t *c, apr_pool_t *p, const char *name,
                                  const char *value, const char **why);

/* Looks at every (names[i], values[i]) until all are visible, every
 * `interval`, until `deadline`: APR_SUCCESS, APR_TIMEUP (*why: the first
 * record still missing and why) or APR_EINTR when *cancel is set. */
apr_status_t acme_dns_wait(acme_dns_check_t *c, apr_pool_t *p, const apr_array_header_t *names,
                           const apr_array_header_t *values, apr_time_t deadline,
                           apr_interval_time_t interval, volatile int *cancel,
                           const char **why);

#endif
