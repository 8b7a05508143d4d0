#include "tpm_test_util.h"

#include "da_test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <tss2/tss2_mu.h>

#include "caps.h"
#include "log.h"
#include "tpm_public.h"
#include "picky.h"

int tt_start(struct tt_env *env)
{
    memset(env, 0, sizeof(*env));
    /* The TSS's own log would repeat what the agent reports, decoded. */
    setenv("TSS2_LOG", "all+NONE", 1);
    if (da_test_swtpm_start(&env->tpm) != 0)
        return -1;
    tt_path(env->state, sizeof(env->state), env->tpm.dir, "agent-state");
    tt_path(env->work, sizeof(env->work), env->tpm.dir, "work");
    if (mkdir(env->work, 0700) != 0) {
        da_test_swtpm_stop(&env->tpm);
        return -1;
    }
    return 0;
}

void tt_stop(struct tt_env *env)
{
    da_test_swtpm_stop(&env->tpm);
}

void tt_fresh_state(struct tt_env *env)
{
    char name[64];

    snprintf(name, sizeof(name), "agent-state-%u", ++env->serial);
    tt_path(env->state, sizeof(env->state), env->tpm.dir, name);
}

int tt_group_setup(void **state)
{
    struct tt_env *env = calloc(1, sizeof(*env));

    if (env == NULL || tt_start(env) != 0) {
        free(env);
        return -1;
    }
    *state = env;
    return 0;
}

int tt_group_teardown(void **state)
{
    if (*state != NULL)
        tt_stop(*state);
    free(*state);
    return 0;
}

int tt_test_setup(void **state)
{
    tt_fresh_state(*state);
    return 0;
}

int tt_open(const struct tt_env *env, struct agent_tpm **t)
{
    struct agent_tpm_settings s = {
        .mode = AGENT_TPM_MODE_TPM,
        .tcti = env->tpm.tcti,
        .state_dir = env->state,
    };

    return agent_tpm_open(&s, t);
}

int tt_run(const char *const argv[], char *out, size_t size)
{
    int pipefd[2], status;
    size_t got = 0;
    pid_t pid;

    if (pipe(pipefd) != 0)
        return -1;
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(pipefd[1], 1);
        dup2(pipefd[1], 2);
        close(pipefd[0]);
        close(pipefd[1]);
        execvp(argv[0], (char *const *)DA_UNCONST(argv));
        _exit(127);
    }
    close(pipefd[1]);
    for (;;) {
        char tmp[4096];
        ssize_t n = read(pipefd[0], tmp, sizeof(tmp));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (out != NULL && size > 1 && got < size - 1) {
            size_t c = (size_t)n < size - 1 - got ? (size_t)n : size - 1 - got;
            memcpy(out + got, tmp, c);
            got += c;
        }
    }
    close(pipefd[0]);
    if (out != NULL && size > 0)
        out[got] = '\0';
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

const char *tt_path(char *buf, size_t size, const char *dir, const char *name)
{
    int n = snprintf(buf, size, "%s/%s", dir, name);

    if (n < 0 || (size_t)n >= size)
        abort(); /* a test path never gets this long */
    return buf;
}

int tt_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    int ok;

    if (f == NULL)
        return -1;
    ok = len == 0 || fwrite(data, 1, len, f) == len;
    if (fclose(f) != 0)
        ok = 0;
    return ok ? 0 : -1;
}

int tt_read(const char *path, unsigned char **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    size_t n;

    *data = NULL;
    *len = 0;
    if (f == NULL)
        return -1;
    buf = malloc(1u << 20);
    if (buf == NULL) {
        fclose(f);
        return -1;
    }
    n = fread(buf, 1, 1u << 20, f);
    fclose(f);
    *data = buf;
    *len = n;
    return 0;
}

char *tt_hex(const unsigned char *p, size_t n)
{
    char *s = malloc(2 * n + 1);
    size_t i;

    if (s == NULL)
        return NULL;
    for (i = 0; i < n; i++)
        snprintf(s + 2 * i, 3, "%02x", p[i]);
    s[2 * n] = '\0';
    return s;
}

