#include "da_test.h"

#include <limits.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "spool.h"
#include "tmp_tree.h"
#include "picky.h"

static char dir[256];

static int setup(void **state)
{
    char tmpl[200];

    (void)state;
    assert_int_equal(da_test_tmpdir("da-spool", tmpl, sizeof(tmpl)), 0);
    snprintf(dir, sizeof(dir), "%s/spool", tmpl);
    return 0;
}

static void remove_tree(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    char child[512];

    if (d == NULL) {
        unlink(path);
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
        remove_tree(child);
    }
    closedir(d);
    rmdir(path);
}

/* Each test starts from an empty spool directory. */
static int fresh(void **state)
{
    (void)state;
    remove_tree(dir);
    return 0;
}

static int teardown(void **state)
{
    char parent[256];

    (void)state;
    remove_tree(dir);
    snprintf(parent, sizeof(parent), "%s", dir);
    *strrchr(parent, '/') = '\0';
    rmdir(parent);
    return 0;
}

static uint64_t put_text(struct agent_spool *s, const char *text, uint64_t created)
{
    uint64_t seq = 0;

    assert_int_equal(agent_spool_put(s, text, strlen(text), created, &seq), 0);
    return seq;
}

static int count_files(const char *sub, const char *prefix)
{
    char path[512];
    DIR *d;
    struct dirent *e;
    int n = 0;

    snprintf(path, sizeof(path), "%s%s%s", dir, sub[0] != '\0' ? "/" : "", sub);
    d = opendir(path);
    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL)
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0 && e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void test_order_and_reopen(void **state)
{
    struct agent_spool *s = NULL;
    struct da_buf b;
    uint64_t *seqs = NULL, seq, created, count, bytes;
    size_t n;

    (void)state;
    da_buf_init(&b, 0);
    assert_int_equal(agent_spool_open(dir, 100, 1 << 20, &s), 0);
    assert_int_equal(agent_spool_peek(s, &seq, &created, &b), DA_ERR_NOT_FOUND);
    assert_int_equal(put_text(s, "one", 1000), 1);
    assert_int_equal(put_text(s, "two", 1001), 2);
    assert_int_equal(put_text(s, "three", 1002), 3);
    assert_int_equal(agent_spool_list(s, &seqs, &n), 0);
    assert_int_equal(n, 3);
    assert_true(seqs[0] == 1 && seqs[1] == 2 && seqs[2] == 3);
    free(seqs);
    assert_int_equal(agent_spool_peek(s, &seq, &created, &b), 0);
    assert_int_equal(seq, 1);
    assert_int_equal(created, 1000);
    assert_string_equal(da_buf_str(&b), "one");
    assert_int_equal(agent_spool_remove(s, 1), 0);
    assert_int_equal(agent_spool_remove(s, 1), DA_ERR_NOT_FOUND);
    agent_spool_usage(s, &count, &bytes);
    assert_int_equal(count, 2);
    assert_int_equal(bytes, 2 * AGENT_SPOOL_HEADER_LEN + 3 + 5);
    agent_spool_close(s);

    /* Another process (here: a later open) sees the same order and goes on
     * numbering after the newest entry. */
    assert_int_equal(agent_spool_open(dir, 100, 1 << 20, &s), 0);
    assert_int_equal(agent_spool_peek(s, &seq, &created, &b), 0);
    assert_int_equal(seq, 2);
    assert_string_equal(da_buf_str(&b), "two");
    assert_int_equal(put_text(s, "four", 1003), 4);
    assert_int_equal(agent_spool_read(s, 4, &created, &b), 0);
    assert_string_equal(da_buf_str(&b), "four");
    assert_int_equal(created, 1003);
    assert_int_equal(agent_spool_read(s, 9, &created, &b), DA_ERR_NOT_FOUND);
    agent_spool_close(s);
    agent_spool_close(NULL);
    da_buf_free(&b);
}

