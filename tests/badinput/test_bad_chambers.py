"""Hostile clients of POST/GET/DELETE /chambers: malformed JSON, wrong types,
huge strings, NUL bytes, unknown fields, hostile ids in the path, floods and
rapid create/destroy cycles. Every refusal is exact and leaves no chamber, no
process and no port behind."""
import json
import os
import time
import urllib.parse

import pytest

from badinput_helpers import IPV, IRC, assert_error
from chamber_helpers import (chamber_daemon, daemon_processes, delete_chamber, fd_count, get,
                             make_chamber, port_free, py_text_server, refused, start_chamber,
                             stop_checked, wait_for, wait_status)

CH = "/chambers"
NF = "ResourceNotFoundException"
APP_MSG = "app must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
APP_REQ = "app is required: the name of a function"
VER_REQ = "version is required: a version label or number"
VER_MSG = "version must be a label or a number of 1 to 64 printable characters"
RT_MSG = "runtime must be a string"


class ChamberBox:
    """One daemon for the module, with a labelled HTTP function "app" (python)
    and a handler function "hnd" (node); reject() asserts the exact error and
    that no chamber, process or port appeared."""

    def __init__(self, d):
        self.d = d

    def request(self, *a, **kw):
        return self.d.request(*a, **kw)

    def state(self):
        r = self.request("GET", CH)
        assert r.status == 200
        return r.body, daemon_processes(self.d)

    def reject(self, method, path, body=None, status=400, etype=IPV, msg=None, allow=None, headers=None):
        assert self.d.proc.poll() is None, self.d.read_log()[-3000:]
        # Instances of earlier tests' chambers may still be on their way out.
        assert wait_for(lambda: daemon_processes(self.d) == [], timeout=20), daemon_processes(self.d)
        before = self.state()
        r = self.request(method, path, body, headers)
        assert_error(r, status, etype, msg)
        if allow is not None:
            assert r.headers["Allow"] == allow, r.headers
        assert self.state() == before
        lo, hi = self.d.ports
        assert all(port_free(p) for p in range(lo, hi + 1)), "a chamber port is held"
        return r


@pytest.fixture(scope="module")
def box():
    d = chamber_daemon(3)
    d.create(name="app", runtime="python311", mode="http", handler="main.py", code=py_text_server("app v1"),
             version_label="1.0.0")
    d.create(name="hnd", runtime="nodejs20", version_label="h1",
             code="exports.handler = async (e) => ({statusCode: 200, body: 'hnd'})")
    b = ChamberBox(d)
    yield b
    alive = d.proc.poll() is None
    chambers = d.request("GET", CH).json() if alive else None
    log = d.read_log()
    stop_checked(d)
    assert alive, f"the daemon died during the module: {log[-3000:]}"
    assert chambers == [], f"chambers left: {chambers}"


def post(body):
    return ("POST", CH, body if isinstance(body, (bytes, str)) else json.dumps(body).encode())


# --- malformed bodies --------------------------------------------------------

@pytest.mark.parametrize("raw,msg", [
    (b"", "request body is not valid JSON: '[' or '{' expected near end of file (line 1, column 0)"),
    (b"{", "request body is not valid JSON: string or '}' expected near end of file (line 1, column 1)"),
    (b"{\"app\": \"app\",}", "request body is not valid JSON: string or '}' expected near '}' (line 1, column 15)"),
    (b"null", "request body is not valid JSON: '[' or '{' expected near 'null' (line 1, column 4)"),
    (b"{\"app\": \"a\", \"app\": \"b\", \"version\": 1}",
     "request body is not valid JSON: duplicate object key near '\"app\"' (line 1, column 18)"),
    (b'{"app": "a\\u0000b", "version": 1}',
     "request body is not valid JSON: \\u0000 is not allowed without JSON_ALLOW_NUL near '\"a\\u0000b\"' "
     "(line 1, column 18)"),
    (b"{\"app\": \"\xff\"}", "request body is not valid JSON: unable to decode byte 0xff near '\"' (line 1, column 9)"),
], ids=["empty", "open", "trailing-comma", "null", "duplicate", "nul", "bad-utf8"])
def test_malformed_json(box, raw, msg):
    box.reject(*post(raw), status=400, etype=IRC, msg=msg)


