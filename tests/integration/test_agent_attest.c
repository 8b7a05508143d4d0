/* devattest-agent attest end to end: the daemon (`run`, every process in
 * its sandbox) on a swtpm with EK certificates, enrolled and reporting to a
 * real devattest-server over TLS; a build user (uid BUILD_UID, a member of
 * attest_group only through its supplementary groups) runs `attest` through
 * attest_socket. The bundle is checked with tools that do not share the
 * agent's code: sha256sum/sha512sum for the subjects, the openssl command
 * line for every signature, the SK certificate chain and the RFC 3161
 * tokens (from a local TSA made with `openssl ts -reply`), git for the
 * commit, and a Python checker (check-attest-bundle) for the JSON Schema,
 * the accompanying statements' digests and the quote's qualifying data,
 * which the quote's own signature is then verified over.
 *
 * One world for the group: the tests run in order. */
#include "da_test.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "agent_test_dir.h"
#include "buf.h"
#include "encoding.h"
#include "err.h"
#include "fields.h"
#include "ipc.h"
#include "picky.h"
#include "privsep.h"
#include "privsep_proto.h"
#include "quote.h"
#include "server_harness.h"
#include "swtpm_harness.h"
#include "tmp_tree.h"
#include "tpm_public.h"

#define AGENT_BIN     DA_BINARY_ROOT "/agent/devattest-agent"
#define SCHEMA        DA_SOURCE_ROOT "/docs/delivery-attestation.schema.json"
#define CHECKER       DA_SOURCE_ROOT "/tests/integration/check-attest-bundle"
#define TSA_RESPONDER DA_SOURCE_ROOT "/tests/support/tsa_responder.py"
#define VERIFY_BIN    DA_BINARY_ROOT "/server/devattest-verify"
#define BUILD_UID     64000
#define ATTEST_GROUP  "staff"
#define OUT_SIZE      (1u << 20)

struct world {
    struct da_test_swtpm tpm;
    struct da_test_server srv;
    char dir[192], conf[256], state[256], spool[256], sock[256], work[256], tsa[256];
    char agent_id[64];
    gid_t gid;
    pid_t daemon, tsa_pid;
};

static char *out_buf;

/* Run argv (NULL-terminated) as root or, with uid != 0, as uid with the
 * given supplementary groups, in dir; stdout and stderr into out_buf.
 * Returns the exit status, -1 when it did not exit. */
static int run_v(uid_t uid, const gid_t *groups, size_t ngroups, const char *dir,
                 const char *const *argv)
{
    int p[2], status;
    size_t got = 0;
    pid_t pid;

    if (pipe(p) != 0)
        return -1;
    pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        dup2(p[1], 2);
        close(p[0]);
        close(p[1]);
        if (dir != NULL && chdir(dir) != 0)
            _exit(126);
        if (uid != 0 && (setgroups(ngroups, groups) != 0 ||
                         setgid(ngroups > 0 ? groups[0] : (gid_t)65534) != 0 || setuid(uid) != 0))
            _exit(125);
        setenv("HOME", dir != NULL ? dir : "/", 1);
        execvp(argv[0], (char *const *)DA_UNCONST(argv));
        _exit(127);
    }
    close(p[1]);
    for (;;) {
        ssize_t r = read(p[0], out_buf + got, OUT_SIZE - 1 - got);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    out_buf[got] = '\0';
    close(p[0]);
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

#define RUN(...)         run_v(0, NULL, 0, NULL, (const char *const[]){__VA_ARGS__, NULL})
#define RUN_IN(dir, ...) run_v(0, NULL, 0, dir, (const char *const[]){__VA_ARGS__, NULL})

/* The build user: uid BUILD_UID, in attest_group (in_group) or not. */
static int build_user(struct world *w, int in_group, const char *const *argv)
{
    gid_t groups[1] = {in_group ? w->gid : (gid_t)65534};

    return run_v(BUILD_UID, groups, 1, w->work, argv);
}

static int write_file(const char *dir, const char *name, const void *p, size_t n)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    if (fwrite(p, 1, n, f) != n) {
        fclose(f);
        return -1;
    }
    return fclose(f) == 0 ? 0 : -1;
}

static char *read_text(const char *path, size_t *len)
{
    struct da_buf b;
    char *s;

    da_buf_init(&b, 64u * 1024 * 1024);
    {
        FILE *f = fopen(path, "rb");
        char chunk[65536];
        size_t n;

        if (f == NULL)
            return NULL;
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
            if (da_buf_append(&b, chunk, n) != 0)
                break;
        fclose(f);
    }
    if (da_buf_append_byte(&b, 0) != 0) {
        da_buf_free(&b);
        return NULL;
    }
    s = (char *)da_buf_take(&b, len);
    if (s != NULL && len != NULL)
        (*len)--;
    return s;
}

static int write_conf(struct world *w)
{
    char text[4096];
    int n = snprintf(text, sizeof(text),
                     "server_url = %s\nserver_ca = %s\ntcti = %s\nstate_dir = %s\n"
                     "spool_dir = %s\ninterval = 1h\njitter = 0s\nenvironment_role = build\n"
                     "sandbox = enforce\nuser = %s\nattest_socket = %s\n"
                     "attest_group = " ATTEST_GROUP "\nattest_max_receipt_age = 1h\n"
                     "tsa_url = http://127.0.0.1:%s/\n",
                     w->srv.base, w->srv.ca, w->tpm.tcti, w->state, w->spool, DA_TEST_AGENT_USER,
                     w->sock, "%TSA%");
    char port[16] = "", path[300], *text2, *at;
    size_t len;

    snprintf(path, sizeof(path), "%s/port", w->tsa);
    for (int i = 0; i < 200 && access(path, F_OK) != 0; i++)
        usleep(50000);
    text2 = read_text(path, &len);
    if (text2 == NULL || len >= sizeof(port))
        return -1;
    memcpy(port, text2, len + 1);
    free(text2);
    at = strstr(text, "%TSA%");
    if (n < 0 || at == NULL)
        return -1;
    {
        char final[4200];

        snprintf(final, sizeof(final), "%.*s%s%s", (int)(at - text), text, port, at + 5);
        return write_file(w->dir, "agent.conf", final, strlen(final));
    }
}

