#!/usr/bin/env python3
"""Impuls benchmarks, each against a reference in the same run.

  warm:  a hello handler invoked through Impuls (warm instance) vs a server
         running the same handler in-process: Node (bare Node http, and
         workerd running it as a worker), Python (http.server), native (a C
         `bootstrap`, runtime provided, vs nginx `return 200`): throughput
         and p50/p99 at 1, 8 and 32 connections; the p50 Impuls adds at 1.
  cold:  invoke of a function with no instance (fresh function each time),
         p50/p99, vs starting the bare interpreter (node -e 0, python3 -c pass):
         with a pre-made sandbox ready (a pause before each), back to back
         (the spare may not be ready), and without a sandbox (?local=true);
         and workerd's process start to first response.
         The individual samples are kept for bench/plot.py.
         Scale-up: a call that needs a further instance of a busy Python
         function, cloned from its zygote vs started the ordinary way
         (scaleup.py).
  per call: reuse: false vs bubblewrap starting the interpreter.
  scaling: req/s vs connections (the warm runs) and vs number of functions
         (scaling.py).
  floor: namespaces, a cgroup attach and a fork on their own (floor.c).
  density: idle warm instances' PSS vs bare interpreters (density.py).
  events: an Event invocation's 202 (kept in the store first) vs a DryRun,
         and the insert's commit with synchronous=FULL vs NORMAL (events.py).
  metrics: warm Node c1 req/s as built vs built without the counting for
         /metrics (-DIMPULS_NO_METRICS; metrics.py).
  egress: cold start with network "egress" vs "none", and a download by a
         function vs outside any sandbox, in the tests' world of two network
         namespaces (egress.py).

BENCH_ONLY=warm_node,cold,... runs a subset (names in STEPS; default all);
the report prints what was measured. Prints a table with ratios and writes
bench/results/latest.json. Every run is bounded in time; all traffic stays on
this machine (127.0.0.1, and the egress step's own network namespaces); every
process and temporary directory started here goes at the end,
also on error."""
import base64
import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
import traceback
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
from impuls_daemon import Daemon  # noqa: E402
import cpu  # noqa: E402
import density  # noqa: E402
import egress  # noqa: E402
import events  # noqa: E402
import csharp  # noqa: E402
import golang  # noqa: E402
import microvm  # noqa: E402
import microvm_daemon  # noqa: E402
import tls  # noqa: E402
import load  # noqa: E402
import metrics  # noqa: E402
import refs  # noqa: E402
import scaleup  # noqa: E402
import scaling  # noqa: E402
from load import percentile  # noqa: E402

COLD_RUNS = int(os.environ.get("BENCH_COLD_RUNS", "50"))
COLD_GAP = float(os.environ.get("BENCH_COLD_GAP", "0.5"))  # s: time for a spare sandbox to be made
NGINX_WORKERS = int(os.environ.get("BENCH_NGINX_WORKERS", "1"))
CONNS = (1, 8, 32)
PCTS = load.PCTS
BUILD = os.path.join(HERE, "..", "build")
FLOOR_BIN = os.path.join(BUILD, "bench-floor")  # built by run.sh
BOOTSTRAP_BIN = os.path.join(BUILD, "bench-bootstrap")  # bench/ref/bootstrap.c, built by run.sh
STEPS = ("warm_node", "warm_python", "warm_native", "workerd", "cold", "percall", "go", "csharp", "microvm", "tls",
         "egress", "events", "metrics", "floor", "density", "scaling")
RESULTS = {}


def selected():
    only = os.environ.get("BENCH_ONLY", "").strip()
    if not only:
        return set(STEPS)
    names = {n.strip() for n in only.split(",") if n.strip()}
    unknown = names - set(STEPS)
    if unknown or not names:
        sys.exit(f"BENCH_ONLY: unknown {', '.join(sorted(unknown)) or '(empty)'}; names: {', '.join(STEPS)}")
    return names


