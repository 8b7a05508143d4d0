/* The evidence's data inventory and the minimal privacy mode (privacy.h). */
#include "privacy.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "digest.h"
#include "err.h"

#define PRIVACY_MAX_POINTER 512
#define HMAC_BLOCK          64

/* One row per evidence field; docs/privacy.md has the same rows. */
static const struct da_privacy_field privacy_fields[] = {
    {"/schema", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "", "format of the document"},
    {"/collected_at", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "when the facts were read; ages count from it"},
    {"/agent/version", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "version of the agent that collected"},
    {"/agent/binary_sha256", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "digest of the agent's binary, to recognise a modified agent"},
    {"/agent/sandbox", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "sandbox mode of the agent's processes (a policy fails log)"},
    {"/agent/privacy", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "privacy mode the document was made in (shown in the verdict)"},
    {"/agent/spool_dropped", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "reports the agent's bounded spool had to drop (added to each report)"},
    {"/host/hostname", DA_PRIVACY_PERSONAL, DA_PRIVACY_PSEUDONYMIZE, "",
     "names the machine in listings; host names often carry a person's name"},
    {"/host/machine_id", DA_PRIVACY_MACHINE, DA_PRIVACY_PSEUDONYMIZE, "",
     "tells machines apart across reinstalls of the agent"},
    {"/host/os/id", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "distribution, to read the package facts"},
    {"/host/os/version_id", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "", "distribution release"},
    {"/host/os/pretty_name", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "distribution name for people"},
    {"/host/kernel/release", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "patches.kernel-reboot",
     "running kernel, compared with the installed kernels"},
    {"/host/kernel/version", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "", "kernel build string"},
    {"/host/arch", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "", "CPU architecture"},
    {"/host/boot_id", DA_PRIVACY_MACHINE, DA_PRIVACY_DROP, "", "identifies the current boot"},
    {"/host/uptime_s", DA_PRIVACY_TECHNICAL, DA_PRIVACY_DROP, "", "time since boot"},
    {"/patches/manager", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "patches.security-updates",
     "package manager the package facts come from"},
    {"/patches/installed_count", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "number of installed packages"},
    {"/patches/inventory_sha256", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "patches.security-updates",
     "digest of the package list; the server asks for the list when it has not seen the digest"},
    {"/patches/lists_count", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "", "number of package lists"},
    {"/patches/apt_pins", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "number of apt pin stanzas (they change which updates are candidates)"},
    {"/patches/repos_count", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "rpm: number of enabled dnf repositories"},
    {"/patches/lists_age_s", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "patches.lists-fresh",
     "age of the last package list refresh"},
    {"/patches/pending/*/name", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "patches.security-updates",
     "package with a pending upgrade; the server times the grace period per package"},
    {"/patches/pending/*/arch", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "patches.security-updates",
     "its architecture"},
    {"/patches/pending/*/installed", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP,
     "patches.security-updates", "installed version"},
    {"/patches/pending/*/candidate", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP,
     "patches.security-updates", "version apt would install"},
    {"/patches/pending/*/security", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP,
     "patches.security-updates", "whether the upgrade is a security update"},
    {"/patches/pending/*/first_seen", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP,
     "patches.security-updates",
     "when the agent first saw it pending (a hint; the server keeps its own time)"},
    {"/patches/pending/*/age_s", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "patches.security-updates",
     "seconds since first_seen"},
    {"/patches/pending/*/advisories", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "rpm: the security advisories that apply to the upgrade"},
    {"/patches/pending/*/advisories/*/id", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "rpm: the advisory's public identifier (RHSA-..., FEDORA-..., ALSA-...)"},
    {"/patches/pending/*/advisories/*/severity", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "rpm: the advisory's severity"},
    {"/patches/pending", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "patches.security-updates",
     "pending upgrades (unknown when the lists cannot be read)"},
    {"/patches/pending_count", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "number of pending upgrades"},
    {"/patches/security_pending_count", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "number of pending security upgrades"},
    {"/patches/auto_updates", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "whether unattended upgrades are configured"},
    {"/patches/reboot_required", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "the package manager asks for a reboot"},
    {"/patches/running_kernel_is_newest", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP,
     "patches.kernel-reboot", "the newest installed kernel is running"},
    {"/disk/volumes/*/path", DA_PRIVACY_PERSONAL, DA_PRIVACY_PSEUDONYMIZE, "",
     "path of interest; home directories carry user names"},
    {"/disk/volumes/*/reason", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "why the path is listed (system, home directory, source directory)"},
    {"/disk/volumes/*/mountpoint", DA_PRIVACY_PERSONAL, DA_PRIVACY_PSEUDONYMIZE, "",
     "mount holding the path; may be a home directory"},
    {"/disk/volumes/*/source", DA_PRIVACY_PERSONAL, DA_PRIVACY_DROP, "",
     "device or source of the mount; volume groups are often named after the host"},
    {"/disk/volumes/*/fstype", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "", "file system type"},
    {"/disk/volumes/*/encrypted", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "disk.volumes-encrypted",
     "whether the volume is encrypted"},
    {"/disk/volumes/*/scheme", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "encryption scheme (luks2, fscrypt, ...)"},
    {"/disk/volumes/*/persistent", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "disk.volumes-encrypted",
     "false for memory-backed volumes"},
    {"/disk/volumes/*/stack", DA_PRIVACY_PERSONAL, DA_PRIVACY_DROP, "",
     "block devices under the mount; device-mapper names often carry the host name"},
    {"/disk/volumes/*/file_volume", DA_PRIVACY_PERSONAL, DA_PRIVACY_DROP, "",
     "volume holding a swap file"},
    {"/disk/swap/*/path", DA_PRIVACY_PERSONAL, DA_PRIVACY_PSEUDONYMIZE, "", "swap device or file"},
    {"/disk/swap/*/type", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "", "partition or file"},
    {"/disk/swap/*/encrypted", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "disk.swap-encrypted",
     "whether swap is encrypted"},
    {"/disk/swap/*/scheme", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "", "encryption scheme of swap"},
    {"/disk/swap/*/persistent", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "disk.swap-encrypted",
     "false for zram"},
    {"/disk/swap/*/stack", DA_PRIVACY_PERSONAL, DA_PRIVACY_DROP, "", "block devices under swap"},
    {"/disk/swap/*/file_volume", DA_PRIVACY_PERSONAL, DA_PRIVACY_DROP, "",
     "volume holding the swap file"},
    {"/isolation/virtualization/kind", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "container, vm or none"},
    {"/isolation/virtualization/name", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "virtualization product"},
    {"/isolation/virtualization/source", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "what decided the virtualization fact"},
    {"/isolation/virtualization/cpuid", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "whether CPUID was consulted"},
    {"/isolation/selinux/enabled", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "isolation.mac-enforcing",
     "SELinux present"},
    {"/isolation/selinux/mode", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "isolation.mac-enforcing",
     "enforcing or permissive"},
    {"/isolation/apparmor/enabled", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP,
     "isolation.mac-enforcing", "AppArmor enabled"},
    {"/isolation/apparmor/profiles_enforce", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP,
     "isolation.mac-enforcing", "profiles in enforce mode"},
    {"/isolation/apparmor/profiles_complain", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "profiles in complain mode"},
    {"/isolation/secure_boot/uefi", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "isolation.secure-boot",
     "UEFI boot (the check applies only then)"},
    {"/isolation/secure_boot/enabled", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP,
     "isolation.secure-boot", "Secure Boot enforced"},
    {"/isolation/secure_boot/firmware_enabled", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "firmware's SecureBoot variable"},
    {"/isolation/secure_boot/setup_mode", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "firmware's SetupMode variable"},
    {"/isolation/secure_boot/shim_validation", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "shim's signature validation"},
    {"/isolation/lockdown", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "", "kernel lockdown mode"},
    {"/isolation/firewall/source", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "where the firewall facts come from"},
    {"/isolation/firewall/active", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "isolation.firewall",
     "a firewall drops inbound traffic"},
    {"/isolation/firewall/default_input_policy", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP,
     "isolation.firewall", "default input policy"},
    {"/isolation/firewall/ipv4/inbound_default", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP,
     "isolation.firewall", "whether unsolicited IPv4 traffic to an unlisted port is dropped"},
    {"/isolation/firewall/ipv4/tcp", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "the same for TCP alone"},
    {"/isolation/firewall/ipv4/udp", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "the same for UDP alone"},
    {"/isolation/firewall/ipv4/open_tcp", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "IPv4 TCP ports a rule opens"},
    {"/isolation/firewall/ipv4/open_udp", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "IPv4 UDP ports a rule opens"},
    {"/isolation/firewall/ipv4/open_truncated", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "more open ports than listed"},
    {"/isolation/firewall/ipv4/reason", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "the table, chain and rule that decided"},
    {"/isolation/firewall/ipv6/inbound_default", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP,
     "isolation.firewall", "whether unsolicited IPv6 traffic to an unlisted port is dropped"},
    {"/isolation/firewall/ipv6/tcp", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "the same for TCP alone"},
    {"/isolation/firewall/ipv6/udp", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "the same for UDP alone"},
    {"/isolation/firewall/ipv6/open_tcp", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "IPv6 TCP ports a rule opens"},
    {"/isolation/firewall/ipv6/open_udp", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "IPv6 UDP ports a rule opens"},
    {"/isolation/firewall/ipv6/open_truncated", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "more open ports than listed"},
    {"/isolation/firewall/ipv6/reason", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "the table, chain and rule that decided"},
    {"/isolation/firewall/tables", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "", "nftables tables"},
    {"/isolation/firewall/dormant_tables", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "nftables tables switched off"},
    {"/isolation/firewall/base_chains", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "nftables base chains"},
    {"/isolation/firewall/rules", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "", "nftables rules"},
    {"/isolation/firewall/sets", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "", "nftables sets"},
    {"/isolation/firewall/interfaces", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "interfaces the inbound packets were tried on"},
    {"/isolation/firewall/iptables_legacy_tables", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "legacy iptables tables in use"},
    {"/isolation/firewall/ruleset_read", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "why the nftables ruleset was not read"},
    {"/isolation/firewall/zone", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "firewalld default zone"},
    {"/isolation/listening", DA_PRIVACY_TECHNICAL, DA_PRIVACY_DROP, "",
     "listening sockets (port numbers of services a person runs)"},
    {"/toolchain/tools/*/name", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP,
     "toolchain.package-verified, toolchain.allowlist", "tool name"},
    {"/toolchain/tools/*/present", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP,
     "toolchain.package-verified, toolchain.allowlist", "whether the tool is on PATH"},
    {"/toolchain/tools/*/path", DA_PRIVACY_PERSONAL, DA_PRIVACY_PSEUDONYMIZE, "",
     "where the tool was found; may be below a home directory"},
    {"/toolchain/tools/*/realpath", DA_PRIVACY_PERSONAL, DA_PRIVACY_PSEUDONYMIZE, "",
     "the tool's file after symlinks"},
    {"/toolchain/tools/*/sha256", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP,
     "toolchain.package-verified, toolchain.allowlist",
     "digest of the tool, compared with the allowlist"},
    {"/toolchain/tools/*/size", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "", "size of the tool"},
    {"/toolchain/tools/*/package", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "package owning the tool"},
    {"/toolchain/tools/*/package_version", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "version of that package"},
    {"/toolchain/tools/*/package_verified", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP,
     "toolchain.package-verified", "the tool matches its package's digest"},
    {"/separation/environment_role", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "separation.role",
     "role declared in the configuration"},
    {"/separation/findings/*/kind", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP,
     "separation.no-production-credentials", "kind of credential found"},
    {"/separation/findings/*/path", DA_PRIVACY_PERSONAL, DA_PRIVACY_PSEUDONYMIZE,
     "separation.no-production-credentials", "file it was found in (below a home directory)"},
    {"/separation/findings/*/identifier", DA_PRIVACY_PERSONAL, DA_PRIVACY_PSEUDONYMIZE,
     "separation.no-production-credentials",
     "profile, account, cluster or host name of the credential"},
    {"/separation/findings/*/production", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP,
     "separation.no-production-credentials", "the identifier or path matches a production pattern"},
    {"/separation/networks/*/cidr", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP,
     "separation.production-network", "configured production network"},
    {"/separation/networks/*/routes", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "routes into it, as \"PREFIX/LEN dev IFACE\""},
    {"/separation/networks/*/connections", DA_PRIVACY_MACHINE, DA_PRIVACY_PSEUDONYMIZE,
     "separation.production-network", "open connections into it (empty when none)"},
    {"/antimalware/clamav/present", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP,
     "antimalware.installed, antimalware.signatures-current", "ClamAV installed"},
    {"/antimalware/clamav/db_age_s", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "age of the signature files"},
    {"/antimalware/clamav/signatures/version", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "daily database version"},
    {"/antimalware/clamav/signatures/built_at", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "when it was built"},
    {"/antimalware/clamav/signatures/age_s", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP,
     "antimalware.signatures-current", "its age"},
    {"/antimalware/clamav/signatures", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP,
     "antimalware.signatures-current", "daily database (unknown when absent)"},
    {"/antimalware/clamav/running", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "antimalware.running",
     "ClamAV daemon running"},
    {"/antimalware/agents/*/product", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "endpoint protection product"},
    {"/antimalware/agents/*/unit", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "", "its service unit"},
    {"/antimalware/agents/*/kind", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP,
     "antimalware.installed, antimalware.running, antimalware.signatures-current", "edr or clamav"},
    {"/antimalware/agents/*/enabled", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "", "unit enabled"},
    {"/antimalware/agents/*/active", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP,
     "antimalware.running, antimalware.signatures-current", "unit running"},
    {"/access/sshd/configured", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "access.sshd",
     "an SSH server is configured (the check applies only then)"},
    {"/access/sshd/password_authentication", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "access.sshd",
     "sshd's PasswordAuthentication"},
    {"/access/sshd/permit_root_login", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "access.sshd",
     "sshd's PermitRootLogin"},
    {"/access/uid0", DA_PRIVACY_PERSONAL, DA_PRIVACY_DROP, "", "account names with uid 0"},
    {"/runtime/reboot_required", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "runtime.reboot",
     "an update takes effect only after a reboot"},
    {"/runtime/reboot_required_packages", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "packages that asked for the reboot"},
    {"/runtime/outdated_processes/count", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP,
     "runtime.restarted", "processes running code that an update replaced"},
    {"/runtime/outdated_processes/truncated", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "more names were found than listed"},
    {"/runtime/outdated_processes/executables", DA_PRIVACY_PERSONAL, DA_PRIVACY_DROP, "",
     "programs of those processes (what a person runs)"},
    {"/runtime/outdated_processes/files", DA_PRIVACY_TECHNICAL, DA_PRIVACY_DROP, "",
     "replaced files those processes map"},
    {"/runtime/outdated_processes/packages", DA_PRIVACY_TECHNICAL, DA_PRIVACY_DROP, "",
     "packages of the replaced files"},
    {"/logging/auditd/installed", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "", "auditd installed"},
    {"/logging/auditd/running", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "logging.audit",
     "auditd running"},
    {"/logging/auditd/configured_rules", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "logging.audit",
     "audit rules configured"},
    {"/logging/auditd/enabled_flag", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "auditd's -e setting"},
    {"/logging/audit_kernel/enabled", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "kernel audit state"},
    {"/logging/audit_kernel/daemon_registered", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "an audit daemon is registered with the kernel"},
    {"/logging/audit_kernel/rules", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "audit rules loaded in the kernel"},
    {"/logging/audit_kernel", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "kernel audit state (unknown when not readable)"},
    {"/logging/journald/present", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP,
     "logging.journal-persistent", "journald installed"},
    {"/logging/journald/storage", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "journald's Storage= setting"},
    {"/logging/journald/persistent", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP,
     "logging.journal-persistent", "the journal survives a reboot"},
    {"/logging/forwarding/configured", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "logging.forwarding",
     "logs are sent to another host"},
    {"/logging/forwarding/via", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "which service sends them (rsyslog, syslog-ng, systemd-journal-upload)"},
    {"/hardening/sysctl/kernel.yama.ptrace_scope", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP,
     "hardening.kernel", "sysctl setting of the baseline"},
    {"/hardening/sysctl/kernel.kptr_restrict", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP,
     "hardening.kernel", "sysctl setting of the baseline"},
    {"/hardening/sysctl/kernel.dmesg_restrict", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP,
     "hardening.kernel", "sysctl setting of the baseline"},
    {"/hardening/sysctl/kernel.unprivileged_bpf_disabled", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP,
     "hardening.kernel", "sysctl setting of the baseline"},
    {"/hardening/sysctl/fs.protected_symlinks", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP,
     "hardening.kernel", "sysctl setting of the baseline"},
    {"/hardening/sysctl/fs.protected_hardlinks", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP,
     "hardening.kernel", "sysctl setting of the baseline"},
    {"/hardening/sysctl/kernel.unprivileged_userns_clone", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP,
     "hardening.user-namespaces", "switch for unprivileged user namespaces (Debian)"},
    {"/hardening/sysctl/kernel.apparmor_restrict_unprivileged_userns", DA_PRIVACY_TECHNICAL,
     DA_PRIVACY_KEEP, "hardening.user-namespaces",
     "switch for unprivileged user namespaces (Ubuntu)"},
    {"/hardening/sysctl/user.max_user_namespaces", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP,
     "hardening.user-namespaces", "limit of user namespaces"},
    {"/hardening/sysctl/kernel.modules_disabled", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "",
     "module loading switched off"},
    {"/hardening/unprivileged_userns_allowed", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP,
     "hardening.user-namespaces", "unprivileged users may create user namespaces"},
    {"/auth/pam/password_quality", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "auth.password-quality",
     "PAM checks password quality"},
    {"/auth/pam/lockout", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "auth.lockout",
     "PAM locks accounts after failed logins"},
    {"/auth/empty_password_accounts", DA_PRIVACY_PERSONAL, DA_PRIVACY_DROP, "",
     "account names with an empty password"},
    {"/auth/empty_password_count", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "auth.no-empty-passwords",
     "number of such accounts"},
    {"/auth/root_locked", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "auth.root-locked",
     "root's password is locked"},
    {"/auth/sudo/configured", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "", "sudo configured"},
    {"/auth/sudo/nopasswd", DA_PRIVACY_PERSONAL, DA_PRIVACY_PSEUDONYMIZE, "auth.sudo-nopasswd",
     "users, groups and aliases that sudo lets act as root without a password, compared with "
     "sudo_nopasswd_allowed"},
    {"/auth/sudo/nopasswd_count", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "", "number of them"},
    {"/media/usb_storage/blacklisted", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "media.usb-storage",
     "usb-storage blacklisted"},
    {"/media/usb_storage/install_disabled", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP,
     "media.usb-storage", "usb-storage cannot be loaded"},
    {"/media/usb_storage/builtin", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "media.usb-storage",
     "usb-storage built into the kernel"},
    {"/media/usb_storage/loaded", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "media.usb-storage",
     "usb-storage loaded"},
    {"/media/usb_storage/module_loading", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP,
     "media.usb-storage", "the kernel can load modules"},
    {"/media/usbguard/installed", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "media.usb-storage",
     "USBGuard installed"},
    {"/media/usbguard/enabled", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "", "USBGuard enabled"},
    {"/media/usbguard/running", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "media.usb-storage",
     "USBGuard running"},
    {"/media/usbguard/implicit_policy", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "media.usb-storage",
     "USBGuard's policy for devices without a rule"},
    {"/time/synchronized", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "time.synchronized",
     "clock synchronized"},
    {"/time/max_error_us", DA_PRIVACY_TECHNICAL, DA_PRIVACY_KEEP, "", "clock's maximum error"},
    /* Sent beside the evidence in the report body ("ima"), not in it: the
     * minimal mode's action is the agent's (report.c add_ima). */
    {"/ima/entries", DA_PRIVACY_PERSONAL, DA_PRIVACY_DROP,
     "ima.log-matches-quote, ima.toolchain-measured, ima.agent-build-released, "
     "ima.no-tpm-client-tools, ima.policy-coverage",
     "the kernel's IMA measurements the server has not replayed: path and digest of every "
     "program, library and root-read file measured since boot, replayed against the quoted "
     "PCR 10"},
};

