"""Bodies that are not valid JSON (or not a JSON object) on every route that
reads a body: create, update and invoke. Each is refused with the exact
error, and nothing is stored, changed or invoked."""
import pytest

from badinput_helpers import FN, IPV, IRC, KEEP, box_fixture

box = box_fixture()

PREFIX = "request body is not valid JSON: "
DEEP = 100000

# (id, raw body, jansson's message) -- for create and update alike.
MALFORMED = [
    ("truncated_object", b'{"name":"f","runtime":"nodejs20"',
     "'}' expected near end of file (line 1, column 32)"),
    ("truncated_in_string", b'{"name":"f',
     "premature end of input near '\"f' (line 1, column 10)"),
    ("truncated_after_colon", b'{"name":',
     "unexpected token near end of file (line 1, column 8)"),
    ("trailing_garbage", b'{"name":"f"}x',
     "end of file expected near 'x' (line 1, column 13)"),
    ("two_documents", b'{}{}', "end of file expected near '{' (line 1, column 3)"),
    ("duplicate_key", b'{"name":"f","name":"g","runtime":"nodejs20","code":"x"}',
     "duplicate object key near '\"name\"' (line 1, column 18)"),
    ("duplicate_key_in_env", b'{"name":"f","runtime":"nodejs20","code":"x","env":{"A":"1","A":"2"}}',
     "duplicate object key near '\"A\"' (line 1, column 62)"),
    ("nan", b'{"name":"f","runtime":"nodejs20","code":"x","memory_mb":NaN}',
     "invalid token near 'NaN' (line 1, column 59)"),
    ("infinity", b'{"memory_mb":Infinity}', "invalid token near 'Infinity' (line 1, column 21)"),
    ("minus_infinity", b'{"memory_mb":-Infinity}', "invalid token near '-' (line 1, column 14)"),
    ("bare_string", b'"hello"', "'[' or '{' expected near '\"hello\"' (line 1, column 7)"),
    ("bare_number", b'42', "'[' or '{' expected near '42' (line 1, column 2)"),
    ("bare_null", b'null', "'[' or '{' expected near 'null' (line 1, column 4)"),
    ("bare_true", b'true', "'[' or '{' expected near 'true' (line 1, column 4)"),
    ("empty_body", b'', "'[' or '{' expected near end of file (line 1, column 0)"),
    ("whitespace_only", b' \n\t ', "'[' or '{' expected near end of file (line 2, column 2)"),
    ("single_quotes", b"{'name':'f'}", "string or '}' expected near ''' (line 1, column 2)"),
    ("trailing_comma", b'{"name":"f",}', "string or '}' expected near '}' (line 1, column 13)"),
    ("missing_colon", b'{"name" "f"}', "':' expected near '\"f\"' (line 1, column 11)"),
    ("unquoted_key", b'{name:"f"}', "string or '}' expected near 'name' (line 1, column 5)"),
    ("comment", b'// c\n{}', "'[' or '{' expected near '/' (line 1, column 1)"),
    ("byte_order_mark", b'\xef\xbb\xbf{}', "'[' or '{' expected near '\ufeff' (line 1, column 1)"),
    ("control_character", b'{"name":"a\x01"}', "control character 0x1 near '\"a' (line 1, column 10)"),
    ("raw_nul_byte", b'{"name":"a\x00b"}', "control character 0x0 near '\"a' (line 1, column 10)"),
    ("invalid_escape", b'{"name":"\\x41"}', "invalid escape near '\"\\x' (line 1, column 11)"),
    ("short_unicode_escape", b'{"name":"\\u12"}', "invalid escape near '\"\\u12\"' (line 1, column 14)"),
    ("lone_surrogate_escape", b'{"name":"\\ud800"}',
     "invalid Unicode '\\uD800' near '\"\\ud800\"' (line 1, column 16)"),
    ("real_overflow", b'{"memory_mb":1e999}', "real number overflow near '1e999' (line 1, column 18)"),
    ("int_overflow_2_63", b'{"memory_mb":9223372036854775808}',
     "too big integer near '9223372036854775808' (line 1, column 32)"),
    ("int_underflow", b'{"memory_mb":-9223372036854775809}',
     "too big negative integer near '-9223372036854775809' (line 1, column 33)"),
    ("leading_zero", b'{"memory_mb":0128}', "invalid token near '0' (line 1, column 14)"),
    ("hex_number", b'{"memory_mb":0x80}', "'}' expected near 'x' (line 1, column 15)"),
    ("invalid_utf8_in_name", b'{"name":"a\xff","runtime":"nodejs20","code":"x"}',
     "unable to decode byte 0xff near '\"a' (line 1, column 10)"),
    ("invalid_utf8_in_handler", b'{"name":"f","runtime":"nodejs20","code":"x","handler":"in\xfe.h"}',
     "unable to decode byte 0xfe near '\"in' (line 1, column 57)"),
    ("invalid_utf8_in_code", b'{"name":"f","runtime":"nodejs20","code":"x\x80"}',
     "unable to decode byte 0x80 near '\"x' (line 1, column 42)"),
    ("invalid_utf8_in_env_value", b'{"name":"f","runtime":"nodejs20","code":"x","env":{"A":"\xc3("}}',
     "unable to decode byte 0xc3 near '\"' (line 1, column 56)"),
    ("invalid_utf8_in_env_key", b'{"name":"f","runtime":"nodejs20","code":"x","env":{"\xff":"1"}}',
     "unable to decode byte 0xff near '\"' (line 1, column 52)"),
    ("invalid_utf8_in_runtime", b'{"name":"f","runtime":"node\xe9"}',
     "unable to decode byte 0xe9 near '\"node' (line 1, column 27)"),
    ("invalid_utf8_outside_strings", b'{"name":"f"}\xff', "unable to decode byte 0xff (line 1, column 12)"),
    ("overlong_utf8", b'{"name":"\xc0\xaf"}', "unable to decode byte 0xc0 near '\"' (line 1, column 9)"),
    ("utf8_encoded_surrogate", b'{"name":"\xed\xa0\x80"}',
     "unable to decode byte 0xed near '\"' (line 1, column 9)"),
    ("truncated_utf8_sequence", b'{"code":"\xe2\x82"}', "unable to decode byte 0xe2 near '\"' (line 1, column 9)"),
    ("nul_escape_in_name", b'{"name":"ke\\u0000ep","runtime":"nodejs20","code":"x"}',
     "\\u0000 is not allowed without JSON_ALLOW_NUL near '\"ke\\u0000ep\"' (line 1, column 20)"),
    ("nul_escape_in_code", b'{"name":"f","runtime":"nodejs20","code":"a\\u0000b"}',
     "\\u0000 is not allowed without JSON_ALLOW_NUL near '\"a\\u0000b\"' (line 1, column 50)"),
    ("nul_escape_in_handler", b'{"name":"f","runtime":"nodejs20","code":"x","handler":"a\\u0000.h"}',
     "\\u0000 is not allowed without JSON_ALLOW_NUL near '\"a\\u0000.h\"' (line 1, column 65)"),
    ("nul_escape_in_runtime", b'{"name":"f","runtime":"nodejs20\\u0000x","code":"x"}',
     "\\u0000 is not allowed without JSON_ALLOW_NUL near '\"nodejs20\\u0000x\"' (line 1, column 39)"),
    ("nul_escape_in_env_value", b'{"name":"f","runtime":"nodejs20","code":"x","env":{"A":"x\\u0000"}}',
     "\\u0000 is not allowed without JSON_ALLOW_NUL near '\"x\\u0000\"' (line 1, column 64)"),
    ("nul_escape_in_env_key", b'{"name":"f","runtime":"nodejs20","code":"x","env":{"A\\u0000":"x"}}',
     "NUL byte in object key not supported near '\"A\\u0000\"' (line 1, column 60)"),
    ("nul_escape_in_unknown_key", b'{"na\\u0000me":"f"}',
     "NUL byte in object key not supported near '\"na\\u0000me\"' (line 1, column 13)"),
    # jansson stops at its depth limit (2048), long before the end of the input.
    ("deep_arrays", b'[' * DEEP, "maximum parsing depth reached near '[' (line 1, column 2049)"),
    ("deep_objects", b'{"a":' * DEEP, "maximum parsing depth reached near '{' (line 1, column 10241)"),
    ("deep_in_env", b'{"name":"f","runtime":"nodejs20","code":"x","env":{"A":' + b'[' * DEEP,
     "maximum parsing depth reached near '[' (line 1, column 2102)"),
    ("deep_closed", b'[' * DEEP + b']' * DEEP, "maximum parsing depth reached near '[' (line 1, column 2049)"),
]


