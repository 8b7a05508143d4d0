/* IMA runtime measurements end to end: the test writes a synthetic ima-ng
 * list the way the kernel prints it and extends swtpm's PCR 10 with each
 * entry (tpm2_pcrextend), the real agent reads the list from a file
 * (test_only_ima_file) and sends what the server has not replayed with its
 * quote, and the real server (TLS, SQLite, the shipped policy, an allowlist
 * of agent builds) replays it. Checked: a toolchain binary measured with
 * another digest than the collector reports, a tpm2_quote execution, an
 * entry removed, a modified agent binary, incremental sending over more
 * than ten reports, and a reboot (swtpm restarted: resetCount changes)
 * restarting the aggregate.
 *
 * One world for the group: the tests run in order. */
#include "da_test.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "agent_run.h"
#include "agent_test_dir.h"
#include "ima_build.h"
#include "server_harness.h"
#include "swtpm_harness.h"
#include "tmp_tree.h"

#define AGENT_BIN DA_BINARY_ROOT "/agent/devattest-agent"

struct world {
    struct da_test_swtpm tpm;
    struct da_test_server srv;
    char dir[300], conf[340], state[340], spool[340], list_path[340], allow[340];
    char agent_sha256[65];
    struct da_test_ima list;
    long long entries;     /* what the server holds after the last report */
    long long reset_count; /* the last report's quote */
    int reports;
};

/* sha256sum's digest of a file (the oracle for the agent binary and the
 * toolchain files). */
static int sha256sum(const char *path, char out[65])
{
    char cmd[600];
    FILE *p;
    int ok;

    snprintf(cmd, sizeof(cmd), "sha256sum '%s'", path);
    p = popen(cmd, "r");
    if (p == NULL)
        return -1;
    ok = fscanf(p, "%64s", out) == 1 && strlen(out) == 64;
    return pclose(p) == 0 && ok ? 0 : -1;
}

static int write_list(struct world *w, const unsigned char *data, size_t len)
{
    FILE *f = fopen(w->list_path, "wb");

    if (f == NULL)
        return -1;
    if (len > 0 && fwrite(data, 1, len, f) != len) {
        fclose(f);
        return -1;
    }
    return fclose(f);
}

/* Append one entry to the list and extend swtpm's PCR 10 with it. */
static void measure(struct world *w, const char *path, const char *sha256_hex)
{
    assert_int_equal(da_test_ima_add_sha256_hex(&w->list, path, sha256_hex), 0);
    assert_int_equal(da_test_ima_extend_last(&w->list, w->tpm.tcti, "sha256"), 0);
}

/* The agent's configuration (again after swtpm moved to another port). */
static int write_conf(const struct world *w)
{
    FILE *f = fopen(w->conf, "w");

    if (f == NULL)
        return -1;
    fprintf(f,
            "server_url = %s\nserver_ca = %s\ntcti = %s\nstate_dir = %s\nspool_dir = %s\n"
            "interval = 30s\njitter = 0s\nenvironment_role = build\nlog_level = info\n"
            "sandbox = enforce\ntest_only_ima_file = %s\nuser = " DA_TEST_AGENT_USER "\n",
            w->srv.base, w->srv.ca, w->tpm.tcti, w->state, w->spool, w->list_path);
    return fclose(f);
}

static int group_setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    char extra[PATH_MAX * 3];
    FILE *f;

    if (w == NULL || da_test_swtpm_start(&w->tpm) != 0)
        return -1;
    if (da_test_agent_dir(w->dir, sizeof(w->dir)) != 0)
        return -1;
    snprintf(w->allow, sizeof(w->allow), "%s/released-agents", w->dir);
    if (sha256sum(AGENT_BIN, w->agent_sha256) != 0 || (f = fopen(w->allow, "w")) == NULL)
        return -1;
    fprintf(f, "# released builds\n%s\n%064d\n", w->agent_sha256, 0);
    if (fclose(f) != 0)
        return -1;
    snprintf(extra, sizeof(extra),
             "ek_roots = %s\nrate_per_agent = 1000\nburst_per_agent = 1000\n"
             "policy_file = %s/common/policies/iso27001-2022-devenv.json\n"
             "ima_agent_allowlist = %s\n",
             w->tpm.ca_root, DA_SOURCE_ROOT, w->allow);
    if (da_test_server_setup(&w->srv, extra) != 0 || da_test_server_start(&w->srv) != 0)
        return -1;
    snprintf(w->conf, sizeof(w->conf), "%s/agent.conf", w->dir);
    snprintf(w->state, sizeof(w->state), "%s/state", w->dir);
    snprintf(w->spool, sizeof(w->spool), "%s/spool", w->dir);
    snprintf(w->list_path, sizeof(w->list_path), "%s/binary_runtime_measurements", w->dir);
    if (write_conf(w) != 0 || write_list(w, NULL, 0) != 0 || chmod(w->list_path, 0600) != 0)
        return -1;
    *state = w;
    return 0;
}

