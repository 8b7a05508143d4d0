#include "soft_ak.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/bn.h>
#include <openssl/sha.h>
#include <tss2/tss2_mu.h>

static int marshal_public(struct da_soft_ak *ak)
{
    TPM2B_PUBLIC p;
    unsigned char x[32], y[32], tp[512];
    BIGNUM *bx = NULL, *by = NULL;
    size_t off = 0, tplen = 0;
    int ok;

    ok = EVP_PKEY_get_bn_param(ak->key, OSSL_PKEY_PARAM_EC_PUB_X, &bx) == 1 &&
         EVP_PKEY_get_bn_param(ak->key, OSSL_PKEY_PARAM_EC_PUB_Y, &by) == 1 &&
         BN_bn2binpad(bx, x, 32) == 32 && BN_bn2binpad(by, y, 32) == 32;
    BN_free(bx);
    BN_free(by);
    if (!ok)
        return -1;
    memset(&p, 0, sizeof(p));
    p.publicArea.type = TPM2_ALG_ECC;
    p.publicArea.nameAlg = TPM2_ALG_SHA256;
    p.publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                    TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                                    TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT;
    p.publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
    p.publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
    p.publicArea.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
    p.publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
    p.publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
    p.publicArea.unique.ecc.x.size = 32;
    memcpy(p.publicArea.unique.ecc.x.buffer, x, 32);
    p.publicArea.unique.ecc.y.size = 32;
    memcpy(p.publicArea.unique.ecc.y.buffer, y, 32);
    if (Tss2_MU_TPMT_PUBLIC_Marshal(&p.publicArea, tp, sizeof(tp), &tplen) != TSS2_RC_SUCCESS)
        return -1;
    if (Tss2_MU_TPM2B_PUBLIC_Marshal(&p, ak->pub, sizeof(ak->pub), &off) != TSS2_RC_SUCCESS)
        return -1;
    ak->pub_len = off;
    ak->name[0] = 0x00;
    ak->name[1] = 0x0b;
    SHA256(tp, tplen, ak->name + 2);
    return 0;
}

int da_soft_ak_new(struct da_soft_ak *ak)
{
    memset(ak, 0, sizeof(*ak));
    ak->key = EVP_EC_gen("P-256");
    ak->clock = 1000000;
    if (ak->key == NULL || marshal_public(ak) != 0) {
        da_soft_ak_free(ak);
        return -1;
    }
    return 0;
}

void da_soft_ak_free(struct da_soft_ak *ak)
{
    EVP_PKEY_free(ak->key);
    ak->key = NULL;
}

static int sign(EVP_PKEY *key, const unsigned char *msg, size_t len, TPMT_SIGNATURE *out)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char der[128];
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
        return -1;
    ECDSA_SIG_get0(es, &r, &s);
    memset(out, 0, sizeof(*out));
    out->sigAlg = TPM2_ALG_ECDSA;
    out->signature.ecdsa.hash = TPM2_ALG_SHA256;
    out->signature.ecdsa.signatureR.size = 32;
    out->signature.ecdsa.signatureS.size = 32;
    ok = BN_bn2binpad(r, out->signature.ecdsa.signatureR.buffer, 32) == 32 &&
         BN_bn2binpad(s, out->signature.ecdsa.signatureS.buffer, 32) == 32;
    ECDSA_SIG_free(es);
    return ok ? 0 : -1;
}

/* The quote over pcr_values as they are. */
static int quote_values(struct da_soft_ak *ak, const unsigned char qd[32], unsigned char *attest,
                        size_t *attest_len, unsigned char *sig, size_t *sig_len,
                        const unsigned char pcr_values[256])
{
    TPMS_ATTEST a;
    TPMT_SIGNATURE ts;
    size_t off = 0;

    memset(&a, 0, sizeof(a));
    a.magic = TPM2_GENERATED_VALUE;
    a.type = TPM2_ST_ATTEST_QUOTE;
    a.qualifiedSigner.size = sizeof(ak->name);
    memcpy(a.qualifiedSigner.name, ak->name, sizeof(ak->name));
    a.extraData.size = 32;
    memcpy(a.extraData.buffer, qd, 32);
    a.clockInfo.clock = ak->clock++;
    a.clockInfo.resetCount = 1;
    a.clockInfo.restartCount = 0;
    a.clockInfo.safe = TPM2_YES;
    a.firmwareVersion = 0x2024;
    a.attested.quote.pcrSelect.count = 1;
    a.attested.quote.pcrSelect.pcrSelections[0].hash = TPM2_ALG_SHA256;
    a.attested.quote.pcrSelect.pcrSelections[0].sizeofSelect = 3;
    a.attested.quote.pcrSelect.pcrSelections[0].pcrSelect[0] = 0xff;
    a.attested.quote.pcrDigest.size = 32;
    SHA256(pcr_values, 256, a.attested.quote.pcrDigest.buffer);
    if (Tss2_MU_TPMS_ATTEST_Marshal(&a, attest, 1024, &off) != TSS2_RC_SUCCESS)
        return -1;
    *attest_len = off;
    if (sign(ak->key, attest, off, &ts) != 0)
        return -1;
    off = 0;
    if (Tss2_MU_TPMT_SIGNATURE_Marshal(&ts, sig, 1024, &off) != TSS2_RC_SUCCESS)
        return -1;
    *sig_len = off;
    return 0;
}

