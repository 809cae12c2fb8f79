/* acme_fallback.c: fallback certificates in the store: the shared key, a certificate per domain with a header line that lets a later start check it without an X.509 parse, and the memo of what was checked. */
#include <errno.h>
#include <string.h>

#include <apr_hash.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "acme_fallback.h"
#include "acme_jws.h"
#include "acme_key.h"
#include "acme_x509.h"

/* fallback.pem starts with a line naming what it was made for (PEM readers
 * skip text before BEGIN). */
#define TAG "mod_acme fallback v1 key="
#define BEGIN "-----BEGIN CERTIFICATE-----"
#define MAX_SECS APR_INT64_C(253402300799)  /* 9999-12-31 */

/* What identifies a file's content without reading it (the store's version). */
typedef struct {
    char v[128];
} stamp_t;

typedef struct {
    stamp_t cert, key;
    const char *names;                  /* the names it was checked for, joined */
    apr_time_t not_after;
} seen_t;

struct acme_fallback_memo_t {
    apr_pool_t *pool;                   /* as long as the memo */
    apr_hash_t *certs;                  /* entry -> seen_t* */
};

struct acme_fallback_pass_t {
    apr_pool_t *pool;
    acme_store_t *store;
    acme_fallback_memo_t *memo;
    acme_key_t *key;                    /* the shared key, once loaded or made */
    stamp_t key_stamp;                  /* its file, once it exists */
    int have_key;
    const char *key_id;                 /* its JWK thumbprint */
    acme_selfsigner_t *signer;          /* once a certificate is made */
};

acme_fallback_memo_t *acme_fallback_memo_make(apr_pool_t *pool)
{
    acme_fallback_memo_t *m = apr_pcalloc(pool, sizeof(*m));

    m->pool = pool;
    m->certs = apr_hash_make(pool);
    return m;
}

acme_fallback_pass_t *acme_fallback_pass(apr_pool_t *pool, acme_store_t *store,
                                         acme_fallback_memo_t *memo)
{
    acme_fallback_pass_t *fp = apr_pcalloc(pool, sizeof(*fp));

    fp->pool = pool;
    fp->store = store;
    fp->memo = memo;
    return fp;
}

static int stamp_of(acme_fallback_pass_t *fp, apr_pool_t *p, const char *entry, const char *item,
                    stamp_t *st)
{
    acme_store_file_t f;

    if (fp->store->file(fp->store, p, ACME_SG_FALLBACK, entry, item, &f) != APR_SUCCESS) {
        return 0;
    }
    apr_cpystrn(st->v, f.version, sizeof(st->v));
    return 1;
}

static int same_stamp(const stamp_t *a, const stamp_t *b)
{
    return !strcmp(a->v, b->v);
}

static int time_ok(apr_time_t not_after)
{
    return not_after - apr_time_now() >= ACME_FALLBACK_MIN_LEFT;
}

/* ONE shared EC P-256 key for every fallback certificate: cheap cold starts. */
static apr_status_t shared_key(acme_fallback_pass_t *fp, apr_pool_t *p)
{
    acme_store_t *st = fp->store;
    apr_status_t rv;
    char *pem;
    apr_size_t len;

    if (fp->key) {
        return APR_SUCCESS;
    }
    rv = st->load(st, p, ACME_SG_FALLBACK, ACME_FALLBACK_KEY_ENTRY, ACME_FALLBACK_KEY_ITEM, &pem,
                  &len);
    if (rv == APR_SUCCESS) {
        rv = acme_key_from_pem(fp->pool, pem, len, &fp->key);
    }
    if (rv != APR_SUCCESS) {
        if ((rv = acme_key_generate(fp->pool, ACME_KEY_EC256, &fp->key))
            || (rv = acme_key_to_pem(p, fp->key, &pem, &len))
            || (rv = st->save(st, p, ACME_SG_FALLBACK, ACME_FALLBACK_KEY_ENTRY,
                              ACME_FALLBACK_KEY_ITEM, pem, len, ACME_STORE_PRIVATE, NULL))) {
            fp->key = NULL;
            return rv;
        }
    }
    fp->have_key = stamp_of(fp, p, ACME_FALLBACK_KEY_ENTRY, ACME_FALLBACK_KEY_ITEM, &fp->key_stamp)
                   && acme_jwk_thumbprint(fp->pool, fp->key, &fp->key_id) == APR_SUCCESS;
    return fp->have_key ? APR_SUCCESS : APR_ENOENT;
}

/* "<tag><key id> not_after=<seconds> len=<PEM bytes> names=<names>": what a
 * certificate made now for these names and the shared key says of itself;
 * the length catches a file cut short (it is written without fsync). */
static const char *header(apr_pool_t *p, const acme_fallback_pass_t *fp, const char *names,
                          apr_time_t not_after, apr_size_t pem_len)
{
    return apr_psprintf(p, TAG "%s not_after=%" APR_TIME_T_FMT " len=%" APR_SIZE_T_FMT
                        " names=%s\n", fp->key_id, apr_time_sec(not_after), pem_len, names);
}

