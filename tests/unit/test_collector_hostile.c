/* Hostile roots: every file and directory the collectors read in a normal
 * fixture root (listed by the file layer's trace hook while they run, so a
 * new file is covered without changing this test) is replaced, one at a
 * time, by something hostile:
 *   - a FIFO, a socket, a symlink loop, a sparse file past every cap, a file
 *     unreadable to the collecting user, binary junk;
 *   - a symlink escaping the root, absolute and by "..", to a canary file
 *     outside the root;
 *   - for directories: unreadable to the collecting user, or a FIFO.
 * Each collection runs in a child (as uid 65534 for the unreadable cases)
 * and must end within its time bound, must never show a canary string (it
 * reads nothing outside the root), and - except for the escapes and the
 * junk, which a chroot would read as absence or as data - every fact must
 * either equal the normal root's or be an unknown with a reason: a fact
 * that silently turns into another value is the failure this catches. */
#include "da_test.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "collector.h"
#include "err.h"
#include "rootfs.h"
#include "tmp_tree.h"

#define HOSTILE_NOW    1767225600
#define RUN_TIMEOUT_MS 20000
#define CANARY         "DA-CANARY-5b1e07"
#define NOBODY         65534
#define MAX_PATHS      512

static char base_dir[256], root[300], outside[300], canary_file[400];
static const char *root_name; /* the fixture root (DA_HOSTILE_ROOT, default lvm_luks2) */

static const char *const hx_tools[] = {"cc", "gcc", "make", "ninja", "onlytool"};
static const char *const hx_patterns[] = {"*prod*", "123456789012", "Production*"};
static const char *const hx_cidrs[] = {"10.1.0.0/16", "10.9.0.0/16", "2001:db8::/32"};
static const char *const hx_src[] = {"/srv/src"};
static const struct col_config hx_config = {
    .toolchain = hx_tools,
    .n_toolchain = 5,
    /* /opt/abs-bin is an absolute link to /usr/bin inside the root */
    .path_env = "/opt/abs-bin:/usr/local/bin:/usr/bin:/bin",
    .production_patterns = hx_patterns,
    .n_production_patterns = 3,
    .production_cidrs = hx_cidrs,
    .n_production_cidrs = 3,
    .role = "development",
    .source_dirs = hx_src,
    .n_source_dirs = 1,
};

/* ---- the paths the collectors read ---- */

struct seen_path {
    char path[512];
    int dir;
};

static struct seen_path seen[MAX_PATHS];
static size_t n_seen;

static void record(void *arg, const char *op, const char *path)
{
    int dir = strcmp(op, "opendir") == 0;
    char parent[512];
    size_t i;

    (void)arg;
    if (strcmp(op, "stat") == 0 || strcmp(op, "lstat") == 0) {
        /* a name only looked at: its directory is what can be hostile */
        if (strlen(path) >= sizeof(parent) || strrchr(path, '/') == path)
            return;
        snprintf(parent, sizeof(parent), "%s", path);
        *strrchr(parent, '/') = '\0';
        path = parent;
        dir = 1;
    } else if (!dir && strcmp(op, "read") != 0 && strcmp(op, "open") != 0) {
        return;
    }
    for (i = 0; i < n_seen; i++)
        if (seen[i].dir == dir && strcmp(seen[i].path, path) == 0)
            return;
    if (n_seen < MAX_PATHS && strlen(path) < sizeof(seen[0].path)) {
        snprintf(seen[n_seen].path, sizeof(seen[n_seen].path), "%s", path);
        seen[n_seen].dir = dir;
        n_seen++;
    }
}

/* ---- one collection ---- */

static cJSON *collect_here(void)
{
    struct col_ctx ctx;
    cJSON *doc = NULL;

    memset(&ctx, 0, sizeof(ctx));
    ctx.root = root;
    ctx.now = HOSTILE_NOW;
    ctx.cfg = &hx_config;
    ctx.ops = &col_root_ops;
    if (col_collect_evidence(&ctx, NULL, &doc) != 0)
        return NULL;
    cJSON_DeleteItemFromObject(doc, "collected_at");
    return doc;
}

/* Collect in a child (as uid when uid != 0); the document's text, or NULL
 * with *why set when the child failed or ran past the time bound. */
