/* What both backends share: spawning dispatch, paths, kill and release. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "sandbox/sandbox.h"
#include "sandbox/spawn_util.h"

int sandbox_init(const char *cgroup_parent, enum cg_version want, char *err, size_t errlen)
{
    int rc = sandbox_seccomp_compile();
    if (rc < 0) {
        snprintf(err, errlen, "cannot compile the seccomp filter: %s", strerror(-rc));
        return -1;
    }
    return cgroup_init(NULL, cgroup_parent, want, err, errlen) == CG_NONE ? -1 : 0;
}

void sandbox_paths(enum sandbox_backend b, const sandbox_spec_t *spec, const char **task_dir,
                   const char **runtime_dir)
{
    *task_dir = b == SANDBOX_NAMESPACE ? SANDBOX_TASK_DIR : spec->task_dir;
    *runtime_dir = b == SANDBOX_NAMESPACE ? SANDBOX_RUNTIME_DIR : spec->runtime_dir;
}

int sandbox_spawn(const sandbox_spec_t *spec, sandbox_t *sb, char *err, size_t errlen)
{
    memset(sb, 0, sizeof *sb);
    sb->backend = spec->backend;
    sb->pid = -1;
    sb->ctl_fd = sb->log_fd = sb->rapi_fd = sb->rapi_unix_fd = -1;
    sb->cg.peak_fd = -1;
    return spec->backend == SANDBOX_NAMESPACE ? namespace_spawn(spec, sb, err, errlen)
                                              : process_spawn(spec, sb, err, errlen);
}

void sandbox_kill(sandbox_t *sb)
{
    if (sb->pid <= 0)
        return;
    /* Namespace: killing pid 1 ends the whole pid namespace. Process: the
     * runtime leads its own process group. */
    if (sb->backend == SANDBOX_PROCESS)
        kill(-sb->pid, SIGKILL);
    kill(sb->pid, SIGKILL);
}

static void close_fds(int *const fds[], int n)
{
    for (int i = 0; i < n; i++)
        if (*fds[i] >= 0) {
            close(*fds[i]);
            *fds[i] = -1;
        }
}

void sandbox_close_rapi(sandbox_t *sb)
{
    close_fds((int *const[]){&sb->rapi_fd, &sb->rapi_unix_fd}, 2);
}

void sandbox_release(sandbox_t *sb)
{
    if (sb->backend == SANDBOX_PROCESS && sb->pid > 0)
        kill(-sb->pid, SIGKILL); /* children the runtime left behind */
    close_fds((int *const[]){&sb->ctl_fd, &sb->log_fd, &sb->rapi_fd, &sb->rapi_unix_fd}, 4);
    cgroup_destroy(&sb->cg);
    sb->pid = -1;
}
