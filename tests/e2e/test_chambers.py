"""impulse's chambers: POST /chambers {"app","version","runtime"} starts one
long-lived instance of a stored version of a function on a port of its own
(--chamber-ports); GET /chambers, GET and DELETE /chambers/{id}. HTTP-server
functions get their port's raw TCP bytes; handler functions get one API
Gateway v2 event per request."""
import hashlib
import json
import os
import re
import signal
import socket
import time

import pytest

from chamber_helpers import (PY_RAW_SERVER, chamber, chamber_daemon, connect, daemon_processes,
                             delete_chamber, get, http_bytes, make_chamber, pids_running, port_free,
                             py_text_server, read_response, refused, start_chamber, stop_checked,
                             wait_for, wait_status)

MiB = 1 << 20


@pytest.fixture
def cd():
    """A daemon with 8 chamber ports of its own; checked at teardown."""
    d = chamber_daemon(8)
    yield d
    stop_checked(d)


def sampleapp(d, text="Hello from sampleapp 1.0.0", label="1.0.0", create=True):
    spec = dict(runtime="python3.9", mode="http", handler="main.py", code=py_text_server(text),
                version_label=label)
    if create:
        return d.create(name="sampleapp", **spec)
    r = d.request("PUT", "/api/v1/functions/sampleapp", spec)
    assert r.status == 200, r
    return r.json()


# --- impulse's README, verbatim --------------------------------------------

def test_readme_example_verbatim(cd):
    lo, hi = cd.ports
    f = sampleapp(cd)
    assert (f["version"], f["version_label"], f["mode"], f["runtime"]) == (1, "1.0.0", "http", "python39")
    t0 = int(time.time() * 1000)
    r = cd.request("POST", "/chambers", {"app": "sampleapp", "version": "1.0.0", "runtime": "python3.9"})
    t1 = int(time.time() * 1000)
    assert r.status == 201, r
    c = r.json()
    assert set(c) == {"id", "status", "createdTimeMillis", "port", "spec"}
    assert re.fullmatch(r"sampleapp-1\.0\.0-[a-z0-9]{5}", c["id"]), c
    assert r.headers["Location"] == f"/chambers/{c['id']}"
    assert r.headers["Content-Type"] == "application/json"
    assert c["status"] == "STARTING"
    assert t0 <= c["createdTimeMillis"] <= t1
    assert c["port"] == lo
    assert c["spec"] == {"app": "sampleapp", "version": "1.0.0", "runtime": "python3.9"}
    # The list shows it STARTING until its server answers, then RUNNING.
    seen = []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        lst = cd.request("GET", "/chambers")
        assert lst.status == 200 and lst.headers["Content-Type"] == "application/json"
        (only,) = lst.json()
        seen.append(only["status"])
        if only["status"] != "STARTING":
            break
        time.sleep(0.01)
    assert seen[0] == "STARTING" and seen[-1] == "RUNNING" and set(seen) == {"STARTING", "RUNNING"}, seen
    assert only == dict(c, status="RUNNING")
    assert chamber(cd, c["id"]) == only
    st, h, body = get(c["port"], "/")
    assert (st, body, h["content-type"]) == (200, b"Hello from sampleapp 1.0.0", "text/plain")
    delete_chamber(cd, c["id"])
    assert cd.request("GET", "/chambers").json() == []
    r = cd.request("GET", f"/chambers/{c['id']}")
    assert (r.status, r.json()) == (404, {"errorType": "ResourceNotFoundException",
                                          "errorMessage": f"chamber '{c['id']}' not found"})


