/* Delivery from the spool against a scripted server: reports are
 * "id=K;nonce=N"; the server accepts fresh nonces when it is up. */
#include "da_test.h"

#include <limits.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deliver.h"
#include "err.h"
#include "log.h"
#include "spool.h"
#include "tmp_tree.h"

struct server {
    int up;
    int min_nonce;        /* nonces below this are expired */
    int refuse_id;        /* this report id is refused (0: none) */
    int fatal;            /* send returns this negative error */
    int received[64];     /* accepted report ids, in order */
    uint64_t created[64]; /* their collection times */
    int n;
    int next_nonce;
};

static int parse(const unsigned char *p, size_t len, int *id, int *nonce, uint64_t *drops)
{
    char text[64];
    unsigned long long d = 0;

    if (len >= sizeof(text))
        return -1;
    memcpy(text, p, len);
    text[len] = '\0';
    *drops = 0;
    if (sscanf(text, "id=%d;nonce=%d;drops=%llu", id, nonce, &d) < 2)
        return -1;
    *drops = d;
    return 0;
}

static int server_send(void *ctx, uint64_t seq, const unsigned char *p, size_t len,
                       uint64_t created, uint64_t *acked)
{
    struct server *s = ctx;
    int id, nonce, i;
    uint64_t drops;

    (void)seq;
    if (s->fatal != 0)
        return s->fatal;
    if (!s->up)
        return AGENT_SEND_RETRY;
    assert_int_equal(parse(p, len, &id, &nonce, &drops), 0);
    if (id == s->refuse_id)
        return AGENT_SEND_REFUSED;
    if (nonce < s->min_nonce)
        return AGENT_SEND_STALE;
    for (i = 0; i < s->n; i++) {
        if (s->received[i] == id)
            fail_msg("report %d delivered twice", id);
    }
    s->received[s->n] = id;
    s->created[s->n] = created;
    s->n++;
    *acked = drops;
    return AGENT_SEND_ACCEPTED;
}

static int server_requote(void *ctx, const unsigned char *p, size_t len, uint64_t created,
                          struct da_buf *out)
{
    struct server *s = ctx;
    int id, nonce;
    uint64_t drops;

    (void)created;
    assert_int_equal(parse(p, len, &id, &nonce, &drops), 0);
    da_buf_init(out, 256);
    return da_buf_printf(out, "id=%d;nonce=%d;drops=%llu", id, s->next_nonce++,
                         (unsigned long long)drops);
}

static char dir[256];
static struct agent_spool *spool;
static struct server srv;
static struct agent_deliver_ops ops = {server_send, server_requote, &srv};

static int setup(void **state)
{
    char tmpl[200];

    (void)state;
    assert_int_equal(da_test_tmpdir("da-deliver", tmpl, sizeof(tmpl)), 0);
    snprintf(dir, sizeof(dir), "%s", tmpl);
    memset(&srv, 0, sizeof(srv));
    srv.up = 1;
    srv.next_nonce = 100;
    return agent_spool_open(dir, 100, 1 << 20, &spool);
}

static int teardown(void **state)
{
    DIR *d;
    struct dirent *e;
    char path[512];

    (void)state;
    agent_spool_close(spool);
    d = opendir(dir);
    while (d != NULL && (e = readdir(d)) != NULL) {
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d != NULL)
        closedir(d);
    rmdir(dir);
    return 0;
}

static void spool_report(int id, int nonce, uint64_t drops, uint64_t created)
{
    char text[64];
    int n = snprintf(text, sizeof(text), "id=%d;nonce=%d;drops=%llu", id, nonce,
                     (unsigned long long)drops);

    assert_int_equal(agent_spool_put(spool, text, (size_t)n, created, NULL), 0);
}

static uint64_t spooled(void)
{
    uint64_t count, bytes;

    agent_spool_usage(spool, &count, &bytes);
    return count;
}

static void test_in_order(void **state)
{
    struct agent_deliver_result res;
    int i;

    (void)state;
    for (i = 1; i <= 5; i++)
        spool_report(i, 50, 0, 1000 + (uint64_t)i);
    assert_int_equal(agent_deliver_spool(spool, &ops, &res), 0);
    assert_int_equal(res.sent, 5);
    assert_false(res.pending);
    for (i = 0; i < 5; i++) {
        assert_int_equal(srv.received[i], i + 1);
        assert_int_equal(srv.created[i], 1001 + (uint64_t)i);
    }
    assert_int_equal(spooled(), 0);
}

