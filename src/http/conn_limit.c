/* libevent 2.1 has no connection limit and no hook when evhttp closes a
 * connection. So we create each connection's bufferevent ourselves (bevcb)
 * and keep a reference to it: evhttp's bufferevent_free clears its callbacks
 * and drops its reference; a sweep sees the cleared callbacks, drops ours
 * (which closes the socket) and counts the connection gone. Sweeps run on
 * each new connection and, only while the listener is paused, on a timer.
 *
 * A connection evhttp lets go of while its client is still sending (the 413
 * of a body over the limit, sent with `Connection: close` before the body is
 * read) is closed the way nginx does it, by a lingering close: its bytes are
 * read and thrown away, for a bounded time and size, until the client closes
 * its side. Closing at once would make the kernel answer the client's next
 * bytes with a reset, and a client that sends its whole body before it reads
 * (Python's http.client, urllib, requests) would never see the 413; not
 * reading would leave it blocked in its send until its own timeout. */
#include "http/conn_limit.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "util/util.h"

/* nginx's lingering_time and lingering_timeout, and a size past which a
 * client that keeps sending is cut off (it may then see a reset). */
enum { LINGER_TOTAL_MS = 30000, LINGER_IDLE_S = 5, LINGER_MAX_BYTES = 128 * 1024 * 1024 };

typedef struct conn {
    struct bufferevent *bev;
    conn_limit_t *cl;
    bool lingering;
    struct event *linger_ev; /* reads the socket while lingering */
    uint64_t linger_since_ms;
    size_t discarded;
} conn_t;

struct conn_limit {
    conn_t **conns;
    int n, cap, max;
    struct evconnlistener *listeners[2];
    int n_listeners;
    struct event *retry_ev;
    bool paused;
    conn_bev_fn make;
    void *make_arg;
};

/* evhttp has freed its side of this connection. Writing an answer clears
 * only the read callback; bufferevent_free clears all three. */
static bool released(const conn_t *c)
{
    bufferevent_data_cb rd, wr;
    bufferevent_event_cb ev;
    bufferevent_getcb(c->bev, &rd, &wr, &ev, NULL);
    return !c->lingering && !rd && !wr && !ev;
}

static void listeners_enable(conn_limit_t *cl, bool on)
{
    for (int i = 0; i < cl->n_listeners; i++)
        (on ? evconnlistener_enable : evconnlistener_disable)(cl->listeners[i]);
    cl->paused = !on;
}

static void resume_if_below(conn_limit_t *cl)
{
    if (cl->paused && cl->n < cl->max) {
        listeners_enable(cl, true);
        evtimer_del(cl->retry_ev);
    }
}

static void on_input(struct evbuffer *input, const struct evbuffer_cb_info *info, void *arg);

/* Drops our reference (closing the socket) and the connection's slot. */
static void drop(conn_limit_t *cl, int i)
{
    conn_t *c = cl->conns[i];
    cl->conns[i] = cl->conns[--cl->n];
    if (c->linger_ev)
        event_free(c->linger_ev);
    evbuffer_remove_cb(bufferevent_get_input(c->bev), on_input, c);
    bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
    bufferevent_decref(c->bev);
    free(c);
}

static void sweep(conn_limit_t *cl)
{
    for (int i = 0; i < cl->n;) {
        if (released(cl->conns[i]))
            drop(cl, i); /* evhttp let go of it */
        else
            i++;
    }
    resume_if_below(cl);
}

static void on_retry(evutil_socket_t fd, short what, void *arg) { sweep(arg); }

static void linger_end(conn_t *c)
{
    conn_limit_t *cl = c->cl;
    for (int i = 0; i < cl->n; i++)
        if (cl->conns[i] == c) {
            drop(cl, i);
            break;
        }
    resume_if_below(cl);
}

/* The socket itself is read into one static buffer and thrown away, the
 * bufferevent no longer reading: lingering allocates nothing, whatever a
 * client sends (a TLS connection's records are thrown away undecrypted). */
static void on_linger_fd(evutil_socket_t fd, short what, void *arg)
{
    static char sink[64 << 10];
    conn_t *c = arg;
    if (what & EV_TIMEOUT)
        return linger_end(c); /* LINGER_IDLE_S without a byte */
    for (;;) {
        ssize_t n = read(fd, sink, sizeof sink);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            break;
        if (n <= 0)
            return linger_end(c); /* the client closed its side, or an error */
        c->discarded += (size_t)n;
        if (c->discarded > LINGER_MAX_BYTES || now_ms() - c->linger_since_ms > LINGER_TOTAL_MS)
            return linger_end(c);
    }
}

