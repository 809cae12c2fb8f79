/* acme_x509.c: CSRs, PEM chains, certificate facts (SANs, dates, ARI id) and self-signed/tls-alpn-01 certificates. */
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include "acme_base64.h"
#include "acme_file.h"
#include "acme_tnauth.h"
#include "acme_x509.h"

#define CHAIN_PEM_MAX (1024 * 1024)  /* a certificate bundle file */
#define CHAIN_MAX_CERTS 32
#define NAMES_MAX 100                 /* SANs per CSR, as CAs allow */
#define NAME_MAX_LEN 253
#define CN_MAX_LEN 64                 /* RFC 5280 ub-common-name */
#define ACME_IDENTIFIER_OID "1.3.6.1.5.5.7.1.31"

struct acme_cert_t {
    X509 *x;
};

static apr_status_t cert_cleanup(void *data)
{
    acme_cert_t *c = data;

    X509_free(c->x);
    c->x = NULL;
    return APR_SUCCESS;
}

acme_cert_t *acme_cert_wrap(apr_pool_t *p, X509 *x)
{
    acme_cert_t *c = apr_pcalloc(p, sizeof(*c));

    c->x = x;
    apr_pool_cleanup_register(p, c, cert_cleanup, apr_pool_cleanup_null);
    return c;
}

X509 *acme_cert_x509(const acme_cert_t *cert)
{
    return cert ? cert->x : NULL;
}

int acme_is_ip(const char *s)
{
    unsigned char buf[16];

    return s && (inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1);
}

/* --- names and the SAN extension ------------------------------------------ */

/* A DNS name or wildcard as an identifier: printable, no spaces, bounded. */
static int valid_dns_name(const char *s)
{
    size_t n = strlen(s), i;

    if (n == 0 || n > NAME_MAX_LEN) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c >= 0x7f || c == '/' || c == '\\') {
            return 0;
        }
    }
    return 1;
}

/* One GENERAL_NAME for a name: iPAddress for literal addresses, dNSName otherwise. */
static GENERAL_NAME *general_name(const char *name)
{
    GENERAL_NAME *gen;

    if (acme_is_ip(name)) {
        ASN1_OCTET_STRING *ip = a2i_IPADDRESS(name);
        if (!ip) {
            return NULL;
        }
        gen = GENERAL_NAME_new();
        if (gen) {
            GENERAL_NAME_set0_value(gen, GEN_IPADD, ip);
        }
        else {
            ASN1_OCTET_STRING_free(ip);
        }
        return gen;
    }
    if (!valid_dns_name(name)) {
        return NULL;
    }
    gen = GENERAL_NAME_new();
    if (gen) {
        ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
        if (!ia5 || !ASN1_STRING_set(ia5, name, (int)strlen(name))) {
            ASN1_IA5STRING_free(ia5);
            GENERAL_NAME_free(gen);
            return NULL;
        }
        GENERAL_NAME_set0_value(gen, GEN_DNS, ia5);
    }
    return gen;
}

/* The subjectAltName extension for names (non-critical: the subject has a CN
 * or, when it is empty, the CA marks it; CAs accept both). */
static X509_EXTENSION *san_extension(const apr_array_header_t *names, int critical)
{
    GENERAL_NAMES *gens;
    X509_EXTENSION *ext = NULL;
    int i;

    if (!names || names->nelts <= 0 || names->nelts > NAMES_MAX) {
        return NULL;
    }
    gens = sk_GENERAL_NAME_new_null();
    for (i = 0; gens && i < names->nelts; i++) {
        GENERAL_NAME *gen = general_name(APR_ARRAY_IDX(names, i, const char *));
        if (!gen || !sk_GENERAL_NAME_push(gens, gen)) {
            GENERAL_NAME_free(gen);
            GENERAL_NAMES_free(gens);
            return NULL;
        }
    }
    if (gens) {
        ext = X509V3_EXT_i2d(NID_subject_alt_name, critical, gens);
        GENERAL_NAMES_free(gens);
    }
    return ext;
}

