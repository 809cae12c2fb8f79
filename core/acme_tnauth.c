/* acme_tnauth.c: TN Authorization Lists (RFC 8226 §9) through OpenSSL's ASN.1 templates: the acmectl form, strict DER both ways, identifier values, descriptions and store ids. */
#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <openssl/asn1t.h>
#include <openssl/evp.h>
#include <openssl/safestack.h>
#include "acme_base64.h"
#include "acme_tnauth.h"

#define SPEC_MAX_LEN 4096
#define SPC_MAX_LEN 255            /* a bound of ours: IA5String has none */
#define CLI_SPC_MAX_LEN 64

/* RFC 8226 Appendix A, module TN-Module-2016, DEFINITIONS EXPLICIT TAGS:
 *
 *   TNAuthorizationList ::= SEQUENCE SIZE (1..MAX) OF TNEntry
 *   TNEntry ::= CHOICE {
 *     spc   [0] ServiceProviderCode,
 *     range [1] TelephoneNumberRange,
 *     one   [2] TelephoneNumber }
 *   ServiceProviderCode ::= IA5String
 *   TelephoneNumberRange ::= SEQUENCE {
 *     start TelephoneNumber,
 *     count INTEGER (2..MAX),
 *     ... }
 *   TelephoneNumber ::= IA5String (SIZE (1..15)) (FROM ("0123456789#*"))
 *
 * Explicit tags: each entry is a constructed [n] around the universal
 * IA5String or SEQUENCE (SPC "1234" is 30 08 A0 06 16 04 31 32 33 34). */
typedef struct TN_RANGE_st {
    ASN1_IA5STRING *start;
    ASN1_INTEGER *count;
} TN_RANGE;

typedef struct TN_ENTRY_st {
    int type;                      /* the CHOICE index: 0 spc, 1 range, 2 one */
    union {
        ASN1_IA5STRING *spc;
        TN_RANGE *range;
        ASN1_IA5STRING *one;
    } d;
} TN_ENTRY;

DEFINE_STACK_OF(TN_ENTRY)
typedef STACK_OF(TN_ENTRY) TN_LIST;

ASN1_SEQUENCE(TN_RANGE) = {
    ASN1_SIMPLE(TN_RANGE, start, ASN1_IA5STRING),
    ASN1_SIMPLE(TN_RANGE, count, ASN1_INTEGER)
} static_ASN1_SEQUENCE_END(TN_RANGE)

ASN1_CHOICE(TN_ENTRY) = {
    ASN1_EXP(TN_ENTRY, d.spc, ASN1_IA5STRING, 0),
    ASN1_EXP(TN_ENTRY, d.range, TN_RANGE, 1),
    ASN1_EXP(TN_ENTRY, d.one, ASN1_IA5STRING, 2)
} static_ASN1_CHOICE_END(TN_ENTRY)

ASN1_ITEM_TEMPLATE(TN_LIST) =
    ASN1_EX_TEMPLATE_TYPE(ASN1_TFLG_SEQUENCE_OF, 0, TNAuthorizationList, TN_ENTRY)
static_ASN1_ITEM_TEMPLATE_END(TN_LIST)

/* ---- characters ---- */

static int tn_valid(const char *s, apr_size_t n)
{
    if (n == 0 || n > ACME_TN_MAX_DIGITS) return 0;
    for (apr_size_t i = 0; i < n; ++i) {
        if (!apr_isdigit(s[i]) && s[i] != '#' && s[i] != '*') return 0;
    }
    return 1;
}

static int digits_only(const char *s, apr_size_t n)
{
    if (n == 0) return 0;
    for (apr_size_t i = 0; i < n; ++i) {
        if (!apr_isdigit(s[i])) return 0;
    }
    return 1;
}

static int spc_valid(const char *s, apr_size_t n)
{
    if (n == 0 || n > SPC_MAX_LEN) return 0;
    for (apr_size_t i = 0; i < n; ++i) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c >= 0x7f) return 0;
    }
    return 1;
}

/* The stricter form acmectl takes: letters, digits and '-' (ATIS-1000080
 * §6.4.1 wants upper-case letters and digits). */
static int cli_spc_valid(const char *s)
{
    apr_size_t n = strlen(s);
    if (n == 0 || n > CLI_SPC_MAX_LEN) return 0;
    for (apr_size_t i = 0; i < n; ++i) {
        if (!apr_isalnum(s[i]) && s[i] != '-') return 0;
    }
    return 1;
}

