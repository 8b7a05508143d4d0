/* How long a pending upgrade has been pending: the first-seen record in the
 * state directory (collector/deb_seen.c), the first_seen and age_s facts the
 * patches collector derives from it, and the verdict of the shipped policy's
 * grace-period check on them. "Now" is the collection context's clock, so
 * every age here is exact. */
#include "da_test.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "caps.h"
#include "collector.h"
#include "deb.h"
#include "err.h"
#include "policy.h"
#include "tmp_tree.h"
#include "picky.h"

#define SHIPPED DA_SOURCE_ROOT "/common/policies/iso27001-2022-devenv.json"
#define CHECK   "patches.security-updates"
#define T0      1767225600 /* 2026-01-01T00:00:00Z */
#define DAY     86400
#define SEC_LIST                                                                                   \
    "/var/lib/apt/lists/sec.example.org_debian-security_dists_bookworm-security_main_binary-"      \
    "amd64_Packages"

struct env {
    char root[64];
    char state[64];
    struct da_policy *policy;
};

static void write_file(const char *dir, const char *rel, const char *text)
{
    char path[512], cmd[600];
    FILE *f;

    snprintf(path, sizeof(path), "%s%s", dir, rel);
    snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
    assert_int_equal(system(cmd), 0);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *s;
    long n;

    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    s = calloc(1, (size_t)n + 1);
    if (s != NULL && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    fclose(f);
    return s;
}

/* A machine with libssl3 pending from a security suite at version cand. */
static void set_candidate(struct env *e, const char *cand)
{
    char text[256];

    snprintf(text, sizeof(text), "Package: libssl3\nArchitecture: amd64\nVersion: %s\n\n", cand);
    write_file(e->root, SEC_LIST, text);
}

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    struct da_policy_error err;

    if (e == NULL)
        return -1;
    if (da_test_tmpdir("da-age-root", e->root, sizeof(e->root)) != 0 ||
        da_test_tmpdir("da-age-state", e->state, sizeof(e->state)) != 0)
        return -1;
    write_file(e->root, "/var/lib/dpkg/status",
               "Package: dpkg\nStatus: install ok installed\nArchitecture: amd64\n"
               "Version: 1.21.22\n\n"
               "Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\n"
               "Version: 3.0.11-1\n\n");
    write_file(e->root,
               "/var/lib/apt/lists/sec.example.org_debian-security_dists_bookworm-security_"
               "InRelease",
               "Origin: Debian\nLabel: Debian-Security\nSuite: stable-security\n"
               "Codename: bookworm-security\n");
    set_candidate(e, "3.0.13-1");
    if (da_policy_load_file(SHIPPED, &e->policy, &err) != 0)
        return -1;
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    int rc = da_test_rmtree(e->root) | da_test_rmtree(e->state);

    da_policy_free(e->policy);
    free(e);
    return rc == 0 ? 0 : -1;
}

/* Start every test with an empty state directory. */
static int clear_state(void **state)
{
    struct env *e = *state;
    set_candidate(e, "3.0.13-1");
    if (da_test_rmtree(e->state) != 0 || mkdir(e->state, 0700) != 0)
        return -1;
    return 0;
}

static cJSON *collect_at(const struct env *e, const char *state_dir, time_t now)
{
    struct col_ctx ctx;
    cJSON *doc = NULL;

    memset(&ctx, 0, sizeof(ctx));
    ctx.root = e->root;
    ctx.state_dir = state_dir;
    ctx.now = now;
    ctx.cfg = col_default_config();
    ctx.ops = &col_root_ops;
    assert_int_equal(col_collect_evidence(&ctx, "patches", &doc), 0);
    return doc;
}

static const cJSON *pending0(const cJSON *doc)
{
    const cJSON *arr = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "patches"), "pending");

    assert_true(cJSON_IsArray(arr));
    assert_int_equal(cJSON_GetArraySize(arr), 1);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 0), "security")));
    return cJSON_GetArrayItem(arr, 0);
}

static void expect_age(const cJSON *doc, const char *first_seen, double age)
{
    const cJSON *p = pending0(doc);

    assert_string_equal(cJSON_GetObjectItem(p, "first_seen")->valuestring, first_seen);
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(p, "age_s")));
    assert_true(da_double_exact(cJSON_GetObjectItem(p, "age_s")->valuedouble, age));
}

/* Both facts are the unknown object with this reason. */
static void expect_unknown(const cJSON *doc, const char *reason)
{
    const cJSON *p = pending0(doc);
    const char *keys[] = {"first_seen", "age_s"};
    size_t i;

    for (i = 0; i < 2; i++) {
        const cJSON *u = cJSON_GetObjectItem(cJSON_GetObjectItem(p, keys[i]), "unknown");

        if (!cJSON_IsString(u))
            fail_msg("%s is not unknown", keys[i]);
        assert_string_equal(u->valuestring, reason);
    }
}

