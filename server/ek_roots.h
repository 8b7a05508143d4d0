/* The server's trusted EK certificate authorities (configuration keys
 * ek_roots and ek_roots_local, docs/enrollment.md).
 *
 * Each path is a PEM file or a directory whose *.pem files are read in name
 * order; every certificate in them is a trust anchor (a maker's published
 * CA need not be self-signed). A missing path is skipped with a notice; a
 * file that does not parse is an error (DA_ERR_EK_ROOTS), so a damaged
 * bundle never silently narrows or widens trust. Every certificate that
 * has expired, or expires within the warning window, is listed so that the
 * server can log it at start. */
#ifndef SRV_EK_ROOTS_H
#define SRV_EK_ROOTS_H

#include <stddef.h>
#include <time.h>

#include "ek.h"

#define SRV_EK_ROOTS_WARN_DAYS 90
#define SRV_EK_ROOTS_MAX_FILES 1024

struct srv_ek_ca {
    char file[256];    /* the file's name (not the directory) */
    char subject[256]; /* one-line RFC 2253 form */
    time_t not_after;
    int expired;  /* notAfter before now */
    int expiring; /* not expired, notAfter within the warning window */
};

struct srv_ek_roots {
    struct da_ek_trust *trust; /* NULL when no certificate was found */
    struct srv_ek_ca *cas;
    size_t n;
};

/* Load every path (NULL entries are skipped) as of now. */
int srv_ek_roots_load(const char *const *paths, size_t npaths, time_t now,
                      struct srv_ek_roots *out);
/* Log the expired and expiring ones, and the total. */
void srv_ek_roots_log(const struct srv_ek_roots *r);
/* Frees cas; the trust is left to the caller unless take_trust is 0. */
void srv_ek_roots_clear(struct srv_ek_roots *r, int free_trust);

#endif
