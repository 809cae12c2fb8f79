/* test_tkauth.c: unit tests of tkauth-01 (RFC 9447/9448): the account key fingerprint, token extraction, the checks of an ATC JWT, the token file responder, the challenge answer and TNAuthList authorizations. */
#include <stdio.h>
#include <string.h>
#include <apr_file_io.h>
#include <apr_strings.h>
#include "acme_base64.h"
#include "acme_file.h"
#include "acme_json.h"
#include "acme_jws.h"
#include "acme_order.h"
#include "acme_tkauth.h"
#include "acme_tnauth.h"
#include "testjws.h"
#include "testutil.h"

/* RFC 7638 §3.1's example key and thumbprint (NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs). */
#define RFC7638_N "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
#define RFC7638_FP "SHA256 37:36:CB:B1:78:7C:B8:30:9C:77:EE:8C:37:05:C5:E1:6F:FB:9E:85:97:15:90:1F:1E:4C:59:B1:11:82:F5:7B"

#define SPC1234 "MAigBhYEMTIzNA"     /* 30 08 A0 06 16 04 "1234" */
#define SPC5678 "MAigBhYENTY3OA"     /* 30 08 A0 06 16 04 "5678" */
#define NOW apr_time_from_sec(1700000000)

static acme_tkauth_req_t req_1234(void)
{
    acme_tkauth_req_t r;
    memset(&r, 0, sizeof(r));
    r.id_type = "TNAuthList";
    r.id_value = SPC1234;
    r.tkauth_type = "atc";
    r.token_authority = "https://sti-pa.example/token";
    r.fingerprint = RFC7638_FP;
    return r;
}

static const char *b64(const char *s)
{
    return acme_b64u_encode(pool, s, strlen(s));
}

/* A compact JWT of header and claims (JSON text); the signature is not checked here. */
static const char *jwt(const char *header, const char *claims)
{
    return apr_pstrcat(pool, b64(header), ".", b64(claims), ".", b64("not-checked"), NULL);
}

#define HDR "{\"typ\":\"JWT\",\"alg\":\"ES256\",\"x5u\":\"https://sti-pa.example/cert.pem\"}"

static const char *claims(const char *tkvalue, const char *fp, long exp, const char *extra)
{
    return apr_psprintf(pool, "{\"iss\":\"https://sti-pa.example\",\"exp\":%ld,\"jti\":\"id-1\","
                        "\"atc\":{\"tktype\":\"TNAuthList\",\"tkvalue\":\"%s\","
                        "\"fingerprint\":\"%s\"%s}}", exp, tkvalue, fp, extra ? extra : "");
}

static const char *check(const char *token)
{
    acme_tkauth_req_t r = req_1234();
    const char *why = NULL;
    apr_status_t rv = acme_tkauth_check(pool, token, &r, NOW, &why);
    if (rv == APR_SUCCESS) {
        ck_assert_ptr_null(why);
        return NULL;
    }
    ck_assert_int_eq(rv, APR_EINVAL);
    ck_assert_ptr_nonnull(why);
    return why;
}

static void check_says(const char *token, const char *want)
{
    const char *why = check(token);
    ck_assert_msg(why && strstr(why, want), "wanted \"%s\" in: %s", want, why ? why : "(passed)");
}

START_TEST(fingerprint_is_rfc9448_form)
{
    json_t *jwk = acme_json_own(pool, json_pack("{s:s,s:s,s:s}", "kty", "RSA", "e", "AQAB",
                                                "n", RFC7638_N));
    acme_key_t *key = NULL, *ec = NULL;
    const char *fp = NULL;

    ck_assert_int_eq(acme_jwk_to_key(pool, jwk, &key), APR_SUCCESS);
    ck_assert_int_eq(acme_tkauth_fingerprint(pool, key, &fp), APR_SUCCESS);
    ck_assert_str_eq(fp, RFC7638_FP);
    /* Any key: "SHA256 " then 32 upper-case hex pairs joined by ':'. */
    ck_assert_int_eq(acme_key_generate(pool, ACME_KEY_EC256, &ec), APR_SUCCESS);
    ck_assert_int_eq(acme_tkauth_fingerprint(pool, ec, &fp), APR_SUCCESS);
    ck_assert_int_eq((int)strlen(fp), 7 + 32 * 3 - 1);
    for (int i = 0; i < 32; i++) {
        const char *pair = fp + 7 + 3 * i;
        ck_assert(strchr("0123456789ABCDEF", pair[0]) && strchr("0123456789ABCDEF", pair[1]));
        ck_assert(i == 31 ? pair[2] == '\0' : pair[2] == ':');
    }
}
END_TEST

