/* The EK of the ESYS backend: its certificate in NV, its TCG template, its
 * creation and the policy session that authorizes it. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_rc.h>

#include "caps.h"
#include "ek.h"
#include "err.h"
#include "log.h"
#include "tpm_esys.h"

#define TPM_NV_CHUNK_DEFAULT 512
#define TPM_EK_CERT_FIRST    0x01C00002u
#define TPM_EK_CERT_LAST     0x01C00016u

/* EK Credential Profile policy digests (published constants). PolicyA is
 * PolicySecret(TPM_RH_ENDORSEMENT); the high-range templates use PolicyB,
 * the PolicyOR of PolicyA and PolicyC. */
static const BYTE tpm_policy_a_sha256[32] = {
    0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8, 0x1a, 0x90, 0xcc, 0x8d, 0x46, 0xa5, 0xd7, 0x24,
    0xfd, 0x52, 0xd7, 0x6e, 0x06, 0x52, 0x0b, 0x64, 0xf2, 0xa1, 0xda, 0x1b, 0x33, 0x14, 0x69, 0xaa};
static const BYTE tpm_policy_a_sha384[48] = {
    0x8b, 0xbf, 0x22, 0x66, 0x53, 0x7c, 0x17, 0x1c, 0xb5, 0x6e, 0x40, 0x3c, 0x4d, 0xc1, 0xd4, 0xb6,
    0x4f, 0x43, 0x26, 0x11, 0xdc, 0x38, 0x6e, 0x6f, 0x53, 0x20, 0x50, 0xc3, 0x27, 0x8c, 0x93, 0x0e,
    0x14, 0x3e, 0x8b, 0xb1, 0x13, 0x38, 0x24, 0xcc, 0xb4, 0x31, 0x05, 0x38, 0x71, 0xc6, 0xdb, 0x53};
static const BYTE tpm_policy_c_sha384[48] = {
    0xd6, 0x03, 0x2c, 0xe6, 0x1f, 0x2f, 0xb3, 0xc2, 0x40, 0xeb, 0x3c, 0xf6, 0xa3, 0x32, 0x37, 0xef,
    0x2b, 0x6a, 0x16, 0xf4, 0x29, 0x3c, 0x22, 0xb4, 0x55, 0xe2, 0x61, 0xcf, 0xfd, 0x21, 0x7a, 0xd5,
    0xb4, 0x94, 0x7c, 0x2d, 0x73, 0xe6, 0x30, 0x05, 0xee, 0xd2, 0xdc, 0x2b, 0x35, 0x93, 0xd1, 0x65};
static const BYTE tpm_policy_b_sha384[48] = {
    0xb2, 0x6e, 0x7d, 0x28, 0xd1, 0x1a, 0x50, 0xbc, 0x53, 0xd8, 0x82, 0xbc, 0xf5, 0xfd, 0x3a, 0x1a,
    0x07, 0x41, 0x48, 0xbb, 0x35, 0xd3, 0xb4, 0xe4, 0xcb, 0x1c, 0x0a, 0xd9, 0xbd, 0xe4, 0x19, 0xca,
    0xcb, 0x47, 0xba, 0x09, 0x69, 0x96, 0x46, 0x15, 0x0f, 0x9f, 0xc0, 0x00, 0xf3, 0xf8, 0x0e, 0x12};

static const struct tpm_ek_profile tpm_ek_profiles[] = {
    {"L-1", 0x01C00002u, 0x01C00003u, 0x01C00004u, 0x81010001u, TPM2_ALG_RSA, 0, TPM2_ALG_SHA256,
     128, 256, 0, tpm_policy_a_sha256, 32},
    {"L-2", 0x01C0000Au, 0x01C0000Bu, 0x01C0000Cu, 0x81010002u, TPM2_ALG_ECC, TPM2_ECC_NIST_P256,
     TPM2_ALG_SHA256, 128, 32, 0, tpm_policy_a_sha256, 32},
    {"H-3", 0x01C00016u, 0, 0, 0x81010016u, TPM2_ALG_ECC, TPM2_ECC_NIST_P384, TPM2_ALG_SHA384, 256,
     0, 1, tpm_policy_b_sha384, 48},
};

#define TPM_NPROFILES (sizeof(tpm_ek_profiles) / sizeof(tpm_ek_profiles[0]))
/* --- EK certificate -------------------------------------------------------- */

static void tpm_ek_template(const struct tpm_ek_profile *p, TPM2B_PUBLIC *t);

