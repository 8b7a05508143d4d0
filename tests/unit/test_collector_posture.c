/* The runtime, logging, hardening, auth and media areas against the roots
 * of tests/fixtures/build-posture-roots.sh. Each expectation says which
 * documented rule of the real tool gives that answer for those files; the
 * expected values were worked out from those rules, not from a run of the
 * collectors. The live test compares the kernel settings with sysctl(8). */
#include "da_test.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "collector.h"
#include "err.h"
#include "posture.h"
#include "tmp_tree.h"

#define AREAS "runtime,logging,hardening,auth,media"

static char roots[512];

static cJSON *collect(const char *name, int live)
{
    struct col_ctx ctx;
    char root[1024];
    cJSON *doc = NULL;

    snprintf(root, sizeof(root), "%s/%s", roots, name);
    memset(&ctx, 0, sizeof(ctx));
    ctx.root = live ? "" : root;
    ctx.live = live;
    ctx.now = time(NULL);
    ctx.cfg = col_default_config();
    ctx.ops = live ? &col_live_ops : &col_root_ops;
    assert_int_equal(col_collect_evidence(&ctx, AREAS, &doc), 0);
    return doc;
}

/* "/a/b/0": object members and array indices (no escapes needed here). */
static cJSON *at(cJSON *doc, const char *pointer)
{
    char buf[256], *save = NULL, *tok;
    cJSON *cur = doc;

    snprintf(buf, sizeof(buf), "%s", pointer);
    for (tok = strtok_r(buf, "/", &save); tok != NULL && cur != NULL;
         tok = strtok_r(NULL, "/", &save))
        cur = cJSON_IsArray(cur) ? cJSON_GetArrayItem(cur, (int)strtol(tok, NULL, 10))
                                 : cJSON_GetObjectItemCaseSensitive(cur, tok);
    return cur;
}

struct expect {
    const char *pointer;
    const char *json; /* the value, or {"unknown": REASON} to match the reason only */
    const char *why;  /* the documented rule that gives this answer */
};

static void check(cJSON *doc, const char *root, const struct expect *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cJSON *got = at(doc, e[i].pointer), *want = cJSON_Parse(e[i].json);
        cJSON *reason = want != NULL ? cJSON_GetObjectItem(want, "unknown") : NULL;
        char *text = got != NULL ? cJSON_PrintUnformatted(got) : NULL;
        int ok;

        assert_non_null(want);
        if (reason != NULL)
            ok = got != NULL && cJSON_IsString(cJSON_GetObjectItem(got, "unknown")) &&
                 strcmp(cJSON_GetObjectItem(got, "unknown")->valuestring, reason->valuestring) == 0;
        else
            ok = got != NULL && cJSON_Compare(got, want, 1);
        if (!ok)
            fail_msg("%s %s = %s, want %s (%s)", root, e[i].pointer, text ? text : "(missing)",
                     e[i].json, e[i].why);
        free(text);
        cJSON_Delete(want);
    }
}

/* The owners of the replaced files as dpkg-query -S names them (the
 * package part before ":ARCH"), sorted and unique, must be the evidence's
 * packages. */
static void check_owners_with_dpkg(cJSON *doc, const char *name)
{
    cJSON *files = at(doc, "/runtime/outdated_processes/files"), *f, *want;
    char cmd[4096], line[1024];
    size_t o;
    FILE *p;

    if (system("command -v dpkg-query >/dev/null") != 0)
        skip();
    o = (size_t)snprintf(cmd, sizeof(cmd), "dpkg-query --admindir='%s/%s/var/lib/dpkg' -S", roots,
                         name);
    cJSON_ArrayForEach(f, files)
    {
        o += (size_t)snprintf(cmd + o, sizeof(cmd) - o, " '%s'", f->valuestring);
        assert_true(o < sizeof(cmd));
    }
    snprintf(cmd + o, sizeof(cmd) - o, " 2>/dev/null | cut -d: -f1 | sort -u");
    p = popen(cmd, "r");
    assert_non_null(p);
    want = cJSON_CreateArray();
    while (fgets(line, sizeof(line), p) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        cJSON_AddItemToArray(want, cJSON_CreateString(line));
    }
    pclose(p);
    assert_true(cJSON_GetArraySize(want) > 0);
    if (!cJSON_Compare(at(doc, "/runtime/outdated_processes/packages"), want, 1))
        fail_msg("%s: packages differ from dpkg-query -S", name);
    cJSON_Delete(want);
}

