/* disk: encryption of the volumes that hold /, /home, /var, /tmp, every
 * home directory and mount under /home, the configured source/build
 * directories, and swap. Block-backed volumes are walked down
 * /sys/dev/block/MAJ:MIN through dm and md slaves to the disks; a volume is
 * encrypted when every path down its stack crosses an encryption layer. */
#include "collector.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "err.h"
#include "caps.h"
#include "mountinfo.h"

enum col_enc { COL_ENC_NO = 0, COL_ENC_YES = 1, COL_ENC_UNKNOWN = 2 };

struct col_walk {
    const struct col_ctx *ctx;
    int err;            /* a sysfs file of the stack that exists but cannot be read */
    char err_path[512]; /* makes the whole stack unknown, never a guess */
    cJSON *stack;
    const char *scheme; /* first encryption layer met */
    int persistent;     /* 0 for zram */
    int nodes;
};

struct col_dm_kind {
    const char *prefix;
    const char *kind;
    const char *scheme; /* non-NULL for encryption layers */
};

/* cryptsetup and LVM name their dm devices by uuid prefix. Order matters:
 * the OPAL prefix is longer than the LUKS2 one it starts with. */
static const struct col_dm_kind col_dm_kinds[] = {
    {"CRYPT-LUKS2-OPAL-", "crypt", "opal"},
    {"CRYPT-LUKS1-", "crypt", "luks1"},
    {"CRYPT-LUKS2-", "crypt", "luks2"},
    {"CRYPT-PLAIN-", "crypt", "plain"},
    {"CRYPT-BITLK-", "crypt", "bitlk"},
    {"CRYPT-TCRYPT-", "crypt", "tcrypt"},
    {"CRYPT-LOOPAES-", "crypt", "loopaes"},
    {"CRYPT-FVAULT2-", "crypt", "fvault2"},
    {"CRYPT-SUBDEV-", "crypt-subdevice", NULL},
    {"CRYPT-VERITY-", "verity", NULL},
    {"CRYPT-INTEGRITY-", "integrity", NULL},
    {"LVM-", "lvm", NULL},
    {"mpath-", "multipath", NULL},
    {"part", "partition", NULL},
};

static void col_walk_note(struct col_walk *w, int e, const char *rel)
{
    if (e < 0 && e != DA_ERR_NOT_FOUND && w->err == 0) {
        w->err = e;
        snprintf(w->err_path, sizeof(w->err_path), "%s", rel);
    }
}

static int col_sys_line(struct col_walk *w, const char *dev, const char *file, char *out, size_t n)
{
    char rel[512];
    int e;

    snprintf(rel, sizeof(rel), "/sys/dev/block/%s/%s", dev, file);
    e = col_read_line(w->ctx, rel, out, n);
    col_walk_note(w, e, rel);
    return e;
}

/* Value of KEY= in the device's uevent. */
static void col_uevent(struct col_walk *w, const char *dev, const char *key, char *out, size_t n)
{
    char rel[512];
    struct da_buf b;
    const char *p;
    size_t klen = strlen(key);
    int e;

    out[0] = '\0';
    snprintf(rel, sizeof(rel), "/sys/dev/block/%s/uevent", dev);
    da_buf_init(&b, DA_MAX_SMALL_SYSFILE);
    e = col_read_file(w->ctx, rel, &b);
    col_walk_note(w, e, rel);
    if (e == 0) {
        for (p = da_buf_str(&b); *p != '\0';) {
            size_t len = strcspn(p, "\n");

            if (len > klen && memcmp(p, key, klen) == 0 && p[klen] == '=' && len - klen - 1 < n) {
                memcpy(out, p + klen + 1, len - klen - 1);
                out[len - klen - 1] = '\0';
            }
            p += len;
            if (*p == '\n')
                p++;
        }
    }
    da_buf_free(&b);
}

static int col_walk_node(struct col_walk *w, const char *dev, int depth, enum col_enc *enc);

