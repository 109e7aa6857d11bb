"""Well-formed JSON objects whose fields are wrong: types, ranges, names,
runtimes, handlers, env, unknown and missing fields -- on create and on
update of the pre-existing function. Each is a 400 with the exact message,
and nothing is stored or changed."""
import pytest

from badinput_helpers import (BODY_NAME_MSG, FN, IPV, KEEP, box_fixture, utf8_cut, valid_spec,
                              without)

box = box_fixture()

INT_FIELDS = {"memory_mb": (64, 10240), "timeout_s": (1, 900), "concurrency": (0, 1000),
              "idle_timeout_s": (1, 86400)}
NETWORK_MSG = ('network must be "none" (a sandbox has only its own loopback) or "egress" (connections out, '
               'under the egress policy)')
ENV_TYPE_MSG = "env must be an object of string values"


def env_key_msg(k):
    return f"env key '{k}' is not allowed (letters, digits and '_'; reserved Lambda names refused)"


def runtime_msg(r):
    return f"unknown runtime '{r}' (see GET /api/v1/runtimes)"


# --- wrong JSON types, for every field -----------------------------------

WRONG_TYPES = [1, 1.5, True, None, [], {}, ["x"]]
STRING_FIELDS = ["name", "runtime", "handler", "code"]

TYPE_CASES = []
for f in STRING_FIELDS:
    for v in WRONG_TYPES:
        TYPE_CASES.append((f, v, f"{f} must be a string"))
for v in ["x", 1, True, None, [], [["A", "1"]]]:
    TYPE_CASES.append(("env", v, ENV_TYPE_MSG))
for f in INT_FIELDS:
    for v in ["128", 1.5, 128.0, 1e3, True, None, [], {}]:
        TYPE_CASES.append((f, v, f"{f} must be an integer"))
for v in [None, 1, True, "", "None", "host", "bridge", ["none"], {}]:
    TYPE_CASES.append(("network", v, NETWORK_MSG))


def case_id(field, value):
    return f"{field}={value!r}"[:40]


@pytest.mark.parametrize("field,value,msg", TYPE_CASES, ids=[case_id(f, v) for f, v, _ in TYPE_CASES])
def test_create_with_a_wrong_type(box, field, value, msg):
    box.reject("POST", FN, valid_spec(**{field: value}), 400, IPV, msg)


# The same on update (name too: a non-string name is refused before the
# "name cannot be changed" check).
UPDATE_TYPE_CASES = [c for c in TYPE_CASES if c[1] in (1, None, [], "x", "128", 1e3, "host")]


@pytest.mark.parametrize("field,value,msg", UPDATE_TYPE_CASES,
                         ids=[case_id(f, v) for f, v, _ in UPDATE_TYPE_CASES])
def test_update_with_a_wrong_type(box, field, value, msg):
    box.reject("PUT", f"{FN}/{KEEP}", {field: value}, 400, IPV, msg)


# --- integers out of range ------------------------------------------------

RANGE_CASES = []
for f, (lo, hi) in INT_FIELDS.items():
    # (each value once; 0 is a concurrency: every call throttled)
    for v in dict.fromkeys([-1, 0, lo - 1, hi + 1, 2**31, 2**32 + lo, 2**63 - 1, -2**63]):
        if lo <= v <= hi:
            continue
        RANGE_CASES.append((f, v, f"{f} must be between {lo} and {hi}"))


@pytest.mark.parametrize("field,value,msg", RANGE_CASES, ids=[case_id(f, v) for f, v, _ in RANGE_CASES])
def test_create_with_an_integer_out_of_range(box, field, value, msg):
    box.reject("POST", FN, valid_spec(**{field: value}), 400, IPV, msg)


@pytest.mark.parametrize("field,value,msg", [c for c in RANGE_CASES if c[1] in (0, -1, 2**63 - 1)],
                         ids=[case_id(f, v) for f, v, _ in RANGE_CASES if v in (0, -1, 2**63 - 1)])
