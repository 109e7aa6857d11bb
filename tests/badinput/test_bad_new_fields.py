"""The fields and routes added with chambers, fed bad input: `command`,
`version_label`, the provided runtime, and the router's hosts API. Each
refusal is exact and changes nothing (Box.reject)."""
import pytest

from badinput_helpers import FN, IPV, IRC, KEEP, box_fixture, valid_spec

box = box_fixture()

CMD_ARRAY = "command must be an array of 1 to 32 strings"
CMD_HTTP = 'command is only for mode "http" (the server to start)'
LABEL_MSG = ("version_label must be 1 to 64 letters, digits, '.', '_', '+' or '-', "
             "start with a letter or digit and not be a number")
HOST_MSG = "host must be a DNS name: letters, digits, '-' and '.', at most 253 characters"


def http_spec(**over):
    return valid_spec(mode="http", handler="index.js",
                      code="require('http').createServer((q, s) => s.end('x')).listen(8000)", **over)


# --- command -----------------------------------------------------------------

COMMAND_CASES = [
    ("x", CMD_ARRAY), (1, CMD_ARRAY), (None, CMD_ARRAY), ({}, CMD_ARRAY), ({"0": "node"}, CMD_ARRAY),
    ([], CMD_ARRAY), (["a"] * 33, CMD_ARRAY),
    ([""], "command[0] must be a non-empty string"),
    ([1], "command[0] must be a non-empty string"),
    ([None], "command[0] must be a non-empty string"),
    ([["node"]], "command[0] must be a non-empty string"),
    (["node", 1], "command[1] must be a string"),
    (["node", None], "command[1] must be a string"),
    (["node", "a", {"b": 1}], "command[2] must be a string"),
    (["a" * 4096], "command is larger than 4096 bytes"),
    (["node"] + ["x" * 200] * 21, "command is larger than 4096 bytes"),
    (["x" * (1 << 20)], "command is larger than 4096 bytes"),
]


@pytest.mark.parametrize("value,msg", COMMAND_CASES, ids=[repr(v)[:30] for v, _ in COMMAND_CASES])
def test_create_with_a_bad_command(box, value, msg):
    box.reject("POST", FN, http_spec(command=value), 400, IPV, msg)


@pytest.mark.parametrize("value,msg", COMMAND_CASES[::3], ids=[repr(v)[:30] for v, _ in COMMAND_CASES[::3]])
def test_update_with_a_bad_command(box, value, msg):
    box.reject("PUT", f"{FN}/{KEEP}", {"command": value}, 400, IPV, msg)


def test_command_with_nul_is_refused_by_the_json_parser(box):
    raw = b'{"name": "fresh", "runtime": "nodejs20", "mode": "http", "code": "x", "command": ["a\\u0000b"]}'
    box.reject("POST", FN, raw, 400, IRC,
               "request body is not valid JSON: \\u0000 is not allowed without JSON_ALLOW_NUL near "
               "'\"a\\u0000b\"' (line 1, column 92)")


def test_command_is_only_for_http_functions(box):
    box.reject("POST", FN, valid_spec(command=["node", "index.js"]), 400, IPV, CMD_HTTP)
    box.reject("POST", FN, valid_spec(mode="handler", command=["node"]), 400, IPV, CMD_HTTP)
    # keep is a handler function: giving it a command is refused too.
    box.reject("PUT", f"{FN}/{KEEP}", {"command": ["node", "index.js"]}, 400, IPV, CMD_HTTP)


def test_the_longest_command_is_accepted(box):
    files = box.stored_files()
    r = box.request("POST", FN, http_spec(name="longcmd", command=["a" * 4095]))
    assert r.status == 201 and r.json()["command"] == ["a" * 4095], r
    r = box.request("POST", FN, http_spec(name="manyargs", command=["n"] + ["x"] * 31))
    assert r.status == 201 and len(r.json()["command"]) == 32, r
    assert box.request("DELETE", f"{FN}/longcmd").status == 204
    box.delete_and_wait("manyargs", files)


# --- version_label -------------------------------------------------------------

LABELS = ["", "1", "123", "007", ".a", "-a", "_a", "+a", "a b", "a/b", "a\\b", "a:b", "a@b", "a\n", "é", "v" * 65,
          "v" * (1 << 20), 1, 1.5, True, None, [], ["1.0.0"], {}]


@pytest.mark.parametrize("label", LABELS, ids=[repr(x)[:20] for x in LABELS])
def test_create_with_a_bad_label(box, label):
    box.reject("POST", FN, valid_spec(version_label=label), 400, IPV, LABEL_MSG)