START_TEST(good_token_passes)
{
    long exp = (long)apr_time_sec(NOW) + 300;

    ck_assert_ptr_null(check(jwt(HDR, claims(SPC1234, RFC7638_FP, exp, NULL))));
    ck_assert_ptr_null(check(jwt(HDR, claims(SPC1234 "==", RFC7638_FP, exp, ",\"ca\":false"))));
    /* The fingerprint is compared as a digest: case, colons and "SHA-256". */
    ck_assert_ptr_null(check(jwt(HDR, claims(SPC1234,
        "sha-256 3736cbb1787cb8309c77ee8c3705c5e16ffb9e859715901f1e4c59b11182f57b", exp, NULL))));
}
END_TEST

START_TEST(mismatches_are_named)
{
    long exp = (long)apr_time_sec(NOW) + 300;
    const char *why;

    check_says(jwt(HDR, claims(SPC5678, RFC7638_FP, exp, NULL)),
               "it is for SPC 5678, the order for SPC 1234");
    check_says(jwt(HDR, claims(SPC1234, "SHA256 00:11", exp, NULL)),
               "it is bound to the account key SHA256 00:11, this account's key is " RFC7638_FP);
    check_says(jwt(HDR, claims(SPC1234, "SHA384 " "37:36:CB:B1:78:7C:B8:30:9C:77:EE:8C:37:05:C5"
                                ":E1:6F:FB:9E:85:97:15:90:1F:1E:4C:59:B1:11:82:F5:7B", exp, NULL)),
               "it is bound to the account key SHA384");
    check_says(jwt(HDR, claims(SPC1234, RFC7638_FP, (long)apr_time_sec(NOW) - 1, NULL)),
               "it expired at 2023-11-14T22:13:19Z (now 2023-11-14T22:13:20Z)");
    check_says(jwt(HDR, claims(SPC1234, RFC7638_FP, exp, ",\"ca\":true")), "RFC 9060");
    check_says(jwt(HDR, claims(SPC1234, RFC7638_FP, exp, ",\"ca\":\"no\"")),
               "\"ca\" is not a boolean");
    check_says(jwt(HDR, claims("AAAA", RFC7638_FP, exp, NULL)),
               "it is for a value that is no DER TNAuthList");
    check_says(jwt("{\"alg\":\"none\"}", claims(SPC1234, RFC7638_FP, exp, NULL)),
               "its \"alg\" is none, not a signature");
    check_says(jwt("{\"alg\":\"HS256\"}", claims(SPC1234, RFC7638_FP, exp, NULL)),
               "not a signature");
    check_says(jwt("{\"typ\":\"JWT\"}", claims(SPC1234, RFC7638_FP, exp, NULL)),
               "its header has no \"alg\"");
    check_says(jwt(HDR, "{\"exp\":1800000000,\"jti\":\"x\"}"), "it has no \"atc\" claim");
    check_says(jwt(HDR, "{\"exp\":1800000000,\"atc\":{\"tktype\":\"TNAuthList\",\"tkvalue\":\""
                        SPC1234 "\",\"fingerprint\":\"" RFC7638_FP "\"}}"),
               "it has no \"jti\" claim");
    check_says(jwt(HDR, "{\"exp\":\"soon\",\"jti\":\"x\",\"atc\":{\"tktype\":\"TnAuthList\"}}"),
               "its tktype is \"TnAuthList\", not \"TNAuthList\"");
    check_says(jwt(HDR, apr_psprintf(pool, "{\"exp\":%ld,\"nbf\":%ld,\"jti\":\"x\",\"atc\":"
                                     "{\"tktype\":\"TNAuthList\",\"tkvalue\":\"" SPC1234 "\","
                                     "\"fingerprint\":\"" RFC7638_FP "\"}}", exp, exp - 10)),
               "it is not valid before");
    /* Every mismatch at once, not only the first. */
    why = check(jwt(HDR, claims(SPC5678, "SHA256 00", (long)apr_time_sec(NOW) - 60, NULL)));
    ck_assert_ptr_nonnull(strstr(why, "the Authority Token does not fit: it is for SPC 5678"));
    ck_assert_ptr_nonnull(strstr(why, "; it is bound to the account key SHA256 00"));
    ck_assert_ptr_nonnull(strstr(why, "; it expired at"));
}
END_TEST

