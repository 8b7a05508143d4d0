/* The firmware event log parser and replay, on logs built here. */
#include "da_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "caps.h"
#include "err.h"
#include "eventlog.h"
#include "eventlog_build.h"
#include "tmp_tree.h"

#define EV_POST_CODE    0x00000001u
#define EV_SEPARATOR    0x00000004u
#define EV_EFI_VARIABLE 0x80000001u

/* PCR extend computed independently of the parser. */
static void extend(const EVP_MD *md, unsigned char *pcr, const void *data, size_t size)
{
    unsigned char d[64], buf[128];
    unsigned int n = 0, len = (unsigned)EVP_MD_get_size(md);

    EVP_Digest(data, size, d, &n, md, NULL);
    memcpy(buf, pcr, len);
    memcpy(buf + len, d, len);
    EVP_Digest(buf, 2 * len, pcr, &n, md, NULL);
}

static void build_agile(struct elb *b)
{
    elb_start_agile(b);
    elb_startup_locality(b, 3);
    elb_event(b, 0, EV_POST_CODE, "firmware volume", 15);
    elb_event(b, 0, EV_SEPARATOR, "\0\0\0\0", 4);
    elb_event(b, 7, EV_EFI_VARIABLE, "SecureBoot=1", 12);
    elb_event(b, 4, EV_POST_CODE, "bootloader", 10);
}

static void test_agile_log_summary_and_replay(void **state)
{
    struct elb b;
    struct da_eventlog_summary s;
    unsigned char pcrs[DA_EVENTLOG_PCRS][DA_EVENTLOG_MAX_DIGEST];
    unsigned char p0[32] = {0}, p7[32] = {0}, p4[32] = {0}, s7[20] = {0};
    uint32_t extended;

    (void)state;
    build_agile(&b);
    assert_int_equal(da_eventlog_parse(b.data, b.len, &s), 0);
    assert_int_equal(s.crypto_agile, 1);
    assert_int_equal(s.events, 6);
    assert_int_equal(s.alg_count, 2);
    assert_int_equal(s.algs[0], 0x0004);
    assert_int_equal(s.algs[1], 0x000b);
    assert_int_equal(s.extended_pcrs, (1u << 0) | (1u << 4) | (1u << 7));

    p0[31] = 3; /* StartupLocality 3 */
    extend(EVP_sha256(), p0, "firmware volume", 15);
    extend(EVP_sha256(), p0, "\0\0\0\0", 4);
    extend(EVP_sha256(), p7, "SecureBoot=1", 12);
    extend(EVP_sha256(), p4, "bootloader", 10);
    assert_int_equal(da_eventlog_replay(b.data, b.len, 0x000b, pcrs, &extended), 0);
    assert_int_equal(extended, s.extended_pcrs);
    assert_memory_equal(pcrs[0], p0, 32);
    assert_memory_equal(pcrs[7], p7, 32);
    assert_memory_equal(pcrs[4], p4, 32);

    extend(EVP_sha1(), s7, "SecureBoot=1", 12);
    assert_int_equal(da_eventlog_replay(b.data, b.len, 0x0004, pcrs, &extended), 0);
    assert_memory_equal(pcrs[7], s7, 20);
    assert_int_equal(da_eventlog_replay(b.data, b.len, 0x000c, pcrs, &extended), DA_ERR_NOT_FOUND);
}

static void test_sha1_log(void **state)
{
    struct elb b;
    struct da_eventlog_summary s;
    unsigned char pcrs[DA_EVENTLOG_PCRS][DA_EVENTLOG_MAX_DIGEST];
    unsigned char p2[20] = {0};
    uint32_t extended;

    (void)state;
    elb_start_sha1(&b);
    elb_event(&b, 2, EV_POST_CODE, "option rom", 10);
    elb_event(&b, 2, EV_SEPARATOR, "\0\0\0\0", 4);
    assert_int_equal(da_eventlog_parse(b.data, b.len, &s), 0);
    assert_int_equal(s.crypto_agile, 0);
    assert_int_equal(s.events, 2);
    assert_int_equal(s.alg_count, 1);
    extend(EVP_sha1(), p2, "option rom", 10);
    extend(EVP_sha1(), p2, "\0\0\0\0", 4);
    assert_int_equal(da_eventlog_replay(b.data, b.len, 0x0004, pcrs, &extended), 0);
    assert_int_equal(extended, 1u << 2);
    assert_memory_equal(pcrs[2], p2, 20);
    assert_int_equal(da_eventlog_replay(b.data, b.len, 0x000b, pcrs, &extended), DA_ERR_NOT_FOUND);
}