/* CN = the first DNS name when it fits, for clients that still look at it. */
static const char *subject_cn(const apr_array_header_t *names)
{
    int i;

    for (i = 0; names && i < names->nelts; i++) {
        const char *n = APR_ARRAY_IDX(names, i, const char *);
        if (n && !acme_is_ip(n)) {
            return strlen(n) <= CN_MAX_LEN ? n : NULL;
        }
    }
    return NULL;
}

static int set_cn(X509_NAME *xn, const char *cn)
{
    return !cn || X509_NAME_add_entry_by_NID(xn, NID_commonName, MBSTRING_UTF8,
                                             (const unsigned char *)cn, -1, -1, 0);
}

/* The digest that goes with a key: SHA-384 for P-384, SHA-256 otherwise. */
static const EVP_MD *md_for_key(const acme_key_t *key)
{
    return acme_key_type(key) == ACME_KEY_EC384 ? EVP_sha384() : EVP_sha256();
}

static int names_ok(const apr_array_header_t *names)
{
    int i;

    if (!names || names->nelts <= 0 || names->nelts > NAMES_MAX) {
        return 0;
    }
    for (i = 0; i < names->nelts; i++) {
        if (!APR_ARRAY_IDX(names, i, const char *)) {
            return 0;
        }
    }
    return 1;
}

/* --- CSR ------------------------------------------------------------------- */

/* id-pe-TNAuthList (RFC 8226 §9) holding exactly the DER the identifier value
 * names (RFC 9448 §3), in its order. Not critical: the CA decides, and a
 * relying party that does not know the extension still reads the rest. */
static X509_EXTENSION *tnauth_extension(const char *name)
{
    apr_pool_t *tmp;
    unsigned char *der = NULL;
    apr_size_t len = 0;
    acme_tnauth_t *tl = NULL;
    ASN1_OBJECT *obj = NULL;
    ASN1_OCTET_STRING *val = NULL;
    X509_EXTENSION *ext = NULL;

    if (apr_pool_create(&tmp, NULL) != APR_SUCCESS) {
        return NULL;
    }
    if (acme_tnauth_value_der(tmp, acme_tnauth_name_value(name), &der, &len) == APR_SUCCESS
        && acme_tnauth_from_der(tmp, der, len, &tl) == APR_SUCCESS
        && (obj = OBJ_txt2obj(ACME_TNAUTH_OID, 1)) != NULL
        && (val = ASN1_OCTET_STRING_new()) != NULL
        && ASN1_OCTET_STRING_set(val, der, (int)len)) {
        ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, val);
    }
    ASN1_OBJECT_free(obj);
    ASN1_OCTET_STRING_free(val);
    apr_pool_destroy(tmp);
    return ext;
}

/* CN of a TNAuthList certificate: "SHAKEN <SPC>" (ATIS-1000080 §6.4.1), when it has an SPC. */
static const char *tnauth_cn(apr_pool_t *p, const char *name)
{
    acme_tnauth_t *tl = NULL;
    const char *spc;

    if (acme_tnauth_from_value(p, acme_tnauth_name_value(name), &tl) != APR_SUCCESS
        || (spc = acme_tnauth_spc(tl)) == NULL || strlen(spc) + 7 > CN_MAX_LEN) {
        return NULL;
    }
    return apr_pstrcat(p, "SHAKEN ", spc, NULL);
}

/* The extensions a CSR requests: SANs for DNS names and addresses (when there
 * are any), TNAuthList for a TNAuthList identifier (at most one). */
