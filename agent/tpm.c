/* The TPM backend of the agent's keys. This is the only file of the agent
 * that calls Esys_*; every failing call is logged with Tss2_RC_Decode and
 * mapped to a DA_ERR_* code.
 *
 * Objects: the EK is created from its TCG template when a key under it must
 * be created, loaded or used for credential activation, and flushed right
 * after. The AK and SK stay loaded while the handle is open (the AK quotes,
 * the SK signs) and are flushed by close. Sessions are flushed after use.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "caps.h"
#include "err.h"
#include "log.h"
#include "tpm_internal.h"

#define TPM_PCR_COUNT        24
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

/* One EK template of the TCG EK Credential Profile, with the NV index of the
 * certificate that goes with it. In order of preference. */
struct tpm_ek_profile {
    const char *label;
    uint32_t cert_index;
    TPMI_ALG_PUBLIC type;
    TPMI_ECC_CURVE curve;
    TPMI_ALG_HASH name_alg;
    uint16_t sym_bits;
    uint16_t unique_size; /* zero bytes in unique (each coordinate for ECC) */
    int high_range;       /* userWithAuth and PolicyB (PolicyOR) */
    const BYTE *policy;
    uint16_t policy_size;
};

static const struct tpm_ek_profile tpm_ek_profiles[] = {
    {"L-1", 0x01C00002u, TPM2_ALG_RSA, 0, TPM2_ALG_SHA256, 128, 256, 0, tpm_policy_a_sha256, 32},
    {"L-2", 0x01C0000Au, TPM2_ALG_ECC, TPM2_ECC_NIST_P256, TPM2_ALG_SHA256, 128, 32, 0,
     tpm_policy_a_sha256, 32},
    {"H-3", 0x01C00016u, TPM2_ALG_ECC, TPM2_ECC_NIST_P384, TPM2_ALG_SHA384, 256, 0, 1,
     tpm_policy_b_sha384, 48},
};

#define TPM_NPROFILES (sizeof(tpm_ek_profiles) / sizeof(tpm_ek_profiles[0]))

struct tpm_esys {
    TSS2_TCTI_CONTEXT *tcti;
    ESYS_CONTEXT *ctx;
    char *tcti_conf;
    char *state_dir;
    /* The EK, found on first use. */
    const struct tpm_ek_profile *ek;
    uint32_t ek_cert_index;
    struct agent_bytes ek_cert;
    EVP_PKEY *ek_cert_key;
    TPM2B_PUBLIC ek_pub;
    int ek_created; /* ek_pub holds the EK the TPM made */
    /* Keys held loaded. */
    ESYS_TR ak, sk;
    TPM2B_PUBLIC ak_pub, sk_pub;
    TPM2B_NAME ak_name, sk_name;
};

/* --- errors ---------------------------------------------------------- */

static int tpm_rc_to_err(TSS2_RC rc, int fallback)
{
    TSS2_RC layer = rc & TSS2_RC_LAYER_MASK, base = rc & 0xffff, code;

    if (layer != TSS2_TPM_RC_LAYER && layer != TSS2_RESMGR_TPM_RC_LAYER) {
        if (base == TSS2_BASE_RC_IO_ERROR || base == TSS2_BASE_RC_NO_CONNECTION)
            return DA_ERR_TPM_ABSENT;
        if (base == TSS2_BASE_RC_MEMORY)
            return DA_ERR_NOMEM;
        return layer == TSS2_TCTI_RC_LAYER ? DA_ERR_TPM_TCTI : fallback;
    }
    /* A response code of the TPM (or of a resource manager speaking for it).
     * Format-one codes carry a handle, session or parameter number: drop it. */
    code = (base & TPM2_RC_FMT1) != 0 ? (base & (TPM2_RC_FMT1 | 0x3f)) : (base & 0xfff);
    switch (code) {
    case TPM2_RC_OBJECT_MEMORY:
    case TPM2_RC_SESSION_MEMORY:
    case TPM2_RC_MEMORY:
    case TPM2_RC_OBJECT_HANDLES:
    case TPM2_RC_SESSION_HANDLES:
        return DA_ERR_TPM_OBJECT_MEMORY;
    case TPM2_RC_AUTH_FAIL:
    case TPM2_RC_BAD_AUTH:
    case TPM2_RC_POLICY_FAIL:
    case TPM2_RC_LOCKOUT:
    case TPM2_RC_AUTH_MISSING:
    case TPM2_RC_AUTH_UNAVAILABLE:
        return DA_ERR_TPM_AUTH;
    default:
        return fallback;
    }
}

static const char *tpm_err_hint(int err)
{
    switch (err) {
    case DA_ERR_TPM_OBJECT_MEMORY:
        return " [the TPM is out of memory for objects or sessions: another program holds "
               "transient objects; use the resource manager (device:/dev/tpmrm0)]";
    case DA_ERR_TPM_AUTH:
        return " [authorization refused: check the endorsement hierarchy password "
               "(endorsement_auth) and the TPM's dictionary-attack lockout]";
    case DA_ERR_TPM_ABSENT:
        return " [no TPM answers on this TCTI; software-key mode is only used when configured]";
    default:
        return "";
    }
}