#define PRIVACY_NFIELDS (sizeof(privacy_fields) / sizeof(privacy_fields[0]))

const struct da_privacy_field *da_privacy_fields(size_t *n)
{
    *n = PRIVACY_NFIELDS;
    return privacy_fields;
}

/* Length of the next token of a pointer at p (p points after a '/'). */
static size_t token_len(const char *p)
{
    const char *s = strchr(p, '/');

    return s != NULL ? (size_t)(s - p) : strlen(p);
}

/* How many tokens of pointer the pattern matches: -1 when the pattern is
 * not pointer or an ancestor of it, else the pattern's token count. With
 * below set, it also accepts patterns that lie below pointer. */
static int pattern_match(const char *pattern, const char *pointer, int below)
{
    const char *a = pattern, *b = pointer;
    int depth = 0;

    while (*a == '/' && *b == '/') {
        size_t la = token_len(a + 1), lb = token_len(b + 1);

        if (!(la == 1 && a[1] == '*') && (la != lb || memcmp(a + 1, b + 1, la) != 0))
            return -1;
        a += 1 + la;
        b += 1 + lb;
        depth++;
    }
    if (*a == '\0')
        return depth;
    return below && *b == '\0' ? depth : -1;
}

const struct da_privacy_field *da_privacy_lookup(const char *pointer)
{
    const struct da_privacy_field *best = NULL;
    int best_depth = 0;
    size_t i;

    for (i = 0; i < PRIVACY_NFIELDS; i++) {
        int d = pattern_match(privacy_fields[i].pattern, pointer, 0);

        if (d > best_depth) {
            best = &privacy_fields[i];
            best_depth = d;
        }
    }
    return best;
}

