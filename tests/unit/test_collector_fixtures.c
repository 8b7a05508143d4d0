/* Collectors against fake system roots built by tests/fixtures/build-roots.sh:
 * the evidence of each root must equal tests/fixtures/expected/<root>.json
 * (only collected_at is left out). Each root is collected twice with a state
 * directory, so the second run is served from the caches and must give the
 * same document. DA_FIXTURE_UPDATE=1 rewrites the expected files. */
#include "da_test.h"

#include <limits.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "collector.h"
#include "deb.h"
#include "err.h"
#include "tmp_tree.h"

#define FIXTURE_NOW 1767225600 /* NOW in build-roots.sh */

static char fixture_dir[200];

/* ---- probes of the "running machine" each root describes ---- */

static uint32_t fx_cpuid_ecx;
static char fx_cpuid_vendor[13];
static const char *fx_fscrypt_suffix;

static int fx_cpuid(uint32_t leaf, uint32_t regs[4])
{
    memset(regs, 0, 4 * sizeof(regs[0]));
    if (leaf == 1)
        regs[2] = fx_cpuid_ecx;
    if (leaf == 0x40000000u) {
        memcpy(&regs[1], fx_cpuid_vendor, 4);
        memcpy(&regs[2], fx_cpuid_vendor + 4, 4);
        memcpy(&regs[3], fx_cpuid_vendor + 8, 4);
    }
    return 0;
}

static int fx_fscrypt(int dirfd, const char *path)
{
    (void)dirfd;
    size_t n = strlen(path), m;

    if (fx_fscrypt_suffix == NULL)
        return 0;
    m = strlen(fx_fscrypt_suffix);
    return n >= m && strcmp(path + n - m, fx_fscrypt_suffix) == 0;
}

static int fx_clock(int *sync, long *max_error_us)
{
    *sync = 1;
    *max_error_us = 12000;
    return 0;
}

static int fx_nft_denied(struct da_buf *out)
{
    (void)out;
    return -EPERM;
}

/* A dump the kernel gave for tests/fixtures/nft/policy_drop.nft (loaded
 * with nft -f in a network namespace and read with col_live_ops). */
static int fx_nft_ruleset(struct da_buf *out)
{
    char path[512];
    FILE *f;
    unsigned char chunk[4096];
    size_t n;
    int r = 0;

    snprintf(path, sizeof(path), "%s/tests/fixtures/nft/policy_drop.dump", DA_SOURCE_ROOT);
    f = fopen(path, "rb");
    if (f == NULL)
        return -ENOENT;
    while (r == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        r = da_buf_append(out, chunk, n) == 0 ? 0 : -E2BIG;
    fclose(f);
    return r;
}

struct fixture {
    const char *name;
    uint32_t cpuid_ecx;
    char vendor[13];
    const char *fscrypt_suffix;
    int (*nft_dump)(struct da_buf *);
    int (*clock)(int *, long *);
    int with_cpuid;
};

static const struct fixture fixtures[] = {
    {"lvm_luks2", 0, "", NULL, fx_nft_denied, fx_clock, 1},
    {"plain_dmcrypt", 1u << 31, "KVMKVMKVM\0\0\0", NULL, fx_nft_ruleset, fx_clock, 1},
    {"opal_luks2", 0, "", NULL, NULL, NULL, 0},
    {"fscrypt_home", 0, "", "/home/alice", fx_nft_denied, fx_clock, 1},
    {"none_container", 0, "", NULL, fx_nft_denied, fx_clock, 1},
};

static const char *const fx_tools[] = {"cc", "gcc", "make", "ninja"};
static const char *const fx_patterns[] = {"*prod*", "123456789012", "Production*"};
static const char *const fx_cidrs[] = {"10.1.0.0/16", "10.9.0.0/16", "2001:db8::/32"};
static const char *const fx_src[] = {"/srv/src"};

static const struct col_config fx_config = {
    .toolchain = fx_tools,
    .n_toolchain = 4,
    .path_env = "/usr/local/bin:/usr/bin:/bin",
    .production_patterns = fx_patterns,
    .n_production_patterns = 3,
    .production_cidrs = fx_cidrs,
    .n_production_cidrs = 3,
    .role = "development",
    .source_dirs = fx_src,
    .n_source_dirs = 1,
};

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *s;
    long n;

    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    s = calloc(1, (size_t)n + 1);
    if (s != NULL && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    fclose(f);
    return s;
}

static cJSON *collect_root(const struct fixture *fx, const char *state_dir)
{
    static struct col_sys_ops ops;
    struct col_ctx ctx;
    char root[1024];
    cJSON *doc = NULL;

    snprintf(root, sizeof(root), "%s/%s", fixture_dir, fx->name);
    fx_cpuid_ecx = fx->cpuid_ecx;
    memcpy(fx_cpuid_vendor, fx->vendor, 12);
    fx_cpuid_vendor[12] = '\0';
    fx_fscrypt_suffix = fx->fscrypt_suffix;
    memset(&ops, 0, sizeof(ops));
    ops.cpuid = fx->with_cpuid ? fx_cpuid : NULL;
    ops.fscrypt_dir = fx_fscrypt;
    ops.clock = fx->clock;
    ops.nft_dump = fx->nft_dump;
    memset(&ctx, 0, sizeof(ctx));
    ctx.root = root;
    ctx.state_dir = state_dir;
    ctx.now = FIXTURE_NOW;
    ctx.cfg = &fx_config;
    ctx.ops = &ops;
    assert_int_equal(col_collect_evidence(&ctx, NULL, &doc), 0);
    cJSON_DeleteItemFromObject(doc, "collected_at");
    return doc;
}

#define DAY 86400

/* lvm_luks2 starts with a first-seen record: openssl's candidate was seen 8
 * days before NOW, the other entries are no longer pending. */
static void seed_first_seen(const struct fixture *fx, const char *state)
{
    char path[600];
    FILE *f;

    if (strcmp(fx->name, "lvm_luks2") != 0)
        return;
    snprintf(path, sizeof(path), "%s/pending.seen", state);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "devattest-pending-seen 1\nroot %s/%s\n"
            "seen gone 1.0 %d\nseen openssl 3.0.11-1~deb12u3 %d\n"
            "seen openssl 3.0.13-1~deb12u1 %d\nend\n",
            fixture_dir, fx->name, FIXTURE_NOW - 30 * DAY, FIXTURE_NOW - 20 * DAY,
            FIXTURE_NOW - 8 * DAY);
    fclose(f);
}