static char *collect_child(uid_t uid, const char **why)
{
    int fds[2], status;
    size_t len = 0, cap = 1 << 16;
    char *text = malloc(cap);
    struct timespec t0, t1;
    pid_t pid;

    assert_non_null(text);
    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        cJSON *doc;
        char *s;

        close(fds[0]);
        alarm(RUN_TIMEOUT_MS / 1000 + 5); /* the parent kills it first */
        if (uid != 0 && (setgid(uid) != 0 || setuid(uid) != 0))
            _exit(3);
        doc = collect_here();
        s = doc != NULL ? cJSON_PrintUnformatted(doc) : NULL;
        if (s == NULL)
            _exit(4);
        for (size_t off = 0, n = strlen(s); off < n;) {
            ssize_t w = write(fds[1], s + off, n - off);

            if (w <= 0)
                _exit(5);
            off += (size_t)w;
        }
        _exit(0);
    }
    close(fds[1]);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    *why = NULL;
    for (;;) {
        struct pollfd p = {fds[0], POLLIN, 0};
        long elapsed;
        ssize_t n;

        clock_gettime(CLOCK_MONOTONIC, &t1);
        elapsed = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
        if (elapsed >= RUN_TIMEOUT_MS || poll(&p, 1, (int)(RUN_TIMEOUT_MS - elapsed)) == 0) {
            kill(pid, SIGKILL);
            *why = "ran past its time bound";
            break;
        }
        if (len + 4096 > cap) {
            cap *= 2;
            text = realloc(text, cap);
            assert_non_null(text);
        }
        n = read(fds[0], text + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    text[len] = '\0';
    if (*why == NULL && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
        *why = WIFSIGNALED(status) ? "the collection crashed" : "the collection failed";
    if (*why != NULL) {
        free(text);
        return NULL;
    }
    return text;
}

/* ---- comparing with the normal root ---- */

static int is_unknown(const cJSON *j)
{
    return cJSON_IsObject(j) && cJSON_GetObjectItemCaseSensitive(j, "unknown") != NULL;
}

/* Every fact of h equals base's or is an unknown; "" or the JSON path of
 * the first that is neither. */
static void compare(const cJSON *base, const cJSON *h, const char *at, char *bad, size_t n)
{
    char sub[600];
    const cJSON *c;
    int i = 0;

    if (bad[0] != '\0' || is_unknown(h))
        return;
    if ((base->type & 0xff) != (h->type & 0xff)) {
        snprintf(bad, n, "%s changed type", at);
        return;
    }
    if (cJSON_IsObject(base)) {
        cJSON_ArrayForEach(c, base)
        {
            const cJSON *hc = cJSON_GetObjectItemCaseSensitive(h, c->string);

            snprintf(sub, sizeof(sub), "%s.%s", at, c->string);
            if (hc == NULL && bad[0] == '\0')
                snprintf(bad, n, "%s disappeared", sub);
            else if (hc != NULL)
                compare(c, hc, sub, bad, n);
        }
        cJSON_ArrayForEach(c, h)
        {
            if (cJSON_GetObjectItemCaseSensitive(base, c->string) == NULL && !is_unknown(c) &&
                bad[0] == '\0')
                snprintf(bad, n, "%s.%s appeared as a value", at, c->string);
        }
        return;
    }
    if (cJSON_IsArray(base)) {
        if (cJSON_GetArraySize(base) != cJSON_GetArraySize(h)) {
            snprintf(bad, n, "%s has %d entries instead of %d", at, cJSON_GetArraySize(h),
                     cJSON_GetArraySize(base));
            return;
        }
        cJSON_ArrayForEach(c, base)
        {
            snprintf(sub, sizeof(sub), "%s[%d]", at, i);
            compare(c, cJSON_GetArrayItem(h, i++), sub, bad, n);
        }
        return;
    }
    if (!cJSON_Compare(base, h, 1))
        snprintf(bad, n, "%s changed value", at);
}

/* ---- hostile replacements ---- */

enum kind {
    K_FIFO,
    K_SOCKET,
    K_LOOP,
    K_HUGE,
    K_UNREADABLE,
    K_JUNK,
    K_ESCAPE_ABS,
    K_ESCAPE_DOTDOT,
    K_DIR_UNREADABLE,
    K_DIR_FIFO,
};

static const char *const kind_name[] = {
    "FIFO",
    "socket",
    "symlink loop",
    "oversized",
    "unreadable",
    "binary junk",
    "absolute escape",
    "'..' escape",
    "unreadable directory",
    "FIFO for a directory",
};

static struct timespec saved_times[2];

static void full(const char *rel, char *out, size_t n)
{
    assert_true(snprintf(out, n, "%s%s", root, rel) < (int)n);
}

/* A socket bound at a short name, then renamed into place (sun_path is
 * short). */
static void make_socket(const char *path)
{
    struct sockaddr_un sa;
    char tmp[64];
    int s = socket(AF_UNIX, SOCK_STREAM, 0);

    assert_true(s >= 0);
    snprintf(tmp, sizeof(tmp), "/tmp/da-hs-%ld", (long)getpid());
    unlink(tmp);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, tmp, strlen(tmp));
    assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(s);
    assert_int_equal(rename(tmp, path), 0);
}

/* Planting changes the parent directory's times, which some facts read
 * (apt's lists directory is a freshness stamp): keep them as they were. */
static void parent_times(const char *p, struct timespec t[2], int restore)
{
    char dir[600];
    struct stat st;

    snprintf(dir, sizeof(dir), "%s", p);
    *strrchr(dir, '/') = '\0';
    if (!restore) {
        assert_int_equal(stat(dir, &st), 0);
        t[0] = st.st_atim;
        t[1] = st.st_mtim;
    } else {
        assert_int_equal(utimensat(AT_FDCWD, dir, t, 0), 0);
    }
}

/* Put the hostile thing at rel (the original moved to aside). */
static void plant(enum kind k, const char *rel, const char *aside, mode_t mode)
{
    char p[600], target[1200];
    int fd, depth = 0;
    const char *c;

    full(rel, p, sizeof(p));
    if (k == K_UNREADABLE || k == K_DIR_UNREADABLE) {
        /* no read permission for anyone; an executable keeps its x bits */
        assert_int_equal(chmod(p, mode & 07333 & (k == K_DIR_UNREADABLE ? 0 : 07777)), 0);
        return;
    }
    parent_times(p, saved_times, 0);
    assert_int_equal(rename(p, aside), 0);
    switch (k) {
    case K_FIFO:
    case K_DIR_FIFO:
        assert_int_equal(mkfifo(p, 0666), 0);
        break;
    case K_SOCKET:
        make_socket(p);
        break;
    case K_LOOP:
        /* the absolute link names itself: inside the root it is a loop */
        assert_int_equal(symlink(rel, p), 0);
        break;
    case K_HUGE:
        fd = open(p, O_WRONLY | O_CREAT | O_EXCL, mode & 0777);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, (off_t)3 << 30), 0); /* sparse, past every cap */
        assert_int_equal(fchmod(fd, mode & 0777), 0);
        close(fd);
        break;
    case K_JUNK: {
        unsigned char junk[4096];
        unsigned x = 0x9e3779b9u;
        size_t i;

        for (i = 0; i < sizeof(junk); i++) {
            x = x * 1103515245u + 12345u;
            junk[i] = (unsigned char)(x >> 16);
        }
        fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
        close(fd);
        break;
    }
    case K_ESCAPE_ABS:
        assert_int_equal(symlink(canary_file, p), 0);
        break;
    case K_ESCAPE_DOTDOT:
        for (c = rel; *c != '\0'; c++)
            depth += *c == '/';
        target[0] = '\0';
        for (int i = 0; i < depth + 8; i++) /* more than enough to climb out */
            snprintf(target + strlen(target), sizeof(target) - strlen(target), "../");
        snprintf(target + strlen(target), sizeof(target) - strlen(target), "%s", canary_file + 1);
        assert_int_equal(symlink(target, p), 0);
        break;
    default:
        fail();
    }
    /* only the kind of file changes: its times stay the original's */
    {
        struct stat orig;
        struct timespec t[2];

        assert_int_equal(lstat(aside, &orig), 0);
        t[0] = orig.st_atim;
        t[1] = orig.st_mtim;
        assert_int_equal(utimensat(AT_FDCWD, p, t, AT_SYMLINK_NOFOLLOW), 0);
    }
    parent_times(p, saved_times, 1);
}

