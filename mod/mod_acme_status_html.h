/* mod_acme_status_html.h: the status as an HTML page an admin reads at a glance, and the ACME section of mod_status' page. */
#ifndef MOD_ACME_STATUS_HTML_H
#define MOD_ACME_STATUS_HTML_H

#include <httpd.h>
#include <jansson.h>

/* The whole page for the status JSON {"version","domains","static_certificates"}:
 * one row per domain (names, state, validity bar, next renewal, last error with
 * what to do, staged set), then the watched static certificates. Inline CSS,
 * no script, no external asset. */
int am_status_html_page(request_rec *r, const json_t *status);

/* The same rows as a plain table inside mod_status' server-status page. */
void am_status_html_section(request_rec *r, const json_t *status);

#endif
