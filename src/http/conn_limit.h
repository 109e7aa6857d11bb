#pragma once
/* Bounds the number of open connections of an evhttp listener: at the limit
 * the listener stops accepting (new clients wait in the kernel's backlog)
 * until a connection closes. Its connections end with a lingering close
 * (conn_limit.c). Used for the public API, the router, chambers' ports and
 * each instance's Runtime API. */
#include <event2/http.h>

typedef struct conn_limit conn_limit_t;

conn_limit_t *conn_limit_install(struct evhttp *http, struct evhttp_bound_socket *bound, int max);
/* The same, with each connection's bufferevent made by make (e.g. a TLS one)
 * instead of a plain socket one. */
typedef struct bufferevent *(*conn_bev_fn)(struct event_base *base, void *arg);
conn_limit_t *conn_limit_install_bev(struct evhttp *http, struct evhttp_bound_socket *bound, int max,
                                     conn_bev_fn make, void *make_arg);
/* One more listener of the same evhttp under the same limit (at most two). */
int conn_limit_add(conn_limit_t *cl, struct evhttp_bound_socket *bound);
int conn_limit_open(conn_limit_t *cl);
/* Before the evhttp's listeners are freed while it still serves the
 * connections it has (evhttp_del_accept_socket): stop pausing them. */
void conn_limit_unlisten(conn_limit_t *cl);
/* After evhttp_free of its evhttp: drops the references it kept. */
void conn_limit_free(conn_limit_t *cl);
