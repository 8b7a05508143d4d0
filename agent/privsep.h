/* The agent's three processes and the messages between them (DESIGN.md §3).
 *
 *   uploader (parent) --IPC--> signer     holds the TPM; answers IDENTITY,
 *                                         QUOTE and ENROLL, nothing else
 *                     --IPC--> collector  reads the system; answers COLLECT
 *                                         and INVENTORY
 *
 * Each child is forked before the uploader confines itself, opens what it
 * needs, enters its own sandbox (agent/sandbox.h) and then serves its
 * dispatch table until the uploader closes the channel. Every payload is a
 * fixed sequence of fields (agent/fields.h) with a cap per field. A child
 * first sends AGENT_MSG_READY (or AGENT_MSG_ERROR when it could not set
 * itself up); then it answers each request with its *_OK message or with
 * AGENT_MSG_ERROR (a DA_ERR_* code and a line of text). Anything else on the
 * channel is fatal.
 *
 * The signer never signs bytes it is handed: QUOTE carries the evidence
 * document, which the signer checks (strict JSON, schema
 * devattest.evidence/v1) and hashes itself (RFC 8785), and the qualifying
 * data is SHA-256(nonce || that digest); ENROLL recovers the credential secret
 * inside the signer and hands out only HMAC(secret, challenge id) and a
 * TPM2_Certify of the SK over SHA-256(challenge id).
 */
#ifndef AGENT_PRIVSEP_H
#define AGENT_PRIVSEP_H

#include <stddef.h>
#include <stdint.h>

#include "agent_config.h"
#include "buf.h"
#include "child.h"
#include "ipc.h"

enum agent_msg {
    /* uploader -> signer */
    AGENT_MSG_IDENTITY = 1, /* no fields */
    AGENT_MSG_QUOTE = 2,    /* nonce, evidence (JSON), PCR selection text */
    AGENT_MSG_ENROLL = 3,   /* challenge id, credential blob, encrypted secret */
    /* signer -> uploader */
    AGENT_MSG_IDENTITY_OK = 101, /* trust, ek_public, ek_cert, ak_public, sk_public */
    AGENT_MSG_QUOTE_OK = 102,    /* attest, signature, pcr_values */
    AGENT_MSG_ENROLL_OK = 103,   /* proof, sk_public, certify attest, certify signature */
    /* uploader -> collector */
    AGENT_MSG_COLLECT = 201,   /* areas ("" for all) */
    AGENT_MSG_INVENTORY = 202, /* no fields */
    /* collector -> uploader */
    AGENT_MSG_COLLECT_OK = 211,   /* canonical evidence */
    AGENT_MSG_INVENTORY_OK = 212, /* inventory lines */
    AGENT_MSG_STATE_PUT = 213,    /* state file name, content: before the answer */
    /* either child -> uploader */
    AGENT_MSG_READY = 254, /* no fields: set up and confined, serving */
    AGENT_MSG_ERROR = 255, /* u64 (negated DA_ERR_*), text */
};

#define AGENT_MAX_NONCE      128
#define AGENT_MAX_PCR_TEXT   128
#define AGENT_MAX_CHALLENGE  128
#define AGENT_MAX_TPM_BLOB   4096 /* credential, secret, attest, signature, public */
#define AGENT_MAX_PCR_VALUES (24u * 64u * 4u)
#define AGENT_MAX_INVENTORY  (8u * 1024 * 1024)
#define AGENT_MAX_STATE_NAME 32                  /* a collector state file name */
#define AGENT_MAX_STATE_FILE (12u * 1024 * 1024) /* one state file through the parent */
#define AGENT_MAX_STATE_MSG  (8 + AGENT_MAX_STATE_NAME + AGENT_MAX_STATE_FILE)
#define AGENT_CHILD_TIMEOUT  (120 * 1000) /* ms for one request */

/* What the signer says about its keys. */
struct agent_identity_info {
    char trust[16];
    struct da_buf ek_public, ek_cert, ak_public, sk_public;
};
void agent_identity_info_free(struct agent_identity_info *id);

struct agent_quote_result {
    struct da_buf attest, signature, pcr_values;
};
void agent_quote_result_free(struct agent_quote_result *q);

struct agent_enroll_answer {
    struct da_buf proof, sk_public, certify_attest, certify_signature;
};
void agent_enroll_answer_free(struct agent_enroll_answer *a);

/* Fork the signer: it opens the TPM (or the software key) named by cfg,
 * enters its sandbox (the profile its TCTI needs), loads its identity
 * (creating it with AGENT_IDENTITY_CREATE in identity_flags) and serves. */
int agent_signer_spawn(const struct agent_config *cfg, int identity_flags, struct agent_child *out);
int agent_signer_identity(struct agent_child *signer, struct agent_identity_info *out);
int agent_signer_quote(struct agent_child *signer, const unsigned char *nonce, size_t nonce_len,
                       const char *evidence, size_t evidence_len, const char *pcr_selection,
                       struct agent_quote_result *out);
int agent_signer_enroll(struct agent_child *signer, const char *challenge_id,
                        const unsigned char *blob, size_t blob_len, const unsigned char *secret,
                        size_t secret_len, struct agent_enroll_answer *out);

/* Fork the collector: it enters its sandbox and serves. root "" is the
 * running machine. It reads its caches from cfg->state_dir itself; every
 * write of one comes to the parent as AGENT_MSG_STATE_PUT while it answers a
 * request, and the parent writes it (out->state_dir) if its name is one of
 * the collector's state files (COL_STATE_* in collector.h) — anything else
 * is refused, counted in out->state_refused, and the collector killed. */
int agent_collector_spawn(const struct agent_config *cfg, const char *root,
                          struct agent_child *out);
/* The collectors' configuration from agent.conf; path is $PATH (NULL or ""
 * for the default). out points into cfg. */
struct col_config;
void agent_collector_config(const struct agent_config *cfg, const char *path,
                            struct col_config *out);
/* The evidence document (canonical JSON) of the areas ("" or NULL for all). */
int agent_collector_collect(struct agent_child *collector, const char *areas,
                            struct da_buf *evidence);
int agent_collector_inventory(struct agent_child *collector, struct da_buf *inventory);

/* The text of the last AGENT_MSG_ERROR received (per process). */
const char *agent_privsep_last_error(void);

#endif
