/* `impuls up`: SmolFaaS's workflow. Every subdirectory of -d is a function
 * named after it; what changed since the last up (the content hash of its
 * source, kept in the state db) is built in the build sandbox and deployed
 * over the REST API; the router is told to answer for -a HOST. One line per
 * function: "NAME: building (KIND)", "NAME: deployed (version N)",
 * "NAME: unchanged", "NAME: failed: WHY". docs/build.md. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/fn_spec.h"
#include "builder/build.h"
#include "builder/hash.h"
#include "builder/state.h"
#include "cli/cli.h"
#include "cli/client_common.h"
#include "cli/workflow.h"
#include "cli/zip_dir.h"
#include "util/util.h"

/* The base64 of the zip must fit the daemon's 50 MiB request body. */
#define ZIP_MAX (37u << 20)

typedef struct up {
    wf_opts_t o;
    state_t *st;
    build_box_t box;
    char state_real[PATH_MAX];
    bool unreachable; /* the daemon went away: stop */
} up_t;

/* What the daemon has of a function: its code's hash and whether it runs a
 * command. exists: 1 yes, 0 no, -1 unreachable (why set). */
typedef struct deployed {
    int exists;
    char code_sha256[65];
    bool has_command;
} deployed_t;

static void get_deployed(up_t *u, const char *name, deployed_t *d, char *why, size_t whylen)
{
    memset(d, 0, sizeof *d);
    char path[128];
    snprintf(path, sizeof path, "/api/v1/functions/%s", name);
    http_response_t r;
    int rc = cli_request(u->o.addr, "GET", path, NULL, 0, &r, why, whylen);
    if (rc == EXIT_UNREACHABLE) {
        d->exists = -1;
    } else if (rc == EXIT_OK) {
        json_t *f = json_loadb(r.body, r.body_len, 0, NULL);
        const char *sha = json_string_value(json_object_get(f, "code_sha256"));
        snprintf(d->code_sha256, sizeof d->code_sha256, "%s", sha ? sha : "");
        json_t *cmd = json_object_get(f, "command");
        d->has_command = cmd && !json_is_null(cmd);
        d->exists = 1;
        json_decref(f);
    }
    http_response_clear(&r);
}

/* Creates or updates the function with spec and the zip. An update sends
 * what a create would default (env, mode), so nothing of an earlier kind
 * lingers; what an update cannot clear (a command, a changed kind) is a
 * delete and a create. Returns the exit code; *version on success. */
static int deploy(up_t *u, const char *name, const char *kind, const state_row_t *row, const deployed_t *d,
                  json_t *spec_in, const char *zip, size_t zip_len, int *version, char *why, size_t whylen)
{
    json_t *spec = json_deep_copy(spec_in);
    if (!spec || cli_spec_set_zip(spec, zip, zip_len) < 0) {
        json_decref(spec);
        snprintf(why, whylen, "out of memory");
        return EXIT_USAGE;
    }
    if (!json_object_get(spec, "env"))
        json_object_set_new(spec, "env", json_object());
    if (!json_object_get(spec, "mode"))
        json_object_set_new(spec, "mode", json_string("handler"));
    http_response_t r;
    int rc = EXIT_OK;
    bool recreate = d->exists == 1 && (!row || strcmp(row->kind, kind) ||
                                        (d->has_command && !json_object_get(spec, "command")));
    if (recreate) {
        char path[128];
        snprintf(path, sizeof path, "/api/v1/functions/%s", name);
        rc = cli_request(u->o.addr, "DELETE", path, NULL, 0, &r, why, whylen);
        if (rc == EXIT_REFUSED && r.status == 404)
            rc = EXIT_OK;
        else if (rc == EXIT_REFUSED)
            cli_error_message(&r, why, whylen);
        http_response_clear(&r);
    }
    if (rc == EXIT_OK) {
        rc = cli_deploy(u->o.addr, name, spec, &r, why, whylen);
        if (rc == EXIT_REFUSED)
            cli_error_message(&r, why, whylen);
        if (rc == EXIT_OK) {
            json_t *f = json_loadb(r.body, r.body_len, 0, NULL);
            *version = (int)json_integer_value(json_object_get(f, "version"));
            json_decref(f);
        }
        http_response_clear(&r);
    }
    json_decref(spec);
    return rc;
}

/* Prints the failure line (and the failed step's output); returns false. */
static bool failed(up_t *u, const char *name, int rc, const char *why, const char *log)
{
    if (rc == EXIT_UNREACHABLE)
        u->unreachable = true;
    printf("%s: failed: %s\n", name, why);
    if (log && *log)
        print_indented(log, strlen(log));
    fflush(stdout);
    return false;
}

