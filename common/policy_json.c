#include "policy_json.h"

#include <stdio.h>

#include "caps.h"
#include "err.h"
#include "json.h"

/* The strict JSON reader of common/json.h (grammar, UTF-8, depth, duplicate
 * keys, trailing data), with its position of an error. */
int da_policy_json_parse(const char *text, size_t len, cJSON **root, struct da_policy_error *err)
{
    struct da_json_error je = {0, 0, NULL};
    int rc;

    *root = NULL;
    rc = da_json_parse_ex(text, len, DA_MAX_POLICY, root, &je);
    if (rc == 0)
        return 0;
    if (err != NULL) {
        err->line = je.line;
        err->column = je.col;
        snprintf(err->reason, sizeof(err->reason), "%s",
                 je.reason != NULL ? je.reason : da_strerror(rc));
    }
    return rc == DA_ERR_NOMEM ? rc : DA_ERR_POLICY_PARSE;
}
