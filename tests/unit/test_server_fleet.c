/* The fleet summary (GET /v1/fleet) from the tables the store keeps on
 * write (schema 12) against the summary computed the way it was before
 * them: every machine's newest reports read one machine at a time and
 * compared (fleet_scan below, kept here as the oracle; it reads only the
 * stored reports, boot changes and audit events). A varied fleet:
 * compliant, failing, stale, pending, revoked, re-admitted, a boot change,
 * a policy rotated between two reports, ties of enrollment time. Compared
 * for every vendor and for all, after the staleness sweep folds the counts,
 * and after a database of schema 11 with those reports is upgraded (the
 * migration fills the tables from the reports). Runs on SQLite and, with
 * DA_TEST_STORE=postgresql, on PostgreSQL. */
#include "da_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "api.h"
#include "err.h"
#include "json.h"
#include "pg_test.h"
#include "picky.h"
#include "render.h"
#include "store.h"
#include "store_fleet.h"
#include "tmp_tree.h"

#define STALE_AFTER 3600

struct fixture {
    char dir[64];
    char path[1024];
    struct srv_store *s;
    int64_t now;
    int nonce;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (f == NULL || da_test_tmpdir("da-fleet", f->dir, sizeof(f->dir)) != 0)
        return -1;
    if (da_test_store_target(f->dir, "t.db", f->path, sizeof(f->path)) != 0)
        return -1;
    if (srv_store_open(f->path, 64, STALE_AFTER, &f->s) != 0)
        return -1;
    f->now = (int64_t)time(NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    srv_store_close(f->s);
    if (da_test_store_target_drop(f->path) != 0 || da_test_rmtree(f->dir) != 0)
        return -1;
    free(f);
    return 0;
}

/* ---- the oracle: the summary as computed before schema 12 ---- */

#define SCAN_REPORTS 50
#define CHANGES_MAX  500

static const char *const verdict_names[] = {"pass", "fail", "unknown", "not_applicable"};

struct o_agent {
    char id[SRV_ID_HEX], hostname[SRV_MAX_NAME], vendor[SRV_MAX_NAME], status[SRV_STATUS_SIZE];
};

struct o_agents {
    struct o_agent v[64];
    size_t n;
};

static int o_collect_agent(const struct srv_agent *a, void *arg)
{
    struct o_agents *av = arg;
    struct o_agent *o = &av->v[av->n++];
    cJSON *host = cJSON_Parse(a->host_json);
    const cJSON *hn = cJSON_GetObjectItemCaseSensitive(host, "hostname");

    assert_true(av->n <= 64);
    snprintf(o->id, sizeof(o->id), "%s", a->id);
    snprintf(o->vendor, sizeof(o->vendor), "%s", a->vendor);
    snprintf(o->status, sizeof(o->status), "%s", a->status);
    snprintf(o->hostname, sizeof(o->hostname), "%s", cJSON_IsString(hn) ? hn->valuestring : "");
    cJSON_Delete(host);
    return 0;
}

struct o_report {
    char id[SRV_ID_HEX];
    int64_t at;
    bool compliant;
    cJSON *verdict;
};

struct o_reports {
    struct o_report v[SCAN_REPORTS];
    size_t n;
};

static int o_collect_report(const struct srv_report *r, void *arg)
{
    struct o_reports *rv = arg;
    struct o_report *b = &rv->v[rv->n++];

    b->verdict = cJSON_Parse(r->verdict_json);
    assert_non_null(b->verdict);
    snprintf(b->id, sizeof(b->id), "%s", r->id);
    b->at = r->received_at;
    b->compliant = r->compliant;
    return 0;
}

static void o_count(cJSON *counts, const char *name, const char *verdict)
{
    cJSON *o = cJSON_GetObjectItemCaseSensitive(counts, name), *n;
    int i = -1;

    for (int k = 0; k < 4; k++) {
        if (strcmp(verdict, verdict_names[k]) == 0)
            i = k;
    }
    if (i < 0)
        return;
    if (o == NULL) {
        o = cJSON_AddObjectToObject(counts, name);
        for (int k = 0; k < 4; k++)
            cJSON_AddNumberToObject(o, verdict_names[k], 0);
    }
    n = cJSON_GetObjectItemCaseSensitive(o, verdict_names[i]);
    cJSON_SetNumberValue(n, n->valuedouble + 1);
}

static void o_change(cJSON *changes, const struct o_agent *a, int64_t at, const char *report_id,
                     const char *kind, const char *subject, const char *from, const char *to)
{
    cJSON *o = cJSON_CreateObject();
    char ts[32];

    srv_time_rfc3339(at, ts);
    cJSON_AddItemToArray(changes, o);
    cJSON_AddStringToObject(o, "at", ts);
    cJSON_AddStringToObject(o, "agent_id", a->id);
    cJSON_AddStringToObject(o, "vendor", a->vendor);
    cJSON_AddStringToObject(o, "hostname", a->hostname);
    cJSON_AddStringToObject(o, "report_id", report_id);
    cJSON_AddStringToObject(o, "kind", kind);
    cJSON_AddStringToObject(o, "subject", subject);
    if (from != NULL)
        cJSON_AddStringToObject(o, "from", from);
    else
        cJSON_AddNullToObject(o, "from");
    cJSON_AddStringToObject(o, "to", to);
}

static const char *o_check(const cJSON *verdict, const char *id)
{
    const cJSON *c;

    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(verdict, "checks"))
    {
        const cJSON *cid = cJSON_GetObjectItemCaseSensitive(c, "id");

        if (cJSON_IsString(cid) && strcmp(cid->valuestring, id) == 0) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, "verdict");
            return cJSON_IsString(v) ? v->valuestring : NULL;
        }
    }
    return NULL;
}

