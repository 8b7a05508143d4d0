#include "ratelimit.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

#define RL_SLOTS  8192 /* power of two */
#define RL_PROBE  16
#define RL_KEYLEN 48

struct rl_bucket {
    char key[RL_KEYLEN];
    double tokens;
    uint64_t last_ms;
};

struct srv_ratelimit {
    pthread_mutex_t mu;
    double rate_per_ms;
    double burst;
    struct rl_bucket slots[RL_SLOTS];
};

int srv_ratelimit_new(unsigned rate, unsigned burst, struct srv_ratelimit **out)
{
    struct srv_ratelimit *rl;

    *out = NULL;
    if (rate == 0 || burst == 0)
        return DA_ERR_INVALID_ARG;
    rl = calloc(1, sizeof(*rl));
    if (rl == NULL)
        return DA_ERR_NOMEM;
    pthread_mutex_init(&rl->mu, NULL);
    rl->rate_per_ms = rate / 1000.0;
    rl->burst = burst;
    *out = rl;
    return 0;
}

void srv_ratelimit_free(struct srv_ratelimit *rl)
{
    if (rl == NULL)
        return;
    pthread_mutex_destroy(&rl->mu);
    free(rl);
}

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;

    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

bool srv_ratelimit_take(struct srv_ratelimit *rl, const char *key, uint64_t now_ms)
{
    struct rl_bucket *b = NULL, *oldest = NULL;
    char k[RL_KEYLEN];
    uint32_t h;
    bool ok;
    int i;

    snprintf(k, sizeof(k), "%s", key);
    h = fnv1a(k);
    pthread_mutex_lock(&rl->mu);
    for (i = 0; i < RL_PROBE; i++) {
        struct rl_bucket *c = &rl->slots[(h + (uint32_t)i) & (RL_SLOTS - 1)];

        if (strcmp(c->key, k) == 0 && c->key[0] != '\0') {
            b = c;
            break;
        }
        if (oldest == NULL || c->last_ms < oldest->last_ms)
            oldest = c;
    }
    if (b == NULL) {
        b = oldest;
        memcpy(b->key, k, sizeof(k));
        b->tokens = rl->burst;
        b->last_ms = now_ms;
    }
    if (now_ms > b->last_ms) {
        b->tokens += (double)(now_ms - b->last_ms) * rl->rate_per_ms;
        if (b->tokens > rl->burst)
            b->tokens = rl->burst;
        b->last_ms = now_ms;
    }
    ok = b->tokens >= 1.0;
    if (ok)
        b->tokens -= 1.0;
    pthread_mutex_unlock(&rl->mu);
    return ok;
}
