/* The firmware event log parser on real logs (tests/data/eventlogs), with
 * Debian's tpm2_eventlog as the independent oracle: the PCR values it
 * replays to, and the SecureBoot variable it decodes. */
#include "da_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "caps.h"
#include "encoding.h"
#include "err.h"
#include "eventlog_facts.h"
#include "file.h"
#include "quote.h"
#include "tcg_eventlog.h"
#include "tpm_public.h"

#define LOG_DIR DA_SOURCE_ROOT "/tests/data/eventlogs/"

static const char *const logs[] = {"event-arch-linux.bin", "event-moklisttrusted.bin",
                                   "event-sd-boot-fedora37.bin", "event-uefi-sha1-log.bin"};

struct oracle {
    size_t banks;
    uint16_t alg[4];
    uint32_t mask[4];
    unsigned char pcr[4][DA_EVENTLOG_PCRS][DA_EVENTLOG_MAX_DIGEST];
    int secure_boot; /* -1: no SecureBoot variable event */
};

static uint16_t alg_of(const char *name)
{
    if (strcmp(name, "sha1") == 0)
        return TPM2_ALG_SHA1;
    if (strcmp(name, "sha256") == 0)
        return TPM2_ALG_SHA256;
    if (strcmp(name, "sha384") == 0)
        return TPM2_ALG_SHA384;
    fail_msg("oracle bank %s", name);
    return 0;
}

/* Run tpm2_eventlog and read its "pcrs:" section and the SecureBoot
 * variable's data. */
static void run_oracle(const char *path, struct oracle *o)
{
    char cmd[4096], line[8192];
    FILE *p;
    int in_pcrs = 0, after_sb = 0;

    memset(o, 0, sizeof(*o));
    o->secure_boot = -1;
    snprintf(cmd, sizeof(cmd), "tpm2_eventlog '%s' 2>/dev/null", path);
    p = popen(cmd, "r");
    assert_non_null(p);
    while (fgets(line, sizeof(line), p) != NULL) {
        char name[16], hex[160];
        unsigned idx;
        if (strncmp(line, "pcrs:", 5) == 0) {
            in_pcrs = 1;
            continue;
        }
        if (in_pcrs && sscanf(line, "  %15[a-z0-9]:", name) == 1 && line[2] != ' ') {
            assert_true(o->banks < 4);
            o->alg[o->banks++] = alg_of(name);
            continue;
        }
        if (in_pcrs && sscanf(line, " %u : 0x%159s", &idx, hex) == 2) {
            size_t n = 0, b = o->banks - 1;
            assert_true(idx < DA_EVENTLOG_PCRS);
            assert_int_equal(
                da_hex_decode_to(hex, strlen(hex), o->pcr[b][idx], DA_EVENTLOG_MAX_DIGEST, &n), 0);
            assert_int_equal(n, da_tpm_hash_size(o->alg[b]));
            o->mask[b] |= 1u << idx;
            continue;
        }
        if (strstr(line, "UnicodeName: SecureBoot") != NULL) {
            after_sb = 1;
            o->secure_boot = 0;
            continue;
        }
        if (after_sb) {
            if (strstr(line, "VariableData: \"01\"") != NULL)
                o->secure_boot = 1;
            after_sb = 0;
        }
    }
    assert_int_equal(pclose(p), 0);
    assert_true(o->banks > 0);
}

static void read_log(const char *name, struct da_buf *b)
{
    char path[1024];

    snprintf(path, sizeof(path), "%s%s", LOG_DIR, name);
    da_buf_init(b, DA_MAX_EVENT_LOG);
    assert_int_equal(da_file_read(path, DA_MAX_EVENT_LOG, b), 0);
}

static void test_replay_equals_tpm2_eventlog(void **state)
{
    (void)state;
    for (size_t l = 0; l < sizeof(logs) / sizeof(logs[0]); l++) {
        struct oracle o;
        struct da_buf b;
        char path[1024];

        snprintf(path, sizeof(path), "%s%s", LOG_DIR, logs[l]);
        run_oracle(path, &o);
        read_log(logs[l], &b);
        for (size_t k = 0; k < o.banks; k++) {
            unsigned char pcrs[DA_EVENTLOG_PCRS][DA_EVENTLOG_MAX_DIGEST];
            uint32_t extended = 0;
            size_t size = da_tpm_hash_size(o.alg[k]);
            assert_int_equal(
                da_eventlog_replay(da_buf_data(&b), da_buf_len(&b), o.alg[k], pcrs, &extended), 0);
            assert_int_equal(extended, o.mask[k]);
            for (int i = 0; i < DA_EVENTLOG_PCRS; i++) {
                if ((o.mask[k] & (1u << i)) != 0 && memcmp(pcrs[i], o.pcr[k][i], size) != 0)
                    fail_msg("%s bank %u PCR %d differs from tpm2_eventlog", logs[l], o.alg[k], i);
            }
        }
        da_buf_free(&b);
    }
}

