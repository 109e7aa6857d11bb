"""Invocations: results, errors, timeouts, OOM, crashes, concurrency, warm
instances, logs."""
import re
import socket
import threading
import time

import pytest

from conftest import Daemon, log_tail


def node(daemon, name, code, **kw):
    return daemon.create(name=name, runtime="nodejs20", handler="index.handler", code=code, **kw)


def py(daemon, name, code, **kw):
    return daemon.create(name=name, runtime="python311", handler="main.handler", code=code, **kw)


def test_plain_result_is_json_200(daemon):
    node(daemon, "j", "exports.handler = async (e) => ({sum: e.a + e.b, list: [1, 'x']})")
    r = daemon.invoke("j", {"a": 2, "b": 3})
    assert (r.status, r.json()) == (200, {"sum": 5, "list": [1, "x"]})
    assert r.headers["Content-Type"] == "application/json"


def test_http_shaped_result_becomes_the_response(daemon):
    node(daemon, "h", "exports.handler = async () => ({statusCode: 201, "
                      "headers: {'X-Thing': 'yes', 'Content-Type': 'text/csv'}, body: 'a,b'})")
    r = daemon.invoke("h")
    assert (r.status, r.text, r.headers["X-Thing"], r.headers["Content-Type"]) == \
        (201, "a,b", "yes", "text/csv")
    node(daemon, "o", "exports.handler = async () => ({statusCode: 418, body: {tea: true}})")
    r = daemon.invoke("o")
    assert (r.status, r.json(), r.headers["Content-Type"]) == (418, {"tea": True}, "application/json")


def test_empty_body_is_an_empty_event_and_bad_json_is_400(daemon):
    node(daemon, "e", "exports.handler = async (e) => e")
    assert daemon.invoke("e").json() == {}
    r = daemon.request("POST", "/api/v1/functions/e/invoke", "{oops")
    assert r.status == 400 and r.json()["errorType"] == "InvalidRequestContentException"
    r = daemon.invoke("missing")
    assert r.status == 404 and len(r.headers["X-Impuls-Request-Id"]) == 36


def test_thrown_error_is_500_with_type_message_stack_and_request_id(daemon):
    node(daemon, "t", "exports.handler = async () => { throw new TypeError('bad thing'); }")
    r = daemon.invoke("t")
    assert r.status == 500
    body = r.json()
    assert (body["errorType"], body["errorMessage"]) == ("TypeError", "bad thing")
    assert body["requestId"] == r.headers["X-Impuls-Request-Id"]
    assert any("index.js" in line for line in body["stackTrace"]), body["stackTrace"]
    py(daemon, "pt", "def handler(e, c):\n    raise ValueError('nope')")
    body = daemon.invoke("pt").json()
    assert (body["errorType"], body["errorMessage"]) == ("ValueError", "nope")
    assert any("main.py" in line for line in body["stackTrace"])


def test_import_error_is_502(daemon):
    py(daemon, "ie", "import no_such_module_here\ndef handler(e, c):\n    return 1")
    r = daemon.invoke("ie")
    assert r.status == 502 and r.json()["errorType"] == "Runtime.ImportModuleError"
    node(daemon, "hn", "exports.other = async () => 1")
    r = daemon.invoke("hn")
    assert r.status == 502 and r.json()["errorType"] == "Runtime.HandlerNotFound"


def test_timeout_is_504_and_the_instance_is_replaced(daemon):
    node(daemon, "slow", "exports.handler = async (e) => { if (e.spin) for(;;); return 'ok'; }",
         timeout_s=1)
    r = daemon.invoke("slow", {"spin": True})
    assert r.status == 504
    assert r.json()["errorType"] == "Sandbox.Timedout"
    assert r.json()["errorMessage"] == "Task timed out after 1.00 seconds"
    r = daemon.invoke("slow", {})
    assert (r.status, r.json()) == (200, "ok")


def test_out_of_memory_is_502_runtime_out_of_memory(daemon):
    py(daemon, "hog", "def handler(e, c):\n    x = []\n    while True:\n        x.append(bytearray(8 << 20))",
       memory_mb=64)
    r = daemon.invoke("hog")
    assert r.status == 502, r
    assert r.json()["errorType"] == "Runtime.OutOfMemory"
    assert r.json()["errorMessage"] == "Runtime exited: out of memory (limit 64 MB)"


def test_crashed_runtime_is_502_and_next_call_works(daemon):
    node(daemon, "crash", "exports.handler = async (e) => { if (e.die) process.exit(3); return 'alive'; }")
    r = daemon.invoke("crash", {"die": True})
    assert (r.status, r.json()["errorType"]) == (502, "Runtime.ExitError")
    assert r.json()["errorMessage"] == "Runtime exited with error: exit status 3"
    assert daemon.invoke("crash", {}).json() == "alive"


