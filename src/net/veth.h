#pragma once
/* A sandbox's link to the host: a veth pair made over rtnetlink (no `ip`
 * binary, no fork), one end on the host, the other moved into the sandbox's
 * network namespace as eth0. A routed point-to-point /31: the host end is the
 * sandbox's gateway, so everything the sandbox sends crosses the host's
 * forward or input hook, where the egress table's policy applies
 * (egress.h). Nothing bridges two sandboxes. */
#include <stdint.h>
#include <netinet/in.h>

typedef struct veth_spec {
    char host_name[16];      /* the host end's name (IFNAMSIZ) */
    uint32_t group;          /* the host end's interface group: its function, for the table's rules */
    struct in_addr host_ip;  /* the host end, the sandbox's gateway */
    struct in_addr inner_ip; /* eth0 inside; host_ip and inner_ip share one /31 */
} veth_spec_t;

/* Makes the pair, eth0 in the network namespace netns_fd, both ends up,
 * addressed, and eth0's default route through the host end. Returns 0 or
 * -errno; on failure nothing is left behind (the host end is deleted).
 * Call from the daemon's host network namespace. */
int veth_attach(const veth_spec_t *v, int netns_fd);
/* Deletes the host end (and so the pair) by name: 0, or -errno (-ENODEV
 * when it is gone already, as it is once the sandbox's namespace died). */
int veth_delete(const char *host_name);
