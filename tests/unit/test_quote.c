/* TPM structure parsing and quote verification, reaching each check with
 * software-made structures (tests/support/tpm_soft.c). The same checks
 * against a real swtpm are in tests/integration/test_quote_swtpm.c. */
#include "da_test.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <tss2/tss2_mu.h>

#include "err.h"
#include "nonce.h"
#include "quote.h"
#include "tpm_attest.h"
#include "tpm_public.h"
#include "tpm_soft.h"

static const struct soft_public ak_desc = {SOFT_AK_ATTRS, TPM2_ALG_SHA256, TPM2_ALG_ECDSA,
                                           TPM2_ALG_SHA256, 0};

/* Parse a software public; *k receives the key unless NULL. */
static struct da_tpm_public *soft_public_parse(EVP_PKEY *key, const struct soft_public *d)
{
    uint8_t buf[1024];
    size_t len;
    struct da_tpm_public *p = NULL;

    assert_int_equal(soft_tpm_public(key, d, buf, sizeof(buf), &len), 0);
    assert_int_equal(da_tpm_public_parse(buf, len, &p), 0);
    return p;
}

static int public_rc(EVP_PKEY *key, const struct soft_public *d,
                     int (*check)(const struct da_tpm_public *))
{
    struct da_tpm_public *p = soft_public_parse(key, d);
    int rc = check(p);

    da_tpm_public_free(p);
    return rc;
}

static void test_public_parse_strict(void **state)
{
    EVP_PKEY *k = soft_key("P-256");
    uint8_t buf[1024], longer[1025];
    size_t len;
    struct da_tpm_public *p = NULL;
    const uint8_t *name;
    size_t name_len;
    uint8_t digest[32];
    unsigned int dlen;

    (void)state;
    assert_int_equal(soft_tpm_public(k, &ak_desc, buf, sizeof(buf), &len), 0);
    assert_int_equal(da_tpm_public_parse(buf, len, &p), 0);
    /* name = 000b || SHA-256(TPMT_PUBLIC) */
    name = da_tpm_public_name(p, &name_len);
    assert_int_equal(name_len, 34);
    assert_int_equal(EVP_Digest(buf + 2, len - 2, digest, &dlen, EVP_sha256(), NULL), 1);
    assert_memory_equal(name, "\x00\x0b", 2);
    assert_memory_equal(name + 2, digest, 32);
    assert_int_equal(EVP_PKEY_eq(da_tpm_public_pkey(p), k), 1);
    da_tpm_public_free(p);

    assert_int_equal(da_tpm_public_parse(buf, len - 1, &p), DA_ERR_VERIFY_TPM_PUBLIC);
    assert_null(p);
    memcpy(longer, buf, len);
    longer[len] = 0;
    assert_int_equal(da_tpm_public_parse(longer, len + 1, &p), DA_ERR_TRAILING_DATA);
    /* size field one larger than the area, with a byte to cover it */
    longer[1]++;
    assert_int_equal(da_tpm_public_parse(longer, len + 1, &p), DA_ERR_VERIFY_TPM_PUBLIC);
    assert_int_equal(da_tpm_public_parse(buf, 1, &p), DA_ERR_VERIFY_TPM_PUBLIC);
    assert_int_equal(da_tpm_public_parse(buf, 0, &p), DA_ERR_VERIFY_TPM_PUBLIC);
    assert_int_equal(da_tpm_public_parse(buf, DA_TPM_NAME_MAX * 100, &p), DA_ERR_TOO_LARGE);
    /* a point not on the curve */
    buf[len - 1] ^= 1;
    assert_int_equal(da_tpm_public_parse(buf, len, &p), DA_ERR_VERIFY_KEY_TYPE);
    assert_null(p);
    EVP_PKEY_free(k);
}

/* Change the EK's symmetric mode from CFB to CBC in a marshalled public
 * (the bytes AES, 128, CFB occur once). */
static void ek_mode_cbc(uint8_t *buf, size_t len)
{
    static const uint8_t aes128cfb[] = {0x00, 0x06, 0x00, 0x80, 0x00, 0x43};
    size_t i, hits = 0;

    for (i = 0; i + sizeof(aes128cfb) <= len; i++) {
        if (memcmp(buf + i, aes128cfb, sizeof(aes128cfb)) == 0) {
            buf[i + 5] = 0x42; /* TPM2_ALG_CBC */
            hits++;
        }
    }
    assert_int_equal(hits, 1);
}

