"""`impuls serve --aws-credentials FILE`: every Lambda API request must carry
a valid AWS SigV4 signature by one of FILE's keys. awscli signs with each
profile's key; an independent signer (tests/lambda_helpers.py, hmac and
hashlib after AWS's published algorithm) agrees with the daemon, and its
requests signed 20 minutes ago, or tampered with after signing, are refused.
The REST API is not signed. A bad credentials file stops the daemon at
start (exit 2)."""
import base64
import datetime
import json
import os
import subprocess
import tempfile

import pytest

from conftest import checked_daemon
from impuls_daemon import BIN, free_port
from lambda_helpers import (L, NODE_ZIP, arn, aws, aws_error, aws_ok, check_config, config, lambda_error,
                            sigv4_headers)

CLIENT_ERROR = 254
KEYS = {"AKIDFIRSTEXAMPLE": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "AKIDSECOND": "second-secret"}
CREDENTIALS = """[default]
aws_access_key_id = AKIDFIRSTEXAMPLE
aws_secret_access_key = wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY

[other]
aws_access_key_id=AKIDSECOND
aws_secret_access_key=second-secret
region = eu-west-1
"""
BAD_SIG = ("The request signature we calculated does not match the signature you provided. Check your AWS "
           "Secret Access Key and signing method.")
UNKNOWN_KEY = "The security token included in the request is invalid."


@pytest.fixture
def signed():
    """A daemon checking signatures against two profiles' keys."""
    tmp = tempfile.mkdtemp(prefix="impuls-creds-")
    path = os.path.join(tmp, "credentials")
    with open(path, "w") as f:
        f.write(CREDENTIALS)
    try:
        yield from checked_daemon(["--aws-credentials", path])
    finally:
        os.unlink(path)
        os.rmdir(tmp)


@pytest.fixture
def zip_path(tmp_path):
    p = tmp_path / "node.zip"
    p.write_bytes(NODE_ZIP)
    return p


def first(**kw):
    return dict(key_id="AKIDFIRSTEXAMPLE", secret=KEYS["AKIDFIRSTEXAMPLE"], **kw)


def second(**kw):
    return dict(key_id="AKIDSECOND", secret=KEYS["AKIDSECOND"], **kw)


def create_body(name):
    return json.dumps({"FunctionName": name, "Runtime": "nodejs20.x", "Handler": "index.handler", "Role": "r",
                       "Code": {"ZipFile": base64.b64encode(NODE_ZIP).decode()}}).encode()


def signed_request(d, method, path, body=b"", query="", **kw):
    headers = sigv4_headers(method, d.port, path, body, query=query, **kw)
    return d.request(method, path + (f"?{query}" if query else ""), body or None, headers)


@pytest.mark.once  # awscli's own start is most of its time: the same under ASan
def test_awscli_with_either_key(signed, zip_path, tmp_path):
    f = aws_ok(signed, "create-function", "--function-name", "s1", "--runtime", "nodejs20.x", "--handler",
               "index.handler", "--zip-file", f"fileb://{zip_path}", "--role", "r", **first())
    check_config(f, config("s1", "nodejs20.x", "index.handler", NODE_ZIP))
    assert aws_ok(signed, "list-functions", **second()) == {"Functions": [f]}
    # An ARN in the path: its colons are percent-encoded and signed encoded twice.
    assert aws_ok(signed, "get-function-configuration", "--function-name", arn("s1"), **second()) == f
    rc, out, err = aws(signed, "invoke", "--function-name", arn("s1"), "--cli-binary-format", "raw-in-base64-out",
                       "--payload", '{"k": "a b/c?d=e&f"}', str(tmp_path / "o.json"), **first())
    assert (rc, out, err) == (0, {"StatusCode": 200, "ExecutedVersion": "$LATEST"}, "")
    assert (tmp_path / "o.json").read_bytes() == b'{"node":{"k":"a b/c?d=e&f"},"greeting":null,"fn":"s1"}'
    got = aws_ok(signed, "update-function-configuration", "--function-name", "s1", "--description", "signed ok",
                 "--environment", "Variables={GREETING=x=y z}", **second())
    assert (got["Description"], got["Environment"]) == ("signed ok", {"Variables": {"GREETING": "x=y z"}})
    assert aws(signed, "delete-function", "--function-name", "s1", **first()) == (0, "", "")


