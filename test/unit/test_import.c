/* test_import.c: unit tests of core/acme_import.c and acme_import_certbot.c: mod_md's and certbot's single files (md.json, renewal configuration, time spans) and whole stores built in a scratch directory. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <apr_file_io.h>
#include <apr_strings.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include "acme_base64.h"
#include "acme_import.h"
#include "acme_json.h"
#include "acme_jws.h"
#include "acme_x509.h"
#include "testcerts.h"
#include "testutil.h"

/* The CA the stores' certificates come from, and the time they are read at. */
static ca_t *inter;
static apr_time_t now;

static void setup(void)
{
    tu_setup();
}

static void teardown(void)
{
    tu_teardown();
}

static void store_setup(void)
{
    tu_setup();
    tu_scratch_create("test_import");
    inter = make_ca("Test Intermediate", make_ca("Test Root", NULL));
    now = apr_time_now();
}

static void store_teardown(void)
{
    tu_scratch_remove();
    tu_teardown();
}

/* ---- building stores in the scratch directory ---------------------------------- */

static const char *at(const char *rel)
{
    return apr_pstrcat(pool, tmpdir, "/", rel, NULL);
}

static void mkdirs(const char *rel)
{
    ck_assert_int_eq(apr_dir_make_recursive(at(rel), APR_FPROT_OS_DEFAULT, pool), APR_SUCCESS);
}

/* tmpdir/rel holds text, its directories made as needed. */
static void put(const char *rel, const char *text)
{
    const char *slash = strrchr(rel, '/');
    apr_file_t *f;
    apr_size_t n = strlen(text);

    if (slash) {
        mkdirs(apr_pstrmemdup(pool, rel, (apr_size_t)(slash - rel)));
    }
    ck_assert_int_eq(apr_file_open(&f, at(rel), APR_FOPEN_WRITE | APR_FOPEN_CREATE | APR_FOPEN_TRUNCATE,
                                   APR_FPROT_UREAD | APR_FPROT_UWRITE, pool), APR_SUCCESS);
    ck_assert_int_eq(apr_file_write_full(f, text, n, NULL), APR_SUCCESS);
    apr_file_close(f);
}

/* tmpdir/rel is a symbolic link to target (as written). */
static void link_to(const char *target, const char *rel)
{
    const char *slash = strrchr(rel, '/');

    mkdirs(apr_pstrmemdup(pool, rel, (apr_size_t)(slash - rel)));
    ck_assert_int_eq(symlink(target, at(rel)), 0);
}

/* A certificate set valid now for san (a chain up to the intermediate). */
static set_t fresh(acme_key_type_e kt, const char *san)
{
    return make_set(inter, kt, san, now - DAY, now + 60 * DAY);
}

/* A chain file and a key file under rel/. */
static void put_pair(const char *rel, const char *chain_name, const char *key_name, const set_t *s)
{
    put(apr_pstrcat(pool, rel, "/", chain_name, NULL), s->chain);
    put(apr_pstrcat(pool, rel, "/", key_name, NULL), s->key);
}

static acme_key_t *key_of(const char *pem)
{
    acme_key_t *k = NULL;

    ck_assert_int_eq(acme_key_from_pem(pool, pem, strlen(pem), &k), APR_SUCCESS);
    return k;
}

static int same_key(const acme_key_t *a, const char *pem)
{
    return a && EVP_PKEY_eq(acme_key_evp(a), acme_key_evp(key_of(pem))) == 1;
}

/* key as PKCS#8 PEM encrypted with pass (mod_md's account.pem). */
static char *encrypted_pem(const acme_key_t *key, const unsigned char *pass, int pass_len)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data, *out;
    long n;

    ck_assert(PEM_write_bio_PKCS8PrivateKey(b, acme_key_evp(key), EVP_aes_256_cbc(),
                                            (const char *)pass, pass_len, NULL, NULL) == 1);
    n = BIO_get_mem_data(b, &data);
    out = apr_pstrndup(pool, data, (apr_size_t)n);
    BIO_free(b);
    return out;
}

