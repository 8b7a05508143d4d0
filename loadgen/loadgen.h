/* devattest-loadgen: simulated agents posting verified reports to a
 * devattest-server (docs/loadgen.md). The parts: software identities
 * (lg_identity.c), realistic evidence varied per agent and over time
 * (lg_docs.c), the HTTPS driver (lg_run.c), reading the server's /metrics
 * and JSON answers (lg_answer.c), and the command line (main.c). */
#ifndef DA_LOADGEN_H
#define DA_LOADGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "buf.h"
#include "nonce.h"
#include "quote.h"

#define LG_MAX_AGENTS      100000u
#define LG_MAX_CONCURRENCY 1024u
#define LG_MAX_COUNT       10000000u
#define LG_MAX_DURATION_S  3600u
#define LG_MAX_ANSWER      (1024u * 1024)      /* one server answer */
#define LG_MAX_METRICS     (4u * 1024 * 1024)  /* the /metrics text */
#define LG_MAX_INVENTORY   (16u * 1024 * 1024) /* the package inventory file */
#define LG_MAX_CODES       32u                 /* distinct error codes counted */
#define LG_CODE_LEN        48u

/* ---- software identity (lg_identity.c) ---- */

/* A P-256 key in the TPM's structures: a restricted signing key that claims
 * no TPM (no fixedTPM, no fixedParent), as the agent's software-key mode
 * makes it, and quotes over PCRs that read as zeros. */
struct lg_identity {
    EVP_PKEY *key;
    unsigned char pub[256]; /* marshalled TPM2B_PUBLIC */
    size_t pub_len;
    unsigned char name[34]; /* nameAlg || SHA-256(TPMT_PUBLIC) */
    uint64_t clock;         /* ms, strictly increasing per identity */
};

int lg_identity_new(struct lg_identity *id);
void lg_identity_free(struct lg_identity *id);
/* The quote of a report over qualifying data qd: base64 TPMS_ATTEST,
 * TPMT_SIGNATURE and the PCR values of sel (zeros) appended to out as the
 * JSON members "attest":"…","signature":"…","pcr_values":"…". */
int lg_identity_quote(struct lg_identity *id, const struct da_pcr_selection *sel,
                      const unsigned char qd[32], struct da_buf *out);

/* ---- evidence documents (lg_docs.c) ---- */

struct lg_template;  /* the captured document, parsed once */
struct lg_agent_doc; /* one agent's current document */

/* The evidence file: a devattest.evidence/v1 document with one top-level
 * collected_at (RFC 3339 UTC, seconds) and patches.pending. Errors:
 * DA_ERR_LOADGEN_DOCUMENT with *why set, file and JSON errors. */
int lg_template_load(const char *path, struct lg_template **out, const char **why);
void lg_template_free(struct lg_template *t);
size_t lg_template_size(const struct lg_template *t); /* canonical bytes */
size_t lg_template_pending(const struct lg_template *t);

/* Agent number n's document, varied from the template by seed: host
 * names and ids, and which pending upgrades are still pending. */
int lg_agent_doc_new(const struct lg_template *t, unsigned n, uint64_t seed,
                     struct lg_agent_doc **out);
void lg_agent_doc_free(struct lg_agent_doc *d);
/* One change over time, chosen by r: a pending upgrade installed or a new
 * one appearing (even r), or the posture flipping (odd r: automatic
 * updates switched off or on). The document is rebuilt. */
int lg_agent_doc_change(struct lg_agent_doc *d, uint64_t r);
/* Stamp collected_at = now (UTC) into the canonical text and give it and
 * its SHA-256 (the evidence digest). The text stays owned by d. */
int lg_agent_doc_stamp(struct lg_agent_doc *d, int64_t now, const char **text, size_t *len,
                       unsigned char digest[32]);
unsigned lg_agent_doc_changes(const struct lg_agent_doc *d);

/* ---- answers from the server (lg_answer.c) ---- */

/* The value of the sample `name` (no labels) in a Prometheus text
 * exposition text[0..len): DA_ERR_NOT_FOUND when absent,
 * DA_ERR_LOADGEN_ANSWER when its line is malformed or the value is not a
 * finite number >= 0. */
int lg_metrics_value(const char *text, size_t len, const char *name, double *out);
/* The nonce answer {"nonce": base64 of DA_NONCE_LEN bytes, ...}: the raw
 * nonce; DA_ERR_LOADGEN_ANSWER for anything else. */
int lg_answer_nonce(const char *text, size_t len, unsigned char nonce[DA_NONCE_LEN]);
/* An error answer {"error": {"code": "...", ...}}: the code, else
 * DA_ERR_LOADGEN_ANSWER. */
int lg_answer_error_code(const char *text, size_t len, char code[LG_CODE_LEN]);

/* ---- the run (lg_run.c) ---- */

struct lg_agent {
    char id[65];
    char url_nonce[512];
    char url_report[512];
    struct lg_identity ident;
    struct lg_agent_doc *doc;
    bool busy; /* one cycle at a time, as a real agent */
};

struct lg_run_in {
    const char *ca;
    struct lg_agent *agents;
    unsigned n_agents;
    unsigned concurrency;
    unsigned rate; /* cycles started per second; 0: as fast as answers come */
    unsigned duration_s;
    unsigned count; /* cycles at most */
    double change_rate;
    uint64_t seed;
    struct da_pcr_selection sel;
    const char *inventory_json; /* the inventory as a JSON string, or NULL */
};

struct lg_code_count {
    char code[LG_CODE_LEN];
    unsigned long n;
};

struct lg_run_out {
    unsigned long started, accepted, failed, inventory_sent, changes;
    double elapsed_s;
    double cpu_s;      /* the load generator's own CPU time during the run */
    double *latency_s; /* of accepted reports, sorted; accepted entries */
    struct lg_code_count codes[LG_MAX_CODES];
    size_t n_codes;
};

/* Run cycles (nonce, then report) until count cycles are done or
 * duration_s has passed (then the cycles under way finish). Failures are
 * counted by API error code ("transport" when no answer came). */
int lg_run(const struct lg_run_in *in, struct lg_run_out *out);
void lg_run_out_free(struct lg_run_out *out);
void lg_count_code(struct lg_run_out *out, const char *code);

#endif