/* Walk the slaves of dev; combine: all encrypted = yes, any plaintext = no. */
static int col_walk_slaves(struct col_walk *w, const char *dev, int depth, cJSON *lower,
                           enum col_enc *enc, int *count)
{
    char rel[512], sdev[64];
    struct da_rootfs_dir *d = NULL;
    struct da_rootfs_dirent e;
    int r = 0, any_no = 0, any_unknown = 0, more;

    *count = 0;
    snprintf(rel, sizeof(rel), "/sys/dev/block/%s/slaves", dev);
    more = col_opendir(w->ctx, rel, &d);
    if (more == DA_ERR_NOT_FOUND)
        return 0;
    col_walk_note(w, more, rel);
    if (more < 0) {
        *enc = COL_ENC_UNKNOWN; /* slaves we cannot list may be plaintext */
        *count = 1;
        return 0;
    }
    while (r == 0 && (more = da_rootfs_readdir(d, &e)) == 1) {
        enum col_enc ce;

        if (e.name[0] == '.')
            continue;
        snprintf(rel, sizeof(rel), "/sys/dev/block/%s/slaves/%s/dev", dev, e.name);
        if (col_sys_line(w, dev, rel + strlen("/sys/dev/block/") + strlen(dev) + 1, sdev,
                         sizeof(sdev)) < 0) {
            any_unknown = 1;
            continue;
        }
        (*count)++;
        r = col_push_str(lower, e.name);
        if (r == 0)
            r = col_walk_node(w, sdev, depth + 1, &ce);
        any_no |= r == 0 && ce == COL_ENC_NO;
        any_unknown |= r == 0 && ce == COL_ENC_UNKNOWN;
    }
    da_rootfs_closedir(d);
    col_walk_note(w, more < 0 ? more : 0, rel);
    if (more < 0) {
        any_unknown = 1;
        (*count)++;
    }
    *enc = any_no ? COL_ENC_NO : any_unknown ? COL_ENC_UNKNOWN : COL_ENC_YES;
    return r;
}

/* Classify one device; fills kind, scheme and whether it is a dm device
 * whose purpose cannot be told. */
static void col_classify(struct col_walk *w, const char *dev, const char *name, const char **kind,
                         const char **scheme, char *detail, size_t dn)
{
    char uuid[256], level[64], devtype[32];
    struct stat st;
    char rel[512];
    size_t i;
    int e;

    *kind = "disk";
    *scheme = NULL;
    detail[0] = '\0';
    if (col_sys_line(w, dev, "dm/uuid", uuid, sizeof(uuid)) == 0) {
        *kind = "dm";
        for (i = 0; i < sizeof(col_dm_kinds) / sizeof(col_dm_kinds[0]); i++) {
            if (strncmp(uuid, col_dm_kinds[i].prefix, strlen(col_dm_kinds[i].prefix)) == 0) {
                *kind = col_dm_kinds[i].kind;
                *scheme = col_dm_kinds[i].scheme;
                return;
            }
        }
        snprintf(detail, dn, "dm uuid '%.200s'", uuid);
        return;
    }
    if (col_sys_line(w, dev, "md/level", level, sizeof(level)) == 0) {
        *kind = "md";
        snprintf(detail, dn, "%s", level);
        return;
    }
    if (strncmp(name, "zram", 4) == 0) {
        *kind = "zram";
        return;
    }
    snprintf(rel, sizeof(rel), "/sys/dev/block/%s/loop", dev);
    e = col_stat(w->ctx, rel, &st);
    col_walk_note(w, e, rel);
    if (e == 0) {
        *kind = "loop";
        return;
    }
    col_uevent(w, dev, "DEVTYPE", devtype, sizeof(devtype));
    if (strcmp(devtype, "partition") == 0)
        *kind = "partition";
}

