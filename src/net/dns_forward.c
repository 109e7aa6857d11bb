#include "net/dns_forward.h"

#include <errno.h>
#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/util.h"

enum { UPSTREAMS_MAX = 3, QUERY_MAX = 4096, PENDING_MS = 5000 };

/* A query on its way, under the id it was sent upstream with. */
typedef struct pending {
    double expires_ms; /* 0: free */
    struct sockaddr_in client;
    uint16_t client_id;
} pending_t;

static struct {
    int listen_fd, upstream_fd;
    struct event *listen_ev, *upstream_ev;
    struct in_addr upstreams[UPSTREAMS_MAX];
    int n_upstreams;
    struct in_addr subnet, mask;
    pending_t *pending; /* indexed by the id sent upstream */
} F = {.listen_fd = -1, .upstream_fd = -1};

static uint16_t get_id(const unsigned char *q) { return (uint16_t)(q[0] << 8 | q[1]); }
static void set_id(unsigned char *q, uint16_t id)
{
    q[0] = (unsigned char)(id >> 8);
    q[1] = (unsigned char)id;
}

/* A free id, picked at random (an answer must not be guessable by a
 * sandbox that floods the forwarder), or -1 when eight tries found none. */
static int free_id(double now)
{
    uint16_t ids[8];
    if (getrandom(ids, sizeof ids, GRND_NONBLOCK) != sizeof ids)
        return -1;
    for (int i = 0; i < 8; i++)
        if (F.pending[ids[i]].expires_ms < now)
            return ids[i];
    return -1;
}

static void on_query(evutil_socket_t fd, short what, void *arg)
{
    unsigned char q[QUERY_MAX];
    struct sockaddr_in from;
    socklen_t flen = sizeof from;
    ssize_t n = recvfrom(fd, q, sizeof q, 0, (struct sockaddr *)&from, &flen);
    if (n < 12 || from.sin_family != AF_INET ||
        (from.sin_addr.s_addr & F.mask.s_addr) != F.subnet.s_addr)
        return; /* not a DNS message, or not from a sandbox */
    double now = mono_ms();
    int id = free_id(now);
    if (id < 0)
        return; /* as a lost packet: the client asks again */
    F.pending[id] = (pending_t){.expires_ms = now + PENDING_MS, .client = from, .client_id = get_id(q)};
    set_id(q, (uint16_t)id);
    struct sockaddr_in up = {.sin_family = AF_INET, .sin_port = htons(53),
                             .sin_addr = F.upstreams[id % F.n_upstreams]};
    sendto(F.upstream_fd, q, (size_t)n, 0, (struct sockaddr *)&up, sizeof up);
}

static bool is_upstream(const struct sockaddr_in *a)
{
    if (a->sin_family != AF_INET || a->sin_port != htons(53))
        return false;
    for (int i = 0; i < F.n_upstreams; i++)
        if (a->sin_addr.s_addr == F.upstreams[i].s_addr)
            return true;
    return false;
}

static void on_answer(evutil_socket_t fd, short what, void *arg)
{
    unsigned char a[QUERY_MAX];
    struct sockaddr_in from;
    socklen_t flen = sizeof from;
    ssize_t n = recvfrom(fd, a, sizeof a, 0, (struct sockaddr *)&from, &flen);
    if (n < 12 || !is_upstream(&from))
        return;
    pending_t *p = &F.pending[get_id(a)];
    if (p->expires_ms < mono_ms())
        return; /* late, or never asked */
    set_id(a, p->client_id);
    sendto(F.listen_fd, a, (size_t)n, 0, (struct sockaddr *)&p->client, sizeof p->client);
    p->expires_ms = 0;
}

static int udp_socket(struct sockaddr_in *bind_to)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0 && bind_to && bind(fd, (struct sockaddr *)bind_to, sizeof *bind_to) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int dns_forward_start(struct event_base *base, const struct in_addr *upstreams, int n, struct in_addr subnet,
                      struct in_addr mask, char *err, size_t errlen)
{
    if (n < 1) {
        snprintf(err, errlen, "no resolver to forward to");
        return -1;
    }
    F.n_upstreams = n < UPSTREAMS_MAX ? n : UPSTREAMS_MAX;
    memcpy(F.upstreams, upstreams, (size_t)F.n_upstreams * sizeof *upstreams);
    F.subnet = subnet;
    F.mask = mask;
    F.pending = calloc(65536, sizeof *F.pending);
    struct sockaddr_in any = {.sin_family = AF_INET};
    F.listen_fd = udp_socket(&any);
    F.upstream_fd = udp_socket(NULL);
    struct sockaddr_in bound;
    socklen_t blen = sizeof bound;
    if (!F.pending || F.listen_fd < 0 || F.upstream_fd < 0 ||
        getsockname(F.listen_fd, (struct sockaddr *)&bound, &blen) < 0) {
        snprintf(err, errlen, "DNS forwarder: %s", strerror(errno));
        dns_forward_stop();
        return -1;
    }
    F.listen_ev = event_new(base, F.listen_fd, EV_READ | EV_PERSIST, on_query, NULL);
    F.upstream_ev = event_new(base, F.upstream_fd, EV_READ | EV_PERSIST, on_answer, NULL);
    event_add(F.listen_ev, NULL);
    event_add(F.upstream_ev, NULL);
    return ntohs(bound.sin_port);
}

void dns_forward_stop(void)
{
    if (F.listen_ev)
        event_free(F.listen_ev);
    if (F.upstream_ev)
        event_free(F.upstream_ev);
    if (F.listen_fd >= 0)
        close(F.listen_fd);
    if (F.upstream_fd >= 0)
        close(F.upstream_fd);
    free(F.pending);
    memset(&F, 0, sizeof F);
    F.listen_fd = F.upstream_fd = -1;
}
