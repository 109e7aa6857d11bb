/* The egress_allow entries (net/egress.h): what a rule may be, and the
 * rule each gives, host bits cleared. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "net/egress.h"

static void expect_rule(const char *text, const char *addr, int prefix, int lo, int hi)
{
    egress_rule_t r;
    char err[256] = "";
    assert_int_equal(egress_rule_parse(text, &r, err, sizeof err), 0);
    char got[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &r.addr, got, sizeof got);
    assert_string_equal(got, addr);
    assert_int_equal(r.prefix, prefix);
    assert_int_equal(r.port_lo, lo);
    assert_int_equal(r.port_hi, hi);
}

static void expect_refusal(const char *text, const char *message)
{
    egress_rule_t r;
    char err[256] = "";
    assert_int_equal(egress_rule_parse(text, &r, err, sizeof err), -1);
    assert_string_equal(err, message);
}

static void addresses_cidrs_and_ports(void **state)
{
    (void)state;
    expect_rule("10.1.2.3", "10.1.2.3", 32, 0, 65535);
    expect_rule("10.0.0.0/8", "10.0.0.0", 8, 0, 65535);
    expect_rule("10.1.2.3/8", "10.0.0.0", 8, 0, 65535); /* host bits go */
    expect_rule("192.168.1.20:5432", "192.168.1.20", 32, 5432, 5432);
    expect_rule("172.16.0.0/12:443", "172.16.0.0", 12, 443, 443);
    expect_rule("0.0.0.0/0", "0.0.0.0", 0, 0, 65535);
    expect_rule("1.2.3.4:65535", "1.2.3.4", 32, 65535, 65535);
}

static void what_is_refused(void **state)
{
    (void)state;
    expect_refusal("db.internal:5432", "egress_allow entry db.internal:5432 is a name: give IPv4 addresses or "
                                       "CIDRs (a name's addresses change under a rule)");
    expect_refusal("localhost", "egress_allow entry localhost is a name: give IPv4 addresses or CIDRs (a name's "
                                "addresses change under a rule)");
    expect_refusal("10.0.0.0/33", "egress_allow entry 10.0.0.0/33 is not an IPv4 address or CIDR (with an "
                                  "optional :port)");
    expect_refusal("10.0.0.0/", "egress_allow entry 10.0.0.0/ is not an IPv4 address or CIDR (with an optional "
                                ":port)");
    expect_refusal("10.0.0.0/-1", "egress_allow entry 10.0.0.0/-1 is not an IPv4 address or CIDR (with an "
                                  "optional :port)");
    expect_refusal("10.0.0/8", "egress_allow entry 10.0.0/8 is not an IPv4 address or CIDR (with an optional "
                               ":port)");
    expect_refusal("1.2.3.4:", "egress_allow entry 1.2.3.4:: the port must be 1-65535");
    expect_refusal("1.2.3.4:0", "egress_allow entry 1.2.3.4:0: the port must be 1-65535");
    expect_refusal("1.2.3.4:+80", "egress_allow entry 1.2.3.4:+80: the port must be 1-65535");
    expect_refusal("1.2.3.4:80x", "egress_allow entry 1.2.3.4:80x: the port must be 1-65535");
    expect_refusal("1.2.3.4:99999999999999999999", "egress_allow entry 1.2.3.4:99999999999999999999: the port "
                                                   "must be 1-65535");
    expect_refusal("fc00::/7", "egress_allow entry fc00::/7 is IPv6: egress is IPv4 only");
    expect_refusal("", "an egress_allow entry is an IPv4 address or CIDR with an optional :port, at most 48 "
                       "characters");
    char long_entry[50];
    memset(long_entry, '1', 49);
    long_entry[49] = '\0';
    expect_refusal(long_entry, "an egress_allow entry is an IPv4 address or CIDR with an optional :port, at most "
                               "48 characters");
}

static void overlapping_entries_are_refused(void **state)
{
    (void)state;
    egress_rule_t rules[4];
    char err[256] = "";
    const char *apart[] = {"10.0.0.0/8:80", "10.0.0.0/8:81", "192.168.1.0/24", "192.168.2.0/24"};
    assert_int_equal(egress_rules_parse_list(apart, 4, rules, err, sizeof err), 0);
    const char *inside[] = {"10.0.0.0/8", "10.1.2.3:5432"};
    assert_int_equal(egress_rules_parse_list(inside, 2, rules, err, sizeof err), -1);
    assert_string_equal(err, "egress_allow entries 10.0.0.0/8 and 10.1.2.3:5432 overlap: give one that covers both");
    const char *same[] = {"1.2.3.4", "1.2.3.4/32"};
    assert_int_equal(egress_rules_parse_list(same, 2, rules, err, sizeof err), -1);
    assert_string_equal(err, "egress_allow entries 1.2.3.4 and 1.2.3.4/32 overlap: give one that covers both");
    const char *masked[] = {"10.1.2.3/8", "10.0.0.0/8:443"};
    assert_int_equal(egress_rules_parse_list(masked, 2, rules, err, sizeof err), -1);
    const char *bad[] = {"10.0.0.0/8", "nowhere"};
    assert_int_equal(egress_rules_parse_list(bad, 2, rules, err, sizeof err), -1);
    assert_string_equal(err, "egress_allow entry nowhere is a name: give IPv4 addresses or CIDRs (a name's "
                             "addresses change under a rule)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(addresses_cidrs_and_ports),
        cmocka_unit_test(what_is_refused),
        cmocka_unit_test(overlapping_entries_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
