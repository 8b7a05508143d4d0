/* Virtualization and Secure Boot against the answers of the tools that
 * define them, on fixture roots built here for each case.
 *
 * Virtualization: the expected identifier of every case is what
 * systemd-detect-virt answers for those inputs, taken from its documented
 * rules: the table "Known virtualization technologies" of
 * systemd-detect-virt(1) for the identifiers, and the DMI vendor table and
 * detection order of systemd's src/basic/virt.c (DMI answers Oracle, Xen,
 * Amazon, Parallels and Google before CPUID; CPUID before the other DMI
 * answers; "Microsoft Hv" in CPUID only when nothing else is found; Xen dom0
 * is the host; EC2 "*.metal" instance types are bare metal; containers
 * before VMs). The source column names where each answer is stated. On this
 * machine the live collection also equals `systemd-detect-virt` itself.
 *
 * Secure Boot: `enabled` is the kernel's efi_get_secureboot_mode (SecureBoot
 * 1 and SetupMode not 1, a missing SetupMode read as 0) combined with
 * mokutil --sb-state's reading of shim: MokSBStateRT present means "SecureBoot
 * validation is disabled in shim". */
#include "da_test.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "collector.h"
#include "err.h"
#include "tmptree.h"

/* ---- probes ---- */

static const char *cpuid_sig; /* NULL: no hypervisor bit */

static int fake_cpuid(uint32_t leaf, uint32_t regs[4])
{
    char sig[12];

    memset(regs, 0, 4 * sizeof(regs[0]));
    if (leaf == 1 && cpuid_sig != NULL)
        regs[2] = 1u << 31;
    if (leaf == 0x40000000u && cpuid_sig != NULL) {
        memset(sig, 0, sizeof(sig));
        memcpy(sig, cpuid_sig, strlen(cpuid_sig));
        memcpy(&regs[1], sig, 4);
        memcpy(&regs[2], sig + 4, 4);
        memcpy(&regs[3], sig + 8, 4);
    }
    return 0;
}

static const struct col_sys_ops fake_ops = {.cpuid = fake_cpuid};

static cJSON *collect_isolation(const char *root)
{
    struct col_ctx ctx;
    cJSON *doc = NULL;

    memset(&ctx, 0, sizeof(ctx));
    ctx.root = root;
    ctx.now = time(NULL);
    ctx.cfg = col_default_config();
    ctx.ops = &fake_ops;
    assert_int_equal(col_collect_evidence(&ctx, "isolation", &doc), 0);
    return doc;
}

/* ---- virtualization ---- */

#define SRC_MAN  "systemd-detect-virt(1), Known virtualization technologies"
#define SRC_DMI  "systemd src/basic/virt.c, dmi_vendor_table"
#define SRC_EC2  "systemd src/basic/virt.c, detect_vm_dmi (EC2 bare metal, systemd PR #20628)"
#define SRC_ORD  "systemd src/basic/virt.c, detect_vm order"
#define SRC_XEN  "systemd-detect-virt(1): xen is only domU, not dom0"
#define SRC_CONT "systemd src/basic/virt.c, detect_container order and names"
#define SRC_ALI  "systemd PR #43347: Alibaba Cloud ECS is kvm"

struct file {
    const char *rel, *text;
};

struct virt_case {
    const char *what;
    const char *cpuid; /* NULL: no hypervisor bit */
    struct file files[4];
    const char *kind, *name; /* systemd-detect-virt's answer; kind NULL: unknown */
    const char *source;
};

#define DMI(f) "/sys/class/dmi/id/" f
/* SMBIOS type 0 with extension byte 2 (offset 19): bit 4 set or clear */
#define SMBIOS_VM                                                                                  \
    "\x00\x18\x00\x00\x01\x02\x00\xf0\x03\x00\x80\x98\x8b\x3f\x01\x00\x00\x00\x00\x1c\x00"
#define SMBIOS_BARE                                                                                \
    "\x00\x18\x00\x00\x01\x02\x00\xf0\x03\x00\x80\x98\x8b\x3f\x01\x00\x00\x00\x00\x0c\x00"

