#include "oscal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "err.h"

#define PAGE_ROWS      256  /* reports read per store call */
#define VALUE_MAX      1024 /* a title or description */
#define CONTROL_ID_MAX 64

/* The namespace of every name-based UUID of the export. */
static const unsigned char oscal_ns[16] = {0xe3, 0x41, 0x88, 0xb1, 0xc0, 0xf5, 0x45, 0x1f,
                                           0xbb, 0xbf, 0x3e, 0xaa, 0x97, 0xef, 0x1f, 0x57};

int srv_uuid_v5(const unsigned char ns[16], const char *name, char out[SRV_OSCAL_UUID_SIZE])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char h[EVP_MAX_MD_SIZE];
    unsigned int hlen = 0;
    int ok;

    ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha1(), NULL) == 1 &&
         EVP_DigestUpdate(md, ns, 16) == 1 && EVP_DigestUpdate(md, name, strlen(name)) == 1 &&
         EVP_DigestFinal_ex(md, h, &hlen) == 1 && hlen >= 16;
    EVP_MD_CTX_free(md);
    if (!ok)
        return DA_ERR_CRYPTO;
    h[6] = (unsigned char)((h[6] & 0x0f) | 0x50);
    h[8] = (unsigned char)((h[8] & 0x3f) | 0x80);
    snprintf(out, SRV_OSCAL_UUID_SIZE,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", h[0], h[1],
             h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9], h[10], h[11], h[12], h[13], h[14],
             h[15]);
    return 0;
}

const char *srv_oscal_conclusion(int passing, int failing, int other)
{
    if (failing > 0)
        return "not met";
    if (passing > 0 && other == 0)
        return "met";
    return "not determined";
}

/* ---- what is read from the store ---- */

struct machine {
    char agent_id[SRV_ID_HEX];
    char hostname[SRV_MAX_NAME];
    char ak_name[2 * 34 + 1];
    char ek_trust[SRV_EK_TRUST_SIZE];
    char uuid[SRV_OSCAL_UUID_SIZE];
    /* the newest report in the period */
    char report_id[SRV_ID_HEX];
    char evidence_sha256[65];
    int64_t received_at;
    bool compliant;
    cJSON *verdict;
    size_t n_reports;
};

struct build {
    struct srv_store *store;
    const char *vendor;
    int64_t from, to;
    struct machine *m;
    size_t n, cap;
    size_t n_reports;
    int64_t last_at;      /* newest report of all */
    char last_policy[65]; /* the policy that judged it */
    cJSON *policies;      /* policy digest -> policy document, or null */
    char *current_json;   /* the store's current policy */
    char current_sha[65];
    cJSON *controls; /* control id -> {"title", "pass", "fail", "other"} */
    int rc;          /* sticky: the first failure while building */
};

static int collect_agent(const struct srv_agent *a, void *arg)
{
    struct build *b = arg;
    struct machine *m;

    if (b->n >= SRV_OSCAL_MAX_MACHINES)
        return DA_ERR_OSCAL_TOO_LARGE;
    if (b->n == b->cap) {
        size_t cap = b->cap != 0 ? b->cap * 2 : 16;
        struct machine *nv;

        nv = realloc(b->m, cap * sizeof(*nv));
        if (nv == NULL)
            return DA_ERR_NOMEM;
        b->m = nv;
        b->cap = cap;
    }
    m = &b->m[b->n];
    memset(m, 0, sizeof(*m));
    snprintf(m->agent_id, sizeof(m->agent_id), "%s", a->id);
    snprintf(m->ak_name, sizeof(m->ak_name), "%s", a->ak_name);
    snprintf(m->ek_trust, sizeof(m->ek_trust), "%s", a->ek_trust);
    {
        cJSON *host = a->host_json != NULL ? cJSON_Parse(a->host_json) : NULL;
        const cJSON *hn = cJSON_GetObjectItemCaseSensitive(host, "hostname");

        if (cJSON_IsString(hn))
            snprintf(m->hostname, sizeof(m->hostname), "%s", hn->valuestring);
        cJSON_Delete(host);
    }
    b->n++;
    return 0;
}

