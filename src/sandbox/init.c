/* The namespace sandbox's init (pid 1 inside) and the runtime it starts,
 * from the moment they are cloned: by the daemon (namespace.c) or by a
 * Python zygote (zygote.c). See namespace.c for the whole picture.
 *
 *   init: waits for "go" (it is in its cgroup by then), a new cgroup
 *   namespace, lo up, 127.0.0.1:9001 listening, the root fs and pivot_root,
 *   /run/impuls-runtime-api.sock, both sockets to the daemon (SCM_RIGHTS),
 *   then forks the runtime: no caps, uid != 0, no_new_privs, seccomp, exec.
 *   A pooled shell's init then waits for its claim; every init ends by
 *   reaping orphans until the runtime exits. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "sandbox/sandbox.h"
#include "sandbox/spawn_util.h"

/* In init: the daemon's channel, the log pipe, and for a pooled shell the
 * two ends of the runtime's claim pipe. The runtime gets the read end as 3. */
enum { FD_CTL = 3, FD_LOG = 4, FD_CLAIM_R = 5, FD_CLAIM_W = 6, FD_RUNTIME_CLAIM = 3 };

static int loopback_up(void)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -1;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    int rc = ioctl(s, SIOCGIFFLAGS, &ifr);
    if (rc == 0) {
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        rc = ioctl(s, SIOCSIFFLAGS, &ifr);
    }
    close(s);
    return rc;
}

/* The unprivileged runtime: never returns, unless spec->runtime_returns
 * (the zygote's child: once locked down, it goes back to its interpreter). */
static void exec_runtime(const sandbox_spec_t *spec, char *const *envp)
{
    setsid();
    int nul = open("/dev/null", O_RDONLY);
    if (nul < 0 || dup2(nul, 0) < 0 || dup2(FD_LOG, 1) < 0 || dup2(FD_LOG, 2) < 0)
        _exit(126);
    if (spec->pooled) { /* the claim pipe's read end, in place of init's channel */
        if (dup2(FD_CLAIM_R, FD_RUNTIME_CLAIM) < 0)
            _exit(126);
        close_range(FD_RUNTIME_CLAIM + 1, ~0u, 0);
    } else {
        close_range(3, ~0u, 0);
    }
    set_runtime_rlimits(spec->pids_max);
    int dropped = sandbox_drop_privileges(spec->uid);
    if (dropped < 0) {
        dprintf(2, "impuls: cannot drop privileges: %s\n", strerror(-dropped));
        _exit(126);
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || chdir(SANDBOX_TASK_DIR) < 0) {
        dprintf(2, "impuls: cannot lock down the runtime: %s\n", strerror(errno));
        _exit(126);
    }
    int rc = sandbox_apply_seccomp();
    if (rc != 0) {
        dprintf(2, "impuls: cannot load the seccomp filter: %s\n", strerror(-rc));
        _exit(126);
    }
    if (spec->runtime_returns) {
        /* Becoming uid N cleared "dumpable", which an execve would have set
         * again: without it /proc/self is root's, and hidden from the
         * function's own child processes (hidepid). ptrace stays denied. */
        prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
        return;
    }
    execve(spec->argv[0], (char *const *)spec->argv, envp);
    dprintf(2, "impuls: cannot start %s: %s\n", spec->argv[0], strerror(errno));
    _exit(127);
}

static void die(const char *what)
{
    dprintf(FD_LOG, "impuls: sandbox init: %s: %s\n", what, strerror(errno));
    _exit(125);
}

/* A pooled shell's claim: "C" <task_key> NUL <environment as JSON>. Binds
 * the code, gives the environment to the runtime, drops the way to the other
 * code dirs. Stack only: init is a clone of a threaded daemon. */
