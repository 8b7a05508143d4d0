/* devattest-verify bundle against bundles made with real parts: two swtpm
 * machines enrolled by the agent binary at a real server over TLS, receipts
 * the server issued for their reports, quotes and SK signatures from the
 * TPMs (tests/support/bundle_build.c). Every tampering fails with its own
 * code; an independent verifier (tests/integration/bundle-oracle: Python,
 * the openssl command line, tpm2_checkquote) agrees with the good bundle.
 *
 * One world for the group: the tests run in order. */
#include "da_test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "agent_run.h"
#include "agent_test_dir.h"
#include "bundle.h"
#include "bundle_build.h"
#include "encoding.h"
#include "picky.h"
#include "server_harness.h"
#include "swtpm_harness.h"
#include "tmp_tree.h"

#define VERIFY_BIN DA_BINARY_ROOT "/server/devattest-verify"
#define ORACLE     DA_SOURCE_ROOT "/tests/integration/bundle-oracle"
#define LOCAL_TSA  DA_SOURCE_ROOT "/tests/integration/local-tsa"

#define T_SPDX  "https://spdx.dev/Document/v2.3"
#define T_TESTS "https://in-toto.io/attestation/test-result/v0.1"
#define T_SCAN  DA_SCAN_PREDICATE_TYPE
#define T_SLSA  "https://slsa.dev/provenance/v1"

struct machine {
    struct da_test_swtpm tpm;
    char dir[192], conf[256], state[256], spool[256], agent_id[64];
    struct bb_signer signer;
};

struct receipt {
    cJSON *envelope;
    cJSON *evidence;
    char evidence_sha256[65];
    int64_t issued, until;
};

struct world {
    struct machine m[2];
    struct da_test_server srv;
    char work[128], artifact[256], keys[256], pass_policy[256], fail_policy[256], roots[256];
    struct receipt good, noncompliant;
    cJSON *subjects, *other_subjects;
    cJSON *preds[4];
    const char *types[4];
};

static struct world *W;

/* --- files and processes ------------------------------------------------ */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static void write_lines(const char *path, char **lines, size_t n)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s\n", lines[i]);
    assert_int_equal(fclose(f), 0);
}

