/* POST /api/v1/functions and PUT /api/v1/functions/{name}.
 *
 * A request is checked at once; a zip is then unpacked on a worker thread
 * (it may take a second for a large one) and the write is committed back on
 * the loop, against the function as it is by then. Inline code is small and
 * written on the loop. Either way the store is changed only by a complete,
 * valid request. */
#include <event2/http.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/fn_spec.h"
#include "api/lambda_shape.h"
#include "api/source_build.h"
#include "http/http_util.h"
#include "net/egress.h"
#include "pool/pool.h"
#include "store/store.h"
#include "util/log.h"
#include "util/offload.h"
#include "util/util.h"

typedef struct write_job {
    struct evhttp_request *req; /* NULL once the client has gone */
    struct evhttp_connection *conn;
    bool create;
    char name[FN_NAME_MAX + 1];
    json_t *body; /* keeps in.code alive */
    fn_input_t in;
    /* Set by the worker for a zip. */
    int rc; /* 0, -1 refused (err), -2 local failure (err) */
    char err[4096]; /* a compiler's words fit */
    char task_key[65], code_sha[65];
    /* A source the daemon built (source_build.h): the source, as stored. */
    bool built;
    char built_key[65];
    char built_runtime[32], built_handler[FN_HANDLER_MAX + 1]; /* what it was built for */
    void *src; /* owned copy when it came from the store */
    const void *src_ref;
    size_t src_len;
} write_job_t;

static void on_client_closed(struct evhttp_connection *conn, void *arg)
{
    write_job_t *job = arg;
    job->req = NULL;
    job->conn = NULL;
}

static void job_free(write_job_t *job)
{
    if (job->conn)
        evhttp_connection_set_closecb(job->conn, NULL, NULL);
    fn_input_clear(&job->in);
    json_decref(job->body);
    free(job->src);
    D->n_inflight--;
    free(job);
}

/* The function as written: the REST API's view, or Lambda's (its reserved
 * concurrency alone for Put/DeleteFunctionConcurrency). */
static void answer(struct evhttp_request *req, int status, const fn_config_t *cfg)
{
    if (lambda_concurrency_request(req)) {
        if (evhttp_request_get_command(req) == EVHTTP_REQ_DELETE)
            return http_send(req, 204, NULL, 0);
        return http_json(req, status, json_pack("{s:i}", "ReservedConcurrentExecutions", cfg->concurrency));
    }
    http_json(req, status, lambda_request(req) ? lambda_config_json(cfg) : fn_config_to_json(cfg));
}

static void fail(write_job_t *job, int rc, const char *err)
{
    if (rc == -3)
        return http_error(job->req, 409, "ResourceConflictException", "%s", err);
    http_error(job->req, rc == -1 ? 400 : 507,
               rc == -1 ? "InvalidParameterValueException" : "StorageException", "%s", err);
}

/* Writes inline code as the file cfg's handler names: the handler's module
 * (mode "handler") or the file the server starts from (mode "http"). */
static int save_inline(const char *code, size_t len, fn_config_t *cfg, char *err, size_t errlen)
{
    const runtime_def_t *rt = runtime_find(cfg->runtime);
    if (rt->lang == LANG_PROVIDED) {
        snprintf(err, errlen, "runtime '%s' needs a zip holding its executable, not inline code", rt->name);
        return -1;
    }
    char module[FN_HANDLER_MAX + 1], func[FN_HANDLER_MAX + 1], file[FN_HANDLER_MAX + 16];
    if (!strcmp(cfg->mode, "http")) {
        runtime_http_entry(rt, cfg->handler, file, sizeof file);
    } else {
        if (!handler_split(cfg->handler, rt, module, func, err, errlen))
            return -1;
        /* Python imports "a.b" as a/b.py; Node requires "a.b" as a.b.js. */
        if (rt->lang == LANG_PYTHON)
            for (char *p = module; *p; p++)
                if (*p == '.')
                    *p = '/';
        snprintf(file, sizeof file, "%s%s", module, rt->source_ext);
    }
    if (store_put_blob(D->store, code, len, cfg->code_sha256) != STORE_OK ||
        store_materialize_inline(D->store, code, len, file, cfg->task_key) != STORE_OK) {
        snprintf(err, errlen, "cannot store the code: %s", store_last_error(D->store));
        return -2;
    }
    cfg->code_size = (int64_t)len;
    return 0;
}

