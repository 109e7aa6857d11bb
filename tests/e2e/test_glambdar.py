"""Glambdar's API and function shape: POST /deploy (multipart zip, named after
the file), POST /invoke/:name, GET /info, GET /info/:name, DELETE /del/:name,
handlers taking {headers, body, json()} and returning {statusCode?, headers?,
body}; and reuse: false, a fresh sandbox per call as Glambdar ran them."""
import os
import shutil
import subprocess
import tempfile
import time
import zipfile

import pytest

ZIP_DIRS = []


@pytest.fixture(autouse=True)
def _remove_zips():
    yield
    while ZIP_DIRS:
        shutil.rmtree(ZIP_DIRS.pop(), ignore_errors=True)


def make_zip(name, files):
    d = tempfile.mkdtemp(prefix="glambdar-")
    ZIP_DIRS.append(d)
    path = os.path.join(d, name)
    with zipfile.ZipFile(path, "w") as z:
        for n, content in files.items():
            z.writestr(n, content)
    return path


def curl(*args):
    out = subprocess.run(["curl", "-s", "-w", "\n%{http_code}", *args], capture_output=True,
                         text=True, timeout=60, check=True).stdout
    body, _, code = out.rpartition("\n")
    return int(code), body


ECHO = """module.exports = async (req) => {
  const data = await req.json();
  return { body: { message: `Hello, ${data.name}!`, raw: req.body, ct: req.headers['content-type'] } };
};"""


def test_readme_workflow_verbatim(daemon):
    zpath = make_zip("myfunc.zip", {"index.js": ECHO})
    base = daemon.url
    code, body = curl("-X", "POST", "-F", f"file=@{zpath}", f"{base}/deploy")
    assert code == 201, body
    code, body = curl("-X", "POST", "-H", "Content-Type: application/json", "-d", '{"name":"Glambdar"}',
                      f"{base}/invoke/myfunc")
    assert (code, body) == (200, '{"message":"Hello, Glambdar!","raw":"{\\"name\\":\\"Glambdar\\"}",'
                                 '"ct":"application/json"}')
    code, body = curl(f"{base}/info")
    assert code == 200 and '"name":"myfunc"' in body and '"style":"glambdar"' in body
    code, body = curl(f"{base}/info/myfunc")
    assert code == 200 and '"code_kind":"zip"' in body
    code, body = curl("-X", "DELETE", f"{base}/del/myfunc")
    assert (code, body) == (204, "")
    code, body = curl(f"{base}/info/myfunc")
    assert code == 404


def test_response_shape_defaults_and_raw_bodies(daemon):
    zpath = make_zip("shapes.zip", {"index.js": """module.exports = async (req) => {
  if (req.body === 'text') return { body: 'plain' };
  if (req.body === 'status') return { statusCode: 201, headers: {'X-Many': ['a', 'b']}, body: [1, 2] };
  if (req.body === 'bad') return { body: await req.json() };
  return { body: { headers: Object.keys(req.headers).includes('x-custom'), body: req.body } };
};"""})
    assert curl("-X", "POST", "-F", f"file=@{zpath}", f"{daemon.url}/deploy")[0] == 201
    r = daemon.request("POST", "/invoke/shapes", "text")
    assert (r.status, r.text, r.headers["Content-Type"]) == (200, "plain", "text/plain; charset=utf-8")
    r = daemon.request("POST", "/invoke/shapes", "status")
    assert (r.status, r.json(), r.headers["X-Many"]) == (201, [1, 2], "a, b")
    assert r.headers["Content-Type"] == "application/json"
    r = daemon.request("POST", "/invoke/shapes", "bad")  # json() of a non-JSON body throws
    assert (r.status, r.json()["errorType"]) == (500, "SyntaxError")
    r = daemon.request("POST", "/invoke/shapes", "not json {", headers={"X-Custom": "1"})
    assert r.json() == {"headers": True, "body": "not json {"}
    # The REST route invokes it the same way.
    assert daemon.request("POST", "/api/v1/functions/shapes/invoke", "text").text == "plain"


