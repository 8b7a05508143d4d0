/* Debian version syntax and ordering ([epoch:]upstream[-revision]), as dpkg
 * defines them: '~' sorts before everything, even the end of a part;
 * letters sort before other characters; digit runs compare numerically. */
#include "deb.h"

#include <string.h>

#include "err.h"

static int col_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int col_is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* dpkg's parseversion: what it refuses is an error, what it only warns
 * about (and then uses) is COL_DEBVER_WARN with the warning's text. */
int col_debver_check_why(const char *v, size_t n, const char **why)
{
    const char *colon, *hyphen = NULL, *up, *end = v + n, *p;
    unsigned long long epoch = 0;

    *why = NULL;
    if (n == 0 || n >= COL_DEB_MAX_FIELD)
        return (*why = n == 0 ? "version string is empty" : "version string is too long"),
               DA_ERR_VERSION_SYNTAX;
    for (p = v; p < end; p++)
        if (*p == ' ' || *p == '\t' || *p == '\0' || *p == '\n')
            return (*why = "version string has embedded spaces"), DA_ERR_VERSION_SYNTAX;
    colon = memchr(v, ':', n);
    up = v;
    if (colon != NULL) {
        if (colon == v)
            return (*why = "epoch in version is empty"), DA_ERR_VERSION_SYNTAX;
        for (p = v; p < colon; p++) {
            if (!col_is_digit(*p))
                return (*why = "epoch in version is not number"), DA_ERR_VERSION_SYNTAX;
            epoch = epoch * 10 + (unsigned long long)(*p - '0');
            if (epoch > 2147483647ull)
                return (*why = "epoch in version is too big"), DA_ERR_VERSION_SYNTAX;
        }
        if (colon + 1 == end)
            return (*why = "nothing after colon in version number"), DA_ERR_VERSION_SYNTAX;
        up = colon + 1;
    }
    for (p = up; p < end; p++)
        if (*p == '-')
            hyphen = p;
    if (hyphen != NULL && hyphen + 1 == end)
        return (*why = "revision number is empty"), DA_ERR_VERSION_SYNTAX;
    if (up == (hyphen != NULL ? hyphen : end))
        return (*why = "version number is empty"), DA_ERR_VERSION_SYNTAX;
    if (!col_is_digit(up[0]))
        return (*why = "version number does not start with digit"), COL_DEBVER_WARN;
    for (p = up; p < (hyphen != NULL ? hyphen : end); p++)
        if (!col_is_digit(*p) && !col_is_alpha(*p) && strchr(".-+~:", *p) == NULL)
            return (*why = "invalid character in version number"), COL_DEBVER_WARN;
    for (p = hyphen != NULL ? hyphen + 1 : end; p < end; p++)
        if (!col_is_digit(*p) && !col_is_alpha(*p) && strchr(".+~", *p) == NULL)
            return (*why = "invalid character in revision number"), COL_DEBVER_WARN;
    return 0;
}

int col_debver_check(const char *v, size_t n)
{
    const char *why;

    return col_debver_check_why(v, n, &why);
}

/* Weight of one character in a non-digit run; 0 is the end of the run. */
static int col_debver_order(char c)
{
    if (c == '\0' || col_is_digit(c))
        return 0;
    if (col_is_alpha(c))
        return (unsigned char)c;
    if (c == '~')
        return -1;
    return (unsigned char)c + 256;
}

/* Compare two parts [a, ae) and [b, be). */
static int col_debver_part_cmp(const char *a, const char *ae, const char *b, const char *be)
{
    while (a < ae || b < be) {
        int first_diff = 0;

        while ((a < ae && !col_is_digit(*a)) || (b < be && !col_is_digit(*b))) {
            int ac = a < ae ? col_debver_order(*a) : 0;
            int bc = b < be ? col_debver_order(*b) : 0;

            if (ac != bc)
                return ac - bc;
            a++;
            b++;
        }
        while (a < ae && *a == '0')
            a++;
        while (b < be && *b == '0')
            b++;
        while (a < ae && b < be && col_is_digit(*a) && col_is_digit(*b)) {
            if (first_diff == 0)
                first_diff = *a - *b;
            a++;
            b++;
        }
        if (a < ae && col_is_digit(*a))
            return 1;
        if (b < be && col_is_digit(*b))
            return -1;
        if (first_diff != 0)
            return first_diff;
    }
    return 0;
}

struct col_debver_parts {
    unsigned long epoch;
    const char *up, *up_end, *rev, *rev_end;
};

static void col_debver_split(const char *v, struct col_debver_parts *p)
{
    const char *colon = strchr(v, ':');
    const char *end = v + strlen(v);
    const char *hyphen = strrchr(v, '-');

    p->epoch = 0;
    p->up = v;
    if (colon != NULL) {
        const char *d;

        for (d = v; d < colon; d++)
            p->epoch = p->epoch * 10 + (unsigned long)(*d - '0');
        p->up = colon + 1;
    }
    if (hyphen != NULL && hyphen >= p->up) {
        p->up_end = hyphen;
        p->rev = hyphen + 1;
    } else {
        p->up_end = end;
        p->rev = end;
    }
    p->rev_end = end;
}

int col_debver_cmp(const char *a, const char *b)
{
    struct col_debver_parts pa, pb;
    int r;

    col_debver_split(a, &pa);
    col_debver_split(b, &pb);
    if (pa.epoch != pb.epoch)
        return pa.epoch < pb.epoch ? -1 : 1;
    r = col_debver_part_cmp(pa.up, pa.up_end, pb.up, pb.up_end);
    if (r != 0)
        return r;
    return col_debver_part_cmp(pa.rev, pa.rev_end, pb.rev, pb.rev_end);
}
