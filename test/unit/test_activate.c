/* test_activate.c: unit tests of the one activation path: staged sets read as bytes (links, hard links, FIFOs, oversize and foreign items refused), verified in memory, compared with the active set and copied into fresh root files with the old set archived. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_strings.h>

#include "acme_activate.h"
#include "acme_json.h"
#include "acme_store.h"
#include "testcerts.h"
#include "testutil.h"

static acme_store_t *store;
static ca_t *inter;

static void setup(void)
{
    ca_t *root;

    tu_setup();
    tu_scratch_create("test_activate");
    ck_assert_int_eq(acme_store_file_open(pool, apr_pstrcat(pool, tmpdir, "/store", NULL), 0, &store),
                     APR_SUCCESS);
    root = make_ca("Test Root", NULL);
    inter = make_ca("Test Inter", root);
}

static void teardown(void)
{
    tu_scratch_remove();
    tu_teardown();
}

static const char *spath(const char *rel)
{
    return apr_pstrcat(pool, tmpdir, "/store/", rel, NULL);
}

static void put(const char *item, const char *data, int priv)
{
    ck_assert_int_eq(store->save(store, pool, ACME_SG_STAGING, "example.org", item, data,
                                 strlen(data), priv, NULL), APR_SUCCESS);
}

static const char *get(acme_store_group_e g, const char *item)
{
    char *data;
    apr_size_t len;

    return store->load(store, pool, g, "example.org", item, &data, &len) == APR_SUCCESS ? data
                                                                                         : NULL;
}

/* One key type's pair; the first type's also as the unsuffixed pair. */
static void stage_type(const char *type, set_t s, int primary)
{
    put(apr_pstrcat(pool, "fullchain.", type, ".pem", NULL), s.chain, 0);
    put(apr_pstrcat(pool, "privkey.", type, ".pem", NULL), s.key, 1);
    if (primary) {
        put("fullchain.pem", s.chain, 0);
        put("privkey.pem", s.key, 1);
    }
}

/* A complete staged set for names (meta.json last, as the drive writes it). */
static set_t stage_names(const char *sans, apr_time_t nb, apr_time_t na)
{
    set_t a = make_set(inter, ACME_KEY_EC256, sans, nb, na);

    stage_type("ec256", a, 1);
    stage_type("ec384", make_set(inter, ACME_KEY_EC384, sans, nb, na), 0);
    put(ACME_SET_META, "{\"name\": \"example.org\"}", 0);
    return a;
}

static set_t stage_good(void)
{
    apr_time_t now = apr_time_now();

    return stage_names(SAN2, now - DAY, now + 89 * DAY);
}

/* The state acme_activate_check finds, with its reason. */
static acme_staged_e check(const char **why)
{
    *why = NULL;
    return acme_activate_check(store, pool, domain2(), NULL, why);
}

static void refused(const char *expect)
{
    const char *why;

    ck_assert_int_eq(check(&why), ACME_STAGED_BAD);
    ck_assert_ptr_nonnull(why);
    if (!strstr(why, expect)) {
        ck_abort_msg("refused for \"%s\", expected \"%s\"", why, expect);
    }
}

static int archived(void)
{
    apr_array_header_t *names;

    ck_assert_int_eq(store->list(store, pool, ACME_SG_ARCHIVE, NULL, &names), APR_SUCCESS);
    return names->nelts;
}

