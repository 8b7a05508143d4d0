/* Helpers that let the picky warning set (docs/internals/warnings.md) stay
 * on everywhere without blanket casts or pragmas.
 *
 * DA_UNCONST(p): the one way to drop const from a pointer. Only for handing
 * read-only data to an interface that takes a plain pointer but does not
 * write through it (iovec, curl blobs, OSSL_PARAM, qsort_r's argument,
 * libmicrohttpd's persistent buffers), or for lending a buffer to a struct
 * the store only reads. Every use says which. Going through uintptr_t keeps
 * -Wcast-qual quiet, and the name makes each place easy to find.
 *
 * da_double_exact(a, b): a and b are the same number (-0 equals +0, NaN
 * equals nothing). For the places that need exact equality on purpose
 * (a double that must read back bit for bit, an integer held in a double),
 * so that every other == on doubles still draws -Wfloat-equal. */
#ifndef DA_PICKY_H
#define DA_PICKY_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#define DA_UNCONST(p) ((void *)(uintptr_t)(const void *)(p))

static inline bool da_double_exact(double a, double b)
{
    return !isunordered(a, b) && !isless(a, b) && !isgreater(a, b);
}

#endif
