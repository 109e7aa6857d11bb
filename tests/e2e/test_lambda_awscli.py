"""The AWS Lambda API driven by the real awscli (Debian's /usr/bin/aws):
create, list, get, configuration, invoke (RequestResponse, Tail logs,
function errors, timeouts, Event with retries, DryRun), updates, delete,
Lambda's errors as awscli reports them (exit code 254, the exact message),
throttling, a provided.al2023 shell runtime, and functions shared with the
REST API. Plain curl works too, unsigned, when the daemon has no
--aws-credentials."""
import base64
import json
import re
import subprocess
import threading
import time

import pytest

from conftest import running_daemon
from lambda_helpers import (L, NODE_ALWAYS_FAILS, NODE_SRC, NODE_ZIP, NODE_ZIP_V2, PY_ZIP, SHELL_ZIP, arn,
                            aws, aws_create, aws_error, aws_invoke, aws_ok, check_config, config, fn_log,
                            lambda_error, not_found, wait_log, zip_bytes)

# The tests that run awscli are marked once (not again under ASan): its own start is most
# of their time; under ASan the Lambda API's routes are driven by the curl test here,
# tests/badinput/test_bad_lambda.py and test_lambda_sdk.py.
CLIENT_ERROR = 254  # awscli's exit code for an error the service answered


@pytest.fixture
def zips(tmp_path):
    out = {}
    for name, data in (("node", NODE_ZIP), ("node2", NODE_ZIP_V2), ("py", PY_ZIP), ("shell", SHELL_ZIP),
                       ("fails", zip_bytes({"index.js": NODE_ALWAYS_FAILS}))):
        p = tmp_path / f"{name}.zip"
        p.write_bytes(data)
        out[name] = p
    return out


def tail_lines(meta):
    return base64.b64decode(meta["LogResult"]).decode().splitlines()


def check_tail(lines, own_output, memory=128):
    """START, the function's own lines, END, REPORT of one request id."""
    m = re.fullmatch(r"START RequestId: ([0-9a-f-]{36}) Version: \$LATEST", lines[0])
    assert m, lines
    rid = m.group(1)
    assert lines[1:-2] == own_output
    assert lines[-2] == f"END RequestId: {rid}"
    assert re.fullmatch(rf"REPORT RequestId: {rid}\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\t"
                        rf"Memory Size: {memory} MB\tMax Memory Used: \d+ MB(\tInit Duration: \d+\.\d\d ms)?",
                        lines[-1]), lines[-1]
    return rid


