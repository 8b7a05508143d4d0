/* isolation: virtualization, mandatory access control, Secure Boot, kernel
 * lockdown, firewall and sockets listening on non-loopback addresses. */
#include "collector.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "err.h"
#include "caps.h"

#define COL_EFI_GLOBAL "8be4df61-93ca-11d2-aa0d-00e098032b8c"

struct col_name_map {
    const char *match;
    const char *name;
};

static const struct col_name_map col_dmi_vendors[] = {
    {"QEMU", "qemu"},
    {"KVM", "kvm"},
    {"Amazon EC2", "amazon"},
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

static const struct col_name_map col_cpuid_vendors[] = {
    {"KVMKVMKVM", "kvm"},       {"Linux KVM Hv", "kvm"},  {"Microsoft Hv", "microsoft"},
    {"VMwareVMware", "vmware"}, {"XenVMMXenVMM", "xen"},  {"TCGTCGTCGTCG", "qemu"},
    {"bhyve bhyve ", "bhyve"},  {"ACRNACRNACRN", "acrn"}, {"VBoxVBoxVBox", "oracle"},
    {"QNXQVMBSQG", "qnx"},      {"SRESRESRESRE", "sre"},  {"Apple VZ", "apple"},
};

/* The container manager's name from a file's first line, or "" */
static int col_container_file(const struct col_ctx *ctx, const char *rel, char *name, size_t n)
{
    return col_read_line(ctx, rel, name, n);
}

/* container= in PID 1's environment (NUL-separated). */
static int col_container_environ(const struct col_ctx *ctx, char *name, size_t n)
{
    struct da_buf b;
    const char *p, *end;
    int e;

    name[0] = '\0';
    da_buf_init(&b, DA_MAX_SMALL_SYSFILE);
    if (ctx->live && ctx->cfg != NULL && ctx->cfg->pid1_environ != NULL)
        e = da_buf_append(&b, ctx->cfg->pid1_environ, ctx->cfg->pid1_environ_len) == 0 ? 0 : -EFBIG;
    else
        e = col_read_file(ctx, "/proc/1/environ", &b);
    if (e == 0) {
        p = da_buf_str(&b);
        end = p + da_buf_len(&b);
        while (p < end) {
            size_t len = strnlen(p, (size_t)(end - p));

            if (len > 10 && memcmp(p, "container=", 10) == 0)
                snprintf(name, n, "%.*s", (int)(len - 10), p + 10);
            p += len + 1;
        }
    }
    da_buf_free(&b);
    return e;
}

static int col_set_virt(cJSON *v, const char *kind, const char *name, const char *source)
{
    int r;

    COL_TRY(col_add_str(v, "kind", kind));
    COL_TRY(col_add_str(v, "name", name));
    COL_TRY(col_add_str(v, "source", source));
out:
    return r;
}

/* systemd's order: container markers first; /.dockerenv last. */
static int col_detect_container(const struct col_ctx *ctx, cJSON *v, int *found, int *environ_err)
{
    char name[128], osrel[256];
    struct stat st;
    int e;

    *found = 1;
    if (col_container_file(ctx, "/run/host/container-manager", name, sizeof(name)) == 0)
        return col_set_virt(v, "container", name, "/run/host/container-manager");
    if (col_container_file(ctx, "/run/systemd/container", name, sizeof(name)) == 0)
        return col_set_virt(v, "container", name, "/run/systemd/container");
    e = col_container_environ(ctx, name, sizeof(name));
    *environ_err = e;
    if (e == 0 && name[0] != '\0')
        return col_set_virt(v, "container", name, "/proc/1/environ");
    if (col_stat(ctx, "/run/.containerenv", &st) == 0)
        return col_set_virt(v, "container", "podman", "/run/.containerenv");
    if (col_read_line(ctx, "/proc/sys/kernel/osrelease", osrel, sizeof(osrel)) == 0 &&
        (strstr(osrel, "Microsoft") != NULL || strstr(osrel, "WSL") != NULL))
        return col_set_virt(v, "container", "wsl", "/proc/sys/kernel/osrelease");
    if (col_stat(ctx, "/proc/vz", &st) == 0 && col_stat(ctx, "/proc/bc", &st) != 0)
        return col_set_virt(v, "container", "openvz", "/proc/vz");
    if (col_stat(ctx, "/.dockerenv", &st) == 0)
        return col_set_virt(v, "container", "docker", "/.dockerenv");
    *found = 0;
    return 0;
}

static const char *col_map_prefix(const struct col_name_map *m, size_t n, const char *s)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strncmp(s, m[i].match, strlen(m[i].match)) == 0)
            return m[i].name;
    return NULL;
}

