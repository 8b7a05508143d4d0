/* IMA runtime measurements of one report (ima.h). */
#include "ima.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caps.h"
#include "encoding.h"
#include "err.h"
#include "json.h"
#include "tpm_public.h"

#define IMA_AGENT_BINARY  "devattest-agent"
#define IMA_MAX_TPM_TOOLS 32
#define IMA_MAX_ALLOWLIST 4096
#define IMA_MAX_KEPT      (1024u * 1024) /* 64 toolchain + 32 tool paths of PATH_MAX, and more */
#define IMA_DIGEST_TEXT   (16 + 1 + 2 * DA_IMA_MAX_DIGEST + 1)

void srv_ima_state_clear(struct srv_ima_state *s)
{
    if (s == NULL)
        return;
    free(s->kept_json);
    memset(s, 0, sizeof(*s));
}

static size_t bank_size(TPMI_ALG_HASH alg)
{
    switch (alg) {
    case TPM2_ALG_SHA1:
        return 20;
    case TPM2_ALG_SHA256:
        return 32;
    case TPM2_ALG_SHA384:
        return 48;
    case TPM2_ALG_SHA512:
        return 64;
    default:
        return 0;
    }
}

unsigned srv_ima_banks(const struct da_pcr_selection *sel)
{
    unsigned banks = 0;

    for (size_t b = 0; b < sel->count; b++) {
        if ((sel->banks[b].pcrs & (1u << DA_IMA_PCR)) == 0)
            continue;
        if (sel->banks[b].hash == TPM2_ALG_SHA1)
            banks |= DA_IMA_BANK_SHA1;
        else if (sel->banks[b].hash == TPM2_ALG_SHA256)
            banks |= DA_IMA_BANK_SHA256;
    }
    return banks;
}

/* PCR 10 of one bank in the quoted values (bank by bank, ascending PCR). */
static const unsigned char *quoted_pcr10(const struct da_pcr_selection *sel, const unsigned char *v,
                                         size_t len, TPMI_ALG_HASH alg)
{
    size_t off = 0;

    for (size_t b = 0; b < sel->count; b++) {
        size_t size = bank_size(sel->banks[b].hash);
        for (unsigned i = 0; i < DA_PCR_MAX; i++) {
            if ((sel->banks[b].pcrs & (1u << i)) == 0)
                continue;
            if (size == 0 || off + size > len)
                return NULL;
            if (sel->banks[b].hash == alg && i == DA_IMA_PCR)
                return v + off;
            off += size;
        }
    }
    return NULL;
}

/* --- the allowlist of released agent builds ------------------------------ */

int srv_ima_allowlist_parse(const char *text, size_t len, struct srv_ima_allowlist *out)
{
    size_t i = 0;

    memset(out, 0, sizeof(*out));
    while (i < len) {
        size_t e = i, a, z;
        while (e < len && text[e] != '\n')
            e++;
        for (a = i; a < e && (text[a] == ' ' || text[a] == '\t' || text[a] == '\r'); a++)
            ;
        for (z = e; z > a && (text[z - 1] == ' ' || text[z - 1] == '\t' || text[z - 1] == '\r');
             z--)
            ;
        i = e + 1;
        if (a == z || text[a] == '#')
            continue;
        if (z - a != 64 || !da_hex_is_lower(text + a, 64) || out->n == IMA_MAX_ALLOWLIST) {
            srv_ima_allowlist_free(out);
            return DA_ERR_CONFIG;
        }
        if (out->n % 64 == 0) {
            char(*grown)[65] = realloc(out->sha256, (out->n + 64) * sizeof(*grown));
            if (grown == NULL) {
                srv_ima_allowlist_free(out);
                return DA_ERR_NOMEM;
            }
            out->sha256 = grown;
        }
        memcpy(out->sha256[out->n], text + a, 64);
        out->sha256[out->n][64] = '\0';
        out->n++;
    }
    return 0;
}

void srv_ima_allowlist_free(struct srv_ima_allowlist *a)
{
    if (a == NULL)
        return;
    free(a->sha256);
    memset(a, 0, sizeof(*a));
}

/* --- what the entries tell --------------------------------------------- */

