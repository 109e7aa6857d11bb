/* libevent 2.1 has no connection limit and no hook when evhttp closes a
 * connection. So we create each connection's bufferevent ourselves (bevcb)
 * and keep a reference to it: evhttp's bufferevent_free clears its callbacks
 * and drops its reference; a sweep sees the cleared callbacks, drops ours
 * (which closes the socket) and counts the connection gone. Sweeps run on
 * each new connection and, only while the listener is paused, on a timer. */
#include "api/conn_limit.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <stdbool.h>
#include <stdlib.h>

struct conn_limit {
    struct bufferevent **conns;
    int n, cap, max;
    struct evconnlistener *listeners[2];
    int n_listeners;
    struct event *retry_ev;
    bool paused;
};

/* evhttp has freed its side of this connection. Writing an answer clears
 * only the read callback; bufferevent_free clears all three. */
static bool released(struct bufferevent *bev)
{
    bufferevent_data_cb rd, wr;
    bufferevent_event_cb ev;
    bufferevent_getcb(bev, &rd, &wr, &ev, NULL);
    return !rd && !wr && !ev;
}

static void listeners_enable(conn_limit_t *cl, bool on)
{
    for (int i = 0; i < cl->n_listeners; i++)
        (on ? evconnlistener_enable : evconnlistener_disable)(cl->listeners[i]);
    cl->paused = !on;
}

static void sweep(conn_limit_t *cl)
{
    for (int i = 0; i < cl->n;) {
        if (!released(cl->conns[i])) {
            i++;
            continue;
        }
        bufferevent_decref(cl->conns[i]); /* evhttp let go of it */
        cl->conns[i] = cl->conns[--cl->n];
    }
    if (cl->paused && cl->n < cl->max) {
        listeners_enable(cl, true);
        evtimer_del(cl->retry_ev);
    }
}

static void on_retry(evutil_socket_t fd, short what, void *arg) { sweep(arg); }

/* Once evhttp lets go of a connection (e.g. after `Connection: close`) the
 * reference kept here leaves its socket open, and still read, until the next
 * sweep, into an input buffer nobody drains: a client could fill the daemon's
 * memory through it. So the first bytes that arrive on a connection evhttp no
 * longer holds stop the reading and are dropped. (A read watermark cannot do
 * it: libevent 2.1's evhttp spins on a connection that reaches one.) */
static void on_input(struct evbuffer *input, const struct evbuffer_cb_info *info, void *arg)
{
    struct bufferevent *bev = arg;
    if (info->n_added == 0 || !released(bev))
        return;
    bufferevent_disable(bev, EV_READ);
    evbuffer_drain(input, evbuffer_get_length(input));
}

static struct bufferevent *make_bev(struct event_base *base, void *arg)
{
    conn_limit_t *cl = arg;
    sweep(cl);
    struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!bev)
        return NULL;
    evbuffer_add_cb(bufferevent_get_input(bev), on_input, bev);
    if (cl->n == cl->cap) {
        int cap = cl->cap ? cl->cap * 2 : 8;
        struct bufferevent **n = realloc(cl->conns, (size_t)cap * sizeof *n);
        if (!n)
            return bev; /* untracked: still served */
        cl->conns = n;
        cl->cap = cap;
    }
    bufferevent_incref(bev);
    cl->conns[cl->n++] = bev;
    if (cl->n >= cl->max && !cl->paused) {
        listeners_enable(cl, false);
        struct timeval tv = {0, 100000};
        evtimer_add(cl->retry_ev, &tv);
    }
    return bev;
}

conn_limit_t *conn_limit_install(struct evhttp *http, struct evhttp_bound_socket *bound, int max)
{
    conn_limit_t *cl = calloc(1, sizeof *cl);
    if (!cl)
        return NULL;
    cl->max = max;
    cl->listeners[cl->n_listeners++] = evhttp_bound_socket_get_listener(bound);
    cl->retry_ev = event_new(evconnlistener_get_base(cl->listeners[0]), -1, EV_PERSIST, on_retry, cl);
    evhttp_set_bevcb(http, make_bev, cl);
    return cl;
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

void conn_limit_free(conn_limit_t *cl)
{
    if (!cl)
        return;
    for (int i = 0; i < cl->n; i++)
        bufferevent_decref(cl->conns[i]);
    event_free(cl->retry_ev);
    free(cl->conns);
    free(cl);
}
