/* pyproject.toml / requirements.txt: main.py is the server. Requirements
 * are installed into /var/task/.deps from the function's own wheels/ dir:
 * no package index is reachable from here, and saying so plainly beats a
 * pip time-out. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/build.h"
#include "builder/tree.h"
#include "util/util.h"

#define PYTHON "/usr/bin/python3"
#define DEPS_MARK "impuls-deps: "

/* [project] dependencies, read by Python's own TOML parser inside the build
 * sandbox (tomllib: Python 3.11+). */
static const char *READ_PYPROJECT =
    "import json, sys\n"
    "try:\n"
    "    import tomllib\n"
    "except ImportError:\n"
    "    sys.exit('pyproject.toml needs Python 3.11 or later (tomllib) to be read')\n"
    "try:\n"
    "    with open('pyproject.toml', 'rb') as f:\n"
    "        deps = tomllib.load(f).get('project', {}).get('dependencies', [])\n"
    "except Exception as e:\n"
    "    sys.exit('pyproject.toml: %s' % e)\n"
    "if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):\n"
    "    sys.exit('pyproject.toml: [project] dependencies must be a list of strings')\n"
    "print('" DEPS_MARK "' + json.dumps(deps))\n";

typedef struct reqs {
    json_t *named;  /* every requirement named (both files), for messages */
    json_t *extra;  /* pyproject.toml's, passed to pip as arguments */
    bool has_file;  /* requirements.txt with something in it: pip reads it */
} reqs_t;

/* Lines of requirements.txt that name something (options too: pip reads
 * them; only names go into messages). */
static int read_requirements(build_job_t *job, reqs_t *r)
{
    char path[PATH_MAX];
    if (!fmt_path(path, sizeof path, "%s/requirements.txt", job->task) || !job_has_file(job->task, "requirements.txt"))
        return 0;
    char *text = read_file(path, 1 << 20, NULL);
    if (!text) {
        snprintf(job->why, sizeof job->why, "cannot read requirements.txt (or it is over 1 MiB)");
        return -1;
    }
    for (char *line = strtok(text, "\r\n"); line; line = strtok(NULL, "\r\n")) {
        char *hash = strstr(line, " #");
        if (line[0] == '#')
            continue;
        if (hash)
            *hash = '\0';
        while (isspace((unsigned char)*line))
            line++;
        size_t n = strlen(line);
        while (n > 0 && isspace((unsigned char)line[n - 1]))
            line[--n] = '\0';
        if (!n)
            continue;
        r->has_file = true;
        if (line[0] != '-')
            json_array_append_new(r->named, json_string(line));
    }
    free(text);
    return 0;
}

static int read_pyproject(const build_ctx_t *ctx, build_job_t *job, reqs_t *r)
{
    if (!job_has_file(job->task, "pyproject.toml"))
        return 0;
    const char *argv[] = {PYTHON, "-I", "-c", READ_PYPROJECT, NULL};
    box_result_t res;
    int rc = build_step(ctx, job, "reading pyproject.toml", argv, NULL, NULL, &res);
    if (rc == 1 && res.output_len) {
        /* Its own message says it best. */
        char *last = res.output + res.output_len;
        while (last > res.output && last[-1] == '\n')
            *--last = '\0';
        char *line = strrchr(res.output, '\n');
        snprintf(job->why, sizeof job->why, "%s", line ? line + 1 : res.output);
        free(job->log);
        job->log = NULL;
    }
    char *mark = rc == 0 && res.output ? strstr(res.output, DEPS_MARK) : NULL;
    json_t *deps = mark ? json_loads(mark + strlen(DEPS_MARK), JSON_DISABLE_EOF_CHECK, NULL) : NULL;
    box_result_clear(&res);
    if (rc != 0)
        return -1;
    if (!json_is_array(deps)) {
        json_decref(deps);
        snprintf(job->why, sizeof job->why, "reading pyproject.toml gave no list of dependencies");
        return -1;
    }
    json_array_extend(r->named, deps);
    json_array_extend(r->extra, deps);
    json_decref(deps);
    return 0;
}