#define COV_BOOT_AGGREGATE 1u
#define COV_EXECUTABLES    2u
#define COV_LIBRARIES      4u
#define COV_ROOT_READS     8u

struct ima_facts {
    cJSON *kept;                         /* the state's kept_json, updated by the entries */
    const char *tools[2 * DA_MAX_TOOLS]; /* the evidence's toolchain paths */
    size_t tool_len[2 * DA_MAX_TOOLS];
    size_t ntools;
    unsigned coverage; /* COV_* seen in this increment */
};

static const char *basename_of(const char *path)
{
    const char *s = strrchr(path, '/');
    return s != NULL ? s + 1 : path;
}

static int is_tpm_tool(const char *base)
{
    return strncmp(base, "tpm2_", 5) == 0 || strncmp(base, "tss2_", 5) == 0 ||
           strcmp(base, "tpm2") == 0 || strcmp(base, "tss2") == 0;
}

/* The toolchain paths the evidence names (realpath and path), collected
 * once per report rather than per entry. */
static void toolchain_paths(const cJSON *evidence, struct ima_facts *f)
{
    const cJSON *tools = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(evidence, "toolchain"), "tools");
    const cJSON *t;
    const size_t cap = sizeof(f->tools) / sizeof(f->tools[0]);

    cJSON_ArrayForEach(t, tools)
    {
        const cJSON *rp = cJSON_GetObjectItemCaseSensitive(t, "realpath");
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(t, "path");
        if (cJSON_IsString(rp) && f->ntools < cap) {
            f->tool_len[f->ntools] = strlen(rp->valuestring);
            f->tools[f->ntools++] = rp->valuestring;
        }
        if (cJSON_IsString(p) && f->ntools < cap) {
            f->tool_len[f->ntools] = strlen(p->valuestring);
            f->tools[f->ntools++] = p->valuestring;
        }
    }
}

static int is_toolchain_path(const struct ima_facts *f, const char *path, size_t len)
{
    for (size_t i = 0; i < f->ntools; i++) {
        if (f->tool_len[i] == len && memcmp(f->tools[i], path, len) == 0)
            return 1;
    }
    return 0;
}

static cJSON *member(cJSON *o, const char *key, int array)
{
    cJSON *m = cJSON_GetObjectItemCaseSensitive(o, key);

    if (m != NULL)
        return m;
    return array ? cJSON_AddArrayToObject(o, key) : cJSON_AddObjectToObject(o, key);
}

static int set_flag(cJSON *kept, const char *flag)
{
    cJSON *cov = member(kept, "coverage", 0);

    if (cov == NULL)
        return DA_ERR_NOMEM;
    if (cJSON_GetObjectItemCaseSensitive(cov, flag) != NULL)
        return 0;
    return cJSON_AddTrueToObject(cov, flag) != NULL ? 0 : DA_ERR_NOMEM;
}

static int set_string(cJSON *o, const char *key, const char *value)
{
    cJSON *v = cJSON_CreateString(value);

    if (v == NULL)
        return DA_ERR_NOMEM;
    if (cJSON_GetObjectItemCaseSensitive(o, key) != NULL)
        return cJSON_ReplaceItemInObjectCaseSensitive(o, key, v) ? 0 : DA_ERR_NOMEM;
    if (cJSON_AddItemToObject(o, key, v))
        return 0;
    cJSON_Delete(v);
    return DA_ERR_NOMEM;
}

/* Heuristics for the policy's coverage (docs/evidence.md): the first entry
 * is boot_aggregate; executables, shared libraries and files under /etc
 * read by root are what the kernel's "tcb" policy measures. */
static unsigned coverage(const struct da_ima_entry *e, const char *path, size_t len)
{
    unsigned c = 0;

    if (e->index == 0 && strcmp(path, "boot_aggregate") == 0)
        c |= COV_BOOT_AGGREGATE;
    if (strncmp(path, "/usr/bin/", 9) == 0 || strncmp(path, "/usr/sbin/", 10) == 0 ||
        strncmp(path, "/bin/", 5) == 0 || strncmp(path, "/sbin/", 6) == 0)
        c |= COV_EXECUTABLES;
    if (strstr(path, ".so.") != NULL || (len > 3 && strcmp(path + len - 3, ".so") == 0))
        c |= COV_LIBRARIES;
    if (strncmp(path, "/etc/", 5) == 0)
        c |= COV_ROOT_READS;
    return c;
}