static void test_hardened(void **state)
{
    static const struct expect e[] = {
        /* runtime */
        {"/runtime/reboot_required", "true", "/run/reboot-required exists (update-notifier)"},
        {"/runtime/reboot_required_packages", "[\"libc6\",\"linux-image-6.1.0-20-amd64\"]",
         "reboot-required.pkgs, one name per line, each once"},
        {"/runtime/outdated_processes/count", "2",
         "sshd maps deleted sshd and libssl, tool maps deleted libssl (what needrestart lists); "
         "bash is current, the worker's deleted maps are a memfd, /tmp and non-executable data"},
        {"/runtime/outdated_processes/executables", "[\"/usr/sbin/sshd\"]",
         "programs outside package directories (/home) are counted, not named"},
        {"/runtime/outdated_processes/files",
         "[\"/usr/lib/x86_64-linux-gnu/libssl.so.3\",\"/usr/sbin/sshd\"]",
         "executable mappings the kernel marks (deleted), package directories only"},
        /* logging */
        {"/logging/auditd/running", "true", "a process named auditd"},
        {"/logging/auditd/configured_rules", "3",
         "auditctl(8): -a and -w lines are rules; -D, -b, -e and comments are not"},
        {"/logging/auditd/enabled_flag", "2", "-e 2: enabled and locked"},
        {"/logging/journald/storage", "\"persistent\"",
         "journald.conf(5): drop-ins after the main file in file-name order; 90-local.conf in "
         "/etc hides the one in /run, and comes after 50-vendor.conf"},
        {"/logging/journald/persistent", "true", "Storage=persistent"},
        {"/logging/forwarding/via", "[\"rsyslog\"]",
         "rsyslog.conf(5): @@host in an included *.conf forwards over TCP; 70-off.conf.disabled "
         "does not match the $IncludeConfig pattern"},
        /* hardening */
        {"/hardening/sysctl/kernel.yama.ptrace_scope", "1", "the file's value"},
        {"/hardening/sysctl/kernel.unprivileged_bpf_disabled", "2", "the file's value"},
        {"/hardening/sysctl/kernel.apparmor_restrict_unprivileged_userns",
         "{\"unknown\":\"not_present\"}", "a kernel without that switch"},
        {"/hardening/unprivileged_userns_allowed", "false",
         "Debian's kernel.unprivileged_userns_clone = 0 refuses unprivileged CLONE_NEWUSER"},
        /* auth */
        {"/auth/pam/password_quality", "true",
         "passwd's password stack includes common-password, which has pam_pwquality.so"},
        {"/auth/pam/lockout", "true",
         "login (@include) and sshd (include control) reach pam_faillock.so in common-auth"},
        {"/auth/empty_password_accounts", "[\"guest\"]",
         "shadow(5): an empty field needs no password; ! and * are locked"},
        {"/auth/empty_password_count", "1", "one empty field"},
        {"/auth/root_locked", "true", "shadow(5): a field starting with ! is locked"},
        {"/auth/sudo/nopasswd", "[\"OPS\",\"ci-runner\",\"deploy\"]",
         "sudoers(5): @includedir reads regular files without '.' or trailing '~' (a FIFO and a "
         "directory there are skipped); a line continued with \\ carries NOPASSWD; the "
         "commented rule does not count"},
        {"/auth/sudo/nopasswd_count", "3", "three principals"},
        /* media */
        {"/media/usb_storage/blacklisted", "true",
         "modprobe.d(5): blacklist usb_storage names usb-storage (- and _ are equal)"},
        {"/media/usb_storage/install_disabled", "true",
         "/etc/modprobe.d/usb.conf (install ... /bin/false) hides /lib/modprobe.d/usb.conf"},
        {"/media/usb_storage/builtin", "false", "modules.builtin does not list usb-storage.ko"},
        {"/media/usb_storage/loaded", "false", "no /sys/module/usb_storage"},
        {"/media/usb_storage/module_loading", "true",
         "/proc/modules exists and kernel.modules_disabled is 0"},
        {"/media/usbguard/installed", "false", "no usbguard-daemon"},
    };
    cJSON *doc = collect("hardened", 0);

    (void)state;
    check(doc, "hardened", e, sizeof(e) / sizeof(e[0]));
    check_owners_with_dpkg(doc, "hardened");
    cJSON_Delete(doc);
}