static int col_walk_node(struct col_walk *w, const char *dev, int depth, enum col_enc *enc)
{
    char name[128], detail[256], parent[64];
    const char *kind, *scheme;
    cJSON *node = NULL, *lower = NULL;
    enum col_enc below = COL_ENC_NO;
    int r, nslaves = 0;

    *enc = COL_ENC_UNKNOWN;
    if (depth > DA_MAX_BLOCK_DEPTH || ++w->nodes > 256)
        return 0;
    col_uevent(w, dev, "DEVNAME", name, sizeof(name));
    if (name[0] == '\0')
        snprintf(name, sizeof(name), "%s", dev);
    col_classify(w, dev, name, &kind, &scheme, detail, sizeof(detail));
    node = cJSON_CreateObject();
    COL_TRY(col_push(w->stack, node));
    COL_TRY(col_add_str(node, "device", name));
    COL_TRY(col_add_str(node, "dev", dev));
    COL_TRY(col_add_str(node, "kind", kind));
    if (scheme != NULL)
        COL_TRY(col_add_str(node, "scheme", scheme));
    if (detail[0] != '\0')
        COL_TRY(col_add_str(node, "detail", detail));
    lower = cJSON_CreateArray();
    COL_TRY(col_add_item(node, "lower", lower));
    if (strcmp(kind, "zram") == 0)
        w->persistent = 0;
    if (scheme != NULL && w->scheme == NULL)
        w->scheme = scheme;
    if (strcmp(kind, "partition") == 0) {
        if (col_sys_line(w, dev, "../dev", parent, sizeof(parent)) == 0) {
            char pname[128];

            COL_TRY(col_walk_node(w, parent, depth + 1, &below));
            col_uevent(w, parent, "DEVNAME", pname, sizeof(pname));
            COL_TRY(col_push_str(lower, pname[0] != '\0' ? pname : parent));
            nslaves = 1;
        }
    } else {
        COL_TRY(col_walk_slaves(w, dev, depth, lower, &below, &nslaves));
    }
    if (scheme != NULL)
        *enc = COL_ENC_YES;
    else if (nslaves > 0)
        *enc = below;
    else if (strcmp(kind, "dm") == 0 || strcmp(kind, "loop") == 0 ||
             strcmp(kind, "crypt-subdevice") == 0)
        *enc = COL_ENC_UNKNOWN; /* a mapping or file whose backing we cannot see */
    else
        *enc = COL_ENC_NO;
out:
    return r;
}

/* MAJ:MIN of the block device at node (a path inside the root): by the
 * device number of the node itself when it is a block device, else by name
 * through sysfs: the node's real name (symlinks resolved inside the root,
 * /dev/mapper/X -> ../dm-0), then its own base name, then a device-mapper
 * device whose dm/name is the /dev/mapper name. 0 or DA_ERR_NOT_FOUND. */
static int col_node_line(const struct col_ctx *ctx, const char *rel, char *out, size_t n, int *err,
                         char *err_path, size_t en)
{
    int e = col_read_line(ctx, rel, out, n);

    if (e < 0 && e != DA_ERR_NOT_FOUND && *err == 0) {
        *err = e;
        snprintf(err_path, en, "%s", rel);
    }
    return e;
}

