/* test_seal.c: unit tests of AES-256-GCM sealing: a known answer, round trips, blobs moved to another entry, wrong keys, cut or altered blobs, rotation and the key file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <apr_strings.h>
#include "acme_seal.h"
#include "testutil.h"

/* bytes 0..31 */
#define KEY_A "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define KEY_B "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA="
#define NAME "accounts/ca-1/account.pem"
#define PLAIN "-----BEGIN PRIVATE KEY-----\nnot a real key\n-----END PRIVATE KEY-----\n"

/* Made independently with python3-cryptography (AESGCM) from the layout in
 * acme_seal.h: key KEY_A as "k1", nonce a0..ab, NAME, generations 0 and 7. */
static const char *golden_gen0 =
    "41435331026b319c0d154b4452614fa0a1a2a3a4a5a6a7a8a9aaabcb355100688947f82b2ba7835533969f"
    "24e9795bd7ee6f41b1230b8c11c40121b356359ace4e73563ae50ee52457aed40255026832825328000a4e"
    "7eef35dc9d9991a8423a40c6eae86c5cc8d73bf3205c2d8bb405";
static const char *golden_gen7 =
    "41435331026b319c0d154b4452614fa0a1a2a3a4a5a6a7a8a9aaabcb355100688947f82b2ba7835533969f"
    "24e9795bd7ee6f41b1230b8c11c40121b356359ace4e73563ae50ee52457aed40255026832825328000a4e"
    "7eef35dc9d9991a8423a4b40d4139bec87bd273e10f46225b78e";

static const unsigned char nonce_a0[ACME_SEAL_NONCE_LEN] = {
    0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab
};

static acme_seal_keys_t *keys_of(const char *text)
{
    acme_seal_keys_t *k = NULL;
    const char *err = NULL;

    ck_assert_msg(acme_seal_keys_parse(pool, text, strlen(text), &k, &err) == APR_SUCCESS,
                  "key file refused: %s", err);
    return k;
}

static unsigned char *unhex(const char *hex, apr_size_t *len)
{
    apr_size_t i, n = strlen(hex) / 2;
    unsigned char *b = apr_palloc(pool, n);

    for (i = 0; i < n; i++) {
        unsigned int v;
        ck_assert(sscanf(hex + 2 * i, "%2x", &v) == 1);
        b[i] = (unsigned char)v;
    }
    *len = n;
    return b;
}

static apr_status_t open_blob(const acme_seal_keys_t *k, const char *name, apr_uint64_t gen,
                              const unsigned char *b, apr_size_t n, const char **err)
{
    char *plain;
    apr_size_t len;

    *err = NULL;
    return acme_unseal(pool, k, name, gen, b, n, &plain, &len, err);
}

START_TEST(known_answer)
{
    acme_seal_keys_t *k = keys_of("k1 " KEY_A "\n");
    const char *goldens[2] = { golden_gen0, golden_gen7 };
    apr_uint64_t gens[2] = { 0, 7 };
    int i;

    for (i = 0; i < 2; i++) {
        unsigned char *blob, *want;
        apr_size_t n, wn, len;
        char *plain;
        const char *err = NULL;

        ck_assert_int_eq(acme_seal_with_nonce(pool, k, NAME, gens[i], nonce_a0, PLAIN,
                                              strlen(PLAIN), &blob, &n), APR_SUCCESS);
        want = unhex(goldens[i], &wn);
        ck_assert_uint_eq(n, wn);
        ck_assert_mem_eq(blob, want, n);
        ck_assert_int_eq(acme_unseal(pool, k, NAME, gens[i], want, wn, &plain, &len, &err), APR_SUCCESS);
        ck_assert_uint_eq(len, strlen(PLAIN));
        ck_assert_str_eq(plain, PLAIN);
    }
}
END_TEST

