/* The server's IMA evaluation (server/ima.c) on lists built here, with
 * PCR 10 computed by the test from the builder's extend digests (SHA-256 of
 * PCR || digest, with OpenSSL): where an increment may start, a new boot,
 * minimal privacy mode, no IMA, the facts and what is kept, and the
 * allowlist of agent builds. The replay itself is checked against a TPM in
 * test_ima_replay_swtpm. */
#include "da_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "err.h"
#include "ima.h"
#include "ima_build.h"
#include "quote.h"

struct fx {
    struct da_test_ima list;
    unsigned char pcr10[32];
    struct da_pcr_selection sel;
    unsigned char values[32]; /* sha256:10 */
    cJSON *evidence;
    struct srv_ima_allowlist allow;
};

/* Append and extend the test's own PCR 10. */
static void add(struct fx *f, const char *path, const char *hex)
{
    unsigned char ext[32], buf[64];
    unsigned int n = 0;

    assert_int_equal(da_test_ima_add_sha256_hex(&f->list, path, hex), 0);
    for (int k = 0; k < 32; k++)
        assert_int_equal(sscanf(f->list.extend_sha256 + 2 * k, "%2hhx", &ext[k]), 1);
    memcpy(buf, f->pcr10, 32);
    memcpy(buf + 32, ext, 32);
    assert_int_equal(EVP_Digest(buf, sizeof(buf), f->pcr10, &n, EVP_sha256(), NULL), 1);
    memcpy(f->values, f->pcr10, 32);
}

#define H1 "1111111111111111111111111111111111111111111111111111111111111111"
#define H2 "2222222222222222222222222222222222222222222222222222222222222222"
#define H3 "3333333333333333333333333333333333333333333333333333333333333333"

static int setup(void **state)
{
    static const char ev[] =
        "{\"agent\":{\"privacy\":\"standard\"},\"toolchain\":{\"tools\":["
        "{\"name\":\"cc\",\"path\":\"/usr/bin/cc\",\"realpath\":\"/usr/bin/gcc-12\","
        "\"sha256\":\"" H2 "\"}]}}";
    static const char allow[] = "# builds\n  " H3 "\n\n";
    struct fx *f = calloc(1, sizeof(*f));

    if (f == NULL || da_pcr_selection_parse("sha256:10", &f->sel) != 0 ||
        (f->evidence = cJSON_Parse(ev)) == NULL ||
        srv_ima_allowlist_parse(allow, strlen(allow), &f->allow) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    cJSON_Delete(f->evidence);
    srv_ima_allowlist_free(&f->allow);
    free(f);
    return 0;
}

static void input(struct fx *f, struct srv_ima_in *in, uint32_t boot,
                  const struct srv_ima_state *prev, uint64_t from, size_t offset)
{
    memset(in, 0, sizeof(*in));
    in->sel = &f->sel;
    in->pcr_values = f->values;
    in->pcr_values_len = sizeof(f->values);
    in->reset_count = boot;
    in->prev = prev;
    in->has_increment = 1;
    in->from = from;
    in->log = f->list.data + offset;
    in->log_len = f->list.len - offset;
    in->evidence = f->evidence;
    in->allowlist = &f->allow;
}

static const char *log_of(const cJSON *ima)
{
    const cJSON *l = cJSON_GetObjectItem(ima, "log");
    return cJSON_IsString(l) ? l->valuestring : "";
}

static void test_increments_and_boots(void **state)
{
    struct fx *f = *state;
    struct srv_ima_in in;
    struct srv_ima_state *s1 = NULL, *s2 = NULL, *s3 = NULL;
    cJSON *ima = NULL;
    const cJSON *tc;
    size_t first;

    add(f, "boot_aggregate", H1);
    add(f, "/usr/bin/gcc-12", H1); /* not what the collector reports */
    add(f, "/usr/bin/devattest-agent", H3);
    first = f->list.len;
    input(f, &in, 7, NULL, 0, 0);
    assert_int_equal(srv_ima_evaluate(&in, &ima, &s1), 0);
    assert_string_equal(log_of(ima), "replays");
    assert_non_null(s1);
    assert_int_equal(s1->agg.entries, 3);
    assert_int_equal(s1->reset_count, 7);
    tc = cJSON_GetArrayItem(cJSON_GetObjectItem(ima, "toolchain"), 0);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(tc, "matches")));
    assert_int_equal(cJSON_GetObjectItem(ima, "toolchain_mismatches")->valueint, 1);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(ima, "agent"), "allowed")));
    cJSON_Delete(ima);

    /* the increment from 3; the mismatch is kept though not sent again */
    add(f, "/usr/bin/tpm2", H2);
    input(f, &in, 7, s1, 3, first);
    assert_int_equal(srv_ima_evaluate(&in, &ima, &s2), 0);
    assert_string_equal(log_of(ima), "replays");
    assert_int_equal(s2->agg.entries, 4);
    assert_int_equal(cJSON_GetObjectItem(ima, "toolchain_mismatches")->valueint, 1);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(ima, "tpm_tools")), 1);
    assert_int_equal(cJSON_GetObjectItem(ima, "new_entries")->valueint, 1);
    cJSON_Delete(ima);

    /* an increment that starts elsewhere stores nothing */
    input(f, &in, 7, s2, 3, first);
    assert_int_equal(srv_ima_evaluate(&in, &ima, &s3), 0);
    assert_string_equal(log_of(ima), "does_not_replay");
    assert_non_null(strstr(cJSON_GetObjectItem(ima, "detail")->valuestring, "entry 3"));
    assert_null(s3);
    cJSON_Delete(ima);

    /* the whole list again is always acceptable */
    input(f, &in, 7, s2, 0, 0);
    assert_int_equal(srv_ima_evaluate(&in, &ima, &s3), 0);
    assert_string_equal(log_of(ima), "replays");
    assert_int_equal(s3->agg.entries, 4);
    cJSON_Delete(ima);
    srv_ima_state_clear(s3);
    free(s3);
    s3 = NULL;

    /* another boot: the stored count means nothing; from 4 is refused */
    input(f, &in, 8, s2, 4, f->list.len);
    assert_int_equal(srv_ima_evaluate(&in, &ima, &s3), 0);
    assert_string_equal(log_of(ima), "does_not_replay");
    assert_null(s3);
    cJSON_Delete(ima);

    srv_ima_state_clear(s1);
    srv_ima_state_clear(s2);
    free(s1);
    free(s2);
}

