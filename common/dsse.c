#include "dsse.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>

#include "encoding.h"
#include "err.h"
#include "jcs.h"
#include "json.h"

int da_dsse_pae(const char *payload_type, const void *payload, size_t payload_len,
                struct da_buf *out)
{
    int r;

    if (payload_type == NULL || out == NULL || (payload == NULL && payload_len > 0))
        return DA_ERR_INVALID_ARG;
    r = da_buf_printf(out, "DSSEv1 %zu %s %zu ", strlen(payload_type), payload_type, payload_len);
    if (r == 0)
        r = da_buf_append(out, payload_len > 0 ? payload : "", payload_len);
    return r;
}

/* PAE of env into a fresh buffer sized for the largest payload. */
static int dsse_env_pae(const char *type, const void *payload, size_t len, struct da_buf *pae)
{
    da_buf_init(pae, DA_MAX_DSSE_PAYLOAD + DA_MAX_DSSE_TYPE + 64);
    return da_dsse_pae(type, payload, len, pae);
}

int da_dsse_pae_sha256(const char *payload_type, const void *payload, size_t payload_len,
                       unsigned char out[DA_SHA256_LEN])
{
    struct da_buf pae;
    int r;

    if (out == NULL)
        return DA_ERR_INVALID_ARG;
    r = dsse_env_pae(payload_type, payload, payload_len, &pae);
    if (r == 0)
        r = da_sha256(da_buf_data(&pae), da_buf_len(&pae), out);
    da_buf_free(&pae);
    return r;
}

int da_dsse_envelope_new(const char *payload_type, const void *payload, size_t payload_len,
                         struct da_dsse_envelope **out)
{
    struct da_dsse_envelope *env = NULL;
    int r = DA_ERR_NOMEM;

    if (out != NULL)
        *out = NULL;
    if (out == NULL || payload_type == NULL || (payload == NULL && payload_len > 0))
        return DA_ERR_INVALID_ARG;
    if (strlen(payload_type) > DA_MAX_DSSE_TYPE || payload_len > DA_MAX_DSSE_PAYLOAD)
        return DA_ERR_TOO_LARGE;
    env = calloc(1, sizeof(*env));
    if (env == NULL)
        goto out;
    env->payload_type = strdup(payload_type);
    env->payload = malloc(payload_len + 1);
    if (env->payload_type == NULL || env->payload == NULL)
        goto out;
    if (payload_len > 0)
        memcpy(env->payload, payload, payload_len);
    env->payload_len = payload_len;
    *out = env;
    env = NULL; /* transferred */
    r = 0;
out:
    da_dsse_envelope_free(env);
    return r;
}

int da_dsse_add_signature(struct da_dsse_envelope *env, const char *keyid, const unsigned char *sig,
                          size_t sig_len)
{
    struct da_dsse_sig s = {NULL, NULL, 0};

    if (env == NULL || sig == NULL || sig_len == 0)
        return DA_ERR_INVALID_ARG;
    if (env->nsigs >= DA_MAX_DSSE_SIGS || sig_len > DA_MAX_DSSE_SIG_LEN ||
        (keyid != NULL && strlen(keyid) > DA_MAX_DSSE_KEYID))
        return DA_ERR_TOO_LARGE;
    s.sig = malloc(sig_len);
    if (keyid != NULL)
        s.keyid = strdup(keyid);
    if (s.sig == NULL || (keyid != NULL && s.keyid == NULL)) {
        free(s.sig);
        free(s.keyid);
        return DA_ERR_NOMEM;
    }
    memcpy(s.sig, sig, sig_len);
    s.sig_len = sig_len;
    env->sigs[env->nsigs++] = s;
    return 0;
}

void da_dsse_envelope_free(struct da_dsse_envelope *env)
{
    size_t i;

    if (env == NULL)
        return;
    for (i = 0; i < env->nsigs; i++) {
        free(env->sigs[i].keyid);
        free(env->sigs[i].sig);
    }
    free(env->payload_type);
    if (env->payload != NULL)
        OPENSSL_cleanse(env->payload, env->payload_len);
    free(env->payload);
    free(env);
}

/* A JSON error in an envelope is a format error of the envelope. */
static int dsse_field_err(int r)
{
    return r == DA_ERR_JSON_MISSING || r == DA_ERR_JSON_TYPE ? DA_ERR_DSSE_FORMAT : r;
}

static int dsse_decode_b64(const char *text, size_t cap, unsigned char **out, size_t *len)
{
    struct da_buf b;
    int r;

    da_buf_init(&b, cap);
    r = da_base64_decode(text, strlen(text), DA_BASE64_STD, &b);
    if (r == 0) {
        *out = da_buf_take(&b, len);
        if (*out == NULL)
            r = DA_ERR_NOMEM;
    }
    da_buf_free(&b);
    return r;
}

