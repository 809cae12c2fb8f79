/* acmectl_status.c: the status and renew verbs, which read a domain's status from the store and mark it due for renewal, without talking to a CA. */
#include <stdio.h>

#include <apr_time.h>

#include "acme_json.h"
#include "acme_record.h"
#include "acme_status.h"
#include "acme_version.h"
#include "acmectl.h"

/* The status JSON on stdout. */
static int print_json(ctl_t *c, const json_t *j)
{
    char *s = acme_json_dump(c->p, j, JSON_INDENT(2));

    if (s == NULL) {
        return fail(1, "cannot serialize the status");
    }
    printf("%s\n", s);
    return 0;
}

const char usage_status[] =
    "usage: acmectl [-s STORE] status [DOMAIN]\n"
    "  Print the status JSON of every domain in the store, or of one; README's\n"
    "  section \"Status JSON\" explains its fields.\n";

int verb_status(ctl_t *c, int argc, const char *const *argv)
{
    apr_array_header_t *args;
    acme_store_t *store;
    json_t *out, *one;
    const char *entry;
    apr_status_t rv;
    int code;

    if ((code = plain_args(c, argc, argv, "status ", usage_status, 0, 1, &args)) >= 0) {
        return code;
    }
    if ((code = open_store(c, &store)) != 0) {
        return code;
    }
    if (args->nelts == 0) {
        rv = acme_status_all(c->p, store, NULL, &out);
        return rv == APR_SUCCESS ? print_json(c, out)
                                 : fail(1, "cannot read the status: %s", errstr(c, rv));
    }
    if ((code = known_entry(c, store, APR_ARRAY_IDX(args, 0, const char *), &entry)) != 0) {
        return code;
    }
    rv = acme_status_domain(c->p, store, entry, NULL, &one);
    if (rv != APR_SUCCESS) {
        return fail(1, "cannot read the status: %s", errstr(c, rv));
    }
    out = acme_json_own(c->p, json_pack("{s:s, s:[O]}", "version", ACME_VERSION, "domains", one));
    return print_json(c, out);
}

const char usage_renew[] =
    "usage: acmectl [-s STORE] renew DOMAIN\n"
    "  Mark DOMAIN for renewal at the next check (httpd's watchdog, woken at once,\n"
    "  or the next 'acmectl issue'), regardless of the renewal window. Until then\n"
    "  status shows the renewal due now, with source \"manual\".\n";

int verb_renew(ctl_t *c, int argc, const char *const *argv)
{
    apr_array_header_t *args;
    acme_store_t *store;
    const char *entry;
    apr_status_t rv;
    int code;

    if ((code = plain_args(c, argc, argv, "renew ", usage_renew, 1, 1, &args)) >= 0) {
        return code;
    }
    if ((code = open_store(c, &store)) != 0
        || (code = known_entry(c, store, APR_ARRAY_IDX(args, 0, const char *), &entry)) != 0) {
        return code;
    }
    rv = acme_record_mark_renew(store, c->p, entry, apr_time_now());
    if (rv != APR_SUCCESS) {
        return fail(1, "cannot mark %s for renewal: %s", entry, errstr(c, rv));
    }
    return 0;
}
