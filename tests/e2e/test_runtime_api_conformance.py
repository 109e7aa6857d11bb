"""The Runtime API served inside every sandbox, checked against Lambda's
documented behaviour (docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html)
by a custom runtime (`provided`, a Python `bootstrap`) that probes it from
inside and reports what it saw."""
import base64
import io
import json
import time
import zipfile

# What every probing bootstrap starts with: a Runtime API call that returns
# (status, headers, body) whatever the status.
CALL = r'''#!/usr/bin/python3
import json, os, time, urllib.error, urllib.request
API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"

def call(method, path, body=None, headers=None):
    req = urllib.request.Request(API + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()
'''

PROBE = CALL + r'''
while True:
    status, h, body = call("GET", "/invocation/next")
    rid = h["Lambda-Runtime-Aws-Request-Id"]
    event = json.loads(body)
    seen = {"status": status, "event": event, "now_ms": int(time.time() * 1000),
            "headers": sorted(k for k in h if k.lower().startswith("lambda-runtime-")),
            "deadline_ms": int(h["Lambda-Runtime-Deadline-Ms"]), "arn": h["Lambda-Runtime-Invoked-Function-Arn"],
            "trace": h.get("Lambda-Runtime-Trace-Id"), "env_trace": None, "request_id": rid}
    if event.get("probe"):
        st, _, b = call("GET", "/invocation/next")
        seen["second_next"] = [st, json.loads(b)]
        st, _, b = call("POST", "/invocation/not-a-request-id/response", b"{}")
        seen["unknown_id"] = [st, json.loads(b)]
        st, _, b = call("POST", "/init/error", b'{"errorType":"Late","errorMessage":"x"}')
        seen["late_init_error"] = [st, json.loads(b)]
        st, _, b = call("GET", "/no/such/route")
        seen["unknown_route"] = [st, json.loads(b)]
    if event.get("fail"):
        err = {"errorMessage": "it failed", "errorType": "Custom.Failure", "stackTrace": ["at probe", "at line 2"]}
        st, _, b = call("POST", "/invocation/%s/error" % rid, json.dumps(err).encode(),
                        {"Lambda-Runtime-Function-Error-Type": "Custom.Failure"})
        continue
    st, _, b = call("POST", "/invocation/%s/response" % rid, json.dumps(seen).encode())
    # Answering twice is refused: the invocation is over.
    st2, _, b2 = call("POST", "/invocation/%s/response" % rid, b"{}")
    assert (st, st2) == (202, 400), (st, b, st2, b2)
'''

INIT_FAILS = r'''#!/usr/bin/python3
import os, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/init/error"
req = urllib.request.Request(api, data=b'{"errorType":"Custom.InitFailed","errorMessage":"no config","stackTrace":[]}',
                             method="POST", headers={"Lambda-Runtime-Function-Error-Type": "Custom.InitFailed"})
print(urllib.request.urlopen(req).status)
'''