static const char minimal_policy[] =
    "{\"schema\":\"devattest.policy/v1\",\"id\":\"attest-test\",\"version\":\"1\","
    "\"title\":\"attest test\",\"controls\":{\"8.30\":{\"title\":\"Outsourced development\"}},"
    "\"checks\":[{\"id\":\"attestation.tpm\",\"title\":\"TPM\",\"rationale\":\"r\","
    "\"remediation\":\"r\",\"severity\":\"critical\",\"controls\":[\"8.30\"],"
    "\"expr\":{\"pointer\":\"/attestation/trust\",\"op\":\"eq\",\"value\":\"%s\"}}]}";

static int start_tsa(struct world *w)
{
    char port_file[300];

    snprintf(w->tsa, sizeof(w->tsa), "%s/tsa", w->dir);
    snprintf(port_file, sizeof(port_file), "%s/port", w->tsa);
    if (mkdir(w->tsa, 0700) != 0)
        return -1;
    w->tsa_pid = fork();
    if (w->tsa_pid == 0) {
        int null = open("/dev/null", O_WRONLY);

        dup2(null, 1);
        dup2(null, 2);
        da_test_die_with_parent();
        execlp("python3", "python3", TSA_RESPONDER, w->tsa, port_file, (char *)NULL);
        _exit(127);
    }
    if (w->tsa_pid < 0)
        return -1;
    da_test_track_pid(w->tsa_pid);
    return 0;
}

static int group_setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    struct group *g = getgrnam(ATTEST_GROUP);
    char extra[8192 + 512], policy[2048], path[512];

    out_buf = malloc(OUT_SIZE);
    if (w == NULL || g == NULL || out_buf == NULL)
        return -1;
    w->gid = g->gr_gid;
    if (da_test_agent_dir(w->dir, sizeof(w->dir)) != 0 || start_tsa(w) != 0)
        return -1;
    if (da_test_swtpm_start(&w->tpm) != 0)
        return -1;
    snprintf(policy, sizeof(policy), minimal_policy, "tpm");
    if (write_file(w->dir, "policy.json", policy, strlen(policy)) != 0)
        return -1;
    snprintf(extra, sizeof(extra),
             "ek_roots = %s\nrate_per_agent = 1000\nburst_per_agent = 1000\n"
             "policy_file = %s/policy.json\n",
             w->tpm.ca_root, w->dir);
    if (da_test_server_setup(&w->srv, extra) != 0 || da_test_server_start(&w->srv) != 0)
        return -1;
    snprintf(w->conf, sizeof(w->conf), "%s/agent.conf", w->dir);
    snprintf(w->state, sizeof(w->state), "%s/state", w->dir);
    snprintf(w->spool, sizeof(w->spool), "%s/spool", w->dir);
    snprintf(w->sock, sizeof(w->sock), "%s/run/agent.sock", w->dir);
    snprintf(w->work, sizeof(w->work), "%s/work", w->dir);
    snprintf(path, sizeof(path), "%s/run", w->dir);
    if (mkdir(path, 0755) != 0 || mkdir(w->work, 0755) != 0 || write_conf(w) != 0)
        return -1;
    *state = w;
    return 0;
}

static void stop_pid(pid_t *pid)
{
    int status;

    if (*pid <= 0)
        return;
    kill(*pid, SIGTERM);
    waitpid(*pid, &status, 0);
    da_test_untrack_pid(*pid);
    *pid = 0;
}

static int group_teardown(void **state)
{
    struct world *w = *state;

    if (w == NULL)
        return 0;
    stop_pid(&w->daemon);
    stop_pid(&w->tsa_pid);
    (void)da_test_rmtree(w->dir);
    da_test_server_cleanup(&w->srv);
    da_test_swtpm_stop(&w->tpm);
    free(w);
    free(out_buf);
    return 0;
}

static int exists(const char *dir, const char *name)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

static void start_daemon(struct world *w)
{
    char log[300];
    int i;

    snprintf(log, sizeof(log), "%s/daemon.log", w->dir);
    w->daemon = fork();
    assert_true(w->daemon >= 0);
    if (w->daemon == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);

        dup2(fd, 1);
        dup2(fd, 2);
        da_test_die_with_parent();
        execl(AGENT_BIN, AGENT_BIN, "run", "--config", w->conf, (char *)NULL);
        _exit(127);
    }
    da_test_track_pid(w->daemon);
    /* Up when the socket is there and the first report's receipt is kept. */
    for (i = 0; i < 1200 && !(access(w->sock, F_OK) == 0 && exists(w->state, "receipt.json")); i++)
        usleep(100000);
    if (i == 1200) {
        char *text = read_text(log, NULL);

        fail_msg("the daemon did not serve attest: %s", text != NULL ? text : "?");
    }
}

static void test_enroll_and_run(void **state)
{
    struct world *w = *state;
    char token[128], token_file[300];
    cJSON *j;

    assert_int_equal(da_test_server_cli(&w->srv, token, sizeof(token), "token", "create",
                                        "--vendor", "acme", "--ttl", "1h", NULL),
                     0);
    snprintf(token_file, sizeof(token_file), "%s/token", w->dir);
    assert_int_equal(write_file(w->dir, "token", token, strlen(token)), 0);
    if (RUN(AGENT_BIN, "enroll", "--config", w->conf, "--token-file", token_file, "--ek-chain",
            w->tpm.ca_issuer, "--json") != 0)
        fail_msg("enroll: %s", out_buf);
    /* stderr shares the buffer: the JSON object is the last line. */
    j = cJSON_Parse(strrchr(out_buf, '{') != NULL ? strstr(out_buf, "{\"") : out_buf);
    if (j == NULL)
        fail_msg("enroll printed: %s", out_buf);
    snprintf(w->agent_id, sizeof(w->agent_id), "%s",
             cJSON_GetStringValue(cJSON_GetObjectItem(j, "agent_id")));
    cJSON_Delete(j);
    assert_int_equal(strlen(w->agent_id), 32);
    start_daemon(w);
}