def test_update_with_an_integer_out_of_range(box, field, value, msg):
    box.reject("PUT", f"{FN}/{KEEP}", {field: value}, 400, IPV, msg)


@pytest.mark.parametrize("field", list(INT_FIELDS))
def test_integer_of_2_pow_63_is_not_valid_json_for_jansson(box, field):
    # One past int64: jansson refuses the document itself.
    prefix = '{"name":"fresh","runtime":"nodejs20","code":"x","%s":' % field
    token = str(2**63)
    box.reject("POST", FN, prefix + token + "}", 400, "InvalidRequestContentException",
               f"request body is not valid JSON: too big integer near '{token}' "
               f"(line 1, column {len(prefix) + len(token)})")


# --- names ------------------------------------------------------------------

BAD_NAMES = ["", "../x", "..", ".", "a/b", "/keep", "keep/", "a%2Fb", "-a", "_a", "a" * 65,
             "\u00e9", "caf\u00e9", "a.b", "a b", "a\\b", "keep\n", "\u212a" + "eep", "a:b", "a*"]


@pytest.mark.parametrize("name", BAD_NAMES, ids=[repr(n)[:30] for n in BAD_NAMES])
def test_create_with_a_bad_name(box, name):
    box.reject("POST", FN, valid_spec(name=name), 400, IPV, BODY_NAME_MSG)


@pytest.mark.parametrize("name", ["../keep", "keep/..", "other", "KEEP", "keep "],
                         ids=["traversal", "traversal_after", "other", "upper_case", "trailing_space"])
def test_update_cannot_rename(box, name):
    msg = (BODY_NAME_MSG if name in ("../keep", "keep/..", "keep ")
           else f"name cannot be changed (keep in the path, {name} in the body)")
    box.reject("PUT", f"{FN}/{KEEP}", {"name": name, "memory_mb": 256}, 400, IPV, msg)


# --- runtimes ----------------------------------------------------------------

BAD_RUNTIMES = ["cobol", "", "NODEJS20", "nodejs20 ", " nodejs20", "nodejs", "node", "python",
                "python3.8", "python311\n", "nodejs20.y", "nodejs21", "../nodejs20", "provided.al3"]


@pytest.mark.parametrize("runtime", BAD_RUNTIMES, ids=[repr(r) for r in BAD_RUNTIMES])
def test_create_with_an_unknown_runtime(box, runtime):
    box.reject("POST", FN, valid_spec(runtime=runtime), 400, IPV, runtime_msg(runtime))


def test_a_long_unknown_runtime_is_cut_in_the_message(box):
    box.reject("POST", FN, valid_spec(runtime="r" * 100), 400, IPV, runtime_msg("r" * 32))


def test_update_with_an_unknown_runtime(box):
    box.reject("PUT", f"{FN}/{KEEP}", {"runtime": "java21"}, 400, IPV, runtime_msg("java21"))


def test_a_cut_unknown_runtime_stays_valid_utf8(box):
    # The message holds at most 32 bytes of the runtime; cut inside the
    # two-byte 'é', the error body must still be valid JSON (UTF-8).
    rt = "r" * 31 + "\u00e9"
    box.reject("POST", FN, valid_spec(runtime=rt), 400, IPV,
               {runtime_msg(utf8_cut(rt, 32)), runtime_msg(utf8_cut(rt, 32) + "\ufffd")})


# --- handlers --------------------------------------------------------------