def test_deploying_again_replaces_the_code(daemon):
    v1 = make_zip("again.zip", {"index.js": "module.exports = async () => ({body: 'one'})"})
    v2 = make_zip("again.zip", {"index.js": "exports.handler = async () => ({body: 'two'})"})
    assert curl("-F", f"file=@{v1}", f"{daemon.url}/deploy")[0] == 201
    assert daemon.request("POST", "/invoke/again").text == "one"
    code, body = curl("-F", f"file=@{v2}", f"{daemon.url}/deploy")
    assert code == 200 and '"version":2' in body
    assert daemon.request("POST", "/invoke/again").text == "two"


def test_bad_deploys(daemon):
    ok = make_zip("fine.zip", {"index.js": ECHO})
    notzip = make_zip("broken.zip", {"index.js": ECHO})
    with open(notzip, "wb") as f:
        f.write(b"this is not a zip")
    cases = [
        (["-d", "x=1"], "the body must be multipart/form-data with a boundary"),
        (["-F", f"other=@{ok}"], "the form has no 'file' field"),
        (["-F", f"file=@{ok};filename=fine.tar"], "the uploaded file must be named <function>.zip (got 'fine.tar')"),
        (["-F", f"file=@{ok};filename=-bad.zip"],
         "function name '-bad' (from the file name) must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"),
        (["-F", f"file=@{notzip}"], "zip is not a valid zip archive: Unrecognized archive format"),
    ]
    for args, message in cases:
        code, body = curl("-X", "POST", *args, f"{daemon.url}/deploy")
        assert code == 400 and message in body, (args, code, body)
    assert daemon.request("GET", "/info").json() == {"functions": [], "count": 0}
    assert daemon.request("GET", "/deploy").status == 405
    # A path in the file name is dropped, as browsers and curl send names.
    code, body = curl("-F", f"file=@{ok};filename=../../etc/x.zip", f"{daemon.url}/deploy")
    assert code == 201 and '"name":"x"' in body


def test_glambdar_style_needs_node(daemon):
    r = daemon.request("POST", "/api/v1/functions", {"name": "p", "runtime": "python311", "style": "glambdar",
                                                     "code": "def handler(e, c): return 1"})
    assert (r.status, r.json()["errorMessage"]) == (400, 'style "glambdar" needs a Node.js runtime')


def test_reuse_false_gives_every_call_a_fresh_sandbox(daemon):
    daemon.create(name="fresh", runtime="nodejs20", handler="index.handler", reuse=False,
                  code="let n = 0; exports.handler = async () => ++n")
    assert [daemon.invoke("fresh").json() for _ in range(3)] == [1, 1, 1]
    deadline = time.time() + 5
    while daemon.instances("fresh") and time.time() < deadline:
        time.sleep(0.05)
    assert daemon.instances("fresh") == []
    daemon.request("PUT", "/api/v1/functions/fresh", {"reuse": True})
    assert [daemon.invoke("fresh").json() for _ in range(3)] == [1, 2, 3]


def test_glambdar_style_cannot_be_put_on_a_python_function(daemon):
    daemon.create(name="py", runtime="python311", handler="main.handler", code="def handler(e, c): return 1")
    r = daemon.request("PUT", "/api/v1/functions/py", {"style": "glambdar"})
    assert (r.status, r.json()["errorMessage"]) == (400, 'style "glambdar" needs a Node.js runtime')
    assert daemon.request("GET", "/api/v1/functions/py").json()["style"] == "lambda"
    r = daemon.request("PUT", "/api/v1/functions/py", {"env": {"IMPULS_HANDLER_STYLE": "glambdar"}})
    assert r.status == 400 and "IMPULS_HANDLER_STYLE" in r.json()["errorMessage"]
