#!/usr/bin/env python3
"""Soak: invoke at a fixed rate for a set time, then check the daemon's
resources are flat. Not part of `make test`: `make soak` (SOAK_SECONDS,
SOAK_RATE). Prints open fds, RSS, instances and cgroups at the start and the
end; exits 1 if any grew beyond a small tolerance."""
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
from impuls_daemon import CGROUP_ROOT, Daemon  # noqa: E402

SECONDS = float(os.environ.get("SOAK_SECONDS", "60"))
RATE = float(os.environ.get("SOAK_RATE", "200"))  # invocations per second


def figures(d):
    pid = d.proc.pid
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
    health = d.request("GET", "/healthz").json()
    cg = os.path.join(CGROUP_ROOT, "memory", d.cgroup_parent())
    cgroups = len([e for e in os.listdir(cg) if os.path.isdir(os.path.join(cg, e))]) \
        if os.path.isdir(cg) else 0
    return {"fds": fds, "rss_kib": rss, "instances": health["instances"], "cgroups": cgroups}


def main():
    d = Daemon().start()
    failures = {"count": 0}
    try:
        d.create(name="soak-node", runtime="nodejs20", handler="index.handler", concurrency=4,
                 code="exports.handler = async (e) => ({n: e.n})")
        d.create(name="soak-py", runtime="python311", handler="main.handler", concurrency=4,
                 code="def handler(e, c):\n    return {'n': e['n']}")
        for name in ("soak-node", "soak-py"):  # warm before the first reading
            d.invoke(name, {"n": 0})
        time.sleep(0.5)
        start = figures(d)
        print("start:", start)
        stop = time.time() + SECONDS
        n = 0

        def one(name, i):
            r = d.invoke(name, {"n": i}, timeout=30)
            if r.status != 200 or r.json() != {"n": i}:
                failures["count"] += 1

        threads = []
        while time.time() < stop:
            t = threading.Thread(target=one, args=("soak-node" if n % 2 else "soak-py", n))
            t.start()
            threads.append(t)
            n += 1
            time.sleep(1 / RATE)
            threads = [t for t in threads if t.is_alive()]
        for t in threads:
            t.join()
        time.sleep(0.5)
        end = figures(d)
        print("end:  ", end)
        print(f"invocations: {n}, failed: {failures['count']}")
        grew = (end["fds"] > start["fds"] + 8 or end["rss_kib"] > start["rss_kib"] * 1.5 + 4096
                or end["instances"] > 8 or end["cgroups"] > end["instances"])
        ok = not grew and failures["count"] == 0
        print("soak:", "flat" if ok else "NOT flat")
        return 0 if ok else 1
    finally:
        d.stop()
        d.cleanup()


if __name__ == "__main__":
    sys.exit(main())
