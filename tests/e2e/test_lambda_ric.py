"""AWS's own Node.js runtime interface client (npm `aws-lambda-ric`) as a
function's entry point, unchanged: built by `impuls up` in the build sandbox
(it compiles curl and its native addon: autoconf, automake, libtool, cmake
and the node headers come from the machine's packages), deployed as a
`provided` function whose bootstrap starts it, then driven through the REST
and the Lambda APIs. The build is kept for the microVM pass
(tests/ric_helpers.py). docs/lambda.md."""
import pytest

from ric_helpers import keep_built, registry_reachable, write_function
from up_helpers import Workspace


@pytest.fixture
def ws():
    w = Workspace(copy_examples=False)
    yield w
    w.cleanup()


@pytest.mark.once  # some 4 minutes compiling curl and the addon: the same under ASan
def test_aws_lambda_ric_runs_unchanged_inside_the_sandbox(daemon, ws):
    if not registry_reachable():
        pytest.skip("the npm registry cannot be reached from this machine")
    write_function(ws, "ric", timeout_s=10)
    code, out, err = ws.run(daemon, "up", timeout=900)
    assert (code, err) == (0, ""), out
    assert out.splitlines()[:2] == ["ric: building (node)", "ric: deployed (version 1)"]
    r = daemon.invoke("ric", {"a": 1})
    assert r.status == 200, r
    assert r.json() == {"via": "aws-lambda-ric", "got": {"a": 1}, "fn": "ric",
                        "requestId": r.headers["X-Impuls-Request-Id"], "left": True}
    # Errors are reported by the client in Lambda's shape.
    r = daemon.request("POST", "/2015-03-31/functions/ric/invocations", {"fail": True})
    assert (r.status, r.headers["X-Amz-Function-Error"]) == (200, "Unhandled")
    got = r.json()
    assert (got["errorType"], got["errorMessage"]) == ("TypeError", "ric says no")
    assert got["trace"][0] == "TypeError: ric says no"
    log = daemon.request("GET", "/api/v1/functions/ric/logs").body.decode()
    assert "Executing 'index.handler' in function directory '/var/task'" in log
    assert "\tERROR\tInvoke Error \t" in log
    keep_built(daemon)  # for the microVM pass: the same build, not compiled again
