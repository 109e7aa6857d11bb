/* A microVM's link (link.h): a tap device on the host, made by the daemon
 * (root, in its host network namespace), its fd handed to the VM's QEMU,
 * which runs in a network namespace of its own with nothing else in it. The
 * guest's eth0 is the other end; the guest's init addresses it from the
 * claim (guest/init.c), the host end is addressed here, so the /31 and the
 * policy are the same as a veth pair's. No IFF_VNET_HDR: every VM's NIC then
 * offers the same features, with a tap behind it or none, so a VM saved
 * without one restores with one (microvm_vmm.c). */
#include "net/link.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "net/rtnl.h"

int tap_open(const link_spec_t *l)
{
    int nl = rtnl_host();
    if (nl < 0)
        return nl;
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI};
    memcpy(ifr.ifr_name, l->host_name, strnlen(l->host_name, IFNAMSIZ - 1));
    if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNGETIFF, &ifr) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    /* Its index: asked on the netlink socket (an ioctl on any socket asks
     * that socket's namespace, the host's). */
    if (ioctl(nl, SIOCGIFINDEX, &ifr) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    nlbuf_t b = {.len = 0};
    rtnl_link_up(&b, ifr.ifr_ifindex, l->group);
    rtnl_add_address(&b, ifr.ifr_ifindex, l->host_ip);
    int rc = rtnl_exchange(nl, &b);
    if (rc < 0) {
        close(fd); /* (the device goes with it) */
        return rc;
    }
    return fd;
}
