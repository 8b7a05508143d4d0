/* dpkg diversions in the toolchain's owner and verification, against dpkg
 * itself on a fixture root (`dpkg --root=ROOT -S` and `--verify`):
 *   /usr/bin/tool       diverted by "wrapper": wrapper's own file
 *   /usr/bin/tool.real  where "orig"'s /usr/bin/tool was moved to
 *   /usr/bin/ltool      locally diverted (dpkg-divert --local): no package
 *   /usr/bin/ltool.orig where "orig2"'s /usr/bin/ltool was moved to
 * Both wrapper and orig list /usr/bin/tool, and orig.list sorts (and is
 * usually listed) first: the owner must come from the diversion, not from
 * the order of the .list files. */
#include "da_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collector.h"
#include "err.h"
#include "tmp_tree.h"

static char root[200];

static void put(const char *rel, const char *text, mode_t mode)
{
    char p[512];
    FILE *f;

    snprintf(p, sizeof(p), "%s%s", root, rel);
    f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(p, mode), 0);
}

/* md5sums line for a file holding text. */
static void md5sums(const char *pkg, const char *text, const char *name)
{
    char cmd[700], rel[300];

    snprintf(rel, sizeof(rel), "%s/var/lib/dpkg/info/%s.md5sums", root, pkg);
    snprintf(cmd, sizeof(cmd), "printf '%%s' '%s' | md5sum | sed 's|  -|  %s|' > '%s'", text, name,
             rel);
    assert_int_equal(system(cmd), 0);
}

static int setup(void **state)
{
    char cmd[800];

    (void)state;
    if (da_test_tmpdir("da-divert", root, sizeof(root)) != 0)
        return -1;
    snprintf(cmd, sizeof(cmd),
             "mkdir -p '%s/var/lib/dpkg/info' '%s/var/lib/dpkg/updates' '%s/usr/bin'", root, root,
             root);
    if (system(cmd) != 0)
        return -1;
    put("/usr/bin/tool", "wrapper\n", 0755);
    put("/usr/bin/tool.real", "original\n", 0755);
    put("/usr/bin/ltool", "admin\n", 0755);
    put("/usr/bin/ltool.orig", "orig2\n", 0755);
    put("/var/lib/dpkg/status",
        "Package: wrapper\nStatus: install ok installed\nArchitecture: all\nVersion: 1.0\n"
        "Maintainer: x\nDescription: x\n\n"
        "Package: orig\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.0\n"
        "Maintainer: x\nDescription: x\n\n"
        "Package: orig2\nStatus: install ok installed\nArchitecture: amd64\nVersion: 3.0\n"
        "Maintainer: x\nDescription: x\n",
        0644);
    put("/var/lib/dpkg/info/wrapper.list", "/.\n/usr\n/usr/bin\n/usr/bin/tool\n", 0644);
    put("/var/lib/dpkg/info/orig.list", "/.\n/usr\n/usr/bin\n/usr/bin/tool\n", 0644);
    put("/var/lib/dpkg/info/orig2.list", "/.\n/usr\n/usr/bin\n/usr/bin/ltool\n", 0644);
    md5sums("wrapper", "wrapper\n", "usr/bin/tool");
    md5sums("orig", "original\n", "usr/bin/tool");
    md5sums("orig2", "orig2\n", "usr/bin/ltool");
    put("/var/lib/dpkg/diversions",
        "/usr/bin/tool\n/usr/bin/tool.real\nwrapper\n/usr/bin/ltool\n/usr/bin/ltool.orig\n:\n",
        0644);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return da_test_rmtree(root);
}

/* The lines of `dpkg --root=ROOT -S path`. */
static void dpkg_search(const char *path, char lines[][1024], size_t *n)
{
    char cmd[600];
    FILE *p;

    *n = 0;
    snprintf(cmd, sizeof(cmd), "dpkg --root='%s' -S '%s' 2>/dev/null", root, path);
    p = popen(cmd, "r");
    assert_non_null(p);
    while (*n < 16 && fgets(lines[*n], 1024, p) != NULL) {
        lines[*n][strcspn(lines[*n], "\n")] = '\0';
        (*n)++;
    }
    pclose(p);
}

/* The owner dpkg gives the file at path: the diverting package for a
 * diverted name; for a diversion's new name, the packages dpkg lists for
 * the original name but the diverting one; "" for a local diversion's
 * diverted name; "?" when dpkg knows none. */
static void dpkg_owner(const char *path, char *out, size_t n)
{
    char lines[16][1024], from[512] = "", by[256] = "";
    size_t nl, i;

    snprintf(out, n, "?");
    dpkg_search(path, lines, &nl);
    for (i = 0; i < nl; i++) {
        char a[256], b[512];

        if (sscanf(lines[i], "diversion by %255s from: %511s", a, b) == 2) {
            if (strcmp(b, path) == 0)
                snprintf(out, n, "%s", a);
            snprintf(from, sizeof(from), "%s", b);
        } else if (sscanf(lines[i], "local diversion from: %511s", b) == 1) {
            if (strcmp(b, path) == 0) {
                out[0] = '\0';
                return;
            }
            snprintf(from, sizeof(from), "%s", b);
        } else if (sscanf(lines[i], "diversion by %255s to: %511s", a, b) == 2 &&
                   strcmp(b, path) == 0) {
            snprintf(by, sizeof(by), "%s", a);
        } else if (strncmp(lines[i], "local diversion to: ", 20) == 0 &&
                   strcmp(lines[i] + 20, path) == 0) {
            snprintf(by, sizeof(by), ":");
        }
    }
    if (by[0] == '\0' || from[0] == '\0')
        return;
    /* "orig, wrapper: /usr/bin/tool" for the original name */
    dpkg_search(from, lines, &nl);
    for (i = 0; i < nl; i++) {
        char *colon = strstr(lines[i], ": /"), *save = NULL, *tok;

        if (colon == NULL || strstr(lines[i], "diversion") != NULL)
            continue;
        *colon = '\0';
        for (tok = strtok_r(lines[i], ", ", &save); tok != NULL; tok = strtok_r(NULL, ", ", &save))
            if (strcmp(tok, by) != 0)
                snprintf(out, n, "%s", tok);
    }
}

