/* acme_tnauth.h: the TN Authorization List (RFC 8226 §9) of STIR certificates: entries, strict DER, the ACME identifier value of RFC 9448 §3 and the names and store ids the drive uses for it. */
#ifndef ACME_TNAUTH_H
#define ACME_TNAUTH_H

#include <apr_pools.h>
#include <apr_tables.h>

/* id-pe-TNAuthList (RFC 8226 §9): { id-pe 26 }. */
#define ACME_TNAUTH_OID "1.3.6.1.5.5.7.1.26"
/* The ACME identifier type (RFC 9448 §3). */
#define ACME_TNAUTH_ID_TYPE "TNAuthList"
/* How a TNAuthList identifier is written among a domain's names (beside DNS
 * names and IP addresses): the prefix, then the identifier value. */
#define ACME_TNAUTH_NAME_PREFIX "TNAuthList:"

#define ACME_TNAUTH_MAX_ENTRIES 256
#define ACME_TNAUTH_MAX_DER 16384
#define ACME_TN_MAX_DIGITS 15      /* TelephoneNumber ::= IA5String (SIZE (1..15)) */

typedef enum {
    ACME_TN_SPC,                   /* spc   [0] ServiceProviderCode */
    ACME_TN_RANGE,                 /* range [1] TelephoneNumberRange */
    ACME_TN_ONE                    /* one   [2] TelephoneNumber */
} acme_tn_kind_e;

typedef struct acme_tn_entry_t {
    acme_tn_kind_e kind;
    const char *value;             /* the SPC, the number, or the first number of a range */
    apr_uint64_t count;            /* ranges: how many numbers (>= 2); else 0 */
} acme_tn_entry_t;

/* TNAuthorizationList ::= SEQUENCE SIZE (1..MAX) OF TNEntry, in order. */
typedef struct acme_tnauth_t {
    apr_array_header_t *entries;   /* acme_tn_entry_t */
} acme_tnauth_t;

/* The acmectl form "SPC[,TN|FIRST-LAST|FIRST+COUNT...]": the first element is
 * the service provider code, later ones telephone numbers or ranges;
 * "spc:" and "tn:" prefixes make an element explicit (a list without SPC:
 * "tn:12025550100,..."). APR_EINVAL with *why on anything else. */
apr_status_t acme_tnauth_parse_spec(apr_pool_t *p, const char *spec, acme_tnauth_t **tl,
                                    const char **why);

/* DER of the list (explicit tags, RFC 8226 Appendix A), allocated from p. */
apr_status_t acme_tnauth_to_der(apr_pool_t *p, const acme_tnauth_t *tl, unsigned char **der,
                                apr_size_t *len);
/* Strict decode: exactly one DER TNAuthorizationList (re-encoding gives the
 * same bytes), 1..ACME_TNAUTH_MAX_ENTRIES entries, numbers of 1..15 of
 * "0123456789#*", counts >= 2, codes of printable ASCII. */
apr_status_t acme_tnauth_from_der(apr_pool_t *p, const unsigned char *der, apr_size_t len,
                                  acme_tnauth_t **tl);

/* The identifier value: base64url of the DER (RFC 9448 §3). */
apr_status_t acme_tnauth_value(apr_pool_t *p, const acme_tnauth_t *tl, const char **value);
/* A value back to DER; '=' padding (seen in RFC 9447's examples) is accepted. */
apr_status_t acme_tnauth_value_der(apr_pool_t *p, const char *value, unsigned char **der,
                                   apr_size_t *len);
apr_status_t acme_tnauth_from_value(apr_pool_t *p, const char *value, acme_tnauth_t **tl);
/* 1 when two values name the same DER list (whatever their padding). */
int acme_tnauth_value_eq(apr_pool_t *p, const char *a, const char *b);

/* For people: "SPC 1234, TNs 12025550100-12025550199, TN 12025550123". */
const char *acme_tnauth_describe(apr_pool_t *p, const acme_tnauth_t *tl);
/* describe() of a value, or a note that it does not decode. */
const char *acme_tnauth_describe_value(apr_pool_t *p, const char *value);

/* The first service provider code, or NULL. */
const char *acme_tnauth_spc(const acme_tnauth_t *tl);

/* "TNAuthList:<value>" names. */
int acme_tnauth_is_name(const char *name);
const char *acme_tnauth_name(apr_pool_t *p, const char *value);
/* The value of such a name, or NULL. */
const char *acme_tnauth_name_value(const char *name);

/* The store id of a list: "tnauthlist-<spc>" for a list of one SPC (the
 * SHAKEN case, ATIS-1000080 §6.4.1), else "tnauthlist-<first entry>-<8 hex
 * of SHA-256(DER)>"; lower case, only [a-z0-9_-]. */
const char *acme_tnauth_domain_id(apr_pool_t *p, const acme_tnauth_t *tl);

#endif
