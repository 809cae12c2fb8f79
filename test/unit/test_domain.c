/* test_domain.c: unit tests for domain defaults, store directory names, identifier checks and the config hash. */
#include <stdlib.h>
#include <string.h>

#include "acme_domain.h"
#include "testutil.h"

START_TEST(defaults)
{
    acme_domain_t *d = acme_domain_create(pool, "Example.ORG");

    ck_assert_str_eq(d->id, "example.org");
    ck_assert_int_eq(d->names->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(d->names, 0, const char *), "example.org");
    ck_assert_int_eq(d->key_types->nelts, 1);
    ck_assert_int_eq(APR_ARRAY_IDX(d->key_types, 0, acme_key_type_e), ACME_KEY_EC256);
    ck_assert_int_eq(d->account_key_type, ACME_KEY_EC256);
    ck_assert_int_eq(d->renew_window_pct, 33);
    ck_assert_int_eq(d->renew_window, 0);
    ck_assert_int_eq(d->warn_window_pct, 10);
    ck_assert_int_eq(d->warn_window, 0);
    ck_assert_int_eq(d->renew_via_ari, 1);
    ck_assert_int_eq(d->profile_mandatory, 0);
    ck_assert_int_eq(d->dns_propagation, 0);
    ck_assert_ptr_null(d->dns_resolver);
    ck_assert_int_eq(d->challenges->nelts, 3);
    ck_assert_int_eq(d->ca_urls->nelts, 1);
    ck_assert_ptr_null(d->contact_email);
    ck_assert_int_eq(d->tos_agreed, 0);
}
END_TEST

START_TEST(port_parse)
{
    int port = 0;

    ck_assert(acme_port_parse("1", &port) && port == 1);
    ck_assert(acme_port_parse("65535", &port) && port == 65535);
    ck_assert(acme_port_parse("8080", &port) && port == 8080);
    const char *bad[] = { "", "0", "65536", "-1", "+80", " 80", "80 ", "8o", "0x50",
                          "99999999999999999999", NULL };
    for (int i = 0; bad[i]; i++) {
        ck_assert_msg(!acme_port_parse(bad[i], &port), "accepted '%s'", bad[i]);
    }
    ck_assert(!acme_port_parse(NULL, &port));
}
END_TEST

START_TEST(identifiers)
{
    static const char *const good[] = {
        "example.org", "www.example.org", "*.example.org", "a-b.example.org", "xn--bcher-kva.example",
        "localhost", "EXAMPLE.ORG", "a1.b2.c3", "192.0.2.1", "2001:db8::1", "::1", "127.0.0.1",
    };
    static const char *const bad[] = {
        "", ".", "example..org", ".example.org", "example.org.", "-a.example.org", "a-.example.org",
        "a_b.example.org", "*", "*.", "*.*.example.org", "www.*.example.org", "a*.example.org",
        "exa mple.org", "example.org/x", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3",
        "2001:db8::1%eth0", "[::1]", "2001:db8:::1",
    };
    char label[80], name[300];

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        ck_assert_msg(acme_identifier_valid(good[i]), "rejected '%s'", good[i]);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(!acme_identifier_valid(bad[i]), "accepted '%s'", bad[i]);
    }
    ck_assert(!acme_identifier_valid(NULL));
    /* label of 64 characters, name over 253 */
    memset(label, 'a', 64);
    strcpy(label + 64, ".org");
    ck_assert(!acme_identifier_valid(label));
    strcpy(label + 63, ".org");
    ck_assert(acme_identifier_valid(label));
    name[0] = '\0';
    for (int i = 0; i < 5; i++) {
        strcat(name, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.");
    }
    strcat(name, "org");
    ck_assert(!acme_identifier_valid(name));
}
END_TEST

static acme_domain_t *sample(void)
{
    acme_domain_t *d = acme_domain_create(pool, "example.org");

    APR_ARRAY_PUSH(d->names, const char *) = "www.example.org";
    return d;
}

START_TEST(config_hash)
{
    acme_domain_t *a = sample(), *b = sample();
    const char *h = acme_domain_config_hash(pool, a);

    ck_assert_ptr_nonnull(h);
    ck_assert_int_eq(strlen(h), 64);
    ck_assert_str_eq(h, acme_domain_config_hash(pool, b));
    ck_assert_str_eq(h, acme_domain_config_hash(pool, a));

    /* not part of the certificate: contact, ToS, challenges, window */
    b->contact_email = "admin@example.org";
    b->tos_agreed = 1;
    b->renew_window_pct = 10;
    apr_array_clear(b->challenges);
    ck_assert_str_eq(h, acme_domain_config_hash(pool, b));

    /* name order and case do not matter */
    b = acme_domain_create(pool, "example.org");
    APR_ARRAY_PUSH(b->names, const char *) = "WWW.example.org";
    ck_assert_str_eq(h, acme_domain_config_hash(pool, b));

    /* what does matter */
    b = sample();
    APR_ARRAY_PUSH(b->names, const char *) = "mail.example.org";
    ck_assert_str_ne(h, acme_domain_config_hash(pool, b));
    b = sample();
    APR_ARRAY_IDX(b->key_types, 0, acme_key_type_e) = ACME_KEY_RSA2048;
    ck_assert_str_ne(h, acme_domain_config_hash(pool, b));
    b = sample();
    APR_ARRAY_PUSH(b->key_types, acme_key_type_e) = ACME_KEY_RSA2048;
    ck_assert_str_ne(h, acme_domain_config_hash(pool, b));
    b = sample();
    APR_ARRAY_IDX(b->ca_urls, 0, const char *) = "https://127.0.0.1:14000/dir";
    ck_assert_str_ne(h, acme_domain_config_hash(pool, b));
    b = sample();
    b->profile = "shortlived";
    ck_assert_str_ne(h, acme_domain_config_hash(pool, b));
    b = sample();
    b->profile = "";
    ck_assert_str_eq(h, acme_domain_config_hash(pool, b));
}
END_TEST

START_TEST(config_hash_unambiguous)
{
    acme_domain_t *a = acme_domain_create(pool, "ab.c");
    acme_domain_t *b = acme_domain_create(pool, "ab");

    APR_ARRAY_PUSH(a->names, const char *) = "d";
    APR_ARRAY_PUSH(b->names, const char *) = "c.d";
    ck_assert_str_ne(acme_domain_config_hash(pool, a), acme_domain_config_hash(pool, b));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("domain");
    TCase *tc = tu_tcase(s, "domain", 0, tu_setup, tu_teardown);

    tcase_add_test(tc, defaults);
    tcase_add_test(tc, port_parse);
    tcase_add_test(tc, identifiers);
    tcase_add_test(tc, config_hash);
    tcase_add_test(tc, config_hash_unambiguous);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
