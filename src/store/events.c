/* The async_events table (events.h). */
#include "store/events.h"

#include "store/store_internal.h"

int store_event_add(store_t *s, const store_event_t *e)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO async_events (id, function, event, attempts, accepted_at, hops, version)"
                           " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                           -1, &st, NULL) != SQLITE_OK)
        return store_fail(s, "save event");
    sqlite3_bind_text(st, 1, e->id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, e->function, -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 3, e->len ? e->event : "", (int)e->len, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 4, e->attempts);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)e->accepted_at);
    sqlite3_bind_int(st, 6, e->hops);
    sqlite3_bind_int(st, 7, e->version);
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
                           "SELECT id, function, event, attempts, accepted_at, hops, version FROM async_events"
                           " ORDER BY accepted_at, rowid",
                           -1, &st, NULL) != SQLITE_OK)
        return store_fail(s, "load events");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        store_event_t e = {.id = (const char *)sqlite3_column_text(st, 0),
                           .function = (const char *)sqlite3_column_text(st, 1),
                           .event = sqlite3_column_blob(st, 2), .len = (size_t)sqlite3_column_bytes(st, 2),
                           .attempts = sqlite3_column_int(st, 3), .accepted_at = (uint64_t)sqlite3_column_int64(st, 4),
                           .hops = sqlite3_column_int(st, 5), .version = sqlite3_column_int(st, 6)};
        cb(&e, arg);
    }
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

int store_events_of(store_t *s, const char *function, int *count, uint64_t *oldest)
{
    sqlite3_stmt *st;
    *count = 0;
    *oldest = 0;
    if (sqlite3_prepare_v2(s->db, "SELECT count(*), min(accepted_at) FROM async_events WHERE function=?1", -1, &st,
                           NULL) != SQLITE_OK)
        return store_fail(s, "count events");
    sqlite3_bind_text(st, 1, function, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *count = sqlite3_column_int(st, 0);
        *oldest = (uint64_t)sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? STORE_OK : store_fail(s, "count events");
}
