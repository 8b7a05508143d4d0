#include "ek.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "caps.h"
#include "err.h"
#include "file.h"

struct da_ek_trust {
    X509_STORE *roots;
    STACK_OF(X509) * intermediates;
};

int da_ek_trust_new(struct da_ek_trust **out)
{
    struct da_ek_trust *t;

    *out = NULL;
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return DA_ERR_NOMEM;
    t->roots = X509_STORE_new();
    t->intermediates = sk_X509_new_null();
    if (t->roots == NULL || t->intermediates == NULL) {
        da_ek_trust_free(t);
        return DA_ERR_NOMEM;
    }
    *out = t;
    return 0;
}

void da_ek_trust_free(struct da_ek_trust *t)
{
    if (t == NULL)
        return;
    X509_STORE_free(t->roots);
    sk_X509_pop_free(t->intermediates, X509_free);
    free(t);
}

/* Exactly one DER certificate spanning len bytes. */
static int parse_der(const uint8_t *der, size_t len, X509 **out)
{
    const unsigned char *p = der;
    X509 *x;

    *out = NULL;
    if (der == NULL || len == 0)
        return DA_ERR_VERIFY_EK_CHAIN;
    if (len > DA_MAX_EK_CERT)
        return DA_ERR_TOO_LARGE;
    x = d2i_X509(NULL, &p, (long)len);
    if (x == NULL) {
        ERR_clear_error();
        return DA_ERR_VERIFY_EK_CHAIN;
    }
    if ((size_t)(p - der) != len) {
        X509_free(x);
        return DA_ERR_TRAILING_DATA;
    }
    *out = x;
    return 0;
}

/* Call add(t, cert) for each certificate of a PEM text or a DER blob. */
static int for_each_cert(struct da_ek_trust *t, const uint8_t *data, size_t len,
                         int (*add)(struct da_ek_trust *, X509 *))
{
    BIO *bio = NULL;
    X509 *x = NULL;
    int rc = 0, count = 0;

    if (data == NULL || len == 0)
        return DA_ERR_CONFIG;
    if (len > DA_MAX_EK_CERT_FILE)
        return DA_ERR_TOO_LARGE;
    if (data[0] == 0x30) { /* DER SEQUENCE */
        if (parse_der(data, len, &x) != 0)
            return DA_ERR_CONFIG;
        rc = add(t, x);
        X509_free(x);
        return rc;
    }
    bio = BIO_new_mem_buf(data, (int)len);
    if (bio == NULL)
        return DA_ERR_NOMEM;
    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        rc = add(t, x);
        X509_free(x);
        if (rc != 0)
            goto out;
        count++;
    }
    /* The loop ends at the end of the text or at a block that does not parse. */
    if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE || count == 0)
        rc = DA_ERR_CONFIG;
out:
    ERR_clear_error();
    BIO_free(bio);
    return rc;
}

static int add_root(struct da_ek_trust *t, X509 *x)
{
    if (X509_STORE_add_cert(t->roots, x) != 1) {
        /* The same root twice is harmless. */
        if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_CERT_ALREADY_IN_HASH_TABLE)
            return 0;
        return DA_ERR_CONFIG;
    }
    return 0;
}

static int add_intermediate(struct da_ek_trust *t, X509 *x)
{
    if (!X509_up_ref(x))
        return DA_ERR_NOMEM;
    if (sk_X509_push(t->intermediates, x) <= 0) {
        X509_free(x);
        return DA_ERR_NOMEM;
    }
    return 0;
}

int da_ek_trust_add_root(struct da_ek_trust *t, const uint8_t *cert, size_t len)
{
    return for_each_cert(t, cert, len, add_root);
}

int da_ek_trust_add_intermediate(struct da_ek_trust *t, const uint8_t *cert, size_t len)
{
    return for_each_cert(t, cert, len, add_intermediate);
}

static int add_file(struct da_ek_trust *t, const char *path,
                    int (*add)(struct da_ek_trust *, const uint8_t *, size_t))
{
    struct da_buf b;
    int rc;

    rc = da_file_read(path, DA_MAX_EK_CERT_FILE, &b);
    if (rc == 0)
        rc = add(t, da_buf_data(&b), da_buf_len(&b));
    da_buf_free(&b);
    return rc;
}

int da_ek_trust_add_roots_file(struct da_ek_trust *t, const char *path)
{
    return add_file(t, path, da_ek_trust_add_root);
}

int da_ek_trust_add_intermediates_file(struct da_ek_trust *t, const char *path)
{
    return add_file(t, path, da_ek_trust_add_intermediate);
}

