/* The payload of a privilege-separation message: a fixed sequence of byte
 * fields, each a u32 big-endian length and that many bytes. The receiver
 * knows how many fields a type has and caps each one; a payload with fewer
 * or more fields, or a field over its cap, is refused. */
#ifndef AGENT_FIELDS_H
#define AGENT_FIELDS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct agent_field {
    const unsigned char *data; /* points into the payload */
    size_t len;
};

/* Append one field. */
int agent_fields_put(struct da_buf *b, const void *p, size_t n);
int agent_fields_put_str(struct da_buf *b, const char *s);
int agent_fields_put_u64(struct da_buf *b, uint64_t v);

/* Split payload into exactly n fields; caps[i] bounds field i.
 * DA_ERR_TRUNCATED, DA_ERR_TOO_LARGE, DA_ERR_TRAILING_DATA. */
int agent_fields_split(const unsigned char *payload, size_t len, size_t n, const size_t *caps,
                       struct agent_field *out);

/* A field as a u64 (8 bytes, big endian) or as a NUL-free string copied into
 * out (DA_ERR_INVALID_ARG otherwise). */
int agent_field_u64(const struct agent_field *f, uint64_t *v);
int agent_field_str(const struct agent_field *f, char *out, size_t size);

#endif