static int dsse_signature_from_json(const cJSON *item, struct da_dsse_envelope *env)
{
    const char *keyid = NULL, *sig_b64 = NULL;
    unsigned char *sig = NULL;
    size_t sig_len = 0;
    int r;

    if (!cJSON_IsObject(item))
        return DA_ERR_DSSE_FORMAT;
    r = dsse_field_err(da_json_get_string(item, "sig", &sig_b64));
    if (r != 0)
        return r;
    r = da_json_get_string(item, "keyid", &keyid);
    if (r == DA_ERR_JSON_MISSING)
        keyid = NULL;
    else if (r != 0)
        return dsse_field_err(r);
    r = dsse_decode_b64(sig_b64, DA_MAX_DSSE_SIG_LEN, &sig, &sig_len);
    if (r == 0 && sig_len == 0)
        r = DA_ERR_DSSE_FORMAT;
    if (r == 0)
        r = da_dsse_add_signature(env, keyid, sig, sig_len);
    free(sig);
    return r;
}

static int dsse_signatures_from_json(const cJSON *root, struct da_dsse_envelope *env)
{
    const cJSON *sigs = NULL, *item;
    int r, n;

    r = dsse_field_err(da_json_get_array(root, "signatures", &sigs));
    if (r != 0)
        return r;
    n = cJSON_GetArraySize(sigs);
    if (n == 0)
        return DA_ERR_DSSE_NO_SIGNATURE;
    if (n > DA_MAX_DSSE_SIGS)
        return DA_ERR_TOO_LARGE;
    cJSON_ArrayForEach(item, sigs)
    {
        r = dsse_signature_from_json(item, env);
        if (r != 0)
            return r;
    }
    return 0;
}

int da_dsse_envelope_from_json(const cJSON *root, struct da_dsse_envelope **out)
{
    struct da_dsse_envelope *env = NULL;
    const char *type = NULL, *payload = NULL;
    int r;

    if (out != NULL)
        *out = NULL;
    if (out == NULL || root == NULL)
        return DA_ERR_INVALID_ARG;
    if (!cJSON_IsObject(root))
        return DA_ERR_DSSE_FORMAT;
    r = dsse_field_err(da_json_get_string(root, "payloadType", &type));
    if (r == 0)
        r = dsse_field_err(da_json_get_string(root, "payload", &payload));
    if (r == 0 && strlen(type) > DA_MAX_DSSE_TYPE)
        r = DA_ERR_TOO_LARGE;
    if (r != 0)
        return r;
    r = DA_ERR_NOMEM;
    env = calloc(1, sizeof(*env));
    if (env == NULL || (env->payload_type = strdup(type)) == NULL)
        goto out;
    r = dsse_decode_b64(payload, DA_MAX_DSSE_PAYLOAD, &env->payload, &env->payload_len);
    if (r == 0)
        r = dsse_signatures_from_json(root, env);
    if (r != 0)
        goto out;
    *out = env;
    env = NULL; /* transferred */
out:
    da_dsse_envelope_free(env);
    return r;
}

int da_dsse_envelope_decode(const char *json, size_t len, struct da_dsse_envelope **out)
{
    cJSON *root = NULL;
    int r;

    if (out != NULL)
        *out = NULL;
    if (out == NULL)
        return DA_ERR_INVALID_ARG;
    r = da_json_parse(json, len, DA_MAX_DSSE_ENVELOPE, &root);
    if (r == 0)
        r = da_dsse_envelope_from_json(root, out);
    cJSON_Delete(root);
    return r;
}

/* Add member name holding std base64 of data to obj. */
static int dsse_add_b64(cJSON *obj, const char *name, const void *data, size_t len)
{
    struct da_buf b;
    int r;

    da_buf_init(&b, da_base64_encoded_len(len, DA_BASE64_STD));
    r = da_base64_encode(data, len, DA_BASE64_STD, &b);
    if (r == 0 && cJSON_AddStringToObject(obj, name, da_buf_str(&b)) == NULL)
        r = DA_ERR_NOMEM;
    da_buf_free(&b);
    return r;
}

static int dsse_sig_to_json(const struct da_dsse_sig *s, cJSON *array)
{
    cJSON *o = cJSON_CreateObject();

    if (o == NULL || !cJSON_AddItemToArray(array, o)) {
        cJSON_Delete(o);
        return DA_ERR_NOMEM;
    }
    if (s->keyid != NULL && cJSON_AddStringToObject(o, "keyid", s->keyid) == NULL)
        return DA_ERR_NOMEM;
    return dsse_add_b64(o, "sig", s->sig, s->sig_len);
}

int da_dsse_envelope_to_json(const struct da_dsse_envelope *env, cJSON **out)
{
    cJSON *root = NULL, *sigs;
    size_t i;
    int r = DA_ERR_NOMEM;

    if (out != NULL)
        *out = NULL;
    if (out == NULL || env == NULL || env->payload_type == NULL)
        return DA_ERR_INVALID_ARG;
    root = cJSON_CreateObject();
    if (root == NULL || cJSON_AddStringToObject(root, "payloadType", env->payload_type) == NULL)
        goto out;
    r = dsse_add_b64(root, "payload", env->payload, env->payload_len);
    if (r != 0)
        goto out;
    r = DA_ERR_NOMEM;
    sigs = cJSON_AddArrayToObject(root, "signatures");
    if (sigs == NULL)
        goto out;
    for (i = 0, r = 0; r == 0 && i < env->nsigs; i++)
        r = dsse_sig_to_json(&env->sigs[i], sigs);
    if (r != 0)
        goto out;
    *out = root;
    root = NULL; /* transferred */
out:
    cJSON_Delete(root);
    return r;
}

