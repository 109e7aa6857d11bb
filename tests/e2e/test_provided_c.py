"""A Lambda custom runtime written in C (the `provided` convention): a static
`bootstrap` that speaks the Runtime API over a plain socket, compiled by the
test with the machine's compiler and shipped in a zip. The same function is
driven through the REST API and through awscli-free Lambda API calls."""
from c_bootstrap import build_zip


def test_a_static_c_bootstrap_is_a_lambda_runtime(daemon):
    daemon.create(name="cfn", runtime="provided.al2023", handler="function.handler", zip=build_zip())
    r = daemon.invoke("cfn", {"x": [1, 2]})
    assert r.status == 200, r
    assert r.json() == {"echo": {"x": [1, 2]}, "id": r.headers["X-Impuls-Request-Id"]}
    r = daemon.invoke("cfn", "fail")
    assert r.status == 500
    assert r.json() == {"errorType": "C.Failure", "errorMessage": "asked to fail", "stackTrace": ["main.c"],
                        "requestId": r.headers["X-Impuls-Request-Id"]}
    r = daemon.request("POST", "/2015-03-31/functions/cfn/invocations", '"fail"')
    assert (r.status, r.headers["X-Amz-Function-Error"]) == (200, "Unhandled")
    assert r.json() == {"errorType": "C.Failure", "errorMessage": "asked to fail", "stackTrace": ["main.c"]}
    log = daemon.request("GET", "/api/v1/functions/cfn/logs").body.decode()
    assert "C runtime up, handler function.handler\n" in log
    assert len(daemon.instances("cfn")) == 1  # one warm instance served all three
