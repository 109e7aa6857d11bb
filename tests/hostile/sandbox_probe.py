"""The hostile function: deployed as main.py of a Python function, it runs the
attack named in event["attack"] from inside its sandbox and reports what it
observed (an errno name such as "EPERM", or a few facts). Every attack is
bounded in time, processes and bytes. Raw system calls go through ctypes.

Not a test module: tests/hostile/hostile.py ships this file's text as code."""
import ctypes
import errno
import os
import signal
import socket
import struct
import subprocess
import sys
import time

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long

AT_FDCWD = -100


def ename(e):
    return errno.errorcode.get(e, str(e))


def attempt(f, *args):
    """Runs f; "ok" or the errno name of the OSError it raised."""
    try:
        f(*args)
        return "ok"
    except OSError as e:
        return ename(e.errno)


def arg(a):
    if a is None:
        return ctypes.c_void_p(0)
    if isinstance(a, int):
        return ctypes.c_long(a)
    if isinstance(a, bytes):
        return ctypes.c_char_p(a)
    return a  # a ctypes object (buffer, pointer)


def sys_call(nr, *args):
    """A raw system call: "ok" or the errno name."""
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(nr), *[arg(a) for a in args])
    return ename(ctypes.get_errno()) if r == -1 else "ok"


def buf(n):
    return ctypes.create_string_buffer(n)


def with_child(f):
    """Runs f(pid) beside a child that just sleeps; the child is killed and reaped after."""
    pid = os.fork()
    if pid == 0:
        time.sleep(5)
        os._exit(0)
    try:
        return f(pid)
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
        os.waitpid(pid, 0)


def child_status(f):
    """Runs f in a forked child; how the child ended: "exit N" or the signal's name."""
    pid = os.fork()
    if pid == 0:
        try:
            f()
        finally:
            os._exit(0)
    _, st = os.waitpid(pid, 0)
    if os.WIFSIGNALED(st):
        return signal.Signals(os.WTERMSIG(st)).name
    return "exit %d" % os.WEXITSTATUS(st)


# ---------- x86_64 system calls the seccomp filter refuses ----------

def _perf_attr():
    b = buf(128)  # struct perf_event_attr: software cpu-clock of this process, user only
    struct.pack_into("IIQQQQQ", b, 0, 1, 112, 0, 0, 0, 0, (1 << 0) | (1 << 5) | (1 << 6))
    return b


def _timex():
    return buf(256)  # struct timex with modes = 0: a read-only query


def _timespec():
    b = buf(16)
    struct.pack_into("qq", b, 0, int(time.time()) + 3600, 0)
    return b


def _nsfd():
    return os.open("/proc/self/ns/net", os.O_RDONLY)


def _handle():
    b = buf(128 + 8)
    struct.pack_into("I", b, 0, 128)  # handle_bytes
    return b


def buf_of(data):
    b = ctypes.create_string_buffer(len(data))
    ctypes.memmove(b, data, len(data))
    return b


def _vm_iov():
    """iovecs for process_vm_readv/writev: 64 bytes of ours to 64 bytes of ours."""
    src = buf(64)
    dst = buf(64)
    liov = buf_of(struct.pack("QQ", ctypes.addressof(dst), 64))
    riov = buf_of(struct.pack("QQ", ctypes.addressof(src), 64))
    return liov, riov, src, dst


def _vm(nr):
    liov, riov, src, dst = _vm_iov()
    return sys_call(nr, os.getpid(), liov, 1, riov, 1, 0)


CLONE_FS = 0x200
CLONE_NEWNS = 0x20000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000