/* Reports of one machine arrive newest first, a page at a time. */
struct report_scan {
    struct build *b;
    struct machine *m;
    size_t rows;
    int64_t last_n;
    char last_id[SRV_ID_HEX];
};

static int note_policy(struct build *b, const cJSON *verdict, int64_t at)
{
    const cJSON *ps = cJSON_GetObjectItemCaseSensitive(verdict, "policy_sha256");

    if (!cJSON_IsString(ps))
        return 0;
    if (at >= b->last_at && b->last_policy[0] == '\0')
        snprintf(b->last_policy, sizeof(b->last_policy), "%s", ps->valuestring);
    if (cJSON_GetObjectItemCaseSensitive(b->policies, ps->valuestring) != NULL)
        return 0;
    {
        char *json = NULL;
        int64_t created = 0;
        int rc = srv_store_policy_by_sha256(b->store, ps->valuestring, &json, &created);
        cJSON *doc = rc == 0 ? cJSON_Parse(json) : NULL;

        free(json);
        if (rc == DA_ERR_NOT_FOUND) /* its controls still come from the verdicts */
            return cJSON_AddNullToObject(b->policies, ps->valuestring) != NULL ? 0 : DA_ERR_NOMEM;
        if (rc != 0 || doc == NULL)
            return rc != 0 ? rc : DA_ERR_STORE;
        if (!cJSON_AddItemToObject(b->policies, ps->valuestring, doc)) {
            cJSON_Delete(doc);
            return DA_ERR_NOMEM;
        }
        return 0;
    }
}

static int on_report(const struct srv_report *r, void *arg)
{
    struct report_scan *sc = arg;
    struct machine *m = sc->m;
    cJSON *verdict = cJSON_Parse(r->verdict_json);
    int rc;

    if (verdict == NULL)
        return DA_ERR_STORE;
    sc->rows++;
    sc->last_n = r->received_at;
    snprintf(sc->last_id, sizeof(sc->last_id), "%s", r->id);
    m->n_reports++;
    sc->b->n_reports++;
    if (r->received_at > sc->b->last_at) {
        sc->b->last_at = r->received_at;
        sc->b->last_policy[0] = '\0';
    }
    rc = note_policy(sc->b, verdict, r->received_at);
    if (rc == 0 && m->verdict == NULL) {
        snprintf(m->report_id, sizeof(m->report_id), "%s", r->id);
        snprintf(m->evidence_sha256, sizeof(m->evidence_sha256), "%s", r->evidence_sha256);
        m->received_at = r->received_at;
        m->compliant = r->compliant;
        m->verdict = verdict;
        verdict = NULL; /* transferred */
    }
    cJSON_Delete(verdict);
    return rc;
}

static int scan_reports(struct build *b, struct machine *m)
{
    struct report_scan sc = {b, m, 0, 0, ""};
    struct srv_page pg;
    int rc;

    memset(&pg, 0, sizeof(pg));
    pg.limit = PAGE_ROWS;
    pg.from = b->from;
    pg.to = b->to > 0 ? b->to : -1;
    for (;;) {
        sc.rows = 0;
        rc = srv_store_reports_page(b->store, m->agent_id, &pg, on_report, &sc);
        if (rc != 0 || sc.rows < PAGE_ROWS)
            return rc;
        pg.has_after = true;
        pg.after_n = sc.last_n;
        snprintf(pg.after_id, sizeof(pg.after_id), "%s", sc.last_id);
    }
}

static int cmp_machine(const void *a, const void *b)
{
    return strcmp(((const struct machine *)a)->agent_id, ((const struct machine *)b)->agent_id);
}

