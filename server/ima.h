/* IMA runtime measurements of one report (docs/evidence.md "ima"): the
 * increment the agent sent, replayed from the aggregate the server keeps
 * for the agent's current boot against the quoted PCR 10, and the facts
 * under /attestation/ima.
 *
 * The server keeps per agent one srv_ima_state: the boot it belongs to
 * (the quote's resetCount), the replayed PCR 10 per bank with the number of
 * entries it covers, and what later reports still need from entries they
 * will not see again (IMA measures a file once per boot unless it
 * changes): the last measured digest of each toolchain path the evidence
 * names, the agent binary's, the TPM client tools executed, and the
 * coverage flags. It is written in the report's transaction
 * (srv_store_report_put), only when the increment replays.
 *
 * A quote with another resetCount than the state's starts a new boot at
 * entry 0. An increment must start at the state's entry count, or at 0
 * (a whole list, which any report may send: it replays from zero). */
#ifndef SRV_IMA_H
#define SRV_IMA_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "ima_log.h"
#include "quote.h"

struct srv_ima_state {
    uint32_t reset_count;
    struct da_ima_aggregate agg;
    char *kept_json; /* {"files": {path: "alg:hex"}, "agent": {...}, "tpm_tools": [...],
                        "coverage": {...}} */
};

void srv_ima_state_clear(struct srv_ima_state *s);

/* Which banks of the selection quote PCR 10 (DA_IMA_BANK_*), and their
 * values in pcr_values (NULL when not quoted). */
unsigned srv_ima_banks(const struct da_pcr_selection *sel);

/* The server's allowlist of released agent builds: lower-case SHA-256 hex
 * lines, '#' comments; n 0: none configured. */
struct srv_ima_allowlist {
    size_t n;
    char (*sha256)[65];
};
int srv_ima_allowlist_parse(const char *text, size_t len, struct srv_ima_allowlist *out);
void srv_ima_allowlist_free(struct srv_ima_allowlist *a);

struct srv_ima_in {
    const struct da_pcr_selection *sel;
    const unsigned char *pcr_values;
    size_t pcr_values_len;
    uint32_t reset_count;             /* the verified quote's */
    const struct srv_ima_state *prev; /* NULL: none stored */
    int has_increment;                /* the report carried "ima" */
    int minimal;                      /* the evidence was made in minimal privacy mode */
    uint64_t from;
    const unsigned char *log;
    size_t log_len;
    const cJSON *evidence;
    const struct srv_ima_allowlist *allowlist;
};

/* *ima: the /attestation/ima object (NULL when the selection does not
 * quote PCR 10). *next: the state to store (NULL when nothing changes or
 * the increment does not replay). */
int srv_ima_evaluate(const struct srv_ima_in *in, cJSON **ima, struct srv_ima_state **next);

#endif
