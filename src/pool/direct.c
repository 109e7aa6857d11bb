/* Direct delivery: a request through the router to an HTTP-server function
 * (mode "http") goes straight to its server, 127.0.0.1:8000 inside the
 * instance's network namespace, and the answer streams back as it comes —
 * no event, no buffering, no 6 MiB limit. The call is still an invocation:
 * it waits in the function's queue, counts against its concurrency, gets
 * START / END / REPORT lines and its timeout. The instance's parked /next
 * stays parked meanwhile; when the answer ends the instance is free again.
 *
 * Upstream we speak HTTP/1.0 with Connection: close, so the end of the
 * server's answer is the end of the connection, whatever framing it chose;
 * downstream libevent frames it again (chunked for HTTP/1.1 clients). */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "http/http_util.h"
#include "pool/internal.h"
#include "util/log.h"
#include "util/util.h"

enum { HTTP_PORT_INSIDE = 8000, HEAD_MAX = 64 * 1024, HEADERS_MAX = 100, CLIENT_BACKLOG = 1 << 20 };

/* A server that answers our HTTP/1.0 request in chunks anyway (it should
 * not) is decoded: the client gets the body, framed again by libevent. */
enum chunk_state { CH_NONE, CH_SIZE, CH_DATA, CH_DATA_END, CH_TRAILER, CH_DONE };

struct direct {
    invocation_t *inv;
    struct bufferevent *up;
    bool connected; /* to the server; the call counts from here */
    bool streaming; /* the status line and headers went to the client */
    enum chunk_state chunks;
    uint64_t chunk_left;
    struct evbuffer *body; /* decoded body, on its way to the client */
};

static const char *method_name(enum evhttp_cmd_type m)
{
    switch (m) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_HEAD: return "HEAD";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_DELETE: return "DELETE";
    case EVHTTP_REQ_OPTIONS: return "OPTIONS";
    case EVHTTP_REQ_PATCH: return "PATCH";
    default: return "GET";
    }
}

/* Hop-by-hop headers belong to one connection, not to the request. */
static bool hop_by_hop(const char *k)
{
    static const char *names[] = {"connection", "keep-alive", "transfer-encoding", "content-length", "upgrade",
                                  "te", "trailer", "expect", "proxy-connection", NULL};
    for (int i = 0; names[i]; i++)
        if (!strcasecmp(k, names[i]))
            return true;
    return false;
}

static void write_request(struct direct *d, struct evhttp_request *req)
{
    struct evbuffer *out = bufferevent_get_output(d->up);
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *q = evhttp_uri_get_query(uri);
    evbuffer_add_printf(out, "%s %s%s%s HTTP/1.0\r\n", method_name(evhttp_request_get_command(req)),
                        d->inv->direct_path, q ? "?" : "", q ? q : "");
    struct evkeyval *h;
    TAILQ_FOREACH(h, evhttp_request_get_input_headers(req), next)
    if (!hop_by_hop(h->key))
        evbuffer_add_printf(out, "%s: %s\r\n", h->key, h->value);
    struct evbuffer *body = evhttp_request_get_input_buffer(req);
    evbuffer_add_printf(out, "Content-Length: %zu\r\nConnection: close\r\n\r\n", evbuffer_get_length(body));
    evbuffer_add_buffer(out, body);
}

static void on_client_flushed(struct evhttp_connection *conn, void *arg)
{
    struct direct *d = arg;
    bufferevent_enable(d->up, EV_READ);
}

/* Status line and headers, once all of them are in. 0: not yet; 1: sent on;
 * -1: malformed (msg says why). */