static void test_count_bound_and_drops(void **state)
{
    struct agent_spool *s = NULL;
    uint64_t *seqs = NULL;
    size_t n;
    char text[16];
    int i;

    (void)state;
    assert_int_equal(agent_spool_open(dir, 3, 1 << 20, &s), 0);
    for (i = 1; i <= 5; i++) {
        snprintf(text, sizeof(text), "r%d", i);
        put_text(s, text, (uint64_t)i);
    }
    assert_int_equal(agent_spool_list(s, &seqs, &n), 0);
    assert_int_equal(n, 3);
    assert_true(seqs[0] == 3 && seqs[1] == 4 && seqs[2] == 5);
    free(seqs);
    assert_int_equal(agent_spool_dropped(s), 2);
    agent_spool_close(s);
    /* The count survives a restart... */
    assert_int_equal(agent_spool_open(dir, 3, 1 << 20, &s), 0);
    assert_int_equal(agent_spool_dropped(s), 2);
    put_text(s, "r6", 6);
    assert_int_equal(agent_spool_dropped(s), 3);
    /* ...and is cleared by what an accepted report carried, not more. */
    assert_int_equal(agent_spool_ack_dropped(s, 2), 0);
    assert_int_equal(agent_spool_dropped(s), 1);
    agent_spool_close(s);
    assert_int_equal(agent_spool_open(dir, 3, 1 << 20, &s), 0);
    assert_int_equal(agent_spool_dropped(s), 1);
    assert_int_equal(agent_spool_ack_dropped(s, 5), 0);
    assert_int_equal(agent_spool_dropped(s), 0);
    agent_spool_close(s);
}

static void test_byte_bound(void **state)
{
    struct agent_spool *s = NULL;
    unsigned char payload[100];
    uint64_t count, bytes, seq;
    int i;

    (void)state;
    memset(payload, 'x', sizeof(payload));
    assert_int_equal(agent_spool_open(dir, 1000, 3 * (AGENT_SPOOL_HEADER_LEN + 100), &s), 0);
    for (i = 0; i < 5; i++)
        assert_int_equal(agent_spool_put(s, payload, sizeof(payload), 1, &seq), 0);
    agent_spool_usage(s, &count, &bytes);
    assert_int_equal(count, 3);
    assert_int_equal(bytes, 3 * (AGENT_SPOOL_HEADER_LEN + 100));
    assert_int_equal(agent_spool_dropped(s), 2);
    /* An entry that can never fit is refused and drops nothing. */
    {
        unsigned char big[600];

        memset(big, 'y', sizeof(big));
        assert_int_equal(agent_spool_put(s, big, sizeof(big), 1, &seq), DA_ERR_TOO_LARGE);
        assert_int_equal(seq, 0);
    }
    agent_spool_usage(s, &count, &bytes);
    assert_int_equal(count, 3);
    assert_int_equal(agent_spool_dropped(s), 2);
    agent_spool_close(s);
}

static void write_raw(const char *name, const void *p, size_t n)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

