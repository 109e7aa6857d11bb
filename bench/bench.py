#!/usr/bin/env python3
"""Impuls benchmarks, each against a reference in the same run.

  warm:  a hello handler invoked through Impuls (warm instance) vs a bare
         server running the same handler in-process (Node http, Python
         http.server): throughput and p50/p99 at 1, 8 and 32 connections.
  cold:  invoke of a function with no instance (fresh function each time),
         p50/p99, vs starting the bare interpreter (node -e 0, python3 -c pass):
         with a pre-made sandbox ready (a pause before each), back to back
         (the spare may not be ready), and without a sandbox (?local=true).
         The individual samples are kept for bench/plot.py.
  per call: reuse: false vs bubblewrap starting the interpreter.
  floor: namespaces, a cgroup attach and a fork on their own (floor.c).
  density: idle warm instances' PSS vs bare interpreters (density.py).

Prints a table with ratios and writes bench/results/latest.json. Every run is
bounded in time; all traffic stays on 127.0.0.1."""
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
from impuls_daemon import Daemon, free_port  # noqa: E402
import density  # noqa: E402

DURATION = os.environ.get("BENCH_DURATION", "5s")
COLD_RUNS = int(os.environ.get("BENCH_COLD_RUNS", "50"))
COLD_GAP = float(os.environ.get("BENCH_COLD_GAP", "0.5"))  # s: time for a spare sandbox to be made
CONNS = (1, 8, 32)
PCTS = ("50", "75", "90", "99")  # what wrk --latency prints
FLOOR_BIN = os.path.join(HERE, "..", "build", "bench-floor")  # built by run.sh
RESULTS = {}


def wrk(url, conns):
    out = subprocess.run(["wrk", "-t", "1", "-c", str(conns), "-d", DURATION, "--latency",
                          "-s", os.path.join(HERE, "post.lua"), url],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {}
    for pct in PCTS:
        m = re.search(rf"\s{pct}(?:\.000)?%\s+([\d.]+)(us|ms|s)", out)
        v, unit = float(m.group(1)), m.group(2)
        lat[pct] = v * {"us": 0.001, "ms": 1, "s": 1000}[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} failed responses")
    return rps, lat


def wait_port(port):
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"port {port} never answered")


