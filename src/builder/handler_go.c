/* A Go handler (runtime "go"), as the runtime guide writes it:
 *
 *   func Handler(ctx context.Context, event map[string]interface{}) (interface{}, error)
 *
 * or a program whose main calls lambda.Start(handler) itself. Compiled in the
 * build sandbox against our own lambda package (runtimes/go/aws-lambda-go,
 * seen at /var/runtime/go/aws-lambda-go, under aws-lambda-go's module path)
 * into a static bootstrap, which then runs as a custom runtime does. No module
 * proxy is used: only the standard library and that package. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/build.h"
#include "sandbox/sandbox.h"
#include "util/util.h"

#define LAMBDA_MODULE "github.com/aws/aws-lambda-go"
#define LAMBDA_DIR SANDBOX_RUNTIME_DIR "/go/aws-lambda-go"
#define WRAPPER "zz_impuls_main.go"

/* Does a top-level .go file of dir define func main? Then the program
 * starts itself (lambda.Start) and gets no wrapper. */
static bool defines_main(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return false;
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 4 || strcmp(e->d_name + n - 3, ".go") || !job_has_file(dir, e->d_name))
            continue;
        char path[PATH_MAX];
        size_t len;
        char *text = fmt_path(path, sizeof path, "%s/%s", dir, e->d_name) ? read_file(path, 4 << 20, &len) : NULL;
        for (char *p = text; p && !found; p = strchr(p, '\n')) {
            p += *p == '\n';
            found = strncmp(p, "func main()", 11) == 0;
        }
        free(text);
    }
    closedir(d);
    return found;
}

/* go.mod: the function's own (given the lambda module's replacement), or a
 * new one. */
static int write_go_mod(build_job_t *job)
{
    char path[PATH_MAX];
    if (!fmt_path(path, sizeof path, "%s/go.mod", job->task))
        return -1;
    size_t len = 0;
    cleanup_free char *own = job_has_file(job->task, "go.mod") ? read_file(path, 1 << 20, &len) : NULL;
    if (job_has_file(job->task, "go.mod") && !own) {
        snprintf(job->why, sizeof job->why, "cannot read go.mod: %s", strerror(errno));
        return -1;
    }
    cleanup_free char *text = NULL;
    int n = asprintf(&text, "%s%s%s\nreplace " LAMBDA_MODULE " => " LAMBDA_DIR "\n",
                     own ? own : "module function\n\ngo 1.19\n",
                     own && strstr(own, LAMBDA_MODULE " ") ? "" : "\nrequire " LAMBDA_MODULE " v1.47.0\n",
                     own && len && own[len - 1] != '\n' ? "\n" : "");
    if (n < 0 || write_file_atomic(path, text, (size_t)n, 0644) < 0 || chown(path, BOX_UID, BOX_UID) < 0) {
        snprintf(job->why, sizeof job->why, "cannot write go.mod: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static int write_wrapper(build_job_t *job, const char *handler)
{
    char path[PATH_MAX];
    cleanup_free char *text = NULL;
    int n = asprintf(&text,
                     "// Made by Impuls: the handler %s, served over the Runtime API.\n"
                     "package main\n\nimport \"" LAMBDA_MODULE "/lambda\"\n\nfunc main() { lambda.Start(%s) }\n",
                     handler, handler);
    if (n < 0 || !fmt_path(path, sizeof path, "%s/" WRAPPER, job->task) ||
        write_file_atomic(path, text, (size_t)n, 0644) < 0 || chown(path, BOX_UID, BOX_UID) < 0) {
        snprintf(job->why, sizeof job->why, "cannot write the handler's main: %s", strerror(errno));
        return -1;
    }
    return 0;
}

int build_go_handler(const build_ctx_t *ctx, build_job_t *job, const char *handler)
{
    if (write_go_mod(job) < 0 || (!defines_main(job->task) && write_wrapper(job, handler) < 0))
        return -1;
    if (build_go_binary(ctx, job, "-mod=mod", "bootstrap") != 0)
        return -1;
    if (!job_has_file(job->task, "bootstrap")) {
        snprintf(job->why, sizeof job->why, "go build made no executable named bootstrap");
        return -1;
    }
    return 0;
}
