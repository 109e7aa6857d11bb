"""A world of the test's own for the egress tests, so that no packet leaves
this machine even when a rule is wrong: two network namespaces joined by a
veth pair and to nothing else. "host" runs the daemon (its only way out is
the veth); "world" stands in for everything beyond it and owns every address
the tests aim at:

    host 192.0.2.2/24 ── veth ── 192.0.2.1/24 world, which also owns
      198.51.100.10   (INTERNET: HTTP on 80, 8080, 8081; holds conns on 7000)
      169.254.169.254 (METADATA, the same servers)
      10.99.0.5       (PRIVATE, a private-range host, the same servers)
      10.99.0.6       (PRIVATE2, another)
      10.99.0.53      (RESOLVER: DNS, world.test -> INTERNET)

The daemon listens on every address of "host" (so that a function trying
the host's own addresses finds it there); the test reaches it through
sockets made inside "host" (setns on the calling thread only)."""
import ctypes
import http.client
import os
import random
import subprocess
import sys

from impuls_daemon import BIN, Daemon, Response

HERE = os.path.dirname(os.path.abspath(__file__))
INTERNET, METADATA, RESOLVER = "198.51.100.10", "169.254.169.254", "10.99.0.53"
PRIVATE, PRIVATE2 = "10.99.0.5", "10.99.0.6"  # private-range hosts
WORLD_ADDR, HOST_ADDR = "192.0.2.1", "192.0.2.2"
DAEMON_PORT = 9090
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def sh(*args, ns=None):
    cmd = ["ip"] + (["-n", ns] if ns else []) + list(args)
    subprocess.run(cmd, check=True, capture_output=True)


def socket_in(ns_path, family, kind):
    """A socket of the namespace at ns_path, made on this thread, which then
    returns to its own namespace."""
    import socket
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(ns_path, os.O_RDONLY)
    try:
        if _libc.setns(target, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns")
        try:
            return socket.socket(family, kind)
        finally:
            if _libc.setns(own, CLONE_NEWNET) != 0:
                os._exit(3)  # this thread would go on in the wrong namespace
    finally:
        os.close(own)
        os.close(target)


class World:
    def __init__(self):
        tag = f"{os.getpid() % 100000}{random.randint(0, 999)}"
        self.world, self.host = f"impuls-w{tag}", f"impuls-h{tag}"
        self.links = (f"iw{tag}", f"ih{tag}")
        self.procs = []

    def ns_path(self, which="host"):
        return f"/run/netns/{self.host if which == 'host' else self.world}"

    def up(self):
        sh("netns", "add", self.world)
        sh("netns", "add", self.host)
        sh("link", "add", self.links[0], "netns", self.world, "type", "veth", "peer", "name", self.links[1],
           "netns", self.host)
        sh("link", "set", "lo", "up", ns=self.world)
        sh("addr", "add", f"{WORLD_ADDR}/24", "dev", self.links[0], ns=self.world)
        sh("link", "set", self.links[0], "up", ns=self.world)
        for a in (INTERNET, METADATA, PRIVATE, PRIVATE2, RESOLVER):
            sh("addr", "add", f"{a}/32", "dev", "lo", ns=self.world)
        sh("link", "set", "lo", "up", ns=self.host)
        sh("addr", "add", f"{HOST_ADDR}/24", "dev", self.links[1], ns=self.host)
        sh("link", "set", self.links[1], "up", ns=self.host)
        sh("route", "add", "default", "via", WORLD_ADDR, ns=self.host)
        self.spawn("world", RESOLVER, f"world.test={INTERNET}", f"metadata.test={METADATA}")
        return self

    def spawn(self, which, dns_addr, *names):
        """egress_world.py's servers in a namespace (which: world or host)."""
        p = subprocess.Popen(["nsenter", f"--net={self.ns_path(which)}", sys.executable,
                              os.path.join(HERE, "egress_world.py"), "serve", dns_addr, *names],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.procs.append(p)
        line = p.stdout.readline()
        assert line == b"ready\n", line + p.stdout.read()
        return p

    def run(self, which, *cmd):
        return subprocess.run(["nsenter", f"--net={self.ns_path(which)}", *cmd], capture_output=True, text=True)

    def nft_table(self):
        """The daemon's egress table in "host", or None."""
        r = self.run("host", "nft", "list", "table", "inet", "impuls")
        return r.stdout if r.returncode == 0 else None

    def host_links(self):
        """The host ends of the sandboxes' links (imp-*) in "host"."""
        r = self.run("host", "ip", "-o", "link", "show")
        return sorted(l.split(":")[1].strip().split("@")[0] for l in r.stdout.splitlines()
                      if l.split(":")[1].strip().startswith("imp-"))

    def down(self):
        for p in self.procs:
            p.kill()
            p.wait()
        for ns in (self.world, self.host):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


class NetnsHTTPConnection(http.client.HTTPConnection):
    ns_path = None

    def connect(self):
        import socket
        self.sock = socket_in(self.ns_path, socket.AF_INET, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect((self.host, self.port))


class NetnsDaemon(Daemon):
    """The daemon in the world's "host" namespace (nsenter changes only its
    network namespace: its cgroups and mounts are the machine's)."""

    def __init__(self, world, resolvers=(RESOLVER,), extra_args=(), port=DAEMON_PORT):
        super().__init__(extra_args=extra_args)
        self.world = world
        self.fixed_port = port
        self.resolv = os.path.join(self.data_dir, "resolv.conf.test")
        with open(self.resolv, "w") as f:
            f.write("".join(f"nameserver {r}\n" for r in resolvers))

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self.port = self.fixed_port
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            ["nsenter", f"--net={self.world.ns_path()}", BIN, "serve", "--addr", f"0.0.0.0:{self.port}",
             "--auth", "none", "--data-dir", self.data_dir, "--egress-resolv-conf", self.resolv] + self.extra_args,
            stdout=self.log, stderr=subprocess.STDOUT)
        return self.wait_healthy()

    def request(self, method, path, body=None, headers=None, timeout=60):
        import json
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        conn = NetnsHTTPConnection("127.0.0.1", self.port, timeout=timeout)
        conn.ns_path = self.world.ns_path()
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return Response(r.status, r.headers, r.read())
        finally:
            conn.close()

