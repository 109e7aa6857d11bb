"""Impuls in Docker Compose (compose.yaml, Dockerfile, scripts/docker-base.sh,
docs/docker.md): builds the base and the image, starts each profile with
Debian's docker-compose, runs the original README's two curl commands against
it, and checks the isolation each profile promises. Uses the dockerd that
answers, or starts one (and stops it); skipped when none can run. Leaves no
container, image, volume or network of its own behind.

    make test-docker     (= make build, then /usr/bin/python3 -m pytest tests/docker)
"""
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# Debian's clients, which match Debian's dockerd (another docker may come first on PATH).
DOCKER = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else shutil.which("docker")
COMPOSE = "/usr/bin/docker-compose" if os.path.exists("/usr/bin/docker-compose") else shutil.which("docker-compose")
DOCKERD = shutil.which("dockerd") or "/usr/sbin/dockerd"
PROJECT = f"impulstest{os.getpid()}"        # compose project: its containers, volumes, network, images
BASE_IMAGE = f"impuls-test-base-{os.getpid()}"
START_S = 180                               # bounded waits: generous, never a speed test

# The original Impuls README's commands, verbatim (only the port may change).
README_CREATE = r"""curl -X POST http://localhost:8080/api/v1/functions \
  -H "Content-Type: application/json" \
  -d '{
    "name": "hello-world",
    "runtime": "nodejs20",
    "handler": "index.handler",
    "code": "exports.handler = async (event) => { return { statusCode: 200, body: \"Hello from Impuls!\" }; }"
  }'"""
README_INVOKE = r"""curl -X POST http://localhost:8080/api/v1/functions/hello-world/invoke?local=true \
  -H "Content-Type: application/json" \
  -d '{"name": "World"}'"""


