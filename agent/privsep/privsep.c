/* The parent's side of the privilege-separation protocol, and the helpers
 * both sides use. The children live in signer.c and collector_proc.c. */
#include "privsep.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "caps.h"
#include "collector.h"
#include "err.h"
#include "fields.h"
#include "log.h"
#include "privsep_internal.h"
#include "rootfs.h"

static char last_error[256];

const char *agent_privsep_last_error(void)
{
    return last_error;
}

static void buf_free_all(struct da_buf *a, struct da_buf *b, struct da_buf *c, struct da_buf *d)
{
    da_buf_free(a);
    da_buf_free(b);
    if (c != NULL)
        da_buf_free(c);
    if (d != NULL)
        da_buf_free(d);
}

void agent_identity_info_free(struct agent_identity_info *id)
{
    if (id != NULL)
        buf_free_all(&id->ek_public, &id->ek_cert, &id->ak_public, &id->sk_public);
}

void agent_quote_result_free(struct agent_quote_result *q)
{
    if (q != NULL)
        buf_free_all(&q->attest, &q->signature, &q->pcr_values, &q->evidence);
}

void agent_enroll_answer_free(struct agent_enroll_answer *a)
{
    if (a != NULL)
        buf_free_all(&a->proof, &a->sk_public, &a->certify_attest, &a->certify_signature);
}

int agent_privsep_send_error(int fd, int err, const char *fmt, ...)
{
    struct da_buf b;
    char text[AGENT_MAX_ERROR_TEXT];
    va_list ap;
    int r;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    da_buf_init(&b, 512);
    r = agent_fields_put_u64(&b, (uint64_t)(err < 0 ? -err : -DA_ERR_INTERNAL));
    if (r == 0)
        r = agent_fields_put_str(&b, text);
    if (r == 0)
        r = agent_ipc_send(fd, AGENT_MSG_ERROR, da_buf_data(&b), da_buf_len(&b));
    da_buf_free(&b);
    return r;
}

/* An AGENT_MSG_ERROR payload: the code (range-checked) and its text. */
static int decode_error(const struct da_buf *b)
{
    static const size_t caps[] = AGENT_MSG_CAPS(ERROR);
    struct agent_field f[AGENT_MSG_N(ERROR)];
    uint64_t code;

    if (agent_fields_split(da_buf_data(b), da_buf_len(b), AGENT_MSG_N(ERROR), caps, f) != 0 ||
        agent_field_u64(&f[0], &code) != 0 ||
        agent_field_str(&f[1], last_error, sizeof(last_error)) != 0)
        return DA_ERR_IPC;
    if (code == 0 || code > 799)
        return DA_ERR_IPC;
    return -(int)code;
}

/* The end of a call: a broken channel kills the child; an ERROR answer is
 * returned as its code. */
static int call_end(struct agent_child *c, int r, uint32_t got, const struct da_buf *answer)
{
    if (r != 0) {
        /* A broken channel means a broken (or hostile) child: it is killed,
         * never trusted to finish. */
        da_error_f("the %s failed: %s", c->name, da_strerror(r));
        agent_child_kill(c);
        return r;
    }
    if (got == AGENT_MSG_ERROR) {
        r = decode_error(answer);
        if (r == DA_ERR_IPC)
            agent_child_kill(c);
        else
            da_debug_f("the %s answered: %s", c->name, last_error);
        return r;
    }
    return 0;
}

int agent_privsep_call(struct agent_child *c, uint32_t type, const struct da_buf *req,
                       uint32_t ok_type, uint32_t ok_cap, struct da_buf *answer)
{
    const struct agent_ipc_handler answers[] = {
        {ok_type, ok_cap, AGENT_IPC_MANY, NULL},
        AGENT_MSG_ROW(ERROR, NULL),
    };
    uint32_t got = 0;
    int r;

    last_error[0] = '\0';
    if (c->fd < 0)
        return DA_ERR_IPC_CLOSED;
    r = agent_ipc_call(c->fd, type, req != NULL ? da_buf_data(req) : NULL,
                       req != NULL ? da_buf_len(req) : 0, answers, 2, AGENT_CHILD_TIMEOUT, &got,
                       answer);
    return call_end(c, r, got, answer);
}

int agent_privsep_wait_ready(struct agent_child *c)
{
    static const struct agent_ipc_handler first[] = {
        AGENT_MSG_ROW(READY, NULL),
        AGENT_MSG_ROW(ERROR, NULL),
    };
    struct da_buf b;
    uint32_t got = 0;
    int r;

    last_error[0] = '\0';
    da_buf_init(&b, 0);
    r = agent_ipc_recv(c->fd, first, 2, AGENT_CHILD_TIMEOUT, &got, &b);
    if (r == 0 && got == AGENT_MSG_ERROR)
        r = decode_error(&b);
    da_buf_free(&b);
    if (r != 0) {
        if (last_error[0] == '\0')
            snprintf(last_error, sizeof(last_error), "the %s did not start: %s", c->name,
                     da_strerror(r));
        agent_child_stop(c, 5000, NULL);
    }
    return r;
}