def test_a_second_chamber_gets_the_next_port_and_the_list_is_oldest_first(cd):
    lo, _ = cd.ports
    sampleapp(cd)
    a = start_chamber(cd, "sampleapp", "1.0.0", "python3.9")
    b = start_chamber(cd, "sampleapp", "1.0.0")
    c = start_chamber(cd, "sampleapp", 1)  # the number of the version, as an integer
    assert (a["port"], b["port"], c["port"]) == (lo, lo + 1, lo + 2)
    assert len({a["id"], b["id"], c["id"]}) == 3
    assert b["spec"] == {"app": "sampleapp", "version": "1.0.0", "runtime": "python39"}
    assert c["spec"] == {"app": "sampleapp", "version": "1", "runtime": "python39"}
    assert re.fullmatch(r"sampleapp-1-[a-z0-9]{5}", c["id"]), c
    assert [x["id"] for x in cd.request("GET", "/chambers").json()] == [a["id"], b["id"], c["id"]]
    for x in (a, b, c):
        assert get(x["port"])[2] == b"Hello from sampleapp 1.0.0"
    # Each chamber is one instance of its own; the function's pool has none.
    assert cd.instances("sampleapp") == []
    assert cd.request("GET", "/healthz").json()["instances"] == 3
    for x in (a, b, c):
        delete_chamber(cd, x["id"])


def test_two_versions_side_by_side(cd):
    sampleapp(cd)
    f2 = sampleapp(cd, "Hello from sampleapp 2.0.0", "2.0.0", create=False)
    assert (f2["version"], f2["version_label"]) == (2, "2.0.0")
    v1 = start_chamber(cd, "sampleapp", "1.0.0", "python3.9")
    v2 = start_chamber(cd, "sampleapp", "2.0.0", "python3.9")
    by_number = start_chamber(cd, "sampleapp", "2")
    assert get(v1["port"])[2] == b"Hello from sampleapp 1.0.0"
    assert get(v2["port"])[2] == b"Hello from sampleapp 2.0.0"
    assert get(by_number["port"])[2] == b"Hello from sampleapp 2.0.0"
    # The function itself runs its current version.
    r = cd.invoke("sampleapp")
    assert (r.status, r.body) == (200, b"Hello from sampleapp 2.0.0")
    # An update without a label leaves the new version unlabelled, and the
    # labelled versions still start chambers.
    r = cd.request("PUT", "/api/v1/functions/sampleapp", {"memory_mb": 256})
    assert r.status == 200 and (r.json()["version"], r.json()["version_label"]) == (3, None)
    again = start_chamber(cd, "sampleapp", "1.0.0")
    assert get(again["port"])[2] == b"Hello from sampleapp 1.0.0"
    for x in (v1, v2, by_number, again):
        delete_chamber(cd, x["id"])


def test_a_chamber_s_version_may_name_an_alias(cd):
    sampleapp(cd)
    assert cd.request("POST", "/api/v1/functions/sampleapp/publish", b"").status == 201
    sampleapp(cd, "Hello from sampleapp 2.0.0", "2.0.0", create=False)
    r = cd.request("POST", "/api/v1/functions/sampleapp/aliases", {"name": "stable", "version": 1})
    assert r.status == 201, r
    c = start_chamber(cd, "sampleapp", "stable")
    assert c["spec"]["version"] == "stable"
    assert get(c["port"])[2] == b"Hello from sampleapp 1.0.0"
    r = cd.request("POST", "/chambers", {"app": "sampleapp", "version": "unstable"})
    assert (r.status, r.json()["errorMessage"]) == (
        404, "function 'sampleapp' has no version 'unstable' (see GET /api/v1/functions/sampleapp/versions)")
    delete_chamber(cd, c["id"])


# --- handler functions: one API Gateway v2 event per request ---------------

PY_EVENT = ("import json\n"
            "def handler(e, c):\n"
            "    return {'statusCode': 201, 'headers': {'Content-Type': 'application/json', 'X-Lang': 'python'},\n"
            "            'body': json.dumps({'version': e['version'], 'method': e['requestContext']['http']['method'],\n"
            "                                'rawPath': e['rawPath'], 'rawQueryString': e['rawQueryString'],\n"
            "                                'body': e.get('body'), 'isBase64Encoded': e['isBase64Encoded'],\n"
            "                                'thing': e['headers'].get('x-thing')})}\n")
