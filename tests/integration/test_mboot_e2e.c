/* Measured boot end to end: swtpm's PCRs are extended with the events of a
 * real firmware event log (digests as Debian's tpm2_eventlog reads them,
 * extended with tpm2_pcrextend), the real agent sends that log with its
 * quote, and the real server replays it, derives measured facts and
 * evaluates the shipped policy. Then the log is altered (one digest
 * changed, one event removed, one appended): each fails
 * boot.log-matches-quote and is kept in the transcript.
 *
 * One world for the group: the tests run in order. */
#include "agent_run.h"
#include "da_test.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "agent_test_dir.h"
#include "server_harness.h"
#include "webhook_rx.h"
#include "swtpm_harness.h"
#include "tmp_tree.h"
#include "picky.h"

#define SERVER_BIN DA_BINARY_ROOT "/server/devattest-server"
#define REAL_LOG   DA_SOURCE_ROOT "/tests/data/eventlogs/event-moklisttrusted.bin"
/* The log's last event: PCR 5, EV_EFI_ACTION, one SHA-256 digest, 40 bytes
 * of data ("Exit Boot Services Returned with Success"). */
#define LAST_EVENT_SIZE (4 + 4 + 4 + 2 + 32 + 4 + 40)

struct world {
    struct da_test_swtpm tpm;
    struct da_test_server srv;
    char dir[300], conf[340], state[340], spool[340], log[340];
    char agent_id[64];
    char first_report[64], last_report[64];
    char apps[3][65]; /* the distinct PCR 4 boot applications, per tpm2_eventlog */
    unsigned char real[65536];
    size_t real_len;
};

static int write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    if (f == NULL)
        return -1;
    if (fwrite(data, 1, len, f) != len) {
        fclose(f);
        return -1;
    }
    return fclose(f) == 0 ? 0 : -1;
}

/* tpm2_eventlog's reading of the log: every extend (EV_NO_ACTION skipped)
 * as "PCR:sha256=HEX", given to tpm2_pcrextend in order, a few at a time. */
static int extend_swtpm(struct world *w, const char *log)
{
    char cmd[8192], line[4096], args[4096];
    int pcr = -1, no_action = 0, in_sha256 = 0, n = 0, extended = 0;
    size_t o = 0;
    FILE *p;

    snprintf(cmd, sizeof(cmd), "tpm2_eventlog '%s' 2>/dev/null", log);
    p = popen(cmd, "r");
    if (p == NULL)
        return -1;
    args[0] = '\0';
    while (fgets(line, sizeof(line), p) != NULL) {
        char hex[160];
        if (sscanf(line, "  PCRIndex: %d", &pcr) == 1)
            continue;
        if (strstr(line, "EventType:") != NULL && strncmp(line, "  EventType:", 12) == 0) {
            no_action = strstr(line, "EV_NO_ACTION") != NULL;
            continue;
        }
        if (strstr(line, "- AlgorithmId:") != NULL) {
            in_sha256 = strstr(line, "sha256") != NULL;
            continue;
        }
        if (in_sha256 && !no_action && sscanf(line, " Digest: \"%159[0-9a-f]\"", hex) == 1) {
            in_sha256 = 0;
            o += (size_t)snprintf(args + o, sizeof(args) - o, " %d:sha256=%s", pcr, hex);
            extended++;
            if (++n == 16) {
                snprintf(cmd, sizeof(cmd), "tpm2_pcrextend -T '%s'%s", w->tpm.tcti, args);
                if (system(cmd) != 0)
                    break;
                n = 0;
                o = 0;
                args[0] = '\0';
            }
        }
        if (strncmp(line, "pcrs:", 5) == 0)
            break;
    }
    pclose(p);
    if (n > 0) {
        snprintf(cmd, sizeof(cmd), "tpm2_pcrextend -T '%s'%s", w->tpm.tcti, args);
        if (system(cmd) != 0)
            return -1;
    }
    return extended > 50 ? 0 : -1;
}

