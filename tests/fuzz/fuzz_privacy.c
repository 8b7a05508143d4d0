/* The privacy key file (outside input: written from the server's answer)
 * and minimal mode over any JSON document: a key is accepted only as 64 hex
 * digits and then round-trips; minimal mode never fails on a document and
 * leaves no unknown's detail and no field outside the table. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fuzz_target.h"
#include "privacy.h"

#define FUZZ_CAP (1u << 16)

static void check_key(const uint8_t *data, size_t size)
{
    unsigned char key[DA_PRIVACY_KEY_LEN];
    size_t i, digits = 0;

    if (da_privacy_key_parse((const char *)data, size, key) != 0)
        return;
    for (i = 0; i < size; i++) {
        int hex = (data[i] >= '0' && data[i] <= '9') || (data[i] >= 'a' && data[i] <= 'f') ||
                  (data[i] >= 'A' && data[i] <= 'F');

        if (hex)
            digits++;
        else if (data[i] != ' ' && data[i] != '\n' && data[i] != '\r')
            abort();
    }
    if (digits != 2 * DA_PRIVACY_KEY_LEN)
        abort();
}

static void check_tree(const cJSON *n, char *ptr, size_t len)
{
    const cJSON *c;
    unsigned idx = 0;

    if (cJSON_IsObject(n) && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(n, "unknown"))) {
        if (cJSON_GetObjectItemCaseSensitive(n, "detail") != NULL)
            abort();
        return;
    }
    if (!cJSON_IsObject(n) && !cJSON_IsArray(n)) {
        const struct da_privacy_field *f = da_privacy_lookup(ptr);

        if (len > 0 && (f == NULL || f->minimal == DA_PRIVACY_DROP))
            abort();
        return;
    }
    for (c = n->child; c != NULL; c = c->next, idx++) {
        int w = cJSON_IsArray(n) ? snprintf(ptr + len, 512 - len, "/%u", idx)
                                 : snprintf(ptr + len, 512 - len, "/%s", c->string);

        if (w < 0 || (size_t)w >= 512 - len || strchr(c->string != NULL ? c->string : "", '/') ||
            strchr(c->string != NULL ? c->string : "", '~'))
            continue; /* pointers with escapes are not compared here */
        check_tree(c, ptr, len + (size_t)w);
        ptr[len] = '\0';
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned char key[DA_PRIVACY_KEY_LEN] = {1, 2, 3};
    char ptr[512] = "";
    cJSON *doc;

    if (size > FUZZ_CAP)
        return 0;
    check_key(data, size);
    doc = cJSON_ParseWithLength((const char *)data, size);
    if (doc == NULL)
        return 0;
    if (cJSON_IsObject(doc)) {
        if (da_privacy_apply(doc, DA_PRIVACY_MINIMAL, key) != 0)
            abort();
        check_tree(doc, ptr, 0);
    }
    cJSON_Delete(doc);
    return 0;
}
