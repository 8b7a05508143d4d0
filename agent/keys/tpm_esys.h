/* Inside the ESYS backend of the agent's keys (agent/keys/tpm.c, tpm_ek.c,
 * tpm_keys.c, tpm_quote.c, tpm_info.c): the handle, the EK profiles and the
 * helpers these files share. Not for use elsewhere. */
#ifndef AGENT_TPM_ESYS_H
#define AGENT_TPM_ESYS_H

#include <openssl/evp.h>
#include <tss2/tss2_esys.h>

#include "tpm_internal.h"

/* One EK template of the TCG EK Credential Profile, with the NV indices of
 * the certificate, and of the template and nonce that a manufacturer may
 * provision to change it. */
struct tpm_ek_profile {
    const char *label;
    uint32_t cert_index;
    uint32_t nonce_index;    /* 0: the profile has none */
    uint32_t template_index; /* 0: the profile has none */
    uint32_t persistent;     /* where platforms persist this EK */
    TPMI_ALG_PUBLIC type;
    TPMI_ECC_CURVE curve;
    TPMI_ALG_HASH name_alg;
    uint16_t sym_bits;
    uint16_t unique_size; /* zero bytes in unique (each coordinate for ECC) */
    int high_range;       /* userWithAuth and PolicyB (PolicyOR) */
    const BYTE *policy;
    uint16_t policy_size;
};

struct tpm_esys {
    TSS2_TCTI_CONTEXT *tcti;
    ESYS_CONTEXT *ctx;
    char *tcti_conf;
    char *state_dir;
    /* The EK, found on first use. */
    const struct tpm_ek_profile *ek;
    uint32_t ek_cert_index;
    struct da_buf ek_cert;
    EVP_PKEY *ek_cert_key;
    TPM2B_PUBLIC ek_template; /* the template the EK is created from */
    /* "default", "nv-template", "nv-nonce" or "nv-template+nv-nonce" */
    const char *ek_template_source;
    TPM2B_PUBLIC ek_pub;
    int ek_created; /* ek_pub holds the EK the TPM made */
    /* HMAC session salted with the EK (after its check against the
     * certificate), kept open while the handle is; ESYS_TR_NONE until the EK
     * is first created. */
    ESYS_TR hmac;
    int plain_sessions; /* test switch: password and unsalted sessions only */
    int broken;         /* a response failed its HMAC check: ESYS refuses the context */
    /* Keys held loaded. */
    ESYS_TR ak, sk;
    TPM2B_PUBLIC ak_pub, sk_pub;
    TPM2B_NAME ak_name, sk_name;
};

/* --- agent/keys/tpm.c ---------------------------------------------------------- */

/* A TSS2 response code as a DA_ERR_* (fallback when nothing more specific). */
int agent_esys_rc_to_err(TSS2_RC rc, int fallback);
const char *agent_esys_err_hint(int err);
#define TPM_FAIL(what, rc, fallback) agent_esys_fail(__func__, (what), (rc), (fallback))
int agent_esys_fail(const char *func, const char *what, TSS2_RC rc, int fallback);
/* Flush a transient object or session; sets *h to ESYS_TR_NONE. */
void agent_esys_flush(struct tpm_esys *e, ESYS_TR *h);

/* Session attributes for agent_esys_auth. */
#define AGENT_ESYS_SESSION_PLAIN   0                    /* HMAC only */
#define AGENT_ESYS_SESSION_DECRYPT TPMA_SESSION_DECRYPT /* first command parameter */
#define AGENT_ESYS_SESSION_ENCRYPT TPMA_SESSION_ENCRYPT /* first response parameter */
/* Start the EK-salted HMAC session (ek: the loaded, checked EK) unless it is
 * open already. */
int agent_esys_hmac_start(struct tpm_esys *e, ESYS_TR ek);
/* The session that authorizes an object with an authValue (the AK, SK, the
 * endorsement hierarchy): the salted HMAC session with the given parameter
 * encryption, or an unsalted, unbound HMAC session (*tmp, to flush after the
 * command) before the EK exists. The test switch gives ESYS_TR_PASSWORD. */
int agent_esys_auth(struct tpm_esys *e, TPMA_SESSION attrs, ESYS_TR *session, ESYS_TR *tmp);
/* Set a session's attributes: continueSession plus attrs. */
int agent_esys_session_attrs(struct tpm_esys *e, ESYS_TR session, TPMA_SESSION attrs);

/* --- agent/keys/tpm_ek.c ------------------------------------------------------- */

/* Create the EK (checked against its certificate), loaded in *ek. */
int agent_esys_ek_create(struct tpm_esys *e, ESYS_TR *ek);
/* A policy session satisfying the EK's authPolicy, salted with the loaded
 * EK ek, with the given parameter encryption attributes. */
int agent_esys_ek_session(struct tpm_esys *e, ESYS_TR ek, TPMA_SESSION attrs, ESYS_TR *session);

/* --- agent/keys/tpm_keys.c ----------------------------------------------------- */

int agent_esys_keys_ready(struct tpm_esys *e, int flags);
int agent_esys_attest_out(const TPM2B_ATTEST *a, const TPMT_SIGNATURE *s, struct da_buf *attest,
                          struct da_buf *sig);
int agent_esys_certify_sk(void *impl, const TPM2B_DATA *qualifying, struct da_buf *attest,
                          struct da_buf *signature);
int agent_esys_identity(void *impl, int flags, struct agent_tpm_identity *id);
int agent_esys_activate_credential(void *impl, const TPM2B_ID_OBJECT *credential,
                                   const TPM2B_ENCRYPTED_SECRET *secret, struct da_buf *out);
int agent_esys_sign_digest(void *impl, const TPM2B_DIGEST *digest, struct da_buf *der);

/* --- agent/keys/tpm_quote.c ---------------------------------------------------- */

int agent_esys_quote(void *impl, const TPML_PCR_SELECTION *sel, const TPM2B_DATA *qual,
                     struct agent_tpm_quote *q);

/* --- agent/keys/tpm_info.c ----------------------------------------------------- */

int agent_esys_info(void *impl, struct agent_tpm_info *info);

#endif
