"""Lambda's versions and aliases through awscli (docs/lambda.md): PublishVersion
(only when $LATEST changed; CodeSha256 checked), ListVersionsByFunction,
Invoke with a version or an alias (Qualifier or ARN suffix; the
X-Amz-Executed-Version awscli prints as ExecutedVersion), Create/Get/List/
Update/DeleteAlias with RoutingConfig, GetFunction and DeleteFunction of a
version, and the errors as awscli reports them."""
import json

import pytest

from lambda_helpers import arn, aws, aws_error, aws_ok, sha_b64, zip_bytes

CLIENT_ERROR = 254
CODE = "exports.handler = async () => ({v: %d});\n"


def zip_of(tmp_path, v):
    data = zip_bytes({"index.js": CODE % v})
    p = tmp_path / f"v{v}.zip"
    p.write_bytes(data)
    return p, data


def invoke(d, tmp_path, *extra):
    out = tmp_path / "out.json"
    meta = aws_ok(d, "invoke", *extra, str(out))
    return meta, json.loads(out.read_text())


@pytest.mark.once  # (some 30 s of awscli starts; test_versions.py runs the same paths under ASan)
def test_publish_alias_invoke_and_delete_through_awscli(daemon, tmp_path):
    z1, data1 = zip_of(tmp_path, 1)
    aws_ok(daemon, "create-function", "--function-name", "f", "--runtime", "nodejs20.x", "--handler",
           "index.handler", "--zip-file", f"fileb://{z1}", "--role", "arn:aws:iam::123456789012:role/any")
    rc, out, err = aws(daemon, "publish-version", "--function-name", "f", "--code-sha256", "not-it")
    assert (rc, err) == (CLIENT_ERROR, aws_error(
        "PublishVersion", "PreconditionFailedException",
        f"CodeSha256 (not-it) is different from current CodeSha256 in $LATEST ({sha_b64(data1)}). Please try again "
        "with the CodeSha256 in $LATEST."))
    v1 = aws_ok(daemon, "publish-version", "--function-name", "f", "--description", "first", "--code-sha256",
                sha_b64(data1))
    assert (v1["Version"], v1["FunctionArn"], v1["Description"], v1["CodeSha256"]) == (
        "1", arn("f") + ":1", "first", sha_b64(data1))
    assert aws_ok(daemon, "publish-version", "--function-name", "f")["Version"] == "1"  # unchanged
    z2, data2 = zip_of(tmp_path, 2)
    aws_ok(daemon, "update-function-code", "--function-name", "f", "--zip-file", f"fileb://{z2}")
    assert aws_ok(daemon, "publish-version", "--function-name", "f")["Version"] == "2"
    listed = aws_ok(daemon, "list-versions-by-function", "--function-name", "f")["Versions"]
    assert [(v["Version"], v["FunctionArn"]) for v in listed] == [
        ("$LATEST", arn("f")), ("1", arn("f") + ":1"), ("2", arn("f") + ":2")]
    got = aws_ok(daemon, "get-function-configuration", "--function-name", "f", "--qualifier", "1")
    assert (got["Version"], got["CodeSha256"]) == ("1", sha_b64(data1))
    for extra, want, executed in ((["--function-name", "f"], 2, "$LATEST"),
                                  (["--function-name", "f", "--qualifier", "1"], 1, "1"),
                                  (["--function-name", "f:1"], 1, "1"),
                                  (["--function-name", arn("f") + ":2"], 2, "2")):
        meta, payload = invoke(daemon, tmp_path, *extra)
        assert (meta["StatusCode"], meta["ExecutedVersion"], payload) == (200, executed, {"v": want}), extra
    alias = aws_ok(daemon, "create-alias", "--function-name", "f", "--name", "live", "--function-version", "2",
                   "--description", "prod", "--routing-config", "AdditionalVersionWeights={1=0.25}")
    assert (alias["AliasArn"], alias["Name"], alias["FunctionVersion"], alias["Description"], alias["RoutingConfig"]) == (
        arn("f") + ":live", "live", "2", "prod", {"AdditionalVersionWeights": {"1": 0.25}})
    executed = [invoke(daemon, tmp_path, "--function-name", "f", "--qualifier", "live")[0]["ExecutedVersion"]
                for _ in range(8)]
    assert executed.count("1") == 2 and executed.count("2") == 6
    rc, out, err = aws(daemon, "create-alias", "--function-name", "f", "--name", "live", "--function-version", "1")
    assert (rc, err) == (CLIENT_ERROR, aws_error("CreateAlias", "ResourceConflictException",
                                                 f"Alias already exists: {arn('f')}:live"))
    upd = aws_ok(daemon, "update-alias", "--function-name", "f", "--name", "live", "--function-version", "1",
                 "--routing-config", "AdditionalVersionWeights={}")
    assert (upd["FunctionVersion"], "RoutingConfig" in upd, upd["RevisionId"] != alias["RevisionId"]) == ("1", False, True)
    assert aws_ok(daemon, "get-alias", "--function-name", "f", "--name", "live")["FunctionVersion"] == "1"
    assert [a["Name"] for a in aws_ok(daemon, "list-aliases", "--function-name", "f")["Aliases"]] == ["live"]
    meta, payload = invoke(daemon, tmp_path, "--function-name", "f:live")
    assert (meta["ExecutedVersion"], payload) == ("1", {"v": 1})
    # An alias is no qualifier of DeleteFunction: refused, and the function stays.
    for extra in (["--function-name", "f", "--qualifier", "live"], ["--function-name", "f:live"],
                  ["--function-name", "f", "--qualifier", "$LATEST"]):
        rc, out, err = aws(daemon, "delete-function", *extra)
        assert (rc, err) == (CLIENT_ERROR, aws_error(
            "DeleteFunction", "InvalidParameterValueException",
            "$LATEST version cannot be deleted without deleting the function, and an alias is deleted with "
            "DeleteAlias: give a version's number, or no qualifier.")), extra
    assert aws_ok(daemon, "get-function", "--function-name", "f")["Configuration"]["FunctionName"] == "f"
    r = daemon.request("GET", "/2015-03-31/functions/bad!name:live")  # (no name: nothing resolved)
    assert (r.status, r.json()["Message"]) == (404, f"Function not found: {arn('bad!name')}:live"), r
    rc, out, err = aws(daemon, "delete-function", "--function-name", "f", "--qualifier", "1")
    assert (rc, err) == (CLIENT_ERROR, aws_error(
        "DeleteFunction", "ResourceConflictException",
        "version 1 of 'f' is named by an alias: point the alias elsewhere or delete it first"))
    assert aws(daemon, "delete-alias", "--function-name", "f", "--name", "live")[:2] == (0, "")
    rc, out, err = aws(daemon, "get-alias", "--function-name", "f", "--name", "live")
    assert (rc, err) == (CLIENT_ERROR, aws_error("GetAlias", "ResourceNotFoundException",
                                                 f"Alias not found: {arn('f')}:live"))
    assert aws(daemon, "delete-function", "--function-name", "f", "--qualifier", "1")[:2] == (0, "")
    rc, out, err = aws(daemon, "invoke", "--function-name", "f", "--qualifier", "1", str(tmp_path / "x.json"))
    assert (rc, err) == (CLIENT_ERROR, aws_error("Invoke", "ResourceNotFoundException",
                                                 f"Function not found: {arn('f')}:1"))
    rc, out, err = aws(daemon, "invoke", "--function-name", "f:2", "--qualifier", "1", str(tmp_path / "x.json"))
    assert (rc, err) == (CLIENT_ERROR, aws_error(
        "Invoke", "InvalidParameterValueException",
        "The derived qualifier from the function name does not match the specified qualifier."))
    assert [v["Version"] for v in aws_ok(daemon, "list-versions-by-function", "--function-name", "f")["Versions"]] == [
        "$LATEST", "2"]
    assert aws(daemon, "delete-function", "--function-name", "f")[:2] == (0, "")