/* Which EK indices exist: bit i of each mask stands for tpm_ek_profiles[i]. */
struct tpm_ek_indices {
    unsigned cert, nonce, tmpl;
};

static void tpm_ek_index_mark(struct tpm_ek_indices *x, TPM2_HANDLE h)
{
    size_t p;

    for (p = 0; p < TPM_NPROFILES; p++) {
        if (tpm_ek_profiles[p].cert_index == h)
            x->cert |= 1u << p;
        if (tpm_ek_profiles[p].nonce_index != 0 && tpm_ek_profiles[p].nonce_index == h)
            x->nonce |= 1u << p;
        if (tpm_ek_profiles[p].template_index != 0 && tpm_ek_profiles[p].template_index == h)
            x->tmpl |= 1u << p;
    }
}

static int tpm_ek_indices_list(struct tpm_esys *e, struct tpm_ek_indices *x)
{
    TPMS_CAPABILITY_DATA *cap = NULL;
    TPMI_YES_NO more = TPM2_YES;
    TPM2_HANDLE next = TPM_EK_CERT_FIRST;
    TSS2_RC rc;
    uint32_t i;

    memset(x, 0, sizeof(*x));
    while (more == TPM2_YES && next <= TPM_EK_CERT_LAST) {
        rc = Esys_GetCapability(e->ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_HANDLES,
                                next, 32, &more, &cap);
        if (rc != TSS2_RC_SUCCESS)
            return TPM_FAIL("Esys_GetCapability(NV handles)", rc, DA_ERR_TPM);
        if (cap->data.handles.count == 0)
            more = TPM2_NO;
        for (i = 0; i < cap->data.handles.count; i++) {
            tpm_ek_index_mark(x, cap->data.handles.handle[i]);
            next = cap->data.handles.handle[i] + 1;
        }
        Esys_Free(cap);
        cap = NULL;
    }
    return 0;
}

/* The largest NV read the TPM accepts; a TPM that does not say gets reads of
 * TPM_NV_CHUNK_DEFAULT bytes, which every TPM accepts. */
static uint16_t tpm_nv_chunk(struct tpm_esys *e)
{
    TPMS_CAPABILITY_DATA *cap = NULL;
    TPMI_YES_NO more;
    uint16_t chunk = TPM_NV_CHUNK_DEFAULT;
    TSS2_RC rc;

    rc = Esys_GetCapability(e->ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                            TPM2_CAP_TPM_PROPERTIES, TPM2_PT_NV_BUFFER_MAX, 1, &more, &cap);
    if (rc != TSS2_RC_SUCCESS) {
        da_warn_f("Esys_GetCapability(NV_BUFFER_MAX) failed: %s; reading NV in %u-byte parts",
                  Tss2_RC_Decode(rc), TPM_NV_CHUNK_DEFAULT);
    } else if (cap->data.tpmProperties.count == 1 &&
               cap->data.tpmProperties.tpmProperty[0].property == TPM2_PT_NV_BUFFER_MAX) {
        uint32_t v = cap->data.tpmProperties.tpmProperty[0].value;
        if (v > 0 && v <= sizeof(((TPM2B_MAX_NV_BUFFER *)0)->buffer))
            chunk = (uint16_t)v;
    }
    Esys_Free(cap);
    return chunk;
}

static int tpm_nv_read_chunks(struct tpm_esys *e, ESYS_TR auth, ESYS_TR nv, uint16_t size,
                              unsigned char *dst)
{
    uint16_t chunk = tpm_nv_chunk(e), off = 0;
    TPM2B_MAX_NV_BUFFER *data = NULL;
    TSS2_RC rc;

    while (off < size) {
        uint16_t n = (uint16_t)(size - off) < chunk ? (uint16_t)(size - off) : chunk;
        rc = Esys_NV_Read(e->ctx, auth, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, n, off,
                          &data);
        if (rc != TSS2_RC_SUCCESS)
            return TPM_FAIL("Esys_NV_Read", rc, DA_ERR_TPM_NV_READ);
        if (data->size != n) {
            da_error_f("NV read returned %u bytes instead of %u", data->size, n);
            Esys_Free(data);
            return DA_ERR_TPM_NV_READ;
        }
        memcpy(dst + off, data->buffer, n);
        off = (uint16_t)(off + n);
        Esys_Free(data);
        data = NULL;
    }
    return 0;
}

