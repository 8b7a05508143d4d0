/* devattest-agent end to end: the real agent binary (collector, signer and
 * uploader processes, each in its sandbox) against a real devattest-server
 * over TLS on loopback, with a swtpm holding EK certificates from a CA made
 * for this test, and the shipped ISO 27001 policy.
 *
 * One world for the group: the tests run in order (enroll first). */
#include "agent_run.h"
#include "da_test.h"

#include <dirent.h>
#include <limits.h>
#include <errno.h>
#include <pwd.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "agent_test_dir.h"
#include "err.h"
#include "log.h"
#include "server_harness.h"
#include "spool.h"
#include "swtpm_harness.h"
#include "tmp_tree.h"
#include "picky.h"

#define AGENT_BIN DA_BINARY_ROOT "/agent/devattest-agent"

struct world {
    struct da_test_swtpm tpm;
    struct da_test_server srv;
    char dir[192];   /* agent files */
    char conf[256];  /* agent.conf */
    char state[256]; /* state_dir */
    char spool[256];
    char agent_id[64];
};

static struct world *W;

static int write_conf(struct world *w)
{
    FILE *f = fopen(w->conf, "w");

    if (f == NULL)
        return -1;
    fprintf(f,
            "server_url = %s\nserver_ca = %s\ntcti = %s\nstate_dir = %s\nspool_dir = %s\n"
            "interval = 30s\njitter = 0s\nenvironment_role = build\nlog_level = info\n"
            "sandbox = enforce\nuser = %s\n",
            w->srv.base, w->srv.ca, w->tpm.tcti, w->state, w->spool, DA_TEST_AGENT_USER);
    return fclose(f) == 0 ? 0 : -1;
}

static int group_setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    char extra[8192 + 512];

    if (w == NULL || da_test_swtpm_start(&w->tpm) != 0)
        return -1;
    snprintf(extra, sizeof(extra),
             "ek_roots = %s\nrate_per_agent = 1000\nburst_per_agent = 1000\n"
             "policy_file = %s/common/policies/iso27001-2022-devenv.json\n",
             w->tpm.ca_root, DA_SOURCE_ROOT);
    if (da_test_server_setup(&w->srv, extra) != 0 || da_test_server_start(&w->srv) != 0)
        return -1;
    /* The agent refuses directories below one that others may write (such
     * as /tmp): its files go below the build tree. */
    if (da_test_agent_dir(w->dir, sizeof(w->dir)) != 0)
        return -1;
    snprintf(w->conf, sizeof(w->conf), "%s/agent.conf", w->dir);
    snprintf(w->state, sizeof(w->state), "%s/state", w->dir);
    snprintf(w->spool, sizeof(w->spool), "%s/spool", w->dir);
    if (write_conf(w) != 0)
        return -1;
    W = w;
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

static cJSON *parse_out(const char *out)
{
    cJSON *j = cJSON_Parse(out);

    if (j == NULL)
        fail_msg("agent output is not JSON: %s", out);
    return j;
}

static const char *jstr(const cJSON *j, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

    return cJSON_IsString(v) ? v->valuestring : "";
}

