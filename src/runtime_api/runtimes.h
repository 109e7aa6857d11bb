#pragma once
/* The runtimes a function can name, and the interpreter each one maps to. */
#include <stdbool.h>
#include <stddef.h>

/* LANG_PROVIDED: no interpreter; the function ships its executable (Lambda's
 * custom runtime: /var/task/bootstrap, or in mode "http" the server itself). */
/* LANG_GO: no interpreter either; the daemon builds the function's Go
 * source into /var/task/bootstrap (api/source_build.c), which runs as
 * provided's does. handler names the Go function (default Handler). */
/* LANG_CSHARP: C# on Mono. The daemon compiles the function's .cs source
 * (or checks its .dll) into /var/task/<Assembly>.dll; the runtime
 * (runtimes/csharp, built by make) runs under /usr/bin/mono. handler is
 * Lambda's Assembly::Namespace.Class::Method. */
enum runtime_lang { LANG_NODE, LANG_PYTHON, LANG_CSHARP, LANG_PROVIDED, LANG_GO };

typedef struct runtime_def {
    const char *name;        /* as in the API: nodejs20, python311, ... */
    enum runtime_lang lang;
    const char *interpreter; /* absolute path on the host and in the sandbox; NULL: provided */
    const char *source_ext;  /* extension of an inline code file */
    const char *default_module; /* module of a handler without a dot */
    const char *language;       /* as listed by GET /api/v1/runtimes */
    const char *default_handler; /* when a create names none */
} runtime_def_t;

const runtime_def_t *runtime_find(const char *name);
/* All runtimes, terminated by an entry whose name is NULL. */
const runtime_def_t *runtime_all(void);
bool runtime_available(const runtime_def_t *rt);
/* Is a function of rt built by the daemon from its source (Go, C#)? */
bool runtime_builds_source(const runtime_def_t *rt);

/* The file an HTTP-server function (mode "http") starts from, for its
 * `handler`: the handler itself when its last path segment has an extension
 * or the runtime has none (provided), else the handler with the runtime's
 * extension ("main" -> "main.py", "app/server" -> "app/server.js"). Inline
 * code is written to this name, and the server is started from it unless the
 * code holds a file named exactly as the handler (a zip's "bin/www"). */
void runtime_http_entry(const runtime_def_t *rt, const char *handler, char *out, size_t outlen);

/* Builds the argv that starts the bootstrap of rt; runtime_dir and task_dir
 * are where runtimes/ and the code are seen by the process. Returns the
 * number of args. */
int runtime_argv(const runtime_def_t *rt, const char *runtime_dir, const char *task_dir, char bootstrap[4096],
                 const char *argv[8]);
