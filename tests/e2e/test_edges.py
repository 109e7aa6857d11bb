"""Edges found in review: init that never ends, env overrides, headers a
function may not set, oversized results, dotted Python modules, code replaced
while a call still runs, local mode switched off."""
import threading
import time

import pytest

from conftest import Daemon


def test_init_that_never_finishes_is_a_502_and_the_instance_goes():
    d = Daemon(extra_args=["--init-timeout", "1"]).start()
    try:
        d.create(name="stuck", runtime="python311", handler="main.handler",
                 code="while True:\n    pass\ndef handler(e, c):\n    return 1")
        r = d.invoke("stuck")
        assert (r.status, r.json()["errorType"]) == (502, "Runtime.InitTimeout")
        assert r.json()["errorMessage"] == "the function's init did not finish within 1 seconds"
        deadline = time.time() + 5
        while d.instances("stuck") and time.time() < deadline:
            time.sleep(0.05)
        assert d.instances("stuck") == []
    finally:
        assert d.stop() == 0
        assert d.leftovers() == []
        d.cleanup()


def test_env_may_override_defaults_but_not_reserved_names(daemon):
    daemon.create(name="e", runtime="python311", handler="main.handler", env={"TZ": "Europe/Berlin", "PATH": "/opt/x:/usr/bin"},
                  code="import os\ndef handler(e, c):\n    return [os.environ['TZ'], os.environ['PATH']]")
    assert daemon.invoke("e").json() == ["Europe/Berlin", "/opt/x:/usr/bin"]
    for key in ("AWS_REGION", "AWS_LAMBDA_X", "_HANDLER", "LAMBDA_TASK_ROOT"):
        r = daemon.request("PUT", "/api/v1/functions/e", {"env": {key: "x"}})
        assert r.status == 400 and key in r.json()["errorMessage"], r


def test_framing_headers_from_a_function_are_dropped(daemon):
    daemon.create(name="h", runtime="nodejs20", handler="index.handler",
                  code="exports.handler = async () => ({statusCode: 200, headers: {'Content-Length': '2', "
                       "'Connection': 'close', 'X-Impuls-Request-Id': 'forged', 'X-Ok': 'yes'}, body: 'hello'})")
    r = daemon.invoke("h")
    assert (r.status, r.text, r.headers["X-Ok"]) == (200, "hello", "yes")
    assert r.headers["X-Impuls-Request-Id"] != "forged"
    assert daemon.invoke("h").text == "hello"  # the connection was not corrupted


# Both shims post with Impuls-Next: the 413 refusal is their cue to ask with a GET.
OVERSIZED = {"nodejs20": ("index.handler", "exports.handler = async (e) => 'x'.repeat(e.n)"),
             "python311": ("main.handler", "def handler(e, c):\n    return 'x' * e['n']\n")}


@pytest.mark.parametrize("runtime", sorted(OVERSIZED))
def test_oversized_result_is_a_clear_502_and_the_instance_lives(daemon, runtime):
    handler, code = OVERSIZED[runtime]
    daemon.create(name="big", runtime=runtime, handler=handler, code=code)
    assert daemon.invoke("big", {"n": 3}).json() == "xxx"
    (inst,) = daemon.instances("big")
    r = daemon.invoke("big", {"n": 7 * 1024 * 1024})
    assert (r.status, r.json()["errorType"]) == (502, "Function.ResponseSizeTooLarge")
    assert daemon.invoke("big", {"n": 3}).json() == "xxx"
    assert [i["id"] for i in daemon.instances("big")] == [inst["id"]]


def test_dotted_python_module_is_a_package_path(daemon):
    daemon.create(name="dot", runtime="python311", handler="my.mod.handler",
                  code="def handler(e, c):\n    return __name__")
    assert daemon.invoke("dot").json() == "my.mod"


def test_update_while_a_call_runs_lets_it_finish_on_the_old_code(daemon):
    daemon.create(name="u", runtime="python311", handler="main.handler",
                  code="import time\ndef handler(e, c):\n    time.sleep(e['s'])\n    return open(__file__).read()[-5:]\n#old1")
    assert daemon.invoke("u", {"s": 0}).status == 200
    result = {}
    t = threading.Thread(target=lambda: result.update(r=daemon.invoke("u", {"s": 1})))
    t.start()
    time.sleep(0.3)
    r = daemon.request("PUT", "/api/v1/functions/u",
                       {"code": "def handler(e, c):\n    return 'new'"})
    assert r.status == 200
    t.join()
    assert (result["r"].status, result["r"].json()) == (200, "#old1")
    assert daemon.invoke("u", {"s": 0}).json() == "new"


def test_local_mode_can_be_switched_off():
    d = Daemon(extra_args=["--no-local"]).start()
    try:
        d.create(name="l", runtime="nodejs20", handler="index.handler", code="exports.handler = async () => 1")
        r = d.invoke("l", query="?local=true")
        assert (r.status, r.json()["errorType"]) == (403, "Forbidden")
        assert d.invoke("l").json() == 1
    finally:
        assert d.stop() == 0
        assert d.leftovers() == []
        d.cleanup()
