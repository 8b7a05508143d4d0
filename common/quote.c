#include "quote.h"

#include <ctype.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rsa.h>

#include "err.h"
#include "tpm_attest.h"

int da_quote_qualifying_data(const uint8_t *nonce, size_t nonce_len,
                             const uint8_t evidence_digest[32], uint8_t out[DA_QUOTE_QD_LEN])
{
    EVP_MD_CTX *ctx;
    unsigned int len = 0;
    int ok;

    if ((nonce == NULL && nonce_len > 0) || evidence_digest == NULL || out == NULL)
        return DA_ERR_INVALID_ARG;
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL)
        return DA_ERR_NOMEM;
    ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
         EVP_DigestUpdate(ctx, nonce, nonce_len) == 1 &&
         EVP_DigestUpdate(ctx, evidence_digest, 32) == 1 &&
         EVP_DigestFinal_ex(ctx, out, &len) == 1 && len == DA_QUOTE_QD_LEN;
    EVP_MD_CTX_free(ctx);
    return ok ? 0 : DA_ERR_CRYPTO;
}

/* ---- PCR selections ---- */

static int parse_pcr_index(const char **p, unsigned *out)
{
    unsigned v = 0;
    const char *s = *p;

    if (!isdigit((unsigned char)*s))
        return DA_ERR_INVALID_ARG;
    /* Decimal without leading zeros: one spelling per PCR number. */
    if (s[0] == '0' && isdigit((unsigned char)s[1]))
        return DA_ERR_INVALID_ARG;
    while (isdigit((unsigned char)*s)) {
        v = v * 10 + (unsigned)(*s - '0');
        if (v >= DA_PCR_MAX)
            return DA_ERR_INVALID_ARG;
        s++;
    }
    *p = s;
    *out = v;
    return 0;
}

/* "0,1,4-7" up to the end of the bank (at end or '+'). */
static int parse_pcr_list(const char **p, uint32_t *mask)
{
    unsigned lo, hi, i;

    *mask = 0;
    for (;;) {
        if (parse_pcr_index(p, &lo) != 0)
            return DA_ERR_INVALID_ARG;
        hi = lo;
        if (**p == '-') {
            (*p)++;
            if (parse_pcr_index(p, &hi) != 0 || hi < lo)
                return DA_ERR_INVALID_ARG;
        }
        for (i = lo; i <= hi; i++)
            *mask |= 1u << i;
        if (**p != ',')
            return 0;
        (*p)++;
    }
}

int da_pcr_selection_parse(const char *text, struct da_pcr_selection *out)
{
    const char *p = text, *colon;
    size_t i;

    memset(out, 0, sizeof(*out));
    if (text == NULL)
        return DA_ERR_INVALID_ARG;
    for (;;) {
        TPMI_ALG_HASH alg;

        colon = strchr(p, ':');
        if (colon == NULL || out->count == sizeof(out->banks) / sizeof(out->banks[0]))
            goto bad;
        alg = da_tpm_hash_by_name(p, (size_t)(colon - p));
        if (alg == TPM2_ALG_NULL)
            goto bad;
        for (i = 0; i < out->count; i++) {
            if (out->banks[i].hash == alg)
                goto bad;
        }
        p = colon + 1;
        out->banks[out->count].hash = alg;
        if (parse_pcr_list(&p, &out->banks[out->count].pcrs) != 0)
            goto bad;
        out->count++;
        if (*p == '\0')
            return 0;
        if (*p != '+')
            goto bad;
        p++;
    }
bad:
    memset(out, 0, sizeof(*out));
    return DA_ERR_INVALID_ARG;
}

size_t da_pcr_selection_values_len(const struct da_pcr_selection *sel)
{
    size_t i, total = 0;

    for (i = 0; i < sel->count; i++)
        total +=
            (size_t)__builtin_popcount(sel->banks[i].pcrs) * da_tpm_hash_size(sel->banks[i].hash);
    return total;
}

static int selection_equal(const TPML_PCR_SELECTION *got, const struct da_pcr_selection *want)
{
    uint32_t i, j;

    if (got->count != want->count)
        return 0;
    for (i = 0; i < got->count; i++) {
        const TPMS_PCR_SELECTION *s = &got->pcrSelections[i];
        uint32_t mask = 0;

        for (j = 0; j < s->sizeofSelect; j++)
            mask |= (uint32_t)s->pcrSelect[j] << (8 * j);
        if (s->hash != want->banks[i].hash || mask != want->banks[i].pcrs)
            return 0;
    }
    return 1;
}

/* ---- signatures ---- */

