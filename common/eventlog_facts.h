/* Facts measured by the firmware event log (docs/evidence.md, "measured").
 *
 * da_eventlog_facts walks a log that da_eventlog_walk accepts and derives,
 * from the events themselves (never from anything the agent reports):
 *   - secure_boot: the SecureBoot, SetupMode, AuditMode and DeployedMode
 *     variables measured as EV_EFI_VARIABLE_DRIVER_CONFIG in PCR 7;
 *   - keys: PK, KEK, db and dbx (PCR 7): SHA-256 of the variable data, the
 *     number of EFI_SIGNATURE_LIST entries, SHA-256 entries, and the subjects
 *     of the X.509 entries;
 *   - authorities: the EV_EFI_VARIABLE_AUTHORITY entries (PCR 7) that
 *     verified a boot component, with the subject when the entry is a
 *     certificate; shim's SbatLevel and MokListTrusted values come from here;
 *   - shim: MokList, MokListX, MokListTrusted measured by shim in PCR 14
 *     (EV_IPL, digest of the variable's content);
 *   - boot_applications: EV_EFI_BOOT_SERVICES_APPLICATION in PCR 4 in order,
 *     with the digest of the bank asked for and the file path of the device
 *     path when it has one;
 *   - kernel_cmdline: GRUB's "kernel_cmdline: " EV_IPL in PCR 8, or the
 *     UTF-16 load options systemd-boot/systemd-stub measure in PCR 8 or 12;
 *   - kernel_release: from a GRUB command line whose first word names
 *     /vmlinuz-RELEASE;
 *   - firmware_version: EV_S_CRTM_VERSION (UTF-16 or ASCII) in PCR 0.
 * Malformed event data (a variable whose lengths do not add up, a signature
 * list that overruns) is DA_ERR_TPM_EVENTLOG: a log that hides a malformed
 * PCR 7 event has no measured facts. The caller decides whether the log
 * replays to the quote before it trusts any of these. */
#ifndef DA_EVENTLOG_FACTS_H
#define DA_EVENTLOG_FACTS_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "tcg_eventlog.h"

/* *out: a new JSON object (free with cJSON_Delete). alg names the bank whose
 * digests are shown for boot applications (TPM2_ALG_SHA256 usually; the
 * log's first bank when it lacks alg). */
int da_eventlog_facts(const unsigned char *data, size_t len, uint16_t alg, cJSON **out);

/* What replaying a firmware event log against quoted PCR values finds. */
enum da_eventlog_outcome {
    DA_EVENTLOG_REPLAYS,         /* the extends replay and every event parses */
    DA_EVENTLOG_DOES_NOT_REPLAY, /* *m names the first PCR that differs */
    DA_EVENTLOG_MALFORMED,       /* the log's structure does not parse */
    DA_EVENTLOG_DATA_MALFORMED,  /* the extends replay, an event's data does not parse */
};

/* The one classification the server's transcript (server/measured.c) and the
 * offline pack verifier both use: da_eventlog_match, then, when the extends
 * replay, da_eventlog_facts over the SHA-256 bank. *facts (when facts is not
 * NULL) gets the measured facts of a log that replays, else NULL. Returns 0
 * with *outcome set, or an error that is no verdict on the log (memory). */
int da_eventlog_outcome(const unsigned char *log, size_t log_len,
                        const struct da_pcr_selection *sel, const unsigned char *values,
                        size_t values_len, struct da_eventlog_mismatch *m,
                        enum da_eventlog_outcome *outcome, cJSON **facts);

/* The transcript's word for an outcome: "replays", "does_not_replay" or
 * "malformed" (both malformed outcomes). */
const char *da_eventlog_outcome_name(enum da_eventlog_outcome o);

/* "sha1", "sha256", "sha384", "sha512" or NULL. */
const char *da_eventlog_alg_name(uint16_t alg);

/* dbx freshness. A reference is a dated list of the SHA-256 revocations an
 * up-to-date dbx holds (docs/evidence.md says how to make one):
 *   {"schema": "devattest.dbx-reference/v1", "date": "YYYY-MM-DD",
 *    "source": TEXT, "sha256": ["64 lower-case hex", ...]}
 * At most DA_DBX_REF_MAX entries; anything else is DA_ERR_CONFIG. */
#define DA_DBX_REF_MAX 8192

struct da_dbx_reference {
    char date[11];
    size_t n;
    unsigned char (*sha256)[32]; /* sorted */
};

int da_dbx_reference_parse(const char *text, size_t len, struct da_dbx_reference *out);
void da_dbx_reference_free(struct da_dbx_reference *r);

/* *out: {"reference_date", "reference_entries", "measured_entries",
 * "missing", "current"} for the last dbx the log measured in PCR 7, where
 * missing counts reference revocations absent from it. DA_ERR_NOT_FOUND when
 * the log measured no dbx. */
int da_dbx_check(const struct da_dbx_reference *ref, const unsigned char *log, size_t len,
                 cJSON **out);

/* The SHA-256 entries of the last measured dbx (*out malloc'ed, sorted);
 * DA_ERR_NOT_FOUND when there is none. */
int da_eventlog_dbx_sha256(const unsigned char *log, size_t len, unsigned char (**out)[32],
                           size_t *n);

/* The SHA-256 entries (*out malloc'ed, sorted, duplicates kept) of a UEFI
 * dbx update: an authenticated variable (EFI_VARIABLE_AUTHENTICATION_2 with
 * a PKCS#7 WIN_CERTIFICATE_UEFI_GUID) followed by EFI_SIGNATURE_LISTs that
 * fill the rest exactly, as the UEFI revocation list files and
 * DBXUpdate.bin are. The signature is skipped, not verified: the file is
 * trusted by whoever converts it (docs/evidence.md). DA_ERR_DBX_UPDATE when
 * the layout is wrong. */
int da_dbx_update_sha256(const unsigned char *data, size_t len, unsigned char (**out)[32],
                         size_t *n);

#endif
