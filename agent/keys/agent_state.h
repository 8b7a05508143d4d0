/* What the agent remembers between runs, in its state directory:
 *
 *   enrollment.json  agent id, server, PCR selection, key mode, time; written
 *                    once by `enroll` (replaced by a later enrollment)
 *   sk-cert.pem      the SK certificate the server issued
 *   server-ca.pem    the server CA that issued it
 *   status.json      the outcome of the last report attempt, for `status`
 *   enrollment-pending.json  an enrollment the server holds for an
 *                    administrator's approval (no EK certificate); `enroll`
 *                    resumes it; cleared (empty id) once it is decided
 *
 * Files are written atomically (temporary file, fsync, rename, fsync of the
 * directory), mode 0600, and read strictly (da_json_parse, known members).
 */
#ifndef AGENT_AGENT_STATE_H
#define AGENT_AGENT_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define AGENT_ENROLLMENT_FILE "enrollment.json"
#define AGENT_STATUS_FILE     "status.json"
#define AGENT_PENDING_FILE    "enrollment-pending.json"

struct agent_pending {
    char enrollment_id[64];
    char server_url[1024];
    char ek_sha256[65];
    char since[32];
};

struct agent_enrollment {
    char agent_id[64];
    char server_url[1024];
    char pcr_selection[128];
    char trust[16];
    char enrolled_at[32];
};

struct agent_status {
    char last_attempt[32];
    char result[16]; /* accepted, spooled, refused, error */
    char error_code[64];
    char error[512];
    char last_report_id[80];
    char last_accepted_at[32];
    int compliant; /* 1, 0, or -1 when no report was accepted yet */
};

/* RFC 3339 UTC, e.g. 2026-11-28T12:00:00Z. */
void agent_time_rfc3339(time_t t, char out[32]);

/* Write a file in dir atomically (mode 0600). */
int agent_state_replace(const char *dir, const char *name, const void *data, size_t len);

int agent_enrollment_save(const char *state_dir, const struct agent_enrollment *e);
/* DA_ERR_NOT_ENROLLED when there is no enrollment record. */
int agent_enrollment_load(const char *state_dir, struct agent_enrollment *e);

/* The enrollment held by the server; DA_ERR_NOT_FOUND when there is none
 * (or it was cleared). */
int agent_pending_save(const char *state_dir, const struct agent_pending *p);
int agent_pending_load(const char *state_dir, struct agent_pending *p);
int agent_pending_clear(const char *state_dir);

int agent_status_save(const char *state_dir, const struct agent_status *s);
/* A missing file gives an empty status (result ""), not an error. */
int agent_status_load(const char *state_dir, struct agent_status *s);

#endif