static int tpm_nv_read(struct tpm_esys *e, uint32_t index, const char *what, struct da_buf *out)
{
    unsigned char data[DA_MAX_EK_CERT];
    ESYS_TR nv = ESYS_TR_NONE, auth;
    TPM2B_NV_PUBLIC *pub = NULL;
    TPMA_NV attrs;
    uint16_t size;
    TSS2_RC rc;
    int err;

    da_buf_init(out, DA_MAX_EK_CERT);
    rc = Esys_TR_FromTPMPublic(e->ctx, index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &nv);
    if (rc != TSS2_RC_SUCCESS)
        return TPM_FAIL("Esys_TR_FromTPMPublic(NV)", rc, DA_ERR_TPM_NV_READ);
    rc = Esys_NV_ReadPublic(e->ctx, nv, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, NULL);
    if (rc != TSS2_RC_SUCCESS) {
        err = TPM_FAIL("Esys_NV_ReadPublic", rc, DA_ERR_TPM_NV_READ);
        goto out;
    }
    size = pub->nvPublic.dataSize;
    attrs = pub->nvPublic.attributes;
    err = DA_ERR_TPM_NV_READ;
    if (size == 0 || size > DA_MAX_EK_CERT) {
        da_error_f("NV index 0x%08x holds %u bytes (at most %u)", index, size, DA_MAX_EK_CERT);
        goto out;
    }
    if ((attrs & TPMA_NV_AUTHREAD) != 0) {
        auth = nv;
    } else if ((attrs & TPMA_NV_OWNERREAD) != 0) {
        auth = ESYS_TR_RH_OWNER;
    } else {
        da_error_f("NV index 0x%08x can be read neither with its own nor with owner "
                   "authorization",
                   index);
        goto out;
    }
    err = tpm_nv_read_chunks(e, auth, nv, size, data);
    if (err == 0)
        err = da_buf_append(out, data, size);
    if (err != 0)
        da_buf_free(out);
    OPENSSL_cleanse(data, sizeof(data));
out:
    if (err != 0)
        da_error_f("%s at NV index 0x%08x could not be read", what, index);
    Esys_Free(pub);
    if (nv != ESYS_TR_NONE) {
        TSS2_RC rc2 = Esys_TR_Close(e->ctx, &nv);
        if (rc2 != TSS2_RC_SUCCESS)
            da_warn_f("Esys_TR_Close: %s", Tss2_RC_Decode(rc2));
    }
    return err;
}

/* Whether a certificate key fits a template: RSA 2048 for L-1, P-256 for
 * L-2, P-384 for H-3. */
static int tpm_cert_key_fits(EVP_PKEY *key, const struct tpm_ek_profile *p)
{
    char group[32];

    if (p->type == TPM2_ALG_RSA)
        return EVP_PKEY_is_a(key, "RSA") && EVP_PKEY_get_bits(key) == 2048;
    if (!EVP_PKEY_is_a(key, "EC") ||
        EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof(group), NULL) != 1)
        return 0;
    return strcmp(group, p->curve == TPM2_ECC_NIST_P256 ? "prime256v1" : "secp384r1") == 0;
}

/* Parse the DER certificate read from NV (which may be padded after the DER
 * value) and keep exactly the DER bytes and the public key. */
static int tpm_ek_cert_take(struct tpm_esys *e, const struct tpm_ek_profile *p, struct da_buf *nv)
{
    const unsigned char *q = da_buf_data(nv);
    X509 *cert = d2i_X509(NULL, &q, (long)da_buf_len(nv));
    EVP_PKEY *key = NULL;
    int rc = DA_ERR_TPM_NV_READ;

    if (cert == NULL) {
        da_error_f("EK certificate at 0x%08x is not DER X.509", p->cert_index);
        goto out;
    }
    key = da_ek_cert_public_key(cert);
    if (key == NULL || !tpm_cert_key_fits(key, p)) {
        da_warn_f("EK certificate at 0x%08x does not hold the key of template %s; ignored",
                  p->cert_index, p->label);
        rc = DA_ERR_NOT_FOUND;
        goto out;
    }
    /* Keep only the DER value, without the padding after it. */
    rc =
        agent_buf_copy(&e->ek_cert, DA_MAX_EK_CERT, da_buf_data(nv), (size_t)(q - da_buf_data(nv)));
    if (rc != 0)
        goto out;
    da_buf_free(nv);
    e->ek_cert_key = key;
    key = NULL; /* transferred */
    e->ek_cert_index = p->cert_index;
    rc = 0;
out:
    EVP_PKEY_free(key);
    X509_free(cert);
    return rc;
}

