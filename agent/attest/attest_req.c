#include "attest_req.h"

#include <stdbool.h>
#include <string.h>

#include "attest_input.h"
#include "caps.h"
#include "encoding.h"
#include "err.h"
#include "json.h"
#include "privsep_proto.h"

static bool hex_of(const cJSON *v, size_t n)
{
    return cJSON_IsString(v) && strlen(v->valuestring) == n && da_hex_is_lower(v->valuestring, n);
}

static bool name_ok(const char *s)
{
    size_t i, n = strlen(s);

    if (n == 0 || n > DA_MAX_SUBJECT_NAME || !da_utf8_valid(s, n) || strcmp(s, ".") == 0 ||
        strcmp(s, "..") == 0)
        return false;
    for (i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || s[i] == '/')
            return false;
    }
    return true;
}

static int subject_check(const cJSON *subj)
{
    const cJSON *s, *t;
    int n = cJSON_GetArraySize(subj);

    if (!cJSON_IsArray(subj) || n < 1 || n > DA_MAX_ATTEST_SUBJECTS)
        return DA_ERR_ATTEST_REQUEST;
    cJSON_ArrayForEach(s, subj)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(s, "name");
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(s, "digest");

        if (!cJSON_IsObject(s) || cJSON_GetArraySize(s) != 2 || !cJSON_IsString(name) ||
            !name_ok(name->valuestring) || !cJSON_IsObject(d) || cJSON_GetArraySize(d) != 2 ||
            !hex_of(cJSON_GetObjectItemCaseSensitive(d, "sha256"), 64) ||
            !hex_of(cJSON_GetObjectItemCaseSensitive(d, "sha512"), 128))
            return DA_ERR_ATTEST_REQUEST;
        for (t = subj->child; t != s; t = t->next) {
            if (strcmp(cJSON_GetObjectItemCaseSensitive(t, "name")->valuestring,
                       name->valuestring) == 0)
                return DA_ERR_ATTEST_REQUEST;
        }
    }
    return 0;
}

static int git_check(const cJSON *g)
{
    const cJSON *commit = cJSON_GetObjectItemCaseSensitive(g, "commit");
    const cJSON *remote = cJSON_GetObjectItemCaseSensitive(g, "remote");
    const cJSON *clean = cJSON_GetObjectItemCaseSensitive(g, "clean");

    if (!cJSON_IsObject(g) || cJSON_GetArraySize(g) != 3 ||
        !(hex_of(commit, 40) || hex_of(commit, 64)) || !cJSON_IsBool(clean))
        return DA_ERR_ATTEST_REQUEST;
    if (cJSON_IsNull(remote))
        return 0;
    if (!cJSON_IsString(remote) || remote->valuestring[0] == '\0' ||
        strlen(remote->valuestring) > AGENT_MAX_URL ||
        !da_utf8_valid(remote->valuestring, strlen(remote->valuestring)))
        return DA_ERR_ATTEST_REQUEST;
    return 0;
}

static int statements_check(const cJSON *list)
{
    const cJSON *st;
    int last = -1, kind, r;

    if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) > AGENT_ATTEST_N_INPUTS)
        return DA_ERR_ATTEST_REQUEST;
    cJSON_ArrayForEach(st, list)
    {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(st, "predicateType");
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(st, "predicate");

        if (!cJSON_IsObject(st) || cJSON_GetArraySize(st) != 2 || !cJSON_IsString(t) ||
            !cJSON_IsObject(p))
            return DA_ERR_ATTEST_REQUEST;
        kind = agent_attest_kind_of(t->valuestring);
        if (kind <= last) /* unknown, repeated or out of order */
            return DA_ERR_ATTEST_REQUEST;
        last = kind;
        r = agent_attest_predicate_check(t->valuestring, p);
        if (r != 0)
            return r;
    }
    return 0;
}

static int req_check(const cJSON *root, struct agent_attest_req *out)
{
    const cJSON *subj = cJSON_GetObjectItemCaseSensitive(root, "subject");
    const cJSON *git = cJSON_GetObjectItemCaseSensitive(root, "git");
    const cJSON *sts = cJSON_GetObjectItemCaseSensitive(root, "statements");
    int r;

    if (!cJSON_IsObject(root) || cJSON_GetArraySize(root) != (git != NULL ? 3 : 2))
        return DA_ERR_ATTEST_REQUEST;
    r = subject_check(subj);
    if (r == 0 && git != NULL)
        r = git_check(git);
    if (r == 0)
        r = statements_check(sts);
    if (r == 0) {
        out->subject = subj;
        out->git = git;
        out->statements = sts;
    }
    return r;
}

int agent_attest_req_adopt(cJSON *root, struct agent_attest_req *out)
{
    int r;

    memset(out, 0, sizeof(*out));
    r = req_check(root, out);
    if (r == 0)
        out->root = root;
    else
        memset(out, 0, sizeof(*out));
    return r;
}

int agent_attest_req_parse(const char *text, size_t len, struct agent_attest_req *out)
{
    cJSON *root = NULL;
    int r;

    memset(out, 0, sizeof(*out));
    r = da_json_parse(text, len, AGENT_MAX_ATTEST_REQUEST, &root);
    if (r != 0)
        return r == DA_ERR_TOO_LARGE ? r : DA_ERR_ATTEST_REQUEST;
    r = agent_attest_req_adopt(root, out);
    if (r != 0)
        cJSON_Delete(root);
    return r;
}

void agent_attest_req_free(struct agent_attest_req *req)
{
    if (req == NULL)
        return;
    cJSON_Delete(req->root);
    memset(req, 0, sizeof(*req));
}
