"""The router's events and answers follow API Gateway's HTTP API payload
format 2.0 (as Lambda function URLs do) field for field: what web-framework
adapters read and write. Each request here is made with http.client so that
every header the function sees is known."""
import base64
import calendar
import http.client
import json
import re
import time

import pytest

ECHO = "exports.handler = async (e) => ({statusCode: 200, body: JSON.stringify(e)})"

REQUEST_CONTEXT_KEYS = {"accountId", "apiId", "domainName", "domainPrefix", "http", "requestId", "routeKey",
                        "stage", "time", "timeEpoch"}


def call(d, method, path, body=None, headers=(), port=None):
    """One request to the router (or `port`); (status, [(name, value)], body).
    `headers` is a list of pairs, so a header may come twice."""
    c = http.client.HTTPConnection("127.0.0.1", port or d.router_port, timeout=60)
    try:
        c.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        c.putheader("Host", "fn.localhost")
        for k, v in headers:
            c.putheader(k, v)
        if body is not None:
            c.putheader("Content-Length", str(len(body)))
        c.endheaders(body)
        r = c.getresponse()
        return r.status, r.getheaders(), r.read()
    finally:
        c.close()


@pytest.fixture
def echo(routed):
    routed.create(name="echo", runtime="nodejs20", code=ECHO)
    return routed


def event(d, *args, **kw):
    status, _, body = call(d, *args, **kw)
    assert status == 200, body
    return json.loads(body)


