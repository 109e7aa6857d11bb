"""Hostile functions run as chambers: a chamber's port forwards raw TCP into
its sandbox, so the sandbox must still see nothing of the host, a flood of
connections must cost the chamber and not the daemon (at most 512 each), and
a server that never reads must not make the daemon buffer what it is sent."""
import json
import select
import socket
import threading
import time

import pytest

from hostile import host_ipv4
from chamber_helpers import (PY_RAW_SERVER, chamber_daemon, daemon_processes, delete_chamber, fd_count, get,
                             http_bytes, refused, rss_kib, start_chamber, stop_checked, wait_for)

MiB = 1 << 20

# GET /connect?host=H&port=P -> the errno name of a TCP connect from inside.
PROBE_SERVER = r'''
import errno, json, os, socket
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse

def connect(host, port):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(3)
    try:
        s.connect((host, port))
        return "CONNECTED"
    except socket.timeout:
        return "TIMEOUT"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
    finally:
        s.close()

class H(BaseHTTPRequestHandler):
    def do_GET(self):
        q = parse_qs(urlparse(self.path).query)
        out = json.dumps(connect(q["host"][0], int(q["port"][0]))).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    def log_message(self, *a):
        pass

HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
'''

PROBE_HANDLER = r'''
import errno, json, socket

def handler(event, context):
    q = dict(p.split("=", 1) for p in event["rawQueryString"].split("&"))
    host, port = q["host"], int(q["port"])
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(3)
    try:
        s.connect((host, port))
        r = "CONNECTED"
    except socket.timeout:
        r = "TIMEOUT"
    except OSError as e:
        r = errno.errorcode.get(e.errno, str(e.errno))
    finally:
        s.close()
    return {"statusCode": 200, "body": json.dumps(r)}
'''

# Accepts every connection and keeps it; answers each "GET" with "held N".
HOLDING_SERVER = r'''
import os, selectors, socket
sel = selectors.DefaultSelector()
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(os.environ["PORT"])))
srv.listen(1024)
srv.setblocking(False)
sel.register(srv, selectors.EVENT_READ)
conns = set()
while True:
    for key, _ in sel.select():
        if key.fileobj is srv:
            try:
                c, _ = srv.accept()
            except OSError:
                continue
            c.setblocking(False)
            conns.add(c)
            sel.register(c, selectors.EVENT_READ)
        else:
            c = key.fileobj
            try:
                data = c.recv(65536)
            except OSError:
                data = b""
            if not data:
                sel.unregister(c)
                conns.discard(c)
                c.close()
            elif data.startswith(b"GET"):
                body = ("held %d" % len(conns)).encode()
                c.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
'''


@pytest.fixture
def cd():
    # --init-timeout 120: a chamber is killed --init-timeout seconds after its
    # start (see test_chambers.py::test_a_chamber_lives_past_the_init_timeout);
    # these tests are about something else.
    d = chamber_daemon(4, ["--init-timeout", "120"])
    yield d
    stop_checked(d)


def assert_daemon_fine(d):
    assert d.proc.poll() is None, d.read_log()[-3000:]
    h = d.request("GET", "/healthz", timeout=10)
    assert h.status == 200 and h.json()["status"] == "ok", h


def reach(port, host, target_port):
    st, _, body = get(port, f"/connect?host={host}&port={target_port}", timeout=30)
    assert st == 200, body
    return json.loads(body)


@pytest.mark.parametrize("mode", ["http", "handler"])
def test_a_chamber_cannot_reach_the_daemon_or_the_host(cd, mode):
    if mode == "http":
        cd.create(name="probe", runtime="python311", mode="http", handler="main.py", code=PROBE_SERVER,
                  version_label="p")
    else:
        cd.create(name="probe", runtime="python311", code=PROBE_HANDLER, version_label="p")
    c = start_chamber(cd, "probe", "p")
    lo, hi = cd.ports
    # The daemon's API, its own chamber port and the other chamber ports, as
    # the host sees them: inside the sandbox 127.0.0.1 is its own loopback.
    assert reach(c["port"], "127.0.0.1", cd.port) == "ECONNREFUSED"
    assert reach(c["port"], "::1", cd.port) == "ECONNREFUSED"
    for p in range(lo, hi + 1):
        assert reach(c["port"], "127.0.0.1", p) == "ECONNREFUSED"
    # Its own Runtime API is inside (9001); a handler chamber's server is not on 8000.
    assert reach(c["port"], "127.0.0.1", 8000) == ("CONNECTED" if mode == "http" else "ECONNREFUSED")
    ip = host_ipv4()
    if ip is not None:
        assert reach(c["port"], ip, cd.port) == "ENETUNREACH"
    assert reach(c["port"], "1.1.1.1", 443) == "ENETUNREACH"
    assert reach(c["port"], "10.0.2.2", 80) == "ENETUNREACH"
    assert_daemon_fine(cd)
    delete_chamber(cd, c["id"])


