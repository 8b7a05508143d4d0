/* The privilege-separation protocol in one place: every message's fields
 * with their caps, how often it may come, and which way it goes. Both
 * sides size their frames from these lists (AGENT_MSG_LEN), split payloads
 * with them (AGENT_MSG_CAPS, AGENT_MSG_N) and build their dispatch tables
 * with AGENT_MSG_ROW, so a cap is written once.
 *
 * AGENT_<NAME>_FIELDS(X) applies X to the cap of each field in order;
 * AGENT_<NAME>_ALLOWED is AGENT_IPC_ONCE or AGENT_IPC_MANY for the receiver
 * that serves it. agent_msg_specs[] lists them all (tests and docs). */
#ifndef AGENT_PRIVSEP_PROTO_H
#define AGENT_PRIVSEP_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "caps.h"
#include "ipc.h"

#define AGENT_MAX_NONCE          128
#define AGENT_MAX_PCR_TEXT       128
#define AGENT_MAX_CHALLENGE      128
#define AGENT_MAX_TPM_BLOB       4096 /* credential, secret, attest, signature, public */
#define AGENT_MAX_PCR_VALUES     (24u * 64u * 4u)
#define AGENT_MAX_INVENTORY      (8u * 1024 * 1024)
#define AGENT_MAX_STATE_NAME     32                  /* a collector state file name */
#define AGENT_MAX_STATE_FILE     (12u * 1024 * 1024) /* one state file through the parent */
#define AGENT_MAX_AREAS          512                 /* the areas a COLLECT names */
#define AGENT_MAX_TRUST          16                  /* the identity's trust word */
#define AGENT_MAX_PROOF          64                  /* the enrollment HMAC */
#define AGENT_MAX_ERROR_TEXT     200
#define AGENT_U64                8
#define AGENT_SPOOL_MAC_LEN      32 /* HMAC-SHA-256 of a spooled report's evidence */
#define AGENT_MAX_ATTEST_REQUEST (7u * 1024 * 1024)  /* subjects, git facts, predicates */
#define AGENT_MAX_CMDLINE_JSON   (32u * 1024)        /* the caller's arguments as JSON */
#define AGENT_MAX_ATTEST_LINES   (15u * 1024 * 1024) /* the envelopes of one invocation */
#define AGENT_MAX_URL            1024

/* Field lists. */
#define AGENT_IDENTITY_FIELDS(X)
#define AGENT_IDENTITY_OK_FIELDS(X)                                                                \
    X(AGENT_MAX_TRUST)                                                                             \
    X(AGENT_MAX_TPM_BLOB) X(AGENT_MAX_TPM_BLOB) X(AGENT_MAX_TPM_BLOB) X(AGENT_MAX_TPM_BLOB)
/* nonce, PCR selection text, reports dropped by the spool */
#define AGENT_QUOTE_FIELDS(X) X(AGENT_MAX_NONCE) X(AGENT_MAX_PCR_TEXT) X(AGENT_U64)
/* nonce, PCR selection text, evidence as spooled, its MAC */
#define AGENT_REQUOTE_FIELDS(X)                                                                    \
    X(AGENT_MAX_NONCE) X(AGENT_MAX_PCR_TEXT) X(DA_MAX_EVIDENCE) X(AGENT_SPOOL_MAC_LEN)
/* attest, signature, PCR values, the evidence quoted, its MAC */
#define AGENT_QUOTE_OK_FIELDS(X)                                                                   \
    X(AGENT_MAX_TPM_BLOB)                                                                          \
    X(AGENT_MAX_TPM_BLOB) X(AGENT_MAX_PCR_VALUES) X(DA_MAX_EVIDENCE) X(AGENT_SPOOL_MAC_LEN)
/* challenge id, credential blob, encrypted secret */
#define AGENT_ENROLL_FIELDS(X) X(AGENT_MAX_CHALLENGE) X(AGENT_MAX_TPM_BLOB) X(AGENT_MAX_TPM_BLOB)
/* proof, sk_public, certify attest, certify signature */
#define AGENT_ENROLL_OK_FIELDS(X)                                                                  \
    X(AGENT_MAX_PROOF) X(AGENT_MAX_TPM_BLOB) X(AGENT_MAX_TPM_BLOB) X(AGENT_MAX_TPM_BLOB)
#define AGENT_COLLECT_FIELDS(X)    X(AGENT_MAX_AREAS)
#define AGENT_COLLECT_OK_FIELDS(X) X(DA_MAX_EVIDENCE)
#define AGENT_INVENTORY_FIELDS(X)
#define AGENT_INVENTORY_OK_FIELDS(X) X(AGENT_MAX_INVENTORY)
#define AGENT_STATE_PUT_FIELDS(X)    X(AGENT_MAX_STATE_NAME) X(AGENT_MAX_STATE_FILE)
#define AGENT_FIREWALL_FIELDS(X)
/* -errno of the read (0: read), the kernel's raw netlink answers
 * (col_sys_ops.nft_dump), read only by the collector's evaluator */
#define AGENT_FIREWALL_OK_FIELDS(X) X(AGENT_U64) X(DA_MAX_NFT_DUMP)
/* attest: the request (canonical JSON, agent/attest/attest_req.h), the
 * caller's uid and command line (JSON array), the answer's bundle lines
 * (JSON Lines) and the configured time-stamp authority URL */
