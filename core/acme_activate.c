/* acme_activate.c: staged certificate sets read as bytes through the store, verified in memory, compared with the active set and written as fresh active files. */
#include <string.h>

#include <openssl/evp.h>
#include <apr_strings.h>

#include "acme_activate.h"
#include "acme_json.h"
#include "acme_key.h"
#include "acme_time.h"
#include "acme_x509.h"

#define MAX_CHAIN_LEN 10
#define MAX_CLOCK_SKEW apr_time_from_sec(86400)

static const char *type_at(const acme_domain_t *d, int i)
{
    return acme_key_type_name(APR_ARRAY_IDX(d->key_types, i, acme_key_type_e));
}

static int is_private_item(const char *name)
{
    return strncmp(name, "privkey", 7) == 0;
}

apr_array_header_t *acme_set_item_names(apr_pool_t *p, const acme_domain_t *d)
{
    apr_array_header_t *names = apr_array_make(p, 2 * d->key_types->nelts + 3,
                                               sizeof(const char *));
    int i;

    for (i = 0; i < d->key_types->nelts; i++) {
        APR_ARRAY_PUSH(names, const char *) = acme_store_chain_item(p, type_at(d, i));
        APR_ARRAY_PUSH(names, const char *) = acme_store_pkey_item(p, type_at(d, i));
    }
    APR_ARRAY_PUSH(names, const char *) = acme_store_chain_item(p, NULL);
    APR_ARRAY_PUSH(names, const char *) = acme_store_pkey_item(p, NULL);
    APR_ARRAY_PUSH(names, const char *) = ACME_SET_META;
    return names;
}

static const acme_store_item_t *find_item(const acme_cert_set_t *set, const char *name)
{
    int i;

    for (i = 0; i < set->items->nelts; i++) {
        const acme_store_item_t *it = &APR_ARRAY_IDX(set->items, i, acme_store_item_t);

        if (!strcmp(it->name, name)) {
            return it;
        }
    }
    return NULL;
}

/* Hex SHA-256 over every item's name, length and bytes. */
static const char *set_digest(apr_pool_t *p, const apr_array_header_t *items)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int i, ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    char *hex;

    for (i = 0; ok && i < items->nelts; i++) {
        const acme_store_item_t *it = &APR_ARRAY_IDX(items, i, acme_store_item_t);
        const char *head = apr_psprintf(p, "%s %" APR_SIZE_T_FMT "\n", it->name, it->len);

        ok = EVP_DigestUpdate(ctx, head, strlen(head)) && EVP_DigestUpdate(ctx, it->data, it->len);
    }
    ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        return "";
    }
    hex = apr_palloc(p, 2 * mdlen + 1);
    for (i = 0; i < (int)mdlen; i++) {
        apr_snprintf(hex + 2 * i, 3, "%02x", md[i]);
    }
    return hex;
}

/* What a failed read of one item means, for the log. */
static const char *read_failure(apr_pool_t *p, acme_store_group_e g, const char *entry,
                                const char *item, apr_status_t rv)
{
    const char *where = apr_pstrcat(p, acme_store_group_name(g), "/", entry, "/", item, NULL);
    char buf[120];

    if (APR_STATUS_IS_ENOENT(rv)) {
        return apr_psprintf(p, "%s is missing", where);
    }
    if (rv == APR_EINVAL) {
        return apr_psprintf(p, "%s is not a plain file in a plain directory (a symbolic link, "
                            "a hard link, a FIFO, a socket or a device was found); expected a "
                            "regular file with one link", where);
    }
    if (rv == APR_ENOSPC) {
        return apr_psprintf(p, "%s is larger than %d KB; expected a certificate chain, a key "
                            "or meta.json", where, ACME_SET_ITEM_MAX / 1024);
    }
    return apr_psprintf(p, "%s cannot be read (%s)", where, apr_strerror(rv, buf, sizeof(buf)));
}