static void read_apps(struct world *w);

static int group_setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    char extra[8192 + 512];
    FILE *f;

    if (w == NULL || da_test_swtpm_start(&w->tpm) != 0)
        return -1;
    snprintf(extra, sizeof(extra),
             "ek_roots = %s\nrate_per_agent = 1000\nburst_per_agent = 1000\n"
             "policy_file = %s/common/policies/iso27001-2022-devenv.json\n",
             w->tpm.ca_root, DA_SOURCE_ROOT);
    if (da_test_server_setup(&w->srv, extra) != 0 || da_test_server_start(&w->srv) != 0)
        return -1;
    /* The agent refuses directories below one others may write (/tmp). */
    if (da_test_agent_dir(w->dir, sizeof(w->dir)) != 0)
        return -1;
    snprintf(w->conf, sizeof(w->conf), "%s/agent.conf", w->dir);
    snprintf(w->state, sizeof(w->state), "%s/state", w->dir);
    snprintf(w->spool, sizeof(w->spool), "%s/spool", w->dir);
    snprintf(w->log, sizeof(w->log), "%s/binary_bios_measurements", w->dir);
    f = fopen(w->conf, "w");
    if (f == NULL)
        return -1;
    fprintf(f,
            "server_url = %s\nserver_ca = %s\ntcti = %s\nstate_dir = %s\nspool_dir = %s\n"
            "interval = 30s\njitter = 0s\nenvironment_role = build\nlog_level = info\n"
            "sandbox = enforce\ntest_only_event_log_file = %s\nuser = " DA_TEST_AGENT_USER "\n",
            w->srv.base, w->srv.ca, w->tpm.tcti, w->state, w->spool, w->log);
    if (fclose(f) != 0)
        return -1;
    f = fopen(REAL_LOG, "rb");
    if (f == NULL)
        return -1;
    w->real_len = fread(w->real, 1, sizeof(w->real), f);
    fclose(f);
    if (w->real_len <= LAST_EVENT_SIZE || w->real_len == sizeof(w->real) ||
        write_file(w->log, w->real, w->real_len) != 0 || chmod(w->log, 0644) != 0)
        return -1;
    if (extend_swtpm(w, REAL_LOG) != 0)
        return -1;
    *state = w;
    read_apps(w);
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

/* One report with the current log file; the server's stored report. */
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
    snprintf(w->last_report, sizeof(w->last_report), "%s", id->valuestring);
    if (w->first_report[0] == '\0')
        snprintf(w->first_report, sizeof(w->first_report), "%s", id->valuestring);
    cJSON_Delete(j);
    assert_int_equal(da_test_http(&w->srv, "GET", path, w->srv.auditor, NULL, NULL, 0, &r), 0);
    if (r.status != 200)
        fail_msg("GET %s: %ld %s", path, r.status, r.body);
    doc = cJSON_Parse(r.body);
    da_test_http_clear(&r);
    assert_non_null(doc);
    return doc;
}

static const cJSON *check(const cJSON *doc, const char *id)
{
    const cJSON *c;

    cJSON_ArrayForEach(c, cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "verdict"), "checks"))
    {
        const cJSON *cid = cJSON_GetObjectItem(c, "id");
        if (cJSON_IsString(cid) && strcmp(cid->valuestring, id) == 0)
            return c;
    }
    fail_msg("no check %s", id);
    return NULL;
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(o, key);

    return cJSON_IsString(v) ? v->valuestring : "";
}

static void test_enroll(void **state)
{
    struct world *w = *state;
    char token[128], out[8192], token_file[400];
    cJSON *j;
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
    j = cJSON_Parse(out);
    assert_non_null(j);
    snprintf(w->agent_id, sizeof(w->agent_id), "%s", str(j, "agent_id"));
    cJSON_Delete(j);
}

/* The log replays: measured facts decide, and the reported legacy boot
 * (this machine has no UEFI) contradicts the measured Secure Boot. */
