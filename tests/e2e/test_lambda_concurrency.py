"""Reserved concurrency through awscli (docs/lambda.md): the function's
`concurrency` cap, set by PutFunctionConcurrency (0: every call throttled),
shown by GetFunctionConcurrency where it is not the default, and put back by
DeleteFunctionConcurrency; an Event invocation to a throttled function waits
and runs once it is raised; a function at its cap does not hold up another."""
import concurrent.futures
import time

from lambda_helpers import aws

CLIENT_ERROR = 254  # awscli's exit code for an error the service answered
SLEEPER = """import json, time
def handler(event, context):
    print("got " + json.dumps(event, sort_keys=True))
    time.sleep(event.get("sleep", 0))
    return {"ok": event}
"""


def make(d, name, **fields):
    spec = {"name": name, "runtime": "python3.11", "handler": "index.handler", "code": SLEEPER}
    spec.update(fields)
    r = d.request("POST", "/api/v1/functions", spec)
    assert r.status == 201, r


def test_put_get_delete_function_concurrency_and_zero_throttles_every_call(daemon, tmp_path):
    make(daemon, "capped")
    assert aws(daemon, "get-function-concurrency", "--function-name", "capped")[:2] == (0, "")  # (empty: {})
    rc, out, err = aws(daemon, "put-function-concurrency", "--function-name", "capped",
                       "--reserved-concurrent-executions", "0")
    assert (rc, out, err) == (0, {"ReservedConcurrentExecutions": 0}, "")
    assert aws(daemon, "get-function-concurrency", "--function-name", "capped")[:2] == (
        0, {"ReservedConcurrentExecutions": 0})
    assert daemon.request("GET", "/api/v1/functions/capped").json()["concurrency"] == 0
    rc, out, err = aws(daemon, "invoke", "--function-name", "capped", "--cli-binary-format", "raw-in-base64-out",
                       "--payload", "{}", str(tmp_path / "out.json"), env={"AWS_MAX_ATTEMPTS": "1"})
    # (awscli retries a throttle, unless told not to, and says how often)
    assert (rc, out, err) == (CLIENT_ERROR, "", "\nAn error occurred (TooManyRequestsException) when calling the "
                              "Invoke operation (reached max retries: 0): the function's concurrency is 0: every "
                              "call is throttled\n")
    r = daemon.invoke("capped", {})
    assert r.status == 429 and r.json()["errorType"] == "TooManyRequestsException", r
    # An Event invocation is kept and waits, throttled (no attempt counted) ...
    rc, out, err = aws(daemon, "invoke", "--function-name", "capped", "--invocation-type", "Event",
                       "--cli-binary-format", "raw-in-base64-out", "--payload", '{"late": 1}',
                       str(tmp_path / "ev.json"))
    assert (rc, out) == (0, {"StatusCode": 202}), err
    time.sleep(0.3)
    assert daemon.request("GET", "/api/v1/functions/capped").json()["events"]["queued"] == 1
    # ... and runs once the cap is lifted.
    rc, out, err = aws(daemon, "delete-function-concurrency", "--function-name", "capped")
    assert (rc, out, err) == (0, "", "")
    assert aws(daemon, "get-function-concurrency", "--function-name", "capped")[:2] == (0, "")
    assert daemon.request("GET", "/api/v1/functions/capped").json()["concurrency"] == 10
    deadline = time.monotonic() + 60  # (its backoff: up to 30 s between tries)
    while 'got {"late": 1}' not in daemon.request("GET", "/api/v1/functions/capped/logs").body.decode():
        assert time.monotonic() < deadline, "the throttled event did not run"
        time.sleep(0.1)
    assert daemon.invoke("capped", {"n": 1}).json() == {"ok": {"n": 1}}


def test_bad_values_are_refused_and_change_nothing(daemon):
    make(daemon, "f")
    for body in ({"ReservedConcurrentExecutions": -1}, {"ReservedConcurrentExecutions": 1001},
                 {"ReservedConcurrentExecutions": "5"}, {}):
        r = daemon.request("PUT", "/2017-10-31/functions/f/concurrency", body)
        assert r.status == 400, r
        assert r.json()["Message"] == "ReservedConcurrentExecutions must be an integer from 0 to 1000", r
    r = daemon.request("PUT", "/2017-10-31/functions/nope/concurrency", {"ReservedConcurrentExecutions": 1})
    assert r.status == 404 and r.json()["Message"] == (
        "Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope"), r
    assert daemon.request("GET", "/2019-09-30/functions/f/concurrency").json() == {}
    r = daemon.request("PUT", "/api/v1/functions/f", {"concurrency": -1})
    assert r.status == 400 and r.json()["errorMessage"] == "concurrency must be between 0 and 1000", r


def test_a_function_at_its_cap_does_not_hold_up_another(daemon):
    make(daemon, "busy", concurrency=1)
    make(daemon, "free")
    assert daemon.invoke("free", {"warm": 1}).status == 200
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        slow = [pool.submit(daemon.invoke, "busy", {"sleep": 4, "i": i}, timeout=60) for i in range(3)]
        time.sleep(0.5)  # (the first holds busy's one instance, the others wait in its queue)
        assert [i["state"] for i in daemon.instances("busy")] == ["busy"]
        r = daemon.invoke("free", {"n": 2})
        assert r.status == 200 and r.json() == {"ok": {"n": 2}}
        # free answered while busy's calls still waited for its one instance.
        assert not any(f.done() for f in slow[1:])
        assert [f.result().status for f in slow] == [200, 200, 200]
    assert len(daemon.instances("busy")) == 1