# name -> a call that, without the filter, would succeed or fail with an errno
# other than EPERM where that can be arranged (so EPERM proves the filter).
SYSCALLS = {
    "mount": lambda: sys_call(165, b"none", b"/tmp", b"tmpfs", 0, None),
    "umount2": lambda: sys_call(166, b"/var/task", 2),  # MNT_DETACH
    "pivot_root": lambda: sys_call(155, b"/tmp", b"/tmp"),
    "chroot": lambda: sys_call(161, b"/tmp"),
    "unshare_user": lambda: sys_call(272, CLONE_NEWUSER),
    "unshare_net": lambda: sys_call(272, CLONE_NEWNET),
    # CLONE_FS with a new user or mount namespace is EINVAL in the kernel: without
    # the filter no child would be made.
    "clone_newuser": lambda: sys_call(56, CLONE_NEWUSER | CLONE_FS | signal.SIGCHLD, 0, 0, 0, 0),
    "clone_newns": lambda: sys_call(56, CLONE_NEWNS | CLONE_FS | signal.SIGCHLD, 0, 0, 0, 0),
    "clone3": lambda: sys_call(435, None, 0),
    "setns": lambda: sys_call(308, _nsfd(), 0),
    "keyctl": lambda: sys_call(250, 0, -3, 1),  # KEYCTL_GET_KEYRING_ID, session keyring, create
    "add_key": lambda: sys_call(248, b"user", b"impuls", b"secret", 6, -2),  # process keyring
    "request_key": lambda: sys_call(249, b"user", b"impuls", None, 0),
    "bpf": lambda: sys_call(321, 0, buf(128), 128),  # BPF_MAP_CREATE
    "perf_event_open": lambda: sys_call(298, _perf_attr(), 0, -1, -1, 0),
    "kexec_load": lambda: sys_call(246, 0, 0, None, 0),
    "kexec_file_load": lambda: sys_call(320, -1, -1, 0, b"", 0),
    "init_module": lambda: sys_call(175, buf(64), 64, b""),
    "finit_module": lambda: sys_call(313, os.open("/dev/null", os.O_RDONLY), b"", 0),
    "delete_module": lambda: sys_call(176, b"loop", 0),
    "open_by_handle_at": lambda: sys_call(304, os.open("/", os.O_RDONLY), _handle(), 0),
    "name_to_handle_at": lambda: sys_call(303, AT_FDCWD, b"/var/task", _handle(), buf(8), 0),
    "userfaultfd": lambda: sys_call(323, 1),  # UFFD_USER_MODE_ONLY: allowed unprivileged
    "io_uring_setup": lambda: sys_call(425, 4, buf(120)),
    "ptrace_traceme": lambda: sys_call(101, 0, 0, 0, 0),  # PTRACE_TRACEME
    "ptrace_attach_init": lambda: sys_call(101, 16, 1, 0, 0),  # PTRACE_ATTACH
    "ptrace_attach_child": lambda: with_child(lambda pid: sys_call(101, 16, pid, 0, 0)),
    "process_vm_readv": lambda: _vm(310),
    "process_vm_writev": lambda: _vm(311),
    "kcmp": lambda: sys_call(312, os.getpid(), os.getpid(), 0, 0, 0),  # KCMP_FILE
    "pidfd_getfd": lambda: sys_call(438, os.pidfd_open(os.getpid()), 0, 0),
    "sethostname": lambda: sys_call(170, b"evil", 4),
    "setdomainname": lambda: sys_call(171, b"evil", 4),
    "clock_settime": lambda: sys_call(227, 0, _timespec()),
    "settimeofday": lambda: sys_call(164, _timespec(), None),
    "clock_adjtime": lambda: sys_call(305, 0, _timex()),
    "adjtimex": lambda: sys_call(159, _timex()),
    "reboot": lambda: sys_call(169, 0xfee1dead, 672274793, 0, None),  # LINUX_REBOOT_CMD_CAD_OFF
    "syslog": lambda: sys_call(103, 10, None, 0),  # SYSLOG_ACTION_SIZE_BUFFER
    "acct": lambda: sys_call(163, None),
    "swapon": lambda: sys_call(167, b"/tmp/swap", 0),
    "iopl": lambda: sys_call(172, 3),
    "ioperm": lambda: sys_call(173, 0x80, 1, 1),
    "personality": lambda: sys_call(135, 0xffffffff),  # a query
    "fanotify_init": lambda: sys_call(300, 0, 0),
    "fsopen": lambda: sys_call(430, b"tmpfs", 0),
    "open_tree": lambda: sys_call(428, AT_FDCWD, b"/tmp", 1),  # OPEN_TREE_CLONE
    "quotactl": lambda: sys_call(179, 0x800007, b"/", 0, None),  # Q_SYNC
    "vhangup": lambda: sys_call(153),
    "tiocsti": lambda: _ioctl(0x5412, b"x"),
    "tioclinux": lambda: _ioctl(0x541C, buf(1)),
}