/* Machines without a report in the period are left out, as in the pack. */
static int read_machines(struct build *b)
{
    struct srv_vendor v;
    size_t kept = 0;
    int rc = srv_store_vendor_find(b->store, b->vendor, &v);

    if (rc == DA_ERR_NOT_FOUND)
        rc = DA_ERR_VENDOR_UNKNOWN;
    if (rc == 0)
        rc = srv_store_agents_list(b->store, v.id, NULL, (int64_t)time(NULL), collect_agent, b);
    for (size_t i = 0; rc == 0 && i < b->n; i++)
        rc = scan_reports(b, &b->m[i]);
    for (size_t i = 0; rc == 0 && i < b->n; i++) {
        if (b->m[i].verdict != NULL)
            b->m[kept++] = b->m[i];
    }
    if (rc == 0)
        b->n = kept;
    if (rc == 0 && b->n > 1)
        qsort(b->m, b->n, sizeof(*b->m), cmp_machine);
    for (size_t i = 0; rc == 0 && i < b->n; i++) {
        char name[64 + SRV_ID_HEX];

        snprintf(name, sizeof(name), "machine/%s", b->m[i].agent_id);
        rc = srv_uuid_v5(oscal_ns, name, b->m[i].uuid);
    }
    return rc;
}

/* ---- JSON helpers: failures are remembered in b->rc ---- */

static cJSON *fail_null(struct build *b, cJSON *v)
{
    if (v == NULL && b->rc == 0)
        b->rc = DA_ERR_NOMEM;
    return v;
}

static cJSON *add_obj(struct build *b, cJSON *o, const char *k)
{
    return fail_null(b, cJSON_AddObjectToObject(o, k));
}

static cJSON *add_arr(struct build *b, cJSON *o, const char *k)
{
    return fail_null(b, cJSON_AddArrayToObject(o, k));
}

static void add_str(struct build *b, cJSON *o, const char *k, const char *v)
{
    fail_null(b, cJSON_AddStringToObject(o, k, v));
}

static cJSON *push_obj(struct build *b, cJSON *arr)
{
    cJSON *o = fail_null(b, cJSON_CreateObject());

    if (o != NULL && !cJSON_AddItemToArray(arr, o)) {
        cJSON_Delete(o);
        return fail_null(b, NULL);
    }
    return o;
}

static void push_str(struct build *b, cJSON *arr, const char *v)
{
    cJSON *s = fail_null(b, cJSON_CreateString(v));

    if (s != NULL && !cJSON_AddItemToArray(arr, s)) {
        cJSON_Delete(s);
        fail_null(b, NULL);
    }
}

static void rfc3339(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, 32, "1970-01-01T00:00:00Z");
}

void srv_oscal_string(const char *in, char out[SRV_OSCAL_STRING_SIZE])
{
    const unsigned char *s = (const unsigned char *)(in != NULL ? in : "");
    size_t n = 0, start = 0;

    for (; *s != '\0' && n < SRV_OSCAL_STRING_MAX; s++) {
        if (*s < 0x20 || *s == 0x7f) {
            out[n++] = ' ';
        } else if (s[0] == 0xe2 && s[1] == 0x80 && (s[2] == 0xa8 || s[2] == 0xa9)) {
            out[n++] = ' '; /* U+2028, U+2029 */
            s += 2;
        } else {
            out[n++] = (char)*s;
        }
    }
    if (*s != '\0') {
        while (n > 0 && ((unsigned char)out[n - 1] & 0xc0) == 0x80)
            n--; /* continuation bytes of a character cut off */
        if (n > 0 && (unsigned char)out[n - 1] >= 0xc0)
            n--; /* and its lead byte */
    }
    while (n > 0 && out[n - 1] == ' ')
        n--;
    while (start < n && out[start] == ' ')
        start++;
    n -= start;
    memmove(out, out + start, n);
    out[n] = '\0';
    if (n == 0) {
        snprintf(out, SRV_OSCAL_STRING_SIZE, "(empty)");
    } else if ((unsigned char)out[0] > 0x7e || (unsigned char)out[n - 1] > 0x7e) {
        /* OSCAL's \S is Unicode-aware; an ASCII quote is always a non-space */
        memmove(out + 1, out, n);
        out[0] = '"';
        out[n + 1] = '"';
        out[n + 2] = '\0';
    }
}

static void add_prop(struct build *b, cJSON *props, const char *name, const char *value)
{
    char v[SRV_OSCAL_STRING_SIZE];
    cJSON *p = push_obj(b, props);

    srv_oscal_string(value, v);
    add_str(b, p, "name", name);
    add_str(b, p, "ns", SRV_OSCAL_NS);
    add_str(b, p, "value", v);
}