static int coverage_keep(cJSON *kept, unsigned c)
{
    static const char *const names[] = {"boot_aggregate", "executables", "libraries", "root_reads"};
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < sizeof(names) / sizeof(names[0]); i++) {
        if ((c & (1u << i)) != 0)
            rc = set_flag(kept, names[i]);
    }
    return rc;
}

static int add_tpm_tool(cJSON *kept, const char *path)
{
    cJSON *arr = member(kept, "tpm_tools", 1), *s;
    cJSON *cnt = cJSON_GetObjectItemCaseSensitive(kept, "tpm_tool_entries");
    double n = cJSON_IsNumber(cnt) ? cnt->valuedouble + 1 : 1;

    if (arr == NULL)
        return DA_ERR_NOMEM;
    if (cnt != NULL)
        cJSON_SetNumberValue(cnt, n);
    else if (cJSON_AddNumberToObject(kept, "tpm_tool_entries", n) == NULL)
        return DA_ERR_NOMEM;
    cJSON_ArrayForEach(s, arr)
    {
        if (cJSON_IsString(s) && strcmp(s->valuestring, path) == 0)
            return 0;
    }
    if (cJSON_GetArraySize(arr) >= IMA_MAX_TPM_TOOLS)
        return 0;
    return cJSON_AddItemToArray(arr, cJSON_CreateString(path)) ? 0 : DA_ERR_NOMEM;
}

static int visit_entry(const struct da_ima_entry *e, void *ctx)
{
    struct ima_facts *f = ctx;
    char path[4097], digest[IMA_DIGEST_TEXT], hex[2 * DA_IMA_MAX_DIGEST + 1];
    const char *base;
    int tool, agent, chain, rc = 0;

    if (e->pcr != DA_IMA_PCR || !e->decoded || e->path_len >= sizeof(path))
        return 0;
    memcpy(path, e->path, e->path_len);
    path[e->path_len] = '\0';
    base = basename_of(path);
    f->coverage |= coverage(e, path, e->path_len);
    if (e->violation)
        return 0;
    tool = is_tpm_tool(base);
    agent = strcmp(base, IMA_AGENT_BINARY) == 0;
    chain = is_toolchain_path(f, path, e->path_len);
    if (!tool && !agent && !chain)
        return 0;
    if (da_hex_encode_to(e->digest, e->digest_len, hex, sizeof(hex)) != 0)
        return DA_ERR_INTERNAL;
    snprintf(digest, sizeof(digest), "%s:%s", e->digest_alg, hex);
    if (tool)
        rc = add_tpm_tool(f->kept, path);
    if (rc == 0 && agent) {
        cJSON *a = member(f->kept, "agent", 0);
        rc = a == NULL ? DA_ERR_NOMEM : set_string(a, "path", path);
        if (rc == 0)
            rc = set_string(a, "digest", digest);
    }
    if (rc == 0 && chain) {
        cJSON *files = member(f->kept, "files", 0);
        if (files == NULL)
            return DA_ERR_NOMEM;
        if (cJSON_GetObjectItemCaseSensitive(files, path) != NULL ||
            cJSON_GetArraySize(files) < DA_MAX_TOOLS)
            rc = set_string(files, path, digest);
    }
    return rc;
}

/* --- the facts --------------------------------------------------------- */

static const char *sha256_of(const char *digest)
{
    return digest != NULL && strncmp(digest, "sha256:", 7) == 0 ? digest + 7 : NULL;
}

