/* Minimal privacy mode end to end: the real agent binary (collector, signer
 * and uploader in their sandboxes) on a fixture root with planted user
 * names, home paths and host names, a swtpm, and a real devattest-server
 * over TLS on loopback with its SQLite file and the shipped policy.
 *
 * In minimal mode none of the planted strings reaches the server: not in
 * the enrollment, not in the stored report, not anywhere in the database
 * file, nor in what the store keeps compressed there. Then the same machine reports in standard
 * mode (the names do arrive, so the search can find them) and every check of the shipped policy has
 * the verdict it had in minimal mode. */
#include "da_test.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <sqlite3.h>

#include "agent_run.h"
#include "agent_test_dir.h"
#include "privacy.h"
#include "server_harness.h"
#include "store.h"
#include "store_pack.h"
#include "swtpm_harness.h"
#include "tmp_tree.h"

static const char *const planted[] = {"ines-marquardt", "ines-laptop", "alice", "build-01"};

struct world {
    struct da_test_swtpm tpm;
    struct da_test_server srv;
    char dir[300], conf[320], state[320], spool[320], root[320];
    char agent_id[64];
    cJSON *minimal_verdict;
    cJSON *minimal_report;
};

static int write_conf(struct world *w, const char *mode)
{
    FILE *f = fopen(w->conf, "w");

    if (f == NULL)
        return -1;
    fprintf(f,
            "server_url = %s\nserver_ca = %s\ntcti = %s\nstate_dir = %s\nspool_dir = %s\n"
            "environment_role = build\nsandbox = enforce\ncollect_root = %s\nprivacy = %s\n"
            "user = " DA_TEST_AGENT_USER "\n"
            "production_patterns = prod-*, *.prod.example.com\n"
            "source_dirs = /home/ines-marquardt/src/customer-app\n",
            w->srv.base, w->srv.ca, w->tpm.tcti, w->state, w->spool, w->root, mode);
    return fclose(f) == 0 ? 0 : -1;
}

static int group_setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    char extra[8192 + 512], cmd[1200];

    if (w == NULL || da_test_swtpm_start(&w->tpm) != 0)
        return -1;
    snprintf(extra, sizeof(extra),
             "ek_roots = %s\nrate_per_agent = 1000\nburst_per_agent = 1000\n"
             "policy_file = %s/common/policies/iso27001-2022-devenv.json\n",
             w->tpm.ca_root, DA_SOURCE_ROOT);
    if (da_test_server_setup(&w->srv, extra) != 0 || da_test_server_start(&w->srv) != 0)
        return -1;
    /* The agent refuses directories below one others may write (/tmp). */
    if (da_test_agent_dir(w->dir, sizeof(w->dir)) != 0)
        return -1;
    snprintf(w->conf, sizeof(w->conf), "%s/agent.conf", w->dir);
    snprintf(w->state, sizeof(w->state), "%s/state", w->dir);
    snprintf(w->spool, sizeof(w->spool), "%s/spool", w->dir);
    snprintf(w->root, sizeof(w->root), "%s/roots/lvm_luks2", w->dir);
    snprintf(cmd, sizeof(cmd),
             "bash '%s/tests/fixtures/build-roots.sh' '%s/roots' >/dev/null && "
             "bash '%s/tests/fixtures/plant-personal.sh' '%s'",
             DA_SOURCE_ROOT, w->dir, DA_SOURCE_ROOT, w->root);
    if (system(cmd) != 0 || write_conf(w, "minimal") != 0)
        return -1;
    *state = w;
    return 0;
}

static int group_teardown(void **state)
{
    struct world *w = *state;
    if (w == NULL)
        return 0;
    (void)da_test_rmtree(w->dir);
    da_test_server_cleanup(&w->srv);
    da_test_swtpm_stop(&w->tpm);
    cJSON_Delete(w->minimal_verdict);
    cJSON_Delete(w->minimal_report);
    free(w);
    return 0;
}

