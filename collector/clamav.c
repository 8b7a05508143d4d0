/* ClamAV signature database headers (see clamav.h). */
#include "clamav.h"

#include <string.h>

#include "err.h"

#define COL_CVD_MAGIC  "ClamAV-VDB:"
#define COL_CVD_FIELDS 9

static int col_cvd_number(const char *p, size_t n, size_t max_digits, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (n == 0 || n > max_digits)
        return DA_ERR_COLLECT_PARSE;
    for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return DA_ERR_COLLECT_PARSE;
        v = v * 10 + (uint64_t)(p[i] - '0');
    }
    *out = v;
    return 0;
}

int col_cvd_header_parse(const char *p, size_t n, struct col_cvd *out)
{
    const char *field[COL_CVD_FIELDS + 1];
    size_t len[COL_CVD_FIELDS], i, k = 0, end;
    uint64_t version, built;

    memset(out, 0, sizeof(*out));
    if (n > COL_CVD_HEADER)
        n = COL_CVD_HEADER;
    if (n < sizeof(COL_CVD_MAGIC) - 1 || memcmp(p, COL_CVD_MAGIC, sizeof(COL_CVD_MAGIC) - 1) != 0)
        return DA_ERR_COLLECT_PARSE;
    for (end = n; end > 0 && p[end - 1] == ' '; end--)
        ; /* the padding */
    field[0] = p;
    for (i = 0; i < end; i++) {
        unsigned char c = (unsigned char)p[i];

        if (c < 0x20 || c > 0x7e)
            return DA_ERR_COLLECT_PARSE;
        if (c != ':')
            continue;
        if (k + 1 >= COL_CVD_FIELDS)
            return DA_ERR_COLLECT_PARSE;
        len[k] = (size_t)(p + i - field[k]);
        field[++k] = p + i + 1;
    }
    if (k + 1 != COL_CVD_FIELDS)
        return DA_ERR_COLLECT_PARSE;
    len[k] = (size_t)(p + end - field[k]);
    if (col_cvd_number(field[2], len[2], 10, &version) != 0 ||
        col_cvd_number(field[8], len[8], 12, &built) != 0 || built == 0)
        return DA_ERR_COLLECT_PARSE;
    out->version = version;
    out->built = (int64_t)built;
    return 0;
}