static void test_ak_profile(void **state)
{
    EVP_PKEY *k = soft_key("P-256"), *k384 = soft_key("P-384"), *rsa = soft_key("RSA2048");
    struct soft_public d;
    static const TPMA_OBJECT required[] = {TPMA_OBJECT_FIXEDTPM, TPMA_OBJECT_FIXEDPARENT,
                                           TPMA_OBJECT_SENSITIVEDATAORIGIN, TPMA_OBJECT_RESTRICTED,
                                           TPMA_OBJECT_SIGN_ENCRYPT};
    size_t i;

    (void)state;
    assert_int_equal(public_rc(k, &ak_desc, da_tpm_public_check_ak), 0);
    for (i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        d = ak_desc;
        d.attrs &= ~required[i];
        assert_int_equal(public_rc(k, &d, da_tpm_public_check_ak), DA_ERR_VERIFY_AK_ATTRIBUTES);
    }
    d = ak_desc;
    d.attrs |= TPMA_OBJECT_DECRYPT;
    assert_int_equal(public_rc(k, &d, da_tpm_public_check_ak), DA_ERR_VERIFY_AK_ATTRIBUTES);
    assert_int_equal(public_rc(k384, &ak_desc, da_tpm_public_check_ak), DA_ERR_VERIFY_KEY_TYPE);
    d = ak_desc;
    d.scheme = TPM2_ALG_RSASSA;
    assert_int_equal(public_rc(rsa, &d, da_tpm_public_check_ak), DA_ERR_VERIFY_KEY_TYPE);
    d = ak_desc;
    d.name_alg = TPM2_ALG_SHA384;
    assert_int_equal(public_rc(k, &d, da_tpm_public_check_ak), DA_ERR_VERIFY_HASH_ALG);
    d = ak_desc;
    d.scheme = TPM2_ALG_ECSCHNORR;
    assert_int_equal(public_rc(k, &d, da_tpm_public_check_ak), DA_ERR_VERIFY_SIG_SCHEME);
    d = ak_desc;
    d.scheme_hash = TPM2_ALG_SHA1;
    assert_int_equal(public_rc(k, &d, da_tpm_public_check_ak), DA_ERR_VERIFY_HASH_ALG);
    d = ak_desc;
    d.sym_bits = 128;
    assert_int_equal(public_rc(k, &d, da_tpm_public_check_ak), DA_ERR_VERIFY_KEY_TYPE);
    /* The SK: the same but unrestricted; a NULL scheme is fine. */
    d = ak_desc;
    d.attrs &= ~TPMA_OBJECT_RESTRICTED;
    assert_int_equal(public_rc(k, &d, da_tpm_public_check_sk), 0);
    d.scheme = TPM2_ALG_NULL;
    assert_int_equal(public_rc(k, &d, da_tpm_public_check_sk), 0);
    assert_int_equal(public_rc(k, &ak_desc, da_tpm_public_check_sk), DA_ERR_VERIFY_AK_ATTRIBUTES);
    /* An EK: restricted decryption with AES-CFB. */
    d = (struct soft_public){SOFT_EK_ATTRS, TPM2_ALG_SHA256, TPM2_ALG_NULL, TPM2_ALG_NULL, 128};
    assert_int_equal(public_rc(rsa, &d, da_tpm_public_check_ek), 0);
    assert_int_equal(public_rc(k384, &d, da_tpm_public_check_ek), 0);
    assert_int_equal(public_rc(k, &ak_desc, da_tpm_public_check_ek), DA_ERR_VERIFY_EK_ATTRIBUTES);
    d.sym_bits = 0;
    assert_int_equal(public_rc(rsa, &d, da_tpm_public_check_ek), DA_ERR_VERIFY_KEY_TYPE);
    /* A decryption key that can also sign, and a SHA-512 name. */
    d.sym_bits = 128;
    d.attrs |= TPMA_OBJECT_SIGN_ENCRYPT;
    assert_int_equal(public_rc(rsa, &d, da_tpm_public_check_ek), DA_ERR_VERIFY_EK_ATTRIBUTES);
    d.attrs = SOFT_EK_ATTRS;
    d.name_alg = TPM2_ALG_SHA512;
    assert_int_equal(public_rc(rsa, &d, da_tpm_public_check_ek), DA_ERR_VERIFY_KEY_TYPE);
    /* AES-128 in CBC mode instead of CFB. */
    {
        uint8_t buf[1024];
        size_t len;
        struct da_tpm_public *p = NULL;

        d.name_alg = TPM2_ALG_SHA256;
        assert_int_equal(soft_tpm_public(rsa, &d, buf, sizeof(buf), &len), 0);
        ek_mode_cbc(buf, len);
        assert_int_equal(da_tpm_public_parse(buf, len, &p), 0);
        assert_int_equal(da_tpm_public_check_ek(p), DA_ERR_VERIFY_KEY_TYPE);
        da_tpm_public_free(p);
    }
    EVP_PKEY_free(k);
    EVP_PKEY_free(k384);
    EVP_PKEY_free(rsa);
}

/* The parser itself refuses a SHA-1 or unknown name algorithm, whatever the
 * caller's own profile check would say later. */
static void test_public_name_alg(void **state)
{
    EVP_PKEY *k = soft_key("P-256"), *rsa = soft_key("RSA2048");
    struct soft_public d = ak_desc;
    uint8_t buf[1024];
    size_t len;
    struct da_tpm_public *p = NULL;

    (void)state;
    d.name_alg = TPM2_ALG_SHA1;
    assert_int_equal(soft_tpm_public(k, &d, buf, sizeof(buf), &len), 0);
    assert_int_equal(da_tpm_public_parse(buf, len, &p), DA_ERR_VERIFY_HASH_ALG);
    assert_null(p);
    d = (struct soft_public){SOFT_EK_ATTRS, TPM2_ALG_SHA1, TPM2_ALG_NULL, TPM2_ALG_NULL, 128};
    assert_int_equal(soft_tpm_public(rsa, &d, buf, sizeof(buf), &len), 0);
    assert_int_equal(da_tpm_public_parse(buf, len, &p), DA_ERR_VERIFY_HASH_ALG);
    assert_null(p);
    d = ak_desc;
    d.name_alg = TPM2_ALG_SM3_256;
    assert_int_equal(soft_tpm_public(k, &d, buf, sizeof(buf), &len), 0);
    assert_int_equal(da_tpm_public_parse(buf, len, &p), DA_ERR_VERIFY_HASH_ALG);
    /* SHA-384 names are fine: the name is 2 + 48 bytes. */
    d.name_alg = TPM2_ALG_SHA384;
    assert_int_equal(soft_tpm_public(k, &d, buf, sizeof(buf), &len), 0);
    assert_int_equal(da_tpm_public_parse(buf, len, &p), 0);
    assert_non_null(da_tpm_public_name(p, &len));
    assert_int_equal(len, 50);
    da_tpm_public_free(p);
    EVP_PKEY_free(k);
    EVP_PKEY_free(rsa);
}

static void test_pcr_selection_parse(void **state)
{
    struct da_pcr_selection s;

    (void)state;
    assert_int_equal(da_pcr_selection_parse("sha256:0-7", &s), 0);
    assert_int_equal(s.count, 1);
    assert_int_equal(s.banks[0].hash, TPM2_ALG_SHA256);
    assert_int_equal(s.banks[0].pcrs, 0xff);
    assert_int_equal(da_pcr_selection_values_len(&s), 8 * 32);
    assert_int_equal(da_pcr_selection_parse("sha1:0,2+sha256:0-2,23", &s), 0);
    assert_int_equal(s.count, 2);
    assert_int_equal(s.banks[0].pcrs, 0x5);
    assert_int_equal(s.banks[1].pcrs, 0x800007);
    assert_int_equal(da_pcr_selection_values_len(&s), 2 * 20 + 4 * 32);
    assert_int_equal(da_pcr_selection_parse("sha256:24", &s), DA_ERR_INVALID_ARG);
    assert_int_equal(da_pcr_selection_parse("sha256:3-1", &s), DA_ERR_INVALID_ARG);
    assert_int_equal(da_pcr_selection_parse("md5:0", &s), DA_ERR_INVALID_ARG);
    assert_int_equal(da_pcr_selection_parse("sha256:0+sha256:1", &s), DA_ERR_INVALID_ARG);
    assert_int_equal(da_pcr_selection_parse("sha256:", &s), DA_ERR_INVALID_ARG);
    assert_int_equal(da_pcr_selection_parse("sha256:0,", &s), DA_ERR_INVALID_ARG);
    assert_int_equal(da_pcr_selection_parse("sha256:all", &s), DA_ERR_INVALID_ARG);
    assert_int_equal(da_pcr_selection_parse("", &s), DA_ERR_INVALID_ARG);
    assert_int_equal(da_pcr_selection_parse("sha256:01", &s), DA_ERR_INVALID_ARG);
    assert_int_equal(da_pcr_selection_parse("sha256:0-07", &s), DA_ERR_INVALID_ARG);
}

