/* acme_store_open.c: opens the store a configuration names: the file backend, or a shared engine's for a fleet. */
#include <string.h>

#include "acme_store.h"
#include "acme_store_redis.h"

apr_status_t acme_store_open(apr_pool_t *p, const acme_store_spec_t *spec, acme_store_t **store,
                             const char **err)
{
    apr_status_t rv;

    *store = NULL;
    if (err) {
        *err = NULL;
    }
    if (spec->url && strcmp(spec->url, "file") != 0) {
        const char *why = NULL;
        rv = acme_store_redis_open(p, spec, store, &why);
        if (err) {
            *err = why;
        }
        return rv;
    }
    rv = acme_store_file_open(p, spec->dir, spec->flags, store);
    if (rv != APR_SUCCESS && err) {
        *err = "cannot open or create the store directory";
    }
    return rv;
}