static int group_teardown(void **state)
{
    struct world *w = *state;

    if (w == NULL)
        return 0;
    (void)da_test_rmtree(w->dir);
    da_test_server_cleanup(&w->srv);
    da_test_swtpm_stop(&w->tpm);
    free(w);
    return 0;
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(o, key);

    return cJSON_IsString(v) ? v->valuestring : "";
}

/* A count the server wrote (an integer below 2^53). */
static long long num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(o, key);

    if (!cJSON_IsNumber(v))
        fail_msg("no number %s", key);
    return (long long)v->valuedouble;
}

/* One report; the server's stored report. */
static cJSON *report(struct world *w)
{
    char out[16384], path[256];
    struct da_test_http r;
    cJSON *j, *doc;
    const cJSON *id;
    int rc;

    rc = da_test_agent(out, sizeof(out), "report", "--config", w->conf, "--json", NULL);
    if (rc != 0 && rc != 4)
        fail_msg("report exited %d: %s", rc, out);
    j = cJSON_Parse(out);
    assert_non_null(j);
    id = cJSON_GetObjectItemCaseSensitive(j, "report_id");
    assert_true(cJSON_IsString(id));
    snprintf(path, sizeof(path), "/v1/reports/%s", id->valuestring);
    cJSON_Delete(j);
    assert_int_equal(da_test_http(&w->srv, "GET", path, w->srv.auditor, NULL, NULL, 0, &r), 0);
    if (r.status != 200)
        fail_msg("GET %s: %ld %s", path, r.status, r.body);
    doc = cJSON_Parse(r.body);
    da_test_http_clear(&r);
    assert_non_null(doc);
    w->reports++;
    return doc;
}

static const cJSON *check(const cJSON *doc, const char *id)
{
    const cJSON *c;

    cJSON_ArrayForEach(c, cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "verdict"), "checks"))
    {
        if (strcmp(str(c, "id"), id) == 0)
            return c;
    }
    fail_msg("no check %s", id);
    return NULL;
}

static void verdict_is(const cJSON *doc, const char *id, const char *verdict)
{
    const cJSON *c = check(doc, id);

    if (strcmp(str(c, "verdict"), verdict) != 0)
        fail_msg("%s: %s, expected %s (%s)", id, str(c, "verdict"), verdict,
                 cJSON_PrintUnformatted(c));
    assert_string_equal(str(c, "provenance"), "measured");
}

static const cJSON *ima_transcript(const cJSON *doc)
{
    const cJSON *t = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "transcript"), "ima");

    assert_non_null(t);
    return t;
}

/* A report whose increment replays: it was sent from what the server held
 * and took it to the list's length. */
static cJSON *report_replays(struct world *w)
{
    cJSON *doc;
    const cJSON *t;

    assert_int_equal(write_list(w, w->list.data, w->list.len), 0);
    doc = report(w);
    t = ima_transcript(doc);
    if (strcmp(str(t, "state"), "replays") != 0)
        fail_msg("ima: %s", cJSON_PrintUnformatted(t));
    assert_true(num(t, "from") == w->entries);
    assert_true(num(t, "entries") == (long long)w->list.entries);
    w->entries = num(t, "entries");
    w->reset_count =
        num(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "transcript"), "tpm"), "reset_count");
    verdict_is(doc, "ima.log-matches-quote", "pass");
    return doc;
}

