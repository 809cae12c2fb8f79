/* acme_store.c: what every backend shares: group names and kinds, entry names, JSON load/save and the certificate item names. */
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "acme_json.h"
#include "acme_store.h"

#define MAX_ENTRY 255

const char *acme_store_group_name(acme_store_group_e g)
{
    static const char *const names[ACME_SG_COUNT] = {
        "domains", "staging", "archive", "accounts", "challenges", "state", "fallback",
        "published"
    };

    return ((int)g >= 0 && g < ACME_SG_COUNT) ? names[g] : NULL;
}

int acme_store_root_group(acme_store_group_e g)
{
    return g == ACME_SG_DOMAINS || g == ACME_SG_ARCHIVE || g == ACME_SG_FALLBACK;
}

int acme_store_local_group(acme_store_group_e g)
{
    return acme_store_root_group(g) || g == ACME_SG_STAGING;
}

const char *acme_store_entry(apr_pool_t *p, const char *name)
{
    apr_size_t len;
    char *e;

    if (name == NULL || (len = strlen(name)) == 0 || len > MAX_ENTRY || name[0] == '.'
        || strstr(name, "..") != NULL) {
        return NULL;
    }
    e = apr_pstrmemdup(p, name, len);
    for (char *c = e; *c; c++) {
        unsigned char u = (unsigned char)*c;

        if (u < 0x20 || u == 0x7f || u == '/' || u == '\\') {
            return NULL;
        }
        *c = (char)apr_tolower(u);
    }
    if (e[0] == '_' && e[1] == '.') {
        e[0] = '*';     /* a wildcard's directory name, as a person copies it from the store */
    }
    return e;
}

int acme_store_has_entry(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                         const char *entry)
{
    apr_array_header_t *items = NULL;

    return s->list(s, p, g, entry, &items) == APR_SUCCESS && items->nelts > 0;
}

apr_status_t acme_store_load_json(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                                  const char *entry, const char *item, json_t **json)
{
    char *data;
    apr_size_t len;
    apr_status_t rv;

    *json = NULL;
    rv = s->load(s, p, g, entry, item, &data, &len);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return acme_json_parse(p, data, len, json, NULL);
}

apr_status_t acme_store_save_json(acme_store_t *s, apr_pool_t *p, acme_store_group_e g,
                                  const char *entry, const char *item, const json_t *json,
                                  int flags, const acme_store_lock_t *fence)
{
    /* Indented: these records are read by administrators too. */
    char *data = acme_json_dump(p, json, JSON_INDENT(2) | JSON_SORT_KEYS);

    if (data == NULL) {
        return APR_EINVAL;
    }
    return s->save(s, p, g, entry, item, data, strlen(data), flags, fence);
}

const char *acme_store_chain_item(apr_pool_t *p, const char *key_type)
{
    return key_type ? apr_pstrcat(p, "fullchain.", key_type, ".pem", NULL) : "fullchain.pem";
}

const char *acme_store_pkey_item(apr_pool_t *p, const char *key_type)
{
    return key_type ? apr_pstrcat(p, "privkey.", key_type, ".pem", NULL) : "privkey.pem";
}
