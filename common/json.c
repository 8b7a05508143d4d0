#include "json.h"

#include <limits.h>
#include <locale.h>
#include <malloc.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "encoding.h"
#include "err.h"
#include "caps.h"
#include "picky.h"

/* cJSON reads at most 63 characters of a number; a longer one is refused
 * here rather than read differently. */
#define DA_JSON_NUMBER_MAX 63

struct key_ref {
    size_t off; /* first byte after the opening quote */
    size_t len; /* raw (escaped) length */
    bool esc;   /* holds a backslash escape */
};

enum expect {
    EXPECT_VALUE,
    EXPECT_VALUE_OR_CLOSE,
    EXPECT_KEY,
    EXPECT_KEY_OR_CLOSE,
    EXPECT_COLON,
    EXPECT_COMMA_OR_CLOSE,
};

/* A value of the tree being built: links are 1-based indices into the
 * node array (0: none), texts offsets into the text buffer (SIZE_MAX:
 * none). Turned into cJSON nodes once the whole text is accepted. */
struct bnode {
    int type;
    int valueint;
    double valuedouble;
    size_t child, last, next; /* first and last member, next sibling */
    size_t key, str;
};

struct build {
    struct bnode *nodes;
    size_t n, cap;
    char *text; /* decoded keys and strings, each NUL-terminated */
    size_t text_len, text_cap;
};

/* State of the validating scan, which builds the tree as it goes. */
struct scan {
    const unsigned char *p;
    size_t len;
    size_t pos;
    int depth;
    char open[DA_MAX_JSON_DEPTH];        /* '{' or '[' per level */
    size_t key_start[DA_MAX_JSON_DEPTH]; /* first key of each open object */
    struct key_ref *keys;
    size_t nkeys, keys_alloc;
    size_t err_off;
    const char *reason;
    /* the tree being built. Plain: cJSON nodes, the open container and
     * its last member per level. Compact: b, the open container per level
     * an index into b.nodes. */
    cJSON *pnode[DA_MAX_JSON_DEPTH];
    cJSON *plast[DA_MAX_JSON_DEPTH];
    cJSON *root;
    size_t node[DA_MAX_JSON_DEPTH];
    struct build b;
    bool compact;       /* DA_JSON_COMPACT: the tree in one block */
    bool have_key;      /* the member's key, read but not placed yet */
    struct key_ref key; /* raw span of that key */
    double number;      /* the number scan_number read */
    bool str_esc;       /* the string scan_string read holds an escape */
    /* the first allocation that failed: the tree is dropped, the scan goes
     * on so that a refusal of the text keeps its own code */
    int build_rc;
    const char *build_reason;
};

static int scan_fail(struct scan *s, size_t off, int code, const char *reason)
{
    s->err_off = off;
    s->reason = reason;
    return code;
}

/* ---- the memory a process's JSON trees may hold ---- */

/* Counted by the allocator's own size of each block, so that a block
 * released with free() rather than cJSON_free() only leaves the count
 * too high, never corrupts the heap. */
static size_t json_mem_cap, json_mem_used, json_mem_peak;
static int json_mem_refused;

static void *json_mem_malloc(size_t n)
{
    void *p;

    if (json_mem_cap != 0 && (n > json_mem_cap || json_mem_used > json_mem_cap - n)) {
        json_mem_refused = 1;
        return NULL;
    }
    p = malloc(n);
    if (p == NULL)
        return NULL;
    json_mem_used += malloc_usable_size(p);
    if (json_mem_used > json_mem_peak)
        json_mem_peak = json_mem_used;
    return p;
}

static void json_mem_free(void *p)
{
    size_t n;

    if (p == NULL)
        return;
    n = malloc_usable_size(p);
    json_mem_used = n < json_mem_used ? json_mem_used - n : 0;
    free(p);
}

void da_json_memory_hooks(void)
{
    cJSON_Hooks h = {json_mem_malloc, json_mem_free};

    cJSON_InitHooks(&h);
}

void da_json_memory_cap(size_t cap)
{
    json_mem_cap = cap;
}

size_t da_json_memory_peak(int reset)
{
    size_t peak = json_mem_peak;

    if (reset)
        json_mem_peak = json_mem_used;
    return peak;
}

static int scan_utf8(struct scan *s)
{
    size_t i = 0, n;

    while (i < s->len) {
        if (s->len - i >= 8) { /* eight ASCII bytes at once */
            uint64_t w;

            memcpy(&w, s->p + i, sizeof(w));
            if ((w & 0x8080808080808080ull) == 0) {
                i += 8;
                continue;
            }
        }
        if (s->p[i] < 0x80) { /* ASCII, most of any document: no call */
            i++;
            continue;
        }
        n = da_utf8_seq_len(s->p + i, s->len - i);
        if (n == 0)
            return scan_fail(s, i, DA_ERR_JSON_UTF8, "invalid UTF-8");
        i += n;
    }
    return 0;
}

