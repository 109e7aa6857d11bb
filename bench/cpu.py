"""CPU time per call: what the daemon, the function's instances and a
reference server spend (user + system), read from /proc before and after a
measured run. A warm call's cost on a busy machine is CPU, not waiting, so
this says where a ratio comes from (docs/performance.md, "The warm path")."""
import os

TICK_US = 1e6 / os.sysconf("SC_CLK_TCK")


def descendants(pid):
    """pid and every process below it (an instance: its init, the runtime)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except OSError:
            pass  # gone meanwhile
    return out


def below(pid):
    """Every process under pid, not pid itself (a daemon's instances)."""
    return [p for p in descendants(pid) if p != pid]


def ticks(pids):
    """utime + stime of these processes (all their threads), in clock ticks."""
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total


class Meter:
    """Samples `pids()` (called at start and at the end, so that processes
    that came and went in between are missed, not miscounted) around a run."""

    def __init__(self, pids):
        self.pids = pids

    def __enter__(self):
        self.start_pids = self.pids()
        self.start = ticks(self.start_pids)
        return self

    def __exit__(self, *exc):
        # The same processes as at the start: a new instance's start-up is not a call's cost.
        self.used = ticks(self.start_pids) - self.start

    def us_per_call(self, calls):
        return self.used * TICK_US / calls if calls else 0.0
