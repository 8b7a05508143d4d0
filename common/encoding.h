/* Base64 (RFC 4648 §4 and §5) and hexadecimal encoding with strict decoding.
 *
 * Decoders accept exactly one spelling of a value: no whitespace, no
 * characters outside the alphabet, no non-zero bits in the unused tail of the
 * last character, and padding only where the variant allows it. Anything else
 * is DA_ERR_BASE64 or DA_ERR_HEX, so that two different texts never decode to
 * the same bytes and signatures over encoded data cannot be malleated.
 *
 * Output goes either to a capped struct da_buf (appended; the buffer is left
 * unchanged on any error) or to a caller-provided array of a stated size.
 */
#ifndef DA_ENCODING_H
#define DA_ENCODING_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

enum da_base64_variant {
    /* §4 alphabet (+/). Encode writes '=' padding; decode requires it exactly. */
    DA_BASE64_STD = 0,
    /* §4 alphabet. Encode writes no padding; decode rejects any '='. */
    DA_BASE64_STD_NOPAD = 1,
    /* §5 alphabet (-_). Encode writes padding; decode accepts unpadded input
     * or exactly correct padding, nothing in between. */
    DA_BASE64_URL = 2,
    /* §5 alphabet. Encode writes no padding; decode rejects any '='. */
    DA_BASE64_URL_NOPAD = 3,
};

/* Length of the encoding of n bytes (without NUL); 0 on overflow for n > 0. */
size_t da_base64_encoded_len(size_t n, enum da_base64_variant v);
/* Upper bound of the decoded size of len characters. */
size_t da_base64_decoded_max(size_t len);

/* Append the encoding of data[0..len) to out. DA_ERR_TOO_LARGE past the cap. */
int da_base64_encode(const void *data, size_t len, enum da_base64_variant v, struct da_buf *out);
/* Decode in[0..len) and append the bytes to out. DA_ERR_BASE64 for any
 * non-canonical input, DA_ERR_TOO_LARGE when the result passes out's cap. */
int da_base64_decode(const char *in, size_t len, enum da_base64_variant v, struct da_buf *out);
/* Decode into out[0..outsize); *outlen gets the decoded length.
 * DA_ERR_TOO_LARGE when outsize is too small (out is then untouched). */
int da_base64_decode_to(const char *in, size_t len, enum da_base64_variant v, unsigned char *out,
                        size_t outsize, size_t *outlen);

/* Append lower-case hex of data[0..len) to out. */
int da_hex_encode(const void *data, size_t len, struct da_buf *out);
/* Write lower-case hex and a NUL into out; outsize must be >= 2 * len + 1
 * (DA_ERR_TOO_LARGE otherwise). */
int da_hex_encode_to(const void *data, size_t len, char *out, size_t outsize);
/* Decode hex of either case. Odd length or a non-hex character: DA_ERR_HEX. */
int da_hex_decode(const char *in, size_t len, struct da_buf *out);
int da_hex_decode_to(const char *in, size_t len, unsigned char *out, size_t outsize,
                     size_t *outlen);
/* True when s[0..len) is non-empty, of even length, and only [0-9a-f]. */
bool da_hex_is_lower(const char *s, size_t len);

/* Length of the well-formed UTF-8 sequence at p[0..n), or 0 when there is
 * none there: overlong forms, UTF-8-encoded surrogates (U+D800..U+DFFF),
 * code points above U+10FFFF and truncated sequences all give 0. */
size_t da_utf8_seq_len(const unsigned char *p, size_t n);
/* True when s[0..len) is entirely well-formed UTF-8 (NUL bytes included). */
bool da_utf8_valid(const char *s, size_t len);

#endif