static int toolchain_facts(const cJSON *evidence, const cJSON *kept, cJSON *ima)
{
    const cJSON *tools = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(evidence, "toolchain"), "tools");
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(kept, "files"), *t;
    cJSON *arr = cJSON_AddArrayToObject(ima, "toolchain");
    int mismatches = 0;

    if (arr == NULL)
        return DA_ERR_NOMEM;
    cJSON_ArrayForEach(t, tools)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(t, "name");
        const cJSON *rp = cJSON_GetObjectItemCaseSensitive(t, "realpath");
        const cJSON *reported = cJSON_GetObjectItemCaseSensitive(t, "sha256");
        const cJSON *m;
        const char *measured;
        cJSON *o;

        if (!cJSON_IsString(rp))
            rp = cJSON_GetObjectItemCaseSensitive(t, "path");
        if (!cJSON_IsString(rp))
            continue;
        m = cJSON_GetObjectItemCaseSensitive(files, rp->valuestring);
        if (!cJSON_IsString(m))
            continue; /* not measured in this boot's replayed entries */
        o = cJSON_CreateObject();
        if (o == NULL || !cJSON_AddItemToArray(arr, o) ||
            cJSON_AddStringToObject(o, "name", cJSON_IsString(name) ? name->valuestring : "") ==
                NULL ||
            cJSON_AddStringToObject(o, "path", rp->valuestring) == NULL ||
            !cJSON_AddItemToObject(o, "reported",
                                   cJSON_IsString(reported)
                                       ? cJSON_CreateString(reported->valuestring)
                                       : cJSON_CreateNull()) ||
            cJSON_AddStringToObject(o, "measured", m->valuestring) == NULL)
            return DA_ERR_NOMEM;
        measured = sha256_of(m->valuestring);
        if (measured == NULL) {
            if (cJSON_AddNullToObject(o, "matches") == NULL)
                return DA_ERR_NOMEM;
            continue;
        }
        /* a reported hash that is unknown or missing is no match either */
        if (!cJSON_IsString(reported) || strcmp(reported->valuestring, measured) != 0) {
            mismatches++;
            if (cJSON_AddFalseToObject(o, "matches") == NULL)
                return DA_ERR_NOMEM;
        } else if (cJSON_AddTrueToObject(o, "matches") == NULL) {
            return DA_ERR_NOMEM;
        }
    }
    return cJSON_AddNumberToObject(ima, "toolchain_mismatches", mismatches) != NULL ? 0
                                                                                    : DA_ERR_NOMEM;
}

static int agent_facts(const cJSON *kept, const struct srv_ima_allowlist *allow, cJSON *ima)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(kept, "agent");
    const cJSON *path = cJSON_GetObjectItemCaseSensitive(a, "path");
    const cJSON *digest = cJSON_GetObjectItemCaseSensitive(a, "digest");
    cJSON *o = cJSON_AddObjectToObject(ima, "agent");
    const char *sha;
    int allowed = 0;

    if (o == NULL)
        return DA_ERR_NOMEM;
    if (!cJSON_IsString(path) || !cJSON_IsString(digest))
        return cJSON_AddStringToObject(o, "unknown", "not_present") != NULL &&
                       cJSON_AddStringToObject(o, "detail",
                                               "no measurement of " IMA_AGENT_BINARY
                                               " in this boot's replayed entries") != NULL
                   ? 0
                   : DA_ERR_NOMEM;
    if (cJSON_AddStringToObject(o, "path", path->valuestring) == NULL ||
        cJSON_AddStringToObject(o, "measured", digest->valuestring) == NULL)
        return DA_ERR_NOMEM;
    if (allow == NULL || allow->n == 0)
        return 0;
    sha = sha256_of(digest->valuestring);
    for (size_t i = 0; sha != NULL && i < allow->n && !allowed; i++)
        allowed = strcmp(allow->sha256[i], sha) == 0;
    return cJSON_AddBoolToObject(o, "allowed", allowed) != NULL ? 0 : DA_ERR_NOMEM;
}

static int coverage_facts(const cJSON *kept, cJSON *ima)
{
    static const char *const flags[] = {"boot_aggregate", "executables", "libraries", "root_reads"};
    const cJSON *cov = cJSON_GetObjectItemCaseSensitive(kept, "coverage");
    cJSON *o = cJSON_AddObjectToObject(ima, "coverage");
    int all = 1;

    if (o == NULL)
        return DA_ERR_NOMEM;
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
        int on = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cov, flags[i]));
        all &= on;
        if (cJSON_AddBoolToObject(o, flags[i], on) == NULL)
            return DA_ERR_NOMEM;
    }
    return cJSON_AddStringToObject(o, "policy", all ? "tcb" : "partial") != NULL ? 0 : DA_ERR_NOMEM;
}

