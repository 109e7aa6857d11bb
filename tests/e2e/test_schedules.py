"""Schedules (docs/api.md, "Schedules"): rate() and cron() expressions per
function, each firing a kept Event invocation with EventBridge's scheduled
event (or the schedule's input); at most one catch-up for the times missed
while no daemon ran, logged. Time moves by the test clock (--clock-offset and
POST /api/v1/test/clock), never by sleeping."""
import datetime
import json
import time

import pytest

from conftest import running_daemon

PRINTER = """import json
def handler(event, context):
    print("event " + json.dumps(event, sort_keys=True))
    return "ok"
"""


def make(d, name="tick"):
    r = d.request("POST", "/api/v1/functions", {"name": name, "runtime": "python3.11", "handler": "index.handler",
                                                "code": PRINTER})
    assert r.status == 201, r


def put(d, sid, body, fn="tick"):
    return d.request("PUT", f"/api/v1/functions/{fn}/schedules/{sid}", body)


def events(d, fn="tick"):
    text = d.request("GET", f"/api/v1/functions/{fn}/logs?tail=1000").body.decode()
    return [json.loads(l.split("event ", 1)[1]) for l in text.splitlines() if l.startswith("event ")]


def wait_events(d, n, fn="tick", seconds=30):
    deadline = time.monotonic() + seconds
    while len(events(d, fn)) < n:
        assert time.monotonic() < deadline, events(d, fn)
        time.sleep(0.05)
    return events(d, fn)


def parse(ts):
    return datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)


def clock(d, advance_s=0):
    r = d.request("POST", "/api/v1/test/clock", {"advance_s": advance_s})
    assert r.status == 200, r
    return parse(r.json()["now"])


def test_put_get_list_delete_and_the_function_s_delete_takes_them(daemon):
    make(daemon)
    r = put(daemon, "nightly", {"expression": "cron(0 2 * * ? *)"})
    assert r.status == 201, r
    view = r.json()
    assert set(view) == {"id", "expression", "input", "enabled", "created_at", "updated_at", "last_fired_at",
                         "next_fire_at"}
    assert (view["id"], view["expression"], view["input"], view["enabled"], view["last_fired_at"]) == (
        "nightly", "cron(0 2 * * ? *)", None, True, None)
    nxt = parse(view["next_fire_at"])
    assert (nxt.hour, nxt.minute, nxt.second) == (2, 0, 0)
    assert datetime.timedelta(0) < nxt - parse(view["created_at"]) <= datetime.timedelta(days=1)
    # Replaced: 200, created_at kept; disabled: no next time.
    r = put(daemon, "nightly", {"expression": "rate(5 minutes)", "input": {"k": [1, "x"]}, "enabled": False})
    assert r.status == 200, r
    assert (r.json()["created_at"], r.json()["input"], r.json()["enabled"], r.json()["next_fire_at"]) == (
        view["created_at"], {"k": [1, "x"]}, False, None)
    assert put(daemon, "b", {"expression": "rate(1 hour)"}).status == 201
    r = daemon.request("GET", "/api/v1/functions/tick/schedules")
    assert r.status == 200 and r.json()["max"] == 100
    assert [s["id"] for s in r.json()["schedules"]] == ["b", "nightly"]
    one = daemon.request("GET", "/api/v1/functions/tick/schedules/b").json()
    assert parse(one["next_fire_at"]) - parse(one["updated_at"]) == datetime.timedelta(hours=1)
    assert daemon.request("DELETE", "/api/v1/functions/tick/schedules/b").status == 204
    r = daemon.request("DELETE", "/api/v1/functions/tick/schedules/b")
    assert (r.status, r.json()["errorMessage"]) == (404, "function 'tick' has no schedule 'b'")
    r = daemon.request("GET", "/api/v1/functions/tick/schedules/b")
    assert (r.status, r.json()["errorType"]) == (404, "ResourceNotFoundException")
    assert daemon.request("DELETE", "/api/v1/functions/tick").status == 204
    make(daemon)
    assert daemon.request("GET", "/api/v1/functions/tick/schedules").json()["schedules"] == []
    r = daemon.request("GET", "/api/v1/functions/nope/schedules")
    assert (r.status, r.json()["errorMessage"]) == (404, "function 'nope' not found")


