/* The signer process: the only holder of the TPM (or software key). It
 * answers IDENTITY, QUOTE and ENROLL from a fixed table, computes what it
 * quotes itself, and runs inside its sandbox from before its first TPM
 * command. */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "caps.h"
#include "digest.h"
#include "err.h"
#include "jcs.h"
#include "json.h"
#include "log.h"
#include "memtrim.h"
#include "privsep.h"
#include "privsep_internal.h"
#include "quote.h"
#include "sandbox.h"
#include "tpm.h"

#define EVIDENCE_SCHEMA "devattest.evidence/v1"

struct signer {
    const struct agent_config *cfg;
    int identity_flags;
    struct agent_tpm *tpm;
    struct agent_tpm_identity *id;
};

static int put_bytes(struct da_buf *b, const struct agent_bytes *x)
{
    return agent_fields_put(b, x->data, x->len);
}

static int answer(int fd, uint32_t type, struct da_buf *b, int r)
{
    if (r == 0)
        r = agent_ipc_send(fd, type, da_buf_data(b), da_buf_len(b));
    da_buf_free(b);
    agent_memory_trim(); /* idle until the next request */
    return r;
}

static int on_identity(void *ctx, int fd, const unsigned char *p, size_t n)
{
    struct signer *s = ctx;
    struct da_buf b;
    int r;

    (void)p;
    if (n != 0)
        return DA_ERR_IPC;
    da_buf_init(&b, 5 * 4 + 16 + 4 * AGENT_MAX_TPM_BLOB);
    r = agent_fields_put_str(&b, s->id->trust);
    if (r == 0)
        r = put_bytes(&b, &s->id->ek_public);
    if (r == 0)
        r = put_bytes(&b, &s->id->ek_cert);
    if (r == 0)
        r = put_bytes(&b, &s->id->ak_public);
    if (r == 0)
        r = put_bytes(&b, &s->id->sk_public);
    return answer(fd, AGENT_MSG_IDENTITY_OK, &b, r);
}

/* D = SHA-256 of the canonical form of a devattest evidence document. */
static int evidence_digest(const unsigned char *text, size_t len, unsigned char d[32])
{
    const char *schema = NULL;
    cJSON *doc = NULL;
    int r;

    r = da_json_parse((const char *)text, len, DA_MAX_EVIDENCE, &doc);
    if (r == 0 && !cJSON_IsObject(doc))
        r = DA_ERR_JSON_TYPE;
    if (r == 0)
        r = da_json_get_string(doc, "schema", &schema);
    if (r == 0 && strcmp(schema, EVIDENCE_SCHEMA) != 0)
        r = DA_ERR_INVALID_ARG;
    if (r == 0)
        r = da_jcs_digest_sha256(doc, d);
    cJSON_Delete(doc);
    return r;
}

static int on_quote(void *ctx, int fd, const unsigned char *p, size_t n)
{
    static const size_t caps[3] = {AGENT_MAX_NONCE, DA_MAX_EVIDENCE, AGENT_MAX_PCR_TEXT};
    struct signer *s = ctx;
    struct agent_field f[3];
    struct agent_tpm_quote *q = NULL;
    unsigned char d[32], qd[DA_QUOTE_QD_LEN];
    char sel_text[AGENT_MAX_PCR_TEXT + 1];
    TPML_PCR_SELECTION sel;
    struct da_buf b;
    int r;

    if (agent_fields_split(p, n, 3, caps, f) != 0 ||
        agent_field_str(&f[2], sel_text, sizeof(sel_text)) != 0)
        return DA_ERR_IPC;
    r = evidence_digest(f[1].data, f[1].len, d);
    if (r != 0)
        return agent_privsep_send_error(fd, r, "the document to quote is not evidence (%s)",
                                        da_strerror(r));
    if (f[0].len == 0 || agent_pcr_selection_parse(sel_text, &sel) != 0)
        return agent_privsep_send_error(fd, DA_ERR_INVALID_ARG, "bad nonce or PCR selection");
    r = da_quote_qualifying_data(f[0].data, f[0].len, d, qd);
    if (r == 0)
        r = agent_tpm_quote(s->tpm, &sel, qd, sizeof(qd), &q);
    if (r != 0)
        return agent_privsep_send_error(fd, r, "quote failed: %s", da_strerror(r));
    da_buf_init(&b, 12 + 2 * AGENT_MAX_TPM_BLOB + AGENT_MAX_PCR_VALUES);
    r = put_bytes(&b, &q->attest);
    if (r == 0)
        r = put_bytes(&b, &q->signature);
    if (r == 0)
        r = put_bytes(&b, &q->pcr_values);
    agent_tpm_quote_free(q);
    return answer(fd, AGENT_MSG_QUOTE_OK, &b, r);
}

/* Activate the credential, prove it with HMAC(secret, challenge id) and
 * certify the SK over SHA-256(challenge id); the secret never leaves. */
