/* The collector process keeps its state files through the parent: it reads
 * them from the state directory itself, and every write goes to the parent
 * as AGENT_MSG_STATE_PUT, which writes only the collector's own file names.
 * Runs the collector child as the agent does, on a fixture root built by
 * tests/fixtures/build-roots.sh, with a temporary state directory. */
#include "da_test.h"

#include <limits.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "agent_config.h"
#include "child.h"
#include "collector.h"
#include "err.h"
#include "fields.h"
#include "privsep.h"
#include "privsep_internal.h"
#include "tmp_tree.h"
#include "picky.h"

static char fixture_dir[512];

static const char *const state_files[] = {"patches.cache", "pending.seen", "toolchain.cache",
                                          "agent.cache"};
#define N_STATE (sizeof(state_files) / sizeof(state_files[0]))

static void rm_rf(const char *dir)
{
    assert_int_equal(da_test_rmtree(dir), 0);
}

static int count_entries(const char *dir)
{
    char cmd[700];
    FILE *p;
    int n = -1;

    snprintf(cmd, sizeof(cmd), "ls -A '%s' | wc -l", dir);
    p = popen(cmd, "r");
    if (p == NULL)
        return -1;
    if (fscanf(p, "%d", &n) != 1)
        n = -1;
    pclose(p);
    return n;
}

/* One cycle of the collector child: spawn, COLLECT, stop. */
static cJSON *collect_once(const char *state, const char *root)
{
    struct agent_config cfg;
    struct agent_child child;
    struct da_buf ev;
    cJSON *doc;

    assert_int_equal(agent_config_defaults(&cfg), 0);
    snprintf(cfg.state_dir, sizeof(cfg.state_dir), "%s", state);
#ifdef DA_SANITIZE
    cfg.sandbox = AGENT_SANDBOX_LOG; /* the sanitizers' own calls at exit */
#else
    cfg.sandbox = AGENT_SANDBOX_ENFORCE;
#endif
    assert_int_equal(agent_collector_spawn(&cfg, root, &child), 0);
    da_buf_init(&ev, 0);
    assert_int_equal(agent_collector_collect(&child, "patches,toolchain", &ev), 0);
    assert_int_equal(child.state_refused, 0);
    assert_int_equal(agent_child_stop(&child, 10000, NULL), 0);
    doc = cJSON_ParseWithLength((const char *)da_buf_data(&ev), da_buf_len(&ev));
    assert_non_null(doc);
    da_buf_free(&ev);
    agent_config_free(&cfg);
    return doc;
}

/* Remove age_s from the pending updates of both documents after checking
 * that each warm age is the cold one plus at most `elapsed` seconds. */
static void strip_ages(cJSON *cold, cJSON *warm, double elapsed)
{
    cJSON *pc = cJSON_GetObjectItem(cJSON_GetObjectItem(cold, "patches"), "pending");
    cJSON *pw = cJSON_GetObjectItem(cJSON_GetObjectItem(warm, "patches"), "pending");
    int i, n = cJSON_GetArraySize(pc);

    assert_int_equal(cJSON_GetArraySize(pw), n);
    for (i = 0; i < n; i++) {
        cJSON *a = cJSON_GetObjectItem(cJSON_GetArrayItem(pc, i), "age_s");
        cJSON *b = cJSON_GetObjectItem(cJSON_GetArrayItem(pw, i), "age_s");

        assert_true(cJSON_IsNumber(a) && cJSON_IsNumber(b));
        assert_true(b->valuedouble >= a->valuedouble);
        assert_true(b->valuedouble - a->valuedouble <= elapsed);
        cJSON_DeleteItemFromObject(cJSON_GetArrayItem(pc, i), "age_s");
        cJSON_DeleteItemFromObject(cJSON_GetArrayItem(pw, i), "age_s");
    }
    /* the age of the newest apt list is computed at each collection too */
    pc = cJSON_GetObjectItem(cJSON_GetObjectItem(cold, "patches"), "lists_age_s");
    pw = cJSON_GetObjectItem(cJSON_GetObjectItem(warm, "patches"), "lists_age_s");
    assert_true(cJSON_IsNumber(pc) && cJSON_IsNumber(pw));
    assert_true(pw->valuedouble >= pc->valuedouble);
    assert_true(pw->valuedouble - pc->valuedouble <= elapsed);
    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(cold, "patches"), "lists_age_s");
    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(warm, "patches"), "lists_age_s");
}

