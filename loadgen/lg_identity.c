/* Software identities for simulated agents. The server verifies their
 * quotes with the code that verifies TPM quotes, so the structures are the
 * TPM's; the key's attributes say that no TPM holds it, and the server
 * records such agents as trust "software" (docs/loadgen.md). */
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/sha.h>
#include <tss2/tss2_mu.h>

#include "encoding.h"
#include "err.h"
#include "loadgen.h"

static int public_area(EVP_PKEY *key, TPM2B_PUBLIC *p)
{
    BIGNUM *bx = NULL, *by = NULL;
    TPMS_ECC_PARMS *ecc = &p->publicArea.parameters.eccDetail;
    int ok;

    memset(p, 0, sizeof(*p));
    ok = EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &bx) == 1 &&
         EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &by) == 1 &&
         BN_bn2binpad(bx, p->publicArea.unique.ecc.x.buffer, 32) == 32 &&
         BN_bn2binpad(by, p->publicArea.unique.ecc.y.buffer, 32) == 32;
    BN_free(bx);
    BN_free(by);
    if (!ok)
        return DA_ERR_CRYPTO;
    p->publicArea.type = TPM2_ALG_ECC;
    p->publicArea.nameAlg = TPM2_ALG_SHA256;
    /* no fixedTPM, fixedParent or sensitiveDataOrigin: not a TPM key */
    p->publicArea.objectAttributes =
        TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT;
    ecc->symmetric.algorithm = TPM2_ALG_NULL;
    ecc->scheme.scheme = TPM2_ALG_ECDSA;
    ecc->scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
    ecc->curveID = TPM2_ECC_NIST_P256;
    ecc->kdf.scheme = TPM2_ALG_NULL;
    p->publicArea.unique.ecc.x.size = 32;
    p->publicArea.unique.ecc.y.size = 32;
    return 0;
}

int lg_identity_new(struct lg_identity *id)
{
    TPM2B_PUBLIC p;
    unsigned char area[256];
    size_t area_len = 0, off = 0;
    int rc;

    memset(id, 0, sizeof(*id));
    id->key = EVP_EC_gen("P-256");
    if (id->key == NULL)
        return DA_ERR_CRYPTO;
    rc = public_area(id->key, &p);
    if (rc == 0 &&
        (Tss2_MU_TPMT_PUBLIC_Marshal(&p.publicArea, area, sizeof(area), &area_len) !=
             TSS2_RC_SUCCESS ||
         Tss2_MU_TPM2B_PUBLIC_Marshal(&p, id->pub, sizeof(id->pub), &off) != TSS2_RC_SUCCESS))
        rc = DA_ERR_INTERNAL;
    if (rc != 0) {
        lg_identity_free(id);
        return rc;
    }
    id->pub_len = off;
    id->name[0] = 0x00;
    id->name[1] = 0x0b; /* TPM_ALG_SHA256 */
    SHA256(area, area_len, id->name + 2);
    return 0;
}

void lg_identity_free(struct lg_identity *id)
{
    EVP_PKEY_free(id->key);
    id->key = NULL;
}

static int sign_attest(EVP_PKEY *key, const unsigned char *msg, size_t len, TPMT_SIGNATURE *out)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char der[80];
    const unsigned char *p = der;
    size_t dlen = sizeof(der);
    ECDSA_SIG *es = NULL;
    const BIGNUM *r, *s;
    int ok;

    ok = md != NULL && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
         EVP_DigestSign(md, der, &dlen, msg, len) == 1 &&
         (es = d2i_ECDSA_SIG(NULL, &p, (long)dlen)) != NULL;
    EVP_MD_CTX_free(md);
    if (!ok)
        return DA_ERR_CRYPTO;
    ECDSA_SIG_get0(es, &r, &s);
    memset(out, 0, sizeof(*out));
    out->sigAlg = TPM2_ALG_ECDSA;
    out->signature.ecdsa.hash = TPM2_ALG_SHA256;
    out->signature.ecdsa.signatureR.size = 32;
    out->signature.ecdsa.signatureS.size = 32;
    ok = BN_bn2binpad(r, out->signature.ecdsa.signatureR.buffer, 32) == 32 &&
         BN_bn2binpad(s, out->signature.ecdsa.signatureS.buffer, 32) == 32;
    ECDSA_SIG_free(es);
    return ok ? 0 : DA_ERR_CRYPTO;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int add_member(struct da_buf *out, const char *name, const void *p, size_t n, bool comma)
{
    int rc = da_buf_printf(out, "%s\"%s\":\"", comma ? "," : "", name);

    if (rc == 0)
        rc = da_base64_encode(p, n, DA_BASE64_STD, out);
    return rc != 0 ? rc : da_buf_append_byte(out, '"');
}

