/* test_key.c: unit tests of key generation, PEM round trips, 0600 key files and the atomic file helpers. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <apr_strings.h>
#include <apr_file_io.h>
#include <openssl/pem.h>
#include "acme_file.h"
#include "acme_key.h"
#include "testutil.h"

static void setup(void)
{
    tu_setup();
    tu_scratch_create("test_key");
}

static void teardown(void)
{
    tu_scratch_remove();
    tu_teardown();
}

/* A key file as the store writes one: PKCS#8 PEM, atomically, mode 0600. */
static apr_status_t key_save(const acme_key_t *key, const char *path)
{
    char *pem;
    apr_size_t len;
    apr_status_t rv = acme_key_to_pem(pool, key, &pem, &len);

    return rv ? rv : acme_file_write_atomic(pool, path, pem, len,
                                            APR_FPROT_UREAD | APR_FPROT_UWRITE);
}

/* A key file read back (at most 64 KiB, as the store reads keys). */
static apr_status_t key_load(const char *path, acme_key_t **key)
{
    char *data;
    apr_size_t len;
    apr_status_t rv = acme_file_read(pool, path, 64 * 1024, &data, &len);

    return rv ? rv : acme_key_from_pem(pool, data, len, key);
}

static const acme_key_type_e all_types[] = {
    ACME_KEY_EC256, ACME_KEY_EC384, ACME_KEY_RSA2048, ACME_KEY_RSA3072, ACME_KEY_RSA4096
};

START_TEST(type_names)
{
    acme_key_type_e t;

    ck_assert_int_eq(acme_key_type_parse("ec256", &t), APR_SUCCESS);
    ck_assert_int_eq(t, ACME_KEY_EC256);
    ck_assert_int_eq(acme_key_type_parse("RSA4096", &t), APR_SUCCESS);
    ck_assert_int_eq(t, ACME_KEY_RSA4096);
    ck_assert_int_eq(acme_key_type_parse("rsa1024", &t), APR_EINVAL);
    ck_assert_int_eq(acme_key_type_parse("", &t), APR_EINVAL);
    ck_assert_int_eq(acme_key_type_parse(NULL, &t), APR_EINVAL);
    ck_assert_str_eq(acme_key_type_name(ACME_KEY_RSA3072), "rsa3072");
    ck_assert_str_eq(acme_key_type_name(ACME_KEY_EC384), "ec384");
    ck_assert_str_eq(acme_key_type_names(), "ec256, ec384, rsa2048, rsa3072, rsa4096");
}
END_TEST

/* Generate, export, re-import, compare, save with 0600 and load back. */
START_TEST(roundtrip_every_type)
{
    acme_key_type_e type = all_types[_i];
    acme_key_t *key, *back, *loaded;
    char *pem;
    apr_size_t len;
    const char *path = apr_pstrcat(pool, tmpdir, "/", acme_key_type_name(type), ".pem", NULL);

    ck_assert_int_eq(acme_key_generate(pool, type, &key), APR_SUCCESS);
    ck_assert_int_eq(acme_key_type(key), type);
    ck_assert_int_eq(acme_key_to_pem(pool, key, &pem, &len), APR_SUCCESS);
    ck_assert_uint_eq(strlen(pem), len);
    ck_assert(strstr(pem, "-----BEGIN PRIVATE KEY-----") == pem);
    ck_assert_int_eq(acme_key_from_pem(pool, pem, len, &back), APR_SUCCESS);
    ck_assert_int_eq(acme_key_type(back), type);
    ck_assert_int_eq(EVP_PKEY_eq(acme_key_evp(key), acme_key_evp(back)), 1);

    ck_assert_int_eq(key_save(key, path), APR_SUCCESS);
    ck_assert_int_eq(tu_file_mode(path), 0600);
    ck_assert_int_eq(key_load(path, &loaded), APR_SUCCESS);
    ck_assert_int_eq(acme_key_type(loaded), type);
    ck_assert_int_eq(EVP_PKEY_eq(acme_key_evp(key), acme_key_evp(loaded)), 1);
}
END_TEST

