/* The namespace backend, the daemon's side: makes a sandbox's init (its code
 * is init.c), by its own clone or, for a Python function's zygote-made
 * instances, through the zygote (zygote.c); takes the Runtime API sockets
 * init sends; claims a pooled shell.
 *
 *   daemon ──clone(NEWPID|NEWNS|NEWNET|NEWIPC|NEWUTS)──▶ init (pid 1 inside)
 *     │ joins init to the instance cgroup, then says "go"    │ new cgroup ns, lo up,
 *     │                                                     │ 127.0.0.1:9001 listening,
 *     │                                                     │ root fs + pivot_root,
 *     │◀── Runtime API sockets (SCM_RIGHTS) ────────────────│ and /run/impuls-runtime-api.sock
 *     │                                    fork ──▶ runtime: no caps, uid ≠ 0,
 *     │                                               no_new_privs, seccomp, exec
 *   init waits for the runtime and exits with it, which ends every process of
 *   the pid namespace; PDEATHSIG ends init when the daemon dies. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "net/egress.h"
#include "sandbox/sandbox.h"
#include "sandbox/spawn_util.h"
#include "util/util.h"

int sandbox_take_rapi_fd(sandbox_t *sb)
{
    char byte;
    int fds[2], n;
    if (recv_with_fds(sb->ctl_fd, &byte, 1, MSG_DONTWAIT, fds, 2, &n) <= 0)
        return -1;
    if (n != 2) { /* not what init sends: close what came */
        for (int i = 0; i < n; i++)
            close(fds[i]);
        errno = EPROTO;
        return -1;
    }
    sb->rapi_fd = fds[0];
    sb->rapi_unix_fd = fds[1];
    return fds[0];
}

static void close_pair(int p[2])
{
    for (int i = 0; i < 2; i++)
        if (p[i] >= 0)
            close(p[i]);
}

int sandbox_claim(sandbox_t *sb, const char *task_key, const char *env_json)
{
    size_t klen = strlen(task_key), elen = strlen(env_json);
    if (klen != 64 || elen > SANDBOX_CLAIM_MAX)
        return -1;
    char *msg = malloc(1 + klen + 1 + elen);
    if (!msg)
        return -1;
    msg[0] = 'C';
    memcpy(msg + 1, task_key, klen + 1);
    memcpy(msg + 2 + klen, env_json, elen);
    ssize_t n = send(sb->ctl_fd, msg, 2 + klen + elen, MSG_NOSIGNAL);
    free(msg);
    return n == (ssize_t)(2 + klen + elen) ? 0 : -1;
}

int namespace_spawn(const sandbox_spec_t *spec, sandbox_t *sb, char *err, size_t errlen)
{
    int rc = cgroup_create(&sb->cg, spec->cgroup_name, spec->memory_mb, spec->pids_max, spec->cpu_weight);
    if (rc < 0) {
        snprintf(err, errlen, "cannot create cgroup: %s", strerror(-rc));
        return -1;
    }
    int sp[2], logp[2], claim[2] = {-1, -1};
    if (spec->pooled && pipe2(claim, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        cgroup_destroy(&sb->cg);
        return -1;
    }
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
        snprintf(err, errlen, "socketpair: %s", strerror(errno));
        close_pair(claim);
        cgroup_destroy(&sb->cg);
        return -1;
    }
    if (pipe2(logp, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        close_pair(sp);
        close_pair(claim);
        cgroup_destroy(&sb->cg);
        return -1;
    }
    long pid;
    if (spec->zygote_fd > 0) {
        pid = zygote_clone(spec->zygote_fd, spec, (const int[]){sp[1], logp[1], claim[0], claim[1]});
    } else {
        /* Everything the child needs is made here: between clone and exec it
         * allocates nothing (another thread may hold the allocator's lock). */
        char **envp = env_with_rapi(spec->envp, "127.0.0.1:9001", true);
        pid = envp ? syscall(SYS_clone, CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS |
                                            SIGCHLD, NULL, NULL, NULL, NULL) : -1;
        if (pid == 0)
            sandbox_init_main(spec, envp, sp[1], logp[1], claim[0], claim[1]); /* never returns */
        free(envp);
    }
    close(sp[1]);
    close(logp[1]);
    close_pair(claim);
    if (pid < 0) {
        snprintf(err, errlen, "%s: %s", spec->zygote_fd > 0 ? "zygote" : "clone", strerror(errno));
        close(sp[0]);
        close(logp[0]);
        cgroup_destroy(&sb->cg);
        return -1;
    }
    sb->pid = (pid_t)pid;
    sb->ctl_fd = sp[0];
    sb->log_fd = logp[0];
    sb->rapi_fd = -1;
    rc = cgroup_attach(&sb->cg, sb->pid);
    if (rc < 0) {
        snprintf(err, errlen, "cannot place the sandbox in its cgroup: %s", strerror(-rc));
        kill(sb->pid, SIGKILL);
        return -2; /* spawned: the caller reaps it and releases */
    }
    /* Its link out is ready before its runtime starts, as Lambda's is. */
    rc = spec->egress ? egress_lease_attach(spec->egress, sb->pid) : 0;
    if (rc < 0) {
        snprintf(err, errlen, "cannot make the sandbox's network link: %s", strerror(-rc));
        kill(sb->pid, SIGKILL);
        return -2;
    }
    if (write(sb->ctl_fd, "g", 1) != 1) {
        snprintf(err, errlen, "cannot start the sandbox: %s", strerror(errno));
        kill(sb->pid, SIGKILL);
        return -2;
    }
    fcntl(sb->log_fd, F_SETFL, O_NONBLOCK);
    return 0;
}
