/* test_x509.c: unit tests of CSRs, PEM chains, certificate facts, ARI ids and the self-signed/tls-alpn-01 certificates. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <apr_file_io.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include "acme_file.h"
#include "acme_jws.h"
#include "acme_x509.h"
#include "testutil.h"

static apr_array_header_t *names_of(const char *first, ...)
{
    apr_array_header_t *a = apr_array_make(pool, 4, sizeof(const char *));
    va_list ap;
    const char *s;

    va_start(ap, first);
    for (s = first; s; s = va_arg(ap, const char *)) {
        APR_ARRAY_PUSH(a, const char *) = s;
    }
    va_end(ap);
    return a;
}

static acme_key_t *new_key(acme_key_type_e t)
{
    acme_key_t *k;

    ck_assert_int_eq(acme_key_generate(pool, t, &k), APR_SUCCESS);
    return k;
}

static void add_ext_txt(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;

    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    ck_assert(ext != NULL);
    ck_assert(X509_add_ext(x, ext, -1));
    X509_EXTENSION_free(ext);
}

/* A test certificate: CN/O subject, signed by issuer (NULL: self), fixed
 * serial and dates, SAN from a config string, optional raw AKI keyid. */
static acme_cert_t *make_cert(const char *cn, X509 *issuer, acme_key_t *issuer_key, acme_key_t *key,
                              unsigned long serial, long nb, long na, const char *san, int ca,
                              const unsigned char *aki, size_t akilen)
{
    X509 *x = X509_new();
    X509_NAME *n = X509_get_subject_name(x);

    ck_assert(X509_set_version(x, 2));
    ck_assert(ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial));
    ck_assert(X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"Example", -1, -1, 0));
    ck_assert(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0));
    ck_assert(X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n));
    ck_assert(ASN1_TIME_set(X509_getm_notBefore(x), nb) != NULL);
    ck_assert(ASN1_TIME_set(X509_getm_notAfter(x), na) != NULL);
    ck_assert(X509_set_pubkey(x, acme_key_evp(key)));
    add_ext_txt(x, issuer ? issuer : x, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    add_ext_txt(x, issuer ? issuer : x, NID_subject_key_identifier, "hash");
    if (san) add_ext_txt(x, issuer ? issuer : x, NID_subject_alt_name, san);
    if (aki) {
        AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
        X509_EXTENSION *ext;
        akid->keyid = ASN1_OCTET_STRING_new();
        ck_assert(ASN1_OCTET_STRING_set(akid->keyid, aki, (int)akilen));
        ext = X509V3_EXT_i2d(NID_authority_key_identifier, 0, akid);
        ck_assert(X509_add_ext(x, ext, -1));
        X509_EXTENSION_free(ext);
        AUTHORITY_KEYID_free(akid);
    }
    else if (issuer) {
        add_ext_txt(x, issuer, NID_authority_key_identifier, "keyid:always");
    }
    ck_assert(X509_sign(x, acme_key_evp(issuer_key ? issuer_key : key), EVP_sha256()) > 0);
    return acme_cert_wrap(pool, x);
}

static const char *pem_of(const acme_cert_t *c)
{
    char *pem;

    ck_assert_int_eq(acme_cert_to_pem(pool, c, &pem, NULL), APR_SUCCESS);
    return pem;
}

static acme_cert_t *cert_from_pem(const char *pem)
{
    apr_array_header_t *certs;

    ck_assert_int_eq(acme_certs_from_pem(pool, pem, strlen(pem), &certs), APR_SUCCESS);
    ck_assert_int_eq(certs->nelts, 1);
    return APR_ARRAY_IDX(certs, 0, acme_cert_t *);
}

static int str_in(const apr_array_header_t *a, int i, const char *s)
{
    return i < a->nelts && !strcmp(APR_ARRAY_IDX(a, i, const char *), s);
}

