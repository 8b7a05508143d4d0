#include "test_io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "da_test.h"

int da_test_sh(char *out, size_t size, const char *fmt, ...)
{
    char cmd[4096], sink[4096];
    va_list ap;
    FILE *p;
    size_t n;
    int st, len;

    va_start(ap, fmt);
    len = vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    assert_true(len >= 0 && (size_t)len < sizeof(cmd));
    p = popen(cmd, "r");
    assert_non_null(p);
    if (out != NULL) {
        assert_true(size > 0);
        n = fread(out, 1, size - 1, p);
        out[n] = '\0';
    }
    while (fread(sink, 1, sizeof(sink), p) > 0)
        ;
    st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

char *da_test_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *b;
    long n;

    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    assert_int_equal(fclose(f), 0);
    b[n] = '\0';
    if (len != NULL)
        *len = (size_t)n;
    return b;
}

void da_test_spill(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

int da_test_count(const char *hay, const char *needle)
{
    size_t step = strlen(needle);
    int n = 0;

    assert_true(step > 0);
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += step)
        n++;
    return n;
}
