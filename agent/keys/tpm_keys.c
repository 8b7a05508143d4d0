/* The AK and SK of the ESYS backend: creation under the EK, key blobs in the
 * state directory, loading, certification, identity, credential activation
 * and digest signing. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_rc.h>

#include "caps.h"
#include "err.h"
#include "log.h"
#include "tpm_esys.h"

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

static int tpm_key_create(struct tpm_esys *e, ESYS_TR ek, int restricted, struct da_buf *blob)
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
    /* The key's sensitive data goes in and its private part comes back
     * encrypted under the session salted with the EK. */
    err = agent_esys_ek_session(e, ek, AGENT_ESYS_SESSION_DECRYPT | AGENT_ESYS_SESSION_ENCRYPT,
                                &session);
    if (err != 0)
        return err;
    rc = Esys_Create(e->ctx, ek, session, ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl, &outside, &pcrs,
                     &priv, &pub, NULL, NULL, NULL);
    agent_esys_flush(e, &session);
    if (rc != TSS2_RC_SUCCESS)
        return TPM_FAIL(restricted ? "Esys_Create(AK)" : "Esys_Create(SK)", rc, DA_ERR_TPM);
    err = agent_keyblob_encode(priv, pub, blob);
    OPENSSL_cleanse(priv, sizeof(*priv));
    Esys_Free(priv);
    Esys_Free(pub);
    return err;
}

static int tpm_key_load(struct tpm_esys *e, ESYS_TR ek, const char *what, const struct da_buf *blob,
                        ESYS_TR *key, TPM2B_PUBLIC *pub)
{
    TPM2B_PRIVATE priv;
    ESYS_TR session;
    TSS2_RC rc;
    int err;

    err = agent_keyblob_decode(da_buf_data(blob), da_buf_len(blob), &priv, pub);
    if (err != 0) {
        da_error_f("%s/%s is not a key blob", e->state_dir, what);
        return err;
    }
    err = agent_esys_ek_session(e, ek, AGENT_ESYS_SESSION_PLAIN, &session);
    if (err != 0)
        goto out;
    rc = Esys_Load(e->ctx, ek, session, ESYS_TR_NONE, ESYS_TR_NONE, &priv, pub, key);
    agent_esys_flush(e, &session);
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
                        struct da_buf *blob)
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
        rc = agent_state_write_new(e->state_dir, file, da_buf_data(blob), da_buf_len(blob));
    if (rc == DA_ERR_EXISTS) {
        da_buf_free(blob);
        rc = agent_state_read(e->state_dir, file, DA_MAX_KEY_FILE, blob);
    }
    if (rc == 0)
        da_info_f("created %s under the EK (template %s)", file, e->ek->label);
    return rc;
}

/* The keys in the state directory belong to the EK they were made under. */
static int tpm_ek_state_check(struct tpm_esys *e, int flags)
{
    struct da_buf stored = {0}, now = {0};
    int rc = agent_mu_public(&e->ek_pub, &now);

    if (rc != 0)
        return rc;
    rc = agent_state_read(e->state_dir, AGENT_STATE_EK_PUBLIC, DA_MAX_TPM_STRUCT, &stored);
    if (rc == DA_ERR_NOT_FOUND && (flags & AGENT_IDENTITY_CREATE) != 0) {
        rc = agent_state_write_new(e->state_dir, AGENT_STATE_EK_PUBLIC, da_buf_data(&now),
                                   da_buf_len(&now));
        if (rc == DA_ERR_EXISTS)
            rc = agent_state_read(e->state_dir, AGENT_STATE_EK_PUBLIC, DA_MAX_TPM_STRUCT, &stored);
    } else if (rc == DA_ERR_NOT_FOUND) {
        rc = 0;
    }
    if (rc == 0 && da_buf_len(&stored) != 0 &&
        (da_buf_len(&stored) != da_buf_len(&now) ||
         memcmp(da_buf_data(&stored), da_buf_data(&now), da_buf_len(&now)) != 0)) {
        da_error_f("the keys in %s were made under another EK (another TPM, or the EK "
                   "changed); move the state directory away to enroll again",
                   e->state_dir);
        rc = DA_ERR_TPM_KEY_BLOB;
    }
    da_buf_free(&stored);
    da_buf_free(&now);
    return rc;
}

