/* EK templates and nonces a manufacturer provisions in NV (TCG EK Credential
 * Profile: 0x01C00003/0x01C00004 for RSA 2048, 0x01C0000B/0x01C0000C for ECC
 * P-256). The oracle for the EK such a TPM holds is the TPM itself, asked by
 * tpm2_createprimary for the key of that template with that nonce in its
 * unique field; the test issues the EK certificate for that key from the
 * harness's CA, as the manufacturer would. The agent must make the
 * same EK, match it with the certificate, activate a credential
 * (tpm2_makecredential) and quote with it. One swtpm, tests in order. */
#include "da_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <tss2/tss2_mu.h>

#include "err.h"
#include "tpm.h"
#include "tpm_test_util.h"

/* The EK Credential Profile's PolicyA (PolicySecret(TPM_RH_ENDORSEMENT)). */
static const BYTE policy_a[32] = {0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8, 0x1a, 0x90, 0xcc,
                                  0x8d, 0x46, 0xa5, 0xd7, 0x24, 0xfd, 0x52, 0xd7, 0x6e, 0x06, 0x52,
                                  0x0b, 0x64, 0xf2, 0xa1, 0xda, 0x1b, 0x33, 0x14, 0x69, 0xaa};

/* A manufacturer's template: the profile's low-range one with noDA set, so
 * the EK differs from the default one. */
static void make_template(TPMI_ALG_PUBLIC type, TPMT_PUBLIC *a)
{
    memset(a, 0, sizeof(*a));
    a->type = type;
    a->nameAlg = TPM2_ALG_SHA256;
    a->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                          TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_ADMINWITHPOLICY |
                          TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT | TPMA_OBJECT_NODA;
    a->authPolicy.size = sizeof(policy_a);
    memcpy(a->authPolicy.buffer, policy_a, sizeof(policy_a));
    if (type == TPM2_ALG_RSA) {
        a->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_AES;
        a->parameters.rsaDetail.symmetric.keyBits.aes = 128;
        a->parameters.rsaDetail.symmetric.mode.aes = TPM2_ALG_CFB;
        a->parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
        a->parameters.rsaDetail.keyBits = 2048;
    } else {
        a->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
        a->parameters.eccDetail.symmetric.keyBits.aes = 128;
        a->parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
        a->parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
        a->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
        a->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
    }
}

static void write_template(const char *path, const TPMT_PUBLIC *a, size_t padding)
{
    unsigned char buf[1024];
    size_t off = 0;

    assert_int_equal(Tss2_MU_TPMT_PUBLIC_Marshal(a, buf, sizeof(buf), &off), TSS2_RC_SUCCESS);
    assert_true(off + padding <= sizeof(buf));
    memset(buf + off, 0, padding);
    assert_int_equal(tt_write(path, buf, off + padding), 0);
}

/* The EK a TPM makes from that template and nonce, by tpm2_createprimary
 * with the template given as options (tpm2_createek -t of tpm2-tools 5.4
 * copies the nonce pointer rather than the nonce, so it cannot serve). The
 * TCG EK Credential Profile puts the nonce into unique, padded with zeros:
 * RSA to 256 bytes; ECC into x, padded to 32 bytes, and y is 32 zero bytes.
 * tpm2_createprimary -u takes the TPMU_PUBLIC_ID as it lies in memory. */
static void tools_ek(const struct tt_env *env, TPMI_ALG_PUBLIC type, const unsigned char *nonce,
                     size_t nonce_len, const char *pub)
{
    char ctx[PATH_MAX], policy[PATH_MAX], unique[PATH_MAX];
    TPMU_PUBLIC_ID u;

    memset(&u, 0, sizeof(u));
    if (type == TPM2_ALG_RSA) {
        u.rsa.size = 256;
        memcpy(u.rsa.buffer, nonce, nonce_len);
    } else {
        u.ecc.x.size = 32;
        u.ecc.y.size = 32;
        memcpy(u.ecc.x.buffer, nonce, nonce_len);
    }
    assert_int_equal(tt_write(tt_path(unique, sizeof(unique), env->work, "ek.unique"), &u,
                              type == TPM2_ALG_RSA ? 2 + 256 : sizeof(u.ecc)),
                     0);
    assert_int_equal(tt_write(tt_path(policy, sizeof(policy), env->work, "policy-a"), policy_a,
                              sizeof(policy_a)),
                     0);
    tt_path(ctx, sizeof(ctx), env->work, "ek-t.ctx");
    {
        const char *argv[] = {
            "tpm2_createprimary",
            "-T",
            env->tpm.tcti,
            "-C",
            "e",
            "-g",
            "sha256",
            "-G",
            type == TPM2_ALG_RSA ? "rsa2048:aes128cfb" : "ecc256:aes128cfb",
            "-a",
            "fixedtpm|fixedparent|sensitivedataorigin|adminwithpolicy|restricted|decrypt|noda",
            "-L",
            policy,
            "-u",
            unique,
            "-c",
            ctx,
            NULL};
        const char *read[] = {"tpm2_readpublic", "-T", env->tpm.tcti, "-c", ctx, "-o", pub, NULL};
        const char *flush[] = {"tpm2_flushcontext", "-T", env->tpm.tcti, "-t", NULL};
        tt_run_ok(argv);
        tt_run_ok(read);
        tt_run_ok(flush);
    }
}

