"""Pre-made sandboxes (src/pool/shells.c): a cold start of a Node or Python
handler claims a sandbox whose runtime already runs; the function must not be
able to tell, except by its speed: same code, environment, limits and
isolation as a sandbox made for it."""
import json
import os
import time

import pytest

from conftest import PY_SANDBOX_PROBES, Daemon
from impuls_daemon import CGROUP_ROOT

PY_PROBE = PY_SANDBOX_PROBES + r'''
import resource
def handler(event, context):
    out = {"cwd": os.getcwd(), "files": sorted(os.listdir("/var/task")),
           "fn": os.environ.get("AWS_LAMBDA_FUNCTION_NAME"), "mine": os.environ.get("MINE"),
           "claim_fd": os.environ.get("IMPULS_CLAIM_FD"), "uid": os.getuid(),
           "mem": os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")}
    for path in ("/.claim", "/.claim/tasks"):
        try:
            out[path] = sorted(os.listdir(path))
        except OSError as e:
            out[path] = e.strerror
    out["write"] = write_probe()
    out["fds"] = fd_kinds()
    return out
'''

NODE_PROBE = r'''
const fs = require('fs');
exports.handler = async () => ({ cwd: process.cwd(), files: fs.readdirSync('/var/task').sort(),
  fn: process.env.AWS_LAMBDA_FUNCTION_NAME, mine: process.env.MINE, claim_fd: process.env.IMPULS_CLAIM_FD || null,
  style: process.env.IMPULS_HANDLER_STYLE || null });
'''