static int on_enroll(void *ctx, int fd, const unsigned char *p, size_t n)
{
    static const size_t caps[3] = {AGENT_MAX_CHALLENGE, AGENT_MAX_TPM_BLOB, AGENT_MAX_TPM_BLOB};
    struct signer *s = ctx;
    struct agent_field f[3];
    struct agent_bytes secret = {NULL, 0}, attest = {NULL, 0}, sig = {NULL, 0};
    char cid[AGENT_MAX_CHALLENGE + 1];
    unsigned char mac[32], qd[32];
    unsigned int mac_len = 0;
    struct da_buf b;
    int r;

    if (agent_fields_split(p, n, 3, caps, f) != 0 || agent_field_str(&f[0], cid, sizeof(cid)) != 0)
        return DA_ERR_IPC;
    r = agent_tpm_activate_credential(s->tpm, f[1].data, f[1].len, f[2].data, f[2].len, &secret);
    if (r != 0)
        return agent_privsep_send_error(fd, r, "credential activation failed: %s", da_strerror(r));
    if (HMAC(EVP_sha256(), secret.data, (int)secret.len, (const unsigned char *)cid, strlen(cid),
             mac, &mac_len) == NULL ||
        mac_len != sizeof(mac))
        r = DA_ERR_CRYPTO;
    agent_bytes_free(&secret);
    if (r == 0)
        r = da_sha256(cid, strlen(cid), qd);
    if (r == 0)
        r = agent_tpm_certify_sk(s->tpm, qd, sizeof(qd), &attest, &sig);
    if (r != 0) {
        OPENSSL_cleanse(mac, sizeof(mac));
        return agent_privsep_send_error(fd, r, "enrollment answer failed: %s", da_strerror(r));
    }
    da_buf_init(&b, 16 + 64 + 3 * AGENT_MAX_TPM_BLOB);
    r = agent_fields_put(&b, mac, sizeof(mac));
    if (r == 0)
        r = put_bytes(&b, &s->id->sk_public);
    if (r == 0)
        r = put_bytes(&b, &attest);
    if (r == 0)
        r = put_bytes(&b, &sig);
    OPENSSL_cleanse(mac, sizeof(mac));
    agent_bytes_free(&attest);
    agent_bytes_free(&sig);
    return answer(fd, AGENT_MSG_ENROLL_OK, &b, r);
}

static const struct agent_ipc_handler signer_table[] = {
    {AGENT_MSG_IDENTITY, 0, AGENT_IPC_MANY, on_identity},
    {AGENT_MSG_QUOTE, 12 + AGENT_MAX_NONCE + DA_MAX_EVIDENCE + AGENT_MAX_PCR_TEXT, AGENT_IPC_MANY,
     on_quote},
    {AGENT_MSG_ENROLL, 12 + AGENT_MAX_CHALLENGE + 2 * AGENT_MAX_TPM_BLOB, AGENT_IPC_ONCE,
     on_enroll},
};

static int signer_main(int fd, void *ctx)
{
    struct signer *s = ctx;
    struct agent_tpm_settings st;
    enum agent_sandbox_profile profile;
    int r;

    memset(&st, 0, sizeof(st));
    st.mode = s->cfg->tpm_mode == 1 ? AGENT_TPM_MODE_SOFTWARE : AGENT_TPM_MODE_TPM;
    st.tcti = s->cfg->tcti;
    st.state_dir = s->cfg->state_dir;
    /* The TCTI is connected here, before the filter: a device TCTI keeps its
     * descriptor; simulator TCTIs reconnect per command (sandbox.h). */
    r = agent_tpm_open(&st, &s->tpm);
    if (r != 0) {
        agent_privsep_send_error(fd, r, "the TPM cannot be opened (%s): %s", s->cfg->tcti,
                                 da_strerror(r));
        return 1;
    }
    profile = st.mode == AGENT_TPM_MODE_SOFTWARE ? AGENT_SANDBOX_SIGNER
                                                 : agent_sandbox_signer_profile(s->cfg->tcti);
    if (agent_sandbox_enter(profile, s->cfg->sandbox) != 0)
        return 1;
    r = agent_tpm_identity(s->tpm, s->identity_flags, &s->id);
    if (r != 0) {
        agent_privsep_send_error(fd, r, "the agent's keys cannot be %s: %s",
                                 s->identity_flags == AGENT_IDENTITY_CREATE ? "made" : "loaded",
                                 da_strerror(r));
        agent_tpm_close(s->tpm);
        return 1;
    }
    r = agent_ipc_send(fd, AGENT_MSG_READY, NULL, 0);
    if (r == 0)
        r = agent_ipc_serve(fd, signer_table, sizeof(signer_table) / sizeof(signer_table[0]), s);
    agent_tpm_identity_free(s->id);
    agent_tpm_close(s->tpm);
    if (r != 0)
        da_error_f("signer: %s", da_strerror(r));
    return r == 0 ? 0 : 1;
}

int agent_signer_spawn(const struct agent_config *cfg, int identity_flags, struct agent_child *out)
{
    struct signer s;
    int r;

    memset(&s, 0, sizeof(s));
    s.cfg = cfg;
    s.identity_flags = identity_flags;
    /* s is copied into the child by fork; the parent's copy is not used. */
    r = agent_child_spawn("signer", signer_main, &s, NULL, 0, out);
    return r == 0 ? agent_privsep_wait_ready(out) : r;
}
