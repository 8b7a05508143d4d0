/* Quotes and certifies made by a real swtpm (through tpm2-tools) verify, and
 * each kind of tampering is rejected with its own error code. */
#include "da_test.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "err.h"
#include "nonce.h"
#include "quote.h"
#include "swtpm_harness.h"
#include "tpm_public.h"
#include "verify_support.h"
#include "verify_swtpm.h"

#define PCRS_0_7      "sha256:0,1,2,3,4,5,6,7"
#define PERSISTENT_AK "0x81010010" /* the fixture persists ak here */
#define QUOTE_AGENT   "5afe5afe5afe5afe5afe5afe5afe5afe"

static const uint8_t nonce_key[32] = "0123456789abcdef0123456789abcdef";
static const char evidence[] =
    "{\"schema\":\"devattest.evidence/v1\",\"host\":{\"hostname\":\"b1\"}}";

struct fixture {
    struct da_test_swtpm tpm;
    char out[PATH_MAX];
    struct da_tpm_public *ak, *ak2, *sk;
    struct da_pcr_selection sel;
};

/* One report as the agent would send it. */
struct report {
    uint8_t nonce[DA_NONCE_LEN];
    uint8_t digest[32];
    uint8_t *attest, *sig, *pcrs;
    size_t attest_len, sig_len, pcrs_len;
};

/* The nonce store of a server, in memory. */
struct used_set {
    uint8_t nonces[16][DA_NONCE_LEN];
    size_t count;
};

