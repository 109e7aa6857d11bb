#include "builder/envlist.h"

#include <sched.h>
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

/* The CPUs this process may run on (its affinity), at most BUILD_JOBS_MAX. */
static int build_jobs(void)
{
    cpu_set_t set;
    int n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
    return n < 1 ? 1 : n > BUILD_JOBS_MAX ? BUILD_JOBS_MAX : n;
}

int env_base(envlist_t *e)
{
    /* make (and node-gyp, by JOBS) compiles on every CPU the step may use:
     * a package that builds native code (curl, an addon) otherwise takes
     * one core of several. */
    char jobs[16], makeflags[24];
    snprintf(jobs, sizeof jobs, "%d", build_jobs());
    snprintf(makeflags, sizeof makeflags, "-j%s", jobs);
    return env_set(e, "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin") |
           env_set(e, "HOME", "/tmp") | env_set(e, "TMPDIR", "/tmp") | env_set(e, "LANG", "C.UTF-8") |
           env_set(e, "MAKEFLAGS", makeflags) | env_set(e, "JOBS", jobs);
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
