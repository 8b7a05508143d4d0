#include "verdict.h"

#include <string.h>

#include "err.h"
#include "picky.h"
#include "policy.h"

/* Facts the server established itself; the policy reads them under
 * /attestation, never from the agent's own document. pending (may be NULL)
 * is the server's view of the pending upgrades (pending_age.h). pending,
 * boot and ima are referenced, not copied: the facts live only while the
 * caller's trees do, and a report's pending list can be long. trust is
 * "software" for an agent enrolled without a TPM, "tpm" for every other. */
static cJSON *attestation_facts(const cJSON *pending, const cJSON *boot, const cJSON *ima,
                                const char *ek_trust)
{
    bool software = ek_trust != NULL && strcmp(ek_trust, "software") == 0;
    cJSON *a = cJSON_CreateObject();

    /* references only read through: cJSON takes a plain pointer */
    if (a != NULL &&
        (cJSON_AddStringToObject(a, "trust", software ? "software" : "tpm") == NULL ||
         cJSON_AddBoolToObject(a, "quote_verified", 1) == NULL ||
         (pending != NULL && !cJSON_AddItemReferenceToObject(a, "pending", DA_UNCONST(pending))) ||
         (boot != NULL && !cJSON_AddItemReferenceToObject(a, "boot", DA_UNCONST(boot))) ||
         (ima != NULL && !cJSON_AddItemReferenceToObject(a, "ima", DA_UNCONST(ima))) ||
         (ek_trust != NULL && cJSON_AddStringToObject(a, "ek_trust", ek_trust) == NULL))) {
        cJSON_Delete(a);
        return NULL;
    }
    return a;
}

const char *srv_provenance(const char *pointer)
{
    return da_policy_provenance(pointer);
}

/* One check, compactly: titles and remediation live in the policy (named
 * by its digest); what decided a failing or unknown check is kept. */
static int add_check(cJSON *arr, const struct da_check_result *c)
{
    cJSON *o = cJSON_CreateObject();

    if (o == NULL || !cJSON_AddItemToArray(arr, o))
        return DA_ERR_NOMEM;
    if (cJSON_AddStringToObject(o, "id", c->id) == NULL ||
        cJSON_AddStringToObject(o, "verdict", da_verdict_name(c->verdict)) == NULL ||
        cJSON_AddStringToObject(o, "provenance", srv_provenance(c->pointer)) == NULL)
        return DA_ERR_NOMEM;
    if (c->verdict == DA_VERDICT_PASS || c->verdict == DA_VERDICT_NOT_APPLICABLE)
        return 0;
    if (cJSON_AddStringToObject(o, "severity", c->severity) == NULL ||
        cJSON_AddStringToObject(o, "pointer", c->pointer) == NULL ||
        (c->observed != NULL && c->observed[0] != '\0' &&
         cJSON_AddStringToObject(o, "observed", c->observed) == NULL) ||
        (c->reason[0] != '\0' && cJSON_AddStringToObject(o, "reason", c->reason) == NULL))
        return DA_ERR_NOMEM;
    return 0;
}

static int render(const struct srv_policy *p, const struct da_policy_result *res, cJSON **out,
                  cJSON **controls)
{
    cJSON *v = cJSON_CreateObject(), *ctl, *checks;
    size_t i;
    int rc = DA_ERR_NOMEM;

    if (v == NULL)
        return rc;
    if (cJSON_AddStringToObject(v, "policy_id", res->policy_id) == NULL ||
        cJSON_AddStringToObject(v, "policy_version", res->policy_version) == NULL ||
        cJSON_AddStringToObject(v, "policy_sha256", p->sha256) == NULL ||
        cJSON_AddStringToObject(v, "verdict", da_verdict_name(res->verdict)) == NULL ||
        (ctl = cJSON_AddObjectToObject(v, "controls")) == NULL ||
        (checks = cJSON_AddArrayToObject(v, "checks")) == NULL)
        goto out;
    for (i = 0; i < res->n_controls; i++) {
        if (cJSON_AddStringToObject(ctl, res->controls[i].id,
                                    da_verdict_name(res->controls[i].verdict)) == NULL)
            goto out;
    }
    for (i = 0; i < res->n_checks; i++) {
        if (add_check(checks, &res->checks[i]) != 0)
            goto out;
    }
    *controls = ctl;
    *out = v;
    v = NULL; /* transferred */
    rc = 0;
out:
    cJSON_Delete(v);
    return rc;
}

/* The agent's privacy mode, so that a reader of the verdict knows names in
 * the evidence are pseudonyms (docs/privacy.md). Evidence from agents
 * before the privacy mode carries none: "standard". */
static int add_privacy(cJSON *verdict, const cJSON *evidence)
{
    const cJSON *agent = cJSON_GetObjectItemCaseSensitive(evidence, "agent");
    const cJSON *mode = cJSON_GetObjectItemCaseSensitive(agent, "privacy");
    const char *name = "standard";

    if (cJSON_IsString(mode) && strcmp(mode->valuestring, "minimal") == 0)
        name = "minimal";
    return cJSON_AddStringToObject(verdict, "privacy", name) == NULL ? DA_ERR_NOMEM : 0;
}

int srv_verdict_evaluate(const struct srv_policy *p, const cJSON *evidence, const cJSON *pending,
                         cJSON **verdict, const cJSON **controls, bool *compliant)
{
    return srv_verdict_evaluate_boot(p, evidence, pending, NULL, verdict, controls, compliant);
}

int srv_verdict_evaluate_boot(const struct srv_policy *p, const cJSON *evidence,
                              const cJSON *pending, const cJSON *boot, cJSON **verdict,
                              const cJSON **controls, bool *compliant)
{
    return srv_verdict_evaluate_attested(p, evidence, pending, boot, NULL, verdict, controls,
                                         compliant);
}

int srv_verdict_evaluate_attested(const struct srv_policy *p, const cJSON *evidence,
                                  const cJSON *pending, const cJSON *boot, const cJSON *ima,
                                  cJSON **verdict, const cJSON **controls, bool *compliant)
{
    return srv_verdict_evaluate_agent(p, evidence, pending, boot, ima, NULL, verdict, controls,
                                      compliant);
}

int srv_verdict_evaluate_agent(const struct srv_policy *p, const cJSON *evidence,
                               const cJSON *pending, const cJSON *boot, const cJSON *ima,
                               const char *ek_trust, cJSON **verdict, const cJSON **controls,
                               bool *compliant)
{
    struct da_policy_result *res = NULL;
    cJSON *facts = attestation_facts(pending, boot, ima, ek_trust), *ctl = NULL;
    int rc;

    *verdict = NULL;
    *controls = NULL;
    *compliant = false;
    if (facts == NULL)
        return DA_ERR_NOMEM;
    rc = da_policy_eval(p->compiled, evidence, facts, &res);
    if (rc == 0)
        rc = render(p, res, verdict, &ctl);
    if (rc == 0)
        rc = add_privacy(*verdict, evidence);
    if (rc == 0) {
        *controls = ctl;
        *compliant = res->verdict == DA_VERDICT_PASS || res->verdict == DA_VERDICT_NOT_APPLICABLE;
    }
    cJSON_Delete(facts);
    da_policy_result_free(res);
    return rc;
}