apr_status_t acme_set_read(acme_store_t *st, apr_pool_t *p, acme_store_group_e g,
                           const acme_domain_t *d, int with_keys, acme_cert_set_t **set,
                           const char **why)
{
    apr_array_header_t *names;
    acme_cert_set_t *s;
    apr_status_t rv;
    char *meta;
    apr_size_t mlen;
    int i;

    *set = NULL;
    *why = NULL;
    if (!d || !d->names || d->names->nelts == 0 || !d->key_types || d->key_types->nelts == 0) {
        *why = "the domain has no names or key types";
        return APR_EINVAL;
    }
    s = apr_pcalloc(p, sizeof(*s));
    s->d = d;
    if (!(s->entry = acme_store_entry(p, d->id))) {
        *why = "invalid domain name";
        return APR_EINVAL;
    }
    /* meta.json is written last: without it the set is not complete yet */
    rv = st->load(st, p, g, s->entry, ACME_SET_META, &meta, &mlen);
    if (APR_STATUS_IS_ENOENT(rv)) {
        return APR_ENOENT;
    }
    if (rv != APR_SUCCESS) {
        *why = read_failure(p, g, s->entry, ACME_SET_META, rv);
        return rv;
    }
    names = acme_set_item_names(p, d);
    s->items = apr_array_make(p, names->nelts, sizeof(acme_store_item_t));
    for (i = 0; rv == APR_SUCCESS && i < names->nelts; i++) {
        const char *name = APR_ARRAY_IDX(names, i, const char *);
        acme_store_item_t *it;
        char *data = meta;
        apr_size_t len = mlen;

        if (is_private_item(name) && !with_keys) {
            continue;
        }
        if (strcmp(name, ACME_SET_META) && (rv = st->load(st, p, g, s->entry, name, &data, &len))) {
            break;
        }
        if (len > ACME_SET_ITEM_MAX) {
            rv = APR_ENOSPC;
            break;
        }
        it = apr_array_push(s->items);
        it->name = name;
        it->data = data;
        it->len = len;
        it->flags = is_private_item(name) ? ACME_STORE_PRIVATE : 0;
    }
    if (rv != APR_SUCCESS) {
        *why = read_failure(p, g, s->entry, APR_ARRAY_IDX(names, i, const char *), rv);
        return APR_STATUS_IS_ENOENT(rv) ? APR_EINVAL : rv;
    }
    s->digest = set_digest(p, s->items);
    *set = s;
    return APR_SUCCESS;
}

const char *acme_activate_check_chain(apr_pool_t *p, const apr_array_header_t *certs,
                                      apr_time_t now)
{
    int i;

    if (!certs || certs->nelts == 0) {
        return "there is no certificate";
    }
    if (certs->nelts < 2) {
        return "the chain has no issuer certificate";
    }
    if (certs->nelts > MAX_CHAIN_LEN) {
        return "the chain is too long";
    }
    for (i = 0; i < certs->nelts; ++i) {
        acme_cert_info_t *info = NULL;
        const acme_cert_t *c = APR_ARRAY_IDX(certs, i, acme_cert_t *);

        if (acme_cert_info(p, c, &info) != APR_SUCCESS) {
            return "a certificate cannot be read";
        }
        if (info->not_after <= now) {
            return apr_psprintf(p, "certificate %d of the chain (%s) expired at %s", i,
                                info->subject ? info->subject : "?",
                                acme_time_rfc3339(p, info->not_after));
        }
        if (info->not_before >= info->not_after) {
            return "a certificate has an empty validity";
        }
        if (i == 0 && info->not_before > now + MAX_CLOCK_SKEW) {
            return apr_psprintf(p, "the certificate is not valid before %s",
                                acme_time_rfc3339(p, info->not_before));
        }
        if (i + 1 < certs->nelts
            && !acme_cert_issued_by(c, APR_ARRAY_IDX(certs, i + 1, acme_cert_t *))) {
            return apr_psprintf(p, "certificate %d of the chain is not issued by the next one", i);
        }
    }
    return NULL;
}

static const char *verify_type(apr_pool_t *p, const acme_cert_set_t *set, const char *chain_item,
                               const char *key_item, apr_time_t now)
{
    const acme_store_item_t *chain = find_item(set, chain_item), *kpem = find_item(set, key_item);
    apr_array_header_t *certs = NULL;
    acme_key_t *key = NULL;
    const char *why;

    if (!chain || acme_certs_from_pem(p, chain->data, chain->len, &certs) != APR_SUCCESS) {
        return apr_psprintf(p, "%s %s", chain_item, chain ? "does not parse" : "is missing");
    }
    if (!kpem) {
        return apr_psprintf(p, "%s is missing", key_item);
    }
    if (acme_key_from_pem(p, kpem->data, kpem->len, &key) != APR_SUCCESS) {
        return apr_psprintf(p, "%s does not parse", key_item);
    }
    if (!acme_cert_matches_key(APR_ARRAY_IDX(certs, 0, acme_cert_t *), key)) {
        return apr_psprintf(p, "%s does not belong to the certificate in %s", key_item, chain_item);
    }
    if (!acme_cert_names_exactly(APR_ARRAY_IDX(certs, 0, acme_cert_t *), set->d->names)) {
        return apr_psprintf(p, "the certificate in %s does not name exactly %s", chain_item,
                            apr_array_pstrcat(p, set->d->names, ' '));
    }
    if ((why = acme_activate_check_chain(p, certs, now))) {
        return apr_psprintf(p, "%s: %s", chain_item, why);
    }
    return NULL;
}