START_TEST(save_is_0600_even_with_open_umask)
{
    acme_key_t *key;
    const char *path = apr_pstrcat(pool, tmpdir, "/k.pem", NULL);
    mode_t old = umask(0);

    ck_assert_int_eq(acme_key_generate(pool, ACME_KEY_EC256, &key), APR_SUCCESS);
    ck_assert_int_eq(key_save(key, path), APR_SUCCESS);
    umask(old);
    ck_assert_int_eq(tu_file_mode(path), 0600);
}
END_TEST

/* Write a key in the traditional ("BEGIN EC/RSA PRIVATE KEY") format. */
static char *traditional_pem(EVP_PKEY *pkey)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *mem;
    long n;
    char *out;

    ck_assert(PEM_write_bio_PrivateKey_traditional(bio, pkey, NULL, NULL, 0, NULL, NULL));
    n = BIO_get_mem_data(bio, &mem);
    out = apr_pstrmemdup(pool, mem, (apr_size_t)n);
    BIO_free(bio);
    return out;
}

START_TEST(traditional_pem_accepted)
{
    acme_key_t *key, *back;
    char *pem;

    ck_assert_int_eq(acme_key_generate(pool, ACME_KEY_EC384, &key), APR_SUCCESS);
    pem = traditional_pem(acme_key_evp(key));
    ck_assert(strstr(pem, "BEGIN EC PRIVATE KEY") != NULL);
    ck_assert_int_eq(acme_key_from_pem(pool, pem, strlen(pem), &back), APR_SUCCESS);
    ck_assert_int_eq(acme_key_type(back), ACME_KEY_EC384);
    ck_assert_int_eq(EVP_PKEY_eq(acme_key_evp(key), acme_key_evp(back)), 1);

    ck_assert_int_eq(acme_key_generate(pool, ACME_KEY_RSA2048, &key), APR_SUCCESS);
    pem = traditional_pem(acme_key_evp(key));
    ck_assert(strstr(pem, "BEGIN RSA PRIVATE KEY") != NULL);
    ck_assert_int_eq(acme_key_from_pem(pool, pem, strlen(pem), &back), APR_SUCCESS);
    ck_assert_int_eq(acme_key_type(back), ACME_KEY_RSA2048);
}
END_TEST

static char *pem_of(EVP_PKEY *pkey, const EVP_CIPHER *enc)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *mem;
    long n;
    char *out;

    ck_assert(PEM_write_bio_PrivateKey(bio, pkey, enc, NULL, 0, NULL, enc ? (void *)"secret" : NULL));
    n = BIO_get_mem_data(bio, &mem);
    out = apr_pstrmemdup(pool, mem, (apr_size_t)n);
    BIO_free(bio);
    return out;
}

START_TEST(unsupported_and_bad_keys)
{
    acme_key_t *key;
    EVP_PKEY *pkey;
    char *pem;
    static const char garbage[] = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";

    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    pem = pem_of(pkey, NULL);
    EVP_PKEY_free(pkey);
    ck_assert_int_eq(acme_key_from_pem(pool, pem, strlen(pem), &key), APR_ENOTIMPL);

    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    pem = pem_of(pkey, NULL);
    ck_assert_int_eq(acme_key_from_pem(pool, pem, strlen(pem), &key), APR_ENOTIMPL);
    /* Encrypted: fails without prompting for a passphrase. */
    pem = pem_of(pkey, EVP_aes_128_cbc());
    EVP_PKEY_free(pkey);
    ck_assert(strstr(pem, "ENCRYPTED") != NULL);
    ck_assert_int_eq(acme_key_from_pem(pool, pem, strlen(pem), &key), APR_EINVAL);

    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
    pem = pem_of(pkey, NULL);
    EVP_PKEY_free(pkey);
    ck_assert_int_eq(acme_key_from_pem(pool, pem, strlen(pem), &key), APR_ENOTIMPL);

    ck_assert_int_eq(acme_key_from_pem(pool, garbage, strlen(garbage), &key), APR_EINVAL);
    ck_assert_int_eq(acme_key_from_pem(pool, "hello", 5, &key), APR_EINVAL);
    ck_assert_int_eq(acme_key_from_pem(pool, "", 0, &key), APR_EINVAL);
    ck_assert_int_eq(acme_key_generate(pool, ACME_KEY_UNKNOWN, &key), APR_EINVAL);
    ck_assert(APR_STATUS_IS_ENOENT(key_load("/nonexistent/key.pem", &key)));
}
END_TEST

