/* fuzz_dns_answer.c: libFuzzer target for DNS responses as the dns-01 propagation check reads them from a server (glibc's ns_parse, TXT strings, compressed names, question checks). */
/* fuzz: max_len=4096 */
#include <stdlib.h>
#include <string.h>
#include <arpa/nameser.h>
#include <apr_general.h>
#include "acme_dns_check.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    apr_initialize();
    return 0;
}

static void check(const acme_dns_answer_t *a)
{
    int i;

    if (!a || !a->txt || !a->names || !a->addrs || a->rcode < 0 || a->rcode > 15) {
        abort();
    }
    for (i = 0; i < a->txt->nelts; i++) {
        /* a TXT value is one NUL-terminated string no longer than the message */
        if (strlen(APR_ARRAY_IDX(a->txt, i, const char *)) > 65535) abort();
    }
    for (i = 0; i < a->names->nelts; i++) {
        if (strlen(APR_ARRAY_IDX(a->names, i, const char *)) >= NS_MAXDNAME) abort();
    }
    if (a->cname && strlen(a->cname) >= NS_MAXDNAME) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static const char *const names[] = { "_acme-challenge.example.org", "example.org", "." };
    static const int types[] = { ns_t_txt, ns_t_soa, ns_t_ns, ns_t_a, ns_t_aaaa };
    acme_dns_answer_t *a = NULL;
    apr_pool_t *p;
    int id;

    if (apr_pool_create(&p, NULL) != APR_SUCCESS) {
        return 0;
    }
    id = size >= 2 ? (data[0] << 8) | data[1] : 0;
    for (size_t n = 0; n < sizeof(names) / sizeof(names[0]); n++) {
        for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
            if (acme_dns_answer_parse(p, data, size, names[n], types[t], -1, &a) == APR_SUCCESS) {
                check(a);
            }
            if (acme_dns_answer_parse(p, data, size, names[n], types[t], id, &a) == APR_SUCCESS) {
                check(a);
            }
        }
    }
    apr_pool_destroy(p);
    return 0;
}