@pytest.mark.once  # awscli's own start (about a second a command) is most of its time
def test_create_list_get_invoke_node_and_python(daemon, zips, tmp_path):
    node = aws_create(daemon, "hello-node", "nodejs20.x", "index.handler", zips["node"],
                      "--environment", "Variables={GREETING=hi,OTHER=x y}", "--description", "a node function",
                      "--memory-size", "256", "--publish", "--tags", "team=a")
    want_node = config("hello-node", "nodejs20.x", "index.handler", NODE_ZIP, memory=256,
                       description="a node function", env={"GREETING": "hi", "OTHER": "x y"})
    check_config(node, want_node)
    py = aws_create(daemon, "hello-py", "python3.11", "app.handler", zips["py"])
    want_py = config("hello-py", "python3.11", "app.handler", PY_ZIP)
    check_config(py, want_py)
    assert len(NODE_ZIP) != len(PY_ZIP)

    # list-functions: both, as created (the daemon answers one page).
    listed = aws_ok(daemon, "list-functions")
    assert sorted(f["FunctionName"] for f in listed["Functions"]) == ["hello-node", "hello-py"]
    assert set(listed) == {"Functions"}
    by_name = {f["FunctionName"]: f for f in listed["Functions"]}
    assert by_name == {"hello-node": node, "hello-py": py}

    # get-function by name and by ARN; get-function-configuration.
    for ident in ("hello-node", arn("hello-node"), f"000000000000:function:hello-node", "hello-node:$LATEST",
                  arn("hello-node") + ":$LATEST"):
        got = aws_ok(daemon, "get-function", "--function-name", ident)
        assert got == {"Configuration": node, "Code": {
            "RepositoryType": "S3",
            "Location": f"http://127.0.0.1:{daemon.port}/api/v1/functions/hello-node?code=true"},
            "Tags": {"impuls:isolation": "namespace", "impuls:network": "none"}}, ident
        assert aws_ok(daemon, "get-function-configuration", "--function-name", ident) == node
    assert aws_ok(daemon, "get-function-configuration", "--function-name", arn("hello-py")) == py

    # invoke with a payload and Tail logs.
    meta, payload = aws_invoke(daemon, "hello-node", '{"name": "World", "n": [1, 2]}', tmp_path / "o1.json",
                               "--log-type", "Tail")
    assert json.loads(payload) == {"node": {"name": "World", "n": [1, 2]}, "greeting": "hi", "fn": "hello-node"}
    assert payload == b'{"node":{"name":"World","n":[1,2]},"greeting":"hi","fn":"hello-node"}'
    assert set(meta) == {"StatusCode", "LogResult", "ExecutedVersion"}
    assert (meta["StatusCode"], meta["ExecutedVersion"]) == (200, "$LATEST")
    check_tail(tail_lines(meta), ['node log {"name":"World","n":[1,2]}'], memory=256)

    meta, payload = aws_invoke(daemon, arn("hello-py"), '[1, "two"]', tmp_path / "o2.json", "--log-type", "Tail")
    assert payload == b'{"py": [1, "two"], "greeting": null, "fn": "hello-py"}'
    check_tail(tail_lines(meta), ['py log [1, "two"]'])
    # No payload: the event is {}; no Tail: no LogResult.
    meta, payload = aws_invoke(daemon, "hello-py", None, tmp_path / "o3.json")
    assert (meta, payload) == ({"StatusCode": 200, "ExecutedVersion": "$LATEST"},
                               b'{"py": {}, "greeting": null, "fn": "hello-py"}')
    # A string and a number are JSON too.
    meta, payload = aws_invoke(daemon, "hello-py", '"just a string"', tmp_path / "o4.json")
    assert payload == b'{"py": "just a string", "greeting": null, "fn": "hello-py"}'


@pytest.mark.once  # awscli's own start (about a second a command) is most of its time
def test_function_errors_come_back_as_unhandled(daemon, zips, tmp_path):
    aws_create(daemon, "en", "nodejs20.x", "index.handler", zips["node"])
    aws_create(daemon, "ep", "python3.9", "app.handler", zips["py"])
    meta, payload = aws_invoke(daemon, "en", '{"fail": "x"}', tmp_path / "e1.json", "--log-type", "Tail")
    assert set(meta) == {"StatusCode", "FunctionError", "LogResult", "ExecutedVersion"}
    assert (meta["StatusCode"], meta["FunctionError"], meta["ExecutedVersion"]) == (200, "Unhandled", "$LATEST")
    err = json.loads(payload)
    assert (set(err), err["errorType"], err["errorMessage"]) == ({"errorType", "errorMessage", "stackTrace"},
                                                                "Error", "boom x")
    assert err["stackTrace"][:2] == ["Error: boom x", "    at exports.handler (/var/task/index.js:3:25)"]
    lines = tail_lines(meta)
    assert lines[1:3] == ['node log {"fail":"x"}', "Error: boom x"]
    meta, payload = aws_invoke(daemon, "ep", '{"fail": "y"}', tmp_path / "e2.json")
    assert meta == {"StatusCode": 200, "FunctionError": "Unhandled", "ExecutedVersion": "$LATEST"}
    err = json.loads(payload)
    assert (err["errorType"], err["errorMessage"]) == ("ValueError", "bad y")
    assert set(err) == {"errorType", "errorMessage", "stackTrace"} and isinstance(err["stackTrace"], list)
    # The same warm function answers normally afterwards.
    meta, payload = aws_invoke(daemon, "ep", '{"ok": 1}', tmp_path / "e3.json")
    assert (meta, payload) == ({"StatusCode": 200, "ExecutedVersion": "$LATEST"},
                               b'{"py": {"ok": 1}, "greeting": null, "fn": "ep"}')