static void test_log_replays(void **state)
{
    struct world *w = *state;
    cJSON *doc = report(w);
    const cJSON *c, *t;
    char *observed;

    c = check(doc, "boot.log-matches-quote");
    assert_string_equal(str(c, "verdict"), "pass");
    assert_string_equal(str(c, "provenance"), "measured");
    c = check(doc, "isolation.secure-boot");
    assert_string_equal(str(c, "verdict"), "pass");
    assert_string_equal(str(c, "provenance"), "measured");
    /* the server's shipped dbx reference (2026-06-10, 443 revocations):
     * this machine's dbx holds one revocation */
    c = check(doc, "boot.dbx-current");
    assert_string_equal(str(c, "verdict"), "fail");
    assert_string_equal(str(c, "severity"), "high");
    assert_string_equal(str(c, "provenance"), "measured");
    c = check(doc, "boot.claims-match-measurements");
    assert_string_equal(str(c, "verdict"), "fail");
    observed = (char *)DA_UNCONST(str(c, "observed"));
    if (strstr(observed, "claim_contradicts_measurement") == NULL ||
        strstr(observed, "\"reported_pointer\":\"/isolation/secure_boot/enabled\","
                         "\"reported\":false,"
                         "\"measured_pointer\":\"/attestation/boot/measured/secure_boot/"
                         "SecureBoot\",\"measured\":true") == NULL)
        fail_msg("contradiction not shown with both values: %s", observed);
    t = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "transcript"), "event_log");
    assert_string_equal(str(t, "state"), "replays");
    assert_null(cJSON_GetObjectItem(t, "base64"));
    /* the first verified boot state becomes the agent's reference */
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(t, "boot_state"),
                                                            "boot_applications")),
                     4);
    assert_null(cJSON_GetObjectItem(t, "boot_changed"));
    cJSON_Delete(doc);
}

static void expect_refused_log(struct world *w, const unsigned char *log, size_t len)
{
    cJSON *doc;
    const cJSON *c, *t;

    assert_int_equal(write_file(w->log, log, len), 0);
    doc = report(w);
    c = check(doc, "boot.log-matches-quote");
    assert_string_equal(str(c, "verdict"), "fail");
    assert_string_equal(str(c, "severity"), "critical");
    /* no measured facts: Secure Boot rests on the reported value again */
    c = check(doc, "isolation.secure-boot");
    assert_string_equal(str(c, "provenance"), "reported");
    t = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "transcript"), "event_log");
    assert_string_equal(str(t, "state"), "does_not_replay");
    assert_true(strlen(str(t, "base64")) > len); /* kept for the auditor */
    cJSON_Delete(doc);
}

static void test_altered_logs_fail(void **state)
{
    struct world *w = *state;
    static unsigned char log[65536 + LAST_EVENT_SIZE];
    size_t len = w->real_len;

    /* one event's digest changed (the last event's SHA-256) */
    memcpy(log, w->real, len);
    log[len - 4 - 40 - 32] ^= 0x01;
    expect_refused_log(w, log, len);
    /* one event removed */
    expect_refused_log(w, w->real, len - LAST_EVENT_SIZE);
    /* one event appended (the last one again) */
    memcpy(log, w->real, len);
    memcpy(log + len, w->real + len - LAST_EVENT_SIZE, LAST_EVENT_SIZE);
    expect_refused_log(w, log, len + LAST_EVENT_SIZE);
}

/* The agent sends no log although the firmware measured the boot (the
 * swtpm's PCRs hold the real log's extends): the log was withheld, which
 * fails the same critical check as a log that does not replay. */
