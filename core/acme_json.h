/* acme_json.h: Jansson values whose lifetime is an APR pool, and typed getters that fail cleanly. */
#ifndef ACME_JSON_H
#define ACME_JSON_H

#include <apr_pools.h>
#include <jansson.h>

/* Hands one reference of j to p: json_decref runs at pool cleanup. Returns j. */
json_t *acme_json_own(apr_pool_t *p, json_t *j);

/* Parse len bytes (need not be NUL-terminated); the result is owned by p.
 * Rejects anything but an object or array at the top, duplicate keys and
 * embedded NULs. On error returns APR_EINVAL and, when err is given, a
 * message with line/column allocated from p. */
apr_status_t acme_json_parse(apr_pool_t *p, const char *data, apr_size_t len,
                             json_t **out, const char **err);

/* Compact serialization (JSON_COMPACT|flags), allocated from p. NULL on failure. */
char *acme_json_dump(apr_pool_t *p, const json_t *j, size_t flags);

/* Typed getters: APR_NOTFOUND when key is missing (or obj is not an object),
 * APR_EINVAL when present with another type. Outputs stay owned by obj. */
apr_status_t acme_json_get_str(const json_t *obj, const char *key, const char **out);
apr_status_t acme_json_get_int(const json_t *obj, const char *key, json_int_t *out);
apr_status_t acme_json_get_bool(const json_t *obj, const char *key, int *out);
apr_status_t acme_json_get_obj(const json_t *obj, const char *key, json_t **out);
apr_status_t acme_json_get_arr(const json_t *obj, const char *key, json_t **out);

/* Optional string: NULL when missing, APR_EINVAL when mistyped. */
apr_status_t acme_json_opt_str(const json_t *obj, const char *key, const char **out);

#endif