@pytest.mark.once  # awscli's own start (about a second a command) is most of its time
def test_a_timeout_is_sandbox_timedout(daemon, zips, tmp_path):
    f = aws_create(daemon, "sl", "python3.11", "app.handler", zips["py"], "--timeout", "1")
    assert f["Timeout"] == 1
    t = time.monotonic()
    meta, payload = aws_invoke(daemon, "sl", '{"sleep": 5}', tmp_path / "t.json")
    took = time.monotonic() - t
    assert meta == {"StatusCode": 200, "FunctionError": "Unhandled", "ExecutedVersion": "$LATEST"}
    assert json.loads(payload) == {"errorType": "Sandbox.Timedout", "errorMessage": "Task timed out after 1.00 seconds",
                                   "stackTrace": []}
    assert took < 4.5, took
    # The next call gets a fresh instance and answers.
    meta, payload = aws_invoke(daemon, "sl", '{"sleep": 0}', tmp_path / "t2.json")
    assert payload == b'{"py": {"sleep": 0}, "greeting": null, "fn": "sl"}'


@pytest.mark.once  # awscli's own start (about a second a command) is most of its time
def test_update_code_and_configuration(daemon, zips, tmp_path):
    first = aws_create(daemon, "up", "nodejs20.x", "index.handler", zips["node"])
    lm1, rev1 = check_config(first, config("up", "nodejs20.x", "index.handler", NODE_ZIP))
    time.sleep(0.01)
    code = aws_ok(daemon, "update-function-code", "--function-name", "up", "--zip-file", f"fileb://{zips['node2']}")
    lm2, rev2 = check_config(code, config("up", "nodejs20.x", "index.handler", NODE_ZIP_V2))
    assert code["CodeSha256"] != first["CodeSha256"] and rev2 != rev1 and lm2 > lm1
    _, payload = aws_invoke(daemon, "up", '{"a": 1}', tmp_path / "u1.json")
    assert payload == b'{"version":2,"event":{"a":1}}'

    # Configuration: a Python function's handler, memory, timeout, env, description.
    aws_create(daemon, "cfg", "python3.11", "app.handler", zips["py"])
    got = aws_ok(daemon, "update-function-configuration", "--function-name", arn("cfg"), "--memory-size", "512",
                 "--timeout", "20", "--environment", "Variables={GREETING=hello}", "--description", "changed",
                 "--handler", "app.other")
    want = config("cfg", "python3.11", "app.other", PY_ZIP, memory=512, timeout=20, description="changed",
                  env={"GREETING": "hello"})
    check_config(got, want)
    assert aws_ok(daemon, "get-function-configuration", "--function-name", "cfg") == got
    _, payload = aws_invoke(daemon, "cfg", '{"b": 2}', tmp_path / "u2.json")
    assert payload == b'{"other": {"b": 2}, "greeting": "hello"}'
    # Changing only the runtime keeps the rest.
    got = aws_ok(daemon, "update-function-configuration", "--function-name", "cfg", "--runtime", "python3.9")
    check_config(got, dict(want, Runtime="python3.9"))
    # The REST API sees the same function.
    r = daemon.request("GET", "/api/v1/functions/cfg").json()
    assert (r["runtime"], r["handler"], r["memory_mb"], r["timeout_s"], r["env"], r["description"], r["version"]) == (
        "python39", "app.other", 512, 20, {"GREETING": "hello"}, "changed", 3)