START_TEST(round_trip)
{
    acme_seal_keys_t *k = keys_of("k1 " KEY_A "\n");
    static const apr_size_t sizes[] = { 0, 1, 15, 16, 17, 4096, 1024 * 1024 };
    size_t i;

    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        apr_size_t n = sizes[i], j, b1n, b2n, len;
        unsigned char *data = apr_palloc(pool, n + 1), *b1, *b2;
        char *plain;
        const char *err = NULL;

        for (j = 0; j < n; j++) data[j] = (unsigned char)(j * 7);   /* NUL bytes included */
        ck_assert_int_eq(acme_seal(pool, k, NAME, 3, data, n, &b1, &b1n), APR_SUCCESS);
        ck_assert_int_eq(acme_seal(pool, k, NAME, 3, data, n, &b2, &b2n), APR_SUCCESS);
        ck_assert(acme_seal_is_sealed(b1, b1n));
        /* A fresh nonce each time: the same input never seals the same. */
        ck_assert_uint_eq(b1n, b2n);
        ck_assert(memcmp(b1, b2, b1n) != 0);
        ck_assert_int_eq(acme_unseal(pool, k, NAME, 3, b1, b1n, &plain, &len, &err), APR_SUCCESS);
        ck_assert_uint_eq(len, n);
        ck_assert(n == 0 || memcmp(plain, data, n) == 0);
        ck_assert_int_eq(plain[len], 0);
    }
}
END_TEST

START_TEST(moved_to_another_entry)
{
    acme_seal_keys_t *k = keys_of("k1 " KEY_A "\n");
    unsigned char *b;
    apr_size_t n;
    const char *err;

    ck_assert_int_eq(acme_seal(pool, k, NAME, 0, PLAIN, strlen(PLAIN), &b, &n), APR_SUCCESS);
    ck_assert_int_eq(open_blob(k, "accounts/ca-2/account.pem", 0, b, n, &err), ACME_SEAL_EMISMATCH);
    ck_assert_ptr_nonnull(strstr(err, "sealed for another entry"));
    ck_assert_ptr_nonnull(strstr(err, "accounts/ca-2/account.pem"));
    /* A name that is a prefix of the right one does not open it either. */
    ck_assert_int_eq(open_blob(k, "accounts/ca-1/account.pe", 0, b, n, &err), ACME_SEAL_EMISMATCH);
    /* Published sets: another generation is another entry. */
    ck_assert_int_eq(acme_seal(pool, k, "published/example.org/privkey.pem", 4, PLAIN,
                               strlen(PLAIN), &b, &n), APR_SUCCESS);
    ck_assert_int_eq(open_blob(k, "published/example.org/privkey.pem", 3, b, n, &err),
                     ACME_SEAL_EMISMATCH);
    ck_assert_int_eq(open_blob(k, "published/example.org/privkey.pem", 4, b, n, &err), APR_SUCCESS);
}
END_TEST

START_TEST(wrong_key)
{
    acme_seal_keys_t *k = keys_of("k1 " KEY_A "\n");
    acme_seal_keys_t *same_name = keys_of("k1 " KEY_B "\n");
    acme_seal_keys_t *other_name = keys_of("k2 " KEY_A "\nk3 " KEY_B "\n");
    unsigned char *b;
    apr_size_t n;
    const char *err;

    ck_assert_int_eq(acme_seal(pool, k, NAME, 0, PLAIN, strlen(PLAIN), &b, &n), APR_SUCCESS);
    ck_assert_int_eq(open_blob(same_name, NAME, 0, b, n, &err), ACME_SEAL_EWRONGKEY);
    ck_assert_ptr_nonnull(strstr(err, "another key named k1"));
    ck_assert_int_eq(open_blob(other_name, NAME, 0, b, n, &err), ACME_SEAL_EWRONGKEY);
    ck_assert_ptr_nonnull(strstr(err, "key k1, which the key file does not have (it has k2, k3)"));
    ck_assert_ptr_null(strstr(err, KEY_A));
}
END_TEST

