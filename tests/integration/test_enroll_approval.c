/* Enrollment by administrator approval end to end: swtpm provisioned
 * without any EK certificate (swtpm_setup without --create-ek-cert), the
 * real agent binary, a real devattest-server over TLS with the shipped EK
 * CAs and the shipped policy.
 *
 * The agent enrolls and is told it is pending, with the SHA-256 of its EK
 * public key (checked against tpm2_createek and openssl); bad decisions
 * change nothing; the administrator approves with the server's CLI; the
 * agent finishes enrolling and reports; the agent record and the report's
 * verdict say ek_trust admin_approval, which the shipped policy accepts and
 * a policy that requires the manufacturer chain fails. A second machine is
 * rejected through the API and its agent is told so, then approved on a
 * second try. A third machine gives its EK certificate by file, in the
 * id-RSAES-OAEP form, chained to a CA the operator added.
 *
 * One world for the group: the tests run in order. */
#include "da_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "agent_run.h"
#include "agent_test_dir.h"
#include "oaep_cert.h"
#include "server_harness.h"
#include "swtpm_harness.h"
#include "tmp_tree.h"

struct machine {
    struct da_test_swtpm tpm;
    char dir[300], conf[320], state[320], spool[320], token_file[320];
    char enrollment_id[64], ek_sha256[65], agent_id[64];
};

struct world {
    struct da_test_server srv;
    struct machine a, b, c;
    char ca_dir[256]; /* a CA of this test, trusted through ek_roots_local */
};

static int machine_setup(struct machine *m, const struct da_test_server *srv)
{
    FILE *f;

    if (da_test_swtpm_start_no_ek_cert(&m->tpm) != 0 ||
        da_test_agent_dir(m->dir, sizeof(m->dir)) != 0)
        return -1;
    snprintf(m->conf, sizeof(m->conf), "%s/agent.conf", m->dir);
    snprintf(m->state, sizeof(m->state), "%s/state", m->dir);
    snprintf(m->spool, sizeof(m->spool), "%s/spool", m->dir);
    snprintf(m->token_file, sizeof(m->token_file), "%s/token", m->dir);
    f = fopen(m->conf, "w");
    if (f == NULL)
        return -1;
    fprintf(f,
            "server_url = %s\nserver_ca = %s\ntcti = %s\nstate_dir = %s\nspool_dir = %s\n"
            "environment_role = build\nsandbox = enforce\nuser = " DA_TEST_AGENT_USER "\n",
            srv->base, srv->ca, m->tpm.tcti, m->state, m->spool);
    return fclose(f) == 0 ? 0 : -1;
}

static int group_setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    char extra[1024];

    if (w == NULL || da_test_tmpdir("da-ekca", w->ca_dir, sizeof(w->ca_dir)) != 0)
        return -1;
    /* A CA for machine C's EK certificate, added to the shipped EK CAs the
     * way an operator adds one (ek_roots_local, a directory of PEM files). */
    snprintf(extra, sizeof(extra),
             "cd '%s' && mkdir roots && openssl req -x509 -newkey ec -pkeyopt "
             "ec_paramgen_curve:P-256 -nodes -keyout ca.key -out roots/test-ca.pem -days 30 "
             "-subj '/CN=devattest test EK CA' -addext basicConstraints=critical,CA:TRUE "
             "-addext keyUsage=critical,keyCertSign 2>/dev/null",
             w->ca_dir);
    if (system(extra) != 0)
        return -1;
    /* The shipped EK CAs: none of them vouches for a swtpm. */
    snprintf(extra, sizeof(extra),
             "ek_roots = %s/packaging/ek-roots\nek_roots_local = %s/roots\n"
             "rate_per_agent = 1000\nburst_per_agent = 1000\n"
             "policy_file = %s/common/policies/iso27001-2022-devenv.json\n",
             DA_SOURCE_ROOT, w->ca_dir, DA_SOURCE_ROOT);
    if (da_test_server_setup(&w->srv, extra) != 0 || da_test_server_start(&w->srv) != 0 ||
        machine_setup(&w->a, &w->srv) != 0 || machine_setup(&w->b, &w->srv) != 0 ||
        machine_setup(&w->c, &w->srv) != 0)
        return -1;
    *state = w;
    return 0;
}

static void machine_cleanup(struct machine *m)
{
    if (m->dir[0] != '\0')
        (void)da_test_rmtree(m->dir);
    da_test_swtpm_stop(&m->tpm);
}

