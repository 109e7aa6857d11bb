/* The veth pair of a sandbox with egress, made over rtnetlink: one request
 * makes both ends, puts the peer into the sandbox's namespace as eth0 and
 * brings the host end up (as `ip link add … type veth peer … netns … up`
 * does); one more gives the host end its address; one batch of three, sent on
 * a netlink socket made inside the sandbox's namespace, brings eth0 up,
 * addresses it and routes through the host.
 * What it adds to a cold start: bench/egress.py's rows (with egress
 * against the same function without). */
#include "net/veth.h"

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
#include "util/util.h"

typedef struct nlbuf {
    char data[1024] __attribute__((aligned(NLMSG_ALIGNTO)));
    size_t len;
    struct nlmsghdr *msg; /* the message being built */
    uint32_t first_seq, last_seq;
} nlbuf_t;

/* Every request's own sequence number: an ack is matched to its request,
 * and one left over from an earlier exchange is never counted. */
static uint32_t next_seq;

static void *put(nlbuf_t *b, const void *p, size_t n)
{
    char *at = b->data + b->len;
    memcpy(at, p, n);
    b->len += NLMSG_ALIGN(n);
    b->msg->nlmsg_len = (uint32_t)(b->data + b->len - (char *)b->msg);
    return at;
}

static void begin(nlbuf_t *b, uint16_t type, uint16_t flags, const void *hdr, size_t hlen)
{
    b->msg = (struct nlmsghdr *)(b->data + b->len);
    struct nlmsghdr h = {.nlmsg_type = type, .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags, .nlmsg_seq = ++next_seq};
    if (b->len == 0)
        b->first_seq = h.nlmsg_seq;
    b->last_seq = h.nlmsg_seq;
    put(b, &h, sizeof h);
    put(b, hdr, hlen);
}

static struct rtattr *attr(nlbuf_t *b, uint16_t type, const void *p, size_t n)
{
    struct rtattr a = {.rta_len = (unsigned short)RTA_LENGTH(n), .rta_type = type};
    struct rtattr *at = put(b, &a, sizeof a);
    if (n)
        put(b, p, n);
    return at;
}

/* A nested attribute's length once its contents are in. */
static void close_nest(nlbuf_t *b, struct rtattr *nest)
{
    nest->rta_len = (unsigned short)(b->data + b->len - (char *)nest);
}

/* Sends every message in b and reads an ack for each: 0 or the first -errno. */
static int exchange(int fd, nlbuf_t *b)
{
    int expected = 0;
    for (struct nlmsghdr *m = (struct nlmsghdr *)b->data; (char *)m < b->data + b->len;
         m = (struct nlmsghdr *)((char *)m + NLMSG_ALIGN(m->nlmsg_len)))
        expected++;
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    if (sendto(fd, b->data, b->len, 0, (struct sockaddr *)&kernel, sizeof kernel) != (ssize_t)b->len)
        return -errno;
    int first_err = 0;
    char in[4096] __attribute__((aligned(NLMSG_ALIGNTO)));
    while (expected > 0) {
        ssize_t n = recv(fd, in, sizeof in, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        for (struct nlmsghdr *m = (struct nlmsghdr *)in; NLMSG_OK(m, (size_t)n); m = NLMSG_NEXT(m, n)) {
            if (m->nlmsg_type != NLMSG_ERROR || m->nlmsg_seq - b->first_seq > b->last_seq - b->first_seq)
                continue;
            const struct nlmsgerr *e = NLMSG_DATA(m);
            if (e->error && !first_err)
                first_err = e->error;
            expected--;
        }
    }
    return first_err;
}

static int rtnl_socket(void)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0)
        return -errno;
    /* Errors only: an ack need not echo the whole request. */
    int one = 1;
    setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
    return fd;
}

static void add_address(nlbuf_t *b, int ifindex, struct in_addr ip)
{
    struct ifaddrmsg ifa = {.ifa_family = AF_INET, .ifa_prefixlen = 31, .ifa_index = (uint32_t)ifindex};
    begin(b, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof ifa);
    attr(b, IFA_LOCAL, &ip, sizeof ip);
    attr(b, IFA_ADDRESS, &ip, sizeof ip);
}

static int make_pair(int nl, const veth_spec_t *v, int netns_fd)
{
    nlbuf_t b = {.len = 0};
    struct ifinfomsg up = {.ifi_family = AF_UNSPEC, .ifi_flags = IFF_UP, .ifi_change = IFF_UP};
    begin(&b, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &up, sizeof up);
    attr(&b, IFLA_IFNAME, v->host_name, strlen(v->host_name) + 1);
    attr(&b, IFLA_GROUP, &v->group, sizeof v->group);
    struct rtattr *info = attr(&b, IFLA_LINKINFO, NULL, 0);
    attr(&b, IFLA_INFO_KIND, "veth", 5);
    struct rtattr *data = attr(&b, IFLA_INFO_DATA, NULL, 0);
    struct rtattr *peer = attr(&b, VETH_INFO_PEER, NULL, 0);
    /* Not up yet: the peer cannot open before the pair is joined, which
     * happens after both are registered (veth_open: -ENOTCONN). */
    struct ifinfomsg inner = {.ifi_family = AF_UNSPEC};
    put(&b, &inner, sizeof inner);
    attr(&b, IFLA_IFNAME, "eth0", 5);
    uint32_t fd = (uint32_t)netns_fd;
    attr(&b, IFLA_NET_NS_FD, &fd, sizeof fd);
    close_nest(&b, peer);
    close_nest(&b, data);
    close_nest(&b, info);
    return exchange(nl, &b);
}

static int address_host_end(int nl, const veth_spec_t *v)
{
    unsigned idx = if_nametoindex(v->host_name);
    if (!idx)
        return -errno;
    nlbuf_t b = {.len = 0};
    add_address(&b, (int)idx, v->host_ip);
    return exchange(nl, &b);
}

static int address_inner_end(const veth_spec_t *v, int netns_fd)
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
    struct ifinfomsg up = {.ifi_family = AF_UNSPEC, .ifi_index = eth0, .ifi_flags = IFF_UP, .ifi_change = IFF_UP};
    begin(&b, RTM_NEWLINK, 0, &up, sizeof up);
    add_address(&b, eth0, v->inner_ip);
    struct rtmsg rt = {.rtm_family = AF_INET, .rtm_table = RT_TABLE_MAIN, .rtm_protocol = RTPROT_BOOT,
                       .rtm_scope = RT_SCOPE_UNIVERSE, .rtm_type = RTN_UNICAST};
    begin(&b, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rt, sizeof rt);
    attr(&b, RTA_GATEWAY, &v->host_ip, sizeof v->host_ip);
    uint32_t oif = (uint32_t)eth0;
    attr(&b, RTA_OIF, &oif, sizeof oif);
    int rc = exchange(fd, &b);
    close(fd);
    return rc;
}

/* The host's netlink socket, made once: every request from the loop thread. */
static int host_rtnl(void)
{
    static int fd = -1;
    if (fd < 0)
        fd = rtnl_socket();
    return fd;
}

int veth_attach(const veth_spec_t *v, int netns_fd)
{
    int nl = host_rtnl();
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
    int nl = host_rtnl();
    if (nl < 0)
        return nl;
    nlbuf_t b = {.len = 0};
    struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
    begin(&b, RTM_DELLINK, 0, &ifi, sizeof ifi);
    attr(&b, IFLA_IFNAME, host_name, strlen(host_name) + 1);
    return exchange(nl, &b);
}