START_TEST(malformed_tokens)
{
    static const char *const not_jwt[] = { "", "abc", "a.b", "a.b.c.d", "a.b.", "a b.c.d",
                                           "e30.e30.s\n", NULL };
    for (int i = 0; not_jwt[i]; i++) {
        check_says(not_jwt[i], "the token is not a JWT");
    }
    check_says(apr_pstrcat(pool, "bm90IGpzb24.", b64("{}"), ".c2ln", NULL),
               "the token's header is not a base64url JSON object");
    check_says(apr_pstrcat(pool, b64(HDR), ".W10.c2ln", NULL),
               "the token's claims are not a base64url JSON object");
}
END_TEST

START_TEST(token_from_sources)
{
    const char *tok = NULL, *why = NULL;
    const char *good = jwt(HDR, "{}");

#define FROM(s) acme_tkauth_token_from(pool, s, strlen(s), "the token command x", &tok, &why)
    ck_assert_int_eq(FROM(apr_pstrcat(pool, "\n  ", good, " \r\n", NULL)), APR_SUCCESS);
    ck_assert_str_eq(tok, good);
    ck_assert_int_eq(FROM(apr_psprintf(pool, "{\"status\":\"success\",\"message\":\"ok\","
                                       "\"token\":\"%s\"}\n", good)), APR_SUCCESS);
    ck_assert_str_eq(tok, good);
    ck_assert_int_eq(FROM(apr_psprintf(pool, "{\"token\":\"%s\"}", good)), APR_SUCCESS);

    ck_assert_int_eq(FROM("{\"status\":\"failure\",\"message\":\"SPC not authorized\"}"),
                     APR_EINVAL);
    ck_assert_str_eq(why, "the token command x holds a Token Authority answer with status "
                          "\"failure\": SPC not authorized");
    ck_assert_int_eq(FROM("{\"status\":\"success\"}"), APR_EINVAL);
    ck_assert_str_eq(why, "the token command x holds JSON without a \"token\" string");
    ck_assert_int_eq(FROM("{\"token\": "), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "holds JSON that does not parse"));
    ck_assert_int_eq(FROM("  \n"), APR_EINVAL);
    ck_assert_str_eq(why, "the token command x holds no token");
    ck_assert_int_eq(FROM("Login failed\x01 please retry"), APR_EINVAL);
    ck_assert_str_eq(why, "the token command x holds no JWT (Login failed? please retry)");
    ck_assert_int_eq(FROM(apr_pstrcat(pool, good, "\n", good, NULL)), APR_EINVAL);
#undef FROM
}
END_TEST

static const char *write_file(const char *name, const char *data)
{
    const char *path = apr_pstrcat(pool, tmpdir, "/", name, NULL);
    ck_assert_int_eq(acme_file_write_atomic(pool, path, data, strlen(data), 0600), APR_SUCCESS);
    return path;
}

static void scratch_setup(void)
{
    tu_setup();
    tu_scratch_create("test_tkauth");
}

static void scratch_teardown(void)
{
    tu_scratch_remove();
    tu_teardown();
}

