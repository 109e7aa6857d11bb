#include "net/netns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/log.h"

int net_socket_in(int netns_fd, int domain, int type, int proto)
{
    static __thread int own_ns = -1;
    if (own_ns < 0)
        own_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (own_ns < 0 || setns(netns_fd, CLONE_NEWNET) < 0)
        return -1;
    int s = socket(domain, type, proto);
    int saved = errno;
    if (setns(own_ns, CLONE_NEWNET) < 0) {
        log_error("cannot return to the host network namespace: %s", strerror(errno));
        abort();
    }
    errno = saved;
    return s;
}