def test_too_many_values(box):
    box.reject(*post(b"[" + b"0," * 200001 + b"0]"), status=400, etype=IRC,
               msg="request body has more than 200000 JSON values")


def test_an_array_body(box):
    # Not an object: refused as the functions API refuses it.
    box.reject(*post([{"app": "app", "version": "1.0.0"}]), msg="request body must be a JSON object")


# --- fields ------------------------------------------------------------------

def unknown(key):
    return f"unknown field '{key[:64]}' (a chamber takes app, version and runtime)"


CASES = [
    ({"app": "app", "version": "1.0.0", "colour": "red"}, unknown("colour")),
    ({"app": "app", "version": "1.0.0", "App": "x"}, unknown("App")),
    ({"app": "app", "version": "1.0.0", "name": "app"}, unknown("name")),
    ({"app": "app", "version": "1.0.0", "x" * 5000: 1}, unknown("x" * 5000)),
    ({"colour": 1}, unknown("colour")),  # unknown fields are reported first
    ({}, APP_REQ),
    ({"version": "1.0.0"}, APP_REQ),
    ({"app": None, "version": "1.0.0"}, APP_REQ),
    ({"app": 1, "version": "1.0.0"}, APP_REQ),
    ({"app": ["app"], "version": "1.0.0"}, APP_REQ),
    ({"app": "", "version": "1.0.0"}, APP_MSG),
    ({"app": "-app", "version": "1.0.0"}, APP_MSG),
    ({"app": "../app", "version": "1.0.0"}, APP_MSG),
    ({"app": "a" * 65, "version": "1.0.0"}, APP_MSG),
    ({"app": "a" * (1 << 20), "version": "1.0.0"}, APP_MSG),
    ({"app": "app"}, VER_REQ),
    ({"app": "app", "runtime": "python311"}, VER_REQ),
    ({"app": "app", "version": None}, VER_MSG),
    ({"app": "app", "version": ""}, VER_MSG),
    ({"app": "app", "version": 0}, VER_MSG),
    ({"app": "app", "version": -1}, VER_MSG),
    ({"app": "app", "version": 1000000001}, VER_MSG),
    ({"app": "app", "version": 2 ** 63 - 1}, VER_MSG),
    ({"app": "app", "version": 1.0}, VER_MSG),
    ({"app": "app", "version": 1.5}, VER_MSG),
    ({"app": "app", "version": True}, VER_MSG),
    ({"app": "app", "version": []}, VER_MSG),
    ({"app": "app", "version": {"label": "1.0.0"}}, VER_MSG),
    ({"app": "app", "version": "v" * 65}, VER_MSG),
    ({"app": "app", "version": "v" * (1 << 20)}, VER_MSG),
    ({"app": "app", "version": "1.0 .0"}, VER_MSG),
    ({"app": "app", "version": "1.0.0\n"}, VER_MSG),
    ({"app": "app", "version": "é"}, VER_MSG),
    ({"app": "app", "version": "\x7f"}, VER_MSG),
    ({"app": "app", "version": "1.0.0", "runtime": None}, RT_MSG),
    ({"app": "app", "version": "1.0.0", "runtime": 39}, RT_MSG),
    ({"app": "app", "version": "1.0.0", "runtime": ["python3.9"]}, RT_MSG),
    ({"app": "app", "version": "1.0.0", "runtime": "cobol"}, "unknown runtime 'cobol' (see GET /api/v1/runtimes)"),
    ({"app": "app", "version": "1.0.0", "runtime": ""}, "unknown runtime '' (see GET /api/v1/runtimes)"),
    ({"app": "app", "version": "1.0.0", "runtime": "python3.8"},
     "unknown runtime 'python3.8' (see GET /api/v1/runtimes)"),
    ({"app": "app", "version": "1.0.0", "runtime": "r" * 1000}, f"unknown runtime '{'r' * 32}' (see GET /api/v1/runtimes)"),
    # The version runs on Python: another language is refused.
    ({"app": "app", "version": "1.0.0", "runtime": "nodejs20"},
     "version 1.0.0 of app runs on python311; runtime nodejs20 cannot run it"),
    ({"app": "app", "version": 1, "runtime": "nodejs18.x"},
     "version 1 of app runs on python311; runtime nodejs18 cannot run it"),
    ({"app": "hnd", "version": "h1", "runtime": "python3.11"},
     "version h1 of hnd runs on nodejs20; runtime python311 cannot run it"),
]


