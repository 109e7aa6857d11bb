#include "cli/workflow.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "builder/box.h"
#include "cli/client_common.h"
#include "util/util.h"

static void usage(FILE *f, const char *cmd)
{
    if (!strcmp(cmd, "up"))
        fprintf(f, "usage: impuls up [-d DIR] [-a HOST] [--state-db DIR] [-v] [--step-timeout S] [--addr HOST:PORT]\n"
                   "  builds what changed in each subdirectory of DIR (./functions), deploys it, and has\n"
                   "  the router answer for HOST (fn.localhost); state in DIR of --state-db (.impuls)\n");
    else if (!strcmp(cmd, "down"))
        fprintf(f, "usage: impuls down [NAME...] [--force] [--state-db DIR] [--addr HOST:PORT]\n"
                   "  deletes the functions (all that impuls up deployed when no NAME is given);\n"
                   "  --force also forgets their state, artifacts and caches\n");
    else
        fprintf(f, "usage: impuls check [-d DIR] [-a HOST] [--state-db DIR] [--addr HOST:PORT]\n"
                   "  reports, for every function, its source against the stored state, whether it is\n"
                   "  deployed with the stored build, and whether the router answers for HOST\n");
}

int wf_fail(const wf_opts_t *o, int code, const char *fmt, ...)
{
    fprintf(stderr, "impuls %s: ", o->cmd);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

int wf_parse(const char *cmd, int argc, char **argv, wf_opts_t *o)
{
    *o = (wf_opts_t){.cmd = cmd, .addr = cli_default_addr(), .dir = "./functions", .host = "fn.localhost",
                     .state_dir = ".impuls", .step_timeout_s = BOX_TIMEOUT_S};
    bool up = !strcmp(cmd, "up"), down = !strcmp(cmd, "down");
    static struct option longopts[] = {
        {"dir", required_argument, 0, 'd'},       {"host", required_argument, 0, 'a'},
        {"state-db", required_argument, 0, 's'},  {"addr", required_argument, 0, 'A'},
        {"verbose", no_argument, 0, 'v'},         {"force", no_argument, 0, 'f'},
        {"step-timeout", required_argument, 0, 't'}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "d:a:vfh", longopts, NULL)) != -1) {
        char *end;
        long v;
        switch (c) {
        case 'd': o->dir = optarg; break;
        case 'a': o->host = optarg; break;
        case 's': o->state_dir = optarg; break;
        case 'A': o->addr = optarg; break;
        case 'v': o->verbose = true; break;
        case 'f': o->force = true; break;
        case 't':
            v = strtol(optarg, &end, 10);
            if (!*optarg || *end || v < 1 || v > 86400) {
                wf_fail(o, EXIT_USAGE, "--step-timeout takes seconds (1 to 86400), not '%s'", optarg);
                return -1;
            }
            o->step_timeout_s = (int)v;
            break;
        case 'h': usage(stdout, cmd); return 1;
        default: usage(stderr, cmd); return -1;
        }
    }
    o->names = argv + optind;
    o->n_names = argc - optind;
    /* Each command takes only the options that mean something to it. */
    const char *wrong = o->n_names && !down ? "NAME arguments"
                        : (o->force && !down) ? "--force"
                        : ((o->verbose || o->step_timeout_s != BOX_TIMEOUT_S) && !up) ? "-v and --step-timeout"
                                                                                        : NULL;
    if (wrong) {
        wf_fail(o, EXIT_USAGE, "%s: not an option of impuls %s", wrong, cmd);
        usage(stderr, cmd);
        return -1;
    }
    return 0;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int wf_discover(const wf_opts_t *o, char ***names, size_t *n, char *err, size_t errlen)
{
    *names = NULL;
    *n = 0;
    DIR *d = opendir(o->dir);
    if (!d) {
        snprintf(err, errlen, "cannot read the functions directory %s: %s", o->dir, strerror(errno));
        return -1;
    }
    char state_real[PATH_MAX] = "";
    if (!realpath(o->state_dir, state_real))
        state_real[0] = '\0';
    size_t cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) && rc == 0) {
        if (e->d_name[0] == '.')
            continue;
        char path[PATH_MAX], real[PATH_MAX];
        struct stat st;
        if (!fmt_path(path, sizeof path, "%s/%s", o->dir, e->d_name) || lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
            continue;
        if (state_real[0] && realpath(path, real) && !strcmp(real, state_real))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            char **v = realloc(*names, cap * sizeof *v);
            if (!v) {
                rc = -1;
                break;
            }
            *names = v;
        }
        if (!((*names)[*n] = strdup(e->d_name)))
            rc = -1;
        else
            (*n)++;
    }
    closedir(d);
    if (rc < 0) {
        snprintf(err, errlen, "out of memory");
        wf_free_names(*names, *n);
        *names = NULL;
        *n = 0;
        return -1;
    }
    if (*n)
        qsort(*names, *n, sizeof **names, by_name);
    return 0;
}

void wf_free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

int wf_state(const wf_opts_t *o, bool create, state_t **st)
{
    char err[1024];
    if (state_open(o->state_dir, create, st, err, sizeof err) < 0) {
        wf_fail(o, EXIT_USAGE, "%s", err);
        return -1;
    }
    return 0;
}

int wf_reach(const wf_opts_t *o)
{
    http_response_t r;
    char why[512];
    int rc = cli_request(o->addr, "GET", "/healthz", NULL, 0, &r, why, sizeof why);
    http_response_clear(&r);
    return rc == EXIT_UNREACHABLE ? wf_fail(o, EXIT_UNREACHABLE, "%s", why) : EXIT_OK;
}

int wf_router(const wf_opts_t *o, char addr[256], bool *served, char *why, size_t whylen)
{
    addr[0] = '\0';
    *served = false;
    http_response_t r;
    int rc = cli_request(o->addr, "GET", "/api/v1/router", NULL, 0, &r, why, whylen);
    if (rc == EXIT_REFUSED)
        cli_error_message(&r, why, whylen);
    if (rc == EXIT_OK) {
        json_t *j = json_loadb(r.body, r.body_len, 0, NULL);
        const char *a = json_string_value(json_object_get(j, "addr"));
        snprintf(addr, 256, "%s", a ? a : "");
        size_t i;
        json_t *h;
        json_array_foreach(json_object_get(j, "hosts"), i, h)
        {
            if (json_is_string(h) && !strcasecmp(json_string_value(h), o->host))
                *served = true;
        }
        json_decref(j);
    }
    http_response_clear(&r);
    return rc;
}

void wf_url(char *out, size_t size, const char *router_addr, const char *host, const char *name)
{
    const char *colon = strrchr(router_addr, ':');
    bool port = colon && strcmp(colon, ":80");
    snprintf(out, size, "http://%s%s/invoke/%s", host, port ? colon : "", name);
}

bool wf_artifact_path(const wf_opts_t *o, const char *name, char *out, size_t size)
{
    return fmt_path(out, size, "%s/artifacts/%s.zip", o->state_dir, name);
}
