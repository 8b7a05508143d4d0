/* Evidence packs for auditors: one vendor's reports over a period as a
 * ustar archive (common/tar.h) that devattest-verify checks offline.
 *
 *   pack.json               the manifest: vendor, period, reports, agents,
 *                           and the SHA-256 of every other member
 *   pack.dsse.json          DSSE envelope of pack.json signed by the
 *                           server's CA key (SRV_PACK_PAYLOAD_TYPE)
 *   keys/ca.pem             the server CA certificate
 *   keys/keys.json          every receipt key, current and retired, with
 *                           its CA certificate (the GET /v1/keys answer)
 *   agents/ID.json          enrolled identity: EK and AK names, AK public
 *   policies/SHA256.json    each policy version a report was judged by
 *   reports/ID/report.json  the signed report as it arrived (evidence,
 *                           quote, PCR values, event log)
 *   reports/ID/verdict.json, transcript.json, receipt.json
 *   report.html             printable report, inline SVG, no script
 *   oscal.json              the same conclusions as OSCAL assessment
 *                           results (oscal.h)
 *
 * docs/evidence.md, "Evidence packs", describes what each check proves.
 */
#ifndef SRV_EVIDENCE_PACK_H
#define SRV_EVIDENCE_PACK_H

#include <stdint.h>

#include "buf.h"
#include "pki.h"
#include "store.h"

#define SRV_PACK_FORMAT       "devattest.evidence-pack/v1"
#define SRV_PACK_PAYLOAD_TYPE "application/vnd.devattest.evidence-pack+json"
#define SRV_MAX_PACK          (1024u * 1024 * 1024) /* one archive */

/* Build the pack of vendor's reports received in [from, to) into out.
 * DA_ERR_VENDOR_UNKNOWN, DA_ERR_PACK_RANGE (to <= from), DA_ERR_TOO_LARGE. */
int srv_evidence_pack(struct srv_store *store, const struct srv_keys *keys, const char *vendor,
                      int64_t from, int64_t to, int64_t now, struct da_buf *out);

/* "YYYY-MM-DD" (midnight UTC) or "YYYY-MM-DDTHH:MM:SSZ" to Unix seconds;
 * DA_ERR_PACK_RANGE for anything else. */
int srv_pack_time_parse(const char *s, int64_t *out);

struct srv_config;
/* devattest-server export --vendor NAME [--from T] [--to T]
 * [--format pack|oscal] -o FILE: the pack, or with --format oscal the OSCAL
 * assessment results alone, written to FILE (created 0600, atomically).
 * Exit status. */
int srv_cli_export(const struct srv_config *cfg, int argc, char **argv);

#endif
