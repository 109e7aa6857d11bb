"""Python zygotes (src/pool/zygotes.c, src/sandbox/zygote.c): a Python
function's instances after its first are cloned from an interpreter that has
imported the runtime. A function must not be able to tell, except by /proc/1's
command line and its speed: same code, environment, limits and isolation as an
instance started the ordinary way; and no two functions share a zygote."""
import os
import threading

import pytest

from conftest import PY_SANDBOX_PROBES, checked_daemon, running_daemon

PROBE = PY_SANDBOX_PROBES + r'''
import ctypes, os, random, resource, socket, sys, time
import __main__
def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return line.split()[1]
def handler(event, context):
    time.sleep(event.get("sleep", 0))
    with open("/proc/self/cmdline", "rb") as f:
        argv = f.read().split(b"\0")[:-1]
    out = {"zygote": b"zygote.py" in argv, "cmdline": [a.decode() for a in argv],
           "uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(), "pid": os.getpid(),
           "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
           "caps": [status(c) for c in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")],
           "no_new_privs": status("NoNewPrivs"), "seccomp": status("Seccomp"),
           "cwd": os.getcwd(), "files": sorted(os.listdir("/var/task")),
           "env": {k: os.environ.get(k) for k in ("AWS_LAMBDA_FUNCTION_NAME", "MINE", "IMPULS_CLAIM_FD",
                                                  "LAMBDA_TASK_ROOT", "AWS_LAMBDA_RUNTIME_API", "_HANDLER",
                                                  "AWS_LAMBDA_FUNCTION_MEMORY_SIZE")},
           "rlimits": [resource.getrlimit(r) for r in (resource.RLIMIT_NOFILE, resource.RLIMIT_NPROC,
                                                       resource.RLIMIT_CORE)],
           "exe": os.readlink("/proc/self/exe"), "executable": sys.executable,
           "argv": sys.argv, "path0": sys.path[:2], "main_file": getattr(__main__, "__file__", None),
           "flags": [sys.flags.no_user_site, sys.flags.dont_write_bytecode],
           "hostname": socket.gethostname(), "nets": sorted(n for _, n in socket.if_nameindex()),
           "mounts": sorted({l.split()[4] for l in open("/proc/self/mountinfo")}),  # a claim binds over /var/task
           "dumpable": ctypes.CDLL(None).prctl(3, 0, 0, 0, 0),  # PR_GET_DUMPABLE
           "stdio": [sys.stdout.seekable(), sys.stderr.seekable(), sys.stdout.isatty(), sys.stdout.line_buffering,
                     sys.stdout.write_through, type(sys.stdout.buffer).__name__, sys.stdout.encoding],
           "runtime_spec": sys.modules["impuls_runtime"].__spec__.origin,
           "hash": hash("impuls"), "random": random.random()}
    out["write"] = write_probe()
    out["fds"] = fd_kinds()
    if event.get("alloc_if_zygote") and out["zygote"]:
        hog = bytearray(event["alloc_if_zygote"] << 20)
        for i in range(0, len(hog), 4096):
            hog[i] = 1
    return out
'''


@pytest.fixture
def daemon():
    """No pre-made sandboxes: which instance comes from where is then fixed
    (the first the ordinary way, the rest from the zygote)."""
    yield from checked_daemon(["--prewarm", "0"])


def burst(d, name, n, event):
    """n calls at once; each waits in the handler, so each gets an instance."""
    out = [None] * n

    def call(i):
        out[i] = d.invoke(name, event)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def probes(d, name, n=5, **event):
    rs = burst(d, name, n, dict(sleep=0.6, **event))
    assert [r.status for r in rs] == [200] * n, rs
    return [r.json() for r in rs]


def test_a_python_functions_second_instance_on_is_cloned_from_its_zygote(daemon):
    daemon.create(name="zy", runtime="python311", code=PROBE, env={"MINE": "yes"}, memory_mb=200, concurrency=5)
    got = probes(daemon, "zy")
    listed = sorted(daemon.instances("zy"), key=lambda i: i["id"])
    assert len(listed) == 5
    assert [i["zygote"] for i in listed] == [False, True, True, True, True]
    assert [i["premade"] for i in listed] == [False] * 5
    assert len(daemon.zygote_pids()) == 1
    zygote = [g for g in got if g["zygote"]]
    ordinary = [g for g in got if not g["zygote"]]
    assert len(zygote) == 4 and len(ordinary) == 1
    assert zygote[0]["cmdline"] == ["/usr/bin/python3", "-s", "-P", "zygote.py"]
    assert ordinary[0]["cmdline"] == ["/usr/bin/python3", "-s", "/var/runtime/python/bootstrap.py"]
    # Everything the function can see is the same, but for its uid and the
    # per-process values.
    per_process = ("cmdline", "zygote", "uid", "gid", "hash", "random")
    for g in got:
        same = {k: v for k, v in g.items() if k not in per_process}
        assert same == {k: v for k, v in ordinary[0].items() if k not in per_process}, g
        assert g["uid"] >= 200000 and g["gid"] == g["uid"] and g["groups"] == []
    z = zygote[0]
    assert (z["pid"], z["pids"]) == (2, [2])  # init hidden (hidepid), the zygote out of sight
    assert z["caps"] == ["0000000000000000"] * 5
    assert (z["no_new_privs"], z["seccomp"]) == ("1", "2")
    assert (z["cwd"], z["files"], z["write"], z["fds"]) == ("/var/task", ["main.py"], "Read-only file system",
                                                            ["socket"])
    assert z["env"] == {"AWS_LAMBDA_FUNCTION_NAME": "zy", "MINE": "yes", "IMPULS_CLAIM_FD": None,
                        "LAMBDA_TASK_ROOT": "/var/task", "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",
                        "_HANDLER": "main.handler", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "200"}
    assert z["rlimits"][0] == [1024, 1024] and z["rlimits"][2] == [0, 0]
    assert (z["exe"], z["argv"], z["path0"][1], z["main_file"]) == (
        "/usr/bin/python3.11", ["/var/runtime/python/bootstrap.py"], "/var/runtime/python",
        "/var/runtime/python/bootstrap.py")
    assert (z["hostname"], z["nets"]) == ("impuls", ["lo"])
    assert z["dumpable"] == 1 and z["runtime_spec"] == "/var/runtime/python/impuls_runtime.py"
    assert z["stdio"][:3] == [False, False, False]  # its stdout and stderr are the log pipe
    # Clones of one zygote share its string-hash key (one function's only);
    # random is reseeded in each.
    assert len({g["hash"] for g in zygote}) == 1
    assert len({g["random"] for g in got}) == 5