static void skip_ws(struct scan *s)
{
    while (s->pos < s->len && (s->p[s->pos] == ' ' || s->p[s->pos] == '\t' ||
                               s->p[s->pos] == '\n' || s->p[s->pos] == '\r'))
        s->pos++;
}

static int hex4(const unsigned char *p, unsigned *out)
{
    unsigned v = 0;
    int i, d;

    for (i = 0; i < 4; i++) {
        if (p[i] >= '0' && p[i] <= '9')
            d = p[i] - '0';
        else if ((p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'f')
            d = (p[i] | 0x20) - 'a' + 10;
        else
            return -1;
        v = v << 4 | (unsigned)d;
    }
    *out = v;
    return 0;
}

/* A \uXXXX escape at s->pos (pointing at 'u'), plus its low half when it
 * is a high surrogate. */
static int scan_unicode_escape(struct scan *s)
{
    size_t at = s->pos - 1;
    unsigned u, lo;

    if (s->len - s->pos < 5 || hex4(s->p + s->pos + 1, &u) != 0)
        return scan_fail(s, at, DA_ERR_JSON_PARSE, "bad \\u escape");
    s->pos += 5;
    if (u == 0)
        return scan_fail(s, at, DA_ERR_JSON_PARSE, "escaped NUL (\\u0000) in string");
    if (u >= 0xdc00 && u <= 0xdfff)
        return scan_fail(s, at, DA_ERR_JSON_UTF8, "lone low surrogate escape");
    if (u < 0xd800 || u > 0xdbff)
        return 0;
    if (s->len - s->pos < 6 || s->p[s->pos] != '\\' || s->p[s->pos + 1] != 'u' ||
        hex4(s->p + s->pos + 2, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff)
        return scan_fail(s, at, DA_ERR_JSON_UTF8, "lone high surrogate escape");
    s->pos += 6;
    return 0;
}

static int scan_escape(struct scan *s)
{
    unsigned char c;

    if (s->pos + 1 >= s->len)
        return scan_fail(s, s->pos, DA_ERR_JSON_PARSE, "unterminated string");
    c = s->p[++s->pos];
    if (c == 'u')
        return scan_unicode_escape(s);
    if (strchr("\"\\/bfnrt", c) == NULL || c == '\0')
        return scan_fail(s, s->pos - 1, DA_ERR_JSON_PARSE, "bad escape in string");
    s->pos++;
    return 0;
}

/* The end of the plain run from p[pos]: bytes that are no quote, no
 * backslash and no control character, eight at a time while it lasts
 * (each test below is nonzero exactly when one of the eight bytes is below
 * 0x20, '"' or '\\'). */
static size_t plain_run(const unsigned char *p, size_t pos, size_t len)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t w, q, b;
    unsigned char c;

    while (len - pos >= sizeof(w)) {
        memcpy(&w, p + pos, sizeof(w));
        q = w ^ (ones * '"');
        b = w ^ (ones * '\\');
        if ((((w - ones * 0x20) & ~w) | ((q - ones) & ~q) | ((b - ones) & ~b)) & highs)
            break;
        pos += sizeof(w);
    }
    while (pos < len && (c = p[pos]) >= 0x20 && c != '"' && c != '\\')
        pos++;
    return pos;
}

/* A string at s->pos (the opening quote). UTF-8 was checked already.
 * s->str_esc: whether it holds an escape. */
static int scan_string(struct scan *s)
{
    size_t start = s->pos, pos = s->pos + 1;
    const unsigned char *p = s->p;
    unsigned char c;
    int r;

    s->str_esc = false;
    for (;;) {
        pos = plain_run(p, pos, s->len);
        if (pos >= s->len)
            break;
        c = p[pos];
        if (c == '"') {
            s->pos = pos + 1;
            return 0;
        }
        if (c == '\\') {
            s->str_esc = true;
            s->pos = pos;
            r = scan_escape(s);
            if (r != 0)
                return r;
            pos = s->pos;
            continue;
        }
        if (c == 0)
            return scan_fail(s, pos, DA_ERR_JSON_PARSE, "NUL byte in string");
        return scan_fail(s, pos, DA_ERR_JSON_PARSE, "control character in string");
    }
    return scan_fail(s, start, DA_ERR_JSON_PARSE, "unterminated string");
}

static size_t skip_digits(struct scan *s)
{
    size_t n = 0;

    while (s->pos < s->len && s->p[s->pos] >= '0' && s->p[s->pos] <= '9') {
        s->pos++;
        n++;
    }
    return n;
}

/* RFC 8259 number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int scan_number_syntax(struct scan *s, size_t start)
{
    if (s->pos < s->len && s->p[s->pos] == '-')
        s->pos++;
    if (s->pos < s->len && s->p[s->pos] == '0')
        s->pos++;
    else if (skip_digits(s) == 0)
        return scan_fail(s, start, DA_ERR_JSON_PARSE, "invalid number");
    if (s->pos < s->len && s->p[s->pos] == '.') {
        s->pos++;
        if (skip_digits(s) == 0)
            return scan_fail(s, start, DA_ERR_JSON_PARSE, "invalid number");
    }
    if (s->pos < s->len && (s->p[s->pos] == 'e' || s->p[s->pos] == 'E')) {
        s->pos++;
        if (s->pos < s->len && (s->p[s->pos] == '+' || s->p[s->pos] == '-'))
            s->pos++;
        if (skip_digits(s) == 0)
            return scan_fail(s, start, DA_ERR_JSON_PARSE, "invalid number");
    }
    return 0;
}

/* The number must read as a finite double, the way cJSON reads it (strtod
 * with the locale's decimal point). */
static int scan_number(struct scan *s)
{
    size_t start = s->pos, n, i;
    char tmp[DA_JSON_NUMBER_MAX + 1];
    char point, *end = NULL;
    uint64_t v = 0;
    double d;
    int r;

    r = scan_number_syntax(s, start);
    if (r != 0)
        return r;
    n = s->pos - start;
    if (n > DA_JSON_NUMBER_MAX)
        return scan_fail(s, start, DA_ERR_JSON_NUMBER, "number has too many characters");
    /* an integer of at most 15 digits is below 2^53: exact as a double,
     * the value strtod gives (-0 included) */
    i = s->p[start] == '-' ? 1 : 0;
    if (n - i <= 15) {
        for (; i < n && s->p[start + i] >= '0' && s->p[start + i] <= '9'; i++)
            v = v * 10 + (uint64_t)(s->p[start + i] - '0');
        if (i == n) {
            s->number = s->p[start] == '-' ? -(double)v : (double)v;
            return 0;
        }
    }
    point = localeconv()->decimal_point[0];
    for (i = 0; i < n; i++)
        tmp[i] = s->p[start + i] == '.' ? point : (char)s->p[start + i];
    tmp[n] = '\0';
    d = strtod(tmp, &end);
    if (end != tmp + n || !isfinite(d))
        return scan_fail(s, start, DA_ERR_JSON_NUMBER, "number out of range for a double");
    s->number = d;
    return 0;
}

static int scan_literal(struct scan *s, const char *word)
{
    size_t n = strlen(word);

    if (s->len - s->pos < n || memcmp(s->p + s->pos, word, n) != 0)
        return scan_fail(s, s->pos, DA_ERR_JSON_PARSE, "unexpected character");
    s->pos += n;
    return 0;
}

static int keys_push(struct scan *s, size_t off, size_t len, bool esc)
{
    struct key_ref *n;
    size_t na;

    if (s->nkeys == s->keys_alloc) {
        na = s->keys_alloc != 0 ? s->keys_alloc * 2 : 64;
        n = realloc(s->keys, na * sizeof(*n));
        if (n == NULL)
            return scan_fail(s, off, DA_ERR_NOMEM, "out of memory");
        s->keys = n;
        s->keys_alloc = na;
    }
    s->keys[s->nkeys].off = off;
    s->keys[s->nkeys].len = len;
    s->keys[s->nkeys].esc = esc;
    s->nkeys++;
    return 0;
}

/* Next code point of a validated raw JSON string body at p[*i..end). */
static unsigned long key_next_cp(const unsigned char *p, size_t *i)
{
    static const char esc_in[] = "\"\\/bfnrt", esc_out[] = "\"\\/\b\f\n\r\t";
    unsigned hi = 0, lo = 0;
    unsigned long cp;
    size_t n;

    if (p[*i] != '\\') {
        n = da_utf8_seq_len(p + *i, 4);
        cp = n == 1 ? p[*i] : (unsigned long)(p[*i] & (0x7f >> n));
        for (size_t k = 1; k < n; k++)
            cp = cp << 6 | (p[*i + k] & 0x3f);
        *i += n;
        return cp;
    }
    if (p[*i + 1] != 'u') {
        cp = (unsigned char)esc_out[strchr(esc_in, p[*i + 1]) - esc_in];
        *i += 2;
        return cp;
    }
    (void)hex4(p + *i + 2, &hi);
    *i += 6;
    if (hi < 0xd800 || hi > 0xdbff)
        return hi;
    (void)hex4(p + *i + 2, &lo);
    *i += 6;
    return 0x10000 + ((unsigned long)(hi - 0xd800) << 10) + (lo - 0xdc00);
}

static int key_compare(const void *a, const void *b, void *ctx)
{
    const struct key_ref *ka = a, *kb = b;
    const unsigned char *p = ctx;
    size_t i = ka->off, j = kb->off;
    unsigned long ca, cb;
    int c;

    if (!ka->esc && !kb->esc) {
        /* raw UTF-8: byte order is code point order */
        c = memcmp(p + i, p + j, ka->len < kb->len ? ka->len : kb->len);
        if (c != 0)
            return c < 0 ? -1 : 1;
        return ka->len < kb->len ? -1 : ka->len > kb->len;
    }
    while (i < ka->off + ka->len && j < kb->off + kb->len) {
        ca = key_next_cp(p, &i);
        cb = key_next_cp(p, &j);
        if (ca != cb)
            return ca < cb ? -1 : 1;
    }
    if (i < ka->off + ka->len)
        return 1;
    if (j < kb->off + kb->len)
        return -1;
    return 0;
}

/* ---- the tree, built by the scan ---- */

static size_t utf8_put(unsigned long cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* The scanned string body p[r.off..r.off+r.len) unescaped into dst, which
 * holds r.len + 1 bytes (an escape never grows: \uXXXX is six bytes for at
 * most three, a pair twelve for four). */
static size_t string_decode(const unsigned char *p, struct key_ref r, char *dst)
{
    size_t i = r.off, end = r.off + r.len, run;
    const unsigned char *bs;
    char *start = dst;

    if (!r.esc) {
        memcpy(dst, p + i, r.len);
        dst[r.len] = '\0';
        return r.len;
    }
    while (i < end) {
        bs = memchr(p + i, '\\', end - i);
        run = bs != NULL ? (size_t)(bs - p) - i : end - i;
        memcpy(dst, p + i, run);
        dst += run;
        i += run;
        if (i < end)
            dst += utf8_put(key_next_cp(p, &i), dst);
    }
    *dst = '\0';
    return (size_t)(dst - start);
}

static void build_release(struct build *b)
{
    cJSON_free(b->nodes);
    cJSON_free(b->text);
    memset(b, 0, sizeof(*b));
}

static void build_fail(struct scan *s)
{
    if (s->build_rc != 0)
        return;
    s->build_rc = json_mem_refused ? DA_ERR_TOO_LARGE : DA_ERR_NOMEM;
    s->build_reason =
        json_mem_refused ? "the document needs more memory than allowed" : "out of memory";
    build_release(&s->b); /* nothing more is built */
    cJSON_Delete(s->root);
    s->root = NULL;
}

/* Room for one more node; the work buffers are the trees' memory too
 * (allocated through cJSON's hooks, so the bound on it applies). */
static bool build_reserve(struct scan *s)
{
    struct build *b = &s->b;
    struct bnode *nn;
    size_t cap;

    if (b->text == NULL) {
        /* a string's decoded text and its NUL fit in its raw text with
         * the quotes: the whole text bounds them all */
        json_mem_refused = 0;
        b->text_cap = s->len + 1;
        b->text = cJSON_malloc(b->text_cap);
        if (b->text == NULL)
            return false;
    }
    if (b->n < b->cap)
        return true;
    cap = b->cap != 0 ? b->cap * 2 : s->len / 16 + 8;
    json_mem_refused = 0;
    if (cap > SIZE_MAX / sizeof(*nn) || (nn = cJSON_malloc(cap * sizeof(*nn))) == NULL)
        return false;
    if (b->n != 0)
        memcpy(nn, b->nodes, b->n * sizeof(*nn));
    cJSON_free(b->nodes);
    b->nodes = nn;
    b->cap = cap;
    return true;
}

static size_t build_text(struct build *b, const unsigned char *p, struct key_ref r)
{
    size_t at = b->text_len;

    b->text_len += string_decode(p, r, b->text + at) + 1;
    return at;
}

/* Compact: a node of the build, linked as the last member of the open
 * container. */
static struct bnode *bnode_add(struct scan *s, int type, bool keyed, const struct key_ref *str)
{
    struct build *b = &s->b;
    struct bnode *n, *parent;

    if (!build_reserve(s)) {
        build_fail(s);
        return NULL;
    }
    n = &b->nodes[b->n++];
    memset(n, 0, sizeof(*n));
    n->type = type;
    n->key = keyed ? build_text(b, s->p, s->key) : SIZE_MAX;
    n->str = str != NULL ? build_text(b, s->p, *str) : SIZE_MAX;
    if (s->depth > 0) {
        parent = &b->nodes[s->node[s->depth - 1]];
        if (parent->last == 0)
            parent->child = b->n;
        else
            b->nodes[parent->last - 1].next = b->n;
        parent->last = b->n;
    }
    return n;
}

static char *plain_text(struct scan *s, struct key_ref r)
{
    char *t = cJSON_malloc(r.len + 1);

    if (t != NULL)
        string_decode(s->p, r, t);
    return t;
}

/* Plain: a cJSON node with its key and string allocated apart, as cJSON's
 * parser makes it, linked as the last member of the open container (and
 * as the first member's prev, where cJSON keeps the last one). */
static cJSON *pnode_add(struct scan *s, int type, bool keyed, const struct key_ref *str)
{
    cJSON *n = cJSON_malloc(sizeof(*n)), *parent, *last;

    if (n == NULL) {
        build_fail(s);
        return NULL;
    }
    memset(n, 0, sizeof(*n));
    n->type = type;
    if (s->depth == 0) {
        s->root = n;
    } else {
        parent = s->pnode[s->depth - 1];
        last = s->plast[s->depth - 1];
        if (last == NULL) {
            parent->child = n;
        } else {
            last->next = n;
            n->prev = last;
        }
        parent->child->prev = n;
        s->plast[s->depth - 1] = n;
    }
    if ((keyed && (n->string = plain_text(s, s->key)) == NULL) ||
        (str != NULL && (n->valuestring = plain_text(s, *str)) == NULL)) {
        build_fail(s); /* n is in the tree: freed with it */
        return NULL;
    }
    return n;
}

/* A value of type for the text being scanned, with the pending key, and
 * for a string its raw body str, for a number its value. */
static void node_add(struct scan *s, int type, const struct key_ref *str, double number)
{
    bool keyed = s->have_key;
    int valueint = 0;

    s->have_key = false;
    if (s->build_rc != 0)
        return;
    json_mem_refused = 0;
    if (type == cJSON_True)
        valueint = 1; /* as cJSON sets it */
    else if (type == cJSON_Number && number >= INT_MAX)
        valueint = INT_MAX; /* cJSON's own reading of a number into valueint */
    else if (type == cJSON_Number && number <= (double)INT_MIN)
        valueint = INT_MIN;
    else if (type == cJSON_Number)
        valueint = (int)number;
    if (s->compact) {
        struct bnode *n = bnode_add(s, type, keyed, str);

        if (n != NULL) {
            n->valueint = valueint;
            n->valuedouble = number;
        }
    } else {
        cJSON *n = pnode_add(s, type, keyed, str);

        if (n != NULL) {
            n->valueint = valueint;
            n->valuedouble = number;
        }
    }
}

/* Links of o[] from the build's indices (cJSON's: each first member's
 * prev is the last member). */
static void link_nodes(const struct build *b, cJSON *o)
{
    size_t i, c, prev;

    for (i = 0; i < b->n; i++) {
        const struct bnode *n = &b->nodes[i];

        o[i].next = n->next != 0 ? &o[n->next - 1] : NULL;
        o[i].child = n->child != 0 ? &o[n->child - 1] : NULL;
        if (n->child == 0)
            continue;
        o[n->child - 1].prev = &o[n->last - 1];
        for (prev = n->child, c = b->nodes[prev - 1].next; c != 0;
             prev = c, c = b->nodes[c - 1].next)
            o[c - 1].prev = &o[prev - 1];
    }
}

/* Compact: one block, the root first, then every other node, then the
 * texts. Every node is marked a reference and every key const, so
 * cJSON_Delete of the root frees the block alone: it neither walks the
 * members nor frees a text. */
static int tree_compact(const struct build *b, cJSON **root)
{
    size_t i, nodes = b->n * sizeof(cJSON);
    char *text;
    cJSON *o;

    if (b->n > (SIZE_MAX - b->text_len) / sizeof(cJSON))
        return DA_ERR_TOO_LARGE;
    json_mem_refused = 0;
    o = cJSON_malloc(nodes + b->text_len);
    if (o == NULL)
        return json_mem_refused ? DA_ERR_TOO_LARGE : DA_ERR_NOMEM;
    text = (char *)o + nodes;
    memcpy(text, b->text, b->text_len);
    for (i = 0; i < b->n; i++) {
        const struct bnode *n = &b->nodes[i];

        memset(&o[i], 0, sizeof(o[i]));
        o[i].type = n->type | cJSON_IsReference;
        o[i].valueint = n->valueint;
        o[i].valuedouble = n->valuedouble;
        if (n->key != SIZE_MAX) {
            o[i].string = text + n->key;
            o[i].type |= cJSON_StringIsConst;
        }
        if (n->str != SIZE_MAX)
            o[i].valuestring = text + n->str;
    }
    link_nodes(b, o);
    *root = o;
    return 0;
}

/* Keys of the object being closed are keys[from..nkeys). */
static int check_duplicate_keys(struct scan *s, size_t from)
{
    size_t n = s->nkeys - from, i;
    struct key_ref *k;

    s->nkeys = from;
    if (n < 2)
        return 0;
    k = s->keys + from;
    /* keys already in strictly rising order (canonical texts) hold no two
     * alike: no sort needed */
    for (i = 1; i < n && key_compare(&k[i - 1], &k[i], DA_UNCONST(s->p)) < 0; i++)
        ;
    if (i == n)
        return 0;
    qsort_r(k, n, sizeof(*k), key_compare, DA_UNCONST(s->p)); /* the text is only read */
    for (i = 1; i < n; i++) {
        if (key_compare(&k[i - 1], &k[i], DA_UNCONST(s->p)) == 0)
            return scan_fail(s, (k[i].off > k[i - 1].off ? k[i].off : k[i - 1].off) - 1,
                             DA_ERR_JSON_DUP_KEY, "duplicate key in object");
    }
    return 0;
}

static int scan_open(struct scan *s, enum expect *e)
{
    char c = (char)s->p[s->pos];

    if (s->depth >= DA_MAX_JSON_DEPTH)
        return scan_fail(s, s->pos, DA_ERR_JSON_DEPTH, "nesting too deep");
    node_add(s, c == '{' ? cJSON_Object : cJSON_Array, NULL, 0);
    /* the container just added (not read once building has stopped) */
    s->node[s->depth] = s->b.n - 1;
    s->pnode[s->depth] = s->depth == 0 ? s->root : s->plast[s->depth - 1];
    s->plast[s->depth] = NULL;
    s->open[s->depth] = c;
    s->key_start[s->depth] = s->nkeys;
    s->depth++;
    s->pos++;
    *e = c == '{' ? EXPECT_KEY_OR_CLOSE : EXPECT_VALUE_OR_CLOSE;
    return 0;
}

static int scan_close(struct scan *s, enum expect *e)
{
    char c = (char)s->p[s->pos];
    char want = s->open[s->depth - 1] == '{' ? '}' : ']';
    int r = 0;

    if (c != want)
        return scan_fail(s, s->pos, DA_ERR_JSON_PARSE, "mismatched bracket");
    s->depth--;
    if (want == '}')
        r = check_duplicate_keys(s, s->key_start[s->depth]);
    s->pos++;
    *e = EXPECT_COMMA_OR_CLOSE;
    return r;
}

static int scan_string_value(struct scan *s)
{
    struct key_ref body = {s->pos + 1, 0, false};
    int r = scan_string(s);

    if (r != 0)
        return r;
    body.len = s->pos - body.off - 1;
    body.esc = s->str_esc;
    node_add(s, cJSON_String, &body, 0);
    return 0;
}

static int scan_number_value(struct scan *s)
{
    int r = scan_number(s);

    if (r == 0)
        node_add(s, cJSON_Number, NULL, s->number);
    return r;
}

static int scan_literal_value(struct scan *s, const char *word, int type)
{
    int r = scan_literal(s, word);

    if (r != 0)
        return r;
    node_add(s, type, NULL, 0);
    return 0;
}

static int scan_value(struct scan *s, enum expect *e)
{
    unsigned char c = s->p[s->pos];

    *e = EXPECT_COMMA_OR_CLOSE;
    if (c == '{' || c == '[')
        return scan_open(s, e);
    if (c == '"')
        return scan_string_value(s);
    if (c == '-' || (c >= '0' && c <= '9'))
        return scan_number_value(s);
    if (c == 't')
        return scan_literal_value(s, "true", cJSON_True);
    if (c == 'f')
        return scan_literal_value(s, "false", cJSON_False);
    if (c == 'n')
        return scan_literal_value(s, "null", cJSON_NULL);
    if (c == 0)
        return scan_fail(s, s->pos, DA_ERR_JSON_PARSE, "NUL byte");
    return scan_fail(s, s->pos, DA_ERR_JSON_PARSE, "unexpected character");
}

static int scan_key(struct scan *s, enum expect *e)
{
    size_t start = s->pos;
    int r;

    if (s->p[s->pos] != '"')
        return scan_fail(s, s->pos, DA_ERR_JSON_PARSE, "expected a string key");
    r = scan_string(s);
    if (r == 0)
        r = keys_push(s, start + 1, s->pos - start - 2, s->str_esc);
    s->key.off = start + 1;
    s->key.len = s->pos - start - 2;
    s->key.esc = s->str_esc;
    s->have_key = true;
    *e = EXPECT_COLON;
    return r;
}

static int scan_separator(struct scan *s, enum expect *e)
{
    unsigned char c = s->p[s->pos];

    if (c == ',') {
        s->pos++;
        *e = s->open[s->depth - 1] == '{' ? EXPECT_KEY : EXPECT_VALUE;
        return 0;
    }
    if (c == '}' || c == ']')
        return scan_close(s, e);
    return scan_fail(s, s->pos, DA_ERR_JSON_PARSE, "expected ',' or a closing bracket");
}

static int scan_step(struct scan *s, enum expect *e)
{
    unsigned char c = s->p[s->pos];

    switch (*e) {
    case EXPECT_VALUE_OR_CLOSE:
        if (c == ']')
            return scan_close(s, e);
        return scan_value(s, e);
    case EXPECT_VALUE:
        return scan_value(s, e);
    case EXPECT_KEY_OR_CLOSE:
        if (c == '}')
            return scan_close(s, e);
        return scan_key(s, e);
    case EXPECT_KEY:
        return scan_key(s, e);
    case EXPECT_COLON:
        if (c != ':')
            return scan_fail(s, s->pos, DA_ERR_JSON_PARSE, "expected ':'");
        s->pos++;
        *e = EXPECT_VALUE;
        return 0;
    case EXPECT_COMMA_OR_CLOSE:
        return scan_separator(s, e);
    }
    return scan_fail(s, s->pos, DA_ERR_INTERNAL, "scanner state");
}

/* The whole document: one value and nothing but whitespace after it. */
static int scan_document(struct scan *s)
{
    enum expect e = EXPECT_VALUE;
    int r;

    for (;;) {
        skip_ws(s);
        if (s->depth == 0 && e == EXPECT_COMMA_OR_CLOSE) {
            if (s->pos == s->len)
                return 0;
            return scan_fail(s, s->pos, DA_ERR_TRAILING_DATA, "data after the JSON value");
        }
        if (s->pos == s->len)
            return scan_fail(s, s->pos, DA_ERR_JSON_PARSE, "unexpected end of input");
        r = scan_step(s, &e);
        if (r != 0)
            return r;
    }
}

static void set_error(struct da_json_error *err, const char *text, size_t len, size_t off,
                      const char *reason)
{
    size_t i;

    if (err == NULL)
        return;
    err->line = 1;
    err->col = 1;
    err->reason = reason;
    for (i = 0; i < off && i < len; i++) {
        if (text[i] == '\n') {
            err->line++;
            err->col = 1;
        } else if (err->col < 0x7fffffff) {
            err->col++;
        }
    }
}

int da_json_parse_opts(const char *text, size_t len, size_t cap, unsigned flags, cJSON **out,
                       struct da_json_error *err)
{
    struct scan s;
    int r;

    if (err != NULL) {
        err->line = 0;
        err->col = 0;
        err->reason = NULL;
    }
    if (out != NULL)
        *out = NULL;
    if (out == NULL || (text == NULL && len > 0) || (flags & ~DA_JSON_COMPACT) != 0)
        return DA_ERR_INVALID_ARG;
    memset(&s, 0, sizeof(s));
    s.p = (const unsigned char *)text;
    s.len = len;
    s.compact = (flags & DA_JSON_COMPACT) != 0;
    if (len > cap) {
        if (err != NULL)
            err->reason = "document exceeds its size limit";
        return DA_ERR_TOO_LARGE;
    }
    r = scan_utf8(&s);
    if (r == 0)
        r = scan_document(&s);
    if (r == 0 && s.build_rc != 0)
        r = scan_fail(&s, 0, s.build_rc, s.build_reason);
    if (r == 0) {
        if (s.compact)
            r = tree_compact(&s.b, out);
        else
            *out = s.root;
        if (r != 0)
            r = scan_fail(&s, 0, r,
                          r == DA_ERR_TOO_LARGE ? "the document needs more memory than allowed"
                                                : "out of memory");
    }
    if (r != 0) {
        set_error(err, text, len, s.err_off, s.reason);
        cJSON_Delete(s.root);
    }
    build_release(&s.b);
    free(s.keys);
    return r;
}

int da_json_parse_ex(const char *text, size_t len, size_t cap, cJSON **out,
                     struct da_json_error *err)
{
    return da_json_parse_opts(text, len, cap, 0, out, err);
}

int da_json_parse(const char *text, size_t len, size_t cap, cJSON **out)
{
    return da_json_parse_ex(text, len, cap, out, NULL);
}

static int get_member(const cJSON *obj, const char *key, const cJSON **item)
{
    if (obj == NULL || key == NULL || !cJSON_IsObject(obj))
        return DA_ERR_JSON_TYPE;
    *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    return *item != NULL ? 0 : DA_ERR_JSON_MISSING;
}

int da_json_get_string(const cJSON *obj, const char *key, const char **out)
{
    const cJSON *v = NULL;
    int r;

    *out = NULL;
    r = get_member(obj, key, &v);
    if (r != 0)
        return r;
    if (!cJSON_IsString(v) || v->valuestring == NULL)
        return DA_ERR_JSON_TYPE;
    *out = v->valuestring;
    return 0;
}

int da_json_get_int64(const cJSON *obj, const char *key, int64_t *out)
{
    const cJSON *v = NULL;
    int r = get_member(obj, key, &v);
    double d;

    if (r != 0)
        return r;
    if (!cJSON_IsNumber(v))
        return DA_ERR_JSON_TYPE;
    d = v->valuedouble;
    if (!(d >= -(double)DA_JSON_MAX_SAFE_INT && d <= (double)DA_JSON_MAX_SAFE_INT))
        return DA_ERR_JSON_TYPE;
    if (!da_double_exact((double)(int64_t)d, d))
        return DA_ERR_JSON_TYPE;
    *out = (int64_t)d;
    return 0;
}

int da_json_get_bool(const cJSON *obj, const char *key, bool *out)
{
    const cJSON *v = NULL;
    int r = get_member(obj, key, &v);

    if (r != 0)
        return r;
    if (!cJSON_IsBool(v))
        return DA_ERR_JSON_TYPE;
    *out = cJSON_IsTrue(v);
    return 0;
}

static int get_typed(const cJSON *obj, const char *key, int type, const cJSON **out)
{
    const cJSON *v = NULL;
    int r;

    *out = NULL;
    r = get_member(obj, key, &v);
    if (r != 0)
        return r;
    if ((v->type & 0xff) != type)
        return DA_ERR_JSON_TYPE;
    *out = v;
    return 0;
}

int da_json_get_object(const cJSON *obj, const char *key, const cJSON **out)
{
    return get_typed(obj, key, cJSON_Object, out);
}

int da_json_get_array(const cJSON *obj, const char *key, const cJSON **out)
{
    return get_typed(obj, key, cJSON_Array, out);
}

/* da_json_member_start: a raw walk over text da_json_parse accepted. */
static size_t raw_skip_ws(const char *t, size_t len, size_t i)
{
    while (i < len && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r'))
        i++;
    return i;
}

/* Index just past the string that starts at t[i] ('"'), or len. */
static size_t raw_skip_string(const char *t, size_t len, size_t i)
{
    const char *q;
    size_t back;

    for (i++; i < len; i = (size_t)(q - t) + 1) {
        q = memchr(t + i, '"', len - i);
        if (q == NULL)
            return len;
        for (back = 0; q - back > t + i && q[-1 - (ptrdiff_t)back] == '\\'; back++)
            ;
        if (back % 2 == 0)
            return (size_t)(q - t) + 1;
    }
    return len;
}

/* Index just past the value that starts at t[i], or len. */
static size_t raw_skip_value(const char *t, size_t len, size_t i)
{
    size_t depth = 0;

    if (i < len && t[i] == '"')
        return raw_skip_string(t, len, i);
    if (i < len && t[i] != '{' && t[i] != '[') {
        while (i < len && t[i] != ',' && t[i] != '}' && t[i] != ']' && t[i] != ' ' &&
               t[i] != '\t' && t[i] != '\n' && t[i] != '\r')
            i++;
        return i;
    }
    while (i < len) {
        if (t[i] == '"') {
            i = raw_skip_string(t, len, i);
            continue;
        }
        if (t[i] == '{' || t[i] == '[')
            depth++;
        else if ((t[i] == '}' || t[i] == ']') && --depth == 0)
            return i + 1;
        i++;
    }
    return len;
}

int da_json_member_start(const char *text, size_t len, const char *key, size_t *off)
{
    size_t klen = strlen(key), i = raw_skip_ws(text, len, 0), k, v;

    if (i >= len || text[i] != '{')
        return DA_ERR_JSON_TYPE;
    for (i = raw_skip_ws(text, len, i + 1); i < len && text[i] == '"';) {
        k = i;
        i = raw_skip_string(text, len, i);
        i = raw_skip_ws(text, len, i);
        if (i >= len || text[i] != ':')
            return DA_ERR_JSON_PARSE;
        v = raw_skip_ws(text, len, i + 1);
        /* key holds no '"' or '\\', so the quote after it closes the string */
        if (klen + 2 <= len - k && memcmp(text + k + 1, key, klen) == 0 &&
            text[k + 1 + klen] == '"') {
            *off = v;
            return 0;
        }
        i = raw_skip_ws(text, len, raw_skip_value(text, len, v));
        if (i < len && text[i] == ',')
            i = raw_skip_ws(text, len, i + 1);
        else
            break;
    }
    return DA_ERR_NOT_FOUND;
}
