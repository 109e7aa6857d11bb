"""Bad requests to the AWS Lambda API (/2015-03-31/functions...): malformed
bodies, wrong types for every field, bad zips, function names that name
nothing, methods not allowed, oversized and non-JSON payloads, unknown
invocation types. Each answer is Lambda-shaped (status, x-amzn-ErrorType,
{"Type": "User", "Message": ...} exactly) and changes nothing: the module's
daemon and its function "keep" are checked by badinput_helpers.Box."""
import base64
import json
import os
import sys

import pytest

from badinput_helpers import IPV, IRC, KEEP, NODE_HELLO, box_fixture

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from lambda_helpers import L, NODE_ZIP, arn, not_found, zip_bytes  # noqa: E402

box = box_fixture()

Z = base64.b64encode(NODE_ZIP).decode()
NAME_MSG = "name must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
ENV_MSG = 'Environment must be {"Variables": {...}}'
CODE_MSG = "Code must hold ZipFile (base64); S3 locations and images are not supported"
DROP = object()


def create_body(**over):
    b = {"FunctionName": "fresh", "Runtime": "nodejs20.x", "Handler": "index.handler", "Role": "r",
         "Code": {"ZipFile": Z}}
    for k, v in over.items():
        if v is DROP:
            b.pop(k, None)
        else:
            b[k] = v
    return b


def reject(box, method, path, body=None, status=400, etype=IPV, msg=None, headers=None, allow=None):
    """A bad Lambda API request: the exact Lambda-shaped error, nothing changed."""
    snap = box.snapshot()
    r = box.request(method, path, body, headers)
    try:
        try:
            got = json.loads(r.body)
        except ValueError:
            pytest.fail(f"status {r.status}: the body is not JSON: {r.body[:300]!r}")
        assert (r.status, r.headers.get("x-amzn-ErrorType"), got) == (
            status, etype, {"Type": "User", "Message": msg}), (r, dict(r.headers))
        assert r.headers["Content-Type"] == "application/json"
        if allow is not None:
            assert r.headers["Allow"] == allow
        box.unchanged(snap)
    except BaseException:
        box.undo_creates(snap)
        raise
    return r


def test_malformed_bodies(box):
    reject(box, "POST", L, b"{", etype=IRC,
           msg="request body is not valid JSON: string or '}' expected near end of file (line 1, column 1)")
    reject(box, "POST", L, b"", etype=IRC,
           msg="request body is not valid JSON: '[' or '{' expected near end of file (line 1, column 0)")
    for body in ([1], []):
        reject(box, "POST", L, json.dumps(body).encode(), msg="request body must be a JSON object")
    reject(box, "PUT", f"{L}/{KEEP}/configuration", b"x", etype=IRC,
           msg="request body is not valid JSON: '[' or '{' expected near 'x' (line 1, column 1)")
    reject(box, "PUT", f"{L}/{KEEP}/code", b"[]", msg="request body must be a JSON object")


CREATE_CASES = [
    ({"MemorySize": "x"}, "memory_mb must be an integer"),
    ({"MemorySize": 128.5}, "memory_mb must be an integer"),
    ({"MemorySize": 1}, "memory_mb must be between 64 and 10240"),
    ({"MemorySize": 10241}, "memory_mb must be between 64 and 10240"),
    ({"Timeout": -1}, "timeout_s must be between 1 and 900"),
    ({"Timeout": 0}, "timeout_s must be between 1 and 900"),
    ({"Timeout": 901}, "timeout_s must be between 1 and 900"),
    ({"Timeout": "3"}, "timeout_s must be an integer"),
    ({"Environment": [1]}, ENV_MSG),
    ({"Environment": "A=1"}, ENV_MSG),
    ({"Environment": None}, ENV_MSG),
    ({"Environment": {"Other": {}}}, ENV_MSG),
    ({"Environment": {"Variables": [1]}}, "env must be an object of string values"),
    ({"Environment": {"Variables": {"A": 1}}}, "env.A must be a string"),
    ({"Environment": {"Variables": {"A": None}}}, "env.A must be a string"),
    ({"Environment": {"Variables": {"1A": "x"}}},
     "env key '1A' is not allowed (letters, digits and '_'; reserved Lambda names refused)"),
    ({"Code": {"ZipFile": "!!!not base64"}}, "zip is not valid base64"),
    ({"Code": {"ZipFile": ""}}, "zip is empty"),
    ({"Code": {"ZipFile": 5}}, "zip must be a base64 string"),
    ({"Code": {"ZipFile": base64.b64encode(b"hello").decode()}},
     "zip is not a valid zip archive: Unrecognized archive format"),
    ({"Code": {"ZipFile": base64.b64encode(zip_bytes({})).decode()}}, "zip is empty"),
    ({"Code": {"ZipFile": base64.b64encode(zip_bytes({"index.js": "x", "../evil.js": "x"})).decode()}},
     "zip entry '../evil.js' escapes the code directory"),
    ({"Code": {"S3Bucket": "b", "S3Key": "k"}}, CODE_MSG),
    ({"Code": {"ZipFile": Z, "S3Bucket": "b"}}, CODE_MSG),
    ({"Code": {"ImageUri": "x"}}, CODE_MSG),
    ({"Code": "x"}, CODE_MSG),
    ({"Code": DROP}, "Code.ZipFile is required"),
    ({"PackageType": "Image"}, "PackageType must be Zip: container images are not supported"),
    ({"PackageType": 1}, "PackageType must be Zip: container images are not supported"),
    ({"Architectures": ["arm64"]}, 'Architectures must be ["x86_64"]'),
    ({"Architectures": ["x86_64", "arm64"]}, 'Architectures must be ["x86_64"]'),
    ({"Architectures": "x86_64"}, 'Architectures must be ["x86_64"]'),
    ({"Layers": ["arn:aws:lambda:us-east-1:1:layer:x:1"]}, "Layers are not supported: put the code in the zip"),
    ({"FunctionName": DROP}, "name is required"),
    ({"FunctionName": 5}, "name must be a string"),
    ({"FunctionName": "a" * 65}, NAME_MSG),
    ({"FunctionName": "a b"}, NAME_MSG),
    ({"FunctionName": "-a"}, NAME_MSG),
    ({"FunctionName": arn("named-by-arn")}, NAME_MSG),
    ({"FunctionName": ""}, NAME_MSG),
    ({"Runtime": DROP}, "runtime is required"),
    ({"Runtime": 3}, "runtime must be a string"),
    ({"Runtime": "ruby3.2"}, "unknown runtime 'ruby3.2' (see GET /api/v1/runtimes)"),
    ({"Handler": 3}, "handler must be a string"),
    ({"Description": "x" * 257}, "description must be a string of at most 256 bytes"),
    ({"Description": 3}, "description must be a string of at most 256 bytes"),
]


