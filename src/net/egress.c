/* Egress (egress.h): the daemon's table `inet impuls`, its lifecycle and
 * the sandboxes' leases of addresses. */
#include "net/egress.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <jansson.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>
#include <nftables/libnftables.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "net/dns_forward.h"
#include "util/log.h"
#include "util/util.h"

#define TABLE "inet impuls"
#define LINK_PREFIX "imp-" /* host ends: imp-<8 hex> */
#define LOCK_DIR "/run/impuls"
enum { RESOLVERS_MAX = 3, DNS_QUERIES_PER_S = 500 };

/* A function's elements in the allow set, kept to delete them again (and
 * to put them back into a table made anew). */
typedef struct group_rules {
    uint32_t group;
    char *elements; /* "{ g . cidr . lo-hi, … }", or NULL when it has none */
    struct group_rules *next;
} group_rules_t;

static struct {
    bool available;
    char why[256];
    struct event_base *base;
    int lock_fd;
    struct nft_ctx *nft;
    struct in_addr subnet, mask, dns_addr;
    int prefix, pairs, cursor;
    unsigned char *in_use; /* per pair */
    uint32_t next_link, next_group;
    egress_rule_t allow[EGRESS_ALLOW_MAX];
    int n_allow;
    struct in_addr resolvers[RESOLVERS_MAX];
    int n_resolvers;
    bool forwarder; /* the host's resolver is on its loopback or one of its addresses */
    char resolv_conf[256];
    int64_t rate;
    int conns;
    bool table_made;
    bool forward_ours; /* ip_forward was off until Impuls turned it on */
    int dns_port;      /* the forwarder's, or 0 */
    int watch_fd;      /* nftables' events: the table deleted under us */
    struct event *watch_ev;
    group_rules_t *groups;
} E = {.lock_fd = -1, .watch_fd = -1};

static int nft_run(const char *cmd, char *err, size_t errlen)
{
    if (nft_run_cmd_from_buffer(E.nft, cmd) == 0)
        return 0;
    const char *e = nft_ctx_get_error_buffer(E.nft);
    snprintf(err, errlen, "nftables: %s", e && *e ? e : "failed");
    /* One line is enough for a log and an API error. */
    char *nl = strchr(err, '\n');
    if (nl)
        *nl = '\0';
    return -1;
}

static void unavailable(const char *fmt, const char *detail)
{
    E.available = false;
    snprintf(E.why, sizeof E.why, fmt, detail);
    log_info("egress: not available: %s", E.why);
}

/* The lock of this network namespace's egress table: one daemon per
 * namespace owns `inet impuls`. An abstract Unix socket's name belongs to
 * the network namespace (not to a file system a container may not share)
 * and goes with the process that holds it, kill -9 included. */
static int take_lock(void)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    static const char name[] = "\0impuls-egress";
    memcpy(a.sun_path, name, sizeof name - 1);
    if (fd < 0 ||
        bind(fd, (struct sockaddr *)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + sizeof name - 1)) < 0) {
        int saved = errno;
        if (fd >= 0)
            close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

/* Where a daemon notes that ip_forward was off before Impuls turned it on,
 * so that its successors (after a kill -9 too) keep the host from routing
 * anything but the sandboxes' traffic (ruleset_text). */
static void forward_marker(char *path, size_t len)
{
    struct stat st;
    snprintf(path, len, LOCK_DIR "/forward-%llu",
             stat("/proc/self/ns/net", &st) == 0 ? (unsigned long long)st.st_ino : 0ULL);
}

static char read_forward(void)
{
    char c = 0;
    int fd = open("/proc/sys/net/ipv4/ip_forward", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (read(fd, &c, 1) != 1)
            c = 0;
        close(fd);
    }
    return c;
}

/* Whether a is one of this host's addresses (any interface). */
static bool host_address(struct in_addr a)
{
    struct ifaddrs *ifs;
    bool found = false;
    if (getifaddrs(&ifs) < 0)
        return false;
    for (struct ifaddrs *i = ifs; i && !found; i = i->ifa_next)
        found = i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
                ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr == a.s_addr;
    freeifaddrs(ifs);
    return found;
}

/* The host's IPv4 resolvers. One the sandboxes cannot reach as it is (on
 * the loopback, or an address of the host's own, where the input hook
 * refuses them) means the forwarder at the subnet's DNS address. */
static void read_resolvers(const char *path)
{
    size_t len;
    char *text = read_file(path, 64 * 1024, &len);
    if (!text) {
        log_info("egress: cannot read %s: sandboxes get no resolver", path);
        return;
    }
    bool forwarder = false;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char addr[64];
        struct in_addr a;
        if (sscanf(line, " nameserver %63s", addr) != 1 || inet_pton(AF_INET, addr, &a) != 1 ||
            E.n_resolvers == RESOLVERS_MAX)
            continue; /* IPv6 resolvers are not reachable from a sandbox */
        forwarder |= (ntohl(a.s_addr) >> 24) == 127 || host_address(a);
        E.resolvers[E.n_resolvers++] = a;
    }
    free(text);
    E.forwarder = forwarder;
    size_t used = 0;
    for (int i = 0; i < (E.forwarder ? 1 : E.n_resolvers); i++) {
        char a[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, E.forwarder ? &E.dns_addr : &E.resolvers[i], a, sizeof a);
        used += (size_t)snprintf(E.resolv_conf + used, sizeof E.resolv_conf - used, "nameserver %s\n", a);
    }
}