def test_malformed_http_result_is_502(daemon):
    node(daemon, "mal", "exports.handler = async () => ({statusCode: 'two hundred'})")
    r = daemon.invoke("mal")
    assert (r.status, r.json()["errorType"]) == (502, "Runtime.MalformedResult")
    node(daemon, "circ", "exports.handler = async () => { const a = {}; a.a = a; return a; }")
    r = daemon.invoke("circ")
    assert (r.status, r.json()["errorType"]) == (502, "Runtime.MalformedResult")


def test_callback_style_and_context(daemon):
    node(daemon, "cb", "exports.handler = (e, ctx, cb) => cb(null, {fn: ctx.functionName, "
                       "mem: ctx.memoryLimitInMB, id: ctx.awsRequestId, "
                       "left: ctx.getRemainingTimeInMillis()})", timeout_s=7)
    r = daemon.invoke("cb")
    b = r.json()
    assert (b["fn"], b["mem"], b["id"]) == ("cb", "128", r.headers["X-Impuls-Request-Id"])
    assert 0 < b["left"] <= 7000
    py(daemon, "pctx", "def handler(e, c):\n    return [c.function_name, c.memory_limit_in_mb, "
                       "c.aws_request_id, c.get_remaining_time_in_millis() > 0]", memory_mb=256)
    r = daemon.invoke("pctx")
    assert r.json() == ["pctx", 256, r.headers["X-Impuls-Request-Id"], True]


def test_python_context_reads_as_the_guides_dict(daemon):
    # The runtime guide's handlers take `context` as a dict:
    # context['function_name'], context['memory_limit_in_mb'].
    py(daemon, "pdict", "def handler(e, context):\n"
                        "    try:\n        context['nope']\n        missing = None\n"
                        "    except KeyError as x:\n        missing = repr(x)\n"
                        "    return [context['function_name'], context['memory_limit_in_mb'],\n"
                        "            context['aws_request_id'], context.get('function_version'),\n"
                        "            context.get('nope', 'dflt'), 'log_group_name' in context, 'nope' in context,\n"
                        "            missing, sorted(dict(context)) == sorted(context.keys()), len(context)]",
       memory_mb=192)
    r = daemon.invoke("pdict")
    assert r.json() == ["pdict", 192, r.headers["X-Impuls-Request-Id"], "$LATEST", "dflt", True, False,
                        "KeyError('nope')", True, 9]


def test_lambda_environment_and_function_env(daemon):
    py(daemon, "env", "import os\ndef handler(e, c):\n    return {k: os.environ.get(k) for k in "
                      "['AWS_LAMBDA_FUNCTION_NAME','AWS_LAMBDA_FUNCTION_MEMORY_SIZE',"
                      "'AWS_LAMBDA_FUNCTION_VERSION','LAMBDA_TASK_ROOT','_HANDLER',"
                      "'AWS_LAMBDA_RUNTIME_API','MY_VAR','IMPULS_DATA_DIR','HOME']}",
       env={"MY_VAR": "mine"})
    assert daemon.invoke("env").json() == {
        "AWS_LAMBDA_FUNCTION_NAME": "env", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "LAMBDA_TASK_ROOT": "/var/task",
        "_HANDLER": "main.handler", "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",
        "MY_VAR": "mine", "IMPULS_DATA_DIR": None, "HOME": "/tmp"}


def test_warm_instance_is_reused_without_init(daemon):
    node(daemon, "w", "let n = 0; exports.handler = async () => ++n")
    tail = {"X-Impuls-Log-Type": "Tail"}
    first = daemon.invoke("w", headers=tail)
    second = daemon.invoke("w", headers=tail)
    assert (first.json(), second.json()) == (1, 2)
    assert "Init Duration" in log_tail(first)
    assert "Init Duration" not in log_tail(second)
    assert len(daemon.instances("w")) == 1


def test_logs_capture_output_with_start_end_report(daemon):
    py(daemon, "lg", "def handler(e, c):\n    print('hello stdout')\n    import sys\n"
                     "    print('hello stderr', file=sys.stderr)\n    return 1")
    r = daemon.invoke("lg", headers={"X-Impuls-Log-Type": "Tail"})
    rid = r.headers["X-Impuls-Request-Id"]
    tail = log_tail(r)
    assert tail.startswith(f"START RequestId: {rid} Version: $LATEST\n")
    assert "hello stdout\nhello stderr\n" in tail
    assert f"END RequestId: {rid}\n" in tail
    report = re.search(r"REPORT RequestId: (\S+)\tDuration: ([\d.]+) ms\tBilled Duration: (\d+) ms"
                       r"\tMemory Size: 128 MB\tMax Memory Used: (\d+) MB\tInit Duration: ([\d.]+) ms",
                       tail)
    assert report and report.group(1) == rid, tail
    assert 0 < int(report.group(4)) <= 128
    logs = daemon.request("GET", "/api/v1/functions/lg/logs?tail=3").text.splitlines()
    assert len(logs) == 3 and logs[0] == "hello stderr" and logs[1] == f"END RequestId: {rid}"
    assert "X-Impuls-Log-Result" not in daemon.invoke("lg").headers
    assert daemon.request("GET", "/api/v1/functions/lg/logs?tail=0").status == 400