static void add_prop_int(struct build *b, cJSON *props, const char *name, long long value)
{
    char v[32];

    snprintf(v, sizeof(v), "%lld", value);
    add_prop(b, props, name, v);
}

static void add_uuid(struct build *b, cJSON *o, const char *key, const char *name)
{
    char u[SRV_OSCAL_UUID_SIZE];
    int rc = srv_uuid_v5(oscal_ns, name, u);

    if (rc != 0 && b->rc == 0)
        b->rc = rc;
    add_str(b, o, key, rc == 0 ? u : "");
}

/* A control id of the policy as an OSCAL token naming the ISO/IEC
 * 27001:2022 Annex A control: "8.30" -> "A.8.30". */
static void control_token(const char *id, char out[CONTROL_ID_MAX])
{
    size_t n = 2;

    out[0] = 'A';
    out[1] = '.';
    for (const char *s = id; *s != '\0' && n < CONTROL_ID_MAX - 1; s++) {
        char c = *s;
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-' || c == '_';

        out[n++] = ok ? c : '_';
    }
    out[n] = '\0';
}

/* ---- controls and their conclusions, as the pack's report draws them ---- */

static cJSON *control_entry(struct build *b, const char *id, const char *title)
{
    cJSON *o = cJSON_GetObjectItemCaseSensitive(b->controls, id);

    if (o != NULL)
        return o;
    o = add_obj(b, b->controls, id);
    add_str(b, o, "title", title != NULL ? title : "");
    add_arr(b, o, "pass");
    add_arr(b, o, "fail");
    add_arr(b, o, "other");
    return o;
}

static void gather_controls(struct build *b)
{
    const cJSON *pol, *ctl;

    b->controls = fail_null(b, cJSON_CreateObject());
    cJSON_ArrayForEach(pol, b->policies)
    {
        cJSON_ArrayForEach(ctl, cJSON_GetObjectItemCaseSensitive(pol, "controls"))
        {
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(ctl, "title");

            control_entry(b, ctl->string, cJSON_IsString(t) ? t->valuestring : NULL);
        }
    }
    for (size_t i = 0; i < b->n; i++) {
        cJSON_ArrayForEach(ctl, cJSON_GetObjectItemCaseSensitive(b->m[i].verdict, "controls"))
        {
            cJSON *o = control_entry(b, ctl->string, NULL);
            const char *k = !cJSON_IsString(ctl)                    ? "other"
                            : strcmp(ctl->valuestring, "pass") == 0 ? "pass"
                            : strcmp(ctl->valuestring, "fail") == 0 ? "fail"
                                                                    : "other";

            cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(o, k),
                                 fail_null(b, cJSON_CreateNumber((double)i)));
        }
    }
}

/* The policy document that judged a machine's newest report, or NULL. */
static const cJSON *policy_of(const struct build *b, const struct machine *m)
{
    const cJSON *ps = cJSON_GetObjectItemCaseSensitive(m->verdict, "policy_sha256");
    const cJSON *p =
        cJSON_IsString(ps) ? cJSON_GetObjectItemCaseSensitive(b->policies, ps->valuestring) : NULL;

    return cJSON_IsObject(p) ? p : NULL;
}

static const cJSON *policy_check(const cJSON *policy, const char *check_id)
{
    const cJSON *c, *id;

    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(policy, "checks"))
    {
        id = cJSON_GetObjectItemCaseSensitive(c, "id");
        if (cJSON_IsString(id) && strcmp(id->valuestring, check_id) == 0)
            return c;
    }
    return NULL;
}

static bool check_names_control(const cJSON *check, const char *control)
{
    const cJSON *c;

    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(check, "controls"))
    {
        if (cJSON_IsString(c) && strcmp(c->valuestring, control) == 0)
            return true;
    }
    return false;
}

