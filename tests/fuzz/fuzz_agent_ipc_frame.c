/* The privilege-separation frame decoder on arbitrary bytes: once as a
 * single frame in memory, once as a stream through a socketpair served by
 * the dispatch loop. Every input must end in acceptance or a clean error. */
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_target.h"
#include "ipc.h"
#include "log.h"

static int count_frame(void *ctx, int fd, const unsigned char *p, size_t n)
{
    size_t *total = ctx;

    (void)fd;
    if (n != 0 && p == NULL)
        __builtin_trap();
    *total += n;
    return 0;
}

static int stop(void *ctx, int fd, const unsigned char *p, size_t n)
{
    (void)ctx;
    (void)fd;
    (void)p;
    (void)n;
    return AGENT_IPC_STOP;
}

static const struct agent_ipc_handler table[] = {
    {1, 0, AGENT_IPC_ONCE, count_frame},
    {2, 64, AGENT_IPC_MANY, count_frame},
    {3, 4096, AGENT_IPC_ONCE, count_frame},
    {4, 0, AGENT_IPC_MANY, stop},
};

static void discard(enum da_log_level level, const char *line, void *ctx)
{
    (void)level;
    (void)line;
    (void)ctx;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    da_log_set_sink(discard, NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const unsigned char *payload;
    size_t plen, total = 0;
    uint32_t type;
    int sv[2];

    if (agent_ipc_frame_decode(data, size, table, 4, &type, &payload, &plen) == 0) {
        if (plen > 4096 || payload != data + AGENT_IPC_HEADER_LEN)
            __builtin_trap();
    }
    /* The stream path: bounded so that the socket buffer never fills. */
    if (size > 65536)
        return 0;
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return 0;
    if (size != 0 && write(sv[0], data, size) != (ssize_t)size) {
        close(sv[0]);
        close(sv[1]);
        return 0;
    }
    close(sv[0]);
    (void)agent_ipc_serve(sv[1], table, 4, &total);
    if (total > size)
        __builtin_trap();
    close(sv[1]);
    return 0;
}