def warm(daemon, lang, fn, references):
    """Impuls (function `fn`) against each reference server at every
    connection count, interleaved. references: [(key, start)], start() a
    refs.Server; key names the reference's figures (bare_*, workerd_*)."""
    url = f"{daemon.url}/api/v1/functions/{fn}/invoke"
    with contextlib.ExitStack() as stack:
        servers = [(key, stack.enter_context(start())) for key, start in references]
        r = daemon.invoke(fn, {})
        if r.status != 200:  # the instance is warm from here on
            raise RuntimeError(f"{fn}: {r}")
        for _, srv in servers:  # the same unmeasured start for the references (JIT, caches)
            load.warmup(srv.url, max(CONNS))
        rows = {}
        seconds = load.seconds(load.DURATION)
        for conns in CONNS:
            # Unmeasured warm-up: the instances that `conns` connections need are started.
            load.warmup(url, conns)
            with cpu.Meter(lambda: [daemon.proc.pid]) as dm, cpu.Meter(lambda: instance_pids(daemon, fn)) as im:
                rps, lat = load.run(url, conns)
            calls = rps * seconds
            row = {"impuls_rps": rps, **{f"impuls_p{p}_ms": lat[p] for p in PCTS},
                   "daemon_cpu_us": dm.us_per_call(calls), "function_cpu_us": im.us_per_call(calls)}
            for key, srv in servers:
                with cpu.Meter(lambda: cpu.descendants(srv.proc.pid)) as rm:
                    ref_rps, ref_lat = load.run(srv.url, conns)
                row.update({f"{key}_rps": ref_rps, "ratio" if key == "bare" else f"ratio_{key}": rps / ref_rps,
                            f"{key}_cpu_us": rm.us_per_call(ref_rps * seconds),
                            **{f"{key}_p{p}_ms": ref_lat[p] for p in PCTS}})
            rows[f"c{conns}"] = row
    RESULTS[f"warm_{lang}"] = rows


def instance_pids(daemon, fn):
    """Every process of the function's instances (init and runtime)."""
    return [p for i in daemon.instances(fn) for p in cpu.descendants(i["pid"])]


def time_cmd(cmd, runs):
    xs = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, timeout=60)
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


def cold_workerd():
    """workerd's process start to its first response, against Impuls's cold Node."""
    binary = refs.workerd_bin()
    xs = refs.start_to_first_response(lambda port: refs.workerd_cmd(binary, port), COLD_RUNS)
    RESULTS["cold_workerd"] = {"p50_ms": percentile(xs, 50), "p99_ms": percentile(xs, 99), "runs": COLD_RUNS,
                               "samples_ms": [round(x, 3) for x in xs]}


def native_zip():
    """The function's zip: build/bench-bootstrap as its executable `bootstrap`."""
    if not os.path.exists(BOOTSTRAP_BIN):
        raise RuntimeError(f"{BOOTSTRAP_BIN} is missing: bench/run.sh builds it from bench/ref/bootstrap.c")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o100755 << 16
        with open(BOOTSTRAP_BIN, "rb") as f:
            z.writestr(info, f.read())
    return base64.b64encode(buf.getvalue()).decode()


class Steps:
    """Runs the selected steps; one that fails is reported and the rest go on."""

    def __init__(self, only):
        self.only, self.failed = only, []

    def __call__(self, name, fn, *args, **kwargs):
        if name not in self.only:
            return
        try:
            fn(*args, **kwargs)
        except Exception:
            traceback.print_exc()
            self.failed.append(name)