/* Run argv (NULL-terminated); stdout and stderr into out. Exit status. */
static int run(char *out, size_t size, const char *const *argv)
{
    int p[2], status;
    size_t got = 0;
    pid_t pid;

    assert_int_equal(pipe(p), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(p[1], 1);
        dup2(p[1], 2);
        close(p[0]);
        close(p[1]);
        execv(argv[0], (char *const *)DA_UNCONST(argv));
        _exit(127);
    }
    close(p[1]);
    for (;;) {
        ssize_t r = read(p[0], out + got, got + 1 < size ? size - got - 1 : 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    out[got] = '\0';
    close(p[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* devattest-verify bundle PATH --ca CA --keys KEYS [extra...]. */
static int verify(struct world *w, const char *bundle, char *out, size_t size, ...)
{
    const char *argv[32];
    int n = 0;
    va_list ap;

    argv[n++] = VERIFY_BIN;
    argv[n++] = "bundle";
    argv[n++] = bundle;
    argv[n++] = "--ca";
    argv[n++] = w->srv.ca;
    argv[n++] = "--keys";
    argv[n++] = w->keys;
    va_start(ap, size);
    while (n < 31 && (argv[n] = va_arg(ap, const char *)) != NULL)
        n++;
    va_end(ap);
    argv[n] = NULL;
    return run(out, size, argv);
}

/* The verifier refused with exactly this failure, in this check. */
static void expect_failure(const char *out, int rc, const char *check, const char *code)
{
    char want[128];

    snprintf(want, sizeof(want), "%-18s FAIL %s:", check, code);
    if (rc != 1 || strstr(out, want) == NULL || strstr(out, "NOT verified") == NULL)
        fail_msg("expected exit 1 with \"%s\", got %d:\n%s", want, rc, out);
}

/* --- server and agents --------------------------------------------------- */

static cJSON *http_json(struct world *w, const char *method, const char *path, const char *token,
                        const char *body)
{
    struct da_test_http r;
    cJSON *doc;

    if (da_test_http(&w->srv, method, path, token, body != NULL ? "application/json" : NULL, body,
                     body != NULL ? strlen(body) : 0, &r) != 0)
        return NULL;
    doc = r.status / 100 == 2 ? cJSON_Parse(r.body) : NULL;
    if (doc == NULL)
        fprintf(stderr, "%s %s: %ld %s\n", method, path, r.status, r.body);
    da_test_http_clear(&r);
    return doc;
}

/* The agent's configuration (again after the server moved to a new port). */
static int write_conf(struct world *w, struct machine *m)
{
    FILE *f = fopen(m->conf, "w");

    if (f == NULL)
        return -1;
    fprintf(f,
            "server_url = %s\nserver_ca = %s\ntcti = %s\nstate_dir = %s\nspool_dir = %s\n"
            "environment_role = build\nlog_level = warn\nsandbox = enforce\nuser = %s\n",
            w->srv.base, w->srv.ca, m->tpm.tcti, m->state, m->spool, DA_TEST_AGENT_USER);
    return fclose(f) == 0 ? 0 : -1;
}

static int machine_setup(struct world *w, struct machine *m, const char *vendor)
{
    char token[128], out[16384], token_file[300];
    cJSON *j;
    FILE *f;
    int rc;

    if (da_test_agent_dir(m->dir, sizeof(m->dir)) != 0)
        return -1;
    snprintf(m->conf, sizeof(m->conf), "%s/agent.conf", m->dir);
    snprintf(m->state, sizeof(m->state), "%s/state", m->dir);
    snprintf(m->spool, sizeof(m->spool), "%s/spool", m->dir);
    if (write_conf(w, m) != 0)
        return -1;
    if (da_test_server_cli(&w->srv, token, sizeof(token), "token", "create", "--vendor", vendor,
                           "--ttl", "1h", NULL) != 0) {
        fprintf(stderr, "token create --vendor %s failed\n", vendor);
        return -1;
    }
    snprintf(token_file, sizeof(token_file), "%s/token", m->dir);
    f = fopen(token_file, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "%s\n", token);
    if (fclose(f) != 0)
        return -1;
    rc = da_test_agent(out, sizeof(out), "enroll", "--config", m->conf, "--token-file", token_file,
                       "--ek-chain", m->tpm.ca_issuer, "--json", NULL);
    j = rc == 0 ? cJSON_Parse(out) : NULL;
    if (j == NULL) {
        fprintf(stderr, "enroll exited %d: %s\n", rc, out);
        return -1;
    }
    snprintf(m->agent_id, sizeof(m->agent_id), "%s",
             cJSON_GetStringValue(cJSON_GetObjectItem(j, "agent_id")));
    cJSON_Delete(j);
    m->signer.state_dir = m->state;
    m->signer.tcti = m->tpm.tcti;
    m->signer.agent_id = m->agent_id;
    return 0;
}

static int64_t receipt_time(const cJSON *payload, const char *key)
{
    int64_t t = 0;

    if (da_time_rfc3339_parse(cJSON_GetStringValue(cJSON_GetObjectItem(payload, key)), &t) != 0)
        return -1;
    return t;
}

/* One report by machine m; its receipt and evidence from the server. */
static int report(struct world *w, struct machine *m, struct receipt *r)
{
    char out[16384], path[160];
    struct da_buf payload;
    cJSON *j, *rep, *pl = NULL;
    const cJSON *env;
    int rc = da_test_agent(out, sizeof(out), "report", "--config", m->conf, "--json", NULL);

    j = cJSON_Parse(out);
    if ((rc != 0 && rc != 4) || j == NULL) {
        fprintf(stderr, "report exited %d: %s\n", rc, out);
        cJSON_Delete(j);
        return -1;
    }
    snprintf(path, sizeof(path), "/v1/reports/%s",
             cJSON_GetStringValue(cJSON_GetObjectItem(j, "report_id")));
    cJSON_Delete(j);
    rep = http_json(w, "GET", path, w->srv.auditor, NULL);
    if (rep == NULL)
        return -1;
    r->envelope = cJSON_DetachItemFromObject(rep, "receipt");
    r->evidence = cJSON_DetachItemFromObject(rep, "evidence");
    snprintf(r->evidence_sha256, sizeof(r->evidence_sha256), "%s",
             cJSON_GetStringValue(cJSON_GetObjectItem(rep, "evidence_sha256")));
    cJSON_Delete(rep);
    env = r->envelope;
    da_buf_init(&payload, 1u << 20);
    rc = da_base64_decode(cJSON_GetStringValue(cJSON_GetObjectItem(env, "payload")),
                          strlen(cJSON_GetStringValue(cJSON_GetObjectItem(env, "payload"))),
                          DA_BASE64_STD, &payload);
    if (rc == 0 && da_buf_append(&payload, "", 1) == 0)
        pl = cJSON_Parse((const char *)da_buf_data(&payload));
    da_buf_free(&payload);
    r->issued = receipt_time(pl, "issued_at");
    r->until = receipt_time(pl, "valid_until");
    cJSON_Delete(pl);
    return r->envelope != NULL && r->evidence != NULL && r->issued > 0 ? 0 : -1;
}

static int save_keys(struct world *w)
{
    cJSON *keys = http_json(w, "GET", "/v1/keys", NULL, NULL);
    char *text = keys != NULL ? cJSON_Print(keys) : NULL;
    FILE *f = text != NULL ? fopen(w->keys, "w") : NULL;
    int rc = f != NULL && fputs(text, f) >= 0 ? 0 : -1;

    if (f != NULL && fclose(f) != 0)
        rc = -1;
    free(text);
    cJSON_Delete(keys);
    return rc;
}

static const char *policy_text(const char *id, const char *pointer, const char *value)
{
    static char buf[2048];

    snprintf(buf, sizeof(buf),
             "{\"schema\": \"devattest.policy/v1\", \"id\": \"%s\", \"version\": \"1\","
             " \"title\": \"bundle test\", \"controls\": {\"8.30\": {\"title\": \"Outsourced "
             "development\"}}, \"checks\": [{\"id\": \"c1\", \"title\": \"t\", \"rationale\": "
             "\"r\", \"remediation\": \"m\", \"severity\": \"high\", \"controls\": [\"8.30\"],"
             " \"expr\": {\"pointer\": \"%s\", \"op\": \"eq\", \"value\": \"%s\"}}]}\n",
             id, pointer, value);
    return buf;
}

/* The artifact and its subject array (SHA-256 and SHA-512). */
static cJSON *subjects_of(const char *path, const char *name)
{
    unsigned char d[64];
    unsigned n = 0;
    char hex[129];
    cJSON *arr = cJSON_CreateArray(), *s = cJSON_CreateObject(), *dig;
    FILE *f = fopen(path, "rb");
    unsigned char buf[4096];
    size_t got = fread(buf, 1, sizeof(buf), f);

    fclose(f);
    cJSON_AddItemToArray(arr, s);
    cJSON_AddStringToObject(s, "name", name);
    dig = cJSON_AddObjectToObject(s, "digest");
    EVP_Digest(buf, got, d, &n, EVP_sha256(), NULL);
    da_hex_encode_to(d, n, hex, sizeof(hex));
    cJSON_AddStringToObject(dig, "sha256", hex);
    EVP_Digest(buf, got, d, &n, EVP_sha512(), NULL);
    da_hex_encode_to(d, n, hex, sizeof(hex));
    cJSON_AddStringToObject(dig, "sha512", hex);
    return arr;
}

static void make_predicates(struct world *w)
{
    w->types[0] = T_SPDX;
    w->preds[0] = cJSON_Parse(
        "{\"spdxVersion\": \"SPDX-2.3\", \"dataLicense\": \"CC0-1.0\", \"SPDXID\": "
        "\"SPDXRef-DOCUMENT\", \"name\": \"app\", \"documentNamespace\": "
        "\"https://example.com/app-1\", \"creationInfo\": {\"created\": \"2026-12-06T00:00:00Z\", "
        "\"creators\": [\"Tool: test\"]}, \"packages\": [{\"name\": \"app\", \"SPDXID\": "
        "\"SPDXRef-app\", \"downloadLocation\": \"NOASSERTION\"}]}");
    w->types[1] = T_TESTS;
    w->preds[1] = cJSON_Parse("{\"result\": \"PASSED\", \"configuration\": [], "
                              "\"passedTests\": [\"suite.one\", \"suite.two\"], "
                              "\"warnedTests\": [], \"failedTests\": []}");
    w->types[2] = T_SCAN;
    w->preds[2] = cJSON_Parse("{\"scanner\": {\"name\": \"clamscan\", \"version\": \"1.4.3\", "
                              "\"database_date\": \"2026-12-05\"}, \"kind\": \"malware\", "
                              "\"findings_count\": 0}");
    w->types[3] = T_SLSA;
    w->preds[3] = cJSON_Parse("{\"buildDefinition\": {\"buildType\": "
                              "\"https://devattest.dev/build/v1\", \"externalParameters\": {}}, "
                              "\"runDetails\": {\"builder\": {\"id\": \"devattest-agent\"}}}");
}

/* dst = a followed by b. */
static int concat(const char *dst, const char *a, const char *b)
{
    FILE *out = fopen(dst, "w");
    const char *src[2] = {a, b};
    char buf[4096];
    size_t n;
    int rc = out != NULL ? 0 : -1;

    for (int i = 0; i < 2 && rc == 0; i++) {
        FILE *in = fopen(src[i], "r");
        if (in == NULL)
            rc = -1;
        while (rc == 0 && (n = fread(buf, 1, sizeof(buf), in)) > 0)
            rc = fwrite(buf, 1, n, out) == n ? 0 : -1;
        if (in != NULL)
            fclose(in);
    }
    if (out != NULL && fclose(out) != 0)
        rc = -1;
    return rc;
}

static int group_setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    char extra[2048];

    if (w == NULL || da_test_tmpdir("bundle", w->work, sizeof(w->work)) != 0 ||
        da_test_swtpm_start(&w->m[0].tpm) != 0 || da_test_swtpm_start(&w->m[1].tpm) != 0)
        return -1;
    snprintf(w->roots, sizeof(w->roots), "%s/ek-roots.pem", w->work);
    if (concat(w->roots, w->m[0].tpm.ca_root, w->m[1].tpm.ca_root) != 0)
        return -1;
    snprintf(w->pass_policy, sizeof(w->pass_policy), "%s/pass.json", w->work);
    snprintf(w->fail_policy, sizeof(w->fail_policy), "%s/fail.json", w->work);
    snprintf(w->keys, sizeof(w->keys), "%s/keys.json", w->work);
    snprintf(w->artifact, sizeof(w->artifact), "%s/app.tar", w->work);
    write_file(w->pass_policy, policy_text("pass", "/attestation/trust", "tpm"));
    write_file(w->fail_policy, policy_text("fail", "/schema", "not-this-schema"));
    write_file(w->artifact, "the delivered artifact, version 1\n");
    snprintf(extra, sizeof(extra),
             "ek_roots = %s\nrate_per_agent = 1000\nburst_per_agent = 1000\npolicy_file = %s\n",
             w->roots, w->pass_policy);
    if (da_test_server_setup(&w->srv, extra) != 0 || da_test_server_start(&w->srv) != 0 ||
        machine_setup(w, &w->m[0], "acme") != 0 || machine_setup(w, &w->m[1], "globex") != 0 ||
        report(w, &w->m[0], &w->good) != 0 || save_keys(w) != 0)
        return -1;
    /* A report under a policy this machine fails: a non-compliant receipt. */
    {
        cJSON *r = http_json(w, "PUT", "/v1/policy", w->srv.admin,
                             policy_text("fail", "/schema", "not-this-schema"));
        if (r == NULL || report(w, &w->m[0], &w->noncompliant) != 0)
            return -1;
        cJSON_Delete(r);
    }
    w->subjects = subjects_of(w->artifact, "app.tar");
    write_file(w->artifact, "the delivered artifact, version 2\n");
    w->other_subjects = subjects_of(w->artifact, "app.tar");
    write_file(w->artifact, "the delivered artifact, version 1\n");
    make_predicates(w);
    W = w;
    *state = w;
    return 0;
}

static int group_teardown(void **state)
{
    struct world *w = *state;

    if (w == NULL)
        return 0;
    for (int i = 0; i < 2; i++) {
        if (w->m[i].dir[0] != '\0')
            (void)da_test_rmtree(w->m[i].dir);
        da_test_swtpm_stop(&w->m[i].tpm);
    }
    da_test_server_cleanup(&w->srv);
    (void)da_test_rmtree(w->work);
    cJSON_Delete(w->good.envelope);
    cJSON_Delete(w->good.evidence);
    cJSON_Delete(w->noncompliant.envelope);
    cJSON_Delete(w->noncompliant.evidence);
    cJSON_Delete(w->subjects);
    cJSON_Delete(w->other_subjects);
    for (int i = 0; i < 4; i++)
        cJSON_Delete(w->preds[i]);
    free(w);
    return 0;
}

/* --- bundles -------------------------------------------------------------- */

/* A main statement by machine m with the good receipt and all four
 * accompanying statements (lines[1..4]); knobs in *m_opts (may be NULL). */
static size_t good_bundle(struct world *w, const struct machine *m, const cJSON *subjects,
                          const struct bb_main *knobs, char **lines)
{
    cJSON *refs = cJSON_CreateArray();
    struct bb_main opts;

    for (int i = 0; i < 4; i++) {
        cJSON_AddItemToArray(refs, bb_statement_ref(w->types[i], w->preds[i]));
        assert_int_equal(
            bb_statement_line(&m->signer, subjects, w->types[i], w->preds[i], &lines[i + 1]), 0);
    }
    if (knobs != NULL)
        opts = *knobs;
    else
        memset(&opts, 0, sizeof(opts));
    opts.subjects = subjects;
    if (opts.receipt == NULL) {
        opts.receipt = w->good.envelope;
        opts.evidence_sha256 = w->good.evidence_sha256;
        opts.evidence = w->good.evidence;
    }
    if (opts.created == 0)
        opts.created = (int64_t)time(NULL);
    opts.statements = refs;
    assert_int_equal(bb_main_line(&m->signer, &opts, &lines[0]), 0);
    cJSON_Delete(refs);
    return 5;
}

static void free_lines(char **lines, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
}

static void bundle_path(struct world *w, const char *name, char *out, size_t size)
{
    snprintf(out, size, "%s/%s.intoto.jsonl", w->work, name);
}

/* Main statement alone (no accompanying statements) with knobs. */
static void main_only(struct world *w, const char *name, const struct bb_main *knobs, char *path,
                      size_t size)
{
    struct bb_main opts = *knobs;
    char *line = NULL;

    opts.subjects = w->subjects;
    if (opts.created == 0)
        opts.created = (int64_t)time(NULL);
    assert_int_equal(bb_main_line(&w->m[0].signer, &opts, &line), 0);
    bundle_path(w, name, path, size);
    write_lines(path, &line, 1);
    free(line);
}

/* --- tests ------------------------------------------------------------------ */

static void test_good_bundle_verifies(void **state)
{
    struct world *w = *state;
    char *lines[5], *rev[5], path[256], out[65536];
    const char *oracle[] = {ORACLE, NULL, w->srv.ca, NULL};
    cJSON *j;
    int rc;

    good_bundle(w, &w->m[0], w->subjects, NULL, lines);
    bundle_path(w, "good", path, sizeof(path));
    write_lines(path, lines, 5);
    rc = verify(w, path, out, sizeof(out), "--artifact", w->artifact, "--require",
                "sbom,tests,scan,provenance", "--policy", w->pass_policy, "--max-age", "1h", NULL);
    if (rc != 0)
        fail_msg("good bundle: exit %d\n%s", rc, out);
    assert_non_null(strstr(out, "\nverified\n"));
    assert_null(strstr(out, "FAIL"));
    /* Order does not matter. */
    for (int i = 0; i < 5; i++)
        rev[i] = lines[4 - i];
    write_lines(path, rev, 5);
    rc = verify(w, path, out, sizeof(out), "--artifact", w->artifact, "--json", NULL);
    j = cJSON_Parse(out);
    assert_non_null(j);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "verified")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "envelopes")), 5);
    cJSON_Delete(j);
    assert_int_equal(rc, 0);
    /* An independent verifier (no code of ours) agrees. */
    oracle[1] = path;
    rc = run(out, sizeof(out), oracle);
    if (rc != 0)
        fail_msg("bundle-oracle: exit %d\n%s", rc, out);
    assert_non_null(strstr(out, "5 envelopes: signatures, chains and 1 quote verified"));
    free_lines(lines, 5);
}

