/* Opening the agent's keys: no TPM, an unusable TCTI, bad settings, and the
 * endorsement hierarchy password, on real transports (no doubles). A missing
 * TPM is an error, never a silent switch to software keys. */
#include "da_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "tpm.h"
#include "tpm_test_util.h"

/* A loopback port nobody listens on (bound, then released). */
static int closed_port(void)
{
    struct sockaddr_in sa = {0};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

static void assert_no_software_keys(const char *dir)
{
    char path[PATH_MAX];
    struct stat st;

    assert_int_not_equal(stat(tt_path(path, sizeof(path), dir, "soft-ak.pem"), &st), 0);
    assert_int_not_equal(stat(tt_path(path, sizeof(path), dir, "soft-sk.pem"), &st), 0);
}

static void test_no_tpm_is_an_error(void **state)
{
    struct tt_env *env = *state;
    struct agent_tpm_settings s = {.mode = AGENT_TPM_MODE_TPM, .state_dir = env->state};
    struct agent_tpm *t = NULL;
    char tcti[128];

    tt_log_capture_start();
    s.tcti = "device:/nonexistent/tpmrm0";
    assert_int_equal(agent_tpm_open(&s, &t), DA_ERR_TPM_ABSENT);
    assert_null(t);
    assert_true(tt_log_contains("device:/nonexistent/tpmrm0"));
    assert_true(tt_log_contains("software-key mode is only used when configured"));

    snprintf(tcti, sizeof(tcti), "swtpm:host=127.0.0.1,port=%d", closed_port());
    s.tcti = tcti;
    assert_int_equal(agent_tpm_open(&s, &t), DA_ERR_TPM_ABSENT);
    assert_null(t);
    tt_log_capture_stop();
    assert_no_software_keys(env->state);
}

static void test_unusable_settings(void **state)
{
    struct tt_env *env = *state;
    struct agent_tpm_settings s = {.mode = AGENT_TPM_MODE_TPM, .state_dir = env->state};
    struct agent_tpm *t = NULL;

    s.tcti = "no-such-transport:whatever";
    assert_int_equal(agent_tpm_open(&s, &t), DA_ERR_TPM_TCTI);
    assert_null(t);

    s.tcti = env->tpm.tcti;
    s.state_dir = NULL;
    assert_int_equal(agent_tpm_open(&s, &t), DA_ERR_CONFIG);
    s.state_dir = "";
    assert_int_equal(agent_tpm_open(&s, &t), DA_ERR_CONFIG);
    s.state_dir = env->state;
    s.mode = (enum agent_tpm_mode)7;
    assert_int_equal(agent_tpm_open(&s, &t), DA_ERR_CONFIG);
    assert_null(t);
    assert_int_equal(agent_tpm_open(NULL, &t), DA_ERR_INVALID_ARG);
}

/* The endorsement hierarchy password: wrong gives DA_ERR_TPM_AUTH with a
 * clear message; right lets the agent create its EK and keys. */
static void test_endorsement_password(void **state)
{
    struct tt_env *env = *state;
    struct agent_tpm_settings s = {
        .mode = AGENT_TPM_MODE_TPM, .tcti = env->tpm.tcti, .state_dir = env->state};
    struct agent_tpm *t = NULL;
    struct agent_tpm_identity *id = NULL;
    char out[4096];

    {
        const char *argv[] = {"tpm2_changeauth", "-T", env->tpm.tcti, "-c", "e", "s3cret", NULL};
        assert_int_equal(tt_run(argv, out, sizeof(out)), 0);
    }
    s.endorsement_auth = "wrong";
    tt_log_capture_start();
    assert_int_equal(agent_tpm_open(&s, &t), 0);
    assert_int_equal(agent_tpm_identity(t, AGENT_IDENTITY_CREATE, &id), DA_ERR_TPM_AUTH);
    assert_true(tt_log_contains("endorsement_auth"));
    tt_log_capture_stop();
    assert_null(id);
    agent_tpm_close(t);

    s.endorsement_auth = "s3cret";
    assert_int_equal(agent_tpm_open(&s, &t), 0);
    assert_int_equal(agent_tpm_identity(t, AGENT_IDENTITY_CREATE, &id), 0);
    tt_assert_activation(env, t, id);
    agent_tpm_close(t);
    agent_tpm_identity_free(id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_no_tpm_is_an_error, tt_test_setup),
        cmocka_unit_test_setup(test_unusable_settings, tt_test_setup),
        cmocka_unit_test_setup(test_endorsement_password, tt_test_setup),
    };
    return cmocka_run_group_tests(tests, tt_group_setup, tt_group_teardown);
}