START_TEST(is_ip)
{
    ck_assert(acme_is_ip("192.0.2.1"));
    ck_assert(acme_is_ip("2001:db8::1"));
    ck_assert(acme_is_ip("::1"));
    ck_assert(!acme_is_ip("example.org"));
    ck_assert(!acme_is_ip("*.example.org"));
    ck_assert(!acme_is_ip("192.0.2"));
    ck_assert(!acme_is_ip("192.0.2.256"));
    ck_assert(!acme_is_ip("[2001:db8::1]"));
    ck_assert(!acme_is_ip(""));
    ck_assert(!acme_is_ip(NULL));
}
END_TEST

/* Parse the CSR back and check subject, key, signature and every SAN. */
START_TEST(csr_fields)
{
    acme_key_t *key = new_key(ACME_KEY_EC384);
    apr_array_header_t *names = names_of("example.org", "*.example.org", "192.0.2.1", "2001:db8::1", NULL);
    unsigned char *der;
    const unsigned char *q;
    apr_size_t len;
    X509_REQ *req;
    STACK_OF(X509_EXTENSION) *exts;
    GENERAL_NAMES *gens = NULL;
    const GENERAL_NAME *g;
    int i, cn_idx;
    unsigned char ip4[4] = { 192, 0, 2, 1 };
    unsigned char ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };

    ck_assert_int_eq(acme_csr_create(pool, key, names, &der, &len), APR_SUCCESS);
    q = der;
    req = d2i_X509_REQ(NULL, &q, (long)len);
    ck_assert(req != NULL);
    ck_assert(q == der + len);
    ck_assert_int_eq(X509_REQ_verify(req, acme_key_evp(key)), 1);
    ck_assert_int_eq(EVP_PKEY_eq(X509_REQ_get0_pubkey(req), acme_key_evp(key)), 1);
    ck_assert_int_eq(X509_REQ_get_signature_nid(req), NID_ecdsa_with_SHA384);
    cn_idx = X509_NAME_get_index_by_NID(X509_REQ_get_subject_name(req), NID_commonName, -1);
    ck_assert_int_ge(cn_idx, 0);
    ck_assert_str_eq((const char *)ASN1_STRING_get0_data(X509_NAME_ENTRY_get_data(
        X509_NAME_get_entry(X509_REQ_get_subject_name(req), cn_idx))), "example.org");

    exts = X509_REQ_get_extensions(req);
    ck_assert_int_eq(sk_X509_EXTENSION_num(exts), 1);
    ck_assert_int_eq(OBJ_obj2nid(X509_EXTENSION_get_object(sk_X509_EXTENSION_value(exts, 0))),
                     NID_subject_alt_name);
    gens = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
    ck_assert_int_eq(sk_GENERAL_NAME_num(gens), 4);
    for (i = 0; i < 2; i++) {
        g = sk_GENERAL_NAME_value(gens, i);
        ck_assert_int_eq(g->type, GEN_DNS);
        ck_assert_str_eq((const char *)ASN1_STRING_get0_data(g->d.dNSName),
                         APR_ARRAY_IDX(names, i, const char *));
    }
    g = sk_GENERAL_NAME_value(gens, 2);
    ck_assert_int_eq(g->type, GEN_IPADD);
    ck_assert_int_eq(ASN1_STRING_length(g->d.iPAddress), 4);
    ck_assert_mem_eq(ASN1_STRING_get0_data(g->d.iPAddress), ip4, 4);
    g = sk_GENERAL_NAME_value(gens, 3);
    ck_assert_int_eq(g->type, GEN_IPADD);
    ck_assert_int_eq(ASN1_STRING_length(g->d.iPAddress), 16);
    ck_assert_mem_eq(ASN1_STRING_get0_data(g->d.iPAddress), ip6, 16);
    GENERAL_NAMES_free(gens);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_REQ_free(req);
}
END_TEST

