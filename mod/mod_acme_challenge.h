/* mod_acme_challenge.h: answering http-01 (early request hook) and tls-alpn-01 (ALPN and mod_ssl's challenge hook). */
#ifndef MOD_ACME_CHALLENGE_H
#define MOD_ACME_CHALLENGE_H

#include <httpd.h>

#define AM_HTTP01_PREFIX "/.well-known/acme-challenge/"
#define AM_TLS_ALPN_PROTO "acme-tls/1"
#define AM_TOKEN_MAX 256

/* post_read_request, APR_HOOK_REALLY_FIRST: http-01 answers, then the fallback 503. */
int am_challenge_post_read_request(request_rec *r);
/* translate_name (REALLY_FIRST): the other spellings of the same path. */
int am_challenge_translate_name(request_rec *r);

int am_challenge_protocol_propose(conn_rec *c, request_rec *r, server_rec *s,
                                    const apr_array_header_t *offers,
                                    apr_array_header_t *proposals);
int am_challenge_protocol_switch(conn_rec *c, request_rec *r, server_rec *s,
                                   const char *protocol);
const char *am_challenge_protocol_get(const conn_rec *c);
int am_challenge_answer_tls_alpn(conn_rec *c, const char *server_name,
                                   const char **pcert_pem, const char **pkey_pem);

/* The identifier behind a TLS SNI value: reverse-DNS names of RFC 8738 become
 * IP literals; NULL when it is not a valid identifier. */
const char *am_challenge_sni_identifier(apr_pool_t *p, const char *sni);

#endif