@pytest.mark.parametrize("over,msg", CREATE_CASES, ids=[f"{i}-{json.dumps(list(o))}"[:40]
                                                        for i, (o, _) in enumerate(CREATE_CASES)])
def test_create_refuses_a_bad_field(box, over, msg):
    reject(box, "POST", L, create_body(**over), msg=msg)


def test_create_of_an_existing_name_conflicts(box):
    reject(box, "POST", L, create_body(FunctionName=KEEP), status=409, etype="ResourceConflictException",
           msg=f"function '{KEEP}' already exists")


UPDATE_CASES = [
    ({"MemorySize": "x"}, "memory_mb must be an integer"),
    ({"Timeout": -1}, "timeout_s must be between 1 and 900"),
    ({"Environment": {"Variables": {"A": 1}}}, "env.A must be a string"),
    ({"Environment": "x"}, ENV_MSG),
    ({"Runtime": "ruby"}, "unknown runtime 'ruby' (see GET /api/v1/runtimes)"),
    ({"Description": ["x"]}, "description must be a string of at most 256 bytes"),
    ({"PackageType": "Image"}, "PackageType must be Zip: container images are not supported"),
]


@pytest.mark.parametrize("body,msg", UPDATE_CASES, ids=[json.dumps(b)[:30] for b, _ in UPDATE_CASES])
def test_update_configuration_refuses_a_bad_field(box, body, msg):
    reject(box, "PUT", f"{L}/{KEEP}/configuration", body, msg=msg)


CODE_CASES = [
    ({}, "ZipFile is required"),
    ({"ZipFile": "!!"}, "zip is not valid base64"),
    ({"ZipFile": ""}, "zip is empty"),
    ({"ZipFile": base64.b64encode(zip_bytes({"../../x": "x"})).decode()}, "zip entry '../../x' escapes the code directory"),
    ({"S3Bucket": "b", "S3Key": "k"}, "only ZipFile is supported: S3 locations and images are not"),
    ({"ImageUri": "x", "ZipFile": Z}, "only ZipFile is supported: S3 locations and images are not"),
    ({"ZipFile": Z, "Architectures": ["arm64"]}, 'Architectures must be ["x86_64"]'),
]


@pytest.mark.parametrize("body,msg", CODE_CASES, ids=[json.dumps(b)[:30] for b, _ in CODE_CASES])
def test_update_code_refuses_bad_code(box, body, msg):
    reject(box, "PUT", f"{L}/{KEEP}/code", body, msg=msg)


# Names that name no function: 404 with the name as given (decoded) after the prefix.
UNKNOWN_NAMES = [
    ("a" * 65, "a" * 65),
    ("a%20b", "a b"),
    ("bad.chars", "bad.chars"),
    ("..", ".."),
    ("%2e%2e", ".."),
    (f"{KEEP}:1", f"{KEEP}:1"),
    (f"{KEEP}:%24LATEST%24", f"{KEEP}:$LATEST$"),
    ("arn:aws:s3:::bucket", "arn:aws:s3:::bucket"),
]


