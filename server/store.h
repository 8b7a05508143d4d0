/* Storage interface of devattest-server.
 *
 * Backend-neutral: no SQLite (or PostgreSQL) types cross it. Every write is
 * one transaction; a write returns only after its transaction is durable
 * (the SQLite backend batches concurrent writes into one group commit and
 * fsyncs it). Records are plain structs; text fields are NUL-terminated
 * copies owned by the caller after a get (free with the matching _free).
 * Times are Unix seconds. Errors: DA_ERR_STORE, DA_ERR_NOT_FOUND,
 * DA_ERR_STORE_CONFLICT and the specific codes named per function.
 */
#ifndef SRV_STORE_H
#define SRV_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caps.h"

#define SRV_ID_HEX            33 /* 16 random bytes as hex, with NUL */
#define SRV_HASH_LEN          32
#define SRV_MAX_NAME          128 /* vendor names, labels */
#define SRV_STATUS_SIZE       24
#define SRV_TOKEN_ID_SIZE     17 /* public id of an API token: hex of its hash's first 8 bytes */
#define SRV_EK_TRUST_SIZE     24
#define SRV_EK_TRUST_CHAIN    "manufacturer_chain"
#define SRV_EK_TRUST_APPROVAL "admin_approval"
#define SRV_EK_TRUST_SOFTWARE "software" /* no TPM: test_software_agents only */

struct srv_store;

/* The EK certificate an identity enrolled with (ek.h, da_ek_cert_info):
 * issuer and root in RFC 4514 form, serial in hex. All "" when there was
 * no certificate, or the agent enrolled before the server kept them
 * (stored as NULL). */
struct srv_ek_cert {
    char issuer[DA_MAX_EK_DN];
    char serial[DA_MAX_EK_SERIAL];
    char root[DA_MAX_EK_DN];
};

enum srv_role {
    SRV_ROLE_NONE = 0,
    SRV_ROLE_ADMIN = 1,
    SRV_ROLE_AUDITOR = 2,
    SRV_ROLE_VENDOR = 4,
};

/* Who is calling, after a bearer token was looked up. */
struct srv_principal {
    enum srv_role role;
    int64_t vendor_id; /* vendor role: the only vendor it may read; else 0 */
    char label[SRV_MAX_NAME];
    char token_id[SRV_TOKEN_ID_SIZE];
    int64_t last_used_at; /* as stored before this request; 0: never */
};

struct srv_vendor {
    int64_t id;
    char name[SRV_MAX_NAME];
    int64_t created_at;
};

/* A pending enrollment: what the server will need at activation. */
struct srv_challenge {
    char id[SRV_ID_HEX];
    int64_t vendor_id;
    unsigned char secret[SRV_HASH_LEN]; /* credential secret; wiped on free */
    unsigned char *ek_public;           /* TPM2B_PUBLIC bytes */
    size_t ek_public_len;
    unsigned char *ak_public;
    size_t ak_public_len;
    char ek_name[2 * 34 + 1]; /* hex of the EK's TPM name */
    char ak_name[2 * 34 + 1];
    char *host_json; /* host facts the agent sent */
    int64_t expires_at;
    char ek_trust[SRV_EK_TRUST_SIZE]; /* how the EK was trusted (see srv_agent) */
    struct srv_ek_cert ek_cert;
};

struct srv_agent {
    char id[SRV_ID_HEX];
    int64_t vendor_id;
    char vendor[SRV_MAX_NAME];
    char ek_name[2 * 34 + 1];
    char ak_name[2 * 34 + 1];
    unsigned char *ak_public;
    size_t ak_public_len;
    unsigned char *sk_public;
    size_t sk_public_len;
    char *host_json;
    bool revoked;
    char status[SRV_STATUS_SIZE]; /* computed on read: see srv_store_agent_status */
    int64_t created_at;
    int64_t last_verified_at; /* 0: never */
    bool last_compliant;
    char last_report_id[SRV_ID_HEX];
    /* TPM counters from the last verified quote: reset/restart must not fall. */
    uint32_t reset_count;
    uint32_t restart_count;
    uint64_t clock;
    uint64_t firmware_version;
    /* How the EK was trusted: "manufacturer_chain" (its certificate chained
     * to a configured root) or "admin_approval" (no certificate; an
     * administrator approved the EK public key). */
    char ek_trust[SRV_EK_TRUST_SIZE];
    struct srv_ek_cert ek_cert; /* its certificate, as of the last enrollment */
};

