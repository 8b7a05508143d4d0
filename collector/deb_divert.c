/* dpkg's diversions database (/var/lib/dpkg/diversions): three lines per
 * diversion, as dpkg-divert writes them — the diverted path, the path the
 * diverted file was moved to, and the diverting package (":" for a local
 * diversion made by the administrator). dpkg refuses a file that ends in
 * the middle of a triple; so do we, and also lines that are empty, not
 * absolute, not newline-terminated or hold a NUL. */
#include "deb.h"

#include <stdlib.h>
#include <string.h>

#include "caps.h"
#include "err.h"

/* The next line of [*p, end) into line (n bytes); -1 at the end. */
static int col_divert_line(const char **p, const char *end, char *line, size_t n)
{
    const char *nl;
    size_t len;

    if (*p >= end)
        return -1;
    nl = memchr(*p, '\n', (size_t)(end - *p));
    if (nl == NULL)
        return DA_ERR_COLLECT_PARSE; /* dpkg: missing final newline */
    len = (size_t)(nl - *p);
    if (len == 0 || len >= n || memchr(*p, '\0', len) != NULL)
        return DA_ERR_COLLECT_PARSE;
    memcpy(line, *p, len);
    line[len] = '\0';
    *p = nl + 1;
    return 0;
}

static int col_divert_pkg_ok(const char *s)
{
    if (strcmp(s, ":") == 0)
        return 1;
    /* Debian policy 5.6.1: lowercase letters, digits, + - . */
    if (strlen(s) < 2 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
        return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789+-.") == strlen(s);
}

void col_diversions_free(struct col_diversions *d)
{
    size_t i;

    if (d == NULL)
        return;
    for (i = 0; i < d->n; i++) {
        free(d->v[i].from);
        free(d->v[i].to);
        free(d->v[i].package);
    }
    free(d->v);
    d->v = NULL;
    d->n = 0;
}

int col_diversions_parse(const char *p, size_t n, struct col_diversions *out)
{
    const char *end = p + n;
    char from[COL_DEB_MAX_FIELD], to[COL_DEB_MAX_FIELD], pkg[COL_DEB_MAX_FIELD];
    int r = 0;

    out->v = NULL;
    out->n = 0;
    if (n > DA_MAX_DPKG_DIVERSIONS)
        return DA_ERR_TOO_LARGE;
    for (;;) {
        struct col_diversion *nv, *e;

        r = col_divert_line(&p, end, from, sizeof(from));
        if (r == -1) {
            r = 0;
            break;
        }
        if (r == 0 && (r = col_divert_line(&p, end, to, sizeof(to))) == -1)
            r = DA_ERR_COLLECT_PARSE; /* dpkg: unexpected end of file */
        if (r == 0 && (r = col_divert_line(&p, end, pkg, sizeof(pkg))) == -1)
            r = DA_ERR_COLLECT_PARSE;
        if (r == 0 &&
            (from[0] != '/' || to[0] != '/' || strcmp(from, to) == 0 || !col_divert_pkg_ok(pkg)))
            r = DA_ERR_COLLECT_PARSE;
        if (r == 0 && (col_diversion_from(out, from) != NULL || col_diversion_to(out, to) != NULL))
            r = DA_ERR_COLLECT_PARSE; /* one diversion per path, as dpkg-divert keeps it */
        if (r == 0 && out->n >= DA_MAX_DIVERSIONS)
            r = DA_ERR_TOO_LARGE;
        if (r != 0)
            break;
        nv = realloc(out->v, (out->n + 1) * sizeof(*nv));
        if (nv == NULL) {
            r = DA_ERR_NOMEM;
            break;
        }
        out->v = nv;
        e = &nv[out->n++];
        e->from = strdup(from);
        e->to = strdup(to);
        e->package = strcmp(pkg, ":") == 0 ? NULL : strdup(pkg);
        if (e->from == NULL || e->to == NULL || (strcmp(pkg, ":") != 0 && e->package == NULL)) {
            r = DA_ERR_NOMEM;
            break;
        }
    }
    if (r != 0)
        col_diversions_free(out);
    return r;
}

const struct col_diversion *col_diversion_from(const struct col_diversions *d, const char *path)
{
    size_t i;

    for (i = 0; d != NULL && i < d->n; i++)
        if (strcmp(d->v[i].from, path) == 0)
            return &d->v[i];
    return NULL;
}

const struct col_diversion *col_diversion_to(const struct col_diversions *d, const char *path)
{
    size_t i;

    for (i = 0; d != NULL && i < d->n; i++)
        if (strcmp(d->v[i].to, path) == 0)
            return &d->v[i];
    return NULL;
}