/* mod_md encrypts account keys with raw random bytes (NULs included) as the passphrase. */
START_TEST(encrypted_pem_with_binary_passphrase)
{
    static const unsigned char pass[] = { 0x00, 0x41, 0xff, 0x0a, 0x00, 0x7f, 0x10, 0x20 };
    static const unsigned char wrong[] = { 0x00, 0x41, 0xff, 0x0a, 0x00, 0x7f, 0x10, 0x21 };
    acme_key_t *key, *back;
    BIO *bio = BIO_new(BIO_s_mem());
    char *mem, *pem;
    long n;

    ck_assert_int_eq(acme_key_generate(pool, ACME_KEY_EC256, &key), APR_SUCCESS);
    ck_assert(PEM_write_bio_PKCS8PrivateKey(bio, acme_key_evp(key), EVP_aes_256_cbc(),
                                            (const char *)pass, (int)sizeof(pass), NULL, NULL));
    n = BIO_get_mem_data(bio, &mem);
    pem = apr_pstrmemdup(pool, mem, (apr_size_t)n);
    BIO_free(bio);
    ck_assert(strstr(pem, "BEGIN ENCRYPTED PRIVATE KEY") != NULL);
    ck_assert_int_eq(acme_key_from_pem_pass(pool, pem, strlen(pem), pass, sizeof(pass), &back),
                     APR_SUCCESS);
    ck_assert_int_eq(EVP_PKEY_eq(acme_key_evp(key), acme_key_evp(back)), 1);
    ck_assert_int_eq(acme_key_from_pem_pass(pool, pem, strlen(pem), wrong, sizeof(wrong), &back),
                     APR_EINVAL);
    ck_assert_int_eq(acme_key_from_pem_pass(pool, pem, strlen(pem), pass, 1, &back), APR_EINVAL);
    ck_assert_int_eq(acme_key_from_pem(pool, pem, strlen(pem), &back), APR_EINVAL);
}
END_TEST

START_TEST(wrap_takes_ownership)
{
    apr_pool_t *sub;
    EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    acme_key_t *key;

    apr_pool_create(&sub, pool);
    key = acme_key_wrap(sub, pkey);
    ck_assert(acme_key_evp(key) == pkey);
    ck_assert_int_eq(acme_key_type(key), ACME_KEY_EC256);
    apr_pool_destroy(sub);  /* frees pkey; ASan/valgrind would flag a leak or double free */
    ck_assert_int_eq(acme_key_type(NULL), ACME_KEY_UNKNOWN);
    ck_assert(acme_key_evp(NULL) == NULL);
}
END_TEST

