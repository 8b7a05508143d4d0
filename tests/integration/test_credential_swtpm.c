/* MakeCredential in software, cross-checked against a real swtpm
 * (TPM2_ActivateCredential) and against tpm2_makecredential --tcti none. */
#include "da_test.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "credential.h"
#include "credential_internal.h"
#include "err.h"
#include "swtpm_harness.h"
#include "tpm_public.h"
#include "tpm_soft.h"
#include "verify_support.h"
#include "verify_swtpm.h"
#include "picky.h"

struct fixture {
    struct da_test_swtpm tpm;
    char out[PATH_MAX];
    struct da_tpm_public *ek_rsa, *ek_ecc, *ak, *ak2;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (f == NULL || vs_swtpm_with_keys(&f->tpm, f->out, sizeof(f->out)) != 0)
        return -1;
    f->ek_rsa = vs_load_public(f->out, "ek_rsa.pub");
    f->ek_ecc = vs_load_public(f->out, "ek_ecc.pub");
    f->ak = vs_load_public(f->out, "ak.pub");
    f->ak2 = vs_load_public(f->out, "ak2.pub");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    da_tpm_public_free(f->ek_rsa);
    da_tpm_public_free(f->ek_ecc);
    da_tpm_public_free(f->ak);
    da_tpm_public_free(f->ak2);
    da_test_swtpm_stop(&f->tpm);
    free(f);
    return 0;
}

/* The file tpm2-tools reads and writes: magic, version, TPM2B_ID_OBJECT,
 * TPM2B_ENCRYPTED_SECRET. */
static void write_cred_file(const char *path, const uint8_t *id, size_t id_len, const uint8_t *enc,
                            size_t enc_len)
{
    uint8_t buf[1024] = {0xba, 0xdc, 0xc0, 0xde, 0, 0, 0, 1};

    assert_true(8 + id_len + enc_len <= sizeof(buf));
    memcpy(buf + 8, id, id_len);
    memcpy(buf + 8 + id_len, enc, enc_len);
    assert_int_equal(vs_write_file(path, buf, 8 + id_len + enc_len), 0);
}

struct cred_file {
    uint8_t *data;
    const uint8_t *id, *enc;
    size_t id_len, enc_len;
};

static void read_cred_file(const char *path, struct cred_file *c)
{
    size_t len;

    assert_int_equal(vs_read_file(path, &c->data, &len), 0);
    assert_true(len > 10);
    assert_memory_equal(c->data, "\xba\xdc\xc0\xde\x00\x00\x00\x01", 8);
    c->id = c->data + 8;
    c->id_len = 2 + (size_t)(c->id[0] << 8 | c->id[1]);
    assert_true(8 + c->id_len + 2 <= len);
    c->enc = c->id + c->id_len;
    c->enc_len = 2 + (size_t)(c->enc[0] << 8 | c->enc[1]);
    assert_int_equal(8 + c->id_len + c->enc_len, len);
}

/* ActivateCredential in the swtpm; 0 and the secret it released, or the
 * fixture's failure status. */
static int activate(struct fixture *f, const char *ek, const char *blob, const char *key,
                    uint8_t *secret, size_t *secret_len)
{
    uint8_t *got;
    size_t n;
    int rc;

    rc = vs_fixture("activate", f->tpm.dir, f->out, ek, vs_path(f->out, blob), key,
                    vs_path(f->out, "released.bin"), NULL);
    if (rc != 0)
        return rc;
    assert_int_equal(vs_read_file(vs_path(f->out, "released.bin"), &got, &n), 0);
    assert_true(n <= 64);
    memcpy(secret, got, n);
    *secret_len = n;
    free(got);
    return 0;
}

static void activate_ours(struct fixture *f, const struct da_tpm_public *ek, const char *ek_name)
{
    uint8_t secret[32], got[64], *id = NULL, *enc = NULL;
    size_t id_len, enc_len, got_len = 0, name_len;
    const uint8_t *name = da_tpm_public_name(f->ak, &name_len);

    assert_int_equal(RAND_bytes(secret, sizeof(secret)), 1);
    assert_int_equal(da_credential_make(ek, name, name_len, secret, sizeof(secret), &id, &id_len,
                                        &enc, &enc_len),
                     0);
    write_cred_file(vs_path(f->out, "ours.cred"), id, id_len, enc, enc_len);
    assert_int_equal(activate(f, ek_name, "ours.cred", "ak", got, &got_len), 0);
    assert_int_equal(got_len, sizeof(secret));
    assert_memory_equal(got, secret, sizeof(secret));
    /* Bound to the AK's name: another key in the same TPM gets nothing. */
    assert_int_not_equal(activate(f, ek_name, "ours.cred", "ak2", got, &got_len), 0);
    free(id);
    free(enc);
}

