/* mod_acme_serve.c: startup in the privileged parent and certificates (real or fallback) handed to mod_ssl. */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_ssl.h>
#include <unixd.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "acme_domain.h"
#include "acme_file.h"
#include "acme_jws.h"
#include "acme_key.h"
#include "acme_store.h"
#include "acme_seal.h"
#include "acme_x509.h"
#include "mod_acme_activate.h"
#include "mod_acme_config.h"
#include "mod_acme_serve.h"
#include "mod_acme_status.h"
#include "mod_acme_warn.h"
#include "mod_acme_watchdog.h"

APLOG_USE_MODULE(acme);

#define FALLBACK_ENTRY "_shared"
#define FALLBACK_KEY_ITEM "privkey.pem"
#define FALLBACK_CERT_ITEM "fallback.pem"
#define FALLBACK_VALID apr_time_from_sec(30 * 24 * 3600)
#define FALLBACK_MIN_LEFT apr_time_from_sec(2 * 24 * 3600)
/* fallback.pem starts with a line naming what it was made for (PEM readers
 * skip text before BEGIN): a later start checks it without an X.509 parse. */
#define FALLBACK_TAG "mod_acme fallback v1 key="
#define FALLBACK_BEGIN "-----BEGIN CERTIFICATE-----"
#define FALLBACK_MAX_SECS APR_INT64_C(253402300799)  /* 9999-12-31 */

static void log_to_httpd(void *baton, acme_log_level_e level, apr_status_t rv, const char *msg)
{
    server_rec *s = baton;

    /* no file(line) of this function in every core message; APR_EGENERAL
     * ("Internal error (specific information not available)") says nothing */
    ap_log_error_(NULL, 0, APLOG_MODULE_INDEX, (int)level, rv == APR_EGENERAL ? 0 : rv, s,
                  "%s", msg);
}

static int any_sets(server_rec *base)
{
    server_rec *s;

    for (s = base; s; s = s->next) {
        if (acme_sconf(s)->sets->nelts > 0) {
            return 1;
        }
    }
    return 0;
}

/* Once per (re)start, in the pass whose config the children get (the
 * pre-config pass is followed by that one before any child runs): the store
 * directory must be out of the User's reach, since what root and mod_ssl
 * load lives below it; the group directories get their owners; crash
 * leftovers in root's groups are removed. The User's groups are never
 * walked: their leftovers are the children's (mod_acme_watchdog.c). */
static apr_status_t prepare_store(acme_rt_t *rt, apr_pool_t *p)
{
    const char *bad, *why, *odd;
    apr_status_t rv;
    int g;

    if (geteuid() == 0) {
        rv = rt->store->prepare(rt->store, p, (long)ap_unixd_config.user_id,
                                (long)ap_unixd_config.group_id, &bad, &why);
        if (rv == APR_EACCES) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, rt->s,
                         "ACMEStoreDir %s: %s is %s, the httpd User; root loads the "
                         "certificates and keys below it, so it must be a directory that only "
                         "root can change (see README \"Store layout and ownership\")",
                         rt->store_dir, bad, why);
            return APR_EACCES;
        }
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, rv, rt->s,
                         "ACMEStoreDir %s: cannot make %s a directory of the expected owner "
                         "(root for domains, archive and fallback; the httpd User for staging, "
                         "challenges, accounts and state)", rt->store_dir, bad);
            return rv;
        }
    }
    for (g = 0; g < ACME_SG_COUNT; g++) {
        if (acme_store_root_group((acme_store_group_e)g)
            && rt->store->sweep(rt->store, p, (acme_store_group_e)g, &odd) != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, rt->s, "ACMEStoreDir %s: %s",
                         rt->store_dir, odd);
        }
    }
    return APR_SUCCESS;
}

/* This node's name in the fleet: the host and its store directory (several
 * servers on one host have their own stores). */
static const char *node_name(apr_pool_t *p, const char *store_dir)
{
    char host[APRMAXHOSTLEN + 1];
    char *name, *c;

    if (apr_gethostname(host, sizeof(host), p) != APR_SUCCESS) {
        apr_cpystrn(host, "localhost", sizeof(host));
    }
    name = apr_pstrcat(p, host, ":", store_dir, NULL);
    for (c = name; *c; c++) {
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f) *c = '_';
    }
    return name;
}

