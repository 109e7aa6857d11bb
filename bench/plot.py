#!/usr/bin/env python3
"""Plots of the latest bench run (bench/results/latest.json) for
docs/performance.md, drawn with gnuplot (Debian's gnuplot-nox):

  docs/bench-latency.png    warm p50 and p99 latency vs connections (1, 8, 32),
                            Impuls Node and Python vs their bare servers
  docs/bench-coldstart.png  the distribution (CDF) of the individual cold-start
                            samples, Node and Python: with a pre-made sandbox
                            ready, back to back, and the bare interpreter

Usage: python3 bench/plot.py (run.sh calls it after bench.py)."""
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


def latency(res, tmp, out, term):
    files = {}
    for lang in ("node", "python"):
        w = res[f"warm_{lang}"]
        conns = sorted(int(c[1:]) for c in w)
        files[lang] = os.path.join(tmp, f"warm_{lang}.dat")
        write(files[lang], [(c, w[f"c{c}"]["impuls_p50_ms"], w[f"c{c}"]["impuls_p99_ms"],
                             w[f"c{c}"]["bare_p50_ms"], w[f"c{c}"]["bare_p99_ms"]) for c in conns])
    xtics = ", ".join(str(c) for c in conns)
    panels = []
    for col, title in ((2, "p50"), (3, "p99")):
        panels.append(f"""set title "{title}"
plot {q(files['node'])} u 1:{col} w lp pt 7 lc rgb '#1f77b4' t 'Impuls Node', \\
     {q(files['node'])} u 1:{col + 2} w lp pt 6 dt 2 lc rgb '#1f77b4' t 'bare Node server', \\
     {q(files['python'])} u 1:{col} w lp pt 5 lc rgb '#d62728' t 'Impuls Python', \\
     {q(files['python'])} u 1:{col + 2} w lp pt 4 dt 2 lc rgb '#d62728' t 'bare Python server'
""")
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
    panels = []
    for lang, ref in (("node", "node -e 0"), ("python", "python3 -c pass")):
        s = res[f"cold_{lang}"]["samples_ms"]
        series = []
        for key, label, style in (("ready", "Impuls, pre-made sandbox ready", "lw 2 lc rgb '#1f77b4'"),
                                  ("back_to_back", "Impuls, back to back", "lw 2 dt 2 lc rgb '#ff7f0e'"),
                                  ("ref", f"bare {ref}", "lw 2 dt 3 lc rgb 'black'")):
            xs = sorted(s[key])
            path = os.path.join(tmp, f"cold_{lang}_{key}.dat")
            write(path, [(x, (i + 1) / len(xs)) for i, x in enumerate(xs)])
            series.append(f"{q(path)} u 1:2 w steps {style} t '{label}'")
        panels.append(f'set title "{lang.capitalize()} ({len(xs)} cold starts each)"\n'
                      "plot " + ", \\\n     ".join(series) + "\n")
    return f"""set terminal {term} size 1100,500
set output {q(out)}
set multiplot layout 1,2 title "Cold-start time, CDF of the samples (make bench)"
set logscale x
set xlabel "invoke to response, ms (log)"
set ylabel "fraction of starts"
set yrange [0:1.02]
set grid
set key below
""" + "".join(panels) + "unset multiplot\n"


def main():
    with open(RESULTS) as f:
        res = json.load(f)
    term = terminal()
    with tempfile.TemporaryDirectory(prefix="impuls-plot-") as tmp:
        for make, name in ((latency, "bench-latency.png"), (coldstart, "bench-coldstart.png")):
            out = os.path.join(DOCS, name)
            subprocess.run(["gnuplot"], input=make(res, tmp, out, term), text=True, check=True, timeout=60)
            print(f"plot: docs/{name}")


if __name__ == "__main__":
    sys.exit(main())
