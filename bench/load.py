"""wrk runs for the warm and scaling benchmarks: one thread, `conns`
connections, BENCH_DURATION long, every run bounded in time. A run with a
failed response (non-2xx, or a socket error) raises. Also the percentile of
timed samples the other benchmarks take."""
import os
import re
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
DURATION = os.environ.get("BENCH_DURATION", "5s")
PCTS = ("50", "75", "90", "99")  # what wrk --latency prints
POST = os.path.join(HERE, "post.lua")


def run(url, conns, duration=DURATION, script=POST, args=(), headers=(), cpu=None):
    """(requests/s, {percentile: ms}) of one wrk run; headers: "Name: value";
    cpu: the one CPU wrk runs on (taskset), or any."""
    cmd = (["taskset", "-c", str(cpu)] if cpu is not None else []) + ["wrk", "-t", "1", "-c", str(conns), "-d", duration, "--latency", "-s", script,
           *[a for h in headers for a in ("-H", h)], url]
    if args:
        cmd += ["--"] + [str(a) for a in args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} failed responses")
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if socket_errors and any(int(n) for n in socket_errors.groups()):
        raise RuntimeError(f"{url}: {socket_errors.group(0)}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {}
    for pct in PCTS:
        m = re.search(rf"\s{pct}(?:\.000)?%\s+([\d.]+)(us|ms|s)", out)
        lat[pct] = float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
    return rps, lat


def warmup(url, conns, script=POST, args=(), headers=()):
    """An unmeasured 1 s run: the instances (or JIT) that `conns` connections need."""
    run(url, conns, duration="1s", script=script, args=args, headers=headers)


def seconds(duration):
    """wrk's duration argument ("5s", "2m", "500ms") in seconds."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)?", duration)
    if not m:
        raise ValueError(f"BENCH_DURATION: cannot read {duration!r}")
    return float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[m.group(2)]


def percentile(xs, p):
    """The p-th percentile of samples xs (nearest rank)."""
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]
