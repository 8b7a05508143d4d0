#include "ak_cache.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

#define AK_CACHE_SLOTS 4096 /* power of two */

struct srv_ak_ref {
    char key[160]; /* agent id '/' AK name */
    struct da_tpm_public *pub;
    int refs; /* the table's own reference counts as one */
};

struct srv_ak_cache {
    pthread_mutex_t mu;
    struct srv_ak_ref *slots[AK_CACHE_SLOTS];
};

int srv_ak_cache_new(struct srv_ak_cache **out)
{
    struct srv_ak_cache *c = calloc(1, sizeof(*c));

    *out = NULL;
    if (c == NULL)
        return DA_ERR_NOMEM;
    pthread_mutex_init(&c->mu, NULL);
    *out = c;
    return 0;
}

static void ref_drop(struct srv_ak_ref *r)
{
    if (r != NULL && --r->refs == 0) {
        da_tpm_public_free(r->pub);
        free(r);
    }
}

void srv_ak_cache_free(struct srv_ak_cache *c)
{
    size_t i;

    if (c == NULL)
        return;
    for (i = 0; i < AK_CACHE_SLOTS; i++)
        ref_drop(c->slots[i]);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static size_t slot_of(const char *key)
{
    uint32_t h = 2166136261u;

    for (; *key != '\0'; key++)
        h = (h ^ (unsigned char)*key) * 16777619u;
    return h & (AK_CACHE_SLOTS - 1);
}

int srv_ak_cache_get(struct srv_ak_cache *c, const char *agent_id, const char *ak_name,
                     const unsigned char *ak_public, size_t ak_public_len, struct srv_ak_ref **ref)
{
    struct srv_ak_ref *r, *old;
    char key[160];
    size_t slot;
    int rc;

    *ref = NULL;
    if (snprintf(key, sizeof(key), "%s/%s", agent_id, ak_name) >= (int)sizeof(key))
        return DA_ERR_INVALID_ARG;
    slot = slot_of(key);
    pthread_mutex_lock(&c->mu);
    r = c->slots[slot];
    if (r != NULL && strcmp(r->key, key) == 0) {
        r->refs++;
        pthread_mutex_unlock(&c->mu);
        *ref = r;
        return 0;
    }
    pthread_mutex_unlock(&c->mu);

    r = calloc(1, sizeof(*r));
    if (r == NULL)
        return DA_ERR_NOMEM;
    rc = da_tpm_public_parse(ak_public, ak_public_len, &r->pub);
    if (rc != 0) {
        free(r);
        return rc;
    }
    memcpy(r->key, key, sizeof(key));
    r->refs = 2; /* the table and the caller */
    pthread_mutex_lock(&c->mu);
    old = c->slots[slot];
    c->slots[slot] = r;
    ref_drop(old);
    pthread_mutex_unlock(&c->mu);
    *ref = r;
    return 0;
}

const struct da_tpm_public *srv_ak_ref_key(const struct srv_ak_ref *ref)
{
    return ref->pub;
}

void srv_ak_cache_put(struct srv_ak_cache *c, struct srv_ak_ref *ref)
{
    if (ref == NULL)
        return;
    pthread_mutex_lock(&c->mu);
    ref_drop(ref);
    pthread_mutex_unlock(&c->mu);
}
