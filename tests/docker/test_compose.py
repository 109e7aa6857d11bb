"""Impuls in Docker Compose (compose.yaml, Dockerfile, scripts/docker-base.sh,
docs/docker.md): builds the base and the image, starts each profile with
Debian's docker-compose, runs the original README's two curl commands against
it, and checks the isolation each profile promises. Uses the dockerd that
answers, or starts one of its own, isolated from the host (its own root,
sockets, containerd and cgroup parent; no iptables, no ip_forward, no default
bridge), and then removes everything it made; skipped when none can run, or
when the base image's Debian mirror cannot be reached and no base is cached.
Leaves no container, image, volume or network of its own behind.

    make test-docker     (= make build, then /usr/bin/python3 -m pytest tests/docker)
"""
import json
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from impuls_daemon import free_port, port_free

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


# DOCKER_HOST of the dockerd this test started, None when it uses the one that answered.
_own_docker_host = None


def docker_env(**extra):
    """The environment of every docker, docker-compose and docker-base.sh call:
    DOCKER_HOST names this test's own dockerd when it started one."""
    env = dict(os.environ, **extra)
    if _own_docker_host:
        env["DOCKER_HOST"] = _own_docker_host
    return env


def run(*cmd, timeout=120, check=True, env=None):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                       env=env if env is not None else docker_env(), cwd=ROOT)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)}: exit {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


def docker_answers(env=None):
    return DOCKER is not None and subprocess.run(
        [DOCKER, "info"], capture_output=True, timeout=30, env=env).returncode == 0


def pick_port(preferred):
    """The README's port when it is free (the commands then run unchanged)."""
    if port_free(preferred):
        return preferred
    return free_port()


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


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def _tail(path, n=15):
    return "".join(_read(path).splitlines(keepends=True)[-n:])


def _mounts_under(top):
    """Mount points at or below top (deepest first), from mountinfo."""
    points = []
    for line in _read("/proc/self/mountinfo").splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point == top or point.startswith(top + "/"):
            points.append(point)
    return sorted(points, key=len, reverse=True)


def _procs_of(tmp, sessions):
    """Processes this test started: in the session of its dockerd (docker-proxy)
    or containerd (the shims, runc), or naming its temporary directory (the
    shims do: `-address <tmp>/containerd/containerd.sock`)."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
            sid = os.getsid(int(d))
        except (OSError, ProcessLookupError):
            continue
        if cmdline and (sid in sessions or tmp in cmdline):
            found.append((int(d), cmdline))
    return found


def _iptables_docker():
    """The iptables lines that are Docker's (chains DOCKER*, docker0, br-*
    bridges), and the FORWARD policy: what a dockerd with iptables changes."""
    if shutil.which("iptables") is None:
        return set()
    tables = ("filter", "nat")
    if "nf_tables" not in subprocess.run(["iptables", "-V"], capture_output=True, text=True).stdout:
        # Legacy: listing a table loads its module; list only the loaded ones.
        tables = [t for t in _read("/proc/net/ip_tables_names").split() if t in tables]
    lines = set()
    for table in tables:
        r = subprocess.run(["iptables", "-w", "-t", table, "-S"], capture_output=True, text=True)
        for line in r.stdout.splitlines():
            if "DOCKER" in line or "docker0" in line or " br-" in line or line.startswith("-P FORWARD"):
                lines.add(f"{table}: {line}")
    return lines


# Host paths a dockerd (and its managed containerd) uses by default; none is
# used by the test's own, and each must exist afterwards exactly when it did
# before. (/run/containerd: containerd's shims put their sockets in
# /run/containerd/s whatever containerd's state directory is; it is removed
# afterwards when the test made it.)
HOST_PATHS = ("/var/lib/docker", "/run/docker", "/run/docker.sock", "/run/docker.pid",
              "/etc/docker", "/etc/docker/key.json", "/run/containerd", "/var/lib/containerd",
              "/opt/containerd")


def _host_state():
    return {
        "paths": {p: os.path.lexists(p) for p in HOST_PATHS},
        "links": set(os.listdir("/sys/class/net")),
        "ip_forward": _read("/proc/sys/net/ipv4/ip_forward").strip(),
        "iptables": _iptables_docker(),
    }


def _wait_for(what, ok, procs, logs, timeout=START_S):
    """Waits until ok(); skips (with the logs' tails) when a process exits first."""
    deadline = time.monotonic() + timeout
    while not ok():
        dead = [p for p in procs if p.poll() is not None]
        if dead or time.monotonic() > deadline:
            tails = "\n".join(f"{os.path.basename(log)}:\n{_tail(log)}" for log in logs)
            pytest.skip(f"{what} cannot start here (exit {[p.poll() for p in procs]}):\n{tails}")
        time.sleep(0.5)


def _stop(proc, timeout=60):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)   # its own session: it and its children
        proc.wait()