static void check_identity(struct tt_env *env, uint32_t cert_index, const char *label,
                           const char *cert_der, const char *reference_pub)
{
    struct agent_tpm *t = NULL;
    struct agent_tpm_identity *id = NULL;
    struct agent_tpm_quote *q = NULL;
    TPML_PCR_SELECTION sel;
    unsigned char *ref, *cert, nonce[8] = "template";
    size_t ref_len, cert_len;
    char out[8192];

    assert_int_equal(tt_open(env, &t), 0);
    assert_int_equal(agent_tpm_identity(t, AGENT_IDENTITY_CREATE, &id), 0);
    assert_int_equal(id->ek_cert_index, cert_index);
    assert_string_equal(id->ek_template, label);
    assert_int_equal(tt_read(cert_der, &cert, &cert_len), 0);
    assert_int_equal(id->ek_cert.len, cert_len);
    assert_memory_equal(id->ek_cert.data, cert, cert_len);
    free(cert);
    assert_int_equal(tt_read(reference_pub, &ref, &ref_len), 0);
    assert_int_equal(id->ek_public.len, ref_len);
    assert_memory_equal(id->ek_public.data, ref, ref_len);
    free(ref);
    tt_assert_activation(env, t, id);
    assert_int_equal(agent_pcr_selection_parse(AGENT_TPM_DEFAULT_PCRS, &sel), 0);
    assert_int_equal(agent_tpm_quote(t, &sel, nonce, sizeof(nonce), &q), 0);
    agent_tpm_close(t);
    assert_int_equal(
        tt_checkquote(env, &id->ak_public, 0, q, nonce, sizeof(nonce), out, sizeof(out)), 0);
    agent_tpm_quote_free(q);
    agent_tpm_identity_free(id);
}

/* Provision template and nonce for one kind, make the certificate for the
 * EK tpm2_createek -t finds, and check the agent's identity. */
static void provision_and_check(struct tt_env *env, TPMI_ALG_PUBLIC type, const char *cert_index,
                                const char *nonce_index, const char *template_index,
                                uint32_t cert_handle, const char *label, const char *default_pub,
                                int cert_exists)
{
    char tmpl[PATH_MAX], nonce[PATH_MAX], pub[PATH_MAX], pem[PATH_MAX], der[PATH_MAX];
    const unsigned char nonce_bytes[16] = "manufacturer-nc";
    unsigned char *dflt, *got;
    size_t dflt_len, got_len;
    TPMT_PUBLIC a;

    make_template(type, &a);
    write_template(tt_path(tmpl, sizeof(tmpl), env->work, "ek.template"), &a, 0);
    assert_int_equal(tt_write(tt_path(nonce, sizeof(nonce), env->work, "ek.nonce"), nonce_bytes,
                              sizeof(nonce_bytes)),
                     0);
    tt_nv_store(env, template_index, tmpl);
    tt_nv_store(env, nonce_index, nonce);
    tools_ek(env, type, nonce_bytes, sizeof(nonce_bytes),
             tt_path(pub, sizeof(pub), env->work, "ek-t.pub"));
    /* The NV template and nonce make a different EK than the default. */
    assert_int_equal(tt_read(default_pub, &dflt, &dflt_len), 0);
    assert_int_equal(tt_read(pub, &got, &got_len), 0);
    assert_false(dflt_len == got_len && memcmp(dflt, got, got_len) == 0);
    free(dflt);
    free(got);
    tt_tools_public_pem(pub, tt_path(pem, sizeof(pem), env->work, "ek-t.pem"));
    tt_issue_cert(env, pem, tt_path(der, sizeof(der), env->work, "ek-t.der"));
    if (cert_exists)
        tt_nv_undefine(env, cert_index);
    tt_nv_store(env, cert_index, der);
    check_identity(env, cert_handle, label, der, pub);
}

