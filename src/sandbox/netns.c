/* Connecting into a sandbox's network namespace from the daemon: a chamber's
 * port on the host is forwarded to 127.0.0.1:8000 inside its sandbox, which
 * has only its own loopback. The socket is made inside the namespace (setns
 * on the calling thread only, then straight back); connect() then uses the
 * namespace the socket belongs to. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/netns.h"
#include "sandbox/sandbox.h"

int sandbox_open_netns(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/net", (int)pid);
    return open(path, O_RDONLY | O_CLOEXEC);
}

int sandbox_socket_inside(int netns_fd)
{
    return net_socket_in(netns_fd, AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

void sandbox_loopback_addr(int port, struct sockaddr_in *a)
{
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

int sandbox_connect_inside(int netns_fd, int port)
{
    int s = sandbox_socket_inside(netns_fd);
    if (s < 0)
        return -1;
    struct sockaddr_in a;
    sandbox_loopback_addr(port, &a);
    if (connect(s, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS) {
        int saved = errno;
        close(s);
        errno = saved;
        return -1;
    }
    return s;
}