START_TEST(copy_and_archive)
{
    acme_staged_e state;
    const char *why = NULL;
    set_t one, two;
    struct stat sb, sb2;

    ck_assert_int_eq(check(&why), ACME_STAGED_NONE);
    one = stage_good();
    ck_assert_int_eq(check(&why), ACME_STAGED_NEW);
    ck_assert_int_eq(acme_activate(store, pool, domain2(), &state, &why), APR_SUCCESS);
    ck_assert_int_eq(state, ACME_STAGED_NEW);
    /* the same bytes, in new files of this process, with the usual modes */
    ck_assert_str_eq(get(ACME_SG_DOMAINS, "fullchain.pem"), one.chain);
    ck_assert_str_eq(get(ACME_SG_DOMAINS, "privkey.ec256.pem"), one.key);
    ck_assert_str_eq(get(ACME_SG_DOMAINS, ACME_SET_META), "{\"name\": \"example.org\"}");
    ck_assert_int_eq(tu_file_mode(spath("domains/example.org/privkey.pem")), 0600);
    ck_assert_int_eq(tu_file_mode(spath("domains/example.org/fullchain.ec384.pem")), 0644);
    ck_assert_int_eq(tu_file_mode(spath("domains/example.org")), 0755);
    ck_assert_int_eq(stat(spath("staging/example.org/fullchain.pem"), &sb), 0);
    ck_assert_int_eq(stat(spath("domains/example.org/fullchain.pem"), &sb2), 0);
    ck_assert(sb.st_ino != sb2.st_ino);             /* copied, not moved */
    ck_assert_int_eq(sb2.st_nlink, 1);
    /* staging is left as it was: removing it is the drive's */
    ck_assert_str_eq(get(ACME_SG_STAGING, "fullchain.pem"), one.chain);
    /* now it is the active set: nothing to do */
    ck_assert_int_eq(check(&why), ACME_STAGED_ACTIVE);
    ck_assert_int_eq(acme_activate(store, pool, domain2(), &state, &why), APR_SUCCESS);
    ck_assert_int_eq(state, ACME_STAGED_ACTIVE);
    ck_assert_int_eq(archived(), 0);
    /* the next set replaces it; the first goes to the archive */
    two = stage_good();
    ck_assert_int_eq(acme_activate(store, pool, domain2(), &state, &why), APR_SUCCESS);
    ck_assert_int_eq(state, ACME_STAGED_NEW);
    ck_assert_str_eq(get(ACME_SG_DOMAINS, "fullchain.pem"), two.chain);
    ck_assert_int_eq(archived(), 1);
    /* only the items of a set are copied */
    put("extra.pem", "not part of a set", 0);
    stage_good();
    ck_assert_int_eq(acme_activate(store, pool, domain2(), &state, &why), APR_SUCCESS);
    ck_assert_ptr_null(get(ACME_SG_DOMAINS, "extra.pem"));
}
END_TEST

START_TEST(incomplete_is_not_refused)
{
    const char *why;
    set_t s = make_set(inter, ACME_KEY_EC256, SAN2, apr_time_now() - DAY,
                       apr_time_now() + 89 * DAY);

    /* a drive still writing (meta.json comes last) */
    stage_type("ec256", s, 1);
    ck_assert_int_eq(check(&why), ACME_STAGED_NONE);
    ck_assert_ptr_null(why);
    /* meta.json there but an item missing: refused, naming it */
    put(ACME_SET_META, "{\"name\": \"example.org\"}", 0);
    refused("staging/example.org/fullchain.ec384.pem is missing");
}
END_TEST

START_TEST(verify_refuses_bad_keys_names_dates_chains)
{
    apr_time_t now = apr_time_now();
    ca_t *stranger = make_ca("Stranger", NULL);
    set_t s;

    /* a key that is not the certificate's */
    stage_good();
    put("privkey.ec384.pem", make_set(inter, ACME_KEY_EC384, SAN2, now - DAY, now + DAY).key, 1);
    refused("does not belong");
    /* a name missing, a foreign name added */
    stage_names("DNS:example.org", now - DAY, now + 89 * DAY);
    refused("does not name exactly");
    stage_names(SAN2 ",DNS:victim.example", now - DAY, now + 89 * DAY);
    refused("does not name exactly");
    /* expired, not yet valid */
    stage_names(SAN2, now - 90 * DAY, now - DAY);
    refused("expired");
    stage_names(SAN2, now + 3 * DAY, now + 90 * DAY);
    refused("not valid before");
    /* a leaf without its issuer, or with one that did not issue it */
    s = stage_good();
    put("fullchain.ec256.pem", s.leaf, 0);
    put("fullchain.pem", s.leaf, 0);
    refused("no issuer");
    s.chain = apr_pstrcat(pool, s.leaf, pem_of(stranger->cert), NULL);
    put("fullchain.ec256.pem", s.chain, 0);
    put("fullchain.pem", s.chain, 0);
    refused("not issued");
    /* the unsuffixed pair must be the first type's */
    stage_good();
    put("fullchain.pem", "garbage", 0);
    refused("fullchain.pem differs");
    /* meta.json naming another domain, or not JSON */
    stage_good();
    put(ACME_SET_META, "{\"name\": \"victim.example\"}", 0);
    refused("names victim.example");
    put(ACME_SET_META, "{", 0);
    refused("not a JSON object");
}
END_TEST

