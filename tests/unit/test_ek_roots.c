/* The TPM makers' EK CA certificates shipped in packaging/ek-roots: every
 * file loads, and the certificates the server calls expired (or expiring
 * within the warning window) are exactly those `openssl x509 -checkend`
 * calls so. The warning names the subject and notAfter. */
#include "da_test.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ek_roots.h"
#include "err.h"
#include "log.h"
#include "tmp_tree.h"

#define SHIPPED DA_SOURCE_ROOT "/packaging/ek-roots"

/* `openssl x509 -noout -checkend SECONDS -in FILE`: 1 when the certificate
 * expires within SECONDS, 0 when not, -1 when openssl failed otherwise. */
static int openssl_checkend(const char *file, long seconds)
{
    char secs[32];
    int status;
    pid_t pid;

    snprintf(secs, sizeof(secs), "%ld", seconds);
    pid = fork();
    if (pid == 0) {
        if (freopen("/dev/null", "w", stdout) == NULL)
            _exit(126);
        execlp("openssl", "openssl", "x509", "-noout", "-checkend", secs, "-in", file,
               (char *)NULL);
        _exit(127);
    }
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status) == 0 ? 0 : WEXITSTATUS(status) == 1 ? 1 : -1;
}

static const struct srv_ek_ca *find_ca(const struct srv_ek_roots *r, const char *file)
{
    size_t i;

    for (i = 0; i < r->n; i++) {
        if (strcmp(r->cas[i].file, file) == 0)
            return &r->cas[i];
    }
    return NULL;
}

static char log_lines[64][512];
static int nlog;

static void sink(enum da_log_level level, const char *line, void *ctx)
{
    (void)ctx;
    if (level == DA_LOG_WARN && nlog < 64)
        snprintf(log_lines[nlog++], sizeof(log_lines[0]), "%s", line);
}

static void test_shipped_expiry_matches_openssl(void **state)
{
    const char *paths[1] = {SHIPPED};
    struct srv_ek_roots r;
    struct dirent *de;
    time_t now = time(NULL);
    int files = 0, expired = 0, expiring = 0, i, logged;
    DIR *d;

    (void)state;
    assert_int_equal(srv_ek_roots_load(paths, 1, now, &r), 0);
    assert_non_null(r.trust);
    d = opendir(SHIPPED);
    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        char file[512];
        const struct srv_ek_ca *c;
        size_t len = strlen(de->d_name);
        int gone, soon;

        if (len < 5 || strcmp(de->d_name + len - 4, ".pem") != 0)
            continue;
        snprintf(file, sizeof(file), "%s/%s", SHIPPED, de->d_name);
        c = find_ca(&r, de->d_name);
        if (c == NULL)
            fail_msg("%s was not loaded", de->d_name);
        gone = openssl_checkend(file, 0);
        soon = openssl_checkend(file, (long)SRV_EK_ROOTS_WARN_DAYS * 86400);
        assert_true(gone >= 0 && soon >= 0);
        if (c->expired != gone)
            fail_msg("%s: expired %d, openssl says %d", de->d_name, c->expired, gone);
        if (c->expiring != (soon && !gone))
            fail_msg("%s: expiring %d, openssl says %d", de->d_name, c->expiring, soon && !gone);
        files++;
        expired += gone;
        expiring += soon && !gone;
    }
    closedir(d);
    /* One certificate per shipped file. */
    assert_int_equal((size_t)files, r.n);
    assert_true(files >= 40);
    print_message("%d shipped EK CA certificates, %d expired, %d expiring within %d days\n", files,
                  expired, expiring, SRV_EK_ROOTS_WARN_DAYS);

    /* Each expired one is logged with its subject and notAfter. */
    nlog = 0;
    da_log_set_sink(sink, NULL);
    srv_ek_roots_log(&r);
    da_log_set_sink(NULL, NULL);
    assert_int_equal(nlog, expired + expiring);
    for (i = 0, logged = 0; (size_t)i < r.n; i++) {
        const struct srv_ek_ca *c = &r.cas[i];
        int j;

        if (!c->expired)
            continue;
        for (j = 0; j < nlog; j++) {
            if (strstr(log_lines[j], "expired") != NULL && strstr(log_lines[j], c->subject) &&
                strstr(log_lines[j], "notAfter ") != NULL && strstr(log_lines[j], c->file))
                logged++;
        }
    }
    assert_int_equal(logged, expired);
    srv_ek_roots_clear(&r, 1);
}

/* A file that is not PEM fails the whole load (DA_ERR_EK_ROOTS) and leaves
 * no trust behind; a missing directory is skipped. */
static void test_damaged_file_refused(void **state)
{
    char dir[256], file[300];
    const char *paths[2];
    struct srv_ek_roots r;

    (void)state;
    assert_int_equal(da_test_tmpdir("da-ekroots", dir, sizeof(dir)), 0);
    assert_int_equal(da_test_write(dir, "broken.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n"), 0);
    paths[0] = SHIPPED;
    paths[1] = dir;
    assert_int_equal(srv_ek_roots_load(paths, 2, time(NULL), &r), DA_ERR_EK_ROOTS);
    assert_null(r.trust);
    assert_int_equal(r.n, 0);
    snprintf(file, sizeof(file), "%s/absent", dir);
    paths[1] = file;
    assert_int_equal(srv_ek_roots_load(paths, 2, time(NULL), &r), 0);
    assert_non_null(r.trust);
    srv_ek_roots_clear(&r, 1);
    assert_int_equal(da_test_rmtree(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_expiry_matches_openssl),
        cmocka_unit_test(test_damaged_file_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