static int parse_opts(const egress_opts_t *o, char *err, size_t errlen)
{
    char subnet[64];
    snprintf(subnet, sizeof subnet, "%s", o->subnet ? o->subnet : "10.201.0.0/16");
    if (egress_parse_cidr(subnet, &E.subnet, &E.prefix) < 0 || E.prefix < 16 || E.prefix > 24) {
        snprintf(err, errlen, "--egress-subnet must be an IPv4 CIDR from /16 to /24");
        return -1;
    }
    egress_prefix_mask(E.prefix, &E.mask);
    uint32_t size = 1u << (32 - E.prefix);
    E.pairs = (int)(size / 2) - 1; /* the last pair holds the DNS address */
    E.dns_addr.s_addr = htonl(ntohl(E.subnet.s_addr) + size - 2);
    E.rate = o->rate_bytes > 0 ? o->rate_bytes : EGRESS_RATE_DEFAULT;
    E.conns = o->conns > 0 ? o->conns : EGRESS_CONNS_DEFAULT;
    E.n_allow = 0;
    if (!o->allow || !*o->allow)
        return 0;
    char *list = strdup(o->allow), *save = NULL;
    const char *texts[EGRESS_ALLOW_MAX + 1];
    int n = 0;
    for (char *t = strtok_r(list, ",", &save); t && n <= EGRESS_ALLOW_MAX; t = strtok_r(NULL, ",", &save))
        texts[n++] = t;
    char why[256];
    int rc = egress_rules_parse_list(texts, n, E.allow, why, sizeof why);
    free(list);
    if (rc < 0) {
        snprintf(err, errlen, "--egress-allow: %s", why);
        return -1;
    }
    E.n_allow = n;
    return 0;
}

int egress_init(struct event_base *base, const egress_opts_t *opts, char *err, size_t errlen)
{
    E.base = base;
    if (parse_opts(opts, err, errlen) < 0)
        return -2;
    E.lock_fd = take_lock();
    if (E.lock_fd < 0) {
        unavailable(errno == EADDRINUSE ? "another Impuls daemon manages egress in this network namespace%s"
                                        : "cannot take the egress lock: %s",
                    errno == EADDRINUSE ? "" : strerror(errno));
        return -1;
    }
    E.nft = nft_ctx_new(NFT_CTX_DEFAULT);
    if (!E.nft) {
        unavailable("%s", "libnftables cannot start");
        return -1;
    }
    nft_ctx_buffer_output(E.nft);
    nft_ctx_buffer_error(E.nft);
    /* In one transaction: proves nf_tables and the privilege to change it,
     * and removes what a killed daemon left. */
    char why[256];
    if (nft_run("add table " TABLE "\ndelete table " TABLE "\n", why, sizeof why) < 0) {
        unavailable("%s", why);
        return -1;
    }
    char marker[128];
    forward_marker(marker, sizeof marker);
    E.forward_ours = path_exists(marker);
    /* Routing needs ip_forward; where it is off, it must be ours to turn on
     * (a container's /proc/sys is read-only: compose.yaml sets it). */
    if (read_forward() != '1') {
        int fd = open("/proc/sys/net/ipv4/ip_forward", O_WRONLY | O_CLOEXEC);
        if (fd < 0) {
            unavailable("net.ipv4.ip_forward is off and cannot be turned on: %s", strerror(errno));
            return -1;
        }
        close(fd);
    }
    E.in_use = calloc((size_t)E.pairs, 1);
    if (!E.in_use) {
        unavailable("%s", "out of memory");
        return -1;
    }
    read_resolvers(opts->resolv_conf ? opts->resolv_conf : "/etc/resolv.conf");
    /* Names no pair a killed daemon left mid-teardown has. */
    E.next_link = (uint32_t)(now_ms() ^ ((uint64_t)getpid() << 16));
    E.available = true;
    return 0;
}

