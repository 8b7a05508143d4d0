/* TPM structures as bytes and as OpenSSL keys, shared by both key backends. */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <tss2/tss2_mu.h>

#include "caps.h"
#include "err.h"
#include "log.h"
#include "tpm_internal.h"
#include "picky.h"

int agent_buf_copy(struct da_buf *out, size_t cap, const void *data, size_t len)
{
    da_buf_init(out, cap);
    if (len == 0)
        return 0;
    return da_buf_append(out, data, len);
}

/* Each marshal helper writes into a stack buffer of the largest size the
 * structure can take, then copies out exactly what was written. */
#define AGENT_MU_TO_BYTES(type, src, out)                                                          \
    do {                                                                                           \
        unsigned char buf_[sizeof(type) + 16];                                                     \
        size_t off_ = 0;                                                                           \
        TSS2_RC rc_ = Tss2_MU_##type##_Marshal((src), buf_, sizeof(buf_), &off_);                  \
        if (rc_ != TSS2_RC_SUCCESS) {                                                              \
            da_error_f("cannot marshal " #type ": 0x%x", rc_);                                     \
            return DA_ERR_INTERNAL;                                                                \
        }                                                                                          \
        return agent_buf_copy((out), DA_MAX_TPM_STRUCT, buf_, off_);                               \
    } while (0)

int agent_mu_public(const TPM2B_PUBLIC *pub, struct da_buf *out)
{
    AGENT_MU_TO_BYTES(TPM2B_PUBLIC, pub, out);
}

int agent_identity_put_keys(struct agent_tpm_identity *id, const TPM2B_PUBLIC *ak_pub,
                            const TPM2B_NAME *ak_name, const TPM2B_PUBLIC *sk_pub,
                            const TPM2B_NAME *sk_name)
{
    int rc = agent_mu_public(ak_pub, &id->ak_public);

    if (rc == 0)
        rc = agent_buf_copy(&id->ak_name, DA_MAX_TPM_STRUCT, ak_name->name, ak_name->size);
    if (rc == 0)
        rc = agent_mu_public(sk_pub, &id->sk_public);
    if (rc == 0)
        rc = agent_buf_copy(&id->sk_name, DA_MAX_TPM_STRUCT, sk_name->name, sk_name->size);
    return rc;
}

int agent_mu_attest(const TPMS_ATTEST *attest, struct da_buf *out)
{
    AGENT_MU_TO_BYTES(TPMS_ATTEST, attest, out);
}

int agent_mu_signature(const TPMT_SIGNATURE *sig, struct da_buf *out)
{
    AGENT_MU_TO_BYTES(TPMT_SIGNATURE, sig, out);
}

int agent_mu_pcr_selection(const TPML_PCR_SELECTION *sel, struct da_buf *out)
{
    AGENT_MU_TO_BYTES(TPML_PCR_SELECTION, sel, out);
}

int agent_unmu_public(const unsigned char *data, size_t len, TPM2B_PUBLIC *out)
{
    size_t off = 0;

    memset(out, 0, sizeof(*out));
    if (data == NULL || len == 0 || len > DA_MAX_TPM_STRUCT)
        return DA_ERR_INVALID_ARG;
    if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(data, len, &off, out) != TSS2_RC_SUCCESS)
        return DA_ERR_INVALID_ARG;
    return off == len ? 0 : DA_ERR_TRAILING_DATA;
}

int agent_unmu_attest(const unsigned char *data, size_t len, TPMS_ATTEST *out)
{
    size_t off = 0;

    memset(out, 0, sizeof(*out));
    if (data == NULL || len == 0 || len > DA_MAX_TPM_STRUCT)
        return DA_ERR_INVALID_ARG;
    if (Tss2_MU_TPMS_ATTEST_Unmarshal(data, len, &off, out) != TSS2_RC_SUCCESS)
        return DA_ERR_INVALID_ARG;
    return off == len ? 0 : DA_ERR_TRAILING_DATA;
}

int agent_tpm_digest(uint16_t alg, const unsigned char *data, size_t len, TPM2B_DIGEST *out)
{
    const EVP_MD *md = da_tpm_hash_md(alg);
    unsigned int n = 0;

    memset(out, 0, sizeof(*out));
    if (md == NULL)
        return DA_ERR_UNSUPPORTED;
    if (EVP_Digest(data, len, out->buffer, &n, md, NULL) != 1)
        return DA_ERR_CRYPTO;
    out->size = (UINT16)n;
    return 0;
}