/* ACMEStore redis://: what the fleet store needs besides its URL (README
 * "Running a fleet"). The key file is read here, by the parent (root), and
 * the children inherit the keys. */
static apr_status_t fleet_spec(acme_rt_t *rt, apr_pool_t *p, acme_store_spec_t *spec)
{
    const acme_sconf_t *g = rt->g;
    acme_seal_keys_t *keys = NULL;
    const char *err = NULL;
    apr_status_t rv;

    if (!g->store_key_file) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, rt->s, "ACMEStore %s: ACMEStoreKeyFile is "
                     "required with a Redis store (private keys are kept there only sealed); "
                     "see README \"Running a fleet\"", g->store_url);
        return APR_EINVAL;
    }
    rv = acme_seal_keys_read(p, g->store_key_file, geteuid() == 0 ? ACME_SEAL_ROOT_OWNED : 0,
                             &keys, &err);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, rt->s, "ACMEStoreKeyFile %s: %s",
                     g->store_key_file, err ? err : "cannot be read");
        return rv;
    }
    spec->keys = keys;
    spec->node = node_name(p, rt->store_dir);
    spec->lock_ttl = acme_cfg_fleet_lock_ttl(g);
    return APR_SUCCESS;
}

static apr_status_t open_store(acme_rt_t *rt, apr_pool_t *p)
{
    const acme_sconf_t *g = rt->g;
    acme_store_spec_t spec;
    const char *err = NULL;
    int fleet = g->store_url && strcmp(g->store_url, "file");
    apr_status_t rv;

    rt->store_dir = g->store_dir ? g->store_dir : ap_server_root_relative(p, "acme");
    memset(&spec, 0, sizeof(spec));
    spec.dir = rt->store_dir;
    spec.url = g->store_url;
    spec.flags = ACME_STORE_OPEN_NOSWEEP;
    spec.log = &rt->log;
    if (fleet && (rv = fleet_spec(rt, p, &spec)) != APR_SUCCESS) {
        return rv;
    }
    rv = acme_store_open(p, &spec, &rt->store, &err);
    if (rv != APR_SUCCESS && fleet) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, rt->s, "ACMEStore %s: %s", g->store_url,
                     err ? err : "cannot open the fleet store");
        return rv;
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, rt->s,
                     "ACMEStoreDir %s: cannot open or create the certificate store; check "
                     "that the directory is writable by root", rt->store_dir);
        return rv;
    }
    return rt->startup ? prepare_store(rt, p) : APR_SUCCESS;
}

/* ---- vhost to domain -------------------------------------------------- */

static acme_mdomain_t *lookup_name(const acme_rt_t *rt, const char *name, apr_pool_t *p)
{
    char *n, *dot;
    acme_mdomain_t *md;

    if (!name) {
        return NULL;
    }
    n = apr_pstrdup(p, name);
    ap_str_tolower(n);
    if ((md = apr_hash_get(rt->by_name, n, APR_HASH_KEY_STRING))) {
        return md;
    }
    /* a wildcard certificate covers one more label */
    if ((dot = strchr(n, '.')) && n[0] != '*') {
        return apr_hash_get(rt->by_name, apr_pstrcat(p, "*", dot, NULL), APR_HASH_KEY_STRING);
    }
    return NULL;
}

static acme_mdomain_t *vhost_domain(const acme_rt_t *rt, server_rec *s, apr_pool_t *p)
{
    const acme_sconf_t *sc = acme_sconf(s);
    acme_mdomain_t *md;
    int i;

    if (sc->sets->nelts > 0 && s->is_virtual) {
        const acme_dset_t *set = APR_ARRAY_IDX(sc->sets, 0, const acme_dset_t *);
        for (i = 0; i < rt->domains->nelts; i++) {
            md = APR_ARRAY_IDX(rt->domains, i, acme_mdomain_t *);
            if (md->set == set) {
                return md;
            }
        }
    }
    if ((md = lookup_name(rt, s->server_hostname, p))) {
        return md;
    }
    for (i = 0; s->names && i < s->names->nelts; i++) {
        if ((md = lookup_name(rt, APR_ARRAY_IDX(s->names, i, const char *), p))) {
            return md;
        }
    }
    return NULL;
}

