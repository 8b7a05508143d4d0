/* The disk collector's device-mapper table (collector/col_disk.c) on small
 * fake sysfs trees, one stack per case. The ground truth is how cryptsetup
 * and LVM name their device-mapper devices (the dm uuid, as `dmsetup info -c
 * -o uuid` shows it): cryptsetup prefixes CRYPT-<TYPE>- with TYPE LUKS1,
 * LUKS2, PLAIN, BITLK, VERITY or INTEGRITY (lib/utils_devpath.c and
 * lib/setup.c of cryptsetup: "CRYPT-%s-%s-%s", type, uuid, name), LVM
 * prefixes LVM-. The first four are encryption, verity and integrity are not,
 * and a logical volume is only as encrypted as what lies below it. */
#include "da_test.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "err.h"
#include "tmp_tree.h"

struct stack_case {
    const char *name;
    const char *uuid0;      /* dm-0 over sda2 */
    const char *uuid1;      /* dm-1 over dm-0, or NULL */
    int encrypted;          /* 1 or 0 */
    const char *scheme;     /* the volume's scheme */
    const char *top_kind;   /* kind of the device mounted on / */
    const char *top_scheme; /* its scheme member, NULL for none */
};

#define LUKS_UUID "6f1e2d3c4b5a69788796a5b4c3d2e1f0"

static const struct stack_case cases[] = {
    {"luks1", "CRYPT-LUKS1-" LUKS_UUID "-root", NULL, 1, "luks1", "crypt", "luks1"},
    {"luks2", "CRYPT-LUKS2-" LUKS_UUID "-root", NULL, 1, "luks2", "crypt", "luks2"},
    {"plain", "CRYPT-PLAIN-root", NULL, 1, "plain", "crypt", "plain"},
    {"bitlk", "CRYPT-BITLK-2a3b4c5d-6e7f-4081-9a2b-3c4d5e6f7081-win", NULL, 1, "bitlk", "crypt",
     "bitlk"},
    {"lvm_on_luks1", "CRYPT-LUKS1-" LUKS_UUID "-pv", "LVM-abcdefROOT", 1, "luks1", "lvm", NULL},
    {"lvm_on_bitlk", "CRYPT-BITLK-2a3b4c5d-6e7f-4081-9a2b-3c4d5e6f7081-pv", "LVM-abcdefROOT", 1,
     "bitlk", "lvm", NULL},
    {"verity", "CRYPT-VERITY-0f1e2d3c4b5a69788796a5b4c3d2e1f0-usr", NULL, 0, "none", "verity",
     NULL},
    {"integrity", "CRYPT-INTEGRITY-root", NULL, 0, "none", "integrity", NULL},
    {"lvm", "LVM-abcdefROOT", NULL, 0, "none", "lvm", NULL},
    {"lvm_on_integrity", "CRYPT-INTEGRITY-pv", "LVM-abcdefROOT", 0, "none", "lvm", NULL},
    {"verity_on_plain", "CRYPT-PLAIN-data", "CRYPT-VERITY-0f1e-usr", 1, "plain", "verity", NULL},
};

static char dir[256];

static void w(const char *root, const char *rel, const char *text)
{
    assert_int_equal(da_test_write(root, rel, text), 0);
}

static void ln(const char *root, const char *rel, const char *target)
{
    assert_int_equal(da_test_symlink(root, rel, target), 0);
}

/* A block device NAME (MAJ:MIN) whose sysfs directory is sys/SYSDIR. */
static void blockdev(const char *root, const char *name, const char *dev, const char *sysdir,
                     const char *type)
{
    char rel[512], text[256], target[512];
    unsigned maj, min;

    assert_int_equal(sscanf(dev, "%u:%u", &maj, &min), 2);
    snprintf(rel, sizeof(rel), "sys/%s/dev", sysdir);
    snprintf(text, sizeof(text), "%s\n", dev);
    w(root, rel, text);
    snprintf(rel, sizeof(rel), "sys/%s/uevent", sysdir);
    snprintf(text, sizeof(text), "MAJOR=%u\nMINOR=%u\nDEVNAME=%s\nDEVTYPE=%s\n", maj, min, name,
             type);
    w(root, rel, text);
    snprintf(rel, sizeof(rel), "sys/dev/block/%s", dev);
    snprintf(target, sizeof(target), "../../%s", sysdir);
    ln(root, rel, target);
    snprintf(rel, sizeof(rel), "sys/class/block/%s", name);
    ln(root, rel, target);
}