static void o_report_changes(cJSON *changes, const struct o_agent *a, const struct o_report *r,
                             const struct o_report *prev)
{
    const char *now_s = r->compliant ? "compliant" : "non_compliant";
    const cJSON *c;

    if (prev == NULL) {
        o_change(changes, a, r->at, r->id, "compliance", "first report", NULL, now_s);
        return;
    }
    if (prev->compliant != r->compliant)
        o_change(changes, a, r->at, r->id, "compliance", "compliance",
                 prev->compliant ? "compliant" : "non_compliant", now_s);
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(r->verdict, "checks"))
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "id");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, "verdict");
        const char *before;

        if (!cJSON_IsString(id) || !cJSON_IsString(v))
            continue;
        before = o_check(prev->verdict, id->valuestring);
        if (before != NULL && strcmp(before, v->valuestring) == 0)
            continue;
        o_change(changes, a, r->at, r->id, "check", id->valuestring, before, v->valuestring);
    }
}

struct o_boot {
    cJSON *changes;
    const struct o_agent *a;
    int64_t since;
};

static int o_boot_change(const struct srv_boot_change *c, void *arg)
{
    struct o_boot *bc = arg;

    if (c->at >= bc->since)
        o_change(bc->changes, bc->a, c->at, c->report_id, "boot", c->what, NULL, "changed");
    return 0;
}

struct o_audit {
    cJSON *changes;
    const struct o_agents *av;
    int64_t since;
    const char *to;
};

static int o_audit_entry(const struct srv_audit_entry *e, void *arg)
{
    struct o_audit *ac = arg;

    if (e->at < ac->since)
        return 0;
    for (size_t i = 0; i < ac->av->n; i++) {
        if (strcmp(ac->av->v[i].id, e->subject) == 0)
            o_change(ac->changes, &ac->av->v[i], e->at, "", "status", e->action, NULL, ac->to);
    }
    return 0;
}

static void o_vendor(cJSON *vendors, const char *vendor, const char *status)
{
    static const char *const statuses[] = {"compliant", "non_compliant", "stale", "revoked",
                                           "pending"};
    cJSON *o = NULL, *v, *n;

    cJSON_ArrayForEach(v, vendors)
    {
        if (strcmp(cJSON_GetObjectItemCaseSensitive(v, "name")->valuestring, vendor) == 0)
            o = v;
    }
    if (o == NULL) {
        o = cJSON_CreateObject();
        cJSON_AddItemToArray(vendors, o);
        cJSON_AddStringToObject(o, "name", vendor);
        cJSON_AddNumberToObject(o, "machines", 0);
        for (size_t i = 0; i < 5; i++)
            cJSON_AddNumberToObject(o, statuses[i], 0);
    }
    if (status == NULL)
        return;
    n = cJSON_GetObjectItemCaseSensitive(o, "machines");
    cJSON_SetNumberValue(n, n->valuedouble + 1);
    n = cJSON_GetObjectItemCaseSensitive(o, status);
    cJSON_SetNumberValue(n, n->valuedouble + 1);
}