def test_event_with_cookies_query_and_a_json_body(echo):
    e = event(echo, "POST", "/invoke/echo/items/7?q=1&q=2&sp=%20a%2Cb&flag&=novalue",
              b'{"a":1}', [("Content-Type", "application/json"), ("Cookie", "a=1; b=2"), ("Cookie", "c=3"),
                           ("X-Multi", "one"), ("X-Multi", "two"), ("User-Agent", "impuls-test/1")])
    ctx = e.pop("requestContext")
    assert e == {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/items/7",
        "rawQueryString": "q=1&q=2&sp=%20a%2Cb&flag&=novalue",
        "cookies": ["a=1", "b=2", "c=3"],
        "headers": {"host": "fn.localhost", "content-type": "application/json", "x-multi": "one,two",
                    "user-agent": "impuls-test/1", "content-length": "7"},
        "queryStringParameters": {"q": "1,2", "sp": " a,b", "flag": ""},
        "body": '{"a":1}',
        "isBase64Encoded": False,
    }
    assert set(ctx) == REQUEST_CONTEXT_KEYS
    assert ctx["http"] == {"method": "POST", "path": "/items/7", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                           "userAgent": "impuls-test/1"}
    assert (ctx["accountId"], ctx["apiId"], ctx["domainName"], ctx["domainPrefix"]) == \
        ("000000000000", "impuls", "fn.localhost", "fn")
    assert (ctx["routeKey"], ctx["stage"]) == ("$default", "$default")
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", ctx["requestId"])
    # "time" is "timeEpoch" as API Gateway writes it: 12/Mar/2020:19:03:58 +0000.
    assert re.fullmatch(r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000", ctx["time"]), ctx["time"]
    parsed = calendar.timegm(time.strptime(ctx["time"], "%d/%b/%Y:%H:%M:%S +0000"))
    assert parsed == ctx["timeEpoch"] // 1000
    assert abs(ctx["timeEpoch"] / 1000 - time.time()) < 600


def test_event_without_body_query_or_cookies(echo):
    e = event(echo, "GET", "/invoke/echo")
    assert "body" not in e and "queryStringParameters" not in e and "cookies" not in e
    assert (e["rawPath"], e["rawQueryString"], e["isBase64Encoded"]) == ("/", "", False)
    assert "pathParameters" not in e  # routeKey $default has none, as on API Gateway
    assert e["headers"] == {"host": "fn.localhost"}


@pytest.mark.parametrize("ctype,body,b64", [
    ("application/json", b'{"x":"\xc3\xa9"}', False),
    ("text/html; charset=utf-8", b"<p>hi</p>", False),
    ("application/x-www-form-urlencoded", b"a=1&b=2", False),
    ("application/vnd.api+json", b"{}", False),
    ("image/png", b"PNGDATA", True),  # binary by its type, though its bytes are ASCII
    ("application/octet-stream", b"abc", True),
    ("application/pdf", b"%PDF-1.4", True),
    ("text/plain", b"\xff\xfe", True),  # not UTF-8: base64 whatever the type says
    (None, b"plain ascii", False),
])
def test_binary_content_types_are_base64(echo, ctype, body, b64):
    e = event(echo, "POST", "/invoke/echo", body, [("Content-Type", ctype)] if ctype else [])
    assert e["isBase64Encoded"] is b64
    assert e["body"] == (base64.b64encode(body).decode() if b64 else body.decode())


ANSWERS = r"""
exports.handler = async (e) => {
  const what = e.rawPath.slice(1);
  if (what === 'cookies') return {statusCode: 201, headers: {'set-cookie': 'first=0'},
    cookies: ['a=1; Path=/; HttpOnly', 'b=2; Expires=Wed, 21 Oct 2037 07:28:00 GMT'], body: 'ok'};
  if (what === 'binary') return {statusCode: 200, headers: {'content-type': 'image/png'},
    body: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff]).toString('base64'), isBase64Encoded: true};
  if (what === 'string') return 'Hello "you"';
  if (what === 'object') return {message: 'hi', n: 1};
  if (what === 'bad-cookies') return {statusCode: 200, cookies: 'a=1'};
  return {statusCode: 404, body: 'nothing at ' + what};
};
"""


@pytest.fixture
def answers(routed):
    routed.create(name="ans", runtime="nodejs20", code=ANSWERS)
    return routed


def header_values(headers, name):
    return [v for k, v in headers if k.lower() == name.lower()]


def test_answer_cookies_are_set_cookie_headers_each(answers):
    status, headers, body = call(answers, "GET", "/invoke/ans/cookies")
    assert (status, body) == (201, b"ok")
    assert header_values(headers, "Set-Cookie") == ["first=0", "a=1; Path=/; HttpOnly",
                                                    "b=2; Expires=Wed, 21 Oct 2037 07:28:00 GMT"]


def test_answer_cookies_also_through_the_rest_api(answers):
    # One result mapper for every front end.
    r = answers.request("POST", "/api/v1/functions/ans/invoke", {"rawPath": "/cookies"})
    assert (r.status, r.body) == (201, b"ok")
    assert r.headers.get_all("Set-Cookie") == ["first=0", "a=1; Path=/; HttpOnly",
                                               "b=2; Expires=Wed, 21 Oct 2037 07:28:00 GMT"]


def test_answer_base64_body_is_sent_as_bytes(answers):
    status, headers, body = call(answers, "GET", "/invoke/ans/binary")
    assert (status, body) == (200, bytes([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff]))
    assert header_values(headers, "Content-Type") == ["image/png"]


def test_bare_string_and_object_answers_map_as_api_gateway_maps_them(answers):
    status, headers, body = call(answers, "GET", "/invoke/ans/string")
    assert (status, body, header_values(headers, "Content-Type")) == (200, b'Hello "you"', ["application/json"])
    status, headers, body = call(answers, "GET", "/invoke/ans/object")
    assert (status, json.loads(body), header_values(headers, "Content-Type")) == \
        (200, {"message": "hi", "n": 1}, ["application/json"])
    # The Impuls REST API keeps its own rule: any other result is its JSON.
    r = answers.request("POST", "/api/v1/functions/ans/invoke", {"rawPath": "/string"})
    assert (r.status, r.body) == (200, b'"Hello \\"you\\""')


def test_malformed_cookies_answer_is_a_502(answers):
    status, _, body = call(answers, "GET", "/invoke/ans/bad-cookies")
    assert status == 502
    assert json.loads(body)["errorType"] == "Runtime.MalformedResult"
    assert json.loads(body)["errorMessage"] == "cookies must be an array of strings"


def test_request_bytes_that_are_not_utf8_still_make_an_event(echo):
    e = event(echo, "GET", "/invoke/echo", None, [("User-Agent", "bot\udcff".encode("utf-8", "surrogateescape")
                                                    .decode("latin-1"))])
    assert e["requestContext"]["http"]["userAgent"] == "bot\ufffd"
    assert e["headers"]["user-agent"] == "bot\ufffd"


def test_a_key_repeated_thousands_of_times_is_bounded(echo):
    # One key 2,000 times (as long a URI as the 64 KiB header limit takes):
    # the first 1,000 pairs are read and the joined value stops before 8 KiB
    # (390 values of 20 bytes); rawQueryString keeps all of it.
    value = "v" * 20
    query = "&".join([f"k={value}"] * 2000)
    e = event(echo, "GET", f"/invoke/echo?{query}")
    assert e["rawQueryString"] == query
    assert e["queryStringParameters"]["k"] == ",".join([value] * 390)
    query = "&".join(f"k{i}=1" for i in range(1500))
    assert len(event(echo, "GET", f"/invoke/echo?{query}")["queryStringParameters"]) == 1000
    assert echo.request("GET", "/healthz").status == 200
