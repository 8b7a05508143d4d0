/* The dashboard as the server delivers it: the static files (byte for byte
 * the sources in server/ui/, with their content types and security
 * headers), no way out of the file table by any spelling of a path, and the
 * two views the page needs, /v1/fleet and /v1/reports/{a}/diff/{b}, against
 * a fleet whose reports the server verified. Expected values come from what
 * the test itself posted. */
#include "da_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <curl/curl.h>

#include "fleet_seed.h"
#include "raw_tls.h"
#include "server_harness.h"
#include "store.h"

struct ctx {
    struct da_test_server srv;
    struct da_fleet_machine ok, bad, fresh;
    char vendor_token[80];
};

static char *read_source(const char *rel, size_t *len)
{
    char path[1024];
    FILE *f;
    char *buf;
    long n;

    snprintf(path, sizeof(path), "%s/%s", DA_SOURCE_ROOT, rel);
    f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static int setup(void **state)
{
    struct ctx *c = calloc(1, sizeof(*c));
    char cmd[1024];

    assert_non_null(c);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    assert_int_equal(da_test_server_setup(&c->srv, "rate_per_agent = 100000\n"
                                                   "burst_per_agent = 100000\n"),
                     0);
    snprintf(cmd, sizeof(cmd), "cp %s/tests/fixtures/server/policy-test.json %s/policy.json",
             DA_SOURCE_ROOT, c->srv.state);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(da_test_server_start(&c->srv), 0);
    c->ok = (struct da_fleet_machine){.vendor = "acme", .hostname = "build-ok"};
    c->bad = (struct da_fleet_machine){.vendor = "globex", .hostname = "build-bad"};
    c->fresh = (struct da_fleet_machine){.vendor = "acme", .hostname = "build-new"};
    assert_int_equal(da_fleet_add(&c->srv, &c->ok, 1), 0);
    assert_int_equal(da_fleet_add(&c->srv, &c->bad, 2), 0);
    assert_int_equal(da_fleet_add(&c->srv, &c->fresh, 3), 0);
    assert_int_equal(da_fleet_report(&c->srv, &c->ok, 1), 0);
    assert_int_equal(da_fleet_report(&c->srv, &c->ok, 1), 0);
    assert_int_equal(da_fleet_report(&c->srv, &c->bad, 1), 0);
    assert_int_equal(da_fleet_report(&c->srv, &c->bad, 0), 0);
    assert_int_equal(da_fleet_report(&c->srv, &c->bad, 0), 0);
    assert_int_equal(da_test_server_cli(&c->srv, c->vendor_token, sizeof(c->vendor_token), "token",
                                        "create", "--role", "vendor", "--vendor", "acme", NULL),
                     0);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct ctx *c = *state;

    assert_int_equal(da_test_server_stop(&c->srv), 0);
    da_test_server_cleanup(&c->srv);
    da_fleet_free(&c->ok);
    da_fleet_free(&c->bad);
    da_fleet_free(&c->fresh);
    free(c);
    curl_global_cleanup();
    return 0;
}

/* Raw answer (head and body) of one request sent byte for byte. */
static char *raw_get(struct ctx *c, const char *target)
{
    struct da_raw_tls t;
    char req[512], *out = NULL;
    bool closed = false;

    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
             target);
    assert_int_equal(da_raw_tls_connect(&t, NULL, c->srv.port, c->srv.ca, 5000), 0);
    assert_int_equal(da_raw_tls_send(&t, req, strlen(req)), 0);
    assert_true(da_raw_tls_read_all(&t, &out, 5000, &closed) > 0);
    da_raw_tls_close(&t);
    return out;
}

static bool has_header(const char *raw, const char *line)
{
    const char *end = strstr(raw, "\r\n\r\n");
    const char *p = strstr(raw, line);

    return p != NULL && end != NULL && p < end;
}

