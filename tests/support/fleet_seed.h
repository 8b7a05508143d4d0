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
void da_fleet_free(struct da_fleet_machine *m);

#endif