static int server_report_count(struct world *w)
{
    struct da_test_http r;
    char path[160];
    cJSON *doc;
    int n;

    snprintf(path, sizeof(path), "/v1/agents/%s/reports?limit=1000", w->agent_id);
    assert_int_equal(da_test_http(&w->srv, "GET", path, w->srv.auditor, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    doc = cJSON_Parse(r.body);
    n = cJSON_GetArraySize(cJSON_GetObjectItem(doc, "reports"));
    cJSON_Delete(doc);
    da_test_http_clear(&r);
    return n;
}

static void status_json(struct world *w, cJSON **j, int *rc)
{
    char out[8192];

    *rc = da_test_agent(out, sizeof(out), "status", "--config", w->conf, "--json", NULL);
    *j = parse_out(out);
}

static void test_enroll(void **state)
{
    struct world *w = *state;
    char token[128], out[8192], token_file[256];
    cJSON *j;
    FILE *f;
    int rc;

    /* Not enrolled yet: report refuses, status says so. */
    assert_int_equal(da_test_agent(out, sizeof(out), "report", "--config", w->conf, NULL), 1);
    status_json(w, &j, &rc);
    assert_int_equal(rc, 1);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(j, "enrolled")));
    cJSON_Delete(j);

    assert_int_equal(da_test_server_cli(&w->srv, token, sizeof(token), "token", "create",
                                        "--vendor", "acme", "--ttl", "1h", NULL),
                     0);
    /* The token from a file (not on the command line, where every user of
     * the machine can read it). */
    snprintf(token_file, sizeof(token_file), "%s/token", w->dir);
    f = fopen(token_file, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", token);
    assert_int_equal(fclose(f), 0);
    rc = da_test_agent(out, sizeof(out), "enroll", "--config", w->conf, "--token-file", token_file,
                       "--ek-chain", w->tpm.ca_issuer, "--json", NULL);
    if (rc != 0)
        fail_msg("enroll exited %d: %s", rc, out);
    j = parse_out(out);
    snprintf(w->agent_id, sizeof(w->agent_id), "%s", jstr(j, "agent_id"));
    assert_int_equal(strlen(w->agent_id), 32);
    assert_string_equal(jstr(j, "trust"), "tpm");
    cJSON_Delete(j);
    /* The token was single use (given on standard input this time). */
    snprintf(token_file, sizeof(token_file), "%s\n", token);
    assert_int_equal(da_test_agent_input(token_file, out, sizeof(out), "enroll", "--config",
                                         w->conf, "--ek-chain", w->tpm.ca_issuer, NULL),
                     1);
}

static void test_report_and_status(void **state)
{
    struct world *w = *state;
    char out[8192];
    cJSON *j;
    int rc;

    rc = da_test_agent(out, sizeof(out), "report", "--config", w->conf, "--json", NULL);
    j = parse_out(out);
    /* Delivered: compliant or not is this machine's business (exit 0 or 4). */
    if (rc != 0 && rc != 4)
        fail_msg("report exited %d: %s", rc, out);
    assert_int_equal((int)cJSON_GetObjectItem(j, "delivered")->valuedouble, 1);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(j, "pending")));
    assert_int_equal(strlen(jstr(j, "report_id")) > 0, 1);
    /* The server's verdict per control (ISO 27001 8.30 and 8.31 among them). */
    assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "controls"), "8.30"));
    assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "controls"), "8.31"));
    assert_int_equal(rc == 0, cJSON_IsTrue(cJSON_GetObjectItem(j, "compliant")));
    cJSON_Delete(j);
    assert_int_equal(server_report_count(w), 1);
    {
        /* The confined uploader wrote the collector's caches for it. */
        char cache[300];

        snprintf(cache, sizeof(cache), "%s/agent.cache", w->state);
        if (access(cache, F_OK) != 0)
            fail_msg("%s: not written by report", cache);
    }

    status_json(w, &j, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(jstr(j, "last_result"), "accepted");
    assert_string_equal(jstr(j, "agent_id"), w->agent_id);
    assert_int_equal(
        (int)cJSON_GetObjectItem(cJSON_GetObjectItem(j, "spool"), "reports")->valuedouble, 0);
    cJSON_Delete(j);
}

