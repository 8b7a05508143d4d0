/* Evidence packs whose reports carry real firmware event logs
 * (tests/data/eventlogs): two machines send a log each, quoted by a software
 * AK (tests/support/soft_ak.h) over the PCR values Debian's tpm2_eventlog
 * replays that log to, and one more report carries none. The pack holds
 * each log byte for byte as the agent sent it (read back with GNU tar and
 * Python, compared with the file), and `devattest-verify pack` replays it
 * against the quote offline. One byte of one log changed: with the
 * manifest left as it was, the manifest catches it (pack_invalid); with
 * the manifest naming the new digest and signed again by the CA key (made
 * here with OpenSSL, not with the code under test), the log no longer
 * replays (pack_event_log_replay), or, when the byte is event data outside
 * every digest, it replays but is not the log the server verified
 * (pack_event_log_differs). Each time exactly that report fails. */
#include "da_test.h"
#include "test_io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "fleet_seed.h"
#include "server_harness.h"

#define LOG_A  DA_SOURCE_ROOT "/tests/data/eventlogs/event-moklisttrusted.bin"
#define LOG_B  DA_SOURCE_ROOT "/tests/data/eventlogs/event-sd-boot-fedora37.bin"
#define VERIFY DA_BINARY_ROOT "/server/devattest-verify"

struct world {
    struct da_test_server srv;
    struct da_fleet_machine a, b, plain;
    char pack[256], dir[300], names[300], out[65536];
};

static void hex_of(const unsigned char *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* One report of m with the log file at path (NULL: no log). */
static void report_with(struct world *w, struct da_fleet_machine *m, const char *path)
{
    unsigned char pcrs[256], *log;
    char apps[8][65];
    size_t len;
    int n = 0;

    if (path == NULL) {
        assert_int_equal(da_fleet_report(&w->srv, m, 1), 0);
        return;
    }
    log = (unsigned char *)da_test_slurp(path, &len);
    assert_int_equal(da_fleet_tpm2_eventlog(path, pcrs, apps, 8, &n), 0);
    assert_int_equal(da_fleet_report_log(&w->srv, m, 1, pcrs, log, len), 0);
    free(log);
}

/* The server's transcript of a report says its log replays. */
static void expect_replays(struct world *w, const char *report_id)
{
    struct da_test_http r;
    char path[128];
    cJSON *doc;
    const cJSON *st;

    snprintf(path, sizeof(path), "/v1/reports/%s", report_id);
    assert_int_equal(da_test_http(&w->srv, "GET", path, w->srv.auditor, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    doc = cJSON_Parse(r.body);
    da_test_http_clear(&r);
    st = cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "transcript"), "event_log"), "state");
    assert_true(cJSON_IsString(st));
    assert_string_equal(st->valuestring, "replays");
    cJSON_Delete(doc);
}

/* devattest-verify pack on file: its exit status; its output in w->out. */
static int verify(struct world *w, const char *file)
{
    int rc = da_test_sh(w->out, sizeof(w->out), "%s pack %s --ca %s", VERIFY, file, w->srv.ca);

    print_message("%s", w->out);
    return rc;
}

/* Exactly report_id fails, with "FAIL code: why..." (why a prefix); the
 * other reports are ok. */
static void expect_only(struct world *w, const char *file, const char *report_id, const char *code,
                        const char *why)
{
    char line[512];

    assert_int_equal(verify(w, file), 1);
    snprintf(line, sizeof(line), "report %s: FAIL %s: %s", report_id, code, why);
    if (strstr(w->out, line) == NULL)
        fail_msg("expected \"%s\" in:\n%s", line, w->out);
    assert_int_equal(da_test_count(w->out, "FAIL"), 1);
    assert_int_equal(da_test_count(w->out, ": ok\n"), 3);
    assert_non_null(strstr(w->out, "pack: ok"));
}

