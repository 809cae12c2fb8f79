/* acme_redis_text.c: the text the Redis engine parses without a connection: redis:// URLs (from the configuration) and INFO replies (from the server). */
#include <string.h>
#include <arpa/inet.h>
#include <apr_strings.h>
#include "acme_redis.h"

#define URL_MAX 2048
#define USER_MAX 256
#define DEFAULT_PORT 6379
#define README_FLEET "README \"Running a fleet\""

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int hex_value(char c)
{
    if (is_digit(c)) return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* A decimal number of 1..maxdigits digits without sign or leading zero, at
 * most max. -1 otherwise. */
static long parse_number(const char *s, apr_size_t len, apr_size_t maxdigits, long max)
{
    long v = 0;
    apr_size_t i;

    if (len == 0 || len > maxdigits || (len > 1 && s[0] == '0')) return -1;
    for (i = 0; i < len; i++) {
        if (!is_digit(s[i])) return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v <= max ? v : -1;
}

/* Percent-decodes one part of the userinfo; raw characters allowed are
 * printable ASCII except the URL's delimiters; decoded control characters
 * are refused (they would end up in an AUTH command). NULL when invalid. */
/* RFC 3986 unreserved: what a URL carries as it is. */
static int is_unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
           || (c && strchr("-._~", c));
}

static char *userinfo_decode(apr_pool_t *p, const char *s, apr_size_t len, int colon_ok)
{
    char *out = apr_palloc(p, len + 1), *o = out;
    apr_size_t i;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            int hi, lo;
            if (i + 2 >= len) return NULL;
            hi = hex_value(s[i + 1]);
            lo = hex_value(s[i + 2]);
            if (hi < 0 || lo < 0) return NULL;
            c = (unsigned char)(hi * 16 + lo);
            if (c < 0x20 || c == 0x7f) return NULL;
            i += 2;
        }
        else if (!(is_unreserved(c) || strchr("!$&'()*+,;=", c) || (c == ':' && colon_ok))) {
            return NULL;    /* RFC 3986 userinfo: anything else is percent-encoded */
        }
        *o++ = (char)c;
    }
    *o = '\0';
    return out;
}

/* A DNS name or dotted IPv4: labels of [A-Za-z0-9-], 1..63 characters, not
 * starting or ending with '-', 253 characters at most. */
static int host_name_ok(const char *s, apr_size_t len)
{
    apr_size_t i, label = 0;

    if (len == 0 || len > 253) return 0;
    for (i = 0; i < len; i++) {
        char c = s[i];
        if (c == '.') {
            if (label == 0 || s[i - 1] == '-') return 0;
            label = 0;
            continue;
        }
        if (!(is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-')) return 0;
        if (label == 0 && c == '-') return 0;
        if (++label > 63) return 0;
    }
    return label > 0 && s[len - 1] != '-';
}

static apr_status_t bad(const char **err, const char *why)
{
    if (err) *err = why;
    return APR_EINVAL;
}

apr_status_t acme_redis_url_parse(apr_pool_t *p, const char *url, acme_redis_url_t *u,
                                  const char **err)
{
    const char *s, *auth, *auth_end, *at, *host, *host_end, *port = NULL;
    apr_size_t n;
    long v;

    memset(u, 0, sizeof(*u));
    u->port = DEFAULT_PORT;
    if (!url) return bad(err, "no URL");
    n = strlen(url);
    if (n > URL_MAX) return bad(err, "URL longer than 2048 characters");
    if (!strncasecmp(url, "redis://", 8)) s = url + 8;
    else if (!strncasecmp(url, "rediss://", 9)) { s = url + 9; u->tls = 1; }
    else return bad(err, "expected redis://[[user]:password@]host[:port][/db]");
    if (strpbrk(s, "?#")) return bad(err, "a query or fragment is not allowed in a redis:// URL");

    auth = s;
    auth_end = strchr(s, '/');
    if (!auth_end) auth_end = s + strlen(s);

    /* userinfo: at most one '@' (a password's '@' is written %40). */
    at = memchr(auth, '@', (apr_size_t)(auth_end - auth));
    if (at) {
        const char *colon = memchr(auth, ':', (apr_size_t)(at - auth));
        if (memchr(at + 1, '@', (apr_size_t)(auth_end - at - 1))) {
            return bad(err, "more than one '@' in the URL (write '@' in a password as %40)");
        }
        if (!colon) {
            return bad(err, "credentials must be user:password@ or :password@");
        }
        if (colon > auth) {
            u->user = userinfo_decode(p, auth, (apr_size_t)(colon - auth), 0);
            if (!u->user) return bad(err, "invalid character or escape in the user name");
            /* bounded, so the URL as shown (user name encoded) stays a valid URL */
            if (strlen(u->user) > USER_MAX) return bad(err, "user name longer than 256 bytes");
        }
        if (colon + 1 == at) return bad(err, "empty password");
        u->password = userinfo_decode(p, colon + 1, (apr_size_t)(at - colon - 1), 1);
        if (!u->password) return bad(err, "invalid character or escape in the password");
        host = at + 1;
    }
    else {
        host = auth;
    }

    if (*host == '[') {
        char addr[64];
        host_end = memchr(host, ']', (apr_size_t)(auth_end - host));
        if (!host_end) return bad(err, "unterminated [IPv6] host");
        n = (apr_size_t)(host_end - host - 1);
        if (n == 0 || n >= sizeof(addr)) return bad(err, "invalid IPv6 address");
        memcpy(addr, host + 1, n);
        addr[n] = '\0';
        {
            struct in6_addr a6;
            if (inet_pton(AF_INET6, addr, &a6) != 1) return bad(err, "invalid IPv6 address");
        }
        u->host = apr_pstrmemdup(p, addr, n);
        host_end++;
        if (host_end < auth_end && *host_end != ':') return bad(err, "garbage after the [IPv6] host");
    }
    else {
        host_end = memchr(host, ':', (apr_size_t)(auth_end - host));
        if (!host_end) host_end = auth_end;
        if (host_end == host) return bad(err, "no host");
        if (!host_name_ok(host, (apr_size_t)(host_end - host))) {
            return bad(err, "invalid host name (letters, digits, '-' and '.'; IPv6 in brackets)");
        }
        u->host = apr_pstrmemdup(p, host, (apr_size_t)(host_end - host));
    }
    if (host_end < auth_end) {      /* ':' port */
        port = host_end + 1;
        v = parse_number(port, (apr_size_t)(auth_end - port), 5, 65535);
        if (v < 1) return bad(err, "invalid port (1..65535)");
        u->port = (apr_port_t)v;
    }

    if (*auth_end == '/' && auth_end[1]) {
        v = parse_number(auth_end + 1, strlen(auth_end + 1), 4, 9999);
        if (v < 0) return bad(err, "invalid database number after '/' (0..9999)");
        u->db = (int)v;
    }
    return APR_SUCCESS;
}

/* A user name as it must be written in a URL (unreserved characters as
 * they are, everything else percent-encoded). */
static const char *user_encode(apr_pool_t *p, const char *s)
{
    char *out = apr_palloc(p, 3 * strlen(s) + 1), *o = out;

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (is_unreserved(c)) {
            *o++ = (char)c;
        }
        else {
            o += apr_snprintf(o, 4, "%%%02X", c);
        }
    }
    *o = '\0';
    return out;
}

const char *acme_redis_url_show(apr_pool_t *p, const acme_redis_url_t *u)
{
    const char *cred = "";

    if (u->password) {
        cred = apr_pstrcat(p, u->user ? user_encode(p, u->user) : "", ":***@", NULL);
    }
    return apr_psprintf(p, "%s://%s%s%s%s:%u/%d", u->tls ? "rediss" : "redis", cred,
                        strchr(u->host, ':') ? "[" : "", u->host,
                        strchr(u->host, ':') ? "]" : "", (unsigned)u->port, u->db);
}

/* A policy name as the server sent it, when it looks like one (it goes to a log). */
static const char *policy_word(apr_pool_t *p, const char *s, apr_size_t len)
{
    apr_size_t i;

    if (len == 0 || len > 32) return "(unreadable)";
    for (i = 0; i < len; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '-')) return "(unreadable)";
    }
    return apr_pstrmemdup(p, s, len);
}

