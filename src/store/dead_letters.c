/* The dead_letters table and its drop counts (dead_letters.h). */
#include "store/dead_letters.h"

#include <stdio.h>
#include <string.h>

#include "store/store_internal.h"

static int step_done(store_t *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? STORE_OK : store_fail(s, what);
}

int store_dead_letter_add(store_t *s, const char *fn, const dead_letter_t *l, int max)
{
    sqlite3_stmt *st;
    if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return store_fail(s, "keep a dead letter");
    int rc = sqlite3_prepare_v2(s->db,
                                "INSERT OR REPLACE INTO dead_letters (id, function, event, condition, error, status,"
                                " attempts, accepted_at, failed_at, version)"
                                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                                -1, &st, NULL) == SQLITE_OK ? STORE_OK : store_fail(s, "keep a dead letter");
    if (rc == STORE_OK) {
        sqlite3_bind_text(st, 1, l->id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, fn, -1, SQLITE_TRANSIENT);
        sqlite3_bind_blob(st, 3, l->event_len ? l->event : "", (int)l->event_len, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, l->condition, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 5, l->error ? l->error : "", -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 6, l->status);
        sqlite3_bind_int(st, 7, l->attempts);
        sqlite3_bind_int64(st, 8, (sqlite3_int64)l->accepted_at);
        sqlite3_bind_int64(st, 9, (sqlite3_int64)l->failed_at);
        sqlite3_bind_int(st, 10, l->version);
        rc = step_done(s, st, "keep a dead letter");
    }
    /* Beyond max: the oldest go, counted. */
    int over = 0;
    if (rc == STORE_OK &&
        sqlite3_prepare_v2(s->db, "SELECT count(*) - ?2 FROM dead_letters WHERE function=?1", -1, &st, NULL) ==
            SQLITE_OK) {
        sqlite3_bind_text(st, 1, fn, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 2, max);
        over = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
        sqlite3_finalize(st);
    }
    if (rc == STORE_OK && over > 0) {
        rc = sqlite3_prepare_v2(s->db,
                                "DELETE FROM dead_letters WHERE rowid IN (SELECT rowid FROM dead_letters"
                                " WHERE function=?1 ORDER BY failed_at, rowid LIMIT ?2)",
                                -1, &st, NULL) == SQLITE_OK ? STORE_OK : store_fail(s, "drop dead letters");
        if (rc == STORE_OK) {
            sqlite3_bind_text(st, 1, fn, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int(st, 2, over);
            rc = step_done(s, st, "drop dead letters");
        }
        if (rc == STORE_OK)
            rc = sqlite3_prepare_v2(s->db,
                                    "INSERT INTO dead_letter_drops (function, dropped) VALUES (?1, ?2)"
                                    " ON CONFLICT(function) DO UPDATE SET dropped = dropped + ?2",
                                    -1, &st, NULL) == SQLITE_OK ? STORE_OK : store_fail(s, "count dropped letters");
        if (rc == STORE_OK) {
            sqlite3_bind_text(st, 1, fn, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int(st, 2, over);
            rc = step_done(s, st, "count dropped letters");
        }
    }
    return store_end_transaction(s, rc, "keep a dead letter");
}

int store_dead_letters_each(store_t *s, const char *fn, const char *id, dead_letter_fn cb, void *arg)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT id, event, condition, error, status, attempts, accepted_at, failed_at, version"
                           " FROM dead_letters WHERE function=?1 AND (?2 IS NULL OR id=?2) ORDER BY failed_at, rowid",
                           -1, &st, NULL) != SQLITE_OK)
        return store_fail(s, "read dead letters");
    sqlite3_bind_text(st, 1, fn, -1, SQLITE_TRANSIENT);
    if (id)
        sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
    int rc, n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        dead_letter_t l = {.event = sqlite3_column_blob(st, 1), .event_len = (size_t)sqlite3_column_bytes(st, 1),
                           .condition = (const char *)sqlite3_column_text(st, 2),
                           .error = (const char *)sqlite3_column_text(st, 3), .status = sqlite3_column_int(st, 4),
                           .attempts = sqlite3_column_int(st, 5),
                           .accepted_at = (uint64_t)sqlite3_column_int64(st, 6),
                           .failed_at = (uint64_t)sqlite3_column_int64(st, 7),
                           .version = sqlite3_column_int(st, 8)};
        const char *got = (const char *)sqlite3_column_text(st, 0);
        snprintf(l.id, sizeof l.id, "%s", got ? got : "");
        cb(&l, arg);
        n++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return store_fail(s, "read dead letters");
    return id && !n ? STORE_NOT_FOUND : STORE_OK;
}

int store_dead_letters_remove(store_t *s, const char *fn, const char *id)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "DELETE FROM dead_letters WHERE function=?1 AND (?2 IS NULL OR id=?2)", -1, &st,
                           NULL) != SQLITE_OK)
        return store_fail(s, "remove dead letters");
    sqlite3_bind_text(st, 1, fn, -1, SQLITE_TRANSIENT);
    if (id)
        sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
    int rc = step_done(s, st, "remove dead letters");
    return rc == STORE_OK && sqlite3_changes(s->db) == 0 ? STORE_NOT_FOUND : rc;
}

int store_dead_letters_count(store_t *s, const char *fn)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM dead_letters WHERE function=?1", -1, &st, NULL) != SQLITE_OK)
        return store_fail(s, "count dead letters");
    sqlite3_bind_text(st, 1, fn, -1, SQLITE_TRANSIENT);
    int n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : store_fail(s, "count dead letters");
    sqlite3_finalize(st);
    return n;
}

int64_t store_dead_letters_dropped(store_t *s, const char *fn)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT dropped FROM dead_letter_drops WHERE function=?1", -1, &st, NULL) !=
        SQLITE_OK)
        return store_fail(s, "count dropped letters");
    sqlite3_bind_text(st, 1, fn, -1, SQLITE_TRANSIENT);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return n;
}