# The bridges of the own dockerd's networks (compose's project network:
# br-<id>), noted while they exist, removed afterwards should they outlive it.
_bridges = set()


def note_bridges(network_ids):
    if not _own_docker_host:
        return
    for nid in network_ids:
        r = run(DOCKER, "network", "inspect", "-f",
                '{{.Id}} {{index .Options "com.docker.network.bridge.name"}}', nid, check=False)
        full, _, name = r.stdout.strip().partition(" ")
        if full:
            _bridges.add(name if name and name != "<no value>" else f"br-{full[:12]}")


@pytest.fixture(scope="module")
def dockerd():
    """A dockerd that answers: the one running (DOCKER_HOST or the default
    socket), used as it is; or one started here, isolated from the host, and
    removed afterwards with everything it made.

    The own one: a containerd started here too (dockerd's managed one would
    create /opt/containerd, and dockerd takes a system containerd instead where
    /run/containerd/containerd.sock exists), root, state and sockets in a
    temporary directory; dockerd with its --data-root, --exec-root, socket,
    pidfile, trust key and (empty) config file there, --iptables=false and
    --ip-forward=false (published ports go through docker-proxy, the userland
    proxy, which connects to the container's address on the project network's
    bridge: no NAT and no forwarding are needed for the host's loopback),
    --bridge=none (no docker0: compose puts its containers on a network of its
    own, whose br-* bridge `down` removes; the image's build runs nothing, so
    needs no network), and a cgroup parent of its own. The host's iptables,
    ip_forward, links and Docker's default paths must be as they were."""
    global _own_docker_host
    if COMPOSE is None or DOCKER is None:
        pytest.skip("docker.io and docker-compose are not installed (make deps)")
    if docker_answers():
        yield
        return
    containerd_bin = shutil.which("containerd")
    if os.geteuid() != 0 or not os.path.exists(DOCKERD) or containerd_bin is None:
        pytest.skip("no dockerd answers and this test cannot start one (needs root, dockerd and containerd)")

    before = _host_state()
    tmp = tempfile.mkdtemp(prefix="impuls-dockerd-")
    cgroup_parent = f"impuls-test-{os.getpid()}"
    ctd = os.path.join(tmp, "containerd")
    ctd_sock = os.path.join(ctd, "containerd.sock")
    os.makedirs(ctd)
    with open(os.path.join(ctd, "config.toml"), "w") as f:
        f.write(f"""version = 2
root = "{ctd}/root"
state = "{ctd}/state"
# dockerd 20.10 uses none of these (its images are its own); some probe the host.
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "{ctd_sock}"
[ttrpc]
  address = "{ctd_sock}.ttrpc"
[debug]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "{ctd}/opt"
""")
    with open(os.path.join(tmp, "daemon.json"), "w") as f:   # not the host's /etc/docker/daemon.json
        # The trust key, else /etc/docker/key.json (dockerd 20.10 has no flag for it).
        json.dump({"deprecated-key-path": os.path.join(tmp, "key.json")}, f)
    host = f"unix://{tmp}/docker.sock"
    logs = [os.path.join(tmp, "containerd.log"), os.path.join(tmp, "dockerd.log")]
    procs = []
    bridges = _bridges
    bridges.clear()
    try:
        with open(logs[0], "w") as log:
            procs.append(subprocess.Popen(
                [containerd_bin, "--config", os.path.join(ctd, "config.toml")], stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True))
        _wait_for("containerd", lambda: os.path.exists(ctd_sock), procs, logs[:1], timeout=60)
        with open(logs[1], "w") as log:
            procs.append(subprocess.Popen(
                [DOCKERD, "--config-file", os.path.join(tmp, "daemon.json"),
                 "-H", host, "--pidfile", os.path.join(tmp, "docker.pid"),
                 "--data-root", os.path.join(tmp, "data"), "--exec-root", os.path.join(tmp, "exec"),
                 "--containerd", ctd_sock,
                 "--containerd-namespace", cgroup_parent,
                 "--containerd-plugins-namespace", cgroup_parent + "-plugins",
                 "--iptables=false", "--ip-forward=false", "--ip-masq=false",
                 "--userland-proxy=true", "--bridge=none",
                 "--exec-opt", "native.cgroupdriver=cgroupfs", "--cgroup-parent", "/" + cgroup_parent],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True))
        env = dict(os.environ, DOCKER_HOST=host)
        _wait_for("dockerd", lambda: docker_answers(env), procs, logs)
        _own_docker_host = host
        yield
        note_bridges(run(DOCKER, "network", "ls", "-q", "--filter", "driver=bridge", check=False).stdout.split())
    finally:
        _own_docker_host = None
        for proc in reversed(procs):          # dockerd stops its containers, then containerd
            _stop(proc)
        sessions = {p.pid for p in procs}
        for pid, _ in _procs_of(tmp, sessions):   # shims or proxies that outlived them
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.5)
        for point in _mounts_under(tmp):     # overlays, netns binds of a crashed daemon
            subprocess.run(["umount", "-l", point], capture_output=True)
        for name in bridges:
            if os.path.exists(f"/sys/class/net/{name}"):
                subprocess.run(["ip", "link", "delete", name], capture_output=True)
        cgroups = [d for d in (f"/sys/fs/cgroup/{cgroup_parent}",
                               *(os.path.join(c, cgroup_parent) for c in
                                 (os.path.join("/sys/fs/cgroup", n) for n in os.listdir("/sys/fs/cgroup"))))
                   if os.path.isdir(d)]
        for d in cgroups:
            walk = sorted((w[0] for w in os.walk(d)), key=len, reverse=True)
            stray = [int(pid) for sub in walk for pid in _read(os.path.join(sub, "cgroup.procs")).split()]
            for pid in stray:                # a container's processes that outlived all that
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if stray:
                time.sleep(0.5)
            for sub in walk:
                try:
                    os.rmdir(sub)
                except OSError:
                    pass
        # Made by the test's dockerd (and containerd) where the host had none:
        # dockerd makes /run/docker/plugins whatever its --exec-root is.
        for top, dirs in (("/run/containerd", ("/run/containerd/s", "/run/containerd")),
                          ("/run/docker", ("/run/docker/plugins", "/run/docker"))):
            if before["paths"][top]:
                continue
            for d in dirs:                    # only when empty
                try:
                    os.rmdir(d)
                except OSError:
                    pass
        left_mounts = _mounts_under(tmp)
        if not left_mounts:
            shutil.rmtree(tmp, ignore_errors=True)
        after = _host_state()
        left = {
            "processes": _procs_of(tmp, sessions),
            "mounts": left_mounts,
            "temporary directory": [tmp] if os.path.exists(tmp) else [],
            "bridges": sorted(b for b in bridges if os.path.exists(f"/sys/class/net/{b}")),
            "new links": sorted(n for n in after["links"] - before["links"]
                                if n == "docker0" or n.startswith(("br-", "veth"))),
            "cgroups": [d for d in cgroups if os.path.exists(d)],
            "host paths": sorted(p for p, e in after["paths"].items() if e != before["paths"][p]),
            "ip_forward": [] if after["ip_forward"] == before["ip_forward"] else
            [f"{before['ip_forward']} -> {after['ip_forward']}"],
            "iptables": sorted(after["iptables"] ^ before["iptables"]),
        }
        assert not any(left.values()), f"the test's own dockerd left behind: { {k: v for k, v in left.items() if v} }"


