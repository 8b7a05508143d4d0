/* Virtualization, by systemd-detect-virt's rules.
 *
 * Containers are looked for before virtual machines (the innermost layer is
 * reported). Container checks, in order: OpenVZ (/proc/vz without /proc/bc),
 * WSL (kernel release), proot (our tracer), the container manager named in
 * /run/host/container-manager, /run/systemd/container or PID 1's container=
 * variable (names outside systemd's list are container-other; "oci" looks
 * at the marker files), the marker files /run/.containerenv (podman) and
 * /.dockerenv (docker), and a cgroup namespace.
 *
 * Virtual machine checks, in order: DMI vendors (product_name, sys_vendor,
 * board_vendor, bios_vendor, product_version; Amazon EC2 is a VM unless the
 * SMBIOS "is a VM" bit is clear or, without SMBIOS, product_name names a
 * .metal instance); DMI answers Oracle, Xen, Amazon, Parallels and Google
 * win at once; then User-mode Linux, Xen domains (a dom0 is the host, not a
 * VM), the CPUID hypervisor leaf (Hyper-V's signature only as a last
 * resort, since QEMU shows it too), the remaining DMI answers,
 * /sys/hypervisor/type and, on device-tree platforms, the device tree.
 *
 * A read error (other than "absent") of a file that decides makes the whole
 * fact unknown, never "none"; an unreadable PID 1 environment does so only
 * when no later container check finds a container (systemd ignores it). */
#include "virt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "caps.h"
#include "err.h"

#define COL_VIRT_CPUINFO_CAP (DA_MAX_SMALL_SYSFILE * 64)

struct col_virt {
    const char *kind; /* "vm", "container", "none" */
    const char *name; /* systemd-detect-virt identifier */
    char source[160];
    int err; /* DA_ERR_* of a deciding read, 0 */
    char err_detail[320];
};

struct col_name_map {
    const char *match;
    const char *name;
};

/* DMI vendor prefixes, in systemd's table order. */
static const struct col_name_map col_dmi_vendors[] = {
    {"KVM", "kvm"},
    {"OpenStack", "kvm"},
    {"KubeVirt", "kvm"},
    {"Alibaba Cloud ECS", "kvm"},
    {"Amazon EC2", "amazon"},
    {"QEMU", "qemu"},
    {"VMware", "vmware"},
    {"VMW", "vmware"},
    {"innotek GmbH", "oracle"},
    {"VirtualBox", "oracle"},
    {"Oracle Corporation", "oracle"},
    {"Xen", "xen"},
    {"Bochs", "bochs"},
    {"Parallels", "parallels"},
    {"BHYVE", "bhyve"},
    {"Hyper-V", "microsoft"},
    {"Apple Virtualization", "apple"},
    {"Google Compute Engine", "google"},
};

/* CPUID leaf 0x40000000 signatures (exact, 12 bytes with NUL padding). */
static const struct col_name_map col_cpuid_vendors[] = {
    {"XenVMMXenVMM", "xen"},   {"KVMKVMKVM", "kvm"},       {"Linux KVM Hv", "kvm"},
    {"TCGTCGTCGTCG", "qemu"},  {"VMwareVMware", "vmware"}, {"Microsoft Hv", "microsoft"},
    {"bhyve bhyve ", "bhyve"}, {"QNXQVMBSQG", "qnx"},      {"ACRNACRNACRN", "acrn"},
    {"SRESRESRESRE", "sre"},   {"Apple VZ", "apple"},
};

/* Container manager names systemd knows; any other is container-other. */
static const char *const col_container_names[] = {
    "lxc", "lxc-libvirt", "systemd-nspawn", "docker", "podman", "rkt", "wsl", "proot", "pouch",
};

static void col_virt_set(struct col_virt *v, const char *kind, const char *name, const char *src)
{
    v->kind = kind;
    v->name = name;
    snprintf(v->source, sizeof(v->source), "%s", src);
}

/* Call right after the failing read: the detail carries its errno. */
static void col_virt_fail(struct col_virt *v, int e, const char *rel)
{
    if (v->err != 0)
        return;
    v->err = e;
    col_err_detail(e, rel, v->err_detail, sizeof(v->err_detail));
}

/* Exists, following symlinks as systemd's existence test does. */
static int col_exists(const struct col_ctx *ctx, const char *rel)
{
    struct stat st;

    return col_stat(ctx, rel, &st) == 0;
}

/* ---- containers ---- */

