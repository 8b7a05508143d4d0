/* The patches cache body and apt.conf values. Both are outside input:
 * the cache lives in a directory another process could write, apt.conf
 * files belong to the system. */
#include "deb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "caps.h"

static int col_parse_u64_dec(const char *s, uint64_t *out)
{
    uint64_t v = 0;

    if (*s == '\0' || (s[0] == '0' && s[1] != '\0'))
        return -1;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9' || v > UINT64_MAX / 10 - 1)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 0;
}

#define COL_CACHE_MAGIC "devattest-patches-cache 2" /* 2: security includes masked fixes */

/* Split a line into at most max space-separated tokens; every token is
 * printable, non-empty and shorter than COL_DEB_MAX_FIELD. */
static int col_tokens(char *line, char **tok, int max)
{
    int n = 0;
    char *p = line;

    while (*p != '\0') {
        char *sp = strchr(p, ' ');
        size_t len = sp != NULL ? (size_t)(sp - p) : strlen(p);
        size_t i;

        if (len == 0 || len >= COL_DEB_MAX_FIELD || n == max)
            return -1;
        for (i = 0; i < len; i++)
            if ((unsigned char)p[i] <= 32 || (unsigned char)p[i] >= 127)
                return -1;
        tok[n++] = p;
        if (sp == NULL)
            break;
        *sp = '\0';
        p = sp + 1;
        if (*p == '\0')
            return -1; /* trailing space */
    }
    return n;
}

static int col_flag(const char *s, int *out)
{
    if (strcmp(s, "0") != 0 && strcmp(s, "1") != 0)
        return -1;
    *out = s[0] == '1';
    return 0;
}

static int col_cache_line(char *line, int *state, struct col_patch_facts *f)
{
    char *t[6];
    int n = col_tokens(line, t, 6);
    uint64_t v;
    size_t i;

    if (n <= 0)
        return DA_ERR_COLLECT_PARSE;
    if (*state == 0)
        return n == 2 && strcmp(line, "devattest-patches-cache") == 0 && strcmp(t[1], "2") == 0
                   ? (*state = 1, 0)
                   : DA_ERR_COLLECT_PARSE;
    if (*state == 1 && n == 2 && strcmp(t[0], "installed_count") == 0) {
        if (col_parse_u64_dec(t[1], &v) != 0 || v > DA_MAX_PACKAGES)
            return DA_ERR_COLLECT_PARSE;
        f->installed_count = v;
        *state = 2;
        return 0;
    }
    if (*state == 2 && n == 2 && strcmp(t[0], "inventory_sha256") == 0 && strlen(t[1]) == 64) {
        for (i = 0; i < 64; i++)
            if (strchr("0123456789abcdef", t[1][i]) == NULL)
                return DA_ERR_COLLECT_PARSE;
        memcpy(f->inventory_sha256, t[1], 65);
        *state = 3;
        return 0;
    }
    if (*state == 3 && n == 2 && strcmp(t[0], "unattended_upgrades_installed") == 0) {
        *state = 4;
        return col_flag(t[1], &f->unattended_upgrades_installed) == 0 ? 0 : DA_ERR_COLLECT_PARSE;
    }
    if (*state == 4 && n == 3 && strcmp(t[0], "kernel") == 0) {
        struct col_kernel_pkg *k;

        if (f->n_kernels >= 4096 || col_debver_check(t[2], strlen(t[2])) < 0)
            return DA_ERR_COLLECT_PARSE;
        k = realloc(f->kernels, (f->n_kernels + 1) * sizeof(*k));
        if (k == NULL)
            return DA_ERR_NOMEM;
        f->kernels = k;
        k[f->n_kernels].release = strdup(t[1]);
        k[f->n_kernels].version = strdup(t[2]);
        f->n_kernels++;
        return k[f->n_kernels - 1].release && k[f->n_kernels - 1].version ? 0 : DA_ERR_NOMEM;
    }
    if ((*state == 4 || *state == 5) && n == 6 && strcmp(t[0], "pending") == 0) {
        struct col_pending *p;
        int sec;

        *state = 5;
        if (f->n_pending >= COL_DEB_MAX_PENDING || col_flag(t[5], &sec) != 0 ||
            col_debver_check(t[3], strlen(t[3])) < 0 || col_debver_check(t[4], strlen(t[4])) < 0)
            return DA_ERR_COLLECT_PARSE;
        p = realloc(f->pending, (f->n_pending + 1) * sizeof(*p));
        if (p == NULL)
            return DA_ERR_NOMEM;
        f->pending = p;
        p = &p[f->n_pending++];
        memset(p, 0, sizeof(*p));
        p->name = strdup(t[1]);
        p->arch = strdup(t[2]);
        p->installed = strdup(t[3]);
        p->candidate = strdup(t[4]);
        p->security = sec;
        return p->name && p->arch && p->installed && p->candidate ? 0 : DA_ERR_NOMEM;
    }
    if ((*state == 4 || *state == 5) && n == 1 && strcmp(t[0], "end") == 0) {
        *state = 6;
        return 0;
    }
    return DA_ERR_COLLECT_PARSE;
}