static void test_secure_boot_equals_variable(void **state)
{
    int seen_on = 0;

    (void)state;
    for (size_t l = 0; l < sizeof(logs) / sizeof(logs[0]); l++) {
        struct oracle o;
        struct da_buf b;
        char path[1024];
        cJSON *facts = NULL, *sb;

        snprintf(path, sizeof(path), "%s%s", LOG_DIR, logs[l]);
        run_oracle(path, &o);
        read_log(logs[l], &b);
        assert_int_equal(
            da_eventlog_facts(da_buf_data(&b), da_buf_len(&b), TPM2_ALG_SHA256, &facts), 0);
        sb = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(facts, "secure_boot"), "SecureBoot");
        assert_int_not_equal(o.secure_boot, -1);
        assert_non_null(sb);
        assert_int_equal(cJSON_IsTrue(sb) ? 1 : 0, o.secure_boot);
        seen_on += o.secure_boot;
        cJSON_Delete(facts);
        da_buf_free(&b);
    }
    assert_int_equal(seen_on, 1); /* the shim log boots with Secure Boot on */
}

/* The quoted values as tpm2_eventlog replays them, for sha256:0-9. */
static size_t oracle_values(const struct oracle *o, struct da_pcr_selection *sel, unsigned char *v)
{
    size_t k, n = 0;

    for (k = 0; k < o->banks && o->alg[k] != TPM2_ALG_SHA256; k++)
        ;
    assert_true(k < o->banks);
    assert_int_equal(da_pcr_selection_parse("sha256:0-9", sel), 0);
    for (int i = 0; i <= 9; i++, n += 32) {
        if ((o->mask[k] & (1u << i)) != 0)
            memcpy(v + n, o->pcr[k][i], 32);
        else
            memset(v + n, 0, 32);
    }
    return n;
}

static void test_match_and_tamper(void **state)
{
    struct oracle o;
    struct da_buf b;
    struct da_pcr_selection sel;
    struct da_eventlog_mismatch m;
    unsigned char values[10 * 32], *copy;
    size_t n, len;

    (void)state;
    run_oracle(LOG_DIR "event-moklisttrusted.bin", &o);
    read_log("event-moklisttrusted.bin", &b);
    n = oracle_values(&o, &sel, values);
    len = da_buf_len(&b);
    assert_int_equal(da_eventlog_match(da_buf_data(&b), len, &sel, values, n, &m), 0);
    /* a quoted value the log does not produce */
    values[4 * 32] ^= 1;
    assert_int_equal(da_eventlog_match(da_buf_data(&b), len, &sel, values, n, &m),
                     DA_ERR_VERIFY_EVENTLOG_REPLAY);
    assert_int_equal(m.pcr, 4);
    assert_int_equal(m.alg, TPM2_ALG_SHA256);
    values[4 * 32] ^= 1;
    /* one byte of the last event's digest changed: it extends PCR 5 */
    copy = malloc(len);
    assert_non_null(copy);
    memcpy(copy, da_buf_data(&b), len);
    copy[len - 4 - 40 - 32] ^= 0x80;
    assert_int_equal(da_eventlog_match(copy, len, &sel, values, n, &m),
                     DA_ERR_VERIFY_EVENTLOG_REPLAY);
    assert_int_equal(m.pcr, 5);
    /* the last event removed */
    assert_int_equal(da_eventlog_match(da_buf_data(&b), len - (4 + 4 + 4 + 2 + 32 + 4 + 40), &sel,
                                       values, n, &m),
                     DA_ERR_VERIFY_EVENTLOG_REPLAY);
    /* a bank the log lacks */
    assert_int_equal(da_pcr_selection_parse("sha1:0-7", &sel), 0);
    assert_int_equal(da_eventlog_match(da_buf_data(&b), len, &sel, values, 8 * 20, &m),
                     DA_ERR_VERIFY_EVENTLOG_REPLAY);
    assert_int_equal(m.alg, 0);
    free(copy);
    da_buf_free(&b);
}

/* The subject of the db entry that verified shim, as openssl reads the
 * certificate tpm2_eventlog shows in the EV_EFI_VARIABLE_AUTHORITY event
 * (EFI_SIGNATURE_DATA: 16 bytes of owner GUID, then the DER). */
static void test_authority_subject_equals_openssl(void **state)
{
    static const char cmd[] = "tpm2_eventlog '" LOG_DIR "event-moklisttrusted.bin' 2>/dev/null | "
                              "grep -A3 'UnicodeName: db$' | grep VariableData | tail -1 | "
                              "sed 's/.*\"\\(.*\\)\"/\\1/' | cut -c33- | xxd -r -p | "
                              "openssl x509 -inform DER -noout -subject -nameopt compat";
    char line[1024];
    const cJSON *a, *got = NULL;
    cJSON *facts = NULL;
    struct da_buf b;
    FILE *p;

    (void)state;
    p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(line, sizeof(line), p));
    assert_int_equal(pclose(p), 0);
    line[strcspn(line, "\n")] = '\0';
    assert_true(strncmp(line, "subject=/", 9) == 0);
    read_log("event-moklisttrusted.bin", &b);
    assert_int_equal(da_eventlog_facts(da_buf_data(&b), da_buf_len(&b), TPM2_ALG_SHA256, &facts),
                     0);
    cJSON_ArrayForEach(a, cJSON_GetObjectItem(facts, "authorities"))
    {
        if (strcmp(cJSON_GetObjectItem(a, "variable")->valuestring, "db") == 0)
            got = cJSON_GetObjectItem(a, "subject");
    }
    assert_non_null(got);
    assert_string_equal(got->valuestring, line + strlen("subject="));
    cJSON_Delete(facts);
    da_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_equals_tpm2_eventlog),
        cmocka_unit_test(test_secure_boot_equals_variable),
        cmocka_unit_test(test_match_and_tamper),
        cmocka_unit_test(test_authority_subject_equals_openssl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
