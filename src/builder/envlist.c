#include "builder/envlist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char **find(const envlist_t *e, const char *key)
{
    size_t k = strlen(key);
    for (size_t i = 0; i < e->n; i++)
        if (!strncmp(e->v[i], key, k) && e->v[i][k] == '=')
            return &e->v[i];
    return NULL;
}

int env_set(envlist_t *e, const char *key, const char *value)
{
    size_t len = strlen(key) + strlen(value) + 2;
    char *kv = malloc(len);
    if (!kv)
        return -1;
    snprintf(kv, len, "%s=%s", key, value);
    char **at = find(e, key);
    if (at) {
        free(*at);
        *at = kv;
        return 0;
    }
    if (e->n + 1 >= e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 16;
        char **v = realloc(e->v, cap * sizeof *v);
        if (!v) {
            free(kv);
            return -1;
        }
        e->v = v;
        e->cap = cap;
    }
    e->v[e->n++] = kv;
    e->v[e->n] = NULL;
    return 0;
}

int env_base(envlist_t *e)
{
    return env_set(e, "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin") |
           env_set(e, "HOME", "/tmp") | env_set(e, "TMPDIR", "/tmp") | env_set(e, "LANG", "C.UTF-8");
}

const char *env_get(const envlist_t *e, const char *key)
{
    char **at = find(e, key);
    return at ? strchr(*at, '=') + 1 : NULL;
}

void env_free(envlist_t *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->v[i]);
    free(e->v);
    e->v = NULL;
    e->n = e->cap = 0;
}