@pytest.mark.once  # awscli's own start (about a second a command) is most of its time
def test_delete_then_not_found_and_errors_as_awscli_reports_them(daemon, zips):
    aws_create(daemon, "gone", "nodejs18.x", "index.handler", zips["node"])
    rc, out, err = aws(daemon, "create-function", "--function-name", "gone", "--runtime", "nodejs18.x",
                       "--handler", "index.handler", "--zip-file", f"fileb://{zips['node']}", "--role", "r")
    assert (rc, out, err) == (CLIENT_ERROR, "", aws_error("CreateFunction", "ResourceConflictException",
                                                          "function 'gone' already exists"))
    rc, out, err = aws(daemon, "create-function", "--function-name", "rb", "--runtime", "ruby3.2",
                       "--handler", "index.handler", "--zip-file", f"fileb://{zips['node']}", "--role", "r")
    assert (rc, out, err) == (CLIENT_ERROR, "", aws_error(
        "CreateFunction", "InvalidParameterValueException", "unknown runtime 'ruby3.2' (see GET /api/v1/runtimes)"))
    assert aws(daemon, "delete-function", "--function-name", arn("gone")) == (0, "", "")
    for op, args in (("GetFunction", ["get-function"]), ("GetFunctionConfiguration", ["get-function-configuration"]),
                     ("DeleteFunction", ["delete-function"]),
                     ("UpdateFunctionConfiguration", ["update-function-configuration", "--timeout", "5"]),
                     ("UpdateFunctionCode", ["update-function-code", "--zip-file", f"fileb://{zips['node']}"])):
        rc, out, err = aws(daemon, *args, "--function-name", "gone")
        assert (rc, out, err) == (CLIENT_ERROR, "", aws_error(op, "ResourceNotFoundException", not_found("gone"))), op
    rc, out, err = aws(daemon, "invoke", "--function-name", "gone", "/dev/null")
    assert (rc, out, err) == (CLIENT_ERROR, "", aws_error("Invoke", "ResourceNotFoundException", not_found("gone")))
    assert aws_ok(daemon, "list-functions") == {"Functions": []}
    assert daemon.request("GET", "/api/v1/functions/gone").status == 404


@pytest.mark.once  # awscli's own start (about a second a command) is most of its time
def test_not_found_by_arn_names_the_function_once(daemon):
    rc, out, err = aws(daemon, "get-function", "--function-name", arn("nope"))
    assert (rc, out, err) == (CLIENT_ERROR, "", aws_error("GetFunction", "ResourceNotFoundException",
                                                          not_found("nope")))


@pytest.mark.once  # awscli's own start (about a second a command) is most of its time
def test_an_unknown_qualifier_is_not_found(daemon, zips, tmp_path):
    aws_create(daemon, "q", "nodejs20.x", "index.handler", zips["node"])
    rc, out, err = aws(daemon, "get-function-configuration", "--function-name", "q", "--qualifier", "7")
    assert (rc, out, err) == (CLIENT_ERROR, "", aws_error("GetFunctionConfiguration", "ResourceNotFoundException",
                                                          not_found("q") + ":7"))


@pytest.mark.once  # awscli's own start (about a second a command) is most of its time
def test_event_invocation_runs_later(daemon, zips, tmp_path):
    aws_create(daemon, "ev", "python3.11", "app.handler", zips["py"])
    rc, out, err = aws(daemon, "invoke", "--function-name", "ev", "--invocation-type", "Event",
                       "--cli-binary-format", "raw-in-base64-out", "--payload", '{"async": true}',
                       str(tmp_path / "ev.json"))
    assert (rc, out, err) == (0, {"StatusCode": 202}, "")
    assert (tmp_path / "ev.json").read_bytes() == b""
    log = wait_log(daemon, "ev", "END RequestId:")
    assert 'py log {"async": true}\n' in log
    assert log.count("START RequestId:") == 1 and "[impuls]" not in log