static int tpm_key_ready(struct tpm_esys *e, ESYS_TR ek, const char *file, int restricted,
                         int flags, ESYS_TR *key, TPM2B_PUBLIC *pub, TPM2B_NAME *name)
{
    struct da_buf blob = {0};
    int rc;

    if (*key != ESYS_TR_NONE)
        return 0;
    rc = tpm_key_blob(e, ek, file, restricted, flags, &blob);
    if (rc == 0)
        rc = tpm_key_load(e, ek, file, &blob, key, pub);
    if (rc == 0)
        rc = agent_tpm_public_name(pub, name);
    da_buf_free(&blob);
    return rc;
}

static int tpm_keys_have_blobs(struct tpm_esys *e)
{
    struct da_buf b = {0};
    int rc = agent_state_read(e->state_dir, AGENT_STATE_AK_BLOB, DA_MAX_KEY_FILE, &b);

    da_buf_free(&b);
    if (rc == 0)
        rc = agent_state_read(e->state_dir, AGENT_STATE_SK_BLOB, DA_MAX_KEY_FILE, &b);
    da_buf_free(&b);
    if (rc == DA_ERR_NOT_FOUND)
        da_info_f("no AK/SK in %s: the identity has not been created (enroll first)", e->state_dir);
    return rc;
}

/* Make sure the AK and SK are loaded (creating them if allowed). */
int agent_esys_keys_ready(struct tpm_esys *e, int flags)
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
    rc = agent_esys_ek_create(e, &ek);
    if (rc == 0)
        rc = tpm_ek_state_check(e, flags);
    if (rc == 0)
        rc = tpm_key_ready(e, ek, AGENT_STATE_AK_BLOB, 1, flags, &e->ak, &e->ak_pub, &e->ak_name);
    if (rc == 0)
        rc = tpm_key_ready(e, ek, AGENT_STATE_SK_BLOB, 0, flags, &e->sk, &e->sk_pub, &e->sk_name);
    agent_esys_flush(e, &ek);
    return rc;
}

/* --- certify, identity ---------------------------------------------------- */

int agent_esys_attest_out(const TPM2B_ATTEST *a, const TPMT_SIGNATURE *s, struct da_buf *attest,
                          struct da_buf *sig)
{
    int rc = agent_buf_copy(attest, DA_MAX_TPM_STRUCT, a->attestationData, a->size);

    if (rc == 0)
        rc = agent_mu_signature(s, sig);
    return rc;
}

int agent_esys_certify_sk(void *impl, const TPM2B_DATA *qualifying, struct da_buf *attest,
                          struct da_buf *sig)
{
    struct tpm_esys *e = impl;
    TPMT_SIG_SCHEME scheme = {.scheme = TPM2_ALG_NULL};
    TPM2B_ATTEST *info = NULL;
    TPMT_SIGNATURE *signature = NULL;
    ESYS_TR auth, tmp;
    TSS2_RC rc;
    int err = agent_esys_keys_ready(e, AGENT_IDENTITY_LOAD);

    if (err != 0)
        return err;
    err = agent_esys_auth(e, AGENT_ESYS_SESSION_PLAIN, &auth, &tmp);
    if (err != 0)
        return err;
    rc = Esys_Certify(e->ctx, e->sk, e->ak, ESYS_TR_PASSWORD, auth, ESYS_TR_NONE, qualifying,
                      &scheme, &info, &signature);
    agent_esys_flush(e, &tmp);
    if (rc != TSS2_RC_SUCCESS)
        return TPM_FAIL("Esys_Certify(SK by AK)", rc, DA_ERR_TPM);
    err = agent_esys_attest_out(info, signature, attest, sig);
    Esys_Free(info);
    Esys_Free(signature);
    return err;
}

static int tpm_identity_ek(struct tpm_esys *e, struct agent_tpm_identity *id)
{
    int rc;

    id->ek_cert_index = e->ek_cert_index;
    id->ek_template = e->ek->label;
    rc = agent_buf_copy(&id->ek_cert, DA_MAX_EK_CERT, da_buf_data(&e->ek_cert),
                        da_buf_len(&e->ek_cert));
    if (rc == 0)
        rc = agent_mu_public(&e->ek_pub, &id->ek_public);
    return rc;
}

