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

int col_debver_check(const char *v, size_t n)
{
    const char *colon, *hyphen = NULL, *up;
    size_t i, up_len;

    if (n == 0 || n >= COL_DEB_MAX_FIELD)
        return DA_ERR_VERSION_SYNTAX;
    colon = memchr(v, ':', n);
    up = v;
    if (colon != NULL) {
        if (colon == v || colon - v > 9)
            return DA_ERR_VERSION_SYNTAX;
        for (i = 0; i < (size_t)(colon - v); i++)
            if (!col_is_digit(v[i]))
                return DA_ERR_VERSION_SYNTAX;
        up = colon + 1;
    }
    for (i = (size_t)(up - v); i < n; i++)
        if (v[i] == '-')
            hyphen = v + i;
    up_len = (size_t)((hyphen != NULL ? hyphen : v + n) - up);
    if (up_len == 0 || !col_is_digit(up[0]))
        return DA_ERR_VERSION_SYNTAX;
    for (i = 0; i < up_len; i++) {
        char c = up[i];

        if (!col_is_digit(c) && !col_is_alpha(c) && strchr(".+~-:", c) == NULL)
            return DA_ERR_VERSION_SYNTAX;
        if (c == ':' && colon == NULL)
            return DA_ERR_VERSION_SYNTAX;
        if (c == ':')
            return DA_ERR_VERSION_SYNTAX; /* only one epoch separator */
    }
    if (hyphen != NULL) {
        const char *rev = hyphen + 1;
        size_t rlen = (size_t)(v + n - rev);

        if (rlen == 0)
            return DA_ERR_VERSION_SYNTAX;
        for (i = 0; i < rlen; i++)
            if (!col_is_digit(rev[i]) && !col_is_alpha(rev[i]) && strchr(".+~", rev[i]) == NULL)
                return DA_ERR_VERSION_SYNTAX;
    }
    return 0;
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