/* The scheme and hash the AK was created with; a signature must use them. */
static int signer_scheme(const TPMT_PUBLIC *a, TPMI_ALG_SIG_SCHEME *scheme, TPMI_ALG_HASH *hash)
{
    if (a->type == TPM2_ALG_ECC) {
        *scheme = a->parameters.eccDetail.scheme.scheme;
        *hash = a->parameters.eccDetail.scheme.details.anySig.hashAlg;
    } else {
        *scheme = a->parameters.rsaDetail.scheme.scheme;
        *hash = a->parameters.rsaDetail.scheme.details.anySig.hashAlg;
    }
    if (a->type == TPM2_ALG_ECC ? *scheme != TPM2_ALG_ECDSA
                                : *scheme != TPM2_ALG_RSASSA && *scheme != TPM2_ALG_RSAPSS)
        return DA_ERR_VERIFY_SIG_SCHEME;
    if (da_tpm_hash_md(*hash) == NULL || *hash == TPM2_ALG_SHA1)
        return DA_ERR_VERIFY_HASH_ALG;
    return 0;
}

static int check_signer(const struct da_tpm_public *ak)
{
    TPMA_OBJECT attrs = da_tpm_public_area(ak)->objectAttributes;

    if ((attrs & TPMA_OBJECT_RESTRICTED) == 0 || (attrs & TPMA_OBJECT_SIGN_ENCRYPT) == 0 ||
        (attrs & TPMA_OBJECT_DECRYPT) != 0)
        return DA_ERR_VERIFY_SIGNER_UNRESTRICTED;
    return 0;
}

static int verify_signature(const struct da_tpm_public *ak, const TPMT_SIGNATURE *sig,
                            const uint8_t *msg, size_t msg_len)
{
    const EVP_MD *md = da_tpm_hash_md(sig->signature.any.hashAlg);
    uint8_t digest[EVP_MAX_MD_SIZE], der[160];
    const uint8_t *sigbytes;
    size_t sig_len;
    unsigned int dlen = 0;
    EVP_PKEY_CTX *ctx = NULL;
    int rc = DA_ERR_VERIFY_SIGNATURE;

    if (md == NULL)
        return DA_ERR_VERIFY_HASH_ALG;
    if (EVP_Digest(msg, msg_len, digest, &dlen, md, NULL) != 1)
        return DA_ERR_CRYPTO;
    if (sig->sigAlg == TPM2_ALG_ECDSA) {
        if ((rc = da_tpm_ecdsa_to_der(&sig->signature.ecdsa, der, sizeof(der), &sig_len)) != 0)
            return rc;
        sigbytes = der;
        rc = DA_ERR_VERIFY_SIGNATURE;
    } else {
        sigbytes = sig->signature.rsassa.sig.buffer;
        sig_len = sig->signature.rsassa.sig.size;
    }
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, da_tpm_public_pkey(ak), NULL);
    if (ctx == NULL)
        return DA_ERR_NOMEM;
    if (EVP_PKEY_verify_init(ctx) <= 0 || EVP_PKEY_CTX_set_signature_md(ctx, md) <= 0) {
        rc = DA_ERR_CRYPTO;
        goto out;
    }
    if (sig->sigAlg == TPM2_ALG_RSAPSS &&
        (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
         EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_AUTO) <= 0)) {
        rc = DA_ERR_CRYPTO;
        goto out;
    }
    if (sig->sigAlg == TPM2_ALG_RSASSA &&
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0) {
        rc = DA_ERR_CRYPTO;
        goto out;
    }
    if (EVP_PKEY_verify(ctx, sigbytes, sig_len, digest, dlen) == 1)
        rc = 0;
out:
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

/* Steps 1-5 of the header, common to quote and certify. */
static int verify_signed_attest(const uint8_t *attest, size_t attest_len, const uint8_t *sig,
                                size_t sig_len, const struct da_tpm_public *ak, TPM2_ST type,
                                const uint8_t *qd, size_t qd_len, TPMS_ATTEST *a,
                                TPMI_ALG_HASH *sig_hash)
{
    TPMT_SIGNATURE s;
    TPMI_ALG_SIG_SCHEME want_scheme;
    TPMI_ALG_HASH want_hash;
    int rc;

    if ((attest == NULL && attest_len > 0) || (sig == NULL && sig_len > 0) || ak == NULL ||
        (qd == NULL && qd_len > 0))
        return DA_ERR_INVALID_ARG;
    if ((rc = check_signer(ak)) != 0)
        return rc;
    if ((rc = signer_scheme(da_tpm_public_area(ak), &want_scheme, &want_hash)) != 0)
        return rc;
    if ((rc = da_tpm_signature_parse(sig, sig_len, &s)) != 0)
        return rc;
    if (s.sigAlg != want_scheme)
        return DA_ERR_VERIFY_SIG_SCHEME;
    if (s.signature.any.hashAlg != want_hash)
        return DA_ERR_VERIFY_HASH_ALG;
    if ((rc = da_tpm_attest_parse(attest, attest_len, type, a)) != 0)
        return rc;
    if ((rc = verify_signature(ak, &s, attest, attest_len)) != 0)
        return rc;
    if (a->extraData.size != qd_len ||
        (qd_len > 0 && CRYPTO_memcmp(a->extraData.buffer, qd, qd_len) != 0))
        return DA_ERR_VERIFY_EXTRA_DATA;
    *sig_hash = want_hash;
    return 0;
}

