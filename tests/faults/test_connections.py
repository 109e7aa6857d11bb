"""Client connections are bounded: at the limit new clients wait in the
backlog instead of costing the daemon memory and file descriptors."""
import socket
import time

import pytest

from conftest import Daemon


def test_connection_limit_holds_and_recovers():
    d = Daemon(extra_args=["--max-connections", "20"]).start()
    try:
        idle = [socket.create_connection(("127.0.0.1", d.port)) for _ in range(30)]
        time.sleep(0.3)
        with pytest.raises(TimeoutError):  # accepted by the kernel, not served
            d.request("GET", "/healthz", timeout=1)
        for s in idle:
            s.close()
        time.sleep(0.3)
        r = d.request("GET", "/healthz")
        assert r.status == 200 and r.json()["connections"] <= 2
    finally:
        assert d.stop() == 0
        assert d.leftovers() == []
        d.cleanup()


def test_bytes_sent_while_a_bodyless_call_is_pending_do_not_kill_the_daemon(daemon):
    # libevent 2.1 exits the process on data arriving for a connection whose
    # bodyless request is still being answered, unless reading is paused.
    daemon.create(name="slow", runtime="nodejs20", handler="index.handler",
                  code="exports.handler = async () => { await new Promise(r => setTimeout(r, 500)); return 'ok'; }")
    s = socket.create_connection(("127.0.0.1", daemon.port))
    s.sendall(b"POST /api/v1/functions/slow/invoke HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
    time.sleep(0.2)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    s.settimeout(10)
    got = b""
    while b"ok" not in got:
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    s.close()
    assert got.startswith(b"HTTP/1.1 200 OK") and b'"ok"' in got, got
    assert daemon.proc.poll() is None
    assert daemon.request("GET", "/healthz").status == 200
