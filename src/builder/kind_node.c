/* package.json: the server is index.js (or "main"). Dependencies come from
 * the npm registry (through the build sandbox's proxy: box_proxy.h); npm's
 * cache lives in the state dir's cache. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "builder/build.h"
#include "sandbox/sandbox.h"
#include "util/util.h"

#define NPM "/usr/bin/npm"

static int npm(const build_ctx_t *ctx, build_job_t *job, const char *label, const char *const *argv)
{
    envlist_t env = {0};
    /* Native addons (node-gyp) build against the installed node's headers
     * instead of downloading them: only the npm registry is reachable. */
    bool headers = access("/usr/include/node/node_api.h", R_OK) == 0;
    if ((env_set(&env, "npm_config_cache", SANDBOX_CACHE_DIR "/npm") |
         env_set(&env, "npm_config_update_notifier", "false") |
         (headers ? env_set(&env, "npm_config_nodedir", "/usr") : 0)) < 0) {
        env_free(&env);
        snprintf(job->why, sizeof job->why, "out of memory");
        return -1;
    }
    int rc = build_step(ctx, job, label, argv, &env, NULL, NULL);
    env_free(&env);
    return rc == 0 ? 0 : -1;
}

int build_node(const build_ctx_t *ctx, build_job_t *job)
{
    char path[PATH_MAX];
    size_t len = 0;
    char *text = fmt_path(path, sizeof path, "%s/package.json", job->task) ? read_file(path, 1 << 20, &len) : NULL;
    if (!text) {
        snprintf(job->why, sizeof job->why, "cannot read package.json (or it is over 1 MiB)");
        return -1;
    }
    json_error_t je;
    json_t *pkg = json_loadb(text, len, 0, &je);
    free(text);
    if (!json_is_object(pkg)) {
        if (pkg)
            snprintf(job->why, sizeof job->why, "package.json must be a JSON object");
        else
            snprintf(job->why, sizeof job->why, "package.json is not valid JSON: %s (line %d)", je.text, je.line);
        json_decref(pkg);
        return -1;
    }
    bool locked = job_has_file(job->task, "package-lock.json") || job_has_file(job->task, "npm-shrinkwrap.json");
    bool deps = json_object_size(json_object_get(pkg, "dependencies")) > 0;
    bool build = json_is_string(json_object_get(json_object_get(pkg, "scripts"), "build"));
    const char *main = json_string_value(json_object_get(pkg, "main"));
    char entry[256];
    snprintf(entry, sizeof entry, "%s", main && *main ? main + (strncmp(main, "./", 2) ? 0 : 2) : "index.js");
    json_decref(pkg);
    int rc = 0;
    if ((locked || deps || build) && access(NPM, X_OK) < 0) {
        snprintf(job->why, sizeof job->why, "installing the dependencies needs %s, which is not installed", NPM);
        return -1;
    }
    if (locked) {
        const char *argv[] = {NPM, "ci", "--no-audit", "--no-fund", NULL};
        rc = npm(ctx, job, "npm ci", argv);
    } else if (deps) {
        const char *argv[] = {NPM, "install", "--omit=dev", "--no-audit", "--no-fund", NULL};
        rc = npm(ctx, job, "npm install", argv);
    }
    if (rc == 0 && build) {
        const char *argv[] = {NPM, "run", "build", NULL};
        rc = npm(ctx, job, "npm run build", argv);
    }
    if (rc < 0)
        return -1;
    if (!job_has_file(job->task, entry)) {
        snprintf(job->why, sizeof job->why, "no %s (the server of a Node.js function; \"main\" in package.json names another)",
                 entry);
        return -1;
    }
    json_object_set_new(job->spec, "runtime", json_string("nodejs20"));
    json_object_set_new(job->spec, "mode", json_string("http"));
    json_object_set_new(job->spec, "handler", json_string(entry));
    return 0;
}