static apr_status_t csr_extensions(apr_pool_t *p, const apr_array_header_t *names,
                                   STACK_OF(X509_EXTENSION) *exts, const char **cn)
{
    apr_array_header_t *san_names = apr_array_make(p, names->nelts, sizeof(const char *));
    const char *tn = NULL;
    X509_EXTENSION *ext;
    int i;

    for (i = 0; i < names->nelts; i++) {
        const char *n = APR_ARRAY_IDX(names, i, const char *);
        if (!acme_tnauth_is_name(n)) {
            APR_ARRAY_PUSH(san_names, const char *) = n;
        }
        else if (tn) {
            return APR_EINVAL;
        }
        else {
            tn = n;
        }
    }
    *cn = san_names->nelts ? subject_cn(san_names) : tnauth_cn(p, tn);
    if (san_names->nelts) {
        if (!(ext = san_extension(san_names, 0)) || !sk_X509_EXTENSION_push(exts, ext)) {
            X509_EXTENSION_free(ext);
            return APR_EINVAL;
        }
    }
    if (tn) {
        if (!(ext = tnauth_extension(tn)) || !sk_X509_EXTENSION_push(exts, ext)) {
            X509_EXTENSION_free(ext);
            return APR_EINVAL;
        }
    }
    return APR_SUCCESS;
}

static apr_status_t csr_fill(apr_pool_t *p, X509_REQ *req, const acme_key_t *key,
                             const apr_array_header_t *names)
{
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    const char *cn = NULL;
    apr_status_t rv = exts ? csr_extensions(p, names, exts, &cn) : APR_ENOMEM;
    int ok = rv == APR_SUCCESS;

    ok = ok && X509_REQ_set_version(req, 0)
         && set_cn(X509_REQ_get_subject_name(req), cn)
         && X509_REQ_set_pubkey(req, acme_key_evp(key))
         && X509_REQ_add_extensions(req, exts)
         && X509_REQ_sign(req, acme_key_evp(key), md_for_key(key)) > 0;
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    return ok ? APR_SUCCESS : (rv != APR_SUCCESS ? rv : APR_EGENERAL);
}

apr_status_t acme_csr_create(apr_pool_t *p, const acme_key_t *key,
                             const apr_array_header_t *names,
                             unsigned char **der, apr_size_t *derlen)
{
    X509_REQ *req;
    unsigned char *buf = NULL;
    int n;
    apr_status_t rv;

    if (!acme_key_evp(key) || !names_ok(names)) {
        return APR_EINVAL;
    }
    req = X509_REQ_new();
    if (!req) {
        return APR_ENOMEM;
    }
    rv = csr_fill(p, req, key, names);
    if (rv == APR_SUCCESS) {
        n = i2d_X509_REQ(req, &buf);
        if (n > 0) {
            *der = apr_pmemdup(p, buf, (apr_size_t)n);
            *derlen = (apr_size_t)n;
            OPENSSL_free(buf);
        }
        else {
            rv = APR_EGENERAL;
        }
    }
    X509_REQ_free(req);
    return rv;
}

/* --- PEM bundles ----------------------------------------------------------- */

static const char *skip_space(const char *s, const char *end)
{
    while (s < end && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')) {
        s++;
    }
    return s;
}

static const char *find(const char *s, const char *end, const char *needle)
{
    size_t n = strlen(needle);

    for (; s + n <= end; s++) {
        if (*s == *needle && !memcmp(s, needle, n)) {
            return s;
        }
    }
    return NULL;
}

/* Parse one CERTIFICATE block (begin..end) strictly: the DER must be exactly one certificate. */
static apr_status_t parse_cert_block(apr_pool_t *p, const char *begin, const char *end,
                                     acme_cert_t **cert)
{
    BIO *bio = BIO_new_mem_buf(begin, (int)(end - begin));
    char *name = NULL, *header = NULL;
    unsigned char *data = NULL;
    const unsigned char *q;
    long len = 0;
    X509 *x = NULL;

    if (bio && PEM_read_bio(bio, &name, &header, &data, &len) && !strcmp(name, "CERTIFICATE")
        && (!header || !*header)) {
        q = data;
        x = d2i_X509(NULL, &q, len);
        if (x && q != data + len) {
            X509_free(x);
            x = NULL;
        }
    }
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
    BIO_free(bio);
    if (!x) {
        return APR_EINVAL;
    }
    *cert = acme_cert_wrap(p, x);
    return APR_SUCCESS;
}