def _ioctl(req, argp):
    ctypes.set_errno(0)
    r = libc.ioctl(ctypes.c_int(0), ctypes.c_ulong(req), argp)
    return ename(ctypes.get_errno()) if r == -1 else "ok"


def a_syscall(e):
    return SYSCALLS[e["name"]]()


# System call numbers of the other two x86 ABIs, for a_foreign_abi.
FOREIGN_ABI_CALLS = {
    "x32": {"mount": 0x40000000 | 165, "getpid": 0x40000000 | 39},
    "i386": {"mount": 21, "getpid": 20},
}


def foreign_abi_call(abi, call):
    """Makes one system call through another ABI in a forked child and says how
    the child ended ("exit 0", "SIGSYS", ...). x32 is an x86_64 call with bit 30
    set; i386 goes through int 0x80, which faults (SIGSEGV) before any system
    call is entered on a kernel without IA-32 emulation. The tests run this on
    the host too (with the harmless getpid) to learn which ABIs the kernel has."""
    nr = FOREIGN_ABI_CALLS[abi][call]
    if abi == "x32":
        return child_status(lambda: sys_call(nr, b"none", b"/tmp", b"tmpfs", 0, None))
    import mmap
    code = bytes([0xB8, nr, 0, 0, 0, 0xCD, 0x80, 0xC3])  # mov eax, nr; int 0x80; ret
    m = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    m.write(code)
    addr = ctypes.addressof(ctypes.c_char.from_buffer(m))
    f = ctypes.CFUNCTYPE(ctypes.c_long)(addr)

    def quietly():
        import faulthandler
        faulthandler.disable()  # pytest's handler would print the expected SIGSEGV
        f()
    return child_status(quietly)


def a_foreign_abi(e):
    """mount(2) through another ABI, in a child."""
    return foreign_abi_call(e["abi"], "mount")


# ---------- resources ----------

def a_fork_until_fail(e):
    r, w = os.pipe()
    kids, err = [], None
    try:
        for _ in range(e.get("max", 400)):
            try:
                pid = os.fork()
            except OSError as ex:
                err = ename(ex.errno)
                break
            if pid == 0:
                os.close(w)
                os.read(r, 1)  # until the parent closes its end
                os._exit(0)
            kids.append(pid)
    finally:
        os.close(w)
        os.close(r)
        for pid in kids:
            os.waitpid(pid, 0)
    return {"errno": err, "forked": len(kids)}


def a_fork_bomb(e):
    while True:  # every process forks forever: only pids.max and the timeout stop it
        try:
            os.fork()
        except OSError:
            time.sleep(0.005)


def a_threads(e):
    """pthread_create until it fails; each thread sleeps 2 s, then all are joined."""
    ids, err = [], None
    sleep = ctypes.cast(libc.sleep, ctypes.c_void_p)
    for _ in range(e.get("max", 2000)):
        t = ctypes.c_ulong()
        rc = libc.pthread_create(ctypes.byref(t), None, sleep, ctypes.c_void_p(2))
        if rc != 0:
            err = ename(rc)
            break
        ids.append(t)
    for t in ids:
        libc.pthread_join(t, None)
    return {"errno": err, "threads": len(ids)}