START_TEST(csr_ip_only_and_rsa)
{
    acme_key_t *key = new_key(ACME_KEY_RSA2048);
    unsigned char *der;
    const unsigned char *q;
    apr_size_t len;
    X509_REQ *req;

    ck_assert_int_eq(acme_csr_create(pool, key, names_of("198.51.100.7", NULL), &der, &len), APR_SUCCESS);
    q = der;
    req = d2i_X509_REQ(NULL, &q, (long)len);
    ck_assert(req != NULL);
    ck_assert_int_eq(X509_REQ_verify(req, acme_key_evp(key)), 1);
    ck_assert_int_eq(X509_REQ_get_signature_nid(req), NID_sha256WithRSAEncryption);
    /* No DNS name: empty subject. */
    ck_assert_int_eq(X509_NAME_entry_count(X509_REQ_get_subject_name(req)), 0);
    X509_REQ_free(req);
    /* First DNS name longer than a CN may be: no CN, not another name's. */
    ck_assert_int_eq(acme_csr_create(pool, key, names_of(
        "a-very-long-label-that-goes-on-and-on.and-on-and-on-and-on-and-on.example.org",
        "short.example.org", NULL), &der, &len), APR_SUCCESS);
    q = der;
    req = d2i_X509_REQ(NULL, &q, (long)len);
    ck_assert(req != NULL);
    ck_assert_int_eq(X509_NAME_entry_count(X509_REQ_get_subject_name(req)), 0);
    X509_REQ_free(req);
}
END_TEST

START_TEST(csr_rejects)
{
    acme_key_t *key = new_key(ACME_KEY_EC256);
    unsigned char *der;
    apr_size_t len;

    ck_assert_int_eq(acme_csr_create(pool, key, names_of(NULL), &der, &len), APR_EINVAL);
    ck_assert_int_eq(acme_csr_create(pool, key, NULL, &der, &len), APR_EINVAL);
    ck_assert_int_eq(acme_csr_create(pool, key, names_of("a b.example", NULL), &der, &len), APR_EINVAL);
    ck_assert_int_eq(acme_csr_create(pool, key, names_of("", NULL), &der, &len), APR_EINVAL);
    ck_assert_int_eq(acme_csr_create(pool, NULL, names_of("example.org", NULL), &der, &len), APR_EINVAL);
}
END_TEST

