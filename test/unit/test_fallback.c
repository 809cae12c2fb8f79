/* test_fallback.c: unit tests of fallback certificates in the store: the shared key made once, a certificate per domain reused while its names, key and time fit, and made anew when they do not or the file was cut short. */
#include <string.h>
#include <sys/stat.h>

#include <apr_strings.h>

#include "acme_fallback.h"
#include "acme_key.h"
#include "acme_x509.h"
#include "testutil.h"

static acme_store_t *st;

static void setup(void)
{
    tu_setup();
    tu_scratch_create("acme-test-fallback");
    ck_assert_int_eq(acme_store_file_open(pool, tmpdir, 0, &st), APR_SUCCESS);
}

static void teardown(void)
{
    tu_scratch_remove();
    tu_teardown();
}

static apr_array_header_t *names_of(const char *a, const char *b)
{
    apr_array_header_t *n = apr_array_make(pool, 2, sizeof(const char *));

    APR_ARRAY_PUSH(n, const char *) = a;
    if (b) {
        APR_ARRAY_PUSH(n, const char *) = b;
    }
    return n;
}

static const char *cert_text(const char *entry)
{
    char *data;
    apr_size_t len;

    ck_assert_int_eq(st->load(st, pool, ACME_SG_FALLBACK, entry, ACME_FALLBACK_CERT_ITEM, &data,
                              &len), APR_SUCCESS);
    return data;
}

static const char *version_of(const char *entry, const char *item)
{
    acme_store_file_t f;

    ck_assert_int_eq(st->file(st, pool, ACME_SG_FALLBACK, entry, item, &f), APR_SUCCESS);
    return f.version;
}

/* Each pass with a fresh memo, as a new process would. */
static apr_status_t prepare(const char *entry, apr_array_header_t *names)
{
    acme_fallback_pass_t *fp = acme_fallback_pass(pool, st, acme_fallback_memo_make(pool));

    return acme_fallback_prepare(fp, pool, entry, names);
}

START_TEST(made_then_reused)
{
    const char *text, *key_v;
    apr_array_header_t *certs;
    acme_key_t *key;
    char *pem;
    apr_size_t len;
    struct stat sb;

    ck_assert_int_eq(prepare("example.org", names_of("example.org", "www.example.org")),
                     APR_SUCCESS);
    text = cert_text("example.org");
    ck_assert(!strncmp(text, "mod_acme fallback v1 key=", 25));
    ck_assert_ptr_nonnull(strstr(text, " names=example.org www.example.org\n-----BEGIN"));
    /* the certificate is the shared key's */
    pem = strstr(text, "-----BEGIN");
    ck_assert_int_eq(acme_certs_from_pem(pool, pem, strlen(pem), &certs), APR_SUCCESS);
    ck_assert_int_eq(st->load(st, pool, ACME_SG_FALLBACK, ACME_FALLBACK_KEY_ENTRY,
                              ACME_FALLBACK_KEY_ITEM, &pem, &len), APR_SUCCESS);
    ck_assert_int_eq(acme_key_from_pem(pool, pem, len, &key), APR_SUCCESS);
    ck_assert(acme_cert_matches_key(APR_ARRAY_IDX(certs, 0, acme_cert_t *), key));
    ck_assert_int_eq(stat(apr_pstrcat(pool, tmpdir, "/fallback/_shared/privkey.pem", NULL), &sb),
                     0);
    ck_assert_int_eq(sb.st_mode & 0777, 0600);
    key_v = version_of(ACME_FALLBACK_KEY_ENTRY, ACME_FALLBACK_KEY_ITEM);

    /* a later pass reuses both: same bytes, same files */
    ck_assert_int_eq(prepare("example.org", names_of("example.org", "www.example.org")),
                     APR_SUCCESS);
    ck_assert_str_eq(cert_text("example.org"), text);
    ck_assert_str_eq(version_of(ACME_FALLBACK_KEY_ENTRY, ACME_FALLBACK_KEY_ITEM), key_v);
    /* one shared key for every domain */
    ck_assert_int_eq(prepare("other.org", names_of("other.org", NULL)), APR_SUCCESS);
    ck_assert_str_eq(version_of(ACME_FALLBACK_KEY_ENTRY, ACME_FALLBACK_KEY_ITEM), key_v);
}
END_TEST

