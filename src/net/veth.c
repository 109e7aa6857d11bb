/* The veth pair of a sandbox with egress, made over rtnetlink (rtnl.h): one request
 * makes both ends, puts the peer into the sandbox's namespace as eth0 and
 * brings the host end up (as `ip link add … type veth peer … netns … up`
 * does); one more gives the host end its address; one batch of three, sent on
 * a netlink socket made inside the sandbox's namespace, brings eth0 up,
 * addresses it and routes through the host.
 * What it adds to a cold start: bench/egress.py's rows (with egress
 * against the same function without). */
#include "net/link.h"

#include <errno.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/netns.h"
#include "net/rtnl.h"
#include "util/util.h"

static int make_pair(int nl, const link_spec_t *v, int netns_fd)
{
    nlbuf_t b = {.len = 0};
    struct ifinfomsg up = {.ifi_family = AF_UNSPEC, .ifi_flags = IFF_UP, .ifi_change = IFF_UP};
    rtnl_begin(&b, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &up, sizeof up);
    rtnl_attr(&b, IFLA_IFNAME, v->host_name, strlen(v->host_name) + 1);
    rtnl_attr(&b, IFLA_GROUP, &v->group, sizeof v->group);
    struct rtattr *info = rtnl_attr(&b, IFLA_LINKINFO, NULL, 0);
    rtnl_attr(&b, IFLA_INFO_KIND, "veth", 5);
    struct rtattr *data = rtnl_attr(&b, IFLA_INFO_DATA, NULL, 0);
    struct rtattr *peer = rtnl_attr(&b, VETH_INFO_PEER, NULL, 0);
    /* Not up yet: the peer cannot open before the pair is joined, which
     * happens after both are registered (veth_open: -ENOTCONN). */
    struct ifinfomsg inner = {.ifi_family = AF_UNSPEC};
    rtnl_put(&b, &inner, sizeof inner);
    rtnl_attr(&b, IFLA_IFNAME, "eth0", 5);
    uint32_t fd = (uint32_t)netns_fd;
    rtnl_attr(&b, IFLA_NET_NS_FD, &fd, sizeof fd);
    rtnl_close_nest(&b, peer);
    rtnl_close_nest(&b, data);
    rtnl_close_nest(&b, info);
    return rtnl_exchange(nl, &b);
}

static int address_host_end(int nl, const link_spec_t *v)
{
    unsigned idx = if_nametoindex(v->host_name);
    if (!idx)
        return -errno;
    nlbuf_t b = {.len = 0};
    rtnl_add_address(&b, (int)idx, v->host_ip);
    return rtnl_exchange(nl, &b);
}

static int address_inner_end(const link_spec_t *v, int netns_fd)
{
    int fd = net_socket_in(netns_fd, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0)
        return -errno;
    /* eth0's index there: an ioctl on any socket asks the socket's
     * namespace, and a netlink socket's falls through to the device's. */
    struct ifreq ifr = {.ifr_name = "eth0"};
    if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) {
        int saved = errno;
        close(fd);
        return -saved;
    }
    int eth0 = ifr.ifr_ifindex;
    nlbuf_t b = {.len = 0};
    rtnl_link_up(&b, eth0, 0);
    rtnl_add_address(&b, eth0, v->inner_ip);
    struct rtmsg rt = {.rtm_family = AF_INET, .rtm_table = RT_TABLE_MAIN, .rtm_protocol = RTPROT_BOOT,
                       .rtm_scope = RT_SCOPE_UNIVERSE, .rtm_type = RTN_UNICAST};
    rtnl_begin(&b, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rt, sizeof rt);
    rtnl_attr(&b, RTA_GATEWAY, &v->host_ip, sizeof v->host_ip);
    uint32_t oif = (uint32_t)eth0;
    rtnl_attr(&b, RTA_OIF, &oif, sizeof oif);
    int rc = rtnl_exchange(fd, &b);
    close(fd);
    return rc;
}

int veth_attach(const link_spec_t *v, int netns_fd)
{
    int nl = rtnl_host();
    if (nl < 0)
        return nl;
    int rc = make_pair(nl, v, netns_fd);
    if (rc < 0)
        return rc;
    rc = address_host_end(nl, v);
    if (rc == 0)
        rc = address_inner_end(v, netns_fd);
    if (rc < 0)
        veth_delete(v->host_name);
    return rc;
}

int veth_delete(const char *host_name)
{
    int nl = rtnl_host();
    if (nl < 0)
        return nl;
    nlbuf_t b = {.len = 0};
    struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
    rtnl_begin(&b, RTM_DELLINK, 0, &ifi, sizeof ifi);
    rtnl_attr(&b, IFLA_IFNAME, host_name, strlen(host_name) + 1);
    return rtnl_exchange(nl, &b);
}
