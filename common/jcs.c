#include "jcs.h"

#include <locale.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encoding.h"
#include "err.h"
#include "caps.h"
#include "picky.h"

/* Decimal digits of a double: value = 0.d1d2...dk * 10^n (ECMAScript's
 * s, k and n in Number::toString). */
struct jcs_digits {
    char s[20];
    int k;
    int n;
};

/* Parse "d.ddde[+-]xx" as written by %.*e into digits and n. */
static void jcs_split_exp(const char *txt, struct jcs_digits *dg)
{
    const char *p = txt;

    dg->k = 0;
    for (; *p != 'e'; p++) {
        if (*p >= '0' && *p <= '9' && dg->k < (int)sizeof(dg->s) - 1)
            dg->s[dg->k++] = *p;
    }
    dg->s[dg->k] = '\0';
    dg->n = (int)strtol(p + 1, NULL, 10) + 1;
}

/* Whether digits * 10^(n-k) reads as d; written without a decimal point so
 * that the locale's LC_NUMERIC cannot change how strtod reads it. */
static bool jcs_reads_back(const struct jcs_digits *dg, double d)
{
    char txt[48];

    snprintf(txt, sizeof(txt), "%se%d", dg->s, dg->n - dg->k);
    return da_double_exact(strtod(txt, NULL), d);
}

/* The next (up) or previous (!up) value with the same number of digits. */
static void jcs_step(struct jcs_digits *dg, bool up)
{
    int i = dg->k - 1;

    while (i >= 0 && dg->s[i] == (up ? '9' : '0'))
        dg->s[i--] = up ? '0' : '9';
    if (i >= 0 && up)
        dg->s[i]++; /* a digit below '9' */
    else if (i >= 0)
        dg->s[i]--; /* a digit above '0' */
    if (up && i < 0) {
        dg->s[0] = '1';
        dg->n++;
    } else if (!up && dg->s[0] == '0') {
        dg->s[0] = '9';
        dg->n--;
    }
}

/* A double whose significand is a power of two (and not subnormal): the
 * gap to the next lower double is half the gap to the next higher one. */
static bool jcs_is_binade_start(double d)
{
    uint64_t bits;

    memcpy(&bits, &d, sizeof(bits));
    return (bits & 0xfffffffffffffULL) == 0 && (bits >> 52 & 0x7ff) > 1;
}

/* Among the p-digit values next to d, one that reads back as d: the
 * correctly rounded one, else (only possible at the start of a binade, where
 * the round-trip interval is lopsided) its neighbour on the other side. */
static bool jcs_try_precision(double d, int p, struct jcs_digits *dg)
{
    struct jcs_digits c;
    char txt[40];

    snprintf(txt, sizeof(txt), "%.*e", p - 1, d);
    jcs_split_exp(txt, dg);
    if (jcs_reads_back(dg, d))
        return true;
    if (!jcs_is_binade_start(d))
        return false;
    c = *dg;
    jcs_step(&c, true);
    if (!jcs_reads_back(&c, d)) {
        c = *dg;
        jcs_step(&c, false);
        if (!jcs_reads_back(&c, d))
            return false;
    }
    *dg = c;
    return true;
}

/* The fewest significant digits that read back as exactly d (d > 0 and
 * finite), closest to d among those. Every p-digit value is also a
 * (p+1)-digit value, so "some p-digit value reads back" is monotonic in p
 * and a binary search over 1..17 finds the least p (17 always works). */
static void jcs_shortest_digits(double d, struct jcs_digits *dg)
{
    int lo = 1, hi = 17, mid;

    while (lo < hi) {
        mid = (lo + hi) / 2;
        if (jcs_try_precision(d, mid, dg))
            hi = mid;
        else
            lo = mid + 1;
    }
    (void)jcs_try_precision(d, lo, dg);
    while (dg->k > 1 && dg->s[dg->k - 1] == '0')
        dg->k--;
    dg->s[dg->k] = '\0';
}

static int jcs_put(char *out, size_t outsize, size_t *o, const char *s, size_t n)
{
    if (n >= outsize - *o)
        return DA_ERR_TOO_LARGE;
    memcpy(out + *o, s, n);
    *o += n;
    out[*o] = '\0';
    return 0;
}

