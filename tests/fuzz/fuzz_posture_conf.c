/* Parsers of the runtime, logging, hardening, auth and media areas: the
 * first byte chooses the parser, the rest is the file. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_target.h"
#include "posture.h"

static int fz_pam(void *arg, enum col_pam_kind kind, const char *name)
{
    (void)arg;
    return kind == COL_PAM_INCLUDE && strcmp(name, "stop") == 0 ? -1 : 0;
}

static int fz_sudo(void *arg, enum col_sudo_kind kind, const char *name)
{
    (void)arg;
    (void)kind;
    return name[0] == '\0' ? -1 : 0; /* the parser never reports an empty name */
}

static int fz_syslog(void *arg, enum col_syslog_kind kind, const char *name)
{
    (void)arg;
    (void)kind;
    return name[0] == '\0' && kind == COL_SYSLOG_FORWARD ? -1 : 0;
}

static int fz_pw(void *arg, const char *name, enum col_pw_state st)
{
    (void)arg;
    (void)st;
    return name[0] == '\0' ? -1 : 0;
}

static int fz_maps(void *arg, const char *path, int deleted)
{
    (void)arg;
    (void)deleted;
    return path[0] == '/' ? 0 : -1;
}

static int fz_name(void *arg, const char *name)
{
    (void)arg;
    return name[0] == '\0' ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *t = (const char *)data + 1;
    struct col_modprobe m = {0};
    struct col_audit_rules a;
    char v[256], cmdline[4096];
    size_t n;

    if (size == 0)
        return 0;
    n = size - 1;
    switch (data[0] % 10) {
    case 0:
        (void)col_pam_parse(t, n, "auth", fz_pam, NULL);
        (void)col_pam_parse(t, n, "password", fz_pam, NULL);
        break;
    case 1:
        (void)col_sudoers_parse(t, n, fz_sudo, NULL);
        break;
    case 2:
        (void)col_modprobe_parse(t, n, "usb-storage", &m);
        if (n < sizeof(cmdline)) {
            memcpy(cmdline, t, n);
            cmdline[n] = '\0';
            (void)col_cmdline_blacklists(cmdline, "usb_storage");
        }
        break;
    case 3:
        (void)col_ini_value(t, n, "Journal", "Storage", v, sizeof(v));
        (void)col_ini_value(t, n, NULL, "ImplicitPolicyTarget", v, sizeof(v));
        break;
    case 4:
        (void)col_rsyslog_parse(t, n, fz_syslog, NULL);
        break;
    case 5:
        (void)col_syslogng_parse(t, n, fz_syslog, NULL);
        break;
    case 6:
        (void)col_audit_rules_parse(t, n, &a);
        break;
    case 7:
        (void)col_pw_parse(t, n, fz_pw, NULL);
        break;
    case 8:
        (void)col_maps_parse(t, n, fz_maps, NULL);
        break;
    default:
        (void)col_pkgs_parse(t, n, fz_name, NULL);
        break;
    }
    return 0;
}
