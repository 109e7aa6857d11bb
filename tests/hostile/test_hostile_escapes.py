"""Hostile functions that try to get out of their sandbox: refused system
calls, the file system beyond their own, other processes, privilege through
setuid binaries, the kernel's knobs. Each attempt's exact errno is asserted,
then the host's health."""
import os
import subprocess

import pytest

from hostile import FRESH, assert_healthy, deploy, node, observe
from sandbox_probe import SYSCALLS, foreign_abi_call

# Every call the seccomp filter refuses, one case each. Without the filter most
# of them would succeed for an unprivileged process (unshare(CLONE_NEWUSER),
# keyctl, add_key, perf_event_open, userfaultfd(UFFD_USER_MODE_ONLY),
# io_uring_setup, ptrace of one's own child, process_vm_readv/writev of oneself,
# kcmp, pidfd_getfd, clock_adjtime/adjtimex queries, personality) or fail with
# another errno (EINVAL, ENOENT, ENOSYS), so EPERM shows the filter at work.
REFUSED = {name: "EPERM" for name in SYSCALLS}
REFUSED["clone3"] = "ENOSYS"  # so that libc falls back to clone, whose flags the filter sees


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_syscall(daemon, name):
    deploy(daemon)
    assert observe(daemon, "syscall", name=name) == REFUSED[name]
    assert observe(daemon, "whoami")["pid"] == 2  # the runtime is unharmed
    assert_healthy(daemon)


def expected_foreign_abi_outcome(abi):
    """What the sandbox's mount(2) through `abi` must end in, from the kernel
    itself: the same probe on the host, outside any sandbox, with getpid. Where
    the kernel runs that ABI's calls (the host's child exits normally), the
    seccomp filter must kill the caller: SIGSYS. Where int 0x80 faults before
    any system call is entered (a kernel without IA-32 emulation, or booted
    with ia32_emulation=0) seccomp never sees it, and the sandbox must show the
    same SIGSEGV. Anything else on the host is a probe that no longer works."""
    on_host = foreign_abi_call(abi, "getpid")
    if on_host == "exit 0":
        return "SIGSYS"
    assert abi == "i386" and on_host == "SIGSEGV", f"host probe of {abi}: {on_host}"
    return "SIGSEGV"


@pytest.mark.parametrize("abi", ["x32", "i386"])
def test_syscall_through_another_abi_is_killed(daemon, abi):
    # mount(2) through the x32 ABI (bit 30 set) or int 0x80: libseccomp's
    # bad-architecture action kills the caller (here a forked child) with SIGSYS,
    # unless the kernel has no such ABI at all (see above).
    deploy(daemon)
    assert observe(daemon, "foreign_abi", abi=abi) == expected_foreign_abi_outcome(abi)
    assert_healthy(daemon)


# ---------- the file system ----------

@pytest.mark.parametrize("path,mode,expected", [
    ("/var/task/new.py", "w", "EROFS"),
    ("/var/task/main.py", "a", "EACCES"),  # root's file: the permission check comes first
    ("/var/runtime/python/bootstrap.py", "a", "EACCES"),
    ("/evil", "w", "EROFS"),  # the sandbox's root tmpfs is read-only
    ("/etc/passwd", "a", "EACCES"),
    ("/usr/bin/evil", "w", "EROFS"),
    ("/proc/sys/kernel/hostname", "w", "EROFS"),  # /proc/sys is a read-only bind
    ("/proc/sys/kernel/core_pattern", "w", "EROFS"),
    ("/proc/sys/vm/drop_caches", "w", "EROFS"),
    ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "w", "ENOENT"),  # no /sys at all
    ("/sys/fs/cgroup/pids.max", "w", "ENOENT"),
    ("/proc/self/oom_score_adj", "w", "EACCES"),  # "-1000" needs CAP_SYS_RESOURCE
    ("/proc/1/oom_score_adj", "w", "ENOENT"),  # init is invisible: /proc is hidepid=invisible
])
def test_write_is_refused(daemon, path, mode, expected):
    deploy(daemon)
    data = "-1000" if "oom" in path else "x"
    assert observe(daemon, "write", path=path, mode=mode, data=data) == expected
    assert_healthy(daemon)