static int col_detect_vm(const struct col_ctx *ctx, cJSON *v, int *found)
{
    static const char *const dmi[] = {"sys_vendor", "product_name", "board_vendor", "bios_vendor"};
    char val[256], rel[128];
    const char *name;
    uint32_t regs[4];
    size_t i;

    *found = 1;
    for (i = 0; i < sizeof(dmi) / sizeof(dmi[0]); i++) {
        snprintf(rel, sizeof(rel), "/sys/class/dmi/id/%s", dmi[i]);
        if (col_read_line(ctx, rel, val, sizeof(val)) != 0)
            continue;
        name = col_map_prefix(col_dmi_vendors, sizeof(col_dmi_vendors) / sizeof(col_dmi_vendors[0]),
                              val);
        if (name == NULL && strcmp(dmi[i], "product_name") == 0 &&
            strcmp(val, "Virtual Machine") == 0)
            name = "microsoft";
        if (name != NULL)
            return col_set_virt(v, "vm", name, rel);
    }
    if (ctx->ops->cpuid != NULL && ctx->ops->cpuid(1, regs) == 0 && (regs[2] & (1u << 31)) != 0) {
        char vendor[13];

        if (ctx->ops->cpuid(0x40000000u, regs) != 0)
            memset(regs, 0, sizeof(regs));
        memcpy(vendor, &regs[1], 4);
        memcpy(vendor + 4, &regs[2], 4);
        memcpy(vendor + 8, &regs[3], 4);
        vendor[12] = '\0';
        name = col_map_prefix(col_cpuid_vendors,
                              sizeof(col_cpuid_vendors) / sizeof(col_cpuid_vendors[0]), vendor);
        return col_set_virt(v, "vm", name != NULL ? name : "other", "cpuid");
    }
    if (col_read_line(ctx, "/sys/hypervisor/type", val, sizeof(val)) == 0 && val[0] != '\0')
        return col_set_virt(v, "vm", val, "/sys/hypervisor/type");
    *found = 0;
    return 0;
}

static int col_virtualization(const struct col_ctx *ctx, cJSON *area)
{
    cJSON *v = cJSON_CreateObject();
    int r, found, environ_err = 0;

    COL_TRY(col_add_item(area, "virtualization", v));
    COL_TRY(col_detect_container(ctx, v, &found, &environ_err));
    if (found)
        goto out;
    COL_TRY(col_detect_vm(ctx, v, &found));
    if (found)
        goto out;
    COL_TRY(col_set_virt(v, "none", "none", "no marker"));
    if (environ_err != 0 && environ_err != -ENOENT)
        COL_TRY(col_add_unknown_errno(v, "pid1_environ", environ_err, "/proc/1/environ"));
    if (ctx->ops->cpuid == NULL)
        COL_TRY(col_add_unknown(v, "cpuid", COL_R_NOT_LIVE,
                                "CPUID describes the running machine, not --root"));
out:
    return r;
}

/* Is securityfs mounted (so that a missing file there means "not built")? */
static int col_securityfs(const struct col_ctx *ctx)
{
    struct stat st;

    return col_stat(ctx, "/sys/kernel/security/lsm", &st) == 0;
}

static int col_selinux(const struct col_ctx *ctx, cJSON *area)
{
    cJSON *o = NULL;
    char v[16];
    struct stat st;
    int r, e;

    e = col_read_line(ctx, "/sys/fs/selinux/enforce", v, sizeof(v));
    if (e < 0 && e != -ENOENT)
        return col_add_unknown_errno(area, "selinux", e, "/sys/fs/selinux/enforce");
    o = cJSON_CreateObject();
    COL_TRY(col_add_item(area, "selinux", o));
    if (e == -ENOENT) {
        if (col_stat(ctx, "/sys/fs/selinux", &st) == 0) {
            r = 0;
            cJSON_DeleteItemFromObject(area, "selinux");
            return col_add_unknown(area, "selinux", COL_R_NOT_PRESENT,
                                   "selinuxfs present without an enforce file");
        }
        /* libselinux's own test: no selinuxfs means SELinux is disabled */
        COL_TRY(col_add_bool(o, "enabled", 0));
        COL_TRY(col_add_str(o, "mode", "disabled"));
        goto out;
    }
    COL_TRY(col_add_bool(o, "enabled", 1));
    COL_TRY(col_add_str(o, "mode", strcmp(v, "1") == 0 ? "enforcing" : "permissive"));
out:
    return r;
}

