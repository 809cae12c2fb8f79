/* test_mdconf.c: unit tests of core/acme_mdconf.c and acme_mdconf_text.c: httpd configuration with mod_md directives converted to mod_acme's (acmectl convert-config). */
#include <string.h>
#include <apr_strings.h>
#include "acme_mdconf.h"
#include "testutil.h"

static void setup(void)
{
    tu_setup();
}

static void teardown(void)
{
    tu_teardown();
}

static const char *convert(const char *conf)
{
    acme_mdconf_t *res;
    const char *err = NULL;

    ck_assert_int_eq(acme_mdconf_convert(pool, conf, strlen(conf), "t.conf", &res, &err),
                     APR_SUCCESS);
    return res->text;
}

static int has_line(const char *text, const char *line)
{
    const char *s = text;
    size_t n = strlen(line);

    while ((s = strstr(s, line)) != NULL) {
        if ((s == text || s[-1] == '\n') && (s[n] == '\n' || s[n] == '\0')) {
            return 1;
        }
        s += n;
    }
    return 0;
}

START_TEST(mdconf_domains_and_sections)
{
    const char *t = convert(
        "LoadModule md_module modules/mod_md.so\n"
        "<IfModule !mod_md.c>\n"
        "  Define NO_MD\n"
        "</IfModule>\n"
        "MDomain example.org \\\n"
        "        manual\n"
        "MDomain example.net\n"
        "<MDomain set.test>\n"
        "  MDMember www.set.test\n"
        "  MDCertificateAuthority Buypass \"https://acme.example/dir ectory\"\n"
        "  MDCACertificateFile /ca.pem\n"
        "</MDomain>\n"
        "<VirtualHost *:443>\n"
        "  ServerName example.org:443\n"
        "  ServerAlias www.example.org\n"
        "  MDContactEmail a@example.org\n"
        "</VirtualHost>\n"
        "<VirtualHost *:443>\n"
        "  ServerName https://example.net\n"
        "  ServerAlias www.example.net\n"
        "</VirtualHost>\n");

    ck_assert(has_line(t, "LoadModule acme_module modules/mod_acme.so"));
    ck_assert(has_line(t, "<IfModule !acme_module>"));
    ck_assert(has_line(t, "  Define NO_MD"));
    /* manual: the vhost's other names are not added; auto (default): they are. */
    ck_assert(has_line(t, "ACMEDomain example.org"));
    ck_assert(has_line(t, "ACMEDomain example.net www.example.net"));
    /* mod_md's default key type, before the first converted server-level line. */
    ck_assert(strstr(t, "ACMEKeyType rsa2048\nACMEDomain example.org") != NULL);
    ck_assert(has_line(t, "<ACMEDomainSet set.test www.set.test>"));
    ck_assert(has_line(t, "  ACMECertificateAuthority https://api.buypass.com/acme/directory "
                          "\"https://acme.example/dir ectory\""));
    ck_assert(has_line(t, "</ACMEDomainSet>"));
    /* Server-level-only directives inside a set or a vhost are named, not converted. */
    ck_assert(has_line(t, "  # no mod_acme equivalent: mod_acme takes ACMECACertificateFile at "
                          "server level only"));
    ck_assert(has_line(t, "  # MDCACertificateFile /ca.pem"));
    ck_assert(has_line(t, "  # MDContactEmail a@example.org"));
    ck_assert(strstr(t, "MDCACertificateFile (line 11)") != NULL);
    /* Untouched lines stay as they were, continuation included. */
    ck_assert(has_line(t, "  ServerName example.org:443"));
}
END_TEST

