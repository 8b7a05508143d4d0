/* Posture collectors: the interface every area implements.
 *
 * Each area lives in collector/col_<area>.c and exports one
 * `const struct da_collector col_<area>`; collector.c lists them in one
 * static array. A collector reads only through the root prefix of its context
 * (files, procfs, sysfs), never spawns a program, and reports every fact as a
 * value or as an unknown object (col_unknown) with a reason. It never writes
 * "off" or false for something it could not read.
 *
 * Facts about the running machine that no file under the root describes
 * (CPUID, adjtimex, the nftables ruleset over netlink, fscrypt ioctls) go
 * through struct col_sys_ops so that fixture roots can supply them.
 */
#ifndef COL_COLLECTOR_H
#define COL_COLLECTOR_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "rootfs.h"

/* Configuration the collectors read (owned by the caller). */
struct col_config {
    const char *const *toolchain; /* tool names resolved on path_env */
    size_t n_toolchain;
    const char *path_env;                   /* PATH used to resolve tools */
    const char *const *production_patterns; /* shell globs (fnmatch) */
    size_t n_production_patterns;
    const char *const *production_cidrs; /* "10.1.0.0/16", "2001:db8::/32" */
    size_t n_production_cidrs;
    const char *role;               /* declared environment role, NULL if none */
    const char *const *source_dirs; /* configured source/build directories */
    size_t n_source_dirs;
    /* PID 1's environment as read by a more privileged process (the agent's
     * parent, before it drops): used instead of /proc/1/environ, which needs
     * ptrace-level access. NULL: read the file. */
    const unsigned char *pid1_environ;
    size_t pid1_environ_len;
};

/* The kernel's audit state (NETLINK_AUDIT). */
struct col_audit_status {
    int enabled;         /* 0 off, 1 on, 2 on and locked (auditctl -e) */
    unsigned daemon_pid; /* the audit daemon registered with the kernel, 0 if none */
    unsigned rules;      /* rules loaded in the kernel (auditctl -l) */
};

/* One socket of the running machine's socket tables. */
struct col_sock {
    int v6;
    unsigned char local[16], remote[16]; /* network order; IPv4 in the first 4 bytes */
    unsigned lport, rport;
    int state; /* TCP_* state numbers as in /proc/net/tcp */
};

typedef int (*col_sock_fn)(const struct col_sock *s, void *arg);

/* Probes of the running machine. Each returns 0 or a negative errno. */
struct col_sys_ops {
    /* CPUID leaf into regs[0..3] = eax, ebx, ecx, edx; -ENOTSUP off x86. */
    int (*cpuid)(uint32_t leaf, uint32_t regs[4]);
    /* 1 when the directory (open as dirfd; path is its name inside the
     * root) has an fscrypt policy, 0 when it has none. */
    int (*fscrypt_dir)(int dirfd, const char *path);
    /* Kernel clock: synchronized flag and maximum error in microseconds. */
    int (*clock)(int *synchronized, long *max_error_us);
    /* The nftables ruleset over NETLINK_NETFILTER: the kernel's answers to
     * the fixed dump requests (tables, chains, sets, the elements of each
     * set, rules), as raw netlink messages appended to out (a buffer capped
     * at DA_MAX_NFT_DUMP); nft_eval.h reads them. -E2BIG past the cap. */
    int (*nft_dump)(struct da_buf *out);
    /* Sockets of one family (AF_INET/AF_INET6) and protocol (IPPROTO_TCP/
     * IPPROTO_UDP) in the given states (bit mask of 1 << state) over
     * NETLINK_SOCK_DIAG; NULL or an error means: read /proc/net instead.
     * Returns 0, fn's DA_ERR_*, or DA_ERR_SYSTEM (errno beside it, in
     * da_rootfs_errno) when the kernel refuses or fails the dump. */
    int (*sockets)(int family, int protocol, uint32_t states, col_sock_fn fn, void *arg);
    /* Audit status and rule count over NETLINK_AUDIT; needs
     * CAP_AUDIT_CONTROL (-EPERM without), -ENOTSUP outside the initial PID
     * namespace or without kernel audit support. */
    int (*audit)(struct col_audit_status *out);
};

/* What every collector gets. */
/* The collectors' state files (caches and the first-seen record), the only
 * names a collector ever writes through state_put. */
#define COL_STATE_PATCHES_CACHE   "patches.cache"
#define COL_STATE_PENDING_SEEN    "pending.seen"
#define COL_STATE_TOOLCHAIN_CACHE "toolchain.cache"
#define COL_STATE_AGENT_CACHE     "agent.cache"

/* Replace the state file `name` (a bare name, never a path) with data.
 * 0 or a DA_ERR_*. */
typedef int (*col_state_put_fn)(const void *arg, const char *name, const void *data, size_t len);