def test_wrong_secret_and_unknown_key_are_refused(signed, zip_path):
    rc, out, err = aws(signed, "list-functions", key_id="AKIDSECOND", secret="not-the-secret")
    assert (rc, out, err) == (CLIENT_ERROR, "", aws_error("ListFunctions", "InvalidSignatureException", BAD_SIG))
    rc, out, err = aws(signed, "list-functions", key_id="AKIDUNKNOWN", secret=KEYS["AKIDSECOND"])
    assert (rc, out, err) == (CLIENT_ERROR, "", aws_error("ListFunctions", "UnrecognizedClientException",
                                                          UNKNOWN_KEY))
    # The first key's id with the second key's secret.
    rc, out, err = aws(signed, "create-function", "--function-name", "nope", "--runtime", "nodejs20.x",
                       "--handler", "index.handler", "--zip-file", f"fileb://{zip_path}", "--role", "r",
                       key_id="AKIDFIRSTEXAMPLE", secret=KEYS["AKIDSECOND"])
    assert (rc, out, err) == (CLIENT_ERROR, "", aws_error("CreateFunction", "InvalidSignatureException", BAD_SIG))
    assert signed.request("GET", "/api/v1/functions").json() == {"functions": [], "count": 0}


def test_unsigned_requests_are_refused_but_the_rest_api_is_open(signed):
    out = subprocess.run(["curl", "-s", "-i", f"{signed.url}{L}/"], capture_output=True, timeout=30,
                         check=True).stdout
    head, _, body = out.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0] == b"HTTP/1.1 403 Forbidden"
    assert b"\r\nx-amzn-ErrorType: MissingAuthenticationTokenException\r\n" in head
    assert json.loads(body) == {"Type": "User", "Message": "Missing Authentication Token"}
    for method, path, body in (("GET", f"{L}/x", None), ("POST", L, create_body("u")),
                               ("POST", f"{L}/x/invocations", b"{}"), ("DELETE", f"{L}/x", None),
                               ("PUT", f"{L}/x/configuration", b"{}")):
        r = signed.request(method, path, body)
        lambda_error(r, 403, "MissingAuthenticationTokenException", "Missing Authentication Token")
    # The REST API needs no signature, and what it makes the Lambda API shows (signed).
    signed.create(name="rest", runtime="nodejs20", code="exports.handler = async (e) => ({rest: e})")
    r = signed.invoke("rest", {"a": 1})
    assert (r.status, r.json()) == (200, {"rest": {"a": 1}})
    r = signed_request(signed, "POST", f"{L}/rest/invocations", b'{"b":2}', **first())
    assert (r.status, r.body) == (200, b'{"rest":{"b":2}}')


def test_an_independent_signer_agrees_with_the_daemon(signed):
    r = signed_request(signed, "GET", f"{L}/", **first())
    assert (r.status, r.json()) == (200, {"Functions": []})
    body = create_body("mine")
    r = signed_request(signed, "POST", L, body, extra_headers={"Content-Type": "application/json"}, **second())
    assert r.status == 201, r
    check_config(r.json(), config("mine", "nodejs20.x", "index.handler", NODE_ZIP))
    # A path holding an ARN: ':' sent as %3A, signed as %253A.
    path = f"{L}/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Amine/configuration"
    r = signed_request(signed, "GET", path, **first())
    assert (r.status, r.json()["FunctionArn"]) == (200, arn("mine"))
    # A query string (sorted in the canonical request), and an extra signed header with runs of spaces.
    r = signed_request(signed, "GET", f"{L}/", query="MaxItems=10&FunctionVersion=ALL",
                       extra_headers={"X-Amz-Meta-Note": "a   b  c"}, **second())
    assert r.status == 200 and [f["FunctionName"] for f in r.json()["Functions"]] == ["mine"]
    r = signed_request(signed, "POST", f"{L}/mine/invocations", b'{"z": [1]}',
                       extra_headers={"X-Amz-Log-Type": "Tail"}, **first())
    assert (r.status, r.body) == (200, b'{"node":{"z":[1]},"greeting":null,"fn":"mine"}')
    assert "START RequestId:" in base64.b64decode(r.headers["X-Amz-Log-Result"]).decode()
    r = signed_request(signed, "DELETE", f"{L}/mine", **second())
    assert r.status == 204


@pytest.mark.parametrize("minutes", [-20, 20, -16])
def test_a_signature_more_than_15_minutes_off_is_expired(signed, minutes):
    when = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=minutes)
    r = signed_request(signed, "GET", f"{L}/", when=when, **first())
    stamp = when.strftime("%Y%m%dT%H%M%SZ")
    lambda_error(r, 403, "InvalidSignatureException",
                 f"Signature expired: {stamp} is now earlier or later than 15 minutes from the server's time")
    # 10 minutes off is within the allowed skew.
    r = signed_request(signed, "GET", f"{L}/", when=when - datetime.timedelta(minutes=minutes) +
                       datetime.timedelta(minutes=10 if minutes > 0 else -10), **first())
    assert r.status == 200