static int col_node_dev(const struct col_ctx *ctx, const char *node, char *dev, size_t n,
                        char *err_path, size_t en)
{
    char real[1024], rel[1200], name[256];
    const char *base;
    struct stat st;
    struct da_rootfs_dir *d = NULL;
    struct da_rootfs_dirent e;
    int found = 0, err = 0, more = 0;

    int se = col_stat(ctx, node, &st);

    if (se == 0 && S_ISBLK(st.st_mode)) {
        snprintf(dev, n, "%u:%u", major(st.st_rdev), minor(st.st_rdev));
        snprintf(rel, sizeof(rel), "/sys/dev/block/%s/dev", dev);
        if (col_stat(ctx, rel, &st) == 0)
            return 0;
    }
    if (se < 0 && se != DA_ERR_NOT_FOUND) {
        /* the node exists but cannot be looked at: no guess by name */
        snprintf(err_path, en, "%s", node);
        return se;
    }
    if (col_resolve_in_root(ctx, node, real, sizeof(real)) == 0 ||
        col_readlink(ctx, node, real, sizeof(real)) == 0) {
        /* the node's real name; a link whose target is not there (no udev
         * in a copied tree) still names the device */
        base = strrchr(real, '/') != NULL ? strrchr(real, '/') + 1 : real;
        snprintf(rel, sizeof(rel), "/sys/class/block/%s/dev", base);
        if (col_node_line(ctx, rel, dev, n, &err, err_path, en) == 0)
            return 0;
    }
    base = strrchr(node, '/') != NULL ? strrchr(node, '/') + 1 : node;
    snprintf(rel, sizeof(rel), "/sys/class/block/%s/dev", base);
    if (col_node_line(ctx, rel, dev, n, &err, err_path, en) == 0)
        return 0;
    if (strncmp(node, "/dev/mapper/", 12) != 0)
        return err != 0 ? err : DA_ERR_NOT_FOUND;
    more = col_opendir(ctx, "/sys/class/block", &d);
    if (more < 0) {
        if (err == 0 && more != DA_ERR_NOT_FOUND) {
            err = more;
            snprintf(err_path, en, "/sys/class/block");
        }
        return err != 0 ? err : DA_ERR_NOT_FOUND;
    }
    while (!found && (more = da_rootfs_readdir(d, &e)) == 1) {
        if (strncmp(e.name, "dm-", 3) != 0)
            continue;
        snprintf(rel, sizeof(rel), "/sys/class/block/%s/dm/name", e.name);
        if (col_node_line(ctx, rel, name, sizeof(name), &err, err_path, en) != 0 ||
            strcmp(name, node + 12) != 0)
            continue;
        snprintf(rel, sizeof(rel), "/sys/class/block/%s/dev", e.name);
        found = col_node_line(ctx, rel, dev, n, &err, err_path, en) == 0;
    }
    da_rootfs_closedir(d);
    if (found)
        return 0;
    if (more < 0 && err == 0) {
        err = more;
        snprintf(err_path, en, "/sys/class/block");
    }
    return err != 0 ? err : DA_ERR_NOT_FOUND;
}

/* MAJ:MIN of a mount's block device: from mountinfo, or for file systems
 * with anonymous device numbers (btrfs) from the source device node. */
static int col_mount_dev(const struct col_ctx *ctx, const struct col_mount *m, char *dev, size_t n,
                         char *err_path, size_t en)
{
    if (m->major != 0) {
        snprintf(dev, n, "%u:%u", m->major, m->minor);
        return 0;
    }
    if (strncmp(m->source, "/dev/", 5) != 0)
        return DA_ERR_NOT_FOUND;
    return col_node_dev(ctx, m->source, dev, n, err_path, en);
}

static int col_add_enc(cJSON *o, enum col_enc enc, const char *why)
{
    if (enc == COL_ENC_UNKNOWN)
        return col_add_unknown(o, "encrypted", COL_R_UNSUPPORTED, why);
    return col_add_bool(o, "encrypted", enc == COL_ENC_YES);
}

/* Encryption of a block device by its stack; fills o. */
/* Every fact of a block volume unknown for one reason. */
static int col_block_unknown(cJSON *o, const char *reason, const char *detail)
{
    static const char *const keys[] = {"stack", "encrypted", "scheme", "persistent"};
    size_t i;
    int r = 0;

    for (i = 0; r == 0 && i < sizeof(keys) / sizeof(keys[0]); i++) {
        cJSON_DeleteItemFromObjectCaseSensitive(o, keys[i]);
        r = col_add_unknown(o, keys[i], reason, detail);
    }
    return r;
}