static int group_teardown(void **state)
{
    struct world *w = *state;

    if (w == NULL)
        return 0;
    machine_cleanup(&w->a);
    machine_cleanup(&w->b);
    machine_cleanup(&w->c);
    if (w->ca_dir[0] != '\0')
        (void)da_test_rmtree(w->ca_dir);
    da_test_server_cleanup(&w->srv);
    free(w);
    return 0;
}

static const char *jstr(const cJSON *j, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

    return cJSON_IsString(v) ? v->valuestring : "";
}

/* GET path as admin: the parsed answer (status 200 required). */
static cJSON *admin_get(struct world *w, const char *path)
{
    struct da_test_http r;
    cJSON *doc;

    assert_int_equal(da_test_http(&w->srv, "GET", path, w->srv.admin, NULL, NULL, 0, &r), 0);
    if (r.status != 200)
        fail_msg("GET %s: %ld %s", path, r.status, r.body);
    doc = cJSON_Parse(r.body);
    da_test_http_clear(&r);
    assert_non_null(doc);
    return doc;
}

/* POST as the given token; the status, and the error code into code. */
static long post(struct world *w, const char *path, const char *token, const char *body, char *code,
                 size_t code_size)
{
    struct da_test_http r;
    long status;

    assert_int_equal(da_test_http(&w->srv, "POST", path, token,
                                  body != NULL ? "application/json" : NULL, body,
                                  body != NULL ? strlen(body) : 0, &r),
                     0);
    status = r.status;
    if (code != NULL)
        snprintf(code, code_size, "%s", da_test_error_code(&r));
    da_test_http_clear(&r);
    return status;
}

static int count_items(struct world *w, const char *path, const char *key)
{
    cJSON *doc = admin_get(w, path);
    int n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, key));

    cJSON_Delete(doc);
    return n;
}

static const char *enrollment_state(struct world *w, const char *id, char *out, size_t size)
{
    char path[160];
    cJSON *doc;

    snprintf(path, sizeof(path), "/v1/enrollments/%s", id);
    doc = admin_get(w, path);
    snprintf(out, size, "%s", jstr(doc, "state"));
    cJSON_Delete(doc);
    return out;
}

static void new_token(struct world *w, struct machine *m)
{
    char token[128];
    FILE *f;

    assert_int_equal(da_test_server_cli(&w->srv, token, sizeof(token), "token", "create",
                                        "--vendor", "acme", "--ttl", "1h", NULL),
                     0);
    f = fopen(m->token_file, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", token);
    assert_int_equal(fclose(f), 0);
}

/* The SHA-256 of the EK's SubjectPublicKeyInfo, by tpm2-tools and openssl:
 * tpm2_createek makes the RSA EK from the TCG default template (the swtpm
 * holds no template of its own) and writes its public key as PEM. */
static void oracle_ek_sha256(const struct machine *m, char out[65])
{
    char cmd[2048];
    FILE *p;

    snprintf(cmd, sizeof(cmd),
             "cd '%s' && tpm2_createek -T '%s' -G rsa -c ek.ctx -u ek.pem -f pem >/dev/null && "
             "tpm2_flushcontext -T '%s' -t && "
             "openssl pkey -pubin -in ek.pem -outform DER | openssl dgst -sha256 -r",
             m->dir, m->tpm.tcti, m->tpm.tcti);
    p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(cmd, sizeof(cmd), p));
    assert_int_equal(pclose(p), 0);
    assert_true(strlen(cmd) > 64);
    memcpy(out, cmd, 64);
    out[64] = '\0';
}

/* Enroll with a fresh token: pending, with the EK hash. */
static void enroll_pending(struct world *w, struct machine *m)
{
    char out[8192], oracle[65];
    cJSON *j;
    int rc;

    new_token(w, m);
    rc = da_test_agent(out, sizeof(out), "enroll", "--config", m->conf, "--token-file",
                       m->token_file, "--json", NULL);
    if (rc != 5)
        fail_msg("enroll exited %d (5 = pending expected): %s", rc, out);
    j = cJSON_Parse(out);
    assert_non_null(j);
    assert_string_equal(jstr(j, "status"), "pending");
    snprintf(m->enrollment_id, sizeof(m->enrollment_id), "%s", jstr(j, "enrollment_id"));
    snprintf(m->ek_sha256, sizeof(m->ek_sha256), "%s", jstr(j, "ek_public_sha256"));
    cJSON_Delete(j);
    assert_int_equal(strlen(m->enrollment_id), 32);
    oracle_ek_sha256(m, oracle);
    assert_string_equal(m->ek_sha256, oracle);
}

