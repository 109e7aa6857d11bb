"""Through the router, a request to an HTTP-server function goes straight to
its server inside the sandbox and the answer streams back (src/pool/direct.c):
no event, no buffering, no size cap on the answer; still an invocation
(queue, concurrency, timeout, START/END/REPORT)."""
import hashlib
import socket
import threading
import time

from conftest import Daemon
from impuls_daemon import free_port

SERVER = r'''
import hashlib, os, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    def do_GET(self):
        p = self.path
        if p.startswith("/slow"):          # three pieces, 0.4 s apart, no length
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            for i in range(3):
                self.wfile.write(b"piece %d\n" % i); self.wfile.flush(); time.sleep(0.4)
            return
        if p.startswith("/chunked"):       # chunked although we asked in HTTP/1.0
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"alpha ", b"beta ", b"gamma"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\nX-Trailer: dropped\r\n\r\n")
            return
        if p.startswith("/big"):           # 24 MiB, more than any buffered answer may be
            block = bytes(range(256)) * 4096
            self.send_response(200)
            self.send_header("Content-Length", str(len(block) * 24))
            self.end_headers()
            for _ in range(24):
                self.wfile.write(block)
            return
        if p.startswith("/forever"):       # starts, then never ends
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"begun\n"); self.wfile.flush()
            time.sleep(60)
            return
        if p.startswith("/garbage"):
            self.wfile.write(b"SPDY/9 nonsense\r\n\r\n")
            return
        if p.startswith("/hangup"):
            self.connection.shutdown(2)
            return
        if p.startswith("/crash"):
            os._exit(3)
        body = ("%s %s %s %s" % (self.command, self.path, self.headers.get("X-Thing"),
                                 self.headers.get("Connection"))).encode()
        self.send_response(203, "Fine Thanks")
        self.send_header("Set-Cookie", "a=1")
        self.send_header("Set-Cookie", "b=2")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(n)
        out = hashlib.sha256(data).hexdigest().encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    def log_message(self, *a):
        pass

ThreadingHTTPServer(("127.0.0.1", 8000), H).serve_forever()
'''


