/* Software-key mode: the agent's key interface backed by OpenSSL P-256 keys
 * in files (PKCS#8 PEM, mode 0600) in the state directory. Chosen only by
 * explicit configuration; everything it produces carries trust "software".
 *
 * It speaks the same structures as the TPM backend so that one verifier
 * handles both: attestations are TPMS_ATTEST signed into TPMT_SIGNATURE. They
 * are honest about their origin: the AK public lacks fixedTPM, fixedParent
 * and sensitiveDataOrigin, so no verifier can take it for a TPM key; quotes
 * cover no PCRs; the clock is the host's and the counters are zero. There is
 * no EK, so credential activation is unsupported.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "caps.h"
#include "err.h"
#include "log.h"
#include "tpm_internal.h"

#define SOFT_AK_ATTRS (TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT)
#define SOFT_SK_ATTRS (TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_SIGN_ENCRYPT)

struct softkey {
    char *state_dir;
    EVP_PKEY *ak, *sk;
    TPM2B_PUBLIC ak_pub, sk_pub;
    TPM2B_NAME ak_name, sk_name;
};

static void soft_close(void *impl)
{
    struct softkey *s = impl;

    if (s == NULL)
        return;
    EVP_PKEY_free(s->ak);
    EVP_PKEY_free(s->sk);
    free(s->state_dir);
    free(s);
}

static int soft_open(const struct agent_tpm_settings *settings, void **impl)
{
    struct softkey *s = calloc(1, sizeof(*s));

    *impl = NULL;
    if (s == NULL)
        return DA_ERR_NOMEM;
    s->state_dir = strdup(settings->state_dir);
    if (s->state_dir == NULL) {
        free(s);
        return DA_ERR_NOMEM;
    }
    *impl = s;
    return 0;
}

static int soft_key_parse(const char *dir, const char *file, const struct da_buf *pem,
                          EVP_PKEY **out)
{
    BIO *bio = BIO_new_mem_buf(da_buf_data(pem), (int)da_buf_len(pem));
    EVP_PKEY *key = NULL;
    char group[32];
    int rc = DA_ERR_TPM_KEY_BLOB;

    if (bio == NULL)
        return DA_ERR_NOMEM;
    key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    if (key == NULL || !EVP_PKEY_is_a(key, "EC") ||
        EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                       NULL) != 1 ||
        strcmp(group, "prime256v1") != 0) {
        da_error_f("%s/%s is not a P-256 private key in PEM", dir, file);
        goto out;
    }
    *out = key;
    key = NULL; /* transferred */
    rc = 0;
out:
    EVP_PKEY_free(key);
    BIO_free(bio);
    return rc;
}

static int soft_key_create(const char *dir, const char *file)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    BIO *bio = BIO_new(BIO_s_mem());
    char *pem = NULL;
    long n;
    int rc = DA_ERR_CRYPTO;

    if (key == NULL || bio == NULL ||
        PEM_write_bio_PKCS8PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1)
        goto out;
    n = BIO_get_mem_data(bio, &pem);
    if (n <= 0)
        goto out;
    rc = agent_state_write_new(dir, file, pem, (size_t)n);
    if (rc == DA_ERR_EXISTS)
        rc = 0; /* another agent made it first: use that one */
    else if (rc == 0)
        da_info_f("created software key %s/%s", dir, file);
    OPENSSL_cleanse(pem, (size_t)n);
out:
    BIO_free(bio);
    EVP_PKEY_free(key);
    return rc;
}

static int soft_key_ready(struct softkey *s, const char *file, TPMA_OBJECT attrs, int flags,
                          EVP_PKEY **key, TPM2B_PUBLIC *pub, TPM2B_NAME *name)
{
    struct da_buf pem = {0};
    int rc;

    if (*key != NULL)
        return 0;
    rc = agent_state_read(s->state_dir, file, DA_MAX_KEY_FILE, &pem);
    if (rc == DA_ERR_NOT_FOUND && (flags & AGENT_IDENTITY_CREATE) != 0) {
        rc = soft_key_create(s->state_dir, file);
        if (rc == 0)
            rc = agent_state_read(s->state_dir, file, DA_MAX_KEY_FILE, &pem);
    } else if (rc == DA_ERR_NOT_FOUND) {
        da_info_f("no %s in %s: the software identity has not been created (enroll first)", file,
                  s->state_dir);
    }
    if (rc == 0)
        rc = soft_key_parse(s->state_dir, file, &pem, key);
    if (rc == 0)
        rc = agent_tpm_public_from_pkey(*key, attrs, pub);
    if (rc == 0)
        rc = agent_tpm_public_name(pub, name);
    da_buf_free(&pem);
    return rc;
}

static int soft_keys_ready(struct softkey *s, int flags)
{
    int rc = soft_key_ready(s, AGENT_STATE_SOFT_AK, SOFT_AK_ATTRS, flags, &s->ak, &s->ak_pub,
                            &s->ak_name);

    if (rc == 0)
        rc = soft_key_ready(s, AGENT_STATE_SOFT_SK, SOFT_SK_ATTRS, flags, &s->sk, &s->sk_pub,
                            &s->sk_name);
    return rc;
}

/* ECDSA over a SHA-256 digest, DER encoded. */
static int soft_sign(EVP_PKEY *key, const unsigned char *digest, size_t len, struct da_buf *der)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    size_t n = 0;
    int rc = DA_ERR_CRYPTO;

    unsigned char sig[DA_MAX_TPM_STRUCT];

    da_buf_init(der, DA_MAX_TPM_STRUCT);
    if (ctx == NULL || EVP_PKEY_sign_init(ctx) != 1 ||
        EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) != 1 ||
        EVP_PKEY_sign(ctx, NULL, &n, digest, len) != 1)
        goto out;
    if (n > sizeof(sig) || EVP_PKEY_sign(ctx, sig, &n, digest, len) != 1)
        goto out;
    rc = da_buf_append(der, sig, n);
