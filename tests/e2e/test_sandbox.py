"""What a function sees from inside its sandbox, reported by the function."""
import os
import threading
import time

from conftest import Daemon

NAMESPACES = ["pid", "mnt", "net", "ipc", "uts", "cgroup"]

PROBE = r'''
import ctypes, errno, os, socket
NAMESPACES = ["pid", "mnt", "net", "ipc", "uts", "cgroup"]

def attempt(f):
    try:
        f()
        return "ok"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))

def status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return line.split()[1]

def handler(event, context):
    libc = ctypes.CDLL(None, use_errno=True)
    def mount():
        if libc.mount(b"none", b"/tmp", b"tmpfs", 0, None) != 0:
            raise OSError(ctypes.get_errno(), "mount")
    def connect():
        s = socket.create_connection(("127.0.0.1", event["port"]), timeout=2)
        s.close()
    def write_task():
        open("/var/task/x", "w")
    def marker():
        with open("/tmp/marker", "w") as f:
            f.write(context.function_name)
    with open("/proc/net/dev") as f:
        ifaces = sorted(l.split(":")[0].strip() for l in f.readlines()[2:])
    return {
        "pid": os.getpid(), "ppid": os.getppid(),
        "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
        "uid": os.getuid(), "gid": os.getgid(),
        "cap_eff": status("CapEff"), "cap_bnd": status("CapBnd"),
        "no_new_privs": status("NoNewPrivs"), "seccomp": status("Seccomp"),
        "write_task": attempt(write_task),
        "root": os.path.exists("/root"), "home": os.path.exists("/home"),
        "data_dir": os.path.exists(event["data_dir"]),
        "shadow": os.path.exists("/etc/shadow"),
        "ifaces": ifaces, "connect_daemon": attempt(connect),
        "mount": attempt(mount), "hostname": socket.gethostname(),
        "tmp_before": os.listdir("/tmp"), "marker": attempt(marker),
        "dev": sorted(os.listdir("/dev")),
        "ns": {n: os.readlink(f"/proc/self/ns/{n}") for n in NAMESPACES},
        "cgroup": open("/proc/self/cgroup").read().split(),
    }
'''


def test_sandbox_facts(daemon):
    for name in ("probe-a", "probe-b"):
        daemon.create(name=name, runtime="python311", handler="main.handler", code=PROBE)
    event = {"port": daemon.port, "data_dir": daemon.data_dir}
    a = daemon.invoke("probe-a", event)
    assert a.status == 200, a
    a = a.json()
    # Its own pid namespace: the runtime is the only child of the sandbox's
    # init, which it cannot even see (/proc is mounted hidepid=invisible).
    assert (a["pid"], a["ppid"]) == (2, 1)
    assert a["pids"] == [2]
    assert a["uid"] >= 200000 and a["gid"] == a["uid"]
    assert (a["cap_eff"], a["cap_bnd"]) == ("0000000000000000", "0000000000000000")
    assert (a["no_new_privs"], a["seccomp"]) == ("1", "2")
    assert a["write_task"] == "EROFS"
    assert (a["root"], a["home"], a["data_dir"], a["shadow"]) == (False, False, False, False)
    assert a["ifaces"] == ["lo"]
    assert a["connect_daemon"] == "ECONNREFUSED"
    assert a["mount"] == "EPERM"
    assert a["hostname"] == "impuls"
    assert a["dev"] == ["fd", "full", "null", "random", "shm", "stderr", "stdin", "stdout",
                        "urandom", "zero"]
    assert (a["tmp_before"], a["marker"]) == ([], "ok")
    # Every namespace is its own, and its cgroup is the root of its cgroup namespace.
    for n in NAMESPACES:
        assert a["ns"][n] != os.readlink(f"/proc/self/ns/{n}"), n
    assert a["cgroup"] and all(line.endswith(":/") for line in a["cgroup"]), a["cgroup"]
    # The same (warm) instance keeps its /tmp; another function never sees it.
    assert daemon.invoke("probe-a", event).json()["tmp_before"] == ["marker"]
    b = daemon.invoke("probe-b", event).json()
    assert b["tmp_before"] == [] and b["uid"] != a["uid"]


def test_two_functions_run_as_different_users_in_different_namespaces(daemon):
    code = "import os\ndef handler(e, c):\n    return [os.getuid(), os.readlink('/proc/self/ns/pid')]"
    for n in ("n1", "n2"):
        daemon.create(name=n, runtime="python311", handler="main.handler", code=code)
    u1, ns1 = daemon.invoke("n1").json()
    u2, ns2 = daemon.invoke("n2").json()
    assert u1 != u2 and ns1 != ns2


def test_sigterm_drains_in_flight_calls_then_leaves_nothing(daemon):
    daemon.create(name="sl", runtime="nodejs20", handler="index.handler",
                  code="exports.handler = async () => { await new Promise(r => setTimeout(r, 800)); return 'done'; }")
    daemon.create(name="idle", runtime="nodejs20", handler="index.handler",
                  code="exports.handler = async () => 1")
    assert daemon.invoke("idle").status == 200
    result = {}
    t = threading.Thread(target=lambda: result.update(r=daemon.invoke("sl")))
    t.start()
    time.sleep(0.4)
    daemon.proc.send_signal(15)
    time.sleep(0.1)
    late = daemon.invoke("idle")
    t.join()
    assert (result["r"].status, result["r"].json()) == (200, "done")
    assert (late.status, late.json()["errorType"]) == (503, "ServiceUnavailable")
    assert daemon.proc.wait(10) == 0
    assert daemon.leftovers() == []


def test_killed_daemon_leaves_nothing_after_restart():
    d = Daemon().start()
    try:
        d.create(name="k", runtime="nodejs20", handler="index.handler",
                 code="exports.handler = async () => 'k'")
        assert d.invoke("k").status == 200
        assert d.invoke("k", query="?local=true").status == 200
        d.kill()  # SIGKILL: no drain, no cleanup
        time.sleep(0.3)
        # The sandboxes died with it (PDEATHSIG); their cgroups wait for the next start.
        assert all(not x.startswith("process") for x in d.leftovers())
        d.start()
        assert d.leftovers() == []
        assert d.invoke("k").json() == "k"
    finally:
        assert d.stop() == 0
        assert d.leftovers() == []
        d.cleanup()


BYTECODE_PROBE = '''import os, sys

def handler(event, context):
    runtime = sys.modules["impuls_runtime"]
    return {"runtime": runtime.__file__, "bytecode_cached": os.path.exists(runtime.__cached__),
            "entry": sys.modules["__main__"].__file__}
'''


def test_the_python_runtime_runs_from_the_bytecode_make_build_caches(daemon):
    # Compiled at every start it cost each idle instance 0.7 MiB PSS (docs/performance.md).
    daemon.create(name="bytecode", runtime="python311", handler="main.handler", code=BYTECODE_PROBE)
    r = daemon.invoke("bytecode", {})
    assert (r.status, r.json()) == (200, {"runtime": "/var/runtime/python/impuls_runtime.py",
                                          "bytecode_cached": True,
                                          "entry": "/var/runtime/python/bootstrap.py"})
