#include "server_harness.h"
#include "tmp_tree.h"

#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#define SERVER_BIN DA_BINARY_ROOT "/server/devattest-server"

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    if (f == NULL)
        return -1;
    fputs(text, f);
    return fclose(f) == 0 ? 0 : -1;
}

static int run_capture(char *out, size_t outsize, char *const argv[])
{
    int pipefd[2], status = 0;
    pid_t pid;
    ssize_t n;
    size_t got = 0;

    if (pipe(pipefd) != 0)
        return -1;
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);

        dup2(pipefd[1], 1);
        if (devnull >= 0 && getenv("DA_TEST_VERBOSE") == NULL)
            dup2(devnull, 2);
        close(pipefd[0]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(pipefd[1]);
    for (;;) {
        char chunk[512];

        n = read(pipefd[0], chunk, sizeof(chunk));
        if (n <= 0)
            break;
        if (out != NULL && got + (size_t)n < outsize) {
            memcpy(out + got, chunk, (size_t)n);
            got += (size_t)n;
        }
    }
    if (out != NULL) {
        out[got] = '\0';
        out[strcspn(out, "\n")] = '\0';
    }
    close(pipefd[0]);
    if (waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int da_test_server_cli(struct da_test_server *s, char *out, size_t outsize, ...)
{
    static char bin[] = SERVER_BIN, opt_config[] = "-c"; /* execv wants char * */
    char *argv[24];
    va_list ap;
    int n = 0;
    char *a;

    argv[n++] = bin;
    argv[n++] = opt_config;
    argv[n++] = s->config;
    va_start(ap, outsize);
    while ((a = va_arg(ap, char *)) != NULL && n < 23)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    return run_capture(out, outsize, argv);
}

int da_test_server_reconfigure(struct da_test_server *s, const char *extra_config)
{
    char conf[4096];

    snprintf(conf, sizeof(conf),
             "# test server\nlisten_address = 127.0.0.1\nport = 0\nstate_dir = %s\n"
             "log_level = warn\n%s",
             s->state, extra_config != NULL ? extra_config : "");
    return s->pid > 0 ? -1 : write_text(s->config, conf);
}

int da_test_server_setup(struct da_test_server *s, const char *extra_config)
{
    memset(s, 0, sizeof(*s));
    if (da_test_tmpdir("da-server", s->dir, sizeof(s->dir)) != 0)
        return -1;
    snprintf(s->state, sizeof(s->state), "%s/state", s->dir);
    snprintf(s->config, sizeof(s->config), "%s/server.conf", s->dir);
    snprintf(s->ca, sizeof(s->ca), "%s/ca.pem", s->state);
    snprintf(s->db, sizeof(s->db), "%s/devattest.db", s->state);
    if (da_test_server_reconfigure(s, extra_config) != 0)
        return -1;
    if (da_test_server_cli(s, NULL, 0, "init", "--name", "localhost", "--name", "127.0.0.1",
                           NULL) != 0)
        return -1;
    if (da_test_server_cli(s, s->admin, sizeof(s->admin), "token", "create", "--role", "admin",
                           "--label", "test-admin", NULL) != 0 ||
        da_test_server_cli(s, s->auditor, sizeof(s->auditor), "token", "create", "--role",
                           "auditor", "--label", "test-auditor", NULL) != 0)
        return -1;
    /* the vendors the tests name; tokens are refused for unknown vendors */
    if (da_test_server_cli(s, NULL, 0, "vendor", "create", "acme", NULL) != 0 ||
        da_test_server_cli(s, NULL, 0, "vendor", "create", "globex", NULL) != 0)
        return -1;
    return 0;
}

int da_test_server_twin(struct da_test_server *b, const struct da_test_server *a)
{
    *b = *a;
    b->pid = 0;
    b->port = 0;
    b->base[0] = '\0';
    return da_test_tmpdir("da-server-twin", b->dir, sizeof(b->dir));
}

int da_test_server_start(struct da_test_server *s)
{
    char portfile[PATH_MAX + 16];
    struct timespec ts = {0, 20 * 1000 * 1000};
    int i;

    snprintf(portfile, sizeof(portfile), "%s/port", s->dir);
    unlink(portfile);
    s->pid = fork();
    if (s->pid < 0)
        return -1;
    if (s->pid > 0)
        da_test_track_pid(s->pid); /* killed at exit if the test ends first */
    if (s->pid == 0) {
        da_test_die_with_parent();
        execl(SERVER_BIN, SERVER_BIN, "-c", s->config, "serve", "--port-file", portfile,
              (char *)NULL);
        _exit(127);
    }
    for (i = 0; i < 500; i++) {
        FILE *f = fopen(portfile, "r");
        int status;

        if (f != NULL) {
            int ok = fscanf(f, "%d", &s->port) == 1;

            fclose(f);
            if (ok && s->port > 0) {
                snprintf(s->base, sizeof(s->base), "https://127.0.0.1:%d", s->port);
                return 0;
            }
        }
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            s->pid = 0;
            return -1;
        }
        nanosleep(&ts, NULL);
    }
    da_test_server_kill(s);
    return -1;
}

int da_test_server_stop(struct da_test_server *s)
{
    int status = 0;

    if (s->pid <= 0)
        return -1;
    kill(s->pid, SIGTERM);
    if (waitpid(s->pid, &status, 0) != s->pid)
        return -1;
    da_test_untrack_pid(s->pid);
    s->pid = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void da_test_server_kill(struct da_test_server *s)
{
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    da_test_untrack_pid(s->pid);
    s->pid = 0;
}

void da_test_server_cleanup(struct da_test_server *s)
{
    da_test_server_kill(s);
    if (s->dir[0] != '\0')
        (void)da_test_rmtree(s->dir);
    s->dir[0] = '\0';
}

struct sink {
    char *data;
    size_t len;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    struct sink *k = arg;
    size_t add = size * n;
    char *d = realloc(k->data, k->len + add + 1);

    if (d == NULL)
        return 0;
    memcpy(d + k->len, p, add);
    k->len += add;
    d[k->len] = '\0';
    k->data = d;
    return add;
}

static void capture(const char *method, const char *path, long status, const char *ctype,
                    const char *body)
{
    static int started;
    const char *file = getenv("DA_TEST_API_CAPTURE");
    cJSON *o;
    char *line;
    FILE *f;

    if (file == NULL || file[0] == '\0')
        return;
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "method", method);
    cJSON_AddStringToObject(o, "path", path);
    cJSON_AddNumberToObject(o, "status", (double)status);
    cJSON_AddStringToObject(o, "content_type", ctype);
    cJSON_AddStringToObject(o, "body", body);
    line = cJSON_PrintUnformatted(o);
    f = fopen(file, started ? "a" : "w");
    if (f != NULL && line != NULL) {
        fprintf(f, "%s\n", line);
        started = 1;
    }
    if (f != NULL)
        fclose(f);
    free(line);
    cJSON_Delete(o);
}

void da_test_capture_raw(const char *method, const char *path, const char *raw)
{
    const char *body = strstr(raw, "\r\n\r\n"), *ct;
    char ctype[128] = "";
    long status = 0;

    if (body == NULL || sscanf(raw, "HTTP/1.%*c %ld", &status) != 1)
        return;
    ct = strstr(raw, "\r\nContent-Type: ");
    if (ct != NULL && ct < body)
        snprintf(ctype, sizeof(ctype), "%.*s", (int)strcspn(ct + 16, "\r"), ct + 16);
    capture(method, path, status, ctype, body + 4);
}

int da_test_http(const struct da_test_server *s, const char *method, const char *path,
                 const char *token, const char *ctype, const char *body, size_t body_len,
                 struct da_test_http *out)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    struct sink k = {NULL, 0};
    char url[512], line[256];
    char *ct = NULL;
    CURLcode cc;

    memset(out, 0, sizeof(*out));
    if (c == NULL)
        return -1;
    snprintf(url, sizeof(url), "%s%s", s->base, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CAINFO, s->ca);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &k);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    if (token != NULL) {
        snprintf(line, sizeof(line), "Authorization: Bearer %s", token);
        h = curl_slist_append(h, line);
    }
    if (ctype != NULL) {
        snprintf(line, sizeof(line), "Content-Type: %s", ctype);
        h = curl_slist_append(h, line);
    } else {
        h = curl_slist_append(h, "Content-Type:");
    }
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    cc = curl_easy_perform(c);
    if (cc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
        if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct != NULL)
            snprintf(out->content_type, sizeof(out->content_type), "%s", ct);
        out->body = k.data != NULL ? k.data : strdup("");
        out->len = k.len;
        capture(method, path, out->status, out->content_type, out->body);
    } else {
        free(k.data);
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return cc == CURLE_OK ? 0 : -1;
}

void da_test_http_clear(struct da_test_http *r)
{
    free(r->body);
    memset(r, 0, sizeof(*r));
}

const char *da_test_error_code(const struct da_test_http *r)
{
    static char code[64];
    cJSON *root = r->body != NULL ? cJSON_Parse(r->body) : NULL;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "code");

    snprintf(code, sizeof(code), "%s", cJSON_IsString(c) ? c->valuestring : "");
    cJSON_Delete(root);
    return code;
}