static void test_qualifying_data(void **state)
{
    uint8_t nonce[5] = {1, 2, 3, 4, 5}, d[32], out[32], want[32], cat[37];
    unsigned int n;

    (void)state;
    memset(d, 0xab, sizeof(d));
    memcpy(cat, nonce, 5);
    memcpy(cat + 5, d, 32);
    assert_int_equal(EVP_Digest(cat, sizeof(cat), want, &n, EVP_sha256(), NULL), 1);
    assert_int_equal(da_quote_qualifying_data(nonce, sizeof(nonce), d, out), 0);
    assert_memory_equal(out, want, 32);
}

/* A quote by a software "AK" with chosen fields. */
struct soft_quote {
    EVP_PKEY *key;
    struct da_tpm_public *ak;
    TPMS_ATTEST a;
    uint8_t values[24 * 48], qd[32], attest[1024], sig[1024];
    size_t values_len, attest_len, sig_len;
    struct da_pcr_selection sel;
    TPMI_ALG_SIG_SCHEME scheme;
    TPMI_ALG_HASH hash;
};

static void soft_quote_init(struct soft_quote *q, const char *kind, TPMI_ALG_SIG_SCHEME scheme,
                            TPMI_ALG_HASH hash)
{
    struct soft_public d = ak_desc;
    size_t i;

    memset(q, 0, sizeof(*q));
    q->key = soft_key(kind);
    q->scheme = d.scheme = scheme;
    q->hash = d.scheme_hash = hash;
    q->ak = soft_public_parse(q->key, &d);
    q->values_len = 8 * 32;
    for (i = 0; i < q->values_len; i++)
        q->values[i] = (uint8_t)(i * 13);
    memset(q->qd, 0x42, sizeof(q->qd));
    soft_quote_info(&q->a, q->qd, sizeof(q->qd), TPM2_ALG_SHA256, 0xff, q->values, q->values_len,
                    hash);
    assert_int_equal(da_pcr_selection_parse("sha256:0-7", &q->sel), 0);
}

/* The same over PCRs 0-7 and 16-23 of the SHA-256 bank: the quote's
 * selection then uses its third select byte. */
static void soft_quote_init_high(struct soft_quote *q)
{
    size_t i;

    soft_quote_init(q, "P-256", TPM2_ALG_ECDSA, TPM2_ALG_SHA256);
    q->values_len = 16 * 32;
    for (i = 0; i < q->values_len; i++)
        q->values[i] = (uint8_t)(i * 7 + 1);
    soft_quote_info(&q->a, q->qd, sizeof(q->qd), TPM2_ALG_SHA256, 0xff00ff, q->values,
                    q->values_len, TPM2_ALG_SHA256);
    assert_int_equal(da_pcr_selection_parse("sha256:0-7,16-23", &q->sel), 0);
}

static int soft_quote_verify(struct soft_quote *q, struct da_tpm_clock *clock)
{
    struct da_quote_expect e = {q->ak,     q->qd,         sizeof(q->qd), &q->sel,
                                q->values, q->values_len, false};

    assert_int_equal(soft_attest(&q->a, q->attest, sizeof(q->attest), &q->attest_len), 0);
    assert_int_equal(soft_sign(q->key, q->scheme, q->hash, q->attest, q->attest_len, q->sig,
                               sizeof(q->sig), &q->sig_len),
                     0);
    return da_quote_verify(q->attest, q->attest_len, q->sig, q->sig_len, &e, clock);
}

static void soft_quote_free(struct soft_quote *q)
{
    da_tpm_public_free(q->ak);
    EVP_PKEY_free(q->key);
}

static void test_quote_schemes(void **state)
{
    static const struct {
        const char *kind;
        TPMI_ALG_SIG_SCHEME scheme;
        TPMI_ALG_HASH hash;
    } cases[] = {
        {"P-256", TPM2_ALG_ECDSA, TPM2_ALG_SHA256},
        {"P-384", TPM2_ALG_ECDSA, TPM2_ALG_SHA384},
        {"RSA2048", TPM2_ALG_RSASSA, TPM2_ALG_SHA256},
        {"RSA2048", TPM2_ALG_RSAPSS, TPM2_ALG_SHA256},
    };
    struct da_tpm_clock c;
    struct soft_quote q;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        soft_quote_init(&q, cases[i].kind, cases[i].scheme, cases[i].hash);
        assert_int_equal(soft_quote_verify(&q, &c), 0);
        assert_int_equal(c.clock, 123456);
        assert_int_equal(c.reset_count, 3);
        assert_int_equal(c.restart_count, 1);
        assert_int_equal(c.firmware_version, 0x2019102300163636ull);
        /* The signature must be the AK's scheme: sign PSS for an SSA key. */
        if (cases[i].scheme == TPM2_ALG_RSASSA) {
            q.scheme = TPM2_ALG_RSAPSS;
            assert_int_equal(soft_quote_verify(&q, NULL), DA_ERR_VERIFY_SIG_SCHEME);
        }
        soft_quote_free(&q);
    }
}