struct o_vendors {
    cJSON *vendors;
    int64_t only;
};

static int o_vendor_row(const struct srv_vendor *v, void *arg)
{
    struct o_vendors *ov = arg;

    if (ov->only == 0 || ov->only == v->id)
        o_vendor(ov->vendors, v->name, NULL);
    return 0;
}

static void o_list(cJSON *doc, const char *key, cJSON *counts)
{
    cJSON *arr = cJSON_AddArrayToObject(doc, key), *c;

    cJSON_ArrayForEach(c, counts)
    {
        cJSON *o = cJSON_Duplicate(c, 1);

        cJSON_AddItemToArray(arr, o);
        cJSON_AddStringToObject(o, "id", c->string);
        cJSON_AddStringToObject(o, "title", "");
    }
}

/* The summary of one vendor (or all: 0) at now, machine by machine. The
 * changes are returned unsorted (the order of equal times was never
 * defined); the caller compares them as a set. */
static cJSON *fleet_scan(struct srv_store *s, int64_t vendor_id, int64_t now)
{
    static const char *const actions[][2] = {
        {"agent_stale", "stale"}, {"agent_revoked", "revoked"}, {"agent_readmitted", "readmitted"}};
    struct o_agents *av = calloc(1, sizeof(*av));
    cJSON *doc = cJSON_CreateObject(), *controls = cJSON_CreateObject(),
          *checks = cJSON_CreateObject(), *changes;
    struct o_vendors ov = {NULL, vendor_id};
    int64_t since = now - SRV_FLEET_WINDOW_S;

    ov.vendors = cJSON_AddArrayToObject(doc, "vendors");
    changes = cJSON_AddArrayToObject(doc, "changes");
    assert_int_equal(srv_store_vendors_list(s, o_vendor_row, &ov), 0);
    assert_int_equal(srv_store_agents_list(s, vendor_id, NULL, now, o_collect_agent, av), 0);
    for (size_t i = 0; i < av->n; i++) {
        const struct o_agent *a = &av->v[i];
        struct o_reports *rv = calloc(1, sizeof(*rv));
        struct o_boot bc = {changes, a, since};
        const cJSON *cv, *c;

        o_vendor(ov.vendors, a->vendor, a->status);
        assert_int_equal(srv_store_reports_list(s, a->id, SCAN_REPORTS, o_collect_report, rv), 0);
        if (rv->n > 0 && strcmp(a->status, "revoked") != 0) {
            cJSON_ArrayForEach(cv, cJSON_GetObjectItemCaseSensitive(rv->v[0].verdict, "controls"))
            {
                if (cJSON_IsString(cv))
                    o_count(controls, cv->string, cv->valuestring);
            }
            cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(rv->v[0].verdict, "checks"))
            {
                const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "id");
                const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, "verdict");

                if (cJSON_IsString(id) && cJSON_IsString(v))
                    o_count(checks, id->valuestring, v->valuestring);
            }
        }
        for (size_t k = 0; k < rv->n && rv->v[k].at >= since; k++) {
            if (k + 1 == rv->n && rv->n == SCAN_REPORTS)
                break;
            o_report_changes(changes, a, &rv->v[k], k + 1 < rv->n ? &rv->v[k + 1] : NULL);
        }
        assert_int_equal(srv_store_boot_changes_list(s, a->id, SCAN_REPORTS, o_boot_change, &bc),
                         0);
        for (size_t k = 0; k < rv->n; k++)
            cJSON_Delete(rv->v[k].verdict);
        free(rv);
    }
    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
        struct o_audit ac = {changes, av, since, actions[i][1]};

        assert_int_equal(srv_store_audit_list(s, actions[i][0], CHANGES_MAX, o_audit_entry, &ac),
                         0);
    }
    o_list(doc, "controls", controls);
    o_list(doc, "checks", checks);
    cJSON_AddBoolToObject(doc, "changes_truncated", cJSON_GetArraySize(changes) > CHANGES_MAX);
    cJSON_Delete(controls);
    cJSON_Delete(checks);
    free(av);
    return doc;
}