START_TEST(file_responder_answers)
{
    acme_tkauth_req_t r = req_1234();
    long exp = (long)apr_time_sec(NOW) + 300;
    const char *good = jwt(HDR, claims(SPC1234, RFC7638_FP, exp, NULL));
    const char *path = write_file("token.jwt", apr_pstrcat(pool, good, "\n", NULL));
    acme_responder_t *resp = acme_responder_tkauth(pool, NULL, path, 0, NULL, NULL);
    acme_responder_t *chain;
    const char *payload = NULL, *why = NULL;
    json_t *j = NULL;
    const char *sent = NULL;

    ck_assert(resp->can(resp, "tkauth-01", "TNAuthList:" SPC1234));
    ck_assert(!resp->can(resp, "http-01", "TNAuthList:" SPC1234));
    ck_assert(!resp->can(resp, "tkauth-01", "example.org"));
    ck_assert_int_eq(resp->setup(resp, pool, "tkauth-01", "TNAuthList:" SPC1234, NULL, NULL),
                     APR_SUCCESS);

    /* Through a chain, as acmectl builds it. */
    chain = acme_responder_chain(pool, &resp, 1);
    ck_assert_int_eq(acme_tkauth_answer(chain, pool, &r, NOW, &payload, &why), APR_SUCCESS);
    ck_assert_int_eq(acme_json_parse(pool, payload, strlen(payload), &j, NULL), APR_SUCCESS);
    ck_assert_int_eq(acme_json_get_str(j, "tkauth", &sent), APR_SUCCESS);
    ck_assert_str_eq(sent, good);
    ck_assert_int_eq((int)json_object_size(j), 1);

    /* A token for another SPC is refused before anything is sent. */
    write_file("token.jwt", jwt(HDR, claims(SPC5678, RFC7638_FP, exp, NULL)));
    payload = NULL;
    ck_assert_int_eq(acme_tkauth_answer(resp, pool, &r, NOW, &payload, &why), APR_EINVAL);
    ck_assert_ptr_null(payload);
    ck_assert_ptr_nonnull(strstr(why, "it is for SPC 5678, the order for SPC 1234"));

    /* No file; another token type. */
    resp = acme_responder_tkauth(pool, NULL, apr_pstrcat(pool, tmpdir, "/none", NULL), 0, NULL,
                                 NULL);
    ck_assert_int_eq(acme_tkauth_answer(resp, pool, &r, NOW, &payload, &why), APR_ENOENT);
    ck_assert_ptr_nonnull(strstr(why, "cannot read the token file"));
    r.tkauth_type = "jwt-x";
    ck_assert_int_eq(acme_tkauth_answer(resp, pool, &r, NOW, &payload, &why), APR_ENOTIMPL);
    ck_assert_ptr_nonnull(strstr(why, "tkauth-type \"jwt-x\""));
}
END_TEST


/* An executable script in the scratch directory. */
static const char *script(const char *name, const char *body)
{
    const char *path = write_file(name, apr_pstrcat(pool, "#!/bin/sh\n", body, NULL));
    ck_assert_int_eq(apr_file_perms_set(path, APR_FPROT_UREAD | APR_FPROT_UWRITE
                                        | APR_FPROT_UEXECUTE), APR_SUCCESS);
    return path;
}

static apr_status_t run_command(const char *cmd, apr_interval_time_t timeout, const char **payload,
                                const char **why)
{
    acme_tkauth_req_t r = req_1234();
    acme_responder_t *resp = acme_responder_tkauth(pool, cmd, NULL, timeout, NULL, NULL);
    *payload = NULL;
    return acme_tkauth_answer(resp, pool, &r, NOW, payload, why);
}