static void test_quote_checks(void **state)
{
    struct soft_quote q;
    struct da_tpm_clock c;

    (void)state;
    soft_quote_init(&q, "P-256", TPM2_ALG_ECDSA, TPM2_ALG_SHA256);
    assert_int_equal(soft_quote_verify(&q, &c), 0);

    q.a.clockInfo.safe = TPM2_NO;
    assert_int_equal(soft_quote_verify(&q, &c), DA_ERR_VERIFY_CLOCK_UNSAFE);
    assert_int_equal(c.clock, 0); /* nothing reported on failure */
    q.a.clockInfo.safe = TPM2_YES;

    q.a.extraData.size = 31;
    assert_int_equal(soft_quote_verify(&q, NULL), DA_ERR_VERIFY_EXTRA_DATA);
    q.a.extraData.size = 32;

    q.a.attested.quote.pcrSelect.pcrSelections[0].pcrSelect[0] = 0x7f;
    assert_int_equal(soft_quote_verify(&q, NULL), DA_ERR_VERIFY_PCR_SELECTION);
    q.a.attested.quote.pcrSelect.pcrSelections[0].pcrSelect[0] = 0xff;
    q.a.attested.quote.pcrSelect.pcrSelections[0].hash = TPM2_ALG_SHA1;
    assert_int_equal(soft_quote_verify(&q, NULL), DA_ERR_VERIFY_PCR_SELECTION);
    q.a.attested.quote.pcrSelect.pcrSelections[0].hash = TPM2_ALG_SHA256;
    /* sizeofSelect 4 with the same bits selects the same PCRs */
    q.a.attested.quote.pcrSelect.pcrSelections[0].sizeofSelect = 4;
    assert_int_equal(soft_quote_verify(&q, NULL), 0);

    q.a.attested.quote.pcrDigest.buffer[0] ^= 1;
    assert_int_equal(soft_quote_verify(&q, NULL), DA_ERR_VERIFY_PCR_DIGEST);
    q.a.attested.quote.pcrDigest.buffer[0] ^= 1;

    q.a.magic = 0xff544348;
    assert_int_equal(soft_quote_verify(&q, NULL), DA_ERR_VERIFY_ATTEST_MAGIC);
    q.a.magic = TPM2_GENERATED_VALUE;

    q.a.clockInfo.safe = 2;
    assert_int_equal(soft_quote_verify(&q, NULL), DA_ERR_VERIFY_ATTEST_FORMAT);
    q.a.clockInfo.safe = TPM2_YES;
    assert_int_equal(soft_quote_verify(&q, NULL), 0);
    soft_quote_free(&q);
}

static void test_quote_pcr_high(void **state)
{
    struct soft_quote q;

    (void)state;
    soft_quote_init_high(&q);
    assert_int_equal(soft_quote_verify(&q, NULL), 0);
    /* One PCR of the last byte missing, or one too many. */
    q.a.attested.quote.pcrSelect.pcrSelections[0].pcrSelect[2] = 0x7f;
    assert_int_equal(soft_quote_verify(&q, NULL), DA_ERR_VERIFY_PCR_SELECTION);
    q.a.attested.quote.pcrSelect.pcrSelections[0].pcrSelect[2] = 0x00;
    assert_int_equal(soft_quote_verify(&q, NULL), DA_ERR_VERIFY_PCR_SELECTION);
    q.a.attested.quote.pcrSelect.pcrSelections[0].pcrSelect[2] = 0xff;
    q.a.attested.quote.pcrSelect.pcrSelections[0].pcrSelect[1] = 0x01;
    assert_int_equal(soft_quote_verify(&q, NULL), DA_ERR_VERIFY_PCR_SELECTION);
    q.a.attested.quote.pcrSelect.pcrSelections[0].pcrSelect[1] = 0x00;
    /* The expected selection lacks PCR 23 while the quote has it. */
    assert_int_equal(da_pcr_selection_parse("sha256:0-7,16-22", &q.sel), 0);
    assert_int_equal(soft_quote_verify(&q, NULL), DA_ERR_VERIFY_PCR_SELECTION);
    assert_int_equal(da_pcr_selection_parse("sha256:0-7,16-23", &q.sel), 0);
    /* No bank, or a second bank the expected selection does not have. */
    q.a.attested.quote.pcrSelect.count = 0;
    assert_int_equal(soft_quote_verify(&q, NULL), DA_ERR_VERIFY_PCR_SELECTION);
    q.a.attested.quote.pcrSelect.count = 2;
    q.a.attested.quote.pcrSelect.pcrSelections[1] = q.a.attested.quote.pcrSelect.pcrSelections[0];
    q.a.attested.quote.pcrSelect.pcrSelections[1].hash = TPM2_ALG_SHA1;
    assert_int_equal(soft_quote_verify(&q, NULL), DA_ERR_VERIFY_PCR_SELECTION);
    q.a.attested.quote.pcrSelect.count = 1;
    /* A reported value of PCR 23 that is not the quoted one. */
    q.values[15 * 32] ^= 1;
    assert_int_equal(soft_quote_verify(&q, NULL), DA_ERR_VERIFY_PCR_DIGEST);
    q.values[15 * 32] ^= 1;
    assert_int_equal(soft_quote_verify(&q, NULL), 0);
    /* Values for 15 PCRs that the quote's digest covers: still one short. */
    q.values_len = 15 * 32;
    soft_quote_info(&q.a, q.qd, sizeof(q.qd), TPM2_ALG_SHA256, 0xff00ff, q.values, q.values_len,
                    TPM2_ALG_SHA256);
    assert_int_equal(soft_quote_verify(&q, NULL), DA_ERR_VERIFY_PCR_DIGEST);
    soft_quote_free(&q);
}

/* Verify q's last signed attest with one byte of the signature or of the
 * attest flipped after signing. */
static int verify_flipped(struct soft_quote *q, uint8_t *buf, size_t at)
{
    struct da_quote_expect e = {q->ak,     q->qd,         sizeof(q->qd), &q->sel,
                                q->values, q->values_len, false};
    int rc;

    buf[at] ^= 0x01;
    rc = da_quote_verify(q->attest, q->attest_len, q->sig, q->sig_len, &e, NULL);
    buf[at] ^= 0x01;
    return rc;
}