static int col_block_volume(const struct col_ctx *ctx, cJSON *o, const char *dev)
{
    struct col_walk w;
    enum col_enc enc;
    int r;

    memset(&w, 0, sizeof(w));
    w.ctx = ctx;
    w.persistent = 1;
    w.stack = cJSON_CreateArray();
    COL_TRY(col_add_item(o, "stack", w.stack));
    COL_TRY(col_walk_node(&w, dev, 0, &enc));
    if (w.err != 0) {
        char detail[700];

        col_err_detail(w.err, w.err_path, detail, sizeof(detail));
        r = col_block_unknown(o, col_err_reason(w.err), detail);
        goto out;
    }
    COL_TRY(col_add_enc(o, enc, "a layer of the block stack cannot be identified"));
    COL_TRY(col_add_str(o, "scheme", enc == COL_ENC_YES ? w.scheme : "none"));
    COL_TRY(col_add_bool(o, "persistent", w.persistent));
out:
    return r;
}

static int col_is_memory_fs(const char *fstype)
{
    return strcmp(fstype, "tmpfs") == 0 || strcmp(fstype, "ramfs") == 0;
}

static int col_volume(const struct col_ctx *ctx, const struct col_mounts *mounts, cJSON *vols,
                      const char *path, const char *why)
{
    const struct col_mount *m = col_mounts_find(mounts, path);
    char dev[64], where[1300];
    cJSON *o = cJSON_CreateObject();
    int r, fs = 0, dfd, me;

    COL_TRY(col_push(vols, o));
    COL_TRY(col_add_str(o, "path", path));
    COL_TRY(col_add_str(o, "reason", why));
    if (m == NULL) {
        r = col_add_unknown(o, "encrypted", COL_R_NOT_PRESENT, "no mount holds this path");
        goto out;
    }
    COL_TRY(col_add_str(o, "mountpoint", m->mountpoint));
    COL_TRY(col_add_str(o, "source", m->source));
    COL_TRY(col_add_str(o, "fstype", m->fstype));
    if (ctx->ops->fscrypt_dir != NULL && da_rootfs_open_dirfd(ctx->fs, path, &dfd) == 0) {
        fs = ctx->ops->fscrypt_dir(dfd, path);
        close(dfd);
    }
    if (fs == 1) {
        COL_TRY(col_add_bool(o, "encrypted", 1));
        COL_TRY(col_add_str(o, "scheme", "fscrypt"));
        COL_TRY(col_add_bool(o, "persistent", 1));
    } else if (col_is_memory_fs(m->fstype)) {
        COL_TRY(col_add_bool(o, "encrypted", 0));
        COL_TRY(col_add_str(o, "scheme", "none"));
        COL_TRY(col_add_bool(o, "persistent", 0));
    } else if (strcmp(m->fstype, "ecryptfs") == 0) {
        COL_TRY(col_add_bool(o, "encrypted", 1));
        COL_TRY(col_add_str(o, "scheme", "ecryptfs"));
        COL_TRY(col_add_bool(o, "persistent", 1));
    } else if (strcmp(m->fstype, "zfs") == 0) {
        COL_TRY(col_add_unknown(o, "encrypted", COL_R_UNSUPPORTED,
                                "ZFS native encryption is not visible in procfs or sysfs"));
        COL_TRY(col_add_str(o, "scheme", "zfs"));
    } else if ((me = col_mount_dev(ctx, m, dev, sizeof(dev), where, sizeof(where))) == 0) {
        COL_TRY(col_block_volume(ctx, o, dev));
    } else if (me != DA_ERR_NOT_FOUND) {
        char detail[1400];

        col_err_detail(me, where, detail, sizeof(detail));
        COL_TRY(col_block_unknown(o, col_err_reason(me), detail));
    } else {
        char detail[256];

        snprintf(detail, sizeof(detail), "%.64s on %.128s: no block device to inspect", m->fstype,
                 m->source);
        COL_TRY(col_add_unknown(o, "encrypted", COL_R_UNSUPPORTED, detail));
    }
out:
    return r;
}