def a_memory_hog(e):
    x = []
    while True:
        x.append(bytearray(8 << 20))


def a_memory_hog_child(e):
    def hog():
        x = []
        while True:
            x.append(bytearray(8 << 20))
    return child_status(hog)


def a_fill(e):
    """Writes 1 MiB chunks to a file until it fails."""
    chunk = b"x" * (1 << 20)
    n = 0
    try:
        with open(e["path"], "wb") as f:
            while n < (e.get("max_mb", 512) << 20):
                n += f.write(chunk)
                f.flush()
    except OSError as ex:
        written = 0
        if os.path.exists(e["path"]):
            written = os.path.getsize(e["path"])
            os.unlink(e["path"])
        return {"errno": ename(ex.errno), "bytes": written}
    return {"errno": None, "bytes": n}


def a_inodes(e):
    os.mkdir("/tmp/i")
    n = 0
    try:
        while n < 100000:
            os.close(os.open("/tmp/i/%d" % n, os.O_CREAT | os.O_WRONLY, 0o600))
            n += 1
    except OSError as ex:
        return {"errno": ename(ex.errno), "files": n}
    finally:
        for i in range(n):
            os.unlink("/tmp/i/%d" % i)
        os.rmdir("/tmp/i")
    return {"errno": None, "files": n}


def a_flood(e):
    chunk = (b"y" * 1023 + b"\n") * 64
    out = sys.stdout.buffer
    deadline = time.monotonic() + e.get("seconds", 0)
    n = 0
    while n < (e.get("mb", 0) << 20) or time.monotonic() < deadline:
        out.write(chunk)
        n += len(chunk)
    out.flush()
    return n


def a_segv(e):
    ctypes.string_at(0)


def a_exit(e):
    sys.stdout.flush()
    os._exit(e["code"])


def a_spin(e):
    while True:
        pass


def a_cpu_hog(e):
    """k busy processes for `seconds`, then answers."""
    kids = []
    for _ in range(e["procs"]):
        pid = os.fork()
        if pid == 0:
            end = time.monotonic() + e["seconds"]
            while time.monotonic() < end:
                pass
            os._exit(0)
        kids.append(pid)
    for pid in kids:
        os.waitpid(pid, 0)
    return "done"


def a_fds(e):
    fds, err = [], None
    try:
        while len(fds) < 5000:
            fds.append(os.open("/dev/null", os.O_RDONLY))
    except OSError as ex:
        err = ename(ex.errno)
    top = max(fds)
    for fd in fds:
        os.close(fd)
    return {"errno": err, "opened": len(fds), "highest": top}


def a_rlimit(e):
    """setrlimit raising a hard limit: RLIMIT_NOFILE 7, RLIMIT_NPROC 6."""
    res = e["resource"]
    b = buf(16)
    if libc.getrlimit(res, b) != 0:
        return ename(ctypes.get_errno())
    soft, hard = struct.unpack("QQ", b.raw)
    nb = buf_of(struct.pack("QQ", hard * 4, hard * 4))
    ctypes.set_errno(0)
    return "ok" if libc.setrlimit(res, nb) == 0 else ename(ctypes.get_errno())


def a_detach(e):
    """Leaves a grandchild behind (new session, double fork) that outlives the call."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.setsid()
        if os.fork() == 0:
            os.write(w, str(os.getpid()).encode())
            for fd in range(0, 3):
                os.close(fd)
            time.sleep(600)
            os._exit(0)
        os._exit(0)
    os.waitpid(pid, 0)
    os.close(w)
    return int(os.read(r, 32))


def procs():
    """The sandbox's processes but its init (pid 1): [pid, state, ppid, comm]."""
    out = []
    for p in sorted((int(x) for x in os.listdir("/proc") if x.isdigit())):
        if p == 1:
            continue
        try:
            with open("/proc/%d/stat" % p) as f:
                s = f.read()
        except OSError:
            continue
        comm = s[s.index("(") + 1:s.rindex(")")]
        rest = s[s.rindex(")") + 2:].split()
        out.append([p, rest[0], int(rest[1]), comm])
    return out


