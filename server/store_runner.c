/* The statement runner: the prepare / bind / step / release shape every
 * query repeats, over any engine of store_engine.h. */
#include "store_engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

/* The parameters that types lists, from ap, into p; their number in *n. */
static int params_from(struct srv_param *p, unsigned *count, const char *types, va_list ap)
{
    unsigned n;

    for (n = 0; types[n] != '\0'; n++) {
        if (n >= SRV_PARAMS_MAX)
            return DA_ERR_INTERNAL;
        memset(&p[n], 0, sizeof(p[n]));
        p[n].type = types[n];
        if (types[n] == 't') {
            p[n].p = va_arg(ap, const char *);
        } else if (types[n] == 'i') {
            p[n].i = va_arg(ap, int64_t);
        } else if (types[n] == 'b') {
            p[n].p = va_arg(ap, const void *);
            p[n].n = va_arg(ap, size_t);
        } else {
            return DA_ERR_INTERNAL;
        }
    }
    *count = n;
    return 0;
}

int srv_vprepare(struct srv_conn *c, struct srv_stmt **st, const char *sql, const char *types,
                 va_list ap)
{
    struct srv_param p[SRV_PARAMS_MAX];
    unsigned n = 0;
    int rc;

    *st = NULL;
    rc = params_from(p, &n, types, ap);
    return rc != 0 ? rc : c->ops->prepare(c, sql, p, n, st);
}

int srv_exec_later_params(struct srv_conn *c, int expect, int fail, const char *sql,
                          const struct srv_param *p, unsigned n)
{
    struct srv_stmt *st = NULL;
    int rc, changes = 0;

    if (n > SRV_PARAMS_MAX)
        return DA_ERR_INTERNAL;
    if (c->ops->defer != NULL)
        return c->ops->defer(c, sql, p, n, expect, fail);
    rc = c->ops->prepare(c, sql, p, n, &st);
    if (rc == 0)
        rc = srv_run(st, &changes);
    if (rc == 0 && expect >= 0 && changes != expect)
        rc = fail != 0 ? fail : DA_ERR_STORE_CONFLICT;
    if (rc == DA_ERR_STORE_CONFLICT && fail != 0)
        rc = fail;
    return rc;
}

int srv_exec_later(struct srv_conn *c, int expect, int fail, const char *sql, const char *types,
                   ...)
{
    struct srv_param p[SRV_PARAMS_MAX];
    unsigned n = 0;
    va_list ap;
    int rc;

    va_start(ap, types);
    rc = params_from(p, &n, types, ap);
    va_end(ap);
    return rc != 0 ? rc : srv_exec_later_params(c, expect, fail, sql, p, n);
}

int srv_prepare_params(struct srv_conn *c, struct srv_stmt **st, const char *sql,
                       const struct srv_param *p, unsigned n)
{
    *st = NULL;
    if (n > SRV_PARAMS_MAX)
        return DA_ERR_INTERNAL;
    return c->ops->prepare(c, sql, p, n, st);
}

int srv_prepare(struct srv_conn *c, struct srv_stmt **st, const char *sql, const char *types, ...)
{
    va_list ap;
    int rc;

    va_start(ap, types);
    rc = srv_vprepare(c, st, sql, types, ap);
    va_end(ap);
    return rc;
}

int srv_run(struct srv_stmt *st, int *changes)
{
    int src;

    while ((src = srv_step(st)) == SRV_ROW)
        ;
    if (src == SRV_DONE && changes != NULL)
        *changes = st->ops->changes(st);
    srv_release(st);
    return src < 0 ? src : 0;
}

int srv_exec(struct srv_conn *c, int *changes, const char *sql, const char *types, ...)
{
    struct srv_stmt *st = NULL;
    va_list ap;
    int rc;

    va_start(ap, types);
    rc = srv_vprepare(c, &st, sql, types, ap);
    va_end(ap);
    return rc != 0 ? rc : srv_run(st, changes);
}

int srv_each(struct srv_conn *c, srv_row_fn row, void *ctx, const char *sql, const char *types, ...)
{
    struct srv_stmt *st = NULL;
    va_list ap;
    int rc, src = SRV_DONE;

    va_start(ap, types);
    rc = srv_vprepare(c, &st, sql, types, ap);
    va_end(ap);
    if (rc != 0)
        return rc;
    while (rc == 0 && (src = srv_step(st)) == SRV_ROW)
        rc = row(st, ctx);
    if (rc == 0 && src < 0)
        rc = src;
    srv_release(st);
    return rc;
}

int srv_one_int64(struct srv_conn *c, int64_t *out, const char *sql, const char *types, ...)
{
    struct srv_stmt *st = NULL;
    va_list ap;
    int rc, src;

    *out = 0;
    va_start(ap, types);
    rc = srv_vprepare(c, &st, sql, types, ap);
    va_end(ap);
    if (rc != 0)
        return rc;
    src = srv_step(st);
    if (src == SRV_ROW) {
        *out = srv_col_int64(st, 0);
        while ((src = srv_step(st)) == SRV_ROW) /* INSERT ... RETURNING: to its end */
            ;
        rc = src < 0 ? src : 0;
    } else {
        rc = src == SRV_DONE ? DA_ERR_NOT_FOUND : src;
    }
    srv_release(st);
    return rc;
}

char *srv_col_strdup(struct srv_stmt *st, int col)
{
    const char *t = srv_col_text(st, col);

    return strdup(t != NULL ? t : "");
}

void srv_col_copy(struct srv_stmt *st, int col, char *dst, size_t size)
{
    const char *t = srv_col_text(st, col);

    snprintf(dst, size, "%s", t != NULL ? t : "");
}

int srv_col_blobdup(struct srv_stmt *st, int col, unsigned char **out, size_t *len)
{
    size_t n = 0;
    const void *p = srv_col_blob(st, col, &n);

    *out = NULL;
    *len = 0;
    if (p == NULL || n == 0)
        return 0;
    *out = malloc(n);
    if (*out == NULL)
        return DA_ERR_NOMEM;
    memcpy(*out, p, n);
    *len = n;
    return 0;
}
