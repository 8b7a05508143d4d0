/* Parsers of the configuration files behind the runtime, logging,
 * hardening, auth and media areas. Each works on text already read (capped)
 * and reports what it finds through a callback, so that the collectors
 * decide which files to read and the parsers never touch the file system.
 * All return 0, DA_ERR_COLLECT_PARSE for a logical line longer than
 * COL_CONF_LINE_MAX (never a partial parse), or the first negative value a
 * callback returned. Fuzzed by fuzz_posture_conf. */
#ifndef COL_POSTURE_H
#define COL_POSTURE_H

#include <stddef.h>

#define COL_CONF_LINE_MAX 8192 /* one logical (joined) configuration line */

/* One logical line at a time: trailing "\r" removed; with join, a line
 * ending in a backslash continues on the next (the backslash is dropped).
 * 1 with the line in out, 0 at the end, DA_ERR_COLLECT_PARSE when a logical
 * line does not fit in COL_CONF_LINE_MAX bytes. */
struct col_lines {
    const char *p, *end;
    int join;
};
int col_lines_next(struct col_lines *it, char *out);

/* ---- PAM (pam.d(5)) ---- */
enum col_pam_kind {
    COL_PAM_MODULE,  /* a module of the wanted type: name is its file name */
    COL_PAM_INCLUDE, /* "include"/"substack" control or "@include": a service */
};
typedef int (*col_pam_fn)(void *arg, enum col_pam_kind kind, const char *name);
/* The lines of one /etc/pam.d service file whose type is `type` ("auth",
 * "password", ...; a leading "-" is ignored) and every "@include". */
int col_pam_parse(const char *text, size_t len, const char *type, col_pam_fn fn, void *arg);

/* ---- sudoers(5) ---- */
enum col_sudo_kind {
    COL_SUDO_NOPASSWD,   /* a user specification with NOPASSWD: the user list entry */
    COL_SUDO_NOAUTH,     /* a Defaults line negating authenticate: its scope */
    COL_SUDO_INCLUDE,    /* @include / #include FILE */
    COL_SUDO_INCLUDEDIR, /* @includedir / #includedir DIR */
};
typedef int (*col_sudo_fn)(void *arg, enum col_sudo_kind kind, const char *name);
int col_sudoers_parse(const char *text, size_t len, col_sudo_fn fn, void *arg);

/* ---- modprobe.d(5) ---- */
struct col_modprobe {
    int blacklisted;      /* "blacklist MODULE" */
    int install_seen;     /* an "install MODULE" line was seen (the first counts) */
    int install_disabled; /* ... and its command is false or true: never loads */
};
/* Module names compare with "-" and "_" equal. */
int col_modprobe_parse(const char *text, size_t len, const char *module, struct col_modprobe *m);
/* modprobe.blacklist=A,B on a kernel command line names module. */
int col_cmdline_blacklists(const char *cmdline, const char *module);

/* ---- systemd unit-style configuration (systemd.syntax(7)) ---- */
/* The last assignment of key in [section] (section NULL: a file of plain
 * KEY=VALUE lines) into out. 1 when found, 0 when not. Lines starting with
 * "#" or ";" are comments. */
int col_ini_value(const char *text, size_t len, const char *section, const char *key, char *out,
                  size_t n);

/* ---- syslog daemons ---- */
enum col_syslog_kind {
    COL_SYSLOG_FORWARD, /* a rule sending messages to another host: the driver or action */
    COL_SYSLOG_INCLUDE, /* an included file pattern */
};
typedef int (*col_syslog_fn)(void *arg, enum col_syslog_kind kind, const char *name);
/* rsyslog.conf(5): legacy "SELECTOR @host" / "@@host" actions, RainerScript
 * action(type="omfwd"|"omrelp"), $IncludeConfig and include(file="..."). */
int col_rsyslog_parse(const char *text, size_t len, col_syslog_fn fn, void *arg);
/* syslog-ng.conf(5): network(), tcp(), udp(), tcp6(), udp6() and syslog()
 * destination drivers, @include "...". */
int col_syslogng_parse(const char *text, size_t len, col_syslog_fn fn, void *arg);

/* ---- audit.rules (auditctl(8)) ---- */
struct col_audit_rules {
    unsigned rules; /* -a, -A and -w lines */
    int enabled;    /* value of the last "-e N", -1 when none */
};
int col_audit_rules_parse(const char *text, size_t len, struct col_audit_rules *out);

/* ---- passwd(5) / shadow(5) password fields ---- */
enum col_pw_state {
    COL_PW_EMPTY,    /* empty field: no password needed */
    COL_PW_LOCKED,   /* "!" or "*" first: no password login */
    COL_PW_SHADOWED, /* passwd's "x": see shadow */
    COL_PW_HASH,     /* anything else */
};
typedef int (*col_pw_fn)(void *arg, const char *name, enum col_pw_state state);
/* Lines NAME:PASSWORD:... (the password field is classified, never kept). */
int col_pw_parse(const char *text, size_t len, col_pw_fn fn, void *arg);

/* ---- /proc/PID/maps ---- */
/* Each executable file-backed mapping: its path (" (deleted)" removed) and
 * whether the kernel marked the file deleted. */
typedef int (*col_maps_fn)(void *arg, const char *path, int deleted);
int col_maps_parse(const char *text, size_t len, col_maps_fn fn, void *arg);

/* ---- reboot-required.pkgs: one package name per line ---- */
typedef int (*col_name_fn)(void *arg, const char *name);
int col_pkgs_parse(const char *text, size_t len, col_name_fn fn, void *arg);

/* ---- file-system helpers of these areas (posture_fs.c) ---- */
struct col_ctx;
struct col_names;
/* 1 when one of the NULL-terminated paths exists below the root, 0 when
 * none does, a DA_ERR_* when one could not be looked at. */
int col_any_exists(const struct col_ctx *ctx, const char *const *paths);
/* A unit enabled by the administrator: a link named unit in a *.wants or
 * *.requires directory of /etc/systemd/system. 1, 0 or a DA_ERR_*. */
int col_unit_enabled(const struct col_ctx *ctx, const char *unit);
/* A process whose /proc/PID/comm is comm. 1, 0, DA_ERR_COLLECT_NOT_LIVE
 * when /proc below the root holds no process at all (an image, not a
 * running system), or another DA_ERR_*. */
int col_process_running(const struct col_ctx *ctx, const char *comm);
/* A /proc/PID read failed because the process is gone (it exited). */
int col_process_gone(int err);
/* Drop-in files ending in suffix from dirs (highest priority first): a
 * name in an earlier directory hides the same name in later ones; the
 * result is sorted by file name and holds full paths. Missing directories
 * are skipped. 0 or a DA_ERR_* (*bad names the directory). */
int col_dropins(const struct col_ctx *ctx, const char *const *dirs, const char *suffix,
                struct col_names *out, const char **bad);

#endif