static int col_container_files(const struct col_ctx *ctx, struct col_virt *v)
{
    if (col_exists(ctx, "/run/.containerenv")) {
        col_virt_set(v, "container", "podman", "/run/.containerenv");
        return 1;
    }
    if (col_exists(ctx, "/.dockerenv")) {
        col_virt_set(v, "container", "docker", "/.dockerenv");
        return 1;
    }
    return 0;
}

static void col_container_name(const struct col_ctx *ctx, struct col_virt *v, const char *name,
                               const char *src)
{
    size_t i;

    if (strcmp(name, "oci") == 0) {
        if (!col_container_files(ctx, v))
            col_virt_set(v, "container", "container-other", src);
        return;
    }
    for (i = 0; i < sizeof(col_container_names) / sizeof(col_container_names[0]); i++)
        if (strcmp(name, col_container_names[i]) == 0) {
            col_virt_set(v, "container", col_container_names[i], src);
            return;
        }
    col_virt_set(v, "container", "container-other", src);
}

/* container= in PID 1's environment (NUL-separated); 1 when set. */
static int col_pid1_container(const struct col_ctx *ctx, char *name, size_t n, int *err)
{
    struct da_buf b;
    const char *p, *end;
    int found = 0;

    name[0] = '\0';
    da_buf_init(&b, DA_MAX_SMALL_SYSFILE);
    if (ctx->live && ctx->cfg != NULL && ctx->cfg->pid1_environ != NULL)
        *err =
            da_buf_append(&b, ctx->cfg->pid1_environ, ctx->cfg->pid1_environ_len) == 0 ? 0 : -EFBIG;
    else
        *err = col_read_file(ctx, "/proc/1/environ", &b);
    if (*err == 0) {
        p = da_buf_str(&b);
        end = p + da_buf_len(&b);
        while (p < end) {
            size_t len = strnlen(p, (size_t)(end - p));

            if (len > 10 && memcmp(p, "container=", 10) == 0) {
                snprintf(name, n, "%.*s", (int)(len - 10), p + 10);
                found = 1;
            }
            p += len + 1;
        }
    }
    da_buf_free(&b);
    return found;
}

/* proot traces the processes it runs: our tracer's name. */
static int col_proot(const struct col_ctx *ctx)
{
    struct da_buf b;
    char rel[64], comm[64];
    const char *t;
    unsigned long pid = 0;
    int found = 0;

    da_buf_init(&b, DA_MAX_SMALL_SYSFILE);
    if (col_read_file(ctx, "/proc/self/status", &b) == 0 &&
        (t = strstr(da_buf_str(&b), "\nTracerPid:")) != NULL) {
        char *end;

        pid = strtoul(t + 11, &end, 10);
        if (pid != 0 && pid < 1u << 22) {
            snprintf(rel, sizeof(rel), "/proc/%lu/comm", pid);
            found =
                col_read_line(ctx, rel, comm, sizeof(comm)) == 0 && strncmp(comm, "proot", 5) == 0;
        }
    }
    da_buf_free(&b);
    return found;
}

/* A nested cgroup namespace: cgroup v2 shows cgroup.events and cgroup.type
 * only below the root cgroup; v1's systemd hierarchy has release_agent only
 * at its root. */
static int col_cgroupns(const struct col_ctx *ctx)
{
    struct stat st;

    if (col_lstat(ctx, "/proc/self/ns/cgroup", &st) != 0) /* a magic link: not followed */
        return 0;
    if (col_exists(ctx, "/sys/fs/cgroup/cgroup.controllers")) {
        if (!col_exists(ctx, "/sys/fs/cgroup/cgroup.events"))
            return 0;
        if (col_exists(ctx, "/sys/fs/cgroup/cgroup.type"))
            return 1;
        return !col_exists(ctx, "/sys/kernel/cgroup/features");
    }
    if (!col_exists(ctx, "/sys/fs/cgroup/systemd"))
        return 0;
    return !col_exists(ctx, "/sys/fs/cgroup/systemd/release_agent");
}