static void test_rsa_ek_activates(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(da_tpm_public_check_ek(f->ek_rsa), 0);
    activate_ours(f, f->ek_rsa, "rsa");
}

static void test_ecc_ek_activates(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(da_tpm_public_check_ek(f->ek_ecc), 0);
    assert_int_equal(da_tpm_public_area(f->ek_ecc)->nameAlg, TPM2_ALG_SHA384);
    activate_ours(f, f->ek_ecc, "ecc");
}

/* Our blob has the structure tpm2_makecredential gives, and both activate. */
static void test_agrees_with_tpm2_makecredential(void **state)
{
    struct fixture *f = *state;
    static const char *const eks[] = {"rsa", "ecc"};
    uint8_t secret[32], got[64], *id = NULL, *enc = NULL;
    size_t id_len, enc_len, got_len, name_len, i;
    const uint8_t *name = da_tpm_public_name(f->ak, &name_len);
    struct cred_file tools;

    for (i = 0; i < 2; i++) {
        const struct da_tpm_public *ek = i == 0 ? f->ek_rsa : f->ek_ecc;

        assert_int_equal(RAND_bytes(secret, sizeof(secret)), 1);
        assert_int_equal(vs_write_file(vs_path(f->out, "secret.bin"), secret, sizeof(secret)), 0);
        assert_int_equal(vs_fixture("makecred", f->out, eks[i], vs_path(f->out, "ak.name"),
                                    vs_path(f->out, "secret.bin"), vs_path(f->out, "tools.cred"),
                                    NULL),
                         0);
        read_cred_file(vs_path(f->out, "tools.cred"), &tools);
        assert_int_equal(da_credential_make(ek, name, name_len, secret, sizeof(secret), &id,
                                            &id_len, &enc, &enc_len),
                         0);
        assert_int_equal(id_len, tools.id_len);
        assert_int_equal(enc_len, tools.enc_len);
        /* Inside the ID object: TPM2B integrity HMAC of the EK nameAlg size. */
        assert_memory_equal(id, tools.id, 4);
        if (i == 1) /* the ECC point: both coordinates of the curve's size */
            assert_memory_equal(enc, tools.enc, 4);
        assert_int_equal(activate(f, eks[i], "tools.cred", "ak", got, &got_len), 0);
        assert_memory_equal(got, secret, sizeof(secret));
        write_cred_file(vs_path(f->out, "ours.cred"), id, id_len, enc, enc_len);
        assert_int_equal(activate(f, eks[i], "ours.cred", "ak", got, &got_len), 0);
        assert_memory_equal(got, secret, sizeof(secret));
        free(tools.data);
        free(id);
        free(enc);
        id = enc = NULL;
    }
}

/* Recover the seed tpm2_makecredential chose (we hold the EK's private key
 * here), rebuild the ID object from it with our code: byte for byte equal. */
