#include "intoto.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "encoding.h"
#include "err.h"
#include "jcs.h"
#include "json.h"
#include "caps.h"

struct intoto_alg {
    const char *name;
    size_t hex_len;
};

/* Digest algorithms whose values are checked and count for a subject. */
static const struct intoto_alg intoto_known_algs[] = {
    {"sha224", 56},     {"sha256", 64},   {"sha384", 96},   {"sha512", 128},  {"sha512_224", 56},
    {"sha512_256", 64}, {"sha3_224", 56}, {"sha3_256", 64}, {"sha3_384", 96}, {"sha3_512", 128},
};

static const struct intoto_alg *intoto_find_alg(const char *name)
{
    size_t i;

    for (i = 0; i < sizeof(intoto_known_algs) / sizeof(intoto_known_algs[0]); i++) {
        if (strcmp(intoto_known_algs[i].name, name) == 0)
            return &intoto_known_algs[i];
    }
    return NULL;
}

/* A subject needs a name, unique algorithm names, well-formed values for
 * known algorithms and at least one known algorithm. */
static int intoto_check_subject(const struct da_intoto_subject *s)
{
    const struct intoto_alg *a;
    size_t i, j, known = 0;

    if (s->name == NULL || s->ndigests == 0 || s->digests == NULL)
        return DA_ERR_INTOTO_SUBJECT;
    if (s->ndigests > DA_MAX_INTOTO_DIGESTS)
        return DA_ERR_TOO_LARGE;
    for (i = 0; i < s->ndigests; i++) {
        if (s->digests[i].alg == NULL || s->digests[i].hex == NULL)
            return DA_ERR_INTOTO_SUBJECT;
        for (j = 0; j < i; j++) {
            if (strcmp(s->digests[i].alg, s->digests[j].alg) == 0)
                return DA_ERR_INTOTO_SUBJECT;
        }
        a = intoto_find_alg(s->digests[i].alg);
        if (a == NULL)
            continue;
        if (strlen(s->digests[i].hex) != a->hex_len ||
            !da_hex_is_lower(s->digests[i].hex, a->hex_len))
            return DA_ERR_INTOTO_SUBJECT;
        known++;
    }
    return known > 0 ? 0 : DA_ERR_INTOTO_SUBJECT;
}

static int intoto_check_subjects(const struct da_intoto_subject *subjects, size_t n)
{
    size_t i;
    int r;

    if (n == 0 || subjects == NULL)
        return DA_ERR_INTOTO_SUBJECT;
    if (n > DA_MAX_INTOTO_SUBJECTS)
        return DA_ERR_TOO_LARGE;
    for (i = 0; i < n; i++) {
        r = intoto_check_subject(&subjects[i]);
        if (r != 0)
            return r;
    }
    return 0;
}

static int intoto_subject_to_json(const struct da_intoto_subject *s, cJSON *array)
{
    cJSON *o = cJSON_CreateObject(), *d;
    size_t i;

    if (o == NULL || !cJSON_AddItemToArray(array, o)) {
        cJSON_Delete(o);
        return DA_ERR_NOMEM;
    }
    if (cJSON_AddStringToObject(o, "name", s->name) == NULL)
        return DA_ERR_NOMEM;
    d = cJSON_AddObjectToObject(o, "digest");
    if (d == NULL)
        return DA_ERR_NOMEM;
    for (i = 0; i < s->ndigests; i++) {
        if (cJSON_AddStringToObject(d, s->digests[i].alg, s->digests[i].hex) == NULL)
            return DA_ERR_NOMEM;
    }
    return 0;
}

static int intoto_add_predicate(cJSON *root, const char *predicate_type, const cJSON *predicate)
{
    cJSON *copy;

    if (cJSON_AddStringToObject(root, "predicateType", predicate_type) == NULL)
        return DA_ERR_NOMEM;
    copy = cJSON_Duplicate(predicate, 1);
    if (copy == NULL || !cJSON_AddItemToObject(root, "predicate", copy)) {
        cJSON_Delete(copy);
        return DA_ERR_NOMEM;
    }
    return 0;
}

int da_intoto_statement_build(const struct da_intoto_subject *subjects, size_t nsubjects,
                              const char *predicate_type, const cJSON *predicate, cJSON **out)
{
    cJSON *root = NULL, *arr;
    size_t i;
    int r;

    if (out != NULL)
        *out = NULL;
    if (out == NULL)
        return DA_ERR_INVALID_ARG;
    if (predicate_type == NULL || predicate_type[0] == '\0' || !cJSON_IsObject(predicate))
        return DA_ERR_INTOTO_FORMAT;
    r = intoto_check_subjects(subjects, nsubjects);
    if (r != 0)
        return r;
    r = DA_ERR_NOMEM;
    root = cJSON_CreateObject();
    if (root == NULL || cJSON_AddStringToObject(root, "_type", DA_INTOTO_STATEMENT_TYPE) == NULL)
        goto out;
    arr = cJSON_AddArrayToObject(root, "subject");
    if (arr == NULL)
        goto out;
    for (i = 0, r = 0; r == 0 && i < nsubjects; i++)
        r = intoto_subject_to_json(&subjects[i], arr);
    if (r == 0)
        r = intoto_add_predicate(root, predicate_type, predicate);
    if (r != 0)
        goto out;
    *out = root;
    root = NULL; /* transferred */
out:
    cJSON_Delete(root);
    return r;
}

int da_intoto_statement_encode(const struct da_intoto_subject *subjects, size_t nsubjects,
                               const char *predicate_type, const cJSON *predicate,
                               struct da_buf *out)
{
    cJSON *root = NULL;
    int r;

