/* The schedules table (schedules.h). */
#include "store/schedules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"

static int finish(store_t *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? STORE_OK : store_fail(s, what);
}

static int count_of(store_t *s, const char *fn, const char *id, int *n, bool *exists)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT count(*), sum(id=?2) FROM schedules WHERE function=?1", -1, &st, NULL) !=
        SQLITE_OK)
        return store_fail(s, "count schedules");
    sqlite3_bind_text(st, 1, fn, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *n = sqlite3_column_int(st, 0);
        *exists = sqlite3_column_int(st, 1) > 0;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? STORE_OK : store_fail(s, "count schedules");
}

int store_schedule_put(store_t *s, const schedule_t *sc, bool *created)
{
    if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return store_fail(s, "save schedule");
    int n = 0;
    bool exists = false;
    int rc = count_of(s, sc->function, sc->id, &n, &exists);
    if (rc == STORE_OK && !exists && n >= SCHEDULES_PER_FUNCTION)
        rc = STORE_REFUSED;
    sqlite3_stmt *st;
    if (rc == STORE_OK)
        rc = sqlite3_prepare_v2(s->db,
                                "INSERT OR REPLACE INTO schedules (function, id, expression, input, enabled,"
                                " created_at, updated_at, last_fired_at, next_at)"
                                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                                -1, &st, NULL) == SQLITE_OK ? STORE_OK : store_fail(s, "save schedule");
    if (rc == STORE_OK) {
        sqlite3_bind_text(st, 1, sc->function, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, sc->id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, sc->expression, -1, SQLITE_TRANSIENT);
        if (sc->input)
            sqlite3_bind_text(st, 4, sc->input, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 5, sc->enabled);
        sqlite3_bind_int64(st, 6, (sqlite3_int64)sc->created_at);
        sqlite3_bind_int64(st, 7, (sqlite3_int64)sc->updated_at);
        sqlite3_bind_int64(st, 8, (sqlite3_int64)sc->last_fired_at);
        sqlite3_bind_int64(st, 9, (sqlite3_int64)sc->next_at);
        rc = finish(s, st, "save schedule");
    }
    if (created)
        *created = !exists;
    return store_end_transaction(s, rc, "save schedule");
}

#define COLUMNS "function, id, expression, input, enabled, created_at, updated_at, last_fired_at, next_at"

static void read_row(sqlite3_stmt *st, schedule_t *sc)
{
    memset(sc, 0, sizeof *sc);
    snprintf(sc->function, sizeof sc->function, "%s", (const char *)sqlite3_column_text(st, 0));
    snprintf(sc->id, sizeof sc->id, "%s", (const char *)sqlite3_column_text(st, 1));
    snprintf(sc->expression, sizeof sc->expression, "%s", (const char *)sqlite3_column_text(st, 2));
    const char *input = (const char *)sqlite3_column_text(st, 3);
    sc->input = input ? strdup(input) : NULL;
    sc->enabled = sqlite3_column_int(st, 4) != 0;
    sc->created_at = (uint64_t)sqlite3_column_int64(st, 5);
    sc->updated_at = (uint64_t)sqlite3_column_int64(st, 6);
    sc->last_fired_at = (uint64_t)sqlite3_column_int64(st, 7);
    sc->next_at = (uint64_t)sqlite3_column_int64(st, 8);
}

int store_schedule_get(store_t *s, const char *fn, const char *id, schedule_t *sc)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT " COLUMNS " FROM schedules WHERE function=?1 AND id=?2", -1, &st, NULL) !=
        SQLITE_OK)
        return store_fail(s, "read schedule");
    sqlite3_bind_text(st, 1, fn, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        read_row(st, sc);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return STORE_OK;
    return rc == SQLITE_DONE ? STORE_NOT_FOUND : store_fail(s, "read schedule");
}

int store_schedule_delete(store_t *s, const char *fn, const char *id)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "DELETE FROM schedules WHERE function=?1 AND id=?2", -1, &st, NULL) != SQLITE_OK)
        return store_fail(s, "delete schedule");
    sqlite3_bind_text(st, 1, fn, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
    int rc = finish(s, st, "delete schedule");
    return rc == STORE_OK && sqlite3_changes(s->db) == 0 ? STORE_NOT_FOUND : rc;
}

int store_schedules_each(store_t *s, const char *fn, schedule_fn cb, void *arg)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT " COLUMNS " FROM schedules WHERE ?1 IS NULL OR function=?1 ORDER BY function, id",
                           -1, &st, NULL) != SQLITE_OK)
        return store_fail(s, "list schedules");
    if (fn)
        sqlite3_bind_text(st, 1, fn, -1, SQLITE_TRANSIENT);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        schedule_t sc;
        read_row(st, &sc);
        cb(&sc, arg);
        free(sc.input);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? STORE_OK : store_fail(s, "list schedules");
}

int store_schedule_fired(store_t *s, const char *fn, const char *id, uint64_t fired_at, uint64_t next_at,
                         const store_event_t *ev)
{
    if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return store_fail(s, "keep a schedule's firing");
    int rc = store_event_add(s, ev);
    sqlite3_stmt *st;
    if (rc == STORE_OK)
        rc = sqlite3_prepare_v2(s->db, "UPDATE schedules SET last_fired_at=?3, next_at=?4 WHERE function=?1 AND id=?2",
                                -1, &st, NULL) == SQLITE_OK ? STORE_OK : store_fail(s, "keep a schedule's firing");
    if (rc == STORE_OK) {
        sqlite3_bind_text(st, 1, fn, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)fired_at);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)next_at);
        rc = finish(s, st, "keep a schedule's firing");
    }
    if (rc == STORE_OK && sqlite3_changes(s->db) == 0)
        rc = STORE_NOT_FOUND; /* deleted meanwhile: no firing either */
    return store_end_transaction(s, rc, "keep a schedule's firing");
}
