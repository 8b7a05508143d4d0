#include "oaep_cert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

/* OID 1.2.840.113549.1.1.1 with NULL, and 1.2.840.113549.1.1.7 with an
 * empty SEQUENCE. */
static const unsigned char rsa_encryption[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
                                               0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};
static const unsigned char rsaes_oaep[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
                                           0x0d, 0x01, 0x01, 0x07, 0x30, 0x00};

static unsigned char *read_all(const char *path, long *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *d = NULL;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (*len = ftell(f)) > 0 && *len < (1 << 20) &&
        fseek(f, 0, SEEK_SET) == 0) {
        d = malloc((size_t)*len);
        if (d != NULL && fread(d, 1, (size_t)*len, f) != (size_t)*len) {
            free(d);
            d = NULL;
        }
    }
    fclose(f);
    return d;
}

int tt_oaep_cert(const char *in_der, const char *issuer_key, const char *out_der)
{
    unsigned char *der, *hit, *out = NULL;
    const unsigned char *p;
    long len = 0;
    X509 *x = NULL;
    EVP_PKEY *key = NULL;
    FILE *f;
    int n, rc = -1;

    der = read_all(in_der, &len);
    if (der == NULL)
        return -1;
    hit = memmem(der, (size_t)len, rsa_encryption, sizeof(rsa_encryption));
    /* Exactly one occurrence: the SubjectPublicKeyInfo. */
    if (hit == NULL || memmem(hit + 1, (size_t)(der + len - hit - 1), rsa_encryption,
                              sizeof(rsa_encryption)) != NULL)
        goto out;
    memcpy(hit, rsaes_oaep, sizeof(rsaes_oaep));
    p = der;
    x = d2i_X509(NULL, &p, len);
    f = fopen(issuer_key, "r");
    if (f != NULL) {
        key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        fclose(f);
    }
    if (x == NULL || key == NULL || X509_sign(x, key, EVP_sha256()) <= 0)
        goto out;
    n = i2d_X509(x, &out);
    f = n > 0 ? fopen(out_der, "wb") : NULL;
    if (f != NULL) {
        rc = fwrite(out, 1, (size_t)n, f) == (size_t)n ? 0 : -1;
        if (fclose(f) != 0)
            rc = -1;
    }
out:
    OPENSSL_free(out);
    EVP_PKEY_free(key);
    X509_free(x);
    free(der);
    return rc;
}