static int jcs_put_zeros(char *out, size_t outsize, size_t *o, int count)
{
    int r = 0;

    while (r == 0 && count-- > 0)
        r = jcs_put(out, outsize, o, "0", 1);
    return r;
}

/* The digits laid out as ECMAScript Number::toString step 6 onward. */
static int jcs_layout(const struct jcs_digits *dg, char *out, size_t outsize, size_t *o)
{
    char ebuf[16];
    int r, k = dg->k, n = dg->n;

    if (k <= n && n <= 21) {
        r = jcs_put(out, outsize, o, dg->s, (size_t)k);
        return r != 0 ? r : jcs_put_zeros(out, outsize, o, n - k);
    }
    if (0 < n && n <= 21) {
        r = jcs_put(out, outsize, o, dg->s, (size_t)n);
        if (r == 0)
            r = jcs_put(out, outsize, o, ".", 1);
        return r != 0 ? r : jcs_put(out, outsize, o, dg->s + n, (size_t)(k - n));
    }
    if (-6 < n && n <= 0) {
        r = jcs_put(out, outsize, o, "0.", 2);
        if (r == 0)
            r = jcs_put_zeros(out, outsize, o, -n);
        return r != 0 ? r : jcs_put(out, outsize, o, dg->s, (size_t)k);
    }
    r = jcs_put(out, outsize, o, dg->s, 1);
    if (r == 0 && k > 1)
        r = jcs_put(out, outsize, o, ".", 1);
    if (r == 0 && k > 1)
        r = jcs_put(out, outsize, o, dg->s + 1, (size_t)(k - 1));
    snprintf(ebuf, sizeof(ebuf), "e%c%d", n - 1 > 0 ? '+' : '-', abs(n - 1));
    return r != 0 ? r : jcs_put(out, outsize, o, ebuf, strlen(ebuf));
}

int da_jcs_format_number(double d, char *out, size_t outsize)
{
    struct jcs_digits dg;
    size_t o = 0;
    int r;

    if (out == NULL || outsize == 0)
        return DA_ERR_INVALID_ARG;
    out[0] = '\0';
    if (!isfinite(d))
        return DA_ERR_JSON_NUMBER;
    if (da_double_exact(d, 0.0))
        return jcs_put(out, outsize, &o, "0", 1);
    /* Below 2^53 every integer is a double of its own, so its shortest
     * digits are the integer itself; evidence is mostly such numbers. */
    if (d > -9007199254740992.0 && d < 9007199254740992.0 &&
        da_double_exact(d, (double)(long long)d)) {
        if (snprintf(out, outsize, "%lld", (long long)d) >= (int)outsize) {
            out[0] = '\0';
            return DA_ERR_TOO_LARGE;
        }
        return 0;
    }
    if (d < 0) {
        r = jcs_put(out, outsize, &o, "-", 1);
        if (r != 0)
            return r;
        d = -d;
    }
    jcs_shortest_digits(d, &dg);
    r = jcs_layout(&dg, out, outsize, &o);
    if (r != 0)
        out[0] = '\0';
    return r;
}

/* A JSON string with RFC 8785 escaping: only '"', '\\' and control
 * characters are escaped; everything else is copied as UTF-8. */
static int jcs_string(const char *s, struct da_buf *out)
{
    static const char short_esc[] = "btn\0fr";
    size_t len = strlen(s), i, start = 0;
    unsigned char c;
    int r;

    if (!da_utf8_valid(s, len))
        return DA_ERR_JSON_UTF8;
    r = da_buf_append_byte(out, '"');
    for (i = 0; r == 0 && i < len; i++) {
        c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        r = da_buf_append(out, s + start, i - start);
        start = i + 1;
        if (r != 0)
            break;
        if (c == '"' || c == '\\')
            r = da_buf_printf(out, "\\%c", c);
        else if (c >= '\b' && c <= '\r' && c != '\v')
            r = da_buf_printf(out, "\\%c", short_esc[c - '\b']);
        else
            r = da_buf_printf(out, "\\u%04x", c);
    }
    if (r == 0)
        r = da_buf_append(out, s + start, len - start);
    return r != 0 ? r : da_buf_append_byte(out, '"');
}

