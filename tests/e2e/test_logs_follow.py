"""Following a function's log (docs/api.md, "GET .../logs"): every answer
says where the log ends (X-Impuls-Log-Offset); ?follow=1&offset=N answers
what was written after N, holding the request until there is some (a long
poll); `impuls logs -f` follows with it."""
import os
import subprocess
import threading
import time

from impuls_daemon import BIN

PRINTER = "def handler(event, context):\n    print('line ' + str(event['n']))\n    return 'ok'\n"


def make(d):
    r = d.request("POST", "/api/v1/functions", {"name": "lg", "runtime": "python3.11", "handler": "index.handler",
                                                "code": PRINTER})
    assert r.status == 201, r


def logs(d, query=""):
    r = d.request("GET", f"/api/v1/functions/lg/logs{query}")
    assert r.status == 200, r
    return r.body.decode(), int(r.headers["X-Impuls-Log-Offset"])


def test_a_follow_waits_for_the_next_lines_and_each_line_comes_once(daemon):
    make(daemon)
    assert daemon.invoke("lg", {"n": 1}).status == 200
    text, end = logs(daemon)
    assert "line 1" in text and end == os.path.getsize(os.path.join(daemon.data_dir, "logs", "lg.log"))
    # From an earlier offset: at once, the bytes after it.
    again, end2 = logs(daemon, "?follow=1&offset=0")
    assert (again, end2) == (open(os.path.join(daemon.data_dir, "logs", "lg.log")).read(), end)
    # At the end: held until the next call writes.
    got = {}

    def follow():
        t = time.monotonic()
        got["text"], got["offset"] = logs(daemon, f"?follow=1&offset={end}")
        got["waited"] = time.monotonic() - t

    th = threading.Thread(target=follow)
    th.start()
    time.sleep(0.5)
    assert th.is_alive()  # (still held: nothing new yet)
    assert daemon.invoke("lg", {"n": 2}).status == 200
    th.join(30)
    assert not th.is_alive()
    # The answer holds what was written after `end` when it came: the call's
    # START line at least, maybe all of its lines. The rest follows from the
    # offset it gave, until the call's REPORT line.
    text, offset = got["text"], got["offset"]
    assert text.startswith("START RequestId: ") and offset > end
    while not text.rstrip().endswith(" MB"):
        more, offset = logs(daemon, f"?follow=1&offset={offset}")
        assert more, offset
        text += more
    assert text.count("line 2") == 1 and "line 1" not in text
    assert offset == os.path.getsize(os.path.join(daemon.data_dir, "logs", "lg.log"))

def test_bad_follow_values_are_refused(daemon):
    make(daemon)
    for q, msg in (("?follow=2", "follow must be 1 or true"),
                   ("?follow=1&offset=-1", "offset must be a whole number of bytes (X-Impuls-Log-Offset of the last "
                                           "answer)"),
                   ("?follow=1&offset=x", "offset must be a whole number of bytes (X-Impuls-Log-Offset of the last "
                                          "answer)")):
        r = daemon.request("GET", f"/api/v1/functions/lg/logs{q}")
        assert (r.status, r.json()["errorMessage"]) == (400, msg), q
    r = daemon.request("GET", "/api/v1/functions/nope/logs?follow=1")
    assert r.status == 404, r


def test_impuls_logs_f_prints_new_lines_as_they_come(daemon):
    make(daemon)
    assert daemon.invoke("lg", {"n": 1}).status == 200
    env = dict(os.environ, IMPULS_ADDR=f"127.0.0.1:{daemon.port}")
    p = subprocess.Popen([BIN, "logs", "lg", "-f"], stdout=subprocess.PIPE, text=True, env=env)
    try:
        seen = ""
        while "line 1" not in seen:
            seen += p.stdout.readline()
        assert daemon.invoke("lg", {"n": 2}).status == 200
        deadline = time.monotonic() + 30
        while "line 2" not in seen:
            assert time.monotonic() < deadline and p.poll() is None, seen
            seen += p.stdout.readline()
        assert seen.count("line 1") == 1 and seen.count("line 2") == 1
    finally:
        p.kill()
        p.wait()
