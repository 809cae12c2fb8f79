/* mod_acme_serve.h: which certificate each managed vhost serves and its hand-over to mod_ssl. */
#ifndef MOD_ACME_SERVE_H
#define MOD_ACME_SERVE_H

#include <httpd.h>
#include "mod_acme_config.h"

/* At each config pass: each domain's active pairs, else its fallback
 * certificate (made when missing); each vhost's domain, acme-tls/1 on those
 * that allow tls-alpn-01. */
void am_serve_prepare(am_runtime_t *rt, server_rec *base, apr_pool_t *pconf, apr_pool_t *ptemp);

/* The managed domain that serves name (a wildcard covers one more label), or NULL. */
am_mdomain_t *am_serve_domain_of(const am_runtime_t *rt, const char *name, apr_pool_t *p);

int am_serve_add_cert_files(server_rec *s, apr_pool_t *p, apr_array_header_t *cert_files,
                              apr_array_header_t *key_files);
/* ssl_add_cert_files, REALLY_LAST: the temporary self-signed certificate for a
 * managed vhost that got none (mod_ssl then logs no AH10085 for it). */
int am_serve_add_fallback_last(server_rec *s, apr_pool_t *p, apr_array_header_t *cert_files,
                                 apr_array_header_t *key_files);

/* 503 for requests on a vhost still on the fallback certificate. */
int am_serve_unavailable(request_rec *r);

#endif
