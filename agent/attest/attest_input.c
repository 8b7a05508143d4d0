#include "attest_input.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>

#include "buf.h"
#include "caps.h"
#include "encoding.h"
#include "err.h"
#include "json.h"
#include "picky.h"

int agent_attest_kind_of(const char *t)
{
    if (t == NULL)
        return -1;
    if (strcmp(t, AGENT_PT_SPDX) == 0 || strcmp(t, AGENT_PT_CYCLONEDX) == 0)
        return AGENT_ATTEST_SBOM;
    if (strcmp(t, AGENT_PT_TEST_RESULT) == 0)
        return AGENT_ATTEST_TESTS;
    if (strcmp(t, AGENT_PT_SCAN) == 0)
        return AGENT_ATTEST_SCAN;
    return -1;
}

static bool str_is(const cJSON *o, const char *key, const char *want)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsString(v) && strcmp(v->valuestring, want) == 0;
}

/* ---- SBOM ---- */

static const char *sbom_type(const cJSON *doc)
{
    if (!cJSON_IsObject(doc))
        return NULL;
    if (str_is(doc, "spdxVersion", "SPDX-2.3") &&
        cJSON_IsString(cJSON_GetObjectItemCaseSensitive(doc, "SPDXID")))
        return AGENT_PT_SPDX;
    if (str_is(doc, "bomFormat", "CycloneDX") && str_is(doc, "specVersion", "1.5"))
        return AGENT_PT_CYCLONEDX;
    return NULL;
}

int agent_sbom_predicate(const char *text, size_t len, const char **type, cJSON **pred)
{
    cJSON *doc = NULL;
    int r;

    *type = NULL;
    *pred = NULL;
    r = da_json_parse(text, len, DA_MAX_SBOM, &doc);
    if (r == DA_ERR_TOO_LARGE)
        return r;
    if (r != 0)
        return DA_ERR_SBOM_FORMAT;
    *type = sbom_type(doc);
    if (*type == NULL) {
        cJSON_Delete(doc);
        return DA_ERR_SBOM_FORMAT;
    }
    *pred = doc;
    return 0;
}

/* ---- shared shapes ---- */

/* {"name": non-empty string, "digest": {"sha256": 64 lower-case hex}} and
 * nothing else. */
static bool file_ref_ok(const cJSON *o)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
    const cJSON *dig = cJSON_GetObjectItemCaseSensitive(o, "digest");
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(dig, "sha256");

    return cJSON_IsObject(o) && cJSON_GetArraySize(o) == 2 && cJSON_IsString(name) &&
           name->valuestring[0] != '\0' && strlen(name->valuestring) <= DA_MAX_SUBJECT_NAME &&
           cJSON_IsObject(dig) && cJSON_GetArraySize(dig) == 1 && cJSON_IsString(h) &&
           strlen(h->valuestring) == 64 && da_hex_is_lower(h->valuestring, 64);
}