def main():
    # A SIGTERM (timeout(1), a CI stop) unwinds like an error: every `finally`
    # stops what it started (the reference servers run in sessions of their own).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    only = selected()
    RESULTS["meta"] = {"only": sorted(only), "duration": load.DURATION, "cold_runs": COLD_RUNS,
                       "nginx_workers": NGINX_WORKERS}
    step = Steps(only)
    ref = os.path.join(HERE, "ref")
    node_code = open(os.path.join(ref, "hello.js")).read()
    py_code = open(os.path.join(ref, "hello.py")).read()
    if only & {"workerd"}:
        try:
            binary = refs.workerd_bin()
            RESULTS["meta"]["workerd"] = refs.workerd_version(binary)
        except Exception:
            traceback.print_exc()
            step.failed.append("workerd")
            only = only - {"workerd"}
            step.only = only
    if only & {"warm_node", "warm_python", "warm_native", "workerd", "cold", "percall", "go", "csharp"}:
        d = Daemon()
        try:
            d.start()
            # concurrency 32: a warm instance for every connection wrk opens.
            def warm_function(lang, references, **spec):
                d.create(name=f"bench-{lang}", concurrency=max(CONNS), **spec)
                warm(d, lang, f"bench-{lang}", references)

            node_refs = ([("bare", refs.node)] if "warm_node" in only else []) + \
                        ([("workerd", lambda: refs.workerd(binary))] if "workerd" in only else [])
            if node_refs:
                step("warm_node" if "warm_node" in only else "workerd", warm_function, "node", node_refs,
                     runtime="nodejs20", handler="index.handler", code=node_code)
            step("warm_python", warm_function, "python", [("bare", refs.python)],
                 runtime="python311", handler="main.handler", code=py_code)
            step("warm_native", lambda: warm_function("native", [("bare", lambda: refs.nginx(NGINX_WORKERS))],
                                                      runtime="provided", handler="hello.handler",
                                                      zip=native_zip()))
            step("cold", cold, d, "node", "nodejs20", node_code, "index.handler", ["/usr/bin/node", "-e", "0"])
            step("cold", cold, d, "python", "python311", py_code, "main.handler",
                 ["/usr/bin/python3", "-c", "pass"])
            step("percall", per_call, d, "node", "nodejs20", node_code, "index.handler",
                 ["--ro-bind", ref, "/ref", "/usr/bin/node", "-e",
                  "require('/ref/hello.js').handler({}).then(r => process.stdout.write(r.body))"])
            step("percall", per_call, d, "python", "python311", py_code, "main.handler",
                 ["--ro-bind", ref, "/ref", "/usr/bin/python3", "-c",
                  "import sys; sys.path.insert(0, '/ref'); import hello; print(hello.handler({}, None)['body'])"])
            step("go", lambda: golang.run(d, COLD_RUNS, native_zip(), RESULTS))
            step("csharp", csharp.run, d, RESULTS, cold)
            # Last on this daemon: its hundred instances go as it ends.
            step("cold", scaleup.run, d, COLD_RUNS, RESULTS)
        except Exception:
            traceback.print_exc()
            step.failed.append("daemon")
        finally:
            d.end()
    # After the main daemon is gone: workerd's starts, the scaling run's own
    # daemon, the floor's namespaces and the density run's hundreds of
    # instances would disturb the timings above.
    step("workerd", cold_workerd)
    step("tls", tls.run, RESULTS)
    step("egress", egress.run, RESULTS, COLD_RUNS, COLD_GAP)
    step("events", events.run, RESULTS)
    step("metrics", metrics.run, RESULTS)
    step("microvm", microvm.run, RESULTS)
    step("microvm", microvm_daemon.run, RESULTS)
    step("scaling", scaling.run, RESULTS)
    step("floor", floor)
    step("density", density.run, RESULTS)
    report(only)
    if step.failed:
        print(f"failed: {', '.join(dict.fromkeys(step.failed))}", file=sys.stderr)
        sys.exit(1)


W = 30  # the label column


def line(label, imp, ref, ratio, fmt, note=""):
    """A table row; a figure not measured prints as "-"."""
    def cell(v, f, width):
        return f"{'-':>{width}}" if v is None else f"{v:>{width}{f}}"
    return f"{label:<{W}}{cell(imp, fmt, 14)}{cell(ref, fmt, 14)}{cell(ratio, '.2f', 9)}{note}"


WARM_REFS = {  # lang: [(key, label suffix, what, throughput target)]
    "node": [("bare", "", "the bare Node server", 0.60), ("workerd", " workerd", "workerd", None)],
    "python": [("bare", "", "the bare Python server", None)],
    "native": [("bare", "", "nginx", 0.50)],
}


