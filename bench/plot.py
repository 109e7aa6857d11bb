#!/usr/bin/env python3
"""Plots of the latest bench run (bench/results/latest.json) for
docs/performance.md, drawn with gnuplot (Debian's gnuplot-nox):

  docs/bench-latency.png    warm p50 and p99 latency vs connections (1, 8, 32),
                            Impuls Node, Python and native vs their references
                            (bare servers, workerd, nginx)
  docs/bench-coldstart.png  the distribution (CDF) of the individual cold-start
                            samples, Node and Python: with a pre-made sandbox
                            ready, back to back, the bare interpreter, and
                            workerd's process start
A plot whose benchmarks the run did not measure is left as it was.

Usage: python3 bench/plot.py [RESULTS.json [OUTDIR]] (run.sh calls it after
bench.py with neither: bench/results/latest.json into docs/)."""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results", "latest.json")
DOCS = os.path.join(HERE, "..", "docs")


def q(path):
    """A gnuplot single-quoted string."""
    return "'" + path.replace("'", "''") + "'"


def terminal():
    # pngcairo draws antialiased lines; plain png (libgd) is the fallback.
    out = subprocess.run(["gnuplot", "-e", "set terminal"], capture_output=True, text=True, timeout=30)
    return "pngcairo" if "pngcairo" in out.stdout + out.stderr else "png"


def write(path, rows):
    with open(path, "w") as f:
        for row in rows:
            f.write(" ".join(f"{v:.6g}" for v in row) + "\n")


# lang: (colour, Impuls point, [(reference key, label, point)])
WARM = {
    "node": ("#1f77b4", 7, [("bare", "bare Node server", 6), ("workerd", "workerd", 12)]),
    "python": ("#d62728", 5, [("bare", "bare Python server", 4)]),
    "native": ("#2ca02c", 9, [("bare", "nginx", 8)]),
}


def latency(res, tmp, out, term):
    """None when no warm benchmark was measured."""
    series = []  # (file, Impuls or reference key, title, style)
    conns = set()
    for lang, (colour, pt, references) in WARM.items():
        w = res.get(f"warm_{lang}")
        if not w:
            continue
        cs = sorted(int(c[1:]) for c in w)
        conns.update(cs)
        keys = ["impuls"] + [key for key, _, _ in references if f"{key}_p50_ms" in w[f"c{cs[0]}"]]
        path = os.path.join(tmp, f"warm_{lang}.dat")
        # columns: connections, then p50 and p99 of each of `keys`
        write(path, [[c] + [w[f"c{c}"][f"{k}_p{p}_ms"] for k in keys for p in ("50", "99")] for c in cs])
        name = {"node": "Node", "python": "Python", "native": "native"}[lang]
        for i, k in enumerate(keys):
            if k == "impuls":
                series.append((path, 2 + 2 * i, f"Impuls {name}", f"w lp pt {pt} lc rgb '{colour}'"))
            else:
                _, label, rpt = next(r for r in references if r[0] == k)
                dt = 2 if k == "bare" else 4
                series.append((path, 2 + 2 * i, label, f"w lp pt {rpt} dt {dt} lc rgb '{colour}'"))
    if not series:
        return None
    xtics = ", ".join(str(c) for c in sorted(conns))
    panels = []
    for offset, title in ((0, "p50"), (1, "p99")):
        panels.append(f'set title "{title}"\nplot ' + ", \\\n     ".join(
            f"{q(path)} u 1:{col + offset} {style} t '{label}'" for path, col, label, style in series) + "\n")
    return f"""set terminal {term} size 1100,500
set output {q(out)}
set multiplot layout 1,2 title "Warm latency vs connections (wrk, hello handler; make bench)"
set logscale xy
set xtics ({xtics})
set xrange [0.8:40]
set xlabel "connections"
set ylabel "latency, ms"
set grid
set key below
""" + "".join(panels) + "unset multiplot\n"


def coldstart(res, tmp, out, term):
    """None when no cold start was measured."""
    panels = []
    for lang, ref in (("node", "node -e 0"), ("python", "python3 -c pass")):
        if f"cold_{lang}" not in res:
            continue
        s = dict(res[f"cold_{lang}"]["samples_ms"])
        kinds = [("ready", "Impuls, pre-made sandbox ready", "lw 2 lc rgb '#1f77b4'"),
                 ("back_to_back", "Impuls, back to back", "lw 2 dt 2 lc rgb '#ff7f0e'"),
                 ("ref", f"bare {ref}", "lw 2 dt 3 lc rgb 'black'")]
        if lang == "node" and "cold_workerd" in res:
            s["workerd"] = res["cold_workerd"]["samples_ms"]
            kinds.append(("workerd", "workerd, process start to first response", "lw 2 dt 4 lc rgb '#2ca02c'"))
        series = []
        for key, label, style in kinds:
            xs = sorted(s[key])
            path = os.path.join(tmp, f"cold_{lang}_{key}.dat")
            write(path, [(x, (i + 1) / len(xs)) for i, x in enumerate(xs)])
            series.append(f"{q(path)} u 1:2 w steps {style} t '{label}'")
        panels.append(f'set title "{lang.capitalize()} ({len(s["ready"])} cold starts each)"\n'
                      "plot " + ", \\\n     ".join(series) + "\n")
    if not panels:
        return None
    return f"""set terminal {term} size 1100,500
set output {q(out)}
set multiplot layout 1,{len(panels)} title "Cold-start time, CDF of the samples (make bench)"
set logscale x
set xlabel "invoke to response, ms (log)"
set ylabel "fraction of starts"
set yrange [0:1.02]
set grid
set key below
""" + "".join(panels) + "unset multiplot\n"


def main():
    results = sys.argv[1] if len(sys.argv) > 1 else RESULTS
    docs = sys.argv[2] if len(sys.argv) > 2 else DOCS
    with open(results) as f:
        res = json.load(f)
    term = terminal()
    with tempfile.TemporaryDirectory(prefix="impuls-plot-") as tmp:
        for make, name in ((latency, "bench-latency.png"), (coldstart, "bench-coldstart.png")):
            out = os.path.join(docs, name)
            script = make(res, tmp, out, term)
            if script is None:
                print(f"plot: {os.path.relpath(out)} left as it was (not measured in this run)")
                continue
            subprocess.run(["gnuplot"], input=script, text=True, check=True, timeout=60)
            print(f"plot: {os.path.relpath(out)}")


if __name__ == "__main__":
    sys.exit(main())
