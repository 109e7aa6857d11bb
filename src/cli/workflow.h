#pragma once
/* What impuls up, down and check share (SmolFaaS's workflow): their
 * options, the function dirs of -d, the state, and the router's address. */
#include <stdbool.h>
#include <stddef.h>

#include "builder/state.h"

typedef struct wf_opts {
    const char *cmd;       /* "up", "down", "check": names the messages */
    const char *addr;      /* the daemon: --addr or IMPULS_ADDR */
    const char *dir;       /* -d: the function dirs' parent (./functions) */
    const char *host;      /* -a: the router host (fn.localhost) */
    const char *state_dir; /* --state-db (.impuls) */
    bool verbose, force;
    int step_timeout_s;
    char **names; /* positional arguments (down's function names) */
    int n_names;
} wf_opts_t;

/* Returns -1 after printing a usage error, 1 after printing the help, 0. */
int wf_parse(const char *cmd, int argc, char **argv, wf_opts_t *o);
/* "impuls up: ..." on stderr; returns code. */
int wf_fail(const wf_opts_t *o, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The subdirectories of o->dir, sorted: not dot-dirs, not the state dir.
 * Returns 0, or -1 with err set. */
int wf_discover(const wf_opts_t *o, char ***names, size_t *n, char *err, size_t errlen);
void wf_free_names(char **names, size_t n);
/* Opens the state (see state_open); on failure prints why and returns -1. */
int wf_state(const wf_opts_t *o, bool create, state_t **st);
/* Is the daemon there? Prints why not and returns EXIT_UNREACHABLE, or 0. */
int wf_reach(const wf_opts_t *o);
/* The router: its address ("" when the daemon serves none) and whether it
 * answers for o->host. Returns an exit code (why set when not 0). */
int wf_router(const wf_opts_t *o, char addr[256], bool *served, char *why, size_t whylen);
/* http://HOST[:PORT]/invoke/NAME for a router listening on addr. */
void wf_url(char *out, size_t size, const char *router_addr, const char *host, const char *name);
/* <state>/artifacts/<name>.zip */
bool wf_artifact_path(const wf_opts_t *o, const char *name, char *out, size_t size);