static void test_check(void **state)
{
    struct world *w = *state;
    char out[65536];
    cJSON *j;
    int rc;

    rc = da_test_agent(out, sizeof(out), "check", "--config", w->conf, "--json", NULL);
    if (rc != 0 && rc != 4)
        fail_msg("check exited %d: %s", rc, out);
    j = parse_out(out);
    /* The verdict decides the exit code: 0 only when compliant. */
    assert_non_null(cJSON_GetObjectItem(j, "verdict"));
    assert_int_equal(rc == 0, strcmp(jstr(j, "verdict"), "pass") == 0 ||
                                  strcmp(jstr(j, "verdict"), "not_applicable") == 0);
    cJSON_Delete(j);
    /* The text form lists what fails with its remediation. */
    rc = da_test_agent(out, sizeof(out), "check", "--config", w->conf, NULL);
    assert_true(rc == 0 || rc == 4);
    assert_true(strlen(out) > 0);
}

/* Server away for several cycles: every report is spooled, then all of
 * them arrive, once each, when it is back. */
static void test_outage_then_delivery(void **state)
{
    struct world *w = *state;
    char out[8192];
    int before = server_report_count(w), i, rc;
    cJSON *j;

    assert_int_equal(da_test_server_stop(&w->srv), 0);
    for (i = 0; i < 3; i++) {
        rc = da_test_agent(out, sizeof(out), "report", "--config", w->conf, "--json", NULL);
        assert_int_equal(rc, 1);
        j = parse_out(out);
        assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "pending")));
        cJSON_Delete(j);
    }
    status_json(w, &j, &rc);
    assert_int_equal(rc, 1);
    assert_string_equal(jstr(j, "last_result"), "spooled");
    assert_int_equal(
        (int)cJSON_GetObjectItem(cJSON_GetObjectItem(j, "spool"), "reports")->valuedouble, 3);
    cJSON_Delete(j);

    /* Back (on a new port: the configuration follows it). */
    assert_int_equal(da_test_server_start(&w->srv), 0);
    assert_int_equal(write_conf(w), 0);
    rc = da_test_agent(out, sizeof(out), "report", "--config", w->conf, "--json", NULL);
    if (rc != 0 && rc != 4)
        fail_msg("report after the outage exited %d: %s", rc, out);
    j = parse_out(out);
    /* The three spooled ones (re-quoted: their local nonces were refused)
     * and the new one. */
    assert_int_equal((int)cJSON_GetObjectItem(j, "delivered")->valuedouble, 4);
    cJSON_Delete(j);
    assert_int_equal(server_report_count(w), before + 4);
    status_json(w, &j, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(
        (int)cJSON_GetObjectItem(cJSON_GetObjectItem(j, "spool"), "reports")->valuedouble, 0);
    cJSON_Delete(j);
}

/* SIGKILL at random points of report cycles that spool (server away):
 * whatever the spool holds afterwards is whole. */
static void test_sigkill_while_spooling(void **state)
{
    struct world *w = *state;
    unsigned seed = (unsigned)time(NULL);
    struct agent_spool *sp = NULL;
    struct da_buf b;
    int round, status;

    assert_int_equal(da_test_server_stop(&w->srv), 0);
    da_buf_init(&b, 0);
    print_message("seed %u\n", seed);
    for (round = 0; round < 6; round++) {
        uint64_t *seqs = NULL, created;
        size_t n, i;
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0) {
            int devnull = open("/dev/null", O_WRONLY);

            dup2(devnull, 1);
            dup2(devnull, 2);
            execl(AGENT_BIN, AGENT_BIN, "report", "--config", w->conf, (char *)NULL);
            _exit(127);
        }
        usleep(200000 + (useconds_t)(rand_r(&seed) % 1500000));
        kill(pid, SIGKILL);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        /* The children die with their parent (PDEATHSIG); give them a moment. */
        usleep(100000);
        assert_int_equal(agent_spool_open(w->spool, 1000, 1u << 30, &sp), 0);
        assert_int_equal(agent_spool_list(sp, &seqs, &n), 0);
        for (i = 0; i < n; i++)
            assert_int_equal(agent_spool_read(sp, seqs[i], &created, &b), 0);
        free(seqs);
        agent_spool_close(sp);
    }
    da_buf_free(&b);
    /* Killed signers left objects in a TPM that has no resource manager. */
    assert_int_equal(da_test_swtpm_restart(&w->tpm), 0);
    assert_int_equal(da_test_server_start(&w->srv), 0);
    assert_int_equal(write_conf(w), 0);
}