int agent_tpm_public_name(const TPM2B_PUBLIC *pub, TPM2B_NAME *name)
{
    unsigned char buf[sizeof(TPMT_PUBLIC)];
    size_t off = 0, len = 0;
    int rc;

    _Static_assert(sizeof(name->name) >= DA_TPM_NAME_MAX, "TPM2B_NAME holds every name");
    memset(name, 0, sizeof(*name));
    if (Tss2_MU_TPMT_PUBLIC_Marshal(&pub->publicArea, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS)
        return DA_ERR_INVALID_ARG;
    rc = da_tpm_name_compute(pub->publicArea.nameAlg, buf, off, name->name, &len);
    if (rc != 0) {
        memset(name, 0, sizeof(*name));
        return rc;
    }
    name->size = (UINT16)len;
    return 0;
}

static int agent_pkey_from_params(const char *type, OSSL_PARAM *params, EVP_PKEY **out)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY_CTX *check = NULL;
    EVP_PKEY *pkey = NULL;
    int rc = DA_ERR_CRYPTO;

    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        goto out;
    check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (check == NULL || EVP_PKEY_public_check(check) != 1) {
        rc = DA_ERR_INVALID_ARG;
        goto out;
    }
    *out = pkey;
    pkey = NULL; /* transferred */
    rc = 0;
out:
    EVP_PKEY_CTX_free(check);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    return rc;
}

static int agent_rsa_to_pkey(const TPMT_PUBLIC *p, EVP_PKEY **out)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    BIGNUM *n = NULL, *e = NULL;
    uint32_t exponent = p->parameters.rsaDetail.exponent;
    int rc = DA_ERR_CRYPTO;

    if (p->unique.rsa.size == 0 || p->unique.rsa.size > sizeof(p->unique.rsa.buffer))
        return DA_ERR_INVALID_ARG;
    n = BN_bin2bn(p->unique.rsa.buffer, p->unique.rsa.size, NULL);
    e = BN_new();
    if (bld == NULL || n == NULL || e == NULL || BN_set_word(e, exponent ? exponent : 65537) != 1)
        goto out;
    if (OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1)
        goto out;
    params = OSSL_PARAM_BLD_to_param(bld);
    if (params == NULL)
        goto out;
    rc = agent_pkey_from_params("RSA", params, out);
out:
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    return rc;
}

static const char *agent_ecc_group(TPMI_ECC_CURVE curve, size_t *coord)
{
    switch (curve) {
    case TPM2_ECC_NIST_P256:
        *coord = 32;
        return "prime256v1";
    case TPM2_ECC_NIST_P384:
        *coord = 48;
        return "secp384r1";
    default:
        *coord = 0;
        return NULL;
    }
}

static int agent_ecc_to_pkey(const TPMT_PUBLIC *p, EVP_PKEY **out)
{
    unsigned char point[1 + 2 * 48];
    size_t coord;
    const char *group = agent_ecc_group(p->parameters.eccDetail.curveID, &coord);
    const TPM2B_ECC_PARAMETER *x = &p->unique.ecc.x, *y = &p->unique.ecc.y;
    OSSL_PARAM params[3];

    if (group == NULL)
        return DA_ERR_UNSUPPORTED;
    if (x->size == 0 || y->size == 0 || x->size > coord || y->size > coord)
        return DA_ERR_INVALID_ARG;
    memset(point, 0, sizeof(point));
    point[0] = 0x04;
    memcpy(point + 1 + coord - x->size, x->buffer, x->size);
    memcpy(point + 1 + 2 * coord - y->size, y->buffer, y->size);
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, DA_UNCONST(group),
                                                 0); /* only read */
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * coord);
    params[2] = OSSL_PARAM_construct_end();
    return agent_pkey_from_params("EC", params, out);
}

int agent_tpm_public_to_pkey(const TPM2B_PUBLIC *pub, EVP_PKEY **out)
{
    *out = NULL;
    switch (pub->publicArea.type) {
    case TPM2_ALG_RSA:
        return agent_rsa_to_pkey(&pub->publicArea, out);
    case TPM2_ALG_ECC:
        return agent_ecc_to_pkey(&pub->publicArea, out);
    default:
        return DA_ERR_UNSUPPORTED;
    }
}

static int agent_bn_param(EVP_PKEY *pkey, const char *name, TPM2B_ECC_PARAMETER *out)
{
    BIGNUM *bn = NULL;
    int rc = DA_ERR_CRYPTO;

    if (EVP_PKEY_get_bn_param(pkey, name, &bn) == 1 && BN_num_bytes(bn) <= 32 &&
        BN_bn2binpad(bn, out->buffer, 32) == 32) {
        out->size = 32;
        rc = 0;
    }
    BN_free(bn);
    return rc;
}