@pytest.mark.parametrize("body,msg", CASES, ids=[json.dumps(b)[:40] for b, _ in CASES])
def test_bad_fields(box, body, msg):
    box.reject(*post(body), msg=msg)


NOT_FOUND = [
    ({"app": "nope", "version": "1.0.0"}, "function 'nope' not found"),
    ({"app": "App", "version": "1.0.0"}, "function 'App' not found"),
    ({"app": "app", "version": "9.9"},
     "function 'app' has no version '9.9' (see GET /api/v1/functions/app/versions)"),
    ({"app": "app", "version": 2},
     "function 'app' has no version '2' (see GET /api/v1/functions/app/versions)"),
    ({"app": "app", "version": "01.0.0"},
     "function 'app' has no version '01.0.0' (see GET /api/v1/functions/app/versions)"),
    ({"app": "app", "version": "../1.0.0"},
     "function 'app' has no version '../1.0.0' (see GET /api/v1/functions/app/versions)"),
    ({"app": "app", "version": "1.0.0'; DROP TABLE versions; --"[:64].replace(" ", "")},
     "function 'app' has no version '1.0.0';DROPTABLEversions;--' (see GET /api/v1/functions/app/versions)"),
    ({"app": "app", "version": "%"}, "function 'app' has no version '%' (see GET /api/v1/functions/app/versions)"),
    ({"app": "app", "version": "v" * 64},
     f"function 'app' has no version '{'v' * 64}' (see GET /api/v1/functions/app/versions)"),
    ({"app": "app", "version": "1000000000"},
     "function 'app' has no version '1000000000' (see GET /api/v1/functions/app/versions)"),
    ({"app": "app", "version": 1000000000},
     "function 'app' has no version '1000000000' (see GET /api/v1/functions/app/versions)"),
    ({"app": "app", "version": "4294967297"},  # would wrap to 1 as a 32-bit int
     "function 'app' has no version '4294967297' (see GET /api/v1/functions/app/versions)"),
]


@pytest.mark.parametrize("body,msg", NOT_FOUND, ids=[json.dumps(b)[:40] for b, _ in NOT_FOUND])
def test_unknown_function_or_version_is_404(box, body, msg):
    box.reject(*post(body), status=404, etype=NF, msg=msg)


def test_the_store_is_intact_after_hostile_versions(box):
    r = box.request("GET", "/api/v1/functions/app/versions")
    assert r.status == 200 and [v["version_label"] for v in r.json()["versions"]] == ["1.0.0"]


def test_a_provided_version_ignores_the_runtime_named(box):
    d = box.d
    import base64, io, zipfile  # noqa: E401
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        info = zipfile.ZipInfo("server.py")
        info.external_attr = (0o100755) << 16
        z.writestr(info, "#!/usr/bin/python3\n" + py_text_server("provided"))
    d.create(name="prov", runtime="provided", mode="http", handler="server.py", version_label="p1",
             zip=base64.b64encode(buf.getvalue()).decode())
    try:
        c = start_chamber(d, "prov", "p1", "nodejs20")
        assert c["spec"] == {"app": "prov", "version": "p1", "runtime": "nodejs20"}
        assert get(c["port"])[2] == b"provided"
        delete_chamber(d, c["id"])
    finally:
        assert d.request("DELETE", "/api/v1/functions/prov").status == 204


# --- ids in the path ---------------------------------------------------------

def chamber_nf(i):
    return f"chamber '{i}' not found"