@pytest.mark.parametrize("body,msg", [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED])
def test_create_with_malformed_json(box, body, msg):
    box.reject("POST", FN, body, 400, IRC, PREFIX + msg)


# A representative subset on update: the handler is the same parser, but the
# function exists, so a sloppy update path could still touch it.
UPDATE_IDS = {"truncated_object", "trailing_garbage", "duplicate_key", "nan", "bare_string",
              "empty_body", "invalid_utf8_in_code", "nul_escape_in_code", "nul_escape_in_env_key",
              "deep_arrays", "byte_order_mark", "int_overflow_2_63"}


@pytest.mark.parametrize("body,msg", [c[1:] for c in MALFORMED if c[0] in UPDATE_IDS],
                         ids=[c[0] for c in MALFORMED if c[0] in UPDATE_IDS])
def test_update_with_malformed_json(box, body, msg):
    box.reject("PUT", f"{FN}/{KEEP}", body, 400, IRC, PREFIX + msg)


@pytest.mark.parametrize("body", [b"[]", b"[1,2]", b'[{"name":"f","runtime":"nodejs20","code":"x"}]'],
                         ids=["empty_array", "array", "array_of_spec"])
@pytest.mark.parametrize("method,path", [("POST", FN), ("PUT", f"{FN}/{KEEP}")], ids=["create", "update"])
def test_json_that_is_not_an_object(box, method, path, body):
    box.reject(method, path, body, 400, IPV, "request body must be a JSON object")


