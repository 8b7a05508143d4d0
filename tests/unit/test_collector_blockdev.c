/* The backing device of a swap partition by device number as well as by
 * name. The kernel names a block device by MAJ:MIN in /sys/dev/block; a
 * device node's number is its st_rdev (what `stat -c %t:%T` prints), so a
 * node with a name sysfs does not know (created by hand, renamed by a
 * udev rule) is still found; a /dev/mapper name with no node and no link is
 * found through dm/name. The root is the lvm_luks2 fixture, whose swap is
 * dm-3 (253:3), LVM on LUKS2. */
#include "da_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "collector.h"
#include "err.h"
#include "tmp_tree.h"

static char base_dir[256], root[300];

static void put(const char *rel, const char *text)
{
    char p[600];
    FILE *f;

    snprintf(p, sizeof(p), "%s%s", root, rel);
    f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    char cmd[700];

    (void)state;
    if (da_test_tmpdir("da-blockdev", base_dir, sizeof(base_dir)) != 0)
        return -1;
    snprintf(cmd, sizeof(cmd), "bash '%s/tests/fixtures/build-roots.sh' '%s' >/dev/null",
             DA_SOURCE_ROOT, base_dir);
    if (system(cmd) != 0)
        return -1;
    snprintf(root, sizeof(root), "%.250s/lvm_luks2", base_dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return da_test_rmtree(base_dir);
}

static cJSON *swap0(cJSON **doc)
{
    static const struct col_config cfg = {.path_env = "/usr/bin"};
    struct col_ctx ctx;

    memset(&ctx, 0, sizeof(ctx));
    ctx.root = root;
    ctx.now = 1767225600;
    ctx.cfg = &cfg;
    ctx.ops = &col_root_ops;
    *doc = NULL;
    assert_int_equal(col_collect_evidence(&ctx, "disk", doc), 0);
    return cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(*doc, "disk"), "swap"), 0);
}

static void expect_dm3(const cJSON *s)
{
    const cJSON *stack = cJSON_GetObjectItem(s, "stack");

    assert_true(cJSON_IsArray(stack));
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(stack, 0), "dev")->valuestring,
                        "253:3");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(s, "encrypted")));
    assert_string_equal(cJSON_GetObjectItem(s, "scheme")->valuestring, "luks2");
}

static void swaps(const char *name)
{
    char text[300];

    snprintf(text, sizeof(text),
             "Filename\tType\tSize\tUsed\tPriority\n%s partition\t8388604\t0\t-2\n", name);
    put("/proc/swaps", text);
}

static void test_by_device_number(void **state)
{
    char node[600];
    struct stat st;
    cJSON *doc, *s;

    (void)state;
    snprintf(node, sizeof(node), "%s/dev/renamed-swap", root);
    if (mknod(node, S_IFBLK | 0600, makedev(253, 3)) != 0)
        skip(); /* no CAP_MKNOD here */
    assert_int_equal(stat(node, &st), 0);
    assert_int_equal(major(st.st_rdev), 253);
    assert_int_equal(minor(st.st_rdev), 3);
    swaps("/dev/renamed-swap"); /* no such name in /sys/class/block */
    s = swap0(&doc);
    expect_dm3(s);
    cJSON_Delete(doc);
    /* the same with a name the kernel escapes in /proc/swaps */
    snprintf(node, sizeof(node), "%s/dev/my swap", root);
    assert_int_equal(mknod(node, S_IFBLK | 0600, makedev(253, 3)), 0);
    swaps("/dev/my\\040swap");
    s = swap0(&doc);
    assert_string_equal(cJSON_GetObjectItem(s, "path")->valuestring, "/dev/my swap");
    expect_dm3(s);
    cJSON_Delete(doc);
}

static void test_by_dm_name(void **state)
{
    char link[600];
    cJSON *doc, *s;

    (void)state;
    /* no node and no link for the mapper name: only dm/name tells */
    snprintf(link, sizeof(link), "%s/dev/mapper/vg-swap", root);
    unlink(link);
    put("/sys/devices/virtual/block/dm-3/dm/name", "vg-swap\n");
    swaps("/dev/mapper/vg-swap");
    s = swap0(&doc);
    expect_dm3(s);
    cJSON_Delete(doc);
    /* and a name nothing knows stays unknown, never "not encrypted" */
    swaps("/dev/mapper/nothing");
    s = swap0(&doc);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(s, "encrypted"), "unknown")->valuestring,
        "not_present");
    cJSON_Delete(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_by_device_number),
        cmocka_unit_test(test_by_dm_name),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