apr_status_t acme_certs_from_pem(apr_pool_t *p, const char *pem, apr_size_t len,
                                 apr_array_header_t **certs)
{
    const char *s = pem, *end = pem + len;
    apr_array_header_t *arr;

    if (!pem || len == 0 || len > CHAIN_PEM_MAX) {
        return APR_EINVAL;
    }
    arr = apr_array_make(p, 3, sizeof(acme_cert_t *));
    /* Only whitespace may surround the PEM blocks; non-certificate blocks
     * (e.g. a key stored alongside) are skipped. */
    while ((s = skip_space(s, end)) < end) {
        const char *lab, *lab_end, *stop;
        const char *endline;

        if ((size_t)(end - s) < 11 || memcmp(s, "-----BEGIN ", 11)) {
            return APR_EINVAL;
        }
        lab = s + 11;
        lab_end = find(lab, end, "-----");
        if (!lab_end || lab_end - lab > 64) {
            return APR_EINVAL;
        }
        endline = apr_pstrcat(p, "-----END ", apr_pstrmemdup(p, lab, (apr_size_t)(lab_end - lab)),
                              "-----", NULL);
        stop = find(lab_end + 5, end, endline);
        if (!stop) {
            return APR_EINVAL;
        }
        stop += strlen(endline);
        if (lab_end - lab == 11 && !memcmp(lab, "CERTIFICATE", 11)) {
            acme_cert_t *c;
            if (arr->nelts >= CHAIN_MAX_CERTS || parse_cert_block(p, s, stop, &c) != APR_SUCCESS) {
                return APR_EINVAL;
            }
            APR_ARRAY_PUSH(arr, acme_cert_t *) = c;
        }
        s = stop;
    }
    if (arr->nelts == 0) {
        return APR_EINVAL;
    }
    *certs = arr;
    return APR_SUCCESS;
}

apr_status_t acme_cert_load_chain(apr_pool_t *p, const char *path, apr_array_header_t **certs)
{
    char *data;
    apr_size_t len;
    apr_status_t rv = acme_file_read(p, path, CHAIN_PEM_MAX, &data, &len);

    return rv == APR_SUCCESS ? acme_certs_from_pem(p, data, len, certs) : rv;
}

/* Copy a memory BIO's contents into p, NUL-terminated. */
static char *bio_to_str(apr_pool_t *p, BIO *bio, apr_size_t *len)
{
    char *mem = NULL;
    long n = BIO_get_mem_data(bio, &mem);

    if (n < 0) {
        return NULL;
    }
    if (len) {
        *len = (apr_size_t)n;
    }
    return apr_pstrmemdup(p, mem ? mem : "", (apr_size_t)n);
}

apr_status_t acme_cert_to_pem(apr_pool_t *p, const acme_cert_t *cert, char **pem, apr_size_t *len)
{
    BIO *bio;

    if (!cert || !cert->x) {
        return APR_EINVAL;
    }
    bio = BIO_new(BIO_s_mem());
    if (!bio || !PEM_write_bio_X509(bio, cert->x)) {
        BIO_free(bio);
        return APR_EGENERAL;
    }
    *pem = bio_to_str(p, bio, len);
    BIO_free(bio);
    return *pem ? APR_SUCCESS : APR_ENOMEM;
}

/* --- certificate facts ------------------------------------------------------ */

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
        s = bio_to_str(p, bio, NULL);
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

/* --- self-signed certificates ---------------------------------------------- */

