#include "credential.h"
#include "credential_internal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "err.h"

#define DA_ID_OBJECT_MAX 256 /* 2 + 2 + 64 (HMAC) + 2 + 64 (credential) fits */

static void put_be16(uint8_t *p, size_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

int da_tpm_kdfa(TPMI_ALG_HASH hash, const uint8_t *key, size_t key_len, const char *label,
                const uint8_t *context_u, size_t u_len, const uint8_t *context_v, size_t v_len,
                size_t bits, uint8_t *out)
{
    const EVP_MD *md = da_tpm_hash_md(hash);
    uint8_t block[EVP_MAX_MD_SIZE], input[256];
    size_t done = 0, want = bits / 8, label_len, in_len, take;
    unsigned int blen = 0;
    uint32_t i = 1;
    int rc = 0;

    if (md == NULL || bits == 0 || bits % 8 != 0 || bits > 8192 || label == NULL ||
        key_len > 1024 || (context_u == NULL && u_len > 0) || (context_v == NULL && v_len > 0))
        return DA_ERR_INVALID_ARG;
    label_len = strlen(label) + 1;
    in_len = 4 + label_len + u_len + v_len + 4;
    if (in_len > sizeof(input))
        return DA_ERR_INVALID_ARG;
    /* [i]32 || label || 0 || contextU || contextV || [bits]32 */
    memcpy(input + 4, label, label_len);
    if (u_len > 0)
        memcpy(input + 4 + label_len, context_u, u_len);
    if (v_len > 0)
        memcpy(input + 4 + label_len + u_len, context_v, v_len);
    put_be32(input + in_len - 4, (uint32_t)bits);
    while (done < want) {
        put_be32(input, i++);
        if (HMAC(md, key, (int)key_len, input, in_len, block, &blen) == NULL) {
            rc = DA_ERR_VERIFY_CREDENTIAL;
            break;
        }
        take = want - done < blen ? want - done : blen;
        memcpy(out + done, block, take);
        done += take;
    }
    OPENSSL_cleanse(block, sizeof(block));
    OPENSSL_cleanse(input, sizeof(input));
    return rc;
}

int da_tpm_kdfe(TPMI_ALG_HASH hash, const uint8_t *z, size_t z_len, const char *label,
                const uint8_t *party_u, size_t u_len, const uint8_t *party_v, size_t v_len,
                size_t bits, uint8_t *out)
{
    const EVP_MD *md = da_tpm_hash_md(hash);
    uint8_t block[EVP_MAX_MD_SIZE], counter[4];
    size_t done = 0, want = bits / 8;
    unsigned int blen = 0;
    uint32_t i = 1;
    EVP_MD_CTX *c;
    int rc = DA_ERR_VERIFY_CREDENTIAL;

    if (md == NULL || bits == 0 || bits % 8 != 0 || bits > 8192 || label == NULL ||
        (z == NULL && z_len > 0) || (party_u == NULL && u_len > 0) ||
        (party_v == NULL && v_len > 0))
        return DA_ERR_INVALID_ARG;
    c = EVP_MD_CTX_new();
    if (c == NULL)
        return DA_ERR_NOMEM;
    while (done < want) {
        put_be32(counter, i++);
        if (EVP_DigestInit_ex(c, md, NULL) != 1 || EVP_DigestUpdate(c, counter, 4) != 1 ||
            EVP_DigestUpdate(c, z, z_len) != 1 ||
            EVP_DigestUpdate(c, label, strlen(label) + 1) != 1 ||
            EVP_DigestUpdate(c, party_u, u_len) != 1 || EVP_DigestUpdate(c, party_v, v_len) != 1 ||
            EVP_DigestFinal_ex(c, block, &blen) != 1)
            goto out;
        memcpy(out + done, block, want - done < blen ? want - done : blen);
        done += want - done < blen ? want - done : blen;
    }
    rc = 0;
out:
    OPENSSL_cleanse(block, sizeof(block));
    EVP_MD_CTX_free(c);
    return rc;
}

static const EVP_CIPHER *ek_cipher(const TPMT_PUBLIC *a)
{
    const TPMT_SYM_DEF_OBJECT *sym = a->type == TPM2_ALG_RSA ? &a->parameters.rsaDetail.symmetric
                                                             : &a->parameters.eccDetail.symmetric;

    return sym->keyBits.aes == 128 ? EVP_aes_128_cfb128() : EVP_aes_256_cfb128();
}

/* AES-CFB with a zero IV over TPM2B_DIGEST(secret). */
static int encrypt_identity(const EVP_CIPHER *cipher, const uint8_t *key, const uint8_t *secret,
                            size_t secret_len, uint8_t *out)
{
    static const uint8_t iv[16];
    uint8_t plain[2 + 64];
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0, ok;

    if (c == NULL)
        return DA_ERR_NOMEM;
    put_be16(plain, secret_len);
    memcpy(plain + 2, secret, secret_len);
    ok = EVP_EncryptInit_ex(c, cipher, NULL, key, iv) == 1 &&
         EVP_EncryptUpdate(c, out, &n, plain, (int)(2 + secret_len)) == 1 &&
         EVP_EncryptFinal_ex(c, out + n, &fin) == 1 && (size_t)(n + fin) == 2 + secret_len;
    OPENSSL_cleanse(plain, sizeof(plain));
    EVP_CIPHER_CTX_free(c);
    return ok ? 0 : DA_ERR_VERIFY_CREDENTIAL;
}

int da_credential_wrap(const struct da_tpm_public *ek, const uint8_t *name, size_t name_len,
                       const uint8_t *secret, size_t secret_len, const uint8_t *seed,
                       size_t seed_len, uint8_t *out, size_t cap, size_t *len)
{
    const TPMT_PUBLIC *a = da_tpm_public_area(ek);
    const EVP_CIPHER *cipher = ek_cipher(a);
    size_t dsize = da_tpm_hash_size(a->nameAlg), enc_len = 2 + secret_len, body;
    uint8_t sym_key[32], hmac_key[64], mac_input[2 + 64 + DA_TPM_NAME_MAX], *enc;
    unsigned int hlen = 0;
    int rc;

    *len = 0;
    body = 2 + dsize + enc_len;
    if (dsize == 0 || seed_len != dsize || secret_len == 0 || secret_len > dsize || name == NULL ||
        name_len < 2 || name_len > DA_TPM_NAME_MAX || 2 + body > cap)
        return DA_ERR_INVALID_ARG;
    enc = out + 2 + 2 + dsize;
    rc = da_tpm_kdfa(a->nameAlg, seed, seed_len, "STORAGE", name, name_len, NULL, 0,
                     (size_t)EVP_CIPHER_get_key_length(cipher) * 8, sym_key);
    if (rc == 0)
        rc = encrypt_identity(cipher, sym_key, secret, secret_len, enc);
    if (rc == 0)
        rc = da_tpm_kdfa(a->nameAlg, seed, seed_len, "INTEGRITY", NULL, 0, NULL, 0, dsize * 8,
                         hmac_key);
    if (rc != 0)
        goto out;
    memcpy(mac_input, enc, enc_len);
    memcpy(mac_input + enc_len, name, name_len);
    if (HMAC(da_tpm_hash_md(a->nameAlg), hmac_key, (int)dsize, mac_input, enc_len + name_len,
             out + 4, &hlen) == NULL ||
        hlen != dsize) {
        rc = DA_ERR_VERIFY_CREDENTIAL;
        goto out;
    }
    put_be16(out, body);
    put_be16(out + 2, dsize);
    *len = 2 + body;
out:
    OPENSSL_cleanse(sym_key, sizeof(sym_key));
    OPENSSL_cleanse(hmac_key, sizeof(hmac_key));
    return rc;
}

/* RSA EK: a random seed, RSA-OAEP encrypted with label "IDENTITY\0". */
static int rsa_seed(const struct da_tpm_public *ek, uint8_t *seed, size_t seed_len, uint8_t *enc,
                    size_t cap, size_t *enc_len)
{
    const EVP_MD *md = da_tpm_hash_md(da_tpm_public_area(ek)->nameAlg);
    EVP_PKEY_CTX *c = NULL;
    unsigned char *label = NULL;
    size_t outlen = cap - 2;
    int rc = DA_ERR_VERIFY_CREDENTIAL;

    if (RAND_bytes(seed, (int)seed_len) != 1)
        return DA_ERR_CRYPTO;
    c = EVP_PKEY_CTX_new_from_pkey(NULL, da_tpm_public_pkey(ek), NULL);
    label = OPENSSL_malloc(9);
    if (c == NULL || label == NULL) {
        rc = DA_ERR_NOMEM;
        goto out;
    }
    memcpy(label, "IDENTITY", 9);
    if (EVP_PKEY_encrypt_init(c) <= 0 ||
        EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) <= 0 ||
        EVP_PKEY_CTX_set_rsa_oaep_md(c, md) <= 0 || EVP_PKEY_CTX_set_rsa_mgf1_md(c, md) <= 0 ||
        EVP_PKEY_CTX_set0_rsa_oaep_label(c, label, 9) <= 0)
        goto out;
    label = NULL; /* transferred */
    if (EVP_PKEY_encrypt(c, enc + 2, &outlen, seed, seed_len) <= 0)
        goto out;
    put_be16(enc, outlen);
    *enc_len = 2 + outlen;
    rc = 0;
out:
    OPENSSL_free(label);
    EVP_PKEY_CTX_free(c);
    return rc;
}

