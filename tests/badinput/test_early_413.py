"""A body over a listener's limit is refused with 413 and `Connection: close`
before it is read; the connection then ends with a lingering close, as nginx
does: the daemon reads and throws away what the client still sends, for a
bounded time and size, so that a client that sends its whole body before it
reads (Python's http.client, urllib, requests) sees the 413 instead of hanging
or a reset. Tried with http.client and curl on every listener that has a body
limit: the API (REST, Lambda, Glambdar routes), the router and a chamber's port.

The limits: the API's 50 MiB, the router's and a chamber's 6 MiB; the linger:
5 s without a byte, 30 s in all, 128 MiB (src/http/conn_limit.c)."""
import http.client
import subprocess
import tempfile
import time

import pytest

from badinput_helpers import LIBEVENT_413, connect, http_bytes, read_response
from chamber_helpers import chamber_daemon, rss_kib, start_chamber, stop_checked
from impuls_daemon import free_port

MIB = 1024 * 1024
API_MAX = 50 * MIB
ROUTER_MAX = 6 * MIB
LINGER_IDLE_S = 5
LINGER_MAX = 128 * MIB
CLIENT_TIMEOUT = 60  # far above what any of these takes; a hang shows as a timeout

NODE_HELLO = "exports.handler = async () => ({statusCode: 200, body: 'hello'})"


@pytest.fixture(scope="module")
def d():
    """One daemon with the router and chambers; a function `hi` to aim at."""
    router = free_port()
    d = chamber_daemon(4, extra_args=["--router-addr", f"127.0.0.1:{router}"])
    d.router_port = router
    d.create(name="hi", runtime="nodejs20", code=NODE_HELLO, version_label="v1")
    d.chamber_port = start_chamber(d, "hi", "v1")["port"]
    yield d
    stop_checked(d)


# (listener, method, path, limit, extra headers)
TARGETS = {
    "rest_create": ("api", "POST", "/api/v1/functions", API_MAX, {"Content-Type": "application/json"}),
    "rest_invoke": ("api", "POST", "/api/v1/functions/hi/invoke", API_MAX, {}),
    "lambda_invoke": ("api", "POST", "/2015-03-31/functions/hi/invocations", API_MAX, {}),
    "glambdar_deploy": ("api", "POST", "/deploy", API_MAX,
                        {"Content-Type": "multipart/form-data; boundary=XyZ"}),
    "glambdar_invoke": ("api", "POST", "/invoke/hi", API_MAX, {}),
    "router": ("router", "POST", "/invoke/hi", ROUTER_MAX + 1, {"Host": "fn.localhost"}),
    "chamber": ("chamber", "POST", "/", 6 * MIB + 1, {}),
}


def port_of(d, listener):
    return {"api": d.port, "router": d.router_port, "chamber": d.chamber_port}[listener]


def healthy(d):
    assert d.proc.poll() is None, d.read_log()[-3000:]
    r = d.invoke("hi")
    assert (r.status, r.body) == (200, b"hello")


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_http_client_that_sends_all_first_gets_the_413(d, target):
    listener, method, path, limit, headers = TARGETS[target]
    c = http.client.HTTPConnection("127.0.0.1", port_of(d, listener), timeout=CLIENT_TIMEOUT)
    try:
        c.request(method, path, body=b"x" * (limit + MIB), headers=headers)  # sendall, then read
        r = c.getresponse()
        assert (r.status, r.getheader("Connection"), r.read()) == (413, "close", LIBEVENT_413)
    finally:
        c.close()
    healthy(d)


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_curl_gets_the_413(d, target):
    listener, method, path, limit, headers = TARGETS[target]
    with tempfile.NamedTemporaryFile() as f:
        f.truncate(limit + MIB)
        f.flush()
        hdr_args = [a for k, v in headers.items() for a in ("-H", f"{k}: {v}")]
        out = subprocess.run(["curl", "-sS", "-X", method, "--data-binary", f"@{f.name}", *hdr_args,
                              "-D", "-", "-o", "/dev/null", "--max-time", str(CLIENT_TIMEOUT),
                              f"http://127.0.0.1:{port_of(d, listener)}{path}"],
                             capture_output=True, text=True, timeout=CLIENT_TIMEOUT + 10)
    assert out.returncode == 0, out.stderr
    head = out.stdout.lower()
    assert head.startswith("http/1.1 413 "), head
    assert "\nconnection: close\n" in head, head  # text mode: CRLF read as LF
    healthy(d)


def connections(d):
    return d.request("GET", "/healthz").json()["connections"]


def wait_connections(d, n, timeout):
    deadline = time.monotonic() + timeout
    while connections(d) != n and time.monotonic() < deadline:
        time.sleep(0.05)
    return connections(d)


def test_a_silent_client_is_let_go_after_the_idle_linger(d):
    # The 413 is answered (and the daemon's side shut for writing), the client
    # sends a little more and then nothing: the daemon still reads a second
    # later, and closes the connection after LINGER_IDLE_S without a byte, long
    # before its 60 s request timeout; the connection then no longer counts.
    before = connections(d)
    with connect(d.port, timeout=CLIENT_TIMEOUT) as s:
        s.sendall(http_bytes("POST", "/api/v1/functions", headers={"Content-Length": str(API_MAX + 1)}))
        status, hdrs, body = read_response(s)
        assert (status, hdrs["connection"], body) == (413, "close", LIBEVENT_413)
        s.sendall(b"x" * 1000)  # lingering starts with these bytes
        time.sleep(1)
        assert connections(d) == before + 1
        s.sendall(b"x" * 1000)  # still read: the idle time starts again
        assert wait_connections(d, before, LINGER_IDLE_S + 10) == before
        time.sleep(0.2)  # the RST of the daemon's closed socket to this send
        with pytest.raises((BrokenPipeError, ConnectionResetError)):
            s.sendall(b"x")
            time.sleep(0.2)
            s.sendall(b"x")
    healthy(d)


def test_a_client_that_keeps_sending_is_cut_off_after_the_size_bound(d):
    # Past LINGER_MAX bytes the daemon stops reading and closes: the client's
    # sends then fail (a reset), and the daemon's memory did not hold them.
    rss_before = rss_kib(d.proc.pid)
    sent = 0
    with connect(d.port, timeout=CLIENT_TIMEOUT) as s:
        s.sendall(http_bytes("POST", "/api/v1/functions", headers={"Content-Length": str(4 * LINGER_MAX)}))
        block = b"x" * MIB
        with pytest.raises((BrokenPipeError, ConnectionResetError)):
            while sent < 3 * LINGER_MAX:
                s.sendall(block)
                sent += len(block)
    assert LINGER_MAX <= sent < 3 * LINGER_MAX, sent
    assert rss_kib(d.proc.pid) - rss_before < 32 * 1024
    healthy(d)