START_TEST(mdconf_values)
{
    const char *t = convert(
        "MDMembers manual\n"
        "MDPrivateKeys RSA 4096 secp256r1 X25519\n"
        "MDPortMap 80:- 443:8443\n"
        "MDRenewWindow 14\n"
        "MDCheckInterval 1d\n"
        "MDRetryDelay 33%\n"
        "MDRenewMode manual\n"
        "MDStapling off\n"
        "MDExternalAccountBinding /etc/eab.json\n"
        "MDMessageCmd /usr/bin/msg extra\n"
        "MDFutureThing on\n"
        "MDomain a.test\n");

    ck_assert(has_line(t, "# mod_acme: key type 'X25519' has no equivalent and is left out"));
    ck_assert(has_line(t, "ACMEKeyType rsa4096 ec256"));
    ck_assert(strstr(t, "ACMEKeyType rsa2048") == NULL);    /* MDPrivateKeys was given */
    ck_assert(has_line(t, "ACMEPortMap 443:8443"));
    ck_assert(strstr(t, "port 80 is not reachable from outside: leave http-01 out") != NULL);
    ck_assert(has_line(t, "ACMERenewWindow 14d"));
    ck_assert(has_line(t, "ACMECheckInterval 1d"));
    ck_assert(has_line(t, "# MDRetryDelay 33%"));           /* a share is no duration */
    ck_assert(has_line(t, "# MDRenewMode manual"));
    ck_assert(strstr(t, "not needed (off is mod_acme's behaviour): MDStapling off") != NULL);
    ck_assert(has_line(t, "# MDExternalAccountBinding /etc/eab.json"));
    ck_assert(has_line(t, "# MDMessageCmd /usr/bin/msg extra"));
    ck_assert(strstr(t, "MDFutureThing (line 11): not a mod_md directive acmectl knows") != NULL);
    ck_assert(has_line(t, "ACMEDomain a.test"));
    ck_assert(strstr(t, "5 without a mod_acme equivalent") != NULL);
}
END_TEST

START_TEST(mdconf_rejects)
{
    acme_mdconf_t *res;
    const char *err = NULL;

    ck_assert_int_eq(acme_mdconf_convert(pool, "<MDomainSet a.test>\nMDMember b.test\n", 36,
                                         "t", &res, &err), APR_EINVAL);
    ck_assert_str_eq(err, "line 1: <MDomainSet> is not closed");
    ck_assert_int_eq(acme_mdconf_convert(pool, "a\0b", 3, "t", &res, &err), APR_EINVAL);
    /* Lines httpd would not take are kept, not judged. */
    ck_assert(has_line(convert("<\n\f\n\"unterminated\n"), "\"unterminated"));
}
END_TEST

/* Names go through core's one name normaliser (acme_names_add): spellings that differ in case
 * are one name, written lower-cased as mod_acme keeps them. */
START_TEST(mdconf_names_normalised)
{
    const char *t = convert(
        "MDomain Example.ORG\n"
        "<MDomainSet Set.TEST>\n"
        "  MDMember WWW.set.test www.SET.test set.test\n"
        "</MDomainSet>\n"
        "<VirtualHost *:443>\n"
        "  ServerName EXAMPLE.org\n"
        "  ServerAlias WWW.Example.org www.example.ORG\n"
        "</VirtualHost>\n");

    ck_assert(has_line(t, "ACMEDomain example.org www.example.org"));
    ck_assert(has_line(t, "<ACMEDomainSet set.test www.set.test>"));
    /* A vhost that shares a name only in another case still adds its names. */
    t = convert("MDomain a.test\n"
                "<VirtualHost *:443>\n"
                "  ServerName A.Test\n"
                "  ServerAlias B.TEST\n"
                "</VirtualHost>\n");
    ck_assert(has_line(t, "ACMEDomain a.test b.test"));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("mdconf");
    TCase *tc = tu_tcase(s, "convert", 0, setup, teardown);

    tcase_add_test(tc, mdconf_domains_and_sections);
    tcase_add_test(tc, mdconf_values);
    tcase_add_test(tc, mdconf_rejects);
    tcase_add_test(tc, mdconf_names_normalised);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
