"""Event invocations (store/events.h): what keeping an event before its 202
costs, and what syncing it to disk would cost on top.

  event 202 p50: Lambda Invoke with X-Amz-Invocation-Type Event, one client
         at a time, vs a RequestResponse DryRun on the same route (the
         same parsing and checks, nothing kept): the insert's share.
  commit p50: the same insert and commit, on a SQLite database in the data
         dir's file system, with synchronous=NORMAL (what the daemon runs:
         survives the daemon's death) vs FULL (an fsync per commit: would
         survive the machine's).
  events/s: wrk with 4 connections for BENCH_DURATION posting Event
         invocations (each kept, synchronous=NORMAL, before its 202; the
         function runs them meanwhile) vs RequestResponse invokes of the same
         function (each answered with its result).
"""
import os
import sqlite3
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
from impuls_daemon import Daemon  # noqa: E402
from load import percentile  # noqa: E402
import load  # noqa: E402

RUNS = 400
CODE = "def handler(event, context):\n    return 1\n"
SCHEMA = ("CREATE TABLE async_events (id TEXT PRIMARY KEY, function TEXT NOT NULL, event BLOB NOT NULL,"
          " attempts INTEGER NOT NULL, accepted_at INTEGER NOT NULL)")


def posts(d, kind):
    xs = []
    for i in range(RUNS):
        t = time.perf_counter()
        r = d.request("POST", "/2015-03-31/functions/ev/invocations", {"i": i}, {"X-Amz-Invocation-Type": kind})
        xs.append((time.perf_counter() - t) * 1000)
        assert r.status == (202 if kind == "Event" else 204), r
    return xs


def commits(directory, sync):
    path = os.path.join(directory, f"events-{sync}.db")
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={sync}")
    db.execute(SCHEMA)
    xs = []
    for i in range(RUNS):
        t = time.perf_counter()
        db.execute("INSERT INTO async_events VALUES (?, 'ev', ?, 0, ?)", (str(uuid.uuid4()), b'{"i": %d}' % i, i))
        xs.append((time.perf_counter() - t) * 1000)
    db.close()
    return xs


def run(results):
    d = Daemon()
    try:
        d.start()
        d.create(name="ev", runtime="python311", handler="main.handler", code=CODE)
        posts(d, "DryRun")  # warm the connection path
        event, dry = posts(d, "Event"), posts(d, "DryRun")
        url = f"http://127.0.0.1:{d.port}/2015-03-31/functions/ev/invocations"
        load.warmup(url, 4)
        sync_rps, _ = load.run(url, 4)  # (first: the events would still be running after theirs)
        event_rps, _ = load.run(url, 4, headers=("X-Amz-Invocation-Type: Event",))
        with tempfile.TemporaryDirectory(dir=d.data_dir) as tmp:
            normal, full = commits(tmp, "NORMAL"), commits(tmp, "FULL")
    finally:
        d.end()
    results["events"] = {
        "runs": RUNS,
        "event_p50_ms": percentile(event, 50), "dryrun_p50_ms": percentile(dry, 50),
        "normal_p50_ms": percentile(normal, 50), "full_p50_ms": percentile(full, 50),
        "normal_p99_ms": percentile(normal, 99), "full_p99_ms": percentile(full, 99),
        "event_rps": event_rps, "sync_rps": sync_rps, "duration": load.DURATION,
    }


def rows(results, line):
    e = results.get("events")
    if not e:
        return []
    return [
        line("event 202 p50 ms", e["event_p50_ms"], e["dryrun_p50_ms"], e["event_p50_ms"] / e["dryrun_p50_ms"], ".3f",
             f"   (Invoke Event, kept before the 202, vs DryRun on the same route; {e['runs']} each, one client)"),
        line("event commit p50 ms FULL", e["full_p50_ms"], e["normal_p50_ms"], e["full_p50_ms"] / e["normal_p50_ms"],
             ".3f", "   (the insert and commit with synchronous=FULL, an fsync each, vs NORMAL, what the daemon runs)"),
        line("event commit p99 ms FULL", e["full_p99_ms"], e["normal_p99_ms"], e["full_p99_ms"] / e["normal_p99_ms"],
             ".3f"),
    ] + ([line("events/s accepted (202)", e["event_rps"], e["sync_rps"], e["event_rps"] / e["sync_rps"], ".0f",
               f"   (wrk -c 4 {e['duration']}: Event, kept with synchronous=NORMAL, vs RequestResponse invokes)")]
         if "event_rps" in e else [])