static void test_quote_signature(void **state)
{
    static const struct {
        const char *kind;
        TPMI_ALG_SIG_SCHEME scheme;
    } cases[] = {
        {"P-256", TPM2_ALG_ECDSA}, {"RSA2048", TPM2_ALG_RSASSA}, {"RSA2048", TPM2_ALG_RSAPSS}};
    struct soft_quote q;
    EVP_PKEY *good;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        soft_quote_init(&q, cases[i].kind, cases[i].scheme, TPM2_ALG_SHA256);
        assert_int_equal(soft_quote_verify(&q, NULL), 0);
        /* The last byte of the signature value, then of the signed clock. */
        assert_int_equal(verify_flipped(&q, q.sig, q.sig_len - 1), DA_ERR_VERIFY_SIGNATURE);
        assert_int_equal(verify_flipped(&q, q.sig, q.sig_len / 2), DA_ERR_VERIFY_SIGNATURE);
        assert_int_equal(verify_flipped(&q, q.attest, q.attest_len - 40), DA_ERR_VERIFY_SIGNATURE);
        /* A well-formed signature by another key of the same kind. */
        good = q.key;
        q.key = soft_key(cases[i].kind);
        assert_non_null(q.key);
        assert_int_equal(soft_quote_verify(&q, NULL), DA_ERR_VERIFY_SIGNATURE);
        EVP_PKEY_free(q.key);
        q.key = good;
        assert_int_equal(soft_quote_verify(&q, NULL), 0);
        soft_quote_free(&q);
    }
}

/* The signature's hash must be the AK's; the AK must be a restricted
 * signing key with an acceptable scheme hash. */
static void test_quote_signer(void **state)
{
    struct soft_public d = ak_desc;
    struct soft_quote q;

    (void)state;
    soft_quote_init(&q, "P-256", TPM2_ALG_ECDSA, TPM2_ALG_SHA256);
    q.hash = TPM2_ALG_SHA384; /* a valid signature over SHA-384 */
    assert_int_equal(soft_quote_verify(&q, NULL), DA_ERR_VERIFY_HASH_ALG);
    q.hash = TPM2_ALG_SHA256;
    assert_int_equal(soft_quote_verify(&q, NULL), 0);
    da_tpm_public_free(q.ak);
    d.attrs &= ~TPMA_OBJECT_RESTRICTED;
    q.ak = soft_public_parse(q.key, &d);
    assert_int_equal(soft_quote_verify(&q, NULL), DA_ERR_VERIFY_SIGNER_UNRESTRICTED);
    da_tpm_public_free(q.ak);
    d = ak_desc;
    d.scheme_hash = TPM2_ALG_SHA1;
    q.ak = soft_public_parse(q.key, &d);
    q.hash = TPM2_ALG_SHA1;
    assert_int_equal(soft_quote_verify(&q, NULL), DA_ERR_VERIFY_HASH_ALG);
    soft_quote_free(&q);
}

/* Qualifying data of the right length that differs in one byte. */
static void test_quote_extra_data(void **state)
{
    struct soft_quote q;
    size_t at[] = {0, 15, 31};
    size_t i;

    (void)state;
    soft_quote_init(&q, "P-256", TPM2_ALG_ECDSA, TPM2_ALG_SHA256);
    for (i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
        q.a.extraData.buffer[at[i]] ^= 0x80;
        assert_int_equal(soft_quote_verify(&q, NULL), DA_ERR_VERIFY_EXTRA_DATA);
        q.a.extraData.buffer[at[i]] ^= 0x80;
    }
    q.a.extraData.size = 33;
    q.a.extraData.buffer[32] = 0;
    assert_int_equal(soft_quote_verify(&q, NULL), DA_ERR_VERIFY_EXTRA_DATA);
    q.a.extraData.size = 32;
    assert_int_equal(soft_quote_verify(&q, NULL), 0);
    soft_quote_free(&q);
}

/* A certification by the AK of a key whose name must equal the attest's. */
static int certify_rc(struct soft_quote *q, const TPM2B_NAME *name,
                      const struct da_tpm_public *certified)
{
    TPMS_ATTEST a = q->a;

    a.type = TPM2_ST_ATTEST_CERTIFY;
    memset(&a.attested, 0, sizeof(a.attested));
    a.attested.certify.name = *name;
    a.attested.certify.qualifiedName = *name;
    assert_int_equal(soft_attest(&a, q->attest, sizeof(q->attest), &q->attest_len), 0);
    assert_int_equal(soft_sign(q->key, q->scheme, q->hash, q->attest, q->attest_len, q->sig,
                               sizeof(q->sig), &q->sig_len),
                     0);
    return da_certify_verify(q->attest, q->attest_len, q->sig, q->sig_len, q->ak, certified, q->qd,
                             sizeof(q->qd), NULL);
}

static void test_certify_name(void **state)
{
    struct soft_public d = ak_desc;
    struct soft_quote q;
    EVP_PKEY *sk_key = soft_key("P-256"), *other_key = soft_key("P-256");
    struct da_tpm_public *sk, *other;
    TPM2B_NAME name;
    const uint8_t *n;
    size_t n_len, i;

    (void)state;
    soft_quote_init(&q, "P-256", TPM2_ALG_ECDSA, TPM2_ALG_SHA256);
    d.attrs &= ~TPMA_OBJECT_RESTRICTED;
    sk = soft_public_parse(sk_key, &d);
    other = soft_public_parse(other_key, &d);
    n = da_tpm_public_name(sk, &n_len);
    name.size = (UINT16)n_len;
    memcpy(name.name, n, n_len);
    assert_int_equal(certify_rc(&q, &name, sk), 0);
    /* The certify of another key, presented for sk. */
    assert_int_equal(certify_rc(&q, &name, other), DA_ERR_VERIFY_CERTIFY_NAME);
    /* The name one byte short, and the last byte changed. */
    name.size--;
    assert_int_equal(certify_rc(&q, &name, sk), DA_ERR_VERIFY_CERTIFY_NAME);
    name.size++;
    name.name[name.size - 1] ^= 0x01;
    assert_int_equal(certify_rc(&q, &name, sk), DA_ERR_VERIFY_CERTIFY_NAME);
    name.name[name.size - 1] ^= 0x01;
    da_tpm_public_free(sk);
    EVP_PKEY_free(sk_key);
    /* A key whose name ends in a zero byte, and an attest with that name one
     * byte short: only the length tells them apart. */
    for (i = 0; i < 8192; i++) {
        sk_key = soft_key("P-256");
        sk = soft_public_parse(sk_key, &d);
        n = da_tpm_public_name(sk, &n_len);
        if (n[n_len - 1] == 0x00)
            break;
        da_tpm_public_free(sk);
        EVP_PKEY_free(sk_key);
    }
    assert_true(i < 8192);
    name.size = (UINT16)n_len;
    memcpy(name.name, n, n_len);
    assert_int_equal(certify_rc(&q, &name, sk), 0);
    name.size--;
    assert_int_equal(certify_rc(&q, &name, sk), DA_ERR_VERIFY_CERTIFY_NAME);
    name.size++;
    name.size = 2; /* the algorithm alone */
    assert_int_equal(certify_rc(&q, &name, sk), DA_ERR_VERIFY_CERTIFY_NAME);
    name.size = (UINT16)n_len;
    q.a.clockInfo.safe = TPM2_NO;
    assert_int_equal(certify_rc(&q, &name, sk), DA_ERR_VERIFY_CLOCK_UNSAFE);
    q.a.clockInfo.safe = TPM2_YES;
    assert_int_equal(certify_rc(&q, &name, sk), 0);
    /* A quote is not a certification. */
    assert_int_equal(soft_quote_verify(&q, NULL), 0);
    assert_int_equal(da_certify_verify(q.attest, q.attest_len, q.sig, q.sig_len, q.ak, sk, q.qd,
                                       sizeof(q.qd), NULL),
                     DA_ERR_VERIFY_ATTEST_TYPE);
    da_tpm_public_free(sk);
    da_tpm_public_free(other);
    EVP_PKEY_free(sk_key);
    EVP_PKEY_free(other_key);
    soft_quote_free(&q);
}

