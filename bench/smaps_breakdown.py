"""Where an idle instance's memory goes (issue 6): N idle instances of one
language, then /proc/<pid>/smaps of each process summed by mapping, for the
sandbox's init and the runtime apart, and the same for N bare interpreters and
for the daemon.

  flock /tmp/bench.lock python3 bench/smaps_breakdown.py python 50
  flock /tmp/bench.lock python3 bench/smaps_breakdown.py node 50

Columns are KiB per process (mean over the N): Pss, Rss, Private_Dirty,
Private_Clean, Shared (clean + dirty). Rows are mappings by name: a file's
path, [heap], [stack], [anon] for unnamed anonymous memory."""
import collections
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
sys.path.insert(0, HERE)

import density  # noqa: E402
from impuls_daemon import Daemon  # noqa: E402

FIELDS = ("Pss", "Rss", "Private_Dirty", "Private_Clean", "Shared")


def smaps(pid):
    """{mapping name: {field: KiB}} of one process."""
    out = collections.defaultdict(lambda: collections.Counter())
    name = None
    try:
        with open(f"/proc/{pid}/smaps") as f:
            for line in f:
                parts = line.split()
                if not parts:
                    continue
                if "-" in parts[0] and not parts[0].endswith(":"):
                    name = parts[5] if len(parts) > 5 else "[anon]"
                    continue
                key = parts[0].rstrip(":")
                if key in ("Pss", "Rss", "Private_Dirty", "Private_Clean"):
                    out[name][key] += int(parts[1])
                elif key in ("Shared_Clean", "Shared_Dirty"):
                    out[name]["Shared"] += int(parts[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return out


def summed(pids):
    total = collections.defaultdict(lambda: collections.Counter())
    for pid in pids:
        for name, c in smaps(pid).items():
            total[name].update(c)
    return total


def short(name):
    for prefix in ("/usr/lib/x86_64-linux-gnu/", "/usr/lib/python3.11/lib-dynload/", "/usr/lib/"):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def table(title, total, n, top=25):
    print(f"\n{title} (KiB per process, mean of {n})")
    print(f"{'mapping':<48}" + "".join(f"{f:>14}" for f in FIELDS))
    grand = collections.Counter()
    for c in total.values():
        grand.update(c)
    rows = sorted(total.items(), key=lambda kv: -kv[1]["Pss"])
    rest = collections.Counter()
    for i, (name, c) in enumerate(rows):
        if i < top:
            print(f"{short(name)[:47]:<48}" + "".join(f"{c[f] / n:>14.0f}" for f in FIELDS))
        else:
            rest.update(c)
    if rest:
        print(f"{'(the rest)':<48}" + "".join(f"{rest[f] / n:>14.0f}" for f in FIELDS))
    print(f"{'total':<48}" + "".join(f"{grand[f] / n:>14.0f}" for f in FIELDS))


def main():
    lang = sys.argv[1] if len(sys.argv) > 1 else "python"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    spec = density.LANGS[lang]
    d = Daemon(extra_args=["--prewarm", "0", "--max-connections", "1024", "--queue-max", "1000"])
    try:
        d.start()
        idle = smaps(d.proc.pid)
        table("daemon idle", idle, 1, top=15)
        d.create(name="bd", runtime=spec["runtime"], handler=spec["handler"], code=spec["code"],
                 concurrency=n, idle_timeout_s=86400, timeout_s=60)
        density.grow(d, "bd", n)
        groups = density.instance_pids(d)
        inits, runtimes = [], []
        for pids in groups.values():
            # init is pid 1 of the sandbox: the lower host pid of the two
            pids = sorted(pids)
            inits.append(pids[0])
            runtimes += pids[1:]
        density.settle(inits + runtimes + [d.proc.pid])
        table(f"{lang}: sandbox init", summed(inits), len(inits), top=10)
        table(f"{lang}: runtime", summed(runtimes), len(runtimes))
        table("daemon with instances", smaps(d.proc.pid), 1, top=15)
        if os.environ.get("BREAKDOWN_HOLD"):
            print("holding; runtime pids:", runtimes[:5], "init pids:", inits[:5], flush=True)
            time.sleep(float(os.environ["BREAKDOWN_HOLD"]))
    finally:
        d.stop(timeout=120)
        left = d.leftovers()
        d.cleanup()
        if left:
            print("left behind:", left[:5])
    procs = [subprocess.Popen(spec["bare"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for _ in range(n)]
    try:
        density.settle([p.pid for p in procs])
        table(f"{lang}: bare {' '.join(spec['bare'])}", summed([p.pid for p in procs]), n)
    finally:
        for p in procs:
            p.kill()
            p.wait()


if __name__ == "__main__":
    main()
