#pragma once
/* An environment being put together for a build step: "KEY=VALUE" strings
 * in order, a later set of a key replacing the earlier one. */
#include <stddef.h>

typedef struct envlist {
    char **v; /* NULL-terminated */
    size_t n, cap;
} envlist_t;

/* Returns 0 or -1 (out of memory). */
int env_set(envlist_t *e, const char *key, const char *value);
/* The base of every step: PATH, HOME=/tmp, TMPDIR, LANG. */
int env_base(envlist_t *e);
const char *env_get(const envlist_t *e, const char *key);
void env_free(envlist_t *e);