static int col_apparmor(const struct col_ctx *ctx, cJSON *area)
{
    struct da_buf b;
    cJSON *o = NULL;
    char v[16];
    const char *p;
    int r, e;
    unsigned enforce = 0, complain = 0;

    da_buf_init(&b, DA_MAX_SYSFILE);
    e = col_read_line(ctx, "/sys/module/apparmor/parameters/enabled", v, sizeof(v));
    if (e < 0 && e != -ENOENT) {
        r = col_add_unknown_errno(area, "apparmor", e, "apparmor enabled");
        goto out;
    }
    o = cJSON_CreateObject();
    COL_TRY(col_add_item(area, "apparmor", o));
    COL_TRY(col_add_bool(o, "enabled", e == 0 && v[0] == 'Y'));
    if (e != 0 || v[0] != 'Y')
        goto out;
    e = col_read_file(ctx, "/sys/kernel/security/apparmor/profiles", &b);
    if (e < 0) {
        COL_TRY(col_add_unknown_errno(o, "profiles_enforce", e, "apparmor profiles"));
        COL_TRY(col_add_unknown_errno(o, "profiles_complain", e, "apparmor profiles"));
        goto out;
    }
    for (p = da_buf_str(&b); *p != '\0';) {
        size_t len = strcspn(p, "\n");

        if (len >= 10 && memcmp(p + len - 10, " (enforce)", 10) == 0)
            enforce++;
        else if (len >= 11 && memcmp(p + len - 11, " (complain)", 11) == 0)
            complain++;
        p += len;
        if (*p == '\n')
            p++;
    }
    COL_TRY(col_add_num(o, "profiles_enforce", enforce));
    COL_TRY(col_add_num(o, "profiles_complain", complain));
out:
    da_buf_free(&b);
    return r;
}

/* An efivar: 4 bytes of attributes then the value byte. */
static int col_efivar_bool(const struct col_ctx *ctx, cJSON *o, const char *key, const char *var)
{
    struct da_buf b;
    char rel[256];
    int r, e;

    snprintf(rel, sizeof(rel), "/sys/firmware/efi/efivars/%s-" COL_EFI_GLOBAL, var);
    da_buf_init(&b, 64);
    e = col_read_file(ctx, rel, &b);
    if (e < 0)
        r = col_add_unknown_errno(o, key, e, rel);
    else if (da_buf_len(&b) != 5 || da_buf_data(&b)[4] > 1)
        r = col_add_unknown(o, key, COL_R_PARSE, rel);
    else
        r = col_add_bool(o, key, da_buf_data(&b)[4] == 1);
    da_buf_free(&b);
    return r;
}

static int col_secure_boot(const struct col_ctx *ctx, cJSON *area)
{
    cJSON *o = cJSON_CreateObject();
    struct stat st;
    int r, e;

    COL_TRY(col_add_item(area, "secure_boot", o));
    e = col_stat(ctx, "/sys/firmware/efi", &st);
    if (e == -ENOENT) {
        /* booted without UEFI: there is no Secure Boot */
        COL_TRY(col_add_bool(o, "uefi", 0));
        COL_TRY(col_add_bool(o, "enabled", 0));
        goto out;
    }
    if (e < 0) {
        COL_TRY(col_add_unknown_errno(o, "uefi", e, "/sys/firmware/efi"));
        COL_TRY(col_add_unknown_errno(o, "enabled", e, "/sys/firmware/efi"));
        goto out;
    }
    COL_TRY(col_add_bool(o, "uefi", 1));
    COL_TRY(col_efivar_bool(ctx, o, "enabled", "SecureBoot"));
    COL_TRY(col_efivar_bool(ctx, o, "setup_mode", "SetupMode"));
out:
    return r;
}

