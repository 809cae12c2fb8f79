/* acme_base64.c: base64url (RFC 4648 §5) encoding without padding and strict decoding. */
#include <string.h>
#include <apr_strings.h>
#include "acme_base64.h"

static const char b64u_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Value of one base64url character, or -1 when it is outside the alphabet. */
static int b64u_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

char *acme_b64u_encode(apr_pool_t *p, const void *data, apr_size_t len)
{
    const unsigned char *in = data;
    char *out = apr_palloc(p, (len / 3) * 4 + 5);
    char *o = out;
    apr_size_t i = 0;

    for (; i + 3 <= len; i += 3) {
        unsigned long v = ((unsigned long)in[i] << 16) | ((unsigned long)in[i + 1] << 8) | in[i + 2];
        *o++ = b64u_alphabet[(v >> 18) & 63];
        *o++ = b64u_alphabet[(v >> 12) & 63];
        *o++ = b64u_alphabet[(v >> 6) & 63];
        *o++ = b64u_alphabet[v & 63];
    }
    if (len - i == 1) {
        unsigned long v = (unsigned long)in[i] << 16;
        *o++ = b64u_alphabet[(v >> 18) & 63];
        *o++ = b64u_alphabet[(v >> 12) & 63];
    }
    else if (len - i == 2) {
        unsigned long v = ((unsigned long)in[i] << 16) | ((unsigned long)in[i + 1] << 8);
        *o++ = b64u_alphabet[(v >> 18) & 63];
        *o++ = b64u_alphabet[(v >> 12) & 63];
        *o++ = b64u_alphabet[(v >> 6) & 63];
    }
    *o = '\0';
    return out;
}

apr_status_t acme_b64u_decode(apr_pool_t *p, const char *s, apr_size_t slen,
                              unsigned char **out, apr_size_t *outlen)
{
    apr_size_t rem = slen % 4, i, n = 0;
    unsigned long acc = 0;
    int bits = 0;
    unsigned char *buf;

    if (!s || rem == 1) {
        return APR_EINVAL;
    }
    buf = apr_palloc(p, (slen / 4) * 3 + 3);
    for (i = 0; i < slen; i++) {
        int v = b64u_value((unsigned char)s[i]);
        if (v < 0) {
            return APR_EINVAL;
        }
        acc = ((acc << 6) | (unsigned long)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[n++] = (unsigned char)((acc >> bits) & 0xff);
        }
    }
    /* Leftover bits (2 or 4) must be zero: otherwise two encodings map to one value. */
    if (bits && (acc & ((1UL << bits) - 1))) {
        return APR_EINVAL;
    }
    buf[n] = '\0';
    *out = buf;
    if (outlen) {
        *outlen = n;
    }
    return APR_SUCCESS;
}

int acme_b64u_is_token(const char *s)
{
    if (!s || !*s) {
        return 0;
    }
    for (; *s; s++) {
        if (b64u_value((unsigned char)*s) < 0) {
            return 0;
        }
    }
    return 1;
}