/* After a collection the record holds exactly what is pending. */
static void check_first_seen(const struct fixture *fx, const char *state)
{
    char path[600], want[1200];
    char *got;

    if (strcmp(fx->name, "lvm_luks2") != 0)
        return;
    snprintf(path, sizeof(path), "%s/pending.seen", state);
    got = read_text(path);
    assert_non_null(got);
    snprintf(want, sizeof(want),
             "devattest-pending-seen 1\nroot %s/%s\nseen libfoo1 1:2.1-1 %d\n"
             "seen openssl 3.0.13-1~deb12u1 %d\nend\n",
             fixture_dir, fx->name, FIXTURE_NOW, FIXTURE_NOW - 8 * DAY);
    assert_string_equal(got, want);
    free(got);
}

static void check_fixture(const struct fixture *fx)
{
    char expected_path[1024], state[200];
    cJSON *cold, *warm, *expected;
    char *text, *want;

    assert_int_equal(da_test_tmpdir("da-fx-state", state, sizeof(state)), 0);
    seed_first_seen(fx, state);
    cold = collect_root(fx, state);
    check_first_seen(fx, state);
    warm = collect_root(fx, state);
    check_first_seen(fx, state);
    text = cJSON_Print(cold);
    assert_non_null(text);
    snprintf(expected_path, sizeof(expected_path), "%s/tests/fixtures/expected/%s.json",
             DA_SOURCE_ROOT, fx->name);
    if (getenv("DA_FIXTURE_UPDATE") != NULL) {
        FILE *f = fopen(expected_path, "w");

        assert_non_null(f);
        fprintf(f, "%s\n", text);
        fclose(f);
    }
    want = read_text(expected_path);
    assert_non_null(want);
    expected = cJSON_Parse(want);
    assert_non_null(expected);
    if (!cJSON_Compare(cold, expected, 1))
        fail_msg("%s: evidence differs from %s:\n%s", fx->name, expected_path, text);
    if (!cJSON_Compare(cold, warm, 1))
        fail_msg("%s: evidence served from the caches differs from a cold collection", fx->name);
    assert_int_equal(da_test_rmtree(state), 0);
    free(text);
    free(want);
    cJSON_Delete(expected);
    cJSON_Delete(cold);
    cJSON_Delete(warm);
}

static void test_lvm_luks2(void **state)
{
    (void)state;
    check_fixture(&fixtures[0]);
}

static void test_plain_dmcrypt(void **state)
{
    (void)state;
    check_fixture(&fixtures[1]);
}

static void test_opal_luks2(void **state)
{
    (void)state;
    check_fixture(&fixtures[2]);
}

static void test_fscrypt_home(void **state)
{
    (void)state;
    check_fixture(&fixtures[3]);
}

static void test_none_container(void **state)
{
    (void)state;
    check_fixture(&fixtures[4]);
}