int agent_privsep_take(const struct agent_field *f, struct da_buf *out, size_t cap)
{
    da_buf_free(out);
    da_buf_init(out, cap);
    return da_buf_append(out, f->data, f->len);
}

/* ---- signer requests ---- */

int agent_signer_identity(struct agent_child *signer, struct agent_identity_info *out)
{
    static const size_t caps[] = AGENT_MSG_CAPS(IDENTITY_OK);
    struct agent_field f[AGENT_MSG_N(IDENTITY_OK)];
    struct da_buf ans;
    int r;

    memset(out, 0, sizeof(*out));
    da_buf_init(&ans, 0);
    r = agent_privsep_call(signer, AGENT_MSG_IDENTITY, NULL, AGENT_MSG_IDENTITY_OK,
                           AGENT_MSG_LEN(IDENTITY_OK), &ans);
    if (r == 0)
        r = agent_fields_split(da_buf_data(&ans), da_buf_len(&ans), AGENT_MSG_N(IDENTITY_OK), caps,
                               f);
    if (r == 0)
        r = agent_field_str(&f[0], out->trust, sizeof(out->trust));
    if (r == 0)
        r = agent_privsep_take(&f[1], &out->ek_public, AGENT_MAX_TPM_BLOB);
    if (r == 0)
        r = agent_privsep_take(&f[2], &out->ek_cert, AGENT_MAX_TPM_BLOB);
    if (r == 0)
        r = agent_privsep_take(&f[3], &out->ak_public, AGENT_MAX_TPM_BLOB);
    if (r == 0)
        r = agent_privsep_take(&f[4], &out->sk_public, AGENT_MAX_TPM_BLOB);
    da_buf_free(&ans);
    if (r != 0)
        agent_identity_info_free(out);
    return r;
}

/* A QUOTE_OK answer into out. */
static int quote_answer(const struct da_buf *ans, struct agent_quote_result *out)
{
    static const size_t caps[] = AGENT_MSG_CAPS(QUOTE_OK);
    struct agent_field f[AGENT_MSG_N(QUOTE_OK)];
    int r;

    r = agent_fields_split(da_buf_data(ans), da_buf_len(ans), AGENT_MSG_N(QUOTE_OK), caps, f);
    if (r == 0)
        r = agent_privsep_take(&f[0], &out->attest, AGENT_MAX_TPM_BLOB);
    if (r == 0)
        r = agent_privsep_take(&f[1], &out->signature, AGENT_MAX_TPM_BLOB);
    if (r == 0)
        r = agent_privsep_take(&f[2], &out->pcr_values, AGENT_MAX_PCR_VALUES);
    if (r == 0)
        r = agent_privsep_take(&f[3], &out->evidence, DA_MAX_EVIDENCE);
    if (r == 0 && f[4].len != sizeof(out->mac))
        r = DA_ERR_IPC;
    if (r == 0)
        memcpy(out->mac, f[4].data, sizeof(out->mac));
    return r;
}

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int collector_state_put(struct agent_child *c, const struct da_buf *b);

/* The collector's STATE_PUTs while the signer, which asked it for the
 * evidence, has not answered: one deadline for the whole call. */
static int signer_call_serving(struct agent_child *signer, struct agent_child *collector,
                               uint32_t type, const struct da_buf *req, struct da_buf *answer)
{
    const struct agent_ipc_handler answers[] = {
        AGENT_MSG_ROW(QUOTE_OK, NULL),
        AGENT_MSG_ROW(ERROR, NULL),
    };
    const struct agent_ipc_handler puts[] = {AGENT_MSG_ROW(STATE_PUT, NULL)};
    long long deadline = now_ms() + AGENT_CHILD_TIMEOUT;
    uint32_t got = 0;
    int r;

    last_error[0] = '\0';
    if (signer->fd < 0)
        return DA_ERR_IPC_CLOSED;
    r = agent_ipc_send(signer->fd, type, da_buf_data(req), da_buf_len(req));
    while (r == 0) {
        struct pollfd p[2] = {{signer->fd, POLLIN, 0}, {collector->fd, POLLIN, 0}};
        long long left = deadline - now_ms();
        int k;

        if (left <= 0) {
            r = DA_ERR_TIMEOUT;
            break;
        }
        k = poll(p, collector->fd >= 0 ? 2 : 1, (int)left);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            r = k == 0 ? DA_ERR_TIMEOUT : DA_ERR_IO;
            break;
        }
        if (p[0].revents != 0) {
            r = agent_ipc_recv(signer->fd, answers, 2, (int)left, &got, answer);
            break;
        }
        r = agent_ipc_recv(collector->fd, puts, 1, (int)left, &got, answer);
        if (r == 0)
            r = collector_state_put(collector, answer);
        if (r != 0) {
            /* The collector broke the protocol: it goes; the signer then
             * reports the evidence as unavailable. */
            da_error_f("the %s failed: %s", collector->name, da_strerror(r));
            agent_child_kill(collector);
            r = 0;
        }
    }
    return call_end(signer, r, got, answer);
}