static apr_uint64_t pow10u(apr_size_t n)
{
    apr_uint64_t v = 1;
    while (n--) v *= 10;
    return v;
}

/* Decimal without sign, at most 19 digits (fits apr_uint64_t). */
static int parse_u64(const char *s, apr_uint64_t *v)
{
    apr_size_t n = strlen(s);
    apr_uint64_t r = 0;
    if (!digits_only(s, n) || n > 19) return 0;
    for (apr_size_t i = 0; i < n; ++i) r = r * 10 + (apr_uint64_t)(s[i] - '0');
    *v = r;
    return 1;
}

/* ---- the acmectl form ---- */

static apr_status_t bad(const char **why, const char *msg)
{
    if (why) *why = msg;
    return APR_EINVAL;
}

/* A number, "FIRST-LAST" or "FIRST+COUNT" (ranges of digits only, within one length). */
static apr_status_t parse_tn(apr_pool_t *p, const char *el, acme_tn_entry_t *e, const char **why)
{
    const char *sep = strpbrk(el, "-+");
    const char *first;
    apr_uint64_t a, b, limit;
    apr_size_t flen;

    if (!sep) {
        if (!tn_valid(el, strlen(el))) {
            return bad(why, apr_psprintf(p, "'%s' is not a telephone number (1 to 15 of "
                                         "0-9, # and *)", el));
        }
        e->kind = ACME_TN_ONE;
        e->value = el;
        return APR_SUCCESS;
    }
    first = apr_pstrndup(p, el, (apr_size_t)(sep - el));
    flen = strlen(first);
    if (!digits_only(first, flen) || flen > ACME_TN_MAX_DIGITS || !parse_u64(first, &a)
        || !parse_u64(sep + 1, &b)) {
        return bad(why, apr_psprintf(p, "'%s' is not a telephone number range (FIRST-LAST or "
                                     "FIRST+COUNT, digits only)", el));
    }
    limit = pow10u(flen);
    if (*sep == '-') {
        if (strlen(sep + 1) != flen || b <= a) {
            return bad(why, apr_psprintf(p, "range '%s': LAST must have as many digits as "
                                         "FIRST and be larger", el));
        }
        e->count = b - a + 1;
    }
    else {
        if (b < 2 || b > limit - a) {
            return bad(why, apr_psprintf(p, "range '%s': COUNT must be at least 2 and stay "
                                         "within %" APR_SIZE_T_FMT "-digit numbers", el, flen));
        }
        e->count = b;
    }
    e->kind = ACME_TN_RANGE;
    e->value = first;
    return APR_SUCCESS;
}

apr_status_t acme_tnauth_parse_spec(apr_pool_t *p, const char *spec, acme_tnauth_t **tl,
                                    const char **why)
{
    acme_tnauth_t *t;
    char *copy, *el, *state = NULL;
    apr_status_t rv;
    int i = 0;

    if (why) *why = NULL;
    if (!spec || !*spec) return bad(why, "the TNAuthList is empty");
    if (strlen(spec) > SPEC_MAX_LEN) return bad(why, "the TNAuthList is too long");
    if (spec[0] == ',' || spec[strlen(spec) - 1] == ',' || strstr(spec, ",,")) {
        return bad(why, "the TNAuthList has an empty element");
    }
    t = apr_pcalloc(p, sizeof(*t));
    t->entries = apr_array_make(p, 4, sizeof(acme_tn_entry_t));
    copy = apr_pstrdup(p, spec);
    for (el = apr_strtok(copy, ",", &state); el; el = apr_strtok(NULL, ",", &state), ++i) {
        acme_tn_entry_t *e;
        int is_spc = (i == 0);

        if (t->entries->nelts >= ACME_TNAUTH_MAX_ENTRIES) {
            return bad(why, "the TNAuthList has too many elements");
        }
        if (!strncmp(el, "spc:", 4)) { el += 4; is_spc = 1; }
        else if (!strncmp(el, "tn:", 3)) { el += 3; is_spc = 0; }
        e = apr_array_push(t->entries);
        memset(e, 0, sizeof(*e));
        if (is_spc) {
            if (!cli_spc_valid(el)) {
                return bad(why, apr_psprintf(p, "'%s' is not a service provider code (1 to %d "
                                             "letters, digits or '-')", el, CLI_SPC_MAX_LEN));
            }
            e->kind = ACME_TN_SPC;
            e->value = el;
        }
        else if ((rv = parse_tn(p, el, e, why)) != APR_SUCCESS) {
            return rv;
        }
    }
    *tl = t;
    return APR_SUCCESS;
}

