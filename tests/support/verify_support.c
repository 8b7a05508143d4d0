#include "verify_support.h"
#include "picky.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int vs_read_file(const char *path, uint8_t **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *p = NULL;
    size_t n = 0, cap = 1u << 20;

    *data = NULL;
    *len = 0;
    if (f == NULL)
        return -1;
    p = malloc(cap + 1);
    if (p != NULL)
        n = fread(p, 1, cap + 1, f);
    fclose(f);
    if (p == NULL || n > cap) {
        free(p);
        return -1;
    }
    *data = p;
    *len = n;
    return 0;
}

int vs_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    int ok;

    if (f == NULL)
        return -1;
    ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok ? 0 : -1;
}

int vs_run(const char *const *argv)
{
    pid_t pid = fork();
    int status;

    if (pid < 0)
        return -1;
    if (pid == 0) {
        execv(argv[0], (char *const *)DA_UNCONST(argv));
        _exit(127);
    }
    if (waitpid(pid, &status, 0) < 0)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int vs_fixture(const char *arg, ...)
{
    const char *argv[12];
    va_list ap;
    size_t n = 1;

    argv[0] = DA_SOURCE_ROOT "/tests/integration/verify-tpm-fixture";
    va_start(ap, arg);
    while (arg != NULL && n < 10) {
        argv[n++] = arg;
        arg = va_arg(ap, const char *);
    }
    va_end(ap);
    argv[n] = NULL;
    return vs_run(argv);
}

void vs_hex(const uint8_t *p, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < len; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * len] = '\0';
}

const char *vs_path(const char *dir, const char *name)
{
    static char bufs[8][PATH_MAX];
    static unsigned next;
    char *b = bufs[next++ % 8];

    snprintf(b, PATH_MAX, "%s/%s", dir, name);
    return b;
}
