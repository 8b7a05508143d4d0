/* Firewall facts against real packets.
 *
 * Each case builds two network namespaces joined by a veth pair (addresses
 * from the documentation ranges 192.0.2.0/24 and 2001:db8::/64 only, static
 * neighbours, nothing routed anywhere else), loads a ruleset into the first
 * with nft, iptables-nft, iptables-legacy or ufw, opens TCP and UDP
 * listeners there and probes them from the second namespace. The packets
 * are the oracle: the agent's `collect` in the first namespace must report,
 * for IPv4 and for IPv6 separately, the inbound default and the open ports
 * the packets show, and the shipped check isolation.firewall (for each
 * family on its own, and as a whole) must give the verdict the packets
 * give. Cases whose tool is missing are skipped with the reason. */
#include "da_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "policy.h"
#include "tmptree.h"

#define SHIPPED DA_SOURCE_ROOT "/common/policies/iso27001-2022-devenv.json"
#define AGENT   DA_BINARY_ROOT "/agent/devattest-agent"
/* With DA_FW_DUMP_DIR set, each case's ruleset is also written there as the
 * live probe reads it (tests/fuzz/corpus/nft_eval is made that way). */

#define UNLISTED    4444 /* a port no ruleset names */
#define PROBE_MS    2000 /* the probes (all at once) wait at most this long */
#define LISTEN_SECS 60   /* a listener ends by itself after this */
#define MAX_PORTS   8
#define CMD_TIMEOUT "timeout 30 "

enum loader { NFT, SHELL, UFW };

struct fw_case {
    const char *name;
    enum loader how;
    const char *text;       /* nft ruleset, shell commands run in the namespace, or ufw commands */
    const char *needs;      /* program that must exist, or NULL */
    int ports[MAX_PORTS];   /* ports the ruleset names, probed too (0 ends) */
    int unknown4, unknown6; /* the honest answer is unknown for that family */
};

/* ---- rulesets ---- */