static const struct virt_case virt_cases[] = {
    {"bare metal",
     NULL,
     {{DMI("sys_vendor"), "Dell Inc.\n"}, {DMI("product_name"), "PowerEdge R640\n"}},
     "none",
     "none",
     SRC_MAN},
    {"KVM product",
     NULL,
     {{DMI("product_name"), "KVM\n"}, {DMI("sys_vendor"), "QEMU\n"}},
     "vm",
     "kvm",
     SRC_DMI " (product_name before sys_vendor)"},
    {"OpenStack", NULL, {{DMI("product_name"), "OpenStack Nova\n"}}, "vm", "kvm", SRC_DMI},
    {"KubeVirt", NULL, {{DMI("product_name"), "KubeVirt\n"}}, "vm", "kvm", SRC_DMI},
    {"Alibaba Cloud",
     NULL,
     {{DMI("product_name"), "Alibaba Cloud ECS\n"}, {DMI("sys_vendor"), "Alibaba Cloud\n"}},
     "vm",
     "kvm",
     SRC_ALI},
    {"QEMU", NULL, {{DMI("sys_vendor"), "QEMU\n"}}, "vm", "qemu", SRC_MAN},
    {"QEMU with KVM",
     "KVMKVMKVM",
     {{DMI("sys_vendor"), "QEMU\n"}},
     "vm",
     "kvm",
     SRC_ORD " (CPUID before DMI)"},
    {"QEMU TCG", "TCGTCGTCGTCG", {{DMI("sys_vendor"), "QEMU\n"}}, "vm", "qemu", SRC_MAN},
    {"VMware", NULL, {{DMI("sys_vendor"), "VMware, Inc.\n"}}, "vm", "vmware", SRC_DMI},
    {"VirtualBox", NULL, {{DMI("sys_vendor"), "innotek GmbH\n"}}, "vm", "oracle", SRC_MAN},
    {"VirtualBox on KVM",
     "KVMKVMKVM",
     {{DMI("product_name"), "VirtualBox\n"}},
     "vm",
     "oracle",
     SRC_ORD " (Oracle before CPUID)"},
    {"Oracle board",
     NULL,
     {{DMI("board_vendor"), "Oracle Corporation\n"}},
     "vm",
     "oracle",
     SRC_DMI},
    {"Xen HVM", NULL, {{DMI("sys_vendor"), "Xen\n"}}, "vm", "xen", SRC_DMI},
    {"Bochs", NULL, {{DMI("bios_vendor"), "Bochs\n"}}, "vm", "bochs", SRC_MAN},
    {"Parallels",
     "KVMKVMKVM",
     {{DMI("sys_vendor"), "Parallels Software International Inc.\n"}},
     "vm",
     "parallels",
     SRC_ORD " (Parallels before CPUID)"},
    {"bhyve", NULL, {{DMI("sys_vendor"), "BHYVE\n"}}, "vm", "bhyve", SRC_MAN},
    {"Hyper-V by product_version",
     NULL,
     {{DMI("sys_vendor"), "Microsoft Corporation\n"},
      {DMI("product_version"), "Hyper-V UEFI Release v4.1\n"}},
     "vm",
     "microsoft",
     SRC_DMI},
    {"Surface laptop",
     NULL,
     {{DMI("sys_vendor"), "Microsoft Corporation\n"}, {DMI("product_name"), "Surface Laptop 4\n"}},
     "none",
     "none",
     SRC_DMI " (no Microsoft vendor entry)"},
    {"Hyper-V CPUID alone",
     "Microsoft Hv",
     {{DMI("sys_vendor"), "Microsoft Corporation\n"}},
     "vm",
     "microsoft",
     SRC_ORD},
    {"QEMU with Hyper-V enlightenments",
     "Microsoft Hv",
     {{DMI("sys_vendor"), "QEMU\n"}},
     "vm",
     "qemu",
     SRC_ORD " (Microsoft Hv only as the last resort)"},
    {"Apple",
     NULL,
     {{DMI("product_name"), "Apple Virtualization Generic Platform\n"}},
     "vm",
     "apple",
     SRC_MAN},
    {"Apple CPUID", "Apple VZ", {{NULL, NULL}}, "vm", "apple", SRC_MAN},
    {"Google",
     "KVMKVMKVM",
     {{DMI("product_name"), "Google Compute Engine\n"}},
     "vm",
     "google",
     SRC_ORD " (Google before CPUID)"},
    {"EC2 instance",
     "KVMKVMKVM",
     {{DMI("sys_vendor"), "Amazon EC2\n"}, {DMI("product_name"), "m5.large\n"}},
     "vm",
     "amazon",
     SRC_MAN},
    {"EC2 bare metal",
     NULL,
     {{DMI("sys_vendor"), "Amazon EC2\n"}, {DMI("product_name"), "m6g.metal\n"}},
     "none",
     "none",
     SRC_EC2},
    {"EC2 bare metal, sized",
     NULL,
     {{DMI("sys_vendor"), "Amazon EC2\n"}, {DMI("product_name"), "c6i.metal-32xl\n"}},
     "none",
     "none",
     SRC_EC2},
    {"EC2 SMBIOS VM bit set",
     NULL,
     {{DMI("sys_vendor"), "Amazon EC2\n"},
      {DMI("product_name"), "m5.metal\n"},
      {"/sys/firmware/dmi/entries/0-0/raw", SMBIOS_VM}},
     "vm",
     "amazon",
     SRC_EC2},
    {"EC2 SMBIOS VM bit clear",
     NULL,
     {{DMI("sys_vendor"), "Amazon EC2\n"},
      {DMI("product_name"), "m5.large\n"},
      {"/sys/firmware/dmi/entries/0-0/raw", SMBIOS_BARE}},
     "none",
     "none",
     SRC_EC2},
    {"unknown vendor, SMBIOS VM bit",
     NULL,
     {{DMI("sys_vendor"), "Example Cloud\n"}, {"/sys/firmware/dmi/entries/0-0/raw", SMBIOS_VM}},
     "vm",
     "vm-other",
     SRC_DMI},
    {"unknown CPUID signature", "NewHypervsr", {{NULL, NULL}}, "vm", "vm-other", SRC_ORD},
    {"Xen domU", NULL, {{"/proc/xen/capabilities", "\n"}}, "vm", "xen", SRC_XEN},
    {"Xen dom0", NULL, {{"/proc/xen/capabilities", "control_d\n"}}, "none", "none", SRC_XEN},
    {"Xen dom0 by features",
     NULL,
     {{"/sys/hypervisor/properties/features", "00000805\n"}, {"/proc/xen/capabilities", "\n"}},
     "none",
     "none",
     SRC_XEN},
    {"Xen dom0 nested in KVM",
     "KVMKVMKVM",
     {{"/proc/xen/capabilities", "control_d\n"}},
     "vm",
     "kvm",
     SRC_ORD " (dom0 waits for CPUID)"},
    {"hypervisor type", NULL, {{"/sys/hypervisor/type", "xen\n"}}, "vm", "xen", SRC_ORD},
    {"User-mode Linux",
     NULL,
     {{"/proc/cpuinfo", "processor\t: 0\nvendor_id\t: User Mode Linux\n"}},
     "vm",
     "uml",
     SRC_MAN},
    {"nspawn in QEMU",
     "KVMKVMKVM",
     {{"/run/host/container-manager", "systemd-nspawn\n"}, {DMI("sys_vendor"), "QEMU\n"}},
     "container",
     "systemd-nspawn",
     SRC_CONT " (containers before VMs)"},
    {"lxc", NULL, {{"/run/systemd/container", "lxc\n"}}, "container", "lxc", SRC_CONT},
    {"PID 1 environment",
     NULL,
     {{"/proc/1/environ", "PATH=/bin\0container=podman\0HOME=/\0"}},
     "container",
     "podman",
     SRC_CONT},
    {"unknown manager",
     NULL,
     {{"/run/systemd/container", "garden\n"}},
     "container",
     "container-other",
     SRC_CONT},
    {"oci with docker marker",
     NULL,
     {{"/run/systemd/container", "oci\n"}, {"/.dockerenv", ""}},
     "container",
     "docker",
     SRC_CONT},
    {"PID 1 environment unreadable, docker marker",
     NULL,
     {{"/proc/1/environ", NULL}, {"/.dockerenv", ""}},
     "container",
     "docker",
     SRC_CONT " (a PID 1 environment error is passed over)"},
    {"podman before docker",
     NULL,
     {{"/run/.containerenv", ""}, {"/.dockerenv", ""}},
     "container",
     "podman",
     SRC_CONT},
    {"OpenVZ", NULL, {{"/proc/vz/veinfo", ""}}, "container", "openvz", SRC_CONT},
    {"OpenVZ host", NULL, {{"/proc/vz/veinfo", ""}, {"/proc/bc/0", ""}}, "none", "none", SRC_CONT},
    {"WSL",
     NULL,
     {{"/proc/sys/kernel/osrelease", "5.15.90.1-microsoft-standard-WSL2\n"}},
     "container",
     "wsl",
     SRC_CONT},
};

