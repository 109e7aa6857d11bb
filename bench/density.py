"""Density: what an idle warm instance costs in memory, against the bare
interpreter idling outside any sandbox, measured in the same run (issue 6).

For Node and then Python, each with a daemon of its own started with
`--prewarm 0` (no spare sandboxes to count), N concurrent calls of a handler
that sleeps 0.5 s make N instances; once they are idle the PSS of every
process in each instance's cgroup (its init and its runtime) is summed per
instance, plus an equal share of the Python zygotes' (one per function with
more than one instance, outside any instance's cgroup: src/pool/zygotes.c).
The reference is N bare `node -e "setInterval(()=>{},1e9)"` or
`python3 -c "import time; time.sleep(1e9)"` processes started at once, measured
after the instances are gone (PSS splits shared pages between all the
processes that map them, so the two sets must not overlap). Also the daemon's
VmRSS idle before and with N instances.

BENCH_DENSITY_N (default 200) sets N. Instances are made in chunks of at most
BENCH_DENSITY_CHUNK (250), one function each (a function's `concurrency` goes
to 1000), sized so that MemAvailable stays above 2 GiB; when it would not, the
run stops early and says so. Every process goes at the end, also on error."""
import os
import statistics
import subprocess
import sys
import threading
import time

import cpu
from impuls_daemon import CGROUP_ROOT, Daemon

N = int(os.environ.get("BENCH_DENSITY_N", "200"))
CHUNK = int(os.environ.get("BENCH_DENSITY_CHUNK", "250"))
MIN_AVAILABLE = 2 << 30
FIRST_GUESS = 64 << 20  # bytes per instance until a chunk has been measured
MiB = 1 << 20

LANGS = {
    "node": dict(runtime="nodejs20", handler="index.handler",
                 code="exports.handler = async () => { await new Promise((r) => setTimeout(r, 500));"
                      " return { statusCode: 200, body: 'idle soon' }; };",
                 bare=["/usr/bin/node", "-e", "setInterval(()=>{},1e9)"]),
    "python": dict(runtime="python311", handler="main.handler",
                   code="import time\n\ndef handler(event, context):\n    time.sleep(0.5)\n"
                        "    return {'statusCode': 200, 'body': 'idle soon'}\n",
                   bare=["/usr/bin/python3", "-c", "import time; time.sleep(1e9)"]),
}


def mem_available():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no MemAvailable in /proc/meminfo")


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def pss_kib(pid):
    """0 for a process that is gone: it no longer costs anything."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def settle(pids, timeout=30):
    """Wait until the processes are idle (under 5% of a core for 1 s): a
    runtime that has just started may still be compiling or collecting."""
    deadline = time.time() + timeout
    before = cpu.ticks(pids)
    while time.time() < deadline:
        time.sleep(1)
        now = cpu.ticks(pids)
        if now - before < 0.05 * os.sysconf("SC_CLK_TCK"):
            return
        before = now


def instance_pids(daemon):
    """{instance cgroup: [pids]} for the daemon's instances (cgroup v1: the
    memory controller's tree; v2: the unified one)."""
    if os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers")):
        parent = os.path.join(CGROUP_ROOT, daemon.cgroup_parent())
    else:
        parent = os.path.join(CGROUP_ROOT, "memory", daemon.cgroup_parent())
    found = {}
    for e in sorted(os.listdir(parent)):
        if e.startswith("i-"):
            with open(os.path.join(parent, e, "cgroup.procs")) as f:
                found[e] = [int(p) for p in f.read().split()]
    return found


