/* Helpers shared by the collectors: paths under the root, capped reads and
 * the unknown convention. */
#include "collector.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "file.h"
#include "caps.h"
#include "rootfs.h"

/* Length of the valid UTF-8 sequence at s, or 0 (overlongs, surrogates and
 * code points past U+10FFFF are not valid). */
static size_t col_utf8_seq(const unsigned char *s)
{
    unsigned c = s[0];
    size_t n, i;
    uint32_t cp;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, cp = c & 0x07;
    else
        return 0;
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* A JSON string for text read from the system: bytes that are not UTF-8
 * become U+FFFD, so that the document always has a canonical form. */
static cJSON *col_string(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s), i = 0, o = 0;
    char *clean;
    cJSON *j;

    while (i < len) {
        size_t n = col_utf8_seq(p + i);

        if (n == 0)
            break;
        i += n;
    }
    if (i == len)
        return cJSON_CreateString(s);
    clean = malloc(len * 3 + 1);
    if (clean == NULL)
        return NULL;
    for (i = 0; i < len;) {
        size_t n = col_utf8_seq(p + i);

        if (n == 0) {
            memcpy(clean + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        } else {
            memcpy(clean + o, p + i, n);
            o += n;
            i += n;
        }
    }
    clean[o] = '\0';
    j = cJSON_CreateString(clean);
    free(clean);
    return j;
}

cJSON *col_unknown(const char *reason, const char *detail)
{
    cJSON *o = cJSON_CreateObject();

    if (o == NULL)
        return NULL;
    if (cJSON_AddStringToObject(o, "unknown", reason) == NULL ||
        (detail != NULL && col_add_item(o, "detail", col_string(detail)) != 0)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

const char *col_err_reason(int err)
{
    switch (err) {
    case DA_ERR_NOT_FOUND:
        return COL_R_NOT_PRESENT;
    case DA_ERR_PERMISSION:
        return COL_R_PERMISSION;
    case DA_ERR_NOT_REGULAR:
        return COL_R_NOT_REGULAR;
    case DA_ERR_TOO_LARGE:
        return COL_R_LIMIT;
    case DA_ERR_UNSUPPORTED:
    case DA_ERR_RPMDB_WOULD_WRITE:
        return COL_R_UNSUPPORTED;
    case DA_ERR_COLLECT_PARSE:
        return COL_R_PARSE;
    case DA_ERR_COLLECT_NOT_LIVE:
        return COL_R_NOT_LIVE;
    default:
        return COL_R_IO;
    }
}

const char *col_sys_reason(int errnum)
{
    if (errnum < 0)
        errnum = -errnum;
    switch (errnum) {
    case ENOENT:
    case ENOTDIR:
        return COL_R_NOT_PRESENT;
    case EACCES:
    case EPERM:
        return COL_R_PERMISSION;
    case ENOTSUP:
    case ENOTTY:
    case ENOSYS:
    case EPROTONOSUPPORT:
    case EAFNOSUPPORT:
        return COL_R_UNSUPPORTED;
    default:
        return COL_R_IO;
    }
}

void col_err_detail(int err, const char *what, char *out, size_t n)
{
    int e = da_rootfs_errno();

    /* the system's words for a system error, as the tools an auditor
     * compares with (ls, cat) print them */
    if (e != 0 && (err == DA_ERR_SYSTEM || err == DA_ERR_NOT_FOUND || err == DA_ERR_PERMISSION ||
                   err == DA_ERR_TOO_LARGE))
        snprintf(out, n, "%s: %s", what, strerror(e));
    else
        snprintf(out, n, "%s: %s", what, da_strerror(err));
}

int col_add_item(cJSON *obj, const char *key, cJSON *item)
{
    if (item == NULL)
        return DA_ERR_NOMEM;
    if (!cJSON_AddItemToObject(obj, key, item)) {
        cJSON_Delete(item);
        return DA_ERR_NOMEM;
    }
    return 0;
}

int col_push(cJSON *arr, cJSON *item)
{
    if (item == NULL)
        return DA_ERR_NOMEM;
    if (!cJSON_AddItemToArray(arr, item)) {
        cJSON_Delete(item);
        return DA_ERR_NOMEM;
    }
    return 0;
}

int col_push_str(cJSON *arr, const char *s)
{
    return col_push(arr, col_string(s));
}

int col_add_unknown(cJSON *obj, const char *key, const char *reason, const char *detail)
{
    return col_add_item(obj, key, col_unknown(reason, detail));
}

int col_add_unknown_err(cJSON *obj, const char *key, int err, const char *what)
{
    char detail[512];

    col_err_detail(err, what, detail, sizeof(detail));
    return col_add_unknown(obj, key, col_err_reason(err), detail);
}

int col_add_unknown_sys(cJSON *obj, const char *key, int errnum, const char *what)
{
    char detail[512];

    snprintf(detail, sizeof(detail), "%s: %s", what, strerror(errnum < 0 ? -errnum : errnum));
    return col_add_unknown(obj, key, col_sys_reason(errnum), detail);
}

int col_add_str(cJSON *obj, const char *key, const char *val)
{
    return col_add_item(obj, key, col_string(val));
}

int col_add_num(cJSON *obj, const char *key, double val)
{
    return cJSON_AddNumberToObject(obj, key, val) != NULL ? 0 : DA_ERR_NOMEM;
}

int col_add_bool(cJSON *obj, const char *key, int val)
{
    return cJSON_AddBoolToObject(obj, key, val ? 1 : 0) != NULL ? 0 : DA_ERR_NOMEM;
}

int col_read_file(const struct col_ctx *ctx, const char *rel, struct da_buf *b)
{
    return da_rootfs_read(ctx->fs, rel, b);
}

int col_read_line(const struct col_ctx *ctx, const char *rel, char *out, size_t n)
{
    return da_rootfs_read_line(ctx->fs, rel, out, n);
}

int col_stat(const struct col_ctx *ctx, const char *rel, struct stat *st)
{
    return da_rootfs_stat(ctx->fs, rel, st);
}

int col_lstat(const struct col_ctx *ctx, const char *rel, struct stat *st)
{
    return da_rootfs_lstat(ctx->fs, rel, st);
}

int col_readlink(const struct col_ctx *ctx, const char *rel, char *out, size_t n)
{
    return da_rootfs_readlink(ctx->fs, rel, out, n);
}

int col_open_file(const struct col_ctx *ctx, const char *rel, int *fd, struct stat *st)
{
    return da_rootfs_open_file(ctx->fs, rel, fd, st);
}

int col_opendir(const struct col_ctx *ctx, const char *rel, struct da_rootfs_dir **d)
{
    return da_rootfs_opendir(ctx->fs, rel, d);
}

int col_glob(const struct col_ctx *ctx, const char *pattern, struct da_rootfs_glob *g)
{
    return da_rootfs_glob(ctx->fs, pattern, g);
}

int col_resolve_in_root(const struct col_ctx *ctx, const char *path, char *out, size_t n)
{
    return da_rootfs_realpath(ctx->fs, path, out, n);
}

int col_parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;

    if (*s == '\0')
        return DA_ERR_COLLECT_PARSE;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return DA_ERR_COLLECT_PARSE;
        if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
            return DA_ERR_OVERFLOW;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 0;
}

void col_unquote(char *s)
{
    size_t n = strlen(s);

    if (n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0]) {
        memmove(s, s + 1, n - 2);
        s[n - 2] = '\0';
    }
}

void col_hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

int col_state_write_file(const char *dir, const char *name, const void *data, size_t len)
{
    /* a write into the agent's own state directory, not a read under the
     * root: common/file.h writes it atomically */
    if (da_file_write(dir, name, data, len, DA_WRITE_REPLACE) != 0)
        return da_rootfs_sys_error(errno, dir);
    return 0;
}

int col_read_state(const struct col_ctx *ctx, const char *name, struct da_buf *b)
{
    struct da_rootfs *fs = NULL;
    char rel[512];
    int r;

    if (ctx->state_dir == NULL)
        return DA_ERR_NOT_FOUND;
    if (snprintf(rel, sizeof(rel), "/%s", name) >= (int)sizeof(rel))
        return DA_ERR_INVALID_ARG;
    r = da_rootfs_open(ctx->state_dir, 0, &fs);
    if (r == 0)
        r = da_rootfs_read(fs, rel, b);
    da_rootfs_free(fs);
    return r;
}

int col_state_put(const struct col_ctx *ctx, const char *name, const void *data, size_t len)
{
    if (ctx->state_put != NULL)
        return ctx->state_put(ctx->state_put_arg, name, data, len);
    if (ctx->state_dir == NULL)
        return DA_ERR_NOT_FOUND;
    return col_state_write_file(ctx->state_dir, name, data, len);
}

static int col_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int col_list_dir(const struct col_ctx *ctx, const char *rel, size_t max, struct col_names *out)
{
    struct da_rootfs_dirent e;
    struct da_rootfs_dir *d = NULL;
    int r;

    memset(out, 0, sizeof(*out));
    r = col_opendir(ctx, rel, &d);
    if (r < 0)
        return r;
    while ((r = da_rootfs_readdir(d, &e)) == 1) {
        char **grown;

        if (out->n >= max) {
            r = DA_ERR_TOO_LARGE;
            break;
        }
        grown = realloc(out->v, (out->n + 1) * sizeof(*out->v));
        if (grown == NULL) {
            r = DA_ERR_NOMEM;
            break;
        }
        out->v = grown;
        out->v[out->n] = strdup(e.name);
        if (out->v[out->n] == NULL) {
            r = DA_ERR_NOMEM;
            break;
        }
        out->n++;
    }
    da_rootfs_closedir(d);
    if (r < 0) {
        col_names_free(out);
        return r;
    }
    if (out->n > 1)
        qsort(out->v, out->n, sizeof(*out->v), col_name_cmp);
    return 0;
}

void col_names_free(struct col_names *n)
{
    size_t i;

    for (i = 0; i < n->n; i++)
        free(n->v[i]);
    free(n->v);
    n->v = NULL;
    n->n = 0;
}
