/* The native hello for the benchmark: a Lambda custom runtime (runtime `provided`)
 * that answers every event with the result bench/ref/hello.js returns. It speaks
 * the Runtime API at $AWS_LAMBDA_RUNTIME_API (an IPv4 HOST:PORT), or on the Unix
 * socket $IMPULS_RUNTIME_API_SOCKET names when the daemon offers one (as
 * Impuls's Node runtime does, docs/runtimes.md), over one keep-alive HTTP/1.1
 * connection, opening a new one when the daemon closes it.
 * Its response posts carry `Impuls-Next: 1` (docs/runtimes.md): their answer is
 * the next event, one exchange per call; a daemon without the extension
 * answers 202 and it asks with a GET. Plain sockets and libc only; bench/run.sh builds it static into
 * build/bench-bootstrap and bench.py ships it as the `bootstrap` of a zip. */
#define _GNU_SOURCE /* strcasestr */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define API "/2018-06-01/runtime/invocation/"
static const char HELLO[] = "{\"statusCode\":200,\"body\":\"Hello from Impuls!\"}";

struct conn {
    int fd;
    size_t off, len; /* unread bytes are buf[off, len) */
    char buf[1 << 16];
};

/* What one response told us. */
struct reply {
    int status;
    int close; /* the server closes the connection after it */
    char id[128];
};

static void die(const char *what)
{
    fprintf(stderr, "bench bootstrap: %s\n", what);
    exit(1);
}

static int open_unix(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof a.sun_path)
        die("IMPULS_RUNTIME_API_SOCKET is not a socket path");
    memcpy(a.sun_path, path, n);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        perror("bench bootstrap: connect");
        exit(1);
    }
    return fd;
}

static int open_api(void)
{
    const char *unix_name = getenv("IMPULS_RUNTIME_API_SOCKET");
    if (unix_name)
        return open_unix(unix_name);
    const char *env = getenv("AWS_LAMBDA_RUNTIME_API");
    char host[64];
    const char *colon = env ? strrchr(env, ':') : NULL;
    if (!colon || (size_t)(colon - env) >= sizeof host)
        die("AWS_LAMBDA_RUNTIME_API is not HOST:PORT");
    memcpy(host, env, (size_t)(colon - env));
    host[colon - env] = '\0';
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(colon + 1))};
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
        die("AWS_LAMBDA_RUNTIME_API is not an IPv4 address");
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket failed");
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        perror("bench bootstrap: connect");
        exit(1);
    }
    int one = 1; /* a request goes out in one write; don't let it wait for an ACK */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Refills the buffer: 0 on data, -1 on EOF or error. */
static int fill(struct conn *c)
{
    if (c->off == c->len)
        c->off = c->len = 0;
    else if (c->off > 0) {
        memmove(c->buf, c->buf + c->off, c->len - c->off);
        c->len -= c->off;
        c->off = 0;
    }
    if (c->len == sizeof c->buf)
        return -1; /* a header line longer than the buffer */
    for (;;) {
        ssize_t r = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        c->len += (size_t)r;
        return 0;
    }
}

/* One line without its CRLF, NUL-terminated in place; NULL on EOF or error. */
static char *line(struct conn *c)
{
    for (;;) {
        char *start = c->buf + c->off;
        char *nl = memchr(start, '\n', c->len - c->off);
        if (nl) {
            *nl = '\0';
            if (nl > start && nl[-1] == '\r')
                nl[-1] = '\0';
            c->off = (size_t)(nl - c->buf) + 1;
            return start;
        }
        if (fill(c) < 0)
            return NULL;
    }
}

/* Skips n body bytes (events are not read: the answer is always the same). */
static int skip(struct conn *c, size_t n)
{
    while (n > 0) {
        if (c->off == c->len && fill(c) < 0)
            return -1;
        size_t k = c->len - c->off < n ? c->len - c->off : n;
        c->off += k;
        n -= k;
    }
    return 0;
}

static int skip_chunked(struct conn *c)
{
    for (;;) {
        char *l = line(c);
        if (!l)
            return -1;
        char *end;
        unsigned long n = strtoul(l, &end, 16);
        if (end == l)
            return -1;
        if (n == 0) { /* trailers, then an empty line */
            while ((l = line(c)) && *l)
                ;
            return l ? 0 : -1;
        }
        if (skip(c, n) < 0 || !(l = line(c)) || *l)
            return -1;
    }
}

/* Reads one response (status line, headers, body): 0, or -1 on EOF or garbage. */
static int read_reply(struct conn *c, struct reply *r)
{
    char *l = line(c);
    if (!l || sscanf(l, "HTTP/1.%*d %d", &r->status) != 1)
        return -1;
    r->close = strncmp(l, "HTTP/1.0", 8) == 0;
    r->id[0] = '\0';
    long long length = -1;
    int chunked = 0;
    while ((l = line(c)) && *l) {
        char *colon = strchr(l, ':');
        if (!colon)
            continue;
        *colon = '\0';
        char *v = colon + 1 + strspn(colon + 1, " \t");
        if (!strcasecmp(l, "Content-Length"))
            length = atoll(v);
        else if (!strcasecmp(l, "Transfer-Encoding"))
            chunked = strcasestr(v, "chunked") != NULL;
        else if (!strcasecmp(l, "Connection"))
            r->close = strcasestr(v, "close") != NULL;
        else if (!strcasecmp(l, "Lambda-Runtime-Aws-Request-Id"))
            snprintf(r->id, sizeof r->id, "%s", v);
    }
    if (!l)
        return -1;
    if (chunked)
        return skip_chunked(c);
    if (length >= 0)
        return skip(c, (size_t)length);
    r->close = 1; /* no length: the body ends with the connection */
    while (fill(c) == 0)
        c->off = c->len;
    return 0;
}

/* One request and its reply on the kept connection. A connection the daemon has
 * closed in the meantime fails before any reply: then once more on a new one. */
static void exchange(struct conn *c, const char *method, const char *path, const char *body, struct reply *r)
{
    char req[1024];
    size_t blen = body ? strlen(body) : 0;
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: runtime\r\n%sContent-Length: %zu\r\n\r\n%s",
                     method, path, body ? "Impuls-Next: 1\r\n" : "", blen, body ? body : "");
    if (n < 0 || (size_t)n >= sizeof req)
        die("request too long");
    for (int attempt = 0;; attempt++) {
        if (c->fd < 0) {
            c->fd = open_api();
            c->off = c->len = 0;
        }
        if (send_all(c->fd, req, (size_t)n) == 0 && read_reply(c, r) == 0)
            break;
        close(c->fd);
        c->fd = -1;
        if (attempt == 1)
            die("the Runtime API closed the connection");
    }
    if (r->close) {
        close(c->fd);
        c->fd = -1;
    }
}

static int valid_id(const char *id)
{
    if (!*id)
        return 0;
    for (const char *p = id; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-'))
            return 0;
    return 1;
}

int main(void)
{
    static struct conn c = {.fd = -1};
    struct reply r = {0};
    for (;;) {
        if (r.status != 200) /* the first call, or the post was not answered with an event */
            exchange(&c, "GET", API "next", NULL, &r);
        if (r.status != 200 || !valid_id(r.id)) {
            fprintf(stderr, "bench bootstrap: /next answered %d, request id '%s'\n", r.status, r.id);
            return 1;
        }
        char path[256];
        snprintf(path, sizeof path, API "%s/response", r.id);
        exchange(&c, "POST", path, HELLO, &r);
        if (r.status != 200 && r.status != 202)
            fprintf(stderr, "bench bootstrap: /response answered %d\n", r.status);
    }
}