static void await_claim(void)
{
    char msg[SANDBOX_CLAIM_MAX + 80];
    ssize_t n;
    do
        n = recv(FD_CTL, msg, sizeof msg - 1, 0);
    while (n < 0 && errno == EINTR);
    if (n <= 0) /* the daemon let the shell go */
        _exit(125);
    msg[n] = '\0';
    size_t keylen = strnlen(msg + 1, (size_t)n - 1);
    if (msg[0] != 'C' || keylen != 64 || strspn(msg + 1, "0123456789abcdef") != 64)
        die("malformed claim");
    char path[96];
    snprintf(path, sizeof path, "/.claim/tasks/%s", msg + 1);
    if (mount(path, SANDBOX_TASK_DIR, NULL, MS_BIND | MS_REC, NULL) < 0 ||
        mount(NULL, SANDBOX_TASK_DIR, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
        die("bind the code");
    const char *env = msg + 1 + keylen + 1;
    size_t len = (size_t)n - (size_t)(env - msg);
    for (size_t off = 0; off < len;) {
        ssize_t w = write(FD_CLAIM_W, env + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break; /* the runtime is gone; init exits with it */
        off += (size_t)w;
    }
    close(FD_CLAIM_W);
    /* After the runtime has gone on: an unmount waits for an RCU grace period. */
    umount2("/.claim/tasks", MNT_DETACH);
}

int sandbox_init_main(const sandbox_spec_t *spec, char **envp, int ctl, int logw, int claim_r, int claim_w)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (move_fd(ctl, FD_CTL) < 0 || move_fd(logw, FD_LOG) < 0)
        _exit(125);
    if (spec->pooled && (move_fd(claim_r, FD_CLAIM_R) < 0 || move_fd(claim_w, FD_CLAIM_W) < 0))
        _exit(125);
    close_range(spec->pooled ? FD_CLAIM_W + 1 : FD_LOG + 1, ~0u, 0);
    char go;
    if (read(FD_CTL, &go, 1) != 1) /* the daemon gave up on us */
        _exit(125);
    if (unshare(CLONE_NEWCGROUP) < 0)
        die("unshare cgroup namespace");
    sethostname("impuls", 6);
    if (loopback_up() < 0)
        die("bring up lo");
    int s[2] = {socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(SANDBOX_RAPI_PORT)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s[0] < 0 || bind(s[0], (struct sockaddr *)&a, sizeof a) < 0 || listen(s[0], 64) < 0)
        die("listen on 127.0.0.1:9001");
    char err[512];
    if (sandbox_setup_root(spec, err, sizeof err) < 0) {
        dprintf(FD_LOG, "impuls: sandbox init: %s\n", err);
        _exit(125);
    }
    /* In the new root's /run; the runtime's uid may connect, not unlink. */
    struct sockaddr_un u = {.sun_family = AF_UNIX, .sun_path = SANDBOX_RAPI_UNIX_PATH};
    if (s[1] < 0 || bind(s[1], (struct sockaddr *)&u, sizeof u) < 0 || chmod(SANDBOX_RAPI_UNIX_PATH, 0666) < 0 ||
        listen(s[1], 64) < 0)
        die("listen on " SANDBOX_RAPI_UNIX_PATH);
    struct iovec one = {.iov_base = "F", .iov_len = 1}; /* TCP then Unix, in one message */
    if (send_with_fds(FD_CTL, &one, 1, s, 2) != 1)
        die("hand over the Runtime API sockets");
    close(s[0]);
    close(s[1]);
    /* A raw clone, not fork(): init is a clone of a threaded daemon, and
     * glibc's fork would take allocator locks a worker thread may have held. */
    pid_t rt = (pid_t)syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, NULL);
    if (rt < 0)
        die("fork runtime");
    if (rt == 0) {
        exec_runtime(spec, envp);
        return 0; /* spec->runtime_returns: the zygote's runtime goes on */
    }
    if (spec->pooled) {
        close(FD_CLAIM_R);
        await_claim();
    }
    int nul = open("/dev/null", O_RDWR);
    dup2(nul, 0);
    dup2(nul, 1);
    dup2(nul, 2);
    close(FD_LOG);
    sandbox_init_wait(rt);
}
