/* mod_acme_status_html.c: the status as an HTML page an admin reads at a glance (one row per domain with a validity bar, the last error and what to do), and mod_status' ACME section. */
#include <httpd.h>
#include <http_protocol.h>
#include <apr_strings.h>

#include "acme_time.h"
#include "acme_version.h"
#include "mod_acme_status_html.h"

/* Inline, so the page needs nothing else: works offline and without script. */
static const char PAGE_CSS[] =
    "body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;"
    "background:#f6f7f9;color:#1d2330}"
    "header{background:#1d2330;color:#fff;padding:14px 24px}"
    "header h1{font-size:20px;margin:0 0 4px}header p{margin:0;color:#c9d1e0}"
    "main{padding:16px 24px}"
    "table{border-collapse:collapse;width:100%;background:#fff;box-shadow:0 1px 2px #0002}"
    "th,td{text-align:left;vertical-align:top;padding:10px 12px;border-bottom:1px solid #e3e6ec}"
    "th{background:#eef0f4;font-weight:600;font-size:12px;text-transform:uppercase;"
    "letter-spacing:.04em;color:#4a5468}"
    "td.names strong{font-size:15px}td.names .alt{color:#4a5468}"
    "small,.muted{color:#6b7385}"
    ".badge{display:inline-block;padding:2px 8px;border-radius:10px;font-weight:600;"
    "font-size:12px;color:#fff;margin:0 4px 4px 0}"
    ".st-valid{background:#1f8a4c}.st-renewing{background:#2a6fdb}.st-pending{background:#7a8294}"
    ".st-error{background:#c9302c}.st-expired{background:#7d1010}.st-revoked{background:#6f42c1}"
    ".st-expiring{background:#e0800f}.st-staged{background:#0f8b8d}"
    "tr.state-error td,tr.state-expired td{background:#fff5f5}"
    "tr.expiring td{background:#fffaf0}"
    ".bar{position:relative;height:14px;border-radius:7px;background:#dfe3ea;min-width:220px;"
    "margin:4px 0 2px;overflow:hidden}"
    ".bar .used{position:absolute;left:0;top:0;bottom:0;background:#7fb6f0}"
    ".bar .warnzone{position:absolute;top:0;bottom:0;right:0;background:#f3c27b}"
    ".bar .mark{position:absolute;top:0;bottom:0;width:3px}"
    ".bar .now{background:#1d2330}.bar .renew{background:#1f8a4c}"
    ".scale{display:flex;justify-content:space-between;font-size:12px;color:#6b7385}"
    ".legend{font-size:12px;color:#4a5468;margin:8px 0 14px}"
    ".legend i{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px;"
    "vertical-align:middle}"
    ".err{color:#8a1f1b}.err code{font-size:12px;color:#4a5468}"
    ".todo{margin-top:4px;padding:6px 8px;background:#fff3cd;border-left:3px solid #e0a800}"
    "h2{font-size:16px;margin:24px 0 8px}";

typedef struct {
    request_rec *r;
    apr_time_t now;
} page_t;