/* The unpacked pack as dst. With sign, pack.json first names the SHA-256 of
 * member as it is now and is signed again with the CA's key (DSSE PAE,
 * ECDSA P-256). */
static void repack(struct world *w, const char *dst, const char *member, int sign)
{
    static const char type[] = "application/vnd.devattest.evidence-pack+json";
    char path[PATH_MAX], hex[2 * EVP_MAX_MD_SIZE + 1], *manifest, *pae, *text;
    unsigned char md[EVP_MAX_MD_SIZE], sig[256], *data, *b64sig, *b64body;
    unsigned mdlen = 0;
    size_t len, siglen = sizeof(sig), plen;
    EVP_MD_CTX *mctx;
    EVP_PKEY *ca_key;
    cJSON *m, *env, *sigs, *one;
    FILE *f;

    if (sign) {
        snprintf(path, sizeof(path), "%s/%s", w->dir, member);
        data = (unsigned char *)da_test_slurp(path, &len);
        assert_int_equal(EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL), 1);
        free(data);
        hex_of(md, mdlen, hex);
        snprintf(path, sizeof(path), "%s/pack.json", w->dir);
        data = (unsigned char *)da_test_slurp(path, &len);
        m = cJSON_Parse((char *)data);
        free(data);
        assert_non_null(m);
        assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(m, "files"), member));
        cJSON_ReplaceItemInObject(cJSON_GetObjectItem(m, "files"), member, cJSON_CreateString(hex));
        manifest = cJSON_Print(m);
        cJSON_Delete(m);
        da_test_spill(path, manifest, strlen(manifest));
        plen = (size_t)asprintf(&pae, "DSSEv1 %zu %s %zu %s", strlen(type), type, strlen(manifest),
                                manifest);
        snprintf(path, sizeof(path), "%s/ca.key", w->srv.state);
        f = fopen(path, "r");
        assert_non_null(f);
        ca_key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        fclose(f);
        assert_non_null(ca_key);
        mctx = EVP_MD_CTX_new();
        assert_int_equal(EVP_DigestSignInit(mctx, NULL, EVP_sha256(), NULL, ca_key), 1);
        assert_int_equal(EVP_DigestSign(mctx, sig, &siglen, (unsigned char *)pae, plen), 1);
        EVP_MD_CTX_free(mctx);
        EVP_PKEY_free(ca_key);
        b64sig = malloc(4 * ((siglen + 2) / 3) + 1);
        b64body = malloc(4 * ((strlen(manifest) + 2) / 3) + 1);
        assert_non_null(b64sig);
        assert_non_null(b64body);
        EVP_EncodeBlock(b64sig, sig, (int)siglen);
        EVP_EncodeBlock(b64body, (unsigned char *)manifest, (int)strlen(manifest));
        env = cJSON_CreateObject();
        cJSON_AddStringToObject(env, "payload", (char *)b64body);
        cJSON_AddStringToObject(env, "payloadType", type);
        sigs = cJSON_AddArrayToObject(env, "signatures");
        one = cJSON_CreateObject();
        cJSON_AddStringToObject(one, "keyid", "ca");
        cJSON_AddStringToObject(one, "sig", (char *)b64sig);
        cJSON_AddItemToArray(sigs, one);
        text = cJSON_PrintUnformatted(env);
        snprintf(path, sizeof(path), "%s/pack.dsse.json", w->dir);
        da_test_spill(path, text, strlen(text));
        free(text);
        cJSON_Delete(env);
        free(b64sig);
        free(b64body);
        free(pae);
        free(manifest);
    }
    assert_int_equal(
        da_test_sh(NULL, 0, "tar --format=ustar -cf %s -C %s -T %s", dst, w->dir, w->names), 0);
}

/* reports/ID/report.json of the unpacked pack with byte off of its event
 * log flipped: the base64 text replaced in place by that of the changed log
 * (same length), every other byte of the member kept. */
