/* mod_acme.c: the mod_acme module definition and its hook registration. */
#include <httpd.h>
#include <http_config.h>
#include <http_protocol.h>
#include <http_request.h>
#include <http_ssl.h>
#include <mpm_common.h>
#include <mod_status.h>
#include <apr_optional.h>
#include <apr_strings.h>

#include "mod_acme_activate.h"
#include "mod_acme_challenge.h"
#include "mod_acme_config.h"
#include "mod_acme_metrics.h"
#include "mod_acme_redirect.h"
#include "mod_acme_serve.h"
#include "mod_acme_startup.h"
#include "mod_acme_status.h"
#include "mod_acme_watchdog.h"

/* One hook per phase for the request path: every request that is no
 * challenge and not on an ACMERequireHttps vhost pays one call and two tests.
 * The challenge answers first (on the normalised path), then the redirect,
 * before any other module's translate_name. */
static int acme_translate_name(request_rec *r)
{
    int rc = am_challenge_translate_name(r);

    return rc != DECLINED ? rc : am_redirect_translate_name(r);
}

/* SetHandler acme-status and acme-metrics: one look at the handler's name. */
static int acme_handler(request_rec *r)
{
    if (!r->handler || strncmp(r->handler, "acme-", 5)) {
        return DECLINED;
    }
    return r->handler[5] == 'm' ? am_metrics_handler(r) : am_status_handler(r);
}

static void acme_register_hooks(apr_pool_t *p)
{
    static const char *const before_ssl[] = { "mod_ssl.c", NULL };

    ap_hook_check_config(am_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    /* before mod_ssl asks for certificates; the report after it has */
    ap_hook_post_config(am_startup_post_config, NULL, before_ssl, APR_HOOK_MIDDLE);
    ap_hook_post_config(am_startup_report, NULL, NULL, APR_HOOK_REALLY_LAST);
    ap_hook_post_config(am_redirect_post_config, NULL, NULL, APR_HOOK_LAST);
    ap_hook_ssl_add_cert_files(am_serve_add_cert_files, NULL, NULL, APR_HOOK_MIDDLE);
    /* the temporary certificate only when no module (nor SSLCertificateFile) gave one */
    ap_hook_ssl_add_cert_files(am_serve_add_fallback_last, NULL, NULL, APR_HOOK_REALLY_LAST);
    ap_hook_ssl_answer_challenge(am_challenge_answer_tls_alpn, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_protocol_propose(am_challenge_protocol_propose, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_protocol_switch(am_challenge_protocol_switch, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_protocol_get(am_challenge_protocol_get, NULL, NULL, APR_HOOK_MIDDLE);
    /* challenge answers before redirects, access control and rewrites */
    ap_hook_post_read_request(am_challenge_post_read_request, NULL, NULL, APR_HOOK_REALLY_FIRST);
    /* ... and every other spelling of their path, once httpd normalised it;
     * then ACMERequireHttps */
    ap_hook_translate_name(acme_translate_name, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_handler(acme_handler, NULL, NULL, APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ap, status_hook, am_status_hook, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_monitor(am_activate_monitor, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(am_activate_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(am_watchdog_child_init, NULL, NULL, APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(acme) = {
    STANDARD20_MODULE_STUFF,
    NULL,
    NULL,
    am_create_server_config,
    NULL,
    am_cmds,
    acme_register_hooks
};