/* The new configuration of an update: the current one with the request's
 * fields applied. */
static void apply_patch(const fn_input_t *in, fn_config_t *next)
{
    if (in->has_runtime)
        snprintf(next->runtime, sizeof next->runtime, "%s", in->cfg.runtime);
    if (in->has_handler)
        snprintf(next->handler, sizeof next->handler, "%s", in->cfg.handler);
    if (in->has_env) {
        json_decref(next->env);
        next->env = json_incref(in->cfg.env);
    }
    if (in->has_memory)
        next->memory_mb = in->cfg.memory_mb;
    if (in->has_timeout)
        next->timeout_s = in->cfg.timeout_s;
    if (in->has_concurrency)
        next->concurrency = in->cfg.concurrency;
    if (in->has_idle)
        next->idle_timeout_s = in->cfg.idle_timeout_s;
    if (in->has_style)
        snprintf(next->style, sizeof next->style, "%s", in->cfg.style);
    if (in->has_reuse)
        next->reuse = in->cfg.reuse;
    if (in->has_mode)
        snprintf(next->mode, sizeof next->mode, "%s", in->cfg.mode);
    if (in->has_command) {
        json_decref(next->command);
        next->command = json_deep_copy(in->cfg.command);
    } else if (in->has_mode && strcmp(in->cfg.mode, "http")) {
        json_decref(next->command); /* a handler function starts no server */
        next->command = NULL;
    }
    if (in->has_description)
        snprintf(next->description, sizeof next->description, "%s", in->cfg.description);
    if (in->has_isolation)
        snprintf(next->isolation, sizeof next->isolation, "%s", in->cfg.isolation);
    if (in->has_auth)
        snprintf(next->auth, sizeof next->auth, "%s", in->cfg.auth);
    if (in->has_network)
        snprintf(next->network, sizeof next->network, "%s", in->cfg.network);
    if (in->has_egress_allow) {
        json_decref(next->egress_allow);
        next->egress_allow = json_deep_copy(in->cfg.egress_allow);
    }
    /* A label names one version: a new version has only the one it is given. */
    snprintf(next->version_label, sizeof next->version_label, "%s", in->has_label ? in->cfg.version_label : "");
}

/* Puts the code of the request (or, for a changed handler or runtime, the
 * stored inline code again) into cfg. */
static int place_code(write_job_t *job, const fn_config_t *old, fn_config_t *cfg, char *err,
                      size_t errlen)
{
    const fn_input_t *in = &job->in;
    err[0] = '\0';
    if (job->built) {
        /* Another write may have changed the function while this one built. */
        char dir[4096];
        store_task_dir(D->store, job->built_key, dir);
        if (strcmp(cfg->runtime, job->built_runtime) || strcmp(cfg->handler, job->built_handler)) {
            snprintf(err, errlen, "the function changed while its source was built (runtime or handler); "
                                  "send the update again");
            return -3;
        }
        if (!path_exists(dir)) {
            snprintf(err, errlen, "the build's output is gone; send the update again");
            return -2;
        }
        if (store_put_blob(D->store, job->src_ref, job->src_len, cfg->code_sha256) != STORE_OK) {
            snprintf(err, errlen, "cannot store the code: %s", store_last_error(D->store));
            return -2;
        }
        snprintf(cfg->task_key, sizeof cfg->task_key, "%s", job->built_key);
        cfg->code_size = (int64_t)job->src_len;
        return 0;
    }
    if (in->zip) {
        /* The loop may have collected this code dir (same zip, an old user
         * reaped) between the worker's unpack and now: make sure it is there. */
        int rc = store_materialize_zip(D->store, in->zip, in->zip_len, job->task_key, err, errlen);
        if (rc == STORE_OK)
            rc = store_put_blob(D->store, in->zip, in->zip_len, job->code_sha);
        if (rc != STORE_OK) {
            if (!err[0])
                snprintf(err, errlen, "cannot store the code: %s", store_last_error(D->store));
            return -2;
        }
        snprintf(cfg->task_key, sizeof cfg->task_key, "%s", job->task_key);
        snprintf(cfg->code_sha256, sizeof cfg->code_sha256, "%s", job->code_sha);
        cfg->code_size = (int64_t)in->zip_len;
        return 0;
    }
    if (in->code)
        return save_inline(in->code, in->code_len, cfg, err, errlen);
    /* (A built function's stored code is its source, never re-saved here.) */
    bool was_inline = old && !source_needs_build(old->runtime) && !strcmp(fn_config_code_kind(old), "inline");
    if (!was_inline || !(in->has_handler || in->has_runtime || in->has_mode))
        return 0; /* a zip holds its own file names */
    size_t len;
    cleanup_free char *stored = store_get_blob(D->store, old->code_sha256, &len);
    if (!stored) {
        snprintf(err, errlen, "the stored code is missing");
        return -2;
    }
    return save_inline(stored, len, cfg, err, errlen);
}