/* The build: two artifacts, an SPDX SBOM, a JUnit report (2 passed, 1
 * failed, 1 skipped), a grype report with 3 matches and a git repository
 * with an origin whose URL carries credentials. */
static void make_build(struct world *w)
{
    static const char spdx[] =
        "{\"spdxVersion\":\"SPDX-2.3\",\"dataLicense\":\"CC0-1.0\",\"SPDXID\":\"SPDXRef-DOCUMENT\","
        "\"name\":\"app\",\"documentNamespace\":\"https://example.com/spdx/app-1\","
        "\"creationInfo\":{\"created\":\"2026-12-06T00:00:00Z\",\"creators\":[\"Tool: test\"]},"
        "\"packages\":[{\"name\":\"app\",\"SPDXID\":\"SPDXRef-Package-app\","
        "\"downloadLocation\":\"NOASSERTION\"}]}";
    static const char junit[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<testsuites><testsuite name=\"s\" tests=\"4\">"
        "<testcase classname=\"a\" name=\"one\"/><testcase classname=\"a\" name=\"two\"></testcase>"
        "<testcase classname=\"b\" name=\"three\"><failure message=\"x\">boom</failure></testcase>"
        "<testcase classname=\"b\" name=\"four\"><skipped/></testcase>"
        "</testsuite></testsuites>\n";
    static const char grype[] =
        "{\"matches\":[{\"vulnerability\":{\"id\":\"CVE-1\"}},{\"vulnerability\":{\"id\":\"CVE-2\"}"
        "},"
        "{\"vulnerability\":{\"id\":\"CVE-3\"}}],\"source\":{\"type\":\"directory\"},"
        "\"descriptor\":{\"name\":\"grype\",\"version\":\"0.74.0\","
        "\"db\":{\"built\":\"2026-12-05T01:02:03Z\",\"schemaVersion\":5}}}";
    unsigned char bin[5000];
    char repo[300], uid[16];
    size_t i;

    for (i = 0; i < sizeof(bin); i++)
        bin[i] = (unsigned char)(i * 7 + 3);
    assert_int_equal(write_file(w->work, "app.bin", bin, sizeof(bin)), 0);
    assert_int_equal(write_file(w->work, "lib.so", bin, 1234), 0);
    assert_int_equal(write_file(w->work, "sbom.spdx.json", spdx, strlen(spdx)), 0);
    assert_int_equal(write_file(w->work, "junit.xml", junit, strlen(junit)), 0);
    assert_int_equal(write_file(w->work, "grype.json", grype, strlen(grype)), 0);
    snprintf(repo, sizeof(repo), "%s/repo", w->work);
    assert_int_equal(mkdir(repo, 0755), 0);
    assert_int_equal(write_file(repo, "main.c", "int main(void){return 0;}\n", 26), 0);
    assert_int_equal(RUN_IN(repo, "git", "init", "-q", "-b", "main"), 0);
    assert_int_equal(RUN_IN(repo, "git", "add", "main.c"), 0);
    assert_int_equal(RUN_IN(repo, "git", "-c", "user.name=t", "-c", "user.email=t@example.com",
                            "commit", "-q", "-m", "one"),
                     0);
    assert_int_equal(RUN_IN(repo, "git", "remote", "add", "origin",
                            "https://builder:secret@example.com/acme/app.git"),
                     0);
    snprintf(uid, sizeof(uid), "%d", BUILD_UID);
    assert_int_equal(RUN("chown", "-R", uid, w->work), 0);
}

static cJSON *line_json(const char *line)
{
    cJSON *j = cJSON_Parse(line);

    if (j == NULL)
        fail_msg("not JSON: %.200s", line);
    return j;
}

/* The decoded statement of an envelope. */
static cJSON *statement_of(const cJSON *env, struct da_buf *tmp)
{
    const char *p = cJSON_GetStringValue(cJSON_GetObjectItem(env, "payload"));

    da_buf_init(tmp, 64u * 1024 * 1024);
    assert_non_null(p);
    assert_int_equal(da_base64_decode(p, strlen(p), DA_BASE64_STD, tmp), 0);
    assert_int_equal(da_buf_append_byte(tmp, 0), 0);
    return line_json(da_buf_str(tmp));
}

static void b64_to_file(const char *b64, const char *path, struct da_buf *raw)
{
    char dir[300], *slash;

    da_buf_init(raw, 1u << 20);
    assert_int_equal(da_base64_decode(b64, strlen(b64), DA_BASE64_STD, raw), 0);
    snprintf(dir, sizeof(dir), "%s", path);
    slash = strrchr(dir, '/');
    *slash = '\0';
    assert_int_equal(write_file(dir, slash + 1, da_buf_data(raw), da_buf_len(raw)), 0);
}

/* openssl: the signature over PAE(type, payload) (built here from the DSSE
 * specification) with the certificate's key, the certificate chain and the
 * time-stamp token. */
static void openssl_checks(struct world *w, const cJSON *env, int n)
{
    const cJSON *sig = cJSON_GetArrayItem(cJSON_GetObjectItem(env, "signatures"), 0);
    const char *payload = cJSON_GetStringValue(cJSON_GetObjectItem(env, "payload"));
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(env, "payloadType"));
    char d[300], pae[320], sigf[320], cert[320], pub[320], ca[320], tok[320];
    struct da_buf body, raw, pae_b;
    char head[128];

    snprintf(d, sizeof(d), "%s/check", w->dir);
    mkdir(d, 0700);
    snprintf(pae, sizeof(pae), "%s/pae%d", d, n);
    snprintf(sigf, sizeof(sigf), "%s/sig%d", d, n);
    snprintf(cert, sizeof(cert), "%s/cert.pem", d);
    snprintf(pub, sizeof(pub), "%s/pub.pem", d);
    snprintf(ca, sizeof(ca), "%s/ca.pem", d);
    snprintf(tok, sizeof(tok), "%s/tok%d", d, n);
    da_buf_init(&body, 64u * 1024 * 1024);
    assert_int_equal(da_base64_decode(payload, strlen(payload), DA_BASE64_STD, &body), 0);
    da_buf_init(&pae_b, 64u * 1024 * 1024);
    snprintf(head, sizeof(head), "DSSEv1 %zu %s %zu ", strlen(type), type, da_buf_len(&body));
    assert_int_equal(da_buf_append_str(&pae_b, head), 0);
    assert_int_equal(da_buf_append(&pae_b, da_buf_data(&body), da_buf_len(&body)), 0);
    assert_int_equal(write_file(d, strrchr(pae, '/') + 1, da_buf_data(&pae_b), da_buf_len(&pae_b)),
                     0);
    b64_to_file(cJSON_GetStringValue(cJSON_GetObjectItem(sig, "sig")), sigf, &raw);
    da_buf_free(&raw);
    assert_int_equal(
        write_file(d, "cert.pem", cJSON_GetStringValue(cJSON_GetObjectItem(sig, "certificate")),
                   strlen(cJSON_GetStringValue(cJSON_GetObjectItem(sig, "certificate")))),
        0);
    {
        const char *c0 =
            cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItem(sig, "chain"), 0));

        assert_non_null(c0);
        assert_int_equal(write_file(d, "ca.pem", c0, strlen(c0)), 0);
    }
    assert_int_equal(RUN("openssl", "x509", "-in", cert, "-pubkey", "-noout", "-out", pub), 0);
    if (RUN("openssl", "dgst", "-sha256", "-verify", pub, "-signature", sigf, pae) != 0)
        fail_msg("line %d: openssl does not verify the DSSE signature: %s", n, out_buf);
    if (RUN("openssl", "verify", "-CAfile", ca, cert) != 0)
        fail_msg("openssl verify: %s", out_buf);
    {
        char tsa_ca[300];

        snprintf(tsa_ca, sizeof(tsa_ca), "%s/tsa-ca.pem", w->tsa);
        b64_to_file(cJSON_GetStringValue(cJSON_GetObjectItem(sig, "timestamp")), tok, &raw);
        da_buf_free(&raw);
        if (RUN("openssl", "ts", "-verify", "-in", tok, "-token_in", "-data", sigf, "-CAfile",
                tsa_ca) != 0 ||
            strstr(out_buf, "Verification: OK") == NULL)
            fail_msg("line %d: openssl ts -verify: %s", n, out_buf);
    }
    da_buf_free(&body);
    da_buf_free(&pae_b);
}