static void check_file(struct ctx *c, const char *path, const char *src, const char *ctype)
{
    struct da_test_http r;
    size_t len;
    char *want = read_source(src, &len), *raw;

    assert_int_equal(da_test_http(&c->srv, "GET", path, NULL, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, ctype);
    assert_int_equal(r.len, len);
    assert_memory_equal(r.body, want, len);
    da_test_http_clear(&r);
    free(want);
    raw = raw_get(c, path);
    assert_true(has_header(raw, "X-Content-Type-Options: nosniff\r\n"));
    assert_true(has_header(raw, "X-Frame-Options: DENY\r\n"));
    assert_true(has_header(raw, "Referrer-Policy: no-referrer\r\n"));
    assert_true(has_header(raw, "Content-Security-Policy: "));
    assert_true(has_header(raw, "frame-ancestors 'none'"));
    if (strncmp(ctype, "text/html", 9) == 0) {
        /* the page: its own script and style only, no inline code */
        assert_true(has_header(raw, "script-src 'self';"));
        assert_true(has_header(raw, "style-src 'self';"));
        assert_false(has_header(raw, "unsafe-inline"));
        assert_false(has_header(raw, "unsafe-eval"));
    }
    free(raw);
}

static void test_static_files(void **state)
{
    struct ctx *c = *state;
    size_t len;
    char *html = read_source("server/ui/index.html", &len);

    check_file(c, "/", "server/ui/index.html", "text/html; charset=utf-8");
    check_file(c, "/ui/index.html", "server/ui/index.html", "text/html; charset=utf-8");
    check_file(c, "/ui/app.js", "server/ui/app.js", "text/javascript; charset=utf-8");
    check_file(c, "/ui/app.css", "server/ui/app.css", "text/css; charset=utf-8");
    check_file(c, "/ui/icon.svg", "server/ui/icon.svg", "image/svg+xml");
    /* no inline script or style in the page the CSP would have to allow */
    assert_null(strstr(html, "<script>"));
    assert_null(strstr(html, "style="));
    assert_null(strstr(html, "<style"));
    for (const char *p = strstr(html, " on"); p != NULL; p = strstr(p + 1, " on")) {
        size_t n = strspn(p + 3, "abcdefghijklmnopqrstuvwxyz");

        if (n > 0 && p[3 + n] == '=')
            fail_msg("inline event handler in index.html: %.20s", p);
    }
    free(html);
}

static void test_no_path_escapes(void **state)
{
    struct ctx *c = *state;
    /* every spelling of "elsewhere": dot segments plain and encoded, encoded
     * slashes, back slashes, absolute paths, case, NUL, trailing junk */
    static const char *const targets[] = {
        "/ui/../v1/vendors",
        "/ui/../../../../etc/passwd",
        "/ui/%2e%2e/%2e%2e/etc/passwd",
        "/ui/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
        "/ui/..%2fserver.conf",
        "/ui/..%5c..%5cetc%5cpasswd",
        "/ui/....//....//etc/passwd",
        "/ui/.%2e/state/ca.key",
        "/ui//etc/passwd",
        "/ui/%2fetc%2fpasswd",
        "/ui/app.js/../../state/ca.key",
        "/ui/app.js%00.css",
        "/ui/APP.JS",
        "/ui/.app.js",
        "/ui/app.js.",
        "/ui/",
        "/ui",
        "/ui/index.html/",
        "/ui/server.conf",
        "/ui/ca.key",
        "/./ui/app.js",
        "//ui/app.js",
    };
    size_t i;

    for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
        char *raw = raw_get(c, targets[i]);

        if (strncmp(raw, "HTTP/1.1 404", 12) != 0 && strncmp(raw, "HTTP/1.1 400", 12) != 0)
            fail_msg("%s answered %.40s", targets[i], raw);
        assert_null(strstr(raw, "root:"));
        assert_null(strstr(raw, "PRIVATE KEY"));
        assert_null(strstr(raw, "database"));
        assert_null(strstr(raw, "\"vendors\""));
        free(raw);
    }
    /* the unescaped name of a real file is still that file, nothing more */
    {
        char *raw = raw_get(c, "/ui/app%2ejs");

        assert_int_equal(strncmp(raw, "HTTP/1.1 200", 12), 0);
        assert_true(has_header(raw, "Content-Type: text/javascript"));
        free(raw);
    }
}

static cJSON *get_json(struct ctx *c, const char *path, const char *token, long want)
{
    struct da_test_http r;
    cJSON *doc;

    assert_int_equal(da_test_http(&c->srv, "GET", path, token, NULL, NULL, 0, &r), 0);
    if (r.status != want)
        fail_msg("%s: %ld, want %ld: %s", path, r.status, want, r.body);
    doc = cJSON_Parse(r.body);
    assert_non_null(doc);
    da_test_http_clear(&r);
    return doc;
}