static void deterministic_against_tools(struct fixture *f, const char *kind, const char *ek_file)
{
    struct soft_public d = {SOFT_EK_ATTRS, TPM2_ALG_SHA256, TPM2_ALG_NULL, TPM2_ALG_NULL, 128};
    EVP_PKEY *k = soft_key(kind);
    uint8_t pub[1024], secret[32], seed[32], id[256];
    size_t pub_len, seed_len = sizeof(seed), id_len, name_len;
    struct da_tpm_public *ek = NULL;
    const uint8_t *name = da_tpm_public_name(f->ak, &name_len);
    struct cred_file tools;
    char file[64];

    assert_non_null(k);
    assert_int_equal(soft_tpm_public(k, &d, pub, sizeof(pub), &pub_len), 0);
    assert_int_equal(da_tpm_public_parse(pub, pub_len, &ek), 0);
    assert_int_equal(da_tpm_public_check_ek(ek), 0);
    snprintf(file, sizeof(file), "ek_%s.pub", ek_file);
    assert_int_equal(vs_write_file(vs_path(f->out, file), pub, pub_len), 0);
    assert_int_equal(RAND_bytes(secret, sizeof(secret)), 1);
    assert_int_equal(vs_write_file(vs_path(f->out, "secret.bin"), secret, sizeof(secret)), 0);
    assert_int_equal(vs_fixture("makecred", f->out, ek_file, vs_path(f->out, "ak.name"),
                                vs_path(f->out, "secret.bin"), vs_path(f->out, "tools.cred"), NULL),
                     0);
    read_cred_file(vs_path(f->out, "tools.cred"), &tools);

    if (strcmp(kind, "RSA2048") == 0) {
        EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(k, NULL);
        unsigned char *label = OPENSSL_malloc(9), plain[256];
        size_t plain_len = sizeof(plain);

        memcpy(label, "IDENTITY", 9);
        assert_int_equal(EVP_PKEY_decrypt_init(c), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha256()), 1);
        assert_int_equal(EVP_PKEY_CTX_set0_rsa_oaep_label(c, label, 9), 1);
        assert_int_equal(EVP_PKEY_decrypt(c, plain, &plain_len, tools.enc + 2, tools.enc_len - 2),
                         1);
        EVP_PKEY_CTX_free(c);
        assert_int_equal(plain_len, sizeof(seed));
        memcpy(seed, plain, sizeof(seed));
    } else {
        /* The encrypted secret is the ephemeral point (x, y). */
        uint8_t point[65], z[32];
        size_t z_len = sizeof(z);
        EVP_PKEY *eph = NULL;
        EVP_PKEY_CTX *c;
        OSSL_PARAM params[3];

        assert_int_equal(tools.enc_len, 2 + 2 + 32 + 2 + 32);
        point[0] = 0x04;
        memcpy(point + 1, tools.enc + 4, 32);
        memcpy(point + 33, tools.enc + 4 + 32 + 2, 32);
        params[0] =
            OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, DA_UNCONST("P-256"), 0);
        params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, 65);
        params[2] = OSSL_PARAM_construct_end();
        c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
        assert_int_equal(EVP_PKEY_fromdata_init(c), 1);
        assert_int_equal(EVP_PKEY_fromdata(c, &eph, EVP_PKEY_PUBLIC_KEY, params), 1);
        EVP_PKEY_CTX_free(c);
        c = EVP_PKEY_CTX_new(k, NULL);
        assert_int_equal(EVP_PKEY_derive_init(c), 1);
        assert_int_equal(EVP_PKEY_derive_set_peer(c, eph), 1);
        assert_int_equal(EVP_PKEY_derive(c, z, &z_len), 1);
        EVP_PKEY_CTX_free(c);
        EVP_PKEY_free(eph);
        assert_int_equal(da_tpm_kdfe(TPM2_ALG_SHA256, z, z_len, "IDENTITY", point + 1, 32,
                                     da_tpm_public_area(ek)->unique.ecc.x.buffer, 32, 256, seed),
                         0);
    }
    assert_int_equal(seed_len, 32);
    assert_int_equal(da_credential_wrap(ek, name, name_len, secret, sizeof(secret), seed, seed_len,
                                        id, sizeof(id), &id_len),
                     0);
    assert_int_equal(id_len, tools.id_len);
    assert_memory_equal(id, tools.id, id_len);
    /* A different seed gives a different object: the comparison has teeth. */
    seed[0] ^= 1;
    assert_int_equal(da_credential_wrap(ek, name, name_len, secret, sizeof(secret), seed, seed_len,
                                        id, sizeof(id), &id_len),
                     0);
    assert_memory_not_equal(id, tools.id, id_len);
    free(tools.data);
    da_tpm_public_free(ek);
    EVP_PKEY_free(k);
}

static void test_deterministic_rsa(void **state)
{
    deterministic_against_tools(*state, "RSA2048", "softrsa");
}

static void test_deterministic_ecc(void **state)
{
    deterministic_against_tools(*state, "P-256", "softecc");
}

static void test_rejects_bad_input(void **state)
{
    struct fixture *f = *state;
    uint8_t secret[65] = {0}, *id = NULL, *enc = NULL;
    size_t id_len, enc_len, name_len;
    const uint8_t *name = da_tpm_public_name(f->ak, &name_len);

    /* An AK is no EK. */
    assert_int_equal(
        da_credential_make(f->ak, name, name_len, secret, 32, &id, &id_len, &enc, &enc_len),
        DA_ERR_VERIFY_EK_ATTRIBUTES);
    /* Longer than the EK's name digest (SHA-256: 32 bytes). */
    assert_int_equal(
        da_credential_make(f->ek_rsa, name, name_len, secret, 33, &id, &id_len, &enc, &enc_len),
        DA_ERR_INVALID_ARG);
    assert_int_equal(
        da_credential_make(f->ek_rsa, name, name_len, secret, 0, &id, &id_len, &enc, &enc_len),
        DA_ERR_INVALID_ARG);
    assert_int_equal(
        da_credential_make(f->ek_rsa, name, 1, secret, 32, &id, &id_len, &enc, &enc_len),
        DA_ERR_INVALID_ARG);
    assert_null(id);
    assert_null(enc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rsa_ek_activates),
        cmocka_unit_test(test_ecc_ek_activates),
        cmocka_unit_test(test_agrees_with_tpm2_makecredential),
        cmocka_unit_test(test_deterministic_rsa),
        cmocka_unit_test(test_deterministic_ecc),
        cmocka_unit_test(test_rejects_bad_input),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
