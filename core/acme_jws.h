/* acme_jws.h: JWK export, RFC 7638 thumbprints and JWS in the ACME profile (RFC 7515/8555). */
#ifndef ACME_JWS_H
#define ACME_JWS_H

#include <apr_pools.h>
#include <jansson.h>
#include "acme_key.h"

/* Public JWK of key: {"kty":"EC","crv","x","y"} or {"kty":"RSA","e","n"}; owned by p. */
apr_status_t acme_jwk_public(apr_pool_t *p, const acme_key_t *key, json_t **jwk);
/* RFC 7638 SHA-256 thumbprint, base64url. */
apr_status_t acme_jwk_thumbprint(apr_pool_t *p, const acme_key_t *key, const char **b64);
/* Same, for a JWK given as JSON (public members only are used). */
apr_status_t acme_jwk_thumbprint_json(apr_pool_t *p, const json_t *jwk, const char **b64);
/* A public key from a JWK (RSA, EC P-256/P-384): the JWK parser of
 * acme_jwk_to_private_key without the private members. */
apr_status_t acme_jwk_to_key(apr_pool_t *p, const json_t *jwk, acme_key_t **key);
/* A private key from a private JWK (RSA with d, p, q, dp, dq, qi; EC P-256/P-384
 * with d), checked for consistency; APR_ENOTIMPL for types outside the key
 * list (e.g. RSA 1024), APR_EINVAL for anything malformed. */
apr_status_t acme_jwk_to_private_key(apr_pool_t *p, const json_t *jwk, acme_key_t **key);

/* "RS256" for RSA, "ES256" for P-256, "ES384" for P-384. */
const char *acme_jws_alg(const acme_key_t *key);

/* Raw JWS signature over signing_input (ASCII "b64(protected).b64(payload)"):
 * RSASSA-PKCS1-v1_5 SHA-256, or ECDSA as fixed-length R||S (RFC 7518 §3.4). */
apr_status_t acme_jws_signature(apr_pool_t *p, const acme_key_t *key,
                                const char *signing_input, apr_size_t len,
                                unsigned char **sig, apr_size_t *siglen);
/* HMAC for "HS256", "HS384", "HS512". APR_EINVAL for another alg. */
apr_status_t acme_jws_hmac(apr_pool_t *p, const char *alg,
                           const unsigned char *hkey, apr_size_t hkeylen,
                           const char *signing_input, apr_size_t len,
                           unsigned char **mac, apr_size_t *maclen);

/* Flattened JSON serialization {"protected","payload","signature"}.
 * Protected header: alg, then nonce (omitted when NULL, for keyChange's inner
 * JWS), url, and kid when kid != NULL else jwk. payload NULL means
 * POST-as-GET (empty payload ""). Result owned by p. */
apr_status_t acme_jws_sign(apr_pool_t *p, const acme_key_t *key, const char *kid,
                           const char *nonce, const char *url, const char *payload,
                           json_t **jws);
/* The same JWS as compact JSON text, the body of an ACME POST: exactly what
 * acme_json_dump(p, jws, 0) gives for acme_jws_sign's object, without the
 * object and the dump. */
apr_status_t acme_jws_sign_text(apr_pool_t *p, const acme_key_t *key, const char *kid,
                                const char *nonce, const char *url, const char *payload,
                                const char **text);

/* External Account Binding JWS (RFC 8555 §7.3.4): HS* over the account JWK
 * with protected {alg, kid, url}. hkey is the decoded MAC key. */
apr_status_t acme_jws_eab(apr_pool_t *p, const char *alg, const char *kid,
                          const unsigned char *hkey, apr_size_t hkeylen,
                          const char *url, const json_t *account_jwk, json_t **jws);

/* Key authorization "token.thumbprint" (RFC 8555 §8.1); token must be base64url. */
apr_status_t acme_key_authorization(apr_pool_t *p, const char *token,
                                    const acme_key_t *account_key, const char **keyauth);
/* dns-01 TXT value: base64url(SHA-256(keyauth)). */
const char *acme_dns01_value(apr_pool_t *p, const char *keyauth);

#endif
