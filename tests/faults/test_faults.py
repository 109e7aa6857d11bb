"""Faults: the daemon or a runtime killed mid-call, a full disk."""
import os
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import Daemon

SLOW = "exports.handler = async (e) => { await new Promise(r => setTimeout(r, e.ms || 0)); return 'ok'; }"


def call_all(d, n, event):
    results = [None] * n

    def call(i):
        try:
            results[i] = d.invoke("slow", event, timeout=20)
        except OSError as e:  # urllib wraps connection failures in URLError (an OSError)
            results[i] = e

    threads = [threading.Thread(target=call, args=(i,)) for i in range(n)]
    [t.start() for t in threads]
    return threads, results


def test_daemon_killed_with_ten_calls_in_flight():
    d = Daemon().start()
    try:
        d.create(name="slow", runtime="nodejs20", handler="index.handler", code=SLOW)
        threads, results = call_all(d, 10, {"ms": 3000})
        time.sleep(1.0)
        d.kill()
        [t.join() for t in threads]
        # Every caller saw the connection fail; nobody got an answer.
        assert all(isinstance(r, OSError) for r in results), results
        d.start()
        assert [f["name"] for f in d.request("GET", "/api/v1/functions").json()["functions"]] == ["slow"]
        assert d.leftovers() == []  # the dead daemon's sandboxes and cgroups are gone
        assert d.invoke("slow", {"ms": 1}).json() == "ok"
    finally:
        assert d.stop() == 0
        assert d.leftovers() == []
        d.cleanup()


def runtime_pid(init_pid):
    with open(f"/proc/{init_pid}/task/{init_pid}/children") as f:
        return int(f.read().split()[0])


def test_runtime_killed_mid_invocation(daemon):
    daemon.create(name="slow", runtime="nodejs20", handler="index.handler", code=SLOW)
    assert daemon.invoke("slow", {"ms": 1}).json() == "ok"
    (inst,) = daemon.instances("slow")
    threads, results = call_all(daemon, 1, {"ms": 5000})
    time.sleep(0.5)
    os.kill(runtime_pid(inst["pid"]), 9)
    threads[0].join()
    r = results[0]
    assert r.status == 502
    assert (r.json()["errorType"], r.json()["errorMessage"]) == \
        ("Runtime.ExitError", "Runtime exited with error: signal: Killed")
    assert daemon.invoke("slow", {"ms": 1}).json() == "ok"
    (new,) = daemon.instances("slow")
    assert new["id"] != inst["id"]


@pytest.fixture
def small_data_dir():
    d = tempfile.mkdtemp(prefix="impuls-full-")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "impuls-test", d], check=True)
    yield d
    subprocess.run(["umount", "-l", d], check=True)
    os.rmdir(d)


def test_full_data_dir_fails_cleanly(small_data_dir):
    d = Daemon(data_dir=os.path.join(small_data_dir, "data"))
    os.makedirs(d.data_dir)
    d.log_path = os.path.join(tempfile.gettempdir(), f"impuls-full-{os.getpid()}.log")
    d.start()
    try:
        d.create(name="before", runtime="nodejs20", handler="index.handler",
                 code="exports.handler = async () => 'still here'")
        fd = os.open(os.path.join(small_data_dir, "filler"), os.O_WRONLY | os.O_CREAT)
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError:
            pass
        os.close(fd)
        r = d.request("POST", "/api/v1/functions", {
            "name": "after", "runtime": "nodejs20", "handler": "index.handler",
            "code": "exports.handler = async () => 'x'.repeat(100000) // " + "y" * 200000})
        assert r.status == 507, r
        assert r.json()["errorType"] == "StorageException"
        assert "No space left on device" in r.json()["errorMessage"]
        os.unlink(os.path.join(small_data_dir, "filler"))
        listing = d.request("GET", "/api/v1/functions").json()
        assert [f["name"] for f in listing["functions"]] == ["before"]
        assert d.invoke("before").json() == "still here"
        assert d.stop() == 0
        d.start()  # the store reopens intact
        assert d.invoke("before").json() == "still here"
    finally:
        d.stop()
        assert d.leftovers() == []
        os.unlink(d.log_path)
