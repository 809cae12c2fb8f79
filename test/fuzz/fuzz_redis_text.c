/* fuzz_redis_text.c: libFuzzer target for what the Redis engine parses without a connection: redis:// URLs (configuration) and INFO replies (server). */
/* fuzz: max_len=2100 */
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "acme_redis.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    apr_initialize();
    return 0;
}

static int clean(const char *s)
{
    for (; s && *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f) return 0;
    }
    return 1;
}

/* An accepted URL has sane parts, and its shown form (password hidden)
 * parses back to the same server. */
static void check_url(apr_pool_t *p, const char *s)
{
    acme_redis_url_t u, again;
    const char *err = NULL, *shown;

    if (acme_redis_url_parse(p, s, &u, &err) != APR_SUCCESS) {
        if (!err) abort();
        return;
    }
    if (!u.host || !*u.host || u.port == 0 || u.db < 0 || u.db > 9999
        || !clean(u.host) || !clean(u.user) || !clean(u.password)
        || strpbrk(u.host, "/@?# ")) {
        abort();
    }
    shown = acme_redis_url_show(p, &u);
    if (acme_redis_url_parse(p, shown, &again, &err) != APR_SUCCESS
        || strcmp(again.host, u.host) || again.port != u.port || again.db != u.db
        || again.tls != u.tls || (u.password == NULL) != (again.password == NULL)
        || (again.password && strcmp(again.password, "***"))) {
        abort();    /* another server, or the password shown */
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    apr_pool_t *p;
    apr_array_header_t *w;

    if (apr_pool_create(&p, NULL) != APR_SUCCESS) {
        return 0;
    }
    check_url(p, apr_pstrmemdup(p, (const char *)data, size));
    w = apr_array_make(p, 2, sizeof(const char *));
    if (acme_redis_info_warnings(p, (const char *)data, size, w) == APR_SUCCESS) {
        int i;
        if (w->nelts > 2) abort();
        for (i = 0; i < w->nelts; i++) {
            if (!clean(APR_ARRAY_IDX(w, i, const char *))) abort();   /* goes to a log */
        }
    }
    apr_pool_destroy(p);
    return 0;
}