def test_tampering_after_signing_is_refused(signed):
    body = create_body("t1")
    headers = sigv4_headers("POST", signed.port, L, body, **first())
    r = signed.request("POST", L, body.replace(b'"t1"', b'"t2"'), headers)
    lambda_error(r, 403, "InvalidSignatureException", BAD_SIG)
    # Another path, another method, a query added, the date changed.
    headers = sigv4_headers("GET", signed.port, f"{L}/a", **first())
    lambda_error(signed.request("GET", f"{L}/b", None, headers), 403, "InvalidSignatureException", BAD_SIG)
    lambda_error(signed.request("DELETE", f"{L}/a", None, headers), 403, "InvalidSignatureException", BAD_SIG)
    lambda_error(signed.request("GET", f"{L}/a?x=1", None, headers), 403, "InvalidSignatureException", BAD_SIG)
    stamp = headers["X-Amz-Date"]
    later = dict(headers, **{"X-Amz-Date": stamp[:-2] + str((int(stamp[-2]) + 1) % 10) + "Z"})
    lambda_error(signed.request("GET", f"{L}/a", None, later), 403, "InvalidSignatureException", BAD_SIG)
    # A signed header sent with another value.
    headers = sigv4_headers("GET", signed.port, f"{L}/", extra_headers={"X-Amz-Meta-Note": "one"}, **first())
    lambda_error(signed.request("GET", f"{L}/", None, dict(headers, **{"X-Amz-Meta-Note": "two"})), 403,
                 "InvalidSignatureException", BAD_SIG)
    assert signed.request("GET", "/api/v1/functions").json()["count"] == 0


INCOMPLETE = ("Authorization header requires AWS4-HMAC-SHA256 with Credential, SignedHeaders and Signature, "
              "and X-Amz-Date")
SCOPE = "Credential must be ID/DATE/REGION/SERVICE/aws4_request with the date of X-Amz-Date"


def test_malformed_authorization_is_an_incomplete_signature(signed):
    good = sigv4_headers("GET", signed.port, f"{L}/", **first())
    auth = good["Authorization"]
    cases = [
        ({"Authorization": "Bearer abc", "X-Amz-Date": good["X-Amz-Date"]}, INCOMPLETE),
        ({"Authorization": auth.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1")}, INCOMPLETE),
        ({"Authorization": auth.split(", Signature=")[0]}, INCOMPLETE),
        ({"Authorization": auth.replace("SignedHeaders=", "Headers=")}, INCOMPLETE),
        ({"Authorization": auth, "X-Amz-Date": None}, INCOMPLETE),
        ({"Authorization": auth.replace("/aws4_request", "/aws4")}, SCOPE),
        ({"Authorization": auth.replace(good["X-Amz-Date"][:8], "20200101")}, SCOPE),
    ]
    for change, msg in cases:
        headers = {k: v for k, v in dict(good, **change).items() if v is not None}
        r = signed.request("GET", f"{L}/", None, headers)
        lambda_error(r, 403, "IncompleteSignatureException", msg)
    # A signature of the wrong length.
    r = signed.request("GET", f"{L}/", None, dict(good, Authorization=auth[:-2]))
    lambda_error(r, 403, "InvalidSignatureException", BAD_SIG)


@pytest.mark.parametrize("content,msg", [
    (None, "cannot read {path}"),
    ("", "{path} holds no aws_access_key_id with its aws_secret_access_key"),
    ("[default]\naws_access_key_id = AKIDONLY\n", "{path} holds no aws_access_key_id with its aws_secret_access_key"),
    ("[default]\naws_secret_access_key = s\n", "{path} holds no aws_access_key_id with its aws_secret_access_key"),
], ids=["missing", "empty", "no-secret", "no-id"])
def test_a_bad_credentials_file_stops_the_daemon(tmp_path, content, msg):
    path = tmp_path / "credentials"
    if content is not None:
        path.write_text(content)
    data = tmp_path / "data"
    p = subprocess.run([BIN, "serve", "--addr", f"127.0.0.1:{free_port()}", "--data-dir", str(data),
                        "--aws-credentials", str(path)], capture_output=True, text=True, timeout=30)
    assert (p.returncode, p.stdout, p.stderr) == (2, "", f"impuls: --aws-credentials: {msg.format(path=path)}\n")


def test_query_parameters_sort_by_name_then_value(signed):
    r = signed_request(signed, "GET", f"{L}/", query="a-b=1&a=2", **first())
    assert (r.status, r.json()) == (200, {"Functions": []})
