/* acme_fleet.c: the checks and helpers every fleet engine shares (names, lease time). */
#include <string.h>
#include "acme_fleet.h"

apr_interval_time_t acme_lease_left(const acme_lease_t *lease, apr_time_t now)
{
    return lease && lease->expires > now ? lease->expires - now : 0;
}

/* Printable ASCII without space; braces only when allowed (they would make
 * a Redis Cluster hash tag of the wrong part of a key). */
static int chars_ok(const char *s, apr_size_t max, int braces)
{
    apr_size_t n = 0;

    if (!s || !*s) return 0;
    for (; *s; s++, n++) {
        unsigned char c = (unsigned char)*s;
        if (n >= max || c <= 0x20 || c >= 0x7f) return 0;
        if (!braces && (c == '{' || c == '}')) return 0;
    }
    return 1;
}

int acme_fleet_scope_ok(const char *scope)
{
    return scope && scope[0] >= 'a' && scope[0] <= 'z' && scope[1] == ':'
           && chars_ok(scope + 2, 250, 0);
}

int acme_fleet_name_ok(const char *name)
{
    return chars_ok(name, 255, 1);
}
