/* Verification of TPM2_Quote and TPM2_Certify (docs/ARCHITECTURE.md).
 *
 * The caller recomputes what the quote must contain: the qualifying data
 * (da_quote_qualifying_data over the nonce it issued and the digest of the
 * canonical evidence it received), the PCR selection it asked for and the PCR
 * values the agent sent. The AK is the enrolled TPM2B_PUBLIC, parsed with
 * da_tpm_public_parse. Nothing here trusts a field of the attestation before
 * the signature over it has been verified with the AK, and the scheme of the
 * signature must be the AK's own scheme (no downgrade).
 *
 * Order of the checks, each with its own code:
 *   1. signer restricted and a signing key      DA_ERR_VERIFY_SIGNER_UNRESTRICTED
 *   2. signature algorithm = the AK's scheme     DA_ERR_VERIFY_SIG_SCHEME
 *      signature hash = the AK's scheme hash     DA_ERR_VERIFY_HASH_ALG
 *   3. TPMS_ATTEST magic, type, format, trailing DA_ERR_VERIFY_ATTEST_MAGIC,
 *                                                _ATTEST_TYPE, _ATTEST_FORMAT,
 *                                                DA_ERR_TRAILING_DATA
 *   4. signature over the attestation            DA_ERR_VERIFY_SIGNATURE
 *   5. extraData = expected qualifying data      DA_ERR_VERIFY_EXTRA_DATA
 *   6. quote: PCR selection = requested          DA_ERR_VERIFY_PCR_SELECTION
 *      quote: pcrDigest = H(PCR values)          DA_ERR_VERIFY_PCR_DIGEST
 *      certify: name = the certified key's name  DA_ERR_VERIFY_CERTIFY_NAME
 *   7. clockInfo.safe (unless the caller orders  DA_ERR_VERIFY_CLOCK_UNSAFE
 *      the counters itself: da_tpm_clock_check)
 */
#ifndef DA_QUOTE_H
#define DA_QUOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nonce.h"
#include "tpm_public.h"

#define DA_QUOTE_QD_LEN 32
#define DA_PCR_MAX      24 /* PCRs per bank a selection may name */

/* A PCR selection: banks in the order the TPM reports them; in each bank
 * bit i of pcrs selects PCR i. PCR values travel in the same order: bank by
 * bank, ascending PCR index within a bank. */
struct da_pcr_selection {
    size_t count;
    struct {
        TPMI_ALG_HASH hash;
        uint32_t pcrs;
    } banks[4];
};

/* Parse "sha256:0,1,2-7" or "sha1:0+sha256:0-7" (the tpm2-tools form: banks
 * separated by '+', PCRs by ',', ranges a-b). Strict: PCR numbers are decimal
 * 0..23 without sign or leading zeros; unknown or duplicate banks, empty
 * lists, "all" and trailing text are refused. DA_ERR_INVALID_ARG for anything
 * else. The agent's agent_pcr_selection_parse is this parser. */
int da_pcr_selection_parse(const char *text, struct da_pcr_selection *out);
/* Number of bytes the PCR values of this selection occupy. */
size_t da_pcr_selection_values_len(const struct da_pcr_selection *sel);

/* out = SHA-256(nonce || evidence_digest), the quote's qualifying data. */
int da_quote_qualifying_data(const uint8_t *nonce, size_t nonce_len,
                             const uint8_t evidence_digest[32], uint8_t out[DA_QUOTE_QD_LEN]);

/* What the quote must show. */
struct da_quote_expect {
    const struct da_tpm_public *ak;
    const uint8_t *qualifying_data; /* usually DA_QUOTE_QD_LEN bytes */
    size_t qualifying_data_len;
    const struct da_pcr_selection *selection;
    const uint8_t *pcr_values; /* concatenated, in selection order */
    size_t pcr_values_len;
    /* Accept clockInfo.safe = NO: only for a caller that then orders the
     * counters with da_tpm_clock_check, which knows what an unsafe clock
     * may do (reports). Otherwise such a quote is DA_ERR_VERIFY_CLOCK_UNSAFE. */
    bool accept_unsafe_clock;
};

/* The TPM counters of a verified attestation, for monotonicity checks. */
struct da_tpm_clock {
    uint64_t clock; /* milliseconds the TPM has been powered */
    uint32_t reset_count;
    uint32_t restart_count;
    uint64_t firmware_version;
    bool unsafe; /* clockInfo.safe was NO: this Clock may have been reported before */
};

/* The TPM writes Clock to its NV memory at least once per 2^22 ms of
 * operation (TPM 2.0 Part 2, TPMS_CLOCK_INFO), so after a power loss without
 * TPM2_Shutdown it resumes at most this far behind a value it reported. */