/* The zip this job unpacked, when the write did not happen after all. */
static void discard_code(write_job_t *job)
{
    if (job->built)
        store_gc_code(D->store, "", pool_task_in_use(job->built_key) ? "" : job->built_key);
    else if (job->in.zip && job->rc == 0)
        store_gc_code(D->store, job->code_sha, pool_task_in_use(job->task_key) ? "" : job->task_key);
}

/* isolation "microvm" needs the backend here, a runtime the guest has
 * (Node.js, Python, a custom runtime's executable: docs/security.md,
 * "microVM") and mode "handler" (a server's direct path reaches port 8000
 * through a network namespace, which a VM does not have). True, with the
 * reason in buf, when the function cannot have it. */
static bool isolation_refusal(const char *isolation, const runtime_def_t *rt, const char *mode, char *buf, size_t len)
{
    if (strcmp(isolation, "microvm"))
        return false;
    if (!D->cfg.microvm_ok)
        snprintf(buf, len, "isolation \"microvm\" is not available on this machine: %s", D->cfg.microvm_why);
    else if (!strcmp(mode, "http"))
        snprintf(buf, len, "mode \"http\" cannot run with isolation \"microvm\" yet (its server is reached "
                           "through a network namespace, which a VM does not have); use isolation \"namespace\"");
    else if (rt && rt->lang != LANG_NODE && rt->lang != LANG_PYTHON && rt->lang != LANG_PROVIDED)
        snprintf(buf, len, "runtime '%s' cannot run with isolation \"microvm\": the guest has Node.js, Python and "
                           "custom runtimes (provided)", rt->name);
    else
        return false;
    return true;
}

/* network "egress" needs egress on this daemon (net/egress.h): a veth pair
 * for a namespace sandbox, a tap device for a microVM. */
static bool network_refusal(const char *network, char *buf, size_t len)
{
    if (strcmp(network, "egress") || egress_available())
        return false;
    snprintf(buf, len, "network \"egress\" is not available on this daemon: %s", egress_why());
    return true;
}

static void commit_create(write_job_t *job)
{
    char err[768];
    fn_config_t *cfg = &job->in.cfg;
    if (registry_find(job->name)) {
        http_error(job->req, 409, "ResourceConflictException", "function '%s' already exists", job->name);
        return discard_code(job);
    }
    if (network_refusal(cfg->network, err, sizeof err) ||
        isolation_refusal(cfg->isolation, runtime_find(cfg->runtime), cfg->mode, err, sizeof err)) {
        http_error(job->req, 400, "InvalidParameterValueException", "%s", err);
        return discard_code(job);
    }
    int rc = place_code(job, NULL, cfg, err, sizeof err);
    if (rc < 0)
        return fail(job, rc, err);
    cfg->created_at = cfg->updated_at = now_ms();
    cfg->version = 1;
    rc = store_insert(D->store, cfg);
    if (rc == STORE_EXISTS) {
        http_error(job->req, 409, "ResourceConflictException", "function '%s' already exists", job->name);
    } else if (rc != STORE_OK) {
        store_gc_code(D->store, cfg->code_sha256, cfg->task_key);
        http_error(job->req, 507, "StorageException", "cannot save the function: %s", store_last_error(D->store));
    } else {
        store_add_version(D->store, cfg); /* best effort: the function itself is saved */
        registry_add(cfg);
        log_info("function %s created (%s, %s)", cfg->name, cfg->runtime, cfg->handler);
        answer(job->req, 201, cfg);
    }
}