static int has_protocol(const apr_array_header_t *a, const char *proto)
{
    int i;

    for (i = 0; i < a->nelts; i++) {
        if (!strcasecmp(APR_ARRAY_IDX(a, i, const char *), proto)) {
            return 1;
        }
    }
    return 0;
}

static int allows_tls_alpn(const acme_domain_t *d)
{
    int i;

    for (i = 0; i < d->challenges->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(d->challenges, i, const char *), "tls-alpn-01")) {
            return 1;
        }
    }
    return 0;
}

/* The admin does not edit Protocols: acme-tls/1 is added on managed vhosts.
 * An empty list means "http/1.1 only", so that is kept explicitly. */
static void enable_acme_tls(server_rec *s, apr_pool_t *p)
{
    core_server_config *csc = ap_get_core_module_config(s->module_config);
    apr_array_header_t *protos;

    if (!csc || (csc->protocols && has_protocol(csc->protocols, "acme-tls/1"))) {
        return;
    }
    /* vhosts share the main server's array when they set none: copy first */
    protos = csc->protocols ? apr_array_copy(p, csc->protocols)
                            : apr_array_make(p, 2, sizeof(const char *));
    if (protos->nelts == 0) {
        APR_ARRAY_PUSH(protos, const char *) = "http/1.1";
    }
    APR_ARRAY_PUSH(protos, const char *) = "acme-tls/1";
    csc->protocols = protos;
}

static void assign_vhosts(acme_rt_t *rt, server_rec *base, apr_pool_t *p)
{
    server_rec *s;

    for (s = base; s; s = s->next) {
        acme_sconf_t *sc = acme_sconf(s);

        sc->rt = rt;
        sc->md = vhost_domain(rt, s, p);
        if (sc->md && allows_tls_alpn(sc->md->d)) {
            enable_acme_tls(s, p);
            sc->serve_tls_alpn = 1;
        }
    }
}

/* ---- files -------------------------------------------------------------- */

static void push_pair(apr_array_header_t *certs, apr_array_header_t *keys,
                      const char *cert, const char *key)
{
    APR_ARRAY_PUSH(certs, const char *) = cert;
    APR_ARRAY_PUSH(keys, const char *) = key;
}


/* What root and mod_ssl load: an entry of root's groups that is a real
 * directory (never a link) owned by this process's user and writable by
 * nobody else, and in it a regular file of that user; NULL otherwise,
 * logged once at startup. Nobody else can change anything on that path. */
static const char *root_file(acme_rt_t *rt, apr_pool_t *p, acme_store_group_e g,
                             const char *entry, const char *item, int want_entry,
                             const char **version)
{
    acme_store_file_t f;
    apr_status_t rv = rt->store->file(rt->store, p, g, entry, item, &f);

    if (rv == APR_EINVAL && f.expected && rt->startup && want_entry) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, rt->s,
                     "%s is not what root wrote (expected %s); it is not served", f.path,
                     f.expected);
    }
    if (version) {
        *version = rv == APR_SUCCESS ? f.version : NULL;
    }
    return rv == APR_SUCCESS ? f.path : NULL;
}

/* The active certificate/key pairs of d, one per key type that has both;
 * the key is looked for only next to a certificate. */
static void active_files(acme_rt_t *rt, apr_pool_t *p, const acme_domain_t *d,
                         apr_array_header_t **certs, apr_array_header_t **keys)
{
    int i;

    *certs = *keys = NULL;
    for (i = 0; i < d->key_types->nelts; i++) {
        const char *kt = acme_key_type_name(APR_ARRAY_IDX(d->key_types, i, acme_key_type_e));
        const char *c = root_file(rt, p, ACME_SG_DOMAINS, d->id, acme_store_chain_item(p, kt),
                                  i == 0, NULL);
        const char *k = c ? root_file(rt, p, ACME_SG_DOMAINS, d->id,
                                      acme_store_pkey_item(p, kt), 1, NULL) : NULL;

        if (k) {
            if (!*certs) {
                *certs = apr_array_make(p, 2, sizeof(const char *));
                *keys = apr_array_make(p, 2, sizeof(const char *));
            }
            push_pair(*certs, *keys, c, k);
        }
    }
}

