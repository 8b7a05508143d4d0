#include "pki.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "err.h"
#include "file.h"
#include "log.h"
#include "receipt_keys.h"

#define PKI_MAX_PEM (64u * 1024)

int srv_read_file(const char *path, size_t cap, char **out, size_t *len)
{
    struct da_buf b;
    char chunk[4096];
    ssize_t n;
    int fd, rc = 0;

    *out = NULL;
    da_buf_init(&b, cap);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return DA_ERR_NOT_FOUND;
        da_error_f("%s: %s", path, strerror(errno));
        return DA_ERR_IO;
    }
    while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
        rc = da_buf_append(&b, chunk, (size_t)n);
        if (rc != 0)
            goto out;
    }
    if (n < 0) {
        rc = DA_ERR_IO;
        goto out;
    }
    *out = (char *)da_buf_take(&b, len);
    if (*out == NULL)
        rc = DA_ERR_NOMEM;
out:
    OPENSSL_cleanse(chunk, sizeof(chunk));
    close(fd);
    da_buf_free(&b);
    return rc;
}

/* Write data to dir/name, mode 0600, refusing to replace a file. */
static int write_new_file(const char *dir, const char *name, const void *data, size_t len)
{
    int r = da_file_write(dir, name, data, len, DA_WRITE_NEW);

    if (r != 0)
        da_error_f("%s/%s: %s", dir, name, strerror(errno));
    return r;
}

/* A NUL-terminated copy of n bytes that need not be terminated. */
static char *dup_text(const char *p, size_t n)
{
    char *d = malloc(n + 1);

    if (d != NULL) {
        memcpy(d, p, n);
        d[n] = '\0';
    }
    return d;
}

static int pem_of_key(EVP_PKEY *key, bool private_part, char **out)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    long n;
    int ok;

    *out = NULL;
    if (bio == NULL)
        return DA_ERR_NOMEM;
    ok = private_part ? PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)
                      : PEM_write_bio_PUBKEY(bio, key);
    n = BIO_get_mem_data(bio, &data);
    if (ok != 1 || n <= 0 || (*out = dup_text(data, (size_t)n)) == NULL) {
        BIO_free(bio);
        return DA_ERR_CRYPTO;
    }
    if (private_part)
        OPENSSL_cleanse(data, (size_t)n);
    BIO_free(bio);
    return 0;
}

static int pem_of_cert(X509 *x, char **out)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    long n;

    *out = NULL;
    if (bio == NULL)
        return DA_ERR_NOMEM;
    if (PEM_write_bio_X509(bio, x) != 1 || (n = BIO_get_mem_data(bio, &data)) <= 0 ||
        (*out = dup_text(data, (size_t)n)) == NULL) {
        BIO_free(bio);
        return DA_ERR_CRYPTO;
    }
    BIO_free(bio);
    return 0;
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext == NULL)
        return DA_ERR_CRYPTO;
    ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok == 1 ? 0 : DA_ERR_CRYPTO;
}

/* A certificate for key, named cn, signed by issuer_key (issuer NULL: self). */
static int make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
                     unsigned days, X509 **out)
{
    X509 *x = X509_new();
    BIGNUM *bn = BN_new();
    X509_NAME *name;
    int rc = DA_ERR_CRYPTO;

    *out = NULL;
    if (x == NULL || bn == NULL)
        goto out;
    if (X509_set_version(x, 2) != 1 || BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
        BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
        goto out;
    if (X509_gmtime_adj(X509_getm_notBefore(x), -300) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(x), (long)days * 86400) == NULL)
        goto out;
    name = X509_get_subject_name(x);
    if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"devattest", -1,
                                   -1, 0) != 1 ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                   0) != 1)
        goto out;
    if (X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : name) != 1 ||
        X509_set_pubkey(x, key) != 1)
        goto out;
    if (add_ext(x, issuer != NULL ? issuer : x, NID_subject_key_identifier, "hash") != 0 ||
        add_ext(x, issuer != NULL ? issuer : x, NID_authority_key_identifier, "keyid:always") != 0)
        goto out;
    *out = x;
    x = NULL; /* transferred */
    rc = 0;
out:
    X509_free(x);
    BN_free(bn);
    (void)issuer_key;
    return rc;
}

static int sign_cert(X509 *x, EVP_PKEY *key)
{
    return X509_sign(x, key, EVP_sha256()) > 0 ? 0 : DA_ERR_CRYPTO;
}

