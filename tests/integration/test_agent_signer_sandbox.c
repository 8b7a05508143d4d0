/* The signer's sandbox around real TPM work on swtpm: keys created and
 * loaded, a quote, a certify and a credential activation, all after the
 * filter is in place, in a forked child.
 *
 * The swtpm TCTI connects anew for every command, so with it the signer runs
 * the simulator profile (TCP sockets allowed, nothing else). The strict
 * profile, used with the TPM device, is shown here to stop that TCTI at its
 * first command; tests/unit/test_agent_sandbox.c proves it further. */
#include "da_test.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "file.h"
#include "log.h"
#include "sandbox.h"
#include "tpm.h"
#include "tpm_test_util.h"

enum {
    OK = 0,
    OPEN = 10,
    SANDBOX = 11,
    IDENTITY = 12,
    QUOTE = 13,
    CERTIFY = 14,
    ACTIVATE = 15,
    SECRET = 16,
    SOCKET_ALLOWED = 17
};

struct job {
    const struct tt_env *env;
    enum agent_sandbox_profile profile;
    enum agent_sandbox_mode mode;
    int flags; /* AGENT_IDENTITY_* */
    const struct da_buf *credential, *encrypted_secret;
    const unsigned char *secret;
    size_t secret_len;
    int try_socket;
};

static int signer_work(const struct job *j)
{
    struct agent_tpm *t = NULL;
    struct agent_tpm_identity *id = NULL;
    struct agent_tpm_quote *q = NULL;
    struct da_buf attest = {0}, sig = {0}, got = {0};
    TPML_PCR_SELECTION sel;
    unsigned char qual[32];

    memset(qual, 0x5a, sizeof(qual));
    if (tt_open(j->env, &t) != 0)
        return OPEN;
    /* As the signer does: its state directory is kept open before the
     * filter, which allows writing only relative to it. */
    if ((mkdir(j->env->state, 0700) != 0 && errno != EEXIST) ||
        da_file_dir_keep(j->env->state, -1) < 0)
        return OPEN;
    /* The TCTI's connection exists now; from here on no new socket. */
    if (agent_sandbox_enter(j->profile, j->mode) != 0)
        return SANDBOX;
    if (agent_tpm_identity(t, j->flags, &id) != 0)
        return IDENTITY;
    if (agent_pcr_selection_parse(AGENT_TPM_DEFAULT_PCRS, &sel) != 0 ||
        agent_tpm_quote(t, &sel, qual, sizeof(qual), &q) != 0)
        return QUOTE;
    if (agent_tpm_certify_sk(t, qual, sizeof(qual), &attest, &sig) != 0)
        return CERTIFY;
    if (j->credential != NULL) {
        if (agent_tpm_activate_credential(t, da_buf_data(j->credential), da_buf_len(j->credential),
                                          da_buf_data(j->encrypted_secret),
                                          da_buf_len(j->encrypted_secret), &got) != 0)
            return ACTIVATE;
        if (da_buf_len(&got) != j->secret_len ||
            memcmp(da_buf_data(&got), j->secret, da_buf_len(&got)) != 0)
            return SECRET;
    }
    if (j->try_socket &&
        (socket(AF_UNIX, SOCK_STREAM, 0) >= 0 || socket(AF_INET, SOCK_DGRAM, 0) >= 0))
        return SOCKET_ALLOWED;
    da_buf_free(&attest);
    da_buf_free(&sig);
    da_buf_free(&got);
    agent_tpm_quote_free(q);
    agent_tpm_identity_free(id);
    agent_tpm_close(t);
    return OK;
}

