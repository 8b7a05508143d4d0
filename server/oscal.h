/* OSCAL export: one vendor's conclusions over a period as a NIST OSCAL
 * assessment-results document (JSON, OSCAL 1.1.1), built from the store.
 *
 * It states what the evidence pack's report states: per control of the
 * policies in force, "met" when the newest verified report of every machine
 * in the period passes it, "not met" when one fails it, "not determined"
 * otherwise; per machine and check the verdict, observed value and
 * provenance. docs/internals/oscal.md maps each part to OSCAL. */
#ifndef SRV_OSCAL_H
#define SRV_OSCAL_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "store.h"

#define SRV_OSCAL_VERSION      "1.1.1" /* tests/data/oscal holds its schema */
#define SRV_OSCAL_NS           "https://devattest.dev/ns/oscal"
#define SRV_MAX_OSCAL          (64u * 1024 * 1024) /* one exported document */
#define SRV_OSCAL_MAX_MACHINES 20000u              /* machines in one export */
#define SRV_OSCAL_UUID_SIZE    37
#define SRV_OSCAL_TIME_MIN     0           /* 1970-01-01T00:00:00Z */
#define SRV_OSCAL_TIME_MAX     32503680000 /* 3000-01-01T00:00:00Z */
#define SRV_OSCAL_STRING_MAX   1024        /* bytes of a property value kept */
#define SRV_OSCAL_STRING_SIZE  (SRV_OSCAL_STRING_MAX + 3)

/* The assessment-results document of vendor's reports received in
 * [from, to). DA_ERR_VENDOR_UNKNOWN, DA_ERR_OSCAL_WINDOW (to <= from, or
 * outside [SRV_OSCAL_TIME_MIN, SRV_OSCAL_TIME_MAX]),
 * DA_ERR_OSCAL_TOO_LARGE, store errors. */
int srv_oscal_assessment_results(struct srv_store *store, const char *vendor, int64_t from,
                                 int64_t to, cJSON **out);

/* The same as text, at most SRV_MAX_OSCAL bytes (DA_ERR_OSCAL_TOO_LARGE);
 * *out is NUL-terminated, *len its length. */
int srv_oscal_export(struct srv_store *store, const char *vendor, int64_t from, int64_t to,
                     char **out, size_t *len);

/* in as a value of OSCAL's string type (no line break, no white space at
 * either end, not empty): control characters and U+2028/U+2029 become
 * spaces, the ends are trimmed, at most SRV_OSCAL_STRING_MAX bytes are kept
 * (cut on a character boundary), "(empty)" stands for nothing, and a value
 * that would begin or end with a non-ASCII character is put in double
 * quotes. Valid UTF-8 stays valid. */
void srv_oscal_string(const char *in, char out[SRV_OSCAL_STRING_SIZE]);

/* Name-based UUID (RFC 9562 version 5, SHA-1) of name in namespace ns, as
 * lower-case text. */
int srv_uuid_v5(const unsigned char ns[16], const char *name, char out[SRV_OSCAL_UUID_SIZE]);

/* What the evidence pack's report says of a control, from how many
 * machines' newest reports pass, fail or do neither: "met", "not met",
 * "not determined". */
const char *srv_oscal_conclusion(int passing, int failing, int other);

#endif
