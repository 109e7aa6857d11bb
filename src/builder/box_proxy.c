/* The build sandbox's proxy (box_proxy.h): a thread that accepts on the
 * socket made inside the step's network namespace, and a thread per
 * connection, which reads the request's head, checks where it goes, connects
 * from the host's network and relays. */
#include "builder/box_proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/netns.h"

enum { HEAD_MAX = 16384, IO_TIMEOUT_MS = 30000, CONNECT_TIMEOUT_MS = 10000, CONNS_MAX = 64, LOCAL_MAX = 64 };

typedef struct conn {
    int client, upstream;
    bool done; /* its thread has returned: joined by the acceptor */
    pthread_t thread;
    struct box_proxy *proxy;
    struct conn *next;
} conn_t;

struct box_proxy {
    int listen_fd, stop[2];
    char notes[2048]; /* the refusals, a line each (under mu) */
    size_t notes_len;
    pthread_t acceptor;
    pthread_mutex_t mu;
    conn_t *conns;
    int n_conns;
    /* The host's own addresses when the step started: never a destination. */
    struct sockaddr_storage local[LOCAL_MAX];
    int n_local;
};

static bool v4_public(uint32_t a)
{
    /* The egress table's list (net/egress.c): 0/8, 10/8, 100.64/10, 127/8,
     * 168.63.129.16, 169.254/16, 172.16/12, 192.0.0/24, 192.168/16,
     * 198.18/15, 224/3. */
    static const struct { uint32_t net, mask; } refused[] = {
        {0x00000000, 0xff000000}, {0x0a000000, 0xff000000}, {0x64400000, 0xffc00000}, {0x7f000000, 0xff000000},
        {0xa83f8110, 0xffffffff}, {0xa9fe0000, 0xffff0000}, {0xac100000, 0xfff00000}, {0xc0000000, 0xffffff00},
        {0xc0a80000, 0xffff0000}, {0xc6120000, 0xfffe0000}, {0xe0000000, 0xe0000000},
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
        if ((a & refused[i].mask) == refused[i].net)
            return false;
    return true;
}

bool box_proxy_public(const struct sockaddr *a)
{
    if (a->sa_family == AF_INET)
        return v4_public(ntohl(((const struct sockaddr_in *)a)->sin_addr.s_addr));
    if (a->sa_family != AF_INET6)
        return false;
    const struct in6_addr *v6 = &((const struct sockaddr_in6 *)a)->sin6_addr;
    /* IPv4 inside IPv6 (mapped, NAT64's 64:ff9b::/96, 6to4's 2002::/16)
     * would lead to an IPv4 host, this one's own among them: never. */
    static const unsigned char nat64[12] = {0x00, 0x64, 0xff, 0x9b};
    if (IN6_IS_ADDR_V4MAPPED(v6) || IN6_IS_ADDR_V4COMPAT(v6) || !memcmp(v6->s6_addr, nat64, 12) ||
        (v6->s6_addr[0] == 0x20 && v6->s6_addr[1] == 0x02))
        return false;
    return !(IN6_IS_ADDR_UNSPECIFIED(v6) || IN6_IS_ADDR_LOOPBACK(v6) || IN6_IS_ADDR_LINKLOCAL(v6) ||
             IN6_IS_ADDR_SITELOCAL(v6) || IN6_IS_ADDR_MULTICAST(v6) || (v6->s6_addr[0] & 0xfe) == 0xfc);
}

static bool is_local(const box_proxy_t *p, const struct sockaddr *a)
{
    for (int i = 0; i < p->n_local; i++) {
        const struct sockaddr *l = (const struct sockaddr *)&p->local[i];
        if (l->sa_family != a->sa_family)
            continue;
        if (a->sa_family == AF_INET && ((const struct sockaddr_in *)l)->sin_addr.s_addr ==
                                           ((const struct sockaddr_in *)a)->sin_addr.s_addr)
            return true;
        if (a->sa_family == AF_INET6 && !memcmp(&((const struct sockaddr_in6 *)l)->sin6_addr,
                                                &((const struct sockaddr_in6 *)a)->sin6_addr, 16))
            return true;
    }
    return false;
}

static void note(box_proxy_t *p, const char *dest, const char *why)
{
    pthread_mutex_lock(&p->mu);
    size_t left = sizeof p->notes - p->notes_len;
    int n = snprintf(p->notes + p->notes_len, left, "impuls: build proxy: refused %s: %s\n", dest, why);
    if (n > 0 && (size_t)n < left)
        p->notes_len += (size_t)n;
    pthread_mutex_unlock(&p->mu);
}

static void answer(int fd, int status, const char *reason, const char *body)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                     status, reason, strlen(body));
    if (send(fd, head, (size_t)n, MSG_NOSIGNAL) == n)
        send(fd, body, strlen(body), MSG_NOSIGNAL);
}