static void test_pending(void **state)
{
    struct world *w = *state;
    struct machine *m = &w->a;
    char out[8192], path[160], code[64], st[32];
    cJSON *doc, *e;
    int rc;

    enroll_pending(w, m);
    /* The administrator sees what the agent printed. */
    doc = admin_get(w, "/v1/enrollments?state=pending");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "enrollments")), 1);
    e = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "enrollments"), 0);
    assert_string_equal(jstr(e, "id"), m->enrollment_id);
    assert_string_equal(jstr(e, "ek_public_sha256"), m->ek_sha256);
    assert_string_equal(jstr(e, "vendor"), "acme");
    cJSON_Delete(doc);
    assert_int_equal(da_test_server_cli(&w->srv, out, sizeof(out), "enrollment", "list", "--state",
                                        "pending", NULL),
                     0);
    assert_non_null(strstr(out, m->enrollment_id));
    assert_non_null(strstr(out, m->ek_sha256));
    assert_int_equal(count_items(w, "/v1/agents", "agents"), 0);

    /* Still pending: enroll again (no token) says so; report is refused. */
    rc = da_test_agent(out, sizeof(out), "enroll", "--config", m->conf, NULL);
    assert_int_equal(rc, 5);
    assert_non_null(strstr(out, m->ek_sha256));
    assert_int_equal(da_test_agent(out, sizeof(out), "report", "--config", m->conf, NULL), 1);
    /* status says what it waits for. */
    assert_int_equal(da_test_agent(out, sizeof(out), "status", "--config", m->conf, "--json", NULL),
                     1);
    doc = cJSON_Parse(out);
    assert_non_null(doc);
    e = cJSON_GetObjectItem(doc, "enrollment_pending");
    assert_string_equal(jstr(e, "enrollment_id"), m->enrollment_id);
    assert_string_equal(jstr(e, "ek_public_sha256"), m->ek_sha256);
    cJSON_Delete(doc);

    /* Bad decisions get stable codes and change nothing. */
    snprintf(path, sizeof(path), "/v1/enrollments/%s/approve", m->enrollment_id);
    assert_int_equal(post(w, path, w->srv.auditor, "{}", code, sizeof(code)), 403);
    assert_int_equal(post(w, path, w->srv.admin, "{\"reason\": 5}", code, sizeof(code)), 400);
    assert_int_equal(post(w, path, w->srv.admin, "{\"color\": \"red\"}", code, sizeof(code)), 400);
    assert_int_equal(post(w, "/v1/enrollments/0123456789abcdef0123456789abcdef/approve",
                          w->srv.admin, "{}", code, sizeof(code)),
                     404);
    assert_string_equal(code, "enrollment_unknown");
    assert_int_equal(da_test_server_cli(&w->srv, out, sizeof(out), "enrollment", "approve",
                                        "0123456789abcdef0123456789abcdef", NULL),
                     1);
    assert_int_equal(da_test_server_cli(&w->srv, out, sizeof(out), "enrollment", "approve", NULL),
                     2);
    assert_string_equal(enrollment_state(w, m->enrollment_id, st, sizeof(st)), "pending");
    snprintf(path, sizeof(path), "/v1/enrollments/%s/challenge", m->enrollment_id);
    assert_int_equal(post(w, path, NULL, "{}", code, sizeof(code)), 409);
    assert_string_equal(code, "enrollment_pending");
}