static void unplant(enum kind k, const char *rel, const char *aside, mode_t mode)
{
    char p[600];

    full(rel, p, sizeof(p));
    if (k == K_UNREADABLE || k == K_DIR_UNREADABLE) {
        assert_int_equal(chmod(p, mode), 0);
        return;
    }
    assert_int_equal(unlink(p), 0);
    assert_int_equal(rename(aside, p), 0);
    parent_times(p, saved_times, 1);
}

/* ---- setup ---- */

static void put(const char *rel, const char *text, mode_t mode)
{
    char p[600], cmd[700];
    FILE *f;

    full(rel, p, sizeof(p));
    snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", p);
    assert_int_equal(system(cmd), 0);
    f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(p, mode), 0);
}

static int setup(void **state)
{
    char cmd[2400], p[600];
    FILE *f;

    (void)state;
    if (da_test_tmpdir("da-hostile", base_dir, sizeof(base_dir)) != 0)
        return -1;
    snprintf(cmd, sizeof(cmd), "bash '%s/tests/fixtures/build-roots.sh' '%s' >/dev/null",
             DA_SOURCE_ROOT, base_dir);
    if (system(cmd) != 0)
        return -1;
    root_name = getenv("DA_HOSTILE_ROOT") != NULL ? getenv("DA_HOSTILE_ROOT") : "lvm_luks2";
    snprintf(root, sizeof(root), "%.200s/%.40s", base_dir, root_name);
    if (strcmp(root_name, "rpm") == 0) {
        /* an RPM-family machine: the default root without dpkg and apt, with
         * an rpm database, a dnf configuration and dnf's metadata cache */
        snprintf(cmd, sizeof(cmd),
                 "cp -a '%.200s/lvm_luks2' '%.200s/rpm' && rm -rf '%.200s/rpm/var/lib/dpkg' "
                 "'%.200s/rpm/var/lib/apt' && bash '%s/tests/fixtures/build-rpm-root.sh' "
                 "'%.200s/rpm' '%.200s/rpm-repos'",
                 base_dir, base_dir, base_dir, base_dir, DA_SOURCE_ROOT, base_dir, base_dir);
        if (system(cmd) != 0)
            return -1;
    }
    snprintf(outside, sizeof(outside), "%.250s/outside", base_dir);
    snprintf(canary_file, sizeof(canary_file), "%.290s/canary", outside);
    if (mkdir(outside, 0755) != 0)
        return -1;
    f = fopen(canary_file, "w");
    if (f == NULL)
        return -1;
    fputs("ID=" CANARY "\nPRETTY_NAME=" CANARY "\n[" CANARY "]\nmachine " CANARY "\n", f);
    fclose(f);
    /* readable to the unprivileged runs */
    snprintf(cmd, sizeof(cmd), "chmod -R a+rX '%s'", base_dir);
    if (system(cmd) != 0)
        return -1;
    put("/proc/1/environ", "PATH=/usr/bin\0HOME=/\0", 0400); /* no container= */
    /* a tool that only the root has, found through an absolute link */
    put("/usr/bin/onlytool", "#!/bin/sh\n", 0755);
    full("/opt", p, sizeof(p));
    mkdir(p, 0755);
    full("/opt/abs-bin", p, sizeof(p));
    return symlink("/usr/bin", p);
}

