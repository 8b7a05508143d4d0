/* common/file.h: whole-file writes, replace and create-only. */
#include "da_test.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "file.h"

static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void expect_content(const char *dir, const char *name, const char *want)
{
    char path[300];
    struct da_buf b;
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    assert_int_equal(da_file_read(path, 1024, &b), 0);
    assert_int_equal(da_buf_len(&b), strlen(want));
    assert_memory_equal(da_buf_data(&b), want, strlen(want));
    da_buf_free(&b);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_replace_and_new(void **state)
{
    char dir[] = "/tmp/da-file-XXXXXX", path[300];

    (void)state;
    assert_non_null(mkdtemp(dir));
    assert_int_equal(da_file_write(dir, "a", "one", 3, DA_WRITE_NEW), 0);
    expect_content(dir, "a", "one");
    /* create-only: the existing file stays */
    assert_int_equal(da_file_write(dir, "a", "two", 3, DA_WRITE_NEW), DA_ERR_EXISTS);
    expect_content(dir, "a", "one");
    assert_int_equal(da_file_write(dir, "a", "three", 5, DA_WRITE_REPLACE), 0);
    expect_content(dir, "a", "three");
    assert_int_equal(entries(dir), 1); /* no temporary left */
    /* a symbolic link in the way of the temporary is not followed */
    snprintf(path, sizeof(path), "%s/.tmp-b-%ld", dir, (long)getpid());
    assert_int_equal(symlink("/etc/passwd", path), 0);
    assert_int_equal(da_file_write(dir, "b", "x", 1, DA_WRITE_REPLACE), 0);
    expect_content(dir, "b", "x");
    assert_int_equal(entries(dir), 2);
    /* a directory that does not exist */
    assert_int_equal(da_file_write("/nonexistent-dir", "c", "x", 1, DA_WRITE_REPLACE), DA_ERR_IO);
    assert_int_equal(errno, ENOENT);
    snprintf(path, sizeof(path), "%s/a", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/b", dir);
    unlink(path);
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replace_and_new),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
