#!/usr/bin/env python3
"""Cold starts back to back (bench.py's `b2b` rows: a new function created
and called, then deleted, RUNS times in a row) on two daemon binaries, in
alternating blocks of RUNS, ROUNDS times, with the bare interpreter's start
(`python3 -c pass`, `node -e 0`) timed in the same rounds: the way to
measure a change to how bursts of cold starts are served. Prints per binary
the p50 and p99 over all its starts, how many claimed a pre-made sandbox,
and each against the interpreter's (p50 to p50, p99 to p99).

  python3 bench/burst_ab.py OLD_BINARY NEW_BINARY [python|node] [ROUNDS] [RUNS]

e.g. build the old commit in a git worktree and compare its build/impuls with
this tree's (each daemon uses the runtimes/ beside its binary)."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
import impuls_daemon  # noqa: E402
import bench  # noqa: E402

LANGS = {
    "python": ("python311", "main.handler", "hello.py", ["/usr/bin/python3", "-c", "pass"]),
    "node": ("nodejs20", "index.handler", "hello.js", ["/usr/bin/node", "-e", "0"]),
}


def main(argv):
    if len(argv) < 3:
        raise SystemExit(__doc__)
    bins = {"A": argv[1], "B": argv[2]}
    lang = argv[3] if len(argv) > 3 else "python"
    rounds = int(argv[4]) if len(argv) > 4 else 5
    bench.COLD_RUNS = int(argv[5]) if len(argv) > 5 else 20
    if lang not in LANGS:
        raise SystemExit(f"unknown language {lang!r}: python or node")
    runtime, handler, source, ref_cmd = LANGS[lang]
    with open(os.path.join(HERE, "ref", source)) as f:
        code = f.read()
    daemons, starts, hits, ref = {}, {"A": [], "B": []}, {"A": 0, "B": 0}, []
    try:
        for k, binary in bins.items():
            impuls_daemon.BIN = binary
            daemons[k] = impuls_daemon.Daemon().start()
            bench.cold_starts(daemons[k], lang, runtime, code, handler, "")  # unmeasured: the spares made
        for _ in range(rounds):
            for k, d in daemons.items():
                xs, n = bench.cold_starts(d, lang, runtime, code, handler, "")
                starts[k] += xs
                hits[k] += n
            ref += bench.time_cmd(ref_cmd, bench.COLD_RUNS)
    finally:
        for d in daemons.values():
            d.stop()
            d.cleanup()
    ref50, ref99 = bench.percentile(ref, 50), bench.percentile(ref, 99)
    print(f"{' '.join(ref_cmd)}: p50 {ref50:.1f} ms, p99 {ref99:.1f} ms")
    for k, binary in bins.items():
        p50, p99 = bench.percentile(starts[k], 50), bench.percentile(starts[k], 99)
        print(f"{k} {binary}: {lang} b2b p50 {p50:.1f} ms ({p50 / ref50:.2f} of the interpreter's), "
              f"p99 {p99:.1f} ms ({p99 / ref99:.2f} of its p99); {hits[k]}/{len(starts[k])} claimed a pre-made sandbox")
        print("  deciles ms: " + " ".join(f"{bench.percentile(starts[k], p):.0f}" for p in range(10, 100, 10)) +
              f"; the slowest: {', '.join(f'{x:.0f}' for x in sorted(starts[k])[-5:])}")


if __name__ == "__main__":
    main(sys.argv)