/* environ holds NULs: the length of the longest case */
static void write_case_file(const char *root, const struct file *f)
{
    char path[1024];
    size_t n = strlen(f->text);
    FILE *fp;

    if (strcmp(f->rel, "/proc/1/environ") == 0)
        n = sizeof("PATH=/bin\0container=podman\0HOME=/\0") - 1;
    if (strcmp(f->rel, "/sys/firmware/dmi/entries/0-0/raw") == 0)
        n = sizeof(SMBIOS_VM) - 1;
    da_tmptree_write(root, f->rel, "");
    snprintf(path, sizeof(path), "%s%s", root, f->rel);
    fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(f->text, 1, n, fp), n);
    assert_int_equal(fclose(fp), 0);
}

static void test_virtualization_table(void **state)
{
    size_t i, j;

    (void)state;
    for (i = 0; i < sizeof(virt_cases) / sizeof(virt_cases[0]); i++) {
        const struct virt_case *c = &virt_cases[i];
        char root[512];
        cJSON *doc, *v;
        const char *kind, *name;

        da_tmptree_make("da-virt", root, sizeof(root));
        da_tmptree_mkdir(root, "/proc");
        for (j = 0; j < 4 && c->files[j].rel != NULL; j++)
            if (c->files[j].text == NULL)
                da_tmptree_mkdir(root, c->files[j].rel); /* unreadable: EISDIR */
            else
                write_case_file(root, &c->files[j]);
        cpuid_sig = c->cpuid;
        doc = collect_isolation(root);
        v = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "isolation"), "virtualization");
        kind = cJSON_GetStringValue(cJSON_GetObjectItem(v, "kind"));
        name = cJSON_GetStringValue(cJSON_GetObjectItem(v, "name"));
        if (kind == NULL || name == NULL || strcmp(kind, c->kind) != 0 ||
            strcmp(name, c->name) != 0)
            fail_msg("%s: %s/%s, systemd-detect-virt answers %s/%s (%s)", c->what,
                     kind ? kind : "?", name ? name : "?", c->kind, c->name, c->source);
        cJSON_Delete(doc);
        da_tmptree_remove(root);
    }
    print_message("%zu virtualization cases agree with systemd-detect-virt's rules\n", i);
}