/* An enrollment without an EK certificate, held for an administrator:
 * state "pending", then "approved" or "rejected" (never back). */
struct srv_enrollment {
    char id[SRV_ID_HEX];
    int64_t vendor_id;
    char vendor[SRV_MAX_NAME];
    unsigned char *ek_public; /* TPM2B_PUBLIC bytes */
    size_t ek_public_len;
    unsigned char *ak_public;
    size_t ak_public_len;
    char ek_name[2 * 34 + 1];
    char ak_name[2 * 34 + 1];
    char ek_sha256[65]; /* SHA-256 of the EK's DER SubjectPublicKeyInfo, hex */
    char *host_json;
    char state[16];
    int64_t created_at;
    int64_t decided_at; /* 0 while pending */
    char decided_by[SRV_MAX_NAME];
};

/* A pending upgrade of an agent: (package, architecture, candidate version)
 * and when a verified report of that agent first listed it as pending. */
struct srv_pending_seen {
    const char *name;
    const char *arch;
    const char *candidate;
    int64_t first_seen; /* Unix seconds; from a get, 0 when never listed */
    /* from a get: when the agent's reports stopped listing it (0: listed
     * by its newest report with a known pending list, or never listed) */
    int64_t gone_at;
};

/* Rows of pending_seen that no report lists any more are kept this long
 * after the first report that left them out, then the staleness sweep
 * deletes them: a report that leaves an upgrade out does not restart its
 * age unless every report leaves it out for this long. */
#define SRV_PENDING_GONE_KEEP_S (30 * 86400)

/* A difference between an agent's reference boot state and a later
 * report's: what (secure_boot, keys, authorities, boot_applications) with
 * both values as JSON texts. In a list the text is borrowed for the call. */
struct srv_boot_change {
    int64_t id;
    char report_id[SRV_ID_HEX];
    int64_t at;
    const char *what;
    const char *reference_json;
    const char *now_json;
};

/* A boot component digest an admin allowed for a vendor's machines. */
struct srv_boot_pin {
    char vendor[SRV_MAX_NAME];
    char digest[7 + 64 + 1]; /* "sha256:" and lower-case hex */
    char what[16];           /* shim, bootloader, kernel, uki, driver, other */
    char actor[SRV_MAX_NAME];
    int64_t created_at;
};

struct srv_report {
    char id[SRV_ID_HEX];
    char agent_id[SRV_ID_HEX];
    unsigned char nonce_hash[SRV_HASH_LEN]; /* unique: single use of nonces */
    int64_t nonce_expires_at;
    char evidence_sha256[65];
    char *evidence_json; /* canonical evidence */
    /* put: SHA-256 of evidence_json when the caller computed it (evidence_sha256
     * is then its hex); NULL: the store hashes the text */
    const unsigned char *evidence_digest;
    char *verdict_json;    /* policy result */
    char *transcript_json; /* verification steps */
    char *receipt_json;    /* DSSE envelope */
    bool compliant;
    int64_t received_at;
    /* counters to store on the agent with this report */
    uint32_t reset_count;
    uint32_t restart_count;
    uint64_t clock;
    uint64_t firmware_version;
    bool clock_unsafe;         /* the quote's clockInfo.safe was NO; not stored */
    char inventory_sha256[65]; /* "" when the evidence carries none */
    /* put: the report's pending upgrades; those the agent never listed
     * before are recorded with their first_seen (not loaded by gets) */
    const struct srv_pending_seen *pending;
    size_t n_pending;
    /* put: the agent's recorded upgrades this report's pending list leaves
     * out (marked gone at received_at unless already marked), and those it
     * lists again after they were marked (marked pending again, keeping
     * their first_seen); only for a report whose pending list is known */
    const struct srv_pending_seen *pending_gone;
    size_t n_pending_gone;
    const struct srv_pending_seen *pending_back;
    size_t n_pending_back;
    /* put: the agent's IMA state to store (NULL: left as it is), and the
     * state it was computed from (NULL: none was stored) */
    const struct srv_ima_state *ima;
    const struct srv_ima_state *ima_prev;
    /* put: the report's boot state (JSON), kept as the agent's reference
     * when it has none yet, and how it differs from that reference (not
     * loaded by gets) */
    const char *boot_state_json;
    const struct srv_boot_change *boot_changes;
    size_t n_boot_changes;
    /* put: the report body as it arrived, kept for evidence packs (not
     * loaded by gets; NULL: none) */
    const char *body_json;
    /* get: when the retention setting removed the evidence, the transcript
     * and the signed body (then evidence_json and transcript_json are
     * NULL; the verdict and the receipt remain); 0: kept in full */
    int64_t pruned_at;
    /* put: the tree verdict_json was printed from, when the caller has it
     * (the fleet summary's shape is then taken from it); NULL: the text is
     * read */
    const struct cJSON *verdict_tree;
};