struct marks {
    int calls;
    int answer;
};

static int mark_used(const uint8_t *nonce, size_t len, void *ctx)
{
    struct marks *m = ctx;

    (void)nonce;
    assert_int_equal(len, DA_NONCE_LEN);
    m->calls++;
    return m->answer;
}

/* The server's whole check of a report's quote: its nonce must be one the
 * server issued, unexpired, bound with the evidence digest into the
 * qualifying data, and used once. */
static void test_report_quote(void **state)
{
    static const uint8_t key[32] = "server-secret-server-secret-0123";
    uint8_t nonce[DA_NONCE_LEN], digest[32];
    struct da_report_quote r;
    struct da_tpm_clock c;
    struct marks m = {0, 0};
    struct soft_quote q;

    (void)state;
    memset(digest, 0x77, sizeof(digest));
    soft_quote_init(&q, "P-256", TPM2_ALG_ECDSA, TPM2_ALG_SHA256);
    assert_int_equal(da_report_nonce_make(key, sizeof(key), "agent-a", &q.sel, 1000, 60, nonce), 0);
    assert_int_equal(da_quote_qualifying_data(nonce, sizeof(nonce), digest, q.qd), 0);
    soft_quote_info(&q.a, q.qd, sizeof(q.qd), TPM2_ALG_SHA256, 0xff, q.values, q.values_len,
                    TPM2_ALG_SHA256);
    assert_int_equal(soft_quote_verify(&q, NULL), 0);
    memset(&r, 0, sizeof(r));
    r.agent_id = "agent-a";
    r.nonce = nonce;
    r.nonce_len = sizeof(nonce);
    r.evidence_digest = digest;
    r.attest = q.attest;
    r.attest_len = q.attest_len;
    r.sig = q.sig;
    r.sig_len = q.sig_len;
    r.pcr_values = q.values;
    r.pcr_values_len = q.values_len;
    assert_int_equal(
        da_report_quote_verify(key, sizeof(key), 1001, q.ak, &q.sel, &r, mark_used, &m, &c), 0);
    assert_int_equal(m.calls, 1);
    assert_int_equal(c.clock, 123456);
    /* Used before: the store's answer stands and nothing is reported. */
    m.answer = DA_ERR_VERIFY_NONCE_REPLAY;
    assert_int_equal(
        da_report_quote_verify(key, sizeof(key), 1001, q.ak, &q.sel, &r, mark_used, &m, &c),
        DA_ERR_VERIFY_NONCE_REPLAY);
    assert_int_equal(c.clock, 0);
    m.answer = 0;
    /* Expired, or not the server's: refused before the quote is looked at. */
    assert_int_equal(
        da_report_quote_verify(key, sizeof(key), 1060, q.ak, &q.sel, &r, mark_used, &m, &c),
        DA_ERR_VERIFY_NONCE_EXPIRED);
    nonce[0] ^= 1;
    assert_int_equal(
        da_report_quote_verify(key, sizeof(key), 1001, q.ak, &q.sel, &r, mark_used, &m, &c),
        DA_ERR_VERIFY_NONCE);
    nonce[0] ^= 1;
    /* Another evidence document than the one quoted. */
    digest[31] ^= 1;
    assert_int_equal(
        da_report_quote_verify(key, sizeof(key), 1001, q.ak, &q.sel, &r, mark_used, &m, &c),
        DA_ERR_VERIFY_EXTRA_DATA);
    digest[31] ^= 1;
    assert_int_equal(m.calls, 2);
    soft_quote_free(&q);
}

