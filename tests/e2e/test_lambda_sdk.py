"""The AWS SDK for JavaScript v3 (@aws-sdk/client-lambda, from the npm
registry, installed once per session into a temporary dir) against the
daemon: CreateFunction, ListFunctions, GetFunction, Invoke (Tail logs, the
payload as a Uint8Array, a function error), UpdateFunctionCode,
DeleteFunction, and Lambda's errors as the SDK names them; versions, aliases,
provisioned and reserved concurrency and the event invoke config; once more against
a daemon checking SigV4 (--aws-credentials) with the right key and a wrong
one."""
import json
import os
import subprocess

import pytest

from conftest import running_daemon
from npm_helpers import npm_installed
from lambda_helpers import NODE_ZIP, NODE_ZIP_V2, arn, check_config, config, not_found

SCRIPT = r"""
const fs = require("fs");
const L = require("@aws-sdk/client-lambda");
const [endpoint, accessKeyId, secretAccessKey, name, zip1, zip2, mode] = process.argv.slice(2);
const client = new L.LambdaClient({endpoint, region: "us-east-1", maxAttempts: 1,
                                   credentials: {accessKeyId, secretAccessKey}});

// A response without $metadata, but with its HTTP status.
function plain(r) {
  const {$metadata, ...rest} = r;
  rest.httpStatus = $metadata.httpStatusCode;
  return rest;
}
async function step(fn) {
  try {
    return plain(await fn());
  } catch (e) {
    return {error: {name: e.name, message: e.message, httpStatus: e.$metadata && e.$metadata.httpStatusCode}};
  }
}
function invokeResult(r) {
  if (r.error) return r;
  const out = {...r};
  if (out.Payload) out.Payload = new TextDecoder().decode(out.Payload);
  if (out.LogResult) out.LogResult = Buffer.from(out.LogResult, "base64").toString();
  return out;
}

async function main() {
  const out = {};
  if (mode === "list-only") {
    out.list = await step(() => client.send(new L.ListFunctionsCommand({})));
    console.log(JSON.stringify(out));
    return;
  }
  if (mode === "versions") {
    const FunctionName = name;
    await step(() => client.send(new L.CreateFunctionCommand({
      FunctionName, Runtime: "nodejs20.x", Handler: "index.handler", Role: "r", Code: {ZipFile: fs.readFileSync(zip1)}})));
    out.v1 = await step(() => client.send(new L.PublishVersionCommand({FunctionName, Description: "one"})));
    await step(() => client.send(new L.UpdateFunctionCodeCommand({FunctionName, ZipFile: fs.readFileSync(zip2)})));
    out.v2 = await step(() => client.send(new L.PublishVersionCommand({FunctionName})));
    out.alias = await step(() => client.send(new L.CreateAliasCommand({
      FunctionName, Name: "canary", FunctionVersion: out.v2.Version,
      RoutingConfig: {AdditionalVersionWeights: {[out.v1.Version]: 0.5}}})));
    out.executed = [];
    for (let i = 0; i < 4; i++) {
      const r = await step(() => client.send(new L.InvokeCommand({FunctionName, Qualifier: "canary", Payload: Buffer.from("{}")})));
      out.executed.push(r.ExecutedVersion);
    }
    out.one = invokeResult(await step(() => client.send(new L.InvokeCommand({
      FunctionName: `${name}:${out.v1.Version}`, Payload: Buffer.from('{"a": 1}')}))));
    out.versions = await step(() => client.send(new L.ListVersionsByFunctionCommand({FunctionName})));
    out.aliases = await step(() => client.send(new L.ListAliasesCommand({FunctionName})));
    out.provision = await step(() => client.send(new L.PutProvisionedConcurrencyConfigCommand({
      FunctionName, Qualifier: "canary", ProvisionedConcurrentExecutions: 1})));
    for (let i = 0; i < 300; i++) {
      out.provisioned = await step(() => client.send(new L.GetProvisionedConcurrencyConfigCommand({FunctionName, Qualifier: "canary"})));
      if (out.provisioned.Status === "READY") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    out.provisionedList = await step(() => client.send(new L.ListProvisionedConcurrencyConfigsCommand({FunctionName})));
    out.unprovision = await step(() => client.send(new L.DeleteProvisionedConcurrencyConfigCommand({FunctionName, Qualifier: "canary"})));
    out.reserve = await step(() => client.send(new L.PutFunctionConcurrencyCommand({FunctionName, ReservedConcurrentExecutions: 3})));
    out.reserved = await step(() => client.send(new L.GetFunctionConcurrencyCommand({FunctionName})));
    out.eventConfig = await step(() => client.send(new L.PutFunctionEventInvokeConfigCommand({
      FunctionName, MaximumRetryAttempts: 1, MaximumEventAgeInSeconds: 120})));
    out.eventConfigGot = await step(() => client.send(new L.GetFunctionEventInvokeConfigCommand({FunctionName})));
    out.busy = await step(() => client.send(new L.DeleteFunctionCommand({FunctionName, Qualifier: out.v1.Version})));
    out.unalias = await step(() => client.send(new L.DeleteAliasCommand({FunctionName, Name: "canary"})));
    out.gone = await step(() => client.send(new L.GetAliasCommand({FunctionName, Name: "canary"})));
    out.delete = await step(() => client.send(new L.DeleteFunctionCommand({FunctionName})));
    console.log(JSON.stringify(out));
    return;
  }
  out.create = await step(() => client.send(new L.CreateFunctionCommand({
    FunctionName: name, Runtime: "nodejs20.x", Handler: "index.handler", Role: "arn:aws:iam::1:role/x",
    Code: {ZipFile: fs.readFileSync(zip1)}, MemorySize: 192, Description: "from the SDK",
    Environment: {Variables: {GREETING: "sdk"}}})));
  out.again = await step(() => client.send(new L.CreateFunctionCommand({
    FunctionName: name, Runtime: "nodejs20.x", Handler: "index.handler", Role: "r",
    Code: {ZipFile: fs.readFileSync(zip1)}})));
  out.list = await step(() => client.send(new L.ListFunctionsCommand({})));
  out.get = await step(() => client.send(new L.GetFunctionCommand({FunctionName: name})));
  out.invoke = invokeResult(await step(() => client.send(new L.InvokeCommand({
    FunctionName: name, LogType: "Tail", Payload: new TextEncoder().encode(JSON.stringify({sdk: [1, "two"]}))}))));
  out.fail = invokeResult(await step(() => client.send(new L.InvokeCommand({
    FunctionName: name, Payload: Buffer.from('{"fail": "sdk"}')}))));
  out.event = await step(() => client.send(new L.InvokeCommand({
    FunctionName: name, InvocationType: "Event", Payload: Buffer.from('{"async": 1}')})));
  out.update = await step(() => client.send(new L.UpdateFunctionCodeCommand({
    FunctionName: name, ZipFile: fs.readFileSync(zip2)})));
  out.invoke2 = invokeResult(await step(() => client.send(new L.InvokeCommand({
    FunctionName: `arn:aws:lambda:us-east-1:000000000000:function:${name}`, Payload: Buffer.from('{"b": 2}')}))));
  out.delete = await step(() => client.send(new L.DeleteFunctionCommand({FunctionName: name})));
  out.gone = await step(() => client.send(new L.GetFunctionCommand({FunctionName: name})));
  out.list2 = await step(() => client.send(new L.ListFunctionsCommand({})));
  console.log(JSON.stringify(out));
}
main().catch((e) => { console.error(e); process.exit(1); });
"""