MODULE_CHARS = "module may only hold letters, digits, '_', '-', '.' and '/'"
BAD_HANDLERS = [
    ("../x.h", "module name is missing or not relative"),
    ("/abs.h", "module name is missing or not relative"),
    ("/etc/passwd.h", "module name is missing or not relative"),
    (".h", "module name is missing or not relative"),
    (".hidden.h", "module name is missing or not relative"),
    ("a//b.h", MODULE_CHARS),
    ("a/../b.h", MODULE_CHARS),
    ("a/..h", "module path is not allowed"),
    ("a/./b.h", "module path is not allowed"),
    ("a/.h", "module path is not allowed"),
    ("a/.hidden/b.h", "module path is not allowed"),
    ("a b.h", MODULE_CHARS),
    ("a\\b.h", MODULE_CHARS),
    ("a:b.h", MODULE_CHARS),
    ("\u00e9.h", MODULE_CHARS),
    ("index.", "the function name after the last '.' is missing or invalid"),
    ("index.1h", "the function name after the last '.' is missing or invalid"),
    ("index.a-b", "function name may only hold letters, digits, '_' and '$'"),
    ("index.h\u00e9", "function name may only hold letters, digits, '_' and '$'"),
    ("index.a/b", "function name may only hold letters, digits, '_' and '$'"),
    ("index.a b", "function name may only hold letters, digits, '_' and '$'"),
]


@pytest.mark.parametrize("handler,what", BAD_HANDLERS, ids=[h for h, _ in BAD_HANDLERS])
def test_create_with_a_bad_handler(box, handler, what):
    box.reject("POST", FN, valid_spec(handler=handler), 400, IPV, f"handler '{handler}': {what}")


@pytest.mark.parametrize("handler", ["", "a" * 120 + ".handler1"], ids=["empty", "129_chars"])
def test_create_with_a_handler_of_bad_length(box, handler):
    box.reject("POST", FN, valid_spec(handler=handler), 400, IPV, "handler must be 1 to 128 characters")


@pytest.mark.parametrize("handler,what", BAD_HANDLERS[:6], ids=[h for h, _ in BAD_HANDLERS[:6]])
def test_update_with_a_bad_handler(box, handler, what):
    box.reject("PUT", f"{FN}/{KEEP}", {"handler": handler}, 400, IPV, f"handler '{handler}': {what}")


# --- env -------------------------------------------------------------------

@pytest.mark.parametrize("value", [1, 1.5, True, None, [], {}, ["a"], {"x": "y"}],
                         ids=lambda v: repr(v))
def test_env_with_a_non_string_value(box, value):
    box.reject("POST", FN, valid_spec(env={"OK": "1", "A": value}), 400, IPV, "env.A must be a string")


RESERVED = ["AWS_LAMBDA_X", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_RUNTIME_API", "_HANDLER",
            "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR"]
BAD_KEYS = ["1A", "A-B", "A B", "", "A=B", "A.B", "$A", "\u00e9", "A\n", "=", "PATH=/x"]


@pytest.mark.parametrize("key", RESERVED + BAD_KEYS, ids=[repr(k) for k in RESERVED + BAD_KEYS])
def test_env_with_a_reserved_or_bad_key(box, key):
    box.reject("POST", FN, valid_spec(env={"OK": "1", key: "v"}), 400, IPV, env_key_msg(key))


@pytest.mark.parametrize("key", ["_HANDLER", "AWS_LAMBDA_RUNTIME_API", "A-B"])
def test_update_with_a_reserved_or_bad_env_key(box, key):
    box.reject("PUT", f"{FN}/{KEEP}", {"env": {key: "v"}}, 400, IPV, env_key_msg(key))


@pytest.mark.parametrize("env", [{"A": "x" * 4094},
                                 {f"K{i:03d}": "v" * 40 for i in range(100)},
                                 {"A" * 4095: "x"}],
                         ids=["one_value_4097_bytes", "many_keys", "one_huge_key"])
def test_env_over_4096_bytes(box, env):
    box.reject("POST", FN, valid_spec(env=env), 400, IPV, "env is larger than 4096 bytes")


def test_update_with_env_over_4096_bytes(box):
    box.reject("PUT", f"{FN}/{KEEP}", {"env": {"A": "x" * 5000}}, 400, IPV, "env is larger than 4096 bytes")