int agent_tpm_public_from_pkey(EVP_PKEY *pkey, TPMA_OBJECT attrs, TPM2B_PUBLIC *out)
{
    char group[32];
    TPMT_PUBLIC *p = &out->publicArea;
    int rc;

    memset(out, 0, sizeof(*out));
    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                       NULL) != 1 ||
        strcmp(group, "prime256v1") != 0)
        return DA_ERR_UNSUPPORTED;
    p->type = TPM2_ALG_ECC;
    p->nameAlg = TPM2_ALG_SHA256;
    p->objectAttributes = attrs;
    p->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
    p->parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
    p->parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
    p->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
    p->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
    rc = agent_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &p->unique.ecc.x);
    if (rc == 0)
        rc = agent_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &p->unique.ecc.y);
    return rc;
}

int agent_ecdsa_tpm_to_der(const TPMS_SIGNATURE_ECC *sig, struct da_buf *der)
{
    /* SEQUENCE of two INTEGERs of up to TPM2_MAX_ECC_KEY_BYTES + 1 bytes. */
    unsigned char buf[2 * (TPM2_MAX_ECC_KEY_BYTES + 4) + 4];
    size_t n = 0;

    da_buf_init(der, DA_MAX_TPM_STRUCT);
    if (da_tpm_ecdsa_to_der(sig, buf, sizeof(buf), &n) != 0)
        return DA_ERR_CRYPTO;
    return agent_buf_copy(der, DA_MAX_TPM_STRUCT, buf, n);
}

int agent_ecdsa_der_to_tpm(const unsigned char *der, size_t len, size_t coord_size,
                           TPMS_SIGNATURE_ECC *sig)
{
    const unsigned char *p = der;
    ECDSA_SIG *es;
    const BIGNUM *r, *s;
    int rc = DA_ERR_CRYPTO;

    memset(sig, 0, sizeof(*sig));
    if (coord_size > sizeof(sig->signatureR.buffer) || len > 1024)
        return DA_ERR_INVALID_ARG;
    es = d2i_ECDSA_SIG(NULL, &p, (long)len);
    if (es == NULL || (size_t)(p - der) != len)
        goto out;
    ECDSA_SIG_get0(es, &r, &s);
    if (BN_bn2binpad(r, sig->signatureR.buffer, (int)coord_size) != (int)coord_size ||
        BN_bn2binpad(s, sig->signatureS.buffer, (int)coord_size) != (int)coord_size)
        goto out;
    sig->signatureR.size = (UINT16)coord_size;
    sig->signatureS.size = (UINT16)coord_size;
    sig->hash = TPM2_ALG_SHA256;
    rc = 0;
out:
    ECDSA_SIG_free(es);
    return rc;
}

int agent_keyblob_encode(const TPM2B_PRIVATE *priv, const TPM2B_PUBLIC *pub, struct da_buf *out)
{
    unsigned char buf[sizeof(TPM2B_PRIVATE) + sizeof(TPM2B_PUBLIC)];
    size_t off = 0;
    int rc = DA_ERR_INTERNAL;

    da_buf_init(out, DA_MAX_KEY_FILE);
    if (Tss2_MU_TPM2B_PRIVATE_Marshal(priv, buf, sizeof(buf), &off) == TSS2_RC_SUCCESS &&
        Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, sizeof(buf), &off) == TSS2_RC_SUCCESS)
        rc = agent_buf_copy(out, DA_MAX_KEY_FILE, buf, off);
    OPENSSL_cleanse(buf, sizeof(buf));
    return rc;
}

int agent_keyblob_decode(const unsigned char *data, size_t len, TPM2B_PRIVATE *priv,
                         TPM2B_PUBLIC *pub)
{
    size_t off = 0;

    memset(priv, 0, sizeof(*priv));
    memset(pub, 0, sizeof(*pub));
    if (data == NULL || len > DA_MAX_KEY_FILE)
        return DA_ERR_TPM_KEY_BLOB;
    if (Tss2_MU_TPM2B_PRIVATE_Unmarshal(data, len, &off, priv) != TSS2_RC_SUCCESS ||
        Tss2_MU_TPM2B_PUBLIC_Unmarshal(data, len, &off, pub) != TSS2_RC_SUCCESS || off != len ||
        priv->size == 0 || pub->size == 0) {
        OPENSSL_cleanse(priv, sizeof(*priv));
        return DA_ERR_TPM_KEY_BLOB;
    }
    return 0;
}

