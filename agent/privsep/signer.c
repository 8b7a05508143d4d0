/* The signer process: the only holder of the TPM (or software key). It
 * answers IDENTITY, QUOTE and ENROLL from a fixed table, computes what it
 * quotes itself, and runs inside its sandbox from before its first TPM
 * command. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "caps.h"
#include "digest.h"
#include "err.h"
#include "file.h"
#include "jcs.h"
#include "json.h"
#include "log.h"
#include "memtrim.h"
#include "privsep.h"
#include "privsep_internal.h"
#include "quote.h"
#include "sandbox.h"
#include "signer_attest.h"
#include "tpm.h"
#include "tpm_internal.h"

#define EVIDENCE_SCHEMA "devattest.evidence/v1"
#define SPOOL_MAC_LABEL "devattest spool entry v1"

struct signer {
    const struct agent_config *cfg;
    struct agent_spawn_opts opts;
    int identity_flags;
    struct agent_tpm *tpm;
    struct agent_tpm_identity *id;
    unsigned char spool_key[32]; /* MACs the evidence of the reports it quoted */
    int evidence_fd;             /* the collector's channel (-1: none) */
    int attest_fd;               /* the attest listener's channel (-1: none) */
};

static int put_bytes(struct da_buf *b, const struct da_buf *x)
{
    return agent_fields_put(b, da_buf_data(x), da_buf_len(x));
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
    da_buf_init(&b, AGENT_MSG_LEN(IDENTITY_OK));
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

/* A devattest evidence document: strict JSON, an object, our schema. */
static int evidence_parse(const unsigned char *text, size_t len, cJSON **doc)
{
    const char *schema = NULL;
    int r;

    *doc = NULL;
    r = da_json_parse((const char *)text, len, DA_MAX_EVIDENCE, doc);
    if (r == 0 && !cJSON_IsObject(*doc))
        r = DA_ERR_JSON_TYPE;
    if (r == 0)
        r = da_json_get_string(*doc, "schema", &schema);
    if (r == 0 && strcmp(schema, EVIDENCE_SCHEMA) != 0)
        r = DA_ERR_INVALID_ARG;
    if (r != 0) {
        cJSON_Delete(*doc);
        *doc = NULL;
    }
    return r;
}

/* The MAC a spooled report carries: HMAC-SHA-256(spool key, label || D). */
static int spool_mac(const struct signer *s, const unsigned char d[32],
                     unsigned char mac[AGENT_SPOOL_MAC_LEN])
{
    unsigned char msg[sizeof(SPOOL_MAC_LABEL) + 32];
    unsigned int n = 0;

    memcpy(msg, SPOOL_MAC_LABEL, sizeof(SPOOL_MAC_LABEL)); /* with its NUL */
    memcpy(msg + sizeof(SPOOL_MAC_LABEL), d, 32);
    if (HMAC(EVP_sha256(), s->spool_key, (int)sizeof(s->spool_key), msg, sizeof(msg), mac, &n) ==
            NULL ||
        n != AGENT_SPOOL_MAC_LEN)
        return DA_ERR_CRYPTO;
    return 0;
}

/* Quote D under the nonce; answer with the quote, the canonical evidence
 * and its MAC. */
static int quote_and_answer(struct signer *s, int fd, const struct agent_field *nonce,
                            const char *sel_text, const struct da_buf *canon,
                            const unsigned char d[32])
{
    struct agent_tpm_quote *q = NULL;
    unsigned char qd[DA_QUOTE_QD_LEN], mac[AGENT_SPOOL_MAC_LEN];
    TPML_PCR_SELECTION sel;
    struct da_buf b;
    int r;

    if (nonce->len == 0 || agent_pcr_selection_parse(sel_text, &sel) != 0)
        return agent_privsep_send_error(fd, DA_ERR_INVALID_ARG, "bad nonce or PCR selection");
    r = da_quote_qualifying_data(nonce->data, nonce->len, d, qd);
    if (r == 0)
        r = spool_mac(s, d, mac);
    if (r == 0)
        r = agent_tpm_quote(s->tpm, &sel, qd, sizeof(qd), &q);
    if (r != 0)
        return agent_privsep_send_error(fd, r, "quote failed: %s", da_strerror(r));
    agent_signer_record_quoted(s->cfg->state_dir, canon); /* what attest may name */
    da_buf_init(&b, AGENT_MSG_LEN(QUOTE_OK));
    r = put_bytes(&b, &q->attest);
    if (r == 0)
        r = put_bytes(&b, &q->signature);
    if (r == 0)
        r = put_bytes(&b, &q->pcr_values);
    if (r == 0)
        r = agent_fields_put(&b, da_buf_data(canon), da_buf_len(canon));
    if (r == 0)
        r = agent_fields_put(&b, mac, sizeof(mac));
    agent_tpm_quote_free(q);
    return answer(fd, AGENT_MSG_QUOTE_OK, &b, r);
}

/* The evidence, from the collector over the signer's own channel: the
 * uploader never supplies what is quoted. */
static int collect_evidence(struct signer *s, uint64_t dropped, cJSON **doc)
{
    const struct agent_ipc_handler answers[] = {
        AGENT_MSG_ROW(COLLECT_OK, NULL),
        AGENT_MSG_ROW(ERROR, NULL),
    };
    static const size_t caps[] = AGENT_MSG_CAPS(COLLECT_OK);
    struct agent_field f[AGENT_MSG_N(COLLECT_OK)];
    struct da_buf req, ans;
    uint32_t got = 0;
    cJSON *agent;
    int r;

    *doc = NULL;
    if (s->evidence_fd < 0)
        return DA_ERR_IPC_CLOSED;
    da_buf_init(&req, AGENT_MSG_LEN(COLLECT));
    da_buf_init(&ans, 0);
    r = agent_fields_put_str(&req, "");
    if (r == 0) {
        r = agent_ipc_call(s->evidence_fd, AGENT_MSG_COLLECT, da_buf_data(&req), da_buf_len(&req),
                           answers, 2, AGENT_CHILD_TIMEOUT, &got, &ans);
        if (r != 0) {
            /* The channel is out of step or gone: nothing more from it. */
            close(s->evidence_fd);
            s->evidence_fd = -1;
        }
    }
    if (r == 0 && got != AGENT_MSG_COLLECT_OK)
        r = DA_ERR_COLLECT;
    if (r == 0)
        r = agent_fields_split(da_buf_data(&ans), da_buf_len(&ans), AGENT_MSG_N(COLLECT_OK), caps,
                               f);
    if (r == 0)
        r = evidence_parse(f[0].data, f[0].len, doc);
    da_buf_free(&req);
    da_buf_free(&ans);
    if (r != 0)
        return r;
    /* The reports the bounded spool had to drop travel in the evidence. */
    agent = cJSON_GetObjectItemCaseSensitive(*doc, "agent");
    if (!cJSON_IsObject(agent) ||
        cJSON_GetObjectItemCaseSensitive(agent, "spool_dropped") != NULL ||
        cJSON_AddNumberToObject(agent, "spool_dropped", (double)dropped) == NULL) {
        cJSON_Delete(*doc);
        *doc = NULL;
        return DA_ERR_COLLECT;
    }
    return 0;
}

static int on_quote(void *ctx, int fd, const unsigned char *p, size_t n)
{
    static const size_t caps[] = AGENT_MSG_CAPS(QUOTE);
    struct signer *s = ctx;
    struct agent_field f[AGENT_MSG_N(QUOTE)];
    char sel_text[AGENT_MAX_PCR_TEXT + 1];
    unsigned char d[32];
    struct da_buf canon;
    uint64_t dropped;
    cJSON *doc = NULL;
    int r;

    if (agent_fields_split(p, n, AGENT_MSG_N(QUOTE), caps, f) != 0 ||
        agent_field_str(&f[1], sel_text, sizeof(sel_text)) != 0 ||
        agent_field_u64(&f[2], &dropped) != 0)
        return DA_ERR_IPC;
    r = collect_evidence(s, dropped, &doc);
    if (r != 0)
        return agent_privsep_send_error(fd, r, "no evidence from the collector: %s",
                                        da_strerror(r));
    da_buf_init(&canon, DA_MAX_EVIDENCE);
    r = da_jcs_serialize(doc, &canon);
    cJSON_Delete(doc);
    if (r == 0)
        r = da_sha256(da_buf_data(&canon), da_buf_len(&canon), d);
    if (r == 0)
        r = quote_and_answer(s, fd, &f[0], sel_text, &canon, d);
    else
        r = agent_privsep_send_error(fd, r, "the evidence cannot be quoted: %s", da_strerror(r));
    da_buf_free(&canon);
    return r;
}

/* A spooled report again, under a fresh nonce: only evidence this signer
 * quoted before (its MAC verifies) is quoted again. */
static int on_requote(void *ctx, int fd, const unsigned char *p, size_t n)
{
    static const size_t caps[] = AGENT_MSG_CAPS(REQUOTE);
    struct signer *s = ctx;
    struct agent_field f[AGENT_MSG_N(REQUOTE)];
    char sel_text[AGENT_MAX_PCR_TEXT + 1];
    unsigned char d[32], mac[AGENT_SPOOL_MAC_LEN];
    struct da_buf canon;
    cJSON *doc = NULL;
    int r;

    if (agent_fields_split(p, n, AGENT_MSG_N(REQUOTE), caps, f) != 0 ||
        agent_field_str(&f[1], sel_text, sizeof(sel_text)) != 0)
        return DA_ERR_IPC;
    r = evidence_parse(f[2].data, f[2].len, &doc);
    if (r != 0)
        return agent_privsep_send_error(fd, r, "the document to quote is not evidence (%s)",
                                        da_strerror(r));
    da_buf_init(&canon, DA_MAX_EVIDENCE);
    r = da_jcs_serialize(doc, &canon);
    cJSON_Delete(doc);
    if (r == 0)
        r = da_sha256(da_buf_data(&canon), da_buf_len(&canon), d);
    if (r == 0)
        r = spool_mac(s, d, mac);
    if (r == 0 && (f[3].len != sizeof(mac) || CRYPTO_memcmp(mac, f[3].data, sizeof(mac)) != 0)) {
        da_warn_f("signer: a spooled report's MAC does not verify; not quoted");
        r = DA_ERR_SPOOL_MAC;
    }
    if (r == 0)
        r = quote_and_answer(s, fd, &f[0], sel_text, &canon, d);
    else
        r = agent_privsep_send_error(fd, r, "the spooled report cannot be quoted again: %s",
                                     da_strerror(r));
    da_buf_free(&canon);
    return r;
}

/* Activate the credential, prove it with HMAC(secret, challenge id) and
 * certify the SK over SHA-256(challenge id); the secret never leaves. */
static int on_enroll(void *ctx, int fd, const unsigned char *p, size_t n)
{
    static const size_t caps[] = AGENT_MSG_CAPS(ENROLL);
    struct signer *s = ctx;
    struct agent_field f[AGENT_MSG_N(ENROLL)];
    struct da_buf secret = {0}, attest = {0}, sig = {0};
    char cid[AGENT_MAX_CHALLENGE + 1];
    unsigned char mac[32], qd[32];
    unsigned int mac_len = 0;
    struct da_buf b;
    int r;

    if (agent_fields_split(p, n, AGENT_MSG_N(ENROLL), caps, f) != 0 ||
        agent_field_str(&f[0], cid, sizeof(cid)) != 0)
        return DA_ERR_IPC;
    r = agent_tpm_activate_credential(s->tpm, f[1].data, f[1].len, f[2].data, f[2].len, &secret);
    if (r != 0)
        return agent_privsep_send_error(fd, r, "credential activation failed: %s", da_strerror(r));
    if (HMAC(EVP_sha256(), da_buf_data(&secret), (int)da_buf_len(&secret),
             (const unsigned char *)cid, strlen(cid), mac, &mac_len) == NULL ||
        mac_len != sizeof(mac))
        r = DA_ERR_CRYPTO;
    da_buf_free(&secret);
    if (r == 0)
        r = da_sha256(cid, strlen(cid), qd);
    if (r == 0)
        r = agent_tpm_certify_sk(s->tpm, qd, sizeof(qd), &attest, &sig);
    if (r != 0) {
        OPENSSL_cleanse(mac, sizeof(mac));
        return agent_privsep_send_error(fd, r, "enrollment answer failed: %s", da_strerror(r));
    }
    da_buf_init(&b, AGENT_MSG_LEN(ENROLL_OK));
    r = agent_fields_put(&b, mac, sizeof(mac));
    if (r == 0)
        r = put_bytes(&b, &s->id->sk_public);
    if (r == 0)
        r = put_bytes(&b, &attest);
    if (r == 0)
        r = put_bytes(&b, &sig);
    OPENSSL_cleanse(mac, sizeof(mac));
    da_buf_free(&attest);
    da_buf_free(&sig);
    return answer(fd, AGENT_MSG_ENROLL_OK, &b, r);
}

static int on_attest_sign(void *ctx, int fd, const unsigned char *p, size_t n)
{
    struct signer *s = ctx;
    int r = agent_signer_attest(s->cfg, s->tpm, s->id, fd, p, n);

    agent_memory_trim();
    return r;
}

/* The listener's channel: ATTEST_SIGN only. */
static const struct agent_ipc_handler listener_table[] = {
    AGENT_MSG_ROW(ATTEST_SIGN, on_attest_sign),
};

static const struct agent_ipc_handler signer_table[] = {
    AGENT_MSG_ROW(IDENTITY, on_identity),
    AGENT_MSG_ROW(QUOTE, on_quote),
    AGENT_MSG_ROW(REQUOTE, on_requote),
    AGENT_MSG_ROW(ENROLL, on_enroll),
};

/* The key of the spool MACs, in a directory of the state directory that the
 * uploader's mount namespace covers: made once (at enrollment, or by the
 * first signer that finds none), never replaced. */
static int spool_key_load(struct signer *s)
{
    char dir[PATH_MAX];
    struct da_buf k = {0};
    unsigned char fresh[sizeof(s->spool_key)];
    int r;

    if (snprintf(dir, sizeof(dir), "%s/" AGENT_SIGNER_DIR, s->cfg->state_dir) >= (int)sizeof(dir))
        return DA_ERR_INVALID_ARG;
    r = agent_state_read(dir, AGENT_SPOOL_KEY_FILE, DA_MAX_KEY_FILE, &k);
    if (r == DA_ERR_NOT_FOUND) {
        if (RAND_bytes(fresh, sizeof(fresh)) != 1)
            return DA_ERR_CRYPTO;
        r = agent_state_prepare(dir, 1);
        if (r == 0)
            r = agent_state_write_new(dir, AGENT_SPOOL_KEY_FILE, fresh, sizeof(fresh));
        OPENSSL_cleanse(fresh, sizeof(fresh));
        if (r == 0 || r == DA_ERR_EXISTS)
            r = agent_state_read(dir, AGENT_SPOOL_KEY_FILE, DA_MAX_KEY_FILE, &k);
    }
    if (r == 0 && da_buf_len(&k) != sizeof(s->spool_key))
        r = DA_ERR_INVALID_ARG;
    if (r == 0)
        memcpy(s->spool_key, da_buf_data(&k), sizeof(s->spool_key));
    da_buf_free(&k);
    if (r != 0)
        da_error_f("the spool key in %s cannot be used: %s", dir, da_strerror(r));
    return r;
}

static int signer_main(int fd, void *ctx)
{
    struct signer *s = ctx;
    struct agent_tpm_settings st;
    enum agent_sandbox_profile profile;
    char key_dir[PATH_MAX];
    int r;

    da_json_memory_cap(AGENT_JSON_MEMORY);
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
    /* The only directories the filter lets the signer write in (made here
     * when missing: the runtime has made them for the agent's user). */
    if (snprintf(key_dir, sizeof(key_dir), "%s/" AGENT_SIGNER_DIR, s->cfg->state_dir) >=
            (int)sizeof(key_dir) ||
        agent_state_prepare(s->cfg->state_dir, 1) != 0 || agent_state_prepare(key_dir, 1) != 0 ||
        da_file_dir_keep(s->cfg->state_dir, -1) < 0 || da_file_dir_keep(key_dir, -1) < 0) {
        agent_privsep_send_error(fd, DA_ERR_IO, "the state directory %s cannot be opened",
                                 s->cfg->state_dir);
        agent_tpm_close(s->tpm);
        return 1;
    }
    profile = st.mode == AGENT_TPM_MODE_SOFTWARE ? AGENT_SANDBOX_SIGNER
                                                 : agent_sandbox_signer_profile(s->cfg->tcti);
    if (agent_sandbox_enter_as(profile, agent_sandbox_mode_of(s->cfg->sandbox), s->opts.user) !=
        0) {
        agent_privsep_send_error(fd, DA_ERR_SANDBOX, "the signer's sandbox failed");
        return 1;
    }
    r = agent_tpm_identity(s->tpm, s->identity_flags, &s->id);
    if (r == 0)
        r = spool_key_load(s);
    if (r != 0) {
        agent_privsep_send_error(fd, r, "the agent's keys cannot be %s: %s",
                                 s->identity_flags == AGENT_IDENTITY_CREATE ? "made" : "loaded",
                                 da_strerror(r));
        agent_tpm_close(s->tpm);
        return 1;
    }
    r = agent_ipc_send(fd, AGENT_MSG_READY, NULL, 0);
    if (r == 0) {
        struct agent_ipc_channel ch[2] = {
            {fd, signer_table, sizeof(signer_table) / sizeof(signer_table[0])},
            {s->attest_fd, listener_table, 1},
        };

        r = agent_ipc_serve_channels(ch, s->attest_fd >= 0 ? 2 : 1, s);
    }
    agent_tpm_identity_free(s->id);
    agent_tpm_close(s->tpm);
    OPENSSL_cleanse(s->spool_key, sizeof(s->spool_key));
    if (r != 0)
        da_error_f("signer: %s", da_strerror(r));
    return r == 0 ? 0 : 1;
}

int agent_signer_spawn_opts(const struct agent_config *cfg, int identity_flags,
                            const struct agent_spawn_opts *o, struct agent_child *out)
{
    struct signer s;
    int keep[2], nkeep = 0, r;

    memset(&s, 0, sizeof(s));
    s.cfg = cfg;
    s.identity_flags = identity_flags;
    s.evidence_fd = -1;
    s.attest_fd = -1;
    if (o != NULL) {
        s.opts = *o;
        s.evidence_fd = o->evidence_fd;
        s.attest_fd = o->attest ? o->attest_fd : -1;
    }
    if (s.evidence_fd >= 0)
        keep[nkeep++] = s.evidence_fd;
    if (s.attest_fd >= 0)
        keep[nkeep++] = s.attest_fd;
    /* s is copied into the child by fork; the parent's copy is not used. */
    r = agent_child_spawn("signer", signer_main, &s, keep, (size_t)nkeep, out);
    return r == 0 ? agent_privsep_wait_ready(out) : r;
}

int agent_signer_spawn(const struct agent_config *cfg, int identity_flags, struct agent_child *out)
{
    return agent_signer_spawn_opts(cfg, identity_flags, NULL, out);
}