/* ECC EK: ephemeral ECDH; the encrypted secret is the ephemeral point. */
static int ecc_seed(const struct da_tpm_public *ek, uint8_t *seed, size_t seed_len, uint8_t *enc,
                    size_t cap, size_t *enc_len)
{
    const TPMT_PUBLIC *a = da_tpm_public_area(ek);
    const char *group = a->parameters.eccDetail.curveID == TPM2_ECC_NIST_P256 ? "P-256" : "P-384";
    size_t field = a->parameters.eccDetail.curveID == TPM2_ECC_NIST_P256 ? 32 : 48;
    uint8_t point[1 + 2 * 48], z[48];
    size_t point_len = 0, z_len = sizeof(z), inner = 2 + field + 2 + field;
    EVP_PKEY *eph = NULL;
    EVP_PKEY_CTX *c = NULL;
    int rc = DA_ERR_VERIFY_CREDENTIAL;

    if (2 + inner > cap)
        return DA_ERR_INVALID_ARG;
    eph = EVP_PKEY_Q_keygen(NULL, NULL, "EC", group);
    if (eph == NULL)
        goto out;
    if (EVP_PKEY_get_octet_string_param(eph, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point),
                                        &point_len) != 1 ||
        point_len != 1 + 2 * field || point[0] != 0x04)
        goto out;
    c = EVP_PKEY_CTX_new_from_pkey(NULL, eph, NULL);
    if (c == NULL || EVP_PKEY_derive_init(c) <= 0 ||
        EVP_PKEY_derive_set_peer(c, da_tpm_public_pkey(ek)) <= 0 ||
        EVP_PKEY_derive(c, z, &z_len) <= 0 || z_len != field)
        goto out;
    rc = da_tpm_kdfe(a->nameAlg, z, z_len, "IDENTITY", point + 1, field, a->unique.ecc.x.buffer,
                     a->unique.ecc.x.size, seed_len * 8, seed);
    if (rc != 0)
        goto out;
    /* TPM2B_ENCRYPTED_SECRET holding a marshalled TPMS_ECC_POINT. */
    put_be16(enc, inner);
    put_be16(enc + 2, field);
    memcpy(enc + 4, point + 1, field);
    put_be16(enc + 4 + field, field);
    memcpy(enc + 6 + field, point + 1 + field, field);
    *enc_len = 2 + inner;
