#!/usr/bin/env python3
"""What the scheduler's saturation test sees (src/util/cpu_busy.c, docs/
operations.md "Scaling up"), per connection count, for the bench's Node
hello: after a pause (as bench.py's references' runs make one), a 1 s
warm-up and a measured wrk run, during which the busy share of the CPUs this
process may run on and the CPU pressure (/proc/pressure/cpu "some", where
the kernel has it) are sampled over 50 ms windows. Prints per connection
count req/s, p50/p99, the instance count before and after the run, and the
min / median / max of both measures.

  python3 bench/saturation.py [BINARY] [CONNS,...] [PAUSE_S]

e.g. python3 bench/saturation.py build/impuls 1,2,8,32 8"""
import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
import impuls_daemon  # noqa: E402
import load  # noqa: E402

WINDOW_S = 0.05


def reading():
    cpus = os.sched_getaffinity(0)
    busy = total = 0
    with open("/proc/stat") as f:
        for line in f:
            name, *fields = line.split()
            if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus:
                v = [int(x) for x in fields[:8]]
                busy, total = busy + sum(v) - v[3] - v[4], total + sum(v)
    try:
        with open("/proc/pressure/cpu") as f:
            stall = int(f.readline().split("total=")[1])
    except (OSError, IndexError, ValueError):
        stall = None
    return busy, total, stall, time.monotonic()


def sample(stop, out):
    while not stop.is_set():
        b0, t0, s0, m0 = reading()
        time.sleep(WINDOW_S)
        b1, t1, s1, m1 = reading()
        if t1 > t0:
            out["busy"].append((b1 - b0) / (t1 - t0))
        if s0 is not None and s1 is not None:
            out["pressure"].append((s1 - s0) / 1e6 / (m1 - m0))


def spread(xs):
    if not xs:
        return "-"
    xs = sorted(xs)
    return f"{xs[0]:.2f} / {xs[len(xs) // 2]:.2f} / {xs[-1]:.2f}"


def main(argv):
    if len(argv) > 1:
        impuls_daemon.BIN = argv[1]
    conns_list = [int(c) for c in (argv[2] if len(argv) > 2 else "1,2,8,32").split(",")]
    pause = float(argv[3]) if len(argv) > 3 else 8
    with open(os.path.join(HERE, "ref", "hello.js")) as f:
        code = f.read()
    d = impuls_daemon.Daemon().start()
    try:
        d.create(name="sat", runtime="nodejs20", handler="index.handler", code=code, concurrency=max(conns_list))
        d.invoke("sat", {})
        url = f"{d.url}/api/v1/functions/sat/invoke"
        print("conns  req/s   p50 ms  p99 ms  p99/p50  instances  busy min/med/max   pressure min/med/max")
        for conns in conns_list:
            time.sleep(pause)
            load.warmup(url, conns)
            before = len(d.instances("sat"))
            seen, stop = {"busy": [], "pressure": []}, threading.Event()
            t = threading.Thread(target=sample, args=(stop, seen))
            t.start()
            try:
                rps, lat = load.run(url, conns)
            finally:
                stop.set()
                t.join()
            after = len(d.instances("sat"))
            print(f"c{conns:<4} {rps:7.0f}  {lat['50']:6.2f}  {lat['99']:6.2f}  {lat['99'] / lat['50']:7.1f}"
                  f"  {before:>4} -> {after:<4}  {spread(seen['busy']):17}  {spread(seen['pressure'])}")
    finally:
        d.stop()
        d.cleanup()


if __name__ == "__main__":
    main(sys.argv)