@pytest.mark.parametrize("path,status,etype,msg", [
    ("/chambers/nope", 404, NF, chamber_nf("nope")),
    ("/chambers/..%2F", 404, NF, chamber_nf("../")),
    ("/chambers/..%2F..%2Fetc%2Fpasswd", 404, NF, chamber_nf("../../etc/passwd")),
    ("/chambers/%2e%2e", 404, NF, chamber_nf("..")),
    ("/chambers/app-1.0.0-", 404, NF, chamber_nf("app-1.0.0-")),
    ("/chambers/'%22%3Cx%3E", 404, NF, chamber_nf("'\"<x>")),
    ("/chambers/%FF%FE", 404, NF, chamber_nf("\ufffd\ufffd")),
    ("/chambers/" + "a" * 255, 404, NF, chamber_nf("a" * 255)),
    ("/chambers/" + "a" * 256, 404, "NotFound", "no such route"),
    ("/chambers/" + "a" * 5000, 404, "NotFound", "no such route"),
    ("/chambers/a%00b", 404, "NotFound", "no such route"),
    ("/chambers/%00", 404, "NotFound", "no such route"),
    ("/chambers/a/b", 404, "NotFound", "no such route"),
    ("/chambers/a/", 404, NF, chamber_nf("a")),
    ("/chamber", 404, "NotFound", "no such route"),
    ("/Chambers", 404, "NotFound", "no such route"),
], ids=lambda v: v[:30] if isinstance(v, str) else str(v))
@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_hostile_ids(box, method, path, status, etype, msg):
    box.reject(method, path, status=status, etype=etype, msg=msg)


@pytest.mark.parametrize("method,path,allow", [
    ("PUT", "/chambers", "GET, POST"), ("DELETE", "/chambers", "GET, POST"), ("PATCH", "/chambers", "GET, POST"),
    ("POST", "/chambers/x", "GET, DELETE"), ("PUT", "/chambers/x", "GET, DELETE"),
    ("HEAD", "/chambers", "GET, POST"), ("OPTIONS", "/chambers/x", "GET, DELETE"),
])
def test_wrong_methods(box, method, path, allow):
    r = box.request(method, path)
    assert (r.status, r.headers["Allow"]) == (405, allow), r
    if method != "HEAD":
        assert_error(r, 405, "MethodNotAllowed", f"method not allowed here; allowed: {allow}")


def test_a_query_string_changes_nothing(box):
    box.reject("GET", "/chambers/nope?x=../../etc", status=404, etype=NF, msg=chamber_nf("nope"))
    r = box.request("GET", "/chambers?status=RUNNING")
    assert (r.status, r.json()) == (200, [])


# --- floods and cycles -------------------------------------------------------

def test_a_full_range_is_503_and_nothing_leaks(box):
    d = box.d
    lo, hi = d.ports
    made = [make_chamber(d, "app", "1.0.0") for _ in range(3)]
    assert [c["port"] for c in made] == [lo, lo + 1, hi]
    for _ in range(20):
        r = d.request("POST", CH, {"app": "hnd", "version": "h1"})
        assert_error(r, 503, "ServiceUnavailable", f"no free port in {lo}-{hi}")
    assert [c["id"] for c in d.request("GET", CH).json()] == [c["id"] for c in made]
    for c in made:
        wait_status(d, c["id"], "RUNNING")
        delete_chamber(d, c["id"])
    assert wait_for(lambda: daemon_processes(d) == []), daemon_processes(d)
    assert all(refused(p) for p in range(lo, hi + 1))


# Enough cycles that a leak of an fd, a process or a port per chamber shows;
# counted, not timed: a slower machine runs the same test.
CYCLES = 300