static const char *jstr(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static const char *esc(apr_pool_t *p, const char *s)
{
    return ap_escape_html2(p, s ? s : "", 1);
}

static apr_time_t jtime(const json_t *obj, const char *key)
{
    const char *s = jstr(obj, key);
    apr_time_t t = 0;

    return s && acme_time_parse_rfc3339(s, &t) == APR_SUCCESS ? t : 0;
}

/* "2026-12-04 13:05 UTC" */
static const char *when(apr_pool_t *p, apr_time_t t)
{
    apr_time_exp_t tm;
    char buf[32];
    apr_size_t n;

    if (t == 0 || apr_time_exp_gmt(&tm, t) != APR_SUCCESS
        || apr_strftime(buf, &n, sizeof(buf), "%Y-%m-%d %H:%M UTC", &tm) != APR_SUCCESS) {
        return "";
    }
    return apr_pstrdup(p, buf);
}

/* "in 3 days" / "5 hours ago" */
static const char *relative(apr_pool_t *p, apr_time_t t, apr_time_t now)
{
    apr_int64_t s = apr_time_sec(t > now ? t - now : now - t);
    const char *amount;

    if (s >= 2 * 86400) amount = apr_psprintf(p, "%" APR_INT64_T_FMT " days", s / 86400);
    else if (s >= 7200) amount = apr_psprintf(p, "%" APR_INT64_T_FMT " hours", s / 3600);
    else if (s >= 120) amount = apr_psprintf(p, "%" APR_INT64_T_FMT " minutes", s / 60);
    else amount = apr_psprintf(p, "%" APR_INT64_T_FMT " seconds", s);
    return t > now ? apr_pstrcat(p, "in ", amount, NULL) : apr_pstrcat(p, amount, " ago", NULL);
}

/* Position of t on [start, end] in percent, clamped. */
static double pos(apr_time_t t, apr_time_t start, apr_time_t end)
{
    double v;

    if (end <= start) return 100.0;
    v = 100.0 * (double)(t - start) / (double)(end - start);
    return v < 0 ? 0 : (v > 100 ? 100 : v);
}

/* issued -> now -> renewal -> expiry, with the warning window shaded. */
static void validity_bar(page_t *pg, const json_t *cert, apr_time_t renew)
{
    request_rec *r = pg->r;
    apr_time_t nb = jtime(cert, "not_before"), na = jtime(cert, "not_after");
    apr_time_t warn = jtime(cert, "warn_at");

    if (!nb || !na) {
        return;
    }
    ap_rprintf(r, "<div class=\"bar\" role=\"img\" aria-label=\"valid from %s to %s\">"
               "<div class=\"used\" style=\"width:%.1f%%\"></div>", when(r->pool, nb),
               when(r->pool, na), pos(pg->now, nb, na));
    if (warn) {
        ap_rprintf(r, "<div class=\"warnzone\" style=\"width:%.1f%%\" title=\"warning from %s\">"
                   "</div>", 100.0 - pos(warn, nb, na), when(r->pool, warn));
    }
    if (renew) {
        ap_rprintf(r, "<div class=\"mark renew\" style=\"left:%.1f%%\" title=\"renewal %s\">"
                   "</div>", pos(renew, nb, na), when(r->pool, renew));
    }
    ap_rprintf(r, "<div class=\"mark now\" style=\"left:%.1f%%\" title=\"now\"></div></div>"
               "<div class=\"scale\"><span>issued %s</span><span>expires %s</span></div>",
               pos(pg->now, nb, na), when(r->pool, nb), when(r->pool, na));
}

static void cell_names(page_t *pg, const json_t *dom)
{
    request_rec *r = pg->r;
    const char *name = jstr(dom, "name");
    json_t *n, *c;
    size_t i;

    ap_rprintf(r, "<td class=\"names\"><strong>%s</strong>", esc(r->pool, name));
    json_array_foreach(json_object_get(dom, "names"), i, n) {
        const char *s = json_string_value(n);
        if (s && name && strcmp(s, name)) {
            ap_rprintf(r, "<br><span class=\"alt\">%s</span>", esc(r->pool, s));
        }
    }
    json_array_foreach(json_object_get(dom, "certificates"), i, c) {
        ap_rprintf(r, "%s%s", i ? ", " : "<br><small>", esc(r->pool, jstr(c, "key_type")));
    }
    if (json_array_size(json_object_get(dom, "certificates"))) {
        ap_rputs("</small>", r);
    }
    ap_rputs("</td>", r);
}

static void cell_state(page_t *pg, const json_t *dom, const char *state)
{
    request_rec *r = pg->r;

    ap_rprintf(r, "<td class=\"state\"><span class=\"badge st-%s\">%s</span>",
               esc(r->pool, state), esc(r->pool, state));
    if (json_is_true(json_object_get(dom, "expiring"))) {
        ap_rputs("<span class=\"badge st-expiring\">expiring</span>", r);
    }
    if (json_is_true(json_object_get(dom, "staged"))) {
        ap_rputs("<span class=\"badge st-staged\" title=\"a new certificate is verified and "
                 "waits for activation\">staged</span>", r);
    }
    ap_rputs("</td>", r);
}

static void cell_validity(page_t *pg, const json_t *dom)
{
    request_rec *r = pg->r;
    json_t *certs = json_object_get(dom, "certificates");
    apr_time_t renew = jtime(json_object_get(dom, "renewal"), "at");

    ap_rputs("<td class=\"validity\">", r);
    if (json_array_size(certs) == 0) {
        ap_rputs("<span class=\"muted\">no certificate yet</span>", r);
    }
    else {
        /* the first key type's: all of a set are issued together */
        validity_bar(pg, json_array_get(certs, 0), renew);
    }
    ap_rputs("</td>", r);
}

static void cell_renewal(page_t *pg, const json_t *dom)
{
    request_rec *r = pg->r;
    json_t *ren = json_object_get(dom, "renewal");
    apr_time_t at = jtime(ren, "at"), next = jtime(dom, "next_attempt");
    const char *url = jstr(ren, "explanation_url");

    ap_rputs("<td class=\"renewal\">", r);
    if (next && json_is_object(json_object_get(dom, "last_error"))) {
        ap_rprintf(r, "retry %s<br><small>%s</small>", relative(r->pool, next, pg->now),
                   when(r->pool, next));
    }
    else if (at) {
        ap_rprintf(r, "%s<br><small>%s &middot; %s</small>", relative(r->pool, at, pg->now),
                   when(r->pool, at), esc(r->pool, jstr(ren, "source")));
    }
    else {
        ap_rputs("<span class=\"muted\">&ndash;</span>", r);
    }
    if (url && (!strncmp(url, "https://", 8) || !strncmp(url, "http://", 7))) {
        ap_rprintf(r, "<br><a href=\"%s\" rel=\"noreferrer\">why the CA asks for it</a>",
                   esc(r->pool, url));
    }
    ap_rputs("</td>", r);
}

/* What the admin should do, for the state the domain is in. */
static const char *todo(apr_pool_t *p, const json_t *dom, const char *state)
{
    const json_t *err = json_object_get(dom, "last_error");
    const char *hint = jstr(err, "hint");

    if (json_is_object(err)) {
        return hint ? hint : "see the error log for this domain; the drive retries by itself";
    }
    if (!strcmp(state, "expired")) {
        return "the certificate has expired and no renewal succeeded: check the error log";
    }
    if (json_is_true(json_object_get(dom, "staged"))) {
        return "nothing: the new certificate goes live at the next graceful restart "
               "(ACMEActivation)";
    }
    if (!strcmp(state, "pending")) {
        return "nothing yet: the first certificate is being obtained (the site answers 503 "
               "until then)";
    }
    if (json_is_true(json_object_get(dom, "expiring"))) {
        return "the certificate is inside ACMEWarnWindow: check that renewal can succeed";
    }
    return NULL;
}

static void cell_error(page_t *pg, const json_t *dom, const char *state)
{
    request_rec *r = pg->r;
    json_t *err = json_object_get(dom, "last_error");
    const char *what = todo(r->pool, dom, state);
    json_int_t failures = json_integer_value(json_object_get(dom, "failures"));

    ap_rputs("<td class=\"error\">", r);
    if (json_is_object(err)) {
        ap_rprintf(r, "<div class=\"err\">%s</div><code>%s</code>", esc(r->pool, jstr(err, "detail")),
                   esc(r->pool, jstr(err, "type")));
        if (jstr(err, "step")) {
            ap_rprintf(r, " <small>at %s</small>", esc(r->pool, jstr(err, "step")));
        }
        ap_rprintf(r, "<br><small>%s", esc(r->pool, when(r->pool, jtime(err, "at"))));
        if (failures > 1) {
            ap_rprintf(r, " &middot; %" APR_INT64_T_FMT " failures in a row",
                       (apr_int64_t)failures);
        }
        ap_rputs("</small>", r);
    }
    if (what) {
        ap_rprintf(r, "<div class=\"todo\"><strong>What to do:</strong> %s</div>",
                   esc(r->pool, what));
    }
    if (!json_is_object(err) && !what) {
        ap_rputs("<span class=\"muted\">&ndash;</span>", r);
    }
    ap_rputs("</td>", r);
}

static void domain_row(page_t *pg, const json_t *dom)
{
    request_rec *r = pg->r;
    const char *state = jstr(dom, "state") ? jstr(dom, "state") : "pending";
    const char *name = jstr(dom, "name");

    ap_rprintf(r, "<tr id=\"domain-%s\" class=\"domain state-%s%s\" data-domain=\"%s\" "
               "data-state=\"%s\" data-expiring=\"%s\" data-staged=\"%s\">",
               esc(r->pool, name), esc(r->pool, state),
               json_is_true(json_object_get(dom, "expiring")) ? " expiring" : "",
               esc(r->pool, name), esc(r->pool, state),
               json_is_true(json_object_get(dom, "expiring")) ? "yes" : "no",
               json_is_true(json_object_get(dom, "staged")) ? "yes" : "no");
    cell_names(pg, dom);
    cell_state(pg, dom, state);
    cell_validity(pg, dom);
    cell_renewal(pg, dom);
    cell_error(pg, dom, state);
    ap_rputs("</tr>\n", r);
}

static void domains_table(page_t *pg, const json_t *doms)
{
    json_t *dom;
    size_t i;

    ap_rputs("<table class=\"domains\"><thead><tr><th>Domain</th><th>State</th>"
             "<th>Validity</th><th>Next renewal</th><th>Last error</th></tr></thead><tbody>\n",
             pg->r);
    json_array_foreach(doms, i, dom) {
        domain_row(pg, dom);
    }
    if (json_array_size(doms) == 0) {
        ap_rputs("<tr><td colspan=\"5\" class=\"muted\">No ACMEDomain is configured.</td></tr>",
                 pg->r);
    }
    ap_rputs("</tbody></table>\n", pg->r);
}

static void static_row(page_t *pg, const json_t *c)
{
    request_rec *r = pg->r;
    int expiring = json_is_true(json_object_get(c, "expiring"));
    int expired = json_is_true(json_object_get(c, "expired"));
    const char *state = expired ? "expired" : (expiring ? "expiring" : "valid");
    json_t *n;
    size_t i;

    ap_rprintf(r, "<tr class=\"static state-%s\" data-file=\"%s\" data-state=\"%s\"><td>"
               "<strong>%s</strong><br><small>%s</small></td><td>", state,
               esc(r->pool, jstr(c, "file")), state, esc(r->pool, jstr(c, "vhost")),
               esc(r->pool, jstr(c, "file")));
    json_array_foreach(json_object_get(c, "names"), i, n) {
        ap_rprintf(r, "%s%s", i ? ", " : "", esc(r->pool, json_string_value(n)));
    }
    ap_rprintf(r, "</td><td><span class=\"badge st-%s\">%s</span></td><td class=\"validity\">",
               state, state);
    validity_bar(pg, c, 0);
    ap_rprintf(r, "</td><td>%s</td></tr>\n", expiring || expired
               ? "<div class=\"todo\"><strong>What to do:</strong> mod_acme does not manage "
                 "this file: renew it by hand, or remove SSLCertificateFile and let "
                 "ACMEDomain manage the vhost</div>" : "");
}

static void statics_table(page_t *pg, const json_t *statics)
{
    json_t *c;
    size_t i;

    if (json_array_size(statics) == 0) {
        return;
    }
    ap_rputs("<h2>Certificates of vhosts mod_acme does not manage (ACMEWatchStatic)</h2>\n"
             "<table class=\"statics\"><thead><tr><th>Virtual host</th><th>Names</th>"
             "<th>State</th><th>Validity</th><th>What to do</th></tr></thead><tbody>\n",
             pg->r);
    json_array_foreach(statics, i, c) {
        static_row(pg, c);
    }
    ap_rputs("</tbody></table>\n", pg->r);
}

/* "3 domains: 2 valid, 1 error" */
static const char *summary(apr_pool_t *p, const json_t *doms)
{
    static const char *const states[] = { "valid", "renewing", "pending", "error", "expired",
                                          "revoked", NULL };
    const char *out = apr_psprintf(p, "%d domain%s", (int)json_array_size(doms),
                                   json_array_size(doms) == 1 ? "" : "s");
    const char *sep = ": ";
    int k, n, expiring = 0;
    json_t *dom;
    size_t i;

    for (k = 0; states[k]; k++) {
        n = 0;
        json_array_foreach(doms, i, dom) {
            const char *st = jstr(dom, "state");
            n += st && !strcmp(st, states[k]);
        }
        if (n) {
            out = apr_psprintf(p, "%s%s%d %s", out, sep, n, states[k]);
            sep = ", ";
        }
    }
    json_array_foreach(doms, i, dom) {
        expiring += json_is_true(json_object_get(dom, "expiring"));
    }
    return expiring ? apr_psprintf(p, "%s; %d expiring", out, expiring) : out;
}

int am_status_html_page(request_rec *r, const json_t *status)
{
    page_t pg = { r, apr_time_now() };
    const json_t *doms = json_object_get(status, "domains");

    ap_set_content_type(r, "text/html; charset=utf-8");
    if (r->header_only) {
        return OK;
    }
    ap_rprintf(r, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
               "<title>Certificates &ndash; %s</title><style>%s</style></head><body>\n"
               "<header><h1>Certificates of %s</h1><p id=\"summary\">%s &middot; mod_acme %s "
               "&middot; %s</p></header><main>\n",
               esc(r->pool, r->server->server_hostname), PAGE_CSS,
               esc(r->pool, r->server->server_hostname), esc(r->pool, summary(r->pool, doms)),
               ACME_VERSION, when(r->pool, pg.now));
    ap_rputs("<div class=\"legend\">Validity bar:<i style=\"background:#7fb6f0\"></i>elapsed"
             "<i style=\"background:#1d2330\"></i>now<i style=\"background:#1f8a4c\"></i>"
             "renewal<i style=\"background:#f3c27b\"></i>warning window (ACMEWarnWindow)"
             "</div>\n", r);
    domains_table(&pg, doms);
    statics_table(&pg, json_object_get(status, "static_certificates"));
    ap_rputs("</main></body></html>\n", r);
    return OK;
}

void am_status_html_section(request_rec *r, const json_t *status)
{
    page_t pg = { r, apr_time_now() };

    ap_rprintf(r, "<hr>\n<h2>ACME certificates (mod_acme)</h2>\n<p>%s</p>\n",
               esc(r->pool, summary(r->pool, json_object_get(status, "domains"))));
    domains_table(&pg, json_object_get(status, "domains"));
    statics_table(&pg, json_object_get(status, "static_certificates"));
}
