/* micro_jws.c: micro-benchmark of the core's JWS signing (ES256, RS256) against a raw OpenSSL EVP_DigestSign of the same input, and of JSON decode/encode of ACME objects. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <jansson.h>
#include <openssl/evp.h>
#include "acme_base64.h"
#include "acme_json.h"
#include "acme_jws.h"
#include "acme_key.h"

#define ROUNDS 5

typedef struct bench_ctx_t {
    apr_pool_t *pool;
    acme_key_t *key;
    const char *input;      /* "b64(protected).b64(payload)" the core signs */
    EVP_MD_CTX *tmpl;       /* EVP_DigestSignInit done once with key, for raw_sign */
    const char *json;       /* an ACME order object */
    json_t *obj;
} bench_ctx_t;

typedef int bench_fn(bench_ctx_t *c, apr_pool_t *scratch);

static const char *const URL = "https://acme.example.org/acme/new-order";
static const char *const KID = "https://acme.example.org/acme/acct/1234567890";
static const char *const NONCE = "oFvnlFP1wIhRlYS2jTaXbA";
static const char *const PAYLOAD =
    "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"www.example.org\"},"
    "{\"type\":\"dns\",\"value\":\"example.org\"}]}";
static const char *const ORDER_JSON =
    "{\"status\":\"pending\",\"expires\":\"2026-11-27T05:43:57Z\","
    "\"identifiers\":[{\"type\":\"dns\",\"value\":\"www.example.org\"},"
    "{\"type\":\"dns\",\"value\":\"example.org\"}],"
    "\"notBefore\":\"2026-11-26T05:43:57Z\",\"notAfter\":\"2027-02-24T05:43:57Z\","
    "\"authorizations\":[\"https://acme.example.org/acme/authz/PAniVnsZcis\","
    "\"https://acme.example.org/acme/authz/r4HqLzrSrpI\"],"
    "\"finalize\":\"https://acme.example.org/acme/order/TOlocE8rfgo/finalize\","
    "\"certificate\":\"https://acme.example.org/acme/cert/mAt3xBGaobw\"}";

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int core_sign(bench_ctx_t *c, apr_pool_t *scratch)
{
    json_t *jws;
    return acme_jws_sign(scratch, c->key, KID, NONCE, URL, PAYLOAD, &jws) == APR_SUCCESS;
}

/* The floor: one EVP_DigestSign of the same signing input, no JSON or base64,
 * from a context copied from one initialised once, as the core does per key. */
static int raw_sign(bench_ctx_t *c, apr_pool_t *scratch)
{
    unsigned char sig[1024];
    size_t siglen = sizeof(sig);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok;

    (void)scratch;
    ok = md && EVP_MD_CTX_copy_ex(md, c->tmpl) == 1;
    if (ok) {
        EVP_MD_CTX_set_flags(md, EVP_MD_CTX_FLAG_FINALISE);
        ok = EVP_DigestSign(md, sig, &siglen, (const unsigned char *)c->input,
                            strlen(c->input)) == 1;
    }
    EVP_MD_CTX_free(md);
    return ok;
}

/* For reference: the same sign with EVP_DigestSignInit on every call. */
static int raw_init_sign(bench_ctx_t *c, apr_pool_t *scratch)
{
    unsigned char sig[1024];
    size_t siglen = sizeof(sig);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, acme_key_evp(c->key)) == 1
             && EVP_DigestSign(md, sig, &siglen, (const unsigned char *)c->input,
                               strlen(c->input)) == 1;

    (void)scratch;
    EVP_MD_CTX_free(md);
    return ok;
}

static int core_decode(bench_ctx_t *c, apr_pool_t *scratch)
{
    json_t *j;
    return acme_json_parse(scratch, c->json, strlen(c->json), &j, NULL) == APR_SUCCESS;
}

static int raw_decode(bench_ctx_t *c, apr_pool_t *scratch)
{
    json_t *j = json_loadb(c->json, strlen(c->json), JSON_REJECT_DUPLICATES, NULL);

    (void)scratch;
    json_decref(j);
    return j != NULL;
}