@pytest.mark.parametrize("body, message", [
    ({"expression": "cron(61 * * * ? *)"}, 'cron minutes field "61": 61 is outside 0-59'),
    ({"expression": "rate(1 minutes)"}, 'rate(1 minutes): use "minute" when the value is 1'),
    ({"expression": "rate(0 minutes)"}, "rate(0 minutes): the value must be a positive integer"),
    ({"expression": "cron(0 12 * * * *)"}, 'cron: one of day-of-month and day-of-week must be "?"'),
    ({"expression": "cron(0 12 * * ?)"},
     "cron needs six fields (minutes hours day-of-month month day-of-week year), got 5"),
    ({"expression": "every day"}, "expression must be rate(...) or cron(...)"),
    ({"expression": "rate(5 minutes)" + " " * 300}, None),
    ({"expression": 5}, "expression must be a string: rate(...) or cron(...)"),
    ({}, "expression must be a string: rate(...) or cron(...)"),
    ({"expression": "rate(5 minutes)", "when": 1}, "unknown field 'when' (a schedule takes expression, input and "
                                                   "enabled)"),
    ({"expression": "rate(5 minutes)", "enabled": "yes"}, "enabled must be true or false"),
    ({"expression": "rate(5 minutes)", "input": "x" * 8191}, "input is larger than 8192 bytes as JSON"),
])
def test_bad_schedules_are_refused_and_change_nothing(daemon, body, message):
    make(daemon)
    r = put(daemon, "s", body)
    assert (r.status, r.json()["errorType"]) == (400, "InvalidParameterValueException"), r
    if message:
        assert r.json()["errorMessage"] == message
    assert daemon.request("GET", "/api/v1/functions/tick/schedules").json()["schedules"] == []


def test_bad_ids_bodies_and_the_limit(daemon):
    make(daemon)
    for sid in ("a%20b", "x" * 65, "a%2Fb", "%C3%A9"):
        r = put(daemon, sid, {"expression": "rate(1 day)"})
        assert (r.status, r.json()["errorMessage"]) == (
            400, "a schedule's id is 1 to 64 letters, digits, '.', '_' or '-'"), sid
    r = daemon.request("PUT", "/api/v1/functions/tick/schedules/s", b"{not json")
    assert r.status == 400, r
    r = daemon.request("PUT", "/api/v1/functions/tick/schedules/s", [1])
    assert r.status == 400, r
    for i in range(100):
        assert put(daemon, f"s{i}", {"expression": "rate(1 day)"}).status == 201
    r = put(daemon, "one-more", {"expression": "rate(1 day)"})
    assert (r.status, r.json()["errorType"], r.json()["errorMessage"]) == (
        409, "ResourceConflictException", "function 'tick' has 100 schedules, the most it may have")
    assert put(daemon, "s7", {"expression": "rate(2 days)"}).status == 200  # a replace is no new one
    assert len(daemon.request("GET", "/api/v1/functions/tick/schedules").json()["schedules"]) == 100


def test_the_test_clock_is_off_without_the_flag(daemon):
    r = daemon.request("POST", "/api/v1/test/clock", {"advance_s": 60})
    assert (r.status, r.json()["errorMessage"]) == (
        404, "the test clock is off (a daemon started with --clock-offset has it)")


def test_firings_run_the_function_with_eventbridge_s_event_or_the_input():
    with running_daemon(["--clock-offset", "0"]) as d:
        make(d)
        for bad in ({"advance_s": -1}, {"advance_s": "1"}, {}, {"advance_s": 1, "x": 2}):
            r = d.request("POST", "/api/v1/test/clock", bad)
            assert (r.status, r.json()["errorMessage"]) == (
                400, 'the body is {"advance_s": N}, N whole seconds from 0 to 10 years'), bad
        view = put(d, "noon", {"expression": "cron(0 12 * * ? *)"}).json()
        due = parse(view["next_fire_at"])
        now = clock(d)
        clock(d, int((due - now).total_seconds()) - 1)  # a second early: nothing
        time.sleep(0.2)
        assert events(d) == []
        clock(d, 1)
        [ev] = wait_events(d, 1)
        assert set(ev) == {"version", "id", "detail-type", "source", "account", "time", "region", "resources",
                           "detail"}
        assert (ev["version"], ev["detail-type"], ev["source"], ev["account"], ev["region"], ev["detail"]) == (
            "0", "Scheduled Event", "aws.events", "000000000000", "us-east-1", {})
        assert ev["time"] == due.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert ev["resources"] == ["arn:aws:events:us-east-1:000000000000:rule/impuls-tick-noon"]
        view = d.request("GET", "/api/v1/functions/tick/schedules/noon").json()
        assert parse(view["last_fired_at"]) == due
        assert parse(view["next_fire_at"]) == due + datetime.timedelta(days=1)
        # A rate() with input: every 5 minutes from its PUT, the input as the event.
        assert d.request("DELETE", "/api/v1/functions/tick/schedules/noon").status == 204
        assert put(d, "often", {"expression": "rate(5 minutes)", "input": {"k": 1}}).status == 201
        clock(d, 300)
        clock(d, 300)
        assert wait_events(d, 3)[1:] == [{"k": 1}, {"k": 1}]
        # A disabled schedule never fires.
        assert put(d, "often", {"expression": "rate(5 minutes)", "input": {"k": 1}, "enabled": False}).status == 200
        clock(d, 3600)
        time.sleep(0.3)
        assert len(events(d)) == 3
        assert "catch-up" not in d.request("GET", "/api/v1/functions/tick/logs").body.decode()