@pytest.mark.once  # awscli's own start (about a second a command) is most of its time
def test_a_failing_event_is_retried_twice_then_kept_as_a_dead_letter(daemon, zips, tmp_path):
    aws_create(daemon, "evf", "nodejs20.x", "index.handler", zips["fails"])
    t0 = time.monotonic()
    rc, out, err = aws(daemon, "invoke", "--function-name", "evf", "--invocation-type", "Event",
                       "--cli-binary-format", "raw-in-base64-out", "--payload", '{"n": 1}',
                       str(tmp_path / "evf.json"))
    assert (rc, out, err) == (0, {"StatusCode": 202}, "")
    log = wait_log(daemon, "evf", "after 3 attempts; kept as a dead letter", timeout=20)
    took = time.monotonic() - t0
    assert 3.0 <= took < 10, took
    # Every attempt under the event's one request id, as Lambda's (a function dedupes by it).
    ids = re.findall(r"START RequestId: ([0-9a-f-]{36})", log)
    assert len(ids) == 3 and len(set(ids)) == 1
    notes = [l for l in log.splitlines() if l.startswith("[impuls]")]
    assert notes == [f"[impuls] async invocation {ids[0]} failed (HTTP 200); attempt 2 in 1 s",
                     f"[impuls] async invocation {ids[0]} failed (HTTP 200); attempt 3 in 2 s",
                     f"[impuls] async invocation {ids[0]} failed (HTTP 200) after 3 attempts; kept as a dead letter"]
    (letter,) = daemon.request("GET", "/api/v1/functions/evf/dead-letters").json()["dead_letters"]
    assert (letter["id"], letter["condition"], letter["attempts"], letter["event"]) == (ids[0], "RetriesExhausted", 3,
                                                                                        {"n": 1})
    # No fourth attempt.
    time.sleep(3.5)
    assert fn_log(daemon, "evf").count("START RequestId:") == 3


@pytest.mark.once  # awscli's own start (about a second a command) is most of its time
def test_every_retry_of_an_event_gets_the_same_payload(daemon, zips, tmp_path):
    aws_create(daemon, "evp", "nodejs20.x", "index.handler", zips["node"])
    rc, out, err = aws(daemon, "invoke", "--function-name", "evp", "--invocation-type", "Event",
                       "--cli-binary-format", "raw-in-base64-out", "--payload", '{"fail": "again", "k": [1, 2]}',
                       str(tmp_path / "evp.json"))
    assert (rc, out, err) == (0, {"StatusCode": 202}, "")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and fn_log(daemon, "evp").count("END RequestId:") < 3:
        time.sleep(0.05)
    log = fn_log(daemon, "evp")
    assert [l for l in log.splitlines() if l.startswith("node log")] == ['node log {"fail":"again","k":[1,2]}'] * 3
    assert "after 3 attempts; kept as a dead letter" in log


@pytest.mark.once  # awscli's own start (about a second a command) is most of its time
def test_dry_run(daemon, zips, tmp_path):
    aws_create(daemon, "dr", "nodejs20.x", "index.handler", zips["node"])
    rc, out, err = aws(daemon, "invoke", "--function-name", "dr", "--invocation-type", "DryRun",
                       "--cli-binary-format", "raw-in-base64-out", "--payload", '{"x": 1}', str(tmp_path / "dr.json"))
    assert (rc, out, err) == (0, {"StatusCode": 204}, "")
    assert (tmp_path / "dr.json").read_bytes() == b""
    assert fn_log(daemon, "dr") == ""
    assert daemon.instances("dr") == []


