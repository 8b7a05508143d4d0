#include "tpm_soft.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/rsa.h>
#include <tss2/tss2_mu.h>

#include "tpm_public.h"

/* The verifier's own table; SHA-512 for an id it does not know, so a test can
 * still produce a signature the verifier must refuse. */
static const EVP_MD *soft_md(TPMI_ALG_HASH h)
{
    const EVP_MD *md = da_tpm_hash_md(h);

    return md != NULL ? md : EVP_sha512();
}

EVP_PKEY *soft_key(const char *kind)
{
    if (strcmp(kind, "RSA2048") == 0)
        return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    return EVP_PKEY_Q_keygen(NULL, NULL, "EC", kind);
}

static int bn_param(EVP_PKEY *k, const char *name, uint8_t *out, size_t len)
{
    BIGNUM *bn = NULL;
    int ok = EVP_PKEY_get_bn_param(k, name, &bn) == 1 && BN_bn2binpad(bn, out, (int)len) > 0;

    BN_free(bn);
    return ok ? 0 : -1;
}

int soft_tpm_public(EVP_PKEY *k, const struct soft_public *d, uint8_t *out, size_t cap, size_t *len)
{
    TPM2B_PUBLIC pub;
    TPMT_PUBLIC *a = &pub.publicArea;
    TPMT_SYM_DEF_OBJECT *sym;
    size_t off = 0;

    memset(&pub, 0, sizeof(pub));
    a->nameAlg = d->name_alg;
    a->objectAttributes = d->attrs;
    if (EVP_PKEY_is_a(k, "RSA")) {
        a->type = TPM2_ALG_RSA;
        a->parameters.rsaDetail.keyBits = (TPMI_RSA_KEY_BITS)EVP_PKEY_get_bits(k);
        a->parameters.rsaDetail.exponent = 0;
        a->parameters.rsaDetail.scheme.scheme = d->scheme;
        a->parameters.rsaDetail.scheme.details.anySig.hashAlg = d->scheme_hash;
        a->unique.rsa.size = (UINT16)(EVP_PKEY_get_bits(k) / 8);
        if (bn_param(k, OSSL_PKEY_PARAM_RSA_N, a->unique.rsa.buffer, a->unique.rsa.size) != 0)
            return -1;
        sym = &a->parameters.rsaDetail.symmetric;
    } else {
        char group[16];
        size_t field;

        if (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                           NULL) != 1)
            return -1;
        a->type = TPM2_ALG_ECC;
        field = strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0 ? 32 : 48;
        a->parameters.eccDetail.curveID = field == 32 ? TPM2_ECC_NIST_P256 : TPM2_ECC_NIST_P384;
        a->parameters.eccDetail.scheme.scheme = d->scheme;
        a->parameters.eccDetail.scheme.details.anySig.hashAlg = d->scheme_hash;
        a->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
        a->unique.ecc.x.size = a->unique.ecc.y.size = (UINT16)field;
        if (bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, a->unique.ecc.x.buffer, field) != 0 ||
            bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, a->unique.ecc.y.buffer, field) != 0)
            return -1;
        sym = &a->parameters.eccDetail.symmetric;
    }
    if (d->sym_bits == 0) {
        sym->algorithm = TPM2_ALG_NULL;
    } else {
        sym->algorithm = TPM2_ALG_AES;
        sym->keyBits.aes = d->sym_bits;
        sym->mode.aes = TPM2_ALG_CFB;
    }
    if (Tss2_MU_TPM2B_PUBLIC_Marshal(&pub, out, cap, &off) != TSS2_RC_SUCCESS)
        return -1;
    *len = off;
    return 0;
}