def test_times_missed_while_no_daemon_ran_give_one_catch_up_logged():
    with running_daemon(["--clock-offset", "0"]) as d:
        make(d)
        view = put(d, "minutely", {"expression": "rate(1 minute)"}).json()
        d.stop()
        d.extra_args = [a for a in d.extra_args if a not in ("--clock-offset", "0")] + ["--clock-offset", "630"]
        d.start()  # ten and a half minutes later (the run between took less than 30 s)
        [ev] = wait_events(d, 1)
        put_at = parse(view["updated_at"]).replace(microsecond=0)
        tenth = put_at + datetime.timedelta(minutes=10)
        assert ev["time"] == tenth.strftime("%Y-%m-%dT%H:%M:%SZ")  # the last time missed
        log = d.request("GET", "/api/v1/functions/tick/logs").body.decode()
        assert log.count("[impuls] schedule minutely: one catch-up run (request ") == 1
        assert f"for {tenth.strftime('%Y-%m-%dT%H:%M:%S')}.000Z, 10 time(s) missed while no daemon ran" in log
        view = d.request("GET", "/api/v1/functions/tick/schedules/minutely").json()
        assert parse(view["next_fire_at"]) == tenth + datetime.timedelta(minutes=1)
        time.sleep(0.3)
        assert len(events(d)) == 1


def test_the_cli_puts_lists_and_removes_schedules():
    from cli_helpers import cli
    with running_daemon(["--clock-offset", "0"]) as d:
        make(d)
        rc, out, err = cli(d, "schedule", "put", "tick", "hourly", "rate(1 hour)", "--input", '{"from": "cli"}')
        next_at = d.request("GET", "/api/v1/functions/tick/schedules/hourly").json()["next_fire_at"]
        assert (rc, out, err) == (0, f"scheduled tick/hourly: rate(1 hour), next at {next_at}\n", "")
        rc, out, err = cli(d, "schedule", "put", "tick", "hourly", "rate(2 hours)", "--disabled")
        assert (rc, out, err) == (0, "rescheduled tick/hourly: rate(2 hours), next at -\n", "")
        rc, out, err = cli(d, "schedule", "ls", "tick")
        assert rc == 0 and out.splitlines()[1].split() == ["hourly", "rate(2", "hours)", "no", "-", "-"], out
        rc, out, err = cli(d, "schedule", "put", "tick", "x", "rate(1 hours)")
        assert (rc, out, err) == (1, "", 'impuls: rate(1 hours): use "hour" when the value is 1'
                                         " (InvalidParameterValueException, HTTP 400)\n")
        rc, out, err = cli(d, "schedule", "put", "tick", "x", "rate(1 hour)", "--input", "{no")
        assert (rc, out) == (2, "") and err.startswith("impuls: --input is not JSON: "), err
        assert cli(d, "schedule", "rm", "tick", "hourly") == (0, "removed tick/hourly\n", "")
        rc, out, err = cli(d, "schedule", "rm", "tick", "hourly")
        assert (rc, out, err) == (1, "", "impuls: function 'tick' has no schedule 'hourly'"
                                         " (ResourceNotFoundException, HTTP 404)\n")
        for args in (("schedule",), ("schedule", "ls"), ("schedule", "rm", "tick"), ("schedule", "ls", "tick", "x"),
                     ("schedule", "rm", "tick", "a", "--input", "{}")):
            rc, out, err = cli(d, *args)
            assert (rc, out) == (2, "") and err.startswith("usage: impuls schedule put"), args
