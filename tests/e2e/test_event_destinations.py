"""A function's Event invocations as Lambda settles them (docs/lambda.md,
"Event invocations"; docs/api.md): its event invoke config (retries, maximum
age, destinations) through awscli and the REST API, the invocation record a
destination function gets, and the dead letters of events that failed for
good with no failure destination: listed, replayed, deleted, kept across a
restart. Every wait is bounded by a deadline on what it waits for."""
import json
import time

import pytest

from conftest import running_daemon
from lambda_helpers import aws, aws_error

CLIENT_ERROR = 254  # awscli's exit code for an error the service answered

ARN = "arn:aws:lambda:us-east-1:000000000000:function:"

# Fails while its environment says FAIL=1; prints each event it gets.
WORKER = """import json, os
def handler(event, context):
    print("got " + json.dumps(event, sort_keys=True))
    if os.environ.get("FAIL") == "1":
        raise ValueError("no good: " + json.dumps(event, sort_keys=True))
    return {"done": event}
"""
# A destination: prints the record it gets, one line.
SINK = """import json
def handler(event, context):
    print("record " + json.dumps(event, sort_keys=True))
    return None
"""


def make(d, name, code, **fields):
    spec = {"name": name, "runtime": "python3.11", "handler": "index.handler", "code": code}
    spec.update(fields)
    r = d.request("POST", "/api/v1/functions", spec)
    assert r.status == 201, r


def send_event(d, name, event):
    r = d.request("POST", f"/2015-03-31/functions/{name}/invocations", event,
                  headers={"X-Amz-Invocation-Type": "Event"})
    assert r.status == 202, r
    return r.headers["X-Amzn-RequestId"]


def wait_for(check, seconds, what):
    deadline = time.monotonic() + seconds
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def log_lines(d, name, prefix):
    r = d.request("GET", f"/api/v1/functions/{name}/logs?tail=1000")
    assert r.status == 200, r
    text = r.body.decode()
    return [l[len(prefix):] for l in text.splitlines() if l.startswith(prefix)]


def records(d, name):
    return [json.loads(l) for l in log_lines(d, name, "record ")]


def letters(d, name):
    r = d.request("GET", f"/api/v1/functions/{name}/dead-letters")
    assert r.status == 200, r
    return r.json()


