/* Giving up root for good, between fork and exec: the function sandbox's
 * runtime and the build sandbox's steps both go through here. */
#include <errno.h>
#include <sys/wait.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox/sandbox.h"

int sandbox_drop_privileges(uid_t uid)
{
    /* Bounding set first (needs CAP_SETPCAP), then the uid change clears
     * permitted and effective. */
    for (int cap = 0; cap <= 63; cap++)
        prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
    gid_t gid = (gid_t)uid;
    /* Raw calls: glibc's wrappers would signal the daemon's other threads,
     * which do not exist in this process. */
    if (syscall(SYS_setgroups, 0, NULL) < 0 || syscall(SYS_setresgid, gid, gid, gid) < 0 ||
        syscall(SYS_setresuid, uid, uid, uid) < 0)
        return -errno;
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    return 0;
}

void sandbox_init_wait(pid_t main_pid)
{
    for (;;) {
        int st;
        pid_t p = waitpid(-1, &st, 0);
        if (p < 0 && errno == EINTR)
            continue;
        if (p < 0)
            _exit(125);
        if (p == main_pid)
            _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
        /* Anything else is an orphan re-parented to us: reaped, forgotten. */
    }
}
