/* Policy evaluation and rendering on arbitrary evidence, with a policy that
 * uses every operator, combinator and quantifier. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_target.h"
#include "buf.h"
#include "policy.h"

static const char policy_text[] =
    "{\"schema\":\"devattest.policy/v1\",\"id\":\"fuzz\",\"version\":\"1\",\"title\":\"f\","
    "\"controls\":{\"8.30\":{\"title\":\"a\"},\"8.31\":{\"title\":\"b\"}},"
    "\"params\":{\"list\":[\"x\",1,true],\"limit\":10,\"none\":null},"
    "\"checks\":["
    "{\"id\":\"leafs\",\"title\":\"t\",\"rationale\":\"r\",\"remediation\":\"m\","
    "\"severity\":\"low\",\"controls\":[\"8.30\"],\"expr\":{\"all\":["
    "{\"pointer\":\"/a\",\"op\":\"eq\",\"value\":{\"k\":[1]}},"
    "{\"pointer\":\"/a\",\"op\":\"ne\",\"value\":null},"
    "{\"pointer\":\"/n\",\"op\":\"lt\",\"value\":{\"param\":\"limit\"}},"
    "{\"pointer\":\"/n\",\"op\":\"le\",\"value\":3},{\"pointer\":\"/"
    "n\",\"op\":\"gt\",\"value\":-1},"
    "{\"pointer\":\"/n\",\"op\":\"ge\",\"value\":0.5},"
    "{\"pointer\":\"/s\",\"op\":\"in\",\"value\":{\"param\":\"list\"}},"
    "{\"pointer\":\"/s\",\"op\":\"not_in\",\"value\":[\"y\"]},"
    "{\"pointer\":\"/s\",\"op\":\"matches\",\"value\":\"^(a|b)+[0-9]*$\"},"
    "{\"pointer\":\"/e\",\"op\":\"exists\"}]}},"
    "{\"id\":\"combos\",\"title\":\"t\",\"rationale\":\"r\",\"remediation\":\"m\","
    "\"severity\":\"high\",\"controls\":[\"8.30\",\"8.31\"],\"on_unknown\":\"pass\","
    "\"applies_if\":{\"param\":\"none\",\"op\":\"exists\"},"
    "\"expr\":{\"any\":[{\"none\":[{\"pointer\":\"/x/0\",\"op\":\"eq\",\"value\":1}]},"
    "{\"pointer\":\"/attestation/trust\",\"op\":\"eq\",\"value\":\"tpm\"}]}},"
    "{\"id\":\"arrays\",\"title\":\"t\",\"rationale\":\"r\",\"remediation\":\"m\","
    "\"severity\":\"medium\",\"controls\":[\"8.31\"],\"applies_if\":{\"pointer\":\"/v\","
    "\"op\":\"exists\"},\"expr\":{\"every\":{\"pointer\":\"/v\",\"expr\":{\"any\":["
    "{\"pointer\":\"/p\",\"op\":\"eq\",\"value\":false},"
    "{\"some\":{\"pointer\":\"/l\",\"expr\":{\"pointer\":\"\",\"op\":\"matches\","
    "\"value\":\"^ok\"}}}]}}}}]}";

static struct da_policy *policy;
static cJSON *facts;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    facts = cJSON_Parse("{\"trust\":\"tpm\"}");
    return da_policy_load(policy_text, strlen(policy_text), "fuzz", &policy, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct da_policy_result *r = NULL;
    cJSON *doc, *j = NULL;
    struct da_buf text;

    if (policy == NULL)
        return 0;
    doc = cJSON_ParseWithLength((const char *)data, size);
    if (doc == NULL)
        return 0;
    if (da_policy_eval(policy, doc, facts, &r) == 0) {
        da_buf_init(&text, 1u << 20);
        (void)da_policy_result_render_text(r, &text);
        da_buf_free(&text);
        if (da_policy_result_to_json(r, &j) == 0)
            cJSON_Delete(j);
        da_policy_result_free(r);
    }
    cJSON_Delete(doc);
    return 0;
}