/* An EC P-256 key's private JWK (certbot's private_key.json). */
static const char *private_jwk(const acme_key_t *key)
{
    BIGNUM *d = NULL;
    unsigned char raw[32];
    json_t *jwk;
    char *text, *out;

    ck_assert_int_eq(acme_jwk_public(pool, key, &jwk), APR_SUCCESS);
    ck_assert(EVP_PKEY_get_bn_param(acme_key_evp(key), OSSL_PKEY_PARAM_PRIV_KEY, &d) == 1);
    ck_assert_int_eq(BN_bn2binpad(d, raw, sizeof(raw)), (int)sizeof(raw));
    BN_free(d);
    json_object_set_new(jwk, "d", json_string(acme_b64u_encode(pool, raw, sizeof(raw))));
    text = json_dumps(jwk, JSON_COMPACT);
    out = apr_pstrdup(pool, text);
    free(text);
    return out;
}

/* The note of d that starts with prefix, or NULL. */
static const char *note(const acme_import_domain_t *d, const char *prefix)
{
    for (int i = 0; i < d->notes->nelts; i++) {
        const char *n = APR_ARRAY_IDX(d->notes, i, const char *);

        if (!strncmp(n, prefix, strlen(prefix))) {
            return n;
        }
    }
    return NULL;
}

static acme_import_account_t *account(const acme_import_t *imp, int i)
{
    ck_assert_int_gt(imp->accounts->nelts, i);
    return APR_ARRAY_IDX(imp->accounts, i, acme_import_account_t *);
}

static acme_import_domain_t *domain(const acme_import_t *imp, int i)
{
    ck_assert_int_gt(imp->domains->nelts, i);
    return APR_ARRAY_IDX(imp->domains, i, acme_import_domain_t *);
}

static acme_import_cert_t *cert(const acme_import_domain_t *d, int i)
{
    ck_assert_int_gt(d->certs->nelts, i);
    return APR_ARRAY_IDX(d->certs, i, acme_import_cert_t *);
}

static const char *name(const acme_import_domain_t *d, int i)
{
    ck_assert_int_gt(d->names->nelts, i);
    return APR_ARRAY_IDX(d->names, i, const char *);
}

typedef apr_status_t (*reader_t)(apr_pool_t *, const char *, apr_time_t, acme_import_t **,
                                 const char **);

