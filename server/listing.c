#include "listing.h"

#include <stdio.h>
#include <string.h>

#include "err.h"

/* Exactly n decimal digits at s. */
static bool digits(const char *s, size_t n, int *out)
{
    size_t i;
    int v = 0;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar. */
static int64_t days_from_civil(int y, int m, int d)
{
    static const int before[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    int64_t days = 0;
    int i;

    for (i = 1970; i < y; i++)
        days += leap(i) ? 366 : 365;
    for (i = y; i < 1970; i++)
        days -= leap(i) ? 366 : 365;
    days += before[m - 1] + (m > 2 && leap(y) ? 1 : 0) + d - 1;
    return days;
}

int srv_time_parse_rfc3339(const char *t, int64_t *out)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, s, oh = 0, om = 0, sign = 0;
    size_t n = strlen(t), i = 19;

    *out = 0;
    if (n < 20 || !digits(t, 4, &y) || t[4] != '-' || !digits(t + 5, 2, &mo) || t[7] != '-' ||
        !digits(t + 8, 2, &d) || (t[10] != 'T' && t[10] != 't') || !digits(t + 11, 2, &h) ||
        t[13] != ':' || !digits(t + 14, 2, &mi) || t[16] != ':' || !digits(t + 17, 2, &s))
        return DA_ERR_TIME_FORMAT;
    if (t[i] == '.') {
        size_t f = ++i;

        while (i < n && t[i] >= '0' && t[i] <= '9' && i - f < 9)
            i++;
        if (i == f)
            return DA_ERR_TIME_FORMAT;
    }
    if ((t[i] == 'Z' || t[i] == 'z') && i + 1 == n) {
        sign = 0;
    } else if ((t[i] == '+' || t[i] == '-') && i + 6 == n && digits(t + i + 1, 2, &oh) &&
               t[i + 3] == ':' && digits(t + i + 4, 2, &om)) {
        sign = t[i] == '+' ? 1 : -1;
    } else {
        return DA_ERR_TIME_FORMAT;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap(y) ? 1 : 0) || h > 23 ||
        mi > 59 || s > 60 || oh > 23 || om > 59)
        return DA_ERR_TIME_FORMAT;
    *out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s -
           sign * (int64_t)(oh * 3600 + om * 60);
    return 0;
}

int srv_cursor_parse(const char *text, bool with_id, int64_t *n, char *id, size_t idsize)
{
    const char *p = text;
    uint64_t v = 0;
    size_t k;

    *n = 0;
    if (with_id && idsize > 0)
        id[0] = '\0';
    if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] >= '0' && p[1] <= '9'))
        return DA_ERR_HTTP_CURSOR;
    for (k = 0; *p >= '0' && *p <= '9'; p++, k++) {
        if (k == 18 && v > (uint64_t)(INT64_MAX - (*p - '0')) / 10)
            return DA_ERR_HTTP_CURSOR;
        if (k > 18)
            return DA_ERR_HTTP_CURSOR;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (!with_id) {
        if (*p != '\0')
            return DA_ERR_HTTP_CURSOR;
        *n = (int64_t)v;
        return 0;
    }
    if (*p++ != '.' || idsize == 0 || idsize > 80)
        return DA_ERR_HTTP_CURSOR;
    for (k = 0; p[k] != '\0'; k++) {
        char c = p[k];

        if (k + 1 >= idsize || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                 (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return DA_ERR_HTTP_CURSOR;
    }
    if (k == 0)
        return DA_ERR_HTTP_CURSOR;
    memcpy(id, p, k + 1);
    *n = (int64_t)v;
    return 0;
}

void srv_cursor_format(int64_t n, const char *id, char out[SRV_CURSOR_SIZE])
{
    if (id != NULL)
        snprintf(out, SRV_CURSOR_SIZE, "%lld.%s", (long long)n, id);
    else
        snprintf(out, SRV_CURSOR_SIZE, "%lld", (long long)n);
}