static int teardown(void **state)
{
    (void)state;
    return da_test_rmtree(base_dir);
}

/* ---- the tests ---- */

static void test_normal_root(void **state)
{
    cJSON *doc, *it, *os;
    int only = 0;

    (void)state;
    n_seen = 0;
    da_rootfs_set_trace(record, NULL);
    doc = collect_here();
    da_rootfs_set_trace(NULL, NULL);
    assert_non_null(doc);
    print_message("the collectors read %zu files and directories of the root\n", n_seen);
    assert_true(n_seen > 40);
    /* the tool that exists only inside the root, through an absolute link */
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "toolchain"), "tools"))
    {
        if (strcmp(cJSON_GetObjectItem(it, "name")->valuestring, "onlytool") != 0)
            continue;
        assert_true(cJSON_IsTrue(cJSON_GetObjectItem(it, "present")));
        assert_string_equal(cJSON_GetObjectItem(it, "realpath")->valuestring, "/usr/bin/onlytool");
        only = 1;
    }
    assert_true(only);
    if (strcmp(root_name, "rpm") == 0) {
        const cJSON *pa = cJSON_GetObjectItem(doc, "patches");

        /* the rpm collectors ran, and found what dnf would */
        assert_string_equal(cJSON_GetObjectItem(pa, "manager")->valuestring, "rpm");
        assert_true(cJSON_IsArray(cJSON_GetObjectItem(pa, "pending")));
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(pa, "pending")), 6);
    }
    os = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "host"), "os");
    assert_string_equal(cJSON_GetObjectItem(os, "id")->valuestring, "debian");
    cJSON_Delete(doc);
}