static void refuse(conn_t *c, int status, const char *reason, const char *dest, const char *why)
{
    char body[512];
    snprintf(body, sizeof body, "impuls: build proxy: %s: %s\n", dest, why);
    answer(c->client, status, reason, body);
    note(c->proxy, dest, why);
}

/* A connected socket to host:port, its first public address that answers;
 * -1 with why. */
static int connect_public(box_proxy_t *p, const char *host, const char *port, const char **why)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(host, port, &hints, &res) != 0) {
        *why = "its name does not resolve";
        return -1;
    }
    *why = "not a public address (builds reach neither this host nor private networks)";
    int fd = -1;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        if (!box_proxy_public(a->ai_addr) || is_local(p, a->ai_addr))
            continue;
        fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
            continue;
        int rc = connect(fd, a->ai_addr, a->ai_addrlen);
        struct pollfd pf[2] = {{.fd = fd, .events = POLLOUT}, {.fd = p->stop[0], .events = POLLIN}};
        int err = 0;
        socklen_t elen = sizeof err;
        if (rc < 0 && (errno != EINPROGRESS || poll(pf, 2, CONNECT_TIMEOUT_MS) < 1 || pf[1].revents ||
                       getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err)) {
            *why = "it does not answer";
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd >= 0)
        fcntl(fd, F_SETFL, 0);
    return fd;
}

/* Both ways until both ends are done (or the proxy stops). */
static void relay(conn_t *c)
{
    int fds[2] = {c->client, c->upstream};
    bool open_in[2] = {true, true};
    char buf[65536];
    while (open_in[0] || open_in[1]) {
        struct pollfd pf[3] = {{.fd = open_in[0] ? fds[0] : -1, .events = POLLIN},
                               {.fd = open_in[1] ? fds[1] : -1, .events = POLLIN},
                               {.fd = c->proxy->stop[0], .events = POLLIN}};
        int n = poll(pf, 3, IO_TIMEOUT_MS * 10);
        if (n <= 0 || pf[2].revents)
            return;
        for (int i = 0; i < 2; i++) {
            if (!pf[i].revents)
                continue;
            ssize_t r = read(fds[i], buf, sizeof buf);
            if (r <= 0 || send(fds[1 - i], buf, (size_t)r, MSG_NOSIGNAL) != r) {
                open_in[i] = false;
                shutdown(fds[1 - i], SHUT_WR);
            }
        }
    }
}

/* Reads the request head (to the blank line); returns its length, the bytes
 * after it in head too (total in *got), or -1. */
static int read_head(int fd, char *head, size_t size, size_t *got)
{
    *got = 0;
    while (*got < size - 1) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, IO_TIMEOUT_MS) != 1)
            return -1;
        ssize_t r = read(fd, head + *got, size - 1 - *got);
        if (r <= 0)
            return -1;
        *got += (size_t)r;
        head[*got] = '\0';
        char *end = strstr(head, "\r\n\r\n");
        if (end)
            return (int)(end + 4 - head);
    }
    return -1;
}

/* "host:port" (or "[v6]:port") into host and port. */
static bool split_host_port(const char *in, size_t len, const char *default_port, char *host, size_t hsize,
                            char *port, size_t psize)
{
    char buf[512];
    if (len == 0 || len >= sizeof buf)
        return false;
    memcpy(buf, in, len);
    buf[len] = '\0';
    char *h = buf, *colon;
    if (*h == '[') {
        char *close = strchr(h, ']');
        if (!close)
            return false;
        *close = '\0';
        h++;
        colon = close[1] == ':' ? close + 1 : NULL;
    } else {
        colon = strrchr(h, ':');
    }
    if (colon)
        *colon = '\0';
    const char *pt = colon ? colon + 1 : default_port;
    if (!*h || !*pt || strlen(h) >= hsize || strlen(pt) >= psize || strspn(pt, "0123456789") != strlen(pt))
        return false;
    snprintf(host, hsize, "%s", h);
    snprintf(port, psize, "%s", pt);
    return true;
}

/* An absolute-URI request to its origin, in origin form, with the proxy's
 * own headers dropped and the connection closed after it. */