@pytest.mark.once  # awscli's own start (about a second a command) is most of its time
def test_throttled_when_the_queue_is_full(zips, tmp_path):
    with running_daemon(["--queue-max", "1"]) as d:
        aws_create(d, "th", "python3.11", "app.handler", zips["py"], "--timeout", "20")
        r = d.request("PUT", "/api/v1/functions/th", {"concurrency": 1})
        assert r.status == 200 and r.json()["concurrency"] == 1
        # Warm: the one instance exists, so the first slow call runs at once.
        aws_invoke(d, "th", '{"sleep": 0}', tmp_path / "w.json")
        env = {"AWS_MAX_ATTEMPTS": "1", "AWS_RETRY_MODE": "standard"}
        results = [None] * 3

        def call(i):
            results[i] = aws(d, "invoke", "--function-name", "th", "--cli-binary-format", "raw-in-base64-out",
                             "--payload", json.dumps({"sleep": 2.5, "i": i}), str(tmp_path / f"th{i}.json"), env=env)

        threads = []
        for i in range(3):  # running, queued, refused: started in that order
            threads.append(threading.Thread(target=call, args=(i,)))
            threads[-1].start()
            time.sleep(0.8)
        for t in threads:
            t.join(60)
        ok = {"StatusCode": 200, "ExecutedVersion": "$LATEST"}
        assert results[0] == (0, ok, "") and results[1] == (0, ok, ""), results
        assert results[2] == (CLIENT_ERROR, "", "\nAn error occurred (TooManyRequestsException) when calling the "
                              "Invoke operation (reached max retries: 0): the function is at its concurrency limit "
                              "and its queue is full\n"), results[2]
        for i in range(2):
            assert json.loads((tmp_path / f"th{i}.json").read_bytes()) == {
                "py": {"sleep": 2.5, "i": i}, "greeting": None, "fn": "th"}


@pytest.mark.once  # awscli's own start (about a second a command) is most of its time
def test_a_provided_al2023_shell_runtime(daemon, zips, tmp_path):
    f = aws_create(daemon, "sh", "provided.al2023", "my.handler", zips["shell"])
    check_config(f, config("sh", "provided.al2023", "my.handler", SHELL_ZIP))
    meta, payload = aws_invoke(daemon, "sh", '{"x": [1, 2]}', tmp_path / "s1.json", "--log-type", "Tail")
    got = json.loads(payload)
    assert got == {"handler": "my.handler", "fn": "sh", "event": {"x": [1, 2]}, "id": got["id"]}
    rid = check_tail(tail_lines(meta), ['shell got {"x": [1, 2]}'])
    assert got["id"] == rid
    meta, payload = aws_invoke(daemon, "sh", '{"please": "fail"}', tmp_path / "s2.json")
    assert meta == {"StatusCode": 200, "FunctionError": "Unhandled", "ExecutedVersion": "$LATEST"}
    assert json.loads(payload) == {"errorType": "ShellError", "errorMessage": "the script failed",
                                   "stackTrace": ["bootstrap"]}


@pytest.mark.once  # awscli's own start (about a second a command) is most of its time
def test_rest_and_lambda_functions_are_the_same(daemon, zips, tmp_path):
    # Made through REST (inline code), seen and invoked through awscli.
    src = "def handler(event, context):\n    return {'rest': event}\n"
    daemon.create(name="rest-made", runtime="python311", handler="index.handler", code=src,
                  env={"A": "1"}, memory_mb=192, description="from REST")
    got = aws_ok(daemon, "get-function-configuration", "--function-name", "rest-made")
    check_config(got, config("rest-made", "python3.11", "index.handler", src.encode(), memory=192, timeout=30,
                             description="from REST", env={"A": "1"}))
    _, payload = aws_invoke(daemon, "rest-made", '{"q": 1}', tmp_path / "r1.json")
    assert payload == b'{"rest": {"q": 1}}'
    # Made through awscli, seen, changed and invoked through REST.
    aws_create(daemon, "cli-made", "nodejs20.x", "index.handler", zips["node"], "--description", "from awscli")
    r = daemon.request("GET", "/api/v1/functions/cli-made").json()
    assert (r["runtime"], r["handler"], r["timeout_s"], r["memory_mb"], r["description"], r["code_kind"],
            r["code_size"], r["version"]) == ("nodejs20", "index.handler", 3, 128, "from awscli", "zip",
                                              len(NODE_ZIP), 1)
    r = daemon.invoke("cli-made", {"via": "rest"})
    assert (r.status, r.json()) == (200, {"node": {"via": "rest"}, "greeting": None, "fn": "cli-made"})
    r = daemon.request("PUT", "/api/v1/functions/cli-made", {"memory_mb": 320, "env": {"GREETING": "rest"}})
    assert r.status == 200
    got = aws_ok(daemon, "get-function-configuration", "--function-name", "cli-made")
    check_config(got, config("cli-made", "nodejs20.x", "index.handler", NODE_ZIP, memory=320,
                             description="from awscli", env={"GREETING": "rest"}))
    assert sorted(f["FunctionName"] for f in aws_ok(daemon, "list-functions")["Functions"]) == [
        "cli-made", "rest-made"]
    assert daemon.request("GET", "/api/v1/functions").json()["count"] == 2
    # Deleted through REST: gone for awscli.
    assert daemon.request("DELETE", "/api/v1/functions/cli-made").status == 204
    rc, out, err = aws(daemon, "get-function", "--function-name", "cli-made")
    assert (rc, err) == (CLIENT_ERROR, aws_error("GetFunction", "ResourceNotFoundException", not_found("cli-made")))


