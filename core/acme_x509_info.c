/* acme_x509_info.c: facts about a certificate: names, dates, issuer, serial, TNAuthList, key match, name coverage and its ARI id. */
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/x509v3.h>
#include "acme_base64.h"
#include "acme_tnauth.h"
#include "acme_x509.h"
#include "acme_x509_int.h"

static const char *ip_text(apr_pool_t *p, const ASN1_OCTET_STRING *ip)
{
    char buf[INET6_ADDRSTRLEN];
    int len = ASN1_STRING_length(ip);
    const unsigned char *d = ASN1_STRING_get0_data(ip);

    if (len == 4 && inet_ntop(AF_INET, d, buf, sizeof(buf))) return apr_pstrdup(p, buf);
    if (len == 16 && inet_ntop(AF_INET6, d, buf, sizeof(buf))) return apr_pstrdup(p, buf);
    return NULL;
}

static void collect_sans(apr_pool_t *p, X509 *x, acme_cert_info_t *info)
{
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    int i;

    info->dns_names = apr_array_make(p, 4, sizeof(const char *));
    info->ip_addrs = apr_array_make(p, 1, sizeof(const char *));
    for (i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *gen = sk_GENERAL_NAME_value(gens, i);
        if (gen->type == GEN_DNS) {
            const ASN1_IA5STRING *s = gen->d.dNSName;
            int n = ASN1_STRING_length(s);
            const char *d = (const char *)ASN1_STRING_get0_data(s);
            /* A name with an embedded NUL cannot be compared safely: drop it. */
            if (n > 0 && !memchr(d, '\0', (size_t)n)) {
                APR_ARRAY_PUSH(info->dns_names, const char *) = apr_pstrmemdup(p, d, (apr_size_t)n);
            }
        }
        else if (gen->type == GEN_IPADD) {
            const char *t = ip_text(p, gen->d.iPAddress);
            if (t) {
                APR_ARRAY_PUSH(info->ip_addrs, const char *) = t;
            }
        }
    }
    GENERAL_NAMES_free(gens);
}

static apr_time_t asn1_time(const ASN1_TIME *t)
{
    struct tm tm;

    if (!t || !ASN1_TIME_to_tm(t, &tm)) {
        return 0;
    }
    return apr_time_from_sec(timegm(&tm));
}

static const char *name_text(apr_pool_t *p, const X509_NAME *xn)
{
    BIO *bio = BIO_new(BIO_s_mem());
    const char *s = NULL;

    if (bio && X509_NAME_print_ex(bio, xn, 0, XN_FLAG_RFC2253) >= 0) {
        s = acme_x509_bio_to_str(p, bio, NULL);
    }
    BIO_free(bio);
    return s;
}

static const char *name_cn(apr_pool_t *p, const X509_NAME *xn)
{
    int idx = X509_NAME_get_index_by_NID(xn, NID_commonName, -1);
    unsigned char *utf8 = NULL;
    const char *s = NULL;
    int n;

    if (idx < 0) {
        return NULL;
    }
    n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(xn, idx)));
    if (n >= 0) {
        s = apr_pstrmemdup(p, (const char *)utf8, (apr_size_t)n);
    }
    OPENSSL_free(utf8);
    return s;
}

static const char *hex_lower(apr_pool_t *p, const unsigned char *d, apr_size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char *s = apr_palloc(p, 2 * n + 1);
    apr_size_t i;

    for (i = 0; i < n; i++) {
        s[2 * i] = digits[d[i] >> 4];
        s[2 * i + 1] = digits[d[i] & 15];
    }
    s[2 * n] = '\0';
    return s;
}

static const char *serial_hex(apr_pool_t *p, X509 *x)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    char *s = NULL, *c;

    if (hex) {
        const char *h = hex;
        /* BN_bn2hex pads to whole bytes; the contract is no leading zeros. */
        while (h[0] == '0' && h[1]) {
            h++;
        }
        s = apr_pstrdup(p, h);
        for (c = s; *c; c++) {
            *c = apr_tolower(*c);
        }
    }
    OPENSSL_free(hex);
    BN_free(bn);
    return s;
}

/* base64url of the id-pe-TNAuthList extension's content (the DER list), or NULL. */
static const char *tnauth_value(apr_pool_t *p, X509 *x)
{
    ASN1_OBJECT *obj = OBJ_txt2obj(ACME_TNAUTH_OID, 1);
    int idx = obj ? X509_get_ext_by_OBJ(x, obj, -1) : -1;
    const ASN1_OCTET_STRING *val;

    ASN1_OBJECT_free(obj);
    if (idx < 0 || !(val = X509_EXTENSION_get_data(X509_get_ext(x, idx)))) {
        return NULL;
    }
    return acme_b64u_encode(p, ASN1_STRING_get0_data(val), (apr_size_t)ASN1_STRING_length(val));
}

apr_status_t acme_cert_info(apr_pool_t *p, const acme_cert_t *cert, acme_cert_info_t **info)
{
    acme_cert_info_t *ci;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    X509 *x = acme_cert_x509(cert);

    if (!x) {
        return APR_EINVAL;
    }
    ci = apr_pcalloc(p, sizeof(*ci));
    collect_sans(p, x, ci);
    ci->not_before = asn1_time(X509_get0_notBefore(x));
    ci->not_after = asn1_time(X509_get0_notAfter(x));
    ci->serial = serial_hex(p, x);
    ci->issuer = name_text(p, X509_get_issuer_name(x));
    ci->issuer_cn = name_cn(p, X509_get_issuer_name(x));
    ci->subject = name_text(p, X509_get_subject_name(x));
    ci->tnauthlist = tnauth_value(p, x);
    if (!X509_digest(x, EVP_sha256(), md, &mdlen)) {
        return APR_EGENERAL;
    }
    ci->sha256_fingerprint = hex_lower(p, md, mdlen);
    if (!ci->serial || !ci->issuer || !ci->subject || !ci->not_before || !ci->not_after) {
        return APR_EINVAL;
    }
    *info = ci;
    return APR_SUCCESS;
}