/* UTF-16 code units of a valid UTF-8 string, one at a time. */
struct u16_iter {
    const unsigned char *p;
    unsigned pending; /* low surrogate still to deliver, or 0 */
};

static long u16_next(struct u16_iter *it)
{
    unsigned long cp;
    size_t n, i;
    long unit;

    if (it->pending != 0) {
        unit = it->pending;
        it->pending = 0;
        return unit;
    }
    if (*it->p == '\0')
        return -1;
    n = da_utf8_seq_len(it->p, 4);
    cp = n == 1 ? it->p[0] : (unsigned long)(it->p[0] & (0x7f >> n));
    for (i = 1; i < n; i++)
        cp = cp << 6 | (it->p[i] & 0x3f);
    it->p += n;
    if (cp < 0x10000)
        return (long)cp;
    cp -= 0x10000;
    it->pending = (unsigned)(0xdc00 + (cp & 0x3ff));
    return (long)(0xd800 + (cp >> 10));
}

static int jcs_key_compare(const void *a, const void *b)
{
    const cJSON *ia = *(const cJSON *const *)a, *ib = *(const cJSON *const *)b;
    struct u16_iter x = {(const unsigned char *)ia->string, 0};
    struct u16_iter y = {(const unsigned char *)ib->string, 0};
    long ux, uy;

    do {
        ux = u16_next(&x);
        uy = u16_next(&y);
    } while (ux == uy && ux >= 0);
    return ux < uy ? -1 : ux > uy;
}

static int jcs_value(const cJSON *v, struct da_buf *out, int depth);

/* Members of object v, sorted; *out is an array the caller frees. */
static int jcs_sorted_members(const cJSON *v, const cJSON ***out, size_t *count)
{
    const cJSON *c, **m;
    size_t n = 0, i;

    for (c = v->child; c != NULL; c = c->next) {
        if (c->string == NULL)
            return DA_ERR_JSON_TYPE;
        if (!da_utf8_valid(c->string, strlen(c->string)))
            return DA_ERR_JSON_UTF8;
        n++;
    }
    m = calloc(n != 0 ? n : 1, sizeof(*m));
    if (m == NULL)
        return DA_ERR_NOMEM;
    for (i = 0, c = v->child; c != NULL; c = c->next)
        m[i++] = c;
    qsort(m, n, sizeof(*m), jcs_key_compare);
    for (i = 1; i < n; i++) {
        if (strcmp(m[i - 1]->string, m[i]->string) == 0) {
            free(m);
            return DA_ERR_JSON_DUP_KEY;
        }
    }
    *out = m;
    *count = n;
    return 0;
}

static int jcs_object(const cJSON *v, struct da_buf *out, int depth)
{
    const cJSON **m = NULL;
    size_t n = 0, i;
    int r;

    r = jcs_sorted_members(v, &m, &n);
    if (r != 0)
        return r;
    r = da_buf_append_byte(out, '{');
    for (i = 0; r == 0 && i < n; i++) {
        if (i > 0)
            r = da_buf_append_byte(out, ',');
        if (r == 0)
            r = jcs_string(m[i]->string, out);
        if (r == 0)
            r = da_buf_append_byte(out, ':');
        if (r == 0)
            r = jcs_value(m[i], out, depth + 1);
    }
    free(m);
    return r != 0 ? r : da_buf_append_byte(out, '}');
}

static int jcs_array(const cJSON *v, struct da_buf *out, int depth)
{
    const cJSON *c;
    int r;

    r = da_buf_append_byte(out, '[');
    for (c = v->child; r == 0 && c != NULL; c = c->next) {
        if (c != v->child)
            r = da_buf_append_byte(out, ',');
        if (r == 0)
            r = jcs_value(c, out, depth + 1);
    }
    return r != 0 ? r : da_buf_append_byte(out, ']');
}

static int jcs_number(double d, struct da_buf *out)
{
    char txt[DA_JCS_NUMBER_SIZE];
    int r = da_jcs_format_number(d, txt, sizeof(txt));

    return r != 0 ? r : da_buf_append_str(out, txt);
}

