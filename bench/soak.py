#!/usr/bin/env python3
"""Soak (make soak; a 60 s run in make test): mixed functions at 80 % of the
warm maximum this client measures first, for SOAK_SECONDS (600 by default),
then two checks: no call ended other than as its function said it would,
and the daemon's RSS, open fds, cgroups, mounts and instances stay flat from
minute 2 to the end (from a third of the run in a shorter one): the least-
squares slope of each, sampled every SAMPLE_S, times the window, within a
small bound (for fds and cgroups, plus what the instances' own rise, itself
bounded, brings: the daemon's fds per instance are measured at the start).
Prints each slope; exits 1 when either check fails.

The functions: Node, Python, a static C bootstrap (provided), an HTTP server
(mode http), one that always raises (500 expected), one with a 1 s timeout
that sleeps 1.5 s on every 25th of its calls (504 expected then), and one
updated every SOAK_UPDATE_S (its answers name a version: the one current
when the call was made, or the next). The load: WORKERS threads, each on
one kept-alive connection, each call paced to its slot of the total rate
(open loop while the daemon keeps up; a worker that fell behind its slots,
held by a slow call, calls back to back until it has caught up)."""
import http.client
import json
import os
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
from c_bootstrap import build_zip  # noqa: E402
from impuls_daemon import CGROUP_ROOT, Daemon  # noqa: E402

SECONDS = float(os.environ.get("SOAK_SECONDS", "600"))
UPDATE_S = float(os.environ.get("SOAK_UPDATE_S", "60"))
SAMPLE_S = 5
WORKERS = 8
LOAD_SHARE = 0.8  # of the measured maximum
SLOW_EVERY = 25

HTTP_SERVER = r'''
import os
from http.server import BaseHTTPRequestHandler, HTTPServer

class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass

HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Echo).serve_forever()
'''


def updated_code(v):
    return f"exports.handler = async (e) => ({{n: e.n, v: {v}}});\n"


def make_functions(d):
    d.create(name="s-node", runtime="nodejs20", handler="index.handler",
             code="exports.handler = async (e) => ({n: e.n});\n")
    d.create(name="s-py", runtime="python311", handler="index.handler",
             code="def handler(e, c):\n    return {'n': e['n']}\n")
    d.create(name="s-c", runtime="provided.al2023", handler="function.handler", zip=build_zip())
    d.create(name="s-http", runtime="python311", mode="http", handler="server.py", code=HTTP_SERVER)
    d.create(name="s-err", runtime="python311", handler="index.handler",
             code="def handler(e, c):\n    raise ValueError('soak error')\n")
    d.create(name="s-slow", runtime="python311", handler="index.handler", timeout_s=1,
             code="import time\ndef handler(e, c):\n    if e.get('sleep'):\n        time.sleep(1.5)\n"
                  "    return {'n': e['n']}\n")
    d.create(name="s-upd", runtime="nodejs20", handler="index.handler", code=updated_code(1))


class Upd:
    """The version s-upd answers with now (raised as each update lands)."""
    version = 1