/* The keyid: SHA-256 of the certificate's SubjectPublicKeyInfo. */
static void check_keyid(const cJSON *env)
{
    const cJSON *sig = cJSON_GetArrayItem(cJSON_GetObjectItem(env, "signatures"), 0);
    const char *pem = cJSON_GetStringValue(cJSON_GetObjectItem(sig, "certificate"));
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    unsigned char *der = NULL, md[32];
    char hex[65];
    int n = i2d_PUBKEY(X509_get0_pubkey(x), &der);
    unsigned int mdlen = 0;

    assert_true(n > 0);
    assert_int_equal(EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL), 1);
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(sig, "keyid")), hex);
    OPENSSL_free(der);
    X509_free(x);
    BIO_free(bio);
}

/* sha256sum / sha512sum of a work file. */
static void sum_of(struct world *w, const char *tool, const char *name, char *out, size_t size)
{
    assert_int_equal(RUN_IN(w->work, tool, name), 0);
    snprintf(out, size, "%.*s", (int)strcspn(out_buf, " "), out_buf);
}

static void check_subjects(struct world *w, const cJSON *st)
{
    const cJSON *subj = cJSON_GetObjectItem(st, "subject");
    static const char *const names[] = {"app.bin", "lib.so"};
    char want[160];

    assert_int_equal(cJSON_GetArraySize(subj), 2);
    for (int i = 0; i < 2; i++) {
        const cJSON *s = cJSON_GetArrayItem(subj, i);
        const cJSON *d = cJSON_GetObjectItem(s, "digest");

        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(s, "name")), names[i]);
        sum_of(w, "sha256sum", names[i], want, sizeof(want));
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(d, "sha256")), want);
        sum_of(w, "sha512sum", names[i], want, sizeof(want));
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(d, "sha512")), want);
    }
}

/* The quote of a main statement: made by the AK in ak_public, over the
 * qualifying data the Python checker computed, with the PCR values. */
static void check_quote(const cJSON *pred, const char *qd_hex)
{
    const cJSON *q = cJSON_GetObjectItem(pred, "quote");
    struct da_buf ak, at, sg, pcr;
    struct da_tpm_public *pub = NULL;
    struct da_pcr_selection sel;
    struct da_quote_expect e;
    struct da_tpm_clock clock;
    unsigned char qd[32];

    da_buf_init(&ak, 4096);
    da_buf_init(&at, 4096);
    da_buf_init(&sg, 4096);
    da_buf_init(&pcr, 65536);
#define B64(o, k, b)                                                                               \
    assert_int_equal(da_base64_decode(cJSON_GetStringValue(cJSON_GetObjectItem(o, k)),             \
                                      strlen(cJSON_GetStringValue(cJSON_GetObjectItem(o, k))),     \
                                      DA_BASE64_STD, b),                                           \
                     0)
    B64(pred, "ak_public", &ak);
    B64(q, "attest", &at);
    B64(q, "signature", &sg);
    B64(q, "pcr_values", &pcr);
#undef B64
    assert_int_equal(da_hex_decode_to(qd_hex, 64, qd, sizeof(qd), NULL), 0);
    assert_int_equal(da_tpm_public_parse(da_buf_data(&ak), da_buf_len(&ak), &pub), 0);
    assert_int_equal(
        da_pcr_selection_parse(cJSON_GetStringValue(cJSON_GetObjectItem(q, "pcr_selection")), &sel),
        0);
    memset(&e, 0, sizeof(e));
    e.ak = pub;
    e.qualifying_data = qd;
    e.qualifying_data_len = 32;
    e.selection = &sel;
    e.pcr_values = da_buf_data(&pcr);
    e.pcr_values_len = da_buf_len(&pcr);
    e.accept_unsafe_clock = true;
    assert_int_equal(da_quote_verify(da_buf_data(&at), da_buf_len(&at), da_buf_data(&sg),
                                     da_buf_len(&sg), &e, &clock),
                     0);
    /* One byte of other qualifying data: refused. */
    qd[0] ^= 1;
    assert_int_not_equal(da_quote_verify(da_buf_data(&at), da_buf_len(&at), da_buf_data(&sg),
                                         da_buf_len(&sg), &e, &clock),
                         0);
    da_tpm_public_free(pub);
    da_buf_free(&ak);
    da_buf_free(&at);
    da_buf_free(&sg);
    da_buf_free(&pcr);
}

