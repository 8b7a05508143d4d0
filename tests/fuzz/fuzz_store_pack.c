/* What the compact store reads: a report body's top-level members
 * (srv_json_members, on the body as posted) and the per-report record and
 * evidence-set formats it reads back from the database. The input is
 * tried as all three. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_target.h"
#include "err.h"
#include "store_pack.h"

/* The members' grammar again, byte by byte (the store's scanner passes
 * over runs of ordinary string bytes a word at a time): both must find
 * the same members or both refuse. */
static bool ref_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t ref_skip(const char *t, size_t len, size_t i)
{
    while (i < len && ref_ws(t[i]))
        i++;
    return i;
}

static size_t ref_string(const char *t, size_t len, size_t i)
{
    for (i++; i < len; i++) {
        if (t[i] == '\\')
            i++;
        else if (t[i] == '"')
            return i + 1;
        else if ((unsigned char)t[i] < 0x20)
            return 0;
    }
    return 0;
}

static size_t ref_value(const char *t, size_t len, size_t i)
{
    char stack[512];
    size_t depth = 0, s = i;

    if (i >= len)
        return 0;
    if (t[i] == '"')
        return ref_string(t, len, i);
    if (t[i] != '{' && t[i] != '[') {
        while (i < len && !ref_ws(t[i]) && memchr(",}]:\"{[", t[i], 7) == NULL)
            i++;
        return i > s ? i : 0;
    }
    while (i < len) {
        if (t[i] == '"') {
            i = ref_string(t, len, i);
            if (i == 0)
                return 0;
            continue;
        }
        if (t[i] == '{' || t[i] == '[') {
            if (depth >= sizeof(stack))
                return 0;
            stack[depth++] = t[i] == '{' ? '}' : ']';
        } else if (t[i] == '}' || t[i] == ']') {
            if (depth == 0 || stack[depth - 1] != t[i])
                return 0;
            if (--depth == 0)
                return i + 1;
        }
        i++;
    }
    return 0;
}

static bool ref_members(const char *t, size_t len, struct srv_json_member *m, size_t max, size_t *n)
{
    size_t i = ref_skip(t, len, 0), e;

    *n = 0;
    if (i >= len || t[i] != '{')
        return false;
    i = ref_skip(t, len, i + 1);
    if (i < len && t[i] == '}')
        return ref_skip(t, len, i + 1) == len;
    for (;;) {
        if (*n >= max || i >= len || t[i] != '"' || (e = ref_string(t, len, i)) == 0)
            return false;
        m[*n].key_off = i;
        m[*n].key_len = e - i;
        i = ref_skip(t, len, e);
        if (i >= len || t[i] != ':')
            return false;
        i = ref_skip(t, len, i + 1);
        if ((e = ref_value(t, len, i)) == 0)
            return false;
        m[*n].val_off = i;
        m[*n].val_len = e - i;
        (*n)++;
        i = ref_skip(t, len, e);
        if (i < len && t[i] == ',') {
            i = ref_skip(t, len, i + 1);
            continue;
        }
        return i < len && t[i] == '}' && ref_skip(t, len, i + 1) == len;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct srv_json_member m[SRV_PACK_MAX_AREAS];
    struct srv_pack_area a[SRV_PACK_MAX_AREAS];
    struct srv_pack_rec rec, back;
    unsigned char *raw = NULL;
    size_t n = 0, i, len = 0;

    {
        struct srv_json_member rm[SRV_PACK_MAX_AREAS];
        size_t rn = 0;
        bool ok = srv_json_members((const char *)data, size, m, SRV_PACK_MAX_AREAS, &n);

        if (ok != ref_members((const char *)data, size, rm, SRV_PACK_MAX_AREAS, &rn) ||
            (ok && (n != rn || memcmp(m, rm, n * sizeof(*m)) != 0)))
            abort();
    }
    if (srv_json_members((const char *)data, size, m, SRV_PACK_MAX_AREAS, &n)) {
        /* spans lie inside the text, in order, and start with a quote */
        for (i = 0; i < n; i++) {
            if (m[i].key_off + m[i].key_len > size || m[i].val_off + m[i].val_len > size ||
                data[m[i].key_off] != '"' || m[i].val_off < m[i].key_off + m[i].key_len ||
                (i > 0 && m[i].key_off < m[i - 1].val_off + m[i - 1].val_len))
                abort();
        }
    }
    if (srv_pack_rec_read(data, size, &rec) == 0) {
        /* what parses writes back to the same bytes */
        if (srv_pack_rec_write(&rec, &raw, &len) != 0 || len != size ||
            memcmp(raw, data, size) != 0)
            abort();
        if (srv_pack_rec_read(raw, len, &back) != 0 || back.n_subs != rec.n_subs)
            abort();
        free(raw);
    }
    if (srv_pack_areas_read(data, size, a, SRV_PACK_MAX_AREAS, &n) == 0) {
        for (i = 0; i < n; i++)
            if (a[i].key < (const char *)data ||
                a[i].key + a[i].key_len > (const char *)data + size)
                abort();
    }
    return 0;
}
