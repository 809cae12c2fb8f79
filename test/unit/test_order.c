/* test_order.c: unit tests of ACME orders (acme_order.c): the order, authorization and challenge objects of RFC 8555 parsed strictly, ARI renewalInfo (RFC 9773), the newOrder request sent to a loopback CA, and a challenge the CA left pending asked for again. */
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>
#include "acme_http.h"
#include "acme_json.h"
#include "acme_jws.h"
#include "acme_order.h"
#include "testhttp.h"
#include "testjws.h"
#include "testutil.h"

static json_t *parse(const char *s)
{
    json_t *j = NULL;

    ck_assert_int_eq(acme_json_parse(pool, s, strlen(s), &j, NULL), APR_SUCCESS);
    return j;
}

/* RFC 8555 §7.4: the order a newOrder answers, and the same order once valid. */
static const char RFC_ORDER_PENDING[] =
    "{\"status\": \"pending\", \"expires\": \"2016-01-05T14:09:07.99Z\","
    " \"notBefore\": \"2016-01-01T00:00:00Z\", \"notAfter\": \"2016-01-08T00:00:00Z\","
    " \"identifiers\": [ { \"type\": \"dns\", \"value\": \"www.example.org\" },"
    "                   { \"type\": \"dns\", \"value\": \"example.org\" } ],"
    " \"authorizations\": [ \"https://example.com/acme/authz/PAniVnsZcis\","
    "                      \"https://example.com/acme/authz/r4HqLzrSrpI\" ],"
    " \"finalize\": \"https://example.com/acme/order/TOlocE8rfgo/finalize\" }";
static const char RFC_ORDER_VALID[] =
    "{\"status\": \"valid\", \"expires\": \"2016-01-20T14:09:07.99Z\","
    " \"identifiers\": [ { \"type\": \"dns\", \"value\": \"www.example.org\" } ],"
    " \"authorizations\": [ \"https://example.com/acme/authz/PAniVnsZcis\" ],"
    " \"finalize\": \"https://example.com/acme/order/TOlocE8rfgo/finalize\","
    " \"certificate\": \"https://example.com/acme/cert/mAt3xBGaobw\" }";

/* RFC 8555 §7.1.4: an authorization with a validated http-01 challenge. */
static const char RFC_AUTHZ[] =
    "{\"status\": \"valid\", \"expires\": \"2015-03-01T14:09:07.99Z\","
    " \"identifier\": { \"type\": \"dns\", \"value\": \"www.example.org\" },"
    " \"challenges\": [ { \"url\": \"https://example.com/acme/chall/prV_B7yEyA4\","
    "   \"type\": \"http-01\", \"status\": \"valid\", \"token\": \"DGyRejmCefe7v4NfDGDKfA\","
    "   \"validated\": \"2014-12-01T12:05:58.16Z\" } ],"
    " \"wildcard\": false }";

START_TEST(rfc8555_orders)
{
    acme_order_t *o = NULL;

    ck_assert_int_eq(acme_order_parse(pool, parse(RFC_ORDER_PENDING),
                                      "https://example.com/acme/order/TOlocE8rfgo", &o),
                     APR_SUCCESS);
    ck_assert_str_eq(o->status, "pending");
    ck_assert_str_eq(o->url, "https://example.com/acme/order/TOlocE8rfgo");
    ck_assert_int_eq(o->authz_urls->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(o->authz_urls, 1, const char *),
                     "https://example.com/acme/authz/r4HqLzrSrpI");
    ck_assert_str_eq(o->finalize_url, "https://example.com/acme/order/TOlocE8rfgo/finalize");
    ck_assert_ptr_null(o->cert_url);
    ck_assert_ptr_null(o->error);
    ck_assert_int_eq(acme_order_parse(pool, parse(RFC_ORDER_VALID), NULL, &o), APR_SUCCESS);
    ck_assert_str_eq(o->cert_url, "https://example.com/acme/cert/mAt3xBGaobw");
    ck_assert_ptr_null(o->url);
}
END_TEST