int da_privacy_covers_below(const char *pointer)
{
    size_t i;

    for (i = 0; i < PRIVACY_NFIELDS; i++) {
        if (pattern_match(privacy_fields[i].pattern, pointer, 1) >= 0)
            return 1;
    }
    return 0;
}

const char *da_privacy_mode_name(enum da_privacy_mode mode)
{
    return mode == DA_PRIVACY_MINIMAL ? "minimal" : "standard";
}

int da_privacy_mode_parse(const char *name, enum da_privacy_mode *out)
{
    if (name != NULL && strcmp(name, "standard") == 0)
        *out = DA_PRIVACY_STANDARD;
    else if (name != NULL && strcmp(name, "minimal") == 0)
        *out = DA_PRIVACY_MINIMAL;
    else
        return DA_ERR_INVALID_ARG;
    return 0;
}

const char *da_privacy_class_name(enum da_privacy_class cls)
{
    switch (cls) {
    case DA_PRIVACY_PERSONAL:
        return "personal";
    case DA_PRIVACY_MACHINE:
        return "machine";
    default:
        return "technical";
    }
}

const char *da_privacy_action_name(enum da_privacy_action a)
{
    switch (a) {
    case DA_PRIVACY_PSEUDONYMIZE:
        return "pseudonymized";
    case DA_PRIVACY_DROP:
        return "left out";
    default:
        return "kept";
    }
}

