/* The system-call filter of every sandboxed runtime. A deny list (as Docker's
 * and nsjail's defaults): the interpreters need a wide, changing set of calls,
 * while what lets a process reach outside its sandbox is a short, stable list.
 * Calls of another architecture (x32, i386) are killed by libseccomp's default
 * bad-arch action. */
#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sandbox/sandbox.h"

static const char *DENIED[] = {
    /* file systems and roots */
    "mount", "umount2", "pivot_root", "chroot", "fsopen", "fsconfig", "fsmount", "fspick",
    "move_mount", "open_tree", "mount_setattr", "quotactl", "quotactl_fd", "swapon", "swapoff",
    /* other processes */
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    /* namespaces */
    "unshare", "setns",
    /* the kernel itself */
    "bpf", "perf_event_open", "kexec_load", "kexec_file_load", "init_module", "finit_module",
    "delete_module", "reboot", "acct", "syslog", "iopl", "ioperm", "lookup_dcookie",
    "userfaultfd", "personality", "vhangup", "nfsservctl",
    /* keys */
    "keyctl", "add_key", "request_key",
    /* handles that bypass mount boundaries (the "shocker" escape) */
    "open_by_handle_at", "name_to_handle_at",
    /* time and names of the machine */
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "sethostname", "setdomainname",
    /* io_uring runs calls outside this filter's view */
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    "fanotify_init",
    NULL,
};

/* The filter is compiled to BPF once, at start: a sandbox loads the ready
 * program, which costs no allocation between clone and exec. */
static struct sock_fprog prog;

static int build(scmp_filter_ctx ctx);

int sandbox_seccomp_compile(void)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx)
        return -ENOMEM;
    int rc = build(ctx);
    int fd = rc == 0 ? memfd_create("impuls-seccomp", MFD_CLOEXEC) : -1;
    if (rc == 0 && fd < 0)
        rc = -errno;
    if (rc == 0) {
        /* libseccomp exports to an fd; read the program back whole. */
        rc = seccomp_export_bpf(ctx, fd);
        static struct sock_filter insns[BPF_MAXINSNS];
        ssize_t n = 0, r = 0;
        if (rc == 0 && lseek(fd, 0, SEEK_SET) == 0)
            while ((r = read(fd, (char *)insns + n, sizeof insns - (size_t)n)) > 0)
                n += r;
        close(fd);
        if (rc == 0 && (r < 0 || n <= 0 || n == (ssize_t)sizeof insns || n % (ssize_t)sizeof insns[0]))
            rc = -EINVAL;
        if (rc == 0) {
            prog.len = (unsigned short)(n / (ssize_t)sizeof insns[0]);
            prog.filter = insns;
        }
    }
    seccomp_release(ctx);
    return rc;
}

int sandbox_apply_seccomp(void)
{
    if (!prog.filter)
        return -EINVAL;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0 ? -errno : 0;
}

static int build(scmp_filter_ctx ctx)
{
    int rc = 0;
    for (int i = 0; DENIED[i] && rc == 0; i++) {
        int nr = seccomp_syscall_resolve_name(DENIED[i]);
        if (nr == __NR_SCMP_ERROR)
            continue; /* not on this architecture */
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
    }
    /* clone3 passes flags in memory a filter can't read: make libc fall back
     * to clone, whose flags we can check. */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
    static const unsigned long NS_FLAGS[] = {CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC,
                                             CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET,
                                             CLONE_NEWCGROUP, 0};
    for (int i = 0; NS_FLAGS[i] && rc == 0; i++)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                              SCMP_A0(SCMP_CMP_MASKED_EQ, NS_FLAGS[i], NS_FLAGS[i]));
    /* Typing into a terminal that is not ours, and raw link-layer sockets. */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                              SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCSTI));
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                              SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCLINUX));
    /* Socket families: unix, inet, inet6 and netlink only. Others reach past
     * the network namespace (vsock to the hypervisor) or the kernel's soft
     * spots (AF_ALG, packet sockets). A filter rule compares one value, so
     * the refused ones below 17 are listed and everything above refused. */
    for (int fam = 0; fam <= AF_NETLINK && rc == 0; fam++) {
        if (fam == AF_UNIX || fam == AF_INET || fam == AF_INET6 || fam == AF_NETLINK)
            continue;
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
                              SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)fam));
        if (rc == 0)
            rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socketpair), 1,
                                  SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)fam));
    }
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
                              SCMP_A0(SCMP_CMP_GT, AF_NETLINK));
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socketpair), 1,
                              SCMP_A0(SCMP_CMP_GT, AF_NETLINK));
    return rc;
}
