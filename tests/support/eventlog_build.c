#include "eventlog_build.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#define EV_NO_ACTION 3u

static void put(struct elb *b, const void *p, size_t n)
{
    if (b->len + n > sizeof(b->data))
        abort(); /* a test log never gets this large */
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void put32(struct elb *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    put(b, x, 4);
}

static void put16(struct elb *b, uint16_t v)
{
    unsigned char x[2] = {(unsigned char)v, (unsigned char)(v >> 8)};
    put(b, x, 2);
}

static void put8(struct elb *b, uint8_t v)
{
    put(b, &v, 1);
}

/* TCG_PCR_EVENT: pcr, type, SHA-1 digest, size, data. */
static void event1(struct elb *b, uint32_t pcr, uint32_t type, const unsigned char sha1[20],
                   const void *data, uint32_t size)
{
    put32(b, pcr);
    put32(b, type);
    put(b, sha1, 20);
    put32(b, size);
    put(b, data, size);
}

void elb_start_agile(struct elb *b)
{
    static const unsigned char zero[20];
    unsigned char spec[64];
    size_t n = 0;

    memset(b, 0, sizeof(*b));
    b->agile = 1;
    memcpy(spec, "Spec ID Event03", 16);
    n = 16;
    memset(spec + n, 0, 4); /* platformClass */
    n += 4;
    spec[n++] = 0; /* specVersionMinor */
    spec[n++] = 2; /* specVersionMajor */
    spec[n++] = 0; /* errata */
    spec[n++] = 2; /* uintnSize */
    spec[n++] = 2; /* numberOfAlgorithms (little endian u32) */
    spec[n++] = 0;
    spec[n++] = 0;
    spec[n++] = 0;
    spec[n++] = 0x04; /* sha1, 20 */
    spec[n++] = 0x00;
    spec[n++] = 20;
    spec[n++] = 0;
    spec[n++] = 0x0b; /* sha256, 32 */
    spec[n++] = 0x00;
    spec[n++] = 32;
    spec[n++] = 0;
    spec[n++] = 0; /* vendorInfoSize */
    event1(b, 0, EV_NO_ACTION, zero, spec, (uint32_t)n);
}

void elb_start_sha1(struct elb *b)
{
    memset(b, 0, sizeof(*b));
}

void elb_event(struct elb *b, uint32_t pcr, uint32_t type, const void *data, uint32_t size)
{
    unsigned char d1[20], d256[32];

    SHA1(data, size, d1);
    SHA256(data, size, d256);
    if (!b->agile) {
        event1(b, pcr, type, d1, data, size);
        return;
    }
    put32(b, pcr);
    put32(b, type);
    put32(b, 2);
    put16(b, 0x0004);
    put(b, d1, 20);
    put16(b, 0x000b);
    put(b, d256, 32);
    put32(b, size);
    put(b, data, size);
}

void elb_startup_locality(struct elb *b, uint8_t locality)
{
    static const unsigned char zero[32];

    put32(b, 0);
    put32(b, EV_NO_ACTION);
    put32(b, 2);
    put16(b, 0x0004);
    put(b, zero, 20);
    put16(b, 0x000b);
    put(b, zero, 32);
    put32(b, 17);
    put(b, "StartupLocality", 16);
    put8(b, locality);
}