/* Documented rules of the collectors (docs/evidence.md) under which a
 * hostile file is skipped rather than reported: in ~/.ssh sockets are ssh's
 * control and agent sockets and files over 64 KiB (known_hosts) are no
 * private keys. */
static const struct {
    const char *part;
    enum kind kind;
} exceptions[] = {
    {"/.ssh/", K_SOCKET},
    {"/.ssh/", K_HUGE},
};

static int run_case(enum kind k, const struct seen_path *sp, const char *baseline, char *msg,
                    size_t n)
{
    char aside[600], p[600], bad[700] = "";
    struct stat st;
    const char *why = NULL;
    char *text;
    int strict = k != K_JUNK && k != K_ESCAPE_ABS && k != K_ESCAPE_DOTDOT;
    uid_t uid = (k == K_UNREADABLE || k == K_DIR_UNREADABLE) ? NOBODY : 0;

    full(sp->path, p, sizeof(p));
    if (strcmp(sp->path, "/") == 0 || lstat(p, &st) != 0 ||
        (sp->dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)))
        return 0; /* the root itself, a symlink or an absent name: nothing to replace */
    for (size_t i = 0; i < sizeof(exceptions) / sizeof(exceptions[0]); i++)
        if (exceptions[i].kind == k && strstr(sp->path, exceptions[i].part) != NULL)
            strict = 0;
    snprintf(aside, sizeof(aside), "%s/aside", base_dir);
    plant(k, sp->path, aside, st.st_mode);
    text = collect_child(uid, &why);
    unplant(k, sp->path, aside, st.st_mode & 07777);
    if (text == NULL) {
        snprintf(msg, n, "%.300s as %s: %.300s", sp->path, kind_name[k], why);
        return 1;
    }
    if (strstr(text, CANARY) != NULL) {
        snprintf(msg, n, "%.300s as %s: read outside the root", sp->path, kind_name[k]);
        free(text);
        return 1;
    }
    if (strict) {
        cJSON *a = cJSON_Parse(baseline), *b = cJSON_Parse(text);

        assert_non_null(a);
        assert_non_null(b);
        compare(a, b, "$", bad, sizeof(bad));
        cJSON_Delete(a);
        cJSON_Delete(b);
    }
    free(text);
    if (bad[0] != '\0') {
        snprintf(msg, n, "%.300s as %s: %.900s", sp->path, kind_name[k], bad);
        return 1;
    }
    return 0;
}

static void run_all(const enum kind *kinds, size_t nk, int dirs, uid_t base_uid)
{
    char msg[1600], *baseline;
    const char *why;
    size_t i, j, failures = 0, runs = 0;

    assert_true(n_seen > 0);
    baseline = collect_child(base_uid, &why);
    if (baseline == NULL)
        fail_msg("the normal root as uid %u: %s", (unsigned)base_uid, why);
    for (i = 0; i < n_seen; i++) {
        if (seen[i].dir != dirs)
            continue;
        for (j = 0; j < nk; j++) {
            runs++;
            if (run_case(kinds[j], &seen[i], baseline, msg, sizeof(msg)) != 0) {
                print_message("FAIL %s\n", msg);
                failures++;
            }
        }
    }
    free(baseline);
    print_message("%zu hostile collections, %zu failed\n", runs, failures);
    assert_int_equal(failures, 0);
}

static void test_hostile_files(void **state)
{
    static const enum kind kinds[] = {K_FIFO, K_SOCKET,     K_LOOP,         K_HUGE,
                                      K_JUNK, K_ESCAPE_ABS, K_ESCAPE_DOTDOT};

    (void)state;
    run_all(kinds, sizeof(kinds) / sizeof(kinds[0]), 0, 0);
}

