#pragma once
/* The function registry and, per function, its pools of instances: warm idle
 * instances, busy ones, and a bounded queue of invocations waiting for one. */
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

/* Starts an invocation: answers req when the function has answered (or failed,
 * timed out, or the queue was full). event is taken over. */
void pool_invoke(fn_t *fn, enum sandbox_backend backend, struct evhttp_request *req,
                 struct evbuffer *event, bool want_log_tail);

/* The Lambda Invoke API: the function's payload is the answer as it is
 * (200; function and runtime errors as 200 with X-Amz-Function-Error). */
void pool_invoke_lambda(fn_t *fn, struct evhttp_request *req, struct evbuffer *event, bool want_log_tail);
/* An API Gateway payload 2.0 event (router, chambers): the result answers
 * as API Gateway maps it (a bare string is the body; cookies). */
void pool_invoke_apigw(fn_t *fn, struct evhttp_request *req, struct evbuffer *event);
/* Lambda's Event invocation: no one waits; a failed call (function error,
 * crash, timeout, throttle) is tried again twice, 1 s and then 2 s later.
 * event is taken over. Pending retries are dropped at shutdown. */
void pool_invoke_async(fn_t *fn, struct evbuffer *event);
void pool_drop_retries(void);

/* For an HTTP-server function: the request itself goes to its server (path
 * and the request's query), the answer streams back (direct.c). */
void pool_invoke_direct(fn_t *fn, struct evhttp_request *req, const char *path);

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
