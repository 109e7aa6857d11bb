"""Fixtures of the suites that drive the real daemon (e2e, hostile, badinput). Every test gets its own daemon; teardown stops it
with SIGTERM and checks that nothing was left behind: no process, no mount
under the data dir, no cgroup of the daemon."""
import base64

import pytest

from impuls_daemon import Daemon, NODE_HELLO, free_port  # noqa: F401  (tests import them from here)


@pytest.fixture
def daemon():
    d = Daemon().start()
    yield d
    code = d.stop()
    left = d.leftovers()
    d.cleanup()
    assert code == 0, f"daemon exit code {code}"
    assert left == [], f"left behind: {left}"


def log_tail(resp):
    return base64.b64decode(resp.headers["X-Impuls-Log-Result"]).decode()