static int san_list(const char *const *names, size_t nnames, struct da_buf *b)
{
    unsigned char addr[16];
    size_t i;
    int rc = 0;

    for (i = 0; i < nnames && rc == 0; i++) {
        bool ip =
            inet_pton(AF_INET, names[i], addr) == 1 || inet_pton(AF_INET6, names[i], addr) == 1;

        if (names[i][0] == '\0' || (strpbrk(names[i], ",:= \t") != NULL && !ip))
            return DA_ERR_INVALID_ARG;
        rc = da_buf_printf(b, "%s%s:%s", i > 0 ? "," : "", ip ? "IP" : "DNS", names[i]);
    }
    return rc;
}

static int write_key_files(const char *dir, EVP_PKEY *key, const char *keyname, const char *pubname)
{
    char *pem = NULL;
    int rc;

    rc = pem_of_key(key, true, &pem);
    if (rc == 0)
        rc = write_new_file(dir, keyname, pem, strlen(pem));
    if (pem != NULL) {
        OPENSSL_cleanse(pem, strlen(pem));
        free(pem);
        pem = NULL;
    }
    if (rc == 0 && pubname != NULL) {
        rc = pem_of_key(key, false, &pem);
        if (rc == 0)
            rc = write_new_file(dir, pubname, pem, strlen(pem));
        free(pem);
    }
    return rc;
}

static int write_cert_file(const char *dir, X509 *x, const char *name, char **pem_out)
{
    char *pem = NULL;
    int rc;

    rc = pem_of_cert(x, &pem);
    if (rc == 0)
        rc = write_new_file(dir, name, pem, strlen(pem));
    if (rc == 0 && pem_out != NULL) {
        *pem_out = pem;
        pem = NULL; /* transferred */
    }
    free(pem);
    return rc;
}