/* The template the EK is made from: the profile's default, or the template a
 * manufacturer provisioned in NV, with the NV nonce in its unique field. */
static int tpm_ek_template_setup(struct tpm_esys *e, const struct tpm_ek_indices *x, size_t i)
{
    const struct tpm_ek_profile *p = &tpm_ek_profiles[i];
    struct da_buf nv = {0};
    TPM2B_PUBLIC dflt;
    int rc = 0;

    tpm_ek_template(p, &dflt);
    e->ek_template = dflt;
    e->ek_template_source = "default";
    if ((x->tmpl & (1u << i)) != 0) {
        rc = tpm_nv_read(e, p->template_index, "EK template", &nv);
        if (rc == 0)
            rc =
                agent_ek_template_decode(da_buf_data(&nv), da_buf_len(&nv), &dflt, &e->ek_template);
        da_buf_free(&nv);
        if (rc != 0)
            return rc;
        e->ek_template_source = "nv-template";
    }
    if ((x->nonce & (1u << i)) != 0) {
        rc = tpm_nv_read(e, p->nonce_index, "EK nonce", &nv);
        if (rc == 0)
            rc = agent_ek_nonce_apply(&e->ek_template, da_buf_data(&nv), da_buf_len(&nv));
        da_buf_free(&nv);
        if (rc != 0)
            return rc;
        e->ek_template_source = (x->tmpl & (1u << i)) != 0 ? "nv-template+nv-nonce" : "nv-nonce";
    }
    if ((x->tmpl | x->nonce) & (1u << i))
        da_info_f("EK %s: template from NV (%s)", p->label, e->ek_template_source);
    return 0;
}

/* Choose the EK: the first certificate in order of preference whose key fits
 * its template; without any, the RSA 2048 template and no certificate. The
 * template comes from NV when the TPM provides one (and a nonce). */
static int tpm_ek_discover(struct tpm_esys *e)
{
    struct da_buf nv = {0};
    struct tpm_ek_indices x;
    size_t i;
    int rc;

    if (e->ek != NULL)
        return 0;
    rc = tpm_ek_indices_list(e, &x);
    if (rc != 0)
        return rc;
    for (i = 0; i < TPM_NPROFILES; i++) {
        if ((x.cert & (1u << i)) == 0)
            continue;
        rc = tpm_nv_read(e, tpm_ek_profiles[i].cert_index, "EK certificate", &nv);
        if (rc != 0)
            return rc;
        rc = tpm_ek_cert_take(e, &tpm_ek_profiles[i], &nv);
        da_buf_free(&nv);
        if (rc == 0)
            break;
        if (rc != DA_ERR_NOT_FOUND)
            return rc;
    }
    if (i == TPM_NPROFILES) {
        da_info_f("the TPM holds no EK certificate; enrolling with the EK public key only");
        i = 0;
        e->ek_cert_index = 0;
    }
    rc = tpm_ek_template_setup(e, &x, i);
    if (rc != 0) {
        da_buf_free(&e->ek_cert);
        EVP_PKEY_free(e->ek_cert_key);
        e->ek_cert_key = NULL;
        e->ek_cert_index = 0;
        return rc;
    }
    e->ek = &tpm_ek_profiles[i];
    return 0;
}

/* --- EK ------------------------------------------------------------------ */

static void tpm_ek_template(const struct tpm_ek_profile *p, TPM2B_PUBLIC *t)
{
    TPMT_PUBLIC *a = &t->publicArea;

    memset(t, 0, sizeof(*t));
    a->type = p->type;
    a->nameAlg = p->name_alg;
    a->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                          TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_ADMINWITHPOLICY |
                          TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
    if (p->high_range)
        a->objectAttributes |= TPMA_OBJECT_USERWITHAUTH;
    memcpy(a->authPolicy.buffer, p->policy, p->policy_size);
    a->authPolicy.size = p->policy_size;
    if (p->type == TPM2_ALG_RSA) {
        a->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_AES;
        a->parameters.rsaDetail.symmetric.keyBits.aes = p->sym_bits;
        a->parameters.rsaDetail.symmetric.mode.aes = TPM2_ALG_CFB;
        a->parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
        a->parameters.rsaDetail.keyBits = 2048;
        a->parameters.rsaDetail.exponent = 0;
        a->unique.rsa.size = p->unique_size;
    } else {
        a->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
        a->parameters.eccDetail.symmetric.keyBits.aes = p->sym_bits;
        a->parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
        a->parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
        a->parameters.eccDetail.curveID = p->curve;
        a->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
        a->unique.ecc.x.size = p->unique_size;
        a->unique.ecc.y.size = p->unique_size;
    }
}