def curl(d, *args):
    p = subprocess.run(["curl", "-s", "-i", *args], capture_output=True, timeout=60, check=True)
    head, _, body = p.stdout.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def test_unsigned_curl_works_without_credentials(daemon):
    body = json.dumps({"FunctionName": "cu", "Runtime": "nodejs20.x", "Handler": "index.handler",
                       "Role": "ignored", "Publish": True, "Code": {"ZipFile": base64.b64encode(NODE_ZIP).decode()}})
    st, h, b = curl(daemon, "-X", "POST", f"{daemon.url}{L}", "-H", "Content-Type: application/json", "-d", body)
    assert st == 201
    check_config(json.loads(b), config("cu", "nodejs20.x", "index.handler", NODE_ZIP))
    st, h, b = curl(daemon, f"{daemon.url}{L}/")
    assert st == 200 and [f["FunctionName"] for f in json.loads(b)["Functions"]] == ["cu"]
    st, h, b = curl(daemon, "-X", "POST", f"{daemon.url}{L}/cu/invocations", "-H", "X-Amz-Log-Type: Tail",
                    "-d", '{"c": "url"}')
    assert (st, b) == (200, b'{"node":{"c":"url"},"greeting":null,"fn":"cu"}')
    assert (h["x-amz-executed-version"], h["content-type"]) == ("$LATEST", "application/json")
    assert "x-amz-function-error" not in h
    check_tail(base64.b64decode(h["x-amz-log-result"]).decode().splitlines(), ['node log {"c":"url"}'])
    # An ARN in the path, its colons percent-encoded.
    st, h, b = curl(daemon, f"{daemon.url}{L}/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Acu/configuration")
    assert st == 200 and json.loads(b)["FunctionName"] == "cu"
    st, h, b = curl(daemon, "-X", "POST", f"{daemon.url}{L}/cu/invocations", "-d", '{"fail": "c"}')
    assert (st, h["x-amz-function-error"]) == (200, "Unhandled")
    assert json.loads(b)["errorMessage"] == "boom c"
    st, h, b = curl(daemon, "-X", "POST", f"{daemon.url}{L}/cu/invocations", "-H", "X-Amz-Invocation-Type: DryRun")
    assert (st, b) == (204, b"")
    st, h, b = curl(daemon, f"{daemon.url}{L}/nope")
    assert (st, h["x-amzn-errortype"], json.loads(b)) == (
        404, "ResourceNotFoundException", {"Type": "User", "Message": not_found("nope")})
    st, h, b = curl(daemon, "-X", "DELETE", f"{daemon.url}{L}/cu")
    assert (st, b) == (204, b"")
    r = daemon.request("GET", f"{L}/cu")
    lambda_error(r, 404, "ResourceNotFoundException", not_found("cu"))


