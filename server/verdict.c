#include "verdict.h"

#include <string.h>

#include "err.h"
#include "policy.h"

/* Facts the server established itself; the policy reads them under
 * /attestation, never from the agent's own document. */
static cJSON *attestation_facts(void)
{
    cJSON *a = cJSON_CreateObject();

    if (a != NULL && (cJSON_AddStringToObject(a, "trust", "tpm") == NULL ||
                      cJSON_AddBoolToObject(a, "quote_verified", 1) == NULL)) {
        cJSON_Delete(a);
        return NULL;
    }
    return a;
}

int srv_verdict_evaluate(const struct srv_policy *p, const cJSON *evidence, cJSON **verdict,
                         const cJSON **controls, bool *compliant)
{
    struct da_policy_result *res = NULL;
    cJSON *facts = attestation_facts(), *json = NULL, *ctl = NULL;
    size_t i;
    int rc;

    *verdict = NULL;
    *controls = NULL;
    *compliant = false;
    if (facts == NULL)
        return DA_ERR_NOMEM;
    rc = da_policy_eval(p->compiled, evidence, facts, &res);
    if (rc == 0)
        rc = da_policy_result_to_json(res, &json);
    if (rc == 0) {
        ctl = cJSON_CreateObject();
        for (i = 0; ctl != NULL && i < res->n_controls; i++) {
            if (cJSON_AddStringToObject(ctl, res->controls[i].id,
                                        da_verdict_name(res->controls[i].verdict)) == NULL)
                break;
        }
        if (ctl == NULL || i < res->n_controls ||
            cJSON_AddStringToObject(json, "policy_sha256", p->sha256) == NULL ||
            !cJSON_AddItemToObject(json, "control_verdicts", ctl)) {
            cJSON_Delete(ctl);
            rc = DA_ERR_NOMEM;
        }
    }
    if (rc == 0) {
        *compliant = res->verdict == DA_VERDICT_PASS || res->verdict == DA_VERDICT_NOT_APPLICABLE;
        *controls = ctl;
        *verdict = json;
        json = NULL; /* transferred */
    }
    cJSON_Delete(json);
    cJSON_Delete(facts);
    da_policy_result_free(res);
    return rc;
}
