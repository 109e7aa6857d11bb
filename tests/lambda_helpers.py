"""Shared pieces of the Lambda API tests (tests/e2e/test_lambda_*.py,
tests/badinput/test_bad_lambda.py): zips, the FunctionConfiguration the
daemon must answer, awscli (Debian's, /usr/bin/aws) run against a daemon,
and an independent AWS SigV4 signer (hmac/hashlib, after AWS's published
algorithm) for requests made by hand."""
import base64
import datetime
import hashlib
import hmac
import io
import json
import os
import re
import subprocess
import time
import urllib.parse
import zipfile

AWS = "/usr/bin/aws"
ACCOUNT = "000000000000"
REGION = "us-east-1"
L = "/2015-03-31/functions"
LAST_MODIFIED = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000")
REVISION = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4000-8000-[0-9a-f]{12}")


def arn(name):
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


def not_found(name):
    return f"Function not found: {arn(name)}"


def zip_bytes(files):
    """A zip of {name: text} or {name: (text, mode)}; the mode's bits survive."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            mode = 0o644
            if isinstance(data, tuple):
                data, mode = data
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.create_system = 3
            info.external_attr = (0o100000 | mode) << 16
            z.writestr(info, data)
    return buf.getvalue()


def b64zip(files):
    """zip_bytes as the API's `zip` field takes it."""
    return base64.b64encode(zip_bytes(files)).decode()


def sha_b64(data):
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


NODE_SRC = """exports.handler = async (event, context) => {
  console.log("node log " + JSON.stringify(event));
  if (event.fail) throw new Error("boom " + event.fail);
  return {node: event, greeting: process.env.GREETING || null, fn: context.functionName};
};
"""
NODE_SRC_V2 = """exports.handler = async (event) => ({version: 2, event});
"""
PY_SRC = """import json, os, time
def handler(event, context):
    print("py log " + json.dumps(event), flush=True)
    if isinstance(event, dict) and event.get("fail"):
        raise ValueError("bad " + event["fail"])
    if isinstance(event, dict) and event.get("sleep"):
        time.sleep(event["sleep"])
    return {"py": event, "greeting": os.environ.get("GREETING"), "fn": context.function_name}

def other(event, context):
    return {"other": event, "greeting": os.environ.get("GREETING")}
"""
# Fails whatever the event.
NODE_ALWAYS_FAILS = """exports.handler = async (event) => {
  console.log("attempt with " + JSON.stringify(event));
  throw new Error("always");
};
"""
NODE_ZIP = zip_bytes({"index.js": NODE_SRC})
NODE_ZIP_V2 = zip_bytes({"index.js": NODE_SRC_V2})
PY_ZIP = zip_bytes({"app.py": PY_SRC})

# A custom runtime: shell and curl against $AWS_LAMBDA_RUNTIME_API (as in
# tests/e2e/test_provided.py). An event holding "fail" is reported as an error.
SHELL_BOOTSTRAP = r'''#!/bin/sh
set -eu
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
while true; do
  RESP=$(curl -sS -i "$API/invocation/next" | tr -d '\r')
  ID=$(printf '%s\n' "$RESP" | sed -n 's/^[Ll]ambda-[Rr]untime-[Aa]ws-[Rr]equest-[Ii]d: //p')
  EVENT=$(printf '%s\n' "$RESP" | sed '1,/^$/d')
  echo "shell got $EVENT"
  case "$EVENT" in
    *fail*) curl -sS -o /dev/null -X POST "$API/invocation/$ID/error" \
              -H "Lambda-Runtime-Function-Error-Type: Unhandled" \
              -d '{"errorType":"ShellError","errorMessage":"the script failed","stackTrace":["bootstrap"]}' ;;
    *) curl -sS -o /dev/null -X POST "$API/invocation/$ID/response" \
         -d "{\"handler\":\"$_HANDLER\",\"fn\":\"$AWS_LAMBDA_FUNCTION_NAME\",\"event\":$EVENT,\"id\":\"$ID\"}" ;;
  esac
done
'''
SHELL_ZIP = zip_bytes({"bootstrap": (SHELL_BOOTSTRAP, 0o755)})


def config(name, runtime, handler, zip_data, memory=128, timeout=3, description="", env=None):
    """The FunctionConfiguration the daemon must answer, but for LastModified
    and RevisionId (checked by shape with check_config)."""
    return {
        "FunctionName": name, "FunctionArn": arn(name), "Runtime": runtime,
        "Role": f"arn:aws:iam::{ACCOUNT}:role/impuls", "Handler": handler,
        "CodeSize": len(zip_data), "Description": description, "Timeout": timeout,
        "MemorySize": memory, "CodeSha256": sha_b64(zip_data), "Version": "$LATEST",
        "Environment": {"Variables": env or {}}, "TracingConfig": {"Mode": "PassThrough"},
        "State": "Active", "LastUpdateStatus": "Successful", "PackageType": "Zip",
        "Architectures": ["x86_64"], "EphemeralStorage": {"Size": 512},
    }