/* dm-N over the device whose sysfs directory is sys/SLAVE. */
static void dm(const char *root, const char *name, const char *dev, const char *uuid,
               const char *slave)
{
    char sysdir[128], rel[512], text[300], target[512];
    const char *base = strrchr(slave, '/') + 1;

    snprintf(sysdir, sizeof(sysdir), "devices/virtual/block/%s", name);
    blockdev(root, name, dev, sysdir, "disk");
    snprintf(rel, sizeof(rel), "sys/%s/dm/uuid", sysdir);
    snprintf(text, sizeof(text), "%s\n", uuid);
    w(root, rel, text);
    snprintf(rel, sizeof(rel), "sys/%s/slaves/%s", sysdir, base);
    snprintf(target, sizeof(target), "../../../../../%s", slave);
    ln(root, rel, target);
}

static void build(const struct stack_case *c, char *root, size_t n)
{
    const char *top = c->uuid1 != NULL ? "253:1" : "253:0";
    char text[256];

    snprintf(root, n, "%s/%s", dir, c->name);
    blockdev(root, "sda", "8:0", "devices/pci0000:00/block/sda", "disk");
    blockdev(root, "sda2", "8:2", "devices/pci0000:00/block/sda/sda2", "partition");
    dm(root, "dm-0", "253:0", c->uuid0, "devices/pci0000:00/block/sda/sda2");
    if (c->uuid1 != NULL)
        dm(root, "dm-1", "253:1", c->uuid1, "devices/virtual/block/dm-0");
    snprintf(text, sizeof(text), "21 1 %s / / rw,relatime - ext4 /dev/mapper/root rw\n", top);
    w(root, "proc/self/mountinfo", text);
    w(root, "etc/passwd", "root:x:0:0:root:/root:/bin/bash\n");
}

static cJSON *root_volume(cJSON *doc)
{
    cJSON *vols =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "disk"), "volumes");
    cJSON *v;

    cJSON_ArrayForEach(v, vols)
    {
        cJSON *p = cJSON_GetObjectItemCaseSensitive(v, "path");

        if (cJSON_IsString(p) && strcmp(p->valuestring, "/") == 0)
            return v;
    }
    fail_msg("no volume for /");
    return NULL;
}

static void check_case(const struct stack_case *c)
{
    static const struct col_sys_ops ops;
    char root[512];
    struct col_ctx ctx;
    cJSON *doc = NULL, *v, *enc, *top;
    const char *scheme, *kind;
    cJSON *ts;

    build(c, root, sizeof(root));
    memset(&ctx, 0, sizeof(ctx));
    ctx.root = root;
    ctx.now = 1767225600;
    ctx.cfg = col_default_config();
    ctx.ops = &ops;
    assert_int_equal(col_collect_evidence(&ctx, "disk", &doc), 0);
    v = root_volume(doc);
    enc = cJSON_GetObjectItemCaseSensitive(v, "encrypted");
    scheme = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "scheme"));
    top = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(v, "stack"), 0);
    kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(top, "kind"));
    ts = cJSON_GetObjectItemCaseSensitive(top, "scheme");
    if (!cJSON_IsBool(enc) || cJSON_IsTrue(enc) != c->encrypted)
        fail_msg("%s: encrypted is %s", c->name, cJSON_PrintUnformatted(enc));
    if (scheme == NULL || strcmp(scheme, c->scheme) != 0)
        fail_msg("%s: scheme %s, want %s", c->name, scheme, c->scheme);
    if (kind == NULL || strcmp(kind, c->top_kind) != 0)
        fail_msg("%s: top layer kind %s, want %s", c->name, kind, c->top_kind);
    if (c->top_scheme == NULL ? ts != NULL
                              : !cJSON_IsString(ts) || strcmp(ts->valuestring, c->top_scheme) != 0)
        fail_msg("%s: top layer scheme %s", c->name, cJSON_PrintUnformatted(ts));
    cJSON_Delete(doc);
}

static void test_stacks(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_case(&cases[i]);
}

static int make_dir(void **state)
{
    (void)state;
    return da_test_tmpdir("da-disk", dir, sizeof(dir));
}

static int remove_dir(void **state)
{
    (void)state;
    return da_test_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stacks),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