static const struct fw_case cases[] = {
    {"empty ruleset", NFT, "flush ruleset\n", NULL, {0}, 0, 0},
    {"policy accept ending in drop",
     NFT,
     "table inet filter {\n"
     "  chain input { type filter hook input priority 0; policy accept;\n"
     "    ct state established,related accept\n"
     "    iifname \"lo\" accept\n"
     "    tcp dport 22 accept\n"
     "    counter drop\n  }\n}\n",
     NULL,
     {22},
     0,
     0},
    {"policy accept ending in reject",
     NFT,
     "table inet filter {\n"
     "  chain input { type filter hook input priority 0; policy accept;\n"
     "    ct state established,related accept\n"
     "    udp dport 53 accept\n"
     "    tcp dport { 22, 80 } accept\n"
     "    reject with icmpx admin-prohibited\n  }\n}\n",
     NULL,
     {22, 53, 80},
     0,
     0},
    {"jump to a user chain that drops",
     NFT,
     "table inet filter {\n"
     "  chain deny_rest { log prefix \"deny \" limit rate 3/second\n    counter drop\n  }\n"
     "  chain input { type filter hook input priority 0; policy accept;\n"
     "    tcp dport 22 accept\n"
     "    jump deny_rest\n  }\n}\n",
     NULL,
     {22},
     0,
     0},
    {"policy drop with an early accept-all",
     NFT,
     "table inet filter {\n"
     "  chain input { type filter hook input priority 0; policy drop;\n"
     "    ct state established,related accept\n"
     "    counter accept\n"
     "    tcp dport 22 accept\n  }\n}\n",
     NULL,
     {22},
     0,
     0},
    {"accept by incoming interface",
     NFT,
     "table inet filter {\n"
     "  chain input { type filter hook input priority 0; policy drop;\n"
     "    iifname \"fwa0\" accept\n  }\n}\n",
     NULL,
     {0},
     0,
     0},
    {"interface-specific rules",
     NFT,
     "table inet filter {\n"
     "  chain input { type filter hook input priority 0; policy drop;\n"
     "    iif \"lo\" accept\n"
     "    iifname \"fwz9\" accept\n"
     "    iifname \"fwa*\" tcp dport 22 accept\n"
     "    iifname != \"fwa0\" udp dport 53 accept\n  }\n}\n",
     NULL,
     {22, 53},
     0,
     0},
    {"drop at netdev ingress",
     NFT,
     "table netdev edge {\n"
     "  chain ingress { type filter hook ingress device \"fwa0\" priority 0; policy accept;\n"
     "    meta l4proto tcp tcp dport != 22 drop\n"
     "    meta l4proto udp drop\n  }\n}\n",
     NULL,
     {22},
     0,
     0},
    {"drop at prerouting, IPv4 only",
     NFT,
     "table ip raw {\n"
     "  chain pre { type filter hook prerouting priority -300; policy accept;\n"
     "    tcp dport 22 accept\n"
     "    meta l4proto { tcp, udp } drop\n  }\n}\n",
     NULL,
     {22},
     0,
     0},
    {"dormant table",
     NFT,
     "table inet filter {\n  flags dormant\n"
     "  chain input { type filter hook input priority 0; policy drop; }\n}\n",
     NULL,
     {0},
     0,
     0},
    {"ip6-only drop table",
     NFT,
     "table ip6 filter {\n"
     "  chain input { type filter hook input priority 0; policy drop;\n"
     "    tcp dport 22 accept\n  }\n}\n",
     NULL,
     {22},
     0,
     0},
    {"two tables with base chains on the input hook",
     NFT,
     "table inet a {\n"
     "  chain input { type filter hook input priority 0; policy accept;\n"
     "    tcp dport 22 accept\n  }\n}\n"
     "table inet b {\n"
     "  chain input { type filter hook input priority 10; policy drop;\n"
     "    tcp dport 80 accept\n  }\n}\n",
     NULL,
     {22, 80},
     0,
     0},
    {"sets, ranges and a verdict map",
     NFT,
     "table inet filter {\n"
     "  set blocked { type ipv4_addr; flags interval; elements = { 203.0.113.0/24 } }\n"
     "  chain input { type filter hook input priority 0; policy drop;\n"
     "    ip saddr @blocked drop\n"
     "    tcp dport vmap { 22 : accept, 1000-2000 : accept, 23 : drop }\n"
     "    udp dport 5000-5010 accept\n  }\n}\n",
     NULL,
     {22, 23, 1000, 5000},
     0,
     0},
    /* Modelled on the nftables ruleset firewalld (not runnable here: it
     * needs D-Bus) loads for its default public zone: accept the
     * established, loopback and allowed services, reject everything else. */
    {"firewalld-like public zone",
     NFT,
     "table inet firewalld {\n"
     "  chain filter_PREROUTING { type filter hook prerouting priority filter + 10; policy "
     "accept;\n"
     "    meta nfproto ipv6 fib saddr . mark . iif oif missing drop\n  }\n"
     "  chain filter_INPUT { type filter hook input priority filter + 10; policy accept;\n"
     "    ct state { established, related } accept\n"
     "    ct status dnat accept\n"
     "    iifname \"lo\" accept\n"
     "    ct state invalid drop\n"
     "    jump filter_INPUT_POLICIES\n"
     "    reject with icmpx admin-prohibited\n  }\n"
     "  chain filter_INPUT_POLICIES {\n"
     "    iifname \"fwa0\" jump filter_IN_public\n"
     "    iifname \"fwa0\" reject with icmpx admin-prohibited\n"
     "    jump filter_IN_public\n"
     "    reject with icmpx admin-prohibited\n  }\n"
     "  chain filter_IN_public {\n"
     "    jump filter_IN_public_allow\n"
     "    meta l4proto { icmp, ipv6-icmp } accept\n  }\n"
     "  chain filter_IN_public_allow {\n"
     "    tcp dport 22 ct state { new, untracked } accept\n"
     "    ip6 daddr fe80::/64 udp dport 546 ct state { new, untracked } accept\n  }\n}\n",
     NULL,
     {22, 546},
     0,
     0},
    {"iptables-nft REJECT",
     SHELL,
     "for t in iptables-nft ip6tables-nft; do\n"
     "  $t -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT &&\n"
     "  $t -A INPUT -i lo -j ACCEPT &&\n"
     "  $t -A INPUT -p tcp -m multiport --dports 22,80 -j ACCEPT &&\n"
     "  $t -A INPUT -p udp --dport 53 -j ACCEPT &&\n"
     "  $t -A INPUT -j REJECT || exit 1\n"
     "done\n",
     "iptables-nft",
     {22, 53, 80},
     0,
     0},
    {"iptables-nft DROP",
     SHELL,
     "iptables-nft -P INPUT DROP && iptables-nft -A INPUT -m state --state ESTABLISHED -j ACCEPT "
     "&& iptables-nft -A INPUT -p tcp --dport 22 -j ACCEPT &&\n"
     "ip6tables-nft -A INPUT -p udp --dport 53 -j ACCEPT && ip6tables-nft -A INPUT -j DROP\n",
     "iptables-nft",
     {22, 53},
     0,
     0},
    {"iptables-legacy present",
     SHELL,
     "iptables-legacy -A INPUT -p tcp -j DROP && iptables-legacy -A INPUT -p udp -j DROP\n",
     "iptables-legacy",
     {0},
     1,
     0},
    /* What Docker installs: forward-path filtering and NAT, nothing on input. */
    {"Docker-like forward-path rules only",
     SHELL,
     "iptables-nft -N DOCKER && iptables-nft -N DOCKER-USER && iptables-nft -P FORWARD DROP &&\n"
     "iptables-nft -A FORWARD -j DOCKER-USER &&\n"
     "iptables-nft -A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT "
     "&&\n"
     "iptables-nft -A FORWARD -o docker0 -j DOCKER &&\n"
     "iptables-nft -A FORWARD -i docker0 ! -o docker0 -j ACCEPT &&\n"
     "iptables-nft -A FORWARD -i docker0 -o docker0 -j DROP &&\n"
     "iptables-nft -A DOCKER -d 198.51.100.2/32 ! -i docker0 -o docker0 -p tcp --dport 80 -j "
     "ACCEPT &&\n"
     "iptables-nft -A DOCKER-USER -j RETURN &&\n"
     "iptables-nft -t nat -N DOCKER &&\n"
     "iptables-nft -t nat -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER &&\n"
     "iptables-nft -t nat -A POSTROUTING -s 198.51.100.0/24 ! -o docker0 -j MASQUERADE &&\n"
     "iptables-nft -t nat -A DOCKER -i docker0 -j RETURN\n",
     "iptables-nft",
     {0},
     0,
     0},
    {"ufw deny incoming",
     UFW,
     "default deny incoming\nallow 22/tcp\n--force enable\n",
     "ufw",
     {22},
     0,
     0},
    {"ufw allow incoming",
     UFW,
     "default allow incoming\ndeny 23/tcp\n--force enable\n",
     "ufw",
     {23},
     0,
     0},
};

