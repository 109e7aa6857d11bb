"""The daemon's recent figures for the web console (docs/api.md, "Figures"):
GET /api/v1/figures (every function now) and GET .../figures (one function's
last hour by minute, with p50 and p99 from the duration histogram)."""
import datetime

CODE = ("def handler(event, context):\n"
        "    if event.get('fail'):\n"
        "        raise ValueError('asked to fail')\n"
        "    return 'ok'\n")


def make(d, name, **extra):
    r = d.request("POST", "/api/v1/functions", dict({"name": name, "runtime": "python3.11",
                                                     "handler": "index.handler", "code": CODE}, **extra))
    assert r.status == 201, r


def figures(d, name=None):
    r = d.request("GET", f"/api/v1/functions/{name}/figures" if name else "/api/v1/figures")
    assert r.status == 200, r
    return r.json()


def test_calls_show_in_the_last_minute_the_last_call_and_their_minute(daemon):
    make(daemon, "fg")
    make(daemon, "idle")
    before = datetime.datetime.now(datetime.timezone.utc)
    for event in ({}, {}, {}, {"fail": True}):
        assert daemon.invoke("fg", event).status == (500 if event else 200)
    after = datetime.datetime.now(datetime.timezone.utc)
    listed = figures(daemon)["functions"]
    assert [f["name"] for f in listed] == ["fg", "idle"]
    fg, idle = listed
    assert idle == {"name": "idle", "instances": {"starting": 0, "idle": 0, "busy": 0}, "queued": 0,
                    "lastCall": None, "lastMinute": {"invocations": 0, "errors": 0, "throttles": 0}}
    assert fg["lastMinute"] == {"invocations": 4, "errors": 1, "throttles": 0}
    assert fg["instances"]["starting"] == 0 and fg["instances"]["idle"] + fg["instances"]["busy"] == 1
    assert fg["lastCall"]["outcome"] == "error" and fg["lastCall"]["durationMs"] > 0
    at = datetime.datetime.fromisoformat(fg["lastCall"]["at"].replace("Z", "+00:00"))
    assert before - datetime.timedelta(seconds=1) <= at <= after + datetime.timedelta(seconds=1)

    one = figures(daemon, "fg")
    asked = datetime.datetime.now(datetime.timezone.utc)
    assert {k: one[k] for k in ("name", "lastCall", "lastMinute")} == \
        {"name": "fg", "lastCall": fg["lastCall"], "lastMinute": fg["lastMinute"]}
    minutes = one["minutes"]
    assert len(minutes) == 60
    starts = [datetime.datetime.fromisoformat(m["start"].replace("Z", "+00:00")) for m in minutes]
    assert all(b - a == datetime.timedelta(minutes=1) for a, b in zip(starts, starts[1:]))
    assert all(m["start"].endswith(":00Z") and len(m["start"]) == 20 for m in minutes)
    # The last is the minute it was asked in: the calls' own, or one after.
    assert starts[-1] <= asked < starts[-1] + datetime.timedelta(minutes=1) and starts[-1] > after - datetime.timedelta(minutes=1)
    ran = [m for m in minutes if m["invocations"]]
    assert sum(m["invocations"] for m in ran) == 4 and sum(m["errors"] for m in ran) == 1
    for m in minutes:
        if m["invocations"]:
            assert 0 < m["p50Ms"] <= m["p99Ms"] <= 900000, m
        else:
            assert (m["p50Ms"], m["p99Ms"], m["errors"], m["throttles"]) == (None, None, 0, 0), m


def test_throttled_calls_count_apart_and_have_no_duration(daemon):
    make(daemon, "shut", concurrency=0)
    r = daemon.invoke("shut", {})
    assert r.status == 429, r
    f = figures(daemon, "shut")
    assert f["lastMinute"] == {"invocations": 1, "errors": 0, "throttles": 1}
    assert f["lastCall"]["outcome"] == "throttled"
    (m,) = [m for m in f["minutes"] if m["invocations"]]
    assert (m["throttles"], m["p50Ms"], m["p99Ms"]) == (1, None, None)


def test_a_published_version_counts_with_its_function_and_deleted_ones_go(daemon):
    make(daemon, "vf")
    assert daemon.request("POST", "/api/v1/functions/vf/publish", {}).status == 201
    assert daemon.invoke("vf", {}, query="?qualifier=1").status == 200
    assert daemon.invoke("vf", {}).status == 200
    assert figures(daemon, "vf")["lastMinute"]["invocations"] == 2
    assert daemon.request("DELETE", "/api/v1/functions/vf").status == 204
    assert figures(daemon)["functions"] == []
    r = daemon.request("GET", "/api/v1/functions/vf/figures")
    assert (r.status, r.json()["errorMessage"]) == (404, "function 'vf' not found")

