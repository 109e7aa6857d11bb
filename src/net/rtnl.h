#pragma once
/* rtnetlink requests, built in a buffer and sent as one batch (no `ip`
 * binary, no fork): what veth.c and tap.c make their links with. */
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

typedef struct nlbuf {
    char data[1024] __attribute__((aligned(NLMSG_ALIGNTO)));
    size_t len;
    struct nlmsghdr *msg; /* the message being built */
    uint32_t first_seq, last_seq;
} nlbuf_t;

/* A new message in b: its header (type, NLM_F_REQUEST | NLM_F_ACK | flags,
 * a sequence number of its own) and the family header hdr. */
void rtnl_begin(nlbuf_t *b, uint16_t type, uint16_t flags, const void *hdr, size_t hlen);
/* n raw bytes onto the message being built (a nested header); where they went. */
void *rtnl_put(nlbuf_t *b, const void *p, size_t n);
/* An attribute of the message being built (n = 0: a nest, closed by
 * rtnl_close_nest once its contents are in). */
struct rtattr *rtnl_attr(nlbuf_t *b, uint16_t type, const void *p, size_t n);
void rtnl_close_nest(nlbuf_t *b, struct rtattr *nest);
/* ip/31 on the interface of index ifindex. */
void rtnl_add_address(nlbuf_t *b, int ifindex, struct in_addr ip);
/* Interface ifindex up, in group (0: its group unchanged). */
void rtnl_link_up(nlbuf_t *b, int ifindex, uint32_t group);
/* Sends every message in b on fd and reads an ack for each: 0 or the
 * first -errno. */
int rtnl_exchange(int fd, nlbuf_t *b);
/* A new NETLINK_ROUTE socket: fd or -errno. */
int rtnl_socket(void);
/* The daemon's own, in its host network namespace, made once: every request
 * from the loop thread. fd or -errno. */
int rtnl_host(void);