/* depth: containers already open around v. */
static int jcs_value(const cJSON *v, struct da_buf *out, int depth)
{
    switch (v->type & 0xff) {
    case cJSON_False:
        return da_buf_append_str(out, "false");
    case cJSON_True:
        return da_buf_append_str(out, "true");
    case cJSON_NULL:
        return da_buf_append_str(out, "null");
    case cJSON_Number:
        return jcs_number(v->valuedouble, out);
    case cJSON_String:
        return v->valuestring != NULL ? jcs_string(v->valuestring, out) : DA_ERR_JSON_TYPE;
    case cJSON_Array:
    case cJSON_Object:
        if (depth >= DA_MAX_JSON_DEPTH)
            return DA_ERR_JSON_DEPTH;
        if ((v->type & 0xff) == cJSON_Array)
            return jcs_array(v, out, depth);
        return jcs_object(v, out, depth);
    }
    return DA_ERR_JSON_TYPE;
}

int da_jcs_serialize(const cJSON *v, struct da_buf *out)
{
    int r;

    if (v == NULL || out == NULL)
        return DA_ERR_INVALID_ARG;
    r = jcs_value(v, out, 0);
    if (r != 0)
        da_buf_reset(out);
    return r;
}

int da_jcs_digest_sha256(const cJSON *v, unsigned char out[DA_SHA256_LEN])
{
    struct da_buf b;
    int r;

    if (out == NULL)
        return DA_ERR_INVALID_ARG;
    da_buf_init(&b, DA_MAX_CANONICAL_JSON);
    r = da_jcs_serialize(v, &b);
    if (r == 0)
        r = da_sha256(da_buf_data(&b), da_buf_len(&b), out);
    da_buf_free(&b);
    return r;
}

/* The canonical-form check over raw text (da_jcs_is_canonical): one pass,
 * no tree. It accepts exactly what the writer above would write for the
 * value the text holds: sorted unique keys, the writer's escapes and number
 * texts, no whitespace, the same depth bound. */
struct jcs_check {
    const unsigned char *p;
    const unsigned char *end;
};

static bool chk_value(struct jcs_check *c, int depth);

/* \u00XX with lower-case hex for a control character that has no short
 * escape, as jcs_string writes it (U+0000 never: cJSON ends a string there). */
static bool chk_u_escape(const unsigned char *p, const unsigned char *end)
{
    unsigned v;

    if (end - p < 6 || p[2] != '0' || p[3] != '0' || (p[4] != '0' && p[4] != '1'))
        return false;
    if (p[5] >= '0' && p[5] <= '9')
        v = (unsigned)(p[4] - '0') * 16 + (unsigned)(p[5] - '0');
    else if (p[5] >= 'a' && p[5] <= 'f')
        v = (unsigned)(p[4] - '0') * 16 + (unsigned)(p[5] - 'a' + 10);
    else
        return false;
    return v != 0 && !(v >= '\b' && v <= '\r' && v != '\v');
}

/* Past the run of printable ASCII from p other than '"' and '\\', eight
 * bytes at a time (the test is nonzero exactly when one of the eight is
 * below 0x20, at or above 0x80, '"' or '\\'); stops at the first byte
 * the caller must look at. */
static const unsigned char *ascii_run(const unsigned char *p, const unsigned char *end)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t w, q, b;

    while (end - p >= (ptrdiff_t)sizeof(w)) {
        memcpy(&w, p, sizeof(w));
        q = w ^ (ones * '"');
        b = w ^ (ones * '\\');
        if ((((w - ones * 0x20) & ~w) | ((q - ones) & ~q) | ((b - ones) & ~b) | w) & highs)
            break;
        p += sizeof(w);
    }
    while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
        p++;
    return p;
}

/* A string as jcs_string writes it; its raw content in *s, *n, and whether
 * it is plain: ASCII without an escape. */
