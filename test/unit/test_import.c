/* test_import.c: unit tests of core/acme_import.c and acme_import_certbot.c: mod_md's and certbot's single files (md.json, renewal configuration, time spans) and whole stores built in a scratch directory. */
#include <string.h>
#include <apr_strings.h>
#include "acme_import.h"
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

static Suite *suite(void)
{
    Suite *s = suite_create("import");
    TCase *tc = tu_tcase(s, "files", 0, setup, teardown);

    tcase_add_test(tc, time_spans);
    tcase_add_test(tc, certbot_conf);
    tcase_add_test(tc, md_json);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