static void test_artifact_byte_changed(void **state)
{
    struct world *w = *state;
    char *lines[5], path[256], out[65536], other[300];
    int rc;

    good_bundle(w, &w->m[0], w->subjects, NULL, lines);
    bundle_path(w, "artifact", path, sizeof(path));
    write_lines(path, lines, 5);
    snprintf(other, sizeof(other), "%s/changed.tar", w->work);
    write_file(other, "the delivered artifact, version 1\n");
    rc = verify(w, path, out, sizeof(out), "--artifact", other, NULL);
    assert_int_equal(rc, 0);
    write_file(other, "the delivered artifact, version 1!\n");
    rc = verify(w, path, out, sizeof(out), "--artifact", other, NULL);
    expect_failure(out, rc, "artifact", "artifact_not_subject");
    free_lines(lines, 5);
}

/* The line's payload with one byte changed, signature kept. */
static char *change_payload(const char *line)
{
    cJSON *j = cJSON_Parse(line);
    const char *p64 = cJSON_GetStringValue(cJSON_GetObjectItem(j, "payload"));
    struct da_buf raw, enc;
    char *at, *out, *bytes;
    size_t len = 0;

    da_buf_init(&raw, DA_MAX_DSSE_PAYLOAD);
    da_buf_init(&enc, DA_MAX_DSSE_ENVELOPE);
    assert_int_equal(da_base64_decode(p64, strlen(p64), DA_BASE64_STD, &raw), 0);
    assert_int_equal(da_buf_append(&raw, "", 1), 0);
    bytes = (char *)da_buf_take(&raw, &len);
    assert_non_null(bytes);
    at = strstr(bytes, "\"vendor\":\"acme\"");
    assert_non_null(at);
    at[13] = 'f'; /* "acmf" */
    assert_int_equal(da_base64_encode(bytes, len - 1, DA_BASE64_STD, &enc), 0);
    free(bytes);
    assert_int_equal(da_buf_append(&enc, "", 1), 0);
    cJSON_ReplaceItemInObject(j, "payload", cJSON_CreateString(da_buf_str(&enc)));
    out = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    da_buf_free(&raw);
    da_buf_free(&enc);
    return out;
}