#define TPM_FAIL(what, rc, fallback) tpm_fail(__func__, (what), (rc), (fallback))

static int tpm_fail(const char *func, const char *what, TSS2_RC rc, int fallback)
{
    int err = tpm_rc_to_err(rc, fallback);

    da_log_msg(DA_LOG_ERROR, func, "%s failed: %s (0x%x)%s", what, Tss2_RC_Decode(rc), (unsigned)rc,
               tpm_err_hint(err));
    return err;
}

static void tpm_flush(struct tpm_esys *e, ESYS_TR *h)
{
    TSS2_RC rc;

    if (*h == ESYS_TR_NONE)
        return;
    rc = Esys_FlushContext(e->ctx, *h);
    if (rc != TSS2_RC_SUCCESS)
        da_warn_f("Esys_FlushContext: %s", Tss2_RC_Decode(rc));
    *h = ESYS_TR_NONE;
}

/* --- open and close ------------------------------------------------------ */

static void esys_close(void *impl)
{
    struct tpm_esys *e = impl;

    if (e == NULL)
        return;
    if (e->ctx != NULL) {
        tpm_flush(e, &e->ak);
        tpm_flush(e, &e->sk);
        Esys_Finalize(&e->ctx);
    }
    if (e->tcti != NULL)
        Tss2_TctiLdr_Finalize(&e->tcti);
    agent_bytes_free(&e->ek_cert);
    EVP_PKEY_free(e->ek_cert_key);
    free(e->tcti_conf);
    free(e->state_dir);
    OPENSSL_cleanse(e, sizeof(*e));
    free(e);
}

/* The first command tells whether a TPM answers; a TPM that firmware did not
 * start (a bare simulator) is started here. */
static int tpm_probe(struct tpm_esys *e)
{
    TPMS_CAPABILITY_DATA *cap = NULL;
    TPMI_YES_NO more;
    TSS2_RC rc;

    rc = Esys_GetCapability(e->ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                            TPM2_CAP_TPM_PROPERTIES, TPM2_PT_MANUFACTURER, 1, &more, &cap);
    if ((rc & 0xffff) == TPM2_RC_INITIALIZE) {
        rc = Esys_Startup(e->ctx, TPM2_SU_CLEAR);
        if (rc != TSS2_RC_SUCCESS)
            return TPM_FAIL("Esys_Startup", rc, DA_ERR_TPM);
        rc = Esys_GetCapability(e->ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                TPM2_CAP_TPM_PROPERTIES, TPM2_PT_MANUFACTURER, 1, &more, &cap);
    }
    Esys_Free(cap);
    if (rc != TSS2_RC_SUCCESS)
        return TPM_FAIL("Esys_GetCapability", rc, DA_ERR_TPM_ABSENT);
    return 0;
}

static int tpm_set_endorsement_auth(struct tpm_esys *e, const char *auth)
{
    TPM2B_AUTH a;
    size_t n = auth != NULL ? strlen(auth) : 0;
    TSS2_RC rc;

    if (n > sizeof(a.buffer)) {
        da_error_f("endorsement password longer than %zu bytes", sizeof(a.buffer));
        return DA_ERR_CONFIG;
    }
    memset(&a, 0, sizeof(a));
    a.size = (UINT16)n;
    if (n > 0)
        memcpy(a.buffer, auth, n);
    rc = Esys_TR_SetAuth(e->ctx, ESYS_TR_RH_ENDORSEMENT, &a);
    OPENSSL_cleanse(&a, sizeof(a));
    if (rc != TSS2_RC_SUCCESS)
        return TPM_FAIL("Esys_TR_SetAuth", rc, DA_ERR_TPM);
    return 0;
}

static int esys_open(const struct agent_tpm_settings *s, void **impl)
{
    struct tpm_esys *e = calloc(1, sizeof(*e));
    const char *conf = s->tcti != NULL && s->tcti[0] != '\0' ? s->tcti : AGENT_TPM_DEFAULT_TCTI;
    TSS2_RC rc;
    int err;

    *impl = NULL;
    if (e == NULL)
        return DA_ERR_NOMEM;
    e->ak = e->sk = ESYS_TR_NONE;
    e->tcti_conf = strdup(conf);
    e->state_dir = strdup(s->state_dir);
    if (e->tcti_conf == NULL || e->state_dir == NULL) {
        err = DA_ERR_NOMEM;
        goto fail;
    }
    rc = Tss2_TctiLdr_Initialize(conf, &e->tcti);
    if (rc != TSS2_RC_SUCCESS) {
        err = tpm_rc_to_err(rc, DA_ERR_TPM_TCTI);
        da_error_f("cannot reach a TPM through TCTI '%s': %s (0x%x)%s", conf, Tss2_RC_Decode(rc),
                   (unsigned)rc, tpm_err_hint(err));
        goto fail;
    }
    rc = Esys_Initialize(&e->ctx, e->tcti, NULL);
    if (rc != TSS2_RC_SUCCESS) {
        err = TPM_FAIL("Esys_Initialize", rc, DA_ERR_TPM_ABSENT);
        goto fail;
    }
    err = tpm_probe(e);
    if (err == 0)
        err = tpm_set_endorsement_auth(e, s->endorsement_auth);
    if (err != 0)
        goto fail;
    *impl = e;
    return 0;
fail:
    esys_close(e);
    return err;
}

