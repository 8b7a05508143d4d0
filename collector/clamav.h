/* ClamAV signature database headers. */
#ifndef COL_CLAMAV_H
#define COL_CLAMAV_H

#include <stddef.h>
#include <stdint.h>

#define COL_CVD_HEADER 512 /* bytes of header at the start of a .cvd or .cld */

struct col_cvd {
    uint64_t version; /* database version (daily: increases with each update) */
    int64_t built;    /* when it was built and signed, Unix seconds */
};

/* Parse the header of a .cvd or .cld database: its first COL_CVD_HEADER
 * bytes (or fewer, when that is all there is) hold
 * "ClamAV-VDB:TIME:VERSION:SIGNATURES:LEVEL:MD5:DSIG:BUILDER:STIME" padded
 * with spaces. Strict: exactly nine fields of printable ASCII, VERSION and
 * STIME decimal. DA_ERR_COLLECT_PARSE otherwise. */
int col_cvd_header_parse(const char *p, size_t n, struct col_cvd *out);

#endif