/* The shipped policy's verdict on the grace-period check, and its pointer,
 * with the document's own ages as /attestation/pending (what the agent's
 * check supplies; the server supplies its own, test_server_pending_age). */
static enum da_verdict grace_verdict(const struct env *e, const cJSON *doc, char *pointer,
                                     size_t cap)
{
    struct da_policy_result *r = NULL;
    enum da_verdict v = DA_VERDICT_FAIL;
    cJSON *facts = cJSON_CreateObject();
    const cJSON *p = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "patches"), "pending");
    size_t i;
    int found = 0;

    assert_non_null(facts);
    if (p != NULL)
        assert_true(cJSON_AddItemToObject(facts, "pending", cJSON_Duplicate(p, 1)));
    assert_int_equal(da_policy_eval(e->policy, doc, facts, &r), 0);
    cJSON_Delete(facts);
    for (i = 0; i < r->n_checks; i++) {
        if (strcmp(r->checks[i].id, CHECK) == 0) {
            v = r->checks[i].verdict;
            snprintf(pointer, cap, "%s", r->checks[i].pointer);
            found = 1;
        }
    }
    da_policy_result_free(r);
    assert_true(found);
    return v;
}

static void record_path(const struct env *e, char *out, size_t n)
{
    snprintf(out, n, "%s/pending.seen", e->state);
}

/* Seen 1 day ago passes the 7-day grace period, 7 days exactly still
 * passes, 8 days ago fails, at the element's age_s. */
static void test_grace_period_with_shipped_policy(void **state)
{
    struct env *e = *state;
    char ptr[256];
    cJSON *doc;

    doc = collect_at(e, e->state, T0);
    expect_age(doc, "2026-01-01T00:00:00Z", 0);
    assert_int_equal(grace_verdict(e, doc, ptr, sizeof(ptr)), DA_VERDICT_PASS);
    cJSON_Delete(doc);

    doc = collect_at(e, e->state, T0 + DAY);
    expect_age(doc, "2026-01-01T00:00:00Z", DAY);
    assert_int_equal(grace_verdict(e, doc, ptr, sizeof(ptr)), DA_VERDICT_PASS);
    cJSON_Delete(doc);

    doc = collect_at(e, e->state, T0 + 7 * DAY);
    expect_age(doc, "2026-01-01T00:00:00Z", 7 * DAY);
    assert_int_equal(grace_verdict(e, doc, ptr, sizeof(ptr)), DA_VERDICT_PASS);
    cJSON_Delete(doc);

    doc = collect_at(e, e->state, T0 + 8 * DAY);
    expect_age(doc, "2026-01-01T00:00:00Z", 8 * DAY);
    assert_int_equal(grace_verdict(e, doc, ptr, sizeof(ptr)), DA_VERDICT_FAIL);
    assert_string_equal(ptr, "/attestation/pending/0/age_s");
    cJSON_Delete(doc);
}

/* A record written by an earlier run: 8 days fails, 1 day passes. */
static void test_seeded_record(void **state)
{
    struct env *e = *state;
    char path[256], text[512], ptr[256];
    cJSON *doc;

    record_path(e, path, sizeof(path));
    snprintf(text, sizeof(text),
             "devattest-pending-seen 1\nroot %s\nseen libssl3 3.0.13-1 %d\nend\n", e->root,
             T0 - 8 * DAY);
    write_file(path, "", text);
    doc = collect_at(e, e->state, T0);
    expect_age(doc, "2025-12-24T00:00:00Z", 8 * DAY);
    assert_int_equal(grace_verdict(e, doc, ptr, sizeof(ptr)), DA_VERDICT_FAIL);
    cJSON_Delete(doc);

    snprintf(text, sizeof(text),
             "devattest-pending-seen 1\nroot %s\nseen libssl3 3.0.13-1 %d\nend\n", e->root,
             T0 - DAY);
    write_file(path, "", text);
    doc = collect_at(e, e->state, T0);
    expect_age(doc, "2025-12-31T00:00:00Z", DAY);
    assert_int_equal(grace_verdict(e, doc, ptr, sizeof(ptr)), DA_VERDICT_PASS);
    cJSON_Delete(doc);
}

/* --no-cache: no record, so no age; the check is unknown, never a pass. */
static void test_no_state_dir_is_unknown(void **state)
{
    struct env *e = *state;
    char ptr[256];
    cJSON *doc = collect_at(e, NULL, T0);

    expect_unknown(doc, "not_present");
    assert_int_equal(grace_verdict(e, doc, ptr, sizeof(ptr)), DA_VERDICT_UNKNOWN);
    assert_string_equal(ptr, "/attestation/pending/0/age_s");
    cJSON_Delete(doc);
}

