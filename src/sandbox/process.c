/* The process backend: the runtime as a plain child of the daemon, for local
 * development (?local=true). No isolation at all: it sees the host as the
 * daemon does. Its Runtime API listens on an ephemeral port of 127.0.0.1. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sandbox/sandbox.h"
#include "sandbox/spawn_util.h"

int process_spawn(const sandbox_spec_t *spec, sandbox_t *sb, char *err, size_t errlen)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 64) < 0 ||
        getsockname(s, (struct sockaddr *)&a, &alen) < 0) {
        snprintf(err, errlen, "cannot listen for the Runtime API: %s", strerror(errno));
        if (s >= 0)
            close(s);
        return -1;
    }
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", ntohs(a.sin_port));
    int logp[2];
    if (pipe2(logp, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        close(s);
        return -1;
    }
    char **envp = env_with_rapi(spec->envp, addr, false);
    pid_t pid = envp ? fork() : -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        setsid();
        int nul = open("/dev/null", O_RDONLY);
        if (nul < 0 || dup2(nul, 0) < 0 || dup2(logp[1], 1) < 0 || dup2(logp[1], 2) < 0)
            _exit(126);
        close_range(3, ~0u, 0);
        set_runtime_rlimits(0);
        if (chdir(spec->task_dir) < 0) {
            dprintf(2, "impuls: cannot enter %s: %s\n", spec->task_dir, strerror(errno));
            _exit(126);
        }
        execve(spec->argv[0], (char *const *)spec->argv, envp);
        dprintf(2, "impuls: cannot start %s: %s\n", spec->argv[0], strerror(errno));
        _exit(127);
    }
    free(envp);
    close(logp[1]);
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        close(logp[0]);
        close(s);
        return -1;
    }
    sb->pid = pid;
    sb->log_fd = logp[0];
    sb->rapi_fd = s;
    fcntl(sb->log_fd, F_SETFL, O_NONBLOCK);
    return 0;
}