/* "'a', 'b'" for the messages. */
static void name_list(json_t *all, char *out, size_t size)
{
    out[0] = '\0';
    size_t i;
    json_t *v;
    json_array_foreach(all, i, v)
    {
        size_t used = strlen(out);
        snprintf(out + used, size - used, "%s'%s'", i ? ", " : "", json_string_value(v));
    }
}

static int install(const build_ctx_t *ctx, build_job_t *job, reqs_t *r)
{
    size_t n = json_array_size(r->named);
    if (!job_has_dir(job->task, "wheels")) {
        char names[512];
        name_list(r->named, names, sizeof names);
        if (n == 0)
            snprintf(names, sizeof names, "in requirements.txt");
        snprintf(job->why, sizeof job->why,
                 "requirement%s %s cannot be met: no package index is reachable here "
                 "(put the wheels of the requirements and of their dependencies in a wheels/ dir)",
                 n > 1 ? "s" : "", names);
        return -1;
    }
    size_t extra = json_array_size(r->extra);
    const char **argv = calloc(extra + 16, sizeof *argv);
    envlist_t env = {0};
    if (!argv || (env_set(&env, "PIP_NO_CACHE_DIR", "1") | env_set(&env, "PIP_DISABLE_PIP_VERSION_CHECK", "1") |
                  env_set(&env, "PYTHONDONTWRITEBYTECODE", "1")) < 0) {
        free(argv);
        env_free(&env);
        snprintf(job->why, sizeof job->why, "out of memory");
        return -1;
    }
    size_t a = 0;
    const char *fixed[] = {PYTHON, "-m", "pip", "install", "--no-index", "--find-links", "wheels", "--target",
                           "/var/task/.deps", "--no-warn-script-location", NULL};
    for (int i = 0; fixed[i]; i++)
        argv[a++] = fixed[i];
    if (r->has_file) {
        argv[a++] = "-r";
        argv[a++] = "requirements.txt";
    }
    for (size_t i = 0; i < extra; i++)
        argv[a++] = json_string_value(json_array_get(r->extra, i));
    box_result_t res;
    int rc = build_step(ctx, job, "pip install", argv, &env, NULL, &res);
    env_free(&env);
    free(argv);
    const char *miss = rc == 1 && res.output ? strstr(res.output, "No matching distribution found for ") : NULL;
    if (miss) {
        miss += strlen("No matching distribution found for ");
        snprintf(job->why, sizeof job->why,
                 "requirement '%.*s' cannot be met: it is not in wheels/ and no package index is reachable here",
                 (int)strcspn(miss, "\r\n"), miss);
    }
    box_result_clear(&res);
    return rc == 0 ? 0 : -1;
}

int build_python(const build_ctx_t *ctx, build_job_t *job)
{
    if (access(PYTHON, X_OK) < 0) {
        snprintf(job->why, sizeof job->why, "building Python needs %s, which is not installed", PYTHON);
        return -1;
    }
    reqs_t r = {.named = json_array(), .extra = json_array()};
    int rc = read_requirements(job, &r);
    if (rc == 0)
        rc = read_pyproject(ctx, job, &r);
    bool deps = rc == 0 && (json_array_size(r.named) > 0 || r.has_file);
    if (deps)
        rc = install(ctx, job, &r);
    json_decref(r.named);
    json_decref(r.extra);
    if (rc < 0)
        return -1;
    if (!job_has_file(job->task, "main.py")) {
        snprintf(job->why, sizeof job->why, "no main.py (the server of a Python function)");
        return -1;
    }
    /* Wheels were for the build; the installed packages are in .deps. */
    char wheels[PATH_MAX];
    if (deps && fmt_path(wheels, sizeof wheels, "%s/wheels", job->task))
        rm_rf(wheels);
    json_object_set_new(job->spec, "runtime", json_string("python311"));
    json_object_set_new(job->spec, "mode", json_string("http"));
    json_object_set_new(job->spec, "handler", json_string("main.py"));
    if (deps)
        json_object_set_new(job->spec, "env", json_pack("{s:s}", "PYTHONPATH", "/var/task/.deps"));
    return 0;
}