static const char *str_of(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- the document ---- */

static void observation_uuid(struct build *b, const struct machine *m, const char *check,
                             char out[SRV_OSCAL_UUID_SIZE])
{
    char name[SRV_MAX_NAME * 2];
    int rc;

    snprintf(name, sizeof(name), "observation/%s/%s", m->report_id, check);
    rc = srv_uuid_v5(oscal_ns, name, out);
    if (rc != 0 && b->rc == 0)
        b->rc = rc;
}

static void add_observations(struct build *b, cJSON *result)
{
    cJSON *obs = NULL;

    for (size_t i = 0; i < b->n; i++) {
        const struct machine *m = &b->m[i];
        const cJSON *policy = policy_of(b, m), *ch;
        char at[32], desc[VALUE_MAX], href[64], u[SRV_OSCAL_UUID_SIZE];

        rfc3339(m->received_at, at);
        cJSON_ArrayForEach(ch, cJSON_GetObjectItemCaseSensitive(m->verdict, "checks"))
        {
            const char *id = str_of(ch, "id"), *verdict = str_of(ch, "verdict");
            const char *title = str_of(policy_check(policy, id != NULL ? id : ""), "title");
            cJSON *o, *props, *subj, *ev, *evp;

            if (id == NULL || verdict == NULL)
                continue;
            if (obs == NULL)
                obs = add_arr(b, result, "observations");
            o = push_obj(b, obs);
            observation_uuid(b, m, id, u);
            add_str(b, o, "uuid", u);
            add_str(b, o, "title", id);
            snprintf(desc, sizeof(desc), "%s on %s: %s", title != NULL ? title : id,
                     m->hostname[0] != '\0' ? m->hostname : m->agent_id, verdict);
            add_str(b, o, "description", desc);
            props = add_arr(b, o, "props");
            add_prop(b, props, "check-id", id);
            add_prop(b, props, "verdict", verdict);
            add_prop(b, props, "provenance", str_of(ch, "provenance"));
            if (str_of(ch, "severity") != NULL)
                add_prop(b, props, "severity", str_of(ch, "severity"));
            if (str_of(ch, "pointer") != NULL)
                add_prop(b, props, "pointer", str_of(ch, "pointer"));
            if (str_of(ch, "observed") != NULL)
                add_prop(b, props, "observed", str_of(ch, "observed"));
            if (str_of(ch, "reason") != NULL)
                add_prop(b, props, "reason", str_of(ch, "reason"));
            push_str(b, add_arr(b, o, "methods"), "TEST");
            subj = push_obj(b, add_arr(b, o, "subjects"));
            add_str(b, subj, "subject-uuid", m->uuid);
            add_str(b, subj, "type", "inventory-item");
            ev = push_obj(b, add_arr(b, o, "relevant-evidence"));
            snprintf(href, sizeof(href), "/v1/reports/%s", m->report_id);
            add_str(b, ev, "href", href);
            snprintf(desc, sizeof(desc),
                     "Verified report %s of agent %s, received %s; the fact that decided "
                     "the check is %s",
                     m->report_id, m->agent_id, at,
                     str_of(ch, "provenance") != NULL ? str_of(ch, "provenance") : "unknown");
            add_str(b, ev, "description", desc);
            evp = add_arr(b, ev, "props");
            add_prop(b, evp, "report-id", m->report_id);
            add_prop(b, evp, "evidence-sha256", m->evidence_sha256);
            add_prop(b, evp, "provenance", str_of(ch, "provenance"));
            add_str(b, o, "collected", at);
        }
    }
}

static void add_related(struct build *b, cJSON *finding, const char *control)
{
    cJSON *rel = NULL;

    for (size_t i = 0; i < b->n; i++) {
        const struct machine *m = &b->m[i];
        const cJSON *policy = policy_of(b, m), *ch;

        cJSON_ArrayForEach(ch, cJSON_GetObjectItemCaseSensitive(m->verdict, "checks"))
        {
            const char *id = str_of(ch, "id");
            char u[SRV_OSCAL_UUID_SIZE];

            if (id == NULL || str_of(ch, "verdict") == NULL ||
                !check_names_control(policy_check(policy, id), control))
                continue;
            if (rel == NULL)
                rel = add_arr(b, finding, "related-observations");
            observation_uuid(b, m, id, u);
            add_str(b, push_obj(b, rel), "observation-uuid", u);
        }
    }
}

static void add_findings(struct build *b, cJSON *result, const char *result_name)
{
    cJSON *findings = NULL;
    const cJSON *c;

    cJSON_ArrayForEach(c, b->controls)
    {
        int np = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(c, "pass"));
        int nf = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(c, "fail"));
        int no = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(c, "other"));
        const char *concl = srv_oscal_conclusion(np, nf, no), *title = str_of(c, "title");
        char tok[CONTROL_ID_MAX], text[VALUE_MAX], name[SRV_MAX_NAME * 3 + CONTROL_ID_MAX + 128];
        cJSON *f, *props, *target, *status;

        control_token(c->string, tok);
        if (findings == NULL)
            findings = add_arr(b, result, "findings");
        f = push_obj(b, findings);
        snprintf(name, sizeof(name), "%s/finding/%s", result_name, c->string);
        add_uuid(b, f, "uuid", name);
        snprintf(text, sizeof(text), "%s %s", tok, title != NULL ? title : "");
        add_str(b, f, "title", text);
        snprintf(text, sizeof(text),
                 "ISO/IEC 27001:2022 %s: %s. Of the newest verified report of each machine in "
                 "the period, %d pass the control, %d fail it and %d neither pass nor fail it",
                 tok, concl, np, nf, no);
        add_str(b, f, "description", text);
        props = add_arr(b, f, "props");
        add_prop(b, props, "control-id", c->string);
        add_prop(b, props, "conclusion", concl);
        add_prop_int(b, props, "machines-passing", np);
        add_prop_int(b, props, "machines-failing", nf);
        add_prop_int(b, props, "machines-other", no);
        target = add_obj(b, f, "target");
        add_str(b, target, "type", "objective-id");
        add_str(b, target, "target-id", tok);
        status = add_obj(b, target, "status");
        /* OSCAL knows two states: a control is satisfied only when met */
        add_str(b, status, "state", strcmp(concl, "met") == 0 ? "satisfied" : "not-satisfied");
        add_str(b, status, "reason",
                strcmp(concl, "met") == 0       ? "pass"
                : strcmp(concl, "not met") == 0 ? "fail"
                                                : "other");
        add_related(b, f, c->string);
    }
}

