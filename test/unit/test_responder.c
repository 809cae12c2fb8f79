/* test_responder.c: unit tests of the challenge responders (acme_responder.c) as mod_acme's hooks find their answers: the store's http-01 and tls-alpn-01 items (RFC 8737 certificate, fresh key, mode), the identifier's entry coming and going, and which responder answers what. */
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <apr_strings.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>
#include "acme_jws.h"
#include "acme_responder.h"
#include "acme_store.h"
#include "acme_x509.h"
#include "testutil.h"

#define KEYAUTH "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

static acme_store_t *store;
static const char *store_dir;

static void setup(void)
{
    tu_setup();
    tu_scratch_create("test_responder");
    store_dir = apr_pstrcat(pool, tmpdir, "/store", NULL);
    ck_assert_int_eq(acme_store_file_open(pool, store_dir, 0, &store), APR_SUCCESS);
}

static void teardown(void)
{
    tu_scratch_remove();
    tu_teardown();
}

/* challenges/<entry>/<item> as README "Store layout and ownership" has it. */
static const char *challenge_path(const char *entry, const char *item)
{
    return apr_pstrcat(pool, store_dir, "/challenges/", entry, item ? "/" : "", item, NULL);
}

static int exists(const char *path)
{
    struct stat sb;

    return stat(path, &sb) == 0;
}

/* The tls-alpn-01 item: the certificate, then its own key. */
typedef struct { acme_cert_t *cert; acme_key_t *key; } alpn_pair_t;

static alpn_pair_t read_alpn(const char *entry)
{
    alpn_pair_t pair = { NULL, NULL };
    apr_array_header_t *certs = NULL;
    char *pem = NULL;
    const char *kpem;
    apr_size_t len = 0;

    ck_assert_int_eq(store->load(store, pool, ACME_SG_CHALLENGES, entry, ACME_TLSALPN01_ITEM,
                                 &pem, &len), APR_SUCCESS);
    ck_assert_int_eq(acme_certs_from_pem(pool, pem, len, &certs), APR_SUCCESS);
    ck_assert_int_eq(certs->nelts, 1);
    pair.cert = APR_ARRAY_IDX(certs, 0, acme_cert_t *);
    ck_assert_ptr_nonnull(kpem = strstr(pem, "-----BEGIN PRIVATE KEY-----"));
    ck_assert_int_eq(acme_key_from_pem(pool, kpem, strlen(kpem), &pair.key), APR_SUCCESS);
    return pair;
}

/* RFC 8737 §3: critical id-pe-acmeIdentifier, an OCTET STRING of SHA-256(keyauth). */
static void check_acme_identifier(X509 *x, const char *keyauth)
{
    ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
    int at = X509_get_ext_by_OBJ(x, oid, -1);
    X509_EXTENSION *ext;
    const unsigned char *der;
    unsigned char want[32];
    unsigned int n = 0;

    ASN1_OBJECT_free(oid);
    ck_assert_int_ge(at, 0);
    ext = X509_get_ext(x, at);
    ck_assert_int_eq(X509_EXTENSION_get_critical(ext), 1);
    der = ASN1_STRING_get0_data(X509_EXTENSION_get_data(ext));
    ck_assert_int_eq(ASN1_STRING_length(X509_EXTENSION_get_data(ext)), 34);
    ck_assert_int_eq(der[0], 0x04);             /* OCTET STRING */
    ck_assert_int_eq(der[1], 32);
    ck_assert(EVP_Digest(keyauth, strlen(keyauth), want, &n, EVP_sha256(), NULL));
    ck_assert_mem_eq(der + 2, want, 32);
}

/* What mod_acme's ALPN hook serves: the certificate for the name, with a fresh
 * key per answer, private (0600). */
