#include "access_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "log.h"

struct srv_access_log {
    int fd;
    bool own_fd;
    atomic_uint_fast64_t failures;
    char path[4096]; /* the file's path; "" for standard error */
};

static int open_file(const char *path)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
}

int srv_access_log_open(const char *target, struct srv_access_log **out)
{
    struct srv_access_log *l;

    *out = NULL;
    if (target[0] == '\0')
        return 0;
    if (strcmp(target, "stderr") != 0 && target[0] != '/')
        return DA_ERR_CONFIG;
    l = calloc(1, sizeof(*l));
    if (l == NULL)
        return DA_ERR_NOMEM;
    if (strcmp(target, "stderr") == 0) {
        l->fd = STDERR_FILENO;
    } else {
        if (strlen(target) >= sizeof(l->path)) {
            free(l);
            return DA_ERR_CONFIG;
        }
        memcpy(l->path, target, strlen(target) + 1);
        l->fd = open_file(target);
        if (l->fd < 0) {
            da_error_f("access log %s: %s", target, strerror(errno));
            free(l);
            return DA_ERR_IO;
        }
        l->own_fd = true;
    }
    *out = l;
    return 0;
}

static void rfc3339_ms(int64_t ms, char out[40])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    size_t n;

    gmtime_r(&t, &tm);
    n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 40 - n, ".%03dZ", (int)(ms % 1000));
}

void srv_access_log_write(struct srv_access_log *log, const struct srv_access_entry *e)
{
    cJSON *o;
    char ts[40], *line = NULL;
    size_t len, off = 0;
    bool ok;

    if (log == NULL)
        return;
    rfc3339_ms(e->time_ms, ts);
    o = cJSON_CreateObject();
    ok = o != NULL && cJSON_AddStringToObject(o, "time", ts) != NULL &&
         cJSON_AddStringToObject(o, "address", e->address) != NULL &&
         cJSON_AddStringToObject(o, "method", e->method) != NULL &&
         cJSON_AddStringToObject(o, "route", e->route) != NULL &&
         cJSON_AddNumberToObject(o, "status", e->status) != NULL &&
         cJSON_AddNumberToObject(o, "bytes", (double)e->bytes) != NULL &&
         cJSON_AddNumberToObject(o, "duration_ms", (double)e->duration_us / 1000.0) != NULL &&
         cJSON_AddStringToObject(o, "principal", e->principal) != NULL &&
         cJSON_AddStringToObject(o, "code", e->code) != NULL;
    if (ok)
        line = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (line == NULL) {
        atomic_fetch_add(&log->failures, 1);
        return;
    }
    len = strlen(line);
    line[len++] = '\n'; /* replaces the NUL: the buffer is not a string any more */
    while (off < len) {
        ssize_t w = write(log->fd, line + off, len - off);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            atomic_fetch_add(&log->failures, 1);
            break;
        }
        off += (size_t)w;
    }
    free(line);
}

int srv_access_log_reopen(struct srv_access_log *log)
{
    int fd;

    if (log == NULL || !log->own_fd)
        return 0;
    fd = open_file(log->path);
    if (fd < 0) {
        da_error_f("access log %s: reopen: %s (still writing to the file open before)", log->path,
                   strerror(errno));
        return DA_ERR_IO;
    }
    /* dup3 replaces the descriptor in one step: a write running in another
     * thread goes whole to the old file or whole to the new one */
    if (dup3(fd, log->fd, O_CLOEXEC) < 0) {
        int e = errno;

        close(fd);
        da_error_f("access log %s: reopen: %s", log->path, strerror(e));
        return DA_ERR_IO;
    }
    close(fd);
    return 0;
}

uint64_t srv_access_log_failures(const struct srv_access_log *log)
{
    return log != NULL ? atomic_load(&log->failures) : 0;
}

void srv_access_log_close(struct srv_access_log *log)
{
    if (log == NULL)
        return;
    if (log->own_fd)
        close(log->fd);
    free(log);
}
