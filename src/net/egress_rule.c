/* egress_allow's entries (egress.h): parsed, compared, and written as the
 * egress table's sets take them. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/egress.h"

void egress_prefix_mask(int prefix, struct in_addr *mask)
{
    mask->s_addr = prefix ? htonl(~0u << (32 - prefix)) : 0;
}

int egress_parse_cidr(char *text, struct in_addr *addr, int *prefix)
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
    egress_prefix_mask(*prefix, &m);
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
    if (egress_parse_cidr(buf, &r->addr, &r->prefix) < 0) {
        snprintf(err, errlen,
                 has_letter ? "egress_allow entry %.48s is a name: give IPv4 addresses or CIDRs (a name's "
                              "addresses change under a rule)"
                            : "egress_allow entry %.48s is not an IPv4 address or CIDR (with an optional :port)",
                 text);
        return -1;
    }
    return 0;
}

bool egress_rules_overlap(const egress_rule_t *a, const egress_rule_t *b)
{
    struct in_addr m;
    egress_prefix_mask(a->prefix < b->prefix ? a->prefix : b->prefix, &m);
    return (a->addr.s_addr & m.s_addr) == (b->addr.s_addr & m.s_addr) && a->port_lo <= b->port_hi &&
           b->port_lo <= a->port_hi;
}

int egress_rules_parse_list(const char *const *texts, int n, egress_rule_t *rules, char *err, size_t errlen)
{
    if (n > EGRESS_ALLOW_MAX) {
        snprintf(err, errlen, "at most %d egress_allow entries", EGRESS_ALLOW_MAX);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        if (egress_rule_parse(texts[i], &rules[i], err, errlen) < 0)
            return -1;
        /* nftables keeps a set's intervals apart: one that meets another is refused. */
        for (int j = 0; j < i; j++)
            if (egress_rules_overlap(&rules[i], &rules[j])) {
                snprintf(err, errlen, "egress_allow entries %.48s and %.48s overlap: give one that covers both",
                         texts[j], texts[i]);
                return -1;
            }
    }
    return 0;
}

void egress_rule_text(const egress_rule_t *r, char *out, size_t len)
{
    char a[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &r->addr, a, sizeof a);
    snprintf(out, len, "%s/%d . %d-%d", a, r->prefix, r->port_lo, r->port_hi);
}