/* --- EK certificate -------------------------------------------------------- */

/* Which EK certificate indices exist (bit i: tpm_ek_profiles[i]). */
static int tpm_ek_cert_indices(struct tpm_esys *e, unsigned *present)
{
    TPMS_CAPABILITY_DATA *cap = NULL;
    TPMI_YES_NO more = TPM2_YES;
    TPM2_HANDLE next = TPM_EK_CERT_FIRST;
    TSS2_RC rc;
    uint32_t i;
    size_t p;

    *present = 0;
    while (more == TPM2_YES && next <= TPM_EK_CERT_LAST) {
        rc = Esys_GetCapability(e->ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_HANDLES,
                                next, 32, &more, &cap);
        if (rc != TSS2_RC_SUCCESS)
            return TPM_FAIL("Esys_GetCapability(NV handles)", rc, DA_ERR_TPM);
        if (cap->data.handles.count == 0)
            more = TPM2_NO;
        for (i = 0; i < cap->data.handles.count; i++) {
            TPM2_HANDLE h = cap->data.handles.handle[i];
            for (p = 0; p < TPM_NPROFILES; p++) {
                if (tpm_ek_profiles[p].cert_index == h)
                    *present |= 1u << p;
            }
            next = h + 1;
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

static int tpm_nv_read(struct tpm_esys *e, uint32_t index, struct agent_bytes *out)
{
    ESYS_TR nv = ESYS_TR_NONE, auth;
    TPM2B_NV_PUBLIC *pub = NULL;
    TPMA_NV attrs;
    uint16_t size;
    TSS2_RC rc;
    int err;

    out->data = NULL;
    out->len = 0;
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
    out->data = malloc(size);
    if (out->data == NULL) {
        err = DA_ERR_NOMEM;
        goto out;
    }
    err = tpm_nv_read_chunks(e, auth, nv, size, out->data);
    if (err == 0)
        out->len = size;
    else
        agent_bytes_free(out);
out:
    if (err != 0)
        da_error_f("EK certificate at NV index 0x%08x could not be read", index);
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
static int tpm_ek_cert_take(struct tpm_esys *e, const struct tpm_ek_profile *p,
                            struct agent_bytes *nv)
{
    const unsigned char *q = nv->data;
    X509 *cert = d2i_X509(NULL, &q, (long)nv->len);
    EVP_PKEY *key = NULL;
    int rc = DA_ERR_TPM_NV_READ;

    if (cert == NULL) {
        da_error_f("EK certificate at 0x%08x is not DER X.509", p->cert_index);
        goto out;
    }
    key = X509_get_pubkey(cert);
    if (key == NULL || !tpm_cert_key_fits(key, p)) {
        da_warn_f("EK certificate at 0x%08x does not hold the key of template %s; ignored",
                  p->cert_index, p->label);
        rc = DA_ERR_NOT_FOUND;
        goto out;
    }
    nv->len = (size_t)(q - nv->data);
    e->ek_cert = *nv;
    nv->data = NULL; /* transferred */
    nv->len = 0;
    e->ek_cert_key = key;
    key = NULL; /* transferred */
    e->ek_cert_index = p->cert_index;
    e->ek = p;
    rc = 0;
out:
    EVP_PKEY_free(key);
    X509_free(cert);
    return rc;
}

/* Choose the EK: the first certificate in order of preference whose key fits
 * its template; without any, the RSA 2048 template and no certificate. */
static int tpm_ek_discover(struct tpm_esys *e)
{
    struct agent_bytes nv = {NULL, 0};
    unsigned present;
    size_t i;
    int rc;

    if (e->ek != NULL)
        return 0;
    rc = tpm_ek_cert_indices(e, &present);
    if (rc != 0)
        return rc;
    for (i = 0; i < TPM_NPROFILES; i++) {
        if ((present & (1u << i)) == 0)
            continue;
        rc = tpm_nv_read(e, tpm_ek_profiles[i].cert_index, &nv);
        if (rc != 0)
            return rc;
        rc = tpm_ek_cert_take(e, &tpm_ek_profiles[i], &nv);
        agent_bytes_free(&nv);
        if (rc == 0)
            return 0;
        if (rc != DA_ERR_NOT_FOUND)
            return rc;
    }
    da_info_f("the TPM holds no EK certificate; enrolling with the EK public key only");
    e->ek = &tpm_ek_profiles[0];
    e->ek_cert_index = 0;
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
    struct agent_bytes x = {NULL, 0}, y = {NULL, 0};
    int rc = agent_mu_public(a, &x);

    if (rc == 0)
        rc = agent_mu_public(b, &y);
    if (rc == 0 && (x.len != y.len || memcmp(x.data, y.data, x.len) != 0))
        rc = DA_ERR_TPM_EK_MISMATCH;
    agent_bytes_free(&x);
    agent_bytes_free(&y);
    return rc;
}

static int tpm_ek_create(struct tpm_esys *e, ESYS_TR *ek)
{
    TPM2B_SENSITIVE_CREATE sens;
    TPM2B_PUBLIC tmpl, *pub = NULL;
    TPM2B_DATA outside;
    TPML_PCR_SELECTION pcrs;
    TSS2_RC rc;
    int err;

    *ek = ESYS_TR_NONE;
    err = tpm_ek_discover(e);
    if (err != 0)
        return err;
    memset(&sens, 0, sizeof(sens));
    memset(&outside, 0, sizeof(outside));
    memset(&pcrs, 0, sizeof(pcrs));
    tpm_ek_template(e->ek, &tmpl);
    rc =
        Esys_CreatePrimary(e->ctx, ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                           ESYS_TR_NONE, &sens, &tmpl, &outside, &pcrs, ek, &pub, NULL, NULL, NULL);
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
    if (err != 0)
        tpm_flush(e, ek);
    return err;
}

/* A policy session that satisfies the EK's authPolicy: PolicySecret on the
 * endorsement hierarchy, and for the high-range templates the PolicyOR. */
static int tpm_ek_session(struct tpm_esys *e, ESYS_TR *session)
{
    TPMT_SYM_DEF sym = {.algorithm = TPM2_ALG_NULL};
    TPML_DIGEST branches;
    TSS2_RC rc;
    int err;

    rc = Esys_StartAuthSession(e->ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                               ESYS_TR_NONE, NULL, TPM2_SE_POLICY, &sym, e->ek->name_alg, session);
    if (rc != TSS2_RC_SUCCESS) {
        *session = ESYS_TR_NONE;
        return TPM_FAIL("Esys_StartAuthSession", rc, DA_ERR_TPM);
    }
    rc = Esys_PolicySecret(e->ctx, ESYS_TR_RH_ENDORSEMENT, *session, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                           ESYS_TR_NONE, NULL, NULL, NULL, 0, NULL, NULL);
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
    return 0;
fail:
    tpm_flush(e, session);
    return err;
}

/* --- AK and SK ------------------------------------------------------------ */

static void tpm_key_template(int restricted, TPM2B_PUBLIC *t)
{
    TPMT_PUBLIC *a = &t->publicArea;

    memset(t, 0, sizeof(*t));
    a->type = TPM2_ALG_ECC;
    a->nameAlg = TPM2_ALG_SHA256;
    a->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                          TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                          TPMA_OBJECT_SIGN_ENCRYPT;
    if (restricted)
        a->objectAttributes |= TPMA_OBJECT_RESTRICTED;
    a->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
    a->parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
    a->parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
    a->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
    a->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
}

static int tpm_key_create(struct tpm_esys *e, ESYS_TR ek, int restricted, struct agent_bytes *blob)
{
    TPM2B_SENSITIVE_CREATE sens;
    TPM2B_PUBLIC tmpl, *pub = NULL;
    TPM2B_PRIVATE *priv = NULL;
    TPM2B_DATA outside;
    TPML_PCR_SELECTION pcrs;
    ESYS_TR session;
    TSS2_RC rc;
    int err;

    memset(&sens, 0, sizeof(sens));
    memset(&outside, 0, sizeof(outside));
    memset(&pcrs, 0, sizeof(pcrs));
    tpm_key_template(restricted, &tmpl);
    err = tpm_ek_session(e, &session);
    if (err != 0)
        return err;
    rc = Esys_Create(e->ctx, ek, session, ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl, &outside, &pcrs,
                     &priv, &pub, NULL, NULL, NULL);
    tpm_flush(e, &session);
    if (rc != TSS2_RC_SUCCESS)
        return TPM_FAIL(restricted ? "Esys_Create(AK)" : "Esys_Create(SK)", rc, DA_ERR_TPM);
    err = agent_keyblob_encode(priv, pub, blob);
    OPENSSL_cleanse(priv, sizeof(*priv));
    Esys_Free(priv);
    Esys_Free(pub);
    return err;
}

static int tpm_key_load(struct tpm_esys *e, ESYS_TR ek, const char *what,
                        const struct agent_bytes *blob, ESYS_TR *key, TPM2B_PUBLIC *pub)
{
    TPM2B_PRIVATE priv;
    ESYS_TR session;
    TSS2_RC rc;
    int err;

    err = agent_keyblob_decode(blob->data, blob->len, &priv, pub);
    if (err != 0) {
        da_error_f("%s/%s is not a key blob", e->state_dir, what);
        return err;
    }
    err = tpm_ek_session(e, &session);
    if (err != 0)
        goto out;
    rc = Esys_Load(e->ctx, ek, session, ESYS_TR_NONE, ESYS_TR_NONE, &priv, pub, key);
    tpm_flush(e, &session);
    if (rc != TSS2_RC_SUCCESS) {
        *key = ESYS_TR_NONE;
        err = TPM_FAIL("Esys_Load", rc, DA_ERR_TPM_KEY_BLOB);
        if (err == DA_ERR_TPM_KEY_BLOB)
            da_error_f("%s/%s was not made by this TPM under this EK", e->state_dir, what);
    }
out:
    OPENSSL_cleanse(&priv, sizeof(priv));
    return err;
}

/* The blob of one key from the state directory, created when missing and
 * allowed. Another agent creating it at the same moment wins. */
static int tpm_key_blob(struct tpm_esys *e, ESYS_TR ek, const char *file, int restricted, int flags,
                        struct agent_bytes *blob)
{
    int rc = agent_state_read(e->state_dir, file, DA_MAX_KEY_FILE, blob);

    if (rc != DA_ERR_NOT_FOUND)
        return rc;
    if ((flags & AGENT_IDENTITY_CREATE) == 0) {
        da_info_f("no %s in %s: the identity has not been created (enroll first)", file,
                  e->state_dir);
        return DA_ERR_NOT_FOUND;
    }
    rc = tpm_key_create(e, ek, restricted, blob);
    if (rc == 0)
        rc = agent_state_write_new(e->state_dir, file, blob->data, blob->len);
    if (rc == DA_ERR_EXISTS) {
        agent_bytes_free(blob);
        rc = agent_state_read(e->state_dir, file, DA_MAX_KEY_FILE, blob);
    }
    if (rc == 0)
        da_info_f("created %s under the EK (template %s)", file, e->ek->label);
    return rc;
}

/* The keys in the state directory belong to the EK they were made under. */
static int tpm_ek_state_check(struct tpm_esys *e, int flags)
{
    struct agent_bytes stored = {NULL, 0}, now = {NULL, 0};
    int rc = agent_mu_public(&e->ek_pub, &now);

    if (rc != 0)
        return rc;
    rc = agent_state_read(e->state_dir, AGENT_STATE_EK_PUBLIC, DA_MAX_TPM_STRUCT, &stored);
    if (rc == DA_ERR_NOT_FOUND && (flags & AGENT_IDENTITY_CREATE) != 0) {
        rc = agent_state_write_new(e->state_dir, AGENT_STATE_EK_PUBLIC, now.data, now.len);
        if (rc == DA_ERR_EXISTS)
            rc = agent_state_read(e->state_dir, AGENT_STATE_EK_PUBLIC, DA_MAX_TPM_STRUCT, &stored);
    } else if (rc == DA_ERR_NOT_FOUND) {
        rc = 0;
    }
    if (rc == 0 && stored.data != NULL &&
        (stored.len != now.len || memcmp(stored.data, now.data, now.len) != 0)) {
        da_error_f("the keys in %s were made under another EK (another TPM, or the EK "
                   "changed); move the state directory away to enroll again",
                   e->state_dir);
        rc = DA_ERR_TPM_KEY_BLOB;
    }
    agent_bytes_free(&stored);
    agent_bytes_free(&now);
    return rc;
}

static int tpm_key_ready(struct tpm_esys *e, ESYS_TR ek, const char *file, int restricted,
                         int flags, ESYS_TR *key, TPM2B_PUBLIC *pub, TPM2B_NAME *name)
{
    struct agent_bytes blob = {NULL, 0};
    int rc;

    if (*key != ESYS_TR_NONE)
        return 0;
    rc = tpm_key_blob(e, ek, file, restricted, flags, &blob);
    if (rc == 0)
        rc = tpm_key_load(e, ek, file, &blob, key, pub);
    if (rc == 0)
        rc = agent_tpm_public_name(pub, name);
    agent_bytes_free(&blob);
    return rc;
}

static int tpm_keys_have_blobs(struct tpm_esys *e)
{
    struct agent_bytes b = {NULL, 0};
    int rc = agent_state_read(e->state_dir, AGENT_STATE_AK_BLOB, DA_MAX_KEY_FILE, &b);

    agent_bytes_free(&b);
    if (rc == 0)
        rc = agent_state_read(e->state_dir, AGENT_STATE_SK_BLOB, DA_MAX_KEY_FILE, &b);
    agent_bytes_free(&b);
    if (rc == DA_ERR_NOT_FOUND)
        da_info_f("no AK/SK in %s: the identity has not been created (enroll first)", e->state_dir);
    return rc;
}

/* Make sure the AK and SK are loaded (creating them if allowed). */
static int tpm_keys_ready(struct tpm_esys *e, int flags)
{
    ESYS_TR ek = ESYS_TR_NONE;
    int rc;

    if (e->ak != ESYS_TR_NONE && e->sk != ESYS_TR_NONE)
        return 0;
    if ((flags & AGENT_IDENTITY_CREATE) == 0) {
        rc = tpm_keys_have_blobs(e);
        if (rc != 0)
            return rc;
    }
    rc = tpm_ek_create(e, &ek);
    if (rc == 0)
        rc = tpm_ek_state_check(e, flags);
    if (rc == 0)
        rc = tpm_key_ready(e, ek, AGENT_STATE_AK_BLOB, 1, flags, &e->ak, &e->ak_pub, &e->ak_name);
    if (rc == 0)
        rc = tpm_key_ready(e, ek, AGENT_STATE_SK_BLOB, 0, flags, &e->sk, &e->sk_pub, &e->sk_name);
    tpm_flush(e, &ek);
    return rc;
}

/* --- certify, identity ---------------------------------------------------- */

static int tpm_attest_out(const TPM2B_ATTEST *a, const TPMT_SIGNATURE *s,
                          struct agent_bytes *attest, struct agent_bytes *sig)
{
    int rc = agent_bytes_copy(attest, a->attestationData, a->size);

    if (rc == 0)
        rc = agent_mu_signature(s, sig);
    return rc;
}

static int esys_certify_sk(void *impl, const TPM2B_DATA *qualifying, struct agent_bytes *attest,
                           struct agent_bytes *sig)
{
    struct tpm_esys *e = impl;
    TPMT_SIG_SCHEME scheme = {.scheme = TPM2_ALG_NULL};
    TPM2B_ATTEST *info = NULL;
    TPMT_SIGNATURE *signature = NULL;
    TSS2_RC rc;
    int err = tpm_keys_ready(e, AGENT_IDENTITY_LOAD);

    if (err != 0)
        return err;
    rc = Esys_Certify(e->ctx, e->sk, e->ak, ESYS_TR_PASSWORD, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                      qualifying, &scheme, &info, &signature);
    if (rc != TSS2_RC_SUCCESS)
        return TPM_FAIL("Esys_Certify(SK by AK)", rc, DA_ERR_TPM);
    err = tpm_attest_out(info, signature, attest, sig);
    Esys_Free(info);
    Esys_Free(signature);
    return err;
}

static int tpm_identity_ek(struct tpm_esys *e, struct agent_tpm_identity *id)
{
    int rc;

    id->ek_cert_index = e->ek_cert_index;
    id->ek_template = e->ek->label;
    rc = agent_bytes_copy(&id->ek_cert, e->ek_cert.data, e->ek_cert.len);
    if (rc == 0)
        rc = agent_mu_public(&e->ek_pub, &id->ek_public);
    return rc;
}

static int esys_identity(void *impl, int flags, struct agent_tpm_identity *id)
{
    struct tpm_esys *e = impl;
    TPM2B_DATA none = {.size = 0};
    ESYS_TR ek = ESYS_TR_NONE;
    int rc;

    if ((flags & AGENT_IDENTITY_EK_ONLY) != 0) {
        if (!e->ek_created) {
            rc = tpm_ek_create(e, &ek);
            tpm_flush(e, &ek);
            if (rc != 0)
                return rc;
        }
        return tpm_identity_ek(e, id);
    }
    rc = tpm_keys_ready(e, flags);
    if (rc == 0)
        rc = tpm_identity_ek(e, id);
    if (rc == 0)
        rc = agent_identity_put_keys(id, &e->ak_pub, &e->ak_name, &e->sk_pub, &e->sk_name);
    if (rc == 0)
        rc = esys_certify_sk(e, &none, &id->sk_certify_attest, &id->sk_certify_signature);
    return rc;
}

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

static int tpm_pcr_concat(const struct tpm_pcr_values *v, struct agent_bytes *out)
{
    size_t total = 0, off = 0;
    uint32_t b;
    unsigned pcr;

    for (b = 0; b < v->sel.count; b++) {
        for (pcr = 0; pcr < TPM_PCR_COUNT; pcr++) {
            if (v->sel.pcrSelections[b].pcrSelect[pcr / 8] & (1u << (pcr % 8)))
                total += v->value[b][pcr].size;
        }
    }
    out->data = malloc(total > 0 ? total : 1);
    if (out->data == NULL)
        return DA_ERR_NOMEM;
    for (b = 0; b < v->sel.count; b++) {
        for (pcr = 0; pcr < TPM_PCR_COUNT; pcr++) {
            const TPM2B_DIGEST *d = &v->value[b][pcr];
            if ((v->sel.pcrSelections[b].pcrSelect[pcr / 8] & (1u << (pcr % 8))) == 0)
                continue;
            memcpy(out->data + off, d->buffer, d->size);
            off += d->size;
        }
    }
    out->len = off;
    return 0;
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
    TSS2_RC trc;
    int rc = tpm_pcr_read(e, v);

    if (rc == 0)
        rc = tpm_pcr_concat(v, &q->pcr_values);
    if (rc != 0)
        return rc;
    trc = Esys_Quote(e->ctx, e->ak, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, qual, &scheme,
                     &v->sel, &quoted, &sig);
    if (trc != TSS2_RC_SUCCESS)
        return TPM_FAIL("Esys_Quote", trc, DA_ERR_TPM);
    rc = agent_unmu_attest(quoted->attestationData, quoted->size, &attest);
    if (rc != 0 || attest.magic != TPM2_GENERATED_VALUE || attest.type != TPM2_ST_ATTEST_QUOTE) {
        da_error_f("the TPM's quote is not a TPMS_ATTEST of type quote");
        rc = DA_ERR_TPM;
        goto out;
    }
    rc = agent_tpm_digest(e->ak_pub.publicArea.parameters.eccDetail.scheme.details.ecdsa.hashAlg,
                          q->pcr_values.data, q->pcr_values.len, &digest);
    if (rc != 0)
        goto out;
    if (digest.size != attest.attested.quote.pcrDigest.size ||
        memcmp(digest.buffer, attest.attested.quote.pcrDigest.buffer, digest.size) != 0) {
        rc = DA_ERR_TPM_PCR_CHANGED;
        goto out;
    }
    rc = tpm_attest_out(quoted, sig, &q->attest, &q->signature);
    if (rc == 0)
        rc = agent_mu_pcr_selection(&attest.attested.quote.pcrSelect, &q->pcr_selection);
out:
    Esys_Free(quoted);
    Esys_Free(sig);
    return rc;
}

static int esys_quote(void *impl, const TPML_PCR_SELECTION *sel, const TPM2B_DATA *qual,
                      struct agent_tpm_quote *q)
{
    struct tpm_esys *e = impl;
    struct tpm_pcr_values *v;
    int rc = tpm_keys_ready(e, AGENT_IDENTITY_LOAD);

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
        agent_bytes_free(&q->pcr_values);
        agent_bytes_free(&q->attest);
        agent_bytes_free(&q->signature);
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

/* --- credential activation, signing ---------------------------------- */

static int esys_activate_credential(void *impl, const TPM2B_ID_OBJECT *credential,
                                    const TPM2B_ENCRYPTED_SECRET *secret, struct agent_bytes *out)
{
    struct tpm_esys *e = impl;
    ESYS_TR ek = ESYS_TR_NONE, session = ESYS_TR_NONE;
    TPM2B_DIGEST *cert_info = NULL;
    TSS2_RC trc;
    int rc = tpm_keys_ready(e, AGENT_IDENTITY_LOAD);

    if (rc == 0)
        rc = tpm_ek_create(e, &ek);
    if (rc == 0)
        rc = tpm_ek_session(e, &session);
    if (rc != 0)
        goto out;
    trc = Esys_ActivateCredential(e->ctx, e->ak, ek, ESYS_TR_PASSWORD, session, ESYS_TR_NONE,
                                  credential, secret, &cert_info);
    if (trc != TSS2_RC_SUCCESS) {
        rc = TPM_FAIL("Esys_ActivateCredential", trc, DA_ERR_TPM_ACTIVATE);
        goto out;
    }
    rc = agent_bytes_copy(out, cert_info->buffer, cert_info->size);
    OPENSSL_cleanse(cert_info, sizeof(*cert_info));
out:
    Esys_Free(cert_info);
    tpm_flush(e, &session);
    tpm_flush(e, &ek);
    return rc;
}

static int esys_sign_digest(void *impl, const TPM2B_DIGEST *digest, struct agent_bytes *der)
{
    struct tpm_esys *e = impl;
    TPMT_SIG_SCHEME scheme = {.scheme = TPM2_ALG_NULL};
    TPMT_TK_HASHCHECK ticket = {.tag = TPM2_ST_HASHCHECK, .hierarchy = TPM2_RH_NULL};
    TPMT_SIGNATURE *sig = NULL;
    TSS2_RC trc;
    int rc = tpm_keys_ready(e, AGENT_IDENTITY_LOAD);

    if (rc != 0)
        return rc;
    trc = Esys_Sign(e->ctx, e->sk, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, digest, &scheme,
                    &ticket, &sig);
    if (trc != TSS2_RC_SUCCESS)
        return TPM_FAIL("Esys_Sign(SK)", trc, DA_ERR_TPM);
    if (sig->sigAlg != TPM2_ALG_ECDSA) {
        da_error_f("the SK signed with algorithm 0x%x instead of ECDSA", sig->sigAlg);
        rc = DA_ERR_TPM;
    } else {
        rc = agent_ecdsa_tpm_to_der(&sig->signature.ecdsa, der);
    }
    Esys_Free(sig);
    return rc;
}

/* --- information ---------------------------------------------------------- */

static int tpm_get_cap(struct tpm_esys *e, TPM2_CAP cap, uint32_t prop, uint32_t count,
                       TPMI_YES_NO *more, TPMS_CAPABILITY_DATA **data)
{
    TSS2_RC rc = Esys_GetCapability(e->ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, cap, prop,
                                    count, more, data);

    if (rc != TSS2_RC_SUCCESS)
        return TPM_FAIL("Esys_GetCapability", rc, DA_ERR_TPM);
    return 0;
}

static void tpm_info_chars(char *dst, uint32_t v)
{
    int i;

    for (i = 0; i < 4; i++) {
        char c = (char)((v >> (24 - 8 * i)) & 0xff);
        dst[i] = (c >= 0x20 && c < 0x7f) ? c : (c == 0 ? '\0' : '?');
    }
}

static void tpm_info_property(struct agent_tpm_info *info, const TPMS_TAGGED_PROPERTY *p)
{
    if (p->property == TPM2_PT_MANUFACTURER)
        tpm_info_chars(info->manufacturer, p->value);
    else if (p->property >= TPM2_PT_VENDOR_STRING_1 && p->property <= TPM2_PT_VENDOR_STRING_4)
        tpm_info_chars(info->vendor + 4 * (p->property - TPM2_PT_VENDOR_STRING_1), p->value);
    else if (p->property == TPM2_PT_FIRMWARE_VERSION_1)
        info->firmware_version_1 = p->value;
    else if (p->property == TPM2_PT_FIRMWARE_VERSION_2)
        info->firmware_version_2 = p->value;
    else if (p->property == TPM2_PT_LEVEL)
        info->spec_level = p->value;
    else if (p->property == TPM2_PT_REVISION)
        info->spec_revision = p->value;
}

static int tpm_info_properties(struct tpm_esys *e, struct agent_tpm_info *info)
{
    TPMS_CAPABILITY_DATA *cap = NULL;
    TPMI_YES_NO more = TPM2_YES;
    uint32_t next = TPM2_PT_FIXED, i;
    int rc = 0;

    while (rc == 0 && more == TPM2_YES && next < TPM2_PT_FIXED + 0x100) {
        rc = tpm_get_cap(e, TPM2_CAP_TPM_PROPERTIES, next, TPM2_MAX_TPM_PROPERTIES, &more, &cap);
        if (rc != 0)
            break;
        if (cap->data.tpmProperties.count == 0)
            more = TPM2_NO;
        for (i = 0; i < cap->data.tpmProperties.count; i++) {
            tpm_info_property(info, &cap->data.tpmProperties.tpmProperty[i]);
            next = cap->data.tpmProperties.tpmProperty[i].property + 1;
        }
        Esys_Free(cap);
        cap = NULL;
    }
    return rc;
}

static int tpm_info_banks(struct tpm_esys *e, struct agent_tpm_info *info)
{
    TPMS_CAPABILITY_DATA *cap = NULL;
    TPMI_YES_NO more;
    uint32_t i, mask;
    int rc = tpm_get_cap(e, TPM2_CAP_PCRS, 0, 1, &more, &cap);

    if (rc != 0)
        return rc;
    for (i = 0; i < cap->data.assignedPCR.count && info->bank_count < AGENT_TPM_MAX_BANKS; i++) {
        const TPMS_PCR_SELECTION *s = &cap->data.assignedPCR.pcrSelections[i];
        mask = (uint32_t)s->pcrSelect[0] | (uint32_t)s->pcrSelect[1] << 8 |
               (uint32_t)s->pcrSelect[2] << 16;
        if (mask == 0)
            continue;
        info->banks[info->bank_count] = s->hash;
        info->bank_pcrs[info->bank_count++] = mask;
    }
    Esys_Free(cap);
    return 0;
}

static int tpm_info_transient(struct tpm_esys *e, struct agent_tpm_info *info)
{
    TPMS_CAPABILITY_DATA *cap = NULL;
    TPMI_YES_NO more = TPM2_YES;
    /* TPM2_TRANSIENT_FIRST, spelled out: the TSS macro shifts a signed int. */
    TPM2_HANDLE next = 0x80000000u;
    int rc = 0;

    info->transient_objects = 0;
    while (rc == 0 && more == TPM2_YES) {
        rc = tpm_get_cap(e, TPM2_CAP_HANDLES, next, TPM2_MAX_CAP_HANDLES, &more, &cap);
        if (rc != 0)
            break;
        info->transient_objects += cap->data.handles.count;
        if (cap->data.handles.count == 0)
            more = TPM2_NO;
        else
            next = cap->data.handles.handle[cap->data.handles.count - 1] + 1;
        Esys_Free(cap);
        cap = NULL;
    }
    return rc;
}

static int esys_info(void *impl, struct agent_tpm_info *info)
{
    struct tpm_esys *e = impl;
    int rc = tpm_info_properties(e, info);

    if (rc == 0)
        rc = tpm_info_banks(e, info);
    if (rc == 0)
        rc = tpm_info_transient(e, info);
    return rc;
}

const struct agent_tpm_backend agent_tpm_esys_backend = {
    .trust = AGENT_TRUST_TPM,
    .open = esys_open,
    .close = esys_close,
    .identity = esys_identity,
    .certify_sk = esys_certify_sk,
    .quote = esys_quote,
    .activate_credential = esys_activate_credential,
    .sign_digest = esys_sign_digest,
    .info = esys_info,
};
