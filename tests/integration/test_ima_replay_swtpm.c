/* The IMA replay of PCR 10 (da_ima_replay) against a TPM: swtpm's PCR 10 is
 * extended in the SHA-1 and SHA-256 banks with tpm2_pcrextend, entry by
 * entry, with what the kernel extends (the template hash of each bank's
 * algorithm, 0xff bytes for a violation), and read back with tpm2_pcrread.
 * The values the TPM computed are the expected ones: whole list, increments
 * from a stored aggregate, entries after the quoted point, an entry removed
 * or altered. */
#include "da_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "ima_build.h"
#include "ima_log.h"
#include "swtpm_harness.h"

struct world {
    struct da_test_swtpm tpm;
    struct da_test_ima list;
    unsigned char q1[20], q256[32]; /* PCR 10 after all entries */
    unsigned char h1[20], h256[32]; /* after the first half */
    size_t half, half_offset;
};

static int group_setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    unsigned char d[32], sig[64], s1[20];

    /* both banks IMA extends; the harness allocates SHA-256 alone otherwise */
    setenv("DA_SWTPM_PCR_BANKS", "sha1,sha256", 1);
    if (w == NULL || da_test_swtpm_start(&w->tpm) != 0) {
        print_error("swtpm did not start\n");
        return -1;
    }
    for (int i = 0; i < 12; i++) {
        char path[64];
        int rc;
        memset(d, i, sizeof(d));
        memset(sig, 0x30 + i, sizeof(sig));
        memset(s1, 0x70 + i, sizeof(s1));
        snprintf(path, sizeof(path), i == 0 ? "boot_aggregate" : "/usr/bin/tool%d", i);
        if (i == 4)
            rc = da_test_ima_add(&w->list, 10, "sha256", d, 32, "/tmp/open-writer", NULL, 0, 1);
        else if (i == 5)
            rc = da_test_ima_add_legacy(&w->list, s1, path);
        else if (i == 7)
            rc = da_test_ima_add(&w->list, 10, "sha256", d, 32, path, sig, sizeof(sig), 0);
        else if (i == 9)
            rc = da_test_ima_add(&w->list, 10, "sha1", d, 20, path, NULL, 0, 0);
        else
            rc = da_test_ima_add(&w->list, 10, "sha256", d, 32, path, NULL, 0, 0);
        if (rc != 0 || da_test_ima_extend_last(&w->list, w->tpm.tcti, "sha1,sha256") != 0) {
            print_error("entry %d: rc %d\n", i, rc);
            return -1;
        }
        if (i == 5) {
            w->half = w->list.entries;
            w->half_offset = w->list.len;
            if (da_test_ima_pcr10(w->tpm.tcti, "sha1", w->h1, 20) != 0 ||
                da_test_ima_pcr10(w->tpm.tcti, "sha256", w->h256, 32) != 0)
                return -1;
        }
    }
    if (da_test_ima_pcr10(w->tpm.tcti, "sha1", w->q1, 20) != 0 ||
        da_test_ima_pcr10(w->tpm.tcti, "sha256", w->q256, 32) != 0)
        return -1;
    *state = w;
    return 0;
}

static int group_teardown(void **state)
{
    struct world *w = *state;

    if (w != NULL)
        da_test_swtpm_stop(&w->tpm);
    free(w);
    return 0;
}

static void test_whole_list_both_banks(void **state)
{
    struct world *w = *state;
    struct da_ima_aggregate a, out;
    size_t used = 0;

    da_ima_aggregate_init(&a, DA_IMA_BANK_SHA1 | DA_IMA_BANK_SHA256);
    assert_int_equal(
        da_ima_replay(w->list.data, w->list.len, &a, w->q1, w->q256, NULL, NULL, &out, &used), 0);
    assert_int_equal(used, 12);
    assert_int_equal(out.entries, 12);
    assert_memory_equal(out.sha1, w->q1, 20);
    assert_memory_equal(out.sha256, w->q256, 32);
    /* one bank alone */
    da_ima_aggregate_init(&a, DA_IMA_BANK_SHA256);
    assert_int_equal(
        da_ima_replay(w->list.data, w->list.len, &a, NULL, w->q256, NULL, NULL, &out, &used), 0);
    assert_int_equal(used, 12);
}

