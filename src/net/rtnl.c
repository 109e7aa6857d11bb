/* rtnetlink requests (rtnl.h). */
#include "net/rtnl.h"

#include <errno.h>
#include <linux/if.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Every request's own sequence number: an ack is matched to its request,
 * and one left over from an earlier exchange is never counted. */
static uint32_t next_seq;

void *rtnl_put(nlbuf_t *b, const void *p, size_t n)
{
    char *at = b->data + b->len;
    memcpy(at, p, n);
    b->len += NLMSG_ALIGN(n);
    b->msg->nlmsg_len = (uint32_t)(b->data + b->len - (char *)b->msg);
    return at;
}

void rtnl_begin(nlbuf_t *b, uint16_t type, uint16_t flags, const void *hdr, size_t hlen)
{
    b->msg = (struct nlmsghdr *)(b->data + b->len);
    struct nlmsghdr h = {.nlmsg_type = type, .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags, .nlmsg_seq = ++next_seq};
    if (b->len == 0)
        b->first_seq = h.nlmsg_seq;
    b->last_seq = h.nlmsg_seq;
    rtnl_put(b, &h, sizeof h);
    rtnl_put(b, hdr, hlen);
}

struct rtattr *rtnl_attr(nlbuf_t *b, uint16_t type, const void *p, size_t n)
{
    struct rtattr a = {.rta_len = (unsigned short)RTA_LENGTH(n), .rta_type = type};
    struct rtattr *at = rtnl_put(b, &a, sizeof a);
    if (n)
        rtnl_put(b, p, n);
    return at;
}

/* A nested attribute's length once its contents are in. */
void rtnl_close_nest(nlbuf_t *b, struct rtattr *nest)
{
    nest->rta_len = (unsigned short)(b->data + b->len - (char *)nest);
}

/* Sends every message in b and reads an ack for each: 0 or the first -errno. */
int rtnl_exchange(int fd, nlbuf_t *b)
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

int rtnl_socket(void)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0)
        return -errno;
    /* Errors only: an ack need not echo the whole request. */
    int one = 1;
    setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
    return fd;
}

void rtnl_add_address(nlbuf_t *b, int ifindex, struct in_addr ip)
{
    struct ifaddrmsg ifa = {.ifa_family = AF_INET, .ifa_prefixlen = 31, .ifa_index = (uint32_t)ifindex};
    rtnl_begin(b, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof ifa);
    rtnl_attr(b, IFA_LOCAL, &ip, sizeof ip);
    rtnl_attr(b, IFA_ADDRESS, &ip, sizeof ip);
}

int rtnl_host(void)
{
    static int fd = -1;
    if (fd < 0)
        fd = rtnl_socket();
    return fd;
}

void rtnl_link_up(nlbuf_t *b, int ifindex, uint32_t group)
{
    struct ifinfomsg up = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex, .ifi_flags = IFF_UP, .ifi_change = IFF_UP};
    rtnl_begin(b, RTM_NEWLINK, 0, &up, sizeof up);
    if (group)
        rtnl_attr(b, IFLA_GROUP, &group, sizeof group);
}