static int col_lockdown(const struct col_ctx *ctx, cJSON *area)
{
    char line[128], *open, *close;
    int e = col_read_line(ctx, "/sys/kernel/security/lockdown", line, sizeof(line));

    if (e == -ENOENT && col_securityfs(ctx))
        return col_add_str(area, "lockdown", "none"); /* lockdown LSM not built in */
    if (e < 0)
        return col_add_unknown_errno(area, "lockdown", e, "/sys/kernel/security/lockdown");
    open = strchr(line, '[');
    close = open != NULL ? strchr(open, ']') : NULL;
    if (close == NULL)
        return col_add_unknown(area, "lockdown", COL_R_PARSE, "/sys/kernel/security/lockdown");
    *close = '\0';
    return col_add_str(area, "lockdown", open + 1);
}

/* Value of KEY= in a shell-style config file, unquoted; 0 when found. */
static int col_conf_value(const struct col_ctx *ctx, const char *rel, const char *key, char *out,
                          size_t n)
{
    struct da_buf b;
    const char *p;
    size_t klen = strlen(key);
    int e, found = -ENOENT;

    da_buf_init(&b, DA_MAX_CONFIG);
    e = col_read_file(ctx, rel, &b);
    if (e < 0) {
        da_buf_free(&b);
        return e;
    }
    for (p = da_buf_str(&b); *p != '\0';) {
        size_t len = strcspn(p, "\n");

        if (len > klen && memcmp(p, key, klen) == 0 && p[klen] == '=' && len - klen - 1 < n) {
            memcpy(out, p + klen + 1, len - klen - 1);
            out[len - klen - 1] = '\0';
            col_unquote(out);
            found = 0;
        }
        p += len;
        if (*p == '\n')
            p++;
    }
    da_buf_free(&b);
    return found;
}

static int col_firewall_config(const struct col_ctx *ctx, cJSON *fw, const char *nft_reason,
                               const char *nft_why)
{
    char v[64], zone[64];
    struct stat st;
    int r;

    if (col_conf_value(ctx, "/etc/ufw/ufw.conf", "ENABLED", v, sizeof(v)) == 0) {
        int on = strcasecmp(v, "yes") == 0;

        COL_TRY(col_add_str(fw, "source", "ufw"));
        COL_TRY(col_add_bool(fw, "active", on));
        if (col_conf_value(ctx, "/etc/default/ufw", "DEFAULT_INPUT_POLICY", v, sizeof(v)) == 0) {
            for (char *c = v; *c != '\0'; c++)
                *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
            COL_TRY(col_add_str(fw, "default_input_policy", on ? v : "accept"));
        } else {
            COL_TRY(
                col_add_unknown(fw, "default_input_policy", COL_R_NOT_PRESENT, "/etc/default/ufw"));
        }
        goto done;
    }
    if (col_stat(ctx, "/etc/firewalld/firewalld.conf", &st) == 0 ||
        col_stat(ctx, "/usr/lib/firewalld", &st) == 0) {
        int on = col_lstat(ctx, "/etc/systemd/system/multi-user.target.wants/firewalld.service",
                           &st) == 0;

        COL_TRY(col_add_str(fw, "source", "firewalld"));
        COL_TRY(col_add_bool(fw, "active", on));
        if (col_conf_value(ctx, "/etc/firewalld/firewalld.conf", "DefaultZone", zone,
                           sizeof(zone)) != 0)
            snprintf(zone, sizeof(zone), "public");
        COL_TRY(col_add_str(fw, "default_input_policy",
                            !on                            ? "accept"
                            : strcmp(zone, "trusted") == 0 ? "accept"
                                                           : "reject"));
        COL_TRY(col_add_str(fw, "zone", zone));
        goto done;
    }
    COL_TRY(col_add_unknown(fw, "active", nft_reason, nft_why));
    COL_TRY(col_add_unknown(fw, "default_input_policy", nft_reason, nft_why));
    COL_TRY(col_add_unknown(fw, "source", COL_R_NOT_PRESENT, "no ufw or firewalld configuration"));
done:
    r = col_add_str(fw, "ruleset_read", nft_why);
out:
    return r;
}

