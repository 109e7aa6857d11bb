"""The Runtime API's Unix socket (docs/runtimes.md, "The Unix socket"): inside
a sandbox it listens on /run/impuls-runtime-api.sock besides 127.0.0.1:9001,
the Node runtime uses it (the Python one keeps TCP, measured faster), and
the unisolated ?local=true mode goes on over TCP. That any client reaches it
and the function cannot replace it: tests/hostile/test_hostile_runtime_api.py."""
import pytest

SOCKET = "/run/impuls-runtime-api.sock"

# What kinds of socket the runtime process (the handler runs in it) holds open.
NODE = r'''
const fs = require('fs');
const inodes = (file) => new Set(fs.readFileSync(file, 'utf8').split('\n').slice(1)
  .map((l) => l.trim().split(/\s+/)).map((f) => f[file.endsWith('unix') ? 6 : 9]).filter(Boolean));
exports.handler = async () => {
  const unix = inodes('/proc/net/unix'), tcp = inodes('/proc/net/tcp');
  const kinds = { unix: 0, tcp: 0 };
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    let t; try { t = fs.readlinkSync('/proc/self/fd/' + fd); } catch (_) { continue; }
    const m = /^socket:\[(\d+)\]$/.exec(t);
    if (m && unix.has(m[1])) kinds.unix++;
    if (m && tcp.has(m[1])) kinds.tcp++;
  }
  return { kinds, env: process.env.IMPULS_RUNTIME_API_SOCKET || null };
};
'''

PYTHON = r'''
import os, socket

def handler(event, context):
    kinds = {"unix": 0, "tcp": 0}
    peers = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            copy = os.dup(int(fd))
        except OSError:
            continue  # closed since (the listing's own fd)
        try:
            s = socket.socket(fileno=copy)
        except OSError:
            os.close(copy)
            continue  # not a socket
        with s:
            if s.family == socket.AF_UNIX:
                kinds["unix"] += 1
                peers.append(s.getpeername())
            elif s.family == socket.AF_INET:
                kinds["tcp"] += 1
    return {"kinds": kinds, "env": os.environ.get("IMPULS_RUNTIME_API_SOCKET"), "peers": peers}
'''



@pytest.mark.parametrize("runtime,handler,code,kinds", [
    ("nodejs20", "index.handler", NODE, {"unix": 1, "tcp": 0}),
    ("python311", "main.handler", PYTHON, {"unix": 0, "tcp": 1}),
], ids=["node-unix", "python-tcp"])
def test_own_runtimes_connection(daemon, runtime, handler, code, kinds):
    daemon.create(name="sock", runtime=runtime, handler=handler, code=code)
    for _ in range(2):  # the first call and a warm one
        r = daemon.invoke("sock")
        assert r.status == 200, r.text
        got = r.json()
        assert (got["kinds"], got["env"]) == (kinds, SOCKET)


def test_local_mode_goes_on_over_tcp(daemon):
    daemon.create(name="loc", runtime="python311", handler="main.handler", code=PYTHON)
    r = daemon.invoke("loc", query="?local=true")
    assert r.status == 200, r.text
    got = r.json()
    assert (got["env"], got["kinds"], got["peers"]) == (None, {"unix": 0, "tcp": 1}, [])
