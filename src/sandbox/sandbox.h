#pragma once
/* An instance's sandbox: where one runtime process runs. Three backends
 * behind one interface: "namespace" (pid, mount, net, ipc, uts and cgroup
 * namespaces, pivot_root, cgroup limits, no capabilities, seccomp),
 * "microvm" (a QEMU microvm per instance: microvm.h) and "process" (a plain
 * child, no isolation: the ?local=true development mode). */
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "sandbox/cgroup.h"

#define SANDBOX_RAPI_PORT 9001
/* The Runtime API also listens on this Unix socket inside each namespace
 * sandbox (on its own small /run, which only init may write to).
 * IMPULS_RUNTIME_API_SOCKET names it to the runtime; the Node runtime uses it
 * rather than loopback TCP (docs/runtimes.md). Not an abstract name: Node 20
 * pads those to the whole sun_path. */
#define SANDBOX_RAPI_UNIX_PATH "/run/impuls-runtime-api.sock"
#define SANDBOX_RAPI_UNIX_VAR "IMPULS_RUNTIME_API_SOCKET"
#define SANDBOX_RAPI_UNIX_ENV SANDBOX_RAPI_UNIX_VAR "=" SANDBOX_RAPI_UNIX_PATH
#define SANDBOX_RUNTIME_DIR "/var/runtime"
#define SANDBOX_TASK_DIR "/var/task"
#define SANDBOX_CACHE_DIR "/var/cache/impuls"

struct egress_lease;

enum sandbox_backend { SANDBOX_PROCESS, SANDBOX_NAMESPACE, SANDBOX_MICROVM, SANDBOX_BACKENDS };
/* "process", "namespace", "microvm"; and back (-1: none of them). */
const char *sandbox_backend_name(enum sandbox_backend b);
int sandbox_backend_parse(const char *name);

typedef struct sandbox_spec {
    enum sandbox_backend backend;
    const char *task_dir;    /* host path of the function's code */
    const char *runtime_dir; /* host path of runtimes/ */
    const char *root_mnt;    /* host dir the sandbox root tmpfs is mounted on */
    const char *const *argv; /* as the process sees paths (see sandbox_paths) */
    const char *const *envp; /* complete environment, less AWS_LAMBDA_RUNTIME_API */
    const char *cgroup_name;
    int memory_mb;
    int pids_max;
    int tmp_mb;
    int cpu_weight;
    uid_t uid; /* unprivileged uid and gid the runtime runs as */
    /* The build sandbox of `impuls up` (src/builder/box.c) only; all off in
     * the function sandbox, which they leave unchanged. runtime_dir NULL:
     * no /var/runtime. */
    bool task_writable;    /* /var/task bound read-write (nosuid, nodev) */
    const char *cache_dir; /* host dir bound read-write at SANDBOX_CACHE_DIR, or NULL */
    /* The function sandbox's /etc/resolv.conf (egress_resolv_conf()), or
     * NULL: an empty one. */
    const char *resolv_conf;
    /* The sandbox's link out (net/egress.h), made before its runtime
     * starts: a veth pair (namespace), a tap device (microvm); NULL: only
     * its own loopback. A pooled shell gets one, if its function has
     * egress, just before its claim. */
    struct egress_lease *egress;
    /* A pre-made shell (namespace backend): made before any function asks
     * for it, with task_dir an empty dir. The runtime starts and waits on
     * fd 3 for its claim; sandbox_claim names the code and the environment.
     * tasks_root (the host's tasks/ dir) is bound where only init reaches it
     * (/.claim, mode 0700) until the claim, then unmounted. */
    bool pooled;
    const char *tasks_root;
    /* A pooled shell made by a Python zygote (zygote.c) rather than by the
     * daemon's own clone: zygote_fd its socket (> 0). argv and envp are then
     * unused: the runtime is the zygote's interpreter, in its environment. */
    int zygote_fd;
    /* In the zygote only: the runtime, locked down, returns from
     * sandbox_init_main instead of calling execve. */
    bool runtime_returns;
    /* microvm: the guest's files (scripts/microvm-guest.sh), where saved
     * VMs are kept, and the Unix socket path the instance's Runtime API
     * listens on (the VM's supervisor connects there). */
    const char *vm_dir;
    const char *vm_state_dir;
    const char *vm_api_path;
    /* microvm: argv is an interpreter that may start before its function
     * is known (env sets nothing it reads only at start): the saved VM is
     * one of its language, the interpreter loaded and waiting. */
    bool vm_prestart;
} sandbox_spec_t;

typedef struct sandbox {
    enum sandbox_backend backend;
    pid_t pid;    /* namespace: the sandbox's init (pid 1 inside); process: the runtime */
    int ctl_fd;   /* namespace: socketpair to init; it brings the Runtime API socket */
    int log_fd;   /* read end of the runtime's stdout+stderr */
    int rapi_fd;  /* listening socket of the Runtime API, -1 until known */
    int rapi_unix_fd; /* namespace: the same on SANDBOX_RAPI_UNIX_PATH, else -1 */
    cgroup_t cg;
    char api_path[108]; /* microvm: the Runtime API's socket path, removed at release */
    int64_t vm_peak;    /* microvm: the runtime's memory, as the guest last reported it */
    bool vm_booted;     /* microvm: its VM booted (no saved VM to restore yet) */
} sandbox_t;

