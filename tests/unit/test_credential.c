/* da_credential_make's refusals, with software EK publics: a key that is not
 * an EK, a secret longer than the EK's name digest or empty, and a name that
 * cannot be a TPM name. That the credentials it makes are the ones a TPM
 * activates is shown against swtpm and tpm2_makecredential in
 * tests/integration/test_credential_swtpm.c. */
#include "da_test.h"

#include <stdlib.h>
#include <string.h>

#include "credential.h"
#include "err.h"
#include "tpm_public.h"
#include "tpm_soft.h"

static struct da_tpm_public *parse(EVP_PKEY *k, const struct soft_public *d)
{
    uint8_t buf[1024];
    size_t len;
    struct da_tpm_public *p = NULL;

    assert_int_equal(soft_tpm_public(k, d, buf, sizeof(buf), &len), 0);
    assert_int_equal(da_tpm_public_parse(buf, len, &p), 0);
    return p;
}

static int make(const struct da_tpm_public *ek, const uint8_t *name, size_t name_len,
                size_t secret_len)
{
    uint8_t secret[64], *id = NULL, *enc = NULL;
    size_t id_len = 0, enc_len = 0;
    int rc;

    memset(secret, 0x5c, sizeof(secret));
    rc = da_credential_make(ek, name, name_len, secret, secret_len, &id, &id_len, &enc, &enc_len);
    if (rc == 0) {
        /* TPM2B_ID_OBJECT: size, then integrity HMAC (TPM2B) and the encrypted
         * TPM2B_DIGEST of the secret. */
        assert_int_equal(id_len, 2 + 2 + 32 + 2 + secret_len);
        assert_int_equal((size_t)(id[0] << 8 | id[1]), id_len - 2);
        assert_int_equal((size_t)(enc[0] << 8 | enc[1]), enc_len - 2);
    } else {
        assert_null(id);
        assert_null(enc);
    }
    free(id);
    free(enc);
    return rc;
}

static void test_refusals(void **state)
{
    static const char *const kinds[] = {"RSA2048", "P-256"};
    const struct soft_public ek_desc = {SOFT_EK_ATTRS, TPM2_ALG_SHA256, TPM2_ALG_NULL,
                                        TPM2_ALG_NULL, 128};
    const struct soft_public ak_desc = {SOFT_AK_ATTRS, TPM2_ALG_SHA256, TPM2_ALG_ECDSA,
                                        TPM2_ALG_SHA256, 0};
    uint8_t name[DA_TPM_NAME_MAX + 1];
    size_t i;

    (void)state;
    memset(name, 0x33, sizeof(name));
    name[0] = 0x00;
    name[1] = 0x0b;
    for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        EVP_PKEY *k = soft_key(kinds[i]);
        struct da_tpm_public *ek = parse(k, &ek_desc);

        assert_int_equal(make(ek, name, 34, 32), 0);
        assert_int_equal(make(ek, name, 34, 1), 0);
        /* The secret fits the EK's name digest (SHA-256) or is refused. */
        assert_int_equal(make(ek, name, 34, 33), DA_ERR_INVALID_ARG);
        assert_int_equal(make(ek, name, 34, 0), DA_ERR_INVALID_ARG);
        /* A name is an algorithm and a digest. */
        assert_int_equal(make(ek, name, 1, 32), DA_ERR_INVALID_ARG);
        assert_int_equal(make(ek, name, DA_TPM_NAME_MAX + 1, 32), DA_ERR_INVALID_ARG);
        assert_int_equal(make(ek, NULL, 34, 32), DA_ERR_INVALID_ARG);
        da_tpm_public_free(ek);
        EVP_PKEY_free(k);
    }
    /* Not an EK: a signing key, and an EK without its symmetric algorithm. */
    {
        EVP_PKEY *k = soft_key("P-256");
        struct soft_public d = ek_desc;
        struct da_tpm_public *p = parse(k, &ak_desc);

        assert_int_equal(make(p, name, 34, 32), DA_ERR_VERIFY_EK_ATTRIBUTES);
        da_tpm_public_free(p);
        d.sym_bits = 0;
        p = parse(k, &d);
        assert_int_equal(make(p, name, 34, 32), DA_ERR_VERIFY_KEY_TYPE);
        da_tpm_public_free(p);
        EVP_PKEY_free(k);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
