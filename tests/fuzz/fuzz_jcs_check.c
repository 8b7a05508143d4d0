/* The one-pass canonical check against the RFC 8785 writer (differential):
 * for every input da_json_parse accepts, da_jcs_is_canonical takes the input
 * exactly when the writer gives the same bytes, and always takes the
 * writer's output; whatever the check takes, da_json_parse accepts. The raw
 * member da_json_member_start finds reads as the tree's member, and a
 * canonical span there covers exactly that value. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "caps.h"
#include "err.h"
#include "fuzz_target.h"
#include "jcs.h"
#include "json.h"

static void member_matches(const char *text, size_t len, const cJSON *root)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "a");
    cJSON *alone = NULL;
    const char *end = NULL;
    size_t off = 0, n;
    int rc = da_json_member_start(text, len, "a", &off);

    if (!cJSON_IsObject(root)) {
        if (rc != DA_ERR_JSON_TYPE)
            abort();
        return;
    }
    if (rc != 0) {
        /* missed only when absent or when some key was written with escapes */
        if (m != NULL && memchr(text, '\\', len) == NULL)
            abort();
        return;
    }
    if (m == NULL || off >= len)
        abort();
    alone = cJSON_ParseWithLengthOpts(text + off, len - off, &end, 0);
    if (alone == NULL || !cJSON_Compare(alone, m, 1))
        abort();
    /* a canonical span there is exactly that value's text */
    n = da_jcs_canonical_span(text + off, len - off);
    if (n != 0 && text + off + n != end)
        abort();
    cJSON_Delete(alone);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct da_buf c;
    cJSON *v = NULL, *again = NULL;
    bool taken = da_jcs_is_canonical(text, size);

    if (da_json_parse(text, size, DA_MAX_POLICY, &v) != 0) {
        if (taken)
            abort(); /* the check took what the strict parser refuses */
        return 0;
    }
    da_buf_init(&c, DA_MAX_CANONICAL_JSON);
    if (da_jcs_serialize(v, &c) != 0)
        abort();
    if (taken != (da_buf_len(&c) == size && memcmp(da_buf_data(&c), data, size) == 0))
        abort();
    if (!da_jcs_is_canonical(da_buf_str(&c), da_buf_len(&c)))
        abort();
    if (da_json_parse(da_buf_str(&c), da_buf_len(&c), DA_MAX_CANONICAL_JSON, &again) != 0)
        abort();
    member_matches(text, size, v);
    member_matches(da_buf_str(&c), da_buf_len(&c), again);
    da_buf_free(&c);
    cJSON_Delete(v);
    cJSON_Delete(again);
    return 0;
}