/* Critical extensions OpenSSL does not process, accepted on an EK
 * certificate: subject directory attributes (TPM specification). */
static int only_tolerated_critical(X509 *x)
{
    int i, n = X509_get_ext_count(x);

    for (i = 0; i < n; i++) {
        X509_EXTENSION *ext = X509_get_ext(x, i);
        int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));

        if (!X509_EXTENSION_get_critical(ext) || X509_supported_extension(ext))
            continue;
        if (nid != NID_subject_directory_attributes)
            return 0;
    }
    return 1;
}

static int ek_verify_cb(int ok, X509_STORE_CTX *ctx)
{
    if (ok)
        return 1;
    if (X509_STORE_CTX_get_error(ctx) == X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION &&
        X509_STORE_CTX_get_error_depth(ctx) == 0 &&
        only_tolerated_critical(X509_STORE_CTX_get_current_cert(ctx))) {
        X509_STORE_CTX_set_error(ctx, X509_V_OK);
        return 1;
    }
    return 0;
}

static int build_untrusted(const struct da_ek_trust *t, const uint8_t *const *chain,
                           const size_t *chain_lens, size_t chain_count, STACK_OF(X509) * *out)
{
    STACK_OF(X509) *st = NULL;
    X509 *x = NULL;
    size_t i;
    int rc;

    *out = NULL;
    if (chain_count > DA_MAX_EK_CHAIN)
        return DA_ERR_TOO_LARGE;
    if (chain_count > 0 && (chain == NULL || chain_lens == NULL))
        return DA_ERR_INVALID_ARG;
    st = X509_chain_up_ref(t->intermediates);
    if (st == NULL)
        return DA_ERR_NOMEM;
    for (i = 0; i < chain_count; i++) {
        if ((rc = parse_der(chain[i], chain_lens[i], &x)) != 0)
            goto out;
        if (sk_X509_push(st, x) <= 0) {
            rc = DA_ERR_NOMEM;
            goto out;
        }
        x = NULL; /* transferred */
    }
    *out = st;
    st = NULL; /* transferred */
    rc = 0;
out:
    X509_free(x);
    sk_X509_pop_free(st, X509_free);
    return rc;
}

EVP_PKEY *da_ek_cert_public_key(X509 *cert)
{
    X509_PUBKEY *spki;
    ASN1_OBJECT *alg = NULL;
    const unsigned char *pk = NULL, *p;
    EVP_PKEY *key;
    int len = 0;

    if (cert == NULL)
        return NULL;
    key = X509_get_pubkey(cert);
    if (key != NULL)
        return key;
    ERR_clear_error();
    /* OpenSSL has no key type for id-RSAES-OAEP: the key itself is a plain
     * PKCS#1 RSAPublicKey, only the algorithm identifier differs. */
    spki = X509_get_X509_PUBKEY(cert);
    if (spki == NULL || X509_PUBKEY_get0_param(&alg, &pk, &len, NULL, spki) != 1 ||
        OBJ_obj2nid(alg) != NID_rsaesOaep || pk == NULL || len <= 0)
        return NULL;
    p = pk;
    key = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, len);
    if (key != NULL && p != pk + len) {
        EVP_PKEY_free(key);
        key = NULL;
    }
    ERR_clear_error();
    return key;
}

/* The last certificate of the chain X509_verify_cert built: the
 * configured root it ended at (a new reference). */
static int chain_anchor(X509_STORE_CTX *ctx, X509 **anchor)
{
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
    int n = chain != NULL ? sk_X509_num(chain) : 0;

    if (n <= 0)
        return DA_ERR_VERIFY_EK_CHAIN;
    *anchor = sk_X509_value(chain, n - 1);
    return X509_up_ref(*anchor) == 1 ? 0 : DA_ERR_NOMEM;
}

/* name in RFC 4514 one-line form into out; cut with "..." when longer
 * (never inside a backslash escape). */
static int name_text(const X509_NAME *name, char *out, size_t size)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    long len;
    size_t n;

    out[0] = '\0';
    if (bio == NULL)
        return DA_ERR_NOMEM;
    if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) < 0) {
        BIO_free(bio);
        return DA_ERR_VERIFY_EK_CHAIN;
    }
    len = BIO_get_mem_data(bio, &data);
    n = len > 0 ? (size_t)len : 0;
    if (n >= size) {
        n = size - 4;
        /* an escape is a backslash and one character, or three in all */
        for (size_t k = n >= 2 ? n - 2 : 0; k < n; k++) {
            if (data[k] == '\\') {
                n = k;
                break;
            }
        }
        memcpy(out, data, n);
        memcpy(out + n, "...", 4);
    } else {
        memcpy(out, data, n);
        out[n] = '\0';
    }
    BIO_free(bio);
    return 0;
}