static const cJSON *by_key(const cJSON *arr, const char *key, const char *value)
{
    const cJSON *o;

    cJSON_ArrayForEach(o, arr)
    {
        const cJSON *v = cJSON_GetObjectItem(o, key);

        if (cJSON_IsString(v) && strcmp(v->valuestring, value) == 0)
            return o;
    }
    return NULL;
}

static int num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(o, key);

    assert_true(cJSON_IsNumber(v));
    return v->valueint;
}

static int count_changes(const cJSON *changes, const char *agent, const char *kind,
                         const char *subject, const char *from, const char *to)
{
    const cJSON *o;
    int n = 0;

    cJSON_ArrayForEach(o, changes)
    {
        const cJSON *f = cJSON_GetObjectItem(o, "from");

        if (strcmp(cJSON_GetObjectItem(o, "agent_id")->valuestring, agent) == 0 &&
            strcmp(cJSON_GetObjectItem(o, "kind")->valuestring, kind) == 0 &&
            strcmp(cJSON_GetObjectItem(o, "subject")->valuestring, subject) == 0 &&
            strcmp(cJSON_GetObjectItem(o, "to")->valuestring, to) == 0 &&
            (from == NULL ? cJSON_IsNull(f) : strcmp(f->valuestring, from) == 0))
            n++;
    }
    return n;
}

static void test_fleet(void **state)
{
    struct ctx *c = *state;
    const cJSON *v, *k;
    cJSON *doc;

    cJSON_Delete(get_json(c, "/v1/fleet", NULL, 401));
    cJSON_Delete(get_json(c, "/v1/fleet?page=2", c->srv.auditor, 400));
    cJSON_Delete(get_json(c, "/v1/fleet?vendor=nobody", c->srv.auditor, 404));

    doc = get_json(c, "/v1/fleet", c->srv.auditor, 200);
    v = by_key(cJSON_GetObjectItem(doc, "vendors"), "name", "acme");
    assert_non_null(v);
    assert_int_equal(num(v, "machines"), 2);
    assert_int_equal(num(v, "compliant"), 1);
    assert_int_equal(num(v, "pending"), 1);
    assert_int_equal(num(v, "non_compliant") + num(v, "stale") + num(v, "revoked"), 0);
    v = by_key(cJSON_GetObjectItem(doc, "vendors"), "name", "globex");
    assert_non_null(v);
    assert_int_equal(num(v, "machines"), 1);
    assert_int_equal(num(v, "non_compliant"), 1);
    /* newest reports: both machines TPM-quoted (8.30), one disk unencrypted (8.31) */
    k = by_key(cJSON_GetObjectItem(doc, "controls"), "id", "8.30");
    assert_non_null(k);
    assert_int_equal(num(k, "pass"), 2);
    assert_int_equal(num(k, "fail"), 0);
    assert_string_equal(cJSON_GetObjectItem(k, "title")->valuestring, "Outsourced development");
    k = by_key(cJSON_GetObjectItem(doc, "controls"), "id", "8.31");
    assert_int_equal(num(k, "pass"), 1);
    assert_int_equal(num(k, "fail"), 1);
    k = by_key(cJSON_GetObjectItem(doc, "checks"), "id", "disk.encrypted");
    assert_non_null(k);
    assert_int_equal(num(k, "pass"), 1);
    assert_int_equal(num(k, "fail"), 1);
    /* the last 24 h: first reports, globex's compliant -> non_compliant and
     * its disk check pass -> fail, once (the third report changed nothing) */
    v = cJSON_GetObjectItem(doc, "changes");
    assert_int_equal(
        count_changes(v, c->ok.agent_id, "compliance", "first report", NULL, "compliant"), 1);
    assert_int_equal(
        count_changes(v, c->bad.agent_id, "compliance", "first report", NULL, "compliant"), 1);
    assert_int_equal(
        count_changes(v, c->bad.agent_id, "compliance", "compliance", "compliant", "non_compliant"),
        1);
    assert_int_equal(count_changes(v, c->bad.agent_id, "check", "disk.encrypted", "pass", "fail"),
                     1);
    assert_int_equal(count_changes(v, c->ok.agent_id, "check", "disk.encrypted", "pass", "fail"),
                     0);
    assert_string_equal(
        cJSON_GetObjectItem(by_key(v, "agent_id", c->bad.agent_id), "hostname")->valuestring,
        "build-bad");
    /* two first reports, then globex's two changes; nothing else moved */
    assert_int_equal(cJSON_GetArraySize(v), 4);
    cJSON_Delete(doc);

    doc = get_json(c, "/v1/fleet?vendor=globex", c->srv.auditor, 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "vendors")), 1);
    assert_null(by_key(cJSON_GetObjectItem(doc, "changes"), "vendor", "acme"));
    cJSON_Delete(doc);

    /* a vendor's token: its own machines only */
    doc = get_json(c, "/v1/fleet", c->vendor_token, 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "vendors")), 1);
    assert_non_null(by_key(cJSON_GetObjectItem(doc, "vendors"), "name", "acme"));
    assert_null(by_key(cJSON_GetObjectItem(doc, "changes"), "vendor", "globex"));
    cJSON_Delete(doc);
    cJSON_Delete(get_json(c, "/v1/fleet?vendor=globex", c->vendor_token, 404));

    /* a revocation moves the machine and is a change of the last 24 h */
    {
        struct da_test_http r;
        char path[128];
        const char *body = "{\"reason\":\"dashboard test\"}";

        snprintf(path, sizeof(path), "/v1/agents/%s/revoke", c->fresh.agent_id);
        assert_int_equal(da_test_http(&c->srv, "POST", path, c->srv.admin, "application/json", body,
                                      strlen(body), &r),
                         0);
        assert_int_equal(r.status, 200);
        da_test_http_clear(&r);
    }
    doc = get_json(c, "/v1/fleet", c->srv.auditor, 200);
    v = by_key(cJSON_GetObjectItem(doc, "vendors"), "name", "acme");
    assert_int_equal(num(v, "revoked"), 1);
    assert_int_equal(num(v, "pending"), 0);
    assert_int_equal(num(v, "compliant"), 1);
    v = cJSON_GetObjectItem(doc, "changes");
    assert_int_equal(
        count_changes(v, c->fresh.agent_id, "status", "agent_revoked", NULL, "revoked"), 1);
    assert_int_equal(cJSON_GetArraySize(v), 5);
    cJSON_Delete(doc);
    /* the vendor that owns it sees it, the other does not */
    doc = get_json(c, "/v1/fleet", c->vendor_token, 200);
    assert_int_equal(count_changes(cJSON_GetObjectItem(doc, "changes"), c->fresh.agent_id, "status",
                                   "agent_revoked", NULL, "revoked"),
                     1);
    cJSON_Delete(doc);
}

