/* acme_tkauth.c: tkauth-01 Authority Tokens (RFC 9447/9448): the RFC 9448 account fingerprint, token extraction, the client-side checks of an ATC JWT, the token command/file responder and the challenge answer. */
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include "acme_base64.h"
#include "acme_exec.h"
#include "acme_file.h"
#include "acme_json.h"
#include "acme_jws.h"
#include "acme_time.h"
#include "acme_tkauth.h"
#include "acme_tnauth.h"

#define NBF_SKEW apr_time_from_sec(60)
#define SNIPPET 60                 /* characters of an outside value quoted in a message */
#define SNIPPET_FP 120             /* a whole fingerprint, in any spelling */

/* ---- the fingerprint ---- */

apr_status_t acme_tkauth_fingerprint(apr_pool_t *p, const acme_key_t *account_key,
                                     const char **fp)
{
    static const char hexd[] = "0123456789ABCDEF";
    const char *b64 = NULL;
    unsigned char *raw = NULL;
    apr_size_t n = 0, i;
    char *s, *q;
    apr_status_t rv;

    if ((rv = acme_jwk_thumbprint(p, account_key, &b64)) != APR_SUCCESS
        || (rv = acme_b64u_decode(p, b64, strlen(b64), &raw, &n)) != APR_SUCCESS) {
        return rv;
    }
    s = q = apr_palloc(p, 7 + 3 * n + 1);
    memcpy(q, "SHA256 ", 7);
    q += 7;
    for (i = 0; i < n; ++i) {
        if (i) *q++ = ':';
        *q++ = hexd[raw[i] >> 4];
        *q++ = hexd[raw[i] & 15];
    }
    *q = '\0';
    *fp = s;
    return APR_SUCCESS;
}

/* The digest bytes of "SHA256 AB:CD:..." (label and hex in any case, colons
 * optional), as lower-case hex without colons; NULL when it is not that. */
static const char *fingerprint_hex(apr_pool_t *p, const char *fp)
{
    const char *sp = strchr(fp, ' ');
    char *out, *q;

    if (!sp || !((sp - fp == 6 && !strncasecmp(fp, "SHA256", 6))
                 || (sp - fp == 7 && !strncasecmp(fp, "SHA-256", 7)))) {
        return NULL;
    }
    out = q = apr_palloc(p, strlen(sp) + 1);
    for (const char *c = sp + 1; *c; ++c) {
        if (*c == ':') continue;
        if (!apr_isxdigit(*c)) return NULL;
        *q++ = (char)apr_tolower(*c);
    }
    *q = '\0';
    return strlen(out) == 64 ? out : NULL;
}

/* ---- the token out of a source ---- */

/* At most max characters of s, non-printable ones as '?', for messages. */
static const char *quote(apr_pool_t *p, const char *s, apr_size_t len, apr_size_t max)
{
    apr_size_t n = len < max ? len : max;
    char *r = apr_pstrmemdup(p, s, n);
    for (apr_size_t i = 0; i < n; ++i) {
        if ((unsigned char)r[i] < 0x20 || (unsigned char)r[i] >= 0x7f) r[i] = '?';
    }
    return len > n ? apr_pstrcat(p, r, "...", NULL) : r;
}

static const char *snippet(apr_pool_t *p, const char *s, apr_size_t len)
{
    return quote(p, s, len, SNIPPET);
}

