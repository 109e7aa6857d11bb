#pragma once
/* The function registry and, per function, its pools of instances: warm idle
 * instances, busy ones, and a bounded queue of invocations waiting for one. */
#include <event2/buffer.h>
#include <event2/http.h>
#include <stdbool.h>
#include <sys/queue.h>

#include "pool/daemon.h"
#include "store/function.h"

typedef struct fn fn_t;
typedef struct instance instance_t;
typedef struct invocation invocation_t;

enum { LOG_TAIL_BYTES = 4096 };

/* Registry (the in-memory copy of the functions table). */
fn_t *registry_find(const char *name);
fn_t *registry_add(const fn_config_t *cfg);
const fn_config_t *fn_cfg(const fn_t *fn);
/* New configuration: invocations from now on see it; warm instances of the old
 * one are retired (idle ones at once, busy ones when their call ends). */
void registry_update(fn_t *fn, const fn_config_t *cfg);
/* Stops every instance, fails queued calls with 404, forgets the function. */
void registry_remove(fn_t *fn);
void registry_each(void (*cb)(fn_t *fn, void *arg), void *arg);

/* A published version's own function (store/versions.h): its configuration
 * as published, its own instances (never shared with $LATEST or another
 * version: an update of $LATEST leaves them warm), the function's log. Not
 * found by registry_find nor listed. Made on its first call. */
fn_t *registry_find_version(const char *name, int version);
fn_t *registry_add_version(const fn_config_t *cfg);
/* Its number; 0 for $LATEST (and a chamber's). */
int fn_published(const fn_t *fn);
/* Removes name's version (every one: version 0), as registry_remove. */
void registry_remove_versions(const char *name, int version);
/* Each live published version's function of name. */
void registry_versions_each(const char *name, void (*cb)(fn_t *fn, void *arg), void *arg);

/* Provisioned concurrency (provisioned.c): fn keeps n instances started and
 * initialized, never reaped for being idle (while it has no more than n),
 * replaced when one dies. n 0: none. */
void pool_set_provisioned(fn_t *fn, int n);
int pool_provisioned(const fn_t *fn);
/* Tops fn up to its provisioned instances (at the set, and after an exit). */
void pool_provision(fn_t *fn);
/* Its instances initialized (idle or running a call). */
int pool_provisioned_ready(const fn_t *fn);
/* Why it is short of them ("" when nothing went wrong). */
const char *pool_provision_error(const fn_t *fn);

/* A pinned function (a chamber's): not listed or found by name, its one
 * instance is started by pool_start_instance and never reaped for being idle
 * nor replaced when it dies; the watch hears when it is ready and when gone. */
typedef struct fn_watch {
    void (*ready)(void *arg, int sandbox_pid); /* its runtime asked for work the first time */
    void (*exited)(void *arg, bool clean, const char *how); /* the instance is gone */
    void *arg;
} fn_watch_t;
fn_t *registry_add_pinned(const fn_config_t *cfg, const char *log_name, const fn_watch_t *watch);
/* Stops telling the watcher (before it goes away). */
void fn_unwatch(fn_t *fn);
int pool_start_instance(fn_t *fn);
/* The sandbox a function's instances get (its "isolation"), ?local=true aside. */
enum sandbox_backend fn_backend(const fn_t *fn);

/* How an invocation ended, as the pool reports it to whoever started it
 * (each front end makes its own answer of it: api/invoke_answer.c, the
 * Event invocations of events/async_invoke.c). Valid during the callback. */
enum invoke_outcome_kind {
    OUTCOME_RESULT,         /* the runtime's response: body, len */
    OUTCOME_FUNCTION_ERROR, /* the runtime's /error: body, len, error_type_header */
    OUTCOME_ERROR,          /* the platform's: status, error_type, message, stack */
};
typedef struct invoke_outcome {
    enum invoke_outcome_kind kind;
    const char *request_id;
    const char *body;
    size_t len;
    const char *error_type_header; /* Lambda-Runtime-Function-Error-Type, or NULL */
    int status;                    /* OUTCOME_ERROR: 429, 502, 503, 504, ... */
    const char *error_type, *message;
    struct json_t *stack; /* or NULL */
    double duration_ms;
    const char *log_tail; /* want_log_tail: the call's last LOG_TAIL_BYTES of log; else NULL */
    size_t log_tail_len;
} invoke_outcome_t;
typedef void (*invoke_done_fn)(const invoke_outcome_t *o, void *arg);

/* Starts an invocation of fn with event (taken over); done(arg) hears how
 * it ended, exactly once: answered, failed, timed out, or the queue full
 * (possibly before this returns). */
void pool_invoke(fn_t *fn, enum sandbox_backend backend, struct evbuffer *event, bool want_log_tail,
                 invoke_done_fn done, void *arg);
/* The same under a request id of the caller's (36 characters): an Event
 * invocation keeps its id through its attempts, as Lambda's does. */
void pool_invoke_as(fn_t *fn, struct evbuffer *event, const char *request_id, invoke_done_fn done, void *arg);

/* For an HTTP-server function: the request itself goes to its server (path
 * and the request's query), the answer streams back on req (direct.c).
 * done(arg) hears of a call that failed before its answer began, while req's
 * client is still there, to answer req itself. */
void pool_invoke_direct(fn_t *fn, struct evhttp_request *req, const char *path, invoke_done_fn done, void *arg);

/* Keeps fn (its struct, not its name) until fn_unref; has it been removed? */
void fn_ref(fn_t *fn);
void fn_unref(fn_t *fn);
bool fn_removed(const fn_t *fn);
/* Appends to the function's log (a line of the platform's: "[impuls] ..."). */
void fn_log_write(fn_t *fn, const char *data, size_t len);
/* Writes what the functions' logs hold for this loop turn (fn_log.c): before
 * a log file is read; fn_logs_shutdown also at exit. */
void fn_logs_flush(void);
void fn_logs_shutdown(void);

/* Does a live instance still run the code in tasks/<task_key>? */
bool pool_task_in_use(const char *task_key);
/* Reaps exited sandboxes (on SIGCHLD). */
void pool_reap(void);
/* Kills every instance (shutdown). */
void pool_kill_all(void);
int pool_instance_count(void);
/* Pre-made sandboxes per language (--prewarm; 0: none), how many exist now,
 * and freeing their timer at exit. */
void shells_configure(int per_lang);
int shells_count(void);
/* Pre-made sandboxes ready to be claimed for a language ("nodejs", "python", "csharp"). */
int shells_ready(const char *language);
/* A Python function with this many instances that needs another gets a
 * zygote (--python-zygote; 0: never), and Python zygotes not yet reaped
 * (src/pool/zygotes.c). */
void zygotes_configure(int after);
int zygotes_count(void);
void shells_shutdown(void);
/* JSON list of the live instances of fn (all of them when fn is NULL). */
struct json_t *pool_instances_json(fn_t *fn);