bool egress_available(void) { return E.available; }

void egress_refuse(const char *why)
{
    E.available = false;
    snprintf(E.why, sizeof E.why, "%s", why);
}

const char *egress_why(void) { return E.why; }
const char *egress_resolv_conf(void) { return E.available ? E.resolv_conf : ""; }

static void elements_of(const egress_rule_t *rules, int n, const char *prefix, char *out, size_t len)
{
    size_t used = (size_t)snprintf(out, len, "{ ");
    for (int i = 0; i < n && used < len; i++) {
        char r[96];
        egress_rule_text(&rules[i], r, sizeof r);
        used += (size_t)snprintf(out + used, len - used, "%s%s%s", i ? ", " : "", prefix, r);
    }
    if (used < len)
        snprintf(out + used, len - used, " }");
}

/* Another table's forward chain that drops by policy (Docker's filter
 * FORWARD) drops the sandboxes' traffic too: nftables runs every table's
 * chain at a hook. Said in the log, for the operator (docs/security.md). */
static void warn_of_dropping_forward_chains(void)
{
    nft_ctx_output_set_flags(E.nft, NFT_CTX_OUTPUT_JSON);
    int rc = nft_run_cmd_from_buffer(E.nft, "list chains");
    nft_ctx_output_set_flags(E.nft, 0);
    json_t *j = rc == 0 ? json_loads(nft_ctx_get_output_buffer(E.nft), 0, NULL) : NULL;
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(j, "nftables"), i, item)
    {
        json_t *chain = json_object_get(item, "chain");
        const char *hook = json_string_value(json_object_get(chain, "hook"));
        const char *policy = json_string_value(json_object_get(chain, "policy"));
        const char *table = json_string_value(json_object_get(chain, "table"));
        if (hook && policy && table && !strcmp(hook, "forward") && !strcmp(policy, "drop") && strcmp(table, "impuls"))
            log_warn("egress: table %s %s drops forwarded packets by policy (Docker's?): sandboxes' egress is "
                     "dropped there too unless it lets imp-* through (docs/security.md, Known limits)",
                     json_string_value(json_object_get(chain, "family")), table);
    }
    json_decref(j);
}

/* The table, and the functions' elements that it holds. See egress.h for
 * what each part is for. */