static int core_encode(bench_ctx_t *c, apr_pool_t *scratch)
{
    return acme_json_dump(scratch, c->obj, 0) != NULL;
}

static int raw_encode(bench_ctx_t *c, apr_pool_t *scratch)
{
    char *s = json_dumps(c->obj, JSON_COMPACT);

    (void)scratch;
    free(s);
    return s != NULL;
}

/* Nanoseconds per call over `iters` calls; the scratch pool is cleared every call
 * the way a caller with a per-request pool would. */
static double measure(bench_fn *fn, bench_ctx_t *c, long iters)
{
    apr_pool_t *scratch;
    double t0, t1;
    long i;

    apr_pool_create(&scratch, c->pool);
    t0 = now_s();
    for (i = 0; i < iters; i++) {
        if (!fn(c, scratch)) {
            fprintf(stderr, "micro_jws: a benchmarked call failed\n");
            exit(1);
        }
        apr_pool_clear(scratch);
    }
    t1 = now_s();
    apr_pool_destroy(scratch);
    return (t1 - t0) * 1e9 / (double)iters;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One benchmark: the core call, the raw library call it is compared with and,
 * for the signatures, the raw call with per-call initialisation for reference. */
typedef struct {
    const char *name;
    acme_key_type_e key;    /* ACME_KEY_UNKNOWN: no key needed */
    bench_fn *core, *raw, *ref;
    long iters;             /* at scale 1 */
} bench_t;

static const bench_t benches[] = {
    { "jws_sign_es256", ACME_KEY_EC256, core_sign, raw_sign, raw_init_sign, 4000 },
    { "jws_sign_rs256", ACME_KEY_RSA2048, core_sign, raw_sign, raw_init_sign, 1000 },
    { "json_decode_order", ACME_KEY_UNKNOWN, core_decode, raw_decode, NULL, 100000 },
    { "json_encode_order", ACME_KEY_UNKNOWN, core_encode, raw_encode, NULL, 100000 },
};

/* min, median, max of ROUNDS figures as a JSON object (sorts t). */
static const char *stats(apr_pool_t *p, double *t)
{
    qsort(t, ROUNDS, sizeof(double), cmp_double);
    return apr_psprintf(p, "{\"min\":%.1f,\"median\":%.1f,\"max\":%.1f}",
                        t[0], t[ROUNDS / 2], t[ROUNDS - 1]);
}

/* Alternates core, raw (and ref) for ROUNDS rounds; prints one JSON line with medians. */
static void pair(const bench_t *b, bench_ctx_t *c, long iters)
{
    double tc[ROUNDS], tr[ROUNDS], tf[ROUNDS];
    const char *ref = "";
    int r;

    measure(b->core, c, iters / 10 + 1);  /* warm-up */
    measure(b->raw, c, iters / 10 + 1);
    for (r = 0; r < ROUNDS; r++) {
        tc[r] = measure(b->core, c, iters);
        tr[r] = measure(b->raw, c, iters);
        tf[r] = b->ref ? measure(b->ref, c, iters) : 0;
    }
    if (b->ref) {
        ref = apr_pstrcat(c->pool, ",\"raw_init_ns\":", stats(c->pool, tf), NULL);
    }
    printf("{\"name\":\"%s\",\"iters\":%ld,\"rounds\":%d,\"core_ns\":%s,\"raw_ns\":%s%s,"
           "\"ratio\":%.4f}\n", b->name, iters, ROUNDS, stats(c->pool, tc), stats(c->pool, tr),
           ref, tc[ROUNDS / 2] / tr[ROUNDS / 2]);
    fflush(stdout);
}

/* The signing input acme_jws_sign builds, so the raw sign covers the same bytes. */
static const char *signing_input(bench_ctx_t *c)
{
    json_t *jws;
    const char *prot = NULL, *pay = NULL;

    if (acme_jws_sign(c->pool, c->key, KID, NONCE, URL, PAYLOAD, &jws) != APR_SUCCESS
        || acme_json_get_str(jws, "protected", &prot) != APR_SUCCESS
        || acme_json_get_str(jws, "payload", &pay) != APR_SUCCESS) {
        return NULL;
    }
    return apr_pstrcat(c->pool, prot, ".", pay, NULL);
}

/* Key of the given type, the signing input acme_jws_sign makes with it and
 * the initialised context raw_sign copies. */
static int setup_key(bench_ctx_t *c, acme_key_type_e type)
{
    if (acme_key_generate(c->pool, type, &c->key) != APR_SUCCESS
        || !(c->input = signing_input(c))) {
        fprintf(stderr, "micro_jws: %s setup failed\n", acme_key_type_name(type));
        return 0;
    }
    EVP_MD_CTX_free(c->tmpl);
    c->tmpl = EVP_MD_CTX_new();
    if (!c->tmpl || EVP_DigestSignInit(c->tmpl, NULL, EVP_sha256(), NULL,
                                       acme_key_evp(c->key)) != 1) {
        fprintf(stderr, "micro_jws: EVP_DigestSignInit failed\n");
        return 0;
    }
    return 1;
}

/* The calls callgrind counts (--toggle-collect=counted_run); reached through a
 * volatile pointer so that it stays a function of its own. */
static void counted_run(bench_fn *fn, bench_ctx_t *c, long n)
{
    measure(fn, c, n);
}

static void (*volatile counted)(bench_fn *, bench_ctx_t *, long) = counted_run;

/* "count NAME core|raw|ref N": N untimed calls of one side after a few
 * uncounted warm-up calls; prints nothing. */
static int count_mode(bench_ctx_t *c, const char *name, const char *side, long n)
{
    size_t i;
    bench_fn *fn;

    for (i = 0; i < sizeof(benches) / sizeof(benches[0]); i++) {
        if (strcmp(benches[i].name, name)) {
            continue;
        }
        fn = !strcmp(side, "raw") ? benches[i].raw
             : !strcmp(side, "ref") ? benches[i].ref : benches[i].core;
        if (!fn || (benches[i].key != ACME_KEY_UNKNOWN && !setup_key(c, benches[i].key))) {
            return 1;
        }
        measure(fn, c, 3);
        counted(fn, c, n);
        return 0;
    }
    fprintf(stderr, "micro_jws: no benchmark %s\n", name);
    return 1;
}

/* Every benchmark at the given scale, one JSON line each. */
static int timed_mode(bench_ctx_t *c, double scale)
{
    size_t i;

    for (i = 0; i < sizeof(benches) / sizeof(benches[0]); i++) {
        if (benches[i].key != ACME_KEY_UNKNOWN && !setup_key(c, benches[i].key)) {
            return 1;
        }
        pair(&benches[i], c, (long)((double)benches[i].iters * scale));
    }
    return 0;
}

/* Usage: micro_jws [SCALE]  (0.1 for a quick run)  |  micro_jws count NAME core|raw|ref N */
int main(int argc, char **argv)
{
    bench_ctx_t c;
    double scale = argc > 1 ? atof(argv[1]) : 1.0;
    int rc;

    if (scale <= 0) {
        scale = 1.0;
    }
    apr_initialize();
    apr_pool_create(&c.pool, NULL);
    c.key = NULL;
    c.input = NULL;
    c.tmpl = NULL;
    c.json = ORDER_JSON;
    if (acme_json_parse(c.pool, c.json, strlen(c.json), &c.obj, NULL) != APR_SUCCESS) {
        fprintf(stderr, "micro_jws: order JSON does not parse\n");
        return 1;
    }
    if (argc == 5 && !strcmp(argv[1], "count")) {
        rc = count_mode(&c, argv[2], argv[3], atol(argv[4]));
    }
    else {
        rc = timed_mode(&c, scale);
    }
    EVP_MD_CTX_free(c.tmpl);
    apr_pool_destroy(c.pool);
    apr_terminate();
    return rc;
}
