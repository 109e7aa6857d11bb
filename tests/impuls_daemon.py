"""Drives the real impuls daemon: started on a free port with a temporary data
dir, talked to over HTTP, stopped with SIGTERM, checked for leftovers.
Used by the e2e tests and by the benchmarks."""
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("IMPULS_BIN", os.path.join(ROOT, "build", "impuls"))
CGROUP_ROOT = "/sys/fs/cgroup"


def port_free(port):
    """Whether 127.0.0.1:port can be bound right now (nobody listens on it;
    TIME_WAIT connections of the port do not count, as for the daemon)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


_next_port = None  # where this process's next pick starts: no port is handed out twice in a lap


def free_range(n):
    """LO, HI of n consecutive ports that are free now, below the kernel's
    ephemeral range, picked upward from a random start (then wrapping): a
    port is picked before the daemon binds it, so two picks in a row must
    not return the same one, and not from that range, since between the
    pick and the bind any client's next connect() may take a port of it as
    its local port (once it did, and the daemon could not listen). Random
    starts, so parallel runs rarely meet."""
    global _next_port
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        eph_lo = int(f.read().split()[0])
    lowest = 10000 if eph_lo > 10000 + 2 * n else 1024
    if _next_port is None:
        import random
        _next_port = random.randint(lowest, eph_lo - 1)
    for _ in range(eph_lo - lowest):  # at most a lap
        if _next_port + n > eph_lo:
            _next_port = lowest
        lo = _next_port
        busy = next((p for p in range(lo, lo + n) if not port_free(p)), None)
        _next_port = lo + n if busy is None else busy + 1
        if busy is None:
            return lo, lo + n - 1
    raise RuntimeError(f"no {n} free consecutive ports below {eph_lo}")


def free_port():
    """A port of 127.0.0.1 for a server about to start (see free_range)."""
    return free_range(1)[0]


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    @property
    def text(self):
        return self.body.decode()

    def __repr__(self):
        return f"<Response {self.status} {self.body[:300]!r}>"


class Daemon:
    def __init__(self, data_dir=None, extra_args=()):
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="impuls-e2e-")
        self.extra_args = list(extra_args)
        self.port = None
        self.proc = None
        self.log_path = os.path.join(self.data_dir, "daemon.log")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self.port = free_port()
        self.log = open(self.log_path, "ab")
        # No egress unless a test asks: the suite's daemons share this
        # machine's network namespace, whose firewall is not theirs to
        # change (tests/e2e/test_egress.py has a namespace of its own).
        egress = [] if any(a.startswith("--egress") for a in self.extra_args) else ["--egress", "off"]
        self.proc = subprocess.Popen(
            [BIN, "serve", "--addr", f"127.0.0.1:{self.port}", "--data-dir", self.data_dir]
            + egress + self.extra_args,
            stdout=self.log, stderr=subprocess.STDOUT)
        return self.wait_healthy()

    def wait_healthy(self, seconds=10):
        """Once self.proc runs: waits until /healthz answers 200."""
        deadline = time.time() + seconds
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daemon exited with {self.proc.returncode}: {self.read_log()}")
            try:
                if self.request("GET", "/healthz").status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError("daemon did not become healthy: " + self.read_log())

    def read_log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self, timeout=40):
        """SIGTERM, wait, return the exit code."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            self.log.close()

    def kill(self):
        self.proc.kill()
        self.proc.wait()
        self.log.close()

    def request(self, method, path, body=None, headers=None, timeout=60):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        req = urllib.request.Request(self.url + path, data=body, method=method,
                                     headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return Response(r.status, r.headers, r.read())
        except urllib.error.HTTPError as e:
            return Response(e.code, e.headers, e.read())

    # Shorthands for the REST API.
    def create(self, **spec):
        r = self.request("POST", "/api/v1/functions", spec)
        assert r.status == 201, r
        return r.json()

    def invoke(self, name, event=None, query="", headers=None, timeout=60):
        body = b"" if event is None else json.dumps(event).encode()
        return self.request("POST", f"/api/v1/functions/{name}/invoke{query}", body,
                            headers=headers, timeout=timeout)

    def instances(self, name):
        r = self.request("GET", f"/api/v1/functions/{name}/instances")
        assert r.status == 200, r
        return r.json()["instances"]

    def cgroup_parent(self):
        h = hashlib.sha256(os.path.realpath(self.data_dir).encode()).hexdigest()[:12]
        return f"impuls/d-{h}"

    def leftovers(self):
        """What a stopped daemon must not leave: processes, mounts, cgroups."""
        found = []
        real = os.path.realpath(self.data_dir)
        with open("/proc/mounts") as f:
            found += [l for l in f if real in l]
        for ctrl in ("memory", "pids", "cpu", ""):
            d = os.path.join(CGROUP_ROOT, ctrl, self.cgroup_parent())
            if os.path.isdir(d):
                found += [os.path.join(d, e) for e in os.listdir(d)
                          if os.path.isdir(os.path.join(d, e))]
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/environ", "rb") as f:
                    env = f.read()
                with open(f"/proc/{pid}/cgroup") as f:
                    cg = f.read()
            except OSError:
                continue
            if real.encode() in env or self.cgroup_parent() in cg:
                found.append(f"process {pid}")
        return found

    def zygote_pids(self):
        """Its Python zygotes (src/pool/zygotes.c): its children running
        runtimes/python/zygote.py outside any instance's cgroup (the sandbox
        inits a zygote made are the daemon's children too, inside one)."""
        found = []
        for p in os.listdir("/proc"):
            try:
                with open(f"/proc/{p}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                with open(f"/proc/{p}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
                with open(f"/proc/{p}/cgroup") as f:
                    in_instance = self.cgroup_parent() in f.read()
            except (ValueError, OSError):
                continue
            if ppid == self.proc.pid and b"zygote.py" in argv and not in_instance:
                found.append(int(p))
        return found

    def cleanup(self):
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def end(self, timeout=40):
        """For a benchmark's `finally`: stopped (killed if it will not stop
        in time), its data dir gone, whatever state it was left in."""
        if self.proc and self.proc.poll() is None:
            try:
                self.stop(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self.cleanup()


NODE_HELLO = ("exports.handler = async (event) => "
              "{ return { statusCode: 200, body: \"Hello from Impuls!\" }; }")
