#pragma once
/* What the store's files share (store.c, tokens.c, events.c, event_config.c, dead_letters.c). Not for use outside src/store. */
#include <sqlite3.h>

#include "store/store.h"

struct store {
    sqlite3 *db;
    char dir[4096];
    char err[512];
};

/* Records what failed (store_last_error), logs it, returns STORE_ERR. */
int store_fail(store_t *s, const char *what);
