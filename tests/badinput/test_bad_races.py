"""Requests that race a slow write. A large zip takes a second or more to
unpack; meanwhile other requests about the same function arrive (a delete,
another create, another update) or the client hangs up. Whatever the order,
the outcome must be one of the serial outcomes: no resurrected function, no
lost update, no second function of one name, no files left behind by the
request that lost, and no crash."""
import base64
import io
import json
import os
import stat
import time
import zipfile

from badinput_helpers import FN, IPV, NODE_HELLO, assert_error, box_fixture, connect, http_bytes, read_response
from impuls_daemon import Response

box = box_fixture()

HELLO = b"Hello from Impuls!"


def make_zip(entries):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.create_system = 3
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return buf.getvalue()


_WIDE = []


def wide_zip(reply="wide"):
    """5000 entries: slow enough to unpack (about a second) for the other
    request to arrive meanwhile. index.js answers `reply`."""
    if not _WIDE:
        _WIDE.append([(f"d{i % 50}/f{i}", "x") for i in range(4999)])
    return make_zip([("index.js", f"exports.handler = async () => '{reply}';")] + _WIDE[0])


def b64(data):
    return base64.b64encode(data).decode()


def start(box, method, path, spec):
    """Sends a request on its own connection and returns the socket; the
    answer is read later with finish()."""
    s = connect(box.port, timeout=120)
    s.sendall(http_bytes(method, path, json.dumps(spec).encode()))
    time.sleep(0.1)  # the daemon has it and is working on it
    return s


def finish(s):
    with s:
        st, hdrs, body = read_response(s)
    return Response(st, {"Content-Type": hdrs.get("content-type")}, body)


def top_files(box):
    """The blobs under code/ and the code dirs under tasks/ (a leftover of a
    10000-entry zip shows up here without walking it)."""
    return {sub: sorted(os.listdir(os.path.join(box.d.data_dir, sub))) for sub in ("code", "tasks")}


def wait_for_files(box, files, timeout=5, context=""):
    deadline = time.monotonic() + timeout
    while top_files(box) != files and time.monotonic() < deadline:
        time.sleep(0.05)
    now = top_files(box)
    extra = {k: sorted(set(now[k]) - set(files[k])) for k in now}
    missing = {k: sorted(set(files[k]) - set(now[k])) for k in now}
    assert now == files, f"left behind: {extra}; gone: {missing} {context}"


def delete(box, name, files):
    r = box.request("DELETE", f"{FN}/{name}")
    assert r.status == 204, r
    wait_for_files(box, files)


def test_delete_during_a_slow_zip_update_does_not_resurrect_the_function(box):
    files = top_files(box)
    assert box.request("POST", FN, {"name": "victim", "runtime": "nodejs20", "code": NODE_HELLO}).status == 201
    slow = start(box, "PUT", f"{FN}/victim", {"zip": b64(wide_zip())})
    deleted = box.request("DELETE", f"{FN}/victim")
    put = finish(slow)
    assert deleted.status == 204, deleted
    if put.status != 200:  # the delete came first
        assert_error(put, 404, "ResourceNotFoundException", "function 'victim' not found")
    assert box.request("GET", f"{FN}/victim").status == 404
    assert "victim" not in [f["name"] for f in box.request("GET", FN).json()["functions"]]
    assert box.d.invoke("victim").status == 404
    wait_for_files(box, files, context=f"(the update answered {put.status}: {put.body[:120]!r})")
    box.keep_invokes()


def test_create_racing_a_slow_zip_create_of_the_same_name(box):
    files = top_files(box)
    slow = start(box, "POST", FN, {"name": "twin", "runtime": "nodejs20", "zip": b64(wide_zip("zip"))})
    fast = box.request("POST", FN, {"name": "twin", "runtime": "nodejs20",
                                    "code": "exports.handler = async () => 'inline';"})
    first = finish(slow)
    try:
        statuses = sorted([first.status, fast.status])
        assert statuses == [201, 409], (first, fast)
        loser = first if first.status == 409 else fast
        assert_error(loser, 409, "ResourceConflictException", "function 'twin' already exists")
        winner_reply = b'"zip"' if first.status == 201 else b'"inline"'
        listing = [f["name"] for f in box.request("GET", FN).json()["functions"]]
        assert listing.count("twin") == 1, listing
        r = box.d.invoke("twin")
        assert (r.status, r.body) == (200, winner_reply), r
    finally:
        if box.request("GET", f"{FN}/twin").status == 200:
            delete(box, "twin", files)
    wait_for_files(box, files, context=f"(answers: zip create {first.status}, inline create {fast.status})")


def test_an_update_racing_a_slow_zip_update_is_not_lost(box):
    files = top_files(box)
    assert box.request("POST", FN, {"name": "both", "runtime": "nodejs20", "code": NODE_HELLO}).status == 201
    try:
        slow = start(box, "PUT", f"{FN}/both", {"zip": b64(wide_zip("new code"))})
        fast = box.request("PUT", f"{FN}/both", {"memory_mb": 512, "env": {"K": "v"}})
        done = finish(slow)
        assert (fast.status, done.status) == (200, 200), (fast, done)
        f = box.request("GET", f"{FN}/both").json()
        assert f["version"] == 3, f
        assert (f["memory_mb"], f["env"], f["code_kind"]) == (512, {"K": "v"}, "zip"), f
        r = box.d.invoke("both")
        assert (r.status, r.body) == (200, b'"new code"'), r
    finally:
        delete(box, "both", files)


def test_a_client_that_hangs_up_during_a_slow_zip_create(box):
    files = top_files(box)
    s = start(box, "POST", FN, {"name": "orphan", "runtime": "nodejs20", "zip": b64(wide_zip("orphan"))})
    s.close()
    # The write either completes (as if the client had stayed) or not at all;
    # wait until the daemon has nothing in flight.
    deadline = time.monotonic() + 30
    while box.request("GET", "/healthz").json()["inflight"] > 0 and time.monotonic() < deadline:
        box.alive()
        time.sleep(0.05)
    assert box.request("GET", "/healthz").json()["inflight"] == 0
    if box.request("GET", f"{FN}/orphan").status == 200:
        r = box.d.invoke("orphan")
        assert (r.status, r.body) == (200, b'"orphan"'), r
        delete(box, "orphan", files)
    wait_for_files(box, files)
    box.keep_invokes()


def test_a_bad_zip_racing_a_good_update_changes_only_what_the_good_one_asked(box):
    files = top_files(box)
    assert box.request("POST", FN, {"name": "mixed", "runtime": "nodejs20", "code": NODE_HELLO}).status == 201
    try:
        # Many entries, and the last one escapes: refused, whenever it is noticed.
        bad = make_zip([("index.js", NODE_HELLO)] + [(f"d{i % 50}/f{i}", "x") for i in range(4998)]
                       + [("../escape", "x")])
        slow = start(box, "PUT", f"{FN}/mixed", {"zip": b64(bad), "memory_mb": 2048})
        fast = box.request("PUT", f"{FN}/mixed", {"timeout_s": 7})
        refused = finish(slow)
        assert fast.status == 200, fast
        assert_error(refused, 400, IPV, "zip entry '../escape' escapes the code directory")
        f = box.request("GET", f"{FN}/mixed").json()
        assert (f["version"], f["timeout_s"], f["memory_mb"], f["code_kind"]) == (2, 7, 128, "inline"), f
        r = box.d.invoke("mixed")
        assert (r.status, r.body) == (200, HELLO), r
    finally:
        delete(box, "mixed", files)