# The event may be any JSON value, but must be JSON; it is refused before any
# instance sees it (keep's log gets no START line: Box.reject checks it).
EVENT_PREFIX = "the event is not valid JSON: "
BAD_EVENTS = [
    ("not_json", b"abc", "invalid token near 'abc'"),
    ("truncated", b'{"a":', "unexpected token near end of file"),
    ("trailing_garbage", b'{"a":1}x', "end of file expected near 'x'"),
    ("nan", b'{"a":NaN}', "invalid token near 'NaN'"),
    ("single_quotes", b"{'a':1}", "string or '}' expected near '''"),
    ("invalid_utf8", b'"\xff"', "unable to decode byte 0xff near '\"'"),
    ("nul_escape", b'"a\\u0000"', "\\u0000 is not allowed without JSON_ALLOW_NUL near '\"a\\u0000\"'"),
    ("deep_arrays", b'[' * DEEP, "maximum parsing depth reached near '['"),
    ("whitespace_only", b'  ', "unexpected token near end of file"),
    ("form_encoded", b'a=1&b=2', "invalid token near 'a'"),
]


@pytest.mark.parametrize("body,msg", [c[1:] for c in BAD_EVENTS], ids=[c[0] for c in BAD_EVENTS])
def test_invoke_with_an_event_that_is_not_json(box, body, msg):
    box.reject("POST", f"{FN}/{KEEP}/invoke", body, 400, IRC, EVENT_PREFIX + msg,
               headers={"Content-Type": "application/json"})