static cJSON *file_ref(const char *name, const char *sha256_hex)
{
    cJSON *o = cJSON_CreateObject(), *d;

    if (o == NULL || cJSON_AddStringToObject(o, "name", name) == NULL ||
        (d = cJSON_AddObjectToObject(o, "digest")) == NULL ||
        cJSON_AddStringToObject(d, "sha256", sha256_hex) == NULL) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static bool file_args_ok(const char *name, const char *hex)
{
    return name != NULL && name[0] != '\0' && strlen(name) <= DA_MAX_SUBJECT_NAME && hex != NULL &&
           strlen(hex) == 64 && da_hex_is_lower(hex, 64);
}

/* ---- JUnit XML ---- */

struct junit {
    XML_Parser p;
    int depth;
    int root_seen;
    int in_case;    /* depth of the open <testcase>, 0 when none */
    int case_state; /* 0 passed, 1 warned (skipped), 2 failed */
    size_t cases;
    char name[DA_MAX_JUNIT_NAME + 1];
    cJSON *passed, *warned, *failed;
    int err;
};

static void junit_stop(struct junit *j, int err)
{
    if (j->err == 0)
        j->err = err;
    XML_StopParser(j->p, XML_FALSE);
}

static const char *attr(const char **atts, const char *key)
{
    size_t i;

    for (i = 0; atts[i] != NULL && atts[i + 1] != NULL; i += 2) {
        if (strcmp(atts[i], key) == 0)
            return atts[i + 1];
    }
    return NULL;
}

static void junit_case_start(struct junit *j, const char **atts)
{
    const char *cls = attr(atts, "classname"), *nm = attr(atts, "name");
    int n;

    if (nm == NULL || nm[0] == '\0') {
        junit_stop(j, DA_ERR_JUNIT_FORMAT);
        return;
    }
    if (++j->cases > DA_MAX_JUNIT_CASES) {
        junit_stop(j, DA_ERR_TOO_LARGE);
        return;
    }
    n = cls != NULL && cls[0] != '\0' ? snprintf(j->name, sizeof(j->name), "%s.%s", cls, nm)
                                      : snprintf(j->name, sizeof(j->name), "%s", nm);
    if (n < 0 || (size_t)n >= sizeof(j->name)) {
        junit_stop(j, DA_ERR_JUNIT_FORMAT);
        return;
    }
    j->in_case = j->depth;
    j->case_state = 0;
}

static void XMLCALL junit_start(void *ud, const XML_Char *el, const XML_Char **atts)
{
    struct junit *j = ud;

    if (++j->depth > DA_MAX_JUNIT_DEPTH) {
        junit_stop(j, DA_ERR_JUNIT_FORMAT);
        return;
    }
    if (!j->root_seen) {
        j->root_seen = 1;
        if (strcmp(el, "testsuites") != 0 && strcmp(el, "testsuite") != 0)
            junit_stop(j, DA_ERR_JUNIT_FORMAT);
        return;
    }
    if (strcmp(el, "testcase") == 0) {
        if (j->in_case != 0)
            junit_stop(j, DA_ERR_JUNIT_FORMAT); /* a test case inside a test case */
        else
            junit_case_start(j, atts);
    } else if (j->in_case != 0 && j->depth == j->in_case + 1) {
        if (strcmp(el, "failure") == 0 || strcmp(el, "error") == 0)
            j->case_state = 2;
        else if (strcmp(el, "skipped") == 0 && j->case_state < 1)
            j->case_state = 1;
    }
}

static void XMLCALL junit_end(void *ud, const XML_Char *el)
{
    struct junit *j = ud;
    cJSON *list, *s;

    (void)el;
    if (j->in_case != 0 && j->depth == j->in_case) {
        list = j->case_state == 2 ? j->failed : (j->case_state == 1 ? j->warned : j->passed);
        s = cJSON_CreateString(j->name);
        if (s == NULL || !cJSON_AddItemToArray(list, s)) {
            cJSON_Delete(s);
            junit_stop(j, DA_ERR_NOMEM);
        }
        j->in_case = 0;
    }
    j->depth--;
}

/* No document type declarations: no entities to expand, nothing external. */
static void XMLCALL junit_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                                  const XML_Char *pubid, int has_internal_subset)
{
    (void)name;
    (void)sysid;
    (void)pubid;
    (void)has_internal_subset;
    junit_stop(ud, DA_ERR_JUNIT_FORMAT);
}

static cJSON *junit_build(struct junit *j, const char *name, const char *hex)
{
    cJSON *o = cJSON_CreateObject(), *conf = NULL, *ref;
    const char *result = cJSON_GetArraySize(j->failed) > 0   ? "FAILED"
                         : cJSON_GetArraySize(j->warned) > 0 ? "WARNED"
                                                             : "PASSED";

    if (o == NULL || cJSON_AddStringToObject(o, "result", result) == NULL ||
        (conf = cJSON_AddArrayToObject(o, "configuration")) == NULL)
        goto fail;
    ref = file_ref(name, hex);
    if (ref == NULL || !cJSON_AddItemToArray(conf, ref)) {
        cJSON_Delete(ref);
        goto fail;
    }
    if (!cJSON_AddItemToObject(o, "passedTests", j->passed))
        goto fail;
    j->passed = NULL; /* transferred */
    if (!cJSON_AddItemToObject(o, "warnedTests", j->warned))
        goto fail;
    j->warned = NULL; /* transferred */
    if (!cJSON_AddItemToObject(o, "failedTests", j->failed))
        goto fail;
    j->failed = NULL; /* transferred */
    return o;
fail:
    cJSON_Delete(o);
    return NULL;
}

