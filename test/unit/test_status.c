/* test_status.c: unit tests for the status JSON (README "Status JSON") built from crafted file stores. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_strings.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "acme_json.h"
#include "acme_mark.h"
#include "acme_status.h"
#include "acme_time.h"
#include "acme_version.h"
#include "testutil.h"

static acme_store_t *st;

static void setup(void)
{
    tu_setup();
    tu_scratch_create("acme-test-status");
    ck_assert_int_eq(acme_store_file_open(pool, tmpdir, 0, &st), APR_SUCCESS);
}

static void teardown(void)
{
    tu_scratch_remove();
    tu_teardown();
}

typedef struct {
    char *pem;
    char fp[65];
} test_cert_t;

/* A self-signed certificate issued by "CN=Test CA" valid [now+nb, now+na] seconds. */
static test_cert_t make_cert(const char *name, long nb, long na, int rsa, long serial)
{
    EVP_PKEY *key = rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_NAME *subj = X509_NAME_new(), *iss = X509_NAME_new();
    BIO *b = BIO_new(BIO_s_mem());
    unsigned char md[32];
    unsigned int mdlen = 0;
    test_cert_t tc;
    char *data;
    long len;

    ck_assert(key && x && subj && iss && b);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_ASC, (const unsigned char *)name, -1, -1, 0);
    X509_NAME_add_entry_by_txt(iss, "CN", MBSTRING_ASC, (const unsigned char *)"Test CA", -1, -1, 0);
    X509_set_subject_name(x, subj);
    X509_set_issuer_name(x, iss);
    X509_gmtime_adj(X509_getm_notBefore(x), nb);
    X509_gmtime_adj(X509_getm_notAfter(x), na);
    X509_set_pubkey(x, key);
    ck_assert_int_gt(X509_sign(x, key, EVP_sha256()), 0);
    PEM_write_bio_X509(b, x);
    PEM_write_bio_X509(b, x);           /* a two-element "chain" */
    len = BIO_get_mem_data(b, &data);
    tc.pem = apr_pstrmemdup(pool, data, (apr_size_t)len);
    X509_digest(x, EVP_sha256(), md, &mdlen);
    for (unsigned int i = 0; i < mdlen; i++) {
        snprintf(tc.fp + 2 * i, 3, "%02x", md[i]);
    }
    BIO_free(b);
    X509_NAME_free(subj);
    X509_NAME_free(iss);
    X509_free(x);
    EVP_PKEY_free(key);
    return tc;
}

static void put(acme_store_group_e g, const char *entry, const char *item, const char *data)
{
    ck_assert_int_eq(st->save(st, pool, g, entry, item, data, strlen(data), 0, NULL), APR_SUCCESS);
}

static void put_state(const char *entry, const char *json)
{
    put(ACME_SG_STATE, entry, "status.json", json);
}

static const char *sget(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static json_t *status_of(const char *id, const acme_domain_t *d)
{
    json_t *j;

    ck_assert_int_eq(acme_status_domain(pool, st, id, d, &j), APR_SUCCESS);
    ck_assert_ptr_nonnull(j);
    /* every member of README "Status JSON" is always present */
    ck_assert(json_is_string(json_object_get(j, "name")));
    ck_assert(json_is_array(json_object_get(j, "names")));
    ck_assert(json_is_string(json_object_get(j, "state")));
    ck_assert_ptr_nonnull(json_object_get(j, "ca"));
    ck_assert(json_is_array(json_object_get(j, "certificates")));
    ck_assert_ptr_nonnull(json_object_get(j, "renewal"));
    ck_assert(json_is_boolean(json_object_get(j, "staged")));
    ck_assert_ptr_nonnull(json_object_get(j, "last_error"));
    ck_assert_ptr_nonnull(json_object_get(j, "next_attempt"));
    return j;
}

START_TEST(pending_from_config)
{
    acme_domain_t *d = acme_domain_create(pool, "Example.org");
    json_t *j;

    APR_ARRAY_PUSH(d->names, const char *) = "www.example.org";
    APR_ARRAY_IDX(d->ca_urls, 0, const char *) = "https://ca.test/dir";
    j = status_of(d->id, d);
    ck_assert_str_eq(sget(j, "name"), "example.org");
    ck_assert_int_eq(json_array_size(json_object_get(j, "names")), 2);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(j, "names"), 1)),
                     "www.example.org");
    ck_assert_str_eq(sget(j, "state"), "pending");
    ck_assert_str_eq(sget(j, "ca"), "https://ca.test/dir");
    ck_assert_int_eq(json_array_size(json_object_get(j, "certificates")), 0);
    ck_assert(json_is_false(json_object_get(j, "staged")));
    ck_assert(json_is_null(json_object_get(j, "last_error")));
    ck_assert(json_is_null(json_object_get(j, "renewal")));
}
END_TEST

