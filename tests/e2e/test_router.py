"""The router (SmolFaaS's Caddy): http://fn.localhost/invoke/<name>[/rest]
with an API Gateway v2 event, /health, routing by Host."""
import json
import subprocess

from conftest import Daemon, free_port


def curl(d, *args, host="fn.localhost"):
    out = subprocess.run(["curl", "-s", "-w", "\n%{http_code}", "--resolve", f"{host}:{d.router_port}:127.0.0.1",
                          *[a.replace("ROUTER", f"http://{host}:{d.router_port}") for a in args]],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    body, _, code = out.rpartition("\n")
    return int(code), body


def test_health_and_invoke_with_an_http_event(routed):
    assert curl(routed, "ROUTER/health") == (200, "Impuls Router OK")
    routed.create(name="echo", runtime="python311", handler="main.handler",
                  code="import json\ndef handler(e, c):\n    return {'statusCode': 200, 'headers': {'Content-Type': 'application/json'},"
                       " 'body': json.dumps({k: e.get(k) for k in ('version', 'rawPath', 'rawQueryString', 'body', 'isBase64Encoded')}"
                       " | {'method': e['requestContext']['http']['method'], 'ua': e['headers'].get('user-agent', '')[:4],"
                       " 'x': e['headers'].get('x-thing')})}")
    code, body = curl(routed, "-X", "POST", "-H", "X-Thing: yes", "-d", '{"a":1}', "ROUTER/invoke/echo/some/path?q=1&r=2")
    assert code == 200
    assert json.loads(body) == {"version": "2.0", "rawPath": "/some/path", "rawQueryString": "q=1&r=2",
                                "body": '{"a":1}', "isBase64Encoded": False, "method": "POST", "ua": "curl",
                                "x": "yes"}
    code, body = curl(routed, "ROUTER/invoke/echo")
    assert code == 200 and json.loads(body)["rawPath"] == "/" and json.loads(body)["method"] == "GET"
    assert json.loads(body)["body"] is None  # no body: the event has none (payload 2.0)


def test_binary_bodies_are_base64(routed):
    routed.create(name="bin", runtime="nodejs20", handler="index.handler",
                  code="exports.handler = async (e) => ({isB64: e.isBase64Encoded, body: e.body})")
    r = subprocess.run(["curl", "-s", "--resolve", f"fn.localhost:{routed.router_port}:127.0.0.1",
                        "--data-binary", "@-", f"http://fn.localhost:{routed.router_port}/invoke/bin"],
                       input=b"\xff\xfe\x00", capture_output=True, timeout=60, check=True).stdout
    assert json.loads(r) == {"isB64": True, "body": "//4A"}


def test_wrong_host_unknown_function_and_bad_paths(routed):
    code, body = curl(routed, "ROUTER/health", host="other.localhost")
    assert code == 404 and "no site for this host (the router serves fn.localhost)" in body
    code, body = curl(routed, "ROUTER/invoke/missing")
    assert code == 404 and "function 'missing' not found" in body
    code, body = curl(routed, "ROUTER/elsewhere")
    assert code == 404 and "use /invoke/<function>[/path] or /health" in body
    code, body = curl(routed, "ROUTER/invoke/..%2Fx")
    assert code == 400


def test_router_host_is_configurable():
    port = free_port()
    d = Daemon(extra_args=["--router-addr", f"127.0.0.1:{port}", "--router-host", "apps.test"]).start()
    d.router_port = port
    try:
        assert curl(d, "ROUTER/health", host="apps.test") == (200, "Impuls Router OK")
        assert curl(d, "ROUTER/health")[0] == 404
    finally:
        assert d.stop() == 0
        d.cleanup()


def test_a_qualifier_after_a_colon_runs_a_version_or_an_alias(routed):
    code = "def handler(event, context):\n    return {'statusCode': 200, 'body': 'v%d'}\n"
    routed.create(name="q", runtime="python3.11", handler="index.handler", code=code % 1)
    assert routed.request("POST", "/api/v1/functions/q/publish", b"").status == 201
    r = routed.request("PUT", "/api/v1/functions/q", {"code": code % 2})
    assert r.status == 200, r
    assert routed.request("POST", "/api/v1/functions/q/aliases", {"name": "live", "version": 1}).status == 201
    assert curl(routed, "ROUTER/invoke/q/x") == (200, "v2")
    assert curl(routed, "ROUTER/invoke/q:1/x") == (200, "v1")
    assert curl(routed, "ROUTER/invoke/q:live") == (200, "v1")
    assert curl(routed, "ROUTER/invoke/q:$LATEST") == (200, "v2")
    code_, body = curl(routed, "ROUTER/invoke/q:nope/x")
    assert (code_, json.loads(body)["errorMessage"]) == (404, "function 'q' has no alias 'nope'")
    code_, body = curl(routed, "ROUTER/invoke/q:7")
    assert (code_, json.loads(body)["errorMessage"]) == (404, "function 'q' has no version 7")
