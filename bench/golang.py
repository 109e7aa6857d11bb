"""Go handlers (runtime go: source the daemon builds, bench/ref/hello.go)
beside the native C bootstrap (runtime provided, bench/ref/bootstrap.c)
answering the same: the cold start (a new function's first call, no
pre-made sandbox for either) and warm req/s and p50 at one connection,
measured in one run, alternating. The build itself is not timed: the same
source is built once and every cold-start function reuses it."""
import os
import time

import load
from load import percentile

HERE = os.path.dirname(os.path.abspath(__file__))


def cold_starts(daemon, runs, **spec):
    xs = []
    for i in range(runs):
        name = f"cold-{spec['runtime']}-{i}"
        daemon.create(name=name, **spec)
        t = time.perf_counter()
        r = daemon.invoke(name, {})
        xs.append((time.perf_counter() - t) * 1000)
        assert r.status == 200 and r.body == b"Hello from Impuls!", r
        daemon.request("DELETE", f"/api/v1/functions/{name}")
    return xs


def run(daemon, runs, native_zip, results):
    with open(os.path.join(HERE, "ref", "hello.go")) as f:
        go = {"runtime": "go", "code": f.read()}
    native = {"runtime": "provided", "handler": "hello.handler", "zip": native_zip}
    t = time.perf_counter()
    daemon.create(name="bench-go", **go, timeout_s=900)
    build_s = time.perf_counter() - t
    daemon.create(name="bench-native-go-ref", **native)
    go_cold, c_cold = [], []
    for _ in range(2):  # alternating halves: drift on the machine hits both
        go_cold += cold_starts(daemon, runs // 2, **go)
        c_cold += cold_starts(daemon, runs // 2, **native)
    urls = {k: f"{daemon.url}/api/v1/functions/{fn}/invoke" for k, fn in (("go", "bench-go"),
                                                                         ("c", "bench-native-go-ref"))}
    for url in urls.values():
        load.warmup(url, 1)
    warm = {"go": [], "c": []}
    for _ in range(2):
        for k, url in urls.items():
            warm[k].append(load.run(url, 1))
    best = {k: max(v, key=lambda x: x[0]) for k, v in warm.items()}
    results["go"] = {
        "build_s": build_s, "runs": len(go_cold),
        "cold_p50_ms": percentile(go_cold, 50), "cold_p99_ms": percentile(go_cold, 99),
        "native_cold_p50_ms": percentile(c_cold, 50), "native_cold_p99_ms": percentile(c_cold, 99),
        "warm_c1_rps": best["go"][0], "native_warm_c1_rps": best["c"][0],
        "warm_c1_p50_ms": best["go"][1]["50"], "native_warm_c1_p50_ms": best["c"][1]["50"],
    }


def rows(results, line):
    g = results.get("go")
    if not g:
        return []
    return [
        line("cold go p50 ms", g["cold_p50_ms"], g["native_cold_p50_ms"], g["cold_p50_ms"] / g["native_cold_p50_ms"],
             ".1f", f"   (reference: the native C bootstrap, provided; {g['runs']} each)"),
        line("cold go p99 ms", g["cold_p99_ms"], g["native_cold_p99_ms"], g["cold_p99_ms"] / g["native_cold_p99_ms"],
             ".1f"),
        line("warm go req/s c1", g["warm_c1_rps"], g["native_warm_c1_rps"],
             g["warm_c1_rps"] / g["native_warm_c1_rps"], ".0f", "   (reference: the native C bootstrap)"),
        line("warm go p50 ms c1", g["warm_c1_p50_ms"], g["native_warm_c1_p50_ms"],
             g["warm_c1_p50_ms"] / g["native_warm_c1_p50_ms"], ".3f",
             f"   (the first build of the source took {g['build_s']:.1f} s, not counted)"),
    ]
