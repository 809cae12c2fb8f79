/* fuzz_link.c: libFuzzer target for Link header parsing (rel="up", "alternate", "index") over one or more header values. */
/* fuzz: max_len=8192 */
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include "acme_http.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    apr_initialize();
    return 0;
}

/* Every target must be a NUL-terminated string without the <> delimiters. */
static void check(apr_pool_t *p, const acme_http_response_t *resp, const char *rel)
{
    apr_array_header_t *links = acme_http_links(p, resp, rel);

    if (!links) {
        abort();
    }
    for (int i = 0; i < links->nelts; i++) {
        const char *u = APR_ARRAY_IDX(links, i, const char *);
        if (!u || strchr(u, '>')) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    apr_pool_t *p;
    acme_http_response_t resp;
    char *text, *line, *last;

    if (apr_pool_create(&p, NULL) != APR_SUCCESS) {
        return 0;
    }
    /* Each input line is one Link header value (header lines never hold NUL or newline). */
    text = apr_pstrmemdup(p, (const char *)data, size);
    memset(&resp, 0, sizeof(resp));
    resp.status = 200;
    resp.headers = apr_table_make(p, 4);
    resp.body = "";
    for (line = apr_strtok(text, "\n", &last); line; line = apr_strtok(NULL, "\n", &last)) {
        apr_table_add(resp.headers, (size & 1) ? "link" : "Link", line);
    }
    check(p, &resp, "up");
    check(p, &resp, "alternate");
    check(p, &resp, "index");
    check(p, &resp, "");
    (void)acme_http_header_values(p, &resp, "Link");
    apr_pool_destroy(p);
    return 0;
}