int soft_sign(EVP_PKEY *k, TPMI_ALG_SIG_SCHEME scheme, TPMI_ALG_HASH hash, const uint8_t *msg,
              size_t msg_len, uint8_t *out, size_t cap, size_t *len)
{
    uint8_t digest[EVP_MAX_MD_SIZE], sig[1024];
    unsigned int dlen = 0;
    size_t sig_len = sizeof(sig), off = 0;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(k, NULL);
    TPMT_SIGNATURE s;
    int ok;

    memset(&s, 0, sizeof(s));
    ok = c != NULL && EVP_Digest(msg, msg_len, digest, &dlen, soft_md(hash), NULL) == 1 &&
         EVP_PKEY_sign_init(c) == 1 && EVP_PKEY_CTX_set_signature_md(c, soft_md(hash)) == 1;
    if (ok && scheme == TPM2_ALG_RSAPSS)
        ok = EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(c, RSA_PSS_SALTLEN_DIGEST) == 1;
    ok = ok && EVP_PKEY_sign(c, sig, &sig_len, digest, dlen) == 1;
    EVP_PKEY_CTX_free(c);
    if (!ok)
        return -1;
    s.sigAlg = scheme;
    s.signature.any.hashAlg = hash;
    if (scheme == TPM2_ALG_ECDSA) {
        const unsigned char *p = sig;
        ECDSA_SIG *e = d2i_ECDSA_SIG(NULL, &p, (long)sig_len);
        const BIGNUM *r, *sv;
        size_t field = (size_t)(EVP_PKEY_get_bits(k) + 7) / 8;

        if (e == NULL)
            return -1;
        ECDSA_SIG_get0(e, &r, &sv);
        s.signature.ecdsa.signatureR.size = s.signature.ecdsa.signatureS.size = (UINT16)field;
        BN_bn2binpad(r, s.signature.ecdsa.signatureR.buffer, (int)field);
        BN_bn2binpad(sv, s.signature.ecdsa.signatureS.buffer, (int)field);
        ECDSA_SIG_free(e);
    } else {
        s.signature.rsassa.sig.size = (UINT16)sig_len;
        memcpy(s.signature.rsassa.sig.buffer, sig, sig_len);
    }
    if (Tss2_MU_TPMT_SIGNATURE_Marshal(&s, out, cap, &off) != TSS2_RC_SUCCESS)
        return -1;
    *len = off;
    return 0;
}

int soft_attest(const TPMS_ATTEST *a, uint8_t *out, size_t cap, size_t *len)
{
    size_t off = 0;

    if (Tss2_MU_TPMS_ATTEST_Marshal(a, out, cap, &off) != TSS2_RC_SUCCESS)
        return -1;
    *len = off;
    return 0;
}

void soft_quote_info(TPMS_ATTEST *a, const uint8_t *qd, size_t qd_len, TPMI_ALG_HASH bank,
                     uint32_t pcr_mask, const uint8_t *values, size_t values_len,
                     TPMI_ALG_HASH hash)
{
    unsigned int dlen = 0;
    TPMS_PCR_SELECTION *s;

    memset(a, 0, sizeof(*a));
    a->magic = TPM2_GENERATED_VALUE;
    a->type = TPM2_ST_ATTEST_QUOTE;
    a->qualifiedSigner.size = 34;
    memset(a->qualifiedSigner.name, 0x11, 34);
    a->qualifiedSigner.name[0] = 0x00;
    a->qualifiedSigner.name[1] = 0x0b;
    a->extraData.size = (UINT16)qd_len;
    memcpy(a->extraData.buffer, qd, qd_len);
    a->clockInfo.clock = 123456;
    a->clockInfo.resetCount = 3;
    a->clockInfo.restartCount = 1;
    a->clockInfo.safe = TPM2_YES;
    a->firmwareVersion = 0x2019102300163636ull;
    a->attested.quote.pcrSelect.count = 1;
    s = &a->attested.quote.pcrSelect.pcrSelections[0];
    s->hash = bank;
    s->sizeofSelect = 3;
    s->pcrSelect[0] = (BYTE)pcr_mask;
    s->pcrSelect[1] = (BYTE)(pcr_mask >> 8);
    s->pcrSelect[2] = (BYTE)(pcr_mask >> 16);
    EVP_Digest(values, values_len, a->attested.quote.pcrDigest.buffer, &dlen, soft_md(hash), NULL);
    a->attested.quote.pcrDigest.size = (UINT16)dlen;
}
