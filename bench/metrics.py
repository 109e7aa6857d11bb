"""What counting for GET /metrics costs a warm call (pool/metrics.h): a
Node hello at one connection on the daemon as built, vs the same daemon
built with -DIMPULS_NO_METRICS (build/impuls-nometrics, which counts
nothing). The two run in turns, three each, and the medians are compared:
machines drift within a run, and the cost is a few additions per call."""
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
import impuls_daemon  # noqa: E402
import load  # noqa: E402

ROUNDS = 3
CODE = "exports.handler = async () => ({statusCode: 200, body: 'hello'});\n"
NO_METRICS = os.path.join(HERE, "..", "build", "impuls-nometrics")


def one(binary):
    d = impuls_daemon.Daemon(extra_args=["--prewarm", "0"])
    saved = impuls_daemon.BIN
    impuls_daemon.BIN = binary
    try:
        d.start()
        d.create(name="hello", runtime="nodejs20", handler="index.handler", code=CODE)
        url = f"http://127.0.0.1:{d.port}/api/v1/functions/hello/invoke"
        load.warmup(url, 1)
        rps, _ = load.run(url, 1)
        return rps
    finally:
        impuls_daemon.BIN = saved
        d.end()


def run(results):
    on, off = [], []
    for _ in range(ROUNDS):
        on.append(one(impuls_daemon.BIN))
        off.append(one(NO_METRICS))
    results["metrics"] = {"on_rps": statistics.median(on), "off_rps": statistics.median(off), "rounds": ROUNDS,
                          "duration": load.DURATION}


def rows(results, line):
    m = results.get("metrics")
    if not m:
        return []
    return [line("warm node req/s c1 metrics", m["on_rps"], m["off_rps"], m["on_rps"] / m["off_rps"], ".0f",
                 f"   (counted for /metrics vs built without; median of {m['rounds']} turns of {m['duration']})")]