static char *ruleset_text(void)
{
    char subnet[INET_ADDRSTRLEN], dns[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &E.subnet, subnet, sizeof subnet);
    inet_ntop(AF_INET, &E.dns_addr, dns, sizeof dns);
    char resolvers[128] = "", operator_allow[EGRESS_ALLOW_MAX * 72] = "", dns_rules[1024] = "";
    if (!E.forwarder && E.n_resolvers) {
        size_t used = (size_t)snprintf(resolvers, sizeof resolvers, "elements = { ");
        for (int i = 0; i < E.n_resolvers; i++) {
            char a[INET_ADDRSTRLEN];
            inet_ntop(AF_INET, &E.resolvers[i], a, sizeof a);
            used += (size_t)snprintf(resolvers + used, sizeof resolvers - used, "%s%s", i ? ", " : "", a);
        }
        snprintf(resolvers + used, sizeof resolvers - used, " }");
    }
    if (E.n_allow) {
        char el[sizeof operator_allow - 16];
        elements_of(E.allow, E.n_allow, "", el, sizeof el);
        snprintf(operator_allow, sizeof operator_allow, "elements = %s", el);
    }
    if (E.dns_port)
        snprintf(dns_rules, sizeof dns_rules,
                 " set dns_rate { typeof meta iifgroup; flags dynamic; timeout 1m; size 65536; }\n"
                 " chain dns_redirect { type nat hook prerouting priority dstnat; policy accept;\n"
                 "  iifname \"" LINK_PREFIX "*\" ip daddr %s udp dport 53 redirect to :%d;\n }\n"
                 /* The forwarder listens on every address: only the sandboxes' redirected
                  * queries reach it, at most DNS_QUERIES_PER_S per function. */
                 " chain host_input_dns {\n"
                 "  udp dport %d ct status dnat update @dns_rate { meta iifgroup limit rate over %d/second "
                 "burst %d packets } drop\n"
                 "  udp dport %d ct status dnat accept;\n }\n"
                 " chain dns_port { type filter hook input priority filter - 1; policy accept;\n"
                 "  iifname != \"" LINK_PREFIX "*\" udp dport %d drop;\n }\n",
                 dns, E.dns_port, E.dns_port, DNS_QUERIES_PER_S, DNS_QUERIES_PER_S, E.dns_port, E.dns_port);
    else
        snprintf(dns_rules, sizeof dns_rules, " chain host_input_dns {\n }\n");
    size_t len = 8192;
    for (group_rules_t *g = E.groups; g; g = g->next)
        len += g->elements ? strlen(g->elements) + 64 : 0;
    char *text = malloc(len);
    if (!text)
        return NULL;
    size_t used = (size_t)snprintf(
        text, len,
        "table " TABLE " {\n"
        " set resolvers4 { type ipv4_addr; %s\n }\n"
        " set operator_allow4 { typeof ip daddr . th dport; flags interval; %s\n }\n"
        " set allow4 { typeof meta iifgroup . ip daddr . th dport; flags interval; }\n"
        " set rate_up { typeof meta iifgroup; flags dynamic; timeout 1m; size 65536; }\n"
        " set rate_down { typeof meta oifgroup; flags dynamic; timeout 1m; size 65536; }\n"
        " set conns { typeof meta iifgroup; flags dynamic; size 65536; }\n"
        " chain routed { type filter hook forward priority filter; policy accept;\n"
        /* Where ip_forward is on only for the sandboxes, the host routes nothing else. */
        "%s"
        /* What goes into a sandbox: answers to what it opened, at its rate. */
        "  oifname \"" LINK_PREFIX "*\" ct state established,related update @rate_down "
        "{ meta oifgroup limit rate over %lld bytes/second } drop\n"
        "  oifname \"" LINK_PREFIX "*\" ct state established,related accept\n"
        "  oifname \"" LINK_PREFIX "*\" reject with icmpx admin-prohibited\n"
        "  iifname \"" LINK_PREFIX "*\" jump from_sandbox;\n }\n"
        " chain from_sandbox {\n"
        "  update @rate_up { meta iifgroup limit rate over %lld bytes/second } drop\n"
        "  ct state established,related accept\n"
        "  meta nfproto ipv6 reject with icmpx admin-prohibited\n"
        "  ct state new add @conns { meta iifgroup ct count over %d } reject with icmpx admin-prohibited\n"
        "  meta l4proto { tcp, udp } th dport 53 ip daddr @resolvers4 accept\n"
        "  meta l4proto { tcp, udp } ip daddr . th dport @operator_allow4 accept\n"
        "  meta l4proto { tcp, udp } meta iifgroup . ip daddr . th dport @allow4 accept\n"
        "  ip daddr { 0.0.0.0/8, 10.0.0.0/8, 100.64.0.0/10, 127.0.0.0/8, 168.63.129.16, 169.254.0.0/16,"
        " 172.16.0.0/12, 192.0.0.0/24, 192.168.0.0/16, 198.18.0.0/15, 224.0.0.0/3 }"
        " reject with icmpx admin-prohibited\n"
        "  accept;\n }\n"
        "%s"
        /* The host itself: only the DNS forwarder's redirected queries. */
        " chain host_input { type filter hook input priority filter; policy accept;\n"
        "  iifname \"" LINK_PREFIX "*\" jump from_sandbox_to_host;\n }\n"
        " chain from_sandbox_to_host { jump host_input_dns\n"
        "  reject with icmpx admin-prohibited;\n }\n"
        /* Nor does the host's own side open anything into a sandbox. */
        " chain host_output { type filter hook output priority filter; policy accept;\n"
        "  oifname \"" LINK_PREFIX "*\" ct state new reject with icmpx admin-prohibited;\n }\n"
        " chain nat_out { type nat hook postrouting priority srcnat; policy accept;\n"
        "  ip saddr %s/%d oifname != \"" LINK_PREFIX "*\" masquerade;\n }\n"
        "}\n",
        resolvers, operator_allow,
        E.forward_ours ? "  iifname != \"" LINK_PREFIX "*\" oifname != \"" LINK_PREFIX "*\" drop\n" : "",
        (long long)E.rate, (long long)E.rate, E.conns, dns_rules, subnet, E.prefix);
    for (group_rules_t *g = E.groups; g && used < len; g = g->next)
        if (g->elements)
            used += (size_t)snprintf(text + used, len - used, "add element " TABLE " allow4 %s\n", g->elements);
    return text;
}

