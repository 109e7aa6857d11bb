"""Published versions and aliases through the REST API (docs/api.md,
"Versions and aliases"): publish makes a version's number a qualifier only
when the function changed since the last; each version has its own
instances (an update of $LATEST leaves them warm); an alias names a version
and may send an exact share of the calls to a second one; a version an
alias names cannot be deleted; the function's delete takes them all."""
import pytest

CODE = "def handler(event, context):\n    return {'v': %d}\n"


def make(d, v=1, name="f"):
    r = d.request("POST", "/api/v1/functions", {"name": name, "runtime": "python3.11", "handler": "index.handler",
                                                "code": CODE % v})
    assert r.status == 201, r


def update(d, v, name="f"):
    r = d.request("PUT", f"/api/v1/functions/{name}", {"code": CODE % v})
    assert r.status == 200, r


def publish(d, name="f", body=None, status=201):
    r = d.request("POST", f"/api/v1/functions/{name}/publish", body if body is not None else b"")
    assert r.status == status, r
    return r.json()


def call(d, qualifier=None, name="f"):
    q = "" if qualifier is None else f"?qualifier={qualifier}"
    return d.request("POST", f"/api/v1/functions/{name}/invoke{q}", {})


def test_publish_call_by_number_and_versions_keep_their_own_instances(daemon):
    make(daemon, 1)
    v1 = publish(daemon, body={"description": "first"})
    assert (v1["version"], v1["published"], v1["published_description"]) == (1, True, "first")
    assert publish(daemon, status=200)["version"] == 1  # nothing changed: the same version
    update(daemon, 2)
    assert publish(daemon)["version"] == 2
    update(daemon, 3)
    for q, want, executed in ((None, 3, None), ("$LATEST", 3, None), ("1", 1, "1"), ("2", 2, "2")):
        r = call(daemon, q)
        assert (r.status, r.json()) == (200, {"v": want}), (q, r)
        assert r.headers.get("X-Amz-Executed-Version") == executed
    versions = daemon.request("GET", "/api/v1/functions/f/versions").json()["versions"]
    assert [(v["version"], v["published"]) for v in versions] == [(1, True), (2, True), (3, False)]
    # Each version its own instance; an update of $LATEST leaves the versions' warm.
    inst = {i["version"]: i["id"] for i in daemon.instances("f") if i["state"] != "dying"}
    assert sorted(inst) == [1, 2, 3]
    update(daemon, 4)
    assert call(daemon, "1").json() == {"v": 1}
    after = {i["version"]: i["id"] for i in daemon.instances("f") if i["state"] != "dying"}
    assert after[1] == inst[1] and after[2] == inst[2] and 3 not in after
    # Published versions outlive the 10 kept: twelve updates later, 1 still runs.
    for v in range(5, 17):
        update(daemon, v)
    assert call(daemon, "1").json() == {"v": 1}
    nums = [v["version"] for v in daemon.request("GET", "/api/v1/functions/f/versions").json()["versions"]]
    assert nums == [1, 2] + list(range(7, 17))


def test_aliases_route_and_split_calls_exactly(daemon):
    make(daemon, 1)
    publish(daemon)
    update(daemon, 2)
    publish(daemon)
    r = daemon.request("POST", "/api/v1/functions/f/aliases", {"name": "live", "version": 1, "description": "prod"})
    assert r.status == 201, r
    live = r.json()
    assert (live["name"], live["version"], live["description"], live["routing"]) == ("live", 1, "prod", None)
    assert call(daemon, "live").json() == {"v": 1}
    r = daemon.request("PUT", "/api/v1/functions/f/aliases/live", {"version": 2, "routing": {"version": 1, "weight": 0.1}})
    assert r.status == 200, r
    assert (r.json()["version"], r.json()["routing"], r.json()["description"]) == (2, {"version": 1, "weight": 0.1},
                                                                                   "prod")
    assert r.json()["revision"] != live["revision"] and r.json()["created_at"] == live["created_at"]
    executed = [call(daemon, "live").headers["X-Amz-Executed-Version"] for _ in range(100)]
    assert executed.count("1") == 10 and executed.count("2") == 90
    assert executed[9] == "1" and executed[19] == "1"  # every tenth: spread, not bunched
    r = daemon.request("POST", "/api/v1/functions/f/aliases", {"name": "edge", "version": "$LATEST"})
    assert r.status == 201 and r.json()["version"] == "$LATEST", r
    update(daemon, 3)
    assert call(daemon, "edge").json() == {"v": 3}
    aliases = daemon.request("GET", "/api/v1/functions/f/aliases").json()["aliases"]
    assert [a["name"] for a in aliases] == ["edge", "live"]
    assert daemon.request("GET", "/api/v1/functions/f/aliases/live").json()["version"] == 2
    # A version an alias names stays; unnamed, it goes.
    for v in ("1", "2"):
        r = daemon.request("DELETE", f"/api/v1/functions/f/versions/{v}")
        assert (r.status, r.json()["errorType"], r.json()["errorMessage"]) == (
            409, "ResourceConflictException",
            f"version {v} of 'f' is named by an alias: point the alias elsewhere or delete it first")
    assert daemon.request("PUT", "/api/v1/functions/f/aliases/live", {"routing": None}).json()["routing"] is None
    assert daemon.request("DELETE", "/api/v1/functions/f/versions/1").status == 204
    r = call(daemon, "1")
    assert (r.status, r.json()["errorMessage"]) == (404, "function 'f' has no version 1")
    assert daemon.request("DELETE", "/api/v1/functions/f/aliases/live").status == 204
    r = daemon.request("DELETE", "/api/v1/functions/f/aliases/live")
    assert (r.status, r.json()["errorMessage"]) == (404, "function 'f' has no alias 'live'")
    assert daemon.request("DELETE", "/api/v1/functions/f/versions/2").status == 204
    # The function's delete takes its versions and aliases.
    publish(daemon)
    assert daemon.request("DELETE", "/api/v1/functions/f").status == 204
    make(daemon, 9)
    assert daemon.request("GET", "/api/v1/functions/f/aliases").json()["aliases"] == []
    assert [v["published"] for v in daemon.request("GET", "/api/v1/functions/f/versions").json()["versions"]] == [
        False]
    assert call(daemon, "edge").status == 404
    assert call(daemon, "3").status == 404


