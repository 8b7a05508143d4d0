/* Base64 and hex: the strict decoders accept exactly one spelling of each
 * value (so re-encoding what they accept gives the input back), and every
 * encoder's output decodes to the original bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_target.h"
#include "encoding.h"

#define FUZZ_CAP (1u << 20)

static const enum da_base64_variant variants[] = {DA_BASE64_STD, DA_BASE64_STD_NOPAD, DA_BASE64_URL,
                                                  DA_BASE64_URL_NOPAD};

static int same(const struct da_buf *b, const void *p, size_t n)
{
    return da_buf_len(b) == n && memcmp(da_buf_data(b), p, n) == 0;
}

/* Text the decoder accepted must be what the encoder writes for its bytes
 * (URL input may be padded or not, so either spelling is fine there). */
static void check_canonical(const char *text, size_t len, enum da_base64_variant v,
                            const struct da_buf *bytes)
{
    struct da_buf enc, alt;
    int ok;

    da_buf_init(&enc, FUZZ_CAP * 2);
    da_buf_init(&alt, FUZZ_CAP * 2);
    if (da_base64_encode(da_buf_data(bytes), da_buf_len(bytes), v, &enc) != 0)
        abort();
    ok = same(&enc, text, len);
    if (!ok && v == DA_BASE64_URL) {
        if (da_base64_encode(da_buf_data(bytes), da_buf_len(bytes), DA_BASE64_URL_NOPAD, &alt) != 0)
            abort();
        ok = same(&alt, text, len);
    }
    if (!ok)
        abort();
    da_buf_free(&enc);
    da_buf_free(&alt);
}

static void check_round_trip(const uint8_t *data, size_t size, enum da_base64_variant v)
{
    struct da_buf enc, dec;

    da_buf_init(&enc, FUZZ_CAP * 2);
    da_buf_init(&dec, FUZZ_CAP);
    if (da_base64_encode(data, size, v, &enc) != 0 ||
        da_base64_decode(da_buf_str(&enc), da_buf_len(&enc), v, &dec) != 0 ||
        !same(&dec, data, size))
        abort();
    da_buf_free(&enc);
    da_buf_free(&dec);
}

static void check_hex(const uint8_t *data, size_t size)
{
    struct da_buf dec, enc;
    size_t i;

    da_buf_init(&dec, FUZZ_CAP);
    da_buf_init(&enc, FUZZ_CAP * 2 + 2);
    if (da_hex_decode((const char *)data, size, &dec) == 0) {
        if (da_hex_encode(da_buf_data(&dec), da_buf_len(&dec), &enc) != 0 ||
            da_buf_len(&enc) != size)
            abort();
        for (i = 0; i < size; i++) {
            char c = (char)data[i];
            if (c >= 'A' && c <= 'F')
                c = (char)(c - 'A' + 'a');
            if (da_buf_str(&enc)[i] != c)
                abort();
        }
    }
    da_buf_reset(&enc);
    da_buf_reset(&dec);
    if (da_hex_encode(data, size, &enc) != 0 ||
        da_hex_decode(da_buf_str(&enc), da_buf_len(&enc), &dec) != 0 || !same(&dec, data, size))
        abort();
    da_buf_free(&dec);
    da_buf_free(&enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct da_buf dec;
    size_t i;

    if (size > FUZZ_CAP)
        return 0;
    for (i = 0; i < 4; i++) {
        da_buf_init(&dec, FUZZ_CAP);
        if (da_base64_decode((const char *)data, size, variants[i], &dec) == 0)
            check_canonical((const char *)data, size, variants[i], &dec);
        da_buf_free(&dec);
        check_round_trip(data, size, variants[i]);
    }
    check_hex(data, size);
    return 0;
}