@pytest.mark.parametrize("path,expected", [
    ("/etc/shadow", "ENOENT"),
    ("/root", "ENOENT"),
    ("/home", "ENOENT"),
    ("/sys/kernel", "ENOENT"),  # /sys is not mounted
    ("/proc/1/environ", "ENOENT"),  # init is invisible: /proc is hidepid=invisible
    ("/proc/1/mem", "ENOENT"),
    ("/proc/1/maps", "ENOENT"),
    ("/proc/keys", "ok 0"),  # masked with /dev/null
    ("/proc/timer_list", "ok 0"),  # masked with /dev/null
])
def test_read_is_refused(daemon, path, expected):
    deploy(daemon)
    how = "listdir" if path in ("/root", "/home", "/sys/kernel") else "read"
    assert observe(daemon, how, path=path) == expected
    assert_healthy(daemon)


def test_proc_kcore_is_masked(daemon):
    deploy(daemon)
    # Masked with /dev/null when the kernel has one: an empty read. This VM's
    # kernel has no /proc/kcore at all, which is just as safe.
    expected = "ok 0" if os.path.exists("/proc/kcore") else "ENOENT"
    assert observe(daemon, "read", path="/proc/kcore") == expected
    assert_healthy(daemon)


@pytest.mark.parametrize("path", ["/proc/1/root", "/proc/1/cwd", "/proc/1/exe"])
def test_init_links_are_refused(daemon, path):
    deploy(daemon)
    assert observe(daemon, "readlink", path=path) == "ENOENT"  # hidepid=invisible
    assert_healthy(daemon)


def test_daemon_data_dir_is_invisible(daemon):
    deploy(daemon)
    for path in (daemon.data_dir, os.path.join(daemon.data_dir, "impuls.db"),
                 os.path.join(daemon.data_dir, "logs")):
        assert observe(daemon, "read", path=path) == "ENOENT", path
    assert_healthy(daemon)


def test_other_functions_code_is_invisible(daemon):
    node(daemon, "victim", "exports.handler = async () => 'secret code'")
    tasks = os.path.join(daemon.data_dir, "tasks")
    (victim_dir,) = [os.path.join(tasks, d) for d in os.listdir(tasks)]
    deploy(daemon)
    assert os.path.exists(os.path.join(victim_dir, "index.js"))
    assert observe(daemon, "read", path=os.path.join(victim_dir, "index.js")) == "ENOENT"
    assert observe(daemon, "listdir", path=tasks) == "ENOENT"
    assert observe(daemon, "listdir", path="/var/task") == ["main.py"]
    assert daemon.invoke("victim").json() == "secret code"
    assert_healthy(daemon)


def test_overwriting_own_executable_is_refused(daemon):
    deploy(daemon)
    # /proc/self/exe is /usr/bin/python3.x, root's 0755 on a read-only bind:
    # the permission check answers before the read-only mount or ETXTBSY would.
    assert observe(daemon, "open_exe") == "EACCES"
    assert_healthy(daemon)


def test_mknod_of_a_char_device_is_eperm(daemon):
    deploy(daemon)
    assert observe(daemon, "mknod", path="/tmp/mem") == "EPERM"
    assert_healthy(daemon)


def test_dev_holds_exactly_the_safe_nodes(daemon):
    deploy(daemon)
    assert observe(daemon, "listdir", path="/dev") == [
        "fd", "full", "null", "random", "shm", "stderr", "stdin", "stdout", "urandom", "zero"]
    assert observe(daemon, "listdir", path="/dev/shm") == []
    assert observe(daemon, "readlink", path="/dev/fd") == "/proc/self/fd"
    assert_healthy(daemon)