static void test_payload_changed(void **state)
{
    struct world *w = *state;
    char *lines[5], path[256], out[65536];
    int rc;

    good_bundle(w, &w->m[0], w->subjects, NULL, lines);
    {
        char *changed = change_payload(lines[0]);
        free(lines[0]);
        lines[0] = changed;
    }
    bundle_path(w, "payload", path, sizeof(path));
    write_lines(path, lines, 5);
    rc = verify(w, path, out, sizeof(out), NULL);
    expect_failure(out, rc, "signature", "bad_signature");
    /* The independent verifier refuses it too. */
    {
        const char *oracle[] = {ORACLE, path, w->srv.ca, NULL};
        rc = run(out, sizeof(out), oracle);
        if (rc == 0)
            fail_msg("bundle-oracle accepted a changed payload:\n%s", out);
    }
    free_lines(lines, 5);
}

static void test_signature_from_another_agent(void **state)
{
    struct world *w = *state;
    char *lines[5], path[256], out[65536], *s64;
    unsigned char *der = NULL;
    size_t der_len = 0;
    struct da_buf payload, b;
    cJSON *j, *sig0;
    int rc;

    good_bundle(w, &w->m[0], w->subjects, NULL, lines);
    j = cJSON_Parse(lines[0]);
    s64 = cJSON_GetStringValue(cJSON_GetObjectItem(j, "payload"));
    da_buf_init(&payload, DA_MAX_DSSE_PAYLOAD);
    da_buf_init(&b, 4096);
    assert_int_equal(da_base64_decode(s64, strlen(s64), DA_BASE64_STD, &payload), 0);
    /* Machine B's SK signs exactly the same PAE. */
    assert_int_equal(bb_sign_pae(&w->m[1].signer, DA_INTOTO_PAYLOAD_TYPE, da_buf_data(&payload),
                                 da_buf_len(&payload), &der, &der_len),
                     0);
    assert_int_equal(da_base64_encode(der, der_len, DA_BASE64_STD, &b), 0);
    assert_int_equal(da_buf_append(&b, "", 1), 0);
    sig0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "signatures"), 0);
    cJSON_ReplaceItemInObject(sig0, "sig", cJSON_CreateString(da_buf_str(&b)));
    free(lines[0]);
    lines[0] = cJSON_PrintUnformatted(j);
    bundle_path(w, "other-agent", path, sizeof(path));
    write_lines(path, lines, 5);
    rc = verify(w, path, out, sizeof(out), NULL);
    expect_failure(out, rc, "signature", "bad_signature");
    cJSON_Delete(j);
    free(der);
    da_buf_free(&payload);
    da_buf_free(&b);
    free_lines(lines, 5);
}