static int add_ext(X509 *x, X509_EXTENSION *ext)
{
    int ok = ext && X509_add_ext(x, ext, -1);

    X509_EXTENSION_free(ext);
    return ok;
}

/* An extension from its config text (e.g. "critical,CA:FALSE"), with x as issuer and subject. */
static int add_conf_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX ctx;

    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    return add_ext(x, X509V3_EXT_conf_nid(NULL, &ctx, nid, value));
}

static int set_random_serial(X509 *x)
{
    unsigned char rnd[16];
    BIGNUM *bn;
    int ok;

    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        return 0;
    }
    rnd[0] &= 0x7f;  /* positive, at most 16 octets in DER */
    rnd[0] |= 0x01;  /* never zero */
    bn = BN_bin2bn(rnd, sizeof(rnd), NULL);
    ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    return ok;
}

struct acme_selfsigner_t {
    const acme_key_t *key;
    X509_PUBKEY *pub;                   /* key's SubjectPublicKeyInfo, encoded once */
};

static apr_status_t selfsigner_cleanup(void *data)
{
    X509_PUBKEY_free(((acme_selfsigner_t *)data)->pub);
    return APR_SUCCESS;
}

apr_status_t acme_selfsigner_create(apr_pool_t *p, const acme_key_t *key, acme_selfsigner_t **ss)
{
    acme_selfsigner_t *s;

    if (!acme_key_evp(key)) {
        return APR_EINVAL;
    }
    s = apr_pcalloc(p, sizeof(*s));
    s->key = key;
    /* OpenSSL 3 encodes and decodes the key here: costly, so once per key */
    if (!X509_PUBKEY_set(&s->pub, acme_key_evp(key))) {
        return APR_EGENERAL;
    }
    apr_pool_cleanup_register(p, s, selfsigner_cleanup, apr_pool_cleanup_null);
    *ss = s;
    return APR_SUCCESS;
}

/* The certificate's public key as a copy of the encoded one (no re-encoding). */
static int copy_pubkey(X509 *x, const X509_PUBKEY *from)
{
    X509_PUBKEY *to = X509_get_X509_PUBKEY(x);
    ASN1_OBJECT *alg;
    X509_ALGOR *from_alg, *to_alg;
    const unsigned char *pk;
    unsigned char *enc;
    int pklen;

    if (!X509_PUBKEY_get0_param(&alg, &pk, &pklen, &from_alg, from) || pklen <= 0
        || !(enc = OPENSSL_memdup(pk, (size_t)pklen))) {
        return 0;
    }
    if (!X509_PUBKEY_set0_param(to, OBJ_dup(alg), V_ASN1_UNDEF, NULL, enc, pklen)) {
        OPENSSL_free(enc);
        return 0;
    }
    return X509_PUBKEY_get0_param(NULL, NULL, NULL, &to_alg, to)
           && X509_ALGOR_copy(to_alg, from_alg);
}