START_TEST(command_responder)
{
    long exp = (long)apr_time_sec(NOW) + 300;
    const char *good = jwt(HDR, claims(SPC1234, RFC7638_FP, exp, NULL));
    const char *args = apr_pstrcat(pool, tmpdir, "/args", NULL);
    const char *payload, *why = NULL, *cmd;
    char *seen = NULL;
    apr_size_t len = 0;

    /* Fixed arguments (value, fingerprint, hint), the same in the environment,
     * nothing else of ours; the token on stdout. */
    cmd = script("ok.sh", apr_psprintf(pool, "printf '%%s|' \"$#\" \"$1\" \"$2\" \"$3\" "
                                       "\"$ACME_IDENTIFIER\" \"$ACME_FINGERPRINT\" "
                                       "\"$ACME_TOKEN_AUTHORITY\" \"$ACME_TKAUTH_TYPE\" "
                                       "\"${HOME-unset}\" > %s\necho '%s'\n", args, good));
    ck_assert_int_eq(run_command(cmd, 0, &payload, &why), APR_SUCCESS);
    ck_assert_str_eq(payload, apr_psprintf(pool, "{\"tkauth\":\"%s\"}", good));
    ck_assert_int_eq(acme_file_read(pool, args, 4096, &seen, &len), APR_SUCCESS);
    ck_assert_str_eq(seen, "3|" SPC1234 "|" RFC7638_FP "|https://sti-pa.example/token|" SPC1234
                     "|" RFC7638_FP "|https://sti-pa.example/token|atc|unset|");

    cmd = script("fail.sh", "echo 'STI-PA login failed: 401' >&2\nexit 3\n");
    ck_assert_int_eq(run_command(cmd, 0, &payload, &why), APR_EGENERAL);
    ck_assert_ptr_nonnull(strstr(why, "exited with status 3"));
    ck_assert_ptr_nonnull(strstr(why, "STI-PA login failed: 401"));
    ck_assert_ptr_null(payload);

    cmd = script("hang.sh", "sleep 30\n");
    ck_assert_int_eq(run_command(cmd, apr_time_from_msec(500), &payload, &why), APR_TIMEUP);
    ck_assert_ptr_nonnull(strstr(why, "timed out"));

    cmd = script("garbage.sh", "echo '<html>Service Unavailable</html>'\n");
    ck_assert_int_eq(run_command(cmd, 0, &payload, &why), APR_EINVAL);
    ck_assert_str_eq(why, apr_psprintf(pool, "the output of the token command %s holds no JWT "
                                       "(<html>Service Unavailable</html>)", cmd));

    cmd = script("other.sh", apr_psprintf(pool, "echo '%s'\n",
                                          jwt(HDR, claims(SPC5678, RFC7638_FP, exp, NULL))));
    ck_assert_int_eq(run_command(cmd, 0, &payload, &why), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "it is for SPC 5678, the order for SPC 1234"));

    ck_assert_int_ne(run_command(apr_pstrcat(pool, tmpdir, "/missing", NULL), 0, &payload, &why),
                     APR_SUCCESS);
    ck_assert_ptr_nonnull(strstr(why, "cannot run the token command"));
}
END_TEST

/* RFC 9448 §4's authorization, with our values. */
static const char *AUTHZ_TN =
    "{\"status\":\"pending\",\"expires\":\"2030-01-08T00:00:00Z\","
    "\"identifier\":{\"type\":\"TNAuthList\",\"value\":\"" SPC1234 "\"},"
    "\"challenges\":[{\"type\":\"http-01\",\"url\":\"https://ca/c/0\",\"status\":\"pending\","
    "\"token\":\"IlirfxKKXAsHtmzK29Pj8A\"},"
    "{\"type\":\"tkauth-01\",\"tkauth-type\":\"atc\",\"token-authority\":"
    "\"https://authority.example.org\",\"url\":\"https://ca/c/1\",\"status\":\"pending\","
    "\"token\":\"IlirfxKKXAsHtmzK29Pj8A\"}]}";

static json_t *parse(const char *s)
{
    json_t *j = NULL;
    ck_assert_int_eq(acme_json_parse(pool, s, strlen(s), &j, NULL), APR_SUCCESS);
    return j;
}