/* ---- namespaces ---- */

static char ns_a[32], ns_b[32], tmpdir[200];

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    int n, st;

    va_start(ap, fmt);
    n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(cmd))
        return -1;
    st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void ns_down(void)
{
    (void)sh("ip netns del %s 2>/dev/null; ip netns del %s 2>/dev/null", ns_a, ns_b);
}

static void ns_up(void)
{
    ns_down();
    assert_int_equal(sh("ip netns add %s && ip netns add %s", ns_a, ns_b), 0);
    assert_int_equal(
        sh("ip link add fwa0 address 02:00:00:00:0a:01 netns %s type veth peer name fwb0 "
           "address 02:00:00:00:0a:02 netns %s",
           ns_a, ns_b),
        0);
    assert_int_equal(sh("ip -n %s link set lo up && ip -n %s link set lo up && "
                        "ip -n %s addr add 192.0.2.1/24 dev fwa0 && "
                        "ip -n %s addr add 2001:db8::1/64 dev fwa0 nodad && "
                        "ip -n %s addr add 192.0.2.2/24 dev fwb0 && "
                        "ip -n %s addr add 2001:db8::2/64 dev fwb0 nodad && "
                        "ip -n %s link set fwa0 up && ip -n %s link set fwb0 up",
                        ns_a, ns_b, ns_a, ns_a, ns_b, ns_b, ns_a, ns_b),
                     0);
    /* static neighbours: no ARP or neighbour discovery a ruleset could drop */
    assert_int_equal(
        sh("ip -n %s neigh add 192.0.2.2 lladdr 02:00:00:00:0a:02 dev fwa0 nud permanent && "
           "ip -n %s neigh add 2001:db8::2 lladdr 02:00:00:00:0a:02 dev fwa0 nud permanent && "
           "ip -n %s neigh add 192.0.2.1 lladdr 02:00:00:00:0a:01 dev fwb0 nud permanent && "
           "ip -n %s neigh add 2001:db8::1 lladdr 02:00:00:00:0a:01 dev fwb0 nud permanent",
           ns_a, ns_a, ns_b, ns_b),
        0);
}