int agent_tpm_public_pem(const unsigned char *tpm2b_public, size_t len, char **pem)
{
    TPM2B_PUBLIC pub;
    EVP_PKEY *key = NULL;
    BIO *bio = NULL;
    char *p = NULL;
    long n;
    int rc;

    if (pem == NULL)
        return DA_ERR_INVALID_ARG;
    *pem = NULL;
    rc = agent_unmu_public(tpm2b_public, len, &pub);
    if (rc == 0)
        rc = agent_tpm_public_to_pkey(&pub, &key);
    if (rc != 0)
        return rc;
    rc = DA_ERR_CRYPTO;
    bio = BIO_new(BIO_s_mem());
    if (bio == NULL || PEM_write_bio_PUBKEY(bio, key) != 1)
        goto out;
    n = BIO_get_mem_data(bio, &p);
    if (n <= 0)
        goto out;
    *pem = malloc((size_t)n + 1);
    if (*pem == NULL) {
        rc = DA_ERR_NOMEM;
        goto out;
    }
    memcpy(*pem, p, (size_t)n);
    (*pem)[n] = '\0';
    rc = 0;
out:
    BIO_free(bio);
    EVP_PKEY_free(key);
    return rc;
}

/* --- EK templates and nonces provisioned in NV ---------------------------- */

static int ek_template_fits(const TPMT_PUBLIC *t, const TPMT_PUBLIC *d)
{
    const TPMA_OBJECT need = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                             TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_RESTRICTED |
                             TPMA_OBJECT_DECRYPT;

    if (t->type != d->type || t->nameAlg != d->nameAlg || (t->objectAttributes & need) != need ||
        (t->objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT) != 0 ||
        t->authPolicy.size != d->authPolicy.size ||
        memcmp(t->authPolicy.buffer, d->authPolicy.buffer, d->authPolicy.size) != 0)
        return 0;
    if (t->type == TPM2_ALG_RSA)
        return t->parameters.rsaDetail.keyBits == d->parameters.rsaDetail.keyBits;
    return t->parameters.eccDetail.curveID == d->parameters.eccDetail.curveID;
}

int agent_ek_template_decode(const unsigned char *nv, size_t len, const TPM2B_PUBLIC *dflt,
                             TPM2B_PUBLIC *out)
{
    TPM2B_PUBLIC t;
    size_t off = 0, i;

    memset(&t, 0, sizeof(t));
    if (nv == NULL || len == 0 || len > DA_MAX_TPM_STRUCT ||
        Tss2_MU_TPMT_PUBLIC_Unmarshal(nv, len, &off, &t.publicArea) != TSS2_RC_SUCCESS) {
        da_error_f("the EK template in NV is not a TPMT_PUBLIC");
        return DA_ERR_TPM_EK_TEMPLATE;
    }
    /* An index may be larger than the structure: only zero padding may follow. */
    for (i = off; i < len; i++) {
        if (nv[i] != 0) {
            da_error_f("the EK template in NV has %zu bytes after the TPMT_PUBLIC", len - off);
            return DA_ERR_TPM_EK_TEMPLATE;
        }
    }
    if (!ek_template_fits(&t.publicArea, &dflt->publicArea)) {
        da_error_f("the EK template in NV is not a restricted decryption key of the kind its "
                   "index names, with the EK policy of the TCG profile");
        return DA_ERR_TPM_EK_TEMPLATE;
    }
    t.size = (UINT16)off;
    *out = t;
    return 0;
}

int agent_ek_nonce_apply(TPM2B_PUBLIC *tmpl, const unsigned char *nonce, size_t len)
{
    TPMT_PUBLIC *a = &tmpl->publicArea;
    size_t n;

    if (a->type == TPM2_ALG_RSA) {
        n = a->parameters.rsaDetail.keyBits / 8;
        if (len == 0 || len > n || n > sizeof(a->unique.rsa.buffer))
            goto bad;
        memset(&a->unique.rsa, 0, sizeof(a->unique.rsa));
        memcpy(a->unique.rsa.buffer, nonce, len);
        a->unique.rsa.size = (UINT16)n;
        return 0;
    }
    n = da_tpm_hash_size(a->parameters.eccDetail.curveID == TPM2_ECC_NIST_P384 ? TPM2_ALG_SHA384
                                                                               : TPM2_ALG_SHA256);
    if (a->type != TPM2_ALG_ECC || len == 0 || len > n)
        goto bad;
    memset(&a->unique.ecc, 0, sizeof(a->unique.ecc));
    memcpy(a->unique.ecc.x.buffer, nonce, len);
    a->unique.ecc.x.size = (UINT16)n;
    a->unique.ecc.y.size = (UINT16)n;
    return 0;
bad:
    da_error_f("the EK nonce in NV has %zu bytes, more than the key's unique field holds", len);
    return DA_ERR_TPM_EK_TEMPLATE;
}
