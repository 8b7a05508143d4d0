/* server/measured.c: /attestation/boot from a real event log and quoted PCR
 * values, the contradictions with reported facts, and the refusals. The
 * quoted values are those Debian's tpm2_eventlog replays the log to. */
#include "da_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "caps.h"
#include "encoding.h"
#include "err.h"
#include "file.h"
#include "eventlog_facts.h"
#include "measured.h"

#define ZERO63 "000000000000000000000000000000000000000000000000000000000000000"
#define ZERO64 ZERO63 "0"
#define LOG    DA_SOURCE_ROOT "/tests/data/eventlogs/event-moklisttrusted.bin"

struct fixture {
    struct da_buf log;
    struct da_pcr_selection sel;
    unsigned char values[10 * 32];
    const struct da_dbx_reference *dbx;
    char dbx_hash[65]; /* the one revocation of the log's dbx, per tpm2_eventlog */
};

/* sha256:0-9 as tpm2_eventlog prints them (PCRs it does not list: zero). */
static int load(struct fixture *f, const char *log, int want_dbx)
{
    char line[8192], hex[80], cmd[1200];
    unsigned idx;
    int bank = 0, dbx = 0;
    FILE *p;

    if (da_pcr_selection_parse("sha256:0-9", &f->sel) != 0)
        return -1;
    da_buf_init(&f->log, DA_MAX_EVENT_LOG);
    if (da_file_read(log, DA_MAX_EVENT_LOG, &f->log) != 0)
        return -1;
    snprintf(cmd, sizeof(cmd), "tpm2_eventlog '%s' 2>/dev/null", log);
    p = popen(cmd, "r");
    if (p == NULL)
        return -1;
    while (fgets(line, sizeof(line), p) != NULL) {
        size_t n = 0;
        char *v;
        if (want_dbx && strstr(line, "UnicodeName: dbx") != NULL)
            dbx = 1;
        else if (dbx && (v = strstr(line, "VariableData: \"")) != NULL) {
            /* EFI_SIGNATURE_LIST of one EFI_CERT_SHA256 entry: 76 bytes */
            v += strlen("VariableData: \"");
            if (strlen(v) < 152 || v[152] != '"')
                return -1;
            memcpy(f->dbx_hash, v + 152 - 64, 64);
            dbx = 0;
        }
        if (strncmp(line, "  sha256:", 9) == 0)
            bank = 1;
        else if (bank && sscanf(line, " %u : 0x%79s", &idx, hex) == 2 && idx <= 9 &&
                 da_hex_decode_to(hex, strlen(hex), f->values + 32 * idx, 32, &n) != 0)
            return -1;
    }
    if (pclose(p) != 0 || !bank)
        return -1;
    return 0;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (f == NULL || load(f, LOG, 1) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    da_buf_free(&f->log);
    free(f);
    return 0;
}

static cJSON *boot_for(struct fixture *f, const unsigned char *log, size_t len,
                       const char *evidence)
{
    cJSON *ev = cJSON_Parse(evidence), *boot = NULL;

    assert_non_null(ev);
    assert_int_equal(
        srv_measured_boot(&f->sel, f->values, sizeof(f->values), log, len, ev, f->dbx, &boot), 0);
    cJSON_Delete(ev);
    assert_non_null(boot);
    return boot;
}

static const char *state_of(const cJSON *boot)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(boot, "log");

    return cJSON_IsString(s) ? s->valuestring : "";
}

static void test_replays_and_agrees(void **state)
{
    struct fixture *f = *state;
    cJSON *boot = boot_for(f, da_buf_data(&f->log), da_buf_len(&f->log),
                           "{\"isolation\":{\"secure_boot\":{\"uefi\":true,\"enabled\":true,"
                           "\"firmware_enabled\":true}},"
                           "\"host\":{\"kernel\":{\"release\":\"5.14.0-130.el9.x86_64\"}}}");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(boot, "measured");

    assert_string_equal(state_of(boot), "replays");
    assert_true(
        cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(m, "secure_boot"), "SecureBoot")));
    assert_string_equal(cJSON_GetObjectItem(m, "kernel_release")->valuestring,
                        "5.14.0-130.el9.x86_64");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(boot, "contradictions")), 0);
    cJSON_Delete(boot);
}