static void test_withheld_log_fails(void **state)
{
    struct world *w = *state;
    cJSON *doc;
    const cJSON *c, *t;

    assert_int_equal(unlink(w->log), 0);
    doc = report(w);
    c = check(doc, "boot.log-matches-quote");
    assert_string_equal(str(c, "verdict"), "fail");
    assert_string_equal(str(c, "severity"), "critical");
    c = check(doc, "isolation.secure-boot");
    assert_string_equal(str(c, "provenance"), "reported");
    t = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "transcript"), "event_log");
    assert_string_equal(str(t, "state"), "withheld");
    assert_non_null(strstr(str(t, "detail"), "PCR 0 is extended"));
    assert_null(cJSON_GetObjectItem(t, "base64"));
    cJSON_Delete(doc);
    assert_int_equal(write_file(w->log, w->real, w->real_len), 0);
    assert_int_equal(chmod(w->log, 0644), 0);
}

/* A boot application added: PCR 4 extended once more with the shim's
 * digest and the log given the matching event. The log replays, and the
 * report records how the boot state differs from the agent's reference
 * (its first report). */
static void test_boot_changed(void **state)
{
    struct world *w = *state;
    static unsigned char log[65536 + 512];
    const unsigned char *ev = NULL;
    size_t len = w->real_len, evlen;
    char cmd[512], hex[65], hook[SRV_ID_HEX];
    cJSON *doc;
    const cJSON *t, *c, *ch;
    struct da_webhook_rx rx;
    struct da_test_http r;
    FILE *p;

    /* the first boot application's digest, as tpm2_eventlog reads it */
    snprintf(cmd, sizeof(cmd),
             "tpm2_eventlog '%s' 2>/dev/null | grep -A6 'EV_EFI_BOOT_SERVICES_APPLICATION' | "
             "sed -n 's/.*Digest: \"\\([0-9a-f]*\\)\"/\\1/p' | head -1",
             REAL_LOG);
    p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(hex, sizeof(hex), p));
    pclose(p);
    assert_int_equal(strlen(hex), 64);
    /* that event in the log: PCR, type, count, algorithm, digest, size, data */
    for (size_t i = 14; i + 36 < len && ev == NULL; i++) {
        unsigned char d[32];
        for (int k = 0; k < 32; k++)
            sscanf(hex + 2 * k, "%2hhx", &d[k]);
        if (memcmp(w->real + i, d, 32) == 0 && w->real[i - 14] == 4)
            ev = w->real + i - 14;
    }
    assert_non_null(ev);
    evlen = 14 + 32 + 4 + (size_t)(ev[46] | ev[47] << 8 | ev[48] << 16 | ev[49] << 24);
    assert_true(evlen < 512);
    memcpy(log, w->real, len);
    memcpy(log + len, ev, evlen);
    snprintf(cmd, sizeof(cmd), "tpm2_pcrextend -T '%s' 4:sha256=%s", w->tpm.tcti, hex);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(write_file(w->log, log, len + evlen), 0);
    da_webhook_rx_start(&rx);
    da_webhook_rx_register(&rx, &w->srv, w->srv.admin, hook);
    doc = report(w);
    /* the boot change reaches a webhook receiver, signed */
    assert_int_equal(da_webhook_rx_wait(&rx, "agent.boot_changed", w->agent_id, 200, 1), 1);
    snprintf(cmd, sizeof(cmd), "/v1/webhooks/%s", hook);
    assert_int_equal(da_test_http(&w->srv, "DELETE", cmd, w->srv.admin, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    da_test_http_clear(&r);
    da_webhook_rx_stop(&rx);
    c = check(doc, "boot.log-matches-quote");
    assert_string_equal(str(c, "verdict"), "pass");
    t = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "transcript"), "event_log");
    assert_string_equal(str(t, "state"), "replays");
    ch = cJSON_GetObjectItem(cJSON_GetObjectItem(t, "boot_changed"), "changes");
    assert_int_equal(cJSON_GetArraySize(ch), 1);
    assert_string_equal(str(cJSON_GetArrayItem(ch, 0), "what"), "boot_applications");
    assert_int_equal(
        cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetArrayItem(ch, 0), "now")),
        cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetArrayItem(ch, 0), "reference")) + 1);
    cJSON_Delete(doc);
}