/* ---- comparison ---- */

static int by_text(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The changes of a summary as sorted texts, one per change. */
static char **change_texts(const cJSON *doc, int *n)
{
    const cJSON *c, *arr = cJSON_GetObjectItemCaseSensitive(doc, "changes");
    char **v;
    int i = 0;

    *n = cJSON_GetArraySize(arr);
    v = calloc((size_t)*n + 1, sizeof(*v));
    cJSON_ArrayForEach(c, arr)
    {
        v[i++] = cJSON_PrintUnformatted(c);
    }
    qsort(v, (size_t)*n, sizeof(*v), by_text);
    return v;
}

static void assert_same_member(const cJSON *a, const cJSON *b, const char *key)
{
    char *ta = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(a, key));
    char *tb = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(b, key));

    assert_non_null(ta);
    assert_non_null(tb);
    assert_string_equal(ta, tb);
    free(ta);
    free(tb);
}

/* The summary from the kept tables equals the oracle's for vendor_id;
 * returns how many changes it lists. */
static int assert_fleet_equal(struct fixture *f, int64_t vendor_id)
{
    cJSON *want = fleet_scan(f->s, vendor_id, f->now), *got = cJSON_CreateObject(), *prev;
    char **cw, **cg;
    int nw = 0, ng = 0;
    const cJSON *c;

    assert_int_equal(srv_fleet_doc(f->s, NULL, vendor_id, f->now, got), 0);
    assert_same_member(want, got, "vendors");
    assert_same_member(want, got, "controls");
    assert_same_member(want, got, "checks");
    assert_same_member(want, got, "changes_truncated");
    cw = change_texts(want, &nw);
    cg = change_texts(got, &ng);
    assert_int_equal(nw, ng);
    for (int i = 0; i < nw; i++) {
        assert_string_equal(cw[i], cg[i]);
        free(cw[i]);
        free(cg[i]);
    }
    free(cw);
    free(cg);
    /* newest first */
    prev = NULL;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(got, "changes"))
    {
        if (prev != NULL)
            assert_true(strcmp(cJSON_GetObjectItemCaseSensitive(prev, "at")->valuestring,
                               cJSON_GetObjectItemCaseSensitive(c, "at")->valuestring) >= 0);
        prev = DA_UNCONST(c);
    }
    cJSON_Delete(want);
    cJSON_Delete(got);
    return ng;
}

/* ---- the seeded fleet ---- */

static void agent(struct fixture *f, const char *id, const char *vendor, int64_t created)
{
    struct srv_agent a;
    unsigned char ak[4] = {1, 2, 3, 4};
    char host[64], ek[32];

    memset(&a, 0, sizeof(a));
    snprintf(a.id, sizeof(a.id), "%s", id);
    assert_int_equal(srv_store_vendor_ensure(f->s, vendor, &a.vendor_id), 0);
    snprintf(ek, sizeof(ek), "ek-%s", id);
    snprintf(a.ek_name, sizeof(a.ek_name), "%s", ek);
    snprintf(a.ak_name, sizeof(a.ak_name), "ak-%s", id);
    a.ak_public = ak;
    a.ak_public_len = sizeof(ak);
    snprintf(host, sizeof(host), "{\"hostname\":\"host-%s\"}", id);
    a.host_json = host;
    a.created_at = created;
    assert_int_equal(srv_store_agent_create(f->s, &a), 0);
}

/* Policy 1: controls 8.30, 8.31; checks c1..c3. Policy 2 (rotated): c2
 * gone, c4 new, control 8.32 new. verdicts: one letter per check, p pass,
 * f fail, u unknown, n not_applicable, e a verdict the summary ignores. */