def burst(daemon, name, calls):
    """`calls` invocations at once; the ones no idle instance takes start one."""
    statuses = []

    def call():
        try:
            statuses.append(daemon.invoke(name, {}, timeout=300).status)
        except OSError as e:
            statuses.append(str(e))

    threads = [threading.Thread(target=call) for _ in range(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bad = [s for s in statuses if s != 200]
    if bad:
        raise RuntimeError(f"{name}: {len(bad)} of {calls} calls failed: {bad[:5]}")


def grow(daemon, name, size):
    """`size` idle instances of `name`. A call that arrives after an early
    instance has finished its 0.5 s goes to that one instead of starting its
    own, so top up: each burst of `size` calls occupies every idle instance
    and starts the missing ones."""
    for _ in range(4):
        burst(daemon, name, size)
        have = len(daemon.instances(name))
        if have >= size:
            return have
    return have


def chunk_size(remaining, per_instance):
    """How many more instances fit while keeping MemAvailable above 2 GiB."""
    room = mem_available() - MIN_AVAILABLE
    return max(0, min(CHUNK, remaining, int(room // per_instance)))


def impuls_side(lang, spec, out):
    chunk = max(CHUNK, 1)
    d = Daemon(extra_args=["--prewarm", "0", "--queue-max", str(max(100, 2 * chunk)),
                           "--max-connections", str(max(1024, 2 * chunk)), "--init-timeout", "120"])
    try:
        d.start()
        out["daemon_rss_idle_mib"] = status_kib(d.proc.pid, "VmRSS") / 1024  # no function, no instance
        made, per_instance, k = 0, FIRST_GUESS, 0
        while made < N:
            size = chunk_size(N - made, per_instance)
            if size == 0:
                out["stopped_early"] = (f"stopped at {made} of {N} instances: MemAvailable "
                                        f"{mem_available() // MiB} MiB, 2 GiB kept free")
                break
            name = f"density-{lang}-{k}"
            d.create(name=name, runtime=spec["runtime"], handler=spec["handler"], code=spec["code"],
                     concurrency=size, idle_timeout_s=86400, timeout_s=60)
            avail = mem_available()
            got = grow(d, name, size)
            if got == 0:
                raise RuntimeError(f"{name}: no instance started")
            made += got
            per_instance = max(8 * MiB, (avail - mem_available()) / max(got, 1))
            k += 1
        groups = instance_pids(d)
        settle([p for ps in groups.values() for p in ps] + [d.proc.pid])
        pss = [sum(pss_kib(p) for p in ps) / 1024 for ps in groups.values()]
        # Python functions' zygotes (src/pool/zygotes.c) are the daemon's
        # children outside any instance: their memory is shared out over the
        # instances, as the pages they share are.
        zygotes = d.zygote_pids()
        zygote_mib = sum(pss_kib(p) for p in zygotes) / 1024
        if pss:
            pss = [p + zygote_mib / len(pss) for p in pss]
        out.update(zygotes=len(zygotes), zygote_pss_mib=zygote_mib)
        # An instance is its init and its runtime: fewer means a runtime had gone when listed.
        out["instances_without_runtime"] = sum(len(ps) < 2 for ps in groups.values())
        out.update(n=len(pss), functions=k,
                   processes_per_instance=statistics.mean(len(ps) for ps in groups.values()) if groups else 0,
                   impuls_pss_mean_mib=statistics.mean(pss) if pss else 0,
                   impuls_pss_p50_mib=statistics.median(pss) if pss else 0,
                   daemon_rss_with_n_mib=status_kib(d.proc.pid, "VmRSS") / 1024)
    finally:
        try:
            rc = d.stop(timeout=120)
        except subprocess.TimeoutExpired:
            d.kill()
            rc = "killed: no clean stop within 120 s"
        left = d.leftovers()
        if sys.exc_info()[0] is not None or rc != 0:  # what the daemon said, before its data dir goes
            warnings = [l for l in d.read_log().splitlines() if " info " not in l]
            print("\n".join(warnings[-40:]), file=sys.stderr)
        d.cleanup()
    if rc != 0 or left:
        raise RuntimeError(f"density daemon: exit {rc}, left {left[:5]}")


def bare_side(spec, n, out):
    procs = []
    try:
        while len(procs) < n:
            size = chunk_size(n - len(procs), FIRST_GUESS)
            if size == 0:
                out["bare_stopped_early"] = f"stopped at {len(procs)} of {n} processes: MemAvailable low"
                break
            procs += [subprocess.Popen(spec["bare"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL) for _ in range(size)]
            settle([p.pid for p in procs])
        pss = [pss_kib(p.pid) / 1024 for p in procs if p.poll() is None]
        out.update(bare=" ".join(spec["bare"]), bare_n=len(pss),
                   bare_pss_mean_mib=statistics.mean(pss) if pss else 0,
                   bare_pss_p50_mib=statistics.median(pss) if pss else 0)
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()


def run(results):
    for lang, spec in LANGS.items():
        out = {"n_wanted": N}
        started = time.time()
        impuls_side(lang, spec, out)
        if out["n"]:
            bare_side(spec, out["n"], out)
            out["ratio_mean"] = out["impuls_pss_mean_mib"] / out["bare_pss_mean_mib"]
        out["seconds"] = time.time() - started
        results[f"density_{lang}"] = out


def rows(results):
    """Lines for bench.py's table (name, impuls, reference, ratio, note)."""
    lines = []
    for lang in LANGS:
        r = results.get(f"density_{lang}")
        if not r or not r.get("n"):
            continue
        note = f"   ({r['n']} idle instances vs {r['bare_n']} bare interpreters"
        if r.get("zygotes"):
            note += f"; with {r['zygotes']} zygote(s), {r['zygote_pss_mib']:.1f} MiB, shared out"
        note += ")"
        if r.get("stopped_early"):
            note += "; " + r["stopped_early"]
        lines.append(f"{'density ' + lang + ' PSS MiB/inst':<30}{r['impuls_pss_mean_mib']:>14.1f}"
                     f"{r['bare_pss_mean_mib']:>14.1f}{r['ratio_mean']:>9.2f}{note}")
        lines.append(f"{'density ' + lang + ' PSS p50 MiB':<30}{r['impuls_pss_p50_mib']:>14.1f}"
                     f"{r['bare_pss_p50_mib']:>14.1f}{r['impuls_pss_p50_mib'] / r['bare_pss_p50_mib']:>9.2f}")
        lines.append(f"{'density ' + lang + ' daemon RSS MiB':<30}{r['daemon_rss_with_n_mib']:>14.1f}"
                     f"{r['daemon_rss_idle_mib']:>14.1f}"
                     f"{r['daemon_rss_with_n_mib'] / r['daemon_rss_idle_mib']:>9.2f}"
                     f"   (with {r['n']} instances vs idle before, no instance)")
    return lines
