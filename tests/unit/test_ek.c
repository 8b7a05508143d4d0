/* EK certificate chains (common/ek.c) made with openssl in the test: the
 * critical subject directory attributes extension the TPM specification puts
 * on EK certificates is tolerated on the EK certificate only; on a CA, it
 * and any other unknown critical extension make the chain fail. The chains
 * that swtpm_setup provisions are tested in tests/integration/test_ek_swtpm.c. */
#include "da_test.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "caps.h"
#include "ek.h"
#include "err.h"
#include "tmp_tree.h"
#include "tpm_public.h"
#include "tpm_soft.h"
#include "verify_support.h"

struct fixture {
    char dir[PATH_MAX];
    EVP_PKEY *key;
    struct da_tpm_public *ek;
    struct da_ek_trust *trust; /* root.pem only */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct soft_public d = {SOFT_EK_ATTRS, TPM2_ALG_SHA256, TPM2_ALG_NULL, TPM2_ALG_NULL, 128};
    char script[PATH_MAX];
    uint8_t pub[512];
    size_t pub_len;
    FILE *pem;
    int ok;

    if (f == NULL || da_test_tmpdir("da-ek", f->dir, sizeof(f->dir)) != 0)
        return -1;
    *state = f;
    f->key = soft_key("P-256");
    if (f->key == NULL || soft_tpm_public(f->key, &d, pub, sizeof(pub), &pub_len) != 0 ||
        da_tpm_public_parse(pub, pub_len, &f->ek) != 0)
        return -1;
    pem = fopen(vs_path(f->dir, "ek_pub.pem"), "w");
    if (pem == NULL)
        return -1;
    ok = PEM_write_PUBKEY(pem, f->key) == 1;
    if (fclose(pem) != 0 || !ok)
        return -1;
    snprintf(script, sizeof(script), "%s/tests/unit/ek-ca-certs", DA_SOURCE_ROOT);
    {
        const char *argv[] = {script, f->dir, vs_path(f->dir, "ek_pub.pem"), NULL};

        if (vs_run(argv) != 0)
            return -1;
    }
    if (da_ek_trust_new(&f->trust) != 0 ||
        da_ek_trust_add_roots_file(f->trust, vs_path(f->dir, "root.pem")) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    if (f == NULL)
        return 0;
    da_ek_trust_free(f->trust);
    da_tpm_public_free(f->ek);
    EVP_PKEY_free(f->key);
    (void)da_test_rmtree(f->dir);
    free(f);
    return 0;
}

/* Verify leaf_<kind>.der with ca_<kind>.der sent along by the agent. */
static int verify_sent(struct fixture *f, const char *kind, const char **reason)
{
    char name[32];
    uint8_t *leaf, *ca;
    size_t leaf_len, ca_len;
    const uint8_t *chain[1];
    int rc;

    snprintf(name, sizeof(name), "leaf_%s.der", kind);
    assert_int_equal(vs_read_file(vs_path(f->dir, name), &leaf, &leaf_len), 0);
    snprintf(name, sizeof(name), "ca_%s.der", kind);
    assert_int_equal(vs_read_file(vs_path(f->dir, name), &ca, &ca_len), 0);
    chain[0] = ca;
    rc = da_ek_cert_verify(f->trust, leaf, leaf_len, chain, &ca_len, 1, f->ek, 0, reason);
    free(leaf);
    free(ca);
    return rc;
}

/* The same with ca_<kind> configured as a trusted intermediate. */
static int verify_configured(struct fixture *f, const char *kind)
{
    struct da_ek_trust *t = NULL;
    char name[32];
    uint8_t *leaf, *ca;
    size_t leaf_len, ca_len;
    int rc;

    assert_int_equal(da_ek_trust_new(&t), 0);
    assert_int_equal(da_ek_trust_add_roots_file(t, vs_path(f->dir, "root.pem")), 0);
    snprintf(name, sizeof(name), "ca_%s.der", kind);
    assert_int_equal(vs_read_file(vs_path(f->dir, name), &ca, &ca_len), 0);
    assert_int_equal(da_ek_trust_add_intermediate(t, ca, ca_len), 0);
    snprintf(name, sizeof(name), "leaf_%s.der", kind);
    assert_int_equal(vs_read_file(vs_path(f->dir, name), &leaf, &leaf_len), 0);
    rc = da_ek_cert_verify(t, leaf, leaf_len, NULL, NULL, 0, f->ek, 0, NULL);
    free(leaf);
    free(ca);
    da_ek_trust_free(t);
    return rc;
}

static void test_leaf_sda_tolerated(void **state)
{
    struct fixture *f = *state;
    const char *reason = "unset";

    assert_int_equal(verify_sent(f, "plain", &reason), 0);
    assert_null(reason);
    assert_int_equal(verify_configured(f, "plain"), 0);
}

static void test_ca_sda_refused(void **state)
{
    struct fixture *f = *state;
    const char *reason = NULL;

    assert_int_equal(verify_sent(f, "sda", &reason), DA_ERR_VERIFY_EK_CHAIN);
    assert_non_null(reason);
    assert_string_equal(reason, "unhandled critical extension");
    assert_int_equal(verify_configured(f, "sda"), DA_ERR_VERIFY_EK_CHAIN);
}

static void test_ca_unknown_critical_refused(void **state)
{
    struct fixture *f = *state;
    const char *reason = NULL;

    assert_int_equal(verify_sent(f, "unknown", &reason), DA_ERR_VERIFY_EK_CHAIN);
    assert_non_null(reason);
    assert_string_equal(reason, "unhandled critical extension");
    assert_int_equal(verify_configured(f, "unknown"), DA_ERR_VERIFY_EK_CHAIN);
}

/* Only the subject directory attributes extension is tolerated on the EK
 * certificate itself. */
static void test_leaf_unknown_critical_refused(void **state)
{
    struct fixture *f = *state;
    const char *reason = NULL;
    uint8_t *leaf, *ca;
    size_t leaf_len, ca_len;
    const uint8_t *chain[1];

    assert_int_equal(vs_read_file(vs_path(f->dir, "leaf_unknown_ext.der"), &leaf, &leaf_len), 0);
    assert_int_equal(vs_read_file(vs_path(f->dir, "ca_plain.der"), &ca, &ca_len), 0);
    chain[0] = ca;
    assert_int_equal(
        da_ek_cert_verify(f->trust, leaf, leaf_len, chain, &ca_len, 1, f->ek, 0, &reason),
        DA_ERR_VERIFY_EK_CHAIN);
    assert_non_null(reason);
    assert_string_equal(reason, "unhandled critical extension");
    free(leaf);
    free(ca);
}

/* A valid chain for another key; too many certificates sent along; the
 * NV index padding rule. */
static void test_key_and_bounds(void **state)
{
    struct fixture *f = *state;
    struct soft_public d = {SOFT_EK_ATTRS, TPM2_ALG_SHA256, TPM2_ALG_NULL, TPM2_ALG_NULL, 128};
    EVP_PKEY *other_key = soft_key("P-256");
    struct da_tpm_public *other = NULL;
    uint8_t pub[512], *leaf, *ca, *padded;
    size_t pub_len, leaf_len, ca_len, der_len;
    const uint8_t *chain[DA_MAX_EK_CHAIN + 1];
    size_t lens[DA_MAX_EK_CHAIN + 1];
    size_t i;

    assert_int_equal(soft_tpm_public(other_key, &d, pub, sizeof(pub), &pub_len), 0);
    assert_int_equal(da_tpm_public_parse(pub, pub_len, &other), 0);
    assert_int_equal(vs_read_file(vs_path(f->dir, "leaf_plain.der"), &leaf, &leaf_len), 0);
    assert_int_equal(vs_read_file(vs_path(f->dir, "ca_plain.der"), &ca, &ca_len), 0);
    for (i = 0; i < DA_MAX_EK_CHAIN + 1; i++) {
        chain[i] = ca;
        lens[i] = ca_len;
    }
    assert_int_equal(da_ek_cert_verify(f->trust, leaf, leaf_len, chain, lens, 1, other, 0, NULL),
                     DA_ERR_VERIFY_EK_KEY_MISMATCH);
    assert_int_equal(
        da_ek_cert_verify(f->trust, leaf, leaf_len, chain, lens, DA_MAX_EK_CHAIN, f->ek, 0, NULL),
        0);
    assert_int_equal(da_ek_cert_verify(f->trust, leaf, leaf_len, chain, lens, DA_MAX_EK_CHAIN + 1,
                                       f->ek, 0, NULL),
                     DA_ERR_TOO_LARGE);
    /* NV indices pad certificates with 0x00 or 0xFF; anything else is data. */
    padded = calloc(1, leaf_len + 16);
    assert_non_null(padded);
    memcpy(padded, leaf, leaf_len);
    memset(padded + leaf_len, 0xff, 16);
    assert_int_equal(da_ek_cert_trim(padded, leaf_len + 16, &der_len), 0);
    assert_int_equal(der_len, leaf_len);
    padded[leaf_len + 15] = 0x01;
    assert_int_equal(da_ek_cert_trim(padded, leaf_len + 16, &der_len), DA_ERR_TRAILING_DATA);
    free(padded);
    free(leaf);
    free(ca);
    da_tpm_public_free(other);
    EVP_PKEY_free(other_key);
}

/* One field of `openssl x509 -noout -nameopt RFC2253 ARGS` on dir/file
 * without its "label=": the oracle for da_ek_cert_info. */
static void openssl_field(const char *dir, const char *file, const char *args, char *out,
                          size_t size)
{
    char cmd[PATH_MAX + 256];
    const char *eq;
    FILE *p;

    snprintf(cmd, sizeof(cmd), "openssl x509 -noout -nameopt RFC2253 %s -in %s/%s", args, dir,
             file);
    p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(out, (int)size, p));
    assert_int_equal(pclose(p), 0);
    out[strcspn(out, "\n")] = '\0';
    eq = strchr(out, '=');
    assert_non_null(eq);
    memmove(out, eq + 1, strlen(eq + 1) + 1);
}

