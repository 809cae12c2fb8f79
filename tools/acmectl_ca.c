/* acmectl_ca.c: how the verbs that talk to a CA reach it: --ca, --ca-cert and --http-proxy checked before any request, the trust file the store recorded, the CA client. */
#include <string.h>
#include <strings.h>

#include <unistd.h>

#include <apr_file_info.h>
#include <apr_uri.h>

#include "acme_account.h"
#include "acme_ca.h"
#include "acme_drive.h"
#include "acmectl.h"

static int url_ok(ctl_t *c, const char *s, int proxy)
{
    apr_uri_t u;

    if (apr_uri_parse(c->p, s, &u) != APR_SUCCESS || !u.scheme || !u.hostname || !*u.hostname) {
        return 0;
    }
    return !strcasecmp(u.scheme, "https") || !strcasecmp(u.scheme, "http")
           || (proxy && !strncasecmp(u.scheme, "socks", 5));
}

/* Refused before any request (exit 2): what cannot work. --ca-cert is made
 * absolute, as the store records it for later commands. */
int ca_opts_check(ctl_t *c, ca_opts_t *co)
{
    apr_finfo_t fi;
    char *abs = NULL;

    if (co->url && !url_ok(c, co->url, 0)) {
        return fail(EXIT_USAGE, "--ca '%s' is not an http(s) URL of an ACME directory", co->url);
    }
    if (co->proxy && !url_ok(c, co->proxy, 1)) {
        return fail(EXIT_USAGE, "--http-proxy '%s' is not a proxy URL (http://host:port)",
                    co->proxy);
    }
    if (co->ca_cert) {
        if (apr_stat(&fi, co->ca_cert, APR_FINFO_TYPE, c->p) != APR_SUCCESS
            || fi.filetype != APR_REG || access(co->ca_cert, R_OK) != 0) {
            return fail(EXIT_USAGE, "--ca-cert '%s' is not a readable file", co->ca_cert);
        }
        if (apr_filepath_merge(&abs, NULL, co->ca_cert, APR_FILEPATH_NOTRELATIVE, c->p)
            == APR_SUCCESS) {
            co->ca_cert = abs;
        }
    }
    return 0;
}

int make_registry(ctl_t *c, const ca_opts_t *co, const char *ca_cert,
                         acme_ca_registry_t **reg)
{
    acme_http_opts_t opts;
    apr_status_t rv;

    memset(&opts, 0, sizeof(opts));
    opts.ca_file = ca_cert;
    opts.proxy = co->proxy;
    rv = acme_ca_registry_create(c->p, &opts, &c->log, reg);
    return rv == APR_SUCCESS ? 0 : fail(1, "cannot set up the HTTP client: %s", errstr(c, rv));
}

/* The trust file for co->url: --ca-cert, else the one the store recorded
 * for that CA when a certificate was issued from it (NULL: the system's). */
const char *trust_file(ctl_t *c, acme_store_t *store, const ca_opts_t *co)
{
    acme_ca_registry_t *reg;
    acme_ca_t *ca;

    if (co->ca_cert || !store || make_registry(c, co, NULL, &reg) != 0
        || acme_ca_registry_get(reg, co->url, &ca) != APR_SUCCESS) {
        return co->ca_cert;
    }
    return acme_account_trust_load(store, c->p, ca);
}

int get_ca(ctl_t *c, acme_store_t *store, const ca_opts_t *co, acme_ca_t **ca)
{
    acme_ca_registry_t *reg;
    apr_status_t rv;
    int code = make_registry(c, co, trust_file(c, store, co), &reg);

    if (code != 0) {
        return code;
    }
    rv = acme_ca_registry_get(reg, co->url, ca);
    return rv == APR_SUCCESS ? 0 : fail(1, "cannot use the CA %s: %s", co->url, errstr(c, rv));
}

const char *problem_text(ctl_t *c, apr_status_t rv, const acme_problem_t *prob)
{
    return prob ? acme_problem_str(c->p, prob) : errstr(c, rv);
}