/* One SHA-256 over two parts. */
static int sha256_2(const void *a, size_t la, const void *b, size_t lb,
                    unsigned char out[DA_SHA256_LEN])
{
    struct da_digest_ctx *d = NULL;
    int r = da_digest_new(DA_DIGEST_SHA256, &d);

    if (r == 0)
        r = da_digest_update(d, a, la);
    if (r == 0)
        r = da_digest_update(d, b, lb);
    if (r == 0)
        r = da_digest_final(d, out, DA_SHA256_LEN);
    da_digest_free(d);
    return r;
}

/* HMAC over the digest alone: no MAC provider has to be loaded, which the
 * collector's sandbox would not allow. */
int da_privacy_pseudonym(const unsigned char key[DA_PRIVACY_KEY_LEN], const char *value,
                         char out[DA_PRIVACY_PSEUDONYM_SIZE])
{
    unsigned char pad[HMAC_BLOCK], inner[DA_SHA256_LEN], mac[DA_SHA256_LEN];
    size_t i;
    int r;

    memset(pad, 0x36, sizeof(pad));
    for (i = 0; i < DA_PRIVACY_KEY_LEN; i++)
        pad[i] ^= key[i];
    r = sha256_2(pad, sizeof(pad), value, strlen(value), inner);
    memset(pad, 0x5c, sizeof(pad));
    for (i = 0; i < DA_PRIVACY_KEY_LEN; i++)
        pad[i] ^= key[i];
    if (r == 0)
        r = sha256_2(pad, sizeof(pad), inner, sizeof(inner), mac);
    OPENSSL_cleanse(pad, sizeof(pad));
    if (r != 0)
        return r;
    out[0] = 'p';
    out[1] = ':';
    for (i = 0; i < 12; i++)
        snprintf(out + 2 + 2 * i, 3, "%02x", mac[i]);
    return 0;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int da_privacy_key_parse(const char *text, size_t len, unsigned char key[DA_PRIVACY_KEY_LEN])
{
    size_t i;

    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' ' || text[len - 1] == '\r'))
        len--;
    while (len > 0 && (text[0] == ' ' || text[0] == '\n')) {
        text++;
        len--;
    }
    if (len != 2 * DA_PRIVACY_KEY_LEN)
        return DA_ERR_INVALID_ARG;
    for (i = 0; i < DA_PRIVACY_KEY_LEN; i++) {
        int h = hex_value(text[2 * i]), l = hex_value(text[2 * i + 1]);

        if (h < 0 || l < 0) {
            OPENSSL_cleanse(key, DA_PRIVACY_KEY_LEN);
            return DA_ERR_INVALID_ARG;
        }
        key[i] = (unsigned char)(h << 4 | l);
    }
    return 0;
}