static void add_machines(struct build *b, cJSON *result)
{
    cJSON *items;

    if (b->n == 0)
        return;
    items = add_arr(b, add_obj(b, result, "local-definitions"), "inventory-items");
    for (size_t i = 0; i < b->n; i++) {
        const struct machine *m = &b->m[i];
        cJSON *it = push_obj(b, items), *props;
        char desc[VALUE_MAX];

        add_str(b, it, "uuid", m->uuid);
        snprintf(desc, sizeof(desc), "Build machine %s (agent %s) of vendor %s",
                 m->hostname[0] != '\0' ? m->hostname : "without a host name", m->agent_id,
                 b->vendor);
        add_str(b, it, "description", desc);
        props = add_arr(b, it, "props");
        add_prop(b, props, "agent-id", m->agent_id);
        if (m->hostname[0] != '\0')
            add_prop(b, props, "hostname", m->hostname);
        add_prop(b, props, "ak-name", m->ak_name);
        if (m->ek_trust[0] != '\0')
            add_prop(b, props, "ek-trust", m->ek_trust);
        add_prop(b, props, "newest-report-id", m->report_id);
        add_prop(b, props, "compliant", m->compliant ? "true" : "false");
        add_prop_int(b, props, "reports", (long long)m->n_reports);
    }
}

static void add_reviewed(struct build *b, cJSON *result)
{
    cJSON *sel =
        push_obj(b, add_arr(b, add_obj(b, result, "reviewed-controls"), "control-selections"));
    cJSON *inc = NULL;
    const cJSON *c;

    cJSON_ArrayForEach(c, b->controls)
    {
        char tok[CONTROL_ID_MAX];

        control_token(c->string, tok);
        if (inc == NULL)
            inc = add_arr(b, sel, "include-controls");
        add_str(b, push_obj(b, inc), "control-id", tok);
    }
    if (inc == NULL)
        add_str(b, sel, "remarks", "No policy was in force for a report of the period.");
}