static int serial_text(const X509 *x, char *out, size_t size)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
    int rc = hex == NULL ? DA_ERR_NOMEM : strlen(hex) < size ? 0 : DA_ERR_VERIFY_EK_CHAIN;

    out[0] = '\0';
    if (rc == 0)
        memcpy(out, hex, strlen(hex) + 1);
    OPENSSL_free(hex);
    BN_free(bn);
    return rc;
}

static int cert_info(X509 *x, X509 *anchor, struct da_ek_cert_info *info)
{
    int rc = name_text(X509_get_issuer_name(x), info->issuer, sizeof(info->issuer));

    if (rc == 0)
        rc = serial_text(x, info->serial, sizeof(info->serial));
    if (rc == 0)
        rc = name_text(X509_get_subject_name(anchor), info->root, sizeof(info->root));
    return rc;
}

/* The issuer of leaf among the untrusted certificates and the roots: names
 * and key identifiers fit (X509_check_issued), it is a CA, and its key
 * verifies leaf's signature. A new reference, or NULL. */
static X509 *find_issuer(X509_STORE *roots, STACK_OF(X509) * untrusted, X509 *leaf)
{
    STACK_OF(X509) *all = X509_STORE_get1_all_certs(roots);
    X509 *found = NULL;
    int i, pass;

    for (pass = 0; pass < 2 && found == NULL; pass++) {
        STACK_OF(X509) *st = pass == 0 ? untrusted : all;
        for (i = 0; st != NULL && i < sk_X509_num(st) && found == NULL; i++) {
            X509 *c = sk_X509_value(st, i);
            EVP_PKEY *k = X509_get0_pubkey(c);
            if (k != NULL && X509_check_issued(c, leaf) == X509_V_OK && X509_check_ca(c) >= 1 &&
                X509_verify(leaf, k) == 1 && X509_up_ref(c))
                found = c;
        }
    }
    sk_X509_pop_free(all, X509_free);
    return found;
}

/* OpenSSL cannot build a chain from a certificate whose key it cannot decode
 * (id-RSAES-OAEP): it stops at "is it self-signed?". Such a certificate is
 * checked here as OpenSSL checks a leaf (issuer and signature, validity,
 * critical extensions), then OpenSSL verifies the issuer's own chain. */
static int verify_undecodable_leaf(const struct da_ek_trust *t, STACK_OF(X509) * untrusted,
                                   X509 *leaf, unsigned flags, const char **reason, X509 **anchor)
{
    X509 *issuer = find_issuer(t->roots, untrusted, leaf);
    X509_STORE_CTX *ctx = NULL;
    int i, rc = DA_ERR_VERIFY_EK_CHAIN;

    if (issuer == NULL) {
        *reason = X509_verify_cert_error_string(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
        goto out;
    }
    if ((flags & DA_EK_NO_TIME_CHECK) == 0) {
        if (X509_cmp_current_time(X509_get0_notBefore(leaf)) >= 0) {
            *reason = X509_verify_cert_error_string(X509_V_ERR_CERT_NOT_YET_VALID);
            goto out;
        }
        if (X509_cmp_current_time(X509_get0_notAfter(leaf)) <= 0) {
            *reason = X509_verify_cert_error_string(X509_V_ERR_CERT_HAS_EXPIRED);
            goto out;
        }
    }
    for (i = 0; i < X509_get_ext_count(leaf); i++) {
        X509_EXTENSION *ext = X509_get_ext(leaf, i);
        if (X509_EXTENSION_get_critical(ext) && !X509_supported_extension(ext) &&
            !only_tolerated_critical(leaf)) {
            *reason = X509_verify_cert_error_string(X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION);
            goto out;
        }
    }
    ctx = X509_STORE_CTX_new();
    if (ctx == NULL || X509_STORE_CTX_init(ctx, t->roots, issuer, untrusted) != 1) {
        rc = DA_ERR_NOMEM;
        goto out;
    }
    /* Every configured root is an anchor, self-signed or not: makers
     * publish CAs whose own issuer they do not publish. */
    X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx), X509_V_FLAG_PARTIAL_CHAIN);
    if (flags & DA_EK_NO_TIME_CHECK)
        X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx), X509_V_FLAG_NO_CHECK_TIME);
    if (X509_verify_cert(ctx) != 1) {
        *reason = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
        goto out;
    }
    rc = chain_anchor(ctx, anchor);
out:
    X509_STORE_CTX_free(ctx);
    X509_free(issuer);
    return rc;
}