/* Machine A's SK certificate as another CA would issue it (same key, same
 * extensions, another issuer). */
static char *cert_from_other_ca(const struct machine *m)
{
    char path[300], *pem = NULL;
    EVP_PKEY *ca_key = EVP_EC_gen("P-256");
    X509 *ca = X509_new(), *x;
    X509_NAME *name = X509_NAME_new();
    BIO *bio = BIO_new(BIO_s_mem());
    FILE *f;
    long n;
    char *data;

    snprintf(path, sizeof(path), "%s/sk-cert.pem", m->state);
    f = fopen(path, "r");
    assert_non_null(f);
    x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"another CA", -1,
                               -1, 0);
    assert_int_equal(X509_set_issuer_name(x, name), 1);
    assert_true(X509_sign(x, ca_key, EVP_sha256()) > 0);
    assert_int_equal(PEM_write_bio_X509(bio, x), 1);
    n = BIO_get_mem_data(bio, &data);
    pem = strndup(data, (size_t)n);
    BIO_free(bio);
    X509_NAME_free(name);
    X509_free(x);
    X509_free(ca);
    EVP_PKEY_free(ca_key);
    return pem;
}

static void test_certificate_from_another_ca(void **state)
{
    struct world *w = *state;
    struct machine forged = w->m[0];
    char *lines[5], path[256], out[65536];
    char *pem = cert_from_other_ca(&w->m[0]);
    int rc;

    forged.signer.certificate = pem;
    good_bundle(w, &forged, w->subjects, NULL, lines);
    bundle_path(w, "other-ca", path, sizeof(path));
    write_lines(path, lines, 5);
    rc = verify(w, path, out, sizeof(out), NULL);
    expect_failure(out, rc, "chain", "sk_chain");
    free(pem);
    free_lines(lines, 5);
}

static void test_receipt_expired(void **state)
{
    struct world *w = *state;
    struct bb_main k;
    char path[256], out[65536];
    int rc;

    memset(&k, 0, sizeof(k));
    k.receipt = w->good.envelope;
    k.evidence_sha256 = w->good.evidence_sha256;
    k.created = w->good.until + 3600;
    main_only(w, "expired", &k, path, sizeof(path));
    rc = verify(w, path, out, sizeof(out), NULL);
    expect_failure(out, rc, "receipt_age", "receipt_expired");
    /* Within its validity but older than --max-age allows. */
    k.created = w->good.issued + 7200;
    main_only(w, "too-old", &k, path, sizeof(path));
    rc = verify(w, path, out, sizeof(out), NULL);
    assert_int_equal(rc, 0);
    rc = verify(w, path, out, sizeof(out), "--max-age", "1h", NULL);
    expect_failure(out, rc, "receipt_age", "receipt_too_old");
}

static void test_receipt_noncompliant(void **state)
{
    struct world *w = *state;
    struct bb_main k;
    char path[256], out[65536];
    int rc;

    memset(&k, 0, sizeof(k));
    k.receipt = w->noncompliant.envelope;
    k.evidence_sha256 = w->noncompliant.evidence_sha256;
    main_only(w, "noncompliant", &k, path, sizeof(path));
    rc = verify(w, path, out, sizeof(out), NULL);
    expect_failure(out, rc, "receipt_verdict", "receipt_noncompliant");
    /* A receipt for other evidence than the statement names. */
    k.evidence_sha256 = w->good.evidence_sha256;
    main_only(w, "mismatch", &k, path, sizeof(path));
    rc = verify(w, path, out, sizeof(out), NULL);
    expect_failure(out, rc, "receipt_subject", "receipt_mismatch");
    /* Without the receipt keys the receipt cannot be checked. */
    {
        const char *argv[] = {VERIFY_BIN, "bundle", path, "--ca", w->srv.ca, NULL};
        rc = run(out, sizeof(out), argv);
        expect_failure(out, rc, "receipt_signature", "receipt_key");
    }
}