NODE_EVENT = ("exports.handler = async (e) => ({statusCode: 201, headers: {'Content-Type': 'application/json', "
              "'X-Lang': 'node'}, body: JSON.stringify({version: e.version, method: e.requestContext.http.method, "
              "rawPath: e.rawPath, rawQueryString: e.rawQueryString, body: e.body === undefined ? null : e.body, "
              "isBase64Encoded: e.isBase64Encoded, thing: e.headers['x-thing'] || null})})")


@pytest.mark.parametrize("runtime,alias,code,lang", [
    ("python311", "python3.11", PY_EVENT, "python"),
    ("nodejs20", "nodejs20.x", NODE_EVENT, "node"),
], ids=["python", "node"])
def test_a_handler_function_as_a_chamber_gets_api_gateway_events(cd, runtime, alias, code, lang):
    cd.create(name="ev", runtime=runtime, code=code, version_label="v1")
    c = start_chamber(cd, "ev", "v1", alias)
    assert c["spec"] == {"app": "ev", "version": "v1", "runtime": alias}
    st, h, body = get(c["port"], "/some/path?q=1&r=two", "POST", b'{"a": 1}', {"X-Thing": "yes"})
    assert (st, h["content-type"], h["x-lang"]) == (201, "application/json", lang)
    assert json.loads(body) == {"version": "2.0", "method": "POST", "rawPath": "/some/path",
                                "rawQueryString": "q=1&r=two", "body": '{"a": 1}', "isBase64Encoded": False,
                                "thing": "yes"}
    st, h, body = get(c["port"], "/", "DELETE")
    assert st == 201 and json.loads(body)["method"] == "DELETE" and json.loads(body)["rawPath"] == "/"
    # The same instance answers every request (a chamber is one instance).
    assert cd.request("GET", "/healthz").json()["instances"] == 1
    delete_chamber(cd, c["id"])
    assert wait_for(lambda: cd.request("GET", "/healthz").json()["instances"] == 0)


def test_a_handler_chamber_returns_function_errors_as_500(cd):
    cd.create(name="thrower", runtime="nodejs20", version_label="bad",
              code="exports.handler = async () => { throw new TypeError('bad thing'); }")
    c = start_chamber(cd, "thrower", "bad")
    st, h, body = get(c["port"])
    err = json.loads(body)
    assert (st, err["errorType"], err["errorMessage"]) == (500, "TypeError", "bad thing")
    # The instance survives its function's error.
    assert chamber(cd, c["id"])["status"] == "RUNNING"
    delete_chamber(cd, c["id"])


# --- raw TCP through an HTTP-server chamber --------------------------------

@pytest.fixture
def raw(cd):
    cd.create(name="raw", runtime="python311", mode="http", handler="server.py", code=PY_RAW_SERVER,
              version_label="r1")
    c = start_chamber(cd, "raw", "r1")
    yield cd, c
    if cd.request("GET", f"/chambers/{c['id']}").status == 200:
        delete_chamber(cd, c["id"])


def test_keep_alive_two_requests_on_one_connection(raw):
    _, c = raw
    with connect(c["port"]) as s:
        s.sendall(http_bytes("GET", "/conn"))
        st1, h1, b1, extra = read_response(s)
        s.sendall(http_bytes("GET", "/conn"))
        st2, h2, b2, _ = read_response(s, extra)
    assert (st1, st2) == (200, 200)
    assert b1 == b2 and b1.isdigit(), (b1, b2)  # one upstream connection carried both
    # A second client connection is a second upstream connection.
    st3, _, b3 = get(c["port"], "/conn")
    assert st3 == 200 and b3 != b1


