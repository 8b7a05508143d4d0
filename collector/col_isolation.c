/* isolation: virtualization (virt.c), mandatory access control, Secure Boot,
 * kernel lockdown, firewall and sockets listening on non-loopback addresses. */
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
#include "nft_eval.h"
#include "virt.h"

#define COL_EFI_GLOBAL "8be4df61-93ca-11d2-aa0d-00e098032b8c"
#define COL_EFI_SHIM   "605dab50-e046-4300-abb6-3dd810dd8b23" /* shim's MOK variables */

#define COL_FW_MAX_IFACES 64 /* interfaces the firewall packets are tried on */

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
    if (e < 0 && e != DA_ERR_NOT_FOUND)
        return col_add_unknown_err(area, "selinux", e, "/sys/fs/selinux/enforce");
    o = cJSON_CreateObject();
    COL_TRY(col_add_item(area, "selinux", o));
    if (e == DA_ERR_NOT_FOUND) {
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
    if (e < 0 && e != DA_ERR_NOT_FOUND) {
        r = col_add_unknown_err(area, "apparmor", e, "apparmor enabled");
        goto out;
    }
    o = cJSON_CreateObject();
    COL_TRY(col_add_item(area, "apparmor", o));
    COL_TRY(col_add_bool(o, "enabled", e == 0 && v[0] == 'Y'));
    if (e != 0 || v[0] != 'Y')
        goto out;
    e = col_read_file(ctx, "/sys/kernel/security/apparmor/profiles", &b);
    if (e < 0) {
        COL_TRY(col_add_unknown_err(o, "profiles_enforce", e, "apparmor profiles"));
        COL_TRY(col_add_unknown_err(o, "profiles_complain", e, "apparmor profiles"));
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

/* An efivar of the global GUID: 4 bytes of attributes then the value byte.
 * *val is 0 or 1; DA_ERR_* of the read, or DA_ERR_COLLECT_PARSE for another
 * size or value, with its detail text in why. */
static int col_efivar_u8(const struct col_ctx *ctx, const char *var, int *val, char *why, size_t n)
{
    char rel[160];
    struct da_buf b;
    int e;

    snprintf(rel, sizeof(rel), "/sys/firmware/efi/efivars/%s-" COL_EFI_GLOBAL, var);
    da_buf_init(&b, 64);
    e = col_read_file(ctx, rel, &b);
    if (e == 0 && (da_buf_len(&b) != 5 || da_buf_data(&b)[4] > 1))
        e = DA_ERR_COLLECT_PARSE;
    if (e == 0)
        *val = da_buf_data(&b)[4];
    else if (e == DA_ERR_COLLECT_PARSE)
        snprintf(why, n, "%s: not 4 attribute bytes and a value of 0 or 1", rel);
    else
        col_err_detail(e, rel, why, n);
    da_buf_free(&b);
    return e;
}

static int col_add_efi_unknown(cJSON *o, const char *key, int e, const char *why)
{
    return col_add_unknown(o, key, col_err_reason(e), why);
}

/* Secure Boot is enforced as the kernel's efi_get_secureboot_mode decides
 * (SecureBoot = 1 and not SetupMode = 1; a missing SetupMode counts as 0)
 * and shim does not skip validation: shim keeps the MokSBStateRT variable
 * only while validation is disabled, which is what mokutil --sb-state
 * reports. */
static int col_secure_boot(const struct col_ctx *ctx, cJSON *area)
{
    cJSON *o = cJSON_CreateObject();
    char why_sb[320], why_sm[320], why_mok[320], rel_mok[160];
    int r, e, e_sb, e_sm, e_mok, sb = 0, sm = 0, mok = 0;
    struct stat st;
    struct da_buf b;

    COL_TRY(col_add_item(area, "secure_boot", o));
    e = col_stat(ctx, "/sys/firmware/efi", &st);
    if (e == DA_ERR_NOT_FOUND) {
        /* booted without UEFI: there is no Secure Boot */
        COL_TRY(col_add_bool(o, "uefi", 0));
        COL_TRY(col_add_bool(o, "enabled", 0));
        goto out;
    }
    if (e < 0) {
        static const char *const keys[] = {"uefi", "enabled", "firmware_enabled", "setup_mode",
                                           "shim_validation"};

        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
            COL_TRY(col_add_unknown_err(o, keys[i], e, "/sys/firmware/efi"));
        goto out;
    }
    COL_TRY(col_add_bool(o, "uefi", 1));
    e = col_stat(ctx, "/sys/firmware/efi/efivars", &st);
    if (e < 0) {
        static const char *const keys[] = {"enabled", "firmware_enabled", "setup_mode",
                                           "shim_validation"};

        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
            COL_TRY(col_add_unknown(o, keys[i],
                                    e == DA_ERR_NOT_FOUND ? COL_R_NOT_PRESENT : col_err_reason(e),
                                    "/sys/firmware/efi/efivars (efivarfs not mounted)"));
        goto out;
    }
    e_sb = col_efivar_u8(ctx, "SecureBoot", &sb, why_sb, sizeof(why_sb));
    e_sm = col_efivar_u8(ctx, "SetupMode", &sm, why_sm, sizeof(why_sm));
    snprintf(rel_mok, sizeof(rel_mok), "/sys/firmware/efi/efivars/MokSBStateRT-" COL_EFI_SHIM);
    da_buf_init(&b, 64);
    e_mok = col_read_file(ctx, rel_mok, &b);
    da_buf_free(&b);
    if (e_mok < 0)
        col_err_detail(e_mok, rel_mok, why_mok, sizeof(why_mok));
    mok = e_mok == 0;
    if (e_sb == 0)
        COL_TRY(col_add_bool(o, "firmware_enabled", sb));
    else if (e_sb == DA_ERR_NOT_FOUND) /* firmware without Secure Boot support */
        COL_TRY(col_add_bool(o, "firmware_enabled", 0));
    else
        COL_TRY(col_add_efi_unknown(o, "firmware_enabled", e_sb, why_sb));
    if (e_sm == 0)
        COL_TRY(col_add_bool(o, "setup_mode", sm));
    else
        COL_TRY(col_add_efi_unknown(o, "setup_mode", e_sm, why_sm));
    if (e_mok == 0 || e_mok == DA_ERR_NOT_FOUND)
        COL_TRY(col_add_bool(o, "shim_validation", !mok));
    else
        COL_TRY(col_add_efi_unknown(o, "shim_validation", e_mok, why_mok));
    /* enforced: every input known, or one that alone settles "not enforced" */
    if ((e_sb == 0 && sb == 0) || e_sb == DA_ERR_NOT_FOUND || (e_sm == 0 && sm == 1) || mok)
        COL_TRY(col_add_bool(o, "enabled", 0));
    else if (e_sb != 0)
        COL_TRY(col_add_efi_unknown(o, "enabled", e_sb, why_sb));
    else if (e_sm != 0 && e_sm != DA_ERR_NOT_FOUND)
        COL_TRY(col_add_efi_unknown(o, "enabled", e_sm, why_sm));
    else if (e_mok != DA_ERR_NOT_FOUND)
        COL_TRY(col_add_efi_unknown(o, "enabled", e_mok, why_mok));
    else
        COL_TRY(col_add_bool(o, "enabled", 1));
out:
    return r;
}

static int col_lockdown(const struct col_ctx *ctx, cJSON *area)
{
    char line[128], *open, *close;
    int e = col_read_line(ctx, "/sys/kernel/security/lockdown", line, sizeof(line));

    if (e == DA_ERR_NOT_FOUND && col_securityfs(ctx))
        return col_add_str(area, "lockdown", "none"); /* lockdown LSM not built in */
    if (e < 0)
        return col_add_unknown_err(area, "lockdown", e, "/sys/kernel/security/lockdown");
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
    int e, found = DA_ERR_NOT_FOUND;

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

/* Per-family facts from a configuration file (the fallback): drop when the
 * tool is enabled with a dropping default for that family. */
static int col_fw_family_conf(cJSON *fw, const char *key, int drop, const char *why)
{
    cJSON *o = cJSON_CreateObject();
    int r;

    COL_TRY(col_add_item(fw, key, o));
    COL_TRY(col_add_str(o, "inbound_default", drop ? "drop" : "accept"));
    COL_TRY(col_add_item(o, "open_tcp", cJSON_CreateArray()));
    COL_TRY(col_add_item(o, "open_udp", cJSON_CreateArray()));
    COL_TRY(col_add_str(o, "reason", why));
out:
    return r;
}

/* Both families unknown as a whole: for a reason word, or (reason NULL)
 * for the DA_ERR_* err of reading path. */
static int col_fw_family_unknown(cJSON *fw, const char *reason, int err, const char *detail)
{
    static const char *const fams[] = {"ipv4", "ipv6"};
    size_t i;
    int r = 0;

    for (i = 0; r == 0 && i < 2; i++)
        r = reason != NULL ? col_add_unknown(fw, fams[i], reason, detail)
                           : col_add_unknown_err(fw, fams[i], err, detail);
    return r;
}

/* A firewall configuration file that exists but cannot be read: which
 * firewall is configured, and how, is not known. */
static int col_firewall_unknown(cJSON *fw, int err, const char *path)
{
    static const char *const keys[] = {"source", "active", "default_input_policy", "zone"};
    size_t i;
    int r = 0;

    for (i = 0; r == 0 && i < sizeof(keys) / sizeof(keys[0]); i++)
        r = col_add_unknown_err(fw, keys[i], err, path);
    return r == 0 ? col_fw_family_unknown(fw, NULL, err, path) : r;
}

/* active, default_input_policy and both families unknown for err on path. */
static int col_fw_facts_unknown(cJSON *fw, int err, const char *path)
{
    int r;

    if (err == DA_ERR_NOT_FOUND) {
        COL_TRY(col_add_unknown(fw, "active", COL_R_NOT_PRESENT, path));
        COL_TRY(col_add_unknown(fw, "default_input_policy", COL_R_NOT_PRESENT, path));
        COL_TRY(col_fw_family_unknown(fw, COL_R_NOT_PRESENT, 0, path));
    } else {
        COL_TRY(col_add_unknown_err(fw, "active", err, path));
        COL_TRY(col_add_unknown_err(fw, "default_input_policy", err, path));
        COL_TRY(col_fw_family_unknown(fw, NULL, err, path));
    }
out:
    return r;
}

static int col_firewall_ufw(const struct col_ctx *ctx, cJSON *fw, const char *enabled)
{
    static const char ufw_default[] = "/etc/default/ufw", why[] = "from /etc/ufw, not the "
                                                                  "live ruleset";
    char v[64], v6[16];
    int r, e, on = strcasecmp(enabled, "yes") == 0, drop, drop6;

    COL_TRY(col_add_str(fw, "source", "ufw"));
    e = col_conf_value(ctx, ufw_default, "DEFAULT_INPUT_POLICY", v, sizeof(v));
    if (e == 0) {
        /* IPV6=no leaves ip6tables alone */
        e = col_conf_value(ctx, ufw_default, "IPV6", v6, sizeof(v6));
        if (e == DA_ERR_NOT_FOUND) {
            snprintf(v6, sizeof(v6), "yes");
            e = 0;
        }
    }
    if (e < 0) {
        r = col_fw_facts_unknown(fw, e, ufw_default);
        goto out;
    }
    for (char *c = v; *c != '\0'; c++)
        *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
    drop = on && (strcmp(v, "drop") == 0 || strcmp(v, "reject") == 0);
    drop6 = drop && strcasecmp(v6, "yes") == 0;
    COL_TRY(col_add_bool(fw, "active", drop && drop6));
    COL_TRY(col_add_str(fw, "default_input_policy", on ? v : "accept"));
    COL_TRY(col_fw_family_conf(fw, "ipv4", drop, why));
    COL_TRY(col_fw_family_conf(fw, "ipv6", drop6, why));
out:
    return r;
}

static int col_firewall_config(const struct col_ctx *ctx, cJSON *fw, const char *nft_reason,
                               const char *nft_why)
{
    static const char ufw_conf[] = "/etc/ufw/ufw.conf",
                      fwd_conf[] = "/etc/firewalld/firewalld.conf",
                      fwd_lib[] = "/usr/lib/firewalld",
                      fwd_link[] = "/etc/systemd/system/multi-user.target.wants/firewalld.service",
                      fwd_why[] = "from /etc/firewalld, not the live ruleset";
    char v[64], zone[64];
    struct stat st;
    int r, e, e2;

    e = col_conf_value(ctx, ufw_conf, "ENABLED", v, sizeof(v));
    if (e == 0) {
        COL_TRY(col_firewall_ufw(ctx, fw, v));
        goto done;
    }
    if (e != DA_ERR_NOT_FOUND) {
        COL_TRY(col_firewall_unknown(fw, e, ufw_conf));
        goto done;
    }
    e = col_stat(ctx, fwd_conf, &st);
    e2 = col_stat(ctx, fwd_lib, &st);
    if (e == 0 || e2 == 0) {
        int le = col_lstat(ctx, fwd_link, &st), on = le == 0;

        COL_TRY(col_add_str(fw, "source", "firewalld"));
        e = col_conf_value(ctx, fwd_conf, "DefaultZone", zone, sizeof(zone));
        if (e == DA_ERR_NOT_FOUND) {
            snprintf(zone, sizeof(zone), "public");
            e = 0;
        }
        if (le < 0 && le != DA_ERR_NOT_FOUND) {
            COL_TRY(col_fw_facts_unknown(fw, le, fwd_link));
        } else if (e < 0 && on) {
            COL_TRY(col_fw_facts_unknown(fw, e, fwd_conf));
        } else {
            int drop = on && strcmp(zone, "trusted") != 0;

            COL_TRY(col_add_bool(fw, "active", drop));
            COL_TRY(col_add_str(fw, "default_input_policy", drop ? "reject" : "accept"));
            COL_TRY(col_fw_family_conf(fw, "ipv4", drop, fwd_why));
            COL_TRY(col_fw_family_conf(fw, "ipv6", drop, fwd_why));
        }
        if (e < 0)
            COL_TRY(col_add_unknown_err(fw, "zone", e, fwd_conf));
        else
            COL_TRY(col_add_str(fw, "zone", zone));
        goto done;
    }
    if (e != DA_ERR_NOT_FOUND || e2 != DA_ERR_NOT_FOUND) {
        COL_TRY(col_firewall_unknown(fw, e != DA_ERR_NOT_FOUND ? e : e2,
                                     e != DA_ERR_NOT_FOUND ? fwd_conf : fwd_lib));
        goto done;
    }
    COL_TRY(col_add_unknown(fw, "active", nft_reason, nft_why));
    COL_TRY(col_add_unknown(fw, "default_input_policy", nft_reason, nft_why));
    COL_TRY(col_add_unknown(fw, "source", COL_R_NOT_PRESENT, "no ufw or firewalld configuration"));
    COL_TRY(col_fw_family_unknown(fw, nft_reason, 0, nft_why));
done:
    r = col_add_str(fw, "ruleset_read", nft_why);
out:
    return r;
}

/* The non-loopback interfaces of the machine, from /sys/class/net. */
static size_t col_fw_ifaces(const struct col_ctx *ctx, struct col_fw_iface *ifs, size_t max)
{
    struct da_rootfs_dir *d;
    struct da_rootfs_dirent e;
    size_t n = 0;

    if (col_opendir(ctx, "/sys/class/net", &d) != 0)
        return 0;
    while (n < max && da_rootfs_readdir(d, &e) == 1) {
        char rel[128], line[32];
        uint64_t v;

        if (strlen(e.name) >= sizeof(ifs[n].name) || strcmp(e.name, "lo") == 0)
            continue;
        memset(&ifs[n], 0, sizeof(ifs[n]));
        memcpy(ifs[n].name, e.name, strlen(e.name));
        snprintf(rel, sizeof(rel), "/sys/class/net/%s/ifindex", e.name);
        if (col_read_line(ctx, rel, line, sizeof(line)) == 0 && col_parse_u64(line, &v) == 0 &&
            v <= UINT32_MAX)
            ifs[n].ifindex = (uint32_t)v;
        snprintf(rel, sizeof(rel), "/sys/class/net/%s/type", e.name);
        if (col_read_line(ctx, rel, line, sizeof(line)) == 0 && col_parse_u64(line, &v) == 0 &&
            v <= UINT16_MAX)
            ifs[n].type = (uint16_t)v;
        if (ifs[n].type == 772) /* ARPHRD_LOOPBACK under another name */
            continue;
        n++;
    }
    da_rootfs_closedir(d);
    return n;
}

/* Does /proc/net/<file> list iptables-legacy tables? */
static int col_fw_legacy(const struct col_ctx *ctx, const char *rel)
{
    char line[64];

    return col_read_line(ctx, rel, line, sizeof(line)) == 0 && line[0] != '\0';
}

static int col_fw_ports(cJSON *o, const char *key, const uint16_t *p, size_t n)
{
    cJSON *arr = cJSON_CreateArray();
    size_t i;
    int r;

    COL_TRY(col_add_item(o, key, arr));
    for (i = 0; i < n; i++)
        COL_TRY(col_push(arr, cJSON_CreateNumber(p[i])));
out:
    return r;
}

static int col_fw_family(cJSON *fw, const char *key, const struct col_fw_family *f, int legacy,
                         const char *legacy_file)
{
    cJSON *o = cJSON_CreateObject();
    char detail[128];
    int r;

    COL_TRY(col_add_item(fw, key, o));
    if (legacy) {
        snprintf(detail, sizeof(detail),
                 "%s lists iptables-legacy tables, which nftables does not show", legacy_file);
        COL_TRY(col_add_unknown(o, "inbound_default", COL_R_IPTABLES_LEGACY, detail));
    } else if (f->inbound == COL_FW_UNKNOWN) {
        COL_TRY(col_add_unknown(o, "inbound_default", COL_R_UNSUPPORTED, f->reason));
    } else {
        COL_TRY(col_add_str(o, "inbound_default", col_fw_verdict_name(f->inbound)));
    }
    COL_TRY(col_add_str(o, "tcp", col_fw_verdict_name(f->tcp)));
    COL_TRY(col_add_str(o, "udp", col_fw_verdict_name(f->udp)));
    COL_TRY(col_fw_ports(o, "open_tcp", f->open_tcp, f->n_open_tcp));
    COL_TRY(col_fw_ports(o, "open_udp", f->open_udp, f->n_open_udp));
    if (f->open_truncated)
        COL_TRY(col_add_bool(o, "open_truncated", 1));
    COL_TRY(col_add_str(o, "reason", f->reason));
out:
    return r;
}

/* The families' verdicts together: drop when both drop, accept when one
 * accepts, unknown otherwise. */
static int col_fw_overall(cJSON *fw, enum col_fw_verdict v4, enum col_fw_verdict v6, int legacy4,
                          int legacy6)
{
    int r;

    if (legacy4 && v4 != COL_FW_ACCEPT)
        v4 = COL_FW_UNKNOWN;
    if (legacy6 && v6 != COL_FW_ACCEPT)
        v6 = COL_FW_UNKNOWN;
    if (v4 == COL_FW_ACCEPT || v6 == COL_FW_ACCEPT) {
        COL_TRY(col_add_bool(fw, "active", 0));
        COL_TRY(col_add_str(fw, "default_input_policy", "accept"));
    } else if (v4 == COL_FW_DROP && v6 == COL_FW_DROP) {
        COL_TRY(col_add_bool(fw, "active", 1));
        COL_TRY(col_add_str(fw, "default_input_policy", "drop"));
    } else {
        const char *why = legacy4 || legacy6 ? COL_R_IPTABLES_LEGACY : COL_R_UNSUPPORTED;
        const char *detail = "see ipv4.reason and ipv6.reason";

        COL_TRY(col_add_unknown(fw, "active", why, detail));
        COL_TRY(col_add_unknown(fw, "default_input_policy", why, detail));
    }
out:
    return r;
}

static int col_firewall(const struct col_ctx *ctx, cJSON *area)
{
    struct col_fw_iface ifs[COL_FW_MAX_IFACES];
    struct col_fw_result *res = NULL;
    struct da_buf dump;
    cJSON *fw = cJSON_CreateObject();
    char why[256];
    size_t n_ifs;
    int r, e = -ENOTSUP, legacy4, legacy6;

    da_buf_init(&dump, DA_MAX_NFT_DUMP);
    COL_TRY(col_add_item(area, "firewall", fw));
    if (ctx->ops->nft_dump != NULL)
        e = ctx->ops->nft_dump(&dump);
    if (e < 0) {
        if (ctx->ops->nft_dump == NULL)
            snprintf(why, sizeof(why), "nftables ruleset not read: not the running machine");
        else
            snprintf(why, sizeof(why), "nftables ruleset not read: %s", strerror(-e));
        r = col_firewall_config(ctx, fw,
                                ctx->ops->nft_dump == NULL ? COL_R_NOT_LIVE
                                : e == -E2BIG              ? COL_R_LIMIT
                                                           : col_sys_reason(e),
                                why);
        goto out;
    }
    res = calloc(1, sizeof(*res));
    if (res == NULL) {
        r = DA_ERR_NOMEM;
        goto out;
    }
    COL_TRY(col_add_str(fw, "source", "nftables"));
    n_ifs = col_fw_ifaces(ctx, ifs, COL_FW_MAX_IFACES);
    e = col_nft_evaluate(da_buf_data(&dump), da_buf_len(&dump), ifs, n_ifs, res);
    if (e == DA_ERR_NOMEM) {
        r = e;
        goto out;
    }
    if (e < 0) {
        col_err_detail(e, "nftables netlink dump", why, sizeof(why));
        COL_TRY(col_add_unknown(fw, "active", col_err_reason(e), why));
        COL_TRY(col_add_unknown(fw, "default_input_policy", col_err_reason(e), why));
        COL_TRY(col_fw_family_unknown(fw, col_err_reason(e), 0, why));
        goto out;
    }
    legacy4 = col_fw_legacy(ctx, "/proc/net/ip_tables_names");
    legacy6 = col_fw_legacy(ctx, "/proc/net/ip6_tables_names");
    COL_TRY(col_fw_overall(fw, res->ipv4.inbound, res->ipv6.inbound, legacy4, legacy6));
    COL_TRY(col_fw_family(fw, "ipv4", &res->ipv4, legacy4, "/proc/net/ip_tables_names"));
    COL_TRY(col_fw_family(fw, "ipv6", &res->ipv6, legacy6, "/proc/net/ip6_tables_names"));
    COL_TRY(col_add_num(fw, "tables", (double)res->tables));
    COL_TRY(col_add_num(fw, "dormant_tables", (double)res->dormant_tables));
    COL_TRY(col_add_num(fw, "base_chains", (double)res->base_chains));
    COL_TRY(col_add_num(fw, "rules", (double)res->rules));
    COL_TRY(col_add_num(fw, "sets", (double)res->sets));
    COL_TRY(col_add_num(fw, "interfaces", (double)n_ifs));
    if (legacy4 || legacy6)
        COL_TRY(col_add_bool(fw, "iptables_legacy_tables", 1));
out:
    free(res);
    da_buf_free(&dump);
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
        return e == DA_ERR_NOT_FOUND ? 0 : e; /* no IPv6 in the kernel is not an error */
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
            r = DA_ERR_COLLECT_PARSE;
            break;
        }
        p += strcspn(p, "\n");
        if ((!udp && strcmp(st, "0A") != 0) || (udp && (strcmp(st, "07") != 0 || rport != 0)))
            continue;
        if (col_is_loopback(addr, v6))
            continue;
        if (inet_ntop(v6 ? AF_INET6 : AF_INET, addr, text, sizeof(text)) == NULL) {
            r = DA_ERR_COLLECT_PARSE;
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
        return DA_ERR_COLLECT_PARSE;
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
            return col_add_unknown_err(area, "listening", r, col_listen_files[i].rel);
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
