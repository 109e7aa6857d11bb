/* The tokens table (see tokens.h). */
#include "store/tokens.h"

#include <stdio.h>
#include <string.h>

#include "store/store_internal.h"

static void copy_text(sqlite3_stmt *st, int col, char *out, size_t size)
{
    const unsigned char *v = sqlite3_column_text(st, col);
    snprintf(out, size, "%s", v ? (const char *)v : "");
}

int store_token_add(store_t *s, const store_token_t *t)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO tokens (id, hash, scope, functions, created_at, expires_at, aws_key_id,"
                           " aws_secret) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                           -1, &st, NULL) != SQLITE_OK)
        return store_fail(s, "save token");
    sqlite3_bind_text(st, 1, t->id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, t->hash, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, t->scope, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, t->functions, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, t->created_at);
    sqlite3_bind_int64(st, 6, t->expires_at);
    if (t->aws_key_id[0]) {
        sqlite3_bind_text(st, 7, t->aws_key_id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 8, t->aws_secret, -1, SQLITE_TRANSIENT);
    } else {
        sqlite3_bind_null(st, 7);
        sqlite3_bind_null(st, 8);
    }
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_CONSTRAINT)
        return STORE_EXISTS;
    return rc == SQLITE_DONE ? STORE_OK : store_fail(s, "save token");
}

static int get_by(store_t *s, const char *column, const char *value, store_token_t *out)
{
    sqlite3_stmt *st;
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT id, hash, scope, functions, created_at, expires_at, aws_key_id, aws_secret FROM tokens"
             " WHERE %s=?1", column);
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return store_fail(s, "read token");
    sqlite3_bind_text(st, 1, value, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        copy_text(st, 0, out->id, sizeof out->id);
        copy_text(st, 1, out->hash, sizeof out->hash);
        copy_text(st, 2, out->scope, sizeof out->scope);
        copy_text(st, 3, out->functions, sizeof out->functions);
        out->created_at = sqlite3_column_int64(st, 4);
        out->expires_at = sqlite3_column_int64(st, 5);
        copy_text(st, 6, out->aws_key_id, sizeof out->aws_key_id);
        copy_text(st, 7, out->aws_secret, sizeof out->aws_secret);
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return STORE_OK;
    return rc == SQLITE_DONE ? STORE_NOT_FOUND : store_fail(s, "read token");
}

int store_token_get(store_t *s, const char *id, store_token_t *out)
{
    return get_by(s, "id", id, out);
}

int store_token_get_aws(store_t *s, const char *aws_key_id, store_token_t *out)
{
    return get_by(s, "aws_key_id", aws_key_id, out);
}

int store_token_delete(store_t *s, const char *id)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "DELETE FROM tokens WHERE id=?1", -1, &st, NULL) != SQLITE_OK)
        return store_fail(s, "delete token");
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return store_fail(s, "delete token");
    return sqlite3_changes(s->db) == 1 ? STORE_OK : STORE_NOT_FOUND;
}

int store_tokens_clear(store_t *s)
{
    return sqlite3_exec(s->db, "DELETE FROM tokens", NULL, NULL, NULL) == SQLITE_OK ? STORE_OK
                                                                                     : store_fail(s, "delete tokens");
}

int store_token_count(store_t *s)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM tokens", -1, &st, NULL) != SQLITE_OK)
        return store_fail(s, "count tokens");
    int n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    return n < 0 ? store_fail(s, "count tokens") : n;
}

json_t *store_tokens_json(store_t *s)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT id, scope, functions, created_at, expires_at, aws_key_id FROM tokens"
                           " ORDER BY created_at, id",
                           -1, &st, NULL) != SQLITE_OK) {
        store_fail(s, "list tokens");
        return NULL;
    }
    json_t *arr = json_array();
    int rc;
    while (arr && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *t = json_pack("{s:s, s:s, s:s, s:I, s:I}", "id", sqlite3_column_text(st, 0), "scope",
                              sqlite3_column_text(st, 1), "functions", sqlite3_column_text(st, 2), "created_at",
                              (json_int_t)sqlite3_column_int64(st, 3), "expires_at",
                              (json_int_t)sqlite3_column_int64(st, 4));
        if (t && sqlite3_column_text(st, 5))
            json_object_set_new(t, "aws_access_key_id", json_string((const char *)sqlite3_column_text(st, 5)));
        json_array_append_new(arr, t);
    }
    sqlite3_finalize(st);
    if (arr && rc != SQLITE_DONE) { /* not a part of the list as if it were all of it */
        json_decref(arr);
        store_fail(s, "list tokens");
        return NULL;
    }
    return arr;
}