/* The fields a write leaves a function with, as a whole: its handler for
 * its runtime and mode, and a built runtime's rules (no mode "http"; its
 * stored code is source of its language, so another language needs new
 * code). Checked before a build is spent on a write, and at its commit.
 * NULL, or why not (in buf, or a constant). */
static const char *fields_refusal(const char *old_runtime, const char *runtime, const char *mode,
                                  const char *handler, bool new_code, const char *isolation, char *buf, size_t len)
{
    const runtime_def_t *rt = runtime_find(runtime), *was = old_runtime ? runtime_find(old_runtime) : NULL;
    if (isolation_refusal(isolation, rt, mode, buf, len))
        return buf;
    if (runtime_builds_source(was) && (!rt || rt->lang != was->lang) && !new_code) {
        snprintf(buf, len, "give the code again (code or zip) when the runtime changes from %s", old_runtime);
        return buf;
    }
    if (runtime_builds_source(rt) && !strcmp(mode, "http"))
        return source_no_http_mode(runtime);
    char module[FN_HANDLER_MAX + 1], func[FN_HANDLER_MAX + 1];
    if (rt && !handler_split(handler, strcmp(mode, "http") ? rt : runtime_find("provided"), module, func, buf, len))
        return buf;
    return NULL;
}

static void commit_update(write_job_t *job)
{
    fn_t *fn = registry_find(job->name);
    if (!fn) {
        api_not_found(job->req, job->name);
        return discard_code(job);
    }
    const fn_config_t *old = fn_cfg(fn);
    fn_config_t next;
    fn_config_copy(&next, old);
    apply_patch(&job->in, &next);
    char err[768];
    const runtime_def_t *rt = runtime_find(next.runtime);
    const char *bad = !strcmp(next.style, "glambdar") && rt && rt->lang != LANG_NODE
                          ? "style \"glambdar\" needs a Node.js runtime"
                      : next.command && strcmp(next.mode, "http")
                          ? "command is only for mode \"http\" (the server to start)"
                          : NULL;
    if (!bad && network_refusal(next.network, err, sizeof err))
        bad = err;
    if (!bad)
        bad = fields_refusal(old->runtime, next.runtime, next.mode, next.handler, job->in.code || job->in.zip,
                             next.isolation, err, sizeof err);
    if (bad) {
        http_error(job->req, 400, "InvalidParameterValueException", "%s", bad);
        fn_config_clear(&next);
        return discard_code(job);
    }
    /* A label names one version for good (chambers start versions by it). */
    fn_config_t labelled;
    memset(&labelled, 0, sizeof labelled);
    if (next.version_label[0] &&
        store_find_version(D->store, job->name, next.version_label, &labelled) == STORE_OK) {
        http_error(job->req, 409, "ResourceConflictException", "version_label '%s' already names version %d of %s",
                   next.version_label, labelled.version, job->name);
        fn_config_clear(&labelled);
        fn_config_clear(&next);
        return discard_code(job);
    }
    int rc = place_code(job, old, &next, err, sizeof err);
    if (rc < 0) {
        fail(job, rc, err);
        fn_config_clear(&next);
        return;
    }
    next.version = old->version + 1;
    next.updated_at = now_ms();
    if (store_update(D->store, &next) != STORE_OK) {
        store_gc_code(D->store, next.code_sha256, next.task_key);
        http_error(job->req, 507, "StorageException", "cannot save the function: %s", store_last_error(D->store));
        fn_config_clear(&next);
        return;
    }
    char old_sha[65], old_task[65];
    snprintf(old_sha, sizeof old_sha, "%s", old->code_sha256);
    snprintf(old_task, sizeof old_task, "%s", old->task_key);
    registry_update(fn, &next);
    store_add_version(D->store, &next);
    store_prune_versions(D->store, job->name, STORE_VERSIONS_KEPT, api_collect_code, NULL);
    store_gc_code(D->store, old_sha, pool_task_in_use(old_task) ? "" : old_task);
    log_info("function %s updated to version %d", job->name, next.version);
    answer(job->req, 200, fn_cfg(fn));
    fn_config_clear(&next);
}