struct srv_audit_entry {
    int64_t id;
    int64_t at;
    char actor[SRV_MAX_NAME];
    char action[48];
    char subject[SRV_MAX_NAME];
    char code[48];
    char *detail;
};

/* Open (creating and migrating) the store at path; batch_max bounds a group
 * commit. stale_after is the staleness threshold used by status reads. A
 * path that begins with postgresql:// or postgres:// is a PostgreSQL
 * database (libpq connection URI), anything else an SQLite file. */
int srv_store_open(const char *path, unsigned batch_max, unsigned stale_after,
                   struct srv_store **out);
/* The same with the number of connections a PostgreSQL store keeps
 * (0: 16); an SQLite store ignores it. */
int srv_store_open_pool(const char *path, unsigned batch_max, unsigned connections,
                        unsigned stale_after, struct srv_store **out);

/* Work that one server process at a time does when several share a
 * PostgreSQL database: the staleness sweep, webhook deliveries, the
 * retention sweep. */
enum srv_lease { SRV_LEASE_SWEEP = 0, SRV_LEASE_WEBHOOKS = 1, SRV_LEASE_RETENTION = 2 };
/* Whether this process holds the lease of kind, taking it when it is free.
 * A PostgreSQL store holds it with a session advisory lock until the
 * process ends or loses that connection, then another takes it over; an
 * SQLite store (one process per file) always holds it. */
int srv_store_lease(struct srv_store *s, enum srv_lease kind, bool *held);
/* Finish queued writes, stop the writer, close. Accepts NULL. */
void srv_store_close(struct srv_store *s);
/* Schema version after migrations. */
int srv_store_schema_version(struct srv_store *s, int *version);
/* "ok" from the backend's integrity check, else DA_ERR_STORE. */
int srv_store_integrity_check(struct srv_store *s);

/* Vendors */
int srv_store_vendor_ensure(struct srv_store *s, const char *name, int64_t *id);
int srv_store_vendor_find(struct srv_store *s, const char *name, struct srv_vendor *out);
typedef int (*srv_vendor_cb)(const struct srv_vendor *v, void *ctx);
int srv_store_vendors_list(struct srv_store *s, srv_vendor_cb cb, void *ctx);

/* API bearer tokens, by SHA-256 of the token text. vendor is NULL unless
 * role is SRV_ROLE_VENDOR. */
int srv_store_api_token_put(struct srv_store *s, const unsigned char hash[SRV_HASH_LEN],
                            enum srv_role role, const char *vendor, const char *label);
/* DA_ERR_AUTH_DENIED when no such token, DA_ERR_API_TOKEN_REVOKED,
 * DA_ERR_API_TOKEN_EXPIRED (expiry at or before the store's clock). */
int srv_store_api_token_find(struct srv_store *s, const unsigned char hash[SRV_HASH_LEN],
                             struct srv_principal *out);

/* Enrollment tokens: single use, expiring. */
int srv_store_enroll_token_put(struct srv_store *s, const unsigned char hash[SRV_HASH_LEN],
                               const char *vendor, int64_t expires_at);
/* Marks the token used and gives its vendor. DA_ERR_TOKEN_INVALID,
 * DA_ERR_TOKEN_EXPIRED, DA_ERR_TOKEN_USED. */
int srv_store_enroll_token_consume(struct srv_store *s, const unsigned char hash[SRV_HASH_LEN],
                                   int64_t now, int64_t *vendor_id);

/* Pending challenges: put, then take exactly once (deleted by the take,
 * whatever the caller then decides). DA_ERR_CHALLENGE_INVALID when unknown
 * or expired. */