/* Directories directly under /home (user homes: fscrypt is per directory). */
/* Directories directly under /home (user homes: fscrypt is per directory),
 * a symlink to a directory included. 0, or the error of /home or of an
 * entry that exists and cannot be told (where names it); a FIFO, socket or
 * device there is not_regular. */
static int col_home_dirs(const struct col_ctx *ctx, const struct col_mounts *mounts, cJSON *vols,
                         char *where, size_t wn)
{
    char rel[512];
    struct da_rootfs_dir *d = NULL;
    struct da_rootfs_dirent e;
    char *names[256];
    size_t n = 0, i;
    int r = 0, more;

    snprintf(where, wn, "/home");
    more = col_opendir(ctx, "/home", &d);
    if (more == DA_ERR_NOT_FOUND)
        return 0;
    if (more < 0)
        return more;
    while (r == 0 && n < sizeof(names) / sizeof(names[0]) &&
           (more = da_rootfs_readdir(d, &e)) == 1) {
        struct stat st;

        if (e.name[0] == '.' || strlen(e.name) > 255 || e.type == DT_REG)
            continue;
        if (e.type != DT_DIR) {
            snprintf(rel, sizeof(rel), "/home/%s", e.name);
            r = col_stat(ctx, rel, &st);
            if (r == DA_ERR_NOT_FOUND || (r == 0 && S_ISREG(st.st_mode))) {
                r = 0; /* a dangling link or a file: no home */
                continue;
            }
            if (r == 0 && !S_ISDIR(st.st_mode))
                r = DA_ERR_NOT_REGULAR;
            if (r < 0) {
                snprintf(where, wn, "%s", rel);
                break;
            }
        }
        names[n] = strdup(e.name);
        if (names[n] != NULL)
            n++;
    }
    da_rootfs_closedir(d);
    if (more < 0 && r == 0)
        r = more;
    for (i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++)
            if (strcmp(names[j], names[i]) < 0) {
                char *t = names[i];

                names[i] = names[j];
                names[j] = t;
            }
    }
    for (i = 0; i < n; i++) {
        snprintf(rel, sizeof(rel), "/home/%s", names[i]);
        if (r == 0)
            r = col_volume(ctx, mounts, vols, rel, "home directory");
        free(names[i]);
    }
    for (i = 0; r == 0 && i < mounts->n; i++) {
        const char *mp = mounts->v[i].mountpoint;

        if (strncmp(mp, "/home/", 6) == 0 && strchr(mp + 6, '/') != NULL)
            r = col_volume(ctx, mounts, vols, mp, "mount under /home");
    }
    return r;
}