START_TEST(cut_short_or_altered)
{
    acme_seal_keys_t *k = keys_of("k1 " KEY_A "\n");
    unsigned char *b;
    apr_size_t n, i;
    const char *err;

    ck_assert_int_eq(acme_seal(pool, k, NAME, 0, PLAIN, strlen(PLAIN), &b, &n), APR_SUCCESS);
    for (i = 0; i < n; i++) {
        apr_status_t rv = open_blob(k, NAME, 0, b, i, &err);
        ck_assert_msg(rv == APR_EINVAL || rv == ACME_SEAL_EMISMATCH,
                      "a blob cut to %lu of %lu bytes gave %d", (unsigned long)i, (unsigned long)n, rv);
        ck_assert_ptr_nonnull(err);
    }
    ck_assert_int_eq(open_blob(k, NAME, 0, b, n, &err), APR_SUCCESS);
    for (i = 0; i < n; i++) {
        apr_status_t rv;
        b[i] ^= 0x01;
        rv = open_blob(k, NAME, 0, b, n, &err);
        ck_assert_msg(rv == APR_EINVAL || rv == ACME_SEAL_EWRONGKEY || rv == ACME_SEAL_EMISMATCH,
                      "byte %lu altered still opened (%d)", (unsigned long)i, rv);
        b[i] ^= 0x01;
    }
    /* One byte more at the end is a different tag position: refused too. */
    {
        unsigned char *longer = apr_palloc(pool, n + 1);
        memcpy(longer, b, n);
        longer[n] = 0;
        ck_assert_int_eq(open_blob(k, NAME, 0, longer, n + 1, &err), ACME_SEAL_EMISMATCH);
    }
    ck_assert_int_eq(open_blob(k, NAME, 0, (const unsigned char *)"ACS", 3, &err), APR_EINVAL);
    ck_assert_int_eq(open_blob(k, NAME, 0, (const unsigned char *)PLAIN, strlen(PLAIN), &err), APR_EINVAL);
    ck_assert_str_eq(err, "not a sealed blob");
}
END_TEST

START_TEST(rotation)
{
    acme_seal_keys_t *old = keys_of("k1 " KEY_A "\n");
    acme_seal_keys_t *rotated = keys_of("# new key first\nk2 " KEY_B "\nk1 " KEY_A "\n");
    unsigned char *b_old, *b_new;
    apr_size_t n_old, n_new;
    acme_seal_blob_t parts;
    const char *err;

    ck_assert_int_eq(acme_seal_keys_count(rotated), 2);
    ck_assert_str_eq(acme_seal_keys_sealing_id(rotated), "k2");
    ck_assert_int_eq(acme_seal(pool, old, NAME, 0, PLAIN, strlen(PLAIN), &b_old, &n_old), APR_SUCCESS);
    ck_assert_int_eq(acme_seal(pool, rotated, NAME, 0, PLAIN, strlen(PLAIN), &b_new, &n_new), APR_SUCCESS);
    ck_assert_int_eq(acme_seal_parse(b_new, n_new, &parts, &err), APR_SUCCESS);
    ck_assert_str_eq(parts.key_id, "k2");
    /* Every key opens; only the first seals. */
    ck_assert_int_eq(open_blob(rotated, NAME, 0, b_old, n_old, &err), APR_SUCCESS);
    ck_assert_int_eq(open_blob(rotated, NAME, 0, b_new, n_new, &err), APR_SUCCESS);
    ck_assert_int_eq(open_blob(old, NAME, 0, b_new, n_new, &err), ACME_SEAL_EWRONGKEY);
}
END_TEST

START_TEST(key_file_syntax)
{
    static const char *bad[] = {
        "",                                         /* no key */
        "# only a comment\n\n",
        "k1\n",
        "k1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n",     /* no padding */
        "k1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=\n",    /* non-canonical */
        "k1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=AA\n",
        "k1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd\n",        /* 30 bytes */
        "k1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYX-BkaGxwdHh8=\n",    /* base64url character */
        "k1 " KEY_A " extra\n",
        "k/1 " KEY_A "\n",
        "k1" KEY_A "\n",
        "abcdefghijabcdefghijabcdefghijabc " KEY_A "\n",        /* 33-character id */
        "k1 " KEY_A "\nk1 " KEY_B "\n",             /* id twice */
        "k1 " KEY_A "\nk2 " KEY_A "\n",             /* key twice */
    };
    static const char *good[] = {
        "k1 " KEY_A,
        "  k1\t" KEY_A "  \r\n",
        "# ACMEStoreKeyFile\n\nk1 " KEY_A "\n   # rotation\nold-2026.a_b " KEY_B "\n",
        "abcdefghijabcdefghijabcdefghijab " KEY_A "\n",         /* 32-character id */
    };
    acme_seal_keys_t *k;
    const char *err;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err = NULL;
        ck_assert_msg(acme_seal_keys_parse(pool, bad[i], strlen(bad[i]), &k, &err) == APR_EINVAL,
                      "accepted key file %lu", (unsigned long)i);
        ck_assert_ptr_nonnull(err);
        ck_assert_msg(!strstr(err, "AAEC") && !strstr(err, "q83v"), "key bytes in \"%s\"", err);
    }
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        ck_assert_msg(acme_seal_keys_parse(pool, good[i], strlen(good[i]), &k, &err) == APR_SUCCESS,
                      "refused key file %lu: %s", (unsigned long)i, err);
    }
    ck_assert_int_eq(acme_seal_keys_parse(pool, "k1 " KEY_A "\n\0", strlen("k1 " KEY_A "\n") + 1,
                                          &k, &err), APR_EINVAL);
}
END_TEST

