"""What counting for GET /metrics and the console's figures costs a warm
call (pool/metrics.h): a Node hello at one connection on the daemon as
built, vs the same daemon built with -DIMPULS_NO_METRICS
(build/impuls-nometrics, which counts nothing). The cost is a few additions
and a clock read per call, far below the run-to-run noise of one wrk run
(some 10 %), so both daemons run side by side, warm, and take short turns
in alternating order; the figure is the median of the turns' ratios: drift
of the machine within a run hits both sides of a pair alike. The daemons
and their instances run on CPU 0 and wrk on CPU 1 (on a machine with two or
more): at one connection the call is a chain of wake-ups, and where the
scheduler puts each link varies more from turn to turn than the cost being
measured (an A/A run of one build against itself: pairs 0.74-1.11 unpinned,
0.95-1.05 pinned)."""
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
import impuls_daemon  # noqa: E402
import load  # noqa: E402

PAIRS = 20
TURN = "2s"
CODE = "exports.handler = async () => ({statusCode: 200, body: 'hello'});\n"
NO_METRICS = os.path.join(HERE, "..", "build", "impuls-nometrics")


PINNED = len(os.sched_getaffinity(0)) >= 2 and {0, 1} <= os.sched_getaffinity(0)
WRK_CPU = 1 if PINNED else None


def started(binary):
    """A daemon of binary with a warm Node hello: (daemon, its invoke URL).
    Started on CPU 0 (it and its instances inherit it) when PINNED."""
    saved, affinity = impuls_daemon.BIN, os.sched_getaffinity(0)
    impuls_daemon.BIN = binary
    try:
        if PINNED:
            os.sched_setaffinity(0, {0})
        d = impuls_daemon.Daemon(extra_args=["--prewarm", "0"])
        d.start()
        d.create(name="hello", runtime="nodejs20", handler="index.handler", code=CODE)
        url = f"http://127.0.0.1:{d.port}/api/v1/functions/hello/invoke"
        load.run(url, 1, duration="1s", cpu=WRK_CPU)  # (the instance starts now, on CPU 0)
    finally:
        impuls_daemon.BIN = saved
        os.sched_setaffinity(0, affinity)
    return d, url


def run(results):
    on, on_url = started(impuls_daemon.BIN)
    try:
        off, off_url = started(NO_METRICS)
        try:
            ratios, on_rps, off_rps = [], [], []
            for i in range(PAIRS):
                order = [(on_url, on_rps), (off_url, off_rps)]
                for url, into in order if i % 2 == 0 else reversed(order):
                    into.append(load.run(url, 1, duration=TURN, cpu=WRK_CPU)[0])
                ratios.append(on_rps[-1] / off_rps[-1])
        finally:
            off.end()
    finally:
        on.end()
    results["metrics"] = {"on_rps": statistics.median(on_rps), "off_rps": statistics.median(off_rps),
                          "ratio": statistics.median(ratios), "pairs": PAIRS, "turn": TURN,
                          "ratio_min": min(ratios), "ratio_max": max(ratios), "pinned": PINNED}


def rows(results, line):
    m = results.get("metrics")
    if not m:
        return []
    return [line("warm node req/s c1 metrics", m["on_rps"], m["off_rps"], m["ratio"], ".0f",
                 f"   (counted for /metrics vs built without; median ratio of {m['pairs']} alternating pairs of "
                 f"{m['turn']} turns, side by side{', pinned' if m.get('pinned') else ''}; pairs ranged {m['ratio_min']:.2f}-{m['ratio_max']:.2f})")]