/* Saves the new row and the artifact once the daemon took the code. */
static int remember(up_t *u, state_row_t *row, const char *zip, size_t zip_len, char *why, size_t whylen)
{
    char path[PATH_MAX], dir[PATH_MAX];
    int rc = fmt_path(dir, sizeof dir, "%s/artifacts", u->o.state_dir) ? mkdir_p(dir, 0700) : -ENAMETOOLONG;
    if (rc == 0)
        rc = wf_artifact_path(&u->o, row->name, path, sizeof path) ? write_file_atomic(path, zip, zip_len, 0600)
                                                                    : -ENAMETOOLONG;
    if (rc < 0) {
        snprintf(why, whylen, "deployed, but the artifact could not be saved: %s", strerror(-rc));
        return -1;
    }
    if (state_put(u->st, row) < 0) {
        snprintf(why, whylen, "deployed, but the state could not be saved: %s", state_error(u->st));
        return -1;
    }
    return 0;
}

/* Builds name (in dir, source src, hashed hash) and deploys it. */
static bool build_and_deploy(up_t *u, const char *name, const char *dir, const src_list_t *src, const char *hash,
                             enum build_kind kind, const state_row_t *row, const deployed_t *d)
{
    char why[1024];
    printf("%s: building (%s)\n", name, kind_name(kind));
    fflush(stdout);
    if (!u->box.open && build_box_open(&u->box, u->o.state_dir, u->o.step_timeout_s, why, sizeof why) < 0)
        return failed(u, name, EXIT_USAGE, why, NULL);
    build_ctx_t ctx = {.box = &u->box, .state_dir = u->o.state_dir, .verbose = u->o.verbose};
    build_job_t job = {.name = name, .src_dir = dir, .src = src};
    if (build_function(&ctx, kind, &job) < 0) {
        failed(u, name, EXIT_REFUSED, job.why, job.log);
        rm_rf(job.work);
        build_job_clear(&job);
        return false;
    }
    size_t zip_len = 0;
    char *zip = zip_tree(job.out, true, ZIP_MAX, &zip_len, why, sizeof why);
    rm_rf(job.work);
    if (!zip) {
        build_job_clear(&job);
        return failed(u, name, EXIT_REFUSED, why, NULL);
    }
    int version = 0;
    int rc = deploy(u, name, kind_name(kind), row, d, job.spec, zip, zip_len, &version, why, sizeof why);
    if (rc == EXIT_OK) {
        state_row_t fresh = {.version = version};
        snprintf(fresh.name, sizeof fresh.name, "%s", name);
        snprintf(fresh.dir, sizeof fresh.dir, "%s", dir);
        snprintf(fresh.kind, sizeof fresh.kind, "%s", kind_name(kind));
        snprintf(fresh.source_hash, sizeof fresh.source_hash, "%s", hash);
        sha256_hex(zip, zip_len, fresh.artifact_sha256);
        iso8601(fresh.built_at, now_ms());
        fresh.spec = json_dumps(job.spec, JSON_COMPACT | JSON_SORT_KEYS);
        if (!fresh.spec || remember(u, &fresh, zip, zip_len, why, sizeof why) < 0)
            rc = EXIT_REFUSED;
        free(fresh.spec);
    }
    if (rc == EXIT_OK)
        printf("%s: deployed (version %d)\n", name, version);
    else
        failed(u, name, rc, why, NULL);
    free(zip);
    build_job_clear(&job);
    return rc == EXIT_OK;
}

/* The source is what was built last: the daemon has that build, or gets
 * it again from the artifact without building. Returns -1 when it has to
 * be built after all (the artifact is gone or not what was built), else
 * whether it went well. */
static int redeploy(up_t *u, const char *name, state_row_t *row, const deployed_t *d)
{
    char path[PATH_MAX], sha[65], why[1024];
    if (!wf_artifact_path(&u->o, name, path, sizeof path) || sha256_file(path, sha) < 0 ||
        strcmp(sha, row->artifact_sha256))
        return -1;
    if (d->exists == 1 && !strcmp(d->code_sha256, row->artifact_sha256)) {
        printf("%s: unchanged\n", name);
        return 1;
    }
    size_t len = 0;
    char *zip = read_file(path, ZIP_MAX, &len);
    json_t *spec = json_loads(row->spec, 0, NULL);
    int version = 0, rc = EXIT_USAGE;
    snprintf(why, sizeof why, "cannot read %s or its stored fields", path);
    if (zip && spec)
        rc = deploy(u, name, row->kind, row, d, spec, zip, len, &version, why, sizeof why);
    if (rc == EXIT_OK) {
        row->version = version;
        if (state_put(u->st, row) < 0) {
            snprintf(why, sizeof why, "deployed, but the state could not be saved: %s", state_error(u->st));
            rc = EXIT_REFUSED;
        }
    }
    if (rc == EXIT_OK)
        printf("%s: deployed (version %d)\n", name, version);
    else
        failed(u, name, rc, why, NULL);
    free(zip);
    json_decref(spec);
    return rc == EXIT_OK;
}

