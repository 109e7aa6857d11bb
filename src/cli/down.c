/* `impuls down [NAME...] [--force]`: deletes the functions from the daemon
 * (every one the state knows when no NAME is given) and keeps their state,
 * so the next up deploys them again without building. --force also forgets
 * them: their rows, artifacts and cached steps (and, with no NAME, the
 * whole cache). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/fn_spec.h"
#include "builder/state.h"
#include "cli/cli.h"
#include "cli/client_common.h"
#include "cli/workflow.h"
#include "util/util.h"

/* Forgets what the state has of name. Returns 0 or -1 (why set). */
static int forget(const wf_opts_t *o, state_t *st, const char *name, char *why, size_t whylen)
{
    char path[PATH_MAX];
    if (st && state_delete(st, name) < 0) {
        snprintf(why, whylen, "cannot update the state database: %s", state_error(st));
        return -1;
    }
    if (wf_artifact_path(o, name, path, sizeof path))
        unlink(path);
    if (fmt_path(path, sizeof path, "%s/cache/steps/%s", o->state_dir, name))
        rm_rf(path);
    return 0;
}

/* Returns the exit code of this name. */
static int down_one(const wf_opts_t *o, state_t *st, const char *name)
{
    char path[128], why[1024];
    snprintf(path, sizeof path, "/api/v1/functions/%s", name);
    http_response_t r;
    int rc = cli_request(o->addr, "DELETE", path, NULL, 0, &r, why, sizeof why);
    bool absent = rc == EXIT_REFUSED && r.status == 404;
    if (rc == EXIT_REFUSED && !absent)
        cli_error_message(&r, why, sizeof why);
    http_response_clear(&r);
    if (rc == EXIT_UNREACHABLE)
        return wf_fail(o, rc, "%s", why);
    if (rc == EXIT_REFUSED && !absent) {
        printf("%s: failed: %s\n", name, why);
        return EXIT_REFUSED;
    }
    state_row_t row;
    int known = state_get(st, name, &row);
    state_row_clear(&row);
    if (absent && known == 0) {
        printf("%s: not found (neither deployed nor in the state)\n", name);
        return EXIT_REFUSED;
    }
    if (o->force && forget(o, st, name, why, sizeof why) < 0) {
        printf("%s: failed: %s\n", name, why);
        return EXIT_REFUSED;
    }
    printf("%s: %s\n", name, o->force ? "removed" : "stopped");
    return EXIT_OK;
}

int cmd_down(int argc, char **argv)
{
    wf_opts_t o;
    int p = wf_parse("down", argc, argv, &o);
    if (p != 0)
        return p > 0 ? EXIT_OK : EXIT_USAGE;
    for (int i = 0; i < o.n_names; i++)
        if (!fn_name_valid(o.names[i]))
            return wf_fail(&o, EXIT_USAGE, "function name '%s' must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$",
                           o.names[i]);
    setvbuf(stdout, NULL, _IOLBF, 0);
    state_t *st;
    if (wf_state(&o, false, &st) < 0)
        return EXIT_USAGE;
    char **known = NULL;
    size_t n = 0;
    if (!o.n_names && state_names(st, &known, &n) < 0) {
        wf_fail(&o, EXIT_USAGE, "cannot read the state database: %s", state_error(st));
        state_close(st);
        return EXIT_USAGE;
    }
    int rc = wf_reach(&o);
    size_t count = o.n_names ? (size_t)o.n_names : n;
    for (size_t i = 0; rc != EXIT_UNREACHABLE && i < count; i++) {
        int r = down_one(&o, st, o.n_names ? o.names[i] : known[i]);
        if (r != EXIT_OK)
            rc = r;
    }
    if (rc == EXIT_OK && count == 0)
        printf("No functions to stop (the state in %s knows none).\n", o.state_dir);
    /* Everything forgotten: the caches and scratch dirs go too. */
    static const char *dirs[] = {"cache", "work", "sandbox-root", "artifacts", NULL};
    for (int i = 0; rc == EXIT_OK && o.force && !o.n_names && dirs[i]; i++) {
        char path[PATH_MAX];
        if (fmt_path(path, sizeof path, "%s/%s", o.state_dir, dirs[i]))
            rm_rf(path);
    }
    wf_free_names(known, n);
    state_close(st);
    return rc;
}