int agent_signer_quote(struct agent_child *signer, struct agent_child *collector,
                       const unsigned char *nonce, size_t nonce_len, const char *pcr_selection,
                       uint64_t spool_dropped, struct agent_quote_result *out)
{
    struct da_buf req, ans;
    int r;

    memset(out, 0, sizeof(*out));
    da_buf_init(&req, AGENT_MSG_LEN(QUOTE));
    da_buf_init(&ans, 0);
    r = agent_fields_put(&req, nonce, nonce_len);
    if (r == 0)
        r = agent_fields_put_str(&req, pcr_selection);
    if (r == 0)
        r = agent_fields_put_u64(&req, spool_dropped);
    if (r == 0)
        r = signer_call_serving(signer, collector, AGENT_MSG_QUOTE, &req, &ans);
    if (r == 0)
        r = quote_answer(&ans, out);
    da_buf_free(&req);
    da_buf_free(&ans);
    if (r != 0)
        agent_quote_result_free(out);
    return r;
}

int agent_signer_requote(struct agent_child *signer, const unsigned char *nonce, size_t nonce_len,
                         const char *pcr_selection, const char *evidence, size_t evidence_len,
                         const unsigned char mac[AGENT_SPOOL_MAC_LEN],
                         struct agent_quote_result *out)
{
    struct da_buf req, ans;
    int r;

    memset(out, 0, sizeof(*out));
    da_buf_init(&req, AGENT_MSG_LEN(REQUOTE));
    da_buf_init(&ans, 0);
    r = agent_fields_put(&req, nonce, nonce_len);
    if (r == 0)
        r = agent_fields_put_str(&req, pcr_selection);
    if (r == 0)
        r = agent_fields_put(&req, evidence, evidence_len);
    if (r == 0)
        r = agent_fields_put(&req, mac, AGENT_SPOOL_MAC_LEN);
    if (r == 0)
        r = agent_privsep_call(signer, AGENT_MSG_REQUOTE, &req, AGENT_MSG_QUOTE_OK,
                               AGENT_MSG_LEN(QUOTE_OK), &ans);
    if (r == 0)
        r = quote_answer(&ans, out);
    da_buf_free(&req);
    da_buf_free(&ans);
    if (r != 0)
        agent_quote_result_free(out);
    return r;
}

int agent_signer_enroll(struct agent_child *signer, const char *challenge_id,
                        const unsigned char *blob, size_t blob_len, const unsigned char *secret,
                        size_t secret_len, struct agent_enroll_answer *out)
{
    static const size_t caps[] = AGENT_MSG_CAPS(ENROLL_OK);
    struct agent_field f[AGENT_MSG_N(ENROLL_OK)];
    struct da_buf req, ans;
    int r;

    memset(out, 0, sizeof(*out));
    da_buf_init(&req, AGENT_MSG_LEN(ENROLL));
    da_buf_init(&ans, 0);
    r = agent_fields_put_str(&req, challenge_id);
    if (r == 0)
        r = agent_fields_put(&req, blob, blob_len);
    if (r == 0)
        r = agent_fields_put(&req, secret, secret_len);
    if (r == 0)
        r = agent_privsep_call(signer, AGENT_MSG_ENROLL, &req, AGENT_MSG_ENROLL_OK,
                               AGENT_MSG_LEN(ENROLL_OK), &ans);
    if (r == 0)
        r = agent_fields_split(da_buf_data(&ans), da_buf_len(&ans), AGENT_MSG_N(ENROLL_OK), caps,
                               f);
    if (r == 0)
        r = agent_privsep_take(&f[0], &out->proof, AGENT_MAX_PROOF);
    if (r == 0)
        r = agent_privsep_take(&f[1], &out->sk_public, AGENT_MAX_TPM_BLOB);
    if (r == 0)
        r = agent_privsep_take(&f[2], &out->certify_attest, AGENT_MAX_TPM_BLOB);
    if (r == 0)
        r = agent_privsep_take(&f[3], &out->certify_signature, AGENT_MAX_TPM_BLOB);
    da_buf_free(&req);
    da_buf_free(&ans);
    if (r != 0)
        agent_enroll_answer_free(out);
    return r;
}

/* ---- collector requests ---- */

