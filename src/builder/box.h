#pragma once
/* The build sandbox of `impuls up`: each build step runs here, never on the
 * host. New pid, mount, ipc, uts and network namespaces (the only way out is
 * impuls up's proxy, to public addresses: box_proxy.h), the function sandbox's root file
 * system with a writable /var/task and a cache dir, an unprivileged uid, no
 * capabilities, no_new_privs, the daemon's seccomp filter, a cgroup with
 * memory and pids limits, and a time limit that kills the whole pid
 * namespace. */
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The uid and gid steps run as: below the daemon's sandbox uids (200000
 * and up), so per-uid limits are not shared with functions. */
#define BOX_UID 190000
#define BOX_MEMORY_MB 2048
#define BOX_PIDS_MAX 1024
#define BOX_TMP_MB 512
#define BOX_TIMEOUT_S 600
/* What is kept of a step's output: its end, where the errors are. */
#define BOX_OUTPUT_MAX (256 << 10)

typedef struct build_box {
    char root_mnt[4096];  /* empty host dir the sandbox's root tmpfs is mounted on */
    char cache_dir[4096]; /* bound read-write at /var/cache/impuls */
    int timeout_s;        /* per step */
    /* Set after build_box_open, for the daemon's builds of functions' source
     * (source_build.c): runtimes/ bound read-only at /var/runtime, and a
     * network namespace with no way out at all, not even the proxy. impuls
     * up leaves both off: its npm steps need the registry. */
    const char *runtime_dir;
    bool no_network;
    int steps;            /* steps run so far (names their cgroups) */
    bool open;
} build_box_t;

typedef struct box_result {
    int status;    /* the step's exit code, 128 + signal when killed */
    bool timed_out;
    bool oom;      /* its cgroup's OOM killer struck */
    char *output;  /* stdout and stderr interleaved (the last BOX_OUTPUT_MAX bytes), owned */
    size_t output_len;
} box_result_t;

/* Makes what every step needs: the seccomp program, the cgroup parent
 * "impuls/build-<pid>", the root mount point and the cache dir under
 * state_dir. Needs root. Returns 0, or -1 with err set. */
int build_box_open(build_box_t *b, const char *state_dir, int timeout_s, char *err, size_t errlen);
/* Removes the cgroup parent. */
void build_box_close(build_box_t *b);

/* Runs argv (argv[0] an absolute path inside the sandbox) with envp, in cwd
 * (inside the sandbox), with task_dir (a host dir owned by BOX_UID) bound at
 * /var/task. Returns 0 when the step ran (res says how it ended), -1 with
 * err set when the sandbox could not be made or the build was interrupted
 * (SIGINT, SIGTERM, SIGHUP: see build_box_interrupted). */
int build_box_run(build_box_t *b, const char *task_dir, const char *const *argv, const char *const *envp,
                  const char *cwd, box_result_t *res, char *err, size_t errlen);
void box_result_clear(box_result_t *res);
/* The signal that interrupted a build, or 0. */
int build_box_interrupted(void);