int srv_store_challenge_put(struct srv_store *s, const struct srv_challenge *c);
int srv_store_challenge_take(struct srv_store *s, const char *id, int64_t now,
                             struct srv_challenge **out);
void srv_challenge_free(struct srv_challenge *c);

/* Enrollments held for approval. hold spends the enrollment token (errors
 * of srv_store_enroll_token_consume) and stores e as pending with the
 * token's vendor (set in e->vendor_id), in one transaction: on any error
 * neither happens. get: DA_ERR_ENROLL_UNKNOWN. decide moves a pending one
 * to "approved" or "rejected" in one conditional update
 * (DA_ERR_ENROLL_UNKNOWN, DA_ERR_ENROLL_STATE when it is no longer pending;
 * nothing changes). */
int srv_store_enrollment_hold(struct srv_store *s, const unsigned char token_hash[SRV_HASH_LEN],
                              struct srv_enrollment *e);
int srv_store_enrollment_get(struct srv_store *s, const char *id, struct srv_enrollment **out);
typedef int (*srv_enrollment_cb)(const struct srv_enrollment *e, void *ctx);
/* state NULL: all; oldest first. */
int srv_store_enrollments_list(struct srv_store *s, const char *state, srv_enrollment_cb cb,
                               void *ctx);
int srv_store_enrollment_decide(struct srv_store *s, const char *id, const char *state,
                                const char *actor, int64_t now);
void srv_enrollment_free(struct srv_enrollment *e);

/* Agents */
int srv_store_agent_create(struct srv_store *s, const struct srv_agent *a);
/* DA_ERR_AGENT_UNKNOWN when absent. */
int srv_store_agent_get(struct srv_store *s, const char *id, int64_t now, struct srv_agent **out);
/* The agent and, in the same read, its IMA state (*have_ima false: none
 * stored; clear it with srv_ima_state_clear). DA_ERR_AGENT_UNKNOWN. */
struct srv_ima_state;
int srv_store_agent_get_ima(struct srv_store *s, const char *id, int64_t now,
                            struct srv_agent **out, struct srv_ima_state *ima, bool *have_ima);
/* The agent holding this EK, or DA_ERR_NOT_FOUND. */
int srv_store_agent_find_by_ek(struct srv_store *s, const char *ek_name, int64_t now,
                               struct srv_agent **out);
typedef int (*srv_agent_cb)(const struct srv_agent *a, void *ctx);
/* vendor_id 0: all; status NULL: all. */
int srv_store_agents_list(struct srv_store *s, int64_t vendor_id, const char *status, int64_t now,
                          srv_agent_cb cb, void *ctx);
/* Revoke or re-admit. Re-admitting an agent whose EK is held by a newer
 * identity event replaces the AK with the one of that event. */
int srv_store_agent_set_revoked(struct srv_store *s, const char *id, bool revoked);
/* A machine enrolled again with the same EK and AK: new SK, host facts and
 * the way its EK was trusted this time (ek_cert NULL: no certificate). */
int srv_store_agent_reenroll(struct srv_store *s, const char *id, const unsigned char *sk_public,
                             size_t sk_public_len, const char *host_json, const char *ek_trust,
                             const struct srv_ek_cert *ek_cert);
/* Replace the AK of an agent (after an admin re-admits a machine). */
int srv_store_agent_replace_ak(struct srv_store *s, const char *id, const unsigned char *ak_public,
                               size_t ak_public_len, const char *ak_name);
/* Marks agents stale whose last verified report is older than stale_after;
 * *changed gets how many changed. */
int srv_store_sweep_stale(struct srv_store *s, int64_t now, int *changed);
void srv_agent_free(struct srv_agent *a);

/* The agent's reference boot state: the state (JSON) of its first stored
 * report whose event log replayed, that report's id and when it was
 * recorded; DA_ERR_NOT_FOUND when there is none yet. */
int srv_store_boot_reference(struct srv_store *s, const char *agent_id, char **state_json,
                             char report_id[SRV_ID_HEX], int64_t *recorded_at);
typedef int (*srv_boot_change_cb)(const struct srv_boot_change *c, void *ctx);
/* The agent's boot changes, newest first, at most limit. */
int srv_store_boot_changes_list(struct srv_store *s, const char *agent_id, unsigned limit,
                                srv_boot_change_cb cb, void *ctx);

