#include "net/egress.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/dns_forward.h"
#include "util/log.h"
#include "util/util.h"

#define TABLE "inet impuls"
#define LINK_PREFIX "imp-" /* host ends: imp-<8 hex> */
#define LOCK_DIR "/run/impuls"
enum { RESOLVERS_MAX = 3 };

/* A function's elements in the allow set, kept to delete them again. */
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
    bool forwarder; /* the host's resolver is on its loopback */
    char resolv_conf[256];
    int64_t rate;
    int conns;
    bool table_made;
    char old_forward; /* ip_forward before the table, '0' or '1'; 0: untouched */
    group_rules_t *groups;
} E = {.lock_fd = -1};

static void prefix_to_mask(int prefix, struct in_addr *mask)
{
    mask->s_addr = prefix ? htonl(~0u << (32 - prefix)) : 0;
}

/* "a.b.c.d" or "a.b.c.d/n": addr and prefix, host bits cleared. */
static int parse_cidr(char *text, struct in_addr *addr, int *prefix)
{
    char *slash = strchr(text, '/');
    *prefix = 32;
    if (slash) {
        *slash = '\0';
        char *end;
        long p = strtol(slash + 1, &end, 10);
        if (!isdigit((unsigned char)slash[1]) || *end || p < 0 || p > 32)
            return -1;
        *prefix = (int)p;
    }
    if (inet_pton(AF_INET, text, addr) != 1)
        return -1;
    struct in_addr m;
    prefix_to_mask(*prefix, &m);
    addr->s_addr &= m.s_addr;
    return 0;
}

int egress_rule_parse(const char *text, egress_rule_t *r, char *err, size_t errlen)
{
    char buf[EGRESS_RULE_TEXT_MAX + 1];
    size_t len = strlen(text);
    if (len == 0 || len > EGRESS_RULE_TEXT_MAX) {
        snprintf(err, errlen, "an egress_allow entry is an IPv4 address or CIDR with an optional :port, "
                              "at most %d characters", EGRESS_RULE_TEXT_MAX);
        return -1;
    }
    memcpy(buf, text, len + 1);
    if (strchr(buf, ':') != strrchr(buf, ':')) {
        snprintf(err, errlen, "egress_allow entry %.48s is IPv6: egress is IPv4 only", text);
        return -1;
    }
    r->port_lo = 0;
    r->port_hi = 65535;
    char *colon = strchr(buf, ':');
    if (colon) {
        *colon = '\0';
        char *end;
        long port = strtol(colon + 1, &end, 10);
        if (!isdigit((unsigned char)colon[1]) || *end || port < 1 || port > 65535) {
            snprintf(err, errlen, "egress_allow entry %.48s: the port must be 1-65535", text);
            return -1;
        }
        r->port_lo = r->port_hi = (int)port;
    }
    bool has_letter = false;
    for (const char *p = buf; *p; p++)
        has_letter |= isalpha((unsigned char)*p) != 0;
    if (parse_cidr(buf, &r->addr, &r->prefix) < 0) {
        snprintf(err, errlen,
                 has_letter ? "egress_allow entry %.48s is a name: give IPv4 addresses or CIDRs (a name's "
                              "addresses change under a rule)"
                            : "egress_allow entry %.48s is not an IPv4 address or CIDR (with an optional :port)",
                 text);
        return -1;
    }
    return 0;
}

/* "cidr . lo-hi" of a rule, as the sets write it. */
static void rule_text(const egress_rule_t *r, char *out, size_t len)
{
    char a[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &r->addr, a, sizeof a);
    snprintf(out, len, "%s/%d . %d-%d", a, r->prefix, r->port_lo, r->port_hi);
}

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
 * namespace owns `inet impuls`. The file also keeps ip_forward's value from
 * before the table, for the next start after a kill -9 to put back. */