static void verify_info(struct fixture *f, const char *kind, struct da_ek_cert_info *info)
{
    char name[32];
    uint8_t *leaf, *ca;
    size_t leaf_len, ca_len;
    const uint8_t *chain[1];

    snprintf(name, sizeof(name), "leaf_%s.der", kind);
    assert_int_equal(vs_read_file(vs_path(f->dir, name), &leaf, &leaf_len), 0);
    snprintf(name, sizeof(name), "ca_%s.der", kind);
    assert_int_equal(vs_read_file(vs_path(f->dir, name), &ca, &ca_len), 0);
    chain[0] = ca;
    assert_int_equal(
        da_ek_cert_verify_info(f->trust, leaf, leaf_len, chain, &ca_len, 1, f->ek, 0, NULL, info),
        0);
    free(leaf);
    free(ca);
}

/* Issuer, serial and root as openssl prints them with -nameopt RFC2253:
 * UTF-8 and RFC 4514 specials escaped the same way; a name past the cap
 * cut and marked. */
static void test_cert_info(void **state)
{
    struct fixture *f = *state;
    struct da_ek_cert_info info;
    char want[4096];

    verify_info(f, "names", &info);
    openssl_field(f->dir, "leaf_names.der", "-inform DER -issuer", want, sizeof(want));
    assert_non_null(strstr(want, "\\C3\\BC")); /* the oracle escaped the UTF-8 */
    assert_string_equal(info.issuer, want);
    openssl_field(f->dir, "leaf_names.der", "-inform DER -serial", want, sizeof(want));
    assert_string_equal(info.serial, want);
    openssl_field(f->dir, "root.pem", "-subject", want, sizeof(want));
    assert_string_equal(info.root, want);

    verify_info(f, "long", &info);
    openssl_field(f->dir, "leaf_long.der", "-inform DER -issuer", want, sizeof(want));
    assert_true(strlen(want) >= DA_MAX_EK_DN);
    assert_int_equal(strlen(info.issuer), DA_MAX_EK_DN - 1);
    assert_string_equal(info.issuer + DA_MAX_EK_DN - 4, "...");
    assert_memory_equal(info.issuer, want, DA_MAX_EK_DN - 4);

    /* a failed verification leaves nothing behind */
    memset(&info, 'x', sizeof(info));
    {
        uint8_t *leaf;
        size_t leaf_len;

        assert_int_equal(vs_read_file(vs_path(f->dir, "leaf_names.der"), &leaf, &leaf_len), 0);
        assert_int_equal(
            da_ek_cert_verify_info(f->trust, leaf, leaf_len, NULL, NULL, 0, f->ek, 0, NULL, &info),
            DA_ERR_VERIFY_EK_CHAIN);
        free(leaf);
    }
    assert_string_equal(info.issuer, "");
    assert_string_equal(info.root, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leaf_sda_tolerated),
        cmocka_unit_test(test_ca_sda_refused),
        cmocka_unit_test(test_ca_unknown_critical_refused),
        cmocka_unit_test(test_leaf_unknown_critical_refused),
        cmocka_unit_test(test_key_and_bounds),
        cmocka_unit_test(test_cert_info),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
