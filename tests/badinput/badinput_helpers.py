"""Shared pieces of the bad-input suite (tests/badinput).

Every module gets ONE daemon (the `box` fixture, module scope) holding a
pre-existing function "keep". Each bad request goes through Box.reject(),
which asserts the exact status and error JSON and then that nothing was
stored or changed:

  * GET /api/v1/functions is byte-for-byte the same,
  * GET /api/v1/functions/keep (and ?code=true) is byte-for-byte the same
    (so version and updated_at did not move),
  * no file appeared, vanished or changed under <data_dir>/code and
    <data_dir>/tasks (a leftover *.tmp dir counts),
  * "keep" was not invoked by the bad request (its log has as many START
    lines as before), and it still invokes correctly afterwards,
  * the daemon process is still alive.

At module end the daemon is stopped with SIGTERM and must exit 0 and leave
nothing behind, as tests/conftest.py demands of its per-test daemons.
"""
import base64
import json
import os
import socket
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from impuls_daemon import Daemon, NODE_HELLO, Response  # noqa: E402

FN = "/api/v1/functions"
KEEP = "keep"
HELLO = b"Hello from Impuls!"
PATH_NAME_MSG = "function name must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
BODY_NAME_MSG = "name must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
IPV = "InvalidParameterValueException"
IRC = "InvalidRequestContentException"

# libevent's own answers (the request never reaches Impuls' handlers).
LIBEVENT_413 = (b"<HTML><HEAD>\n<TITLE>413 Request Entity Too Large</TITLE>\n</HEAD><BODY>\n"
                b"<H1>Request Entity Too Large</H1>\n</BODY></HTML>\n")
LIBEVENT_400 = (b"<HTML><HEAD>\n<TITLE>400 Bad Request</TITLE>\n</HEAD><BODY>\n"
                b"<H1>Bad Request</H1>\n</BODY></HTML>\n")
LIBEVENT_501 = (b"<HTML><HEAD>\n<TITLE>501 Not Implemented</TITLE>\n</HEAD><BODY>\n"
                b"<H1>Not Implemented</H1>\n</BODY></HTML>\n")


def valid_spec(**over):
    """A create body that is valid; override or drop (value None via `drop`) fields."""
    spec = {"name": "fresh", "runtime": "nodejs20", "handler": "index.handler", "code": NODE_HELLO}
    spec.update(over)
    return spec


def without(spec, *keys):
    return {k: v for k, v in spec.items() if k not in keys}


def utf8_cut(s, nbytes):
    """s cut to at most nbytes of UTF-8, at a character boundary."""
    return s.encode()[:nbytes].decode("utf-8", "ignore")


def error_json(r):
    """The error object of a response, failing clearly if the body is not JSON."""
    try:
        return json.loads(r.body)
    except ValueError:
        pytest.fail(f"status {r.status}: the body is not JSON: {r.body[:300]!r}")


def assert_error(r, status, etype, msg):
    """Exact status, Content-Type and error object. msg may be a set of
    acceptable exact messages (used only where two fixes are equally right)."""
    got = error_json(r)
    if isinstance(msg, (set, frozenset)):
        assert r.status == status and set(got) == {"errorType", "errorMessage"} \
            and got["errorType"] == etype and got["errorMessage"] in msg, (r.status, got, msg)
    else:
        assert (r.status, got) == (status, {"errorType": etype, "errorMessage": msg}), r
    assert r.headers["Content-Type"] == "application/json", r.headers


