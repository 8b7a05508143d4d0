/* devattest-agent status: what this agent knows about itself, offline. */
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "agent_state.h"
#include "commands.h"
#include "err.h"
#include "runtime.h"

static const char status_usage[] =
    "usage: devattest-agent status [--config FILE] [--json]\n"
    "Show the enrollment, the outcome of the last report and what waits in the\n"
    "spool. Reads only local state; the server is not contacted.\n"
    "  --config FILE  agent configuration (default " AGENT_CONFIG_DEFAULT_PATH ")\n"
    "  --json         print a JSON object\n"
    "exit codes: 0 enrolled and the last report was accepted, 1 otherwise (not\n"
    "            enrolled, no report yet, refused - e.g. revoked -, or spooled),\n"
    "            2 usage error, 3 unusable configuration\n";

/* Entries and bytes waiting, without taking the spool's lock (a running
 * agent holds it). */
static void spool_usage(const char *dir, long *count, long long *bytes)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[4096];
    struct stat st;

    *count = 0;
    *bytes = 0;
    while (d != NULL && (e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);

        if (n != 26 || strcmp(e->d_name + 20, ".entry") != 0)
            continue;
        if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) < (int)sizeof(path) &&
            stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            (*count)++;
            *bytes += st.st_size;
        }
    }
    if (d != NULL)
        closedir(d);
}

/* An enrollment the server holds for approval, if any (not enrolled yet). */
static int pending_of(const struct agent_runtime *rt, int enrolled, struct agent_pending *p)
{
    return !enrolled && agent_pending_load(rt->cfg.state_dir, p) == 0;
}

static int status_json(const struct agent_runtime *rt, int enrolled, const struct agent_status *s,
                       long count, long long bytes)
{
    struct agent_pending p;
    cJSON *j = cJSON_CreateObject(), *sp;
    char *text;

    if (j == NULL)
        return -1;
    cJSON_AddBoolToObject(j, "enrolled", enrolled);
    cJSON_AddStringToObject(j, "agent_id", enrolled ? rt->enr.agent_id : "");
    cJSON_AddStringToObject(j, "server", enrolled ? rt->enr.server_url : rt->cfg.server_url);
    cJSON_AddStringToObject(j, "trust", enrolled ? rt->enr.trust : "");
    cJSON_AddStringToObject(j, "enrolled_at", enrolled ? rt->enr.enrolled_at : "");
    if (pending_of(rt, enrolled, &p)) {
        cJSON *o = cJSON_AddObjectToObject(j, "enrollment_pending");

        cJSON_AddStringToObject(o, "enrollment_id", p.enrollment_id);
        cJSON_AddStringToObject(o, "ek_public_sha256", p.ek_sha256);
        cJSON_AddStringToObject(o, "since", p.since);
    } else {
        cJSON_AddNullToObject(j, "enrollment_pending");
    }
    cJSON_AddStringToObject(j, "last_attempt", s->last_attempt);
    cJSON_AddStringToObject(j, "last_result", s->result);
    cJSON_AddStringToObject(j, "error_code", s->error_code);
    cJSON_AddStringToObject(j, "error", s->error);
    cJSON_AddStringToObject(j, "last_report_id", s->last_report_id);
    cJSON_AddStringToObject(j, "last_accepted_at", s->last_accepted_at);
    if (s->compliant < 0)
        cJSON_AddNullToObject(j, "compliant");
    else
        cJSON_AddBoolToObject(j, "compliant", s->compliant);
    sp = cJSON_AddObjectToObject(j, "spool");
    if (sp != NULL) {
        cJSON_AddNumberToObject(sp, "reports", (double)count);
        cJSON_AddNumberToObject(sp, "bytes", (double)bytes);
    }
    text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (text == NULL)
        return -1;
    puts(text);
    cJSON_free(text);
    return 0;
}

static void status_text(const struct agent_runtime *rt, int enrolled, const struct agent_status *s,
                        long count, long long bytes)
{
    struct agent_pending p;

    if (pending_of(rt, enrolled, &p)) {
        printf("not enrolled: enrollment %s waits for an administrator's approval since %s\n"
               "  EK public key SHA-256 %s\n"
               "  run 'devattest-agent enroll' again once it is approved\n",
               p.enrollment_id, p.since, p.ek_sha256);
    } else if (!enrolled) {
        printf("not enrolled (state directory %s)\n", rt->cfg.state_dir);
    } else {
        printf("agent %s, enrolled %s with %s (keys: %s)\n", rt->enr.agent_id, rt->enr.enrolled_at,
               rt->enr.server_url, rt->enr.trust);
    }
    if (s->result[0] == '\0') {
        printf("no report attempted yet\n");
    } else {
        printf("last report attempt %s: %s\n", s->last_attempt, s->result);
        if (strcmp(s->error_code, "agent_revoked") == 0)
            printf("  the server has REVOKED this agent: its reports are refused; ask the\n"
                   "  server's administrator (devattest-server readmit) or enroll again\n");
        else if (s->error[0] != '\0')
            printf("  %s%s%s%s\n", s->error, s->error_code[0] != '\0' ? " (" : "", s->error_code,
                   s->error_code[0] != '\0' ? ")" : "");
    }
    if (s->last_report_id[0] != '\0')
        printf("last accepted report %s at %s: %s\n", s->last_report_id, s->last_accepted_at,
               s->compliant == 1 ? "compliant" : (s->compliant == 0 ? "NOT compliant" : "?"));
    printf("spool: %ld report(s), %lld bytes waiting\n", count, bytes);
}

static int status_run(int argc, char **argv)
{
    const char *config = NULL;
    struct agent_runtime rt;
    struct agent_status s;
    long count;
    long long bytes;
    int json = 0, r, enrolled;

    r = agent_parse_config_opts(argc, argv, status_usage, &config, &json);
    if (r >= 0)
        return r;
    r = agent_runtime_config(&rt, config, 1);
    if (r != AGENT_EXIT_OK)
        return r;
    enrolled = agent_enrollment_load(rt.cfg.state_dir, &rt.enr) == 0;
    rt.have_enrollment = enrolled;
    if (agent_status_load(rt.cfg.state_dir, &s) != 0)
        memset(&s, 0, sizeof(s));
    spool_usage(rt.cfg.spool_dir, &count, &bytes);
    if (json)
        status_json(&rt, enrolled, &s, count, bytes);
    else
        status_text(&rt, enrolled, &s, count, bytes);
    r = enrolled && strcmp(s.result, "accepted") == 0 ? AGENT_EXIT_OK : AGENT_EXIT_FAILURE;
    agent_runtime_stop(&rt);
    return r;
}

const struct agent_command agent_cmd_status = {
    .name = "status",
    .summary = "show enrollment, the last report's outcome and the spool",
    .usage = status_usage,
    .run = status_run,
};
