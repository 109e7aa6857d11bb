/* What the backends share: spawning dispatch, paths, kill and release. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/microvm.h"
#include "sandbox/sandbox.h"
#include "sandbox/spawn_util.h"

static const char *const BACKEND_NAMES[SANDBOX_BACKENDS] = {"process", "namespace", "microvm"};

const char *sandbox_backend_name(enum sandbox_backend b) { return b < SANDBOX_BACKENDS ? BACKEND_NAMES[b] : "?"; }

int sandbox_backend_parse(const char *name)
{
    for (int b = 0; b < SANDBOX_BACKENDS; b++)
        if (!strcmp(name, BACKEND_NAMES[b]))
            return b;
    return -1;
}

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
    *task_dir = b != SANDBOX_PROCESS ? SANDBOX_TASK_DIR : spec->task_dir;
    *runtime_dir = b != SANDBOX_PROCESS ? SANDBOX_RUNTIME_DIR : spec->runtime_dir;
}

int sandbox_spawn(const sandbox_spec_t *spec, sandbox_t *sb, char *err, size_t errlen)
{
    memset(sb, 0, sizeof *sb);
    sb->backend = spec->backend;
    sb->pid = -1;
    sb->ctl_fd = sb->log_fd = sb->rapi_fd = sb->rapi_unix_fd = -1;
    sb->cg.peak_fd = -1;
    switch (spec->backend) {
    case SANDBOX_NAMESPACE:
        return namespace_spawn(spec, sb, err, errlen);
    case SANDBOX_MICROVM:
        return microvm_spawn(spec, sb, err, errlen);
    default:
        return process_spawn(spec, sb, err, errlen);
    }
}

bool sandbox_exit_info(sandbox_t *sb, int status, char *vm_reason, size_t len)
{
    vm_reason[0] = '\0';
    if (sb->backend == SANDBOX_MICROVM)
        return microvm_exit_info(sb, vm_reason, len);
    /* Namespace: init reports the runtime's SIGKILL as 128+9, and the
     * cgroup's OOM killer has struck (a child killed earlier does not count). */
    return sb->backend == SANDBOX_NAMESPACE && WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGKILL &&
           cgroup_oom_kills(&sb->cg) > 0;
}

int64_t sandbox_memory_peak(sandbox_t *sb)
{
    if (sb->backend == SANDBOX_NAMESPACE)
        return cgroup_peak_bytes(&sb->cg);
    return sb->backend == SANDBOX_MICROVM ? microvm_memory_peak(sb) : 0;
}

void sandbox_reset_peak(sandbox_t *sb)
{
    if (sb->backend == SANDBOX_NAMESPACE)
        cgroup_reset_peak(&sb->cg);
}

void sandbox_kill(sandbox_t *sb)
{
    if (sb->pid <= 0)
        return;
    /* Namespace: killing pid 1 ends the whole pid namespace. Microvm: the
     * supervisor's death kills QEMU (its parent-death signal). Process: the
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
    if (sb->api_path[0]) {
        unlink(sb->api_path);
        sb->api_path[0] = '\0';
    }
    sb->pid = -1;
}