/* A deciding file that cannot be read makes the fact unknown, never none. */
static void test_virtualization_unreadable(void **state)
{
    static const char *const rels[] = {"/proc/1/environ", "/run/systemd/container",
                                       DMI("product_name")};
    size_t i;

    (void)state;
    cpuid_sig = NULL;
    for (i = 0; i < sizeof(rels) / sizeof(rels[0]); i++) {
        char root[512];
        cJSON *doc, *v;

        da_tmptree_make("da-virt", root, sizeof(root));
        da_tmptree_mkdir(root, rels[i]); /* a directory: read fails with EISDIR */
        doc = collect_isolation(root);
        v = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "isolation"), "virtualization");
        assert_non_null(cJSON_GetObjectItem(v, "unknown"));
        assert_non_null(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(v, "detail")), rels[i]));
        cJSON_Delete(doc);
        da_tmptree_remove(root);
    }
}

/* On this machine: the live collection equals systemd-detect-virt. */
static void test_virtualization_live(void **state)
{
    struct col_ctx ctx;
    char want[128] = "";
    cJSON *doc = NULL, *v;
    FILE *p;

    (void)state;
    if (system("command -v systemd-detect-virt >/dev/null 2>&1") != 0) {
        print_message("SKIP: systemd-detect-virt is not installed\n");
        skip();
    }
    p = popen("systemd-detect-virt 2>/dev/null", "r");
    assert_non_null(p);
    if (fgets(want, sizeof(want), p) == NULL)
        want[0] = '\0';
    pclose(p);
    want[strcspn(want, "\n")] = '\0';
    memset(&ctx, 0, sizeof(ctx));
    ctx.root = "";
    ctx.live = 1;
    ctx.now = time(NULL);
    ctx.cfg = col_default_config();
    ctx.ops = &col_live_ops;
    assert_int_equal(col_collect_evidence(&ctx, "isolation", &doc), 0);
    v = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "isolation"), "virtualization");
    if (cJSON_GetStringValue(cJSON_GetObjectItem(v, "name")) == NULL)
        fail_msg("live virtualization is unknown (%s), systemd-detect-virt says %s",
                 cJSON_GetStringValue(cJSON_GetObjectItem(v, "detail")), want);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(v, "name")), want);
    print_message("live: %s, as systemd-detect-virt\n", want);
    cJSON_Delete(doc);
}