def zip_of(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o100755 << 16
            z.writestr(info, text)
    return base64.b64encode(buf.getvalue()).decode()


def test_next_carries_lambdas_headers_and_a_deadline(daemon):
    daemon.create(name="probe", runtime="provided", handler="probe.handler", timeout_s=7,
                  zip=zip_of({"bootstrap": PROBE}))
    t = int(time.time() * 1000)
    r = daemon.invoke("probe", {"plain": 1})
    assert r.status == 200, r
    seen = r.json()
    assert seen["status"] == 200 and seen["event"] == {"plain": 1}
    assert seen["headers"] == ["Lambda-Runtime-Aws-Request-Id", "Lambda-Runtime-Deadline-Ms",
                               "Lambda-Runtime-Invoked-Function-Arn", "Lambda-Runtime-Trace-Id"]
    assert seen["request_id"] == r.headers["X-Impuls-Request-Id"]
    assert seen["arn"] == "arn:aws:lambda:us-east-1:000000000000:function:probe"
    # The deadline is the call's start plus timeout_s, in ms since the epoch.
    assert t + 7000 - 1000 <= seen["deadline_ms"] <= seen["now_ms"] + 7000 + 50
    root, parent, sampled = seen["trace"].split(";")
    assert root.startswith("Root=1-") and len(root) == len("Root=1-") + 8 + 1 + 24
    assert parent.startswith("Parent=") and len(parent) == len("Parent=") + 16 and sampled == "Sampled=0"


def test_out_of_turn_calls_are_refused_as_lambda_refuses_them(daemon):
    daemon.create(name="probe", runtime="provided", handler="x", zip=zip_of({"bootstrap": PROBE}))
    seen = daemon.invoke("probe", {"probe": True}).json()
    assert seen["second_next"] == [403, {"errorType": "InvalidStateTransition",
                                         "errorMessage": "a /next is already pending or an invocation has no response yet"}]
    assert seen["unknown_id"] == [400, {"errorType": "InvalidRequestID",
                                        "errorMessage": "no invocation with this request id is in progress"}]
    assert seen["late_init_error"] == [403, {"errorType": "InvalidStateTransition",
                                             "errorMessage": "init/error after init is done"}]
    assert seen["unknown_route"] == [404, {"errorType": "UnknownRoute", "errorMessage": "no such Runtime API route"}]
    # The instance is still good after all that.
    assert daemon.invoke("probe", {"plain": 2}).json()["event"] == {"plain": 2}
    assert len(daemon.instances("probe")) == 1


def test_a_function_error_keeps_its_type_message_and_stack(daemon):
    daemon.create(name="probe", runtime="provided", handler="x", zip=zip_of({"bootstrap": PROBE}))
    r = daemon.invoke("probe", {"fail": True})
    assert r.status == 500
    assert r.json() == {"errorType": "Custom.Failure", "errorMessage": "it failed",
                        "stackTrace": ["at probe", "at line 2"], "requestId": r.headers["X-Impuls-Request-Id"]}
    # Through the Lambda API: a 200 with X-Amz-Function-Error and the runtime's own error object.
    r = daemon.request("POST", "/2015-03-31/functions/probe/invocations", {"fail": True})
    assert (r.status, r.headers["X-Amz-Function-Error"]) == (200, "Unhandled")
    assert r.json() == {"errorMessage": "it failed", "errorType": "Custom.Failure",
                        "stackTrace": ["at probe", "at line 2"]}


def test_an_init_error_fails_the_call_with_its_type_and_message(daemon):
    daemon.create(name="initfail", runtime="provided", handler="x", zip=zip_of({"bootstrap": INIT_FAILS}))
    r = daemon.invoke("initfail")
    assert r.status == 502
    assert r.json() == {"errorType": "Custom.InitFailed", "errorMessage": "no config", "stackTrace": [],
                        "requestId": r.headers["X-Impuls-Request-Id"]}
    log = daemon.request("GET", "/api/v1/functions/initfail/logs").body.decode()
    assert "202\n" in log  # init/error was accepted with 202


# A runtime using Impuls's one extension (docs/runtimes.md, "Impuls-Next"): its
# outcome post is answered with the next event.
THEN_NEXT = CALL + r'''NEXT = {"Impuls-Next": "1"}

status, h, body = call("GET", "/invocation/next")
via = "next"
while True:
    rid = h["Lambda-Runtime-Aws-Request-Id"]
    event = json.loads(body)
    out = {"n": event["n"], "via": via, "status": status, "has_deadline": "Lambda-Runtime-Deadline-Ms" in h}
    if event.get("wrong_id"):
        st, _, b = call("POST", "/invocation/not-this-one/response", b"{}", NEXT)
        out["refused"] = [st, json.loads(b)]
    if event.get("fail"):
        err = {"errorMessage": "failed %d" % event["n"], "errorType": "Custom.Failure", "stackTrace": []}
        status, h, body = call("POST", "/invocation/%s/error" % rid, json.dumps(err).encode(),
                               dict(NEXT, **{"Lambda-Runtime-Function-Error-Type": "Custom.Failure"}))
        via = "error+next"
    elif event.get("plain"):  # Lambda's way: 202, then ask
        st, _, b = call("POST", "/invocation/%s/response" % rid, json.dumps(out).encode(), {"Impuls-Next": "0"})
        assert (st, json.loads(b)) == (202, {"status": "OK"}), (st, b)
        status, h, body = call("GET", "/invocation/next")
        via = "next"
    else:
        status, h, body = call("POST", "/invocation/%s/response" % rid, json.dumps(out).encode(), NEXT)
        via = "response+next"
'''


def test_a_post_with_impuls_next_is_answered_with_the_next_event(daemon):
    daemon.create(name="thennext", runtime="provided", handler="x", zip=zip_of({"bootstrap": THEN_NEXT}))
    assert daemon.invoke("thennext", {"n": 1}).json() == {"n": 1, "via": "next", "status": 200, "has_deadline": True}
    # The post that answered call 1 waited for call 2 and was answered with it, headers and all.
    r = daemon.invoke("thennext", {"n": 2})
    assert (r.status, r.json()) == (200, {"n": 2, "via": "response+next", "status": 200, "has_deadline": True})
    # An error post carries the header too; the caller gets the error as usual.
    r = daemon.invoke("thennext", {"n": 3, "fail": True})
    assert r.status == 500
    assert r.json() == {"errorType": "Custom.Failure", "errorMessage": "failed 3", "stackTrace": [],
                        "requestId": r.headers["X-Impuls-Request-Id"]}
    assert daemon.invoke("thennext", {"n": 4}).json() == {"n": 4, "via": "error+next", "status": 200,
                                                          "has_deadline": True}
    # A refused post with the header is answered with the refusal at once, not parked.
    assert daemon.invoke("thennext", {"n": 5, "wrong_id": True}).json() == {
        "n": 5, "via": "response+next", "status": 200, "has_deadline": True,
        "refused": [400, {"errorType": "InvalidRequestID",
                          "errorMessage": "no invocation with this request id is in progress"}]}
    # Any other value: Lambda's 202, and the runtime asks with a GET.
    assert daemon.invoke("thennext", {"n": 6, "plain": True}).json()["via"] == "response+next"
    assert daemon.invoke("thennext", {"n": 7}).json()["via"] == "next"
    assert len(daemon.instances("thennext")) == 1
    log = daemon.request("GET", "/api/v1/functions/thennext/logs").body.decode()
    assert log.count("START RequestId") == 7 and log.count("REPORT RequestId") == 7
