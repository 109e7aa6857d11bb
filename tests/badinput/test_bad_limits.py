"""Size limits and malformed HTTP. The API reads at most 50 MiB of body
(refused from Content-Length before reading, or while reading a chunked
body), 64 KiB of request line + headers, and an event of at most 6 MiB.
Requests refused by libevent itself get libevent's small HTML page; every
other refusal is Impuls' JSON error. Nothing is stored in any case."""
import json
import threading

import pytest

from badinput_helpers import (FN, HELLO, IPV, IRC, KEEP, LIBEVENT_400, LIBEVENT_413, LIBEVENT_501,
                              box_fixture, connect, health_latency_during, http_bytes, read_response,
                              valid_spec)

box = box_fixture()

MIB = 1024 * 1024
BODY_MAX = 50 * MIB
EVENT_MAX = 6 * MIB


# --- the 50 MiB body limit ------------------------------------------------

@pytest.mark.parametrize("method,path", [("POST", FN), ("PUT", f"{FN}/{KEEP}"),
                                         ("POST", f"{FN}/{KEEP}/invoke"), ("POST", f"{FN}/missing/invoke")],
                         ids=["create", "update", "invoke", "invoke_missing"])
def test_content_length_over_50mib_is_413_before_the_body_is_sent(box, method, path):
    hdrs = box.rejects_raw(http_bytes(method, path, headers={"Content-Length": str(BODY_MAX + 1)}),
                           413, LIBEVENT_413)
    assert hdrs["connection"] == "close" and hdrs["content-type"] == "text/html", hdrs


def send_in_background(sock, chunks):
    def run():
        try:
            for c in chunks:
                sock.sendall(c)
        except OSError:
            pass  # the server answered and closed: expected
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def one_mib_chunks(total, fill=b" "):
    block = fill * MIB
    while total > 0:
        n = min(total, MIB)
        yield block[:n]
        total -= n


def test_a_body_just_over_50mib_is_413(box):
    snap = box.snapshot()
    prefix = b'{"name":"huge","runtime":"nodejs20","code":"'
    with connect(box.port) as s:
        s.sendall(http_bytes("POST", FN, headers={"Content-Length": str(BODY_MAX + 1)}) + prefix)
        t = send_in_background(s, one_mib_chunks(BODY_MAX + 1 - len(prefix), b"x"))
        status, hdrs, body = read_response(s)
        t.join(10)
    assert (status, body) == (413, LIBEVENT_413)
    box.unchanged(snap)


def test_a_chunked_body_over_50mib_is_413(box):
    snap = box.snapshot()
    with connect(box.port) as s:
        s.sendall(http_bytes("POST", FN, headers={"Transfer-Encoding": "chunked"}))
        chunk = b"%x\r\n" % MIB + b" " * MIB + b"\r\n"
        t = send_in_background(s, [chunk] * 51 + [b"0\r\n\r\n"])
        status, hdrs, body = read_response(s)
        t.join(10)
    assert (status, body) == (413, LIBEVENT_413)
    box.unchanged(snap)


@pytest.mark.parametrize("size", [b"7fffffffffffffff", b"ffffffffffffffffff", b"3200001", b"-4a"],
                         ids=["int64_max", "over_int64", "50mib_plus_1", "negative"])
def test_a_chunk_size_over_the_limit_is_413(box, size):
    # libevent answers 413 for a chunk size it cannot take, negative included.
    box.rejects_raw(http_bytes("POST", FN, headers={"Transfer-Encoding": "chunked"}) + size + b"\r\n{}",
                    413, LIBEVENT_413)


def test_a_body_of_exactly_50mib_is_read_and_validated(box):
    # The limit is inclusive: a 50 MiB body is parsed, and refused for its
    # content (and nothing of its 50 MiB of code is stored).
    head = b'{"name":"big","runtime":"nodejs20","memory_mb":1,"code":"'
    tail = b'"}'
    body = head + b"x" * (BODY_MAX - len(head) - len(tail)) + tail
    assert len(body) == BODY_MAX
    box.reject("POST", FN, body, 400, IPV, "memory_mb must be between 64 and 10240")


def test_40mib_of_code_with_a_bad_handler_stores_nothing(box):
    box.reject("POST", FN, valid_spec(name="big", code="x" * (40 * MIB), handler="../up.handler"), 400, IPV,
               "handler '../up.handler': module name is missing or not relative")


def test_40mib_of_code_on_update_with_a_bad_field_changes_nothing(box):
    box.reject("PUT", f"{FN}/{KEEP}", {"code": "y" * (40 * MIB), "timeout_s": 0}, 400, IPV,
               "timeout_s must be between 1 and 900")


def test_40mib_of_code_ending_in_invalid_utf8(box):
    head = b'{"name":"big","runtime":"nodejs20","code":"'
    body = head + b"z" * (40 * MIB) + b'\xff"}'
    box.reject("POST", FN, body, 400, IRC,
               f"request body is not valid JSON: unable to decode byte 0xff "
               f"(line 1, column {len(head) + 40 * MIB})")


def test_a_huge_json_array_does_not_block_other_clients(box):
    # 24 MiB of "1," is 12 million JSON values: parsed in one go on the event
    # loop, it stalls every other client (and costs ~0.5 GB of memory).
    n = 12 * MIB
    body = b'{"name":"arr","runtime":"nodejs20","code":"x","env":{"A":[' + b"1," * (n - 1) + b"1]}}"
    snap = box.snapshot()
    health_took, (status, hdrs, got), took = health_latency_during(box.port, http_bytes("POST", FN, body))
    assert status == 400 and json.loads(got)["errorType"] in (IPV, IRC), got
    assert health_took < 0.5, (f"GET /healthz took {health_took:.2f}s while a {len(body) >> 20} MiB JSON "
                               f"array was parsed (that request took {took:.2f}s): the event loop is blocked")
    box.unchanged(snap)


