#!/usr/bin/env python3
"""How much one warm instance grows over many calls: a Node and a Python
function that report their runtime's VmRSS, called N times in a row over one
keep-alive connection after a warm-up. A per-call leak in a runtime shows up
here long before it shows up as an instance killed at its memory limit (it
found glibc's setenv keeping every call's _X_AMZN_TRACE_ID, ~150 bytes a
call; docs/runtimes.md, "Environment").

  python3 bench/instance_rss.py [CALLS]       (default 20000)

Prints the growth in KiB and bytes per call for each runtime."""
import json
import os
import socket
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
from impuls_daemon import Daemon  # noqa: E402

WARMUP = 3000
NODE = r'''
exports.handler = async (e) => e.rss
  ? Number(/VmRSS:\s+(\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1]) : 'ok';
'''
PYTHON = r'''
def handler(e, c):
    if e.get("rss"):
        with open("/proc/self/status") as f:
            return int(next(l for l in f if l.startswith("VmRSS")).split()[1])
    return "ok"
'''


class Caller:
    """POSTs over one kept-alive connection, each request in one write."""

    def __init__(self, port, name):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rfile = self.sock.makefile("rb")
        self.path = f"/api/v1/functions/{name}/invoke"

    def __call__(self, event):
        body = json.dumps(event).encode()
        self.sock.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s"
                          % (self.path.encode(), len(body), body))
        status = int(self.rfile.readline().split()[1])
        length = 0
        while (line := self.rfile.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        data = self.rfile.read(length)
        if status != 200:
            raise RuntimeError(f"{self.path}: {status} {data[:200]!r}")
        return json.loads(data)


def main():
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    d = Daemon().start()
    try:
        d.create(name="rss-node", runtime="nodejs20", handler="index.handler", code=NODE)
        d.create(name="rss-python", runtime="python311", handler="main.handler", code=PYTHON)
        for name in ("rss-node", "rss-python"):
            call = Caller(d.port, name)
            for _ in range(WARMUP):
                call({})
            before = call({"rss": 1})
            for _ in range(calls):
                call({})
            grew = call({"rss": 1}) - before
            print(f"{name}: VmRSS {before} -> {before + grew} KiB over {calls} calls: "
                  f"{grew} KiB, {grew * 1024 / calls:.0f} bytes a call")
    finally:
        d.stop()
        d.cleanup()


if __name__ == "__main__":
    main()