/* The unsuffixed files must be the primary type's. */
static const char *verify_copy(apr_pool_t *p, const acme_cert_set_t *set, const char *typed,
                               const char *plain)
{
    const acme_store_item_t *a = find_item(set, typed), *b = find_item(set, plain);

    if (!b) {
        return apr_psprintf(p, "%s is missing", plain);
    }
    if (!a || a->len != b->len || memcmp(a->data, b->data, a->len)) {
        return apr_psprintf(p, "%s differs from %s", plain, typed);
    }
    return NULL;
}

static const char *verify_meta(apr_pool_t *p, const acme_cert_set_t *set)
{
    const acme_store_item_t *m = find_item(set, ACME_SET_META);
    json_t *meta = NULL;
    const char *name;

    if (!m || acme_json_parse(p, m->data, m->len, &meta, NULL) != APR_SUCCESS
        || !json_is_object(meta)) {
        return ACME_SET_META " is not a JSON object";
    }
    name = json_string_value(json_object_get(meta, "name"));
    if (!name || strcmp(name, set->d->id)) {
        return apr_psprintf(p, ACME_SET_META " names %s, expected %s", name ? name : "nothing",
                            set->d->id);
    }
    return NULL;
}

const char *acme_set_verify(apr_pool_t *p, const acme_cert_set_t *set, apr_time_t now)
{
    const acme_domain_t *d = set->d;
    const char *w = NULL;
    int i;

    for (i = 0; !w && i < d->key_types->nelts; ++i) {
        const char *ci = acme_store_chain_item(p, type_at(d, i));
        const char *ki = acme_store_pkey_item(p, type_at(d, i));

        w = verify_type(p, set, ci, ki, now);
        if (!w && i == 0) {
            w = verify_copy(p, set, ci, acme_store_chain_item(p, NULL));
        }
        if (!w && i == 0) {
            w = verify_copy(p, set, ki, acme_store_pkey_item(p, NULL));
        }
    }
    return w ? w : verify_meta(p, set);
}

int acme_set_same(acme_store_t *st, apr_pool_t *p, const acme_cert_set_t *set,
                  acme_store_group_e g, int public_only)
{
    int i;

    for (i = 0; i < set->items->nelts; i++) {
        const acme_store_item_t *it = &APR_ARRAY_IDX(set->items, i, acme_store_item_t);
        char *data;
        apr_size_t len;

        if (public_only && (it->flags & ACME_STORE_PRIVATE)) {
            continue;
        }
        if (st->load(st, p, g, set->entry, it->name, &data, &len) != APR_SUCCESS
            || len != it->len || memcmp(data, it->data, len)) {
            return 0;
        }
    }
    return 1;
}

acme_staged_e acme_activate_check(acme_store_t *st, apr_pool_t *p, const acme_domain_t *d,
                                  acme_cert_set_t **set, const char **why)
{
    acme_cert_set_t *s = NULL;
    apr_status_t rv = acme_set_read(st, p, ACME_SG_STAGING, d, 1, &s, why);

    if (set) {
        *set = s;
    }
    if (APR_STATUS_IS_ENOENT(rv)) {
        return ACME_STAGED_NONE;
    }
    if (rv != APR_SUCCESS) {
        return ACME_STAGED_BAD;
    }
    if (acme_set_same(st, p, s, ACME_SG_DOMAINS, 0)) {
        return ACME_STAGED_ACTIVE;
    }
    return (*why = acme_set_verify(p, s, apr_time_now())) ? ACME_STAGED_BAD : ACME_STAGED_NEW;
}

apr_status_t acme_activate_install(acme_store_t *st, apr_pool_t *p, const acme_cert_set_t *set)
{
    return st->replace(st, p, ACME_SG_DOMAINS, set->entry, set->items, ACME_SG_ARCHIVE, NULL);
}

apr_status_t acme_activate(acme_store_t *st, apr_pool_t *p, const acme_domain_t *d,
                           acme_staged_e *state, const char **why)
{
    acme_cert_set_t *set;

    *state = acme_activate_check(st, p, d, &set, why);
    if (*state == ACME_STAGED_BAD) {
        return APR_EINVAL;
    }
    return *state == ACME_STAGED_NEW ? acme_activate_install(st, p, set) : APR_SUCCESS;
}