static void test_attest_parse_bounds(void **state)
{
    struct soft_quote q;
    TPMS_ATTEST out;
    uint8_t buf[1024];
    size_t i;

    (void)state;
    soft_quote_init(&q, "P-256", TPM2_ALG_ECDSA, TPM2_ALG_SHA256);
    assert_int_equal(soft_attest(&q.a, q.attest, sizeof(q.attest), &q.attest_len), 0);
    assert_int_equal(da_tpm_attest_parse(q.attest, q.attest_len, TPM2_ST_ATTEST_QUOTE, &out), 0);
    /* Every truncation is refused. */
    for (i = 0; i < q.attest_len; i++)
        assert_int_not_equal(da_tpm_attest_parse(q.attest, i, TPM2_ST_ATTEST_QUOTE, &out), 0);
    /* A TPM2B whose size runs past the end. */
    memcpy(buf, q.attest, q.attest_len);
    buf[6] = 0xff; /* qualifiedSigner.size */
    assert_int_equal(da_tpm_attest_parse(buf, q.attest_len, TPM2_ST_ATTEST_QUOTE, &out),
                     DA_ERR_VERIFY_ATTEST_FORMAT);
    assert_int_equal(da_tpm_attest_parse(q.attest, q.attest_len, TPM2_ST_ATTEST_CERTIFY, &out),
                     DA_ERR_VERIFY_ATTEST_TYPE);
    assert_int_equal(da_tpm_attest_parse(q.attest, q.attest_len, TPM2_ST_ATTEST_TIME, &out),
                     DA_ERR_INVALID_ARG);
    memcpy(buf, q.attest, q.attest_len);
    buf[q.attest_len] = 0;
    assert_int_equal(da_tpm_attest_parse(buf, q.attest_len + 1, TPM2_ST_ATTEST_QUOTE, &out),
                     DA_ERR_TRAILING_DATA);
    /* clockInfo.safe is a TPMI_YES_NO: 2 is not a value. */
    q.a.clockInfo.safe = 2;
    assert_int_equal(soft_attest(&q.a, buf, sizeof(buf), &i), 0);
    assert_int_equal(da_tpm_attest_parse(buf, i, TPM2_ST_ATTEST_QUOTE, &out),
                     DA_ERR_VERIFY_ATTEST_FORMAT);
    soft_quote_free(&q);
}

static void test_signature_parse(void **state)
{
    struct soft_quote q;
    TPMT_SIGNATURE s;
    uint8_t buf[1024];

    (void)state;
    soft_quote_init(&q, "P-256", TPM2_ALG_ECDSA, TPM2_ALG_SHA256);
    assert_int_not_equal(soft_quote_verify(&q, NULL), -1);
    assert_int_equal(da_tpm_signature_parse(q.sig, q.sig_len, &s), 0);
    memcpy(buf, q.sig, q.sig_len);
    buf[q.sig_len] = 0;
    assert_int_equal(da_tpm_signature_parse(buf, q.sig_len + 1, &s), DA_ERR_TRAILING_DATA);
    assert_int_equal(da_tpm_signature_parse(buf, q.sig_len - 1, &s), DA_ERR_VERIFY_SIGNATURE);
    buf[1] = 0x1a; /* TPM_ALG_ECDAA */
    assert_int_equal(da_tpm_signature_parse(buf, q.sig_len, &s), DA_ERR_VERIFY_SIG_SCHEME);
    /* An r of zero length. */
    memcpy(buf, q.sig, q.sig_len);
    buf[4] = 0;
    buf[5] = 0;
    assert_int_not_equal(da_tpm_signature_parse(buf, q.sig_len, &s), 0);
    /* r and s of zero length: well-formed, refused as a signature. */
    buf[0] = 0x00;
    buf[1] = 0x18; /* ECDSA */
    buf[2] = 0x00;
    buf[3] = 0x0b;
    memset(buf + 4, 0, 4);
    assert_int_equal(da_tpm_signature_parse(buf, 8, &s), DA_ERR_VERIFY_SIGNATURE);
    soft_quote_free(&q);
}

static void test_clock_check(void **state)
{
    struct da_tpm_clock a = {1000, 5, 2, 7, false}, b;
    int changed = -1;

    (void)state;
    b = a;
    assert_int_equal(da_tpm_clock_check(&a, &b, &changed), 0);
    assert_int_equal(changed, 0);
    b.clock = 2000;
    b.restart_count = 3;
    b.firmware_version = 8;
    assert_int_equal(da_tpm_clock_check(&a, &b, &changed), 0);
    assert_int_equal(changed, 1);
    b = a;
    b.reset_count = 6;
    b.restart_count = 0;
    b.clock = 1500;
    assert_int_equal(da_tpm_clock_check(&a, &b, NULL), 0);
    b = a;
    b.reset_count = 4;
    b.clock = 5000;
    assert_int_equal(da_tpm_clock_check(&a, &b, NULL), DA_ERR_VERIFY_COUNTER_ROLLBACK);
    b = a;
    b.restart_count = 1;
    assert_int_equal(da_tpm_clock_check(&a, &b, NULL), DA_ERR_VERIFY_COUNTER_ROLLBACK);
    b = a;
    b.clock = 999;
    assert_int_equal(da_tpm_clock_check(&a, &b, NULL), DA_ERR_VERIFY_COUNTER_ROLLBACK);
    /* restartCount up within one reset cycle does not let Clock fall */
    b = a;
    b.restart_count = 3;
    b.clock = 999;
    assert_int_equal(da_tpm_clock_check(&a, &b, NULL), DA_ERR_VERIFY_COUNTER_ROLLBACK);
    /* unsafe does not excuse a fall without a TPM Reset */
    b.restart_count = 2;
    b.unsafe = true;
    assert_int_equal(da_tpm_clock_check(&a, &b, NULL), DA_ERR_VERIFY_COUNTER_ROLLBACK);
}

/* After power was lost without TPM2_Shutdown: a TPM Reset, Clock resumed
 * from its last NV copy (at most 2^22 ms back), safe cleared. */
static void test_clock_unorderly(void **state)
{
    struct da_tpm_clock a = {10000000, 5, 2, 7, false}, b;

    (void)state;
    b = a;
    b.reset_count = 6;
    b.restart_count = 0;
    b.unsafe = true;
    b.clock = a.clock - DA_TPM_CLOCK_NV_INTERVAL_MS;
    assert_int_equal(da_tpm_clock_check(&a, &b, NULL), 0);
    b.clock = a.clock - 1;
    assert_int_equal(da_tpm_clock_check(&a, &b, NULL), 0);
    /* further back than the TPM can lose */
    b.clock = a.clock - DA_TPM_CLOCK_NV_INTERVAL_MS - 1;
    assert_int_equal(da_tpm_clock_check(&a, &b, NULL), DA_ERR_VERIFY_COUNTER_ROLLBACK);
    /* the TPM says safe: no greater Clock was ever reported */
    b.clock = a.clock - 1;
    b.unsafe = false;
    assert_int_equal(da_tpm_clock_check(&a, &b, NULL), DA_ERR_VERIFY_COUNTER_ROLLBACK);
    /* later quotes of that cycle order by Clock again, safe or not */
    a = b;
    a.unsafe = true;
    a.clock = 9000000;
    b = a;
    b.clock = 8999999;
    assert_int_equal(da_tpm_clock_check(&a, &b, NULL), DA_ERR_VERIFY_COUNTER_ROLLBACK);
    b.clock = 9000001;
    b.unsafe = false;
    assert_int_equal(da_tpm_clock_check(&a, &b, NULL), 0);
    /* an older cycle's quote held back is refused after the newer one */
    assert_int_equal(da_tpm_clock_check(&b, &(struct da_tpm_clock){10000000, 5, 2, 7, false}, NULL),
                     DA_ERR_VERIFY_COUNTER_ROLLBACK);
}