int agent_esys_identity(void *impl, int flags, struct agent_tpm_identity *id)
{
    struct tpm_esys *e = impl;
    TPM2B_DATA none = {.size = 0};
    ESYS_TR ek = ESYS_TR_NONE;
    int rc;

    if ((flags & AGENT_IDENTITY_EK_ONLY) != 0) {
        if (!e->ek_created) {
            rc = agent_esys_ek_create(e, &ek);
            agent_esys_flush(e, &ek);
            if (rc != 0)
                return rc;
        }
        return tpm_identity_ek(e, id);
    }
    rc = agent_esys_keys_ready(e, flags);
    if (rc == 0)
        rc = tpm_identity_ek(e, id);
    if (rc == 0)
        rc = agent_identity_put_keys(id, &e->ak_pub, &e->ak_name, &e->sk_pub, &e->sk_name);
    if (rc == 0)
        rc = agent_esys_certify_sk(e, &none, &id->sk_certify_attest, &id->sk_certify_signature);
    return rc;
}

/* --- credential activation, signing ---------------------------------- */

int agent_esys_activate_credential(void *impl, const TPM2B_ID_OBJECT *credential,
                                   const TPM2B_ENCRYPTED_SECRET *secret, struct da_buf *out)
{
    struct tpm_esys *e = impl;
    ESYS_TR ek = ESYS_TR_NONE, session = ESYS_TR_NONE, auth, tmp = ESYS_TR_NONE;
    TPM2B_DIGEST *cert_info = NULL;
    TSS2_RC trc;
    int rc = agent_esys_keys_ready(e, AGENT_IDENTITY_LOAD);

    if (rc == 0)
        rc = agent_esys_ek_create(e, &ek);
    if (rc == 0)
        rc = agent_esys_ek_session(e, ek, AGENT_ESYS_SESSION_PLAIN, &session);
    if (rc != 0)
        goto out;
    /* The credential goes in and the recovered secret comes back encrypted
     * under the HMAC session salted with the EK. */
    rc = agent_esys_auth(e, AGENT_ESYS_SESSION_DECRYPT | AGENT_ESYS_SESSION_ENCRYPT, &auth, &tmp);
    if (rc != 0)
        goto out;
    trc = Esys_ActivateCredential(e->ctx, e->ak, ek, auth, session, ESYS_TR_NONE, credential,
                                  secret, &cert_info);
    if (trc != TSS2_RC_SUCCESS) {
        rc = TPM_FAIL("Esys_ActivateCredential", trc, DA_ERR_TPM_ACTIVATE);
        goto out;
    }
    rc = agent_buf_copy(out, DA_MAX_TPM_STRUCT, cert_info->buffer, cert_info->size);
    OPENSSL_cleanse(cert_info, sizeof(*cert_info));
out:
    Esys_Free(cert_info);
    agent_esys_flush(e, &tmp);
    agent_esys_flush(e, &session);
    agent_esys_flush(e, &ek);
    return rc;
}

int agent_esys_sign_digest(void *impl, const TPM2B_DIGEST *digest, struct da_buf *der)
{
    struct tpm_esys *e = impl;
    TPMT_SIG_SCHEME scheme = {.scheme = TPM2_ALG_NULL};
    TPMT_TK_HASHCHECK ticket = {.tag = TPM2_ST_HASHCHECK, .hierarchy = TPM2_RH_NULL};
    TPMT_SIGNATURE *sig = NULL;
    ESYS_TR auth, tmp;
    TSS2_RC trc;
    int rc = agent_esys_keys_ready(e, AGENT_IDENTITY_LOAD);

    if (rc != 0)
        return rc;
    rc = agent_esys_auth(e, AGENT_ESYS_SESSION_PLAIN, &auth, &tmp);
    if (rc != 0)
        return rc;
    trc =
        Esys_Sign(e->ctx, e->sk, auth, ESYS_TR_NONE, ESYS_TR_NONE, digest, &scheme, &ticket, &sig);
    agent_esys_flush(e, &tmp);
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