int col_patch_cache_parse(const char *p, size_t n, struct col_patch_facts *out)
{
    const char *end = p + n;
    char line[4 * COL_DEB_MAX_FIELD];
    int state = 0, r = 0;

    memset(out, 0, sizeof(*out));
    if (n > DA_MAX_COL_CACHE || memchr(p, '\0', n) != NULL)
        return DA_ERR_COLLECT_PARSE;
    while (p < end && r == 0) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len;

        if (nl == NULL || state == 6) {
            r = DA_ERR_COLLECT_PARSE; /* unterminated line or data after "end" */
            break;
        }
        len = (size_t)(nl - p);
        if (len >= sizeof(line)) {
            r = DA_ERR_COLLECT_PARSE;
            break;
        }
        memcpy(line, p, len);
        line[len] = '\0';
        r = col_cache_line(line, &state, out);
        p = nl + 1;
    }
    if (r == 0 && state != 6)
        r = DA_ERR_COLLECT_PARSE;
    if (r < 0)
        col_patch_facts_free(out);
    return r;
}

int col_patch_cache_format(const struct col_patch_facts *f, char **out, size_t *out_len)
{
    struct da_buf b;
    size_t i;
    int r;

    *out = NULL;
    da_buf_init(&b, DA_MAX_COL_CACHE);
    r = da_buf_printf(&b,
                      COL_CACHE_MAGIC "\ninstalled_count %llu\ninventory_sha256 %s\n"
                                      "unattended_upgrades_installed %d\n",
                      (unsigned long long)f->installed_count, f->inventory_sha256,
                      f->unattended_upgrades_installed ? 1 : 0);
    for (i = 0; r == 0 && i < f->n_kernels; i++)
        r = da_buf_printf(&b, "kernel %s %s\n", f->kernels[i].release, f->kernels[i].version);
    for (i = 0; r == 0 && i < f->n_pending; i++)
        r = da_buf_printf(&b, "pending %s %s %s %s %d\n", f->pending[i].name, f->pending[i].arch,
                          f->pending[i].installed, f->pending[i].candidate,
                          f->pending[i].security ? 1 : 0);
    if (r == 0)
        r = da_buf_append_str(&b, "end\n");
    if (r == 0) {
        *out = (char *)da_buf_take(&b, out_len);
        if (*out == NULL)
            r = DA_ERR_NOMEM;
    }
    da_buf_free(&b);
    return r;
}

/* ---- apt.conf ---- */

struct col_aptconf {
    const char *p, *end;
};

/* Next token: identifier, "string", or one of { } ;. Comments skipped.
 * Returns token type ('i', 's', '{', '}', ';', 0 at end, -1 on error). */