int da_soft_ak_quote(struct da_soft_ak *ak, const unsigned char qd[32], unsigned char *attest,
                     size_t *attest_len, unsigned char *sig, size_t *sig_len,
                     unsigned char pcr_values[256])
{
    memset(pcr_values, 0, 256);
    return quote_values(ak, qd, attest, attest_len, sig, sig_len, pcr_values);
}

#include <stdio.h>
#include <stdlib.h>

#include "buf.h"
#include "encoding.h"
#include "jcs.h"
#include "quote.h"
#include "picky.h"

static int add_b64(cJSON *o, const char *key, const void *p, size_t n)
{
    struct da_buf b;
    int rc;

    da_buf_init(&b, 4 * n + 16);
    rc = da_base64_encode(p, n, DA_BASE64_STD, &b);
    if (rc == 0 && cJSON_AddStringToObject(o, key, da_buf_str(&b)) == NULL)
        rc = -1;
    da_buf_free(&b);
    return rc;
}

int da_soft_ak_report_log(struct da_soft_ak *ak, const unsigned char *nonce, size_t nonce_len,
                          const cJSON *evidence, const unsigned char pcr_values[256],
                          const unsigned char *log, size_t log_len, char **body)
{
    unsigned char d[32], qd[32], attest[1024], sig[1024], pcrs[256];
    size_t alen = 0, slen = 0;
    cJSON *o = NULL, *q;
    int rc = -1;

    *body = NULL;
    memset(pcrs, 0, sizeof(pcrs));
    if (pcr_values != NULL)
        memcpy(pcrs, pcr_values, sizeof(pcrs));
    if (da_jcs_digest_sha256(evidence, d) != 0 ||
        da_quote_qualifying_data(nonce, nonce_len, d, qd) != 0 ||
        quote_values(ak, qd, attest, &alen, sig, &slen, pcrs) != 0)
        return -1;
    o = cJSON_CreateObject();
    if (o == NULL || add_b64(o, "nonce", nonce, nonce_len) != 0 ||
        !cJSON_AddItemReferenceToObject(o, "evidence", (cJSON *)DA_UNCONST(evidence)))
        goto out;
    if (log != NULL && log_len > 0 && add_b64(o, "event_log", log, log_len) != 0)
        goto out;
    q = cJSON_AddObjectToObject(o, "quote");
    if (q == NULL || add_b64(q, "attest", attest, alen) != 0 ||
        add_b64(q, "signature", sig, slen) != 0 || add_b64(q, "pcr_values", pcrs, 256) != 0)
        goto out;
    *body = cJSON_PrintUnformatted(o);
    rc = *body != NULL ? 0 : -1;
out:
    cJSON_Delete(o);
    return rc;
}

int da_soft_ak_report(struct da_soft_ak *ak, const unsigned char *nonce, size_t nonce_len,
                      const cJSON *evidence, char **body)
{
    return da_soft_ak_report_log(ak, nonce, nonce_len, evidence, NULL, NULL, 0, body);
}

cJSON *da_soft_ak_evidence(unsigned seq, int encrypted)
{
    cJSON *e = cJSON_CreateObject(), *host, *disk, *vols, *v;
    char name[32];

    snprintf(name, sizeof(name), "builder-%u", seq);
    cJSON_AddStringToObject(e, "schema", "devattest.evidence/v1");
    cJSON_AddStringToObject(e, "collected_at", "2026-11-28T12:00:00Z");
    host = cJSON_AddObjectToObject(e, "host");
    cJSON_AddStringToObject(host, "hostname", name);
    cJSON_AddNumberToObject(host, "uptime_s", seq);
    cJSON_AddStringToObject(host, "kernel_release", "6.1.0-13-amd64");
    disk = cJSON_AddObjectToObject(e, "disk");
    vols = cJSON_AddArrayToObject(disk, "volumes");
    v = cJSON_CreateObject();
    cJSON_AddStringToObject(v, "mountpoint", "/");
    cJSON_AddStringToObject(v, "fstype", "ext4");
    cJSON_AddStringToObject(v, "scheme", encrypted ? "luks2" : "none");
    cJSON_AddBoolToObject(v, "encrypted", encrypted);
    cJSON_AddItemToArray(vols, v);
    return e;
}