/* One field of /proc/PID/status ("Uid", "CapEff", ...): the text after the
 * colon, blanks skipped. */
static int proc_status_field(pid_t pid, const char *key, char *out, size_t size)
{
    char path[64], line[256];
    size_t klen = strlen(key);
    FILE *f;
    int found = -1;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (found != 0 && fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            const char *v = line + klen + 1;

            v += strspn(v, " \t");
            snprintf(out, size, "%.*s", (int)strcspn(v, "\n"), v);
            found = 0;
        }
    }
    fclose(f);
    return found;
}

static char proc_error[1024];

/* The uploader (pid) and its children, as the kernel shows them: none runs
 * as root, each has no_new_privs and a seccomp filter, and the capabilities
 * are exactly those docs/internals/sandbox.md lists: none for the uploader
 * and the signer, CAP_DAC_READ_SEARCH (bit 2) for the collector,
 * CAP_NET_ADMIN (bit 12) for the firewall reader. NULL, or what is wrong. */
static const char *running_processes_error(pid_t pid)
{
    static const char *const want_caps[] = {"0000000000000000", "0000000000000004",
                                            "0000000000001000"};
    static const char *const keys[] = {"Uid", "NoNewPrivs", "Seccomp", "CapEff", "CapPrm"};
    char v[5][128], want_uid[64];
    int seen[3] = {0, 0, 0};
    uid_t uid = getpwnam(DA_TEST_AGENT_USER)->pw_uid;
    pid_t pids[8];
    size_t i, k, n = 0;
    DIR *d = opendir("/proc");
    struct dirent *e;

    if (d == NULL)
        return "/proc cannot be read";
    pids[n++] = pid;
    while ((e = readdir(d)) != NULL && n < 8) {
        pid_t p = (pid_t)strtol(e->d_name, NULL, 10);

        if (p > 0 && proc_status_field(p, "PPid", v[0], sizeof(v[0])) == 0 &&
            strtol(v[0], NULL, 10) == (long)pid)
            pids[n++] = p;
    }
    closedir(d);
    snprintf(want_uid, sizeof(want_uid), "%u\t%u\t%u\t%u", (unsigned)uid, (unsigned)uid,
             (unsigned)uid, (unsigned)uid);
    /* signer, collector, firewall reader */
    if (n != 4) {
        snprintf(proc_error, sizeof(proc_error), "the uploader has %zu children, not 3", n - 1);
        return proc_error;
    }
    for (i = 0; i < n; i++) {
        for (k = 0; k < 5; k++) {
            if (proc_status_field(pids[i], keys[k], v[k], sizeof(v[k])) != 0)
                return "a status field is missing";
        }
        print_message("  pid %d: Uid %s, NoNewPrivs %s, Seccomp %s, CapEff %s, CapPrm %s\n",
                      (int)pids[i], v[0], v[1], v[2], v[3], v[4]);
        if (strcmp(v[0], want_uid) != 0 || strcmp(v[1], "1") != 0 || strcmp(v[2], "2") != 0 ||
            strcmp(v[3], v[4]) != 0) {
            snprintf(proc_error, sizeof(proc_error),
                     "pid %d: Uid %s, NoNewPrivs %s, Seccomp %s, CapEff %s, CapPrm %s",
                     (int)pids[i], v[0], v[1], v[2], v[3], v[4]);
            return proc_error;
        }
        for (k = 0; k < 3 && strcmp(v[3], want_caps[k]) != 0; k++)
            ;
        if (k == 3 || (i == 0 && k != 0)) {
            snprintf(proc_error, sizeof(proc_error), "pid %d has CapEff %s", (int)pids[i], v[3]);
            return proc_error;
        }
        if (i > 0)
            seen[k]++;
    }
    if (seen[0] != 1 || seen[1] != 1 || seen[2] != 1)
        return "the children's capabilities are not one each of none, DAC_READ_SEARCH, "
               "NET_ADMIN";
    return NULL;
}

