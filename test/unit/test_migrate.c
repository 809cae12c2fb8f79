/* test_migrate.c: unit tests of the readers behind acmectl import and convert-config: mod_md's md.json, certbot's renewal configuration, time spans and the mod_md directive conversion. */
#include <string.h>
#include <apr_strings.h>
#include "acme_import.h"
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

static const char *md_span(const char *s, char unit)
{
    const char *out = NULL;

    return acme_import_md_timespan(pool, s, unit, &out) == APR_SUCCESS ? out : "EINVAL";
}

static const char *cb_span(const char *s)
{
    const char *out = NULL;

    return acme_import_certbot_interval(pool, s, &out) == APR_SUCCESS ? out : "EINVAL";
}

START_TEST(time_spans)
{
    /* mod_md: plain numbers in the directive's unit, the first letter(s) of a unit count. */
    ck_assert_str_eq(md_span("30", 'd'), "30d");
    ck_assert_str_eq(md_span("30", 's'), "30s");
    ck_assert_str_eq(md_span("30days", 's'), "30d");
    ck_assert_str_eq(md_span("12h", 'd'), "12h");
    ck_assert_str_eq(md_span("90mi", 'd'), "90m");
    ck_assert_str_eq(md_span("1500ms", 'd'), "2s");
    ck_assert_str_eq(md_span("33%", 'd'), "33%");
    ck_assert_str_eq(md_span("100%", 'd'), "EINVAL");
    ck_assert_str_eq(md_span("0", 'd'), "EINVAL");
    ck_assert_str_eq(md_span("5m", 'd'), "EINVAL");    /* mod_md wants mi or ms */
    ck_assert_str_eq(md_span("30x", 'd'), "EINVAL");
    ck_assert_str_eq(md_span("-3d", 'd'), "EINVAL");
    ck_assert_str_eq(md_span("", 'd'), "EINVAL");
    ck_assert_str_eq(md_span("12345678901d", 'd'), "EINVAL");
    ck_assert_str_eq(md_span("33%x", 'd'), "EINVAL");

    /* certbot: words, summed, as the largest whole unit. */
    ck_assert_str_eq(cb_span("30 days"), "30d");
    ck_assert_str_eq(cb_span("2 weeks 1 day"), "15d");
    ck_assert_str_eq(cb_span("12 hours"), "12h");
    ck_assert_str_eq(cb_span("90 minutes"), "90m");
    ck_assert_str_eq(cb_span("1 day, 30 sec"), "86430s");
    ck_assert_str_eq(cb_span("1 month"), "EINVAL");
    ck_assert_str_eq(cb_span("days"), "EINVAL");
    ck_assert_str_eq(cb_span(""), "EINVAL");
    ck_assert_str_eq(cb_span("0 days"), "EINVAL");
}
END_TEST

static const char renewal_conf[] =
    "# renew_before_expiry = 30 days\n"
    "version = 2.1.0\r\n"
    "renew_before_expiry = \"20 days\"\n"
    "fullchain = /etc/letsencrypt/live/example.org/fullchain.pem\n"
    "\n"
    "# Options used in the renewal process\n"
    "[renewalparams]\n"
    "account = 5f648cba360a73102b61ddf20fef72fd\n"
    "server = https://acme-v02.api.letsencrypt.org/directory\n"
    "  key_type = ecdsa  \n"
    "pre_hook = 'systemctl stop nginx'\n"
    "[[webroot_map]]\n"
    "example.org = /var/www/html\n";

START_TEST(certbot_conf)
{
    apr_table_t *conf;

    ck_assert_int_eq(acme_import_certbot_conf(pool, renewal_conf, strlen(renewal_conf), &conf),
                     APR_SUCCESS);
    ck_assert_str_eq(apr_table_get(conf, "version"), "2.1.0");
    ck_assert_str_eq(apr_table_get(conf, "renew_before_expiry"), "20 days");
    ck_assert_str_eq(apr_table_get(conf, "renewalparams.server"),
                     "https://acme-v02.api.letsencrypt.org/directory");
    ck_assert_str_eq(apr_table_get(conf, "renewalparams.key_type"), "ecdsa");
    ck_assert_str_eq(apr_table_get(conf, "renewalparams.pre_hook"), "systemctl stop nginx");
    ck_assert_str_eq(apr_table_get(conf, "renewalparams.webroot_map.example.org"),
                     "/var/www/html");
    ck_assert_ptr_null(apr_table_get(conf, "account"));

    ck_assert_int_eq(acme_import_certbot_conf(pool, "[bad\n", 5, &conf), APR_EINVAL);
    ck_assert_int_eq(acme_import_certbot_conf(pool, "novalue\n", 8, &conf), APR_EINVAL);
    ck_assert_int_eq(acme_import_certbot_conf(pool, "[[sub]]\na = b\n", 14, &conf), APR_EINVAL);
    ck_assert_int_eq(acme_import_certbot_conf(pool, "= b\n", 4, &conf), APR_EINVAL);
    ck_assert_int_eq(acme_import_certbot_conf(pool, "a = b\0c\n", 8, &conf), APR_EINVAL);
}
END_TEST