/* 1 when a container was found (or a deciding read failed: v->err). */
static int col_detect_container(const struct col_ctx *ctx, struct col_virt *v)
{
    static const char *const manager_files[] = {"/run/host/container-manager",
                                                "/run/systemd/container"};
    char name[128], osrel[256], environ_detail[320] = "";
    size_t i;
    int e;

    if (col_exists(ctx, "/proc/vz") && !col_exists(ctx, "/proc/bc")) {
        col_virt_set(v, "container", "openvz", "/proc/vz");
        return 1;
    }
    if (col_read_line(ctx, "/proc/sys/kernel/osrelease", osrel, sizeof(osrel)) == 0 &&
        (strstr(osrel, "Microsoft") != NULL || strstr(osrel, "WSL") != NULL)) {
        col_virt_set(v, "container", "wsl", "/proc/sys/kernel/osrelease");
        return 1;
    }
    if (col_proot(ctx)) {
        col_virt_set(v, "container", "proot", "/proc/self/status");
        return 1;
    }
    for (i = 0; i < sizeof(manager_files) / sizeof(manager_files[0]); i++) {
        e = col_read_line(ctx, manager_files[i], name, sizeof(name));
        if (e == 0 && name[0] != '\0') {
            col_container_name(ctx, v, name, manager_files[i]);
            return 1;
        }
        if (e < 0 && e != DA_ERR_NOT_FOUND) {
            col_virt_fail(v, e, manager_files[i]);
            return 1;
        }
    }
    if (col_pid1_container(ctx, name, sizeof(name), &e)) {
        col_container_name(ctx, v, name, "/proc/1/environ");
        return 1;
    }
    if (e < 0 && e != DA_ERR_NOT_FOUND)
        col_err_detail(e, "/proc/1/environ", environ_detail, sizeof(environ_detail));
    if (col_container_files(ctx, v))
        return 1;
    if (col_cgroupns(ctx)) {
        col_virt_set(v, "container", "container-other", "cgroup namespace");
        return 1;
    }
    /* PID 1's environment unread and no other marker: a container cannot
     * be ruled out (systemd would say none here) */
    if (e < 0 && e != DA_ERR_NOT_FOUND) {
        v->err = e;
        snprintf(v->err_detail, sizeof(v->err_detail), "%s", environ_detail);
        return 1;
    }
    return 0;
}

/* ---- virtual machines ---- */

enum { COL_SMBIOS_SET, COL_SMBIOS_UNSET, COL_SMBIOS_UNKNOWN };

/* SMBIOS BIOS characteristics extension byte 2, bit 4: "is a VM". */
static int col_smbios_vm_bit(const struct col_ctx *ctx)
{
    struct da_buf b;
    int bit = COL_SMBIOS_UNKNOWN;

    da_buf_init(&b, DA_MAX_SMALL_SYSFILE);
    if (col_read_file(ctx, "/sys/firmware/dmi/entries/0-0/raw", &b) == 0 && da_buf_len(&b) >= 20 &&
        da_buf_data(&b)[1] >= 20)
        bit = (da_buf_data(&b)[19] & 0x10) != 0 ? COL_SMBIOS_SET : COL_SMBIOS_UNSET;
    da_buf_free(&b);
    return bit;
}

/* An EC2 bare-metal instance type: ".metal" at the end or before a '-'. */
static int col_ec2_metal(const char *product)
{
    const char *p = product;

    while ((p = strstr(p, ".metal")) != NULL) {
        p += 6;
        if (*p == '\0' || *p == '-')
            return 1;
    }
    return 0;
}

/* The DMI answer: a name, "none", or NULL with *err for a read error. */
static const char *col_dmi(const struct col_ctx *ctx, char *src, size_t n, int *err)
{
    static const char *const files[] = {"product_name", "sys_vendor", "board_vendor", "bios_vendor",
                                        "product_version"};
    char val[256], rel[128], product[256];
    const char *name = NULL;
    size_t i, j;
    int e, smbios;

    *err = 0;
    for (i = 0; i < sizeof(files) / sizeof(files[0]) && name == NULL; i++) {
        snprintf(rel, sizeof(rel), "/sys/class/dmi/id/%s", files[i]);
        e = col_read_line(ctx, rel, val, sizeof(val));
        if (e == DA_ERR_NOT_FOUND)
            continue;
        if (e < 0) {
            *err = e;
            col_err_detail(e, rel, src, n); /* src holds the detail then */
            return NULL;
        }
        for (j = 0; j < sizeof(col_dmi_vendors) / sizeof(col_dmi_vendors[0]); j++)
            if (strncmp(val, col_dmi_vendors[j].match, strlen(col_dmi_vendors[j].match)) == 0) {
                name = col_dmi_vendors[j].name;
                snprintf(src, n, "%s", rel);
                break;
            }
    }
    smbios = col_smbios_vm_bit(ctx);
    if (name != NULL && strcmp(name, "amazon") == 0) {
        if (smbios == COL_SMBIOS_SET)
            return name;
        if (smbios == COL_SMBIOS_UNSET) {
            snprintf(src, n, "/sys/firmware/dmi/entries/0-0/raw");
            return "none";
        }
        /* without SMBIOS (root only), EC2 is a VM unless a .metal type */
        if (col_read_line(ctx, "/sys/class/dmi/id/product_name", product, sizeof(product)) == 0 &&
            col_ec2_metal(product)) {
            snprintf(src, n, "/sys/class/dmi/id/product_name");
            return "none";
        }
        return name;
    }
    if (name == NULL && smbios == COL_SMBIOS_SET) {
        snprintf(src, n, "/sys/firmware/dmi/entries/0-0/raw");
        return "vm-other";
    }
    return name != NULL ? name : "none";
}

