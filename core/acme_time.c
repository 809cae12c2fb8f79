/* acme_time.c: RFC 3339 timestamps, durations with s/m/h/d suffixes and HTTP Retry-After values. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <apr_date.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "acme_time.h"

#define RETRY_AFTER_CAP apr_time_from_sec(24 * 3600)

const char *acme_time_rfc3339(apr_pool_t *p, apr_time_t t)
{
    apr_time_exp_t tm;

    if (apr_time_exp_gmt(&tm, t) != APR_SUCCESS) {
        return NULL;
    }
    return apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Exactly n decimal digits at *s; advances *s. */
static int take_digits(const char **s, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (!apr_isdigit((*s)[i])) {
            return 0;
        }
        v = v * 10 + ((*s)[i] - '0');
    }
    *s += n;
    *out = v;
    return 1;
}

static int take_char(const char **s, char c)
{
    if (**s != c) {
        return 0;
    }
    (*s)++;
    return 1;
}

static int days_in_month(int year, int mon /* 1..12 */)
{
    static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

    return days[mon - 1] + (mon == 2 && leap);
}

/* Offset "Z", "+hh:mm" or "-hh:mm" in seconds east of UTC. */
static int take_offset(const char **s, int *offset)
{
    int sign, hh, mm;

    if (**s == 'Z' || **s == 'z') {
        (*s)++;
        *offset = 0;
        return 1;
    }
    if (**s != '+' && **s != '-') {
        return 0;
    }
    sign = (**s == '-') ? -1 : 1;
    (*s)++;
    if (!take_digits(s, 2, &hh) || !take_char(s, ':') || !take_digits(s, 2, &mm)
        || hh > 23 || mm > 59) {
        return 0;
    }
    *offset = sign * (hh * 3600 + mm * 60);
    return 1;
}

/* Fraction ".d+" as microseconds (digits past the sixth are checked but dropped). */
static int take_fraction(const char **s, apr_time_t *usec)
{
    apr_time_t v = 0;
    int n = 0;

    *usec = 0;
    if (**s != '.') {
        return 1;
    }
    (*s)++;
    while (apr_isdigit(**s)) {
        if (n < 6) {
            v = v * 10 + (**s - '0');
        }
        n++;
        (*s)++;
    }
    if (n == 0 || n > 18) {
        return 0;
    }
    for (int i = n; i < 6; i++) {
        v *= 10;
    }
    *usec = v;
    return 1;
}

apr_status_t acme_time_parse_rfc3339(const char *s, apr_time_t *t)
{
    apr_time_exp_t tm;
    apr_time_t base, frac;
    int year, mon, day, hh, mi, ss, offset;

    if (s == NULL || t == NULL) {
        return APR_EINVAL;
    }
    if (!take_digits(&s, 4, &year) || !take_char(&s, '-') || !take_digits(&s, 2, &mon)
        || !take_char(&s, '-') || !take_digits(&s, 2, &day)
        || !(take_char(&s, 'T') || take_char(&s, 't'))
        || !take_digits(&s, 2, &hh) || !take_char(&s, ':') || !take_digits(&s, 2, &mi)
        || !take_char(&s, ':') || !take_digits(&s, 2, &ss)
        || !take_fraction(&s, &frac) || !take_offset(&s, &offset) || *s != '\0') {
        return APR_EINVAL;
    }
    /* apr_time_t counts from 1970; a leap second (ss == 60) rolls into the next minute. */
    if (year < 1970 || mon < 1 || mon > 12 || day < 1 || day > days_in_month(year, mon)
        || hh > 23 || mi > 59 || ss > 60) {
        return APR_EINVAL;
    }
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = day;
    tm.tm_hour = hh;
    tm.tm_min = mi;
    tm.tm_sec = ss;
    if (apr_time_exp_gmt_get(&base, &tm) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    *t = base + frac - apr_time_from_sec(offset);
    return APR_SUCCESS;
}

/* Unsigned decimal of at most 18 digits (no overflow of int64); advances *s. */
static int take_number(const char **s, int64_t *out)
{
    int64_t v = 0;
    int n = 0;

    while (apr_isdigit(**s)) {
        if (++n > 18) {
            return 0;
        }
        v = v * 10 + (**s - '0');
        (*s)++;
    }
    *out = v;
    return n > 0;
}

apr_status_t acme_duration_parse(const char *s, apr_interval_time_t *out)
{
    int64_t n, mult = 1;

    if (s == NULL || out == NULL || !take_number(&s, &n)) {
        return APR_EINVAL;
    }
    switch (*s) {
    case '\0': break;
    case 's': mult = 1; s++; break;
    case 'm': mult = 60; s++; break;
    case 'h': mult = 3600; s++; break;
    case 'd': mult = 86400; s++; break;
    default: return APR_EINVAL;
    }
    if (*s != '\0' || n <= 0 || n > INT64_MAX / APR_USEC_PER_SEC / mult) {
        return APR_EINVAL;
    }
    *out = apr_time_from_sec(n * mult);
    return APR_SUCCESS;
}

/* An HTTP-date (RFC 7231: IMF-fixdate, RFC 850 or asctime) as a delay from now. */
static apr_status_t parse_http_date(const char *s, apr_size_t len, apr_time_t now,
                                    apr_interval_time_t *out)
{
    char buf[64];
    apr_time_t when;

    if (len >= sizeof(buf)) {
        return APR_EINVAL;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    when = apr_date_parse_http(buf);
    if (when == APR_DATE_BAD) {
        return APR_EINVAL;
    }
    if (when <= now) {
        *out = 0;
    }
    else {
        *out = (when - now > RETRY_AFTER_CAP) ? RETRY_AFTER_CAP : when - now;
    }
    return APR_SUCCESS;
}

apr_status_t acme_retry_after_parse(const char *s, apr_time_t now, apr_interval_time_t *out)
{
    const char *end;

    if (s == NULL || out == NULL) {
        return APR_EINVAL;
    }
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t')) {
        end--;
    }
    if (end == s) {
        return APR_EINVAL;
    }
    if (apr_isdigit(*s)) {
        const char *q = s;
        apr_int64_t secs = 0;

        while (q < end && apr_isdigit(*q)) {
            /* Saturate instead of overflowing: anything this long is past the cap. */
            secs = (secs > 86400) ? secs : secs * 10 + (*q - '0');
            q++;
        }
        if (q == end) {
            *out = (secs >= 86400) ? RETRY_AFTER_CAP : apr_time_from_sec(secs);
            return APR_SUCCESS;
        }
    }
    return parse_http_date(s, (apr_size_t)(end - s), now, out);
}
