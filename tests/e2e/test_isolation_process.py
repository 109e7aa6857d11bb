"""impuls serve --isolation process: a development daemon that needs no
privileges (the original's `impuls-dev` profile). It makes no cgroup,
namespace or seccomp filter, runs every call as ?local=true does, says so in
/healthz and warns at start. Tried as `nobody` with no capabilities at all.
docs/operations.md, "--isolation"."""
import json
import os
import pwd
import shutil
import subprocess
import tempfile

import pytest

from impuls_daemon import BIN, ROOT, Daemon, free_port

NOBODY = pwd.getpwnam("nobody")


class Unprivileged(Daemon):
    """The daemon as `nobody`, no capabilities (bounding set empty), from a
    copy of the binary and the runtimes it can read wherever the tree is."""

    def __init__(self, extra_args=()):
        super().__init__(extra_args=extra_args)
        self.home = tempfile.mkdtemp(prefix="impuls-nobody-")
        os.chmod(self.home, 0o755)
        shutil.copy(BIN, os.path.join(self.home, "impuls"))
        shutil.copytree(os.path.join(ROOT, "runtimes"), os.path.join(self.home, "runtimes"))
        os.chown(self.data_dir, NOBODY.pw_uid, NOBODY.pw_gid)

    def start(self):
        self.port = free_port()
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            ["setpriv", f"--reuid={NOBODY.pw_uid}", f"--regid={NOBODY.pw_gid}", "--clear-groups",
             "--inh-caps=-all", "--bounding-set=-all", os.path.join(self.home, "impuls"), "serve",
             "--addr", f"127.0.0.1:{self.port}", "--data-dir", self.data_dir,
             "--runtime-dir", os.path.join(self.home, "runtimes"), *self.extra_args],
            stdout=self.log, stderr=subprocess.STDOUT)
        return self.wait_healthy()

    def cleanup(self):
        super().cleanup()
        shutil.rmtree(self.home, ignore_errors=True)


@pytest.fixture(scope="module")
def dev():
    router = free_port()
    d = Unprivileged(["--isolation", "process", "--router-addr", f"127.0.0.1:{router}"])
    d.router_port = router
    try:
        d.start()
        yield d
    finally:
        code = d.stop()
        left = d.leftovers()
        d.cleanup()
        assert code == 0
        assert left == []


WHO = ("import json, os\ndef handler(e, c):\n"
       "    return {'uid': os.getuid(), 'pid_ns': os.readlink('/proc/self/ns/pid'),\n"
       "            'sees_host_tmp': os.path.isdir('/tmp'), 'cwd': os.getcwd()}\n")


def test_it_says_so_in_healthz_and_at_start(dev):
    assert dev.request("GET", "/healthz").json()["isolation"] == "process"
    log = dev.read_log()
    assert "--isolation process: functions run WITHOUT a sandbox, as this daemon's user (65534)" in log
    assert "sandbox none (process), cgroup none" in log


def test_every_way_in_runs_the_call_unsandboxed(dev):
    dev.create(name="who", runtime="python311", code=WHO)
    host_pid_ns = os.readlink("/proc/self/ns/pid")
    for r in (dev.invoke("who"),
              dev.request("POST", "/2015-03-31/functions/who/invocations", {}),
              dev.invoke("who", query="?local=true")):
        assert r.status == 200, r
        got = r.json()
        assert (got["uid"], got["pid_ns"]) == (NOBODY.pw_uid, host_pid_ns)
        assert got["cwd"].endswith("/tasks/" + os.path.basename(got["cwd"]))
    out = subprocess.run(["curl", "-s", "--resolve", f"fn.localhost:{dev.router_port}:127.0.0.1",
                          f"http://fn.localhost:{dev.router_port}/invoke/who"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    assert json.loads(out)["uid"] == NOBODY.pw_uid
    insts = dev.instances("who")
    assert insts and all(i["isolation"] == "process" for i in insts)


def test_a_node_function_and_an_error(dev):
    dev.create(name="boom", runtime="nodejs20", code="exports.handler = async () => { throw new TypeError('no'); }")
    r = dev.invoke("boom")
    assert (r.status, r.json()["errorType"], r.json()["errorMessage"]) == (500, "TypeError", "no")


def test_the_default_is_the_sandbox(daemon):
    assert daemon.request("GET", "/healthz").json()["isolation"] == "namespace"


@pytest.mark.parametrize("flags,code,message", [
    (["--isolation", "process", "--no-local"], 1,
     "--isolation process runs every call as ?local=true does: it cannot go with --no-local"),
    (["--isolation", "vm"], 2, "impuls: --isolation takes namespace, microvm or process"),
])
def test_bad_isolation_flags(flags, code, message):
    d = Daemon(extra_args=flags)
    try:
        with pytest.raises(RuntimeError) as e:
            d.start()
        assert str(e.value).startswith(f"daemon exited with {code}: "), e.value
        assert message in str(e.value)
    finally:
        d.cleanup()
