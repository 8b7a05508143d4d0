/* A software stand-in for a TPM attestation key, for load and crash tests
 * where thousands of quotes are needed faster than a software TPM makes
 * them. It produces exactly the wire structures a TPM does (TPM2B_PUBLIC of
 * a restricted ECC P-256 signing key, TPMS_ATTEST of a quote, TPMT_SIGNATURE
 * ECDSA/SHA-256), so the server verifies them with the same code as real
 * quotes. PCRs 0-7 of the sha256 bank read as all zeros. */
#ifndef DA_SOFT_AK_H
#define DA_SOFT_AK_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

struct da_soft_ak {
    EVP_PKEY *key;
    unsigned char pub[512]; /* marshalled TPM2B_PUBLIC */
    size_t pub_len;
    unsigned char name[34]; /* nameAlg || SHA-256(TPMT_PUBLIC) */
    uint64_t clock;
};

int da_soft_ak_new(struct da_soft_ak *ak);
void da_soft_ak_free(struct da_soft_ak *ak);
/* Quote PCRs 0..7 (sha256, all zero) with qualifying data qd. attest, sig
 * receive marshalled bytes (buffers of 1024), pcr_values 8 * 32 bytes. */
int da_soft_ak_quote(struct da_soft_ak *ak, const unsigned char qd[32], unsigned char *attest,
                     size_t *attest_len, unsigned char *sig, size_t *sig_len,
                     unsigned char pcr_values[256]);

#include <cjson/cJSON.h>

/* A whole report body for nonce (raw bytes) over evidence, quoted by ak:
 * {"nonce", "evidence", "quote": {"attest", "signature", "pcr_values"}}.
 * *body is malloc'd text. */
int da_soft_ak_report(struct da_soft_ak *ak, const unsigned char *nonce, size_t nonce_len,
                      const cJSON *evidence, char **body);
/* The same with PCRs 0-7 (sha256) quoted as pcr_values (8 * 32 bytes; NULL:
 * all zero) and, when log_len > 0, the firmware event log as "event_log". */
int da_soft_ak_report_log(struct da_soft_ak *ak, const unsigned char *nonce, size_t nonce_len,
                          const cJSON *evidence, const unsigned char pcr_values[256],
                          const unsigned char *log, size_t log_len, char **body);
/* A small evidence document; seq makes each one different. */
cJSON *da_soft_ak_evidence(unsigned seq, int encrypted);

#endif
