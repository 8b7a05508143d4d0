/* File-system helpers shared by the runtime, logging, auth and media areas:
 * existence, enabled units, running processes and drop-in directories, all
 * below the root through col_util. */
#include "collector.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "caps.h"
#include "err.h"
#include "posture.h"
#include "rootfs.h"

int col_any_exists(const struct col_ctx *ctx, const char *const *paths)
{
    struct stat st;

    for (; *paths != NULL; paths++) {
        int e = col_stat(ctx, *paths, &st);

        if (e == 0)
            return 1;
        if (e != DA_ERR_NOT_FOUND)
            return e;
    }
    return 0;
}

static int col_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n > m && strcmp(s + n - m, suffix) == 0;
}

int col_unit_enabled(const struct col_ctx *ctx, const char *unit)
{
    static const char dir[] = "/etc/systemd/system";
    struct col_names d;
    struct stat st;
    char rel[1024];
    int e, found = 0;

    e = col_list_dir(ctx, dir, DA_MAX_CONF_DIR, &d);
    if (e == DA_ERR_NOT_FOUND)
        return 0;
    if (e < 0)
        return e;
    for (size_t i = 0; i < d.n && !found && e >= 0; i++) {
        if (!col_suffix(d.v[i], ".wants") && !col_suffix(d.v[i], ".requires"))
            continue;
        snprintf(rel, sizeof(rel), "%s/%s/%s", dir, d.v[i], unit);
        e = col_lstat(ctx, rel, &st);
        if (e == 0)
            found = 1;
        else if (e == DA_ERR_NOT_FOUND)
            e = 0;
    }
    col_names_free(&d);
    return e < 0 ? e : found;
}

int col_process_gone(int err)
{
    return err == DA_ERR_NOT_FOUND || (err == DA_ERR_SYSTEM && da_rootfs_errno() == ESRCH);
}

int col_process_running(const struct col_ctx *ctx, const char *comm)
{
    struct col_names d;
    char rel[64], line[64];
    int e, procs = 0, found = 0;

    e = col_list_dir(ctx, "/proc", DA_MAX_PROCESSES, &d);
    if (e == DA_ERR_NOT_FOUND && !ctx->live)
        return DA_ERR_COLLECT_NOT_LIVE;
    if (e < 0)
        return e;
    for (size_t i = 0; i < d.n && !found; i++) {
        if (d.v[i][0] < '0' || d.v[i][0] > '9' || strspn(d.v[i], "0123456789") != strlen(d.v[i]))
            continue;
        procs++;
        snprintf(rel, sizeof(rel), "/proc/%s/comm", d.v[i]);
        e = col_read_line(ctx, rel, line, sizeof(line));
        if (e == 0 && strcmp(line, comm) == 0)
            found = 1;
        else if (e < 0 && !col_process_gone(e))
            break; /* comm is world-readable: anything else is a real failure */
        e = 0;
    }
    col_names_free(&d);
    if (e < 0)
        return e;
    if (procs == 0 && !ctx->live)
        return DA_ERR_COLLECT_NOT_LIVE;
    return found;
}

static int col_path_base_cmp(const void *a, const void *b)
{
    const char *x = strrchr(*(char *const *)a, '/'), *y = strrchr(*(char *const *)b, '/');

    return strcmp(x, y);
}

int col_dropins(const struct col_ctx *ctx, const char *const *dirs, const char *suffix,
                struct col_names *out, const char **bad)
{
    int e = 0;

    memset(out, 0, sizeof(*out));
    *bad = NULL;
    for (; *dirs != NULL && e == 0; dirs++) {
        struct col_names d;

        e = col_list_dir(ctx, *dirs, DA_MAX_CONF_DIR, &d);
        if (e == DA_ERR_NOT_FOUND) {
            e = 0;
            continue;
        }
        if (e < 0) {
            *bad = *dirs;
            break;
        }
        for (size_t i = 0; i < d.n && e == 0; i++) {
            char path[4096], **grown;
            int dup = 0;

            if (!col_suffix(d.v[i], suffix))
                continue;
            for (size_t k = 0; k < out->n && !dup; k++)
                dup = strcmp(strrchr(out->v[k], '/') + 1, d.v[i]) == 0;
            if (dup)
                continue;
            if (out->n >= DA_MAX_CONF_DIR) {
                e = DA_ERR_TOO_LARGE;
                *bad = *dirs;
                break;
            }
            snprintf(path, sizeof(path), "%s/%s", *dirs, d.v[i]);
            grown = realloc(out->v, (out->n + 1) * sizeof(*grown));
            if (grown == NULL) {
                e = DA_ERR_NOMEM;
                break;
            }
            out->v = grown;
            out->v[out->n] = strdup(path);
            if (out->v[out->n] == NULL) {
                e = DA_ERR_NOMEM;
                break;
            }
            out->n++;
        }
        col_names_free(&d);
    }
    if (e < 0) {
        col_names_free(out);
        return e;
    }
    if (out->n > 1)
        qsort(out->v, out->n, sizeof(*out->v), col_path_base_cmp);
    return 0;
}
