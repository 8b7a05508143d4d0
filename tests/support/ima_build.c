#include "ima_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

static int put(struct da_test_ima *l, const void *p, size_t n)
{
    if (n > sizeof(l->data) - l->len)
        return -1;
    memcpy(l->data + l->len, p, n);
    l->len += n;
    return 0;
}

static int put_u32(struct da_test_ima *l, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    return put(l, b, 4);
}

static void hex(const unsigned char *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", p[i]);
}

static int digest(const char *alg, const void *a, size_t na, const void *b, size_t nb,
                  unsigned char *out)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned n = 0;
    int ok = c != NULL && EVP_DigestInit_ex(c, EVP_get_digestbyname(alg), NULL) == 1 &&
             EVP_DigestUpdate(c, a, na) == 1 && (nb == 0 || EVP_DigestUpdate(c, b, nb) == 1) &&
             EVP_DigestFinal_ex(c, out, &n) == 1;

    EVP_MD_CTX_free(c);
    return ok ? 0 : -1;
}

/* The listed SHA-1 template hash and the per-bank extend values. */
static int finish(struct da_test_ima *l, size_t hash_at, const void *hashed, size_t hashed_len,
                  const void *hashed2, size_t hashed2_len, int violation)
{
    unsigned char s1[20], s256[32];

    if (violation) {
        memset(l->data + hash_at, 0, 20);
        memset(s1, 0xff, sizeof(s1));
        memset(s256, 0xff, sizeof(s256));
    } else if (digest("SHA1", hashed, hashed_len, hashed2, hashed2_len, s1) != 0 ||
               digest("SHA256", hashed, hashed_len, hashed2, hashed2_len, s256) != 0) {
        return -1;
    } else {
        memcpy(l->data + hash_at, s1, 20);
    }
    hex(s1, 20, l->extend_sha1);
    hex(s256, 32, l->extend_sha256);
    l->entries++;
    return 0;
}

int da_test_ima_add(struct da_test_ima *l, uint32_t pcr, const char *alg, const unsigned char *dig,
                    size_t digest_len, const char *path, const unsigned char *sig, size_t sig_len,
                    int violation)
{
    const char *tmpl = sig != NULL ? "ima-sig" : "ima-ng";
    unsigned char zero[20] = {0};
    size_t start = l->len, hash_at, data_at;
    uint32_t dng = (uint32_t)(strlen(alg) + 2 + digest_len), nng = (uint32_t)strlen(path) + 1;
    uint32_t total = 4 + dng + 4 + nng + (sig != NULL ? 4 + (uint32_t)sig_len : 0);

    l->last_offset = start;
    if (put_u32(l, pcr) != 0)
        return -1;
    hash_at = l->len;
    if (put(l, zero, 20) != 0 || put_u32(l, (uint32_t)strlen(tmpl)) != 0 ||
        put(l, tmpl, strlen(tmpl)) != 0 || put_u32(l, total) != 0)
        return -1;
    data_at = l->len;
    if (put_u32(l, dng) != 0 || put(l, alg, strlen(alg)) != 0 || put(l, ":", 2) != 0 ||
        put(l, dig, digest_len) != 0 || put_u32(l, nng) != 0 || put(l, path, nng) != 0)
        return -1;
    if (sig != NULL && (put_u32(l, (uint32_t)sig_len) != 0 || put(l, sig, sig_len) != 0))
        return -1;
    return finish(l, hash_at, l->data + data_at, total, NULL, 0, violation);
}

int da_test_ima_add_legacy(struct da_test_ima *l, const unsigned char sha1[20], const char *path)
{
    unsigned char zero[20] = {0}, padded[256];
    size_t hash_at, n = strlen(path);

    if (n > 255)
        return -1;
    l->last_offset = l->len;
    if (put_u32(l, 10) != 0)
        return -1;
    hash_at = l->len;
    if (put(l, zero, 20) != 0 || put_u32(l, 3) != 0 || put(l, "ima", 3) != 0 ||
        put(l, sha1, 20) != 0 || put_u32(l, (uint32_t)n) != 0 || put(l, path, n) != 0)
        return -1;
    memset(padded, 0, sizeof(padded));
    memcpy(padded, path, n);
    return finish(l, hash_at, sha1, 20, padded, sizeof(padded), 0);
}

int da_test_ima_add_sha256_hex(struct da_test_ima *l, const char *path, const char *h)
{
    unsigned char d[32];

    if (strlen(h) != 64)
        return -1;
    for (int i = 0; i < 32; i++) {
        if (sscanf(h + 2 * i, "%2hhx", &d[i]) != 1)
            return -1;
    }
    return da_test_ima_add(l, 10, "sha256", d, sizeof(d), path, NULL, 0, 0);
}

int da_test_ima_extend_last(const struct da_test_ima *l, const char *tcti, const char *banks)
{
    char cmd[512];

    if (strcmp(banks, "sha256") == 0)
        snprintf(cmd, sizeof(cmd), "tpm2_pcrextend -T '%s' 10:sha256=%s", tcti, l->extend_sha256);
    else
        snprintf(cmd, sizeof(cmd), "tpm2_pcrextend -T '%s' 10:sha1=%s,sha256=%s", tcti,
                 l->extend_sha1, l->extend_sha256);
    return system(cmd) == 0 ? 0 : -1;
}

int da_test_ima_pcr10(const char *tcti, const char *bank, unsigned char *out, size_t size)
{
    const char *tmp = getenv("TMPDIR");
    char cmd[1024], path[512];
    int fd, rc = -1;
    FILE *f;

    snprintf(path, sizeof(path), "%s/da-ima-pcr-XXXXXX",
             tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
    fd = mkstemp(path);
    if (fd < 0)
        return -1;
    snprintf(cmd, sizeof(cmd), "tpm2_pcrread -T '%s' %s:10 -o '%s' >/dev/null", tcti, bank, path);
    if (system(cmd) == 0 && (f = fdopen(fd, "rb")) != NULL) {
        rc = fread(out, 1, size, f) == size && fgetc(f) == EOF ? 0 : -1;
        fclose(f);
        fd = -1;
    }
    if (fd >= 0)
        close(fd);
    unlink(path);
    return rc;
}
