#pragma once
/* A DNS forwarder for sandboxes with egress when the host's resolver is on
 * its loopback (systemd-resolved's 127.0.0.53), which no sandbox can reach:
 * queries the egress table redirects here are relayed, each under an id of
 * the forwarder's own, to the host's resolvers, and the answers back to the
 * sandbox that asked. UDP only, on the daemon's event loop; answers that do
 * not fit are truncated by the resolver and the client's TCP retry is not
 * relayed (docs/security.md). */
#include <netinet/in.h>
#include <stddef.h>

struct event_base;

/* Listens on an ephemeral UDP port of every address, answering only sources
 * in subnet/mask. Returns the port, or -1 with err. */
int dns_forward_start(struct event_base *base, const struct in_addr *upstreams, int n, struct in_addr subnet,
                      struct in_addr mask, char *err, size_t errlen);
void dns_forward_stop(void);