int da_dsse_envelope_encode(const struct da_dsse_envelope *env, struct da_buf *out)
{
    cJSON *root = NULL;
    int r;

    if (out == NULL)
        return DA_ERR_INVALID_ARG;
    r = da_dsse_envelope_to_json(env, &root);
    if (r == 0 && env->nsigs == 0)
        r = DA_ERR_DSSE_NO_SIGNATURE;
    if (r == 0)
        r = da_jcs_serialize(root, out);
    cJSON_Delete(root);
    return r;
}

/* Curve name of an EC key, or "" for other keys. */
static const char *dsse_curve(EVP_PKEY *key, char *name, size_t size)
{
    size_t len = 0;

    name[0] = '\0';
    if (EVP_PKEY_is_a(key, "EC") &&
        EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name, size, &len) != 1)
        name[0] = '\0';
    return name;
}

/* Digest for a verification key: SHA-256 for P-256, SHA-384 for P-384,
 * none for Ed25519 (*md NULL); DA_ERR_VERIFY_KEY_TYPE otherwise. */
static int dsse_key_digest(EVP_PKEY *key, const EVP_MD **md)
{
    char curve[64];

    dsse_curve(key, curve, sizeof(curve));
    *md = NULL;
    if (strcmp(curve, "prime256v1") == 0)
        *md = EVP_sha256();
    else if (strcmp(curve, "secp384r1") == 0)
        *md = EVP_sha384();
    else if (!EVP_PKEY_is_a(key, "ED25519"))
        return DA_ERR_VERIFY_KEY_TYPE;
    return 0;
}

static int dsse_sign_pae(EVP_PKEY *key, const struct da_buf *pae, unsigned char **sig,
                         size_t *sig_len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int r = DA_ERR_CRYPTO;

    *sig = NULL;
    if (ctx == NULL)
        return DA_ERR_NOMEM;
    if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) != 1 ||
        EVP_DigestSign(ctx, NULL, sig_len, da_buf_data(pae), da_buf_len(pae)) != 1)
        goto out;
    *sig = malloc(*sig_len);
    if (*sig == NULL) {
        r = DA_ERR_NOMEM;
        goto out;
    }
    if (EVP_DigestSign(ctx, *sig, sig_len, da_buf_data(pae), da_buf_len(pae)) == 1)
        r = 0;
out:
    if (r != 0) {
        free(*sig);
        *sig = NULL;
        ERR_clear_error();
    }
    EVP_MD_CTX_free(ctx);
    return r;
}

int da_dsse_sign_ecdsa_p256(EVP_PKEY *key, const char *keyid, struct da_dsse_envelope *env)
{
    struct da_buf pae;
    unsigned char *sig = NULL;
    size_t sig_len = 0;
    char curve[64];
    int r;

    if (key == NULL || env == NULL)
        return DA_ERR_INVALID_ARG;
    if (strcmp(dsse_curve(key, curve, sizeof(curve)), "prime256v1") != 0)
        return DA_ERR_VERIFY_KEY_TYPE;
    if (env->nsigs >= DA_MAX_DSSE_SIGS)
        return DA_ERR_TOO_LARGE;
    r = dsse_env_pae(env->payload_type, env->payload, env->payload_len, &pae);
    if (r == 0)
        r = dsse_sign_pae(key, &pae, &sig, &sig_len);
    if (r == 0)
        r = da_dsse_add_signature(env, keyid, sig, sig_len);
    free(sig);
    da_buf_free(&pae);
    return r;
}

static bool dsse_verify_one(EVP_PKEY *key, const EVP_MD *md, const struct da_buf *pae,
                            const struct da_dsse_sig *s)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = false;

    if (ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, md, NULL, key) == 1)
        ok = EVP_DigestVerify(ctx, s->sig, s->sig_len, da_buf_data(pae), da_buf_len(pae)) == 1;
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}

int da_dsse_verify(const struct da_dsse_envelope *env, EVP_PKEY *key, size_t *index)
{
    const EVP_MD *md = NULL;
    struct da_buf pae;
    size_t i;
    int r;

    if (env == NULL || key == NULL || env->payload_type == NULL)
        return DA_ERR_INVALID_ARG;
    if (env->nsigs == 0)
        return DA_ERR_DSSE_NO_SIGNATURE;
    r = dsse_key_digest(key, &md);
    if (r != 0)
        return r;
    r = dsse_env_pae(env->payload_type, env->payload, env->payload_len, &pae);
    for (i = 0; r == 0 && i < env->nsigs; i++) {
        if (dsse_verify_one(key, md, &pae, &env->sigs[i]))
            break;
    }
    if (r == 0 && i == env->nsigs)
        r = DA_ERR_VERIFY_SIGNATURE;
    if (r == 0 && index != NULL)
        *index = i;
    da_buf_free(&pae);
    return r;
}
