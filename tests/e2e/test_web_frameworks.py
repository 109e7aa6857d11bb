"""A web framework's app, unchanged, behind two widely used adapters that turn
API Gateway payload 2.0 events into its requests: an Express app wrapped by
serverless-http and by @codegenie/serverless-express (the successor of
@vendia/serverless-express), each a directory with a package.json that
`impuls up` builds (npm install in the build sandbox), called through the
router with curl. docs/compat.md, "API Gateway payload 2.0"."""
import json
import subprocess

import pytest

from conftest import running_daemon
from impuls_daemon import free_port
from up_helpers import Workspace

# The npm installs of `impuls up` are most of the time: the same under ASan
# (the router's and API Gateway's shapes are driven there by test_apigw_payload.py).
pytestmark = pytest.mark.once

# Each adapter with the Express it is known to work with. serverless-http 4
# takes Express 5. @codegenie/serverless-express 4.16 and later hand Express's
# finalhandler (its 404) a request socket without .on(), "TypeError: ee.on is
# not a function", a 500 on AWS too (CodeGenieApp/serverless-express#698);
# 4.15.0 works with Express 4 (with Express 5 it leaves JSON bodies unparsed),
# and 5.x wants Node 24.
DEPENDENCIES = {
    "serverless-http": {"express": "5.1.0", "serverless-http": "4.0.0"},
    "@codegenie/serverless-express": {"express": "4.21.2", "@codegenie/serverless-express": "4.15.0"},
}
PNG = bytes([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0xFF, 0xFE, 0x80])

APP = """
const express = require('express');
const app = express();
app.use(express.json());
app.get('/users/:id', (req, res) => res.json({ id: req.params.id, query: req.query, path: req.path }));
app.post('/items', (req, res) => res.status(201).json({ created: req.body, type: req.get('content-type') }));
app.get('/login', (req, res) => {
  res.cookie('session', 'abc', { httpOnly: true, path: '/' });
  res.cookie('theme', 'dark');
  res.cookie('seen', '1', { expires: new Date(Date.UTC(2037, 9, 21, 7, 28, 0)) });
  res.send('logged in');
});
app.get('/whoami', (req, res) => res.json({ cookie: req.get('cookie') || null }));
app.get('/download', (req, res) => res.type('image/png').send(Buffer.from(%s)));
module.exports = app;
""" % json.dumps(list(PNG))

ADAPTERS = {
    # name: (package, handler module text)
    "viaslsh": ("serverless-http",
                "const serverless = require('serverless-http');\n"
                "module.exports.handler = serverless(require('./app'), { binary: ['image/*'] });\n"),
    "viacg": ("@codegenie/serverless-express",
              "const serverlessExpress = require('@codegenie/serverless-express');\n"
              "exports.handler = serverlessExpress({ app: require('./app') });\n"),
}


def registry_reachable():
    p = subprocess.run(["npm", "view", "express@5.1.0", "version"], capture_output=True, text=True, timeout=60)
    return p.returncode == 0 and p.stdout.strip() == "5.1.0"


@pytest.fixture(scope="module")
def site():
    """One daemon with the router and both adapted apps, built by `impuls up`."""
    if not registry_reachable():
        pytest.skip("the npm registry cannot be reached from this machine")
    port = free_port()
    ws = Workspace(copy_examples=False)
    try:
        with running_daemon(["--router-addr", f"127.0.0.1:{port}"]) as d:
            d.router_port = port
            for name, (package, handler) in ADAPTERS.items():
                ws.write(f"{name}/package.json", json.dumps({
                    "name": name, "version": "1.0.0", "main": "lambda.js", "dependencies": DEPENDENCIES[package]}))
                ws.write(f"{name}/app.js", APP)
                ws.write(f"{name}/lambda.js", handler)
                ws.write(f"{name}/impuls.json", json.dumps({"runtime": "nodejs20", "mode": "handler",
                                                            "handler": "lambda.handler"}))
            code, out, err = ws.run(d, "up", timeout=900)
            assert (code, err) == (0, ""), out
            yield d
    finally:
        ws.cleanup()


def curl(d, path, *args):
    """(status, headers as [(lower name, value)], body bytes) through the router."""
    out = subprocess.run(["curl", "-sS", "-D", "-", "--resolve", f"fn.localhost:{d.router_port}:127.0.0.1",
                          *args, f"http://fn.localhost:{d.router_port}{path}"],
                         capture_output=True, timeout=60, check=True).stdout
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = [(k.strip().lower(), v.strip()) for k, _, v in (line.partition(":") for line in lines[1:])]
    return int(lines[0].split()[1]), headers, body


def values(headers, name):
    return [v for k, v in headers if k == name]


@pytest.mark.parametrize("fn", sorted(ADAPTERS))
def test_route_parameters_and_query_strings(site, fn):
    status, headers, body = curl(site, f"/invoke/{fn}/users/42?tab=posts&tag=a&tag=b&q=hello%20world")
    assert status == 200, body
    got = json.loads(body)
    assert got["id"] == "42" and got["path"] == "/users/42"
    # Express parses the raw query string; a repeated key is an array.
    assert got["query"] == {"tab": "posts", "tag": ["a", "b"], "q": "hello world"}
    assert values(headers, "content-type") == ["application/json; charset=utf-8"]


@pytest.mark.parametrize("fn", sorted(ADAPTERS))
def test_a_json_post(site, fn):
    status, _, body = curl(site, f"/invoke/{fn}/items", "-X", "POST", "-H", "Content-Type: application/json",
                           "-d", '{"name":"pen","qty":3}')
    assert status == 201, body
    assert json.loads(body) == {"created": {"name": "pen", "qty": 3}, "type": "application/json"}


@pytest.mark.parametrize("fn", sorted(ADAPTERS))
def test_several_cookies_in_one_answer_and_back(site, fn):
    status, headers, body = curl(site, f"/invoke/{fn}/login")
    assert (status, body) == (200, b"logged in")
    assert values(headers, "set-cookie") == ["session=abc; Path=/; HttpOnly", "theme=dark; Path=/",
                                             "seen=1; Path=/; Expires=Wed, 21 Oct 2037 07:28:00 GMT"]
    status, _, body = curl(site, f"/invoke/{fn}/whoami", "-H", "Cookie: session=abc; theme=dark")
    assert (status, json.loads(body)) == (200, {"cookie": "session=abc; theme=dark"})


@pytest.mark.parametrize("fn", sorted(ADAPTERS))
def test_a_binary_download(site, fn):
    status, headers, body = curl(site, f"/invoke/{fn}/download")
    assert (status, body) == (200, PNG)
    assert values(headers, "content-type") == ["image/png"]


@pytest.mark.parametrize("fn", sorted(ADAPTERS))
def test_a_404_from_the_framework(site, fn):
    status, headers, body = curl(site, f"/invoke/{fn}/nope")
    assert status == 404
    assert b"Cannot GET /nope" in body
    assert values(headers, "content-type") == ["text/html; charset=utf-8"]