/* ---- DER ---- */

static ASN1_IA5STRING *ia5(const char *s)
{
    ASN1_IA5STRING *a = ASN1_IA5STRING_new();
    if (a && !ASN1_STRING_set(a, s, (int)strlen(s))) {
        ASN1_IA5STRING_free(a);
        return NULL;
    }
    return a;
}

static TN_ENTRY *entry_new(const acme_tn_entry_t *e)
{
    TN_ENTRY *te = (TN_ENTRY *)ASN1_item_new(ASN1_ITEM_rptr(TN_ENTRY));
    TN_RANGE *r;

    if (!te) return NULL;
    switch (e->kind) {
    case ACME_TN_SPC:
        te->type = 0;
        if ((te->d.spc = ia5(e->value))) return te;
        break;
    case ACME_TN_ONE:
        te->type = 2;
        if ((te->d.one = ia5(e->value))) return te;
        break;
    case ACME_TN_RANGE:
        te->type = 1;
        r = (TN_RANGE *)ASN1_item_new(ASN1_ITEM_rptr(TN_RANGE));
        te->d.range = r;
        if (r) {
            ASN1_IA5STRING_free(r->start);
            r->start = ia5(e->value);
        }
        if (r && r->start && ASN1_INTEGER_set_uint64(r->count, e->count)) return te;
        break;
    }
    ASN1_item_free((ASN1_VALUE *)te, ASN1_ITEM_rptr(TN_ENTRY));
    return NULL;
}

static int entry_ok(const acme_tn_entry_t *e)
{
    apr_size_t n = e->value ? strlen(e->value) : 0;
    switch (e->kind) {
    case ACME_TN_SPC: return spc_valid(e->value, n);
    case ACME_TN_ONE: return tn_valid(e->value, n);
    case ACME_TN_RANGE: return tn_valid(e->value, n) && e->count >= 2;
    }
    return 0;
}

apr_status_t acme_tnauth_to_der(apr_pool_t *p, const acme_tnauth_t *tl, unsigned char **der,
                                apr_size_t *len)
{
    TN_LIST *list;
    unsigned char *buf = NULL;
    int n = 0, i;

    if (!tl || !tl->entries || tl->entries->nelts == 0
        || tl->entries->nelts > ACME_TNAUTH_MAX_ENTRIES) {
        return APR_EINVAL;
    }
    if (!(list = sk_TN_ENTRY_new_null())) return APR_ENOMEM;
    for (i = 0; i < tl->entries->nelts; ++i) {
        const acme_tn_entry_t *e = &APR_ARRAY_IDX(tl->entries, i, acme_tn_entry_t);
        TN_ENTRY *te = entry_ok(e) ? entry_new(e) : NULL;
        if (!te || !sk_TN_ENTRY_push(list, te)) {
            ASN1_item_free((ASN1_VALUE *)te, ASN1_ITEM_rptr(TN_ENTRY));
            break;
        }
    }
    if (i == tl->entries->nelts) {
        n = ASN1_item_i2d((ASN1_VALUE *)list, &buf, ASN1_ITEM_rptr(TN_LIST));
    }
    ASN1_item_free((ASN1_VALUE *)list, ASN1_ITEM_rptr(TN_LIST));
    if (n <= 0) return APR_EINVAL;
    *der = apr_pmemdup(p, buf, (apr_size_t)n);
    *len = (apr_size_t)n;
    OPENSSL_free(buf);
    return APR_SUCCESS;
}

static const char *ia5_text(apr_pool_t *p, const ASN1_IA5STRING *s)
{
    if (!s || ASN1_STRING_length(s) <= 0) return NULL;
    return apr_pstrmemdup(p, (const char *)ASN1_STRING_get0_data(s),
                          (apr_size_t)ASN1_STRING_length(s));
}