def warm_rows():
    out = []
    for lang, references in WARM_REFS.items():
        w = RESULTS.get(f"warm_{lang}")
        if not w:
            continue
        present = [r for r in references if f"{r[0]}_rps" in w[f"c{CONNS[0]}"]]
        for c in (f"c{n}" for n in CONNS):
            for key, suffix, _, target in present:
                r = w[c]
                out.append(line(f"warm {lang} req/s {c}{suffix}", r["impuls_rps"], r[f"{key}_rps"],
                                r["impuls_rps"] / r[f"{key}_rps"], ".0f",
                                f"   (target >= {target:.2f})" if target else ""))
        for c in (f"c{n}" for n in CONNS):
            for p in ("50", "99"):
                for key, suffix, _, _ in present:
                    r = w[c]
                    out.append(line(f"warm {lang} p{p} ms {c}{suffix}", r[f"impuls_p{p}_ms"], r[f"{key}_p{p}_ms"],
                                    r[f"impuls_p{p}_ms"] / r[f"{key}_p{p}_ms"], ".3f"))
        for c in (f"c{n}" for n in CONNS):
            for key, suffix, _, _ in present:
                r = w[c]
                if f"{key}_cpu_us" not in r:
                    continue
                total = r["daemon_cpu_us"] + r["function_cpu_us"]
                ref = r[f"{key}_cpu_us"]
                out.append(line(f"warm {lang} cpu us/call {c}{suffix}", total, ref, total / ref if ref else 0, ".1f",
                                f"   (daemon {r['daemon_cpu_us']:.1f} + function {r['function_cpu_us']:.1f};"
                                " the reference's own CPU; wrk's not counted)"))
    return out


def added_rows():
    """The p50 Impuls adds over each reference at one connection, in µs."""
    out = []
    c = f"c{CONNS[0]}"
    for lang, references in WARM_REFS.items():
        w = RESULTS.get(f"warm_{lang}")
        for key, suffix, what, _ in references:
            if not w or f"{key}_rps" not in w[c]:
                continue
            imp, ref = w[c]["impuls_p50_ms"] * 1000, w[c][f"{key}_p50_ms"] * 1000
            out.append(f"{f'added p50 us {c} {lang}{suffix}':<{W}}{imp:>14.0f}{ref:>14.0f}{imp - ref:>+9.0f}"
                       f"   (Impuls p50 - p50 of {what}, us{'; target <= 100' if key == 'bare' else ''})")
    return out


