/* The queries of store.h, over any engine of store_engine.h.
 *
 * Every function here is engine-neutral: SQL in the common subset of SQLite
 * and PostgreSQL, writes as jobs the engine runs inside one transaction,
 * reads on a connection the engine lends. The engines (store_sqlite.c, a
 * PostgreSQL one) own connections, transactions and the schema.
 */
#include "store.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "digest.h"
#include "encoding.h"
#include "err.h"
#include "ima.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "quote.h"
#include "picky.h"
#include "store_engine.h"
#include "store_fleet.h"
#include "store_pack.h"

/* The agents' base records as last seen by this process (report_prep):
 * a slot per agent (by a hash of its id; a collision replaces), the bytes
 * whose SHA-256 is the digest. Only a hint: the writer compares the digest
 * with the agent's pack_base in its transaction and checks that the blob is
 * still stored; a stale or missing entry costs the slow path, never other
 * data. */
#define BASE_CACHE_SLOTS 4096
#define BASE_CACHE_MAX   (64u << 10) /* larger bases are not kept */

struct base_slot {
    char agent_id[SRV_ID_HEX];
    unsigned char digest[32];
    unsigned char *raw;
    size_t len;
};

struct srv_store {
    const struct srv_engine_ops *ops;
    struct srv_engine *eng;
    unsigned stale_after;
    int write_format; /* 1; 0 only to build older databases in tests */
    struct srv_histogram *lat_write, *lat_read;
    uint64_t rstart_us[64];
    pthread_mutex_t base_mu;
    struct base_slot *base; /* BASE_CACHE_SLOTS */
};

/* Staleness and status computed on read, from the same columns everywhere. */
#define AGENT_STATUS_SQL                                                                           \
    "CASE WHEN a.revoked = 1 THEN 'revoked'"                                                       \
    " WHEN (CASE WHEN a.last_verified_at > a.created_at THEN a.last_verified_at"                   \
    " ELSE a.created_at END) < ?1 THEN 'stale'"                                                    \
    " WHEN a.last_verified_at = 0 THEN 'pending'"                                                  \
    " WHEN a.last_compliant = 1 THEN 'compliant' ELSE 'non_compliant' END"

#define AGENT_COLUMNS                                                                              \
    "a.id, a.vendor_id, v.name, a.ek_name, a.ak_name, a.ak_public, a.sk_public, a.host_json,"      \
    " a.revoked, " AGENT_STATUS_SQL                                                                \
    " AS status, a.created_at, a.last_verified_at, a.last_compliant,"                              \
    " a.last_report_id, a.reset_count, a.restart_count, a.clock, a.firmware_version,"              \
    " a.ek_trust, a.ek_issuer, a.ek_serial, a.ek_root"
#define AGENT_NCOLS 22 /* the columns of AGENT_COLUMNS */

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

static uint64_t mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Queue fn as one transaction and wait until it is committed (or failed). */
static int submit(struct srv_store *s, srv_write_fn fn, void *arg)
{
    uint64_t t0 = mono_us();
    int rc = s->ops->write(s->eng, fn, arg);

    srv_histogram_observe_us(s->lat_write, mono_us() - t0);
    return rc;
}

/* The same for a job that locks the rows it relies on (store_engine.h,
 * write_locked). */
static int submit_locked(struct srv_store *s, srv_write_fn fn, void *arg)
{
    uint64_t t0;
    int rc;

    if (s->ops->write_locked == NULL)
        return submit(s, fn, arg);
    t0 = mono_us();
    rc = s->ops->write_locked(s->eng, fn, arg);
    srv_histogram_observe_us(s->lat_write, mono_us() - t0);
    return rc;
}

static struct srv_conn *reader_get(struct srv_store *s, int *slot)
{
    struct srv_conn *c = s->ops->reader_get(s->eng, slot);

    if (*slot >= 0 && *slot < (int)(sizeof(s->rstart_us) / sizeof(s->rstart_us[0])))
        s->rstart_us[*slot] = mono_us();
    return c;
}

static void reader_put(struct srv_store *s, int slot)
{
    if (slot >= 0 && slot < (int)(sizeof(s->rstart_us) / sizeof(s->rstart_us[0])))
        srv_histogram_observe_us(s->lat_read, mono_us() - s->rstart_us[slot]);
    s->ops->reader_put(s->eng, slot);
}

static bool target_is_pg(const char *target)
{
    return strncmp(target, "postgresql://", 13) == 0 || strncmp(target, "postgres://", 11) == 0;
}

int srv_store_open(const char *path, unsigned batch_max, unsigned stale_after,
                   struct srv_store **out)
{
    return srv_store_open_pool(path, batch_max, 0, stale_after, out);
}

int srv_store_lease(struct srv_store *s, enum srv_lease kind, bool *held)
{
    *held = true;
    return s->ops->lease != NULL ? s->ops->lease(s->eng, (unsigned)kind, held) : 0;
}

struct fleet_fill_job {
    struct srv_fleet_cache *cache;
    int64_t since;
    int filled;
    char after[256], next[256];
};

static int fleet_fill_job(struct srv_conn *db, void *arg)
{
    struct fleet_fill_job *j = arg;

    /* a transaction run again starts from the same agent */
    snprintf(j->next, sizeof(j->next), "%s", j->after);
    return srv_fleet_fill_batch(db, j->cache, j->since, 1024, j->next, sizeof(j->next), &j->filled);
}

static int fleet_fold_job(struct srv_conn *db, void *arg)
{
    (void)arg;
    return srv_fleet_fold(db, now_s() - 2 * (int64_t)SRV_FLEET_WINDOW_S);
}

/* The fleet summary's rows that schema 12 added for agents that existed
 * then are filled from their stored reports before the store is used; a
 * batch at a time, each its own transaction, so two instances starting
 * together share the work and an interrupted start resumes. */
static int fleet_fill(struct srv_store *s)
{
    struct fleet_fill_job j;
    int64_t total = 0;
    uint64_t t0 = mono_us();
    int rc;

    memset(&j, 0, sizeof(j));
    j.since = now_s() - SRV_FLEET_WINDOW_S;
    rc = srv_fleet_cache_new(&j.cache);
    while (rc == 0) {
        rc = submit(s, fleet_fill_job, &j);
        total += rc == 0 ? j.filled : 0;
        if (rc != 0 || j.filled == 0)
            break;
        memcpy(j.after, j.next, sizeof(j.after));
    }
    srv_fleet_cache_free(j.cache);
    if (rc == 0 && total > 0) /* one count row per group again */
        rc = submit(s, fleet_fold_job, NULL);
    if (rc == 0 && total > 0)
        da_info_f("fleet summary filled for %lld agent(s) in %.1f s", (long long)total,
                  (double)(mono_us() - t0) / 1e6);
    return rc;
}

