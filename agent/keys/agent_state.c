#include "agent_state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "file.h"
#include "json.h"
#include "log.h"

#define STATE_FILE_CAP (64u * 1024)

void agent_time_rfc3339(time_t t, char out[32])
{
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, 32, "1970-01-01T00:00:00Z");
}

int agent_state_replace(const char *dir, const char *name, const void *data, size_t len)
{
    int r;

    /* A kept directory exists (and the sandbox refuses mkdir by name). */
    if (da_file_dir_fd(dir) < 0 && mkdir(dir, 0700) != 0 && errno != EEXIST) {
        da_error_f("state directory %s: %s", dir, strerror(errno));
        return DA_ERR_IO;
    }
    r = da_file_write(dir, name, data, len, DA_WRITE_REPLACE);
    if (r != 0)
        da_error_f("writing %s/%s: %s", dir, name, strerror(errno));
    return r;
}

static int read_json(const char *dir, const char *name, cJSON **out)
{
    char path[4096], chunk[4096];
    struct da_buf b;
    ssize_t n;
    int fd, r = 0;

    *out = NULL;
    if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
        return DA_ERR_INVALID_ARG;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? DA_ERR_NOT_FOUND : DA_ERR_IO;
    da_buf_init(&b, STATE_FILE_CAP);
    while (r == 0 && (n = read(fd, chunk, sizeof(chunk))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        r = n < 0 ? DA_ERR_IO : da_buf_append(&b, chunk, (size_t)n);
    }
    close(fd);
    if (r == 0)
        r = da_json_parse(da_buf_str(&b), da_buf_len(&b), STATE_FILE_CAP, out);
    if (r == 0 && !cJSON_IsObject(*out)) {
        cJSON_Delete(*out);
        *out = NULL;
        r = DA_ERR_JSON_TYPE;
    }
    if (r != 0 && r != DA_ERR_NOT_FOUND)
        da_error_f("%s is unreadable: %s", path, da_strerror(r));
    da_buf_free(&b);
    return r;
}

/* A string member into a fixed buffer; missing is allowed when optional. */
static int get_str(const cJSON *o, const char *key, char *out, size_t size, bool optional)
{
    const char *v = NULL;
    int r = da_json_get_string(o, key, &v);

    out[0] = '\0';
    if (r == DA_ERR_JSON_MISSING && optional)
        return 0;
    if (r != 0)
        return r;
    if (strlen(v) >= size)
        return DA_ERR_TOO_LARGE;
    memcpy(out, v, strlen(v) + 1);
    return 0;
}

static int save_json(const char *dir, const char *name, cJSON *o)
{
    char *text;
    int r;

    if (o == NULL)
        return DA_ERR_NOMEM;
    text = cJSON_Print(o);
    cJSON_Delete(o);
    if (text == NULL)
        return DA_ERR_NOMEM;
    r = agent_state_replace(dir, name, text, strlen(text));
    cJSON_free(text);
    return r;
}

int agent_enrollment_save(const char *state_dir, const struct agent_enrollment *e)
{
    cJSON *o = cJSON_CreateObject();

    if (o != NULL && (cJSON_AddStringToObject(o, "agent_id", e->agent_id) == NULL ||
                      cJSON_AddStringToObject(o, "server_url", e->server_url) == NULL ||
                      cJSON_AddStringToObject(o, "pcr_selection", e->pcr_selection) == NULL ||
                      cJSON_AddStringToObject(o, "trust", e->trust) == NULL ||
                      cJSON_AddStringToObject(o, "enrolled_at", e->enrolled_at) == NULL)) {
        cJSON_Delete(o);
        o = NULL;
    }
    return save_json(state_dir, AGENT_ENROLLMENT_FILE, o);
}

int agent_enrollment_load(const char *state_dir, struct agent_enrollment *e)
{
    cJSON *o = NULL;
    int r;

    memset(e, 0, sizeof(*e));
    r = read_json(state_dir, AGENT_ENROLLMENT_FILE, &o);
    if (r == DA_ERR_NOT_FOUND)
        return DA_ERR_NOT_ENROLLED;
    if (r == 0)
        r = get_str(o, "agent_id", e->agent_id, sizeof(e->agent_id), false);
    if (r == 0)
        r = get_str(o, "server_url", e->server_url, sizeof(e->server_url), false);
    if (r == 0)
        r = get_str(o, "pcr_selection", e->pcr_selection, sizeof(e->pcr_selection), false);
    if (r == 0)
        r = get_str(o, "trust", e->trust, sizeof(e->trust), false);
    if (r == 0)
        r = get_str(o, "enrolled_at", e->enrolled_at, sizeof(e->enrolled_at), false);
    cJSON_Delete(o);
    return r;
}

int agent_status_save(const char *state_dir, const struct agent_status *s)
{
    cJSON *o = cJSON_CreateObject();

    if (o != NULL &&
        (cJSON_AddStringToObject(o, "last_attempt", s->last_attempt) == NULL ||
         cJSON_AddStringToObject(o, "result", s->result) == NULL ||
         cJSON_AddStringToObject(o, "error_code", s->error_code) == NULL ||
         cJSON_AddStringToObject(o, "error", s->error) == NULL ||
         cJSON_AddStringToObject(o, "last_report_id", s->last_report_id) == NULL ||
         cJSON_AddStringToObject(o, "last_accepted_at", s->last_accepted_at) == NULL ||
         (s->compliant < 0 ? cJSON_AddNullToObject(o, "compliant")
                           : cJSON_AddBoolToObject(o, "compliant", s->compliant)) == NULL)) {
        cJSON_Delete(o);
        o = NULL;
    }
    return save_json(state_dir, AGENT_STATUS_FILE, o);
}

int agent_status_load(const char *state_dir, struct agent_status *s)
{
    const cJSON *c;
    cJSON *o = NULL;
    int r;

    memset(s, 0, sizeof(*s));
    s->compliant = -1;
    r = read_json(state_dir, AGENT_STATUS_FILE, &o);
    if (r == DA_ERR_NOT_FOUND)
        return 0;
    if (r == 0)
        r = get_str(o, "last_attempt", s->last_attempt, sizeof(s->last_attempt), true);
    if (r == 0)
        r = get_str(o, "result", s->result, sizeof(s->result), true);
    if (r == 0)
        r = get_str(o, "error_code", s->error_code, sizeof(s->error_code), true);
    if (r == 0)
        r = get_str(o, "error", s->error, sizeof(s->error), true);
    if (r == 0)
        r = get_str(o, "last_report_id", s->last_report_id, sizeof(s->last_report_id), true);
    if (r == 0)
        r = get_str(o, "last_accepted_at", s->last_accepted_at, sizeof(s->last_accepted_at), true);
    if (r == 0) {
        c = cJSON_GetObjectItemCaseSensitive(o, "compliant");
        s->compliant = cJSON_IsBool(c) ? cJSON_IsTrue(c) : -1;
    }
    cJSON_Delete(o);
    return r;
}

int agent_pending_save(const char *state_dir, const struct agent_pending *p)
{
    cJSON *o = cJSON_CreateObject();

    if (o != NULL && (cJSON_AddStringToObject(o, "enrollment_id", p->enrollment_id) == NULL ||
                      cJSON_AddStringToObject(o, "server_url", p->server_url) == NULL ||
                      cJSON_AddStringToObject(o, "ek_public_sha256", p->ek_sha256) == NULL ||
                      cJSON_AddStringToObject(o, "since", p->since) == NULL)) {
        cJSON_Delete(o);
        o = NULL;
    }
    return save_json(state_dir, AGENT_PENDING_FILE, o);
}

int agent_pending_clear(const char *state_dir)
{
    struct agent_pending none;

    memset(&none, 0, sizeof(none));
    return agent_pending_save(state_dir, &none);
}

int agent_pending_load(const char *state_dir, struct agent_pending *p)
{
    cJSON *o = NULL;
    int r;

    memset(p, 0, sizeof(*p));
    r = read_json(state_dir, AGENT_PENDING_FILE, &o);
    if (r == 0)
        r = get_str(o, "enrollment_id", p->enrollment_id, sizeof(p->enrollment_id), false);
    if (r == 0)
        r = get_str(o, "server_url", p->server_url, sizeof(p->server_url), false);
    if (r == 0)
        r = get_str(o, "ek_public_sha256", p->ek_sha256, sizeof(p->ek_sha256), false);
    if (r == 0)
        r = get_str(o, "since", p->since, sizeof(p->since), false);
    if (r == 0 && (p->enrollment_id[0] == '\0' ||
                   strspn(p->enrollment_id, "0123456789abcdef") != strlen(p->enrollment_id)))
        r = DA_ERR_NOT_FOUND; /* cleared */
    cJSON_Delete(o);
    return r;
}