apr_status_t acme_redis_info_warnings(apr_pool_t *p, const char *text, apr_size_t len,
                                      apr_array_header_t *warnings)
{
    const char *s = text, *end = text + len;
    const char *aof = NULL, *policy = NULL;
    apr_size_t aof_len = 0, policy_len = 0;
    int lines = 0;

    while (s < end) {
        const char *nl = memchr(s, '\n', (apr_size_t)(end - s));
        const char *line_end = nl ? nl : end;
        const char *colon;
        apr_size_t n;

        if (line_end > s && line_end[-1] == '\r') line_end--;
        n = (apr_size_t)(line_end - s);
        if (n > 0 && *s != '#') {
            colon = memchr(s, ':', n);
            if (!colon || colon == s) return APR_EINVAL;
            lines++;
            if ((apr_size_t)(colon - s) == 11 && !memcmp(s, "aof_enabled", 11)) {
                aof = colon + 1;
                aof_len = (apr_size_t)(line_end - aof);
            }
            else if ((apr_size_t)(colon - s) == 16 && !memcmp(s, "maxmemory_policy", 16)) {
                policy = colon + 1;
                policy_len = (apr_size_t)(line_end - policy);
            }
        }
        s = nl ? nl + 1 : end;
    }
    if (lines == 0) return APR_EINVAL;

    if (!aof) {
        APR_ARRAY_PUSH(warnings, const char *) =
            "Redis INFO persistence shows no aof_enabled: cannot tell whether AOF is on";
    }
    else if (aof_len != 1 || *aof != '1') {
        APR_ARRAY_PUSH(warnings, const char *) =
            "Redis has AOF off (appendonly no): a Redis restart loses leases, fences, order "
            "progress and published sets written since the last snapshot; set appendonly yes "
            "(" README_FLEET ")";
    }
    if (!policy) {
        APR_ARRAY_PUSH(warnings, const char *) =
            "Redis INFO memory shows no maxmemory_policy: cannot tell whether keys can be evicted";
    }
    else if (policy_len != 10 || memcmp(policy, "noeviction", 10)) {
        APR_ARRAY_PUSH(warnings, const char *) = apr_psprintf(p,
            "Redis maxmemory-policy is %s: under memory pressure Redis may evict mod_acme's "
            "leases, fences and published sets; set maxmemory-policy noeviction (" README_FLEET ")",
            policy_word(p, policy, policy_len));
    }
    return APR_SUCCESS;
}