static int enter_ns(const char *name)
{
    char path[128];
    int fd, r;

    snprintf(path, sizeof(path), "/run/netns/%s", name);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    r = setns(fd, CLONE_NEWNET);
    close(fd);
    return r;
}

/* ---- listener (in A) and prober (in B) ---- */

static int bind_one(int v6, int type, int port)
{
    struct sockaddr_in6 a6;
    struct sockaddr_in a4;
    int fd = socket(v6 ? AF_INET6 : AF_INET, type, 0), one = 1;

    if (fd < 0)
        return -1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (v6)
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    memset(&a6, 0, sizeof(a6));
    memset(&a4, 0, sizeof(a4));
    a6.sin6_family = AF_INET6;
    a6.sin6_port = htons((uint16_t)port);
    a4.sin_family = AF_INET;
    a4.sin_port = htons((uint16_t)port);
    if ((v6 ? bind(fd, (struct sockaddr *)&a6, sizeof(a6))
            : bind(fd, (struct sockaddr *)&a4, sizeof(a4))) != 0 ||
        (type == SOCK_STREAM && listen(fd, 16) != 0)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Serve TCP accepts and UDP echoes on every port until killed (bounded). */
static void listener_main(const int *ports, size_t n, int ready_fd)
{
    struct pollfd pf[4 * (MAX_PORTS + 1)];
    int types[4 * (MAX_PORTS + 1)];
    size_t i, k = 0;
    time_t end = time(NULL) + LISTEN_SECS;

    if (enter_ns(ns_a) != 0)
        _exit(2);
    for (i = 0; i < n; i++)
        for (int v6 = 0; v6 < 2; v6++)
            for (int t = 0; t < 2; t++) {
                int type = t ? SOCK_DGRAM : SOCK_STREAM;

                pf[k].fd = bind_one(v6, type, ports[i]);
                if (pf[k].fd < 0)
                    _exit(3);
                pf[k].events = POLLIN;
                types[k++] = type;
            }
    if (write(ready_fd, "r", 1) != 1)
        _exit(4);
    close(ready_fd);
    while (time(NULL) < end) {
        if (poll(pf, k, 500) <= 0)
            continue;
        for (i = 0; i < k; i++) {
            unsigned char buf[64];
            struct sockaddr_storage from;
            socklen_t fl = sizeof(from);
            ssize_t got;

            if ((pf[i].revents & POLLIN) == 0)
                continue;
            if (types[i] == SOCK_STREAM) {
                int c = accept(pf[i].fd, NULL, NULL);

                if (c >= 0)
                    close(c);
                continue;
            }
            got = recvfrom(pf[i].fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
            if (got > 0)
                (void)sendto(pf[i].fd, buf, (size_t)got, 0, (struct sockaddr *)&from, fl);
        }
    }
    _exit(0);
}

static void peer_addr(int v6, int port, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof(*ss));
    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        inet_pton(AF_INET6, "2001:db8::1", &a->sin6_addr);
        *len = sizeof(*a);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;

        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        inet_pton(AF_INET, "192.0.2.1", &a->sin_addr);
        *len = sizeof(*a);
    }
}

/* One probe: a new TCP connection, or a UDP datagram and its echo. */
struct probe {
    int fd, udp, done, ok;
    int *out;
};

static void probe_start(struct probe *p, int v6, int udp, int port, int *out)
{
    struct sockaddr_storage ss;
    socklen_t len;

    memset(p, 0, sizeof(*p));
    p->udp = udp;
    p->out = out;
    *out = 0;
    peer_addr(v6, port, &ss, &len);
    p->fd = socket(v6 ? AF_INET6 : AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK, 0);
    if (p->fd < 0) {
        p->done = 1;
        return;
    }
    if (connect(p->fd, (struct sockaddr *)&ss, len) == 0) {
        if (udp) {
            if (send(p->fd, "ping", 4, 0) != 4)
                p->done = 1;
        } else {
            p->done = p->ok = 1;
        }
    } else if (udp || errno != EINPROGRESS) {
        p->done = 1;
    }
}

/* Every probe at once, until each is answered or PROBE_MS passed: a
 * dropped packet gets no answer, a rejected one an error. */
static void probe_all(struct probe *p, size_t n)
{
    struct pollfd pf[4 * (MAX_PORTS + 1)];
    size_t map[4 * (MAX_PORTS + 1)], i, k;
    struct timespec t0, t1;
    long left = PROBE_MS;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (left > 0) {
        for (i = 0, k = 0; i < n; i++) {
            if (p[i].done)
                continue;
            pf[k].fd = p[i].fd;
            pf[k].events = p[i].udp ? POLLIN : POLLOUT;
            map[k++] = i;
        }
        if (k == 0 || poll(pf, k, (int)left) <= 0)
            break;
        for (i = 0; i < k; i++) {
            struct probe *q = &p[map[i]];
            int err = 0;
            socklen_t el = sizeof(err);
            char b[8];

            if (pf[i].revents == 0)
                continue;
            q->done = 1;
            if (q->udp)
                q->ok = recv(q->fd, b, sizeof(b), 0) == 4;
            else
                q->ok = getsockopt(q->fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0;
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        left = PROBE_MS - ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
    }
    for (i = 0; i < n; i++) {
        *p[i].out = p[i].ok;
        if (p[i].fd >= 0)
            close(p[i].fd);
    }
}

struct oracle {
    int tcp[2][MAX_PORTS + 1], udp[2][MAX_PORTS + 1]; /* [v6][port index] */
};

static void run_oracle(const int *ports, size_t n, struct oracle *o)
{
    int pipefd[2], ready[2];
    pid_t lis, pr;
    char c;
    int st;

    assert_int_equal(pipe(ready), 0);
    lis = fork();
    assert_true(lis >= 0);
    if (lis == 0) {
        close(ready[0]);
        listener_main(ports, n, ready[1]);
    }
    close(ready[1]);
    assert_int_equal(read(ready[0], &c, 1), 1);
    close(ready[0]);
    assert_int_equal(pipe(pipefd), 0);
    pr = fork();
    assert_true(pr >= 0);
    if (pr == 0) {
        close(pipefd[0]);
        if (enter_ns(ns_b) != 0)
            _exit(2);
        struct probe probes[4 * (MAX_PORTS + 1)];
        size_t k = 0;

        for (int v6 = 0; v6 < 2; v6++)
            for (size_t i = 0; i < n; i++) {
                probe_start(&probes[k++], v6, 0, ports[i], &o->tcp[v6][i]);
                probe_start(&probes[k++], v6, 1, ports[i], &o->udp[v6][i]);
            }
        probe_all(probes, k);
        _exit(write(pipefd[1], o, sizeof(*o)) == (ssize_t)sizeof(*o) ? 0 : 3);
    }
    close(pipefd[1]);
    assert_int_equal(read(pipefd[0], o, sizeof(*o)), (ssize_t)sizeof(*o));
    close(pipefd[0]);
    assert_int_equal(waitpid(pr, &st, 0), pr);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    kill(lis, SIGTERM);
    assert_int_equal(waitpid(lis, &st, 0), lis);
}

/* ---- loading a ruleset ---- */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
}

/* A private ufw tree (configuration copied from the package's), so the
 * machine's own /etc/ufw is never touched. */
static void load_ufw(const char *cmds)
{
    char root[256], line[256];
    const char *p = cmds;

    snprintf(root, sizeof(root), "%s/ufw", tmpdir);
    assert_int_equal(sh("rm -rf '%s' && mkdir -p '%s/etc/default' '%s/lib' '%s/usr/share' && "
                        "cp -a /etc/ufw '%s/etc/' && cp -a /etc/default/ufw '%s/etc/default/' && "
                        "cp -a /lib/ufw '%s/lib/' && ln -s /usr/share/ufw '%s/usr/share/ufw'",
                        root, root, root, root, root, root, root, root),
                     0);
    while (*p != '\0') {
        size_t len = strcspn(p, "\n");

        snprintf(line, sizeof(line), "%.*s", (int)len, p);
        assert_int_equal(sh(CMD_TIMEOUT "ip netns exec %s ufw --rootdir='%s' --datadir='%s' %s "
                                        ">/dev/null 2>&1",
                            ns_a, root, root, line),
                         0);
        p += len;
        if (*p == '\n')
            p++;
    }
}

static void load(const struct fw_case *c)
{
    char path[256];

    snprintf(path, sizeof(path), "%s/rules", tmpdir);
    if (c->how == UFW) {
        load_ufw(c->text);
        return;
    }
    write_file(path, c->text);
    if (c->how == NFT)
        assert_int_equal(sh(CMD_TIMEOUT "ip netns exec %s nft -f '%s'", ns_a, path), 0);
    else
        assert_int_equal(sh(CMD_TIMEOUT "ip netns exec %s sh -e '%s' >/dev/null", ns_a, path), 0);
}

/* ---- the agent's facts and the shipped check ---- */

/* The agent's isolation facts in namespace A; with root, from the files
 * below root instead (the configuration fallback). */
static cJSON *collect_isolation(const char *root)
{
    char out[256], opt[300], *text;
    cJSON *doc, *iso;
    FILE *f;
    long n;

    snprintf(out, sizeof(out), "%s/out.json", tmpdir);
    snprintf(opt, sizeof(opt), "--root '%s'", root != NULL ? root : "/");
    assert_int_equal(sh(CMD_TIMEOUT "ip netns exec %s '%s' collect --only isolation --no-cache "
                                    "%s >'%s'",
                        ns_a, AGENT, root != NULL ? opt : "", out),
                     0);
    f = fopen(out, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    text = calloc(1, (size_t)n + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    doc = cJSON_Parse(text);
    free(text);
    assert_non_null(doc);
    iso = cJSON_GetObjectItem(doc, "isolation");
    assert_non_null(iso);
    return doc;
}

/* The shipped check isolation.firewall, whole (family NULL) or with only
 * its conditions on one family's facts. */
static enum da_verdict shipped_check(const cJSON *evidence, const char *family)
{
    struct da_policy *pol = NULL;
    struct da_policy_result *res = NULL;
    char *text, *out;
    cJSON *doc, *checks, *keep, *c, *expr;
    enum da_verdict v = DA_VERDICT_NOT_APPLICABLE;
    FILE *f = fopen(SHIPPED, "rb");
    long n;

    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    rewind(f);
    text = calloc(1, (size_t)n + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    doc = cJSON_Parse(text);
    free(text);
    assert_non_null(doc);
    checks = cJSON_GetObjectItem(doc, "checks");
    keep = NULL;
    cJSON_ArrayForEach(c, checks)
    {
        if (strcmp(cJSON_GetObjectItem(c, "id")->valuestring, "isolation.firewall") == 0)
            keep = c;
    }
    assert_non_null(keep);
    keep = cJSON_Duplicate(keep, 1);
    cJSON_DeleteItemFromObject(doc, "checks");
    if (family != NULL) {
        /* the check's own conditions on that family's facts */
        cJSON *all = cJSON_GetObjectItem(cJSON_GetObjectItem(keep, "expr"), "all"), *item;
        cJSON *mine = cJSON_CreateArray();
        char needle[32];

        snprintf(needle, sizeof(needle), "/firewall/%s/", family);
        assert_non_null(all);
        cJSON_ArrayForEach(item, all)
        {
            const cJSON *ptr = cJSON_GetObjectItem(item, "pointer");

            if (ptr != NULL && strstr(ptr->valuestring, needle) != NULL)
                cJSON_AddItemToArray(mine, cJSON_Duplicate(item, 1));
        }
        assert_true(cJSON_GetArraySize(mine) > 0);
        expr = cJSON_CreateObject();
        cJSON_AddItemToObject(expr, "all", mine);
        cJSON_ReplaceItemInObject(keep, "expr", expr);
    }
    checks = cJSON_CreateArray();
    cJSON_AddItemToArray(checks, keep);
    cJSON_AddItemToObject(doc, "checks", checks);
    out = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    assert_non_null(out);
    assert_int_equal(da_policy_load(out, strlen(out), "shipped firewall check", &pol, NULL), 0);
    free(out);
    assert_int_equal(da_policy_eval(pol, evidence, NULL, &res), 0);
    for (size_t i = 0; i < res->n_checks; i++)
        if (strcmp(res->checks[i].id, "isolation.firewall") == 0)
            v = res->checks[i].verdict;
    da_policy_result_free(res);
    da_policy_free(pol);
    return v;
}

static int in_list(const cJSON *arr, int port)
{
    const cJSON *it;

    cJSON_ArrayForEach(it, arr)
    {
        if (cJSON_IsNumber(it) && it->valueint == port)
            return 1;
    }
    return 0;
}

static int has_program(const char *name)
{
    return sh("command -v %s >/dev/null 2>&1", name) == 0;
}

static void run_case(const struct fw_case *c)
{
    int ports[MAX_PORTS + 1];
    size_t n = 0, i;
    struct oracle o;
    cJSON *doc, *fw;
    int dropped[2];
    static const char *const fam[2] = {"ipv4", "ipv6"};

    print_message("case: %s\n", c->name);
    ports[n++] = UNLISTED;
    for (i = 0; i < MAX_PORTS && c->ports[i] != 0; i++)
        ports[n++] = c->ports[i];
    ns_up();
    load(c);
    if (getenv("DA_FW_DUMP_DIR") != NULL) /* the fuzz corpus is made this way */
        assert_int_equal(sh("ip netns exec %s '%s/tests/da-nft-dump' '%s/%02zu.dump'", ns_a,
                            DA_BINARY_ROOT, getenv("DA_FW_DUMP_DIR"), (size_t)(c - cases)),
                         0);
    memset(&o, 0, sizeof(o));
    run_oracle(ports, n, &o);
    doc = collect_isolation(NULL);
    fw = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "isolation"), "firewall");
    assert_non_null(fw);
    for (int v6 = 0; v6 < 2; v6++) {
        const cJSON *f = cJSON_GetObjectItem(fw, fam[v6]);
        const cJSON *def = cJSON_GetObjectItem(f, "inbound_default");
        enum da_verdict v = shipped_check(doc, fam[v6]);
        int unknown = v6 ? c->unknown6 : c->unknown4;

        dropped[v6] = !o.tcp[v6][0] && !o.udp[v6][0];
        print_message("  %s: packets %s (tcp %d udp %d), fact %s, check %s\n", fam[v6],
                      dropped[v6] ? "dropped" : "accepted", o.tcp[v6][0], o.udp[v6][0],
                      cJSON_IsString(def) ? def->valuestring : "unknown", da_verdict_name(v));
        assert_non_null(f);
        if (unknown) {
            /* the honest answer: rules nftables does not show */
            assert_true(cJSON_IsObject(def));
            assert_int_equal(v, DA_VERDICT_UNKNOWN);
            continue;
        }
        assert_true(cJSON_IsString(def));
        assert_string_equal(def->valuestring, dropped[v6] ? "drop" : "accept");
        assert_int_equal(v, dropped[v6] ? DA_VERDICT_PASS : DA_VERDICT_FAIL);
        for (i = 1; i < n; i++) {
            int open_tcp = in_list(cJSON_GetObjectItem(f, "open_tcp"), ports[i]);
            int open_udp = in_list(cJSON_GetObjectItem(f, "open_udp"), ports[i]);

            print_message("    port %d: tcp packets %d fact %d; udp packets %d fact %d\n", ports[i],
                          o.tcp[v6][i], open_tcp, o.udp[v6][i], open_udp);
            assert_int_equal(open_tcp, o.tcp[v6][i]);
            assert_int_equal(open_udp, o.udp[v6][i]);
        }
    }
    if (c->how == UFW) {
        /* ufw's configuration, read as the fallback, agrees with the live
         * evaluation */
        char root[256];
        cJSON *cdoc, *cfw;

        snprintf(root, sizeof(root), "%s/ufw", tmpdir);
        cdoc = collect_isolation(root);
        cfw = cJSON_GetObjectItem(cJSON_GetObjectItem(cdoc, "isolation"), "firewall");
        assert_string_equal(cJSON_GetObjectItem(cfw, "source")->valuestring, "ufw");
        for (int v6 = 0; v6 < 2; v6++) {
            const cJSON *live =
                cJSON_GetObjectItem(cJSON_GetObjectItem(fw, fam[v6]), "inbound_default");
            const cJSON *conf =
                cJSON_GetObjectItem(cJSON_GetObjectItem(cfw, fam[v6]), "inbound_default");

            print_message("  %s from ufw's configuration: %s\n", fam[v6],
                          cJSON_IsString(conf) ? conf->valuestring : "unknown");
            assert_true(cJSON_IsString(live) && cJSON_IsString(conf));
            assert_string_equal(conf->valuestring, live->valuestring);
        }
        cJSON_Delete(cdoc);
    }
    if (!c->unknown4 && !c->unknown6)
        assert_int_equal(shipped_check(doc, NULL),
                         dropped[0] && dropped[1] ? DA_VERDICT_PASS : DA_VERDICT_FAIL);
    else
        assert_int_not_equal(shipped_check(doc, NULL), DA_VERDICT_PASS);
    cJSON_Delete(doc);
    ns_down();
}

static void test_cases(void **state)
{
    size_t i, ran = 0;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (cases[i].needs != NULL && !has_program(cases[i].needs)) {
            print_message("SKIP case %s: %s is not installed\n", cases[i].name, cases[i].needs);
            continue;
        }
        run_case(&cases[i]);
        ran++;
    }
    print_message("%zu of %zu cases ran\n", ran, sizeof(cases) / sizeof(cases[0]));
    assert_true(ran > 0);
}

static int setup(void **state)
{
    (void)state;
    da_tmptree_make("da-fw", tmpdir, sizeof(tmpdir));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ns_down();
    da_tmptree_remove(tmpdir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
    };

    if (geteuid() != 0 || !has_program("ip") || !has_program("nft") ||
        sh("ip netns add da-fw-probe-%d && ip netns del da-fw-probe-%d", (int)getpid(),
           (int)getpid()) != 0) {
        print_message("SKIP: needs root, ip(8), nft(8) and network namespaces\n");
        return 0;
    }
    snprintf(ns_a, sizeof(ns_a), "da-fw-a-%d", (int)getpid());
    snprintf(ns_b, sizeof(ns_b), "da-fw-b-%d", (int)getpid());
    return cmocka_run_group_tests(tests, setup, teardown);
}