static int mark_used(const uint8_t *nonce, size_t len, void *ctx)
{
    struct used_set *u = ctx;
    size_t i;

    if (len != DA_NONCE_LEN || u->count == 16)
        return DA_ERR_INTERNAL;
    for (i = 0; i < u->count; i++) {
        if (memcmp(u->nonces[i], nonce, len) == 0)
            return DA_ERR_VERIFY_NONCE_REPLAY;
    }
    memcpy(u->nonces[u->count++], nonce, len);
    return 0;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (f == NULL || vs_swtpm_with_keys(&f->tpm, f->out, sizeof(f->out)) != 0)
        return -1;
    f->ak = vs_load_public(f->out, "ak.pub");
    f->ak2 = vs_load_public(f->out, "ak2.pub");
    f->sk = vs_load_public(f->out, "sk.pub");
    if (da_pcr_selection_parse(PCRS_0_7, &f->sel) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    da_tpm_public_free(f->ak);
    da_tpm_public_free(f->ak2);
    da_tpm_public_free(f->sk);
    da_test_swtpm_stop(&f->tpm);
    free(f);
    return 0;
}

static void digest_evidence(const char *text, size_t len, uint8_t out[32])
{
    unsigned int n = 0;

    assert_int_equal(EVP_Digest(text, len, out, &n, EVP_sha256(), NULL), 1);
}

/* Ask the TPM for a quote by key over pcrs, bound to a fresh nonce and to
 * the evidence digest. */
static void make_report(struct fixture *f, const char *key, const char *pcrs, struct report *r)
{
    uint8_t qd[DA_QUOTE_QD_LEN];
    char hex[2 * DA_QUOTE_QD_LEN + 1], name[16], file[32];
    static int seq;

    memset(r, 0, sizeof(*r));
    assert_int_equal(da_report_nonce_make(nonce_key, sizeof(nonce_key), QUOTE_AGENT, &f->sel,
                                          (uint64_t)time(NULL), 300, r->nonce),
                     0);
    digest_evidence(evidence, strlen(evidence), r->digest);
    assert_int_equal(da_quote_qualifying_data(r->nonce, sizeof(r->nonce), r->digest, qd), 0);
    vs_hex(qd, sizeof(qd), hex);
    snprintf(name, sizeof(name), "q%d", seq++);
    assert_int_equal(vs_fixture("quote", f->tpm.dir, f->out, key, hex, pcrs, name, NULL), 0);
    snprintf(file, sizeof(file), "%s.msg", name);
    assert_int_equal(vs_read_file(vs_path(f->out, file), &r->attest, &r->attest_len), 0);
    snprintf(file, sizeof(file), "%s.sig", name);
    assert_int_equal(vs_read_file(vs_path(f->out, file), &r->sig, &r->sig_len), 0);
    snprintf(file, sizeof(file), "%s.pcrs", name);
    assert_int_equal(vs_read_file(vs_path(f->out, file), &r->pcrs, &r->pcrs_len), 0);
}

static void free_report(struct report *r)
{
    free(r->attest);
    free(r->sig);
    free(r->pcrs);
}

static int verify_for_agent(struct fixture *f, const char *agent, const struct da_tpm_public *ak,
                            const struct report *r, struct used_set *used,
                            struct da_tpm_clock *clock)
{
    struct da_report_quote q = {
        .agent_id = agent,
        .nonce = r->nonce,
        .nonce_len = sizeof(r->nonce),
        .evidence_digest = r->digest,
        .attest = r->attest,
        .attest_len = r->attest_len,
        .sig = r->sig,
        .sig_len = r->sig_len,
        .pcr_values = r->pcrs,
        .pcr_values_len = r->pcrs_len,
    };

    return da_report_quote_verify(nonce_key, sizeof(nonce_key), (uint64_t)time(NULL), ak, &f->sel,
                                  &q, mark_used, used, clock);
}

static int verify_as_server(struct fixture *f, const struct da_tpm_public *ak,
                            const struct report *r, struct used_set *used,
                            struct da_tpm_clock *clock)
{
    return verify_for_agent(f, QUOTE_AGENT, ak, r, used, clock);
}

static void test_valid_quote(void **state)
{
    struct fixture *f = *state;
    struct used_set used = {0};
    struct da_tpm_clock c1, c2;
    struct report r1, r2;
    int changed = -1;

    make_report(f, "ak", PCRS_0_7, &r1);
    assert_int_equal(r1.pcrs_len, 8 * 32);
    assert_int_equal(verify_as_server(f, f->ak, &r1, &used, &c1), 0);
    assert_int_equal(used.count, 1);
    assert_true(c1.clock > 0);

    make_report(f, "ak", PCRS_0_7, &r2);
    assert_int_equal(verify_as_server(f, f->ak, &r2, &used, &c2), 0);
    assert_int_equal(da_tpm_clock_check(&c1, &c2, &changed), 0);
    assert_int_equal(changed, 0);
    assert_int_equal(da_tpm_clock_check(&c2, &c1, NULL), DA_ERR_VERIFY_COUNTER_ROLLBACK);
    free_report(&r1);
    free_report(&r2);
}

/* An orderly reboot of the TPM raises resetCount; a quote after it still
 * verifies and the counters move forward. After a power loss without
 * TPM2_Shutdown the TPM resets, resumes Clock from its last NV copy and no
 * longer calls it safe: the report check accepts that quote, marked unsafe,
 * and the ordering rule accepts it after the last one and refuses the last
 * one after it. */
static void test_counters_after_reset(void **state)
{
    struct fixture *f = *state;
    struct used_set used = {0};
    struct da_tpm_clock before, after;
    struct report r;

    make_report(f, PERSISTENT_AK, PCRS_0_7, &r);
    assert_int_equal(verify_as_server(f, f->ak, &r, &used, &before), 0);
    free_report(&r);
    assert_int_equal(vs_fixture("shutdown", f->tpm.dir, f->out, NULL), 0);
    assert_int_equal(da_test_swtpm_restart(&f->tpm), 0);
    make_report(f, PERSISTENT_AK, PCRS_0_7, &r);
    /* PCRs are back to their reset values: the agent sends what it read. */
    assert_int_equal(verify_as_server(f, f->ak, &r, &used, &after), 0);
    assert_true(after.reset_count > before.reset_count);
    assert_int_equal(da_tpm_clock_check(&before, &after, NULL), 0);
    assert_int_equal(da_tpm_clock_check(&after, &before, NULL), DA_ERR_VERIFY_COUNTER_ROLLBACK);
    free_report(&r);

    before = after;
    assert_int_equal(da_test_swtpm_restart(&f->tpm), 0); /* no TPM2_Shutdown */
    make_report(f, PERSISTENT_AK, PCRS_0_7, &r);
    assert_int_equal(verify_as_server(f, f->ak, &r, &used, &after), 0);
    assert_true(after.unsafe);
    assert_false(before.unsafe);
    assert_int_equal(after.reset_count, before.reset_count + 1);
    assert_int_equal(after.restart_count, 0);
    /* what the TPM may lose: at most one NV interval of Clock */
    assert_true(after.clock + DA_TPM_CLOCK_NV_INTERVAL_MS >= before.clock);
    assert_int_equal(da_tpm_clock_check(&before, &after, NULL), 0);
    assert_int_equal(da_tpm_clock_check(&after, &before, NULL), DA_ERR_VERIFY_COUNTER_ROLLBACK);
    /* da_quote_verify alone still refuses it unless the caller orders it */
    {
        struct da_quote_expect e;
        uint8_t qd[DA_QUOTE_QD_LEN];

        assert_int_equal(da_quote_qualifying_data(r.nonce, sizeof(r.nonce), r.digest, qd), 0);
        memset(&e, 0, sizeof(e));
        e.ak = f->ak;
        e.qualifying_data = qd;
        e.qualifying_data_len = sizeof(qd);
        e.selection = &f->sel;
        e.pcr_values = r.pcrs;
        e.pcr_values_len = r.pcrs_len;
        assert_int_equal(da_quote_verify(r.attest, r.attest_len, r.sig, r.sig_len, &e, NULL),
                         DA_ERR_VERIFY_CLOCK_UNSAFE);
    }
    free_report(&r);
}

static void test_tamper_evidence_byte(void **state)
{
    struct fixture *f = *state;
    struct used_set used = {0};
    struct report r;
    char changed[sizeof(evidence)];

    make_report(f, "ak", PCRS_0_7, &r);
    memcpy(changed, evidence, sizeof(evidence));
    changed[strlen(changed) - 4] ^= 0x01;
    digest_evidence(changed, strlen(changed), r.digest);
    assert_int_equal(verify_as_server(f, f->ak, &r, &used, NULL), DA_ERR_VERIFY_EXTRA_DATA);
    assert_int_equal(used.count, 0); /* a rejected report consumes no nonce */
    free_report(&r);
}

static void test_tamper_nonce(void **state)
{
    struct fixture *f = *state;
    struct used_set used = {0};
    struct report r;
    uint8_t other[DA_NONCE_LEN];

    make_report(f, "ak", PCRS_0_7, &r);
    /* A nonce this server never issued (one byte changed). */
    r.nonce[3] ^= 0x80;
    assert_int_equal(verify_as_server(f, f->ak, &r, &used, NULL), DA_ERR_VERIFY_NONCE);
    r.nonce[3] ^= 0x80;
    /* The genuine quote over a nonce issued to this agent, presented as
     * another agent's: the nonce is not that agent's, and nothing is spent. */
    assert_int_equal(verify_for_agent(f, "another-agent", f->ak, &r, &used, NULL),
                     DA_ERR_VERIFY_NONCE);
    assert_int_equal(used.count, 0);
    /* An expired nonce. */
    assert_int_equal(da_nonce_make(nonce_key, sizeof(nonce_key), NULL, 0, 1000, 60, other), 0);
    assert_int_equal(da_nonce_verify(nonce_key, sizeof(nonce_key), NULL, 0, other, sizeof(other),
                                     2000, NULL, NULL, NULL),
                     DA_ERR_VERIFY_NONCE_EXPIRED);
    /* A genuine nonce, but not the one the quote was made over: the quote's
     * qualifying data is one hash, so this is the qualifying-data code. */
    assert_int_equal(da_report_nonce_make(nonce_key, sizeof(nonce_key), QUOTE_AGENT, &f->sel,
                                          (uint64_t)time(NULL), 300, r.nonce),
                     0);
    assert_int_equal(verify_as_server(f, f->ak, &r, &used, NULL), DA_ERR_VERIFY_EXTRA_DATA);
    assert_int_equal(used.count, 0);
    free_report(&r);
}

static void test_replayed_quote(void **state)
{
    struct fixture *f = *state;
    struct used_set used = {0};
    struct report r;

    make_report(f, "ak", PCRS_0_7, &r);
    assert_int_equal(verify_as_server(f, f->ak, &r, &used, NULL), 0);
    assert_int_equal(verify_as_server(f, f->ak, &r, &used, NULL), DA_ERR_VERIFY_NONCE_REPLAY);
    free_report(&r);
}

static void test_wrong_ak(void **state)
{
    struct fixture *f = *state;
    struct used_set used = {0};
    struct report r;

    make_report(f, "ak2", PCRS_0_7, &r);
    assert_int_equal(verify_as_server(f, f->ak, &r, &used, NULL), DA_ERR_VERIFY_SIGNATURE);
    assert_int_equal(verify_as_server(f, f->ak2, &r, &used, NULL), 0);
    free_report(&r);
}

/* The enrolled AK claims not to be restricted: refused at enrollment, and a
 * quote checked against it is refused too. */
static void test_ak_without_restricted(void **state)
{
    struct fixture *f = *state;
    struct da_tpm_public *p = NULL;
    struct used_set used = {0};
    struct report r;
    uint8_t *b;
    size_t n;

    assert_int_equal(da_tpm_public_check_ak(f->ak), 0);
    assert_int_equal(vs_read_file(vs_path(f->out, "ak.pub"), &b, &n), 0);
    /* objectAttributes is the big-endian word at offset 6; restricted is bit 16. */
    assert_true(b[7] & 0x01);
    b[7] &= (uint8_t)~0x01;
    assert_int_equal(da_tpm_public_parse(b, n, &p), 0);
    assert_int_equal(da_tpm_public_check_ak(p), DA_ERR_VERIFY_AK_ATTRIBUTES);
    make_report(f, "ak", PCRS_0_7, &r);
    assert_int_equal(verify_as_server(f, p, &r, &used, NULL), DA_ERR_VERIFY_SIGNER_UNRESTRICTED);
    da_tpm_public_free(p);
    free(b);
    free_report(&r);
}

/* TPM2_Quote with an unrestricted signing key: the TPM signs it, but such a
 * key could equally sign a forged TPMS_ATTEST, so it proves nothing. */
static void test_unrestricted_key_quote(void **state)
{
    struct fixture *f = *state;
    struct used_set used = {0};
    struct report r;

    assert_int_equal(da_tpm_public_check_ak(f->sk), DA_ERR_VERIFY_AK_ATTRIBUTES);
    assert_int_equal(da_tpm_public_check_sk(f->sk), 0);
    make_report(f, "sk", PCRS_0_7, &r);
    assert_int_equal(verify_as_server(f, f->sk, &r, &used, NULL),
                     DA_ERR_VERIFY_SIGNER_UNRESTRICTED);
    assert_int_equal(verify_as_server(f, f->ak, &r, &used, NULL), DA_ERR_VERIFY_SIGNATURE);
    free_report(&r);
}

static void test_attest_structure_tampering(void **state)
{
    struct fixture *f = *state;
    struct used_set used = {0};
    struct report r;
    uint8_t *longer;

    make_report(f, "ak", PCRS_0_7, &r);
    r.attest[0] ^= 0x01;
    assert_int_equal(verify_as_server(f, f->ak, &r, &used, NULL), DA_ERR_VERIFY_ATTEST_MAGIC);
    r.attest[0] ^= 0x01;
    r.attest[5] = 0x17; /* TPM_ST_ATTEST_CERTIFY */
    assert_int_equal(verify_as_server(f, f->ak, &r, &used, NULL), DA_ERR_VERIFY_ATTEST_TYPE);
    r.attest[5] = 0x18;
    longer = realloc(r.attest, r.attest_len + 1);
    assert_non_null(longer);
    r.attest = longer;
    r.attest[r.attest_len++] = 0;
    assert_int_equal(verify_as_server(f, f->ak, &r, &used, NULL), DA_ERR_TRAILING_DATA);
    r.attest_len--;
    /* One byte of the signed body (the firmware version): the signature. */
    r.attest[r.attest_len - 60] ^= 0x01;
    assert_int_equal(verify_as_server(f, f->ak, &r, &used, NULL), DA_ERR_VERIFY_SIGNATURE);
    r.attest[r.attest_len - 60] ^= 0x01;
    assert_int_equal(verify_as_server(f, f->ak, &r, &used, NULL), 0);
    free_report(&r);
}

static void test_pcr_value_swapped(void **state)
{
    struct fixture *f = *state;
    struct used_set used = {0};
    struct report r;
    uint8_t tmp[32];

    make_report(f, "ak", PCRS_0_7, &r);
    assert_memory_not_equal(r.pcrs, r.pcrs + 32, 32);
    memcpy(tmp, r.pcrs, 32);
    memcpy(r.pcrs, r.pcrs + 32, 32);
    memcpy(r.pcrs + 32, tmp, 32);
    assert_int_equal(verify_as_server(f, f->ak, &r, &used, NULL), DA_ERR_VERIFY_PCR_DIGEST);
    r.pcrs_len -= 32;
    assert_int_equal(verify_as_server(f, f->ak, &r, &used, NULL), DA_ERR_VERIFY_PCR_DIGEST);
    free_report(&r);
}

static void test_pcr_selection_changed(void **state)
{
    struct fixture *f = *state;
    struct used_set used = {0};
    struct report r;

    make_report(f, "ak", "sha256:0,1,2,3,4,5,6", &r);
    assert_int_equal(verify_as_server(f, f->ak, &r, &used, NULL), DA_ERR_VERIFY_PCR_SELECTION);
    free_report(&r);
}

static void test_hash_downgraded(void **state)
{
    struct fixture *f = *state;
    struct used_set used = {0};
    struct da_tpm_public *p = NULL;
    struct report r;
    uint8_t *b;
    size_t n;

    make_report(f, "ak", PCRS_0_7, &r);
    /* TPMT_SIGNATURE: sigAlg, then the hash algorithm; say SHA-1. */
    assert_int_equal(r.sig[3], 0x0b);
    r.sig[3] = 0x04;
    assert_int_equal(verify_as_server(f, f->ak, &r, &used, NULL), DA_ERR_VERIFY_HASH_ALG);
    /* An AK whose scheme says ECDSA-SHA1 is refused at enrollment. */
    assert_int_equal(vs_read_file(vs_path(f->out, "ak.pub"), &b, &n), 0);
    /* After size, type, nameAlg, attributes and an empty authPolicy come the
     * ECC parameters: symmetric, scheme, scheme hash. */
    assert_int_equal(b[10] << 8 | b[11], 0);
    assert_int_equal(b[14] << 8 | b[15], 0x0018);
    assert_int_equal(b[16] << 8 | b[17], 0x000b);
    b[17] = 0x04;
    assert_int_equal(da_tpm_public_parse(b, n, &p), 0);
    assert_int_equal(da_tpm_public_check_ak(p), DA_ERR_VERIFY_HASH_ALG);
    da_tpm_public_free(p);
    free(b);
    free_report(&r);
}

static void test_certify(void **state)
{
    struct fixture *f = *state;
    uint8_t *attest, *sig;
    size_t attest_len, sig_len;
    struct da_tpm_clock clock;
    /* tpm2_certify of tpm2-tools 5.4 always uses this qualifying data. */
    const uint8_t qd[4] = {0x00, 0xff, 0x55, 0xaa};

    assert_int_equal(vs_fixture("certify", f->tpm.dir, f->out, "c1", NULL), 0);
    assert_int_equal(vs_read_file(vs_path(f->out, "c1.msg"), &attest, &attest_len), 0);
    assert_int_equal(vs_read_file(vs_path(f->out, "c1.sig"), &sig, &sig_len), 0);
    assert_int_equal(
        da_certify_verify(attest, attest_len, sig, sig_len, f->ak, f->sk, qd, sizeof(qd), &clock),
        0);
    assert_true(clock.clock > 0);
    /* The certified name must be the SK's, computed by us. */
    assert_int_equal(
        da_certify_verify(attest, attest_len, sig, sig_len, f->ak, f->ak2, qd, sizeof(qd), NULL),
        DA_ERR_VERIFY_CERTIFY_NAME);
    assert_int_equal(
        da_certify_verify(attest, attest_len, sig, sig_len, f->ak2, f->sk, qd, sizeof(qd), NULL),
        DA_ERR_VERIFY_SIGNATURE);
    assert_int_equal(
        da_certify_verify(attest, attest_len, sig, sig_len, f->ak, f->sk, NULL, 0, NULL),
        DA_ERR_VERIFY_EXTRA_DATA);
    assert_int_equal(
        da_certify_verify(attest, attest_len, sig, sig_len, f->sk, f->sk, qd, sizeof(qd), NULL),
        DA_ERR_VERIFY_SIGNER_UNRESTRICTED);
    /* A certify is not a quote. */
    {
        struct da_quote_expect e = {.ak = f->ak, .selection = &f->sel};
        assert_int_equal(da_quote_verify(attest, attest_len, sig, sig_len, &e, NULL),
                         DA_ERR_VERIFY_ATTEST_TYPE);
    }
    free(attest);
    free(sig);
}

/* The name we compute equals the name tpm2-tools got from the TPM. */
static void test_names_match_tpm(void **state)
{
    struct fixture *f = *state;
    const uint8_t *name;
    uint8_t *tpm_name;
    size_t n, tpm_len;

    name = da_tpm_public_name(f->ak, &n);
    assert_int_equal(vs_read_file(vs_path(f->out, "ak.name"), &tpm_name, &tpm_len), 0);
    assert_int_equal(n, tpm_len);
    assert_memory_equal(name, tpm_name, n);
    free(tpm_name);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_match_tpm),
        cmocka_unit_test(test_valid_quote),
        cmocka_unit_test(test_tamper_evidence_byte),
        cmocka_unit_test(test_tamper_nonce),
        cmocka_unit_test(test_replayed_quote),
        cmocka_unit_test(test_wrong_ak),
        cmocka_unit_test(test_ak_without_restricted),
        cmocka_unit_test(test_unrestricted_key_quote),
        cmocka_unit_test(test_attest_structure_tampering),
        cmocka_unit_test(test_pcr_value_swapped),
        cmocka_unit_test(test_pcr_selection_changed),
        cmocka_unit_test(test_hash_downgraded),
        cmocka_unit_test(test_certify),
        cmocka_unit_test(test_counters_after_reset),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
