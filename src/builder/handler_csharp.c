/* A C# handler (runtime "csharp"), as a Lambda .NET user writes it, on Mono:
 * the function's .cs files are compiled by mcs in the build sandbox into
 * the assembly its handler names (Hello::Hello.Function::Handler makes
 * Hello.dll), against our Amazon.Lambda.Core (runtimes/csharp, seen at
 * /var/runtime/csharp/lib); a zip without .cs files brings that assembly
 * built. Either way the runtime then loads it in the sandbox as a start
 * would (ImpulsBootstrap.exe --check): the handler must be found, and an
 * assembly built for .NET Core or .NET 5+ is refused. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/build.h"
#include "sandbox/sandbox.h"
#include "util/util.h"

#define MONO "/usr/bin/mono"
#define MCS "/usr/bin/mcs"
#define LIB_DIR SANDBOX_RUNTIME_DIR "/csharp/lib"
/* Names the language level in every compile error: a construct of C# 8 or
 * later is a syntax error to mcs, which may not say so itself. */
#define MCS_LABEL "mcs (Mono's C# compiler: C# 7, not 8 or later)"

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* bin/ and obj/ of a .NET project, at any depth (Lambda's templates put the
 * project in src/<Name>/), hold build output, obj/ even generated .cs files
 * for another framework: never compiled. */
static bool in_build_output(const char *rel)
{
    for (const char *p = rel; p; p = strchr(p, '/'), p = p ? p + 1 : NULL)
        if (!strncmp(p, "bin/", 4) || !strncmp(p, "obj/", 4))
            return true;
    return false;
}

/* The compile: every .cs file, the zip's own top-level assemblies as
 * references (ours stands for any Amazon.Lambda.* of its own). */
static int compile(const build_ctx_t *ctx, build_job_t *job, const char *assembly, const src_list_t *src)
{
    const char **argv = calloc(src->n + 16, sizeof *argv);
    char **owned = calloc(src->n + 2, sizeof *owned); /* every argument but the fixed ones */
    size_t n = 0, k = 0;
    int rc = -1;
    if (!argv || !owned)
        goto out;
    argv[n++] = MCS;
    argv[n++] = "-target:library";
    argv[n++] = "-nologo";
    argv[n++] = "-r:" LIB_DIR "/Amazon.Lambda.Core.dll";
    argv[n++] = "-r:System.Net.Http";
    argv[n++] = "-r:System.Runtime.Serialization";
    argv[n++] = "-r:Microsoft.CSharp";
    if (asprintf(&owned[k], "-out:/var/task/%s.dll", assembly) < 0)
        goto out;
    argv[n++] = owned[k++];
    for (size_t i = 0; i < src->n; i++) {
        const char *rel = src->v[i].rel;
        if (!S_ISREG(src->v[i].mode) || in_build_output(rel))
            continue;
        /* "./": a file named "@x.cs" or "-r:x.cs" is a file to mcs, not a
         * response file or an option (other names as they are: mcs's
         * messages name the file as it was given). */
        if (ends_with(rel, ".cs") && (rel[0] == '-' || rel[0] == '@')) {
            if (asprintf(&owned[k], "./%s", rel) < 0)
                goto out;
            argv[n++] = owned[k++];
        } else if (ends_with(rel, ".cs")) {
            argv[n++] = rel;
        } else if (ends_with(rel, ".dll") && !strpbrk(rel, "/,;") && strncmp(rel, "Amazon.Lambda.", 14)) {
            /* (-r: splits its value at ',' and ';': such a name is left out.) */
            size_t m = strlen(rel) - 4;
            if (strncmp(rel, assembly, m) || assembly[m]) { /* not the assembly being made */
                if (asprintf(&owned[k], "-r:/var/task/%s", rel) < 0)
                    goto out;
                argv[n++] = owned[k++];
            }
        }
    }
    rc = build_step(ctx, job, MCS_LABEL, argv, NULL, NULL, NULL);
out:
    if (rc < 0 && !job->why[0])
        snprintf(job->why, sizeof job->why, "out of memory");
    for (size_t i = 0; owned && i < k; i++)
        free(owned[i]);
    free(owned);
    free(argv);
    return rc;
}

int build_csharp_handler(const build_ctx_t *ctx, build_job_t *job, const char *handler)
{
    const char *sep = strstr(handler, "::");
    char assembly[256];
    if (!sep || (size_t)(sep - handler) >= sizeof assembly) {
        snprintf(job->why, sizeof job->why, "handler '%s' names no assembly", handler);
        return 1;
    }
    snprintf(assembly, sizeof assembly, "%.*s", (int)(sep - handler), handler);
    if (access(MCS, X_OK) < 0 || access(MONO, X_OK) < 0) {
        snprintf(job->why, sizeof job->why, "C# needs Mono (%s and %s, Debian's mono-complete), not installed here",
                 MONO, MCS);
        return -1;
    }
    src_list_t src = {0};
    char err[512];
    if (src_walk(job->task, NULL, &src, err, sizeof err) < 0) {
        snprintf(job->why, sizeof job->why, "%s", err);
        return 1;
    }
    size_t sources = 0;
    for (size_t i = 0; i < src.n; i++)
        sources += S_ISREG(src.v[i].mode) && ends_with(src.v[i].rel, ".cs") && !in_build_output(src.v[i].rel);
    char dll[300];
    snprintf(dll, sizeof dll, "%s.dll", assembly);
    int rc = 0;
    if (sources)
        rc = compile(ctx, job, assembly, &src);
    else if (!job_has_file(job->task, dll)) {
        snprintf(job->why, sizeof job->why, "no .cs source and no %s in the code (the handler's assembly)", dll);
        rc = 1;
    }
    src_list_free(&src);
    if (rc != 0)
        return rc;
    const char *check[] = {MONO, LIB_DIR "/ImpulsBootstrap.exe", "--check", SANDBOX_TASK_DIR, handler, NULL};
    return build_step(ctx, job, "the handler's check", check, NULL, NULL, NULL);
}
