#include "runtime_api/runtimes.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Debian's interpreters: the sandbox binds /usr read-only, so an interpreter
 * under a home directory (pyenv, nvm) is never what a function gets. */
static const runtime_def_t RUNTIMES[] = {
    {"nodejs20", LANG_NODE, "/usr/bin/node", ".js", "index", "nodejs", "index.handler"},
    {"nodejs18", LANG_NODE, "/usr/bin/node", ".js", "index", "nodejs", "index.handler"},
    {"python311", LANG_PYTHON, "/usr/bin/python3", ".py", "main", "python", "main.handler"},
    {"python39", LANG_PYTHON, "/usr/bin/python3", ".py", "main", "python", "main.handler"},
    {"provided", LANG_PROVIDED, NULL, "", "bootstrap", "custom", "bootstrap"},
    {"go", LANG_GO, NULL, ".go", "main", "go", "Handler"},
    {"csharp", LANG_CSHARP, "/usr/bin/mono", ".cs", "Function", "csharp", "Function::Function.Function::FunctionHandler"},
    {NULL, 0, NULL, NULL, NULL, NULL, NULL},
};

const runtime_def_t *runtime_all(void) { return RUNTIMES; }

/* Other systems' spellings of the same runtimes: impulse's "python3.9" and
 * Lambda's "python3.11", "nodejs20.x". A function keeps the canonical name. */
static const struct {
    const char *alias, *name;
} ALIASES[] = {
    {"python3.11", "python311"}, {"python3.9", "python39"}, {"nodejs20.x", "nodejs20"},
    {"nodejs18.x", "nodejs18"},  {"provided.al2023", "provided"}, {"provided.al2", "provided"},
    {"go1.x", "go"},              {"dotnet8", "csharp"},       {"dotnet6", "csharp"},
    {"dotnet", "csharp"},
    {NULL, NULL},
};

const runtime_def_t *runtime_find(const char *name)
{
    for (int i = 0; ALIASES[i].alias; i++)
        if (!strcmp(ALIASES[i].alias, name))
            name = ALIASES[i].name;
    for (const runtime_def_t *r = RUNTIMES; r->name; r++)
        if (!strcmp(r->name, name))
            return r;
    return NULL;
}

bool runtime_available(const runtime_def_t *rt)
{
    if (rt->lang == LANG_GO)
        return access("/usr/bin/go", X_OK) == 0; /* to build it */
    if (rt->lang == LANG_CSHARP)
        return access(rt->interpreter, X_OK) == 0 && access("/usr/bin/mcs", X_OK) == 0;
    return !rt->interpreter || access(rt->interpreter, X_OK) == 0;
}

bool runtime_builds_source(const runtime_def_t *rt) { return rt && (rt->lang == LANG_GO || rt->lang == LANG_CSHARP); }

void runtime_http_entry(const runtime_def_t *rt, const char *handler, char *out, size_t outlen)
{
    const char *base = strrchr(handler, '/');
    bool has_ext = strchr(base ? base + 1 : handler, '.') != NULL;
    snprintf(out, outlen, "%s%s", handler, has_ext || !rt || !rt->source_ext ? "" : rt->source_ext);
}

int runtime_argv(const runtime_def_t *rt, const char *runtime_dir, const char *task_dir, char bootstrap[4096],
                 const char *argv[8])
{
    int n = 0;
    if (rt->lang == LANG_PROVIDED || rt->lang == LANG_GO) {
        snprintf(bootstrap, 4096, "%s/bootstrap", task_dir);
        argv[n++] = bootstrap;
        argv[n] = NULL;
        return n;
    }
    argv[n++] = rt->interpreter;
    if (rt->lang == LANG_PYTHON) {
        argv[n++] = "-s"; /* no user site-packages */
        snprintf(bootstrap, 4096, "%s/python/bootstrap.py", runtime_dir);
    } else if (rt->lang == LANG_CSHARP) {
        snprintf(bootstrap, 4096, "%s/csharp/lib/ImpulsBootstrap.exe", runtime_dir);
    } else {
        snprintf(bootstrap, 4096, "%s/nodejs/bootstrap.js", runtime_dir);
    }
    argv[n++] = bootstrap;
    argv[n] = NULL;
    return n;
}