/* A kernel that refuses the socket-diagnostics netlink socket (a container
 * runtime's or an LSM's EPERM/EACCES) is a probe that failed, never "out
 * of memory": the listening sockets and production connections then come
 * from /proc/net and the collection succeeds. */
static void test_socket_refusal_is_not_nomem(void **state)
{
    static const int errs[] = {EPERM, EACCES};

    (void)state;
    for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
        pid_t pid = fork();
        int status = 0;

        assert_true(pid >= 0);
        if (pid == 0) {
            struct sock_filter f[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_socket, 0, 1),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)errs[i]),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
            };
            struct sock_fprog prog = {sizeof(f) / sizeof(f[0]), f};
            struct col_ctx ctx;
            cJSON *doc = NULL, *listening;
            int r;

            alarm(60);
            if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
                prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
                _exit(3);
            memset(&ctx, 0, sizeof(ctx));
            ctx.root = "";
            ctx.live = 1;
            ctx.now = time(NULL);
            ctx.cfg = col_default_config();
            ctx.ops = &col_live_ops;
            r = col_collect_evidence(&ctx, "isolation,separation", &doc);
            if (r != 0) {
                fprintf(stderr, "socket() fails with %s: collection %s\n", strerror(errs[i]),
                        da_strerror(r));
                _exit(1);
            }
            listening = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "isolation"), "listening");
            if (!cJSON_IsArray(listening)) /* read from /proc/net instead */
                _exit(2);
            cJSON_Delete(doc);
            _exit(0);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fail_msg("socket() refused with %s: child %s %d", strerror(errs[i]),
                     WIFEXITED(status) ? "exit" : "signal",
                     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    }
}

/* ---- Secure Boot ---- */

#define EFI_GLOBAL "-8be4df61-93ca-11d2-aa0d-00e098032b8c"
#define EFI_SHIM   "-605dab50-e046-4300-abb6-3dd810dd8b23"
#define EFIVARS    "/sys/firmware/efi/efivars/"

enum { ABSENT = -1, VAL0 = 0, VAL1 = 1, BAD = 2, NO_EFI = 3, NO_EFIVARS = 4 };

struct sb_case {
    const char *what;
    int secure_boot, setup_mode, mok_sb_state; /* ABSENT, VAL0, VAL1, BAD; mok: ABSENT or VAL1 */
    int want_enabled;                          /* 1, 0, -1 unknown */
    int want_shim;                             /* 1, 0, -1 unknown or absent */
    const char *mokutil;                       /* what mokutil --sb-state prints */
};

