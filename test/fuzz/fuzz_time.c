/* fuzz_time.c: libFuzzer target for Retry-After (delta-seconds and HTTP-date), RFC 3339 timestamps and durations. */
/* fuzz: max_len=256 */
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "acme_time.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    apr_initialize();
    return 0;
}

#define DAY apr_time_from_sec(24 * 3600)

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    apr_pool_t *p;
    char *s;
    apr_interval_time_t d;
    apr_time_t t, t2;
    /* A fixed "now" keeps runs reproducible: 2026-01-01T00:00:00Z. */
    const apr_time_t now = apr_time_from_sec(1767225600);

    if (apr_pool_create(&p, NULL) != APR_SUCCESS) {
        return 0;
    }
    s = apr_pstrmemdup(p, (const char *)data, size);
    if (acme_retry_after_parse(s, now, &d) == APR_SUCCESS && (d < 0 || d > DAY)) {
        abort();                        /* documented: 0 .. 24 h */
    }
    if (acme_duration_parse(s, &d) == APR_SUCCESS && d <= 0) {
        abort();                        /* documented: > 0, no overflow */
    }
    if (acme_time_parse_rfc3339(s, &t) == APR_SUCCESS) {
        /* What we print we read back, to the same whole second. */
        const char *back = acme_time_rfc3339(p, t);
        if (back && acme_time_parse_rfc3339(back, &t2) == APR_SUCCESS
            && apr_time_sec(t2) != apr_time_sec(t) && t >= 0) {
            abort();
        }
    }
    apr_pool_destroy(p);
    return 0;
}