/* User-mode Linux: the first vendor_id line of /proc/cpuinfo. */
static int col_uml(const struct col_ctx *ctx, int *err)
{
    struct da_buf b;
    const char *p;
    int found = 0;

    da_buf_init(&b, COL_VIRT_CPUINFO_CAP);
    *err = col_read_file(ctx, "/proc/cpuinfo", &b);
    if (*err == DA_ERR_NOT_FOUND)
        *err = 0;
    else if (*err == 0)
        for (p = da_buf_str(&b); *p != '\0';) {
            if (strncmp(p, "vendor_id\t: ", 12) == 0) {
                found = strncmp(p + 12, "User Mode Linux", 15) == 0;
                break;
            }
            p += strcspn(p, "\n");
            if (*p == '\n')
                p++;
        }
    da_buf_free(&b);
    return found;
}

/* A Xen domain: 0 for domU, 1 for dom0, negative errno. */
static int col_xen_dom0(const struct col_ctx *ctx, const char **rel)
{
    char line[256], *end, *cap, *save = NULL;
    unsigned long features;
    int e;

    *rel = "/sys/hypervisor/properties/features";
    e = col_read_line(ctx, *rel, line, sizeof(line));
    if (e < 0 && e != DA_ERR_NOT_FOUND)
        return e;
    if (e == 0) {
        features = strtoul(line, &end, 16);
        if (end != line)
            return (features & (1ul << 11)) != 0; /* XENFEAT_dom0 */
    }
    *rel = "/proc/xen/capabilities";
    e = col_read_line(ctx, *rel, line, sizeof(line));
    if (e == DA_ERR_NOT_FOUND)
        return 0;
    if (e < 0)
        return e;
    for (cap = strtok_r(line, ",", &save); cap != NULL; cap = strtok_r(NULL, ",", &save))
        if (strcmp(cap, "control_d") == 0)
            return 1;
    return 0;
}

/* The CPUID hypervisor signature's name, "other" for an unknown one, NULL
 * without the hypervisor bit. */
static const char *col_cpuid(const struct col_ctx *ctx)
{
    uint32_t regs[4];
    char sig[13];
    size_t i;

    if (ctx->ops->cpuid == NULL || ctx->ops->cpuid(1, regs) != 0 || (regs[2] & (1u << 31)) == 0)
        return NULL;
    if (ctx->ops->cpuid(0x40000000u, regs) != 0)
        memset(regs, 0, sizeof(regs));
    memcpy(sig, &regs[1], 4);
    memcpy(sig + 4, &regs[2], 4);
    memcpy(sig + 8, &regs[3], 4);
    sig[12] = '\0';
    for (i = 0; i < sizeof(col_cpuid_vendors) / sizeof(col_cpuid_vendors[0]); i++)
        if (strcmp(sig, col_cpuid_vendors[i].match) == 0)
            return col_cpuid_vendors[i].name;
    return "vm-other";
}

/* Device-tree platforms only, as systemd: the hypervisor node. */
static const char *col_device_tree(const struct col_ctx *ctx, int *err)
{
    *err = 0;
#if defined(__arm__) || defined(__aarch64__) || defined(__powerpc__) || defined(__powerpc64__) ||  \
    defined(__riscv)
    char line[256];
    int e = col_read_line(ctx, "/proc/device-tree/hypervisor/compatible", line, sizeof(line));

    if (e == 0)
        return strcmp(line, "linux,kvm") == 0   ? "kvm"
               : strstr(line, "xen") != NULL    ? "xen"
               : strstr(line, "vmware") != NULL ? "vmware"
                                                : "vm-other";
    if (e != DA_ERR_NOT_FOUND) {
        *err = e;
        return NULL;
    }
    if (col_exists(ctx, "/proc/device-tree/ibm,partition-name") &&
        col_exists(ctx, "/proc/device-tree/hmc-managed?") &&
        !col_exists(ctx, "/proc/device-tree/chosen/qemu,graphic-width"))
        return "powervm";
    if (col_read_line(ctx, "/proc/device-tree/compatible", line, sizeof(line)) == 0 &&
        strcmp(line, "qemu,pseries") == 0)
        return "qemu";
#else
    (void)ctx;
#endif
    return "none";
}