static void test_open(void **state)
{
    static const struct expect e[] = {
        {"/runtime/reboot_required", "false", "no /run/reboot-required"},
        {"/runtime/outdated_processes/count", "0", "no deleted executable mapping"},
        {"/logging/auditd/running", "false", "installed, no auditd process"},
        {"/logging/auditd/configured_rules", "0", "no /etc/audit/audit.rules"},
        {"/logging/journald/storage", "\"auto\"", "no configuration: the default"},
        {"/logging/journald/persistent", "false",
         "journald.conf(5): auto keeps the journal in memory without /var/log/journal"},
        {"/logging/forwarding/via", "[\"syslog-ng\",\"systemd-journal-upload\"]",
         "syslog-ng.conf(5): a network() destination in an @include'd file (scl.conf lies "
         "outside /etc/syslog-ng); journal-upload enabled with URL= in a drop-in"},
        {"/hardening/sysctl/kernel.unprivileged_userns_clone", "{\"unknown\":\"not_present\"}",
         "a kernel without Debian's switch"},
        {"/hardening/sysctl/kernel.modules_disabled", "{\"unknown\":\"not_present\"}",
         "the file is absent"},
        {"/hardening/unprivileged_userns_allowed", "true",
         "max_user_namespaces > 0 and no switch restricts"},
        {"/auth/pam/password_quality", "false", "common-password has only pam_unix"},
        {"/auth/pam/lockout", "false", "login has no pam_faillock or pam_tally2; no sshd"},
        {"/auth/empty_password_accounts", "[\"guest\",\"test\"]", "two empty fields"},
        {"/auth/root_locked", "false", "a $6$ hash"},
        {"/auth/sudo/nopasswd", "[\"Defaults:bob !authenticate\",\"alice\",\"carol\"]",
         "sudoers(5): Defaults !authenticate asks no password; #include of a relative path is "
         "taken from /etc; NOPASSWD after PASSWD still applies to /bin/cat"},
        {"/media/usb_storage/blacklisted", "false",
         "usb_storage_extra is another module; the command line blacklists others"},
        {"/media/usb_storage/install_disabled", "false", "the install command loads it"},
        {"/media/usb_storage/builtin", "true", "modules.builtin lists usb-storage.ko"},
        {"/media/usb_storage/loaded", "true", "/sys/module/usb_storage exists"},
        {"/media/usb_storage/module_loading", "true",
         "/proc/modules exists; a kernel without kernel.modules_disabled never sets it"},
        {"/media/usbguard/enabled", "true", "usbguard.service linked from a .wants directory"},
        {"/media/usbguard/running", "true", "a process named usbguard-daemon"},
        {"/media/usbguard/implicit_policy", "\"allow\"", "ImplicitPolicyTarget=allow"},
    };
    cJSON *doc = collect("open", 0);

    (void)state;
    check(doc, "open", e, sizeof(e) / sizeof(e[0]));
    cJSON_Delete(doc);
}

/* A kernel built without module support (CONFIG_MODULES=n: no
 * /proc/modules) loads no module, whatever modprobe.d says. */
static void test_monolithic(void **state)
{
    static const struct expect e[] = {
        {"/media/usb_storage/module_loading", "false", "no /proc/modules"},
        {"/media/usb_storage/loaded", "false", "not in /sys/module (built in would be there)"},
        {"/media/usb_storage/blacklisted", "false", "no modprobe.d, nothing on the command line"},
    };
    cJSON *doc = collect("monolithic", 0);

    (void)state;
    check(doc, "monolithic", e, sizeof(e) / sizeof(e[0]));
    cJSON_Delete(doc);
}

/* An unpacked image: the running machine's facts are not_live, never
 * false or zero. */