static void test_contradictions_show_both_values(void **state)
{
    struct fixture *f = *state;
    cJSON *boot =
        boot_for(f, da_buf_data(&f->log), da_buf_len(&f->log),
                 "{\"isolation\":{\"secure_boot\":{\"uefi\":true,\"enabled\":false,"
                 "\"firmware_enabled\":false,\"setup_mode\":{\"unknown\":\"permission\"}}},"
                 "\"host\":{\"kernel\":{\"release\":\"6.1.0-13-amd64\"}}}");
    const cJSON *arr = cJSON_GetObjectItem(boot, "contradictions"), *c;
    char *text;

    assert_int_equal(cJSON_GetArraySize(arr), 2);
    c = cJSON_GetArrayItem(arr, 0);
    assert_string_equal(cJSON_GetObjectItem(c, "verdict")->valuestring,
                        "claim_contradicts_measurement");
    assert_string_equal(cJSON_GetObjectItem(c, "reported_pointer")->valuestring,
                        "/isolation/secure_boot/firmware_enabled");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(c, "reported")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(c, "measured")));
    c = cJSON_GetArrayItem(arr, 1);
    text = cJSON_PrintUnformatted(c);
    assert_non_null(strstr(text, "\"reported\":\"6.1.0-13-amd64\""));
    assert_non_null(strstr(text, "\"measured\":\"5.14.0-130.el9.x86_64\""));
    free(text);
    cJSON_Delete(boot);
}

/* Secure Boot reported enforced on a machine whose TPM measured it off
 * (the arch-linux log: SecureBoot 0), with no firmware_enabled reported. */
static void test_enforced_claim_contradicts_measured_off(void **state)
{
    struct fixture *g = calloc(1, sizeof(*g));
    cJSON *boot;
    const cJSON *arr, *c;

    (void)state;
    assert_non_null(g);
    assert_int_equal(load(g, DA_SOURCE_ROOT "/tests/data/eventlogs/event-arch-linux.bin", 0), 0);
    boot = boot_for(g, da_buf_data(&g->log), da_buf_len(&g->log),
                    "{\"isolation\":{\"secure_boot\":{\"uefi\":true,\"enabled\":true}}}");
    assert_string_equal(state_of(boot), "replays");
    arr = cJSON_GetObjectItem(boot, "contradictions");
    assert_int_equal(cJSON_GetArraySize(arr), 1);
    c = cJSON_GetArrayItem(arr, 0);
    assert_string_equal(cJSON_GetObjectItem(c, "verdict")->valuestring,
                        "claim_contradicts_measurement");
    assert_string_equal(cJSON_GetObjectItem(c, "reported_pointer")->valuestring,
                        "/isolation/secure_boot/enabled");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(c, "reported")));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(c, "measured")));
    cJSON_Delete(boot);
    /* reported not enforced on that machine: nothing contradicts */
    boot = boot_for(g, da_buf_data(&g->log), da_buf_len(&g->log),
                    "{\"isolation\":{\"secure_boot\":{\"uefi\":true,\"enabled\":false,"
                    "\"firmware_enabled\":false}}}");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(boot, "contradictions")), 0);
    cJSON_Delete(boot);
    da_buf_free(&g->log);
    free(g);
}

static void test_refusals(void **state)
{
    struct fixture *f = *state;
    unsigned char *copy = malloc(da_buf_len(&f->log));
    size_t len = da_buf_len(&f->log);
    cJSON *boot;
    const cJSON *d;

    assert_non_null(copy);
    /* no log, but the quoted firmware PCRs (tpm2_eventlog's values of a
     * real boot) are extended: the log exists and was withheld */
    boot = boot_for(f, NULL, 0, "{}");
    assert_string_equal(state_of(boot), "withheld");
    assert_null(cJSON_GetObjectItem(boot, "measured"));
    d = cJSON_GetObjectItem(boot, "detail");
    assert_non_null(strstr(d->valuestring, "sha256 PCR 0 is extended"));
    cJSON_Delete(boot);
    /* no log and PCRs 0-7 in their reset state (a TPM no firmware measured
     * into, PCRs 8 and 9 extended by someone else): absent */
    {
        unsigned char saved[sizeof(f->values)];

        memcpy(saved, f->values, sizeof(saved));
        memset(f->values, 0, 8 * 32);
        boot = boot_for(f, NULL, 0, "{}");
        assert_string_equal(state_of(boot), "absent");
        assert_null(cJSON_GetObjectItem(boot, "detail"));
        cJSON_Delete(boot);
        /* only PCR 7 extended is enough */
        f->values[7 * 32] = 1;
        boot = boot_for(f, NULL, 0, "{}");
        assert_string_equal(state_of(boot), "withheld");
        cJSON_Delete(boot);
        memcpy(f->values, saved, sizeof(saved));
    }
    /* a PCR 4 digest changed: the quote has the other value */
    f->values[4 * 32 + 31] ^= 1;
    boot = boot_for(f, da_buf_data(&f->log), len, "{}");
    f->values[4 * 32 + 31] ^= 1;
    assert_string_equal(state_of(boot), "does_not_replay");
    assert_null(cJSON_GetObjectItem(boot, "measured"));
    d = cJSON_GetObjectItem(boot, "detail");
    assert_non_null(strstr(d->valuestring, "sha256 PCR 4: the log replays to "));
    cJSON_Delete(boot);
    /* truncated mid-event */
    boot = boot_for(f, da_buf_data(&f->log), len - 3, "{}");
    assert_string_equal(state_of(boot), "malformed");
    cJSON_Delete(boot);
    free(copy);
}