    if (out == NULL)
        return DA_ERR_INVALID_ARG;
    r = da_intoto_statement_build(subjects, nsubjects, predicate_type, predicate, &root);
    if (r == 0)
        r = da_jcs_serialize(root, out);
    cJSON_Delete(root);
    return r;
}

/* Count subjects and digests so that both arrays are allocated once. */
static int intoto_count(const cJSON *subjects, size_t *nsub, size_t *ndig)
{
    const cJSON *s, *d;
    int n;

    *nsub = 0;
    *ndig = 0;
    cJSON_ArrayForEach(s, subjects)
    {
        if (*nsub >= DA_MAX_INTOTO_SUBJECTS)
            return DA_ERR_TOO_LARGE;
        d = cJSON_GetObjectItemCaseSensitive(s, "digest");
        if (!cJSON_IsObject(s) || !cJSON_IsObject(d))
            return DA_ERR_INTOTO_SUBJECT;
        n = cJSON_GetArraySize(d);
        if (n > DA_MAX_INTOTO_DIGESTS)
            return DA_ERR_TOO_LARGE;
        (*nsub)++;
        *ndig += (size_t)n;
    }
    return *nsub > 0 ? 0 : DA_ERR_INTOTO_SUBJECT;
}

static int intoto_subject_from_json(const cJSON *js, struct da_intoto_subject *s,
                                    struct da_intoto_digest *digests)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(js, "digest"), *e;
    size_t n = 0;

    if (da_json_get_string(js, "name", &s->name) != 0)
        return DA_ERR_INTOTO_SUBJECT;
    cJSON_ArrayForEach(e, d)
    {
        if (!cJSON_IsString(e) || e->valuestring == NULL || e->string == NULL)
            return DA_ERR_INTOTO_SUBJECT;
        digests[n].alg = e->string;
        digests[n].hex = e->valuestring;
        n++;
    }
    s->digests = digests;
    s->ndigests = n;
    return intoto_check_subject(s);
}

static int intoto_subjects_from_json(struct da_intoto_statement *st)
{
    const cJSON *subjects = NULL, *js;
    size_t nsub, ndig, i = 0, used = 0;
    int r;

    r = da_json_get_array(st->tree, "subject", &subjects);
    if (r != 0)
        return DA_ERR_INTOTO_FORMAT;
    r = intoto_count(subjects, &nsub, &ndig);
    if (r != 0)
        return r;
    st->subject_store = calloc(nsub, sizeof(*st->subject_store));
    st->digest_store = calloc(ndig != 0 ? ndig : 1, sizeof(*st->digest_store));
    if (st->subject_store == NULL || st->digest_store == NULL)
        return DA_ERR_NOMEM;
    cJSON_ArrayForEach(js, subjects)
    {
        r = intoto_subject_from_json(js, &st->subject_store[i], st->digest_store + used);
        if (r != 0)
            return r;
        used += st->subject_store[i++].ndigests;
    }
    st->subjects = st->subject_store;
    st->nsubjects = nsub;
    return 0;
}

static int intoto_header_from_json(struct da_intoto_statement *st)
{
    const char *type = NULL;
    const cJSON *pred = NULL;

    if (da_json_get_string(st->tree, "_type", &type) != 0 ||
        strcmp(type, DA_INTOTO_STATEMENT_TYPE) != 0)
        return DA_ERR_INTOTO_FORMAT;
    if (da_json_get_string(st->tree, "predicateType", &st->predicate_type) != 0 ||
        st->predicate_type[0] == '\0')
        return DA_ERR_INTOTO_FORMAT;
    if (da_json_get_object(st->tree, "predicate", &pred) != 0)
        return DA_ERR_INTOTO_FORMAT;
    st->predicate = pred;
    return 0;
}

int da_intoto_statement_parse(const void *payload, size_t len, struct da_intoto_statement **out)
{
    struct da_intoto_statement *st = NULL;
    int r;

    if (out != NULL)
        *out = NULL;
    if (out == NULL || (payload == NULL && len > 0))
        return DA_ERR_INVALID_ARG;
    st = calloc(1, sizeof(*st));
    if (st == NULL)
        return DA_ERR_NOMEM;
    r = da_json_parse(payload, len, DA_MAX_DSSE_PAYLOAD, &st->tree);
    if (r == 0 && !cJSON_IsObject(st->tree))
        r = DA_ERR_INTOTO_FORMAT;
    if (r == 0)
        r = intoto_header_from_json(st);
    if (r == 0)
        r = intoto_subjects_from_json(st);
    if (r != 0)
        goto out;
    *out = st;
    st = NULL; /* transferred */
out:
    da_intoto_statement_free(st);
    return r;
}

void da_intoto_statement_free(struct da_intoto_statement *st)
{
    if (st == NULL)
        return;
    cJSON_Delete(st->tree);
    free(st->subject_store);
    free(st->digest_store);
    free(st);
}

const char *da_intoto_subject_digest(const struct da_intoto_subject *s, const char *alg)
{
    size_t i;

    if (s == NULL || alg == NULL)
        return NULL;
    for (i = 0; i < s->ndigests; i++) {
        if (strcmp(s->digests[i].alg, alg) == 0)
            return s->digests[i].hex;
    }
    return NULL;
}

const cJSON *da_intoto_statement_subject_json(const struct da_intoto_statement *st)
{
    return cJSON_GetObjectItemCaseSensitive(st->tree, "subject");
}