def a_procs(e):
    return procs()


def a_zombies(e):
    for _ in range(e["n"]):
        if os.fork() == 0:
            os._exit(0)
    time.sleep(0.2)
    return sum(1 for p in procs() if p[1] == "Z")


# ---------- escapes ----------

def a_write(e):
    def w():
        with open(e["path"], e.get("mode", "w")) as f:
            f.write(e.get("data", "x"))
    return attempt(w)


def a_read(e):
    """ "ok <n bytes>" or the errno name."""
    try:
        with open(e["path"], "rb") as f:
            return "ok %d" % len(f.read(e.get("max", 1 << 20)))
    except OSError as ex:
        return ename(ex.errno)


def a_cat(e):
    """The file's text, or the errno name."""
    try:
        with open(e["path"], "rb") as f:
            return f.read(e.get("max", 65536)).decode(errors="replace")
    except OSError as ex:
        return ename(ex.errno)


def a_listdir(e):
    try:
        return sorted(os.listdir(e["path"]))
    except OSError as ex:
        return ename(ex.errno)


def a_stat(e):
    try:
        st = os.stat(e["path"])
        return {"mode": oct(st.st_mode), "uid": st.st_uid}
    except OSError as ex:
        return ename(ex.errno)


def a_readlink(e):
    try:
        return os.readlink(e["path"])
    except OSError as ex:
        return ename(ex.errno)


def a_open_exe(e):
    return attempt(lambda: os.close(os.open("/proc/self/exe", os.O_WRONLY)))


def a_kill_all(e):
    """kill(-1, SIGKILL) with a child of ours alive: what it returned, how the child died."""
    pid = os.fork()
    if pid == 0:
        time.sleep(5)
        os._exit(0)
    time.sleep(0.05)
    res = attempt(os.kill, -1, signal.SIGKILL)
    _, st = os.waitpid(pid, 0)
    child = signal.Signals(os.WTERMSIG(st)).name if os.WIFSIGNALED(st) else "exit"
    return {"kill": res, "child": child, "procs": procs()}


def a_kill(e):
    return attempt(os.kill, e["pid"], e.get("sig", signal.SIGKILL))


def a_pidfd_open(e):
    return attempt(lambda: os.close(os.pidfd_open(e["pid"])))


def a_su(e):
    p = subprocess.run(e["argv"], stdin=subprocess.DEVNULL, capture_output=True, timeout=5)
    return {"rc": p.returncode, "out": p.stdout.decode(errors="replace"),
            "err": p.stderr.decode(errors="replace")}


