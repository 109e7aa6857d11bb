#include "builder/state.h"

#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/util.h"

struct state {
    sqlite3 *db;
};

/* user_version 1: this schema. A later impuls may migrate; this one refuses
 * what it does not know rather than guess. */
static const char *SCHEMA =
    "CREATE TABLE IF NOT EXISTS functions ("
    " name TEXT PRIMARY KEY, dir TEXT NOT NULL, kind TEXT NOT NULL, source_hash TEXT NOT NULL,"
    " artifact_sha256 TEXT NOT NULL, spec TEXT NOT NULL, version INTEGER NOT NULL,"
    " built_at TEXT NOT NULL);"
    "PRAGMA user_version = 1;";

int state_open(const char *dir, bool create, state_t **out, char *err, size_t errlen)
{
    *out = NULL;
    char path[PATH_MAX];
    if (!fmt_path(path, sizeof path, "%s/state.db", dir)) {
        snprintf(err, errlen, "state dir path too long: %s", dir);
        return -1;
    }
    struct stat st;
    if (stat(path, &st) < 0) {
        if (errno != ENOENT) {
            snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
            return -1;
        }
        if (!create)
            return 0;
        int rc = mkdir_p(dir, 0700);
        if (rc < 0) {
            snprintf(err, errlen, "cannot create %s: %s", dir, strerror(-rc));
            return -1;
        }
    } else if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s is not a state database (not a file)", path);
        return -1;
    }
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0), NULL);
    int version = -1;
    sqlite3_stmt *q = NULL;
    /* Reading the schema first: a file that is not SQLite fails here,
     * before anything is written to it. */
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        version = sqlite3_column_int(q, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(q);
    if (rc == SQLITE_OK && version == 0) {
        /* New, or a db of someone else if it holds tables. */
        rc = sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master", -1, &q, NULL);
        if (rc == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW && sqlite3_column_int(q, 0) > 0) {
            snprintf(err, errlen, "%s is not a state database of impuls up", path);
            sqlite3_finalize(q);
            sqlite3_close(db);
            return -1;
        }
        sqlite3_finalize(q);
        if (rc == SQLITE_OK)
            rc = sqlite3_exec(db, SCHEMA, NULL, NULL, NULL);
    } else if (rc == SQLITE_OK && version != 1) {
        snprintf(err, errlen, "%s has schema version %d, this impuls knows 1", path, version);
        sqlite3_close(db);
        return -1;
    }
    if (rc == SQLITE_OK) {
        /* The same check on a db that says it is ours. */
        rc = sqlite3_prepare_v2(db, "SELECT name, dir, kind, source_hash, artifact_sha256, spec, version, built_at"
                                    " FROM functions LIMIT 0", -1, &q, NULL);
        sqlite3_finalize(q);
    }
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "%s is not a usable state database: %s", path,
                 db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return -1;
    }
    sqlite3_busy_timeout(db, 5000);
    state_t *s = calloc(1, sizeof *s);
    if (!s) {
        sqlite3_close(db);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->db = db;
    *out = s;
    return 0;
}

void state_close(state_t *s)
{
    if (!s)
        return;
    sqlite3_close(s->db);
    free(s);
}

const char *state_error(state_t *s) { return s ? sqlite3_errmsg(s->db) : "no state database"; }

void state_row_clear(state_row_t *row)
{
    free(row->spec);
    memset(row, 0, sizeof *row);
}

static void copy_col(sqlite3_stmt *q, int i, char *out, size_t size)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    snprintf(out, size, "%s", t ? (const char *)t : "");
}

int state_get(state_t *s, const char *name, state_row_t *row)
{
    memset(row, 0, sizeof *row);
    if (!s)
        return 0;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, "SELECT name, dir, kind, source_hash, artifact_sha256, spec, version, built_at"
                                  " FROM functions WHERE name = ?", -1, &q, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        copy_col(q, 0, row->name, sizeof row->name);
        copy_col(q, 1, row->dir, sizeof row->dir);
        copy_col(q, 2, row->kind, sizeof row->kind);
        copy_col(q, 3, row->source_hash, sizeof row->source_hash);
        copy_col(q, 4, row->artifact_sha256, sizeof row->artifact_sha256);
        const unsigned char *spec = sqlite3_column_text(q, 5);
        row->spec = strdup(spec ? (const char *)spec : "{}");
        row->version = sqlite3_column_int(q, 6);
        copy_col(q, 7, row->built_at, sizeof row->built_at);
    }
    sqlite3_finalize(q);
    return rc == SQLITE_ROW ? (row->spec ? 1 : -1) : rc == SQLITE_DONE ? 0 : -1;
}

int state_put(state_t *s, const state_row_t *row)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO functions (name, dir, kind, source_hash,"
                                  " artifact_sha256, spec, version, built_at) VALUES (?,?,?,?,?,?,?,?)",
                           -1, &q, NULL) != SQLITE_OK)
        return -1;
    const char *text[] = {row->name, row->dir, row->kind, row->source_hash, row->artifact_sha256,
                          row->spec ? row->spec : "{}"};
    for (int i = 0; i < 6; i++)
        sqlite3_bind_text(q, i + 1, text[i], -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 7, row->version);
    sqlite3_bind_text(q, 8, row->built_at, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : -1;
}

int state_delete(state_t *s, const char *name)
{
    if (!s)
        return 0;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, "DELETE FROM functions WHERE name = ?", -1, &q, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : -1;
}

int state_names(state_t *s, char ***names, size_t *n)
{
    *names = NULL;
    *n = 0;
    if (!s)
        return 0;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, "SELECT name FROM functions ORDER BY name", -1, &q, NULL) != SQLITE_OK)
        return -1;
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            char **v = realloc(*names, cap * sizeof *v);
            if (!v)
                break;
            *names = v;
        }
        (*names)[(*n)++] = strdup((const char *)sqlite3_column_text(q, 0));
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : -1;
}
