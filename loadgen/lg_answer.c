/* What the load generator reads from the server: samples of the /metrics
 * text exposition, the nonce answer and error answers. All of it is outside
 * input (tests/fuzz/fuzz_loadgen_answer.c). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encoding.h"
#include "err.h"
#include "json.h"
#include "loadgen.h"

#define LINE_MAX_LEN 4096u

/* One sample line "name value" (no labels, no timestamp). */
static int sample_value(const char *line, size_t n, double *out)
{
    char buf[64], *end = NULL;
    double v;

    while (n > 0 && (line[0] == ' ' || line[0] == '\t')) {
        line++;
        n--;
    }
    if (n == 0 || n >= sizeof(buf))
        return DA_ERR_LOADGEN_ANSWER;
    memcpy(buf, line, n);
    buf[n] = '\0';
    if (!isdigit((unsigned char)buf[0]))
        return DA_ERR_LOADGEN_ANSWER;
    errno = 0;
    v = strtod(buf, &end);
    if (errno != 0 || end == buf || *end != '\0' || !isfinite(v) || v < 0)
        return DA_ERR_LOADGEN_ANSWER;
    *out = v;
    return 0;
}

int lg_metrics_value(const char *text, size_t len, const char *name, double *out)
{
    size_t name_len = strlen(name), pos = 0;

    if (name_len == 0)
        return DA_ERR_INVALID_ARG;
    while (pos < len) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t n = nl != NULL ? (size_t)(nl - line) : len - pos;

        if (n > LINE_MAX_LEN)
            return DA_ERR_LOADGEN_ANSWER;
        pos += n + 1;
        if (n > name_len && memcmp(line, name, name_len) == 0 &&
            (line[name_len] == ' ' || line[name_len] == '\t'))
            return sample_value(line + name_len, n - name_len, out);
    }
    return DA_ERR_NOT_FOUND;
}

int lg_answer_nonce(const char *text, size_t len, unsigned char nonce[DA_NONCE_LEN])
{
    const char *b64 = NULL;
    cJSON *root = NULL;
    size_t n = 0;
    int rc = da_json_parse(text, len, LG_MAX_ANSWER, &root);

    if (rc == 0)
        rc = da_json_get_string(root, "nonce", &b64);
    if (rc == 0)
        rc = da_base64_decode_to(b64, strlen(b64), DA_BASE64_STD, nonce, DA_NONCE_LEN, &n);
    if (rc == 0 && n != DA_NONCE_LEN)
        rc = DA_ERR_LOADGEN_ANSWER;
    cJSON_Delete(root);
    return rc != 0 ? DA_ERR_LOADGEN_ANSWER : 0;
}

int lg_answer_error_code(const char *text, size_t len, char code[LG_CODE_LEN])
{
    const cJSON *err = NULL;
    const char *c = NULL;
    cJSON *root = NULL;
    int rc = da_json_parse(text, len, LG_MAX_ANSWER, &root);

    if (rc == 0)
        rc = da_json_get_object(root, "error", &err);
    if (rc == 0)
        rc = da_json_get_string(err, "code", &c);
    if (rc == 0 && (c[0] == '\0' || strlen(c) >= LG_CODE_LEN))
        rc = DA_ERR_LOADGEN_ANSWER;
    if (rc == 0)
        snprintf(code, LG_CODE_LEN, "%s", c);
    cJSON_Delete(root);
    return rc != 0 ? DA_ERR_LOADGEN_ANSWER : 0;
}
