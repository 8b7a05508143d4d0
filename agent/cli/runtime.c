#include "runtime.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "commands.h"
#include "caps.h"
#include "err.h"
#include "eventlog.h"
#include "file.h"
#include "ima_increment.h"
#include "json.h"
#include "log.h"
#include "privsep.h"
#include "sandbox.h"
#include "tpm.h"

int agent_runtime_config(struct agent_runtime *rt, const char *path, int allow_missing)
{
    struct da_kvconf_error err;
    char msg[640];
    int r;

    memset(rt, 0, sizeof(*rt));
    rt->signer.pid = rt->collector.pid = rt->firewall.pid = rt->listener.pid = -1;
    rt->signer.fd = rt->collector.fd = rt->firewall.fd = rt->listener.fd = -1;
    snprintf(rt->config_path, sizeof(rt->config_path), "%s",
             path != NULL ? path : AGENT_CONFIG_DEFAULT_PATH);
    r = agent_config_load(&rt->cfg, rt->config_path, &err);
    if (r == DA_ERR_NOT_FOUND && allow_missing) {
        agent_config_free(&rt->cfg);
        r = agent_config_defaults(&rt->cfg);
        if (r == 0)
            r = agent_config_parse(&rt->cfg, "", 0, rt->config_path, &err);
    }
    if (r != 0) {
        da_kvconf_error_format(&err, msg, sizeof(msg));
        fprintf(stderr, "devattest-agent: %s\n", msg);
        return AGENT_EXIT_CONFIG;
    }
    da_log_set_level((enum da_log_level)rt->cfg.log_level);
    r = agent_user_resolve(rt->cfg.user, &rt->user, msg, sizeof(msg));
    /* Whoever may write the configuration decides what the agent reads,
     * where it sends reports and which user it becomes. */
    if (r == 0 && access(rt->config_path, F_OK) == 0)
        r = agent_file_check(rt->config_path, &rt->user, msg, sizeof(msg));
    if (r != 0) {
        fprintf(stderr, "devattest-agent: %s\n", msg);
        return AGENT_EXIT_CONFIG;
    }
    return AGENT_EXIT_OK;
}

const char *agent_runtime_server(const struct agent_runtime *rt)
{
    if (rt->cfg.server_url[0] != '\0')
        return rt->cfg.server_url;
    return rt->have_enrollment ? rt->enr.server_url : NULL;
}

static int start_transport(struct agent_runtime *rt)
{
    struct agent_transport_opts o;
    const char *url = agent_runtime_server(rt);

    if (url == NULL) {
        fprintf(stderr, "devattest-agent: no server: set server_url in %s\n", rt->config_path);
        return DA_ERR_CONFIG;
    }
    memset(&o, 0, sizeof(o));
    o.base_url = url;
    o.ca_file = rt->cfg.server_ca;
    o.allow_http = rt->cfg.allow_http_loopback;
    if (strcmp(rt->cfg.server_ca, "system") != 0 && access(rt->cfg.server_ca, R_OK) != 0) {
        fprintf(stderr, "devattest-agent: server_ca %s: %s\n", rt->cfg.server_ca, strerror(errno));
        return DA_ERR_CONFIG;
    }
    return agent_transport_new(&o, &rt->transport);
}

static int child_failed(const char *what, int r)
{
    const char *why = agent_privsep_last_error();

    fprintf(stderr, "devattest-agent: %s: %s\n", what, why[0] != '\0' ? why : da_strerror(r));
    return r;
}

/* The state and spool directories (made when missing, given to the agent's
 * user) and the signer's own directory in the state directory. */
static int check_dirs(struct agent_runtime *rt, unsigned parts)
{
    char why[PATH_MAX + 256], signer_dir[PATH_MAX];
    int r;

    r = agent_dir_check(rt->cfg.state_dir, &rt->user, 1, why, sizeof(why));
    if (r == 0 && (parts & AGENT_RT_SPOOL))
        r = agent_dir_check(rt->cfg.spool_dir, &rt->user, 1, why, sizeof(why));
    if (r == 0 && (parts & AGENT_RT_SIGNER)) {
        if (snprintf(signer_dir, sizeof(signer_dir), "%s/" AGENT_SIGNER_DIR, rt->cfg.state_dir) >=
            (int)sizeof(signer_dir))
            return DA_ERR_INVALID_ARG;
        r = agent_dir_check(signer_dir, &rt->user, 1, why, sizeof(why));
    }
    if (r != 0)
        fprintf(stderr, "devattest-agent: refusing to start: %s\n", why);
    return r;
}

/* PID 1's environment needs ptrace-level access, which no agent process
 * keeps: read here, before anything drops, for the collector. Unreadable
 * (started without the privilege): the collector reports it unknown. */
static void read_pid1_environ(struct da_buf *out)
{
    if (da_file_read("/proc/1/environ", DA_MAX_SMALL_SYSFILE, out) != 0)
        da_buf_free(out);
}

