/* DSSE envelopes and in-toto statements from outside: decode, re-encode and
 * decode again to the same envelope, verify against a fixed key (which must
 * never succeed for fuzzed signatures), and parse payloads as statements. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/evp.h>

#include "fuzz_target.h"
#include "dsse.h"
#include "err.h"
#include "intoto.h"

static EVP_PKEY *fuzz_key;

static void check_same(const struct da_dsse_envelope *a, const struct da_dsse_envelope *b)
{
    size_t i;

    if (strcmp(a->payload_type, b->payload_type) != 0 || a->payload_len != b->payload_len ||
        memcmp(a->payload, b->payload, a->payload_len) != 0 || a->nsigs != b->nsigs)
        abort();
    for (i = 0; i < a->nsigs; i++) {
        if (a->sigs[i].sig_len != b->sigs[i].sig_len ||
            memcmp(a->sigs[i].sig, b->sigs[i].sig, a->sigs[i].sig_len) != 0 ||
            (a->sigs[i].keyid == NULL) != (b->sigs[i].keyid == NULL) ||
            (a->sigs[i].keyid != NULL && strcmp(a->sigs[i].keyid, b->sigs[i].keyid) != 0))
            abort();
    }
}

static void check_envelope(const struct da_dsse_envelope *env)
{
    struct da_dsse_envelope *again = NULL;
    struct da_intoto_statement *st = NULL;
    struct da_buf line;

    da_buf_init(&line, DA_MAX_DSSE_ENVELOPE);
    if (da_dsse_envelope_encode(env, &line) != 0 ||
        da_dsse_envelope_decode(da_buf_str(&line), da_buf_len(&line), &again) != 0)
        abort();
    check_same(env, again);
    if (fuzz_key == NULL)
        fuzz_key = EVP_EC_gen("P-256");
    if (fuzz_key != NULL && da_dsse_verify(env, fuzz_key, NULL) != DA_ERR_VERIFY_SIGNATURE)
        abort();
    if (da_intoto_statement_parse(env->payload, env->payload_len, &st) == 0 &&
        (st->nsubjects == 0 || st->predicate == NULL))
        abort();
    da_intoto_statement_free(st);
    da_dsse_envelope_free(again);
    da_buf_free(&line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct da_dsse_envelope *env = NULL;
    struct da_intoto_statement *st = NULL;

    if (da_dsse_envelope_decode((const char *)data, size, &env) == 0)
        check_envelope(env);
    da_dsse_envelope_free(env);
    if (da_intoto_statement_parse(data, size, &st) == 0 && st->nsubjects == 0)
        abort();
    da_intoto_statement_free(st);
    return 0;
}