@pytest.fixture(scope="session")
def sdk_dir():
    """@aws-sdk/client-lambda installed from the npm registry, once."""
    with npm_installed("@aws-sdk/client-lambda", "impuls-sdk-") as d:
        with open(os.path.join(d, "lambda_steps.js"), "w") as f:
            f.write(SCRIPT)
        with open(os.path.join(d, "v1.zip"), "wb") as f:
            f.write(NODE_ZIP)
        with open(os.path.join(d, "v2.zip"), "wb") as f:
            f.write(NODE_ZIP_V2)
        yield d


def run_sdk(sdk_dir, d, name, key_id="AKIDANY", secret="anything", mode="all"):
    p = subprocess.run(["/usr/bin/node", "lambda_steps.js", d.url, key_id, secret, name,
                        os.path.join(sdk_dir, "v1.zip"), os.path.join(sdk_dir, "v2.zip"), mode],
                       cwd=sdk_dir, capture_output=True, text=True, timeout=120,
                       env=dict({k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
                                NODE_NO_WARNINGS="1"))  # the SDK's notice about Node versions
    assert (p.returncode, p.stderr) == (0, ""), p
    return json.loads(p.stdout)


def check_flow(out, name, log_of):
    want = config(name, "nodejs20.x", "index.handler", NODE_ZIP, memory=192, description="from the SDK",
                  env={"GREETING": "sdk"})
    created = dict(out["create"])
    assert created.pop("httpStatus") == 201
    check_config(created, want)
    assert out["again"] == {"error": {"name": "ResourceConflictException",
                                      "message": f"function '{name}' already exists", "httpStatus": 409}}
    assert out["list"] == {"Functions": [created], "httpStatus": 200}
    assert out["get"]["Configuration"] == created and out["get"]["httpStatus"] == 200
    assert out["get"]["Code"] == {"RepositoryType": "S3", "Location": f"{log_of.url}/api/v1/functions/{name}?code=true"}
    inv = out["invoke"]
    assert set(inv) == {"StatusCode", "ExecutedVersion", "LogResult", "Payload", "httpStatus"}
    assert (inv["StatusCode"], inv["ExecutedVersion"], inv["httpStatus"]) == (200, "$LATEST", 200)
    assert inv["Payload"] == '{"node":{"sdk":[1,"two"]},"greeting":"sdk","fn":"%s"}' % name
    lines = inv["LogResult"].splitlines()
    assert lines[0].startswith("START RequestId: ") and lines[1] == 'node log {"sdk":[1,"two"]}'
    assert lines[-2].startswith("END RequestId: ") and lines[-1].startswith("REPORT RequestId: ")
    fail = out["fail"]
    assert (fail["StatusCode"], fail["FunctionError"], fail["ExecutedVersion"]) == (200, "Unhandled", "$LATEST")
    err = json.loads(fail["Payload"])
    assert (err["errorType"], err["errorMessage"]) == ("Error", "boom sdk")
    assert out["event"] == {"StatusCode": 202, "httpStatus": 202, "Payload": None}  # no body
    updated = dict(out["update"])
    assert updated.pop("httpStatus") == 200
    check_config(updated, dict(want, CodeSize=len(NODE_ZIP_V2), CodeSha256=config(
        name, "", "", NODE_ZIP_V2)["CodeSha256"]))
    assert updated["CodeSha256"] != created["CodeSha256"]
    assert out["invoke2"] == {"StatusCode": 200, "ExecutedVersion": "$LATEST", "httpStatus": 200,
                              "Payload": '{"version":2,"event":{"b":2}}'}
    assert out["delete"] == {"StatusCode": 204, "httpStatus": 204}
    assert out["gone"] == {"error": {"name": "ResourceNotFoundException", "message": not_found(name),
                                     "httpStatus": 404}}
    assert out["list2"] == {"Functions": [], "httpStatus": 200}


def test_the_sdk_end_to_end(sdk_dir, daemon):
    out = run_sdk(sdk_dir, daemon, "sdk-fn")
    check_flow(out, "sdk-fn", daemon)
    assert daemon.request("GET", "/api/v1/functions/sdk-fn").status == 404


def test_the_sdk_publishes_versions_and_routes_aliases(sdk_dir, daemon):
    out = run_sdk(sdk_dir, daemon, "sdk-v", mode="versions")
    assert (out["v1"]["Version"], out["v1"]["Description"], out["v1"]["httpStatus"]) == ("1", "one", 201)
    assert out["v1"]["FunctionArn"] == arn("sdk-v") + ":1"
    assert out["v2"]["Version"] == "2"
    assert (out["alias"]["AliasArn"], out["alias"]["FunctionVersion"], out["alias"]["RoutingConfig"]) == (
        arn("sdk-v") + ":canary", "2", {"AdditionalVersionWeights": {"1": 0.5}})
    assert out["executed"] == ["2", "1", "2", "1"]  # half each, spread evenly
    assert (out["one"]["ExecutedVersion"], json.loads(out["one"]["Payload"])["node"]) == ("1", {"a": 1})
    assert [v["Version"] for v in out["versions"]["Versions"]] == ["$LATEST", "1", "2"]
    assert [a["Name"] for a in out["aliases"]["Aliases"]] == ["canary"]
    assert (out["provision"]["httpStatus"], out["provision"]["RequestedProvisionedConcurrentExecutions"]) == (202, 1)
    assert (out["provisioned"]["Status"], out["provisioned"]["AvailableProvisionedConcurrentExecutions"]) == (
        "READY", 1)
    assert [c["FunctionArn"] for c in out["provisionedList"]["ProvisionedConcurrencyConfigs"]] == [
        arn("sdk-v") + ":canary"]
    assert out["unprovision"]["httpStatus"] == 204
    assert (out["reserve"]["ReservedConcurrentExecutions"], out["reserved"]["ReservedConcurrentExecutions"]) == (3, 3)
    assert (out["eventConfig"]["MaximumRetryAttempts"], out["eventConfigGot"]["MaximumEventAgeInSeconds"]) == (1, 120)
    assert out["busy"]["error"]["name"] == "ResourceConflictException"
    assert out["unalias"] == {"httpStatus": 204}
    assert out["gone"]["error"] == {"name": "ResourceNotFoundException", "httpStatus": 404,
                                    "message": f"Alias not found: {arn('sdk-v')}:canary"}
    assert out["delete"]["httpStatus"] == 204


def test_the_sdk_with_sigv4_checked(sdk_dir, tmp_path):
    creds = tmp_path / "credentials"
    creds.write_text("[default]\naws_access_key_id = AKIDSDK\naws_secret_access_key = sdk/Secret+Key\n")
    with running_daemon(["--aws-credentials", str(creds)]) as d:
        check_flow(run_sdk(sdk_dir, d, "signed-fn", "AKIDSDK", "sdk/Secret+Key"), "signed-fn", d)
        out = run_sdk(sdk_dir, d, "x", "AKIDSDK", "wrong", mode="list-only")
        assert out == {"list": {"error": {
            "name": "InvalidSignatureException", "httpStatus": 403,
            "message": "The request signature we calculated does not match the signature you provided. Check your "
                       "AWS Secret Access Key and signing method."}}}
        out = run_sdk(sdk_dir, d, "x", "AKIDOTHER", "sdk/Secret+Key", mode="list-only")
        assert out == {"list": {"error": {"name": "UnrecognizedClientException", "httpStatus": 403,
                                          "message": "The security token included in the request is invalid."}}}