static void verdict_of(char *out, size_t n, int policy, const char *v)
{
    static const char *const ids1[] = {"c1", "c2", "c3"}, *const ids2[] = {"c1", "c3", "c4"};
    const char *const *ids = policy == 1 ? ids1 : ids2;
    size_t len;
    bool all_pass = true;

    len = (size_t)snprintf(out, n, "{\"checks\":[");
    for (int i = 0; i < 3; i++) {
        const char *name = v[i] == 'p'   ? "pass"
                           : v[i] == 'f' ? "fail"
                           : v[i] == 'u' ? "unknown"
                           : v[i] == 'n' ? "not_applicable"
                                         : "error";

        all_pass = all_pass && v[i] == 'p';
        len += (size_t)snprintf(out + len, n - len,
                                "%s{\"id\":\"%s\",\"verdict\":\"%s\",\"why\":\"%d\"}",
                                i > 0 ? "," : "", ids[i], name, i);
    }
    len += (size_t)snprintf(
        out + len, n - len, "],\"compliant\":%s,\"controls\":{\"8.30\":\"%s\",\"8.31\":\"%s\"%s}}",
        all_pass ? "true" : "false", v[0] == 'p' ? "pass" : "fail", all_pass ? "pass" : "fail",
        policy == 2 ? ",\"8.32\":\"not_applicable\"" : "");
    assert_true(len < n);
}

static void report(struct fixture *f, const char *agent_id, const char *id, int64_t ago, int policy,
                   const char *v, const char *boot_what)
{
    struct srv_report r;
    struct srv_boot_change bc;
    char verdict[1024];
    cJSON *tree = NULL;

    memset(&r, 0, sizeof(r));
    verdict_of(verdict, sizeof(verdict), policy, v);
    /* every other report hands the store the verdict's tree too, as the
     * server does; the summary must not tell them apart */
    if (f->nonce % 2 == 0) {
        tree = cJSON_Parse(verdict);
        assert_non_null(tree);
        r.verdict_tree = tree;
    }
    snprintf(r.id, sizeof(r.id), "%s", id);
    snprintf(r.agent_id, sizeof(r.agent_id), "%s", agent_id);
    f->nonce++;
    memcpy(r.nonce_hash, &f->nonce, sizeof(f->nonce));
    r.nonce_expires_at = f->now + 3600;
    snprintf(r.evidence_sha256, sizeof(r.evidence_sha256), "%064d", f->nonce);
    r.evidence_json = (char *)DA_UNCONST("{\"schema\":\"x\"}");
    r.verdict_json = verdict;
    r.transcript_json = (char *)DA_UNCONST("{}");
    r.receipt_json = (char *)DA_UNCONST("{\"payload\":\"\"}");
    r.compliant = strcmp(v, "ppp") == 0;
    r.received_at = f->now - ago;
    r.reset_count = 1;
    r.clock = (uint64_t)(100000000 - ago) * 1000;
    if (boot_what != NULL) {
        memset(&bc, 0, sizeof(bc));
        bc.what = boot_what;
        bc.reference_json = "{}";
        bc.now_json = "{}";
        bc.at = r.received_at;
        snprintf(bc.report_id, sizeof(bc.report_id), "%s", id);
        r.boot_changes = &bc;
        r.n_boot_changes = 1;
    }
    assert_int_equal(srv_store_report_put(f->s, &r), 0);
    cJSON_Delete(tree);
}

