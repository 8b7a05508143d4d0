/* JSON input path and RFC 8785 writer: the tree the validating scan builds
 * is, node for node, the one cJSON's own parser makes of an accepted text
 * (and the compact tree the same again, refusals identical); whatever
 * da_json_parse accepts must canonicalize; the canonical text must parse
 * again, and canonicalizing that gives the same bytes
 * (canonical(parse(canonical(x))) == canonical(x)). */
#include <stdbool.h>
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

static bool same_text(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* a and b, with their following siblings, are the same nodes */
static bool same_tree(const cJSON *a, const cJSON *b)
{
    for (; a != NULL && b != NULL; a = a->next, b = b->next) {
        if ((a->type & 0xff) != (b->type & 0xff) || !same_text(a->string, b->string) ||
            !same_text(a->valuestring, b->valuestring) || a->valueint != b->valueint ||
            memcmp(&a->valuedouble, &b->valuedouble, sizeof(double)) != 0 ||
            (a->child == NULL) != (b->child == NULL))
            return false;
        /* cJSON keeps each first member's prev at the last member */
        if (a->child != NULL && (a->child->prev == NULL || a->child->prev->next != NULL ||
                                 b->child->prev == NULL || b->child->prev->next != NULL))
            return false;
        if (!same_tree(a->child, b->child))
            return false;
    }
    return a == NULL && b == NULL;
}

/* Both ways of building agree with each other and with cJSON's parser. */
static void differential(const uint8_t *data, size_t size, int rc, const cJSON *v,
                         const struct da_json_error *err)
{
    struct da_json_error err2;
    cJSON *compact = NULL, *ref;
    const char *end = NULL;

    if (da_json_parse_opts((const char *)data, size, DA_MAX_POLICY, DA_JSON_COMPACT, &compact,
                           &err2) != rc ||
        err2.line != err->line || err2.col != err->col || !same_text(err2.reason, err->reason))
        abort();
    if (rc != 0) {
        if (v != NULL || compact != NULL || err->reason == NULL)
            abort();
        return;
    }
    ref = cJSON_ParseWithLengthOpts((const char *)data, size, &end, 0);
    if (ref == NULL || !same_tree(v, ref) || !same_tree(compact, ref))
        abort(); /* the scan built another tree than cJSON reads */
    cJSON_Delete(ref);
    cJSON_Delete(compact);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct da_json_error err;
    struct da_buf c1, c2;
    cJSON *v = NULL, *again = NULL;
    int rc = da_json_parse_ex((const char *)data, size, DA_MAX_POLICY, &v, &err);

    differential(data, size, rc, v, &err);
    if (rc != 0)
        return 0;
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
