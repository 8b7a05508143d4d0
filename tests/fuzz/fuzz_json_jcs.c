/* JSON input path and RFC 8785 writer: the validating scan and cJSON agree
 * on every input; whatever da_json_parse accepts must canonicalize; the
 * canonical text must parse again, and canonicalizing that gives the same
 * bytes (canonical(parse(canonical(x))) == canonical(x)). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_target.h"
#include "jcs.h"
#include "json.h"
#include "caps.h"

static void canonical_or_abort(const cJSON *v, struct da_buf *out)
{
    da_buf_init(out, DA_MAX_CANONICAL_JSON);
    if (da_jcs_serialize(v, out) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct da_json_error err;
    struct da_buf c1, c2;
    cJSON *v = NULL, *again = NULL;

    if (da_json_parse_ex((const char *)data, size, DA_MAX_POLICY, &v, &err) != 0) {
        if (v != NULL || err.reason == NULL || strstr(err.reason, "cJSON") != NULL)
            abort(); /* the validating scan and cJSON disagree */
        return 0;
    }
    canonical_or_abort(v, &c1);
    if (da_json_parse(da_buf_str(&c1), da_buf_len(&c1), DA_MAX_CANONICAL_JSON, &again) != 0)
        abort();
    canonical_or_abort(again, &c2);
    if (da_buf_len(&c1) != da_buf_len(&c2) ||
        memcmp(da_buf_data(&c1), da_buf_data(&c2), da_buf_len(&c1)) != 0)
        abort();
    da_buf_free(&c1);
    da_buf_free(&c2);
    cJSON_Delete(v);
    cJSON_Delete(again);
    return 0;
}