@pytest.mark.once  # awscli's own start (about a second a command) is most of its time
def test_pending_retries_are_dropped_at_shutdown_and_on_delete(zips, tmp_path):
    with running_daemon() as d:
        aws_create(d, "pend", "nodejs20.x", "index.handler", zips["fails"])
        aws_create(d, "pend2", "nodejs20.x", "index.handler", zips["fails"])
        # Plain requests here: awscli takes most of a second to start, longer than the first retry's wait.
        for name in ("pend2", "pend"):
            r = d.request("POST", f"{L}/{name}/invocations", b"{}", {"X-Amz-Invocation-Type": "Event"})
            assert (r.status, r.body) == (202, b"")
        for name in ("pend2", "pend"):
            wait_log(d, name, "attempt 2 in 1 s")
        # A deleted function's retry does not run (nor bring it back).
        r = d.request("DELETE", f"{L}/pend2")
        assert r.status == 204
        time.sleep(1.3)
        assert d.request("GET", "/api/v1/functions/pend2").status == 404
        log = fn_log(d, "pend")
        assert log.count("START RequestId:") == 2 and "attempt 3 in 2 s" in log and "dropped" not in log, log
        # The daemon stops (exit 0, nothing left: running_daemon) with pend's last retry pending.


@pytest.mark.once  # awscli's own start (about a second a command) is most of its time
def test_the_isolation_tag_sets_a_functions_isolation(zips, tmp_path):
    # Lambda has no field for it: the create's tag impuls:isolation is the
    # function's isolation, and get-function reports it as that tag. Other
    # tags are accepted and not kept. This daemon's guest dir is empty, so
    # "microvm" is refused as unavailable, by either API.
    empty = tmp_path / "no-guest"
    empty.mkdir()
    with running_daemon(["--microvm-dir", str(empty)]) as d:
        aws_create(d, "tagged", "python3.11", "app.handler", zips["py"], "--tags", "impuls:isolation=namespace,team=a")
        got = aws_ok(d, "get-function", "--function-name", "tagged")
        assert got["Tags"] == {"impuls:isolation": "namespace", "impuls:network": "none"}
        assert d.request("GET", "/api/v1/functions/tagged").json()["isolation"] == "namespace"
        why = (f"the guest is not built ({empty}/vmlinuz: No such file or directory; make microvm-guest)")
        health = d.request("GET", "/healthz").json()["microvm"]
        assert (health["available"], health["reason"]) == (False, why)
        unavailable = f'isolation "microvm" is not available on this machine: {why}'
        for value, msg in (("microvm", unavailable), ("vm", 'isolation must be "namespace" or "microvm"')):
            rc, out, err = aws(d, "create-function", "--function-name", "vm-tagged", "--runtime", "python3.11",
                               "--handler", "app.handler", "--zip-file", f"fileb://{zips['py']}", "--role",
                               "arn:aws:iam::123456789012:role/any", "--tags", f"impuls:isolation={value}")
            assert (rc, out, err) == (254, "", aws_error("CreateFunction", "InvalidParameterValueException", msg))
            r = d.request("POST", "/api/v1/functions", {"name": "vm-rest", "runtime": "python311",
                                                        "code": "def handler(e, c):\n    return 1\n",
                                                        "isolation": value})
            assert (r.status, r.json()["errorType"], r.json()["errorMessage"]) == (
                400, "InvalidParameterValueException", msg), r
        # Tags that are no strings (only a raw request can send them).
        for tags in ({"impuls:isolation": 1}, {"team": ["a"]}, ["impuls:isolation"]):
            body = {"FunctionName": "bad-tags", "Runtime": "python3.11", "Handler": "app.handler",
                    "Role": "arn:aws:iam::123456789012:role/any", "Tags": tags,
                    "Code": {"ZipFile": base64.b64encode(PY_ZIP).decode()}}
            lambda_error(d.request("POST", "/2015-03-31/functions", body), 400, "InvalidParameterValueException",
                         "Tags must be an object of strings")
        assert sorted(f["name"] for f in d.request("GET", "/api/v1/functions").json()["functions"]) == ["tagged"]