#define AGENT_ATTEST_FIELDS(X) X(AGENT_MAX_ATTEST_REQUEST)
#define AGENT_ATTEST_SIGN_FIELDS(X)                                                                \
    X(AGENT_MAX_ATTEST_REQUEST) X(AGENT_U64) X(AGENT_MAX_CMDLINE_JSON)
#define AGENT_ATTEST_SIGNED_FIELDS(X) X(AGENT_MAX_ATTEST_LINES)
#define AGENT_ATTEST_OK_FIELDS(X)     X(AGENT_MAX_ATTEST_LINES) X(AGENT_MAX_URL)
#define AGENT_READY_FIELDS(X)
#define AGENT_ERROR_FIELDS(X) X(AGENT_U64) X(AGENT_MAX_ERROR_TEXT)

/* How often the receiver accepts each on one channel. */
#define AGENT_IDENTITY_ALLOWED      AGENT_IPC_MANY
#define AGENT_IDENTITY_OK_ALLOWED   AGENT_IPC_MANY
#define AGENT_QUOTE_ALLOWED         AGENT_IPC_MANY
#define AGENT_REQUOTE_ALLOWED       AGENT_IPC_MANY
#define AGENT_QUOTE_OK_ALLOWED      AGENT_IPC_MANY
#define AGENT_ENROLL_ALLOWED        AGENT_IPC_ONCE
#define AGENT_ENROLL_OK_ALLOWED     AGENT_IPC_ONCE
#define AGENT_COLLECT_ALLOWED       AGENT_IPC_MANY
#define AGENT_COLLECT_OK_ALLOWED    AGENT_IPC_MANY
#define AGENT_INVENTORY_ALLOWED     AGENT_IPC_MANY
#define AGENT_INVENTORY_OK_ALLOWED  AGENT_IPC_MANY
#define AGENT_STATE_PUT_ALLOWED     AGENT_IPC_MANY
#define AGENT_FIREWALL_ALLOWED      AGENT_IPC_MANY
#define AGENT_FIREWALL_OK_ALLOWED   AGENT_IPC_MANY
#define AGENT_ATTEST_ALLOWED        AGENT_IPC_ONCE /* one request per connection */
#define AGENT_ATTEST_SIGN_ALLOWED   AGENT_IPC_MANY
#define AGENT_ATTEST_SIGNED_ALLOWED AGENT_IPC_MANY
#define AGENT_ATTEST_OK_ALLOWED     AGENT_IPC_ONCE
#define AGENT_READY_ALLOWED         AGENT_IPC_ONCE
#define AGENT_ERROR_ALLOWED         AGENT_IPC_MANY

#define AGENT_FIELD_CAP_(cap) (size_t)(cap),
#define AGENT_FIELD_LEN_(cap) +(4u + (uint32_t)(cap))
#define AGENT_FIELD_ONE_(cap) +1u

/* The largest payload, the number of fields and the caps array of NAME. */
#define AGENT_MSG_LEN(NAME) (0u AGENT_##NAME##_FIELDS(AGENT_FIELD_LEN_))
#define AGENT_MSG_N(NAME)   (0u AGENT_##NAME##_FIELDS(AGENT_FIELD_ONE_))
#define AGENT_MSG_CAPS(NAME)                                                                       \
    {                                                                                              \
        AGENT_##NAME##_FIELDS(AGENT_FIELD_CAP_) 0                                                  \
    }
/* A dispatch table row for NAME handled by fn (NULL in receive tables). */
#define AGENT_MSG_ROW(NAME, fn)                                                                    \
    {                                                                                              \
        AGENT_MSG_##NAME, AGENT_MSG_LEN(NAME), AGENT_##NAME##_ALLOWED, fn                          \
    }

enum agent_msg_dir {
    AGENT_DIR_UPLOADER_TO_SIGNER,
    AGENT_DIR_SIGNER_TO_UPLOADER,
    AGENT_DIR_TO_COLLECTOR,   /* from the uploader, or from the signer on its own channel */
    AGENT_DIR_FROM_COLLECTOR, /* answers go back on the channel the request came from */
    AGENT_DIR_COLLECTOR_TO_UPLOADER,
    AGENT_DIR_COLLECTOR_TO_FIREWALL,
    AGENT_DIR_FIREWALL_TO_COLLECTOR,
    AGENT_DIR_CHILD_TO_PARENT,
    AGENT_DIR_CALLER_TO_LISTENER, /* attest_socket: a build user's attest command */
    AGENT_DIR_LISTENER_TO_CALLER,
    AGENT_DIR_LISTENER_TO_SIGNER,
    AGENT_DIR_SIGNER_TO_LISTENER,
};

#define AGENT_MSG_MAX_FIELDS 6

struct agent_msg_spec {
    uint32_t type;
    const char *name;
    enum agent_msg_dir dir;
    enum agent_ipc_allowed allowed;
    uint32_t max_len;
    size_t n_fields;
    size_t caps[AGENT_MSG_MAX_FIELDS];
};

extern const struct agent_msg_spec agent_msg_specs[];
extern const size_t agent_n_msg_specs;

/* The row of a type, or NULL. */
const struct agent_msg_spec *agent_msg_spec(uint32_t type);

#endif