static bool forward_head(conn_t *c, const char *method, const char *path, const char *version, const char *headers)
{
    char out[HEAD_MAX + 64];
    size_t n = (size_t)snprintf(out, sizeof out, "%s %s %s\r\n", method, path, version);
    for (const char *line = headers; *line && n < sizeof out;) {
        const char *eol = strstr(line, "\r\n");
        if (!eol || eol == line)
            break;
        size_t len = (size_t)(eol - line);
        if (strncasecmp(line, "proxy-", 6) && strncasecmp(line, "connection:", 11) &&
            n + len + 2 < sizeof out) {
            memcpy(out + n, line, len);
            memcpy(out + n + len, "\r\n", 2);
            n += len + 2;
        }
        line = eol + 2;
    }
    n += (size_t)snprintf(out + n, sizeof out - n, "Connection: close\r\n\r\n");
    return n < sizeof out && send(c->upstream, out, n, MSG_NOSIGNAL) == (ssize_t)n;
}

static void serve_request(conn_t *c);

static void *serve(void *arg)
{
    conn_t *c = arg;
    serve_request(c);
    pthread_mutex_lock(&c->proxy->mu);
    c->done = true;
    pthread_mutex_unlock(&c->proxy->mu);
    return NULL;
}

static void serve_request(conn_t *c)
{
    char head[HEAD_MAX];
    size_t got;
    int head_len = read_head(c->client, head, sizeof head, &got);
    char method[16], target[2048], version[16];
    if (head_len < 0 || sscanf(head, "%15s %2047s %15s", method, target, version) != 3) {
        if (head_len >= 0)
            answer(c->client, 400, "Bad Request", "impuls: build proxy: not an HTTP proxy request\n");
        return;
    }
    char host[512], port[8];
    const char *path = "/", *why;
    bool tunnel = !strcmp(method, "CONNECT");
    if (tunnel) {
        if (!split_host_port(target, strlen(target), "", host, sizeof host, port, sizeof port)) {
            answer(c->client, 400, "Bad Request", "impuls: build proxy: CONNECT needs host:port\n");
            return;
        }
    } else {
        if (strncasecmp(target, "http://", 7)) {
            answer(c->client, 400, "Bad Request",
                   "impuls: build proxy: give an absolute http:// URI (https goes through CONNECT)\n");
            return;
        }
        const char *auth = target + 7, *slash = strchr(auth, '/');
        path = slash ? slash : "/";
        if (!split_host_port(auth, slash ? (size_t)(slash - auth) : strlen(auth), "80", host, sizeof host, port,
                             sizeof port)) {
            answer(c->client, 400, "Bad Request", "impuls: build proxy: the URI has no valid host\n");
            return;
        }
    }
    char dest[600];
    snprintf(dest, sizeof dest, "%s:%s", host, port);
    int up = connect_public(c->proxy, host, port, &why);
    pthread_mutex_lock(&c->proxy->mu); /* box_proxy_stop shuts it down from another thread */
    c->upstream = up;
    pthread_mutex_unlock(&c->proxy->mu);
    if (c->upstream < 0) {
        refuse(c, strstr(why, "public") ? 403 : 502, strstr(why, "public") ? "Forbidden" : "Bad Gateway", dest, why);
        return;
    }
    const char *rest = head + head_len;
    size_t rest_len = got - (size_t)head_len;
    if (tunnel) {
        static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
        if (send(c->client, ok, sizeof ok - 1, MSG_NOSIGNAL) != (ssize_t)sizeof ok - 1)
            return;
    } else if (!forward_head(c, method, path, version, strstr(head, "\r\n") + 2)) {
        return;
    }
    if (rest_len && send(c->upstream, rest, rest_len, MSG_NOSIGNAL) != (ssize_t)rest_len)
        return;
    relay(c);
    return;
}

/* Joins the connections whose threads have returned (under mu). */
static void reap_done(box_proxy_t *p)
{
    for (conn_t **cp = &p->conns; *cp;) {
        conn_t *c = *cp;
        if (!c->done) {
            cp = &c->next;
            continue;
        }
        *cp = c->next;
        pthread_join(c->thread, NULL);
        close(c->client);
        if (c->upstream >= 0)
            close(c->upstream);
        free(c);
        p->n_conns--;
    }
}

