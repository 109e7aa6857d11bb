#pragma once
/* The build sandbox's only way out: an HTTP proxy of impuls up's own. A
 * step runs in a network namespace that holds only its loopback; on
 * 127.0.0.1:BOX_PROXY_PORT there a socket that impuls up made inside it (as
 * the daemon makes a sandbox's Runtime API socket) takes CONNECT and
 * absolute-URI requests, which impuls up makes from the host's network to
 * public addresses only: never to the host itself (its loopback, the
 * daemon's API, any of its addresses), link-local or private ranges. The
 * steps find it through HTTP_PROXY/HTTPS_PROXY (npm, pip, curl, apt, go
 * read them); a refusal is answered 403 and added to the step's output. */
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define BOX_PROXY_PORT 3128
#define BOX_PROXY_URL "http://127.0.0.1:3128"

typedef struct box_proxy box_proxy_t;

/* Serves the proxy inside the network namespace of pid (a new build
 * sandbox's init, before it starts its step), bringing up its loopback.
 * NULL with err. */
box_proxy_t *box_proxy_start(pid_t pid, char *err, size_t errlen);
/* Ends every connection and the listener, waits for its threads; returns
 * what it refused, a line each (malloc'd), or NULL. */
char *box_proxy_stop(box_proxy_t *p);

/* Whether a destination may be reached from a build: a public address
 * (not this host's own, not loopback, private, link-local, multicast,
 * unspecified or reserved; IPv4-mapped IPv6 judged as IPv4). */
struct sockaddr;
bool box_proxy_public(const struct sockaddr *a);