/* The TPMS_ATTEST of a quote: the PCR selection's banks, their values all
 * zero, so the PCR digest is SHA-256 of zeros of the selection's length. */
static int quote_attest(struct lg_identity *id, const struct da_pcr_selection *sel,
                        const unsigned char qd[32], size_t values_len, unsigned char *buf,
                        size_t size, size_t *len)
{
    static const unsigned char zeros[4 * 24 * 64];
    TPMS_ATTEST a;
    uint64_t now = wall_ms();
    size_t i;

    memset(&a, 0, sizeof(a));
    a.magic = TPM2_GENERATED_VALUE;
    a.type = TPM2_ST_ATTEST_QUOTE;
    a.qualifiedSigner.size = sizeof(id->name);
    memcpy(a.qualifiedSigner.name, id->name, sizeof(id->name));
    a.extraData.size = 32;
    memcpy(a.extraData.buffer, qd, 32);
    id->clock = now > id->clock ? now : id->clock + 1;
    a.clockInfo.clock = id->clock;
    a.clockInfo.safe = TPM2_YES;
    a.attested.quote.pcrSelect.count = (UINT32)sel->count;
    for (i = 0; i < sel->count; i++) {
        TPMS_PCR_SELECTION *s = &a.attested.quote.pcrSelect.pcrSelections[i];
        s->hash = sel->banks[i].hash;
        s->sizeofSelect = 3;
        s->pcrSelect[0] = (BYTE)(sel->banks[i].pcrs & 0xff);
        s->pcrSelect[1] = (BYTE)((sel->banks[i].pcrs >> 8) & 0xff);
        s->pcrSelect[2] = (BYTE)((sel->banks[i].pcrs >> 16) & 0xff);
    }
    if (values_len > sizeof(zeros))
        return DA_ERR_TOO_LARGE;
    a.attested.quote.pcrDigest.size = 32;
    SHA256(zeros, values_len, a.attested.quote.pcrDigest.buffer);
    *len = 0;
    return Tss2_MU_TPMS_ATTEST_Marshal(&a, buf, size, len) == TSS2_RC_SUCCESS ? 0 : DA_ERR_INTERNAL;
}

int lg_identity_quote(struct lg_identity *id, const struct da_pcr_selection *sel,
                      const unsigned char qd[32], struct da_buf *out)
{
    static const unsigned char zeros[4 * 24 * 64];
    unsigned char attest[1024], sig[256];
    size_t alen = 0, slen = 0, vlen = da_pcr_selection_values_len(sel);
    TPMT_SIGNATURE ts;
    int rc = quote_attest(id, sel, qd, vlen, attest, sizeof(attest), &alen);

    if (rc == 0)
        rc = sign_attest(id->key, attest, alen, &ts);
    if (rc == 0 && Tss2_MU_TPMT_SIGNATURE_Marshal(&ts, sig, sizeof(sig), &slen) != TSS2_RC_SUCCESS)
        rc = DA_ERR_INTERNAL;
    if (rc == 0)
        rc = add_member(out, "attest", attest, alen, false);
    if (rc == 0)
        rc = add_member(out, "signature", sig, slen, true);
    if (rc == 0)
        rc = add_member(out, "pcr_values", zeros, vlen, true);
    return rc;
}