/* Boot pins per vendor (digest as "sha256:" and lower-case hex, checked by
 * the caller). DA_ERR_VENDOR_UNKNOWN, DA_ERR_BOOT_PIN_EXISTS,
 * DA_ERR_BOOT_PIN_UNKNOWN. */
int srv_store_boot_pin_add(struct srv_store *s, const char *vendor, const char *digest,
                           const char *what, const char *actor);
int srv_store_boot_pin_remove(struct srv_store *s, const char *vendor, const char *digest);
typedef int (*srv_boot_pin_cb)(const struct srv_boot_pin *p, void *ctx);
/* vendor_id 0: every vendor's pins. */
int srv_store_boot_pins_list(struct srv_store *s, int64_t vendor_id, srv_boot_pin_cb cb, void *ctx);

/* Webhook endpoints and their delivery queue (server/webhook.h). events
 * is a comma-separated list of event kinds. */
struct srv_webhook {
    char id[SRV_ID_HEX];
    char url[512];
    char secret[65]; /* hex of 32 random bytes: the HMAC key */
    char events[256];
    int64_t created_at;
};

/* A queued delivery; body is borrowed for the callback. attempts_json is the
 * array of attempts [{at, status, error}] (deliveries list only). */
struct srv_webhook_delivery {
    int64_t id;
    char webhook_id[SRV_ID_HEX];
    char url[512];
    char secret[65];
    char event[48];
    char state[16]; /* pending, delivered, failed */
    int64_t created_at;
    int64_t next_at;
    int attempts;
    const char *body;
    const char *attempts_json;
};

int srv_store_webhook_add(struct srv_store *s, const struct srv_webhook *w);
/* DA_ERR_WEBHOOK_UNKNOWN when absent; its queued deliveries go with it. */
int srv_store_webhook_remove(struct srv_store *s, const char *id);
int srv_store_webhook_get(struct srv_store *s, const char *id, struct srv_webhook *out);
typedef int (*srv_webhook_cb)(const struct srv_webhook *w, void *ctx);
int srv_store_webhooks_list(struct srv_store *s, srv_webhook_cb cb, void *ctx);
/* Queue body for every endpoint subscribed to event (webhook_id NULL) or
 * for that one endpoint; *queued gets how many. DA_ERR_WEBHOOK_QUEUE_FULL
 * when queue_max deliveries are already pending (nothing queued). */
int srv_store_webhook_enqueue(struct srv_store *s, const char *webhook_id, const char *event,
                              const char *body, int64_t now, unsigned queue_max, int *queued);
typedef int (*srv_webhook_delivery_cb)(const struct srv_webhook_delivery *d, void *ctx);
/* Pending deliveries due at now, oldest first, at most limit. */
int srv_store_webhook_due(struct srv_store *s, int64_t now, unsigned limit,
                          srv_webhook_delivery_cb cb, void *ctx);
/* Record one attempt (status 0: no HTTP answer) and the delivery's next
 * state and due time. */
int srv_store_webhook_attempt(struct srv_store *s, int64_t delivery_id, int64_t at, int status,
                              const char *error, const char *state, int64_t next_at);
/* An endpoint's deliveries, newest first, with their attempts. */
int srv_store_webhook_deliveries(struct srv_store *s, const char *webhook_id, unsigned limit,
                                 srv_webhook_delivery_cb cb, void *ctx);
/* Ids of agents that are not revoked and have no verified report newer than
 * cutoff and were not yet marked stale; called before the sweep marks them. */
typedef int (*srv_agent_id_cb)(const char *agent_id, void *ctx);
int srv_store_sweep_stale_ids(struct srv_store *s, int64_t now, srv_agent_id_cb cb, void *ctx);

/* Evidence packs: a vendor's reports received in [from, to), oldest first,
 * with everything stored about each; texts are borrowed for the callback
 * (body_json NULL for a report stored before bodies were kept). */
struct srv_pack_report {
    char id[SRV_ID_HEX];
    char agent_id[SRV_ID_HEX];
    int64_t received_at;
    bool compliant;
    char evidence_sha256[65];
    const char *verdict_json;
    const char *transcript_json;
    const char *receipt_json;
    const char *body_json;
};
typedef int (*srv_pack_report_cb)(const struct srv_pack_report *r, void *ctx);
int srv_store_pack_reports(struct srv_store *s, int64_t vendor_id, int64_t from, int64_t to,
                           srv_pack_report_cb cb, void *ctx);