/* attest_socket, bound and listening, mode 0660, group attest_group
 * (made as root before any process drops). *fd stays -1 when the socket's
 * directory does not exist: attest is then not served (logged). */
static int attest_socket_open(struct agent_runtime *rt, int *fd, unsigned *gid)
{
    const char *path = rt->cfg.attest_socket;
    const char *slash = strrchr(path, '/');
    struct group *g;
    struct sockaddr_un a;
    char dir[sizeof(a.sun_path)];
    struct stat st;

    *fd = -1;
    if (slash == NULL || strlen(path) >= sizeof(a.sun_path))
        return DA_ERR_CONFIG;
    snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    if (stat(dir[0] != '\0' ? dir : "/", &st) != 0) {
        da_warn_f("attest_socket: %s: %s; attest requests are not served", dir, strerror(errno));
        return 0;
    }
    g = getgrnam(rt->cfg.attest_group);
    if (g == NULL) {
        fprintf(stderr, "devattest-agent: attest_group %s: no such group\n", rt->cfg.attest_group);
        return DA_ERR_CONFIG;
    }
    *gid = (unsigned)g->gr_gid;
    if (lstat(path, &st) == 0 && (!S_ISSOCK(st.st_mode) || unlink(path) != 0)) {
        fprintf(stderr, "devattest-agent: attest_socket %s exists and is not a stale socket\n",
                path);
        return DA_ERR_CONFIG;
    }
    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    memcpy(a.sun_path, path, strlen(path));
    *fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (*fd < 0 || bind(*fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        chown(path, rt->user.switch_ids ? rt->user.uid : (uid_t)-1, g->gr_gid) != 0 ||
        chmod(path, 0660) != 0 || listen(*fd, 16) != 0) {
        fprintf(stderr, "devattest-agent: attest_socket %s: %s\n", path, strerror(errno));
        if (*fd >= 0)
            close(*fd);
        *fd = -1;
        return DA_ERR_IO;
    }
    return 0;
}

/* The attest listener and its channel to the signer (whose end goes into
 * o for the signer's spawn). */
static int attest_prepare(struct agent_runtime *rt, struct agent_spawn_opts *o, int att[2],
                          int *lfd)
{
    int r = attest_socket_open(rt, lfd, &o->attest_gid);

    if (r != 0 || *lfd < 0)
        return r;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, att) != 0)
        return DA_ERR_IO;
    o->attest = 1;
    o->attest_fd = att[0];
    o->attest_listen_fd = *lfd;
    return 0;
}

static int spawn_children(struct agent_runtime *rt, unsigned parts)
{
    struct agent_spawn_opts o;
    struct da_buf env;
    int ev[2] = {-1, -1}, fw[2] = {-1, -1}, att[2] = {-1, -1}, lfd = -1, r = 0;

    memset(&o, 0, sizeof(o));
    o.user = rt->user.switch_ids ? &rt->user : NULL;
    o.evidence_fd = o.firewall_fd = -1;
    da_buf_init(&env, 0);
    if ((parts & AGENT_RT_ATTEST) && (parts & AGENT_RT_SIGNER))
        r = attest_prepare(rt, &o, att, &lfd);
    /* The collector<->signer and collector<->firewall reader channels: the
     * uploader keeps no end of either. */
    if ((parts & AGENT_RT_SIGNER) && (parts & AGENT_RT_COLLECTOR) &&
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ev) != 0)
        r = DA_ERR_IO;
    if (r == 0 && (parts & AGENT_RT_COLLECTOR) &&
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fw) != 0)
        r = DA_ERR_IO;
    if (r == 0 && (parts & AGENT_RT_COLLECTOR)) {
        o.firewall_fd = fw[0];
        r = agent_firewall_spawn(&rt->cfg, &o, &rt->firewall);
        if (r != 0)
            r = child_failed("firewall reader", r);
    }
    if (r == 0 && (parts & AGENT_RT_SIGNER)) {
        o.firewall_fd = -1;
        o.evidence_fd = ev[0];
        r = agent_signer_spawn_opts(&rt->cfg,
                                    (parts & AGENT_RT_SIGNER_CREATE) ? AGENT_IDENTITY_CREATE
                                                                     : AGENT_IDENTITY_LOAD,
                                    &o, &rt->signer);
        if (r != 0)
            r = child_failed("signer", r);
    }
    if (r == 0 && o.attest) {
        o.attest_fd = att[1];
        r = agent_attest_listener_spawn(&rt->cfg, &o, &rt->listener);
        if (r != 0)
            r = child_failed("attest listener", r);
        else
            da_info_f("serving attest on %s (group %s)", rt->cfg.attest_socket,
                      rt->cfg.attest_group);
    }
    o.attest = 0;
    if (r == 0 && (parts & AGENT_RT_COLLECTOR)) {
        read_pid1_environ(&env);
        o.evidence_fd = ev[1];
        o.firewall_fd = fw[1];
        o.pid1_environ = da_buf_len(&env) > 0 ? &env : NULL;
        r = agent_collector_spawn_opts(&rt->cfg, rt->cfg.collect_root, &o, &rt->collector);
        if (r != 0)
            r = child_failed("collector", r);
    }
    da_buf_free(&env);
    if (ev[0] >= 0) {
        close(ev[0]);
        close(ev[1]);
    }
    if (fw[0] >= 0) {
        close(fw[0]);
        close(fw[1]);
    }
    if (att[0] >= 0) {
        close(att[0]);
        close(att[1]);
    }
    if (lfd >= 0)
        close(lfd);
    return r;
}

