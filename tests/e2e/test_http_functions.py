"""HTTP-server functions (mode "http", SmolFaaS style): the function is a
plain HTTP server on port 8000 inside its sandbox; Impuls starts it, waits
for the port, forwards requests with method, path, query, headers and body,
and keeps it warm."""
import base64
import json
import subprocess

import pytest

from conftest import Daemon
from lambda_helpers import zip_bytes

PY_SERVER = r'''
import json, os
from http.server import BaseHTTPRequestHandler, HTTPServer

class H(BaseHTTPRequestHandler):
    def answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode()
        out = json.dumps({"method": self.command, "path": self.path, "body": body,
                          "thing": self.headers.get("X-Thing"), "pid": os.getpid()}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Server", "python")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    do_GET = do_POST = do_PUT = answer
    def log_message(self, *a):
        pass

HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
'''

NODE_SERVER = """
require('http').createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    res.setHeader('Set-Cookie', ['a=1', 'b=2']);
    res.end(JSON.stringify({ url: req.url, len: Buffer.concat(chunks).length }));
  });
}).listen(8000, '127.0.0.1');
"""


def via_router(d, *args):
    out = subprocess.run(["curl", "-s", "-D", "-", "--resolve", f"fn.localhost:{d.router_port}:127.0.0.1", *args],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    head, _, body = out.partition("\n\n")  # text mode: CRLF read as LF
    return head, body


def test_python_http_server_through_the_router(routed):
    f = routed.create(name="pysrv", runtime="python311", mode="http", handler="server.py", code=PY_SERVER)
    assert (f["mode"], f["handler"]) == ("http", "server.py")
    url = f"http://fn.localhost:{routed.router_port}/invoke/pysrv/items/7?x=1"
    head, body = via_router(routed, "-X", "PUT", "-H", "X-Thing: yes", "-d", "payload", url)
    assert head.startswith("HTTP/1.1 201")
    assert "x-server: python" in head.lower()
    got = json.loads(body)
    assert (got["method"], got["path"], got["body"], got["thing"]) == ("PUT", "/items/7?x=1", "payload", "yes")
    # Warm: the same server process answers the next request.
    _, body2 = via_router(routed, url)
    assert json.loads(body2)["pid"] == got["pid"] and json.loads(body2)["method"] == "GET"
    assert len(routed.instances("pysrv")) == 1


def test_node_http_server_through_the_rest_api(daemon):
    daemon.create(name="nodesrv", runtime="nodejs20", mode="http", code=NODE_SERVER)
    r = daemon.request("POST", "/api/v1/functions/nodesrv/invoke", "12345")
    assert r.status == 200 and r.json() == {"url": "/", "len": 5}
    assert r.headers.get_all("Set-Cookie") == ["a=1", "b=2"]  # one header each, as the server sent them


def test_a_server_that_never_listens_is_a_clear_502():
    d = Daemon(extra_args=["--init-timeout", "2"]).start()
    try:
        d.create(name="deaf", runtime="python311", mode="http", handler="main.py",
                 code="import time\ntime.sleep(60)")
        r = d.invoke("deaf")
        assert (r.status, r.json()["errorType"]) == (502, "Runtime.HttpServerNotReady")
        assert r.json()["errorMessage"] == "the function's server did not answer on port 8000 within 1500 ms"
    finally:
        assert d.stop() == 0
        assert d.leftovers() == []
        d.cleanup()


def test_a_server_that_crashes_is_a_502_and_comes_back(daemon):
    daemon.create(name="crashy", runtime="python311", mode="http", handler="main.py", code=PY_SERVER.replace(
        "    do_GET = do_POST = do_PUT = answer", "    do_GET = do_PUT = answer\n    def do_POST(self):\n        os._exit(3)"))
    r = daemon.request("POST", "/api/v1/functions/crashy/invoke", "x")
    assert r.status == 502 and r.json()["errorType"] in ("Runtime.HttpServerError", "Runtime.ExitError")
    r = daemon.request("POST", "/api/v1/functions/crashy/invoke", "x")
    assert r.status == 502  # every POST kills it; a new instance each time


PY_WHOAMI = """
import os, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

class H(BaseHTTPRequestHandler):
    def do_POST(self):
        out = os.path.abspath(sys.argv[0]).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

HTTPServer(("127.0.0.1", 8000), H).serve_forever()
"""

NODE_WHOAMI = """
require('http').createServer((req, res) => res.end(process.argv[1])).listen(8000, '127.0.0.1');
"""


# One rule for inline code in mode "http": the handler names the server's file,
# with the runtime's extension added when it has none; the code is written
# there and the server started from it (docs/api.md, "handler").
@pytest.mark.parametrize("runtime,handler,started", [
    ("python311", "main", "/var/task/main.py"),
    ("python311", "main.py", "/var/task/main.py"),
    ("python311", "app/server.py", "/var/task/app/server.py"),
    ("python311", "app.server.py", "/var/task/app.server.py"),
    ("nodejs20", "server", "/var/task/server.js"),
    ("nodejs20", "srv/index.js", "/var/task/srv/index.js"),
    ("nodejs20", "my-server.cjs", "/var/task/my-server.cjs"),
])
def test_inline_server_file_is_where_it_is_started(daemon, runtime, handler, started):
    code = PY_WHOAMI if runtime.startswith("python") else NODE_WHOAMI
    f = daemon.create(name="where", runtime=runtime, mode="http", handler=handler, code=code)
    assert f["handler"] == handler
    r = daemon.request("POST", "/api/v1/functions/where/invoke")
    assert (r.status, r.body.decode()) == (200, started)


def test_inline_server_moves_with_its_handler(daemon):
    # A PUT of the handler, or of the mode, writes the stored code again under the new name.
    daemon.create(name="moving", runtime="python311", handler="main.handler",
                  code="def handler(e, c):\n    return 'handler mode'\n" + PY_WHOAMI.replace(
                      'HTTPServer(', 'if __name__ == "__main__":\n    HTTPServer('))
    assert daemon.invoke("moving").json() == "handler mode"
    r = daemon.request("PUT", "/api/v1/functions/moving", {"mode": "http", "handler": "web/app"})
    assert r.status == 200, r.body
    r = daemon.request("POST", "/api/v1/functions/moving/invoke")
    assert (r.status, r.body.decode()) == (200, "/var/task/web/app.py")


def test_zip_server_named_exactly_by_its_handler(daemon):
    # A zip keeps its own names: an extensionless bin/www (express-generator's
    # layout) is what starts, not bin/www.js.
    z = base64.b64encode(zip_bytes({"bin/www": NODE_WHOAMI, "bin/www.js": "process.exit(7)"})).decode()
    daemon.create(name="www", runtime="nodejs20", mode="http", handler="bin/www", zip=z)
    r = daemon.request("POST", "/api/v1/functions/www/invoke")
    assert (r.status, r.body.decode()) == (200, "/var/task/bin/www")


def test_a_server_file_outside_the_code_is_refused(daemon):
    for handler in ("../main.py", "/etc/passwd", "a//b.py", "app/.hidden"):
        r = daemon.request("POST", "/api/v1/functions", {"name": "out", "runtime": "python311", "mode": "http",
                                                          "handler": handler, "code": "x"})
        assert r.status == 400, handler
        assert r.json()["errorMessage"] == (f"handler '{handler}': must be a relative path of letters, digits, "
                                            "'_', '-', '.', '$' and '/'")
    assert daemon.request("GET", "/api/v1/functions/out").status == 404


def test_mode_is_validated(daemon):
    r = daemon.request("POST", "/api/v1/functions", {"name": "m", "runtime": "nodejs20", "mode": "tcp", "code": "x"})
    assert (r.status, r.json()["errorMessage"]) == (400, 'mode must be "handler" or "http"')
