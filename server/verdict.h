/* Policy evaluation of one evidence document, as the server records it.
 *
 * verdict: {"policy_sha256", "compliant", "controls": {id: result},
 *           "checks": [{id, title, result, severity, controls[], remediation}]}
 * controls: the "controls" member alone (borrowed from verdict), which the
 * receipt states. A report is compliant when no control is "fail" or
 * "unknown". */
#ifndef SRV_VERDICT_H
#define SRV_VERDICT_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "policy_state.h"

int srv_verdict_evaluate(const struct srv_policy *p, const cJSON *evidence, cJSON **verdict,
                         const cJSON **controls, bool *compliant);

#endif