/* Whole file; "" when it does not exist. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *s = NULL;
    long n;

    *len = 0;
    if (f == NULL) {
        s = calloc(1, 1);
        assert_non_null(s);
        return s;
    }
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    s = malloc((size_t)n + 1);
    assert_non_null(s);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return s;
}

static int contains(const char *hay, size_t n, const char *needle)
{
    size_t m = strlen(needle), i;

    for (i = 0; m <= n && i <= n - m; i++) {
        if (memcmp(hay + i, needle, m) == 0)
            return 1;
    }
    return 0;
}

static int search(const char *data, size_t len, const char *where, int expect_none)
{
    size_t j;
    int found = 0;

    for (j = 0; j < sizeof(planted) / sizeof(planted[0]); j++) {
        if (contains(data, len, planted[j])) {
            if (expect_none)
                fail_msg("\"%s\" is in %s", planted[j], where);
            found++;
        }
    }
    return found;
}

struct stored_search {
    struct srv_store *store;
    int expect_none, found;
};

static int search_report(const struct srv_pack_report *r, void *ctx)
{
    struct stored_search *ss = ctx;
    const char *texts[] = {r->body_json, r->verdict_json, r->transcript_json, r->receipt_json};
    struct srv_report *full = NULL;
    size_t i;

    for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        if (texts[i] != NULL)
            ss->found += search(texts[i], strlen(texts[i]), "a stored report", ss->expect_none);
    assert_int_equal(srv_store_report_get(ss->store, r->id, &full), 0);
    ss->found += search(full->evidence_json, strlen(full->evidence_json), "a stored evidence",
                        ss->expect_none);
    srv_report_free(full);
    return 0;
}

static int search_vendor(const struct srv_vendor *v, void *ctx)
{
    struct stored_search *ss = ctx;

    return srv_store_pack_reports(ss->store, v->id, 0, INT64_MAX, search_report, ss);
}

/* How many planted strings the database holds: in its files (main, WAL,
 * journal) as bytes, and in what is stored compressed (every blob, and
 * every report as the store reads it back). */
