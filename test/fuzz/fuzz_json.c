/* fuzz_json.c: libFuzzer target for strict JSON parsing, dumping and the typed getters. */
/* fuzz: max_len=65536 */
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include "acme_json.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    apr_initialize();
    return 0;
}

/* Exercise every getter on the members an ACME client reads. */
static void walk(const json_t *j)
{
    static const char *keys[] = { "type", "detail", "status", "url", "token", "identifier",
                                  "subproblems", "meta", "expires", "orders", "value" };
    size_t i;

    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const char *s;
        json_int_t n;
        int b;
        json_t *o;
        acme_json_get_str(j, keys[i], &s);
        acme_json_opt_str(j, keys[i], &s);
        acme_json_get_int(j, keys[i], &n);
        acme_json_get_bool(j, keys[i], &b);
        acme_json_get_obj(j, keys[i], &o);
        acme_json_get_arr(j, keys[i], &o);
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    apr_pool_t *p;
    json_t *j, *again;
    const char *err;
    char *dump;

    if (apr_pool_create(&p, NULL) != APR_SUCCESS) {
        return 0;
    }
    if (acme_json_parse(p, (const char *)data, size, &j, &err) == APR_SUCCESS) {
        walk(j);
        dump = acme_json_dump(p, j, JSON_SORT_KEYS);
        /* What we print we must be able to read back, to an equal value. */
        if (!dump || acme_json_parse(p, dump, strlen(dump), &again, &err) != APR_SUCCESS
            || !json_equal(j, again)) {
            abort();
        }
    }
    else if (!err) {
        abort();
    }
    apr_pool_destroy(p);
    return 0;
}
