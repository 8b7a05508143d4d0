#include "tpm_public.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <tss2/tss2_mu.h>

#include "caps.h"
#include "err.h"

struct da_tpm_public {
    TPMT_PUBLIC area;
    uint8_t *bytes; /* the marshalled TPM2B_PUBLIC */
    size_t bytes_len;
    uint8_t name[DA_TPM_NAME_MAX];
    size_t name_len;
    EVP_PKEY *pkey;
};

/* The TPM hash algorithms this project knows, with their text names (those of
 * tpm2-tools and OpenSSL), digest sizes and OpenSSL digests. */
static const struct {
    TPMI_ALG_HASH alg;
    const char *name;
    size_t size;
    const EVP_MD *(*md)(void);
} tpm_hashes[] = {
    {TPM2_ALG_SHA1, "sha1", 20, EVP_sha1},
    {TPM2_ALG_SHA256, "sha256", 32, EVP_sha256},
    {TPM2_ALG_SHA384, "sha384", 48, EVP_sha384},
    {TPM2_ALG_SHA512, "sha512", 64, EVP_sha512},
};

#define TPM_NHASHES (sizeof(tpm_hashes) / sizeof(tpm_hashes[0]))

static size_t tpm_hash_index(TPMI_ALG_HASH alg)
{
    size_t i;

    for (i = 0; i < TPM_NHASHES && tpm_hashes[i].alg != alg; i++)
        ;
    return i;
}

size_t da_tpm_hash_size(TPMI_ALG_HASH alg)
{
    size_t i = tpm_hash_index(alg);

    return i < TPM_NHASHES ? tpm_hashes[i].size : 0;
}

const EVP_MD *da_tpm_hash_md(TPMI_ALG_HASH alg)
{
    size_t i = tpm_hash_index(alg);

    return i < TPM_NHASHES ? tpm_hashes[i].md() : NULL;
}

const char *da_tpm_hash_name(TPMI_ALG_HASH alg)
{
    size_t i = tpm_hash_index(alg);

    return i < TPM_NHASHES ? tpm_hashes[i].name : NULL;
}

TPMI_ALG_HASH da_tpm_hash_by_name(const char *name, size_t len)
{
    size_t i;

    if (name == NULL)
        return TPM2_ALG_NULL;
    for (i = 0; i < TPM_NHASHES; i++) {
        if (strlen(tpm_hashes[i].name) == len && memcmp(tpm_hashes[i].name, name, len) == 0)
            return tpm_hashes[i].alg;
    }
    return TPM2_ALG_NULL;
}

static const char *ecc_group_name(TPMI_ECC_CURVE curve, size_t *field_len)
{
    switch (curve) {
    case TPM2_ECC_NIST_P256:
        *field_len = 32;
        return "P-256";
    case TPM2_ECC_NIST_P384:
        *field_len = 48;
        return "P-384";
    default:
        *field_len = 0;
        return NULL;
    }
}

/* Left-pad a big-endian coordinate to the field length. */
static int pad_coordinate(const TPM2B_ECC_PARAMETER *c, size_t field_len, uint8_t *out)
{
    if (c->size == 0 || c->size > field_len)
        return DA_ERR_VERIFY_KEY_TYPE;
    memset(out, 0, field_len - c->size);
    memcpy(out + field_len - c->size, c->buffer, c->size);
    return 0;
}

static int pkey_from_params(const char *type, OSSL_PARAM_BLD *bld, EVP_PKEY **out)
{
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    int rc = DA_ERR_VERIFY_KEY_TYPE;

    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    if (params == NULL || ctx == NULL) {
        rc = DA_ERR_NOMEM;
        goto out;
    }
    if (EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        goto out;
    rc = 0;
out:
    OSSL_PARAM_free(params);
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

static int ecc_to_pkey(const TPMT_PUBLIC *a, EVP_PKEY **out)
{
    uint8_t point[1 + 2 * 48];
    size_t field_len;
    const char *group = ecc_group_name(a->parameters.eccDetail.curveID, &field_len);
    OSSL_PARAM_BLD *bld = NULL;
    int rc;

    if (group == NULL)
        return DA_ERR_VERIFY_KEY_TYPE;
    point[0] = 0x04;
    if ((rc = pad_coordinate(&a->unique.ecc.x, field_len, point + 1)) != 0 ||
        (rc = pad_coordinate(&a->unique.ecc.y, field_len, point + 1 + field_len)) != 0)
        return rc;
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL)
        return DA_ERR_NOMEM;
    if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * field_len)) {
        rc = DA_ERR_NOMEM;
        goto out;
    }
    rc = pkey_from_params("EC", bld, out);
out:
    OSSL_PARAM_BLD_free(bld);
    return rc;
}

