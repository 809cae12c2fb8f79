/* acme_x509.c: certificates as objects, names and the SAN extension, CSRs and PEM chains (facts about a certificate: acme_x509_info.c; certificates made here: acme_x509_self.c). */
#include <string.h>
#include <arpa/inet.h>
#include <apr_strings.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include "acme_file.h"
#include "acme_tnauth.h"
#include "acme_x509.h"
#include "acme_x509_int.h"

#define CHAIN_PEM_MAX (1024 * 1024)  /* a certificate bundle file */
#define CHAIN_MAX_CERTS 32
#define NAMES_MAX 100                 /* SANs per CSR, as CAs allow */
#define NAME_MAX_LEN 253

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
X509_EXTENSION *acme_x509_san_extension(const apr_array_header_t *names, int critical)
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
const char *acme_x509_subject_cn(const apr_array_header_t *names)
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

int acme_x509_set_cn(X509_NAME *xn, const char *cn)
{
    return !cn || X509_NAME_add_entry_by_NID(xn, NID_commonName, MBSTRING_UTF8,
                                             (const unsigned char *)cn, -1, -1, 0);
}

/* The digest that goes with a key: SHA-384 for P-384, SHA-256 otherwise. */
const EVP_MD *acme_x509_md_for_key(const acme_key_t *key)
{
    return acme_key_type(key) == ACME_KEY_EC384 ? EVP_sha384() : EVP_sha256();
}

int acme_x509_names_ok(const apr_array_header_t *names)
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
    *cn = san_names->nelts ? acme_x509_subject_cn(san_names) : tnauth_cn(p, tn);
    if (san_names->nelts) {
        if (!(ext = acme_x509_san_extension(san_names, 0)) || !sk_X509_EXTENSION_push(exts, ext)) {
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
         && acme_x509_set_cn(X509_REQ_get_subject_name(req), cn)
         && X509_REQ_set_pubkey(req, acme_key_evp(key))
         && X509_REQ_add_extensions(req, exts)
         && X509_REQ_sign(req, acme_key_evp(key), acme_x509_md_for_key(key)) > 0;
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

    if (!acme_key_evp(key) || !acme_x509_names_ok(names)) {
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
char *acme_x509_bio_to_str(apr_pool_t *p, BIO *bio, apr_size_t *len)
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
    *pem = acme_x509_bio_to_str(p, bio, len);
    BIO_free(bio);
    return *pem ? APR_SUCCESS : APR_ENOMEM;
}