static void test_missing_quote(void **state)
{
    struct world *w = *state;
    struct bb_main k;
    char path[256], out[65536];
    int rc;

    memset(&k, 0, sizeof(k));
    k.receipt = w->good.envelope;
    k.evidence_sha256 = w->good.evidence_sha256;
    k.no_quote = true;
    main_only(w, "no-quote", &k, path, sizeof(path));
    rc = verify(w, path, out, sizeof(out), NULL);
    expect_failure(out, rc, "quote", "quote_missing");
}

/* A's SK signs a statement carrying machine B's AK and B's quote. */
static void test_quote_by_another_machine(void **state)
{
    struct world *w = *state;
    struct bb_main k;
    char path[256], out[65536];
    int rc;

    memset(&k, 0, sizeof(k));
    k.receipt = w->good.envelope;
    k.evidence_sha256 = w->good.evidence_sha256;
    k.quoter = &w->m[1].signer;
    main_only(w, "other-ak", &k, path, sizeof(path));
    rc = verify(w, path, out, sizeof(out), NULL);
    expect_failure(out, rc, "ak_binding", "ak_binding");
}

static void test_quote_over_other_subjects(void **state)
{
    struct world *w = *state;
    struct bb_main k;
    char path[256], out[65536];
    int rc;

    memset(&k, 0, sizeof(k));
    k.receipt = w->good.envelope;
    k.evidence_sha256 = w->good.evidence_sha256;
    k.quote_subjects = w->other_subjects;
    main_only(w, "other-subjects", &k, path, sizeof(path));
    rc = verify(w, path, out, sizeof(out), NULL);
    expect_failure(out, rc, "quote", "quote_subjects");
}

static void test_line_duplicated_or_removed(void **state)
{
    struct world *w = *state;
    char *lines[6], path[256], out[65536];
    char *without[4];
    int rc;

    good_bundle(w, &w->m[0], w->subjects, NULL, lines);
    lines[5] = lines[2];
    bundle_path(w, "dup", path, sizeof(path));
    write_lines(path, lines, 6);
    rc = verify(w, path, out, sizeof(out), NULL);
    expect_failure(out, rc, "duplicate", "bundle_duplicate");
    /* An accompanying statement removed: the main statement misses it. */
    for (int i = 0; i < 4; i++)
        without[i] = lines[i < 2 ? i : i + 1];
    write_lines(path, without, 4);
    rc = verify(w, path, out, sizeof(out), NULL);
    expect_failure(out, rc, "statements", "statement_missing");
    /* The main statement removed: nothing binds the others. */
    write_lines(path, lines + 1, 4);
    rc = verify(w, path, out, sizeof(out), NULL);
    expect_failure(out, rc, "binding", "statement_unbound");
    free_lines(lines, 5);
}

static void test_statement_swapped(void **state)
{
    struct world *w = *state;
    char *lines[5], *other[5], *build[5], path[256], out[65536];
    int rc;

    good_bundle(w, &w->m[0], w->subjects, NULL, lines);
    /* Machine B, same subjects and predicates: its SBOM statement in A's bundle. */
    good_bundle(w, &w->m[1], w->subjects, NULL, other);
    free(lines[1]);
    lines[1] = other[1];
    other[1] = NULL;
    bundle_path(w, "swap-machine", path, sizeof(path));
    write_lines(path, lines, 5);
    rc = verify(w, path, out, sizeof(out), NULL);
    expect_failure(out, rc, "binding", "statement_unbound");
    assert_non_null(strstr(out, "FAIL statement_missing:"));
    /* Machine A, another build (other subjects): its test results here. */
    free_lines(lines, 5);
    good_bundle(w, &w->m[0], w->subjects, NULL, lines);
    good_bundle(w, &w->m[0], w->other_subjects, NULL, build);
    free(lines[2]);
    lines[2] = build[2];
    build[2] = NULL;
    write_lines(path, lines, 5);
    rc = verify(w, path, out, sizeof(out), NULL);
    expect_failure(out, rc, "binding", "statement_unbound");
    free_lines(lines, 5);
    free_lines(other, 5);
    free_lines(build, 5);
}

static void test_require_absent(void **state)
{
    struct world *w = *state;
    char *lines[5], path[256], out[65536];
    struct bb_main k;
    cJSON *refs = cJSON_CreateArray();
    int rc;

    /* Main statement listing SBOM, tests and provenance; no scan at all. */
    memset(&k, 0, sizeof(k));
    good_bundle(w, &w->m[0], w->subjects, NULL, lines);
    free(lines[0]);
    free(lines[3]);
    for (int i = 0; i < 4; i++) {
        if (i != 2)
            cJSON_AddItemToArray(refs, bb_statement_ref(w->types[i], w->preds[i]));
    }
    k.subjects = w->subjects;
    k.receipt = w->good.envelope;
    k.evidence_sha256 = w->good.evidence_sha256;
    k.created = (int64_t)time(NULL);
    k.statements = refs;
    assert_int_equal(bb_main_line(&w->m[0].signer, &k, &lines[0]), 0);
    lines[3] = lines[4];
    bundle_path(w, "require", path, sizeof(path));
    write_lines(path, lines, 4);
    rc = verify(w, path, out, sizeof(out), "--require", "sbom,tests,provenance", NULL);
    if (rc != 0)
        fail_msg("without scan, not required: exit %d\n%s", rc, out);
    rc = verify(w, path, out, sizeof(out), "--require", "sbom,scan", NULL);
    expect_failure(out, rc, "require", "required_missing");
    assert_non_null(strstr(out, "required_missing: a required kind of statement is missing or "
                                "not bound -- scan"));
    cJSON_Delete(refs);
    free_lines(lines, 4);
}

