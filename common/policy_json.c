#include "policy_json.h"

#include <stdio.h>
#include <string.h>

#include "caps.h"
#include "err.h"

static void locate(const char *text, size_t off, struct da_policy_error *err, const char *reason)
{
    size_t i;
    int line = 1, col = 1;

    if (err == NULL)
        return;
    for (i = 0; i < off; i++) {
        if (text[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    err->line = line;
    err->column = col;
    snprintf(err->reason, sizeof(err->reason), "%s", reason);
}

/* Depth and NUL bytes, before cJSON (which recurses) sees the text. */
static int prescan(const char *text, size_t len, size_t *bad, const char **why)
{
    size_t i;
    int depth = 0, in_string = 0;

    for (i = 0; i < len; i++) {
        char c = text[i];

        if (c == '\0') {
            *bad = i;
            *why = "NUL byte in policy";
            return DA_ERR_POLICY_PARSE;
        }
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = 0;
        } else if (c == '"') {
            in_string = 1;
        } else if (c == '{' || c == '[') {
            if (++depth > DA_MAX_JSON_DEPTH) {
                *bad = i;
                *why = "nesting too deep";
                return DA_ERR_POLICY_PARSE;
            }
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return 0;
}

/* First member of obj, in any object below it, whose key repeats. */
static const cJSON *find_duplicate(const cJSON *node)
{
    const cJSON *a, *b, *d;

    for (a = node->child; a != NULL; a = a->next) {
        if (cJSON_IsObject(node)) {
            for (b = node->child; b != a; b = b->next) {
                if (strcmp(a->string, b->string) == 0)
                    return a;
            }
        }
        if ((cJSON_IsObject(a) || cJSON_IsArray(a)) && (d = find_duplicate(a)) != NULL)
            return d;
    }
    return NULL;
}

int da_policy_json_parse(const char *text, size_t len, cJSON **root, struct da_policy_error *err)
{
    const char *end = NULL, *why = NULL;
    const cJSON *dup;
    size_t bad = 0;

    *root = NULL;
    if (prescan(text, len, &bad, &why) != 0) {
        locate(text, bad, err, why);
        return DA_ERR_POLICY_PARSE;
    }
    *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (*root == NULL) {
        locate(text, end != NULL && end >= text ? (size_t)(end - text) : 0, err, "malformed JSON");
        return DA_ERR_POLICY_PARSE;
    }
    while ((size_t)(end - text) < len && strchr(" \t\r\n", *end) != NULL)
        end++;
    if ((size_t)(end - text) < len) {
        locate(text, (size_t)(end - text), err, "unexpected data after the JSON value");
        goto fail;
    }
    if ((dup = find_duplicate(*root)) != NULL) {
        if (err != NULL) {
            snprintf(err->reason, sizeof(err->reason), "duplicate key \"%.200s\"", dup->string);
        }
        goto fail;
    }
    return 0;
fail:
    cJSON_Delete(*root);
    *root = NULL;
    return DA_ERR_POLICY_PARSE;
}
