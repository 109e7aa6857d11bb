/* Which kind a function dir is, and what every kind's build shares: the
 * scratch dirs, the copy of the source, and impuls.json's fields on top. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/build.h"
#include "builder/tree.h"
#include "util/util.h"

#define MANIFEST "impuls.json"

enum build_kind kind_detect(const char *dir)
{
    /* SmolFaaS's order: a Dockerfile says most, then the language's own
     * project file. impuls.json alone is a function with nothing to build. */
    if (job_has_file(dir, "Dockerfile"))
        return KIND_DOCKERFILE;
    if (job_has_file(dir, "go.mod"))
        return KIND_GO;
    if (job_has_file(dir, "pyproject.toml") || job_has_file(dir, "requirements.txt"))
        return KIND_PYTHON;
    if (job_has_file(dir, "package.json"))
        return KIND_NODE;
    if (job_has_file(dir, MANIFEST))
        return KIND_MANIFEST;
    return KIND_NONE;
}

const char *kind_name(enum build_kind k)
{
    switch (k) {
    case KIND_DOCKERFILE: return "dockerfile";
    case KIND_GO: return "go";
    case KIND_PYTHON: return "python";
    case KIND_NODE: return "node";
    case KIND_MANIFEST: return MANIFEST;
    default: return "none";
    }
}

void build_job_clear(build_job_t *job)
{
    json_decref(job->spec);
    job->spec = NULL;
    free(job->log);
    job->log = NULL;
}

/* impuls.json: the daemon's function fields, sent as they are (a handler
 * function, say). Only what impuls up itself sets is refused. The build's
 * env (PYTHONPATH) is kept where impuls.json does not set the same key. */
static int apply_manifest(build_job_t *job)
{
    char path[PATH_MAX];
    if (!fmt_path(path, sizeof path, "%s/%s", job->src_dir, MANIFEST)) {
        snprintf(job->why, sizeof job->why, "path too long");
        return -1;
    }
    size_t len;
    char *text = read_file(path, 1 << 20, &len);
    if (!text) {
        snprintf(job->why, sizeof job->why, MANIFEST ": cannot read it (or it is over 1 MiB)");
        return -1;
    }
    json_error_t je;
    json_t *m = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    free(text);
    if (!m || !json_is_object(m)) {
        if (m)
            snprintf(job->why, sizeof job->why, MANIFEST ": must be a JSON object of function fields");
        else
            snprintf(job->why, sizeof job->why, MANIFEST ": not valid JSON: %s (line %d)", je.text, je.line);
        json_decref(m);
        return -1;
    }
    static const char *ours[] = {"name", "code", "zip", NULL};
    for (int i = 0; ours[i]; i++)
        if (json_object_get(m, ours[i])) {
            snprintf(job->why, sizeof job->why, MANIFEST ": '%s' is set by impuls up, not by " MANIFEST, ours[i]);
            json_decref(m);
            return -1;
        }
    json_t *built_env = json_object_get(job->spec, "env");
    json_t *env = json_object_get(m, "env");
    if (json_is_object(built_env) && json_is_object(env)) {
        const char *k;
        json_t *v;
        json_object_foreach(built_env, k, v)
        {
            if (!json_object_get(env, k))
                json_object_set(env, k, v);
        }
    } else if (json_is_object(built_env) && !env) {
        json_object_set(m, "env", built_env);
    }
    json_decref(job->spec);
    job->spec = m;
    return 0;
}

int build_function(const build_ctx_t *ctx, enum build_kind kind, build_job_t *job)
{
    job->why[0] = '\0';
    if (!fmt_path(job->work, sizeof job->work, "%s/work/%s", ctx->state_dir, job->name) ||
        !fmt_path(job->task, sizeof job->task, "%s/task", job->work)) {
        snprintf(job->why, sizeof job->why, "the state dir path is too long");
        return -1;
    }
    snprintf(job->out, sizeof job->out, "%s", job->task);
    char err[512];
    int rc = rm_rf(job->work);
    if (rc == 0)
        rc = mkdir_p(job->work, 0700);
    if (rc < 0) {
        snprintf(job->why, sizeof job->why, "cannot prepare %s: %s", job->work, strerror(-rc));
        return -1;
    }
    if (tree_reset(job->task, err, sizeof err) < 0) {
        snprintf(job->why, sizeof job->why, "%s", err);
        return -1;
    }
    /* A Dockerfile's COPY steps bring what it wants; the other kinds build
     * in a copy of the whole source. */
    if (kind != KIND_DOCKERFILE) {
        int root = tree_open(job->task, err, sizeof err);
        if (root < 0 || tree_put_all(root, job->src_dir, job->src, err, sizeof err) < 0) {
            snprintf(job->why, sizeof job->why, "cannot copy the source: %s", err);
            if (root >= 0)
                close(root);
            return -1;
        }
        close(root);
    }
    job->spec = json_object();
    switch (kind) {
    case KIND_DOCKERFILE: rc = build_dockerfile(ctx, job); break;
    case KIND_GO: rc = build_go(ctx, job); break;
    case KIND_PYTHON: rc = build_python(ctx, job); break;
    case KIND_NODE: rc = build_node(ctx, job); break;
    case KIND_MANIFEST: rc = 0; break;
    default:
        snprintf(job->why, sizeof job->why, KIND_NONE_MESSAGE);
        rc = -1;
    }
    if (rc == 0 && job_has_file(job->src_dir, MANIFEST))
        rc = apply_manifest(job);
    return rc;
}