/* The first half, then the rest from the stored aggregate. */
static void test_increments(void **state)
{
    struct world *w = *state;
    struct da_ima_aggregate a, mid, out;
    size_t used = 0;

    da_ima_aggregate_init(&a, DA_IMA_BANK_SHA1 | DA_IMA_BANK_SHA256);
    assert_int_equal(
        da_ima_replay(w->list.data, w->half_offset, &a, w->h1, w->h256, NULL, NULL, &mid, &used),
        0);
    assert_int_equal(mid.entries, w->half);
    assert_int_equal(da_ima_replay(w->list.data + w->half_offset, w->list.len - w->half_offset,
                                   &mid, w->q1, w->q256, NULL, NULL, &out, &used),
                     0);
    assert_int_equal(used, 12 - w->half);
    assert_int_equal(out.entries, 12);
    assert_memory_equal(out.sha256, w->q256, 32);
    /* nothing new: the stored aggregate already equals the quote */
    assert_int_equal(da_ima_replay(NULL, 0, &out, w->q1, w->q256, NULL, NULL, &a, &used), 0);
    assert_int_equal(used, 0);
    assert_int_equal(a.entries, 12);
}

/* The quote was taken after the first half: the entries the list has
 * beyond it are not counted. */
static void test_entries_after_the_quote(void **state)
{
    struct world *w = *state;
    struct da_ima_aggregate a, out;
    size_t used = 0;

    da_ima_aggregate_init(&a, DA_IMA_BANK_SHA1 | DA_IMA_BANK_SHA256);
    assert_int_equal(
        da_ima_replay(w->list.data, w->list.len, &a, w->h1, w->h256, NULL, NULL, &out, &used), 0);
    assert_int_equal(used, w->half);
    assert_memory_equal(out.sha256, w->h256, 32);
}

static void test_removed_or_altered(void **state)
{
    struct world *w = *state;
    static unsigned char b[1 << 20];
    struct da_ima_aggregate a, out;
    size_t used = 0, n = w->list.last_offset;

    da_ima_aggregate_init(&a, DA_IMA_BANK_SHA256);
    /* the last entry removed */
    assert_int_equal(da_ima_replay(w->list.data, n, &a, NULL, w->q256, NULL, NULL, &out, &used),
                     DA_ERR_VERIFY_IMA_REPLAY);
    /* a path changed in the middle (the 'l' of tool7 in ima-sig data) */
    memcpy(b, w->list.data, w->list.len);
    for (size_t i = 0; i + 10 < w->list.len; i++) {
        if (memcmp(b + i, "/usr/bin/tool7", 14) == 0) {
            b[i + 9] = 'T';
            break;
        }
    }
    assert_int_equal(da_ima_replay(b, w->list.len, &a, NULL, w->q256, NULL, NULL, &out, &used),
                     DA_ERR_VERIFY_IMA_REPLAY);
    /* the violation marked as an ordinary entry */
    memcpy(b, w->list.data, w->list.len);
    for (size_t i = 0; i + 16 < w->list.len; i++) {
        if (memcmp(b + i, "/tmp/open-writer", 16) == 0) {
            size_t e = i;
            while (memcmp(b + e, "ima-ng", 6) != 0)
                e--;
            memset(b + e - 4 - 20, 0x01, 20);
            break;
        }
    }
    assert_int_equal(da_ima_replay(b, w->list.len, &a, NULL, w->q256, NULL, NULL, &out, &used),
                     DA_ERR_VERIFY_IMA_REPLAY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_list_both_banks),
        cmocka_unit_test(test_increments),
        cmocka_unit_test(test_entries_after_the_quote),
        cmocka_unit_test(test_removed_or_altered),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