#define TT_LOG_LINES 64
#define TT_LOG_LINE  512
static char tt_log_lines[TT_LOG_LINES][TT_LOG_LINE];
static int tt_log_count;

static void tt_log_sink(enum da_log_level level, const char *line, void *ctx)
{
    (void)level;
    (void)ctx;
    fprintf(stderr, "[log] %s\n", line);
    if (tt_log_count < TT_LOG_LINES)
        snprintf(tt_log_lines[tt_log_count++], TT_LOG_LINE, "%s", line);
}

void tt_log_capture_start(void)
{
    tt_log_count = 0;
    da_log_set_sink(tt_log_sink, NULL);
}

int tt_log_contains(const char *needle)
{
    int i;

    for (i = 0; i < tt_log_count; i++) {
        if (strstr(tt_log_lines[i], needle) != NULL)
            return 1;
    }
    return 0;
}

void tt_log_capture_stop(void)
{
    da_log_set_sink(NULL, NULL);
}

static int tt_write_bytes(const char *dir, const char *name, const struct da_buf *b, char *path,
                          size_t size)
{
    return tt_write(tt_path(path, size, dir, name), da_buf_data(b), da_buf_len(b));
}

/* tpm2-tools' "serialized" PCR file: the host's TPML_PCR_SELECTION, a
 * 32-bit count of digest lists, then that many TPML_DIGEST of up to eight
 * digests, all as in memory. (tpm2-tools 5.4 loses the eighth digest when
 * it reads bare values with -l, so the tests hand it this form, built from
 * the agent's marshalled selection and concatenated values.) */
static int tt_write_tools_pcrs(const char *path, const TPML_PCR_SELECTION *sel,
                               const struct da_buf *values)
{
    TPML_DIGEST lists[TPM2_MAX_PCRS];
    uint32_t count = 0, b;
    size_t off = 0;
    unsigned pcr;
    FILE *f;
    int ok;

    memset(lists, 0, sizeof(lists));
    for (b = 0; b < sel->count; b++) {
        size_t size = da_tpm_hash_size(sel->pcrSelections[b].hash);
        for (pcr = 0; pcr < 8u * sel->pcrSelections[b].sizeofSelect; pcr++) {
            TPML_DIGEST *l = &lists[count];
            if ((sel->pcrSelections[b].pcrSelect[pcr / 8] & (1u << (pcr % 8))) == 0)
                continue;
            if (off + size > da_buf_len(values) || count >= TPM2_MAX_PCRS)
                return -1;
            l->digests[l->count].size = (UINT16)size;
            memcpy(l->digests[l->count].buffer, da_buf_data(values) + off, size);
            off += size;
            if (++l->count == 8)
                count++;
        }
    }
    if (off != da_buf_len(values))
        return -1;
    if (count < TPM2_MAX_PCRS && lists[count].count > 0)
        count++;
    f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    ok = fwrite(sel, sizeof(*sel), 1, f) == 1 && fwrite(&count, sizeof(count), 1, f) == 1 &&
         fwrite(lists, sizeof(lists[0]), count, f) == count;
    return fclose(f) == 0 && ok ? 0 : -1;
}