static void test_unreadable_files(void **state)
{
    static const enum kind kinds[] = {K_UNREADABLE};

    (void)state;
    if (geteuid() != 0)
        skip(); /* needs to collect as another user */
    run_all(kinds, 1, 0, NOBODY);
}

static void test_hostile_directories(void **state)
{
    static const enum kind kinds[] = {K_DIR_FIFO};

    (void)state;
    run_all(kinds, 1, 1, 0);
}

static void test_unreadable_directories(void **state)
{
    static const enum kind kinds[] = {K_DIR_UNREADABLE};

    (void)state;
    if (geteuid() != 0)
        skip();
    run_all(kinds, 1, 1, NOBODY);
}

/* The reason and the path of a few classic cases, one by one. */
static const cJSON *at(const cJSON *doc, const char *a, const char *b)
{
    return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, a), b);
}

static void expect_unknown(const cJSON *j, const char *reason, const char *path)
{
    assert_non_null(j);
    assert_non_null(cJSON_GetObjectItem(j, "unknown"));
    assert_string_equal(cJSON_GetObjectItem(j, "unknown")->valuestring, reason);
    assert_non_null(strstr(cJSON_GetObjectItem(j, "detail")->valuestring, path));
}

static cJSON *collect_as(enum kind k, const char *rel)
{
    char aside[600], p[600];
    struct stat st;
    const char *why;
    char *text;
    cJSON *doc;
    uid_t uid = (k == K_UNREADABLE || k == K_DIR_UNREADABLE) ? NOBODY : 0;

    full(rel, p, sizeof(p));
    assert_int_equal(lstat(p, &st), 0);
    snprintf(aside, sizeof(aside), "%s/aside", base_dir);
    plant(k, rel, aside, st.st_mode);
    text = collect_child(uid, &why);
    unplant(k, rel, aside, st.st_mode & 07777);
    assert_non_null(text);
    doc = cJSON_Parse(text);
    free(text);
    assert_non_null(doc);
    return doc;
}

static void test_reasons(void **state)
{
    cJSON *doc;

    (void)state;
    if (strcmp(root_name, "lvm_luks2") != 0)
        skip(); /* the paths below are that root's */
    /* `mkfifo ~/.aws/credentials` by any user: unknown, never a hang */
    doc = collect_as(K_FIFO, "/home/alice/.aws/credentials");
    expect_unknown(at(doc, "separation", "findings"), "not_regular",
                   "/home/alice/.aws/credentials");
    cJSON_Delete(doc);
    doc = collect_as(K_HUGE, "/home/alice/.aws/credentials");
    expect_unknown(at(doc, "separation", "findings"), "limit", "/home/alice/.aws/credentials");
    cJSON_Delete(doc);
    if (geteuid() != 0)
        return;
    /* an unreadable credentials directory is no "no findings" */
    doc = collect_as(K_DIR_UNREADABLE, "/home/alice/.aws");
    expect_unknown(at(doc, "separation", "findings"), "permission", "/home/alice/.aws");
    cJSON_Delete(doc);
    /* an unreadable sshd Include directory is no "password authentication off" */
    doc = collect_as(K_DIR_UNREADABLE, "/etc/ssh/sshd_config.d");
    expect_unknown(at(doc, "access", "sshd"), "permission", "/etc/ssh/sshd_config.d");
    cJSON_Delete(doc);
    /* an unreadable PID 1 environment is no "no container" */
    doc = collect_as(K_UNREADABLE, "/proc/1/environ");
    expect_unknown(at(doc, "isolation", "virtualization"), "permission", "/proc/1/environ");
    cJSON_Delete(doc);
    /* an apt list that cannot be read is a permission, not out of memory */
    doc = collect_as(K_UNREADABLE, "/var/lib/apt/lists/"
                                   "deb.example.org_debian_dists_bookworm-backports_main_binary-"
                                   "amd64_Packages");
    expect_unknown(at(doc, "patches", "pending"), "permission", "bookworm-backports_main");
    cJSON_Delete(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normal_root),
        cmocka_unit_test(test_hostile_files),
        cmocka_unit_test(test_unreadable_files),
        cmocka_unit_test(test_hostile_directories),
        cmocka_unit_test(test_unreadable_directories),
        cmocka_unit_test(test_reasons),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