/* Every cut either fails or ends at an event boundary with fewer events;
 * a trailing byte always fails. */
static void test_truncation_and_trailing_bytes(void **state)
{
    struct elb b;
    struct da_eventlog_summary s;
    size_t cut;
    int boundaries = 0;

    (void)state;
    build_agile(&b);
    for (cut = 0; cut < b.len; cut++) {
        if (da_eventlog_parse(b.data, cut, &s) == 0) {
            assert_true(s.events < 6);
            boundaries++;
        }
    }
    assert_int_equal(boundaries, 5); /* after each of the first five events */
    b.data[b.len] = 0;
    assert_int_equal(da_eventlog_parse(b.data, b.len + 1, &s), DA_ERR_TPM_EVENTLOG);
    assert_int_equal(da_eventlog_parse(NULL, 0, &s), DA_ERR_TPM_EVENTLOG);
}

static void test_malformed_fields(void **state)
{
    struct elb b;
    struct da_eventlog_summary s;
    size_t event2;

    (void)state;
    /* An event in PCR 24. */
    build_agile(&b);
    event2 = b.len;
    elb_event(&b, 24, EV_POST_CODE, "x", 1);
    assert_int_equal(da_eventlog_parse(b.data, b.len, &s), DA_ERR_TPM_EVENTLOG);

    /* A digest algorithm the header did not announce (sha384 for sha256). */
    b.len = event2;
    elb_event(&b, 1, EV_POST_CODE, "y", 1);
    b.data[event2 + 12 + 2 + 20] = 0x0c;
    assert_int_equal(da_eventlog_parse(b.data, b.len, &s), DA_ERR_TPM_EVENTLOG);

    /* More digests than the header's algorithms. */
    b.data[event2 + 12 + 2 + 20] = 0x0b;
    assert_int_equal(da_eventlog_parse(b.data, b.len, &s), 0);
    b.data[event2 + 8] = 3;
    assert_int_equal(da_eventlog_parse(b.data, b.len, &s), DA_ERR_TPM_EVENTLOG);

    /* A header announcing no algorithms. */
    elb_start_agile(&b);
    b.data[32 + 24] = 0;
    assert_int_equal(da_eventlog_parse(b.data, b.len, &s), DA_ERR_TPM_EVENTLOG);
}

static void test_read_file(void **state)
{
    char dir[200], path[PATH_MAX];
    struct da_buf got = {0};
    struct elb b;
    FILE *f;

    (void)state;
    assert_int_equal(da_test_tmpdir("da-eventlog", dir, sizeof(dir)), 0);
    snprintf(path, sizeof(path), "%s/binary_bios_measurements", dir);
    assert_int_equal(agent_eventlog_read(path, &got), DA_ERR_NOT_FOUND);
    build_agile(&b);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b.data, 1, b.len, f), b.len);
    fclose(f);
    assert_int_equal(agent_eventlog_read(path, &got), 0);
    assert_int_equal(got.len, b.len);
    assert_memory_equal(got.data, b.data, b.len);
    da_buf_free(&got);
    /* Larger than the cap. */
    assert_int_equal(truncate(path, (off_t)DA_MAX_EVENT_LOG + 1), 0);
    assert_int_equal(agent_eventlog_read(path, &got), DA_ERR_TOO_LARGE);
    assert_null(got.data);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agile_log_summary_and_replay),
        cmocka_unit_test(test_sha1_log),
        cmocka_unit_test(test_truncation_and_trailing_bytes),
        cmocka_unit_test(test_malformed_fields),
        cmocka_unit_test(test_read_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
