#pragma once
/* The state of `impuls up` (--state-db DIR, default .impuls): DIR/state.db,
 * SQLite, one row per function that was built and deployed. Beside it
 * DIR/artifacts/<name>.zip (the last build's output) and DIR/cache/. */
#include <stdbool.h>
#include <stddef.h>

typedef struct state state_t;

typedef struct state_row {
    char name[65];
    char dir[4096];             /* the function's source dir (absolute) */
    char kind[16];              /* dockerfile, go, python, node, impuls.json */
    char source_hash[65];       /* src_hash of the dir when it was built */
    char artifact_sha256[65];   /* of artifacts/<name>.zip: the daemon's code_sha256 */
    char *spec;                 /* the function's fields as JSON (no zip), owned */
    int version;                /* the daemon's version after the last deploy */
    char built_at[32];          /* ISO 8601 */
} state_row_t;

/* Opens DIR/state.db. create: makes DIR and the db when missing; otherwise a
 * missing db gives *out = NULL and 0. A file that is not a usable state db
 * is an error (-1, err set), and nothing is changed. */
int state_open(const char *dir, bool create, state_t **out, char *err, size_t errlen);
void state_close(state_t *s);
/* 1 found, 0 not, -1 error. */
int state_get(state_t *s, const char *name, state_row_t *row);
int state_put(state_t *s, const state_row_t *row);
int state_delete(state_t *s, const char *name);
/* The names of every row, sorted; free each and the array. */
int state_names(state_t *s, char ***names, size_t *n);
void state_row_clear(state_row_t *row);
const char *state_error(state_t *s);