class Stack:
    """compose.yaml under a project name of this test's own."""

    def __init__(self):
        self.port = pick_port(8080)
        self.router_port = pick_port(8081)
        self.env = docker_env(IMPULS_BASE_IMAGE=BASE_IMAGE, IMPULS_PORT=str(self.port),
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
        note_bridges(run(DOCKER, "network", "ls", "-q", "--filter",
                         f"label=com.docker.compose.project={PROJECT}").stdout.split())
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
def base_source():
    """The base image can be had: its tarball is cached, or the Debian mirror
    that scripts/docker-base.sh would debootstrap from answers (the script
    fetches the suite's Release file from it, bounded in time). Else skipped,
    with the script's reason. Checked before any dockerd is started."""
    for f in ("build/impuls", "build/libimpuls-zygote.so"):
        assert os.path.exists(os.path.join(ROOT, f)), f"{f} missing: run `make build` (make test-docker does)"
    r = run("sh", "scripts/docker-base.sh", "--check", timeout=120, check=False, env=dict(os.environ))
    if r.returncode == 3:
        pytest.skip(f"no base image can be made here: {r.stderr.strip()}")
    assert r.returncode == 0, f"docker-base.sh --check: exit {r.returncode}\n{r.stdout}{r.stderr}"
    print(r.stdout, end="")


@pytest.fixture(scope="module")
def stack(base_source, dockerd):
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


FETCH = """
import errno, urllib.request
def handler(event, context):
    try:
        return urllib.request.urlopen(event["url"], timeout=10).read().decode()
    except Exception as e:
        reason = getattr(e, "reason", e)
        return errno.errorcode.get(getattr(reason, "errno", None), str(reason))
"""


def egress_from_the_container(port, cid, health):
    """network "egress" in the container (compose.yaml: NET_ADMIN, and
    ip_forward in its namespace): a sandbox reaches a server of the test's
    on the host's end of the container's network, a private address that
    egress_allow must name. Nothing leaves the machine."""
    import http.server
    import threading
    assert health["egress"] == {"available": True}, health
    gateway = run(DOCKER, "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.Gateway}}{{end}}",
                  cid).stdout.strip()

    class Hello(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"hello from the host")

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer((gateway, 0), Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://{gateway}:{server.server_address[1]}/"
        for name, allow in (("out", [f"{gateway}:{server.server_address[1]}"]), ("kept-in", [])):
            spec = {"name": name, "runtime": "python3.11", "handler": "index.handler", "code": FETCH,
                    "network": "egress", "egress_allow": allow}
            out = run("curl", "-s", "-w", "\n%{http_code}", "-X", "POST", f"http://localhost:{port}/api/v1/functions",
                      "-d", json.dumps(spec), timeout=30).stdout
            assert out.endswith("\n201"), out
        def invoke(name):
            return json.loads(run("curl", "-s", "-X", "POST", f"http://localhost:{port}/api/v1/functions/{name}/invoke",
                                  "-d", json.dumps({"url": url}), timeout=60).stdout)
        assert invoke("out") == "hello from the host"
        assert invoke("kept-in") == "EHOSTUNREACH"
    finally:
        server.shutdown()
        server.server_close()


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
        egress_from_the_container(stack.port, cid, h)
    finally:
        stack.compose("--profile", "dev", "down", "-v")