/* RFC 9773 §4.1 example: AKI keyIdentifier 69:88:5B:... and serial 00:87:65:43:21. */
START_TEST(ari_id_rfc9773_example)
{
    static const unsigned char aki[] = {
        0x69, 0x88, 0x5B, 0x6B, 0x87, 0x46, 0x40, 0x41, 0xE1, 0xB3,
        0x7B, 0x84, 0x7B, 0xA0, 0xAE, 0x2C, 0xDE, 0x01, 0xC8, 0xD4 };
    acme_key_t *ca = new_key(ACME_KEY_EC256), *leaf = new_key(ACME_KEY_EC256);
    acme_cert_t *c = make_cert("leaf", NULL, ca, leaf, 0x87654321UL, 1700000000L, 1800000000L,
                               "DNS:example.org", 0, aki, sizeof(aki));
    const char *id;

    ck_assert_int_eq(acme_cert_ari_id(pool, c, &id), APR_SUCCESS);
    ck_assert_str_eq(id, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
    /* Without AKI there is no id. */
    c = make_cert("self", NULL, NULL, leaf, 5, 1700000000L, 1800000000L, NULL, 1, NULL, 0);
    ck_assert_int_eq(acme_cert_ari_id(pool, c, &id), APR_EINVAL);
}
END_TEST

START_TEST(info_fields)
{
    acme_key_t *cak = new_key(ACME_KEY_EC256), *lk = new_key(ACME_KEY_EC256);
    acme_cert_t *ca = make_cert("Test Root CA", NULL, NULL, cak, 1, 1600000000L, 2000000000L, NULL, 1, NULL, 0);
    acme_cert_t *leaf = make_cert("example.org", acme_cert_x509(ca), cak, lk, 0xABCDEF0123UL,
                                  1700000000L, 1707776000L,
                                  "DNS:example.org,DNS:*.Example.org,IP:192.0.2.1,IP:2001:db8:0:0::1", 0, NULL, 0);
    acme_cert_info_t *info;
    unsigned char *der = NULL, md[32];
    unsigned int mdlen;
    int n;
    char hex[65];

    ck_assert_int_eq(acme_cert_info(pool, leaf, &info), APR_SUCCESS);
    ck_assert_int_eq(info->dns_names->nelts, 2);
    ck_assert(str_in(info->dns_names, 0, "example.org"));
    ck_assert(str_in(info->dns_names, 1, "*.Example.org"));
    ck_assert_int_eq(info->ip_addrs->nelts, 2);
    ck_assert(str_in(info->ip_addrs, 0, "192.0.2.1"));
    ck_assert(str_in(info->ip_addrs, 1, "2001:db8::1"));
    ck_assert(info->not_before == apr_time_from_sec(1700000000));
    ck_assert(info->not_after == apr_time_from_sec(1707776000));
    ck_assert_str_eq(info->serial, "abcdef0123");
    ck_assert_str_eq(info->issuer, "CN=Test Root CA,O=Example");
    ck_assert_str_eq(info->issuer_cn, "Test Root CA");
    ck_assert_str_eq(info->subject, "CN=example.org,O=Example");
    /* Fingerprint: SHA-256 over the DER, computed independently. */
    n = i2d_X509(acme_cert_x509(leaf), &der);
    ck_assert(EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL));
    OPENSSL_free(der);
    for (n = 0; n < 32; n++) sprintf(hex + 2 * n, "%02x", md[n]);
    ck_assert_str_eq(info->sha256_fingerprint, hex);
    /* Serial 0x0F -> "f": no leading zeros. */
    leaf = make_cert("x", NULL, NULL, lk, 0x0F, 1700000000L, 1707776000L, NULL, 0, NULL, 0);
    ck_assert_int_eq(acme_cert_info(pool, leaf, &info), APR_SUCCESS);
    ck_assert_str_eq(info->serial, "f");
    ck_assert_int_eq(info->dns_names->nelts, 0);
    ck_assert(info->issuer_cn != NULL);
}
END_TEST