static const cJSON *jget(const cJSON *o, const char *path)
{
    char key[64];
    const char *dot;

    while ((dot = strchr(path, '.')) != NULL) {
        snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
        o = cJSON_GetObjectItem(o, key);
        path = dot + 1;
    }
    return cJSON_GetObjectItem(o, path);
}

static void check_main(struct world *w, const cJSON *st)
{
    const cJSON *p = cJSON_GetObjectItem(st, "predicate");
    const cJSON *cmd = jget(p, "invocation.cmdline");
    char repo[300], head[64];

    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(st, "predicateType")),
                        "https://devattest.dev/build-machine/v1");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(p, "agent_id")), w->agent_id);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(p, "trust")), "tpm");
    assert_int_equal((int)jget(p, "invocation.uid")->valuedouble, BUILD_UID);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetArrayItem(cmd, 0)), AGENT_BIN);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetArrayItem(cmd, 1)), "attest");
    assert_true(cJSON_IsTrue(jget(p, "measured.compliant")));
    snprintf(repo, sizeof(repo), "%s/repo", w->work);
    assert_int_equal(RUN_IN(repo, "git", "-c", "safe.directory=*", "rev-parse", "HEAD"), 0);
    snprintf(head, sizeof(head), "%.40s", out_buf);
    assert_string_equal(cJSON_GetStringValue(jget(p, "git.commit")), head);
    assert_true(cJSON_IsTrue(jget(p, "git.clean")));
    /* The credentials in the remote's URL are left out. */
    assert_string_equal(cJSON_GetStringValue(jget(p, "git.remote")),
                        "https://example.com/acme/app.git");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(p, "statements")), 4);
}

static void check_others(struct world *w, cJSON *const *st, int n)
{
    const cJSON *tr = cJSON_GetObjectItem(st[2], "predicate");
    const cJSON *sc = cJSON_GetObjectItem(st[3], "predicate");
    const cJSON *pv = cJSON_GetObjectItem(st[4], "predicate");
    char builder[320], *sbom;
    cJSON *want;

    assert_int_equal(n, 5);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(st[1], "predicateType")),
                        "https://spdx.dev/Document/v2.3");
    snprintf(builder, sizeof(builder), "%s/sbom.spdx.json", w->work);
    sbom = read_text(builder, NULL);
    want = cJSON_Parse(sbom);
    assert_true(cJSON_Compare(want, cJSON_GetObjectItem(st[1], "predicate"), 1));
    cJSON_Delete(want);
    free(sbom);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(tr, "result")), "FAILED");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(tr, "passedTests")), 2);
    assert_string_equal(
        cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItem(tr, "failedTests"), 0)),
        "b.three");
    assert_string_equal(
        cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItem(tr, "warnedTests"), 0)),
        "b.four");
    assert_int_equal((int)cJSON_GetObjectItem(sc, "findings")->valuedouble, 3);
    assert_string_equal(cJSON_GetStringValue(jget(sc, "scanner.version")), "0.74.0");
    assert_string_equal(cJSON_GetStringValue(jget(sc, "scanner.db_date")), "2026-12-05T01:02:03Z");
    snprintf(builder, sizeof(builder), "https://devattest.dev/agent/%s", w->agent_id);
    assert_string_equal(cJSON_GetStringValue(jget(pv, "runDetails.builder.id")), builder);
    assert_string_equal(
        cJSON_GetStringValue(jget(pv, "buildDefinition.internalParameters.evidence_digest")),
        cJSON_GetStringValue(jget(cJSON_GetObjectItem(st[0], "predicate"), "evidence_digest")));
}

/* Split text into lines (each ends with '\n'); returns the count. */
static int split_lines(char *text, char **lines, int max)
{
    int n = 0;
    char *p = text, *nl;

    while (n < max && (nl = strchr(p, '\n')) != NULL) {
        *nl = '\0';
        lines[n++] = p;
        p = nl + 1;
    }
    return n;
}

/* devattest-verify bundle, offline, with what a customer has: the CA, the
 * server's /v1/keys answer saved to a file, the artifacts, the TSA's root. */
