/* A small fleet for dashboard tests: machines stored as enrolled agents
 * whose reports are real quotes by a software AK (soft_ak.h), posted to a
 * running test server and verified by it like any other report. */
#ifndef DA_FLEET_SEED_H
#define DA_FLEET_SEED_H

#include "server_harness.h"
#include "soft_ak.h"

#define DA_FLEET_MAX_REPORTS 8

struct da_fleet_machine {
    const char *vendor;
    const char *hostname;
    /* stored as the EK certificate's issuer, serial and root; NULL: none */
    const char *ek_issuer, *ek_serial, *ek_root;
    const char *ek_trust; /* NULL: manufacturer_chain */
    char agent_id[33];
    struct da_soft_ak ak;
    char report_ids[DA_FLEET_MAX_REPORTS][40];
    int n_reports;
};

/* Store m as an enrolled agent of m->vendor (created when absent); idx
 * makes its id and names unique. 0 or -1. */
int da_fleet_add(struct da_test_server *s, struct da_fleet_machine *m, int idx);
/* One nonce, one quoted report with the root volume encrypted or not; the
 * report id is appended to m->report_ids. 0 when the server answered 201. */
int da_fleet_report(struct da_test_server *s, struct da_fleet_machine *m, int encrypted);
/* The same, PCRs 0-7 (sha256) quoted as pcrs (NULL: all zero) and log (when
 * log_len > 0) sent as the report's firmware event log. */
int da_fleet_report_log(struct da_test_server *s, struct da_fleet_machine *m, int encrypted,
                        const unsigned char pcrs[256], const unsigned char *log, size_t log_len);
/* Debian's tpm2_eventlog reading of the log file at path, independent of
 * the code under test: the sha256 values it replays PCRs 0-7 to (a PCR it
 * does not list stays all zero) and, in log order, the sha256 digests of the
 * PCR 4 EV_EFI_BOOT_SERVICES_APPLICATION events (at most max_apps, lower-case
 * hex). 0 or -1. */
int da_fleet_tpm2_eventlog(const char *path, unsigned char pcrs[256], char apps[][65], int max_apps,
                           int *n_apps);
void da_fleet_free(struct da_fleet_machine *m);

#endif
