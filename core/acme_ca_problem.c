/* acme_ca_problem.c: RFC 7807 problem documents: parsing what a CA sends, the problem an error response or a failed request stands for, and their one-line text. */
#include <string.h>
#include <apr_strings.h>
#include "acme_ca.h"
#include "acme_ca_int.h"
#include "acme_json.h"
#include "acme_time.h"

#define ACME_MAX_SUBPROBLEMS 100
#define ACME_ERR_NS "urn:ietf:params:acme:error:"

acme_problem_t *acme_problem_make(apr_pool_t *p, const char *type, int status, const char *detail)
{
    acme_problem_t *prob = apr_pcalloc(p, sizeof(*prob));

    prob->type = type ? type : "about:blank";
    prob->status = status;
    prob->detail = detail;
    prob->subproblems = apr_array_make(p, 0, sizeof(acme_problem_t *));
    return prob;
}

static void problem_fill(apr_pool_t *p, acme_problem_t *prob, const json_t *obj, int with_subs);

static void problem_subs(apr_pool_t *p, acme_problem_t *prob, const json_t *arr)
{
    size_t i;
    json_t *item;

    json_array_foreach(arr, i, item) {
        acme_problem_t *sub;
        if (i >= ACME_MAX_SUBPROBLEMS) {
            break;
        }
        if (!json_is_object(item)) {
            continue;
        }
        sub = acme_problem_make(p, NULL, prob->status, NULL);
        problem_fill(p, sub, item, 0);
        APR_ARRAY_PUSH(prob->subproblems, acme_problem_t *) = sub;
    }
}

static void problem_fill(apr_pool_t *p, acme_problem_t *prob, const json_t *obj, int with_subs)
{
    const char *s;
    json_t *j;
    json_int_t st;

    if (acme_json_get_str(obj, "type", &s) == APR_SUCCESS && *s) {
        prob->type = s;
    }
    if (acme_json_get_str(obj, "detail", &s) == APR_SUCCESS) {
        prob->detail = s;
    }
    if (prob->status == 0 && acme_json_get_int(obj, "status", &st) == APR_SUCCESS
        && st >= 100 && st <= 599) {
        prob->status = (int)st;
    }
    if (acme_json_get_obj(obj, "identifier", &j) == APR_SUCCESS
        && acme_json_get_str(j, "value", &s) == APR_SUCCESS) {
        prob->identifier = s;
    }
    if (with_subs && acme_json_get_arr(obj, "subproblems", &j) == APR_SUCCESS) {
        problem_subs(p, prob, j);
    }
}

/* A malformed document still yields a usable *prob (type about:blank, detail
 * saying so) besides the APR_EINVAL, so callers can always report it. */
apr_status_t acme_problem_parse(apr_pool_t *p, const char *body, apr_size_t len,
                                int status, acme_problem_t **pprob)
{
    acme_problem_t *prob = acme_problem_make(p, NULL, status, NULL);
    const char *err = NULL;
    json_t *obj = NULL;

    *pprob = prob;
    if (!body || acme_json_parse(p, body, len, &obj, &err) != APR_SUCCESS || !json_is_object(obj)) {
        prob->detail = apr_psprintf(p, "malformed problem document%s%s", err ? ": " : "",
                                    err ? err : "");
        return APR_EINVAL;
    }
    problem_fill(p, prob, obj, 1);
    return APR_SUCCESS;
}

/* Control characters from the CA must not split or forge log lines. */
static const char *printable(apr_pool_t *p, const char *s)
{
    return acme_printable(p, s, 4096);
}

const char *acme_problem_str(apr_pool_t *p, const acme_problem_t *prob)
{
    const char *s;
    int i;

    if (!prob) {
        return "no problem";
    }
    s = apr_pstrcat(p, printable(p, prob->type), ": ", printable(p, prob->detail), NULL);
    if (prob->status) {
        s = apr_psprintf(p, "%s (status %d)", s, prob->status);
    }
    for (i = 0; prob->subproblems && i < prob->subproblems->nelts; ++i) {
        const acme_problem_t *sub = APR_ARRAY_IDX(prob->subproblems, i, const acme_problem_t *);
        s = apr_pstrcat(p, s, " [", printable(p, sub->identifier ? sub->identifier : "?"), ": ",
                        printable(p, sub->type), ": ", printable(p, sub->detail), "]", NULL);
    }
    return s;
}

int acme_problem_is(const acme_problem_t *prob, const char *name)
{
    size_t n = sizeof(ACME_ERR_NS) - 1;

    return prob && prob->type && name && !strncmp(prob->type, ACME_ERR_NS, n)
           && !strcmp(prob->type + n, name);
}

acme_problem_t *acme_problem_transport(apr_pool_t *p, const char *err)
{
    return acme_problem_make(p, "urn:mod_acme:transport", 0, err ? err : "request failed");
}

static int is_json_type(const char *ct)
{
    return ct && (!strcmp(ct, "application/json") || !strcmp(ct, "application/problem+json"));
}

static void set_retry_after(const acme_http_response_t *resp, acme_problem_t *prob)
{
    const char *v = apr_table_get(resp->headers, "Retry-After");
    apr_interval_time_t delay;

    if ((resp->status == 429 || resp->status == 503) && v
        && acme_retry_after_parse(v, apr_time_now(), &delay) == APR_SUCCESS) {
        prob->retry_after = delay;
    }
}

/* The problem an error response (>= 400) stands for. */
acme_problem_t *acme_problem_of_response(apr_pool_t *p, const char *url,
                                        const acme_http_response_t *resp)
{
    acme_problem_t *prob;

    if (is_json_type(resp->content_type)) {
        acme_problem_parse(p, resp->body, resp->body_len, resp->status, &prob);
    }
    else {
        prob = acme_problem_make(p, NULL, resp->status,
                            apr_psprintf(p, "HTTP %d from %s (content type %s)", resp->status,
                                         url, resp->content_type ? resp->content_type : "none"));
    }
    if (!prob->detail || !*prob->detail) {
        prob->detail = apr_psprintf(p, "HTTP %d from %s", resp->status, url);
    }
    set_retry_after(resp, prob);
    return prob;
}