START_TEST(chain_split_and_checks)
{
    acme_key_t *rootk = new_key(ACME_KEY_EC384), *intk = new_key(ACME_KEY_RSA2048), *lk = new_key(ACME_KEY_EC256);
    acme_key_t *otherk = new_key(ACME_KEY_EC256);
    acme_cert_t *root = make_cert("Root", NULL, NULL, rootk, 1, 1600000000L, 2000000000L, NULL, 1, NULL, 0);
    acme_cert_t *inter = make_cert("Intermediate", acme_cert_x509(root), rootk, intk, 2,
                                   1600000000L, 2000000000L, NULL, 1, NULL, 0);
    acme_cert_t *leaf = make_cert("example.org", acme_cert_x509(inter), intk, lk, 3,
                                  1700000000L, 1800000000L, "DNS:example.org,DNS:www.example.org", 0, NULL, 0);
    /* Same name as the intermediate, different key. */
    acme_cert_t *fake = make_cert("Intermediate", acme_cert_x509(root), rootk, otherk, 4,
                                  1600000000L, 2000000000L, NULL, 1, NULL, 0);
    char *keypem;
    const char *bundle;
    apr_array_header_t *certs;
    acme_cert_info_t *info;
    const char *path;
    const char *tmp = getenv("TMPDIR");

    ck_assert_int_eq(acme_key_to_pem(pool, lk, &keypem, NULL), APR_SUCCESS);
    bundle = apr_pstrcat(pool, "\r\n", pem_of(leaf), "\n", keypem, pem_of(inter), "  \n",
                         pem_of(root), NULL);
    ck_assert_int_eq(acme_certs_from_pem(pool, bundle, strlen(bundle), &certs), APR_SUCCESS);
    ck_assert_int_eq(certs->nelts, 3);
    ck_assert_int_eq(acme_cert_info(pool, APR_ARRAY_IDX(certs, 1, acme_cert_t *), &info), APR_SUCCESS);
    ck_assert_str_eq(info->subject, "CN=Intermediate,O=Example");
    ck_assert(acme_cert_issued_by(APR_ARRAY_IDX(certs, 0, acme_cert_t *), APR_ARRAY_IDX(certs, 1, acme_cert_t *)));
    ck_assert(acme_cert_issued_by(APR_ARRAY_IDX(certs, 1, acme_cert_t *), APR_ARRAY_IDX(certs, 2, acme_cert_t *)));
    ck_assert(acme_cert_issued_by(root, root));
    ck_assert(!acme_cert_issued_by(inter, leaf));
    ck_assert(!acme_cert_issued_by(leaf, root));
    ck_assert(!acme_cert_issued_by(leaf, fake));
    ck_assert(!acme_cert_issued_by(NULL, root));

    ck_assert(acme_cert_matches_key(APR_ARRAY_IDX(certs, 0, acme_cert_t *), lk));
    ck_assert(!acme_cert_matches_key(leaf, otherk));
    ck_assert(!acme_cert_matches_key(leaf, intk));

    ck_assert(acme_cert_covers(leaf, names_of("example.org", NULL)));
    ck_assert(acme_cert_covers(leaf, names_of("WWW.Example.ORG", "example.org", NULL)));
    ck_assert(!acme_cert_covers(leaf, names_of("example.org", "mail.example.org", NULL)));
    ck_assert(!acme_cert_covers(leaf, names_of("*.example.org", NULL)));

    /* The same bundle from a file. */
    path = apr_pstrcat(pool, tmp && *tmp ? tmp : "/tmp", "/test_x509_chain.pem", NULL);
    ck_assert_int_eq(acme_file_write_atomic(pool, path, bundle, strlen(bundle),
                                            APR_FPROT_UREAD | APR_FPROT_UWRITE), APR_SUCCESS);
    ck_assert_int_eq(acme_cert_load_chain(pool, path, &certs), APR_SUCCESS);
    ck_assert_int_eq(certs->nelts, 3);
    apr_file_remove(path, pool);
}
END_TEST

START_TEST(chain_rejects)
{
    acme_key_t *k = new_key(ACME_KEY_EC256);
    acme_cert_t *c = make_cert("c", NULL, NULL, k, 1, 1600000000L, 2000000000L, NULL, 0, NULL, 0);
    const char *pem = pem_of(c);
    char *keypem, *broken;
    apr_array_header_t *certs;
    const char *cases[7];
    size_t i;

    ck_assert_int_eq(acme_key_to_pem(pool, k, &keypem, NULL), APR_SUCCESS);
    broken = apr_pstrdup(pool, pem);
    broken[40] = broken[40] == 'A' ? 'B' : 'A';   /* corrupt the DER */
    cases[0] = apr_pstrcat(pool, pem, "trailing garbage\n", NULL);
    cases[1] = apr_pstrcat(pool, "leading garbage\n", pem, NULL);
    cases[2] = keypem;                                        /* no certificate */
    cases[3] = apr_pstrndup(pool, pem, strlen(pem) - 10);     /* truncated */
    cases[4] = broken;
    cases[5] = "   \n";
    cases[6] = "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n";
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_msg(acme_certs_from_pem(pool, cases[i], strlen(cases[i]), &certs) == APR_EINVAL,
                      "case %d accepted", (int)i);
    }
    ck_assert_int_eq(acme_certs_from_pem(pool, pem, 0, &certs), APR_EINVAL);
    ck_assert(APR_STATUS_IS_ENOENT(acme_cert_load_chain(pool, "/nonexistent.pem", &certs)));
}
END_TEST