struct col_ctx {
    const char *root;      /* root prefix without trailing slash; "" is "/" */
    const char *state_dir; /* directory for caches (read); NULL disables them */
    int live;              /* root is the running machine's "/" */
    time_t now;            /* the collection time, used for every age */
    const struct col_config *cfg;
    const struct col_sys_ops *ops;
    /* Every write of a state file goes here; NULL writes into state_dir with
     * col_state_write_file. */
    col_state_put_fn state_put;
    const void *state_put_arg;
    /* The tree under root every read goes through (rootfs.h). NULL: the
     * entry points (col_collect_evidence, col_patches_inventory) open one
     * on root for the run; a caller may supply its own. */
    struct da_rootfs *fs;
};

struct da_collector {
    const char *name; /* the evidence key it owns */
    /* Fills area_out (an empty object). Returns 0 or a negative DA_ERR_*
     * only for failures of the collector itself (memory); facts it could
     * not read are unknown objects inside area_out. */
    int (*collect)(const struct col_ctx *ctx, cJSON *area_out);
};

/* The collectors in evidence order. */
extern const struct da_collector *const col_collectors[];
extern const size_t col_collector_count;

/* Default configuration and the probes of the running machine. */
const struct col_config *col_default_config(void);

/* A configuration read from JSON (see col_config.c for the members); members
 * left out keep their defaults. DA_ERR_CONFIG for anything else than the
 * documented members and types (unknown member, bad CIDR, relative source
 * directory, tool name with a slash, oversized list). */
struct col_config_file;
int col_config_parse(const char *text, size_t len, struct col_config_file **out);
const struct col_config *col_config_get(const struct col_config_file *f);
void col_config_free(struct col_config_file *f);
/* 0 when s is an IPv4 or IPv6 CIDR ("10.0.0.0/8"), else DA_ERR_CONFIG. */
int col_cidr_check(const char *s);
extern const struct col_sys_ops col_live_ops;
/* For --root: only the probes that act on paths below the root (fscrypt). */
extern const struct col_sys_ops col_root_ops;

/* Build the evidence document. only is a comma-separated list of areas or
 * NULL for all (DA_ERR_COLLECT_UNKNOWN_AREA for a name that is not one).
 * *out is a new cJSON object owned by the caller. */
int col_collect_evidence(const struct col_ctx *ctx, const char *only, cJSON **out);

/* The package inventory behind evidence.patches.inventory_sha256 (lines
 * "name:arch=version\n"), appended to out; for the server's inventory_needed
 * answer. DA_ERR_COLLECT when the package database cannot be read. */
int col_patches_inventory(const struct col_ctx *ctx, struct da_buf *out);

/* ---- helpers shared by the collectors (col_util.c) ---- */

/* The unknown convention: {"unknown": REASON, "detail": DETAIL}. REASON is
 * one of the COL_R_* words; DETAIL is free text and may be NULL. */
#define COL_R_PERMISSION      "permission"
#define COL_R_NOT_PRESENT     "not_present"
#define COL_R_UNSUPPORTED     "unsupported"
#define COL_R_PARSE           "parse_error"
#define COL_R_IO              "io_error"
#define COL_R_NOT_LIVE        "not_live"
#define COL_R_LIMIT           "limit"
#define COL_R_NOT_REGULAR     "not_regular"
#define COL_R_IPTABLES_LEGACY "iptables_legacy"

cJSON *col_unknown(const char *reason, const char *detail);
/* Reason word for a DA_ERR_* of the file layer (rootfs.h):
 *   DA_ERR_NOT_FOUND -> not_present    DA_ERR_PERMISSION -> permission
 *   DA_ERR_NOT_REGULAR -> not_regular  DA_ERR_TOO_LARGE -> limit
 *   DA_ERR_UNSUPPORTED -> unsupported  DA_ERR_COLLECT_PARSE -> parse_error
 *   anything else (DA_ERR_SYSTEM, DA_ERR_IO, ...) -> io_error */
const char *col_err_reason(int err);
/* Reason word for an errno (positive or negative) of a probe (col_sys_ops). */
const char *col_sys_reason(int errnum);
int col_add_unknown(cJSON *obj, const char *key, const char *reason, const char *detail);
/* The unknown for a DA_ERR_* (from the file layer or a parser): reason
 * col_err_reason, detail "WHAT: message", the message carrying the errno
 * the layer saved for DA_ERR_SYSTEM. For a search, pass the path that
 * failed (da_rootfs_err_path()) as what. */
