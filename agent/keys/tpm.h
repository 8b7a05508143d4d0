/* The agent's keys: TPM identity (EK, AK, SK), quotes, certification,
 * credential activation and digest signing.
 *
 * One interface, two backends chosen only by explicit configuration:
 *   - AGENT_TPM_MODE_TPM: a TPM 2.0 through ESYS (agent/keys/tpm.c is the only file
 *     that calls Esys_*);
 *   - AGENT_TPM_MODE_SOFTWARE: OpenSSL keys in files (agent/keys/softkey.c); every
 *     result it produces carries trust "software".
 * There is no fallback from one to the other: a missing TPM is an error.
 *
 * Marshalled TPM structures are handed out as plain byte arrays, exactly as
 * libtss2-mu marshals them, so that the server unmarshals what the wire
 * carries. See docs/internals/tpm.md.
 *
 * All functions return 0 or a negative DA_ERR_* and log the reason on failure.
 * An agent_tpm handle is not thread-safe.
 */
#ifndef AGENT_TPM_H
#define AGENT_TPM_H

#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

#include "buf.h"

#define AGENT_TPM_DEFAULT_TCTI      "device:/dev/tpmrm0"
#define AGENT_TPM_DEFAULT_STATE_DIR "/var/lib/devattest"
#define AGENT_TPM_DEFAULT_PCRS      "sha256:0,1,2,3,4,5,6,7"
/* How many times a quote is retried when PCRs change under it. */
#define AGENT_TPM_QUOTE_ATTEMPTS 4
/* Largest qualifying data a quote or certify accepts (a SHA-512 digest). */
#define AGENT_TPM_MAX_QUALIFYING 64

#define AGENT_TRUST_TPM      "tpm"
#define AGENT_TRUST_SOFTWARE "software"

enum agent_tpm_mode {
    AGENT_TPM_MODE_TPM = 0,
    AGENT_TPM_MODE_SOFTWARE = 1,
};

/* Settings, filled by the command line or the configuration file. The
 * strings are copied by agent_tpm_open. */
struct agent_tpm_settings {
    enum agent_tpm_mode mode;
    const char *tcti;             /* NULL: AGENT_TPM_DEFAULT_TCTI (TPM mode only) */
    const char *state_dir;        /* where key blobs/files live; required */
    const char *endorsement_auth; /* endorsement hierarchy password; NULL: empty */
};

enum agent_identity_flags {
    AGENT_IDENTITY_LOAD = 0,    /* load the keys from the state directory only */
    AGENT_IDENTITY_CREATE = 1,  /* create the keys that are missing */
    AGENT_IDENTITY_EK_ONLY = 2, /* only the EK part (no keys needed) */
};

struct agent_tpm_identity {
    const char *trust;                  /* AGENT_TRUST_TPM or AGENT_TRUST_SOFTWARE */
    uint32_t ek_cert_index;             /* NV index of the EK certificate, 0: none */
    const char *ek_template;            /* "L-1", "L-2", "H-3"; NULL in software mode */
    struct da_buf ek_cert;              /* DER; empty when the TPM holds none */
    struct da_buf ek_public;            /* TPM2B_PUBLIC; empty in software mode */
    struct da_buf ak_public;            /* TPM2B_PUBLIC */
    struct da_buf ak_name;              /* TPM2B_NAME contents: nameAlg || digest */
    struct da_buf sk_public;            /* TPM2B_PUBLIC */
    struct da_buf sk_name;              /* TPM2B_NAME contents */
    struct da_buf sk_certify_attest;    /* TPMS_ATTEST of TPM2_Certify(SK by AK) */
    struct da_buf sk_certify_signature; /* TPMT_SIGNATURE over it */
};

struct agent_tpm_quote {
    const char *trust;
    struct da_buf attest;        /* TPMS_ATTEST (the signed message) */
    struct da_buf signature;     /* TPMT_SIGNATURE */
    struct da_buf pcr_selection; /* TPML_PCR_SELECTION that was quoted */
    /* PCR values: the digests concatenated, banks in selection order and
     * PCRs ascending within a bank (the layout of tpm2_pcrread -o). */
    struct da_buf pcr_values;
    unsigned attempts; /* quotes made, >1 when PCRs changed under a quote */
};

#define AGENT_TPM_MAX_BANKS 8