/* Every state of RFC 8555 §7.1.6 passes; the members the drive relies on are checked. */
START_TEST(order_strictness)
{
    static const char *const states[] = { "pending", "ready", "processing", "invalid" };
    acme_order_t *o = NULL;
    json_t *j;

    for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
        j = parse(RFC_ORDER_PENDING);
        json_object_set_new(j, "status", json_string(states[i]));
        ck_assert_int_eq(acme_order_parse(pool, j, NULL, &o), APR_SUCCESS);
        ck_assert_str_eq(o->status, states[i]);
    }
    j = parse(RFC_ORDER_PENDING);
    json_object_set_new(j, "status", json_string("expired"));       /* not an order state */
    ck_assert_int_eq(acme_order_parse(pool, j, NULL, &o), APR_EINVAL);
    j = parse(RFC_ORDER_PENDING);
    json_object_set_new(j, "error", json_string("failed"));         /* a problem is an object */
    ck_assert_int_eq(acme_order_parse(pool, j, NULL, &o), APR_EINVAL);
    j = parse(RFC_ORDER_PENDING);
    json_object_set_new(j, "certificate", json_integer(1));
    ck_assert_int_eq(acme_order_parse(pool, j, NULL, &o), APR_EINVAL);
    j = parse(RFC_ORDER_PENDING);
    json_object_del(j, "finalize");
    ck_assert_int_eq(acme_order_parse(pool, j, NULL, &o), APR_EINVAL);
    /* at most 100 authorizations */
    j = parse(RFC_ORDER_PENDING);
    for (int i = 0; i < 98; i++) {
        json_array_append_new(json_object_get(j, "authorizations"), json_string("https://ca/a"));
    }
    ck_assert_int_eq(acme_order_parse(pool, j, NULL, &o), APR_SUCCESS);
    json_array_append_new(json_object_get(j, "authorizations"), json_string("https://ca/a"));
    ck_assert_int_eq(acme_order_parse(pool, j, NULL, &o), APR_EINVAL);
}
END_TEST

START_TEST(rfc8555_authorization)
{
    acme_authz_t *a = NULL;
    const acme_challenge_t *c;

    ck_assert_int_eq(acme_authz_parse(pool, parse(RFC_AUTHZ), "https://example.com/acme/authz/1",
                                      &a), APR_SUCCESS);
    ck_assert_str_eq(a->status, "valid");
    ck_assert_str_eq(a->id_type, "dns");
    ck_assert_str_eq(a->name, "www.example.org");
    ck_assert_int_eq(a->wildcard, 0);
    ck_assert_int_eq(a->challenges->nelts, 1);
    c = APR_ARRAY_IDX(a->challenges, 0, const acme_challenge_t *);
    ck_assert_str_eq(c->type, "http-01");
    ck_assert_str_eq(c->token, "DGyRejmCefe7v4NfDGDKfA");
    ck_assert_str_eq(c->url, "https://example.com/acme/chall/prV_B7yEyA4");
    ck_assert_ptr_null(c->error);
}
END_TEST

static apr_status_t authz_with(const char *challenge, acme_authz_t **a)
{
    return acme_authz_parse(pool, parse(apr_psprintf(pool, "{\"status\":\"pending\","
        "\"identifier\":{\"type\":\"dns\",\"value\":\"example.org\"},\"challenges\":[%s]}",
        challenge)), NULL, a);
}