static int take_lock(void)
{
    struct stat st;
    char path[128];
    if (stat("/proc/self/ns/net", &st) < 0 || mkdir_p(LOCK_DIR, 0755) < 0)
        return -1;
    snprintf(path, sizeof path, LOCK_DIR "/egress-%llu.lock", (unsigned long long)st.st_ino);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

static int read_forward(void)
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

static int write_forward(char c)
{
    int fd = open("/proc/sys/net/ipv4/ip_forward", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = write(fd, &c, 1) == 1 ? 0 : -1;
    close(fd);
    return rc;
}

/* What the lock file says a killed daemon changed: put it back. */
static void undo_killed_daemon(void)
{
    char c = 0;
    if (pread(E.lock_fd, &c, 1, 0) == 1 && (c == '0' || c == '1') && c != read_forward()) {
        write_forward(c);
        log_info("egress: ip_forward back to %c, as before a daemon that was killed", c);
    }
    if (ftruncate(E.lock_fd, 0) < 0)
        log_error("egress: cannot clear the lock file: %s", strerror(errno));
}

static void read_resolvers(const char *path)
{
    size_t len;
    char *text = read_file(path, 64 * 1024, &len);
    if (!text) {
        log_info("egress: cannot read %s: sandboxes get no resolver", path);
        return;
    }
    bool loopback = false;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char addr[64];
        struct in_addr a;
        if (sscanf(line, " nameserver %63s", addr) != 1 || inet_pton(AF_INET, addr, &a) != 1 ||
            E.n_resolvers == RESOLVERS_MAX)
            continue; /* IPv6 resolvers are not reachable from a sandbox */
        loopback |= (ntohl(a.s_addr) >> 24) == 127;
        E.resolvers[E.n_resolvers++] = a;
    }
    free(text);
    E.forwarder = loopback;
    char *p = E.resolv_conf;
    size_t left = sizeof E.resolv_conf;
    for (int i = 0; i < (E.forwarder ? 1 : E.n_resolvers); i++) {
        char a[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, E.forwarder ? &E.dns_addr : &E.resolvers[i], a, sizeof a);
        int n = snprintf(p, left, "nameserver %s\n", a);
        p += n;
        left -= (size_t)n;
    }
}

static int parse_opts(const egress_opts_t *o, char *err, size_t errlen)
{
    char subnet[64];
    snprintf(subnet, sizeof subnet, "%s", o->subnet ? o->subnet : "10.201.0.0/16");
    if (parse_cidr(subnet, &E.subnet, &E.prefix) < 0 || E.prefix < 16 || E.prefix > 24) {
        snprintf(err, errlen, "--egress-subnet must be an IPv4 CIDR from /16 to /24");
        return -1;
    }
    prefix_to_mask(E.prefix, &E.mask);
    uint32_t size = 1u << (32 - E.prefix);
    E.pairs = (int)(size / 2) - 1; /* the last pair holds the DNS address */
    E.dns_addr.s_addr = htonl(ntohl(E.subnet.s_addr) + size - 2);
    E.rate = o->rate_bytes > 0 ? o->rate_bytes : EGRESS_RATE_DEFAULT;
    E.conns = o->conns > 0 ? o->conns : EGRESS_CONNS_DEFAULT;
    E.n_allow = 0;
    if (o->allow && *o->allow) {
        char *list = strdup(o->allow), *save = NULL;
        for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            if (E.n_allow == EGRESS_ALLOW_MAX || egress_rule_parse(t, &E.allow[E.n_allow++], err, errlen) < 0) {
                if (E.n_allow == EGRESS_ALLOW_MAX)
                    snprintf(err, errlen, "--egress-allow: at most %d entries", EGRESS_ALLOW_MAX);
                free(list);
                return -1;
            }
        }
        free(list);
    }
    return 0;
}

