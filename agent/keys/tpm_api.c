/* The agent's key interface: checks arguments and dispatches to the backend
 * that the settings name (agent/keys/tpm.c for a TPM, agent/keys/softkey.c for
 * software keys). No fallback between them. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <tss2/tss2_mu.h>

#include "err.h"
#include "log.h"
#include "tpm_internal.h"

struct agent_tpm {
    const struct agent_tpm_backend *backend;
    void *impl;
    char *state_dir;
};

int agent_tpm_open(const struct agent_tpm_settings *settings, struct agent_tpm **out)
{
    struct agent_tpm *t = NULL;
    int rc;

    if (out == NULL)
        return DA_ERR_INVALID_ARG;
    *out = NULL;
    if (settings == NULL)
        return DA_ERR_INVALID_ARG;
    if (settings->mode != AGENT_TPM_MODE_TPM && settings->mode != AGENT_TPM_MODE_SOFTWARE) {
        da_error_f("unknown key mode %d (expected tpm or software)", (int)settings->mode);
        return DA_ERR_CONFIG;
    }
    rc = agent_state_prepare(settings->state_dir, 0);
    if (rc != 0)
        return rc;
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return DA_ERR_NOMEM;
    t->state_dir = strdup(settings->state_dir);
    if (t->state_dir == NULL) {
        free(t);
        return DA_ERR_NOMEM;
    }
    t->backend =
        settings->mode == AGENT_TPM_MODE_TPM ? &agent_tpm_esys_backend : &agent_softkey_backend;
    rc = t->backend->open(settings, &t->impl);
    if (rc != 0) {
        free(t->state_dir);
        free(t);
        return rc;
    }
    if (settings->mode == AGENT_TPM_MODE_SOFTWARE)
        da_warn_f("software-key mode: evidence is marked trust \"software\", not bound to a TPM");
    *out = t;
    return 0;
}

int agent_tpm_test_plain_sessions(struct agent_tpm *t)
{
    if (t == NULL || t->backend != &agent_tpm_esys_backend)
        return DA_ERR_UNSUPPORTED;
    agent_esys_plain_sessions(t->impl);
    return 0;
}

void agent_tpm_close(struct agent_tpm *t)
{
    if (t == NULL)
        return;
    t->backend->close(t->impl);
    free(t->state_dir);
    free(t);
}

const char *agent_tpm_trust(const struct agent_tpm *t)
{
    return t->backend->trust;
}

void agent_tpm_identity_free(struct agent_tpm_identity *id)
{
    if (id == NULL)
        return;
    da_buf_free(&id->ek_cert);
    da_buf_free(&id->ek_public);
    da_buf_free(&id->ak_public);
    da_buf_free(&id->ak_name);
    da_buf_free(&id->sk_public);
    da_buf_free(&id->sk_name);
    da_buf_free(&id->sk_certify_attest);
    da_buf_free(&id->sk_certify_signature);
    free(id);
}

int agent_tpm_identity(struct agent_tpm *t, int flags, struct agent_tpm_identity **out)
{
    struct agent_tpm_identity *id;
    int rc;

    if (out == NULL)
        return DA_ERR_INVALID_ARG;
    *out = NULL;
    if (t == NULL || (flags & ~(AGENT_IDENTITY_CREATE | AGENT_IDENTITY_EK_ONLY)) != 0)
        return DA_ERR_INVALID_ARG;
    if ((flags & AGENT_IDENTITY_CREATE) != 0) {
        rc = agent_state_prepare(t->state_dir, 1);
        if (rc != 0)
            return rc;
    }
    id = calloc(1, sizeof(*id));
    if (id == NULL)
        return DA_ERR_NOMEM;
    id->trust = t->backend->trust;
    rc = t->backend->identity(t->impl, flags, id);
    if (rc != 0) {
        agent_tpm_identity_free(id);
        return rc;
    }
    *out = id;
    return 0;
}

static int agent_qualifying(const unsigned char *q, size_t len, TPM2B_DATA *out)
{
    memset(out, 0, sizeof(*out));
    if (len > AGENT_TPM_MAX_QUALIFYING || (len > 0 && q == NULL)) {
        da_error_f("qualifying data of %zu bytes (at most %d)", len, AGENT_TPM_MAX_QUALIFYING);
        return DA_ERR_INVALID_ARG;
    }
    if (len > 0)
        memcpy(out->buffer, q, len);
    out->size = (UINT16)len;
    return 0;
}

int agent_tpm_certify_sk(struct agent_tpm *t, const unsigned char *qualifying,
                         size_t qualifying_len, struct da_buf *attest, struct da_buf *signature)
{
    TPM2B_DATA q;
    int rc;

    if (attest == NULL || signature == NULL)
        return DA_ERR_INVALID_ARG;
    memset(attest, 0, sizeof(*attest));
    memset(signature, 0, sizeof(*signature));
    if (t == NULL)
        return DA_ERR_INVALID_ARG;
    rc = agent_qualifying(qualifying, qualifying_len, &q);
    if (rc != 0)
        return rc;
    rc = t->backend->certify_sk(t->impl, &q, attest, signature);
    if (rc != 0) {
        da_buf_free(attest);
        da_buf_free(signature);
    }
    return rc;
}

void agent_tpm_quote_free(struct agent_tpm_quote *q)
{
    if (q == NULL)
        return;
    da_buf_free(&q->attest);
    da_buf_free(&q->signature);
    da_buf_free(&q->pcr_selection);
    da_buf_free(&q->pcr_values);
    free(q);
}

static int agent_selection_valid(const TPML_PCR_SELECTION *sel)
{
    uint32_t i, j;

    if (sel->count == 0 || sel->count > AGENT_TPM_MAX_BANKS)
        return 0;
    for (i = 0; i < sel->count; i++) {
        const TPMS_PCR_SELECTION *b = &sel->pcrSelections[i];
        if (da_tpm_hash_size(b->hash) == 0 || b->sizeofSelect < 1 ||
            b->sizeofSelect > sizeof(b->pcrSelect))
            return 0;
        for (j = 0; j < i; j++) {
            if (sel->pcrSelections[j].hash == b->hash)
                return 0;
        }
    }
    return 1;
}

int agent_tpm_quote(struct agent_tpm *t, const TPML_PCR_SELECTION *selection,
                    const unsigned char *qualifying, size_t qualifying_len,
                    struct agent_tpm_quote **out)
{
    struct agent_tpm_quote *q;
    TPM2B_DATA qd;
    int rc;

    if (out == NULL)
        return DA_ERR_INVALID_ARG;
    *out = NULL;
    if (t == NULL || selection == NULL)
        return DA_ERR_INVALID_ARG;
    if (!agent_selection_valid(selection)) {
        da_error_f("PCR selection is empty, names an unknown bank or repeats a bank");
        return DA_ERR_INVALID_ARG;
    }
    rc = agent_qualifying(qualifying, qualifying_len, &qd);
    if (rc != 0)
        return rc;
    q = calloc(1, sizeof(*q));
    if (q == NULL)
        return DA_ERR_NOMEM;
    q->trust = t->backend->trust;
    rc = t->backend->quote(t->impl, selection, &qd, q);
    if (rc != 0) {
        agent_tpm_quote_free(q);
        return rc;
    }
    *out = q;
    return 0;
}

int agent_tpm_activate_credential(struct agent_tpm *t, const unsigned char *credential,
                                  size_t credential_len, const unsigned char *encrypted_secret,
                                  size_t encrypted_secret_len, struct da_buf *secret)
{
    TPM2B_ID_OBJECT cred;
    TPM2B_ENCRYPTED_SECRET enc;
    size_t off1 = 0, off2 = 0;
    int rc;

    if (secret == NULL)
        return DA_ERR_INVALID_ARG;
    memset(secret, 0, sizeof(*secret));
    if (t == NULL || credential == NULL || encrypted_secret == NULL)
        return DA_ERR_INVALID_ARG;
    memset(&cred, 0, sizeof(cred));
    memset(&enc, 0, sizeof(enc));
    if (credential_len > sizeof(cred) || encrypted_secret_len > sizeof(enc) ||
        Tss2_MU_TPM2B_ID_OBJECT_Unmarshal(credential, credential_len, &off1, &cred) !=
            TSS2_RC_SUCCESS ||
        Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal(encrypted_secret, encrypted_secret_len, &off2,
                                                 &enc) != TSS2_RC_SUCCESS) {
        da_error_f("credential blob or encrypted secret is malformed");
        return DA_ERR_INVALID_ARG;
    }
    if (off1 != credential_len || off2 != encrypted_secret_len) {
        da_error_f("trailing bytes after the credential blob or encrypted secret");
        return DA_ERR_TRAILING_DATA;
    }
    rc = t->backend->activate_credential(t->impl, &cred, &enc, secret);
    if (rc != 0)
        da_buf_free(secret);
    return rc;
}

int agent_tpm_sign_digest(struct agent_tpm *t, const unsigned char *digest, size_t digest_len,
                          struct da_buf *der_signature)
{
    TPM2B_DIGEST d;
    int rc;

    if (der_signature == NULL)
        return DA_ERR_INVALID_ARG;
    memset(der_signature, 0, sizeof(*der_signature));
    if (t == NULL || digest == NULL || digest_len != 32) {
        da_error_f("the SK signs SHA-256 digests (32 bytes), not %zu bytes", digest_len);
        return DA_ERR_INVALID_ARG;
    }
    memset(&d, 0, sizeof(d));
    memcpy(d.buffer, digest, digest_len);
    d.size = (UINT16)digest_len;
    rc = t->backend->sign_digest(t->impl, &d, der_signature);
    if (rc != 0)
        da_buf_free(der_signature);
    return rc;
}

int agent_tpm_info(struct agent_tpm *t, struct agent_tpm_info *info)
{
    if (info == NULL)
        return DA_ERR_INVALID_ARG;
    memset(info, 0, sizeof(*info));
    if (t == NULL)
        return DA_ERR_INVALID_ARG;
    info->trust = t->backend->trust;
    return t->backend->info(t->impl, info);
}