static void test_inactive_withheld_malformed(void **state)
{
    struct fx *f = *state;
    struct srv_ima_in in;
    struct srv_ima_state *s = NULL;
    cJSON *ima = NULL;
    cJSON *minimal = cJSON_Parse("{\"agent\":{\"privacy\":\"minimal\"}}");

    /* PCR 10 zero, nothing sent: no IMA */
    input(f, &in, 1, NULL, 0, 0);
    in.has_increment = 0;
    assert_int_equal(srv_ima_evaluate(&in, &ima, &s), 0);
    assert_string_equal(log_of(ima), "inactive");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(ima, "active")));
    cJSON_Delete(ima);
    srv_ima_state_clear(s);
    free(s);
    s = NULL;
    /* PCR 10 extended, nothing sent: withheld in minimal mode, else a
     * failure */
    add(f, "boot_aggregate", H1);
    input(f, &in, 1, NULL, 0, 0);
    in.has_increment = 0;
    in.minimal = cJSON_IsObject(minimal);
    assert_int_equal(srv_ima_evaluate(&in, &ima, &s), 0);
    assert_string_equal(log_of(ima), "withheld");
    assert_null(s);
    cJSON_Delete(ima);
    in.minimal = 0;
    assert_int_equal(srv_ima_evaluate(&in, &ima, &s), 0);
    assert_string_equal(log_of(ima), "does_not_replay");
    cJSON_Delete(ima);
    /* a cut entry */
    input(f, &in, 1, NULL, 0, 0);
    in.log_len -= 1;
    assert_int_equal(srv_ima_evaluate(&in, &ima, &s), 0);
    assert_string_equal(log_of(ima), "malformed");
    assert_null(s);
    cJSON_Delete(ima);
    /* PCR 10 not quoted: no facts at all */
    {
        struct da_pcr_selection sel;
        assert_int_equal(da_pcr_selection_parse("sha256:0-7", &sel), 0);
        in.sel = &sel;
        assert_int_equal(srv_ima_evaluate(&in, &ima, &s), 0);
        assert_null(ima);
        assert_null(s);
    }
    cJSON_Delete(minimal);
}

static void test_allowlist(void **state)
{
    struct srv_ima_allowlist a;

    (void)state;
    assert_int_equal(srv_ima_allowlist_parse("", 0, &a), 0);
    assert_int_equal(a.n, 0);
    srv_ima_allowlist_free(&a);
    assert_int_equal(srv_ima_allowlist_parse(H1 "\n" H2 "\r\n", 2 * 65 + 1, &a), 0);
    assert_int_equal(a.n, 2);
    srv_ima_allowlist_free(&a);
    assert_int_equal(srv_ima_allowlist_parse("abc\n", 4, &a), DA_ERR_CONFIG);
    assert_int_equal(srv_ima_allowlist_parse(H1 "0\n", 66, &a), DA_ERR_CONFIG);
    assert_int_equal(srv_ima_allowlist_parse("A" H1 "\n", 66, &a), DA_ERR_CONFIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_increments_and_boots, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inactive_withheld_malformed, setup, teardown),
        cmocka_unit_test(test_allowlist),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