static bool chk_string(struct jcs_check *c, const unsigned char **s, size_t *n, bool *plain)
{
    const unsigned char *p = c->p;
    bool high = false, escaped = false;

    if (p >= c->end || *p != '"')
        return false;
    *s = ++p;
    while (p < c->end && *p != '"') {
        p = ascii_run(p, c->end);
        if (p >= c->end || *p == '"')
            break;
        if (*p < 0x20)
            return false;
        if (*p >= 0x80) {
            high = true;
            p++;
            continue;
        }
        if (*p != '\\') {
            p++;
            continue;
        }
        escaped = true;
        if (c->end - p < 2)
            return false;
        if (p[1] == '"' || p[1] == '\\' || p[1] == 'b' || p[1] == 't' || p[1] == 'n' ||
            p[1] == 'f' || p[1] == 'r') {
            p += 2;
            continue;
        }
        if (p[1] != 'u' || !chk_u_escape(p, c->end))
            return false;
        p += 6;
    }
    if (p >= c->end)
        return false;
    *n = (size_t)(p - *s);
    if (high && !da_utf8_valid((const char *)*s, *n))
        return false;
    *plain = !high && !escaped;
    c->p = p + 1;
    return true;
}

/* -?[1-9][0-9]{0,14} or 0: an integer below 10^15 is exact as a double and
 * the writer prints it as these digits, so it is canonical without a
 * round trip through strtod and the writer. */
static bool chk_plain_integer(const unsigned char *s, size_t n)
{
    size_t i = s[0] == '-' ? 1 : 0;

    if (n == 1 && s[0] == '0')
        return true;
    if (n - i == 0 || n - i > 15 || s[i] < '1' || s[i] > '9')
        return false;
    for (i++; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
    }
    return true;
}

/* A number whose text is exactly the writer's text for the double cJSON
 * reads from it (cJSON reads with strtod and the locale's decimal point). */
static bool chk_number(struct jcs_check *c)
{
    const unsigned char *s = c->p;
    char tok[DA_JCS_NUMBER_SIZE], canon[DA_JCS_NUMBER_SIZE], *endp = NULL;
    char point = localeconv()->decimal_point[0];
    size_t n, i;
    double d;

    while (c->p < c->end && ((*c->p >= '0' && *c->p <= '9') || *c->p == '-' || *c->p == '+' ||
                             *c->p == '.' || *c->p == 'e' || *c->p == 'E'))
        c->p++;
    n = (size_t)(c->p - s);
    if (n == 0 || n >= sizeof(tok))
        return false;
    if (chk_plain_integer(s, n))
        return true;
    memcpy(tok, s, n);
    tok[n] = '\0';
    for (i = 0; i < n; i++)
        canon[i] = tok[i] == '.' ? point : tok[i];
    canon[n] = '\0';
    d = strtod(canon, &endp);
    if (endp != canon + n || da_jcs_format_number(d, canon, sizeof(canon)) != 0)
        return false;
    return strcmp(canon, tok) == 0;
}

/* UTF-16 code units of valid UTF-8 text[0..end), one at a time. */
struct u16n_iter {
    const unsigned char *p;
    const unsigned char *end;
    unsigned pending;
};

/* The character an escape in a checked string stands for: \" \\ \b \t \n
 * \f \r or \u00XX (lower-case hex), all below U+0080. */
static long u16n_escape(struct u16n_iter *it)
{
    const unsigned char *p = it->p;

    it->p += p[1] == 'u' ? 6 : 2;
    switch (p[1]) {
    case 'b':
        return '\b';
    case 't':
        return '\t';
    case 'n':
        return '\n';
    case 'f':
        return '\f';
    case 'r':
        return '\r';
    case 'u':
        return (p[4] - '0') * 16 + (p[5] <= '9' ? p[5] - '0' : p[5] - 'a' + 10);
    default:
        return p[1]; /* '"' or '\\' */
    }
}

