/* Synthetic IMA runtime measurement lists for tests, written the way the
 * kernel prints binary_runtime_measurements (little-endian), with the
 * digests a kernel would extend PCR 10 with, so that a test can extend a
 * real TPM (tpm2_pcrextend on swtpm) to match. The template hashes are
 * computed here with OpenSSL from the kernel's documented rules, apart from
 * the code under test. */
#ifndef DA_TEST_IMA_BUILD_H
#define DA_TEST_IMA_BUILD_H

#include <stddef.h>
#include <stdint.h>

struct da_test_ima {
    unsigned char data[1 << 20];
    size_t len;
    size_t entries;
    /* what the last entry extends PCR 10 with, per bank, as hex */
    char extend_sha1[41];
    char extend_sha256[65];
    size_t last_offset; /* where the last entry starts */
};

/* Append an ima-ng (sig NULL) or ima-sig entry: d-ng "ALG:" NUL digest,
 * n-ng path NUL [, sig]. violation: the listed template hash is zeros and
 * the TPM is extended with 0xff bytes. 0 or -1 when it does not fit. */
int da_test_ima_add(struct da_test_ima *l, uint32_t pcr, const char *alg,
                    const unsigned char *digest, size_t digest_len, const char *path,
                    const unsigned char *sig, size_t sig_len, int violation);
/* Append an entry of the legacy "ima" template (SHA-1 file digest). */
int da_test_ima_add_legacy(struct da_test_ima *l, const unsigned char sha1[20], const char *path);
/* An ima-ng entry for path with the SHA-256 given as hex. */
int da_test_ima_add_sha256_hex(struct da_test_ima *l, const char *path, const char *hex);

/* tpm2_pcrextend the last entry's digests into PCR 10 of the banks named
 * ("sha256" or "sha1,sha256") on the TPM at tcti. 0 or -1. */
int da_test_ima_extend_last(const struct da_test_ima *l, const char *tcti, const char *banks);

/* tpm2_pcrread PCR 10 of a bank (sha1 or sha256) into out (20 or 32
 * bytes). 0 or -1. */
int da_test_ima_pcr10(const char *tcti, const char *bank, unsigned char *out, size_t size);

#endif