/* System paths that name no person stay readable: the fixed volumes of
 * interest and files of the operating system's own directories. */
static int system_path(const char *v)
{
    static const char *const exact[] = {"/",    "/home", "/var", "/tmp", "/boot",
                                        "/srv", "/opt",  "/usr", "/root"};
    static const char *const below[] = {"/usr/", "/bin/", "/sbin/", "/lib/", "/lib64/"};
    size_t i;

    if (strstr(v, "/../") != NULL || strstr(v, "/./") != NULL)
        return 0;
    for (i = 0; i < sizeof(exact) / sizeof(exact[0]); i++) {
        if (strcmp(v, exact[i]) == 0)
            return 1;
    }
    for (i = 0; i < sizeof(below) / sizeof(below[0]); i++) {
        if (strncmp(v, below[i], strlen(below[i])) == 0)
            return 1;
    }
    return 0;
}

/* An unknown object: {"unknown": "reason", "detail": ...}. */
static int is_unknown(const cJSON *n)
{
    return cJSON_IsObject(n) && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(n, "unknown"));
}

struct privacy_walk {
    const unsigned char *key;
    char ptr[PRIVACY_MAX_POINTER];
};

/* Append one token (escaped as RFC 6901 says) to w->ptr; returns the old
 * length to restore, or -1 when the pointer would not fit. */