static int jwt_chars(const char *s, apr_size_t n)
{
    for (apr_size_t i = 0; i < n; ++i) {
        if (!apr_isalnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.') return 0;
    }
    return 1;
}

apr_status_t acme_tkauth_token_from(apr_pool_t *p, const char *data, apr_size_t len,
                                    const char *source, const char **jwt, const char **why)
{
    json_t *obj = NULL;
    const char *tok = NULL, *status = NULL, *msg = NULL, *err = NULL;

    while (len > 0 && apr_isspace(*data)) { ++data; --len; }
    while (len > 0 && apr_isspace(data[len - 1])) --len;
    if (len == 0) {
        *why = apr_psprintf(p, "%s holds no token", source);
        return APR_EINVAL;
    }
    if (*data == '{') {
        /* A Token Authority's answer (RFC 9447 §5): {"status", "message", "token"}. */
        if (acme_json_parse(p, data, len, &obj, &err) != APR_SUCCESS || !json_is_object(obj)) {
            *why = apr_psprintf(p, "%s holds JSON that does not parse (%s)", source,
                                err ? err : "not an object");
            return APR_EINVAL;
        }
        if (acme_json_opt_str(obj, "status", &status) != APR_SUCCESS
            || acme_json_opt_str(obj, "message", &msg) != APR_SUCCESS
            || (status && strcmp(status, "success"))) {
            *why = apr_psprintf(p, "%s holds a Token Authority answer with status \"%s\"%s%s",
                                source, status ? snippet(p, status, strlen(status)) : "?",
                                msg ? ": " : "", msg ? snippet(p, msg, strlen(msg)) : "");
            return APR_EINVAL;
        }
        if (acme_json_get_str(obj, "token", &tok) != APR_SUCCESS) {
            *why = apr_psprintf(p, "%s holds JSON without a \"token\" string", source);
            return APR_EINVAL;
        }
        data = tok;
        len = strlen(tok);
    }
    if (len > ACME_TKAUTH_MAX_TOKEN || !jwt_chars(data, len)) {
        *why = apr_psprintf(p, "%s holds no JWT (%s)", source,
                            len > ACME_TKAUTH_MAX_TOKEN ? "too long" : snippet(p, data, len));
        return APR_EINVAL;
    }
    *jwt = apr_pstrmemdup(p, data, len);
    return APR_SUCCESS;
}

/* ---- the checks ---- */

/* n characters of a compact JWS (its header or its claims) as a JSON object, or NULL. */
static json_t *jwt_part(apr_pool_t *p, const char *start, apr_size_t n)
{
    unsigned char *raw = NULL;
    apr_size_t len = 0;
    json_t *j = NULL;

    if (n == 0 || acme_b64u_decode(p, start, n, &raw, &len) != APR_SUCCESS
        || acme_json_parse(p, (const char *)raw, len, &j, NULL) != APR_SUCCESS
        || !json_is_object(j)) {
        return NULL;
    }
    return j;
}

static void mismatch(apr_pool_t *p, const char **acc, const char *fmt, ...)
    ACME_PRINTF(3, 4);

static void mismatch(apr_pool_t *p, const char **acc, const char *fmt, ...)
{
    va_list ap;
    const char *m;
    va_start(ap, fmt);
    m = apr_pvsprintf(p, fmt, ap);
    va_end(ap);
    *acc = *acc ? apr_pstrcat(p, *acc, "; ", m, NULL) : m;
}

/* A JSON number as whole seconds (NumericDate, RFC 7519 §2). */
static int numeric_date(const json_t *v, apr_time_t *t)
{
    double d;
    if (!json_is_number(v)) return 0;
    d = json_number_value(v);
    if (!(d >= 0 && d < 253402300800.0)) return 0;    /* before year 10000 */
    *t = apr_time_from_sec((apr_time_t)d);
    return 1;
}

static void check_atc(apr_pool_t *p, const json_t *atc, const acme_tkauth_req_t *req,
                      const char **acc)
{
    const char *tktype = NULL, *tkvalue = NULL, *fp = NULL, *want, *got;
    json_t *ca = json_object_get(atc, "ca");

    if (acme_json_get_str(atc, "tktype", &tktype) != APR_SUCCESS) {
        mismatch(p, acc, "its \"atc\" claim has no \"tktype\" string");
    }
    else if (strcmp(tktype, ACME_TNAUTH_ID_TYPE)) {
        mismatch(p, acc, "its tktype is \"%s\", not \"TNAuthList\"",
                 snippet(p, tktype, strlen(tktype)));
    }
    if (acme_json_get_str(atc, "tkvalue", &tkvalue) != APR_SUCCESS) {
        mismatch(p, acc, "its \"atc\" claim has no \"tkvalue\" string");
    }
    else if (!acme_tnauth_value_eq(p, tkvalue, req->id_value)) {
        mismatch(p, acc, "it is for %s, the order for %s",
                 acme_tnauth_describe_value(p, tkvalue),
                 acme_tnauth_describe_value(p, req->id_value));
    }
    if (acme_json_get_str(atc, "fingerprint", &fp) != APR_SUCCESS) {
        mismatch(p, acc, "its \"atc\" claim has no \"fingerprint\" string");
    }
    else if (!(got = fingerprint_hex(p, fp)) || !(want = fingerprint_hex(p, req->fingerprint))
             || strcmp(got, want)) {
        mismatch(p, acc, "it is bound to the account key %s, this account's key is %s",
                 quote(p, fp, strlen(fp), SNIPPET_FP), req->fingerprint);
    }
    if (ca && !json_is_boolean(ca)) {
        mismatch(p, acc, "its \"ca\" is not a boolean");
    }
    else if (json_is_true(ca)) {
        mismatch(p, acc, "it allows a CA certificate (\"ca\": true, RFC 9060 delegation), "
                 "which this client does not request");
    }
}

apr_status_t acme_tkauth_check(apr_pool_t *p, const char *jwt, const acme_tkauth_req_t *req,
                               apr_time_t now, const char **why)
{
    const char *d1, *d2, *alg = NULL, *jti = NULL, *acc = NULL;
    json_t *hdr, *claims, *atc = NULL;
    apr_time_t exp = 0, nbf = 0;
    apr_size_t len = jwt ? strlen(jwt) : 0;

    *why = NULL;
    if (len == 0 || len > ACME_TKAUTH_MAX_TOKEN || !jwt_chars(jwt, len)
        || !(d1 = strchr(jwt, '.')) || !(d2 = strchr(d1 + 1, '.')) || strchr(d2 + 1, '.')
        || d2[1] == '\0') {
        *why = "the token is not a JWT (three base64url parts joined by '.')";
        return APR_EINVAL;
    }
    if (!(hdr = jwt_part(p, jwt, (apr_size_t)(d1 - jwt)))) {
        *why = "the token's header is not a base64url JSON object";
        return APR_EINVAL;
    }
    if (!(claims = jwt_part(p, d1 + 1, (apr_size_t)(d2 - d1 - 1)))) {
        *why = "the token's claims are not a base64url JSON object";
        return APR_EINVAL;
    }
    /* RFC 9448 §5: the header follows RFC 8555 §6.2, an asymmetric signature. */
    if (acme_json_get_str(hdr, "alg", &alg) != APR_SUCCESS) {
        mismatch(p, &acc, "its header has no \"alg\"");
    }
    else if (!strcmp(alg, "none") || !strncmp(alg, "HS", 2)) {
        mismatch(p, &acc, "its \"alg\" is %s, not a signature", snippet(p, alg, strlen(alg)));
    }
    if (acme_json_get_obj(claims, "atc", &atc) != APR_SUCCESS) {
        mismatch(p, &acc, "it has no \"atc\" claim (RFC 9448 §5.4)");
    }
    else {
        check_atc(p, atc, req, &acc);
    }
    if (acme_json_get_str(claims, "jti", &jti) != APR_SUCCESS || !*jti) {
        mismatch(p, &acc, "it has no \"jti\" claim");
    }
    if (!numeric_date(json_object_get(claims, "exp"), &exp)) {
        mismatch(p, &acc, "it has no \"exp\" claim");
    }
    else if (exp <= now) {
        mismatch(p, &acc, "it expired at %s (now %s)", acme_time_rfc3339(p, exp),
                 acme_time_rfc3339(p, now));
    }
    if (json_object_get(claims, "nbf")
        && (!numeric_date(json_object_get(claims, "nbf"), &nbf) || nbf > now + NBF_SKEW)) {
        mismatch(p, &acc, "it is not valid before %s (now %s)",
                 nbf ? acme_time_rfc3339(p, nbf) : "(an unreadable \"nbf\")",
                 acme_time_rfc3339(p, now));
    }
    if (acc) {
        *why = apr_pstrcat(p, "the Authority Token does not fit: ", acc, NULL);
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

/* ---- the responder ---- */

typedef struct {
    const char *command;
    const char *file;
    apr_interval_time_t timeout;
    volatile int *cancel;
} tkauth_src_t;

static int tk_can(acme_responder_t *r, const char *type, const char *name)
{
    (void)r;
    return !strcmp(type, "tkauth-01") && acme_tnauth_is_name(name);
}

/* Nothing is published anywhere: the token travels in the challenge POST. */
static apr_status_t tk_nothing(acme_responder_t *r, apr_pool_t *p, const char *type,
                               const char *name, const char *token, const char *keyauth)
{
    (void)r; (void)p; (void)name; (void)token; (void)keyauth;
    return strcmp(type, "tkauth-01") ? APR_ENOTIMPL : APR_SUCCESS;
}

static apr_status_t token_from_file(apr_pool_t *p, const char *path, const char **jwt,
                                    const char **why)
{
    char *data = NULL, err[128];
    apr_size_t len = 0;
    apr_status_t rv = acme_file_read(p, path, ACME_TKAUTH_MAX_SOURCE, &data, &len);

    if (rv != APR_SUCCESS) {
        *why = apr_psprintf(p, "cannot read the token file %s: %s", path,
                            rv == APR_ENOSPC ? "larger than 64 KiB"
                            : apr_strerror(rv, err, sizeof(err)));
        return rv;
    }
    return acme_tkauth_token_from(p, data, len, apr_psprintf(p, "the token file %s", path), jwt,
                                  why);
}

/* `command VALUE FINGERPRINT TOKEN-AUTHORITY` through acme_exec (descriptors
 * 0-2, minimal environment, timeout, bounded output); the token on stdout. */
static apr_status_t token_from_command(apr_pool_t *p, const tkauth_src_t *src,
                                       const acme_tkauth_req_t *req, const char **jwt,
                                       const char **why)
{
    const char *hint = req->token_authority ? req->token_authority : "";
    const char *argv[5], *env[5];
    acme_exec_result_t res;
    acme_exec_t x;
    apr_status_t rv;

    argv[0] = src->command;
    argv[1] = req->id_value;
    argv[2] = req->fingerprint;
    argv[3] = hint;
    argv[4] = NULL;
    env[0] = apr_pstrcat(p, "ACME_IDENTIFIER=", req->id_value, NULL);
    env[1] = apr_pstrcat(p, "ACME_FINGERPRINT=", req->fingerprint, NULL);
    env[2] = apr_pstrcat(p, "ACME_TOKEN_AUTHORITY=", hint, NULL);
    env[3] = apr_pstrcat(p, "ACME_TKAUTH_TYPE=", req->tkauth_type ? req->tkauth_type : "atc",
                         NULL);
    env[4] = NULL;
    memset(&x, 0, sizeof(x));
    x.argv = argv;
    x.env = env;
    x.timeout = src->timeout;
    x.max_output = ACME_TKAUTH_MAX_SOURCE;
    x.cancel = src->cancel;
    rv = acme_exec_run(p, &x, &res);
    if (rv != APR_SUCCESS) {
        char err[128];
        *why = res.started
               ? apr_psprintf(p, "the token command %s %s", src->command,
                              acme_exec_describe(p, &x, &res))
               : apr_psprintf(p, "cannot run the token command %s: %s", src->command,
                              apr_strerror(rv, err, sizeof(err)));
        return rv;
    }
    if (res.out_truncated) {
        *why = apr_psprintf(p, "the token command %s printed more than %d KiB", src->command,
                            ACME_TKAUTH_MAX_SOURCE / 1024);
        return APR_EINVAL;
    }
    return acme_tkauth_token_from(p, res.out, res.out_len,
                                  apr_psprintf(p, "the output of the token command %s",
                                               src->command), jwt, why);
}

static apr_status_t tk_token(acme_responder_t *r, apr_pool_t *p, const acme_tkauth_req_t *req,
                             const char **jwt, const char **why)
{
    const tkauth_src_t *src = r->baton;
    return src->command ? token_from_command(p, src, req, jwt, why)
                        : token_from_file(p, src->file, jwt, why);
}

acme_responder_t *acme_responder_tkauth(apr_pool_t *p, const char *command, const char *file,
                                        apr_interval_time_t timeout, volatile int *cancel,
                                        const acme_logger_t *log)
{
    acme_responder_t *r = apr_pcalloc(p, sizeof(*r));
    tkauth_src_t *src = apr_pcalloc(p, sizeof(*src));

    src->command = command ? apr_pstrdup(p, command) : NULL;
    src->file = file ? apr_pstrdup(p, file) : NULL;
    src->timeout = timeout;
    src->cancel = cancel;
    r->baton = src;
    r->log = log;
    r->can = tk_can;
    r->setup = tk_nothing;
    r->teardown = tk_nothing;
    r->token = tk_token;
    return r;
}

/* ---- the answer ---- */

apr_status_t acme_tkauth_answer(acme_responder_t *r, apr_pool_t *p, const acme_tkauth_req_t *req,
                                apr_time_t now, const char **payload, const char **why)
{
    const char *jwt = NULL;
    json_t *obj;
    apr_status_t rv;

    *why = NULL;
    if (req->tkauth_type && strcmp(req->tkauth_type, "atc")) {
        *why = apr_psprintf(p, "the CA asks for tkauth-type \"%s\"; this client knows \"atc\" "
                            "(RFC 9447 §4) only", snippet(p, req->tkauth_type,
                                                         strlen(req->tkauth_type)));
        return APR_ENOTIMPL;
    }
    if (!r || !r->token) {
        *why = "no Authority Token source is configured";
        return APR_ENOTIMPL;
    }
    if ((rv = r->token(r, p, req, &jwt, why)) != APR_SUCCESS) {
        if (!*why) *why = "the token source failed";
        return rv;
    }
    if ((rv = acme_tkauth_check(p, jwt, req, now, why)) != APR_SUCCESS) return rv;
    obj = acme_json_own(p, json_pack("{s:s}", "tkauth", jwt));
    if (!obj || !(*payload = acme_json_dump(p, obj, 0))) return APR_ENOMEM;
    return APR_SUCCESS;
}
