/* The async_events table (events.h). */
#include "store/events.h"

#include "store/store_internal.h"

int store_event_add(store_t *s, const char *id, const char *function, const void *event, size_t len,
                    uint64_t accepted_at)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO async_events (id, function, event, attempts, accepted_at)"
                           " VALUES (?1, ?2, ?3, 0, ?4)",
                           -1, &st, NULL) != SQLITE_OK)
        return store_fail(s, "save event");
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, function, -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 3, len ? event : "", (int)len, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)accepted_at);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? STORE_OK : store_fail(s, "save event");
}

static int exec_id(store_t *s, const char *sql, const char *id, int n, const char *what)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return store_fail(s, what);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, n); /* SQLITE_RANGE where the statement has no ?2 */
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return store_fail(s, what);
    return sqlite3_changes(s->db) == 1 ? STORE_OK : STORE_NOT_FOUND;
}

int store_event_attempted(store_t *s, const char *id, int attempts)
{
    return exec_id(s, "UPDATE async_events SET attempts=?2 WHERE id=?1", id, attempts, "note an event's attempt");
}

int store_event_remove(store_t *s, const char *id)
{
    return exec_id(s, "DELETE FROM async_events WHERE id=?1", id, 0, "remove event");
}

int store_events_load(store_t *s, store_event_fn cb, void *arg)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT id, function, event, attempts, accepted_at FROM async_events"
                           " ORDER BY accepted_at, rowid",
                           -1, &st, NULL) != SQLITE_OK)
        return store_fail(s, "load events");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        cb((const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
           sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2), sqlite3_column_int(st, 3),
           (uint64_t)sqlite3_column_int64(st, 4), arg);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? STORE_OK : store_fail(s, "load events");
}

int store_events_count(store_t *s)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM async_events", -1, &st, NULL) != SQLITE_OK)
        return store_fail(s, "count events");
    int n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : store_fail(s, "count events");
    sqlite3_finalize(st);
    return n;
}