START_TEST(tls_alpn01_answer)
{
    acme_responder_t *r = acme_responder_store(pool, store, NULL);
    acme_cert_info_t *info = NULL;
    alpn_pair_t first, second;
    struct stat sb;

    ck_assert_int_eq(r->setup(r, pool, "tls-alpn-01", "WWW.Example.org", "tok", KEYAUTH),
                     APR_SUCCESS);
    first = read_alpn("www.example.org");
    ck_assert(acme_cert_matches_key(first.cert, first.key));
    ck_assert_int_eq(acme_cert_info(pool, first.cert, &info), APR_SUCCESS);
    ck_assert_int_eq(info->dns_names->nelts, 1);
    /* DNS names compare without case (the entry is lower-cased, the SAN as given) */
    ck_assert_int_eq(strcasecmp(APR_ARRAY_IDX(info->dns_names, 0, const char *),
                                "www.example.org"), 0);
    check_acme_identifier(acme_cert_x509(first.cert), KEYAUTH);
    ck_assert_int_eq(stat(challenge_path("www.example.org", ACME_TLSALPN01_ITEM), &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0600);

    /* the next answer for the name replaces it, with a key of its own */
    ck_assert_int_eq(r->setup(r, pool, "tls-alpn-01", "www.example.org", "tok2", "other.ka"),
                     APR_SUCCESS);
    second = read_alpn("www.example.org");
    ck_assert_int_eq(EVP_PKEY_eq(acme_key_evp(first.key), acme_key_evp(second.key)), 0);
    check_acme_identifier(acme_cert_x509(second.cert), "other.ka");

    /* RFC 8738: an IP identifier gets an iPAddress name */
    ck_assert_int_eq(r->setup(r, pool, "tls-alpn-01", "192.0.2.7", "tok", KEYAUTH), APR_SUCCESS);
    ck_assert_int_eq(acme_cert_info(pool, read_alpn("192.0.2.7").cert, &info), APR_SUCCESS);
    ck_assert_int_eq(info->dns_names->nelts, 0);
    ck_assert_str_eq(APR_ARRAY_IDX(info->ip_addrs, 0, const char *), "192.0.2.7");
}
END_TEST

/* challenges/<identifier>/ exists while it holds an answer, and goes with the last one. */
START_TEST(entry_follows_its_answers)
{
    acme_responder_t *r = acme_responder_store(pool, store, NULL);
    const char *a = acme_responder_http01_item(pool, "tokA");

    ck_assert_str_eq(a, "http-01.tokA");
    ck_assert_int_eq(r->setup(r, pool, "http-01", "example.org", "tokA", "tokA.tp"), APR_SUCCESS);
    ck_assert_int_eq(r->setup(r, pool, "http-01", "example.org", "tokB", "tokB.tp"), APR_SUCCESS);
    ck_assert_int_eq(r->setup(r, pool, "tls-alpn-01", "example.org", "tokC", "tokC.tp"),
                     APR_SUCCESS);
    ck_assert(exists(challenge_path("example.org", a)));
    ck_assert_int_eq(r->teardown(r, pool, "http-01", "example.org", "tokA", NULL), APR_SUCCESS);
    ck_assert(!exists(challenge_path("example.org", a)));
    ck_assert(exists(challenge_path("example.org", "http-01.tokB")));
    ck_assert_int_eq(r->teardown(r, pool, "tls-alpn-01", "example.org", "tokC", NULL),
                     APR_SUCCESS);
    ck_assert(exists(challenge_path("example.org", NULL)));
    ck_assert_int_eq(r->teardown(r, pool, "http-01", "example.org", "tokB", NULL), APR_SUCCESS);
    ck_assert(!exists(challenge_path("example.org", NULL)));
    /* the store does not answer dns-01 */
    ck_assert_int_eq(r->setup(r, pool, "dns-01", "example.org", "tok", "x"), APR_ENOTIMPL);
    ck_assert_int_eq(r->teardown(r, pool, "dns-01", "example.org", "tok", "x"), APR_ENOTIMPL);
    ck_assert(!exists(challenge_path("example.org", NULL)));
}
END_TEST

/* Which responder answers which challenge for which identifier. */
START_TEST(who_answers_what)
{
    acme_responder_t *st = acme_responder_store(pool, store, NULL);
    acme_responder_t *web = acme_responder_webroot(pool, tmpdir, NULL);
    acme_responder_t *dns = acme_responder_dnscmd(pool, "/bin/true", 0, NULL, NULL);
    acme_responder_t *none[2] = { NULL, NULL }, *chain;

    ck_assert(!st->can(st, "tls-alpn-01", "*.example.org"));
    ck_assert(web->can(web, "http-01", "192.0.2.7"));
    ck_assert(!web->can(web, "tls-alpn-01", "example.org"));
    ck_assert(!web->can(web, "http-01", "*.example.org"));
    ck_assert(dns->can(dns, "dns-01", "*.example.org"));
    ck_assert(!dns->can(dns, "dns-01", "192.0.2.7"));       /* RFC 8738: no dns-01 for IPs */
    ck_assert(!dns->can(dns, "dns-01", "2001:db8::1"));
    ck_assert(!dns->can(dns, "http-01", "example.org"));
    chain = acme_responder_chain(pool, none, 2);
    ck_assert(!chain->can(chain, "http-01", "example.org"));
    ck_assert_int_ne(chain->setup(chain, pool, "http-01", "example.org", "tok", "tok.x"),
                     APR_SUCCESS);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("responder");
    TCase *tc = tu_tcase(s, "responder", 0, setup, teardown);

    tcase_add_test(tc, tls_alpn01_answer);
    tcase_add_test(tc, entry_follows_its_answers);
    tcase_add_test(tc, who_answers_what);
    return tu_run(s);
}