static int col_is(const char *a, const char *b)
{
    return a != NULL && strcmp(a, b) == 0;
}

static void col_detect_vm(const struct col_ctx *ctx, struct col_virt *v)
{
    char dmi_src[320] = "", hv[64];
    const char *dmi, *c, *rel;
    int e, dmi_err, dom0 = 0, hyperv = 0, other = 0;

    dmi = col_dmi(ctx, dmi_src, sizeof(dmi_src), &dmi_err);
    if (col_is(dmi, "oracle") || col_is(dmi, "xen") || col_is(dmi, "amazon") ||
        col_is(dmi, "parallels") || col_is(dmi, "google")) {
        col_virt_set(v, "vm", dmi, dmi_src);
        return;
    }
    if (col_uml(ctx, &e)) {
        col_virt_set(v, "vm", "uml", "/proc/cpuinfo");
        return;
    }
    if (e < 0)
        return col_virt_fail(v, e, "/proc/cpuinfo");
    if (col_exists(ctx, "/proc/xen")) {
        dom0 = col_xen_dom0(ctx, &rel);
        if (dom0 < 0)
            return col_virt_fail(v, dom0, rel);
        if (dom0 == 0) {
            col_virt_set(v, "vm", "xen", "/proc/xen");
            return;
        }
    }
    c = col_cpuid(ctx);
    if (col_is(c, "microsoft"))
        hyperv = 1;
    else if (col_is(c, "vm-other"))
        other = 1;
    else if (c != NULL) {
        col_virt_set(v, "vm", c, "cpuid");
        return;
    }
    if (dom0) { /* the Xen host itself, unless nested in a VM CPUID names */
        col_virt_set(v, "none", "none", "/proc/xen (dom0)");
        goto finish;
    }
    if (dmi == NULL) {
        v->err = dmi_err;
        snprintf(v->err_detail, sizeof(v->err_detail), "%s", dmi_src);
        return;
    }
    if (col_is(dmi, "vm-other"))
        other = 1;
    else if (!col_is(dmi, "none")) {
        col_virt_set(v, "vm", dmi, dmi_src);
        return;
    }
    e = col_read_line(ctx, "/sys/hypervisor/type", hv, sizeof(hv));
    if (e == 0) {
        if (strcmp(hv, "xen") == 0) {
            col_virt_set(v, "vm", "xen", "/sys/hypervisor/type");
            return;
        }
        other = 1;
    } else if (e != DA_ERR_NOT_FOUND) {
        return col_virt_fail(v, e, "/sys/hypervisor/type");
    }
    c = col_device_tree(ctx, &e);
    if (c == NULL)
        return col_virt_fail(v, e, "/proc/device-tree");
    if (col_is(c, "vm-other"))
        other = 1;
    else if (!col_is(c, "none")) {
        col_virt_set(v, "vm", c, "/proc/device-tree");
        return;
    }
    col_virt_set(v, "none", "none", "no marker");
finish:
    if (hyperv)
        col_virt_set(v, "vm", "microsoft", "cpuid");
    else if (other)
        col_virt_set(v, "vm", "vm-other", "cpuid, DMI or /sys/hypervisor");
}

int col_virtualization(const struct col_ctx *ctx, cJSON *area)
{
    struct col_virt v;
    cJSON *o;
    int r;

    memset(&v, 0, sizeof(v));
    if (!col_detect_container(ctx, &v))
        col_detect_vm(ctx, &v);
    if (v.err != 0)
        return col_add_unknown(area, "virtualization", col_err_reason(v.err), v.err_detail);
    o = cJSON_CreateObject();
    COL_TRY(col_add_item(area, "virtualization", o));
    COL_TRY(col_add_str(o, "kind", v.kind));
    COL_TRY(col_add_str(o, "name", v.name));
    COL_TRY(col_add_str(o, "source", v.source));
    if (strcmp(v.kind, "none") == 0 && ctx->ops->cpuid == NULL)
        COL_TRY(col_add_unknown(o, "cpuid", COL_R_NOT_LIVE,
                                "CPUID describes the running machine, not --root"));
out:
    return r;
}
