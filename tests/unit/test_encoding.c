#include "da_test.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "encoding.h"
#include "err.h"

struct b64_vector {
    const char *plain;
    const char *std;
    const char *std_nopad;
};

/* RFC 4648 §10. */
static const struct b64_vector rfc4648[] = {
    {"", "", ""},
    {"f", "Zg==", "Zg"},
    {"fo", "Zm8=", "Zm8"},
    {"foo", "Zm9v", "Zm9v"},
    {"foob", "Zm9vYg==", "Zm9vYg"},
    {"fooba", "Zm9vYmE=", "Zm9vYmE"},
    {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
};

static void check_encode(const void *data, size_t len, enum da_base64_variant v, const char *want)
{
    struct da_buf b;

    da_buf_init(&b, 1024);
    assert_int_equal(da_base64_encode(data, len, v, &b), 0);
    assert_string_equal(da_buf_str(&b), want);
    assert_int_equal(da_buf_len(&b), da_base64_encoded_len(len, v));
    da_buf_free(&b);
}

static int decode_str(const char *in, enum da_base64_variant v, struct da_buf *out)
{
    return da_base64_decode(in, strlen(in), v, out);
}

static void check_decode(const char *in, enum da_base64_variant v, const void *want, size_t n)
{
    struct da_buf b;

    da_buf_init(&b, 1024);
    assert_int_equal(decode_str(in, v, &b), 0);
    assert_int_equal(da_buf_len(&b), n);
    assert_memory_equal(da_buf_data(&b), want, n);
    da_buf_free(&b);
}

static void check_reject(const char *in, enum da_base64_variant v)
{
    struct da_buf b;

    da_buf_init(&b, 1024);
    assert_int_equal(da_buf_append_str(&b, "keep"), 0);
    assert_int_equal(decode_str(in, v, &b), DA_ERR_BASE64);
    assert_string_equal(da_buf_str(&b), "keep");
    da_buf_free(&b);
}

static void test_base64_rfc4648_vectors(void **state)
{
    size_t i, n;
    const struct b64_vector *t;

    (void)state;
    for (i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
        t = &rfc4648[i];
        n = strlen(t->plain);
        check_encode(t->plain, n, DA_BASE64_STD, t->std);
        check_encode(t->plain, n, DA_BASE64_STD_NOPAD, t->std_nopad);
        check_encode(t->plain, n, DA_BASE64_URL, t->std);
        check_encode(t->plain, n, DA_BASE64_URL_NOPAD, t->std_nopad);
        check_decode(t->std, DA_BASE64_STD, t->plain, n);
        check_decode(t->std_nopad, DA_BASE64_STD_NOPAD, t->plain, n);
        check_decode(t->std, DA_BASE64_URL, t->plain, n);
        check_decode(t->std_nopad, DA_BASE64_URL, t->plain, n);
        check_decode(t->std_nopad, DA_BASE64_URL_NOPAD, t->plain, n);
    }
}

static void test_base64_alphabets(void **state)
{
    static const unsigned char bytes[] = {0xfb, 0xff, 0xbf};
    static const unsigned char two[] = {0xfb, 0xff};

    (void)state;
    check_encode(bytes, 3, DA_BASE64_STD, "+/+/");
    check_encode(bytes, 3, DA_BASE64_URL, "-_-_");
    check_encode(two, 2, DA_BASE64_STD, "+/8=");
    check_encode(two, 2, DA_BASE64_URL, "-_8=");
    check_encode(two, 2, DA_BASE64_URL_NOPAD, "-_8");
    check_decode("+/+/", DA_BASE64_STD, bytes, 3);
    check_decode("-_-_", DA_BASE64_URL, bytes, 3);
    check_decode("-_8", DA_BASE64_URL_NOPAD, two, 2);
    /* each alphabet refuses the other's characters */
    check_reject("-_-_", DA_BASE64_STD);
    check_reject("+/+/", DA_BASE64_URL);
    check_reject("+/8", DA_BASE64_URL_NOPAD);
    check_reject("-_8", DA_BASE64_STD_NOPAD);
}

static void test_base64_std_requires_exact_padding(void **state)
{
    (void)state;
    check_reject("Zg", DA_BASE64_STD);
    check_reject("Zg=", DA_BASE64_STD);
    check_reject("Zg===", DA_BASE64_STD);
    check_reject("Zm8", DA_BASE64_STD);
    check_reject("Zm8==", DA_BASE64_STD);
    check_reject("Zm9v=", DA_BASE64_STD);
    check_reject("Zm9v====", DA_BASE64_STD);
    check_reject("====", DA_BASE64_STD);
    check_reject("=", DA_BASE64_STD);
    check_reject("Z===", DA_BASE64_STD);
    check_reject("Z", DA_BASE64_STD);
    check_reject("Zg==Zg==", DA_BASE64_STD);
    check_reject("Zm=v", DA_BASE64_STD);
    /* the no-padding variant refuses any padding */
    check_reject("Zg==", DA_BASE64_STD_NOPAD);
    check_reject("Zm8=", DA_BASE64_STD_NOPAD);
}

static void test_base64_rejects_non_alphabet(void **state)
{
    static const char with_nul[] = {'Z', 'm', '\0', 'v'};
    struct da_buf b;

    (void)state;
    check_reject("Zm9v\n", DA_BASE64_STD);
    check_reject(" Zm9v", DA_BASE64_STD);
    check_reject("Zm 9v", DA_BASE64_STD);
    check_reject("Zm9v\r\nZm9v", DA_BASE64_STD);
    check_reject("Zm9\t", DA_BASE64_STD);
    check_reject("Zm9.", DA_BASE64_STD);
    check_reject("Zm9\x80", DA_BASE64_STD);
    check_reject("Zm9v ", DA_BASE64_URL);
    da_buf_init(&b, 64);
    assert_int_equal(da_base64_decode(with_nul, sizeof(with_nul), DA_BASE64_STD, &b),
                     DA_ERR_BASE64);
    da_buf_free(&b);
}

static void test_base64_rejects_nonzero_trailing_bits(void **state)
{
    (void)state;
    /* "Zg==" is "f"; "Zh==" differs only in bits that padding discards */
    check_reject("Zh==", DA_BASE64_STD);
    check_reject("Zm9=", DA_BASE64_STD);
    check_reject("Zh", DA_BASE64_URL);
    check_reject("Zm9", DA_BASE64_URL_NOPAD);
    check_reject("Zm9", DA_BASE64_STD_NOPAD);
    check_decode("Zm8", DA_BASE64_URL, "fo", 2);
}

static void test_base64_url_padding_rules(void **state)
{
    (void)state;
    check_decode("Zg==", DA_BASE64_URL, "f", 1);
    check_decode("Zg", DA_BASE64_URL, "f", 1);
    check_decode("Zm8", DA_BASE64_URL, "fo", 2);
    check_decode("Zm8=", DA_BASE64_URL, "fo", 2);
    check_reject("Zg=", DA_BASE64_URL);
    check_reject("Zg===", DA_BASE64_URL);
    check_reject("Zm8==", DA_BASE64_URL);
    check_reject("Zm9v=", DA_BASE64_URL);
    check_reject("Zm9v==", DA_BASE64_URL);
    check_reject("Z=g=", DA_BASE64_URL);
    check_reject("=Zg=", DA_BASE64_URL);
    check_reject("Zg==Zg", DA_BASE64_URL);
    check_reject("Z", DA_BASE64_URL);
    check_reject("Zm9vZ", DA_BASE64_URL);
    check_reject("Zg==", DA_BASE64_URL_NOPAD);
    check_reject("Zm8=", DA_BASE64_URL_NOPAD);
}

static void test_base64_caps(void **state)
{
    unsigned char out[4];
    size_t n = 99;
    struct da_buf b;

    (void)state;
    memset(out, 0xaa, sizeof(out));
    assert_int_equal(da_base64_decode_to("Zm9vYg==", 8, DA_BASE64_STD, out, 3, &n),
                     DA_ERR_TOO_LARGE);
    assert_int_equal(n, 0);
    assert_int_equal(out[0], 0xaa);
    assert_int_equal(da_base64_decode_to("Zm9vYg==", 8, DA_BASE64_STD, out, 4, &n), 0);
    assert_int_equal(n, 4);
    assert_memory_equal(out, "foob", 4);
    assert_int_equal(da_base64_decode_to("Zm9v!g==", 8, DA_BASE64_STD, out, 4, &n), DA_ERR_BASE64);

    da_buf_init(&b, 6);
    assert_int_equal(da_buf_append_str(&b, "ab"), 0);
    assert_int_equal(decode_str("Zm9vYmE=", DA_BASE64_STD, &b), DA_ERR_TOO_LARGE);
    assert_string_equal(da_buf_str(&b), "ab");
    assert_int_equal(decode_str("Zm9vYg==", DA_BASE64_STD, &b), 0);
    assert_string_equal(da_buf_str(&b), "abfoob");
    assert_int_equal(da_base64_encode("f", 1, DA_BASE64_STD, &b), DA_ERR_TOO_LARGE);
    assert_string_equal(da_buf_str(&b), "abfoob");
    da_buf_free(&b);
}

static void test_base64_bad_arguments(void **state)
{
    struct da_buf b;
    size_t n;

    (void)state;
    da_buf_init(&b, 16);
    assert_int_equal(da_base64_encode(NULL, 1, DA_BASE64_STD, &b), DA_ERR_INVALID_ARG);
    assert_int_equal(da_base64_encode("a", 1, (enum da_base64_variant)9, &b), DA_ERR_INVALID_ARG);
    assert_int_equal(da_base64_decode("Zg==", 4, (enum da_base64_variant)9, &b),
                     DA_ERR_INVALID_ARG);
    assert_int_equal(da_base64_decode(NULL, 4, DA_BASE64_STD, &b), DA_ERR_INVALID_ARG);
    assert_int_equal(da_base64_decode_to(NULL, 4, DA_BASE64_STD, NULL, 0, &n), DA_ERR_INVALID_ARG);
    assert_int_equal(da_base64_decode("", 0, DA_BASE64_STD, &b), 0);
    assert_int_equal(da_buf_len(&b), 0);
    da_buf_free(&b);
}

static void test_base64_round_trip_all_lengths(void **state)
{
    static const enum da_base64_variant variants[] = {DA_BASE64_STD, DA_BASE64_STD_NOPAD,
                                                      DA_BASE64_URL, DA_BASE64_URL_NOPAD};
    unsigned char data[200];
    struct da_buf enc, dec;
    size_t len, v, i;

    (void)state;
    srand(4648);
    for (len = 0; len <= sizeof(data); len++) {
        for (i = 0; i < len; i++)
            data[i] = (unsigned char)rand();
        for (v = 0; v < 4; v++) {
            da_buf_init(&enc, 512);
            da_buf_init(&dec, 512);
            assert_int_equal(da_base64_encode(data, len, variants[v], &enc), 0);
            assert_true(da_buf_len(&enc) <= len / 3 * 4 + 4);
            assert_true(da_base64_decoded_max(da_buf_len(&enc)) >= len);
            assert_int_equal(
                da_base64_decode(da_buf_str(&enc), da_buf_len(&enc), variants[v], &dec), 0);
            assert_int_equal(da_buf_len(&dec), len);
            assert_memory_equal(da_buf_data(&dec), data, len);
            da_buf_free(&enc);
            da_buf_free(&dec);
        }
    }
}

static void test_hex(void **state)
{
    static const unsigned char bytes[] = {0x00, 0x01, 0xab, 0xcd, 0xef, 0xff};
    unsigned char out[8];
    char text[13];
    struct da_buf b;
    size_t n = 7;

    (void)state;
    da_buf_init(&b, 64);
    assert_int_equal(da_hex_encode(bytes, sizeof(bytes), &b), 0);
    assert_string_equal(da_buf_str(&b), "0001abcdefff");
    da_buf_free(&b);
    assert_int_equal(da_hex_encode_to(bytes, sizeof(bytes), text, sizeof(text)), 0);
    assert_string_equal(text, "0001abcdefff");
    assert_int_equal(da_hex_encode_to(bytes, sizeof(bytes), text, 12), DA_ERR_TOO_LARGE);

    assert_int_equal(da_hex_decode_to("0001ABcdEFff", 12, out, sizeof(out), &n), 0);
    assert_int_equal(n, 6);
    assert_memory_equal(out, bytes, 6);
    assert_int_equal(da_hex_decode_to("0001abcdefff", 12, out, 5, &n), DA_ERR_TOO_LARGE);
    assert_int_equal(da_hex_decode_to("abc", 3, out, sizeof(out), &n), DA_ERR_HEX);
    assert_int_equal(n, 0);
    assert_int_equal(da_hex_decode_to("0g", 2, out, sizeof(out), &n), DA_ERR_HEX);
    assert_int_equal(da_hex_decode_to(" 0", 2, out, sizeof(out), &n), DA_ERR_HEX);
    assert_int_equal(da_hex_decode_to("0\0", 2, out, sizeof(out), &n), DA_ERR_HEX);
    assert_int_equal(da_hex_decode_to("", 0, out, sizeof(out), &n), 0);
    assert_int_equal(n, 0);

    da_buf_init(&b, 3);
    assert_int_equal(da_hex_decode("DEADBEEF", 8, &b), DA_ERR_TOO_LARGE);
    assert_int_equal(da_hex_decode("DEADBE", 6, &b), 0);
    assert_memory_equal(da_buf_data(&b), "\xde\xad\xbe", 3);
    assert_int_equal(da_hex_decode("x", 1, &b), DA_ERR_HEX);
    assert_int_equal(da_buf_len(&b), 3);
    da_buf_free(&b);
}

static void test_hex_is_lower(void **state)
{
    (void)state;
    assert_true(da_hex_is_lower("00ff", 4));
    assert_false(da_hex_is_lower("00FF", 4));
    assert_false(da_hex_is_lower("0ff", 3));
    assert_false(da_hex_is_lower("", 0));
    assert_false(da_hex_is_lower("zz", 2));
    assert_false(da_hex_is_lower(NULL, 2));
}

static bool utf8_ok(const char *s)
{
    return da_utf8_valid(s, strlen(s));
}

static void test_utf8(void **state)
{
    static const char nul[] = {'a', '\0', 'b'};

    (void)state;
    assert_true(utf8_ok("plain ascii"));
    assert_true(utf8_ok("\xc2\x80 \xdf\xbf \xe0\xa0\x80 \xef\xbf\xbf"));
    assert_true(utf8_ok("\xed\x9f\xbf \xee\x80\x80 \xf0\x90\x80\x80 \xf4\x8f\xbf\xbf"));
    assert_true(da_utf8_valid(nul, sizeof(nul)));
    assert_true(da_utf8_valid(NULL, 0));
    /* overlong forms */
    assert_false(utf8_ok("\xc0\xaf"));
    assert_false(utf8_ok("\xc1\xbf"));
    assert_false(utf8_ok("\xe0\x80\xaf"));
    assert_false(utf8_ok("\xe0\x9f\xbf"));
    assert_false(utf8_ok("\xf0\x80\x80\xaf"));
    assert_false(utf8_ok("\xf0\x8f\xbf\xbf"));
    /* UTF-8-encoded surrogates */
    assert_false(utf8_ok("\xed\xa0\x80"));
    assert_false(utf8_ok("\xed\xbf\xbf"));
    /* above U+10FFFF, invalid lead bytes */
    assert_false(utf8_ok("\xf4\x90\x80\x80"));
    assert_false(utf8_ok("\xf5\x80\x80\x80"));
    assert_false(utf8_ok("\xff"));
    /* lone continuation, truncated sequences, bad continuation */
    assert_false(utf8_ok("\x80"));
    assert_false(utf8_ok("a\xc2"));
    assert_false(utf8_ok("\xe2\x82"));
    assert_false(utf8_ok("\xf0\x9f\x98"));
    assert_false(utf8_ok("\xe2\x28\xa1"));
    assert_int_equal(da_utf8_seq_len((const unsigned char *)"\xe2\x82\xac", 3), 3);
    assert_int_equal(da_utf8_seq_len((const unsigned char *)"\xe2\x82\xac", 2), 0);
    assert_int_equal(da_utf8_seq_len(NULL, 3), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_rfc4648_vectors),
        cmocka_unit_test(test_base64_alphabets),
        cmocka_unit_test(test_base64_std_requires_exact_padding),
        cmocka_unit_test(test_base64_rejects_non_alphabet),
        cmocka_unit_test(test_base64_rejects_nonzero_trailing_bits),
        cmocka_unit_test(test_base64_url_padding_rules),
        cmocka_unit_test(test_base64_caps),
        cmocka_unit_test(test_base64_bad_arguments),
        cmocka_unit_test(test_base64_round_trip_all_lengths),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_hex_is_lower),
        cmocka_unit_test(test_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