/* The scratch directory read as a store of kind. */
static acme_import_t *read_store(reader_t reader, const char *kind)
{
    acme_import_t *imp = NULL;
    const char *why = NULL;

    ck_assert_int_eq(reader(pool, tmpdir, now, &imp, &why), APR_SUCCESS);
    ck_assert_ptr_nonnull(imp);
    ck_assert_str_eq(imp->kind, kind);
    return imp;
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

/* ---- whole stores ---------------------------------------------------------------- */

/* A key type outside mod_acme's list. */
static acme_key_t *rsa1024(void)
{
    EVP_PKEY *k = EVP_RSA_gen(1024);

    ck_assert_ptr_nonnull(k);
    return acme_key_wrap(pool, k);
}

static char *pem_key(const acme_key_t *key)
{
    char *pem;
    apr_size_t len;

    ck_assert_int_eq(acme_key_to_pem(pool, key, &pem, &len), APR_SUCCESS);
    return pem;
}

/* md_store.json with a random store key; the key's raw bytes go to pass. */
static void put_md_store(unsigned char pass[48])
{
    ck_assert(RAND_bytes(pass, 48) == 1);
    put("md_store.json", apr_psprintf(pool, "{\"store\":{\"format\":3},\"key\":\"%s\"}",
                                      acme_b64u_encode(pool, pass, 48)));
}

static void put_md_account(const char *name, const char *status, const char *pem)
{
    const char *rel = apr_pstrcat(pool, "accounts/", name, NULL);

    put(apr_pstrcat(pool, rel, "/account.json", NULL),
        apr_psprintf(pool, "{\"status\":\"%s\",\"url\":\"https://ca.test/acct/%s\","
                     "\"ca-url\":\"https://ca.test/dir\",\"contact\":[\"mailto:admin@example.org\"]}",
                     status, name));
    if (pem) {
        put(apr_pstrcat(pool, rel, "/account.pem", NULL), pem);
    }
}

/* domains/<name>/ with mod_md's defaults: md.json naming name, pubcert.pem, privkey.pem (when not NULL). */
static void put_md_domain(const char *name, const char *chain, const char *key)
{
    const char *rel = apr_pstrcat(pool, "domains/", name, NULL);

    put(apr_pstrcat(pool, rel, "/md.json", NULL), apr_psprintf(pool, "{\"domains\":[\"%s\"]}", name));
    put(apr_pstrcat(pool, rel, "/pubcert.pem", NULL), chain);
    if (key) {
        put(apr_pstrcat(pool, rel, "/privkey.pem", NULL), key);
    }
}

/* d was not taken for the reason the note starting with prefix gives. */
static void refused(const acme_import_domain_t *d, const char *id, const char *prefix)
{
    ck_assert_str_eq(d->id, id);
    ck_assert_int_eq(d->certs->nelts, 0);
    ck_assert_str_eq(d->why_not, "no certificate that can be taken");
    ck_assert_msg(note(d, prefix) != NULL, "%s: no note '%s' (first: %s)", id, prefix,
                  d->notes->nelts ? APR_ARRAY_IDX(d->notes, 0, const char *) : "none");
}

/* The one account of imp, taken: found at source as ref, with its URL, CA, contact and key. */
static const acme_import_account_t *only_account(const acme_import_t *imp, const char *source,
                                                 const char *ref, const char *url,
                                                 const char *ca_url, const acme_key_t *key)
{
    const acme_import_account_t *a;

    ck_assert_int_eq(imp->accounts->nelts, 1);
    a = account(imp, 0);
    ck_assert_ptr_null(a->why_not);
    ck_assert_str_eq(a->source, source);
    ck_assert_str_eq(a->ref, ref);
    ck_assert_str_eq(a->url, url);
    ck_assert_str_eq(a->ca_url, ca_url);
    ck_assert_str_eq(a->status, "valid");
    ck_assert_str_eq(json_string_value(json_array_get(a->contact, 0)), "mailto:admin@example.org");
    ck_assert_ptr_nonnull(a->key);
    ck_assert_int_eq(EVP_PKEY_eq(acme_key_evp(a->key), acme_key_evp(key)), 1);
    return a;
}

/* The one domain of imp, taken: example.org and www.example.org from source, with ca_url
 * and the account a (by its name in the source). */
static const acme_import_domain_t *only_domain(const acme_import_t *imp, const char *source,
                                               const char *ca_url, const acme_import_account_t *a)
{
    const acme_import_domain_t *d;

    ck_assert_int_eq(imp->domains->nelts, 1);
    d = domain(imp, 0);
    ck_assert_ptr_null(d->why_not);
    ck_assert_str_eq(d->id, "example.org");
    ck_assert_str_eq(d->source, source);
    ck_assert_int_eq(d->names->nelts, 2);
    ck_assert_str_eq(name(d, 0), "example.org");
    ck_assert_str_eq(name(d, 1), "www.example.org");
    ck_assert_str_eq(d->ca_url, ca_url);
    ck_assert_str_eq(d->account_ref, a->ref);
    ck_assert_ptr_eq(acme_import_account_of(imp, d), a);
    return d;
}

/* An account with its (encrypted) key and URL, a domain with both its certificates and keys. */
START_TEST(mod_md_taken)
{
    unsigned char pass[48];
    acme_key_t *akey;
    set_t s384 = fresh(ACME_KEY_EC384, SAN2), s256 = fresh(ACME_KEY_EC256, SAN2);
    const acme_import_account_t *a;
    const acme_import_domain_t *d;
    const acme_import_cert_t *c;
    acme_import_t *imp;

    put_md_store(pass);
    ck_assert_int_eq(acme_key_generate(pool, ACME_KEY_EC256, &akey), APR_SUCCESS);
    put_md_account("ACME-ca.test-0000", "valid", encrypted_pem(akey, pass, 48));
    put("domains/example.org/md.json",
        "{\"name\":\"example.org\",\"domains\":[\"www.example.org\",\"Example.org\"],"
        "\"ca\":{\"account\":\"ACME-ca.test-0000\",\"urls\":[\"https://ca.test/dir\"]},"
        "\"privkey\":[{\"type\":\"EC\",\"curve\":\"secp384r1\"},{\"type\":\"EC\",\"curve\":\"secp256r1\"}],"
        "\"renew-window\":\"21d\",\"state\":2}");
    put_pair("domains/example.org", "pubcert.secp384r1.pem", "privkey.secp384r1.pem", &s384);
    put_pair("domains/example.org", "pubcert.secp256r1.pem", "privkey.secp256r1.pem", &s256);
    imp = read_store(acme_import_mod_md, "mod_md");

    a = only_account(imp, "accounts/ACME-ca.test-0000", "ACME-ca.test-0000",
                     "https://ca.test/acct/ACME-ca.test-0000", "https://ca.test/dir", akey);

    /* The managed domain's name leads, lower-cased. */
    d = only_domain(imp, "domains/example.org", "https://ca.test/dir", a);
    ck_assert_int_eq(d->notes->nelts, 0);
    /* mod_md's order of key types: the first is the primary. */
    ck_assert_int_eq(d->certs->nelts, 2);
    c = cert(d, 0);
    ck_assert_str_eq(c->key_type, "ec384");
    ck_assert_str_eq(c->source, "domains/example.org/pubcert.secp384r1.pem");
    ck_assert_str_eq(c->chain_pem, s384.chain);
    ck_assert(same_key(key_of(c->key_pem), s384.key));
    ck_assert(c->serial && *c->serial);
    ck_assert(c->not_before <= now && c->not_after > now + 59 * DAY);
    c = cert(d, 1);
    ck_assert_str_eq(c->key_type, "ec256");
    ck_assert(same_key(key_of(c->key_pem), s256.key));
}
END_TEST

/* Renewal state: the window, a renewal mod_md staged but had not activated, its last failed run. */
START_TEST(mod_md_renewal_state)
{
    set_t s = fresh(ACME_KEY_EC256, SAN2);
    const acme_import_domain_t *d;
    acme_import_t *imp;

    put("md_store.json", "{\"store\":{\"format\":3}}");
    put("domains/example.org/md.json",
        "{\"name\":\"example.org\",\"domains\":[\"example.org\",\"www.example.org\"],"
        "\"privkey\":[{\"type\":\"EC\",\"curve\":\"secp256r1\"},{\"type\":\"RSA\",\"bits\":2048}],"
        "\"renew-window\":\"33%\"}");
    put_pair("domains/example.org", "pubcert.secp256r1.pem", "privkey.secp256r1.pem", &s);
    put("domains/example.org/job.json", "{\"errors\":3,\"last\":{\"detail\":\"rate\\nlimited\"}}");
    put_pair("staging/example.org", "pubcert.secp256r1.pem", "privkey.secp256r1.pem", &s);
    imp = read_store(acme_import_mod_md, "mod_md");

    ck_assert_int_eq(imp->accounts->nelts, 0);
    d = domain(imp, 0);
    ck_assert_ptr_null(d->why_not);
    ck_assert_int_eq(d->certs->nelts, 1);
    ck_assert_str_eq(cert(d, 0)->key_type, "ec256");
    ck_assert_str_eq(d->renew_window, "33%");
    ck_assert_str_eq(d->renew_window_note, "mod_md's renew-window");
    ck_assert_ptr_null(d->account_ref);
    ck_assert_ptr_null(acme_import_account_of(imp, d));
    ck_assert_int_eq(d->notes->nelts, 4);
    ck_assert_str_eq(APR_ARRAY_IDX(d->notes, 0, const char *),
                     "not taken: domains/example.org/pubcert.pem is missing");
    ck_assert_str_eq(APR_ARRAY_IDX(d->notes, 1, const char *),
                     "only 1 of its 2 key types are taken: mod_acme orders the others when they "
                     "are configured");
    ck_assert_str_eq(APR_ARRAY_IDX(d->notes, 2, const char *),
                     "staging/example.org (a renewal mod_md had not activated yet) is not taken: "
                     "mod_acme renews by itself when due");
    /* the detail from the file is made printable */
    ck_assert_str_eq(APR_ARRAY_IDX(d->notes, 3, const char *),
                     "mod_md's last renewal attempt failed (3 errors: rate?limited); mod_acme "
                     "starts afresh");
}
END_TEST

START_TEST(mod_md_accounts_not_taken)
{
    unsigned char pass[48], other[48];
    acme_key_t *akey;
    const char *pem;
    acme_import_t *imp;

    put_md_store(pass);
    ck_assert(RAND_bytes(other, sizeof(other)) == 1);
    ck_assert_int_eq(acme_key_generate(pool, ACME_KEY_EC256, &akey), APR_SUCCESS);
    pem = encrypted_pem(akey, pass, 48);
    put_md_account("ACME-a-0000", "valid", encrypted_pem(akey, other, 48));
    put_md_account("ACME-b-0000", "valid", NULL);
    put("accounts/ACME-c-0000/account.json", "{garbage");
    put("accounts/ACME-c-0000/account.pem", pem);
    put_md_account("ACME-d-0000", "deactivated", pem);
    put("accounts/ACME-e-0000/account.pem", pem);
    put_md_account("ACME-f-0000", "valid", encrypted_pem(rsa1024(), pass, 48));
    /* A directory that is a symbolic link is not followed into another tree. */
    put("elsewhere/ACME-g-0000/account.json", "{\"url\":\"u\",\"ca-url\":\"c\"}");
    put("elsewhere/ACME-g-0000/account.pem", pem);
    link_to("../elsewhere/ACME-g-0000", "accounts/ACME-g-0000");
    imp = read_store(acme_import_mod_md, "mod_md");

    ck_assert_int_eq(imp->accounts->nelts, 6);
    ck_assert_str_eq(account(imp, 0)->why_not, "accounts/ACME-a-0000/account.pem cannot be decrypted "
                     "with the key of md_store.json");
    ck_assert_ptr_null(account(imp, 0)->key);
    ck_assert_str_eq(account(imp, 1)->why_not, "accounts/ACME-b-0000/account.pem is missing");
    ck_assert_str_eq(account(imp, 2)->why_not, "accounts/ACME-c-0000/account.json lacks the account "
                     "or CA URL");
    ck_assert_str_eq(account(imp, 3)->why_not, "the account is deactivated");
    ck_assert_str_eq(account(imp, 3)->status, "deactivated");
    ck_assert_int_eq(EVP_PKEY_eq(acme_key_evp(account(imp, 3)->key), acme_key_evp(akey)), 1);
    ck_assert_str_eq(account(imp, 4)->why_not, "accounts/ACME-e-0000/account.json is missing");
    ck_assert_str_eq(account(imp, 5)->why_not, "the key in accounts/ACME-f-0000/account.pem is of a "
                     "type mod_acme does not sign with");
}
END_TEST

START_TEST(mod_md_domains_not_taken)
{
    set_t c = fresh(ACME_KEY_EC256, "DNS:c.test"), d1 = fresh(ACME_KEY_EC256, "DNS:d.test");
    set_t d2 = fresh(ACME_KEY_EC256, "DNS:d.test"), f = fresh(ACME_KEY_EC256, "DNS:f.test");
    set_t e = make_set(inter, ACME_KEY_EC256, "DNS:e.test", now - 90 * DAY, now - DAY);
    set_t i = fresh(ACME_KEY_EC256, "DNS:i.test"), k = fresh(ACME_KEY_EC256, "DNS:k.test");
    set_t k2 = fresh(ACME_KEY_EC256, "DNS:k.test"), l = fresh(ACME_KEY_EC256, "DNS:l.test");
    acme_import_t *imp;
    const acme_import_domain_t *dk;
    const char *n;

    put("md_store.json", "{}");
    put("domains/a.test/md.json", "{not json");
    mkdirs("domains/b.test");
    put_md_domain("c.test", c.chain, NULL);
    put_md_domain("d.test", d1.chain, d2.key);
    put_md_domain("e.test", e.chain, e.key);
    put("domains/f.test/md.json", "{\"domains\":[\"f.test\",\"www.f.test\"]}");
    put_pair("domains/f.test", "pubcert.pem", "privkey.pem", &f);
    put_md_domain("g.test", "garbage\n", c.key);
    put_md_domain("h.test", c.chain, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
    put_md_domain("i.test", i.leaf, i.key);
    put_md_domain("j.test", c.chain, pem_key(rsa1024()));
    /* Two spellings of one curve: the second ec256 certificate is left behind. */
    put("domains/k.test/md.json", "{\"domains\":[\"k.test\"],\"privkey\":[{\"type\":\"EC\",\"curve\":"
        "\"secp256r1\"},{\"type\":\"EC\",\"curve\":\"prime256v1\"}]}");
    put_pair("domains/k.test", "pubcert.secp256r1.pem", "privkey.secp256r1.pem", &k);
    put_pair("domains/k.test", "pubcert.prime256v1.pem", "privkey.prime256v1.pem", &k2);
    put("elsewhere/l.test/md.json", "{\"domains\":[\"l.test\"]}");
    put_pair("elsewhere/l.test", "pubcert.pem", "privkey.pem", &l);
    link_to("../elsewhere/l.test", "domains/l.test");
    put_md_domain("m.test", c.chain, NULL);
    link_to("gone.pem", "domains/m.test/privkey.pem");
    imp = read_store(acme_import_mod_md, "mod_md");

    /* l.test, a link to a directory elsewhere, is not read. */
    ck_assert_int_eq(imp->domains->nelts, 12);
    ck_assert_str_eq(domain(imp, 0)->id, "a.test");
    ck_assert_str_eq(domain(imp, 0)->why_not, "domains/a.test/md.json does not describe a managed domain");
    ck_assert_str_eq(domain(imp, 1)->id, "b.test");
    ck_assert_str_eq(domain(imp, 1)->why_not, "domains/b.test/md.json is missing");
    refused(domain(imp, 2), "c.test", "not taken: domains/c.test/privkey.pem is missing");
    refused(domain(imp, 3), "d.test", "not taken: domains/d.test/privkey.pem is not the key of the "
            "certificate in domains/d.test/pubcert.pem");
    refused(domain(imp, 4), "e.test", "not taken: domains/e.test/pubcert.pem: certificate 0 of the "
            "chain (");
    n = note(domain(imp, 4), "not taken: domains/e.test/pubcert.pem");
    ck_assert(strstr(n, ") expired at ") != NULL);
    refused(domain(imp, 5), "f.test", "not taken: the certificate in domains/f.test/pubcert.pem does "
            "not cover every name of f.test");
    refused(domain(imp, 6), "g.test", "not taken: domains/g.test/pubcert.pem does not hold PEM "
            "certificates");
    refused(domain(imp, 7), "h.test", "not taken: domains/h.test/privkey.pem does not hold a "
            "readable private key");
    refused(domain(imp, 8), "i.test", "not taken: domains/i.test/pubcert.pem: the chain has no "
            "issuer certificate");
    refused(domain(imp, 9), "j.test", apr_psprintf(pool, "not taken: the key in domains/j.test/"
            "privkey.pem is of a type mod_acme does not use (it uses %s)", acme_key_type_names()));
    dk = domain(imp, 10);
    ck_assert_ptr_null(dk->why_not);
    ck_assert_int_eq(dk->certs->nelts, 1);
    ck_assert(same_key(key_of(cert(dk, 0)->key_pem), k.key));
    ck_assert_ptr_nonnull(note(dk, "not taken: domains/k.test/pubcert.prime256v1.pem is a second "
                               "ec256 certificate"));
    ck_assert_ptr_nonnull(note(dk, "only 1 of its 2 key types are taken"));
    /* A link that leads nowhere is a missing file. */
    refused(domain(imp, 11), "m.test", "not taken: domains/m.test/privkey.pem is missing");
}
END_TEST

START_TEST(mod_md_not_a_store)
{
    acme_import_t *imp = NULL;
    const char *why = NULL;

    ck_assert_int_eq(acme_import_mod_md(pool, tmpdir, now, &imp, &why), APR_EINVAL);
    ck_assert_ptr_null(imp);
    ck_assert_str_eq(why, apr_pstrcat(pool, tmpdir, " is not a mod_md store: md_store.json is missing",
                                      NULL));
    put("md_store.json", "[\"key\"]");
    ck_assert_int_eq(acme_import_mod_md(pool, tmpdir, now, &imp, &why), APR_EINVAL);
    ck_assert_str_eq(why, apr_pstrcat(pool, tmpdir, "/md_store.json does not parse", NULL));
}
END_TEST

static void put_certbot_account(const char *id, const char *regr, const char *jwk)
{
    const char *rel = apr_pstrcat(pool, "accounts/acme.test/dir/", id, NULL);

    put(apr_pstrcat(pool, rel, "/regr.json", NULL), regr);
    if (jwk) {
        put(apr_pstrcat(pool, rel, "/private_key.json", NULL), jwk);
    }
}

/* renewal/<lineage>.conf with extra lines at the top and in [renewalparams], live/<lineage>/
 * linking into archive/ as certbot keeps it. */
static void put_lineage(const char *lineage, const char *top, const char *params, const set_t *s)
{
    const char *arch = apr_pstrcat(pool, "archive/", lineage, NULL);
    const char *live = apr_pstrcat(pool, "live/", lineage, NULL);

    put(apr_pstrcat(pool, "renewal/", lineage, ".conf", NULL),
        apr_psprintf(pool, "version = 2.11.0\nrenew_before_expiry = 20 days\n%s\n[renewalparams]\n"
                     "account = 0123abcd\nserver = https://acme.test/dir\nauthenticator = webroot\n"
                     "%s\n", top, params));
    if (s) {
        put_pair(arch, "fullchain1.pem", "privkey1.pem", s);
        link_to(apr_pstrcat(pool, "../../", arch, "/fullchain1.pem", NULL),
                apr_pstrcat(pool, live, "/fullchain.pem", NULL));
        link_to(apr_pstrcat(pool, "../../", arch, "/privkey1.pem", NULL),
                apr_pstrcat(pool, live, "/privkey.pem", NULL));
    }
}

START_TEST(certbot_taken)
{
    acme_key_t *akey;
    set_t s = fresh(ACME_KEY_EC256, "DNS:www.example.org,DNS:example.org");
    const acme_import_account_t *a;
    const acme_import_domain_t *d;
    acme_import_t *imp;

    ck_assert_int_eq(acme_key_generate(pool, ACME_KEY_EC256, &akey), APR_SUCCESS);
    put_certbot_account("0123abcd", "{\"body\":{\"contact\":[\"mailto:admin@example.org\"],"
                        "\"status\":\"valid\"},\"uri\":\"https://acme.test/acct/7\"}", private_jwk(akey));
    put_lineage("example.org", "", "deploy_hook = systemctl reload apache2\n[[webroot_map]]\n"
                "example.org = /var/www/html", &s);
    imp = read_store(acme_import_certbot, "certbot");

    a = only_account(imp, "accounts/acme.test/dir/0123abcd", "0123abcd", "https://acme.test/acct/7",
                     "https://acme.test/dir", akey);

    /* The lineage's name leads, then the certificate's other names. */
    d = only_domain(imp, "live/example.org", "https://acme.test/dir", a);
    ck_assert_str_eq(d->renew_window, "20d");
    ck_assert_str_eq(d->renew_window_note, "certbot's renew_before_expiry");
    /* live/ holds links into archive/: they are read through. */
    ck_assert_int_eq(d->certs->nelts, 1);
    ck_assert_str_eq(cert(d, 0)->key_type, "ec256");
    ck_assert_str_eq(cert(d, 0)->source, "live/example.org/fullchain.pem");
    ck_assert_str_eq(cert(d, 0)->chain_pem, s.chain);
    ck_assert(same_key(key_of(cert(d, 0)->key_pem), s.key));
    /* What certbot did that mod_acme does another way is named. */
    ck_assert_int_eq(d->notes->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(d->notes, 0, const char *), "certbot's deploy_hook 'systemctl "
                     "reload apache2' is not taken: ACMENotifyCmd runs a program on the events issued "
                     "and activated");
}
END_TEST

START_TEST(certbot_not_taken)
{
    acme_key_t *akey;
    const char *jwk, *other = apr_pstrcat(pool, tmpdir, "/copy/e.test", NULL);
    set_t c1 = fresh(ACME_KEY_EC256, "DNS:c.test"), c2 = fresh(ACME_KEY_EC256, "DNS:c.test");
    set_t d = make_set(inter, ACME_KEY_EC256, "DNS:d.test", now - 90 * DAY, now - DAY);
    set_t e = fresh(ACME_KEY_EC256, "DNS:e.test"), f = fresh(ACME_KEY_EC256, "DNS:f.test");
    set_t g = fresh(ACME_KEY_EC256, "DNS:g.test");
    set_t h = fresh(ACME_KEY_EC256, NULL);
    const acme_import_domain_t *x;
    acme_import_t *imp;

    ck_assert_int_eq(acme_key_generate(pool, ACME_KEY_EC256, &akey), APR_SUCCESS);
    jwk = private_jwk(akey);
    put_certbot_account("aa", "{\"body\":{\"status\":\"deactivated\"},\"uri\":\"https://acme.test/acct/1\"}",
                        jwk);
    put_certbot_account("bb", "{\"uri\":\"https://acme.test/acct/2\"}", "{}");
    put_certbot_account("cc", "{\"body\":{}}", jwk);
    put_certbot_account("dd", "{\"uri\":\"https://acme.test/acct/4\"}", NULL);

    put("renewal/a.test.conf", "[bad\n");
    put_lineage("b.test", "", "", NULL);
    put_lineage("c.test", "", "", &c1);
    put("archive/c.test/privkey1.pem", c2.key);
    put_lineage("d.test", "", "", &d);
    /* live/ missing from a copy: the absolute paths of the conf are read instead. */
    put_lineage("e.test", apr_psprintf(pool, "fullchain = %s/fullchain.pem\nprivkey = %s/privkey.pem",
                                       other, other), "", NULL);
    put_pair("copy/e.test", "fullchain.pem", "privkey.pem", &e);
    put_lineage("f.test", "", "", NULL);
    put("live/f.test/fullchain.pem", f.chain);
    link_to("../../archive/f.test/privkey1.pem", "live/f.test/privkey.pem");
    put_lineage("g.test", "renew_before_expiry = 1 month", "", &g);
    put_lineage("h.test", "", "", &h);
    put("renewal/notes.txt", "not a lineage\n");
    imp = read_store(acme_import_certbot, "certbot");

    ck_assert_int_eq(imp->accounts->nelts, 4);
    ck_assert_str_eq(account(imp, 0)->why_not, "the account is deactivated");
    ck_assert_str_eq(account(imp, 1)->why_not, "accounts/acme.test/dir/bb/private_key.json does not "
                     "hold a private key");
    ck_assert_str_eq(account(imp, 2)->why_not, "accounts/acme.test/dir/cc/regr.json lacks the "
                     "account URL (uri)");
    ck_assert_str_eq(account(imp, 3)->why_not, "accounts/acme.test/dir/dd/private_key.json is "
                     "missing");

    ck_assert_int_eq(imp->domains->nelts, 8);
    ck_assert_str_eq(domain(imp, 0)->id, "a.test");
    ck_assert_str_eq(domain(imp, 0)->why_not, "renewal/a.test.conf does not parse");
    refused(domain(imp, 1), "b.test", "not taken: live/b.test/fullchain.pem is missing");
    refused(domain(imp, 2), "c.test", "not taken: live/c.test/privkey.pem is not the key of the "
            "certificate in live/c.test/fullchain.pem");
    refused(domain(imp, 3), "d.test", "not taken: live/d.test/fullchain.pem: certificate 0 of the "
            "chain (");
    x = domain(imp, 4);
    ck_assert_ptr_null(x->why_not);
    ck_assert_str_eq(cert(x, 0)->source, apr_pstrcat(pool, other, "/fullchain.pem", NULL));
    ck_assert_ptr_nonnull(note(x, "live/e.test/fullchain.pem is missing: the files named in "
                              "renewal/e.test.conf are read"));
    refused(domain(imp, 5), "f.test", "not taken: live/f.test/privkey.pem is missing");
    /* A window certbot counts in months has no fixed length: mod_acme's default applies. */
    x = domain(imp, 6);
    ck_assert_ptr_null(x->why_not);
    ck_assert_ptr_null(x->renew_window);
    ck_assert_str_eq(x->renew_window_note, "certbot's renew_before_expiry '1 month' has no mod_acme form");
    refused(domain(imp, 7), "h.test", "not taken: the certificate in live/h.test/fullchain.pem names "
            "no DNS name or IP address");
}
END_TEST

START_TEST(certbot_not_a_dir)
{
    acme_import_t *imp = NULL;
    const char *why = NULL;

    put("live/a.test/fullchain.pem", "x");
    ck_assert_int_eq(acme_import_certbot(pool, tmpdir, now, &imp, &why), APR_EINVAL);
    ck_assert_ptr_null(imp);
    ck_assert_str_eq(why, apr_pstrcat(pool, tmpdir, " is not a certbot configuration directory (no "
                                      "renewal/ or accounts/)", NULL));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("import");
    TCase *tc = tu_tcase(s, "files", 0, setup, teardown);

    tcase_add_test(tc, time_spans);
    tcase_add_test(tc, certbot_conf);
    tcase_add_test(tc, md_json);
    tc = tu_tcase(s, "stores", 0, store_setup, store_teardown);
    tcase_add_test(tc, mod_md_taken);
    tcase_add_test(tc, mod_md_renewal_state);
    tcase_add_test(tc, mod_md_accounts_not_taken);
    tcase_add_test(tc, mod_md_domains_not_taken);
    tcase_add_test(tc, mod_md_not_a_store);
    tcase_add_test(tc, certbot_taken);
    tcase_add_test(tc, certbot_not_taken);
    tcase_add_test(tc, certbot_not_a_dir);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