def wait_for(cond, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def premade_ready(d, lang_runtime):
    """Makes a function of the language cold-start once, so that a spare is
    made; waits until a new function would get it."""
    d.create(name=f"first-{lang_runtime}", runtime=lang_runtime,
             code="exports.handler = async () => 1" if lang_runtime.startswith("node") else "def handler(e, c):\n    return 1")
    assert d.invoke(f"first-{lang_runtime}").status == 200
    time.sleep(1.5)  # the spare: made 30 ms after, ready once its interpreter has started


def test_a_python_cold_start_claims_a_premade_sandbox_that_looks_made_for_it(daemon):
    premade_ready(daemon, "python311")
    daemon.create(name="probe", runtime="python311", code=PY_PROBE, env={"MINE": "yes"}, memory_mb=256)
    r = daemon.invoke("probe")
    assert r.status == 200, r
    got = r.json()
    assert [i["premade"] for i in daemon.instances("probe")] == [True]
    assert got["cwd"] == "/var/task" and got["files"] == ["main.py"]
    assert (got["fn"], got["mine"], got["claim_fd"], got["mem"]) == ("probe", "yes", None, "256")
    assert got["uid"] >= 200000
    assert got["/.claim"] == "Permission denied"
    assert got["/.claim/tasks"] == "Permission denied"
    assert got["write"] == "Read-only file system"
    assert got["fds"] == ["socket"]  # the Runtime API's; the claim pipe is closed
    # The first call of a function gets its Init Duration like any cold start.
    log = daemon.request("GET", "/api/v1/functions/probe/logs?tail=1").body.decode()
    assert log.startswith("REPORT RequestId: ") and "\tInit Duration: " in log


def test_a_node_cold_start_claims_one_with_the_glambdar_style_applied(daemon):
    premade_ready(daemon, "nodejs20")
    daemon.create(name="nprobe", runtime="nodejs20", code=NODE_PROBE, env={"MINE": "n"})
    r = daemon.invoke("nprobe")
    assert r.status == 200, r
    assert [i["premade"] for i in daemon.instances("nprobe")] == [True]
    assert r.json() == {"cwd": "/var/task", "files": ["index.js"], "fn": "nprobe", "mine": "n", "claim_fd": None,
                        "style": None}
    time.sleep(1.5)
    daemon.create(name="gl", runtime="nodejs20", style="glambdar",
                  code="module.exports = async (req) => ({statusCode: 201, body: req.body})")
    r = daemon.request("POST", "/invoke/gl", "raw text")
    assert (r.status, r.body) == (201, b"raw text")
    assert [i["premade"] for i in daemon.instances("gl")] == [True]


def test_the_memory_limit_is_the_functions_not_the_shells(daemon):
    premade_ready(daemon, "python311")
    daemon.create(name="hog", runtime="python311", memory_mb=64,
                  code="def handler(e, c):\n    x = bytearray(150 << 20)\n    return len(x)")
    r = daemon.invoke("hog")
    assert [i["premade"] for i in daemon.instances("hog")] in ([True], [])
    assert (r.status, r.json()["errorType"]) == (502, "Runtime.OutOfMemory")
    assert r.json()["errorMessage"] == "Runtime exited: out of memory (limit 64 MB)"


def cpu_weights(d):
    """{cgroup name: its CPU weight file's value} of the daemon's sandboxes,
    and how a weight reads in it (v1: cpu.shares = weight * 1024 / 100)."""
    v1 = os.path.join(CGROUP_ROOT, "cpu", d.cgroup_parent())
    base, name, reads = (v1, "cpu.shares", lambda w: w * 1024 // 100) if os.path.isdir(v1) else \
        (os.path.join(CGROUP_ROOT, d.cgroup_parent()), "cpu.weight", lambda w: w)
    out = {}
    for cg in os.listdir(base):
        path = os.path.join(base, cg, name)
        if cg.startswith("i-") and os.path.exists(path):
            with open(path) as f:
                out[cg] = int(f.read())
    return out, reads


def test_a_spare_boots_at_a_default_functions_cpu_weight_and_takes_its_own_when_claimed(daemon):
    # A spare must not take more CPU than the instances it would serve: in a
    # burst of cold starts it competes with the ones claimed before it.
    premade_ready(daemon, "python311")
    first = {f"i-{i['id']}" for i in daemon.instances("first-python311")}
    weights, reads = cpu_weights(daemon)
    if not weights:  # cgroup v2 with no cpu controller for the daemon: no weight is set at all
        pytest.skip("the daemon's cgroups have no CPU weight here (docs/operations.md, the cgroup table)")
    spares = set(weights) - first
    assert spares and first <= set(weights), weights
    assert set(weights.values()) == {reads(12)}, weights  # 128 MB: 12 (100 per GiB)
    daemon.create(name="big", runtime="python311", memory_mb=1024, code="def handler(e, c):\n    return 1")
    assert daemon.invoke("big").status == 200
    [big] = daemon.instances("big")
    assert big["premade"] and f"i-{big['id']}" in spares
    assert cpu_weights(daemon)[0][f"i-{big['id']}"] == reads(100)


def test_env_an_interpreter_reads_at_start_takes_the_ordinary_path(daemon):
    premade_ready(daemon, "python311")
    daemon.create(name="pp", runtime="python311", env={"PYTHONHASHSEED": "7"},
                  code="import os, sys\ndef handler(e, c):\n    return [os.environ['PYTHONHASHSEED'], sys.flags.hash_randomization]")
    r = daemon.invoke("pp")
    assert r.json() == ["7", 1]
    assert [i["premade"] for i in daemon.instances("pp")] == [False]


def test_http_servers_and_local_mode_never_claim_one(routed):
    premade_ready(routed, "python311")
    routed.create(name="srv", runtime="python311", mode="http", handler="main.py",
                  code="import http.server\nhttp.server.HTTPServer(('127.0.0.1', 8000), http.server.SimpleHTTPRequestHandler).serve_forever()")
    assert routed.invoke("srv").status == 501  # the server's own answer to POST
    assert [i["premade"] for i in routed.instances("srv")] == [False]
    routed.create(name="loc", runtime="python311", code="def handler(e, c):\n    return 'local'")
    r = routed.invoke("loc", query="?local=true")
    assert r.json() == "local"
    assert [(i["isolation"], i["premade"]) for i in routed.instances("loc")] == [("process", False)]


def test_prewarm_zero_makes_none():
    d = Daemon(extra_args=["--prewarm", "0"]).start()
    try:
        premade_ready(d, "python311")
        d.create(name="p", runtime="python311", code="def handler(e, c):\n    return 2")
        assert d.invoke("p").json() == 2
        assert [i["premade"] for i in d.instances("p")] == [False]
        assert d.request("GET", "/healthz").json()["instances"] == 2
    finally:
        assert d.stop() == 0
        left = d.leftovers()
        d.cleanup()
        assert left == []


def test_bad_prewarm_values_are_refused():
    import subprocess
    from impuls_daemon import BIN
    for v in ("-1", "65", "x", ""):
        p = subprocess.run([BIN, "serve", "--prewarm", v], capture_output=True, text=True, timeout=10)
        assert (p.returncode, p.stderr) == (2, "impuls: --prewarm takes a number from 0 to 64\n"), v