int agent_junit_predicate(const char *xml, size_t len, const char *name,
                          const char sha256_hex[DA_SHA256_HEX_SIZE], cJSON **pred)
{
    struct junit j;
    int r = 0;

    *pred = NULL;
    if (!file_args_ok(name, sha256_hex))
        return DA_ERR_INVALID_ARG;
    if (len > DA_MAX_JUNIT || len > INT32_MAX)
        return DA_ERR_TOO_LARGE;
    if (memchr(xml, '\0', len) != NULL)
        return DA_ERR_JUNIT_FORMAT;
    memset(&j, 0, sizeof(j));
    j.passed = cJSON_CreateArray();
    j.warned = cJSON_CreateArray();
    j.failed = cJSON_CreateArray();
    j.p = XML_ParserCreate("UTF-8");
    if (j.p == NULL || j.passed == NULL || j.warned == NULL || j.failed == NULL) {
        r = DA_ERR_NOMEM;
        goto out;
    }
    XML_SetUserData(j.p, &j);
    XML_SetElementHandler(j.p, junit_start, junit_end);
    XML_SetStartDoctypeDeclHandler(j.p, junit_doctype);
    if (XML_Parse(j.p, xml, (int)len, XML_TRUE) != XML_STATUS_OK || j.err != 0 || !j.root_seen)
        r = j.err != 0 ? j.err : DA_ERR_JUNIT_FORMAT;
    if (r == 0) {
        *pred = junit_build(&j, name, sha256_hex);
        if (*pred == NULL)
            r = DA_ERR_NOMEM;
    }
out:
    if (j.p != NULL)
        XML_ParserFree(j.p);
    cJSON_Delete(j.passed);
    cJSON_Delete(j.warned);
    cJSON_Delete(j.failed);
    return r;
}

/* ---- scanner output ---- */

struct scan_facts {
    const char *kind, *scanner;
    char version[128], db_date[64];
    int64_t findings;
};

static void copy_opt(char *out, size_t size, const cJSON *v)
{
    if (cJSON_IsString(v) && strlen(v->valuestring) < size)
        snprintf(out, size, "%s", v->valuestring);
}

static int scan_grype(const cJSON *doc, struct scan_facts *f)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(doc, "descriptor");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(doc, "matches");
    const cJSON *db = cJSON_GetObjectItemCaseSensitive(d, "db");
    const cJSON *built = cJSON_GetObjectItemCaseSensitive(db, "built");

    if (!cJSON_IsArray(m))
        return DA_ERR_SCAN_FORMAT;
    if (built == NULL)
        built = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(db, "status"),
                                                 "built");
    f->kind = "vulnerability";
    f->scanner = "grype";
    copy_opt(f->version, sizeof(f->version), cJSON_GetObjectItemCaseSensitive(d, "version"));
    copy_opt(f->db_date, sizeof(f->db_date), built);
    f->findings = cJSON_GetArraySize(m);
    return 0;
}

static int scan_trivy(const cJSON *doc, struct scan_facts *f)
{
    const cJSON *results = cJSON_GetObjectItemCaseSensitive(doc, "Results"), *res, *v;
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(doc, "Trivy");

    if (results != NULL && !cJSON_IsArray(results))
        return DA_ERR_SCAN_FORMAT;
    f->kind = "vulnerability";
    f->scanner = "trivy";
    f->findings = 0;
    cJSON_ArrayForEach(res, results)
    {
        if (!cJSON_IsObject(res))
            return DA_ERR_SCAN_FORMAT;
        v = cJSON_GetObjectItemCaseSensitive(res, "Vulnerabilities");
        if (v != NULL && !cJSON_IsArray(v) && !cJSON_IsNull(v))
            return DA_ERR_SCAN_FORMAT;
        f->findings += cJSON_GetArraySize(v);
    }
    copy_opt(f->version, sizeof(f->version), cJSON_GetObjectItemCaseSensitive(meta, "Version"));
    return 0;
}

static int scan_json(const char *text, size_t len, struct scan_facts *f)
{
    const cJSON *d, *sv;
    cJSON *doc = NULL;
    int r;

    r = da_json_parse(text, len, DA_MAX_SCAN, &doc);
    if (r != 0) {
        cJSON_Delete(doc);
        return r == DA_ERR_TOO_LARGE ? r : DA_ERR_SCAN_FORMAT;
    }
    d = cJSON_GetObjectItemCaseSensitive(doc, "descriptor");
    sv = cJSON_GetObjectItemCaseSensitive(doc, "SchemaVersion");
    if (cJSON_IsObject(doc) && str_is(d, "name", "grype"))
        r = scan_grype(doc, f);
    else if (cJSON_IsObject(doc) && cJSON_IsNumber(sv) && da_double_exact(sv->valuedouble, 2))
        r = scan_trivy(doc, f);
    else
        r = DA_ERR_SCAN_FORMAT;
    cJSON_Delete(doc);
    return r;
}