#define DA_TPM_CLOCK_NV_INTERVAL_MS (UINT64_C(1) << 22)

/* Verify a quote: attest is the signed TPMS_ATTEST, sig the marshalled
 * TPMT_SIGNATURE. On success fills *clock (when not NULL). Errors: the codes
 * listed at the top, DA_ERR_INVALID_ARG, DA_ERR_TOO_LARGE, DA_ERR_NOMEM. */
int da_quote_verify(const uint8_t *attest, size_t attest_len, const uint8_t *sig, size_t sig_len,
                    const struct da_quote_expect *expect, struct da_tpm_clock *clock);

/* Verify a TPM2_Certify of `certified` by `ak` with the given qualifying data
 * (NULL/0: the extraData must be empty). Same codes as da_quote_verify, with
 * DA_ERR_VERIFY_CERTIFY_NAME when the attested name is not the name of
 * `certified` as computed by da_tpm_public_parse. */
int da_certify_verify(const uint8_t *attest, size_t attest_len, const uint8_t *sig, size_t sig_len,
                      const struct da_tpm_public *ak, const struct da_tpm_public *certified,
                      const uint8_t *qualifying_data, size_t qualifying_data_len,
                      struct da_tpm_clock *clock);

/* Whether cur may follow prev, the last counters recorded for the same AK
 * (docs/internals/tpm-counters.md). 0 when
 *   - resetCount is the same, restartCount and Clock did not go back; or
 *   - resetCount went up (a TPM Reset; restartCount starts again) and Clock
 *     did not go back, or went back by at most DA_TPM_CLOCK_NV_INTERVAL_MS
 *     with cur->unsafe set: the TPM lost power without TPM2_Shutdown and
 *     resumed from its last saved Clock.
 * Anything else is DA_ERR_VERIFY_COUNTER_ROLLBACK: resetCount went back
 * (TPM2_Clear, or another TPM state), restartCount or Clock went back within
 * one reset cycle, Clock went back while the TPM calls it safe, or further
 * than the TPM can lose. An equal tuple is no rollback. *firmware_changed
 * (when not NULL) is set to 1 when firmwareVersion differs, else 0. */
int da_tpm_clock_check(const struct da_tpm_clock *prev, const struct da_tpm_clock *cur,
                       int *firmware_changed);

/* A report's nonce is bound to the agent it was issued to and the PCR
 * selection it asked for: the binding is "devattest.report-nonce/v2", NUL,
 * the agent id's length (one byte) and bytes, the number of banks (one
 * byte), and per bank the hash algorithm (2 bytes) and the PCR bit mask
 * (4 bytes), big-endian. DA_ERR_INVALID_ARG for an empty or over-long id. */
int da_report_nonce_make(const uint8_t *key, size_t key_len, const char *agent_id,
                         const struct da_pcr_selection *selection, uint64_t now,
                         uint32_t lifetime_s, uint8_t out[DA_NONCE_LEN]);

/* A report's quote as it arrives (docs/ARCHITECTURE.md, Report step 4). */
struct da_report_quote {
    const char *agent_id; /* the agent whose report this claims to be */
    const uint8_t *nonce;
    size_t nonce_len;
    const uint8_t *evidence_digest; /* 32 bytes: SHA-256 of the canonical evidence */
    const uint8_t *attest;
    size_t attest_len;
    const uint8_t *sig;
    size_t sig_len;
    const uint8_t *pcr_values;
    size_t pcr_values_len;
};

/* The whole report check of docs/ARCHITECTURE.md, step 5, up to policy:
 * the nonce is one this server issued to report->agent_id for this
 * selection (DA_ERR_VERIFY_NONCE: also a nonce of another agent) and still valid
 * (DA_ERR_VERIFY_NONCE_EXPIRED); the quote verifies with expected qualifying
 * data SHA-256(nonce || evidence_digest) (every code of da_quote_verify);
 * and only then mark_used records the nonce (DA_ERR_VERIFY_NONCE_REPLAY when
 * it was used before). A clock the TPM does not call safe is accepted and
 * marked in *clock (unsafe): the caller orders it with da_tpm_clock_check.
 * Because mark_used runs last, a rejected report
 * consumes no nonce; a caller that stores the report in a transaction can
 * pass NULL and record the nonce in that transaction instead. */
int da_report_quote_verify(const uint8_t *nonce_key, size_t nonce_key_len, uint64_t now,
                           const struct da_tpm_public *ak, const struct da_pcr_selection *selection,
                           const struct da_report_quote *report, da_nonce_mark_used_fn mark_used,
                           void *mark_ctx, struct da_tpm_clock *clock);

#endif