@pytest.mark.parametrize("label", LABELS[::4], ids=[repr(x)[:20] for x in LABELS[::4]])
def test_update_with_a_bad_label(box, label):
    box.reject("PUT", f"{FN}/{KEEP}", {"version_label": label}, 400, IPV, LABEL_MSG)


# --- provided ----------------------------------------------------------------

def test_provided_with_inline_code(box):
    for rt in ("provided", "provided.al2", "provided.al2023"):
        box.reject("POST", FN, valid_spec(runtime=rt, code="#!/bin/sh\necho hi"), 400, IPV,
                   "runtime 'provided' needs a zip holding its executable, not inline code")
    box.reject("PUT", f"{FN}/{KEEP}", {"runtime": "provided"}, 400, IPV,
               "runtime 'provided' needs a zip holding its executable, not inline code")


@pytest.mark.parametrize("handler", ["/bootstrap", "../bootstrap", ".hidden", "a//b", "a/", "a/.b", "a b", "a;b"])
def test_provided_handler_must_be_a_relative_path(box, handler):
    import base64
    import io
    import zipfile
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("bootstrap", "#!/bin/sh\n")
    box.reject("POST", FN, {"name": "fresh", "runtime": "provided", "handler": handler,
                            "zip": base64.b64encode(buf.getvalue()).decode()}, 400, IPV,
               f"handler '{handler}': must be a relative path of letters, digits, '_', '-', '.', '$' and '/'")


@pytest.mark.parametrize("rt", ["provided.al3", "Provided", "provided ", "provided.al2023.x", "custom"])
def test_unknown_provided_spellings(box, rt):
    box.reject("POST", FN, valid_spec(runtime=rt), 400, IPV, f"unknown runtime '{rt}' (see GET /api/v1/runtimes)")


# --- router hosts ------------------------------------------------------------

def router_unchanged(box, method, path, status, etype, msg):
    before = box.request("GET", "/api/v1/router").body
    box.reject(method, path, None, status, etype, msg)
    assert box.request("GET", "/api/v1/router").body == before


@pytest.mark.parametrize("path,status,etype,msg", [
    ("/api/v1/router/hosts/..%2Fetc", 400, IPV, HOST_MSG),
    ("/api/v1/router/hosts/..", 400, IPV, HOST_MSG),
    ("/api/v1/router/hosts/a%2Fb", 400, IPV, HOST_MSG),
    ("/api/v1/router/hosts/a%20b", 400, IPV, HOST_MSG),
    ("/api/v1/router/hosts/%FF.test", 400, IPV, HOST_MSG),
    ("/api/v1/router/hosts/a%0d%0aX-Injected:%201", 400, IPV, HOST_MSG),
    ("/api/v1/router/hosts/" + "a" * 254, 400, IPV, HOST_MSG),
    ("/api/v1/router/hosts/" + "a" * 256, 404, "NotFound", "no such route"),
    ("/api/v1/router/hosts/" + "a" * 5000, 404, "NotFound", "no such route"),
    ("/api/v1/router/hosts/a%00b", 404, "NotFound", "no such route"),
    ("/api/v1/router/hosts/", 404, "NotFound", "no such route"),
], ids=lambda v: v[:40] if isinstance(v, str) else str(v))
def test_bad_router_hosts(box, path, status, etype, msg):
    router_unchanged(box, "PUT", path, status, etype, msg)


def test_deleting_hosts_that_are_not_served(box):
    router_unchanged(box, "DELETE", "/api/v1/router/hosts/..%2Fetc", 404, "ResourceNotFoundException",
                     "the router does not serve ../etc")
    router_unchanged(box, "DELETE", "/api/v1/router/hosts/%FF", 404, "ResourceNotFoundException",
                     "the router does not serve \ufffd")
    router_unchanged(box, "DELETE", "/api/v1/router/hosts/fn.localhost", 409, "ResourceConflictException",
                     "fn.localhost is the router's own host (--router-host); it cannot be removed")


def test_a_body_on_put_host_is_ignored(box):
    r = box.request("PUT", "/api/v1/router/hosts/body.test", b'{"not": "json"')
    assert r.status == 201 and r.json()["hosts"] == ["fn.localhost", "body.test"]
    assert box.request("DELETE", "/api/v1/router/hosts/body.test").status == 204
    assert box.request("GET", "/api/v1/router").json()["hosts"] == ["fn.localhost"]
