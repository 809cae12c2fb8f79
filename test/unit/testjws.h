/* testjws.h: JWS verification for the tests (mod_acme signs JWS but never verifies one, so the verifier lives here, not in the core). */
#ifndef ACME_TESTJWS_H
#define ACME_TESTJWS_H

#include <jansson.h>
#include "acme_key.h"

/* Verify a flattened JWS in the ACME profile. When key is NULL the protected
 * header's "jwk" is used. HS* needs hkey. On success *payload (decoded,
 * NUL-terminated) and *protected_hdr (parsed header) are set. Fails
 * (APR_EINVAL) on alg "none" or any alg outside the profile, a key that does
 * not fit alg, both "jwk" and "kid", a missing or mismatching signature, or
 * malformed members. */
apr_status_t tu_jws_verify(apr_pool_t *p, const json_t *jws, const acme_key_t *key,
                           const unsigned char *hkey, apr_size_t hkeylen,
                           const char **payload, apr_size_t *payload_len,
                           json_t **protected_hdr);

#endif