def cold_rows():
    out = []
    for lang in ("node", "python", "csharp"):
        r = RESULTS.get(f"cold_{lang}")
        if not r:
            continue
        out.append(line(f"cold {lang} p50 ms", r["impuls_p50_ms"], r["ref_p50_ms"], r["ratio_p50"], ".1f"))
        out.append(line(f"cold {lang} p99 ms", r["impuls_p99_ms"], r["ref_p99_ms"],
                        r["impuls_p99_ms"] / r["ref_p99_ms"], ".1f"))
        out.append(line(f"cold {lang} p50 ms b2b", r["back_to_back_p50_ms"], r["ref_p50_ms"],
                        r["back_to_back_p50_ms"] / r["ref_p50_ms"], ".1f",
                        f"   (back to back: {r['back_to_back_premade_hits']}/{r['runs']} found a pre-made sandbox "
                        f"ready; with a pause {r['premade_hits']}/{r['runs']})"))
        out.append(line(f"cold {lang} p99 ms b2b", r["back_to_back_p99_ms"], r["ref_p99_ms"],
                        r["back_to_back_p99_ms"] / r["ref_p99_ms"], ".1f"))
        out.append(line(f"cold {lang} p50 ms sandbox", r["impuls_p50_ms"], r["local_p50_ms"],
                        r["impuls_p50_ms"] / r["local_p50_ms"], ".1f",
                        "   (reference: the same cold start with ?local=true, no sandbox)"))
    su = RESULTS.get("scaleup_python")
    if su:
        for p in ("50", "99"):
            out.append(line(f"scale-up python p{p} ms zygote", su[f"zygote_p{p}_ms"], su[f"plain_p{p}_ms"],
                            su[f"zygote_p{p}_ms"] / su[f"plain_p{p}_ms"], ".1f",
                            f"   (a further instance cloned from the function's zygote ({su['zygote_made']} of "
                            f"{su['runs'] + 2} instances) vs started the ordinary way)" if p == "50" else ""))
    wd = RESULTS.get("cold_workerd")
    if wd:
        node = RESULTS.get("cold_node", {})
        for p in ("50", "99"):
            imp = node.get(f"impuls_p{p}_ms")
            out.append(line(f"cold node p{p} ms workerd", imp, wd[f"p{p}_ms"],
                            imp / wd[f"p{p}_ms"] if imp is not None else None, ".1f",
                            f"   (reference: workerd process start to first response, {wd['runs']} runs)"
                            if p == "50" else ""))
    for lang in ("node", "python"):
        r = RESULTS.get(f"percall_{lang}")
        if r:
            out.append(line(f"per-call {lang} p50 ms", r["impuls_p50_ms"], r["bwrap_p50_ms"], r["ratio_p50"], ".1f",
                            "   (reuse: false vs bwrap + interpreter + handler)"))
    return out


def floor_rows():
    f = RESULTS.get("floor")
    if not f:
        return []
    cold = ", ".join(f"cold {lang} p50 {RESULTS[f'cold_{lang}']['impuls_p50_ms']:.1f} ms"
                     for lang in ("python", "node") if f"cold_{lang}" in RESULTS)
    return [f"floor: namespaces p50 {f['namespaces_p50_ms']:.2f} ms, cgroup attach p50 {f['cgroup_p50_ms']:.2f} ms, "
            f"fork p50 {f['fork_p50_ms']:.2f} ms, sum {f['sum_p50_ms']:.2f} ms",
            f"       p99: namespaces {f['namespaces_p99_ms']:.2f} ms, cgroup attach {f['cgroup_p99_ms']:.2f} ms, "
            f"fork {f['fork_p99_ms']:.2f} ms ({f['runs']} runs each, cgroup {f['cgroup']}"
            + (f"; {cold})" if cold else ")")]


def report(only):
    print(f"\n{'benchmark':<{W}}{'impuls':>14}{'reference':>14}{'ratio':>9}")
    for rows in (warm_rows(), added_rows(), cold_rows(), golang.rows(RESULTS, line), csharp.rows(RESULTS, line),
                 microvm.rows(RESULTS, line), microvm_daemon.rows(RESULTS, line),
                 tls.rows(RESULTS, line), egress.rows(RESULTS, line), events.rows(RESULTS, line),
                 metrics.rows(RESULTS, line),
                 density.rows(RESULTS)):
        for r in rows:
            print(r)
    if "scaling" in only:
        rows = scaling.rows(RESULTS, CONNS)
        if rows:
            print("scaling: req/s vs connections (reference: c1) and vs functions (reference: F=1)")
            for r in rows:
                print(r)
    for r in floor_rows():
        print(r)
    said = [what for key, what in (
        ("warm_node", "warm node = the bare Node http server (and workerd) running the same handler"),
        ("warm_python", "warm python = http.server running the same handler"),
        ("warm_native", f"warm native = nginx `return 200`, {NGINX_WORKERS} worker process(es)"),
        ("cold_node", "cold = the bare interpreter (node -e 0, python3 -c pass)"),
        ("cold_workerd", "cold workerd = workerd's process start to its first response"),
        ("density_node", "density = the bare interpreter idling; daemon RSS = idle before"),
    ) if key in RESULTS]
    if said:
        print("references: " + "; ".join(said))
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "latest.json"), "w") as f:
        json.dump(RESULTS, f, indent=2)


if __name__ == "__main__":
    main()