static void *accept_loop(void *arg)
{
    box_proxy_t *p = arg;
    for (;;) {
        struct pollfd pf[2] = {{.fd = p->listen_fd, .events = POLLIN}, {.fd = p->stop[0], .events = POLLIN}};
        if (poll(pf, 2, -1) < 0 && errno != EINTR)
            return NULL;
        if (pf[1].revents)
            return NULL;
        if (!pf[0].revents)
            continue;
        int fd = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        conn_t *c = calloc(1, sizeof *c);
        pthread_mutex_lock(&p->mu);
        reap_done(p);
        bool room = c && p->n_conns < CONNS_MAX;
        if (room) {
            *c = (conn_t){.client = fd, .upstream = -1, .proxy = p, .next = p->conns};
            room = pthread_create(&c->thread, NULL, serve, c) == 0;
            if (room) {
                p->conns = c;
                p->n_conns++;
            }
        }
        pthread_mutex_unlock(&p->mu);
        if (!room) {
            answer(fd, 503, "Service Unavailable", "impuls: build proxy: too many connections\n");
            close(fd);
            free(c);
        }
    }
}

static void note_local_addresses(box_proxy_t *p)
{
    struct ifaddrs *ifs;
    if (getifaddrs(&ifs) < 0)
        return;
    for (struct ifaddrs *i = ifs; i && p->n_local < LOCAL_MAX; i = i->ifa_next)
        if (i->ifa_addr && (i->ifa_addr->sa_family == AF_INET || i->ifa_addr->sa_family == AF_INET6))
            memcpy(&p->local[p->n_local++], i->ifa_addr,
                   i->ifa_addr->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
    freeifaddrs(ifs);
}

/* The listener inside the namespace, its loopback brought up first (an
 * ioctl acts on the namespace of the socket it is made on). */
static int listen_inside(pid_t pid, char *err, size_t errlen)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/net", (int)pid);
    int ns = open(path, O_RDONLY | O_CLOEXEC);
    int fd = ns < 0 ? -1 : net_socket_in(ns, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (ns >= 0)
        close(ns);
    struct ifreq ifr = {.ifr_name = "lo"};
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(BOX_PROXY_PORT),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    const char *what = fd < 0 ? "socket" : NULL;
    if (!what && ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
        what = "lo";
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (!what && ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
        what = "bring up lo";
    if (!what && bind(fd, (struct sockaddr *)&a, sizeof a) < 0)
        what = "bind";
    if (!what && listen(fd, 64) < 0)
        what = "listen";
    if (what) {
        snprintf(err, errlen, "cannot make the build proxy: %s: %s", what, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

box_proxy_t *box_proxy_start(pid_t pid, char *err, size_t errlen)
{
    box_proxy_t *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->listen_fd = listen_inside(pid, err, errlen);
    if (p->listen_fd < 0) {
        free(p);
        return NULL;
    }
    note_local_addresses(p);
    pthread_mutex_init(&p->mu, NULL);
    int rc = pipe2(p->stop, O_CLOEXEC) < 0 ? errno : pthread_create(&p->acceptor, NULL, accept_loop, p);
    if (rc) {
        snprintf(err, errlen, "cannot start the build proxy: %s", strerror(rc));
        if (p->stop[0] > 0) {
            close(p->stop[0]);
            close(p->stop[1]);
        }
        pthread_mutex_destroy(&p->mu);
        close(p->listen_fd);
        free(p);
        return NULL;
    }
    return p;
}

char *box_proxy_stop(box_proxy_t *p)
{
    if (!p)
        return NULL;
    if (write(p->stop[1], "x", 1) != 1) {
        /* a pipe with room for one byte: cannot fail */
    }
    pthread_join(p->acceptor, NULL);
    /* Wakes a thread blocked on either end, in a read or a send. */
    pthread_mutex_lock(&p->mu);
    for (conn_t *c = p->conns; c; c = c->next) {
        shutdown(c->client, SHUT_RDWR);
        if (c->upstream >= 0)
            shutdown(c->upstream, SHUT_RDWR);
    }
    pthread_mutex_unlock(&p->mu);
    while (p->conns) {
        conn_t *c = p->conns;
        p->conns = c->next;
        pthread_join(c->thread, NULL);
        close(c->client);
        if (c->upstream >= 0)
            close(c->upstream);
        free(c);
    }
    close(p->listen_fd);
    close(p->stop[0]);
    close(p->stop[1]);
    pthread_mutex_destroy(&p->mu);
    char *notes = p->notes_len ? strndup(p->notes, p->notes_len) : NULL;
    free(p);
    return notes;
}
