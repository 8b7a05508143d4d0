/* EK certificates whose RSA key names id-RSAES-OAEP, for tests. openssl
 * issues RSA keys only as rsaEncryption, so the test takes a certificate
 * openssl issued and rewrites the SubjectPublicKeyInfo's algorithm
 * identifier. */
#ifndef DA_OAEP_CERT_H
#define DA_OAEP_CERT_H

/* Read the DER certificate in_der (an RSA key as rsaEncryption with NULL
 * parameters), replace that algorithm identifier by id-RSAES-OAEP
 * (1.2.840.113549.1.1.7) with empty RSAES-OAEP-params (default SHA-1/MGF1,
 * as TPM manufacturers issue them; the encoding has the same length), sign
 * the certificate again with the PEM key issuer_key (SHA-256) and write DER
 * to out_der. 0 or -1. */
int tt_oaep_cert(const char *in_der, const char *issuer_key, const char *out_der);

#endif