static long push_token(struct privacy_walk *w, const char *tok)
{
    size_t len = strlen(w->ptr), at = len;

    if (at + 1 >= sizeof(w->ptr))
        return -1;
    w->ptr[at++] = '/';
    for (; *tok != '\0'; tok++) {
        const char *esc = *tok == '~' ? "~0" : *tok == '/' ? "~1" : NULL;
        size_t n = esc != NULL ? 2 : 1;

        if (at + n >= sizeof(w->ptr))
            return -1;
        memcpy(w->ptr + at, esc != NULL ? esc : tok, n);
        at += n;
    }
    w->ptr[at] = '\0';
    return (long)len;
}

static int minimize(struct privacy_walk *w, cJSON *node);

/* What minimal mode does with one member or element: 1 to remove it. */
static int minimize_child(struct privacy_walk *w, cJSON *child)
{
    const struct da_privacy_field *f = da_privacy_lookup(w->ptr);
    char pseudo[DA_PRIVACY_PSEUDONYM_SIZE];
    int r;

    if (f != NULL && f->minimal == DA_PRIVACY_DROP)
        return 1;
    if (is_unknown(child)) {
        if (f == NULL && !da_privacy_covers_below(w->ptr))
            return 1;
        cJSON_DeleteItemFromObjectCaseSensitive(child, "detail");
        return 0;
    }
    if (cJSON_IsObject(child) || cJSON_IsArray(child)) {
        if (f == NULL && !da_privacy_covers_below(w->ptr))
            return 1;
        r = minimize(w, child);
        return r < 0 ? r : 0;
    }
    if (f == NULL)
        return 1;
    if (f->minimal == DA_PRIVACY_PSEUDONYMIZE && cJSON_IsString(child) &&
        !system_path(child->valuestring)) {
        r = da_privacy_pseudonym(w->key, child->valuestring, pseudo);
        if (r == 0 && cJSON_SetValuestring(child, pseudo) == NULL)
            r = DA_ERR_NOMEM;
        return r;
    }
    return 0;
}

