/* The report diff (srv_report_diff_docs, server/api_fleet.c) over two JSON
 * documents, "A\0B", each used as evidence and as verdict. Besides not
 * crashing: a document against itself has no difference, and a -> b lists
 * as many fields as b -> a, with added and removed swapped. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_target.h"
#include "api.h"
#include "err.h"
#include "json.h"

static int count(const cJSON *doc, const char *change)
{
    const cJSON *f;
    int n = 0;

    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(doc, "fields"))
    {
        if (strcmp(cJSON_GetObjectItemCaseSensitive(f, "change")->valuestring, change) == 0)
            n++;
    }
    return n;
}

static cJSON *diff(const cJSON *a, const cJSON *b, int *rc)
{
    cJSON *doc = cJSON_CreateObject();

    if (doc == NULL)
        abort();
    *rc = srv_report_diff_docs(a, b, a, b, doc);
    return doc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *sep = memchr(data, 0, size);
    cJSON *a = NULL, *b = NULL, *ab, *ba, *aa;
    int rc1, rc2, rc3;

    if (sep == NULL || size > 64 * 1024)
        return 0;
    if (da_json_parse((const char *)data, (size_t)(sep - data), 64 * 1024, &a) != 0 ||
        da_json_parse((const char *)sep + 1, size - (size_t)(sep - data) - 1, 64 * 1024, &b) != 0) {
        cJSON_Delete(a);
        return 0;
    }
    ab = diff(a, b, &rc1);
    ba = diff(b, a, &rc2);
    aa = diff(a, a, &rc3);
    if ((rc1 != 0 && rc1 != DA_ERR_DIFF_TOO_LARGE) || (rc1 == 0) != (rc2 == 0) ||
        (rc3 != 0 && rc3 != DA_ERR_DIFF_TOO_LARGE))
        abort();
    if (rc3 == 0 && cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(aa, "fields")) != 0)
        abort();
    if (rc1 == 0 &&
        (cJSON_GetObjectItemCaseSensitive(ab, "fields_changed")->valueint !=
             cJSON_GetObjectItemCaseSensitive(ba, "fields_changed")->valueint ||
         count(ab, "added") != count(ba, "removed") || count(ab, "removed") != count(ba, "added") ||
         count(ab, "changed") != count(ba, "changed")))
        abort();
    cJSON_Delete(ab);
    cJSON_Delete(ba);
    cJSON_Delete(aa);
    cJSON_Delete(a);
    cJSON_Delete(b);
    return 0;
}