static int check_pcr_digest(const TPMS_QUOTE_INFO *q, TPMI_ALG_HASH hash,
                            const struct da_quote_expect *e)
{
    uint8_t digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;

    if ((e->pcr_values == NULL && e->pcr_values_len > 0) ||
        e->pcr_values_len != da_pcr_selection_values_len(e->selection))
        return DA_ERR_VERIFY_PCR_DIGEST;
    if (EVP_Digest(e->pcr_values, e->pcr_values_len, digest, &dlen, da_tpm_hash_md(hash), NULL) !=
        1)
        return DA_ERR_CRYPTO;
    if (q->pcrDigest.size != dlen || CRYPTO_memcmp(q->pcrDigest.buffer, digest, dlen) != 0)
        return DA_ERR_VERIFY_PCR_DIGEST;
    return 0;
}

static void fill_clock(const TPMS_ATTEST *a, struct da_tpm_clock *clock)
{
    if (clock == NULL)
        return;
    clock->clock = a->clockInfo.clock;
    clock->reset_count = a->clockInfo.resetCount;
    clock->restart_count = a->clockInfo.restartCount;
    clock->firmware_version = a->firmwareVersion;
    clock->unsafe = a->clockInfo.safe != TPM2_YES;
}

int da_quote_verify(const uint8_t *attest, size_t attest_len, const uint8_t *sig, size_t sig_len,
                    const struct da_quote_expect *expect, struct da_tpm_clock *clock)
{
    TPMS_ATTEST a;
    TPMI_ALG_HASH hash = TPM2_ALG_NULL;
    int rc;

    if (clock != NULL)
        memset(clock, 0, sizeof(*clock));
    if (expect == NULL || expect->selection == NULL)
        return DA_ERR_INVALID_ARG;
    rc = verify_signed_attest(attest, attest_len, sig, sig_len, expect->ak, TPM2_ST_ATTEST_QUOTE,
                              expect->qualifying_data, expect->qualifying_data_len, &a, &hash);
    if (rc != 0)
        return rc;
    if (!selection_equal(&a.attested.quote.pcrSelect, expect->selection))
        return DA_ERR_VERIFY_PCR_SELECTION;
    if ((rc = check_pcr_digest(&a.attested.quote, hash, expect)) != 0)
        return rc;
    if (a.clockInfo.safe != TPM2_YES && !expect->accept_unsafe_clock)
        return DA_ERR_VERIFY_CLOCK_UNSAFE;
    fill_clock(&a, clock);
    return 0;
}

int da_certify_verify(const uint8_t *attest, size_t attest_len, const uint8_t *sig, size_t sig_len,
                      const struct da_tpm_public *ak, const struct da_tpm_public *certified,
                      const uint8_t *qualifying_data, size_t qualifying_data_len,
                      struct da_tpm_clock *clock)
{
    TPMS_ATTEST a;
    TPMI_ALG_HASH hash = TPM2_ALG_NULL;
    const uint8_t *name;
    size_t name_len;
    int rc;

    if (clock != NULL)
        memset(clock, 0, sizeof(*clock));
    if (certified == NULL)
        return DA_ERR_INVALID_ARG;
    rc = verify_signed_attest(attest, attest_len, sig, sig_len, ak, TPM2_ST_ATTEST_CERTIFY,
                              qualifying_data, qualifying_data_len, &a, &hash);
    if (rc != 0)
        return rc;
    name = da_tpm_public_name(certified, &name_len);
    if (a.attested.certify.name.size != name_len ||
        memcmp(a.attested.certify.name.name, name, name_len) != 0)
        return DA_ERR_VERIFY_CERTIFY_NAME;
    if (a.clockInfo.safe != TPM2_YES)
        return DA_ERR_VERIFY_CLOCK_UNSAFE;
    fill_clock(&a, clock);
    return 0;
}