static void verify_offline(struct world *w, const char *bundle)
{
    char keys[300], app[300], lib[300], tsa_ca[300];
    struct da_test_http r;

    snprintf(keys, sizeof(keys), "%s/keys.json", w->work);
    snprintf(app, sizeof(app), "%s/app.bin", w->work);
    snprintf(lib, sizeof(lib), "%s/lib.so", w->work);
    snprintf(tsa_ca, sizeof(tsa_ca), "%s/tsa-ca.pem", w->tsa);
    assert_int_equal(da_test_http(&w->srv, "GET", "/v1/keys", NULL, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(write_file(w->work, "keys.json", r.body, r.len), 0);
    da_test_http_clear(&r);
    if (RUN(VERIFY_BIN, "bundle", bundle, "--ca", w->srv.ca, "--keys", keys, "--artifact", app,
            "--artifact", lib, "--require", "sbom,tests,scan,provenance", "--tsa-ca", tsa_ca,
            "--max-age", "1h") != 0)
        fail_msg("devattest-verify bundle: %s", out_buf);
    assert_non_null(strstr(out_buf, "\nverified\n"));
    assert_non_null(strstr(out_buf, "timestamp          ok"));
    /* One byte of an artifact changed: refused. */
    {
        size_t len = 0;
        char *text = read_text(lib, &len);
        assert_non_null(text);
        assert_true(len > 0);
        text[len / 2] ^= 0x01;
        assert_int_equal(write_file(w->work, "lib.so.changed", text, len), 0);
        free(text);
    }
    snprintf(lib, sizeof(lib), "%s/lib.so.changed", w->work);
    assert_int_equal(RUN(VERIFY_BIN, "bundle", bundle, "--ca", w->srv.ca, "--keys", keys,
                         "--tsa-ca", tsa_ca, "--artifact", lib),
                     1);
    assert_non_null(strstr(out_buf, "FAIL artifact_not_subject"));
}

static void test_attest_roundtrip(void **state)
{
    struct world *w = *state;
    const char *const argv[] = {
        AGENT_BIN, "attest",         "app.bin",        "lib.so",    "-o",     "out.intoto.jsonl",
        "--sbom",  "sbom.spdx.json", "--test-results", "junit.xml", "--scan", "grype.json",
        "--git",   "repo",           "--config",       w->conf,     NULL};
    char bundle[300], *text, *first, *lines[16], qd[65];
    cJSON *env[5], *st[5];
    struct da_buf tmp[5];
    size_t len, first_len;
    int n, i, rc;

    make_build(w);
    rc = build_user(w, 1, argv);
    if (rc != 0)
        fail_msg("attest exited %d: %s", rc, out_buf);
    assert_non_null(strstr(out_buf, "5 statements appended"));
    snprintf(bundle, sizeof(bundle), "%s/out.intoto.jsonl", w->work);
    if (RUN(CHECKER, SCHEMA, bundle) != 0)
        fail_msg("check-attest-bundle: %s", out_buf);
    {
        cJSON *c = cJSON_Parse(out_buf);

        assert_non_null(c);
        assert_int_equal((int)cJSON_GetObjectItem(c, "line")->valuedouble, 1);
        snprintf(qd, sizeof(qd), "%s", cJSON_GetStringValue(cJSON_GetObjectItem(c, "qd")));
        cJSON_Delete(c);
    }
    text = read_text(bundle, &len);
    assert_non_null(text);
    first = strdup(text);
    first_len = len;
    n = split_lines(text, lines, 16);
    assert_int_equal(n, 5);
    for (i = 0; i < n; i++) {
        env[i] = line_json(lines[i]);
        st[i] = statement_of(env[i], &tmp[i]);
        check_keyid(env[i]);
        openssl_checks(w, env[i], i);
        check_subjects(w, st[i]);
    }
    check_main(w, st[0]);
    check_quote(cJSON_GetObjectItem(st[0], "predicate"), qd);
    check_others(w, st, n);
    verify_offline(w, bundle);
    for (i = 0; i < n; i++) {
        cJSON_Delete(env[i]);
        cJSON_Delete(st[i]);
        da_buf_free(&tmp[i]);
    }
    free(text);
    /* A second build appends; the earlier lines stay as they were. This
     * one brings a CycloneDX SBOM and a clamscan log, from a changed tree. */
    {
        static const char clam[] = "/w/app.bin: OK\n\n----------- SCAN SUMMARY -----------\n"
                                   "Known viruses: 8708484\nEngine version: 1.0.7\n"
                                   "Scanned files: 1\nInfected files: 0\n";
        const char *const again[] = {
            AGENT_BIN, "attest",   "app.bin", "-o",   "out.intoto.jsonl", "--sbom", "cdx.json",
            "--scan",  "clam.log", "--git",   "repo", "--config",         w->conf,  NULL};
        char repo[300];

        snprintf(repo, sizeof(repo), "%s/repo", w->work);
        /* A large SBOM (about 3 MiB, 30000 components) goes through whole. */
        struct da_buf cdx;

        da_buf_init(&cdx, 4u * 1024 * 1024);
        assert_int_equal(da_buf_append_str(&cdx, "{\"bomFormat\":\"CycloneDX\",\"specVersion\":"
                                                 "\"1.5\",\"version\":1,\"components\":["),
                         0);
        for (i = 0; i < 30000; i++)
            assert_int_equal(da_buf_printf(&cdx,
                                           "%s{\"type\":\"library\",\"name\":\"lib%d\","
                                           "\"version\":\"1.0.%d\",\"purl\":\"pkg:generic/"
                                           "lib%d@1.0.%d\"}",
                                           i > 0 ? "," : "", i, i, i, i),
                             0);
        assert_int_equal(da_buf_append_str(&cdx, "]}"), 0);
        assert_true(da_buf_len(&cdx) > 2u * 1024 * 1024);
        assert_int_equal(write_file(w->work, "cdx.json", da_buf_data(&cdx), da_buf_len(&cdx)), 0);
        da_buf_free(&cdx);
        assert_int_equal(write_file(w->work, "clam.log", clam, strlen(clam)), 0);
        assert_int_equal(write_file(repo, "main.c", "int main(void){return 1;}\n", 26), 0);
        rc = build_user(w, 1, again);
        if (rc != 0)
            fail_msg("attest again exited %d: %s", rc, out_buf);
    }
    text = read_text(bundle, &len);
    assert_true(len > first_len);
    assert_memory_equal(text, first, first_len);
    assert_int_equal(split_lines(text, lines, 16), 9);
    if (RUN(CHECKER, SCHEMA, bundle) != 0)
        fail_msg("check-attest-bundle after append: %s", out_buf);
    {
        struct da_buf b, b2, b3;
        cJSON *e = line_json(lines[5]), *s = statement_of(e, &b), *sc, *sb;
        const cJSON *p = cJSON_GetObjectItem(s, "predicate");

        assert_false(cJSON_IsTrue(jget(p, "git.clean")));
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(p, "statements")), 3);
        cJSON_Delete(e);
        e = line_json(lines[6]);
        sb = statement_of(e, &b2);
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(sb, "predicateType")),
                            "https://cyclonedx.org/bom/v1.5");
        cJSON_Delete(e);
        e = line_json(lines[7]);
        sc = statement_of(e, &b3);
        assert_string_equal(
            cJSON_GetStringValue(jget(cJSON_GetObjectItem(sc, "predicate"), "kind")), "malware");
        assert_int_equal((int)jget(cJSON_GetObjectItem(sc, "predicate"), "findings")->valuedouble,
                         0);
        cJSON_Delete(e);
        cJSON_Delete(s);
        cJSON_Delete(sb);
        cJSON_Delete(sc);
        da_buf_free(&b);
        da_buf_free(&b2);
        da_buf_free(&b3);
    }
    free(text);
    free(first);
}

