"""Clients that are slow, stuck, greedy or gone must not block anyone else:
the daemon is one event loop, so any blocking read would stall every client.
These tests stay short: they never wait for the 60 s server timeout (the
daemon has no flag to shorten it), they only show that others are served
while the bad clients are pending."""
import contextlib
import socket
import time

import pytest

from badinput_helpers import (FN, HELLO, IPV, KEEP, assert_error, box_fixture, connect, http_bytes,
                              read_response, timed_get)
from impuls_daemon import Response

box = box_fixture()

FAST = 1.0  # seconds; generous (ASan build, shared cores), far below any trickle here


def assert_served_fast(box, path="/healthz"):
    took, status, body = timed_get(box.port, path)
    assert status == 200, body
    assert took < FAST, f"a normal request took {took:.2f}s while bad clients were pending"


def nothing_received(sock):
    sock.setblocking(False)
    try:
        data = sock.recv(65536)
    except BlockingIOError:
        return True
    finally:
        sock.setblocking(True)
    return data == b""  # b"" would mean closed, which is not "pending" either


@contextlib.contextmanager
def sockets(port, n):
    socks = []
    try:
        for _ in range(n):
            socks.append(connect(port))
        yield socks
    finally:
        for s in socks:
            s.close()


def test_slowloris_headers_do_not_block_others(box):
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 1000
    with connect(box.port) as slow:
        for i in range(40):  # about 2 s of one byte every 50 ms, never finished
            slow.sendall(head[i:i + 1])
            if i % 8 == 7:
                assert_served_fast(box)
                assert_served_fast(box, f"{FN}/{KEEP}")
            time.sleep(0.05)
        r = box.d.invoke(KEEP)
        assert (r.status, r.body) == (200, HELLO)
        assert nothing_received(slow), "the unfinished request was answered"


def test_fifty_slowloris_connections_do_not_block_others(box):
    with sockets(box.port, 50) as socks:
        for s in socks:
            s.sendall(b"POST /api/v1/functions HTTP/1.1\r\nHost: x\r\nContent-")
        for _ in range(5):
            assert_served_fast(box)
        box.reject("POST", FN, {"name": "x", "runtime": "cobol", "code": "x"}, 400, IPV,
                   "unknown runtime 'cobol' (see GET /api/v1/runtimes)")
        assert all(nothing_received(s) for s in socks)


def test_a_trickled_body_does_not_block_others_and_is_answered_when_complete(box):
    snap = box.snapshot()
    body = b'{"name":"slow","runtime":"cobol","code":"exports.handler=async()=>1"}'
    with connect(box.port) as slow:
        slow.sendall(http_bytes("POST", FN, headers={"Content-Length": str(len(body))}))
        for i, byte in enumerate(body):
            slow.sendall(bytes([byte]))
            if i % 10 == 9:
                assert_served_fast(box)
                assert nothing_received(slow)
            time.sleep(0.025)
        status, headers, got = read_response(slow)
    assert_error(Response(status, {"Content-Type": headers.get("content-type")}, got), 400, IPV,
                 "unknown runtime 'cobol' (see GET /api/v1/runtimes)")
    box.unchanged(snap)


def test_a_client_that_never_reads_its_answers_does_not_block_others(box):
    with connect(box.port) as greedy:
        greedy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        greedy.setblocking(False)
        req = http_bytes("GET", f"{FN}/{KEEP}/logs?tail=10000")
        sent = 0
        with contextlib.suppress(BlockingIOError):
            for _ in range(3000):
                sent += greedy.send(req)
        assert sent > 100 * len(req)
        for _ in range(5):
            assert_served_fast(box)
        box.keep_invokes()


@pytest.mark.parametrize("sent_fraction", [0, 0.5], ids=["after_headers", "mid_body"])
def test_a_client_that_hangs_up_mid_body_stores_nothing(box, sent_fraction):
    snap = box.snapshot()
    body = b'{"name":"gone","runtime":"nodejs20","code":"exports.handler=async()=>1"}'
    with connect(box.port) as s:
        s.sendall(http_bytes("POST", FN, headers={"Content-Length": str(len(body) + 1)})
                  + body[:int(len(body) * sent_fraction)])
        time.sleep(0.05)
    time.sleep(0.1)
    box.unchanged(snap)
    assert box.request("GET", f"{FN}/gone").status == 404