static const cJSON *field(const cJSON *fields, const char *pointer)
{
    return by_key(fields, "pointer", pointer);
}

static void test_diff(void **state)
{
    struct ctx *c = *state;
    char path[256];
    const cJSON *f, *fields;
    cJSON *doc;

    /* the posted evidence differed in exactly three fields */
    snprintf(path, sizeof(path), "/v1/reports/%s/diff/%s", c->bad.report_ids[0],
             c->bad.report_ids[2]);
    doc = get_json(c, path, c->srv.auditor, 200);
    fields = cJSON_GetObjectItem(doc, "fields");
    assert_int_equal(cJSON_GetArraySize(fields), 3);
    assert_int_equal(num(doc, "fields_changed"), 3);
    f = field(fields, "/disk/volumes/0/encrypted");
    assert_non_null(f);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(f, "from")));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(f, "to")));
    assert_string_equal(cJSON_GetObjectItem(f, "change")->valuestring, "changed");
    assert_string_equal(cJSON_GetObjectItem(f, "provenance")->valuestring, "reported");
    f = field(fields, "/disk/volumes/0/scheme");
    assert_string_equal(cJSON_GetObjectItem(f, "from")->valuestring, "luks2");
    assert_string_equal(cJSON_GetObjectItem(f, "to")->valuestring, "none");
    f = field(fields, "/host/uptime_s");
    assert_int_equal(cJSON_GetObjectItem(f, "from")->valueint, 0);
    assert_int_equal(cJSON_GetObjectItem(f, "to")->valueint, 2);
    f = cJSON_GetObjectItem(doc, "checks");
    assert_int_equal(cJSON_GetArraySize(f), 1);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(f, 0), "id")->valuestring,
                        "disk.encrypted");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(f, 0), "from")->valuestring, "pass");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(f, 0), "to")->valuestring, "fail");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "from"), "compliant")));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "to"), "compliant")));
    cJSON_Delete(doc);

    /* a report against itself: nothing */
    snprintf(path, sizeof(path), "/v1/reports/%s/diff/%s", c->ok.report_ids[0],
             c->ok.report_ids[0]);
    doc = get_json(c, path, c->srv.auditor, 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "fields")), 0);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "checks")), 0);
    cJSON_Delete(doc);

    /* unknown report; another vendor's report is unknown to a vendor token */
    snprintf(path, sizeof(path), "/v1/reports/%s/diff/00112233445566778899aabbccddeeff",
             c->ok.report_ids[0]);
    cJSON_Delete(get_json(c, path, c->srv.auditor, 404));
    snprintf(path, sizeof(path), "/v1/reports/%s/diff/%s", c->ok.report_ids[0],
             c->bad.report_ids[0]);
    cJSON_Delete(get_json(c, path, c->vendor_token, 404));
    cJSON_Delete(get_json(c, path, NULL, 401));
}

