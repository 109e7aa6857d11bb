"""/api/v1/functions: create, list, get, update, delete, runtimes, persistence."""
import time

from conftest import Daemon, NODE_HELLO


def test_create_returns_the_stored_function(daemon):
    f = daemon.create(name="f1", runtime="nodejs20", handler="index.handler", code=NODE_HELLO,
                      env={"GREETING": "hi"}, memory_mb=256, timeout_s=5)
    assert f["name"] == "f1" and f["runtime"] == "nodejs20" and f["handler"] == "index.handler"
    assert f["env"] == {"GREETING": "hi"}
    assert (f["memory_mb"], f["timeout_s"], f["concurrency"], f["idle_timeout_s"]) == (256, 5, 10, 300)
    assert f["code_size"] == len(NODE_HELLO)
    assert len(f["code_sha256"]) == 64
    assert f["created_at"].endswith("Z") and f["created_at"] == f["updated_at"]
    assert "code" not in f


def test_duplicate_create_is_409_and_changes_nothing(daemon):
    daemon.create(name="dup", runtime="nodejs20", handler="index.handler", code=NODE_HELLO)
    r = daemon.request("POST", "/api/v1/functions",
                       {"name": "dup", "runtime": "python311", "handler": "main.handler",
                        "code": "def handler(e, c): return 1"})
    assert r.status == 409
    assert r.json() == {"errorType": "ResourceConflictException",
                        "errorMessage": "function 'dup' already exists"}
    assert daemon.request("GET", "/api/v1/functions/dup").json()["runtime"] == "nodejs20"
    assert daemon.invoke("dup").text == "Hello from Impuls!"


def test_bad_specs_are_400_with_a_clear_message(daemon):
    cases = [
        ({"runtime": "nodejs20", "code": "x"}, "name is required"),
        ({"name": "../x", "runtime": "nodejs20", "code": "x"},
         "name must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"),
        ({"name": "a" * 65, "runtime": "nodejs20", "code": "x"},
         "name must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"),
        ({"name": "x", "runtime": "cobol", "code": "x"},
         "unknown runtime 'cobol' (see GET /api/v1/runtimes)"),
        ({"name": "x", "runtime": "nodejs20"}, "code or zip is required"),
        ({"name": "x", "runtime": "nodejs20", "code": ""}, "code must not be empty"),
        ({"name": "x", "runtime": "nodejs20", "code": "x", "handler": "index."},
         "handler 'index.': the function name after the last '.' is missing or invalid"),
        ({"name": "x", "runtime": "nodejs20", "code": "x", "handler": "../etc.handler"},
         "handler '../etc.handler': module name is missing or not relative"),
        ({"name": "x", "runtime": "nodejs20", "code": "x", "memory_mb": 1},
         "memory_mb must be between 64 and 10240"),
        ({"name": "x", "runtime": "nodejs20", "code": "x", "timeout_s": "30"},
         "timeout_s must be an integer"),
        ({"name": "x", "runtime": "nodejs20", "code": "x", "env": {"A": 1}},
         "env.A must be a string"),
        ({"name": "x", "runtime": "nodejs20", "code": "x", "colour": "red"},
         "unknown field 'colour'"),
        ([1, 2], "request body must be a JSON object"),
    ]
    for body, message in cases:
        r = daemon.request("POST", "/api/v1/functions", body)
        assert (r.status, r.json()) == (400, {"errorType": "InvalidParameterValueException",
                                              "errorMessage": message}), body
    r = daemon.request("POST", "/api/v1/functions", "{not json")
    assert r.status == 400 and r.json()["errorType"] == "InvalidRequestContentException"
    assert daemon.request("GET", "/api/v1/functions").json() == {"functions": [], "count": 0}


