/* acme_base64.h: base64url (RFC 4648 §5) without padding, with strict decoding. */
#ifndef ACME_BASE64_H
#define ACME_BASE64_H

#include <apr_pools.h>

/* Encode len bytes; result is NUL-terminated, allocated from p. */
char *acme_b64u_encode(apr_pool_t *p, const void *data, apr_size_t len);

/* Strict decode of slen characters: rejects '=' padding, characters outside
 * [A-Za-z0-9_-], a length of 1 mod 4 and non-zero trailing bits.
 * *out is NUL-terminated (not counted in *outlen). APR_EINVAL on bad input. */
apr_status_t acme_b64u_decode(apr_pool_t *p, const char *s, apr_size_t slen,
                              unsigned char **out, apr_size_t *outlen);

/* True when s (NUL-terminated) is non-empty and only holds base64url characters. */
int acme_b64u_is_token(const char *s);

#endif