/* A stored policy version by its digest; DA_ERR_NOT_FOUND. */
int srv_store_policy_by_sha256(struct srv_store *s, const char *sha256_hex, char **json,
                               int64_t *created_at);
/* The agent's IMA state (ima.h); DA_ERR_NOT_FOUND when none is stored.
 * Clear it with srv_ima_state_clear. */
struct srv_ima_state;
int srv_store_ima_get(struct srv_store *s, const char *agent_id, struct srv_ima_state *out);

/* Identity events: the same EK came with another AK. */
int srv_store_identity_event_put(struct srv_store *s, const char *agent_id,
                                 const unsigned char *ak_public, size_t ak_public_len,
                                 const char *ak_name, const char *detail);
/* The latest unresolved event's AK for an agent, or DA_ERR_NOT_FOUND. */
int srv_store_identity_event_latest(struct srv_store *s, const char *agent_id,
                                    unsigned char **ak_public, size_t *ak_public_len,
                                    char ak_name[2 * 34 + 1]);

/* Reports: marks the nonce used for this agent (DA_ERR_VERIFY_NONCE_REPLAY
 * when it was), checks the report's TPM counters against the agent's as
 * stored in the same transaction (da_tpm_clock_check:
 * DA_ERR_VERIFY_COUNTER_ROLLBACK) and sets them with an update conditional on
 * the tuple it checked (DA_ERR_STORE_CONFLICT should another writer have
 * moved them), inserts the report, records the inventory digest, the
 * first-seen times of new pending upgrades and the agent's IMA state (only
 * while the stored one is still r->ima_prev, else DA_ERR_STORE_CONFLICT):
 * one transaction. DA_ERR_AGENT_REVOKED when the agent was revoked
 * meanwhile. */
int srv_store_report_put(struct srv_store *s, const struct srv_report *r);
/* One bounded batch (a transaction of at most batch reports) of the
 * retention sweep: reports received before cutoff keep their verdict,
 * digests and receipt and lose evidence, transcript and signed body
 * (pruned_at = now); evidence areas, body members and base records that no
 * report since cutoff used are deleted, verdicts once no report names
 * them. *more: call again (more work before the cutoff). */
int srv_store_retention_sweep(struct srv_store *s, int64_t cutoff, int64_t now, unsigned batch,
                              int *pruned, bool *more);
/* Tests only: format 0 writes reports as servers before schema 10 did
 * (every text in its column), to build databases of older versions; 1 (the
 * default) is the compact form. */
void srv_store_write_format(struct srv_store *s, int format);
int srv_store_report_get(struct srv_store *s, const char *id, struct srv_report **out);
/* The report this agent made with this nonce, for idempotent retries;
 * DA_ERR_NOT_FOUND. */
int srv_store_report_find_by_nonce(struct srv_store *s, const char *agent_id,
                                   const unsigned char hash[SRV_HASH_LEN], struct srv_report **out);
typedef int (*srv_report_cb)(const struct srv_report *r, void *ctx);
/* Newest first (ids are time-ordered and break ties within a second), at
 * most limit; evidence/transcript/receipt are not loaded. */
int srv_store_reports_list(struct srv_store *s, const char *agent_id, unsigned limit,
                           srv_report_cb cb, void *ctx);
void srv_report_free(struct srv_report *r);
/* Number of reports (all agents). */
int srv_store_reports_count(struct srv_store *s, int64_t *count);
/* Whether this agent already used a nonce with this hash. */
int srv_store_nonce_used(struct srv_store *s, const char *agent_id,
                         const unsigned char hash[SRV_HASH_LEN], bool *used);

/* Readiness: one small durable write through the same path as every other
 * write (the writer thread, a transaction, fsync). 0 when the store can
 * take writes. */
int srv_store_probe_write(struct srv_store *s, int64_t now);

/* First-seen times of pending upgrades: fills v[i].first_seen and
 * v[i].gone_at from the agent's verified reports (0 for a triple never
 * listed). A triple stays recorded after it stops being pending, so leaving
 * it out of a report does not restart its age; the staleness sweep deletes
 * it SRV_PENDING_GONE_KEEP_S after the first report that left it out. */
int srv_store_pending_seen_get(struct srv_store *s, const char *agent_id,
                               struct srv_pending_seen *v, size_t n);