START_TEST(made_anew_when_unfit)
{
    const char *text, *cut;

    ck_assert_int_eq(prepare("example.org", names_of("example.org", NULL)), APR_SUCCESS);
    text = cert_text("example.org");
    /* other names */
    ck_assert_int_eq(prepare("example.org", names_of("example.org", "www.example.org")),
                     APR_SUCCESS);
    ck_assert_ptr_nonnull(strstr(cert_text("example.org"), " names=example.org www.example.org\n"));
    /* a file cut short (written without fsync) */
    text = cert_text("example.org");
    cut = apr_pstrndup(pool, text, strlen(text) - 40);
    ck_assert_int_eq(st->save(st, pool, ACME_SG_FALLBACK, "example.org", ACME_FALLBACK_CERT_ITEM,
                              cut, strlen(cut), 0, NULL), APR_SUCCESS);
    ck_assert_int_eq(prepare("example.org", names_of("example.org", "www.example.org")),
                     APR_SUCCESS);
    ck_assert_str_ne(cert_text("example.org"), cut);
    ck_assert_ptr_nonnull(strstr(cert_text("example.org"), "-----END CERTIFICATE-----"));
    /* too little time left */
    text = cert_text("example.org");
    cut = apr_psprintf(pool, "mod_acme fallback v1 key=%s", strchr(text, '=') + 1);
    {
        char *na = strstr(cut, "not_after="), *sp = strchr(na, ' ');
        const char *soon = apr_psprintf(pool, "%" APR_TIME_T_FMT,
                                        apr_time_sec(apr_time_now()) + 3600);

        cut = apr_pstrcat(pool, apr_pstrndup(pool, cut, (apr_size_t)(na + 10 - cut)), soon, sp,
                          NULL);
    }
    ck_assert_int_eq(st->save(st, pool, ACME_SG_FALLBACK, "example.org", ACME_FALLBACK_CERT_ITEM,
                              cut, strlen(cut), 0, NULL), APR_SUCCESS);
    ck_assert_int_eq(prepare("example.org", names_of("example.org", "www.example.org")),
                     APR_SUCCESS);
    ck_assert_str_ne(cert_text("example.org"), cut);
    /* another shared key */
    text = cert_text("example.org");
    ck_assert_int_eq(st->remove(st, pool, ACME_SG_FALLBACK, ACME_FALLBACK_KEY_ENTRY, NULL, NULL),
                     APR_SUCCESS);
    ck_assert_int_eq(prepare("example.org", names_of("example.org", "www.example.org")),
                     APR_SUCCESS);
    ck_assert_str_ne(cert_text("example.org"), text);
}
END_TEST

/* The memo spares the read while the file's version is unchanged. */
START_TEST(memo_across_passes)
{
    acme_fallback_memo_t *memo = acme_fallback_memo_make(pool);
    apr_array_header_t *names = names_of("example.org", NULL);
    const char *v;

    ck_assert_int_eq(acme_fallback_prepare(acme_fallback_pass(pool, st, memo), pool,
                                           "example.org", names), APR_SUCCESS);
    v = version_of("example.org", ACME_FALLBACK_CERT_ITEM);
    ck_assert_int_eq(acme_fallback_prepare(acme_fallback_pass(pool, st, memo), pool,
                                           "example.org", names), APR_SUCCESS);
    ck_assert_str_eq(version_of("example.org", ACME_FALLBACK_CERT_ITEM), v);
    /* a changed file is read again, and remade when it does not fit */
    ck_assert_int_eq(st->save(st, pool, ACME_SG_FALLBACK, "example.org", ACME_FALLBACK_CERT_ITEM,
                              "junk", 4, 0, NULL), APR_SUCCESS);
    ck_assert_int_eq(acme_fallback_prepare(acme_fallback_pass(pool, st, memo), pool,
                                           "example.org", names), APR_SUCCESS);
    ck_assert(!strncmp(cert_text("example.org"), "mod_acme fallback v1 key=", 25));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("fallback");
    TCase *tc = tu_tcase(s, "fallback", 60, setup, teardown);

    tcase_add_test(tc, made_then_reused);
    tcase_add_test(tc, made_anew_when_unfit);
    tcase_add_test(tc, memo_across_passes);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