/* The created EK must hold the certificate's key. */
static int tpm_ek_check_cert(struct tpm_esys *e)
{
    EVP_PKEY *key = NULL;
    int rc;

    if (e->ek_cert_key == NULL)
        return 0;
    rc = agent_tpm_public_to_pkey(&e->ek_pub, &key);
    if (rc == 0 && EVP_PKEY_eq(key, e->ek_cert_key) != 1) {
        da_error_f("the EK created from template %s differs from the key in the EK "
                   "certificate at 0x%08x",
                   e->ek->label, e->ek_cert_index);
        rc = DA_ERR_TPM_EK_MISMATCH;
    }
    EVP_PKEY_free(key);
    return rc;
}

/* 0 when both marshal to the same bytes, else DA_ERR_TPM_EK_MISMATCH. */
static int tpm_public_equal(const TPM2B_PUBLIC *a, const TPM2B_PUBLIC *b)
{
    struct da_buf x = {0}, y = {0};
    int rc = agent_mu_public(a, &x);

    if (rc == 0)
        rc = agent_mu_public(b, &y);
    if (rc == 0 && (da_buf_len(&x) != da_buf_len(&y) ||
                    memcmp(da_buf_data(&x), da_buf_data(&y), da_buf_len(&x)) != 0))
        rc = DA_ERR_TPM_EK_MISMATCH;
    da_buf_free(&x);
    da_buf_free(&y);
    return rc;
}

/* Whether a persistent handle exists (listing first, so that an absent one
 * causes no TPM error). */
static int tpm_handle_present(struct tpm_esys *e, TPM2_HANDLE h)
{
    TPMS_CAPABILITY_DATA *cap = NULL;
    TPMI_YES_NO more;
    int found;

    if (Esys_GetCapability(e->ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_HANDLES, h, 1,
                           &more, &cap) != TSS2_RC_SUCCESS)
        return 0;
    found = cap->data.handles.count == 1 && cap->data.handles.handle[0] == h;
    Esys_Free(cap);
    return found;
}

/* Before this handle has made the EK there is no checked key to salt the
 * session that authorizes its creation. When the platform persisted the EK
 * at its TCG handle and that key is the certificate's, it salts the HMAC
 * session from the start, so even the first use of the endorsement password
 * is covered. Anything else leaves the unsalted start (logged). */
static void tpm_ek_persisted_salt(struct tpm_esys *e)
{
    ESYS_TR h = ESYS_TR_NONE;
    TPM2B_PUBLIC *pub = NULL;
    EVP_PKEY *key = NULL;

    if (e->plain_sessions || e->hmac != ESYS_TR_NONE || e->ek_cert_key == NULL ||
        !tpm_handle_present(e, e->ek->persistent))
        return;
    if (Esys_TR_FromTPMPublic(e->ctx, e->ek->persistent, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                              &h) == TSS2_RC_SUCCESS &&
        Esys_ReadPublic(e->ctx, h, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, NULL, NULL) ==
            TSS2_RC_SUCCESS &&
        agent_tpm_public_to_pkey(pub, &key) == 0 && EVP_PKEY_eq(key, e->ek_cert_key) == 1 &&
        agent_esys_hmac_start(e, h) == 0)
        da_debug_f("the EK persisted at 0x%08x salts the sessions", e->ek->persistent);
    else
        da_info_f("the key at 0x%08x did not salt a session (not the certified EK, or "
                  "the TPM refused); the first EK creation is authorized without a salt",
                  e->ek->persistent);
    EVP_PKEY_free(key);
    Esys_Free(pub);
    if (h != ESYS_TR_NONE && Esys_TR_Close(e->ctx, &h) != TSS2_RC_SUCCESS)
        da_warn_f("Esys_TR_Close of the persisted EK failed");
}