/* A caller outside attest_group is refused, and nothing is written. */
static void test_attest_outside_group(void **state)
{
    struct world *w = *state;
    const char *const argv[] = {AGENT_BIN,  "attest", "app.bin", "-o", "denied.intoto.jsonl",
                                "--config", w->conf,  NULL};

    assert_int_equal(build_user(w, 0, argv), 1);
    /* The socket's mode already keeps it out; the peer check holds when
     * it gets past that (a root caller outside the group, below). */
    assert_false(exists(w->work, "denied.intoto.jsonl"));
    assert_int_equal(RUN_IN(w->work, AGENT_BIN, "attest", "app.bin", "-o", "root.intoto.jsonl",
                            "--config", w->conf),
                     1);
    if (strstr(out_buf, "not in the group " ATTEST_GROUP) == NULL)
        fail_msg("root outside the group: %s", out_buf);
    assert_non_null(strstr(out_buf, "attest_denied"));
    assert_false(exists(w->work, "root.intoto.jsonl"));
}

/* Speak the socket protocol directly as a group member: whatever is sent,
 * the answer is a refusal, never a signature. */
static int raw_request(struct world *w, uint32_t type, const char *json, char *err, size_t es)
{
    static const struct agent_ipc_handler answers[] = {
        AGENT_MSG_ROW(ATTEST_OK, NULL),
        AGENT_MSG_ROW(ERROR, NULL),
    };
    struct sockaddr_un a;
    struct da_buf frame, ans;
    uint32_t got = 0;
    int fd, r, p[2], status;
    pid_t pid;

    /* In a child with the build user's credentials. */
    if (pipe(p) != 0)
        return -1;
    pid = fork();
    if (pid == 0) {
        gid_t g[1] = {w->gid};

        close(p[0]);
        if (setgroups(1, g) != 0 || setgid(65534) != 0 || setuid(BUILD_UID) != 0)
            _exit(2);
        memset(&a, 0, sizeof(a));
        a.sun_family = AF_UNIX;
        memcpy(a.sun_path, w->sock, strlen(w->sock));
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
            _exit(3);
        da_buf_init(&frame, AGENT_MAX_ATTEST_LINES);
        da_buf_init(&ans, 0);
        r = agent_fields_put(&frame, json, strlen(json));
        if (r == 0)
            r = agent_ipc_call(fd, type, da_buf_data(&frame), da_buf_len(&frame), answers, 2,
                               180000, &got, &ans);
        if (r == 0 && got == AGENT_MSG_ERROR) {
            (void)!write(p[1], da_buf_data(&ans) + 4, da_buf_len(&ans) - 4);
            _exit(1);
        }
        _exit(r == 0 && got == AGENT_MSG_ATTEST_OK ? 0 : 4);
    }
    close(p[1]);
    memset(err, 0, es);
    {
        ssize_t n, got_n = 0;

        while ((n = read(p[0], err + got_n, es - 1 - (size_t)got_n)) > 0)
            got_n += n;
    }
    close(p[0]);
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#define SUBJ                                                                                       \
    "\"subject\":[{\"name\":\"x\",\"digest\":{\"sha256\":\"" HEX64 "\",\"sha512\":\"" HEX64 HEX64  \
    "\"}}]"
#define HEX64 "0000000000000000000000000000000000000000000000000000000000000000"

static void test_attest_no_arbitrary_signing(void **state)
{
    struct world *w = *state;
    /* code 8 bytes, then the text; the code tells which check refused */
    static const struct {
        uint32_t type;
        const char *json;
        int code;
    } cases[] = {
        /* bytes to sign as they are */
        {AGENT_MSG_ATTEST, "{\"payload\":\"aGVsbG8=\",\"payloadType\":\"text/plain\"}",
         DA_ERR_ATTEST_REQUEST},
        /* an extra member next to a valid request */
        {AGENT_MSG_ATTEST, "{" SUBJ ",\"statements\":[],\"payload\":\"aGVsbG8=\"}",
         DA_ERR_ATTEST_REQUEST},
        /* a build-machine or provenance statement of the caller's making */
        {AGENT_MSG_ATTEST,
         "{" SUBJ ",\"statements\":[{\"predicateType\":\"https://devattest.dev/build-machine/v1\","
         "\"predicate\":{\"agent_id\":\"x\"}}]}",
         DA_ERR_ATTEST_REQUEST},
        {AGENT_MSG_ATTEST,
         "{" SUBJ ",\"statements\":[{\"predicateType\":\"https://slsa.dev/provenance/v1\","
         "\"predicate\":{}}]}",
         DA_ERR_ATTEST_REQUEST},
        /* an unknown predicate type */
        {AGENT_MSG_ATTEST,
         "{" SUBJ ",\"statements\":[{\"predicateType\":\"https://example.com/any\","
         "\"predicate\":{\"data\":\"hello\"}}]}",
         DA_ERR_ATTEST_REQUEST},
        /* an "SBOM" that is not one */
        {AGENT_MSG_ATTEST,
         "{" SUBJ ",\"statements\":[{\"predicateType\":\"https://spdx.dev/Document/v2.3\","
         "\"predicate\":{\"data\":\"hello\"}}]}",
         DA_ERR_SBOM_FORMAT},
        /* a digest that is not hex of its length */
        {AGENT_MSG_ATTEST,
         "{\"subject\":[{\"name\":\"x\",\"digest\":{\"sha256\":\"hello\",\"sha512\":\"" HEX64 HEX64
         "\"}}],\"statements\":[]}",
         DA_ERR_ATTEST_REQUEST},
    };
    char err[512];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = raw_request(w, cases[i].type, cases[i].json, err, sizeof(err));
        uint64_t code = 0;

        if (rc != 1)
            fail_msg("case %zu: exit %d (0 would be a signature)", i, rc);
        for (int k = 0; k < 8; k++)
            code = code << 8 | (unsigned char)err[k];
        if (-(int)code != cases[i].code)
            fail_msg("case %zu: refused with %d, expected %d (%s)", i, -(int)code, cases[i].code,
                     err + 12);
    }
    /* A frame meant for the signer is not accepted from a caller (the
     * request is refused), and the listener goes on serving. */
    assert_int_equal(raw_request(w, AGENT_MSG_ATTEST_SIGN, "{}", err, sizeof(err)), 1);
    assert_non_null(strstr(err + 12, "the request is refused"));
    assert_int_equal(
        raw_request(w, AGENT_MSG_ATTEST, "{" SUBJ ",\"statements\":[]}", err, sizeof(err)), 0);
}