static void default_ek(const struct tt_env *env, const char *alg, const char *pub)
{
    char ctx[PATH_MAX];
    const char *argv[] = {"tpm2_createek",
                          "-T",
                          env->tpm.tcti,
                          "-G",
                          alg,
                          "-c",
                          tt_path(ctx, sizeof(ctx), env->work, "ek-d.ctx"),
                          "-u",
                          pub,
                          NULL};
    const char *flush[] = {"tpm2_flushcontext", "-T", env->tpm.tcti, "-t", NULL};

    tt_run_ok(argv);
    tt_run_ok(flush);
}

/* A template the agent could not authorize (another policy), or with data
 * after it, is refused with its own code before any key is made. */
static void test_unusable_template_refused(void **state)
{
    struct tt_env *env = *state;
    struct agent_tpm *t = NULL;
    struct agent_tpm_identity *id = NULL;
    char tmpl[PATH_MAX], file[PATH_MAX];
    struct stat st;
    TPMT_PUBLIC a;
    size_t i;

    for (i = 0; i < 2; i++) {
        make_template(TPM2_ALG_RSA, &a);
        if (i == 0)
            a.authPolicy.buffer[0] ^= 1;
        write_template(tt_path(tmpl, sizeof(tmpl), env->work, "bad.template"), &a, 0);
        if (i == 1) {
            /* Append a non-zero byte. */
            unsigned char *d;
            size_t n;
            assert_int_equal(tt_read(tmpl, &d, &n), 0);
            d = realloc(d, n + 1);
            assert_non_null(d);
            d[n] = 0x5a;
            assert_int_equal(tt_write(tmpl, d, n + 1), 0);
            free(d);
        }
        tt_nv_store(env, "0x01C00004", tmpl);
        tt_log_capture_start();
        assert_int_equal(tt_open(env, &t), 0);
        assert_int_equal(agent_tpm_identity(t, AGENT_IDENTITY_CREATE, &id), DA_ERR_TPM_EK_TEMPLATE);
        assert_true(tt_log_contains("EK template in NV"));
        tt_log_capture_stop();
        assert_null(id);
        agent_tpm_close(t);
        /* Nothing was written: no EK record, no key. */
        assert_int_not_equal(stat(tt_path(file, sizeof(file), env->state, "ek.pub"), &st), 0);
        assert_int_not_equal(stat(tt_path(file, sizeof(file), env->state, "ak.key"), &st), 0);
        tt_nv_undefine(env, "0x01C00004");
    }
    /* Padding with zeros is what a larger index holds: accepted. */
    make_template(TPM2_ALG_RSA, &a);
    write_template(tmpl, &a, 16);
    tt_nv_store(env, "0x01C00004", tmpl);
    assert_int_equal(tt_open(env, &t), 0);
    assert_int_equal(agent_tpm_identity(t, AGENT_IDENTITY_EK_ONLY, &id), DA_ERR_TPM_EK_MISMATCH);
    agent_tpm_close(t);
    tt_nv_undefine(env, "0x01C00004");
}

static void test_rsa_template_and_nonce(void **state)
{
    struct tt_env *env = *state;
    char dflt[PATH_MAX];

    default_ek(env, "rsa", tt_path(dflt, sizeof(dflt), env->work, "ek-rsa-default.pub"));
    provision_and_check(env, TPM2_ALG_RSA, "0x01C00002", "0x01C00003", "0x01C00004", 0x01C00002,
                        "L-1", dflt, 1);
}

static void test_ecc_template_and_nonce(void **state)
{
    struct tt_env *env = *state;
    char dflt[PATH_MAX];

    /* Without the RSA certificate the P-256 one comes first. */
    tt_nv_undefine(env, "0x01C00002");
    default_ek(env, "ecc", tt_path(dflt, sizeof(dflt), env->work, "ek-ecc-default.pub"));
    /* swtpm_setup made no P-256 certificate. */
    provision_and_check(env, TPM2_ALG_ECC, "0x01C0000A", "0x01C0000B", "0x01C0000C", 0x01C0000A,
                        "L-2", dflt, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_unusable_template_refused, tt_test_setup),
        cmocka_unit_test_setup(test_rsa_template_and_nonce, tt_test_setup),
        cmocka_unit_test_setup(test_ecc_template_and_nonce, tt_test_setup),
    };
    return cmocka_run_group_tests(tests, tt_group_setup, tt_group_teardown);
}