def run(*cmd, timeout=120, check=True, env=None):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)}: exit {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


def docker_answers():
    return DOCKER is not None and subprocess.run(
        [DOCKER, "info"], capture_output=True, timeout=30).returncode == 0


def port_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def pick_port(preferred):
    """The README's port when it is free (the commands then run unchanged)."""
    if port_free(preferred):
        return preferred
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def curl_shell(command, port):
    """A README curl command run by real curl (the shell's quoting, without a
    shell), with -s and the status code appended to the body."""
    command = command.replace("localhost:8080", f"localhost:{port}").replace("\\\n", " ")
    argv = shlex.split(command)
    assert argv[0] == "curl"
    out = run("curl", "-s", "-w", "\n%{http_code}", *argv[1:], timeout=60).stdout
    body, _, code = out.rpartition("\n")
    return int(code), body


def get_json(port, path):
    out = run("curl", "-s", "-f", f"http://localhost:{port}{path}", timeout=30).stdout
    return json.loads(out)


@pytest.fixture(scope="module")
def dockerd():
    """A dockerd that answers: the running one, or one started here with its
    default settings (stopped at the end)."""
    if COMPOSE is None or DOCKER is None:
        pytest.skip("docker.io and docker-compose are not installed (make deps)")
    if docker_answers():
        yield
        return
    if os.geteuid() != 0 or not os.path.exists(DOCKERD):
        pytest.skip("no dockerd answers and this test cannot start one (needs root and dockerd)")
    had_bridge = os.path.exists("/sys/class/net/docker0")
    log = tempfile.NamedTemporaryFile(prefix="impuls-dockerd-", suffix=".log", delete=False)
    proc = subprocess.Popen([DOCKERD], stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + START_S
        while not docker_answers():
            if proc.poll() is not None or time.monotonic() > deadline:
                with open(log.name) as f:
                    tail = "".join(f.readlines()[-15:])
                pytest.skip(f"dockerd cannot start here (exit {proc.poll()}):\n{tail}")
            time.sleep(0.5)
        yield
    finally:
        proc.send_signal(signal.SIGTERM)   # stops its containerd too
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:  # its session: dockerd and its containerd
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if not had_bridge and os.path.exists("/sys/class/net/docker0"):
            subprocess.run(["ip", "link", "delete", "docker0"], capture_output=True)
        log.close()
        os.unlink(log.name)


class Stack:
    """compose.yaml under a project name of this test's own."""

    def __init__(self):
        self.port = pick_port(8080)
        self.router_port = pick_port(8081)
        self.env = dict(os.environ, IMPULS_BASE_IMAGE=BASE_IMAGE, IMPULS_PORT=str(self.port),
                        IMPULS_ROUTER_PORT=str(self.router_port), DOCKER=DOCKER)

    def compose(self, *args, timeout=300, check=True):
        return run(COMPOSE, "-p", PROJECT, "-f", os.path.join(ROOT, "compose.yaml"), *args,
                   timeout=timeout, check=check, env=self.env)

    def container(self, service):
        ids = self.compose("--profile", "dev", "ps", "-q", service).stdout.split()
        assert len(ids) == 1, ids
        return ids[0]

    def up(self, service, profile_args=()):
        """Starts the service and waits for its healthcheck (curl /healthz in
        the container) to say healthy; returns the container id."""
        self.compose(*profile_args, "up", "-d", "--build", service, timeout=600)
        cid = self.container(service)
        deadline = time.monotonic() + START_S
        while True:
            state = run(DOCKER, "inspect", "-f", "{{.State.Status}} {{.State.Health.Status}}", cid).stdout.split()
            if state == ["running", "healthy"]:
                return cid
            if state[0] != "running" or time.monotonic() > deadline:
                logs = run(DOCKER, "logs", cid, check=False)
                raise AssertionError(f"{service}: {state}\n{logs.stdout}{logs.stderr}")
            time.sleep(0.5)

    def down(self):
        # --profile dev: down acts only on the services of the profiles given.
        self.compose("--profile", "dev", "down", "-v", "--rmi", "local", "--remove-orphans", timeout=300)


@pytest.fixture(scope="module")
def stack(dockerd):
    for f in ("build/impuls", "build/libimpuls-zygote.so"):
        assert os.path.exists(os.path.join(ROOT, f)), f"{f} missing: run `make build` (make test-docker does)"
    s = Stack()
    try:
        base = run("sh", "scripts/docker-base.sh", timeout=1200, env=s.env)
        print(base.stdout, end="")
        yield s
    finally:
        s.down()
        run(DOCKER, "rmi", BASE_IMAGE, check=False)
        label = f"label=com.docker.compose.project={PROJECT}"
        left = {what: run(DOCKER, what, "ls", "-q", "--filter", label).stdout.split()
                for what in ("volume", "network")}
        left["container"] = run(DOCKER, "ps", "-aq", "--filter", label).stdout.split()
        left["image"] = run(DOCKER, "images", "-q", f"{PROJECT}_*").stdout.split() + \
            run(DOCKER, "images", "-q", BASE_IMAGE).stdout.split()
        assert not any(left.values()), f"left behind: {left}"


def readme_commands(port):
    code, body = curl_shell(README_CREATE, port)
    assert code == 201, body
    fn = json.loads(body)
    assert (fn["name"], fn["runtime"], fn["handler"], fn["version"]) == \
        ("hello-world", "nodejs20", "index.handler", 1)
    assert curl_shell(README_INVOKE, port) == (200, "Hello from Impuls!")


def test_dev_profile_runs_the_readme_unisolated(stack):
    stack.up("impuls-dev", ("--profile", "dev"))
    try:
        h = get_json(stack.port, "/healthz")
        assert (h["status"], h["isolation"], h["cgroup"]) == ("ok", "process", "none")
        readme_commands(stack.port)
        # Without ?local=true too: this daemon has no sandbox at all.
        invoke = README_INVOKE.replace("?local=true", "")
        assert curl_shell(invoke, stack.port) == (200, "Hello from Impuls!")
        (inst,) = get_json(stack.port, "/api/v1/functions/hello-world/instances")["instances"]
        assert inst["isolation"] == "process"
    finally:
        stack.compose("--profile", "dev", "down", "-v")


def test_prod_profile_runs_the_readme_and_a_sandboxed_call(stack):
    cid = stack.up("impuls")
    try:
        h = get_json(stack.port, "/healthz")
        assert (h["status"], h["isolation"]) == ("ok", "namespace")
        assert h["cgroup"] in ("v1", "v2")
        readme_commands(stack.port)
        # The same call without ?local=true: a real sandbox in the container.
        invoke = README_INVOKE.replace("?local=true", "")
        assert curl_shell(invoke, stack.port) == (200, "Hello from Impuls!")
        insts = get_json(stack.port, "/api/v1/functions/hello-world/instances")["instances"]
        assert sorted(i["isolation"] for i in insts) == ["namespace", "process"]
        sb = next(i for i in insts if i["isolation"] == "namespace")
        # Its init (pid in the daemon's namespace = the container's) has pid,
        # mount and net namespaces of its own and sits in its instance cgroup
        # under the daemon's, with the function's 128 MB limit.
        pid = sb["pid"]
        ns = run(DOCKER, "exec", cid, "readlink", *(f"/proc/{p}/ns/{n}" for p in (1, pid)
                                                     for n in ("pid", "mnt", "net"))).stdout.split()
        assert all(a != b for a, b in zip(ns[:3], ns[3:])), ns
        cg = run(DOCKER, "exec", cid, "cat", f"/proc/{pid}/cgroup").stdout
        mem = [line for line in cg.splitlines() if (":memory:" in line or line.startswith("0::"))
               and "/impuls/d-" in line]
        assert mem and mem[0].endswith(f"/i-{sb['id']}"), cg
        limit_file = ("/sys/fs/cgroup/memory/impuls/d-*/i-%d/memory.limit_in_bytes" if h["cgroup"] == "v1"
                      else "/sys/fs/cgroup/impuls/d-*/i-%d/memory.max") % sb["id"]
        limit = run(DOCKER, "exec", cid, "sh", "-c", f"cat {limit_file}").stdout.strip()
        assert limit == str(128 << 20)
    finally:
        stack.compose("--profile", "dev", "down", "-v")