static const char *write_key_file(const char *name, const char *text, int mode)
{
    const char *path = apr_pstrcat(pool, tmpdir, "/", name, NULL);
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    ck_assert_int_eq(chmod(path, (mode_t)mode), 0);
    return path;
}

START_TEST(key_file_read)
{
    acme_seal_keys_t *k;
    const char *err = NULL, *ok, *wide, *group, *link;

    tu_scratch_create("test_seal");
    ok = write_key_file("ok.key", "k1 " KEY_A "\n", 0600);
    wide = write_key_file("wide.key", "k1 " KEY_A "\n", 0644);
    group = write_key_file("group.key", "k1 " KEY_A "\n", 0640);
    link = apr_pstrcat(pool, tmpdir, "/link.key", NULL);
    ck_assert_int_eq(symlink(ok, link), 0);

    ck_assert_int_eq(acme_seal_keys_read(pool, ok, 0, &k, &err), APR_SUCCESS);
    ck_assert_str_eq(acme_seal_keys_sealing_id(k), "k1");
    ck_assert_int_eq(acme_seal_keys_read(pool, wide, 0, &k, &err), APR_EACCES);
    ck_assert_ptr_nonnull(strstr(err, "mode 0644"));
    ck_assert_int_eq(acme_seal_keys_read(pool, group, 0, &k, &err), APR_EACCES);
    ck_assert_int_ne(acme_seal_keys_read(pool, link, 0, &k, &err), APR_SUCCESS);
    ck_assert_ptr_nonnull(strstr(err, "symbolic link"));
    ck_assert_int_ne(acme_seal_keys_read(pool, tmpdir, 0, &k, &err), APR_SUCCESS);
    ck_assert_int_ne(acme_seal_keys_read(pool, apr_pstrcat(pool, tmpdir, "/none", NULL), 0, &k, &err),
                     APR_SUCCESS);
    ck_assert_ptr_nonnull(strstr(err, "/none"));

    /* Root ownership, when asked for. */
    if (geteuid() == 0) {
        ck_assert_int_eq(acme_seal_keys_read(pool, ok, ACME_SEAL_ROOT_OWNED, &k, &err), APR_SUCCESS);
        ck_assert_int_eq(chown(ok, 65534, 65534), 0);
    }
    ck_assert_int_eq(acme_seal_keys_read(pool, ok, ACME_SEAL_ROOT_OWNED, &k, &err), APR_EACCES);
    ck_assert_ptr_nonnull(strstr(err, "not root"));
    ck_assert_int_eq(acme_seal_keys_read(pool, ok, 0, &k, &err), APR_SUCCESS);
    tu_scratch_remove();
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("seal");
    TCase *tc = tu_tcase(s, "core", 30, tu_setup, tu_teardown);

    tcase_add_test(tc, known_answer);
    tcase_add_test(tc, round_trip);
    tcase_add_test(tc, moved_to_another_entry);
    tcase_add_test(tc, wrong_key);
    tcase_add_test(tc, cut_short_or_altered);
    tcase_add_test(tc, rotation);
    tcase_add_test(tc, key_file_syntax);
    tcase_add_test(tc, key_file_read);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