static void commit(void *arg)
{
    write_job_t *job = arg;
    if (!job->req) {
        discard_code(job); /* the client hung up: nothing is written */
    } else if (job->rc < 0) {
        fail(job, job->rc, job->err);
    } else if (job->create) {
        commit_create(job);
    } else {
        commit_update(job);
    }
    job_free(job);
}

/* Worker thread: unpack and store the zip. Touches only the file system. */
static void unpack(void *arg)
{
    write_job_t *job = arg;
    fn_input_t *in = &job->in;
    int rc = store_materialize_zip(D->store, in->zip, in->zip_len, job->task_key, job->err, sizeof job->err);
    if (rc == STORE_OK)
        rc = store_put_blob_r(D->store, in->zip, in->zip_len, job->code_sha, job->err, sizeof job->err);
    job->rc = rc == STORE_OK ? 0 : rc == STORE_REFUSED ? -1 : -2;
}

static void hold(write_job_t *job)
{
    job->conn = evhttp_request_get_connection(job->req);
    http_hold(job->req);
    evhttp_connection_set_closecb(job->conn, on_client_closed, job);
}

static void on_built(void *arg, int rc, const char *task_key, const char *message)
{
    write_job_t *job = arg;
    job->rc = rc;
    if (rc < 0)
        snprintf(job->err, sizeof job->err, "%s", message);
    else
        job->built = true;
    char name[FN_NAME_MAX + 1];
    snprintf(name, sizeof name, "%s", job->name);
    commit(job);
    if (!registry_find(name))
        source_build_forget(name); /* a create that failed */
}

/* The runtime the written function will have, and whether its source must
 * be built now: new code, or a new handler or runtime for the stored one. */
static const char *build_runtime(const write_job_t *job, const fn_t **old)
{
    const fn_input_t *in = &job->in;
    *old = job->create ? NULL : registry_find(job->name);
    const char *rt = in->has_runtime || !*old ? in->cfg.runtime : fn_cfg(*old)->runtime;
    if (!source_needs_build(rt))
        return NULL;
    return in->code || in->zip || (*old && (in->has_handler || in->has_runtime)) ? rt : NULL;
}

/* A source that needs a build: built off the loop, then committed. */
static void build_job(write_job_t *job, const char *runtime, const fn_t *old)
{
    const fn_input_t *in = &job->in;
    const char *handler = in->has_handler || !old ? in->cfg.handler : fn_cfg(old)->handler;
    const char *mode = in->has_mode || !old ? in->cfg.mode : fn_cfg(old)->mode;
    const char *isolation = in->has_isolation || !old ? in->cfg.isolation : fn_cfg(old)->isolation;
    /* What commit_update checks, before a build is spent on it. */
    char buf[768];
    const char *bad = fields_refusal(old ? fn_cfg(old)->runtime : NULL, runtime, mode, handler, in->code || in->zip,
                                     isolation, buf, sizeof buf);
    if (bad) {
        http_error(job->req, 400, "InvalidParameterValueException", "%s", bad);
        return job_free(job);
    }
    if (in->code || in->zip) {
        job->src_ref = in->zip ? (const void *)in->zip : (const void *)in->code;
        job->src_len = in->zip ? in->zip_len : in->code_len;
    } else {
        job->src = store_get_blob(D->store, fn_cfg(old)->code_sha256, &job->src_len);
        if (!job->src) {
            http_error(job->req, 507, "StorageException", "the stored code is missing");
            return job_free(job);
        }
        job->src_ref = job->src;
    }
    snprintf(job->built_runtime, sizeof job->built_runtime, "%s", runtime);
    snprintf(job->built_handler, sizeof job->built_handler, "%s", handler);
    char err[256];
    int rc = source_build_start(job->name, runtime, handler, job->src_ref, job->src_len,
                                in->zip || (!in->code && source_is_zip(job->src_ref, job->src_len)), on_built, job,
                                job->built_key, err, sizeof err);
    if (rc == 1) { /* built before */
        job->built = true;
        return commit(job);
    }
    if (rc < 0) {
        http_error(job->req, 503, "ServiceUnavailable", "cannot build the source now: %s", err);
        return job_free(job);
    }
    hold(job);
}