int agent_esys_ek_create(struct tpm_esys *e, ESYS_TR *ek)
{
    TPM2B_SENSITIVE_CREATE sens;
    TPM2B_PUBLIC tmpl, *pub = NULL;
    TPM2B_DATA outside;
    TPML_PCR_SELECTION pcrs;
    ESYS_TR auth, tmp;
    TSS2_RC rc;
    int err;

    *ek = ESYS_TR_NONE;
    err = tpm_ek_discover(e);
    if (err != 0)
        return err;
    memset(&sens, 0, sizeof(sens));
    memset(&outside, 0, sizeof(outside));
    memset(&pcrs, 0, sizeof(pcrs));
    tmpl = e->ek_template;
    tpm_ek_persisted_salt(e);
    err = agent_esys_auth(e, AGENT_ESYS_SESSION_PLAIN, &auth, &tmp);
    if (err != 0)
        return err;
    rc = Esys_CreatePrimary(e->ctx, ESYS_TR_RH_ENDORSEMENT, auth, ESYS_TR_NONE, ESYS_TR_NONE, &sens,
                            &tmpl, &outside, &pcrs, ek, &pub, NULL, NULL, NULL);
    agent_esys_flush(e, &tmp);
    if (rc != TSS2_RC_SUCCESS)
        return TPM_FAIL("Esys_CreatePrimary(EK)", rc, DA_ERR_TPM);
    if (e->ek_created) {
        err = tpm_public_equal(&e->ek_pub, pub);
        if (err == DA_ERR_TPM_EK_MISMATCH)
            da_error_f("the EK changed while the agent was running");
    } else {
        e->ek_pub = *pub;
        e->ek_created = 1;
        err = tpm_ek_check_cert(e);
        if (err != 0)
            e->ek_created = 0;
    }
    Esys_Free(pub);
    /* Only an EK whose key is the certificate's may salt the sessions. */
    if (err == 0)
        err = agent_esys_hmac_start(e, *ek);
    if (err != 0)
        agent_esys_flush(e, ek);
    return err;
}

/* A policy session that satisfies the EK's authPolicy: PolicySecret on the
 * endorsement hierarchy, and for the high-range templates the PolicyOR. It is
 * salted with the EK (ek, loaded and checked) and encrypts the parameters
 * that attrs name; PolicySecret itself is authorized by the HMAC session, so
 * the endorsement password never crosses the bus. */
int agent_esys_ek_session(struct tpm_esys *e, ESYS_TR ek, TPMA_SESSION attrs, ESYS_TR *session)
{
    static const TPMT_SYM_DEF aes = {
        .algorithm = TPM2_ALG_AES, .keyBits.aes = 128, .mode.aes = TPM2_ALG_CFB};
    static const TPMT_SYM_DEF none = {.algorithm = TPM2_ALG_NULL};
    TPML_DIGEST branches;
    ESYS_TR auth, tmp;
    TSS2_RC rc;
    int err;

    rc = Esys_StartAuthSession(e->ctx, e->plain_sessions ? ESYS_TR_NONE : ek, ESYS_TR_NONE,
                               ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, NULL, TPM2_SE_POLICY,
                               e->plain_sessions ? &none : &aes, e->ek->name_alg, session);
    if (rc != TSS2_RC_SUCCESS) {
        *session = ESYS_TR_NONE;
        return TPM_FAIL("Esys_StartAuthSession(policy, salted with the EK)", rc, DA_ERR_TPM);
    }
    err = agent_esys_auth(e, AGENT_ESYS_SESSION_PLAIN, &auth, &tmp);
    if (err != 0)
        goto fail;
    rc = Esys_PolicySecret(e->ctx, ESYS_TR_RH_ENDORSEMENT, *session, auth, ESYS_TR_NONE,
                           ESYS_TR_NONE, NULL, NULL, NULL, 0, NULL, NULL);
    agent_esys_flush(e, &tmp);
    if (rc != TSS2_RC_SUCCESS) {
        err = TPM_FAIL("Esys_PolicySecret(endorsement)", rc, DA_ERR_TPM);
        goto fail;
    }
    if (e->ek->high_range) {
        memset(&branches, 0, sizeof(branches));
        branches.count = 2;
        branches.digests[0].size = sizeof(tpm_policy_a_sha384);
        memcpy(branches.digests[0].buffer, tpm_policy_a_sha384, sizeof(tpm_policy_a_sha384));
        branches.digests[1].size = sizeof(tpm_policy_c_sha384);
        memcpy(branches.digests[1].buffer, tpm_policy_c_sha384, sizeof(tpm_policy_c_sha384));
        rc = Esys_PolicyOR(e->ctx, *session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &branches);
        if (rc != TSS2_RC_SUCCESS) {
            err = TPM_FAIL("Esys_PolicyOR", rc, DA_ERR_TPM);
            goto fail;
        }
    }
    if (!e->plain_sessions) {
        err = agent_esys_session_attrs(e, *session, attrs);
        if (err != 0)
            goto fail;
    }
    return 0;
fail:
    agent_esys_flush(e, session);
    return err;
}
