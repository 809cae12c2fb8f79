/* mod_acme_redirect.h: ACMERequireHttps: plain HTTP for a managed domain's names redirected to HTTPS, and Strict-Transport-Security for `permanent`. */
#ifndef MOD_ACME_REDIRECT_H
#define MOD_ACME_REDIRECT_H

#include <httpd.h>

/* post_config, after the domains and their certificates are known: marks the
 * vhosts that serve a name of an ACMERequireHttps domain with a certificate. */
int am_redirect_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                              server_rec *s);

/* translate_name, right after the challenge answers (mod_acme.c calls it;
 * the path is normalised then): the redirect (plain HTTP) or the HSTS header
 * (HTTPS, permanent). A vhost that is not marked costs one flag test. */
int am_redirect_translate_name(request_rec *r);

#endif