static void test_outage_for_several_cycles(void **state)
{
    struct agent_deliver_result res;
    int cycle, id = 1, i;

    (void)state;
    srv.up = 0;
    for (cycle = 0; cycle < 4; cycle++) {
        spool_report(id, 50, 0, (uint64_t)id);
        id++;
        assert_int_equal(agent_deliver_spool(spool, &ops, &res), 0);
        assert_true(res.pending);
        assert_int_equal(res.sent, 0);
    }
    assert_int_equal(spooled(), 4);
    srv.up = 1;
    spool_report(id, 50, 0, (uint64_t)id);
    assert_int_equal(agent_deliver_spool(spool, &ops, &res), 0);
    assert_int_equal(res.sent, 5);
    assert_false(res.pending);
    assert_int_equal(srv.n, 5);
    for (i = 0; i < 5; i++)
        assert_int_equal(srv.received[i], i + 1); /* all, in order, once */
    assert_int_equal(spooled(), 0);
}

/* The server goes away after two reports: the rest wait, order kept. */
static int flaky_send(void *ctx, uint64_t seq, const unsigned char *p, size_t len, uint64_t created,
                      uint64_t *acked)
{
    struct server *s = ctx;

    if (s->n == 2)
        s->up = 0;
    return server_send(ctx, seq, p, len, created, acked);
}

static void test_outage_in_the_middle(void **state)
{
    struct agent_deliver_ops flaky = {flaky_send, server_requote, &srv};
    struct agent_deliver_result res;
    int i;

    (void)state;
    for (i = 1; i <= 5; i++)
        spool_report(i, 50, 0, (uint64_t)i);
    assert_int_equal(agent_deliver_spool(spool, &flaky, &res), 0);
    assert_int_equal(res.sent, 2);
    assert_true(res.pending);
    assert_int_equal(spooled(), 3);
    srv.up = 1;
    assert_int_equal(agent_deliver_spool(spool, &ops, &res), 0);
    assert_int_equal(res.sent, 3);
    for (i = 0; i < 5; i++)
        assert_int_equal(srv.received[i], i + 1);
}

static void test_expired_nonce_requoted(void **state)
{
    struct agent_deliver_result res;

    (void)state;
    srv.min_nonce = 60;
    spool_report(1, 10, 0, 777); /* nonce long expired */
    spool_report(2, 70, 0, 778);
    assert_int_equal(agent_deliver_spool(spool, &ops, &res), 0);
    assert_int_equal(res.requoted, 1);
    assert_int_equal(res.sent, 2);
    assert_int_equal(srv.received[0], 1);
    assert_int_equal(srv.created[0], 777); /* the original collection time */

    /* A nonce that never becomes fresh enough: given up for now, kept. */
    srv.min_nonce = 100000;
    spool_report(3, 10, 0, 779);
    assert_int_equal(agent_deliver_spool(spool, &ops, &res), 0);
    assert_true(res.pending);
    assert_int_equal(res.requoted, 2);
    assert_int_equal(spooled(), 1);
}

static void test_refused_discarded_and_counted(void **state)
{
    struct agent_deliver_result res;

    (void)state;
    srv.refuse_id = 2;
    spool_report(1, 50, 0, 1);
    spool_report(2, 50, 0, 2);
    spool_report(3, 50, 0, 3);
    assert_int_equal(agent_deliver_spool(spool, &ops, &res), 0);
    assert_int_equal(res.sent, 2);
    assert_int_equal(res.refused, 1);
    assert_int_equal(agent_spool_dropped(spool), 1);
    assert_int_equal(srv.received[0], 1);
    assert_int_equal(srv.received[1], 3);
}

static void test_carried_drops_acknowledged(void **state)
{
    struct agent_deliver_result res;
    char text[8] = "x";
    int i;

    (void)state;
    agent_spool_close(spool);
    assert_int_equal(agent_spool_open(dir, 2, 1 << 20, &spool), 0);
    for (i = 0; i < 4; i++) /* two of them dropped for the bound */
        assert_int_equal(agent_spool_put(spool, text, 1, 1, NULL), 0);
    assert_int_equal(agent_spool_dropped(spool), 2);
    while (spooled() > 0) {
        uint64_t seq, created;
        struct da_buf b;

        da_buf_init(&b, 0);
        assert_int_equal(agent_spool_peek(spool, &seq, &created, &b), 0);
        assert_int_equal(agent_spool_remove(spool, seq), 0);
        da_buf_free(&b);
    }
    spool_report(9, 50, 2, 9); /* this report says "2 dropped" */
    assert_int_equal(agent_deliver_spool(spool, &ops, &res), 0);
    assert_int_equal(res.sent, 1);
    assert_int_equal(agent_spool_dropped(spool), 0);
}

static void test_fatal_error_stops(void **state)
{
    struct agent_deliver_result res;

    (void)state;
    spool_report(1, 50, 0, 1);
    srv.fatal = DA_ERR_AGENT_REVOKED;
    assert_int_equal(agent_deliver_spool(spool, &ops, &res), DA_ERR_AGENT_REVOKED);
    assert_int_equal(spooled(), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outage_for_several_cycles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outage_in_the_middle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expired_nonce_requoted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_discarded_and_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_carried_drops_acknowledged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fatal_error_stops, setup, teardown),
    };

    da_log_set_level(DA_LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