static cJSON *get_json(struct world *w, const char *method, const char *path, const char *token,
                       const char *body, long want)
{
    struct da_test_http r;
    cJSON *doc;

    assert_int_equal(da_test_http(&w->srv, method, path, token,
                                  body != NULL ? "application/json" : NULL, body,
                                  body != NULL ? strlen(body) : 0, &r),
                     0);
    if (r.status != want)
        fail_msg("%s %s: %ld (want %ld) %s", method, path, r.status, want, r.body);
    doc = cJSON_Parse(r.body);
    da_test_http_clear(&r);
    assert_non_null(doc);
    return doc;
}

static const char *error_code(const cJSON *doc)
{
    return str(cJSON_GetObjectItem(doc, "error"), "code");
}

/* The reference state and the boot change are in the API: the agent's own
 * list and the agent view, with what changed, both values, the report and
 * the time. */
static void test_boot_changes_api(void **state)
{
    struct world *w = *state;
    char path[160];
    cJSON *doc;
    const cJSON *ref, *ch, *c;

    snprintf(path, sizeof(path), "/v1/agents/%s/boot-changes", w->agent_id);
    doc = get_json(w, "GET", path, w->srv.auditor, NULL, 200);
    ref = cJSON_GetObjectItem(doc, "boot_reference");
    assert_string_equal(str(ref, "report_id"), w->first_report);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(ref, "state"),
                                                            "boot_applications")),
                     4);
    ch = cJSON_GetObjectItem(doc, "changes");
    assert_int_equal(cJSON_GetArraySize(ch), 1);
    c = cJSON_GetArrayItem(ch, 0);
    assert_string_equal(str(c, "what"), "boot_applications");
    assert_string_equal(str(c, "report_id"), w->last_report);
    assert_int_equal(strlen(str(c, "at")), 20);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(c, "old")), 4);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(c, "new")), 5);
    /* the appended application is the shim again, as tpm2_eventlog reads it */
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(c, "new"), 4)->valuestring,
                        w->apps[0]);
    cJSON_Delete(doc);
    snprintf(path, sizeof(path), "/v1/agents/%s/boot-changes?limit=0", w->agent_id);
    doc = get_json(w, "GET", path, w->srv.auditor, NULL, 400);
    cJSON_Delete(doc);
    snprintf(path, sizeof(path), "/v1/agents/%s", w->agent_id);
    doc = get_json(w, "GET", path, w->srv.admin, NULL, 200);
    assert_string_equal(str(cJSON_GetObjectItem(doc, "boot_reference"), "report_id"),
                        w->first_report);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "boot_changes")), 1);
    cJSON_Delete(doc);
}