static int run_job(const struct job *j)
{
    struct rlimit nocore = {0, 0};
    int status;
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        setrlimit(RLIMIT_CORE, &nocore);
        exit(signer_work(j));
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

static void expect_ok(int status)
{
    if (!WIFEXITED(status) || WEXITSTATUS(status) != OK)
        fail_msg("signer job: %s %d", WIFSIGNALED(status) ? "signal" : "exit",
                 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
}

static void test_signer_creates_keys_and_quotes_in_sandbox(void **state)
{
    struct tt_env *env = *state;
    struct job j = {env,
                    AGENT_SANDBOX_SIGNER_SIMULATOR,
                    AGENT_SANDBOX_ENFORCE,
                    AGENT_IDENTITY_CREATE,
                    NULL,
                    NULL,
                    NULL,
                    0,
                    0};

    assert_int_equal(agent_sandbox_signer_profile(env->tpm.tcti), AGENT_SANDBOX_SIGNER_SIMULATOR);
    assert_int_equal(agent_sandbox_signer_profile("device:/dev/tpmrm0"), AGENT_SANDBOX_SIGNER);
    /* First run: the keys are made (state files written) inside the sandbox. */
    expect_ok(run_job(&j));
    /* Second run: loaded from the state directory. */
    j.flags = AGENT_IDENTITY_LOAD;
    expect_ok(run_job(&j));
}

static void test_signer_activates_credential_in_sandbox(void **state)
{
    struct tt_env *env = *state;
    struct agent_tpm *t = NULL;
    struct agent_tpm_identity *id = NULL;
    struct da_buf cred = {0}, enc = {0};
    unsigned char secret[32];
    struct job j = {env,
                    AGENT_SANDBOX_SIGNER_SIMULATOR,
                    AGENT_SANDBOX_ENFORCE,
                    AGENT_IDENTITY_LOAD,
                    &cred,
                    &enc,
                    secret,
                    32,
                    0};

    memset(secret, 0xa7, sizeof(secret));
    assert_int_equal(tt_open(env, &t), 0);
    assert_int_equal(agent_tpm_identity(t, AGENT_IDENTITY_CREATE, &id), 0);
    agent_tpm_close(t);
    assert_int_equal(
        tt_make_credential(env, &id->ek_public, &id->ak_name, secret, sizeof(secret), &cred, &enc),
        0);
    expect_ok(run_job(&j));
    da_buf_free(&cred);
    da_buf_free(&enc);
    agent_tpm_identity_free(id);
}

static void expect_sigsys(int status)
{
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSYS)
        fail_msg("expected SIGSYS, got %s %d", WIFSIGNALED(status) ? "signal" : "exit",
                 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
}

static void test_signer_cannot_open_other_sockets(void **state)
{
    struct tt_env *env = *state;
    struct job j = {env,
                    AGENT_SANDBOX_SIGNER_SIMULATOR,
                    AGENT_SANDBOX_ENFORCE,
                    AGENT_IDENTITY_CREATE,
                    NULL,
                    NULL,
                    NULL,
                    0,
                    1};

    /* Log mode: both forbidden sockets fail with EPERM and it goes on. */
    j.mode = AGENT_SANDBOX_LOG;
    expect_ok(run_job(&j));
    /* Enforced: all the TPM work succeeds, then the AF_UNIX socket kills it.
     * (Last: a signer killed mid-session leaves objects in a TPM that has
     * no resource manager, as swtpm here.) */
    j.mode = AGENT_SANDBOX_ENFORCE;
    j.flags = AGENT_IDENTITY_LOAD;
    expect_sigsys(run_job(&j));
}

static void test_strict_signer_stops_the_reconnecting_tcti(void **state)
{
    struct tt_env *env = *state;
    struct job j = {env,
                    AGENT_SANDBOX_SIGNER,
                    AGENT_SANDBOX_ENFORCE,
                    AGENT_IDENTITY_CREATE,
                    NULL,
                    NULL,
                    NULL,
                    0,
                    0};

    expect_sigsys(run_job(&j));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_signer_creates_keys_and_quotes_in_sandbox, tt_test_setup),
        cmocka_unit_test_setup(test_signer_activates_credential_in_sandbox, tt_test_setup),
        cmocka_unit_test_setup(test_signer_cannot_open_other_sockets, tt_test_setup),
        cmocka_unit_test_setup(test_strict_signer_stops_the_reconnecting_tcti, tt_test_setup),
    };

    da_log_set_level(DA_LOG_ERROR);
    return cmocka_run_group_tests(tests, tt_group_setup, tt_group_teardown);
}
