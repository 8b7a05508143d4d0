/* Capped, growable byte buffer for everything that holds outside input.
 *
 * A buffer is created with a cap named for its use (see caps.h); no append
 * ever grows it past the cap. Every append returns 0 or a negative DA_ERR_*
 * and must be checked: on failure the buffer is left as it was. The contents
 * are always NUL-terminated (the terminator is not counted in the length), so
 * text can be used directly as a C string. Memory is wiped before it is
 * released, because buffers routinely hold secrets and evidence.
 *
 * The fields are private to buf.c; use the accessors.
 */
#ifndef DA_BUF_H
#define DA_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct da_buf {
    unsigned char *data;
    size_t len;
    size_t alloc;
    size_t cap;
};

/* Start an empty buffer that may hold at most cap bytes. No allocation. */
void da_buf_init(struct da_buf *b, size_t cap);

/* Append n bytes. DA_ERR_TOO_LARGE past the cap, DA_ERR_NOMEM. */
int da_buf_append(struct da_buf *b, const void *p, size_t n);
/* Append a NUL-terminated string (without its NUL). */
int da_buf_append_str(struct da_buf *b, const char *s);
int da_buf_append_byte(struct da_buf *b, unsigned char c);
/* Append formatted text. DA_ERR_TOO_LARGE when it would pass the cap. */
int da_buf_printf(struct da_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int da_buf_vprintf(struct da_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Contents; never NULL (an empty buffer gives ""). Valid until the next change. */
const unsigned char *da_buf_data(const struct da_buf *b);
const char *da_buf_str(const struct da_buf *b);
size_t da_buf_len(const struct da_buf *b);
size_t da_buf_cap(const struct da_buf *b);

/* Hand the contents to the caller (NUL-terminated, free with free(); the
 * caller wipes it if secret). Sets *len if len != NULL. The buffer is empty
 * afterwards and keeps its cap. Returns NULL only for DA_ERR_NOMEM. */
unsigned char *da_buf_take(struct da_buf *b, size_t *len);

/* Drop the contents (wiped) but keep the buffer usable with the same cap. */
void da_buf_reset(struct da_buf *b);
/* Wipe and release. Accepts NULL and already-freed buffers. */
void da_buf_free(struct da_buf *b);

#endif
