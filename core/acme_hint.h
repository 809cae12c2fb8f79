/* acme_hint.h: the one place that words what a user should do about a failure, in the vocabulary of the front end (httpd directives or acmectl options). */
#ifndef ACME_HINT_H
#define ACME_HINT_H

#include <apr_pools.h>

/* Who reads the hint: httpd's admin (directives) or an acmectl user (options). */
typedef enum { ACME_UI_HTTPD = 0, ACME_UI_CLI } acme_ui_e;

/* A setting a hint names. */
typedef enum {
    ACME_SETTING_EAB = 0,       /* ACMEExternalAccountBinding / --eab-kid, --eab-hmac */
    ACME_SETTING_TOS,           /* ACMETermsOfService accepted / --agree-tos */
    ACME_SETTING_CA_CERT,       /* ACMECACertificateFile / --ca-cert */
    ACME_SETTING_PROXY,         /* ACMEHttpProxy / --http-proxy */
    ACME_SETTING_CHALLENGES,    /* ACMEChallenges / --webroot, --dns-command */
    ACME_SETTING_DNS_COMMAND,   /* ACMEDNSCommand / --dns-command */
    ACME_SETTING_PORT_80,       /* where the CA's port 80 arrives */
    ACME_SETTING_PORT_443,      /* where the CA's port 443 arrives */
    ACME_SETTING_TOKEN,         /* the Authority Token source of tkauth-01 (acmectl only) */
    ACME_SETTING_COUNT
} acme_setting_e;

/* How the front end spells a setting, e.g. "ACMECACertificateFile" or "--ca-cert". */
const char *acme_setting_name(acme_ui_e ui, acme_setting_e s);

typedef enum {
    ACME_HINT_UNREACHABLE = 0,  /* a: CA URL */
    ACME_HINT_RATE_LIMITED,
    ACME_HINT_EAB_REQUIRED,
    ACME_HINT_EAB_REJECTED,     /* EAB was sent and the CA refused the account */
    ACME_HINT_TOS,              /* a: the terms' URL (may be NULL) */
    ACME_HINT_WILDCARD_DNS,
    ACME_HINT_NO_CHALLENGE,
    ACME_HINT_DNS_COMMAND_FAILED,
    ACME_HINT_PUBLISH_FAILED,
    ACME_HINT_HTTP01,           /* a: name, b: token, c: the CA's detail */
    ACME_HINT_TLSALPN01,        /* a: name, c: the CA's detail */
    ACME_HINT_DNS01,            /* a: name (without "*."), c: the CA's detail */
    ACME_HINT_TKAUTH01,         /* a: the TNAuthList described, c: the CA's detail */
    ACME_HINT_TNAUTH_NEEDS_TOKEN,
    ACME_HINT_COUNT
} acme_hint_e;

/* The hint for h in ui's words; a, b, c as listed above (NULL when unused). */
const char *acme_hint(apr_pool_t *p, acme_ui_e ui, acme_hint_e h, const char *a,
                      const char *b, const char *c);

#endif