out:
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

static void soft_attest_header(const struct softkey *s, TPMI_ST_ATTEST type, const TPM2B_DATA *qual,
                               TPMS_ATTEST *a)
{
    struct timespec now;

    memset(a, 0, sizeof(*a));
    a->magic = TPM2_GENERATED_VALUE;
    a->type = type;
    a->qualifiedSigner = s->ak_name;
    a->extraData = *qual;
    (void)clock_gettime(CLOCK_REALTIME, &now);
    a->clockInfo.clock = (UINT64)now.tv_sec * 1000u + (UINT64)(now.tv_nsec / 1000000);
    a->clockInfo.safe = TPM2_YES;
}

/* Marshal the attestation and sign its SHA-256 digest with the AK. */
static int soft_attest_sign(const struct softkey *s, const TPMS_ATTEST *a, struct da_buf *attest,
                            struct da_buf *signature)
{
    struct da_buf der = {0};
    TPMT_SIGNATURE sig;
    TPM2B_DIGEST d;
    int rc = agent_mu_attest(a, attest);

    if (rc == 0)
        rc = agent_tpm_digest(TPM2_ALG_SHA256, da_buf_data(attest), da_buf_len(attest), &d);
    if (rc == 0)
        rc = soft_sign(s->ak, d.buffer, d.size, &der);
    memset(&sig, 0, sizeof(sig));
    sig.sigAlg = TPM2_ALG_ECDSA;
    if (rc == 0)
        rc = agent_ecdsa_der_to_tpm(da_buf_data(&der), da_buf_len(&der), 32, &sig.signature.ecdsa);
    if (rc == 0)
        rc = agent_mu_signature(&sig, signature);
    da_buf_free(&der);
    return rc;
}

static int soft_certify_sk(void *impl, const TPM2B_DATA *qual, struct da_buf *attest,
                           struct da_buf *sig)
{
    struct softkey *s = impl;
    TPMS_ATTEST a;
    int rc = soft_keys_ready(s, AGENT_IDENTITY_LOAD);

    if (rc != 0)
        return rc;
    soft_attest_header(s, TPM2_ST_ATTEST_CERTIFY, qual, &a);
    a.attested.certify.name = s->sk_name;
    a.attested.certify.qualifiedName = s->sk_name;
    return soft_attest_sign(s, &a, attest, sig);
}

static int soft_identity(void *impl, int flags, struct agent_tpm_identity *id)
{
    struct softkey *s = impl;
    TPM2B_DATA none = {.size = 0};
    int rc;

    if ((flags & AGENT_IDENTITY_EK_ONLY) != 0)
        return 0; /* no EK in software mode */
    rc = soft_keys_ready(s, flags);
    if (rc == 0)
        rc = agent_identity_put_keys(id, &s->ak_pub, &s->ak_name, &s->sk_pub, &s->sk_name);
    if (rc == 0)
        rc = soft_certify_sk(s, &none, &id->sk_certify_attest, &id->sk_certify_signature);
    return rc;
}

static int soft_quote(void *impl, const TPML_PCR_SELECTION *sel, const TPM2B_DATA *qual,
                      struct agent_tpm_quote *q)
{
    struct softkey *s = impl;
    TPMS_ATTEST a;
    int rc = soft_keys_ready(s, AGENT_IDENTITY_LOAD);

    (void)sel; /* there are no PCRs to quote */
    if (rc != 0)
        return rc;
    soft_attest_header(s, TPM2_ST_ATTEST_QUOTE, qual, &a);
    a.attested.quote.pcrSelect.count = 0;
    rc = agent_tpm_digest(TPM2_ALG_SHA256, NULL, 0, &a.attested.quote.pcrDigest);
    if (rc == 0)
        rc = soft_attest_sign(s, &a, &q->attest, &q->signature);
    if (rc == 0)
        rc = agent_mu_pcr_selection(&a.attested.quote.pcrSelect, &q->pcr_selection);
    q->attempts = 1;
    return rc;
}

static int soft_activate_credential(void *impl, const TPM2B_ID_OBJECT *credential,
                                    const TPM2B_ENCRYPTED_SECRET *secret, struct da_buf *out)
{
    (void)impl;
    (void)credential;
    (void)secret;
    (void)out;
    da_error_f("software-key mode has no EK: credential activation needs a TPM");
    return DA_ERR_UNSUPPORTED;
}

static int soft_sign_digest(void *impl, const TPM2B_DIGEST *digest, struct da_buf *der)
{
    struct softkey *s = impl;
    int rc = soft_keys_ready(s, AGENT_IDENTITY_LOAD);

    if (rc != 0)
        return rc;
    return soft_sign(s->sk, digest->buffer, digest->size, der);
}

static int soft_info(void *impl, struct agent_tpm_info *info)
{
    (void)impl;
    memcpy(info->vendor, "software keys", sizeof("software keys"));
    return 0;
}

const struct agent_tpm_backend agent_softkey_backend = {
    .trust = AGENT_TRUST_SOFTWARE,
    .open = soft_open,
    .close = soft_close,
    .identity = soft_identity,
    .certify_sk = soft_certify_sk,
    .quote = soft_quote,
    .activate_credential = soft_activate_credential,
    .sign_digest = soft_sign_digest,
    .info = soft_info,
};