def check_config(got, want, around=None):
    """got == want but for LastModified (format, and within 60 s of `around`,
    default now) and RevisionId (its shape). Returns (LastModified, RevisionId)."""
    got = dict(got)
    lm, rev = got.pop("LastModified"), got.pop("RevisionId")
    assert got == want
    assert LAST_MODIFIED.fullmatch(lm), lm
    t = datetime.datetime.strptime(lm, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
    assert abs(t - (around or time.time())) < 60, lm
    assert REVISION.fullmatch(rev), rev
    return lm, rev


def aws_env(key_id="AKIDEXAMPLE", secret="any-secret", **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=key_id, AWS_SECRET_ACCESS_KEY=secret, AWS_DEFAULT_REGION=REGION,
               AWS_PAGER="", AWS_CONFIG_FILE="/nonexistent/aws-config",
               AWS_SHARED_CREDENTIALS_FILE="/nonexistent/aws-credentials")
    env.update(extra)
    return env


def aws(d, *args, key_id="AKIDEXAMPLE", secret="any-secret", env=None, timeout=90):
    """awscli's lambda command against daemon d: (exit code, parsed JSON stdout
    or the raw text, stderr)."""
    e = aws_env(key_id, secret, **(env or {}))
    p = subprocess.run([AWS, "--endpoint-url", f"http://127.0.0.1:{d.port}", "--output", "json",
                        "lambda", *args], capture_output=True, text=True, env=e, timeout=timeout)
    out = p.stdout
    if out.strip():
        try:
            out = json.loads(out)
        except ValueError:
            pass
    return p.returncode, out, p.stderr


def aws_ok(d, *args, **kw):
    rc, out, err = aws(d, *args, **kw)
    assert (rc, err) == (0, ""), (rc, out, err)
    return out


def aws_error(op, etype, msg):
    """awscli's stderr for a client error (its exit code is 254)."""
    return f"\nAn error occurred ({etype}) when calling the {op} operation: {msg}\n"


def aws_create(d, name, runtime, handler, zip_path, *extra, **kw):
    return aws_ok(d, "create-function", "--function-name", name, "--runtime", runtime, "--handler", handler,
                  "--zip-file", f"fileb://{zip_path}", "--role", "arn:aws:iam::123456789012:role/any", *extra, **kw)


def aws_invoke(d, name, payload, outfile, *extra, **kw):
    """Invoke through awscli; returns (metadata printed, bytes of the payload file)."""
    args = ["invoke", "--function-name", name, *extra]
    if payload is not None:
        args += ["--cli-binary-format", "raw-in-base64-out", "--payload", payload]
    rc, out, err = aws(d, *args, str(outfile), **kw)
    assert (rc, err) == (0, ""), (rc, out, err)
    with open(outfile, "rb") as f:
        return out, f.read()


def fn_log(d, name):
    r = d.request("GET", f"/api/v1/functions/{name}/logs")
    assert r.status == 200, r
    return r.text


def wait_log(d, name, needle, count=1, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = fn_log(d, name)
        if log.count(needle) >= count:
            return log
        time.sleep(0.05)
    raise AssertionError(f"{needle!r} x{count} not in the log of {name}: {fn_log(d, name)}")


def lambda_error(r, status, etype, msg):
    """A Lambda-shaped error: status, x-amzn-ErrorType, {Type, Message}."""
    assert (r.status, r.headers.get("x-amzn-ErrorType"), r.json()) == (
        status, etype, {"Type": "Service" if status >= 500 else "User", "Message": msg}), (r, dict(r.headers))
    assert r.headers["Content-Type"] == "application/json"


# --- an independent SigV4 signer ---------------------------------------------

def _hmac(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def sigv4_headers(method, port, path, body=b"", key_id="AKIDEXAMPLE", secret="any-secret",
                  when=None, query="", extra_headers=None, region=REGION, service="lambda"):
    """The headers of a request signed with AWS Signature Version 4. `path` is
    the path as sent on the wire (already percent-encoded); for services other
    than S3 the canonical URI encodes each segment again."""
    when = when or datetime.datetime.now(datetime.timezone.utc)
    amz_date = when.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    headers = {"host": f"127.0.0.1:{port}", "x-amz-date": amz_date}
    for k, v in (extra_headers or {}).items():
        headers[k.lower()] = v
    canon_uri = "/".join(urllib.parse.quote(seg, safe="-_.~") for seg in path.split("/"))
    pairs = sorted(tuple(p.split("=", 1)) if "=" in p else (p, "") for p in query.split("&") if p)
    canon_query = "&".join(f"{k}={v}" for k, v in pairs)
    names = sorted(headers)
    canon_headers = "".join(f"{n}:{' '.join(str(headers[n]).split())}\n" for n in names)
    signed = ";".join(names)
    creq = "\n".join([method, canon_uri, canon_query, canon_headers, signed, hashlib.sha256(body).hexdigest()])
    scope = f"{day}/{region}/{service}/aws4_request"
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(creq.encode()).hexdigest()])
    k = _hmac(("AWS4" + secret).encode(), day)
    for part in (region, service, "aws4_request"):
        k = _hmac(k, part)
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    out = {"X-Amz-Date": amz_date,
           "Authorization": f"AWS4-HMAC-SHA256 Credential={key_id}/{scope}, SignedHeaders={signed}, Signature={sig}"}
    for k2, v in (extra_headers or {}).items():
        out[k2] = v
    return out