static void test_state_through_parent(void **unused)
{
    char state[200], root[600], path[700];
    struct stat first[N_STATE], again;
    cJSON *cold, *warm, *pending, *item;
    size_t i;
    int n_security = 0;
    time_t t_cold;

    (void)unused;
    assert_int_equal(da_test_tmpdir("da-colstate", state, sizeof(state)), 0);
    snprintf(root, sizeof(root), "%s/lvm_luks2", fixture_dir);
    t_cold = time(NULL);
    cold = collect_once(state, root);
    for (i = 0; i < N_STATE; i++) {
        snprintf(path, sizeof(path), "%s/%s", state, state_files[i]);
        if (stat(path, &first[i]) != 0)
            fail_msg("%s was not written after the first cycle", path);
        assert_int_equal(first[i].st_mode & 0777, 0600);
    }
    pending = cJSON_GetObjectItem(cJSON_GetObjectItem(cold, "patches"), "pending");
    assert_true(cJSON_IsArray(pending));
    assert_true(cJSON_GetArraySize(pending) > 0);
    cJSON_ArrayForEach(item, pending)
    {
        cJSON *age = cJSON_GetObjectItem(item, "age_s");

        if (!cJSON_IsNumber(age))
            fail_msg("a pending update has no age: %s", cJSON_PrintUnformatted(item));
        assert_true(age->valuedouble >= 0 && age->valuedouble < 3600);
        n_security += cJSON_IsTrue(cJSON_GetObjectItem(item, "security"));
    }
    assert_true(n_security > 0);

    /* The second cycle is served from the caches: no file is replaced (each
     * write is a rename, so a rewrite would change the inode). */
    warm = collect_once(state, root);
    for (i = 0; i < N_STATE; i++) {
        snprintf(path, sizeof(path), "%s/%s", state, state_files[i]);
        assert_int_equal(stat(path, &again), 0);
        if (again.st_ino != first[i].st_ino || again.st_mtim.tv_nsec != first[i].st_mtim.tv_nsec ||
            again.st_mtim.tv_sec != first[i].st_mtim.tv_sec)
            fail_msg("%s was rewritten by the second cycle", path);
    }
    /* The ages are computed at each collection from the same first-seen
     * times: the two cycles may fall in different seconds, so the ages are
     * compared with the time that passed and then left out of the rest. */
    strip_ages(cold, warm, (double)(time(NULL) - t_cold) + 1.0);
    assert_true(cJSON_Compare(cJSON_GetObjectItem(cold, "patches"),
                              cJSON_GetObjectItem(warm, "patches"), 1));
    assert_true(cJSON_Compare(cJSON_GetObjectItem(cold, "toolchain"),
                              cJSON_GetObjectItem(warm, "toolchain"), 1));
    assert_int_equal(count_entries(state), (int)N_STATE); /* no temporary left */
    cJSON_Delete(cold);
    cJSON_Delete(warm);
    rm_rf(state);
}

/* A forged collector: sends one STATE_PUT with the given name, then a valid
 * answer (which the parent must never get to). */
static int forged_main(int fd, void *arg)
{
    const char *name = arg;
    struct da_buf b;
    int r;

    da_buf_init(&b, 4096);
    r = agent_ipc_send(fd, AGENT_MSG_READY, NULL, 0);
    /* wait for the request */
    if (r == 0) {
        unsigned char hdr[64];

        r = read(fd, hdr, sizeof(hdr)) > 0 ? 0 : 1;
    }
    if (r == 0)
        r = agent_fields_put_str(&b, name);
    if (r == 0)
        r = agent_fields_put_str(&b, "forged content\n");
    if (r == 0)
        r = agent_ipc_send(fd, AGENT_MSG_STATE_PUT, da_buf_data(&b), da_buf_len(&b));
    da_buf_reset(&b);
    if (r == 0)
        r = agent_fields_put_str(&b, "{}");
    if (r == 0)
        r = agent_ipc_send(fd, AGENT_MSG_COLLECT_OK, da_buf_data(&b), da_buf_len(&b));
    da_buf_free(&b);
    pause();
    return r == 0 ? 0 : 1;
}