/* The same, and left_out(row, ctx) for each of the agent's recorded triples
 * that is not among v and not yet marked gone (row's texts are borrowed for
 * the call; a nonzero return stops the read and is returned). */
typedef int (*srv_pending_seen_cb)(const struct srv_pending_seen *row, void *ctx);
int srv_store_pending_seen_read(struct srv_store *s, const char *agent_id,
                                struct srv_pending_seen *v, size_t n, srv_pending_seen_cb left_out,
                                void *ctx);

/* Package inventory digests seen with full inventories. */
int srv_store_inventory_known(struct srv_store *s, const char *sha256_hex, bool *known);

/* Policy versions: the newest is current. */
int srv_store_policy_put(struct srv_store *s, const char *json, const char *sha256_hex,
                         const char *actor);
/* DA_ERR_NOT_FOUND when none was stored. */
int srv_store_policy_current(struct srv_store *s, char **json, char sha256_hex[65]);

/* Audit log. Also written to the server log by the caller. */
int srv_store_audit(struct srv_store *s, const char *actor, const char *action, const char *subject,
                    const char *code, const char *detail);
typedef int (*srv_audit_cb)(const struct srv_audit_entry *e, void *ctx);
int srv_store_audit_list(struct srv_store *s, const char *action, unsigned limit, srv_audit_cb cb,
                         void *ctx);
int srv_store_audit_count(struct srv_store *s, int64_t *count);

/* ---- administration: vendors, API tokens, paged lists ---- */

/* Vendor names an administrator creates: 1..63 of [A-Za-z0-9._-],
 * starting with a letter or digit. */
bool srv_vendor_name_valid(const char *name);
/* DA_ERR_VENDOR_NAME, DA_ERR_VENDOR_EXISTS. */
int srv_store_vendor_create(struct srv_store *s, const char *name, int64_t *id);
/* DA_ERR_VENDOR_NAME (new name), DA_ERR_VENDOR_UNKNOWN, DA_ERR_VENDOR_EXISTS. */
int srv_store_vendor_rename(struct srv_store *s, const char *name, const char *new_name);

struct srv_api_token {
    char id[SRV_TOKEN_ID_SIZE];
    enum srv_role role;
    char vendor[SRV_MAX_NAME]; /* "" unless role is vendor */
    char label[SRV_MAX_NAME];
    int64_t created_at;
    int64_t expires_at;   /* 0: never */
    int64_t last_used_at; /* 0: never */
    int64_t revoked_at;   /* 0: not revoked */
};

/* Like srv_store_api_token_put with an expiry (0: none). The vendor must
 * exist: DA_ERR_VENDOR_UNKNOWN (nothing is created). */
int srv_store_api_token_add(struct srv_store *s, const unsigned char hash[SRV_HASH_LEN],
                            enum srv_role role, const char *vendor, const char *label,
                            int64_t expires_at);
typedef int (*srv_api_token_cb)(const struct srv_api_token *t, void *ctx);
/* Oldest first. */
int srv_store_api_tokens_list(struct srv_store *s, srv_api_token_cb cb, void *ctx);
/* DA_ERR_API_TOKEN_UNKNOWN; revoking a revoked token keeps its first time. */
int srv_store_api_token_revoke(struct srv_store *s, const char *id, int64_t now,
                               struct srv_api_token *out);
/* Set the expiry (a time in the past ends it now). DA_ERR_API_TOKEN_UNKNOWN. */
int srv_store_api_token_expire(struct srv_store *s, const char *id, int64_t at,
                               struct srv_api_token *out);
/* Record a use (only moves forward). */
int srv_store_api_token_touch(struct srv_store *s, const char *id, int64_t now);

/* One page of a list: at most limit rows after the cursor key, within the
 * time window [from, to) where the list has one (0: open). */
struct srv_page {
    unsigned limit;
    int64_t from, to;
    bool has_after;
    int64_t after_n;             /* agents: created_at; reports: received_at; audit: id */
    char after_id[SRV_MAX_NAME]; /* agents and reports: id; audit: unused */
};

/* Agents by (created_at, id). */
int srv_store_agents_page(struct srv_store *s, int64_t vendor_id, const char *status, int64_t now,
                          const struct srv_page *pg, srv_agent_cb cb, void *ctx);
/* An agent's reports, newest first: by (received_at, id) descending (ids are
 * time-ordered, so reports of one second keep their order). */