def test_a_long_bad_env_key_is_cut_in_the_message(box):
    key = "A-" + "B" * 100
    box.reject("POST", FN, valid_spec(env={key: "v"}), 400, IPV, env_key_msg(key[:64]))


@pytest.mark.parametrize("kind", ["bad_key", "non_string_value"])
def test_a_cut_env_key_stays_valid_utf8(box, kind):
    # The message holds at most 64 bytes of the key; cut inside the two-byte
    # 'é', the error body must still be valid JSON (UTF-8).
    key = "A" * 63 + "\u00e9"
    cut = utf8_cut(key, 64)
    if kind == "bad_key":
        env, msgs = {key: "v"}, {env_key_msg(cut), env_key_msg(cut + "\ufffd")}
    else:
        env, msgs = {key: 1}, {f"env.{cut} must be a string", f"env.{cut}\ufffd must be a string"}
    box.reject("POST", FN, valid_spec(env=env), 400, IPV, msgs)


# --- unknown and missing fields -----------------------------------------------

UNKNOWN = ["colour", "Name", "CODE", "code ", "memory", "MemorySize", "zipFile", "id", "version",
           "code_sha256", "created_at", "__proto__", "x" * 64]


@pytest.mark.parametrize("field", UNKNOWN, ids=[f[:20] for f in UNKNOWN])
def test_create_with_an_unknown_field(box, field):
    box.reject("POST", FN, valid_spec(**{field: "x"}), 400, IPV, f"unknown field '{field}'")


def test_create_with_an_empty_field_name(box):
    box.reject("POST", FN, {**valid_spec(), "": 1}, 400, IPV, "unknown field ''")


def test_a_long_unknown_field_is_cut_in_the_message(box):
    box.reject("POST", FN, valid_spec(**{"y" * 200: 1}), 400, IPV, f"unknown field '{'y' * 64}'")


def test_a_cut_unknown_field_stays_valid_utf8(box):
    field = "f" + "\u00e9" * 40  # 81 bytes; byte 64 is inside an 'é'
    cut = utf8_cut(field, 64)
    box.reject("POST", FN, valid_spec(**{field: 1}), 400, IPV,
               {f"unknown field '{cut}'", f"unknown field '{cut}\ufffd'"})


@pytest.mark.parametrize("field", ["version", "code_sha256", "created_at", "updated_at", "code_size"])
def test_update_cannot_set_read_only_fields(box, field):
    box.reject("PUT", f"{FN}/{KEEP}", {field: 99}, 400, IPV, f"unknown field '{field}'")


@pytest.mark.parametrize("drop,msg", [("name", "name is required"), ("runtime", "runtime is required"),
                                      ("code", "code or zip is required")])
def test_create_without_a_required_field(box, drop, msg):
    box.reject("POST", FN, without(valid_spec(), drop), 400, IPV, msg)


def test_create_with_an_empty_object(box):
    box.reject("POST", FN, {}, 400, IPV, "name is required")


@pytest.mark.parametrize("method,path", [("POST", FN), ("PUT", f"{FN}/{KEEP}")], ids=["create", "update"])
def test_empty_code(box, method, path):
    box.reject(method, path, valid_spec(code="") if method == "POST" else {"code": ""}, 400, IPV,
               "code must not be empty")


def test_the_first_bad_field_wins_and_nothing_partial_is_applied(box):
    # A valid memory_mb next to a bad timeout_s: neither is applied.
    box.reject("PUT", f"{FN}/{KEEP}", {"memory_mb": 512, "env": {"B": "2"}, "timeout_s": 0}, 400, IPV,
               "timeout_s must be between 1 and 900")


def test_create_of_an_existing_name_with_a_bad_body_is_400_not_409(box):
    box.reject("POST", FN, valid_spec(name=KEEP, memory_mb=1), 400, IPV,
               "memory_mb must be between 64 and 10240")