@pytest.mark.once  # awscli's own start is most of its time: the same under ASan
def test_awscli_puts_gets_updates_lists_and_deletes_an_event_invoke_config(daemon):
    make(daemon, "src", WORKER)
    make(daemon, "sink", SINK)
    rc, out, err = aws(daemon, "get-function-event-invoke-config", "--function-name", "src")
    assert (rc, out, err) == (CLIENT_ERROR, "", aws_error(
        "GetFunctionEventInvokeConfig", "ResourceNotFoundException",
        f"The function {ARN}src:$LATEST doesn't have an EventInvokeConfig"))
    rc, out, err = aws(daemon, "put-function-event-invoke-config", "--function-name", "src",
                       "--maximum-retry-attempts", "0", "--destination-config",
                       json.dumps({"OnFailure": {"Destination": ARN + "sink"}}))
    assert (rc, err) == (0, ""), err
    assert out["MaximumRetryAttempts"] == 0 and "MaximumEventAgeInSeconds" not in out
    assert out["FunctionArn"] == ARN + "src:$LATEST" and out["LastModified"].startswith("20")  # (awscli: ISO 8601)
    assert out["DestinationConfig"] == {"OnSuccess": {}, "OnFailure": {"Destination": ARN + "sink"}}
    # An update changes only what it names.
    rc, out, err = aws(daemon, "update-function-event-invoke-config", "--function-name", ARN + "src",
                       "--maximum-event-age-in-seconds", "120")
    assert (rc, err) == (0, ""), err
    assert (out["MaximumRetryAttempts"], out["MaximumEventAgeInSeconds"]) == (0, 120)
    assert out["DestinationConfig"]["OnFailure"] == {"Destination": ARN + "sink"}
    rc, out, err = aws(daemon, "list-function-event-invoke-configs", "--function-name", "src")
    assert (rc, err) == (0, "") and [c["MaximumEventAgeInSeconds"] for c in out["FunctionEventInvokeConfigs"]] == [120]
    # A put replaces the whole of it.
    rc, out, err = aws(daemon, "put-function-event-invoke-config", "--function-name", "src",
                       "--maximum-event-age-in-seconds", "3600")
    assert (rc, err) == (0, "") and "MaximumRetryAttempts" not in out
    assert out["DestinationConfig"] == {"OnSuccess": {}, "OnFailure": {}}
    # The REST API's view of the same settings: what is in force.
    got = daemon.request("GET", "/api/v1/functions/src/event-invoke-config").json()
    assert {k: got[k] for k in ("max_retry_attempts", "max_event_age_s", "on_success", "on_failure")} == {
        "max_retry_attempts": 2, "max_event_age_s": 3600, "on_success": None, "on_failure": None}
    assert aws(daemon, "delete-function-event-invoke-config", "--function-name", "src")[:2] == (0, "")
    rc, out, err = aws(daemon, "list-function-event-invoke-configs", "--function-name", "src")
    assert (rc, out) == (0, {"FunctionEventInvokeConfigs": []})
    rc, out, err = aws(daemon, "put-function-event-invoke-config", "--function-name", "src", "--destination-config",
                       json.dumps({"OnSuccess": {"Destination": "arn:aws:sqs:us-east-1:000000000000:q"}}))
    assert (rc, out, err) == (CLIENT_ERROR, "", aws_error(
        "PutFunctionEventInvokeConfig", "InvalidParameterValueException",
        "The destination arn:aws:sqs:us-east-1:000000000000:q is not a Lambda function's ARN: Impuls sends records "
        "to its own functions only"))
    rc, out, err = aws(daemon, "put-function-event-invoke-config", "--function-name", "nope",
                       "--maximum-retry-attempts", "1")
    assert (rc, out, err) == (CLIENT_ERROR, "", aws_error("PutFunctionEventInvokeConfig", "ResourceNotFoundException",
                                                          f"Function not found: {ARN}nope"))


@pytest.mark.parametrize("api, body, status, message", [
    ("rest", {"max_retry_attempts": 3}, 400, "max_retry_attempts must be an integer from 0 to 2"),
    ("rest", {"max_retry_attempts": "1"}, 400, "max_retry_attempts must be an integer from 0 to 2"),
    ("rest", {"max_event_age_s": 59}, 400, "max_event_age_s must be an integer from 60 to 21600"),
    ("rest", {"max_event_age_s": 21601}, 400, "max_event_age_s must be an integer from 60 to 21600"),
    ("rest", {"on_failure": "src"}, 400, "You can't specify the function itself as a destination"),
    ("rest", {"on_success": "missing"}, 400, "The destination function missing does not exist"),
    ("rest", {"on_success": 5}, 400, "on_success must be a string"),
    ("rest", {"retries": 1}, 400, "unknown field retries (the fields: max_retry_attempts, max_event_age_s, "
                                  "on_success, on_failure)"),
    ("rest", [1], 400, "request body must be a JSON object"),
    ("lambda", {"MaximumRetryAttempts": 3}, 400, "1 validation error detected: Value '3' at 'maximumRetryAttempts' "
                                                 "failed to satisfy constraint: Member must have value less than or "
                                                 "equal to 2"),
    ("lambda", {"MaximumEventAgeInSeconds": 10}, 400, "1 validation error detected: Value '10' at "
                                                      "'maximumEventAgeInSeconds' failed to satisfy constraint: Member "
                                                      "must have value greater than or equal to 60"),
    ("lambda", {"DestinationConfig": "x"}, 400, "DestinationConfig must be an object"),
    ("lambda", {"DestinationConfig": {"OnFailure": {"Destination": ARN + "src"}}}, 400,
     "You can't specify the function itself as a destination"),
    ("lambda", {"DestinationConfig": {"OnFailure": {"Destination": ARN + "gone"}}}, 400,
     f"The destination function {ARN}gone does not exist"),
])
def test_bad_settings_are_refused_and_change_nothing(daemon, api, body, status, message):
    make(daemon, "src", WORKER)
    path = ("/api/v1/functions/src/event-invoke-config" if api == "rest"
            else "/2019-09-25/functions/src/event-invoke-config")
    r = daemon.request("PUT", path, body)
    assert r.status == status, r
    got = r.json()
    assert (got.get("errorMessage") or got.get("Message")) == message
    assert daemon.request("GET", "/2019-09-25/functions/src/event-invoke-config").status == 404


