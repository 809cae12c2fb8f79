/* fuzz_problem.c: libFuzzer target for RFC 7807 problem documents (with subproblems) and their one-line rendering. */
/* fuzz: max_len=16384 */
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include "acme_ca.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    apr_initialize();
    return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    apr_pool_t *p;
    acme_problem_t *prob = NULL;
    const char *s;
    int status;

    if (apr_pool_create(&p, NULL) != APR_SUCCESS) {
        return 0;
    }
    /* The first byte picks the HTTP status the body came with. */
    status = size ? 400 + data[0] % 200 : 500;
    if (acme_problem_parse(p, (const char *)data, size, status, &prob) == APR_SUCCESS) {
        /* Documented: never fails on missing members, type always set. */
        if (!prob || !prob->type) {
            abort();
        }
        s = acme_problem_str(p, prob);
        if (!s || strchr(s, '\0') != s + strlen(s)) {
            abort();
        }
        (void)acme_problem_is(prob, "badNonce");
        (void)acme_problem_is(prob, "rateLimited");
        if (prob->subproblems) {
            for (int i = 0; i < prob->subproblems->nelts; i++) {
                const acme_problem_t *sub = APR_ARRAY_IDX(prob->subproblems, i, acme_problem_t *);
                if (!sub || !acme_problem_str(p, sub)) {
                    abort();
                }
            }
        }
    }
    apr_pool_destroy(p);
    return 0;
}