/* ONE shared EC P-256 key for every fallback certificate: cheap cold starts. */
static apr_status_t fallback_key(acme_rt_t *rt, apr_pool_t *p)
{
    acme_store_t *st = rt->store;
    apr_status_t rv;
    char *pem;
    apr_size_t len;

    if (rt->fallback_key) {
        return APR_SUCCESS;
    }
    rv = st->load(st, p, ACME_SG_FALLBACK, FALLBACK_ENTRY, FALLBACK_KEY_ITEM, &pem, &len);
    if (rv == APR_SUCCESS) {
        rv = acme_key_from_pem(rt->pool, pem, len, &rt->fallback_key);
    }
    if (rv != APR_SUCCESS) {
        if ((rv = acme_key_generate(rt->pool, ACME_KEY_EC256, &rt->fallback_key))
            || (rv = acme_key_to_pem(p, rt->fallback_key, &pem, &len))
            || (rv = st->save(st, p, ACME_SG_FALLBACK, FALLBACK_ENTRY, FALLBACK_KEY_ITEM, pem, len,
                              ACME_STORE_PRIVATE, NULL))) {
            rt->fallback_key = NULL;
            return rv;
        }
    }
    rt->fallback_key_path = root_file(rt, rt->pool, ACME_SG_FALLBACK, FALLBACK_ENTRY,
                                      FALLBACK_KEY_ITEM, 1, NULL);
    return rt->fallback_key_path ? APR_SUCCESS : APR_ENOENT;
}

/* Fallback certificates already checked by this process (retained across
 * config passes and graceful restarts): the same file for the same names
 * and the same key file is not parsed again. */
#define FALLBACK_MEMO_KEY "mod_acme_fallback_memo_v2"

typedef struct {
    apr_pool_t *pool;                   /* process lifetime */
    apr_hash_t *certs;                  /* domain id -> fallback_seen_t* */
} fallback_memo_t;

/* What identifies a file's content without reading it (the store's version). */
typedef struct {
    char v[128];
} file_stamp_t;

typedef struct {
    file_stamp_t cert, key;
    const char *names;                  /* the names it was checked for, joined */
    apr_time_t not_after;
} fallback_seen_t;

/* One config pass over the fallbacks. */
typedef struct {
    fallback_memo_t *memo;
    file_stamp_t key;                   /* the fallback key file, once it exists */
    int have_key;
    const char *key_id;                 /* the shared key's JWK thumbprint */
    acme_selfsigner_t *signer;          /* the shared key, once a certificate is made */
} fallback_pass_t;

static fallback_memo_t *fallback_memo(apr_pool_t *pconf)
{
    fallback_memo_t *m = ap_retained_data_get(FALLBACK_MEMO_KEY);

    if (!m) {
        m = ap_retained_data_create(FALLBACK_MEMO_KEY, sizeof(*m));
        /* pconf's parent lives as long as the process, like retained data */
        apr_pool_create(&m->pool, apr_pool_parent_get(pconf));
        m->certs = apr_hash_make(m->pool);
    }
    return m;
}

static int stamp_of(acme_rt_t *rt, apr_pool_t *p, const char *entry, const char *item,
                    file_stamp_t *st)
{
    const char *version;

    if (!root_file(rt, p, ACME_SG_FALLBACK, entry, item, 0, &version)) {
        return 0;
    }
    apr_cpystrn(st->v, version, sizeof(st->v));
    return 1;
}

static int same_stamp(const file_stamp_t *a, const file_stamp_t *b)
{
    return !strcmp(a->v, b->v);
}