def test_a_failed_event_is_a_dead_letter_kept_across_a_restart_and_replayed(daemon):
    make(daemon, "work", WORKER, env={"FAIL": "1"})
    r = daemon.request("PUT", "/api/v1/functions/work/event-invoke-config", {"max_retry_attempts": 0})
    assert r.status == 200 and r.json()["max_retry_attempts"] == 0, r
    first = send_event(daemon, "work", {"n": 1})
    second = send_event(daemon, "work", {"n": 2})
    got = wait_for(lambda: len(letters(daemon, "work")["dead_letters"]) == 2 and letters(daemon, "work"), 30,
                   "the failed events did not become dead letters")
    assert (got["dropped"], got["max"]) == (0, 1000)
    by_id = {l["id"]: l for l in got["dead_letters"]}
    assert set(by_id) == {first, second}
    one = by_id[first]
    assert (one["condition"], one["attempts"], one["status"], one["event"]) == ("RetriesExhausted", 1, 200, {"n": 1})
    assert one["error"]["errorType"] == "ValueError" and one["error"]["errorMessage"] == 'no good: {"n": 1}'
    assert one["accepted_at"] <= one["failed_at"]
    assert sorted(log_lines(daemon, "work", "got ")) == ['{"n": 1}', '{"n": 2}']  # one attempt each
    assert daemon.request("GET", f"/api/v1/functions/work/dead-letters/{first}").json() == one
    figures = {"queued": 0, "oldest_age_ms": None, "dead_letters": 2, "dropped": 0}
    assert daemon.request("GET", "/api/v1/functions/work").json()["events"] == figures
    assert daemon.request("GET", "/api/v1/functions/work/instances").json()["events"] == figures
    # They are kept in the store: a restart keeps them.
    assert daemon.stop() == 0
    daemon.start()
    assert {l["id"] for l in letters(daemon, "work")["dead_letters"]} == {first, second}
    # Replayed once the function works: each is a new Event invocation.
    assert daemon.request("PUT", "/api/v1/functions/work", {"env": {"FAIL": "0"}}).status == 200
    r = daemon.request("POST", f"/api/v1/functions/work/dead-letters/{first}/replay")
    assert r.status == 202, r
    (new_id,) = r.json()["request_ids"]
    assert new_id not in (first, second)
    wait_for(lambda: log_lines(daemon, "work", "got ").count('{"n": 1}') == 2, 30, "the replay did not run")
    assert [l["id"] for l in letters(daemon, "work")["dead_letters"]] == [second]
    r = daemon.request("POST", "/api/v1/functions/work/dead-letters/replay")
    assert r.status == 202 and len(r.json()["request_ids"]) == 1, r
    wait_for(lambda: log_lines(daemon, "work", "got ").count('{"n": 2}') == 2, 30, "the replay did not run")
    assert letters(daemon, "work")["dead_letters"] == []


