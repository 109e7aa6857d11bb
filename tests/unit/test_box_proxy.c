/* Where the build sandbox's proxy connects (builder/box_proxy.h): public
 * addresses only, IPv4 inside IPv6 never. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "builder/box_proxy.h"

static bool public(const char *text)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (strchr(text, ':')) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        assert_int_equal(inet_pton(AF_INET6, text, &a->sin6_addr), 1);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        assert_int_equal(inet_pton(AF_INET, text, &a->sin_addr), 1);
    }
    return box_proxy_public((struct sockaddr *)&ss);
}

static void public_addresses_pass(void **state)
{
    (void)state;
    const char *ok[] = {"1.1.1.1", "198.51.100.10", "203.0.113.80", "192.0.2.1", "172.32.0.1", "100.128.0.1",
                        "2001:db8::1", "2606:4700::1111"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        assert_true(public(ok[i]));
}

static void the_host_and_private_networks_do_not(void **state)
{
    (void)state;
    const char *refused[] = {"127.0.0.1", "127.255.255.254", "0.0.0.0", "10.1.2.3", "100.64.0.1", "169.254.169.254",
                             "168.63.129.16", "172.16.0.1", "172.31.255.255", "192.0.0.8", "192.168.1.1",
                             "198.18.0.1", "224.0.0.1", "255.255.255.255", "::", "::1", "fe80::1", "fc00::1",
                             "fd12::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:1.1.1.1", "64:ff9b::7f00:1",
                             "2002:7f00:1::1", "::127.0.0.1"};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        if (public(refused[i]))
            fail_msg("%s passed", refused[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(public_addresses_pass),
        cmocka_unit_test(the_host_and_private_networks_do_not),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
