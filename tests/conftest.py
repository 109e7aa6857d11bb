"""Fixtures of the suites that drive the real daemon (e2e, hostile, badinput). Every test gets its own daemon; teardown stops it
with SIGTERM and checks that nothing was left behind: no process, no mount
under the data dir, no cgroup of the daemon."""
import atexit
import base64
import contextlib
import os
import shutil
import tempfile

import pytest

from impuls_daemon import Daemon, NODE_HELLO, free_port  # noqa: F401  (tests import them from here)


def pytest_configure(config):
    config.addinivalue_line("markers", "once: slow for a reason other than the daemon's code (a native build "
                                       "inside the build sandbox): not run again against the ASan daemon (make e2e-asan)")


# Probes of a Python handler's sandbox, for handler code to include
# (test_premade.py, test_zygote.py).
PY_SANDBOX_PROBES = r'''
import os

def write_probe():
    try:
        open("/var/task/x", "w")
        return "written"
    except OSError as e:
        return e.strerror

def fd_kinds():
    """What the runtime's fds above 2 are: socket, pipe, ..."""
    kinds = set()
    for f in os.listdir("/proc/self/fd"):
        try:
            if int(f) > 2:
                kinds.add(os.readlink("/proc/self/fd/" + f).split(":")[0])
        except FileNotFoundError:  # listdir's own, closed by now
            pass
    return sorted(kinds)
'''


# IMPULS_E2E_ISOLATION=microvm: every daemon's functions get that isolation
# unless they name theirs (make test-microvm's pass of core e2e cases). Its
# daemons share their saved VMs (hard links: a saved VM's file is written
# once, under a new name), so that only the first cold start of a size boots.
ISOLATION_ARGS = ["--isolation", os.environ["IMPULS_E2E_ISOLATION"]] if os.environ.get("IMPULS_E2E_ISOLATION") else []
SAVED_VMS = None
if ISOLATION_ARGS == ["--isolation", "microvm"]:
    SAVED_VMS = tempfile.mkdtemp(prefix="impuls-e2e-saved-vms-")
    atexit.register(shutil.rmtree, SAVED_VMS, True)


def link_saved_vms(src, dst):
    os.makedirs(dst, mode=0o700, exist_ok=True)
    for name in os.listdir(src) if os.path.isdir(src) else ():
        if name.endswith(".vm") and not os.path.exists(os.path.join(dst, name)):
            os.link(os.path.join(src, name), os.path.join(dst, name))


def checked_daemon(extra_args=(), daemon=None):
    """A started daemon (a Daemon with extra_args, or the one given) for a
    fixture to yield; afterwards it must stop cleanly and leave nothing
    behind. In a test, use it as `with running_daemon(...) as d:`, so that a
    failing block stops its daemon too."""
    d = daemon or Daemon(extra_args=[*ISOLATION_ARGS, *extra_args])
    if SAVED_VMS:
        link_saved_vms(SAVED_VMS, os.path.join(d.data_dir, "microvm"))
    d.start()
    try:
        yield d
    except BaseException:  # the block failed: that is the error to report
        try:
            d.stop()
        finally:
            d.cleanup()
        raise
    code = d.stop()
    left = d.leftovers()
    if SAVED_VMS:
        link_saved_vms(os.path.join(d.data_dir, "microvm"), SAVED_VMS)
    d.cleanup()
    assert code == 0, f"daemon exit code {code}"
    assert left == [], f"left behind: {left}"


running_daemon = contextlib.contextmanager(checked_daemon)


@pytest.fixture
def daemon():
    yield from checked_daemon()


@pytest.fixture
def routed():
    """A daemon that also serves the router, on d.router_port."""
    port = free_port()
    for d in checked_daemon(["--router-addr", f"127.0.0.1:{port}"]):
        d.router_port = port
        yield d


def log_tail(resp):
    return base64.b64decode(resp.headers["X-Impuls-Log-Result"]).decode()