def raw(port, request, timeout=30):
    """Sends request bytes to the router; returns [(seconds since send, bytes)]."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    t0 = time.monotonic()
    s.sendall(request)
    got = []
    while True:
        try:
            d = s.recv(1 << 20)
        except ConnectionResetError:
            got.append((time.monotonic() - t0, None))
            break
        if not d:
            got.append((time.monotonic() - t0, b""))  # the close, and when
            break
        got.append((time.monotonic() - t0, d))
    s.close()
    return got


def get(port, path, headers=""):
    return raw(port, f"GET /invoke/srv{path} HTTP/1.1\r\nHost: fn.localhost\r\nConnection: close\r\n{headers}\r\n".encode())


def split(got):
    data = b"".join(d for _, d in got if d)
    head, _, body = data.partition(b"\r\n\r\n")
    return head.decode(), body


def dechunk(body):
    out, rest = b"", body
    while True:
        size, _, rest = rest.partition(b"\r\n")
        n = int(size, 16)
        if n == 0:
            return out
        out, rest = out + rest[:n], rest[n + 2:]


def router_error(port, path):
    """(status, error JSON) of a buffered answer from the router."""
    import json
    head, body = split(get(port, path))
    return int(head.split(" ")[1]), json.loads(body)


def make(d, **kw):
    return d.create(name="srv", runtime="python311", mode="http", handler="server.py", code=SERVER, **kw)


def test_request_reaches_the_server_intact_and_headers_come_back_separate(routed):
    make(routed)
    head, body = split(get(routed.router_port, "/a/b%20c?x=1&y=2", "X-Thing: yes\r\n"))
    lines = head.split("\r\n")
    assert lines[0] == "HTTP/1.1 203 Fine Thanks"
    assert [l for l in lines if l.startswith("Set-Cookie")] == ["Set-Cookie: a=1", "Set-Cookie: b=2"]
    assert any(l.startswith("X-Impuls-Request-Id: ") for l in lines)
    assert "Transfer-Encoding: chunked" in lines
    # Hop-by-hop headers are the daemon's: the server sees its own Connection: close.
    assert dechunk(body) == b"GET /a/b%20c?x=1&y=2 yes close"
    log = routed.request("GET", "/api/v1/functions/srv/logs?tail=3").body.decode().splitlines()
    assert log[0].startswith("START RequestId: ") and log[1].startswith("END RequestId: ")
    assert log[2].startswith("REPORT RequestId: ") and "Init Duration: " in log[2]


def test_pieces_arrive_as_the_server_writes_them(routed):
    make(routed)
    get(routed.router_port, "/warm")  # the cold start is not what is measured
    got = get(routed.router_port, "/slow")
    head, body = split(got)
    assert head.startswith("HTTP/1.1 200 OK") and dechunk(body) == b"piece 0\npiece 1\npiece 2\n"
    first_piece = next(t for t, d in got if d and b"piece 0" in d)
    last_piece = next(t for t, d in got if d and b"piece 2" in d)
    assert last_piece - first_piece >= 0.5, got  # written 0.8 s apart: not buffered until the end


def test_a_chunked_answer_is_decoded_and_framed_again(routed):
    make(routed)
    head, body = split(get(routed.router_port, "/chunked"))
    assert head.startswith("HTTP/1.1 200 OK")
    assert dechunk(body) == b"alpha beta gamma"


def test_answers_beyond_six_mib_stream_and_uploads_arrive_whole(routed):
    make(routed)
    head, body = split(get(routed.router_port, "/big"))
    block = bytes(range(256)) * 4096
    assert head.startswith("HTTP/1.1 200 OK")
    assert hashlib.sha256(dechunk(body)).hexdigest() == hashlib.sha256(block * 24).hexdigest()
    payload = bytes(range(256)) * 20000  # 5 MB
    req = (b"POST /invoke/srv/up HTTP/1.1\r\nHost: fn.localhost\r\nConnection: close\r\n"
           b"Content-Length: %d\r\n\r\n" % len(payload)) + payload
    head, body = split(raw(routed.router_port, req))
    assert head.startswith("HTTP/1.1 200 OK") and dechunk(body) == hashlib.sha256(payload).hexdigest().encode()


def test_bad_answers_are_502_and_the_instance_serves_on(routed):
    make(routed)
    status, err = router_error(routed.router_port, "/garbage")
    assert (status, err["errorType"], err["errorMessage"]) == (
        502, "Runtime.HttpServerError",
        "the function's server failed the request: its answer does not start with an HTTP status line of 200 to 599")
    status, err = router_error(routed.router_port, "/hangup")
    assert (status, err["errorMessage"]) == (
        502, "the function's server failed the request: the function's server closed the connection without an answer")
    head, body = split(get(routed.router_port, "/fine"))
    assert head.startswith("HTTP/1.1 203") and dechunk(body) == b"GET /fine None close"
    assert len(routed.instances("srv")) == 1


def test_a_server_that_dies_mid_call_is_a_502_and_is_replaced(routed):
    make(routed)
    get(routed.router_port, "/warm")
    pid = routed.instances("srv")[0]["pid"]
    status, err = router_error(routed.router_port, "/crash")
    assert status == 502 and err["errorType"] in ("Runtime.HttpServerError", "Runtime.ExitError")
    head, _ = split(get(routed.router_port, "/again"))
    assert head.startswith("HTTP/1.1 203")
    assert [i["pid"] for i in routed.instances("srv")] != [pid]


def test_a_timeout_mid_stream_cuts_the_connection_not_the_body():
    port = free_port()
    d = Daemon(extra_args=["--router-addr", f"127.0.0.1:{port}"]).start()
    try:
        make(d, timeout_s=2)
        got = get(port, "/forever")
        data = b"".join(x for _, x in got if x)
        assert data.startswith(b"HTTP/1.1 200 OK") and b"begun\n" in data
        assert not data.endswith(b"0\r\n\r\n")  # no final chunk: the client sees a cut answer
        assert got[-1][0] >= 1.9
        log = d.request("GET", "/api/v1/functions/srv/logs?tail=5").body.decode()
        assert "REPORT RequestId: " in log
        assert d.instances("srv") == [] or all(i["state"] == "dying" for i in d.instances("srv"))
        head, _ = split(get(port, "/after"))
        assert head.startswith("HTTP/1.1 203")
    finally:
        assert d.stop() == 0
        left = d.leftovers()
        d.cleanup()
        assert left == []


def test_concurrency_one_queues_the_second_stream(routed):
    make(routed, concurrency=1)
    get(routed.router_port, "/warm")
    results = {}

    def call(key):
        results[key] = get(routed.router_port, "/slow")

    threads = [threading.Thread(target=call, args=(k,)) for k in ("a", "b")]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.monotonic() - t0
    for k in ("a", "b"):
        assert dechunk(split(results[k])[1]) == b"piece 0\npiece 1\npiece 2\n"
    assert took >= 2.2  # one after the other: 2 × 1.2 s
    assert len(routed.instances("srv")) == 1


def test_a_client_that_leaves_mid_stream_frees_the_instance(routed):
    make(routed, concurrency=1)
    get(routed.router_port, "/warm")
    s = socket.create_connection(("127.0.0.1", routed.router_port))
    s.sendall(b"GET /invoke/srv/forever HTTP/1.1\r\nHost: fn.localhost\r\n\r\n")
    assert b"begun" in s.recv(4096) or b"begun" in s.recv(4096)
    s.close()
    # The server still sleeps in that request, but the call is over for the
    # daemon once it notices: the next call is served by the same instance.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        head, _ = split(get(routed.router_port, "/next"))
        if head.startswith("HTTP/1.1 203"):
            break
        time.sleep(0.2)
    assert head.startswith("HTTP/1.1 203")