static void test_enroll(void **state)
{
    struct world *w = *state;
    char token[128], out[8192], token_file[400];
    FILE *f;
    int rc;

    assert_int_equal(da_test_server_cli(&w->srv, token, sizeof(token), "token", "create",
                                        "--vendor", "acme", "--ttl", "1h", NULL),
                     0);
    snprintf(token_file, sizeof(token_file), "%s/token", w->dir);
    f = fopen(token_file, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", token);
    assert_int_equal(fclose(f), 0);
    rc = da_test_agent(out, sizeof(out), "enroll", "--config", w->conf, "--token-file", token_file,
                       "--ek-chain", w->tpm.ca_issuer, "--json", NULL);
    if (rc != 0)
        fail_msg("enroll exited %d: %s", rc, out);
}

/* What a tcb policy measures at boot, the agent's binary included. */
static void test_first_report(void **state)
{
    struct world *w = *state;
    cJSON *doc;
    const cJSON *f;

    measure(w, "boot_aggregate",
            "1111111111111111111111111111111111111111111111111111111111111111");
    measure(w, "/usr/lib/systemd/systemd",
            "2222222222222222222222222222222222222222222222222222222222222222");
    measure(w, "/usr/lib/x86_64-linux-gnu/libc.so.6",
            "3333333333333333333333333333333333333333333333333333333333333333");
    measure(w, "/etc/ld.so.cache",
            "4444444444444444444444444444444444444444444444444444444444444444");
    measure(w, "/usr/bin/bash", "5555555555555555555555555555555555555555555555555555555555555555");
    measure(w, "/usr/bin/devattest-agent", w->agent_sha256);
    doc = report_replays(w);
    verdict_is(doc, "ima.policy-coverage", "pass");
    verdict_is(doc, "ima.agent-build-released", "pass");
    verdict_is(doc, "ima.no-tpm-client-tools", "pass");
    verdict_is(doc, "ima.toolchain-measured", "pass");
    f = cJSON_GetObjectItem(ima_transcript(doc), "facts");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(f, "active")));
    assert_string_equal(str(cJSON_GetObjectItem(f, "coverage"), "policy"), "tcb");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(f, "agent"), "allowed")));
    cJSON_Delete(doc);
}

/* Two toolchain files the collector hashed: one measured with another
 * digest (the file the builds ran is not the one reported), one with the
 * digest sha256sum gives. */
static void test_toolchain_mismatch(void **state)
{
    struct world *w = *state;
    cJSON *doc = report_replays(w);
    const cJSON *tools, *t, *a = NULL, *b = NULL, *m;
    char real[65], forged[65], a_path[4096], a_sha[65], b_path[4096];

    tools = cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "evidence"), "toolchain"), "tools");
    cJSON_ArrayForEach(t, tools)
    {
        if (!cJSON_IsString(cJSON_GetObjectItem(t, "sha256")) ||
            !cJSON_IsString(cJSON_GetObjectItem(t, "realpath")))
            continue;
        if (a == NULL)
            a = t;
        else if (b == NULL && strcmp(str(t, "realpath"), str(a, "realpath")) != 0)
            b = t;
    }
    if (a == NULL || b == NULL)
        fail_msg("the evidence names fewer than two hashed toolchain files");
    assert_int_equal(sha256sum(str(b, "realpath"), real), 0);
    assert_string_equal(real, str(b, "sha256"));
    snprintf(forged, sizeof(forged), "%s", str(a, "sha256"));
    forged[0] = forged[0] == '0' ? '1' : '0';
    snprintf(a_path, sizeof(a_path), "%s", str(a, "realpath"));
    snprintf(a_sha, sizeof(a_sha), "%s", str(a, "sha256"));
    snprintf(b_path, sizeof(b_path), "%s", str(b, "realpath"));
    cJSON_Delete(doc); /* a and b go with it */
    measure(w, a_path, forged);
    measure(w, b_path, real);
    doc = report_replays(w);
    verdict_is(doc, "ima.toolchain-measured", "fail");
    assert_string_equal(str(check(doc, "ima.toolchain-measured"), "severity"), "critical");
    m = cJSON_GetObjectItem(cJSON_GetObjectItem(ima_transcript(doc), "facts"), "toolchain");
    /* one element per tool of the evidence (cc and gcc may share a file) */
    assert_true(cJSON_GetArraySize(m) >= 2);
    cJSON_ArrayForEach(t, m)
    {
        int is_a = strcmp(str(t, "path"), a_path) == 0;
        if (!is_a && strcmp(str(t, "path"), b_path) != 0)
            fail_msg("a toolchain file measured that the test did not: %s", str(t, "path"));
        char want[80];
        snprintf(want, sizeof(want), "sha256:%s", is_a ? forged : real);
        assert_string_equal(str(t, "measured"), want);
        assert_string_equal(str(t, "reported"), is_a ? a_sha : real);
        assert_true(cJSON_IsBool(cJSON_GetObjectItem(t, "matches")));
        assert_int_equal(cJSON_IsTrue(cJSON_GetObjectItem(t, "matches")), !is_a);
    }
    cJSON_Delete(doc);
}

/* A root user quoting with tpm2-tools: IMA measured tpm2_quote. The
 * toolchain mismatch stays: the server kept the measured digest although
 * this increment does not carry it. */