static void test_approve_then_report(void **state)
{
    struct world *w = *state;
    struct machine *m = &w->a;
    char out[16384], path[200], code[64], st[32], report_id[80];
    const cJSON *checks, *c;
    cJSON *j, *doc;
    int rc, found = 0;

    assert_int_equal(da_test_server_cli(&w->srv, out, sizeof(out), "enrollment", "approve",
                                        m->enrollment_id, NULL),
                     0);
    assert_non_null(strstr(out, "approved"));
    assert_string_equal(enrollment_state(w, m->enrollment_id, st, sizeof(st)), "approved");
    /* A decision is final: neither approve nor reject moves it again. */
    assert_int_equal(da_test_server_cli(&w->srv, out, sizeof(out), "enrollment", "reject",
                                        m->enrollment_id, NULL),
                     1);
    snprintf(path, sizeof(path), "/v1/enrollments/%s/reject", m->enrollment_id);
    assert_int_equal(post(w, path, w->srv.admin, "{}", code, sizeof(code)), 409);
    assert_string_equal(code, "enrollment_not_pending");
    assert_string_equal(enrollment_state(w, m->enrollment_id, st, sizeof(st)), "approved");

    /* The agent resumes: credential activation as usual. */
    rc = da_test_agent(out, sizeof(out), "enroll", "--config", m->conf, "--json", NULL);
    if (rc != 0)
        fail_msg("enroll after approval exited %d: %s", rc, out);
    j = cJSON_Parse(out);
    assert_non_null(j);
    snprintf(m->agent_id, sizeof(m->agent_id), "%s", jstr(j, "agent_id"));
    assert_string_equal(jstr(j, "trust"), "tpm");
    cJSON_Delete(j);
    snprintf(path, sizeof(path), "/v1/agents/%s", m->agent_id);
    doc = admin_get(w, path);
    assert_string_equal(jstr(doc, "ek_trust"), "admin_approval");
    cJSON_Delete(doc);

    rc = da_test_agent(out, sizeof(out), "report", "--config", m->conf, "--json", NULL);
    if (rc != 0 && rc != 4)
        fail_msg("report exited %d: %s", rc, out);
    j = cJSON_Parse(out);
    assert_non_null(j);
    snprintf(report_id, sizeof(report_id), "%s", jstr(j, "report_id"));
    cJSON_Delete(j);
    snprintf(path, sizeof(path), "/v1/reports/%s", report_id);
    doc = admin_get(w, path);
    assert_string_equal(jstr(cJSON_GetObjectItem(doc, "transcript"), "ek_trust"), "admin_approval");
    /* The shipped policy accepts an approved EK (allow_admin_approved_ek). */
    checks = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "verdict"), "checks");
    cJSON_ArrayForEach(c, checks)
    {
        if (strcmp(jstr(c, "id"), "attestation.ek-trust") == 0) {
            assert_string_equal(jstr(c, "verdict"), "pass");
            found = 1;
        }
    }
    assert_true(found);
    cJSON_Delete(doc);
}

/* A policy that requires the manufacturer chain fails the same machine. */
static void test_policy_requires_chain(void **state)
{
    struct world *w = *state;
    struct machine *m = &w->a;
    char out[16384], path[200], report_id[80], *text, *needle;
    const cJSON *checks, *c;
    struct da_test_http r;
    FILE *f;
    long n;
    cJSON *j, *doc;
    int rc, found = 0;

    f = fopen(DA_SOURCE_ROOT "/common/policies/iso27001-2022-devenv.json", "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    rewind(f);
    text = calloc(1, (size_t)n + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    needle = strstr(text, "\"allow_admin_approved_ek\": true");
    assert_non_null(needle);
    /* "true" becomes "false": one byte longer. */
    text = realloc(text, (size_t)n + 2);
    assert_non_null(text);
    needle =
        strstr(text, "\"allow_admin_approved_ek\": true") + strlen("\"allow_admin_approved_ek\": ");
    memmove(needle + 5, needle + 4, strlen(needle + 4) + 1);
    memcpy(needle, "false", 5);
    assert_int_equal(da_test_http(&w->srv, "PUT", "/v1/policy", w->srv.admin, "application/json",
                                  text, strlen(text), &r),
                     0);
    if (r.status != 200)
        fail_msg("PUT /v1/policy: %ld %s", r.status, r.body);
    da_test_http_clear(&r);
    free(text);

    rc = da_test_agent(out, sizeof(out), "report", "--config", m->conf, "--json", NULL);
    assert_int_equal(rc, 4); /* not compliant: a critical check fails */
    j = cJSON_Parse(out);
    assert_non_null(j);
    snprintf(report_id, sizeof(report_id), "%s", jstr(j, "report_id"));
    cJSON_Delete(j);
    snprintf(path, sizeof(path), "/v1/reports/%s", report_id);
    doc = admin_get(w, path);
    checks = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "verdict"), "checks");
    cJSON_ArrayForEach(c, checks)
    {
        if (strcmp(jstr(c, "id"), "attestation.ek-trust") == 0) {
            assert_string_equal(jstr(c, "verdict"), "fail");
            assert_string_equal(jstr(c, "severity"), "critical");
            found = 1;
        }
    }
    assert_true(found);
    cJSON_Delete(doc);
}

