"""Runs `impuls up/down/check` against a daemon, on a copy of functions/ in a
temporary dir, and checks that no build sandbox was left behind."""
import glob
import os
import shutil
import sqlite3
import subprocess
import tempfile

from impuls_daemon import BIN, ROOT

FUNCTIONS = os.path.join(ROOT, "functions")


class Workspace:
    """A temp dir holding functions/ (a copy of the tree's) and .impuls/.
    copy_examples: the hello-* functions test_up.py checks (True), SmolFaaS's
    example-* ones ("smolfaas"), or none (False)."""

    def __init__(self, copy_examples=True):
        self.root = tempfile.mkdtemp(prefix="impuls-up-")
        self.functions = os.path.join(self.root, "functions")
        self.state = os.path.join(self.root, ".impuls")
        if copy_examples:
            other = "hello-*" if copy_examples == "smolfaas" else "example-*"
            shutil.copytree(FUNCTIONS, self.functions, symlinks=True,
                            ignore=shutil.ignore_patterns("README.md", other))
        else:
            os.makedirs(self.functions)

    def write(self, rel, text, mode=None):
        path = os.path.join(self.functions, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        if mode is not None:
            os.chmod(path, mode)
        return path

    def run(self, daemon, cmd, *args, timeout=600):
        """(exit code, stdout, stderr) of `impuls CMD -d functions --state-db .impuls ARGS`."""
        extra = [] if cmd == "down" else ["-d", self.functions]
        env = dict(os.environ, IMPULS_ADDR=f"127.0.0.1:{daemon.port}")
        p = subprocess.run([BIN, cmd, *extra, "--state-db", self.state, *args], capture_output=True,
                           text=True, env=env, timeout=timeout, cwd=self.root)
        assert build_leftovers() == [], build_leftovers()
        return p.returncode, p.stdout, p.stderr

    def rows(self):
        db = sqlite3.connect(os.path.join(self.state, "state.db"))
        try:
            return [r[0] for r in db.execute("SELECT name FROM functions ORDER BY name")]
        finally:
            db.close()

    def cleanup(self):
        shutil.rmtree(self.root)


def build_leftovers():
    """Build sandboxes must leave no cgroup and no process behind."""
    found = glob.glob("/sys/fs/cgroup/*/impuls/build-*") + glob.glob("/sys/fs/cgroup/impuls/build-*")
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cgroup") as f:
                if "impuls/build-" in f.read():
                    found.append(f"process {pid}")
        except OSError:
            pass
    with open("/proc/mounts") as f:
        found += [line for line in f if "impuls-up-" in line]
    return found


def via_router(daemon, path, host="fn.localhost"):
    """(status, body) of GET http://HOST:PORT/PATH through the router."""
    out = subprocess.run(["curl", "-s", "-w", "\n%{http_code}", "--resolve",
                          f"{host}:{daemon.router_port}:127.0.0.1",
                          f"http://{host}:{daemon.router_port}{path}"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    body, _, status = out.rpartition("\n")
    return int(status), body


def routes(daemon, *names, host="fn.localhost"):
    """The lines up prints after the functions."""
    port = daemon.router_port
    return [f"Routes (the router at 127.0.0.1:{port} answers for {host}):"] + \
        [f"  http://{host}:{port}/invoke/{n}" for n in names]