static void test_policy_reevaluated(void **state)
{
    struct world *w = *state;
    struct bb_main k;
    char path[256], out[65536];
    int rc;

    memset(&k, 0, sizeof(k));
    k.receipt = w->good.envelope;
    k.evidence_sha256 = w->good.evidence_sha256;
    k.evidence = w->good.evidence;
    main_only(w, "policy", &k, path, sizeof(path));
    rc = verify(w, path, out, sizeof(out), "--policy", w->pass_policy, NULL);
    assert_int_equal(rc, 0);
    rc = verify(w, path, out, sizeof(out), "--policy", w->fail_policy, NULL);
    expect_failure(out, rc, "policy", "policy_noncompliant");
    /* Evidence that is not what the receipt covered. */
    {
        cJSON *ev = cJSON_Duplicate(w->good.evidence, 1);
        cJSON_AddStringToObject(ev, "planted", "x");
        k.evidence = ev;
        main_only(w, "policy-evidence", &k, path, sizeof(path));
        cJSON_Delete(ev);
    }
    rc = verify(w, path, out, sizeof(out), "--policy", w->pass_policy, NULL);
    expect_failure(out, rc, "policy", "evidence_mismatch");
}

/* Receipt key rotation: old receipts keep verifying with the listed old
 * key, new ones verify with the new key, and a keys file that lacks the
 * key of a receipt fails it. */
static void test_receipt_key_rotation(void **state)
{
    struct world *w = *state;
    struct receipt after;
    struct bb_main k;
    char path[256], old_path[256], out[65536], old_keys[300], id[128];
    cJSON *keys, *list;
    int rc;

    snprintf(old_keys, sizeof(old_keys), "%s.old", w->keys);
    assert_int_equal(rename(w->keys, old_keys), 0);
    assert_int_equal(da_test_server_stop(&w->srv), 0);
    assert_int_equal(da_test_server_cli(&w->srv, id, sizeof(id), "receipt-key", "rotate", NULL), 0);
    assert_int_equal(strlen(id), 64);
    assert_int_equal(da_test_server_start(&w->srv), 0);
    assert_int_equal(write_conf(w, &w->m[0]), 0);
    assert_int_equal(save_keys(w), 0);
    keys = http_json(w, "GET", "/v1/keys", NULL, NULL);
    list = cJSON_GetObjectItem(keys, "receipt_keys");
    assert_int_equal(cJSON_GetArraySize(list), 2);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0), "current")));
    assert_non_null(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0), "valid_until"));
    assert_string_equal(
        cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 1), "keyid")), id);
    cJSON_Delete(keys);
    {
        cJSON *r = http_json(w, "PUT", "/v1/policy", w->srv.admin,
                             policy_text("pass", "/attestation/trust", "tpm"));
        assert_non_null(r);
        cJSON_Delete(r);
    }
    assert_int_equal(report(w, &w->m[0], &after), 0);
    assert_string_equal(
        cJSON_GetStringValue(cJSON_GetObjectItem(
            cJSON_GetArrayItem(cJSON_GetObjectItem(after.envelope, "signatures"), 0), "keyid")),
        id);
    memset(&k, 0, sizeof(k));
    k.receipt = after.envelope;
    k.evidence_sha256 = after.evidence_sha256;
    main_only(w, "rotated", &k, path, sizeof(path));
    k.receipt = w->good.envelope;
    k.evidence_sha256 = w->good.evidence_sha256;
    main_only(w, "before-rotation", &k, old_path, sizeof(old_path));
    rc = verify(w, path, out, sizeof(out), NULL);
    if (rc != 0)
        fail_msg("receipt by the new key: exit %d\n%s", rc, out);
    rc = verify(w, old_path, out, sizeof(out), NULL);
    if (rc != 0)
        fail_msg("receipt by the retired key: exit %d\n%s", rc, out);
    {
        const char *argv[] = {VERIFY_BIN, "bundle", path,     "--ca",
                              w->srv.ca,  "--keys", old_keys, NULL};
        rc = run(out, sizeof(out), argv);
        expect_failure(out, rc, "receipt_signature", "receipt_key");
    }
    cJSON_Delete(after.envelope);
    cJSON_Delete(after.evidence);
}

/* The line with an RFC 3161 timestamp over the signature bytes of sig_line
 * (usually itself) from the local TSA. */
static char *with_timestamp(struct world *w, const char *line, const char *sig_line)
{
    cJSON *j = cJSON_Parse(line), *s = cJSON_Parse(sig_line);
    const char *sig64 = cJSON_GetStringValue(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(s, "signatures"), 0), "sig"));
    char sig_path[300], tok_path[300], tsa_dir[300], out[4096], *text;
    const char *argv[] = {LOCAL_TSA, tsa_dir, sig_path, tok_path, NULL};
    struct da_buf raw, enc;
    FILE *f;
    long n;

    snprintf(sig_path, sizeof(sig_path), "%s/sig.bin", w->work);
    snprintf(tok_path, sizeof(tok_path), "%s/token.der", w->work);
    snprintf(tsa_dir, sizeof(tsa_dir), "%s/tsa", w->work);
    da_buf_init(&raw, 65536);
    da_buf_init(&enc, 131072);
    assert_int_equal(da_base64_decode(sig64, strlen(sig64), DA_BASE64_STD, &raw), 0);
    f = fopen(sig_path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(da_buf_data(&raw), 1, da_buf_len(&raw), f), da_buf_len(&raw));
    assert_int_equal(fclose(f), 0);
    if (run(out, sizeof(out), argv) != 0)
        fail_msg("local-tsa: %s", out);
    da_buf_free(&raw);
    da_buf_init(&raw, 65536);
    f = fopen(tok_path, "rb");
    assert_non_null(f);
    {
        unsigned char buf[65536];
        n = (long)fread(buf, 1, sizeof(buf), f);
        assert_true(n > 0);
        assert_int_equal(da_base64_encode(buf, (size_t)n, DA_BASE64_STD, &enc), 0);
    }
    fclose(f);
    assert_int_equal(da_buf_append(&enc, "", 1), 0);
    cJSON_DeleteItemFromObject(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "signatures"), 0),
                               "timestamp");
    cJSON_AddStringToObject(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "signatures"), 0),
                            "timestamp", da_buf_str(&enc));
    text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    cJSON_Delete(s);
    da_buf_free(&raw);
    da_buf_free(&enc);
    return text;
}