int agent_runtime_start(struct agent_runtime *rt, unsigned parts)
{
    int r;

    r = agent_enrollment_load(rt->cfg.state_dir, &rt->enr);
    rt->have_enrollment = r == 0;
    if (r != 0 && r != DA_ERR_NOT_ENROLLED)
        return r;
    if ((parts & AGENT_RT_ENROLLED) && !rt->have_enrollment) {
        fprintf(stderr,
                "devattest-agent: this machine is not enrolled (state directory %s); "
                "run 'devattest-agent enroll' first\n",
                rt->cfg.state_dir);
        return DA_ERR_NOT_ENROLLED;
    }
    if (parts & (AGENT_RT_SIGNER | AGENT_RT_COLLECTOR | AGENT_RT_SPOOL)) {
        r = check_dirs(rt, parts);
        if (r != 0)
            return r;
    }
    /* Children first: the uploader cannot fork once it is confined. */
    r = spawn_children(rt, parts);
    if (r != 0)
        return r;
    if (parts & AGENT_RT_SPOOL) {
        r = agent_spool_open(rt->cfg.spool_dir, rt->cfg.spool_max_reports, rt->cfg.spool_max_bytes,
                             &rt->spool);
        if (r != 0) {
            fprintf(stderr, "devattest-agent: spool %s: %s\n", rt->cfg.spool_dir, da_strerror(r));
            return r;
        }
    }
    if (parts & AGENT_RT_TRANSPORT) {
        r = start_transport(rt);
        if (r != 0)
            return r;
    }
    if (parts & AGENT_RT_SPOOL)
        rt->event_log_error = agent_eventlog_read(
            rt->cfg.test_only_event_log_file[0] != '\0' ? rt->cfg.test_only_event_log_file : NULL,
            &rt->event_log);
    if ((parts & AGENT_RT_SPOOL) &&
        agent_ima_open(rt->cfg.test_only_ima_file[0] != '\0' ? rt->cfg.test_only_ima_file : NULL,
                       &rt->ima_fd) == 0)
        rt->have_ima_fd = 1;
    if (parts & AGENT_RT_CONFINE) {
        const pid_t kids[4] = {rt->signer.pid, rt->collector.pid, rt->firewall.pid,
                               rt->listener.pid};

        agent_sandbox_set_children(kids, 4);
        da_json_memory_cap(AGENT_JSON_MEMORY);
        r = rt->spool != NULL ? agent_spool_keep_dirs(rt->spool, rt->cfg.spool_dir) : 0;
        if (r != 0) {
            fprintf(stderr, "devattest-agent: spool %s: %s\n", rt->cfg.spool_dir, da_strerror(r));
            return r;
        }
        agent_sandbox_set_uploader_dirs(rt->cfg.state_dir, rt->cfg.spool_dir);
        r = agent_sandbox_enter_as(AGENT_SANDBOX_UPLOADER, agent_sandbox_mode_of(rt->cfg.sandbox),
                                   rt->user.switch_ids ? &rt->user : NULL);
        if (r != 0) {
            fprintf(stderr, "devattest-agent: the uploader's sandbox could not be set up\n");
            return r;
        }
    }
    return 0;
}

void agent_runtime_stop(struct agent_runtime *rt)
{
    if (rt->listener.pid > 0)
        agent_child_stop(&rt->listener, 10000, NULL);
    if (rt->signer.pid > 0)
        agent_child_stop(&rt->signer, 10000, NULL);
    if (rt->collector.pid > 0)
        agent_child_stop(&rt->collector, 10000, NULL);
    if (rt->firewall.pid > 0)
        agent_child_stop(&rt->firewall, 10000, NULL);
    agent_transport_free(rt->transport);
    rt->transport = NULL;
    agent_spool_close(rt->spool);
    rt->spool = NULL;
    da_buf_free(&rt->event_log);
    if (rt->have_ima_fd) {
        close(rt->ima_fd);
        rt->have_ima_fd = 0;
    }
    agent_config_free(&rt->cfg);
}

int agent_parse_config_opts(int argc, char **argv, const char *usage, const char **config,
                            int *json)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'c') {
            *config = optarg;
        } else if (c == 'j') {
            *json = 1;
        } else if (c == 'h') {
            fputs(usage, stdout);
            return AGENT_EXIT_OK;
        } else {
            fputs(usage, stderr);
            return AGENT_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fputs(usage, stderr);
        return AGENT_EXIT_USAGE;
    }
    return -1;
}