def test_twenty_concurrent_calls(daemon):
    node(daemon, "c", "exports.handler = async (e) => { await new Promise(r => setTimeout(r, 200)); "
                      "return e.i; }", concurrency=10)
    results = [None] * 20

    def call(i):
        results[i] = daemon.invoke("c", {"i": i})

    threads = [threading.Thread(target=call, args=(i,)) for i in range(20)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert [(r.status, r.json()) for r in results] == [(200, i) for i in range(20)]
    assert 1 <= len(daemon.instances("c")) <= 10


def test_queue_overflow_is_429():
    d = Daemon(extra_args=["--queue-max", "1"]).start()
    try:
        d.create(name="q", runtime="nodejs20", handler="index.handler", concurrency=1,
                 code="exports.handler = async () => { await new Promise(r => setTimeout(r, 500)); return 1; }")
        assert d.invoke("q").status == 200  # warm: one instance, idle
        results = []
        lock = threading.Lock()

        def call():
            r = d.invoke("q")
            with lock:
                results.append(r.status)

        threads = [threading.Thread(target=call) for _ in range(5)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        # One call runs on the instance, one waits in the queue, three are refused.
        assert sorted(results) == [200, 200, 429, 429, 429]
    finally:
        assert d.stop() == 0
        assert d.leftovers() == []
        d.cleanup()


def test_local_mode_runs_without_sandbox(daemon):
    py(daemon, "loc", "import os\ndef handler(e, c):\n    return os.environ['LAMBDA_TASK_ROOT']")
    r = daemon.invoke("loc", query="?local=true")
    assert r.status == 200 and r.json().startswith(daemon.data_dir)
    assert daemon.invoke("loc").json() == "/var/task"


def test_idle_instances_are_reaped(daemon):
    node(daemon, "idle", "exports.handler = async () => 1", idle_timeout_s=1)
    assert daemon.invoke("idle").status == 200
    assert [i["state"] for i in daemon.instances("idle")] in (["idle"], ["returning"])
    deadline = time.time() + 5
    while daemon.instances("idle") and time.time() < deadline:
        time.sleep(0.1)
    assert daemon.instances("idle") == []
    assert daemon.invoke("idle").json() == 1  # a cold start again


def test_update_retires_the_warm_instance(daemon):
    node(daemon, "r", "exports.handler = async () => 'old'")
    assert daemon.invoke("r").json() == "old"
    (before,) = daemon.instances("r")
    daemon.request("PUT", "/api/v1/functions/r", {"code": "exports.handler = async () => 'new'"})
    assert daemon.invoke("r").json() == "new"
    # The old one was killed at the update; it is listed ("dying") until reaped,
    # which a claimed pre-made sandbox can outrun.
    deadline = time.monotonic() + 10
    while before["id"] in [i["id"] for i in daemon.instances("r")] and time.monotonic() < deadline:
        time.sleep(0.05)
    ids = [i["id"] for i in daemon.instances("r")]
    assert before["id"] not in ids and len(ids) == 1


def test_client_that_hangs_up_does_not_hurt_the_daemon(daemon):
    node(daemon, "hang", "exports.handler = async (e) => { await new Promise(r => setTimeout(r, e.ms)); return e.ms; }")
    with pytest.raises(OSError):
        daemon.invoke("hang", {"ms": 1500}, timeout=0.3)
    # The call goes on without its client (a cold start and 1.5 s), then ends.
    deadline = time.monotonic() + 60
    while daemon.request("GET", "/healthz").json()["inflight"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert daemon.invoke("hang", {"ms": 1}).json() == 1
    assert daemon.request("GET", "/healthz").json()["inflight"] == 0


def test_oversized_body_is_413_before_it_is_sent(daemon):
    s = socket.create_connection(("127.0.0.1", daemon.port))
    s.sendall(b"POST /api/v1/functions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: 52428801\r\n\r\n{")
    s.settimeout(5)
    assert s.recv(4096).startswith(b"HTTP/1.1 413 ")
    s.close()
    node(daemon, "big", "exports.handler = async (e) => e.length")
    r = daemon.invoke("big", "x" * (6 * 1024 * 1024 + 1))
    assert (r.status, r.json()["errorType"]) == (413, "RequestTooLargeException")
    assert daemon.invoke("big", "x" * 1000).json() == 1000