/* The stored certificate's first line: made for these names and the shared
 * key, with time left; the certificate itself follows. */
static int header_ok(acme_fallback_pass_t *fp, apr_pool_t *p, const char *entry,
                     const char *names, apr_time_t *not_after)
{
    const char *head = apr_pstrcat(p, TAG, fp->key_id, " not_after=", NULL);
    const char *tail = apr_pstrcat(p, " names=", names, "\n" BEGIN, NULL);
    char *pem, *end, *data;
    apr_size_t len;
    apr_int64_t secs, pem_len;

    if (fp->store->load(fp->store, p, ACME_SG_FALLBACK, entry, ACME_FALLBACK_CERT_ITEM, &data,
                        &len) != APR_SUCCESS || strncmp(data, head, strlen(head))) {
        return 0;
    }
    pem = data + strlen(head);
    errno = 0;
    if (!apr_isdigit(*pem) || (secs = apr_strtoi64(pem, &end, 10)) <= 0 || errno
        || secs > MAX_SECS || strncmp(end, " len=", 5) || !apr_isdigit(end[5])) {
        return 0;
    }
    pem_len = apr_strtoi64(end + 5, &end, 10);
    if (errno || strncmp(end, tail, strlen(tail))
        || pem_len != (apr_int64_t)(len - (apr_size_t)(end + strlen(tail) - strlen(BEGIN)
                                                       - data))) {
        return 0;
    }
    *not_after = apr_time_from_sec(secs);
    return time_ok(*not_after);
}

static void remember(acme_fallback_memo_t *m, const char *entry, const stamp_t *cert,
                     const stamp_t *key, const char *names, apr_time_t not_after)
{
    seen_t *seen = apr_hash_get(m->certs, entry, APR_HASH_KEY_STRING);

    if (!seen) {
        seen = apr_pcalloc(m->pool, sizeof(*seen));
        apr_hash_set(m->certs, apr_pstrdup(m->pool, entry), APR_HASH_KEY_STRING, seen);
    }
    if (!seen->names || strcmp(seen->names, names)) {
        /* grows only when a domain's names change */
        seen->names = apr_pstrdup(m->pool, names);
    }
    seen->cert = *cert;
    seen->key = *key;
    seen->not_after = not_after;
}

/* The stored certificate still fits: covers the names, has time left and
 * belongs to the shared key. */
static int cert_ok(acme_fallback_pass_t *fp, apr_pool_t *p, const char *entry, const char *names)
{
    const seen_t *seen = apr_hash_get(fp->memo->certs, entry, APR_HASH_KEY_STRING);
    stamp_t cert;
    apr_time_t not_after;

    if (!stamp_of(fp, p, entry, ACME_FALLBACK_CERT_ITEM, &cert)) {
        return 0;
    }
    if (seen && same_stamp(&seen->cert, &cert) && same_stamp(&seen->key, &fp->key_stamp)
        && !strcmp(seen->names, names) && time_ok(seen->not_after)) {
        return 1;
    }
    if (!header_ok(fp, p, entry, names, &not_after)) {
        return 0;
    }
    remember(fp->memo, entry, &cert, &fp->key_stamp, names, not_after);
    return 1;
}

apr_status_t acme_fallback_prepare(acme_fallback_pass_t *fp, apr_pool_t *p, const char *entry,
                                   const apr_array_header_t *names)
{
    apr_time_t made = apr_time_now();
    const char *joined = apr_array_pstrcat(p, names, ' ');
    stamp_t cert;
    apr_status_t rv;
    char *pem;

    if ((rv = shared_key(fp, p)) != APR_SUCCESS) {
        return rv;
    }
    if (cert_ok(fp, p, entry, joined)) {
        return APR_SUCCESS;
    }
    if (!fp->signer && (rv = acme_selfsigner_create(fp->pool, fp->key, &fp->signer))) {
        return rv;
    }
    rv = acme_selfsigner_cert(p, fp->signer, names, ACME_FALLBACK_VALID, &pem);
    if (rv == APR_SUCCESS) {
        pem = apr_pstrcat(p, header(p, fp, joined, made + ACME_FALLBACK_VALID, strlen(pem)), pem,
                          NULL);
        /* regenerable: a crash at worst loses it, and the next start remakes it */
        rv = fp->store->save(fp->store, p, ACME_SG_FALLBACK, entry, ACME_FALLBACK_CERT_ITEM, pem,
                             strlen(pem), ACME_STORE_REGENERABLE, NULL);
    }
    /* what was just made needs no check in the next pass (notAfter >= made + valid) */
    if (rv == APR_SUCCESS && stamp_of(fp, p, entry, ACME_FALLBACK_CERT_ITEM, &cert)) {
        remember(fp->memo, entry, &cert, &fp->key_stamp, joined, made + ACME_FALLBACK_VALID);
    }
    return rv;
}