def test_600_connections_are_capped_at_512_and_the_daemon_answers(cd):
    cd.create(name="holder", runtime="python311", mode="http", handler="main.py", code=HOLDING_SERVER,
              version_label="h")
    c = start_chamber(cd, "holder", "h")
    pid = cd.proc.pid
    fds_before = fd_count(pid)
    socks = []
    try:
        for _ in range(600):
            s = socket.create_connection(("127.0.0.1", c["port"]), timeout=10)
            socks.append(s)
        # The daemon closes the 88 beyond the cap as it accepts them: wait
        # (bounded) until 88 are readable (EOF or reset), then look at all of
        # them at once, a moment later, so that one closed too many shows.
        poll = select.poll()
        for s in socks:
            poll.register(s, select.POLLIN)
        index = {s.fileno(): i for i, s in enumerate(socks)}
        deadline = time.monotonic() + 30
        while len(poll.poll(100)) < 88 and time.monotonic() < deadline:
            pass
        time.sleep(0.2)
        closed = sorted(index[fd] for fd, _ in poll.poll(0))
        for i in closed:
            try:
                assert socks[i].recv(1) == b"", i  # EOF, nothing sent
            except ConnectionResetError:
                pass
        assert closed == list(range(512, 600)), f"{len(closed)} closed: the first 512 connections are the ones kept"
        # The kept ones really reach the server.
        socks[0].settimeout(10)
        socks[0].sendall(b"GET / HTTP/1.1\r\n\r\n")
        got = b""
        while b"held" not in got or not got.rstrip().split()[-1].isdigit():
            chunk = socks[0].recv(4096)
            assert chunk, got
            got += chunk
        assert got.endswith(b"held 512"), got
        # The daemon is not hurt: its API answers and a new connection is refused at once.
        assert_daemon_fine(cd)
        extra = socket.create_connection(("127.0.0.1", c["port"]), timeout=5)
        extra.settimeout(5)
        assert extra.recv(1) == b""
        extra.close()
    finally:
        for s in socks:
            s.close()
    # Closing them frees the slots.
    time.sleep(0.5)
    st, _, body = get(c["port"], "/", timeout=10)
    assert (st, body) == (200, b"held 1")
    assert wait_for(lambda: fd_count(pid) <= fds_before + 2, timeout=10), (fds_before, fd_count(pid))
    delete_chamber(cd, c["id"])
    assert wait_for(lambda: fd_count(pid) <= fds_before - 2, timeout=10), (fds_before, fd_count(pid))


def test_a_server_that_never_reads_does_not_grow_the_daemon(cd):
    cd.create(name="deaf", runtime="python311", mode="http", handler="main.py", code=PY_RAW_SERVER,
              version_label="d")
    c = start_chamber(cd, "deaf", "d")
    pid = cd.proc.pid
    rss_before = rss_kib(pid)
    total = 50 * MiB
    sent = [0]
    stop = threading.Event()
    s = socket.create_connection(("127.0.0.1", c["port"]), timeout=60)

    def pump():
        s.sendall(http_bytes("POST", "/deaf", b"", {"Content-Length": str(total)}))
        chunk = b"x" * (256 * 1024)
        try:
            while sent[0] < total and not stop.is_set():
                s.sendall(chunk)
                sent[0] += len(chunk)
        except OSError:
            pass

    t = threading.Thread(target=pump, daemon=True)
    t.start()
    try:
        # Wait until sending stalls (the buffers on the way are full).
        last, still = -1, 0
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and still < 10:
            time.sleep(0.1)
            still = still + 1 if sent[0] == last else 0
            last = sent[0]
        assert sent[0] < total, "50 MiB went through a server that never reads"
        grown = rss_kib(pid) - rss_before
        assert grown < 20 * 1024, f"the daemon grew by {grown} KiB with {sent[0]} bytes sent"
        assert_daemon_fine(cd)
        st, _, _ = get(c["port"], "/", timeout=10)  # the chamber still serves other clients
        assert st == 200
    finally:
        stop.set()
        s.close()
        t.join(10)
    delete_chamber(cd, c["id"])
    assert wait_for(lambda: daemon_processes(cd) == [], timeout=20), daemon_processes(cd)
    assert refused(c["port"])