static void test_image(void **state)
{
    static const struct expect e[] = {
        {"/runtime/outdated_processes", "{\"unknown\":\"not_live\"}", "no processes"},
        {"/logging/auditd/running", "{\"unknown\":\"not_live\"}", "no processes"},
        {"/logging/audit_kernel", "{\"unknown\":\"not_live\"}", "no kernel to ask"},
        {"/hardening/sysctl/kernel.kptr_restrict", "{\"unknown\":\"not_live\"}", "no /proc/sys"},
        {"/hardening/unprivileged_userns_allowed", "{\"unknown\":\"not_live\"}", "no /proc/sys"},
        {"/media/usb_storage/builtin", "{\"unknown\":\"not_live\"}", "no running kernel"},
        {"/media/usb_storage/loaded", "{\"unknown\":\"not_live\"}", "no /sys/module"},
        {"/media/usb_storage/module_loading", "{\"unknown\":\"not_live\"}", "no /proc"},
        {"/media/usbguard/running", "{\"unknown\":\"not_live\"}", "no processes"},
        {"/auth/pam/password_quality", "{\"unknown\":\"not_present\"}",
         "the included common-password is missing: PAM fails the stack"},
        {"/auth/pam/lockout", "{\"unknown\":\"not_present\"}", "neither login nor sshd"},
        {"/auth/root_locked", "true", "*"},
        {"/auth/sudo/configured", "false", "no /etc/sudoers"},
    };
    cJSON *doc = collect("image", 0);

    (void)state;
    check(doc, "image", e, sizeof(e) / sizeof(e[0]));
    cJSON_Delete(doc);
}

/* Run as an unprivileged user: files it may not read are unknown with
 * reason permission, never an empty list or false. */