def test_no_two_functions_share_a_zygote(daemon):
    for name in ("one", "two"):
        daemon.create(name=name, runtime="python311", code=PROBE, concurrency=4)
        assert sum(g["zygote"] for g in probes(daemon, name, 4)) == 3
    assert len(daemon.zygote_pids()) == 2
    one = {g["hash"] for g in probes(daemon, "one", 4) if g["zygote"]}
    two = {g["hash"] for g in probes(daemon, "two", 4) if g["zygote"]}
    assert len(one) == 1 and len(two) == 1 and one != two


def test_a_zygote_made_instance_keeps_its_memory_limit(daemon):
    daemon.create(name="hog", runtime="python311", code=PROBE, memory_mb=128, concurrency=4)
    rs = burst(daemon, "hog", 4, {"sleep": 0.6, "alloc_if_zygote": 300})
    assert sorted(r.status for r in rs) == [200, 502, 502, 502], rs
    for r in rs:
        if r.status == 502:
            got = r.json()
            assert (got["errorType"], got["errorMessage"]) == (
                "Runtime.OutOfMemory", "Runtime exited: out of memory (limit 128 MB)")
    assert len(daemon.zygote_pids()) == 1  # a child's end is not the zygote's


def test_the_zygote_goes_with_the_functions_last_instance(daemon):
    daemon.create(name="gone", runtime="python311", code=PROBE, concurrency=3)
    probes(daemon, "gone", 3)
    [pid] = daemon.zygote_pids()
    assert daemon.request("DELETE", "/api/v1/functions/gone").status in (200, 204)
    for _ in range(100):
        if not os.path.exists(f"/proc/{pid}"):
            break
        threading.Event().wait(0.05)
    assert not os.path.exists(f"/proc/{pid}")


def test_a_zygote_that_dies_is_replaced_and_no_call_fails(daemon):
    daemon.create(name="phoenix", runtime="python311", code=PROBE, concurrency=6)
    probes(daemon, "phoenix", 3)
    [pid] = daemon.zygote_pids()
    os.kill(pid, 9)
    for _ in range(100):
        if "its Python zygote exited" in daemon.read_log():
            break
        threading.Event().wait(0.05)
    assert "its Python zygote exited" in daemon.read_log()
    got = probes(daemon, "phoenix", 6)  # three more instances: a new zygote makes them
    assert sum(g["zygote"] for g in got) >= 1
    assert len(daemon.zygote_pids()) == 1 and daemon.zygote_pids() != [pid]


def test_no_zygote_for_a_function_that_sets_what_python_reads_at_start(daemon):
    daemon.create(name="opt", runtime="python311", code=PROBE, env={"PYTHONOPTIMIZE": "1"}, concurrency=3)
    got = probes(daemon, "opt", 3)
    assert [g["zygote"] for g in got] == [False] * 3
    assert daemon.zygote_pids() == []


def test_python_zygote_flag(tmp_path):
    import subprocess
    from impuls_daemon import BIN
    for v in ("-1", "1001", "x", ""):
        p = subprocess.run([BIN, "serve", "--python-zygote", v], capture_output=True, text=True, timeout=10)
        assert (p.returncode, p.stderr) == (2, "impuls: --python-zygote takes a number from 0 to 1000\n"), v
    for args, want in ((["--python-zygote", "0"], [False] * 4), (["--python-zygote", "2"], [False, False, True, True])):
        with running_daemon(["--prewarm", "0"] + args) as d:
            d.create(name="z", runtime="python311", code=PROBE, concurrency=4)
            probes(d, "z", 4)
            assert [i["zygote"] for i in sorted(d.instances("z"), key=lambda i: i["id"])] == want
            assert len(d.zygote_pids()) == (1 if True in want else 0)