static void seed(struct fixture *f)
{
    int64_t now = f->now;
    int changed = 0;

    /* a vendor with no machine */
    assert_int_equal(srv_store_vendor_ensure(f->s, "initech", &(int64_t){0}), 0);
    /* acme: compliant, then failing under the rotated policy; its first
     * report before the window */
    agent(f, "a01", "acme", now - 200000);
    report(f, "a01", "r01a", 100000, 1, "ppp", NULL);
    report(f, "a01", "r01b", 3000, 1, "ppp", NULL);
    report(f, "a01", "r01c", 2000, 2, "pfp", NULL);
    /* acme: one report within the window but older than stale_after */
    agent(f, "a02", "acme", now - 90000);
    report(f, "a02", "r02a", 80000, 1, "ppp", NULL);
    /* acme: a boot change, verdicts moving between unknown and n/a */
    agent(f, "a03", "acme", now - 5000);
    report(f, "a03", "r03a", 1500, 1, "pun", NULL);
    report(f, "a03", "r03b", 1400, 1, "pnu", "bootloader");
    /* acme: pending, just enrolled; and pending for longer than stale_after */
    agent(f, "a04", "acme", now - 100);
    agent(f, "a05", "acme", now - 10000);
    /* globex: policy rotated between two reports */
    agent(f, "a06", "globex", now - 7000);
    report(f, "a06", "r06a", 1300, 1, "ppp", NULL);
    report(f, "a06", "r06b", 1200, 2, "ppf", NULL);
    /* globex: revoked after two reports; its history stays in the changes */
    agent(f, "a07", "globex", now - 7000);
    report(f, "a07", "r07a", 1100, 1, "fpp", NULL);
    report(f, "a07", "r07b", 1000, 1, "ppp", NULL);
    assert_int_equal(srv_store_agent_set_revoked(f->s, "a07", true), 0);
    assert_int_equal(srv_store_audit(f->s, "admin", "agent_revoked", "a07", "", "lost"), 0);
    /* globex: revoked and re-admitted */
    agent(f, "a08", "globex", now - 7000);
    report(f, "a08", "r08a", 900, 1, "epp", NULL);
    assert_int_equal(srv_store_agent_set_revoked(f->s, "a08", true), 0);
    assert_int_equal(srv_store_audit(f->s, "admin", "agent_revoked", "a08", "", "lost"), 0);
    assert_int_equal(srv_store_agent_set_revoked(f->s, "a08", false), 0);
    assert_int_equal(srv_store_audit(f->s, "admin", "agent_readmitted", "a08", "", "found"), 0);
    report(f, "a08", "r08b", 800, 2, "ppp", NULL);
    /* acme: the same enrollment time as a01's neighbours, ids decide */
    agent(f, "a10", "acme", now - 7000);
    report(f, "a10", "r10a", 700, 2, "fff", NULL);
    agent(f, "a09", "acme", now - 7000);
    report(f, "a09", "r09a", 600, 1, "ppp", NULL);
    /* the staleness sweep: status events for a02 and a05, counts folded */
    assert_int_equal(srv_store_sweep_stale(f->s, now, &changed), 0);
    assert_int_equal(changed, 2);
    /* after the sweep: a report that is no longer stale */
    report(f, "a02", "r02b", 500, 1, "pfp", NULL);
    /* globex: silent since before the window, its reports stored as before
     * schema 10 and after; and one whose reports share a verdict across the
     * two formats */
    agent(f, "a11", "globex", now - 200000);
    srv_store_write_format(f->s, 0);
    report(f, "a11", "r11a", 160000, 1, "fpp", NULL);
    srv_store_write_format(f->s, 1);
    report(f, "a11", "r11b", 150000, 1, "fpf", NULL);
    agent(f, "a12", "globex", now - 7000);
    srv_store_write_format(f->s, 0);
    report(f, "a12", "r12a", 400, 1, "pfp", NULL);
    srv_store_write_format(f->s, 1);
    report(f, "a12", "r12b", 300, 1, "pfp", NULL);
    report(f, "a12", "r12c", 200, 1, "ppp", NULL);
}

static int64_t vendor_id_of(struct fixture *f, const char *name)
{
    struct srv_vendor v;

    assert_int_equal(srv_store_vendor_find(f->s, name, &v), 0);
    return v.id;
}

static void assert_every_view(struct fixture *f)
{
    assert_true(assert_fleet_equal(f, 0) > 10);
    assert_true(assert_fleet_equal(f, vendor_id_of(f, "acme")) > 5);
    assert_true(assert_fleet_equal(f, vendor_id_of(f, "globex")) > 5);
    assert_int_equal(assert_fleet_equal(f, vendor_id_of(f, "initech")), 0);
}

static void test_fleet_equals_scan(void **state)
{
    struct fixture *f = *state;
    int changed = 0;

    seed(f);
    assert_every_view(f);
    /* folding the count deltas changes nothing */
    assert_int_equal(srv_store_sweep_stale(f->s, f->now, &changed), 0);
    assert_every_view(f);
    /* an hour later: more machines stale, the same reports */
    f->now += 3000;
    assert_every_view(f);
}

/* The shape taken from a verdict's tree is, byte for byte, the shape taken
 * from the text printed from that tree (the way it was taken before the
 * tree was handed over): escapes, non-ASCII, controls that are not strings,
 * checks without an id or with a verdict that is not a string. */
