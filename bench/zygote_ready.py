"""How long a Python zygote takes to be ready (runtimes/python/zygote.py,
started as the daemon starts it, until it says "R"), against starting
python3 with the runtime's main imports: what a call that waits for a
function's new zygote loses, against an instance started the ordinary way.

  flock /tmp/bench.lock /usr/bin/python3 bench/zygote_ready.py [RUNS]

Needs build/libimpuls-zygote.so (make build). Prints p50, min and max of each."""
import os
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1",
       "IMPULS_CLAIM_FD": "3"}


def start_zygote(lib):
    """(pid, our end of its socket), as src/pool/zygotes.c starts one."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(theirs.fileno(), 3)
            os.dup2(lib, 4)
            os.chdir(os.path.join(ROOT, "runtimes", "python"))
            os.execve("/usr/bin/python3", ["/usr/bin/python3", "-s", "-P", "zygote.py"], ENV)
        finally:
            os._exit(127)
    theirs.close()
    return pid, ours


def zygote_ready_ms(lib):
    t = time.perf_counter()
    pid, sock = start_zygote(lib)
    if sock.recv(1) != b"R":
        raise RuntimeError("the zygote did not start")
    ms = (time.perf_counter() - t) * 1000
    sock.close()  # it leaves on its own
    os.waitpid(pid, 0)
    return ms


def python_start_ms():
    t = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.execve("/usr/bin/python3", ["/usr/bin/python3", "-s", "-c", "import json, socket"], ENV)
        finally:
            os._exit(127)
    os.waitpid(pid, 0)
    return (time.perf_counter() - t) * 1000


def summary(label, xs):
    xs = sorted(xs)
    print(f"{label:<44} p50 {xs[len(xs) // 2]:5.1f} ms   min {xs[0]:5.1f}   max {xs[-1]:5.1f}   ({len(xs)} runs)")


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    # Above the fds the child sets up, so that moving one cannot overwrite the other.
    fd = os.open(os.path.join(ROOT, "build", "libimpuls-zygote.so"), os.O_RDONLY)
    lib = os.dup2(fd, 100, inheritable=True)
    os.close(fd)
    zygote, plain = [], []
    for _ in range(runs):  # interleaved: the machine's drift touches both
        zygote.append(zygote_ready_ms(lib))
        plain.append(python_start_ms())
    summary("zygote ready (python3 -s -P zygote.py)", zygote)
    summary("python3 -s -c 'import json, socket'", plain)


if __name__ == "__main__":
    main()