static void flip_log_byte(struct world *w, const char *report_id, const unsigned char *orig,
                          size_t olen, size_t off)
{
    char path[PATH_MAX], *text, *hit;
    unsigned char *log = malloc(olen), *b64old, *b64new;
    size_t len, blen = 4 * ((olen + 2) / 3);

    assert_non_null(log);
    assert_true(off < olen);
    memcpy(log, orig, olen);
    log[off] ^= 0x01;
    b64old = malloc(blen + 1);
    b64new = malloc(blen + 1);
    assert_non_null(b64old);
    assert_non_null(b64new);
    assert_int_equal(EVP_EncodeBlock(b64old, orig, (int)olen), (int)blen);
    assert_int_equal(EVP_EncodeBlock(b64new, log, (int)olen), (int)blen);
    snprintf(path, sizeof(path), "%s/reports/%s/report.json", w->dir, report_id);
    text = da_test_slurp(path, &len);
    hit = strstr(text, (char *)b64old);
    assert_non_null(hit);
    memcpy(hit, b64new, blen);
    da_test_spill(path, text, len);
    free(text);
    free(log);
    free(b64old);
    free(b64new);
}

/* Offset in log of the first PCR 4 event whose SHA-256 digest is hex (as
 * tpm2_eventlog prints it): PCR, type, count, algorithm, then the digest. */
static size_t event_at(const unsigned char *log, size_t len, const char *hex)
{
    unsigned char d[32];

    for (unsigned k = 0; k < 32; k++)
        assert_int_equal(sscanf(hex + 2 * k, "%2hhx", &d[k]), 1);
    for (size_t i = 14; i + 36 < len; i++) {
        if (memcmp(log + i, d, 32) == 0 && log[i - 14] == 4)
            return i - 14;
    }
    fail_msg("no PCR 4 event with digest %s", hex);
    return 0;
}