def test_init_does_not_reveal_the_daemons_command_line(daemon):
    deploy(daemon)
    # The sandbox's init is a fork of the daemon that never execs: its
    # /proc/1/cmdline is world-readable and is the daemon's argv.
    seen = observe(daemon, "cat", path="/proc/1/cmdline")
    assert seen in ("EACCES", "ENOENT") or (
        daemon.data_dir not in seen and f"127.0.0.1:{daemon.port}" not in seen), seen
    assert_healthy(daemon)


# ---------- other processes ----------

def test_kill_all_kills_only_the_sandboxs_own_processes(daemon):
    deploy(daemon)
    uid = observe(daemon, "whoami")["uid"]
    # Host processes it must not reach: one of root, one of the sandbox's very uid.
    same_uid = subprocess.Popen(["sleep", "30"], user=uid, group=uid)
    root = subprocess.Popen(["sleep", "30"])
    try:
        r = observe(daemon, "kill_all")
        assert r == {"kill": "ok", "child": "SIGKILL",
                     "procs": FRESH}
        assert same_uid.poll() is None and root.poll() is None
        assert observe(daemon, "whoami") == {"uid": uid, "pid": 2}
    finally:
        same_uid.kill()
        root.kill()
        same_uid.wait()
        root.wait()
    assert_healthy(daemon)


def test_killing_the_daemon_is_esrch(daemon):
    deploy(daemon)
    assert observe(daemon, "kill", pid=daemon.proc.pid) == "ESRCH"  # not in its pid namespace
    assert observe(daemon, "pidfd_open", pid=daemon.proc.pid) == "ESRCH"
    assert daemon.proc.poll() is None
    assert_healthy(daemon)


@pytest.mark.parametrize("sig", [9, 0])
def test_signalling_init_is_eperm(daemon, sig):
    deploy(daemon)
    assert observe(daemon, "kill", pid=1, sig=sig) == "EPERM"  # init is root's
    assert_healthy(daemon)


# ---------- privilege ----------

def test_su_gives_no_root(daemon):
    deploy(daemon)
    r = observe(daemon, "su", argv=["/usr/bin/su", "root", "-c", "id -u"])
    assert (r["rc"], r["out"]) == (1, "")
    assert r["err"] == "su: Critical error - immediate abort\n"
    assert_healthy(daemon)


def test_setuid_mount_cannot_mount(daemon):
    deploy(daemon)
    r = observe(daemon, "su", argv=["/usr/bin/mount", "-t", "tmpfs", "none", "/tmp"])
    assert (r["rc"], r["out"]) == (32, "")
    assert r["err"].startswith("mount: /tmp: must be superuser to use mount.\n")
    assert observe(daemon, "cat", path="/proc/self/mountinfo").count(" /tmp ") == 1
    assert_healthy(daemon)


@pytest.mark.parametrize("binary", ["/usr/bin/su", "/usr/bin/passwd"])
def test_setuid_bit_is_ignored(daemon, binary):
    deploy(daemon)
    uid = str(observe(daemon, "whoami")["uid"])
    r = observe(daemon, "setuid_bit", argv=[binary])
    # The bit is there (0o104755) but /usr is nosuid and no_new_privs is set:
    # real, effective, saved and fs uid stay the sandbox's.
    assert r == {"uids": [uid] * 4, "mode": "0o104755"}
    assert_healthy(daemon)


# ---------- Node, the same refusals ----------

def test_node_cannot_write_its_code_or_read_shadow(daemon):
    node(daemon, "nesc", "const fs = require('fs');\n"
                         "const code = (f) => { try { f(); return 'ok'; } catch (e) { return e.code; } };\n"
                         "exports.handler = async () => [code(() => fs.writeFileSync('/var/task/x.js', '')),"
                         " code(() => fs.readFileSync('/etc/shadow')), code(() => fs.readdirSync('/root')),"
                         " code(() => process.kill(1, 'SIGKILL'))]")
    assert daemon.invoke("nesc").json() == ["EROFS", "ENOENT", "ENOENT", "EPERM"]
    assert_healthy(daemon)