/* Hands a parsed job to the worker (zip), to a build (a source that needs
 * one), or commits it (inline). */
static void dispatch_job(write_job_t *job)
{
    /* A new function without an isolation of its own: the daemon's default. */
    if (job->create && !job->in.has_isolation && D->cfg.isolation != SANDBOX_PROCESS)
        snprintf(job->in.cfg.isolation, sizeof job->in.cfg.isolation, "%s", sandbox_backend_name(D->cfg.isolation));
    const fn_t *old;
    const char *runtime = build_runtime(job, &old);
    if (runtime)
        return build_job(job, runtime, old);
    if (!job->in.zip)
        return commit(job);
    hold(job);
    if (offload_run(unpack, commit, job) < 0) {
        http_error(job->req, 503, "ServiceUnavailable", "cannot take more uploads now");
        job_free(job);
    }
}

void api_write(struct evhttp_request *req, json_t *body, bool create, const char *name)
{
    write_job_t *job = calloc(1, sizeof *job);
    if (!job) {
        json_decref(body);
        return http_error(req, 500, "ServiceException", "out of memory");
    }
    D->n_inflight++;
    job->req = req;
    job->body = body;
    job->create = create;
    char err[512];
    if (fn_input_parse(body, create, &job->in, err, sizeof err) < 0) {
        http_error(req, 400, "InvalidParameterValueException", "%s", err);
        return job_free(job);
    }
    if (!create && job->in.cfg.name[0] && strcmp(job->in.cfg.name, name)) {
        http_error(req, 400, "InvalidParameterValueException",
                   "name cannot be changed (%s in the path, %s in the body)", name, job->in.cfg.name);
        return job_free(job);
    }
    snprintf(job->name, sizeof job->name, "%s", create ? job->in.cfg.name : name);
    if (create && registry_find(job->name)) {
        http_error(req, 409, "ResourceConflictException", "function '%s' already exists", job->name);
        return job_free(job);
    }
    dispatch_job(job);
}

void api_deploy_zip(struct evhttp_request *req, const char *name, const void *zip, size_t len)
{
    if (D->draining)
        return http_error(req, 503, "ServiceUnavailable", "the daemon is shutting down");
    write_job_t *job = calloc(1, sizeof *job);
    unsigned char *copy = malloc(len ? len : 1);
    if (!job || !copy) {
        free(job);
        free(copy);
        return http_error(req, 500, "ServiceException", "out of memory");
    }
    D->n_inflight++;
    job->req = req;
    snprintf(job->name, sizeof job->name, "%s", name);
    /* A new function is a Glambdar one (Node, index.js); deploying again
     * replaces only the code of whatever function has the name. */
    job->create = registry_find(name) == NULL;
    fn_config_init_defaults(&job->in.cfg);
    snprintf(job->in.cfg.name, sizeof job->in.cfg.name, "%s", name);
    snprintf(job->in.cfg.runtime, sizeof job->in.cfg.runtime, "nodejs20");
    snprintf(job->in.cfg.handler, sizeof job->in.cfg.handler, "index.handler");
    snprintf(job->in.cfg.style, sizeof job->in.cfg.style, "glambdar");
    memcpy(copy, zip, len);
    job->in.zip = copy;
    job->in.zip_len = len;
    dispatch_job(job);
}

void api_functions_create(struct evhttp_request *req)
{
    if (D->draining)
        return http_error(req, 503, "ServiceUnavailable", "the daemon is shutting down");
    json_t *body = api_json_body(req);
    if (body)
        api_write(req, body, true, NULL);
}

void api_function_update(struct evhttp_request *req, const char *name)
{
    if (D->draining)
        return http_error(req, 503, "ServiceUnavailable", "the daemon is shutting down");
    if (!registry_find(name))
        return api_not_found(req, name);
    json_t *body = api_json_body(req);
    if (body)
        api_write(req, body, false, name);
}
