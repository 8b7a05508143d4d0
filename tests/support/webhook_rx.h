/* A webhook receiver for tests: plain HTTP on 127.0.0.1 (a free port),
 * one connection at a time in its own thread. It checks every delivery's
 * Devattest-Signature with OpenSSL's HMAC-SHA256 over "t.body" and the
 * 300 s replay window (docs/internals/webhooks.md), independently of the
 * server's code, and answers 500 or 503, or holds answers until released,
 * when told to. */
#ifndef DA_WEBHOOK_RX_H
#define DA_WEBHOOK_RX_H

#include <pthread.h>

#include "server_harness.h"
#include "store.h"

#define DA_RX_MAX_SEEN 64

struct da_rx_seen {
    char event[48];
    char agent_id[SRV_ID_HEX];
    char path[64];
    int answered;
    int signature_ok;
    long long t;
};

struct da_webhook_rx {
    int fd;
    int port;
    pthread_t thread;
    pthread_mutex_t mu;
    int stop;
    char secret[128];       /* set (under mu) once the endpoint is made */
    int test_failures_left; /* webhook.test deliveries still answered 500 */
    int refuse_all;         /* answer 503 to everything */
    int hold;               /* while set, each answer waits (on cv) */
    int holding;            /* deliveries waiting for hold to clear */
    pthread_cond_t cv;
    struct da_rx_seen seen[DA_RX_MAX_SEEN];
    int nseen;
};

/* Zero r, listen, start the thread. */
void da_webhook_rx_start(struct da_webhook_rx *r);
void da_webhook_rx_stop(struct da_webhook_rx *r);
/* Hold every answer from now on, until da_webhook_rx_release. */
void da_webhook_rx_hold(struct da_webhook_rx *r);
/* Wait (at most 30 s) until a delivery is being held; 1 when one is. */
int da_webhook_rx_hold_one(struct da_webhook_rx *r);
/* Deliveries being held now. */
int da_webhook_rx_holding(struct da_webhook_rx *r);
void da_webhook_rx_release(struct da_webhook_rx *r);
/* Register an endpoint for the receiver with all event kinds (admin token)
 * and keep its secret; the endpoint id into id. */
void da_webhook_rx_register(struct da_webhook_rx *r, const struct da_test_server *s,
                            const char *admin, char id[SRV_ID_HEX]);
/* Deliveries of event (about agent_id unless NULL) answered with status
 * (0: any); fails the test if any delivery seen had a bad signature or a
 * time outside the replay window. */
int da_webhook_rx_count(struct da_webhook_rx *r, const char *event, const char *agent_id,
                        int status);
/* Wait (at most 30 s) until the count reaches want; the count. */
int da_webhook_rx_wait(struct da_webhook_rx *r, const char *event, const char *agent_id, int status,
                       int want);

#endif