/* The only files the collector may have written: its caches and its record. */
static const char *const collector_state_names[] = {
    COL_STATE_PATCHES_CACHE,
    COL_STATE_PENDING_SEEN,
    COL_STATE_TOOLCHAIN_CACHE,
    COL_STATE_AGENT_CACHE,
};

/* A STATE_PUT: the name must be one of the list (compared whole, so no path
 * can get through); the content is written as it is, never parsed here (the
 * collector checks it strictly when it reads it back). A refusal is fatal
 * for the collector; a failed write only costs it its cache. */
static int collector_state_put(struct agent_child *c, const struct da_buf *b)
{
    static const size_t caps[] = AGENT_MSG_CAPS(STATE_PUT);
    struct agent_field f[AGENT_MSG_N(STATE_PUT)];
    char name[AGENT_MAX_STATE_NAME + 1];
    size_t i;
    int r, known = 0;

    r = agent_fields_split(da_buf_data(b), da_buf_len(b), AGENT_MSG_N(STATE_PUT), caps, f);
    if (r == 0)
        r = agent_field_str(&f[0], name, sizeof(name));
    for (i = 0; r == 0 && i < sizeof(collector_state_names) / sizeof(collector_state_names[0]); i++)
        known |= strcmp(name, collector_state_names[i]) == 0;
    if (r != 0 || !known || c->state_dir == NULL) {
        if (r == 0) {
            for (i = 0; name[i] != '\0'; i++)
                if (name[i] < 0x20 || name[i] > 0x7e)
                    name[i] = '?';
        }
        c->state_refused++;
        da_error_f("the %s asked to write the state file \"%s\": refused", c->name,
                   r == 0 ? name : "(malformed)");
        return DA_ERR_IPC;
    }
    r = col_state_write_file(c->state_dir, name, f[1].data, f[1].len);
    if (r != 0)
        da_warn_f("%s/%s: cannot be written: %s", c->state_dir, name,
                  r == DA_ERR_SYSTEM ? strerror(da_rootfs_errno()) : da_strerror(r));
    return 0;
}

/* A request to the collector: its state files may come before the answer. */
static int collector_call(struct agent_child *c, uint32_t type, const struct da_buf *req,
                          uint32_t ok_type, uint32_t ok_cap, struct da_buf *answer)
{
    const struct agent_ipc_handler answers[] = {
        {ok_type, ok_cap, AGENT_IPC_MANY, NULL},
        AGENT_MSG_ROW(ERROR, NULL),
        AGENT_MSG_ROW(STATE_PUT, NULL),
    };
    long long deadline = now_ms() + AGENT_CHILD_TIMEOUT;
    uint32_t got = 0;
    int r;

    last_error[0] = '\0';
    if (c->fd < 0)
        return DA_ERR_IPC_CLOSED;
    r = agent_ipc_send(c->fd, type, req != NULL ? da_buf_data(req) : NULL,
                       req != NULL ? da_buf_len(req) : 0);
    while (r == 0) {
        /* One limit for the whole request, however many frames come. */
        long long left = deadline - now_ms();

        r = left > 0 ? agent_ipc_recv(c->fd, answers, 3, (int)left, &got, answer) : DA_ERR_TIMEOUT;
        if (r != 0 || got != AGENT_MSG_STATE_PUT)
            break;
        r = collector_state_put(c, answer);
    }
    return call_end(c, r, got, answer);
}

static int collector_text(struct agent_child *c, uint32_t type, const char *arg, uint32_t ok_type,
                          size_t cap, struct da_buf *out)
{
    const size_t one_cap[1] = {cap};
    struct agent_field f[1];
    struct da_buf req, ans;
    int r;

    da_buf_free(out);
    da_buf_init(out, cap);
    da_buf_init(&req, AGENT_MSG_LEN(COLLECT));
    da_buf_init(&ans, 0);
    r = arg != NULL ? agent_fields_put_str(&req, arg) : 0;
    if (r == 0)
        r = collector_call(c, type, arg != NULL ? &req : NULL, ok_type, (uint32_t)cap + 4u, &ans);
    if (r == 0)
        r = agent_fields_split(da_buf_data(&ans), da_buf_len(&ans), 1, one_cap, f);
    if (r == 0)
        r = da_buf_append(out, f[0].data, f[0].len);
    da_buf_free(&req);
    da_buf_free(&ans);
    return r;
}

int agent_collector_collect(struct agent_child *collector, const char *areas,
                            struct da_buf *evidence)
{
    return collector_text(collector, AGENT_MSG_COLLECT, areas != NULL ? areas : "",
                          AGENT_MSG_COLLECT_OK, DA_MAX_EVIDENCE, evidence);
}

int agent_collector_inventory(struct agent_child *collector, struct da_buf *inventory)
{
    return collector_text(collector, AGENT_MSG_INVENTORY, NULL, AGENT_MSG_INVENTORY_OK,
                          AGENT_MAX_INVENTORY, inventory);
}
