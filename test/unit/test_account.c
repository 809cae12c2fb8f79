/* test_account.c: unit tests of ACME accounts (acme_account.c): contact and EAB key checks, the account kept per CA in the store, and newAccount as a loopback CA receives it (contact, terms, External Account Binding of RFC 8555 §7.3.4). */
#include <string.h>
#include <sys/stat.h>
#include <apr_strings.h>
#include <openssl/evp.h>
#include "acme_account.h"
#include "acme_base64.h"
#include "acme_file.h"
#include "acme_http.h"
#include "acme_json.h"
#include "acme_jws.h"
#include "testhttp.h"
#include "testjws.h"
#include "testutil.h"

static acme_store_t *store;

static void setup(void)
{
    tu_setup();
    tu_scratch_create("test_account");
    ck_assert_int_eq(acme_store_file_open(pool, apr_pstrcat(pool, tmpdir, "/store", NULL), 0, &store),
                     APR_SUCCESS);
}

static void teardown(void)
{
    tu_scratch_remove();
    tu_teardown();
}

static acme_ca_t *make_ca(const char *url)
{
    acme_http_opts_t opts = { 0 };
    acme_http_t *http = NULL;
    acme_ca_t *ca = NULL;

    ck_assert_int_eq(acme_http_create(pool, &opts, NULL, &http), APR_SUCCESS);
    ck_assert_int_eq(acme_ca_create(pool, url, http, NULL, &ca), APR_SUCCESS);
    return ca;
}

static json_t *parse(const char *s)
{
    json_t *j = NULL;

    ck_assert_int_eq(acme_json_parse(pool, s, strlen(s), &j, NULL), APR_SUCCESS);
    return j;
}

/* What newAccount would refuse, refused before anything is sent. */
START_TEST(contact_addresses)
{
    static const char *const good[] = { "admin@example.org", "a.b+tag@sub.example.org",
                                        "x@y" };
    static const char *const bad[] = { "", "admin", "@example.org", "admin@", "a@b@c",
                                       "ad min@example.org", "admin@example.org\n",
                                       "<admin@example.org>", "a,b@example.org",
                                       "admin@exämple.org" };
    char longest[300];

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        ck_assert_msg(acme_account_email_ok(good[i]), "%s refused", good[i]);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(!acme_account_email_ok(bad[i]), "%s accepted", bad[i]);
    }
    memset(longest, 'a', sizeof(longest));
    memcpy(longest + 240, "@example.org", 13);      /* 252 characters */
    ck_assert(acme_account_email_ok(longest));
    memset(longest, 'a', 250);                      /* 262 */
    memcpy(longest + 250, "@example.org", 13);
    ck_assert(!acme_account_email_ok(longest));
}
END_TEST

/* EAB keys are base64url; padding and the standard alphabet are tolerated. */
START_TEST(eab_keys)
{
    ck_assert(acme_account_eab_key_ok(pool, "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG4"));
    ck_assert(acme_account_eab_key_ok(pool, "a-_b"));
    ck_assert(acme_account_eab_key_ok(pool, "a+/b"));
    ck_assert(acme_account_eab_key_ok(pool, "YWJj=="));
    ck_assert(!acme_account_eab_key_ok(pool, ""));
    ck_assert(!acme_account_eab_key_ok(pool, "=="));
    ck_assert(!acme_account_eab_key_ok(pool, "not a key!"));
    ck_assert(!acme_account_eab_key_ok(pool, NULL));
}
END_TEST

