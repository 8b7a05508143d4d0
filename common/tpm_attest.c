#include "tpm_attest.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <tss2/tss2_mu.h>

#include "caps.h"
#include "err.h"

static uint32_t load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int check_selection(const TPML_PCR_SELECTION *sel)
{
    uint32_t i;

    if (sel->count > TPM2_NUM_PCR_BANKS)
        return DA_ERR_VERIFY_ATTEST_FORMAT;
    for (i = 0; i < sel->count; i++) {
        if (sel->pcrSelections[i].sizeofSelect > TPM2_PCR_SELECT_MAX)
            return DA_ERR_VERIFY_ATTEST_FORMAT;
    }
    return 0;
}

static int check_name(const TPM2B_NAME *n)
{
    return n->size <= sizeof(n->name) ? 0 : DA_ERR_VERIFY_ATTEST_FORMAT;
}

/* Bounds the unmarshaller may not enforce on its own. */
static int check_fields(const TPMS_ATTEST *a)
{
    int rc;

    if (a->extraData.size > sizeof(a->extraData.buffer) ||
        (a->clockInfo.safe != TPM2_YES && a->clockInfo.safe != TPM2_NO))
        return DA_ERR_VERIFY_ATTEST_FORMAT;
    if ((rc = check_name(&a->qualifiedSigner)) != 0)
        return rc;
    if (a->type == TPM2_ST_ATTEST_QUOTE) {
        if (a->attested.quote.pcrDigest.size > sizeof(a->attested.quote.pcrDigest.buffer))
            return DA_ERR_VERIFY_ATTEST_FORMAT;
        return check_selection(&a->attested.quote.pcrSelect);
    }
    if ((rc = check_name(&a->attested.certify.name)) != 0)
        return rc;
    return check_name(&a->attested.certify.qualifiedName);
}

int da_tpm_attest_parse(const uint8_t *attest, size_t len, TPM2_ST expected_type, TPMS_ATTEST *out)
{
    size_t off = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    if (expected_type != TPM2_ST_ATTEST_QUOTE && expected_type != TPM2_ST_ATTEST_CERTIFY)
        return DA_ERR_INVALID_ARG;
    if (attest == NULL && len > 0)
        return DA_ERR_INVALID_ARG;
    if (len > DA_MAX_TPM_STRUCT)
        return DA_ERR_TOO_LARGE;
    if (len < 6)
        return DA_ERR_VERIFY_ATTEST_FORMAT;
    if (load_be32(attest) != TPM2_GENERATED_VALUE)
        return DA_ERR_VERIFY_ATTEST_MAGIC;
    if ((TPM2_ST)(attest[4] << 8 | attest[5]) != expected_type)
        return DA_ERR_VERIFY_ATTEST_TYPE;
    if (Tss2_MU_TPMS_ATTEST_Unmarshal(attest, len, &off, out) != TSS2_RC_SUCCESS) {
        memset(out, 0, sizeof(*out));
        return DA_ERR_VERIFY_ATTEST_FORMAT;
    }
    if (off != len)
        rc = DA_ERR_TRAILING_DATA;
    else
        rc = check_fields(out);
    if (rc != 0)
        memset(out, 0, sizeof(*out));
    return rc;
}

int da_tpm_signature_parse(const uint8_t *sig, size_t len, TPMT_SIGNATURE *out)
{
    size_t off = 0;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    if (sig == NULL && len > 0)
        return DA_ERR_INVALID_ARG;
    if (len > DA_MAX_TPM_STRUCT)
        return DA_ERR_TOO_LARGE;
    if (len < 2)
        return DA_ERR_VERIFY_SIGNATURE;
    switch ((TPMI_ALG_SIG_SCHEME)(sig[0] << 8 | sig[1])) {
    case TPM2_ALG_ECDSA:
    case TPM2_ALG_RSASSA:
    case TPM2_ALG_RSAPSS:
        break;
    default:
        return DA_ERR_VERIFY_SIG_SCHEME;
    }
    if (Tss2_MU_TPMT_SIGNATURE_Unmarshal(sig, len, &off, out) != TSS2_RC_SUCCESS)
        rc = DA_ERR_VERIFY_SIGNATURE;
    else if (off != len)
        rc = DA_ERR_TRAILING_DATA;
    else if (out->sigAlg == TPM2_ALG_ECDSA && (out->signature.ecdsa.signatureR.size == 0 ||
                                               out->signature.ecdsa.signatureS.size == 0))
        rc = DA_ERR_VERIFY_SIGNATURE;
    else if (out->sigAlg != TPM2_ALG_ECDSA && out->signature.rsassa.sig.size == 0)
        rc = DA_ERR_VERIFY_SIGNATURE;
    if (rc != 0)
        memset(out, 0, sizeof(*out));
    return rc;
}

int da_tpm_ecdsa_to_der(const TPMS_SIGNATURE_ECC *sig, uint8_t *der, size_t cap, size_t *der_len)
{
    ECDSA_SIG *s = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig->signatureR.buffer, sig->signatureR.size, NULL);
    BIGNUM *sv = BN_bin2bn(sig->signatureS.buffer, sig->signatureS.size, NULL);
    unsigned char *p = der;
    int n, rc = DA_ERR_NOMEM;

    *der_len = 0;
    if (s == NULL || r == NULL || sv == NULL || !ECDSA_SIG_set0(s, r, sv))
        goto out;
    r = sv = NULL; /* transferred */
    n = i2d_ECDSA_SIG(s, NULL);
    if (n <= 0 || (size_t)n > cap)
        goto out;
    n = i2d_ECDSA_SIG(s, &p);
    *der_len = (size_t)n;
    rc = 0;
out:
    ECDSA_SIG_free(s);
    BN_free(r);
    BN_free(sv);
    return rc;
}