#define CLAM_SUMMARY "----------- SCAN SUMMARY -----------"

/* One "Key: value" line of clamscan's summary. */
static int clam_line(const char *line, size_t n, struct scan_facts *f, int *have_infected)
{
    static const char infected[] = "Infected files: ", engine[] = "Engine version: ";
    char num[24];
    size_t i;

    if (n > sizeof(infected) - 1 && memcmp(line, infected, sizeof(infected) - 1) == 0) {
        line += sizeof(infected) - 1;
        n -= sizeof(infected) - 1;
        if (n == 0 || n >= sizeof(num) - 1 || *have_infected)
            return DA_ERR_SCAN_FORMAT;
        for (i = 0; i < n; i++) {
            if (line[i] < '0' || line[i] > '9')
                return DA_ERR_SCAN_FORMAT;
        }
        memcpy(num, line, n);
        num[n] = '\0';
        f->findings = (int64_t)strtoull(num, NULL, 10);
        if (f->findings < 0 || f->findings > DA_JSON_MAX_SAFE_INT)
            return DA_ERR_SCAN_FORMAT;
        *have_infected = 1;
    } else if (n > sizeof(engine) - 1 && memcmp(line, engine, sizeof(engine) - 1) == 0 &&
               n - (sizeof(engine) - 1) < sizeof(f->version)) {
        memcpy(f->version, line + sizeof(engine) - 1, n - (sizeof(engine) - 1));
        f->version[n - (sizeof(engine) - 1)] = '\0';
    }
    return 0;
}

static int scan_clamscan(const char *text, size_t len, struct scan_facts *f)
{
    const char *p = text, *end = text + len, *nl;
    int in_summary = 0, have_infected = 0, r = 0;

    if (len > DA_MAX_SCAN)
        return DA_ERR_TOO_LARGE;
    if (memchr(text, '\0', len) != NULL || !da_utf8_valid(text, len))
        return DA_ERR_SCAN_FORMAT;
    while (r == 0 && p < end) {
        size_t n;

        nl = memchr(p, '\n', (size_t)(end - p));
        n = (size_t)((nl != NULL ? nl : end) - p);
        if (n > 0 && p[n - 1] == '\r')
            n--;
        if (n == sizeof(CLAM_SUMMARY) - 1 && memcmp(p, CLAM_SUMMARY, n) == 0)
            in_summary = 1;
        else if (in_summary)
            r = clam_line(p, n, f, &have_infected);
        p = nl != NULL ? nl + 1 : end;
    }
    if (r != 0 || !in_summary || !have_infected)
        return DA_ERR_SCAN_FORMAT;
    f->kind = "malware";
    f->scanner = "clamscan";
    return 0;
}

static cJSON *scan_build(const struct scan_facts *f, const char *name, const char *hex)
{
    cJSON *o = cJSON_CreateObject(), *s, *ref;

    if (o == NULL || cJSON_AddStringToObject(o, "kind", f->kind) == NULL ||
        (s = cJSON_AddObjectToObject(o, "scanner")) == NULL ||
        cJSON_AddStringToObject(s, "name", f->scanner) == NULL ||
        (f->version[0] != '\0' ? cJSON_AddStringToObject(s, "version", f->version)
                               : cJSON_AddNullToObject(s, "version")) == NULL ||
        (f->db_date[0] != '\0' ? cJSON_AddStringToObject(s, "db_date", f->db_date)
                               : cJSON_AddNullToObject(s, "db_date")) == NULL ||
        cJSON_AddNumberToObject(o, "findings", (double)f->findings) == NULL)
        goto fail;
    ref = file_ref(name, hex);
    if (ref == NULL || !cJSON_AddItemToObject(o, "input", ref)) {
        cJSON_Delete(ref);
        goto fail;
    }
    return o;
fail:
    cJSON_Delete(o);
    return NULL;
}