static acme_import_domain_t *md(const char *json)
{
    acme_import_domain_t *d = NULL;

    return acme_import_md_json(pool, json, strlen(json), &d) == APR_SUCCESS ? d : NULL;
}

START_TEST(md_json)
{
    acme_import_domain_t *d = md(
        "{\"name\":\"b.example\",\"domains\":[\"a.example\",\"B.example\"],"
        "\"ca\":{\"account\":\"ACME-x-0000\",\"urls\":[\"https://ca.test/dir\"]},"
        "\"privkey\":[{\"type\":\"EC\",\"curve\":\"secp256r1\"},{\"type\":\"RSA\",\"bits\":2048}],"
        "\"renew-window\":\"30d\",\"state\":2}");

    ck_assert_ptr_nonnull(d);
    /* The managed domain's name leads, lower-cased. */
    ck_assert_str_eq(d->id, "b.example");
    ck_assert_int_eq(d->names->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(d->names, 1, const char *), "a.example");
    ck_assert_str_eq(d->ca_url, "https://ca.test/dir");
    ck_assert_str_eq(d->account_ref, "ACME-x-0000");
    ck_assert_str_eq(d->renew_window, "30d");
    ck_assert_int_eq(d->key_order->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(d->key_order, 0, const char *), ".secp256r1");
    ck_assert_str_eq(APR_ARRAY_IDX(d->key_order, 1, const char *), "");

    /* Without privkey: mod_md's default RSA key, files without suffix. */
    d = md("{\"domains\":[\"*.example.org\"],\"privkey\":{\"type\":\"Default\"}}");
    ck_assert_ptr_nonnull(d);
    ck_assert_str_eq(d->id, "*.example.org");
    ck_assert_str_eq(APR_ARRAY_IDX(d->key_order, 0, const char *), "");
    ck_assert_ptr_null(d->renew_window);

    /* An unusable window is reported, not fatal. */
    d = md("{\"domains\":[\"a.test\"],\"renew-window\":\"soon\"}");
    ck_assert_ptr_nonnull(d);
    ck_assert_ptr_null(d->renew_window);
    ck_assert(strstr(d->renew_window_note, "'soon'") != NULL);

    ck_assert_ptr_null(md("{\"domains\":[]}"));
    ck_assert_ptr_null(md("{\"name\":\"a.test\"}"));
    ck_assert_ptr_null(md("{\"domains\":[\"../etc\"]}"));
    ck_assert_ptr_null(md("{\"domains\":[\"a.test\",5]}"));
    ck_assert_ptr_null(md("{\"domains\":[\"a.test\"],\"privkey\":{\"type\":\"EC\",\"curve\":\"../../x\"}}"));
    ck_assert_ptr_null(md("{\"domains\":[\"a.test\"],\"privkey\":{\"type\":\"DSA\"}}"));
    ck_assert_ptr_null(md("{\"domains\":[\"a.test\"],\"ca\":{\"url\":7}}"));
    ck_assert_ptr_null(md("[\"a.test\"]"));
}
END_TEST

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

static Suite *suite(void)
{
    Suite *s = suite_create("migrate");
    TCase *tc = tu_tcase(s, "core", 0, setup, teardown);

    tcase_add_test(tc, time_spans);
    tcase_add_test(tc, certbot_conf);
    tcase_add_test(tc, md_json);
    tcase_add_test(tc, mdconf_domains_and_sections);
    tcase_add_test(tc, mdconf_values);
    tcase_add_test(tc, mdconf_rejects);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