static int fallback_time_ok(apr_time_t not_after)
{
    return not_after - apr_time_now() >= FALLBACK_MIN_LEFT;
}

/* "<tag><key id> not_after=<seconds> len=<PEM bytes> names=<names>": what a
 * certificate made now for these names and the shared key says of itself;
 * the length catches a file cut short (it is written without fsync). */
static const char *fallback_header(apr_pool_t *p, const fallback_pass_t *fp, const char *names,
                                   apr_time_t not_after, apr_size_t pem_len)
{
    return apr_psprintf(p, FALLBACK_TAG "%s not_after=%" APR_TIME_T_FMT " len=%" APR_SIZE_T_FMT
                        " names=%s\n", fp->key_id, apr_time_sec(not_after), pem_len, names);
}

/* The stored certificate's first line: made for these names and the shared
 * key, with time left; the certificate itself follows. */
static int fallback_header_ok(acme_rt_t *rt, apr_pool_t *p, const fallback_pass_t *fp,
                              const acme_domain_t *d, const char *names, apr_time_t *not_after)
{
    const char *head = apr_pstrcat(p, FALLBACK_TAG, fp->key_id, " not_after=", NULL);
    const char *tail = apr_pstrcat(p, " names=", names, "\n" FALLBACK_BEGIN, NULL);
    char *pem, *end, *data;
    apr_size_t len;
    apr_int64_t secs, pem_len;

    if (rt->store->load(rt->store, p, ACME_SG_FALLBACK, d->id, FALLBACK_CERT_ITEM, &data, &len)
        != APR_SUCCESS || strncmp(data, head, strlen(head))) {
        return 0;
    }
    pem = data + strlen(head);
    errno = 0;
    if (!apr_isdigit(*pem) || (secs = apr_strtoi64(pem, &end, 10)) <= 0 || errno
        || secs > FALLBACK_MAX_SECS || strncmp(end, " len=", 5) || !apr_isdigit(end[5])) {
        return 0;
    }
    pem_len = apr_strtoi64(end + 5, &end, 10);
    if (errno || strncmp(end, tail, strlen(tail))
        || pem_len != (apr_int64_t)(len - (apr_size_t)(end + strlen(tail) - strlen(FALLBACK_BEGIN)
                                                       - data))) {
        return 0;
    }
    *not_after = apr_time_from_sec(secs);
    return fallback_time_ok(*not_after);
}

static void fallback_remember(fallback_memo_t *m, const acme_domain_t *d,
                              const file_stamp_t *cert, const file_stamp_t *key,
                              const char *names, apr_time_t not_after)
{
    fallback_seen_t *seen = apr_hash_get(m->certs, d->id, APR_HASH_KEY_STRING);

    if (!seen) {
        seen = apr_pcalloc(m->pool, sizeof(*seen));
        apr_hash_set(m->certs, apr_pstrdup(m->pool, d->id), APR_HASH_KEY_STRING, seen);
    }
    if (!seen->names || strcmp(seen->names, names)) {
        /* grows only when a domain's names change */
        seen->names = apr_pstrdup(m->pool, names);
    }
    seen->cert = *cert;
    seen->key = *key;
    seen->not_after = not_after;
}

/* Reuse the stored fallback certificate while it covers the names, has time left
 * and belongs to the shared key. */
static int fallback_cert_ok(acme_rt_t *rt, apr_pool_t *p, fallback_pass_t *fp,
                            const acme_domain_t *d)
{
    const char *names = apr_array_pstrcat(p, d->names, ' ');
    const fallback_seen_t *seen = apr_hash_get(fp->memo->certs, d->id, APR_HASH_KEY_STRING);
    file_stamp_t cert;
    apr_time_t not_after;

    if (!fp->have_key || !stamp_of(rt, p, d->id, FALLBACK_CERT_ITEM, &cert)) {
        return 0;
    }
    if (seen && same_stamp(&seen->cert, &cert) && same_stamp(&seen->key, &fp->key)
        && !strcmp(seen->names, names) && fallback_time_ok(seen->not_after)) {
        return 1;
    }
    if (!fallback_header_ok(rt, p, fp, d, names, &not_after)) {
        return 0;
    }
    fallback_remember(fp->memo, d, &cert, &fp->key, names, not_after);
    return 1;
}

