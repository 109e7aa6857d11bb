#pragma once
/* Building one function of `impuls up`: its kind is detected from its files
 * (SmolFaaS's order), its build steps run in the build sandbox (box.h) over
 * a copy of its source at /var/task, and what comes out is a tree to zip and
 * the function fields to deploy it with. docs/build.md has the whole story. */
#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "builder/box.h"
#include "builder/envlist.h"
#include "builder/srcwalk.h"

enum build_kind { KIND_NONE, KIND_DOCKERFILE, KIND_GO, KIND_PYTHON, KIND_NODE, KIND_MANIFEST };

#define KIND_NONE_MESSAGE "no Dockerfile, go.mod, pyproject.toml, requirements.txt, package.json or impuls.json"

typedef struct build_ctx {
    build_box_t *box;
    const char *state_dir;
    bool verbose; /* print every step's output, and the Dockerfile's steps */
} build_ctx_t;

typedef struct build_job {
    const char *name;
    const char *src_dir;   /* the function's dir (absolute) */
    const src_list_t *src; /* its source (src_walk) */
    char work[PATH_MAX];   /* <state>/work/<name>: scratch, removed after */
    char task[PATH_MAX];   /* <work>/task: /var/task of the steps */
    char out[PATH_MAX];    /* the tree that becomes the function's code */
    json_t *spec;          /* the function's fields (no name, no code) */
    char why[1024];        /* why it failed */
    char *log;             /* the failed step's output, owned */
} build_job_t;

/* What kind of function dir this is (impuls.json alone: KIND_MANIFEST). */
enum build_kind kind_detect(const char *dir);
const char *kind_name(enum build_kind k);

/* Builds job (name, src_dir, src set by the caller) as kind. Returns 0, or
 * -1 with job->why (and job->log) set. */
int build_function(const build_ctx_t *ctx, enum build_kind kind, build_job_t *job);
void build_job_clear(build_job_t *job);

/* The kinds' recipes (kind_*.c): each fills job->spec and job->out from the
 * source copied to job->task. */
int build_go(const build_ctx_t *ctx, build_job_t *job);
int build_python(const build_ctx_t *ctx, build_job_t *job);
int build_node(const build_ctx_t *ctx, build_job_t *job);
int build_dockerfile(const build_ctx_t *ctx, build_job_t *job);
/* go build of job->task's module into job->task/<out>, with the build
 * sandbox's caches and no module proxy: the step's result (build_step). */
int build_go_binary(const build_ctx_t *ctx, build_job_t *job, const char *mod_flag, const char *out);
/* A Go handler of the daemon (runtime "go", handler_go.c): job->task holds
 * its source; on success job->task/bootstrap is the static executable. */
int build_go_handler(const build_ctx_t *ctx, build_job_t *job, const char *handler);
/* A C# handler of the daemon (runtime "csharp", handler_csharp.c): job->task
 * holds its .cs source (or its built assembly); on success job->task holds
 * <Assembly>.dll, checked to load and hold the handler. Returns 0; 1 when
 * the source is at fault (job->why, and job->log when a step spoke); -1 on
 * a local failure. */
int build_csharp_handler(const build_ctx_t *ctx, build_job_t *job, const char *handler);

/* Runs one step in the build sandbox over job->task, with env (the base
 * environment is added first) in cwd (NULL: /var/task). label names the
 * step in messages. Returns 0 when it exited 0; 1 when it failed (job->why
 * and job->log set); -1 when it could not run (job->why set). With res the
 * caller gets the step's output (also on success) and clears res. */
int build_step(const build_ctx_t *ctx, build_job_t *job, const char *label, const char *const *argv,
               const envlist_t *env, const char *cwd, box_result_t *res);
/* Prints text indented by four spaces, a line at a time. */
void print_indented(const char *text, size_t len);
/* Is path (relative to dir) a regular file / a directory, not through a link? */
bool job_has_file(const char *dir, const char *rel);
bool job_has_dir(const char *dir, const char *rel);