@pytest.mark.parametrize("body, status, message", [
    ({"name": "123", "version": 1}, 400, "name must be 1 to 128 letters, digits, '-' or '_', not all digits"),
    ({"name": "a b", "version": 1}, 400, "name must be 1 to 128 letters, digits, '-' or '_', not all digits"),
    ({"name": "x" * 129, "version": 1}, 400, "name must be 1 to 128 letters, digits, '-' or '_', not all digits"),
    ({"name": "a"}, 400, "version is required"),
    ({"name": "a", "version": "1"}, 400, 'version must be a published version\'s number or "$LATEST"'),
    ({"name": "a", "version": 0}, 400, 'version must be a published version\'s number or "$LATEST"'),
    ({"name": "a", "version": 7}, 404, "function 'f' has no version 7"),
    ({"name": "a", "version": 2}, 404, "function 'f' has no version 2"),  # a version, not published
    ({"name": "a", "version": 1, "routing": {"version": 1, "weight": 0.5}}, 400,
     "an alias's second version must be another than its own"),
    ({"name": "a", "version": "$LATEST", "routing": {"version": 1, "weight": 0.5}}, 400,
     "an alias that sends calls to a second version must name a published version, not $LATEST"),
    ({"name": "a", "version": 1, "routing": {"version": "$LATEST", "weight": 0.5}}, 400,
     "an alias's second version must be a published one, not $LATEST"),
    ({"name": "a", "version": 1, "routing": {"version": 1}}, 400, 'routing is {"version": N, "weight": 0.0-1.0}, or null'),
    ({"name": "a", "version": 1, "routing": {"a": 1, "b": 2}}, 400,
     'routing is {"version": N, "weight": 0.0-1.0}, or null'),
    ({"name": "a", "version": "$LATEST", "routing": {"version": 1, "weight": 1.0}}, 400,
     "a version's weight must be a number from 0.0 to below 1.0"),
    ({"name": "a", "version": 1, "description": 5}, 400, "description must be a string of at most 256 bytes"),
    ({"name": "a", "version": 1, "extra": 1}, 400, "unknown field 'extra' (an alias takes name, version, description, "
                                                   "routing)"),
])
def test_bad_aliases_are_refused_and_change_nothing(daemon, body, status, message):
    make(daemon, 1)
    publish(daemon)
    update(daemon, 2)
    r = daemon.request("POST", "/api/v1/functions/f/aliases", body)
    assert (r.status, r.json()["errorMessage"]) == (status, message), r
    assert daemon.request("GET", "/api/v1/functions/f/aliases").json()["aliases"] == []


def test_bad_qualifiers_versions_and_publishes(daemon):
    make(daemon, 1)
    publish(daemon)
    for q, status, message in (("0", 400, "the qualifier '0' is neither $LATEST, a version's number nor an alias's name"),
                               ("01", 400, "the qualifier '01' is neither $LATEST, a version's number nor an alias's "
                                           "name"),
                               ("a%24b", 400, "the qualifier 'a$b' is neither $LATEST, a version's number nor an "
                                              "alias's name"),
                               ("9", 404, "function 'f' has no version 9"),
                               ("nope", 404, "function 'f' has no alias 'nope'")):
        r = call(daemon, q)
        assert (r.status, r.json()["errorMessage"]) == (status, message), q
    r = daemon.request("POST", "/api/v1/functions/f/aliases", {"name": "a", "version": 1})
    assert r.status == 201
    r = daemon.request("POST", "/api/v1/functions/f/aliases", {"name": "a", "version": 1})
    assert (r.status, r.json()["errorMessage"]) == (409, "function 'f' has an alias 'a' already")
    r = daemon.request("PUT", "/api/v1/functions/f/aliases/b", {"version": 1})
    assert (r.status, r.json()["errorMessage"]) == (404, "function 'f' has no alias 'b'")
    for v, status in (("x", 400), ("0", 400), ("5", 404)):
        assert daemon.request("DELETE", f"/api/v1/functions/f/versions/{v}").status == status, v
    r = daemon.request("POST", "/api/v1/functions/f/publish", {"code_sha256": "00" * 32})
    assert (r.status, r.json()["errorType"]) == (412, "PreconditionFailedException"), r
    r = daemon.request("POST", "/api/v1/functions/f/publish", {"bogus": 1})
    assert r.status == 400, r
    r = daemon.request("POST", "/api/v1/functions/nope/publish", b"")
    assert (r.status, r.json()["errorMessage"]) == (404, "function 'nope' not found")
    r = daemon.request("POST", "/api/v1/functions/nope/invoke?qualifier=1", {})
    assert (r.status, r.json()["errorMessage"]) == (404, "function 'nope' not found")
