#include "swtpm_harness.h"
#include "tmp_tree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef DA_SOURCE_ROOT
#error "DA_SOURCE_ROOT must be defined by the build"
#endif

static int harness_run(const char *verb, const char *dir)
{
    char script[PATH_MAX];
    pid_t pid;
    int status;

    if (snprintf(script, sizeof(script), "%s/tests/support/swtpm-harness", DA_SOURCE_ROOT) >=
        (int)sizeof(script))
        return -1;
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execl("/bin/bash", "bash", script, verb, dir, (char *)NULL);
        _exit(127);
    }
    if (waitpid(pid, &status, 0) < 0)
        return -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static void copy_value(char *dst, size_t n, const char *v)
{
    snprintf(dst, n, "%s", v);
}

static int harness_read_env(struct da_test_swtpm *t)
{
    char path[PATH_MAX + 8], line[PATH_MAX + 32];
    FILE *f;
    int got = 0;

    snprintf(path, sizeof(path), "%s/env", t->dir);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        char *eq = strchr(line, '='), *nl = strchr(line, '\n');
        if (eq == NULL)
            continue;
        if (nl != NULL)
            *nl = '\0';
        *eq++ = '\0';
        if (strcmp(line, "TCTI") == 0)
            copy_value(t->tcti, sizeof(t->tcti), eq), got |= 1;
        else if (strcmp(line, "PORT") == 0)
            t->port = (int)strtol(eq, NULL, 10), got |= 2;
        else if (strcmp(line, "PID") == 0)
            t->pid = (pid_t)strtol(eq, NULL, 10), got |= 4;
        else if (strcmp(line, "CA_ROOT") == 0)
            copy_value(t->ca_root, sizeof(t->ca_root), eq), got |= 8;
        else if (strcmp(line, "CA_ISSUER") == 0)
            copy_value(t->ca_issuer, sizeof(t->ca_issuer), eq), got |= 16;
    }
    fclose(f);
    return got == 31 ? 0 : -1;
}

static int swtpm_start_verb(struct da_test_swtpm *t, const char *verb)
{
    memset(t, 0, sizeof(*t));
    if (da_test_tmpdir("da-swtpm", t->dir, sizeof(t->dir)) != 0)
        return -1;
    if (harness_run(verb, t->dir) != 0 || harness_read_env(t) != 0) {
        da_test_swtpm_stop(t);
        return -1;
    }
    /* Killed at exit if the test ends before it stops the TPM. */
    da_test_track_pid(t->pid);
    return 0;
}

int da_test_swtpm_start(struct da_test_swtpm *t)
{
    return swtpm_start_verb(t, "start");
}

int da_test_swtpm_start_no_ek_cert(struct da_test_swtpm *t)
{
    return swtpm_start_verb(t, "start-no-ek-cert");
}

int da_test_swtpm_restart(struct da_test_swtpm *t)
{
    da_test_untrack_pid(t->pid);
    if (harness_run("stop", t->dir) != 0 || harness_run("start", t->dir) != 0)
        return -1;
    if (harness_read_env(t) != 0)
        return -1;
    da_test_track_pid(t->pid);
    return 0;
}

void da_test_swtpm_stop(struct da_test_swtpm *t)
{
    if (t->dir[0] == '\0')
        return;
    (void)harness_run("clean", t->dir);
    da_test_untrack_pid(t->pid);
    (void)da_test_rmtree(t->dir);
    t->dir[0] = '\0';
}