static int load_table(char *err, size_t errlen)
{
    char *text = ruleset_text();
    if (!text) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = nft_run(text, err, errlen);
    free(text);
    return rc;
}

/* A deleted table (`nft flush ruleset`, a firewall's reload) would leave
 * the sandboxes' links routed with no policy at all: as soon as nftables
 * says a table went, ours is made again, with every function's elements. */
static void on_nft_event(evutil_socket_t fd, short what, void *arg)
{
    char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
    bool deleted = false;
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0) {
            deleted |= errno == ENOBUFS; /* events lost: look */
            if (errno == EINTR || errno == ENOBUFS)
                continue;
            break;
        }
        for (struct nlmsghdr *m = (struct nlmsghdr *)buf; NLMSG_OK(m, (size_t)n); m = NLMSG_NEXT(m, n))
            deleted |= NFNL_SUBSYS_ID(m->nlmsg_type) == NFNL_SUBSYS_NFTABLES &&
                       NFNL_MSG_TYPE(m->nlmsg_type) == NFT_MSG_DELTABLE;
    }
    char err[256];
    if (!deleted || !E.table_made || nft_run("list table " TABLE "\n", err, sizeof err) == 0)
        return;
    log_warn("egress: table %s was deleted by someone else: made again", TABLE);
    if (load_table(err, sizeof err) < 0)
        log_error("egress: cannot make table %s again: %s", TABLE, err);
}

static void start_watch(void)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_NETFILTER);
    struct sockaddr_nl a = {.nl_family = AF_NETLINK, .nl_groups = 1u << (NFNLGRP_NFTABLES - 1)};
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        log_error("egress: cannot watch nftables for the table's deletion: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return;
    }
    E.watch_fd = fd;
    E.watch_ev = event_new(E.base, fd, EV_READ | EV_PERSIST, on_nft_event, NULL);
    event_add(E.watch_ev, NULL);
}

/* Turns ip_forward on where it is off, and notes that the host's routing
 * is then Impuls's doing (forward_marker). */