/* ---- CSV export of the machine list ---- */

#define HOSTILE_VENDOR "=cmd|' /C calc'!A0,\"globex\"\nnext"
#define HOSTILE_HOST   "=HYPERLINK(\"http://x.example\",\"open\"),\"a\"\nb\r\nc"
#define HOSTILE_ISSUER "@CN=Maker EK CA,O=Maker\\, Inc."

static void save(const char *dir, const char *name, const char *body, size_t len)
{
    char path[1024];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(body, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void fetch_to(struct ctx *c, const char *path, const char *token, const char *dir,
                     const char *name)
{
    struct da_test_http r;

    assert_int_equal(da_test_http(&c->srv, "GET", path, token, NULL, NULL, 0, &r), 0);
    if (r.status != 200)
        fail_msg("%s: %ld %s", path, r.status, r.body);
    save(dir, name, r.body, r.len);
    da_test_http_clear(&r);
}

/* Export with query q (starting with '&', or "") as token sees it, save it
 * beside the JSON of the same machines, and have Python's csv module
 * compare the two (tests/integration/check-agents-csv). Returns the rows. */
static int export_matches_json(struct ctx *c, const char *tag, const char *q, const char *token)
{
    char dir[512], path[1024], name[128], cmd[2048];
    struct da_test_http r;
    const cJSON *a;
    cJSON *doc;
    int n;

    snprintf(dir, sizeof(dir), "%s/csv-%s", c->srv.dir, tag);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(path, sizeof(path), "%s/reports", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "/v1/agents.csv%s%s", q[0] != '\0' ? "?" : "",
             q[0] != '\0' ? q + 1 : "");
    assert_int_equal(da_test_http(&c->srv, "GET", path, token, NULL, NULL, 0, &r), 0);
    if (r.status != 200)
        fail_msg("%s: %ld %s", path, r.status, r.body);
    assert_string_equal(r.content_type, "text/csv; charset=utf-8");
    save(dir, "export.csv", r.body, r.len);
    da_test_http_clear(&r);
    snprintf(path, sizeof(path), "/v1/agents?limit=1000%s", q);
    fetch_to(c, path, token, dir, "agents.json");
    fetch_to(c, "/v1/policy", NULL, dir, "policy.json");
    doc = get_json(c, path, token, 200);
    n = cJSON_GetArraySize(cJSON_GetObjectItem(doc, "agents"));
    cJSON_ArrayForEach(a, cJSON_GetObjectItem(doc, "agents"))
    {
        const char *id = cJSON_GetObjectItem(a, "id")->valuestring;

        snprintf(path, sizeof(path), "/v1/agents/%s/reports?limit=1", id);
        snprintf(name, sizeof(name), "reports/%s.json", id);
        fetch_to(c, path, token, dir, name);
    }
    cJSON_Delete(doc);
    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s/tests/integration/check-agents-csv %s",
             DA_SOURCE_ROOT, dir);
    assert_int_equal(system(cmd), 0);
    return n;
}

static void test_agents_csv(void **state)
{
    struct ctx *c = *state;
    struct da_fleet_machine evil = {
        .vendor = HOSTILE_VENDOR, .hostname = HOSTILE_HOST, .ek_issuer = HOSTILE_ISSUER};
    char req[1024], q[512], *raw, *enc;
    struct da_test_http r;
    struct da_raw_tls t;
    bool closed = false;
    CURL *curl = curl_easy_init();
    struct da_fleet_machine soft = {
        .vendor = "acme", .hostname = "build-soft", .ek_trust = SRV_EK_TRUST_SOFTWARE};

    assert_int_equal(da_fleet_add(&c->srv, &evil, 9), 0);
    assert_int_equal(da_fleet_report(&c->srv, &evil, 0), 0);
    /* a software identity (no TPM, stored as software enrollment stores
     * one): its row says so */
    assert_int_equal(da_fleet_add(&c->srv, &soft, 10), 0);

    /* every machine; one status; the hostile vendor by name; a vendor token */
    assert_int_equal(export_matches_json(c, "all", "", c->srv.auditor), 5);
    assert_int_equal(export_matches_json(c, "failing", "&status=non_compliant", c->srv.auditor), 2);
    /* (a vendor name with a line break cannot be asked for: the server
     * refuses control characters in a request target) */
    enc = curl_easy_escape(curl, "globex", 0);
    snprintf(q, sizeof(q), "&vendor=%s", enc);
    curl_free(enc);
    assert_int_equal(export_matches_json(c, "globex", q, c->srv.admin), 1);
    assert_int_equal(export_matches_json(c, "vendor", "", c->vendor_token), 3);
    /* build-new was revoked by test_fleet: the software machine only */
    assert_int_equal(export_matches_json(c, "pending", "&status=pending", c->srv.auditor), 1);
    assert_int_equal(export_matches_json(c, "none", "&vendor=nobody", c->srv.auditor), 0);

    /* the hostile fields as bytes: quoted, quotes doubled, formula defused */
    assert_int_equal(da_test_http(&c->srv, "GET", "/v1/agents.csv?status=non_compliant",
                                  c->srv.auditor, NULL, NULL, 0, &r),
                     0);
    assert_non_null(strstr(r.body, ",\"'=cmd|' /C calc'!A0,\"\"globex\"\"\nnext\","));
    assert_non_null(strstr(r.body, ",\"'=HYPERLINK(\"\"http://x.example\"\",\"\"open\"\"),"
                                   "\"\"a\"\"\nb\r\nc\","));
    assert_non_null(strstr(r.body, ",\"'@CN=Maker EK CA,O=Maker\\, Inc.\"\r\n"));
    da_test_http_clear(&r);

    /* an attachment, with the usual headers */
    snprintf(req, sizeof(req),
             "GET /v1/agents.csv HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
             "Connection: close\r\n\r\n",
             c->srv.auditor);
    assert_int_equal(da_raw_tls_connect(&t, NULL, c->srv.port, c->srv.ca, 5000), 0);
    assert_int_equal(da_raw_tls_send(&t, req, strlen(req)), 0);
    assert_true(da_raw_tls_read_all(&t, &raw, 5000, &closed) > 0);
    da_raw_tls_close(&t);
    assert_true(has_header(raw, "HTTP/1.1 200"));
    assert_true(has_header(raw, "Content-Type: text/csv; charset=utf-8\r\n"));
    assert_true(has_header(
        raw, "Content-Disposition: attachment; filename=\"devattest-machines.csv\"\r\n"));
    assert_true(has_header(raw, "X-Content-Type-Options: nosniff\r\n"));
    assert_true(has_header(raw, "Cache-Control: no-store\r\n"));
    free(raw);

    /* the list's strict parameters: no paging here, known statuses only */
    assert_int_equal(
        da_test_http(&c->srv, "GET", "/v1/agents.csv?limit=5", c->srv.auditor, NULL, NULL, 0, &r),
        0);
    assert_int_equal(r.status, 400);
    assert_string_equal(da_test_error_code(&r), "bad_query_parameter");
    da_test_http_clear(&r);
    assert_int_equal(da_test_http(&c->srv, "GET", "/v1/agents.csv?status=bogus", c->srv.auditor,
                                  NULL, NULL, 0, &r),
                     0);
    assert_int_equal(r.status, 400);
    assert_string_equal(da_test_error_code(&r), "invalid_argument");
    da_test_http_clear(&r);
    assert_int_equal(da_test_http(&c->srv, "GET", "/v1/agents.csv", NULL, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 401);
    da_test_http_clear(&r);
    curl_easy_cleanup(curl);
    da_fleet_free(&evil);
    da_fleet_free(&soft);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_static_files), cmocka_unit_test(test_no_path_escapes),
        cmocka_unit_test(test_fleet),        cmocka_unit_test(test_diff),
        cmocka_unit_test(test_agents_csv),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