def test_list_get_and_code(daemon):
    for n in ("b", "a"):
        daemon.create(name=n, runtime="nodejs20", handler="index.handler", code=NODE_HELLO)
    listing = daemon.request("GET", "/api/v1/functions").json()
    assert [f["name"] for f in listing["functions"]] == ["a", "b"] and listing["count"] == 2
    got = daemon.request("GET", "/api/v1/functions/a").json()
    assert got["name"] == "a" and "code" not in got
    got = daemon.request("GET", "/api/v1/functions/a?code=true").json()
    assert got["code"] == NODE_HELLO
    r = daemon.request("GET", "/api/v1/functions/nope")
    assert (r.status, r.json()["errorMessage"]) == (404, "function 'nope' not found")


def test_update_is_partial_and_takes_effect_at_once(daemon):
    daemon.create(name="u", runtime="nodejs20", handler="index.handler",
                  code="exports.handler = async () => 'v1'", env={"K": "1"})
    assert daemon.invoke("u").json() == "v1"
    assert len(daemon.instances("u")) == 1
    r = daemon.request("PUT", "/api/v1/functions/u", {"code": "exports.handler = async () => 'v2'"})
    assert r.status == 200, r
    f = r.json()
    assert f["version"] == 2 and f["env"] == {"K": "1"} and f["handler"] == "index.handler"
    assert daemon.invoke("u").json() == "v2"
    r = daemon.request("PUT", "/api/v1/functions/u",
                       {"env": {"K": "2"}, "code": "exports.handler = async () => process.env.K"})
    assert daemon.invoke("u").json() == "2"
    # Renaming the module keeps the code working.
    r = daemon.request("PUT", "/api/v1/functions/u", {"handler": "app.handler"})
    assert r.status == 200 and daemon.invoke("u").json() == "2"
    # Bad updates change nothing.
    r = daemon.request("PUT", "/api/v1/functions/u", {"memory_mb": 99999})
    assert r.status == 400
    r = daemon.request("PUT", "/api/v1/functions/u", {"name": "other"})
    assert r.status == 400
    assert daemon.request("GET", "/api/v1/functions/u").json()["version"] == 4
    r = daemon.request("PUT", "/api/v1/functions/missing", {"timeout_s": 3})
    assert r.status == 404


def test_delete_removes_function_instances_and_code(daemon):
    import os
    daemon.create(name="d", runtime="nodejs20", handler="index.handler", code=NODE_HELLO)
    assert daemon.invoke("d").status == 200
    sha = daemon.request("GET", "/api/v1/functions/d").json()["code_sha256"]
    assert os.path.exists(os.path.join(daemon.data_dir, "code", sha))
    r = daemon.request("DELETE", "/api/v1/functions/d")
    assert (r.status, r.body) == (204, b"")
    assert daemon.request("GET", "/api/v1/functions/d").status == 404
    assert daemon.invoke("d").status == 404
    assert daemon.request("DELETE", "/api/v1/functions/d").status == 404
    assert not os.path.exists(os.path.join(daemon.data_dir, "code", sha))
    # The code dir goes when its last instance has been reaped.
    deadline = time.time() + 5
    while os.listdir(os.path.join(daemon.data_dir, "tasks")) and time.time() < deadline:
        time.sleep(0.05)
    assert os.listdir(os.path.join(daemon.data_dir, "tasks")) == []


def test_code_shared_by_two_functions_survives_one_delete(daemon):
    for n in ("s1", "s2"):
        daemon.create(name=n, runtime="nodejs20", handler="index.handler", code=NODE_HELLO)
    daemon.request("DELETE", "/api/v1/functions/s1")
    assert daemon.invoke("s2").text == "Hello from Impuls!"


def test_runtimes_list_interpreters(daemon):
    r = daemon.request("GET", "/api/v1/runtimes").json()["runtimes"]
    by = {x["name"]: x for x in r}
    assert set(by) == {"nodejs20", "nodejs18", "python311", "python39", "provided", "go", "csharp"}
    assert by["nodejs20"]["interpreter"] == "/usr/bin/node" and by["nodejs20"]["available"]
    assert by["python39"]["interpreter"] == "/usr/bin/python3"
    assert by["provided"] == {"name": "provided", "language": "custom", "interpreter": None, "available": True}
    assert by["go"] == {"name": "go", "language": "go", "interpreter": None, "available": True}  # built, then run


