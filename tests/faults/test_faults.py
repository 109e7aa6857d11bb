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


def test_an_event_whose_end_cannot_be_kept_stays_for_the_next_start(small_data_dir):
    """A final failure whose dead letter the full disk refuses is not lost:
    the event stays kept, and the next start runs it again and keeps it."""
    d = Daemon(data_dir=os.path.join(small_data_dir, "data"), extra_args=["--prewarm", "0"])
    os.makedirs(d.data_dir)
    d.log_path = os.path.join(tempfile.gettempdir(), f"impuls-full-ev-{os.getpid()}.log")
    d.start()
    filler = os.path.join(small_data_dir, "filler")
    try:
        d.create(name="bad", runtime="python3.11", handler="index.handler",
                 code="import time\ndef handler(e, c):\n    time.sleep(e['s'])\n    raise ValueError('no')\n")
        assert d.request("PUT", "/api/v1/functions/bad/event-invoke-config", {"max_retry_attempts": 0}).status == 200
        r = d.request("POST", "/2015-03-31/functions/bad/invocations", {"s": 1.5},
                      headers={"X-Amz-Invocation-Type": "Event"})
        assert r.status == 202, r
        rid = r.headers["X-Amzn-RequestId"]
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
        try:  # full while the attempt runs
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError:
            pass
        os.close(fd)
        want = f"async invocation {rid} of bad: "
        deadline = time.monotonic() + 30
        while want not in d.read_log():
            assert time.monotonic() < deadline, d.read_log()[-2000:]
            time.sleep(0.05)
        line = [l for l in d.read_log().splitlines() if want in l][0]
        assert line.endswith(": the event stays, for the next start to run again"), line
        os.unlink(filler)
        assert d.request("GET", "/api/v1/functions/bad/dead-letters").json()["dead_letters"] == []
        assert d.request("GET", "/api/v1/functions/bad").json()["events"]["queued"] == 1
        assert d.stop() == 0
        d.start()  # runs it again; this time its end is kept
        deadline = time.monotonic() + 30
        while not d.request("GET", "/api/v1/functions/bad/dead-letters").json()["dead_letters"]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        (letter,) = d.request("GET", "/api/v1/functions/bad/dead-letters").json()["dead_letters"]
        assert (letter["id"], letter["condition"]) == (rid, "RetriesExhausted")
        assert d.request("GET", "/api/v1/functions/bad").json()["events"]["queued"] == 0
    finally:
        if os.path.exists(filler):
            os.unlink(filler)
        d.stop()
        assert d.leftovers() == []
        os.unlink(d.log_path)