int acme_cert_matches_key(const acme_cert_t *cert, const acme_key_t *key)
{
    EVP_PKEY *pub = cert && cert->x ? X509_get0_pubkey(cert->x) : NULL;

    return pub && acme_key_evp(key) && EVP_PKEY_eq(pub, acme_key_evp(key)) == 1;
}

/* Same address, whatever the textual form (e.g. "2001:db8:0::1" vs "2001:db8::1"). */
static int same_ip(const char *a, const char *b)
{
    unsigned char x[16], y[16];

    if (inet_pton(AF_INET, a, x) == 1) {
        return inet_pton(AF_INET, b, y) == 1 && !memcmp(x, y, 4);
    }
    return inet_pton(AF_INET6, a, x) == 1 && inet_pton(AF_INET6, b, y) == 1 && !memcmp(x, y, 16);
}

static int in_list(const apr_array_header_t *list, const char *name, int ip)
{
    int i;

    for (i = 0; i < list->nelts; i++) {
        const char *s = APR_ARRAY_IDX(list, i, const char *);
        if (ip ? same_ip(name, s) : !strcasecmp(name, s)) {
            return 1;
        }
    }
    return 0;
}

int acme_cert_covers(const acme_cert_t *cert, const apr_array_header_t *names)
{
    apr_pool_t *tmp;
    acme_cert_info_t *info;
    int i, ok = 1;

    if (!cert || !cert->x || !names || apr_pool_create(&tmp, NULL) != APR_SUCCESS) {
        return 0;
    }
    if (acme_cert_info(tmp, cert, &info) != APR_SUCCESS) {
        ok = 0;
    }
    for (i = 0; ok && i < names->nelts; i++) {
        const char *n = APR_ARRAY_IDX(names, i, const char *);
        if (n && acme_tnauth_is_name(n)) {
            ok = info->tnauthlist
                 && acme_tnauth_value_eq(tmp, acme_tnauth_name_value(n), info->tnauthlist);
            continue;
        }
        ok = n && (acme_is_ip(n) ? in_list(info->ip_addrs, n, 1) : in_list(info->dns_names, n, 0));
    }
    apr_pool_destroy(tmp);
    return ok;
}

int acme_cert_names_exactly(const acme_cert_t *cert, const apr_array_header_t *names)
{
    apr_pool_t *tmp;
    acme_cert_info_t *info;
    int i, ok;

    if (!acme_cert_covers(cert, names) || apr_pool_create(&tmp, NULL) != APR_SUCCESS) {
        return 0;
    }
    ok = acme_cert_info(tmp, cert, &info) == APR_SUCCESS;
    for (i = 0; ok && i < info->dns_names->nelts; i++) {
        ok = in_list(names, APR_ARRAY_IDX(info->dns_names, i, const char *), 0);
    }
    for (i = 0; ok && i < info->ip_addrs->nelts; i++) {
        ok = in_list(names, APR_ARRAY_IDX(info->ip_addrs, i, const char *), 1);
    }
    apr_pool_destroy(tmp);
    return ok;
}

int acme_cert_issued_by(const acme_cert_t *child, const acme_cert_t *parent)
{
    EVP_PKEY *pub;

    if (!child || !parent || !child->x || !parent->x) {
        return 0;
    }
    if (X509_NAME_cmp(X509_get_issuer_name(child->x), X509_get_subject_name(parent->x)) != 0) {
        return 0;
    }
    pub = X509_get0_pubkey(parent->x);
    return pub && X509_verify(child->x, pub) == 1;
}

apr_status_t acme_cert_ari_id(apr_pool_t *p, const acme_cert_t *cert, const char **id)
{
    const ASN1_OCTET_STRING *aki;
    unsigned char *der = NULL;
    const unsigned char *q;
    long clen = 0;
    int n, tag, cls;
    const char *serial;

    if (!cert || !cert->x || !(aki = X509_get0_authority_key_id(cert->x))
        || ASN1_STRING_length(aki) <= 0) {
        return APR_EINVAL;
    }
    /* The serial's DER content octets (with a leading 0x00 when the high bit is set). */
    n = i2d_ASN1_INTEGER(X509_get0_serialNumber(cert->x), &der);
    if (n <= 0) {
        return APR_EGENERAL;
    }
    q = der;
    if ((ASN1_get_object(&q, &clen, &tag, &cls, n) & 0x80) || tag != V_ASN1_INTEGER || clen <= 0) {
        OPENSSL_free(der);
        return APR_EGENERAL;
    }
    serial = acme_b64u_encode(p, q, (apr_size_t)clen);
    OPENSSL_free(der);
    *id = apr_pstrcat(p, acme_b64u_encode(p, ASN1_STRING_get0_data(aki),
                                          (apr_size_t)ASN1_STRING_length(aki)),
                      ".", serial, NULL);
    return APR_SUCCESS;
}