static apr_status_t prepare_fallback(acme_rt_t *rt, apr_pool_t *p, fallback_pass_t *fp,
                                     const acme_domain_t *d)
{
    apr_time_t made = apr_time_now();
    const char *names = apr_array_pstrcat(p, d->names, ' ');
    file_stamp_t cert;
    apr_status_t rv;
    char *pem;

    if ((rv = fallback_key(rt, p)) != APR_SUCCESS) {
        return rv;
    }
    if (!fp->have_key) {
        fp->have_key = stamp_of(rt, p, FALLBACK_ENTRY, FALLBACK_KEY_ITEM, &fp->key)
                       && acme_jwk_thumbprint(rt->pool, rt->fallback_key, &fp->key_id) == APR_SUCCESS;
    }
    if (fallback_cert_ok(rt, p, fp, d)) {
        return APR_SUCCESS;
    }
    if (!fp->signer && (rv = acme_selfsigner_create(rt->pool, rt->fallback_key, &fp->signer))) {
        return rv;
    }
    rv = acme_selfsigner_cert(p, fp->signer, d->names, FALLBACK_VALID, &pem);
    if (rv == APR_SUCCESS && fp->have_key) {
        pem = apr_pstrcat(p, fallback_header(p, fp, names, made + FALLBACK_VALID, strlen(pem)),
                          pem, NULL);
    }
    if (rv == APR_SUCCESS) {
        /* regenerable: a crash at worst loses it, and the next start remakes it */
        rv = rt->store->save(rt->store, p, ACME_SG_FALLBACK, d->id, FALLBACK_CERT_ITEM, pem,
                             strlen(pem), ACME_STORE_REGENERABLE, NULL);
    }
    /* what was just made needs no check in the next pass (notAfter >= made + valid) */
    if (rv == APR_SUCCESS && fp->have_key
        && stamp_of(rt, p, d->id, FALLBACK_CERT_ITEM, &cert)) {
        fallback_remember(fp->memo, d, &cert, &fp->key, names, made + FALLBACK_VALID);
    }
    return rv;
}

static apr_array_header_t *copy_strings(apr_pool_t *p, const apr_array_header_t *a)
{
    apr_array_header_t *out = apr_array_make(p, a->nelts, sizeof(const char *));
    int i;

    for (i = 0; i < a->nelts; i++) {
        APR_ARRAY_PUSH(out, const char *) = apr_pstrdup(p, APR_ARRAY_IDX(a, i, const char *));
    }
    return out;
}

/* What each domain serves in this pass, looked up once for mod_ssl's hooks:
 * its active pairs, else its fallback certificate (made when missing). */
static void find_served_files(acme_rt_t *rt, apr_pool_t *ptemp)
{
    apr_pool_t *p;
    fallback_pass_t fp;
    int i;

    memset(&fp, 0, sizeof(fp));
    fp.memo = fallback_memo(rt->pool);
    apr_pool_create(&p, ptemp);
    for (i = 0; i < rt->domains->nelts; i++) {
        acme_mdomain_t *md = APR_ARRAY_IDX(rt->domains, i, acme_mdomain_t *);
        apr_array_header_t *certs, *keys;
        apr_status_t rv;

        apr_pool_clear(p);
        md->cert_files = md->key_files = NULL;
        md->fallback_cert = NULL;
        active_files(rt, p, md->d, &certs, &keys);
        if (certs) {
            md->cert_files = copy_strings(rt->pool, certs);
            md->key_files = copy_strings(rt->pool, keys);
        }
        else if ((rv = prepare_fallback(rt, p, &fp, md->d)) == APR_SUCCESS) {
            md->fallback_cert = root_file(rt, rt->pool, ACME_SG_FALLBACK, md->d->id,
                                          FALLBACK_CERT_ITEM, 0, NULL);
        }
        else {
            ap_log_error(APLOG_MARK, APLOG_ERR, rv, rt->s,
                         "ACMEDomain %s: cannot create the temporary self-signed certificate "
                         "in %s/fallback; its vhosts will fail to start TLS until a certificate "
                         "is obtained", md->d->id, rt->store_dir);
        }
    }
    apr_pool_destroy(p);
}

