/* common/tar.c against GNU tar: what we write GNU tar lists and extracts
 * byte for byte; what GNU tar writes in ustar format we read; everything
 * else a pack must not hold is refused (corpus of tests/fuzz/corpus/pack_tar). */
#include "da_test.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "buf.h"
#include "err.h"
#include "file.h"
#include "tar.h"

struct seen {
    char names[8][DA_TAR_NAME_MAX + 1];
    size_t lens[8];
    int n;
};

static int record(const struct da_tar_member *m, void *arg)
{
    struct seen *s = arg;

    if (s->n < 8) {
        snprintf(s->names[s->n], sizeof(s->names[0]), "%s", m->name);
        s->lens[s->n++] = m->len;
    }
    return 0;
}

static int read_file(const char *path, struct da_buf *b)
{
    da_buf_init(b, 1u << 24);
    return da_file_read(path, 1u << 24, b);
}

static void test_gnu_tar_reads_ours(void **state)
{
    struct da_buf b;
    char dir[] = "/tmp/da-tar-XXXXXX", cmd[512], line[256];
    static char big[512];
    FILE *p, *f;
    int n = 0, st;

    (void)state;
    assert_non_null(mkdtemp(dir));
    memset(big, 'z', sizeof(big));
    da_buf_init(&b, 1u << 20);
    assert_int_equal(da_tar_add(&b, "pack.json", "{}", 2, 1700000000), 0);
    assert_int_equal(da_tar_add(&b, "reports/x/report.json", big, 512, 1700000000), 0);
    assert_int_equal(da_tar_add(&b, "empty", "", 0, 0), 0);
    assert_int_equal(da_tar_add(&b, "../up", "x", 1, 0), DA_ERR_INVALID_ARG);
    assert_int_equal(da_tar_add(&b, "/abs", "x", 1, 0), DA_ERR_INVALID_ARG);
    assert_int_equal(da_tar_finish(&b), 0);
    snprintf(cmd, sizeof(cmd), "%s/t.tar", dir);
    f = fopen(cmd, "wb");
    assert_int_equal(fwrite(da_buf_data(&b), 1, da_buf_len(&b), f), da_buf_len(&b));
    fclose(f);
    snprintf(cmd, sizeof(cmd), "tar -tvf %s/t.tar", dir);
    p = popen(cmd, "r");
    while (fgets(line, sizeof(line), p) != NULL) {
        n++;
        assert_non_null(strstr(line, "-rw-r--r--"));
    }
    st = pclose(p);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_int_equal(n, 3);
    /* extracted content equals what was written */
    snprintf(cmd, sizeof(cmd), "tar -xOf %s/t.tar reports/x/report.json | wc -c", dir);
    p = popen(cmd, "r");
    assert_non_null(fgets(line, sizeof(line), p));
    pclose(p);
    assert_int_equal(strtol(line, NULL, 10), 512);
    snprintf(cmd, sizeof(cmd), "rm -r %s", dir);
    assert_int_equal(system(cmd), 0);
    da_buf_free(&b);
}

static void test_we_read_gnu_tar(void **state)
{
    struct da_buf b;
    struct seen s;
    char path[PATH_MAX];

    (void)state;
    memset(&s, 0, sizeof(s));
    snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/pack_tar/gnu-ustar-two-files.tar",
             DA_SOURCE_ROOT);
    assert_int_equal(read_file(path, &b), 0);
    assert_int_equal(da_tar_read(da_buf_data(&b), da_buf_len(&b), record, &s), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.names[0], "a.txt");
    assert_int_equal(s.lens[0], 6);
    assert_string_equal(s.names[1], "d/b.json");
    assert_int_equal(s.lens[1], 7);
    da_buf_free(&b);
}

static void test_refusals(void **state)
{
    static const char *const bad[] = {"gnu-ustar-directory.tar",
                                      "gnu-ustar-symlink.tar",
                                      "truncated.tar",
                                      "duplicate-name.tar",
                                      "dotdot.tar",
                                      "bad-checksum.tar",
                                      "trailing-junk.tar",
                                      "pax.tar"};
    char path[PATH_MAX];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct da_buf b;
        struct seen s;

        memset(&s, 0, sizeof(s));
        snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/pack_tar/%s", DA_SOURCE_ROOT, bad[i]);
        assert_int_equal(read_file(path, &b), 0);
        if (da_tar_read(da_buf_data(&b), da_buf_len(&b), record, &s) != DA_ERR_PACK_INVALID)
            fail_msg("%s accepted", bad[i]);
        assert_int_equal(s.n, 0); /* checked whole before any member is handed out */
        da_buf_free(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gnu_tar_reads_ours),
        cmocka_unit_test(test_we_read_gnu_tar),
        cmocka_unit_test(test_refusals),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
