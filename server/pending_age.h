/* The server's own age of each pending upgrade of a report.
 *
 * The agent's first-seen record lives on the vendor's machine, where its
 * root user can edit or delete it. The server keeps first-seen times per
 * (agent, package, architecture, candidate) from the reports it verified
 * (srv_store_pending_seen_get / srv_store_report_put) and gives the policy
 * its own ages as the verifier fact /attestation/pending; the evidence's
 * age_s stays a reported hint. */
#ifndef SRV_PENDING_AGE_H
#define SRV_PENDING_AGE_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "store.h"

/* Pending upgrades of one evidence document with the server's first-seen
 * times. Names and versions are borrowed from the evidence. */
struct srv_pending_set {
    struct srv_pending_seen *v;
    unsigned char *security; /* 1 when the evidence marks v[i] security */
    size_t n;
    /* the entries the agent never listed before, to store with the report */
    struct srv_pending_seen *fresh;
    size_t n_fresh;
    /* the agent's recorded upgrades this list leaves out (texts owned), and
     * the entries listed again after a report left them out: marked with
     * the report (srv_report.pending_gone, pending_back) */
    struct srv_pending_seen *gone;
    size_t n_gone, gone_cap;
    struct srv_pending_seen *back;
    size_t n_back;
    /* when the evidence's patches.pending is not a list of upgrades: the
     * fact is unknown, with this reason and detail */
    char unknown[32];
    char detail[160];
};

/* Read evidence.patches.pending and look up each entry's first-seen time;
 * an entry the agent never listed before is first seen now. A pending value
 * that is an unknown object, missing, or malformed leaves the set empty
 * with set->unknown said. DA_ERR_NOMEM, DA_ERR_STORE. */
int srv_pending_load(struct srv_store *s, const char *agent_id, const cJSON *evidence, int64_t now,
                     struct srv_pending_set *set);
/* The verifier fact: [{name, arch, candidate, security, first_seen,
 * age_s}] with the server's times, or {"unknown", "detail"}. */
int srv_pending_facts(const struct srv_pending_set *set, int64_t now, cJSON **out);
void srv_pending_set_free(struct srv_pending_set *set);

#endif
