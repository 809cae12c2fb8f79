/* fuzz_acme_objects.c: libFuzzer target for the ACME objects read from a CA: order, authorization with challenges (tkauth-01 too) and its identifier (a TNAuthList too) matched against ordered names, renewalInfo and problem documents. */
/* fuzz: max_len=32768 */
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "acme_base64.h"
#include "acme_ca.h"
#include "acme_domain.h"
#include "acme_json.h"
#include "acme_order.h"
#include "acme_responder.h"
#include "acme_tnauth.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    apr_initialize();
    return 0;
}

/* A responder that claims every type, so acme_authz_pick looks at everything. */
static int can_all(acme_responder_t *r, const char *type, const char *name)
{
    (void)r;
    return type && name;
}

static void check_order(apr_pool_t *p, const json_t *j)
{
    acme_order_t *o;

    if (acme_order_parse(p, j, "https://ca.test/order/1", &o) != APR_SUCCESS) {
        return;
    }
    if (!o || !o->status || !o->authz_urls) {
        abort();
    }
    for (int i = 0; i < o->authz_urls->nelts; i++) {
        if (!APR_ARRAY_IDX(o->authz_urls, i, const char *)) {
            abort();
        }
    }
    if (o->error && !acme_problem_str(p, o->error)) {
        abort();
    }
}

/* Whatever the CA names, the drive's name is one that was ordered, and only
 * for a valid identifier. */
static void check_ordered_name(apr_pool_t *p, const acme_authz_t *a)
{
    static const char *const ordered[] = { "example.org", "*.example.org", "192.0.2.1",
                                           "2001:db8::1", "TNAuthList:MAigBhYEMTIzNA" };
    apr_array_header_t *names = apr_array_make(p, 4, sizeof(const char *));
    const char *n;
    int found = 0;

    for (size_t i = 0; i < sizeof(ordered) / sizeof(ordered[0]); i++) {
        APR_ARRAY_PUSH(names, const char *) = ordered[i];
    }
    if (!(n = acme_authz_ordered_name(a, names))) {
        return;
    }
    for (size_t i = 0; i < sizeof(ordered) / sizeof(ordered[0]); i++) {
        found |= n == ordered[i];
    }
    if (!found || strchr(a->id_value, '\n')
        || (acme_tnauth_is_name(n) ? !acme_tnauth_value_eq(p, a->id_value, "MAigBhYEMTIzNA")
                                   : !acme_identifier_valid(a->id_value))) {
        abort();
    }
}

static void check_authz(apr_pool_t *p, const json_t *j)
{
    static const char *const types[] = { "dns-01", "tls-alpn-01", "http-01" };
    acme_responder_t resp;
    apr_array_header_t *allowed;
    acme_authz_t *a;
    const acme_challenge_t *ch;

    if (acme_authz_parse(p, j, "https://ca.test/authz/1", &a) != APR_SUCCESS) {
        return;
    }
    if (!a || !a->status || !a->challenges || !a->name || !a->id_value) {
        abort();
    }
    for (int i = 0; i < a->challenges->nelts; i++) {
        const acme_challenge_t *c = APR_ARRAY_IDX(a->challenges, i, acme_challenge_t *);
        /* Tokens reach file names and DNS: they must be validated base64url. */
        if (!c || !c->type || (c->token && !acme_b64u_is_token(c->token))
            || (c->token_authority && strpbrk(c->token_authority, "\r\n"))) {
            abort();
        }
    }
    memset(&resp, 0, sizeof(resp));
    resp.can = can_all;
    allowed = apr_array_make(p, 3, sizeof(const char *));
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        APR_ARRAY_PUSH(allowed, const char *) = types[i];
    }
    ch = acme_authz_pick(a, NULL, &resp);
    ch = acme_authz_pick(a, allowed, &resp);
    if (ch && a->wildcard && strcmp(ch->type, "dns-01")) {
        abort();                        /* wildcards only with dns-01 */
    }
    ch = acme_authz_pick(a, NULL, &resp);
    if (ch && !strcmp(a->id_type, "TNAuthList") != !strcmp(ch->type, "tkauth-01")) {
        abort();                        /* TNAuthLists only, and always, with tkauth-01 */
    }
    check_ordered_name(p, a);
}

static void check_ari(apr_pool_t *p, const json_t *j)
{
    acme_ari_t *ari;

    /* The header says "end after start"; the parser accepts a zero-width window
     * (acme_plan_ari_pick then uses start). Never a backwards one. */
    if (acme_ari_parse(p, j, &ari) == APR_SUCCESS && (!ari || ari->end < ari->start)) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    apr_pool_t *p;
    json_t *j;
    const char *err;
    acme_problem_t *prob;

    if (apr_pool_create(&p, NULL) != APR_SUCCESS) {
        return 0;
    }
    if (acme_json_parse(p, (const char *)data, size, &j, &err) == APR_SUCCESS) {
        check_order(p, j);
        check_authz(p, j);
        check_ari(p, j);
    }
    if (acme_problem_parse(p, (const char *)data, size, 403, &prob) == APR_SUCCESS && !prob) {
        abort();
    }
    apr_pool_destroy(p);
    return 0;
}