/* One decoded entry into e; 0 when its content breaks RFC 8226's constraints. */
static int entry_from(apr_pool_t *p, const TN_ENTRY *te, acme_tn_entry_t *e)
{
    const ASN1_IA5STRING *s = NULL;
    apr_uint64_t count = 0;

    memset(e, 0, sizeof(*e));
    switch (te->type) {
    case 0: e->kind = ACME_TN_SPC; s = te->d.spc; break;
    case 2: e->kind = ACME_TN_ONE; s = te->d.one; break;
    case 1:
        e->kind = ACME_TN_RANGE;
        if (!te->d.range || !ASN1_INTEGER_get_uint64(&count, te->d.range->count)) return 0;
        e->count = count;
        s = te->d.range->start;
        break;
    default: return 0;
    }
    if (!s || ASN1_STRING_length(s) <= 0
        || memchr(ASN1_STRING_get0_data(s), 0, (size_t)ASN1_STRING_length(s))) {
        return 0;
    }
    e->value = ia5_text(p, s);
    return e->value && entry_ok(e);
}

apr_status_t acme_tnauth_from_der(apr_pool_t *p, const unsigned char *der, apr_size_t len,
                                  acme_tnauth_t **tl)
{
    const unsigned char *q = der;
    TN_LIST *list;
    unsigned char *again = NULL;
    acme_tnauth_t *t;
    int n, i, ok;

    if (!der || len == 0 || len > ACME_TNAUTH_MAX_DER) return APR_EINVAL;
    list = (TN_LIST *)ASN1_item_d2i(NULL, &q, (long)len, ASN1_ITEM_rptr(TN_LIST));
    if (!list) return APR_EINVAL;
    /* Exactly the input, and DER: OpenSSL reads some BER forms, its encoder
     * writes only DER, so anything else differs on the way back. */
    n = ASN1_item_i2d((ASN1_VALUE *)list, &again, ASN1_ITEM_rptr(TN_LIST));
    ok = q == der + len && n == (int)len && !memcmp(again, der, len)
         && sk_TN_ENTRY_num(list) >= 1 && sk_TN_ENTRY_num(list) <= ACME_TNAUTH_MAX_ENTRIES;
    OPENSSL_free(again);
    t = apr_pcalloc(p, sizeof(*t));
    t->entries = apr_array_make(p, ok ? sk_TN_ENTRY_num(list) : 1, sizeof(acme_tn_entry_t));
    for (i = 0; ok && i < sk_TN_ENTRY_num(list); ++i) {
        ok = entry_from(p, sk_TN_ENTRY_value(list, i), apr_array_push(t->entries));
    }
    ASN1_item_free((ASN1_VALUE *)list, ASN1_ITEM_rptr(TN_LIST));
    if (!ok) return APR_EINVAL;
    *tl = t;
    return APR_SUCCESS;
}

/* ---- identifier values ---- */

apr_status_t acme_tnauth_value(apr_pool_t *p, const acme_tnauth_t *tl, const char **value)
{
    unsigned char *der = NULL;
    apr_size_t len = 0;
    apr_status_t rv = acme_tnauth_to_der(p, tl, &der, &len);
    if (rv == APR_SUCCESS) *value = acme_b64u_encode(p, der, len);
    return rv;
}

apr_status_t acme_tnauth_value_der(apr_pool_t *p, const char *value, unsigned char **der,
                                   apr_size_t *len)
{
    apr_size_t n;
    if (!value) return APR_EINVAL;
    n = strlen(value);
    if (n > 2 * ACME_TNAUTH_MAX_DER) return APR_EINVAL;
    /* base64url without padding (RFC 9448 §3); at most two '=' tolerated. */
    if (n > 0 && value[n - 1] == '=') --n;
    if (n > 0 && value[n - 1] == '=') --n;
    return acme_b64u_decode(p, value, n, der, len);
}

apr_status_t acme_tnauth_from_value(apr_pool_t *p, const char *value, acme_tnauth_t **tl)
{
    unsigned char *der = NULL;
    apr_size_t len = 0;
    apr_status_t rv = acme_tnauth_value_der(p, value, &der, &len);
    return rv == APR_SUCCESS ? acme_tnauth_from_der(p, der, len, tl) : rv;
}

int acme_tnauth_value_eq(apr_pool_t *p, const char *a, const char *b)
{
    unsigned char *da = NULL, *db = NULL;
    apr_size_t la = 0, lb = 0;
    return acme_tnauth_value_der(p, a, &da, &la) == APR_SUCCESS
           && acme_tnauth_value_der(p, b, &db, &lb) == APR_SUCCESS
           && la == lb && !memcmp(da, db, la);
}