static int col_aptconf_next(struct col_aptconf *c, const char **tok, size_t *len)
{
    for (;;) {
        while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
            c->p++;
        if (c->p >= c->end)
            return 0;
        if (*c->p == '#' || (c->end - c->p >= 2 && c->p[0] == '/' && c->p[1] == '/')) {
            const char *nl = memchr(c->p, '\n', (size_t)(c->end - c->p));

            c->p = nl != NULL ? nl + 1 : c->end;
            continue;
        }
        if (c->end - c->p >= 2 && c->p[0] == '/' && c->p[1] == '*') {
            const char *e = memmem(c->p + 2, (size_t)(c->end - c->p - 2), "*/", 2);

            if (e == NULL)
                return -1;
            c->p = e + 2;
            continue;
        }
        break;
    }
    if (*c->p == '{' || *c->p == '}' || *c->p == ';') {
        *tok = c->p;
        *len = 1;
        return *c->p++;
    }
    if (*c->p == '"') {
        const char *q = memchr(c->p + 1, '"', (size_t)(c->end - c->p - 1));

        if (q == NULL)
            return -1;
        *tok = c->p + 1;
        *len = (size_t)(q - c->p - 1);
        c->p = q + 1;
        return 's';
    }
    *tok = c->p;
    while (c->p < c->end && strchr(" \t\r\n{};\"", *c->p) == NULL)
        c->p++;
    *len = (size_t)(c->p - *tok);
    return 'i';
}

int col_aptconf_value(const char *p, size_t n, const char *key, char *val, size_t val_n)
{
    struct col_aptconf c = {p, p + n};
    char scope[16][128];
    size_t depth = 0;
    char name[2048];
    int found = 0;

    if (n > DA_MAX_CONFIG * 16 || memchr(p, '\0', n) != NULL)
        return DA_ERR_COLLECT_PARSE;
    for (;;) {
        const char *id, *tok;
        size_t id_len, len, i, off = 0;
        int t = col_aptconf_next(&c, &id, &id_len);

        if (t == 0)
            return depth == 0 ? found : DA_ERR_COLLECT_PARSE;
        if (t == '}') {
            if (depth == 0 || col_aptconf_next(&c, &tok, &len) != ';')
                return DA_ERR_COLLECT_PARSE;
            depth--;
            continue;
        }
        if (t == 's') { /* a list item: "value"; */
            if (col_aptconf_next(&c, &tok, &len) != ';')
                return DA_ERR_COLLECT_PARSE;
            continue;
        }
        if (t != 'i' || id_len >= sizeof(scope[0]))
            return DA_ERR_COLLECT_PARSE;
        t = col_aptconf_next(&c, &tok, &len);
        if (t == '{') {
            if (depth == sizeof(scope) / sizeof(scope[0]))
                return DA_ERR_COLLECT_PARSE;
            memcpy(scope[depth], id, id_len);
            scope[depth][id_len] = '\0';
            depth++;
            continue;
        }
        if (t != 's' && t != 'i') /* "#include" and "#clear" lines are comments here */
            return DA_ERR_COLLECT_PARSE;
        {
            const char *v = tok;
            size_t vlen = len;

            if (col_aptconf_next(&c, &tok, &len) != ';')
                return DA_ERR_COLLECT_PARSE;
            for (i = 0; i < depth; i++) {
                int w = snprintf(name + off, sizeof(name) - off, "%s::", scope[i]);

                if (w < 0 || (size_t)w >= sizeof(name) - off)
                    return DA_ERR_COLLECT_PARSE;
                off += (size_t)w;
            }
            if (off + id_len >= sizeof(name))
                return DA_ERR_COLLECT_PARSE;
            memcpy(name + off, id, id_len);
            name[off + id_len] = '\0';
            if (strcasecmp(name, key) == 0) {
                if (vlen >= val_n)
                    return DA_ERR_COLLECT_PARSE;
                memcpy(val, v, vlen);
                val[vlen] = '\0';
                found = 1;
            }
        }
    }
}
