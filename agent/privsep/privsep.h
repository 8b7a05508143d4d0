/* The agent's three processes and the messages between them (docs/ARCHITECTURE.md).
 *
 *   uploader (parent) --IPC--> signer     holds the TPM; answers IDENTITY,
 *                                         QUOTE and ENROLL, nothing else
 *                     --IPC--> collector  reads the system; answers COLLECT
 *                                         and INVENTORY
 *
 * Each child is forked before the uploader confines itself, opens what it
 * needs, enters its own sandbox (agent/privsep/sandbox.h) and then serves its
 * dispatch table until the uploader closes the channel. Every payload is a
 * fixed sequence of fields (agent/privsep/fields.h) with a cap per field. A child
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
#include "privdrop.h"
#include "privsep_proto.h"

enum agent_msg {
    /* uploader -> signer */
    AGENT_MSG_IDENTITY = 1, /* fields: privsep_proto.h */
    AGENT_MSG_QUOTE = 2,    /* the signer collects (its own channel) and quotes */
    AGENT_MSG_ENROLL = 3,
    AGENT_MSG_REQUOTE = 4, /* a spooled report's evidence and MAC, a new nonce */
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
    /* collector -> firewall reader, and its answer */
    AGENT_MSG_FIREWALL = 221,
    AGENT_MSG_FIREWALL_OK = 222,
    /* either child -> uploader */
    AGENT_MSG_ATTEST = 231,        /* build user -> listener (attest_socket): request */
    AGENT_MSG_ATTEST_SIGN = 232,   /* listener -> signer: request, caller uid, command line */
    AGENT_MSG_ATTEST_SIGNED = 233, /* signer -> listener: bundle lines */
    AGENT_MSG_ATTEST_OK = 234,     /* listener -> build user: bundle lines, TSA URL */

    AGENT_MSG_READY = 254, /* no fields: set up and confined, serving */
    AGENT_MSG_ERROR = 255, /* u64 (negated DA_ERR_*), text */
};

/* In the state directory: the signer's own files (covered in the
 * uploader's mount namespace), and the key of the spool MACs there. */
#define AGENT_SIGNER_DIR     "signer"
#define AGENT_SPOOL_KEY_FILE "spool.key"

#define AGENT_FIREWALL_TIMEOUT (10 * 1000) /* ms for the firewall reader's answer */
/* What the JSON trees of the signer and of the uploader may hold at once: a
 * document of DA_MAX_EVIDENCE made of the smallest values would need about
 * forty times its size. */
#define AGENT_JSON_MEMORY (64u * 1024 * 1024)

#define AGENT_CHILD_TIMEOUT (120 * 1000) /* ms for one request, all its frames included */

/* What the signer says about its keys. */
struct agent_identity_info {
    char trust[16];
    struct da_buf ek_public, ek_cert, ak_public, sk_public;
};
void agent_identity_info_free(struct agent_identity_info *id);

struct agent_quote_result {
    struct da_buf attest, signature, pcr_values;
    struct da_buf evidence;                 /* the canonical document quoted */
    unsigned char mac[AGENT_SPOOL_MAC_LEN]; /* the signer's MAC over it, for the spool */
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

/* How a child is started by the runtime: the user to switch to (NULL:
 * none), the end of the collector<->signer evidence channel (-1: none),
 * the end of the collector<->firewall reader channel (-1: none) and, for
 * the collector, PID 1's environment read by the parent (NULL: none). */
struct agent_spawn_opts {
    const struct agent_user *user;
    int evidence_fd;
    int firewall_fd;
    const struct da_buf *pid1_environ;
    /* attest (only when attest is 1): the signer<->listener channel (the
     * signer's or the listener's end), the listening attest_socket
     * (listener) and the group its callers must be in */
    int attest;
    int attest_fd;
    int attest_listen_fd;
    unsigned attest_gid;
};
int agent_signer_spawn_opts(const struct agent_config *cfg, int identity_flags,
                            const struct agent_spawn_opts *o, struct agent_child *out);
int agent_collector_spawn_opts(const struct agent_config *cfg, const char *root,
                               const struct agent_spawn_opts *o, struct agent_child *out);
/* The firewall reader: keeps CAP_NET_ADMIN, answers the collector's
 * FIREWALL requests with the raw nftables netlink dump, nothing else. */
/* The attest listener: accepts on attest_socket, checks the caller's peer
 * credentials against the group, and passes a checked request to the
 * signer (ATTEST_SIGN) and the answer back (agent/privsep/attest_proc.c). */
int agent_attest_listener_spawn(const struct agent_config *cfg, const struct agent_spawn_opts *o,
                                struct agent_child *out);
int agent_firewall_spawn(const struct agent_config *cfg, const struct agent_spawn_opts *o,
                         struct agent_child *out);
int agent_signer_identity(struct agent_child *signer, struct agent_identity_info *out);
/* The signer asks the collector (their own channel) for the evidence, adds
 * agent.spool_dropped, computes D itself and quotes SHA-256(nonce || D);
 * meanwhile the collector's STATE_PUTs are written here. out->evidence is
 * the document quoted, out->mac its MAC under the signer's spool key. */
int agent_signer_quote(struct agent_child *signer, struct agent_child *collector,
                       const unsigned char *nonce, size_t nonce_len, const char *pcr_selection,
                       uint64_t spool_dropped, struct agent_quote_result *out);
/* Quote again a spooled report's evidence: refused (DA_ERR_SPOOL_MAC)
 * unless mac is the signer's own MAC over it. */
int agent_signer_requote(struct agent_child *signer, const unsigned char *nonce, size_t nonce_len,
                         const char *pcr_selection, const char *evidence, size_t evidence_len,
                         const unsigned char mac[AGENT_SPOOL_MAC_LEN],
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
