"""Every route with a wrong method (405 + Allow), unknown routes (404), bad
function names in the path (400), a missing function (404), a duplicate
create (409) and bad query values -- none of which may store, change,
delete or invoke anything."""
import pytest

from badinput_helpers import (FN, IPV, KEEP, NODE_HELLO, PATH_NAME_MSG, box_fixture,
                              valid_spec)

box = box_fixture()

NOT_FOUND = ("NotFound", "no such route")


def not_allowed(allow):
    return f"method not allowed here; allowed: {allow}"


WRONG_METHODS = [
    ("/healthz", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"], "GET, HEAD"),
    ("/api/v1/runtimes", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"], "GET"),
    (FN, ["PUT", "DELETE", "PATCH", "OPTIONS"], "GET, POST"),
    (f"{FN}/{KEEP}", ["POST", "PATCH", "OPTIONS"], "GET, PUT, DELETE"),
    (f"{FN}/{KEEP}/invoke", ["GET", "PUT", "DELETE", "PATCH", "OPTIONS"], "POST"),
    (f"{FN}/{KEEP}/logs", ["POST", "PUT", "DELETE", "PATCH"], "GET"),
    (f"{FN}/{KEEP}/instances", ["POST", "PUT", "DELETE", "PATCH"], "GET"),
    # The method is checked before the function is looked up.
    (f"{FN}/missing", ["POST", "PATCH"], "GET, PUT, DELETE"),
    (f"{FN}/missing/invoke", ["GET", "DELETE"], "POST"),
]
METHOD_CASES = [(m, p, a) for p, ms, a in WRONG_METHODS for m in ms]


@pytest.mark.parametrize("method,path,allow", METHOD_CASES, ids=[f"{m} {p}" for m, p, _ in METHOD_CASES])
def test_wrong_method_is_405_with_allow(box, method, path, allow):
    # A body that would be a valid create/update must not sneak through.
    body = valid_spec(name=KEEP, memory_mb=1024) if method in ("POST", "PUT", "PATCH") else None
    box.reject(method, path, body, 405, "MethodNotAllowed", not_allowed(allow), allow=allow)


UNKNOWN_ROUTES = [
    ("GET", "/"), ("GET", "/nope"), ("GET", "/api"), ("GET", "/api/v1"), ("GET", "/api/v2/functions"),
    ("GET", "/api/v1/function"), ("GET", "/API/v1/functions"), ("GET", "/api/V1/functions"),
    ("GET", "/healthz/x"), ("GET", "/api/v1/runtimes/x"), ("GET", f"{FN}/{KEEP}/nope"),
    ("POST", f"{FN}/{KEEP}/invoke/x"), ("GET", f"{FN}/{KEEP}/logs/x"), ("DELETE", f"{FN}/{KEEP}/x"),
    ("DELETE", f"{FN}/{KEEP}/invoke/../.."), ("GET", "/a/b/c/d/e/f/g"),
    ("GET", "/api//v1/functions"), ("GET", f"{FN}/{KEEP}/INVOKE"),
    ("GET", "/" + "a" * 300),
    # An encoded NUL never names "keep" (a C string would stop at it).
    ("GET", f"{FN}/{KEEP}%00"), ("DELETE", f"{FN}/{KEEP}%00"), ("PUT", f"{FN}/{KEEP}%00"),
    ("POST", f"{FN}/{KEEP}%00/invoke"), ("GET", f"{FN}/{KEEP}%00x/logs"), ("GET", f"{FN}/a%00b"),
    ("GET", "/healthz%00"), ("POST", f"{FN}%00"),
]


@pytest.mark.parametrize("method,path", UNKNOWN_ROUTES, ids=[f"{m} {p}"[:60] for m, p in UNKNOWN_ROUTES])
def test_unknown_route_is_404(box, method, path):
    body = valid_spec(memory_mb=256) if method in ("POST", "PUT") else None
    box.reject(method, path, body, 404, *NOT_FOUND)


BAD_PATH_NAMES = ["..", ".", "..%2F..%2Fetc", "%2E%2E", "a%2Fb", "keep%2F", "%2Fkeep", "keep%2F..%2Fkeep",
                  "-keep", "_keep", "a" * 65, "a" * 255, "%C3%A9", "caf%C3%A9", "a.b", "a%20b", "keep%20",
                  "a+b", "%zz", "%", "keep%0A", "a%5Cb", "~keep", "%E2%84%AAeep"]


@pytest.mark.parametrize("name", BAD_PATH_NAMES, ids=[n[:30] for n in BAD_PATH_NAMES])
@pytest.mark.parametrize("method,suffix", [("GET", ""), ("PUT", ""), ("DELETE", ""), ("POST", "/invoke"),
                                           ("GET", "/logs"), ("GET", "/instances")],
                         ids=["get", "update", "delete", "invoke", "logs", "instances"])
def test_bad_name_in_the_path_is_400(box, method, suffix, name):
    body = {"memory_mb": 256} if method == "PUT" else None
    box.reject(method, f"{FN}/{name}{suffix}", body, 400, IPV, PATH_NAME_MSG)


def test_empty_name_segment_is_400(box):
    box.reject("POST", f"{FN}//invoke", None, 400, IPV, PATH_NAME_MSG)


MISSING = ["missing", "a" * 64, "Keep", "KEEP", "keep2", "kee"]


@pytest.mark.parametrize("name", MISSING, ids=[n[:20] for n in MISSING])
@pytest.mark.parametrize("method,suffix,body", [
    ("GET", "", None), ("GET", "?code=true", None), ("PUT", "", {"memory_mb": 256}),
    ("PUT", "", valid_spec(name="missing")), ("PUT", "", b"{not json"), ("DELETE", "", None),
    ("POST", "/invoke", b"{}"), ("POST", "/invoke", b"not json"), ("POST", "/invoke", None),
    ("GET", "/logs", None), ("GET", "/logs?tail=abc", None), ("GET", "/instances", None)],
    ids=["get", "get_code", "update", "update_full_spec", "update_bad_json", "delete", "invoke",
         "invoke_bad_json", "invoke_empty", "logs", "logs_bad_tail", "instances"])
def test_missing_function_is_404_on_every_route(box, method, suffix, body, name):
    # The existence check comes first; an update never creates ("upserts").
    box.reject(method, f"{FN}/{name}{suffix}", body, 404, "ResourceNotFoundException", f"function '{name}' not found")


def test_encoded_valid_name_reaches_the_function(box):
    # Control for the NUL cases above: percent-encoding by itself is fine.
    r = box.request("GET", f"{FN}/%6Beep")
    assert r.status == 200 and r.json()["name"] == KEEP


@pytest.mark.parametrize("spec", [
    valid_spec(name=KEEP),
    valid_spec(name=KEEP, runtime="python311", handler="main.handler", code="def handler(e, c):\n    return 1"),
    valid_spec(name=KEEP, code="exports.handler = async () => 'hijacked'", env={"X": "1"}),
], ids=["same_spec", "other_runtime", "other_code"])
def test_duplicate_create_is_409(box, spec):
    box.reject("POST", FN, spec, 409, "ResourceConflictException", f"function '{KEEP}' already exists")


BAD_TAILS = ["abc", "0", "10001", "-1", "1.5", "", "5abc", "0x10", "99999999999999999999", "1e3",
             "%00", "-0", "1%20"]


@pytest.mark.parametrize("tail", BAD_TAILS, ids=[repr(t) for t in BAD_TAILS])
def test_logs_with_a_bad_tail_is_400(box, tail):
    box.reject("GET", f"{FN}/{KEEP}/logs?tail={tail}", None, 400, IPV,
               "tail must be an integer from 1 to 10000")


def test_logs_tail_bounds_are_accepted(box):
    # Control: the bounds themselves are fine (so the 400s above are not
    # refusing every tail).
    for tail in ("1", "10000"):
        r = box.request("GET", f"{FN}/{KEEP}/logs?tail={tail}")
        assert r.status == 200 and r.headers["Content-Type"] == "text/plain; charset=utf-8", r
    assert box.request("GET", f"{FN}/{KEEP}/logs?tail=1").body.count(b"\n") == 1


def test_get_code_of_a_node_function_is_the_exact_code(box):
    # Control for the snapshot: ?code=true returns the stored source.
    assert box.request("GET", f"{FN}/{KEEP}?code=true").json()["code"] == NODE_HELLO
