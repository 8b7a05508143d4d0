/* PCR reads and quotes of the ESYS backend. */
#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_rc.h>

#include "caps.h"
#include "err.h"
#include "log.h"
#include "tpm_esys.h"

#define TPM_PCR_COUNT 24

/* --- PCRs and quotes ---------------------------------------------------- */

struct tpm_pcr_values {
    TPML_PCR_SELECTION sel; /* what is read, normalized to PCRs 0-23 */
    uint32_t counter;
    TPM2B_DIGEST value[AGENT_TPM_MAX_BANKS][TPM_PCR_COUNT];
};

static int tpm_pcr_normalize(const TPML_PCR_SELECTION *in, TPML_PCR_SELECTION *out)
{
    uint32_t i, j;

    *out = *in;
    for (i = 0; i < in->count; i++) {
        TPMS_PCR_SELECTION *b = &out->pcrSelections[i];
        for (j = 3; j < b->sizeofSelect; j++) {
            if (b->pcrSelect[j] != 0) {
                da_error_f("PCR selection names PCRs above 23");
                return DA_ERR_INVALID_ARG;
            }
        }
        for (j = b->sizeofSelect; j < 3; j++)
            b->pcrSelect[j] = 0;
        b->sizeofSelect = 3;
    }
    return 0;
}

/* Store one PCR_Read answer; clears what was read from *left. */
static int tpm_pcr_store(struct tpm_pcr_values *v, TPML_PCR_SELECTION *left,
                         const TPML_PCR_SELECTION *got, const TPML_DIGEST *digests)
{
    uint32_t i, b, k = 0;
    unsigned pcr;

    for (i = 0; i < got->count; i++) {
        const TPMS_PCR_SELECTION *g = &got->pcrSelections[i];
        for (b = 0; b < v->sel.count && v->sel.pcrSelections[b].hash != g->hash; b++)
            ;
        if (b == v->sel.count)
            return DA_ERR_TPM;
        for (pcr = 0; pcr < TPM_PCR_COUNT && pcr / 8 < g->sizeofSelect; pcr++) {
            if ((g->pcrSelect[pcr / 8] & (1u << (pcr % 8))) == 0)
                continue;
            if (k >= digests->count || digests->digests[k].size != da_tpm_hash_size(g->hash))
                return DA_ERR_TPM;
            v->value[b][pcr] = digests->digests[k++];
            left->pcrSelections[b].pcrSelect[pcr / 8] &= (BYTE) ~(1u << (pcr % 8));
        }
    }
    return k == digests->count ? 0 : DA_ERR_TPM;
}

static int tpm_pcr_left(const TPML_PCR_SELECTION *s)
{
    uint32_t i;

    for (i = 0; i < s->count; i++) {
        if (s->pcrSelections[i].pcrSelect[0] | s->pcrSelections[i].pcrSelect[1] |
            s->pcrSelections[i].pcrSelect[2])
            return 1;
    }
    return 0;
}

/* Read all selected PCRs; a TPM answers at most eight per command. When the
 * update counter moves between the commands: DA_ERR_TPM_PCR_CHANGED. */
static int tpm_pcr_read(struct tpm_esys *e, struct tpm_pcr_values *v)
{
    TPML_PCR_SELECTION left = v->sel, *got = NULL;
    TPML_DIGEST *digests = NULL;
    uint32_t counter;
    int first = 1, rc = 0;
    TSS2_RC trc;

    while (rc == 0 && tpm_pcr_left(&left)) {
        trc = Esys_PCR_Read(e->ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &left, &counter, &got,
                            &digests);
        if (trc != TSS2_RC_SUCCESS)
            return TPM_FAIL("Esys_PCR_Read", trc, DA_ERR_TPM);
        if (digests->count == 0) {
            da_error_f("the TPM returned no PCR values: a selected bank is not active");
            rc = DA_ERR_INVALID_ARG;
        } else if (!first && counter != v->counter) {
            rc = DA_ERR_TPM_PCR_CHANGED;
        } else {
            v->counter = counter;
            first = 0;
            rc = tpm_pcr_store(v, &left, got, digests);
            if (rc != 0)
                da_error_f("PCR_Read answer does not match its selection");
        }
        Esys_Free(got);
        Esys_Free(digests);
        got = NULL;
        digests = NULL;
    }
    return rc;
}