out:
    OPENSSL_cleanse(z, sizeof(z));
    EVP_PKEY_CTX_free(c);
    EVP_PKEY_free(eph);
    return rc;
}

int da_credential_make(const struct da_tpm_public *ek, const uint8_t *name, size_t name_len,
                       const uint8_t *secret, size_t secret_len, uint8_t **id_object,
                       size_t *id_object_len, uint8_t **encrypted_secret,
                       size_t *encrypted_secret_len)
{
    uint8_t seed[64], id[DA_ID_OBJECT_MAX], enc[2 + sizeof(TPMU_ENCRYPTED_SECRET)];
    size_t seed_len, id_len = 0, enc_len = 0;
    int rc;

    *id_object = NULL;
    *encrypted_secret = NULL;
    *id_object_len = *encrypted_secret_len = 0;
    if (ek == NULL || name == NULL || secret == NULL)
        return DA_ERR_INVALID_ARG;
    if ((rc = da_tpm_public_check_ek(ek)) != 0)
        return rc;
    seed_len = da_tpm_hash_size(da_tpm_public_area(ek)->nameAlg);
    if (da_tpm_public_area(ek)->type == TPM2_ALG_RSA)
        rc = rsa_seed(ek, seed, seed_len, enc, sizeof(enc), &enc_len);
    else
        rc = ecc_seed(ek, seed, seed_len, enc, sizeof(enc), &enc_len);
    if (rc == 0)
        rc = da_credential_wrap(ek, name, name_len, secret, secret_len, seed, seed_len, id,
                                sizeof(id), &id_len);
    if (rc != 0)
        goto out;
    *id_object = malloc(id_len);
    *encrypted_secret = malloc(enc_len);
    if (*id_object == NULL || *encrypted_secret == NULL) {
        free(*id_object);
        free(*encrypted_secret);
        *id_object = *encrypted_secret = NULL;
        rc = DA_ERR_NOMEM;
        goto out;
    }
    memcpy(*id_object, id, id_len);
    memcpy(*encrypted_secret, enc, enc_len);
    *id_object_len = id_len;
    *encrypted_secret_len = enc_len;
out:
    OPENSSL_cleanse(seed, sizeof(seed));
    OPENSSL_cleanse(id, sizeof(id));
    return rc;
}
