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

/* The floor: one EVP_DigestSign of the same signing input, no JSON or base64. */
static int raw_sign(bench_ctx_t *c, apr_pool_t *scratch)
{
    unsigned char sig[1024];
    size_t siglen = sizeof(sig);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, acme_key_evp(c->key)) == 1
             && EVP_DigestSign(md, sig, &siglen, (const unsigned char *)c->input,
                               strlen(c->input)) == 1;
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

/* Alternates core and raw for ROUNDS rounds; prints one JSON line with medians. */
static void pair(const char *name, bench_fn *core, bench_fn *raw, bench_ctx_t *c, long iters)
{
    double tc[ROUNDS], tr[ROUNDS];
    int r;

    measure(core, c, iters / 10 + 1);  /* warm-up */
    measure(raw, c, iters / 10 + 1);
    for (r = 0; r < ROUNDS; r++) {
        tc[r] = measure(core, c, iters);
        tr[r] = measure(raw, c, iters);
    }
    qsort(tc, ROUNDS, sizeof(double), cmp_double);
    qsort(tr, ROUNDS, sizeof(double), cmp_double);
    printf("{\"name\":\"%s\",\"iters\":%ld,\"rounds\":%d,"
           "\"core_ns\":{\"min\":%.1f,\"median\":%.1f,\"max\":%.1f},"
           "\"raw_ns\":{\"min\":%.1f,\"median\":%.1f,\"max\":%.1f},\"ratio\":%.4f}\n",
           name, iters, ROUNDS, tc[0], tc[ROUNDS / 2], tc[ROUNDS - 1],
           tr[0], tr[ROUNDS / 2], tr[ROUNDS - 1], tc[ROUNDS / 2] / tr[ROUNDS / 2]);
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

int main(int argc, char **argv)
{
    bench_ctx_t c;
    double scale = argc > 1 ? atof(argv[1]) : 1.0;  /* 0.1 for a quick run */

    if (scale <= 0) {
        scale = 1.0;
    }
    apr_initialize();
    apr_pool_create(&c.pool, NULL);
    c.json = ORDER_JSON;
    if (acme_json_parse(c.pool, c.json, strlen(c.json), &c.obj, NULL) != APR_SUCCESS) {
        fprintf(stderr, "micro_jws: order JSON does not parse\n");
        return 1;
    }
    if (acme_key_generate(c.pool, ACME_KEY_EC256, &c.key) != APR_SUCCESS
        || !(c.input = signing_input(&c))) {
        fprintf(stderr, "micro_jws: ES256 setup failed\n");
        return 1;
    }
    pair("jws_sign_es256", core_sign, raw_sign, &c, (long)(4000 * scale));
    if (acme_key_generate(c.pool, ACME_KEY_RSA2048, &c.key) != APR_SUCCESS
        || !(c.input = signing_input(&c))) {
        fprintf(stderr, "micro_jws: RS256 setup failed\n");
        return 1;
    }
    pair("jws_sign_rs256", core_sign, raw_sign, &c, (long)(1000 * scale));
    pair("json_decode_order", core_decode, raw_decode, &c, (long)(100000 * scale));
    pair("json_encode_order", core_encode, raw_encode, &c, (long)(100000 * scale));
    apr_pool_destroy(c.pool);
    apr_terminate();
    return 0;
}