def test_an_event_waiting_for_its_retry_is_counted_as_queued(daemon):
    make(daemon, "slow", WORKER, env={"FAIL": "1"})
    send_event(daemon, "slow", {"n": 1})  # tried again 1 s, then 2 s later
    got = wait_for(lambda: (lambda e: e["queued"] == 1 and e)(
        daemon.request("GET", "/api/v1/functions/slow").json()["events"]), 10, "not counted as queued")
    assert got["oldest_age_ms"] >= 0 and got["dead_letters"] == 0
    wait_for(lambda: daemon.request("GET", "/api/v1/functions/slow").json()["events"]["dead_letters"] == 1, 30,
             "no dead letter after the retries")
    assert daemon.request("GET", "/api/v1/functions/slow").json()["events"]["queued"] == 0


def test_dead_letters_are_deleted_one_or_all_and_unknown_ones_are_404(daemon):
    make(daemon, "work", WORKER, env={"FAIL": "1"})
    assert daemon.request("PUT", "/api/v1/functions/work/event-invoke-config", {"max_retry_attempts": 0}).status == 200
    ids = [send_event(daemon, "work", {"n": i}) for i in range(3)]
    wait_for(lambda: len(letters(daemon, "work")["dead_letters"]) == 3, 30, "no dead letters")
    assert daemon.request("DELETE", f"/api/v1/functions/work/dead-letters/{ids[0]}").status == 204
    r = daemon.request("DELETE", f"/api/v1/functions/work/dead-letters/{ids[0]}")
    assert r.status == 404 and r.json()["errorMessage"] == f"function 'work' has no dead letter '{ids[0]}'", r
    for method, path in (("GET", ids[0]), ("POST", f"{ids[0]}/replay")):
        r = daemon.request(method, f"/api/v1/functions/work/dead-letters/{path}")
        assert r.status == 404 and r.json()["errorMessage"] == f"function 'work' has no dead letter '{ids[0]}'", r
    assert daemon.request("DELETE", "/api/v1/functions/work/dead-letters").status == 204
    assert letters(daemon, "work")["dead_letters"] == []
    r = daemon.request("GET", "/api/v1/functions/nope/dead-letters")
    assert r.status == 404 and r.json()["errorMessage"] == "function 'nope' not found", r
    # The function's delete takes them, and its settings, with it.
    send_event(daemon, "work", {"n": 9})
    wait_for(lambda: len(letters(daemon, "work")["dead_letters"]) == 1, 30, "no dead letter")
    assert daemon.request("DELETE", "/api/v1/functions/work").status == 204
    make(daemon, "work", WORKER)
    assert letters(daemon, "work")["dead_letters"] == []
    assert daemon.request("GET", "/api/v1/functions/work/event-invoke-config").json()["max_retry_attempts"] == 2