def a_setuid_bit(e):
    """Runs a setuid binary and reads its effective uid while it waits on stdin."""
    p = subprocess.Popen(e["argv"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    uids = None
    for _ in range(100):
        try:
            with open("/proc/%d/status" % p.pid) as f:
                for line in f:
                    if line.startswith("Uid:"):
                        uids = line.split()[1:]
        except OSError:
            pass
        if p.poll() is not None:
            break
        time.sleep(0.01)
    try:
        p.communicate(timeout=3)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    return {"uids": uids, "mode": oct(os.stat(e["argv"][0]).st_mode)}


def a_mknod(e):
    return attempt(os.mknod, e["path"], 0o20600, os.makedev(1, 1))  # S_IFCHR, /dev/mem


def a_whoami(e):
    return {"uid": os.getuid(), "pid": os.getpid()}


# ---------- network ----------

def a_connect(e):
    fam = socket.AF_INET6 if ":" in e["host"] else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(3)
    try:
        s.connect((e["host"], e["port"]))
        return "ok"
    except socket.timeout:
        return "timeout"
    except OSError as ex:
        return ename(ex.errno)
    finally:
        s.close()


def a_socket(e):
    def mk():
        socket.socket(e["family"], e["type"], e.get("proto", 0)).close()
    return attempt(mk)


def a_unix(e):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(e["path"].encode().replace(b"@", b"\0", 1))
        return "ok"
    except OSError as ex:
        return ename(ex.errno)
    finally:
        s.close()


def a_resolve(e):
    try:
        socket.getaddrinfo(e["host"], 80)
        return "ok"
    except socket.gaierror as ex:
        names = {getattr(socket, n): n for n in dir(socket) if n.startswith("EAI_")}
        return names.get(ex.errno, str(ex.errno))


HELD = []  # sockets kept open after the call returns
RAPI_SOCKET = "/run/impuls-runtime-api.sock"  # the Runtime API's Unix socket


def rapi_connect(unix, timeout=2):
    """A connection to our own Runtime API: its Unix socket or 127.0.0.1:9001."""
    s = socket.socket(socket.AF_UNIX if unix else socket.AF_INET)
    s.settimeout(timeout)
    try:
        s.connect(RAPI_SOCKET if unix else ("127.0.0.1", 9001))
    except OSError:
        s.close()
        raise
    return s


def a_rapi_connections(e):
    """Opens up to n connections to our own Runtime API (over TCP, then, with
    "both", n more over its Unix socket) and keeps them open after the call:
    how many the kernel let us open (connect waits at most 2 s)."""
    out = {}
    for unix in ([False, True] if e.get("both") else [bool(e.get("unix"))]):
        res, opened = "none", 0
        try:
            for _ in range(e["n"]):
                HELD.append(rapi_connect(unix))
                opened += 1
        except OSError as ex:
            res = ename(ex.errno) if ex.errno else "timeout"
        out["unix" if unix else "tcp"] = {"open": opened, "stopped": res}
    return out


def a_rapi_abandon(e):
    """A request that makes the Runtime API close the connection after its
    answer (Connection: close), then up to `size` more bytes written on it
    (writes time out once nobody reads, or fail once the daemon closes). The
    connection stays open after the call. How many bytes went, and the answer's status."""
    s = rapi_connect(e.get("unix"), timeout=10)
    HELD.append(s)
    s.sendall(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    status = int(s.recv(65536).split()[1])
    chunk, sent = b"z" * 65536, 0
    try:
        while sent < e["size"]:
            sent += s.send(chunk)
    except OSError:
        pass  # timed out (nobody reads) or reset
    return {"status": status, "sent": sent}


def a_rapi_bodies(e):
    """n requests to our Runtime API, each announcing a body of `size` bytes and
    sending all of it but the last byte; the connections stay open after the
    call. How many were sent in full, and what stopped the rest."""
    head = ("POST /2018-06-01/runtime/invocation/x/response HTTP/1.1\r\nHost: x\r\n"
            "Content-Length: %d\r\n\r\n" % e["size"]).encode()
    body = b"z" * (e["size"] - 1)
    sent, res = 0, "none"
    try:
        for _ in range(e["n"]):
            s = socket.create_connection(("127.0.0.1", 9001), timeout=2)
            HELD.append(s)
            s.sendall(head)
            s.sendall(body)
            sent += 1
    except OSError as ex:
        res = ename(ex.errno) if ex.errno else "timeout"
    time.sleep(0.3)
    return {"sent": sent, "stopped": res}


def a_rapi_socket_tamper(e):
    """Tries to remove, move, chmod or shadow the Runtime API's Unix socket,
    then asks it for a second /next of our own (refused while this call runs)."""
    import json

    def shadow():
        with socket.socket(socket.AF_UNIX) as s:
            s.bind("/run/impostor.sock")

    def write_file():
        with open("/run/x", "w"):
            pass

    out = {
        "unlink": attempt(os.unlink, RAPI_SOCKET),
        "rename": attempt(os.rename, RAPI_SOCKET, "/run/moved"),
        "chmod": attempt(os.chmod, RAPI_SOCKET, 0o600),
        "create": attempt(write_file),
        "bind": attempt(shadow),
        "mode": oct(os.stat(RAPI_SOCKET).st_mode & 0o7777),
    }
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(RAPI_SOCKET)
        s.sendall(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    out["second_next"] = [int(head.split()[1]), json.loads(body)["errorType"]]
    return out


def a_rapi_post(e):
    """One request to our own Runtime API: [status, errorType]."""
    import http.client
    import json
    c = http.client.HTTPConnection("127.0.0.1", 9001, timeout=5)
    c.request(e.get("method", "POST"), e["path"], body=e.get("body"))
    r = c.getresponse()
    data = r.read()
    c.close()
    try:
        return [r.status, json.loads(data).get("errorType")]
    except ValueError:
        return [r.status, None]


# ---------- leaks ----------

def tcp_sockets():
    """inode -> (local, remote) of every TCP socket in our network namespace."""
    out = {}
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                lines = f.readlines()[1:]
        except OSError:
            continue
        for line in lines:
            p = line.split()
            out[p[9]] = (hexaddr(p[1]), hexaddr(p[2]))
    return out


def hexaddr(s):
    a, port = s.split(":")
    if len(a) == 8:
        ip = socket.inet_ntop(socket.AF_INET, struct.pack("<I", int(a, 16)))
    else:
        ip = a
    return "%s:%d" % (ip, int(port, 16))


def a_fds_info(e):
    me = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY)
    fds = {}
    tcp = tcp_sockets()
    for name in os.listdir(me):
        if int(name) == me:
            continue
        try:
            t = os.readlink("/proc/self/fd/" + name)
        except OSError:
            continue
        if t.startswith("socket:[") and t[8:-1] in tcp:
            t = "tcp %s -> %s" % tcp[t[8:-1]]
        elif t.startswith("socket:["):
            with socket.socket(fileno=os.dup(int(name))) as s:
                kind = "unix" if s.family == socket.AF_UNIX else s.family
                try:
                    t = "%s -> %s" % (kind, s.getpeername())
                except OSError:  # not connected: a listening socket, say
                    t = "%s %s (not connected)" % (kind, s.getsockname())
        elif t.startswith("pipe:["):
            t = "pipe"
        fds[int(name)] = t
    os.close(me)
    same_pipe = os.readlink("/proc/self/fd/1") == os.readlink("/proc/self/fd/2")
    return {"fds": {str(k): v for k, v in sorted(fds.items())}, "same_pipe": same_pipe}


def a_environ(e):
    return dict(os.environ)


def a_tmp(e):
    """What /tmp and /dev/shm hold; with "write", then leaves a file in each."""
    out = {"tmp": sorted(os.listdir("/tmp")), "shm": sorted(os.listdir("/dev/shm"))}
    if e.get("write"):
        for d in ("tmp", "shm"):
            path = "/tmp/secret" if d == "tmp" else "/dev/shm/secret"
            out[d + "_write"] = a_write({"path": path, "data": e["write"]})
    return out


def a_sysv_shm(e):
    """shmget(key, 4096, IPC_CREAT|0666) to create, or plain lookup."""
    flags = (0o1000 | 0o666) if e.get("create") else 0
    ctypes.set_errno(0)
    r = libc.shmget(ctypes.c_int(e["key"]), ctypes.c_size_t(4096), ctypes.c_int(flags))
    return "ok" if r >= 0 else ename(ctypes.get_errno())


ATTACKS = {k[2:]: v for k, v in globals().items() if k.startswith("a_")}


def handler(event, context):
    return ATTACKS[event["attack"]](event)