int srv_store_open_pool(const char *path, unsigned batch_max, unsigned connections,
                        unsigned stale_after, struct srv_store **out)
{
    struct srv_store *s;
    int rc;

    *out = NULL;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return DA_ERR_NOMEM;
    s->base = calloc(BASE_CACHE_SLOTS, sizeof(*s->base));
    if (s->base == NULL) {
        free(s);
        return DA_ERR_NOMEM;
    }
    pthread_mutex_init(&s->base_mu, NULL);
    s->ops = target_is_pg(path) ? &srv_engine_pg : &srv_engine_sqlite;
    s->stale_after = stale_after;
    s->write_format = 1;
    rc = s->ops->open(path, batch_max, connections, &s->eng);
    if (rc != 0) {
        pthread_mutex_destroy(&s->base_mu);
        free(s->base);
        free(s);
        return rc;
    }
    rc = fleet_fill(s);
    if (rc != 0) {
        srv_store_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

void srv_store_close(struct srv_store *s)
{
    if (s == NULL)
        return;
    s->ops->close(s->eng);
    for (size_t i = 0; i < BASE_CACHE_SLOTS; i++)
        free(s->base[i].raw);
    free(s->base);
    pthread_mutex_destroy(&s->base_mu);
    free(s);
}

/* A one-row integer query on a reader. */
static int read_int64(struct srv_store *s, const char *sql, int64_t *out)
{
    struct srv_stmt *st = NULL;
    int slot, rc;
    struct srv_conn *db = reader_get(s, &slot);

    *out = 0;
    rc = srv_prepare(db, &st, sql, "");
    if (rc == 0) {
        if (srv_step(st) == SRV_ROW)
            *out = srv_col_int64(st, 0);
        else
            rc = DA_ERR_STORE;
        srv_release(st);
    }
    reader_put(s, slot);
    return rc;
}

int srv_store_schema_version(struct srv_store *s, int *version)
{
    int64_t v = 0;
    int rc = read_int64(s, "SELECT coalesce(max(version), 0) FROM schema_version", &v);

    *version = (int)v;
    return rc;
}

int srv_store_integrity_check(struct srv_store *s)
{
    return s->ops->integrity_check(s->eng);
}

int srv_store_bytes(struct srv_store *s, int64_t *bytes)
{
    *bytes = 0;
    return s->ops->bytes(s->eng, bytes);
}

int srv_store_reclaim(struct srv_store *s, unsigned pages, int64_t *left)
{
    *left = 0;
    if (pages == 0 || pages > SRV_RECLAIM_PAGES_MAX)
        return DA_ERR_INVALID_ARG;
    return s->ops->reclaim != NULL ? s->ops->reclaim(s->eng, pages, left) : 0;
}

/* ---- vendors ---- */

struct vendor_job {
    const char *name;
    int64_t id;
};

static int vendor_lookup(struct srv_conn *db, const char *name, int64_t *id)
{
    struct srv_stmt *st = NULL;
    int rc = srv_prepare(db, &st, "SELECT id FROM vendors WHERE name = ?1", "t", name);

    if (rc != 0)
        return rc;
    rc = srv_step(st) == SRV_ROW ? 0 : DA_ERR_NOT_FOUND;
    if (rc == 0)
        *id = srv_col_int64(st, 0);
    srv_release(st);
    return rc;
}

static int vendor_ensure_job(struct srv_conn *db, void *arg)
{
    struct vendor_job *j = arg;

    if (vendor_lookup(db, j->name, &j->id) == 0)
        return 0;
    return srv_one_int64(db, &j->id,
                         "INSERT INTO vendors (name, created_at) VALUES (?1, ?2) RETURNING id",
                         "ti", j->name, now_s());
}

int srv_store_vendor_ensure(struct srv_store *s, const char *name, int64_t *id)
{
    struct vendor_job j = {name, 0};
    int rc;

    if (name == NULL || name[0] == '\0' || strlen(name) >= SRV_MAX_NAME)
        return DA_ERR_INVALID_ARG;
    rc = submit(s, vendor_ensure_job, &j);
    *id = j.id;
    return rc;
}

int srv_store_vendor_find(struct srv_store *s, const char *name, struct srv_vendor *out)
{
    struct srv_stmt *st = NULL;
    int slot, rc;
    struct srv_conn *db = reader_get(s, &slot);

    memset(out, 0, sizeof(*out));
    rc =
        srv_prepare(db, &st, "SELECT id, name, created_at FROM vendors WHERE name = ?1", "t", name);
    if (rc == 0) {
        rc = srv_step(st) == SRV_ROW ? 0 : DA_ERR_NOT_FOUND;
        if (rc == 0) {
            out->id = srv_col_int64(st, 0);
            srv_col_copy(st, 1, out->name, sizeof(out->name));
            out->created_at = srv_col_int64(st, 2);
        }
        srv_release(st);
    }
    reader_put(s, slot);
    return rc;
}

int srv_store_vendors_list(struct srv_store *s, srv_vendor_cb cb, void *ctx)
{
    struct srv_stmt *st = NULL;
    int slot, rc, src;
    struct srv_conn *db = reader_get(s, &slot);

    rc = srv_prepare(db, &st, "SELECT id, name, created_at FROM vendors ORDER BY name", "");
    while (rc == 0 && (src = srv_step(st)) == SRV_ROW) {
        struct srv_vendor v;

        v.id = srv_col_int64(st, 0);
        srv_col_copy(st, 1, v.name, sizeof(v.name));
        v.created_at = srv_col_int64(st, 2);
        rc = cb(&v, ctx);
    }
    srv_release(st);
    reader_put(s, slot);
    return rc;
}

/* ---- tokens ---- */

struct token_job {
    const unsigned char *hash;
    int role;
    const char *vendor;
    const char *label;
    int64_t expires_at;
    int64_t now;
    int64_t vendor_id;
};

static int api_token_put_job(struct srv_conn *db, void *arg)
{
    struct token_job *j = arg;
    struct srv_stmt *st = NULL;
    int64_t vid = 0;
    int rc;

    char id[SRV_TOKEN_ID_SIZE];

    if (j->vendor != NULL) {
        rc = vendor_lookup(db, j->vendor, &vid);
        if (rc != 0)
            return rc == DA_ERR_NOT_FOUND ? DA_ERR_VENDOR_UNKNOWN : rc;
    }
    rc = da_hex_encode_to(j->hash, 8, id, sizeof(id));
    if (rc == 0)
        rc = srv_prepare(
            db, &st,
            "INSERT INTO api_tokens (hash, role, vendor_id, label, created_at, token_id,"
            " expires_at) VALUES (?1, ?2, CASE WHEN ?3 = 0 THEN NULL ELSE ?3 END, ?4, ?5,"
            " ?6, ?7)",
            "biititi", j->hash, (size_t)SRV_HASH_LEN, (int64_t)j->role, vid, j->label, now_s(), id,
            j->expires_at);
    return rc != 0 ? rc : srv_run(st, NULL);
}

int srv_store_api_token_add(struct srv_store *s, const unsigned char hash[SRV_HASH_LEN],
                            enum srv_role role, const char *vendor, const char *label,
                            int64_t expires_at)
{
    struct token_job j = {hash, (int)role, vendor, label != NULL ? label : "", expires_at, 0, 0};

    if ((role == SRV_ROLE_VENDOR) != (vendor != NULL) || expires_at < 0 ||
        strlen(j.label) >= SRV_MAX_NAME)
        return DA_ERR_INVALID_ARG;
    return submit(s, api_token_put_job, &j);
}

int srv_store_api_token_put(struct srv_store *s, const unsigned char hash[SRV_HASH_LEN],
                            enum srv_role role, const char *vendor, const char *label)
{
    return srv_store_api_token_add(s, hash, role, vendor, label, 0);
}

int srv_store_api_token_find(struct srv_store *s, const unsigned char hash[SRV_HASH_LEN],
                             struct srv_principal *out)
{
    struct srv_stmt *st = NULL;
    int slot, rc;
    struct srv_conn *db = reader_get(s, &slot);

    memset(out, 0, sizeof(*out));
    rc = srv_prepare(
        db, &st,
        "SELECT role, coalesce(vendor_id, 0), label, token_id, last_used_at, expires_at,"
        " revoked_at FROM api_tokens WHERE hash = ?1",
        "b", hash, (size_t)SRV_HASH_LEN);
    if (rc == 0) {
        rc = srv_step(st) == SRV_ROW ? 0 : DA_ERR_AUTH_DENIED;
        if (rc == 0) {
            int role = srv_col_int(st, 0);

            /* only the roles this server knows; anything else denies */
            rc = role == SRV_ROLE_ADMIN || role == SRV_ROLE_AUDITOR || role == SRV_ROLE_VENDOR
                     ? 0
                     : DA_ERR_AUTH_DENIED;
            out->role = rc == 0 ? (enum srv_role)role : SRV_ROLE_NONE;
        }
        if (rc == 0) {
            int64_t expires_at = srv_col_int64(st, 5);

            out->vendor_id = srv_col_int64(st, 1);
            srv_col_copy(st, 2, out->label, sizeof(out->label));
            srv_col_copy(st, 3, out->token_id, sizeof(out->token_id));
            out->last_used_at = srv_col_int64(st, 4);
            if (srv_col_int64(st, 6) != 0)
                rc = DA_ERR_API_TOKEN_REVOKED;
            else if (expires_at != 0 && expires_at <= now_s())
                rc = DA_ERR_API_TOKEN_EXPIRED;
        }
        srv_release(st);
    }
    if (rc != 0)
        out->role = SRV_ROLE_NONE;
    reader_put(s, slot);
    return rc;
}

static int enroll_token_put_job(struct srv_conn *db, void *arg)
{
    struct token_job *j = arg;
    struct vendor_job vj = {j->vendor, 0};
    struct srv_stmt *st = NULL;
    int rc = vendor_lookup(db, vj.name, &vj.id);

    if (rc == DA_ERR_NOT_FOUND)
        rc = DA_ERR_VENDOR_UNKNOWN;
    if (rc == 0)
        rc = srv_prepare(
            db, &st, "INSERT INTO enroll_tokens (hash, vendor_id, expires_at) VALUES (?1, ?2, ?3)",
            "bii", j->hash, (size_t)SRV_HASH_LEN, vj.id, j->expires_at);
    return rc != 0 ? rc : srv_run(st, NULL);
}

int srv_store_enroll_token_put(struct srv_store *s, const unsigned char hash[SRV_HASH_LEN],
                               const char *vendor, int64_t expires_at)
{
    struct token_job j = {hash, 0, vendor, NULL, expires_at, 0, 0};

    if (vendor == NULL || vendor[0] == '\0' || strlen(vendor) >= SRV_MAX_NAME)
        return DA_ERR_INVALID_ARG;
    return submit(s, enroll_token_put_job, &j);
}

static int enroll_token_consume_job(struct srv_conn *db, void *arg)
{
    struct token_job *j = arg;
    struct srv_stmt *st = NULL;
    int rc;

    rc = srv_prepare(db, &st,
                     "SELECT vendor_id, expires_at, used_at FROM enroll_tokens WHERE hash = ?1",
                     "b", j->hash, (size_t)SRV_HASH_LEN);
    if (rc != 0)
        return rc;
    if (srv_step(st) != SRV_ROW)
        rc = DA_ERR_TOKEN_INVALID;
    else if (!srv_col_null(st, 2))
        rc = DA_ERR_TOKEN_USED;
    else if (srv_col_int64(st, 1) <= j->now)
        rc = DA_ERR_TOKEN_EXPIRED;
    else
        j->vendor_id = srv_col_int64(st, 0);
    srv_release(st);
    if (rc != 0)
        return rc;
    rc = srv_prepare(db, &st,
                     "UPDATE enroll_tokens SET used_at = ?2 WHERE hash = ?1 AND used_at IS NULL",
                     "bi", j->hash, (size_t)SRV_HASH_LEN, j->now);
    return rc != 0 ? rc : srv_run(st, NULL);
}

int srv_store_enroll_token_consume(struct srv_store *s, const unsigned char hash[SRV_HASH_LEN],
                                   int64_t now, int64_t *vendor_id)
{
    struct token_job j = {hash, 0, NULL, NULL, 0, now, 0};
    int rc = submit(s, enroll_token_consume_job, &j);

    *vendor_id = rc == 0 ? j.vendor_id : 0;
    return rc;
}

/* ---- challenges ---- */

/* "" is stored as NULL (nothing recorded) */
static const char *or_null(const char *text)
{
    return text[0] != '\0' ? text : NULL;
}

/* issuer, serial and root from columns col..col+2 */
static void ek_cert_from_row(struct srv_stmt *st, int col, struct srv_ek_cert *out)
{
    srv_col_copy(st, col, out->issuer, sizeof(out->issuer));
    srv_col_copy(st, col + 1, out->serial, sizeof(out->serial));
    srv_col_copy(st, col + 2, out->root, sizeof(out->root));
}

static int challenge_put_job(struct srv_conn *db, void *arg)
{
    const struct srv_challenge *c = arg;
    struct srv_stmt *st = NULL;
    int rc;

    rc = srv_prepare(db, &st,
                     "INSERT INTO challenges (id, vendor_id, secret, ek_public, ak_public, ek_name,"
                     " ak_name, host_json, expires_at, ek_trust, ek_issuer, ek_serial, ek_root)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                     "tibbbtttitttt", c->id, c->vendor_id, c->secret, (size_t)SRV_HASH_LEN,
                     c->ek_public, c->ek_public_len, c->ak_public, c->ak_public_len, c->ek_name,
                     c->ak_name, c->host_json != NULL ? c->host_json : "{}", c->expires_at,
                     c->ek_trust[0] != '\0' ? c->ek_trust : "manufacturer_chain",
                     or_null(c->ek_cert.issuer), or_null(c->ek_cert.serial),
                     or_null(c->ek_cert.root));
    return rc != 0 ? rc : srv_run(st, NULL);
}

int srv_store_challenge_put(struct srv_store *s, const struct srv_challenge *c)
{
    return submit(s, challenge_put_job, DA_UNCONST(c)); /* the job only reads */
}

struct challenge_take_job {
    const char *id;
    int64_t now;
    struct srv_challenge *c;
};

static int challenge_take_job(struct srv_conn *db, void *arg)
{
    struct challenge_take_job *j = arg;
    struct srv_stmt *st = NULL;
    struct srv_challenge *c;
    unsigned char secret[SRV_HASH_LEN];
    int rc;

    rc = srv_prepare(db, &st,
                     "SELECT vendor_id, secret, ek_public, ak_public, ek_name, ak_name, host_json,"
                     " expires_at, ek_trust, ek_issuer, ek_serial, ek_root FROM challenges"
                     " WHERE id = ?1",
                     "t", j->id);
    if (rc != 0)
        return rc;
    if (srv_step(st) != SRV_ROW || !srv_col_fixed(st, 1, secret, sizeof(secret))) {
        srv_release(st);
        return DA_ERR_CHALLENGE_INVALID;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        srv_release(st);
        return DA_ERR_NOMEM;
    }
    snprintf(c->id, sizeof(c->id), "%s", j->id);
    c->vendor_id = srv_col_int64(st, 0);
    memcpy(c->secret, secret, SRV_HASH_LEN);
    OPENSSL_cleanse(secret, sizeof(secret));
    rc = srv_col_blobdup(st, 2, &c->ek_public, &c->ek_public_len);
    if (rc == 0)
        rc = srv_col_blobdup(st, 3, &c->ak_public, &c->ak_public_len);
    srv_col_copy(st, 4, c->ek_name, sizeof(c->ek_name));
    srv_col_copy(st, 5, c->ak_name, sizeof(c->ak_name));
    c->host_json = srv_col_strdup(st, 6);
    c->expires_at = srv_col_int64(st, 7);
    srv_col_copy(st, 8, c->ek_trust, sizeof(c->ek_trust));
    ek_cert_from_row(st, 9, &c->ek_cert);
    srv_release(st);
    if (rc == 0 && c->host_json == NULL)
        rc = DA_ERR_NOMEM;
    if (rc == 0)
        rc = srv_prepare(db, &st, "DELETE FROM challenges WHERE id = ?1", "t", j->id);
    if (rc == 0)
        rc = srv_run(st, NULL);
    if (rc == 0 && c->expires_at <= j->now)
        rc = DA_ERR_CHALLENGE_INVALID;
    if (rc != 0) {
        srv_challenge_free(c);
        /* An expired challenge is deleted all the same. */
        return rc == DA_ERR_CHALLENGE_INVALID ? 0 : rc;
    }
    j->c = c;
    return 0;
}

int srv_store_challenge_take(struct srv_store *s, const char *id, int64_t now,
                             struct srv_challenge **out)
{
    struct challenge_take_job j = {id, now, NULL};
    int rc;

    *out = NULL;
    rc = submit(s, challenge_take_job, &j);
    if (rc == 0 && j.c == NULL)
        rc = DA_ERR_CHALLENGE_INVALID;
    if (rc == 0)
        *out = j.c;
    else
        srv_challenge_free(j.c);
    return rc;
}

void srv_challenge_free(struct srv_challenge *c)
{
    if (c == NULL)
        return;
    OPENSSL_cleanse(c->secret, sizeof(c->secret));
    free(c->ek_public);
    free(c->ak_public);
    free(c->host_json);
    free(c);
}

/* ---- enrollments held for approval ---- */

struct enrollment_put_job {
    struct srv_enrollment *e;
    const unsigned char *token_hash;
};

/* The token is spent and the enrollment stored in one transaction: a
 * failure leaves the token unspent. */
static int enrollment_put_job(struct srv_conn *db, void *arg)
{
    struct enrollment_put_job *j = arg;
    struct srv_enrollment *e = j->e;
    struct token_job t = {j->token_hash, 0, NULL, NULL, 0, e->created_at, 0};
    struct srv_stmt *st = NULL;
    int rc = enroll_token_consume_job(db, &t);

    if (rc != 0)
        return rc;
    e->vendor_id = t.vendor_id;
    rc = srv_prepare(
        db, &st,
        "INSERT INTO enrollments (id, vendor_id, ek_public, ak_public, ek_name, ak_name,"
        " ek_sha256, host_json, state, created_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', ?9)",
        "tibbtttti", e->id, e->vendor_id, e->ek_public, e->ek_public_len, e->ak_public,
        e->ak_public_len, e->ek_name, e->ak_name, e->ek_sha256,
        e->host_json != NULL ? e->host_json : "{}", e->created_at);
    return rc != 0 ? rc : srv_run(st, NULL);
}

int srv_store_enrollment_hold(struct srv_store *s, const unsigned char token_hash[SRV_HASH_LEN],
                              struct srv_enrollment *e)
{
    struct enrollment_put_job j = {e, token_hash};

    return submit(s, enrollment_put_job, &j);
}

#define ENROLLMENT_COLUMNS                                                                         \
    "e.id, e.vendor_id, v.name, e.ek_public, e.ak_public, e.ek_name, e.ak_name, e.ek_sha256,"      \
    " e.host_json, e.state, e.created_at, e.decided_at, e.decided_by"

static int enrollment_from_row(struct srv_stmt *st, struct srv_enrollment **out)
{
    struct srv_enrollment *e = calloc(1, sizeof(*e));
    int rc;

    *out = NULL;
    if (e == NULL)
        return DA_ERR_NOMEM;
    srv_col_copy(st, 0, e->id, sizeof(e->id));
    e->vendor_id = srv_col_int64(st, 1);
    srv_col_copy(st, 2, e->vendor, sizeof(e->vendor));
    rc = srv_col_blobdup(st, 3, &e->ek_public, &e->ek_public_len);
    if (rc == 0)
        rc = srv_col_blobdup(st, 4, &e->ak_public, &e->ak_public_len);
    srv_col_copy(st, 5, e->ek_name, sizeof(e->ek_name));
    srv_col_copy(st, 6, e->ak_name, sizeof(e->ak_name));
    srv_col_copy(st, 7, e->ek_sha256, sizeof(e->ek_sha256));
    e->host_json = srv_col_strdup(st, 8);
    srv_col_copy(st, 9, e->state, sizeof(e->state));
    e->created_at = srv_col_int64(st, 10);
    e->decided_at = srv_col_int64(st, 11);
    srv_col_copy(st, 12, e->decided_by, sizeof(e->decided_by));
    if (rc == 0 && e->host_json == NULL)
        rc = DA_ERR_NOMEM;
    if (rc != 0) {
        srv_enrollment_free(e);
        return rc;
    }
    *out = e;
    return 0;
}

int srv_store_enrollment_get(struct srv_store *s, const char *id, struct srv_enrollment **out)
{
    struct srv_stmt *st = NULL;
    int slot, rc;
    struct srv_conn *db = reader_get(s, &slot);

    *out = NULL;
    rc = srv_prepare(db, &st,
                     "SELECT " ENROLLMENT_COLUMNS " FROM enrollments e JOIN vendors v"
                     " ON v.id = e.vendor_id WHERE e.id = ?1",
                     "t", id);
    if (rc == 0) {
        rc = srv_step(st) == SRV_ROW ? enrollment_from_row(st, out) : DA_ERR_ENROLL_UNKNOWN;
        srv_release(st);
    }
    reader_put(s, slot);
    return rc;
}

int srv_store_enrollments_list(struct srv_store *s, const char *state, srv_enrollment_cb cb,
                               void *ctx)
{
    struct srv_stmt *st = NULL;
    int slot, rc;
    struct srv_conn *db = reader_get(s, &slot);

    rc = srv_prepare(db, &st,
                     "SELECT " ENROLLMENT_COLUMNS " FROM enrollments e JOIN vendors v"
                     " ON v.id = e.vendor_id WHERE (?1 IS NULL OR e.state = ?1)"
                     " ORDER BY e.created_at, e.id",
                     "t", state);
    while (rc == 0 && srv_step(st) == SRV_ROW) {
        struct srv_enrollment *e = NULL;

        rc = enrollment_from_row(st, &e);
        if (rc == 0)
            rc = cb(e, ctx);
        srv_enrollment_free(e);
    }
    srv_release(st);
    reader_put(s, slot);
    return rc;
}

struct enrollment_decide_job {
    const char *id, *state, *actor;
    int64_t now;
};

static int enrollment_decide_job(struct srv_conn *db, void *arg)
{
    struct enrollment_decide_job *j = arg;
    struct srv_stmt *st = NULL;
    int changes = 0, rc;

    rc = srv_prepare(db, &st,
                     "UPDATE enrollments SET state = ?2, decided_at = ?3, decided_by = ?4"
                     " WHERE id = ?1 AND state = 'pending'",
                     "ttit", j->id, j->state, j->now, j->actor);
    if (rc == 0)
        rc = srv_run(st, &changes);
    if (rc != 0 || changes == 1)
        return rc;
    rc = srv_prepare(db, &st, "SELECT state FROM enrollments WHERE id = ?1", "t", j->id);
    if (rc != 0)
        return rc;
    rc = srv_step(st) == SRV_ROW ? DA_ERR_ENROLL_STATE : DA_ERR_ENROLL_UNKNOWN;
    srv_release(st);
    return rc;
}

int srv_store_enrollment_decide(struct srv_store *s, const char *id, const char *state,
                                const char *actor, int64_t now)
{
    struct enrollment_decide_job j = {id, state, actor, now};

    if (strcmp(state, "approved") != 0 && strcmp(state, "rejected") != 0)
        return DA_ERR_INVALID_ARG;
    return submit(s, enrollment_decide_job, &j);
}

void srv_enrollment_free(struct srv_enrollment *e)
{
    if (e == NULL)
        return;
    free(e->ek_public);
    free(e->ak_public);
    free(e->host_json);
    free(e);
}

/* ---- agents ---- */

static int agent_create_job(struct srv_conn *db, void *arg)
{
    const struct srv_agent *a = arg;
    struct srv_stmt *st = NULL;
    int rc;

    rc = srv_prepare(
        db, &st,
        "INSERT INTO agents (id, vendor_id, ek_name, ak_name, ak_public, sk_public,"
        " host_json, created_at, ek_trust, ek_issuer, ek_serial, ek_root)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        "tittbbtitttt", a->id, a->vendor_id, a->ek_name, a->ak_name, a->ak_public, a->ak_public_len,
        a->sk_public, a->sk_public_len, a->host_json != NULL ? a->host_json : "{}", a->created_at,
        a->ek_trust[0] != '\0' ? a->ek_trust : "manufacturer_chain", or_null(a->ek_cert.issuer),
        or_null(a->ek_cert.serial), or_null(a->ek_cert.root));
    if (rc == 0)
        rc = srv_run(st, NULL);
    return rc != 0 ? rc : srv_fleet_agent_created(db, a->id, a->vendor_id, a->created_at);
}

int srv_store_agent_create(struct srv_store *s, const struct srv_agent *a)
{
    return submit(s, agent_create_job, DA_UNCONST(a)); /* the job only reads */
}

static int agent_from_row(struct srv_stmt *st, struct srv_agent **out)
{
    struct srv_agent *a = calloc(1, sizeof(*a));
    int rc;

    *out = NULL;
    if (a == NULL)
        return DA_ERR_NOMEM;
    srv_col_copy(st, 0, a->id, sizeof(a->id));
    a->vendor_id = srv_col_int64(st, 1);
    srv_col_copy(st, 2, a->vendor, sizeof(a->vendor));
    srv_col_copy(st, 3, a->ek_name, sizeof(a->ek_name));
    srv_col_copy(st, 4, a->ak_name, sizeof(a->ak_name));
    rc = srv_col_blobdup(st, 5, &a->ak_public, &a->ak_public_len);
    if (rc == 0)
        rc = srv_col_blobdup(st, 6, &a->sk_public, &a->sk_public_len);
    a->host_json = srv_col_strdup(st, 7);
    a->revoked = srv_col_int(st, 8) != 0;
    srv_col_copy(st, 9, a->status, sizeof(a->status));
    a->created_at = srv_col_int64(st, 10);
    a->last_verified_at = srv_col_int64(st, 11);
    a->last_compliant = srv_col_int(st, 12) != 0;
    srv_col_copy(st, 13, a->last_report_id, sizeof(a->last_report_id));
    a->reset_count = (uint32_t)srv_col_int64(st, 14);
    a->restart_count = (uint32_t)srv_col_int64(st, 15);
    a->clock = (uint64_t)srv_col_int64(st, 16);
    a->firmware_version = (uint64_t)srv_col_int64(st, 17);
    srv_col_copy(st, 18, a->ek_trust, sizeof(a->ek_trust));
    ek_cert_from_row(st, 19, &a->ek_cert);
    if (rc == 0 && a->host_json == NULL)
        rc = DA_ERR_NOMEM;
    if (rc != 0) {
        srv_agent_free(a);
        return rc;
    }
    *out = a;
    return 0;
}

static int agent_get_by(struct srv_store *s, const char *column_sql, const char *key, int64_t now,
                        int missing, struct srv_agent **out)
{
    char sql[2048];
    struct srv_stmt *st = NULL;
    int slot, rc;
    struct srv_conn *db;

    *out = NULL;
    snprintf(sql, sizeof(sql),
             "SELECT " AGENT_COLUMNS " FROM agents a JOIN vendors v ON v.id = a.vendor_id"
             " WHERE %s = ?2",
             column_sql);
    db = reader_get(s, &slot);
    rc = srv_prepare(db, &st, sql, "it", now - (int64_t)s->stale_after, key);
    if (rc == 0) {
        rc = srv_step(st) == SRV_ROW ? agent_from_row(st, out) : missing;
        srv_release(st);
    }
    reader_put(s, slot);
    return rc;
}

int srv_store_agent_get(struct srv_store *s, const char *id, int64_t now, struct srv_agent **out)
{
    return agent_get_by(s, "a.id", id, now, DA_ERR_AGENT_UNKNOWN, out);
}

/* The agent and its IMA state in one statement (a report cycle needs both,
 * at the nonce and at the report). */
int srv_store_agent_get_ima(struct srv_store *s, const char *id, int64_t now,
                            struct srv_agent **out, struct srv_ima_state *ima, bool *have_ima)
{
    struct srv_stmt *st = NULL;
    int slot, rc;
    struct srv_conn *db;

    *out = NULL;
    *have_ima = false;
    memset(ima, 0, sizeof(*ima));
    db = reader_get(s, &slot);
    rc = srv_prepare(db, &st,
                     "SELECT " AGENT_COLUMNS ", i.reset_count, i.entries, i.banks, i.sha1,"
                     " i.sha256, i.kept_json FROM agents a JOIN vendors v ON v.id = a.vendor_id"
                     " LEFT JOIN ima_state i ON i.agent_id = a.id WHERE a.id = ?2",
                     "it", now - (int64_t)s->stale_after, id);
    if (rc == 0) {
        rc = srv_step(st) == SRV_ROW ? agent_from_row(st, out) : DA_ERR_AGENT_UNKNOWN;
        if (rc == 0 && !srv_col_null(st, AGENT_NCOLS)) {
            ima->reset_count = (uint32_t)srv_col_int64(st, AGENT_NCOLS);
            ima->agg.entries = (uint64_t)srv_col_int64(st, AGENT_NCOLS + 1);
            ima->agg.banks = (unsigned)srv_col_int(st, AGENT_NCOLS + 2);
            srv_col_fixed(st, AGENT_NCOLS + 3, ima->agg.sha1, sizeof(ima->agg.sha1));
            srv_col_fixed(st, AGENT_NCOLS + 4, ima->agg.sha256, sizeof(ima->agg.sha256));
            ima->kept_json = srv_col_strdup(st, AGENT_NCOLS + 5);
            *have_ima = true;
            if (ima->kept_json == NULL)
                rc = DA_ERR_NOMEM;
        }
        srv_release(st);
    }
    reader_put(s, slot);
    if (rc != 0) {
        srv_agent_free(*out);
        *out = NULL;
        srv_ima_state_clear(ima);
        *have_ima = false;
    }
    return rc;
}

int srv_store_agent_find_by_ek(struct srv_store *s, const char *ek_name, int64_t now,
                               struct srv_agent **out)
{
    return agent_get_by(s, "a.ek_name", ek_name, now, DA_ERR_NOT_FOUND, out);
}

int srv_store_agents_list(struct srv_store *s, int64_t vendor_id, const char *status, int64_t now,
                          srv_agent_cb cb, void *ctx)
{
    struct srv_stmt *st = NULL;
    int slot, rc, src;
    struct srv_conn *db = reader_get(s, &slot);

    rc = srv_prepare(db, &st,
                     "SELECT * FROM (SELECT " AGENT_COLUMNS
                     " FROM agents a JOIN vendors v ON v.id = a.vendor_id"
                     " WHERE (?2 = 0 OR a.vendor_id = ?2)) t"
                     " WHERE (?3 IS NULL OR t.status = ?3) ORDER BY t.created_at, t.id",
                     "iit", now - (int64_t)s->stale_after, vendor_id, status);
    while (rc == 0 && (src = srv_step(st)) == SRV_ROW) {
        struct srv_agent *a = NULL;

        rc = agent_from_row(st, &a);
        if (rc == 0)
            rc = cb(a, ctx);
        srv_agent_free(a);
    }
    srv_release(st);
    reader_put(s, slot);
    return rc;
}

struct agent_update_job {
    const char *id;
    int64_t revoked;
    const unsigned char *ak_public;
    size_t ak_public_len;
    const char *ak_name;
};

static int agent_set_revoked_job(struct srv_conn *db, void *arg)
{
    struct agent_update_job *j = arg;
    struct srv_stmt *st = NULL;
    int changes = 0, rc;

    rc = srv_prepare(db, &st, "UPDATE agents SET revoked = ?2 WHERE id = ?1", "ti", j->id,
                     j->revoked);
    if (rc == 0)
        rc = srv_run(st, &changes);
    if (rc == 0 && changes == 0)
        rc = DA_ERR_AGENT_UNKNOWN;
    return rc != 0 ? rc : srv_fleet_agent_revoked(db, j->id, j->revoked != 0);
}

int srv_store_agent_set_revoked(struct srv_store *s, const char *id, bool revoked)
{
    struct agent_update_job j = {id, revoked ? 1 : 0, NULL, 0, NULL};

    return submit(s, agent_set_revoked_job, &j);
}

static int agent_replace_ak_job(struct srv_conn *db, void *arg)
{
    struct agent_update_job *j = arg;
    struct srv_stmt *st = NULL;
    int changes = 0, rc;

    rc = srv_prepare(db, &st,
                     "UPDATE agents SET ak_public = ?2, ak_name = ?3, reset_count = 0,"
                     " restart_count = 0, clock = 0 WHERE id = ?1",
                     "tbt", j->id, j->ak_public, j->ak_public_len, j->ak_name);
    if (rc == 0)
        rc = srv_run(st, &changes);
    if (rc == 0 && changes == 0)
        return DA_ERR_AGENT_UNKNOWN;
    if (rc == 0)
        rc = srv_prepare(db, &st, "UPDATE identity_events SET resolved = 1 WHERE agent_id = ?1",
                         "t", j->id);
    return rc != 0 ? rc : srv_run(st, NULL);
}

int srv_store_agent_replace_ak(struct srv_store *s, const char *id, const unsigned char *ak_public,
                               size_t ak_public_len, const char *ak_name)
{
    struct agent_update_job j = {id, 0, ak_public, ak_public_len, ak_name};

    return submit(s, agent_replace_ak_job, &j);
}

struct reenroll_job {
    const char *id;
    const unsigned char *sk;
    size_t sk_len;
    const char *host;
    const char *ek_trust;
    const struct srv_ek_cert *ek_cert;
};

static int agent_reenroll_job(struct srv_conn *db, void *arg)
{
    struct reenroll_job *j = arg;
    struct srv_stmt *st = NULL;
    int changes = 0, rc;

    rc = srv_prepare(db, &st,
                     "UPDATE agents SET sk_public = ?2, host_json = ?3, ek_trust = ?4,"
                     " ek_issuer = ?5, ek_serial = ?6, ek_root = ?7 WHERE id = ?1",
                     "tbttttt", j->id, j->sk, j->sk_len, j->host, j->ek_trust,
                     j->ek_cert != NULL ? or_null(j->ek_cert->issuer) : NULL,
                     j->ek_cert != NULL ? or_null(j->ek_cert->serial) : NULL,
                     j->ek_cert != NULL ? or_null(j->ek_cert->root) : NULL);
    if (rc == 0)
        rc = srv_run(st, &changes);
    return rc == 0 && changes == 0 ? DA_ERR_AGENT_UNKNOWN : rc;
}

int srv_store_agent_reenroll(struct srv_store *s, const char *id, const unsigned char *sk_public,
                             size_t sk_public_len, const char *host_json, const char *ek_trust,
                             const struct srv_ek_cert *ek_cert)
{
    struct reenroll_job j = {id,
                             sk_public,
                             sk_public_len,
                             host_json,
                             ek_trust != NULL && ek_trust[0] != '\0' ? ek_trust
                                                                     : SRV_EK_TRUST_CHAIN,
                             ek_cert};

    return submit(s, agent_reenroll_job, &j);
}

#define PENDING_GONE_BATCH 20000 /* pending_seen rows deleted per sweep */

struct sweep_job {
    int64_t cutoff;
    int64_t now;
    int changed;
    int pending_deleted;
};

static int sweep_job(struct srv_conn *db, void *arg)
{
    struct sweep_job *j = arg;
    struct srv_stmt *st = NULL;
    int rc;

    rc = srv_prepare(
        db, &st,
        "INSERT INTO audit_log (at, actor, action, subject, code, detail)"
        " SELECT ?2, 'server', 'agent_stale', id, 'stale', 'no verified report' FROM agents"
        " WHERE revoked = 0 AND stale_marked = 0 AND (CASE WHEN last_verified_at >"
        " created_at THEN last_verified_at ELSE created_at END) < ?1",
        "ii", j->cutoff, j->now);
    if (rc == 0)
        rc = srv_run(st, NULL);
    if (rc == 0)
        rc = srv_prepare(db, &st,
                         "UPDATE agents SET stale_marked = 1 WHERE revoked = 0 AND stale_marked = 0"
                         " AND (CASE WHEN last_verified_at > created_at THEN last_verified_at"
                         " ELSE created_at END) < ?1",
                         "i", j->cutoff);
    if (rc == 0)
        rc = srv_run(st, &j->changed);
    if (rc == 0)
        rc = srv_prepare(db, &st, "DELETE FROM nonces_used WHERE expires_at < ?1", "i",
                         j->now - 3600);
    if (rc == 0)
        rc = srv_run(st, NULL);
    /* first-seen times of upgrades no report listed for SRV_PENDING_GONE_KEEP_S,
     * PENDING_GONE_BATCH rows a pass (the rest at the next) */
    if (rc == 0)
        rc = srv_exec(db, &j->pending_deleted,
                      "DELETE FROM pending_seen WHERE (agent_id, name, arch, candidate) IN"
                      " (SELECT agent_id, name, arch, candidate FROM pending_seen"
                      " WHERE gone_at <> 0 AND gone_at < ?1 LIMIT ?2)",
                      "ii", j->now - (int64_t)SRV_PENDING_GONE_KEEP_S, (int64_t)PENDING_GONE_BATCH);
    /* the fleet summary's count deltas folded, its old changes dropped */
    return rc != 0 ? rc : srv_fleet_fold(db, j->now - 2 * (int64_t)SRV_FLEET_WINDOW_S);
}

int srv_store_sweep_stale(struct srv_store *s, int64_t now, int *changed)
{
    struct sweep_job j = {now - (int64_t)s->stale_after, now, 0, 0};
    int rc = submit(s, sweep_job, &j);

    *changed = j.changed;
    return rc;
}

void srv_agent_free(struct srv_agent *a)
{
    if (a == NULL)
        return;
    free(a->ak_public);
    free(a->sk_public);
    free(a->host_json);
    free(a);
}

/* ---- identity events ---- */

struct identity_job {
    const char *agent_id;
    const unsigned char *ak_public;
    size_t ak_public_len;
    const char *ak_name;
    const char *detail;
};

static int identity_put_job(struct srv_conn *db, void *arg)
{
    struct identity_job *j = arg;
    struct srv_stmt *st = NULL;
    int rc;

    rc = srv_prepare(db, &st,
                     "INSERT INTO identity_events (agent_id, at, ak_public, ak_name, detail)"
                     " VALUES (?1, ?2, ?3, ?4, ?5)",
                     "tibtt", j->agent_id, now_s(), j->ak_public, j->ak_public_len, j->ak_name,
                     j->detail);
    return rc != 0 ? rc : srv_run(st, NULL);
}

int srv_store_identity_event_put(struct srv_store *s, const char *agent_id,
                                 const unsigned char *ak_public, size_t ak_public_len,
                                 const char *ak_name, const char *detail)
{
    struct identity_job j = {agent_id, ak_public, ak_public_len, ak_name, detail};

    return submit(s, identity_put_job, &j);
}

int srv_store_identity_event_latest(struct srv_store *s, const char *agent_id,
                                    unsigned char **ak_public, size_t *ak_public_len,
                                    char ak_name[2 * 34 + 1])
{
    struct srv_stmt *st = NULL;
    int slot, rc;
    struct srv_conn *db = reader_get(s, &slot);

    *ak_public = NULL;
    *ak_public_len = 0;
    rc = srv_prepare(db, &st,
                     "SELECT ak_public, ak_name FROM identity_events WHERE agent_id = ?1"
                     " AND resolved = 0 ORDER BY id DESC LIMIT 1",
                     "t", agent_id);
    if (rc == 0) {
        rc = srv_step(st) == SRV_ROW ? 0 : DA_ERR_NOT_FOUND;
        if (rc == 0)
            rc = srv_col_blobdup(st, 0, ak_public, ak_public_len);
        if (rc == 0)
            srv_col_copy(st, 1, ak_name, 2 * 34 + 1);
        srv_release(st);
    }
    reader_put(s, slot);
    return rc;
}

/* ---- reports ---- */

/* The agent's counters as stored, read inside the write transaction. */
static int agent_counters_read(struct srv_conn *db, const char *agent_id, struct da_tpm_clock *prev,
                               bool *have_prev, unsigned char base[32], bool *have_base)
{
    struct srv_stmt *st = NULL;
    char sql[192];
    int rc, src;

    *have_prev = false;
    *have_base = false;
    /* the row stays locked until the report's transaction ends: the
     * agent's other reports wait here, and everything of the agent the
     * report reads next (its blobs, base, IMA state, boot reference) is
     * what the last of them committed */
    snprintf(sql, sizeof(sql),
             "SELECT last_verified_at, reset_count, restart_count, clock, firmware_version,"
             " revoked, pack_base FROM agents WHERE id = ?1%s",
             db->ops->for_update != NULL ? db->ops->for_update : "");
    rc = srv_prepare(db, &st, sql, "t", agent_id);
    if (rc != 0)
        return rc;
    src = srv_step(st);
    if (src == SRV_ROW) {
        memset(prev, 0, sizeof(*prev));
        *have_prev = srv_col_int64(st, 0) != 0;
        prev->reset_count = (uint32_t)srv_col_int64(st, 1);
        prev->restart_count = (uint32_t)srv_col_int64(st, 2);
        prev->clock = (uint64_t)srv_col_int64(st, 3);
        prev->firmware_version = (uint64_t)srv_col_int64(st, 4);
        *have_base = srv_col_fixed(st, 6, base, 32);
        rc = srv_col_int(st, 5) != 0 ? DA_ERR_AGENT_REVOKED : 0;
    } else {
        rc = src == SRV_DONE ? DA_ERR_AGENT_UNKNOWN : src;
    }
    srv_release(st);
    return rc;
}

/* Compare and set the agent's counters: the TPM ordering rule runs against
 * the row as stored in this transaction, and the UPDATE only applies while
 * the row still holds the tuple that was checked. Under SQLite's single
 * writer that always holds; a backend whose transactions run side by side
 * (PostgreSQL, READ COMMITTED) gets DA_ERR_STORE_CONFLICT instead of a lost
 * update, and the report is refused without a trace. */
static int agent_counters_advance(struct srv_conn *db, const struct srv_report *r,
                                  unsigned char base[32], bool *have_base)
{
    struct da_tpm_clock prev, cur;
    bool have_prev = false;
    int rc;

    rc = agent_counters_read(db, r->agent_id, &prev, &have_prev, base, have_base);
    if (rc != 0)
        return rc;
    memset(&cur, 0, sizeof(cur));
    cur.reset_count = r->reset_count;
    cur.restart_count = r->restart_count;
    cur.clock = r->clock;
    cur.firmware_version = r->firmware_version;
    cur.unsafe = r->clock_unsafe;
    if (have_prev && (rc = da_tpm_clock_check(&prev, &cur, NULL)) != 0)
        return rc;
    if (!have_prev)
        memset(&prev, 0, sizeof(prev));
    return srv_exec_later(db, 1, DA_ERR_STORE_CONFLICT,
                          "UPDATE agents SET last_verified_at = ?2, last_compliant = ?3,"
                          " last_report_id = ?4, reset_count = ?5, restart_count = ?6, clock = ?7,"
                          " firmware_version = ?8, stale_marked = 0 WHERE id = ?1 AND revoked = 0"
                          " AND (last_verified_at = 0 OR (reset_count = ?9 AND restart_count = ?10"
                          " AND clock = ?11))",
                          "tiitiiiiiii", r->agent_id, r->received_at,
                          (int64_t)(r->compliant ? 1 : 0), r->id, (int64_t)r->reset_count,
                          (int64_t)r->restart_count, (int64_t)r->clock,
                          (int64_t)r->firmware_version, (int64_t)prev.reset_count,
                          (int64_t)prev.restart_count, (int64_t)prev.clock);
}

static int ima_row_read(struct srv_conn *db, const char *agent_id, struct srv_ima_state *out)
{
    struct srv_stmt *st = NULL;
    int rc, src;

    memset(out, 0, sizeof(*out));
    rc = srv_prepare(db, &st,
                     "SELECT reset_count, entries, banks, sha1, sha256, kept_json FROM ima_state"
                     " WHERE agent_id = ?1",
                     "t", agent_id);
    if (rc != 0)
        return rc;
    src = srv_step(st);
    if (src == SRV_ROW) {
        out->reset_count = (uint32_t)srv_col_int64(st, 0);
        out->agg.entries = (uint64_t)srv_col_int64(st, 1);
        out->agg.banks = (unsigned)srv_col_int(st, 2);
        srv_col_fixed(st, 3, out->agg.sha1, sizeof(out->agg.sha1));
        srv_col_fixed(st, 4, out->agg.sha256, sizeof(out->agg.sha256));
        out->kept_json = srv_col_strdup(st, 5);
        rc = out->kept_json != NULL ? 0 : DA_ERR_NOMEM;
    } else {
        rc = src == SRV_DONE ? DA_ERR_NOT_FOUND : src;
    }
    srv_release(st);
    return rc;
}

int srv_store_ima_get(struct srv_store *s, const char *agent_id, struct srv_ima_state *out)
{
    int slot, rc;
    struct srv_conn *db = reader_get(s, &slot);

    rc = ima_row_read(db, agent_id, out);
    reader_put(s, slot);
    return rc;
}

/* Compare and set: the IMA state moves only from the one the report was
 * replayed from, so two reports of one boot cannot both extend it. One
 * statement: an UPDATE that applies only while the row holds that state,
 * or, from no state, an INSERT that applies only while there is no row. */
static int ima_state_advance(struct srv_conn *db, const struct srv_report *r)
{
    const struct srv_ima_state *p = r->ima_prev, *n = r->ima;
    int rc;

    if (p == NULL)
        rc = srv_exec_later(
            db, 1, DA_ERR_STORE_CONFLICT,
            "INSERT INTO ima_state (agent_id, reset_count, entries, banks, sha1, sha256,"
            " kept_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
            "tiiibbt", r->agent_id, (int64_t)n->reset_count, (int64_t)n->agg.entries,
            (int64_t)n->agg.banks, n->agg.sha1, sizeof(n->agg.sha1), n->agg.sha256,
            sizeof(n->agg.sha256), n->kept_json);
    else
        rc = srv_exec_later(
            db, 1, DA_ERR_STORE_CONFLICT,
            "UPDATE ima_state SET reset_count = ?2, entries = ?3, banks = ?4, sha1 = ?5,"
            " sha256 = ?6, kept_json = ?7 WHERE agent_id = ?1 AND reset_count = ?8"
            " AND entries = ?9 AND banks = ?10 AND sha1 = ?11 AND sha256 = ?12",
            "tiiibbtiiibb", r->agent_id, (int64_t)n->reset_count, (int64_t)n->agg.entries,
            (int64_t)n->agg.banks, n->agg.sha1, sizeof(n->agg.sha1), n->agg.sha256,
            sizeof(n->agg.sha256), n->kept_json, (int64_t)p->reset_count, (int64_t)p->agg.entries,
            (int64_t)p->agg.banks, p->agg.sha1, sizeof(p->agg.sha1), p->agg.sha256,
            sizeof(p->agg.sha256));
    return rc;
}

/* The report's boot state becomes the agent's reference when it has none
 * yet; its differences from the reference are recorded one row each. */
static int boot_state_put(struct srv_conn *db, const struct srv_report *r)
{
    struct srv_stmt *st = NULL;
    int rc = 0;

    if (r->boot_state_json != NULL) {
        rc =
            srv_prepare(db, &st,
                        "INSERT INTO boot_references (agent_id, report_id, state_json, recorded_at)"
                        " SELECT ?1, ?2, ?3, ?4 WHERE NOT EXISTS (SELECT 1 FROM boot_references"
                        " WHERE agent_id = ?1)",
                        "ttti", r->agent_id, r->id, r->boot_state_json, r->received_at);
        if (rc == 0)
            rc = srv_run(st, NULL);
    }
    for (size_t i = 0; rc == 0 && i < r->n_boot_changes; i++) {
        const struct srv_boot_change *c = &r->boot_changes[i];

        rc = srv_exec_later(db, -1, 0,
                            "INSERT INTO boot_changes (agent_id, report_id, at, what,"
                            " reference_json, now_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                            "ttittt", r->agent_id, r->id, r->received_at, c->what,
                            c->reference_json, c->now_json);
    }
    return rc;
}

/* ---- compact report storage (schema 10; store_pack.h) ---- */

#define BLOB_TOUCH_S 86400 /* last_used_at moves at most once a day */

/* Kinds of blobs: an evidence area or a body member, a verdict, a base
 * record. Verdicts stay while any report names them (pruned ones too); the
 * others go once nothing within the retention used them. */
enum { BLOB_PIECE = 1, BLOB_VERDICT = 2, BLOB_BASE = 3 };

/* A stored blob of the agent, decompressed and checked against its digest:
 * a missing or damaged one is DA_ERR_STORE_CORRUPT, never other data. */
static int blob_get_used(struct srv_conn *db, const char *agent_id, const unsigned char digest[32],
                         unsigned char **raw, size_t *len, int64_t *used)
{
    struct srv_stmt *st = NULL;
    unsigned char check[32];
    const void *data;
    size_t n = 0;
    int rc;

    *raw = NULL;
    *len = 0;
    rc = srv_prepare(db, &st,
                     "SELECT data, last_used_at FROM blobs WHERE agent_id = ?1 AND sha256 = ?2",
                     "tb", agent_id, digest, (size_t)32);
    if (rc != 0)
        return rc;
    rc = srv_step(st);
    if (rc == SRV_ROW) {
        if (used != NULL)
            *used = srv_col_int64(st, 1);
        data = srv_col_blob(st, 0, &n);
        rc = data != NULL ? srv_zstd_decompress(data, n, NULL, 0, SRV_PACK_MAX_RAW, raw, len)
                          : DA_ERR_STORE_CORRUPT;
    } else if (rc == SRV_DONE) {
        rc = DA_ERR_STORE_CORRUPT;
    }
    srv_release(st);
    if (rc == 0 && (da_sha256(*raw, *len, check) != 0 || CRYPTO_memcmp(check, digest, 32) != 0))
        rc = DA_ERR_STORE_CORRUPT;
    if (rc != 0) {
        if (rc == DA_ERR_STORE_CORRUPT)
            da_error_f("store: a blob of agent %s is missing, damaged or not what its digest says",
                       agent_id);
        free(*raw);
        *raw = NULL;
        *len = 0;
    }
    return rc;
}

static int blob_get(struct srv_conn *db, const char *agent_id, const unsigned char digest[32],
                    unsigned char **raw, size_t *len)
{
    return blob_get_used(db, agent_id, digest, raw, len, NULL);
}

/* A stored blob's last use moved to now (at most once a day);
 * DA_ERR_NOT_FOUND when the agent has no blob with this digest. */
static int blob_touch(struct srv_conn *db, const char *agent_id, const unsigned char digest[32],
                      int64_t now)
{
    int64_t used = 0;
    int rc = srv_one_int64(db, &used,
                           "SELECT last_used_at FROM blobs WHERE agent_id = ?1 AND sha256 = ?2",
                           "tb", agent_id, digest, (size_t)32);

    if (rc == 0 && used < now - BLOB_TOUCH_S) {
        int changes = 0;

        rc = srv_exec(db, &changes,
                      "UPDATE blobs SET last_used_at = ?3 WHERE agent_id = ?1 AND sha256 = ?2",
                      "tbi", agent_id, digest, (size_t)32, now);
        /* gone since the lookup (the retention sweep took it): the report
         * runs again and stores it anew */
        if (rc == 0 && changes != 1)
            rc = DA_ERR_STORE_RETRY;
    }
    return rc;
}

/* Stores raw once per agent under digest, its SHA-256 (computed by the
 * caller); a blob already there only has its last use moved. */
static int blob_put_known(struct srv_conn *db, const char *agent_id, int kind, const void *raw,
                          size_t len, int64_t now, const unsigned char digest[32])
{
    unsigned char *z = NULL;
    size_t zlen = 0;
    int rc = blob_touch(db, agent_id, digest, now);

    if (rc != DA_ERR_NOT_FOUND)
        return rc;
    rc = srv_zstd_compress(raw, len, NULL, 0, &z, &zlen);
    if (rc == 0)
        rc = srv_exec(db, NULL,
                      "INSERT INTO blobs (agent_id, sha256, kind, size, data, last_used_at)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                      "tbiibi", agent_id, digest, (size_t)32, (int64_t)kind, (int64_t)len, z, zlen,
                      now);
    free(z);
    return rc;
}

/* blob_put_known of raw under its SHA-256 (into digest). */
static int blob_put(struct srv_conn *db, const char *agent_id, int kind, const void *raw,
                    size_t len, int64_t now, unsigned char digest[32])
{
    int rc = da_sha256(raw, len, digest);

    return rc == 0 ? blob_put_known(db, agent_id, kind, raw, len, now, digest) : rc;
}

/* The blobs one report writes (evidence areas, body members, its
 * verdict), looked up together: one SELECT for all of them instead of one
 * each, then an INSERT for each that is new and an UPDATE for each whose
 * last use is a day old. The texts are the report's; they outlive this. */
#define BLOBS_MAX  (SRV_PACK_MAX_AREAS + SRV_PACK_MAX_SUBS + 1)
#define BLOBS_STMT 64 /* digests per lookup: 1 + 64 parameters */

struct blob_want {
    int kind;
    const void *raw;
    size_t len;
    unsigned char digest[32];
    int64_t used;
    bool have, dup;
};

struct blob_batch {
    struct blob_want w[BLOBS_MAX];
    size_t n;
};

/* Adds raw, whose SHA-256 is digest, to the batch. */
static void blob_want_add(struct blob_batch *b, int kind, const void *raw, size_t len,
                          const unsigned char digest[32])
{
    struct blob_want *w;

    if (b->n >= BLOBS_MAX)
        return; /* cannot happen: at most one per area, sub and verdict */
    w = &b->w[b->n++];
    memset(w, 0, sizeof(*w));
    w->kind = kind;
    w->raw = raw;
    w->len = len;
    memcpy(w->digest, digest, 32);
}

static int blob_found(struct srv_stmt *st, void *ctx)
{
    struct blob_batch *b = ctx;
    unsigned char d[32];

    if (!srv_col_fixed(st, 0, d, sizeof(d)))
        return DA_ERR_STORE_CORRUPT;
    for (size_t i = 0; i < b->n; i++) {
        if (memcmp(b->w[i].digest, d, 32) == 0) {
            b->w[i].have = true;
            b->w[i].used = srv_col_int64(st, 1);
        }
    }
    return 0;
}

static int blobs_store(struct srv_conn *db, const char *agent_id, int64_t now, struct blob_batch *b)
{
    struct srv_param p[1 + BLOBS_STMT];
    struct srv_stmt *st = NULL;
    char sql[160 + BLOBS_STMT * 8];
    int rc = 0;

    for (size_t i = 0; i < b->n; i++)
        for (size_t j = 0; j < i && !b->w[i].dup; j++)
            b->w[i].dup = memcmp(b->w[i].digest, b->w[j].digest, 32) == 0;
    memset(p, 0, sizeof(p));
    p[0].type = 't';
    p[0].p = agent_id;
    for (size_t i = 0; rc == 0 && i < b->n; i += BLOBS_STMT) {
        size_t k = b->n - i < BLOBS_STMT ? b->n - i : BLOBS_STMT, o;

        o = (size_t)snprintf(sql, sizeof(sql),
                             "SELECT sha256, last_used_at FROM blobs WHERE agent_id = ?1"
                             " AND sha256 IN (");
        for (size_t j = 0; j < k; j++) {
            p[1 + j].type = 'b';
            p[1 + j].p = b->w[i + j].digest;
            p[1 + j].n = 32;
            o += (size_t)snprintf(sql + o, sizeof(sql) - o, "%s?%zu", j == 0 ? "" : ", ", j + 2);
        }
        snprintf(sql + o, sizeof(sql) - o, ")");
        rc = srv_prepare_params(db, &st, sql, p, (unsigned)(1 + k));
        while (rc == 0 && (rc = srv_step(st)) == SRV_ROW)
            rc = blob_found(st, b);
        rc = rc < 0 ? rc : 0;
        srv_release(st);
        st = NULL;
    }
    for (size_t i = 0; rc == 0 && i < b->n; i++) {
        struct blob_want *w = &b->w[i];
        unsigned char *z = NULL;
        size_t zlen = 0;

        if (w->dup)
            continue;
        if (w->have) {
            int changes = 1;

            if (w->used < now - BLOB_TOUCH_S)
                rc = srv_exec(db, &changes,
                              "UPDATE blobs SET last_used_at = ?3 WHERE agent_id = ?1"
                              " AND sha256 = ?2",
                              "tbi", agent_id, w->digest, (size_t)32, now);
            /* gone since the lookup (the retention sweep took it): the
             * report runs again and stores it anew */
            if (rc == 0 && changes != 1)
                rc = DA_ERR_STORE_RETRY;
            continue;
        }
        rc = srv_zstd_compress(w->raw, w->len, NULL, 0, &z, &zlen);
        if (rc == 0)
            rc = srv_exec(db, NULL,
                          "INSERT INTO blobs (agent_id, sha256, kind, size, data, last_used_at)"
                          " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                          "tbiibi", agent_id, w->digest, (size_t)32, (int64_t)w->kind,
                          (int64_t)w->len, z, zlen, now);
        free(z);
    }
    return rc;
}

/* The digest under which a report's evidence set is kept: the report's
 * evidence_sha256 when it is the SHA-256 of the text (always, for reports
 * the server verified), else the text's own (stored in evidence_digest).
 * A caller that hashed the text itself passes the digest (evidence_digest)
 * and the text is not hashed again; evidence_sha256 must still be its hex. */
static int evidence_key(const struct srv_report *r, unsigned char digest[32], bool *own)
{
    char hex[65];
    int rc = 0;

    if (r->evidence_digest != NULL)
        memcpy(digest, r->evidence_digest, 32);
    else
        rc = da_sha256(r->evidence_json, strlen(r->evidence_json), digest);
    if (rc != 0)
        return rc;
    da_hex_encode_to(digest, 32, hex, sizeof(hex));
    *own = strcmp(hex, r->evidence_sha256) != 0;
    return 0;
}

/* What a report's compact row needs that does not depend on the database:
 * the evidence's areas with their digests and list, the verdict's digest,
 * the body's skeleton and its cut members' digests, the raw record. It is
 * built in the caller's thread before the write job (report_prep_make), so
 * the store's one writer spends its time on the database only, and a job
 * run again (a PostgreSQL serialization failure) reuses it. */
struct report_prep {
    unsigned char ekey[32];
    bool own;
    struct srv_pack_area *a;
    unsigned char (*dg)[32];
    size_t n_areas;
    unsigned char *areas;
    size_t areas_len;
    unsigned char vdigest[32];
    char *skeleton;
    struct srv_pack_rec rec;
    const char *sub_value[SRV_PACK_MAX_SUBS]; /* the cut members, for blob_put_known */
    size_t sub_len[SRV_PACK_MAX_SUBS];
    unsigned char *raw;
    size_t raw_len;
    /* raw compressed against the base the cache held for the agent (NULL:
     * none); the writer takes it when that is still the agent's base */
    unsigned char zbase[32];
    unsigned char *z;
    size_t zlen;
};

static size_t base_slot_of(const char *agent_id)
{
    uint32_t h = 2166136261u; /* FNV-1a */

    for (const unsigned char *c = (const unsigned char *)agent_id; *c != '\0'; c++)
        h = (h ^ *c) * 16777619u;
    return h % BASE_CACHE_SLOTS;
}

/* A copy of the cached base of the agent (false: none). */
static bool base_cache_get(struct srv_store *s, const char *agent_id, unsigned char digest[32],
                           unsigned char **raw, size_t *len)
{
    struct base_slot *b = &s->base[base_slot_of(agent_id)];
    bool hit = false;

    *raw = NULL;
    pthread_mutex_lock(&s->base_mu);
    if (b->raw != NULL && strcmp(b->agent_id, agent_id) == 0 && (*raw = malloc(b->len)) != NULL) {
        memcpy(*raw, b->raw, b->len);
        *len = b->len;
        memcpy(digest, b->digest, 32);
        hit = true;
    }
    pthread_mutex_unlock(&s->base_mu);
    return hit;
}

/* raw, whose SHA-256 is digest, as the agent's base. */
static void base_cache_put(struct srv_store *s, const char *agent_id,
                           const unsigned char digest[32], const unsigned char *raw, size_t len)
{
    struct base_slot *b = &s->base[base_slot_of(agent_id)];
    unsigned char *copy = len <= BASE_CACHE_MAX ? malloc(len) : NULL;

    if (copy != NULL)
        memcpy(copy, raw, len);
    pthread_mutex_lock(&s->base_mu);
    free(b->raw);
    b->raw = copy;
    b->len = copy != NULL ? len : 0;
    snprintf(b->agent_id, sizeof(b->agent_id), "%s", agent_id);
    memcpy(b->digest, digest, 32);
    pthread_mutex_unlock(&s->base_mu);
}

/* The evidence as its area list (p->areas, for the report's record): each
 * top-level member of the canonical (RFC 8785) text, its value inline
 * when shorter than SRV_PACK_CUT_MIN, else stored once per agent under its
 * SHA-256 (stored by the writer). A text that is not "{" key ":" value ("," ...)*
 * "}" with nothing between is kept whole as one entry. */
static int evidence_split(const struct srv_report *r, struct report_prep *p)
{
    struct srv_json_member *m = calloc(SRV_PACK_MAX_AREAS, sizeof(*m));
    const char *canon = r->evidence_json;
    size_t len = strlen(canon), n = 0, i;
    bool whole = false;
    int rc = 0;

    p->a = calloc(SRV_PACK_MAX_AREAS, sizeof(*p->a));
    p->dg = calloc(SRV_PACK_MAX_AREAS, sizeof(*p->dg));
    if (m == NULL || p->a == NULL || p->dg == NULL) {
        rc = DA_ERR_NOMEM;
        goto out;
    }
    if (!srv_json_members(canon, len, m, SRV_PACK_MAX_AREAS, &n) || n == 0) {
        whole = true;
    } else {
        size_t want = 2 + (n - 1);

        for (i = 0; i < n; i++)
            want += m[i].key_len + 1 + m[i].val_len;
        whole = want != len;
        for (i = 0; !whole && i < n; i++)
            whole = m[i].val_off != m[i].key_off + m[i].key_len + 1;
    }
    if (whole)
        n = 1;
    for (i = 0; rc == 0 && i < n; i++) {
        struct srv_pack_area *a = &p->a[i];

        a->key = whole ? "" : canon + m[i].key_off;
        a->key_len = whole ? 0 : m[i].key_len;
        a->value = whole ? canon : canon + m[i].val_off;
        a->value_len = whole ? len : m[i].val_len;
        if (a->value_len < SRV_PACK_CUT_MIN) {
            a->kind = SRV_PACK_AREA_INLINE;
            continue;
        }
        a->kind = SRV_PACK_AREA_BLOB;
        a->digest = p->dg[i];
        rc = da_sha256(a->value, a->value_len, p->dg[i]);
    }
    p->n_areas = n;
    if (rc == 0)
        rc = srv_pack_areas_write(p->a, n, &p->areas, &p->areas_len);
out:
    free(m);
    return rc;
}

/* The canonical evidence back from its area list, checked against its
 * digest. */
static int evidence_get(struct srv_conn *db, const char *agent_id, const unsigned char *list,
                        size_t list_len, const unsigned char key[32], char **out)
{
    struct srv_pack_area *a = calloc(SRV_PACK_MAX_AREAS, sizeof(*a));
    unsigned char check[32];
    struct wtext {
        char *p;
        size_t len, cap;
    } w = {NULL, 0, 0};
    size_t n = 0, i;
    int rc = a != NULL ? 0 : DA_ERR_NOMEM;

    *out = NULL;
    if (rc == 0)
        rc = list != NULL ? srv_pack_areas_read(list, list_len, a, SRV_PACK_MAX_AREAS, &n)
                          : DA_ERR_STORE_CORRUPT;
    for (i = 0; rc == 0 && i < n; i++) {
        unsigned char *v = NULL;
        const char *piece = a[i].value;
        size_t vlen = a[i].value_len, need;

        if (a[i].kind == SRV_PACK_AREA_BLOB) {
            rc = blob_get(db, agent_id, a[i].digest, &v, &vlen);
            piece = (const char *)v;
        }
        need = w.len + a[i].key_len + vlen + 4;
        if (rc == 0 && need > w.cap) {
            char *np = realloc(w.p, need * 2);

            if (np == NULL) {
                rc = DA_ERR_NOMEM;
            } else {
                w.p = np;
                w.cap = need * 2;
            }
        }
        if (rc == 0) {
            if (a[i].key_len > 0) {
                w.p[w.len++] = i == 0 ? '{' : ',';
                memcpy(w.p + w.len, a[i].key, a[i].key_len);
                w.len += a[i].key_len;
                w.p[w.len++] = ':';
            }
            memcpy(w.p + w.len, piece, vlen);
            w.len += vlen;
            if (a[i].key_len > 0 && i + 1 == n)
                w.p[w.len++] = '}';
            w.p[w.len] = '\0';
        }
        free(v);
    }
    if (rc == 0 && w.p == NULL)
        rc = DA_ERR_STORE_CORRUPT;
    if (rc == 0 && (da_sha256(w.p, w.len, check) != 0 || CRYPTO_memcmp(check, key, 32) != 0))
        rc = DA_ERR_STORE_CORRUPT;
    free(a);
    if (rc != 0) {
        if (rc == DA_ERR_STORE_CORRUPT)
            da_error_f("store: evidence of agent %s does not match its digest", agent_id);
        free(w.p);
        return rc;
    }
    *out = w.p;
    return 0;
}

static bool member_is(const char *text, const struct srv_json_member *m, const char *key)
{
    size_t k = strlen(key);

    return m->key_len == k + 2 && memcmp(text + m->key_off + 1, key, k) == 0;
}

/* The body without its large stable members: the evidence when it is the
 * canonical text, the event log and the inventory (stored once per agent,
 * by the writer, from p->sub_value). */
static int body_cut(const struct srv_report *r, struct report_prep *p)
{
    struct srv_json_member m[16];
    struct srv_pack_rec *rec = &p->rec;
    const char *b = r->body_json;
    size_t len = strlen(b), n = 0, i, from = 0, o = 0;
    char *sk = malloc(len + 1);
    int rc = 0;

    p->skeleton = sk;
    if (sk == NULL)
        return DA_ERR_NOMEM;
    if (!srv_json_members(b, len, m, sizeof(m) / sizeof(m[0]), &n))
        n = 0; /* kept whole */
    for (i = 0; rc == 0 && i < n && rec->n_subs < SRV_PACK_MAX_SUBS; i++) {
        struct srv_pack_sub *sub = &rec->subs[rec->n_subs];
        const char *v = b + m[i].val_off;

        if (member_is(b, &m[i], "evidence") && m[i].val_len == strlen(r->evidence_json) &&
            memcmp(v, r->evidence_json, m[i].val_len) == 0) {
            sub->kind = SRV_PACK_SUB_EVIDENCE;
        } else if (m[i].val_len >= SRV_PACK_CUT_MIN &&
                   (member_is(b, &m[i], "evidence") || member_is(b, &m[i], "event_log") ||
                    member_is(b, &m[i], "inventory"))) {
            sub->kind = SRV_PACK_SUB_BLOB;
            p->sub_value[rec->n_subs] = v;
            p->sub_len[rec->n_subs] = m[i].val_len;
            rc = da_sha256(v, m[i].val_len, sub->digest);
        } else {
            continue;
        }
        memcpy(sk + o, b + from, m[i].val_off - from);
        o += m[i].val_off - from;
        from = m[i].val_off + m[i].val_len;
        sub->offset = (uint32_t)o;
        rec->n_subs++;
    }
    memcpy(sk + o, b + from, len - from);
    o += len - from;
    sk[o] = '\0';
    rec->skeleton = sk;
    rec->skeleton_len = o;
    return rc;
}

static void report_prep_free(struct report_prep *p)
{
    free(p->a);
    free(p->dg);
    free(p->areas);
    free(p->skeleton);
    free(p->raw);
    free(p->z);
    memset(p, 0, sizeof(*p));
}

/* The database-independent part of a report's compact row (report_prep). */
static int report_prep_make(const struct srv_report *r, struct report_prep *p)
{
    int rc;

    memset(p, 0, sizeof(*p));
    rc = evidence_key(r, p->ekey, &p->own);
    if (rc == 0)
        rc = evidence_split(r, p);
    p->rec.areas = p->areas;
    p->rec.areas_len = p->areas_len;
    if (rc == 0)
        rc = da_sha256(r->verdict_json, strlen(r->verdict_json), p->vdigest);
    p->rec.transcript = r->transcript_json;
    p->rec.transcript_len = strlen(r->transcript_json);
    p->rec.receipt = r->receipt_json;
    p->rec.receipt_len = strlen(r->receipt_json);
    if (rc == 0 && r->body_json != NULL)
        rc = body_cut(r, p);
    if (rc == 0)
        rc = srv_pack_rec_write(&p->rec, &p->raw, &p->raw_len);
    if (rc != 0)
        report_prep_free(p);
    return rc;
}

/* The agent's base record (the zstd prefix of its packed records). */
static int base_get(struct srv_conn *db, const char *agent_id, const unsigned char *digest,
                    unsigned char **raw, size_t *len)
{
    *raw = NULL;
    *len = 0;
    return digest != NULL ? blob_get(db, agent_id, digest, raw, len) : 0;
}

/* Writes the report's row in the compact form: verdict and evidence by
 * digest, the rest as one record compressed against the agent's base. */
static int report_insert_packed(struct srv_store *s, struct srv_conn *db,
                                const struct srv_report *r, const struct report_prep *p,
                                const unsigned char *agent_base)
{
    struct blob_batch *blobs = calloc(1, sizeof(*blobs));
    unsigned char base_d[32], *z = NULL, *base = NULL;
    const unsigned char *raw = p->raw, *zp = NULL;
    size_t raw_len = p->raw_len, zlen = 0, base_len = 0;
    bool have_base = false;
    int rc;

    /* the report's blobs: areas, verdict, cut body members, looked up
     * together */
    if (blobs == NULL)
        return DA_ERR_NOMEM;
    for (size_t i = 0; i < p->n_areas; i++)
        if (p->a[i].kind == SRV_PACK_AREA_BLOB)
            blob_want_add(blobs, BLOB_PIECE, p->a[i].value, p->a[i].value_len, p->dg[i]);
    blob_want_add(blobs, BLOB_VERDICT, r->verdict_json, strlen(r->verdict_json), p->vdigest);
    for (size_t i = 0; i < p->rec.n_subs; i++)
        if (p->rec.subs[i].kind == SRV_PACK_SUB_BLOB)
            blob_want_add(blobs, BLOB_PIECE, p->sub_value[i], p->sub_len[i], p->rec.subs[i].digest);
    rc = blobs_store(db, r->agent_id, r->received_at, blobs);
    free(blobs);
    /* the agent's base, if it still has one (read with its counters) */
    if (agent_base != NULL) {
        memcpy(base_d, agent_base, 32);
        have_base = true;
    }
    if (rc == 0 && have_base && p->z != NULL && memcmp(base_d, p->zbase, 32) == 0) {
        /* compressed before the job against the base it still has, if
         * that is still stored (an agent silent past the retention: gone) */
        rc = blob_touch(db, r->agent_id, base_d, r->received_at);
        if (rc == DA_ERR_NOT_FOUND) {
            have_base = false;
            rc = 0;
        } else if (rc == 0) {
            zp = p->z;
            zlen = p->zlen;
        }
    } else if (rc == 0 && have_base) {
        int64_t used = 0;

        if (blob_get_used(db, r->agent_id, base_d, &base, &base_len, &used) != 0)
            have_base = false; /* gone (an agent silent past the retention): a new one */
        if (have_base) {
            int changes = 1;

            base_cache_put(s, r->agent_id, base_d, base, base_len);
            if (used < r->received_at - BLOB_TOUCH_S)
                rc = srv_exec(db, &changes,
                              "UPDATE blobs SET last_used_at = ?3 WHERE agent_id = ?1"
                              " AND sha256 = ?2",
                              "tbi", r->agent_id, base_d, (size_t)32, r->received_at);
            if (rc == 0 && changes != 1)
                rc = DA_ERR_STORE_RETRY; /* taken by the retention sweep since it was read */
        }
        if (rc == 0 && have_base)
            rc = srv_zstd_compress(raw, raw_len, base, base_len, &z, &zlen);
        zp = z;
    }
    /* a poor match makes this record the agent's new base */
    if (rc == 0 && (!have_base || zlen * 4 > raw_len)) {
        free(z);
        z = NULL;
        rc = blob_put(db, r->agent_id, BLOB_BASE, raw, raw_len, r->received_at, base_d);
        if (rc == 0)
            rc = srv_exec_later(db, -1, 0, "UPDATE agents SET pack_base = ?2 WHERE id = ?1", "tb",
                                r->agent_id, base_d, (size_t)32);
        if (rc == 0) {
            base_cache_put(s, r->agent_id, base_d, raw, raw_len);
            rc = srv_zstd_compress(raw, raw_len, raw, raw_len, &z, &zlen);
        }
        zp = z;
    }
    if (rc == 0)
        rc = srv_exec_later(
            db, -1, 0,
            "INSERT INTO reports (id, agent_id, nonce_hash, evidence_sha256,"
            " evidence_json, verdict_json, transcript_json, receipt_json, compliant,"
            " received_at, reset_count, restart_count, clock, firmware_version,"
            " inventory_sha256, format, packed, pack_base, verdict_sha256,"
            " evidence_digest) VALUES (?1, ?2, ?3, ?4, '', '', '', '', ?5, ?6, ?7, ?8,"
            " ?9, ?10, ?11, 1, ?12, ?13, ?14, ?15)",
            "ttbtiiiiiitbbbb", r->id, r->agent_id, r->nonce_hash, (size_t)SRV_HASH_LEN,
            r->evidence_sha256, (int64_t)(r->compliant ? 1 : 0), r->received_at,
            (int64_t)r->reset_count, (int64_t)r->restart_count, (int64_t)r->clock,
            (int64_t)r->firmware_version, r->inventory_sha256, zp, zlen, base_d, (size_t)32,
            p->vdigest, (size_t)32, p->own ? p->ekey : NULL, p->own ? (size_t)32 : 0);
    free(z);
    free(base);
    return rc;
}

/* What a read wants of a stored report. */
enum { LOAD_VERDICT = 1, LOAD_FULL = 2, LOAD_BODY = 4 };

struct report_texts {
    char *verdict, *evidence, *transcript, *receipt, *body;
    int64_t pruned_at;
};

static void report_texts_free(struct report_texts *t)
{
    free(t->verdict);
    free(t->evidence);
    free(t->transcript);
    free(t->receipt);
    free(t->body);
    memset(t, 0, sizeof(*t));
}

static char *dup_n(const char *p, size_t n)
{
    char *d = malloc(n + 1);

    if (d != NULL) {
        memcpy(d, p, n);
        d[n] = '\0';
    }
    return d;
}

/* The body back from its skeleton and cut members. */
static int body_join(struct srv_conn *db, const char *agent_id, const struct srv_pack_rec *rec,
                     const unsigned char ekey[32], char **evidence, char **out)
{
    size_t i, from = 0, len = 0, cap = rec->skeleton_len + 1;
    char *b = malloc(cap);
    int rc = 0;

    *out = NULL;
    if (b == NULL)
        return DA_ERR_NOMEM;
    for (i = 0; rc == 0 && i <= rec->n_subs; i++) {
        size_t to = i < rec->n_subs ? rec->subs[i].offset : rec->skeleton_len;
        unsigned char *v = NULL;
        const char *piece = NULL;
        size_t vlen = 0;

        memcpy(b + len, rec->skeleton + from, to - from);
        len += to - from;
        from = to;
        if (i == rec->n_subs)
            break;
        if (rec->subs[i].kind == SRV_PACK_SUB_EVIDENCE) {
            if (*evidence == NULL)
                rc = evidence_get(db, agent_id, rec->areas, rec->areas_len, ekey, evidence);
            piece = *evidence;
            vlen = piece != NULL ? strlen(piece) : 0;
        } else {
            rc = blob_get(db, agent_id, rec->subs[i].digest, &v, &vlen);
            piece = (const char *)v;
        }
        if (rc == 0) {
            char *nb;

            cap += vlen;
            nb = realloc(b, cap);
            if (nb == NULL)
                rc = DA_ERR_NOMEM;
            else {
                b = nb;
                memcpy(b + len, piece, vlen);
                len += vlen;
            }
        }
        free(v);
    }
    if (rc != 0) {
        free(b);
        return rc;
    }
    b[len] = '\0';
    *out = b;
    return 0;
}

/* Reads a compact (format 1) report's texts. Columns from col: packed,
 * verdict_sha256, pack_base, pruned_at, evidence_digest (NULL: the
 * evidence's digest is evidence_sha256). */
static int packed_load(struct srv_conn *db, struct srv_stmt *st, int col, const char *agent_id,
                       const char *evidence_sha256, int what, struct report_texts *t)
{
    struct srv_pack_rec rec;
    unsigned char vdigest[32], bdigest[32], ekey[32], *raw = NULL, *base = NULL, *v = NULL,
                                                      *packed = NULL;
    size_t raw_len = 0, base_len = 0, vlen = 0, plen = 0;
    bool have_base;
    int rc = 0;

    t->pruned_at = srv_col_int64(st, col + 3);
    if (!srv_col_fixed(st, col + 1, vdigest, 32))
        return DA_ERR_STORE_CORRUPT;
    if (!srv_col_fixed(st, col + 4, ekey, 32)) {
        const char *hex = evidence_sha256;

        size_t ol = 0;

        if (hex == NULL || da_hex_decode_to(hex, strlen(hex), ekey, 32, &ol) != 0 || ol != 32)
            return DA_ERR_STORE_CORRUPT;
    }
    if (what & (LOAD_VERDICT | LOAD_FULL)) {
        rc = blob_get(db, agent_id, vdigest, &v, &vlen);
        t->verdict = (char *)v;
    }
    if (rc != 0 || !(what & (LOAD_FULL | LOAD_BODY)))
        return rc;
    have_base = srv_col_fixed(st, col + 2, bdigest, 32);
    {
        size_t n = 0;
        const void *p = srv_col_blob(st, col, &n);

        packed = p != NULL ? malloc(n) : NULL;
        if (packed == NULL)
            return DA_ERR_STORE_CORRUPT;
        memcpy(packed, p, n);
        plen = n;
    }
    if (have_base)
        rc = base_get(db, agent_id, bdigest, &base, &base_len);
    if (rc == 0)
        rc = srv_zstd_decompress(packed, plen, base, base_len, SRV_PACK_MAX_RAW, &raw, &raw_len);
    if (rc == 0)
        rc = srv_pack_rec_read(raw, raw_len, &rec);
    if (rc == 0 && (what & LOAD_FULL)) {
        t->receipt = rec.receipt != NULL ? dup_n(rec.receipt, rec.receipt_len) : NULL;
        t->transcript = rec.transcript != NULL ? dup_n(rec.transcript, rec.transcript_len) : NULL;
        if (t->receipt == NULL)
            rc = DA_ERR_STORE_CORRUPT;
        if (rc == 0 && t->pruned_at == 0)
            rc = evidence_get(db, agent_id, rec.areas, rec.areas_len, ekey, &t->evidence);
    }
    if (rc == 0 && (what & LOAD_BODY)) {
        if (t->receipt == NULL)
            t->receipt = rec.receipt != NULL ? dup_n(rec.receipt, rec.receipt_len) : NULL;
        if (t->transcript == NULL && rec.transcript != NULL)
            t->transcript = dup_n(rec.transcript, rec.transcript_len);
        if (rec.skeleton != NULL)
            rc = body_join(db, agent_id, &rec, ekey, &t->evidence, &t->body);
    }
    if (rc == DA_ERR_STORE_CORRUPT)
        da_error_f("store: a report of agent %s cannot be read back", agent_id);
    free(packed);
    free(raw);
    free(base);
    return rc;
}

/* Reports as the server writes them before schema 10: every text in its
 * column (databases of older versions are built this way in tests). */
static int report_insert_texts(struct srv_conn *db, const struct srv_report *r)
{
    int rc = srv_exec(db, NULL,
                      "INSERT INTO reports (id, agent_id, nonce_hash, evidence_sha256,"
                      " evidence_json, verdict_json, transcript_json, receipt_json, compliant,"
                      " received_at, reset_count, restart_count, clock, firmware_version,"
                      " inventory_sha256) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
                      " ?12, ?13, ?14, ?15)",
                      "ttbtttttiiiiiit", r->id, r->agent_id, r->nonce_hash, (size_t)SRV_HASH_LEN,
                      r->evidence_sha256, r->evidence_json, r->verdict_json, r->transcript_json,
                      r->receipt_json, (int64_t)(r->compliant ? 1 : 0), r->received_at,
                      (int64_t)r->reset_count, (int64_t)r->restart_count, (int64_t)r->clock,
                      (int64_t)r->firmware_version, r->inventory_sha256);

    if (rc == 0 && r->body_json != NULL)
        rc = srv_exec(db, NULL, "INSERT INTO report_bodies (report_id, body) VALUES (?1, ?2)", "tt",
                      r->id, r->body_json);
    return rc;
}

#define SEEN_ROWS 16 /* first-seen rows per INSERT: 1 + 4 * 16 parameters */

/* The report's first-seen entries not stored yet, SEEN_ROWS to a statement
 * (sent without waiting on a database server, srv_exec_later). An entry already there, or
 * listed twice, keeps its first row. */
static int pending_seen_insert(struct srv_conn *db, const struct srv_report *r)
{
    struct srv_param p[1 + 4 * SEEN_ROWS];
    char sql[256 + SEEN_ROWS * 40];
    int rc = 0;

    memset(p, 0, sizeof(p));
    p[0].type = 't';
    p[0].p = r->agent_id;
    for (size_t i = 0; rc == 0 && i < r->n_pending; i += SEEN_ROWS) {
        size_t k = r->n_pending - i < SEEN_ROWS ? r->n_pending - i : SEEN_ROWS, o;

        o = (size_t)snprintf(sql, sizeof(sql),
                             "INSERT INTO pending_seen (agent_id, name, arch, candidate,"
                             " first_seen) VALUES");
        for (size_t j = 0; j < k; j++) {
            const struct srv_pending_seen *e = &r->pending[i + j];
            struct srv_param *q = &p[1 + 4 * j];
            unsigned b = (unsigned)(2 + 4 * j);

            q[0].type = q[1].type = q[2].type = 't';
            q[0].p = e->name;
            q[1].p = e->arch;
            q[2].p = e->candidate;
            q[3].type = 'i';
            q[3].i = e->first_seen;
            o += (size_t)snprintf(sql + o, sizeof(sql) - o, "%s (?1, ?%u, ?%u, ?%u, ?%u)",
                                  j == 0 ? "" : ",", b, b + 1, b + 2, b + 3);
        }
        snprintf(sql + o, sizeof(sql) - o, " ON CONFLICT DO NOTHING");
        rc = srv_exec_later_params(db, -1, 0, sql, p, (unsigned)(1 + 4 * k));
    }
    return rc;
}

/* Marks rows of the agent gone (at > 0: only rows not marked yet) or
 * pending again (at 0), SEEN_ROWS to a statement. */
static int pending_seen_mark(struct srv_conn *db, const char *agent_id,
                             const struct srv_pending_seen *v, size_t n, int64_t at)
{
    struct srv_param p[2 + 3 * SEEN_ROWS];
    struct srv_stmt *st = NULL;
    char sql[256 + SEEN_ROWS * 64];
    int rc = 0;

    memset(p, 0, sizeof(p));
    p[0].type = 't';
    p[0].p = agent_id;
    p[1].type = 'i';
    p[1].i = at;
    for (size_t i = 0; rc == 0 && i < n; i += SEEN_ROWS) {
        size_t k = n - i < SEEN_ROWS ? n - i : SEEN_ROWS, o;

        o = (size_t)snprintf(
            sql, sizeof(sql),
            "UPDATE pending_seen SET gone_at = ?2 WHERE agent_id = ?1 AND %s AND (",
            at != 0 ? "gone_at = 0" : "gone_at <> 0");
        for (size_t j = 0; j < k; j++) {
            struct srv_param *q = &p[2 + 3 * j];
            unsigned b = (unsigned)(3 + 3 * j);

            q[0].type = q[1].type = q[2].type = 't';
            q[0].p = v[i + j].name;
            q[1].p = v[i + j].arch;
            q[2].p = v[i + j].candidate;
            o += (size_t)snprintf(sql + o, sizeof(sql) - o,
                                  "%s(name = ?%u AND arch = ?%u AND candidate = ?%u)",
                                  j == 0 ? "" : " OR ", b, b + 1, b + 2);
        }
        snprintf(sql + o, sizeof(sql) - o, ")");
        rc = srv_prepare_params(db, &st, sql, p, (unsigned)(2 + 3 * k));
        if (rc == 0)
            rc = srv_run(st, NULL);
    }
    return rc;
}

struct report_put_job {
    const struct srv_report *r;
    int format;
    const struct report_prep *prep; /* format 1 */
    struct srv_store *s;
    const char *shape_json, *shape_digest; /* the fleet summary's, of r's verdict */
};

static int report_put_job(struct srv_conn *db, void *arg)
{
    const struct report_put_job *j = arg;
    const struct srv_report *r = j->r;
    unsigned char base[32];
    bool have_base = false;
    int rc;

    /* Statements whose rows the job does not read go with srv_exec_later:
     * on PostgreSQL they travel with the next statement that it reads
     * (the nonce with the agent's locking read) or with COMMIT, so a
     * report's transaction waits on the database a few times, not once
     * per statement. A failure is still the report's: the nonce used
     * before is DA_ERR_VERIFY_NONCE_REPLAY wherever it surfaces, a
     * conditional UPDATE that changed no row DA_ERR_STORE_CONFLICT. */
    rc = srv_exec_later(db, -1, DA_ERR_VERIFY_NONCE_REPLAY,
                        "INSERT INTO nonces_used (agent_id, hash, expires_at, report_id)"
                        " VALUES (?1, ?2, ?3, ?4)",
                        "tbit", r->agent_id, r->nonce_hash, (size_t)SRV_HASH_LEN,
                        r->nonce_expires_at, r->id);
    if (rc == 0)
        rc = agent_counters_advance(db, r, base, &have_base);
    if (rc == 0)
        rc = j->format == 0 ? report_insert_texts(db, r)
                            : report_insert_packed(j->s, db, r, j->prep, have_base ? base : NULL);
    if (rc == 0 && r->inventory_sha256[0] != '\0')
        rc = srv_exec_later(db, -1, 0,
                            "INSERT INTO inventory_digests (sha256, first_seen) VALUES (?1, ?2)"
                            " ON CONFLICT DO NOTHING",
                            "ti", r->inventory_sha256, r->received_at);
    if (rc == 0 && r->ima != NULL)
        rc = ima_state_advance(db, r);
    if (rc == 0)
        rc = boot_state_put(db, r);
    if (rc == 0)
        rc = srv_fleet_report(db, r, j->shape_json, j->shape_digest);
    if (rc == 0)
        rc = pending_seen_insert(db, r);
    if (rc == 0)
        rc = pending_seen_mark(db, r->agent_id, r->pending_gone, r->n_pending_gone,
                               r->received_at > 0 ? r->received_at : 1);
    if (rc == 0)
        rc = pending_seen_mark(db, r->agent_id, r->pending_back, r->n_pending_back, 0);
    return rc;
}

/* Entries in byte order of (name, arch, candidate). */
static int seen_order(const struct srv_pending_seen *a, const char *name, const char *arch,
                      const char *candidate)
{
    int c = strcmp(a->name, name);

    if (c == 0)
        c = strcmp(a->arch, arch);
    return c != 0 ? c : strcmp(a->candidate, candidate);
}

static int seen_sort(const void *x, const void *y)
{
    const struct srv_pending_seen *b = *(const struct srv_pending_seen *const *)y;

    return seen_order(*(const struct srv_pending_seen *const *)x, b->name, b->arch, b->candidate);
}

/* One read of the agent's rows, each looked up among the entries sorted in
 * memory: one statement per report instead of one per entry. The rows'
 * order is not relied on (an engine's collation need not be byte order).
 * A row no entry matches and not yet marked gone goes to left_out. */
int srv_store_pending_seen_read(struct srv_store *s, const char *agent_id,
                                struct srv_pending_seen *v, size_t n, srv_pending_seen_cb left_out,
                                void *ctx)
{
    struct srv_pending_seen **order = NULL;
    struct srv_stmt *st = NULL;
    size_t i;
    int slot, rc, src = SRV_DONE;
    struct srv_conn *db;

    for (i = 0; i < n; i++)
        v[i].first_seen = v[i].gone_at = 0;
    if (n == 0 && left_out == NULL)
        return 0;
    if (n > 0) {
        order = calloc(n, sizeof(*order));
        if (order == NULL)
            return DA_ERR_NOMEM;
        for (i = 0; i < n; i++)
            order[i] = &v[i];
        qsort(order, n, sizeof(*order), seen_sort);
    }
    db = reader_get(s, &slot);
    rc = srv_prepare(db, &st,
                     "SELECT name, arch, candidate, first_seen, gone_at FROM pending_seen"
                     " WHERE agent_id = ?1",
                     "t", agent_id);
    while (rc == 0 && (src = srv_step(st)) == SRV_ROW) {
        struct srv_pending_seen row = {srv_col_text(st, 0), srv_col_text(st, 1),
                                       srv_col_text(st, 2), srv_col_int64(st, 3),
                                       srv_col_int64(st, 4)};
        size_t lo = 0, hi = n;
        bool found = false;

        if (row.name == NULL || row.arch == NULL || row.candidate == NULL) {
            rc = DA_ERR_STORE;
            break;
        }
        while (lo < hi) { /* the first entry not below the row */
            size_t mid = lo + (hi - lo) / 2;

            if (seen_order(order[mid], row.name, row.arch, row.candidate) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (; lo < n && seen_order(order[lo], row.name, row.arch, row.candidate) == 0; lo++) {
            order[lo]->first_seen = row.first_seen; /* the same entry twice: both */
            order[lo]->gone_at = row.gone_at;
            found = true;
        }
        if (!found && row.gone_at == 0 && left_out != NULL)
            rc = left_out(&row, ctx);
    }
    if (rc == 0 && src < 0)
        rc = src;
    srv_release(st);
    reader_put(s, slot);
    free(order);
    return rc;
}

int srv_store_pending_seen_get(struct srv_store *s, const char *agent_id,
                               struct srv_pending_seen *v, size_t n)
{
    return srv_store_pending_seen_read(s, agent_id, v, n, NULL, NULL);
}

int srv_store_report_put(struct srv_store *s, const struct srv_report *r)
{
    struct report_prep prep;
    struct report_put_job j = {r, s->write_format, &prep, s, NULL, NULL};
    unsigned char *base = NULL;
    char *shape = NULL, digest[65];
    size_t base_len = 0;
    int rc;

    memset(&prep, 0, sizeof(prep));
    /* the fleet summary's shape of the verdict, outside the writer */
    rc = r->verdict_tree != NULL ? srv_fleet_shape_tree(r->verdict_tree, &shape, digest)
                                 : srv_fleet_shape(r->verdict_json, &shape, digest);
    j.shape_json = shape;
    j.shape_digest = digest;
    if (rc == 0 && j.format != 0)
        rc = report_prep_make(r, &prep);
    /* compressed here against the agent's base as last seen, so the writer
     * only checks that it is still the agent's base */
    if (rc == 0 && j.format != 0 && base_cache_get(s, r->agent_id, prep.zbase, &base, &base_len) &&
        srv_zstd_compress(prep.raw, prep.raw_len, base, base_len, &prep.z, &prep.zlen) != 0) {
        free(prep.z);
        prep.z = NULL;
    }
    free(base);
    if (rc == 0)
        rc = submit_locked(s, report_put_job, &j);
    report_prep_free(&prep);
    free(shape);
    return rc;
}

void srv_store_write_format(struct srv_store *s, int format)
{
    s->write_format = format;
}

#define REPORT_COLUMNS                                                                             \
    "id, agent_id, nonce_hash, evidence_sha256, verdict_json, compliant, received_at,"             \
    " reset_count, restart_count, clock, firmware_version, inventory_sha256, format, packed,"      \
    " verdict_sha256, pack_base, pruned_at, evidence_digest"
#define REPORT_COL_FORMAT 12
#define REPORT_COL_PACKED 13

/* A report from a row of REPORT_COLUMNS (then, for LOAD_FULL of a row
 * written before schema 10: evidence_json, transcript_json, receipt_json). */
static int report_from_row(struct srv_conn *db, struct srv_stmt *st, int what,
                           struct srv_report **out)
{
    struct srv_report *r = calloc(1, sizeof(*r));
    struct report_texts t;
    int rc = 0;

    *out = NULL;
    memset(&t, 0, sizeof(t));
    if (r == NULL)
        return DA_ERR_NOMEM;
    srv_col_copy(st, 0, r->id, sizeof(r->id));
    srv_col_copy(st, 1, r->agent_id, sizeof(r->agent_id));
    srv_col_fixed(st, 2, r->nonce_hash, SRV_HASH_LEN);
    srv_col_copy(st, 3, r->evidence_sha256, sizeof(r->evidence_sha256));
    r->compliant = srv_col_int(st, 5) != 0;
    r->received_at = srv_col_int64(st, 6);
    r->reset_count = (uint32_t)srv_col_int64(st, 7);
    r->restart_count = (uint32_t)srv_col_int64(st, 8);
    r->clock = (uint64_t)srv_col_int64(st, 9);
    r->firmware_version = (uint64_t)srv_col_int64(st, 10);
    srv_col_copy(st, 11, r->inventory_sha256, sizeof(r->inventory_sha256));
    r->pruned_at = srv_col_int64(st, 16);
    if (srv_col_int(st, REPORT_COL_FORMAT) == 1) {
        rc = packed_load(db, st, REPORT_COL_PACKED, r->agent_id, r->evidence_sha256,
                         what | LOAD_VERDICT, &t);
        r->verdict_json = t.verdict;
        r->evidence_json = t.evidence;
        r->transcript_json = t.transcript;
        r->receipt_json = t.receipt;
        free(t.body);
        if (rc != 0) {
            srv_report_free(r);
            return rc;
        }
    } else {
        r->verdict_json = srv_col_strdup(st, 4);
        if (what & LOAD_FULL) {
            if (r->pruned_at == 0)
                r->evidence_json = srv_col_strdup(st, 18);
            if (r->pruned_at == 0)
                r->transcript_json = srv_col_strdup(st, 19);
            r->receipt_json = srv_col_strdup(st, 20);
        }
        if (r->verdict_json == NULL ||
            ((what & LOAD_FULL) &&
             ((r->pruned_at == 0 && (r->evidence_json == NULL || r->transcript_json == NULL)) ||
              r->receipt_json == NULL))) {
            srv_report_free(r);
            return DA_ERR_NOMEM;
        }
    }
    *out = r;
    return 0;
}

/* The one report matching where; its parameters are ?1 (text or blob key)
 * and, when agent_id is not NULL, ?2 = agent_id. */
static int report_get_by(struct srv_store *s, const char *where, const char *types, const void *key,
                         size_t keylen, const char *agent_id, struct srv_report **out)
{
    char sql[512];
    struct srv_stmt *st = NULL;
    int slot, rc;
    struct srv_conn *db;

    *out = NULL;
    snprintf(sql, sizeof(sql),
             "SELECT " REPORT_COLUMNS ", evidence_json, transcript_json, receipt_json"
             " FROM reports WHERE %s",
             where);
    db = reader_get(s, &slot);
    if (types[0] == 't')
        rc = srv_prepare(db, &st, sql, "t", (const char *)key);
    else if (agent_id != NULL)
        rc = srv_prepare(db, &st, sql, "bt", key, keylen, agent_id);
    else
        rc = srv_prepare(db, &st, sql, "b", key, keylen);
    if (rc == 0) {
        rc = srv_step(st) == SRV_ROW ? report_from_row(db, st, LOAD_FULL, out) : DA_ERR_NOT_FOUND;
        srv_release(st);
    }
    reader_put(s, slot);
    return rc;
}

int srv_store_report_get(struct srv_store *s, const char *id, struct srv_report **out)
{
    return report_get_by(s, "id = ?1", "t", id, 0, NULL, out);
}

int srv_store_report_find_by_nonce(struct srv_store *s, const char *agent_id,
                                   const unsigned char hash[SRV_HASH_LEN], struct srv_report **out)
{
    if (agent_id == NULL)
        return DA_ERR_INVALID_ARG;
    return report_get_by(s,
                         "id = (SELECT report_id FROM nonces_used WHERE hash = ?1"
                         " AND agent_id = ?2)",
                         "b", hash, SRV_HASH_LEN, agent_id, out);
}

int srv_store_reports_list(struct srv_store *s, const char *agent_id, unsigned limit,
                           srv_report_cb cb, void *ctx)
{
    struct srv_stmt *st = NULL;
    int slot, rc, src;
    struct srv_conn *db = reader_get(s, &slot);

    rc = srv_prepare(db, &st,
                     "SELECT " REPORT_COLUMNS " FROM reports WHERE agent_id = ?1"
                     " ORDER BY received_at DESC, id DESC LIMIT ?2",
                     "ti", agent_id, (int64_t)limit);
    while (rc == 0 && (src = srv_step(st)) == SRV_ROW) {
        struct srv_report *r = NULL;

        rc = report_from_row(db, st, LOAD_VERDICT, &r);
        if (rc == 0)
            rc = cb(r, ctx);
        srv_report_free(r);
    }
    srv_release(st);
    reader_put(s, slot);
    return rc;
}

void srv_report_free(struct srv_report *r)
{
    if (r == NULL)
        return;
    free(r->evidence_json);
    free(r->verdict_json);
    free(r->transcript_json);
    free(r->receipt_json);
    free(r);
}

/* One statement for a key range of agents the fleet summary has not
 * filled: their reports of the window and, per agent, the newest one
 * before it (the predecessor of the window's oldest, or the newest report
 * of an agent silent since), with the verdict's key but not the verdict. */
int srv_store_fleet_scan(struct srv_conn *db, const char *after, const char *last, int64_t since,
                         srv_fleet_scan_cb cb, void *ctx)
{
    struct srv_stmt *st = NULL;
    int rc, src = SRV_DONE;

    rc = srv_prepare(
        db, &st,
        "SELECT r.agent_id, r.id, r.received_at, r.compliant, r.format, r.verdict_sha256,"
        " CASE WHEN r.format = 0 THEN r.verdict_json END FROM fleet_current f"
        " JOIN reports r ON r.agent_id = f.agent_id AND r.received_at >= ?3"
        " WHERE f.filled = 0 AND f.agent_id > ?1 AND f.agent_id <= ?2"
        " UNION ALL"
        " SELECT r.agent_id, r.id, r.received_at, r.compliant, r.format, r.verdict_sha256,"
        " CASE WHEN r.format = 0 THEN r.verdict_json END FROM fleet_current f"
        " JOIN reports r ON r.id = (SELECT p.id FROM reports p WHERE p.agent_id = f.agent_id"
        " AND p.received_at < ?3 ORDER BY p.received_at DESC, p.id DESC LIMIT 1)"
        " WHERE f.filled = 0 AND f.agent_id > ?1 AND f.agent_id <= ?2"
        " ORDER BY 1, 3 DESC, 2 DESC",
        "tti", after, last, since);
    while (rc == 0 && (src = srv_step(st)) == SRV_ROW) {
        struct srv_fleet_scan_row row;

        memset(&row, 0, sizeof(row));
        row.agent_id = srv_col_text(st, 0);
        row.id = srv_col_text(st, 1);
        row.at = srv_col_int64(st, 2);
        row.compliant = srv_col_int(st, 3) != 0;
        if (srv_col_int(st, 4) == 1) {
            if (!srv_col_fixed(st, 5, row.verdict_key, 32))
                rc = DA_ERR_STORE_CORRUPT;
        } else if ((row.verdict_json = srv_col_text(st, 6)) == NULL ||
                   da_sha256(row.verdict_json, strlen(row.verdict_json), row.verdict_key) != 0) {
            rc = DA_ERR_STORE;
        }
        if (rc == 0 && (row.agent_id == NULL || row.id == NULL))
            rc = DA_ERR_STORE;
        if (rc == 0)
            rc = cb(db, &row, ctx);
    }
    if (rc == 0 && src < 0)
        rc = src;
    srv_release(st);
    return rc;
}

int srv_store_fleet_verdict(struct srv_conn *db, const char *agent_id, const unsigned char key[32],
                            char **verdict_json)
{
    unsigned char *raw = NULL;
    size_t len = 0;
    int rc = blob_get(db, agent_id, key, &raw, &len);

    *verdict_json = rc == 0 ? (char *)raw : NULL;
    return rc;
}

int srv_store_fleet_status(struct srv_store *s, int64_t vendor_id, int64_t now,
                           srv_agent_count_cb cb, void *ctx)
{
    int slot, rc;
    struct srv_conn *db = reader_get(s, &slot);

    rc = srv_fleet_read_status(db, vendor_id, now - (int64_t)s->stale_after, cb, ctx);
    reader_put(s, slot);
    return rc;
}

int srv_store_fleet_shapes(struct srv_store *s, int64_t vendor_id, srv_fleet_shape_cb cb, void *ctx)
{
    int slot, rc;
    struct srv_conn *db = reader_get(s, &slot);

    rc = srv_fleet_read_shapes(db, vendor_id, cb, ctx);
    reader_put(s, slot);
    return rc;
}

int srv_store_fleet_changes(struct srv_store *s, int64_t vendor_id, int64_t since, unsigned limit,
                            srv_fleet_change_cb cb, void *ctx)
{
    int slot, rc;
    struct srv_conn *db = reader_get(s, &slot);

    rc = srv_fleet_read_changes(db, vendor_id, since, limit, cb, ctx);
    reader_put(s, slot);
    return rc;
}

int srv_store_reports_count(struct srv_store *s, int64_t *count)
{
    return read_int64(s, "SELECT count(*) FROM reports", count);
}

static int exists_query(struct srv_store *s, const char *sql, const char *types, const void *key,
                        size_t keylen, bool *found)
{
    struct srv_stmt *st = NULL;
    int slot, rc;
    struct srv_conn *db = reader_get(s, &slot);

    *found = false;
    if (types[0] == 't')
        rc = srv_prepare(db, &st, sql, "t", (const char *)key);
    else
        rc = srv_prepare(db, &st, sql, "b", key, keylen);
    if (rc == 0) {
        *found = srv_step(st) == SRV_ROW;
        srv_release(st);
    }
    reader_put(s, slot);
    return rc;
}

int srv_store_nonce_used(struct srv_store *s, const char *agent_id,
                         const unsigned char hash[SRV_HASH_LEN], bool *used)
{
    struct srv_stmt *st = NULL;
    int slot, rc;
    struct srv_conn *db = reader_get(s, &slot);

    *used = false;
    rc = srv_prepare(db, &st, "SELECT 1 FROM nonces_used WHERE agent_id = ?1 AND hash = ?2", "tb",
                     agent_id, hash, (size_t)SRV_HASH_LEN);
    if (rc == 0) {
        *used = srv_step(st) == SRV_ROW;
        srv_release(st);
    }
    reader_put(s, slot);
    return rc;
}

/* ---- readiness ---- */

static int probe_write_job(struct srv_conn *db, void *arg)
{
    struct srv_stmt *st = NULL;
    int rc = srv_prepare(db, &st,
                         "INSERT INTO readiness_probe (id, at) VALUES (1, ?1)"
                         " ON CONFLICT (id) DO UPDATE SET at = excluded.at",
                         "i", *(const int64_t *)arg);

    if (rc == 0)
        rc = srv_run(st, NULL);
    return rc;
}

int srv_store_probe_write(struct srv_store *s, int64_t now)
{
    return submit(s, probe_write_job, &now);
}

int srv_store_inventory_known(struct srv_store *s, const char *sha256_hex, bool *known)
{
    return exists_query(s, "SELECT 1 FROM inventory_digests WHERE sha256 = ?1", "t", sha256_hex, 0,
                        known);
}

/* ---- policy ---- */

struct policy_job {
    const char *json;
    const char *sha256;
    const char *actor;
};

static int policy_put_job(struct srv_conn *db, void *arg)
{
    struct policy_job *j = arg;
    struct srv_stmt *st = NULL;
    int rc;

    rc = srv_prepare(
        db, &st, "INSERT INTO policies (json, sha256, actor, created_at) VALUES (?1, ?2, ?3, ?4)",
        "ttti", j->json, j->sha256, j->actor, now_s());
    return rc != 0 ? rc : srv_run(st, NULL);
}

int srv_store_policy_put(struct srv_store *s, const char *json, const char *sha256_hex,
                         const char *actor)
{
    struct policy_job j = {json, sha256_hex, actor};

    return submit(s, policy_put_job, &j);
}

int srv_store_policy_current(struct srv_store *s, char **json, char sha256_hex[65])
{
    struct srv_stmt *st = NULL;
    int slot, rc;
    struct srv_conn *db = reader_get(s, &slot);

    *json = NULL;
    rc = srv_prepare(db, &st, "SELECT json, sha256 FROM policies ORDER BY id DESC LIMIT 1", "");
    if (rc == 0) {
        rc = srv_step(st) == SRV_ROW ? 0 : DA_ERR_NOT_FOUND;
        if (rc == 0) {
            *json = srv_col_strdup(st, 0);
            srv_col_copy(st, 1, sha256_hex, 65);
            if (*json == NULL)
                rc = DA_ERR_NOMEM;
        }
        srv_release(st);
    }
    reader_put(s, slot);
    return rc;
}

/* ---- reference boot state, its changes, boot pins ---- */

int srv_store_boot_reference(struct srv_store *s, const char *agent_id, char **state_json,
                             char report_id[SRV_ID_HEX], int64_t *recorded_at)
{
    struct srv_stmt *st = NULL;
    int slot, rc;
    struct srv_conn *db = reader_get(s, &slot);

    *state_json = NULL;
    rc = srv_prepare(db, &st,
                     "SELECT state_json, report_id, recorded_at FROM boot_references"
                     " WHERE agent_id = ?1",
                     "t", agent_id);
    if (rc == 0) {
        rc = srv_step(st) == SRV_ROW ? 0 : DA_ERR_NOT_FOUND;
        if (rc == 0) {
            *state_json = srv_col_strdup(st, 0);
            srv_col_copy(st, 1, report_id, SRV_ID_HEX);
            *recorded_at = srv_col_int64(st, 2);
            if (*state_json == NULL)
                rc = DA_ERR_NOMEM;
        }
        srv_release(st);
    }
    reader_put(s, slot);
    return rc;
}

int srv_store_boot_changes_list(struct srv_store *s, const char *agent_id, unsigned limit,
                                srv_boot_change_cb cb, void *ctx)
{
    struct srv_stmt *st = NULL;
    int slot, rc, src = SRV_DONE;
    struct srv_conn *db = reader_get(s, &slot);

    rc = srv_prepare(db, &st,
                     "SELECT id, report_id, at, what, reference_json, now_json FROM boot_changes"
                     " WHERE agent_id = ?1 ORDER BY id DESC LIMIT ?2",
                     "ti", agent_id, (int64_t)limit);
    while (rc == 0 && (src = srv_step(st)) == SRV_ROW) {
        struct srv_boot_change c;

        memset(&c, 0, sizeof(c));
        c.id = srv_col_int64(st, 0);
        srv_col_copy(st, 1, c.report_id, sizeof(c.report_id));
        c.at = srv_col_int64(st, 2);
        c.what = (const char *)srv_col_text(st, 3);
        c.reference_json = (const char *)srv_col_text(st, 4);
        c.now_json = (const char *)srv_col_text(st, 5);
        if (c.what == NULL || c.reference_json == NULL || c.now_json == NULL)
            rc = DA_ERR_STORE;
        else
            rc = cb(&c, ctx);
    }
    if (rc == 0 && src != SRV_DONE)
        rc = src;
    srv_release(st);
    reader_put(s, slot);
    return rc;
}

/* ---- webhooks ---- */

static int webhook_add_job(struct srv_conn *db, void *arg)
{
    const struct srv_webhook *w = arg;
    struct srv_stmt *st = NULL;
    int rc = srv_prepare(db, &st,
                         "INSERT INTO webhooks (id, url, secret, events, created_at)"
                         " VALUES (?1, ?2, ?3, ?4, ?5)",
                         "tttti", w->id, w->url, w->secret, w->events, w->created_at);

    return rc != 0 ? rc : srv_run(st, NULL);
}

int srv_store_webhook_add(struct srv_store *s, const struct srv_webhook *w)
{
    return submit(s, webhook_add_job, DA_UNCONST(w));
}

static int webhook_remove_job(struct srv_conn *db, void *arg)
{
    const char *id = arg;
    struct srv_stmt *st = NULL;
    int rc, n = 0;

    rc = srv_prepare(db, &st,
                     "DELETE FROM webhook_attempts WHERE delivery_id IN"
                     " (SELECT id FROM webhook_deliveries WHERE webhook_id = ?1)",
                     "t", id);
    if (rc == 0)
        rc = srv_run(st, NULL);
    if (rc == 0)
        rc = srv_prepare(db, &st, "DELETE FROM webhook_deliveries WHERE webhook_id = ?1", "t", id);
    if (rc == 0)
        rc = srv_run(st, NULL);
    if (rc == 0)
        rc = srv_prepare(db, &st, "DELETE FROM webhooks WHERE id = ?1", "t", id);
    if (rc == 0)
        rc = srv_run(st, &n);
    return rc != 0 ? rc : n == 1 ? 0 : DA_ERR_WEBHOOK_UNKNOWN;
}

int srv_store_webhook_remove(struct srv_store *s, const char *id)
{
    return submit(s, webhook_remove_job, DA_UNCONST(id));
}

static void webhook_from_row(struct srv_stmt *st, struct srv_webhook *w)
{
    memset(w, 0, sizeof(*w));
    srv_col_copy(st, 0, w->id, sizeof(w->id));
    srv_col_copy(st, 1, w->url, sizeof(w->url));
    srv_col_copy(st, 2, w->secret, sizeof(w->secret));
    srv_col_copy(st, 3, w->events, sizeof(w->events));
    w->created_at = srv_col_int64(st, 4);
}

int srv_store_webhook_get(struct srv_store *s, const char *id, struct srv_webhook *out)
{
    struct srv_stmt *st = NULL;
    int slot, rc;
    struct srv_conn *db = reader_get(s, &slot);

    rc = srv_prepare(
        db, &st, "SELECT id, url, secret, events, created_at FROM webhooks WHERE id = ?1", "t", id);
    if (rc == 0) {
        if (srv_step(st) == SRV_ROW)
            webhook_from_row(st, out);
        else
            rc = DA_ERR_WEBHOOK_UNKNOWN;
        srv_release(st);
    }
    reader_put(s, slot);
    return rc;
}

int srv_store_webhooks_list(struct srv_store *s, srv_webhook_cb cb, void *ctx)
{
    struct srv_stmt *st = NULL;
    int slot, rc, src = SRV_DONE;
    struct srv_conn *db = reader_get(s, &slot);

    rc = srv_prepare(
        db, &st, "SELECT id, url, secret, events, created_at FROM webhooks ORDER BY created_at, id",
        "");
    while (rc == 0 && (src = srv_step(st)) == SRV_ROW) {
        struct srv_webhook w;

        webhook_from_row(st, &w);
        rc = cb(&w, ctx);
    }
    if (rc == 0 && src != SRV_DONE)
        rc = src;
    srv_release(st);
    reader_put(s, slot);
    return rc;
}

struct webhook_enqueue_job {
    const char *webhook_id;
    const char *event;
    const char *body;
    int64_t now;
    unsigned queue_max;
    int queued;
};

/* "%,name,%" with LIKE's wildcards in name escaped by '!'. */
static bool like_pattern(const char *name, char *out, size_t size)
{
    size_t o = 0;

    if (size < 5)
        return false;
    out[o++] = '%';
    out[o++] = ',';
    for (; *name != '\0'; name++) {
        if (o + 5 > size)
            return false;
        if (*name == '%' || *name == '_' || *name == '!')
            out[o++] = '!';
        out[o++] = *name;
    }
    out[o++] = ',';
    out[o++] = '%';
    out[o] = '\0';
    return true;
}

static int webhook_enqueue_job(struct srv_conn *db, void *arg)
{
    struct webhook_enqueue_job *j = arg;
    struct srv_stmt *st = NULL;
    int64_t pending = 0;
    char pattern[160];
    int rc;

    rc =
        srv_prepare(db, &st, "SELECT count(*) FROM webhook_deliveries WHERE state = 'pending'", "");
    if (rc == 0) {
        if (srv_step(st) == SRV_ROW)
            pending = srv_col_int64(st, 0);
        srv_release(st);
    }
    if (rc == 0 && pending >= (int64_t)j->queue_max)
        return DA_ERR_WEBHOOK_QUEUE_FULL;
    /* endpoints subscribed to the event: its name in the comma list (a LIKE
     * pattern with the name's wildcards escaped; event names are lower
     * case, so SQLite's case-blind LIKE matches as PostgreSQL's does) */
    if (rc == 0 && !like_pattern(j->event, pattern, sizeof(pattern)))
        return DA_ERR_INVALID_ARG;
    if (rc == 0)
        rc = srv_prepare(
            db, &st,
            "INSERT INTO webhook_deliveries (webhook_id, event, body, created_at, state,"
            " attempts, next_at) SELECT id, ?2, ?3, ?4, 'pending', 0, ?4 FROM webhooks"
            " WHERE (?1 IS NULL AND (',' || events || ',') LIKE ?5 ESCAPE '!') OR id = ?1",
            "tttit", j->webhook_id, j->event, j->body, j->now, pattern);
    return rc != 0 ? rc : srv_run(st, &j->queued);
}

int srv_store_webhook_enqueue(struct srv_store *s, const char *webhook_id, const char *event,
                              const char *body, int64_t now, unsigned queue_max, int *queued)
{
    struct webhook_enqueue_job j = {webhook_id, event, body, now, queue_max, 0};
    int rc = submit(s, webhook_enqueue_job, &j);

    *queued = j.queued;
    return rc;
}

/* Columns of a delivery joined with its endpoint; attempts are column 10. */
#define DELIVERY_COLUMNS                                                                           \
    "d.id, d.webhook_id, w.url, w.secret, d.event, d.state, d.created_at, d.next_at,"              \
    " d.attempts, d.body"

static int attempt_row(struct srv_stmt *st, void *ctx)
{
    cJSON *a = cJSON_CreateObject();
    int64_t at = srv_col_int64(st, 0), status = srv_col_int64(st, 1);

    if (a == NULL || !cJSON_AddItemToArray(ctx, a)) {
        cJSON_Delete(a);
        return DA_ERR_NOMEM;
    }
    if (cJSON_AddNumberToObject(a, "at", (double)at) == NULL ||
        cJSON_AddNumberToObject(a, "status", (double)status) == NULL ||
        cJSON_AddStringToObject(a, "error",
                                srv_col_text(st, 2) != NULL ? srv_col_text(st, 2) : "") == NULL)
        return DA_ERR_NOMEM;
    return 0;
}

/* A delivery's attempts, oldest first, as a JSON array of {at, status,
 * error}. */
static int delivery_attempts_json(struct srv_conn *db, int64_t delivery_id, char **out)
{
    cJSON *arr = cJSON_CreateArray();
    int rc;

    *out = NULL;
    if (arr == NULL)
        return DA_ERR_NOMEM;
    rc = srv_each(db, attempt_row, arr,
                  "SELECT at, status, error FROM webhook_attempts WHERE delivery_id = ?1"
                  " ORDER BY n",
                  "i", delivery_id);
    if (rc == 0 && (*out = cJSON_PrintUnformatted(arr)) == NULL)
        rc = DA_ERR_NOMEM;
    cJSON_Delete(arr);
    return rc;
}

static int deliveries_each(struct srv_conn *db, struct srv_stmt *st, bool with_attempts,
                           srv_webhook_delivery_cb cb, void *ctx)
{
    char *attempts = NULL;
    int rc = 0, src = SRV_DONE;

    while (rc == 0 && (src = srv_step(st)) == SRV_ROW) {
        struct srv_webhook_delivery d;

        memset(&d, 0, sizeof(d));
        d.id = srv_col_int64(st, 0);
        srv_col_copy(st, 1, d.webhook_id, sizeof(d.webhook_id));
        srv_col_copy(st, 2, d.url, sizeof(d.url));
        srv_col_copy(st, 3, d.secret, sizeof(d.secret));
        srv_col_copy(st, 4, d.event, sizeof(d.event));
        srv_col_copy(st, 5, d.state, sizeof(d.state));
        d.created_at = srv_col_int64(st, 6);
        d.next_at = srv_col_int64(st, 7);
        d.attempts = srv_col_int(st, 8);
        d.body = (const char *)srv_col_text(st, 9);
        if (with_attempts) {
            free(attempts);
            attempts = NULL;
            rc = delivery_attempts_json(db, d.id, &attempts);
            d.attempts_json = attempts;
        }
        if (rc == 0)
            rc = d.body != NULL ? cb(&d, ctx) : DA_ERR_STORE;
    }
    free(attempts);
    if (rc == 0 && src != SRV_DONE)
        rc = src;
    srv_release(st);
    return rc;
}

int srv_store_webhook_due(struct srv_store *s, int64_t now, unsigned limit,
                          srv_webhook_delivery_cb cb, void *ctx)
{
    struct srv_stmt *st = NULL;
    int slot, rc;
    struct srv_conn *db = reader_get(s, &slot);

    rc = srv_prepare(db, &st,
                     "SELECT " DELIVERY_COLUMNS " FROM webhook_deliveries d JOIN webhooks w"
                     " ON w.id = d.webhook_id WHERE d.state = 'pending' AND d.next_at <= ?1"
                     " ORDER BY d.next_at, d.id LIMIT ?2",
                     "ii", now, (int64_t)limit);
    if (rc == 0)
        rc = deliveries_each(db, st, false, cb, ctx);
    reader_put(s, slot);
    return rc;
}

struct webhook_attempt_job {
    int64_t delivery_id;
    int64_t at;
    int status;
    const char *error;
    const char *state;
    int64_t next_at;
};

static int webhook_attempt_job(struct srv_conn *db, void *arg)
{
    struct webhook_attempt_job *j = arg;
    struct srv_stmt *st = NULL;
    int rc, n = 0;

    rc = srv_prepare(db, &st,
                     "INSERT INTO webhook_attempts (delivery_id, n, at, status, error)"
                     " SELECT id, attempts + 1, ?2, ?3, ?4 FROM webhook_deliveries WHERE id = ?1",
                     "iiit", j->delivery_id, j->at, (int64_t)j->status, j->error);
    if (rc == 0)
        rc = srv_run(st, &n);
    if (rc == 0 && n != 1)
        return DA_ERR_NOT_FOUND;
    if (rc == 0)
        rc = srv_prepare(db, &st,
                         "UPDATE webhook_deliveries SET attempts = attempts + 1, state = ?2,"
                         " next_at = ?3 WHERE id = ?1",
                         "iti", j->delivery_id, j->state, j->next_at);
    return rc != 0 ? rc : srv_run(st, NULL);
}

int srv_store_webhook_attempt(struct srv_store *s, int64_t delivery_id, int64_t at, int status,
                              const char *error, const char *state, int64_t next_at)
{
    struct webhook_attempt_job j = {delivery_id, at, status, error, state, next_at};

    return submit(s, webhook_attempt_job, &j);
}

int srv_store_webhook_deliveries(struct srv_store *s, const char *webhook_id, unsigned limit,
                                 srv_webhook_delivery_cb cb, void *ctx)
{
    struct srv_stmt *st = NULL;
    int slot, rc;
    struct srv_conn *db = reader_get(s, &slot);

    rc = srv_prepare(db, &st,
                     "SELECT " DELIVERY_COLUMNS " FROM webhook_deliveries d"
                     " JOIN webhooks w ON w.id = d.webhook_id WHERE d.webhook_id = ?1"
                     " ORDER BY d.id DESC LIMIT ?2",
                     "ti", webhook_id, (int64_t)limit);
    if (rc == 0)
        rc = deliveries_each(db, st, true, cb, ctx);
    reader_put(s, slot);
    return rc;
}

int srv_store_sweep_stale_ids(struct srv_store *s, int64_t now, srv_agent_id_cb cb, void *ctx)
{
    struct srv_stmt *st = NULL;
    int slot, rc, src = SRV_DONE;
    struct srv_conn *db = reader_get(s, &slot);

    rc = srv_prepare(db, &st,
                     "SELECT id FROM agents WHERE revoked = 0 AND stale_marked = 0"
                     " AND (CASE WHEN last_verified_at > created_at THEN last_verified_at"
                     " ELSE created_at END) < ?1 ORDER BY id",
                     "i", now - (int64_t)s->stale_after);
    while (rc == 0 && (src = srv_step(st)) == SRV_ROW) {
        const char *id = (const char *)srv_col_text(st, 0);

        rc = id != NULL ? cb(id, ctx) : DA_ERR_STORE;
    }
    if (rc == 0 && src != SRV_DONE)
        rc = src;
    srv_release(st);
    reader_put(s, slot);
    return rc;
}

/* ---- evidence packs ---- */

int srv_store_pack_reports(struct srv_store *s, int64_t vendor_id, int64_t from, int64_t to,
                           srv_pack_report_cb cb, void *ctx)
{
    struct srv_stmt *st = NULL;
    int slot, rc, src = SRV_DONE;
    struct srv_conn *db = reader_get(s, &slot);

    rc = srv_prepare(db, &st,
                     "SELECT r.id, r.agent_id, r.received_at, r.compliant, r.evidence_sha256,"
                     " r.verdict_json, r.transcript_json, r.receipt_json, b.body, r.format,"
                     " r.packed, r.verdict_sha256, r.pack_base, r.pruned_at, r.evidence_digest"
                     " FROM reports r JOIN agents a ON a.id = r.agent_id LEFT JOIN report_bodies b"
                     " ON b.report_id = r.id WHERE a.vendor_id = ?1 AND r.received_at >= ?2"
                     " AND r.received_at < ?3 ORDER BY r.received_at, r.id",
                     "iii", vendor_id, from, to);
    while (rc == 0 && (src = srv_step(st)) == SRV_ROW) {
        struct srv_pack_report p;
        struct report_texts t;

        memset(&p, 0, sizeof(p));
        memset(&t, 0, sizeof(t));
        srv_col_copy(st, 0, p.id, sizeof(p.id));
        srv_col_copy(st, 1, p.agent_id, sizeof(p.agent_id));
        p.received_at = srv_col_int64(st, 2);
        p.compliant = srv_col_int(st, 3) != 0;
        srv_col_copy(st, 4, p.evidence_sha256, sizeof(p.evidence_sha256));
        if (srv_col_int(st, 9) == 1) {
            rc = packed_load(db, st, 10, p.agent_id, p.evidence_sha256, LOAD_VERDICT | LOAD_BODY,
                             &t);
            p.verdict_json = t.verdict;
            p.transcript_json = t.transcript;
            p.receipt_json = t.receipt;
            p.body_json = t.body;
        } else {
            bool pruned = srv_col_int64(st, 13) != 0;

            p.verdict_json = srv_col_text(st, 5);
            p.transcript_json = pruned ? NULL : srv_col_text(st, 6);
            p.receipt_json = srv_col_text(st, 7);
            p.body_json = pruned ? NULL : srv_col_text(st, 8);
        }
        if (rc == 0)
            rc = p.verdict_json != NULL && p.receipt_json != NULL ? cb(&p, ctx) : DA_ERR_STORE;
        report_texts_free(&t);
    }
    if (rc == 0 && src < 0)
        rc = src;
    srv_release(st);
    reader_put(s, slot);
    return rc;
}

int srv_store_policy_by_sha256(struct srv_store *s, const char *sha256_hex, char **json,
                               int64_t *created_at)
{
    struct srv_stmt *st = NULL;
    int slot, rc;
    struct srv_conn *db = reader_get(s, &slot);

    *json = NULL;
    rc = srv_prepare(db, &st,
                     "SELECT json, created_at FROM policies WHERE sha256 = ?1 ORDER BY id LIMIT 1",
                     "t", sha256_hex);
    if (rc == 0) {
        if (srv_step(st) == SRV_ROW) {
            *json = srv_col_strdup(st, 0);
            *created_at = srv_col_int64(st, 1);
            rc = *json != NULL ? 0 : DA_ERR_NOMEM;
        } else {
            rc = DA_ERR_NOT_FOUND;
        }
        srv_release(st);
    }
    reader_put(s, slot);
    return rc;
}

struct boot_pin_job {
    const char *vendor;
    const char *digest;
    const char *what;
    const char *actor;
    int64_t now;
};

static int boot_pin_vendor(struct srv_conn *db, const char *name, int64_t *id)
{
    int rc = vendor_lookup(db, name, id);

    return rc == DA_ERR_NOT_FOUND ? DA_ERR_VENDOR_UNKNOWN : rc;
}

static int boot_pin_add_job(struct srv_conn *db, void *arg)
{
    struct boot_pin_job *j = arg;
    struct srv_stmt *st = NULL;
    int64_t vid = 0;
    int rc = boot_pin_vendor(db, j->vendor, &vid);

    if (rc == 0)
        rc = srv_prepare(db, &st,
                         "INSERT INTO boot_pins (vendor_id, digest, what, actor, created_at)"
                         " VALUES (?1, ?2, ?3, ?4, ?5)",
                         "ittti", vid, j->digest, j->what, j->actor, j->now);
    if (rc == 0)
        rc = srv_run(st, NULL);
    return rc == DA_ERR_STORE_CONFLICT ? DA_ERR_BOOT_PIN_EXISTS : rc;
}

int srv_store_boot_pin_add(struct srv_store *s, const char *vendor, const char *digest,
                           const char *what, const char *actor)
{
    struct boot_pin_job j = {vendor, digest, what, actor != NULL ? actor : "", now_s()};

    return submit(s, boot_pin_add_job, &j);
}

static int boot_pin_remove_job(struct srv_conn *db, void *arg)
{
    struct boot_pin_job *j = arg;
    struct srv_stmt *st = NULL;
    int64_t vid = 0;
    int changes = 0, rc = boot_pin_vendor(db, j->vendor, &vid);

    if (rc == 0)
        rc = srv_prepare(db, &st, "DELETE FROM boot_pins WHERE vendor_id = ?1 AND digest = ?2",
                         "it", vid, j->digest);
    if (rc == 0)
        rc = srv_run(st, &changes);
    return rc == 0 && changes != 1 ? DA_ERR_BOOT_PIN_UNKNOWN : rc;
}

int srv_store_boot_pin_remove(struct srv_store *s, const char *vendor, const char *digest)
{
    struct boot_pin_job j = {vendor, digest, NULL, NULL, 0};

    return submit(s, boot_pin_remove_job, &j);
}

int srv_store_boot_pins_list(struct srv_store *s, int64_t vendor_id, srv_boot_pin_cb cb, void *ctx)
{
    struct srv_stmt *st = NULL;
    int slot, rc, src = SRV_DONE;
    struct srv_conn *db = reader_get(s, &slot);

    rc = srv_prepare(db, &st,
                     "SELECT v.name, p.digest, p.what, p.actor, p.created_at FROM boot_pins p"
                     " JOIN vendors v ON v.id = p.vendor_id WHERE ?1 = 0 OR p.vendor_id = ?1"
                     " ORDER BY v.name, p.what, p.digest",
                     "i", vendor_id);
    while (rc == 0 && (src = srv_step(st)) == SRV_ROW) {
        struct srv_boot_pin p;

        memset(&p, 0, sizeof(p));
        srv_col_copy(st, 0, p.vendor, sizeof(p.vendor));
        srv_col_copy(st, 1, p.digest, sizeof(p.digest));
        srv_col_copy(st, 2, p.what, sizeof(p.what));
        srv_col_copy(st, 3, p.actor, sizeof(p.actor));
        p.created_at = srv_col_int64(st, 4);
        rc = cb(&p, ctx);
    }
    if (rc == 0 && src != SRV_DONE)
        rc = src;
    srv_release(st);
    reader_put(s, slot);
    return rc;
}

/* ---- audit ---- */

struct audit_job {
    const char *actor, *action, *subject, *code, *detail;
};

static int audit_job(struct srv_conn *db, void *arg)
{
    struct audit_job *j = arg;
    struct srv_stmt *st = NULL;
    int rc;

    rc = srv_prepare(db, &st,
                     "INSERT INTO audit_log (at, actor, action, subject, code, detail)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                     "ittttt", now_s(), j->actor, j->action, j->subject, j->code, j->detail);
    return rc != 0 ? rc : srv_run(st, NULL);
}

int srv_store_audit(struct srv_store *s, const char *actor, const char *action, const char *subject,
                    const char *code, const char *detail)
{
    struct audit_job j = {actor != NULL ? actor : "", action, subject != NULL ? subject : "",
                          code != NULL ? code : "", detail != NULL ? detail : ""};

    return submit(s, audit_job, &j);
}

int srv_store_audit_list(struct srv_store *s, const char *action, unsigned limit, srv_audit_cb cb,
                         void *ctx)
{
    struct srv_stmt *st = NULL;
    int slot, rc, src;
    struct srv_conn *db = reader_get(s, &slot);

    rc = srv_prepare(db, &st,
                     "SELECT id, at, actor, action, subject, code, detail FROM audit_log"
                     " WHERE (?1 IS NULL OR action = ?1) ORDER BY id DESC LIMIT ?2",
                     "ti", action, (int64_t)limit);
    while (rc == 0 && (src = srv_step(st)) == SRV_ROW) {
        struct srv_audit_entry e;

        e.id = srv_col_int64(st, 0);
        e.at = srv_col_int64(st, 1);
        srv_col_copy(st, 2, e.actor, sizeof(e.actor));
        srv_col_copy(st, 3, e.action, sizeof(e.action));
        srv_col_copy(st, 4, e.subject, sizeof(e.subject));
        srv_col_copy(st, 5, e.code, sizeof(e.code));
        e.detail = srv_col_strdup(st, 6);
        rc = e.detail != NULL ? cb(&e, ctx) : DA_ERR_NOMEM;
        free(e.detail);
    }
    srv_release(st);
    reader_put(s, slot);
    return rc;
}

int srv_store_audit_count(struct srv_store *s, int64_t *count)
{
    return read_int64(s, "SELECT count(*) FROM audit_log", count);
}

/* ---- administration: vendors, API tokens, paged lists ---- */

bool srv_vendor_name_valid(const char *name)
{
    size_t i, n = strlen(name);

    if (n == 0 || n > 63)
        return false;
    for (i = 0; i < n; i++) {
        char c = name[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

        if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
            return false;
    }
    return true;
}

static int vendor_create_job(struct srv_conn *db, void *arg)
{
    struct vendor_job *j = arg;

    if (vendor_lookup(db, j->name, &j->id) == 0)
        return DA_ERR_VENDOR_EXISTS;
    return srv_one_int64(db, &j->id,
                         "INSERT INTO vendors (name, created_at) VALUES (?1, ?2) RETURNING id",
                         "ti", j->name, now_s());
}

int srv_store_vendor_create(struct srv_store *s, const char *name, int64_t *id)
{
    struct vendor_job j = {name, 0};
    int rc;

    *id = 0;
    if (!srv_vendor_name_valid(name))
        return DA_ERR_VENDOR_NAME;
    rc = submit(s, vendor_create_job, &j);
    if (rc == 0)
        *id = j.id;
    return rc;
}

struct vendor_rename_job {
    const char *name, *new_name;
};

static int vendor_rename_job(struct srv_conn *db, void *arg)
{
    struct vendor_rename_job *j = arg;
    struct srv_stmt *st = NULL;
    int64_t id = 0;
    int changes = 0, rc;

    rc = vendor_lookup(db, j->name, &id);
    if (rc == DA_ERR_NOT_FOUND)
        return DA_ERR_VENDOR_UNKNOWN;
    if (rc == 0 && vendor_lookup(db, j->new_name, &id) == 0)
        return DA_ERR_VENDOR_EXISTS;
    if (rc == 0)
        rc = srv_prepare(db, &st, "UPDATE vendors SET name = ?2 WHERE name = ?1", "tt", j->name,
                         j->new_name);
    if (rc == 0)
        rc = srv_run(st, &changes);
    return rc == 0 && changes != 1 ? DA_ERR_VENDOR_UNKNOWN : rc;
}

int srv_store_vendor_rename(struct srv_store *s, const char *name, const char *new_name)
{
    struct vendor_rename_job j = {name, new_name};

    if (!srv_vendor_name_valid(new_name))
        return DA_ERR_VENDOR_NAME;
    if (strlen(name) >= SRV_MAX_NAME)
        return DA_ERR_VENDOR_UNKNOWN;
    return submit(s, vendor_rename_job, &j);
}

#define API_TOKEN_SQL                                                                              \
    "SELECT t.token_id, t.role, coalesce(v.name, ''), t.label, t.created_at, t.expires_at,"        \
    " t.last_used_at, t.revoked_at FROM api_tokens t LEFT JOIN vendors v ON v.id = t.vendor_id"

static void api_token_from_row(struct srv_stmt *st, struct srv_api_token *t)
{
    int role = srv_col_int(st, 1);

    memset(t, 0, sizeof(*t));
    srv_col_copy(st, 0, t->id, sizeof(t->id));
    t->role = (enum srv_role)role;
    srv_col_copy(st, 2, t->vendor, sizeof(t->vendor));
    srv_col_copy(st, 3, t->label, sizeof(t->label));
    t->created_at = srv_col_int64(st, 4);
    t->expires_at = srv_col_int64(st, 5);
    t->last_used_at = srv_col_int64(st, 6);
    t->revoked_at = srv_col_int64(st, 7);
}

int srv_store_api_tokens_list(struct srv_store *s, srv_api_token_cb cb, void *ctx)
{
    struct srv_stmt *st = NULL;
    int slot, rc, src;
    struct srv_conn *db = reader_get(s, &slot);

    rc = srv_prepare(db, &st, API_TOKEN_SQL " ORDER BY t.created_at, t.token_id", "");
    while (rc == 0 && (src = srv_step(st)) == SRV_ROW) {
        struct srv_api_token t;

        api_token_from_row(st, &t);
        rc = cb(&t, ctx);
    }
    srv_release(st);
    reader_put(s, slot);
    return rc;
}

struct api_token_update_job {
    const char *id;
    const char *sql; /* ?1 token id, ?2 time */
    int64_t at;
    struct srv_api_token *out;
};

static int api_token_update_job(struct srv_conn *db, void *arg)
{
    struct api_token_update_job *j = arg;
    struct srv_stmt *st = NULL;
    int changes = 0, rc;

    rc = srv_prepare(db, &st, j->sql, "ti", j->id, j->at);
    if (rc == 0)
        rc = srv_run(st, &changes);
    if (rc != 0 || j->out == NULL)
        return rc;
    rc = srv_prepare(db, &st, API_TOKEN_SQL " WHERE t.token_id = ?1", "t", j->id);
    if (rc != 0)
        return rc;
    if (srv_step(st) == SRV_ROW)
        api_token_from_row(st, j->out);
    else
        rc = DA_ERR_API_TOKEN_UNKNOWN;
    srv_release(st);
    return rc;
}

static bool token_id_valid(const char *id)
{
    size_t i;

    for (i = 0; id[i] != '\0'; i++) {
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            return false;
    }
    return i == SRV_TOKEN_ID_SIZE - 1;
}

int srv_store_api_token_revoke(struct srv_store *s, const char *id, int64_t now,
                               struct srv_api_token *out)
{
    struct api_token_update_job j = {
        id, "UPDATE api_tokens SET revoked_at = ?2 WHERE token_id = ?1 AND revoked_at = 0", now,
        out};

    if (!token_id_valid(id))
        return DA_ERR_API_TOKEN_UNKNOWN;
    return submit(s, api_token_update_job, &j);
}

int srv_store_api_token_expire(struct srv_store *s, const char *id, int64_t at,
                               struct srv_api_token *out)
{
    struct api_token_update_job j = {
        id, "UPDATE api_tokens SET expires_at = ?2 WHERE token_id = ?1", at, out};

    if (!token_id_valid(id))
        return DA_ERR_API_TOKEN_UNKNOWN;
    if (at <= 0)
        return DA_ERR_INVALID_ARG;
    return submit(s, api_token_update_job, &j);
}

int srv_store_api_token_touch(struct srv_store *s, const char *id, int64_t now)
{
    struct api_token_update_job j = {
        id, "UPDATE api_tokens SET last_used_at = ?2 WHERE token_id = ?1 AND last_used_at < ?2",
        now, NULL};

    return submit(s, api_token_update_job, &j);
}

static int64_t page_to(const struct srv_page *pg)
{
    return pg->to != 0 ? pg->to : INT64_MAX;
}

int srv_store_agents_page(struct srv_store *s, int64_t vendor_id, const char *status, int64_t now,
                          const struct srv_page *pg, srv_agent_cb cb, void *ctx)
{
    struct srv_stmt *st = NULL;
    int slot, rc, src;
    struct srv_conn *db = reader_get(s, &slot);

    rc = srv_prepare(db, &st,
                     "SELECT * FROM (SELECT " AGENT_COLUMNS
                     " FROM agents a JOIN vendors v ON v.id = a.vendor_id"
                     " WHERE (?2 = 0 OR a.vendor_id = ?2)"
                     " AND (?4 = 0 OR a.created_at > ?5 OR (a.created_at = ?5 AND a.id > ?6))) t"
                     " WHERE (?3 IS NULL OR t.status = ?3) ORDER BY t.created_at, t.id LIMIT ?7",
                     "iitiiti", now - (int64_t)s->stale_after, vendor_id, status,
                     (int64_t)pg->has_after, pg->after_n, pg->after_id, (int64_t)pg->limit);
    while (rc == 0 && (src = srv_step(st)) == SRV_ROW) {
        struct srv_agent *a = NULL;

        rc = agent_from_row(st, &a);
        if (rc == 0)
            rc = cb(a, ctx);
        srv_agent_free(a);
    }
    srv_release(st);
    reader_put(s, slot);
    return rc;
}

int srv_store_reports_page(struct srv_store *s, const char *agent_id, const struct srv_page *pg,
                           srv_report_cb cb, void *ctx)
{
    struct srv_stmt *st = NULL;
    int slot, rc, src;
    struct srv_conn *db = reader_get(s, &slot);

    rc = srv_prepare(db, &st,
                     "SELECT " REPORT_COLUMNS " FROM reports WHERE agent_id = ?1"
                     " AND received_at >= ?2 AND received_at < ?3"
                     " AND (?4 = 0 OR received_at < ?5 OR (received_at = ?5 AND id < ?6))"
                     " ORDER BY received_at DESC, id DESC LIMIT ?7",
                     "tiiiiti", agent_id, pg->from, page_to(pg), (int64_t)pg->has_after,
                     pg->after_n, pg->after_id, (int64_t)pg->limit);
    while (rc == 0 && (src = srv_step(st)) == SRV_ROW) {
        struct srv_report *r = NULL;

        rc = report_from_row(db, st, LOAD_VERDICT, &r);
        if (rc == 0)
            rc = cb(r, ctx);
        srv_report_free(r);
    }
    srv_release(st);
    reader_put(s, slot);
    return rc;
}

int srv_store_audit_page(struct srv_store *s, const char *action, const struct srv_page *pg,
                         srv_audit_cb cb, void *ctx)
{
    struct srv_stmt *st = NULL;
    int slot, rc, src;
    struct srv_conn *db = reader_get(s, &slot);

    rc = srv_prepare(db, &st,
                     "SELECT id, at, actor, action, subject, code, detail FROM audit_log"
                     " WHERE (?1 IS NULL OR action = ?1) AND at >= ?2 AND at < ?3"
                     " AND (?4 = 0 OR id < ?5) ORDER BY id DESC LIMIT ?6",
                     "tiiiii", action, pg->from, page_to(pg), (int64_t)pg->has_after, pg->after_n,
                     (int64_t)pg->limit);
    while (rc == 0 && (src = srv_step(st)) == SRV_ROW) {
        struct srv_audit_entry e;

        e.id = srv_col_int64(st, 0);
        e.at = srv_col_int64(st, 1);
        srv_col_copy(st, 2, e.actor, sizeof(e.actor));
        srv_col_copy(st, 3, e.action, sizeof(e.action));
        srv_col_copy(st, 4, e.subject, sizeof(e.subject));
        srv_col_copy(st, 5, e.code, sizeof(e.code));
        e.detail = srv_col_strdup(st, 6);
        rc = e.detail != NULL ? cb(&e, ctx) : DA_ERR_NOMEM;
        free(e.detail);
    }
    srv_release(st);
    reader_put(s, slot);
    return rc;
}

/* From the fleet summary's counts (schema 12), not a pass over every agent. */
int srv_store_agent_counts(struct srv_store *s, int64_t now, srv_agent_count_cb cb, void *ctx)
{
    return srv_store_fleet_status(s, 0, now, cb, ctx);
}

void srv_store_set_latency(struct srv_store *s, struct srv_histogram *writes,
                           struct srv_histogram *reads)
{
    s->lat_write = writes;
    s->lat_read = reads;
}

/* ---- retention ---- */

struct prune_job {
    int64_t cutoff, now;
    unsigned batch;
    int pruned;
    bool more;
};

/* A compact report keeps its receipt (and its verdict by digest); its
 * record is rewritten without transcript and body, against no base. */
static int prune_packed(struct srv_conn *db, const char *id, const char *agent_id,
                        const unsigned char *packed, size_t plen, const unsigned char *base_d,
                        int64_t now)
{
    struct srv_pack_rec rec, keep;
    unsigned char *base = NULL, *raw = NULL, *out = NULL, *z = NULL;
    size_t base_len = 0, raw_len = 0, out_len = 0, zlen = 0;
    int rc = base_get(db, agent_id, base_d, &base, &base_len);

    if (rc == 0)
        rc = srv_zstd_decompress(packed, plen, base, base_len, SRV_PACK_MAX_RAW, &raw, &raw_len);
    if (rc == 0)
        rc = srv_pack_rec_read(raw, raw_len, &rec);
    if (rc == 0) {
        memset(&keep, 0, sizeof(keep));
        keep.receipt = rec.receipt;
        keep.receipt_len = rec.receipt_len;
        rc = srv_pack_rec_write(&keep, &out, &out_len);
    }
    if (rc == 0)
        rc = srv_zstd_compress(out, out_len, NULL, 0, &z, &zlen);
    if (rc == 0)
        rc = srv_exec(db, NULL,
                      "UPDATE reports SET packed = ?2, pack_base = NULL, pruned_at = ?3"
                      " WHERE id = ?1",
                      "tbi", id, z, zlen, now);
    free(base);
    free(raw);
    free(out);
    free(z);
    return rc;
}

struct prune_row {
    char id[SRV_ID_HEX];
    char agent_id[SRV_ID_HEX];
    int format;
    unsigned char *packed;
    size_t plen;
    unsigned char base[32];
    bool has_base;
};

static int prune_job(struct srv_conn *db, void *arg)
{
    struct prune_job *j = arg;
    struct srv_stmt *st = NULL;
    struct prune_row *rows = calloc(j->batch, sizeof(*rows));
    int64_t gc = j->cutoff - 2 * BLOB_TOUCH_S;
    size_t n = 0, i;
    int rc, src = SRV_DONE, changes = 0;

    if (rows == NULL)
        return DA_ERR_NOMEM;
    /* reports received before the cutoff, from each agent's last mark on */
    rc = srv_prepare(db, &st,
                     "SELECT r.id, r.agent_id, r.format, r.packed, r.pack_base FROM agents a"
                     " JOIN reports r ON r.agent_id = a.id AND r.received_at >= a.pruned_through"
                     " AND r.received_at < ?1 WHERE a.pruned_through < ?1 AND r.pruned_at = 0"
                     " LIMIT ?2",
                     "ii", j->cutoff, (int64_t)j->batch);
    while (rc == 0 && n < j->batch && (src = srv_step(st)) == SRV_ROW) {
        struct prune_row *p = &rows[n++];

        srv_col_copy(st, 0, p->id, sizeof(p->id));
        srv_col_copy(st, 1, p->agent_id, sizeof(p->agent_id));
        p->format = srv_col_int(st, 2);
        rc = srv_col_blobdup(st, 3, &p->packed, &p->plen);
        p->has_base = srv_col_fixed(st, 4, p->base, 32);
    }
    if (rc == 0 && src < 0)
        rc = src;
    srv_release(st);
    for (i = 0; rc == 0 && i < n; i++) {
        struct prune_row *p = &rows[i];

        if (p->format == 1) {
            rc = p->packed != NULL ? prune_packed(db, p->id, p->agent_id, p->packed, p->plen,
                                                  p->has_base ? p->base : NULL, j->now)
                                   : DA_ERR_STORE_CORRUPT;
            /* a record that cannot be read cannot be shortened either: it
             * is marked and left (its reads stay DA_ERR_STORE_CORRUPT) so
             * that the sweep goes on */
            if (rc == DA_ERR_STORE_CORRUPT) {
                da_error_f("retention: report %s cannot be read; marked as pruned", p->id);
                rc = srv_exec(db, NULL, "UPDATE reports SET pruned_at = ?2 WHERE id = ?1", "ti",
                              p->id, j->now);
            }
        } else
            rc = srv_exec(db, NULL,
                          "UPDATE reports SET evidence_json = '', transcript_json = '',"
                          " pruned_at = ?2 WHERE id = ?1",
                          "ti", p->id, j->now);
        if (rc == 0)
            rc = srv_exec(db, NULL, "DELETE FROM report_bodies WHERE report_id = ?1", "t", p->id);
    }
    j->pruned = (int)n;
    j->more = n == j->batch;
    /* every agent's reports before the cutoff are done */
    if (rc == 0 && !j->more)
        rc = srv_exec(db, NULL, "UPDATE agents SET pruned_through = ?1 WHERE pruned_through < ?1",
                      "i", j->cutoff);
    /* once every report before the cutoff is pruned (older ones still to
     * prune need their base and their pieces): what no report within the
     * retention used goes, evidence sets, areas, body members, base
     * records, and verdicts that no report names */
    if (rc != 0 || j->more)
        goto out;
    rc = srv_exec(db, &changes,
                  "DELETE FROM blobs WHERE (agent_id, sha256) IN (SELECT agent_id, sha256"
                  " FROM blobs WHERE last_used_at < ?1 AND kind <> 2 LIMIT ?2)",
                  "ii", gc, (int64_t)j->batch);
    if (rc == 0 && changes == (int)j->batch)
        j->more = true;
    if (rc == 0)
        rc = srv_exec(db, &changes,
                      "DELETE FROM blobs WHERE (agent_id, sha256) IN (SELECT b.agent_id, b.sha256"
                      " FROM blobs b WHERE b.last_used_at < ?1 AND b.kind = 2 AND NOT EXISTS"
                      " (SELECT 1 FROM reports r WHERE r.agent_id = b.agent_id"
                      " AND r.verdict_sha256 = b.sha256) LIMIT ?2)",
                      "ii", gc, (int64_t)j->batch);
    /* verdicts still named by pruned reports: checked again a retention later */
    if (rc == 0)
        rc = srv_exec(db, NULL,
                      "UPDATE blobs SET last_used_at = ?2 WHERE (agent_id, sha256) IN (SELECT"
                      " agent_id, sha256 FROM blobs WHERE last_used_at < ?1 AND kind = 2 LIMIT ?3)",
                      "iii", gc, j->now, (int64_t)j->batch);
out:
    for (i = 0; i < n; i++)
        free(rows[i].packed);
    free(rows);
    return rc;
}

int srv_store_retention_sweep(struct srv_store *s, int64_t cutoff, int64_t now, unsigned batch,
                              int *pruned, bool *more)
{
    struct prune_job j = {cutoff, now, batch, 0, false};
    int rc;

    *pruned = 0;
    *more = false;
    if (batch == 0 || batch > 100000)
        return DA_ERR_INVALID_ARG;
    rc = submit(s, prune_job, &j);
    if (rc == 0) {
        *pruned = j.pruned;
        *more = j.more;
    }
    return rc;
}
