/* ustar writer and reader (tar.h). */
#include "tar.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

/* Header field offsets and sizes (POSIX.1-1988 ustar). */
#define H_NAME         0
#define H_MODE         100
#define H_UID          108
#define H_GID          116
#define H_SIZE         124
#define H_MTIME        136
#define H_CHKSUM       148
#define H_TYPE         156
#define H_LINKNAME     157
#define H_MAGIC        257
#define H_VERSION      263
#define H_PREFIX       345
#define SIZE_FIELD     12
#define SIZE_MAX_OCTAL 077777777777ULL /* 11 octal digits */

static bool name_ok(const char *name, size_t n)
{
    const char *p;

    if (n == 0 || n > DA_TAR_NAME_MAX || name[0] == '/')
        return false;
    for (p = name; p < name + n; p++) {
        if (*p == '\0' || (unsigned char)*p < 0x20 || *p == '\\')
            return false;
    }
    /* no ".." component */
    for (p = name; p < name + n;) {
        const char *e = memchr(p, '/', (size_t)(name + n - p));
        size_t len = e != NULL ? (size_t)(e - p) : (size_t)(name + n - p);

        if (len == 0 || (len == 2 && p[0] == '.' && p[1] == '.') || (len == 1 && p[0] == '.'))
            return false;
        p += len + 1;
    }
    return true;
}

static unsigned checksum(const unsigned char *h)
{
    unsigned sum = 0;
    size_t i;

    for (i = 0; i < DA_TAR_BLOCK; i++)
        sum += (i >= H_CHKSUM && i < H_CHKSUM + 8) ? ' ' : h[i];
    return sum;
}

static void octal(unsigned char *field, size_t size, unsigned long long v)
{
    char tmp[24];

    snprintf(tmp, sizeof(tmp), "%0*llo", (int)(size - 1), v);
    memcpy(field, tmp, size - 1);
    field[size - 1] = '\0';
}

int da_tar_add(struct da_buf *out, const char *name, const void *data, size_t len, int64_t mtime)
{
    unsigned char h[DA_TAR_BLOCK];
    static const unsigned char zeros[DA_TAR_BLOCK];
    size_t n = strlen(name);
    int rc;

    if (!name_ok(name, n) || (unsigned long long)len > SIZE_MAX_OCTAL || mtime < 0)
        return DA_ERR_INVALID_ARG;
    memset(h, 0, sizeof(h));
    memcpy(h + H_NAME, name, n);
    octal(h + H_MODE, 8, 0644);
    octal(h + H_UID, 8, 0);
    octal(h + H_GID, 8, 0);
    octal(h + H_SIZE, SIZE_FIELD, len);
    octal(h + H_MTIME, 12, (unsigned long long)mtime);
    h[H_TYPE] = '0';
    memcpy(h + H_MAGIC, "ustar", 6);
    memcpy(h + H_VERSION, "00", 2);
    octal(h + H_CHKSUM, 7, checksum(h));
    h[H_CHKSUM + 7] = ' ';
    rc = da_buf_append(out, h, sizeof(h));
    if (rc == 0 && len > 0)
        rc = da_buf_append(out, data, len);
    if (rc == 0 && len % DA_TAR_BLOCK != 0)
        rc = da_buf_append(out, zeros, DA_TAR_BLOCK - len % DA_TAR_BLOCK);
    return rc;
}

int da_tar_finish(struct da_buf *out)
{
    static const unsigned char zeros[2 * DA_TAR_BLOCK];

    return da_buf_append(out, zeros, sizeof(zeros));
}

/* An octal field: optional leading spaces, digits, then NUL or space to
 * the end of the field. */
static int parse_octal(const unsigned char *f, size_t size, unsigned long long *out)
{
    unsigned long long v = 0;
    size_t i = 0;
    bool digits = false;

    while (i < size && f[i] == ' ')
        i++;
    for (; i < size && f[i] >= '0' && f[i] <= '7'; i++) {
        if (v > (SIZE_MAX_OCTAL >> 3))
            return DA_ERR_PACK_INVALID;
        v = v * 8 + (unsigned)(f[i] - '0');
        digits = true;
    }
    for (; i < size; i++) {
        if (f[i] != '\0' && f[i] != ' ')
            return DA_ERR_PACK_INVALID;
    }
    if (!digits)
        return DA_ERR_PACK_INVALID;
    *out = v;
    return 0;
}