START_TEST(tnauthlist_authorizations)
{
    acme_responder_t *tk = acme_responder_tkauth(pool, NULL, "/nonexistent", 0, NULL, NULL);
    acme_responder_t *web = acme_responder_webroot(pool, "/nonexistent", NULL);
    acme_responder_t *both[2] = { web, tk };
    acme_responder_t *chain = acme_responder_chain(pool, both, 2);
    acme_authz_t *a = NULL;
    const acme_challenge_t *ch;
    const char *bad;

    ck_assert_int_eq(acme_authz_parse(pool, parse(AUTHZ_TN), "https://ca/a/1", &a), APR_SUCCESS);
    ck_assert_str_eq(a->id_type, "TNAuthList");
    ck_assert_str_eq(a->name, "TNAuthList:" SPC1234);
    ch = acme_authz_pick(a, NULL, chain);
    ck_assert_ptr_nonnull(ch);
    ck_assert_str_eq(ch->type, "tkauth-01");
    ck_assert_str_eq(ch->tkauth_type, "atc");
    ck_assert_str_eq(ch->token_authority, "https://authority.example.org");
    /* http-01 is never used for a TNAuthList, even when offered and allowed. */
    {
        apr_array_header_t *only_http = apr_array_make(pool, 1, sizeof(const char *));
        APR_ARRAY_PUSH(only_http, const char *) = "http-01";
        ck_assert_ptr_null(acme_authz_pick(a, only_http, chain));
    }
    /* No tkauth responder: nothing to pick. */
    ck_assert_ptr_null(acme_authz_pick(a, NULL, web));
    /* The ordered name it is for: the same DER list, whatever the padding. */
    {
        apr_array_header_t *names = apr_array_make(pool, 2, sizeof(const char *));
        APR_ARRAY_PUSH(names, const char *) = "example.org";
        APR_ARRAY_PUSH(names, const char *) = "TNAuthList:" SPC1234 "==";
        ck_assert_str_eq(acme_authz_ordered_name(a, names), "TNAuthList:" SPC1234 "==");
        APR_ARRAY_IDX(names, 1, const char *) = "TNAuthList:" SPC5678;
        ck_assert_ptr_null(acme_authz_ordered_name(a, names));
        APR_ARRAY_IDX(names, 1, const char *) = SPC1234;   /* a DNS-looking name */
        ck_assert_ptr_null(acme_authz_ordered_name(a, names));
    }

    /* An identifier value that is no TNAuthList, a wildcard TNAuthList, or a
     * control character in the hint: malformed. */
    bad = apr_pstrdup(pool, AUTHZ_TN);
    memcpy(strstr(bad, SPC1234), "AAAAAAAAAAAAAA", strlen(SPC1234));
    ck_assert_int_eq(acme_authz_parse(pool, parse(bad), NULL, &a), APR_EINVAL);
    ck_assert_int_eq(acme_authz_parse(pool, parse(apr_pstrcat(pool,
                     "{\"wildcard\":true,", AUTHZ_TN + 1, NULL)), NULL, &a), APR_EINVAL);
    ck_assert_int_eq(acme_authz_parse(pool, parse(
        "{\"status\":\"pending\",\"identifier\":{\"type\":\"TNAuthList\",\"value\":\"" SPC1234
        "\"},\"challenges\":[{\"type\":\"tkauth-01\",\"url\":\"u\",\"status\":\"pending\","
        "\"token-authority\":\"https://a\\u0007\"}]}"), NULL, &a), APR_EINVAL);
    /* tkauth-01 without a token is fine (RFC 9447 needs none). */
    ck_assert_int_eq(acme_authz_parse(pool, parse(
        "{\"status\":\"pending\",\"identifier\":{\"type\":\"TNAuthList\",\"value\":\"" SPC1234
        "\"},\"challenges\":[{\"type\":\"tkauth-01\",\"url\":\"u\",\"status\":\"pending\"}]}"),
        NULL, &a), APR_SUCCESS);
    ck_assert_ptr_nonnull(acme_authz_pick(a, NULL, chain));
    /* A DNS name is never answered with tkauth-01. */
    ck_assert_int_eq(acme_authz_parse(pool, parse(
        "{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\",\"value\":\"example.org\"},"
        "\"challenges\":[{\"type\":\"tkauth-01\",\"url\":\"u\",\"status\":\"pending\"}]}"),
        NULL, &a), APR_SUCCESS);
    ck_assert_ptr_null(acme_authz_pick(a, NULL, chain));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("tkauth");
    TCase *tc = tu_tcase(s, "checks", 0, tu_setup, tu_teardown);
    TCase *tr = tu_tcase(s, "responder", 30, scratch_setup, scratch_teardown);

    tcase_add_test(tc, fingerprint_is_rfc9448_form);
    tcase_add_test(tc, good_token_passes);
    tcase_add_test(tc, mismatches_are_named);
    tcase_add_test(tc, malformed_tokens);
    tcase_add_test(tc, token_from_sources);
    tcase_add_test(tc, tnauthlist_authorizations);
    tcase_add_test(tr, file_responder_answers);
    tcase_add_test(tr, command_responder);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