/* A file in the cache that is not ours is ignored, never trusted. */
static void test_corrupt_cache_ignored(void **state)
{
    char st[200], fresh[200], path[256];
    cJSON *a, *b;
    FILE *f;

    (void)state;
    assert_int_equal(da_test_tmpdir("da-fx-state", st, sizeof(st)), 0);
    assert_int_equal(da_test_tmpdir("da-fx-state", fresh, sizeof(fresh)), 0);
    a = collect_root(&fixtures[0], fresh);
    snprintf(path, sizeof(path), "%s/patches.cache", st);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("root /\npending evil 1 2 3 1\n", f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/toolchain.cache", st);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("devattest-toolchain-cache 1\nf 1 2 3\nend\n", f);
    fclose(f);
    b = collect_root(&fixtures[0], st);
    assert_true(cJSON_Compare(a, b, 1));
    assert_int_equal(da_test_rmtree(st), 0);
    assert_int_equal(da_test_rmtree(fresh), 0);
    cJSON_Delete(a);
    cJSON_Delete(b);
}

static void test_unknown_area(void **state)
{
    struct col_ctx ctx;
    cJSON *doc = NULL;

    (void)state;
    memset(&ctx, 0, sizeof(ctx));
    ctx.root = fixture_dir;
    ctx.cfg = &fx_config;
    ctx.ops = &col_root_ops;
    assert_int_equal(col_collect_evidence(&ctx, "host,nope", &doc), DA_ERR_COLLECT_UNKNOWN_AREA);
    assert_null(doc);
    assert_int_equal(col_collect_evidence(&ctx, "", &doc), DA_ERR_COLLECT_UNKNOWN_AREA);
    assert_int_equal(col_collect_evidence(&ctx, "host", &doc), 0);
    assert_non_null(cJSON_GetObjectItem(doc, "host"));
    assert_null(cJSON_GetObjectItem(doc, "patches"));
    cJSON_Delete(doc);
}

/* The agent's collect command on a fixture root: exit codes and output. */
static void test_agent_cli(void **state)
{
    char cmd[2048], out[256];
    cJSON *doc;
    char *text;

    (void)state;
    /* In the roots' directory, removed with it. */
    snprintf(out, sizeof(out), "%s/cli-out.json", fixture_dir);
    snprintf(cmd, sizeof(cmd),
             "'%s/agent/devattest-agent' collect --root '%s/lvm_luks2/' --only disk,host "
             "--no-cache --pretty >'%s'",
             DA_BINARY_ROOT, fixture_dir, out);
    assert_int_equal(system(cmd), 0);
    text = read_text(out);
    assert_non_null(text);
    doc = cJSON_Parse(text);
    assert_non_null(doc);
    assert_string_equal(cJSON_GetObjectItem(doc, "schema")->valuestring, "devattest.evidence/v1");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "host"), "machine_id")->valuestring,
        "0123456789abcdef0123456789abcdef");
    assert_null(cJSON_GetObjectItem(doc, "patches"));
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "agent"), "version")->valuestring, DA_VERSION);
    assert_int_equal(
        strlen(
            cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "agent"), "binary_sha256")->valuestring),
        64);
    cJSON_Delete(doc);
    free(text);
    /* canonical output of a root whose hostname is not UTF-8 */
    snprintf(cmd, sizeof(cmd),
             "'%s/agent/devattest-agent' collect --root '%s/none_container' --no-cache "
             "| grep -q '\"hostname\":\"bad\xef\xbf\xbdname\"'",
             DA_BINARY_ROOT, fixture_dir);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof(cmd), "'%s/agent/devattest-agent' collect --only nope 2>/dev/null",
             DA_BINARY_ROOT);
    assert_int_equal(WEXITSTATUS(system(cmd)), 2);
    snprintf(cmd, sizeof(cmd), "'%s/agent/devattest-agent' collect extra 2>/dev/null",
             DA_BINARY_ROOT);
    assert_int_equal(WEXITSTATUS(system(cmd)), 2);
    snprintf(cmd, sizeof(cmd), "'%s/agent/devattest-agent' collect --help | grep -q 'exit codes'",
             DA_BINARY_ROOT);
    assert_int_equal(system(cmd), 0);
    /* the help names every area --only accepts */
    for (size_t i = 0; i < col_collector_count; i++) {
        snprintf(cmd, sizeof(cmd), "'%s/agent/devattest-agent' collect --help | grep -qw -- '%s'",
                 DA_BINARY_ROOT, col_collectors[i]->name);
        if (system(cmd) != 0)
            fail_msg("collect --help does not name the area %s", col_collectors[i]->name);
    }
    snprintf(cmd, sizeof(cmd), "'%s/agent/devattest-agent' --version >/dev/null", DA_BINARY_ROOT);
    assert_int_equal(system(cmd), 0);
    unlink(out);
}

static int build_roots(void **state)
{
    char cmd[1200];

    (void)state;
    if (da_test_tmpdir("da-fixtures", fixture_dir, sizeof(fixture_dir)) != 0)
        return -1;
    snprintf(cmd, sizeof(cmd), "bash '%s/tests/fixtures/build-roots.sh' '%s' >/dev/null",
             DA_SOURCE_ROOT, fixture_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int remove_roots(void **state)
{
    (void)state;
    return da_test_rmtree(fixture_dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lvm_luks2),      cmocka_unit_test(test_plain_dmcrypt),
        cmocka_unit_test(test_opal_luks2),     cmocka_unit_test(test_fscrypt_home),
        cmocka_unit_test(test_none_container), cmocka_unit_test(test_corrupt_cache_ignored),
        cmocka_unit_test(test_unknown_area),   cmocka_unit_test(test_agent_cli),
    };

    return cmocka_run_group_tests(tests, build_roots, remove_roots);
}