static int rsa_to_pkey(const TPMT_PUBLIC *a, EVP_PKEY **out)
{
    const TPMS_RSA_PARMS *p = &a->parameters.rsaDetail;
    uint32_t exponent = p->exponent != 0 ? p->exponent : 65537;
    OSSL_PARAM_BLD *bld = NULL;
    BIGNUM *n = NULL, *e = NULL;
    int rc = DA_ERR_NOMEM;

    if (p->keyBits < 2048 || p->keyBits > 4096 || p->keyBits % 8 != 0 ||
        a->unique.rsa.size != p->keyBits / 8 || (a->unique.rsa.buffer[0] & 0x80) == 0 ||
        exponent < 3 || exponent % 2 == 0)
        return DA_ERR_VERIFY_KEY_TYPE;
    bld = OSSL_PARAM_BLD_new();
    n = BN_bin2bn(a->unique.rsa.buffer, a->unique.rsa.size, NULL);
    e = BN_new();
    if (bld == NULL || n == NULL || e == NULL || !BN_set_word(e, exponent))
        goto out;
    if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
        goto out;
    rc = pkey_from_params("RSA", bld, out);
out:
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    return rc;
}

int da_tpm_name_compute(TPMI_ALG_HASH name_alg, const uint8_t *tpmt, size_t len,
                        uint8_t name[DA_TPM_NAME_MAX], size_t *name_len)
{
    const EVP_MD *md = da_tpm_hash_md(name_alg);
    unsigned int dlen = 0;

    *name_len = 0;
    if (md == NULL)
        return DA_ERR_UNSUPPORTED;
    name[0] = (uint8_t)(name_alg >> 8);
    name[1] = (uint8_t)name_alg;
    if (EVP_Digest(tpmt, len, name + 2, &dlen, md, NULL) != 1)
        return DA_ERR_CRYPTO;
    *name_len = 2 + dlen;
    return 0;
}

static int compute_name(struct da_tpm_public *p)
{
    if (da_tpm_hash_md(p->area.nameAlg) == NULL || p->area.nameAlg == TPM2_ALG_SHA1)
        return DA_ERR_VERIFY_HASH_ALG;
    /* The name covers the TPMT_PUBLIC, i.e. everything after the size field. */
    return da_tpm_name_compute(p->area.nameAlg, p->bytes + 2, p->bytes_len - 2, p->name,
                               &p->name_len);
}

/* Unmarshal, and insist the bytes are exactly the canonical encoding. */
static int unmarshal_strict(const uint8_t *buf, size_t len, TPMT_PUBLIC *area)
{
    TPM2B_PUBLIC pub;
    uint8_t again[DA_MAX_TPM_STRUCT];
    size_t off = 0, off2 = 0;

    memset(&pub, 0, sizeof(pub));
    if (len < 2)
        return DA_ERR_VERIFY_TPM_PUBLIC;
    if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, len, &off, &pub) != TSS2_RC_SUCCESS)
        return DA_ERR_VERIFY_TPM_PUBLIC;
    /* The size field must cover exactly the area; only then is a longer
     * input a matter of trailing bytes. */
    if ((size_t)pub.size + 2 != off)
        return DA_ERR_VERIFY_TPM_PUBLIC;
    if (off != len)
        return DA_ERR_TRAILING_DATA;
    if (Tss2_MU_TPM2B_PUBLIC_Marshal(&pub, again, sizeof(again), &off2) != TSS2_RC_SUCCESS ||
        off2 != len || memcmp(again, buf, len) != 0)
        return DA_ERR_VERIFY_TPM_PUBLIC;
    *area = pub.publicArea;
    return 0;
}

int da_tpm_public_parse(const uint8_t *buf, size_t len, struct da_tpm_public **out)
{
    struct da_tpm_public *p = NULL;
    int rc;

    *out = NULL;
    if (buf == NULL && len > 0)
        return DA_ERR_INVALID_ARG;
    if (len > DA_MAX_TPM_STRUCT)
        return DA_ERR_TOO_LARGE;
    p = calloc(1, sizeof(*p));
    if (p == NULL)
        return DA_ERR_NOMEM;
    if ((rc = unmarshal_strict(buf, len, &p->area)) != 0)
        goto out;
    p->bytes = malloc(len);
    if (p->bytes == NULL) {
        rc = DA_ERR_NOMEM;
        goto out;
    }
    memcpy(p->bytes, buf, len);
    p->bytes_len = len;
    if ((rc = compute_name(p)) != 0)
        goto out;
    if (p->area.type == TPM2_ALG_ECC)
        rc = ecc_to_pkey(&p->area, &p->pkey);
    else if (p->area.type == TPM2_ALG_RSA)
        rc = rsa_to_pkey(&p->area, &p->pkey);
    else
        rc = DA_ERR_VERIFY_KEY_TYPE;
    if (rc != 0)
        goto out;
    *out = p;
    p = NULL; /* transferred */
out:
    da_tpm_public_free(p);
    return rc;
}