/* A receipt older than attest_max_receipt_age, and one with a non-compliant
 * verdict, are refused with a message naming `report`. */
static void test_attest_receipt_refusals(void **state)
{
    struct world *w = *state;
    const char *const argv[] = {AGENT_BIN,           "attest",   "app.bin", "-o",
                                "late.intoto.jsonl", "--config", w->conf,   NULL};
    struct da_test_http r;
    char policy[2048], *saved, path[300], *pl, *old;
    cJSON *env, *payload;
    struct da_buf b;
    size_t len;

    /* Old: the receipt's issued_at moved back two hours (its signature no
     * longer holds, which only the verifier checks; the age is refused
     * first). */
    snprintf(path, sizeof(path), "%s/receipt.json", w->state);
    saved = read_text(path, &len);
    assert_non_null(saved);
    env = cJSON_Parse(saved);
    pl = cJSON_GetStringValue(cJSON_GetObjectItem(env, "payload"));
    da_buf_init(&b, 65536);
    assert_int_equal(da_base64_decode(pl, strlen(pl), DA_BASE64_STD, &b), 0);
    assert_int_equal(da_buf_append_byte(&b, 0), 0);
    payload = cJSON_Parse(da_buf_str(&b));
    {
        char when[32];
        time_t t = time(NULL) - 7200;
        struct tm tm;
        char *text;
        struct da_buf e;

        gmtime_r(&t, &tm);
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        cJSON_ReplaceItemInObject(payload, "issued_at", cJSON_CreateString(when));
        text = cJSON_PrintUnformatted(payload);
        da_buf_init(&e, 65536);
        assert_int_equal(da_base64_encode(text, strlen(text), DA_BASE64_STD, &e), 0);
        cJSON_ReplaceItemInObject(env, "payload", cJSON_CreateString(da_buf_str(&e)));
        free(text);
        da_buf_free(&e);
        old = cJSON_PrintUnformatted(env);
    }
    assert_int_equal(write_file(w->state, "receipt.json", old, strlen(old)), 0);
    assert_int_equal(build_user(w, 1, argv), 1);
    assert_non_null(strstr(out_buf, "attest_receipt_old"));
    assert_non_null(strstr(out_buf, "devattest-agent report"));
    assert_false(exists(w->work, "late.intoto.jsonl"));
    assert_int_equal(write_file(w->state, "receipt.json", saved, len), 0);
    free(old);
    free(saved);
    cJSON_Delete(env);
    cJSON_Delete(payload);
    da_buf_free(&b);

    /* Not compliant: a policy this machine fails, a report under it. */
    snprintf(policy, sizeof(policy), minimal_policy, "software");
    assert_int_equal(da_test_http(&w->srv, "PUT", "/v1/policy", w->srv.admin, "application/json",
                                  policy, strlen(policy), &r),
                     0);
    assert_int_equal(r.status, 200);
    da_test_http_clear(&r);
    /* The daemon holds the spool: restart it, and its first report is
     * judged under the new policy. */
    stop_pid(&w->daemon);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(unlink(w->sock), 0);
    start_daemon(w);
    assert_int_equal(build_user(w, 1, argv), 1);
    assert_non_null(strstr(out_buf, "attest_not_compliant"));
    assert_false(exists(w->work, "late.intoto.jsonl"));

    /* Configured to attest anyway: signed, and the verdict says so. */
    {
        static const char allow[] = "attest_allow_noncompliant = yes\n";
        char bundle[300], *text;
        FILE *f = fopen(w->conf, "a");
        struct da_buf pb;
        cJSON *e, *st;

        assert_non_null(f);
        assert_int_equal(fputs(allow, f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
        stop_pid(&w->daemon);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(unlink(w->sock), 0);
        start_daemon(w);
        if (build_user(w, 1, argv) != 0)
            fail_msg("attest with attest_allow_noncompliant: %s", out_buf);
        snprintf(bundle, sizeof(bundle), "%s/late.intoto.jsonl", w->work);
        text = read_text(bundle, NULL);
        assert_non_null(text);
        e = line_json(text);
        st = statement_of(e, &pb);
        assert_true(
            cJSON_IsFalse(jget(cJSON_GetObjectItem(st, "predicate"), "measured.compliant")));
        cJSON_Delete(e);
        cJSON_Delete(st);
        da_buf_free(&pb);
        free(text);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enroll_and_run),
        cmocka_unit_test(test_attest_roundtrip),
        cmocka_unit_test(test_attest_outside_group),
        cmocka_unit_test(test_attest_no_arbitrary_signing),
        cmocka_unit_test(test_attest_receipt_refusals),
    };

    if (geteuid() != 0) {
        printf("1..0 # SKIP needs root (a build user and the agent's user)\n");
        return 0;
    }
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
