/* Helpers shared by the collectors: paths under the root, capped reads and
 * the unknown convention. */
#include "collector.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "caps.h"

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

const char *col_errno_reason(int err)
{
    if (err < 0)
        err = -err;
    switch (err) {
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
    case EFBIG:
        return COL_R_LIMIT;
    case EBADMSG:
    case EINVAL:
        return COL_R_PARSE;
    default:
        return COL_R_IO;
    }
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

int col_add_unknown_errno(cJSON *obj, const char *key, int err, const char *what)
{
    char detail[512];

    snprintf(detail, sizeof(detail), "%s: %s", what, strerror(err < 0 ? -err : err));
    return col_add_unknown(obj, key, col_errno_reason(err), detail);
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

int col_path(const struct col_ctx *ctx, const char *rel, char *out, size_t n)
{
    int w = snprintf(out, n, "%s%s", ctx->root, rel);

    if (w < 0 || (size_t)w >= n)
        return DA_ERR_TOO_LARGE;
    return 0;
}

int col_read_file(const struct col_ctx *ctx, const char *rel, struct da_buf *b)
{
    char path[4096];
    char chunk[16384];
    int fd, r = 0;
    ssize_t got;

    if (col_path(ctx, rel, path, sizeof(path)) != 0)
        return -ENAMETOOLONG;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    for (;;) {
        got = read(fd, chunk, sizeof(chunk));
        if (got < 0) {
            if (errno == EINTR)
                continue;
            r = -errno;
            break;
        }
        if (got == 0)
            break;
        if (da_buf_append(b, chunk, (size_t)got) != 0) {
            r = -EFBIG;
            break;
        }
    }
    close(fd);
    if (r == 0 && da_buf_append(b, NULL, 0) != 0)
        r = -ENOMEM;
    return r;
}

int col_read_line(const struct col_ctx *ctx, const char *rel, char *out, size_t n)
{
    struct da_buf b;
    const char *s;
    size_t len;
    int r;

    da_buf_init(&b, DA_MAX_SMALL_SYSFILE);
    out[0] = '\0';
    r = col_read_file(ctx, rel, &b);
    if (r < 0)
        goto out;
    s = da_buf_str(&b);
    len = strcspn(s, "\n");
    while (len > 0 && isspace((unsigned char)s[len - 1]))
        len--;
    if (len >= n) {
        r = -EFBIG;
        goto out;
    }
    memcpy(out, s, len);
    out[len] = '\0';
out:
    da_buf_free(&b);
    return r;
}

int col_stat(const struct col_ctx *ctx, const char *rel, struct stat *st)
{
    char path[4096];

    if (col_path(ctx, rel, path, sizeof(path)) != 0)
        return -ENAMETOOLONG;
    return stat(path, st) == 0 ? 0 : -errno;
}

int col_lstat(const struct col_ctx *ctx, const char *rel, struct stat *st)
{
    char path[4096];

    if (col_path(ctx, rel, path, sizeof(path)) != 0)
        return -ENAMETOOLONG;
    return lstat(path, st) == 0 ? 0 : -errno;
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
    const char *p = data;
    char path[4096], tmp[4096];
    size_t off = 0;
    int fd, dfd, e = 0;

    if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path) ||
        snprintf(tmp, sizeof(tmp), "%s/.%s.%ld", dir, name, (long)getpid()) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    unlink(tmp); /* left by a run of ours that died, or absent */
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -errno;
    while (off < len && e == 0) {
        ssize_t n = write(fd, p + off, len - off);

        if (n < 0 && errno != EINTR)
            e = -errno;
        else if (n > 0)
            off += (size_t)n;
    }
    if (e == 0 && fsync(fd) != 0)
        e = -errno;
    if (close(fd) != 0 && e == 0)
        e = -errno;
    if (e == 0 && rename(tmp, path) != 0)
        e = -errno;
    if (e < 0) {
        unlink(tmp);
        return e;
    }
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        if (fsync(dfd) != 0)
            e = -errno;
        close(dfd);
    }
    return e;
}

int col_state_put(const struct col_ctx *ctx, const char *name, const void *data, size_t len)
{
    if (ctx->state_put != NULL)
        return ctx->state_put(ctx->state_put_arg, name, data, len);
    if (ctx->state_dir == NULL)
        return -ENOENT;
    return col_state_write_file(ctx->state_dir, name, data, len);
}

static int col_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int col_list_dir(const struct col_ctx *ctx, const char *rel, size_t max, struct col_names *out)
{
    char path[4096];
    struct dirent *e;
    DIR *d;
    int r = 0;

    memset(out, 0, sizeof(*out));
    if (col_path(ctx, rel, path, sizeof(path)) != 0)
        return -ENAMETOOLONG;
    d = opendir(path);
    if (d == NULL)
        return -errno;
    for (;;) {
        char **grown, *copy;

        errno = 0;
        e = readdir(d);
        if (e == NULL) {
            r = errno != 0 ? -errno : 0;
            break;
        }
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (out->n >= max) {
            r = -EFBIG;
            break;
        }
        grown = realloc(out->v, (out->n + 1) * sizeof(*out->v));
        copy = grown != NULL ? strdup(e->d_name) : NULL;
        if (grown != NULL)
            out->v = grown;
        if (copy == NULL) {
            r = -ENOMEM;
            break;
        }
        out->v[out->n++] = copy;
    }
    closedir(d);
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

int col_readlink(const struct col_ctx *ctx, const char *rel, char *out, size_t n)
{
    char path[4096];
    ssize_t got;

    if (col_path(ctx, rel, path, sizeof(path)) != 0)
        return -ENAMETOOLONG;
    got = readlink(path, out, n);
    if (got < 0)
        return -errno;
    if ((size_t)got >= n)
        return -EFBIG;
    out[got] = '\0';
    return 0;
}