/* One function: true when it is deployed with its current source. */
static bool up_one(up_t *u, const char *name)
{
    char dir[PATH_MAX], rel[PATH_MAX], why[1024];
    if (!fn_name_valid(name))
        return failed(u, name, EXIT_REFUSED, "function name must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$", NULL);
    if (!fmt_path(rel, sizeof rel, "%s/%s", u->o.dir, name) || !realpath(rel, dir)) {
        snprintf(why, sizeof why, "cannot read %s: %s", rel, strerror(errno));
        return failed(u, name, EXIT_REFUSED, why, NULL);
    }
    enum build_kind kind = kind_detect(dir);
    if (kind == KIND_NONE)
        return failed(u, name, EXIT_REFUSED, KIND_NONE_MESSAGE, NULL);
    src_list_t src;
    char hash[65];
    if (src_walk(dir, u->state_real[0] ? u->state_real : NULL, &src, why, sizeof why) < 0)
        return failed(u, name, EXIT_REFUSED, why, NULL);
    if (src_hash(dir, &src, hash, why, sizeof why) < 0) {
        src_list_free(&src);
        return failed(u, name, EXIT_REFUSED, why, NULL);
    }
    state_row_t row;
    int found = state_get(u->st, name, &row);
    deployed_t d;
    get_deployed(u, name, &d, why, sizeof why);
    int ok = -1;
    if (d.exists < 0)
        ok = failed(u, name, EXIT_UNREACHABLE, why, NULL);
    else if (found < 0)
        ok = failed(u, name, EXIT_REFUSED, "cannot read the state database", NULL);
    else if (found == 1 && !strcmp(row.source_hash, hash) && !strcmp(row.kind, kind_name(kind)))
        ok = redeploy(u, name, &row, &d);
    if (ok < 0)
        ok = build_and_deploy(u, name, dir, &src, hash, kind, found == 1 ? &row : NULL, &d);
    state_row_clear(&row);
    src_list_free(&src);
    return ok == 1;
}

/* Before anything is built: the router is to answer for -a HOST. */
static int add_host(up_t *u)
{
    char path[512], why[1024];
    snprintf(path, sizeof path, "/api/v1/router/hosts/%s", u->o.host);
    http_response_t r;
    int rc = cli_request(u->o.addr, "PUT", path, NULL, 0, &r, why, sizeof why);
    if (rc == EXIT_REFUSED)
        cli_error_message(&r, why, sizeof why);
    http_response_clear(&r);
    if (rc == EXIT_REFUSED)
        return wf_fail(&u->o, EXIT_USAGE, "the router cannot answer for %s: %s", u->o.host, why);
    return rc == EXIT_OK ? EXIT_OK : wf_fail(&u->o, rc, "%s", why);
}

/* After the functions: where to call them. */
static int print_routes(up_t *u, char **names, const bool *ok, size_t n)
{
    char why[1024], addr[256];
    bool served = false;
    int rc = wf_router(&u->o, addr, &served, why, sizeof why);
    if (rc != EXIT_OK)
        return wf_fail(&u->o, rc, "cannot read the router's hosts: %s", why);
    if (!addr[0]) {
        printf("The daemon serves no router (start it with --router-addr) to reach the functions at %s.\n",
               u->o.host);
        return EXIT_OK;
    }
    printf("Routes (the router at %s answers for %s):\n", addr, u->o.host);
    for (size_t i = 0; i < n; i++)
        if (ok[i]) {
            char url[1024];
            wf_url(url, sizeof url, addr, u->o.host, names[i]);
            printf("  %s\n", url);
        }
    return EXIT_OK;
}

int cmd_up(int argc, char **argv)
{
    up_t u = {0};
    int p = wf_parse("up", argc, argv, &u.o);
    if (p != 0)
        return p > 0 ? EXIT_OK : EXIT_USAGE;
    if (geteuid() != 0)
        return wf_fail(&u.o, EXIT_USAGE, "builds need root to create the build sandbox");
    char **names;
    size_t n;
    char err[1024];
    if (wf_discover(&u.o, &names, &n, err, sizeof err) < 0)
        return wf_fail(&u.o, EXIT_USAGE, "%s", err);
    int rc = wf_state(&u.o, true, &u.st) < 0 ? EXIT_USAGE : wf_reach(&u.o);
    if (rc == EXIT_OK)
        rc = add_host(&u);
    if (rc != EXIT_OK) {
        state_close(u.st);
        wf_free_names(names, n);
        return rc;
    }
    /* Absolute from here on: the build sandbox binds its dirs by path. */
    if (!realpath(u.o.state_dir, u.state_real)) {
        state_close(u.st);
        wf_free_names(names, n);
        return wf_fail(&u.o, EXIT_USAGE, "cannot resolve %s: %s", u.o.state_dir, strerror(errno));
    }
    u.o.state_dir = u.state_real;
    bool *ok = calloc(n ? n : 1, sizeof *ok);
    if (!ok)
        rc = wf_fail(&u.o, EXIT_USAGE, "out of memory");
    bool all = true;
    for (size_t i = 0; ok && i < n && !u.unreachable && !build_box_interrupted(); i++)
        all = (ok[i] = up_one(&u, names[i])) && all;
    if (build_box_interrupted())
        rc = wf_fail(&u.o, 128 + build_box_interrupted(), "interrupted");
    else if (u.unreachable)
        rc = EXIT_UNREACHABLE;
    else if (ok)
        rc = print_routes(&u, names, ok, n);
    if (rc == EXIT_OK && !all)
        rc = EXIT_REFUSED;
    build_box_close(&u.box);
    state_close(u.st);
    wf_free_names(names, n);
    free(ok);
    return rc;
}