static int tools_facts(const cJSON *kept, cJSON *ima)
{
    const cJSON *tools = cJSON_GetObjectItemCaseSensitive(kept, "tpm_tools");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(kept, "tpm_tool_entries");

    if (!cJSON_AddItemToObject(ima, "tpm_tools",
                               tools != NULL ? cJSON_Duplicate(tools, 1) : cJSON_CreateArray()) ||
        cJSON_AddNumberToObject(ima, "tpm_tool_executions",
                                cJSON_IsNumber(n) ? n->valuedouble : 0) == NULL)
        return DA_ERR_NOMEM;
    return 0;
}

static int replay_detail(const struct da_ima_aggregate *end, const unsigned char *q1,
                         const unsigned char *q256, uint64_t from, char *out, size_t size)
{
    char a[65], b[65];
    const int sha256 = (end->banks & DA_IMA_BANK_SHA256) != 0;
    const unsigned char *mine = sha256 ? end->sha256 : end->sha1;
    const unsigned char *quoted = sha256 ? q256 : q1;
    size_t n = sha256 ? 32 : 20;

    if (da_hex_encode_to(mine, n, a, sizeof(a)) != 0 ||
        da_hex_encode_to(quoted, n, b, sizeof(b)) != 0)
        return DA_ERR_INTERNAL;
    snprintf(out, size,
             "%s PCR 10: entries %llu to %llu replay to %s at no point equal to the quote's %s",
             sha256 ? "sha256" : "sha1", (unsigned long long)from, (unsigned long long)end->entries,
             a, b);
    return 0;
}

struct ima_run {
    const struct srv_ima_in *in;
    const unsigned char *q1, *q256;
    struct da_ima_aggregate start, end;
    cJSON *kept;
    size_t used;
    const char *state;
    char detail[320];
};

/* Where the increment starts: a whole list from zero, or the stored
 * aggregate of this boot. */
static int run_start(struct ima_run *r, unsigned banks)
{
    const struct srv_ima_in *in = r->in;
    const struct srv_ima_state *p = in->prev;
    int same = p != NULL && p->reset_count == in->reset_count && p->agg.banks == banks;

    da_ima_aggregate_init(&r->start, banks);
    if (same && !(in->has_increment && in->from == 0)) {
        r->start = p->agg;
        if (p->kept_json != NULL &&
            da_json_parse(p->kept_json, strlen(p->kept_json), IMA_MAX_KEPT, &r->kept) != 0)
            return DA_ERR_INTERNAL;
    }
    if (r->kept == NULL && (r->kept = cJSON_CreateObject()) == NULL)
        return DA_ERR_NOMEM;
    if (in->has_increment && in->from != r->start.entries) {
        r->state = "does_not_replay";
        snprintf(r->detail, sizeof(r->detail),
                 "%s: it starts at entry %llu, the server's replay of this boot ends at %llu",
                 da_strerror(DA_ERR_VERIFY_IMA_START), (unsigned long long)in->from,
                 (unsigned long long)r->start.entries);
    }
    return 0;
}

static int run_replay(struct ima_run *r)
{
    const struct srv_ima_in *in = r->in;
    const unsigned char *log = in->has_increment ? in->log : NULL;
    size_t len = in->has_increment ? in->log_len : 0;
    struct ima_facts f;
    int rc;

    /* the facts gathered on the way count only when the replay matches:
     * r->kept is a copy, stored only then */
    memset(&f, 0, sizeof(f));
    f.kept = r->kept;
    toolchain_paths(in->evidence, &f);
    rc = da_ima_replay(log, len, &r->start, r->q1, r->q256, visit_entry, &f, &r->end, &r->used);
    if (rc == DA_ERR_TPM_IMA_LOG) {
        r->state = "malformed";
        snprintf(r->detail, sizeof(r->detail), "%s", da_strerror(rc));
        return 0;
    }
    if (rc == DA_ERR_VERIFY_IMA_REPLAY) {
        r->state = "does_not_replay";
        return replay_detail(&r->end, r->q1, r->q256, r->start.entries, r->detail,
                             sizeof(r->detail));
    }
    if (rc == 0)
        rc = coverage_keep(r->kept, f.coverage);
    if (rc != 0)
        return rc;
    r->state = r->end.entries == 0 ? "inactive" : "replays";
    return 0;
}

