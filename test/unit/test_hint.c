/* test_hint.c: unit tests for the hints (acme_hint): one text per failure, in httpd's words (directives) or acmectl's (options). */
#include <string.h>

#include <apr_strings.h>

#include "acme_hint.h"
#include "testutil.h"

/* An httpd directive name: "ACME" and a capital, as in ACMEHttpProxy. */
static int names_directive(const char *s)
{
    for (const char *p = strstr(s, "ACME"); p; p = strstr(p + 1, "ACME")) {
        if (p[4] >= 'A' && p[4] <= 'Z' && p[5] >= 'a' && p[5] <= 'z') {
            return 1;
        }
    }
    return 0;
}

START_TEST(every_hint_in_each_front_ends_words)
{
    for (int h = 0; h < ACME_HINT_COUNT; h++) {
        const char *httpd = acme_hint(pool, ACME_UI_HTTPD, (acme_hint_e)h, "a.example", "TOK",
                                      "detail");
        const char *cli = acme_hint(pool, ACME_UI_CLI, (acme_hint_e)h, "a.example", "TOK",
                                    "detail");

        ck_assert_msg(httpd && *httpd && cli && *cli, "hint %d is empty", h);
        ck_assert_msg(!names_directive(cli), "acmectl hint %d names a directive: %s", h, cli);
        ck_assert_msg(!strstr(httpd, "--"), "httpd hint %d names an option: %s", h, httpd);
    }
}
END_TEST

START_TEST(settings_named_for_the_front_end)
{
    const char *h = acme_hint(pool, ACME_UI_HTTPD, ACME_HINT_UNREACHABLE, "https://ca/dir", NULL,
                              NULL);
    const char *c = acme_hint(pool, ACME_UI_CLI, ACME_HINT_UNREACHABLE, "https://ca/dir", NULL,
                              NULL);

    ck_assert_ptr_nonnull(strstr(h, "https://ca/dir"));
    ck_assert_ptr_nonnull(strstr(h, "ACMEHttpProxy"));
    ck_assert_ptr_nonnull(strstr(h, "ACMECACertificateFile"));
    ck_assert_ptr_nonnull(strstr(c, "--http-proxy"));
    ck_assert_ptr_nonnull(strstr(c, "--ca-cert"));
    ck_assert_ptr_nonnull(strstr(acme_hint(pool, ACME_UI_HTTPD, ACME_HINT_EAB_REQUIRED, NULL, NULL,
                                           NULL), "ACMEExternalAccountBinding"));
    c = acme_hint(pool, ACME_UI_CLI, ACME_HINT_EAB_REQUIRED, NULL, NULL, NULL);
    ck_assert_ptr_nonnull(strstr(c, "--eab-kid"));
    ck_assert_ptr_nonnull(strstr(c, "--eab-hmac"));
    ck_assert_ptr_nonnull(strstr(acme_hint(pool, ACME_UI_CLI, ACME_HINT_TOS, "https://tos", NULL,
                                           NULL), "--agree-tos"));
    ck_assert_ptr_nonnull(strstr(acme_hint(pool, ACME_UI_HTTPD, ACME_HINT_TOS, NULL, NULL, NULL),
                                 "ACMETermsOfService accepted"));
    h = acme_hint(pool, ACME_UI_HTTPD, ACME_HINT_HTTP01, "a.example", "TOK", "refused");
    ck_assert_ptr_nonnull(strstr(h, "http://a.example/.well-known/acme-challenge/TOK"));
    ck_assert_ptr_nonnull(strstr(h, "refused"));
    ck_assert_str_eq(acme_setting_name(ACME_UI_CLI, ACME_SETTING_DNS_COMMAND), "--dns-command");
    ck_assert_str_eq(acme_setting_name(ACME_UI_HTTPD, ACME_SETTING_DNS_COMMAND), "ACMEDNSCommand");
    ck_assert_str_eq(acme_setting_name(ACME_UI_HTTPD, ACME_SETTING_COUNT), "");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("hint");
    TCase *tc = tu_tcase(s, "hint", 0, tu_setup, tu_teardown);

    tcase_add_test(tc, every_hint_in_each_front_ends_words);
    tcase_add_test(tc, settings_named_for_the_front_end);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
