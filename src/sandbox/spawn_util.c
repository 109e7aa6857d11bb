/* Pieces both backends (and the zygote) use between fork and exec. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sandbox/spawn_util.h"

int move_fd(int fd, int target)
{
    if (fd == target)
        return fcntl(fd, F_SETFD, 0);
    return dup2(fd, target) < 0 ? -1 : 0; /* dup2 clears FD_CLOEXEC on target */
}

char **env_with_rapi(const char *const *envp, const char *addr, bool unix_socket)
{
    size_t n = 0;
    while (envp[n])
        n++;
    char **out = calloc(n + 3, sizeof *out);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++)
        out[i] = (char *)envp[i];
    static char var[64];
    snprintf(var, sizeof var, "AWS_LAMBDA_RUNTIME_API=%s", addr);
    out[n] = var;
    if (unix_socket)
        out[n + 1] = (char *)SANDBOX_RAPI_UNIX_ENV;
    return out;
}

void set_runtime_rlimits(int nproc)
{
    struct rlimit nofile = {1024, 1024}, core = {0, 0};
    setrlimit(RLIMIT_NOFILE, &nofile);
    setrlimit(RLIMIT_CORE, &core);
    if (nproc > 0) {
        struct rlimit np = {(rlim_t)nproc, (rlim_t)nproc};
        setrlimit(RLIMIT_NPROC, &np);
    }
}

ssize_t send_with_fds(int sock, struct iovec *iov, int iovlen, const int *fds, int nfds)
{
    union {
        char buf[CMSG_SPACE(4 * sizeof(int))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof u);
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)iovlen, .msg_control = u.buf,
                         .msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int))};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
    memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
    return sendmsg(sock, &msg, MSG_NOSIGNAL);
}

ssize_t recv_with_fds(int sock, void *buf, size_t len, int flags, int *fds, int max_fds, int *nfds)
{
    struct iovec iov = {.iov_base = buf, .iov_len = len};
    union {
        char buf[CMSG_SPACE(4 * sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
    ssize_t n;
    do
        n = recvmsg(sock, &msg, flags | MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    *nfds = 0;
    struct cmsghdr *c = n >= 0 ? CMSG_FIRSTHDR(&msg) : NULL;
    size_t got = c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS
                     ? (c->cmsg_len - CMSG_LEN(0)) / sizeof(int) : 0;
    for (size_t i = 0; i < got; i++) {
        int fd;
        memcpy(&fd, CMSG_DATA(c) + i * sizeof fd, sizeof fd);
        if ((int)i < max_fds)
            fds[(*nfds)++] = fd;
        else
            close(fd); /* more than asked for */
    }
    return n;
}