static int facts(struct ima_run *r, cJSON *ima)
{
    int rc;

    if (cJSON_AddBoolToObject(ima, "active", strcmp(r->state, "replays") == 0) == NULL ||
        cJSON_AddNumberToObject(ima, "boot", r->in->reset_count) == NULL ||
        cJSON_AddNumberToObject(ima, "entries", (double)r->end.entries) == NULL ||
        cJSON_AddNumberToObject(ima, "new_entries", (double)r->used) == NULL)
        return DA_ERR_NOMEM;
    if (strcmp(r->state, "replays") != 0)
        return 0;
    rc = coverage_facts(r->kept, ima);
    if (rc == 0)
        rc = toolchain_facts(r->in->evidence, r->kept, ima);
    if (rc == 0)
        rc = agent_facts(r->kept, r->in->allowlist, ima);
    if (rc == 0)
        rc = tools_facts(r->kept, ima);
    return rc;
}

static int next_state(struct ima_run *r, struct srv_ima_state **next)
{
    struct srv_ima_state *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return DA_ERR_NOMEM;
    s->reset_count = r->in->reset_count;
    s->agg = r->end;
    s->kept_json = cJSON_PrintUnformatted(r->kept);
    if (s->kept_json == NULL || strlen(s->kept_json) > IMA_MAX_KEPT) {
        srv_ima_state_clear(s);
        free(s);
        return DA_ERR_NOMEM;
    }
    *next = s;
    return 0;
}

int srv_ima_evaluate(const struct srv_ima_in *in, cJSON **ima, struct srv_ima_state **next)
{
    unsigned banks = srv_ima_banks(in->sel);
    struct ima_run r;
    cJSON *o = NULL;
    int rc;

    *ima = NULL;
    *next = NULL;
    if (banks == 0)
        return 0;
    memset(&r, 0, sizeof(r));
    r.in = in;
    r.q1 = quoted_pcr10(in->sel, in->pcr_values, in->pcr_values_len, TPM2_ALG_SHA1);
    r.q256 = quoted_pcr10(in->sel, in->pcr_values, in->pcr_values_len, TPM2_ALG_SHA256);
    if (((banks & DA_IMA_BANK_SHA1) != 0 && r.q1 == NULL) ||
        ((banks & DA_IMA_BANK_SHA256) != 0 && r.q256 == NULL))
        return DA_ERR_INVALID_ARG;
    rc = run_start(&r, banks);
    /* minimal privacy mode sends no entries (their paths cannot be
     * pseudonymized): nothing to replay, nothing stored */
    if (rc == 0 && r.state == NULL && in->minimal && !in->has_increment) {
        r.state = "withheld";
        snprintf(r.detail, sizeof(r.detail),
                 "the agent reports in minimal privacy mode and sends no IMA entries");
    }
    if (rc == 0 && r.state == NULL)
        rc = run_replay(&r);
    if (rc == 0 && (o = cJSON_CreateObject()) == NULL)
        rc = DA_ERR_NOMEM;
    if (rc == 0 &&
        (cJSON_AddStringToObject(o, "log", r.state) == NULL ||
         (r.detail[0] != '\0' && cJSON_AddStringToObject(o, "detail", r.detail) == NULL)))
        rc = DA_ERR_NOMEM;
    if (rc == 0 && strcmp(r.state, "replays") != 0 && strcmp(r.state, "inactive") != 0) {
        r.end = r.start; /* nothing counts */
        r.used = 0;
    }
    if (rc == 0)
        rc = facts(&r, o);
    if (rc == 0 && (strcmp(r.state, "replays") == 0 || strcmp(r.state, "inactive") == 0))
        rc = next_state(&r, next);
    cJSON_Delete(r.kept);
    if (rc != 0) {
        cJSON_Delete(o);
        return rc;
    }
    *ima = o;
    return 0;
}
