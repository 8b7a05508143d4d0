/* The dashboard in headless Chromium (tests/browser/dashboard.mjs) against
 * a real server over TLS on loopback with a real SQLite store, seeded with
 * reports the server verified: one compliant machine, one whose disk became
 * unencrypted (three reports: history and diff), one gone stale. Staleness
 * is the server's own: the stale machine reports first and the test waits
 * past stale_after_s (its floor, 60 s) before the others report. One more
 * machine sends a real firmware event log (its quoted PCRs 0-7 are the
 * values Debian's tpm2_eventlog replays the log to), then the same log with
 * one more boot application: the server records a boot change, which the
 * machine page must show with both values.
 * Screenshots are kept in <build>/browser-artifacts. */
#include "da_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "fleet_seed.h"
#include "server_harness.h"
#include "store.h"

#define STALE_AFTER_S  60
#define PAGED_MACHINES 12
#define REAL_LOG       DA_SOURCE_ROOT "/tests/data/eventlogs/event-moklisttrusted.bin"
#define MAX_APPS       8
/* as the server keeps an EK certificate's issuer (RFC 4514, escapes kept) */
#define EK_ISSUER "CN=Example TPM EK Intermediate CA 01,O=Example Semiconductors\\, Inc.,C=DE"

static void agent_status(struct da_test_server *s, const char *id, const char *want)
{
    struct da_test_http r;
    char path[128];
    cJSON *doc;

    snprintf(path, sizeof(path), "/v1/agents/%s", id);
    assert_int_equal(da_test_http(s, "GET", path, s->auditor, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    doc = cJSON_Parse(r.body);
    da_test_http_clear(&r);
    assert_non_null(doc);
    assert_string_equal(cJSON_GetObjectItem(doc, "status")->valuestring, want);
    cJSON_Delete(doc);
}

/* apps[0..n) as a JSON array of strings, into out. */
static void apps_json(char apps[][65], int n, char *out, size_t size)
{
    size_t o = 0;

    o += (size_t)snprintf(out + o, size - o, "[");
    for (int i = 0; i < n; i++)
        o += (size_t)snprintf(out + o, size - o, "%s\"%s\"", i ? "," : "", apps[i]);
    snprintf(out + o, size - o, "]");
}

/* The machine with a boot change: a report with the real log, then one with
 * the log's first boot application appended once more (its event's bytes
 * copied, PCR 4 extended by it in the quoted values). old and new receive
 * tpm2_eventlog's boot applications of the two logs as JSON arrays. */
static void seed_boot_change(struct da_test_server *srv, struct da_fleet_machine *m, char *old,
                             char *new, size_t size)
{
    static unsigned char log[65536 + 512];
    unsigned char pcrs[256], d[32];
    char apps[MAX_APPS][65], apps2[MAX_APPS][65], path[300];
    const unsigned char *ev = NULL;
    size_t len, evlen;
    int n = 0, n2 = 0;
    FILE *f;

    f = fopen(REAL_LOG, "rb");
    assert_non_null(f);
    len = fread(log, 1, 65536, f);
    fclose(f);
    assert_true(len > 1024 && len < 65536);
    assert_int_equal(da_fleet_tpm2_eventlog(REAL_LOG, pcrs, apps, MAX_APPS, &n), 0);
    assert_true(n >= 2 && n < MAX_APPS);
    assert_int_equal(da_fleet_add(srv, m, 60), 0);
    assert_int_equal(da_fleet_report_log(srv, m, 1, pcrs, log, len), 0);
    /* the first boot application's event: PCR, type, count, algorithm, digest, size, data */
    for (int k = 0; k < 32; k++)
        assert_int_equal(sscanf(apps[0] + 2 * k, "%2hhx", &d[k]), 1);
    for (size_t i = 14; i + 36 < len && ev == NULL; i++) {
        if (memcmp(log + i, d, 32) == 0 && log[i - 14] == 4)
            ev = log + i - 14;
    }
    assert_non_null(ev);
    evlen = 14 + 32 + 4 + (size_t)(ev[46] | ev[47] << 8 | ev[48] << 16 | ev[49] << 24);
    assert_true(evlen < 512);
    memmove(log + len, ev, evlen);
    snprintf(path, sizeof(path), "%s/boot-changed.bin", srv->dir);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(log, 1, len + evlen, f), len + evlen);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(da_fleet_tpm2_eventlog(path, pcrs, apps2, MAX_APPS, &n2), 0);
    assert_int_equal(n2, n + 1);
    assert_string_equal(apps2[n], apps[0]);
    assert_int_equal(da_fleet_report_log(srv, m, 1, pcrs, log, len + evlen), 0);
    apps_json(apps, n, old, size);
    apps_json(apps2, n2, new, size);
}

static void test_dashboard_in_chromium(void **state)
{
    struct da_test_server srv;
    struct da_fleet_machine stale = {.vendor = "acme", .hostname = "build-stale"};
    struct da_fleet_machine ok = {
        .vendor = "acme", .hostname = "build-ok", .ek_trust = SRV_EK_TRUST_APPROVAL};
    struct da_fleet_machine bad = {
        .vendor = "globex",
        .hostname = "build-bad",
        .ek_issuer = EK_ISSUER,
        .ek_serial = "4A0F21",
        .ek_root = "CN=Example TPM EK Root CA,O=Example Semiconductors\\, Inc.,C=DE"};
    struct da_fleet_machine boot = {.vendor = "measured", .hostname = "build-boot"};
    char boot_old[MAX_APPS * 70], boot_new[MAX_APPS * 70];
    /* more machines than a page holds (10): enrolled, not yet reported */
    struct da_fleet_machine paged[PAGED_MACHINES];
    char paged_names[PAGED_MACHINES][16];
    char cmd[4096], policy[1024], cert[512], n[16];
    struct timespec second = {1, 0};
    time_t reported;
    int rc, waited = 0;

    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(cmd, sizeof(cmd),
             "stale_after = %ds\nrate_per_agent = 100000\nburst_per_agent = 100000\n",
             STALE_AFTER_S);
    assert_int_equal(da_test_server_setup(&srv, cmd), 0);
    snprintf(policy, sizeof(policy), "%s/tests/fixtures/server/policy-test.json", DA_SOURCE_ROOT);
    snprintf(cmd, sizeof(cmd), "cp %s %s/policy.json", policy, srv.state);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(da_test_server_start(&srv), 0);

    assert_int_equal(da_fleet_add(&srv, &stale, 20), 0);
    assert_int_equal(da_fleet_report(&srv, &stale, 1), 0);
    reported = time(NULL);
    assert_int_equal(da_fleet_add(&srv, &ok, 21), 0);
    assert_int_equal(da_fleet_add(&srv, &bad, 22), 0);
    while (time(NULL) <= reported + STALE_AFTER_S + 1 && waited++ < STALE_AFTER_S + 30)
        nanosleep(&second, NULL);
    assert_int_equal(da_fleet_report(&srv, &ok, 1), 0);
    assert_int_equal(da_fleet_report(&srv, &ok, 1), 0);
    assert_int_equal(da_fleet_report(&srv, &bad, 1), 0);
    assert_int_equal(da_fleet_report(&srv, &bad, 0), 0);
    assert_int_equal(da_fleet_report(&srv, &bad, 0), 0);
    /* the fleet the page must show, as the API states it */
    agent_status(&srv, stale.agent_id, "stale");
    agent_status(&srv, ok.agent_id, "compliant");
    agent_status(&srv, bad.agent_id, "non_compliant");
    seed_boot_change(&srv, &boot, boot_old, boot_new, sizeof(boot_old));
    agent_status(&srv, boot.agent_id, "compliant");
    /* enrolled last, so that they are not yet stale when the page opens */
    memset(paged, 0, sizeof(paged));
    for (int i = 0; i < PAGED_MACHINES; i++) {
        snprintf(paged_names[i], sizeof(paged_names[i]), "paged-%02d", i + 1);
        paged[i].vendor = "paged";
        paged[i].hostname = paged_names[i];
        assert_int_equal(da_fleet_add(&srv, &paged[i], 30 + i), 0);
    }

    snprintf(cert, sizeof(cert), "%s/server.pem", srv.state);
    snprintf(n, sizeof(n), "%d", bad.n_reports);
    setenv("DA_BASE", srv.base, 1);
    setenv("DA_TOKEN", srv.auditor, 1);
    setenv("DA_ADMIN_TOKEN", srv.admin, 1);
    setenv("NODE_EXTRA_CA_CERTS", srv.ca, 1);
    setenv("DA_SERVER_CERT", cert, 1);
    setenv("DA_POLICY", policy, 1);
    setenv("DA_ARTIFACTS", DA_BINARY_ROOT "/browser-artifacts", 1);
    setenv("DA_OK_ID", ok.agent_id, 1);
    setenv("DA_BAD_ID", bad.agent_id, 1);
    setenv("DA_STALE_ID", stale.agent_id, 1);
    setenv("DA_BAD_REPORTS", n, 1);
    setenv("DA_BAD_EK_ISSUER", EK_ISSUER, 1);
    setenv("DA_BOOT_ID", boot.agent_id, 1);
    setenv("DA_BOOT_REF_REPORT", boot.report_ids[0], 1);
    setenv("DA_BOOT_REPORT", boot.report_ids[1], 1);
    setenv("DA_BOOT_OLD", boot_old, 1);
    setenv("DA_BOOT_NEW", boot_new, 1);
    setenv("DA_CSV_PARSER", DA_SOURCE_ROOT "/tests/browser/parse-csv", 1);
    snprintf(cmd, sizeof(cmd), "node %s/tests/browser/dashboard.mjs", DA_SOURCE_ROOT);
    rc = system(cmd);
    assert_true(WIFEXITED(rc));
    assert_int_equal(WEXITSTATUS(rc), 0);

    assert_int_equal(da_test_server_stop(&srv), 0);
    da_test_server_cleanup(&srv);
    da_fleet_free(&stale);
    da_fleet_free(&ok);
    da_fleet_free(&bad);
    da_fleet_free(&boot);
    for (int i = 0; i < PAGED_MACHINES; i++)
        da_fleet_free(&paged[i]);
    curl_global_cleanup();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dashboard_in_chromium),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