void da_tpm_public_free(struct da_tpm_public *pub)
{
    if (pub == NULL)
        return;
    EVP_PKEY_free(pub->pkey);
    free(pub->bytes);
    free(pub);
}

const TPMT_PUBLIC *da_tpm_public_area(const struct da_tpm_public *pub)
{
    return &pub->area;
}

const uint8_t *da_tpm_public_bytes(const struct da_tpm_public *pub, size_t *len)
{
    *len = pub->bytes_len;
    return pub->bytes;
}

const uint8_t *da_tpm_public_name(const struct da_tpm_public *pub, size_t *len)
{
    *len = pub->name_len;
    return pub->name;
}

EVP_PKEY *da_tpm_public_pkey(const struct da_tpm_public *pub)
{
    return pub->pkey;
}

#define DA_KEY_ATTRS_REQUIRED                                                                      \
    (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |            \
     TPMA_OBJECT_SIGN_ENCRYPT)

/* ECC P-256 with SHA-256 name; the part AK and SK checks share. */
static int check_p256_signer(const TPMT_PUBLIC *a)
{
    if ((a->objectAttributes & DA_KEY_ATTRS_REQUIRED) != DA_KEY_ATTRS_REQUIRED ||
        (a->objectAttributes & TPMA_OBJECT_DECRYPT) != 0)
        return DA_ERR_VERIFY_AK_ATTRIBUTES;
    if (a->type != TPM2_ALG_ECC || a->parameters.eccDetail.curveID != TPM2_ECC_NIST_P256)
        return DA_ERR_VERIFY_KEY_TYPE;
    if (a->nameAlg != TPM2_ALG_SHA256)
        return DA_ERR_VERIFY_HASH_ALG;
    if (a->parameters.eccDetail.symmetric.algorithm != TPM2_ALG_NULL ||
        a->parameters.eccDetail.kdf.scheme != TPM2_ALG_NULL)
        return DA_ERR_VERIFY_KEY_TYPE;
    return 0;
}

static int check_ecdsa_sha256(const TPMT_ECC_SCHEME *s)
{
    if (s->scheme != TPM2_ALG_ECDSA)
        return DA_ERR_VERIFY_SIG_SCHEME;
    if (s->details.ecdsa.hashAlg != TPM2_ALG_SHA256)
        return DA_ERR_VERIFY_HASH_ALG;
    return 0;
}

int da_tpm_public_check_ak(const struct da_tpm_public *pub)
{
    const TPMT_PUBLIC *a = &pub->area;
    int rc;

    if ((a->objectAttributes & TPMA_OBJECT_RESTRICTED) == 0)
        return DA_ERR_VERIFY_AK_ATTRIBUTES;
    if ((rc = check_p256_signer(a)) != 0)
        return rc;
    return check_ecdsa_sha256(&a->parameters.eccDetail.scheme);
}

int da_tpm_public_check_sk(const struct da_tpm_public *pub)
{
    const TPMT_PUBLIC *a = &pub->area;
    int rc;

    if ((a->objectAttributes & TPMA_OBJECT_RESTRICTED) != 0)
        return DA_ERR_VERIFY_AK_ATTRIBUTES;
    if ((rc = check_p256_signer(a)) != 0)
        return rc;
    if (a->parameters.eccDetail.scheme.scheme == TPM2_ALG_NULL)
        return 0;
    return check_ecdsa_sha256(&a->parameters.eccDetail.scheme);
}

int da_tpm_public_check_ek(const struct da_tpm_public *pub)
{
    const TPMT_PUBLIC *a = &pub->area;
    const TPMT_SYM_DEF_OBJECT *sym;
    const TPMA_OBJECT need = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                             TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_RESTRICTED |
                             TPMA_OBJECT_DECRYPT;

    if ((a->objectAttributes & need) != need || (a->objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT))
        return DA_ERR_VERIFY_EK_ATTRIBUTES;
    if (a->nameAlg != TPM2_ALG_SHA256 && a->nameAlg != TPM2_ALG_SHA384)
        return DA_ERR_VERIFY_KEY_TYPE;
    sym = a->type == TPM2_ALG_RSA ? &a->parameters.rsaDetail.symmetric
                                  : &a->parameters.eccDetail.symmetric;
    if (sym->algorithm != TPM2_ALG_AES || sym->mode.aes != TPM2_ALG_CFB ||
        (sym->keyBits.aes != 128 && sym->keyBits.aes != 256))
        return DA_ERR_VERIFY_KEY_TYPE;
    /* The type, size and curve were checked when the key was parsed. */
    return 0;
}