int srv_store_reports_page(struct srv_store *s, const char *agent_id, const struct srv_page *pg,
                           srv_report_cb cb, void *ctx);
/* Audit events, newest first (id descending). */
int srv_store_audit_page(struct srv_store *s, const char *action, const struct srv_page *pg,
                         srv_audit_cb cb, void *ctx);

/* Agents counted by vendor and status (for /metrics). */
typedef int (*srv_agent_count_cb)(const char *vendor, const char *status, int64_t n, void *ctx);
int srv_store_agent_counts(struct srv_store *s, int64_t now, srv_agent_count_cb cb, void *ctx);
/* ---- fleet summary (schema 12; docs/internals/server-store.md) ----
 * Each agent's present results are kept on write, in the transaction that
 * stores its report (table fleet_current), counted per (vendor, state,
 * shape) in fleet_counts, and each change of compliance or check verdict
 * is a row of fleet_changes. Staleness is not stored: it is the agent's
 * last verified report (or enrollment) against now - stale_after. */
#define SRV_FLEET_WINDOW_S 86400 /* the summary's "what changed" window */

/* Machines per vendor and status ("compliant", "non_compliant", "stale",
 * "revoked", "pending"; statuses with no machine are left out), of one
 * vendor (vendor_id) or all (0), by vendor name then status. */
int srv_store_fleet_status(struct srv_store *s, int64_t vendor_id, int64_t now,
                           srv_agent_count_cb cb, void *ctx);

/* The non-revoked machines that have a report, grouped by the controls and
 * checks of their newest report (shape_json: {"controls": {id: verdict},
 * "checks": [{"id", "verdict"}]} in the verdict's order) with how many
 * share it; groups in the order of their first machine by (created_at,
 * id). */
typedef int (*srv_fleet_shape_cb)(const char *shape_json, int64_t n, void *ctx);
int srv_store_fleet_shapes(struct srv_store *s, int64_t vendor_id, srv_fleet_shape_cb cb,
                           void *ctx);

/* One change of the fleet summary: kind "compliance" (subject "first report"
 * or "compliance"), "check" (subject the check id), "boot" (subject what
 * changed, to "changed") or "status" (subject the audit action, to "stale",
 * "revoked" or "readmitted"; report_id ""). from is NULL when there was no
 * value before. Texts are borrowed for the call. */
struct srv_fleet_change {
    int64_t at;
    const char *agent_id, *vendor, *host_json, *report_id, *kind, *subject, *from, *to;
};
typedef int (*srv_fleet_change_cb)(const struct srv_fleet_change *c, void *ctx);
/* Changes at or after since of one vendor's machines (or all: 0): the
 * newest `limit` of report changes, the newest `limit` of boot changes,
 * and the newest 500 status events of each of agent_stale, agent_revoked
 * and agent_readmitted (of all vendors, or of the vendor's own machines).
 * Not in time order across kinds (the caller sorts). */
int srv_store_fleet_changes(struct srv_store *s, int64_t vendor_id, int64_t since, unsigned limit,
                            srv_fleet_change_cb cb, void *ctx);

/* Bytes the stored data occupies (for /metrics): SQLite's pages in use
 * (page_count - freelist_count) times page_size, as of the last commit;
 * PostgreSQL's pg_database_size of the store's database. */
int srv_store_bytes(struct srv_store *s, int64_t *bytes);
/* Free space back to the file system after deletions (retention, sweeps):
 * SQLite moves up to pages pages (1..SRV_RECLAIM_PAGES_MAX) from the end of
 * the file into free pages and truncates it at the next checkpoint, as one
 * short write (PRAGMA incremental_vacuum); *left gets the free pages that
 * remain, so the caller repeats while it is not 0, letting other writes run
 * between the steps. PostgreSQL reuses free space itself: 0 and *left 0.
 * DA_ERR_INVALID_ARG, DA_ERR_STORE. */
#define SRV_RECLAIM_PAGES_MAX 65536
int srv_store_reclaim(struct srv_store *s, unsigned pages, int64_t *left);

struct srv_histogram;
/* Where the store records how long writes (queue to durable commit) and
 * reads (a reader connection held) take; NULL: not recorded. Set before
 * the store is shared between threads. */
void srv_store_set_latency(struct srv_store *s, struct srv_histogram *writes,
                           struct srv_histogram *reads);

#endif
