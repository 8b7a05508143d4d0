#include "pg_test.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#ifndef DA_BINARY_ROOT
#error "DA_BINARY_ROOT must name the build directory"
#endif
#define PG_STATE_FILE DA_BINARY_ROOT "/pg-cluster.env"

#define MADE_MAX 64
static char made[MADE_MAX][64]; /* databases this process made, for exit */
static bool atexit_set;

bool da_test_store_is_pg(void)
{
    const char *v = getenv("DA_TEST_STORE");

    return v != NULL && strcmp(v, "postgresql") == 0;
}

int da_test_pg_base(char *out, size_t n)
{
    const char *env = getenv("DA_TEST_PG");
    char line[1024];
    FILE *f;
    int rc = -1;

    if (env != NULL && env[0] != '\0')
        return snprintf(out, n, "%s", env) < (int)n ? 0 : -1;
    f = fopen(PG_STATE_FILE, "r");
    if (f == NULL) {
        fprintf(stderr, "pg_test: no cluster (%s missing: run the da_pg fixture)\n", PG_STATE_FILE);
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "uri=", 4) == 0 && line[4] != '\0')
            rc = snprintf(out, n, "%s", line + 4) < (int)n ? 0 : -1;
    }
    fclose(f);
    return rc;
}

/* The URI of base with its database replaced by db. */
static int uri_with_db(const char *base, const char *db, char *out, size_t n)
{
    const char *hostpart = strstr(base, "://");
    const char *slash, *query;
    int len;

    if (hostpart == NULL)
        return -1;
    hostpart += 3;
    slash = strchr(hostpart, '/');
    query = strchr(hostpart, '?');
    if (slash == NULL || (query != NULL && query < slash))
        slash = query != NULL ? query : hostpart + strlen(hostpart);
    len = snprintf(out, n, "%.*s/%s%s", (int)(slash - base), base, db, query != NULL ? query : "");
    return len > 0 && (size_t)len < n ? 0 : -1;
}

static const char *uri_db(const char *uri)
{
    const char *hostpart = strstr(uri, "://");
    const char *slash = hostpart != NULL ? strchr(hostpart + 3, '/') : NULL;

    return slash != NULL ? slash + 1 : NULL;
}

static void notice_quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

static int run_on(const char *uri, const char *sql, char *out, size_t size)
{
    PGconn *c = PQconnectdb(uri);
    PGresult *r = NULL;
    int rc = -1;

    if (out != NULL && size > 0)
        out[0] = '\0';
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "pg_test: connect: %s", PQerrorMessage(c));
        PQfinish(c);
        return -1;
    }
    PQsetNoticeProcessor(c, notice_quiet, NULL);
    r = PQexec(c, sql);
    if (PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK) {
        size_t o = 0;

        rc = 0;
        for (int i = 0; out != NULL && i < PQntuples(r); i++) {
            for (int j = 0; j < PQnfields(r); j++) {
                const char *v = PQgetisnull(r, i, j) ? "NULL" : PQgetvalue(r, i, j);
                int w = snprintf(out + o, size - o, "%s|", v);

                if (w < 0 || (size_t)w >= size - o) {
                    rc = -1;
                    break;
                }
                o += (size_t)w;
            }
        }
    } else {
        fprintf(stderr, "pg_test: %s: %s", sql, PQresultErrorMessage(r));
    }
    PQclear(r);
    PQfinish(c);
    return rc;
}

int da_test_pg_exec(const char *uri, const char *sql, char *out, size_t size)
{
    return run_on(uri, sql, out, size);
}

static void drop_made(void)
{
    char uri[1024];

    for (int i = 0; i < MADE_MAX; i++) {
        if (made[i][0] != '\0' && da_test_pg_base(uri, sizeof(uri)) == 0) {
            char sql[128];

            snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %.63s WITH (FORCE)", made[i]);
            run_on(uri, sql, NULL, 0);
            made[i][0] = '\0';
        }
    }
}

int da_test_pg_create(char *out, size_t n)
{
    static unsigned seq;
    char base[1024], name[64], sql[128];
    struct timespec ts;

    if (da_test_pg_base(base, sizeof(base)) != 0)
        return -1;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(name, sizeof(name), "da_t%ld_%u_%lx", (long)getpid(), seq++,
             (unsigned long)ts.tv_nsec);
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
    if (run_on(base, sql, NULL, 0) != 0)
        return -1;
    for (int i = 0; i < MADE_MAX; i++) {
        if (made[i][0] == '\0') {
            snprintf(made[i], sizeof(made[i]), "%s", name);
            break;
        }
    }
    if (!atexit_set) {
        atexit(drop_made);
        atexit_set = true;
    }
    return uri_with_db(base, name, out, n);
}

int da_test_pg_drop(const char *uri)
{
    char base[1024], sql[160];
    const char *db = uri_db(uri);
    size_t len;

    if (db == NULL || da_test_pg_base(base, sizeof(base)) != 0)
        return -1;
    len = strcspn(db, "?");
    if (len == 0 || len >= 64)
        return -1;
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %.*s WITH (FORCE)", (int)len, db);
    for (int i = 0; i < MADE_MAX; i++) {
        if (strlen(made[i]) == len && strncmp(made[i], db, len) == 0)
            made[i][0] = '\0';
    }
    return run_on(base, sql, NULL, 0);
}

int da_test_store_target(const char *dir, const char *name, char *out, size_t n)
{
    int len;

    if (da_test_store_is_pg())
        return da_test_pg_create(out, n);
    len = snprintf(out, n, "%s/%s", dir, name);
    return len > 0 && (size_t)len < n ? 0 : -1;
}

int da_test_store_target_drop(const char *target)
{
    if (strncmp(target, "postgresql://", 13) != 0)
        return 0;
    return da_test_pg_drop(target);
}