static void policy_uuid(struct build *b, const char *sha, char out[SRV_OSCAL_UUID_SIZE])
{
    char name[128];
    int rc;

    snprintf(name, sizeof(name), "policy/%s", sha);
    rc = srv_uuid_v5(oscal_ns, name, out);
    if (rc != 0 && b->rc == 0)
        b->rc = rc;
}

/* A policy version as a back-matter resource named by its digest; p is
 * its document, or NULL when the store no longer holds it. */
static void add_policy_resource(struct build *b, cJSON *resources, const char *sha, const cJSON *p)
{
    char u[SRV_OSCAL_UUID_SIZE] = "";
    cJSON *res = push_obj(b, resources), *props, *link, *hash;

    policy_uuid(b, sha, u);
    add_str(b, res, "uuid", u);
    add_str(b, res, "title",
            str_of(p, "title") != NULL ? str_of(p, "title") : "devattest policy version");
    props = add_arr(b, res, "props");
    if (str_of(p, "id") != NULL)
        add_prop(b, props, "policy-id", str_of(p, "id"));
    if (str_of(p, "version") != NULL)
        add_prop(b, props, "policy-version", str_of(p, "version"));
    add_prop(b, props, "policy-sha256", sha);
    link = push_obj(b, add_arr(b, res, "rlinks"));
    add_str(b, link, "href", "/v1/policy");
    add_str(b, link, "media-type", "application/json");
    hash = push_obj(b, add_arr(b, link, "hashes"));
    add_str(b, hash, "algorithm", "SHA-256");
    add_str(b, hash, "value", sha);
}

/* The assessment plan is the policy version that judged the newest report
 * (or the current one): a back-matter resource named by its digest. Every
 * other version in force in the period follows it there. */
static void add_plan(struct build *b, cJSON *ar, const char *sha)
{
    char u[SRV_OSCAL_UUID_SIZE] = "", href[SRV_OSCAL_UUID_SIZE + 1];
    cJSON *ap = add_obj(b, ar, "import-ap"), *resources;
    const cJSON *pol;

    if (sha[0] == '\0') {
        add_str(b, ap, "href", "/v1/policy");
        add_str(b, ap, "remarks", "No policy was stored; the plan is the server's policy.");
        return;
    }
    policy_uuid(b, sha, u);
    snprintf(href, sizeof(href), "#%s", u);
    add_str(b, ap, "href", href);
    add_str(b, ap, "remarks",
            "The assessment plan is the devattest policy version in force for the newest "
            "report of the period (its checks and the controls each check supports); the "
            "reference names the back-matter resource that identifies it by SHA-256. The "
            "other policy versions that judged reports of the period follow it there.");
    resources = add_arr(b, add_obj(b, ar, "back-matter"), "resources");
    pol = cJSON_GetObjectItemCaseSensitive(b->policies, sha);
    add_policy_resource(b, resources, sha, cJSON_IsObject(pol) ? pol : NULL);
    cJSON_ArrayForEach(pol, b->policies)
    {
        if (strcmp(pol->string, sha) != 0)
            add_policy_resource(b, resources, pol->string, cJSON_IsObject(pol) ? pol : NULL);
    }
}