/* The task and runtime dirs as the process sees them. */
void sandbox_paths(enum sandbox_backend b, const sandbox_spec_t *spec, const char **task_dir,
                   const char **runtime_dir);

/* Starts the sandbox; the runtime inside will connect to its Runtime API. On
 * the process backend rapi_fd is ready at once; on the namespace backend the
 * caller waits for ctl_fd to become readable and calls sandbox_take_rapi_fd. */
int sandbox_spawn(const sandbox_spec_t *spec, sandbox_t *sb, char *err, size_t errlen);
/* Namespace backend: receives the listening sockets made inside the sandbox's
 * network namespace (rapi_fd and rapi_unix_fd). Returns rapi_fd, or -1 when
 * init closed the channel. */
int sandbox_take_rapi_fd(sandbox_t *sb);
/* Closes the Runtime API's listening sockets (if still the sandbox's). */
void sandbox_close_rapi(sandbox_t *sb);
/* A pooled sandbox becomes an instance of a function: init binds
 * tasks/<task_key> read-only at /var/task, then hands env_json (an object of
 * environment variables, the runtime's whole new environment) to the runtime.
 * Returns 0, or -1 when init is gone or the message is too long. */
int sandbox_claim(sandbox_t *sb, const char *task_key, const char *env_json);
enum { SANDBOX_CLAIM_MAX = 60 * 1024 };

/* After the sandbox's main pid exited with status: true when the runtime
 * was killed for running out of memory. vm_reason (microvm): what ended the
 * VM when its runtime did not end by itself, else "". */
bool sandbox_exit_info(sandbox_t *sb, int status, char *vm_reason, size_t len);

/* The most memory the runtime used since the last reset (namespace: its
 * cgroup's peak) or since it started (microvm: as its guest reports it),
 * in bytes; 0 when not known (process). */
int64_t sandbox_memory_peak(sandbox_t *sb);
void sandbox_reset_peak(sandbox_t *sb);

/* Kills everything in the sandbox (idempotent). */
void sandbox_kill(sandbox_t *sb);
/* After the sandbox's main pid was reaped: closes fds and removes the cgroup. */
void sandbox_release(sandbox_t *sb);

/* The network namespace of a running sandbox (its init's pid), as an fd. */
int sandbox_open_netns(pid_t pid);
/* A non-blocking TCP connection to 127.0.0.1:port inside that namespace
 * (connect in progress), or -1 with errno. Call on the loop thread. */
int sandbox_connect_inside(int netns_fd, int port);
/* The same, unconnected (for bufferevent_socket_connect), and the address. */
int sandbox_socket_inside(int netns_fd);
struct sockaddr_in;
void sandbox_loopback_addr(int port, struct sockaddr_in *a);

/* Startup of the namespace backend: the cgroup tree. */
int sandbox_init(const char *cgroup_parent, enum cg_version want, char *err, size_t errlen);

/* Internal pieces of the namespace backend (one file each). */
/* init.c: pid 1 of a new sandbox, ctl, logw and the claim pipe its fds from
 * the spawner. Never returns, except in the runtime it forks when
 * spec->runtime_returns (returns 0 there). */
int sandbox_init_main(const sandbox_spec_t *spec, char **envp, int ctl, int logw, int claim_r, int claim_w);
/* zygote.c, the daemon's end: asks the zygote listening on zsock to clone a
 * sandbox init for spec with fds (ctl, logw, claim_r, claim_w). Returns its
 * pid, a child of the daemon (CLONE_PARENT), or -1 with errno; after -1 the
 * zygote may be out of step and must not be asked again. */
pid_t zygote_clone(int zsock, const sandbox_spec_t *spec, const int fds[4]);
/* The zygote's end (libimpuls-zygote.so, runtimes/python/zygote.py): says
 * "R" on sock once ready, then clones a sandbox for each request until the
 * daemon closes sock (returns 1). Returns 0 in a new sandbox's runtime,
 * locked down, -1 when it cannot start. */
int impuls_zygote_serve(int sock);
int sandbox_setup_root(const sandbox_spec_t *spec, char *err, size_t errlen);
/* In a new mount namespace: pivots into an empty root (a tmpfs on mnt, a
 * host directory the pivot hides) that holds only the host's system
 * directories read-only, /etc/ld.so.cache, a /dev of the harmless nodes
 * and device (a name under /dev, or NULL) and a fresh /proc: a helper's
 * jail (QEMU's, as Firecracker's jailer makes one). */
int sandbox_jail_root(const char *mnt, const char *device, char *err, size_t errlen);
int sandbox_seccomp_compile(void); /* once, at start */
int sandbox_apply_seccomp(void);
/* Drops every capability (bounding set too) and becomes uid:uid with no
 * supplementary groups. Returns 0 or -errno. For a child about to exec. */
int sandbox_drop_privileges(uid_t uid);
/* The rest of a sandbox init's life (pid 1): reaps orphans, exits with
 * main_pid's status (128+N for signal N), which ends the pid namespace. */
void sandbox_init_wait(pid_t main_pid) __attribute__((noreturn));