int srv_pki_init(const char *dir, const char *const *names, size_t nnames, FILE *ca_out)
{
    EVP_PKEY *ca_key = NULL, *srv_key = NULL, *rcpt_key = NULL;
    X509 *ca = NULL, *srv = NULL;
    unsigned char nonce_key[SRV_NONCE_KEY_LEN];
    struct da_buf san;
    char *ca_pem = NULL;
    int rc;

    da_buf_init(&san, 8192);
    if (nnames == 0)
        return DA_ERR_INVALID_ARG;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        da_error_f("%s: %s", dir, strerror(errno));
        return DA_ERR_IO;
    }
    rc = san_list(names, nnames, &san);
    if (rc != 0)
        goto out;
    ca_key = EVP_EC_gen("P-256");
    srv_key = EVP_EC_gen("P-256");
    rcpt_key = EVP_EC_gen("P-256");
    if (ca_key == NULL || srv_key == NULL || rcpt_key == NULL) {
        rc = DA_ERR_CRYPTO;
        goto out;
    }
    rc = make_cert(ca_key, "devattest server CA", NULL, NULL, 3650, &ca);
    if (rc == 0)
        rc = add_ext(ca, ca, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
    if (rc == 0)
        rc = add_ext(ca, ca, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
    if (rc == 0)
        rc = sign_cert(ca, ca_key);
    if (rc == 0)
        rc = make_cert(srv_key, names[0], ca, ca_key, 825, &srv);
    if (rc == 0)
        rc = add_ext(srv, ca, NID_basic_constraints, "critical,CA:FALSE");
    if (rc == 0)
        rc = add_ext(srv, ca, NID_key_usage, "critical,digitalSignature");
    if (rc == 0)
        rc = add_ext(srv, ca, NID_ext_key_usage, "serverAuth");
    if (rc == 0)
        rc = add_ext(srv, ca, NID_subject_alt_name, da_buf_str(&san));
    if (rc == 0)
        rc = sign_cert(srv, ca_key);
    if (rc == 0 && RAND_priv_bytes(nonce_key, sizeof(nonce_key)) != 1)
        rc = DA_ERR_CRYPTO;
    if (rc == 0)
        rc = write_key_files(dir, ca_key, "ca.key", NULL);
    if (rc == 0)
        rc = write_cert_file(dir, ca, "ca.pem", &ca_pem);
    if (rc == 0)
        rc = write_key_files(dir, srv_key, "server.key", NULL);
    if (rc == 0)
        rc = write_cert_file(dir, srv, "server.pem", NULL);
    if (rc == 0)
        rc = write_key_files(dir, rcpt_key, "receipt.key", "receipt.pub");
    if (rc == 0)
        rc = write_new_file(dir, "nonce.key", nonce_key, sizeof(nonce_key));
    if (rc == 0 && ca_out != NULL && fputs(ca_pem, ca_out) < 0)
        rc = DA_ERR_IO;
out:
    OPENSSL_cleanse(nonce_key, sizeof(nonce_key));
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(srv_key);
    EVP_PKEY_free(rcpt_key);
    X509_free(ca);
    X509_free(srv);
    free(ca_pem);
    da_buf_free(&san);
    return rc;
}

static int load_private_key(const char *path, EVP_PKEY **out)
{
    char *pem = NULL;
    size_t len = 0;
    BIO *bio;
    int rc;

    *out = NULL;
    rc = srv_read_file(path, PKI_MAX_PEM, &pem, &len);
    if (rc != 0)
        return rc;
    bio = BIO_new_mem_buf(pem, (int)len);
    if (bio != NULL)
        *out = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    OPENSSL_cleanse(pem, len);
    free(pem);
    return *out != NULL ? 0 : DA_ERR_CRYPTO;
}

static int path_in(char *buf, size_t size, const char *dir, const char *name)
{
    int n = snprintf(buf, size, "%s/%s", dir, name);

    return n < 0 || (size_t)n >= size ? DA_ERR_INVALID_ARG : 0;
}

/* The deployment's pseudonym key: read it, or create it once. */
static int load_privacy_key(const char *dir, unsigned char key[SRV_PRIVACY_KEY_LEN])
{
    char path[4096], *data = NULL;
    size_t len = 0;
    int rc = path_in(path, sizeof(path), dir, "privacy.key");

    if (rc == 0 && access(path, F_OK) != 0 && errno == ENOENT) {
        if (RAND_priv_bytes(key, SRV_PRIVACY_KEY_LEN) != 1)
            return DA_ERR_CRYPTO;
        rc = write_new_file(dir, "privacy.key", key, SRV_PRIVACY_KEY_LEN);
        if (rc != DA_ERR_EXISTS) /* another process may have just made it */
            return rc;
    }
    if (rc == 0)
        rc = srv_read_file(path, 1024, &data, &len);
    if (rc == 0 && len != SRV_PRIVACY_KEY_LEN)
        rc = DA_ERR_CONFIG;
    if (rc == 0)
        memcpy(key, data, SRV_PRIVACY_KEY_LEN);
    if (data != NULL) {
        OPENSSL_cleanse(data, len);
        free(data);
    }
    return rc;
}

int srv_keys_load(const char *dir, const char *tls_cert, const char *tls_key, struct srv_keys **out)
{
    struct srv_keys *k = calloc(1, sizeof(*k));
    char path[4096], *nk = NULL;
    size_t len = 0;
    BIO *bio = NULL;
    int rc;

    *out = NULL;
    if (k == NULL)
        return DA_ERR_NOMEM;
    rc = path_in(path, sizeof(path), dir, "ca.key");
    if (rc == 0)
        rc = load_private_key(path, &k->ca_key);
    if (rc == 0)
        rc = path_in(path, sizeof(path), dir, "receipt.key");
    if (rc == 0)
        rc = load_private_key(path, &k->receipt_key);
    if (rc == 0)
        rc = path_in(path, sizeof(path), dir, "ca.pem");
    if (rc == 0)
        rc = srv_read_file(path, PKI_MAX_PEM, &k->ca_pem, &len);
    if (rc == 0) {
        bio = BIO_new_mem_buf(k->ca_pem, (int)len);
        k->ca_cert = bio != NULL ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
        if (k->ca_cert == NULL)
            rc = DA_ERR_CRYPTO;
    }
    if (rc == 0)
        rc = srv_receipt_keys_load(dir, k);
    if (rc == 0)
        rc = path_in(path, sizeof(path), dir, "nonce.key");
    if (rc == 0)
        rc = srv_read_file(path, 1024, &nk, &len);
    if (rc == 0 && len != SRV_NONCE_KEY_LEN)
        rc = DA_ERR_CONFIG;
    if (rc == 0)
        memcpy(k->nonce_key, nk, SRV_NONCE_KEY_LEN);
    if (rc == 0)
        rc = load_privacy_key(dir, k->privacy_key);
    if (rc == 0 && tls_cert != NULL)
        rc = srv_read_file(tls_cert, PKI_MAX_PEM, &k->tls_cert_pem, &len);
    if (rc == 0 && tls_key != NULL)
        rc = srv_read_file(tls_key, PKI_MAX_PEM, &k->tls_key_pem, &len);
    if (rc == 0) {
        *out = k;
        k = NULL; /* transferred */
    }
    if (nk != NULL) {
        OPENSSL_cleanse(nk, SRV_NONCE_KEY_LEN);
        free(nk);
    }
    BIO_free(bio);
    srv_keys_free(k);
    return rc;
}

void srv_keys_free(struct srv_keys *k)
{
    if (k == NULL)
        return;
    EVP_PKEY_free(k->ca_key);
    EVP_PKEY_free(k->receipt_key);
    cJSON_Delete(k->receipt_keys);
    X509_free(k->ca_cert);
    free(k->ca_pem);
    free(k->tls_cert_pem);
    if (k->tls_key_pem != NULL) {
        OPENSSL_cleanse(k->tls_key_pem, strlen(k->tls_key_pem));
        free(k->tls_key_pem);
    }
    OPENSSL_cleanse(k->nonce_key, sizeof(k->nonce_key));
    OPENSSL_cleanse(k->privacy_key, sizeof(k->privacy_key));
    free(k);
}

/* The AK name extension: extnValue is the DER of an OCTET STRING. */
static int add_ak_name_ext(X509 *x, const unsigned char *name, size_t len)
{
    ASN1_OBJECT *oid = OBJ_txt2obj(DA_OID_AK_NAME, 1);
    ASN1_OCTET_STRING *inner = ASN1_OCTET_STRING_new(), *outer = ASN1_OCTET_STRING_new();
    X509_EXTENSION *ext = NULL;
    unsigned char *der = NULL;
    int n, rc = DA_ERR_CRYPTO;

    if (oid == NULL || inner == NULL || outer == NULL || len == 0 || len > DA_MAX_TPM_NAME ||
        ASN1_OCTET_STRING_set(inner, name, (int)len) != 1)
        goto out;
    n = i2d_ASN1_OCTET_STRING(inner, &der);
    if (n <= 0 || ASN1_OCTET_STRING_set(outer, der, n) != 1)
        goto out;
    ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 0, outer);
    if (ext != NULL && X509_add_ext(x, ext, -1) == 1)
        rc = 0;
out:
    X509_EXTENSION_free(ext);
    OPENSSL_free(der);
    ASN1_OCTET_STRING_free(inner);
    ASN1_OCTET_STRING_free(outer);
    ASN1_OBJECT_free(oid);
    return rc;
}