START_TEST(error_without_cert)
{
    json_t *j, *e;

    put_state("example.org", "{\"names\":[\"example.org\",\"a.example.org\"],"
              "\"ca\":\"https://ca.test/dir\",\"ca_index\":0,\"config_hash\":\"x\","
              "\"state\":\"error\",\"failures\":3,\"last_error\":{\"type\":"
              "\"urn:ietf:params:acme:error:rateLimited\",\"detail\":\"slow down\","
              "\"at\":\"2026-11-26T05:00:00Z\"},\"next_attempt\":\"2026-11-26T06:00:00Z\"}");
    j = status_of("example.org", NULL);
    ck_assert_str_eq(sget(j, "state"), "error");
    ck_assert_str_eq(sget(j, "name"), "example.org");
    ck_assert_int_eq(json_array_size(json_object_get(j, "names")), 2);
    ck_assert_str_eq(sget(j, "ca"), "https://ca.test/dir");
    e = json_object_get(j, "last_error");
    ck_assert_str_eq(sget(e, "type"), "urn:ietf:params:acme:error:rateLimited");
    ck_assert_str_eq(sget(e, "detail"), "slow down");
    ck_assert_str_eq(sget(e, "at"), "2026-11-26T05:00:00Z");
    ck_assert_str_eq(sget(j, "next_attempt"), "2026-11-26T06:00:00Z");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "failures")), 3);
    /* internal fields are not exposed */
    ck_assert_ptr_null(json_object_get(j, "config_hash"));
    /* a pending drive without a certificate */
    put_state("example.org", "{\"names\":[\"example.org\"],\"state\":\"pending\"}");
    ck_assert_str_eq(sget(status_of("example.org", NULL), "state"), "pending");
}
END_TEST

START_TEST(valid_cert)
{
    test_cert_t c = make_cert("example.org", -3600, 30 * 86400, 0, 0x1234abcdL);
    json_t *j, *cert;
    apr_time_t t;

    put(ACME_SG_DOMAINS, "example.org", "fullchain.ec256.pem", c.pem);
    put(ACME_SG_DOMAINS, "example.org", "fullchain.pem", c.pem);
    put_state("example.org", "{\"names\":[\"example.org\"],\"ca\":\"https://ca.test/dir\","
              "\"state\":\"valid\",\"failures\":0,\"renewal\":{\"at\":\"2026-12-16T00:00:00Z\","
              "\"source\":\"window\"},\"last_success\":\"2026-11-26T05:00:00Z\"}");
    j = status_of("example.org", NULL);
    ck_assert_str_eq(sget(j, "state"), "valid");
    ck_assert_int_eq(json_array_size(json_object_get(j, "certificates")), 1);
    cert = json_array_get(json_object_get(j, "certificates"), 0);
    ck_assert_str_eq(sget(cert, "key_type"), "ec256");
    ck_assert_str_eq(sget(cert, "serial"), "1234abcd");
    ck_assert_str_eq(sget(cert, "issuer"), "CN=Test CA");
    ck_assert_str_eq(sget(cert, "sha256_fingerprint"), c.fp);
    ck_assert_int_eq(acme_time_parse_rfc3339(sget(cert, "not_after"), &t), APR_SUCCESS);
    ck_assert(t > apr_time_now() + apr_time_from_sec(29 * 86400));
    ck_assert_int_eq(acme_time_parse_rfc3339(sget(cert, "not_before"), &t), APR_SUCCESS);
    ck_assert(t < apr_time_now());
    ck_assert_str_eq(sget(json_object_get(j, "renewal"), "source"), "window");
    ck_assert_str_eq(sget(json_object_get(j, "renewal"), "at"), "2026-12-16T00:00:00Z");
    ck_assert_str_eq(sget(j, "last_success"), "2026-11-26T05:00:00Z");
    ck_assert(json_is_false(json_object_get(j, "staged")));

    /* a cert with no state yet (e.g. copied in by hand) is valid too */
    ck_assert_int_eq(st->remove(st, pool, ACME_SG_STATE, "example.org", NULL, NULL), APR_SUCCESS);
    j = status_of("example.org", NULL);
    ck_assert_str_eq(sget(j, "state"), "valid");
    ck_assert_str_eq(sget(j, "name"), "example.org");
}
END_TEST

