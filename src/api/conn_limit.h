#pragma once
/* Bounds the number of open client connections of an evhttp listener: at the
 * limit, the listener stops accepting (new clients wait in the kernel's
 * backlog) until a connection closes. */
#include <event2/http.h>

void conn_limit_install(struct evhttp *http, struct evhttp_bound_socket *bound, int max);
int conn_limit_open(void);
