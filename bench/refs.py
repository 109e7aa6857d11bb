"""The reference servers the warm benchmarks compare Impuls with, each serving
the same hello on a free port of 127.0.0.1:

  node     bench/ref/node_server.js: Node's http module calling hello.js
  python   bench/ref/py_server.py: http.server calling hello.py
  workerd  bench/ref/workerd.capnp + worker.mjs: hello.js as a Cloudflare worker
           (the npm package `workerd`, installed in bench/ by run.sh)
  nginx    `return 200 "Hello from Impuls!"` from a generated config, with its
           own prefix, pid file and error log in a temporary directory

Each runs in a process group of its own; leaving the `with` block stops the
group (SIGTERM, then SIGKILL) and removes its temporary directory, also on
error. A server counts as up once it answers a POST with 200."""
import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from impuls_daemon import free_port

HERE = os.path.dirname(os.path.abspath(__file__))
REF = os.path.join(HERE, "ref")
HELLO = b"Hello from Impuls!"
EVENT = b'{"name":"World"}'
REQUEST = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
           b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(EVENT), EVENT))
START_TIMEOUT = 30  # s


def answers(port, timeout=1.0):
    """True when a POST of the event to 127.0.0.1:port gets 200 and the hello."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(REQUEST)
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
    except OSError:
        return False
    return data.startswith(b"HTTP/1.1 200") and HELLO in data  # Node answers chunked


def stop_group(proc, timeout=5):
    """SIGTERM to the process group, SIGKILL to what is left after `timeout`."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    try:  # workers a master left behind, or the master itself
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


class Server:
    def __init__(self, name, cmd, port, cwd=None, tmp=None):
        self.name, self.cmd, self.port, self.cwd = name, cmd, port, cwd
        self.tmp = tmp or tempfile.mkdtemp(prefix=f"impuls-bench-{name}-")
        self.log_path = os.path.join(self.tmp, "output.log")
        self.proc = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/"

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-2000:].decode(errors="replace")
        except OSError:
            return ""

    def __enter__(self):
        try:
            with open(self.log_path, "wb") as log:
                self.proc = subprocess.Popen(self.cmd, cwd=self.cwd, stdin=subprocess.DEVNULL, stdout=log,
                                             stderr=subprocess.STDOUT, start_new_session=True)
            deadline = time.monotonic() + START_TIMEOUT
            while not answers(self.port):
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {self.proc.returncode}: {self.log()}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.name} did not answer within {START_TIMEOUT} s: {self.log()}")
                time.sleep(0.02)
            return self
        except BaseException:
            self.__exit__()
            raise

    def __exit__(self, *exc):
        if self.proc:
            stop_group(self.proc)
        shutil.rmtree(self.tmp, ignore_errors=True)


def node():
    port = free_port()
    return Server("node", ["/usr/bin/node", "node_server.js", str(port)], port, cwd=REF)


def python():
    port = free_port()
    return Server("python", ["/usr/bin/python3", "py_server.py", str(port)], port, cwd=REF)


def workerd_bin():
    """The workerd executable of bench/node_modules (the npm package's own
    resolution of its platform binary)."""
    if not os.path.isdir(os.path.join(HERE, "node_modules", "workerd")):
        raise RuntimeError("bench/node_modules/workerd is missing: run `npm ci` in bench/ (bench/run.sh does)")
    out = subprocess.run(["/usr/bin/node", "-e", "process.stdout.write(require('workerd').default)"],
                         cwd=HERE, capture_output=True, text=True, timeout=30, check=True)
    return out.stdout


def workerd_version(binary):
    return subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()


def workerd_cmd(binary, port):
    return [binary, "serve", os.path.join(REF, "workerd.capnp"), "--socket-addr", f"http=127.0.0.1:{port}"]


def workerd(binary):
    port = free_port()
    return Server("workerd", workerd_cmd(binary, port), port, cwd=REF)


# What every nginx of the benchmarks shares: one process group of its own,
# files in its temp dir, no logs, long keep-alive. The caller adds the server.
NGINX_HEAD = """\
{user}daemon off;
worker_processes {workers};
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    keepalive_requests 10000000;
"""

NGINX_CONF = "# Generated by bench/refs.py: the native reference, nginx answering the hello itself.\n" + NGINX_HEAD + """\
    server {{
        listen 127.0.0.1:{port};
        location / {{
            default_type "text/plain; charset=utf-8";
            return 200 "Hello from Impuls!";
        }}
    }}
}}
"""


def nginx_user():
    """As root, nginx would switch its workers to `nobody`: keep the current user."""
    return (f"user {pwd.getpwuid(os.geteuid()).pw_name} {grp.getgrgid(os.getgid()).gr_name};\n"
            if os.geteuid() == 0 else "")


def nginx(workers):
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="impuls-bench-nginx-")
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(user=nginx_user(), workers=workers, tmp=tmp, port=port))
    return Server("nginx", ["nginx", "-p", tmp, "-c", conf, "-e", os.path.join(tmp, "error.log")],
                  port, tmp=tmp)


def start_to_first_response(cmd_for_port, runs):
    """ms from spawning the server to its first 200, polling with the request
    every 0.5 ms until it answers; the server is stopped after each run."""
    xs = []
    for _ in range(runs):
        port = free_port()
        with tempfile.TemporaryFile() as log:
            t = time.perf_counter()
            proc = subprocess.Popen(cmd_for_port(port), cwd=REF, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
            try:
                deadline = time.monotonic() + START_TIMEOUT
                while not answers(port):
                    if proc.poll() is not None or time.monotonic() > deadline:
                        log.seek(0)
                        raise RuntimeError(f"{cmd_for_port(port)[0]} never answered (exit {proc.poll()}): "
                                           f"{log.read()[-2000:].decode(errors='replace')}")
                    time.sleep(0.0005)
                xs.append((time.perf_counter() - t) * 1000)
            finally:
                stop_group(proc)
    return xs
