/* acme_domain.h: one managed certificate set as configured (httpd.conf or acmectl flags): the unit the drive works on. */
#ifndef ACME_DOMAIN_H
#define ACME_DOMAIN_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include "acme_key.h"

typedef struct acme_domain_t {
    const char *id;                  /* first name, lower-cased: the domain's name everywhere */
    apr_array_header_t *names;       /* const char*: DNS names, "*.wildcards", IP addresses */
    apr_array_header_t *key_types;   /* acme_key_type_e: one certificate per type, first is primary */
    apr_array_header_t *ca_urls;     /* const char*: directory URLs, failover in order */
    const char *contact_email;       /* may be NULL */
    int tos_agreed;
    const char *eab_kid;             /* NULL: no EAB */
    const char *eab_hmac;            /* base64url MAC key */
    apr_array_header_t *challenges;  /* const char*: allowed types in preference order */
    const char *dns_command;         /* NULL: dns-01 unavailable */
    int renew_window_pct;            /* renew when less than this % of lifetime remains ... */
    apr_interval_time_t renew_window;/* ... or, when > 0, less than this time */
    const char *profile;             /* NULL: none */
    int profile_mandatory;           /* fail when the CA does not offer the profile */
    int renew_via_ari;               /* use the CA's renewal information (ARI) when offered */
    int warn_window_pct;             /* warn when less than this % of lifetime remains ... */
    apr_interval_time_t warn_window; /* ... or, when > 0, less than this time */
    apr_interval_time_t dns_propagation; /* > 0: wait up to this long for dns-01 TXT records
                                          * at the zone's authoritative servers */
    const char *dns_resolver;        /* "addr[:port]" for that check; NULL: the system's */
    const char *preferred_chain;     /* issuer CN or NULL */
    acme_key_type_e account_key_type;
} acme_domain_t;

/* The defaults: ec256 certificate and account keys, 33% renewal and 10% warning
 * windows, ARI used, all challenge types. */
acme_domain_t *acme_domain_create(apr_pool_t *p, const char *first_name);

/* A stable fingerprint of everything that changes what certificate must be
 * issued (names, key types, CA URLs, profile): a changed config means a new
 * certificate. Hex SHA-256. */
const char *acme_domain_config_hash(apr_pool_t *p, const acme_domain_t *d);

/* Checks an identifier the way a CA would accept it: a DNS name (LDH labels,
 * at most one leading "*." label), an IPv4 or IPv6 literal. */
int acme_identifier_valid(const char *name);

/* A TCP/UDP port written in decimal, 1 to 65535, nothing else: 1 and *port, or 0. */
int acme_port_parse(const char *s, int *port);

#endif