/* A record that cannot be written (the state directory does not exist). */
static void test_unwritable_record_is_unknown(void **state)
{
    struct env *e = *state;
    char dir[128], ptr[256];
    cJSON *doc;

    snprintf(dir, sizeof(dir), "%s/missing", e->state);
    doc = collect_at(e, dir, T0);
    expect_unknown(doc, "not_present");
    assert_int_equal(grace_verdict(e, doc, ptr, sizeof(ptr)), DA_VERDICT_UNKNOWN);
    cJSON_Delete(doc);
}

/* Garbage is never used, not even in part: unknown for this run, and the
 * record is rebuilt so that the next run counts from this one. A time in
 * the future is garbage too. */
static void test_corrupt_record_rebuilt(void **state)
{
    /* what follows the magic and root lines; NULL: the whole file is junk */
    static const char *const bad[] = {
        NULL,
        /* one good entry, then a bad one: nothing is kept */
        "seen libssl3 3.0.13-1 1\nseen z 1 x\nend\n",
        "seen libssl3 3.0.13-1 1767225601\nend\n", /* after now */
        "seen libssl3 3.0.13-1 1\nend\ntrailing\n",
    };
    struct env *e = *state;
    char path[256], text[512], ptr[256];
    size_t i;

    record_path(e, path, sizeof(path));
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cJSON *doc;

        if (bad[i] == NULL)
            snprintf(text, sizeof(text), "not a record\n");
        else
            snprintf(text, sizeof(text), "devattest-pending-seen 1\nroot %s\n%s", e->root, bad[i]);
        write_file(path, "", text);
        doc = collect_at(e, e->state, T0);
        expect_unknown(doc, "parse_error");
        assert_int_equal(grace_verdict(e, doc, ptr, sizeof(ptr)), DA_VERDICT_UNKNOWN);
        cJSON_Delete(doc);
        doc = collect_at(e, e->state, T0 + DAY);
        expect_age(doc, "2026-01-01T00:00:00Z", DAY);
        cJSON_Delete(doc);
    }
}

/* A record of another root is neither used nor overwritten. */
static void test_other_root_left_alone(void **state)
{
    static const char other[] = "devattest-pending-seen 1\nroot /\nseen libssl3 3.0.13-1 1\nend\n";
    struct env *e = *state;
    char path[256];
    char *after;
    cJSON *doc;

    record_path(e, path, sizeof(path));
    write_file(path, "", other);
    doc = collect_at(e, e->state, T0);
    expect_unknown(doc, "not_present");
    cJSON_Delete(doc);
    after = read_text(path);
    assert_non_null(after);
    assert_string_equal(after, other);
    free(after);
}

/* A new candidate version starts its own count; the old entry is dropped,
 * and an upgrade that is no longer pending leaves the record. */
static void test_new_candidate_and_installed(void **state)
{
    struct env *e = *state;
    char path[256], want[512];
    char *got;
    cJSON *doc;

    record_path(e, path, sizeof(path));
    cJSON_Delete(collect_at(e, e->state, T0));
    set_candidate(e, "3.0.14-1");
    doc = collect_at(e, e->state, T0 + 3 * DAY);
    expect_age(doc, "2026-01-04T00:00:00Z", 0);
    cJSON_Delete(doc);
    got = read_text(path);
    snprintf(want, sizeof(want),
             "devattest-pending-seen 1\nroot %s\nseen libssl3 3.0.14-1 %d\nend\n", e->root,
             T0 + 3 * DAY);
    assert_string_equal(got, want);
    free(got);
    /* the installed version is the candidate: nothing pending */
    set_candidate(e, "3.0.11-1");
    doc = collect_at(e, e->state, T0 + 4 * DAY);
    assert_int_equal(
        cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "patches"), "pending")), 0);
    cJSON_Delete(doc);
    got = read_text(path);
    snprintf(want, sizeof(want), "devattest-pending-seen 1\nroot %s\nend\n", e->root);
    assert_string_equal(got, want);
    free(got);
}

/* The record's mode: private to the agent's account. */
static void test_record_mode(void **state)
{
    struct env *e = *state;
    char path[256];
    struct stat st;

    record_path(e, path, sizeof(path));
    cJSON_Delete(collect_at(e, e->state, T0));
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);
}

/* ---- the parser itself ---- */

