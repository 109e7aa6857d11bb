/* The zygote's protocol, both ends. A Python zygote (runtimes/python/
 * zygote.py) is one interpreter per Python function that has imported the
 * runtime; it makes that function's new sandboxes by cloning itself, so that
 * the interpreter's pages are shared copy-on-write between the function's
 * instances (docs/performance.md, "A zygote per function").
 *
 *   daemon ── request: spec + ctl, log, claim pipe (SCM_RIGHTS) ──▶ zygote
 *          ◀────────── pid of the new init (or -errno) ─────────────┘
 *   zygote ──clone(CLONE_PARENT|NEWPID|NEWNS|NEWNET|NEWIPC|NEWUTS)──▶ init
 *
 * With CLONE_PARENT the init is the daemon's child, as one the daemon cloned
 * itself would be: the daemon puts it in its cgroup, says "go", reaps it, and
 * PDEATHSIG ends it with the daemon. From there init runs the same code
 * (init.c); its runtime, locked down as always, returns into the zygote's
 * interpreter instead of calling execve, and waits for its claim: the
 * function's environment and code reach it only after the clone, so the
 * zygote never holds them. The daemon's end is built into the daemon, the
 * zygote's into libimpuls-zygote.so (which links no more than it needs). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox/sandbox.h"
#include "sandbox/spawn_util.h"

enum { NSTR = 5, STR_MAX = 4095, REPLY_TIMEOUT_MS = 2000, FD_MIN = 10 };

/* The parts of the spec init uses; the strings follow, without NULs.
 * Packed: its size is the sum of its fields, nothing between them. */
struct __attribute__((packed)) request {
    uint32_t uid;
    int32_t pids_max, tmp_mb;
    uint16_t len[NSTR]; /* task_dir, runtime_dir, root_mnt, tasks_root, resolv_conf */
};

union fd_cmsg {
    char buf[CMSG_SPACE(4 * sizeof(int))];
    struct cmsghdr align;
};

pid_t zygote_clone(int zsock, const sandbox_spec_t *spec, const int fds[4])
{
    const char *strs[NSTR] = {spec->task_dir, spec->runtime_dir, spec->root_mnt, spec->tasks_root,
                              spec->resolv_conf};
    struct request rq = {.uid = (uint32_t)spec->uid, .pids_max = spec->pids_max, .tmp_mb = spec->tmp_mb};
    struct iovec iov[1 + NSTR] = {{.iov_base = &rq, .iov_len = sizeof rq}};
    for (int i = 0; i < NSTR; i++) {
        size_t n = strs[i] ? strlen(strs[i]) : 0;
        if (n > STR_MAX) {
            errno = ENAMETOOLONG;
            return -1;
        }
        rq.len[i] = (uint16_t)n;
        iov[1 + i] = (struct iovec){.iov_base = (void *)strs[i], .iov_len = n};
    }
    if (send_with_fds(zsock, iov, 1 + NSTR, fds, 4) < 0)
        return -1;
    /* The zygote answers within a clone's time; one that does not is stuck. */
    struct pollfd p = {.fd = zsock, .events = POLLIN};
    int rc;
    do
        rc = poll(&p, 1, REPLY_TIMEOUT_MS);
    while (rc < 0 && errno == EINTR);
    int32_t reply;
    if (rc == 0) {
        errno = ETIMEDOUT;
        return -1;
    }
    ssize_t n = rc < 0 ? -1 : recv(zsock, &reply, sizeof reply, MSG_DONTWAIT);
    if (n != (ssize_t)sizeof reply) {
        if (n >= 0)
            errno = ECONNRESET;
        return -1;
    }
    if (reply <= 0) {
        errno = reply < 0 ? -reply : EPROTO;
        return -1;
    }
    return (pid_t)reply;
}

/* The zygote's end. One request at a time, so static buffers serve. */
static char paths[NSTR][STR_MAX + 1];

/* Reads a request into spec and fds (moved to FD_MIN and up, so that init's
 * moves to 3..6 never overwrite one it has still to move). 0, 1 when the
 * daemon closed the socket, -errno for a request to refuse. */