def test_unknown_routes_and_methods(daemon):
    assert daemon.request("GET", "/nope").status == 404
    r = daemon.request("DELETE", "/api/v1/functions")
    assert r.status == 405 and r.headers["Allow"] == "GET, POST"
    r = daemon.request("GET", "/api/v1/functions/x/invoke")
    assert r.status == 405 and r.headers["Allow"] == "POST"
    r = daemon.request("GET", "/api/v1/functions/..%2Fetc")
    assert r.status == 400


def test_everything_survives_a_restart():
    d = Daemon().start()
    try:
        d.create(name="keep", runtime="python311", handler="main.handler",
                 code="def handler(e, c):\n    return {'kept': e['x']}", env={"A": "b"})
        assert d.invoke("keep", {"x": 1}).json() == {"kept": 1}
        assert d.stop() == 0
        d.start()
        f = d.request("GET", "/api/v1/functions/keep").json()
        assert f["env"] == {"A": "b"} and f["runtime"] == "python311"
        assert d.invoke("keep", {"x": 2}).json() == {"kept": 2}
    finally:
        assert d.stop() == 0
        assert d.leftovers() == []
        d.cleanup()


def test_versions_are_kept_per_update_and_removed_with_the_function(daemon):
    import os
    daemon.create(name="v", runtime="nodejs20", handler="index.handler", code="exports.handler = async () => 1")
    daemon.request("PUT", "/api/v1/functions/v", {"code": "exports.handler = async () => 2"})
    daemon.request("PUT", "/api/v1/functions/v", {"memory_mb": 256})
    r = daemon.request("GET", "/api/v1/functions/v/versions")
    assert r.status == 200
    got = r.json()
    assert got["count"] == 3
    assert [(v["version"], v["memory_mb"]) for v in got["versions"]] == [(1, 128), (2, 128), (3, 256)]
    assert got["versions"][0]["code_sha256"] != got["versions"][1]["code_sha256"]
    assert got["versions"][1]["code_sha256"] == got["versions"][2]["code_sha256"]
    # The code of version 1 is kept while its version is.
    assert os.path.exists(os.path.join(daemon.data_dir, "code", got["versions"][0]["code_sha256"]))
    # Only the last 10 versions are kept.
    for i in range(12):
        daemon.request("PUT", "/api/v1/functions/v", {"code": f"exports.handler = async () => {i + 10}"})
    vs = daemon.request("GET", "/api/v1/functions/v/versions").json()["versions"]
    assert [v["version"] for v in vs] == list(range(6, 16))
    assert not os.path.exists(os.path.join(daemon.data_dir, "code", got["versions"][0]["code_sha256"]))
    assert daemon.request("GET", "/api/v1/functions/nope/versions").status == 404
    assert daemon.request("DELETE", "/api/v1/functions/v").status == 204
    deadline = time.time() + 5
    while (os.listdir(os.path.join(daemon.data_dir, "tasks")) or os.listdir(os.path.join(daemon.data_dir, "code"))) \
            and time.time() < deadline:
        time.sleep(0.05)
    assert os.listdir(os.path.join(daemon.data_dir, "code")) == []
    assert os.listdir(os.path.join(daemon.data_dir, "tasks")) == []


def test_runtime_spellings_of_other_systems_are_accepted(daemon):
    for name, spelling, canonical in (("a", "python3.9", "python39"), ("b", "python3.11", "python311"),
                                      ("c", "nodejs20.x", "nodejs20"), ("d", "nodejs18.x", "nodejs18")):
        code = "def handler(e, c):\n    return 1" if canonical.startswith("python") else "exports.handler = async () => 1"
        f = daemon.create(name=name, runtime=spelling, code=code)
        assert f["runtime"] == canonical
        assert daemon.invoke(name).json() == 1
    r = daemon.request("POST", "/api/v1/functions", {"name": "e", "runtime": "python3.8", "code": "x"})
    assert (r.status, r.json()["errorMessage"]) == (400, "unknown runtime 'python3.8' (see GET /api/v1/runtimes)")