/* ---- post_config ---------------------------------------------------------- */

/* A vhost without our directives shares the main server's struct (httpd's
 * merge without a merger): give each its own for the per-vhost runtime flags. */
static void separate_vhost_configs(apr_pool_t *pconf, server_rec *base)
{
    const acme_sconf_t *bsc = acme_sconf(base);
    server_rec *s;

    for (s = base->next; s; s = s->next) {
        if (acme_sconf(s) == bsc) {
            ap_set_module_config(s->module_config, &acme_module,
                                 acme_create_server_config(pconf, s));
        }
    }
}

static apr_status_t make_rt(apr_pool_t *pconf, server_rec *s, acme_rt_t **out)
{
    acme_rt_t *rt = apr_pcalloc(pconf, sizeof(*rt));

    rt->s = s;
    rt->pool = pconf;
    rt->g = acme_sconf(s);
    rt->log.fn = log_to_httpd;
    rt->log.baton = s;
    rt->log.level = (acme_log_level_e)ap_get_server_module_loglevel(s, APLOG_MODULE_INDEX);
    rt->startup = ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG;
    rt->announced = apr_hash_make(pconf);
    rt->refused = apr_hash_make(pconf);
    rt->wake_rfd = rt->wake_wfd = -1;
    *out = rt;
    return APR_SUCCESS;
}

int acme_serve_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    acme_rt_t *rt;
    apr_status_t rv;

    separate_vhost_configs(pconf, s);
    if (!any_sets(s)) {
        return OK;
    }
    make_rt(pconf, s, &rt);
    if (acme_config_build_domains(rt, pconf, s) != APR_SUCCESS) {
        return !OK;
    }
    if ((rv = open_store(rt, pconf)) != APR_SUCCESS) {
        return !OK;
    }
    if (rt->startup) {
        acme_activate_staged(rt, ptemp);
    }
    find_served_files(rt, ptemp);
    assign_vhosts(rt, s, pconf);
    if (rt->startup) {
        if (acme_activate_start(rt, pconf) != APR_SUCCESS) {
            return !OK;
        }
        if (acme_watchdog_setup(rt, pconf) != APR_SUCCESS) {
            return !OK;
        }
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                     "mod_acme: %d domain(s) managed, store %s", rt->domains->nelts,
                     rt->store_dir);
    }
    return OK;
}

static void report_vhost(acme_rt_t *rt, server_rec *s, apr_pool_t *p)
{
    const acme_sconf_t *sc = acme_sconf(s);
    const char *missing = NULL;
    int i;

    if (!sc->md || !sc->ssl_seen || sc->static_cert) {
        return;
    }
    if (s->server_hostname && lookup_name(rt, s->server_hostname, p) != sc->md) {
        missing = s->server_hostname;
    }
    for (i = 0; s->names && i < s->names->nelts; i++) {
        const char *n = APR_ARRAY_IDX(s->names, i, const char *);
        if (lookup_name(rt, n, p) != sc->md) {
            missing = missing ? apr_pstrcat(p, missing, ", ", n, NULL) : n;
        }
    }
    if (missing) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "<VirtualHost> %s (%s:%d) is served the certificate of ACMEDomain %s, "
                     "which does not cover %s: browsers will warn for those names; add them "
                     "to that ACMEDomain", s->server_hostname, s->defn_name, s->defn_line_number,
                     sc->md->d->id, missing);
    }
}