static void test_parse_strict(void **state)
{
    static const char good[] = "devattest-pending-seen 1\nroot /\n"
                               "seen a 1.0 5\nseen a 2:1.0~rc1-1 10\nseen b 1 100\nend\n";
    static const char *const bad[] = {
        "",
        "devattest-pending-seen 1\nroot /\n",                              /* no end */
        "devattest-pending-seen 2\nroot /\nend\n",                         /* version */
        "devattest-pending-seen 1\nend\n",                                 /* no root */
        "devattest-pending-seen 1\nroot \nend\n",                          /* empty root */
        "devattest-pending-seen 1\nroot /\nend",                           /* unterminated */
        "devattest-pending-seen 1\r\nroot /\nend\n",                       /* CR */
        "devattest-pending-seen 1\nroot /\nseen b 1 5\nseen a 1 5\nend\n", /* order */
        "devattest-pending-seen 1\nroot /\nseen a 1 5\nseen a 1 6\nend\n", /* repeated */
        "devattest-pending-seen 1\nroot /\nseen a 1 05\nend\n",            /* leading zero */
        "devattest-pending-seen 1\nroot /\nseen a 1 0\nend\n",             /* zero */
        "devattest-pending-seen 1\nroot /\nseen a 1 -5\nend\n",
        "devattest-pending-seen 1\nroot /\nseen a 1 1001\nend\n", /* after now */
        "devattest-pending-seen 1\nroot /\nseen a 1 5 x\nend\n",
        "devattest-pending-seen 1\nroot /\nseen a  1 5\nend\n",
        "devattest-pending-seen 1\nroot /\nseen a 1 5 \nend\n",
        "devattest-pending-seen 1\nroot /\nseen a 1.0- 5\nend\n", /* dpkg refuses the version */
        "devattest-pending-seen 1\nroot /\nseen a\x01 1 5\nend\n",
        "devattest-pending-seen 1\nroot /\nend\n\n", /* after end */
        "devattest-pending-seen 1\nroot /\nseen a 1 99999999999999999999\nend\n",
    };
    struct col_seen s;
    char *text = NULL;
    size_t len = 0, i;

    (void)state;
    assert_int_equal(col_seen_parse(good, strlen(good), 1000, &s), 0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.root, "/");
    assert_non_null(col_seen_find(&s, "a", "2:1.0~rc1-1"));
    assert_int_equal(col_seen_find(&s, "b", "1")->first_seen, 100);
    assert_null(col_seen_find(&s, "b", "2"));
    assert_null(col_seen_find(&s, "c", "1"));
    assert_int_equal(col_seen_format(&s, &text, &len), 0);
    assert_int_equal(len, strlen(good));
    assert_memory_equal(text, good, len);
    free(text);
    col_seen_free(&s);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (col_seen_parse(bad[i], strlen(bad[i]), 1000, &s) != DA_ERR_COLLECT_PARSE)
            fail_msg("accepted bad record %zu", i);
        assert_int_equal(s.n, 0);
        assert_null(s.root);
    }
    /* NUL inside */
    {
        static const char nul[] = "devattest-pending-seen 1\nroot /\0\nend\n";

        assert_int_equal(col_seen_parse(nul, sizeof(nul) - 1, 1000, &s), DA_ERR_COLLECT_PARSE);
    }
}

/* Capped: a record larger than DA_MAX_PENDING_SEEN is refused unread. */
static void test_parse_cap(void **state)
{
    size_t n = DA_MAX_PENDING_SEEN + 1;
    char *big = malloc(n);
    struct col_seen s;

    (void)state;
    assert_non_null(big);
    memset(big, 'a', n);
    assert_int_equal(col_seen_parse(big, n, 1000, &s), DA_ERR_COLLECT_PARSE);
    free(big);
}

int main(void)
{
    const struct CMUnitTest collect[] = {
        cmocka_unit_test_setup(test_grace_period_with_shipped_policy, clear_state),
        cmocka_unit_test_setup(test_seeded_record, clear_state),
        cmocka_unit_test_setup(test_no_state_dir_is_unknown, clear_state),
        cmocka_unit_test_setup(test_unwritable_record_is_unknown, clear_state),
        cmocka_unit_test_setup(test_corrupt_record_rebuilt, clear_state),
        cmocka_unit_test_setup(test_other_root_left_alone, clear_state),
        cmocka_unit_test_setup(test_new_candidate_and_installed, clear_state),
        cmocka_unit_test_setup(test_record_mode, clear_state),
    };
    const struct CMUnitTest parser[] = {
        cmocka_unit_test(test_parse_strict),
        cmocka_unit_test(test_parse_cap),
    };
    int failed = cmocka_run_group_tests(parser, NULL, NULL);

    return failed + cmocka_run_group_tests(collect, setup, teardown);
}