static void test_timestamp(void **state)
{
    struct world *w = *state;
    char *lines[5], path[256], out[65536], tsa_ca[300], *stamped;
    int rc;

    snprintf(tsa_ca, sizeof(tsa_ca), "%s/tsa/tsa-ca.pem", w->work);
    good_bundle(w, &w->m[0], w->subjects, NULL, lines);
    stamped = with_timestamp(w, lines[0], lines[0]);
    free(lines[0]);
    lines[0] = stamped;
    bundle_path(w, "timestamp", path, sizeof(path));
    write_lines(path, lines, 5);
    rc = verify(w, path, out, sizeof(out), "--tsa-ca", tsa_ca, NULL);
    if (rc != 0 || strstr(out, "timestamp          ok") == NULL)
        fail_msg("timestamped bundle: exit %d\n%s", rc, out);
    /* Without the TSA's root the token cannot be trusted. */
    rc = verify(w, path, out, sizeof(out), NULL);
    expect_failure(out, rc, "timestamp", "timestamp");
    /* A token over another signature's bytes. */
    stamped = with_timestamp(w, lines[0], lines[1]);
    free(lines[0]);
    lines[0] = stamped;
    write_lines(path, lines, 5);
    rc = verify(w, path, out, sizeof(out), "--tsa-ca", tsa_ca, NULL);
    expect_failure(out, rc, "timestamp", "timestamp");
    free_lines(lines, 5);
}

/* Machine A's SK certificate issued again by the server's CA, expiring in
 * `seconds` (the CA key is in the test server's state directory). */
static char *cert_expiring(struct world *w, const struct machine *m, long seconds)
{
    char path[300], *data, *pem;
    EVP_PKEY *ca_key;
    BIO *bio = BIO_new(BIO_s_mem());
    X509 *x;
    FILE *f;
    long n;

    snprintf(path, sizeof(path), "%s/sk-cert.pem", m->state);
    f = fopen(path, "r");
    assert_non_null(f);
    x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    snprintf(path, sizeof(path), "%s/ca.key", w->srv.state);
    f = fopen(path, "r");
    assert_non_null(f);
    ca_key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(x);
    assert_non_null(ca_key);
    assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), seconds));
    assert_true(X509_sign(x, ca_key, EVP_sha256()) > 0);
    assert_int_equal(PEM_write_bio_X509(bio, x), 1);
    n = BIO_get_mem_data(bio, &data);
    pem = strndup(data, (size_t)n);
    BIO_free(bio);
    X509_free(x);
    EVP_PKEY_free(ca_key);
    return pem;
}

/* A certificate that expired after the time stamp was made: valid at the
 * time stamp's time, so the chain holds with the time stamp and not
 * without it. */
static void test_chain_at_timestamp_time(void **state)
{
    struct world *w = *state;
    struct machine m = w->m[0];
    struct bb_main k;
    char path[256], plain[256], out[65536], tsa_ca[300], *line = NULL, *stamped;
    char *pem = cert_expiring(w, &w->m[0], 3);
    time_t until = time(NULL) + 3;
    int rc;

    snprintf(tsa_ca, sizeof(tsa_ca), "%s/tsa/tsa-ca.pem", w->work);
    m.signer.certificate = pem;
    memset(&k, 0, sizeof(k));
    k.subjects = w->subjects;
    k.receipt = w->good.envelope;
    k.evidence_sha256 = w->good.evidence_sha256;
    k.created = (int64_t)time(NULL);
    assert_int_equal(bb_main_line(&m.signer, &k, &line), 0);
    stamped = with_timestamp(w, line, line);
    bundle_path(w, "expiring-stamped", path, sizeof(path));
    write_lines(path, &stamped, 1);
    bundle_path(w, "expiring", plain, sizeof(plain));
    write_lines(plain, &line, 1);
    while (time(NULL) <= until + 1)
        sleep(1);
    rc = verify(w, plain, out, sizeof(out), NULL);
    expect_failure(out, rc, "chain", "sk_chain");
    assert_non_null(strstr(out, "certificate has expired"));
    rc = verify(w, path, out, sizeof(out), "--tsa-ca", tsa_ca, NULL);
    if (rc != 0)
        fail_msg("stamped before expiry: exit %d\n%s", rc, out);
    free(stamped);
    free(line);
    free(pem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_bundle_verifies),
        cmocka_unit_test(test_artifact_byte_changed),
        cmocka_unit_test(test_payload_changed),
        cmocka_unit_test(test_signature_from_another_agent),
        cmocka_unit_test(test_certificate_from_another_ca),
        cmocka_unit_test(test_receipt_expired),
        cmocka_unit_test(test_receipt_noncompliant),
        cmocka_unit_test(test_missing_quote),
        cmocka_unit_test(test_quote_by_another_machine),
        cmocka_unit_test(test_quote_over_other_subjects),
        cmocka_unit_test(test_line_duplicated_or_removed),
        cmocka_unit_test(test_statement_swapped),
        cmocka_unit_test(test_require_absent),
        cmocka_unit_test(test_policy_reevaluated),
        cmocka_unit_test(test_timestamp),
        cmocka_unit_test(test_chain_at_timestamp_time),
        cmocka_unit_test(test_receipt_key_rotation),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