int acme_serve_report(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    acme_rt_t *rt = acme_sconf(s)->rt;
    const char *first = NULL;
    server_rec *v;
    int i, fallback = 0;

    if (!rt || !rt->startup) {
        return OK;
    }
    for (i = 0; i < rt->domains->nelts; i++) {
        const acme_mdomain_t *md = APR_ARRAY_IDX(rt->domains, i, acme_mdomain_t *);
        if (md->ssl_vhosts == 0) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         "ACMEDomain %s (%s): no SSL <VirtualHost> has one of its names as "
                         "ServerName or ServerAlias, so httpd will not serve this certificate; "
                         "it is still obtained and kept in %s/domains/", md->d->id,
                         md->set->where, rt->store_dir);
        }
    }
    for (v = s; v; v = v->next) {
        report_vhost(rt, v, ptemp);
        if (acme_sconf(v)->fallback) {
            fallback++;
            if (!first) first = v->server_hostname;
        }
    }
    if (fallback > 0) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                     "mod_acme: %d SSL <VirtualHost>(s) (%s%s) have no certificate yet: they serve "
                     "a temporary self-signed one and answer 503 until mod_acme obtains theirs",
                     fallback, first ? first : "?", fallback > 1 ? ", ..." : "");
    }
    return OK;
}

/* ---- mod_ssl hooks ------------------------------------------------------- */

int acme_serve_add_cert_files(server_rec *s, apr_pool_t *p, apr_array_header_t *cert_files,
                              apr_array_header_t *key_files)
{
    acme_sconf_t *sc = acme_sconf(s);
    const acme_domain_t *d;
    int i;

    if (!sc || !sc->rt) {
        return DECLINED;
    }
    /* every certificate a vhost brings itself is watched (ACMEWatchStatic) */
    acme_warn_note_static(sc->rt, s, cert_files);
    if (!sc->md) {
        return DECLINED;
    }
    d = sc->md->d;
    sc->ssl_seen = 1;
    sc->md->ssl_vhosts++;
    if (cert_files->nelts > 0) {
        sc->static_cert = 1;
        if (sc->rt->startup) {
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                         "<VirtualHost> %s (%s:%d) has its own SSLCertificateFile: it keeps "
                         "serving that one (static wins). mod_acme still manages %s in %s/domains/; "
                         "remove SSLCertificateFile to serve it", s->server_hostname, s->defn_name,
                         s->defn_line_number, d->id, sc->rt->store_dir);
        }
        return DECLINED;
    }
    if (!sc->md->cert_files) {
        return DECLINED;
    }
    for (i = 0; i < sc->md->cert_files->nelts; i++) {
        push_pair(cert_files, key_files, APR_ARRAY_IDX(sc->md->cert_files, i, const char *),
                  APR_ARRAY_IDX(sc->md->key_files, i, const char *));
    }
    return OK;
}

/* The fallback goes in as an ordinary certificate, after every other module
 * had its say: through mod_ssl's fallback hook, mod_ssl would log AH10085
 * ("will respond with 503") for each such vhost on each start, although
 * mod_acme answers the 503 itself (acme_serve_unavailable). */
int acme_serve_add_fallback_last(server_rec *s, apr_pool_t *p, apr_array_header_t *cert_files,
                                 apr_array_header_t *key_files)
{
    acme_sconf_t *sc = acme_sconf(s);
    const char *cert;

    if (!sc || !sc->rt || !sc->md || sc->static_cert || cert_files->nelts > 0) {
        return DECLINED;
    }
    cert = sc->md->fallback_cert;
    if (!cert || !sc->rt->fallback_key_path) {
        return DECLINED;
    }
    push_pair(cert_files, key_files, cert, sc->rt->fallback_key_path);
    sc->fallback = 1;
    if (sc->rt->startup) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                     "<VirtualHost> %s: no certificate for %s yet; serving a temporary "
                     "self-signed one and answering 503 until it is obtained",
                     s->server_hostname, sc->md->d->id);
    }
    return OK;
}

int acme_serve_unavailable(request_rec *r)
{
    const acme_sconf_t *sc = acme_sconf(r->server);

    if (!sc || !sc->fallback || !ap_ssl_conn_is_ssl(r->connection)) {
        return DECLINED;
    }
    apr_table_setn(r->err_headers_out, "Retry-After", "60");
    ap_custom_response(r, HTTP_SERVICE_UNAVAILABLE,
                       "The certificate for this site is being obtained from the certificate "
                       "authority. Please try again in a minute.\n");
    return HTTP_SERVICE_UNAVAILABLE;
}