static int planted_in_database(struct world *w, int expect_none)
{
    static const char *const suffix[] = {"", "-wal", "-journal"};
    struct stored_search ss = {NULL, expect_none, 0};
    char path[256];
    size_t i, len;
    int found = 0;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;

    for (i = 0; i < 3; i++) {
        char *data;

        snprintf(path, sizeof(path), "%s%s", w->srv.db, suffix[i]);
        data = slurp(path, &len);
        found += search(data, len, path, expect_none);
        free(data);
    }
    assert_int_equal(sqlite3_open_v2(w->srv.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT data FROM blobs", -1, &st, NULL), SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        unsigned char *raw = NULL;
        size_t rlen = 0;

        assert_int_equal(srv_zstd_decompress(sqlite3_column_blob(st, 0),
                                             (size_t)sqlite3_column_bytes(st, 0), NULL, 0,
                                             SRV_PACK_MAX_RAW, &raw, &rlen),
                         0);
        found += search((const char *)raw, rlen, "a stored blob", expect_none);
        free(raw);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    assert_int_equal(srv_store_open(w->srv.db, 1, 86400, &ss.store), 0);
    assert_int_equal(srv_store_vendors_list(ss.store, search_vendor, &ss), 0);
    srv_store_close(ss.store);
    return found + ss.found;
}

/* One report cycle; the server's stored report (full, with evidence). */
static cJSON *report_once(struct world *w)
{
    struct da_test_http r;
    char out[16384], path[160];
    cJSON *j, *rep;
    int rc;

    rc = da_test_agent(out, sizeof(out), "report", "--config", w->conf, "--json", NULL);
    if (rc != 0 && rc != 4)
        fail_msg("report exited %d: %s", rc, out);
    j = cJSON_Parse(out);
    assert_non_null(j);
    snprintf(path, sizeof(path), "/v1/reports/%s",
             cJSON_GetStringValue(cJSON_GetObjectItem(j, "report_id")));
    cJSON_Delete(j);
    assert_int_equal(da_test_http(&w->srv, "GET", path, w->srv.auditor, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    rep = cJSON_Parse(r.body);
    assert_non_null(rep);
    da_test_http_clear(&r);
    return rep;
}

static void test_enroll_minimal(void **state)
{
    struct world *w = *state;
    char token[128], out[8192], key[400], token_file[400];
    struct stat st;
    size_t len;
    char *hex;
    FILE *f;

    assert_int_equal(da_test_server_cli(&w->srv, token, sizeof(token), "token", "create",
                                        "--vendor", "acme", "--ttl", "1h", NULL),
                     0);
    snprintf(token_file, sizeof(token_file), "%s/token", w->dir);
    f = fopen(token_file, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", token);
    assert_int_equal(fclose(f), 0);
    if (da_test_agent(out, sizeof(out), "enroll", "--config", w->conf, "--token-file", token_file,
                      "--ek-chain", w->tpm.ca_issuer, "--json", NULL) != 0)
        fail_msg("enroll failed: %s", out);
    /* the deployment's key, kept for the agent's user alone */
    snprintf(key, sizeof(key), "%s/privacy.key", w->state);
    assert_int_equal(stat(key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    hex = slurp(key, &len);
    assert_int_equal(strspn(hex, "0123456789abcdef"), 64);
    free(hex);
    /* the host sent at enrollment named nobody */
    planted_in_database(w, 1);
}

static void test_minimal_report_names_nobody(void **state)
{
    struct world *w = *state;
    cJSON *rep = report_once(w), *ev = cJSON_GetObjectItem(rep, "evidence"), *v;
    char *text = cJSON_PrintUnformatted(rep);
    size_t j;

    assert_non_null(text);
    for (j = 0; j < sizeof(planted) / sizeof(planted[0]); j++) {
        if (strstr(text, planted[j]) != NULL)
            fail_msg("the stored report holds \"%s\"", planted[j]);
    }
    /* the document is the planted root's, in minimal mode */
    assert_string_equal(
        cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(ev, "agent"), "privacy")),
        "minimal");
    assert_int_equal(strncmp(cJSON_GetStringValue(
                                 cJSON_GetObjectItem(cJSON_GetObjectItem(ev, "host"), "hostname")),
                             "p:", 2),
                     0);
    assert_true(cJSON_GetArraySize(
                    cJSON_GetObjectItem(cJSON_GetObjectItem(ev, "separation"), "findings")) > 3);
    v = cJSON_GetObjectItem(rep, "verdict");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(v, "privacy")), "minimal");
    w->minimal_verdict = cJSON_Duplicate(v, 1);
    free(text);
    w->minimal_report = rep;
    planted_in_database(w, 1);
}

/* HMAC-SHA-256 with the key the agent received, by OpenSSL: the pseudonym
 * minimal mode must have sent for name. */
static void expected_pseudonym(struct world *w, const char *name, char out[27])
{
    unsigned char key[32], mac[EVP_MAX_MD_SIZE];
    unsigned int mlen = 0, i;
    char path[400], *hex;
    size_t len;

    snprintf(path, sizeof(path), "%s/privacy.key", w->state);
    hex = slurp(path, &len);
    for (i = 0; i < 32; i++)
        assert_int_equal(sscanf(hex + 2 * i, "%2hhx", &key[i]), 1);
    free(hex);
    assert_non_null(HMAC(EVP_sha256(), key, sizeof(key), (const unsigned char *)name, strlen(name),
                         mac, &mlen));
    out[0] = 'p';
    out[1] = ':';
    for (i = 0; i < 12; i++)
        snprintf(out + 2 + 2 * i, 3, "%02x", mac[i]);
}

/* The pseudonyms are the deployment key's, and the vendor can map them back
 * on the machine. */
static void test_reveal(void **state)
{
    struct world *w = *state;
    const cJSON *ev = cJSON_GetObjectItem(w->minimal_report, "evidence");
    const char *host =
        cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(ev, "host"), "hostname"));
    const cJSON *sudo = cJSON_GetObjectItem(cJSON_GetObjectItem(ev, "auth"), "sudo");
    const char *principal =
        cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItem(sudo, "nopasswd"), 0));
    char want[27], out[8192], line[256];

    assert_non_null(host);
    assert_non_null(principal);
    expected_pseudonym(w, "ines-laptop", want);
    assert_string_equal(host, want);
    expected_pseudonym(w, "ines-marquardt", want);
    assert_string_equal(principal, want);
    assert_int_equal(da_test_agent(out, sizeof(out), "privacy", "--config", w->conf, "reveal", host,
                                   principal, NULL),
                     0);
    snprintf(line, sizeof(line), "%s\tines-laptop\n%s\tines-marquardt\n", host, principal);
    assert_string_equal(out, line);
    assert_int_equal(da_test_agent(out, sizeof(out), "privacy", "--config", w->conf, "reveal",
                                   "p:000000000000000000000000", NULL),
                     1);
}