/* ---- for people ---- */

static const char *range_text(apr_pool_t *p, const acme_tn_entry_t *e)
{
    apr_size_t n = strlen(e->value);
    apr_uint64_t first;

    /* FIRST-LAST when both are plain numbers of one length, else FIRST+COUNT. */
    if (digits_only(e->value, n) && parse_u64(e->value, &first)
        && e->count - 1 < pow10u(n) - first) {
        const char *last = apr_psprintf(p, "%" APR_UINT64_T_FMT, first + e->count - 1);
        apr_size_t pad = n - strlen(last);
        return apr_psprintf(p, "%s-%.*s%s", e->value, (int)pad, "000000000000000", last);
    }
    return apr_psprintf(p, "%s+%" APR_UINT64_T_FMT, e->value, e->count);
}

const char *acme_tnauth_describe(apr_pool_t *p, const acme_tnauth_t *tl)
{
    const char *s = "";
    for (int i = 0; tl && tl->entries && i < tl->entries->nelts; ++i) {
        const acme_tn_entry_t *e = &APR_ARRAY_IDX(tl->entries, i, acme_tn_entry_t);
        const char *one = e->kind == ACME_TN_SPC ? apr_pstrcat(p, "SPC ", e->value, NULL)
                        : e->kind == ACME_TN_ONE ? apr_pstrcat(p, "TN ", e->value, NULL)
                        : apr_pstrcat(p, "TNs ", range_text(p, e), NULL);
        s = apr_pstrcat(p, s, i ? ", " : "", one, NULL);
    }
    return s;
}

const char *acme_tnauth_describe_value(apr_pool_t *p, const char *value)
{
    acme_tnauth_t *tl = NULL;
    if (acme_tnauth_from_value(p, value, &tl) == APR_SUCCESS) return acme_tnauth_describe(p, tl);
    return "a value that is no DER TNAuthList";
}

const char *acme_tnauth_spc(const acme_tnauth_t *tl)
{
    for (int i = 0; tl && tl->entries && i < tl->entries->nelts; ++i) {
        const acme_tn_entry_t *e = &APR_ARRAY_IDX(tl->entries, i, acme_tn_entry_t);
        if (e->kind == ACME_TN_SPC) return e->value;
    }
    return NULL;
}

/* ---- names and store ids ---- */

int acme_tnauth_is_name(const char *name)
{
    return name && !strncmp(name, ACME_TNAUTH_NAME_PREFIX, sizeof(ACME_TNAUTH_NAME_PREFIX) - 1);
}

const char *acme_tnauth_name(apr_pool_t *p, const char *value)
{
    return apr_pstrcat(p, ACME_TNAUTH_NAME_PREFIX, value, NULL);
}

const char *acme_tnauth_name_value(const char *name)
{
    return acme_tnauth_is_name(name) ? name + sizeof(ACME_TNAUTH_NAME_PREFIX) - 1 : NULL;
}

/* Lower case, and '_' for anything outside [a-z0-9-] (no '.': an id must
 * never hold ".."), bounded. */
static char *id_part(apr_pool_t *p, const char *s)
{
    char *r = apr_pstrndup(p, s, 64);
    for (char *c = r; *c; ++c) {
        *c = (char)apr_tolower(*c);
        if (!apr_isalnum(*c) && *c != '-') *c = '_';
    }
    return r;
}

const char *acme_tnauth_domain_id(apr_pool_t *p, const acme_tnauth_t *tl)
{
    const acme_tn_entry_t *first;
    unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    apr_size_t len = 0;

    if (acme_tnauth_to_der(p, tl, &der, &len) != APR_SUCCESS) return NULL;
    first = &APR_ARRAY_IDX(tl->entries, 0, acme_tn_entry_t);
    if (tl->entries->nelts == 1 && first->kind == ACME_TN_SPC) {
        return apr_pstrcat(p, "tnauthlist-", id_part(p, first->value), NULL);
    }
    if (!EVP_Digest(der, len, md, &mdlen, EVP_sha256(), NULL) || mdlen < 4) return NULL;
    return apr_psprintf(p, "tnauthlist-%s-%02x%02x%02x%02x", id_part(p, first->value),
                        md[0], md[1], md[2], md[3]);
}