static void test_unreadable(void **state)
{
    char path[1100];
    pid_t pid;
    int status;

    (void)state;
    if (geteuid() != 0)
        skip();
    snprintf(path, sizeof(path), "%s/hardened/etc/shadow", roots);
    assert_int_equal(chmod(path, 0600), 0);
    snprintf(path, sizeof(path), "%s/hardened/etc/sudoers.d", roots);
    assert_int_equal(chmod(path, 0700), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        static const char *const ptrs[] = {"/auth/empty_password_accounts",
                                           "/auth/empty_password_count", "/auth/root_locked",
                                           "/auth/sudo"};
        cJSON *doc;
        int bad = 0;

        if (setgid(65534) != 0 || setuid(65534) != 0)
            _exit(3);
        doc = collect("hardened", 0);
        for (size_t i = 0; i < sizeof(ptrs) / sizeof(ptrs[0]); i++) {
            cJSON *u = cJSON_GetObjectItem(at(doc, ptrs[i]), "unknown");

            if (u == NULL || strcmp(u->valuestring, "permission") != 0) {
                fprintf(stderr, "%s is not a permission unknown\n", ptrs[i]);
                bad = 1;
            }
        }
        cJSON_Delete(doc);
        _exit(bad);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    snprintf(path, sizeof(path), "%s/hardened/etc/shadow", roots);
    chmod(path, 0644);
    snprintf(path, sizeof(path), "%s/hardened/etc/sudoers.d", roots);
    chmod(path, 0755);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* A hostile copy of the hardened root: FIFOs in place of files the areas
 * read, links that point outside the root. Every collection ends (alarm),
 * reads the root's own files only, and reports not_regular unknowns. */
static void test_hostile(void **state)
{
    static const struct expect e[] = {
        {"/auth/empty_password_accounts", "{\"unknown\":\"not_regular\"}",
         "a FIFO in place of /etc/shadow"},
        {"/auth/sudo", "{\"unknown\":\"not_regular\"}", "a FIFO in place of /etc/sudoers"},
        {"/runtime/outdated_processes", "{\"unknown\":\"not_regular\"}",
         "a FIFO in place of /proc/200/maps"},
        {"/logging/journald/storage", "{\"unknown\":\"not_regular\"}",
         "a FIFO as a journald drop-in"},
        {"/media/usb_storage", "{\"unknown\":\"not_regular\"}", "a FIFO as a modprobe.d file"},
        {"/logging/auditd/configured_rules", "{\"unknown\":\"limit\"}",
         "audit.rules over DA_MAX_SECURITY_CONF"},
        {"/auth/pam/password_quality", "true",
         "common-password is an absolute link to /etc/pam.d/common-password-vendor, which only "
         "the root has (with pam_pwquality)"},
        {"/hardening/sysctl/kernel.kptr_restrict", "{\"unknown\":\"not_present\"}",
         "a link to ../../../../../../../proc/sys/kernel/pid_max stays inside the root, which "
         "has no pid_max (the host has)"},
    };
    char cmd[4096], base[600];
    cJSON *doc;

    (void)state;
    snprintf(base, sizeof(base), "%s/hostile", roots);
    snprintf(cmd, sizeof(cmd),
             "set -e; cp -a '%s/hardened' '%s'; cd '%s'; rm etc/shadow; mkfifo etc/shadow; "
             "rm etc/sudoers; mkfifo etc/sudoers; rm proc/200/maps; mkfifo proc/200/maps; "
             "mkfifo etc/systemd/journald.conf.d/95-fifo.conf; mkfifo etc/modprobe.d/zz.conf; "
             "head -c 5000000 /dev/zero | tr '\\0' '#' >etc/audit/audit.rules; "
             "mv etc/pam.d/common-password etc/pam.d/common-password-vendor; "
             "ln -s /etc/pam.d/common-password-vendor etc/pam.d/common-password; "
             "rm proc/sys/kernel/kptr_restrict; "
             "ln -s ../../../../../../../proc/sys/kernel/pid_max "
             "proc/sys/kernel/kptr_restrict",
             roots, base, base);
    assert_int_equal(system(cmd), 0);
    alarm(20);
    doc = collect("hostile", 0);
    alarm(0);
    check(doc, "hostile", e, sizeof(e) / sizeof(e[0]));
    cJSON_Delete(doc);
}

/* Run a program as child; returns its pid. */
static pid_t spawn_sleeper(const char *path)
{
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        execl(path, path, "60", (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Real processes: one runs a program that is then deleted (as an upgrade
 * replaces a file), one runs an intact copy. Ground truth by construction;
 * the two processes' /proc directories are bind-mounted into a root of
 * their own, so that the other processes of this machine (some of which
 * may not be readable) do not enter. */
static void test_live_outdated_process(void **state)
{
    char dir[128], stale[256], fresh[256], root[600], cmd[4096], want[512];
    pid_t a, b;
    cJSON *doc;
    int mounted;

    (void)state;
    if (geteuid() != 0)
        skip();
    snprintf(dir, sizeof(dir), "/opt/devattest-test-%ld", (long)getpid());
    snprintf(stale, sizeof(stale), "%s/stale-sleep", dir);
    snprintf(fresh, sizeof(fresh), "%s/fresh-sleep", dir);
    snprintf(root, sizeof(root), "%s/live-root", roots);
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && cp /bin/sleep '%s' && cp /bin/sleep '%s'", dir,
             stale, fresh);
    assert_int_equal(system(cmd), 0);
    a = spawn_sleeper(stale);
    b = spawn_sleeper(fresh);
    usleep(200000); /* both have exec'd */
    assert_int_equal(unlink(stale), 0);
    snprintf(cmd, sizeof(cmd),
             "mkdir -p '%s/proc/%ld' '%s/proc/%ld' && mount --bind /proc/%ld '%s/proc/%ld' && "
             "mount --bind /proc/%ld '%s/proc/%ld'",
             root, (long)a, root, (long)b, (long)a, root, (long)a, (long)b, root, (long)b);
    mounted = system(cmd) == 0;
    doc = mounted ? collect("live-root", 0) : NULL;
    kill(a, SIGKILL);
    kill(b, SIGKILL);
    waitpid(a, NULL, 0);
    waitpid(b, NULL, 0);
    snprintf(cmd, sizeof(cmd),
             "umount '%s/proc/%ld' '%s/proc/%ld' 2>/dev/null; rm -f '%s'; rmdir '%s'", root,
             (long)a, root, (long)b, fresh, dir);
    if (system(cmd) != 0)
        print_message("cleanup of %s failed\n", dir);
    if (!mounted)
        skip(); /* no bind mounts here (no CAP_SYS_ADMIN) */
    snprintf(want, sizeof(want), "[\"%s\"]", stale);
    {
        const struct expect e[] = {
            {"/runtime/outdated_processes/count", "1", "only the first program was deleted"},
            {"/runtime/outdated_processes/files", want, "its text mapping is (deleted)"},
            {"/runtime/outdated_processes/executables", want, "its /proc/PID/exe"},
            {"/runtime/outdated_processes/packages", "{\"unknown\":\"not_present\"}",
             "this root has no dpkg database to name owners"},
        };

        check(doc, "live-root", e, sizeof(e) / sizeof(e[0]));
    }
    cJSON_Delete(doc);
}

/* ---- the parsers on their own, cases from the manual pages ---- */

struct names {
    char text[1024];
};

static int keep_name(struct names *n, const char *prefix, const char *name)
{
    size_t len = strlen(n->text);

    snprintf(n->text + len, sizeof(n->text) - len, "%s%s%s;", prefix, prefix[0] ? ":" : "", name);
    return 0;
}

static int sudo_cb(void *arg, enum col_sudo_kind kind, const char *name)
{
    static const char *const kinds[] = {"nopasswd", "noauth", "include", "includedir"};

    return keep_name(arg, kinds[kind], name);
}

static int pam_cb(void *arg, enum col_pam_kind kind, const char *name)
{
    return keep_name(arg, kind == COL_PAM_MODULE ? "mod" : "inc", name);
}

static int syslog_cb(void *arg, enum col_syslog_kind kind, const char *name)
{
    return keep_name(arg, kind == COL_SYSLOG_FORWARD ? "fwd" : "inc", name);
}

static int maps_cb(void *arg, const char *path, int deleted)
{
    return keep_name(arg, deleted ? "del" : "ok", path);
}

static void test_parsers(void **state)
{
    /* sudoers(5): "#" followed by digits is a uid, not a comment; a
     * comment may follow a rule; NOPASSWD after PASSWD in the same rule;
     * Defaults>runas and Defaults!cmnd scopes; #include with quotes */
    static const char sudoers[] = "#1000 ALL=(ALL) NOPASSWD: ALL\n"
                                  "alice , bob ALL = NOPASSWD : /bin/ls # comment NOPASSWD:\n"
                                  "carol ALL = (ALL) ALL\n"
                                  "Defaults>root !authenticate\n"
                                  "Defaults!/bin/true authenticate\n"
                                  "# dave ALL=NOPASSWD: ALL\n"
                                  "#include \"/etc/sudoers.d/with space\"\n"
                                  "@includedir /etc/sudoers.d\n";
    /* pam.d(5): a leading "-" on the type, bracket controls with blanks,
     * substack and include, comments, continuation lines */
    static const char pam[] = "-password optional pam_gnome_keyring.so\n"
                              "password [success=1 default=ignore] /lib/security/pam_unix.so \\\n"
                              "  obscure\n"
                              "password substack system-auth\n"
                              "auth required pam_faillock.so # password required pam_x.so\n"
                              "@include common-password\n";
    static const char maps[] = "7f00-7f01 r-xp 00000000 fd:01 12 /usr/lib/libz.so.1 (deleted)\n"
                               "7f01-7f02 r--p 00000000 fd:01 12 /usr/lib/libq.so (deleted)\n"
                               "7f02-7f03 r-xp 00000000 00:00 0 \n"
                               "7f03-7f04 r-xp 00000000 fd:01 13 /usr/lib/name with space.so\n";
    static const char modprobe[] = "blacklist usb_storage_x\n"
                                   "install usb_storage \\\n  /usr/bin/true\n"
                                   "install usb-storage /bin/false\n";
    /* rsyslog.conf(5): an action() whose type= comes on a later line; a
     * file action; a commented forward */
    static const char rsyslog[] = "*.* action(\n  type=\"omfwd\" target=\"10.0.0.9\"\n)\n"
                                  "mail.* action(type=\"omfile\" file=\"/var/log/mail\")\n"
                                  "# *.* @@old.example.com\n"
                                  "kern.*  @192.0.2.1\n";
    static const char ini[] = "[Journal]\nStorage=volatile\n[Other]\nStorage=persistent\n"
                              "[Journal]\n; Storage=none\n  Storage = auto  \n";
    struct col_modprobe m = {0};
    struct names n;
    char v[32];

    (void)state;
    memset(&n, 0, sizeof(n));
    assert_int_equal(col_sudoers_parse(sudoers, strlen(sudoers), sudo_cb, &n), 0);
    assert_string_equal(n.text, "nopasswd:#1000;nopasswd:alice;nopasswd:bob;noauth:Defaults>root;"
                                "include:/etc/sudoers.d/with space;includedir:/etc/sudoers.d;");
    memset(&n, 0, sizeof(n));
    assert_int_equal(col_pam_parse(pam, strlen(pam), "password", pam_cb, &n), 0);
    assert_string_equal(n.text, "mod:pam_gnome_keyring.so;mod:pam_unix.so;inc:system-auth;"
                                "inc:common-password;");
    memset(&n, 0, sizeof(n));
    assert_int_equal(col_maps_parse(maps, strlen(maps), maps_cb, &n), 0);
    assert_string_equal(n.text, "del:/usr/lib/libz.so.1;ok:/usr/lib/name with space.so;");
    memset(&n, 0, sizeof(n));
    assert_int_equal(col_rsyslog_parse(rsyslog, strlen(rsyslog), syslog_cb, &n), 0);
    assert_string_equal(n.text, "fwd:omfwd;fwd:@;");
    /* modprobe.d(5): the first install command counts; "_" equals "-" */
    assert_int_equal(col_modprobe_parse(modprobe, strlen(modprobe), "usb-storage", &m), 0);
    assert_int_equal(m.blacklisted, 0);
    assert_int_equal(m.install_disabled, 1);
    assert_int_equal(col_cmdline_blacklists("ro modprobe.blacklist=a,usb-storage,b", "usb_storage"),
                     1);
    assert_int_equal(col_cmdline_blacklists("ro module_blacklist=usb_storage", "usb_storage"), 0);
    /* systemd.syntax(7): sections, ";" comments, blanks around "=", last wins */
    assert_int_equal(col_ini_value(ini, strlen(ini), "Journal", "Storage", v, sizeof(v)), 1);
    assert_string_equal(v, "auto");
    /* a logical line over the cap is refused, never cut */
    {
        size_t big = COL_CONF_LINE_MAX + 10;
        char *t = malloc(big + 1);

        assert_non_null(t);
        memset(t, 'a', big);
        t[big] = '\0';
        memset(&n, 0, sizeof(n));
        assert_int_equal(col_sudoers_parse(t, big, sudo_cb, &n), DA_ERR_COLLECT_PARSE);
        free(t);
    }
}

/* This machine: every kernel setting equals what sysctl -n prints, or is an
 * unknown exactly when sysctl cannot read it. */
static void test_live_sysctl(void **state)
{
    static const char *const names[] = {
        "kernel.yama.ptrace_scope",
        "kernel.kptr_restrict",
        "kernel.dmesg_restrict",
        "kernel.unprivileged_bpf_disabled",
        "kernel.unprivileged_userns_clone",
        "kernel.apparmor_restrict_unprivileged_userns",
        "user.max_user_namespaces",
        "fs.protected_symlinks",
        "fs.protected_hardlinks",
        "kernel.modules_disabled",
    };
    cJSON *doc = collect("", 1), *sys = at(doc, "/hardening/sysctl");

    (void)state;
    if (system("command -v sysctl >/dev/null") != 0)
        skip();
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char cmd[256], out[64] = "";
        cJSON *got = cJSON_GetObjectItem(sys, names[i]);
        FILE *p;

        snprintf(cmd, sizeof(cmd), "sysctl -n %s 2>/dev/null", names[i]);
        p = popen(cmd, "r");
        assert_non_null(p);
        if (fgets(out, sizeof(out), p) == NULL)
            out[0] = '\0';
        pclose(p);
        assert_non_null(got);
        if (out[0] == '\0') {
            assert_non_null(cJSON_GetObjectItem(got, "unknown"));
        } else {
            if (!cJSON_IsNumber(got))
                fail_msg("%s: sysctl says %s", names[i], out);
            assert_int_equal((long)got->valuedouble, strtol(out, NULL, 10));
        }
    }
    cJSON_Delete(doc);
}

static int build_roots(void **state)
{
    char cmd[1200];

    (void)state;
    if (da_test_tmpdir("da-posture", roots, sizeof(roots)) != 0)
        return -1;
    snprintf(cmd, sizeof(cmd), "bash '%s/tests/fixtures/build-posture-roots.sh' '%s' >/dev/null",
             DA_SOURCE_ROOT, roots);
    return system(cmd) == 0 ? 0 : -1;
}

static int remove_roots(void **state)
{
    (void)state;
    return da_test_rmtree(roots);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parsers),     cmocka_unit_test(test_hardened),
        cmocka_unit_test(test_open),        cmocka_unit_test(test_image),
        cmocka_unit_test(test_monolithic),  cmocka_unit_test(test_unreadable),
        cmocka_unit_test(test_hostile),     cmocka_unit_test(test_live_outdated_process),
        cmocka_unit_test(test_live_sysctl),
    };

    return cmocka_run_group_tests(tests, build_roots, remove_roots);
}