def test_a_5_mib_upload_and_download(raw):
    _, c = raw
    data = os.urandom(5 * MiB)
    st, _, body = get(c["port"], "/sum", "POST", data)
    assert (st, body) == (200, f"{5 * MiB} {hashlib.sha256(data).hexdigest()}".encode())
    st, h, body = get(c["port"], f"/big?n={5 * MiB}")
    pattern = bytes(range(256)) * 256
    assert (st, h["content-length"], len(body)) == (200, str(5 * MiB), 5 * MiB)
    assert body == pattern * (5 * MiB // len(pattern))


def test_a_streamed_response_arrives_before_it_is_finished(raw):
    """The server writes "first", then waits for the body the client sends only
    after it has seen "first": the last chunk cannot exist before the first
    arrived, so a buffering proxy would hang here."""
    _, c = raw
    with connect(c["port"], timeout=15) as s:
        s.sendall(http_bytes("POST", "/stream", b"", {"Content-Length": "3"}))
        buf = b""
        while b"first\n" not in buf:
            chunk = s.recv(65536)
            assert chunk, f"closed before the first chunk: {buf!r}"
            buf += chunk
        assert b"last" not in buf
        s.sendall(b"go!")
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 200") or head.startswith(b"HTTP/1.1 200"), head
    assert body == b"first\nlast:go!\n"


def test_half_close_from_the_client_still_gets_the_answer(raw):
    _, c = raw
    with connect(c["port"]) as s:
        s.sendall(http_bytes("POST", "/sum", b"abc", {"Connection": "close"}))
        s.shutdown(socket.SHUT_WR)
        st, _, body, _ = read_response(s)
    assert (st, body) == (200, b"3 " + hashlib.sha256(b"abc").hexdigest().encode())


# --- the instance dies, the chamber is destroyed ---------------------------

def test_killing_the_server_fails_the_chamber_and_closes_its_port(cd):
    lo, _ = cd.ports
    cd.create(name="victim", runtime="python311", mode="http", handler="victim_server.py",
              code=py_text_server("alive"), version_label="v1")
    c = start_chamber(cd, "victim", "v1")
    assert get(c["port"])[2] == b"alive"
    (pid,) = pids_running(cd, "victim_server.py")
    os.kill(pid, signal.SIGKILL)
    failed = wait_status(cd, c["id"], "FAILED")
    assert failed == dict(c, status="FAILED", reason="the instance exited: exit status 1"), failed
    assert refused(c["port"])
    assert wait_for(lambda: daemon_processes(cd) == []), daemon_processes(cd)
    # A FAILED chamber keeps its port until it is destroyed...
    other = make_chamber(cd, "victim", "v1")
    assert other["port"] == lo + 1
    delete_chamber(cd, c["id"])
    # ... then the port is free, and the next chamber gets it again.
    assert wait_for(lambda: port_free(lo))
    again = start_chamber(cd, "victim", "v1")
    assert again["port"] == lo
    assert get(again["port"])[2] == b"alive"
    delete_chamber(cd, other["id"])
    delete_chamber(cd, again["id"])


def test_killing_a_handler_chambers_sandbox_fails_it(cd):
    cd.create(name="h", runtime="python311", code="def handler(e, c):\n    return 'ok'\n", version_label="v1")
    c = start_chamber(cd, "h", "v1")
    runtime = pids_running(cd, "/usr/bin/python3")
    assert len(runtime) == 1, daemon_processes(cd)
    os.kill(runtime[0], signal.SIGKILL)
    failed = wait_status(cd, c["id"], "FAILED")
    assert failed["reason"].startswith("the instance exited: "), failed
    assert refused(c["port"])
    delete_chamber(cd, c["id"])
    assert wait_for(lambda: daemon_processes(cd) == []), daemon_processes(cd)


def test_delete_frees_the_port_and_stops_the_instance(cd):
    lo, _ = cd.ports
    sampleapp(cd)
    c = start_chamber(cd, "sampleapp", "1.0.0")
    assert c["port"] == lo and not port_free(lo)
    assert sorted(os.listdir(os.path.join(cd.data_dir, "logs"))) == [f"chamber-{c['id']}.log", "sampleapp.log"]
    delete_chamber(cd, c["id"])
    assert refused(lo)
    assert wait_for(lambda: daemon_processes(cd) == []), daemon_processes(cd)
    assert wait_for(lambda: cd.request("GET", "/healthz").json()["instances"] == 0)
    assert os.listdir(os.path.join(cd.data_dir, "logs")) == ["sampleapp.log"]  # the chamber's log went with it
    r = cd.request("DELETE", f"/chambers/{c['id']}")
    assert (r.status, r.json()) == (404, {"errorType": "ResourceNotFoundException",
                                          "errorMessage": f"chamber '{c['id']}' not found"})
    assert start_chamber(cd, "sampleapp", "1.0.0")["port"] == lo


def test_deleting_a_chamber_while_it_starts(cd):
    cd.create(name="slow", runtime="python311", mode="http", handler="main.py",
              code="import time\ntime.sleep(3)\n" + py_text_server("late"), version_label="v1")
    c = make_chamber(cd, "slow", "v1")
    assert chamber(cd, c["id"])["status"] == "STARTING"
    delete_chamber(cd, c["id"])
    assert wait_for(lambda: daemon_processes(cd) == []), daemon_processes(cd)
    assert cd.request("GET", "/chambers").json() == []


def test_deleting_the_function_leaves_its_running_chamber_alone(cd):
    """A chamber pins the version it was made from: deleting the function
    stops the function's own instances but not the chamber, which goes on
    answering until it is destroyed; no new chamber of it can be made."""
    sampleapp(cd)
    c = start_chamber(cd, "sampleapp", "1.0.0")
    assert (cd.invoke("sampleapp").status, len(cd.instances("sampleapp"))) == (200, 1)
    r = cd.request("DELETE", "/api/v1/functions/sampleapp")
    assert r.status == 204
    time.sleep(0.5)
    assert chamber(cd, c["id"])["status"] == "RUNNING"
    st, _, body = get(c["port"])
    assert (st, body) == (200, b"Hello from sampleapp 1.0.0")
    r = cd.request("POST", "/chambers", {"app": "sampleapp", "version": "1.0.0"})
    assert (r.status, r.json()) == (404, {"errorType": "ResourceNotFoundException",
                                          "errorMessage": "function 'sampleapp' not found"})
    delete_chamber(cd, c["id"])
    assert wait_for(lambda: daemon_processes(cd) == []), daemon_processes(cd)


def test_a_new_function_of_the_same_name_does_not_reach_the_old_chamber(cd):
    sampleapp(cd)
    c = start_chamber(cd, "sampleapp", "1.0.0")
    assert cd.request("DELETE", "/api/v1/functions/sampleapp").status == 204
    cd.create(name="sampleapp", runtime="python311", mode="http", handler="main.py",
              code=py_text_server("the new one"), version_label="1.0.0")
    assert get(c["port"])[2] == b"Hello from sampleapp 1.0.0"
    n = start_chamber(cd, "sampleapp", "1.0.0")
    assert get(n["port"])[2] == b"the new one"
    delete_chamber(cd, c["id"])
    delete_chamber(cd, n["id"])


def test_sigterm_with_chambers_running_leaves_nothing_behind():
    d = chamber_daemon(4)
    try:
        sampleapp(d)
        d.create(name="ev", runtime="nodejs20", code=NODE_EVENT, version_label="v1")
        a = start_chamber(d, "sampleapp", "1.0.0")
        b = start_chamber(d, "ev", "v1")
        with connect(a["port"]) as held:  # an open client connection through a chamber
            held.sendall(http_bytes("GET", "/"))
            assert read_response(held)[0] == 200
            assert len(daemon_processes(d)) >= 2
            code = d.stop()
            assert code == 0, d.read_log()[-3000:]
            assert refused(a["port"]) and refused(b["port"])
    finally:
        if d.proc.poll() is None:
            d.kill()
        left = d.leftovers()
        d.cleanup()
    assert left == []


# --- the port range --------------------------------------------------------

def test_the_port_range_is_honoured_and_a_full_range_is_503():
    d = chamber_daemon(2)
    lo, hi = d.ports
    try:
        sampleapp(d)
        a = make_chamber(d, "sampleapp", "1.0.0")
        b = make_chamber(d, "sampleapp", "1.0.0")
        assert (a["port"], b["port"]) == (lo, hi)
        r = d.request("POST", "/chambers", {"app": "sampleapp", "version": "1.0.0"})
        assert (r.status, r.json()) == (503, {"errorType": "ServiceUnavailable",
                                              "errorMessage": f"no free port in {lo}-{hi}"})
        assert len(d.request("GET", "/chambers").json()) == 2
        wait_status(d, a["id"], "RUNNING")
        delete_chamber(d, a["id"])
        c = make_chamber(d, "sampleapp", "1.0.0")
        assert c["port"] == lo
        wait_status(d, c["id"], "RUNNING")
        wait_status(d, b["id"], "RUNNING")
    finally:
        stop_checked(d)


def test_a_port_held_by_another_program_is_skipped():
    d = chamber_daemon(3)
    lo, hi = d.ports
    squatter = socket.socket()
    try:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", lo))
        squatter.listen(1)
        sampleapp(d)
        a = start_chamber(d, "sampleapp", "1.0.0")
        assert a["port"] == lo + 1
        b = make_chamber(d, "sampleapp", "1.0.0")
        assert b["port"] == hi
        r = d.request("POST", "/chambers", {"app": "sampleapp", "version": "1.0.0"})
        assert (r.status, r.json()["errorMessage"]) == (503, f"no free port in {lo}-{hi}")
        # The squatter's port still belongs to the squatter.
        with socket.create_connection(("127.0.0.1", lo), timeout=5):
            conn, _ = squatter.accept()
            conn.close()
        squatter.close()
        c = start_chamber(d, "sampleapp", "1.0.0")
        assert c["port"] == lo
        wait_status(d, b["id"], "RUNNING")
    finally:
        squatter.close()
        stop_checked(d)


def test_the_default_range_is_6000_to_6999(daemon):
    daemon.create(name="sampleapp", runtime="python3.9", mode="http", handler="main.py",
                  code=py_text_server("x"), version_label="1.0.0")
    r = daemon.request("POST", "/chambers", {"app": "sampleapp", "version": "1.0.0"})
    assert r.status == 201, r
    c = r.json()
    assert 6000 <= c["port"] <= 6999
    wait_status(daemon, c["id"], "RUNNING")
    assert get(c["port"])[2] == b"x"
    delete_chamber(daemon, c["id"])


# --- a chamber is long-lived -----------------------------------------------

@pytest.mark.parametrize("mode", ["http", "handler", "handler-called"])
def test_a_chamber_lives_past_the_init_timeout(mode):
    d = chamber_daemon(2, ["--init-timeout", "2"])
    try:
        if mode == "http":
            d.create(name="long", runtime="python311", mode="http", handler="main.py",
                     code=py_text_server("still here"), version_label="v")
        else:
            d.create(name="long", runtime="nodejs20", version_label="v",
                     code="exports.handler = async () => ({statusCode: 200, body: 'still here'})")
        c = start_chamber(d, "long", "v")
        if mode == "handler-called":
            assert get(c["port"])[2] == b"still here"
        time.sleep(4)
        assert chamber(d, c["id"]) == dict(c, status="RUNNING")
        assert get(c["port"])[2] == b"still here"
        delete_chamber(d, c["id"])
    finally:
        stop_checked(d)


def test_a_call_in_flight_when_the_instance_dies_gets_a_502(cd):
    import threading
    cd.create(name="slow", runtime="python311", version_label="v",
              code="import time\ndef handler(e, c):\n    time.sleep(3)\n    return 'ok'\n")
    c = start_chamber(cd, "slow", "v")
    got = {}

    def call():
        try:
            got["r"] = get(c["port"], timeout=20)
        except Exception as e:  # noqa: BLE001
            got["r"] = repr(e)

    t = threading.Thread(target=call)
    t.start()
    time.sleep(0.5)
    for pid in pids_running(cd, "/usr/bin/python3"):
        os.kill(pid, signal.SIGKILL)
    t.join(30)
    wait_status(cd, c["id"], "FAILED")
    delete_chamber(cd, c["id"])
    st, _, body = got["r"]
    assert (st, json.loads(body)["errorType"]) == (502, "Runtime.ExitError")
