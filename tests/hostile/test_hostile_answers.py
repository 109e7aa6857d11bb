"""Hostile functions that attack their callers through their answer: the HTTP
shape of a result ({statusCode, headers, body}) must never let a function
frame the daemon's HTTP response, so that whatever a caller (or a proxy that
pools connections for many callers) reads next on the same connection is the
daemon's own answer."""
import http.client
import json
import socket
import time

import pytest

from hostile import assert_healthy, node

FORGED = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nforged"


def answer(status, headers=None, body=FORGED):
    return "exports.handler = async () => (%s)" % json.dumps(
        {"statusCode": status, "headers": headers or {}, "body": body})


def exchange(port, requests):
    """Sends each request on one connection (the last one asks to close it) and
    returns every byte the daemon wrote back, as one stream."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    data = b""
    try:
        for req in requests:
            s.sendall(req)
            deadline = time.monotonic() + 10
            while b"\r\n\r\n" not in data[len(data) - 4 * 1024:] and time.monotonic() < deadline:
                data += s.recv(65536)
            time.sleep(0.3)  # the rest of the answer, if any
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data
            data += chunk
    finally:
        s.close()


def parse(stream):
    """The responses in an HTTP/1.1 byte stream, read as a client or proxy must:
    1xx, 204 and 304 have no body, the others Content-Length bytes."""
    out = []
    while stream:
        head, sep, rest = stream.partition(b"\r\n\r\n")
        assert sep, f"truncated response: {stream[:200]!r}"
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
        n = 0 if status < 200 or status in (204, 304) else int(headers.get("content-length", 0))
        out.append((status, headers, rest[:n]))
        stream = rest[n:]
    return out


@pytest.mark.parametrize("status", [204, 304, 100, 101, 103])
def test_bodyless_status_cannot_smuggle_a_response(daemon, status):
    # 1xx, 204 and 304 answers have no body by definition: if the function's body
    # is written after their headers anyway, whoever reads the connection takes it
    # for the answer to the next request (HTTP response splitting).
    node(daemon, "smuggle", answer(status))
    stream = exchange(daemon.port, [
        b"POST /api/v1/functions/smuggle/invoke HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"])
    finals = [r for r in parse(stream) if r[0] >= 200]
    assert b"forged" not in stream, stream.decode("latin-1")
    assert len(finals) == 2, stream.decode("latin-1")
    status2, headers2, body2 = finals[1]  # the answer to GET /healthz is the daemon's own
    assert (status2, headers2["content-type"]) == (200, "application/json")
    assert json.loads(body2)["status"] == "ok"
    assert_healthy(daemon)


def test_framing_and_platform_headers_are_dropped(daemon):
    node(daemon, "frame", answer(200, {
        "Content-Length": "0", "Transfer-Encoding": "chunked", "Connection": "close",
        "X-Impuls-Request-Id": "forged-id", "X-Impuls-Duration-Ms": "0", "X-Mine": "kept"},
        body="the whole body"))
    conn = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=10)
    try:
        conn.request("POST", "/api/v1/functions/frame/invoke", body=b"{}")
        r = conn.getresponse()
        body = r.read()
        assert (r.status, body, r.getheader("X-Mine")) == (200, b"the whole body", "kept")
        assert r.getheader("Content-Length") == "14" and r.getheader("Transfer-Encoding") is None
        assert len(r.getheader("X-Impuls-Request-Id")) == 36
        assert r.getheader("X-Impuls-Duration-Ms") != "0"
        conn.request("GET", "/healthz")  # the connection is still good for the next call
        r = conn.getresponse()
        assert (r.status, json.loads(r.read())["status"]) == (200, "ok")
    finally:
        conn.close()
    assert_healthy(daemon)


@pytest.mark.parametrize("headers", [
    {"X-Evil": "a\r\nSet-Cookie: session=stolen"},
    {"X-Evil\r\nSet-Cookie": "x"},
    {"X-Evil": "a\nb"},
], ids=["crlf-in-value", "crlf-in-name", "lf-in-value"])
def test_header_injection_is_a_malformed_result(daemon, headers):
    node(daemon, "inject", answer(200, headers, body="x"))
    r = daemon.invoke("inject")
    assert (r.status, r.json()["errorType"]) == (502, "Runtime.MalformedResult")
    assert r.headers["Set-Cookie"] is None
    assert_healthy(daemon)