/* Find the id-pe-acmeIdentifier extension and check it is critical and holds SHA-256(keyauth). */
static void check_acme_identifier(X509 *x, const char *keyauth)
{
    ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
    int idx = X509_get_ext_by_OBJ(x, oid, -1);
    X509_EXTENSION *ext;
    const ASN1_OCTET_STRING *val;
    unsigned char expect[34];
    unsigned int mdlen;

    ASN1_OBJECT_free(oid);
    ck_assert_int_ge(idx, 0);
    ext = X509_get_ext(x, idx);
    ck_assert_int_eq(X509_EXTENSION_get_critical(ext), 1);
    val = X509_EXTENSION_get_data(ext);
    expect[0] = 0x04;
    expect[1] = 0x20;
    ck_assert(EVP_Digest(keyauth, strlen(keyauth), expect + 2, &mdlen, EVP_sha256(), NULL));
    ck_assert_int_eq(ASN1_STRING_length(val), 34);
    ck_assert_mem_eq(ASN1_STRING_get0_data(val), expect, 34);
}

START_TEST(tls_alpn01_certificate)
{
    acme_key_t *key = new_key(_i == 0 ? ACME_KEY_EC256 : ACME_KEY_RSA2048);
    const char *keyauth = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
    char *pem;
    acme_cert_t *c;
    acme_cert_info_t *info;
    apr_time_t now = apr_time_now();

    ck_assert_int_eq(acme_tls_alpn01_cert(pool, "example.org", keyauth, key, &pem), APR_SUCCESS);
    c = cert_from_pem(pem);
    ck_assert_int_eq(acme_cert_info(pool, c, &info), APR_SUCCESS);
    ck_assert_int_eq(info->dns_names->nelts, 1);
    ck_assert(str_in(info->dns_names, 0, "example.org"));
    ck_assert_int_eq(info->ip_addrs->nelts, 0);
    ck_assert(info->not_before <= now && info->not_after > now);
    ck_assert_int_eq(X509_get_version(acme_cert_x509(c)), 2);
    ck_assert(acme_cert_matches_key(c, key));
    ck_assert(acme_cert_issued_by(c, c));
    check_acme_identifier(acme_cert_x509(c), keyauth);

    ck_assert_int_eq(acme_tls_alpn01_cert(pool, "2001:db8::1", keyauth, key, &pem), APR_SUCCESS);
    c = cert_from_pem(pem);
    ck_assert_int_eq(acme_cert_info(pool, c, &info), APR_SUCCESS);
    ck_assert_int_eq(info->dns_names->nelts, 0);
    ck_assert_int_eq(info->ip_addrs->nelts, 1);
    ck_assert(str_in(info->ip_addrs, 0, "2001:db8::1"));
    check_acme_identifier(acme_cert_x509(c), keyauth);

    ck_assert_int_eq(acme_tls_alpn01_cert(pool, "bad name", keyauth, key, &pem), APR_EINVAL);
    ck_assert_int_eq(acme_tls_alpn01_cert(pool, "example.org", "", key, &pem), APR_EINVAL);
}
END_TEST