/* Every field of a stored report's evidence is in the privacy inventory. */
static size_t inventory_covers(const cJSON *n, char *ptr, size_t len)
{
    const cJSON *c;
    unsigned idx = 0;
    size_t count = 0;

    if ((cJSON_IsObject(n) && !cJSON_IsString(cJSON_GetObjectItem(n, "unknown"))) ||
        cJSON_IsArray(n)) {
        for (c = n->child; c != NULL; c = c->next, idx++) {
            int w = cJSON_IsArray(n) ? snprintf(ptr + len, 1024 - len, "/%u", idx)
                                     : snprintf(ptr + len, 1024 - len, "/%s", c->string);

            count += inventory_covers(c, ptr, len + (size_t)w);
            ptr[len] = '\0';
        }
        return count;
    }
    if (da_privacy_lookup(ptr) == NULL && !da_privacy_covers_below(ptr))
        fail_msg("uploaded field %s is not in the privacy inventory", ptr);
    return 1;
}

static void test_standard_same_verdicts(void **state)
{
    struct world *w = *state;
    cJSON *rep, *v, *a, *b;
    int n = 0;

    assert_non_null(w->minimal_verdict);
    assert_int_equal(write_conf(w, "standard"), 0);
    rep = report_once(w);
    v = cJSON_GetObjectItem(rep, "verdict");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(v, "privacy")), "standard");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(v, "verdict")),
                        cJSON_GetStringValue(cJSON_GetObjectItem(w->minimal_verdict, "verdict")));
    a = cJSON_GetObjectItem(v, "checks");
    b = cJSON_GetObjectItem(w->minimal_verdict, "checks");
    assert_int_equal(cJSON_GetArraySize(a), cJSON_GetArraySize(b));
    for (n = 0; n < cJSON_GetArraySize(a); n++) {
        cJSON *ca = cJSON_GetArrayItem(a, n), *cb = cJSON_GetArrayItem(b, n);

        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(ca, "id")),
                            cJSON_GetStringValue(cJSON_GetObjectItem(cb, "id")));
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(ca, "verdict")),
                   cJSON_GetStringValue(cJSON_GetObjectItem(cb, "verdict"))) != 0)
            fail_msg("%s: standard %s, minimal %s",
                     cJSON_GetStringValue(cJSON_GetObjectItem(ca, "id")),
                     cJSON_GetStringValue(cJSON_GetObjectItem(ca, "verdict")),
                     cJSON_GetStringValue(cJSON_GetObjectItem(cb, "verdict")));
    }
    print_message("%d checks with the same verdict in both modes\n", n);
    {
        char ptr[1024] = "";

        print_message("%zu uploaded fields, all in the inventory\n",
                      inventory_covers(cJSON_GetObjectItem(rep, "evidence"), ptr, 0));
    }
    assert_true(n >= 20);
    cJSON_Delete(rep);
    /* Standard mode does send the names: the search above can find them. */
    assert_true(planted_in_database(w, 0) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enroll_minimal),
        cmocka_unit_test(test_minimal_report_names_nobody),
        cmocka_unit_test(test_reveal),
        cmocka_unit_test(test_standard_same_verdicts),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