int egress_init(struct event_base *base, const egress_opts_t *opts, char *err, size_t errlen)
{
    E.base = base;
    if (parse_opts(opts, err, errlen) < 0)
        return -2;
    E.lock_fd = take_lock();
    if (E.lock_fd < 0) {
        unavailable(errno == EWOULDBLOCK ? "another Impuls daemon manages egress in this network namespace%s"
                                         : "cannot take the egress lock under " LOCK_DIR ": %s",
                    errno == EWOULDBLOCK ? "" : strerror(errno));
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
    undo_killed_daemon();
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
    read_resolvers(opts->resolv_conf ? opts->resolv_conf : "/etc/resolv.conf");
    /* Names not used by a pair a killed daemon may have left mid-teardown. */
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
        rule_text(&rules[i], r, sizeof r);
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

/* The table, made on first use. See egress.h for what each part is for. */
static int make_table(char *err, size_t errlen)
{
    char subnet[INET_ADDRSTRLEN], dns[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &E.subnet, subnet, sizeof subnet);
    inet_ntop(AF_INET, &E.dns_addr, dns, sizeof dns);
    char resolvers[128] = "", operator_allow[64 * 72] = "", dns_rules[512] = "";
    if (!E.forwarder && E.n_resolvers) {
        strcat(resolvers, "elements = { ");
        for (int i = 0; i < E.n_resolvers; i++) {
            char a[INET_ADDRSTRLEN];
            inet_ntop(AF_INET, &E.resolvers[i], a, sizeof a);
            snprintf(resolvers + strlen(resolvers), sizeof resolvers - strlen(resolvers), "%s%s", i ? ", " : "", a);
        }
        strcat(resolvers, " }");
    }
    if (E.n_allow) {
        char el[sizeof operator_allow - 16];
        elements_of(E.allow, E.n_allow, "", el, sizeof el);
        snprintf(operator_allow, sizeof operator_allow, "elements = %s", el);
    }
    if (E.forwarder) {
        char why[256];
        int port = dns_forward_start(E.base, E.resolvers, E.n_resolvers, E.subnet, E.mask, why, sizeof why);
        if (port < 0) {
            snprintf(err, errlen, "%s", why);
            return -1;
        }
        snprintf(dns_rules, sizeof dns_rules,
                 "chain dns_redirect { type nat hook prerouting priority dstnat; policy accept;\n"
                 "  iifname \"" LINK_PREFIX "*\" ip daddr %s udp dport 53 redirect to :%d;\n }\n"
                 "chain host_input_dns { udp dport %d ct status dnat accept;\n }\n",
                 dns, port, port);
    } else {
        snprintf(dns_rules, sizeof dns_rules, "chain host_input_dns {\n}\n");
    }
    char *table = NULL;
    int n = asprintf(
        &table,
        "table " TABLE " {\n"
        " set resolvers4 { type ipv4_addr; %s\n }\n"
        " set operator_allow4 { typeof ip daddr . th dport; flags interval; %s\n }\n"
        " set allow4 { typeof meta iifgroup . ip daddr . th dport; flags interval; }\n"
        " set rate_up { typeof meta iifgroup; flags dynamic; timeout 1m; size 65536; }\n"
        " set rate_down { typeof meta oifgroup; flags dynamic; timeout 1m; size 65536; }\n"
        " set conns { typeof meta iifgroup; flags dynamic; size 65536; }\n"
        /* What goes into a sandbox: answers to what it opened, at its rate. */
        " chain routed { type filter hook forward priority filter; policy accept;\n"
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
        "  ip daddr { 0.0.0.0/8, 10.0.0.0/8, 100.64.0.0/10, 127.0.0.0/8, 169.254.0.0/16, 172.16.0.0/12,"
        " 192.168.0.0/16, 224.0.0.0/3 } reject with icmpx admin-prohibited\n"
        "  accept;\n }\n"
        /* The host itself: only the DNS forwarder's redirected queries. */
        " %s"
        " chain host_input { type filter hook input priority filter; policy accept;\n"
        "  iifname \"" LINK_PREFIX "*\" jump from_sandbox_to_host;\n }\n"
        " chain from_sandbox_to_host { jump host_input_dns\n"
        "  reject with icmpx admin-prohibited;\n }\n"
        " chain nat_out { type nat hook postrouting priority srcnat; policy accept;\n"
        "  ip saddr %s/%d oifname != \"" LINK_PREFIX "*\" masquerade;\n }\n"
        "}\n",
        resolvers, operator_allow, (long long)E.rate, (long long)E.rate,
        E.conns, dns_rules, subnet, E.prefix);
    if (n < 0)
        return -1;
    int rc = nft_run(table, err, errlen);
    free(table);
    if (rc < 0) {
        dns_forward_stop();
        return -1;
    }
    char was = (char)read_forward();
    if (was != '1') {
        if (write_forward('1') < 0) {
            snprintf(err, errlen, "cannot turn on ip_forward: %s", strerror(errno));
            char ignored[256];
            nft_run("delete table " TABLE "\n", ignored, sizeof ignored);
            dns_forward_stop();
            return -1;
        }
        E.old_forward = was;
        if (pwrite(E.lock_fd, &was, 1, 0) != 1)
            log_error("egress: cannot note ip_forward's value: %s", strerror(errno));
    }
    E.table_made = true;
    warn_of_dropping_forward_chains();
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
        elements = malloc(len);
        elements_of(allow, n, prefix, elements, len);
        char *cmd = NULL;
        if (asprintf(&cmd, "add element " TABLE " allow4 %s\n", elements) < 0 || nft_run(cmd, err, errlen) < 0) {
            free(cmd);
            free(elements);
            return 0;
        }
        free(cmd);
    }
    group_rules_t *g = malloc(sizeof *g);
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
        if (g->elements) {
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
        snprintf(l->veth.host_name, sizeof l->veth.host_name, LINK_PREFIX "%08x", E.next_link++);
        l->veth.group = group;
        l->veth.host_ip.s_addr = htonl(host);
        l->veth.inner_ip.s_addr = htonl(host + 1);
        return 0;
    }
    return -1;
}

int egress_lease_attach(const egress_lease_t *l, pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/net", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = veth_attach(&l->veth, fd);
    close(fd);
    return rc;
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
    if (E.table_made) {
        char err[256];
        if (nft_run("delete table " TABLE "\n", err, sizeof err) < 0)
            log_error("egress: %s", err);
        dns_forward_stop();
        if (E.old_forward)
            write_forward(E.old_forward);
        E.table_made = false;
    }
    while (E.groups) {
        group_rules_t *g = E.groups;
        E.groups = g->next;
        free(g->elements);
        free(g);
    }
    if (E.nft)
        nft_ctx_free(E.nft);
    E.nft = NULL;
    if (E.lock_fd >= 0) {
        if (ftruncate(E.lock_fd, 0) < 0)
            log_error("egress: cannot clear the lock file: %s", strerror(errno));
        close(E.lock_fd);
    }
    E.lock_fd = -1;
    free(E.in_use);
    E.in_use = NULL;
    E.available = false;
}