static int tpm_pcr_concat(const struct tpm_pcr_values *v, struct da_buf *out)
{
    uint32_t b;
    unsigned pcr;

    int rc = 0;

    /* Bounded by the table the values were read into. */
    da_buf_init(out, sizeof(v->value));
    for (b = 0; rc == 0 && b < v->sel.count; b++) {
        for (pcr = 0; rc == 0 && pcr < TPM_PCR_COUNT; pcr++) {
            const TPM2B_DIGEST *d = &v->value[b][pcr];
            if ((v->sel.pcrSelections[b].pcrSelect[pcr / 8] & (1u << (pcr % 8))) == 0)
                continue;
            rc = da_buf_append(out, d->buffer, d->size);
        }
    }
    if (rc != 0)
        da_buf_free(out);
    return rc;
}

/* One PCR read and quote. DA_ERR_TPM_PCR_CHANGED when the quoted PCR digest
 * is not the digest of the values read. */
static int tpm_quote_once(struct tpm_esys *e, struct tpm_pcr_values *v, const TPM2B_DATA *qual,
                          struct agent_tpm_quote *q)
{
    TPMT_SIG_SCHEME scheme = {.scheme = TPM2_ALG_NULL};
    TPM2B_ATTEST *quoted = NULL;
    TPMT_SIGNATURE *sig = NULL;
    TPMS_ATTEST attest;
    TPM2B_DIGEST digest;
    ESYS_TR auth, tmp;
    TSS2_RC trc;
    int rc = tpm_pcr_read(e, v);

    if (rc == 0)
        rc = tpm_pcr_concat(v, &q->pcr_values);
    if (rc != 0)
        return rc;
    /* The HMAC session salted with the EK authorizes the AK and checks the
     * integrity of the TPM's answer. */
    rc = agent_esys_auth(e, AGENT_ESYS_SESSION_PLAIN, &auth, &tmp);
    if (rc != 0)
        return rc;
    trc = Esys_Quote(e->ctx, e->ak, auth, ESYS_TR_NONE, ESYS_TR_NONE, qual, &scheme, &v->sel,
                     &quoted, &sig);
    agent_esys_flush(e, &tmp);
    if (trc != TSS2_RC_SUCCESS)
        return TPM_FAIL("Esys_Quote", trc, DA_ERR_TPM);
    rc = agent_unmu_attest(quoted->attestationData, quoted->size, &attest);
    if (rc != 0 || attest.magic != TPM2_GENERATED_VALUE || attest.type != TPM2_ST_ATTEST_QUOTE) {
        da_error_f("the TPM's quote is not a TPMS_ATTEST of type quote");
        rc = DA_ERR_TPM;
        goto out;
    }
    rc = agent_tpm_digest(e->ak_pub.publicArea.parameters.eccDetail.scheme.details.ecdsa.hashAlg,
                          da_buf_data(&q->pcr_values), da_buf_len(&q->pcr_values), &digest);
    if (rc != 0)
        goto out;
    if (digest.size != attest.attested.quote.pcrDigest.size ||
        memcmp(digest.buffer, attest.attested.quote.pcrDigest.buffer, digest.size) != 0) {
        rc = DA_ERR_TPM_PCR_CHANGED;
        goto out;
    }
    rc = agent_esys_attest_out(quoted, sig, &q->attest, &q->signature);
    if (rc == 0)
        rc = agent_mu_pcr_selection(&attest.attested.quote.pcrSelect, &q->pcr_selection);
out:
    Esys_Free(quoted);
    Esys_Free(sig);
    return rc;
}

int agent_esys_quote(void *impl, const TPML_PCR_SELECTION *sel, const TPM2B_DATA *qual,
                     struct agent_tpm_quote *q)
{
    struct tpm_esys *e = impl;
    struct tpm_pcr_values *v;
    int rc = agent_esys_keys_ready(e, AGENT_IDENTITY_LOAD);

    if (rc != 0)
        return rc;
    v = calloc(1, sizeof(*v));
    if (v == NULL)
        return DA_ERR_NOMEM;
    rc = tpm_pcr_normalize(sel, &v->sel);
    for (q->attempts = 1; rc == 0; q->attempts++) {
        rc = tpm_quote_once(e, v, qual, q);
        if (rc != DA_ERR_TPM_PCR_CHANGED)
            break;
        da_buf_free(&q->pcr_values);
        da_buf_free(&q->attest);
        da_buf_free(&q->signature);
        if (q->attempts >= AGENT_TPM_QUOTE_ATTEMPTS) {
            da_error_f("PCRs changed during each of %u quote attempts", q->attempts);
            break;
        }
        da_info_f("PCRs changed between read and quote; quoting again");
        rc = 0;
    }
    free(v);
    return rc;
}
