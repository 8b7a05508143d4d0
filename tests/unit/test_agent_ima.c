/* The agent's reading of the IMA list (agent/uploader/ima_increment.c) on
 * files written here: the entries after a count, across the reading
 * window (a list of several hundred KiB), a count beyond the list, a cut
 * entry, the cap. */
#include "da_test.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "caps.h"
#include "err.h"
#include "ima_build.h"
#include "ima_increment.h"
#include "ima_log.h"
#include "tmp_tree.h"

struct fx {
    char dir[512], path[600];
    struct da_test_ima list;
    size_t offsets[4096];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    unsigned char d[32];

    if (f == NULL || da_test_tmpdir("da-agent-ima", f->dir, sizeof(f->dir)) != 0)
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/list", f->dir);
    /* 3000 entries with long paths: over 800 KiB, more than three reading
     * windows */
    for (size_t i = 0; i < 3000; i++) {
        char path[300];
        memset(d, (int)i, sizeof(d));
        snprintf(path, sizeof(path), "/usr/lib/x86_64-linux-gnu/%0150zu.so", i);
        f->offsets[i] = f->list.len;
        if (da_test_ima_add(&f->list, 10, "sha256", d, 32, path, NULL, 0, 0) != 0)
            return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    if (f == NULL)
        return 0;
    da_test_rmtree(f->dir);
    free(f);
    return 0;
}

static int write_file(const char *path, const void *p, size_t n)
{
    FILE *fp = fopen(path, "wb");

    if (fp == NULL)
        return -1;
    if (n > 0 && fwrite(p, 1, n, fp) != n) {
        fclose(fp);
        return -1;
    }
    return fclose(fp);
}

static void expect_from(struct fx *f, int fd, uint64_t skip)
{
    struct da_buf out;
    size_t at = skip < 3000 ? f->offsets[skip] : f->list.len;

    assert_int_equal(agent_ima_increment(fd, skip, &out), 0);
    assert_int_equal(da_buf_len(&out), f->list.len - at);
    if (da_buf_len(&out) > 0)
        assert_memory_equal(da_buf_data(&out), f->list.data + at, da_buf_len(&out));
    da_buf_free(&out);
}

static void test_increments(void **state)
{
    struct fx *f = *state;
    struct da_buf out;
    int fd;

    assert_true(f->list.len > 3 * 256 * 1024);
    assert_int_equal(write_file(f->path, f->list.data, f->list.len), 0);
    assert_int_equal(agent_ima_open(f->path, &fd), 0);
    expect_from(f, fd, 0);
    expect_from(f, fd, 1);
    expect_from(f, fd, 1234);
    expect_from(f, fd, 2999);
    expect_from(f, fd, 3000); /* nothing new */
    assert_int_equal(agent_ima_increment(fd, 3001, &out), DA_ERR_NOT_FOUND);
    close(fd);
    assert_int_equal(agent_ima_open("/nonexistent/ima", &fd), DA_ERR_NOT_FOUND);
}

static void test_malformed_and_cap(void **state)
{
    struct fx *f = *state;
    struct da_buf out;
    FILE *fp;
    int fd;

    /* a skipped entry cut by the end of the list */
    assert_int_equal(write_file(f->path, f->list.data, f->offsets[10] + 5), 0);
    assert_int_equal(agent_ima_open(f->path, &fd), 0);
    assert_int_equal(agent_ima_increment(fd, 11, &out), DA_ERR_TPM_IMA_LOG);
    /* what follows the count is sent as it is (the server checks it) */
    assert_int_equal(agent_ima_increment(fd, 10, &out), 0);
    assert_int_equal(da_buf_len(&out), 5);
    da_buf_free(&out);
    close(fd);
    /* more than a report may carry */
    fp = fopen(f->path, "wb");
    assert_non_null(fp);
    for (int i = 0; i < 4; i++)
        assert_int_equal(fwrite(f->list.data, 1, f->list.len, fp), f->list.len);
    assert_int_equal(fclose(fp), 0);
    assert_true(4 * f->list.len > DA_MAX_IMA_INCREMENT);
    assert_int_equal(agent_ima_open(f->path, &fd), 0);
    assert_int_equal(agent_ima_increment(fd, 0, &out), DA_ERR_TOO_LARGE);
    assert_int_equal(agent_ima_increment(fd, 4 * 3000 - 10, &out), 0);
    assert_int_equal(da_buf_len(&out), f->list.len - f->offsets[2990]);
    da_buf_free(&out);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_increments),
        cmocka_unit_test(test_malformed_and_cap),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