int tt_checkquote(const struct tt_env *env, const struct da_buf *ak_public, int pem,
                  const struct agent_tpm_quote *q, const unsigned char *qual, size_t qual_len,
                  char *out, size_t size)
{
    char pub[PATH_MAX], msg[PATH_MAX], sig[PATH_MAX], pcrs[PATH_MAX];
    char *qhex = tt_hex(qual, qual_len), *pem_text = NULL;
    const char *argv[20];
    TPML_PCR_SELECTION sel;
    size_t off = 0;
    int n = 0, rc = -1;

    memset(&sel, 0, sizeof(sel));
    if (qhex == NULL || Tss2_MU_TPML_PCR_SELECTION_Unmarshal(da_buf_data(&q->pcr_selection),
                                                             da_buf_len(&q->pcr_selection), &off,
                                                             &sel) != TSS2_RC_SUCCESS)
        goto out;
    if (pem) {
        if (agent_tpm_public_pem(da_buf_data(ak_public), da_buf_len(ak_public), &pem_text) != 0 ||
            tt_write(tt_path(pub, sizeof(pub), env->work, "ak.pem"), pem_text, strlen(pem_text)) !=
                0)
            goto out;
    } else if (tt_write_bytes(env->work, "ak.pub", ak_public, pub, sizeof(pub)) != 0) {
        goto out;
    }
    if (tt_write_bytes(env->work, "quote.msg", &q->attest, msg, sizeof(msg)) != 0 ||
        tt_write_bytes(env->work, "quote.sig", &q->signature, sig, sizeof(sig)) != 0 ||
        tt_write_tools_pcrs(tt_path(pcrs, sizeof(pcrs), env->work, "quote.pcrs"), &sel,
                            &q->pcr_values) != 0)
        goto out;
    argv[n++] = "tpm2_checkquote";
    argv[n++] = "-u";
    argv[n++] = pub;
    argv[n++] = "-m";
    argv[n++] = msg;
    argv[n++] = "-s";
    argv[n++] = sig;
    argv[n++] = "-g";
    argv[n++] = "sha256";
    if (qual_len > 0) {
        argv[n++] = "-q";
        argv[n++] = qhex;
    }
    if (sel.count > 0) {
        argv[n++] = "-f";
        argv[n++] = pcrs;
    }
    argv[n] = NULL;
    rc = tt_run(argv, out, size);
    if (rc != 0)
        fprintf(stderr, "tpm2_checkquote exited %d: %s\n", rc, out != NULL ? out : "");
out:
    free(qhex);
    free(pem_text);
    return rc;
}

static int tt_bytes_dup(struct da_buf *b, const unsigned char *p, size_t n)
{
    da_buf_init(b, DA_MAX_TPM_STRUCT);
    return da_buf_append(b, p, n) == 0 ? 0 : -1;
}

int tt_make_credential(const struct tt_env *env, const struct da_buf *ek_public,
                       const struct da_buf *name, const unsigned char *secret, size_t secret_len,
                       struct da_buf *credential, struct da_buf *encrypted_secret)
{
    char ek[PATH_MAX], sec[PATH_MAX], cred[PATH_MAX], out[4096];
    char *name_hex = tt_hex(da_buf_data(name), da_buf_len(name));
    unsigned char *data = NULL;
    size_t len, id_len, enc_len;
    int rc = -1;

    memset(credential, 0, sizeof(*credential));
    memset(encrypted_secret, 0, sizeof(*encrypted_secret));
    if (name_hex == NULL ||
        tt_write(tt_path(ek, sizeof(ek), env->work, "ek.pub"), da_buf_data(ek_public),
                 da_buf_len(ek_public)) != 0 ||
        tt_write(tt_path(sec, sizeof(sec), env->work, "secret.bin"), secret, secret_len) != 0)
        goto out;
    tt_path(cred, sizeof(cred), env->work, "credential.out");
    {
        /* tpm2-tools 5.4 takes the name as hex. */
        const char *argv[] = {"tpm2_makecredential",
                              "--tcti",
                              "none",
                              "-u",
                              ek,
                              "-s",
                              sec,
                              "-n",
                              name_hex,
                              "-o",
                              cred,
                              NULL};
        if (tt_run(argv, out, sizeof(out)) != 0) {
            fprintf(stderr, "tpm2_makecredential: %s\n", out);
            goto out;
        }
    }
    /* magic 0xBADCC0DE, version 1, TPM2B_ID_OBJECT, TPM2B_ENCRYPTED_SECRET */
    if (tt_read(cred, &data, &len) != 0 || len < 12 || memcmp(data, "\xba\xdc\xc0\xde", 4) != 0)
        goto out;
    id_len = 2 + ((size_t)data[8] << 8 | data[9]);
    if (8 + id_len + 2 > len)
        goto out;
    enc_len = 2 + ((size_t)data[8 + id_len] << 8 | data[8 + id_len + 1]);
    if (8 + id_len + enc_len != len)
        goto out;
    if (tt_bytes_dup(credential, data + 8, id_len) != 0 ||
        tt_bytes_dup(encrypted_secret, data + 8 + id_len, enc_len) != 0)
        goto out;
    rc = 0;
out:
    free(data);
    free(name_hex);
    return rc;
}