/* Tokens become file names and URLs; other types pass without one. */
START_TEST(challenge_strictness)
{
    acme_authz_t *a = NULL;
    const acme_challenge_t *c;
    char longtok[300];

    memset(longtok, 'A', sizeof(longtok) - 1);
    longtok[sizeof(longtok) - 1] = '\0';
    ck_assert_int_eq(authz_with("{\"type\":\"dns-01\",\"url\":\"u\",\"status\":\"pending\"}", &a),
                     APR_EINVAL);
    ck_assert_int_eq(authz_with(apr_psprintf(pool, "{\"type\":\"http-01\",\"url\":\"u\","
                                "\"status\":\"pending\",\"token\":\"%s\"}", longtok), &a),
                     APR_EINVAL);
    ck_assert_int_eq(authz_with("{\"type\":\"http-01\",\"url\":\"u\",\"status\":\"ready\","
                                "\"token\":\"t\"}", &a), APR_EINVAL);
    ck_assert_int_eq(authz_with("{\"type\":\"http-01\",\"status\":\"pending\",\"token\":\"t\"}",
                                &a), APR_EINVAL);
    /* a type mod_acme does not know: kept, its token dropped when it is not base64url */
    ck_assert_int_eq(authz_with("{\"type\":\"future-02\",\"url\":\"u\",\"status\":\"pending\","
                                "\"token\":\"a/b\"}", &a), APR_SUCCESS);
    ck_assert_ptr_null(APR_ARRAY_IDX(a->challenges, 0, const acme_challenge_t *)->token);
    /* an invalid challenge carries its problem */
    ck_assert_int_eq(authz_with("{\"type\":\"http-01\",\"url\":\"u\",\"status\":\"invalid\","
                                "\"token\":\"t\",\"error\":{\"type\":"
                                "\"urn:ietf:params:acme:error:connection\",\"detail\":\"refused\"}}",
                                &a), APR_SUCCESS);
    c = APR_ARRAY_IDX(a->challenges, 0, const acme_challenge_t *);
    ck_assert_str_eq(c->error->type, "urn:ietf:params:acme:error:connection");
    ck_assert_str_eq(c->error->detail, "refused");
    /* tkauth-01 (RFC 9447): its fields, without control characters */
    ck_assert_int_eq(authz_with("{\"type\":\"tkauth-01\",\"url\":\"u\",\"status\":\"pending\","
                                "\"tkauth-type\":\"atc\",\"token-authority\":\"https://sti-pa\"}",
                                &a), APR_SUCCESS);
    c = APR_ARRAY_IDX(a->challenges, 0, const acme_challenge_t *);
    ck_assert_str_eq(c->tkauth_type, "atc");
    ck_assert_str_eq(c->token_authority, "https://sti-pa");
    ck_assert_int_eq(authz_with("{\"type\":\"tkauth-01\",\"url\":\"u\",\"status\":\"pending\","
                                "\"tkauth-type\":\"atc\\n\"}", &a), APR_EINVAL);
}
END_TEST

/* At most 16 challenges per authorization. */
START_TEST(challenge_count_bounded)
{
    const char *one = "{\"type\":\"http-01\",\"url\":\"u\",\"status\":\"pending\",\"token\":\"t\"}";
    const char *list = one;
    acme_authz_t *a = NULL;

    for (int i = 1; i < 16; i++) list = apr_pstrcat(pool, list, ",", one, NULL);
    ck_assert_int_eq(authz_with(list, &a), APR_SUCCESS);
    ck_assert_int_eq(a->challenges->nelts, 16);
    ck_assert_int_eq(authz_with(apr_pstrcat(pool, list, ",", one, NULL), &a), APR_EINVAL);
}
END_TEST

/* RFC 9773 §4.2's example, and what a suggested window must be. */
START_TEST(ari_renewal_info)
{
    acme_ari_t *ari = NULL;

    ck_assert_int_eq(acme_ari_parse(pool, parse("{\"suggestedWindow\": {"
        "\"start\": \"2025-01-02T04:00:00Z\", \"end\": \"2025-01-03T04:00:00Z\"},"
        "\"explanationURL\": \"https://acme.example.com/docs/ari\"}"), &ari), APR_SUCCESS);
    ck_assert(ari->end - ari->start == apr_time_from_sec(86400));
    ck_assert_str_eq(ari->explanation_url, "https://acme.example.com/docs/ari");
    ck_assert(ari->retry_after == ACME_ARI_DEFAULT_RETRY);
    /* a window of one instant is a window */
    ck_assert_int_eq(acme_ari_parse(pool, parse("{\"suggestedWindow\": {"
        "\"start\": \"2025-01-02T04:00:00Z\", \"end\": \"2025-01-02T04:00:00Z\"}}"), &ari),
        APR_SUCCESS);
    ck_assert_ptr_null(ari->explanation_url);
    ck_assert_int_eq(acme_ari_parse(pool, parse("{\"suggestedWindow\": {"
        "\"start\": \"2025-01-02T04:00:00Z\"}}"), &ari), APR_EINVAL);
    ck_assert_int_eq(acme_ari_parse(pool, parse("{\"suggestedWindow\": {"
        "\"start\": \"2025-01-02\", \"end\": \"2025-01-03T04:00:00Z\"}}"), &ari), APR_EINVAL);
    ck_assert_int_eq(acme_ari_parse(pool, parse("{\"suggestedWindow\": {"
        "\"start\": \"2025-01-02T04:00:00Z\", \"end\": \"2025-01-03T04:00:00Z\"},"
        "\"explanationURL\": 7}"), &ari), APR_EINVAL);
}
END_TEST