def test_rapid_create_and_delete_cycles_leak_nothing(box):
    d = box.d
    pid = d.proc.pid
    # Warm up once (first-use allocations), then count.
    c = start_chamber(d, "hnd", "h1")
    delete_chamber(d, c["id"])
    assert wait_for(lambda: daemon_processes(d) == [], timeout=20), daemon_processes(d)
    assert wait_for(lambda: d.request("GET", "/healthz").json()["instances"] == 0)
    fds = fd_count(pid)
    n = busy = 0
    while n < CYCLES:
        body = {"app": "hnd" if n % 2 else "app", "version": "h1" if n % 2 else "1.0.0"}
        r = d.request("POST", CH, body)
        # A just-deleted chamber's port can stay held for a moment by its dying
        # sandbox (the clone inherited the listening socket); under a slow
        # (ASan) daemon the whole 3-port range can be briefly taken.
        for _ in range(50):
            if r.status != 503:
                break
            busy += 1
            time.sleep(0.05)
            r = d.request("POST", CH, body)
        assert r.status == 201, (n, r, d.read_log()[-1500:])
        r2 = d.request("DELETE", f"/chambers/{r.json()['id']}")
        assert r2.status == 204, r2
        n += 1
    assert busy < 100, f"the port range was full {busy} times"
    assert d.request("GET", CH).json() == []
    assert wait_for(lambda: daemon_processes(d) == [], timeout=60), daemon_processes(d)
    assert wait_for(lambda: d.request("GET", "/healthz").json()["instances"] == 0, timeout=30)
    assert wait_for(lambda: fd_count(pid) <= fds, timeout=10), (fds, fd_count(pid), os.listdir(f"/proc/{pid}/fd"))
    lo, hi = d.ports
    assert all(port_free(p) for p in range(lo, hi + 1))
    assert os.listdir(os.path.join(d.data_dir, "logs")) != [] and not [
        f for f in os.listdir(os.path.join(d.data_dir, "logs")) if f.startswith("chamber-")]
    # Still works.
    c = start_chamber(d, "app", "1.0.0")
    assert get(c["port"])[2] == b"app v1"
    delete_chamber(d, c["id"])


def sleeper_daemon():
    """A daemon with 300 chamber ports and "sleeper": a provided bootstrap that
    only sleeps (cheap); its chambers stay STARTING."""
    import base64, io, zipfile  # noqa: E401
    d = chamber_daemon(300, ["--init-timeout", "300"])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = (0o100755) << 16
        z.writestr(info, "#!/bin/sh\nexec sleep 600\n")
    d.create(name="sleeper", runtime="provided", version_label="s", memory_mb=64,
             zip=base64.b64encode(buf.getvalue()).decode())
    return d


def fill(d, n):
    ids, ports = [], []
    for i in range(n):
        r = d.request("POST", CH, {"app": "sleeper", "version": "s"})
        assert r.status == 201, (i, r)
        ids.append(r.json()["id"])
        ports.append(r.json()["port"])
    assert ports == sorted(ports) and len(set(ports)) == n
    return ids, ports


def test_256_chambers_at_most():
    """The 257th chamber is refused whatever the port range."""
    d = sleeper_daemon()
    try:
        ids, ports = fill(d, 256)
        r = d.request("POST", CH, {"app": "sleeper", "version": "s"})
        assert_error(r, 503, "ServiceUnavailable", "there are already 256 chambers; destroy some first")
        assert len(d.request("GET", CH).json()) == 256
        assert d.request("GET", "/healthz").status == 200
        delete_chamber(d, ids[100])
        r = d.request("POST", CH, {"app": "sleeper", "version": "s"})
        assert r.status == 201, r
        ids[100] = r.json()["id"]
        for i in ids:
            delete_chamber(d, i)
        assert wait_for(lambda: daemon_processes(d) == [], timeout=60), len(daemon_processes(d))
    finally:
        stop_checked(d)


def test_urlencoded_id_of_a_real_chamber(box):
    d = box.d
    c = make_chamber(d, "app", "1.0.0")
    try:
        quoted = urllib.parse.quote(c["id"], safe="")
        assert d.request("GET", f"/chambers/{quoted}").json()["id"] == c["id"]
        weird = "".join(f"%{b:02X}" for b in c["id"].encode())
        assert d.request("GET", f"/chambers/{weird}").json()["id"] == c["id"]
        wait_status(d, c["id"], "RUNNING")
    finally:
        delete_chamber(d, c["id"])