def tree(root):
    """Every entry under root: (relative path, kind, size or link target)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            rel = os.path.relpath(p, root)
            if os.path.islink(p):
                out.append((rel, "link", os.readlink(p)))
            elif os.path.isdir(p):
                out.append((rel, "dir", 0))
            else:
                out.append((rel, "file", os.path.getsize(p)))
    return sorted(out)


class Box:
    """A running daemon plus the checks that a bad request changed nothing."""

    def __init__(self, d):
        self.d = d
        self.keep_initial = None

    @property
    def port(self):
        return self.d.port

    def request(self, method, path, body=None, headers=None, timeout=60):
        return self.d.request(method, path, body, headers, timeout)

    def stored_files(self):
        return {sub: tree(os.path.join(self.d.data_dir, sub)) for sub in ("code", "tasks")}

    def keep_starts(self):
        try:
            with open(os.path.join(self.d.data_dir, "logs", KEEP + ".log"), "rb") as f:
                return f.read().count(b"START RequestId:")
        except FileNotFoundError:
            return 0

    def state(self):
        listing = self.request("GET", FN)
        keep = self.request("GET", f"{FN}/{KEEP}")
        keep_code = self.request("GET", f"{FN}/{KEEP}?code=true")
        assert listing.status == 200 and keep.status == 200 and keep_code.status == 200
        return {"list": listing.body, "keep": keep.body, "keep_code": keep_code.body,
                "files": self.stored_files()}

    def keep_invokes(self):
        r = self.d.invoke(KEEP)
        assert (r.status, r.body) == (200, HELLO), f"keep no longer invokes: {r}"

    def alive(self):
        assert self.d.proc.poll() is None, \
            f"the daemon died (exit {self.d.proc.returncode}): {self.d.read_log()[-3000:]}"

    def snapshot(self):
        self.alive()
        return self.state(), self.keep_starts()

    def unchanged(self, snap):
        before, starts = snap
        self.alive()
        after = self.state()
        assert after["files"] == before["files"], "files under code/ or tasks/ changed"
        assert after == before, "the stored functions changed"
        assert self.keep_starts() == starts, "keep was invoked by a rejected request"
        self.keep_invokes()

    def reject(self, method, path, body=None, status=400, etype=IPV, msg=None, headers=None,
               allow=None):
        """Send a bad request; assert the exact error and that nothing changed."""
        snap = self.snapshot()
        r = self.request(method, path, body, headers)
        try:
            assert_error(r, status, etype, msg)
            if allow is not None:
                assert r.headers["Allow"] == allow, r.headers
            self.unchanged(snap)
        except BaseException:
            self.undo_creates(snap)
            raise
        return r

    def undo_creates(self, snap):
        """After a failed check: delete functions a wrongly accepted request
        created, so that one daemon bug does not cascade into later tests."""
        if self.d.proc.poll() is not None:
            return
        before = {f["name"] for f in json.loads(snap[0]["list"])["functions"]}
        for f in self.request("GET", FN).json()["functions"]:
            if f["name"] not in before:
                self.request("DELETE", f"{FN}/{f['name']}")

    def delete_and_wait(self, name, files_before, timeout=5):
        """Deletes a function this suite created and waits until its files are
        gone: an instance that ran the code holds its dir until it has exited,
        shortly after the delete."""
        r = self.request("DELETE", f"{FN}/{name}")
        assert r.status == 204, r
        deadline = time.monotonic() + timeout
        while self.stored_files() != files_before and time.monotonic() < deadline:
            time.sleep(0.02)
        assert self.stored_files() == files_before, f"deleting {name} left files behind"

    def rejects_raw(self, data, status, body, timeout=10):
        """Send raw bytes on a fresh connection; assert libevent's exact answer
        and that nothing changed."""
        snap = self.snapshot()
        st, hdrs, got = raw_exchange(self.port, data, timeout)
        try:
            assert (st, got) == (status, body), (st, hdrs, got[:300])
            self.unchanged(snap)
        except BaseException:
            self.undo_creates(snap)
            raise
        return hdrs


def box_fixture():
    """A module-scoped fixture: `box = box_fixture()` in a test module."""

    @pytest.fixture(scope="module")
    def box():
        d = Daemon().start()
        d.create(name=KEEP, runtime="nodejs20", handler="index.handler", code=NODE_HELLO,
                 env={"GREETING": "hi"})
        b = Box(d)
        b.keep_invokes()
        b.keep_initial = d.request("GET", f"{FN}/{KEEP}").body
        yield b
        alive = d.proc.poll() is None
        keep_now = d.request("GET", f"{FN}/{KEEP}").body if alive else None
        code = d.stop()
        left = d.leftovers()
        log = d.read_log()
        d.cleanup()
        assert alive, f"the daemon died during the module: {log[-3000:]}"
        assert keep_now == b.keep_initial, "keep changed during the module"
        assert code == 0, f"daemon exit code {code}: {log[-3000:]}"
        assert left == [], f"left behind: {left}"

    return box


# --- raw HTTP -------------------------------------------------------------

def connect(port, timeout=10):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_response(s):
    """Reads one HTTP response from s: (status, headers with lower-case names, body).
    Uses Content-Length when present, else reads until the peer closes."""
    buf = b""
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
            c = s.recv(65536)
            if not c:
                break
            rest += c
        return status, headers, rest[:n]
    while True:
        try:
            c = s.recv(65536)
        except (socket.timeout, ConnectionResetError):
            break
        if not c:
            break
        rest += c
    return status, headers, rest


def raw_exchange(port, data, timeout=10):
    with connect(port, timeout) as s:
        s.sendall(data)
        return read_response(s)


def http_bytes(method, path, body=b"", headers=None, content_length=True):
    h = {"Host": "127.0.0.1"}
    h.update(headers or {})
    if content_length and "Content-Length" not in h and "Transfer-Encoding" not in h:
        h["Content-Length"] = str(len(body))
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items()) + "\r\n"
    return head.encode() + body


def timed_get(port, path="/healthz", timeout=10):
    """A fresh connection, one GET; returns (seconds, status, body)."""
    t = time.monotonic()
    st, _, body = raw_exchange(port, http_bytes("GET", path, headers={"Connection": "close"}), timeout)
    return time.monotonic() - t, st, body


def health_latency_during(port, request):
    """Sends `request` (raw bytes) but its last byte, waits until the daemon
    has buffered it, sends the last byte, and 50 ms later times a GET /healthz
    on another connection. Returns (health seconds, (status, headers, body)
    of the request, request seconds)."""
    with connect(port, timeout=120) as s:
        s.sendall(request[:-1])
        time.sleep(0.2)
        s.sendall(request[-1:])
        t0 = time.monotonic()
        time.sleep(0.05)
        health_took, st, _ = timed_get(port, timeout=120)
        assert st == 200
        answer = read_response(s)
        return health_took, answer, time.monotonic() - t0


def b64(data):
    return base64.b64encode(data).decode()


__all__ = ["Box", "Daemon", "NODE_HELLO", "Response", "FN", "KEEP", "HELLO", "PATH_NAME_MSG",
           "BODY_NAME_MSG", "IPV", "IRC", "LIBEVENT_413", "LIBEVENT_400", "LIBEVENT_501",
           "valid_spec", "without", "utf8_cut", "error_json", "assert_error", "tree",
           "box_fixture", "connect", "read_response", "raw_exchange", "http_bytes", "timed_get",
           "health_latency_during", "b64"]