/* acmectl's marks: renew shows at once as due (source manual); a revoked
 * certificate makes the state "revoked" while it is the active one; each mark
 * moves the watchdog's wake-up. */
START_TEST(marks_renew_and_revoked)
{
    test_cert_t c = make_cert("example.org", -3600, 30 * 86400, 0, 0x1234abcdL);
    test_cert_t next = make_cert("example.org", -60, 30 * 86400, 0, 0x5678L);
    apr_array_header_t *serials = apr_array_make(pool, 1, sizeof(const char *));
    apr_time_t now = apr_time_from_sec(apr_time_sec(apr_time_now())), wake0, wake1;
    json_t *j, *rec;

    put(ACME_SG_DOMAINS, "example.org", "fullchain.ec256.pem", c.pem);
    put_state("example.org", "{\"names\":[\"example.org\"],\"state\":\"valid\","
              "\"renewal\":{\"at\":\"2027-01-16T00:00:00Z\",\"source\":\"window\"}}");
    wake0 = acme_mark_last(st, pool);
    ck_assert_int_eq(acme_mark_renew(st, pool, "example.org", now), APR_SUCCESS);
    j = status_of("example.org", NULL);
    ck_assert_str_eq(sget(j, "state"), "valid");
    ck_assert_str_eq(sget(json_object_get(j, "renewal"), "source"), "manual");
    ck_assert_str_eq(sget(json_object_get(j, "renewal"), "at"), acme_time_rfc3339(pool, now));
    ck_assert_int_eq(acme_mark_renew_at(st, pool, "example.org"), now);
    wake1 = acme_mark_last(st, pool);
    ck_assert(wake1 != 0 && wake1 != wake0);

    /* revoked, no reissue: state revoked, the renew mark stays as it was */
    st->remove(st, pool, ACME_SG_STATE, "example.org", ACME_MARK_RENEW_ITEM, NULL);
    APR_ARRAY_PUSH(serials, const char *) = "1234abcd";
    apr_sleep(apr_time_from_msec(20));
    ck_assert_int_eq(acme_mark_revoked(st, pool, "example.org", serials, 4, now, 0), APR_SUCCESS);
    ck_assert(acme_mark_last(st, pool) != wake1);
    j = status_of("example.org", NULL);
    ck_assert_str_eq(sget(j, "state"), "revoked");
    ck_assert_str_eq(sget(json_object_get(j, "renewal"), "source"), "window");
    ck_assert_int_eq(acme_mark_renew_at(st, pool, "example.org"), 0);
    rec = acme_mark_revoked_get(st, pool, "example.org");
    ck_assert_int_eq(json_integer_value(json_object_get(rec, "reason")), 4);

    /* with reissue: revoked and due */
    ck_assert_int_eq(acme_mark_revoked(st, pool, "example.org", serials, -1, now, 1), APR_SUCCESS);
    j = status_of("example.org", NULL);
    ck_assert_str_eq(sget(j, "state"), "revoked");
    ck_assert_str_eq(sget(json_object_get(j, "renewal"), "source"), "manual");

    /* a new certificate is active: valid again, the record stays for the old one */
    put(ACME_SG_DOMAINS, "example.org", "fullchain.ec256.pem", next.pem);
    j = status_of("example.org", NULL);
    ck_assert_str_eq(sget(j, "state"), "valid");
}
END_TEST

