/* Helpers for the tests of the agent's keys: a fresh swtpm with an agent
 * state directory, running tpm2-tools, files. */
#ifndef DA_TPM_TEST_UTIL_H
#define DA_TPM_TEST_UTIL_H

#include <limits.h>
#include <stddef.h>

#include "swtpm_harness.h"
#include "tpm.h"

struct tt_env {
    struct da_test_swtpm tpm;
    char state[PATH_MAX]; /* agent state directory (not created) */
    char work[PATH_MAX];  /* scratch directory for files handed to tools */
    unsigned serial;
};

/* Start a fresh swtpm and prepare the directories. 0 or -1. */
int tt_start(struct tt_env *env);
void tt_stop(struct tt_env *env);
/* A new, not yet existing agent state directory on the same swtpm: tests
 * that share one swtpm each get their own agent identity. */
void tt_fresh_state(struct tt_env *env);
/* cmocka group setup/teardown: one swtpm for the group, a fresh agent state
 * directory per test (tt_test_setup). *state is the struct tt_env. */
int tt_group_setup(void **state);
int tt_group_teardown(void **state);
int tt_test_setup(void **state);
/* Open the agent's keys on the env's swtpm. */
int tt_open(const struct tt_env *env, struct agent_tpm **t);

/* Run a program (argv[0] searched in PATH) with stdout and stderr captured
 * into out (NUL-terminated, truncated to size). Returns its exit status, or
 * -1 when it could not run or was killed. */
int tt_run(const char *const argv[], char *out, size_t size);

/* dir/name into buf. */
const char *tt_path(char *buf, size_t size, const char *dir, const char *name);
int tt_write(const char *path, const void *data, size_t len);
/* Read a whole file (at most 1 MiB); free with free(). */
int tt_read(const char *path, unsigned char **data, size_t *len);
/* Hex of bytes into a fresh string; free with free(). */
char *tt_hex(const unsigned char *p, size_t n);

/* Verify a quote with tpm2_checkquote: the AK public (TPM2B_PUBLIC, or PEM
 * when pem != 0), the quote's message, signature and PCR values, and the
 * qualifying data. Returns the tool's exit status; its output goes to out. */
int tt_checkquote(const struct tt_env *env, const struct da_buf *ak_public, int pem,
                  const struct agent_tpm_quote *q, const unsigned char *qual, size_t qual_len,
                  char *out, size_t size);

/* The PEM of a TPM2B_PUBLIC file as tpm2_print makes it, written to pem; the
 * test fails when the tool does. */
void tt_tools_public_pem(const char *pub, const char *pem);

/* tpm2_makecredential --tcti none for an EK public (TPM2B_PUBLIC) and an
 * object name: the marshalled TPM2B_ID_OBJECT and TPM2B_ENCRYPTED_SECRET
 * taken from the tool's output file. 0 or -1. */
int tt_make_credential(const struct tt_env *env, const struct da_buf *ek_public,
                       const struct da_buf *name, const unsigned char *secret, size_t secret_len,
                       struct da_buf *credential, struct da_buf *encrypted_secret);
/* Check an activation round trip: make a credential for the identity's AK
 * with the tool, activate it with the agent, compare the secret. */
void tt_assert_activation(const struct tt_env *env, struct agent_tpm *t,
                          const struct agent_tpm_identity *id);

/* Run a tool; the test fails (with its output on stderr) unless it exits 0. */
void tt_run_ok(const char *const argv[]);
/* Remove a platform NV index (tpm2_nvundefine -C p). */
void tt_nv_undefine(const struct tt_env *env, const char *index);
/* Write a file (a DER certificate, an EK template or nonce) into a new
 * platform NV index, as a manufacturer does. */
void tt_nv_store(const struct tt_env *env, const char *index, const char *file);
/* A DER certificate for the public key in pem, issued by the harness's CA. */
void tt_issue_cert(const struct tt_env *env, const char *pem, const char *der);

/* Log lines captured while a test runs. */
void tt_log_capture_start(void);
/* Whether any captured line contains needle. */
int tt_log_contains(const char *needle);
void tt_log_capture_stop(void);

#endif