def test_a_client_that_hangs_up_during_an_invocation(box):
    code = "exports.handler = async () => { await new Promise(r => setTimeout(r, 400)); return 'done'; }"
    files = box.stored_files()
    r = box.request("POST", FN, {"name": "sleepy", "runtime": "nodejs20", "code": code})
    assert r.status == 201, r
    try:
        for _ in range(3):
            with connect(box.port) as s:
                s.sendall(http_bytes("POST", f"{FN}/sleepy/invoke", b"{}"))
                time.sleep(0.1)
        assert_served_fast(box)
        time.sleep(0.6)  # the abandoned calls finish and answer nobody
        box.alive()
        r = box.d.invoke("sleepy")
        assert (r.status, r.body) == (200, b'"done"')
        box.keep_invokes()
    finally:
        box.delete_and_wait("sleepy", files)


def test_200_idle_connections_do_not_block_a_request(box):
    with sockets(box.port, 200) as socks:
        time.sleep(0.1)
        assert_served_fast(box)
        box.keep_invokes()
        box.reject("PUT", f"{FN}/{KEEP}", {"memory_mb": 0}, 400, IPV, "memory_mb must be between 64 and 10240")
        assert all(nothing_received(s) for s in socks[:10])


def test_200_connections_with_half_sent_requests_do_not_block_a_request(box):
    with sockets(box.port, 200) as socks:
        for s in socks:
            s.sendall(http_bytes("POST", FN, headers={"Content-Length": "100"}) + b'{"name":')
        time.sleep(0.1)
        assert_served_fast(box)
        box.keep_invokes()
        assert box.request("GET", FN).json()["count"] == 1


def pipelined(port, reqs, expected, timeout=3):
    """Sends reqs in one write and reads the answers. A server may close the
    connection instead of answering the rest (a pipelining client retries
    them, RFC 9112 9.3.2); it may not leave a request unanswered."""
    got = []
    with connect(port, timeout) as s:
        s.sendall(b"".join(reqs))
        for _ in reqs:
            try:
                got.append(read_response(s))
            except socket.timeout:
                pytest.fail(f"pipelined request {len(got) + 1} of {len(reqs)} got no answer in {timeout}s "
                            f"and the connection stayed open; statuses so far {[g[0] for g in got]}, "
                            f"expected {[e[0] for e in expected]}")
            except ConnectionError:
                break
    return got


def test_pipelined_bad_requests_are_answered_in_order_on_one_connection(box):
    snap = box.snapshot()
    reqs = [
        http_bytes("POST", FN, b'{"name":"p1","runtime":"nodejs20"'),
        http_bytes("DELETE", f"{FN}/{KEEP}/invoke"),
        http_bytes("PUT", f"{FN}/{KEEP}", b'{"memory_mb":1}'),
        http_bytes("GET", f"{FN}/missing"),
        http_bytes("POST", f"{FN}/{KEEP}/invoke", b"not json"),
        http_bytes("GET", f"{FN}/{KEEP}"),
    ]
    expected = [
        (400, b'{"errorType":"InvalidRequestContentException","errorMessage":"request body is not valid JSON: '
              b'\'}\' expected near end of file (line 1, column 33)"}'),
        (405, b'{"errorType":"MethodNotAllowed","errorMessage":"method not allowed here; allowed: POST"}'),
        (400, b'{"errorType":"InvalidParameterValueException","errorMessage":"memory_mb must be between 64 and 10240"}'),
        (404, b'{"errorType":"ResourceNotFoundException","errorMessage":"function \'missing\' not found"}'),
        (400, b'{"errorType":"InvalidRequestContentException","errorMessage":"the event is not valid JSON: '
              b'invalid token near \'not\'"}'),
        (200, snap[0]["keep"]),
    ]
    # A stall is intermittent (about one try in five): try 30 times.
    for _ in range(30):
        got = pipelined(box.port, reqs, expected)
        assert len(got) >= 1
        assert [(st, body) for st, _, body in got] == expected[:len(got)]
    box.unchanged(snap)


def test_bytes_after_a_connection_close_answer_are_not_buffered(box):
    # After answering a request that said `Connection: close`, evhttp lets go of
    # the connection; the connection limit keeps it open for a lingering close
    # (src/http/conn_limit.c): what the client still writes is read and thrown
    # away, never piled up in the daemon. 64 MiB, all of it read.
    pid = box.d.proc.pid

    def rss_kib():
        with open(f"/proc/{pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))

    before = rss_kib()
    with contextlib.closing(connect(box.port, timeout=30)) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        status, _, _ = read_response(s)
        chunk, sent = b"z" * 65536, 0
        while sent < 64 << 20:
            sent += s.send(chunk)
        grew = rss_kib() - before
    assert status == 200
    assert sent == 64 << 20
    assert grew < 8 * 1024, f"the daemon's RSS grew by {grew // 1024} MiB"
    assert_served_fast(box)