static void test_shape_of_tree(void **state)
{
    static const char *const verdicts[] = {
        "{\"checks\":[{\"id\":\"a\",\"verdict\":\"pass\"},{\"id\":\"b\\\"q\\\\\\n\","
        "\"verdict\":\"fail\"}],\"controls\":{\"8.30\":\"pass\",\"8.31\":\"fail\"}}",
        "{\"controls\":{\"\\u00e9\\u20ac\":\"caf\\u00e9 \\ud83d\\ude00\",\"n\":1,\"o\":{},"
        "\"t\\u0001\":\"\\u001f\"},\"checks\":[{\"verdict\":\"pass\"},{\"id\":\"x\"},"
        "{\"id\":\"y\",\"verdict\":null},{\"id\":\"z\",\"verdict\":3},\"s\",[]]}",
        "{\"compliant\":true}",
        "[]",
        "{\"checks\":{},\"controls\":[\"pass\"]}",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(verdicts) / sizeof(verdicts[0]); i++) {
        cJSON *tree = cJSON_Parse(verdicts[i]);
        char *text, *from_text = NULL, *from_tree = NULL, d1[65], d2[65];

        assert_non_null(tree);
        text = cJSON_PrintUnformatted(tree);
        assert_non_null(text);
        assert_int_equal(srv_fleet_shape(text, &from_text, d1), 0);
        assert_int_equal(srv_fleet_shape_tree(tree, &from_tree, d2), 0);
        assert_string_equal(from_tree, from_text);
        assert_string_equal(d2, d1);
        free(text);
        free(from_text);
        free(from_tree);
        cJSON_Delete(tree);
    }
}

/* Agent counts (for /metrics) equal the status of each agent on read. */
struct tally {
    char key[64][160];
    int64_t n[64];
    int k;
};

static void tally_add(struct tally *t, const char *vendor, const char *status, int64_t n)
{
    char key[160];

    snprintf(key, sizeof(key), "%s/%s", vendor, status);
    for (int i = 0; i < t->k; i++) {
        if (strcmp(t->key[i], key) == 0) {
            t->n[i] += n;
            return;
        }
    }
    assert_true(t->k < 64);
    snprintf(t->key[t->k], sizeof(t->key[t->k]), "%s", key);
    t->n[t->k++] = n;
}

static int tally_agent(const struct srv_agent *a, void *arg)
{
    tally_add(arg, a->vendor, a->status, 1);
    return 0;
}

static int tally_count(const char *vendor, const char *status, int64_t n, void *arg)
{
    tally_add(arg, vendor, status, n);
    return 0;
}

static void test_agent_counts(void **state)
{
    struct fixture *f = *state;
    struct tally *want = calloc(1, sizeof(*want)), *got = calloc(1, sizeof(*got));

    seed(f);
    assert_int_equal(srv_store_agents_list(f->s, 0, NULL, f->now, tally_agent, want), 0);
    assert_int_equal(srv_store_agent_counts(f->s, f->now, tally_count, got), 0);
    assert_int_equal(want->k, got->k);
    assert_true(want->k >= 5);
    for (int i = 0; i < want->k; i++) {
        bool found = false;

        for (int j = 0; j < got->k; j++) {
            if (strcmp(want->key[i], got->key[j]) == 0) {
                assert_int_equal(want->n[i], got->n[j]);
                found = true;
            }
        }
        assert_true(found);
    }
    free(want);
    free(got);
}

static void exec_any(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    char *msg = NULL;

    if (da_test_store_is_pg()) {
        assert_int_equal(da_test_pg_exec(path, sql, NULL, 0), 0);
        return;
    }
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(db);
}

/* A database of schema 11 with those reports (the tables of 12 dropped):
 * the migration and the fill give the same summary. */
static void test_upgrade_from_11(void **state)
{
    struct fixture *f = *state;
    int version = 0;

    seed(f);
    srv_store_close(f->s);
    f->s = NULL;
    exec_any(f->path, "BEGIN; DROP TABLE fleet_current; DROP TABLE fleet_shapes;"
                      " DROP TABLE fleet_counts; DROP TABLE fleet_changes;"
                      " DROP INDEX audit_action_id; DROP INDEX boot_changes_at;"
                      " DELETE FROM schema_version WHERE version = 12; COMMIT;");
    assert_int_equal(srv_store_open(f->path, 8, STALE_AFTER, &f->s), 0);
    assert_int_equal(srv_store_schema_version(f->s, &version), 0);
    assert_int_equal(version, 13);
    assert_every_view(f);
    /* reports after the upgrade continue from the filled rows */
    report(f, "a01", "r01d", 100, 1, "ppp", NULL);
    report(f, "a06", "r06c", 90, 1, "ppp", NULL);
    assert_every_view(f);
    /* a second open finds nothing left to fill */
    srv_store_close(f->s);
    f->s = NULL;
    assert_int_equal(srv_store_open(f->path, 8, STALE_AFTER, &f->s), 0);
    assert_every_view(f);
}