static void test_dbx_freshness(void **state)
{
    struct fixture *f = *state;
    struct da_dbx_reference ref;
    char text[512];
    cJSON *boot;
    const cJSON *d;

    assert_int_equal(strlen(f->dbx_hash), 64);
    /* the log's dbx holds the reference */
    snprintf(text, sizeof(text),
             "{\"schema\":\"devattest.dbx-reference/v1\",\"date\":\"2026-01-31\","
             "\"source\":\"test\",\"sha256\":[\"%s\"]}",
             f->dbx_hash);
    assert_int_equal(da_dbx_reference_parse(text, strlen(text), &ref), 0);
    f->dbx = &ref;
    boot = boot_for(f, da_buf_data(&f->log), da_buf_len(&f->log), "{}");
    d = cJSON_GetObjectItem(boot, "dbx");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(d, "current")));
    assert_int_equal(cJSON_GetObjectItem(d, "missing")->valueint, 0);
    assert_int_equal(cJSON_GetObjectItem(d, "measured_entries")->valueint, 1);
    assert_string_equal(cJSON_GetObjectItem(d, "reference_date")->valuestring, "2026-01-31");
    cJSON_Delete(boot);
    da_dbx_reference_free(&ref);
    /* a newer reference with a revocation the machine lacks */
    snprintf(text, sizeof(text),
             "{\"schema\":\"devattest.dbx-reference/v1\",\"date\":\"2026-06-30\","
             "\"source\":\"test\",\"sha256\":[\"%s\",\"%064d\"]}",
             f->dbx_hash, 7);
    assert_int_equal(da_dbx_reference_parse(text, strlen(text), &ref), 0);
    boot = boot_for(f, da_buf_data(&f->log), da_buf_len(&f->log), "{}");
    d = cJSON_GetObjectItem(boot, "dbx");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(d, "current")));
    assert_int_equal(cJSON_GetObjectItem(d, "missing")->valueint, 1);
    cJSON_Delete(boot);
    da_dbx_reference_free(&ref);
    f->dbx = NULL;
    /* references that are refused */
    {
        static const char *const bad[] = {
            "{\"schema\":\"x\",\"date\":\"2026-01-31\",\"sha256\":[\"" ZERO64 "\"]}",
            "{\"schema\":\"devattest.dbx-reference/v1\",\"date\":\"2026-1-31\","
            "\"sha256\":[\"" ZERO64 "\"]}",
            "{\"schema\":\"devattest.dbx-reference/v1\",\"date\":\"2026-01-31\","
            "\"sha256\":[\"" ZERO63 "A\"]}",
            "{\"schema\":\"devattest.dbx-reference/v1\",\"date\":\"2026-01-31\","
            "\"sha256\":[]}",
            "{\"schema\":\"devattest.dbx-reference/v1\",\"date\":\"2026-01-31\","
            "\"sha256\":[\"00\"]}",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
            assert_int_equal(da_dbx_reference_parse(bad[i], strlen(bad[i]), &ref), DA_ERR_CONFIG);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replays_and_agrees),
        cmocka_unit_test(test_contradictions_show_both_values),
        cmocka_unit_test(test_enforced_claim_contradicts_measured_off),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_dbx_freshness),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