static int minimize(struct privacy_walk *w, cJSON *node)
{
    cJSON *child = node->child, *next;
    unsigned idx = 0;
    char num[16];

    for (; child != NULL; child = next, idx++) {
        long saved;
        int r;

        next = child->next;
        if (cJSON_IsArray(node))
            snprintf(num, sizeof(num), "%u", idx);
        saved = push_token(w, cJSON_IsArray(node) ? num : child->string);
        r = saved < 0 ? 1 : minimize_child(w, child);
        if (saved >= 0)
            w->ptr[saved] = '\0';
        if (r < 0)
            return r;
        if (r == 1)
            cJSON_Delete(cJSON_DetachItemViaPointer(node, child));
    }
    return 0;
}

int da_privacy_apply(cJSON *evidence, enum da_privacy_mode mode,
                     const unsigned char key[DA_PRIVACY_KEY_LEN])
{
    struct privacy_walk w;
    cJSON *agent;
    int r = 0;

    if (!cJSON_IsObject(evidence) || (mode == DA_PRIVACY_MINIMAL && key == NULL))
        return DA_ERR_INVALID_ARG;
    agent = cJSON_GetObjectItemCaseSensitive(evidence, "agent");
    if (agent == NULL)
        agent = cJSON_AddObjectToObject(evidence, "agent");
    if (!cJSON_IsObject(agent))
        return agent == NULL ? DA_ERR_NOMEM : DA_ERR_INVALID_ARG;
    cJSON_DeleteItemFromObjectCaseSensitive(agent, "privacy");
    if (cJSON_AddStringToObject(agent, "privacy", da_privacy_mode_name(mode)) == NULL)
        return DA_ERR_NOMEM;
    if (mode == DA_PRIVACY_MINIMAL) {
        memset(&w, 0, sizeof(w));
        w.key = key;
        r = minimize(&w, evidence);
    }
    return r;
}