static int col_firewall(const struct col_ctx *ctx, cJSON *area)
{
    struct col_nft_summary s;
    cJSON *fw = cJSON_CreateObject();
    char why[256], legacy[64];
    int r, e = -ENOTSUP;

    COL_TRY(col_add_item(area, "firewall", fw));
    if (ctx->ops->nft != NULL)
        e = ctx->ops->nft(&s);
    if (e < 0) {
        if (ctx->ops->nft == NULL)
            snprintf(why, sizeof(why), "nftables ruleset not read: not the running machine");
        else
            snprintf(why, sizeof(why), "nftables ruleset not read: %s", strerror(-e));
        r = col_firewall_config(ctx, fw,
                                ctx->ops->nft == NULL ? COL_R_NOT_LIVE : col_errno_reason(e), why);
        goto out;
    }
    COL_TRY(col_add_str(fw, "source", "nftables"));
    COL_TRY(col_add_bool(fw, "active", s.input_policy_drop || s.drop_rules > 0));
    COL_TRY(col_add_str(fw, "default_input_policy",
                        s.input_chains > 0 && s.input_policy_drop ? "drop" : "accept"));
    COL_TRY(col_add_num(fw, "input_chains", s.input_chains));
    COL_TRY(col_add_num(fw, "rules", s.rules));
    COL_TRY(col_add_num(fw, "drop_rules", s.drop_rules));
    if (col_read_line(ctx, "/proc/net/ip_tables_names", legacy, sizeof(legacy)) == 0 &&
        legacy[0] != '\0')
        COL_TRY(col_add_bool(fw, "iptables_legacy_tables", 1));
out:
    return r;
}

/* ---- listening sockets from /proc/net ---- */

static int col_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decode procfs "ADDR:PORT" (address as 32-bit words in host order). */
int col_proc_addr(const char *s, int v6, unsigned char addr[16], unsigned *port)
{
    size_t alen = v6 ? 32 : 8, i;
    unsigned p = 0;

    if (strlen(s) != alen + 5 || s[alen] != ':')
        return -1;
    for (i = 0; i < alen / 8; i++) {
        uint32_t w = 0;
        size_t j;

        for (j = 0; j < 8; j++) {
            int h = col_hexval(s[i * 8 + j]);

            if (h < 0)
                return -1;
            w = (w << 4) | (uint32_t)h;
        }
        memcpy(addr + 4 * i, &w, 4);
    }
    for (i = alen + 1; i < alen + 5; i++) {
        int h = col_hexval(s[i]);

        if (h < 0)
            return -1;
        p = (p << 4) | (unsigned)h;
    }
    *port = p;
    return 0;
}

static int col_is_loopback(const unsigned char *a, int v6)
{
    static const unsigned char lo6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    if (!v6)
        return a[0] == 127;
    if (memcmp(a, lo6, 16) == 0)
        return 1;
    return memcmp(a, mapped, 12) == 0 && a[12] == 127;
}

static int col_listen_file(const struct col_ctx *ctx, cJSON *arr, const char *proto,
                           const char *rel, int v6, int udp)
{
    struct da_buf b;
    const char *p;
    int r = 0, e;

    da_buf_init(&b, DA_MAX_SYSFILE);
    e = col_read_file(ctx, rel, &b);
    if (e < 0) {
        da_buf_free(&b);
        return e == -ENOENT ? 0 : e; /* no IPv6 in the kernel is not an error */
    }
    p = da_buf_str(&b);
    p += strcspn(p, "\n");
    while (r == 0 && *p == '\n') {
        char local[64], remote[64], st[8];
        unsigned char addr[16], raddr[16];
        unsigned port, rport;
        char text[64];
        cJSON *o;

        p++;
        if (*p == '\0')
            break;
        if (sscanf(p, "%*s %63s %63s %7s", local, remote, st) != 3 ||
            col_proc_addr(local, v6, addr, &port) != 0 ||
            col_proc_addr(remote, v6, raddr, &rport) != 0) {
            r = -EBADMSG;
            break;
        }
        p += strcspn(p, "\n");
        if ((!udp && strcmp(st, "0A") != 0) || (udp && (strcmp(st, "07") != 0 || rport != 0)))
            continue;
        if (col_is_loopback(addr, v6))
            continue;
        if (inet_ntop(v6 ? AF_INET6 : AF_INET, addr, text, sizeof(text)) == NULL) {
            r = -EBADMSG;
            break;
        }
        o = cJSON_CreateObject();
        r = col_push(arr, o);
        if (r == 0)
            r = col_add_str(o, "proto", proto);
        if (r == 0)
            r = col_add_str(o, "address", text);
        if (r == 0)
            r = col_add_num(o, "port", port);
    }
    da_buf_free(&b);
    return r;
}

