/* mod_acme_serve.h: startup of the module in the parent and the hand-over of certificates to mod_ssl. */
#ifndef MOD_ACME_SERVE_H
#define MOD_ACME_SERVE_H

#include <httpd.h>
#include "mod_acme_config.h"

/* post_config before mod_ssl: domains, store, activation, fallback material,
 * vhost assignment, acme-tls/1, the watcher and the watchdog. */
int acme_serve_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s);
/* post_config after mod_ssl: reports names no SSL vhost serves and partly covered vhosts. */
int acme_serve_report(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s);

int acme_serve_add_cert_files(server_rec *s, apr_pool_t *p, apr_array_header_t *cert_files,
                              apr_array_header_t *key_files);
/* ssl_add_cert_files, REALLY_LAST: the temporary self-signed certificate for a
 * managed vhost that got none (mod_ssl then logs no AH10085 for it). */
int acme_serve_add_fallback_last(server_rec *s, apr_pool_t *p, apr_array_header_t *cert_files,
                                 apr_array_header_t *key_files);

/* 503 for requests on a vhost still on the fallback certificate. */
int acme_serve_unavailable(request_rec *r);

#endif