@pytest.mark.parametrize("given,shown", UNKNOWN_NAMES, ids=[g[:30] for g, _ in UNKNOWN_NAMES])
def test_names_that_name_nothing(box, given, shown):
    for method, suffix, body in (("GET", "", None), ("GET", "/configuration", None), ("DELETE", "", None),
                                 ("POST", "/invocations", b"{}"), ("PUT", "/code", {"ZipFile": Z}),
                                 ("PUT", "/configuration", {"Timeout": 5})):
        reject(box, method, f"{L}/{given}{suffix}", body, status=404, etype="ResourceNotFoundException",
               msg=f"Function not found: arn:aws:lambda:us-east-1:000000000000:function:{shown}")


@pytest.mark.parametrize("given", [arn("nothere"), arn(""), arn("nothere") + ":$LATEST"])
def test_an_arn_naming_nothing_is_quoted_once(box, given):
    reject(box, "GET", f"{L}/{given}", status=404, etype="ResourceNotFoundException",
           msg=f"Function not found: {given}")


@pytest.mark.parametrize("given", [f"arn:aws:lambda:eu-west-1:111111111111:function:{KEEP}",
                                   f"123:function:{KEEP}"])
def test_an_arn_of_another_account_names_nothing(box, given):
    reject(box, "GET", f"{L}/{given}", status=404, etype="ResourceNotFoundException",
           msg=f"Function not found: {given}")


def test_a_path_segment_too_long_is_no_route(box):
    reject(box, "GET", f"{L}/{'a' * 300}", status=404, etype="NotFound", msg="no such route")
    reject(box, "GET", f"{L}/{KEEP}/other", status=404, etype="NotFound", msg="no such route")
    reject(box, "GET", f"{L}/{KEEP}/code/more", status=404, etype="NotFound", msg="no such route")


METHODS = [
    ("PUT", L, "GET, POST"), ("DELETE", L, "GET, POST"), ("PATCH", L, "GET, POST"),
    ("POST", f"{L}/{KEEP}", "GET, DELETE"), ("PUT", f"{L}/{KEEP}", "GET, DELETE"),
    ("GET", f"{L}/{KEEP}/invocations", "POST"), ("PUT", f"{L}/{KEEP}/invocations", "POST"),
    ("DELETE", f"{L}/{KEEP}/invocations", "POST"),
    ("GET", f"{L}/{KEEP}/code", "PUT"), ("POST", f"{L}/{KEEP}/code", "PUT"),
    ("POST", f"{L}/{KEEP}/configuration", "GET, PUT"), ("DELETE", f"{L}/{KEEP}/configuration", "GET, PUT"),
]


@pytest.mark.parametrize("method,path,allow", METHODS, ids=[f"{m} {p[len(L):] or '/'}" for m, p, _ in METHODS])
def test_methods_not_allowed(box, method, path, allow):
    body = b"{}" if method in ("POST", "PUT", "PATCH") else None
    reject(box, method, path, body, status=405, etype="MethodNotAllowed",
           msg=f"method not allowed here; allowed: {allow}", allow=allow)


def test_a_payload_over_6_mib_is_too_large(box):
    big = b'"' + b"a" * (6 * 1024 * 1024) + b'"'
    for t in ("RequestResponse", "Event", "DryRun"):
        reject(box, "POST", f"{L}/{KEEP}/invocations", big, status=413, etype="RequestTooLargeException",
               msg="Request must be smaller than 6291456 bytes for the InvokeFunction operation",
               headers={"X-Amz-Invocation-Type": t})


@pytest.mark.parametrize("payload,detail", [
    (b"not json", "invalid token near 'not'"),
    (b"{'a': 1}", "string or '}' expected near '''"),
    (b'{"a": 1', "'}' expected near end of file"),
    (b'{"a": 1} x', "end of file expected near 'x'"),
    (b'"\xff"', "unable to decode byte 0xff near '\"'"),
])
def test_a_payload_that_is_not_json(box, payload, detail):
    for t in ("RequestResponse", "Event", "DryRun"):
        reject(box, "POST", f"{L}/{KEEP}/invocations", payload, etype=IRC,
               msg=f"Could not parse request body into json: {detail}", headers={"X-Amz-Invocation-Type": t})


@pytest.mark.parametrize("itype", ["event", "requestresponse", "", "Tail", "Async", "RequestResponse,Event"])
def test_an_unknown_invocation_type(box, itype):
    reject(box, "POST", f"{L}/{KEEP}/invocations", b"{}",
           msg="X-Amz-Invocation-Type must be RequestResponse, Event or DryRun",
           headers={"X-Amz-Invocation-Type": itype})


def test_keep_still_answers_through_the_lambda_api(box):
    r = box.request("POST", f"{L}/{KEEP}/invocations", b'{"x": 1}')
    assert (r.status, r.json(), r.headers["X-Amz-Executed-Version"]) == (
        200, {"statusCode": 200, "body": "Hello from Impuls!"}, "$LATEST")
    assert NODE_HELLO  # the REST-made function, unchanged by all of the above