/* The account per CA: its key 0600 apart from the object, read back as saved. */
START_TEST(stored_per_ca)
{
    acme_ca_t *ca = make_ca("https://ca.example/dir"), *other = make_ca("https://ca2.example/dir");
    acme_account_t acct = { 0 }, *back = NULL;
    const char *dir;
    char *text = NULL;
    apr_size_t len = 0;
    struct stat sb;

    ck_assert_int_eq(acme_key_generate(pool, ACME_KEY_EC256, &acct.key), APR_SUCCESS);
    acct.url = "https://ca.example/acct/1";
    acct.obj = parse("{\"status\":\"valid\",\"contact\":[\"mailto:admin@example.org\"]}");
    ck_assert(APR_STATUS_IS_ENOENT(acme_account_load(store, pool, ca, &back)));
    ck_assert_int_eq(acme_account_save(store, pool, ca, &acct, NULL), APR_SUCCESS);

    ck_assert_int_eq(acme_account_load(store, pool, ca, &back), APR_SUCCESS);
    ck_assert_str_eq(back->url, acct.url);
    ck_assert_str_eq(back->status, "valid");
    ck_assert(json_equal(back->obj, acct.obj));
    ck_assert_int_eq(EVP_PKEY_eq(acme_key_evp(back->key), acme_key_evp(acct.key)), 1);
    /* another CA has no account */
    ck_assert_int_ne(acme_account_load(store, pool, other, &back), APR_SUCCESS);

    /* README "Store layout and ownership": accounts/<ca>/, the key 0600 */
    dir = apr_pstrcat(pool, tmpdir, "/store/accounts/", acme_ca_id(ca), NULL);
    ck_assert_int_eq(stat(apr_pstrcat(pool, dir, "/account.pem", NULL), &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0600);
    ck_assert_int_eq(acme_file_read(pool, apr_pstrcat(pool, dir, "/account.json", NULL), 65536,
                                    &text, &len), APR_SUCCESS);
    ck_assert_msg(!strstr(text, "PRIVATE"), "key material in %s/account.json", dir);
    ck_assert_ptr_nonnull(strstr(text, "https://ca.example/dir"));
}
END_TEST

/* The trust file: only an absolute path counts, saving the same one is a no-op. */
START_TEST(trust_file)
{
    acme_ca_t *ca = make_ca("https://ca.example/dir");

    ck_assert_ptr_null(acme_account_trust_load(store, pool, ca));
    ck_assert_int_eq(acme_account_trust_save(store, pool, ca, NULL), APR_SUCCESS);
    ck_assert_ptr_null(acme_account_trust_load(store, pool, ca));
    ck_assert_int_eq(acme_account_trust_save(store, pool, ca, "/etc/ca/root.pem"), APR_SUCCESS);
    ck_assert_str_eq(acme_account_trust_load(store, pool, ca), "/etc/ca/root.pem");
    ck_assert_int_eq(acme_account_trust_save(store, pool, ca, "relative.pem"), APR_SUCCESS);
    ck_assert_ptr_null(acme_account_trust_load(store, pool, ca));
}
END_TEST

/* newAccount: terms and contact checked first; the payload carries the
 * contact, the agreement and an EAB whose MAC verifies over the account JWK. */
START_TEST(new_account_as_the_ca_sees_it)
{
    static const char hmac_b64[] = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG4";
    tu_acme_ca_t *mock = tu_acme_ca_start(pool);
    acme_account_req_t req = { 0 };
    acme_account_t *acct = NULL;
    acme_problem_t *prob = NULL;
    acme_key_t *key = NULL;
    unsigned char *hkey;
    apr_size_t hlen;
    const char *payload, *eab_payload, *new_acct;
    json_t *hdr, *body, *eab, *eab_hdr, *jwk;
    acme_ca_t *ca;

    ck_assert_ptr_nonnull(mock);
    mock->terms = "https://example.com/acme/terms/2017-5-30";
    ca = make_ca(mock->dir_url);
    new_acct = tu_http_url(mock->srv, pool, "/new-acct");
    ck_assert_int_eq(acme_key_generate(pool, ACME_KEY_EC256, &key), APR_SUCCESS);

    /* terms not agreed, a bad address: refused here, newAccount never sees them */
    req.email = "cert-admin@example.org";
    ck_assert_int_ne(acme_account_register(ca, pool, key, &req, &acct, &prob), APR_SUCCESS);
    ck_assert_str_eq(prob->type, "urn:mod_acme:tosNotAgreed");
    ck_assert_ptr_nonnull(strstr(prob->detail, mock->terms));
    req.tos_agreed = 1;
    req.email = "cert admin@example.org";
    ck_assert_int_eq(acme_account_register(ca, pool, key, &req, &acct, &prob), APR_EINVAL);
    ck_assert_str_eq(prob->type, "urn:mod_acme:badContact");
    ck_assert_str_ne(tu_http_last(mock->srv, pool)->path, "/new-acct");

    req.email = "cert-admin@example.org";
    req.eab_kid = "kid-1";
    req.eab_hmac = hmac_b64;
    mock->status = 201;
    mock->location = tu_http_url(mock->srv, pool, "/acct/evOfKhNU60wg");
    mock->body = "{\"status\":\"valid\",\"contact\":[\"mailto:cert-admin@example.org\"]}";
    ck_assert_int_eq(acme_account_register(ca, pool, key, &req, &acct, &prob), APR_SUCCESS);
    ck_assert_str_eq(acct->url, mock->location);
    ck_assert_str_eq(acct->status, "valid");

    ck_assert_str_eq(tu_http_last(mock->srv, pool)->path, "/new-acct");
    ck_assert_int_eq(tu_jws_verify(pool, parse(tu_http_last(mock->srv, pool)->body), NULL, NULL, 0,
                                   &payload, NULL, &hdr), APR_SUCCESS);
    ck_assert_ptr_nonnull(jwk = json_object_get(hdr, "jwk"));   /* no account yet: jwk, no kid */
    ck_assert_ptr_null(json_object_get(hdr, "kid"));
    body = parse(payload);
    ck_assert(json_equal(json_object_get(body, "contact"),
                         parse("[\"mailto:cert-admin@example.org\"]")));
    ck_assert(json_is_true(json_object_get(body, "termsOfServiceAgreed")));
    eab = json_object_get(body, "externalAccountBinding");
    ck_assert_int_eq(acme_b64u_decode(pool, hmac_b64, strlen(hmac_b64), &hkey, &hlen),
                     APR_SUCCESS);
    ck_assert_int_eq(tu_jws_verify(pool, eab, NULL, hkey, hlen, &eab_payload, NULL, &eab_hdr),
                     APR_SUCCESS);
    ck_assert_str_eq(json_string_value(json_object_get(eab_hdr, "alg")), "HS256");
    ck_assert_str_eq(json_string_value(json_object_get(eab_hdr, "kid")), "kid-1");
    ck_assert_str_eq(json_string_value(json_object_get(eab_hdr, "url")), new_acct);
    ck_assert_ptr_null(json_object_get(eab_hdr, "nonce"));
    ck_assert(json_equal(parse(eab_payload), jwk));
    /* the wrong MAC key does not verify it */
    ck_assert_int_ne(tu_jws_verify(pool, eab, NULL, (const unsigned char *)"other", 5, NULL, NULL,
                                   NULL), APR_SUCCESS);

    /* an account URL outside the directory's scheme is refused */
    mock->location = "https://example.com/acme/acct/1";
    ck_assert_int_eq(acme_account_register(ca, pool, key, &req, &acct, &prob), APR_EINVAL);
    ck_assert_str_eq(prob->type, ACME_PROBLEM_BAD_URL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("account");
    TCase *tc = tu_tcase(s, "account", 60, setup, teardown);

    tcase_add_test(tc, contact_addresses);
    tcase_add_test(tc, eab_keys);
    tcase_add_test(tc, stored_per_ca);
    tcase_add_test(tc, trust_file);
    tcase_add_test(tc, new_account_as_the_ca_sees_it);
    return tu_run(s);
}