static void test_reject(void **state)
{
    struct world *w = *state;
    struct machine *m = &w->b;
    char out[8192], path[160], code[64], st[32], pending[400];
    int rc;

    enroll_pending(w, m);
    snprintf(path, sizeof(path), "/v1/enrollments/%s/reject", m->enrollment_id);
    assert_int_equal(
        post(w, path, w->srv.admin, "{\"reason\": \"not a machine we know\"}", code, sizeof(code)),
        200);
    assert_string_equal(enrollment_state(w, m->enrollment_id, st, sizeof(st)), "rejected");
    rc = da_test_agent(out, sizeof(out), "enroll", "--config", m->conf, NULL);
    assert_int_equal(rc, 1);
    snprintf(path, sizeof(path), "/v1/enrollments/%s/challenge", m->enrollment_id);
    assert_int_equal(post(w, path, NULL, "{}", code, sizeof(code)), 403);
    assert_string_equal(code, "enrollment_rejected");
    /* The agent forgot the decided enrollment: the next enroll needs a token. */
    snprintf(pending, sizeof(pending), "%s/enrollment-pending.json", m->state);
    {
        char buf[512] = {0};
        FILE *f = fopen(pending, "r");

        assert_non_null(f);
        assert_true(fread(buf, 1, sizeof(buf) - 1, f) > 0);
        fclose(f);
        assert_non_null(strstr(buf, "\"enrollment_id\":\t\"\""));
    }
    /* Only machine A became an agent. */
    assert_int_equal(count_items(w, "/v1/agents", "agents"), 1);
    assert_int_equal(count_items(w, "/v1/enrollments?state=rejected", "enrollments"), 1);
    assert_int_equal(count_items(w, "/v1/enrollments?state=approved", "enrollments"), 1);
    assert_int_equal(count_items(w, "/v1/enrollments", "enrollments"), 2);
}

/* After a rejection the machine may ask again with a new token; this time
 * the administrator approves through the API. */
static void test_again_after_reject(void **state)
{
    struct world *w = *state;
    struct machine *m = &w->b;
    char out[8192], path[160], code[64], rejected[64];
    struct da_test_http r;
    cJSON *j;
    int rc;

    snprintf(rejected, sizeof(rejected), "%s", m->enrollment_id);
    enroll_pending(w, m);
    assert_string_not_equal(m->enrollment_id, rejected);
    snprintf(path, sizeof(path), "/v1/enrollments/%s/approve", m->enrollment_id);
    assert_int_equal(post(w, path, w->srv.admin, "{}", code, sizeof(code)), 200);
    /* What the agent asks for next: a challenge (this one goes unanswered). */
    snprintf(path, sizeof(path), "/v1/enrollments/%s/challenge", m->enrollment_id);
    assert_int_equal(da_test_http(&w->srv, "POST", path, NULL, "application/json", "{}", 2, &r), 0);
    assert_int_equal(r.status, 201);
    j = cJSON_Parse(r.body);
    assert_int_equal(strlen(jstr(j, "challenge_id")), 32);
    cJSON_Delete(j);
    da_test_http_clear(&r);
    rc = da_test_agent(out, sizeof(out), "enroll", "--config", m->conf, NULL);
    if (rc != 0)
        fail_msg("enroll after approval exited %d: %s", rc, out);
    assert_non_null(strstr(out, "enrolled: agent "));
    assert_int_equal(count_items(w, "/v1/agents", "agents"), 2);
}

/* A TPM without a certificate in NV whose certificate is given by file
 * (--ek-cert), in the id-RSAES-OAEP form some makers issue: it enrolls by
 * the chain, through a CA the operator added in ek_roots_local. A file
 * that certifies another key is refused by the agent before anything is
 * sent: the token stays unspent. */
/* A certificate for the machine's EK (m->dir/ek.pem, left by the oracle)
 * from the test's CA, and one from the same CA for another key. */
static void issue_ek_certs(struct world *w, struct machine *m)
{
    char cmd[4096], key[300];

    snprintf(key, sizeof(key), "%s/ca.key", w->ca_dir);
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && openssl req -new -newkey rsa:2048 -nodes -keyout other.key -subj /CN=x "
             "-out ek.csr 2>/dev/null && "
             "openssl x509 -req -in ek.csr -force_pubkey ek.pem -CA '%s/roots/test-ca.pem' "
             "-CAkey '%s' -set_serial 7 -days 30 -outform DER -out ek.der 2>/dev/null && "
             "openssl x509 -req -in ek.csr -CA '%s/roots/test-ca.pem' -CAkey '%s' -set_serial 8 "
             "-days 30 -outform DER -out other.der 2>/dev/null",
             m->dir, w->ca_dir, key, w->ca_dir, key);
    assert_int_equal(system(cmd), 0);
}

