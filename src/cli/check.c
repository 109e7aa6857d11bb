/* `impuls check`: SmolFaaS's consistency report, nothing changed. For every
 * function (the dirs of -d and what the state knows): its source against
 * the stored hash, whether the daemon runs the stored build, and whether
 * the router answers for -a HOST. Exit 1 when something needs attention. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/fn_spec.h"
#include "builder/hash.h"
#include "builder/state.h"
#include "cli/cli.h"
#include "cli/client_common.h"
#include "cli/workflow.h"
#include "util/util.h"

#define OK "\xE2\x9C\x93"  /* ✓ */
#define BAD "\xE2\x9C\x97" /* ✗ */

typedef struct check {
    wf_opts_t o;
    state_t *st;
    char state_real[PATH_MAX];
    char router[256]; /* the router's address, "" when none */
    bool served;      /* it answers for o.host */
} check_t;

/* The source against the stored hash: true when consistent. */
static bool check_source(check_t *c, const char *name, bool in_dir, const state_row_t *row, int found)
{
    char rel[PATH_MAX], dir[PATH_MAX], why[1024], hash[65];
    if (!in_dir) {
        printf("  " BAD " Source directory missing (not in %s)\n", c->o.dir);
        return false;
    }
    if (found != 1) {
        printf("  " BAD " Never built (no stored state)\n");
        return false;
    }
    src_list_t src;
    if (!fmt_path(rel, sizeof rel, "%s/%s", c->o.dir, name) || !realpath(rel, dir)) {
        printf("  " BAD " Source cannot be read: %s\n", strerror(errno));
        return false;
    }
    if (src_walk(dir, c->state_real[0] ? c->state_real : NULL, &src, why, sizeof why) < 0) {
        printf("  " BAD " Source cannot be read: %s\n", why);
        return false;
    }
    int rc = src_hash(dir, &src, hash, why, sizeof why);
    src_list_free(&src);
    if (rc < 0) {
        printf("  " BAD " Source cannot be read: %s\n", why);
        return false;
    }
    if (strcmp(hash, row->source_hash)) {
        printf("  " BAD " Source hash changed (rebuild needed)\n");
        return false;
    }
    printf("  " OK " Source hash matches stored state\n");
    return true;
}

/* Deployed with the stored artifact? Returns 1, 0, or -1 unreachable. */
static int check_deployed(check_t *c, const char *name, const state_row_t *row, int found)
{
    char path[128], why[1024];
    snprintf(path, sizeof path, "/api/v1/functions/%s", name);
    http_response_t r;
    int rc = cli_request(c->o.addr, "GET", path, NULL, 0, &r, why, sizeof why);
    if (rc == EXIT_UNREACHABLE) {
        wf_fail(&c->o, rc, "%s", why);
        return -1;
    }
    int ok = 0;
    if (rc == EXIT_REFUSED && r.status == 404) {
        printf("  " BAD " Function not deployed\n");
    } else if (rc == EXIT_REFUSED) {
        cli_error_message(&r, why, sizeof why);
        printf("  " BAD " Function cannot be read: %s\n", why);
    } else {
        json_t *f = json_loadb(r.body, r.body_len, 0, NULL);
        const char *sha = json_string_value(json_object_get(f, "code_sha256"));
        if (found == 1 && sha && !strcmp(sha, row->artifact_sha256)) {
            printf("  " OK " Function deployed with the stored build (version %d)\n",
                   (int)json_integer_value(json_object_get(f, "version")));
            ok = 1;
        } else {
            printf("  " BAD " Function deployed with other code (redeploy needed)\n");
        }
        json_decref(f);
    }
    http_response_clear(&r);
    return ok;
}

static bool check_route(check_t *c, const char *name)
{
    if (!c->router[0]) {
        printf("  " BAD " Route missing (the daemon serves no router: start it with --router-addr)\n");
        return false;
    }
    if (!c->served) {
        printf("  " BAD " Route missing (the router does not answer for %s)\n", c->o.host);
        return false;
    }
    char url[1024];
    wf_url(url, sizeof url, c->router, c->o.host, name);
    printf("  " OK " Route present (%s)\n", url);
    return true;
}

/* Returns 1 consistent, 0 needs attention, -1 unreachable. */
static int check_one(check_t *c, const char *name, bool in_dir)
{
    printf("%s:\n", name);
    if (!fn_name_valid(name)) {
        printf("  " BAD " Not a function name (must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$)\n");
        return 0;
    }
    state_row_t row;
    int found = state_get(c->st, name, &row);
    bool ok = check_source(c, name, in_dir, &row, found);
    int d = check_deployed(c, name, &row, found);
    state_row_clear(&row);
    if (d < 0)
        return -1;
    ok = check_route(c, name) && d == 1 && ok;
    return ok;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int cmd_check(int argc, char **argv)
{
    check_t c = {0};
    int p = wf_parse("check", argc, argv, &c.o);
    if (p != 0)
        return p > 0 ? EXIT_OK : EXIT_USAGE;
    setvbuf(stdout, NULL, _IOLBF, 0);
    char **dirs = NULL, **known = NULL, err[1024];
    size_t nd = 0, nk = 0;
    if (wf_discover(&c.o, &dirs, &nd, err, sizeof err) < 0)
        return wf_fail(&c.o, EXIT_USAGE, "%s", err);
    int rc = wf_state(&c.o, false, &c.st) < 0 ? EXIT_USAGE : EXIT_OK;
    if (rc == EXIT_OK && state_names(c.st, &known, &nk) < 0)
        rc = wf_fail(&c.o, EXIT_USAGE, "cannot read the state database: %s", state_error(c.st));
    if (rc == EXIT_OK)
        rc = wf_reach(&c.o);
    if (rc == EXIT_OK && (rc = wf_router(&c.o, c.router, &c.served, err, sizeof err)) != EXIT_OK)
        wf_fail(&c.o, rc, "cannot read the router's hosts: %s", err);
    if (!realpath(c.o.state_dir, c.state_real))
        c.state_real[0] = '\0';
    /* Every name of either list, once, sorted. */
    char **all = calloc(nd + nk + 1, sizeof *all);
    size_t n = 0;
    for (size_t i = 0; all && i < nd + nk; i++) {
        char *name = i < nd ? dirs[i] : known[i - nd];
        bool dup = false;
        for (size_t k = 0; k < n && !dup; k++)
            dup = !strcmp(all[k], name);
        if (!dup)
            all[n++] = name;
    }
    if (n)
        qsort(all, n, sizeof *all, by_name);
    if (rc == EXIT_OK && !all)
        rc = wf_fail(&c.o, EXIT_USAGE, "out of memory");
    if (rc == EXIT_OK) {
        printf("Consistency Check Results:\n==========================\n");
        size_t attention = 0;
        for (size_t i = 0; i < n && rc == EXIT_OK; i++) {
            bool in_dir = false;
            for (size_t k = 0; k < nd && !in_dir; k++)
                in_dir = !strcmp(dirs[k], all[i]);
            printf("\n");
            int ok = check_one(&c, all[i], in_dir);
            if (ok < 0)
                rc = EXIT_UNREACHABLE;
            attention += ok == 0;
        }
        if (rc == EXIT_OK && attention) {
            printf("\nSummary: %zu function(s) need attention. Run 'impuls up' to fix.\n", attention);
            rc = EXIT_REFUSED;
        } else if (rc == EXIT_OK) {
            printf("\nSummary: all %zu function(s) consistent.\n", n);
        }
    }
    free(all);
    wf_free_names(dirs, nd);
    wf_free_names(known, nk);
    state_close(c.st);
    return rc;
}