static void test_tpm_tool_flagged(void **state)
{
    struct world *w = *state;
    cJSON *doc;
    const cJSON *tools;

    measure(w, "/usr/bin/tpm2_quote",
            "6666666666666666666666666666666666666666666666666666666666666666");
    doc = report_replays(w);
    verdict_is(doc, "ima.no-tpm-client-tools", "fail");
    verdict_is(doc, "ima.toolchain-measured", "fail");
    tools = cJSON_GetObjectItem(cJSON_GetObjectItem(ima_transcript(doc), "facts"), "tpm_tools");
    assert_int_equal(cJSON_GetArraySize(tools), 1);
    assert_string_equal(cJSON_GetArrayItem(tools, 0)->valuestring, "/usr/bin/tpm2_quote");
    if (strstr(str(check(doc, "ima.no-tpm-client-tools"), "observed"), "tpm2_quote") == NULL)
        fail_msg("the check does not show the tool");
    cJSON_Delete(doc);
}

/* Two entries measured, the list sent without the first: the increment
 * does not extend to the quote; nothing is stored, and the whole list
 * replays again afterwards. */
static void test_entry_removed(void **state)
{
    struct world *w = *state;
    static unsigned char cut[1 << 20];
    size_t first, n;
    cJSON *doc;
    const cJSON *t;

    first = w->list.len;
    measure(w, "/usr/bin/curl", "7777777777777777777777777777777777777777777777777777777777777777");
    measure(w, "/usr/bin/wget", "8888888888888888888888888888888888888888888888888888888888888888");
    memcpy(cut, w->list.data, first);
    n = w->list.len - w->list.last_offset;
    memcpy(cut + first, w->list.data + w->list.last_offset, n);
    assert_int_equal(write_list(w, cut, first + n), 0);
    doc = report(w);
    t = ima_transcript(doc);
    assert_string_equal(str(t, "state"), "does_not_replay");
    assert_true(num(t, "from") == w->entries);
    assert_true(strlen(str(t, "base64")) > 0);
    verdict_is(doc, "ima.log-matches-quote", "fail");
    assert_string_equal(str(check(doc, "ima.log-matches-quote"), "severity"), "critical");
    cJSON_Delete(doc);
    doc = report_replays(w); /* from the same count: the failure stored nothing */
    cJSON_Delete(doc);
}

/* The agent binary measured again with a digest that is no released
 * build. */
static void test_agent_not_released(void **state)
{
    struct world *w = *state;
    cJSON *doc;

    measure(w, "/usr/bin/devattest-agent",
            "9999999999999999999999999999999999999999999999999999999999999999");
    doc = report_replays(w);
    verdict_is(doc, "ima.agent-build-released", "fail");
    cJSON_Delete(doc);
}

/* Each report carries only the entries after what the server acknowledged;
 * the last one none at all. */
static void test_incremental(void **state)
{
    struct world *w = *state;
    char path[64];
    cJSON *doc;

    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof(path), "/usr/bin/step%d", i);
        measure(w, path, "abababababababababababababababababababababababababababababababab");
        if (i % 2 == 0)
            measure(w, "/etc/hosts",
                    "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd");
        doc = report_replays(w);
        cJSON_Delete(doc);
    }
    doc = report_replays(w);
    assert_true(num(ima_transcript(doc), "from") == num(ima_transcript(doc), "entries"));
    cJSON_Delete(doc);
    assert_true(w->reports >= 10);
}

/* A reboot: the TPM's resetCount changes and PCR 10 starts from zero. The
 * agent sends its new list whole, the server starts a new aggregate, and
 * what it kept of the last boot (tpm2_quote, the toolchain mismatch) is
 * gone. */
static void test_reboot(void **state)
{
    struct world *w = *state;
    long long before = w->reset_count;
    cJSON *doc;

    assert_int_equal(da_test_swtpm_restart(&w->tpm), 0);
    assert_int_equal(write_conf(w), 0);
    memset(&w->list, 0, sizeof(w->list));
    w->entries = 0;
    measure(w, "boot_aggregate",
            "abcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcd");
    measure(w, "/usr/bin/devattest-agent", w->agent_sha256);
    doc = report_replays(w); /* from 0: the agent saw another boot */
    assert_true(w->reset_count > before);
    assert_true(num(ima_transcript(doc), "entries") == 2);
    verdict_is(doc, "ima.no-tpm-client-tools", "pass");
    verdict_is(doc, "ima.toolchain-measured", "pass");
    verdict_is(doc, "ima.agent-build-released", "pass");
    cJSON_Delete(doc);
    measure(w, "/usr/bin/make", "efefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefef");
    doc = report_replays(w);
    assert_true(num(ima_transcript(doc), "from") == 2);
    cJSON_Delete(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enroll),
        cmocka_unit_test(test_first_report),
        cmocka_unit_test(test_toolchain_mismatch),
        cmocka_unit_test(test_tpm_tool_flagged),
        cmocka_unit_test(test_entry_removed),
        cmocka_unit_test(test_agent_not_released),
        cmocka_unit_test(test_incremental),
        cmocka_unit_test(test_reboot),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
