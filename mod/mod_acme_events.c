/* mod_acme_events.c: which ACMENotifyCmd event a drive's start and end are (renewing, issued, renew-failed, errored), with the variables README "Events" lists. */
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <apr_strings.h>

#include "acme_status.h"
#include "mod_acme_events.h"
#include "mod_acme_notify.h"

APLOG_USE_MODULE(acme);

void am_events_drive_start(const am_runtime_t *rt, apr_pool_t *p, const acme_domain_t *d,
                             const char *why)
{
    const char *vars[] = { "ACME_REASON", why && *why ? why : "needed", NULL };

    am_notify_vars(rt, p, "renewing", d->id, vars);
}

static const char *member(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));

    return s ? s : "";
}

void am_events_drive_end(const am_runtime_t *rt, apr_pool_t *p, const acme_domain_t *d,
                           apr_status_t rv, const acme_drive_result_t *res)
{
    json_t *dom = NULL, *err;
    const char *state, *type, *detail;
    int serving;

    if (res->staged) {
        am_notify(rt, p, "issued", d->id);
        return;
    }
    if (rv == APR_SUCCESS && !res->error) {
        return;
    }
    /* what the drive recorded: the problem, the hint, when it tries again */
    if (acme_status_domain(p, rt->store, d->id, d, &dom) != APR_SUCCESS) {
        dom = NULL;
    }
    err = json_object_get(dom, "last_error");
    state = member(dom, "state");
    serving = json_array_size(json_object_get(dom, "certificates")) > 0
              && strcmp(state, "expired");
    type = res->error && res->error->type ? res->error->type : member(err, "type");
    detail = res->error && res->error->detail ? res->error->detail : member(err, "detail");
    {
        const char *vars[] = {
            "ACME_PROBLEM_TYPE", type,
            "ACME_PROBLEM_DETAIL", detail,
            "ACME_HINT", member(err, "hint"),
            "ACME_STEP", member(err, "step"),
            "ACME_FAILURES", apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)
                                          json_integer_value(json_object_get(dom, "failures"))),
            "ACME_NEXT_ATTEMPT", member(dom, "next_attempt"),
            NULL
        };
        am_notify_vars(rt, p, serving ? "renew-failed" : "errored", d->id, vars);
    }
}