/* devattest-server boot-pin ... with stderr; the exit status. */
static int pin_cli(struct world *w, char *out, size_t size, const char *args)
{
    char cmd[1024];
    size_t got;
    FILE *p;
    int status;

    snprintf(cmd, sizeof(cmd), "'%s' -c '%s' boot-pin %s 2>&1", SERVER_BIN, w->srv.config, args);
    p = popen(cmd, "r");
    if (p == NULL)
        return -1;
    got = fread(out, 1, size - 1, p);
    out[got] = '\0';
    status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int pins_count(struct world *w)
{
    cJSON *doc = get_json(w, "GET", "/v1/vendors/acme/boot-pins", w->srv.auditor, NULL, 200);
    int n = cJSON_GetArraySize(cJSON_GetObjectItem(doc, "pins"));

    cJSON_Delete(doc);
    return n;
}

static void expect_pinned(struct world *w, const char *verdict, const char *unpinned,
                          const char *pinned)
{
    cJSON *doc = report(w);
    const cJSON *c = check(doc, "boot.components-pinned");

    assert_string_equal(str(c, "verdict"), verdict);
    if (strcmp(verdict, "fail") == 0)
        assert_string_equal(str(c, "severity"), "critical");
    if (strcmp(verdict, "not_applicable") != 0)
        assert_string_equal(str(c, "provenance"), "measured");
    if (unpinned != NULL && strstr(str(c, "observed"), unpinned) == NULL)
        fail_msg("unpinned sha256:%s not named: %s", unpinned, str(c, "observed"));
    if (pinned != NULL && strstr(str(c, "observed"), pinned) != NULL)
        fail_msg("pinned %s named as unpinned: %s", pinned, str(c, "observed"));
    cJSON_Delete(doc);
}

/* The distinct PCR 4 boot applications of the real log, read by
 * tpm2_eventlog. */
static void read_apps(struct world *w)
{
    char cmd[1024], line[128];
    int n = 0;
    FILE *p;

    snprintf(cmd, sizeof(cmd),
             "tpm2_eventlog '%s' 2>/dev/null | awk '/PCRIndex:/{p=$2} /EventType:/{t=$2}"
             " /AlgorithmId: sha256/{s=1;next} s&&/Digest:/{if(p==4&&"
             "t==\"EV_EFI_BOOT_SERVICES_APPLICATION\"){gsub(/\"/,\"\",$2);print $2} s=0}'"
             " | awk '!seen[$0]++'",
             REAL_LOG);
    p = popen(cmd, "r");
    assert_non_null(p);
    while (n < 3 && fgets(line, sizeof(line), p) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        assert_int_equal(strlen(line), 64);
        memcpy(w->apps[n++], line, 65);
    }
    pclose(p);
    assert_int_equal(n, 3);
}

/* Pins per vendor: bad input changes nothing; once the vendor has pins,
 * an unpinned boot application fails boot.components-pinned (critical)
 * with its digest named; pinning it passes; removing a pin fails again. */
static void test_boot_pins(void **state)
{
    struct world *w = *state;
    char out[2048], args[512], body[256], upper[65], path[200];
    cJSON *doc;

    /* without pins the check does not apply */
    expect_pinned(w, "not_applicable", NULL, NULL);
    /* bad input from the command line: a stable code, nothing stored */
    assert_int_equal(
        pin_cli(w, out, sizeof(out), "add --vendor acme --digest sha256:12 --what shim"), 1);
    assert_non_null(strstr(out, "boot_pin_invalid"));
    snprintf(args, sizeof(args), "add --vendor acme --digest sha256:%s --what firmware",
             w->apps[0]);
    assert_int_equal(pin_cli(w, out, sizeof(out), args), 1);
    assert_non_null(strstr(out, "boot_pin_invalid"));
    snprintf(args, sizeof(args), "add --vendor nobody --digest sha256:%s --what shim", w->apps[0]);
    assert_int_equal(pin_cli(w, out, sizeof(out), args), 1);
    assert_non_null(strstr(out, "vendor_unknown"));
    assert_int_equal(pin_cli(w, out, sizeof(out), "add --vendor acme"), 2);
    assert_int_equal(pins_count(w), 0);
    /* bad input through the API */
    doc = get_json(w, "POST", "/v1/vendors/acme/boot-pins", w->srv.admin,
                   "{\"digest\":\"sha256:zz\",\"what\":\"shim\"}", 400);
    assert_string_equal(error_code(doc), "boot_pin_invalid");
    cJSON_Delete(doc);
    snprintf(body, sizeof(body), "{\"digest\":\"sha256:%s\",\"what\":\"shim\"}", w->apps[0]);
    doc = get_json(w, "POST", "/v1/vendors/nobody/boot-pins", w->srv.admin, body, 404);
    assert_string_equal(error_code(doc), "vendor_unknown");
    cJSON_Delete(doc);
    doc = get_json(w, "POST", "/v1/vendors/acme/boot-pins", w->srv.auditor, body, 403);
    cJSON_Delete(doc);
    assert_int_equal(pins_count(w), 0);

    /* the shim pinned (command line): the boot loader and kernel are not */
    snprintf(args, sizeof(args), "add --vendor acme --digest sha256:%s --what shim", w->apps[0]);
    assert_int_equal(pin_cli(w, out, sizeof(out), args), 0);
    assert_int_equal(pin_cli(w, out, sizeof(out), "list --vendor acme"), 0);
    assert_non_null(strstr(out, w->apps[0]));
    expect_pinned(w, "fail", w->apps[1], w->apps[0]);
    /* the others pinned through the API (upper-case hex is accepted) */
    for (int i = 0; i < 64; i++)
        upper[i] = (char)(w->apps[1][i] >= 'a' ? w->apps[1][i] - 'a' + 'A' : w->apps[1][i]);
    upper[64] = '\0';
    snprintf(body, sizeof(body), "{\"digest\":\"sha256:%s\",\"what\":\"bootloader\"}", upper);
    doc = get_json(w, "POST", "/v1/vendors/acme/boot-pins", w->srv.admin, body, 201);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "pins")), 2);
    cJSON_Delete(doc);
    doc = get_json(w, "POST", "/v1/vendors/acme/boot-pins", w->srv.admin, body, 409);
    assert_string_equal(error_code(doc), "boot_pin_exists");
    cJSON_Delete(doc);
    expect_pinned(w, "fail", w->apps[2], w->apps[1]);
    snprintf(body, sizeof(body), "{\"digest\":\"sha256:%s\",\"what\":\"kernel\"}", w->apps[2]);
    doc = get_json(w, "POST", "/v1/vendors/acme/boot-pins", w->srv.admin, body, 201);
    cJSON_Delete(doc);
    expect_pinned(w, "pass", NULL, NULL);
    /* a pin removed: its component fails again */
    snprintf(path, sizeof(path), "/v1/vendors/acme/boot-pins/%s", w->apps[1]);
    doc = get_json(w, "DELETE", path, w->srv.admin, NULL, 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "pins")), 2);
    cJSON_Delete(doc);
    doc = get_json(w, "DELETE", path, w->srv.admin, NULL, 404);
    assert_string_equal(error_code(doc), "boot_pin_unknown");
    cJSON_Delete(doc);
    expect_pinned(w, "fail", w->apps[1], NULL);
    snprintf(args, sizeof(args), "remove --vendor acme --digest sha256:%s", w->apps[0]);
    assert_int_equal(pin_cli(w, out, sizeof(out), args), 0);
    assert_int_equal(pin_cli(w, out, sizeof(out), args), 1);
    assert_non_null(strstr(out, "boot_pin_unknown"));
    assert_int_equal(pins_count(w), 1);
}

