/* go.mod: a static server binary. Builds need no module proxy (none may be
 * reachable): the module's vendor/ dir, or the standard library only. The
 * build and module caches live in the state dir's cache, so a rebuild only
 * compiles what changed. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "builder/build.h"
#include "sandbox/sandbox.h"
#include "util/util.h"

#define GO "/usr/bin/go"

int build_go_binary(const build_ctx_t *ctx, build_job_t *job, const char *mod_flag, const char *out)
{
    if (access(GO, X_OK) < 0) {
        snprintf(job->why, sizeof job->why, "building Go needs %s (Debian's golang-go), which is not installed", GO);
        return -1;
    }
    envlist_t env = {0};
    int rc = env_set(&env, "CGO_ENABLED", "0") | env_set(&env, "GOPROXY", "off") | env_set(&env, "GOSUMDB", "off") |
             env_set(&env, "GOTOOLCHAIN", "local") | env_set(&env, "GOFLAGS", mod_flag) |
             env_set(&env, "GOCACHE", SANDBOX_CACHE_DIR "/go-build") |
             env_set(&env, "GOMODCACHE", SANDBOX_CACHE_DIR "/go-mod") | env_set(&env, "GOPATH", "/tmp/go");
    if (rc < 0) {
        env_free(&env);
        snprintf(job->why, sizeof job->why, "out of memory");
        return -1;
    }
    const char *argv[] = {GO, "build", "-trimpath", "-ldflags=-s -w", "-o", out, ".", NULL};
    rc = build_step(ctx, job, "go build", argv, &env, NULL, NULL);
    env_free(&env);
    return rc;
}

int build_go(const build_ctx_t *ctx, build_job_t *job)
{
    if (build_go_binary(ctx, job, job_has_dir(job->task, "vendor") ? "-mod=vendor" : "-mod=mod", "server") != 0)
        return -1;
    if (!job_has_file(job->task, "server")) {
        snprintf(job->why, sizeof job->why, "go build made no executable named server");
        return -1;
    }
    /* The function's code is the binary alone. */
    char from[PATH_MAX], to[PATH_MAX];
    if (!fmt_path(job->out, sizeof job->out, "%s/out", job->work) ||
        !fmt_path(from, sizeof from, "%s/server", job->task) || !fmt_path(to, sizeof to, "%s/server", job->out) ||
        mkdir_p(job->out, 0755) < 0 || rename(from, to) < 0) {
        snprintf(job->why, sizeof job->why, "cannot collect the server binary: %s", strerror(errno));
        return -1;
    }
    json_object_set_new(job->spec, "runtime", json_string("provided"));
    json_object_set_new(job->spec, "mode", json_string("http"));
    json_object_set_new(job->spec, "handler", json_string("server"));
    return 0;
}
