"""Helpers of the hostile suite: deploy the probe (sandbox_probe.py), run one
attack, and check afterwards that the host is still healthy."""
import os
import subprocess
import time

from impuls_daemon import CGROUP_ROOT, NODE_HELLO

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "sandbox_probe.py")) as _f:
    PROBE = _f.read()

CANARY = "canary"
# The processes (but init) of a sandbox with nothing left running: the runtime.
FRESH = [[2, "R", 1, "python3"]]


def deploy(daemon, name="probe", **kw):
    return daemon.create(name=name, runtime="python311", handler="main.handler", code=PROBE, **kw)


def node(daemon, name, code, **kw):
    return daemon.create(name=name, runtime="nodejs20", handler="index.handler", code=code, **kw)


def hit(daemon, attack, fn="probe", timeout=60, **event):
    """Runs one attack; the raw response."""
    return daemon.invoke(fn, dict(event, attack=attack), timeout=timeout)


def observe(daemon, attack, fn="probe", **event):
    """Runs one attack that must answer 200; what the function observed."""
    r = hit(daemon, attack, fn, **event)
    assert r.status == 200, r
    return r.json()


def error(resp):
    """(status, errorType) of an answer."""
    return resp.status, resp.json().get("errorType")


def timed_canary(daemon):
    """Calls the canary (a plain Node function, created on first use): seconds taken."""
    if daemon.request("GET", f"/api/v1/functions/{CANARY}").status == 404:
        node(daemon, CANARY, NODE_HELLO)
    t0 = time.monotonic()
    r = daemon.invoke(CANARY, timeout=30)
    took = time.monotonic() - t0
    assert (r.status, r.text) == (200, "Hello from Impuls!"), r
    return took


def assert_healthy(daemon, limit_s=2.0):
    """The daemon runs, answers /healthz, and a normal function answers quickly."""
    assert daemon.proc.poll() is None, "the daemon died: " + daemon.read_log()[-2000:]
    h = daemon.request("GET", "/healthz", timeout=10)
    assert h.status == 200 and h.json()["status"] == "ok", h
    took = timed_canary(daemon)
    assert took < limit_s, f"a normal call took {took:.2f} s"


def wait_for(cond, timeout=5.0, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(step)
    return cond()


def instance_processes(daemon, inst_id):
    """Host pids of the processes in one instance's cgroup."""
    mine = f"/{daemon.cgroup_parent()}/i-{inst_id}"
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cgroup") as f:
                if any(line.rstrip("\n").endswith(mine) for line in f):
                    found.append(int(pid))
        except OSError:
            pass
    return sorted(found)


def instance_cgroups(daemon, inst_id):
    """The instance's cgroup directories that still exist."""
    found = []
    for ctrl in ("memory", "pids", "cpu", ""):
        d = os.path.join(CGROUP_ROOT, ctrl, daemon.cgroup_parent(), f"i-{inst_id}")
        if os.path.isdir(d):
            found.append(d)
    return found


def only_instance(daemon, name="probe"):
    (inst,) = daemon.instances(name)
    return inst


def assert_instance_gone(daemon, inst_id, name="probe"):
    """The instance left the list, and its processes and cgroups are gone."""
    assert wait_for(lambda: inst_id not in [i["id"] for i in daemon.instances(name)]), \
        daemon.instances(name)
    assert wait_for(lambda: not instance_processes(daemon, inst_id)), \
        instance_processes(daemon, inst_id)
    assert wait_for(lambda: not instance_cgroups(daemon, inst_id)), instance_cgroups(daemon, inst_id)


def status_field(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return line.split()[1:]
    return None


def rss_kib(pid):
    return int(status_field(pid, "VmRSS")[0])


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def host_ipv4():
    """A non-loopback IPv4 address of this machine, or None."""
    try:
        out = subprocess.run(["ip", "-o", "-4", "addr", "show", "scope", "global"],
                             capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for line in out.splitlines():
        parts = line.split()
        if "inet" in parts:
            return parts[parts.index("inet") + 1].split("/")[0]
    return None
