/* Offline re-verification of an evidence pack (devattest-verify pack). */
#ifndef SRV_PACK_VERIFY_H
#define SRV_PACK_VERIFY_H

#include <stddef.h>
#include <stdio.h>

#include <openssl/x509.h>

/* Verify the pack in tar[0..len) against the CA certificate ca: one line
 * per report to out ("report ID: ok" or "report ID: FAIL code: why").
 * DA_ERR_PACK_INVALID (and nothing checked) when the archive or its signed
 * manifest does not hold; otherwise 0 when every report verified, else
 * DA_ERR_VERIFY_SIGNATURE with the counts in *n_ok and *n_bad. */
int da_pack_verify(const unsigned char *tar, size_t len, X509 *ca, FILE *out, unsigned *n_ok,
                   unsigned *n_bad);

#endif