static int relay_head(struct direct *d, const char **msg)
{
    struct evbuffer *in = bufferevent_get_input(d->up);
    struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
    if (end.pos < 0) {
        end = evbuffer_search(in, "\n\n", 2, NULL);
        if (end.pos < 0) {
            *msg = "the status line and headers are larger than 64 KiB";
            return evbuffer_get_length(in) > HEAD_MAX ? -1 : 0;
        }
    }
    if (end.pos > HEAD_MAX) {
        *msg = "the status line and headers are larger than 64 KiB";
        return -1;
    }
    invocation_t *inv = d->inv;
    size_t n;
    char *line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF);
    int major, minor, code = 0, off = 0;
    if (!line || sscanf(line, "HTTP/%d.%d %3d%n", &major, &minor, &code, &off) < 3 || code < 200 || code > 599) {
        free(line);
        *msg = "its answer does not start with an HTTP status line of 200 to 599";
        return -1;
    }
    const char *reason = line + off;
    while (*reason == ' ')
        reason++;
    struct evkeyvalq *oh = evhttp_request_get_output_headers(inv->req);
    int count = 0;
    char *hl;
    while ((hl = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF)) && n > 0) {
        char *colon = strchr(hl, ':');
        if (colon && ++count <= HEADERS_MAX) {
            *colon = '\0';
            char *v = colon + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            if (!strcasecmp(hl, "transfer-encoding") && strcasestr(v, "chunked"))
                d->chunks = CH_SIZE;
            if (http_header_allowed(hl, v))
                evhttp_add_header(oh, hl, v);
        }
        free(hl);
    }
    free(hl);
    evhttp_add_header(oh, "X-Impuls-Request-Id", inv->id);
    evhttp_send_reply_start(inv->req, code, *reason ? reason : NULL);
    free(line);
    d->streaming = true;
    return 1;
}

/* Chunked body → d->body. Returns -1 on a malformed chunk. */
static int unchunk(struct direct *d, struct evbuffer *in)
{
    for (;;) {
        size_t n;
        if (d->chunks == CH_SIZE || d->chunks == CH_DATA_END || d->chunks == CH_TRAILER) {
            char *line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF);
            if (!line)
                return evbuffer_get_length(in) > 4096 ? -1 : 0;
            if (d->chunks == CH_SIZE) {
                char *end;
                unsigned long long size = strtoull(line, &end, 16);
                bool ok = end != line && (*end == '\0' || *end == ';' || *end == ' ') && size < (1ULL << 40);
                free(line);
                if (!ok)
                    return -1;
                d->chunk_left = size;
                d->chunks = size ? CH_DATA : CH_TRAILER;
            } else if (d->chunks == CH_DATA_END) {
                bool ok = n == 0;
                free(line);
                if (!ok)
                    return -1;
                d->chunks = CH_SIZE;
            } else { /* trailers are dropped; an empty line ends the body */
                free(line);
                if (n == 0) {
                    d->chunks = CH_DONE;
                    evbuffer_drain(in, evbuffer_get_length(in));
                    return 0;
                }
            }
        } else if (d->chunks == CH_DATA) {
            size_t have = evbuffer_get_length(in);
            if (have == 0)
                return 0;
            size_t take = have < d->chunk_left ? have : (size_t)d->chunk_left;
            evbuffer_remove_buffer(in, d->body, take);
            d->chunk_left -= take;
            if (d->chunk_left == 0)
                d->chunks = CH_DATA_END;
        } else { /* CH_DONE: anything after the last chunk is ignored */
            evbuffer_drain(in, evbuffer_get_length(in));
            return 0;
        }
    }
}

/* Moves what the server sent to the client. Returns true when that ended
 * the call (d is gone then). */
static bool pump(struct direct *d)
{
    invocation_t *inv = d->inv;
    if (!inv->req) { /* the client went away: so does the call */
        invocation_end_direct(inv, false, "the client closed the connection");
        return true;
    }
    if (!d->streaming) {
        const char *msg = NULL;
        int r = relay_head(d, &msg);
        if (r < 0) {
            invocation_end_direct(inv, false, msg);
            return true;
        }
        if (r == 0)
            return false;
    }
    struct evbuffer *in = bufferevent_get_input(d->up);
    if (d->chunks != CH_NONE) {
        if (!d->body)
            d->body = evbuffer_new();
        if (unchunk(d, in) < 0) {
            invocation_end_direct(inv, false, "its chunked answer is malformed");
            return true;
        }
        in = d->body;
    }
    if (evbuffer_get_length(in) == 0)
        return false;
    struct evhttp_connection *conn = evhttp_request_get_connection(inv->req);
    struct bufferevent *cb = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
    evhttp_send_reply_chunk_with_cb(inv->req, in, on_client_flushed, d);
    /* A slow client: stop reading the server until it catches up. */
    if (cb && evbuffer_get_length(bufferevent_get_output(cb)) > CLIENT_BACKLOG)
        bufferevent_disable(d->up, EV_READ);
    return false;
}