def call_for(i):
    """(function, event, check): the i-th call of the mix and what its answer must be."""
    kind = ("s-node", "s-py", "s-c", "s-http", "s-err", "s-slow", "s-upd")[i % 7]
    event = {"n": i}
    if kind == "s-slow" and (i // 7) % SLOW_EVERY == 0:
        event["sleep"] = True
        return kind, event, lambda st, b: st == 504 and b.get("errorType") == "Sandbox.Timedout"
    if kind == "s-c":
        return kind, event, lambda st, b: st == 200 and b.get("echo") == {"n": i}
    if kind == "s-err":
        return kind, event, lambda st, b: st == 500 and b.get("errorMessage") == "soak error"
    if kind == "s-upd":
        v = Upd.version
        return kind, event, lambda st, b: st == 200 and b.get("n") == i and b.get("v") in (v, v + 1)
    return kind, event, lambda st, b: st == 200 and b == {"n": i}


class Load:
    """WORKERS threads calling the mix; rate None: as fast as they can."""

    def __init__(self, port, rate, seconds):
        self.port, self.rate, self.seconds = port, rate, seconds
        self.lock = threading.Lock()
        self.done = 0
        self.unexpected = []
        self.next_i = 0

    def worker(self, w):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        start = time.monotonic()
        k = 0
        while True:
            now = time.monotonic()
            if now - start >= self.seconds:
                break
            if self.rate:
                slot = start + (k * WORKERS + w) / self.rate
                if slot > now:
                    time.sleep(slot - now)
                k += 1
            with self.lock:
                i = self.next_i
                self.next_i += 1
            name, event, check = call_for(i)
            try:
                conn.request("POST", f"/api/v1/functions/{name}/invoke", json.dumps(event),
                             {"Content-Type": "application/json"})
                r = conn.getresponse()
                status, raw = r.status, r.read()
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = {"raw": raw[:200].decode(errors="replace")}
                ok = check(status, body if isinstance(body, dict) else {"value": body})
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                status, body, ok = 0, {"exception": repr(e)}, False
            with self.lock:
                self.done += 1
                if not ok:
                    self.unexpected.append((name, event, status, body))
        conn.close()

    def run(self):
        threads = [threading.Thread(target=self.worker, args=(w,)) for w in range(WORKERS)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return self.done / (time.monotonic() - t0)


def cgroup_count(d):
    """The daemon's cgroups: under its parent in the memory controller (v1)
    or the unified hierarchy (v2)."""
    count = 0
    for root in (os.path.join(CGROUP_ROOT, "memory", d.cgroup_parent()), os.path.join(CGROUP_ROOT, d.cgroup_parent())):
        if os.path.isdir(root):
            count = sum(len(dirs) for _, dirs, _ in os.walk(root))
            break
    return count


def sample(d, t):
    pid = d.proc.pid
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    with open(f"/proc/{pid}/mountinfo") as f:
        mounts = sum(1 for _ in f)
    return {"t": t, "rss_kib": rss, "fds": len(os.listdir(f"/proc/{pid}/fd")), "cgroups": cgroup_count(d),
            "mounts": mounts, "instances": d.request("GET", "/healthz").json()["instances"]}


def slope(points):
    """Least-squares slope of [(t, y)], per second."""
    ts = [t for t, _ in points]
    tm, ym = statistics.fmean(ts), statistics.fmean(y for _, y in points)
    den = sum((t - tm) ** 2 for t in ts)
    return sum((t - tm) * (y - ym) for t, y in points) / den if den else 0.0


def flat_bound(key, first, rises, fds_per_instance):
    """How far the fitted line may rise over the window and still be flat.
    fds and cgroups come with instances (the instance count has a bound of
    its own: one that times out, one updated every minute, come and go): the
    rise that the instances' rise explains is allowed on top."""
    more = max(0.0, rises.get("instances", 0.0))
    return {"rss_kib": max(8192, first * 0.10), "fds": 16 + fds_per_instance * more, "cgroups": 4 + more,
            "mounts": 4, "instances": 4}[key]


def main():
    d = Daemon().start()
    try:
        bare = sample(d, 0)
        make_functions(d)
        for i in range(7):  # every function warm (and the C one compiled) before anything is measured
            name, event, _ = call_for(i)
            d.invoke(name, event, timeout=60)
        warm = sample(d, 0)
        # The daemon's fds per instance, in this run (with the spares' fds: an over-estimate).
        fds_per_instance = (warm["fds"] - bare["fds"]) / max(1, warm["instances"])
        probe = Load(d.port, None, 5)
        most = probe.run()
        rate = LOAD_SHARE * most
        print(f"soak: the warm maximum of this mix at {WORKERS} connections: {most:.0f} calls/s; "
              f"running {SECONDS:.0f} s at {rate:.0f}/s")
        load = Load(d.port, rate, SECONDS)
        load.unexpected += probe.unexpected  # (the maximum's calls are checked as well)
        runner = threading.Thread(target=load.run)
        t0 = time.monotonic()
        runner.start()
        samples, next_update = [], UPDATE_S
        while runner.is_alive():
            t = time.monotonic() - t0
            if t >= next_update:
                r = d.request("PUT", "/api/v1/functions/s-upd", {"code": updated_code(Upd.version + 1)})
                if r.status == 200:
                    Upd.version += 1
                else:
                    load.unexpected.append(("update", None, r.status, r.body[:200]))
                next_update += UPDATE_S
            samples.append(sample(d, t))
            runner.join(timeout=SAMPLE_S)
        elapsed = time.monotonic() - t0
        print(f"soak: {load.done} calls in {elapsed:.0f} s ({load.done / elapsed:.0f}/s), "
              f"{len(load.unexpected)} unexpected, {Upd.version - 1} updates")
        for u in load.unexpected[:10]:
            print("  unexpected:", u)
        window_start = min(120.0, SECONDS / 3)
        window = [s for s in samples if s["t"] >= window_start]
        flat = len(window) >= 3
        span = window[-1]["t"] - window[0]["t"] if flat else 0
        rises = {}
        for key in ("instances", "rss_kib", "fds", "cgroups", "mounts"):
            if not flat:
                break
            per_min = 60 * slope([(s["t"], s[key]) for s in window])
            rise = rises[key] = per_min * span / 60
            bound = flat_bound(key, window[0][key], rises, fds_per_instance)
            ok = rise <= bound
            flat = flat and ok
            print(f"  {key:10} {window[0][key]:>8} -> {window[-1][key]:>8}   slope {per_min:+9.2f}/min   "
                  f"rise over {span:.0f} s {rise:+9.1f} (at most {bound:.0f}) {'flat' if ok else 'GROWS'}")
        print(f"  (the daemon's fds per instance in this run: {fds_per_instance:.1f})")
        ok = flat and not load.unexpected
        print("soak:", "flat, no unexpected answer" if ok else "FAILED")
        return 0 if ok else 1
    finally:
        d.stop()
        d.cleanup()


if __name__ == "__main__":
    sys.exit(main())