static long u16n_next(struct u16n_iter *it)
{
    unsigned long cp;
    size_t n, i;
    long unit;

    if (it->pending != 0) {
        unit = it->pending;
        it->pending = 0;
        return unit;
    }
    if (it->p >= it->end)
        return -1;
    if (*it->p == '\\') /* one of the escapes chk_string lets through */
        return u16n_escape(it);
    n = da_utf8_seq_len(it->p, (size_t)(it->end - it->p));
    if (n == 0)
        return -1; /* not reached: the strings were checked */
    cp = n == 1 ? it->p[0] : (unsigned long)(it->p[0] & (0x7f >> n));
    for (i = 1; i < n; i++)
        cp = cp << 6 | (it->p[i] & 0x3f);
    it->p += n;
    if (cp < 0x10000)
        return (long)cp;
    cp -= 0x10000;
    it->pending = (unsigned)(0xdc00 + (cp & 0x3ff));
    return (long)(0xd800 + (cp >> 10));
}

/* Whether key a sorts strictly before key b (raw texts chk_string took). */
static bool chk_key_before(const unsigned char *a, size_t an, const unsigned char *b, size_t bn)
{
    struct u16n_iter x = {a, a + an, 0}, y = {b, b + bn, 0};
    long ux, uy;

    do {
        ux = u16n_next(&x);
        uy = u16n_next(&y);
    } while (ux == uy && ux >= 0);
    return ux < uy;
}

/* The same for keys of ASCII without escapes: there a character is one
 * UTF-16 unit and one byte, so the bytes sort as the units do. */
static bool plain_key_before(const unsigned char *a, size_t an, const unsigned char *b, size_t bn)
{
    int r = memcmp(a, b, an < bn ? an : bn);

    return r < 0 || (r == 0 && an < bn);
}

static bool chk_object(struct jcs_check *c, int depth)
{
    const unsigned char *prev = NULL, *key;
    size_t prev_n = 0, key_n;
    bool prev_plain = false, plain;

    c->p++;
    if (c->p < c->end && *c->p == '}') {
        c->p++;
        return true;
    }
    for (;;) {
        if (!chk_string(c, &key, &key_n, &plain) ||
            (prev != NULL && !(prev_plain && plain ? plain_key_before(prev, prev_n, key, key_n)
                                                   : chk_key_before(prev, prev_n, key, key_n))))
            return false;
        prev = key;
        prev_n = key_n;
        prev_plain = plain;
        if (c->p >= c->end || *c->p++ != ':' || !chk_value(c, depth + 1))
            return false;
        if (c->p >= c->end)
            return false;
        if (*c->p == '}') {
            c->p++;
            return true;
        }
        if (*c->p++ != ',')
            return false;
    }
}

static bool chk_array(struct jcs_check *c, int depth)
{
    c->p++;
    if (c->p < c->end && *c->p == ']') {
        c->p++;
        return true;
    }
    for (;;) {
        if (!chk_value(c, depth + 1) || c->p >= c->end)
            return false;
        if (*c->p == ']') {
            c->p++;
            return true;
        }
        if (*c->p++ != ',')
            return false;
    }
}

static bool chk_literal(struct jcs_check *c, const char *lit)
{
    size_t n = strlen(lit);

    if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0)
        return false;
    c->p += n;
    return true;
}

/* depth: containers already open around the value, as in jcs_value. */
static bool chk_value(struct jcs_check *c, int depth)
{
    const unsigned char *s;
    size_t n;
    bool plain;

    if (c->p >= c->end)
        return false;
    switch (*c->p) {
    case '{':
        return depth < DA_MAX_JSON_DEPTH && chk_object(c, depth);
    case '[':
        return depth < DA_MAX_JSON_DEPTH && chk_array(c, depth);
    case '"':
        return chk_string(c, &s, &n, &plain);
    case 't':
        return chk_literal(c, "true");
    case 'f':
        return chk_literal(c, "false");
    case 'n':
        return chk_literal(c, "null");
    default:
        return chk_number(c);
    }
}

size_t da_jcs_canonical_span(const char *text, size_t len)
{
    struct jcs_check c;

    if (text == NULL || len == 0)
        return 0;
    c.p = (const unsigned char *)text;
    c.end = c.p + len;
    return chk_value(&c, 0) ? (size_t)(c.p - (const unsigned char *)text) : 0;
}

bool da_jcs_is_canonical(const char *text, size_t len)
{
    return len != 0 && da_jcs_canonical_span(text, len) == len;
}