static void on_up_read(struct bufferevent *bev, void *arg) { pump(arg); }

static void on_up_event(struct bufferevent *bev, short what, void *arg)
{
    struct direct *d = arg;
    if (what & BEV_EVENT_CONNECTED) {
        d->connected = true;
        invocation_log_start(d->inv);
        return;
    }
    if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
        return;
    int err = EVUTIL_SOCKET_ERROR();
    /* Nothing listens (the server just died, its instance not yet reaped):
     * the request never reached it, so another instance may take it. A
     * connection reset before a byte of answer is the same: the kernel
     * completes a handshake on a dying server's listening socket until the
     * process is torn down (longer on a busy machine), then resets what its
     * server never accepted. */
    bool nothing_back = !d->streaming && evbuffer_get_length(bufferevent_get_input(d->up)) == 0;
    bool reset = (what & BEV_EVENT_ERROR) && err == ECONNRESET && nothing_back;
    if (!d->connected || reset) {
        if (reset) {
            char line[200];
            int n = snprintf(line, sizeof line,
                             "[impuls] RequestId: %s the server reset the connection before answering: it goes to "
                             "another instance\n", d->inv->id);
            fn_log_write(d->inv->pool->fn, line, (size_t)n);
        }
        invocation_retry(d->inv);
        return;
    }
    if (pump(d)) /* what came with the end */
        return;
    if (d->streaming && (what & BEV_EVENT_EOF)) {
        bool whole = d->chunks == CH_NONE || d->chunks == CH_DONE;
        invocation_end_direct(d->inv, whole, whole ? NULL : "the server's chunked answer ended early");
        return;
    }
    char msg[200];
    snprintf(msg, sizeof msg, "%s", d->streaming ? "the connection to the function's server broke"
                              : (what & BEV_EVENT_EOF) ? "the function's server closed the connection without an answer"
                                                        : "cannot reach the function's server on port 8000");
    if ((what & BEV_EVENT_ERROR) && err)
        snprintf(msg + strlen(msg), sizeof msg - strlen(msg), ": %s", evutil_socket_error_to_string(err));
    invocation_end_direct(d->inv, false, msg);
}

void direct_deliver(invocation_t *inv, instance_t *inst)
{
    struct direct *d = calloc(1, sizeof *d);
    d->inv = inv;
    inv->direct = d;
    if (inst->netns_fd < 0)
        inst->netns_fd = sandbox_open_netns(inst->sb.pid);
    int fd = inst->netns_fd < 0 ? -1 : sandbox_socket_inside(inst->netns_fd);
    d->up = fd < 0 ? NULL : bufferevent_socket_new(D->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!d->up) {
        if (fd >= 0)
            close(fd);
        char msg[160];
        snprintf(msg, sizeof msg, "cannot reach the function's server on port 8000: %s", strerror(errno));
        invocation_log_start(inv);
        invocation_end_direct(inv, false, msg);
        return;
    }
    bufferevent_setcb(d->up, on_up_read, NULL, on_up_event, d);
    write_request(d, inv->req);
    struct sockaddr_in a;
    sandbox_loopback_addr(HTTP_PORT_INSIDE, &a);
    if (bufferevent_socket_connect(d->up, (struct sockaddr *)&a, sizeof a) < 0) {
        invocation_retry(inv); /* refused at once: nothing listens */
        return;
    }
    bufferevent_enable(d->up, EV_READ | EV_WRITE);
}

bool direct_streaming(const invocation_t *inv) { return inv->direct && inv->direct->streaming; }

void direct_free(invocation_t *inv)
{
    struct direct *d = inv->direct;
    if (!d)
        return;
    if (d->up)
        bufferevent_free(d->up);
    if (d->body)
        evbuffer_free(d->body);
    inv->direct = NULL;
    free(d);
}
