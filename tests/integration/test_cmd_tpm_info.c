/* devattest-agent tpm-info, run as a program against a swtpm. */
#include "da_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "eventlog_build.h"
#include "tpm.h"
#include "tpm_test_util.h"

#define AGENT DA_BINARY_ROOT "/agent/devattest-agent"

static char out[65536];

static int agent(const char *const args[])
{
    const char *argv[24];
    int n = 0;

    argv[n++] = AGENT;
    while (*args != NULL && n < 23)
        argv[n++] = *args++;
    argv[n] = NULL;
    return tt_run(argv, out, sizeof(out));
}

static cJSON *json_out(void)
{
    const char *brace = strchr(out, '{');
    cJSON *j;

    assert_non_null(brace);
    j = cJSON_Parse(brace);
    assert_non_null(j);
    return j;
}

static const char *json_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void missing_log(const struct tt_env *env, char *path, size_t size)
{
    tt_path(path, size, env->work, "no-event-log");
}

static void test_text_before_enrollment(void **state)
{
    struct tt_env *env = *state;
    char log[PATH_MAX];
    const char *args[] = {"tpm-info", "--tcti",      env->tpm.tcti, "--state-dir",
                          env->state, "--event-log", log,           NULL};

    missing_log(env, log, sizeof(log));
    assert_int_equal(agent(args), 0);
    assert_non_null(strstr(out, "trust:             tpm"));
    assert_non_null(strstr(out, "manufacturer:      IBM"));
    assert_non_null(strstr(out, "pcr banks:         sha256 (24 PCRs)"));
    assert_non_null(strstr(out, "ek template:       L-1"));
    assert_non_null(strstr(out, "ek certificate:    NV 0x01c00002"));
    assert_non_null(strstr(out, "issuer:          CN=swtpm-localca"));
    assert_non_null(strstr(out, "ak name:           none"));
    assert_non_null(strstr(out, "event log:         absent"));
    assert_non_null(strstr(out, "transient objects: 0"));
}

static void test_json_after_enrollment(void **state)
{
    struct tt_env *env = *state;
    struct agent_tpm *t = NULL;
    struct agent_tpm_identity *id = NULL;
    struct elb log;
    char path[PATH_MAX], *ak_hex;
    cJSON *j, *ek, *banks, *el;
    const char *args[] = {"tpm-info", "--json", "--event-log", path, NULL};

    assert_int_equal(tt_open(env, &t), 0);
    assert_int_equal(agent_tpm_identity(t, AGENT_IDENTITY_CREATE, &id), 0);
    agent_tpm_close(t);
    elb_start_agile(&log);
    elb_event(&log, 0, 1, "firmware", 8);
    elb_event(&log, 7, 0x80000001u, "SecureBoot", 10);
    assert_int_equal(
        tt_write(tt_path(path, sizeof(path), env->work, "bios_log"), log.data, log.len), 0);

    /* TCTI and state directory from the environment. */
    setenv("DA_TCTI", env->tpm.tcti, 1);
    setenv("DA_STATE_DIR", env->state, 1);
    assert_int_equal(agent(args), 0);
    unsetenv("DA_TCTI");
    unsetenv("DA_STATE_DIR");
    j = json_out();
    assert_string_equal(json_str(j, "trust"), "tpm");
    assert_string_equal(json_str(j, "manufacturer"), "IBM");
    ak_hex = tt_hex(id->ak_name.data, id->ak_name.len);
    assert_string_equal(json_str(j, "ak_name"), ak_hex);
    free(ak_hex);
    ek = cJSON_GetObjectItemCaseSensitive(j, "ek");
    assert_string_equal(json_str(ek, "template"), "L-1");
    assert_string_equal(json_str(ek, "certificate_index"), "0x01c00002");
    assert_string_equal(json_str(ek, "issuer"), "CN=swtpm-localca");
    banks = cJSON_GetObjectItemCaseSensitive(j, "pcr_banks");
    assert_int_equal(cJSON_GetArraySize(banks), 1);
    assert_string_equal(json_str(cJSON_GetArrayItem(banks, 0), "bank"), "sha256");
    el = cJSON_GetObjectItemCaseSensitive(j, "event_log");
    assert_string_equal(json_str(el, "state"), "present");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(el, "events")->valueint, 3);
    cJSON_Delete(j);
    agent_tpm_identity_free(id);
}

static void test_software_mode(void **state)
{
    struct tt_env *env = *state;
    struct agent_tpm_settings s = {.mode = AGENT_TPM_MODE_SOFTWARE, .state_dir = env->state};
    struct agent_tpm *t = NULL;
    struct agent_tpm_identity *id = NULL;
    char log[PATH_MAX], *sk_hex;
    cJSON *j;
    const char *args[] = {"tpm-info",    "--key-mode", "software", "--state-dir", env->state,
                          "--event-log", log,          "--json",   NULL};

    missing_log(env, log, sizeof(log));
    assert_int_equal(agent_tpm_open(&s, &t), 0);
    assert_int_equal(agent_tpm_identity(t, AGENT_IDENTITY_CREATE, &id), 0);
    agent_tpm_close(t);
    assert_int_equal(agent(args), 0);
    j = json_out();
    assert_string_equal(json_str(j, "trust"), "software");
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "ek"));
    sk_hex = tt_hex(id->sk_name.data, id->sk_name.len);
    assert_string_equal(json_str(j, "sk_name"), sk_hex);
    free(sk_hex);
    cJSON_Delete(j);
    agent_tpm_identity_free(id);
}

static void test_exit_codes(void **state)
{
    struct tt_env *env = *state;
    const char *absent[] = {"tpm-info",    "--tcti",   "device:/nonexistent/tpm0",
                            "--state-dir", env->state, NULL};
    const char *bad_mode[] = {"tpm-info", "--key-mode", "maybe", NULL};
    const char *bad_opt[] = {"tpm-info", "--frobnicate", NULL};
    const char *extra[] = {"tpm-info", "extra", NULL};
    const char *help[] = {"tpm-info", "--help", NULL};
    const char *top_help[] = {"--help", NULL};
    const char *version[] = {"--version", NULL};

    assert_int_equal(agent(absent), 1);
    assert_non_null(strstr(out, "tpm_absent"));
    assert_non_null(strstr(out, "device:/nonexistent/tpm0"));
    assert_int_equal(agent(bad_mode), 3);
    assert_int_equal(agent(bad_opt), 2);
    assert_int_equal(agent(extra), 2);
    assert_int_equal(agent(help), 0);
    assert_non_null(strstr(out, "--key-mode"));
    assert_int_equal(agent(top_help), 0);
    assert_non_null(strstr(out, "tpm-info"));
    assert_int_equal(agent(version), 0);
    assert_non_null(strstr(out, "devattest-agent "));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_text_before_enrollment, tt_test_setup),
        cmocka_unit_test_setup(test_json_after_enrollment, tt_test_setup),
        cmocka_unit_test_setup(test_software_mode, tt_test_setup),
        cmocka_unit_test_setup(test_exit_codes, tt_test_setup),
    };
    return cmocka_run_group_tests(tests, tt_group_setup, tt_group_teardown);
}
