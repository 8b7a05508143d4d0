/* Delivery bundles from outside (devattest-verify bundle): split and parse
 * every line, then verify twice: as given (no signature can verify, so the
 * bundle must never be accepted) and with every parsed line signed again by
 * a key whose certificate the fuzz CA issued (naming the line's own AK when
 * it has one), so that the checks behind the signature (AK binding, quote,
 * receipt, statement lists) see fuzzed predicates too. A verified bundle is
 * a bug in either case: a fuzzed receipt has no receipt key to verify it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "fuzz_target.h"

#include "bundle.h"
#include "digest.h"
#include "encoding.h"
#include "err.h"
#include "tpm_public.h"

static EVP_PKEY *ca_key, *sk;
static X509 *ca;
static char sk_id[65];

static void add_ak_name(X509 *x, const uint8_t *name, size_t len)
{
    ASN1_OBJECT *oid = OBJ_txt2obj(DA_OID_AK_NAME, 1);
    ASN1_OCTET_STRING *inner = ASN1_OCTET_STRING_new(), *outer = ASN1_OCTET_STRING_new();
    X509_EXTENSION *ext = NULL;
    unsigned char *der = NULL;
    int n;

    if (oid == NULL || inner == NULL || outer == NULL ||
        ASN1_OCTET_STRING_set(inner, name, (int)len) != 1 ||
        (n = i2d_ASN1_OCTET_STRING(inner, &der)) <= 0 ||
        ASN1_OCTET_STRING_set(outer, der, n) != 1 ||
        (ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 0, outer)) == NULL ||
        X509_add_ext(x, ext, -1) != 1)
        abort();
    X509_EXTENSION_free(ext);
    OPENSSL_free(der);
    ASN1_OCTET_STRING_free(inner);
    ASN1_OCTET_STRING_free(outer);
    ASN1_OBJECT_free(oid);
}

/* A certificate for key; ak_name (may be NULL) in the AK name extension. */
static X509 *cert_for(EVP_PKEY *key, const char *cn, X509 *issuer, const uint8_t *ak_name,
                      size_t ak_name_len)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();

    if (x == NULL || name == NULL || X509_set_version(x, 2) != 1 ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
                                   0) != 1 ||
        X509_set_subject_name(x, name) != 1 ||
        X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : name) != 1 ||
        X509_gmtime_adj(X509_getm_notBefore(x), -86400) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 3650) == NULL ||
        X509_set_pubkey(x, key) != 1)
        abort();
    if (issuer == NULL) {
        X509_EXTENSION *bc =
            X509V3_EXT_conf_nid(NULL, NULL, NID_basic_constraints, "critical,CA:TRUE");
        if (bc == NULL || X509_add_ext(x, bc, -1) != 1)
            abort();
        X509_EXTENSION_free(bc);
    }
    if (ak_name != NULL)
        add_ak_name(x, ak_name, ak_name_len);
    if (X509_sign(x, ca_key, EVP_sha256()) <= 0)
        abort();
    X509_NAME_free(name);
    return x;
}

static char *pem_of(X509 *x)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data, *pem;
    long n;

    if (bio == NULL || PEM_write_bio_X509(bio, x) != 1 || (n = BIO_get_mem_data(bio, &data)) <= 0 ||
        (pem = strndup(data, (size_t)n)) == NULL)
        abort();
    BIO_free(bio);
    return pem;
}

static void setup(void)
{
    unsigned char *der = NULL;
    int len;

    ca_key = EVP_EC_gen("P-256");
    sk = EVP_EC_gen("P-256");
    if (ca_key == NULL || sk == NULL)
        abort();
    ca = cert_for(ca_key, "fuzz CA", NULL, NULL, 0);
    len = i2d_PUBKEY(sk, &der);
    if (len <= 0 || da_sha256_hex(der, (size_t)len, sk_id) != 0)
        abort();
    OPENSSL_free(der);
}

/* The certificate for one line: it names the line's AK when it has one. */
static char *line_cert(const struct da_bundle_entry *e)
{
    const cJSON *ak = cJSON_GetObjectItemCaseSensitive(e->st->predicate, "ak_public");
    struct da_tpm_public *pub = NULL;
    struct da_buf raw;
    const uint8_t *name = NULL;
    size_t name_len = 0;
    X509 *x;
    char *pem;

    da_buf_init(&raw, DA_MAX_TPM_STRUCT);
    if (cJSON_IsString(ak) &&
        da_base64_decode(ak->valuestring, strlen(ak->valuestring), DA_BASE64_STD, &raw) == 0 &&
        da_tpm_public_parse(da_buf_data(&raw), da_buf_len(&raw), &pub) == 0)
        name = da_tpm_public_name(pub, &name_len);
    x = cert_for(sk, "fuzz agent", ca, name, name_len);
    pem = pem_of(x);
    X509_free(x);
    da_tpm_public_free(pub);
    da_buf_free(&raw);
    return pem;
}

/* Every parsed line signed again by the fuzz SK under its certificate. */
static void resign(struct da_bundle *b, char **pems)
{
    for (size_t i = 0; i < b->n; i++) {
        struct da_bundle_entry *e = &b->e[i];
        struct da_dsse_envelope *env = e->env;
        if (e->parse_rc != 0)
            continue;
        for (size_t s = 0; s < env->nsigs; s++) {
            free(env->sigs[s].keyid);
            free(env->sigs[s].sig);
        }
        env->nsigs = 0;
        if (da_dsse_sign_ecdsa_p256(sk, sk_id, env) != 0)
            abort();
        pems[i] = line_cert(e);
        e->certificate = pems[i];
        e->chain = NULL;
        e->timestamp = NULL;
    }
}

static void verify_never_accepts(const struct da_bundle *b, const struct da_bundle_options *o)
{
    cJSON *report = NULL;
    int rc = da_bundle_verify(b, o, &report);

    if (rc == 0 || (report == NULL && rc != DA_ERR_NOMEM))
        abort();
    cJSON_Delete(report);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct da_bundle_options o;
    struct da_bundle *b = NULL;
    char **pems;

    if (ca == NULL)
        setup();
    if (da_bundle_parse((const char *)data, size, &b) != 0)
        return 0;
    memset(&o, 0, sizeof(o));
    o.ca = ca;
    o.now = 1796500000;
    o.require = DA_BUNDLE_SBOM | DA_BUNDLE_SCAN;
    verify_never_accepts(b, &o);
    pems = calloc(b->n + 1, sizeof(*pems));
    if (pems == NULL)
        abort();
    resign(b, pems);
    verify_never_accepts(b, &o);
    for (size_t i = 0; i < b->n; i++)
        free(pems[i]);
    free(pems);
    da_bundle_free(b);
    return 0;
}