int col_add_unknown_err(cJSON *obj, const char *key, int err, const char *what);
/* The unknown for an errno of a probe (col_sys_ops). */
int col_add_unknown_sys(cJSON *obj, const char *key, int errnum, const char *what);
/* Detail text for err as col_add_unknown_err writes it. */
void col_err_detail(int err, const char *what, char *out, size_t n);
int col_add_str(cJSON *obj, const char *key, const char *val);
int col_add_num(cJSON *obj, const char *key, double val);
int col_add_bool(cJSON *obj, const char *key, int val);
int col_add_item(cJSON *obj, const char *key, cJSON *item); /* takes item, even on error */
int col_push(cJSON *arr, cJSON *item);                      /* takes item, even on error */
int col_push_str(cJSON *arr, const char *s);

/* Every read below goes through ctx->fs (rootfs.h): paths are absolute
 * inside the root, symlinks and ".." never leave it, anything but a
 * regular file is DA_ERR_NOT_REGULAR, and every result is 0 or a DA_ERR_*.
 * Read a whole file into b (initialised by the caller with a named cap);
 * over the cap is DA_ERR_TOO_LARGE with b empty. */
int col_read_file(const struct col_ctx *ctx, const char *rel, struct da_buf *b);
/* First line of a small file, trailing whitespace removed. */
int col_read_line(const struct col_ctx *ctx, const char *rel, char *out, size_t n);
/* stat / lstat inside the root. */
struct stat;
int col_stat(const struct col_ctx *ctx, const char *rel, struct stat *st);
int col_lstat(const struct col_ctx *ctx, const char *rel, struct stat *st);
int col_readlink(const struct col_ctx *ctx, const char *rel, char *out, size_t n);
/* A regular file opened for reading (non-blocking, checked), for streaming. */
int col_open_file(const struct col_ctx *ctx, const char *rel, int *fd, struct stat *st);
/* Directory listing and globbing inside the root (rootfs.h). */
int col_opendir(const struct col_ctx *ctx, const char *rel, struct da_rootfs_dir **d);
int col_glob(const struct col_ctx *ctx, const char *pattern, struct da_rootfs_glob *g);
/* The names in a directory below the root (without "." and ".."), sorted
 * by strcmp; at most max of them (DA_ERR_TOO_LARGE beyond). 0 or a DA_ERR_*;
 * an unreadable directory or a failing readdir is an error, never a short
 * list. Free with col_names_free. */
struct col_names {
    char **v;
    size_t n;
};
int col_list_dir(const struct col_ctx *ctx, const char *rel, size_t max, struct col_names *out);
void col_names_free(struct col_names *n);
/* Parse a decimal unsigned number that fills the whole string. */
int col_parse_u64(const char *s, uint64_t *out);
/* "KEY=value" style os-release/config value: unquote in place. */
void col_unquote(char *s);
/* Decode a /proc/net/{tcp,udp}[6] "ADDR:PORT" field (network order out). */
int col_proc_addr(const char *s, int v6, unsigned char addr[16], unsigned *port);
/* The canonical path inside the root of an absolute path, every symlink
 * resolved inside the root (da_rootfs_realpath). 0 or a DA_ERR_*. */
int col_resolve_in_root(const struct col_ctx *ctx, const char *path, char *out, size_t n);
/* SHA-256 (hex) of a file of the running machine, cached in state_dir
 * (may be NULL) by (device, inode, size, mtime, ctime) like the toolchain;
 * used for the agent's own binary. 0 or a DA_ERR_*. */
int col_binary_sha256(const char *state_dir, const char *path, char hex[65]);
/* The same with the state directory and the write hook of ctx (its root is
 * ignored: path is of the running machine). */
int col_binary_sha256_ctx(const struct col_ctx *ctx, const char *path, char hex[65]);

/* Atomically replace dir/name: a temporary file in dir (O_EXCL, O_NOFOLLOW,
 * mode 0600), write, fsync, rename, fsync of dir. 0 or a DA_ERR_* with the
 * errno kept by the file layer (da_rootfs_errno). */
int col_state_write_file(const char *dir, const char *name, const void *data, size_t len);
/* Read the state file `name` from ctx->state_dir (through the file layer,
 * rooted at the state directory) into b; DA_ERR_NOT_FOUND without one. */
int col_read_state(const struct col_ctx *ctx, const char *name, struct da_buf *b);
/* Write a state file through ctx->state_put, or col_state_write_file into
 * ctx->state_dir when there is no hook; DA_ERR_NOT_FOUND when there is
 * neither. */
int col_state_put(const struct col_ctx *ctx, const char *name, const void *data, size_t len);
/* Lowercase hex of n bytes into out (2n+1 bytes). */
void col_hex(const unsigned char *in, size_t n, char *out);
/* 1 when a PEM private key has no passphrase, 0 when it has one, -1 when the
 * text is not a private key (col_separation.c). */
int col_ssh_key_unencrypted(const char *text);

#define COL_TRY(x)                                                                                 \
    do {                                                                                           \
        r = (x);                                                                                   \
        if (r < 0)                                                                                 \
            goto out;                                                                              \
    } while (0)

#endif