/* Minimal privacy mode sends the event log too (docs/privacy.md): without
 * it nothing could be measured. The agent's document says minimal, and
 * the log still replays. */
static void test_minimal_privacy_keeps_log(void **state)
{
    struct world *w = *state;
    FILE *f = fopen(w->conf, "a");
    cJSON *doc;
    const cJSON *c, *t;

    assert_non_null(f);
    fprintf(f, "privacy = minimal\n");
    assert_int_equal(fclose(f), 0);
    doc = report(w);
    assert_string_equal(str(cJSON_GetObjectItem(doc, "verdict"), "privacy"), "minimal");
    c = check(doc, "boot.log-matches-quote");
    assert_string_equal(str(c, "verdict"), "pass");
    assert_string_equal(str(c, "provenance"), "measured");
    t = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "transcript"), "event_log");
    assert_string_equal(str(t, "state"), "replays");
    cJSON_Delete(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enroll),
        cmocka_unit_test(test_log_replays),
        cmocka_unit_test(test_altered_logs_fail),
        cmocka_unit_test(test_withheld_log_fails),
        cmocka_unit_test(test_boot_changed),
        cmocka_unit_test(test_boot_changes_api),
        cmocka_unit_test(test_boot_pins),
        cmocka_unit_test(test_minimal_privacy_keeps_log),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