/* The rows of sql as text (both engines), into out. */
static int sqlite_row(void *arg, int n, char **v, char **names)
{
    char *out = arg;
    size_t len = strlen(out);

    (void)names;
    for (int i = 0; i < n; i++) {
        snprintf(out + len, 8192 - len, "%s|", v[i] != NULL ? v[i] : "NULL");
        len = strlen(out);
    }
    return 0;
}

static void rows_any(const char *path, const char *sql, char out[8192])
{
    sqlite3 *db = NULL;
    char *msg = NULL;

    out[0] = '\0';
    if (da_test_store_is_pg()) {
        assert_int_equal(da_test_pg_exec(path, sql, out, 8192), 0);
        return;
    }
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    if (sqlite3_exec(db, sql, sqlite_row, out, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(db);
}

/* The sweep folds the count deltas once; a second sweep over the same
 * counts writes no row (the rows keep their ids). */
static void test_fold_once(void **state)
{
    struct fixture *f = *state;
    static char before[8192], folded[8192], again[8192];
    const char *sql = "SELECT id, vendor_id, state, shape, n FROM fleet_counts ORDER BY id";
    int changed = 0;

    seed(f);
    rows_any(f->path, sql, before);
    assert_int_equal(srv_store_sweep_stale(f->s, f->now, &changed), 0);
    rows_any(f->path, sql, folded);
    assert_true(strlen(folded) > 0);
    /* seed's last report came after its sweep: its deltas are folded now */
    assert_string_not_equal(before, folded);
    assert_int_equal(srv_store_sweep_stale(f->s, f->now, &changed), 0);
    rows_any(f->path, sql, again);
    assert_string_equal(folded, again);
    assert_every_view(f);
}

struct status_events {
    int mine, others;
};

static int count_status(const struct srv_fleet_change *c, void *ctx)
{
    struct status_events *e = ctx;

    if (strcmp(c->kind, "status") == 0 && strcmp(c->subject, "agent_revoked") == 0) {
        if (strcmp(c->agent_id, "mine") == 0)
            e->mine++;
        else
            e->others++;
    }
    return 0;
}

/* One vendor's status event stays in its view however many newer events
 * of the same action other vendors' machines have: acme's machine is
 * revoked once, then a busy vendor's machine 600 times (more than the 500
 * newest read per action across all vendors). acme's view shows its one
 * event, the busy vendor's view its 500 newest, the view of all vendors
 * the 500 newest of all. */
static void test_vendor_status_events_not_crowded_out(void **state)
{
    struct fixture *f = *state;
    struct status_events e;
    int64_t since = f->now - 3600;

    agent(f, "mine", "acme", f->now - 7000);
    agent(f, "busy", "globex", f->now - 7000);
    assert_int_equal(srv_store_audit(f->s, "admin", "agent_revoked", "mine", "", "lost"), 0);
    for (int i = 0; i < 600; i++)
        assert_int_equal(srv_store_audit(f->s, "admin", "agent_revoked", "busy", "", "again"), 0);
    memset(&e, 0, sizeof(e));
    assert_int_equal(
        srv_store_fleet_changes(f->s, vendor_id_of(f, "acme"), since, 500, count_status, &e), 0);
    assert_int_equal(e.mine, 1);
    assert_int_equal(e.others, 0);
    memset(&e, 0, sizeof(e));
    assert_int_equal(
        srv_store_fleet_changes(f->s, vendor_id_of(f, "globex"), since, 500, count_status, &e), 0);
    assert_int_equal(e.mine, 0);
    assert_int_equal(e.others, 500);
    memset(&e, 0, sizeof(e));
    assert_int_equal(srv_store_fleet_changes(f->s, 0, since, 500, count_status, &e), 0);
    assert_int_equal(e.mine + e.others, 500);
    assert_int_equal(e.mine, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fleet_equals_scan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_agent_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_from_11, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fold_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vendor_status_events_not_crowded_out, setup, teardown),
        cmocka_unit_test(test_shape_of_tree),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