START_TEST(renewing_and_expired)
{
    test_cert_t c = make_cert("example.org", -3600, 86400, 0, 7);
    test_cert_t old = make_cert("example.org", -90 * 86400, -60, 0, 8);

    put(ACME_SG_DOMAINS, "example.org", "fullchain.ec256.pem", c.pem);
    put_state("example.org", "{\"names\":[\"example.org\"],\"state\":\"renewing\"}");
    ck_assert_str_eq(sget(status_of("example.org", NULL), "state"), "renewing");
    put_state("example.org", "{\"names\":[\"example.org\"],\"state\":\"pending\"}");
    ck_assert_str_eq(sget(status_of("example.org", NULL), "state"), "renewing");
    /* a failed renewal with a good certificate still serving: renewing, error shown */
    put_state("example.org", "{\"names\":[\"example.org\"],\"state\":\"error\","
              "\"last_error\":{\"type\":\"urn:x\",\"detail\":\"d\",\"at\":\"2026-11-26T05:00:00Z\"}}");
    ck_assert_str_eq(sget(status_of("example.org", NULL), "state"), "renewing");
    ck_assert_str_eq(sget(json_object_get(status_of("example.org", NULL), "last_error"), "type"),
                     "urn:x");
    /* past not_after */
    put(ACME_SG_DOMAINS, "example.org", "fullchain.ec256.pem", old.pem);
    ck_assert_str_eq(sget(status_of("example.org", NULL), "state"), "expired");
    put_state("example.org", "{\"names\":[\"example.org\"],\"state\":\"valid\"}");
    ck_assert_str_eq(sget(status_of("example.org", NULL), "state"), "expired");
}
END_TEST

START_TEST(staged_and_dual)
{
    test_cert_t ec = make_cert("example.org", -60, 86400, 0, 1);
    test_cert_t rsa = make_cert("example.org", -60, 86400, 1, 2);
    acme_domain_t *d = acme_domain_create(pool, "example.org");
    json_t *j, *certs;

    put(ACME_SG_STAGING, "example.org", "fullchain.ec256.pem", ec.pem);
    j = status_of("example.org", NULL);
    ck_assert(json_is_true(json_object_get(j, "staged")));
    ck_assert_str_eq(sget(j, "state"), "pending");     /* issued, not active yet */

    put(ACME_SG_DOMAINS, "example.org", "fullchain.rsa2048.pem", rsa.pem);
    put(ACME_SG_DOMAINS, "example.org", "fullchain.ec256.pem", ec.pem);
    put(ACME_SG_DOMAINS, "example.org", "fullchain.pem", ec.pem);
    put(ACME_SG_DOMAINS, "example.org", "fullchain.bogus.pem", ec.pem);
    certs = json_object_get(status_of("example.org", NULL), "certificates");
    ck_assert_int_eq(json_array_size(certs), 2);
    ck_assert_str_eq(sget(json_array_get(certs, 0), "key_type"), "ec256");
    ck_assert_str_eq(sget(json_array_get(certs, 1), "key_type"), "rsa2048");
    ck_assert_str_eq(sget(json_array_get(certs, 1), "sha256_fingerprint"), rsa.fp);

    /* configured order wins; only configured types are shown */
    APR_ARRAY_IDX(d->key_types, 0, acme_key_type_e) = ACME_KEY_RSA2048;
    APR_ARRAY_PUSH(d->key_types, acme_key_type_e) = ACME_KEY_EC256;
    certs = json_object_get(status_of("example.org", d), "certificates");
    ck_assert_int_eq(json_array_size(certs), 2);
    ck_assert_str_eq(sget(json_array_get(certs, 0), "key_type"), "rsa2048");
    ck_assert_str_eq(sget(json_array_get(certs, 1), "key_type"), "ec256");
    apr_array_pop(d->key_types);
    certs = json_object_get(status_of("example.org", d), "certificates");
    ck_assert_int_eq(json_array_size(certs), 1);
}
END_TEST

START_TEST(broken_files_tolerated)
{
    json_t *j;

    put(ACME_SG_DOMAINS, "example.org", "fullchain.ec256.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n");
    put_state("example.org", "{not json");
    j = status_of("example.org", NULL);
    ck_assert_str_eq(sget(j, "state"), "pending");
    ck_assert_int_eq(json_array_size(json_object_get(j, "certificates")), 0);
    put_state("example.org", "{\"names\":7,\"state\":[],\"ca\":1,\"last_error\":\"x\","
              "\"renewal\":5,\"next_attempt\":{}}");
    j = status_of("example.org", NULL);
    ck_assert_str_eq(sget(j, "state"), "pending");
    ck_assert(json_is_null(json_object_get(j, "ca")));
    ck_assert(json_is_null(json_object_get(j, "last_error")));
    ck_assert(json_is_null(json_object_get(j, "renewal")));
    ck_assert(json_is_null(json_object_get(j, "next_attempt")));
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(j, "names"), 0)),
                     "example.org");
}
END_TEST

