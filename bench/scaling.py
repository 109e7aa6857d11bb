"""Scaling: throughput vs the number of functions. A daemon of its own gets
F = 1, 10, 100 Node hello functions (bench/ref/hello.js, created through the
API, added as F grows); wrk at 8 connections spreads its calls over the F
functions round-robin (roundrobin.lua). Each new function is called once
first (its cold start), then unmeasured 1 s runs start the instances the
load needs (until one starts none), then the measured run. F = 10 is run
again in a daemon with `--scale-delay 0` (a new instance for every call that
finds the others busy, as Lambda scales) to show what the default scale-up
delay saves (docs/operations.md, "Scaling up"). Throughput vs connections is
the warm benchmarks' c1/c8/c32, printed beside it by rows()."""
import os

import cpu
import load
from impuls_daemon import Daemon

HERE = os.path.dirname(os.path.abspath(__file__))
FUNCTIONS = (1, 10, 100)
NO_DELAY_F = 10
CONNS = 8
PREFIX = "scale-"
SCRIPT = os.path.join(HERE, "roundrobin.lua")


def run(results):
    results["scaling_functions"] = sweep(FUNCTIONS, ())
    results["scaling_no_delay"] = sweep((NO_DELAY_F,), ("--scale-delay", "0"))


def sweep(functions, daemon_args):
    code = open(os.path.join(HERE, "ref", "hello.js")).read()
    d = Daemon(extra_args=daemon_args)
    out = {"conns": CONNS}
    try:
        d.start()
        made = 0
        for f in functions:
            for k in range(made, f):
                # concurrency CONNS: with F = 1 every connection needs its own instance.
                d.create(name=f"{PREFIX}{k}", runtime="nodejs20", handler="index.handler", code=code,
                         concurrency=CONNS)
                r = d.invoke(f"{PREFIX}{k}", {})
                if r.status != 200:
                    raise RuntimeError(f"{PREFIX}{k}: {r}")
            made = f
            url = f"{d.url}/"
            warmups, before = warmup(d, url, f)
            with cpu.Meter(lambda: [d.proc.pid]) as daemon_cpu, cpu.Meter(lambda: cpu.below(d.proc.pid)) as fn_cpu:
                rps, lat = load.run(url, CONNS, script=SCRIPT, args=(PREFIX, f))
            calls = rps * load.seconds(load.DURATION)
            out[f"f{f}"] = {"functions": f, "impuls_rps": rps, "warmup_runs": warmups,
                            "instances_before": before, "instances": instance_count(d, f),
                            "daemon_cpu_us": daemon_cpu.us_per_call(calls), "function_cpu_us": fn_cpu.us_per_call(calls),
                            **{f"impuls_p{p}_ms": lat[p] for p in load.PCTS}}
        return out
    finally:
        d.end(timeout=60)


def warmup(d, url, f):
    """Unmeasured 1 s runs until one starts no new instance (at most 5): a
    call that finds its function's instances busy starts another. Returns
    (runs, instances)."""
    have = instance_count(d, f)
    for runs in range(1, 6):
        load.warmup(url, CONNS, script=SCRIPT, args=(PREFIX, f))
        now = instance_count(d, f)
        if now == have:
            break
        have = now
    return runs, now


def instance_count(d, f):
    return sum(len(d.instances(f"{PREFIX}{k}")) for k in range(f))


def rows(results, conns):
    """Table lines: req/s vs connections (from the warm runs, ratio to c1) and
    vs functions (ratio to F = 1)."""
    lines = []
    for lang in ("node", "python", "native"):
        w = results.get(f"warm_{lang}")
        if not w:
            continue
        base = w[f"c{conns[0]}"]["impuls_rps"]
        for c in conns:
            r = w[f"c{c}"]["impuls_rps"]
            lines.append(f"{'scaling ' + lang + ' req/s c' + str(c):<30}{r:>14.0f}{base:>14.0f}{r / base:>9.2f}"
                         f"   (reference: the same at c{conns[0]})")
    s = results.get("scaling_functions")
    if s:
        base = s[f"f{FUNCTIONS[0]}"]["impuls_rps"]
        for f in FUNCTIONS:
            r = s[f"f{f}"]
            lines.append(f"{'scaling node req/s F=' + str(f):<30}{r['impuls_rps']:>14.0f}{base:>14.0f}"
                         f"{r['impuls_rps'] / base:>9.2f}   ({f} functions round-robin at c{s['conns']}, "
                         f"{r['instances']} instances ({r['instances_before']} before the run), p50 {r['impuls_p50_ms']:.3f} ms, "
                         f"p99 {r['impuls_p99_ms']:.3f} ms, CPU us/call daemon {r.get('daemon_cpu_us', 0):.1f} + "
                         f"functions {r.get('function_cpu_us', 0):.1f}; reference: F={FUNCTIONS[0]})")
    n = results.get("scaling_no_delay")
    if s and n:
        r, ref = n[f"f{NO_DELAY_F}"], s[f"f{NO_DELAY_F}"]
        lines.append(f"{'scaling node F=' + str(NO_DELAY_F) + ' delay 0':<30}{r['impuls_rps']:>14.0f}"
                     f"{ref['impuls_rps']:>14.0f}{r['impuls_rps'] / ref['impuls_rps']:>9.2f}   (--scale-delay 0: "
                     f"{r['instances']} instances vs {ref['instances']} with the default delay; reference: the default)")
    return lines