static int forward_on(char *err, size_t errlen)
{
    if (read_forward() == '1')
        return 0;
    int fd = open("/proc/sys/net/ipv4/ip_forward", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "1", 1) != 1) {
        snprintf(err, errlen, "cannot turn on ip_forward: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    char marker[128];
    forward_marker(marker, sizeof marker);
    if (mkdir_p(LOCK_DIR, 0755) < 0 || write_file_atomic(marker, "1\n", 2, 0644) < 0)
        log_error("egress: cannot note that ip_forward is Impuls's in %s", marker);
    E.forward_ours = true;
    return 0;
}

/* The table, made on first use: the forwarder first (its port is in the
 * rules), ip_forward, the rules, the watch. */
static int make_table(char *err, size_t errlen)
{
    if (E.forwarder && !E.dns_port) {
        int port = dns_forward_start(E.base, E.resolvers, E.n_resolvers, E.subnet, E.mask, err, errlen);
        if (port < 0)
            return -1;
        E.dns_port = port;
    }
    if (forward_on(err, errlen) < 0 || load_table(err, errlen) < 0)
        return -1;
    E.table_made = true;
    if (E.watch_fd < 0)
        start_watch();
    warn_of_dropping_forward_chains();
    char subnet[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &E.subnet, subnet, sizeof subnet);
    log_info("egress: table %s made (sandboxes in %s/%d, DNS %s)", TABLE, subnet, E.prefix,
             E.forwarder ? "through the daemon's forwarder" : E.n_resolvers ? "the host's resolvers" : "none");
    return 0;
}

uint32_t egress_group_open(const egress_rule_t *allow, int n, char *err, size_t errlen)
{
    if (!E.available) {
        snprintf(err, errlen, "egress is not available on this daemon: %s", E.why);
        return 0;
    }
    if (!E.table_made && make_table(err, errlen) < 0)
        return 0;
    uint32_t group = ++E.next_group;
    char *elements = NULL;
    if (n > 0) {
        char prefix[16];
        snprintf(prefix, sizeof prefix, "%u . ", group);
        size_t len = (size_t)n * 96 + 8;
        char *cmd = NULL;
        elements = malloc(len);
        if (elements)
            elements_of(allow, n, prefix, elements, len);
        if (!elements || asprintf(&cmd, "add element " TABLE " allow4 %s\n", elements) < 0 ||
            nft_run(cmd, err, errlen) < 0) {
            if (!elements)
                snprintf(err, errlen, "out of memory");
            free(cmd);
            free(elements);
            return 0;
        }
        free(cmd);
    }
    group_rules_t *g = malloc(sizeof *g);
    if (!g) {
        free(elements);
        snprintf(err, errlen, "out of memory");
        return 0;
    }
    *g = (group_rules_t){.group = group, .elements = elements, .next = E.groups};
    E.groups = g;
    return group;
}

void egress_group_close(uint32_t group)
{
    for (group_rules_t **p = &E.groups; *p; p = &(*p)->next) {
        group_rules_t *g = *p;
        if (g->group != group)
            continue;
        if (g->elements && E.table_made) {
            char *cmd = NULL, err[256];
            if (asprintf(&cmd, "delete element " TABLE " allow4 %s\n", g->elements) >= 0 &&
                nft_run(cmd, err, sizeof err) < 0)
                log_error("egress: group %u: %s", group, err);
            free(cmd);
        }
        *p = g->next;
        free(g->elements);
        free(g);
        return;
    }
}

int egress_lease_take(uint32_t group, egress_lease_t *l)
{
    for (int i = 0; i < E.pairs; i++) {
        int pair = (E.cursor + i) % E.pairs;
        if (E.in_use[pair])
            continue;
        /* Round the subnet: an address comes back only after all the others,
         * long after the kernel tore down the namespace that last had it. */
        E.cursor = (pair + 1) % E.pairs;
        E.in_use[pair] = 1;
        uint32_t host = ntohl(E.subnet.s_addr) + 2 * (uint32_t)pair;
        *l = (egress_lease_t){.held = true, .pair = pair};
        l->link.group = group;
        l->link.host_ip.s_addr = htonl(host);
        l->link.inner_ip.s_addr = htonl(host + 1);
        return 0;
    }
    return -1;
}

/* A name of its own each time: a sandbox given up after its link was made
 * keeps that name until its namespace is torn down. */
static void name_link(egress_lease_t *l)
{
    snprintf(l->link.host_name, sizeof l->link.host_name, LINK_PREFIX "%08x", E.next_link++);
}

int egress_lease_attach(egress_lease_t *l, pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/net", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    name_link(l);
    int rc = veth_attach(&l->link, fd);
    close(fd);
    return rc;
}

int egress_lease_tap(egress_lease_t *l)
{
    name_link(l);
    return tap_open(&l->link);
}

void egress_lease_release(egress_lease_t *l)
{
    if (!l->held)
        return;
    E.in_use[l->pair] = 0;
    l->held = false;
}

void egress_shutdown(void)
{
    if (E.watch_ev)
        event_free(E.watch_ev);
    E.watch_ev = NULL;
    if (E.watch_fd >= 0)
        close(E.watch_fd);
    E.watch_fd = -1;
    if (E.table_made) {
        E.table_made = false;
        char err[256];
        if (nft_run("delete table " TABLE "\n", err, sizeof err) < 0)
            log_error("egress: %s", err);
    }
    if (E.dns_port)
        dns_forward_stop();
    E.dns_port = 0;
    while (E.groups) {
        group_rules_t *g = E.groups;
        E.groups = g->next;
        free(g->elements);
        free(g);
    }
    if (E.nft)
        nft_ctx_free(E.nft);
    E.nft = NULL;
    if (E.lock_fd >= 0)
        close(E.lock_fd);
    E.lock_fd = -1;
    free(E.in_use);
    E.in_use = NULL;
    E.available = false;
}