static int read_request(int sock, sandbox_spec_t *spec, int fds[4])
{
    struct request rq;
    char body[NSTR * STR_MAX];
    struct iovec iov[2] = {{.iov_base = &rq, .iov_len = sizeof rq}, {.iov_base = body, .iov_len = sizeof body}};
    union fd_cmsg u;
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
    ssize_t n;
    do
        n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0 || (n == 0 && msg.msg_controllen == 0)) /* gone (an empty message with fds is refused below) */
        return 1;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    size_t nfds = c && c->cmsg_type == SCM_RIGHTS ? (c->cmsg_len - CMSG_LEN(0)) / sizeof(int) : 0;
    int got[4] = {-1, -1, -1, -1};
    if (nfds > 0)
        memcpy(got, CMSG_DATA(c), (nfds < 4 ? nfds : 4) * sizeof(int));
    size_t total = sizeof rq;
    if ((size_t)n >= sizeof rq)
        for (int i = 0; i < NSTR; i++)
            total += rq.len[i] <= STR_MAX ? rq.len[i] : sizeof body + 1;
    /* uid 0 would keep root's capabilities in the sandbox: never asked for. */
    int err = nfds != 4 || c->cmsg_level != SOL_SOCKET || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
                      (size_t)n < sizeof rq || total != (size_t)n || rq.uid == 0
                  ? EPROTO : 0;
    for (int i = 0; i < 4; i++) {
        fds[i] = got[i] < 0 || err ? -1 : fcntl(got[i], F_DUPFD_CLOEXEC, FD_MIN);
        if (got[i] >= 0)
            close(got[i]);
        if (!err && fds[i] < 0)
            err = errno;
    }
    if (err) {
        for (int i = 0; i < 4; i++)
            if (fds[i] >= 0)
                close(fds[i]);
        return -err;
    }
    const char *at = body;
    for (int i = 0; i < NSTR; i++) {
        memcpy(paths[i], at, rq.len[i]);
        paths[i][rq.len[i]] = '\0';
        at += rq.len[i];
    }
    explicit_bzero(body, total - sizeof rq); /* a runtime inherits this stack: no host paths in it */
    *spec = (sandbox_spec_t){
        .backend = SANDBOX_NAMESPACE,
        .task_dir = paths[0],
        .runtime_dir = paths[1],
        .root_mnt = paths[2],
        .tasks_root = paths[3],
        .resolv_conf = paths[4],
        .pids_max = rq.pids_max,
        .tmp_mb = rq.tmp_mb,
        .uid = (uid_t)rq.uid,
        .pooled = true,
        .runtime_returns = true,
    };
    return 0;
}

static void reply(int sock, int32_t v) { send(sock, &v, sizeof v, MSG_NOSIGNAL); }

int impuls_zygote_serve(int sock)
{
    int rc = sandbox_seccomp_compile();
    if (rc < 0) {
        fprintf(stderr, "impuls zygote: cannot compile the seccomp filter: %s\n", strerror(-rc));
        return -1;
    }
    if (send(sock, "R", 1, MSG_NOSIGNAL) != 1)
        return -1;
    for (;;) {
        sandbox_spec_t spec;
        int fds[4];
        rc = read_request(sock, &spec, fds);
        if (rc == 1)
            return 1;
        if (rc < 0) {
            reply(sock, rc);
            continue;
        }
        long pid = syscall(SYS_clone, CLONE_PARENT | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC |
                                          CLONE_NEWUTS, NULL, NULL, NULL, NULL);
        if (pid == 0) {
            close(sock);
            sandbox_init_main(&spec, NULL, fds[0], fds[1], fds[2], fds[3]); /* returns in the runtime only */
            explicit_bzero(paths, sizeof paths); /* the host's paths are no business of the function's */
            return 0;
        }
        int saved = errno;
        for (int i = 0; i < 4; i++)
            close(fds[i]);
        reply(sock, pid > 0 ? (int32_t)pid : -saved);
    }
}