int da_tpm_clock_check(const struct da_tpm_clock *prev, const struct da_tpm_clock *cur,
                       int *firmware_changed)
{
    if (firmware_changed != NULL)
        *firmware_changed = 0;
    if (prev == NULL || cur == NULL)
        return DA_ERR_INVALID_ARG;
    if (firmware_changed != NULL)
        *firmware_changed = prev->firmware_version != cur->firmware_version;
    if (cur->reset_count < prev->reset_count)
        return DA_ERR_VERIFY_COUNTER_ROLLBACK;
    if (cur->reset_count == prev->reset_count) {
        /* One reset cycle: Restart and Resume follow an orderly
         * TPM2_Shutdown, which saves Clock, so neither counter falls. */
        if (cur->restart_count < prev->restart_count || cur->clock < prev->clock)
            return DA_ERR_VERIFY_COUNTER_ROLLBACK;
        return 0;
    }
    /* A TPM Reset. Clock only falls when power was lost without
     * TPM2_Shutdown: the TPM then resumes from its last saved Clock, at most
     * one NV interval back, and says so by clearing safe. */
    if (cur->clock >= prev->clock)
        return 0;
    if (cur->unsafe && prev->clock - cur->clock <= DA_TPM_CLOCK_NV_INTERVAL_MS)
        return 0;
    return DA_ERR_VERIFY_COUNTER_ROLLBACK;
}

#define REPORT_NONCE_LABEL "devattest.report-nonce/v2"

static int report_nonce_bind(const char *agent_id, const struct da_pcr_selection *sel,
                             uint8_t out[DA_NONCE_BIND_MAX], size_t *out_len)
{
    size_t id_len = agent_id != NULL ? strlen(agent_id) : 0, n = 0, i;

    if (id_len == 0 || id_len > 255 || sel == NULL || sel->count == 0 ||
        sel->count > sizeof(sel->banks) / sizeof(sel->banks[0]))
        return DA_ERR_INVALID_ARG;
    memcpy(out, REPORT_NONCE_LABEL, sizeof(REPORT_NONCE_LABEL)); /* with its NUL */
    n = sizeof(REPORT_NONCE_LABEL);
    out[n++] = (uint8_t)id_len;
    memcpy(out + n, agent_id, id_len);
    n += id_len;
    out[n++] = (uint8_t)sel->count;
    for (i = 0; i < sel->count; i++) {
        out[n++] = (uint8_t)(sel->banks[i].hash >> 8);
        out[n++] = (uint8_t)sel->banks[i].hash;
        out[n++] = (uint8_t)(sel->banks[i].pcrs >> 24);
        out[n++] = (uint8_t)(sel->banks[i].pcrs >> 16);
        out[n++] = (uint8_t)(sel->banks[i].pcrs >> 8);
        out[n++] = (uint8_t)sel->banks[i].pcrs;
    }
    *out_len = n;
    return 0;
}

int da_report_nonce_make(const uint8_t *key, size_t key_len, const char *agent_id,
                         const struct da_pcr_selection *selection, uint64_t now,
                         uint32_t lifetime_s, uint8_t out[DA_NONCE_LEN])
{
    uint8_t bind[DA_NONCE_BIND_MAX];
    size_t bind_len = 0;
    int rc = report_nonce_bind(agent_id, selection, bind, &bind_len);

    if (rc == 0)
        rc = da_nonce_make(key, key_len, bind, bind_len, now, lifetime_s, out);
    return rc;
}

int da_report_quote_verify(const uint8_t *nonce_key, size_t nonce_key_len, uint64_t now,
                           const struct da_tpm_public *ak, const struct da_pcr_selection *selection,
                           const struct da_report_quote *report, da_nonce_mark_used_fn mark_used,
                           void *mark_ctx, struct da_tpm_clock *clock)
{
    struct da_quote_expect expect;
    uint8_t qd[DA_QUOTE_QD_LEN];
    uint8_t bind[DA_NONCE_BIND_MAX];
    size_t bind_len = 0;
    int rc;

    if (clock != NULL)
        memset(clock, 0, sizeof(*clock));
    if (report == NULL || report->evidence_digest == NULL)
        return DA_ERR_INVALID_ARG;
    rc = report_nonce_bind(report->agent_id, selection, bind, &bind_len);
    if (rc == 0)
        rc = da_nonce_verify(nonce_key, nonce_key_len, bind, bind_len, report->nonce,
                             report->nonce_len, now, NULL, NULL, NULL);
    if (rc != 0)
        return rc;
    rc = da_quote_qualifying_data(report->nonce, report->nonce_len, report->evidence_digest, qd);
    if (rc != 0)
        return rc;
    memset(&expect, 0, sizeof(expect));
    expect.ak = ak;
    expect.qualifying_data = qd;
    expect.qualifying_data_len = sizeof(qd);
    expect.selection = selection;
    expect.pcr_values = report->pcr_values;
    expect.pcr_values_len = report->pcr_values_len;
    expect.accept_unsafe_clock = true;
    rc = da_quote_verify(report->attest, report->attest_len, report->sig, report->sig_len, &expect,
                         clock);
    if (rc == 0 && mark_used != NULL)
        rc = mark_used(report->nonce, report->nonce_len, mark_ctx);
    if (rc != 0 && clock != NULL)
        memset(clock, 0, sizeof(*clock));
    return rc;
}