/* Bytes arrived on a connection evhttp no longer holds: linger. (Such bytes
 * used to stay in an input buffer nobody drains: a client could fill the
 * daemon's memory through it. A read watermark cannot stop it: libevent
 * 2.1's evhttp spins on a connection that reaches one.) */
static void on_input(struct evbuffer *input, const struct evbuffer_cb_info *info, void *arg)
{
    conn_t *c = arg;
    if (info->n_added == 0 || c->lingering || !released(c))
        return;
    c->lingering = true;
    c->linger_since_ms = now_ms();
    bufferevent_disable(c->bev, EV_READ);
    c->discarded = evbuffer_get_length(input);
    evbuffer_drain(input, evbuffer_get_length(input));
    struct timeval idle = {LINGER_IDLE_S, 0};
    c->linger_ev = event_new(bufferevent_get_base(c->bev), bufferevent_getfd(c->bev), EV_READ | EV_PERSIST,
                             on_linger_fd, c);
    if (!c->linger_ev || event_add(c->linger_ev, &idle) < 0) {
        /* Not freed here, inside the input buffer's own callback: released
         * again, and not read, it goes at the next sweep. */
        if (c->linger_ev)
            event_free(c->linger_ev);
        c->linger_ev = NULL;
        c->lingering = false;
    }
}

static struct bufferevent *make_bev(struct event_base *base, void *arg)
{
    conn_limit_t *cl = arg;
    sweep(cl);
    struct bufferevent *bev =
        cl->make ? cl->make(base, cl->make_arg) : bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!bev)
        return NULL;
    if (cl->n == cl->cap) {
        int cap = cl->cap ? cl->cap * 2 : 8;
        conn_t **n = realloc(cl->conns, (size_t)cap * sizeof *n);
        if (!n)
            return bev; /* untracked: still served */
        cl->conns = n;
        cl->cap = cap;
    }
    conn_t *c = calloc(1, sizeof *c);
    if (!c)
        return bev;
    c->bev = bev;
    c->cl = cl;
    evbuffer_add_cb(bufferevent_get_input(bev), on_input, c);
    bufferevent_incref(bev);
    cl->conns[cl->n++] = c;
    if (cl->n >= cl->max && !cl->paused && cl->n_listeners > 0) {
        listeners_enable(cl, false);
        struct timeval tv = {0, 100000};
        evtimer_add(cl->retry_ev, &tv);
    }
    return bev;
}

conn_limit_t *conn_limit_install_bev(struct evhttp *http, struct evhttp_bound_socket *bound, int max,
                                     conn_bev_fn make, void *make_arg)
{
    conn_limit_t *cl = calloc(1, sizeof *cl);
    if (!cl)
        return NULL;
    cl->max = max;
    cl->make = make;
    cl->make_arg = make_arg;
    cl->listeners[cl->n_listeners++] = evhttp_bound_socket_get_listener(bound);
    cl->retry_ev = event_new(evconnlistener_get_base(cl->listeners[0]), -1, EV_PERSIST, on_retry, cl);
    evhttp_set_bevcb(http, make_bev, cl);
    return cl;
}

conn_limit_t *conn_limit_install(struct evhttp *http, struct evhttp_bound_socket *bound, int max)
{
    return conn_limit_install_bev(http, bound, max, NULL, NULL);
}

int conn_limit_add(conn_limit_t *cl, struct evhttp_bound_socket *bound)
{
    if (!cl || cl->n_listeners == 2)
        return -1;
    struct evconnlistener *l = evhttp_bound_socket_get_listener(bound);
    cl->listeners[cl->n_listeners++] = l;
    if (cl->paused)
        evconnlistener_disable(l);
    return 0;
}

int conn_limit_open(conn_limit_t *cl)
{
    if (!cl)
        return 0;
    sweep(cl);
    return cl->n;
}

void conn_limit_unlisten(conn_limit_t *cl)
{
    if (!cl)
        return;
    evtimer_del(cl->retry_ev);
    cl->n_listeners = 0;
    cl->paused = false;
}

void conn_limit_free(conn_limit_t *cl)
{
    if (!cl)
        return;
    while (cl->n > 0)
        drop(cl, cl->n - 1);
    event_free(cl->retry_ev);
    free(cl->conns);
    free(cl);
}