static const struct sb_case sb_cases[] = {
    {"enforced", VAL1, VAL0, ABSENT, 1, 1, "SecureBoot enabled"},
    {"shim validation off", VAL1, VAL0, VAL1, 0, 0,
     "SecureBoot enabled / SecureBoot validation is disabled in shim"},
    {"setup mode", VAL1, VAL1, ABSENT, 0, 1, "SecureBoot enabled / Platform is in Setup Mode"},
    {"off in firmware", VAL0, VAL0, ABSENT, 0, 1, "SecureBoot disabled"},
    {"no SecureBoot variable", ABSENT, ABSENT, ABSENT, 0, 1, "SecureBoot disabled"},
    {"no SetupMode variable", VAL1, ABSENT, ABSENT, 1, 1, "SecureBoot enabled"},
    {"SecureBoot of a wrong size", BAD, VAL0, ABSENT, -1, 1, "Strange data size"},
    {"legacy BIOS", NO_EFI, ABSENT, ABSENT, 0, -1, "EFI variables are not supported"},
    {"efivarfs not mounted", NO_EFIVARS, ABSENT, ABSENT, -1, -1, "EFI variables are not supported"},
};

static void write_efivar(const char *root, const char *name, int val)
{
    char rel[256], path[1024];
    unsigned char data[6] = {0x06, 0, 0, 0, 0, 0};
    size_t n = val == BAD ? 6 : 5;
    FILE *f;

    if (val == ABSENT)
        return;
    data[4] = val == VAL1 ? 1 : 0;
    snprintf(rel, sizeof(rel), EFIVARS "%s", name);
    da_tmptree_write(root, rel, "");
    snprintf(path, sizeof(path), "%s%s", root, rel);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static int bool_or_unknown(cJSON *o, const char *key)
{
    cJSON *v = cJSON_GetObjectItem(o, key);

    if (cJSON_IsBool(v))
        return cJSON_IsTrue(v);
    assert_non_null(cJSON_GetObjectItem(v, "unknown"));
    return -1;
}

static void test_secure_boot_table(void **state)
{
    size_t i;

    (void)state;
    cpuid_sig = NULL;
    for (i = 0; i < sizeof(sb_cases) / sizeof(sb_cases[0]); i++) {
        const struct sb_case *c = &sb_cases[i];
        char root[512];
        cJSON *doc, *sb;
        int enabled, shim;

        da_tmptree_make("da-sb", root, sizeof(root));
        da_tmptree_mkdir(root, "/sys/firmware");
        if (c->secure_boot != NO_EFI)
            da_tmptree_mkdir(root, "/sys/firmware/efi");
        if (c->secure_boot != NO_EFI && c->secure_boot != NO_EFIVARS) {
            da_tmptree_mkdir(root, EFIVARS);
            write_efivar(root, "SecureBoot" EFI_GLOBAL, c->secure_boot);
            write_efivar(root, "SetupMode" EFI_GLOBAL, c->setup_mode);
            write_efivar(root, "MokSBStateRT" EFI_SHIM, c->mok_sb_state);
        }
        doc = collect_isolation(root);
        sb = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "isolation"), "secure_boot");
        enabled = bool_or_unknown(sb, "enabled");
        shim = cJSON_GetObjectItem(sb, "shim_validation") != NULL
                   ? bool_or_unknown(sb, "shim_validation")
                   : -1;
        if (enabled != c->want_enabled || shim != c->want_shim)
            fail_msg("%s: enabled %d shim_validation %d, want %d %d (mokutil: %s)", c->what,
                     enabled, shim, c->want_enabled, c->want_shim, c->mokutil);
        if (c->setup_mode == VAL1)
            assert_int_equal(bool_or_unknown(sb, "setup_mode"), 1);
        cJSON_Delete(doc);
        da_tmptree_remove(root);
    }
    print_message("%zu Secure Boot cases agree with the kernel and mokutil --sb-state\n", i);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_virtualization_table),
        cmocka_unit_test(test_virtualization_unreadable),
        cmocka_unit_test(test_virtualization_live),
        cmocka_unit_test(test_socket_refusal_is_not_nomem),
        cmocka_unit_test(test_secure_boot_table),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
