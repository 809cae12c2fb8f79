/* fuzz_token.c: libFuzzer target for the http-01 request check: path prefix, token alphabet and length, and the store item and entry it maps to. */
/* fuzz: max_len=1024 */
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "acme_base64.h"
#include "acme_domain.h"
#include "acme_store.h"
#include "acme_responder.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    apr_initialize();
    return 0;
}

/* Kept in step with mod/mod_acme_challenge.h (the module's own check uses these). */
#define HTTP01_PREFIX "/.well-known/acme-challenge/"
#define TOKEN_MAX 256

static int b64u_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
           || c == '-' || c == '_';
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    apr_pool_t *p;
    char *in, *host, *path;
    const char *token, *item, *entry;

    if (apr_pool_create(&p, NULL) != APR_SUCCESS) {
        return 0;
    }
    /* Input: "<Host header>\n<request path>". */
    in = apr_pstrmemdup(p, (const char *)data, size);
    host = in;
    path = strchr(in, '\n');
    if (path) {
        *path++ = '\0';
    }
    else {
        path = in;
    }
    if (strncmp(path, HTTP01_PREFIX, strlen(HTTP01_PREFIX)) == 0) {
        token = path + strlen(HTTP01_PREFIX);
        if (strlen(token) <= TOKEN_MAX && acme_b64u_is_token(token)) {
            /* Accepted: only base64url characters, so the item is one plain file name. */
            for (const char *q = token; *q; q++) {
                if (!b64u_char(*q)) {
                    abort();
                }
            }
            item = acme_responder_http01_item(p, token);
            if (!item || strchr(item, '/') || strstr(item, "..") || strncmp(item, "http-01.", 8)) {
                abort();
            }
        }
    }
    /* The Host header picks the store entry: never a path outside the group. */
    entry = acme_store_entry(p, host);
    if (entry && (!*entry || strchr(entry, '/') || !strcmp(entry, "..") || !strcmp(entry, "."))) {
        abort();
    }
    if (acme_b64u_is_token(path)) {
        for (const char *q = path; *q; q++) {
            if (!b64u_char(*q)) {
                abort();
            }
        }
    }
    apr_pool_destroy(p);
    return 0;
}