START_TEST(file_write_read_atomic)
{
    const char *path = apr_pstrcat(pool, tmpdir, "/sub/dir/data.txt", NULL);
    char *data;
    apr_size_t len;
    apr_dir_t *dir;
    apr_finfo_t fi;
    int entries = 0;

    ck_assert_int_eq(acme_file_mkdirs(pool, apr_pstrcat(pool, tmpdir, "/sub/dir", NULL),
                                      APR_FPROT_OS_DEFAULT), APR_SUCCESS);
    ck_assert_int_eq(acme_file_write_atomic(pool, path, "hello", 5, APR_FPROT_UREAD | APR_FPROT_UWRITE | APR_FPROT_GREAD | APR_FPROT_WREAD), APR_SUCCESS);
    ck_assert_int_eq(tu_file_mode(path), 0644);
    ck_assert_int_eq(acme_file_read(pool, path, 100, &data, &len), APR_SUCCESS);
    ck_assert_uint_eq(len, 5);
    ck_assert_str_eq(data, "hello");
    /* Replace, read with an exact limit, then one byte too little. */
    ck_assert_int_eq(acme_file_write_atomic(pool, path, "bye", 3, APR_FPROT_UREAD | APR_FPROT_UWRITE), APR_SUCCESS);
    ck_assert_int_eq(tu_file_mode(path), 0600);
    ck_assert_int_eq(acme_file_read(pool, path, 3, &data, &len), APR_SUCCESS);
    ck_assert_str_eq(data, "bye");
    ck_assert_int_eq(acme_file_read(pool, path, 2, &data, &len), APR_ENOSPC);
    /* A huge limit must not mean a huge allocation. */
    ck_assert_int_eq(acme_file_read(pool, path, APR_SIZE_MAX, &data, &len), APR_SUCCESS);
    ck_assert_str_eq(data, "bye");
    /* APR_FPROT_OS_DEFAULT: the umask decides, never executable bits. */
    ck_assert_int_eq(acme_file_write_atomic(pool, path, "x", 1, APR_FPROT_OS_DEFAULT), APR_SUCCESS);
    ck_assert_int_eq(tu_file_mode(path) & 0111, 0);
    /* Empty file. */
    ck_assert_int_eq(acme_file_write_atomic(pool, path, "", 0, APR_FPROT_UREAD | APR_FPROT_UWRITE), APR_SUCCESS);
    ck_assert_int_eq(acme_file_read(pool, path, 10, &data, &len), APR_SUCCESS);
    ck_assert_uint_eq(len, 0);
    /* Not durable (no fsync) but still an atomic replace with exact modes. */
    ck_assert_int_eq(acme_file_write_atomic_ex(pool, path, "fast", 4, APR_FPROT_UREAD | APR_FPROT_UWRITE,
                                               ACME_FILE_NOSYNC), APR_SUCCESS);
    ck_assert_int_eq(tu_file_mode(path), 0600);
    ck_assert_int_eq(acme_file_read(pool, path, 10, &data, &len), APR_SUCCESS);
    ck_assert_str_eq(data, "fast");
    /* No temp files left behind. */
    ck_assert_int_eq(apr_dir_open(&dir, apr_pstrcat(pool, tmpdir, "/sub/dir", NULL), pool), APR_SUCCESS);
    while (apr_dir_read(&fi, APR_FINFO_NAME, dir) == APR_SUCCESS) {
        if (strcmp(fi.name, ".") && strcmp(fi.name, "..")) {
            entries++;
            ck_assert_str_eq(fi.name, "data.txt");
        }
    }
    apr_dir_close(dir);
    ck_assert_int_eq(entries, 1);
}
END_TEST

START_TEST(file_errors)
{
    char *data;
    apr_size_t len;

    ck_assert(APR_STATUS_IS_ENOENT(acme_file_read(pool, "/nonexistent/x", 10, &data, &len)));
    ck_assert(acme_file_read(pool, tmpdir, 10, &data, &len) != APR_SUCCESS);
    ck_assert(acme_file_write_atomic(pool, "/nonexistent/dir/x", "a", 1, APR_FPROT_UREAD | APR_FPROT_UWRITE) != APR_SUCCESS);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("key");
    TCase *tc = tu_tcase(s, "core", 120, setup, teardown);

    tcase_add_test(tc, type_names);
    tcase_add_loop_test(tc, roundtrip_every_type, 0, (int)(sizeof(all_types) / sizeof(all_types[0])));
    tcase_add_test(tc, save_is_0600_even_with_open_umask);
    tcase_add_test(tc, traditional_pem_accepted);
    tcase_add_test(tc, unsupported_and_bad_keys);
    tcase_add_test(tc, encrypted_pem_with_binary_passphrase);
    tcase_add_test(tc, wrap_takes_ownership);
    tcase_add_test(tc, file_write_read_atomic);
    tcase_add_test(tc, file_errors);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
