/* mountinfo: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS...] - FSTYPE SOURCE SUPEROPTS" */
#include "mountinfo.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

#define COL_MAX_MOUNT_LINE 8192

/* Decode \ooo escapes of one field into a new string. */
static char *col_unescape(const char *p, size_t n)
{
    char *s = malloc(n + 1), *o = s;
    size_t i;

    if (s == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        if (p[i] == '\\' && i + 3 < n && p[i + 1] >= '0' && p[i + 1] <= '3' && p[i + 2] >= '0' &&
            p[i + 2] <= '7' && p[i + 3] >= '0' && p[i + 3] <= '7') {
            *o++ = (char)(((p[i + 1] - '0') << 6) | ((p[i + 2] - '0') << 3) | (p[i + 3] - '0'));
            i += 3;
        } else {
            *o++ = p[i];
        }
    }
    *o = '\0';
    if (strlen(s) != (size_t)(o - s)) { /* an escaped NUL */
        free(s);
        return NULL;
    }
    return s;
}

static int col_parse_uint(const char *p, size_t n, unsigned *out)
{
    uint64_t v = 0;
    size_t i;

    if (n == 0 || n > 10)
        return -1;
    for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(p[i] - '0');
    }
    if (v > UINT32_MAX)
        return -1;
    *out = (unsigned)v;
    return 0;
}

struct col_field {
    const char *p;
    size_t n;
};

/* Split one line at single spaces into at most max fields. */
static int col_split(const char *p, size_t n, struct col_field *f, int max)
{
    int count = 0;
    size_t i = 0;

    while (i < n) {
        size_t j = i;

        while (j < n && p[j] != ' ')
            j++;
        if (j == i || count == max)
            return -1;
        f[count].p = p + i;
        f[count].n = j - i;
        count++;
        i = j + 1;
        if (j < n && i == n)
            return -1; /* trailing space */
    }
    return count;
}

static int col_mount_line(const char *p, size_t n, struct col_mount *m)
{
    struct col_field f[64];
    int count = col_split(p, n, f, 64), sep = -1, i;
    const char *colon;

    if (count < 10)
        return DA_ERR_COLLECT_PARSE;
    for (i = 6; i < count; i++) {
        if (f[i].n == 1 && f[i].p[0] == '-') {
            sep = i;
            break;
        }
    }
    if (sep < 0 || count - sep != 4)
        return DA_ERR_COLLECT_PARSE;
    colon = memchr(f[2].p, ':', f[2].n);
    if (colon == NULL || col_parse_uint(f[0].p, f[0].n, &m->id) != 0 ||
        col_parse_uint(f[1].p, f[1].n, &m->parent) != 0 ||
        col_parse_uint(f[2].p, (size_t)(colon - f[2].p), &m->major) != 0 ||
        col_parse_uint(colon + 1, (size_t)(f[2].p + f[2].n - colon - 1), &m->minor) != 0)
        return DA_ERR_COLLECT_PARSE;
    m->root = col_unescape(f[3].p, f[3].n);
    m->mountpoint = col_unescape(f[4].p, f[4].n);
    m->fstype = col_unescape(f[sep + 1].p, f[sep + 1].n);
    m->source = col_unescape(f[sep + 2].p, f[sep + 2].n);
    if (m->root == NULL || m->mountpoint == NULL || m->fstype == NULL || m->source == NULL)
        return DA_ERR_COLLECT_PARSE;
    if (m->mountpoint[0] != '/')
        return DA_ERR_COLLECT_PARSE;
    return 0;
}

void col_mounts_free(struct col_mounts *m)
{
    size_t i;

    if (m == NULL)
        return;
    for (i = 0; i < m->n; i++) {
        free(m->v[i].root);
        free(m->v[i].mountpoint);
        free(m->v[i].fstype);
        free(m->v[i].source);
    }
    free(m->v);
    m->v = NULL;
    m->n = 0;
}

int col_mountinfo_parse(const char *p, size_t n, struct col_mounts *out)
{
    const char *end = p + n;
    size_t cap = 0;
    int r = 0;

    out->v = NULL;
    out->n = 0;
    if (memchr(p, '\0', n) != NULL)
        return DA_ERR_COLLECT_PARSE;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len;

        if (nl == NULL) {
            r = DA_ERR_TRUNCATED; /* the kernel ends every line */
            break;
        }
        len = (size_t)(nl - p);
        if (len > COL_MAX_MOUNT_LINE) {
            r = DA_ERR_TOO_LARGE;
            break;
        }
        if (out->n == COL_MAX_MOUNTS) {
            r = DA_ERR_TOO_LARGE;
            break;
        }
        if (out->n == cap) {
            size_t nc = cap != 0 ? cap * 2 : 64;
            struct col_mount *nv = realloc(out->v, nc * sizeof(*nv));

            if (nv == NULL) {
                r = DA_ERR_NOMEM;
                break;
            }
            out->v = nv;
            cap = nc;
        }
        memset(&out->v[out->n], 0, sizeof(out->v[0]));
        out->n++;
        r = col_mount_line(p, len, &out->v[out->n - 1]);
        if (r < 0)
            break;
        p = nl + 1;
    }
    if (r < 0)
        col_mounts_free(out);
    return r;
}

const struct col_mount *col_mounts_find(const struct col_mounts *m, const char *path)
{
    const struct col_mount *best = NULL;
    size_t best_len = 0, i;

    for (i = 0; i < m->n; i++) {
        const char *mp = m->v[i].mountpoint;
        size_t len = strlen(mp);

        if (strcmp(mp, "/") == 0)
            len = 0;
        else if (strncmp(path, mp, len) != 0 || (path[len] != '/' && path[len] != '\0'))
            continue;
        if (best == NULL || len >= best_len) {
            best = &m->v[i];
            best_len = len;
        }
    }
    return best;
}
