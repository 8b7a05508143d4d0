/* Measured boot facts of one report: the firmware event log the agent sent,
 * replayed against the PCR values of the verified quote (docs/evidence.md,
 * "measured"; docs/threat-model.md).
 *
 * *boot (the verifier fact /attestation/boot, a new object):
 *   {"log": "absent"}                      no event_log in the report
 *   {"log": "malformed", "detail"}         the log does not parse
 *   {"log": "does_not_replay", "detail"}   it parses but does not replay to
 *                                          the quoted PCRs (which PCR, both
 *                                          values in detail)
 *   {"log": "replays", "measured": {...}, "contradictions": [...]}
 * Only a log that replays yields measured facts. contradictions lists the
 * reported facts that disagree with their measured counterparts:
 *   {"verdict": "claim_contradicts_measurement", "reported_pointer",
 *    "reported", "measured_pointer", "measured"}
 * Compared: /isolation/secure_boot/firmware_enabled with SecureBoot,
 * /isolation/secure_boot/setup_mode with SetupMode, /host/kernel/release
 * with the kernel release on the measured GRUB command line, and, when the
 * agent reports a boot without UEFI (/isolation/secure_boot/uefi false),
 * /isolation/secure_boot/enabled with SecureBoot. An unknown or
 * missing reported fact contradicts nothing.
 *
 * With a dbx reference (dbx NULL or empty: none), a log that replays also
 * gets "dbx" (da_dbx_check), or an unknown object when it measured no dbx.
 *
 * IMA (PCR 10) will add its own member here; this file only handles the
 * firmware log. */
#ifndef SRV_MEASURED_H
#define SRV_MEASURED_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "eventlog_facts.h"
#include "quote.h"

int srv_measured_boot(const struct da_pcr_selection *sel, const unsigned char *pcr_values,
                      size_t pcr_values_len, const unsigned char *log, size_t log_len,
                      const cJSON *evidence, const struct da_dbx_reference *dbx, cJSON **boot);

/* The boot state kept as the agent's reference (PCR 4 and 7 components):
 * {"secure_boot", "keys": {name: sha256}, "authorities": [sha256],
 *  "boot_applications": [digest]} from a boot object whose log replays;
 * *state NULL when it does not. */
int srv_boot_state(const cJSON *boot, cJSON **state);

/* What differs between the reference state and this one:
 * [{"what": member, "reference": value, "now": value}], empty when none. */
int srv_boot_changes(const cJSON *reference, const cJSON *now, cJSON **changes);

/* Per-vendor boot pins (docs/evidence.md): when the vendor pinned any
 * digest (pins: "sha256:HEX", n_pins > 0) and the log replays, adds
 * "pins": {"vendor_pins": n, "unpinned": [{"digest", "path"}]} to boot,
 * listing each measured PCR 4 boot application whose digest is not pinned.
 * Nothing is added otherwise. */
int srv_boot_pins_check(cJSON *boot, const char *const *pins, size_t n_pins);

#endif
