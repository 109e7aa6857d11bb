#pragma once
/* Egress: a network path out of a sandbox, under a policy the function
 * cannot change. Each sandbox with egress gets a link (link.h: a veth pair,
 * or a microVM's tap) whose host end carries its function's interface
 * group; one nftables table of
 * Impuls's own (`inet impuls`), made on first use and deleted at shutdown,
 * routes and masquerades what leaves and holds the policy:
 *   - nothing to the host itself (any of its addresses, its loopback
 *     services, the daemon's API and router), nothing new into a sandbox
 *     (from another sandbox, from outside, from the host's own processes);
 *   - nothing to 0/8, 10/8, 100.64/10, 127/8, 168.63.129.16, 169.254/16
 *     (metadata), 172.16/12, 192.0.0/24, 192.168/16, 198.18/15, multicast
 *     and above, nor IPv6, unless the function's egress_allow or the
 *     daemon's --egress-allow lists it;
 *   - DNS: the host's resolvers (its resolv.conf) on port 53 only, or, when
 *     a resolver is on the host itself (127.0.0.53), a forwarder of the
 *     daemon's (dns_forward.h) at a fixed address of the egress subnet, at
 *     most 500 queries a second per function;
 *   - per function (all its instances together): a byte rate each way and a
 *     number of connections;
 *   - where ip_forward was off, Impuls turns it on and the table forwards
 *     nothing but the sandboxes' traffic (as Docker's FORWARD policy does);
 *     it stays on after the daemon, as Docker leaves it.
 * The table is made again as soon as someone else deletes it (nft flush
 * ruleset), so that the links never route without the policy for long.
 * docs/security.md has the table; docs/api.md the fields. */
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "net/link.h"

struct event_base;

/* One allowed destination: addr/prefix, and a port range (0-65535: any). */
typedef struct egress_rule {
    struct in_addr addr;
    int prefix;
    int port_lo, port_hi;
} egress_rule_t;
enum { EGRESS_ALLOW_MAX = 64, EGRESS_RULE_TEXT_MAX = 48 };

/* egress_rule.c. "10.1.2.3", "10.0.0.0/8", "10.1.2.3:5432",
 * "192.168.0.0/16:80": 0, or -1 with why (names are refused: their
 * addresses change under the rule). */
int egress_rule_parse(const char *text, egress_rule_t *r, char *err, size_t errlen);
/* A list of them, none overlapping another (an nftables interval set
 * refuses that): 0, or -1 with why. */
int egress_rules_parse_list(const char *const *texts, int n, egress_rule_t *rules, char *err, size_t errlen);
bool egress_rules_overlap(const egress_rule_t *a, const egress_rule_t *b);
/* "10.0.0.0/8 . 0-65535", as the table's sets write a rule. */
void egress_rule_text(const egress_rule_t *r, char *out, size_t len);
/* "a.b.c.d[/n]" in place: the address with host bits cleared and the
 * prefix; -1 when it is not one. */
int egress_parse_cidr(char *text, struct in_addr *addr, int *prefix);
void egress_prefix_mask(int prefix, struct in_addr *mask);

typedef struct egress_opts {
    const char *subnet;      /* the sandboxes' addresses, CIDR (/16 to /24); NULL: 10.201.0.0/16 */
    const char *allow;       /* --egress-allow: rules, comma-separated, for every function; NULL */
    const char *resolv_conf; /* where the host's resolvers are read from; NULL: /etc/resolv.conf */
    int64_t rate_bytes;      /* per function and direction, bytes/s; 0: the default */
    int conns;               /* per function, connections at once; 0: the default */
} egress_opts_t;
enum { EGRESS_RATE_DEFAULT = 100 * 1000 * 1000 / 8, EGRESS_CONNS_DEFAULT = 256 };

/* At start, from the host's network namespace: takes this namespace's egress
 * lock, removes a table a killed daemon left, and reads the resolvers. When
 * something is missing (privileges, nf_tables, the lock held by another
 * daemon) egress is not available and egress_why says why; the daemon runs
 * on. Returns 0 when available, -1 when not, -2 when opts are wrong (err). */
int egress_init(struct event_base *base, const egress_opts_t *opts, char *err, size_t errlen);
bool egress_available(void);
/* Egress is off on this daemon, for why (instead of egress_init). */
void egress_refuse(const char *why);
const char *egress_why(void);
/* The resolv.conf every namespace sandbox gets ("" without egress). */
const char *egress_resolv_conf(void);
/* Deletes the table and stops the forwarder; puts ip_forward back. */
void egress_shutdown(void);

/* A function's rules: makes the table on first use and adds the function's
 * allowed destinations under a new interface group. Returns the group (> 0),
 * or 0 with err. */
uint32_t egress_group_open(const egress_rule_t *allow, int n, char *err, size_t errlen);
/* Its rules go (its instances' meters expire by themselves). */
void egress_group_close(uint32_t group);

/* One sandbox's link: its addresses and host end name. */
typedef struct egress_lease {
    bool held;
    int pair;
    link_spec_t link;
} egress_lease_t;
/* Reserves addresses and a name for a sandbox of group: 0, or -1 when the
 * subnet is full. */
int egress_lease_take(uint32_t group, egress_lease_t *l);
/* Makes the link into the network namespace of pid (a sandbox's init): 0 or
 * -errno. */
int egress_lease_attach(egress_lease_t *l, pid_t pid);
/* Makes a microVM's link, a tap device: its fd (QEMU's NIC backend), or
 * -errno. */
int egress_lease_tap(egress_lease_t *l);
/* After the sandbox is gone (its namespace takes the pair with it). */
void egress_lease_release(egress_lease_t *l);
