#include "db_digest.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <sqlite3.h>

static int digest_table(sqlite3 *db, const char *name, EVP_MD_CTX *md)
{
    char sql[256];
    sqlite3_stmt *st = NULL;
    int rc, i;

    if (strcmp(name, "fleet_counts") == 0)
        /* signed deltas the server's sweep folds at any time: their sums are
         * the state, the rows that hold them are not */
        snprintf(sql, sizeof(sql),
                 "SELECT vendor_id, state, shape, sum(n) FROM fleet_counts GROUP BY vendor_id,"
                 " state, shape HAVING sum(n) <> 0 ORDER BY vendor_id, state, shape");
    else
        snprintf(sql, sizeof(sql), "SELECT * FROM \"%s\"", name);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    EVP_DigestUpdate(md, name, strlen(name) + 1);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (i = 0; i < sqlite3_column_count(st); i++) {
            const void *p = sqlite3_column_blob(st, i);
            int n = sqlite3_column_bytes(st, i), t = sqlite3_column_type(st, i);

            EVP_DigestUpdate(md, &t, sizeof(t));
            EVP_DigestUpdate(md, &n, sizeof(n));
            if (p != NULL)
                EVP_DigestUpdate(md, p, (size_t)n);
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int da_test_db_digest(const char *path, char out[65])
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char h[32];
    unsigned hl = 0;
    int rc = -1, i;

    if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
        goto out;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        goto out;
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
                           -1, &st, NULL) != SQLITE_OK)
        goto out;
    rc = 0;
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW)
        rc = digest_table(db, (const char *)sqlite3_column_text(st, 0), md);
    if (rc == 0 && EVP_DigestFinal_ex(md, h, &hl) != 1)
        rc = -1;
    for (i = 0; rc == 0 && i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", h[i]);
out:
    sqlite3_finalize(st);
    sqlite3_close(db);
    EVP_MD_CTX_free(md);
    return rc;
}