static bool all_zero(const unsigned char *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (p[i] != 0)
            return false;
    }
    return true;
}

struct member_list {
    struct da_tar_member *m;
    size_t n;
};

static int header_parse(const unsigned char *h, struct da_tar_member *m)
{
    unsigned long long sum, size, mtime;
    size_t n;

    if (parse_octal(h + H_CHKSUM, 8, &sum) != 0 || sum != checksum(h))
        return DA_ERR_PACK_INVALID;
    if (memcmp(h + H_MAGIC, "ustar", 6) != 0 || memcmp(h + H_VERSION, "00", 2) != 0)
        return DA_ERR_PACK_INVALID;
    if ((h[H_TYPE] != '0' && h[H_TYPE] != '\0') || !all_zero(h + H_LINKNAME, 100) ||
        !all_zero(h + H_PREFIX, 155))
        return DA_ERR_PACK_INVALID;
    n = strnlen((const char *)h + H_NAME, DA_TAR_NAME_MAX);
    if (n == DA_TAR_NAME_MAX || !name_ok((const char *)h + H_NAME, n) ||
        !all_zero(h + H_NAME + n, DA_TAR_NAME_MAX - n))
        return DA_ERR_PACK_INVALID;
    if (parse_octal(h + H_SIZE, SIZE_FIELD, &size) != 0 ||
        parse_octal(h + H_MTIME, 12, &mtime) != 0)
        return DA_ERR_PACK_INVALID;
    memcpy(m->name, h + H_NAME, n);
    m->name[n] = '\0';
    m->len = (size_t)size;
    m->mtime = (int64_t)mtime;
    return 0;
}

static int scan(const unsigned char *tar, size_t len, struct member_list *l)
{
    size_t off = 0, cap = 0;

    if (len % DA_TAR_BLOCK != 0)
        return DA_ERR_PACK_INVALID;
    for (;;) {
        struct da_tar_member m;
        size_t padded;

        if (len - off < 2 * DA_TAR_BLOCK)
            return DA_ERR_PACK_INVALID;
        if (all_zero(tar + off, DA_TAR_BLOCK)) {
            /* the end: a second zero block, then nothing but zeros */
            return all_zero(tar + off, len - off) ? 0 : DA_ERR_PACK_INVALID;
        }
        memset(&m, 0, sizeof(m));
        if (header_parse(tar + off, &m) != 0)
            return DA_ERR_PACK_INVALID;
        off += DA_TAR_BLOCK;
        padded = m.len + (DA_TAR_BLOCK - m.len % DA_TAR_BLOCK) % DA_TAR_BLOCK;
        if (m.len > len - off || padded > len - off || !all_zero(tar + off + m.len, padded - m.len))
            return DA_ERR_PACK_INVALID;
        m.data = tar + off;
        off += padded;
        if (l->n == DA_MAX_TAR_MEMBERS)
            return DA_ERR_PACK_INVALID;
        if (l->n == cap) {
            size_t ncap = cap == 0 ? 16 : cap * 2;
            struct da_tar_member *p = realloc(l->m, ncap * sizeof(*p));

            if (p == NULL)
                return DA_ERR_NOMEM;
            l->m = p;
            cap = ncap;
        }
        l->m[l->n++] = m;
    }
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct da_tar_member *)a)->name, ((const struct da_tar_member *)b)->name);
}

/* A name seen twice: sorted copies side by side. */
static int duplicates(const struct member_list *l)
{
    struct da_tar_member *s;
    size_t i;
    int rc = 0;

    if (l->n < 2)
        return 0;
    s = malloc(l->n * sizeof(*s));
    if (s == NULL)
        return DA_ERR_NOMEM;
    memcpy(s, l->m, l->n * sizeof(*s));
    qsort(s, l->n, sizeof(*s), by_name);
    for (i = 1; i < l->n && rc == 0; i++) {
        if (strcmp(s[i - 1].name, s[i].name) == 0)
            rc = DA_ERR_PACK_INVALID;
    }
    free(s);
    return rc;
}

int da_tar_read(const unsigned char *tar, size_t len, da_tar_cb cb, void *ctx)
{
    struct member_list l = {NULL, 0};
    size_t i;
    int rc = scan(tar, len, &l);

    if (rc == 0)
        rc = duplicates(&l);

    for (i = 0; rc == 0 && i < l.n; i++)
        rc = cb(&l.m[i], ctx);
    free(l.m);
    return rc;
}
