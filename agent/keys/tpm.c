/* The TPM backend of the agent's keys: errors, opening and closing, the
 * sessions every command uses, and the backend table. The ESYS backend is
 * split by what it does (tpm_ek.c, tpm_keys.c, tpm_quote.c, tpm_info.c); these
 * are the only files of the agent that call Esys_*. Every failing call is
 * logged with Tss2_RC_Decode and mapped to a DA_ERR_* code.
 *
 * Objects: the EK is created from its TCG template when a key under it must
 * be created, loaded or used for credential activation, and flushed right
 * after. The AK and SK stay loaded while the handle is open (the AK quotes,
 * the SK signs) and are flushed by close.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "caps.h"
#include "err.h"
#include "log.h"
#include "tpm_esys.h"

/* --- errors ---------------------------------------------------------- */

int agent_esys_rc_to_err(TSS2_RC rc, int fallback)
{
    TSS2_RC layer = rc & TSS2_RC_LAYER_MASK, base = rc & 0xffff, code;

    if (layer != TSS2_TPM_RC_LAYER && layer != TSS2_RESMGR_TPM_RC_LAYER) {
        if (base == TSS2_BASE_RC_IO_ERROR || base == TSS2_BASE_RC_NO_CONNECTION)
            return DA_ERR_TPM_ABSENT;
        if (base == TSS2_BASE_RC_MEMORY)
            return DA_ERR_NOMEM;
        /* ESYS found the response HMAC of a session wrong. */
        if (base == TSS2_BASE_RC_RSP_AUTH_FAILED)
            return DA_ERR_TPM_RESPONSE_AUTH;
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

const char *agent_esys_err_hint(int err)
{
    switch (err) {
    case DA_ERR_TPM_OBJECT_MEMORY:
        return " [the TPM is out of memory for objects or sessions: another program holds "
               "transient objects; use the resource manager (device:/dev/tpmrm0)]";
    case DA_ERR_TPM_AUTH:
        return " [authorization refused: check the endorsement hierarchy password "
               "(endorsement_auth) and the TPM's dictionary-attack lockout]";
    case DA_ERR_TPM_RESPONSE_AUTH:
        return " [a TPM response was altered between the TPM and the agent; this TPM "
               "connection can no longer be used]";
    case DA_ERR_TPM_ABSENT:
        return " [no TPM answers on this TCTI; software-key mode is only used when configured]";
    default:
        return "";
    }
}

int agent_esys_fail(const char *func, const char *what, TSS2_RC rc, int fallback)
{
    int err = agent_esys_rc_to_err(rc, fallback);

    da_log_msg(DA_LOG_ERROR, func, "%s failed: %s (0x%x)%s", what, Tss2_RC_Decode(rc), (unsigned)rc,
               agent_esys_err_hint(err));
    return err;
}

void agent_esys_flush(struct tpm_esys *e, ESYS_TR *h)
{
    TSS2_RC rc;

    if (*h == ESYS_TR_NONE)
        return;
    rc = Esys_FlushContext(e->ctx, *h);
    if (rc != TSS2_RC_SUCCESS)
        da_warn_f("Esys_FlushContext: %s", Tss2_RC_Decode(rc));
    *h = ESYS_TR_NONE;
}

/* --- sessions --------------------------------------------------------------- */

/* Parameter encryption of every session: AES-128 in CFB mode. */
static const TPMT_SYM_DEF tpm_session_sym = {
    .algorithm = TPM2_ALG_AES, .keyBits.aes = 128, .mode.aes = TPM2_ALG_CFB};

int agent_esys_hmac_start(struct tpm_esys *e, ESYS_TR ek)
{
    TSS2_RC rc;

    if (e->plain_sessions || e->hmac != ESYS_TR_NONE)
        return 0;
    rc = Esys_StartAuthSession(e->ctx, ek, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                               NULL, TPM2_SE_HMAC, &tpm_session_sym, TPM2_ALG_SHA256, &e->hmac);
    if (rc != TSS2_RC_SUCCESS) {
        e->hmac = ESYS_TR_NONE;
        return TPM_FAIL("Esys_StartAuthSession(HMAC, salted with the EK)", rc, DA_ERR_TPM);
    }
    return 0;
}

int agent_esys_session_attrs(struct tpm_esys *e, ESYS_TR session, TPMA_SESSION attrs)
{
    TSS2_RC rc =
        Esys_TRSess_SetAttributes(e->ctx, session, TPMA_SESSION_CONTINUESESSION | attrs, 0xff);

    if (rc != TSS2_RC_SUCCESS)
        return TPM_FAIL("Esys_TRSess_SetAttributes", rc, DA_ERR_TPM);
    return 0;
}

int agent_esys_auth(struct tpm_esys *e, TPMA_SESSION attrs, ESYS_TR *session, ESYS_TR *tmp)
{
    TSS2_RC rc;

    *tmp = ESYS_TR_NONE;
    if (e->plain_sessions) {
        *session = ESYS_TR_PASSWORD;
        return 0;
    }
    if (e->hmac != ESYS_TR_NONE) {
        *session = e->hmac;
        return agent_esys_session_attrs(e, e->hmac, attrs);
    }
    /* Before the EK exists there is no key to salt with: an unsalted HMAC
     * session still keeps the password itself off the bus. It carries no
     * parameter encryption (its key would be the password alone). */
    rc = Esys_StartAuthSession(e->ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                               ESYS_TR_NONE, NULL, TPM2_SE_HMAC, &tpm_session_sym, TPM2_ALG_SHA256,
                               tmp);
    if (rc != TSS2_RC_SUCCESS) {
        *tmp = ESYS_TR_NONE;
        return TPM_FAIL("Esys_StartAuthSession(HMAC)", rc, DA_ERR_TPM);
    }
    *session = *tmp;
    return agent_esys_session_attrs(e, *tmp, 0);
}

void agent_esys_plain_sessions(void *impl)
{
    ((struct tpm_esys *)impl)->plain_sessions = 1;
}

/* --- open and close ------------------------------------------------------ */

static void esys_close(void *impl)
{
    struct tpm_esys *e = impl;

    if (e == NULL)
        return;
    /* A context ESYS refuses cannot flush; the resource manager (or a TPM
     * reset) frees what it held. */
    if (e->ctx != NULL && !e->broken) {
        agent_esys_flush(e, &e->ak);
        agent_esys_flush(e, &e->sk);
        agent_esys_flush(e, &e->hmac);
    }
    if (e->ctx != NULL)
        Esys_Finalize(&e->ctx);
    if (e->tcti != NULL)
        Tss2_TctiLdr_Finalize(&e->tcti);
    da_buf_free(&e->ek_cert);
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
    e->ak = e->sk = e->hmac = ESYS_TR_NONE;
    e->tcti_conf = strdup(conf);
    e->state_dir = strdup(s->state_dir);
    if (e->tcti_conf == NULL || e->state_dir == NULL) {
        err = DA_ERR_NOMEM;
        goto fail;
    }
    rc = Tss2_TctiLdr_Initialize(conf, &e->tcti);
    if (rc != TSS2_RC_SUCCESS) {
        err = agent_esys_rc_to_err(rc, DA_ERR_TPM_TCTI);
        da_error_f("cannot reach a TPM through TCTI '%s': %s (0x%x)%s", conf, Tss2_RC_Decode(rc),
                   (unsigned)rc, agent_esys_err_hint(err));
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

/* --- the backend table ------------------------------------------------------ */

/* After a response failed its HMAC check ESYS refuses the context: every
 * later call says so plainly instead of failing in ESYS's own words. */
static int tpm_usable(const struct tpm_esys *e)
{
    if (!e->broken)
        return 0;
    da_error_f("a TPM response was altered earlier on this connection; close and open the TPM "
               "again");
    return DA_ERR_TPM_RESPONSE_AUTH;
}

static int tpm_after(struct tpm_esys *e, int rc)
{
    if (rc == DA_ERR_TPM_RESPONSE_AUTH)
        e->broken = 1;
    return rc;
}

static int esys_identity(void *impl, int flags, struct agent_tpm_identity *id)
{
    int rc = tpm_usable(impl);

    return rc != 0 ? rc : tpm_after(impl, agent_esys_identity(impl, flags, id));
}

static int esys_certify_sk(void *impl, const TPM2B_DATA *qualifying, struct da_buf *attest,
                           struct da_buf *signature)
{
    int rc = tpm_usable(impl);

    return rc != 0 ? rc
                   : tpm_after(impl, agent_esys_certify_sk(impl, qualifying, attest, signature));
}

static int esys_quote(void *impl, const TPML_PCR_SELECTION *sel, const TPM2B_DATA *qual,
                      struct agent_tpm_quote *q)
{
    int rc = tpm_usable(impl);

    return rc != 0 ? rc : tpm_after(impl, agent_esys_quote(impl, sel, qual, q));
}

static int esys_activate_credential(void *impl, const TPM2B_ID_OBJECT *credential,
                                    const TPM2B_ENCRYPTED_SECRET *secret, struct da_buf *out)
{
    int rc = tpm_usable(impl);

    return rc != 0 ? rc
                   : tpm_after(impl, agent_esys_activate_credential(impl, credential, secret, out));
}

static int esys_sign_digest(void *impl, const TPM2B_DIGEST *digest, struct da_buf *der)
{
    int rc = tpm_usable(impl);

    return rc != 0 ? rc : tpm_after(impl, agent_esys_sign_digest(impl, digest, der));
}

static int esys_info(void *impl, struct agent_tpm_info *info)
{
    int rc = tpm_usable(impl);

    return rc != 0 ? rc : tpm_after(impl, agent_esys_info(impl, info));
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