/* An order context on the loopback CA with a fresh account key. */
static void mock_ctx(tu_acme_ca_t *mock, acme_order_ctx_t *ctx, acme_account_t *acct)
{
    acme_http_opts_t opts = { 0 };
    acme_http_t *http = NULL;

    ck_assert_ptr_nonnull(mock);
    ck_assert_int_eq(acme_http_create(pool, &opts, NULL, &http), APR_SUCCESS);
    ck_assert_int_eq(acme_ca_create(pool, mock->dir_url, http, NULL, &ctx->ca), APR_SUCCESS);
    ck_assert_int_eq(acme_key_generate(pool, ACME_KEY_EC256, &acct->key), APR_SUCCESS);
    acct->url = "https://example.com/acme/acct/evOfKhNU60wg";
    ctx->acct = acct;
}

/* newOrder: identifiers typed dns / ip, profile and replaces in the signed
 * payload, kid of the account; the order comes back with its Location. */
START_TEST(new_order_request)
{
    tu_acme_ca_t *mock = tu_acme_ca_start(pool);
    apr_array_header_t *names = apr_array_make(pool, 3, sizeof(const char *));
    acme_account_t acct = { 0 };
    acme_order_ctx_t ctx = { 0 };
    acme_problem_t *prob = NULL;
    acme_order_t *o = NULL;
    const char *payload;
    json_t *jws, *hdr, *req, *ids;

    mock_ctx(mock, &ctx, &acct);
    APR_ARRAY_PUSH(names, const char *) = "example.org";
    APR_ARRAY_PUSH(names, const char *) = "*.example.org";
    APR_ARRAY_PUSH(names, const char *) = "2001:db8::1";
    mock->status = 201;
    mock->location = "https://example.com/acme/order/TOlocE8rfgo";
    mock->body = RFC_ORDER_PENDING;
    ck_assert_int_eq(acme_order_new(&ctx, pool, names, "shortlived", "aYhba4dGQEHhs3uEe6CuLN4ByNQ."
                                    "AIdlQyE", &o, &prob), APR_SUCCESS);
    ck_assert_str_eq(o->url, "https://example.com/acme/order/TOlocE8rfgo");
    ck_assert_int_eq(o->authz_urls->nelts, 2);

    ck_assert_str_eq(tu_http_last(mock->srv, pool)->path, "/new-order");
    jws = parse(tu_http_last(mock->srv, pool)->body);
    ck_assert_int_eq(tu_jws_verify(pool, jws, acct.key, NULL, 0, &payload, NULL, &hdr),
                     APR_SUCCESS);
    ck_assert_str_eq(json_string_value(json_object_get(hdr, "kid")), acct.url);
    ck_assert_str_eq(json_string_value(json_object_get(hdr, "url")),
                     tu_http_url(mock->srv, pool, "/new-order"));
    ck_assert_ptr_null(json_object_get(hdr, "jwk"));
    req = parse(payload);
    ids = json_object_get(req, "identifiers");
    ck_assert(json_equal(ids, parse("[{\"type\":\"dns\",\"value\":\"example.org\"},"
                                    "{\"type\":\"dns\",\"value\":\"*.example.org\"},"
                                    "{\"type\":\"ip\",\"value\":\"2001:db8::1\"}]")));
    ck_assert_str_eq(json_string_value(json_object_get(req, "profile")), "shortlived");
    ck_assert_str_eq(json_string_value(json_object_get(req, "replaces")),
                     "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");

    /* without Location the answer is no order; without names nothing is sent */
    mock->location = NULL;
    ck_assert_int_eq(acme_order_new(&ctx, pool, names, NULL, NULL, &o, &prob), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(prob->detail, "without Location"));
    mock->location = "https://example.com/acme/order/2";
    mock->body = "{\"status\":\"pending\",\"authorizations\":[]}";
    ck_assert_int_eq(acme_order_new(&ctx, pool, names, NULL, NULL, &o, &prob), APR_EINVAL);
    apr_array_clear(names);
    {
        int before = tu_http_count(mock->srv);
        ck_assert_int_eq(acme_order_new(&ctx, pool, names, NULL, NULL, &o, &prob), APR_EINVAL);
        ck_assert_int_eq(tu_http_count(mock->srv), before);
    }
}
END_TEST

/* A CA that leaves a failed validation pending with its error until it has
 * been asked fails_left more times (step-ca does this for connection and
 * HTTP errors). */
typedef struct {
    const char *chall_url;
    int chall_posts;
    int fails_left;
    char buf[1024];
} pending_ca_t;

