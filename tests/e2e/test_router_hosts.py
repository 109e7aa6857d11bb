"""The router's host names over the API: GET /api/v1/router, PUT and DELETE
/api/v1/router/hosts/{host}. Added hosts are kept in the store and served
again after a restart; the --router-host one cannot be removed."""
import subprocess
from urllib.parse import quote

import pytest

from conftest import Daemon, free_port

IPV = "InvalidParameterValueException"
HOST_MSG = "host must be a DNS name: letters, digits, '-' and '.', at most 253 characters"
HELLO = ("exports.handler = async (e) => ({statusCode: 200, body: `hi ${e.rawPath} via ${e.headers.host}`})")


def curl(port, host, path):
    out = subprocess.run(["curl", "-s", "-w", "\n%{http_code}", "--resolve", f"{host}:{port}:127.0.0.1",
                          f"http://{host}:{port}{path}"], capture_output=True, text=True, timeout=60,
                         check=True).stdout
    body, _, code = out.rpartition("\n")
    return int(code), body


def info(d):
    r = d.request("GET", "/api/v1/router")
    assert (r.status, r.headers["Content-Type"]) == (200, "application/json"), r
    return r.json()


def err(r):
    return r.status, r.json()


def test_add_invoke_through_it_survive_a_restart_and_delete():
    port = free_port()
    d = Daemon(extra_args=["--router-addr", f"127.0.0.1:{port}"]).start()
    try:
        d.create(name="hello", runtime="nodejs20", code=HELLO)
        assert info(d) == {"addr": f"127.0.0.1:{port}", "hosts": ["fn.localhost"]}
        code, body = curl(port, "apps.example.test", "/invoke/hello/x")
        assert (code, body) == (404, '{"errorType":"NotFound","errorMessage":"no site for this host '
                                     '(the router serves fn.localhost)"}')
        r = d.request("PUT", "/api/v1/router/hosts/apps.example.test")
        assert (r.status, r.json()) == (201, {"addr": f"127.0.0.1:{port}",
                                              "hosts": ["fn.localhost", "apps.example.test"]})
        r = d.request("PUT", "/api/v1/router/hosts/apps.example.test")
        assert (r.status, r.json()) == (200, {"addr": f"127.0.0.1:{port}",
                                              "hosts": ["fn.localhost", "apps.example.test"]})
        assert curl(port, "apps.example.test", "/invoke/hello/x") == (200, f"hi /x via apps.example.test:{port}")
        assert curl(port, "apps.example.test", "/health") == (200, "Impuls Router OK")
        assert curl(port, "fn.localhost", "/invoke/hello") == (200, f"hi / via fn.localhost:{port}")
        code, body = curl(port, "other.test", "/health")
        assert (code, body) == (404, '{"errorType":"NotFound","errorMessage":"no site for this host (the router '
                                     'serves fn.localhost and others: GET /api/v1/router)"}')
        # A restart on the same data dir serves it again.
        assert d.stop() == 0
        d.start()
        assert info(d) == {"addr": f"127.0.0.1:{port}", "hosts": ["fn.localhost", "apps.example.test"]}
        assert curl(port, "apps.example.test", "/invoke/hello/after") == (200, f"hi /after via apps.example.test:{port}")
        r = d.request("DELETE", "/api/v1/router/hosts/apps.example.test")
        assert (r.status, r.body) == (204, b"")
        assert info(d) == {"addr": f"127.0.0.1:{port}", "hosts": ["fn.localhost"]}
        assert curl(port, "apps.example.test", "/health")[0] == 404
        # ...and the delete is kept too.
        assert d.stop() == 0
        d.start()
        assert info(d) == {"addr": f"127.0.0.1:{port}", "hosts": ["fn.localhost"]}
        assert curl(port, "apps.example.test", "/health")[0] == 404
    finally:
        assert d.stop() == 0
        assert d.leftovers() == []
        d.cleanup()


def test_without_a_router_the_hosts_are_still_kept(daemon):
    assert info(daemon) == {"addr": None, "hosts": ["fn.localhost"]}
    r = daemon.request("PUT", "/api/v1/router/hosts/a.test")
    assert (r.status, r.json()) == (201, {"addr": None, "hosts": ["fn.localhost", "a.test"]})


def test_names_are_compared_without_case_and_stored_in_lower_case(daemon):
    r = daemon.request("PUT", "/api/v1/router/hosts/Apps.Example.TEST")
    assert (r.status, r.json()["hosts"]) == (201, ["fn.localhost", "apps.example.test"])
    r = daemon.request("PUT", "/api/v1/router/hosts/apps.example.test")
    assert (r.status, r.json()["hosts"]) == (200, ["fn.localhost", "apps.example.test"])
    r = daemon.request("PUT", "/api/v1/router/hosts/%41pps.example.test")  # percent-decoded
    assert r.status == 200
    r = daemon.request("PUT", "/api/v1/router/hosts/FN.LOCALHOST")
    assert (r.status, r.json()["hosts"]) == (200, ["fn.localhost", "apps.example.test"])
    r = daemon.request("DELETE", "/api/v1/router/hosts/APPS.example.test")
    assert r.status == 204
    assert info(daemon)["hosts"] == ["fn.localhost"]