static void forge(const char *name)
{
    char top[200], state[600], path[700];
    struct agent_child child;
    struct da_buf ev;

    assert_int_equal(da_test_tmpdir("da-colforge", top, sizeof(top)), 0);
    snprintf(state, sizeof(state), "%s/state", top);
    assert_int_equal(mkdir(state, 0700), 0);
    assert_int_equal(
        agent_child_spawn("collector", forged_main, (void *)DA_UNCONST(name), NULL, 0, &child), 0);
    child.state_dir = state;
    da_buf_init(&ev, 0);
    assert_int_equal(agent_privsep_wait_ready(&child), 0);
    assert_int_equal(agent_collector_collect(&child, "", &ev), DA_ERR_IPC);
    assert_int_equal(child.state_refused, 1);
    assert_int_equal(child.pid, -1); /* killed and reaped */
    assert_int_equal(da_buf_len(&ev), 0);
    assert_int_equal(count_entries(state), 0);
    assert_int_equal(count_entries(top), 1); /* only state/: "../x" was not written */
    snprintf(path, sizeof(path), "%s/%s", state, name);
    if (name[0] != '\0')
        assert_int_equal(access(path, F_OK), -1);
    da_buf_free(&ev);
    agent_child_kill(&child);
    rm_rf(top);
}

static void test_forged_names_refused(void **unused)
{
    (void)unused;
    forge("../x");
    forge("ak.key");
    forge("status.json");
    forge("");
    forge("patches.cache/");
}

static int build_roots(void **unused)
{
    char cmd[1200];

    (void)unused;
    if (da_test_tmpdir("da-colstate-roots", fixture_dir, sizeof(fixture_dir)) != 0)
        return -1;
    snprintf(cmd, sizeof(cmd), "bash '%s/tests/fixtures/build-roots.sh' '%s' >/dev/null",
             DA_SOURCE_ROOT, fixture_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int remove_roots(void **unused)
{
    (void)unused;
    rm_rf(fixture_dir);
    return 0;
}

/* An rpm root in the sandboxed collector: librpm and SQLite read the
 * database under the collector's seccomp filter and namespaces. */
static void test_rpm_root_sandboxed(void **unused)
{
    char state[200], root[600], cmd[4000];
    cJSON *doc, *pending, *tools, *t;
    int owned = 0;

    (void)unused;
    snprintf(root, sizeof(root), "%s/rpm", fixture_dir);
    snprintf(cmd, sizeof(cmd),
             "cp -a '%s/lvm_luks2' '%s' && rm -rf '%s/var/lib/dpkg' && "
             "bash '%s/tests/fixtures/build-rpm-root.sh' '%s' '%s/rpm-repos'",
             fixture_dir, root, root, DA_SOURCE_ROOT, root, fixture_dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(da_test_tmpdir("da-colstate-rpm", state, sizeof(state)), 0);
    doc = collect_once(state, root);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "patches"), "manager")->valuestring, "rpm");
    assert_int_equal(
        (int)cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "patches"), "installed_count")
            ->valuedouble,
        14);
    pending = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "patches"), "pending");
    if (!cJSON_IsArray(pending))
        fail_msg("pending: %s", cJSON_PrintUnformatted(pending));
    assert_int_equal(cJSON_GetArraySize(pending), 6);
    tools = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "toolchain"), "tools");
    cJSON_ArrayForEach(t, tools)
    {
        const cJSON *pkg = cJSON_GetObjectItem(t, "package");

        if (cJSON_IsString(pkg)) {
            assert_true(cJSON_IsBool(cJSON_GetObjectItem(t, "package_verified")));
            owned++;
        }
    }
    assert_true(owned >= 2); /* gcc (and cc, a link to it) and make */
    cJSON_Delete(doc);
    rm_rf(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_through_parent),
        cmocka_unit_test(test_forged_names_refused),
        cmocka_unit_test(test_rpm_root_sandboxed),
    };

    return cmocka_run_group_tests(tests, build_roots, remove_roots);
}