def percentile(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def warm(daemon, lang, fn, ref_cmd):
    port = free_port()
    ref = subprocess.Popen(ref_cmd + [str(port)], cwd=os.path.join(HERE, "ref"))
    try:
        wait_port(port)
        assert daemon.invoke(fn, {}).status == 200  # the instance is warm from here on
        rows = {}
        for conns in CONNS:
            # Unmeasured warm-up: the instances that `conns` connections need are started.
            subprocess.run(["wrk", "-t", "1", "-c", str(conns), "-d", "1s", "-s",
                            os.path.join(HERE, "post.lua"), f"{daemon.url}/api/v1/functions/{fn}/invoke"],
                           capture_output=True, timeout=60, check=True)
            imp = wrk(f"{daemon.url}/api/v1/functions/{fn}/invoke", conns)
            bare = wrk(f"http://127.0.0.1:{port}/", conns)
            rows[conns] = (imp, bare)
        RESULTS[f"warm_{lang}"] = {
            f"c{c}": {"impuls_rps": i[0], "bare_rps": b[0], "ratio": i[0] / b[0],
                      **{f"impuls_p{p}_ms": i[1][p] for p in PCTS},
                      **{f"bare_p{p}_ms": b[1][p] for p in PCTS}}
            for c, (i, b) in rows.items()}
    finally:
        ref.kill()
        ref.wait()


def time_cmd(cmd, runs):
    xs = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        xs.append((time.perf_counter() - t) * 1000)
    return xs


def cold_starts(daemon, lang, runtime, code, handler, query, gap=0.0):
    """Cold-start times (ms) and how many of them claimed a pre-made sandbox."""
    xs, premade = [], 0
    for i in range(COLD_RUNS):
        name = f"cold-{lang}-{i}"
        time.sleep(gap)
        daemon.create(name=name, runtime=runtime, handler=handler, code=code)
        t = time.perf_counter()
        r = daemon.invoke(name, {}, query=query)
        xs.append((time.perf_counter() - t) * 1000)
        assert r.status == 200, r
        premade += any(i.get("premade") for i in daemon.instances(name))
        daemon.request("DELETE", f"/api/v1/functions/{name}")
    return xs, premade


def cold(daemon, lang, runtime, code, handler, ref_cmd):
    cold_starts(daemon, lang, runtime, code, handler, "")  # the first makes the language's spare
    ready, hits = cold_starts(daemon, lang, runtime, code, handler, "", gap=COLD_GAP)
    b2b, b2b_hits = cold_starts(daemon, lang, runtime, code, handler, "")
    # The same cold start without a sandbox (?local=true): the difference is
    # what creating the sandbox costs.
    local, _ = cold_starts(daemon, lang, runtime, code, handler, "?local=true")
    ref = time_cmd(ref_cmd, COLD_RUNS)
    RESULTS[f"cold_{lang}"] = {
        "impuls_p50_ms": percentile(ready, 50), "impuls_p99_ms": percentile(ready, 99), "premade_hits": hits,
        "back_to_back_p50_ms": percentile(b2b, 50), "back_to_back_p99_ms": percentile(b2b, 99),
        "back_to_back_premade_hits": b2b_hits, "runs": COLD_RUNS,
        "local_p50_ms": percentile(local, 50), "local_p99_ms": percentile(local, 99),
        "ref": " ".join(ref_cmd), "ref_p50_ms": percentile(ref, 50),
        "ref_p99_ms": percentile(ref, 99), "ratio_p50": percentile(ready, 50) / percentile(ref, 50),
        "samples_ms": {k: [round(x, 3) for x in v] for k, v in
                       (("ready", ready), ("back_to_back", b2b), ("local", local), ("ref", ref))}}


BWRAP = ["bwrap", "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
         "--symlink", "usr/bin", "/bin", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
         "--unshare-all", "--die-with-parent"]


def per_call(daemon, lang, runtime, code, handler, script):
    """reuse: false (a fresh sandbox for every call, as Glambdar ran them) vs
    bubblewrap starting the same interpreter on the same handler."""
    name = f"percall-{lang}"
    daemon.create(name=name, runtime=runtime, handler=handler, code=code, reuse=False)
    xs = []
    for _ in range(COLD_RUNS):
        t = time.perf_counter()
        r = daemon.invoke(name, {})
        xs.append((time.perf_counter() - t) * 1000)
        assert r.status == 200, r
    ref = time_cmd(BWRAP + script, COLD_RUNS)
    RESULTS[f"percall_{lang}"] = {
        "impuls_p50_ms": percentile(xs, 50), "impuls_p99_ms": percentile(xs, 99),
        "bwrap_p50_ms": percentile(ref, 50), "bwrap_p99_ms": percentile(ref, 99),
        "ratio_p50": percentile(xs, 50) / percentile(ref, 50)}


def floor():
    out = subprocess.run([FLOOR_BIN, "--json"], capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise RuntimeError(f"bench-floor failed: {out.stderr.strip()}")
    RESULTS["floor"] = json.loads(out.stdout)


def main():
    node_code = open(os.path.join(HERE, "ref", "hello.js")).read()
    py_code = open(os.path.join(HERE, "ref", "hello.py")).read()
    d = Daemon().start()
    try:
        # concurrency 32: a warm instance for every connection wrk opens.
        d.create(name="bench-node", runtime="nodejs20", handler="index.handler", code=node_code,
                 concurrency=max(CONNS))
        d.create(name="bench-py", runtime="python311", handler="main.handler", code=py_code,
                 concurrency=max(CONNS))
        warm(d, "node", "bench-node", ["/usr/bin/node", "node_server.js"])
        warm(d, "python", "bench-py", ["/usr/bin/python3", "py_server.py"])
        cold(d, "node", "nodejs20", node_code, "index.handler", ["/usr/bin/node", "-e", "0"])
        cold(d, "python", "python311", py_code, "main.handler", ["/usr/bin/python3", "-c", "pass"])
        ref = os.path.join(HERE, "ref")
        per_call(d, "node", "nodejs20", node_code, "index.handler",
                 ["--ro-bind", ref, "/ref", "/usr/bin/node", "-e",
                  "require('/ref/hello.js').handler({}).then(r => process.stdout.write(r.body))"])
        per_call(d, "python", "python311", py_code, "main.handler",
                 ["--ro-bind", ref, "/ref", "/usr/bin/python3", "-c",
                  "import sys; sys.path.insert(0, '/ref'); import hello; print(hello.handler({}, None)['body'])"])
    finally:
        d.stop()
        d.cleanup()
    # After the main daemon is gone: the floor's namespaces and the density
    # run's hundreds of instances would disturb the timings above.
    failed = False
    for step in (floor, lambda: density.run(RESULTS)):
        try:
            step()
        except Exception:  # report what was measured, then fail
            traceback.print_exc()
            failed = True
    report()
    if failed:
        sys.exit(1)


def report():
    print(f"\n{'benchmark':<28}{'impuls':>14}{'reference':>14}{'ratio':>9}")
    for lang in ("node", "python"):
        w = RESULTS[f"warm_{lang}"]
        for c in (f"c{n}" for n in CONNS):
            r = w[c]
            print(f"{'warm ' + lang + ' req/s ' + c:<28}{r['impuls_rps']:>14.0f}{r['bare_rps']:>14.0f}"
                  f"{r['ratio']:>9.2f}")
        for c in (f"c{n}" for n in CONNS):
            r = w[c]
            for p in ("50", "99"):
                print(f"{'warm ' + lang + ' p' + p + ' ms ' + c:<28}{r[f'impuls_p{p}_ms']:>14.3f}"
                      f"{r[f'bare_p{p}_ms']:>14.3f}{r[f'impuls_p{p}_ms'] / r[f'bare_p{p}_ms']:>9.2f}")
    for lang in ("node", "python"):
        r = RESULTS[f"cold_{lang}"]
        print(f"{'cold ' + lang + ' p50 ms':<28}{r['impuls_p50_ms']:>14.1f}{r['ref_p50_ms']:>14.1f}"
              f"{r['ratio_p50']:>9.2f}")
        print(f"{'cold ' + lang + ' p99 ms':<28}{r['impuls_p99_ms']:>14.1f}{r['ref_p99_ms']:>14.1f}"
              f"{r['impuls_p99_ms'] / r['ref_p99_ms']:>9.2f}")
        print(f"{'cold ' + lang + ' p50 ms b2b':<28}{r['back_to_back_p50_ms']:>14.1f}{r['ref_p50_ms']:>14.1f}"
              f"{r['back_to_back_p50_ms'] / r['ref_p50_ms']:>9.2f}   (back to back: "
              f"{r['back_to_back_premade_hits']}/{r['runs']} found a pre-made sandbox ready; "
              f"with a pause {r['premade_hits']}/{r['runs']})")
        print(f"{'cold ' + lang + ' p50 ms sandbox':<28}{r['impuls_p50_ms']:>14.1f}"
              f"{r['local_p50_ms']:>14.1f}{r['impuls_p50_ms'] / r['local_p50_ms']:>9.2f}"
              "   (reference: the same cold start with ?local=true, no sandbox)")
    for lang in ("node", "python"):
        r = RESULTS[f"percall_{lang}"]
        print(f"{'per-call ' + lang + ' p50 ms':<28}{r['impuls_p50_ms']:>14.1f}{r['bwrap_p50_ms']:>14.1f}"
              f"{r['ratio_p50']:>9.2f}   (reuse: false vs bwrap + interpreter + handler)")
    for line in density.rows(RESULTS):
        print(line)
    f = RESULTS.get("floor")
    if f:
        print(f"floor: namespaces p50 {f['namespaces_p50_ms']:.2f} ms, cgroup attach p50 {f['cgroup_p50_ms']:.2f} ms, "
              f"fork p50 {f['fork_p50_ms']:.2f} ms, sum {f['sum_p50_ms']:.2f} ms")
        print(f"       p99: namespaces {f['namespaces_p99_ms']:.2f} ms, cgroup attach {f['cgroup_p99_ms']:.2f} ms, "
              f"fork {f['fork_p99_ms']:.2f} ms ({f['runs']} runs each, cgroup {f['cgroup']}; "
              f"cold python p50 {RESULTS['cold_python']['impuls_p50_ms']:.1f} ms, "
              f"node {RESULTS['cold_node']['impuls_p50_ms']:.1f} ms)")
    print("references: warm = bare server with the same handler; cold = the bare interpreter "
          "(node -e 0, python3 -c pass); density = the bare interpreter idling; daemon RSS = idle before")
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "latest.json"), "w") as f:
        json.dump(RESULTS, f, indent=2)


if __name__ == "__main__":
    main()