def test_the_router_host_cannot_be_removed_and_unknown_is_404(daemon):
    r = daemon.request("DELETE", "/api/v1/router/hosts/fn.localhost")
    assert err(r) == (409, {"errorType": "ResourceConflictException",
                            "errorMessage": "fn.localhost is the router's own host (--router-host); "
                                            "it cannot be removed"})
    r = daemon.request("DELETE", "/api/v1/router/hosts/nope.test")
    assert err(r) == (404, {"errorType": "ResourceNotFoundException",
                            "errorMessage": "the router does not serve nope.test"})
    assert info(daemon)["hosts"] == ["fn.localhost"]


def test_a_configured_router_host_is_the_protected_one():
    d = Daemon(extra_args=["--router-host", "apps.test"]).start()
    try:
        assert info(d) == {"addr": None, "hosts": ["apps.test"]}
        assert d.request("DELETE", "/api/v1/router/hosts/apps.test").status == 409
        assert d.request("PUT", "/api/v1/router/hosts/fn.localhost").status == 201
        assert d.request("DELETE", "/api/v1/router/hosts/fn.localhost").status == 204
    finally:
        assert d.stop() == 0
        assert d.leftovers() == []
        d.cleanup()


BAD_HOSTS = ["-a.test", "a-.test", "a.-b", "a..b", ".a", "a.", "a_b", "a b", "a:80", "é.test",
             "x" * 64 + ".test", ("a" * 63 + ".") * 3 + "a" * 62, "a%00b", "a/b"]


@pytest.mark.parametrize("host", BAD_HOSTS, ids=[h[:20] for h in BAD_HOSTS])
def test_a_non_dns_name_is_400(daemon, host):
    r = daemon.request("PUT", "/api/v1/router/hosts/" + (host if "%" in host else quote(host, safe="")))
    if host == "a%00b":  # an encoded NUL: refused by the route table
        assert err(r) == (404, {"errorType": "NotFound", "errorMessage": "no such route"})
    else:
        assert err(r) == (400, {"errorType": IPV, "errorMessage": HOST_MSG})
    assert info(daemon)["hosts"] == ["fn.localhost"]


def test_longest_names_are_accepted(daemon):
    label63 = ("a" * 63 + ".") * 3 + "b" * 61  # 253 characters
    assert len(label63) == 253
    r = daemon.request("PUT", f"/api/v1/router/hosts/{label63}")
    assert r.status == 201 and r.json()["hosts"] == ["fn.localhost", label63]
    r = daemon.request("PUT", f"/api/v1/router/hosts/{label63}b")
    assert err(r) == (400, {"errorType": IPV, "errorMessage": HOST_MSG})


def test_at_most_64_hosts(daemon):
    for i in range(63):
        assert daemon.request("PUT", f"/api/v1/router/hosts/h{i}.test").status == 201
    r = daemon.request("PUT", "/api/v1/router/hosts/one-more.test")
    assert err(r) == (400, {"errorType": IPV, "errorMessage": "the router serves at most 64 hosts"})
    assert daemon.request("PUT", "/api/v1/router/hosts/h5.test").status == 200  # known: fine
    assert daemon.request("DELETE", "/api/v1/router/hosts/h5.test").status == 204
    assert daemon.request("PUT", "/api/v1/router/hosts/one-more.test").status == 201
    assert len(info(daemon)["hosts"]) == 64


def test_wrong_methods_are_405_with_allow(daemon):
    for method, path, allow in [("POST", "/api/v1/router", "GET"), ("PUT", "/api/v1/router", "GET"),
                                ("DELETE", "/api/v1/router", "GET"), ("GET", "/api/v1/router/hosts/a.test",
                                                                      "PUT, DELETE"),
                                ("POST", "/api/v1/router/hosts/a.test", "PUT, DELETE")]:
        r = daemon.request(method, path)
        assert err(r) == (405, {"errorType": "MethodNotAllowed",
                                "errorMessage": f"method not allowed here; allowed: {allow}"}), (method, path)
        assert r.headers["Allow"] == allow
    for path in ["/api/v1/router/hosts", "/api/v1/router/hosts/a.test/x", "/api/v1/router/x/a.test"]:
        r = daemon.request("PUT", path)
        assert err(r) == (404, {"errorType": "NotFound", "errorMessage": "no such route"}), path