static cJSON *document(struct build *b)
{
    cJSON *root = fail_null(b, cJSON_CreateObject()), *ar, *md, *props, *result;
    char from[32], to[32], last[32], text[VALUE_MAX], name[SRV_MAX_NAME * 3];
    const char *plan = b->last_policy[0] != '\0' ? b->last_policy : b->current_sha;
    int64_t modified = b->n_reports > 0 ? b->last_at : b->from;

    rfc3339(b->from, from);
    rfc3339(b->to, to);
    rfc3339(modified, last);
    ar = add_obj(b, root, "assessment-results");
    /* the same store content and period give the same document */
    snprintf(name, sizeof(name), "assessment-results/%s/%lld/%lld/%lld/%zu", b->vendor,
             (long long)b->from, (long long)b->to, (long long)modified, b->n_reports);
    add_uuid(b, ar, "uuid", name);
    md = add_obj(b, ar, "metadata");
    snprintf(text, sizeof(text), "Assessment results for vendor %s, %s to %s", b->vendor, from, to);
    add_str(b, md, "title", text);
    add_str(b, md, "last-modified", last);
    add_str(b, md, "version", last);
    add_str(b, md, "oscal-version", SRV_OSCAL_VERSION);
    props = add_arr(b, md, "props");
    add_prop(b, props, "vendor", b->vendor);
    add_prop(b, props, "generator", "devattest-server");
    add_plan(b, ar, plan);

    result = push_obj(b, add_arr(b, ar, "results"));
    snprintf(name, sizeof(name), "result/%s/%lld/%lld", b->vendor, (long long)b->from,
             (long long)b->to);
    add_uuid(b, result, "uuid", name);
    snprintf(text, sizeof(text), "Vendor %s, reports received from %s to %s", b->vendor, from, to);
    add_str(b, result, "title", text);
    snprintf(text, sizeof(text),
             "%zu verified reports from %zu machines. Each finding rests on the newest verified "
             "report of each machine in the period; each observation is one policy check of "
             "such a report, with the observed value and whether the deciding fact was measured "
             "by the server from the TPM or reported by the machine.",
             b->n_reports, b->n);
    add_str(b, result, "description", text);
    add_str(b, result, "start", from);
    add_str(b, result, "end", to);
    props = add_arr(b, result, "props");
    add_prop_int(b, props, "reports", (long long)b->n_reports);
    add_prop_int(b, props, "machines", (long long)b->n);
    add_machines(b, result);
    add_reviewed(b, result);
    add_observations(b, result);
    add_findings(b, result, name);
    if (b->rc != 0) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

static void build_free(struct build *b)
{
    for (size_t i = 0; i < b->n; i++)
        cJSON_Delete(b->m[i].verdict);
    free(b->m);
    free(b->current_json);
    cJSON_Delete(b->policies);
    cJSON_Delete(b->controls);
}

int srv_oscal_assessment_results(struct srv_store *store, const char *vendor, int64_t from,
                                 int64_t to, cJSON **out)
{
    struct build b;
    int rc;

    *out = NULL;
    if (from < SRV_OSCAL_TIME_MIN || to > SRV_OSCAL_TIME_MAX || to <= from)
        return DA_ERR_OSCAL_WINDOW;
    memset(&b, 0, sizeof(b));
    b.store = store;
    b.vendor = vendor;
    b.from = from;
    b.to = to;
    b.policies = cJSON_CreateObject();
    rc = b.policies != NULL ? 0 : DA_ERR_NOMEM;
    if (rc == 0) {
        rc = srv_store_policy_current(store, &b.current_json, b.current_sha);
        if (rc == DA_ERR_NOT_FOUND)
            rc = 0;
    }
    if (rc == 0)
        rc = read_machines(&b);
    if (rc == 0 && b.n_reports == 0 && b.current_json != NULL) {
        /* nothing in the period: the controls of the current policy */
        cJSON *doc = cJSON_Parse(b.current_json);

        rc =
            doc != NULL && cJSON_AddItemToObject(b.policies, b.current_sha, doc) ? 0 : DA_ERR_STORE;
    }
    if (rc == 0) {
        gather_controls(&b);
        rc = b.rc;
    }
    if (rc == 0) {
        *out = document(&b);
        rc = *out != NULL ? 0 : b.rc != 0 ? b.rc : DA_ERR_NOMEM;
    }
    build_free(&b);
    return rc;
}

int srv_oscal_export(struct srv_store *store, const char *vendor, int64_t from, int64_t to,
                     char **out, size_t *len)
{
    cJSON *doc = NULL;
    char *text;
    int rc = srv_oscal_assessment_results(store, vendor, from, to, &doc);

    *out = NULL;
    *len = 0;
    if (rc != 0)
        return rc;
    text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    if (text == NULL)
        return DA_ERR_NOMEM;
    if (strlen(text) > SRV_MAX_OSCAL) {
        free(text);
        return DA_ERR_OSCAL_TOO_LARGE;
    }
    *len = strlen(text);
    *out = text;
    return 0;
}