/* Common body of a self-signed leaf: version 3, serial, names, validity, key. */
static X509 *selfsigned_base(const apr_array_header_t *names, const acme_selfsigner_t *ss,
                             long not_before_adj, apr_interval_time_t valid)
{
    const acme_key_t *key = ss->key;
    X509 *x = X509_new();
    long secs = (long)apr_time_sec(valid);
    const char *cn = subject_cn(names);

    if (!cn && names->nelts > 0 && strlen(APR_ARRAY_IDX(names, 0, const char *)) <= CN_MAX_LEN) {
        cn = APR_ARRAY_IDX(names, 0, const char *);
    }
    if (!x || !X509_set_version(x, 2) || !set_random_serial(x)
        || !set_cn(X509_get_subject_name(x), cn)
        || !X509_set_issuer_name(x, X509_get_subject_name(x))
        || !X509_gmtime_adj(X509_getm_notBefore(x), not_before_adj)
        || !X509_time_adj_ex(X509_getm_notAfter(x), (int)(secs / 86400), secs % 86400, NULL)
        || !copy_pubkey(x, ss->pub)
        || !add_ext(x, san_extension(names, cn == NULL))
        || !add_conf_ext(x, NID_basic_constraints, "critical,CA:FALSE")
        || !add_conf_ext(x, NID_key_usage, EVP_PKEY_is_a(acme_key_evp(key), "RSA")
                         ? "critical,digitalSignature,keyEncipherment" : "critical,digitalSignature")
        || !add_conf_ext(x, NID_ext_key_usage, "serverAuth")
        || !add_conf_ext(x, NID_subject_key_identifier, "hash")) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* Sign x with key and return it as PEM from p; x is freed in any case. */
static apr_status_t sign_to_pem(apr_pool_t *p, X509 *x, const acme_key_t *key, char **pem)
{
    acme_cert_t *c = acme_cert_wrap(p, x);

    if (X509_sign(x, acme_key_evp(key), md_for_key(key)) <= 0) {
        return APR_EGENERAL;
    }
    return acme_cert_to_pem(p, c, pem, NULL);
}

/* The critical id-pe-acmeIdentifier extension: OCTET STRING (SHA-256(keyauth)). */
static X509_EXTENSION *acme_identifier_ext(const char *keyauth)
{
    unsigned char md[32], der[2 + 32];
    unsigned int mdlen = 0;
    ASN1_OBJECT *obj;
    ASN1_OCTET_STRING *val;
    X509_EXTENSION *ext = NULL;

    if (!EVP_Digest(keyauth, strlen(keyauth), md, &mdlen, EVP_sha256(), NULL) || mdlen != 32) {
        return NULL;
    }
    der[0] = V_ASN1_OCTET_STRING;
    der[1] = 32;
    memcpy(der + 2, md, 32);
    obj = OBJ_txt2obj(ACME_IDENTIFIER_OID, 1);
    val = ASN1_OCTET_STRING_new();
    if (obj && val && ASN1_OCTET_STRING_set(val, der, sizeof(der))) {
        ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 1, val);
    }
    ASN1_OBJECT_free(obj);
    ASN1_OCTET_STRING_free(val);
    return ext;
}

apr_status_t acme_tls_alpn01_cert(apr_pool_t *p, const char *name, const char *keyauth,
                                  const acme_key_t *key, char **pem)
{
    apr_array_header_t *names;
    acme_selfsigner_t *ss;
    X509 *x;

    if (!name || !keyauth || !*keyauth || acme_selfsigner_create(p, key, &ss) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    names = apr_array_make(p, 1, sizeof(const char *));
    APR_ARRAY_PUSH(names, const char *) = name;
    /* Short-lived: it only has to live through the CA's validation. */
    x = selfsigned_base(names, ss, -3600, apr_time_from_sec(7 * 86400));
    if (!x) {
        return APR_EINVAL;
    }
    if (!add_ext(x, acme_identifier_ext(keyauth))) {
        X509_free(x);
        return APR_EGENERAL;
    }
    return sign_to_pem(p, x, key, pem);
}

apr_status_t acme_selfsigner_cert(apr_pool_t *p, const acme_selfsigner_t *ss,
                                  const apr_array_header_t *names, apr_interval_time_t valid,
                                  char **pem)
{
    X509 *x;

    if (!ss || !names_ok(names) || valid <= 0) {
        return APR_EINVAL;
    }
    x = selfsigned_base(names, ss, -60, valid);
    if (!x) {
        return APR_EINVAL;
    }
    return sign_to_pem(p, x, ss->key, pem);
}

apr_status_t acme_selfsigned_cert(apr_pool_t *p, const apr_array_header_t *names,
                                  const acme_key_t *key, apr_interval_time_t valid, char **pem)
{
    acme_selfsigner_t *ss;

    if (acme_selfsigner_create(p, key, &ss) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    return acme_selfsigner_cert(p, ss, names, valid, pem);
}
