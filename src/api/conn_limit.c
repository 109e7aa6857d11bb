/* libevent 2.1 has no connection limit and no hook when evhttp closes a
 * connection. So we create each connection's bufferevent ourselves (bevcb)
 * and keep a reference to it: evhttp's bufferevent_free clears its callbacks
 * and drops its reference; a sweep sees the cleared callbacks, drops ours
 * (which closes the socket) and counts the connection gone. */
#include "api/conn_limit.h"

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <stdlib.h>

static struct bufferevent **conns;
static int n_conns, cap_conns, max_conns;
static struct evconnlistener *listener;
static struct event *sweep_ev;
static int paused;

static void sweep(void)
{
    for (int i = 0; i < n_conns;) {
        bufferevent_data_cb rd;
        bufferevent_getcb(conns[i], &rd, NULL, NULL, NULL);
        if (rd) {
            i++;
            continue;
        }
        bufferevent_decref(conns[i]); /* evhttp let go of it */
        conns[i] = conns[--n_conns];
    }
    if (paused && n_conns < max_conns) {
        evconnlistener_enable(listener);
        paused = 0;
    }
}

static void on_sweep(evutil_socket_t fd, short what, void *arg) { sweep(); }

static struct bufferevent *make_bev(struct event_base *base, void *arg)
{
    sweep();
    struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!bev)
        return NULL;
    if (n_conns == cap_conns) {
        int cap = cap_conns ? cap_conns * 2 : 64;
        struct bufferevent **n = realloc(conns, (size_t)cap * sizeof *n);
        if (!n)
            return bev; /* untracked: still served */
        conns = n;
        cap_conns = cap;
    }
    bufferevent_incref(bev);
    conns[n_conns++] = bev;
    if (n_conns >= max_conns && !paused) {
        evconnlistener_disable(listener);
        paused = 1;
    }
    return bev;
}

void conn_limit_install(struct evhttp *http, struct evhttp_bound_socket *bound, int max)
{
    max_conns = max;
    listener = evhttp_bound_socket_get_listener(bound);
    evhttp_set_bevcb(http, make_bev, NULL);
    struct event_base *base = evconnlistener_get_base(listener);
    sweep_ev = event_new(base, -1, EV_PERSIST, on_sweep, NULL);
    struct timeval tv = {0, 100000};
    event_add(sweep_ev, &tv);
}

int conn_limit_open(void)
{
    sweep();
    return n_conns;
}