# --- the 6 MiB event limit ------------------------------------------------

def test_an_event_over_6mib_is_413(box):
    event = b'"' + b"e" * (EVENT_MAX - 1) + b'"'
    assert len(event) == EVENT_MAX + 1
    box.reject("POST", f"{FN}/{KEEP}/invoke", event, 413, "RequestTooLargeException",
               f"the event is larger than {EVENT_MAX} bytes")


def test_an_event_over_6mib_that_is_not_json_is_413(box):
    box.reject("POST", f"{FN}/{KEEP}/invoke", b"\xff" * (EVENT_MAX + 1), 413, "RequestTooLargeException",
               f"the event is larger than {EVENT_MAX} bytes")


def test_an_event_of_exactly_6mib_is_accepted(box):
    # Control for the limit above (inclusive).
    event = b'"' + b"e" * (EVENT_MAX - 2) + b'"'
    r = box.request("POST", f"{FN}/{KEEP}/invoke", event)
    assert (r.status, r.body) == (200, HELLO)


def test_an_event_over_6mib_for_a_missing_function_is_404(box):
    box.reject("POST", f"{FN}/missing/invoke", b"[" + b"1," * (3 * MIB) + b"1]", 404,
               "ResourceNotFoundException", "function 'missing' not found")


# --- the 64 KiB header limit and malformed HTTP -----------------------------

def test_one_header_over_64kib_is_400(box):
    box.rejects_raw(http_bytes("POST", FN, b'{}', headers={"X-Big": "a" * (70 * 1024)}), 400, LIBEVENT_400)


def test_many_headers_over_64kib_are_400(box):
    many = {f"X-H{i}": "v" * 90 for i in range(1000)}
    box.rejects_raw(http_bytes("GET", f"{FN}/{KEEP}", headers=many), 400, LIBEVENT_400)


def test_a_request_line_over_64kib_is_400(box):
    box.rejects_raw(http_bytes("GET", f"{FN}/{KEEP}?x=" + "a" * (70 * 1024)), 400, LIBEVENT_400)


def test_headers_just_under_64kib_are_fine(box):
    # Control: the limit is not set absurdly low.
    st, _, body = read_response_of(box, http_bytes("GET", f"{FN}/{KEEP}", headers={"X-Big": "a" * 60000}))
    assert st == 200 and b'"name":"keep"' in body


def read_response_of(box, data):
    with connect(box.port) as s:
        s.sendall(data)
        return read_response(s)


SPEC = b'{"name":"smuggled","runtime":"nodejs20","code":"exports.handler=async()=>1"}'
MALFORMED_HTTP = [
    ("garbage_request_line", b"GARBAGE\r\n\r\n", 400, LIBEVENT_400),
    ("empty_request_line", b"\r\n\r\n", 400, LIBEVENT_400),
    ("method_only", b"POST\r\n\r\n", 400, LIBEVENT_400),
    ("http_0_9", b"POST /api/v1/functions\r\n\r\n" + SPEC, 400, LIBEVENT_400),
    ("unknown_http_version", b"POST /api/v1/functions HTTP/9.9\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
     % len(SPEC) + SPEC, 400, LIBEVENT_400),
    ("raw_nul_in_path", b"POST /api/v1/func\x00tions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
     % len(SPEC) + SPEC, 400, LIBEVENT_400),
    ("header_without_colon", b"POST /api/v1/functions HTTP/1.1\r\nHost: x\r\nBad Header\r\nContent-Length: %d"
     b"\r\n\r\n" % len(SPEC) + SPEC, 400, LIBEVENT_400),
    ("folded_first_header", b"POST /api/v1/functions HTTP/1.1\r\n Host: x\r\nContent-Length: %d\r\n\r\n"
     % len(SPEC) + SPEC, 400, LIBEVENT_400),
    ("negative_content_length", b"POST /api/v1/functions HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"
     + SPEC, 400, LIBEVENT_400),
    ("non_numeric_content_length", b"POST /api/v1/functions HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"
     + SPEC, 400, LIBEVENT_400),
    ("float_content_length", b"POST /api/v1/functions HTTP/1.1\r\nHost: x\r\nContent-Length: 1e3\r\n\r\n"
     + SPEC, 400, LIBEVENT_400),
    ("huge_content_length", b"POST /api/v1/functions HTTP/1.1\r\nHost: x\r\nContent-Length: "
     b"99999999999999999999999\r\n\r\n" + SPEC, 413, LIBEVENT_413),
    ("content_length_and_chunked", b"POST /api/v1/functions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n%x\r\n" % (len(SPEC), len(SPEC)) + SPEC + b"\r\n0\r\n\r\n",
     400, LIBEVENT_400),
    ("trace_method", b"TRACE /api/v1/functions HTTP/1.1\r\nHost: x\r\n\r\n", 501, LIBEVENT_501),
]


@pytest.mark.parametrize("data,status,body", [c[1:] for c in MALFORMED_HTTP], ids=[c[0] for c in MALFORMED_HTTP])
def test_malformed_http_is_refused_by_libevent(box, data, status, body):
    hdrs = box.rejects_raw(data, status, body)
    assert hdrs["connection"] == "close", hdrs
    assert box.request("GET", f"{FN}/smuggled").status == 404
