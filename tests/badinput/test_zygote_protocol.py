"""The Python zygote's request reader (src/sandbox/zygote.c, read_request)
against malformed requests: each is refused with -EPROTO, every fd it brought
is closed, and the zygote serves on. Only the daemon can reach a zygote's
socket; this is the daemon's bug caught before it becomes a sandbox's.

The zygote is started here as the daemon starts it (runtimes/python/zygote.py,
fd 3 its socket, fd 4 the library)."""
import array
import errno
import fcntl
import os
import socket
import struct
import subprocess

import pytest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
LIB = os.path.join(ROOT, "build", "libimpuls-zygote.so")
HEADER = struct.Struct("=Iii5H")  # struct request: uid, pids_max, tmp_mb, five string lengths


@pytest.fixture
def zygote():
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    lib = os.open(LIB, os.O_RDONLY)

    def fds():  # in the child, before exec: fd 3 the socket, fd 4 the library
        hi_sock, hi_lib = fcntl.fcntl(theirs.fileno(), fcntl.F_DUPFD, 10), fcntl.fcntl(lib, fcntl.F_DUPFD, 10)
        os.dup2(hi_sock, 3)
        os.dup2(hi_lib, 4)

    p = subprocess.Popen(["/usr/bin/python3", "-s", "-P", "zygote.py"], cwd=os.path.join(ROOT, "runtimes", "python"),
                         env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"}, preexec_fn=fds,
                         close_fds=False, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    theirs.close()
    os.close(lib)
    try:
        assert ours.recv(1) == b"R"
        yield p, ours
    finally:
        ours.close()
        try:
            assert p.wait(timeout=10) == 0  # the daemon's end closed: it leaves on its own
        finally:
            p.kill()


def request(sock, data, nfds):
    """Sends data with nfds fds (the ends of fresh pipes); returns the reply
    and our ends of the pipes."""
    pipes = [os.pipe() for _ in range(nfds)]
    try:
        anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [w for _, w in pipes]))] if nfds else []
        sock.sendmsg([data], anc)
    finally:
        for _, w in pipes:
            os.close(w)
    (reply,) = struct.unpack("=i", sock.recv(16))
    return reply, [r for r, _ in pipes]


def assert_closed_there(read_ends):
    """The zygote closed every fd a refused request brought: our read ends
    see EOF at once."""
    for r in read_ends:
        assert os.read(r, 1) == b""
        os.close(r)


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def good(strings=(b"/nonexistent-task", b"/nonexistent-runtimes", b"/nonexistent-root", b"/nonexistent-tasks",
                  b"nameserver 192.0.2.53\n")):
    return HEADER.pack(424242, 64, 16, *map(len, strings)) + b"".join(strings)


@pytest.mark.parametrize("what,data,nfds", [
    ("no fds", good(), 0),
    ("three fds", good(), 3),
    ("five fds", good(), 5),
    ("a short header", good()[:7], 4),
    ("an empty message", b"", 4),
    ("lengths longer than the body", HEADER.pack(1, 1, 1, 10, 10, 10, 10, 10) + b"x" * 49, 4),
    ("lengths shorter than the body", HEADER.pack(1, 1, 1, 1, 1, 1, 1, 1) + b"x" * 6, 4),
    ("a length over 4095", HEADER.pack(1, 1, 1, 4096, 0, 0, 0, 0) + b"x" * 4096, 4),
    ("uid 0", HEADER.pack(0, 64, 16, 1, 1, 1, 1, 1) + b"abcde", 4),
    ("a message larger than any request", HEADER.pack(1, 1, 1, 4095, 4095, 4095, 4095, 4095) + b"x" * 25000, 4),
])
def test_a_malformed_request_is_refused_and_loses_nothing(zygote, what, data, nfds):
    p, sock = zygote
    before = fd_count(p.pid)
    reply, ends = request(sock, data, nfds)
    assert reply == -errno.EPROTO, what
    assert_closed_there(ends)
    assert fd_count(p.pid) == before, what
    # It serves on: a well-formed request makes a sandbox's init (our child:
    # CLONE_PARENT), which leaves as soon as its channel closes unread.
    pid, ends = request(sock, good(), 4)
    assert pid > 0
    assert os.waitpid(pid, 0) == (pid, 125 << 8)
    assert_closed_there(ends)
    assert fd_count(p.pid) == before