struct agent_tpm_info {
    const char *trust;
    char manufacturer[5]; /* four ASCII characters, e.g. "IBM " */
    char vendor[17];      /* vendor strings 1-4 concatenated */
    uint32_t firmware_version_1;
    uint32_t firmware_version_2;
    uint32_t spec_level;
    uint32_t spec_revision; /* e.g. 164 for 1.64 */
    size_t bank_count;
    uint16_t banks[AGENT_TPM_MAX_BANKS];     /* TPM2_ALG_* of the active PCR banks */
    uint32_t bank_pcrs[AGENT_TPM_MAX_BANKS]; /* bitmask of allocated PCRs per bank */
    uint32_t transient_objects;              /* transient objects loaded right now */
};

struct agent_tpm;

/* Open the backend that settings->mode names. In TPM mode this connects to
 * the TCTI (DA_ERR_TPM_ABSENT when there is no TPM, DA_ERR_TPM_TCTI for an
 * unusable TCTI string); in software mode it only checks the state directory.
 * A state directory that others may write is refused (DA_ERR_PERMISSION); a
 * missing one is created (0700) when the identity is created. */
int agent_tpm_open(const struct agent_tpm_settings *settings, struct agent_tpm **out);
/* Flush every object the handle loaded and release it. Accepts NULL. */
void agent_tpm_close(struct agent_tpm *t);

/* AGENT_TRUST_TPM or AGENT_TRUST_SOFTWARE. */
const char *agent_tpm_trust(const struct agent_tpm *t);

/* Load the AK and SK from the state directory (creating them with
 * AGENT_IDENTITY_CREATE) and describe them. Without CREATE, missing keys give
 * DA_ERR_NOT_FOUND. Keys made under another EK give DA_ERR_TPM_KEY_BLOB. */
int agent_tpm_identity(struct agent_tpm *t, int flags, struct agent_tpm_identity **out);
void agent_tpm_identity_free(struct agent_tpm_identity *id);

/* TPM2_Certify of the SK by the AK with the given qualifying data (for
 * example an enrollment challenge). */
int agent_tpm_certify_sk(struct agent_tpm *t, const unsigned char *qualifying,
                         size_t qualifying_len, struct da_buf *attest, struct da_buf *signature);

/* Read the selected PCRs and quote them with the AK over qualifying data.
 * When the PCRs change between the read and the quote, both are repeated
 * up to AGENT_TPM_QUOTE_ATTEMPTS times (then DA_ERR_TPM_PCR_CHANGED). The
 * identity must exist (it is loaded when needed). Software mode quotes no
 * PCRs: its selection is empty whatever is asked. */
int agent_tpm_quote(struct agent_tpm *t, const TPML_PCR_SELECTION *selection,
                    const unsigned char *qualifying, size_t qualifying_len,
                    struct agent_tpm_quote **out);
void agent_tpm_quote_free(struct agent_tpm_quote *q);

/* TPM2_ActivateCredential: credential is a marshalled TPM2B_ID_OBJECT,
 * encrypted_secret a marshalled TPM2B_ENCRYPTED_SECRET (both with their size
 * prefix, no trailing bytes). On success *secret holds the recovered secret
 * (the TPM2B_DIGEST contents); the caller wipes it with da_buf_free.
 * Software mode has no EK: DA_ERR_UNSUPPORTED. */
int agent_tpm_activate_credential(struct agent_tpm *t, const unsigned char *credential,
                                  size_t credential_len, const unsigned char *encrypted_secret,
                                  size_t encrypted_secret_len, struct da_buf *secret);

/* ECDSA P-256 signature with the SK over a 32-byte SHA-256 digest, as a DER
 * ECDSA-Sig-Value. */
int agent_tpm_sign_digest(struct agent_tpm *t, const unsigned char *digest, size_t digest_len,
                          struct da_buf *der_signature);

/* What the agent sees of the TPM (or of the software keys). */
int agent_tpm_info(struct agent_tpm *t, struct agent_tpm_info *info);

/* PCR selections as text, the syntax of tpm2-tools: "sha256:0,1,2+sha1:0-7"
 * (banks separated by '+', PCRs by ',', ranges a-b). Strict: unknown banks,
 * PCRs above 23, duplicate banks, empty lists and trailing text are refused
 * with DA_ERR_INVALID_ARG. */
int agent_pcr_selection_parse(const char *text, TPML_PCR_SELECTION *out);
/* "sha256:0,1,2,3": a form tpm2_checkquote -l accepts. */
int agent_pcr_selection_format(const TPML_PCR_SELECTION *sel, char *text, size_t size);
/* A marshalled TPM2B_PUBLIC (RSA, ECC P-256/P-384) as a PEM SubjectPublicKeyInfo
 * (NUL-terminated; free with free()). For tools such as tpm2_checkquote -u. */
int agent_tpm_public_pem(const unsigned char *tpm2b_public, size_t len, char **pem);

#endif