/* Does dpkg --verify report pkg's file at path as changed? */
static int dpkg_changed(const char *pkg, const char *path)
{
    char cmd[600], line[1024];
    int changed = 0;
    FILE *p;

    snprintf(cmd, sizeof(cmd), "dpkg --root='%s' --verify '%s' 2>/dev/null", root, pkg);
    p = popen(cmd, "r");
    assert_non_null(p);
    while (fgets(line, sizeof(line), p) != NULL)
        if (line[2] == '5' && strstr(line, path) != NULL)
            changed = 1;
    pclose(p);
    return changed;
}

static cJSON *collect(void)
{
    static const char *const tools[] = {"tool", "tool.real", "ltool", "ltool.orig"};
    static const struct col_config cfg = {
        .toolchain = tools, .n_toolchain = 4, .path_env = "/usr/bin"};
    struct col_ctx ctx;
    cJSON *doc = NULL;

    memset(&ctx, 0, sizeof(ctx));
    ctx.root = root;
    ctx.now = 1767225600;
    ctx.cfg = &cfg;
    ctx.ops = &col_root_ops;
    assert_int_equal(col_collect_evidence(&ctx, "toolchain", &doc), 0);
    return doc;
}

static cJSON *tool(cJSON *doc, const char *name)
{
    cJSON *it;

    cJSON_ArrayForEach(
        it, cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "toolchain"),
                                "tools")) if (strcmp(cJSON_GetObjectItem(it, "name")->valuestring,
                                                     name) == 0) return it;
    fail_msg("no tool %s", name);
    return NULL;
}

static void check_against_dpkg(void)
{
    static const char *const names[] = {"tool", "tool.real", "ltool", "ltool.orig"};
    cJSON *doc = collect();
    size_t i;

    for (i = 0; i < 4; i++) {
        char path[64], want[256];
        cJSON *t = tool(doc, names[i]), *pkg = cJSON_GetObjectItem(t, "package");
        cJSON *ver = cJSON_GetObjectItem(t, "package_verified");

        snprintf(path, sizeof(path), "/usr/bin/%s", names[i]);
        dpkg_owner(path, want, sizeof(want));
        if (want[0] == '\0') {
            /* local diversion: no package owns the administrator's file */
            assert_true(cJSON_IsObject(pkg));
            assert_string_equal(cJSON_GetObjectItem(pkg, "unknown")->valuestring, "not_present");
            assert_true(cJSON_IsObject(ver));
            continue;
        }
        if (!cJSON_IsString(pkg) || strcmp(pkg->valuestring, want) != 0)
            fail_msg("%s: owner %s, dpkg says %s", path,
                     cJSON_IsString(pkg) ? pkg->valuestring : "(none)", want);
        assert_true(cJSON_IsBool(ver));
        /* dpkg --verify checks the digest of the diverting package's file;
         * a diverted-away file it only checks for presence, which the
         * content of these fixtures (unchanged) agrees with */
        if (cJSON_IsTrue(ver) == dpkg_changed(want, path))
            fail_msg("%s: verified %d, dpkg --verify disagrees", path, cJSON_IsTrue(ver));
    }
    cJSON_Delete(doc);
}

static void test_diversions_follow_dpkg(void **state)
{
    (void)state;
    if (system("command -v dpkg >/dev/null 2>&1") != 0)
        skip();
    check_against_dpkg();
    /* the diverting package's file changed: dpkg --verify and we see it */
    put("/usr/bin/tool", "changed\n", 0755);
    check_against_dpkg();
    put("/usr/bin/tool", "wrapper\n", 0755);
}

/* The diverted-away file compared with its package's md5sums entry for the
 * original name: changed content is not verified (dpkg --verify checks only
 * that it is present there). */
static void test_diverted_away_file_changed(void **state)
{
    cJSON *doc;

    (void)state;
    put("/usr/bin/tool.real", "original, modified\n", 0755);
    doc = collect();
    assert_string_equal(cJSON_GetObjectItem(tool(doc, "tool.real"), "package")->valuestring,
                        "orig");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(tool(doc, "tool.real"), "package_verified")));
    cJSON_Delete(doc);
    put("/usr/bin/tool.real", "original\n", 0755);
}

static void test_bad_diversions_unknown(void **state)
{
    cJSON *doc, *pkg;

    (void)state;
    put("/var/lib/dpkg/diversions", "/usr/bin/tool\n/usr/bin/tool.real\n", 0644); /* truncated */
    doc = collect();
    pkg = cJSON_GetObjectItem(tool(doc, "tool"), "package");
    assert_true(cJSON_IsObject(pkg));
    assert_string_equal(cJSON_GetObjectItem(pkg, "unknown")->valuestring, "parse_error");
    cJSON_Delete(doc);
    put("/var/lib/dpkg/diversions",
        "/usr/bin/tool\n/usr/bin/tool.real\nwrapper\n/usr/bin/ltool\n/usr/bin/ltool.orig\n:\n",
        0644);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_diversions_follow_dpkg),
        cmocka_unit_test(test_diverted_away_file_changed),
        cmocka_unit_test(test_bad_diversions_unknown),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
