/* acme_store.c: backend-independent store helpers: group names, JSON load/save and the certificate item names. */
#include <string.h>

#include <apr_strings.h>

#include "acme_json.h"
#include "acme_store.h"

const char *acme_store_group_name(acme_store_group_e g)
{
    static const char *const names[ACME_SG_COUNT] = {
        "domains", "staging", "archive", "accounts", "challenges", "state", "fallback"
    };

    return ((int)g >= 0 && g < ACME_SG_COUNT) ? names[g] : NULL;
}

int acme_store_root_group(acme_store_group_e g)
{
    return g == ACME_SG_DOMAINS || g == ACME_SG_ARCHIVE || g == ACME_SG_FALLBACK;
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
                                  int is_private)
{
    /* Indented: these files are read by administrators too. */
    char *data = acme_json_dump(p, json, JSON_INDENT(2) | JSON_SORT_KEYS);

    if (data == NULL) {
        return APR_EINVAL;
    }
    return s->save(s, p, g, entry, item, data, strlen(data), is_private);
}

const char *acme_store_chain_item(apr_pool_t *p, const char *key_type)
{
    return key_type ? apr_pstrcat(p, "fullchain.", key_type, ".pem", NULL) : "fullchain.pem";
}

const char *acme_store_pkey_item(apr_pool_t *p, const char *key_type)
{
    return key_type ? apr_pstrcat(p, "privkey.", key_type, ".pem", NULL) : "privkey.pem";
}