/* The kernel writes " \t\n\\" in /proc paths as octal escapes (\040). */
static void col_unescape_octal(char *s)
{
    char *o = s;

    for (; *s != '\0'; s++) {
        if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
            s[3] >= '0' && s[3] <= '7') {
            *o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
            s += 3;
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
}

/* /proc/swaps: "Filename Type Size Used Priority" */
static int col_swaps(const struct col_ctx *ctx, const struct col_mounts *mounts, cJSON *area)
{
    struct da_buf b;
    cJSON *arr = NULL;
    const char *p;
    int r, e;

    da_buf_init(&b, DA_MAX_SMALL_SYSFILE);
    e = col_read_file(ctx, "/proc/swaps", &b);
    if (e < 0) {
        r = col_add_unknown_err(area, "swap", e, "/proc/swaps");
        goto out;
    }
    arr = cJSON_CreateArray();
    COL_TRY(col_add_item(area, "swap", arr));
    p = da_buf_str(&b);
    p += strcspn(p, "\n"); /* header */
    while (*p == '\n') {
        char name[1024], type[32], dev[64];
        size_t len;
        cJSON *o;

        p++;
        len = strcspn(p, "\n");
        if (len == 0)
            break;
        if (sscanf(p, "%1023s %31s", name, type) != 2) {
            r = col_add_unknown(area, "swap_parse", COL_R_PARSE, "/proc/swaps");
            goto out;
        }
        col_unescape_octal(name);
        p += len;
        o = cJSON_CreateObject();
        COL_TRY(col_push(arr, o));
        COL_TRY(col_add_str(o, "path", name));
        COL_TRY(col_add_str(o, "type", type));
        if (strcmp(type, "partition") == 0) {
            char where[1300];
            int ne = col_node_dev(ctx, name, dev, sizeof(dev), where, sizeof(where));

            if (ne == 0)
                COL_TRY(col_block_volume(ctx, o, dev));
            else if (ne == DA_ERR_NOT_FOUND)
                COL_TRY(col_add_unknown(o, "encrypted", COL_R_NOT_PRESENT,
                                        "swap device not found in /sys/class/block"));
            else {
                char detail[700];

                col_err_detail(ne, where, detail, sizeof(detail));
                COL_TRY(col_block_unknown(o, col_err_reason(ne), detail));
            }
        } else {
            cJSON *vol = cJSON_CreateArray();
            cJSON *first;

            COL_TRY(col_add_item(o, "file_volume", vol));
            COL_TRY(col_volume(ctx, mounts, vol, name, "swap file"));
            first = cJSON_GetArrayItem(vol, 0);
            COL_TRY(col_add_item(o, "encrypted",
                                 cJSON_Duplicate(cJSON_GetObjectItem(first, "encrypted"), 1)));
        }
    }
out:
    da_buf_free(&b);
    return r;
}

static int col_disk_collect(const struct col_ctx *ctx, cJSON *area)
{
    static const char *const fixed[] = {"/", "/home", "/var", "/tmp"};
    struct col_mounts mounts = {NULL, 0};
    struct da_buf b;
    cJSON *vols = NULL;
    char home_where[600];
    size_t i;
    int r, e, home_err;

    da_buf_init(&b, DA_MAX_SYSFILE);
    e = col_read_file(ctx, "/proc/self/mountinfo", &b);
    if (e < 0) {
        /* without the mounts no volume and no swap file can be placed */
        COL_TRY(col_add_unknown_err(area, "volumes", e, "/proc/self/mountinfo"));
        r = col_add_unknown_err(area, "swap", e, "/proc/self/mountinfo");
        goto out;
    }
    e = col_mountinfo_parse(da_buf_str(&b), da_buf_len(&b), &mounts);
    if (e == DA_ERR_NOMEM) {
        r = e;
        goto out;
    }
    if (e < 0) {
        COL_TRY(col_add_unknown(area, "volumes", COL_R_PARSE, "/proc/self/mountinfo"));
        r = col_add_unknown(area, "swap", COL_R_PARSE, "/proc/self/mountinfo");
        goto out;
    }
    vols = cJSON_CreateArray();
    COL_TRY(col_add_item(area, "volumes", vols));
    for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        COL_TRY(col_volume(ctx, &mounts, vols, fixed[i], "system"));
    home_err = col_home_dirs(ctx, &mounts, vols, home_where, sizeof(home_where));
    if (home_err == DA_ERR_NOMEM)
        COL_TRY(home_err);
    for (i = 0; i < ctx->cfg->n_source_dirs; i++)
        COL_TRY(col_volume(ctx, &mounts, vols, ctx->cfg->source_dirs[i], "source directory"));
    COL_TRY(col_swaps(ctx, &mounts, area));
    if (home_err < 0) {
        /* /home cannot be listed: the list of volumes would be short */
        char detail[700];

        col_err_detail(home_err, home_where, detail, sizeof(detail));
        cJSON_DeleteItemFromObjectCaseSensitive(area, "volumes");
        vols = NULL;
        COL_TRY(col_add_unknown(area, "volumes", col_err_reason(home_err), detail));
    }
out:
    col_mounts_free(&mounts);
    da_buf_free(&b);
    return r;
}

const struct da_collector col_disk = {"disk", col_disk_collect};