static const char *pending_ca_body(tu_acme_ca_t *ca, const char *path)
{
    pending_ca_t *st = ca->baton;
    int failing;

    if (!strncmp(path, "/chall/", 7)) {
        st->chall_posts++;
        if (st->fails_left > 0) st->fails_left--;
    }
    failing = st->fails_left > 0 || st->chall_posts == 0;
    snprintf(st->buf, sizeof(st->buf),
             "{\"status\": \"%s\", \"identifier\": {\"type\": \"dns\", \"value\": "
             "\"www.example.org\"}, \"challenges\": [{\"url\": \"%s\", \"type\": \"http-01\", "
             "\"status\": \"%s\", \"token\": \"DGyRejmCefe7v4NfDGDKfA\"%s}]}",
             failing ? "pending" : "valid", st->chall_url, failing ? "pending" : "valid",
             failing && st->chall_posts > 0 ? ", \"error\": {\"type\": \"urn:ietf:params:acme:"
             "error:connection\", \"detail\": \"error doing http GET\"}" : "");
    return !strncmp(path, "/chall/", 7) ? "{\"type\": \"http-01\", \"status\": \"pending\"}"
                                        : st->buf;
}

/* RFC 8555 §8.2: a challenge the CA left pending with an error is asked for
 * again (up to 3 times), not polled until the poll timeout; then the poll
 * fails with the CA's error. Without the answered URL nothing is re-sent. */
START_TEST(pending_challenge_asked_again)
{
    tu_acme_ca_t *mock = tu_acme_ca_start(pool);
    pending_ca_t st = { 0 };
    acme_account_t acct = { 0 };
    acme_order_ctx_t ctx = { 0 };
    acme_problem_t *prob = NULL;
    acme_authz_t *a = NULL;
    acme_challenge_t ch = { 0 };
    const char *authz_url;

    mock_ctx(mock, &ctx, &acct);
    ctx.poll_timeout = apr_time_from_sec(60);
    st.chall_url = tu_http_url(mock->srv, pool, "/chall/1");
    authz_url = tu_http_url(mock->srv, pool, "/authz/1");
    mock->body_for = pending_ca_body;
    mock->baton = &st;
    ch.type = "http-01";
    ch.url = st.chall_url;
    ch.status = "pending";

    /* the first attempt fails, the one asked for again succeeds */
    st.fails_left = 2;
    ck_assert_int_eq(acme_challenge_respond(&ctx, pool, &ch, &prob), APR_SUCCESS);
    ck_assert_int_eq(acme_authz_poll(&ctx, pool, authz_url, st.chall_url, &a, &prob),
                     APR_SUCCESS);
    ck_assert_str_eq(a->status, "valid");
    ck_assert_int_eq(st.chall_posts, 2);

    /* it keeps failing: asked again 3 times, then the CA's error */
    st.chall_posts = 0;
    st.fails_left = 100;
    ck_assert_int_eq(acme_challenge_respond(&ctx, pool, &ch, &prob), APR_SUCCESS);
    ck_assert_int_eq(acme_authz_poll(&ctx, pool, authz_url, st.chall_url, &a, &prob),
                     APR_EGENERAL);
    ck_assert_int_eq(st.chall_posts, 1 + 3);
    ck_assert_str_eq(prob->type, "urn:ietf:params:acme:error:connection");
    ck_assert_str_eq(prob->detail, "error doing http GET");

    /* not told which challenge was answered: only polled, until the timeout */
    st.chall_posts = 1;
    ctx.poll_timeout = apr_time_from_msec(500);
    ck_assert_int_eq(acme_authz_poll(&ctx, pool, authz_url, NULL, &a, &prob), APR_TIMEUP);
    ck_assert_int_eq(st.chall_posts, 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("order");
    TCase *tc = tu_tcase(s, "objects", 0, tu_setup, tu_teardown);
    TCase *net = tu_tcase(s, "newOrder", 60, tu_setup, tu_teardown);

    tcase_add_test(tc, rfc8555_orders);
    tcase_add_test(tc, order_strictness);
    tcase_add_test(tc, rfc8555_authorization);
    tcase_add_test(tc, challenge_strictness);
    tcase_add_test(tc, challenge_count_bounded);
    tcase_add_test(tc, ari_renewal_info);
    tcase_add_test(net, new_order_request);
    tcase_add_test(net, pending_challenge_asked_again);
    return tu_run(s);
}