struct col_listen_acc {
    cJSON *arr;
    const char *proto;
    int udp;
};

static int col_listen_sock(const struct col_sock *so, void *arg)
{
    struct col_listen_acc *a = arg;
    char text[64];
    cJSON *o;
    int r;

    if ((a->udp && so->rport != 0) || col_is_loopback(so->local, so->v6))
        return 0;
    if (inet_ntop(so->v6 ? AF_INET6 : AF_INET, so->local, text, sizeof(text)) == NULL)
        return -EBADMSG;
    o = cJSON_CreateObject();
    COL_TRY(col_push(a->arr, o));
    COL_TRY(col_add_str(o, "proto", a->proto));
    COL_TRY(col_add_str(o, "address", text));
    COL_TRY(col_add_num(o, "port", so->lport));
out:
    return r;
}

static const struct {
    const char *proto, *rel;
    int v6, udp;
} col_listen_files[] = {
    {"tcp", "/proc/net/tcp", 0, 0},
    {"tcp6", "/proc/net/tcp6", 1, 0},
    {"udp", "/proc/net/udp", 0, 1},
    {"udp6", "/proc/net/udp6", 1, 1},
};

/* From the kernel's socket tables over netlink; DA_ERR_UNSUPPORTED when
 * that is not possible, so that the caller reads /proc/net. */
static int col_listening_diag(const struct col_ctx *ctx, cJSON *arr)
{
    size_t i;
    int e;

    if (ctx->ops->sockets == NULL)
        return DA_ERR_UNSUPPORTED;
    for (i = 0; i < sizeof(col_listen_files) / sizeof(col_listen_files[0]); i++) {
        struct col_listen_acc a = {arr, col_listen_files[i].proto, col_listen_files[i].udp};

        /* TCP_LISTEN is 10; unconnected UDP sockets are in TCP_CLOSE, 7 */
        e = ctx->ops->sockets(col_listen_files[i].v6 ? AF_INET6 : AF_INET,
                              col_listen_files[i].udp ? IPPROTO_UDP : IPPROTO_TCP,
                              col_listen_files[i].udp ? 1u << 7 : 1u << 10, col_listen_sock, &a);
        if (e == DA_ERR_NOMEM)
            return e;
        if (e < 0)
            return DA_ERR_UNSUPPORTED;
    }
    return 0;
}

static int col_listening(const struct col_ctx *ctx, cJSON *area)
{
    cJSON *arr = cJSON_CreateArray();
    size_t i;
    int r;

    if (arr == NULL)
        return DA_ERR_NOMEM;
    r = col_listening_diag(ctx, arr);
    if (r == DA_ERR_NOMEM) {
        cJSON_Delete(arr);
        return r;
    }
    if (r == 0)
        return col_add_item(area, "listening", arr);
    cJSON_Delete(arr);
    arr = cJSON_CreateArray();
    if (arr == NULL)
        return DA_ERR_NOMEM;
    for (i = 0; i < sizeof(col_listen_files) / sizeof(col_listen_files[0]); i++) {
        r = col_listen_file(ctx, arr, col_listen_files[i].proto, col_listen_files[i].rel,
                            col_listen_files[i].v6, col_listen_files[i].udp);
        if (r == DA_ERR_NOMEM) {
            cJSON_Delete(arr);
            return r;
        }
        if (r < 0) {
            cJSON_Delete(arr);
            return col_add_unknown_errno(area, "listening", r, col_listen_files[i].rel);
        }
    }
    return col_add_item(area, "listening", arr);
}

static int col_isolation_collect(const struct col_ctx *ctx, cJSON *area)
{
    int r;

    COL_TRY(col_virtualization(ctx, area));
    COL_TRY(col_selinux(ctx, area));
    COL_TRY(col_apparmor(ctx, area));
    COL_TRY(col_secure_boot(ctx, area));
    COL_TRY(col_lockdown(ctx, area));
    COL_TRY(col_firewall(ctx, area));
    COL_TRY(col_listening(ctx, area));
out:
    return r;
}

const struct da_collector col_isolation = {"isolation", col_isolation_collect};
