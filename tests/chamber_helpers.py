"""Shared pieces of the chamber tests (impulse's POST/GET/DELETE /chambers):
a daemon with its own --chamber-ports range, waiting for a chamber's status,
talking to a chamber's port over raw sockets, and finding its processes."""
import os
import socket
import time

from impuls_daemon import Daemon, free_range, port_free  # noqa: F401  (tests import them from here)


def chamber_daemon(n_ports=8, extra_args=()):
    """A started daemon serving chambers on n_ports free ports; d.ports = (lo, hi).
    No pre-made sandboxes: the tests count the daemon's processes."""
    lo, hi = free_range(n_ports)
    d = Daemon(extra_args=["--chamber-ports", f"{lo}-{hi}", "--prewarm", "0", *extra_args]).start()
    d.ports = (lo, hi)
    return d


def stop_checked(d):
    """What conftest's fixtures check at teardown: exit 0, nothing left."""
    code = d.stop()
    left = d.leftovers()
    log = d.read_log()
    d.cleanup()
    assert code == 0, f"daemon exit code {code}: {log[-3000:]}"
    assert left == [], f"left behind: {left}"


def make_chamber(d, app, version, runtime=None):
    body = {"app": app, "version": version}
    if runtime is not None:
        body["runtime"] = runtime
    r = d.request("POST", "/chambers", body)
    assert r.status == 201, r
    return r.json()


def chamber(d, cid):
    r = d.request("GET", f"/chambers/{cid}")
    assert r.status == 200, r
    return r.json()


def wait_status(d, cid, want, timeout=15):
    """Polls GET /chambers/{id} until its status is `want`; returns the chamber.
    Fails with the last state seen (and the daemon's log) if it never gets there."""
    deadline = time.monotonic() + timeout
    c = chamber(d, cid)
    while c["status"] != want and time.monotonic() < deadline:
        time.sleep(0.05)
        c = chamber(d, cid)
    assert c["status"] == want, (c, d.read_log()[-3000:])
    return c


def start_chamber(d, app, version, runtime=None, timeout=15):
    """POST /chambers, then wait until it is RUNNING; returns the chamber."""
    c = make_chamber(d, app, version, runtime)
    return wait_status(d, c["id"], "RUNNING", timeout)


def delete_chamber(d, cid):
    r = d.request("DELETE", f"/chambers/{cid}")
    assert (r.status, r.body) == (204, b""), r


def connect(port, timeout=30):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_response(s, buf=b""):
    """One HTTP/1.1 response with Content-Length (or until close) from s:
    (status, lower-case headers, body, bytes read past it)."""
    while b"\r\n\r\n" not in buf:
        c = s.recv(65536)
        if not c:
            raise ConnectionError(f"closed before a full response head: {buf!r}")
        buf += c
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    if "content-length" in headers:
        n = int(headers["content-length"])
        while len(rest) < n:
            c = s.recv(1 << 20)
            if not c:
                raise ConnectionError(f"closed after {len(rest)} of {n} body bytes")
            rest += c
        return status, headers, rest[:n], rest[n:]
    while True:
        c = s.recv(1 << 20)
        if not c:
            break
        rest += c
    return status, headers, rest, b""


def http_bytes(method, path, body=b"", headers=None):
    h = {"Host": "127.0.0.1", "Content-Length": str(len(body))}
    h.update(headers or {})
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items()) + "\r\n"
    return head.encode() + body


def get(port, path="/", method="GET", body=b"", headers=None, timeout=30):
    """One request on a fresh connection to a chamber's port: (status, headers, body)."""
    with connect(port, timeout) as s:
        s.sendall(http_bytes(method, path, body, dict({"Connection": "close"}, **(headers or {}))))
        st, h, b, _ = read_response(s)
        return st, h, b


def refused(port):
    """Whether a connection to the port is refused."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            return False
    except ConnectionRefusedError:
        return True


def daemon_processes(d):
    """(pid, cmdline) of every process in the daemon's cgroups (its sandboxes)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cgroup") as f:
                if d.cgroup_parent() not in f.read():
                    continue
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().split(b"\0")
        except OSError:
            continue
        found.append((int(pid), [a.decode(errors="replace") for a in cmd if a]))
    return sorted(found)


def pids_running(d, needle):
    """Pids of the daemon's sandboxed processes whose command line holds needle."""
    return [pid for pid, cmd in daemon_processes(d) if any(needle in a for a in cmd)]


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def wait_for(cond, timeout=10.0, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(step)
    return cond()


# A Python http.server answering GET / with a fixed text (its version).
def py_text_server(text):
    return r'''
import os
from http.server import BaseHTTPRequestHandler, HTTPServer

class H(BaseHTTPRequestHandler):
    def do_GET(self):
        b = %r.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    do_POST = do_GET
    def log_message(self, *a):
        pass

HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
''' % text


# A keep-alive Python server for raw-TCP tests:
#   GET /conn         -> "<client port>" (the same on one kept-alive connection)
#   POST /sum         -> "<length> <sha256>" of the body (read in 64 KiB pieces)
#   GET /big?n=N      -> N bytes of a repeating pattern
#   POST /stream      -> "first\n", then waits for its 3-byte body, then "last:<body>\n"
#   POST /deaf        -> never reads its body; answers after 60 s
PY_RAW_SERVER = r'''
import hashlib, os, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PATTERN = bytes(range(256)) * 256

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, body, ctype="text/plain"):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/conn":
            return self.reply(str(self.client_address[1]).encode())
        if self.path.startswith("/big?n="):
            n = int(self.path.split("=")[1])
            self.send_response(200)
            self.send_header("Content-Length", str(n))
            self.end_headers()
            while n > 0:
                chunk = PATTERN[:min(n, len(PATTERN))]
                self.wfile.write(chunk)
                n -= len(chunk)
            return
        self.reply(b"raw server")

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        if self.path == "/sum":
            h, got = hashlib.sha256(), 0
            while got < n:
                c = self.rfile.read(min(65536, n - got))
                if not c:
                    break
                h.update(c)
                got += len(c)
            return self.reply(f"{got} {h.hexdigest()}".encode())
        if self.path == "/stream":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"first\n")
            self.wfile.flush()
            go = self.rfile.read(n)
            self.wfile.write(b"last:" + go + b"\n")
            self.wfile.flush()
            self.close_connection = True
            return
        if self.path == "/deaf":
            time.sleep(60)
            return self.reply(b"late")
        self.reply(b"?")

    def log_message(self, *a):
        pass

ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
'''
