/* The event_invoke_configs table (event_config.h). */
#include "store/event_config.h"

#include <stdio.h>
#include <string.h>

#include "store/store_internal.h"

void event_config_defaults(event_config_t *c)
{
    memset(c, 0, sizeof *c);
    c->max_retry_attempts = c->max_event_age_s = -1;
}

int event_config_retries(const event_config_t *c)
{
    return c->max_retry_attempts >= 0 ? c->max_retry_attempts : EVENT_RETRIES_DEFAULT;
}

int event_config_age_s(const event_config_t *c)
{
    return c->max_event_age_s >= 0 ? c->max_event_age_s : EVENT_AGE_DEFAULT_S;
}

static event_config_slot_t *slot_of(store_t *s, const char *fn)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *p = fn; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return &s->event_configs[h % EVENT_CONFIG_SLOTS];
}

void event_config_forget(store_t *s, const char *fn)
{
    event_config_slot_t *slot = slot_of(s, fn);
    if (!strcmp(slot->fn, fn))
        slot->fn[0] = '\0';
}

static int read_row(store_t *s, const char *fn, event_config_t *c);

int store_event_config_get(store_t *s, const char *fn, event_config_t *c)
{
    event_config_slot_t *slot = slot_of(s, fn);
    if (slot->fn[0] && !strcmp(slot->fn, fn)) {
        *c = slot->c;
        return slot->found;
    }
    int rc = read_row(s, fn, c);
    if (rc != STORE_ERR && strlen(fn) < sizeof slot->fn) {
        snprintf(slot->fn, sizeof slot->fn, "%s", fn);
        slot->found = rc;
        slot->c = *c;
    }
    return rc;
}

static int read_row(store_t *s, const char *fn, event_config_t *c)
{
    event_config_defaults(c);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT max_retry_attempts, max_event_age_s, on_success, on_failure, updated_at"
                           " FROM event_invoke_configs WHERE function=?1",
                           -1, &st, NULL) != SQLITE_OK)
        return store_fail(s, "read event invoke config");
    sqlite3_bind_text(st, 1, fn, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (sqlite3_column_type(st, 0) != SQLITE_NULL)
            c->max_retry_attempts = sqlite3_column_int(st, 0);
        if (sqlite3_column_type(st, 1) != SQLITE_NULL)
            c->max_event_age_s = sqlite3_column_int(st, 1);
        const char *ok = (const char *)sqlite3_column_text(st, 2), *bad = (const char *)sqlite3_column_text(st, 3);
        snprintf(c->on_success, sizeof c->on_success, "%s", ok ? ok : "");
        snprintf(c->on_failure, sizeof c->on_failure, "%s", bad ? bad : "");
        c->updated_at = (uint64_t)sqlite3_column_int64(st, 4);
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return STORE_OK;
    return rc == SQLITE_DONE ? STORE_NOT_FOUND : store_fail(s, "read event invoke config");
}

int store_event_config_put(store_t *s, const char *fn, const event_config_t *c)
{
    event_config_forget(s, fn);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT OR REPLACE INTO event_invoke_configs (function, max_retry_attempts,"
                           " max_event_age_s, on_success, on_failure, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                           -1, &st, NULL) != SQLITE_OK)
        return store_fail(s, "save event invoke config");
    sqlite3_bind_text(st, 1, fn, -1, SQLITE_TRANSIENT);
    if (c->max_retry_attempts >= 0)
        sqlite3_bind_int(st, 2, c->max_retry_attempts);
    if (c->max_event_age_s >= 0)
        sqlite3_bind_int(st, 3, c->max_event_age_s);
    sqlite3_bind_text(st, 4, c->on_success, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, c->on_failure, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)c->updated_at);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? STORE_OK : store_fail(s, "save event invoke config");
}

int store_event_config_delete(store_t *s, const char *fn)
{
    event_config_forget(s, fn);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "DELETE FROM event_invoke_configs WHERE function=?1", -1, &st, NULL) != SQLITE_OK)
        return store_fail(s, "delete event invoke config");
    sqlite3_bind_text(st, 1, fn, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return store_fail(s, "delete event invoke config");
    return sqlite3_changes(s->db) == 1 ? STORE_OK : STORE_NOT_FOUND;
}
