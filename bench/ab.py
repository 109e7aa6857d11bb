#!/usr/bin/env python3
"""Two daemon binaries on the same warm call, at the same time: the way to
measure one change to the warm path on a noisy shared machine. Both daemons
run side by side with the same function; wrk runs alternate A, B, A, B, ...
so drift in the machine's load falls on both. Prints per binary the median
and mean req/s, the median p50 and the median CPU per call of the daemon
and of the function's instances.

  python3 bench/ab.py OLD_BINARY NEW_BINARY [node|python|native] [CONNS] [ROUNDS] [SECONDS]

e.g. build the old commit in a git worktree and compare its build/impuls with
this tree's. AB_IDLE=N first gives each daemon N idle warm instances of another
function (a long instance list; --prewarm 0 then, so that none is a spare).
Both daemons use this tree's runtimes/ (its shims decide what they use from
the environment the daemon gives them). native needs build/bench-bootstrap
(bench/run.sh builds it)."""
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
import impuls_daemon  # noqa: E402
import bench  # noqa: E402
import cpu  # noqa: E402
import density  # noqa: E402
import load  # noqa: E402

IDLE = int(os.environ.get("AB_IDLE", "0"))


def function_spec(kind):
    ref = os.path.join(HERE, "ref")
    with open(os.path.join(ref, "hello.js")) as f:
        node = f.read()
    with open(os.path.join(ref, "hello.py")) as f:
        python = f.read()
    specs = {
        "node": lambda: dict(runtime="nodejs20", handler="index.handler", code=node),
        "python": lambda: dict(runtime="python311", handler="main.handler", code=python),
        "native": lambda: dict(runtime="provided", handler="hello.handler", zip=bench.native_zip()),
    }
    if kind not in specs:
        raise SystemExit(f"unknown function kind {kind!r}: node, python or native")
    return specs[kind]()


def start(binary, spec, conns):
    impuls_daemon.BIN = binary
    d = impuls_daemon.Daemon(extra_args=["--prewarm", "0", "--queue-max", "400"] if IDLE else ()).start()
    try:
        for n in range(0, IDLE, 200):  # 200 a function: a burst's calls must fit its queue
            size = min(200, IDLE - n)
            d.create(name=f"idle-{n}", runtime="python311", handler="main.handler", concurrency=size,
                     idle_timeout_s=86400, timeout_s=60,
                     code="import time\n\ndef handler(event, context):\n    time.sleep(0.5)\n")
            density.grow(d, f"idle-{n}", size)
        d.create(name="ab", concurrency=max(conns, 1), **spec)
        r = d.invoke("ab", {})
        if r.status != 200:
            raise RuntimeError(f"{binary}: the first call answered {r.status}: {r.text}")
        return d
    except BaseException:
        d.stop()
        d.cleanup()
        raise


def main(argv):
    if len(argv) < 3:
        raise SystemExit(__doc__)
    bins = {"A": argv[1], "B": argv[2]}
    kind = argv[3] if len(argv) > 3 else "native"
    conns = int(argv[4]) if len(argv) > 4 else 1
    rounds = int(argv[5]) if len(argv) > 5 else 6
    duration = (argv[6] if len(argv) > 6 else "2") + "s"
    spec = function_spec(kind)
    daemons, runs = {}, {"A": [], "B": []}
    try:
        for k, binary in bins.items():
            daemons[k] = start(binary, spec, conns)
            load.warmup(f"{daemons[k].url}/api/v1/functions/ab/invoke", conns)
        for _ in range(rounds):
            for k, d in daemons.items():
                with cpu.Meter(lambda: [d.proc.pid]) as m, cpu.Meter(lambda: cpu.below(d.proc.pid)) as f:
                    rps, lat = load.run(f"{d.url}/api/v1/functions/ab/invoke", conns, duration=duration)
                calls = rps * load.seconds(duration)
                runs[k].append((rps, lat["50"], m.us_per_call(calls), f.us_per_call(calls)))
    finally:
        for d in daemons.values():
            d.stop()
            d.cleanup()
    for k, binary in bins.items():
        rps = [r[0] for r in runs[k]]
        print(f"{k} {binary}: {kind} c{conns} req/s median {statistics.median(rps):.0f} "
              f"mean {statistics.mean(rps):.0f}, p50 {statistics.median(r[1] for r in runs[k]) * 1000:.0f} us, "
              f"CPU us/call: daemon {statistics.median(r[2] for r in runs[k]):.1f}, "
              f"function {statistics.median(r[3] for r in runs[k]):.1f}; runs {[round(x) for x in rps]}")
    a, b = (statistics.median(r[0] for r in runs[k]) for k in ("A", "B"))
    print(f"B/A req/s {b / a:.2f}")


if __name__ == "__main__":
    main(sys.argv)
