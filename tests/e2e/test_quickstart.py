"""The original Impuls README's examples, verbatim, against the real daemon."""
import subprocess

from conftest import NODE_HELLO


def curl(*args):
    out = subprocess.run(["curl", "-s", "-w", "\n%{http_code}", *args],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    body, _, code = out.rpartition("\n")
    return int(code), body


def test_readme_curl_commands_verbatim(daemon):
    port = daemon.port
    code, body = curl("-X", "POST", f"http://localhost:{port}/api/v1/functions",
                      "-H", "Content-Type: application/json",
                      "-d", """{
    "name": "hello-world",
    "runtime": "nodejs20",
    "handler": "index.handler",
    "code": "exports.handler = async (event) => { return { statusCode: 200, body: \\"Hello from Impuls!\\" }; }"
  }""")
    assert code == 201, body
    code, body = curl("-X", "POST",
                      f"http://localhost:{port}/api/v1/functions/hello-world/invoke?local=true",
                      "-H", "Content-Type: application/json", "-d", '{"name": "World"}')
    assert (code, body) == (200, "Hello from Impuls!")
    # The same call without ?local=true runs in the sandbox.
    code, body = curl("-X", "POST", f"http://localhost:{port}/api/v1/functions/hello-world/invoke",
                      "-H", "Content-Type: application/json", "-d", '{"name": "World"}')
    assert (code, body) == (200, "Hello from Impuls!")


def test_readme_python_example(daemon):
    port = daemon.port
    code, body = curl("-X", "POST", f"http://localhost:{port}/api/v1/functions",
                      "-H", "Content-Type: application/json",
                      "-d", """{
       "name": "python-test",
       "runtime": "python39",
       "handler": "handler",
       "code": "def handler(event, context):\\n    return {\\"message\\": \\"Hello from Python!\\"}"
     }""")
    assert code == 201, body
    for query in ("?local=true", ""):
        code, body = curl("-X", "POST",
                          f"http://localhost:{port}/api/v1/functions/python-test/invoke{query}",
                          "-H", "Content-Type: application/json", "-d", "{}")
        assert (code, body) == (200, '{"message": "Hello from Python!"}')


def test_design_quickstart_greets_by_name(daemon):
    daemon.create(name="hello", runtime="nodejs20", handler="index.handler",
                  code="exports.handler = async (e) => ({statusCode:200, body:`Hi ${e.name}`})")
    r = daemon.invoke("hello", {"name": "World"})
    assert (r.status, r.text) == (200, "Hi World")
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert len(r.headers["X-Impuls-Request-Id"]) == 36
    assert float(r.headers["X-Impuls-Duration-Ms"]) >= 0


def test_node_hello_constant_matches_readme(daemon):
    daemon.create(name="h", runtime="nodejs18", handler="index.handler", code=NODE_HELLO)
    assert daemon.invoke("h", {}).text == "Hello from Impuls!"