static void expect_ek_trust(struct world *w, const char *agent_id, const char *want)
{
    char path[160];
    cJSON *doc;

    snprintf(path, sizeof(path), "/v1/agents/%s", agent_id);
    doc = admin_get(w, path);
    assert_string_equal(jstr(doc, "ek_trust"), want);
    cJSON_Delete(doc);
}

/* A TPM without a certificate in NV whose certificate is given by file
 * (--ek-cert), in the id-RSAES-OAEP form some makers issue: it enrolls by
 * the chain, through a CA the operator added in ek_roots_local. A file
 * that certifies another key is refused by the agent before anything is
 * sent: the token stays unspent. */
static void test_ek_cert_file(void **state)
{
    struct world *w = *state;
    struct machine *m = &w->c;
    char out[8192], cmd[4096], oracle[65], plain[400], oaep[400], wrong[400], key[300];
    cJSON *j;
    int rc;

    oracle_ek_sha256(m, oracle); /* leaves the EK's PEM in m->dir/ek.pem */
    issue_ek_certs(w, m);
    snprintf(plain, sizeof(plain), "%s/ek.der", m->dir);
    snprintf(oaep, sizeof(oaep), "%s/ek-oaep.der", m->dir);
    snprintf(wrong, sizeof(wrong), "%s/other.der", m->dir);
    snprintf(key, sizeof(key), "%s/ca.key", w->ca_dir);
    assert_int_equal(tt_oaep_cert(plain, key, oaep), 0);
    /* openssl as the oracle: the key is named id-RSAES-OAEP, not rsaEncryption. */
    snprintf(cmd, sizeof(cmd),
             "openssl asn1parse -inform der -in '%s' | grep -q ':rsaesOaep' && "
             "! openssl asn1parse -inform der -in '%s' | grep -q ':rsaEncryption'",
             oaep, oaep);
    assert_int_equal(system(cmd), 0);

    new_token(w, m);
    rc = da_test_agent(out, sizeof(out), "enroll", "--config", m->conf, "--token-file",
                       m->token_file, "--ek-cert", wrong, NULL);
    assert_int_equal(rc, 1);
    assert_int_equal(count_items(w, "/v1/enrollments", "enrollments"), 3);
    rc = da_test_agent(out, sizeof(out), "enroll", "--config", m->conf, "--token-file",
                       m->token_file, "--ek-cert", oaep, "--json", NULL);
    if (rc != 0)
        fail_msg("enroll --ek-cert exited %d: %s", rc, out);
    j = cJSON_Parse(out);
    assert_non_null(j);
    snprintf(m->agent_id, sizeof(m->agent_id), "%s", jstr(j, "agent_id"));
    cJSON_Delete(j);
    expect_ek_trust(w, m->agent_id, "manufacturer_chain");
    /* No enrollment was held for it. */
    assert_int_equal(count_items(w, "/v1/enrollments", "enrollments"), 3);
}

/* Machine A, approved before, later enrolls again with a certificate: the
 * same agent, now trusted by the chain. */
static void test_approved_machine_gets_certificate(void **state)
{
    struct world *w = *state;
    struct machine *m = &w->a;
    char out[8192], der[400];
    cJSON *j;
    int rc;

    issue_ek_certs(w, m);
    snprintf(der, sizeof(der), "%s/ek.der", m->dir);
    new_token(w, m);
    rc = da_test_agent(out, sizeof(out), "enroll", "--config", m->conf, "--token-file",
                       m->token_file, "--ek-cert", der, "--json", NULL);
    if (rc != 0)
        fail_msg("enroll --ek-cert exited %d: %s", rc, out);
    j = cJSON_Parse(out);
    assert_non_null(j);
    assert_string_equal(jstr(j, "agent_id"), m->agent_id);
    cJSON_Delete(j);
    expect_ek_trust(w, m->agent_id, "manufacturer_chain");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pending),
        cmocka_unit_test(test_approve_then_report),
        cmocka_unit_test(test_policy_requires_chain),
        cmocka_unit_test(test_reject),
        cmocka_unit_test(test_again_after_reject),
        cmocka_unit_test(test_ek_cert_file),
        cmocka_unit_test(test_approved_machine_gets_certificate),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