/* A report's nonce is bound to its agent and the PCR selection: the same
 * quote presented for another agent, or checked against another selection,
 * fails at the nonce; a quote with an unsafe clock passes and says so. */
static void test_report_nonce_binding(void **state)
{
    static const uint8_t nkey[32] = "report-nonce-key-report-nonce-ke";
    uint8_t nonce[DA_NONCE_LEN], dg[32];
    struct da_pcr_selection other;
    struct da_report_quote r;
    struct soft_quote q;
    struct da_tpm_clock c;
    uint64_t now = 1000000;

    (void)state;
    soft_quote_init(&q, "P-256", TPM2_ALG_ECDSA, TPM2_ALG_SHA256);
    memset(dg, 0x17, sizeof(dg));
    assert_int_equal(da_report_nonce_make(nkey, sizeof(nkey), "agent-a", &q.sel, now, 60, nonce),
                     0);
    assert_int_equal(da_quote_qualifying_data(nonce, sizeof(nonce), dg, q.qd), 0);
    soft_quote_info(&q.a, q.qd, sizeof(q.qd), TPM2_ALG_SHA256, 0xff, q.values, q.values_len,
                    TPM2_ALG_SHA256);
    q.a.clockInfo.safe = TPM2_NO;
    assert_int_equal(soft_attest(&q.a, q.attest, sizeof(q.attest), &q.attest_len), 0);
    assert_int_equal(soft_sign(q.key, q.scheme, q.hash, q.attest, q.attest_len, q.sig,
                               sizeof(q.sig), &q.sig_len),
                     0);
    memset(&r, 0, sizeof(r));
    r.agent_id = "agent-a";
    r.nonce = nonce;
    r.nonce_len = sizeof(nonce);
    r.evidence_digest = dg;
    r.attest = q.attest;
    r.attest_len = q.attest_len;
    r.sig = q.sig;
    r.sig_len = q.sig_len;
    r.pcr_values = q.values;
    r.pcr_values_len = q.values_len;
    assert_int_equal(
        da_report_quote_verify(nkey, sizeof(nkey), now + 1, q.ak, &q.sel, &r, NULL, NULL, &c), 0);
    assert_true(c.unsafe);
    r.agent_id = "agent-b";
    assert_int_equal(
        da_report_quote_verify(nkey, sizeof(nkey), now + 1, q.ak, &q.sel, &r, NULL, NULL, &c),
        DA_ERR_VERIFY_NONCE);
    r.agent_id = "agent-a ";
    assert_int_equal(
        da_report_quote_verify(nkey, sizeof(nkey), now + 1, q.ak, &q.sel, &r, NULL, NULL, &c),
        DA_ERR_VERIFY_NONCE);
    r.agent_id = NULL;
    assert_int_equal(
        da_report_quote_verify(nkey, sizeof(nkey), now + 1, q.ak, &q.sel, &r, NULL, NULL, &c),
        DA_ERR_INVALID_ARG);
    r.agent_id = "agent-a";
    assert_int_equal(da_pcr_selection_parse("sha256:0-6", &other), 0);
    assert_int_equal(
        da_report_quote_verify(nkey, sizeof(nkey), now + 1, q.ak, &other, &r, NULL, NULL, &c),
        DA_ERR_VERIFY_NONCE);
    assert_int_equal(da_pcr_selection_parse("sha1:0-7", &other), 0);
    assert_int_equal(
        da_report_quote_verify(nkey, sizeof(nkey), now + 1, q.ak, &other, &r, NULL, NULL, &c),
        DA_ERR_VERIFY_NONCE);
    soft_quote_free(&q);
}

/* The largest TPM ECDSA signature fits the documented bound, and a buffer
 * one byte short is refused without writing past it. */
static void test_ecdsa_to_der_bounds(void **state)
{
    TPMS_SIGNATURE_ECC e;
    uint8_t der[2 * (TPM2_MAX_ECC_KEY_BYTES + 4) + 4];
    size_t len = 1;

    (void)state;
    memset(&e, 0, sizeof(e));
    e.signatureR.size = e.signatureS.size = TPM2_MAX_ECC_KEY_BYTES;
    memset(e.signatureR.buffer, 0xff, TPM2_MAX_ECC_KEY_BYTES);
    memset(e.signatureS.buffer, 0x80, TPM2_MAX_ECC_KEY_BYTES);
    assert_int_equal(da_tpm_ecdsa_to_der(&e, der, sizeof(der), &len), 0);
    assert_int_equal(len, sizeof(der));
    assert_int_equal(der[0], 0x30);
    assert_int_equal(da_tpm_ecdsa_to_der(&e, der, sizeof(der) - 1, &len), DA_ERR_NOMEM);
    assert_int_equal(len, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_public_parse_strict), cmocka_unit_test(test_ak_profile),
        cmocka_unit_test(test_pcr_selection_parse), cmocka_unit_test(test_qualifying_data),
        cmocka_unit_test(test_quote_schemes),       cmocka_unit_test(test_quote_checks),
        cmocka_unit_test(test_attest_parse_bounds), cmocka_unit_test(test_signature_parse),
        cmocka_unit_test(test_clock_check),         cmocka_unit_test(test_ecdsa_to_der_bounds),
        cmocka_unit_test(test_clock_unorderly),     cmocka_unit_test(test_report_nonce_binding),
        cmocka_unit_test(test_public_name_alg),     cmocka_unit_test(test_quote_pcr_high),
        cmocka_unit_test(test_quote_signature),     cmocka_unit_test(test_quote_extra_data),
        cmocka_unit_test(test_certify_name),        cmocka_unit_test(test_quote_signer),
        cmocka_unit_test(test_report_quote),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
