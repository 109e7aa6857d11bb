/* One build step, as the kinds run it: the base environment, the sandbox,
 * and a clear reason when it fails. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "builder/build.h"
#include "util/util.h"

void print_indented(const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        printf("    %.*s\n", (int)n, p);
        p += n + 1;
    }
    fflush(stdout);
}

static bool is_type(const char *dir, const char *rel, mode_t type)
{
    char path[PATH_MAX];
    struct stat st;
    return fmt_path(path, sizeof path, "%s/%s", dir, rel) && lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == type;
}

bool job_has_file(const char *dir, const char *rel) { return is_type(dir, rel, S_IFREG); }
bool job_has_dir(const char *dir, const char *rel) { return is_type(dir, rel, S_IFDIR); }

int build_step(const build_ctx_t *ctx, build_job_t *job, const char *label, const char *const *argv,
               const envlist_t *env, const char *cwd, box_result_t *res)
{
    if (res)
        memset(res, 0, sizeof *res);
    envlist_t full = {0};
    int rc = env_base(&full);
    for (size_t i = 0; rc == 0 && env && i < env->n; i++) {
        char *eq = strchr(env->v[i], '=');
        *eq = '\0';
        rc = env_set(&full, env->v[i], eq + 1);
        *eq = '=';
    }
    if (rc < 0) {
        env_free(&full);
        snprintf(job->why, sizeof job->why, "out of memory");
        return -1;
    }
    box_result_t own, *r = res ? res : &own;
    char err[512];
    rc = build_box_run(ctx->box, job->task, argv, (const char *const *)full.v, cwd ? cwd : "/var/task", r, err,
                       sizeof err);
    env_free(&full);
    if (rc < 0) {
        snprintf(job->why, sizeof job->why, "%s: %s", label, err);
        if (r == &own)
            box_result_clear(&own);
        return -1;
    }
    if (ctx->verbose && r->output_len)
        print_indented(r->output, r->output_len);
    if (r->status == 0) {
        if (r == &own)
            box_result_clear(&own);
        return 0;
    }
    /* 125: the sandbox's init could not set it up; it said why. */
    const char *setup = r->status == 125 && r->output ? strstr(r->output, "impuls: build sandbox: ") : NULL;
    if (setup)
        snprintf(job->why, sizeof job->why, "%s: cannot create the build sandbox: %.*s", label,
                 (int)strcspn(setup + 23, "\n"), setup + 23);
    else if (r->timed_out)
        snprintf(job->why, sizeof job->why, "%s timed out after %d s", label, ctx->box->timeout_s);
    else if (r->oom)
        snprintf(job->why, sizeof job->why, "%s ran out of memory (limit %d MiB)", label, BOX_MEMORY_MB);
    else if (r->status > 128)
        snprintf(job->why, sizeof job->why, "%s was killed by signal %d", label, r->status - 128);
    else
        snprintf(job->why, sizeof job->why, "%s failed (exit status %d)", label, r->status);
    /* Shown under the failure line, unless -v showed it already. */
    if (!ctx->verbose && r->output_len) {
        free(job->log);
        job->log = strndup(r->output, r->output_len);
    }
    if (r == &own)
        box_result_clear(&own);
    return 1;
}
