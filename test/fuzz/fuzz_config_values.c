/* fuzz_config_values.c: libFuzzer target for configuration values: durations, key type names, identifiers, DNS server addresses and the store directory name of a domain. */
/* fuzz: max_len=512 */
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "acme_dns_check.h"
#include "acme_domain.h"
#include "acme_store.h"
#include "acme_key.h"
#include "acme_time.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    apr_initialize();
    return 0;
}

/* A store entry name must never leave its group. */
static void check_dirname(apr_pool_t *p, const char *name)
{
    const char *dn = acme_store_entry(p, name);

    if (!dn) {
        return;
    }
    if (!*dn || strchr(dn, '/') || !strcmp(dn, ".") || !strcmp(dn, "..")) {
        abort();
    }
    for (const char *q = dn; *q; q++) {
        if ((unsigned char)*q < 0x20 || *q == 0x7f) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    apr_pool_t *p;
    char *s;
    apr_interval_time_t d;
    acme_key_type_e kt;

    if (apr_pool_create(&p, NULL) != APR_SUCCESS) {
        return 0;
    }
    s = apr_pstrmemdup(p, (const char *)data, size);
    if (acme_duration_parse(s, &d) == APR_SUCCESS && d <= 0) {
        abort();
    }
    if (acme_key_type_parse(s, &kt) == APR_SUCCESS) {
        /* Only the five documented names, and their canonical form parses back. */
        const char *name = acme_key_type_name(kt);
        acme_key_type_e again;
        if (kt == ACME_KEY_UNKNOWN || !name || strcasecmp(name, s)
            || acme_key_type_parse(name, &again) != APR_SUCCESS || again != kt) {
            abort();
        }
    }
    check_dirname(p, s);
    {
        acme_dns_server_t srv;
        /* ACMEDNSResolver: an IP literal that fits, a port in range */
        if (acme_dns_server_parse(s, &srv) == APR_SUCCESS
            && (srv.port < 1 || srv.port > 65535 || !srv.host[0]
                || strlen(srv.host) >= sizeof(srv.host))) {
            abort();
        }
    }
    if (acme_identifier_valid(s)) {
        /* A valid identifier always has a store directory. */
        if (!acme_store_entry(p, s)) {
            abort();
        }
        acme_domain_t *dom = acme_domain_create(p, s);
        if (!dom || !acme_domain_config_hash(p, dom)) {
            abort();
        }
    }
    apr_pool_destroy(p);
    return 0;
}
