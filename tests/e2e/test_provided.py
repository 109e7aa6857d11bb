"""The provided runtime (Lambda's custom runtime: /var/task/bootstrap speaks
the Runtime API; in mode "http" the handler names the server's executable),
`command` for HTTP-server functions, and version labels."""
import base64
import io
import json
import subprocess
import zipfile

import pytest

from chamber_helpers import get, start_chamber, chamber_daemon, stop_checked, delete_chamber

IPV = "InvalidParameterValueException"


def zip_b64(files):
    """A base64 zip of {name: (text, mode)}; the mode's execute bits survive."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, (data, mode) in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o100000 | mode) << 16
            z.writestr(info, data)
    return base64.b64encode(buf.getvalue()).decode()


# A shell custom runtime: curl against $AWS_LAMBDA_RUNTIME_API. An event
# holding "fail" is reported through /invocation/{id}/error.
SHELL_BOOTSTRAP = r'''#!/bin/sh
set -eu
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
while true; do
  RESP=$(curl -sS -i "$API/invocation/next" | tr -d '\r')
  ID=$(printf '%s\n' "$RESP" | sed -n 's/^[Ll]ambda-[Rr]untime-[Aa]ws-[Rr]equest-[Ii]d: //p')
  EVENT=$(printf '%s\n' "$RESP" | sed '1,/^$/d')
  case "$EVENT" in
    *fail*) curl -sS -o /dev/null -X POST "$API/invocation/$ID/error" \
              -H "Lambda-Runtime-Function-Error-Type: Unhandled" \
              -d '{"errorType":"ShellError","errorMessage":"the script failed","stackTrace":["bootstrap line 9"]}' ;;
    *) curl -sS -o /dev/null -X POST "$API/invocation/$ID/response" \
         -d "{\"handler\":\"$_HANDLER\",\"task\":\"$LAMBDA_TASK_ROOT\",\"event\":$EVENT,\"id\":\"$ID\"}" ;;
  esac
done
'''

# A provided HTTP server: a Python script run as an executable (its shebang).
PY_EXEC_SERVER = r'''#!/usr/bin/python3
import json, os, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

class H(BaseHTTPRequestHandler):
    def answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        out = json.dumps({"argv": sys.argv, "method": self.command, "path": self.path,
                          "body": self.rfile.read(n).decode(), "cwd": os.getcwd()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    do_GET = do_POST = answer
    def log_message(self, *a):
        pass

HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
'''


def test_a_shell_custom_runtime_answers_events_and_reports_errors(daemon):
    f = daemon.create(name="sh", runtime="provided.al2023", handler="my.handler",
                      zip=zip_b64({"bootstrap": (SHELL_BOOTSTRAP, 0o755)}))
    assert (f["runtime"], f["handler"], f["mode"], f["command"]) == ("provided", "my.handler", "handler", None)
    r = daemon.invoke("sh", {"x": [1, 2]})
    assert (r.status, r.headers["Content-Type"]) == (200, "application/json")
    assert r.json() == {"handler": "my.handler", "task": "/var/task", "event": {"x": [1, 2]},
                        "id": r.headers["X-Impuls-Request-Id"]}
    r = daemon.invoke("sh", {"please": "fail"})
    assert (r.status, r.headers["Content-Type"]) == (500, "application/json")
    assert r.json() == {"errorType": "ShellError", "errorMessage": "the script failed",
                        "stackTrace": ["bootstrap line 9"], "requestId": r.headers["X-Impuls-Request-Id"]}
    # The same warm runtime answers after its error.
    (inst,) = daemon.instances("sh")
    r = daemon.invoke("sh", {"again": True})
    assert r.status == 200 and r.json()["event"] == {"again": True}
    assert [i["id"] for i in daemon.instances("sh")] == [inst["id"]]


@pytest.mark.parametrize("alias", ["provided", "provided.al2", "provided.al2023"])
def test_provided_aliases_are_stored_as_provided(daemon, alias):
    f = daemon.create(name="p", runtime=alias, zip=zip_b64({"bootstrap": (SHELL_BOOTSTRAP, 0o755)}))
    assert (f["runtime"], f["handler"]) == ("provided", "bootstrap")
    r = daemon.invoke("p", {"a": 1})
    assert r.status == 200 and r.json()["handler"] == "bootstrap"


def test_inline_code_is_refused_for_provided(daemon):
    for alias in ("provided", "provided.al2"):
        r = daemon.request("POST", "/api/v1/functions", {"name": "inl", "runtime": alias, "code": "echo hi"})
        assert (r.status, r.json()) == (400, {
            "errorType": IPV, "errorMessage": "runtime 'provided' needs a zip holding its executable, not inline code"})
    assert daemon.request("GET", "/api/v1/functions").json()["count"] == 0
    # Nor can an existing function switch to provided keeping its inline code.
    daemon.create(name="js", runtime="nodejs20", code="exports.handler = async () => 1")
    r = daemon.request("PUT", "/api/v1/functions/js", {"runtime": "provided"})
    assert (r.status, r.json()) == (400, {
        "errorType": IPV, "errorMessage": "runtime 'provided' needs a zip holding its executable, not inline code"})
    assert daemon.request("GET", "/api/v1/functions/js").json()["runtime"] == "nodejs20"


def test_a_provided_http_server_through_the_router(routed):
    routed.create(name="psrv", runtime="provided", mode="http", handler="bin/server.py",
                  zip=zip_b64({"bin/server.py": (PY_EXEC_SERVER, 0o755)}))
    out = subprocess.run(["curl", "-s", "-w", "\n%{http_code}", "--resolve",
                          f"fn.localhost:{routed.router_port}:127.0.0.1", "-d", "hello",
                          f"http://fn.localhost:{routed.router_port}/invoke/psrv/a/b?c=d"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    body, _, code = out.rpartition("\n")
    assert code == "200"
    assert json.loads(body) == {"argv": ["/var/task/bin/server.py"], "method": "POST", "path": "/a/b?c=d",
                                "body": "hello", "cwd": "/var/task"}


def test_command_reaches_argv_intact(daemon):
    cmd = ["python3", "server.py", "--greeting", "hi there", "", "ünï \"quoted\" $HOME *"]
    f = daemon.create(name="cmd", runtime="python311", mode="http", handler="server.py",
                      code=PY_EXEC_SERVER, command=cmd)
    assert f["command"] == cmd
    assert daemon.request("GET", "/api/v1/functions/cmd").json()["command"] == cmd
    r = daemon.invoke("cmd")
    assert r.status == 200, r
    assert r.json()["argv"] == cmd[1:]  # Python's argv[0] is the script
    assert r.json()["cwd"] == "/var/task"


def test_command_of_a_provided_server_and_changing_it(daemon):
    daemon.create(name="pc", runtime="provided", mode="http", handler="server.py",
                  command=["./server.py", "--port-from-env"],
                  zip=zip_b64({"server.py": (PY_EXEC_SERVER, 0o755)}))
    r = daemon.invoke("pc")
    assert r.status == 200 and r.json()["argv"] == ["./server.py", "--port-from-env"]
    r = daemon.request("PUT", "/api/v1/functions/pc", {"command": ["/usr/bin/python3", "server.py", "x"]})
    assert r.status == 200 and r.json()["command"] == ["/usr/bin/python3", "server.py", "x"]
    r = daemon.invoke("pc")
    assert r.status == 200 and r.json()["argv"] == ["server.py", "x"]
    # Without a command the handler is the executable again... once the
    # function becomes a handler function the command is dropped.
    r = daemon.request("PUT", "/api/v1/functions/pc", {"mode": "handler"})
    assert r.status == 200 and (r.json()["mode"], r.json()["command"]) == ("handler", None)


def test_a_missing_executable_is_a_clear_502(daemon):
    daemon.create(name="nobin", runtime="provided", mode="http", handler="nothere",
                  zip=zip_b64({"other": ("x", 0o755)}))
    r = daemon.invoke("nobin")
    assert r.status == 502
    assert r.json() == {"errorType": "Runtime.InvalidEntrypoint",
                        "errorMessage": "cannot start the function's server \"/var/task/nothere\": spawn /var/task/nothere ENOENT",
                        "stackTrace": [], "requestId": r.headers["X-Impuls-Request-Id"]}
    log = daemon.request("GET", "/api/v1/functions/nobin/logs").text
    assert "impuls: cannot start the function's server \"/var/task/nothere\": spawn /var/task/nothere ENOENT" in log
    # A handler function without its bootstrap, and one whose bootstrap is not executable.
    daemon.create(name="noboot", runtime="provided", zip=zip_b64({"other": ("x", 0o755)}))
    daemon.create(name="noexec", runtime="provided", zip=zip_b64({"bootstrap": (SHELL_BOOTSTRAP, 0o644)}))
    for name in ("noboot", "noexec"):
        r = daemon.invoke(name)
        assert r.status == 502
        assert r.json() == {"errorType": "Runtime.InvalidEntrypoint",
                            "errorMessage": "the runtime's executable could not be started (missing or not executable; "
                                            "see the function's log)",
                            "stackTrace": [], "requestId": r.headers["X-Impuls-Request-Id"]}, name
    # A command naming a program that does not exist.
    daemon.create(name="nocmd", runtime="python311", mode="http", handler="server.py", code=PY_EXEC_SERVER,
                  command=["no-such-program", "x"])
    r = daemon.invoke("nocmd")
    assert (r.status, r.json()["errorType"], r.json()["errorMessage"]) == (
        502, "Runtime.InvalidEntrypoint",
        "cannot start the function's server \"no-such-program\": spawn no-such-program ENOENT")


# --- version labels ----------------------------------------------------------

GOOD_LABELS = ["1.0.0", "v2", "1.0.0+build.5", "a_b-c", "A", "0x", "1.0", "x" * 64, "1-rc.1"]


@pytest.mark.parametrize("label", GOOD_LABELS)
def test_good_version_labels(daemon, label):
    f = daemon.create(name="lab", runtime="nodejs20", code="exports.handler = async () => 1", version_label=label)
    assert f["version_label"] == label
    assert daemon.request("GET", "/api/v1/functions/lab").json()["version_label"] == label


LABEL_MSG = ("version_label must be 1 to 64 letters, digits, '.', '_', '+' or '-', "
             "start with a letter or digit and not be a number")
BAD_LABELS = ["", "123", "0", ".1", "-a", "_a", "+a", "a b", "a/b", "a\nb", "x" * 65, "é", "a%2F",
              1, 1.5, True, None, [], {}]


@pytest.mark.parametrize("label", BAD_LABELS, ids=[repr(x)[:20] for x in BAD_LABELS])
def test_bad_version_labels(daemon, label):
    r = daemon.request("POST", "/api/v1/functions", {"name": "lab", "runtime": "nodejs20", "code": "x",
                                                     "version_label": label})
    assert (r.status, r.json()) == (400, {"errorType": IPV, "errorMessage": LABEL_MSG})
    assert daemon.request("GET", "/api/v1/functions/lab").status == 404


def test_versions_show_labels_and_an_update_without_one_has_none(daemon):
    daemon.create(name="v", runtime="nodejs20", code="exports.handler = async () => 1", version_label="1.0.0")
    r = daemon.request("PUT", "/api/v1/functions/v", {"code": "exports.handler = async () => 2",
                                                      "version_label": "2.0.0"})
    assert r.status == 200 and (r.json()["version"], r.json()["version_label"]) == (2, "2.0.0")
    r = daemon.request("PUT", "/api/v1/functions/v", {"memory_mb": 256})
    assert r.status == 200 and (r.json()["version"], r.json()["version_label"]) == (3, None)
    vs = daemon.request("GET", "/api/v1/functions/v/versions").json()
    assert vs["count"] == 3
    assert [(x["version"], x["version_label"]) for x in vs["versions"]] == [(1, "1.0.0"), (2, "2.0.0"), (3, None)]
    assert daemon.request("GET", "/api/v1/functions/v").json()["version_label"] is None
    assert daemon.invoke("v").body == b"2"


def test_a_label_names_one_version_for_good(daemon):
    """A label already on a version is refused (409) and nothing changes."""
    daemon.create(name="re", runtime="nodejs20", version_label="stable",
                  code="exports.handler = async () => ({statusCode: 200, body: 'one'})")
    r = daemon.request("PUT", "/api/v1/functions/re", {"version_label": "stable",
                                                       "code": "exports.handler = async () => ({statusCode: 200, body: 'two'})"})
    assert (r.status, r.json()) == (409, {"errorType": "ResourceConflictException",
                                          "errorMessage": "version_label 'stable' already names version 1 of re"})
    f = daemon.request("GET", "/api/v1/functions/re").json()
    assert (f["version"], f["version_label"]) == (1, "stable")
    assert daemon.invoke("re").body == b"one"
    assert daemon.request("GET", "/api/v1/functions/re/versions").json()["count"] == 1


def test_a_label_wins_over_a_number_and_a_dotted_label_is_not_a_number():
    d = chamber_daemon(3)
    try:
        body = "exports.handler = async () => ({statusCode: 200, body: 'v%d'})"
        d.create(name="n", runtime="nodejs20", code=body % 1)
        for v in (2, 3):
            r = d.request("PUT", "/api/v1/functions/n", {"code": body % v, "version_label": "1.0" if v == 2 else "v3"})
            assert r.status == 200
        # "1.0" is the label of version 2, not version 1.
        c = start_chamber(d, "n", "1.0")
        assert get(c["port"])[2] == b"v2"
        # All digits: the number.
        c1 = start_chamber(d, "n", "1")
        assert get(c1["port"])[2] == b"v1"
        r = d.request("POST", "/chambers", {"app": "n", "version": "1.0.0"})
        assert (r.status, r.json()) == (404, {
            "errorType": "ResourceNotFoundException",
            "errorMessage": "function 'n' has no version '1.0.0' (see GET /api/v1/functions/n/versions)"})
        for x in (c, c1):
            delete_chamber(d, x["id"])
    finally:
        stop_checked(d)