/* The daemon: ready after its first cycle, reloads on SIGHUP, finishes on
 * SIGTERM with status 0. */
static void test_run_daemon(void **state)
{
    struct world *w = *state;
    char dir[96], sock[108], msg[128], env[160];
    struct sockaddr_un a;
    struct timeval tv = {60, 0};
    int fd, status, ready = 0, stopping = 0;
    pid_t pid;
    ssize_t n;

    assert_int_equal(da_test_tmpdir("da-notify", dir, sizeof(dir)), 0);
    snprintf(sock, sizeof(sock), "%s/notify", dir);
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    memcpy(a.sun_path, sock, strlen(sock));
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    /* The uploader notifies as the agent's user, as under systemd. */
    assert_int_equal(chmod(dir, 0755), 0);
    assert_int_equal(chmod(sock, 0666), 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    snprintf(env, sizeof(env), "NOTIFY_SOCKET=%s", sock);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        putenv(env);
        execl(AGENT_BIN, AGENT_BIN, "run", "--config", w->conf, (char *)NULL);
        _exit(127);
    }
    while (!ready && (n = recv(fd, msg, sizeof(msg) - 1, 0)) > 0) {
        msg[n] = '\0';
        ready = strcmp(msg, "READY=1") == 0;
    }
    if (!ready || running_processes_error(pid) != NULL) {
        const char *why = ready ? running_processes_error(pid) : "never ready";

        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        fail_msg("%s", why != NULL ? why : "?");
    }
    assert_int_equal(kill(pid, SIGHUP), 0);
    while ((n = recv(fd, msg, sizeof(msg) - 1, 0)) > 0) {
        msg[n] = '\0';
        if (strcmp(msg, "READY=1") == 0)
            break; /* reloaded */
    }
    assert_true(n > 0);
    assert_int_equal(kill(pid, SIGTERM), 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    while ((n = recv(fd, msg, sizeof(msg) - 1, MSG_DONTWAIT)) > 0) {
        msg[n] = '\0';
        stopping |= strcmp(msg, "STOPPING=1") == 0;
    }
    assert_true(stopping);
    close(fd);
    unlink(sock);
    rmdir(dir);
}

static void test_revoked(void **state)
{
    struct world *w = *state;
    struct da_test_http r;
    char out[8192], path[160];
    cJSON *j;
    int rc;

    snprintf(path, sizeof(path), "/v1/agents/%s/revoke", w->agent_id);
    assert_int_equal(
        da_test_http(&w->srv, "POST", path, w->srv.admin, "application/json", "{}", 2, &r), 0);
    assert_int_equal(r.status, 200);
    da_test_http_clear(&r);
    rc = da_test_agent(out, sizeof(out), "report", "--config", w->conf, "--json", NULL);
    assert_int_equal(rc, 1);
    j = parse_out(out);
    assert_string_equal(jstr(j, "error"), "agent_revoked");
    cJSON_Delete(j);
    status_json(w, &j, &rc);
    assert_int_equal(rc, 1);
    assert_string_equal(jstr(j, "last_result"), "refused");
    assert_string_equal(jstr(j, "error_code"), "agent_revoked");
    cJSON_Delete(j);
    rc = da_test_agent(out, sizeof(out), "status", "--config", w->conf, NULL);
    assert_non_null(strstr(out, "REVOKED"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enroll),
        cmocka_unit_test(test_report_and_status),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_outage_then_delivery),
        cmocka_unit_test(test_sigkill_while_spooling),
        cmocka_unit_test(test_run_daemon),
        cmocka_unit_test(test_revoked),
    };

    (void)W;
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