static void test_pack_event_logs(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    char cmd[PATH_MAX * 2 + 32], path[256], day[16], next[16], member[128], altered[300];
    char apps[8][65];
    unsigned char pcrs[256], *orig;
    time_t now = time(NULL), tom = now + 86400;
    struct da_test_http r;
    struct tm tm;
    size_t olen, ev;
    int n = 0;

    (void)state;
    assert_non_null(w);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    assert_int_equal(da_test_server_setup(&w->srv, NULL), 0);
    snprintf(cmd, sizeof(cmd), "cp %s/tests/fixtures/server/policy-test.json %s/policy.json",
             DA_SOURCE_ROOT, w->srv.state);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(da_test_server_start(&w->srv), 0);
    w->a = (struct da_fleet_machine){.vendor = "acme", .hostname = "build-a"};
    w->b = (struct da_fleet_machine){.vendor = "acme", .hostname = "build-b"};
    w->plain = (struct da_fleet_machine){.vendor = "acme", .hostname = "build-plain"};
    assert_int_equal(da_fleet_add(&w->srv, &w->a, 1), 0);
    assert_int_equal(da_fleet_add(&w->srv, &w->b, 2), 0);
    assert_int_equal(da_fleet_add(&w->srv, &w->plain, 3), 0);
    report_with(w, &w->a, LOG_A);
    report_with(w, &w->b, LOG_B);
    report_with(w, &w->plain, NULL);
    report_with(w, &w->a, LOG_A);
    expect_replays(w, w->a.report_ids[0]);
    expect_replays(w, w->b.report_ids[0]);

    /* the pack through the API */
    gmtime_r(&now, &tm);
    strftime(day, sizeof(day), "%Y-%m-%d", &tm);
    gmtime_r(&tom, &tm);
    strftime(next, sizeof(next), "%Y-%m-%d", &tm);
    snprintf(path, sizeof(path), "/v1/vendors/acme/evidence-pack?from=%s&to=%s", day, next);
    assert_int_equal(da_test_http(&w->srv, "GET", path, w->srv.auditor, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    snprintf(w->pack, sizeof(w->pack), "%s/pack.tar", w->srv.dir);
    da_test_spill(w->pack, r.body, r.len);
    da_test_http_clear(&r);

    /* each log in the pack is the file the agent sent, byte for byte (GNU
     * tar and Python's base64 read it, cmp compares) */
    for (int k = 0; k < 3; k++) {
        const char *id = k == 0   ? w->a.report_ids[0]
                         : k == 1 ? w->b.report_ids[0]
                                  : w->a.report_ids[1];

        assert_int_equal(
            da_test_sh(NULL, 0,
                       "tar -xOf %s reports/%s/report.json | python3 -c 'import "
                       "base64,json,sys; sys.stdout.buffer.write(base64.b64decode(json."
                       "load(sys.stdin)[\"event_log\"], validate=True))' | cmp -s - %s",
                       w->pack, id, k == 1 ? LOG_B : LOG_A),
            0);
    }
    /* the report sent without a log has none in the pack */
    assert_int_equal(da_test_sh(w->out, sizeof(w->out), "tar -xOf %s reports/%s/report.json",
                                w->pack, w->plain.report_ids[0]),
                     0);
    assert_null(strstr(w->out, "event_log"));

    /* every report verifies offline, the logs replayed against the quotes */
    assert_int_equal(verify(w, w->pack), 0);
    assert_int_equal(da_test_count(w->out, ": ok\n"), 4);
    assert_int_equal(da_test_count(w->out, "FAIL"), 0);

    /* the log of a's first report with one byte of its first boot
     * application's digest changed */
    snprintf(w->dir, sizeof(w->dir), "%s/unpacked", w->srv.dir);
    snprintf(w->names, sizeof(w->names), "%s/members.txt", w->srv.dir);
    assert_int_equal(da_test_sh(NULL, 0, "mkdir -p %s && tar -xf %s -C %s && tar -tf %s > %s",
                                w->dir, w->pack, w->dir, w->pack, w->names),
                     0);
    orig = (unsigned char *)da_test_slurp(LOG_A, &olen);
    assert_int_equal(da_fleet_tpm2_eventlog(LOG_A, pcrs, apps, 8, &n), 0);
    assert_true(n >= 1);
    ev = event_at(orig, olen, apps[0]);
    snprintf(member, sizeof(member), "reports/%s/report.json", w->a.report_ids[0]);
    snprintf(altered, sizeof(altered), "%s/altered.tar", w->srv.dir);
    flip_log_byte(w, w->a.report_ids[0], orig, olen, ev + 14 + 31);

    /* the manifest as it was: it catches the changed member */
    repack(w, altered, member, 0);
    expect_only(w, altered, w->a.report_ids[0], "pack_invalid", "report.json missing or altered");

    /* the manifest naming the new digest, signed again by the CA: the log
     * no longer replays to the quoted PCR 4 */
    repack(w, altered, member, 1);
    expect_only(w, altered, w->a.report_ids[0], "pack_event_log_replay",
                "the event log does not replay to the quoted PCRs: sha256 PCR 4 replays to");

    /* one byte of that event's data (its image address, outside every
     * digest): the log still replays but is not the one the server verified */
    assert_int_equal(da_test_sh(NULL, 0, "tar -xf %s -C %s %s", w->pack, w->dir, member), 0);
    flip_log_byte(w, w->a.report_ids[0], orig, olen, ev + 14 + 32 + 4);
    repack(w, altered, member, 1);
    expect_only(w, altered, w->a.report_ids[0], "pack_event_log_differs",
                "the event log's SHA-256 differs from the one the server recorded");

    free(orig);
    assert_int_equal(da_test_server_stop(&w->srv), 0);
    da_test_server_cleanup(&w->srv);
    da_fleet_free(&w->a);
    da_fleet_free(&w->b);
    da_fleet_free(&w->plain);
    free(w);
    curl_global_cleanup();
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_pack_event_logs)};

    return cmocka_run_group_tests(tests, NULL, NULL);
}