int agent_scan_predicate(const char *text, size_t len, const char *name,
                         const char sha256_hex[DA_SHA256_HEX_SIZE], cJSON **pred)
{
    struct scan_facts f;
    size_t i = 0;
    int r;

    *pred = NULL;
    if (!file_args_ok(name, sha256_hex))
        return DA_ERR_INVALID_ARG;
    memset(&f, 0, sizeof(f));
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n'))
        i++;
    r = i < len && text[i] == '{' ? scan_json(text, len, &f) : scan_clamscan(text, len, &f);
    if (r != 0)
        return r;
    *pred = scan_build(&f, name, sha256_hex);
    return *pred != NULL ? 0 : DA_ERR_NOMEM;
}

/* ---- the signer's checks ---- */

static bool string_list_ok(const cJSON *a, size_t *total)
{
    const cJSON *s;

    if (!cJSON_IsArray(a))
        return false;
    cJSON_ArrayForEach(s, a)
    {
        if (!cJSON_IsString(s) || s->valuestring[0] == '\0' ||
            strlen(s->valuestring) > DA_MAX_JUNIT_NAME || ++*total > DA_MAX_JUNIT_CASES)
            return false;
    }
    return true;
}

static int test_result_check(const cJSON *p)
{
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(p, "result");
    const cJSON *conf = cJSON_GetObjectItemCaseSensitive(p, "configuration");
    const cJSON *pass = cJSON_GetObjectItemCaseSensitive(p, "passedTests");
    const cJSON *warn = cJSON_GetObjectItemCaseSensitive(p, "warnedTests");
    const cJSON *fail = cJSON_GetObjectItemCaseSensitive(p, "failedTests");
    const char *want;
    size_t total = 0;

    if (!cJSON_IsObject(p) || cJSON_GetArraySize(p) != 5 || !cJSON_IsString(res) ||
        !cJSON_IsArray(conf) || cJSON_GetArraySize(conf) != 1 ||
        !file_ref_ok(cJSON_GetArrayItem(conf, 0)) || !string_list_ok(pass, &total) ||
        !string_list_ok(warn, &total) || !string_list_ok(fail, &total))
        return DA_ERR_JUNIT_FORMAT;
    want = cJSON_GetArraySize(fail) > 0   ? "FAILED"
           : cJSON_GetArraySize(warn) > 0 ? "WARNED"
                                          : "PASSED";
    return strcmp(res->valuestring, want) == 0 ? 0 : DA_ERR_JUNIT_FORMAT;
}

static bool opt_text(const cJSON *v, size_t max)
{
    return cJSON_IsNull(v) || (cJSON_IsString(v) && strlen(v->valuestring) < max);
}

static int scan_check(const cJSON *p)
{
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(p, "kind");
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(p, "scanner");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(s, "name");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(p, "findings");
    const char *want;

    if (!cJSON_IsObject(p) || cJSON_GetArraySize(p) != 4 || !cJSON_IsString(kind) ||
        !cJSON_IsObject(s) || cJSON_GetArraySize(s) != 3 || !cJSON_IsString(name) ||
        !opt_text(cJSON_GetObjectItemCaseSensitive(s, "version"), 128) ||
        !opt_text(cJSON_GetObjectItemCaseSensitive(s, "db_date"), 64) || !cJSON_IsNumber(n) ||
        n->valuedouble < 0 || n->valuedouble > (double)DA_JSON_MAX_SAFE_INT ||
        !da_double_exact(n->valuedouble, (double)(int64_t)n->valuedouble) ||
        !file_ref_ok(cJSON_GetObjectItemCaseSensitive(p, "input")))
        return DA_ERR_SCAN_FORMAT;
    if (strcmp(name->valuestring, "grype") == 0 || strcmp(name->valuestring, "trivy") == 0)
        want = "vulnerability";
    else if (strcmp(name->valuestring, "clamscan") == 0)
        want = "malware";
    else
        return DA_ERR_SCAN_FORMAT;
    return strcmp(kind->valuestring, want) == 0 ? 0 : DA_ERR_SCAN_FORMAT;
}

int agent_attest_predicate_check(const char *t, const cJSON *pred)
{
    const char *sbom;

    switch (agent_attest_kind_of(t)) {
    case AGENT_ATTEST_SBOM:
        sbom = sbom_type(pred);
        return sbom != NULL && strcmp(sbom, t) == 0 ? 0 : DA_ERR_SBOM_FORMAT;
    case AGENT_ATTEST_TESTS:
        return test_result_check(pred);
    case AGENT_ATTEST_SCAN:
        return scan_check(pred);
    default:
        return DA_ERR_ATTEST_REQUEST;
    }
}