START_TEST(read_refuses_links_fifos_oversize)
{
    const char *outside = apr_pstrcat(pool, tmpdir, "/outside.pem", NULL);
    set_t s = stage_good();
    char *big = apr_palloc(pool, ACME_SET_ITEM_MAX + 2);
    FILE *f;

    ck_assert_ptr_nonnull(f = fopen(outside, "w"));
    fputs(s.key, f);
    fclose(f);
    /* a symlink to a file elsewhere */
    ck_assert_int_eq(unlink(spath("staging/example.org/privkey.ec384.pem")), 0);
    ck_assert_int_eq(symlink(outside, spath("staging/example.org/privkey.ec384.pem")), 0);
    refused("privkey.ec384.pem is not a plain file");
    /* a hard link (could be anybody's file) */
    ck_assert_int_eq(unlink(spath("staging/example.org/privkey.ec384.pem")), 0);
    ck_assert_int_eq(link(outside, spath("staging/example.org/privkey.ec384.pem")), 0);
    refused("privkey.ec384.pem is not a plain file");
    /* a FIFO: refused at once, never waited on */
    ck_assert_int_eq(unlink(spath("staging/example.org/privkey.ec384.pem")), 0);
    ck_assert_int_eq(mkfifo(spath("staging/example.org/privkey.ec384.pem"), 0600), 0);
    refused("privkey.ec384.pem is not a plain file");
    /* too large */
    stage_good();
    memset(big, 'A', ACME_SET_ITEM_MAX + 1);
    big[ACME_SET_ITEM_MAX + 1] = '\0';
    put("fullchain.ec384.pem", big, 0);
    refused("larger than 64 KB");
    /* the whole entry a link to a complete set elsewhere */
    stage_good();
    ck_assert_int_eq(rename(spath("staging/example.org"), apr_pstrcat(pool, tmpdir, "/elsewhere",
                                                                      NULL)), 0);
    ck_assert_int_eq(symlink(apr_pstrcat(pool, tmpdir, "/elsewhere", NULL),
                             spath("staging/example.org")), 0);
    refused("meta.json is not a plain file");
    /* nothing was activated by any of it */
    ck_assert_ptr_null(get(ACME_SG_DOMAINS, "fullchain.pem"));
}
END_TEST

START_TEST(set_helpers)
{
    acme_domain_t *d = domain2();
    apr_array_header_t *names = acme_set_item_names(pool, d);
    acme_cert_set_t *set, *pub;
    const char *why;

    ck_assert_int_eq(names->nelts, 7);
    ck_assert_str_eq(APR_ARRAY_IDX(names, 0, const char *), "fullchain.ec256.pem");
    ck_assert_str_eq(APR_ARRAY_IDX(names, 3, const char *), "privkey.ec384.pem");
    ck_assert_str_eq(APR_ARRAY_IDX(names, 6, const char *), ACME_SET_META);
    stage_good();
    ck_assert_int_eq(acme_set_read(store, pool, ACME_SG_STAGING, d, 1, &set, &why), APR_SUCCESS);
    ck_assert_int_eq(set->items->nelts, 7);
    ck_assert_int_eq(strlen(set->digest), 64);
    ck_assert_ptr_null(acme_set_verify(pool, set, apr_time_now()));
    /* 90 days on, every certificate has expired */
    ck_assert_ptr_nonnull(acme_set_verify(pool, set, apr_time_now() + 90 * DAY));
    /* the unprivileged drive reads and compares the public items only */
    ck_assert_int_eq(acme_set_read(store, pool, ACME_SG_STAGING, d, 0, &pub, &why), APR_SUCCESS);
    ck_assert_int_eq(pub->items->nelts, 4);
    ck_assert(strcmp(pub->digest, set->digest) != 0);
    ck_assert(!acme_set_same(store, pool, pub, ACME_SG_DOMAINS, 1));
    ck_assert_int_eq(acme_activate_install(store, pool, set), APR_SUCCESS);
    ck_assert(acme_set_same(store, pool, pub, ACME_SG_DOMAINS, 1));
    ck_assert(acme_set_same(store, pool, set, ACME_SG_DOMAINS, 0));
    /* nothing staged under another name */
    ck_assert_int_eq(acme_set_read(store, pool, ACME_SG_STAGING, acme_domain_create(pool, "x.org"),
                                   1, &set, &why), APR_ENOENT);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("activate");
    TCase *tc = tu_tcase(s, "activate", 60, setup, teardown);

    tcase_add_test(tc, copy_and_archive);
    tcase_add_test(tc, incomplete_is_not_refused);
    tcase_add_test(tc, verify_refuses_bad_keys_names_dates_chains);
    tcase_add_test(tc, read_refuses_links_fifos_oversize);
    tcase_add_test(tc, set_helpers);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