static void test_corrupt_entries_quarantined(void **state)
{
    struct agent_spool *s = NULL;
    struct da_buf e, b;
    uint64_t seq, created;
    unsigned char *raw;

    (void)state;
    da_buf_init(&e, 0);
    da_buf_init(&b, 0);
    assert_int_equal(agent_spool_open(dir, 100, 1 << 20, &s), 0);
    agent_spool_close(s);
    /* 1: torn (cut short); 2: one bit flipped; 3: sequence differs from its
     * name; 4: intact; plus files that are not entries at all. */
    assert_int_equal(agent_spool_entry_encode(1, 11, "first report", 12, &e), 0);
    write_raw("00000000000000000001.entry", da_buf_data(&e), da_buf_len(&e) - 5);
    assert_int_equal(agent_spool_entry_encode(2, 12, "second report", 13, &e), 0);
    raw = (unsigned char *)DA_UNCONST(da_buf_data(&e));
    raw[AGENT_SPOOL_HEADER_LEN + 3] ^= 0x01;
    write_raw("00000000000000000002.entry", raw, da_buf_len(&e));
    assert_int_equal(agent_spool_entry_encode(77, 13, "third report", 12, &e), 0);
    write_raw("00000000000000000003.entry", da_buf_data(&e), da_buf_len(&e));
    assert_int_equal(agent_spool_entry_encode(4, 14, "fourth report", 13, &e), 0);
    write_raw("00000000000000000004.entry", da_buf_data(&e), da_buf_len(&e));
    write_raw("notes.txt", "hello", 5);
    write_raw("0000000000000000005.entry", "x", 1);
    write_raw(".tmp-00000000000000000005.entry-123", "partial", 7);

    assert_int_equal(agent_spool_open(dir, 100, 1 << 20, &s), 0);
    assert_int_equal(count_files("", ".tmp-"), 0); /* left-overs removed on open */
    assert_int_equal(agent_spool_peek(s, &seq, &created, &b), 0);
    assert_int_equal(seq, 4);
    assert_int_equal(created, 14);
    assert_string_equal(da_buf_str(&b), "fourth report");
    assert_int_equal(agent_spool_dropped(s), 3);
    assert_int_equal(count_files("quarantine", "0000"), 3);
    assert_int_equal(count_files("", "notes.txt"), 1); /* not ours: left alone */
    agent_spool_close(s);
    da_buf_free(&e);
    da_buf_free(&b);
}

static void test_replace_keeps_place(void **state)
{
    struct agent_spool *s = NULL;
    struct da_buf b;
    uint64_t seq, created;

    (void)state;
    da_buf_init(&b, 0);
    assert_int_equal(agent_spool_open(dir, 10, 1 << 20, &s), 0);
    put_text(s, "old quote", 500);
    put_text(s, "later", 600);
    assert_int_equal(agent_spool_replace(s, 1, "new quote, longer", 17), 0);
    assert_int_equal(agent_spool_replace(s, 9, "x", 1), DA_ERR_NOT_FOUND);
    assert_int_equal(agent_spool_peek(s, &seq, &created, &b), 0);
    assert_int_equal(seq, 1);
    assert_int_equal(created, 500);
    assert_string_equal(da_buf_str(&b), "new quote, longer");
    agent_spool_close(s);
    da_buf_free(&b);
}

static void test_single_owner(void **state)
{
    struct agent_spool *a = NULL, *b = NULL;

    (void)state;
    assert_int_equal(agent_spool_open(dir, 10, 1 << 20, &a), 0);
    assert_int_equal(agent_spool_open(dir, 10, 1 << 20, &b), DA_ERR_SPOOL);
    assert_null(b);
    agent_spool_close(a);
    assert_int_equal(agent_spool_open(dir, 10, 1 << 20, &b), 0);
    agent_spool_close(b);
    assert_int_equal(agent_spool_open(dir, 0, 1 << 20, &b), DA_ERR_INVALID_ARG);
}

static void test_entry_format(void **state)
{
    struct da_buf e;
    const unsigned char *p;
    uint64_t seq, created;
    size_t n;
    unsigned char *copy;

    (void)state;
    da_buf_init(&e, 0);
    assert_int_equal(agent_spool_entry_encode(42, 1700000000, "payload", 7, &e), 0);
    assert_int_equal(da_buf_len(&e), AGENT_SPOOL_HEADER_LEN + 7);
    assert_memory_equal(da_buf_data(&e), "DASPOOL1", 8);
    assert_int_equal(
        agent_spool_entry_parse(da_buf_data(&e), da_buf_len(&e), &seq, &created, &p, &n), 0);
    assert_int_equal(seq, 42);
    assert_int_equal(created, 1700000000);
    assert_int_equal(n, 7);
    assert_memory_equal(p, "payload", 7);
    assert_int_equal(
        agent_spool_entry_parse(da_buf_data(&e), da_buf_len(&e) - 1, &seq, &created, &p, &n),
        DA_ERR_SPOOL_CORRUPT);
    assert_null(p);
    copy = malloc(da_buf_len(&e) + 1);
    assert_non_null(copy);
    memcpy(copy, da_buf_data(&e), da_buf_len(&e));
    copy[da_buf_len(&e)] = 0;
    assert_int_equal(agent_spool_entry_parse(copy, da_buf_len(&e) + 1, &seq, &created, &p, &n),
                     DA_ERR_SPOOL_CORRUPT);
    copy[10] ^= 0x80; /* the sequence is covered by the digest too */
    assert_int_equal(agent_spool_entry_parse(copy, da_buf_len(&e), &seq, &created, &p, &n),
                     DA_ERR_SPOOL_CORRUPT);
    free(copy);
    assert_int_equal(
        agent_spool_entry_parse((const unsigned char *)"DASPOOL1", 8, &seq, &created, &p, &n),
        DA_ERR_SPOOL_CORRUPT);
    da_buf_free(&e);
}

