/* acme_json.c: Jansson values tied to APR pool lifetime, strict parsing and typed getters. */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "acme_json.h"

static apr_status_t json_cleanup(void *data)
{
    json_decref((json_t *)data);
    return APR_SUCCESS;
}

json_t *acme_json_own(apr_pool_t *p, json_t *j)
{
    if (j) {
        apr_pool_cleanup_register(p, j, json_cleanup, apr_pool_cleanup_null);
    }
    return j;
}

apr_status_t acme_json_parse(apr_pool_t *p, const char *data, apr_size_t len,
                             json_t **out, const char **err)
{
    json_error_t jerr;
    json_t *j;

    *out = NULL;
    if (!data) {
        if (err) *err = "no JSON data";
        return APR_EINVAL;
    }
    /* Without JSON_DECODE_ANY only objects and arrays are accepted at the top;
     * without JSON_ALLOW_NUL "\u0000" is rejected; raw NULs are invalid JSON. */
    j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j) {
        if (err) {
            *err = apr_psprintf(p, "invalid JSON at line %d, column %d: %s",
                                jerr.line, jerr.column, jerr.text);
        }
        return APR_EINVAL;
    }
    *out = acme_json_own(p, j);
    return APR_SUCCESS;
}

char *acme_json_dump(apr_pool_t *p, const json_t *j, size_t flags)
{
    char *s, *copy;

    if (!j) {
        return NULL;
    }
    s = json_dumps(j, JSON_COMPACT | flags);
    if (!s) {
        return NULL;
    }
    copy = apr_pstrdup(p, s);
    free(s);
    return copy;
}

/* The member named key, or NULL when obj is not an object or lacks it. */
static json_t *member(const json_t *obj, const char *key)
{
    if (!obj || !key || !json_is_object(obj)) {
        return NULL;
    }
    return json_object_get(obj, key);
}

apr_status_t acme_json_get_str(const json_t *obj, const char *key, const char **out)
{
    json_t *v = member(obj, key);

    if (!v) return APR_NOTFOUND;
    if (!json_is_string(v)) return APR_EINVAL;
    *out = json_string_value(v);
    return APR_SUCCESS;
}

apr_status_t acme_json_get_int(const json_t *obj, const char *key, json_int_t *out)
{
    json_t *v = member(obj, key);

    if (!v) return APR_NOTFOUND;
    if (!json_is_integer(v)) return APR_EINVAL;
    *out = json_integer_value(v);
    return APR_SUCCESS;
}

apr_status_t acme_json_get_bool(const json_t *obj, const char *key, int *out)
{
    json_t *v = member(obj, key);

    if (!v) return APR_NOTFOUND;
    if (!json_is_boolean(v)) return APR_EINVAL;
    *out = json_is_true(v);
    return APR_SUCCESS;
}

apr_status_t acme_json_get_obj(const json_t *obj, const char *key, json_t **out)
{
    json_t *v = member(obj, key);

    if (!v) return APR_NOTFOUND;
    if (!json_is_object(v)) return APR_EINVAL;
    *out = v;
    return APR_SUCCESS;
}

apr_status_t acme_json_get_arr(const json_t *obj, const char *key, json_t **out)
{
    json_t *v = member(obj, key);

    if (!v) return APR_NOTFOUND;
    if (!json_is_array(v)) return APR_EINVAL;
    *out = v;
    return APR_SUCCESS;
}

apr_status_t acme_json_opt_str(const json_t *obj, const char *key, const char **out)
{
    apr_status_t rv = acme_json_get_str(obj, key, out);

    if (rv == APR_NOTFOUND) {
        *out = NULL;
        return APR_SUCCESS;
    }
    return rv;
}