static int verify_chain(const struct da_ek_trust *t, STACK_OF(X509) * untrusted, X509 *x,
                        unsigned flags, const char **reason, X509 **anchor)
{
    X509_STORE_CTX *ctx;
    int rc = 0;

    if (X509_get0_pubkey(x) == NULL) {
        EVP_PKEY *key = da_ek_cert_public_key(x);
        ERR_clear_error();
        if (key == NULL) {
            *reason = "the certificate's public key cannot be decoded";
            return DA_ERR_VERIFY_EK_CHAIN;
        }
        EVP_PKEY_free(key);
        return verify_undecodable_leaf(t, untrusted, x, flags, reason, anchor);
    }
    ctx = X509_STORE_CTX_new();
    if (ctx == NULL || X509_STORE_CTX_init(ctx, t->roots, x, untrusted) != 1) {
        X509_STORE_CTX_free(ctx);
        return DA_ERR_NOMEM;
    }
    X509_STORE_CTX_set_verify_cb(ctx, ek_verify_cb);
    X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx), X509_V_FLAG_PARTIAL_CHAIN);
    if (flags & DA_EK_NO_TIME_CHECK)
        X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx), X509_V_FLAG_NO_CHECK_TIME);
    if (X509_verify_cert(ctx) != 1) {
        *reason = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
        rc = DA_ERR_VERIFY_EK_CHAIN;
    } else {
        rc = chain_anchor(ctx, anchor);
    }
    X509_STORE_CTX_free(ctx);
    return rc;
}

int da_ek_cert_verify(const struct da_ek_trust *t, const uint8_t *cert, size_t cert_len,
                      const uint8_t *const *chain, const size_t *chain_lens, size_t chain_count,
                      const struct da_tpm_public *ek, unsigned flags, const char **reason)
{
    return da_ek_cert_verify_info(t, cert, cert_len, chain, chain_lens, chain_count, ek, flags,
                                  reason, NULL);
}

int da_ek_cert_verify_info(const struct da_ek_trust *t, const uint8_t *cert, size_t cert_len,
                           const uint8_t *const *chain, const size_t *chain_lens,
                           size_t chain_count, const struct da_tpm_public *ek, unsigned flags,
                           const char **reason, struct da_ek_cert_info *info)
{
    X509 *x = NULL, *anchor = NULL;
    STACK_OF(X509) *untrusted = NULL;
    EVP_PKEY *cert_key = NULL;
    const char *why = NULL;
    int rc;

    if (reason != NULL)
        *reason = NULL;
    if (info != NULL)
        memset(info, 0, sizeof(*info));
    if (t == NULL || ek == NULL)
        return DA_ERR_INVALID_ARG;
    if ((rc = parse_der(cert, cert_len, &x)) != 0)
        goto out;
    if ((rc = build_untrusted(t, chain, chain_lens, chain_count, &untrusted)) != 0)
        goto out;
    if ((rc = verify_chain(t, untrusted, x, flags, &why, &anchor)) != 0) {
        if (reason != NULL)
            *reason = why;
        goto out;
    }
    cert_key = da_ek_cert_public_key(x);
    if (cert_key == NULL || EVP_PKEY_eq(cert_key, da_tpm_public_pkey(ek)) != 1) {
        rc = DA_ERR_VERIFY_EK_KEY_MISMATCH;
        goto out;
    }
    rc = info != NULL ? cert_info(x, anchor, info) : 0;
out:
    ERR_clear_error();
    X509_free(anchor);
    EVP_PKEY_free(cert_key);
    sk_X509_pop_free(untrusted, X509_free);
    X509_free(x);
    return rc;
}

int da_ek_cert_trim(const uint8_t *nv, size_t nv_len, size_t *der_len)
{
    size_t len, hdr, i;

    *der_len = 0;
    if (nv == NULL || nv_len < 2 || nv[0] != 0x30)
        return DA_ERR_VERIFY_EK_CHAIN;
    if (nv[1] < 0x80) {
        hdr = 2;
        len = nv[1];
    } else if (nv[1] == 0x81 && nv_len >= 3) {
        hdr = 3;
        len = nv[2];
    } else if (nv[1] == 0x82 && nv_len >= 4) {
        hdr = 4;
        len = (size_t)nv[2] << 8 | nv[3];
    } else {
        return DA_ERR_VERIFY_EK_CHAIN;
    }
    if (len > nv_len - hdr)
        return DA_ERR_VERIFY_EK_CHAIN;
    for (i = hdr + len; i < nv_len; i++) {
        if (nv[i] != 0x00 && nv[i] != 0xFF)
            return DA_ERR_TRAILING_DATA;
    }
    *der_len = hdr + len;
    return 0;
}