/* A writer that never stops: payloads of varied sizes, bounds that force
 * drops, so that kills land in every step of put. */
static void writer_loop(unsigned seed)
{
    struct agent_spool *s = NULL;
    unsigned char *buf = malloc(300000);
    size_t i;

    if (buf == NULL || agent_spool_open(dir, 6, 2u << 20, &s) != 0)
        _exit(3);
    for (i = 0; i < 300000; i++)
        buf[i] = (unsigned char)(i * 31 + seed);
    for (;;) {
        size_t len = 1 + (size_t)(rand_r(&seed) % 300000);

        if (agent_spool_put(s, buf, len, (uint64_t)time(NULL), NULL) != 0)
            _exit(4);
    }
}

static void test_sigkill_while_writing(void **state)
{
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    struct agent_spool *s = NULL;
    struct da_buf b;
    int round, status, total = 0;

    (void)state;
    da_buf_init(&b, 0);
    print_message("seed %u\n", seed);
    for (round = 0; round < 30; round++) {
        uint64_t *seqs = NULL, created;
        size_t n, i;
        unsigned wseed = seed + (unsigned)round;
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0)
            writer_loop(wseed);
        usleep(2000 + (useconds_t)(rand_r(&seed) % 25000));
        assert_int_equal(kill(pid, SIGKILL), 0);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

        /* Every entry a reader can see is whole. */
        assert_int_equal(agent_spool_open(dir, 6, 2u << 20, &s), 0);
        assert_int_equal(agent_spool_list(s, &seqs, &n), 0);
        assert_true(n <= 6);
        for (i = 0; i < n; i++) {
            int r = agent_spool_read(s, seqs[i], &created, &b);

            if (r != 0)
                fail_msg("round %d: entry %llu unreadable after SIGKILL (%d)", round,
                         (unsigned long long)seqs[i], r);
            assert_true(da_buf_len(&b) >= 1);
            assert_int_equal(da_buf_data(&b)[0], (unsigned char)wseed);
        }
        total += (int)n;
        free(seqs);
        agent_spool_close(s);
        seed = seed * 1103515245u + 12345u;
        assert_int_equal(count_files("quarantine", ""), 0);
        assert_int_equal(count_files("", ".tmp-"), 0);
        remove_tree(dir);
    }
    print_message("%d entries checked after 30 kills\n", total);
    da_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_order_and_reopen, fresh),
        cmocka_unit_test_setup(test_count_bound_and_drops, fresh),
        cmocka_unit_test_setup(test_byte_bound, fresh),
        cmocka_unit_test_setup(test_corrupt_entries_quarantined, fresh),
        cmocka_unit_test_setup(test_replace_keeps_place, fresh),
        cmocka_unit_test_setup(test_single_owner, fresh),
        cmocka_unit_test(test_entry_format),
        cmocka_unit_test_setup(test_sigkill_while_writing, fresh),
    };

    da_log_set_level(DA_LOG_ERROR);
    return cmocka_run_group_tests(tests, setup, teardown);
}