void tt_assert_activation(const struct tt_env *env, struct agent_tpm *t,
                          const struct agent_tpm_identity *id)
{
    struct da_buf cred, enc, got = {0};
    unsigned char secret[32];
    size_t i;

    for (i = 0; i < sizeof(secret); i++)
        secret[i] = (unsigned char)(0xa5 ^ (i * 7) ^ env->serial);
    assert_int_equal(
        tt_make_credential(env, &id->ek_public, &id->ak_name, secret, sizeof(secret), &cred, &enc),
        0);
    assert_int_equal(agent_tpm_activate_credential(t, da_buf_data(&cred), da_buf_len(&cred),
                                                   da_buf_data(&enc), da_buf_len(&enc), &got),
                     0);
    assert_int_equal(da_buf_len(&got), sizeof(secret));
    assert_memory_equal(da_buf_data(&got), secret, sizeof(secret));
    da_buf_free(&got);
    da_buf_free(&cred);
    da_buf_free(&enc);
}

void tt_tools_public_pem(const char *pub, const char *pem)
{
    const char *argv[] = {"tpm2_print", "-t", "TPM2B_PUBLIC", "-f", "pem", pub, NULL};
    char text[4096];
    const char *begin;

    assert_int_equal(tt_run(argv, text, sizeof(text)), 0);
    begin = strstr(text, "-----BEGIN");
    assert_non_null(begin);
    assert_int_equal(tt_write(pem, begin, strlen(begin)), 0);
}

void tt_run_ok(const char *const argv[])
{
    char out[8192];
    int rc = tt_run(argv, out, sizeof(out));

    if (rc != 0)
        fprintf(stderr, "%s exited %d: %s\n", argv[0], rc, out);
    assert_int_equal(rc, 0);
}

void tt_nv_undefine(const struct tt_env *env, const char *index)
{
    const char *argv[] = {"tpm2_nvundefine", "-T", env->tpm.tcti, "-C", "p", index, NULL};

    tt_run_ok(argv);
}

/* Write a file (a DER certificate, an EK template or nonce) into a new
 * platform NV index, as a manufacturer does. */
void tt_nv_store(const struct tt_env *env, const char *index, const char *der)
{
    unsigned char *data;
    size_t len;
    char size[16];

    assert_int_equal(tt_read(der, &data, &len), 0);
    free(data);
    snprintf(size, sizeof(size), "%zu", len);
    {
        const char *argv[] = {"tpm2_nvdefine",
                              "-T",
                              env->tpm.tcti,
                              "-C",
                              "p",
                              "-s",
                              size,
                              "-a",
                              "ppwrite|ppread|ownerread|authread|no_da|platformcreate",
                              index,
                              NULL};
        tt_run_ok(argv);
    }
    {
        const char *argv[] = {"tpm2_nvwrite", "-T", env->tpm.tcti, "-C", "p",
                              "-i",           der,  index,         NULL};
        tt_run_ok(argv);
    }
}

/* A certificate for the public key in pem, issued by the harness's CA. */
void tt_issue_cert(const struct tt_env *env, const char *pem, const char *der)
{
    char key[PATH_MAX];
    const char *argv[] = {"openssl",
                          "x509",
                          "-new",
                          "-subj",
                          "/CN=devattest test EK",
                          "-force_pubkey",
                          pem,
                          "-CA",
                          env->tpm.ca_issuer,
                          "-CAkey",
                          tt_path(key, sizeof(key), env->tpm.dir, "ca/signkey.pem"),
                          "-days",
                          "2",
                          "-outform",
                          "der",
                          "-out",
                          der,
                          NULL};

    tt_run_ok(argv);
}