START_TEST(wildcard_name)
{
    acme_domain_t *d = acme_domain_create(pool, "*.example.org");
    json_t *j;

    put_state("_.example.org", "{\"names\":[\"*.example.org\",\"example.org\"],\"state\":\"pending\"}");
    j = status_of("_.example.org", NULL);
    ck_assert_str_eq(sget(j, "name"), "*.example.org");
    j = status_of("*.example.org", d);
    ck_assert_str_eq(sget(j, "name"), "*.example.org");
    ck_assert_str_eq(sget(j, "state"), "pending");
}
END_TEST

START_TEST(hostile_id)
{
    json_t *j;

    ck_assert_int_eq(acme_status_domain(pool, st, "../etc", NULL, &j), APR_EINVAL);
    ck_assert_int_eq(acme_status_domain(pool, st, "", NULL, &j), APR_EINVAL);
    ck_assert_int_eq(acme_status_domain(pool, st, NULL, NULL, &j), APR_EINVAL);
}
END_TEST

START_TEST(all_domains)
{
    test_cert_t c = make_cert("a.org", -60, 86400, 0, 1);
    apr_array_header_t *ds = apr_array_make(pool, 2, sizeof(acme_domain_t *));
    json_t *j, *arr;
    char *dump;

    ck_assert_int_eq(acme_status_all(pool, st, NULL, &j), APR_SUCCESS);
    ck_assert_str_eq(sget(j, "version"), ACME_VERSION);
    ck_assert_int_eq(json_array_size(json_object_get(j, "domains")), 0);

    put(ACME_SG_DOMAINS, "a.org", "fullchain.ec256.pem", c.pem);
    put_state("a.org", "{\"names\":[\"a.org\"],\"state\":\"valid\"}");
    put_state("b.org", "{\"names\":[\"b.org\"],\"state\":\"pending\"}");
    put(ACME_SG_STAGING, "c.org", "fullchain.ec256.pem", c.pem);
    put(ACME_SG_ACCOUNTS, "ca.test", "account.json", "{}");
    /* stray directories made by hand are ignored */
    ck_assert_int_eq(mkdir(apr_pstrcat(pool, tmpdir, "/state/x..y", NULL), 0755), 0);
    ck_assert_int_eq(mkdir(apr_pstrcat(pool, tmpdir, "/state/UPPER.org", NULL), 0755), 0);
    ck_assert_int_eq(acme_status_all(pool, st, NULL, &j), APR_SUCCESS);
    arr = json_object_get(j, "domains");
    ck_assert_int_eq(json_array_size(arr), 3);
    ck_assert_str_eq(sget(json_array_get(arr, 0), "name"), "a.org");
    ck_assert_str_eq(sget(json_array_get(arr, 0), "state"), "valid");
    ck_assert_str_eq(sget(json_array_get(arr, 1), "name"), "b.org");
    ck_assert_str_eq(sget(json_array_get(arr, 2), "name"), "c.org");
    ck_assert(json_is_true(json_object_get(json_array_get(arr, 2), "staged")));
    /* serializable, and no private key material anywhere */
    ck_assert_ptr_nonnull(dump = acme_json_dump(pool, j, 0));
    ck_assert_ptr_null(strstr(dump, "PRIVATE"));

    APR_ARRAY_PUSH(ds, acme_domain_t *) = acme_domain_create(pool, "b.org");
    APR_ARRAY_PUSH(ds, acme_domain_t *) = acme_domain_create(pool, "new.org");
    ck_assert_int_eq(acme_status_all(pool, st, ds, &j), APR_SUCCESS);
    arr = json_object_get(j, "domains");
    ck_assert_int_eq(json_array_size(arr), 2);
    ck_assert_str_eq(sget(json_array_get(arr, 0), "name"), "b.org");
    ck_assert_str_eq(sget(json_array_get(arr, 1), "name"), "new.org");
    ck_assert_str_eq(sget(json_array_get(arr, 1), "state"), "pending");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("status");
    TCase *tc = tu_tcase(s, "status", 30, setup, teardown);

    tcase_add_test(tc, pending_from_config);
    tcase_add_test(tc, error_without_cert);
    tcase_add_test(tc, valid_cert);
    tcase_add_test(tc, renewing_and_expired);
    tcase_add_test(tc, marks_renew_and_revoked);
    tcase_add_test(tc, staged_and_dual);
    tcase_add_test(tc, broken_files_tolerated);
    tcase_add_test(tc, wildcard_name);
    tcase_add_test(tc, hostile_id);
    tcase_add_test(tc, all_domains);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