def test_destinations_get_lambdas_invocation_record(daemon):
    make(daemon, "ok-sink", SINK)
    make(daemon, "bad-sink", SINK)
    make(daemon, "work", WORKER, env={"FAIL": "0"})
    r = daemon.request("PUT", "/2019-09-25/functions/work/event-invoke-config", {
        "MaximumRetryAttempts": 1,
        "DestinationConfig": {"OnSuccess": {"Destination": ARN + "ok-sink"},
                              "OnFailure": {"Destination": ARN + "bad-sink"}}})
    assert r.status == 200, r
    ok_id = send_event(daemon, "work", {"k": "fine"})
    (rec,) = wait_for(lambda: records(daemon, "ok-sink"), 30, "no success record")
    assert rec["version"] == "1.0" and rec["timestamp"].endswith("Z")
    assert rec["requestContext"] == {"requestId": ok_id, "functionArn": ARN + "work:$LATEST", "condition": "Success",
                                     "approximateInvokeCount": 1}
    assert rec["requestPayload"] == {"k": "fine"}
    assert rec["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert rec["responsePayload"] == {"done": {"k": "fine"}}
    # A failure, after its one retry, goes to the failure destination, not the dead letters.
    assert daemon.request("PUT", "/api/v1/functions/work", {"env": {"FAIL": "1"}}).status == 200
    bad_id = send_event(daemon, "work", {"k": "bad"})
    (rec,) = wait_for(lambda: records(daemon, "bad-sink"), 30, "no failure record")
    assert rec["requestContext"] == {"requestId": bad_id, "functionArn": ARN + "work:$LATEST",
                                     "condition": "RetriesExhausted", "approximateInvokeCount": 2}
    assert rec["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert rec["responsePayload"]["errorType"] == "ValueError"
    assert rec["responsePayload"]["errorMessage"] == 'no good: {"k": "bad"}'
    assert letters(daemon, "work")["dead_letters"] == []
    notes = log_lines(daemon, "work", "[impuls] async invocation ")
    assert notes[-1].startswith(f"{bad_id} failed (HTTP 200) after 2 attempts; its record went to bad-sink (request ")
    assert records(daemon, "ok-sink") and len(records(daemon, "bad-sink")) == 1


def test_a_destination_deleted_since_keeps_the_failure_as_a_dead_letter(daemon):
    make(daemon, "sink", SINK)
    make(daemon, "work", WORKER, env={"FAIL": "1"})
    assert daemon.request("PUT", "/api/v1/functions/work/event-invoke-config",
                          {"max_retry_attempts": 0, "on_failure": "sink"}).status == 200
    assert daemon.request("DELETE", "/api/v1/functions/sink").status == 204
    event_id = send_event(daemon, "work", {"k": 1})
    (letter,) = wait_for(lambda: letters(daemon, "work")["dead_letters"], 30, "no dead letter")
    assert letter["id"] == event_id
    assert log_lines(daemon, "work", "[impuls] async invocation ")[-1] == (
        f"{event_id} failed (HTTP 200) after 1 attempt; its destination sink does not exist; kept as a dead letter")


def test_a_loop_of_destinations_stops_after_16_hops():
    """a → b → a on success, forever but for the hop count (Lambda stops a
    recursive loop likewise)."""
    with running_daemon() as d:
        make(d, "ping", SINK)
        make(d, "pong", SINK)
        for a, b in (("ping", "pong"), ("pong", "ping")):
            assert d.request("PUT", f"/api/v1/functions/{a}/event-invoke-config", {"on_success": b}).status == 200
        send_event(d, "ping", {"start": True})
        stopped = wait_for(lambda: [l for f in ("ping", "pong") for l in log_lines(d, f, "[impuls] async invocation ")
                                    if "came through 16 destinations" in l], 60, "the loop did not stop")
        assert len(stopped) == 1 and "succeeded (HTTP 200) after 1 attempt; not sent to " in stopped[0], stopped

        def runs():
            return len(log_lines(d, "ping", "record ")) + len(log_lines(d, "pong", "record "))
        assert runs() == 17  # the first call and 16 records
        time.sleep(0.5)
        assert runs() == 17
        # Each record carries the one before as its requestPayload.
        last = max(records(d, "ping") + records(d, "pong"), key=lambda r: json.dumps(r).count("requestContext"))
        assert json.dumps(last).count('"condition": "Success"') == 16


def test_an_event_older_than_its_maximum_age_fails_for_good_as_event_age_exceeded():
    # The test clock ages kept events: no waiting for the 60 s minimum.
    with running_daemon(["--clock-offset", "0"]) as d:
        make(d, "old", WORKER, env={"FAIL": "1"})
        r = d.request("PUT", "/api/v1/functions/old/event-invoke-config", {"max_event_age_s": 60})
        assert r.status == 200, r
        rid = send_event(d, "old", {"n": 1})
        retry = f"[impuls] async invocation {rid} failed (HTTP 200); attempt 2 in 1 s"
        wait_for(lambda: retry in d.request("GET", "/api/v1/functions/old/logs").body.decode(), 30,
                 "the first attempt did not fail")
        assert d.request("POST", "/api/v1/test/clock", {"advance_s": 61}).status == 200
        got = wait_for(lambda: letters(d, "old")["dead_letters"], 30, "no dead letter")
        assert [(l["id"], l["condition"], l["attempts"]) for l in got] == [(rid, "EventAgeExceeded", 2)]
        log = d.request("GET", "/api/v1/functions/old/logs").body.decode()
        assert "older than its maximum event age" in log


def test_the_rest_api_makes_event_invocations_too(daemon):
    make(daemon, "bg", WORKER)
    r = daemon.request("POST", "/api/v1/functions/bg/invoke", {"n": 1}, headers={"X-Impuls-Invocation-Type": "Event"})
    assert r.status == 202, r
    rid = r.json()["request_id"]
    assert r.headers["X-Impuls-Request-Id"] == rid
    r = daemon.request("POST", "/api/v1/functions/bg/invoke?invocation_type=Event", {"n": 2})
    assert r.status == 202, r
    wait_for(lambda: sorted(log_lines(daemon, "bg", "got ")) == ['{"n": 1}', '{"n": 2}'], 30, "the events did not run")
    assert f"START RequestId: {rid} " in daemon.request("GET", "/api/v1/functions/bg/logs").body.decode()
    for headers, query, message in (
            ({"X-Impuls-Invocation-Type": "Later"}, "", "the invocation type (X-Impuls-Invocation-Type, "
                                                        "?invocation_type=) must be RequestResponse or Event"),
            ({}, "?invocation_type=x", "the invocation type (X-Impuls-Invocation-Type, ?invocation_type=) must be "
                                       "RequestResponse or Event"),
            ({"X-Impuls-Invocation-Type": "Event"}, "?local=true",
             "an Event invocation runs as the function's isolation says: ?local=true is for calls answered at once")):
        r = daemon.request("POST", f"/api/v1/functions/bg/invoke{query}", {"n": 3}, headers=headers)
        assert (r.status, r.json()["errorMessage"]) == (400, message), r
    r = daemon.request("POST", "/api/v1/functions/bg/invoke", b"{bad", headers={"X-Impuls-Invocation-Type": "Event"})
    assert r.status == 400, r
    assert daemon.request("GET", "/api/v1/functions/bg").json()["events"]["queued"] == 0


def test_a_dead_letter_of_a_published_version_is_replayed_on_that_version(daemon):
    make(daemon, "v", WORKER, env={"FAIL": "1"})
    assert daemon.request("PUT", "/api/v1/functions/v/event-invoke-config", {"max_retry_attempts": 0}).status == 200
    assert daemon.request("POST", "/api/v1/functions/v/publish", b"").status == 201
    assert daemon.request("PUT", "/api/v1/functions/v", {"env": {"FAIL": "0"}}).status == 200  # $LATEST works
    r = daemon.request("POST", "/api/v1/functions/v/invoke?qualifier=1&invocation_type=Event", {"n": 1})
    assert r.status == 202, r
    first = r.json()["request_id"]
    wait_for(lambda: letters(daemon, "v")["dead_letters"], 30, "no dead letter")
    r = daemon.request("POST", f"/api/v1/functions/v/dead-letters/{first}/replay")
    assert r.status == 202, r
    (again,) = r.json()["request_ids"]
    # Replayed on version 1 (which still fails), not on $LATEST.
    got = wait_for(lambda: [l for l in letters(daemon, "v")["dead_letters"] if l["id"] == again], 30,
                   "the replay did not fail on version 1")
    assert got[0]["condition"] == "RetriesExhausted"
    log = daemon.request("GET", "/api/v1/functions/v/logs?tail=1000").body.decode()
    assert f"START RequestId: {again} Version: 1" in log
    # Its version deleted, a letter of it is no longer replayable: a 409 that says so, the letter kept.
    assert daemon.request("DELETE", "/api/v1/functions/v/versions/1").status == 204
    r = daemon.request("POST", f"/api/v1/functions/v/dead-letters/{again}/replay")
    assert (r.status, r.json()["errorMessage"]) == \
        (409, f"dead letter {again} called version 1, which is deleted: it stays (delete it to drop it); the "
              "letters before it were replayed, those after it were not")
    assert [l["id"] for l in letters(daemon, "v")["dead_letters"]] == [again]
