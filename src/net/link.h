#pragma once
/* A sandbox's link to the host, made over rtnetlink (rtnl.h; no `ip`
 * binary, no fork). A routed point-to-point /31: the host end is the
 * sandbox's gateway, so everything the sandbox sends crosses the host's
 * forward or input hook, where the egress table's policy applies
 * (egress.h). Nothing bridges two sandboxes. Two kinds, one policy:
 *   - veth.c: a namespace sandbox's veth pair, one end on the host, the
 *     other moved into the sandbox's network namespace as eth0;
 *   - tap.c: a microVM's tap device on the host, whose fd QEMU holds as
 *     the guest's virtio-net backend; the guest addresses its own eth0. */
#include <stdint.h>
#include <netinet/in.h>

typedef struct link_spec {
    char host_name[16];      /* the host end's name (IFNAMSIZ) */
    uint32_t group;          /* the host end's interface group: its function, for the table's rules */
    struct in_addr host_ip;  /* the host end, the sandbox's gateway */
    struct in_addr inner_ip; /* eth0 inside; host_ip and inner_ip share one /31 */
} link_spec_t;

/* Makes the pair, eth0 in the network namespace netns_fd, both ends up,
 * addressed, and eth0's default route through the host end. Returns 0 or
 * -errno; on failure nothing is left behind (the host end is deleted).
 * Call from the daemon's host network namespace. */
int veth_attach(const link_spec_t *l, int netns_fd);
/* Deletes a host end (a veth pair with it) by name: 0, or -errno (-ENODEV
 * when it is gone already, as it is once the sandbox's namespace died). */
int veth_delete(const char *host_name);
/* Makes the tap device host_name, up, addressed and in its group, and
 * returns its fd (or -errno). Not persistent: the device goes when the last
 * fd of it is closed (QEMU's and its supervisor's, when the VM ends), so a
 * killed VM leaves nothing. Call from the daemon's host network namespace. */
int tap_open(const link_spec_t *l);
