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
