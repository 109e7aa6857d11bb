#pragma once
/* What the store's files share (store.c, tokens.c, events.c, event_config.c, dead_letters.c, schedules.c, versions.c). Not for use outside src/store. */
#include <sqlite3.h>

#include "store/event_config.h"
#include "store/store.h"

/* A function's event invoke config as last read or written (event_config.c):
 * each Event attempt's end reads it, and that should not be a query. Slots
 * are picked by the name's hash; another name in the slot is a miss. */
enum { EVENT_CONFIG_SLOTS = 256 };
typedef struct event_config_slot {
    char fn[FN_NAME_MAX + 1]; /* "": empty */
    int found;                /* STORE_OK or STORE_NOT_FOUND */
    event_config_t c;
} event_config_slot_t;

struct store {
    sqlite3 *db;
    char dir[4096];
    char err[512];
    event_config_slot_t event_configs[EVENT_CONFIG_SLOTS];
};

/* Ends a transaction begun with BEGIN IMMEDIATE: COMMIT when rc is STORE_OK,
 * else ROLLBACK; returns rc, or STORE_ERR when the COMMIT failed. Never
 * leaves one open (a failed COMMIT may: busy, I/O), as every later write of
 * the daemon's one connection would be in it. */
int store_end_transaction(store_t *s, int rc, const char *what);

/* Drops fn's cached event invoke config (its row changed or went). */
void event_config_forget(store_t *s, const char *fn);

/* Records what failed (store_last_error), logs it, returns STORE_ERR. */
int store_fail(store_t *s, const char *what);
