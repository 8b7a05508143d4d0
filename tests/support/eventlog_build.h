/* Builds TCG PC Client firmware event logs for tests: a crypto-agile log
 * (Spec ID Event03 header, TCG_PCR_EVENT2 events) or an old SHA-1 log. */
#ifndef DA_EVENTLOG_BUILD_H
#define DA_EVENTLOG_BUILD_H

#include <stddef.h>
#include <stdint.h>

#define ELB_MAX 65536

struct elb {
    unsigned char data[ELB_MAX];
    size_t len;
    int agile;
};

/* Start a crypto-agile log with SHA-1 and SHA-256 digests. */
void elb_start_agile(struct elb *b);
/* Start an old log whose events carry a SHA-1 digest only. */
void elb_start_sha1(struct elb *b);
/* Add an event whose digests are the hashes of data (as firmware does for
 * most events). */
void elb_event(struct elb *b, uint32_t pcr, uint32_t type, const void *data, uint32_t size);
/* A StartupLocality EV_NO_ACTION event (agile logs). */
void elb_startup_locality(struct elb *b, uint8_t locality);

#endif
