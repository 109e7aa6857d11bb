"""The daemon-wide instance limit (--max-instances, docs/operations.md): at
the limit a call that needs a new instance stops the instance idle the
longest to make room; with every instance busy it waits for its own
function's instances, or, when its function has none, is throttled (429) as
Lambda's calls are at the account's concurrency limit."""
import concurrent.futures
import subprocess
import time

from conftest import running_daemon
from impuls_daemon import BIN

SLEEPER = """import time
def handler(event, context):
    time.sleep(event.get("sleep", 0))
    return {"ok": event.get("i")}
"""
FULL = ("Rate Exceeded: the daemon runs its most instances at once (--max-instances 2), every one busy")


def make(d, name, **fields):
    spec = {"name": name, "runtime": "python3.11", "handler": "index.handler", "code": SLEEPER}
    spec.update(fields)
    r = d.request("POST", "/api/v1/functions", spec)
    assert r.status == 201, r


def live(d, name):
    return [i["state"] for i in d.instances(name) if i["state"] != "dying"]


def wait_states(d, name, want, seconds=30):
    deadline = time.monotonic() + seconds
    while sorted(live(d, name)) != want:
        assert time.monotonic() < deadline, (name, live(d, name))
        time.sleep(0.05)


def test_at_the_limit_the_instance_idle_longest_makes_room():
    with running_daemon(["--max-instances", "2", "--prewarm", "0"]) as d:
        for name in ("a", "b", "c"):
            make(d, name)
        assert d.invoke("a", {"i": 1}).json() == {"ok": 1}
        assert d.invoke("b", {"i": 2}).json() == {"ok": 2}
        wait_states(d, "a", ["idle"])
        wait_states(d, "b", ["idle"])
        assert d.invoke("c", {"i": 3}).json() == {"ok": 3}
        assert live(d, "a") == []  # idle the longest: stopped
        wait_states(d, "b", ["idle"])
        assert d.invoke("b", {"i": 4}).json() == {"ok": 4}  # warm still
        assert "--max-instances 2 reached: instance" in d.read_log()
        assert "of a, idle the longest, stops to make room" in d.read_log()


def test_with_every_instance_busy_a_new_function_is_throttled_and_a_busy_one_waits():
    with running_daemon(["--max-instances", "2", "--prewarm", "0", "--scale-delay", "0"]) as d:
        make(d, "busy", concurrency=3)
        make(d, "other")
        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            slow = [pool.submit(d.invoke, "busy", {"sleep": 3, "i": i}, timeout=60) for i in range(2)]
            wait_states(d, "busy", ["busy", "busy"])
            r = d.invoke("other", {"i": 9})
            assert r.status == 429, r
            assert (r.json()["errorType"], r.json()["errorMessage"]) == ("TooManyRequestsException", FULL)
            # A third call of busy, under its own cap of 3 but not the daemon's,
            # waits in its queue for one of its two instances.
            third = pool.submit(d.invoke, "busy", {"i": 3}, timeout=60)
            assert [f.result().json() for f in slow] == [{"ok": 0}, {"ok": 1}]
            assert third.result().json() == {"ok": 3}
        assert len(live(d, "busy")) == 2
        assert d.invoke("other", {"i": 9}).json() == {"ok": 9}  # room made from an idle one


def test_the_limit_is_a_whole_number_from_1(tmp_path):
    for bad in ("0", "-1", "x", "", "1000001"):
        r = subprocess.run([BIN, "serve", "--max-instances", bad, "--data-dir", str(tmp_path)],
                           capture_output=True, text=True, timeout=10)
        assert (r.returncode, r.stderr) == (2, "impuls: --max-instances takes a whole number from 1 to 1000000\n")