START_TEST(selfsigned_certificate)
{
    acme_key_t *key = new_key(ACME_KEY_EC384);
    apr_array_header_t *names = names_of("example.org", "www.example.org", "192.0.2.9", NULL);
    char *pem;
    acme_cert_t *c;
    acme_cert_info_t *info;
    apr_interval_time_t valid = apr_time_from_sec(86400);

    ck_assert_int_eq(acme_selfsigned_cert(pool, names, key, valid, &pem), APR_SUCCESS);
    c = cert_from_pem(pem);
    ck_assert_int_eq(acme_cert_info(pool, c, &info), APR_SUCCESS);
    ck_assert(acme_cert_covers(c, names));
    ck_assert(acme_cert_matches_key(c, key));
    ck_assert(acme_cert_issued_by(c, c));
    ck_assert_str_eq(info->subject, "CN=example.org");
    ck_assert_str_eq(info->issuer, info->subject);
    ck_assert(info->not_after - info->not_before >= valid);
    ck_assert(info->not_after - info->not_before <= valid + apr_time_from_sec(120));
    ck_assert(info->not_after > apr_time_now() + valid - apr_time_from_sec(60));
    ck_assert_int_eq(X509_get_signature_nid(acme_cert_x509(c)), NID_ecdsa_with_SHA384);
    ck_assert_int_eq(acme_selfsigned_cert(pool, names_of(NULL), key, valid, &pem), APR_EINVAL);
    ck_assert_int_eq(acme_selfsigned_cert(pool, names, key, 0, &pem), APR_EINVAL);
}
END_TEST

/* Many certificates from one prepared key: each carries exactly the key's
 * SubjectPublicKeyInfo (EC with curve parameters, RSA with NULL ones). */
START_TEST(selfsigner_many_certificates)
{
    acme_key_t *key = new_key(_i == 0 ? ACME_KEY_EC256 : ACME_KEY_RSA2048);
    acme_selfsigner_t *ss;
    unsigned char *want = NULL, *got = NULL;
    int wlen = i2d_PUBKEY(acme_key_evp(key), &want), i;
    const char *serial = NULL;
    char *pem;

    ck_assert_int_gt(wlen, 0);
    ck_assert_int_eq(acme_selfsigner_create(pool, key, &ss), APR_SUCCESS);
    for (i = 0; i < 2; i++) {
        apr_array_header_t *names = names_of(i ? "b.example.org" : "a.example.org", NULL);
        acme_cert_info_t *info;
        acme_cert_t *c;

        ck_assert_int_eq(acme_selfsigner_cert(pool, ss, names, apr_time_from_sec(3600), &pem),
                         APR_SUCCESS);
        c = cert_from_pem(pem);
        ck_assert(acme_cert_covers(c, names));
        ck_assert(acme_cert_matches_key(c, key));
        ck_assert(acme_cert_issued_by(c, c));
        ck_assert_int_eq(i2d_X509_PUBKEY(X509_get_X509_PUBKEY(acme_cert_x509(c)), &got), wlen);
        ck_assert_int_eq(memcmp(got, want, (size_t)wlen), 0);
        OPENSSL_free(got);
        got = NULL;
        ck_assert_ptr_nonnull(X509_get0_subject_key_id(acme_cert_x509(c)));
        ck_assert_int_eq(acme_cert_info(pool, c, &info), APR_SUCCESS);
        ck_assert(!serial || strcmp(serial, info->serial));
        serial = info->serial;
    }
    OPENSSL_free(want);
    ck_assert_int_eq(acme_selfsigner_cert(pool, ss, names_of(NULL), apr_time_from_sec(60), &pem),
                     APR_EINVAL);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("x509");
    TCase *tc = tu_tcase(s, "core", 60, tu_setup, tu_teardown);

    tcase_add_test(tc, is_ip);
    tcase_add_test(tc, csr_fields);
    tcase_add_test(tc, csr_ip_only_and_rsa);
    tcase_add_test(tc, csr_rejects);
    tcase_add_test(tc, ari_id_rfc9773_example);
    tcase_add_test(tc, info_fields);
    tcase_add_test(tc, chain_split_and_checks);
    tcase_add_test(tc, chain_rejects);
    tcase_add_loop_test(tc, tls_alpn01_certificate, 0, 2);
    tcase_add_test(tc, selfsigned_certificate);
    tcase_add_loop_test(tc, selfsigner_many_certificates, 0, 2);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