int srv_pki_issue_sk_cert(const struct srv_keys *k, EVP_PKEY *sk, const char *agent_id,
                          const unsigned char *ak_name, size_t ak_name_len, unsigned days,
                          char **pem_out)
{
    X509 *x = NULL;
    int rc;

    *pem_out = NULL;
    rc = make_cert(sk, agent_id, k->ca_cert, k->ca_key, days, &x);
    if (rc == 0)
        rc = add_ext(x, k->ca_cert, NID_basic_constraints, "critical,CA:FALSE");
    if (rc == 0)
        rc = add_ext(x, k->ca_cert, NID_key_usage, "critical,digitalSignature");
    if (rc == 0)
        rc = add_ak_name_ext(x, ak_name, ak_name_len);
    if (rc == 0)
        rc = sign_cert(x, k->ca_key);
    if (rc == 0)
        rc = pem_of_cert(x, pem_out);
    X509_free(x);
    return rc;
}

int srv_pki_issue_receipt_cert(EVP_PKEY *ca_key, X509 *ca, EVP_PKEY *key, int64_t not_before,
                               int64_t not_after, char **pem_out)
{
    X509 *x = NULL;
    int rc;

    *pem_out = NULL;
    rc = make_cert(key, "devattest receipt key", ca, ca_key, 1, &x);
    if (rc == 0 && ASN1_TIME_set(X509_getm_notBefore(x), (time_t)not_before) == NULL)
        rc = DA_ERR_CRYPTO;
    if (rc == 0 && not_after != 0 &&
        ASN1_TIME_set(X509_getm_notAfter(x), (time_t)not_after) == NULL)
        rc = DA_ERR_CRYPTO;
    if (rc == 0 && not_after == 0 && X509_set1_notAfter(x, X509_get0_notAfter(ca)) != 1)
        rc = DA_ERR_CRYPTO;
    if (rc == 0)
        rc = add_ext(x, ca, NID_basic_constraints, "critical,CA:FALSE");
    if (rc == 0)
        rc = add_ext(x, ca, NID_key_usage, "critical,digitalSignature");
    if (rc == 0)
        rc = add_ext(x, ca, NID_ext_key_usage, DA_OID_RECEIPT_KEY_EKU);
    if (rc == 0)
        rc = sign_cert(x, ca_key);
    if (rc == 0)
        rc = pem_of_cert(x, pem_out);
    X509_free(x);
    return rc;
}

int srv_pki_public_pem(EVP_PKEY *key, char **pem_out)
{
    return pem_of_key(key, false, pem_out);
}
